/* SPDX-License-Identifier: MIT */
/*
 * Tests of the SDK's fake host itself (libplateau-testing.a), with a probe
 * plugin defined below and the example plugin loaded as a .so: lifecycle
 * order and failures, stub services and `needs`, asynchronous stop and its
 * deadline, simulated time waiting for work and posts, the real clock,
 * event delivery opening at start, log recording, reload rules, commands,
 * and the leak check of plt_fake_host_free().
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <plateau/loop.h>
#include <plateau/plateau.h>
#include <plateau/testing/fake_host.h>

/* ------------------------------------------------------------------ */
/* The probe plugin */

typedef struct stub_vt {
    uint32_t size;
    int (*ping)(void *impl);
} stub_vt;

static int
stub_ping(void *impl)
{
    int *n = impl;
    return ++*n;
}

static const stub_vt stub_vtable = {.size = sizeof(stub_vt), .ping = stub_ping};

static struct probe {
    bool async_stop, never_stop, leak_handle, worker, poster, async_cmd;
    int64_t tick_ms;
    int optional_rc;
    int pings;
    plt_timer *tick, *stop_timer;
    uv_timer_t raw; /* static storage: safe to close after fini */
    pthread_t thread;
    bool thread_on;
} probe;

static void
on_tick(void *arg)
{
    (void)arg;
    plt_event *ev;
    if (plt_event_new(&ev, "probe.timer.fired", 1) == 0)
        plt_event_publish(ev);
}

static void
publish_simple(const char *topic)
{
    plt_event *ev;
    if (plt_event_new(&ev, topic, 1) == 0)
        plt_event_publish(ev);
}

static void
work_run(void *arg)
{
    (void)arg;
    usleep(20000); /* real time passes; virtual time must not */
}

static void
work_done(void *arg, int status)
{
    (void)arg;
    (void)status;
    publish_simple("probe.work.finished");
}

static void
posted(void *arg)
{
    (void)arg;
    publish_simple("probe.post.received");
    plt_work_end();
}

static void *
thread_main(void *arg)
{
    (void)arg;
    usleep(20000);
    plt_post(posted, NULL); /* the one call allowed off the loop */
    return NULL;
}

static int
probe_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    memset(&probe, 0, sizeof(probe));
    plt_cfg_bool(cfg, "async_stop", &probe.async_stop);
    plt_cfg_bool(cfg, "never_stop", &probe.never_stop);
    plt_cfg_bool(cfg, "leak_handle", &probe.leak_handle);
    plt_cfg_bool(cfg, "worker", &probe.worker);
    plt_cfg_bool(cfg, "poster", &probe.poster);
    plt_cfg_bool(cfg, "async_cmd", &probe.async_cmd);
    plt_cfg_duration_ms(cfg, "tick", &probe.tick_ms);
    plt_log(PLT_LOG_NOTICE, "probe initialised");
    return 0;
}

static int
probe_start(plt_plugin *self)
{
    (void)self;
    plt_service_ref ref;
    int rc = plt_service_acquire("stub", 1, 0, &ref);
    if (rc != 0) {
        plt_set_error("no stub service");
        return rc;
    }
    const stub_vt *vt = ref.vtable;
    vt->ping(ref.impl);
    probe.optional_rc = plt_service_acquire("absent", 1, 0, &ref);
    if (probe.tick_ms)
        plt_timer_start(&probe.tick, (uint64_t)probe.tick_ms,
                        (uint64_t)probe.tick_ms, on_tick, NULL);
    if (probe.leak_handle)
        uv_timer_init(plt_loop(), &probe.raw);
    if (probe.worker)
        plt_queue_work(work_run, work_done, NULL);
    if (probe.poster) {
        plt_work_begin();
        probe.thread_on =
            pthread_create(&probe.thread, NULL, thread_main, NULL) == 0;
    }
    plt_log(PLT_LOG_WARN, "probe started with a warning");
    return 0;
}

static void
stop_later(void *arg)
{
    (void)arg;
    probe.stop_timer = NULL;
    plt_stopped();
}

static int
probe_stop(plt_plugin *self)
{
    (void)self;
    if (probe.tick)
        plt_timer_stop(probe.tick);
    probe.tick = NULL;
    if (probe.thread_on)
        pthread_join(probe.thread, NULL);
    probe.thread_on = false;
    if (probe.never_stop)
        return PLT_EINPROGRESS;
    if (probe.async_stop) {
        plt_timer_start(&probe.stop_timer, 500, 0, stop_later, NULL);
        return PLT_EINPROGRESS;
    }
    return 0;
}

