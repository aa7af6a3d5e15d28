/* SPDX-License-Identifier: MIT */
/*
 * The users service apart from authenticate(): creating accounts, setting
 * passwords, reading and listing users, changing role, name or the
 * disabled flag, unlocking, and the audit log itself.
 *
 * Every change commits together with its audit row (one transaction), so
 * the log never misses a change that happened, nor records one that did
 * not. Changes are also published on the bus as users.user.<verb> (e.g.
 * the web plugin ends the sessions of a user who was disabled).
 *
 * Input errors an operator can fix (a weak password, a malformed login, a
 * taken login) come back through done() with PLT_EINVAL / PLT_EEXIST and
 * a sentence naming the rule; misuse by the calling code (NULL pointers)
 * is refused at once with PLT_EINVAL.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "users_int.h"

/* Longest actor, object or origin text accepted, and details. */
#define TEXT_MAX 256
#define DETAILS_MAX 16384

typedef struct acct_req {
    users *u;
    char login[USERS_LOGIN_MAX + 1];
    char name[USERS_NAME_MAX + 1];
    bool has_name;
    int32_t role;
    int disabled; /* < 0: keep */
    bool must_change;
    char *password; /* wiped and freed once submitted */
    size_t pwlen;
    char *actor;
    char *origin;
    char hash[USERS_HASH_MAX];
    char object[USERS_LOGIN_MAX + 8];
    char details[192];
    const char *action; /* audit action */
    const char *verb;   /* users.user.<verb> */
    users_stmt stmts[2];
    /* Completions: one of them is set. */
    plt_users_done_fn done;
    plt_user_fn ucb;
    void *arg;
    /* list */
    plt_user_row_fn row;
    plt_audit_row_fn arow;
    bool consumer_stopped;
    /* get */
    users_row found;
    bool have_row;
    /* outcome */
    int status;
    char msg[USERS_MSG_MAX];
} acct_req;

static char *
dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

static void
wipe_password(acct_req *r)
{
    if (r->password) {
        sodium_memzero(r->password, r->pwlen);
        free(r->password);
        r->password = NULL;
    }
}

static void
req_free(acct_req *r)
{
    users *u = r->u;
    wipe_password(r);
    free(r->actor);
    free(r->origin);
    free(r);
    users_req_end(u);
}

/* A request with copies of the caller's actor and origin (the caller's
 * strings may die as soon as the call returns). NULL on ENOMEM. */
static acct_req *
req_new(users *u, const char *actor, const char *origin)
{
    acct_req *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    bool oom = false;
    r->actor = dup_or_null(actor, &oom);
    r->origin = dup_or_null(origin, &oom);
    if (oom) {
        free(r->actor);
        free(r->origin);
        free(r);
        return NULL;
    }
    r->u = u;
    r->disabled = -1;
    users_req_begin(u);
    return r;
}

static int
take_password(acct_req *r, const char *password)
{
    r->pwlen = strlen(password);
    r->password = malloc(r->pwlen + 1);
    if (!r->password)
        return PLT_ENOMEM;
    memcpy(r->password, password, r->pwlen + 1);
    return 0;
}

static void
deliver(acct_req *r)
{
    if (r->ucb) {
        plt_user user;
        if (r->status == 0 && r->have_row) {
            users_row_to_user(&r->u->cfg, &r->found, plt_now(), &user);
            r->ucb(r->arg, 0, &user);
        } else {
            r->ucb(r->arg, r->status < 0 ? r->status : PLT_ENOENT, NULL);
        }
    } else if (r->done) {
        r->done(r->arg, r->status, r->status != 0 && r->msg[0] ? r->msg : NULL);
    }
    req_free(r);
}

static void
deliver_posted(void *arg)
{
    deliver(arg);
}

__attribute__((format(printf, 3, 4))) static void
set_msg(acct_req *r, int status, const char *fmt, ...)
{
    r->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
}

/* Report a failure found before anything asynchronous started. The
 * callback must not run inside the call, so it is posted; if even that
 * fails, the call itself fails and nothing is called back. */
static int
fail_later(acct_req *r)
{
    int rc = plt_post(deliver_posted, r);
    if (rc != 0) {
        req_free(r);
        return rc;
    }
    return 0;
}

