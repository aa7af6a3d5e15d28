/* SPDX-License-Identifier: MIT */
/*
 * Events and the event bus (core/event.c, core/bus.c): which topics and
 * patterns are accepted and what a pattern matches; delivery that is
 * asynchronous, in publish order and, for one event, in subscription
 * order; no re-entrancy when a subscriber publishes; delivery held until
 * the core starts it; unsubscribing and cancelling from inside callbacks;
 * no delivery to plugins that finished stopping; typed fields copied into
 * the event, immutable once published; references that keep an event
 * alive after delivery; publishing after shutdown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct fx {
    uv_loop_t loop;
    plt__bus bus;
    struct plt_plugin a, b; /* fake plugins owning subscriptions */
} fx;

static fx *F;

static void
fx_open(fx *f)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(plt__bus_init(&f->bus, &f->loop), 0);
    f->a.name = "a";
    f->a.state = PLT__P_STARTED;
    f->b.name = "b";
    f->b.state = PLT__P_STARTED;
    plt__bus_set_delivering(&f->bus, true);
    F = f;
}

static void
fx_close(fx *f)
{
    plt__bus_close(&f->bus);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    F = NULL;
}

/* Deliver everything: the bus's idle handle is the only active handle, so
 * the loop returns once the queue is empty. */
static void
deliver_all(fx *f)
{
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(plt__bus_queued(&f->bus), 0);
}

/* Publish an event numbered @p n (field "n"). */
static void
publish(fx *f, const char *topic, int64_t n)
{
    plt_event *ev;
    assert_int_equal(plt__event_new(&ev, "a", 0, topic, 1), 0);
    plt_value v = PLT_V_I64(n);
    assert_int_equal(plt__event_set(ev, "n", &v), 0);
    assert_int_equal(plt__bus_publish(&f->bus, ev), 0);
}

static int64_t
event_n(const plt_event *ev)
{
    plt_value v;
    assert_int_equal(plt__event_get(ev, "n", &v), 0);
    assert_int_equal(v.type, PLT_T_I64);
    return v.v.i;
}

/* A delivery log: "S1:3" = subscriber S1 got event 3. */
static char trace[4096];
static int depth; /* callbacks currently running (re-entrancy check) */
static int max_depth;

static void
trace_reset(void)
{
    trace[0] = '\0';
    depth = max_depth = 0;
}

static void
trace_add(const char *who, const plt_event *ev)
{
    char part[64];
    snprintf(part, sizeof(part), "%s%s:%lld", trace[0] ? " " : "", who,
             (long long)event_n(ev));
    strncat(trace, part, sizeof(trace) - strlen(trace) - 1);
}

static void
on_trace(const plt_event *ev, void *arg)
{
    depth++;
    if (depth > max_depth)
        max_depth = depth;
    trace_add(arg, ev);
    depth--;
}

static plt_sub *
sub(fx *f, plt_plugin *owner, const char *pattern, plt_event_fn cb, void *arg)
{
    plt_sub *s = NULL;
    assert_int_equal(plt__bus_subscribe(&f->bus, owner, pattern, cb, arg, &s),
                     0);
    assert_non_null(s);
    return s;
}

/* ------------------------------------------------------------------ */

static void
topic_validation(void **state)
{
    (void)state;
    static const char *const good[] = {"call.answered", "agent.state_changed",
                                       "a.b.c", "sip.trunk2.registered"};
    static const char *const bad[] = {
        "call", "Call.x",        "call..x", ".x",       "x.",       "call.*",
        "*",    "call.Answered", "call.2x", "call x.y", "call-x.y", ""};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!plt__topic_valid(good[i]))
            fail_msg("topic '%s' should be valid", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (plt__topic_valid(bad[i]))
            fail_msg("topic '%s' should be invalid", bad[i]);
    assert_false(plt__topic_valid(NULL));

    /* event_new refuses what topic validation refuses. */
    plt_event *ev = NULL;
    assert_int_equal(plt__event_new(&ev, "a", 0, "call", 1), PLT_EINVAL);
    assert_int_equal(plt__event_new(&ev, "a", 0, "call.*", 1), PLT_EINVAL);
    assert_int_equal(plt__event_new(&ev, "a", 0, "call.answered", 0),
                     PLT_EINVAL); /* schema_ver >= 1 */
    assert_null(ev);
}