static int
probe_reconfigure(plt_plugin *self, const plt_cfg *cfg, plt_reconf_phase ph)
{
    (void)self;
    (void)cfg;
    (void)ph;
    return 0;
}

static int
probe_check(plt_plugin *self)
{
    (void)self;
    if (probe.never_stop) {
        plt_set_error("never_stop is set");
        return PLT_ECONFIG;
    }
    return 0;
}

static void
cmd_finish(void *arg)
{
    (void)arg;
    plt_command_done(7);
}

static int
probe_cmd(plt_plugin *self, int argc, char **argv)
{
    (void)self;
    (void)argv;
    if (probe.async_cmd) {
        plt_timer *t;
        plt_timer_start(&t, 250, 0, cmd_finish, NULL);
        return PLT_EINPROGRESS;
    }
    return argc;
}

static const plt_cfg_key probe_keys[] = {
    {.name = "async_stop", .type = PLT_CFG_BOOL, .def = "false"},
    {.name = "never_stop", .type = PLT_CFG_BOOL, .def = "false"},
    {.name = "leak_handle", .type = PLT_CFG_BOOL, .def = "false"},
    {.name = "worker", .type = PLT_CFG_BOOL, .def = "false"},
    {.name = "poster", .type = PLT_CFG_BOOL, .def = "false"},
    {.name = "async_cmd", .type = PLT_CFG_BOOL, .def = "false"},
    {.name = "tick", .type = PLT_CFG_DURATION, .def = "0ms"},
    {.name = "label",
     .type = PLT_CFG_STR,
     .def = "x",
     .flags = PLT_CFG_RELOADABLE},
    PLT_CFG_END};
static const plt_dep probe_needs[] = {
    {"stub", 1, 0, 0}, {"absent", 1, 0, PLT_DEP_OPTIONAL}, {0}};
static const plt_command probe_commands[] = {
    {.name = "probe", .summary = "count args", .run = probe_cmd}, {0}};

PLT_PLUGIN_DEFINE(.name = "probe", .version = "0.0.1", .summary = "test probe",
                  .needs = probe_needs, .config_keys = probe_keys,
                  .commands = probe_commands, .init = probe_init,
                  .start = probe_start, .stop = probe_stop,
                  .reconfigure = probe_reconfigure, .check = probe_check);

/* ------------------------------------------------------------------ */
/* Fixture */

static int stub_pings;

typedef struct fixture {
    plt_fake_host *fh;
    plt_plugin *p;
} fixture;

static int
setup_opts(void **state, const plt_fake_options *opt)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || plt_fake_host_new(&f->fh, opt) != 0) {
        free(f);
        return -1;
    }
    stub_pings = 0;
    *state = f;
    return 0;
}

static int
setup(void **state)
{
    plt_fake_options opt = {.stop_timeout_ms = 2000};
    return setup_opts(state, &opt);
}

static int
setup_real(void **state)
{
    plt_fake_options opt = {.real_clock = 1};
    return setup_opts(state, &opt);
}

static int
teardown(void **state)
{
    fixture *f = *state;
    int rc = f->fh ? plt_fake_host_free(f->fh) : 0;
    free(f);
    return rc == 0 ? 0 : -1;
}

static void
start_probe(fixture *f, const char *config)
{
    assert_int_equal(
        plt_fake_host_provide(f->fh, "stub", 1, 0, &stub_vtable, &stub_pings),
        0);
    int rc = plt_fake_host_add(f->fh, &plateau_plugin_v1, config, &f->p);
    if (rc != 0)
        print_error("%s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    assert_int_equal(plt_fake_host_init(f->fh), 0);
    assert_int_equal(plt_fake_host_start(f->fh), 0);
}

static char *
hello_so(void)
{
    const char *dir = getenv("PLATEAU_PLUGIN_DIR");
    char *path = NULL;
    if (dir && asprintf(&path, "%s/hello.so", dir) < 0)
        path = NULL;
    return path;
}

/* ------------------------------------------------------------------ */
/* Tests */

static void
stub_service_and_optional_need(void **state)
{
    fixture *f = *state;
    start_probe(f, NULL);
    assert_int_equal(stub_pings, 1);
    assert_int_equal(probe.optional_rc, PLT_ENOSERVICE);
    assert_ptr_equal(plt_fake_host_plugin(f->fh, "probe"), f->p);
    /* The test's own acquire is not limited by any `needs`. */
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(f->fh, "stub", 1, 0, &ref), 0);
    assert_string_equal(ref.provider, "test");
    assert_int_equal(
        plt_fake_host_provide(f->fh, "stub", 1, 0, &stub_vtable, NULL),
        PLT_EEXIST);
}

