/* SPDX-License-Identifier: MIT */
/*
 * The REST face of the `users` service: list, read, create, edit,
 * disable, enable, unlock, reset a password, and read the audit log.
 * Administrators change accounts; supervisors may read them (to see their
 * agents). The users service applies the password policy and writes the
 * audit entries itself, with the administrator as actor and the browser's
 * address as origin. Disabling an account or changing its role ends its
 * sessions at once (through the users.user.* events, see web.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "web_int.h"

typedef struct ujob {
    web *w;
    plt_http_req *req;
    json_t *items;
    int64_t offset, limit;
    char login[72];
    const char *action; /* for the success reply */
    bool page;          /* lists: reply_page(), else {"items","limit"} */
} ujob;

static ujob *
ujob_new(web *w, plt_http_req *req)
{
    return web_job_new(w, req, sizeof(ujob));
}

static void
ujob_free(ujob *j)
{
    json_decref(j->items);
    free(j);
}

static void
actor_of(plt_http_req *req, char *out, size_t len)
{
    snprintf(out, len, "%s%s", req->pr.via_token ? "" : "user:",
             req->pr.login ? req->pr.login : "anonymous");
}

static json_t *
user_json(const plt_user *u)
{
    return json_pack(
        "{s:I,s:s,s:s,s:s,s:b,s:b,s:i,s:I,s:I,s:I,s:b}", "id",
        (json_int_t)u->id, "login", u->login, "name", u->name ? u->name : "",
        "role", plt_role_name(u->role) ? plt_role_name(u->role) : "",
        "disabled", u->disabled, "must_change_password",
        u->must_change_password, "failed_logins", (int)u->failed_logins,
        "locked_until", (json_int_t)u->locked_until, "created_at",
        (json_int_t)u->created_at, "password_changed_at",
        (json_int_t)u->password_changed_at, "password_expired",
        u->password_expired);
}

/* Map a users-service status to an HTTP error. */
static void
reply_status(plt_http_req *req, int status, const char *msg)
{
    switch (status) {
    case PLT_ENOENT:
        web_req_error(req, 404, "not_found", "no such user");
        break;
    case PLT_EEXIST:
        web_req_error(req, 409, "conflict", "this login is taken");
        break;
    case PLT_EINVAL:
        web_req_error(req, 400, "invalid_argument",
                      msg ? msg : "invalid value");
        break;
    default:
        web_req_error(req, 503, "unavailable",
                      msg ? msg : plt_strerror(status));
    }
}

/* After starting a users-service call: answer at once if it failed. */
static void
started(web *w, ujob *j, int rc)
{
    if (rc != 0) {
        reply_status(j->req, rc, NULL);
        ujob_free(j);
        return;
    }
    web_call_begin(w);
}

/* Prepare a change of the user named by the path. */
static ujob *
change_job(web *w, plt_http_req *req, char *actor, size_t alen)
{
    ujob *j = ujob_new(w, req);
    if (!j)
        return NULL;
    snprintf(j->login, sizeof(j->login), "%s",
             web_http_vtable.param(w, req, "login"));
    actor_of(req, actor, alen);
    return j;
}

/* ---- GET /users ---- */

static int
list_row(void *arg, const plt_user *u)
{
    ujob *j = arg;
    json_array_append_new(j->items, user_json(u));
    return 0;
}

/* The end of a list (users, audit): the rows gathered, or the error. */
static void
list_done(void *arg, int status, const char *msg)
{
    ujob *j = arg;
    web_call_end(j->w);
    if (status != 0) {
        reply_status(j->req, status, msg);
    } else if (j->page) {
        json_t *items = j->items;
        j->items = NULL;
        web_http_vtable.reply_page(j->w, j->req, items, j->offset, j->limit,
                                   -1);
    } else {
        web_req_json(j->req, 200,
                     json_pack("{s:O,s:I}", "items", j->items, "limit",
                               (json_int_t)j->limit),
                     NULL);
    }
    ujob_free(j);
}

/* A job gathering a list: its array and the request's offset/limit. */
static ujob *
list_job(web *w, plt_http_req *req, bool page)
{
    ujob *j = ujob_new(w, req);
    if (!j)
        return NULL;
    if (!(j->items = json_array())) {
        web_req_error(req, 503, "unavailable", "out of memory");
        ujob_free(j);
        return NULL;
    }
    j->page = page;
    web_req_page_args(req, &j->offset, &j->limit);
    return j;
}

static void
get_users(void *arg, plt_http_req *req)
{
    web *w = arg;
    ujob *j = list_job(w, req, true);
    if (!j)
        return;
    int rc = w->users->list(w->users_impl, j->offset, j->limit, list_row,
                            list_done, j);
    started(w, j, rc);
}

/* ---- GET /users/{login} ---- */

