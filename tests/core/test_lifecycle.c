/* SPDX-License-Identifier: MIT */
/*
 * The core driving real plugin files: start order by dependency, stop in
 * reverse, failures in init or start that leave nothing half-started,
 * asynchronous stops with a deadline, service versions, bindings, and an
 * all-or-nothing reload. The fixture plugins log "trace <step>" lines,
 * captured here through the log sink.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"

static char fixdir[1024];
static char tmpdir[256];

static char trace[64 * 1024];
static char errors[16 * 1024];

static void
sink(void *arg, const char *who, int level, const char *msg)
{
    (void)arg;
    if (strncmp(msg, "trace ", 6) == 0) {
        size_t n = strlen(trace);
        snprintf(trace + n, sizeof(trace) - n, "%s:%s|", who, msg + 6);
    }
    if (level <= PLT_LOG_WARN) {
        size_t n = strlen(errors);
        snprintf(errors + n, sizeof(errors) - n, "%s\n", msg);
    }
}

static char *
write_config(const char *body)
{
    char *path = plt__asprintf("%s/plateau.yaml", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "core:\n  data_dir: data\n  log_level: info\n%s", body);
    fclose(f);
    return path;
}

typedef struct run {
    plt__core core;
    plt__diags d;
    char *path;
    int load_rc, start_rc;
} run;

static void
load(run *r, const char *body)
{
    trace[0] = errors[0] = '\0';
    memset(r, 0, sizeof(*r));
    r->path = write_config(body);
    plt__core_opts o = {.plugin_dir = fixdir, .sync_log = true};
    assert_int_equal(plt__core_init(&r->core, &o), 0);
    r->load_rc = plt__core_load(&r->core, r->path, &r->d);
}

static void
start(run *r, const char *body)
{
    load(r, body);
    if (r->load_rc != 0) {
        plt__diags_print(&r->d, stderr);
        fail_msg("load failed");
    }
    r->start_rc = plt__core_start(&r->core);
}

static void
finish(run *r)
{
    plt__core_free(&r->core);
    plt__diags_clear(&r->d);
    free(r->path);
}

static bool
diag_has(const plt__diags *d, const char *phrase)
{
    for (size_t i = 0; i < d->n; i++)
        if (strstr(d->v[i].msg, phrase))
            return true;
    return false;
}

static void
starts_providers_first_and_stops_in_reverse(void **state)
{
    (void)state;
    run r;
    start(&r, "plugins: [fx_c, fx_a, fx_b]\n");
    assert_int_equal(r.start_rc, 0);
    plt__core_request_stop(&r.core, 0);
    assert_int_equal(plt__core_run(&r.core), 0);
    assert_string_equal(trace,
                        "fx_a:init one|fx_b:init one|fx_c:init one|"
                        "fx_a:start|"
                        "fx_b:acquired svc_a from fx_a ping=42|fx_b:start|"
                        "fx_c:acquired svc_b from fx_b ping=42|fx_c:start|"
                        "fx_c:stop|fx_b:stop|fx_a:stop|"
                        "fx_c:fini|fx_b:fini|fx_a:fini|");
    finish(&r);
}

static void
failed_init_finalises_what_was_initialised(void **state)
{
    (void)state;
    run r;
    start(&r, "plugins: [fx_a, fx_b, fx_c]\nfx_b:\n  fail_init: true\n");
    assert_int_not_equal(r.start_rc, 0);
    assert_string_equal(trace, "fx_a:init one|fx_b:init one|fx_a:fini|");
    assert_non_null(
        strstr(errors, "plugin fx_b: init failed: asked to fail in init"));
    finish(&r);
}

static void
failed_start_stops_what_was_started(void **state)
{
    (void)state;
    run r;
    start(&r, "plugins: [fx_a, fx_b, fx_c]\nfx_c:\n  fail_start: true\n");
    assert_int_not_equal(r.start_rc, 0);
    assert_non_null(strstr(trace, "fx_c:start|fx_b:stop|fx_a:stop|"
                                  "fx_c:fini|fx_b:fini|fx_a:fini|"));
    assert_null(strstr(trace, "fx_c:stop"));
    assert_non_null(
        strstr(errors, "plugin fx_c: start failed: asked to fail in start"));
    finish(&r);
}

static void
waits_for_a_plugin_that_drains(void **state)
{
    (void)state;
    run r;
    start(&r, "plugins: [fx_a, fx_b, fx_c]\nfx_b:\n  stop_ms: 150ms\n");
    assert_int_equal(r.start_rc, 0);
    uint64_t t0 = uv_hrtime();
    plt__core_request_stop(&r.core, 0);
    assert_int_equal(plt__core_run(&r.core), 0);
    /* fx_a (fx_b's provider) stops only once fx_b says it has stopped. */
    assert_non_null(strstr(trace, "fx_c:stop|fx_b:stop|fx_b:stopped|"
                                  "fx_a:stop|"));
    assert_true(uv_hrtime() - t0 >= 150u * 1000000u);
    finish(&r);
}

