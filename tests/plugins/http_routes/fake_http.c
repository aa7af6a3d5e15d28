/* SPDX-License-Identifier: MIT */
/*
 * The fake `http` provider for route tests (see fake_http.h): routes,
 * WebSocket types and forwards are recorded as registered; requests are
 * matched and dispatched like the web plugin does; replies and pushes are
 * kept for the test to read.
 */
#include "fake_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include <plateau/error.h>

#define MAX_REG 128
#define MAX_PARAMS 8

typedef struct push_rec {
    char *login;
    uint32_t roles;
    char *type;
    json_t *data;
} push_rec;

struct fake_http {
    plt_http_route routes[MAX_REG];
    size_t nroutes;
    plt_ws_type ws[MAX_REG];
    size_t nws;
    plt_http_forward fwd[MAX_REG];
    size_t nfwd;
    push_rec *pushes;
    size_t npushes, cap;
    char **audits;
    size_t naudits;
};

struct plt_http_req {
    fake_http *h;
    plt_http_principal p;
    char *method;
    char *names[MAX_PARAMS], *values[MAX_PARAMS];
    size_t nparams;
    char *query;
    json_t *body;
    char *raw;
    char *upload;
    fake_http_reply *out;
};

struct plt_ws_msg {
    plt_http_principal p;
    json_t *data;
    fake_http_reply *out;
};

static char *
dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ------------------------------------------------------------------ */
/* registration */

static int
f_route(void *impl, const plt_http_route *r)
{
    fake_http *h = impl;
    if (!r->method || !r->path || r->path[0] != '/')
        return PLT_EINVAL;
    for (size_t i = 0; i < h->nroutes; i++)
        if (!strcmp(h->routes[i].method, r->method) &&
            !strcmp(h->routes[i].path, r->path))
            return PLT_EEXIST;
    if (h->nroutes == MAX_REG)
        return PLT_ENOMEM;
    h->routes[h->nroutes++] = *r;
    return 0;
}

static int
f_ws_type(void *impl, const plt_ws_type *t)
{
    fake_http *h = impl;
    for (size_t i = 0; i < h->nws; i++)
        if (!strcmp(h->ws[i].type, t->type))
            return PLT_EEXIST;
    if (h->nws == MAX_REG || t->roles == 0)
        return PLT_EINVAL;
    h->ws[h->nws++] = *t;
    return 0;
}

static int
f_forward(void *impl, const plt_http_forward *f)
{
    fake_http *h = impl;
    if (h->nfwd == MAX_REG || !f->pattern)
        return PLT_EINVAL;
    h->fwd[h->nfwd++] = *f;
    return 0;
}

/* ------------------------------------------------------------------ */
/* requests */

static const plt_http_principal *
f_principal(void *impl, plt_http_req *req)
{
    (void)impl;
    return &req->p;
}

static const char *
f_method(void *impl, plt_http_req *req)
{
    (void)impl;
    return req->method;
}

static const char *
f_param(void *impl, plt_http_req *req, const char *name)
{
    (void)impl;
    for (size_t i = 0; i < req->nparams; i++)
        if (!strcmp(req->names[i], name))
            return req->values[i];
    return NULL;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* URL-decode in place. */
static void
url_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
        } else {
            *o++ = *s == '+' ? ' ' : *s;
        }
    }
    *o = 0;
}

/* The query values are decoded into a static buffer per call: tests read
 * them at once. The returned pointer stays valid until the next call. */
