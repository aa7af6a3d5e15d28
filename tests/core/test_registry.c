/* SPDX-License-Identifier: MIT */
/*
 * The service registry (core/registry.c): a provider registers only what
 * its descriptor lists in `provides`, once; a consumer gets a service only
 * if it declared it in `needs`, only from a provider of exactly the major
 * it asks for and at least its minor, never silently from one of two
 * providers unless the config bound one; and every acquisition is recorded
 * (the core uses it to stop consumers before their providers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Fake vtables: only their address matters. */
typedef struct storage_vt {
    uint32_t size;
} storage_vt;
static const storage_vt vt_pg = {sizeof(storage_vt)};
static const storage_vt vt_lite = {sizeof(storage_vt)};
static int impl_pg, impl_lite;

static const char *const prov_storage[] = {"storage", NULL};
static const char *const prov_storage_cache[] = {"storage", "cache", NULL};
static const plt_dep needs_storage[] = {{.service = "storage", .major = 1},
                                        {NULL}};
static const plt_dep needs_storage_opt_cache[] = {
    {.service = "storage", .major = 1},
    {.service = "cache", .major = 2, .flags = PLT_DEP_OPTIONAL},
    {NULL}};

static const plt_plugin_desc d_pg = {.name = "storage_pg",
                                     .provides = prov_storage_cache};
static const plt_plugin_desc d_lite = {.name = "storage_lite",
                                       .provides = prov_storage};
static const plt_plugin_desc d_dialer = {.name = "dialer",
                                         .needs = needs_storage_opt_cache};
static const plt_plugin_desc d_web = {.name = "web", .needs = needs_storage};
static const plt_plugin_desc d_loner = {.name = "loner"};

static struct plt_plugin pg, lite, dialer, web, loner;
static plt__registry reg;

static int
setup(void **state)
{
    (void)state;
    memset(&reg, 0, sizeof(reg));
    pg = (struct plt_plugin){.name = "storage_pg", .desc = &d_pg};
    lite = (struct plt_plugin){.name = "storage_lite", .desc = &d_lite};
    dialer = (struct plt_plugin){.name = "dialer", .desc = &d_dialer};
    web = (struct plt_plugin){.name = "web", .desc = &d_web};
    loner = (struct plt_plugin){.name = "loner", .desc = &d_loner};
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    plt__registry_free(&reg);
    struct plt_plugin *all[] = {&pg, &lite, &dialer, &web, &loner};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        free(all[i]->acq);
        all[i]->acq = NULL;
        all[i]->nacq = 0;
    }
    return 0;
}

static plt_service_desc
svc(const char *name, uint16_t major, uint16_t minor, const void *vt,
    void *impl)
{
    return (plt_service_desc){.size = sizeof(plt_service_desc),
                              .major = major,
                              .minor = minor,
                              .name = name,
                              .vtable = vt,
                              .impl = impl};
}

static void
provide(struct plt_plugin *p, const char *name, uint16_t major, uint16_t minor)
{
    plt_service_desc d = svc(name, major, minor, p == &pg ? &vt_pg : &vt_lite,
                             p == &pg ? (void *)&impl_pg : (void *)&impl_lite);
    assert_int_equal(plt__registry_provide(&reg, p, &d), 0);
}

/* ------------------------------------------------------------------ */

/* A consumer gets the provider's version only if the major is equal and
 * the minor at least the one it asks for; otherwise PLT_EVERSION. */