/* Turn a storage failure into the message a caller can show. */
static void
storage_msg(acct_req *r, int status, const char *engine_msg)
{
    if (status == PLT_ENOENT) {
        set_msg(r, status, "no user '%s'", r->login);
    } else if (status == PLT_EEXIST || status == PLT_ECONFLICT) {
        set_msg(r, PLT_EEXIST, "login '%s' is taken", r->login);
    } else {
        set_msg(r, status, "storage: %s",
                engine_msg ? engine_msg : plt_strerror(status));
    }
}

void
users_publish(const char *verb, const char *login, const char *actor)
{
    char topic[64];
    snprintf(topic, sizeof(topic), "users.user.%s", verb);
    plt_event *ev;
    if (plt_event_new(&ev, topic, 1) != 0)
        return;
    plt_event_set_str(ev, "login", login);
    if (actor)
        plt_event_set_str(ev, "actor", actor);
    plt_event_publish(ev);
}

/* ------------------------------------------------------------------ */
/* Changes: a statement and its audit row in one transaction */

static void
on_change_committed(void *arg, int status, const char *msg)
{
    acct_req *r = arg;
    if (status != 0) {
        storage_msg(r, status, msg);
    } else {
        r->status = 0;
        users_publish(r->verb, r->login, r->actor);
    }
    deliver(r);
}

/* Run r->stmts[0] (filled by the caller, with its none_status) and the
 * audit row of r->action; deliver the outcome. */
static int
run_change(acct_req *r)
{
    snprintf(r->object, sizeof(r->object), "user:%s", r->login);
    users_audit_stmt(&r->stmts[1], plt_now(), r->actor, r->action, r->object,
                     r->details[0] ? r->details : NULL, r->origin);
    return users_txn_run(r->u, r->stmts, 2, on_change_committed, r);
}

/* Continue after a hash in a loop callback: failures are delivered. */
static void
run_change_or_deliver(acct_req *r)
{
    int rc = run_change(r);
    if (rc != 0) {
        storage_msg(r, rc, NULL);
        deliver(r);
    }
}

/* Hash r->password on a worker; @p done continues. Failures to submit are
 * reported through fail_later (we are still inside the caller's call). */
static int
hash_then(acct_req *r, users_hash_fn done)
{
    int rc = users_hash_submit(&r->u->hasher, USERS_HASH_MAKE, r->password,
                               r->pwlen, NULL, false, done, r);
    wipe_password(r);
    if (rc == 0)
        return 0;
    if (rc == PLT_EAGAIN)
        set_msg(r, rc,
                "too many passwords being checked right now; "
                "try again in a moment");
    else
        set_msg(r, rc, "cannot hash the password: %s", plt_strerror(rc));
    return fail_later(r);
}

static bool
hashed_ok(acct_req *r, int status, const char *hash)
{
    if (status != 0 || !hash) {
        set_msg(r, status ? status : PLT_EIO, "cannot hash the password: %s",
                plt_strerror(status ? status : PLT_EIO));
        deliver(r);
        return false;
    }
    snprintf(r->hash, sizeof(r->hash), "%s", hash);
    return true;
}

/* ---- create ---- */

static void
on_create_hashed(void *arg, int status, const char *hash)
{
    acct_req *r = arg;
    if (!hashed_ok(r, status, hash))
        return;
    int64_t now = plt_now();
    users_stmt *s = &r->stmts[0];
    memset(s, 0, sizeof(*s));
    s->sql = users_sql_insert;
    s->args[0] = PLT_V_STR(r->login);
    s->args[1] = PLT_V_STR(r->name);
    s->args[2] = PLT_V_I64(r->role);
    s->args[3] = PLT_V_STR(r->hash);
    s->args[4] = PLT_V_I64(r->must_change ? 1 : 0);
    s->args[5] = PLT_V_I64(now);
    s->nargs = 6;
    s->none_status = PLT_EEXIST;
    run_change_or_deliver(r);
}

