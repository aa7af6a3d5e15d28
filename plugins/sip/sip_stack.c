/* SPDX-License-Identifier: MIT */
/*
 * The SIP thread. One thread owns everything sofia-sip: it creates the
 * su_root, calls su_root_threading(root, 0) before nua_create() (so nua
 * runs in this same thread instead of starting another), and runs
 * su_root_run(). The loop thread hands it commands with su_msg_send_to();
 * it hands the loop plain sip_msg structs with plt_post(). No sofia
 * pointer leaves this thread: dialogs are known to the loop by a 64-bit
 * id (sid) only.
 *
 * What runs here:
 *  - calls: INVITE out (with digest answers to a trunk's challenge),
 *    INVITE in (DID and source checks, 180), answer, reject, CANCEL/BYE;
 *  - trunks: registration (digest), OPTIONS health checks, the resulting
 *    up/down state;
 *  - the registrar of agent phones (sip_registrar.c).
 * Hardening (notes/robustness.md): messages above max_message_size are
 * refused by nta, idle TCP connections and connections sending an
 * incomplete message are closed, trunk host names are resolved on the
 * loop (uv_getaddrinfo) and reach this thread as IP literals, so sofia's
 * resolver never runs for them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_tag_io.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/tport_tag.h>

#include "sip_thread.h"

/* SIP socket buffers (bytes). */
#define SIP_UDP_RMEM (4u << 20)
#define SIP_UDP_WMEM (1u << 20)

typedef enum hkind { H_CALL = 1, H_REG = 2, H_OPT = 3 } hkind;

/* What this thread knows of a handle (the nua "hmagic"). */
typedef struct hctx {
    hkind kind;
    uint64_t sid;
    int trunk;
    nua_handle_t *nh;
    bool inbound, answered, hangup_req, auth_tried, ended;
    char *local_sdp; /* our last SDP, for re-INVITEs */
    struct hctx *hnext;
} hctx;

/* Trunk state as this thread sees it. */
typedef struct strunk {
    char addr[64];
    char proxy[64];
    hctx *reg;
    bool reg_ok, reg_failed;
    char reg_reason[96];
    uint32_t opt_fails;
    bool opt_pending;
    int64_t opt_due_ms;
    int posted; /* -1 unknown, 0 down, 1 up */
} strunk;

#define NBUCKETS 1024

struct sip_stack {
    sip *s;                /* loop-side plugin state: only s->conf, trunks' */
    const sip_conf *conf;  /* configuration, exts and routes are read */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready; /* 0 starting, 1 running, < 0 failed */
    char error[256];
    char contact[96];
    su_root_t *root; /* set before ready = 1, never changes after */
    bool accepting;  /* loop side: commands may still be sent */

    /* SIP thread only. */
    nua_t *nua;
    hctx *calls[NBUCKETS];
    strunk *trunks;
    sip_registrar *registrar;
    su_timer_t *timer;
    uint64_t next_sid;
    bool shutting_down;
};

/* ------------------------------------------------------------------ */
/* Messages */

sip_msg *
sip_msg_new(int type, uint64_t sid)
{
    sip_msg *m = calloc(1, sizeof(*m));
    if (m) {
        m->type = type;
        m->sid = sid;
        m->trunk = -1;
    }
    return m;
}

void
sip_msg_free(sip_msg *m)
{
    if (!m)
        return;
    free(m->uri);
    free(m->from);
    free(m->to);
    free(m->sdp);
    free(m->text);
    free(m->hdrs);
    free(m);
}

bool
sip_msg_set(char **field, const char *value)
{
    free(*field);
    *field = NULL;
    if (!value)
        return true;
    *field = strdup(value);
    return *field != NULL;
}

void
sip_stack_post(sip *s, sip_msg *m)
{
    m->s = s;
    if (plt_post(sip_on_stack_msg, m) != 0)
        sip_msg_free(m); /* the core is gone: nobody is listening */
}

static void
post_simple(sip_stack *st, int type, uint64_t sid, int code,
            const char *text)
{
    sip_msg *m = sip_msg_new(type, sid);
    if (!m)
        return;
    m->code = code;
    if (!sip_msg_set(&m->text, text)) {
        sip_msg_free(m);
        return;
    }
    sip_stack_post(st->s, m);
}