static void
version_must_match_major_and_cover_minor(void **state)
{
    (void)state;
    provide(&pg, "storage", 1, 3);
    plt_service_ref ref;

    for (uint16_t minor = 0; minor <= 3; minor++) {
        memset(&ref, 0, sizeof(ref));
        assert_int_equal(
            plt__registry_acquire(&reg, &web, "storage", 1, minor, &ref), 0);
        assert_ptr_equal(ref.vtable, &vt_pg);
        assert_ptr_equal(ref.impl, &impl_pg);
        assert_int_equal(ref.major, 1);
        assert_int_equal(ref.minor, 3); /* what is provided, not asked */
        assert_string_equal(ref.provider, "storage_pg");
    }
    memset(&ref, 0, sizeof(ref));
    assert_int_equal(plt__registry_acquire(&reg, &web, "storage", 1, 4, &ref),
                     PLT_EVERSION);
    assert_null(ref.vtable);
    /* A newer or older major is never compatible, whatever the minor. */
    assert_int_equal(plt__registry_acquire(&reg, &web, "storage", 2, 0, &ref),
                     PLT_EVERSION);
    assert_int_equal(plt__registry_acquire(&reg, &web, "storage", 0, 3, &ref),
                     PLT_EVERSION);
    assert_null(ref.vtable);
}

/* Acquiring a service the consumer did not declare in `needs` is refused,
 * even when it is provided: the start order would not cover it. */
static void
acquire_requires_declared_need(void **state)
{
    (void)state;
    provide(&pg, "storage", 1, 0);
    provide(&pg, "cache", 2, 0);
    plt_service_ref ref;
    assert_int_equal(plt__registry_acquire(&reg, &loner, "storage", 1, 0, &ref),
                     PLT_ENOSERVICE);
    assert_int_equal(plt__registry_acquire(&reg, &web, "cache", 2, 0, &ref),
                     PLT_ENOSERVICE);
    assert_int_equal(loner.nacq, 0);
    assert_int_equal(web.nacq, 0);
    /* Declared (optional) and provided: fine. */
    assert_int_equal(plt__registry_acquire(&reg, &dialer, "cache", 2, 0, &ref),
                     0);
}

/* A declared need nobody provides (an optional one) gives PLT_ENOSERVICE. */
static void
acquire_without_provider_is_enoservice(void **state)
{
    (void)state;
    provide(&lite, "storage", 1, 0);
    plt_service_ref ref;
    assert_int_equal(plt__registry_acquire(&reg, &dialer, "cache", 2, 0, &ref),
                     PLT_ENOSERVICE);
    assert_int_equal(dialer.nacq, 0);
}

/* A provider may only register services listed in its `provides`, each
 * once; a malformed descriptor is refused. */
static void
provide_checks_declaration_and_duplicates(void **state)
{
    (void)state;
    plt_service_desc d = svc("cache", 2, 0, &vt_lite, &impl_lite);
    assert_int_equal(plt__registry_provide(&reg, &lite, &d), PLT_EINVAL);
    assert_int_equal(reg.n, 0);

    d = svc("storage", 1, 0, &vt_lite, &impl_lite);
    assert_int_equal(plt__registry_provide(&reg, &lite, &d), 0);
    assert_int_equal(plt__registry_provide(&reg, &lite, &d), PLT_EEXIST);
    d.minor = 5; /* a different version does not make it another service */
    assert_int_equal(plt__registry_provide(&reg, &lite, &d), PLT_EEXIST);
    assert_int_equal(reg.n, 1);

    d = svc("storage", 1, 0, NULL, &impl_pg); /* no vtable */
    assert_int_equal(plt__registry_provide(&reg, &pg, &d), PLT_EINVAL);
    d = svc("storage", 1, 0, &vt_pg, &impl_pg);
    d.size = 4; /* older/smaller than the 1.0 layout */
    assert_int_equal(plt__registry_provide(&reg, &pg, &d), PLT_EINVAL);
    d = svc(NULL, 1, 0, &vt_pg, &impl_pg);
    assert_int_equal(plt__registry_provide(&reg, &pg, &d), PLT_EINVAL);
    assert_int_equal(plt__registry_provide(&reg, &pg, NULL), PLT_EINVAL);
    assert_int_equal(reg.n, 1);
}

/* The registry copies the descriptor: the provider's struct may be a
 * temporary. */
static void
provide_copies_the_descriptor(void **state)
{
    (void)state;
    plt_service_desc d = svc("storage", 1, 2, &vt_pg, &impl_pg);
    assert_int_equal(plt__registry_provide(&reg, &pg, &d), 0);
    memset(&d, 0, sizeof(d));
    plt_service_ref ref;
    assert_int_equal(plt__registry_acquire(&reg, &web, "storage", 1, 2, &ref),
                     0);
    assert_ptr_equal(ref.vtable, &vt_pg);
    assert_int_equal(ref.minor, 2);
}