static void
missing_provider_fails_start(void **state)
{
    fixture *f = *state;
    assert_int_equal(plt_fake_host_add(f->fh, &plateau_plugin_v1, NULL, &f->p),
                     0);
    assert_int_equal(plt_fake_host_init(f->fh), 0);
    assert_int_equal(plt_fake_host_start(f->fh), PLT_ENOSERVICE);
    const char *err = plt_fake_host_last_error(f->fh);
    assert_non_null(strstr(err, "plugin probe: start failed: no stub service"));
    /* Nothing else is allowed now but free(). */
    assert_int_equal(plt_fake_host_start(f->fh), PLT_ESTATE);
}

static void
lifecycle_order_enforced(void **state)
{
    fixture *f = *state;
    assert_int_equal(plt_fake_host_start(f->fh), PLT_ESTATE);
    assert_int_equal(plt_fake_host_add(f->fh, &plateau_plugin_v1, NULL, NULL),
                     0);
    assert_int_equal(plt_fake_host_add(f->fh, &plateau_plugin_v1, NULL, NULL),
                     PLT_EEXIST);
    assert_int_equal(
        plt_fake_host_provide(f->fh, "stub", 1, 0, &stub_vtable, &stub_pings),
        0);
    assert_int_equal(plt_fake_host_init(f->fh), 0);
    assert_int_equal(plt_fake_host_init(f->fh), PLT_ESTATE);
    char *so = hello_so();
    assert_non_null(so);
    assert_int_equal(plt_fake_host_add_so(f->fh, so, NULL, NULL), PLT_ESTATE);
    free(so);
}

static void
async_stop_waits_in_virtual_time(void **state)
{
    fixture *f = *state;
    start_probe(f, "async_stop: true\n");
    int64_t t0 = plt_fake_host_now(f->fh);
    assert_int_equal(plt_fake_host_stop(f->fh), 0);
    assert_int_equal(plt_fake_host_now(f->fh), t0 + 500);
}

static void
stop_deadline(void **state)
{
    fixture *f = *state;
    start_probe(f, "never_stop: true\n");
    int64_t t0 = plt_fake_host_now(f->fh);
    assert_int_equal(plt_fake_host_stop(f->fh), PLT_ETIMEDOUT);
    assert_int_equal(plt_fake_host_now(f->fh), t0 + 2000);
    assert_non_null(strstr(plt_fake_host_last_error(f->fh), "plt_stopped"));
}

static void
leaked_handle_reported(void **state)
{
    fixture *f = *state;
    start_probe(f, "leak_handle: true\n");
    assert_int_equal(plt_fake_host_free(f->fh), UV_EBUSY);
    f->fh = NULL;
    /* The leak was cleaned up: a new fake host can be made. */
    assert_int_equal(plt_fake_host_new(&f->fh, NULL), 0);
}

static void
simulated_time_waits_for_work_and_posts(void **state)
{
    fixture *f = *state;
    start_probe(f, "worker: true\nposter: true\n");
    int64_t t0 = plt_fake_host_now(f->fh);
    /* A timer far away must not fire while results are on their way. */
    assert_int_equal(plt_fake_host_run_for(f->fh, 3600 * 1000), 0);
    const plt_event *w = plt_fake_host_event_last(f->fh, "probe.work.*");
    const plt_event *p = plt_fake_host_event_last(f->fh, "probe.post.*");
    assert_non_null(w);
    assert_non_null(p);
    assert_int_equal(plt_fake_event_time(w), t0);
    assert_int_equal(plt_fake_event_time(p), t0);
    assert_int_equal(plt_fake_host_now(f->fh), t0 + 3600 * 1000);
}

