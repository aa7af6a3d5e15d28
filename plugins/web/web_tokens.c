/* SPDX-License-Identifier: MIT */
/*
 * API tokens for integrators (a CRM doing click-to-call, a script
 * injecting leads): created by an administrator with a name and a role,
 * shown once, stored only as a BLAKE2b hash in the `web_token` table.
 * A request with `Authorization: Bearer <token>` acts with the token's
 * role, on routes flagged PLT_HTTP_TOKEN_OK only, without a CSRF token
 * (nothing a browser sends automatically carries it).
 *
 * The hashes of live tokens are loaded at start and kept in memory, so
 * checking a token is a table lookup with a constant-time comparison.
 * Tokens are long random strings, not passwords: a fast hash is right.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "web_int.h"

const plt_storage_migration web_migrations[] = {
    {.version = 1,
     .name = "create web_token",
     .sql = "CREATE TABLE web_token ("
            " id INTEGER PRIMARY KEY,"
            " name TEXT NOT NULL UNIQUE,"
            " role INTEGER NOT NULL,"
            " hash TEXT NOT NULL UNIQUE,"
            " created_at BIGINT NOT NULL,"
            " created_by TEXT NOT NULL,"
            " revoked INTEGER NOT NULL DEFAULT 0)",
     .pg = "CREATE TABLE web_token ("
           " id BIGSERIAL PRIMARY KEY,"
           " name TEXT NOT NULL UNIQUE,"
           " role INTEGER NOT NULL,"
           " hash TEXT NOT NULL UNIQUE,"
           " created_at BIGINT NOT NULL,"
           " created_by TEXT NOT NULL,"
           " revoked INTEGER NOT NULL DEFAULT 0)"},
};
const size_t web_nmigrations =
    sizeof(web_migrations) / sizeof(web_migrations[0]);

#define TOKEN_PREFIX "plt_"

static void
hash_token(const char *token, unsigned char out[32])
{
    crypto_generichash(out, 32, (const unsigned char *)token, strlen(token),
                       NULL, 0);
}

static int
add_token(web *w, int64_t id, const char *name, int32_t role, const char *hex)
{
    web_token *n = realloc(w->tokens, (w->ntokens + 1) * sizeof(*n));
    if (!n)
        return PLT_ENOMEM;
    w->tokens = n;
    web_token *t = &n[w->ntokens];
    memset(t, 0, sizeof(*t));
    t->id = id;
    t->role = role;
    snprintf(t->name, sizeof(t->name), "%s", name);
    size_t bin_len = 0;
    if (sodium_hex2bin(t->hash, sizeof(t->hash), hex, strlen(hex), NULL,
                       &bin_len, NULL) != 0 ||
        bin_len != sizeof(t->hash))
        return PLT_EINVAL;
    w->ntokens++;
    return 0;
}

static int
load_row(void *arg, const plt_storage_row *row)
{
    web *w = arg;
    if (row->ncols < 4 || row->vals[1].type != PLT_T_STR ||
        row->vals[3].type != PLT_T_STR)
        return 0;
    (void)add_token(w, row->vals[0].v.i, row->vals[1].v.s,
                    (int32_t)row->vals[2].v.i, row->vals[3].v.s);
    return 0;
}

static void
load_done(void *arg, const int status, const plt_storage_result *res)
{
    web *w = arg;
    web_call_end(w);
    if (status != 0)
        plt_log(PLT_LOG_WARN, "cannot load API tokens: %s",
                res && res->error ? res->error : plt_strerror(status));
}

void
web_tokens_load(web *w)
{
    if (!w->have_storage)
        return;
    int rc = plt_storage_exec(&w->st,
                              "SELECT id, name, role, hash FROM web_token "
                              "WHERE revoked = 0",
                              NULL, 0, 0, load_row, load_done, w);
    if (rc == 0)
        web_call_begin(w);
    else
        plt_log_err(PLT_LOG_WARN, rc, "cannot load API tokens");
}

const web_token *
web_tokens_check(web *w, const char *bearer)
{
    if (!bearer || strncmp(bearer, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0 ||
        strlen(bearer) > 128)
        return NULL;
    unsigned char h[32];
    hash_token(bearer, h);
    const web_token *found = NULL;
    for (size_t i = 0; i < w->ntokens; i++)
        if (!w->tokens[i].revoked &&
            sodium_memcmp(w->tokens[i].hash, h, sizeof(h)) == 0)
            found = &w->tokens[i];
    return found;
}

/* ---- routes ---- */