static void
stop_deadline_moves_on(void **state)
{
    (void)state;
    run r;
    start(&r, "  stop_timeout: 200ms\nplugins: [fx_a, fx_b]\n"
              "fx_b:\n  never_stop: true\n");
    assert_int_equal(r.start_rc, 0);
    plt__core_request_stop(&r.core, 0);
    assert_int_equal(plt__core_run(&r.core), 0);
    assert_non_null(strstr(trace, "fx_b:stop|fx_a:stop|fx_b:fini|fx_a:fini|"));
    assert_non_null(strstr(errors, "plugin fx_b did not finish stopping "
                                   "within 200 ms"));
    finish(&r);
}

static void
optional_dependency_may_be_absent(void **state)
{
    (void)state;
    run r;
    start(&r, "plugins: [fx_opt]\n");
    assert_int_equal(r.start_rc, 0);
    assert_non_null(strstr(trace, "fx_opt:optional svc_x absent|"));
    plt__core_request_stop(&r.core, 0);
    plt__core_run(&r.core);
    finish(&r);
}

static void
missing_provider_is_reported(void **state)
{
    (void)state;
    run r;
    load(&r, "plugins: [fx_c]\n");
    assert_int_not_equal(r.load_rc, 0);
    assert_true(diag_has(&r.d, "plugin fx_c needs service 'svc_b' 1.0+, "
                               "which no enabled plugin provides"));
    finish(&r);
}

static void
cycle_is_reported_with_its_path(void **state)
{
    (void)state;
    run r;
    load(&r, "plugins: [fx_cyc1, fx_cyc2]\n");
    assert_int_equal(r.load_rc, PLT_EDEPCYCLE);
    assert_true(diag_has(&r.d, "dependency cycle: "));
    assert_true(diag_has(&r.d, "needs 'svc_c"));
    finish(&r);
}

static void
too_old_provider_is_refused(void **state)
{
    (void)state;
    run r;
    start(&r, "plugins: [fx_a, fx_newer]\n");
    assert_int_equal(r.start_rc, PLT_EVERSION);
    assert_non_null(strstr(errors, "plugin fx_newer needs service 'svc_a' "
                                   "1.5+, but plugin fx_a provides 1.2"));
    assert_null(strstr(trace, "start"));
    finish(&r);
}

static void
two_providers_need_a_binding(void **state)
{
    (void)state;
    run r;
    load(&r, "plugins: [fx_a, fx_a2, fx_b]\n");
    assert_int_equal(r.load_rc, PLT_ECONFIG);
    assert_true(diag_has(&r.d, "service 'svc_a' is provided by fx_a and "
                               "fx_a2"));
    finish(&r);

    start(&r, "plugins: [fx_a, fx_a2, fx_b]\nservices:\n  svc_a: fx_a\n");
    assert_int_equal(r.start_rc, 0);
    assert_non_null(strstr(trace, "fx_b:acquired svc_a from fx_a "));
    plt__core_request_stop(&r.core, 0);
    plt__core_run(&r.core);
    finish(&r);
}

static void
unknown_key_is_reported_with_its_line(void **state)
{
    (void)state;
    run r;
    load(&r, "plugins: [fx_a]\nfx_a:\n  value: ok\n  vlaue: typo\n");
    assert_int_equal(r.load_rc, PLT_ECONFIG);
    assert_int_equal(r.d.n, 1);
    /* core: (1) data_dir (2) log_level (3) plugins (4) fx_a (5) value (6) */
    assert_int_equal(r.d.v[0].line, 7);
    assert_non_null(strstr(r.d.v[0].msg, "vlaue"));
    assert_non_null(strstr(r.d.v[0].msg, "did you mean 'value'"));
    finish(&r);
}