static void
pattern_validation(void **state)
{
    (void)state;
    static const char *const good[] = {"*", "call.*", "call.answered",
                                       "agent.state.*", "a.b.c"};
    static const char *const bad[] = {
        "ca*",     "call*",   "*.x", "call.*.x", ".*",   "Call.*", "call..*",
        "9call.*", "call.x*", "**",  "call",     "_x.*", ""};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!plt__pattern_valid(good[i]))
            fail_msg("pattern '%s' should be valid", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (plt__pattern_valid(bad[i]))
            fail_msg("pattern '%s' should be invalid", bad[i]);
    assert_false(plt__pattern_valid(NULL));

    /* subscribe refuses bad patterns. */
    fx f;
    fx_open(&f);
    plt_sub *s = NULL;
    assert_int_equal(
        plt__bus_subscribe(&f.bus, &f.a, "call*", on_trace, "x", &s),
        PLT_EINVAL);
    assert_null(s);
    fx_close(&f);
}

static void
pattern_matching(void **state)
{
    (void)state;
    assert_true(plt__pattern_match("*", "call.answered"));
    assert_true(plt__pattern_match("*", "a.b.c"));
    assert_true(plt__pattern_match("call.*", "call.answered"));
    assert_true(plt__pattern_match("call.*", "call.leg.bridged"));
    assert_false(plt__pattern_match("call.*", "callback.scheduled"));
    assert_false(plt__pattern_match("call.*", "agent.call.x"));
    assert_true(plt__pattern_match("call.answered", "call.answered"));
    assert_false(plt__pattern_match("call.answered", "call.answered_late"));
    assert_false(plt__pattern_match("call.answered", "call.hungup"));
    assert_true(plt__pattern_match("agent.state.*", "agent.state.changed"));
    assert_false(plt__pattern_match("agent.state.*", "agent.state_changed"));
}

/* Publishing only queues: subscribers run later, on the loop, events in
 * publish order, and for each event the subscribers in the order they
 * subscribed, each only for topics its pattern matches. */
static void
delivery_is_async_in_publish_then_subscription_order(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    trace_reset();
    sub(&f, &f.a, "*", on_trace, "S1");
    sub(&f, &f.b, "call.*", on_trace, "S2");
    sub(&f, &f.a, "call.answered", on_trace, "S3");
    sub(&f, &f.b, "agent.*", on_trace, "S4");
    sub(&f, &f.a, "call.*", on_trace, "S5");

    publish(&f, "call.answered", 1);
    publish(&f, "agent.logged_in", 2);
    publish(&f, "call.hungup", 3);
    assert_string_equal(trace, ""); /* nothing inside publish */
    assert_int_equal(plt__bus_queued(&f.bus), 3);

    deliver_all(&f);
    assert_string_equal(trace, "S1:1 S2:1 S3:1 S5:1 "
                               "S1:2 S4:2 "
                               "S1:3 S2:3 S5:3");
    assert_int_equal(f.bus.published, 3);
    assert_int_equal(f.bus.delivered, 9);
    fx_close(&f);
}

/* A subscriber that publishes is not re-entered: its event is delivered
 * after the current one has reached every subscriber, and after events
 * queued before it. */
static void
on_publishing(const plt_event *ev, void *arg)
{
    depth++;
    if (depth > max_depth)
        max_depth = depth;
    trace_add(arg, ev);
    int64_t n = event_n(ev);
    if (n < 10) /* reply once per original event */
        publish(F, "call.replied", n * 10);
    depth--;
}

