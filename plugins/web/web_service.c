/* SPDX-License-Identifier: MIT */
/*
 * The `http` service: what feature plugins call to put routes and
 * messages in front of the browser, and the pipeline every API request
 * goes through before a handler sees it:
 *
 *   rate limit per address -> route lookup (404/405) -> who is asking
 *   (session cookie, else bearer token) -> role check (401/403) ->
 *   forced password change gate -> CSRF token and cross-site check on
 *   state changes -> body checks (JSON type and syntax, upload to a
 *   temporary file off the loop) -> handler
 *
 * so that a handler never has to think about any of it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "web_int.h"

static bool
is_state_change(int m)
{
    return m != WEB_M_GET && m != WEB_M_OPTIONS;
}

static void
fill_principal(plt_http_req *req, const web_session *ss, const web_token *tk)
{
    plt_http_principal *p = &req->pr;
    memset(p, 0, sizeof(*p));
    p->size = sizeof(*p);
    p->remote_addr = req->addr;
    if (ss) {
        snprintf(req->pr_login, sizeof(req->pr_login), "%s", ss->login);
        snprintf(req->pr_name, sizeof(req->pr_name), "%s", ss->name);
        snprintf(req->pr_sid, sizeof(req->pr_sid), "%s", ss->id);
        snprintf(req->pr_lang, sizeof(req->pr_lang), "%s", ss->lang);
        p->login = req->pr_login;
        p->name = req->pr_name;
        p->session_id = req->pr_sid;
        p->lang = req->pr_lang;
        p->role = ss->role;
    } else if (tk) {
        snprintf(req->pr_login, sizeof(req->pr_login), "token:%s", tk->name);
        snprintf(req->pr_name, sizeof(req->pr_name), "%s", tk->name);
        snprintf(req->pr_lang, sizeof(req->pr_lang), "en");
        p->login = req->pr_login;
        p->name = req->pr_name;
        p->lang = req->pr_lang;
        p->role = tk->role;
        p->via_token = true;
    } else {
        snprintf(req->pr_lang, sizeof(req->pr_lang), "fr");
        p->lang = req->pr_lang;
    }
}

static bool
is_json_type(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* ---- uploads: spooled to a file as they arrive (web_stream.c) ---- */

bool
web_upload_allowed(web *w, plt_http_req *req)
{
    if (req->authorization &&
        strncasecmp(req->authorization, "Bearer ", 7) == 0)
        return web_tokens_check(w, req->authorization + 7) != NULL;
    return web_session_from_cookie(w, req->cookie, false) != NULL;
}

static void
upload_spooled(plt_http_req *req, int status, const char *path)
{
    if (status != 0) {
        web_req_error(req, 503, "unavailable", "cannot store the upload");
        return;
    }
    req->upload_path = strdup(path);
    if (!req->upload_path) {
        web_req_error(req, 503, "unavailable", "out of memory");
        return;
    }
    req->route->r.fn(req->route->r.arg, req);
}

static void
call_handler(web *w, plt_http_req *req)
{
    (void)w;
    if (!(req->route->r.flags & PLT_HTTP_UPLOAD) || !req->spool) {
        req->route->r.fn(req->route->r.arg, req);
        return;
    }
    if (req->file_name && web_urldecode(req->file_name, false) != 0) {
        free(req->file_name);
        req->file_name = NULL;
    }
    web_spool_complete(req->spool, upload_spooled);
}

