/* SPDX-License-Identifier: MIT */
/*
 * /api/v1/session: logging in and out, who am I, changing my password
 * and my language.
 *
 * Login checks the password through the `users` service (Argon2id on
 * worker threads, lockout after `users.lockout_threshold` consecutive
 * failures, default 6), after a per-address rate limit
 * (`login_per_minute`). Every login creates a new session identifier
 * (ASVS V7.2.4) and ends the session the browser held before. Failures
 * are answered without saying whether the login exists.
 *
 * A user whose password must change (first login after creation or a
 * reset, or an expired password) gets a session that reaches only these
 * routes until POST /session/password succeeds. That route checks the
 * current password again (so a stolen session cannot take the account
 * over), applies the policy of the users service (length, classes, not
 * the login, not a common password) and ends the user's other sessions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "web_int.h"

static json_t *
me_json(web *w, const web_session *ss)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:I,s:I}", "login", ss->login,
                     "role",
                     plt_role_name(ss->role) ? plt_role_name(ss->role) : "",
                     "name", ss->name, "lang", ss->lang, "must_change_password",
                     ss->must_change, "csrf_token", ss->csrf, "idle_timeout_s",
                     (json_int_t)(w->sessions.idle_ms / 1000), "expires_at",
                     (json_int_t)(ss->created + w->sessions.max_ms));
}

/* ---- POST /session ---- */

typedef struct login_job {
    web *w;
    plt_http_req *req;
    char *old_sid;
} login_job;

static void
login_done(void *arg, int status, const plt_user *u)
{
    login_job *j = arg;
    web *w = j->w;
    plt_http_req *req = j->req;
    web_call_end(w);
    if (status == 0 && u) {
        /* A fresh identifier for every login: a session id planted
         * before login (fixation) never becomes an authenticated one. */
        if (j->old_sid) {
            web_session *old =
                web_session_find(&w->sessions, j->old_sid, plt_now(), false);
            if (old)
                web_session_end(w, old, "replaced");
        }
        if ((int64_t)w->sessions.count >= w->cfg.max_sessions) {
            web_req_error(req, 503, "unavailable", "too many open sessions");
        } else {
            web_session *ss =
                web_session_new(&w->sessions, u, req->addr, plt_now());
            if (!ss) {
                web_req_error(req, 503, "unavailable", "out of memory");
            } else {
                w->ctr.logins_ok++;
                char cookie[256], hdr[300];
                web_session_cookie(w, ss, cookie, sizeof(cookie));
                snprintf(hdr, sizeof(hdr), "Set-Cookie: %s\r\n", cookie);
                web_req_json(req, 200, me_json(w, ss), hdr);
            }
        }
    } else if (status == PLT_ELOCKED) {
        w->ctr.logins_locked++;
        json_t *e = json_pack(
            "{s:{s:s,s:s,s:I}}", "error", "code", "account_locked", "message",
            "too many failed logins: the account is locked for a while",
            "locked_until", (json_int_t)(u ? u->locked_until : 0));
        web_req_json(req, 423, e, NULL);
    } else if (status == PLT_EAGAIN) {
        web_req_json(req, 503,
                     json_pack("{s:{s:s,s:s}}", "error", "code", "busy",
                               "message", "too many logins at once; retry"),
                     "Retry-After: 1\r\n");
    } else {
        w->ctr.logins_failed++;
        web_req_error(req, 401, "invalid_credentials",
                      "wrong login or password");
    }
    free(j->old_sid);
    free(j);
}