static void
publishing_subscriber_is_not_reentered(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    trace_reset();
    sub(&f, &f.a, "call.*", on_publishing, "P");
    sub(&f, &f.b, "call.*", on_trace, "T");

    publish(&f, "call.answered", 1);
    publish(&f, "call.hungup", 2);
    deliver_all(&f);
    assert_string_equal(trace, "P:1 T:1 P:2 T:2 P:10 T:10 P:20 T:20");
    assert_int_equal(max_depth, 1);
    fx_close(&f);
}

/* Nothing is delivered until the core turns delivery on (once every plugin
 * has started); then everything queued is, in order. */
static void
delivery_waits_until_turned_on(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    trace_reset();
    plt__bus_set_delivering(&f.bus, false);
    sub(&f, &f.a, "*", on_trace, "S");
    publish(&f, "call.answered", 1);
    publish(&f, "call.hungup", 2);

    for (int i = 0; i < 10; i++)
        uv_run(&f.loop, UV_RUN_NOWAIT);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_string_equal(trace, "");
    assert_int_equal(plt__bus_queued(&f.bus), 2);

    plt__bus_set_delivering(&f.bus, true);
    assert_string_equal(trace, ""); /* still not inside the call */
    deliver_all(&f);
    assert_string_equal(trace, "S:1 S:2");
    fx_close(&f);
}

/* Unsubscribing from inside a callback is safe, for the subscription being
 * called and for others, before or after it in order. Once unsubscribe
 * returns, that callback is never called again, not even for the event
 * being delivered; a subscription added during delivery starts with the
 * next event. */
static plt_sub *subs[8];

static void
on_unsub_self(const plt_event *ev, void *arg)
{
    trace_add(arg, ev);
    plt__bus_unsubscribe(&F->bus, subs[2]);
}

static void
on_unsub_others(const plt_event *ev, void *arg)
{
    trace_add(arg, ev);
    if (event_n(ev) == 1) {
        plt__bus_unsubscribe(&F->bus, subs[0]); /* before: already called */
        plt__bus_unsubscribe(&F->bus, subs[3]); /* after: not yet called */
        subs[4] = sub(F, &F->a, "*", on_trace, "E");
    }
}

static void
unsubscribe_inside_callbacks_is_safe(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    trace_reset();
    memset(subs, 0, sizeof(subs));
    subs[0] = sub(&f, &f.a, "*", on_trace, "A");
    subs[1] = sub(&f, &f.a, "*", on_unsub_others, "B");
    subs[2] = sub(&f, &f.b, "*", on_unsub_self, "C");
    subs[3] = sub(&f, &f.b, "*", on_trace, "D");

    /* Both events are in the same delivery batch. */
    publish(&f, "call.answered", 1);
    publish(&f, "call.hungup", 2);
    deliver_all(&f);
    assert_string_equal(trace, "A:1 B:1 C:1 B:2 E:2");

    trace[0] = '\0';
    publish(&f, "call.answered", 3);
    deliver_all(&f);
    assert_string_equal(trace, "B:3 E:3");
    assert_int_equal(f.bus.nsubs, 2);

    /* Unsubscribing outside delivery, and twice, is fine too. */
    plt__bus_unsubscribe(&f.bus, subs[4]);
    plt__bus_unsubscribe(&f.bus, NULL);
    trace[0] = '\0';
    publish(&f, "call.answered", 4);
    deliver_all(&f);
    assert_string_equal(trace, "B:4");
    fx_close(&f);
}

/* A plugin that finished stopping (or was finalised) receives nothing; one
 * still stopping does (e.g. the end of its last calls). */
