/* SPDX-License-Identifier: MIT */
/*
 * The users plugin as its consumers rely on it, on the fake host with the
 * real SQLite engine: storage_sqlite.so then users.so, loaded as built,
 * on the simulated clock. Small Argon2 parameters keep hashing fast; the
 * concurrency test uses larger ones so that hashes overlap in time.
 *
 * Covered: creating and logging in; a wrong password counting, locking at
 * the threshold with PLT_ELOCKED and locked_until, and the lock expiring
 * on the simulated clock; unknown logins refused after the same hashing
 * work; the password policy naming the rule; disabled accounts refused;
 * the hash concurrency cap and the bounded queue (PLT_EAGAIN); the audit
 * log written for every outcome and refusing UPDATE and DELETE; expiry of
 * old passwords; rehash when the parameters change.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include <plateau/plateau.h>
#include <plateau/svc/storage.h>
#include <plateau/svc/users.h>
#include <plateau/testing/fake_host.h>

#define GOOD_PW "Correct-Horse-9"
#define SMALL_HASH "hash_ops: 1\nhash_memory: 65536\n"
#define MINUTE (60 * 1000)
#define DAY (24 * 60 * MINUTE)

typedef struct fixture {
    plt_fake_host *fh;
    plt_plugin *users_p;
    const plt_users_vt *vt;
    void *impl;
    plt_storage st;
    uv_timer_t guard;
} fixture;

/* ------------------------------------------------------------------ */
/* Harness */

static void
guard_tick(uv_timer_t *t)
{
    (void)t; /* only wakes uv_run(UV_RUN_ONCE) so that the flag is checked */
}

/*
 * Run the loop until *flag is set. plt_fake_host_run_until_idle() delivers
 * everything queued and waits for plt_queue_work() jobs; if the engine has
 * work on its own threads that the clock does not know about, the loop is
 * also run directly, woken at least every 10 ms by a guard timer. Fails
 * the test after ~30 s.
 */
static void
wait_flag(fixture *f, const bool *flag)
{
    uv_loop_t *loop = plt_fake_host_loop(f->fh);
    for (int i = 0; i < 3000 && !*flag; i++) {
        plt_fake_host_run_until_idle(f->fh);
        if (*flag)
            break;
        uv_timer_start(&f->guard, guard_tick, 10, 0);
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&f->guard);
    assert_true(*flag);
}

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || plt_fake_host_new(&f->fh, NULL) != 0) {
        free(f);
        return -1;
    }
    uv_timer_init(plt_fake_host_loop(f->fh), &f->guard);
    *state = f;
    return 0;
}