/* ------------------------------------------------------------------ */
/* Handles */

static hctx *
hctx_new(sip_stack *st, hkind kind, uint64_t sid)
{
    hctx *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->kind = kind;
    h->sid = sid;
    h->trunk = -1;
    /* Every handle is listed (registrations and probes under sid 0), so
     * that whatever nua still holds at shutdown is freed. */
    size_t b = (size_t)(sid % NBUCKETS);
    h->hnext = st->calls[b];
    st->calls[b] = h;
    return h;
}

static hctx *
hctx_find(sip_stack *st, uint64_t sid)
{
    for (hctx *h = st->calls[sid % NBUCKETS]; h; h = h->hnext)
        if (h->sid == sid && h->kind == H_CALL)
            return h;
    return NULL;
}

/* Forget a handle: unbind it from nua and destroy it. */
static void
hctx_free(sip_stack *st, hctx *h)
{
    for (hctx **pp = &st->calls[h->sid % NBUCKETS]; *pp; pp = &(*pp)->hnext)
        if (*pp == h) {
            *pp = h->hnext;
            break;
        }
    if (h->nh) {
        nua_handle_bind(h->nh, NULL);
        nua_handle_destroy(h->nh);
    }
    free(h->local_sdp);
    free(h);
}

/* ------------------------------------------------------------------ */
/* Trunk state */

static bool
trunk_up(const sip_stack *st, int i)
{
    const sip_trunk *t = &st->s->trunks[i];
    const strunk *k = &st->trunks[i];
    if (!k->addr[0])
        return false;
    if (t->do_register && !k->reg_ok)
        return false;
    if (t->options_interval_ms && k->opt_fails >= t->options_threshold)
        return false;
    return true;
}

static void
trunk_update(sip_stack *st, int i, const char *why)
{
    int up = trunk_up(st, i) ? 1 : 0;
    if (up == st->trunks[i].posted)
        return;
    /* Still waiting for the first registration answer: not a change. */
    const sip_trunk *t = &st->s->trunks[i];
    if (!up && t->do_register && !st->trunks[i].reg_ok &&
        !st->trunks[i].reg_failed && st->trunks[i].posted < 0)
        return;
    st->trunks[i].posted = up;
    sip_msg *m = sip_msg_new(SIP_EV_TRUNK_STATE, 0);
    if (!m)
        return;
    m->trunk = i;
    m->code = up;
    if (!sip_msg_set(&m->text, why)) {
        sip_msg_free(m);
        return;
    }
    sip_stack_post(st->s, m);
}

static void
auth_answer(hctx *h, const sip_trunk *t, const sip_t *hdr)
{
    const msg_param_t *params = NULL;
    const char *scheme = "Digest";
    if (hdr && hdr->sip_www_authenticate) {
        params = hdr->sip_www_authenticate->au_params;
        scheme = hdr->sip_www_authenticate->au_scheme;
    } else if (hdr && hdr->sip_proxy_authenticate) {
        params = hdr->sip_proxy_authenticate->au_params;
        scheme = hdr->sip_proxy_authenticate->au_scheme;
    }
    const char *realm = params ? msg_params_find(params, "realm=") : NULL;
    char cred[512];
    snprintf(cred, sizeof(cred), "%s:%s:%s:%s", scheme ? scheme : "Digest",
             realm ? realm : "\"\"",
             t->auth_username ? t->auth_username : t->username, t->password);
    h->auth_tried = true;
    nua_authenticate(h->nh, NUTAG_AUTH(cred), TAG_END());
}

static void
trunk_register(sip_stack *st, int i)
{
    const sip_trunk *t = &st->s->trunks[i];
    strunk *k = &st->trunks[i];
    char aor[256], registrar[160], expires[24];
    snprintf(aor, sizeof(aor), "<sip:%s@%s>", t->username, t->domain);
    snprintf(registrar, sizeof(registrar), "sip:%s:%d%s", k->addr, t->port,
             t->tcp ? ";transport=tcp" : "");
    snprintf(expires, sizeof(expires), "%lld",
             (long long)t->register_expires_s);
    if (!k->reg) {
        k->reg = hctx_new(st, H_REG, 0);
        if (!k->reg)
            return;
        k->reg->trunk = i;
        k->reg->nh = nua_handle(st->nua, k->reg, SIPTAG_TO_STR(aor),
                                SIPTAG_FROM_STR(aor), TAG_END());
        if (!k->reg->nh) {
            hctx_free(st, k->reg);
            k->reg = NULL;
            return;
        }
    }
    k->reg->auth_tried = false;
    nua_register(k->reg->nh, NUTAG_REGISTRAR(registrar),
                 NUTAG_M_USERNAME(t->username), SIPTAG_EXPIRES_STR(expires),
                 TAG_IF(k->proxy[0], SIPTAG_ROUTE_STR(k->proxy)), TAG_END());
}

