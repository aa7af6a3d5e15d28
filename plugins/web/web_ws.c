/* SPDX-License-Identifier: MIT */
/*
 * The one WebSocket per browser tab at /api/v1/ws: pushed events and
 * live commands.
 *
 * The upgrade is accepted only from an allowed Origin (default: the
 * server's own host) and with a live session cookie; a session may hold
 * `ws_per_session` sockets. Client messages are JSON objects
 * {"type","id","data"}; each is checked against the registered type's
 * roles and handed to its plugin, whose answer goes back as
 * {"type":"reply","id",...}. Pushes are serialised once and shared by
 * every connection they fan out to (refcounted buffers), so fanning an
 * event out to a thousand browsers costs one JSON encoding.
 *
 * Each connection has a bounded queue. A browser that stops reading
 * (asleep laptop, dead network) fills it and is disconnected rather than
 * letting memory grow; it reconnects and reloads its state. A close
 * decided here is preceded by {"type":"bye"} because libwebsockets 4.1
 * sends no close frame on a server-side close (notes/integration.md §2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "web_int.h"

/* Messages written at most per writeable callback. */
#define WEB_WS_WRITES 64
/* Largest batch frame. */
#define WEB_BATCH_BYTES (256 * 1024)

/* ------------------------------------------------------------------ */
/* Shared messages */

web_msg *
web_msg_new(const char *text, size_t len)
{
    web_msg *m = malloc(sizeof(*m) + LWS_PRE + len + 1);
    if (!m)
        return NULL;
    m->refs = 1;
    m->len = len;
    memcpy(m->buf + LWS_PRE, text, len);
    m->buf[LWS_PRE + len] = '\0';
    return m;
}

web_msg *
web_msg_json(json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    if (!text)
        return NULL;
    web_msg *m = web_msg_new(text, strlen(text));
    free(text);
    return m;
}

void
web_msg_unref(web_msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

/* ------------------------------------------------------------------ */
/* Opening */

int
web_ws_filter(web *w, struct lws *wsi, void *sid_slot, bool *batch)
{
    char uri[64] = "", origin[256] = "", host[256] = "", addr[64] = "";
    if (w->stopping)
        return -1;
    lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
    if (strcmp(uri, "/api/v1/ws") != 0)
        return -1;
    lws_get_peer_simple(wsi, addr, sizeof(addr));
    if (web_rl_take(&w->rl_all, addr, plt_now()) > 0) {
        w->ctr.rate_limited++;
        return -1;
    }
    if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
        origin[0] = '\0';
    if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
        host[0] = '\0';
    /* OWASP ASVS V4.4.2: the handshake's Origin must be one we serve. A
     * missing Origin is refused too: browsers always send it. */
    if (!web_origin_allowed(w, origin, host)) {
        w->ctr.ws_refused_origin++;
        plt_log(PLT_LOG_NOTICE, "WebSocket from %s refused: origin '%s'", addr,
                origin);
        return -1;
    }
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COOKIE);
    char *cookie = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (cookie && lws_hdr_copy(wsi, cookie, n + 1, WSI_TOKEN_HTTP_COOKIE) < 0) {
        free(cookie);
        cookie = NULL;
    }
    web_session *ss = web_session_from_cookie(w, cookie, true);
    free(cookie);
    if (!ss || ss->must_change || ss->nconns >= w->cfg.ws_per_session) {
        w->ctr.ws_refused_auth++;
        return -1;
    }
    memcpy(sid_slot, ss->id, WEB_ID_SIZE);
    char v[8];
    const char *b = lws_get_urlarg_by_name(wsi, "batch=", v, sizeof(v));
    *batch = b && strcmp(b, "1") == 0;
    return 0;
}

static json_t *
hello_data(const web_session *ss, int64_t now)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:I}", "login", ss->login, "role",
                     plt_role_name(ss->role) ? plt_role_name(ss->role) : "",
                     "name", ss->name, "lang", ss->lang, "server_time",
                     (json_int_t)now);
}