static void
stopped_owner_receives_nothing(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    trace_reset();
    struct plt_plugin p[4] = {
        {.name = "started", .state = PLT__P_STARTED},
        {.name = "stopping", .state = PLT__P_STOPPING},
        {.name = "stopped", .state = PLT__P_STOPPED},
        {.name = "fini", .state = PLT__P_FINI},
    };
    for (int i = 0; i < 4; i++)
        sub(&f, &p[i], "*", on_trace, (void *)p[i].name);
    publish(&f, "call.answered", 1);
    deliver_all(&f);
    assert_string_equal(trace, "started:1 stopping:1");

    /* The state is read at delivery time, not at publish time. */
    trace[0] = '\0';
    publish(&f, "call.answered", 2);
    p[1].state = PLT__P_STOPPED;
    deliver_all(&f);
    assert_string_equal(trace, "started:2");
    fx_close(&f);
}

/* Cancelling an owner (what the core does after its fini) removes exactly
 * its subscriptions, also from inside one of its callbacks. */
static void
on_cancel_own(const plt_event *ev, void *arg)
{
    trace_add(arg, ev);
    assert_int_equal(plt__bus_cancel_owner(&F->bus, &F->a), 2);
}

static void
cancel_owner_removes_only_that_owner(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    trace_reset();
    sub(&f, &f.a, "*", on_trace, "a1");
    sub(&f, &f.b, "*", on_trace, "b1");
    sub(&f, &f.a, "call.*", on_trace, "a2");
    assert_int_equal(plt__bus_cancel_owner(&f.bus, &f.a), 2);
    assert_int_equal(plt__bus_cancel_owner(&f.bus, &f.a), 0);
    publish(&f, "call.answered", 1);
    deliver_all(&f);
    assert_string_equal(trace, "b1:1");

    trace[0] = '\0';
    sub(&f, &f.a, "*", on_cancel_own, "a3");
    sub(&f, &f.a, "*", on_trace, "a4");
    publish(&f, "call.answered", 2);
    publish(&f, "call.answered", 3);
    deliver_all(&f);
    assert_string_equal(trace, "b1:2 a3:2 b1:3");
    assert_int_equal(f.bus.nsubs, 1);
    fx_close(&f);
}

/* Fields of every type read back as set; strings and blobs are copied
 * (changing the caller's buffer afterwards changes nothing); fields keep
 * insertion order, and replacing a key keeps its position. */