static void
got_user(void *arg, int status, const plt_user *u)
{
    ujob *j = arg;
    web_call_end(j->w);
    if (status != 0 || !u)
        reply_status(j->req, status ? status : PLT_ENOENT, NULL);
    else
        web_req_json(j->req, 200, user_json(u), NULL);
    ujob_free(j);
}

static void
fetch_user(web *w, ujob *j, const char *login)
{
    int rc = w->users->get(w->users_impl, login, got_user, j);
    if (rc != 0) {
        reply_status(j->req, rc, NULL);
        ujob_free(j);
        return;
    }
    web_call_begin(w);
}

static void
get_user(void *arg, plt_http_req *req)
{
    web *w = arg;
    const char *login = web_http_vtable.param(w, req, "login");
    ujob *j = ujob_new(w, req);
    if (j)
        fetch_user(w, j, login);
}

/* After a change: answer with the user as it is now. */
static void
changed(void *arg, int status, const char *msg)
{
    ujob *j = arg;
    web *w = j->w;
    web_call_end(w);
    if (status != 0) {
        reply_status(j->req, status, msg);
        ujob_free(j);
        return;
    }
    fetch_user(w, j, j->login);
}

/* ---- POST /users ---- */

static void
post_users(void *arg, plt_http_req *req)
{
    web *w = arg;
    json_t *b = req->json;
    const char *login = json_string_value(json_object_get(b, "login"));
    const char *name = json_string_value(json_object_get(b, "name"));
    const char *pw = json_string_value(json_object_get(b, "password"));
    int32_t role =
        web_role_parse(json_string_value(json_object_get(b, "role")));
    json_t *mc = json_object_get(b, "must_change_password");
    if (!login || !pw || !role || (mc && !json_is_boolean(mc))) {
        web_req_error(req, 400, "invalid_argument",
                      "login, password and role (admin|supervisor|agent) "
                      "are required");
        return;
    }
    ujob *j = ujob_new(w, req);
    if (!j)
        return;
    snprintf(j->login, sizeof(j->login), "%s", login);
    plt_user_new nu = {.size = sizeof(nu),
                       .login = login,
                       .name = name,
                       .role = role,
                       .must_change_password = mc ? json_is_true(mc) : true};
    char actor[96];
    actor_of(req, actor, sizeof(actor));
    int rc =
        w->users->create(w->users_impl, &nu, pw, actor, req->addr, changed, j);
    started(w, j, rc);
}

/* ---- PATCH /users/{login} ---- */

static void
patch_user(void *arg, plt_http_req *req)
{
    web *w = arg;
    const char *login = web_http_vtable.param(w, req, "login");
    json_t *b = req->json;
    json_t *jr = json_object_get(b, "role");
    json_t *jn = json_object_get(b, "name");
    json_t *jd = json_object_get(b, "disabled");
    int32_t role = jr ? web_role_parse(json_string_value(jr)) : 0;
    if ((jr && !role) || (jn && !json_is_string(jn)) ||
        (jd && !json_is_boolean(jd)) || (!jr && !jn && !jd)) {
        web_req_error(req, 400, "invalid_argument",
                      "set role (admin|supervisor|agent), name or disabled");
        return;
    }
    if (jd && json_is_true(jd) && req->pr.login &&
        strcmp(req->pr.login, login) == 0) {
        web_req_error(req, 409, "conflict", "you cannot disable yourself");
        return;
    }
    char actor[96];
    ujob *j = change_job(w, req, actor, sizeof(actor));
    if (!j)
        return;
    int rc = w->users->update(
        w->users_impl, login, role, jn ? json_string_value(jn) : NULL,
        jd ? (json_is_true(jd) ? 1 : 0) : -1, actor, req->addr, changed, j);
    started(w, j, rc);
}

/* ---- POST /users/{login}/disable|enable|unlock|password ---- */

static void
set_disabled(web *w, plt_http_req *req, int disabled)
{
    const char *login = web_http_vtable.param(w, req, "login");
    if (disabled && req->pr.login && strcmp(req->pr.login, login) == 0) {
        web_req_error(req, 409, "conflict", "you cannot disable yourself");
        return;
    }
    char actor[96];
    ujob *j = change_job(w, req, actor, sizeof(actor));
    if (!j)
        return;
    int rc = w->users->update(w->users_impl, login, 0, NULL, disabled, actor,
                              req->addr, changed, j);
    started(w, j, rc);
}

static void
post_disable(void *arg, plt_http_req *req)
{
    set_disabled(arg, req, 1);
}

static void
post_enable(void *arg, plt_http_req *req)
{
    set_disabled(arg, req, 0);
}

static void
post_unlock(void *arg, plt_http_req *req)
{
    web *w = arg;
    const char *login = web_http_vtable.param(w, req, "login");
    char actor[96];
    ujob *j = change_job(w, req, actor, sizeof(actor));
    if (!j)
        return;
    int rc =
        w->users->unlock(w->users_impl, login, actor, req->addr, changed, j);
    started(w, j, rc);
}

