/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the hello plugin on the SDK's fake host: no Plateau core,
 * simulated time, every event and log line recorded. Each test ends by
 * checking that plt_fake_host_free() closed the loop cleanly (nothing
 * leaked on it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <plateau/plateau.h>
#include <plateau/testing/fake_host.h>

#include "hello_greeter.h"

/* The plugin's sources are linked into this test: its descriptor is
 * here, under the name every plugin exports. */
extern const plt_plugin_desc plateau_plugin_v1;

typedef struct fixture {
    plt_fake_host *fh;
    plt_plugin *p;
} fixture;

/* Every test gets a fresh fake host; the teardown frees it and fails the
 * test unless the loop closed cleanly (nothing leaked on it). */
static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || plt_fake_host_new(&f->fh, NULL) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    int rc = plt_fake_host_free(f->fh);
    if (rc != 0)
        print_error("plt_fake_host_free: %d (a handle leaked)\n", rc);
    free(f);
    return rc == 0 ? 0 : -1;
}

static fixture *
start_hello(void **state, const char *config)
{
    fixture *f = *state;
    int rc = plt_fake_host_add(f->fh, &plateau_plugin_v1, config, &f->p);
    if (rc != 0)
        print_error("%s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    assert_int_equal(plt_fake_host_init(f->fh), 0);
    assert_int_equal(plt_fake_host_start(f->fh), 0);
    return f;
}

static void
greeting_sent_once_per_interval(void **state)
{
    fixture *f = start_hello(state, "interval: 5s\n");
    int64_t t0 = plt_fake_host_now(f->fh);

    plt_fake_host_run_for(f->fh, 4999);
    assert_int_equal(plt_fake_host_event_count(f->fh, "hello.greeting.sent"),
                     0);
    plt_fake_host_run_for(f->fh, 1);
    assert_int_equal(plt_fake_host_event_count(f->fh, "hello.greeting.sent"),
                     1);

    /* Ten more intervals of virtual time: exactly ten more greetings, each
     * on its period (absolute deadlines, no drift). */
    plt_fake_host_run_for(f->fh, 10 * 5000);
    assert_int_equal(plt_fake_host_now(f->fh), t0 + 11 * 5000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "hello.greeting.sent"),
                     11);
    for (size_t i = 0; i < 11; i++) {
        const plt_event *ev =
            plt_fake_host_event_at(f->fh, "hello.greeting.sent", i);
        assert_non_null(ev);
        assert_int_equal(plt_fake_event_time(ev), t0 + (int64_t)(i + 1) * 5000);
        assert_int_equal(plt_fake_event_i64(ev, "count", -1), (int64_t)i + 1);
    }
}

static void
greeting_event_fields(void **state)
{
    fixture *f = start_hello(state, "greeting: Hej\ninterval: 2s\n");
    plt_fake_host_run_for(f->fh, 6000);

    const plt_event *ev = plt_fake_host_event_last(f->fh, "hello.*");
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_topic(ev), "hello.greeting.sent");
    assert_string_equal(plt_fake_event_source(ev), "hello");
    assert_string_equal(plt_fake_event_str(ev, "greeting"), "Hej");
    assert_int_equal(plt_fake_event_i64(ev, "count", -1), 3);
    assert_int_equal(plt_fake_event_i64(ev, "seen_agent_events", -1), 0);
    /* The plugin also said it, once per greeting. */
    assert_int_equal(
        plt_fake_host_log_count(f->fh, PLT_LOG_INFO, "Hej, world!"), 3);
}

static void
defaults_apply(void **state)
{
    fixture *f = start_hello(state, NULL);
    plt_fake_host_run_for(f->fh, 59999);
    assert_int_equal(plt_fake_host_event_count(f->fh, NULL), 0);
    plt_fake_host_run_for(f->fh, 1);
    const plt_event *ev = plt_fake_host_event_last(f->fh, NULL);
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "greeting"), "Bonjour");
}

