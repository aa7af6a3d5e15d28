/* SPDX-License-Identifier: MIT */
/*
 * Cross-thread posting and declared work (core/post.c): plt_post() is the
 * one host call plugin threads may make. Every accepted item runs exactly
 * once, on the loop thread, in each thread's posting order; once the core
 * stops accepting, posts are refused and never run; the pending count
 * (which the simulated clock waits on) returns to zero, and the loop is
 * told on its own thread when it does, also when work ends on another
 * thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct fx {
    uv_loop_t loop;
    plt__post post;
    uv_thread_t loop_thread;
    uv_timer_t guard;
    /* on_idle calls: when the pending count dropped to 0 */
    long idle_calls;
    long idle_off_loop; /* on_idle calls made on another thread */
} fx;

static bool guard_expired;

static void
on_guard(uv_timer_t *t)
{
    (void)t;
    guard_expired = true;
}

/* Run the loop until @p cond holds, failing after @p real_ms instead of
 * hanging. */
#define RUN_UNTIL(f, cond, real_ms)                                            \
    do {                                                                       \
        guard_expired = false;                                                 \
        uv_timer_start(&(f)->guard, on_guard, (real_ms), 0);                   \
        while (!(cond) && !guard_expired)                                      \
            uv_run(&(f)->loop, UV_RUN_ONCE);                                   \
        uv_timer_stop(&(f)->guard);                                            \
        assert_true(cond);                                                     \
    } while (0)

static void
on_post_idle(void *arg)
{
    fx *f = arg;
    uv_thread_t self = uv_thread_self();
    if (!uv_thread_equal(&self, &f->loop_thread))
        f->idle_off_loop++;
    f->idle_calls++;
}

static void
fx_open(fx *f)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(plt__post_init(&f->post, &f->loop), 0);
    assert_int_equal(uv_timer_init(&f->loop, &f->guard), 0);
    f->loop_thread = uv_thread_self();
    f->post.on_idle = on_post_idle;
    f->post.on_idle_arg = f;
}

static void
fx_close(fx *f)
{
    uv_close((uv_handle_t *)&f->guard, NULL);
    plt__post_close(&f->post);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* ------------------------------------------------------------------ */

enum { NTHREADS = 4, PER_THREAD = 10000 };

typedef struct item {
    struct poster *from;
    int seq;
    int runs;
} item;

typedef struct poster {
    fx *f;
    int id;
    item items[PER_THREAD];
    int last_seq; /* last seq run on the loop (loop thread only) */
    int out_of_order;
    atomic_int failed; /* posts that returned an error */
} poster;

static long ran_total, ran_off_loop;

static void
run_item(void *arg)
{
    item *it = arg;
    poster *p = it->from;
    uv_thread_t self = uv_thread_self();
    if (!uv_thread_equal(&self, &p->f->loop_thread))
        ran_off_loop++;
    if (it->seq != p->last_seq + 1)
        p->out_of_order++;
    p->last_seq = it->seq;
    it->runs++;
    ran_total++;
}

static void
post_many(void *arg)
{
    poster *p = arg;
    for (int i = 0; i < PER_THREAD; i++)
        if (plt__post_send(&p->f->post, run_item, &p->items[i]) != 0)
            atomic_fetch_add(&p->failed, 1);
}

/* 4 threads x 10,000 posts: every item runs exactly once, on the loop
 * thread, and each thread's items run in the order it posted them. */
static void
posts_from_many_threads_run_once_on_loop_in_order(void **state)
{
    (void)state;
    static fx f;
    static poster posters[NTHREADS];
    fx_open(&f);
    ran_total = ran_off_loop = 0;
    memset(posters, 0, sizeof(posters));

    uv_thread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        posters[t].f = &f;
        posters[t].id = t;
        posters[t].last_seq = -1;
        for (int i = 0; i < PER_THREAD; i++) {
            posters[t].items[i].from = &posters[t];
            posters[t].items[i].seq = i;
        }
    }
    for (int t = 0; t < NTHREADS; t++)
        assert_int_equal(uv_thread_create(&th[t], post_many, &posters[t]), 0);

    RUN_UNTIL(&f, ran_total == NTHREADS * PER_THREAD, 30000);
    for (int t = 0; t < NTHREADS; t++)
        assert_int_equal(uv_thread_join(&th[t]), 0);

    assert_int_equal(ran_off_loop, 0);
    for (int t = 0; t < NTHREADS; t++) {
        assert_int_equal(atomic_load(&posters[t].failed), 0);
        assert_int_equal(posters[t].out_of_order, 0);
        assert_int_equal(posters[t].last_seq, PER_THREAD - 1);
        for (int i = 0; i < PER_THREAD; i++)
            assert_int_equal(posters[t].items[i].runs, 1);
    }
    assert_int_equal(plt__post_pending(&f.post), 0);
    assert_true(f.idle_calls >= 1);
    assert_int_equal(f.idle_off_loop, 0);
    fx_close(&f);
}

/* Nothing runs inside plt__post_send itself, even on the loop thread. */
static int counter;

static void
bump(void *arg)
{
    (void)arg;
    counter++;
}

static void
post_never_runs_inside_the_call(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    counter = 0;
    assert_int_equal(plt__post_send(&f.post, bump, NULL), 0);
    assert_int_equal(counter, 0);
    assert_int_equal(plt__post_pending(&f.post), 1);
    RUN_UNTIL(&f, counter == 1, 5000);
    assert_int_equal(plt__post_pending(&f.post), 0);
    assert_int_equal(plt__post_send(&f.post, NULL, NULL), PLT_EINVAL);
    fx_close(&f);
}

