/* SPDX-License-Identifier: MIT */
/*
 * authenticate(): is this the right password for this login?
 *
 * The steps, each on the loop thread between asynchronous calls:
 *  1. reserve a hashing slot (a burst beyond cap + queue is refused with
 *     PLT_EAGAIN in arrival order, before any database work);
 *  2. fetch the user row;
 *  3. a locked account is refused with PLT_ELOCKED without looking at the
 *     password (the slot is given back);
 *  4. verify the password on a worker: against the stored hash, or, for
 *     an unknown login, against the dummy hash, so both cost one Argon2
 *     computation and timing does not tell who exists. A disabled account
 *     is verified too, for the same reason, and then refused;
 *  5. record the outcome in ONE UPDATE ... RETURNING (a failure increments
 *     the counter and may lock, a success resets it and stores a rehash),
 *     so concurrent attempts never lose a count;
 *  6. write the audit row (login.succeeded, login.failed, login.locked,
 *     login.throttled), then call back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "users_int.h"

typedef struct auth_req {
    users *u;
    char login[USERS_LOGIN_MAX + 1]; /* folded; "" if not a valid login */
    char *password;                  /* wiped and freed once submitted */
    size_t pwlen;
    bool pw_too_long;
    char *origin;
    plt_user_fn cb;
    void *arg;
    bool reserved; /* holds a hashing slot */
    bool found;    /* the user row exists */
    bool updated;  /* the outcome UPDATE returned the row */
    users_hash_kind kind;
    users_row row;
    char newhash[USERS_HASH_MAX]; /* rehash to store, or "" */
    /* Outcome. */
    int status;
    bool with_user; /* pass the user to the callback (0, PLT_ELOCKED) */
    const char *action;
    char details[192];
    char actor[USERS_LOGIN_MAX + 8];
    char object[USERS_LOGIN_MAX + 8];
} auth_req;

static void
wipe_password(auth_req *r)
{
    if (r->password) {
        sodium_memzero(r->password, r->pwlen);
        free(r->password);
        r->password = NULL;
    }
}

static void
req_free(auth_req *r)
{
    users *u = r->u;
    wipe_password(r);
    if (r->reserved)
        users_hash_unreserve(&u->hasher);
    free(r->origin);
    sodium_memzero(r->newhash, sizeof(r->newhash));
    free(r);
    users_req_end(u);
}

static void
deliver(auth_req *r)
{
    plt_user user;
    const plt_user *up = NULL;
    if (r->with_user && r->found) {
        users_row_to_user(&r->u->cfg, &r->row, plt_now(), &user);
        up = &user;
    }
    r->cb(r->arg, r->status, up);
    req_free(r);
}

static void
on_audited(void *arg, int status, const plt_storage_result *res)
{
    auth_req *r = arg;
    if (status != 0)
        plt_log_err(PLT_LOG_WARN, status, "audit of %s for %s not written%s%s",
                    r->action, r->object[0] ? r->object : "an invalid login",
                    res && res->error ? ": " : "",
                    res && res->error ? res->error : "");
    deliver(r);
}

/* Write the audit row for the outcome, then call back. */
static void
finish(auth_req *r, int status, const char *action)
{
    r->status = status;
    r->action = action;
    if (r->found)
        snprintf(r->actor, sizeof(r->actor), "user:%s", r->row.login);
    else
        snprintf(r->actor, sizeof(r->actor), "anonymous");
    /* The login typed is recorded only when it is a valid login: an
     * invalid one is often a password typed in the wrong field. */
    if (r->login[0])
        snprintf(r->object, sizeof(r->object), "user:%s", r->login);
    users_stmt s;
    users_audit_stmt(&s, plt_now(), r->actor, action,
                     r->object[0] ? r->object : NULL,
                     r->details[0] ? r->details : NULL, r->origin);
    int rc = plt_storage_exec(&r->u->st, s.sql, s.args, s.nargs,
                              PLT_STORAGE_WRITE, NULL, on_audited, r);
    if (rc != 0) {
        plt_log_err(PLT_LOG_WARN, rc, "audit of %s not written", action);
        deliver(r);
    }
}

static int
updated_row(void *arg, const plt_storage_row *row)
{
    auth_req *r = arg;
    users_row tmp;
    if (users_row_decode(row, &tmp) == 0) {
        r->row = tmp;
        r->updated = true;
    }
    return 0;
}