static void
post_reset(void *arg, plt_http_req *req)
{
    web *w = arg;
    const char *login = web_http_vtable.param(w, req, "login");
    const char *pw = json_string_value(json_object_get(req->json, "password"));
    json_t *mc = json_object_get(req->json, "must_change_password");
    if (!pw || (mc && !json_is_boolean(mc))) {
        web_req_error(req, 400, "invalid_argument", "password is required");
        return;
    }
    char actor[96];
    ujob *j = change_job(w, req, actor, sizeof(actor));
    if (!j)
        return;
    int rc = w->users->set_password(w->users_impl, login, pw,
                                    mc ? json_is_true(mc) : true, actor,
                                    req->addr, changed, j);
    started(w, j, rc);
}

/* ---- GET /audit ---- */

static int
audit_row(void *arg, const plt_audit_entry *e)
{
    ujob *j = arg;
    json_t *o = json_pack(
        "{s:I,s:I,s:s,s:s,s:s}", "id", (json_int_t)e->id, "at",
        (json_int_t)e->at, "actor", e->actor ? e->actor : "", "action",
        e->action ? e->action : "", "object", e->object ? e->object : "");
    json_t *d = e->details ? json_loads(e->details, 0, NULL) : NULL;
    json_object_set_new(o, "details", d ? d : json_null());
    json_object_set_new(o, "origin",
                        e->origin ? json_string(e->origin) : json_null());
    json_array_append_new(j->items, o);
    return 0;
}

static void
get_audit(void *arg, plt_http_req *req)
{
    web *w = arg;
    ujob *j = list_job(w, req, false);
    if (!j)
        return;
    const char *before = web_req_query(req, "before");
    long long b = before ? strtoll(before, NULL, 10) : 0;
    int rc = w->users->audit_list(w->users_impl, b > 0 ? b : 0, j->limit,
                                  audit_row, list_done, j);
    started(w, j, rc);
}

/* DELETE /users/{login}/sessions: sessions live in this plugin, so this
 * is answered here, at once, without the users service. */
static void
delete_sessions(void *arg, plt_http_req *req)
{
    web *w = arg;
    const char *login = web_http_vtable.param(w, req, "login");
    int n =
        web_sessions_end_login(w, login, req->session_hint, "ended_by_admin");
    char detail[48];
    snprintf(detail, sizeof(detail), "%d session(s)", n);
    web_http_vtable.audit(w, req, "user.sessions_ended", login, detail);
    web_req_json(req, 200, json_pack("{s:s,s:i}", "login", login, "ended", n),
                 NULL);
}

int
web_users_routes(web *w)
{
    if (!w->users)
        return 0;
    const plt_http_route routes[] = {
        {sizeof(plt_http_route), "GET", "/users", PLT_HTTP_STAFF,
         PLT_HTTP_TOKEN_OK, get_users, w, "List users (offset, limit)"},
        {sizeof(plt_http_route), "POST", "/users", PLT_HTTP_ADMIN, 0,
         post_users, w,
         "Create a user (login, name, role, password, must_change_password)"},
        {sizeof(plt_http_route), "GET", "/users/{login}", PLT_HTTP_STAFF,
         PLT_HTTP_TOKEN_OK, get_user, w, "Read a user"},
        {sizeof(plt_http_route), "PATCH", "/users/{login}", PLT_HTTP_ADMIN, 0,
         patch_user, w, "Change a user's role, name or disabled flag"},
        {sizeof(plt_http_route), "POST", "/users/{login}/disable",
         PLT_HTTP_ADMIN, 0, post_disable, w,
         "Disable a user (ends their sessions)"},
        {sizeof(plt_http_route), "POST", "/users/{login}/enable",
         PLT_HTTP_ADMIN, 0, post_enable, w, "Enable a user"},
        {sizeof(plt_http_route), "POST", "/users/{login}/unlock",
         PLT_HTTP_ADMIN, 0, post_unlock, w,
         "Clear a user's failed logins and lock"},
        {sizeof(plt_http_route), "POST", "/users/{login}/password",
         PLT_HTTP_ADMIN, 0, post_reset, w,
         "Reset a user's password (must_change_password defaults to true)"},
        {sizeof(plt_http_route), "DELETE", "/users/{login}/sessions",
         PLT_HTTP_ADMIN, 0, delete_sessions, w,
         "End a user's sessions now (their WebSockets get a bye); an "
         "admin's own current session is kept"},
        {sizeof(plt_http_route), "GET", "/audit", PLT_HTTP_ADMIN,
         PLT_HTTP_TOKEN_OK, get_audit, w,
         "Read the audit log, newest first (before, limit)"},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = web_router_add(&w->router, &routes[i], "users", true);
        if (rc != 0)
            return rc;
    }
    return 0;
}