void
web_api_dispatch(web *w, plt_http_req *req)
{
    int64_t now = plt_now();
    int64_t wait = web_rl_take(&w->rl_all, req->addr, now);
    if (wait > 0) {
        char h[64];
        snprintf(h, sizeof(h), "Retry-After: %lld\r\n",
                 (long long)((wait + 999) / 1000));
        w->ctr.rate_limited++;
        json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", "rate_limited",
                              "message", "too many requests; slow down");
        web_req_json(req, 429, e, h);
        return;
    }
    if (strcmp(req->path, "/metrics") == 0) {
        web_metrics_serve(w, req);
        return;
    }
    if (strncmp(req->path, "/api/v1/", 8) != 0) {
        web_req_error(req, 404, "not_found", "no such API");
        return;
    }
    const char *sub = req->path + 7;
    if (strcmp(sub, "/ws") == 0) {
        web_req_error(req, 426, "upgrade_required",
                      "open a WebSocket on this address");
        return;
    }
    bool known;
    web_route *r = web_router_match(&w->router, req->method_name, sub,
                                    req->params, &req->nparams, &known);
    if (!r) {
        if (known)
            web_req_error(req, 405, "method_not_allowed",
                          "this method is not allowed here");
        else
            web_req_error(req, 404, "not_found", "no such route");
        return;
    }
    req->route = r;

    /* Who is asking: a session cookie first, else a bearer token. */
    web_session *ss = web_session_from_cookie(w, req->cookie, true);
    const web_token *tk = NULL;
    if (!ss && req->authorization) {
        if (strncasecmp(req->authorization, "Bearer ", 7) == 0)
            tk = web_tokens_check(w, req->authorization + 7);
        if (!tk) {
            web_req_error(req, 401, "invalid_token",
                          "the API token is not valid");
            return;
        }
    }
    req->session_hint = ss;
    fill_principal(req, ss, tk);

    if (r->r.roles != PLT_HTTP_PUBLIC) {
        if (!ss && !tk) {
            web_req_error(req, 401, "unauthenticated", "log in first");
            return;
        }
        if (tk && !(r->r.flags & PLT_HTTP_TOKEN_OK)) {
            w->ctr.forbidden++;
            web_req_error(req, 403, "token_not_allowed",
                          "this route is not open to API tokens");
            return;
        }
        if (!(r->r.roles & PLT_HTTP_ROLE_BIT(req->pr.role))) {
            w->ctr.forbidden++;
            web_req_error(req, 403, "forbidden",
                          "your role may not do this");
            return;
        }
        if (ss && ss->must_change &&
            !(r->builtin && strncmp(r->r.path, "/session", 8) == 0)) {
            w->ctr.forbidden++;
            web_req_error(req, 403, "password_change_required",
                          "change your password first");
            return;
        }
    }

    if (is_state_change(req->method)) {
        /* A browser says where a request comes from; a request made by
         * another site is refused whatever else it carries. */
        const char *host = web_req_header(req, "host");
        if ((req->origin && !web_origin_allowed(w, req->origin, host)) ||
            (req->sec_fetch_site &&
             strcmp(req->sec_fetch_site, "cross-site") == 0)) {
            w->ctr.csrf_refused++;
            web_req_error(req, 403, "csrf", "cross-site request refused");
            return;
        }
        if (ss && !(r->r.flags & PLT_HTTP_NO_CSRF) &&
            (!req->csrf_header || strlen(req->csrf_header) != WEB_ID_LEN ||
             sodium_memcmp(req->csrf_header, ss->csrf, WEB_ID_LEN) != 0)) {
            w->ctr.csrf_refused++;
            web_req_error(req, 403, "csrf",
                          "missing or wrong X-CSRF-Token header");
            return;
        }
    }

    if (req->body_len > 0 && !(r->r.flags & PLT_HTTP_UPLOAD)) {
        if (!is_json_type(req->content_type)) {
            web_req_error(req, 415, "unsupported_media_type",
                          "send JSON with Content-Type: application/json");
            return;
        }
        json_error_t err;
        req->json = json_loadb(req->body, req->body_len,
                               JSON_REJECT_DUPLICATES, &err);
        if (!req->json) {
            char msg[200];
            snprintf(msg, sizeof(msg), "invalid JSON at line %d: %s",
                     err.line, err.text);
            web_req_error(req, 400, "invalid_json", msg);
            return;
        }
    }
    req->session_hint = ss;
    call_handler(w, req);
    /* The session may end inside the handler (logout): never use the
     * hint after the call. */
}

