/* SPDX-License-Identifier: MIT */
/*
 * The tables of REST routes and WebSocket message types that plugins
 * register through the `http` service, how a request path finds its
 * route, and the OpenAPI description generated from them.
 *
 * Matching is segment by segment. A literal segment beats a `{param}` at
 * the same position, so "/campaigns/new" wins over "/campaigns/{id}"
 * whatever the registration order; among equals the first registered
 * wins (registering the same method and path twice is refused).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web_int.h"

static const char *const methods[] = {"GET", "POST", "PUT", "PATCH",
                                      "DELETE", NULL};

void
web_router_init(web_router *rt)
{
    memset(rt, 0, sizeof(*rt));
}

static void
route_free(web_route *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nsegs; i++)
        free(r->segs[i]);
    free(r->segs);
    free((char *)r->r.method);
    free((char *)r->r.path);
    free((char *)r->r.summary);
    free(r);
}

void
web_router_free(web_router *rt)
{
    for (size_t i = 0; i < rt->nroutes; i++)
        route_free(rt->routes[i]);
    free(rt->routes);
    for (size_t i = 0; i < rt->ntypes; i++) {
        free((char *)rt->types[i]->t.type);
        free((char *)rt->types[i]->t.summary);
        free(rt->types[i]);
    }
    free(rt->types);
    memset(rt, 0, sizeof(*rt));
}

static bool
seg_is_param(const char *s)
{
    size_t n = strlen(s);
    return n >= 3 && s[0] == '{' && s[n - 1] == '}';
}

static bool
path_valid(const char *p)
{
    if (!p || p[0] != '/' || strlen(p) > 256)
        return false;
    for (const char *c = p; *c; c++) {
        unsigned char ch = (unsigned char)*c;
        if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' || ch == '%')
            return false;
        if (ch == '/' && (c[1] == '/' || (c[1] == '\0' && c != p)))
            return false;
    }
    return true;
}

/* Split "/a/{b}/c" into its segments ("" for "/"). */
static int
split(const char *path, char ***out, size_t *n)
{
    size_t cap = 1;
    for (const char *c = path; *c; c++)
        if (*c == '/')
            cap++;
    char **segs = calloc(cap, sizeof(*segs));
    if (!segs)
        return PLT_ENOMEM;
    size_t k = 0;
    const char *p = path + 1;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        segs[k] = strndup(p, len);
        if (!segs[k]) {
            for (size_t i = 0; i < k; i++)
                free(segs[i]);
            free(segs);
            return PLT_ENOMEM;
        }
        k++;
        if (!e)
            break;
        p = e + 1;
    }
    *out = segs;
    *n = k;
    return 0;
}

int
web_router_add(web_router *rt, const plt_http_route *r, const char *owner,
               bool builtin)
{
    if (!r || r->size < offsetof(plt_http_route, summary) || !r->fn ||
        !r->method || !path_valid(r->path))
        return PLT_EINVAL;
    bool mok = false;
    for (size_t i = 0; methods[i]; i++)
        mok |= strcmp(methods[i], r->method) == 0;
    if (!mok)
        return PLT_EINVAL;
    if (r->roles & ~(uint32_t)PLT_HTTP_ANY_USER)
        return PLT_EINVAL;
    for (size_t i = 0; i < rt->nroutes; i++) {
        if (strcmp(rt->routes[i]->r.method, r->method) == 0 &&
            strcmp(rt->routes[i]->r.path, r->path) == 0)
            return PLT_EEXIST;
    }
    if (rt->nroutes == rt->cap) {
        size_t cap = rt->cap ? rt->cap * 2 : 32;
        web_route **n = realloc(rt->routes, cap * sizeof(*n));
        if (!n)
            return PLT_ENOMEM;
        rt->routes = n;
        rt->cap = cap;
    }
    web_route *wr = calloc(1, sizeof(*wr));
    if (!wr)
        return PLT_ENOMEM;
    memcpy(&wr->r, r, r->size < sizeof(wr->r) ? r->size : sizeof(wr->r));
    wr->r.size = sizeof(wr->r);
    wr->r.method = strdup(r->method);
    wr->r.path = strdup(r->path);
    const char *summary =
        r->size >= sizeof(plt_http_route) && r->summary ? r->summary : "";
    wr->r.summary = strdup(summary);
    wr->builtin = builtin;
    snprintf(wr->owner, sizeof(wr->owner), "%s", owner ? owner : "");
    if (!wr->r.method || !wr->r.path || !wr->r.summary ||
        split(r->path, &wr->segs, &wr->nsegs) != 0) {
        route_free(wr);
        return PLT_ENOMEM;
    }
    for (size_t i = 0; i < wr->nsegs; i++)
        if (seg_is_param(wr->segs[i]))
            wr->nparams++;
    if (wr->nparams > WEB_PARAMS_MAX) {
        route_free(wr);
        return PLT_EINVAL;
    }
    rt->routes[rt->nroutes++] = wr;
    return 0;
}

