/* SPDX-License-Identifier: MIT */
/*
 * The core clock and plugin timers (core/clock.c), driven through a runtime
 * context as the core drives them. Mostly on the simulated clock: timers
 * fire at exact virtual instants, in deadline order with ties in start
 * order, repeating timers do not drift, stopping (self, another, a whole
 * owner) is safe from inside callbacks, eight simulated hours run in a
 * moment, and virtual time never jumps while work, posted callbacks or
 * queued events are still pending. On the real clock, a timer fires after
 * its delay and never before it, to the nanosecond.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* A fixed, recognisable wall-clock start: 2023-11-14T22:13:20Z. */
#define START_MS INT64_C(1700000000000)

typedef struct fx {
    uv_loop_t loop;
    plt__ctx ctx;
    struct plt_plugin owner; /* a fake plugin owning the timers */
    struct plt_plugin other;
    uint64_t mono0; /* plt__clock_mono() when the test began */
    int64_t now0;
    uv_timer_t guard; /* real-time limit of RUN_UNTIL */
    uv_timer_t pause; /* run_real_ms */
} fx;

static fx *F;               /* the running test's fixture, for callbacks */
static bool fake_hrtime_on; /* see uv_hrtime() below */

static void
fx_open(fx *f, bool simulated)
{
    memset(f, 0, sizeof(*f));
    fake_hrtime_on = false;
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(plt__ctx_init(&f->ctx, &f->loop, simulated, START_MS), 0);
    f->owner.name = "owner";
    f->owner.ctx = &f->ctx;
    f->owner.state = PLT__P_STARTED;
    f->other.name = "other";
    f->other.ctx = &f->ctx;
    f->other.state = PLT__P_STARTED;
    f->mono0 = plt__clock_mono(&f->ctx.clock);
    f->now0 = plt__clock_now(&f->ctx.clock);
    assert_int_equal(uv_timer_init(&f->loop, &f->guard), 0);
    assert_int_equal(uv_timer_init(&f->loop, &f->pause), 0);
    F = f;
}

/* Every test ends here: the runtime releases its handles and the loop
 * closes cleanly (no handle left behind). */
static void
fx_close(fx *f)
{
    uv_close((uv_handle_t *)&f->guard, NULL);
    uv_close((uv_handle_t *)&f->pause, NULL);
    plt__ctx_close(&f->ctx);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    F = NULL;
}

/* Virtual milliseconds elapsed since the test began. */
static uint64_t
elapsed(void)
{
    return plt__clock_mono(&F->ctx.clock) - F->mono0;
}

/* Run the loop until @p cond holds, with a real-time guard so that a bug
 * fails the test instead of hanging it. The loop stops as soon as @p cond
 * holds, so nothing after that instant has run. */
static bool guard_expired;

static void
on_guard(uv_timer_t *t)
{
    (void)t;
    guard_expired = true;
}

#define RUN_UNTIL(f, cond, real_ms)                                            \
    do {                                                                       \
        guard_expired = false;                                                 \
        uv_timer_start(&(f)->guard, on_guard, (real_ms), 0);                   \
        while (!(cond) && !guard_expired)                                      \
            uv_run(&(f)->loop, UV_RUN_ONCE);                                   \
        uv_timer_stop(&(f)->guard);                                            \
        assert_true(cond);                                                     \
    } while (0)

/* Run the loop for @p ms of real time. */
static bool paused;

static void
on_pause(uv_timer_t *t)
{
    (void)t;
    paused = true;
}

static void
run_real_ms(fx *f, uint64_t ms)
{
    paused = false;
    uv_timer_start(&f->pause, on_pause, ms, 0);
    RUN_UNTIL(f, paused, ms + 5000);
}

/* ------------------------------------------------------------------ */
/* A log of timer firings: which timer, at which virtual instant. */

typedef struct fire {
    int id;
    uint64_t at; /* virtual ms since the test began */
    int64_t now; /* plt__clock_now() inside the callback */
} fire;

static fire fires[64];
static size_t nfires;
static plt_timer *handles[16];

static void
record(int id)
{
    assert_true(nfires < sizeof(fires) / sizeof(fires[0]));
    fires[nfires].id = id;
    fires[nfires].at = elapsed();
    fires[nfires].now = plt__clock_now(&F->ctx.clock);
    nfires++;
}

static void
on_record(void *arg)
{
    record((int)(intptr_t)arg);
}