static void
on_failure_recorded(void *arg, int status, const plt_storage_result *res)
{
    auth_req *r = arg;
    if (status != 0) {
        plt_log_err(PLT_LOG_WARN, status,
                    "cannot count a failed login of %s%s%s", r->login,
                    res && res->error ? ": " : "",
                    res && res->error ? res->error : "");
        snprintf(r->details, sizeof(r->details),
                 "{\"reason\":\"wrong password\",\"counted\":false}");
        finish(r, PLT_EAUTH, "login.failed");
        return;
    }
    if (!r->updated) {
        /* The account was deleted while its password was being checked. */
        snprintf(r->details, sizeof(r->details),
                 "{\"reason\":\"unknown login\"}");
        finish(r, PLT_EAUTH, "login.failed");
        return;
    }
    int64_t now = plt_now();
    if (r->row.locked_until > now) {
        snprintf(r->details, sizeof(r->details),
                 "{\"reason\":\"wrong password\",\"failed_logins\":%d,"
                 "\"locked_until\":%lld}",
                 (int)r->row.failed_logins, (long long)r->row.locked_until);
        /* This failure reached the threshold: tell listeners (e.g. to
         * alert an administrator). */
        if (r->row.failed_logins == r->u->cfg.lockout_threshold)
            users_publish("locked", r->row.login, NULL);
        r->with_user = true;
        finish(r, PLT_ELOCKED, "login.failed");
        return;
    }
    snprintf(r->details, sizeof(r->details),
             "{\"reason\":\"wrong password\",\"failed_logins\":%d}",
             (int)r->row.failed_logins);
    finish(r, PLT_EAUTH, "login.failed");
}

static void
on_success_recorded(void *arg, int status, const plt_storage_result *res)
{
    auth_req *r = arg;
    if (status != 0) {
        /* The password was right but the database cannot record it: do
         * not let the user in on a state we could not write. */
        plt_log_err(PLT_LOG_WARN, status, "cannot record the login of %s%s%s",
                    r->login, res && res->error ? ": " : "",
                    res && res->error ? res->error : "");
        snprintf(r->details, sizeof(r->details),
                 "{\"reason\":\"storage error\"}");
        finish(r, status, "login.failed");
        return;
    }
    if (!r->updated) {
        snprintf(r->details, sizeof(r->details),
                 "{\"reason\":\"unknown login\"}");
        finish(r, PLT_EAUTH, "login.failed");
        return;
    }
    if (r->row.locked_until > plt_now()) {
        /* Locked by concurrent failures while this password was being
         * checked: the lock wins. */
        r->with_user = true;
        finish(r, PLT_ELOCKED, "login.locked");
        return;
    }
    if (r->row.disabled) {
        snprintf(r->details, sizeof(r->details),
                 "{\"reason\":\"account disabled\"}");
        finish(r, PLT_EAUTH, "login.failed");
        return;
    }
    if (r->newhash[0])
        snprintf(r->details, sizeof(r->details), "{\"rehashed\":true}");
    r->with_user = true;
    finish(r, 0, "login.succeeded");
}

static void
on_verified(void *arg, int status, const char *hash)
{
    auth_req *r = arg;
    users *u = r->u;
    if (status == PLT_ECANCELED || status == PLT_ESHUTDOWN) {
        /* Stopping: no audit (nothing was decided), just the outcome. */
        r->status = status;
        deliver(r);
        return;
    }
    if (r->kind == USERS_HASH_DUMMY) {
        snprintf(r->details, sizeof(r->details), "{\"reason\":\"%s\"}",
                 r->pw_too_long ? "password too long"
                 : r->found     ? "no password set"
                                : "unknown login");
        finish(r, PLT_EAUTH, "login.failed");
        return;
    }
    if (status != 0 && status != PLT_EAUTH) {
        snprintf(r->details, sizeof(r->details),
                 "{\"reason\":\"password check failed\"}");
        finish(r, status, "login.failed");
        return;
    }
    if (r->row.disabled) {
        /* Verified only so that a disabled account answers in the same
         * time as any other; the answer is no, whatever the password. */
        snprintf(r->details, sizeof(r->details),
                 "{\"reason\":\"account disabled\"}");
        finish(r, PLT_EAUTH, "login.failed");
        return;
    }

    int64_t now = plt_now();
    plt_value args[4];
    const char *sql;
    size_t nargs;
    plt_storage_done_fn done;
    if (status == PLT_EAUTH) {
        int64_t thr =
            u->cfg.lockout_threshold > 0 ? u->cfg.lockout_threshold : INT64_MAX;
        args[0] = PLT_V_I64(r->row.id);
        args[1] = PLT_V_I64(now);
        args[2] = PLT_V_I64(thr);
        args[3] = PLT_V_I64(now + u->cfg.lockout_duration_ms);
        nargs = 4;
        sql = users_sql_login_failed;
        done = on_failure_recorded;
    } else {
        args[0] = PLT_V_I64(r->row.id);
        args[1] = PLT_V_I64(now);
        nargs = 2;
        sql = users_sql_login_ok;
        if (hash) {
            snprintf(r->newhash, sizeof(r->newhash), "%s", hash);
            args[2] = PLT_V_STR(r->newhash);
            nargs = 3;
            sql = users_sql_login_ok_rehash;
        }
        done = on_success_recorded;
    }
    r->updated = false;
    int rc = plt_storage_exec(&u->st, sql, args, nargs, PLT_STORAGE_WRITE,
                              updated_row, done, r);
    if (rc != 0) {
        snprintf(r->details, sizeof(r->details),
                 "{\"reason\":\"storage error\"}");
        finish(r, status == 0 ? rc : PLT_EAUTH, "login.failed");
    }
}