static void
guard_closed(uv_handle_t *h)
{
    (void)h;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    uv_close((uv_handle_t *)&f->guard, guard_closed);
    uv_run(plt_fake_host_loop(f->fh), UV_RUN_NOWAIT);
    int rc = plt_fake_host_free(f->fh);
    if (rc != 0)
        print_error("plt_fake_host_free: %d (a handle leaked)\n", rc);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Load storage_sqlite.so then users.so with @p users_yaml, init, start,
 * and acquire both services. */
static fixture *
open_users(void **state, const char *users_yaml)
{
    fixture *f = *state;
    const char *dir = getenv("PLATEAU_PLUGIN_DIR");
    char so[PATH_MAX];
    snprintf(so, sizeof(so), "%s/storage_sqlite.so", dir ? dir : ".");
    int rc = plt_fake_host_add_so(f->fh, so, NULL, NULL);
    if (rc != 0)
        print_error("%s: %s\n", so, plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    snprintf(so, sizeof(so), "%s/users.so", dir ? dir : ".");
    rc = plt_fake_host_add_so(f->fh, so, users_yaml, &f->users_p);
    if (rc != 0)
        print_error("%s: %s\n", so, plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    rc = plt_fake_host_init(f->fh);
    if (rc != 0)
        print_error("init: %s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    rc = plt_fake_host_start(f->fh);
    if (rc != 0)
        print_error("start: %s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);

    plt_service_ref ref;
    assert_int_equal(
        plt_fake_host_acquire(f->fh, PLT_USERS_NAME, PLT_USERS_MAJOR, 0, &ref),
        0);
    f->vt = ref.vtable;
    f->impl = ref.impl;
    assert_true(f->vt->size >= sizeof(plt_users_vt));
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_STORAGE_NAME,
                                           PLT_STORAGE_MAJOR, 0, &ref),
                     0);
    f->st.vt = ref.vtable;
    f->st.impl = ref.impl;
    plt_fake_host_run_until_idle(f->fh);
    return f;
}

/* A copy of what a callback reported. */
typedef struct res {
    bool done;
    int status;
    char msg[256];
    bool has_user;
    plt_user u;
    char login[80];
    char name[160];
} res;

static void
on_user(void *arg, int status, const plt_user *u)
{
    res *r = arg;
    r->done = true;
    r->status = status;
    r->has_user = u != NULL;
    if (u) {
        r->u = *u;
        snprintf(r->login, sizeof(r->login), "%s", u->login);
        snprintf(r->name, sizeof(r->name), "%s", u->name);
        /* res is returned by value: keep the strings in login/name and
         * no pointer into the copy. */
        r->u.login = NULL;
        r->u.name = NULL;
    }
}

static void
on_done(void *arg, int status, const char *msg)
{
    res *r = arg;
    r->done = true;
    r->status = status;
    snprintf(r->msg, sizeof(r->msg), "%s", msg ? msg : "");
}

static res
create_user(fixture *f, const char *login, int32_t role, const char *pw)
{
    res r = {0};
    plt_user_new nu = {.size = sizeof(nu),
                       .login = login,
                       .role = role,
                       .must_change_password = true};
    assert_int_equal(
        f->vt->create(f->impl, &nu, pw, "test:admin", "127.0.0.1", on_done, &r),
        0);
    wait_flag(f, &r.done);
    return r;
}

static res
auth(fixture *f, const char *login, const char *pw)
{
    res r = {0};
    assert_int_equal(
        f->vt->authenticate(f->impl, login, pw, "192.0.2.7", on_user, &r), 0);
    wait_flag(f, &r.done);
    return r;
}

static res
get_user(fixture *f, const char *login)
{
    res r = {0};
    assert_int_equal(f->vt->get(f->impl, login, on_user, &r), 0);
    wait_flag(f, &r.done);
    return r;
}

/* Raw SQL through the storage service, for what the users API does not
 * show (the stored hash) or must refuse (rewriting the audit log). */
typedef struct sqlres {
    bool done;
    int status;
    int64_t rows;
    char text[256];
    int64_t num;
    char error[256];
} sqlres;

static int
sql_row(void *arg, const plt_storage_row *row)
{
    sqlres *s = arg;
    s->rows++;
    if (row->ncols > 0) {
        if (row->vals[0].type == PLT_T_STR)
            snprintf(s->text, sizeof(s->text), "%s", row->vals[0].v.s);
        else if (row->vals[0].type == PLT_T_I64)
            s->num = row->vals[0].v.i;
    }
    return 0;
}

static void
sql_done(void *arg, int status, const plt_storage_result *result)
{
    sqlres *s = arg;
    s->done = true;
    s->status = status;
    if (result && result->error)
        snprintf(s->error, sizeof(s->error), "%s", result->error);
}

static sqlres
sql(fixture *f, const char *text, const plt_value *args, size_t n,
    uint32_t flags)
{
    sqlres s = {0};
    assert_int_equal(
        plt_storage_exec(&f->st, text, args, n, flags, sql_row, sql_done, &s),
        0);
    wait_flag(f, &s.done);
    return s;
}

static int64_t
audit_count(fixture *f, const char *action)
{
    plt_value a = PLT_V_STR(action);
    sqlres s =
        sql(f, "SELECT COUNT(*) FROM audit_log WHERE action = $1", &a, 1, 0);
    assert_int_equal(s.status, 0);
    return s.num;
}

/* The latest users.hasher.drained event's field, or -1. */
static int64_t
hasher_stat(fixture *f, const char *key)
{
    const plt_event *ev =
        plt_fake_host_event_last(f->fh, "users.hasher.drained");
    return ev ? plt_fake_event_i64(ev, key, -1) : -1;
}

/* ------------------------------------------------------------------ */
/* Tests */

static void
create_then_authenticate(void **state)
{
    fixture *f = open_users(state, SMALL_HASH);
    res c = create_user(f, "alice", PLT_ROLE_ADMIN, GOOD_PW);
    assert_int_equal(c.status, 0);
    assert_int_equal(plt_fake_host_event_count(f->fh, "users.user.created"), 1);

    res r = auth(f, "alice", GOOD_PW);
    assert_int_equal(r.status, 0);
    assert_true(r.has_user);
    assert_string_equal(r.login, "alice");
    assert_string_equal(r.name, "alice"); /* no name given: the login */
    assert_int_equal(r.u.role, PLT_ROLE_ADMIN);
    assert_true(r.u.must_change_password);
    assert_false(r.u.disabled);
    assert_false(r.u.password_expired);
    assert_int_equal(r.u.failed_logins, 0);
    assert_int_equal(r.u.locked_until, 0);
    assert_int_equal(r.u.created_at, plt_fake_host_now(f->fh));

    /* Logins are case-insensitive on the way in. */
    assert_int_equal(auth(f, "Alice", GOOD_PW).status, 0);

    /* Stored as a self-describing Argon2id string, never the password. */
    plt_value a = PLT_V_STR("alice");
    sqlres s =
        sql(f, "SELECT password_hash FROM app_user WHERE login = $1", &a, 1, 0);
    assert_int_equal(s.status, 0);
    assert_non_null(strstr(s.text, "$argon2id$v=19$m=64,t=1,p=1$"));
    assert_null(strstr(s.text, GOOD_PW));

    /* A taken login is refused and named. */
    c = create_user(f, "alice", PLT_ROLE_AGENT, GOOD_PW);
    assert_int_equal(c.status, PLT_EEXIST);
    assert_non_null(strstr(c.msg, "taken"));
}

static void
wrong_password_locks_then_lock_expires(void **state)
{
    fixture *f = open_users(state, SMALL_HASH);
    assert_int_equal(create_user(f, "bob", PLT_ROLE_AGENT, GOOD_PW).status, 0);

    for (int i = 1; i <= 5; i++) {
        res r = auth(f, "bob", "Wrong-Horse-9");
        assert_int_equal(r.status, PLT_EAUTH);
        assert_false(r.has_user);
        assert_int_equal(get_user(f, "bob").u.failed_logins, i);
    }
    /* The 6th failure reaches the threshold: locked for 15 minutes. */
    int64_t t6 = plt_fake_host_now(f->fh);
    res r = auth(f, "bob", "Wrong-Horse-9");
    assert_int_equal(r.status, PLT_ELOCKED);
    assert_true(r.has_user);
    assert_int_equal(r.u.failed_logins, 6);
    assert_int_equal(r.u.locked_until, t6 + 15 * MINUTE);
    assert_int_equal(plt_fake_host_event_count(f->fh, "users.user.locked"), 1);

    /* Locked: even the right password is refused, without hashing. */
    plt_fake_host_events_clear(f->fh);
    r = auth(f, "bob", GOOD_PW);
    assert_int_equal(r.status, PLT_ELOCKED);
    assert_int_equal(r.u.locked_until, t6 + 15 * MINUTE);
    assert_int_equal(plt_fake_host_event_count(f->fh, "users.hasher.drained"),
                     0);
    assert_int_equal(audit_count(f, "login.locked"), 1);

    /* One millisecond before the end it still is. */
    plt_fake_host_run_for(f->fh, 15 * MINUTE - 1);
    assert_int_equal(auth(f, "bob", GOOD_PW).status, PLT_ELOCKED);

    /* Then it expires, and a success resets the counter. */
    plt_fake_host_run_for(f->fh, 1);
    r = auth(f, "bob", GOOD_PW);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.u.failed_logins, 0);
    assert_int_equal(r.u.locked_until, 0);
}

static void
expired_lock_restarts_the_count(void **state)
{
    fixture *f = open_users(state, SMALL_HASH "lockout_threshold: 3\n"
                                              "lockout_duration: 1m\n");
    assert_int_equal(create_user(f, "carl", PLT_ROLE_AGENT, GOOD_PW).status, 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(auth(f, "carl", "Wrong-Horse-9").status, PLT_EAUTH);
    assert_int_equal(auth(f, "carl", "Wrong-Horse-9").status, PLT_ELOCKED);
    plt_fake_host_run_for(f->fh, MINUTE);
    /* After the lock, a wrong password is the first of a new series. */
    res r = auth(f, "carl", "Wrong-Horse-9");
    assert_int_equal(r.status, PLT_EAUTH);
    r = get_user(f, "carl");
    assert_int_equal(r.u.failed_logins, 1);
    assert_int_equal(r.u.locked_until, 0);
    /* An administrator can unlock by hand. */
    for (int i = 0; i < 2; i++)
        (void)auth(f, "carl", "Wrong-Horse-9");
    assert_true(get_user(f, "carl").u.locked_until > 0);
    res d = {0};
    assert_int_equal(
        f->vt->unlock(f->impl, "carl", "test:admin", NULL, on_done, &d), 0);
    wait_flag(f, &d.done);
    assert_int_equal(d.status, 0);
    assert_int_equal(auth(f, "carl", GOOD_PW).status, 0);
    assert_int_equal(audit_count(f, "user.unlocked"), 1);
}

static void
unknown_login_refused_after_a_hash(void **state)
{
    fixture *f = open_users(state, SMALL_HASH);
    assert_int_equal(create_user(f, "dora", PLT_ROLE_AGENT, GOOD_PW).status, 0);
    int64_t before = hasher_stat(f, "completed");
    assert_true(before >= 1);

    res r = auth(f, "nobody", GOOD_PW);
    assert_int_equal(r.status, PLT_EAUTH);
    assert_false(r.has_user);
    /* The same hashing work as a wrong password (timing reveals nothing). */
    assert_int_equal(hasher_stat(f, "completed"), before + 1);

    r = auth(f, "not a login!", GOOD_PW);
    assert_int_equal(r.status, PLT_EAUTH);
    assert_int_equal(hasher_stat(f, "completed"), before + 2);

    /* Audited as anonymous; the invalid login text is not recorded. */
    plt_value a = PLT_V_STR("anonymous");
    sqlres s = sql(f,
                   "SELECT COUNT(*) FROM audit_log WHERE actor = $1 AND"
                   " action = 'login.failed'",
                   &a, 1, 0);
    assert_int_equal(s.num, 2);
    s = sql(f, "SELECT COUNT(*) FROM audit_log WHERE object = 'user:nobody'",
            NULL, 0, 0);
    assert_int_equal(s.num, 1);
    s = sql(f, "SELECT COUNT(*) FROM audit_log WHERE object LIKE '%login!%'",
            NULL, 0, 0);
    assert_int_equal(s.num, 0);
    /* get() of an unknown login. */
    assert_int_equal(get_user(f, "nobody").status, PLT_ENOENT);
}

static void
policy_names_the_rule(void **state)
{
    fixture *f = open_users(state, SMALL_HASH);
    static const struct {
        const char *pw, *rule;
    } cases[] = {
        {"Sh0rt!", "at least 10 characters"},
        {"alllowercaseletters", "at least 3 of"},
        {"ALLUPPER1234567", "at least 3 of"},
        {"Password123!", "too common"},
        {"Xeve-2024-Spring", "must not contain the login"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        res r = create_user(f, "eve", PLT_ROLE_AGENT, cases[i].pw);
        assert_int_equal(r.status, PLT_EINVAL);
        if (!strstr(r.msg, cases[i].rule))
            fail_msg("'%s': got '%s', wanted '%s'", cases[i].pw, r.msg,
                     cases[i].rule);
    }
    /* Characters, not bytes: nine accented letters + digit are 10. */
    assert_int_equal(create_user(f, "eve", PLT_ROLE_AGENT,
                                 "\xc3\xa9t\xc3\xa9-\xc3\xa9t\xc3\xa9-9")
                         .status,
                     PLT_EINVAL);
    assert_int_equal(create_user(f, "eve", PLT_ROLE_AGENT,
                                 "\xc3\xa9t\xc3\xa9-\xc3\xa9t\xc3\xa9-99Z")
                         .status,
                     0);
    /* Bad logins and roles are named too. */
    res r = create_user(f, "Eve Smith", PLT_ROLE_AGENT, GOOD_PW);
    assert_int_equal(r.status, PLT_EINVAL);
    assert_non_null(strstr(r.msg, "login must be"));
    r = create_user(f, "frank", 7, GOOD_PW);
    assert_int_equal(r.status, PLT_EINVAL);
    assert_non_null(strstr(r.msg, "role"));
    /* set_password applies the policy as well. */
    res d = {0};
    assert_int_equal(f->vt->set_password(f->impl, "eve", "short", false,
                                         "test:admin", NULL, on_done, &d),
                     0);
    wait_flag(f, &d.done);
    assert_int_equal(d.status, PLT_EINVAL);
    assert_non_null(strstr(d.msg, "at least 10"));
}

static void
set_password_clears_lock_and_forced_change(void **state)
{
    fixture *f = open_users(state, SMALL_HASH "lockout_threshold: 2\n");
    assert_int_equal(create_user(f, "gus", PLT_ROLE_AGENT, GOOD_PW).status, 0);
    (void)auth(f, "gus", "Wrong-Horse-9");
    assert_int_equal(auth(f, "gus", "Wrong-Horse-9").status, PLT_ELOCKED);
    res d = {0};
    assert_int_equal(f->vt->set_password(f->impl, "gus", "New-Battery-77",
                                         false, "test:admin", NULL, on_done,
                                         &d),
                     0);
    wait_flag(f, &d.done);
    assert_int_equal(d.status, 0);
    assert_int_equal(auth(f, "gus", GOOD_PW).status, PLT_EAUTH);
    res r = auth(f, "gus", "New-Battery-77");
    assert_int_equal(r.status, 0);
    assert_false(r.u.must_change_password);
    assert_int_equal(audit_count(f, "user.password_changed"), 1);
    /* An unknown login is named. */
    memset(&d, 0, sizeof(d));
    assert_int_equal(f->vt->set_password(f->impl, "ghost", "New-Battery-77",
                                         true, "test:admin", NULL, on_done, &d),
                     0);
    wait_flag(f, &d.done);
    assert_int_equal(d.status, PLT_ENOENT);
    assert_non_null(strstr(d.msg, "ghost"));
}

static void
disabled_user_refused(void **state)
{
    fixture *f = open_users(state, SMALL_HASH);
    assert_int_equal(
        create_user(f, "hana", PLT_ROLE_SUPERVISOR, GOOD_PW).status, 0);
    res d = {0};
    assert_int_equal(f->vt->update(f->impl, "hana", 0, NULL, 1, "test:admin",
                                   NULL, on_done, &d),
                     0);
    wait_flag(f, &d.done);
    assert_int_equal(d.status, 0);
    assert_int_equal(plt_fake_host_event_count(f->fh, "users.user.disabled"),
                     1);
    int64_t before = hasher_stat(f, "completed");
    res r = auth(f, "hana", GOOD_PW);
    assert_int_equal(r.status, PLT_EAUTH); /* indistinguishable */
    assert_false(r.has_user);
    /* Verified all the same, so it answers in the usual time. */
    assert_int_equal(hasher_stat(f, "completed"), before + 1);
    /* Failures are not counted against a disabled account. */
    assert_int_equal(get_user(f, "hana").u.failed_logins, 0);

    memset(&d, 0, sizeof(d));
    assert_int_equal(f->vt->update(f->impl, "hana", PLT_ROLE_AGENT, "Hana K.",
                                   0, "test:admin", NULL, on_done, &d),
                     0);
    wait_flag(f, &d.done);
    assert_int_equal(d.status, 0);
    r = auth(f, "hana", GOOD_PW);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.u.role, PLT_ROLE_AGENT);
    assert_string_equal(r.name, "Hana K.");
    assert_int_equal(audit_count(f, "user.disabled"), 1);
    assert_int_equal(audit_count(f, "user.updated"), 1);
}

typedef struct burst {
    int done, ok, again, other;
} burst;

static void
on_burst(void *arg, int status, const plt_user *u)
{
    (void)u;
    burst *b = arg;
    b->done++;
    if (status == 0)
        b->ok++;
    else if (status == PLT_EAGAIN)
        b->again++;
    else
        b->other++;
}

static void
wait_count(fixture *f, const int *count, int want)
{
    bool flag = false;
    uv_loop_t *loop = plt_fake_host_loop(f->fh);
    for (int i = 0; i < 6000 && !flag; i++) {
        plt_fake_host_run_until_idle(f->fh);
        flag = *count >= want;
        if (flag)
            break;
        uv_timer_start(&f->guard, guard_tick, 10, 0);
        uv_run(loop, UV_RUN_ONCE);
        flag = *count >= want;
    }
    uv_timer_stop(&f->guard);
    assert_int_equal(*count, want);
}

static void
concurrency_cap_holds(void **state)
{
    /* 4 MiB per hash: long enough that uncapped hashes would overlap on
     * the four libuv workers. */
    fixture *f = open_users(state, "hash_ops: 1\nhash_memory: 4194304\n"
                                   "hash_concurrency: 2\nhash_queue: 100\n");
    assert_int_equal(create_user(f, "ines", PLT_ROLE_AGENT, GOOD_PW).status, 0);
    burst b = {0};
    for (int i = 0; i < 50; i++)
        assert_int_equal(
            f->vt->authenticate(f->impl, "ines", GOOD_PW, "lan", on_burst, &b),
            0);
    wait_count(f, &b.done, 50);
    assert_int_equal(b.ok, 50);
    int64_t max = hasher_stat(f, "max_running");
    print_message("max concurrent hashes: %lld\n", (long long)max);
    assert_true(max >= 1);
    assert_true(max <= 2);
    assert_int_equal(audit_count(f, "login.succeeded"), 50);
}

static void
queue_overflow_is_eagain(void **state)
{
    fixture *f =
        open_users(state, SMALL_HASH "hash_concurrency: 1\nhash_queue: 2\n");
    assert_int_equal(create_user(f, "jack", PLT_ROLE_AGENT, GOOD_PW).status, 0);
    burst b = {0};
    for (int i = 0; i < 10; i++)
        assert_int_equal(
            f->vt->authenticate(f->impl, "jack", GOOD_PW, "lan", on_burst, &b),
            0);
    wait_count(f, &b.done, 10);
    /* One running and two waiting are admitted, in arrival order. */
    assert_int_equal(b.ok, 3);
    assert_int_equal(b.again, 7);
    assert_int_equal(b.other, 0);
    assert_int_equal(audit_count(f, "login.throttled"), 7);
    assert_true(hasher_stat(f, "rejected") >= 7);
    /* Once drained, logins are admitted again. */
    assert_int_equal(auth(f, "jack", GOOD_PW).status, 0);
}

typedef struct audit_seen {
    int n;
    int64_t last_id;
    bool ordered;
    char actions[16][32];
    char actors[16][48];
    bool done;
    int status;
} audit_seen;

static int
audit_row(void *arg, const plt_audit_entry *e)
{
    audit_seen *a = arg;
    if (a->n > 0 && e->id >= a->last_id)
        a->ordered = false;
    a->last_id = e->id;
    if (a->n < 16) {
        snprintf(a->actions[a->n], sizeof(a->actions[0]), "%s", e->action);
        snprintf(a->actors[a->n], sizeof(a->actors[0]), "%s", e->actor);
    }
    a->n++;
    return 0;
}

static void
audit_done(void *arg, int status, const char *msg)
{
    (void)msg;
    audit_seen *a = arg;
    a->done = true;
    a->status = status;
}

static void
audit_is_appended_and_append_only(void **state)
{
    fixture *f = open_users(state, SMALL_HASH);
    assert_int_equal(create_user(f, "kim", PLT_ROLE_AGENT, GOOD_PW).status, 0);
    assert_int_equal(auth(f, "kim", GOOD_PW).status, 0);
    assert_int_equal(auth(f, "kim", "Wrong-Horse-9").status, PLT_EAUTH);
    res d = {0};
    assert_int_equal(f->vt->audit(f->impl, "user:kim", "campaign.updated",
                                  "campaign:7", "{\"field\":\"ratio\"}",
                                  "10.0.0.9", on_done, &d),
                     0);
    wait_flag(f, &d.done);
    assert_int_equal(d.status, 0);

    audit_seen a = {.ordered = true};
    assert_int_equal(
        f->vt->audit_list(f->impl, 0, 10, audit_row, audit_done, &a), 0);
    wait_flag(f, &a.done);
    assert_int_equal(a.status, 0);
    assert_int_equal(a.n, 4);
    assert_true(a.ordered); /* newest first */
    assert_string_equal(a.actions[0], "campaign.updated");
    assert_string_equal(a.actions[1], "login.failed");
    assert_string_equal(a.actors[1], "user:kim");
    assert_string_equal(a.actions[2], "login.succeeded");
    assert_string_equal(a.actions[3], "user.created");
    assert_string_equal(a.actors[3], "test:admin");

    /* Paging: entries older than the second one. */
    int64_t second;
    {
        audit_seen p = {.ordered = true};
        assert_int_equal(
            f->vt->audit_list(f->impl, 0, 2, audit_row, audit_done, &p), 0);
        wait_flag(f, &p.done);
        assert_int_equal(p.n, 2);
        second = p.last_id;
        audit_seen q = {.ordered = true};
        assert_int_equal(
            f->vt->audit_list(f->impl, second, 10, audit_row, audit_done, &q),
            0);
        wait_flag(f, &q.done);
        assert_int_equal(q.n, 2);
        assert_string_equal(q.actions[0], "login.succeeded");
    }

    /* The database itself refuses to rewrite history. */
    sqlres s = sql(f, "UPDATE audit_log SET actor = 'someone else'", NULL, 0,
                   PLT_STORAGE_WRITE);
    assert_true(s.status < 0);
    assert_non_null(strstr(s.error, "append-only"));
    s = sql(f, "DELETE FROM audit_log", NULL, 0, PLT_STORAGE_WRITE);
    assert_true(s.status < 0);
    assert_non_null(strstr(s.error, "append-only"));
    s = sql(f, "SELECT COUNT(*) FROM audit_log WHERE actor <> 'someone else'",
            NULL, 0, 0);
    assert_int_equal(s.num, 4);
}

static void
password_expires_after_max_age(void **state)
{
    fixture *f = open_users(state, SMALL_HASH "password_max_age: 90d\n");
    assert_int_equal(create_user(f, "lea", PLT_ROLE_AGENT, GOOD_PW).status, 0);
    res r = auth(f, "lea", GOOD_PW);
    assert_int_equal(r.status, 0);
    assert_false(r.u.password_expired);
    plt_fake_host_run_for(f->fh, 90LL * DAY - 1);
    assert_false(auth(f, "lea", GOOD_PW).u.password_expired);
    plt_fake_host_run_for(f->fh, 1);
    r = auth(f, "lea", GOOD_PW);
    assert_int_equal(r.status,
                     0); /* still logs in; the caller asks for a change */
    assert_true(r.u.password_expired);
    assert_true(get_user(f, "lea").u.password_expired);
}

static void
rehash_when_parameters_change(void **state)
{
    fixture *f = open_users(state, SMALL_HASH);
    assert_int_equal(create_user(f, "max", PLT_ROLE_AGENT, GOOD_PW).status, 0);
    assert_int_equal(plt_fake_host_reconfigure(f->fh, f->users_p,
                                               "hash_ops: 2\n"
                                               "hash_memory: 131072\n"),
                     0);
    plt_value a = PLT_V_STR("max");
    const char *q = "SELECT password_hash FROM app_user WHERE login = $1";
    assert_non_null(strstr(sql(f, q, &a, 1, 0).text, "$m=64,t=1,"));
    /* A wrong password does not upgrade anything. */
    assert_int_equal(auth(f, "max", "Wrong-Horse-9").status, PLT_EAUTH);
    assert_non_null(strstr(sql(f, q, &a, 1, 0).text, "$m=64,t=1,"));
    assert_int_equal(auth(f, "max", GOOD_PW).status, 0);
    assert_non_null(strstr(sql(f, q, &a, 1, 0).text, "$m=128,t=2,"));
    assert_int_equal(auth(f, "max", GOOD_PW).status, 0);
}

typedef struct listing {
    int n, stop_after;
    char logins[8][16];
    bool done;
    int status;
} listing;

static int
list_row(void *arg, const plt_user *u)
{
    listing *l = arg;
    if (l->n < 8)
        snprintf(l->logins[l->n], sizeof(l->logins[0]), "%s", u->login);
    l->n++;
    return l->stop_after && l->n >= l->stop_after;
}

static void
list_done(void *arg, int status, const char *msg)
{
    (void)msg;
    listing *l = arg;
    l->done = true;
    l->status = status;
}

static void
list_orders_by_login_and_pages(void **state)
{
    fixture *f = open_users(state, SMALL_HASH);
    const char *names[] = {"nina", "anna", "mona"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            create_user(f, names[i], PLT_ROLE_AGENT, GOOD_PW).status, 0);
    listing l = {0};
    assert_int_equal(f->vt->list(f->impl, 0, 0, list_row, list_done, &l), 0);
    wait_flag(f, &l.done);
    assert_int_equal(l.status, 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.logins[0], "anna");
    assert_string_equal(l.logins[1], "mona");
    assert_string_equal(l.logins[2], "nina");

    listing p = {0};
    assert_int_equal(f->vt->list(f->impl, 1, 1, list_row, list_done, &p), 0);
    wait_flag(f, &p.done);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.logins[0], "mona");

    listing s = {.stop_after = 1};
    assert_int_equal(f->vt->list(f->impl, 0, 0, list_row, list_done, &s), 0);
    wait_flag(f, &s.done);
    assert_int_equal(s.status, 0); /* stopping early is not an error */
    assert_int_equal(s.n, 1);
}

static void
misuse_is_refused_at_once(void **state)
{
    fixture *f = open_users(state, SMALL_HASH);
    res r = {0};
    assert_int_equal(f->vt->authenticate(f->impl, NULL, "x", NULL, on_user, &r),
                     PLT_EINVAL);
    assert_int_equal(f->vt->authenticate(f->impl, "a", NULL, NULL, on_user, &r),
                     PLT_EINVAL);
    assert_int_equal(f->vt->create(f->impl, NULL, "x", "a", NULL, on_done, &r),
                     PLT_EINVAL);
    assert_int_equal(
        f->vt->audit(f->impl, NULL, "x", NULL, NULL, NULL, NULL, NULL),
        PLT_EINVAL);
    plt_fake_host_run_until_idle(f->fh);
    assert_false(r.done);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_then_authenticate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(wrong_password_locks_then_lock_expires,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(expired_lock_restarts_the_count, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unknown_login_refused_after_a_hash,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(policy_names_the_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(
            set_password_clears_lock_and_forced_change, setup, teardown),
        cmocka_unit_test_setup_teardown(disabled_user_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrency_cap_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(queue_overflow_is_eagain, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(audit_is_appended_and_append_only,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(password_expires_after_max_age, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(rehash_when_parameters_change, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(list_orders_by_login_and_pages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(misuse_is_refused_at_once, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