static void
post_session(void *arg, plt_http_req *req)
{
    web *w = arg;
    int64_t wait = web_rl_take(&w->rl_login, req->addr, plt_now());
    if (wait > 0) {
        char h[64];
        snprintf(h, sizeof(h), "Retry-After: %lld\r\n",
                 (long long)((wait + 999) / 1000));
        w->ctr.rate_limited++;
        web_req_json(req, 429,
                     json_pack("{s:{s:s,s:s}}", "error", "code", "rate_limited",
                               "message",
                               "too many login attempts from this address"),
                     h);
        return;
    }
    json_t *b = req->json;
    const char *login = json_string_value(json_object_get(b, "login"));
    const char *pw = json_string_value(json_object_get(b, "password"));
    if (!login || !pw || !*login || !*pw) {
        web_req_error(req, 400, "invalid_argument",
                      "login and password are required");
        return;
    }
    if (!w->users) {
        web_req_error(req, 503, "unavailable", "no users service");
        return;
    }
    login_job *j = web_job_new(w, req, sizeof(login_job));
    if (!j)
        return;
    if (req->session_hint)
        j->old_sid = strdup(req->session_hint->id);
    int rc = w->users->authenticate(w->users_impl, login, pw, req->addr,
                                    login_done, j);
    if (rc != 0) {
        free(j->old_sid);
        free(j);
        if (rc == PLT_EINVAL) {
            /* A login that is not even well-formed. */
            w->ctr.logins_failed++;
            web_req_error(req, 401, "invalid_credentials",
                          "wrong login or password");
        } else {
            web_req_error(req, 503, "unavailable", plt_strerror(rc));
        }
        return;
    }
    web_call_begin(w);
}

/* ---- GET, PATCH, DELETE /session ---- */

static void
get_session(void *arg, plt_http_req *req)
{
    web *w = arg;
    web_session *ss = req->session_hint;
    if (!ss) {
        web_req_error(req, 401, "unauthenticated", "log in first");
        return;
    }
    web_req_json(req, 200, me_json(w, ss), NULL);
}

static void
patch_session(void *arg, plt_http_req *req)
{
    web *w = arg;
    web_session *ss = req->session_hint;
    const char *lang = json_string_value(json_object_get(req->json, "lang"));
    if (!ss) {
        web_req_error(req, 401, "unauthenticated", "log in first");
        return;
    }
    if (!lang || (strcmp(lang, "fr") != 0 && strcmp(lang, "en") != 0)) {
        web_req_error(req, 400, "invalid_argument", "lang is fr or en");
        return;
    }
    snprintf(ss->lang, sizeof(ss->lang), "%s", lang);
    web_req_json(req, 200, me_json(w, ss), NULL);
}

static void
delete_session(void *arg, plt_http_req *req)
{
    web *w = arg;
    web_session *ss = req->session_hint;
    char cookie[256], hdr[300];
    web_session_cookie(w, NULL, cookie, sizeof(cookie));
    snprintf(hdr, sizeof(hdr), "Set-Cookie: %s\r\n", cookie);
    if (ss)
        web_session_end(w, ss, "logout");
    web_req_respond(req, 204, NULL, NULL, 0, hdr);
}

/* ---- POST /session/password ---- */

typedef struct pw_job {
    web *w;
    plt_http_req *req;
    char sid[WEB_ID_SIZE];
    char login[72];
    char *next_pw;
} pw_job;

static void
pw_job_free(pw_job *j)
{
    if (j->next_pw) {
        sodium_memzero(j->next_pw, strlen(j->next_pw));
        free(j->next_pw);
    }
    free(j);
}

static void
pw_set_done(void *arg, int status, const char *msg)
{
    pw_job *j = arg;
    web *w = j->w;
    web_call_end(w);
    if (status == 0) {
        web_session *ss =
            web_session_find(&w->sessions, j->sid, plt_now(), false);
        if (ss) {
            ss->must_change = false;
            /* Other browsers holding this account are logged out: a
             * password change is how people react to a leak. */
            web_sessions_end_login(w, j->login, ss, "password_changed");
            web_req_json(j->req, 200, me_json(w, ss), NULL);
        } else {
            web_req_respond(j->req, 204, NULL, NULL, 0, NULL);
        }
    } else if (status == PLT_EINVAL) {
        web_req_error(j->req, 400, "password_policy",
                      msg ? msg : "the new password breaks the policy");
    } else {
        web_req_error(j->req, 503, "unavailable", plt_strerror(status));
    }
    pw_job_free(j);
}