/* ------------------------------------------------------------------ */
/* The vtable */

static int
svc_route(void *impl, const plt_http_route *r)
{
    web *w = impl;
    return web_router_add(&w->router, r, NULL, false);
}

static int
svc_ws_type(void *impl, const plt_ws_type *t)
{
    web *w = impl;
    return web_router_add_type(&w->router, t, NULL);
}

static int
svc_forward(void *impl, const plt_http_forward *f)
{
    return web_ws_forward_add(impl, f, NULL);
}

static const plt_http_principal *
svc_principal(void *impl, plt_http_req *req)
{
    (void)impl;
    return &req->pr;
}

static const char *
svc_method(void *impl, plt_http_req *req)
{
    (void)impl;
    return req->method_name;
}

static const char *
svc_param(void *impl, plt_http_req *req, const char *name)
{
    (void)impl;
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].k, name) == 0)
            return req->params[i].v;
    return NULL;
}

static const char *
svc_query(void *impl, plt_http_req *req, const char *name)
{
    (void)impl;
    return web_req_query(req, name);
}

static const char *
svc_header(void *impl, plt_http_req *req, const char *name)
{
    (void)impl;
    return web_req_header(req, name);
}

static json_t *
svc_body_json(void *impl, plt_http_req *req)
{
    (void)impl;
    return req->json;
}

static const void *
svc_body(void *impl, plt_http_req *req, size_t *len)
{
    (void)impl;
    if (len)
        *len = req->body_len;
    return req->body_len ? req->body : NULL;
}

static const char *
svc_upload_path(void *impl, plt_http_req *req)
{
    (void)impl;
    return req->upload_path;
}

static const char *
svc_upload_name(void *impl, plt_http_req *req)
{
    (void)impl;
    return req->file_name;
}

static void
svc_reply_json(void *impl, plt_http_req *req, int status, json_t *body)
{
    (void)impl;
    web_req_json(req, status, body, NULL);
}

static void
svc_reply_error(void *impl, plt_http_req *req, int status, const char *code,
                const char *message)
{
    (void)impl;
    web_req_error(req, status, code, message);
}

static void
svc_reply_bytes(void *impl, plt_http_req *req, int status, const char *ctype,
                const void *data, size_t len, const char *filename)
{
    (void)impl;
    char *copy = malloc(len + 1);
    if (!copy) {
        web_req_error(req, 503, "unavailable", "out of memory");
        return;
    }
    if (len)
        memcpy(copy, data, len);
    char hdr[300] = "";
    if (filename) {
        char safe[200];
        snprintf(safe, sizeof(safe), "%s", filename);
        for (char *c = safe; *c; c++)
            if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20 ||
                (unsigned char)*c >= 0x7f)
                *c = '_';
        snprintf(hdr, sizeof(hdr),
                 "Content-Disposition: attachment; filename=\"%s\"\r\n", safe);
    }
    web_req_respond(req, status, ctype ? ctype : "application/octet-stream",
                    copy, len, filename ? hdr : NULL);
}

static void
svc_reply_file(void *impl, plt_http_req *req, const char *path,
               const char *ctype, const char *filename)
{
    web_file_reply(impl, req, path, ctype, filename);
}

static void
svc_reply_page(void *impl, plt_http_req *req, json_t *items, int64_t offset,
               int64_t limit, int64_t total)
{
    (void)impl;
    if (!json_is_array(items)) {
        json_decref(items);
        web_req_error(req, 500, "internal", "a page must hold an array");
        return;
    }
    json_t *o = json_pack("{s:o,s:I,s:I,s:I}", "items", items, "offset",
                          (json_int_t)offset, "limit", (json_int_t)limit,
                          "total", (json_int_t)total);
    web_req_json(req, 200, o, NULL);
}

