/* SPDX-License-Identifier: MIT */
/*
 * The dependency graph (core/graph.c) on in-memory plugins: providers start
 * before their consumers; the order depends only on the plugins, never on
 * the order they are listed in (ties are broken by name); a missing
 * mandatory provider, a cycle, and two providers of one service without a
 * `services:` binding are refused with messages that name the plugins and
 * services involved; a binding picks the provider and must name an enabled
 * plugin that provides the service.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A small contact center: storage <- auth <- web, http <- web, storage <-
 * dialer, with dialer's telephony optional and missing. */
static const char *const p_storage[] = {"storage", NULL};
static const char *const p_auth[] = {"auth", NULL};
static const char *const p_http[] = {"http", NULL};
static const plt_dep n_auth[] = {{.service = "storage", .major = 1}, {NULL}};
static const plt_dep n_web[] = {
    {.service = "http", .major = 1}, {.service = "auth", .major = 1}, {NULL}};
static const plt_dep n_dialer[] = {
    {.service = "storage", .major = 1},
    {.service = "telephony", .major = 1, .flags = PLT_DEP_OPTIONAL},
    {NULL}};

static const plt_plugin_desc d_storage = {.name = "storage",
                                          .provides = p_storage};
static const plt_plugin_desc d_auth = {
    .name = "auth", .provides = p_auth, .needs = n_auth};
static const plt_plugin_desc d_http = {.name = "http", .provides = p_http};
static const plt_plugin_desc d_web = {.name = "web", .needs = n_web};
static const plt_plugin_desc d_dialer = {.name = "dialer", .needs = n_dialer};

static struct plt_plugin
mk(const plt_plugin_desc *d)
{
    return (struct plt_plugin){.name = (char *)d->name, .desc = d};
}

/* Order @p v; on success check that every plugin appears once and that
 * each mandatory provider comes before its consumer. */
static int
order(plt_plugin *const *v, size_t n, const plt__registry *b, size_t *out,
      plt__diags *d)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (size_t)-1;
    int rc = plt__graph_order(v, n, b, out, d);
    if (rc != 0)
        return rc;
    size_t pos[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++)
        pos[i] = (size_t)-1;
    for (size_t k = 0; k < n; k++) {
        assert_true(out[k] < n);
        assert_true(pos[out[k]] == (size_t)-1); /* once */
        pos[out[k]] = k;
    }
    for (size_t j = 0; j < n; j++)
        for (const plt_dep *dp = v[j]->desc->needs; dp && dp->service; dp++) {
            plt_plugin *prov = plt__graph_provider(v, n, b, dp->service);
            if (!prov || prov == v[j])
                continue;
            size_t i = 0;
            while (v[i] != prov)
                i++;
            if (pos[i] > pos[j])
                fail_msg("%s starts after its consumer %s", v[i]->name,
                         v[j]->name);
        }
    return 0;
}

/* The names in start order, space-separated. */
static const char *
names(plt_plugin *const *v, size_t n, const size_t *ord)
{
    static char buf[256];
    buf[0] = '\0';
    for (size_t k = 0; k < n; k++) {
        if (k)
            strcat(buf, " ");
        strcat(buf, v[ord[k]]->name);
    }
    return buf;
}

/* All diagnostics, one per line. */
static const char *
diag_text(const plt__diags *d)
{
    static char buf[2048];
    buf[0] = '\0';
    for (size_t i = 0; i < d->n; i++) {
        strncat(buf, d->v[i].msg, sizeof(buf) - strlen(buf) - 2);
        strcat(buf, "\n");
    }
    return buf;
}

#define assert_contains(hay, needle)                                           \
    do {                                                                       \
        if (!strstr((hay), (needle)))                                          \
            fail_msg("expected \"%s\" in:\n%s", (needle), (hay));              \
    } while (0)

/* ------------------------------------------------------------------ */