/* Hash-verify on a worker, using the slot reserved on arrival. Returns
 * the submit status (the slot is given back on failure). */
static int
verify(auth_req *r, users_hash_kind kind, const char *hash)
{
    r->kind = kind;
    r->reserved = false; /* consumed (or released) by the submit */
    int rc = users_hash_submit(&r->u->hasher, kind, r->password, r->pwlen, hash,
                               true, on_verified, r);
    wipe_password(r);
    return rc;
}

static void
on_fetched(void *arg, int status, const plt_storage_result *res)
{
    auth_req *r = arg;
    if (status != 0) {
        plt_log_err(PLT_LOG_WARN, status, "cannot read user %s%s%s", r->login,
                    res && res->error ? ": " : "",
                    res && res->error ? res->error : "");
        snprintf(r->details, sizeof(r->details),
                 "{\"reason\":\"storage error\"}");
        finish(r, status, "login.failed");
        return;
    }
    if (r->found && r->row.locked_until > plt_now()) {
        users_hash_unreserve(&r->u->hasher);
        r->reserved = false;
        snprintf(r->details, sizeof(r->details), "{\"locked_until\":%lld}",
                 (long long)r->row.locked_until);
        r->with_user = true;
        finish(r, PLT_ELOCKED, "login.locked");
        return;
    }
    /* No such user, or one without a password: the dummy, for timing. */
    int rc = r->found && r->row.hash[0]
                 ? verify(r, USERS_HASH_VERIFY, r->row.hash)
                 : verify(r, USERS_HASH_DUMMY, NULL);
    if (rc != 0) {
        snprintf(r->details, sizeof(r->details),
                 "{\"reason\":\"password check failed\"}");
        finish(r, rc, "login.failed");
    }
}

static int
fetched_row(void *arg, const plt_storage_row *row)
{
    auth_req *r = arg;
    if (users_row_decode(row, &r->row) == 0)
        r->found = true;
    return 0;
}

static void
on_throttle_audited(void *arg, int status, const plt_storage_result *res)
{
    (void)res;
    auth_req *r = arg;
    if (status != 0)
        plt_log_err(PLT_LOG_WARN, status,
                    "audit of login.throttled not written");
    deliver(r);
}

int
users_authenticate(void *impl, const char *login, const char *password,
                   const char *origin, plt_user_fn cb, void *arg)
{
    users *u = impl;
    if (!u || !login || !password || !cb)
        return PLT_EINVAL;
    int rc = users_accepting(u);
    if (rc != 0)
        return rc;
    auth_req *r = calloc(1, sizeof(*r));
    if (!r)
        return PLT_ENOMEM;
    size_t pwlen = strlen(password);
    /* An over-long password cannot be right (the policy never accepted
     * one); it is still hashed, truncated, so that it costs the usual. */
    if (pwlen > USERS_PASSWORD_MAX) {
        pwlen = USERS_PASSWORD_MAX;
        r->pw_too_long = true;
    }
    r->password = malloc(pwlen + 1);
    r->origin = origin ? strdup(origin) : NULL;
    if (!r->password || (origin && !r->origin)) {
        free(r->password);
        free(r->origin);
        free(r);
        return PLT_ENOMEM;
    }
    memcpy(r->password, password, pwlen);
    r->password[pwlen] = '\0';
    r->pwlen = pwlen;
    r->u = u;
    r->cb = cb;
    r->arg = arg;
    (void)users_login_fold(login, r->login);
    users_req_begin(u);

    rc = users_hash_reserve(&u->hasher);
    if (rc == PLT_EAGAIN) {
        /* Over the cap: refused before any database read or hash, but
         * still audited (credential stuffing shows up as these). */
        r->status = PLT_EAGAIN;
        r->action = "login.throttled";
        if (r->login[0])
            snprintf(r->object, sizeof(r->object), "user:%s", r->login);
        users_stmt s;
        users_audit_stmt(&s, plt_now(), "anonymous", r->action,
                         r->object[0] ? r->object : NULL, NULL, r->origin);
        rc = plt_storage_exec(&u->st, s.sql, s.args, s.nargs, PLT_STORAGE_WRITE,
                              NULL, on_throttle_audited, r);
        if (rc != 0) {
            req_free(r);
            return PLT_EAGAIN;
        }
        return 0;
    }
    if (rc != 0) {
        req_free(r);
        return rc;
    }
    r->reserved = true;

    if (!r->login[0] || r->pw_too_long) {
        /* Not a login that can exist (or a password that cannot match):
         * still one hash, for timing. A valid login with an over-long
         * password counts as unknown rather than as a failure, so that
         * nobody can lock an account without trying a real password. */
        rc = verify(r, USERS_HASH_DUMMY, NULL);
    } else {
        plt_value a = PLT_V_STR(r->login);
        rc = plt_storage_exec(&u->st, users_sql_get, &a, 1, 0, fetched_row,
                              on_fetched, r);
    }
    if (rc != 0) {
        req_free(r);
        return rc;
    }
    return 0;
}