static void
on_register_reply(sip_stack *st, hctx *h, int status, const char *phrase,
                  const sip_t *hdr)
{
    int i = h->trunk;
    strunk *k = &st->trunks[i];
    const sip_trunk *t = &st->s->trunks[i];
    if (status < 200)
        return;
    if ((status == 401 || status == 407) && !h->auth_tried) {
        auth_answer(h, t, hdr);
        return;
    }
    if (status < 300) {
        k->reg_ok = true;
        k->reg_failed = false;
        h->auth_tried = false;
        trunk_update(st, i, "registered");
        return;
    }
    k->reg_ok = false;
    k->reg_failed = true;
    snprintf(k->reg_reason, sizeof(k->reg_reason),
             "registration rejected (%d %s)", status, phrase ? phrase : "");
    trunk_update(st, i, k->reg_reason);
}

static void
probe_trunk(sip_stack *st, int i)
{
    const sip_trunk *t = &st->s->trunks[i];
    strunk *k = &st->trunks[i];
    char uri[160];
    snprintf(uri, sizeof(uri), "sip:%s:%d%s", k->addr, t->port,
             t->tcp ? ";transport=tcp" : "");
    hctx *h = hctx_new(st, H_OPT, 0);
    if (!h)
        return;
    h->trunk = i;
    h->nh = nua_handle(st->nua, h, NUTAG_URL(uri), TAG_END());
    if (!h->nh) {
        hctx_free(st, h);
        return;
    }
    k->opt_pending = true;
    nua_options(h->nh, TAG_IF(k->proxy[0], SIPTAG_ROUTE_STR(k->proxy)),
                TAG_END());
}

static void
on_options_reply(sip_stack *st, hctx *h, int status, const char *phrase)
{
    if (status < 200)
        return;
    int i = h->trunk;
    strunk *k = &st->trunks[i];
    k->opt_pending = false;
    /* Any answer means the peer is alive; 408 and 503 without an answer
     * are made up by our own transaction layer (timeout, unreachable). */
    bool alive = !(status == 408 || status == 503 || status >= 900);
    char why[128];
    if (alive) {
        k->opt_fails = 0;
        snprintf(why, sizeof(why), "OPTIONS answered (%d)", status);
    } else {
        k->opt_fails++;
        snprintf(why, sizeof(why), "OPTIONS failed (%d %s)", status,
                 phrase ? phrase : "");
    }
    trunk_update(st, i, why);
    hctx_free(st, h);
}

static void
on_timer(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    sip_stack *st = (sip_stack *)arg;
    if (st->shutting_down)
        return;
    int64_t now = (int64_t)su_now().tv_sec * 1000 + su_now().tv_usec / 1000;
    for (size_t i = 0; i < st->s->ntrunks; i++) {
        const sip_trunk *tr = &st->s->trunks[i];
        strunk *k = &st->trunks[i];
        if (!tr->options_interval_ms || !k->addr[0] || k->opt_pending)
            continue;
        if (now >= k->opt_due_ms) {
            k->opt_due_ms = now + tr->options_interval_ms;
            probe_trunk(st, (int)i);
        }
    }
}

static void
on_trunk_addr(sip_stack *st, sip_msg *m)
{
    int i = m->trunk;
    if (i < 0 || (size_t)i >= st->s->ntrunks)
        return;
    const sip_trunk *t = &st->s->trunks[i];
    strunk *k = &st->trunks[i];
    bool changed = strcmp(k->addr, m->uri ? m->uri : "") != 0;
    snprintf(k->addr, sizeof(k->addr), "%s", m->uri ? m->uri : "");
    if (m->text && *m->text)
        snprintf(k->proxy, sizeof(k->proxy), "<sip:%s:%d;lr>", m->text,
                 t->proxy_port);
    if (!changed)
        return;
    k->opt_fails = 0;
    k->opt_due_ms = 0; /* probe at the next tick */
    if (t->do_register && k->addr[0])
        trunk_register(st, i);
    trunk_update(st, i, "address resolved");
}