int
web_router_add_type(web_router *rt, const plt_ws_type *t, const char *owner)
{
    if (!t || t->size < offsetof(plt_ws_type, summary) || !t->fn ||
        !t->type || !*t->type || strlen(t->type) >= 64 ||
        t->roles == PLT_HTTP_PUBLIC ||
        (t->roles & ~(uint32_t)PLT_HTTP_ANY_USER))
        return PLT_EINVAL;
    /* Names the web plugin answers itself. */
    if (strcmp(t->type, "ping") == 0 || strcmp(t->type, "reply") == 0 ||
        strcmp(t->type, "hello") == 0 || strcmp(t->type, "bye") == 0)
        return PLT_EEXIST;
    if (web_router_type(rt, t->type))
        return PLT_EEXIST;
    if (rt->ntypes == rt->tcap) {
        size_t cap = rt->tcap ? rt->tcap * 2 : 32;
        web_wstype **n = realloc(rt->types, cap * sizeof(*n));
        if (!n)
            return PLT_ENOMEM;
        rt->types = n;
        rt->tcap = cap;
    }
    web_wstype *wt = calloc(1, sizeof(*wt));
    if (!wt)
        return PLT_ENOMEM;
    memcpy(&wt->t, t, t->size < sizeof(wt->t) ? t->size : sizeof(wt->t));
    wt->t.size = sizeof(wt->t);
    wt->t.type = strdup(t->type);
    wt->t.summary = strdup(
        t->size >= sizeof(plt_ws_type) && t->summary ? t->summary : "");
    snprintf(wt->owner, sizeof(wt->owner), "%s", owner ? owner : "");
    if (!wt->t.type || !wt->t.summary) {
        free((char *)wt->t.type);
        free((char *)wt->t.summary);
        free(wt);
        return PLT_ENOMEM;
    }
    rt->types[rt->ntypes++] = wt;
    return 0;
}

web_wstype *
web_router_type(web_router *rt, const char *type)
{
    for (size_t i = 0; i < rt->ntypes; i++)
        if (strcmp(rt->types[i]->t.type, type) == 0)
            return rt->types[i];
    return NULL;
}

/* Score of a match: one bit per literal segment, most significant first,
 * so a literal earlier in the path outranks parameters after it. -1 when
 * it does not match. */
static int64_t
match_score(const web_route *r, char **segs, size_t nsegs)
{
    if (r->nsegs != nsegs)
        return -1;
    int64_t score = 0;
    for (size_t i = 0; i < nsegs; i++) {
        score <<= 1;
        if (seg_is_param(r->segs[i])) {
            if (!segs[i][0])
                return -1;
            continue;
        }
        if (strcmp(r->segs[i], segs[i]) != 0)
            return -1;
        score |= 1;
    }
    return score;
}

web_route *
web_router_match(web_router *rt, const char *method, const char *path,
                 web_kv *params, size_t *nparams, bool *path_known)
{
    *nparams = 0;
    *path_known = false;
    char **segs;
    size_t nsegs;
    if (!path || path[0] != '/' || split(path, &segs, &nsegs) != 0)
        return NULL;
    web_route *best = NULL;
    int64_t best_score = -1;
    for (size_t i = 0; i < rt->nroutes; i++) {
        int64_t s = match_score(rt->routes[i], segs, nsegs);
        if (s < 0)
            continue;
        *path_known = true;
        if (strcmp(rt->routes[i]->r.method, method) != 0)
            continue;
        if (s > best_score) {
            best = rt->routes[i];
            best_score = s;
        }
    }
    if (best) {
        for (size_t i = 0; i < nsegs; i++) {
            if (!seg_is_param(best->segs[i]))
                continue;
            const char *name = best->segs[i] + 1;
            params[*nparams].k = strndup(name, strlen(name) - 1);
            params[*nparams].v = strdup(segs[i]);
            (*nparams)++;
            /* libwebsockets has already decoded the path. */
            if (!params[*nparams - 1].k || !params[*nparams - 1].v) {
                web_kv_free(params, *nparams);
                *nparams = 0;
                best = NULL;
                break;
            }
        }
    }
    for (size_t i = 0; i < nsegs; i++)
        free(segs[i]);
    free(segs);
    return best;
}