static const char *
f_query(void *impl, plt_http_req *req, const char *name)
{
    (void)impl;
    static char buf[1024];
    if (!req->query)
        return NULL;
    size_t nl = strlen(name);
    for (const char *p = req->query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > nl && !strncmp(p, name, nl) && p[nl] == '=') {
            snprintf(buf, sizeof(buf), "%.*s", (int)(len - nl - 1),
                     p + nl + 1);
            url_decode(buf);
            return buf;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static const char *
f_header(void *impl, plt_http_req *req, const char *name)
{
    (void)impl;
    (void)req;
    (void)name;
    return NULL;
}

static json_t *
f_body_json(void *impl, plt_http_req *req)
{
    (void)impl;
    return req->body;
}

static const void *
f_body(void *impl, plt_http_req *req, size_t *len)
{
    (void)impl;
    *len = req->raw ? strlen(req->raw) : 0;
    return req->raw;
}

static const char *
f_upload_path(void *impl, plt_http_req *req)
{
    (void)impl;
    return req->upload;
}

static const char *
f_upload_name(void *impl, plt_http_req *req)
{
    (void)impl;
    return req->upload ? "upload.csv" : NULL;
}

static void
req_free(plt_http_req *req)
{
    free(req->method);
    for (size_t i = 0; i < req->nparams; i++) {
        free(req->names[i]);
        free(req->values[i]);
    }
    free(req->query);
    json_decref(req->body);
    free(req->raw);
    if (req->upload)
        remove(req->upload);
    free(req->upload);
    free((char *)req->p.login);
    free(req);
}

static void
finish(plt_http_req *req, int status, json_t *body)
{
    fake_http_reply *o = req->out;
    o->answered = true;
    o->status = status;
    o->body = body;
    req_free(req);
}

static void
f_reply_json(void *impl, plt_http_req *req, int status, json_t *body)
{
    (void)impl;
    finish(req, status, body);
}

static json_t *
error_json(const char *code, const char *message)
{
    return json_pack("{s:{s:s, s:s}}", "error", "code", code, "message",
                     message ? message : "");
}

static void
f_reply_error(void *impl, plt_http_req *req, int status, const char *code,
              const char *message)
{
    (void)impl;
    finish(req, status, error_json(code, message));
}

static void
f_reply_bytes(void *impl, plt_http_req *req, int status, const char *ct,
              const void *data, size_t len, const char *filename)
{
    (void)impl;
    (void)filename;
    fake_http_reply *o = req->out;
    o->bytes = malloc(len + 1);
    if (o->bytes) {
        memcpy(o->bytes, data, len);
        o->bytes[len] = 0;
        o->len = len;
    }
    o->content_type = dup_or_null(ct);
    finish(req, status, NULL);
}

static void
f_reply_file(void *impl, plt_http_req *req, const char *path, const char *ct,
             const char *filename)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        f_reply_error(impl, req, 404, "not_found", path);
        return;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + n > cap) {
            cap = (len + n) * 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                break;
            buf = nb;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    f_reply_bytes(impl, req, 200, ct, buf ? buf : "", len, filename);
    free(buf);
}

static void
f_page_args(void *impl, plt_http_req *req, int64_t *offset, int64_t *limit)
{
    const char *o = f_query(impl, req, "offset");
    *offset = o ? strtoll(o, NULL, 10) : 0;
    const char *l = f_query(impl, req, "limit");
    *limit = l ? strtoll(l, NULL, 10) : 50;
    if (*offset < 0)
        *offset = 0;
    if (*limit <= 0 || *limit > 500)
        *limit = *limit <= 0 ? 50 : 500;
}

static void
f_reply_page(void *impl, plt_http_req *req, json_t *items, int64_t offset,
             int64_t limit, int64_t total)
{
    (void)impl;
    finish(req, 200,
           json_pack("{s:o, s:I, s:I, s:I}", "items", items, "offset", offset,
                     "limit", limit, "total", total));
}

/* ------------------------------------------------------------------ */
/* WebSocket and pushes */

static const plt_http_principal *
f_ws_principal(void *impl, plt_ws_msg *m)
{
    (void)impl;
    return &m->p;
}

static json_t *
f_ws_data(void *impl, plt_ws_msg *m)
{
    (void)impl;
    return m->data;
}

static void
ws_finish(plt_ws_msg *m, int status, json_t *body)
{
    m->out->answered = true;
    m->out->status = status;
    m->out->body = body;
    json_decref(m->data);
    free((char *)m->p.login);
    free(m);
}

static void
f_ws_reply(void *impl, plt_ws_msg *m, json_t *data)
{
    (void)impl;
    ws_finish(m, 200, data ? data : json_object());
}

static void
f_ws_reply_error(void *impl, plt_ws_msg *m, const char *code,
                 const char *message)
{
    (void)impl;
    ws_finish(m, 400, error_json(code, message));
}

static int
f_push(void *impl, const char *login, uint32_t roles, const char *type,
       json_t *data)
{
    fake_http *h = impl;
    if (h->npushes == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 64;
        push_rec *np = realloc(h->pushes, nc * sizeof(*np));
        if (!np) {
            json_decref(data);
            return 0;
        }
        h->pushes = np;
        h->cap = nc;
    }
    push_rec *p = &h->pushes[h->npushes++];
    p->login = dup_or_null(login);
    p->roles = roles;
    p->type = strdup(type);
    p->data = data ? data : json_object();
    return 1;
}

static void
f_audit(void *impl, plt_http_req *req, const char *action, const char *target,
        const char *detail)
{
    (void)req;
    (void)target;
    (void)detail;
    fake_http *h = impl;
    char **na = realloc(h->audits, (h->naudits + 1) * sizeof(char *));
    if (!na)
        return;
    h->audits = na;
    h->audits[h->naudits++] = strdup(action);
}

/* /metrics: the sources registered, called by fake_http_scrape(). */
struct plt_http_metrics {
    char *text;
    size_t len;
};

#define FAKE_METRIC_SOURCES 16
static struct {
    plt_http_metrics_fn fn;
    void *arg;
} msources[FAKE_METRIC_SOURCES];
static size_t nmsources;

static int
f_metrics(void *impl, plt_http_metrics_fn fn, void *arg)
{
    (void)impl;
    for (size_t i = 0; i < nmsources; i++)
        if (msources[i].fn == fn && msources[i].arg == arg)
            return 0;
    if (nmsources == FAKE_METRIC_SOURCES)
        return PLT_ENOMEM;
    msources[nmsources].fn = fn;
    msources[nmsources++].arg = arg;
    return 0;
}

static void
f_metric(void *impl, plt_http_metrics *m, const char *name, const char *type,
         const char *help, const char *labels, double value)
{
    (void)impl;
    (void)type;
    (void)help;
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s%s%s%s %.17g\n", name,
                     labels ? "{" : "", labels ? labels : "",
                     labels ? "}" : "", value);
    char *t = n > 0 ? realloc(m->text, m->len + (size_t)n + 1) : NULL;
    if (!t)
        return;
    memcpy(t + m->len, line, (size_t)n + 1);
    m->text = t;
    m->len += (size_t)n;
}

