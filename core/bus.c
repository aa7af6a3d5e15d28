/* SPDX-License-Identifier: MIT */
/*
 * The event bus. Publishing only queues the event; an idle handle drains
 * the queue on the next loop iteration, so subscribers never run inside
 * the publisher's call stack (no re-entrancy) and events are delivered in
 * publish order, each to its subscribers in subscription order.
 *
 * Events published while a batch is being delivered go to the next batch.
 * Unsubscribing during delivery only marks the subscription dead; dead
 * entries are swept once the batch is done, so indices stay valid.
 * Delivery is held back until the core says every plugin has started.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct plt_sub {
    plt_plugin *owner;
    char *pattern;
    plt_event_fn cb;
    void *arg;
    bool dead;
};

static void on_idle(uv_idle_t *h);

static void
schedule(plt__bus *b)
{
    if (b->closed || !b->delivering || b->idle_active || b->qlen == 0)
        return;
    uv_idle_start(&b->idle, on_idle);
    b->idle_active = true;
}

int
plt__bus_init(plt__bus *b, uv_loop_t *loop)
{
    memset(b, 0, sizeof(*b));
    b->loop = loop;
    int rc = uv_idle_init(loop, &b->idle);
    if (rc != 0)
        return rc;
    b->idle.data = b;
    return 0;
}

static int
q_push(plt__bus *b, plt_event *ev)
{
    if (b->qlen == b->qcap) {
        size_t cap = b->qcap ? b->qcap * 2 : 64;
        plt_event **q = malloc(cap * sizeof(*q));
        if (!q)
            return PLT_ENOMEM;
        for (size_t i = 0; i < b->qlen; i++)
            q[i] = b->q[(b->qhead + i) % b->qcap];
        free(b->q);
        b->q = q;
        b->qcap = cap;
        b->qhead = 0;
    }
    b->q[(b->qhead + b->qlen) % b->qcap] = ev;
    b->qlen++;
    return 0;
}

static plt_event *
q_pop(plt__bus *b)
{
    plt_event *ev = b->q[b->qhead];
    b->qhead = (b->qhead + 1) % b->qcap;
    b->qlen--;
    return ev;
}

int
plt__bus_publish(plt__bus *b, plt_event *ev)
{
    if (!ev)
        return PLT_EINVAL;
    if (ev->published) {
        /* Publishing twice is a plugin bug; the event keeps its owner. */
        return PLT_ESTATE;
    }
    if (b->closed) {
        plt__event_unref(ev);
        return PLT_ESHUTDOWN;
    }
    ev->published = true;
    int rc = q_push(b, ev);
    if (rc != 0) {
        plt__event_unref(ev);
        return rc;
    }
    b->published++;
    schedule(b);
    return 0;
}

static void
deliver(plt__bus *b, plt_event *ev)
{
    /* Subscriptions added during delivery are appended; bound the loop to
     * those present when this event's delivery began. */
    size_t n = b->nsubs;
    for (size_t i = 0; i < n; i++) {
        plt_sub *s = b->subs[i];
        if (s->dead || !plt__pattern_match(s->pattern, ev->topic))
            continue;
        /* A plugin that finished stopping gets no more work; one still
         * draining (STOPPING) does, e.g. the end of its last calls. */
        if (s->owner && s->owner->state >= PLT__P_STOPPED)
            continue;
        s->cb(ev, s->arg);
        b->delivered++;
    }
}

static void
sweep(plt__bus *b)
{
    if (b->dead == 0)
        return;
    size_t o = 0;
    for (size_t i = 0; i < b->nsubs; i++) {
        plt_sub *s = b->subs[i];
        if (s->dead) {
            free(s->pattern);
            free(s);
        } else {
            b->subs[o++] = s;
        }
    }
    b->nsubs = o;
    b->dead = 0;
}

static void
run_batch(plt__bus *b)
{
    size_t n = b->qlen;
    b->dispatching = true;
    for (size_t i = 0; i < n && b->qlen > 0; i++) {
        plt_event *ev = q_pop(b);
        deliver(b, ev);
        plt__event_unref(ev);
    }
    b->dispatching = false;
    sweep(b);
}

static void
on_idle(uv_idle_t *h)
{
    plt__bus *b = h->data;
    run_batch(b);
    if (b->qlen == 0 || !b->delivering || b->closed) {
        uv_idle_stop(&b->idle);
        b->idle_active = false;
        if (b->qlen == 0 && b->on_idle)
            b->on_idle(b->on_idle_arg);
    }
}

void
plt__bus_drain(plt__bus *b)
{
    while (b->qlen > 0 && !b->dispatching)
        run_batch(b);
}

size_t
plt__bus_queued(const plt__bus *b)
{
    return b->qlen;
}

int
plt__bus_subscribe(plt__bus *b, plt_plugin *owner, const char *pattern,
                   plt_event_fn cb, void *arg, plt_sub **out)
{
    if (!cb || !out || !plt__pattern_valid(pattern))
        return PLT_EINVAL;
    if (b->closed)
        return PLT_ESHUTDOWN;
    if (b->nsubs == b->capsubs) {
        size_t cap = b->capsubs ? b->capsubs * 2 : 32;
        plt_sub **v = realloc(b->subs, cap * sizeof(*v));
        if (!v)
            return PLT_ENOMEM;
        b->subs = v;
        b->capsubs = cap;
    }
    plt_sub *s = calloc(1, sizeof(*s));
    if (!s)
        return PLT_ENOMEM;
    s->pattern = plt__strdup(pattern);
    if (!s->pattern) {
        free(s);
        return PLT_ENOMEM;
    }
    s->owner = owner;
    s->cb = cb;
    s->arg = arg;
    b->subs[b->nsubs++] = s;
    *out = s;
    return 0;
}

void
plt__bus_unsubscribe(plt__bus *b, plt_sub *s)
{
    if (!s || s->dead)
        return;
    s->dead = true;
    b->dead++;
    if (!b->dispatching)
        sweep(b);
}

size_t
plt__bus_cancel_owner(plt__bus *b, plt_plugin *owner)
{
    size_t n = 0;
    for (size_t i = 0; i < b->nsubs; i++) {
        plt_sub *s = b->subs[i];
        if (s->owner == owner && !s->dead) {
            s->dead = true;
            b->dead++;
            n++;
        }
    }
    if (!b->dispatching)
        sweep(b);
    return n;
}

void
plt__bus_set_delivering(plt__bus *b, bool on)
{
    b->delivering = on;
    if (on)
        schedule(b);
    else if (b->idle_active) {
        uv_idle_stop(&b->idle);
        b->idle_active = false;
    }
}

void
plt__bus_close(plt__bus *b)
{
    if (b->closed)
        return;
    b->closed = true;
    while (b->qlen > 0)
        plt__event_unref(q_pop(b));
    for (size_t i = 0; i < b->nsubs; i++) {
        free(b->subs[i]->pattern);
        free(b->subs[i]);
    }
    free(b->subs);
    free(b->q);
    b->subs = NULL;
    b->q = NULL;
    b->nsubs = b->capsubs = b->qcap = 0;
    uv_idle_stop(&b->idle);
    uv_close((uv_handle_t *)&b->idle, NULL);
}