static void
reset_log(void)
{
    nfires = 0;
    memset(fires, 0, sizeof(fires));
    memset(handles, 0, sizeof(handles));
}

static size_t
count_id(int id)
{
    size_t n = 0;
    for (size_t i = 0; i < nfires; i++)
        n += fires[i].id == id;
    return n;
}

static void
start(fx *f, plt_plugin *owner, int id, uint64_t timeout, uint64_t repeat,
      plt_fn cb)
{
    assert_true(id >= 0 && id < 16);
    assert_int_equal(plt__timer_start(&f->ctx.clock, owner, &handles[id],
                                      timeout, repeat, cb,
                                      (void *)(intptr_t)id),
                     0);
}

/* ------------------------------------------------------------------ */

/* A one-shot timer fires once, exactly at its virtual deadline, and both
 * clocks (wall and monotonic) show that instant inside the callback. */
static void
one_shot_fires_once_at_exact_virtual_time(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, true);
    reset_log();
    assert_int_equal(f.now0, START_MS);
    assert_int_equal(plt__clock_pending(&f.ctx.clock), 0);

    start(&f, &f.owner, 1, 250, 0, on_record);
    /* Never from inside the start call. */
    assert_int_equal(nfires, 0);
    assert_int_equal(plt__clock_pending(&f.ctx.clock), 1);
    /* A sentinel far later proves time moved on past the one-shot. */
    start(&f, &f.owner, 2, 10000, 0, on_record);

    RUN_UNTIL(&f, count_id(2) == 1, 5000);
    assert_int_equal(count_id(1), 1);
    assert_int_equal(fires[0].id, 1);
    assert_int_equal(fires[0].at, 250);
    assert_int_equal(fires[0].now, START_MS + 250);
    assert_int_equal(fires[1].at, 10000);
    assert_int_equal(fires[1].now, START_MS + 10000);
    /* Time does not move on with nothing left to fire. */
    for (int i = 0; i < 10; i++)
        uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(nfires, 2);
    assert_int_equal(elapsed(), 10000);
    assert_int_equal(plt__clock_pending(&f.ctx.clock), 0);

    fx_close(&f);
}

/* Timers fire in deadline order; those due at the same instant fire in
 * the order they were started. */
static void
timers_fire_in_deadline_then_start_order(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, true);
    reset_log();

    static const struct {
        int id;
        uint64_t ms;
    } t[] = {{1, 300}, {2, 100}, {3, 200}, {4, 100}, {5, 0},
             {6, 300}, {7, 100}, {8, 200}, {9, 0}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        start(&f, &f.owner, t[i].id, t[i].ms, 0, on_record);

    RUN_UNTIL(&f, nfires == 9, 5000);
    static const int want_id[] = {5, 9, 2, 4, 7, 3, 8, 1, 6};
    static const uint64_t want_at[] = {0, 0, 100, 100, 100, 200, 200, 300, 300};
    for (size_t i = 0; i < 9; i++) {
        assert_int_equal(fires[i].id, want_id[i]);
        assert_int_equal(fires[i].at, want_at[i]);
    }
    fx_close(&f);
}

/* A repeating timer fires exactly once per period at exactly k * period:
 * no drift, no missed or doubled periods. */
static void
repeating_timer_fires_each_period_without_drift(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, true);
    reset_log();

    enum { N = 20, PERIOD = 1500 };
    start(&f, &f.owner, 1, PERIOD, PERIOD, on_record);
    /* Half a period after the N-th firing. */
    start(&f, &f.owner, 2, N * PERIOD + PERIOD / 2, 0, on_record);

    RUN_UNTIL(&f, count_id(2) == 1, 5000);
    assert_int_equal(count_id(1), N);
    for (size_t k = 0; k < N; k++) {
        assert_int_equal(fires[k].id, 1);
        assert_int_equal(fires[k].at, (k + 1) * PERIOD);
        assert_int_equal(fires[k].now, START_MS + (int64_t)(k + 1) * PERIOD);
    }
    plt__timer_stop(&f.ctx.clock, handles[1]);
    assert_int_equal(plt__clock_pending(&f.ctx.clock), 0);
    fx_close(&f);
}

/* Stopping a timer from inside its own callback is safe (ASan watches
 * the handle) and it never fires again, one-shot or repeating. */
static int stop_self_after;

static void
on_stop_self(void *arg)
{
    int id = (int)(intptr_t)arg;
    record(id);
    if ((int)count_id(id) == stop_self_after)
        plt__timer_stop(&F->ctx.clock, handles[id]);
}