char *
fake_http_scrape(fake_http *h)
{
    (void)h;
    plt_http_metrics m = {.text = strdup(""), .len = 0};
    for (size_t i = 0; m.text && i < nmsources; i++)
        msources[i].fn(msources[i].arg, &m);
    return m.text;
}

static const plt_http_vt fake_vt = {
    .size = sizeof(plt_http_vt),
    .route = f_route,
    .ws_type = f_ws_type,
    .forward = f_forward,
    .principal = f_principal,
    .method = f_method,
    .param = f_param,
    .query = f_query,
    .header = f_header,
    .body_json = f_body_json,
    .body = f_body,
    .upload_path = f_upload_path,
    .upload_name = f_upload_name,
    .reply_json = f_reply_json,
    .reply_error = f_reply_error,
    .reply_bytes = f_reply_bytes,
    .reply_file = f_reply_file,
    .reply_page = f_reply_page,
    .page_args = f_page_args,
    .ws_principal = f_ws_principal,
    .ws_data = f_ws_data,
    .ws_reply = f_ws_reply,
    .ws_reply_error = f_ws_reply_error,
    .push = f_push,
    .audit = f_audit,
    .metrics = f_metrics,
    .metric = f_metric,
};

/* ------------------------------------------------------------------ */
/* the test's side */

