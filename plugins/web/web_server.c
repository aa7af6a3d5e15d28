/* SPDX-License-Identifier: MIT */
/*
 * libwebsockets 4.1 on the core's libuv loop: one context, one vhost, one
 * protocol that takes every HTTP request and the WebSocket at /api/v1/ws.
 *
 * An HTTP request becomes a plt_http_req when its headers are in: the
 * headers the plugin needs are copied out at once, because a reply may
 * come after libwebsockets has let the connection go. Bodies are
 * collected up to the configured limit (413 beyond it, and the connection
 * is closed so that the unread rest is never parsed as a request). A
 * reply is written from LWS_CALLBACK_HTTP_WRITEABLE: headers first, then
 * the body in slices, one lws_write() per callback.
 *
 * If the client goes away before the reply, the request is detached from
 * the connection (wsi = NULL) and freed when its handler answers.
 *
 * Shutdown follows the traps of a foreign loop (notes/integration.md §2):
 * lws_context_destroy() is called from a uv timer, never inside an lws
 * callback, and a second time from fini() once the loop has closed lws's
 * handles; without the second call the context leaks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "web_int.h"

typedef struct web_pss {
    plt_http_req *req;
    web_conn *conn;
    char sid[WEB_ID_SIZE];
    bool batch;
} web_pss;


/* ------------------------------------------------------------------ */
/* Requests */

/* Take @p req out of the list of requests waiting for an answer. */
static void
pending_unlink(web *w, plt_http_req *req)
{
    if (req->prev || w->pending == req) {
        if (req->prev)
            req->prev->next = req->next;
        else
            w->pending = req->next;
        if (req->next)
            req->next->prev = req->prev;
    }
    req->prev = req->next = NULL;
}

void
web_req_free(plt_http_req *req)
{
    if (!req)
        return;
    pending_unlink(req->w, req);
    web_kv_free(req->query, req->nquery);
    free(req->query);
    web_kv_free(req->params, req->nparams);
    web_kv_free(req->headers, req->nheaders);
    free(req->headers);
    free(req->path);
    free(req->cookie);
    free(req->authorization);
    free(req->origin);
    free(req->csrf_header);
    free(req->content_type);
    free(req->if_none_match);
    free(req->sec_fetch_site);
    free(req->file_name);
    if (req->body)
        memset(req->body, 0, req->body_len); /* may hold a password */
    free(req->body);
    json_decref(req->json);
    web_spool_release(req->spool);
    web_fstream_release(req->stream);
    if (req->upload_path)
        web_unlink_later(req->w, req->upload_path); /* takes the path */
    free(req->resp_ctype);
    free(req->resp_headers);
    free(req->resp_body);
    free(req);
}