static void
timer_stop_inside_own_callback_is_safe(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, true);
    reset_log();

    stop_self_after = 3;
    start(&f, &f.owner, 1, 50, 0, on_stop_self);    /* one-shot: stops at #1 */
    start(&f, &f.owner, 2, 100, 100, on_stop_self); /* repeating: at #3 */
    start(&f, &f.owner, 3, 5000, 0, on_record);

    RUN_UNTIL(&f, count_id(3) == 1, 5000);
    assert_int_equal(count_id(1), 1);
    assert_int_equal(count_id(2), 3);
    assert_int_equal(plt__clock_pending(&f.ctx.clock), 0);
    fx_close(&f);
}

/* A callback that stops another pending timer prevents it from firing,
 * even when that one is due at the very same instant. */
static void
on_stop_others(void *arg)
{
    record((int)(intptr_t)arg);
    plt__timer_stop(&F->ctx.clock, handles[2]);
    plt__timer_stop(&F->ctx.clock, handles[3]);
}

static void
stopping_another_timer_from_a_callback_prevents_it(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, true);
    reset_log();

    start(&f, &f.owner, 1, 100, 0, on_stop_others);
    start(&f, &f.owner, 2, 100, 0, on_record);  /* same instant, later */
    start(&f, &f.owner, 3, 200, 50, on_record); /* later, repeating */
    start(&f, &f.owner, 4, 1000, 0, on_record);

    RUN_UNTIL(&f, count_id(4) == 1, 5000);
    assert_int_equal(count_id(1), 1);
    assert_int_equal(count_id(2), 0);
    assert_int_equal(count_id(3), 0);
    assert_int_equal(fires[1].at, 1000);
    fx_close(&f);
}

/* Cancelling an owner's timers (what the core does after a plugin's fini)
 * removes exactly that owner's timers; the others fire as planned. */
static void
cancel_owner_cancels_only_that_owners_timers(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, true);
    reset_log();

    start(&f, &f.owner, 1, 100, 0, on_record);
    start(&f, &f.other, 2, 150, 0, on_record);
    start(&f, &f.owner, 3, 200, 100, on_record);
    start(&f, &f.owner, 4, 50, 0, on_record);
    start(&f, &f.other, 5, 300, 0, on_record);
    assert_int_equal(plt__clock_pending(&f.ctx.clock), 5);

    assert_int_equal(plt__clock_cancel_owner(&f.ctx.clock, &f.owner), 3);
    assert_int_equal(plt__clock_pending(&f.ctx.clock), 2);
    assert_int_equal(plt__clock_cancel_owner(&f.ctx.clock, &f.owner), 0);

    RUN_UNTIL(&f, nfires == 2 && plt__clock_pending(&f.ctx.clock) == 0, 5000);
    assert_int_equal(fires[0].id, 2);
    assert_int_equal(fires[0].at, 150);
    assert_int_equal(fires[1].id, 5);
    assert_int_equal(fires[1].at, 300);
    fx_close(&f);
}

/* "8 hours in milliseconds": a 1 s repeating timer over 8 simulated hours
 * fires 28,800 times at exact instants. The wall time is printed, not
 * asserted (it depends on the machine and the sanitizers). */
static uint64_t hb_count;
static uint64_t hb_bad; /* firings not at k * 1000 */

static void
on_heartbeat(void *arg)
{
    (void)arg;
    hb_count++;
    if (elapsed() != hb_count * 1000)
        hb_bad++;
    if (hb_count == 8 * 3600)
        plt__timer_stop(&F->ctx.clock, handles[1]);
}

static void
eight_simulated_hours_run_in_milliseconds(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, true);
    reset_log();
    hb_count = hb_bad = 0;

    uint64_t t0 = uv_hrtime();
    start(&f, &f.owner, 1, 1000, 1000, on_heartbeat);
    RUN_UNTIL(&f, plt__clock_pending(&f.ctx.clock) == 0, 50000);
    double wall_ms = (double)(uv_hrtime() - t0) / 1e6;

    assert_int_equal(hb_count, 28800);
    assert_int_equal(hb_bad, 0);
    assert_int_equal(elapsed(), UINT64_C(8) * 3600 * 1000);
    assert_int_equal(plt__clock_now(&f.ctx.clock),
                     START_MS + INT64_C(8) * 3600 * 1000);
    print_message("8 simulated hours (28,800 timer firings) took %.1f ms of "
                  "wall time\n",
                  wall_ms);
    fx_close(&f);
}