int
fake_http_new(plt_fake_host *fh, fake_http **out)
{
    fake_http *h = calloc(1, sizeof(*h));
    if (!h)
        return PLT_ENOMEM;
    int rc = plt_fake_host_provide(fh, PLT_HTTP_NAME, PLT_HTTP_MAJOR,
                                   PLT_HTTP_MINOR, &fake_vt, h);
    if (rc != 0) {
        free(h);
        return rc;
    }
    *out = h;
    return 0;
}

void
fake_http_reply_clear(fake_http_reply *r)
{
    json_decref(r->body);
    free(r->bytes);
    free(r->content_type);
    memset(r, 0, sizeof(*r));
}

void
fake_http_free(fake_http *h)
{
    if (!h)
        return;
    nmsources = 0; /* the sources belong to plugins now unloaded */
    for (size_t i = 0; i < h->npushes; i++) {
        free(h->pushes[i].login);
        free(h->pushes[i].type);
        json_decref(h->pushes[i].data);
    }
    free(h->pushes);
    for (size_t i = 0; i < h->naudits; i++)
        free(h->audits[i]);
    free(h->audits);
    free(h);
}

/* Does @p path match route @p pattern? Fills the request's parameters and
 * returns how many there were (-1: no match). */
static int
match(const char *pattern, const char *path, plt_http_req *req)
{
    int nparams = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return -1;
        p++;
        s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p);
        size_t sl = se ? (size_t)(se - s) : strlen(s);
        if (pl > 2 && p[0] == '{' && p[pl - 1] == '}') {
            if (sl == 0 || nparams == MAX_PARAMS)
                return -1;
            if (req) {
                req->names[req->nparams] = strndup(p + 1, pl - 2);
                req->values[req->nparams] = strndup(s, sl);
                url_decode(req->values[req->nparams]);
                req->nparams++;
            }
            nparams++;
        } else if (pl != sl || strncmp(p, s, pl) != 0) {
            return -1;
        }
        p += pl;
        s += sl;
    }
    return (*p || *s) ? -1 : nparams;
}

static plt_http_principal
principal_of(const char *login, int32_t role)
{
    plt_http_principal p = {.size = sizeof(p),
                            .login = dup_or_null(login),
                            .role = login ? role : 0,
                            .name = NULL,
                            .session_id = login ? "s1" : NULL,
                            .remote_addr = "127.0.0.1",
                            .lang = "fr"};
    return p;
}

int
fake_http_request(fake_http *h, const char *method, const char *path,
                  const char *login, int32_t role, const char *body,
                  const char *upload, fake_http_reply *out)
{
    memset(out, 0, sizeof(*out));
    char *p = strdup(path);
    char *q = strchr(p, '?');
    if (q)
        *q++ = 0;
    const plt_http_route *best = NULL;
    int best_n = 1000;
    for (size_t i = 0; i < h->nroutes; i++) {
        if (strcmp(h->routes[i].method, method) != 0)
            continue;
        int n = match(h->routes[i].path, p, NULL);
        if (n >= 0 && n < best_n) {
            best = &h->routes[i];
            best_n = n;
        }
    }
    if (!best) {
        free(p);
        out->answered = true;
        out->status = 404;
        out->body = error_json("not_found", path);
        return PLT_ENOENT;
    }
    if (best->roles != PLT_HTTP_PUBLIC &&
        (!login || !(best->roles & PLT_HTTP_ROLE_BIT(role)))) {
        free(p);
        out->answered = true;
        out->status = login ? 403 : 401;
        out->body = error_json(login ? "forbidden" : "unauthenticated", path);
        return 0;
    }
    plt_http_req *req = calloc(1, sizeof(*req));
    req->h = h;
    req->p = principal_of(login, role);
    req->method = strdup(method);
    req->out = out;
    req->query = q ? strdup(q) : NULL;
    match(best->path, p, req);
    free(p);
    if (body) {
        req->raw = strdup(body);
        req->body = json_loads(body, 0, NULL);
    }
    if (upload && (best->flags & PLT_HTTP_UPLOAD)) {
        /* A copy, as the web plugin streams the body to a file of its
         * own and removes it after the reply. */
        char tmp[] = "/tmp/fake_http_upload_XXXXXX";
        int fd = mkstemp(tmp);
        FILE *in = fopen(upload, "rb"), *o = fd >= 0 ? fdopen(fd, "wb") : NULL;
        char buf[4096];
        size_t n;
        while (in && o && (n = fread(buf, 1, sizeof(buf), in)) > 0)
            fwrite(buf, 1, n, o);
        if (in)
            fclose(in);
        if (o)
            fclose(o);
        req->upload = strdup(tmp);
    }
    best->fn(best->arg, req);
    return 0;
}