int
users_create(void *impl, const plt_user_new *nu, const char *password,
             const char *actor, const char *origin, plt_users_done_fn done,
             void *arg)
{
    users *u = impl;
    if (!u || !nu || nu->size < sizeof(plt_user_new) || !password || !actor ||
        !done)
        return PLT_EINVAL;
    int rc = users_accepting(u);
    if (rc != 0)
        return rc;
    acct_req *r = req_new(u, actor, origin);
    if (!r)
        return PLT_ENOMEM;
    r->done = done;
    r->arg = arg;
    r->status = PLT_EINVAL;
    if (users_login_check(nu->login, r->msg, sizeof(r->msg)) != 0)
        return fail_later(r);
    snprintf(r->login, sizeof(r->login), "%s", nu->login);
    if (!plt_role_name(nu->role)) {
        set_msg(r, PLT_EINVAL, "role must be admin, supervisor or agent");
        return fail_later(r);
    }
    const char *name = nu->name ? nu->name : nu->login;
    if (users_name_check(name, r->msg, sizeof(r->msg)) != 0)
        return fail_later(r);
    if (users_policy_check(&u->cfg, r->login, password, r->msg,
                           sizeof(r->msg)) != 0)
        return fail_later(r);
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->role = nu->role;
    r->must_change = nu->must_change_password;
    r->status = 0;
    r->msg[0] = '\0';
    r->action = "user.created";
    r->verb = "created";
    /* Only fixed words and numbers go into details: no escaping needed,
     * and no free text (a name) that could carry a secret. */
    snprintf(r->details, sizeof(r->details),
             "{\"role\":\"%s\",\"must_change_password\":%s}",
             plt_role_name(r->role), r->must_change ? "true" : "false");
    if (take_password(r, password) != 0) {
        req_free(r);
        return PLT_ENOMEM;
    }
    return hash_then(r, on_create_hashed);
}

/* ---- set_password ---- */

static void
on_password_hashed(void *arg, int status, const char *hash)
{
    acct_req *r = arg;
    if (!hashed_ok(r, status, hash))
        return;
    users_stmt *s = &r->stmts[0];
    memset(s, 0, sizeof(*s));
    s->sql = users_sql_set_password;
    s->args[0] = PLT_V_STR(r->login);
    s->args[1] = PLT_V_STR(r->hash);
    s->args[2] = PLT_V_I64(r->must_change ? 1 : 0);
    s->args[3] = PLT_V_I64(plt_now());
    s->nargs = 4;
    s->none_status = PLT_ENOENT;
    run_change_or_deliver(r);
}

/* Fold a login given to a lookup; an impossible one is "no such user". */
static int
lookup_login(acct_req *r, const char *login)
{
    if (users_login_fold(login, r->login) != 0) {
        set_msg(r, PLT_ENOENT, "no user '%.64s'", login);
        return PLT_ENOENT;
    }
    return 0;
}

int
users_set_password(void *impl, const char *login, const char *password,
                   bool force_change, const char *actor, const char *origin,
                   plt_users_done_fn done, void *arg)
{
    users *u = impl;
    if (!u || !login || !password || !actor || !done)
        return PLT_EINVAL;
    int rc = users_accepting(u);
    if (rc != 0)
        return rc;
    acct_req *r = req_new(u, actor, origin);
    if (!r)
        return PLT_ENOMEM;
    r->done = done;
    r->arg = arg;
    if (lookup_login(r, login) != 0)
        return fail_later(r);
    if (users_policy_check(&u->cfg, r->login, password, r->msg,
                           sizeof(r->msg)) != 0) {
        r->status = PLT_EINVAL;
        return fail_later(r);
    }
    r->must_change = force_change;
    r->action = "user.password_changed";
    r->verb = "password_changed";
    snprintf(r->details, sizeof(r->details), "{\"must_change_password\":%s}",
             force_change ? "true" : "false");
    if (take_password(r, password) != 0) {
        req_free(r);
        return PLT_ENOMEM;
    }
    return hash_then(r, on_password_hashed);
}

/* ---- update ---- */