static void
event_fields_of_every_type(void **state)
{
    (void)state;
    plt_event *ev;
    assert_int_equal(plt__event_new(&ev, "dialer", 1234, "call.answered", 3),
                     0);
    assert_string_equal(ev->topic, "call.answered");
    assert_string_equal(ev->source, "dialer");
    assert_int_equal(ev->schema_ver, 3);
    assert_int_equal(ev->time_ms, 1234);

    char text[] = "agent-007";
    unsigned char bytes[] = {0, 1, 2, 0, 255};
    plt_value v;
    v = PLT_V_NULL();
    assert_int_equal(plt__event_set(ev, "nothing", &v), 0);
    v = PLT_V_I64(INT64_MIN);
    assert_int_equal(plt__event_set(ev, "big", &v), 0);
    v = PLT_V_DOUBLE(2.5);
    assert_int_equal(plt__event_set(ev, "ratio", &v), 0);
    const char *textp = text;
    v = PLT_V_STR(textp);
    assert_int_equal(plt__event_set(ev, "agent", &v), 0);
    v = PLT_V_BLOB(bytes, sizeof(bytes));
    assert_int_equal(plt__event_set(ev, "raw", &v), 0);
    v = (plt_value){.type = PLT_T_BOOL, .v.i = 42}; /* any non-zero */
    assert_int_equal(plt__event_set(ev, "ok", &v), 0);
    v = PLT_V_TIME(INT64_C(1700000000123));
    assert_int_equal(plt__event_set(ev, "at", &v), 0);
    v = PLT_V_STR("");
    assert_int_equal(plt__event_set(ev, "empty", &v), 0);

    /* The caller's buffers change; the event must not. */
    memset(text, 'x', sizeof(text) - 1);
    memset(bytes, 0xAA, sizeof(bytes));

    plt_value out;
    assert_int_equal(plt__event_get(ev, "nothing", &out), 0);
    assert_int_equal(out.type, PLT_T_NULL);
    assert_int_equal(plt__event_get(ev, "big", &out), 0);
    assert_int_equal(out.type, PLT_T_I64);
    assert_true(out.v.i == INT64_MIN);
    assert_int_equal(plt__event_get(ev, "ratio", &out), 0);
    assert_int_equal(out.type, PLT_T_DOUBLE);
    assert_true(out.v.d == 2.5);
    assert_int_equal(plt__event_get(ev, "agent", &out), 0);
    assert_int_equal(out.type, PLT_T_STR);
    assert_int_equal(out.len, 9);
    assert_string_equal(out.v.s, "agent-007");
    assert_int_equal(plt__event_get(ev, "raw", &out), 0);
    assert_int_equal(out.type, PLT_T_BLOB);
    assert_int_equal(out.len, 5);
    static const unsigned char want_bytes[] = {0, 1, 2, 0, 255};
    assert_memory_equal(out.v.b, want_bytes, 5);
    assert_int_equal(plt__event_get(ev, "ok", &out), 0);
    assert_int_equal(out.type, PLT_T_BOOL);
    assert_int_equal(out.v.i, 1);
    assert_int_equal(plt__event_get(ev, "at", &out), 0);
    assert_int_equal(out.type, PLT_T_TIME);
    assert_int_equal(out.v.i, INT64_C(1700000000123));
    assert_int_equal(plt__event_get(ev, "empty", &out), 0);
    assert_int_equal(out.type, PLT_T_STR);
    assert_int_equal(out.len, 0);
    assert_string_equal(out.v.s, "");
    assert_int_equal(plt__event_get(ev, "missing", &out), PLT_ENOENT);

    /* Replacing keeps the position, with the new type and value. */
    v = PLT_V_STR("now a string");
    assert_int_equal(plt__event_set(ev, "big", &v), 0);
    static const char *const order[] = {"nothing", "big", "ratio", "agent",
                                        "raw",     "ok",  "at",    "empty"};
    assert_int_equal(ev->n, 8);
    for (size_t i = 0; i < 8; i++) {
        const char *key = NULL;
        assert_int_equal(plt__event_field_at(ev, i, &key, &out), 0);
        assert_string_equal(key, order[i]);
    }
    assert_int_equal(plt__event_field_at(ev, 1, NULL, &out), 0);
    assert_int_equal(out.type, PLT_T_STR);
    assert_string_equal(out.v.s, "now a string");
    assert_int_equal(plt__event_field_at(ev, 8, NULL, &out), PLT_ERANGE);

    /* Bad keys and types are refused and change nothing. */
    static const char *const bad_keys[] = {"",    "Agent", "1st", "a-b",
                                           "a.b", "a b",   "_x"};
    v = PLT_V_I64(1);
    for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++)
        if (plt__event_set(ev, bad_keys[i], &v) != PLT_EINVAL)
            fail_msg("key '%s' should be refused", bad_keys[i]);
    assert_int_equal(plt__event_set(ev, NULL, &v), PLT_EINVAL);
    assert_int_equal(plt__event_set(ev, "x", NULL), PLT_EINVAL);
    v = (plt_value){.type = 99};
    assert_int_equal(plt__event_set(ev, "x", &v), PLT_EINVAL);
    assert_int_equal(ev->n, 8);

    plt__event_unref(ev);
}

/* Once published an event is immutable: set (and a second publish) return
 * PLT_ESTATE, and a reference taken before publishing stays valid. */