static void
pw_check_done(void *arg, int status, const plt_user *u)
{
    pw_job *j = arg;
    web *w = j->w;
    (void)u;
    web_call_end(w);
    if (status == PLT_ELOCKED) {
        /* Guessing the current password through this route locks the
         * account like a login would: end its sessions. */
        web_sessions_end_login(w, j->login, NULL, "locked");
        web_req_error(j->req, 423, "account_locked",
                      "too many failed attempts: the account is locked");
        pw_job_free(j);
        return;
    }
    if (status != 0) {
        web_req_error(j->req, status == PLT_EAUTH ? 403 : 503,
                      status == PLT_EAUTH ? "wrong_password" : "unavailable",
                      status == PLT_EAUTH ? "the current password is wrong"
                                          : plt_strerror(status));
        pw_job_free(j);
        return;
    }
    char actor[96];
    snprintf(actor, sizeof(actor), "user:%s", j->login);
    int rc = w->users->set_password(w->users_impl, j->login, j->next_pw, false,
                                    actor, j->req->addr, pw_set_done, j);
    if (rc != 0) {
        web_req_error(j->req, 503, "unavailable", plt_strerror(rc));
        pw_job_free(j);
        return;
    }
    web_call_begin(w);
}

static void
post_password(void *arg, plt_http_req *req)
{
    web *w = arg;
    web_session *ss = req->session_hint;
    if (!ss) {
        web_req_error(req, 401, "unauthenticated", "log in first");
        return;
    }
    const char *cur =
        json_string_value(json_object_get(req->json, "current_password"));
    const char *next =
        json_string_value(json_object_get(req->json, "new_password"));
    if (!cur || !next) {
        web_req_error(req, 400, "invalid_argument",
                      "current_password and new_password are required");
        return;
    }
    if (strcmp(cur, next) == 0) {
        web_req_error(req, 400, "password_policy",
                      "the new password must differ from the current one");
        return;
    }
    pw_job *j = web_job_new(w, req, sizeof(pw_job));
    if (!j)
        return;
    if (!(j->next_pw = strdup(next))) {
        free(j);
        web_req_error(req, 503, "unavailable", "out of memory");
        return;
    }
    snprintf(j->sid, sizeof(j->sid), "%s", ss->id);
    snprintf(j->login, sizeof(j->login), "%s", ss->login);
    int rc = w->users->authenticate(w->users_impl, ss->login, cur, req->addr,
                                    pw_check_done, j);
    if (rc != 0) {
        pw_job_free(j);
        web_req_error(req, 503, "unavailable", plt_strerror(rc));
        return;
    }
    web_call_begin(w);
}

/* ---- GET /openapi.json ---- */

static void
get_openapi(void *arg, plt_http_req *req)
{
    web *w = arg;
    web_req_json(req, 200, web_router_openapi(&w->router, "1.0"), NULL);
}

int
web_auth_routes(web *w)
{
    const plt_http_route routes[] = {
        {sizeof(plt_http_route), "POST", "/session", PLT_HTTP_PUBLIC,
         PLT_HTTP_NO_CSRF, post_session, w,
         "Log in with login and password; sets the session cookie"},
        {sizeof(plt_http_route), "GET", "/session", PLT_HTTP_ANY_USER, 0,
         get_session, w,
         "Who am I: login, role, name, lang, must_change_password, "
         "csrf_token"},
        {sizeof(plt_http_route), "PATCH", "/session", PLT_HTTP_ANY_USER, 0,
         patch_session, w, "Set the session's language (fr or en)"},
        {sizeof(plt_http_route), "DELETE", "/session", PLT_HTTP_ANY_USER, 0,
         delete_session, w, "Log out"},
        {sizeof(plt_http_route), "POST", "/session/password", PLT_HTTP_ANY_USER,
         0, post_password, w,
         "Change my password (current_password, new_password)"},
        {sizeof(plt_http_route), "GET", "/openapi.json", PLT_HTTP_ANY_USER,
         PLT_HTTP_TOKEN_OK, get_openapi, w, "This description of the API"},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = web_router_add(&w->router, &routes[i], "web", true);
        if (rc != 0)
            return rc;
    }
    return 0;
}
