/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL going away under load (robustness T-FAULT-4, the storage
 * half). A steady stream of autocommit INSERTs, eight in flight at any
 * time, runs while the harness (tests/lib/pg.sh):
 *   A. restarts the server (pg_ctl restart -m fast: every session is
 *      terminated, the server is back within a second);
 *   B. stops it for longer than connect_timeout, then starts it again;
 *   C. and a backend is killed with SIGKILL in the middle of a statement
 *      (the server then restarts every session, as after a crash);
 *   D. then stops it and storage is stopped meanwhile.
 * What a user relies on:
 *  - the process survives and every statement is answered, with 0, or
 *    PLT_EAGAIN (it did not happen: safe to retry), or PLT_EIO (it may
 *    have happened) - nothing else, and nothing hangs: queued work fails
 *    PLT_EAGAIN once it waited connect_timeout for a connection;
 *  - a statement reported done is in the table, one reported PLT_EAGAIN is
 *    not: nothing is lost silently;
 *  - a statement in flight when its connection dies unanswered is
 *    reported PLT_EIO;
 *  - the plugin reconnects by itself (later statements succeed), without
 *    spinning while the server is away, and logs each outage once and
 *    each recovery once;
 *  - LISTEN still receives after reconnections;
 *  - stop() does not wait for a server that is away.
 *
 * Runs alone (RUN_SERIAL): it takes the shared server down.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "pg_test_util.h"

enum { MAX_IDS = 400000, IN_FLIGHT = 8 };
enum { S_PENDING = 0, S_OK, S_EAGAIN, S_EIO, S_OTHER };

static pgt_env env;

/* The load: counters of the current phase. */
static struct driver {
    plt_fake_host *fh;
    plt_storage st;
    unsigned char *status; /* per id */
    int64_t next_id;
    int in_flight;
    bool issuing;
    long ok, eagain, eio, other;
    char other_error[512];
    /* the harness command in progress */
    bool spawned, exited;
    int exit_status;
    int in_flight_at_spawn;
    uv_process_t proc;
} d;

static void issue(void);

static void
on_insert(void *arg, int status, const plt_storage_result *res)
{
    int64_t id = (int64_t)(intptr_t)arg;
    d.in_flight--;
    unsigned char s;
    if (status == 0) {
        s = S_OK;
        d.ok++;
    } else if (status == PLT_EAGAIN) {
        s = S_EAGAIN;
        d.eagain++;
    } else if (status == PLT_EIO) {
        s = S_EIO;
        d.eio++;
    } else {
        s = S_OTHER;
        if (!d.other++)
            snprintf(d.other_error, sizeof(d.other_error), "%d %s", status,
                     res && res->error ? res->error : "");
    }
    d.status[id] = s;
    issue();
}

static void
issue(void)
{
    while (d.issuing && d.in_flight < IN_FLIGHT && d.next_id < MAX_IDS) {
        int64_t id = d.next_id++;
        plt_value a[] = {PLT_V_I64(id), PLT_V_TIME(plt_fake_host_now(d.fh))};
        int rc = d.st.vt->query(d.st.impl, NULL,
                                "INSERT INTO pgt_restart (id, at) VALUES "
                                "($1, $2)",
                                a, 2, PLT_STORAGE_WRITE, NULL, on_insert,
                                (void *)(intptr_t)id);
        assert_int_equal(rc, 0);
        d.in_flight++;
    }
}

static void
phase_reset(void)
{
    d.ok = d.eagain = d.eio = d.other = 0;
    d.other_error[0] = '\0';
}

static void
on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
    d.exited = true;
    d.exit_status = sig ? 128 + sig : (int)status;
    uv_close((uv_handle_t *)p, NULL);
}

/* Run `pg.sh CMD DIR` beside the loop (the load goes on meanwhile). */
static void
spawn_harness(const char *cmd)
{
    char *args[] = {"bash", env.sh, (char *)cmd, env.dir, NULL};
    uv_stdio_container_t io[3] = {{.flags = UV_IGNORE},
                                  {.flags = UV_INHERIT_FD, .data.fd = 2},
                                  {.flags = UV_INHERIT_FD, .data.fd = 2}};
    uv_process_options_t o = {.file = "bash",
                              .args = args,
                              .exit_cb = on_exit_cb,
                              .stdio = io,
                              .stdio_count = 3};
    d.spawned = true;
    d.exited = false;
    d.in_flight_at_spawn = d.in_flight;
    assert_int_equal(uv_spawn(plt_fake_host_loop(d.fh), &d.proc, &o), 0);
}

/* After the fake host is gone: run the harness synchronously. */
static void
spawn_harness_blocking(const char *cmd)
{
    assert_int_equal(pgt_harness(&env, cmd), 0);
}

static void
wait_harness(void)
{
    assert_true(pgt_wait(d.fh, &d.exited, 120000));
    assert_int_equal(d.exit_status, 0);
    d.spawned = false;
}