static void
agent_events_counted(void **state)
{
    fixture *f = start_hello(state, "interval: 1s\n");
    plt_fake_field fields[] = {{"agent_id", PLT_V_STR("a1")},
                               {"state", PLT_V_STR("ready")}};
    assert_int_equal(
        plt_fake_host_publish(f->fh, "agent.state_changed", fields, 2), 0);
    assert_int_equal(plt_fake_host_publish(f->fh, "agent.logged_in", NULL, 0),
                     0);
    /* Not an agent event: not counted. */
    assert_int_equal(plt_fake_host_publish(f->fh, "call.answered", NULL, 0), 0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(plt_fake_host_event_count(f->fh, "agent.*"), 2);

    plt_fake_host_run_for(f->fh, 1000);
    const plt_event *ev =
        plt_fake_host_event_last(f->fh, "hello.greeting.sent");
    assert_non_null(ev);
    assert_int_equal(plt_fake_event_i64(ev, "seen_agent_events", -1), 2);
}

static void
greeter_service_greets(void **state)
{
    fixture *f = start_hello(state, "greeting: Hello\n");
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(f->fh, HELLO_GREETER_NAME,
                                           HELLO_GREETER_MAJOR, 0, &ref),
                     0);
    assert_string_equal(ref.provider, "hello");
    const hello_greeter_vt *vt = ref.vtable;
    assert_true(PLT_VT_HAS(vt, greet));

    char buf[64];
    assert_int_equal(vt->greet(ref.impl, "Alice", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "Hello, Alice!");
    char small[6];
    assert_int_equal(vt->greet(ref.impl, "Alice", small, sizeof(small)),
                     PLT_ERANGE);
    assert_int_equal(vt->greet(ref.impl, "", buf, sizeof(buf)), PLT_EINVAL);

    /* A consumer asking for a newer major is refused. */
    assert_int_equal(
        plt_fake_host_acquire(f->fh, HELLO_GREETER_NAME, 2, 0, &ref),
        PLT_EVERSION);
}

static void
reload_checks_then_applies(void **state)
{
    fixture *f = start_hello(state, "interval: 1s\n");
    plt_service_ref ref;
    assert_int_equal(
        plt_fake_host_acquire(f->fh, HELLO_GREETER_NAME, 1, 0, &ref), 0);
    const hello_greeter_vt *vt = ref.vtable;
    char buf[64];

    /* CHECK refuses an empty greeting; the old one stays. */
    assert_int_equal(
        plt_fake_host_reconfigure(f->fh, f->p, "interval: 1s\ngreeting: ''\n"),
        PLT_ECONFIG);
    assert_non_null(
        strstr(plt_fake_host_last_error(f->fh), "greeting must not be empty"));
    assert_int_equal(vt->greet(ref.impl, "Bob", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "Bonjour, Bob!");

    /* A valid greeting is applied, to the service and the next event. */
    assert_int_equal(plt_fake_host_reconfigure(
                         f->fh, f->p, "interval: 1s\ngreeting: Salut\n"),
                     0);
    assert_int_equal(vt->greet(ref.impl, "Bob", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "Salut, Bob!");
    plt_fake_host_run_for(f->fh, 1000);
    assert_string_equal(
        plt_fake_event_str(plt_fake_host_event_last(f->fh, "hello.*"),
                           "greeting"),
        "Salut");
}

static void
invalid_interval_rejected(void **state)
{
    fixture *f = *state;
    plt_plugin *p = NULL;
    assert_int_equal(
        plt_fake_host_add(f->fh, &plateau_plugin_v1, "interval: 10ms\n", &p),
        PLT_ECONFIG);
    assert_null(p);
    /* The message names the key and its line. */
    const char *err = plt_fake_host_last_error(f->fh);
    assert_non_null(strstr(err, "interval"));
    assert_non_null(strstr(err, ":1:"));

    /* An unknown key (a typo) is refused too. */
    assert_int_equal(
        plt_fake_host_add(f->fh, &plateau_plugin_v1, "greting: Hi\n", NULL),
        PLT_ECONFIG);
    assert_non_null(strstr(plt_fake_host_last_error(f->fh), "greting"));
}

static void
command_prints_greeting(void **state)
{
    fixture *f = start_hello(state, NULL);
    char name[] = "Alice";
    char *argv[] = {name, NULL};
    int status = -1;
    assert_int_equal(
        plt_fake_host_command(f->fh, f->p, "hello", 1, argv, &status), 0);
    assert_int_equal(status, 0);
    /* Without a name: usage, exit status 2. */
    assert_int_equal(
        plt_fake_host_command(f->fh, f->p, "hello", 0, argv, &status), 0);
    assert_int_equal(status, 2);
}

static void
stops_cleanly(void **state)
{
    fixture *f = start_hello(state, "interval: 1s\n");
    plt_fake_host_run_for(f->fh, 3000);
    assert_int_equal(plt_fake_host_stop(f->fh), 0);
    /* Stopped: time passes, no more greetings. */
    plt_fake_host_run_for(f->fh, 10000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "hello.greeting.sent"),
                     3);
    /* No warning or error was logged along the way. */
    assert_int_equal(plt_fake_host_log_count(f->fh, PLT_LOG_WARN, NULL), 0);

    /* Freeing runs fini and closes the loop: 0 means nothing leaked. */
    assert_int_equal(plt_fake_host_free(f->fh), 0);
    assert_int_equal(plt_fake_host_new(&f->fh, NULL), 0); /* for teardown */
}

/* Each test runs on a fresh fake host (setup) that the teardown frees,
 * failing the test if anything was left on the loop. */
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(greeting_sent_once_per_interval),
        T(greeting_event_fields),
        T(defaults_apply),
        T(agent_events_counted),
        T(greeter_service_greets),
        T(reload_checks_then_applies),
        T(invalid_interval_rejected),
        T(command_prints_greeting),
        T(stops_cleanly),
    };
    return cmocka_run_group_tests_name("hello", tests, NULL, NULL);
}