/* Providers come first; among plugins ready together, the name decides. */
static void
providers_start_before_consumers(void **state)
{
    (void)state;
    struct plt_plugin web = mk(&d_web), dialer = mk(&d_dialer),
                      auth = mk(&d_auth), storage = mk(&d_storage),
                      http = mk(&d_http);
    plt_plugin *v[] = {&web, &dialer, &auth, &storage, &http};
    size_t ord[5];
    plt__diags d = {0};
    assert_int_equal(order(v, 5, NULL, ord, &d), 0);
    assert_int_equal(d.n, 0);
    assert_string_equal(names(v, 5, ord), "http storage auth dialer web");
    plt__diags_clear(&d);
}

/* The same plugins listed in any order give the same start order. */
static bool
next_perm(size_t *a, size_t n)
{
    size_t i = n - 1;
    while (i > 0 && a[i - 1] >= a[i])
        i--;
    if (i == 0)
        return false;
    size_t j = n - 1;
    while (a[j] <= a[i - 1])
        j--;
    size_t t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
    for (size_t l = i, r = n - 1; l < r; l++, r--) {
        t = a[l];
        a[l] = a[r];
        a[r] = t;
    }
    return true;
}

static void
order_is_independent_of_input_order(void **state)
{
    (void)state;
    /* Two extra plugins without dependencies make ties matter. */
    static const plt_plugin_desc d_zeta = {.name = "zeta"};
    static const plt_plugin_desc d_alpha = {.name = "alpha"};
    struct plt_plugin all[] = {mk(&d_web),     mk(&d_dialer), mk(&d_auth),
                               mk(&d_storage), mk(&d_http),   mk(&d_zeta),
                               mk(&d_alpha)};
    enum { N = N_OF(all) };
    size_t perm[N];
    for (size_t i = 0; i < N; i++)
        perm[i] = i;
    size_t count = 0;
    do {
        plt_plugin *v[N];
        for (size_t i = 0; i < N; i++)
            v[i] = &all[perm[i]];
        size_t ord[N];
        plt__diags d = {0};
        assert_int_equal(order(v, N, NULL, ord, &d), 0);
        const char *got = names(v, N, ord);
        if (strcmp(got, "alpha http storage auth dialer web zeta") != 0)
            fail_msg("permutation %zu ordered as: %s", count, got);
        plt__diags_clear(&d);
        count++;
    } while (next_perm(perm, N));
    assert_int_equal(count, 5040); /* 7! */
}

/* A mandatory need without provider is refused, naming the consumer and
 * the service; an optional one is not. */
static void
missing_mandatory_provider_is_refused(void **state)
{
    (void)state;
    struct plt_plugin web = mk(&d_web), storage = mk(&d_storage),
                      auth = mk(&d_auth), dialer = mk(&d_dialer);
    plt_plugin *v[] = {&web, &storage, &auth, &dialer}; /* no http */
    size_t ord[4];
    plt__diags d = {0};
    assert_int_equal(order(v, 4, NULL, ord, &d), PLT_ENOSERVICE);
    assert_int_equal(d.n, 1);
    const char *msg = diag_text(&d);
    assert_contains(msg, "web");
    assert_contains(msg, "'http'");
    /* dialer's optional telephony is not an error. */
    assert_null(strstr(msg, "telephony"));
    plt__diags_clear(&d);

    plt_plugin *w[] = {&dialer, &storage};
    assert_int_equal(order(w, 2, NULL, ord, &d), 0);
    assert_int_equal(d.n, 0);
    assert_string_equal(names(w, 2, ord), "storage dialer");
    plt__diags_clear(&d);
}

/* A cycle a -> b -> c -> a is refused with its path, services included.
 * A plugin depending on the cycle is not part of the path; a plugin may
 * use its own service. */