static void
delivery_opens_at_start(void **state)
{
    fixture *f = *state;
    assert_int_equal(
        plt_fake_host_provide(f->fh, "stub", 1, 0, &stub_vtable, &stub_pings),
        0);
    assert_int_equal(plt_fake_host_add(f->fh, &plateau_plugin_v1, NULL, &f->p),
                     0);
    plt_fake_field fl[] = {{"n", PLT_V_I64(42)},
                           {"ratio", PLT_V_DOUBLE(0.5)},
                           {"ok", PLT_V_BOOL(1)}};
    assert_int_equal(plt_fake_host_publish(f->fh, "test.thing.happened", fl, 3),
                     0);
    assert_int_equal(plt_fake_host_publish(f->fh, "Bad Topic", NULL, 0),
                     PLT_EINVAL);
    assert_int_equal(plt_fake_host_init(f->fh), 0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(plt_fake_host_event_count(f->fh, NULL), 0);
    assert_int_equal(plt_fake_host_start(f->fh), 0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(plt_fake_host_event_count(f->fh, "test.*"), 1);
    const plt_event *ev = plt_fake_host_event_at(f->fh, "*", 0);
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_source(ev), "test");
    assert_int_equal(plt_fake_event_i64(ev, "n", 0), 42);
    assert_true(plt_fake_event_double(ev, "ratio", 0) == 0.5);
    assert_int_equal(plt_fake_event_i64(ev, "ok", 0), 1);
    assert_null(plt_fake_event_str(ev, "n"));
    assert_int_equal(plt_fake_event_i64(ev, "missing", -5), -5);
    /* Fields can be walked in the order they were set. */
    assert_int_equal(plt_fake_event_count(ev), 3);
    const char *key = NULL;
    plt_value v;
    assert_int_equal(plt_fake_event_field_at(ev, 1, &key, &v), 0);
    assert_string_equal(key, "ratio");
    assert_int_equal(v.type, PLT_T_DOUBLE);
    assert_int_equal(plt_fake_event_field_at(ev, 3, &key, &v), PLT_ERANGE);
    assert_null(plt_fake_host_event_at(f->fh, "*", 1));
    plt_fake_host_events_clear(f->fh);
    assert_int_equal(plt_fake_host_event_count(f->fh, NULL), 0);
}

static void
logs_recorded_by_level(void **state)
{
    fixture *f = *state;
    start_probe(f, NULL);
    assert_int_equal(plt_fake_host_log_count(f->fh, PLT_LOG_WARN, "probe"), 1);
    assert_int_equal(plt_fake_host_log_count(f->fh, PLT_LOG_ERROR, NULL), 0);
    assert_int_equal(plt_fake_host_log_count(f->fh, PLT_LOG_DEBUG, "probe "),
                     2);
    int level = 0;
    const char *who = NULL;
    const char *text =
        plt_fake_host_log_last(f->fh, PLT_LOG_NOTICE, "probe", &level, &who);
    assert_string_equal(text, "probe started with a warning");
    assert_int_equal(level, PLT_LOG_WARN);
    assert_string_equal(who, "probe");
    plt_fake_host_logs_clear(f->fh);
    assert_int_equal(plt_fake_host_log_count(f->fh, PLT_LOG_DEBUG, NULL), 0);
}

static void
reload_rules(void **state)
{
    fixture *f = *state;
    start_probe(f, NULL);
    assert_int_equal(plt_fake_host_reconfigure(f->fh, f->p, "label: y\n"), 0);
    /* Unchanged: nothing to do. */
    assert_int_equal(plt_fake_host_reconfigure(f->fh, f->p, "label: y\n"), 0);
    /* A key that is not reloadable needs a restart. */
    assert_int_equal(
        plt_fake_host_reconfigure(f->fh, f->p, "label: y\nworker: true\n"),
        PLT_ENOTSUP);
    assert_int_equal(plt_fake_host_reconfigure(f->fh, f->p, "label: [1]\n"),
                     PLT_ECONFIG);
}

static void
commands_sync_and_async(void **state)
{
    fixture *f = *state;
    start_probe(f, "async_cmd: false\n");
    char a[] = "a", b[] = "b";
    char *argv[] = {a, b, NULL};
    int status = -1;
    assert_int_equal(
        plt_fake_host_command(f->fh, f->p, "probe", 2, argv, &status), 0);
    assert_int_equal(status, 2);
    assert_int_equal(
        plt_fake_host_command(f->fh, f->p, "nope", 0, argv, &status),
        PLT_ENOENT);
    probe.async_cmd = true;
    int64_t t0 = plt_fake_host_now(f->fh);
    assert_int_equal(
        plt_fake_host_command(f->fh, f->p, "probe", 0, argv, &status), 0);
    assert_int_equal(status, 7);
    assert_int_equal(plt_fake_host_now(f->fh), t0 + 250);
}

static void
run_for_fires_due_timers_inclusively(void **state)
{
    fixture *f = *state;
    start_probe(f, "tick: 250ms\n");
    plt_fake_host_run_for(f->fh, 0);
    assert_int_equal(plt_fake_host_event_count(f->fh, "probe.timer.fired"), 0);
    plt_fake_host_run_for(f->fh, 1000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "probe.timer.fired"), 4);
    /* Runs without timers due still move the clock exactly. */
    int64_t t = plt_fake_host_now(f->fh);
    plt_fake_host_run_for(f->fh, 100);
    assert_int_equal(plt_fake_host_now(f->fh), t + 100);
}