static json_t *
roles_json(uint32_t roles)
{
    json_t *a = json_array();
    if (roles == PLT_HTTP_PUBLIC) {
        json_array_append_new(a, json_string("public"));
        return a;
    }
    for (int32_t r = PLT_ROLE_ADMIN; r <= PLT_ROLE_AGENT; r++)
        if (roles & PLT_HTTP_ROLE_BIT(r))
            json_array_append_new(a, json_string(plt_role_name(r)));
    return a;
}

json_t *
web_router_openapi(web_router *rt, const char *version)
{
    json_t *paths = json_object();
    for (size_t i = 0; i < rt->nroutes; i++) {
        const web_route *r = rt->routes[i];
        json_t *item = json_object_get(paths, r->r.path);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, r->r.path, item);
        }
        json_t *op = json_object();
        json_object_set_new(op, "summary", json_string(r->r.summary));
        char opid[320];
        snprintf(opid, sizeof(opid), "%s %s", r->r.method, r->r.path);
        json_object_set_new(op, "operationId", json_string(opid));
        /* Tagged by the first path segment ("users", "campaigns"). */
        char tag[64];
        snprintf(tag, sizeof(tag), "%s", r->nsegs ? r->segs[0] : "");
        json_object_set_new(op, "tags", json_pack("[s]", tag));
        json_object_set_new(op, "x-roles", roles_json(r->r.roles));
        json_t *params = json_array();
        for (size_t k = 0; k < r->nsegs; k++) {
            if (!seg_is_param(r->segs[k]))
                continue;
            const char *s = r->segs[k];
            char name[128];
            snprintf(name, sizeof(name), "%.*s", (int)(strlen(s) - 2), s + 1);
            json_array_append_new(
                params, json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", name, "in",
                                  "path", "required", 1, "schema", "type",
                                  "string"));
        }
        if (strcmp(r->r.method, "GET") == 0) {
            json_array_append_new(
                params, json_pack("{s:s,s:s,s:{s:s}}", "name", "offset", "in",
                                  "query", "schema", "type", "integer"));
            json_array_append_new(
                params, json_pack("{s:s,s:s,s:{s:s}}", "name", "limit", "in",
                                  "query", "schema", "type", "integer"));
        }
        json_object_set_new(op, "parameters", params);
        json_t *sec = json_array();
        if (r->r.roles != PLT_HTTP_PUBLIC) {
            json_array_append_new(sec, json_pack("{s:[]}", "session"));
            if (r->r.flags & PLT_HTTP_TOKEN_OK)
                json_array_append_new(sec, json_pack("{s:[]}", "token"));
        }
        json_object_set_new(op, "security", sec);
        if (r->r.flags & PLT_HTTP_UPLOAD)
            json_object_set_new(
                op, "requestBody",
                json_pack("{s:{s:{s:{s:s,s:s}}}}", "content",
                          "application/octet-stream", "schema", "type",
                          "string", "format", "binary"));
        json_object_set_new(
            op, "responses",
            json_pack("{s:{s:s},s:{s:s}}", "200", "description", "success",
                      "default", "description",
                      "error: {\"error\":{\"code\",\"message\"}}"));
        char m[8];
        snprintf(m, sizeof(m), "%s", r->r.method);
        for (char *c = m; *c; c++)
            *c = (char)(*c - 'A' + 'a');
        json_object_set_new(item, m, op);
    }
    json_t *types = json_array();
    for (size_t i = 0; i < rt->ntypes; i++)
        json_array_append_new(
            types, json_pack("{s:s,s:s,s:o}", "type", rt->types[i]->t.type,
                             "summary", rt->types[i]->t.summary, "roles",
                             roles_json(rt->types[i]->t.roles)));
    return json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:[{s:s}],s:o,s:{s:{s:{s:s,s:s,s:s},s:{s:s,s:"
        "s}}},s:o}",
        "openapi", "3.0.3", "info", "title", "Plateau API", "version",
        version, "description",
        "REST API of Plateau. Errors: {\"error\":{\"code\",\"message\"}}. "
        "Lists: ?offset&limit -> {items,offset,limit,total}.",
        "servers", "url", "/api/v1", "paths", paths, "components",
        "securitySchemes", "session", "type", "apiKey", "in", "cookie", "name",
        WEB_COOKIE_HOST, "token", "type", "http", "scheme", "bearer",
        "x-websocket-types", types);
}