typedef struct tok_job {
    web *w;
    plt_http_req *req;
    char name[72];
    int32_t role;
    char token[80];
    char hex[65];
    json_t *items;
    int64_t id;
} tok_job;

static void
job_free(tok_job *j)
{
    json_decref(j->items);
    sodium_memzero(j->token, sizeof(j->token));
    free(j);
}

/* A job for one token request; answers 503 itself when out of memory. */
static tok_job *
job_new(web *w, plt_http_req *req)
{
    return web_job_new(w, req, sizeof(tok_job));
}

/* Run the job's statement; on failure answer 503 and free the job. */
static void
job_exec(tok_job *j, const char *sql, const plt_value *args, size_t nargs,
         uint32_t flags, plt_storage_row_fn row, plt_storage_done_fn done)
{
    int rc = plt_storage_exec(&j->w->st, sql, args, nargs, flags, row, done, j);
    if (rc != 0) {
        web_req_error(j->req, 503, "unavailable", plt_strerror(rc));
        job_free(j);
        return;
    }
    web_call_begin(j->w);
}

static int
list_row(void *arg, const plt_storage_row *row)
{
    tok_job *j = arg;
    if (row->ncols < 5)
        return 0;
    json_array_append_new(
        j->items,
        json_pack(
            "{s:I,s:s,s:s,s:I,s:s}", "id", (json_int_t)row->vals[0].v.i, "name",
            row->vals[1].type == PLT_T_STR ? row->vals[1].v.s : "", "role",
            plt_role_name((int32_t)row->vals[2].v.i)
                ? plt_role_name((int32_t)row->vals[2].v.i)
                : "",
            "created_at", (json_int_t)row->vals[3].v.i, "created_by",
            row->vals[4].type == PLT_T_STR ? row->vals[4].v.s : ""));
    return 0;
}

static void
list_done(void *arg, int status, const plt_storage_result *res)
{
    tok_job *j = arg;
    (void)res;
    web_call_end(j->w);
    if (status != 0) {
        web_req_error(j->req, 503, "unavailable", "cannot read tokens");
    } else {
        size_t n = json_array_size(j->items);
        json_t *o = json_pack("{s:O,s:I,s:I,s:I}", "items", j->items, "offset",
                              (json_int_t)0, "limit", (json_int_t)n, "total",
                              (json_int_t)n);
        web_req_json(j->req, 200, o, NULL);
    }
    job_free(j);
}

static void
get_tokens(void *arg, plt_http_req *req)
{
    tok_job *j = job_new(arg, req);
    if (!j)
        return;
    if (!(j->items = json_array())) {
        web_req_error(req, 503, "unavailable", "out of memory");
        job_free(j);
        return;
    }
    job_exec(j,
             "SELECT id, name, role, created_at, created_by "
             "FROM web_token WHERE revoked = 0 ORDER BY name",
             NULL, 0, 0, list_row, list_done);
}

static int
id_row(void *arg, const plt_storage_row *row)
{
    tok_job *j = arg;
    if (row->ncols >= 1)
        j->id = row->vals[0].v.i;
    return 0;
}

static void
create_done(void *arg, int status, const plt_storage_result *res)
{
    tok_job *j = arg;
    web *w = j->w;
    web_call_end(w);
    if (status == PLT_EEXIST || status == PLT_ECONFLICT ||
        (res && res->sqlstate && strcmp(res->sqlstate, "23505") == 0)) {
        web_req_error(j->req, 409, "conflict", "a token has this name");
    } else if (status != 0) {
        web_req_error(j->req, 409, "conflict",
                      "cannot create the token (name taken?)");
    } else if (add_token(w, j->id, j->name, j->role, j->hex) != 0) {
        web_req_error(j->req, 503, "unavailable", "out of memory");
    } else {
        char detail[160];
        snprintf(detail, sizeof(detail), "{\"role\":\"%s\"}",
                 plt_role_name(j->role));
        char object[96];
        snprintf(object, sizeof(object), "token:%s", j->name);
        web_http_vtable.audit(w, j->req, "token.created", object, detail);
        web_req_json(j->req, 201,
                     json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)j->id,
                               "name", j->name, "role", plt_role_name(j->role),
                               "token", j->token),
                     NULL);
    }
    job_free(j);
}