static const char *const p_a[] = {"svc_a", NULL};
static const char *const p_b[] = {"svc_b", NULL};
static const char *const p_c[] = {"svc_c", NULL};
static const plt_dep n_a[] = {{.service = "svc_b", .major = 1}, {NULL}};
static const plt_dep n_b[] = {{.service = "svc_c", .major = 1}, {NULL}};
static const plt_dep n_c[] = {{.service = "svc_a", .major = 1}, {NULL}};
static const plt_dep n_d[] = {{.service = "svc_a", .major = 1}, {NULL}};
static const plt_plugin_desc d_a = {.name = "a", .provides = p_a, .needs = n_a};
static const plt_plugin_desc d_b = {.name = "b", .provides = p_b, .needs = n_b};
static const plt_plugin_desc d_c = {.name = "c", .provides = p_c, .needs = n_c};
static const plt_plugin_desc d_d = {.name = "d", .needs = n_d};

static void
cycle_is_refused_with_its_path(void **state)
{
    (void)state;
    struct plt_plugin a = mk(&d_a), b = mk(&d_b), c = mk(&d_c), dd = mk(&d_d),
                      storage = mk(&d_storage);
    /* d first, so that the search for the cycle starts outside it. */
    plt_plugin *v[] = {&dd, &storage, &c, &b, &a};
    size_t ord[5];
    plt__diags d = {0};
    assert_int_equal(order(v, 5, NULL, ord, &d), PLT_EDEPCYCLE);
    assert_int_equal(d.n, 1);
    const char *msg = diag_text(&d);
    print_message("%s", msg);
    assert_contains(msg, "cycle");
    assert_contains(msg, "a needs 'svc_b' from b");
    assert_contains(msg, "b needs 'svc_c' from c");
    assert_contains(msg, "c needs 'svc_a' from a");
    assert_null(strstr(msg, "d needs"));
    assert_null(strstr(msg, "storage"));
    plt__diags_clear(&d);

    /* Two plugins needing each other. */
    static const plt_dep n_x[] = {{.service = "svc_y", .major = 1}, {NULL}};
    static const plt_dep n_y[] = {{.service = "svc_x", .major = 1}, {NULL}};
    static const char *const p_x[] = {"svc_x", NULL};
    static const char *const p_y[] = {"svc_y", NULL};
    static const plt_plugin_desc d_x = {
        .name = "x", .provides = p_x, .needs = n_x};
    static const plt_plugin_desc d_y = {
        .name = "y", .provides = p_y, .needs = n_y};
    struct plt_plugin x = mk(&d_x), y = mk(&d_y);
    plt_plugin *w[] = {&x, &y};
    assert_int_equal(order(w, 2, NULL, ord, &d), PLT_EDEPCYCLE);
    msg = diag_text(&d);
    assert_contains(msg, "x needs 'svc_y' from y");
    assert_contains(msg, "y needs 'svc_x' from x");
    plt__diags_clear(&d);

    /* Using one's own service is not a cycle. */
    static const char *const p_self[] = {"svc_self", NULL};
    static const plt_dep n_self[] = {{.service = "svc_self", .major = 1},
                                     {NULL}};
    static const plt_plugin_desc d_self = {
        .name = "self", .provides = p_self, .needs = n_self};
    struct plt_plugin self = mk(&d_self);
    plt_plugin *s[] = {&self};
    assert_int_equal(order(s, 1, NULL, ord, &d), 0);
    assert_int_equal(d.n, 0);
    plt__diags_clear(&d);
}

/* Two storage providers and a consumer. */
static const plt_plugin_desc d_zstore = {.name = "zeta_store",
                                         .provides = p_storage};
static const plt_plugin_desc d_bstore = {.name = "beta_store",
                                         .provides = p_storage};
static const plt_dep n_app[] = {{.service = "storage", .major = 1}, {NULL}};
static const plt_plugin_desc d_app = {.name = "app", .needs = n_app};

/* Two enabled providers of one service and no binding: refused, naming
 * both and showing the `services:` setting that resolves it. */
