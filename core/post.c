/* SPDX-License-Identifier: MIT */
/*
 * Cross-thread posting: plt_post() is the one host call allowed off the
 * loop thread. Items go into a mutex-protected FIFO and a uv_async wakes
 * the loop; because uv_async_send() coalesces wake-ups, the callback
 * drains the whole queue each time.
 *
 * The same counter also tracks "work in flight" (plt_work_begin/end and
 * plt_queue_work): in simulated time the clock must not advance while a
 * result is still on its way back, or a run would depend on thread timing.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void
pending_dec(plt__post *p, long n)
{
    long left = atomic_fetch_sub(&p->pending, n) - n;
    (void)left;
}

static void
run_queue(plt__post *p)
{
    uv_mutex_lock(&p->mu);
    plt__post_item *it = p->head;
    p->head = p->tail = NULL;
    uv_mutex_unlock(&p->mu);

    while (it) {
        plt__post_item *next = it->next;
        it->fn(it->arg);
        free(it);
        pending_dec(p, 1);
        it = next;
    }
    if (atomic_load(&p->pending) == 0 && p->on_idle)
        p->on_idle(p->on_idle_arg);
}

static void
on_async(uv_async_t *h)
{
    run_queue(h->data);
}

int
plt__post_init(plt__post *p, uv_loop_t *loop)
{
    memset(p, 0, sizeof(*p));
    p->loop = loop;
    atomic_init(&p->pending, 0);
    int rc = uv_mutex_init(&p->mu);
    if (rc != 0)
        return rc;
    rc = uv_async_init(loop, &p->async, on_async);
    if (rc != 0) {
        uv_mutex_destroy(&p->mu);
        return rc;
    }
    p->async.data = p;
    p->accepting = true;
    return 0;
}

int
plt__post_send(plt__post *p, plt_fn fn, void *arg)
{
    if (!fn)
        return PLT_EINVAL;
    plt__post_item *it = malloc(sizeof(*it));
    if (!it)
        return PLT_ENOMEM;
    it->next = NULL;
    it->fn = fn;
    it->arg = arg;
    uv_mutex_lock(&p->mu);
    if (!p->accepting) {
        uv_mutex_unlock(&p->mu);
        free(it);
        return PLT_ESHUTDOWN;
    }
    atomic_fetch_add(&p->pending, 1);
    if (p->tail)
        p->tail->next = it;
    else
        p->head = it;
    p->tail = it;
    /* Sending under the lock keeps the async handle alive: close() takes
     * the same lock after refusing new items. */
    uv_async_send(&p->async);
    uv_mutex_unlock(&p->mu);
    return 0;
}

void
plt__post_work_begin(plt__post *p)
{
    atomic_fetch_add(&p->pending, 1);
}

/* Runs on the loop thread: releases the count of work that ended on
 * another thread. */
static void
work_done_on_loop(void *arg)
{
    pending_dec(arg, 1);
}

void
plt__post_work_end(plt__post *p)
{
    /* Hand the decrement itself to the loop thread, through a post, so
     * that the count can only reach zero there, inside run_queue, which
     * then tells on_idle (the simulated clock waits for that). Decrementing
     * here, even after posting a wake-up, races the loop: it may run the
     * wake-up and look at the count before this thread's decrement lands,
     * and then nothing wakes it again. */
    if (plt__post_send(p, work_done_on_loop, p) != 0)
        pending_dec(p, 1); /* no longer accepting: nobody waits any more */
}

void
plt__post_work_end_loop(plt__post *p)
{
    pending_dec(p, 1);
    if (atomic_load(&p->pending) == 0 && p->on_idle)
        p->on_idle(p->on_idle_arg);
}

void
plt__post_drain(plt__post *p)
{
    run_queue(p);
}

void
plt__post_stop_accepting(plt__post *p)
{
    uv_mutex_lock(&p->mu);
    p->accepting = false;
    uv_mutex_unlock(&p->mu);
}

long
plt__post_pending(plt__post *p)
{
    return atomic_load(&p->pending);
}

void
plt__post_close(plt__post *p)
{
    if (p->closed)
        return;
    plt__post_stop_accepting(p);
    run_queue(p);
    p->closed = true;
    uv_close((uv_handle_t *)&p->async, NULL);
    uv_mutex_destroy(&p->mu);
}