/* While work is in flight (plt_work_begin .. plt_work_end), virtual time
 * stands still: a timer due in 1 s fires only after the work ended on
 * another thread, however long that took in real time, and it fires at
 * exactly t + 1000. */
static atomic_bool work_ended;
static bool fired_after_work;

static void
end_work_later(void *arg)
{
    plt__post *p = arg;
    uv_sleep(150);
    atomic_store(&work_ended, true);
    plt__post_work_end(p);
}

static void
on_due_after_work(void *arg)
{
    record((int)(intptr_t)arg);
    fired_after_work = atomic_load(&work_ended);
}

static void
virtual_time_waits_for_work_in_flight(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, true);
    reset_log();
    atomic_store(&work_ended, false);
    fired_after_work = false;

    plt__post_work_begin(&f.ctx.post);
    start(&f, &f.owner, 1, 1000, 0, on_due_after_work);
    uv_thread_t th;
    assert_int_equal(uv_thread_create(&th, end_work_later, &f.ctx.post), 0);

    RUN_UNTIL(&f, nfires == 1, 10000);
    assert_true(fired_after_work);
    assert_int_equal(fires[0].at, 1000);
    assert_int_equal(fires[0].now, START_MS + 1000);
    assert_int_equal(uv_thread_join(&th), 0);
    assert_int_equal(plt__post_pending(&f.ctx.post), 0);
    fx_close(&f);
}

/* Virtual time also waits for queued events: an event published now is
 * delivered, at the current instant, before a timer due 1 ms later, and
 * an event published while a timer is pending too. */
static uint64_t delivered_at[4];
static size_t fires_before_delivery[4];
static int ndelivered;

static void
on_event(const plt_event *ev, void *arg)
{
    (void)ev;
    (void)arg;
    if (ndelivered < 4) {
        delivered_at[ndelivered] = elapsed();
        fires_before_delivery[ndelivered] = nfires;
    }
    ndelivered++;
}

static void
publish_now(fx *f)
{
    plt_event *ev;
    assert_int_equal(plt__event_new(&ev, "owner", plt__clock_now(&f->ctx.clock),
                                    "call.answered", 1),
                     0);
    assert_int_equal(plt__bus_publish(&f->ctx.bus, ev), 0);
}

static void
virtual_time_waits_for_queued_events(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, true);
    reset_log();
    ndelivered = 0;

    plt_sub *sub;
    assert_int_equal(plt__bus_subscribe(&f.ctx.bus, &f.owner, "call.*",
                                        on_event, NULL, &sub),
                     0);
    plt__bus_set_delivering(&f.ctx.bus, true);

    /* Published, then the timer started: the loop looks at the clock
     * first (libuv runs the idle handle started last first), so only the
     * clock's own check keeps time from moving. */
    publish_now(&f);
    start(&f, &f.owner, 1, 1, 0, on_record);
    RUN_UNTIL(&f, nfires == 1, 5000);
    assert_int_equal(ndelivered, 1);
    assert_int_equal(delivered_at[0], 0);
    assert_int_equal(fires_before_delivery[0], 0);
    assert_int_equal(fires[0].at, 1);

    /* Timer pending, then an event published. */
    start(&f, &f.owner, 2, 1, 0, on_record);
    publish_now(&f);
    RUN_UNTIL(&f, nfires == 2, 5000);
    assert_int_equal(ndelivered, 2);
    assert_int_equal(delivered_at[1], 1);
    assert_int_equal(fires_before_delivery[1], 1);
    assert_int_equal(fires[1].at, 2);
    fx_close(&f);
}

/* Same, for a callback posted from another thread: it runs before time
 * advances to the next timer. */
static uint64_t posted_ran_at = UINT64_MAX;

static void
on_posted(void *arg)
{
    (void)arg;
    posted_ran_at = elapsed();
}

static void
virtual_time_waits_for_posted_callbacks(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, true);
    reset_log();
    posted_ran_at = UINT64_MAX;

    start(&f, &f.owner, 1, 5, 0, on_record);
    assert_int_equal(plt__post_send(&f.ctx.post, on_posted, NULL), 0);
    RUN_UNTIL(&f, nfires == 1, 5000);
    assert_int_equal(posted_ran_at, 0);
    assert_int_equal(fires[0].at, 5);
    fx_close(&f);
}