/* After plt__post_stop_accepting, posts (from any thread) are refused
 * with PLT_ESHUTDOWN and their function never runs; what was accepted
 * before still runs; the pending count returns to 0. */
static atomic_int refused_rc;

static void
post_from_thread(void *arg)
{
    fx *f = arg;
    atomic_store(&refused_rc, plt__post_send(&f->post, bump, NULL));
}

static void
stop_accepting_refuses_later_posts(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    counter = 0;

    assert_int_equal(plt__post_send(&f.post, bump, NULL), 0); /* accepted */
    plt__post_stop_accepting(&f.post);
    assert_int_equal(plt__post_send(&f.post, bump, NULL), PLT_ESHUTDOWN);
    uv_thread_t th;
    assert_int_equal(uv_thread_create(&th, post_from_thread, &f), 0);
    assert_int_equal(uv_thread_join(&th), 0);
    assert_int_equal(atomic_load(&refused_rc), PLT_ESHUTDOWN);

    /* Only the accepted item counts as pending, and only it runs. */
    assert_int_equal(plt__post_pending(&f.post), 1);
    RUN_UNTIL(&f, counter == 1, 5000);
    for (int i = 0; i < 10; i++)
        uv_run(&f.loop, UV_RUN_NOWAIT);
    plt__post_drain(&f.post);
    assert_int_equal(counter, 1);
    assert_int_equal(plt__post_pending(&f.post), 0);
    fx_close(&f);
    assert_int_equal(counter, 1);
}

/* Items accepted before shutdown are not lost: closing runs them. */
static void
close_runs_what_was_accepted(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    counter = 0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(plt__post_send(&f.post, bump, NULL), 0);
    assert_int_equal(counter, 0);
    fx_close(&f);
    assert_int_equal(counter, 3);
}

/* Work declared on the loop thread and ended on another: the pending
 * count covers it until it ends, then returns to 0, and the loop thread
 * (not the worker) is told so, which is what lets the simulated clock
 * move on. */
static void
end_after_sleep(void *arg)
{
    fx *f = arg;
    uv_sleep(50);
    plt__post_work_end(&f->post);
}

static void
work_ended_on_another_thread_wakes_the_loop(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);

    plt__post_work_begin(&f.post);
    plt__post_work_begin(&f.post);
    assert_int_equal(plt__post_pending(&f.post), 2);
    uv_thread_t th;
    assert_int_equal(uv_thread_create(&th, end_after_sleep, &f), 0);
    /* One work item is still declared: the count never reaches zero. */
    RUN_UNTIL(&f, plt__post_pending(&f.post) == 1, 5000);
    assert_int_equal(uv_thread_join(&th), 0);
    for (int i = 0; i < 5; i++)
        uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(f.idle_calls, 0);

    /* The last one ends: now the loop hears about it. */
    assert_int_equal(uv_thread_create(&th, end_after_sleep, &f), 0);
    RUN_UNTIL(&f, f.idle_calls == 1, 5000);
    assert_int_equal(uv_thread_join(&th), 0);
    assert_int_equal(plt__post_pending(&f.post), 0);
    assert_int_equal(f.idle_off_loop, 0);

    /* Ending on the loop thread reports at once. */
    plt__post_work_begin(&f.post);
    plt__post_work_end_loop(&f.post);
    assert_int_equal(f.idle_calls, 2);
    assert_int_equal(plt__post_pending(&f.post), 0);
    fx_close(&f);
}

/* The same, whatever the worker's timing. uv_mutex_unlock is interposed
 * below (this executable's definition wins over libuv's for the core's
 * calls), and on a worker that asks for it, it sleeps right after
 * unlocking: the loop then drains the queue between the moment
 * plt__post_work_end's wake-up is posted and whatever the worker does
 * next. If the count reached 0 on the worker after the loop last looked,
 * nothing would tell the loop, and a simulated clock waiting for that work
 * would stay frozen for good. */
static _Thread_local bool slow_after_unlock;

void
uv_mutex_unlock(uv_mutex_t *m)
{
    if (pthread_mutex_unlock(m) != 0)
        abort();
    if (slow_after_unlock)
        uv_sleep(100);
}

static void
end_slowly(void *arg)
{
    fx *f = arg;
    slow_after_unlock = true;
    plt__post_work_end(&f->post);
}

static void
work_end_reaches_the_loop_whatever_the_thread_timing(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);

    plt__post_work_begin(&f.post);
    uv_thread_t th;
    assert_int_equal(uv_thread_create(&th, end_slowly, &f), 0);
    RUN_UNTIL(&f, f.idle_calls == 1, 3000);
    assert_int_equal(uv_thread_join(&th), 0);
    assert_int_equal(plt__post_pending(&f.post), 0);
    assert_int_equal(f.idle_off_loop, 0);
    fx_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(posts_from_many_threads_run_once_on_loop_in_order),
        cmocka_unit_test(post_never_runs_inside_the_call),
        cmocka_unit_test(stop_accepting_refuses_later_posts),
        cmocka_unit_test(close_runs_what_was_accepted),
        cmocka_unit_test(work_ended_on_another_thread_wakes_the_loop),
        cmocka_unit_test(work_end_reaches_the_loop_whatever_the_thread_timing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