static void
two_providers_without_binding_are_refused(void **state)
{
    (void)state;
    struct plt_plugin z = mk(&d_zstore), bs = mk(&d_bstore), app = mk(&d_app);
    plt_plugin *v[] = {&app, &z, &bs};
    size_t ord[3];
    plt__diags d = {0};
    int rc = order(v, 3, NULL, ord, &d);
    assert_true(rc < 0);
    assert_int_equal(rc, PLT_ECONFIG);
    const char *msg = diag_text(&d);
    assert_contains(msg, "'storage'");
    assert_contains(msg, "zeta_store");
    assert_contains(msg, "beta_store");
    print_message("%s", msg);
    assert_contains(msg, "services:");
    plt__diags_clear(&d);

    /* Also when nobody needs the service: the ambiguity is in the config. */
    plt_plugin *w[] = {&z, &bs};
    assert_int_equal(order(w, 2, NULL, ord, &d), PLT_ECONFIG);
    plt__diags_clear(&d);
}

/* With a binding, the bound provider is the one the consumer waits for.
 * beta_store sorts first by name; if the edge went to it instead, app
 * would start before zeta_store. */
static void
binding_chooses_the_provider(void **state)
{
    (void)state;
    struct plt_plugin z = mk(&d_zstore), bs = mk(&d_bstore), app = mk(&d_app);
    plt_plugin *v[] = {&app, &bs, &z};
    plt__registry b = {0};
    assert_int_equal(plt__registry_bind(&b, "storage", "zeta_store"), 0);
    size_t ord[3];
    plt__diags d = {0};
    assert_int_equal(order(v, 3, &b, ord, &d), 0);
    assert_int_equal(d.n, 0);
    assert_string_equal(names(v, 3, ord), "beta_store zeta_store app");
    assert_ptr_equal(plt__graph_provider(v, 3, &b, "storage"), &z);
    assert_null(plt__graph_provider(v, 3, NULL, "storage")); /* ambiguous */
    plt__diags_clear(&d);
    plt__registry_free(&b);
}

/* A binding must name an enabled plugin that provides the service. */
static void
bad_bindings_are_refused(void **state)
{
    (void)state;
    struct plt_plugin z = mk(&d_zstore), bs = mk(&d_bstore), app = mk(&d_app),
                      http = mk(&d_http);
    plt_plugin *v[] = {&app, &bs, &z, &http};
    size_t ord[4];
    plt__diags d = {0};

    plt__registry b = {0};
    assert_int_equal(plt__registry_bind(&b, "storage", "storage_pg"), 0);
    assert_int_equal(order(v, 4, &b, ord, &d), PLT_ECONFIG);
    const char *msg = diag_text(&d);
    assert_contains(msg, "storage_pg");
    assert_contains(msg, "not an enabled plugin");
    plt__diags_clear(&d);
    plt__registry_free(&b);

    assert_int_equal(plt__registry_bind(&b, "storage", "http"), 0);
    assert_int_equal(order(v, 4, &b, ord, &d), PLT_ECONFIG);
    msg = diag_text(&d);
    assert_contains(msg, "'http'");
    assert_contains(msg, "does not provide 'storage'");
    plt__diags_clear(&d);
    plt__registry_free(&b);
}

/* No plugins, or one without dependencies, is trivially fine. */
static void
trivial_graphs(void **state)
{
    (void)state;
    size_t ord[1];
    plt__diags d = {0};
    assert_int_equal(plt__graph_order(NULL, 0, NULL, ord, &d), 0);
    struct plt_plugin http = mk(&d_http);
    plt_plugin *v[] = {&http};
    assert_int_equal(order(v, 1, NULL, ord, &d), 0);
    assert_int_equal(ord[0], 0);
    assert_int_equal(d.n, 0);
    plt__diags_clear(&d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(providers_start_before_consumers),
        cmocka_unit_test(order_is_independent_of_input_order),
        cmocka_unit_test(missing_mandatory_provider_is_refused),
        cmocka_unit_test(cycle_is_refused_with_its_path),
        cmocka_unit_test(two_providers_without_binding_are_refused),
        cmocka_unit_test(binding_chooses_the_provider),
        cmocka_unit_test(bad_bindings_are_refused),
        cmocka_unit_test(trivial_graphs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