static char *
hdr_copy(struct lws *wsi, enum lws_token_indexes t)
{
    int n = lws_hdr_total_length(wsi, t);
    if (n <= 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    if (lws_hdr_copy(wsi, s, n + 1, t) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

static char *
hdr_custom(struct lws *wsi, const char *name)
{
    int nl = (int)strlen(name);
    int n = lws_hdr_custom_length(wsi, name, nl);
    if (n <= 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    if (lws_hdr_custom_copy(wsi, s, n + 1, name, nl) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

static const struct {
    const char *name;
    enum lws_token_indexes tok;
} known_headers[] = {
    {"host", WSI_TOKEN_HOST},
    {"accept", WSI_TOKEN_HTTP_ACCEPT},
    {"accept-language", WSI_TOKEN_HTTP_ACCEPT_LANGUAGE},
    {"user-agent", WSI_TOKEN_HTTP_USER_AGENT},
    {"referer", WSI_TOKEN_HTTP_REFERER},
    {"content-type", WSI_TOKEN_HTTP_CONTENT_TYPE},
    {"if-none-match", WSI_TOKEN_HTTP_IF_NONE_MATCH},
    {"origin", WSI_TOKEN_ORIGIN},
    {"x-forwarded-for", WSI_TOKEN_X_FORWARDED_FOR},
    {NULL, 0}};

const char *
web_req_header(plt_http_req *req, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < req->nheaders; i++)
        if (web_ieq(req->headers[i].k, name))
            return req->headers[i].v;
    /* Credentials are never handed to plugins. */
    if (web_ieq(name, "cookie") || web_ieq(name, "authorization"))
        return NULL;
    if (!req->wsi)
        return NULL;
    char *v = NULL;
    bool known = false;
    for (size_t i = 0; known_headers[i].name; i++) {
        if (web_ieq(known_headers[i].name, name)) {
            v = hdr_copy(req->wsi, known_headers[i].tok);
            known = true;
            break;
        }
    }
    if (!known) {
        /* lws keeps unknown headers with their colon, in lower case. */
        char key[96];
        size_t n = strlen(name);
        if (n + 2 > sizeof(key))
            return NULL;
        for (size_t i = 0; i < n; i++)
            key[i] = (char)((name[i] >= 'A' && name[i] <= 'Z')
                                ? name[i] - 'A' + 'a'
                                : name[i]);
        key[n] = ':';
        key[n + 1] = '\0';
        v = hdr_custom(req->wsi, key);
    }
    if (!v)
        return NULL;
    web_kv *nh = realloc(req->headers, (req->nheaders + 1) * sizeof(*nh));
    if (!nh) {
        free(v);
        return NULL;
    }
    req->headers = nh;
    nh[req->nheaders].k = strdup(name);
    nh[req->nheaders].v = v;
    if (!nh[req->nheaders].k) {
        free(v);
        return NULL;
    }
    return nh[req->nheaders++].v;
}

const char *
web_req_query(plt_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->nquery; i++)
        if (strcmp(req->query[i].k, name) == 0)
            return req->query[i].v;
    return NULL;
}

void
web_req_page_args(plt_http_req *req, int64_t *offset, int64_t *limit)
{
    const web_cfg *c = &req->w->cfg;
    const char *o = web_req_query(req, "offset");
    const char *l = web_req_query(req, "limit");
    long long ov = o ? strtoll(o, NULL, 10) : 0;
    long long lv = l ? strtoll(l, NULL, 10) : c->page_limit_default;
    if (ov < 0)
        ov = 0;
    if (lv <= 0)
        lv = c->page_limit_default;
    if (lv > c->page_limit_max)
        lv = c->page_limit_max;
    *offset = ov;
    *limit = lv;
}

static void
count_status(web *w, int status)
{
    int cls = status / 100;
    w->ctr.http_requests[cls >= 1 && cls <= 5 ? cls : 0]++;
}

void
web_req_respond_stream(plt_http_req *req, int status, const char *ctype,
                       web_fstream *fs, uint64_t size,
                       const char *extra_headers)
{
    if (req->answered || !req->wsi) {
        /* Nobody to send it to: the answer drops or frees the request. */
        web_fstream_release(fs);
        web_req_respond(req, status, ctype, NULL, 0, extra_headers);
        return;
    }
    /* The connection writes later (HTTP_WRITEABLE): the length is the
     * file's, the body comes from the stream. */
    web_req_respond(req, status, ctype, NULL, 0, extra_headers);
    req->stream = fs;
    req->resp_len = (size_t)size;
}

void
web_req_respond(plt_http_req *req, int status, const char *ctype, char *body,
                size_t len, const char *extra_headers)
{
    if (req->answered) {
        /* A second answer, or one after the 504: drop it. */
        free(body);
        return;
    }
    req->answered = true;
    web *w = req->w;
    count_status(w, status);
    /* Out of the pending list: nothing waits for it any more. */
    pending_unlink(w, req);
    req->status = status;
    req->resp_ctype = web_strdup(ctype);
    req->resp_headers = web_strdup(extra_headers);
    req->resp_body = body;
    req->resp_len = body ? len : 0;
    if (!req->wsi) {
        web_req_free(req);
        return;
    }
    lws_callback_on_writable(req->wsi);
}

void
web_req_json(plt_http_req *req, int status, json_t *body,
             const char *extra_headers)
{
    char *text = NULL;
    size_t len = 0;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (!text) {
            web_req_respond(req, 500, "application/json",
                            strdup("{\"error\":{\"code\":\"internal\","
                                   "\"message\":\"out of memory\"}}"),
                            58, NULL);
            return;
        }
        len = strlen(text);
    }
    web_req_respond(req, status, text ? "application/json" : NULL, text, len,
                    extra_headers);
}

void
web_req_error(plt_http_req *req, int status, const char *code,
              const char *message)
{
    json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code",
                          code ? code : "error", "message",
                          message ? message : "");
    web_req_json(req, status, e, NULL);
}

void
web_requests_sweep(web *w)
{
    int64_t now = plt_now();
    plt_http_req *r = w->pending;
    while (r) {
        plt_http_req *next = r->next;
        if (r->dispatched && now - r->started >= w->cfg.request_timeout_ms) {
            w->ctr.timeouts++;
            /* The handler still owns the request and will answer it: keep
             * the object alive until then, but answer the client now. */
            plt_http_req *copy = calloc(1, sizeof(*copy));
            if (copy) {
                copy->w = w;
                copy->wsi = r->wsi;
                copy->started = r->started;
                if (r->wsi) {
                    web_pss *pss = lws_wsi_user(r->wsi);
                    if (pss && pss->req == r)
                        pss->req = copy;
                }
                r->wsi = NULL;
                r->timed_out = true;
                /* r stays in no list: its handler frees it by answering. */
                pending_unlink(w, r);
                web_req_error(copy, 504, "timeout",
                              "the request took too long");
            }
        }
        r = next;
    }
}

/* ------------------------------------------------------------------ */
/* Writing a reply */

static int
add_header(struct lws *wsi, const char *name, const char *value,
           unsigned char **p, unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value,
                                       (int)strlen(value), p, end);
}

static int
write_headers(web *w, struct lws *wsi, plt_http_req *req)
{
    unsigned char buf[LWS_PRE + 8192];
    unsigned char *start = buf + LWS_PRE, *p = start;
    unsigned char *end = buf + sizeof(buf) - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)req->status,
                                    req->resp_ctype, req->resp_len, &p, end))
        return -1;
    if (add_header(wsi, "x-content-type-options:", "nosniff", &p, end) ||
        add_header(wsi, "x-frame-options:", "DENY", &p, end) ||
        add_header(wsi, "referrer-policy:", "same-origin", &p, end) ||
        add_header(wsi, "cross-origin-opener-policy:", "same-origin", &p,
                   end))
        return -1;
    if (req->is_static && w->cfg.csp && *w->cfg.csp &&
        add_header(wsi, "content-security-policy:", w->cfg.csp, &p, end))
        return -1;
    if (w->cfg.tls_cert &&
        add_header(wsi, "strict-transport-security:", "max-age=31536000", &p,
                   end))
        return -1;
    if (!req->is_static &&
        add_header(wsi, "cache-control:", "no-store", &p, end))
        return -1;
    if (req->close_after &&
        add_header(wsi, "connection:", "close", &p, end))
        return -1;
    /* Extra headers: "Name: value\r\n" lines. */
    const char *h = req->resp_headers;
    while (h && *h) {
        const char *eol = strstr(h, "\r\n");
        size_t n = eol ? (size_t)(eol - h) : strlen(h);
        const char *colon = memchr(h, ':', n);
        if (colon) {
            char name[96], value[1024];
            size_t nl = (size_t)(colon - h);
            const char *v = colon + 1;
            while (*v == ' ' && v < h + n)
                v++;
            size_t vl = (size_t)(h + n - v);
            if (nl + 2 <= sizeof(name) && vl + 1 <= sizeof(value)) {
                for (size_t i = 0; i < nl; i++)
                    name[i] = (char)((h[i] >= 'A' && h[i] <= 'Z')
                                         ? h[i] - 'A' + 'a'
                                         : h[i]);
                name[nl] = ':';
                name[nl + 1] = '\0';
                memcpy(value, v, vl);
                value[vl] = '\0';
                if (add_header(wsi, name, value, &p, end))
                    return -1;
            }
        }
        h = eol ? eol + 2 : NULL;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    return 0;
}