static uint64_t real_fired_ns;

static void
on_real(void *arg)
{
    real_fired_ns = uv_hrtime();
    record((int)(intptr_t)arg);
}

/* The real clock: a 30 ms one-shot fires, not earlier than 30 ms on the
 * monotonic clock (no upper bound: CI machines stall), and the loop closes
 * cleanly afterwards. */
static void
real_clock_one_shot_fires_after_its_delay(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, false);
    reset_log();
    assert_false(f.ctx.clock.simulated);

    uint64_t t0 = uv_hrtime();
    start(&f, &f.owner, 1, 30, 0, on_real);
    RUN_UNTIL(&f, nfires == 1, 5000);
    double real_ms = (double)(real_fired_ns - t0) / 1e6;
    print_message("real 30 ms one-shot fired after %.3f ms (clock: %llu ms)\n",
                  real_ms, (unsigned long long)fires[0].at);
    /* Never early, neither on the core clock nor in real nanoseconds. */
    assert_true(fires[0].at >= 30);
    assert_true(real_fired_ns - t0 >= UINT64_C(30000000));
    assert_int_equal(plt__clock_pending(&f.ctx.clock), 0);
    fx_close(&f);
}

/* The core's real monotonic clock is uv_hrtime(). This executable defines
 * it (its definition wins over libuv's for the core's calls; libuv's loop
 * keeps its own clock), so that a test can put the core at an exact
 * nanosecond. Off, it reads CLOCK_MONOTONIC as libuv does. */
static uint64_t fake_hrtime_ns;

uint64_t
uv_hrtime(void)
{
    if (fake_hrtime_on)
        return fake_hrtime_ns;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A real timer never fires before its whole delay has passed, even when
 * started at the very end of a millisecond: started at 1000.999999 ms, a
 * 30 ms timer must not fire at 1030.000000 (29.000001 ms later); at
 * 1031.000000 (30.000001 ms later) it does. */
static void
real_timer_is_never_early_within_a_millisecond(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, false);
    reset_log();

    fake_hrtime_on = true;
    fake_hrtime_ns = UINT64_C(1000999999);
    start(&f, &f.owner, 1, 30, 0, on_record);

    /* 29.000001 ms later on the core's clock; libuv's own timer wakes the
     * loop after 30 real ms, and then every millisecond. */
    fake_hrtime_ns = UINT64_C(1030000000);
    run_real_ms(&f, 60);
    assert_int_equal(nfires, 0);

    fake_hrtime_ns = UINT64_C(1031000000); /* 30.000001 ms later */
    RUN_UNTIL(&f, nfires == 1, 5000);
    fake_hrtime_on = false;
    fx_close(&f);
}

/* Closing with timers still pending releases them (ASan: no leak) and the
 * loop still closes; starting a timer after close is refused. */
static void
close_with_pending_timers_releases_them(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, true);
    reset_log();
    start(&f, &f.owner, 1, 100, 100, on_record);
    start(&f, &f.owner, 2, 200, 0, on_record);
    uv_close((uv_handle_t *)&f.guard, NULL);
    uv_close((uv_handle_t *)&f.pause, NULL);
    plt__ctx_close(&f.ctx);
    plt_timer *t = NULL;
    assert_int_equal(
        plt__timer_start(&f.ctx.clock, &f.owner, &t, 1, 0, on_record, NULL),
        PLT_ESHUTDOWN);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f.loop), 0);
    assert_int_equal(nfires, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_shot_fires_once_at_exact_virtual_time),
        cmocka_unit_test(timers_fire_in_deadline_then_start_order),
        cmocka_unit_test(repeating_timer_fires_each_period_without_drift),
        cmocka_unit_test(timer_stop_inside_own_callback_is_safe),
        cmocka_unit_test(stopping_another_timer_from_a_callback_prevents_it),
        cmocka_unit_test(cancel_owner_cancels_only_that_owners_timers),
        cmocka_unit_test(eight_simulated_hours_run_in_milliseconds),
        cmocka_unit_test(virtual_time_waits_for_work_in_flight),
        cmocka_unit_test(virtual_time_waits_for_queued_events),
        cmocka_unit_test(virtual_time_waits_for_posted_callbacks),
        cmocka_unit_test(real_clock_one_shot_fires_after_its_delay),
        cmocka_unit_test(real_timer_is_never_early_within_a_millisecond),
        cmocka_unit_test(close_with_pending_timers_releases_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