static void
real_clock_runs_real_time(void **state)
{
    fixture *f = *state;
    start_probe(f, "tick: 20ms\n");
    uint64_t t0 = uv_hrtime();
    plt_fake_host_run_for(f->fh, 110);
    uint64_t ms = (uv_hrtime() - t0) / 1000000u;
    assert_true(ms >= 100);
    assert_true(plt_fake_host_event_count(f->fh, "probe.timer.fired") >= 2);
    plt_fake_host_run_until_idle(f->fh);
}

static void
shared_object_plugin(void **state)
{
    fixture *f = *state;
    char *so = hello_so();
    assert_non_null(so);
    plt_plugin *p = NULL;
    assert_int_equal(plt_fake_host_add_so(f->fh, "/nonexistent/x.so", NULL, &p),
                     PLT_ENOENT);
    /* The file stem must equal the plugin's name, as in the core. */
    char *copy = NULL;
    assert_true(asprintf(&copy, "%s/other.so", plt_fake_host_data_dir(f->fh)) >
                0);
    char *cmd = NULL;
    assert_true(asprintf(&cmd, "cp '%s' '%s'", so, copy) > 0);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(plt_fake_host_add_so(f->fh, copy, NULL, &p), PLT_EINVAL);
    assert_non_null(strstr(plt_fake_host_last_error(f->fh), "must match"));

    assert_int_equal(plt_fake_host_add_so(f->fh, so, "interval: 1s\n", &p), 0);
    assert_int_equal(plt_fake_host_init(f->fh), 0);
    assert_int_equal(plt_fake_host_start(f->fh), 0);
    plt_fake_host_run_for(f->fh, 3000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "hello.greeting.sent"),
                     3);
    free(cmd);
    free(copy);
    free(so);
}

static void
check_hook(void **state)
{
    fixture *f = *state;
    assert_int_equal(plt_fake_host_add(f->fh, &plateau_plugin_v1,
                                       "never_stop: true\n", &f->p),
                     0);
    assert_int_equal(plt_fake_host_check(f->fh), PLT_ESTATE);
    assert_int_equal(plt_fake_host_init(f->fh), 0);
    assert_int_equal(plt_fake_host_check(f->fh), PLT_ECONFIG);
    assert_non_null(strstr(plt_fake_host_last_error(f->fh),
                           "plugin probe: check failed: never_stop is set"));
}

static void
one_fake_host_at_a_time(void **state)
{
    fixture *f = *state;
    plt_fake_host *other = NULL;
    assert_int_equal(plt_fake_host_new(&other, NULL), PLT_EBUSY);
    assert_null(other);
    char *dir = strdup(plt_fake_host_data_dir(f->fh));
    assert_int_equal(access(dir, F_OK), 0);
    assert_int_equal(plt_fake_host_free(f->fh), 0);
    f->fh = NULL;
    /* The temporary data directory went with it. */
    assert_int_not_equal(access(dir, F_OK), 0);
    free(dir);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(stub_service_and_optional_need),
        T(missing_provider_fails_start),
        T(lifecycle_order_enforced),
        T(async_stop_waits_in_virtual_time),
        T(stop_deadline),
        T(leaked_handle_reported),
        T(simulated_time_waits_for_work_and_posts),
        T(delivery_opens_at_start),
        T(logs_recorded_by_level),
        T(reload_rules),
        T(commands_sync_and_async),
        T(run_for_fires_due_timers_inclusively),
        cmocka_unit_test_setup_teardown(real_clock_runs_real_time, setup_real,
                                        teardown),
        T(shared_object_plugin),
        T(check_hook),
        T(one_fake_host_at_a_time),
    };
    return cmocka_run_group_tests_name("fake_host", tests, NULL, NULL);
}
