/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/svc/acd.h
 * The `acd` service 1.2: queues that distribute calls to agents, inbound
 * and outbound alike (the dialer hands its answered calls to a campaign
 * queue; inbound routes hand theirs to service queues).
 *
 * QUEUES are configured in the providing plugin's section (see its README):
 * strategy (longest_idle, skill_level, round_robin, fewest_calls,
 * least_talk_time, random, linear, ring_all), required skills with minimum
 * levels (0-100), skill relaxation over time, offer timeout, wrap-up,
 * service-level threshold, maximum wait and overflow, hold music,
 * opening hours and holidays in a time zone, estimated-wait announcements,
 * and what happens to a caller a queue does not keep (max wait, closed,
 * full, no agent logged in, all paused: hang up, another queue, a message,
 * an IVR entry point, a callback request, voicemail). Agents have skills
 * with levels and are assigned to queues; an agent's phone is a kept-up
 * leg or an extension rung per offer. The provider answers ringing
 * inbound legs it queues and owns the offer timeout. Counters are the
 * day's (the site's local midnight); the day before is kept.
 *
 * DISTRIBUTION is deterministic: given the same agents, states and clock,
 * the same call goes to the same agent. When an agent becomes available,
 * the compatible caller with the highest priority, then the longest wait,
 * across all the agent's queues is served first (global fairness).
 * dry_run() answers "who would get this call now, and why".
 *
 * EVENTS (topics; every one has request_id, queue, leg_id and the
 * request's var_* variables):
 *   queue.joined      (priority, position)
 *   queue.offered     (agent, attempt, rung)   the agent's phone rings
 *                     (rung: agents rung at once, >1 for ring_all)
 *   queue.answered    (agent, wait_ms)         bridged to the agent
 *   queue.abandoned   (wait_ms, position)      the caller hung up waiting
 *   queue.overflowed  (reason, action, target, wait_ms)
 *                     reason: max_wait|closed|no_agents|all_paused|full;
 *                     action: hangup|queue|message|ivr|callback|voicemail
 *   queue.left        (reason)                 cancelled by the caller
 *   acd.day_ended     (period_start_ms, period_end_ms) counters restarted
 *                     at the site's local midnight
 *   queue.announced   (estimated_wait_ms, minutes, position, first)
 *   queue.callback_requested (number, reason)  stored by the provider
 *   queue.voicemail_recorded (path, number, duration_ms, reason)
 *   ivr.requested     (entry, reason)          an IVR entry point is asked
 *                     to take the leg: it publishes ivr.claimed (leg_id)
 *                     within the provider's claim time, or the leg is
 *                     hung up
 *
 * Thread: loop thread only; callbacks on the loop. Ownership: inputs
 * copied. Callbacks: none if a function returns < 0.
 */
#ifndef PLATEAU_SVC_ACD_H
#define PLATEAU_SVC_ACD_H

#include <stdbool.h>

#include "plateau/service.h"
#include "plateau/svc/telephony.h"
#include "plateau/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PLT_ACD_NAME "acd"
#define PLT_ACD_MAJOR 1
#define PLT_ACD_MINOR 2

/** A skill and a level (0-100). */
typedef struct plt_acd_skill {
    const char *skill;
    int32_t level;
} plt_acd_skill;

/** A call to distribute. */
typedef struct plt_acd_request {
    uint32_t size;           /**< sizeof(plt_acd_request) */
    const char *queue;       /**< a configured queue */
    const char *leg_id;      /**< the customer leg (inbound: ringing or up;
                                  outbound: up) */
    int32_t priority;        /**< higher is served first; 0 default */
    const plt_acd_skill *skills; /**< required on top of the queue's */
    size_t nskills;
    const char *agent;       /**< only this agent (a personal callback), or
                                  NULL for anyone eligible */
    const plt_kv *vars;      /**< echoed as var_* in queue events */
    size_t nvars;
    uint32_t max_wait_ms;    /**< 0 = the queue's; then its overflow */
} plt_acd_request;

/** Live figures of a queue. */
typedef struct plt_queue_stats {
    const char *queue;
    uint32_t waiting;
    int64_t longest_wait_ms;
    uint32_t agents_logged_in, agents_available;
    uint64_t offered, answered, abandoned, overflowed; /**< since start */
    uint64_t answered_within_sl; /**< answered within the SL threshold */
    double service_level;        /**< answered_within_sl / (answered +
                                      abandoned after the threshold) */
    int64_t sl_threshold_ms;
    int64_t estimated_wait_ms;   /**< for a caller joining now */
    /* Appended in 1.1 (a provider 1.0 does not fill them). */
    uint32_t agents_paused;
    /** Overflows by reason: max_wait, closed, no_agents, all_paused,
     *  full (PLT_ACD_WHY_*); their sum is `overflowed`. */
    uint64_t overflowed_by[5];
    uint64_t callbacks;  /**< callback requests recorded */
    uint64_t voicemails; /**< voicemail messages recorded */
    bool open;           /**< within opening hours, not a holiday */
    /** The counters' period: since the last local midnight of the site's
     *  zone (or the provider's start); end 0 = now. A caller still waiting
     *  at midnight counts as offered in both days; `waiting` of a past day
     *  is how many were carried over. */
    int64_t period_start_ms, period_end_ms;
} plt_queue_stats;

/** Indexes of plt_queue_stats.overflowed_by (the event's `reason`). */
enum {
    PLT_ACD_WHY_MAX_WAIT = 0,
    PLT_ACD_WHY_CLOSED = 1,
    PLT_ACD_WHY_NO_AGENTS = 2,
    PLT_ACD_WHY_ALL_PAUSED = 3,
    PLT_ACD_WHY_FULL = 4
};

typedef void (*plt_acd_done_fn)(void *arg, int status, const char *msg);
/** dry_run(): the agent that would be chosen (NULL if none), and one line
 *  per candidate considered, saying why it was taken or passed over. */
typedef void (*plt_acd_explain_fn)(void *arg, const char *agent,
                                   const char *const *lines, size_t nlines);
typedef void (*plt_queue_stats_fn)(void *arg, int status,
                                   const plt_queue_stats *st);

typedef struct plt_acd_vt {
    uint32_t size;

    /** Queue a call. @p request_id receives its id. PLT_ENOENT (unknown
     *  queue or leg); PLT_ESTATE (the leg ended or is already queued). */
    int (*enqueue)(void *impl, const plt_acd_request *r, char request_id[32]);
    /** Take a call out of its queue (it stays up; the caller decides). */
    int (*cancel)(void *impl, const char *request_id, const char *reason);
    /** Set an agent's skills and queues (replaces them). */
    int (*set_agent)(void *impl, const char *agent, const plt_acd_skill *sk,
                     size_t nskills, const char *const *queues,
                     size_t nqueues, plt_acd_done_fn done, void *arg);
    /** Who would get @p r now, and why. Changes nothing. */
    int (*dry_run)(void *impl, const plt_acd_request *r,
                   plt_acd_explain_fn cb, void *arg);
    /** Live figures of one queue. */
    int (*stats)(void *impl, const char *queue, plt_queue_stats_fn cb,
                 void *arg);
    /** Number of configured queues and queue i's name. */
    size_t (*queue_count)(void *impl);
    const char *(*queue_at)(void *impl, size_t i);

    /* Appended in 1.1 (check size). */
    /** The figures of the previous day (live fields 0). PLT_ENOENT for an
     *  unknown queue or before the first midnight since start. */
    int (*stats_previous)(void *impl, const char *queue,
                          plt_queue_stats_fn cb, void *arg);

    /* Appended in 1.2 (check with PLT_VT_HAS). */
    /** Does @p agent take calls of @p queue (a member of it, whatever its
     *  state)? An outbound campaign without its own list of agents counts
     *  the agents of its queue: in a blended site the others would be
     *  dialled for and never take the call. Answers before returning. */
    bool (*serves)(void *impl, const char *agent, const char *queue);
} plt_acd_vt;

typedef struct plt_acd {
    const plt_acd_vt *vt;
    void *impl;
} plt_acd;

static inline int
plt_acd_acquire(plt_acd *out)
{
    plt_service_ref ref;
    int rc = plt_service_acquire(PLT_ACD_NAME, PLT_ACD_MAJOR, PLT_ACD_MINOR,
                                 &ref);
    if (rc == 0) {
        out->vt = (const plt_acd_vt *)ref.vtable;
        out->impl = ref.impl;
    }
    return rc;
}

#ifdef __cplusplus
}
#endif
#endif
