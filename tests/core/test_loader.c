/* SPDX-License-Identifier: MIT */
/*
 * The loader's accept/reject matrix: every way a file can fail to be a
 * usable plugin gets one clear line naming the file and the cause, and a
 * good plugin opens with its descriptor intact. Fixture plugins are built
 * by tests/fixtures/CMakeLists.txt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static char fixdir[1024];

static char *
fixture(const char *name)
{
    return plt__asprintf("%s/%s.so", fixdir, name);
}

/* Open @p name and expect failure @p rc with @p phrase in the one line. */
static void
expect_reject(const char *name, int rc, const char *phrase)
{
    char *path = fixture(name);
    plt__diags d = {0};
    plt_plugin *p = NULL;
    int got = plt__plugin_open(path, &p, &d);
    if (got != rc || d.n != 1 || !strstr(d.v[0].msg, phrase)) {
        print_error("%s: rc=%d (want %d), %zu diag(s): %s\n", name, got, rc,
                    d.n, d.n ? d.v[0].msg : "-");
        fail();
    }
    assert_null(p);
    /* The line names the file. */
    assert_string_equal(d.v[0].file, path);
    plt__diags_clear(&d);
    free(path);
}

static void
accepts_a_good_plugin(void **state)
{
    (void)state;
    char *path = fixture("fx_a");
    plt__diags d = {0};
    plt_plugin *p = NULL;
    assert_int_equal(plt__plugin_open(path, &p, &d), 0);
    assert_int_equal(d.n, 0);
    assert_non_null(p);
    assert_string_equal(p->name, "fx_a");
    assert_string_equal(p->desc->version, "1.0.0");
    assert_string_equal(p->desc->provides[0], "svc_a");
    assert_non_null(p->desc->init);
    plt__plugin_close(p);
    free(path);
}

static void
rejects_missing_file(void **state)
{
    (void)state;
    expect_reject("fx_does_not_exist", PLT_ENOENT, "cannot open plugin");
}

static void
rejects_garbage(void **state)
{
    (void)state;
    expect_reject("fx_garbage", PLT_ENOTPLUGIN,
                  "not a Plateau plugin (not a shared object)");
}

static void
rejects_shared_object_without_descriptor(void **state)
{
    (void)state;
    expect_reject("fx_nosym", PLT_ENOTPLUGIN,
                  "no exported symbol 'plateau_plugin_v1'");
}

static void
rejects_bad_magic(void **state)
{
    (void)state;
    expect_reject("fx_badmagic", PLT_ENOTPLUGIN, "bad descriptor magic");
}

static void
rejects_other_major(void **state)
{
    (void)state;
    expect_reject("fx_major", PLT_EABI, "rebuild the plugin");
}

static void
rejects_newer_minor(void **state)
{
    (void)state;
    expect_reject("fx_minor", PLT_EABI, "upgrade Plateau");
}

static void
rejects_short_descriptor(void **state)
{
    (void)state;
    expect_reject("fx_small", PLT_EABI, "plugin descriptor is 16 bytes");
}

static void
rejects_name_not_matching_file(void **state)
{
    (void)state;
    expect_reject("fx_misnamed", PLT_EINVAL,
                  "named 'other_name' but its file is 'fx_misnamed.so'");
}

static void
rejects_missing_init(void **state)
{
    (void)state;
    expect_reject("fx_noinit", PLT_EINVAL, "has no init() function");
}

static void
rejects_unresolved_symbol(void **state)
{
    (void)state;
    expect_reject("fx_undef", PLT_ENOTPLUGIN, "unresolved symbol");
}

static void
finds_plugins_on_the_search_path(void **state)
{
    (void)state;
    const char *dirs[] = {"/nonexistent", fixdir};
    char *p = plt__plugin_find(dirs, 2, "fx_b");
    assert_non_null(p);
    assert_non_null(strstr(p, "/fx_b.so"));
    free(p);
    assert_null(plt__plugin_find(dirs, 2, "nope"));
}

/* A descriptor in memory: the same checks run for linked-in plugins. */
static int
dummy_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    (void)cfg;
    return 0;
}

static const plt_host *slot_host;
static plt_plugin *slot_self;

static void
checks_schema_of_descriptor(void **state)
{
    (void)state;
    static const plt_cfg_key bad_keys[] = {
        {.name = "n", .type = PLT_CFG_INT, .def = "abc"}, PLT_CFG_END};
    plt_plugin_desc d = {.magic = PLT_PLUGIN_MAGIC,
                         .abi_major = PLT_ABI_MAJOR,
                         .abi_minor = PLT_ABI_MINOR,
                         .size = sizeof(plt_plugin_desc),
                         .name = "mem",
                         .config_keys = bad_keys,
                         .host_slot = &slot_host,
                         .self_slot = &slot_self,
                         .init = dummy_init};
    plt__diags dg = {0};
    assert_int_not_equal(plt__desc_check(&d, "mem", "mem.so", &dg), 0);
    assert_true(dg.n >= 1);
    plt__diags_clear(&dg);
    d.config_keys = NULL;
    assert_int_equal(plt__desc_check(&d, "mem", "mem.so", &dg), 0);
    /* An older minor (additive change) is always accepted. */
    assert_int_equal(dg.n, 0);
}

int
main(void)
{
    const char *b = getenv("PLATEAU_BUILD_DIR");
    snprintf(fixdir, sizeof(fixdir), "%s/tests/fixtures/plugins",
             b ? b : ".");
    plt__log_open(NULL, PLT_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_a_good_plugin),
        cmocka_unit_test(rejects_missing_file),
        cmocka_unit_test(rejects_garbage),
        cmocka_unit_test(rejects_shared_object_without_descriptor),
        cmocka_unit_test(rejects_bad_magic),
        cmocka_unit_test(rejects_other_major),
        cmocka_unit_test(rejects_newer_minor),
        cmocka_unit_test(rejects_short_descriptor),
        cmocka_unit_test(rejects_name_not_matching_file),
        cmocka_unit_test(rejects_missing_init),
        cmocka_unit_test(rejects_unresolved_symbol),
        cmocka_unit_test(finds_plugins_on_the_search_path),
        cmocka_unit_test(checks_schema_of_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
