/* SPDX-License-Identifier: MIT */
/*
 * The core clock and plugin timers. All timers live in one binary heap
 * ordered by (due time, start sequence), so timers due at the same instant
 * fire in the order they were started, in both modes:
 *
 *  - real: one uv_timer is armed for the earliest deadline; time is
 *    CLOCK_REALTIME for plt_now() and uv_hrtime() for plt_mono().
 *  - simulated: virtual time. An idle handle advances it straight to the
 *    next deadline whenever nothing else is pending (no queued events, no
 *    posted callbacks, no declared work), so a simulated day runs in
 *    seconds and every run of the same inputs fires the same timers at the
 *    same virtual instants.
 *
 * Repeating timers keep absolute deadlines (due += period) so they do not
 * drift; after a stall in real mode, missed periods are skipped rather than
 * fired in a burst.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

struct plt_timer {
    plt_plugin *owner;
    uint64_t due;    /* monotonic ms */
    uint64_t repeat; /* 0 = one-shot */
    uint64_t seq;
    plt_fn cb;
    void *arg;
    size_t idx;      /* position in the heap, or NOT_QUEUED */
    bool firing;
    bool stopped;
};

#define NOT_QUEUED ((size_t)-1)

static bool
before(const plt_timer *a, const plt_timer *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void
heap_swap(plt__timer_heap *h, size_t i, size_t j)
{
    plt_timer *t = h->v[i];
    h->v[i] = h->v[j];
    h->v[j] = t;
    h->v[i]->idx = i;
    h->v[j]->idx = j;
}

static void
heap_up(plt__timer_heap *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(h->v[i], h->v[p]))
            break;
        heap_swap(h, i, p);
        i = p;
    }
}

static void
heap_down(plt__timer_heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && before(h->v[l], h->v[m]))
            m = l;
        if (r < h->n && before(h->v[r], h->v[m]))
            m = r;
        if (m == i)
            break;
        heap_swap(h, i, m);
        i = m;
    }
}

static int
heap_push(plt__timer_heap *h, plt_timer *t)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        plt_timer **v = realloc(h->v, cap * sizeof(*v));
        if (!v)
            return PLT_ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    t->idx = h->n;
    h->v[h->n++] = t;
    heap_up(h, t->idx);
    return 0;
}

static void
heap_remove(plt__timer_heap *h, plt_timer *t)
{
    size_t i = t->idx;
    if (i == NOT_QUEUED)
        return;
    h->n--;
    if (i != h->n) {
        h->v[i] = h->v[h->n];
        h->v[i]->idx = i;
        heap_down(h, i);
        heap_up(h, i);
    }
    t->idx = NOT_QUEUED;
}

static uint64_t
real_mono(void)
{
    return uv_hrtime() / 1000000u;
}

/* The current real monotonic time rounded up to the millisecond. A
 * deadline is a whole millisecond compared against real_mono(), which
 * rounds down; computing it from the rounded-down start would let a timer
 * started at x.999 ms fire up to 1 ms before its delay has passed. */
static uint64_t
real_mono_ceil(void)
{
    return (uv_hrtime() + 999999u) / 1000000u;
}

static int64_t
real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
plt__clock_now(const plt__clock *c)
{
    return c->simulated ? c->sim_now_ms : real_now();
}

uint64_t
plt__clock_mono(const plt__clock *c)
{
    return c->simulated ? c->sim_mono_ms : real_mono();
}

static void arm(plt__clock *c);

/* Fire every timer due at or before @p now. */
static void
fire_due(plt__clock *c, uint64_t now)
{
    plt__timer_heap *h = &c->heap;
    while (h->n > 0 && h->v[0]->due <= now && !c->closing) {
        plt_timer *t = h->v[0];
        heap_remove(h, t);
        t->firing = true;
        c->fired++;
        t->cb(t->arg);
        t->firing = false;
        if (t->stopped || t->repeat == 0) {
            free(t);
            continue;
        }
        /* Absolute deadlines: no drift; skip periods missed in a stall. */
        t->due += t->repeat;
        if (t->due <= now)
            t->due = now + t->repeat - ((now - t->due) % t->repeat);
        t->seq = c->seq++;
        if (heap_push(h, t) != 0) {
            plt__log("core", PLT_LOG_ERROR,
                     "out of memory: repeating timer dropped");
            free(t);
        }
    }
}

static void
on_uv_timer(uv_timer_t *handle)
{
    plt__clock *c = handle->data;
    fire_due(c, real_mono());
    arm(c);
}

