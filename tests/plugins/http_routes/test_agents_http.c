/* SPDX-License-Identifier: MIT */
/*
 * The agents plugin's browser routes (plugins/agents/agents_http.c) on the
 * fake host with storage_sqlite.so, sim.so and agents.so as built, and the
 * fake `http` provider: an agent connects an extension, goes available,
 * is forced into a pause by a supervisor (audited), dials a number by hand
 * and gets the screen pop and the call's events pushed to them alone, then
 * finds the call in "my last calls"; roles are enforced per route and per
 * WebSocket message; agent events are forwarded to staff and the agent.
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
    char dir[64]; /* data directory, kept across a restart */
} fx;

static void
add_so(fx *f, const char *name, const char *yaml)
{
    assert_int_equal(fake_http_add_so(f->fh, name, yaml), 0);
}

static void
open_host(fx *f)
{
    plt_fake_options o = {.data_dir = f->dir};
    assert_int_equal(plt_fake_host_new(&f->fh, &o), 0);
    assert_int_equal(fake_http_new(f->fh, &f->h), 0);
    add_so(f, "storage_sqlite", NULL);
    add_so(f, "sim",
           "seed: 3\nanswer_rate: 1.0\nmachine_rate: 0\nbusy_rate: 0\n"
           "invalid_rate: 0\nring_to_answer_mean: 2s\nring_to_answer_sd: 1s\n"
           "talk_mean: 20s\ntalk_sd: 2s\npatience_mean: 60s\n");
    add_so(f, "agents", "max_wrap_up: 10s\n");
    assert_int_equal(plt_fake_host_init(f->fh), 0);
    assert_int_equal(plt_fake_host_start(f->fh), 0);
    plt_fake_host_run_until_idle(f->fh);
}

static void
close_host(fx *f)
{
    fake_http_reply_clear(&f->r);
    assert_int_equal(plt_fake_host_stop(f->fh), 0);
    int rc = plt_fake_host_free(f->fh);
    fake_http_free(f->h);
    assert_int_equal(rc, 0);
}

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_agents_http_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    open_host(f);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    close_host(f);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
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

#define ME "alice"
#define AG PLT_ROLE_AGENT
#define SUP PLT_ROLE_SUPERVISOR

static void
registrations(void **state)
{
    fx *f = *state;
    assert_true(fake_http_route_count(f->h) >= 10);
    const plt_http_forward *fw = fake_http_forward(f->h, "agent.state_changed");
    assert_non_null(fw);
    assert_int_equal(fw->roles, PLT_HTTP_STAFF);
    assert_string_equal(fw->owner_field, "agent");
}

static void
console_and_supervisor(void **state)
{
    fx *f = *state;
    json_t *b = req(f, "GET", "/agents/me", ME, AG, NULL, 200);
    assert_string_equal(str(b, "state"), "logged_out");
    assert_true(json_array_size(json_object_get(b, "pause_reasons")) >= 1);

    req(f, "POST", "/agents/me/login", ME, AG, "{\"phone\":\"\"}", 400);
    b = req(f, "POST", "/agents/me/login", ME, AG, "{\"phone\":\"200\"}", 202);
    assert_string_equal(str(b, "state"), "connecting");
    assert_string_equal(str(b, "phone"), "agent:200");
    plt_fake_host_run_for(f->fh, 5000);
    b = req(f, "GET", "/agents/me", ME, AG, NULL, 200);
    assert_string_equal(str(b, "state"), "pause");
    assert_string_equal(str(b, "reason"), "login");

    /* Roles: the list is for staff. */
    req(f, "GET", "/agents", ME, AG, NULL, 403);
    req(f, "GET", "/agents", NULL, 0, NULL, 401);
    b = req(f, "GET", "/agents", "sue", SUP, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(b, "items")), 1);
    b = req(f, "GET", "/agents/alice", "sue", SUP, NULL, 200);
    assert_string_equal(str(b, "state"), "pause");
    req(f, "GET", "/agents/nobody", "sue", SUP, NULL, 404);
    req(f, "GET", "/agents/alice", ME, AG, NULL, 403);

    req(f, "POST", "/agents/me/state", ME, AG, "{\"state\":\"bogus\"}", 400);
    b = req(f, "POST", "/agents/me/state", ME, AG,
            "{\"state\":\"available\"}", 200);
    assert_string_equal(str(b, "state"), "available");
    req(f, "POST", "/agents/me/call/hangup", ME, AG, NULL, 409);

    /* A supervisor forces a pause: applied, audited. An agent cannot. */
    req(f, "POST", "/agents/bob/state", ME, AG, "{\"state\":\"pause\"}", 403);
    b = req(f, "POST", "/agents/alice/state", "sue", SUP,
            "{\"state\":\"pause\",\"reason\":\"meeting\"}", 200);
    assert_string_equal(str(b, "state"), "pause");
    assert_int_equal(fake_http_audit_count(f->h, "agent.state_forced"), 1);
    b = req(f, "GET", "/agents/me", ME, AG, NULL, 200);
    assert_string_equal(str(b, "reason"), "meeting");

    /* WebSocket messages, with their own role check. */
    fake_http_reply_clear(&f->r);
    fake_http_ws(f->h, "agent.set_state", ME, AG,
                 "{\"state\":\"pause\",\"reason\":\"meal\"}", &f->r);
    assert_int_equal(f->r.status, 200);
    assert_string_equal(str(f->r.body, "reason"), "meal");
    fake_http_reply_clear(&f->r);
    fake_http_ws(f->h, "agent.force_state", ME, AG,
                 "{\"agent\":\"alice\",\"state\":\"available\"}", &f->r);
    assert_int_equal(f->r.status, 400);
}