static bool
name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return false;
    return true;
}

static void
post_tokens(void *arg, plt_http_req *req)
{
    web *w = arg;
    const char *name = json_string_value(json_object_get(req->json, "name"));
    int32_t role =
        web_role_parse(json_string_value(json_object_get(req->json, "role")));
    if (!name_ok(name) || !role) {
        web_req_error(req, 400, "invalid_argument",
                      "name ([a-z0-9._-], 1-64) and role "
                      "(admin|supervisor|agent) are required");
        return;
    }
    tok_job *j = job_new(w, req);
    if (!j)
        return;
    j->role = role;
    snprintf(j->name, sizeof(j->name), "%s", name);
    char rnd[WEB_ID_SIZE];
    web_random_id(rnd);
    snprintf(j->token, sizeof(j->token), TOKEN_PREFIX "%s", rnd);
    sodium_memzero(rnd, sizeof(rnd));
    unsigned char h[32];
    hash_token(j->token, h);
    sodium_bin2hex(j->hex, sizeof(j->hex), h, sizeof(h));
    plt_value args[] = {PLT_V_STR(j->name), PLT_V_I64(role), PLT_V_STR(j->hex),
                        PLT_V_I64(plt_now()), PLT_V_STR(req->pr.login)};
    job_exec(j,
             "INSERT INTO web_token (name, role, hash, created_at, created_by) "
             "VALUES ($1, $2, $3, $4, $5) RETURNING id",
             args, 5, PLT_STORAGE_WRITE, id_row, create_done);
}

static void
revoke_done(void *arg, int status, const plt_storage_result *res)
{
    tok_job *j = arg;
    web *w = j->w;
    web_call_end(w);
    if (status != 0) {
        web_req_error(j->req, 503, "unavailable", "cannot revoke the token");
    } else if (!res || res->rows_affected == 0) {
        web_req_error(j->req, 404, "not_found", "no such token");
    } else {
        for (size_t i = 0; i < w->ntokens; i++)
            if (w->tokens[i].id == j->id)
                w->tokens[i].revoked = true;
        char object[64];
        snprintf(object, sizeof(object), "token:%lld", (long long)j->id);
        web_http_vtable.audit(w, j->req, "token.revoked", object, NULL);
        web_req_respond(j->req, 204, NULL, NULL, 0, NULL);
    }
    job_free(j);
}

static void
delete_token(void *arg, plt_http_req *req)
{
    web *w = arg;
    const char *ids = web_http_vtable.param(w, req, "id");
    char *end = NULL;
    long long id = ids ? strtoll(ids, &end, 10) : 0;
    if (!ids || *end || id <= 0) {
        web_req_error(req, 404, "not_found", "no such token");
        return;
    }
    tok_job *j = job_new(w, req);
    if (!j)
        return;
    j->id = id;
    plt_value args[] = {PLT_V_I64(id)};
    job_exec(j,
             "UPDATE web_token SET revoked = 1 WHERE id = $1 AND revoked = 0",
             args, 1, PLT_STORAGE_WRITE, NULL, revoke_done);
}

int
web_tokens_routes(web *w)
{
    if (!w->have_storage)
        return 0;
    const plt_http_route routes[] = {
        {sizeof(plt_http_route), "GET", "/tokens", PLT_HTTP_ADMIN, 0,
         get_tokens, w, "List the API tokens (never their value)"},
        {sizeof(plt_http_route), "POST", "/tokens", PLT_HTTP_ADMIN, 0,
         post_tokens, w,
         "Create an API token (name, role); its value is shown once"},
        {sizeof(plt_http_route), "DELETE", "/tokens/{id}", PLT_HTTP_ADMIN, 0,
         delete_token, w, "Revoke an API token"},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = web_router_add(&w->router, &routes[i], "web", true);
        if (rc != 0)
            return rc;
    }
    return 0;
}