web_conn *
web_ws_open(web *w, struct lws *wsi, const char *sid)
{
    web_session *ss = web_session_find(&w->sessions, sid, plt_now(), false);
    if (!ss)
        return NULL;
    web_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->qcap = (size_t)w->cfg.ws_queue_max;
    c->q = calloc(c->qcap, sizeof(*c->q));
    if (!c->q) {
        free(c);
        return NULL;
    }
    c->w = w;
    c->wsi = wsi;
    c->session = ss;
    c->role = ss->role;
    snprintf(c->sid, sizeof(c->sid), "%s", ss->id);
    snprintf(c->login, sizeof(c->login), "%s", ss->login);
    c->snext = ss->conns;
    if (ss->conns)
        ss->conns->sprev = c;
    ss->conns = c;
    ss->nconns++;
    c->anext = w->conns;
    if (w->conns)
        w->conns->aprev = c;
    w->conns = c;
    w->nconns++;
    w->ctr.ws_opened++;
    json_t *o = json_pack("{s:s,s:o}", "type", "hello", "data",
                          hello_data(ss, plt_now()));
    web_msg *m = o ? web_msg_json(o) : NULL;
    json_decref(o);
    if (m) {
        web_ws_send(c, m);
        web_msg_unref(m);
    }
    return c;
}

/* ------------------------------------------------------------------ */
/* Sending */

void
web_ws_send(web_conn *c, web_msg *m)
{
    if (c->closing || c->kill)
        return;
    if (c->qlen == c->qcap) {
        /* The browser does not keep up: drop it rather than queue without
         * bound. It reconnects and reloads its state. */
        c->kill = true;
        c->w->ctr.ws_dropped++;
        lws_callback_on_writable(c->wsi);
        return;
    }
    m->refs++;
    c->q[(c->qhead + c->qlen) % c->qcap] = m;
    c->qlen++;
    lws_callback_on_writable(c->wsi);
}

void
web_ws_bye(web_conn *c, const char *reason)
{
    if (c->closing || c->kill)
        return;
    json_t *o = json_pack("{s:s,s:{s:s}}", "type", "bye", "data", "reason",
                          reason ? reason : "closed");
    web_msg *m = o ? web_msg_json(o) : NULL;
    json_decref(o);
    if (m) {
        web_ws_send(c, m);
        web_msg_unref(m);
    }
    c->closing = true;
    lws_callback_on_writable(c->wsi);
}

/* Several queued messages as one frame, in order:
 * {"type":"batch","data":[m1,m2,...]}, for a client that asked for it: a
 * browser then parses one frame instead of dozens. */
static int
write_batch(web_conn *c)
{
    static const char head[] = "{\"type\":\"batch\",\"data\":[";
    static unsigned char buf[LWS_PRE + WEB_BATCH_BYTES];
    unsigned char *p = buf + LWS_PRE;
    size_t len = sizeof(head) - 1;
    memcpy(p, head, len);
    size_t taken = 0;
    while (c->qlen > 0) {
        web_msg *m = c->q[c->qhead];
        /* The first always fits (ws_message_max < WEB_BATCH_BYTES is not
         * required: a big one goes alone). */
        if (len + m->len + 3 > WEB_BATCH_BYTES) {
            if (taken == 0) {
                c->q[c->qhead] = NULL;
                c->qhead = (c->qhead + 1) % c->qcap;
                c->qlen--;
                int n =
                    lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
                web_msg_unref(m);
                c->w->ctr.ws_out++;
                return n < 0 ? -1 : 0;
            }
            break;
        }
        if (taken)
            p[len++] = ',';
        memcpy(p + len, m->buf + LWS_PRE, m->len);
        len += m->len;
        c->q[c->qhead] = NULL;
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
        web_msg_unref(m);
        taken++;
        c->w->ctr.ws_out++;
    }
    p[len++] = ']';
    p[len++] = '}';
    return lws_write(c->wsi, p, len, LWS_WRITE_TEXT) < 0 ? -1 : 0;
}