static void
on_sim_idle(uv_idle_t *handle)
{
    plt__clock *c = handle->data;
    plt__timer_heap *h = &c->heap;

    /* Virtual time may only move when nothing else is pending; the bus
     * and the post queue kick the clock when they drain. */
    if (c->closing || h->n == 0 || (c->busy && c->busy(c->busy_arg))) {
        uv_idle_stop(&c->idle);
        c->idle_active = false;
        return;
    }
    uint64_t due = h->v[0]->due;
    if (c->sim_until_ms > 0) {
        uint64_t until_mono =
            c->sim_mono_ms + (uint64_t)(c->sim_until_ms - c->sim_now_ms);
        if (due > until_mono) {
            c->sim_now_ms = c->sim_until_ms;
            c->sim_mono_ms = until_mono;
            c->sim_until_ms = 0;
            uv_idle_stop(&c->idle);
            c->idle_active = false;
            if (c->on_until)
                c->on_until(c->until_arg);
            return;
        }
    }
    if (due > c->sim_mono_ms) {
        c->sim_now_ms += (int64_t)(due - c->sim_mono_ms);
        c->sim_mono_ms = due;
    }
    fire_due(c, c->sim_mono_ms);
}

static void
arm(plt__clock *c)
{
    if (c->closing)
        return;
    if (c->simulated) {
        plt__clock_kick(c);
        return;
    }
    if (c->heap.n == 0) {
        uv_timer_stop(&c->uvt);
        return;
    }
    uint64_t now = real_mono();
    uint64_t due = c->heap.v[0]->due;
    uv_timer_start(&c->uvt, on_uv_timer, due > now ? due - now : 0, 0);
}

void
plt__clock_kick(plt__clock *c)
{
    if (!c->simulated || c->closing || c->idle_active || c->heap.n == 0)
        return;
    uv_idle_start(&c->idle, on_sim_idle);
    c->idle_active = true;
}

int
plt__clock_init(plt__clock *c, uv_loop_t *loop, bool simulated,
                int64_t sim_start_ms)
{
    memset(c, 0, sizeof(*c));
    c->loop = loop;
    c->simulated = simulated;
    c->sim_now_ms = sim_start_ms ? sim_start_ms : real_now();
    /* Virtual monotonic time starts at a round, non-zero value so that
     * "0" never means "now" by accident. */
    c->sim_mono_ms = 1000000;
    int rc = uv_timer_init(loop, &c->uvt);
    if (rc != 0)
        return rc;
    c->uvt.data = c;
    rc = uv_idle_init(loop, &c->idle);
    if (rc != 0) {
        uv_close((uv_handle_t *)&c->uvt, NULL);
        return rc;
    }
    c->idle.data = c;
    return 0;
}

int
plt__timer_start(plt__clock *c, plt_plugin *owner, plt_timer **out,
                 uint64_t timeout_ms, uint64_t repeat_ms, plt_fn cb,
                 void *arg)
{
    if (!out || !cb)
        return PLT_EINVAL;
    if (c->closing)
        return PLT_ESHUTDOWN;
    plt_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return PLT_ENOMEM;
    t->owner = owner;
    t->due = (c->simulated ? c->sim_mono_ms : real_mono_ceil()) + timeout_ms;
    t->repeat = repeat_ms;
    t->seq = c->seq++;
    t->cb = cb;
    t->arg = arg;
    t->idx = NOT_QUEUED;
    if (heap_push(&c->heap, t) != 0) {
        free(t);
        return PLT_ENOMEM;
    }
    *out = t;
    arm(c);
    return 0;
}

void
plt__timer_stop(plt__clock *c, plt_timer *t)
{
    if (!t || t->stopped)
        return;
    if (t->firing) {
        /* Freed by fire_due once the callback returns. */
        t->stopped = true;
        return;
    }
    heap_remove(&c->heap, t);
    free(t);
    arm(c);
}

size_t
plt__clock_cancel_owner(plt__clock *c, plt_plugin *owner)
{
    size_t n = 0;
    for (size_t i = 0; i < c->heap.n;) {
        plt_timer *t = c->heap.v[i];
        if (t->owner == owner) {
            /* Timers in the heap are never firing: fire_due takes a timer
             * off the heap before calling it. */
            heap_remove(&c->heap, t);
            free(t);
            n++;
            i = 0; /* the heap was reshuffled */
        } else {
            i++;
        }
    }
    arm(c);
    return n;
}

size_t
plt__clock_pending(const plt__clock *c)
{
    return c->heap.n;
}

void
plt__clock_close(plt__clock *c)
{
    if (c->closing)
        return;
    c->closing = true;
    for (size_t i = 0; i < c->heap.n; i++)
        free(c->heap.v[i]);
    free(c->heap.v);
    c->heap.v = NULL;
    c->heap.n = c->heap.cap = 0;
    uv_timer_stop(&c->uvt);
    uv_idle_stop(&c->idle);
    uv_close((uv_handle_t *)&c->uvt, NULL);
    uv_close((uv_handle_t *)&c->idle, NULL);
}