/* ------------------------------------------------------------------ */
/* Calls */

static void
post_call(sip_stack *st, hctx *h, int type, int code, const char *phrase,
          const sip_t *hdr)
{
    sip_msg *m = sip_msg_new(type, h->sid);
    if (!m)
        return;
    m->code = code;
    bool ok = sip_msg_set(&m->text, phrase);
    if (ok && hdr && hdr->sip_payload && hdr->sip_payload->pl_data &&
        hdr->sip_payload->pl_len) {
        m->sdp = strndup(hdr->sip_payload->pl_data, hdr->sip_payload->pl_len);
        ok = m->sdp != NULL;
    }
    if (!ok) {
        sip_msg_free(m);
        return;
    }
    sip_stack_post(st->s, m);
}

static void
cmd_invite(sip_stack *st, sip_msg *m)
{
    const char *uri = m->uri;
    char agent_to[320];
    if (m->flags & SIP_MF_AGENT) {
        uri = sip_registrar_lookup(st->registrar, m->to);
        if (!uri) {
            post_simple(st, SIP_EV_FAILED, m->sid, 480,
                        "extension not registered");
            return;
        }
        snprintf(agent_to, sizeof(agent_to), "<sip:%s@%s>", m->to,
                 st->conf->realm);
        if (!sip_msg_set(&m->to, agent_to)) {
            post_simple(st, SIP_EV_FAILED, m->sid, 500, "out of memory");
            return;
        }
    }
    hctx *h = hctx_new(st, H_CALL, m->sid);
    if (!h) {
        post_simple(st, SIP_EV_FAILED, m->sid, 500, "out of memory");
        return;
    }
    h->trunk = m->trunk;
    h->local_sdp = m->sdp;
    m->sdp = NULL;
    const char *route =
        (m->trunk >= 0 && st->trunks[m->trunk].proxy[0])
            ? st->trunks[m->trunk].proxy
            : NULL;
    h->nh = nua_handle(st->nua, h, NUTAG_URL(uri), SIPTAG_TO_STR(m->to),
                       SIPTAG_FROM_STR(m->from), TAG_END());
    if (!h->nh) {
        post_simple(st, SIP_EV_FAILED, m->sid, 500, "cannot create a handle");
        hctx_free(st, h);
        return;
    }
    nua_invite(h->nh, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
               SIPTAG_PAYLOAD_STR(h->local_sdp),
               TAG_IF(route, SIPTAG_ROUTE_STR(route)),
               TAG_IF(m->flags & SIP_MF_HIDE_ID, SIPTAG_PRIVACY_STR("id")),
               TAG_IF(m->hdrs, SIPTAG_HEADER_STR(m->hdrs)), TAG_END());
}

static void
cmd_answer(sip_stack *st, sip_msg *m)
{
    hctx *h = hctx_find(st, m->sid);
    if (!h || !h->inbound || h->answered || h->ended)
        return;
    h->answered = true;
    free(h->local_sdp);
    h->local_sdp = m->sdp;
    m->sdp = NULL;
    nua_respond(h->nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                SIPTAG_PAYLOAD_STR(h->local_sdp), TAG_END());
}

static void
cmd_reanswer(sip_stack *st, sip_msg *m)
{
    hctx *h = hctx_find(st, m->sid);
    if (!h || h->ended)
        return;
    if (m->code >= 300 || !m->sdp) {
        nua_respond(h->nh, m->code >= 300 ? m->code : 488,
                    m->code >= 300 ? m->text : "Not Acceptable Here",
                    TAG_END());
        return;
    }
    free(h->local_sdp);
    h->local_sdp = m->sdp;
    m->sdp = NULL;
    nua_respond(h->nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                SIPTAG_PAYLOAD_STR(h->local_sdp), TAG_END());
}

