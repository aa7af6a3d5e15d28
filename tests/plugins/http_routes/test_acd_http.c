/* SPDX-License-Identifier: MIT */
/*
 * The ACD's supervisor routes (plugins/acd/acd_http.c) on the fake host
 * with storage_sqlite.so, sim.so, agents.so and acd.so as built and the
 * fake `http` provider: queue figures for staff only, queue events
 * forwarded to staff, figures pushed at most once a second while callers
 * wait, and an inbound call reaching an agent who went available through
 * the console route pops on that agent's screen.
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

#include <plateau/plateau.h>
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

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_int_equal(plt_fake_host_new(&f->fh, NULL), 0);
    assert_int_equal(fake_http_new(f->fh, &f->h), 0);
    add_so(f, "storage_sqlite", NULL);
    add_so(f, "sim",
           "seed: 3\nanswer_rate: 1.0\nmachine_rate: 0\nbusy_rate: 0\n"
           "invalid_rate: 0\nring_to_answer_mean: 2s\nring_to_answer_sd: 1s\n"
           "talk_mean: 20s\ntalk_sd: 2s\npatience_mean: 600s\n"
           "patience_sd: 1s\nclaim_timeout: 5s\n"
           "inbound:\n  - {did: '+33140000000', rate_per_hour: 360}\n");
    add_so(f, "agents", "max_wrap_up: 10s\n");
    add_so(f, "acd",
           "queues:\n  - {name: support, dids: ['+33140000000']}\n"
           "agents:\n  - {agent: alice, queues: [support]}\n");
    assert_int_equal(plt_fake_host_init(f->fh), 0);
    assert_int_equal(plt_fake_host_start(f->fh), 0);
    plt_fake_host_run_until_idle(f->fh);
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

/* One request, answered before this returns (the routes answer at once). */
static json_t *
req(fx *f, const char *method, const char *path, const char *login,
    int32_t role, const char *body, int want_status)
{
    fake_http_reply_clear(&f->r);
    fake_http_request(f->h, method, path, login, role, body, NULL, &f->r);
    plt_fake_host_run_until_idle(f->fh);
    assert_true(f->r.answered);
    if (f->r.status != want_status)
        print_error("%s %s: %d %s\n", method, path, f->r.status,
                    f->r.body ? json_dumps(f->r.body, 0) : "");
    assert_int_equal(f->r.status, want_status);
    return f->r.body;
}

static const char *
str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}


#define SUP PLT_ROLE_SUPERVISOR
#define AG PLT_ROLE_AGENT

static void
queues_live(void **state)
{
    fx *f = *state;
    const plt_http_forward *fw = fake_http_forward(f->h, "queue.*");
    assert_non_null(fw);
    assert_int_equal(fw->roles, PLT_HTTP_STAFF);

    json_t *b = req(f, "GET", "/queues", "sue", SUP, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(b, "items")), 1);
    req(f, "GET", "/queues", "alice", AG, NULL, 403);
    req(f, "GET", "/queues/nope", "sue", SUP, NULL, 404);

    /* Ten minutes with nobody to answer: callers wait. */
    plt_fake_host_run_for(f->fh, 600000);
    b = req(f, "GET", "/queues/support", "sue", SUP, NULL, 200);
    json_int_t waiting = json_integer_value(json_object_get(b, "waiting"));
    assert_true(waiting >= 1);
    assert_true(json_integer_value(json_object_get(b, "longest_wait_ms")) >
                0);
    size_t pushes = fake_http_push_count(f->h, NULL, "acd.queue_stats");
    assert_true(pushes >= 1);
    assert_true(pushes <= 601); /* at most one a second */
    json_t *last = fake_http_push_last(f->h, NULL, "acd.queue_stats");
    json_t *q0 = json_array_get(json_object_get(last, "queues"), 0);
    assert_string_equal(json_string_value(json_object_get(q0, "queue")),
                        "support");

    /* Alice connects and goes available: a waiting caller pops. */
    req(f, "POST", "/agents/me/login", "alice", AG, "{\"phone\":\"200\"}",
        202);
    plt_fake_host_run_for(f->fh, 5000);
    req(f, "POST", "/agents/me/state", "alice", AG,
        "{\"state\":\"available\"}", 200);
    plt_fake_host_run_for(f->fh, 2000);
    json_t *pop = fake_http_push_last(f->h, "alice", "agent.call");
    assert_non_null(pop);
    assert_string_equal(json_string_value(json_object_get(pop, "direction")),
                        "inbound");
    assert_true(strlen(str(pop, "number")) > 3);
    b = req(f, "GET", "/agents/me", "alice", AG, NULL, 200);
    assert_string_equal(str(b, "state"), "in_call");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(queues_live, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