/* Keep the load running until @p n statements of this phase succeeded. */
static void
load_until_ok(long n, uint64_t max_ms)
{
    uint64_t end = pgt_ms() + max_ms;
    d.issuing = true;
    issue();
    while (d.ok < n && pgt_ms() < end)
        pgt_spin(d.fh, 20);
    if (d.ok < n)
        fail_msg("only %ld statements succeeded in %llu ms (EAGAIN %ld, EIO "
                 "%ld)",
                 d.ok, (unsigned long long)max_ms, d.eagain, d.eio);
}

static void
load_stop(void)
{
    d.issuing = false;
    for (int i = 0; i < 600 && d.in_flight > 0; i++)
        pgt_spin(d.fh, 100);
    assert_int_equal(d.in_flight, 0);
}

static void
phase_check(const char *name)
{
    fprintf(stderr,
            "%s: ok %ld, EAGAIN %ld, EIO %ld, other %ld (%d in flight when "
            "the harness began)\n",
            name, d.ok, d.eagain, d.eio, d.other, d.in_flight_at_spawn);
    if (d.other)
        fail_msg("%s: %ld statement(s) failed otherwise, first: %s", name,
                 d.other, d.other_error);
}

typedef struct heard {
    bool got;
    char payload[64];
} heard;

static void
on_notify(void *arg, const char *channel, const char *payload)
{
    (void)channel;
    heard *h = arg;
    h->got = true;
    snprintf(h->payload, sizeof(h->payload), "%s", payload);
}

/* Notify until heard (a notification sent while the listener was still
 * reconnecting is lost: PostgreSQL keeps none for a gone session). */
static bool
hear(heard *h, const char *payload)
{
    h->got = false;
    for (int i = 0; i < 40 && !(h->got && !strcmp(h->payload, payload)); i++) {
        pgt_res r = {0};
        int rc =
            d.st.vt->notify(d.st.impl, "pgt_restart", payload, pgt_on_done, &r);
        assert_int_equal(rc, 0);
        pgt_wait(d.fh, &r.done, 10000);
        pgt_wait(d.fh, &h->got, 500);
    }
    return h->got && strcmp(h->payload, payload) == 0;
}

static double
cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Run @p sql until it succeeds (the pool reconnecting). */
static void
until_ok(const char *sql, uint64_t max_ms)
{
    uint64_t end = pgt_ms() + max_ms;
    int rc;
    do {
        rc = pgt_exec(d.fh, &d.st, NULL, sql, NULL, 0, NULL);
        if (rc != 0)
            pgt_spin(d.fh, 200);
    } while (rc != 0 && pgt_ms() < end);
    assert_int_equal(rc, 0);
}

/* A statement whose connection dies unanswered (SIGKILL of its backend)
 * is reported PLT_EIO: it was sent, and its outcome is unknown. */
static void
phase_kill_backend(void)
{
    pgt_res victim = {0};
    int64_t vid = d.next_id++;
    plt_value a[] = {PLT_V_I64(vid)};
    assert_int_equal(
        d.st.vt->query(d.st.impl, NULL,
                       "INSERT INTO pgt_restart (id, at) SELECT $1, 0 FROM "
                       "pg_sleep(5)",
                       a, 1, PLT_STORAGE_WRITE, NULL, pgt_on_done, &victim),
        0);
    /* Find its backend from another connection of the pool. */
    int64_t pid = 0;
    for (int i = 0; i < 50 && !pid; i++) {
        pgt_res r = {0};
        assert_int_equal(
            pgt_exec(d.fh, &d.st, NULL,
                     "SELECT pid FROM pg_stat_activity WHERE state = "
                     "'active' AND query LIKE 'INSERT INTO pgt_restart (id, "
                     "at) SELECT%'",
                     NULL, 0, &r),
            0);
        if (r.nints == 1)
            pid = r.ints[0];
        pgt_res_free(&r);
        if (!pid)
            pgt_spin(d.fh, 50);
    }
    assert_true(pid > 0);
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
    assert_true(pgt_wait(d.fh, &victim.done, 30000));
    fprintf(stderr, "kill -9 of backend %lld mid-statement: %d (%s)\n",
            (long long)pid, victim.status, victim.error);
    assert_int_equal(victim.status, PLT_EIO);
    d.status[vid] = S_EIO;
    pgt_res_free(&victim);
    /* The server reinitialises after a backend crash; then we are back. */
    until_ok("SELECT 1", 60000);
}