int
users_update(void *impl, const char *login, int32_t role, const char *name,
             int disabled, const char *actor, const char *origin,
             plt_users_done_fn done, void *arg)
{
    users *u = impl;
    if (!u || !login || !actor || !done)
        return PLT_EINVAL;
    int rc = users_accepting(u);
    if (rc != 0)
        return rc;
    acct_req *r = req_new(u, actor, origin);
    if (!r)
        return PLT_ENOMEM;
    r->done = done;
    r->arg = arg;
    if (lookup_login(r, login) != 0)
        return fail_later(r);
    if (role != 0 && !plt_role_name(role)) {
        set_msg(r, PLT_EINVAL, "role must be admin, supervisor or agent");
        return fail_later(r);
    }
    if (name && users_name_check(name, r->msg, sizeof(r->msg)) != 0) {
        r->status = PLT_EINVAL;
        return fail_later(r);
    }
    if (role == 0 && !name && disabled < 0) {
        set_msg(r, PLT_EINVAL, "nothing to change");
        return fail_later(r);
    }
    if (name) {
        snprintf(r->name, sizeof(r->name), "%s", name);
        r->has_name = true;
    }
    r->role = role;
    r->disabled = disabled < 0 ? -1 : disabled ? 1 : 0;

    /* Enabling or disabling alone gets its own action: it is what an
     * auditor looks for. */
    if (role == 0 && !name) {
        r->action = r->disabled ? "user.disabled" : "user.enabled";
        r->verb = r->disabled ? "disabled" : "enabled";
    } else {
        r->action = "user.updated";
        r->verb = "updated";
    }
    int n = snprintf(r->details, sizeof(r->details), "{");
    if (role != 0)
        n += snprintf(r->details + n, sizeof(r->details) - (size_t)n,
                      "\"role\":\"%s\",", plt_role_name(role));
    if (name)
        n += snprintf(r->details + n, sizeof(r->details) - (size_t)n,
                      "\"name_changed\":true,");
    if (r->disabled >= 0)
        n += snprintf(r->details + n, sizeof(r->details) - (size_t)n,
                      "\"disabled\":%s,", r->disabled ? "true" : "false");
    r->details[n - 1] = '}';

    users_stmt *s = &r->stmts[0];
    s->sql = users_sql_update;
    s->args[0] = PLT_V_STR(r->login);
    s->args[1] = role != 0 ? PLT_V_I64(role) : PLT_V_NULL();
    s->args[2] = r->has_name ? PLT_V_STR(r->name) : PLT_V_NULL();
    s->args[3] = r->disabled >= 0 ? PLT_V_I64(r->disabled) : PLT_V_NULL();
    s->nargs = 4;
    s->none_status = PLT_ENOENT;
    rc = run_change(r);
    if (rc != 0) {
        req_free(r);
        return rc;
    }
    return 0;
}

/* ---- unlock ---- */

