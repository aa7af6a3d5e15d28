/* SPDX-License-Identifier: MIT */
/*
 * The leads plugin's browser routes (plugins/leads/leads_http.c) on the
 * fake host with storage_sqlite.so and leads.so as built and the fake
 * `http` provider: the lists' state for staff only, a contact found by
 * number for the screen pop, a result saved with a callback for me that
 * then appears in "my callbacks" (and not in another agent's), the
 * rescheduled callback, and the history of the contact.
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
#include <plateau/svc/leads.h>
#include <plateau/svc/users.h>

#include "fake_http.h"

typedef struct fx {
    plt_fake_host *fh;
    fake_http *h;
    fake_http_reply r;
} fx;

static void
add_so(fx *f, const char *name, const char *yaml)
{
    assert_int_equal(fake_http_add_so(f->fh, name, yaml), 0);
}


static fx *cur; /* the fixture wait_reply() looks at */

static bool
answered(void *arg)
{
    (void)arg;
    return cur->r.answered;
}

/* Run until the reply came: storage answers from its own threads. */
static void
wait_reply(fx *f)
{
    cur = f;
    assert_true(fake_http_run_until(f->fh, answered, NULL));
}

static json_t *
req(fx *f, const char *method, const char *path, const char *login,
    int32_t role, const char *body, int want)
{
    fake_http_reply_clear(&f->r);
    fake_http_request(f->h, method, path, login, role, body, NULL, &f->r);
    wait_reply(f);
    if (f->r.status != want)
        print_error("%s %s: %d %s\n", method, path, f->r.status,
                    f->r.body ? json_dumps(f->r.body, 0) : "");
    assert_int_equal(f->r.status, want);
    return f->r.body;
}

typedef struct waiter {
    bool done;
    int status;
    int64_t id;
} waiter;

static void
on_id(void *arg, int status, int64_t id)
{
    waiter *w = arg;
    w->done = true;
    w->status = status;
    w->id = id;
}

static void
on_added(void *arg, int status, const plt_lead_added *r, size_t n)
{
    (void)r;
    (void)n;
    waiter *w = arg;
    w->done = true;
    w->status = status;
}

static bool
w_done(void *arg)
{
    return ((waiter *)arg)->done;
}

static void
wait_w(fx *f, waiter *w)
{
    assert_true(fake_http_run_until(f->fh, w_done, w));
    assert_int_equal(w->status, 0);
}

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_int_equal(plt_fake_host_new(&f->fh, NULL), 0);
    assert_int_equal(fake_http_new(f->fh, &f->h), 0);
    add_so(f, "storage_sqlite", NULL);
    add_so(f, "leads", NULL);
    assert_int_equal(plt_fake_host_init(f->fh), 0);
    assert_int_equal(plt_fake_host_start(f->fh), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    fake_http_reply_clear(&f->r);
    assert_int_equal(plt_fake_host_stop(f->fh), 0);
    int rc = plt_fake_host_free(f->fh);
    fake_http_free(f->h);
    free(f);
    assert_int_equal(rc, 0);
    return 0;
}

static const char *
str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

#define AG PLT_ROLE_AGENT
#define SUP PLT_ROLE_SUPERVISOR

static void
lists_contacts_callbacks(void **state)
{
    fx *f = *state;
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_LEADS_NAME, 1, 0, &ref),
                     0);
    const plt_leads_vt *lv = ref.vtable;
    const char *names[] = {"nom", "ville"};
    waiter w = {0};
    assert_int_equal(lv->list_create(ref.impl, "demo", NULL, names, 2, on_id,
                                     &w),
                     0);
    wait_w(f, &w);
    int64_t list_id = w.id;
    plt_lead_field f1[] = {{"nom", "Dupont"}, {"ville", "Lyon"}};
    plt_lead_field f2[] = {{"nom", "Martin"}, {"ville", "Nantes"}};
    plt_lead_phone p1 = {.original = "06 12 34 56 78"};
    plt_lead_phone p2 = {.original = "01 40 00 00 01"};
    plt_lead_new c[] = {{.fields = f1, .nfields = 2, .phones = &p1,
                         .nphones = 1, .line = 2},
                        {.fields = f2, .nfields = 2, .phones = &p2,
                         .nphones = 1, .line = 3}};
    plt_lead_add_opts o = {.size = sizeof(o), .source = "test"};
    memset(&w, 0, sizeof(w));
    assert_int_equal(lv->add_batch(ref.impl, list_id, c, 2, &o, on_added, &w),
                     0);
    wait_w(f, &w);

    req(f, "GET", "/lists", "alice", AG, NULL, 403);
    json_t *b = req(f, "GET", "/lists", "sue", SUP, NULL, 200);
    json_t *l0 = json_array_get(json_object_get(b, "items"), 0);
    assert_string_equal(str(l0, "name"), "demo");
    assert_int_equal(json_integer_value(json_object_get(l0, "total")), 2);
    char path[128];
    snprintf(path, sizeof(path), "/lists/%lld", (long long)list_id);
    b = req(f, "GET", path, "sue", SUP, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(b, "by_status"), "available")),
                     2);

    /* The screen pop finds the caller by number, in any form. */
    b = req(f, "GET", "/contacts?phone=%2B33612345678", "alice", AG, NULL,
            200);
    json_t *items = json_object_get(b, "items");
    assert_int_equal(json_array_size(items), 1);
    json_int_t id = json_integer_value(json_object_get(json_array_get(items, 0),
                                                       "id"));
    snprintf(path, sizeof(path), "/contacts/%lld", (long long)id);
    b = req(f, "GET", path, "alice", AG, NULL, 200);
    assert_string_equal(str(json_object_get(b, "fields"), "nom"), "Dupont");

    /* A result with a callback for me. */
    snprintf(path, sizeof(path), "/contacts/%lld/disposition", (long long)id);
    req(f, "POST", path, "alice", AG, "{\"note\":\"x\"}", 400);
    req(f, "POST", path, "alice", AG,
        "{\"campaign\":\"demo\",\"code\":\"RAPPEL\",\"note\":\"rappeler\","
        "\"callback_at\":4102444800000,\"callback_for\":\"me\","
        "\"products\":[\"box\"]}",
        200);
    b = req(f, "GET", "/callbacks/mine", "alice", AG, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(b, "items")), 1);
    b = req(f, "GET", "/callbacks/mine", "bob", AG, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(b, "items")), 0);

    snprintf(path, sizeof(path), "/contacts/%lld/callback", (long long)id);
    req(f, "POST", path, "alice", AG, "{}", 400);
    req(f, "POST", path, "alice", AG,
        "{\"callback_at\":4102531200000,\"callback_for\":\"me\"}", 200);
    snprintf(path, sizeof(path), "/contacts/%lld", (long long)id);
    b = req(f, "GET", path, "alice", AG, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(b, "callback_at")),
                     4102531200000LL);
    assert_string_equal(str(b, "status"), "callback");

    snprintf(path, sizeof(path), "/contacts/%lld/history", (long long)id);
    b = req(f, "GET", path, "alice", AG, NULL, 200);
    items = json_object_get(b, "items");
    assert_true(json_array_size(items) >= 2);
    bool noted = false;
    for (size_t i = 0; i < json_array_size(items); i++)
        noted |= !strcmp(str(json_array_get(items, i), "note"), "rappeler");
    assert_true(noted);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lists_contacts_callbacks, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