static void
cmd_respond(sip_stack *st, sip_msg *m)
{
    hctx *h = hctx_find(st, m->sid);
    if (!h || !h->inbound || h->answered || h->ended)
        return;
    h->ended = true;
    nua_respond(h->nh, m->code, sip_status_phrase(m->code), TAG_END());
}

static void
cmd_hangup(sip_stack *st, sip_msg *m)
{
    hctx *h = hctx_find(st, m->sid);
    if (!h || h->hangup_req)
        return;
    h->hangup_req = true;
    h->ended = true;
    if (h->answered)
        nua_bye(h->nh, TAG_END());
    else if (h->inbound)
        nua_respond(h->nh, SIP_480_TEMPORARILY_UNAVAILABLE, TAG_END());
    else
        nua_cancel(h->nh, TAG_END());
}

static void
on_invite_reply(sip_stack *st, hctx *h, int status, const char *phrase,
                const sip_t *hdr)
{
    if (status < 200) {
        if ((status == 180 || status == 183) && !h->hangup_req)
            post_call(st, h, SIP_EV_PROGRESS, status, phrase, hdr);
        return;
    }
    if (status < 300) {
        h->answered = true;
        if (h->hangup_req)
            /* Answered while our CANCEL crossed it: end it at once. */
            nua_bye(h->nh, TAG_END());
        else
            post_call(st, h, SIP_EV_ANSWERED, status, phrase, hdr);
        return;
    }
    if ((status == 401 || status == 407) && !h->auth_tried && h->trunk >= 0 &&
        st->s->trunks[h->trunk].username && st->s->trunks[h->trunk].password) {
        auth_answer(h, &st->s->trunks[h->trunk], hdr);
        return;
    }
    if (!h->ended) {
        h->ended = true;
        post_call(st, h, SIP_EV_FAILED, status, phrase, NULL);
    }
}

static int
trunk_of_source(sip_stack *st, const char *ip)
{
    for (size_t i = 0; i < st->s->ntrunks; i++)
        if (strcmp(st->trunks[i].addr, ip) == 0)
            return (int)i;
    return -1;
}

static const sip_route *
route_of(sip_stack *st, const char *did, int trunk)
{
    for (size_t i = 0; i < st->s->nroutes; i++) {
        const sip_route *r = &st->s->routes[i];
        if (strcmp(r->did, did) != 0)
            continue;
        if (r->trunk && (trunk < 0 ||
                         strcmp(r->trunk, st->s->trunks[trunk].name) != 0))
            continue;
        return r;
    }
    return NULL;
}

static void
on_incoming(sip_stack *st, nua_handle_t *nh, const sip_t *hdr)
{
    if (st->shutting_down) {
        nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, TAG_END());
        nua_handle_destroy(nh);
        return;
    }
    char src[64] = "";
    msg_t *req = nua_current_request(st->nua);
    su_addrinfo_t *ai = req ? msg_addrinfo(req) : NULL;
    if (ai && ai->ai_addr)
        su_inet_ntop(ai->ai_family, SU_ADDR((su_sockaddr_t *)ai->ai_addr), src,
                     sizeof(src));
    int trunk = trunk_of_source(st, src);
    if (trunk < 0 && !st->conf->accept_unknown_sources) {
        nua_respond(nh, SIP_403_FORBIDDEN, TAG_END());
        nua_handle_destroy(nh);
        return;
    }
    const char *did = hdr->sip_request && hdr->sip_request->rq_url->url_user
                          ? hdr->sip_request->rq_url->url_user
                          : "";
    if (!route_of(st, did, trunk)) {
        nua_respond(nh, SIP_404_NOT_FOUND, TAG_END());
        nua_handle_destroy(nh);
        return;
    }
    hctx *h = hctx_new(st, H_CALL, ++st->next_sid | (1ull << 62));
    sip_msg *m = sip_msg_new(SIP_EV_INCOMING, h ? h->sid : 0);
    if (!h || !m) {
        sip_msg_free(m);
        if (h)
            hctx_free(st, h);
        nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
        nua_handle_destroy(nh);
        return;
    }
    h->inbound = true;
    h->trunk = trunk;
    h->nh = nh;
    nua_handle_bind(nh, h);
    m->trunk = trunk;
    const sip_from_t *f = hdr->sip_from;
    bool ok = sip_msg_set(&m->to, did) &&
              sip_msg_set(&m->from, f && f->a_url->url_user
                                        ? f->a_url->url_user
                                        : "anonymous") &&
              sip_msg_set(&m->text, f ? f->a_display : NULL);
    if (ok && hdr->sip_payload && hdr->sip_payload->pl_data &&
        hdr->sip_payload->pl_len)
        ok = (m->sdp = strndup(hdr->sip_payload->pl_data,
                               hdr->sip_payload->pl_len)) != NULL;
    if (!ok) {
        sip_msg_free(m);
        h->ended = true;
        nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
        return;
    }
    nua_respond(nh, SIP_180_RINGING, TAG_END());
    sip_stack_post(st->s, m);
}