int
users_unlock(void *impl, const char *login, const char *actor,
             const char *origin, plt_users_done_fn done, void *arg)
{
    users *u = impl;
    if (!u || !login || !actor || !done)
        return PLT_EINVAL;
    int rc = users_accepting(u);
    if (rc != 0)
        return rc;
    acct_req *r = req_new(u, actor, origin);
    if (!r)
        return PLT_ENOMEM;
    r->done = done;
    r->arg = arg;
    if (lookup_login(r, login) != 0)
        return fail_later(r);
    r->action = "user.unlocked";
    r->verb = "unlocked";
    users_stmt *s = &r->stmts[0];
    s->sql = users_sql_unlock;
    s->args[0] = PLT_V_STR(r->login);
    s->nargs = 1;
    s->none_status = PLT_ENOENT;
    rc = run_change(r);
    if (rc != 0) {
        req_free(r);
        return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Reads */

static int
get_row(void *arg, const plt_storage_row *row)
{
    acct_req *r = arg;
    if (users_row_decode(row, &r->found) == 0)
        r->have_row = true;
    return 0;
}

static void
on_got(void *arg, int status, const plt_storage_result *res)
{
    (void)res;
    acct_req *r = arg;
    r->status = status != 0 ? status : r->have_row ? 0 : PLT_ENOENT;
    deliver(r);
}

int
users_get(void *impl, const char *login, plt_user_fn cb, void *arg)
{
    users *u = impl;
    if (!u || !login || !cb)
        return PLT_EINVAL;
    int rc = users_accepting(u);
    if (rc != 0)
        return rc;
    acct_req *r = req_new(u, NULL, NULL);
    if (!r)
        return PLT_ENOMEM;
    r->ucb = cb;
    r->arg = arg;
    if (lookup_login(r, login) != 0)
        return fail_later(r);
    plt_value a = PLT_V_STR(r->login);
    rc = plt_storage_exec(&u->st, users_sql_get, &a, 1, 0, get_row, on_got, r);
    if (rc != 0) {
        req_free(r);
        return rc;
    }
    return 0;
}

static int
list_row(void *arg, const plt_storage_row *row)
{
    acct_req *r = arg;
    users_row ur;
    if (users_row_decode(row, &ur) != 0)
        return 0;
    plt_user user;
    users_row_to_user(&r->u->cfg, &ur, plt_now(), &user);
    if (r->row(r->arg, &user) != 0) {
        r->consumer_stopped = true;
        return 1;
    }
    return 0;
}

static void
on_listed(void *arg, int status, const plt_storage_result *res)
{
    acct_req *r = arg;
    /* Stopping early at the consumer's request is not a failure. */
    if (status == PLT_ECANCELED && r->consumer_stopped)
        status = 0;
    if (status != 0)
        storage_msg(r, status, res ? res->error : NULL);
    r->status = status;
    deliver(r);
}

int
users_list(void *impl, int64_t offset, int64_t limit, plt_user_row_fn row,
           plt_users_done_fn done, void *arg)
{
    users *u = impl;
    if (!u || !row || !done)
        return PLT_EINVAL;
    int rc = users_accepting(u);
    if (rc != 0)
        return rc;
    acct_req *r = req_new(u, NULL, NULL);
    if (!r)
        return PLT_ENOMEM;
    r->done = done;
    r->row = row;
    r->arg = arg;
    plt_value a[2] = {PLT_V_I64(limit > 0 ? limit : INT64_MAX),
                      PLT_V_I64(offset > 0 ? offset : 0)};
    rc = plt_storage_exec(&u->st, users_sql_list, a, 2, 0, list_row, on_listed,
                          r);
    if (rc != 0) {
        req_free(r);
        return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* The audit log */

static void
on_audit_written(void *arg, int status, const plt_storage_result *res)
{
    acct_req *r = arg;
    if (status != 0) {
        storage_msg(r, status, res ? res->error : NULL);
        if (!r->done)
            plt_log_err(PLT_LOG_WARN, status, "audit of %s not written",
                        r->action);
    }
    r->status = status;
    deliver(r);
}

static bool
text_ok(const char *s, size_t max, bool required)
{
    if (!s)
        return !required;
    size_t n = strlen(s);
    return (!required || n > 0) && n <= max;
}

int
users_audit(void *impl, const char *actor, const char *action,
            const char *object, const char *details, const char *origin,
            plt_users_done_fn done, void *arg)
{
    users *u = impl;
    if (!u || !text_ok(actor, TEXT_MAX, true) ||
        !text_ok(action, TEXT_MAX, true) || !text_ok(object, TEXT_MAX, false) ||
        !text_ok(origin, TEXT_MAX, false) ||
        !text_ok(details, DETAILS_MAX, false))
        return PLT_EINVAL;
    int rc = users_accepting(u);
    if (rc != 0)
        return rc;
    acct_req *r = req_new(u, NULL, NULL);
    if (!r)
        return PLT_ENOMEM;
    /* done may be NULL: a fire-and-forget entry, whose failure is logged. */
    r->done = done;
    r->arg = arg;
    r->action = "an entry";
    users_stmt s;
    users_audit_stmt(&s, plt_now(), actor, action, object, details, origin);
    rc = plt_storage_exec(&u->st, s.sql, s.args, s.nargs, PLT_STORAGE_WRITE,
                          NULL, on_audit_written, r);
    if (rc != 0) {
        req_free(r);
        return rc;
    }
    return 0;
}

static int
audit_row(void *arg, const plt_storage_row *row)
{
    acct_req *r = arg;
    plt_audit_entry e = {
        .id = users_col_i64(row, 0),
        .at = users_col_i64(row, 1),
        .actor = users_col_str(row, 2),
        .action = users_col_str(row, 3),
        .object = users_col_str(row, 4),
        .details = users_col_str(row, 5),
        .origin = users_col_str(row, 6),
    };
    if (r->arow(r->arg, &e) != 0) {
        r->consumer_stopped = true;
        return 1;
    }
    return 0;
}

int
users_audit_list(void *impl, int64_t before_id, int64_t limit,
                 plt_audit_row_fn row, plt_users_done_fn done, void *arg)
{
    users *u = impl;
    if (!u || !row || !done)
        return PLT_EINVAL;
    int rc = users_accepting(u);
    if (rc != 0)
        return rc;
    acct_req *r = req_new(u, NULL, NULL);
    if (!r)
        return PLT_ENOMEM;
    r->done = done;
    r->arow = row;
    r->arg = arg;
    plt_value a[2] = {PLT_V_I64(before_id > 0 ? before_id : INT64_MAX),
                      PLT_V_I64(limit > 0 ? limit : INT64_MAX)};
    rc = plt_storage_exec(&u->st, users_sql_audit_list, a, 2, 0, audit_row,
                          on_listed, r);
    if (rc != 0) {
        req_free(r);
        return rc;
    }
    return 0;
}

const plt_users_vt users_vtable = {
    .size = sizeof(plt_users_vt),
    .authenticate = users_authenticate,
    .create = users_create,
    .set_password = users_set_password,
    .get = users_get,
    .list = users_list,
    .update = users_update,
    .unlock = users_unlock,
    .audit = users_audit,
    .audit_list = users_audit_list,
};