int
fake_http_ws(fake_http *h, const char *type, const char *login, int32_t role,
             const char *data, fake_http_reply *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < h->nws; i++) {
        if (strcmp(h->ws[i].type, type) != 0)
            continue;
        if (!(h->ws[i].roles & PLT_HTTP_ROLE_BIT(role))) {
            out->answered = true;
            out->status = 400;
            out->body = error_json("forbidden", type);
            return 0;
        }
        plt_ws_msg *m = calloc(1, sizeof(*m));
        m->p = principal_of(login, role);
        m->data = data ? json_loads(data, 0, NULL) : NULL;
        if (!m->data)
            m->data = json_object();
        m->out = out;
        h->ws[i].fn(h->ws[i].arg, m);
        return 0;
    }
    out->answered = true;
    out->status = 400;
    out->body = error_json("unknown_type", type);
    return PLT_ENOENT;
}

size_t
fake_http_route_count(const fake_http *h)
{
    return h->nroutes;
}

const plt_http_forward *
fake_http_forward(const fake_http *h, const char *pattern)
{
    for (size_t i = 0; i < h->nfwd; i++)
        if (!strcmp(h->fwd[i].pattern, pattern))
            return &h->fwd[i];
    return NULL;
}

static bool
push_match(const push_rec *p, const char *login, const char *type)
{
    return (!type || !strcmp(p->type, type)) &&
           (!login || (p->login && !strcmp(p->login, login)));
}

size_t
fake_http_push_count(const fake_http *h, const char *login, const char *type)
{
    size_t n = 0;
    for (size_t i = 0; i < h->npushes; i++)
        n += push_match(&h->pushes[i], login, type);
    return n;
}

json_t *
fake_http_push_last(const fake_http *h, const char *login, const char *type)
{
    for (size_t i = h->npushes; i-- > 0;)
        if (push_match(&h->pushes[i], login, type))
            return h->pushes[i].data;
    return NULL;
}

size_t
fake_http_audit_count(const fake_http *h, const char *action)
{
    size_t n = 0;
    for (size_t i = 0; i < h->naudits; i++)
        n += !strcmp(h->audits[i], action);
    return n;
}

int
fake_http_add_so(plt_fake_host *fh, const char *name, const char *yaml)
{
    const char *dir = getenv("PLATEAU_PLUGIN_DIR");
    char so[4096];
    snprintf(so, sizeof(so), "%s/%s.so", dir ? dir : ".", name);
    int rc = plt_fake_host_add_so(fh, so, yaml, NULL);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", so, plt_fake_host_last_error(fh));
    return rc;
}

static void
guard_tick(uv_timer_t *t)
{
    (void)t;
}

bool
fake_http_run_until(plt_fake_host *fh, bool (*done)(void *arg), void *arg)
{
    uv_loop_t *loop = plt_fake_host_loop(fh);
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    for (int i = 0; i < 4000 && !done(arg); i++) {
        plt_fake_host_run_until_idle(fh);
        if (done(arg))
            break;
        /* Wake up at least every 5 ms to see what other threads posted. */
        uv_timer_start(&guard, guard_tick, 5, 0);
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return done(arg);
}