int
web_ws_writeable(web_conn *c)
{
    if (c->kill)
        return -1;
    if (c->qlen == 0)
        return c->closing ? -1 : 0;
    /* Several messages per callback while the socket takes them: one
     * write per poll cycle cannot keep a busy supervisor view up to date.
     * A write the kernel takes only in part is kept by libwebsockets,
     * which then reports the pipe choked: stop there. */
    for (int i = 0; i < WEB_WS_WRITES && c->qlen > 0; i++) {
        if (i > 0 && lws_send_pipe_choked(c->wsi))
            break;
        if (c->batch && c->qlen > 1) {
            int n = write_batch(c);
            if (n < 0)
                return -1;
            continue;
        }
        web_msg *m = c->q[c->qhead];
        c->q[c->qhead] = NULL;
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
        int n = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        web_msg_unref(m);
        if (n < 0)
            return -1;
        c->w->ctr.ws_out++;
    }
    if (c->qlen > 0 || c->closing)
        lws_callback_on_writable(c->wsi);
    return 0;
}

int
web_ws_fanout(web *w, const char *login, uint32_t roles, web_msg *m)
{
    int n = 0;
    for (web_conn *c = w->conns; c; c = c->anext) {
        if (!c->session || c->closing || c->kill)
            continue;
        if ((login && strcmp(c->login, login) == 0) ||
            (roles & PLT_HTTP_ROLE_BIT(c->role))) {
            web_ws_send(c, m);
            n++;
        }
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* Receiving */

static void
send_json(web_conn *c, json_t *o)
{
    web_msg *m = o ? web_msg_json(o) : NULL;
    json_decref(o);
    if (m) {
        web_ws_send(c, m);
        web_msg_unref(m);
    }
}

static void
reply_now(web_conn *c, json_t *id, json_t *data, const char *code,
          const char *message)
{
    json_t *o =
        json_pack("{s:s,s:O}", "type", "reply", "id", id ? id : json_null());
    if (!o) {
        json_decref(data);
        return;
    }
    if (code)
        json_object_set_new(o, "error",
                            json_pack("{s:s,s:s}", "code", code, "message",
                                      message ? message : ""));
    else
        json_object_set_new(o, "data", data ? data : json_object());
    send_json(c, o);
}

static void
handle(web_conn *c, const char *text, size_t len)
{
    web *w = c->w;
    w->ctr.ws_in++;
    web_session *ss = c->session;
    if (!ss)
        return; /* ended: the bye is on its way */
    int64_t now = plt_now();
    if (web_session_expired(&w->sessions, ss, now)) {
        web_session_end(w, ss, "expired");
        return;
    }
    ss->last_seen = now;
    /* Before any parsing: a browser sends a few messages a second at
     * most; a socket that floods gets refusals, then is closed. */
    if (web_tb_take(&c->rl, (double)w->cfg.ws_msg_rate / 1000.0,
                    (double)w->cfg.ws_msg_burst, now) > 0) {
        w->ctr.rate_limited++;
        if (++c->refused > w->cfg.ws_msg_burst) {
            c->kill = true;
            return;
        }
        reply_now(c, NULL, NULL, "rate_limited",
                  "too many messages: slow down");
        return;
    }
    c->refused = 0;
    json_error_t err;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    json_t *type = o ? json_object_get(o, "type") : NULL;
    json_t *id = o ? json_object_get(o, "id") : NULL;
    json_t *data = o ? json_object_get(o, "data") : NULL;
    if (!json_is_object(o) || !json_is_string(type) ||
        (id && !json_is_string(id) && !json_is_integer(id)) ||
        (data && !json_is_object(data))) {
        reply_now(c, json_is_string(id) || json_is_integer(id) ? id : NULL,
                  NULL, "invalid_message",
                  "expected {\"type\":string,\"id\":string,\"data\":object}");
        json_decref(o);
        return;
    }
    const char *t = json_string_value(type);
    if (strcmp(t, "ping") == 0) {
        reply_now(c, id, json_pack("{s:I}", "server_time", (json_int_t)now),
                  NULL, NULL);
        json_decref(o);
        return;
    }
    web_wstype *wt = web_router_type(&w->router, t);
    if (!wt) {
        reply_now(c, id, NULL, "unknown_type", "no such message type");
    } else if (!(wt->t.roles & PLT_HTTP_ROLE_BIT(ss->role))) {
        w->ctr.forbidden++;
        reply_now(c, id, NULL, "forbidden", "your role may not do this");
    } else {
        plt_ws_msg *m = calloc(1, sizeof(*m));
        if (!m) {
            reply_now(c, id, NULL, "unavailable", "out of memory");
            json_decref(o);
            return;
        }
        m->w = w;
        m->conn = c;
        m->id = id ? json_incref(id) : json_null();
        m->data = data ? json_incref(data) : json_object();
        snprintf(m->type, sizeof(m->type), "%s", t);
        m->pr.size = sizeof(m->pr);
        snprintf(m->pr_login, sizeof(m->pr_login), "%s", ss->login);
        snprintf(m->pr_name, sizeof(m->pr_name), "%s", ss->name);
        snprintf(m->pr_sid, sizeof(m->pr_sid), "%s", ss->id);
        snprintf(m->pr_lang, sizeof(m->pr_lang), "%s", ss->lang);
        m->pr.login = m->pr_login;
        m->pr.name = m->pr_name;
        m->pr.session_id = m->pr_sid;
        m->pr.lang = m->pr_lang;
        m->pr.role = ss->role;
        m->pr.remote_addr = ""; /* filled below when known */
        m->next = c->msgs;
        if (c->msgs)
            c->msgs->prev = m;
        c->msgs = m;
        wt->t.fn(wt->t.arg, m);
    }
    json_decref(o);
}

void
web_ws_receive(web_conn *c, const void *in, size_t len, bool first, bool final)
{
    if (first) {
        free(c->rx);
        c->rx = NULL;
        c->rx_len = 0;
    }
    if (first && final) {
        if (len > (size_t)c->w->cfg.ws_msg_max) {
            c->kill = true;
            return;
        }
        handle(c, in, len);
        return;
    }
    if (c->rx_len + len > (size_t)c->w->cfg.ws_msg_max) {
        c->kill = true; /* a message larger than allowed: drop the socket */
        return;
    }
    char *n = realloc(c->rx, c->rx_len + len + 1);
    if (!n) {
        c->kill = true;
        return;
    }
    c->rx = n;
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (final) {
        handle(c, c->rx, c->rx_len);
        free(c->rx);
        c->rx = NULL;
        c->rx_len = 0;
    }
}

static void
msg_unlink(plt_ws_msg *m)
{
    web_conn *c = m->conn;
    if (!c)
        return;
    if (m->prev)
        m->prev->next = m->next;
    else
        c->msgs = m->next;
    if (m->next)
        m->next->prev = m->prev;
    m->next = m->prev = NULL;
    m->conn = NULL;
}

void
web_ws_msg_reply(plt_ws_msg *m, json_t *data, const char *code,
                 const char *message)
{
    web_conn *c = m->conn;
    if (c) {
        msg_unlink(m);
        reply_now(c, m->id, data, code, message);
    } else {
        json_decref(data);
    }
    json_decref(m->id);
    json_decref(m->data);
    free(m);
}

void
web_ws_closed(web_conn *c)
{
    web *w = c->w;
    /* Handlers still working on this connection's messages answer into
     * the void. */
    while (c->msgs)
        msg_unlink(c->msgs);
    web_session *ss = c->session;
    if (ss) {
        if (c->sprev)
            c->sprev->snext = c->snext;
        else
            ss->conns = c->snext;
        if (c->snext)
            c->snext->sprev = c->sprev;
        ss->nconns--;
    }
    if (c->aprev)
        c->aprev->anext = c->anext;
    else
        w->conns = c->anext;
    if (c->anext)
        c->anext->aprev = c->aprev;
    w->nconns--;
    w->ctr.ws_closed++;
    while (c->qlen) {
        web_msg_unref(c->q[c->qhead]);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
    }
    free(c->q);
    free(c->rx);
    free(c);
}

/* ------------------------------------------------------------------ */
/* Forwarding bus events */

static json_t *
value_json(const plt_value *v)
{
    switch (v->type) {
    case PLT_T_I64:
    case PLT_T_TIME:
        return json_integer(v->v.i);
    case PLT_T_DOUBLE:
        return json_real(v->v.d);
    case PLT_T_STR:
        return json_stringn(v->v.s, v->len);
    case PLT_T_BOOL:
        return json_boolean(v->v.i);
    default:
        return json_null();
    }
}

static void
on_event(const plt_event *ev, void *arg)
{
    web_forward *f = arg;
    web *w = f->w;
    if (!w->conns)
        return;
    const char *login = NULL;
    if (f->f.owner_field)
        login = plt_event_str(ev, f->f.owner_field);
    if (!login && !f->f.roles)
        return;
    json_t *data = json_object();
    size_t n = plt_event_count(ev);
    for (size_t i = 0; i < n; i++) {
        const char *key;
        plt_value v;
        if (plt_event_field_at(ev, i, &key, &v) == 0 && v.type != PLT_T_BLOB)
            json_object_set_new(data, key, value_json(&v));
    }
    json_t *o = json_pack("{s:s,s:o,s:I}", "type", plt_event_topic(ev), "data",
                          data, "at", (json_int_t)plt_event_time(ev));
    web_msg *m = o ? web_msg_json(o) : NULL;
    json_decref(o);
    if (!m)
        return;
    web_ws_fanout(w, login, f->f.roles, m);
    web_msg_unref(m);
}

int
web_ws_forward_add(web *w, const plt_http_forward *f, const char *owner)
{
    if (!f || f->size < offsetof(plt_http_forward, owner_field) ||
        !f->pattern || (f->roles & ~(uint32_t)PLT_HTTP_ANY_USER))
        return PLT_EINVAL;
    web_forward *fw = calloc(1, sizeof(*fw));
    web_forward **arr =
        realloc(w->forwards, (w->nforwards + 1) * sizeof(*w->forwards));
    if (!fw || !arr) {
        free(fw);
        if (arr)
            w->forwards = arr;
        return PLT_ENOMEM;
    }
    w->forwards = arr;
    fw->w = w;
    fw->f.size = sizeof(fw->f);
    fw->f.pattern = strdup(f->pattern);
    fw->f.roles = f->roles;
    fw->f.owner_field = f->size >= sizeof(plt_http_forward) && f->owner_field
                            ? strdup(f->owner_field)
                            : NULL;
    snprintf(fw->owner, sizeof(fw->owner), "%s", owner ? owner : "");
    int rc = fw->f.pattern
                 ? plt_subscribe(fw->f.pattern, on_event, fw, &fw->sub)
                 : PLT_ENOMEM;
    if (rc != 0) {
        free((char *)fw->f.pattern);
        free((char *)fw->f.owner_field);
        free(fw);
        return rc;
    }
    w->forwards[w->nforwards++] = fw;
    return 0;
}

void
web_ws_forwards_free(web *w)
{
    for (size_t i = 0; i < w->nforwards; i++) {
        web_forward *fw = w->forwards[i];
        if (fw->sub)
            plt_unsubscribe(fw->sub);
        free((char *)fw->f.pattern);
        free((char *)fw->f.owner_field);
        free(fw);
    }
    free(w->forwards);
    w->forwards = NULL;
    w->nforwards = 0;
}