/* Two providers of one service: without a binding nothing is chosen
 * (PLT_ECONFLICT); with one, the bound provider is returned. */
static void
two_providers_need_a_binding(void **state)
{
    (void)state;
    provide(&pg, "storage", 1, 0);
    provide(&lite, "storage", 1, 0);
    plt_service_ref ref;
    assert_int_equal(plt__registry_acquire(&reg, &web, "storage", 1, 0, &ref),
                     PLT_ECONFLICT);
    assert_int_equal(web.nacq, 0);

    assert_int_equal(plt__registry_bind(&reg, "storage", "storage_lite"), 0);
    assert_string_equal(plt__registry_binding(&reg, "storage"), "storage_lite");
    assert_null(plt__registry_binding(&reg, "cache"));
    assert_int_equal(plt__registry_acquire(&reg, &web, "storage", 1, 0, &ref),
                     0);
    assert_string_equal(ref.provider, "storage_lite");
    assert_ptr_equal(ref.vtable, &vt_lite);
    assert_ptr_equal(ref.impl, &impl_lite);
}

/* A binding to a provider that did not register the service leaves the
 * service unavailable rather than falling back to another provider. */
static void
binding_never_falls_back(void **state)
{
    (void)state;
    provide(&pg, "storage", 1, 0);
    assert_int_equal(plt__registry_bind(&reg, "storage", "storage_lite"), 0);
    plt_service_ref ref;
    assert_int_equal(plt__registry_acquire(&reg, &web, "storage", 1, 0, &ref),
                     PLT_ENOSERVICE);
}

/* Each acquisition is recorded once per service, with its provider; a
 * failed one is not. */
static void
acquisitions_are_recorded(void **state)
{
    (void)state;
    provide(&pg, "storage", 1, 1);
    provide(&pg, "cache", 2, 0);
    plt_service_ref ref;
    assert_int_equal(
        plt__registry_acquire(&reg, &dialer, "storage", 1, 9, &ref),
        PLT_EVERSION);
    assert_int_equal(dialer.nacq, 0);

    assert_int_equal(
        plt__registry_acquire(&reg, &dialer, "storage", 1, 0, &ref), 0);
    assert_int_equal(
        plt__registry_acquire(&reg, &dialer, "storage", 1, 1, &ref), 0);
    assert_int_equal(plt__registry_acquire(&reg, &dialer, "cache", 2, 0, &ref),
                     0);
    assert_int_equal(dialer.nacq, 2);
    assert_string_equal(dialer.acq[0].service, "storage");
    assert_ptr_equal(dialer.acq[0].provider, &pg);
    assert_string_equal(dialer.acq[1].service, "cache");
    assert_ptr_equal(dialer.acq[1].provider, &pg);
}

/* When a provider goes away (fini), its services go with it. */
static void
removed_provider_is_no_longer_found(void **state)
{
    (void)state;
    provide(&pg, "storage", 1, 0);
    provide(&pg, "cache", 2, 0);
    provide(&lite, "storage", 1, 0);
    plt__registry_remove_provider(&reg, &pg);
    assert_int_equal(reg.n, 1);
    plt_service_ref ref;
    assert_int_equal(plt__registry_acquire(&reg, &web, "storage", 1, 0, &ref),
                     0);
    assert_string_equal(ref.provider, "storage_lite");
    assert_int_equal(plt__registry_acquire(&reg, &dialer, "cache", 2, 0, &ref),
                     PLT_ENOSERVICE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            version_must_match_major_and_cover_minor, setup, teardown),
        cmocka_unit_test_setup_teardown(acquire_requires_declared_need, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(acquire_without_provider_is_enoservice,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            provide_checks_declaration_and_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(provide_copies_the_descriptor, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(two_providers_need_a_binding, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(binding_never_falls_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(acquisitions_are_recorded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(removed_provider_is_no_longer_found,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
