/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/event.h
 * The event bus: typed, immutable, refcounted events by topic.
 *
 * Topics are `domain.object.verb` in the past tense ("call.answered",
 * "agent.state_changed"). Subscriptions take a topic or a pattern with a
 * trailing `*` ("call.*", "*"). Fields are typed key/value pairs
 * (plt_value); `schema_ver` changes when a field's meaning does.
 *
 * Delivery is asynchronous, on the loop thread, in publish order, and for
 * one event in subscription order. A subscriber that publishes does not
 * re-enter itself: its event is queued behind the current one. Delivery
 * starts once every plugin has started.
 *
 *     plt_event *ev;
 *     if (plt_event_new(&ev, "call.answered", 1) == 0) {
 *         plt_event_set_str(ev, "call_id", id);
 *         plt_event_set_i64(ev, "ring_ms", ring);
 *         plt_event_publish(ev);          // takes the reference
 *     }
 *
 * Thread: loop thread only.
 */
#ifndef PLATEAU_EVENT_H
#define PLATEAU_EVENT_H

#include <string.h>
#include "plateau/host.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Create an event with one reference, owned by the caller.
 * @param topic       `domain.object.verb`: lowercase words separated by dots.
 * @param schema_ver  version of the field set for this topic (>= 1).
 * @return 0; PLT_EINVAL for a malformed topic; PLT_ENOMEM.
 */
static inline int
plt_event_new(plt_event **out, const char *topic, uint32_t schema_ver)
{
    return plt_host_->event_new(plt_self_, out, topic, schema_ver);
}

/**
 * Set a field (copied). Setting an existing key replaces it.
 * @return 0; PLT_ESTATE once published; PLT_EINVAL for a bad key or type.
 */
static inline int
plt_event_set(plt_event *ev, const char *key, const plt_value *v)
{
    return plt_host_->event_set(ev, key, v);
}

static inline int
plt_event_set_str(plt_event *ev, const char *key, const char *s)
{
    plt_value v = PLT_V_STR(s);
    return plt_host_->event_set(ev, key, &v);
}

static inline int
plt_event_set_i64(plt_event *ev, const char *key, int64_t i)
{
    plt_value v = PLT_V_I64(i);
    return plt_host_->event_set(ev, key, &v);
}

static inline int
plt_event_set_double(plt_event *ev, const char *key, double d)
{
    plt_value v = PLT_V_DOUBLE(d);
    return plt_host_->event_set(ev, key, &v);
}

static inline int
plt_event_set_bool(plt_event *ev, const char *key, int b)
{
    plt_value v = PLT_V_BOOL(b);
    return plt_host_->event_set(ev, key, &v);
}

static inline int
plt_event_set_time(plt_event *ev, const char *key, int64_t ms)
{
    plt_value v = PLT_V_TIME(ms);
    return plt_host_->event_set(ev, key, &v);
}

/**
 * Publish: the event becomes immutable and is queued for delivery.
 * Ownership: takes the caller's reference, also on failure - except
 * PLT_ESTATE (published twice, a bug: the reference is left untouched).
 * @return 0; PLT_ESTATE if already published; PLT_ESHUTDOWN when stopping.
 */
static inline int
plt_event_publish(plt_event *ev)
{
    return plt_host_->event_publish(plt_self_, ev);
}

/** Take a reference to keep an event after the subscriber returns. */
static inline plt_event *
plt_event_ref(const plt_event *ev)
{
    return plt_host_->event_ref(ev);
}

/** Drop a reference. */
static inline void
plt_event_unref(plt_event *ev)
{
    plt_host_->event_unref(ev);
}

static inline const char *
plt_event_topic(const plt_event *ev)
{
    return plt_host_->event_topic(ev);
}

static inline uint32_t
plt_event_schema_ver(const plt_event *ev)
{
    return plt_host_->event_schema_ver(ev);
}

/** Core clock time (UTC ms) at which the event was created. */
static inline int64_t
plt_event_time(const plt_event *ev)
{
    return plt_host_->event_time(ev);
}

/** Name of the plugin that created the event. */
static inline const char *
plt_event_source(const plt_event *ev)
{
    return plt_host_->event_source(ev);
}

/**
 * Read a field. Strings point into the event (valid while it is).
 * @return 0; PLT_ENOENT if absent.
 */
static inline int
plt_event_get(const plt_event *ev, const char *key, plt_value *out)
{
    return plt_host_->event_get(ev, key, out);
}

/** Read a string field; NULL if absent or not a string. */
static inline const char *
plt_event_str(const plt_event *ev, const char *key)
{
    plt_value v;
    if (plt_host_->event_get(ev, key, &v) != 0 || v.type != PLT_T_STR)
        return NULL;
    return v.v.s;
}

/** Read an integer-like field (I64, BOOL, TIME); @p def if absent. */
static inline int64_t
plt_event_i64(const plt_event *ev, const char *key, int64_t def)
{
    plt_value v;
    if (plt_host_->event_get(ev, key, &v) != 0)
        return def;
    if (v.type == PLT_T_I64 || v.type == PLT_T_BOOL || v.type == PLT_T_TIME)
        return v.v.i;
    return def;
}

/** Number of fields, for iteration with plt_event_field_at(). */
static inline size_t
plt_event_count(const plt_event *ev)
{
    return plt_host_->event_count(ev);
}

/** Field @p i in insertion order. PLT_ERANGE past the end. */
static inline int
plt_event_field_at(const plt_event *ev, size_t i, const char **key,
                   plt_value *out)
{
    return plt_host_->event_field_at(ev, i, key, out);
}

/**
 * Subscribe to a topic or pattern ("call.*").
 * @return 0 and a handle for plt_unsubscribe(); PLT_EINVAL for a bad
 *         pattern. Subscriptions left at fini() are removed by the core.
 * Callbacks: @p cb runs on the loop thread, never from inside this call.
 */
static inline int
plt_subscribe(const char *pattern, plt_event_fn cb, void *arg, plt_sub **out)
{
    return plt_host_->subscribe(plt_self_, pattern, cb, arg, out);
}

/** Remove a subscription; safe inside its own callback. */
static inline void
plt_unsubscribe(plt_sub *sub)
{
    plt_host_->unsubscribe(plt_self_, sub);
}

#ifdef __cplusplus
}
#endif
#endif