static void
test_outages_under_load(void **state)
{
    (void)state;
    assert_int_equal(pgt_env_load(&env), 0);
    char *y = pgt_yaml(&env, "pool: 4\nconnect_timeout: 2s\n"
                             "reconnect_max: 1s\n");
    d.fh = pgt_host(y, false, &d.st);
    free(y);
    assert_non_null(d.fh);
    if (plt_fake_host_start(d.fh) != 0)
        fail_msg("start: %s", plt_fake_host_last_error(d.fh));
    d.status = calloc(MAX_IDS, 1);
    assert_non_null(d.status);
    d.next_id = 1;

    pgt_ok(d.fh, &d.st, "DROP TABLE IF EXISTS pgt_restart", NULL, 0);
    pgt_ok(d.fh, &d.st,
           "CREATE TABLE pgt_restart (id BIGINT PRIMARY KEY, at BIGINT)", NULL,
           0);
    heard h = {0};
    plt_storage_listener *l;
    assert_int_equal(
        d.st.vt->listen(d.st.impl, "pgt_restart", on_notify, &h, &l), 0);
    assert_true(hear(&h, "before"));
    plt_fake_host_logs_clear(d.fh);

    /* A. Restart in the middle of the load. */
    phase_reset();
    load_until_ok(300, 30000);
    spawn_harness("restart");
    wait_harness();
    phase_reset();
    load_until_ok(300, 30000);
    load_stop();
    phase_check("A restart");
    assert_true(d.in_flight_at_spawn > 0);
    assert_true(hear(&h, "after restart"));

    /* B. Away for longer than connect_timeout (2 s). */
    phase_reset();
    load_until_ok(100, 30000);
    spawn_harness("halt");
    wait_harness();
    uint64_t t0 = pgt_ms();
    double c0 = cpu_seconds();
    while (pgt_ms() - t0 < 4000)
        pgt_spin(d.fh, 100);
    double cpu = cpu_seconds() - c0;
    long eagain_during = d.eagain;
    spawn_harness("resume");
    wait_harness();
    long ok_before = d.ok;
    load_until_ok(ok_before + 300, 60000);
    load_stop();
    phase_check("B outage");
    fprintf(stderr, "B outage: %.2f s of CPU in 4 s without a server\n", cpu);
    /* Waiting work was failed, not kept forever... */
    assert_true(eagain_during > 0);
    /* ...and nobody spun meanwhile (back-off, no busy loop). */
    assert_true(cpu < 1.0);
    assert_true(hear(&h, "after outage"));

    /* C. A backend killed under a statement. */
    phase_reset();
    phase_kill_backend();
    load_until_ok(100, 30000);
    load_stop();
    phase_check("C kill -9");
    assert_true(hear(&h, "after kill"));

    /* Nothing lost silently, nothing reported failed that happened. */
    pgt_res r = {0};
    assert_int_equal(pgt_exec(d.fh, &d.st, NULL,
                              "SELECT id FROM pgt_restart ORDER BY id", NULL, 0,
                              &r),
                     0);
    unsigned char *in = calloc(MAX_IDS, 1);
    assert_non_null(in);
    for (size_t i = 0; i < r.nints; i++)
        in[r.ints[i]] = 1;
    long missing = 0, phantom = 0, maybe_in = 0, pending = 0;
    for (int64_t id = 1; id < d.next_id; id++) {
        if (d.status[id] == S_OK && !in[id])
            missing++;
        if (d.status[id] == S_EAGAIN && in[id])
            phantom++;
        if (d.status[id] == S_EIO && in[id])
            maybe_in++;
        if (d.status[id] == S_PENDING)
            pending++;
    }
    fprintf(stderr,
            "%lld statements; table: %zu rows; EIO statements that did "
            "commit: %ld\n",
            (long long)(d.next_id - 1), r.nints, maybe_in);
    assert_int_equal(pending, 0);
    assert_int_equal(missing, 0);
    assert_int_equal(phantom, 0);
    free(in);
    pgt_res_free(&r);

    /* Each outage logged once, each recovery once. */
    assert_int_equal(
        plt_fake_host_log_count(d.fh, PLT_LOG_WARN, "lost the connection"), 3);
    assert_int_equal(
        plt_fake_host_log_count(d.fh, PLT_LOG_NOTICE, "reconnected to"), 3);
    plt_storage_status s = {.size = sizeof(s)};
    assert_int_equal(d.st.vt->status(d.st.impl, &s), 0);
    assert_int_equal(s.connected, 1);

    d.st.vt->unlisten(d.st.impl, l);

    /* D. Stopping while the server is away: what waits for a connection
     * fails at once (PLT_EAGAIN) instead of holding the stop. */
    spawn_harness("halt");
    wait_harness();
    pgt_spin(d.fh, 300);
    pgt_res w[3];
    memset(w, 0, sizeof(w));
    for (int i = 0; i < 3; i++)
        assert_int_equal(d.st.vt->query(d.st.impl, NULL, "SELECT 1", NULL, 0, 0,
                                        NULL, pgt_on_done, &w[i]),
                         0);
    uint64_t t1 = pgt_ms();
    assert_int_equal(plt_fake_host_stop(d.fh), 0);
    fprintf(stderr, "D stop without a server: %llu ms\n",
            (unsigned long long)(pgt_ms() - t1));
    assert_true(pgt_ms() - t1 < 1500);
    for (int i = 0; i < 3; i++) {
        assert_true(w[i].done);
        assert_int_equal(w[i].status, PLT_EAGAIN);
    }
    assert_int_equal(plt_fake_host_free(d.fh), 0);
    spawn_harness_blocking("resume");
    free(d.status);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outages_under_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