/* The reply is out: free it and keep the connection for the next one. */
static int
finish(struct lws *wsi, web_pss *pss)
{
    plt_http_req *req = pss->req;
    pss->req = NULL;
    bool close = req->close_after;
    req->wsi = NULL;
    web_req_free(req);
    if (close)
        return -1;
    if (lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

static int
http_writeable(web *w, struct lws *wsi, web_pss *pss)
{
    plt_http_req *req = pss->req;
    if (!req || !req->answered)
        return 0;
    if (!req->headers_sent) {
        if (write_headers(w, wsi, req) != 0)
            return -1;
        req->headers_sent = true;
        if (req->resp_len == 0)
            return finish(wsi, pss);
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (req->stream) {
        int r = web_fstream_write(wsi, req->stream);
        return r < 0 ? -1 : r > 0 ? finish(wsi, pss) : 0;
    }
    size_t n = 0;
    int r = web_write_slice(wsi, req->resp_body + req->resp_off,
                            req->resp_len - req->resp_off, true, &n);
    req->resp_off += n;
    return r < 0 ? -1 : r > 0 ? finish(wsi, pss) : 0;
}

/* ------------------------------------------------------------------ */
/* Reading a request */

static const char *const method_names[] = {"GET",   "POST",   "OPTIONS",
                                           "PUT",   "PATCH",  "DELETE"};

static int
read_query(plt_http_req *req, struct lws *wsi)
{
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
    if (total <= 0)
        return 0;
    char frag[2048];
    for (int i = 0; i < 64; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof(frag),
                                      WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        web_kv *kv = realloc(req->query, (req->nquery + 1) * sizeof(*kv));
        if (!kv)
            return PLT_ENOMEM;
        req->query = kv;
        char *eq = strchr(frag, '=');
        if (eq)
            *eq = '\0';
        kv[req->nquery].k = strdup(frag);
        kv[req->nquery].v = strdup(eq ? eq + 1 : "");
        req->nquery++;
        if (!kv[req->nquery - 1].k || !kv[req->nquery - 1].v)
            return PLT_ENOMEM;
    }
    return 0;
}

/* Answer at once, from inside LWS_CALLBACK_HTTP, and close: used when
 * the request cannot be read (too large, no length), so its body must
 * not be parsed as the next request. */
static int
refuse_now(web *w, struct lws *wsi, int status, const char *code,
           const char *message)
{
    char body[256];
    int n = snprintf(body, sizeof(body),
                     "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code,
                     message);
    unsigned char buf[LWS_PRE + 1024];
    unsigned char *start = buf + LWS_PRE, *p = start;
    unsigned char *end = buf + sizeof(buf) - 1;
    count_status(w, status);
    if (lws_add_http_common_headers(wsi, (unsigned)status, "application/json",
                                    (lws_filepos_t)n, &p, end) ||
        add_header(wsi, "connection:", "close", &p, end) ||
        lws_finalize_http_header(wsi, &p, end))
        return -1;
    if (p + n > end)
        return -1;
    memcpy(p, body, (size_t)n);
    p += n;
    lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_FINAL);
    return -1;
}

static bool
method_has_body(int m)
{
    return m == WEB_M_POST || m == WEB_M_PUT || m == WEB_M_PATCH ||
           m == WEB_M_DELETE;
}

static int
on_http(web *w, struct lws *wsi, web_pss *pss, const char *uri)
{
    char *uri_ptr;
    int uri_len;
    int meth = lws_http_get_uri_and_method(wsi, &uri_ptr, &uri_len);
    if (meth < 0 || meth > WEB_M_DELETE)
        return refuse_now(w, wsi, 405, "method_not_allowed",
                          "method not supported");
    plt_http_req *req = calloc(1, sizeof(*req));
    if (!req)
        return -1;
    req->w = w;
    req->wsi = wsi;
    req->method = meth;
    req->method_name = method_names[meth];
    req->content_length = -1;
    req->started = plt_now();
    req->path = strdup(uri);
    lws_get_peer_simple(wsi, req->addr, sizeof(req->addr));
    req->cookie = hdr_copy(wsi, WSI_TOKEN_HTTP_COOKIE);
    req->authorization = hdr_copy(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    req->origin = hdr_copy(wsi, WSI_TOKEN_ORIGIN);
    req->content_type = hdr_copy(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE);
    req->if_none_match = hdr_copy(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH);
    req->csrf_header = hdr_custom(wsi, "x-csrf-token:");
    req->sec_fetch_site = hdr_custom(wsi, "sec-fetch-site:");
    req->file_name = hdr_custom(wsi, "x-file-name:");
    char *cl = hdr_copy(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    if (cl) {
        char *e;
        long long v = strtoll(cl, &e, 10);
        req->content_length = (*e || v < 0) ? -2 : v;
        free(cl);
    }
    pss->req = req;
    if (!req->path || read_query(req, wsi) != 0) {
        pss->req = NULL;
        web_req_free(req);
        return -1;
    }
    web_sweep_arm(w);
    /* Into the pending list, for the request timeout. */
    req->next = w->pending;
    if (w->pending)
        w->pending->prev = req;
    w->pending = req;

    bool api = strncmp(req->path, "/api/", 5) == 0;
    bool upload = false;
    int64_t limit = w->cfg.max_body;
    if (api) {
        /* Upload routes take larger bodies; the route is known from the
         * path alone. */
        web_kv params[WEB_PARAMS_MAX];
        size_t np;
        bool known;
        if (strncmp(req->path, "/api/v1/", 8) == 0) {
            web_route *r = web_router_match(&w->router, req->method_name,
                                            req->path + 7, params, &np, &known);
            web_kv_free(params, np);
            if (r && (r->r.flags & PLT_HTTP_UPLOAD)) {
                limit = w->cfg.max_upload;
                upload = true;
            }
        }
    }
    if (req->content_length == -2 ||
        (method_has_body(meth) && meth != WEB_M_DELETE &&
         req->content_length < 0)) {
        pss->req = NULL;
        web_req_free(req);
        return refuse_now(w, wsi, 411, "length_required",
                          "a Content-Length header is required");
    }
    if (req->content_length > limit) {
        pss->req = NULL;
        web_req_free(req);
        return refuse_now(w, wsi, 413, "too_large",
                          "the request body is too large");
    }
    if (upload && req->content_length > 0) {
        /* Nobody may make the server write a file without being somebody:
         * the full checks come once the body is in. */
        if (!web_upload_allowed(w, req)) {
            pss->req = NULL;
            web_req_free(req);
            return refuse_now(w, wsi, 401, "unauthenticated",
                              "log in or use an API token first");
        }
        if (!(req->spool = web_spool_new(w, req))) {
            pss->req = NULL;
            web_req_free(req);
            return refuse_now(w, wsi, 503, "unavailable", "out of memory");
        }
        return 0; /* spooled to a file until BODY_COMPLETION */
    }
    if (req->content_length > 0) {
        req->body_cap = (size_t)req->content_length;
        req->body = malloc(req->body_cap + 1);
        if (!req->body) {
            pss->req = NULL;
            web_req_free(req);
            return refuse_now(w, wsi, 503, "unavailable", "out of memory");
        }
        return 0; /* wait for LWS_CALLBACK_HTTP_BODY_COMPLETION */
    }
    if (meth == WEB_M_POST && req->content_length == 0)
        return 0; /* lws calls BODY_COMPLETION for an empty POST */
    req->dispatched = true;
    if (api || strcmp(req->path, "/metrics") == 0)
        web_api_dispatch(w, req);
    else
        web_static_serve(w, req);
    return 0;
}

static int
on_body(plt_http_req *req, const void *in, size_t len)
{
    if (!req)
        return -1;
    if (len == 0)
        return 0; /* lws announces an empty POST body this way */
    if (req->spool) {
        if (web_spool_size(req->spool) + len > (uint64_t)req->content_length)
            return -1; /* more than announced */
        return web_spool_add(req->spool, in, len);
    }
    if (req->body_len + len > req->body_cap)
        return -1; /* more than announced */
    memcpy(req->body + req->body_len, in, len);
    req->body_len += len;
    return 0;
}

static int
on_body_done(web *w, plt_http_req *req)
{
    if (!req || req->dispatched)
        return 0;
    if (req->body)
        req->body[req->body_len] = '\0';
    req->dispatched = true;
    if (strncmp(req->path, "/api/", 5) == 0)
        web_api_dispatch(w, req);
    else
        web_req_error(req, 405, "method_not_allowed",
                      "static files are read-only");
    return 0;
}

static void
detach(web_pss *pss)
{
    plt_http_req *req = pss->req;
    if (!req)
        return;
    pss->req = NULL;
    req->wsi = NULL;
    /* Not dispatched yet (the client left while sending its body): nobody
     * else holds it. Dispatched and not answered: the handler holds it;
     * it is freed on its answer. */
    if (req->answered || !req->dispatched)
        web_req_free(req);
}

/* ------------------------------------------------------------------ */
/* The protocol callback */

static int
web_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
             void *in, size_t len)
{
    web *w = web_state;
    web_pss *pss = user;
    if (!w)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(w, wsi, pss, in);
    case LWS_CALLBACK_HTTP_BODY:
        return on_body(pss->req, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return on_body_done(w, pss->req);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return http_writeable(w, wsi, pss);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss)
            detach(pss);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return web_ws_filter(w, wsi, pss->sid, &pss->batch);
    case LWS_CALLBACK_ESTABLISHED:
        pss->conn = web_ws_open(w, wsi, pss->sid);
        if (pss->conn)
            pss->conn->batch = pss->batch;
        return pss->conn ? 0 : -1;
    case LWS_CALLBACK_RECEIVE:
        if (!pss->conn)
            return -1;
        web_ws_receive(pss->conn, in, len, lws_is_first_fragment(wsi),
                       lws_is_final_fragment(wsi));
        return pss->conn->kill ? -1 : 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!pss->conn)
            return -1;
        return web_ws_writeable(pss->conn);
    case LWS_CALLBACK_CLOSED:
        if (pss->conn) {
            web_ws_closed(pss->conn);
            pss->conn = NULL;
        }
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static struct lws_protocols web_protocols[] = {
    {"plateau", web_callback, sizeof(web_pss), WEB_RX_MAX, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

static void
lws_log_fn(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    plt_log(level == LLL_ERR    ? PLT_LOG_ERROR
            : level == LLL_WARN ? PLT_LOG_WARN
                                : PLT_LOG_DEBUG,
            "lws: %.*s", (int)n, line);
}

int
web_server_start(web *w)
{
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_fn);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    void *loops[1] = {plt_loop()};
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = loops;
    info.iface = w->cfg.bind;
    info.port = (int)w->cfg.port;
    info.protocols = web_protocols;
    info.vhost_name = "plateau";
    info.max_http_header_data = 8192;
    info.timeout_secs = 30;
    info.keepalive_timeout = 60;
    info.server_string = "Plateau";
    if (w->cfg.tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = w->cfg.tls_cert;
        info.ssl_private_key_filepath = w->cfg.tls_key;
    }
    w->ctx = lws_create_context(&info);
    if (!w->ctx) {
        plt_set_error("cannot serve HTTP on %s:%lld (address in use, "
                      "TLS files unreadable, or libwebsockets-evlib-uv "
                      "missing)",
                      w->cfg.bind, (long long)w->cfg.port);
        return PLT_EIO;
    }
    struct lws_vhost *vh = lws_get_vhost_by_name(w->ctx, "plateau");
    w->port = vh ? lws_get_vhost_listen_port(vh) : (int)w->cfg.port;
    return 0;
}

/* First destroy: from a uv callback, outside any lws callback. lws closes
 * its uv handles asynchronously; fini() completes the destruction. */
void
web_server_destroy1(web *w)
{
    if (w->ctx)
        lws_context_destroy(w->ctx);
}

void
web_server_destroy2(web *w)
{
    if (w->ctx) {
        lws_context_destroy(w->ctx);
        w->ctx = NULL;
    }
}