static void
manual_dial_pops_and_is_remembered(void **state)
{
    fx *f = *state;
    req(f, "POST", "/agents/me/login", ME, AG, "{\"phone\":\"201\"}", 202);
    plt_fake_host_run_for(f->fh, 5000);
    req(f, "POST", "/agents/me/dial", ME, AG, "{}", 400);
    json_t *b = req(f, "POST", "/agents/me/dial", ME, AG,
                    "{\"number\":\"+33612345678\"}", 200);
    assert_true(strlen(str(b, "leg_id")) > 0);
    plt_fake_host_run_until_idle(f->fh);
    json_t *pop = fake_http_push_last(f->h, ME, "agent.call");
    assert_non_null(pop);
    assert_string_equal(str(pop, "number"), "+33612345678");
    b = req(f, "GET", "/agents/me", ME, AG, NULL, 200);
    assert_string_equal(str(b, "state"), "outbound");

    plt_fake_host_run_for(f->fh, 15000); /* answered, bridged, talking */
    assert_true(fake_http_push_count(f->h, ME, "call.answered") >= 1);
    assert_true(fake_http_push_count(f->h, ME, "call.bridged") >= 1);
    b = req(f, "POST", "/agents/me/call/hold", ME, AG, NULL, 200);
    b = req(f, "POST", "/agents/me/call/resume", ME, AG, NULL, 200);
    plt_fake_host_run_for(f->fh, 60000); /* the customer hangs up */
    assert_true(fake_http_push_count(f->h, ME, "call.ended") >= 1);
    assert_int_equal(fake_http_push_count(f->h, "bob", NULL), 0);
    b = req(f, "GET", "/agents/me", ME, AG, NULL, 200);
    json_t *rec = json_object_get(b, "recent_calls");
    assert_int_equal(json_array_size(rec), 1);
    json_t *c = json_array_get(rec, 0);
    assert_string_equal(str(c, "number"), "+33612345678");
    assert_true(json_integer_value(json_object_get(c, "talk_ms")) > 0);
    assert_string_not_equal(str(b, "state"), "outbound");

    /* My last calls come from storage: still there after a restart. */
    close_host(f);
    open_host(f);
    b = req(f, "GET", "/agents/me", ME, AG, NULL, 200);
    rec = json_object_get(b, "recent_calls");
    assert_int_equal(json_array_size(rec), 1);
    assert_string_equal(str(json_array_get(rec, 0), "number"), "+33612345678");
    assert_string_equal(str(b, "state"), "logged_out");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(registrations, setup, teardown),
        cmocka_unit_test_setup_teardown(console_and_supervisor, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(manual_dial_pops_and_is_remembered,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