static const char *
cfg_value(plt__core *c, const char *plugin, const char *key)
{
    const char *v = NULL;
    plt__cfg_get(plt__core_find(c, plugin)->cfg, key, PLT_CFG_STR, &v);
    return v;
}

static void
rejected_reload_keeps_the_old_config(void **state)
{
    (void)state;
    run r;
    start(&r, "plugins: [fx_a, fx_b]\nfx_a:\n  value: one\n");
    assert_int_equal(r.start_rc, 0);

    /* fx_a refuses "bad" in CHECK: nobody applies anything. */
    free(write_config("plugins: [fx_a, fx_b]\nfx_a:\n  value: bad\n"
                      "fx_b:\n  value: three\n"));
    trace[0] = '\0';
    assert_int_not_equal(plt__core_reload(&r.core), 0);
    assert_null(strstr(trace, "apply"));
    assert_string_equal(cfg_value(&r.core, "fx_a", "value"), "one");
    assert_string_equal(cfg_value(&r.core, "fx_b", "value"), "one");

    /* A broken file is rejected before any plugin is asked. */
    free(write_config("plugins: [fx_a, fx_b]\nfx_a:\n  value: [1, 2]\n"));
    trace[0] = '\0';
    assert_int_not_equal(plt__core_reload(&r.core), 0);
    assert_string_equal(trace, "");
    assert_string_equal(cfg_value(&r.core, "fx_a", "value"), "one");

    /* A valid change is checked, then applied. */
    free(write_config("plugins: [fx_a, fx_b]\nfx_a:\n  value: two\n"));
    trace[0] = '\0';
    assert_int_equal(plt__core_reload(&r.core), 0);
    assert_string_equal(trace, "fx_a:check two|fx_a:apply two|");
    assert_string_equal(cfg_value(&r.core, "fx_a", "value"), "two");

    /* A key that needs a restart is reported and not applied. */
    free(write_config("plugins: [fx_a, fx_b]\nfx_a:\n  value: two\n"
                      "  fixed: y\n"));
    trace[0] = errors[0] = '\0';
    assert_int_equal(plt__core_reload(&r.core), 0);
    assert_string_equal(trace, "");
    assert_non_null(strstr(errors, "fx_a.fixed changed but only takes effect "
                                   "after a restart"));
    assert_string_equal(cfg_value(&r.core, "fx_a", "fixed"), "x");

    plt__core_request_stop(&r.core, 0);
    plt__core_run(&r.core);
    finish(&r);
}

static void
leaked_timer_is_reaped(void **state)
{
    (void)state;
    run r;
    start(&r, "plugins: [fx_a]\nfx_a:\n  leak_timer: true\n");
    assert_int_equal(r.start_rc, 0);
    plt__core_request_stop(&r.core, 0);
    assert_int_equal(plt__core_run(&r.core), 0);
    assert_non_null(strstr(errors, "left 1 timer(s) running after fini"));
    finish(&r);
}

int
main(void)
{
    const char *b = getenv("PLATEAU_BUILD_DIR");
    snprintf(fixdir, sizeof(fixdir), "%s/tests/fixtures/plugins",
             b ? b : ".");
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/plateau-lifecycle-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    plt__log_open(NULL, PLT_LOG_INFO);
    if (!getenv("PLATEAU_TEST_VERBOSE"))
        plt__log_set_level(PLT_LOG_INFO);
    plt__log_set_sink(sink, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(starts_providers_first_and_stops_in_reverse),
        cmocka_unit_test(failed_init_finalises_what_was_initialised),
        cmocka_unit_test(failed_start_stops_what_was_started),
        cmocka_unit_test(waits_for_a_plugin_that_drains),
        cmocka_unit_test(stop_deadline_moves_on),
        cmocka_unit_test(optional_dependency_may_be_absent),
        cmocka_unit_test(missing_provider_is_reported),
        cmocka_unit_test(cycle_is_reported_with_its_path),
        cmocka_unit_test(too_old_provider_is_refused),
        cmocka_unit_test(two_providers_need_a_binding),
        cmocka_unit_test(unknown_key_is_reported_with_its_line),
        cmocka_unit_test(rejected_reload_keeps_the_old_config),
        cmocka_unit_test(leaked_timer_is_reaped),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char *cmd = plt__asprintf("rm -rf '%s'", tmpdir);
    if (cmd && system(cmd) != 0)
        rc = rc ? rc : 1;
    free(cmd);
    return rc;
}