static void
svc_page_args(void *impl, plt_http_req *req, int64_t *offset, int64_t *limit)
{
    (void)impl;
    web_req_page_args(req, offset, limit);
}

static const plt_http_principal *
svc_ws_principal(void *impl, plt_ws_msg *m)
{
    (void)impl;
    return &m->pr;
}

static json_t *
svc_ws_data(void *impl, plt_ws_msg *m)
{
    (void)impl;
    return m->data;
}

static void
svc_ws_reply(void *impl, plt_ws_msg *m, json_t *data)
{
    (void)impl;
    web_ws_msg_reply(m, data ? data : json_object(), NULL, NULL);
}

static void
svc_ws_reply_error(void *impl, plt_ws_msg *m, const char *code,
                   const char *message)
{
    (void)impl;
    web_ws_msg_reply(m, NULL, code ? code : "error", message ? message : "");
}

static int
svc_push(void *impl, const char *login, uint32_t roles, const char *type,
         json_t *data)
{
    web *w = impl;
    if (!type) {
        json_decref(data);
        return 0;
    }
    json_t *o = json_pack("{s:s,s:o}", "type", type, "data",
                          data ? data : json_object());
    web_msg *m = o ? web_msg_json(o) : NULL;
    json_decref(o);
    if (!m)
        return 0;
    int n = web_ws_fanout(w, login, roles, m);
    web_msg_unref(m);
    return n;
}

static void
audit_done(void *arg, int status, const char *msg)
{
    web *w = arg;
    if (status != 0)
        plt_log_err(PLT_LOG_WARN, status, "audit entry not written: %s",
                    msg ? msg : "");
    web_call_end(w);
}

static void
svc_audit(void *impl, plt_http_req *req, const char *action,
          const char *target, const char *detail)
{
    web *w = impl;
    if (!w->users || !action)
        return;
    char actor[96];
    snprintf(actor, sizeof(actor), "%s%s",
             req->pr.via_token ? "" : "user:",
             req->pr.login ? req->pr.login : "anonymous");
    if (w->users->audit(w->users_impl, actor, action, target, detail,
                        req->addr, audit_done, w) == 0)
        web_call_begin(w);
}

static int
svc_metrics(void *impl, plt_http_metrics_fn fn, void *arg)
{
    web *w = impl;
    if (!fn)
        return PLT_EINVAL;
    /* A plugin registers from each start(): keep one source. */
    for (size_t i = 0; i < w->nmsrc; i++)
        if (w->msrc[i].fn == fn && w->msrc[i].arg == arg)
            return 0;
    web_metric_src *n = realloc(w->msrc, (w->nmsrc + 1) * sizeof(*n));
    if (!n)
        return PLT_ENOMEM;
    w->msrc = n;
    n[w->nmsrc].fn = fn;
    n[w->nmsrc].arg = arg;
    n[w->nmsrc].owner[0] = '\0';
    w->nmsrc++;
    return 0;
}

const plt_http_vt web_http_vtable = {
    .size = sizeof(plt_http_vt),
    .route = svc_route,
    .ws_type = svc_ws_type,
    .forward = svc_forward,
    .principal = svc_principal,
    .method = svc_method,
    .param = svc_param,
    .query = svc_query,
    .header = svc_header,
    .body_json = svc_body_json,
    .body = svc_body,
    .upload_path = svc_upload_path,
    .upload_name = svc_upload_name,
    .reply_json = svc_reply_json,
    .reply_error = svc_reply_error,
    .reply_bytes = svc_reply_bytes,
    .reply_file = svc_reply_file,
    .reply_page = svc_reply_page,
    .page_args = svc_page_args,
    .ws_principal = svc_ws_principal,
    .ws_data = svc_ws_data,
    .ws_reply = svc_ws_reply,
    .ws_reply_error = svc_ws_reply_error,
    .push = svc_push,
    .audit = svc_audit,
    .metrics = svc_metrics,
    .metric = web_metric_add,
};