/* ------------------------------------------------------------------ */
/* nua callback */

static void
on_nua_event(nua_event_t event, int status, char const *phrase, nua_t *nua,
             nua_magic_t *magic, nua_handle_t *nh, nua_hmagic_t *hmagic,
             sip_t const *hdr, tagi_t tags[])
{
    (void)nua;
    sip_stack *st = (sip_stack *)magic;
    hctx *h = (hctx *)hmagic;
    switch (event) {
    case nua_i_invite:
        if (h && h->kind == H_CALL && !h->ended && hdr &&
            hdr->sip_payload && hdr->sip_payload->pl_len) {
            /* A re-INVITE with an offer (hold from a phone: sendonly or
             * inactive; resume; a new address): the loop points the media
             * at it and answers (SIP_CMD_REANSWER). */
            post_call(st, h, SIP_EV_REINVITE, 0, NULL, hdr);
        } else if (h) {
            /* A re-INVITE without an offer (session refresh): our media
             * does not change, offer the SDP we gave. */
            nua_respond(nh, SIP_200_OK,
                        TAG_IF(h->local_sdp, SIPTAG_CONTENT_TYPE_STR(
                                                 "application/sdp")),
                        TAG_IF(h->local_sdp,
                               SIPTAG_PAYLOAD_STR(h->local_sdp)),
                        TAG_END());
        } else {
            on_incoming(st, nh, hdr);
        }
        break;
    case nua_r_invite:
        if (h && h->kind == H_CALL)
            on_invite_reply(st, h, status, phrase, hdr);
        break;
    case nua_i_cancel:
        if (h && !h->ended) {
            h->ended = true;
            post_call(st, h, SIP_EV_CANCELLED, 487, phrase, NULL);
        }
        break;
    case nua_i_bye:
        if (h && !h->ended) {
            h->ended = true;
            post_call(st, h, SIP_EV_BYE, 200, "remote hangup", NULL);
        }
        break;
    case nua_i_state: {
        int cs = nua_callstate_init;
        tl_gets(tags, NUTAG_CALLSTATE_REF(cs), TAG_END());
        if (cs == nua_callstate_terminated && h && h->kind == H_CALL) {
            if (!h->ended) {
                /* Ended without a BYE we saw: ACK timeout, transport
                 * failure, a final response already reported... */
                h->ended = true;
                post_call(st, h, h->answered ? SIP_EV_BYE : SIP_EV_FAILED,
                          status >= 300 ? status : 500,
                          phrase ? phrase : "call terminated", NULL);
            }
            hctx_free(st, h);
        } else if (cs == nua_callstate_terminated && !h && nh) {
            nua_handle_destroy(nh);
        }
        break;
    }
    case nua_i_register:
        sip_registrar_on_register(st->registrar, st->nua, nh, hdr);
        break;
    case nua_r_register:
        if (h && h->kind == H_REG)
            on_register_reply(st, h, status, phrase, hdr);
        break;
    case nua_r_unregister:
        break;
    case nua_r_options:
        if (h && h->kind == H_OPT)
            on_options_reply(st, h, status, phrase);
        break;
    case nua_r_shutdown:
        if (status >= 200)
            su_root_break(st->root);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------ */
/* Commands from the loop */

static void
on_cmd(su_root_magic_t *magic, su_msg_r msg, su_msg_arg_t *arg)
{
    (void)magic;
    (void)msg;
    sip_msg **slot = (sip_msg **)arg;
    sip_msg *m = *slot;
    *slot = NULL;
    if (!m)
        return;
    sip_stack *st = m->s->stack;
    if (st->shutting_down && m->type != SIP_CMD_HANGUP &&
        m->type != SIP_CMD_RESPOND) {
        sip_msg_free(m);
        return;
    }
    switch (m->type) {
    case SIP_CMD_INVITE:
        cmd_invite(st, m);
        break;
    case SIP_CMD_ANSWER:
        cmd_answer(st, m);
        break;
    case SIP_CMD_RESPOND:
        cmd_respond(st, m);
        break;
    case SIP_CMD_HANGUP:
        cmd_hangup(st, m);
        break;
    case SIP_CMD_TRUNK_ADDR:
        on_trunk_addr(st, m);
        break;
    case SIP_CMD_REANSWER:
        cmd_reanswer(st, m);
        break;
    case SIP_CMD_SHUTDOWN:
        st->shutting_down = true;
        for (size_t i = 0; i < st->s->ntrunks; i++)
            if (st->trunks[i].reg && st->trunks[i].reg_ok)
                nua_unregister(st->trunks[i].reg->nh, TAG_END());
        nua_shutdown(st->nua);
        break;
    default:
        break;
    }
    sip_msg_free(m);
}

static void
msg_deinit(su_msg_arg_t *arg)
{
    sip_msg **slot = (sip_msg **)arg;
    sip_msg_free(*slot);
    *slot = NULL;
}

int
sip_stack_send(sip_stack *st, sip_msg *m)
{
    if (!st || !st->accepting) {
        sip_msg_free(m);
        return PLT_ESHUTDOWN;
    }
    m->s = st->s;
    su_msg_r msg = SU_MSG_R_INIT;
    if (su_msg_new(msg, sizeof(sip_msg *)) != 0) {
        sip_msg_free(m);
        return PLT_ENOMEM;
    }
    *(sip_msg **)su_msg_data(msg) = m;
    su_msg_deinitializer(msg, msg_deinit);
    if (su_msg_send_to(msg, su_root_task(st->root), on_cmd) != 0) {
        su_msg_destroy(msg); /* frees m through msg_deinit */
        return PLT_EIO;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* The thread */

static void
log_sofia(void *ctx, char const *fmt, va_list ap)
{
    (void)ctx;
    (void)fmt;
    (void)ap;
    /* sofia's own log lines are dropped: the host's logger may only be
     * called on the loop thread, and what matters is reported as events. */
}

static void
set_ready(sip_stack *st, int ready, const char *error)
{
    pthread_mutex_lock(&st->mu);
    st->ready = ready;
    if (error)
        snprintf(st->error, sizeof(st->error), "%s", error);
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

static void *
thread_main(void *arg)
{
    sip_stack *st = arg;
    const sip_conf *c = st->conf;
    su_init();
    /* PLATEAU_SIP_TRACE=1 keeps sofia's own log on stderr (with
     * TPORT_LOG=1 it prints every message): for debugging only. */
    if (!getenv("PLATEAU_SIP_TRACE")) {
        su_log_redirect(NULL, log_sofia, NULL);
        su_log_redirect(su_log_default, log_sofia, NULL);
    }
    st->root = su_root_create(NULL);
    if (!st->root) {
        su_deinit();
        set_ready(st, -1, "cannot create the sofia root");
        return NULL;
    }
    su_root_threading(st->root, 0);
    bool v6 = strchr(c->bind_address, ':') != NULL;
    char url[160];
    snprintf(url, sizeof(url), "sip:%s%s%s:%d%s", v6 ? "[" : "",
             c->bind_address, v6 ? "]" : "", c->port,
             c->tcp ? "" : ";transport=udp");
    st->nua = nua_create(
        st->root, on_nua_event, (nua_magic_t *)st, NUTAG_URL(url),
        NTATAG_MAXSIZE((usize_t)c->max_message_size),
        TPTAG_IDLE((unsigned)c->tcp_idle_ms),
        TPTAG_TIMEOUT((unsigned)c->incomplete_ms),
        NTATAG_UDP_MTU(65535),
        /* A dialer's burst (hundreds of INVITEs, their 100/180/200 back at
         * once) overflows the default 208 KiB UDP buffer: bench/sip saw
         * responses dropped, calls retried and lost at 100 calls at once.
         * The kernel caps it at net.core.rmem_max. */
        TPTAG_UDP_RMEM(SIP_UDP_RMEM), TPTAG_UDP_WMEM(SIP_UDP_WMEM),
        SIPTAG_USER_AGENT_STR(c->user_agent),
        SIPTAG_SERVER_STR(c->user_agent), NUTAG_MEDIA_ENABLE(0),
        NUTAG_AUTOANSWER(0), NUTAG_AUTOACK(1), NUTAG_ENABLEMESSAGE(0),
        NUTAG_ENABLEINVITE(1),
        NUTAG_ALLOW("INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER"),
        NUTAG_APPL_METHOD("REGISTER"), TAG_END());
    if (!st->nua) {
        su_root_destroy(st->root);
        st->root = NULL;
        su_deinit();
        char e[200];
        snprintf(e, sizeof(e), "cannot listen on %s (address in use?)", url);
        set_ready(st, -1, e);
        return NULL;
    }
    /* The same limits on every transport nua opened. */
    nua_set_params(st->nua, NTATAG_MAXSIZE((usize_t)c->max_message_size),
                   TAG_END());
    /* Every second, for ever (su_timer_set_interval() fires only once). */
    st->timer = su_timer_create(su_root_task(st->root), 1000);
    if (st->timer)
        su_timer_run(st->timer, on_timer, (su_timer_arg_t *)st);
    snprintf(st->contact, sizeof(st->contact), "%s:%s:%d",
             c->tcp ? "udp+tcp" : "udp", c->bind_address, c->port);
    set_ready(st, 1, NULL);

    su_root_run(st->root);

    if (st->timer)
        su_timer_destroy(st->timer);
    nua_destroy(st->nua);
    for (size_t b = 0; b < NBUCKETS; b++)
        while (st->calls[b]) {
            hctx *h = st->calls[b];
            st->calls[b] = h->hnext;
            free(h->local_sdp);
            free(h);
        }
    su_root_destroy(st->root);
    su_deinit();
    post_simple(st, SIP_EV_STOPPED, 0, 0, NULL);
    return NULL;
}

int
sip_stack_start(sip *s, sip_stack **out)
{
    sip_stack *st = calloc(1, sizeof(*st));
    if (!st)
        return PLT_ENOMEM;
    st->s = s;
    st->conf = &s->conf;
    st->trunks = calloc(s->ntrunks ? s->ntrunks : 1, sizeof(*st->trunks));
    int rc = st->trunks ? sip_registrar_new(s, &st->registrar) : PLT_ENOMEM;
    if (rc != 0) {
        free(st->trunks);
        free(st);
        return rc;
    }
    for (size_t i = 0; i < s->ntrunks; i++)
        st->trunks[i].posted = -1;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    /* The pointer must be in place before the thread can post anything. */
    s->stack = st;
    if (pthread_create(&st->thread, NULL, thread_main, st) != 0) {
        plt_set_error("cannot start the SIP thread");
        rc = PLT_ENOMEM;
        goto fail;
    }
    /* Bounded startup wait (ADR 0007): binding the port takes
     * milliseconds, and a failure must stop Plateau with its reason. */
    pthread_mutex_lock(&st->mu);
    while (st->ready == 0)
        pthread_cond_wait(&st->cv, &st->mu);
    pthread_mutex_unlock(&st->mu);
    if (st->ready < 0) {
        pthread_join(st->thread, NULL);
        plt_set_error("%s", st->error);
        rc = PLT_EIO;
        goto fail;
    }
    st->accepting = true;
    *out = st;
    return 0;
fail:
    s->stack = NULL;
    sip_registrar_free(st->registrar);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    free(st->trunks);
    free(st);
    return rc;
}

void
sip_stack_shutdown(sip_stack *st)
{
    if (!st || !st->accepting)
        return;
    sip_msg *m = sip_msg_new(SIP_CMD_SHUTDOWN, 0);
    if (m)
        (void)sip_stack_send(st, m);
    st->accepting = false;
}

void
sip_stack_join(sip_stack *st)
{
    if (!st)
        return;
    pthread_join(st->thread, NULL);
    sip_registrar_free(st->registrar);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    free(st->trunks);
    free(st);
}

const char *
sip_stack_contact(const sip_stack *st)
{
    return st->contact;
}