static void
published_event_is_immutable(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    trace_reset();
    sub(&f, &f.a, "*", on_trace, "S");
    plt_event *ev;
    assert_int_equal(plt__event_new(&ev, "a", 0, "call.answered", 1), 0);
    plt_value v = PLT_V_I64(7);
    assert_int_equal(plt__event_set(ev, "n", &v), 0);
    plt_event *mine = plt__event_ref(ev);
    assert_int_equal(plt__bus_publish(&f.bus, ev), 0);

    v = PLT_V_I64(8);
    assert_int_equal(plt__event_set(mine, "n", &v), PLT_ESTATE);
    assert_int_equal(plt__event_set(mine, "other", &v), PLT_ESTATE);
    assert_int_equal(plt__bus_publish(&f.bus, mine), PLT_ESTATE);
    deliver_all(&f);
    assert_string_equal(trace, "S:7"); /* delivered once, unchanged */
    assert_int_equal(event_n(mine), 7);
    plt__event_unref(mine);
    fx_close(&f);
}

/* A subscriber may keep a reference and read the event after delivery;
 * the event lives until that reference is dropped (ASan checks both the
 * reads and that it is freed). */
static plt_event *kept;

static void
on_keep(const plt_event *ev, void *arg)
{
    (void)arg;
    kept = plt__event_ref(ev);
}

static void
subscriber_reference_outlives_delivery(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    kept = NULL;
    sub(&f, &f.a, "call.*", on_keep, NULL);
    plt_event *ev;
    assert_int_equal(plt__event_new(&ev, "a", 99, "call.answered", 2), 0);
    char id[] = "c-123";
    const char *idp = id;
    plt_value v = PLT_V_STR(idp);
    assert_int_equal(plt__event_set(ev, "call_id", &v), 0);
    assert_int_equal(plt__bus_publish(&f.bus, ev), 0);
    deliver_all(&f);

    assert_non_null(kept);
    assert_int_equal(kept->refs, 1); /* the bus dropped its own */
    assert_string_equal(kept->topic, "call.answered");
    assert_int_equal(kept->schema_ver, 2);
    plt_value out;
    assert_int_equal(plt__event_get(kept, "call_id", &out), 0);
    assert_string_equal(out.v.s, "c-123");
    plt__event_unref(kept);
    kept = NULL;
    fx_close(&f);
}

/* After shutdown, publishing returns PLT_ESHUTDOWN and still takes (frees)
 * the event; subscribing is refused. Events still queued at close are
 * released (LeakSanitizer checks both). */
static void
publish_after_close_frees_the_event(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    plt__bus_set_delivering(&f.bus, false);
    publish(&f, "call.answered", 1); /* queued, never delivered */
    plt__bus_close(&f.bus);

    plt_event *ev;
    assert_int_equal(plt__event_new(&ev, "a", 0, "call.answered", 1), 0);
    plt_value v = PLT_V_STR("some text to leak if not freed");
    assert_int_equal(plt__event_set(ev, "note", &v), 0);
    assert_int_equal(plt__bus_publish(&f.bus, ev), PLT_ESHUTDOWN);

    plt_sub *s = NULL;
    assert_int_equal(plt__bus_subscribe(&f.bus, &f.a, "*", on_trace, "S", &s),
                     PLT_ESHUTDOWN);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(topic_validation),
        cmocka_unit_test(pattern_validation),
        cmocka_unit_test(pattern_matching),
        cmocka_unit_test(delivery_is_async_in_publish_then_subscription_order),
        cmocka_unit_test(publishing_subscriber_is_not_reentered),
        cmocka_unit_test(delivery_waits_until_turned_on),
        cmocka_unit_test(unsubscribe_inside_callbacks_is_safe),
        cmocka_unit_test(stopped_owner_receives_nothing),
        cmocka_unit_test(cancel_owner_removes_only_that_owner),
        cmocka_unit_test(event_fields_of_every_type),
        cmocka_unit_test(published_event_is_immutable),
        cmocka_unit_test(subscriber_reference_outlives_delivery),
        cmocka_unit_test(publish_after_close_frees_the_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
