/* SPDX-License-Identifier: MIT */
/*
 * Time in the agent state machine: the limits attached to a state (max
 * wrap-up, max pause, offer timeout), started when the state is entered
 * and stopped when it is left, and the invariant checks that run every
 * second and repair an agent rather than leave it stuck.
 *
 * A repair is an ordinary transition (trigger AT_REPAIR, by "system"),
 * followed by agent.state_repaired {agent, from, to, invariant} and a
 * warning, so that supervisors and logs see that the plugin, not a
 * person, moved the agent. The offer timeout is such a repair: the
 * contract says an offer nobody answered or failed is repaired.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents_int.h"

#define CHECK_PERIOD_MS 1000

static void
stop_timer(plt_timer **t)
{
    if (*t) {
        plt_timer_stop(*t);
        *t = NULL;
    }
}

int
agents_repair(agent *a, int32_t to, const char *reason, const char *invariant)
{
    int32_t from = a->state;
    int rc = agents_fsm_go(a, AT_REPAIR, to, reason, AGENTS_BY_SYSTEM);
    if (rc != 0) {
        plt_log_err(PLT_LOG_ERROR, rc, "agent %s: cannot repair %s", a->login,
                    invariant);
        return rc;
    }
    plt_event *ev;
    if (plt_event_new(&ev, "agent.state_repaired", 1) == 0) {
        plt_event_set_str(ev, "agent", a->login);
        plt_event_set_str(ev, "from", plt_agent_state_name(from));
        plt_event_set_str(ev, "to", plt_agent_state_name(to));
        plt_event_set_str(ev, "invariant", invariant);
        (void)plt_event_publish(ev);
    }
    plt_log(PLT_LOG_WARN, "agent %s: repaired %s: %s -> %s", a->login,
            invariant, plt_agent_state_name(from), plt_agent_state_name(to));
    return 0;
}

/* ---- per-state limits ---- */

static void
on_wrap_timeout(void *arg)
{
    agent *a = arg;
    a->wrap_timer = NULL; /* one-shot: released by the core after this */
    if (a->state == PLT_AGENT_WRAP_UP)
        (void)agents_fsm_release(a, AT_WRAP_DONE, AGENTS_BY_SYSTEM);
}

static void
on_pause_timeout(void *arg)
{
    agent *a = arg;
    a->pause_timer = NULL;
    if (a->state != PLT_AGENT_PAUSE)
        return;
    /* A long pause is a supervisor's matter, not the machine's: the
     * agent stays paused, and the event lets a wallboard flag it. */
    plt_event *ev;
    if (plt_event_new(&ev, "agent.pause_exceeded", 1) == 0) {
        plt_event_set_str(ev, "agent", a->login);
        plt_event_set_str(ev, "reason", a->reason ? a->reason : "");
        plt_event_set_i64(ev, "max_ms", a->owner->cfg.max_pause_ms);
        plt_event_set_i64(ev, "paused_ms", plt_now() - a->since);
        (void)plt_event_publish(ev);
    }
    plt_log(PLT_LOG_WARN, "agent %s: paused (%s) longer than %lld ms", a->login,
            a->reason ? a->reason : "-", (long long)a->owner->cfg.max_pause_ms);
}

/* RESERVED past its timeout: the offer is treated as missed. */
static void
offer_expired(agent *a)
{
    agents_session_offer_over(a);
    a->missed++;
    if (a->owner->cfg.missed_before_pause > 0 &&
        a->missed >= a->owner->cfg.missed_before_pause) {
        a->missed = 0;
        (void)agents_repair(a, PLT_AGENT_PAUSE, AGENTS_REASON_NO_ANSWER,
                            "offer_timeout");
        return;
    }
    /* The pending pause or logout still wins over AVAILABLE. */
    int32_t to = a->pending_logout  ? PLT_AGENT_LOGGED_OUT
                 : a->pending_pause ? PLT_AGENT_PAUSE
                                    : PLT_AGENT_AVAILABLE;
    char reason[128];
    snprintf(reason, sizeof(reason), "%s",
             to == PLT_AGENT_PAUSE ? a->pending_pause : "offer_timeout");
    (void)agents_repair(a, to, reason, "offer_timeout");
    if (to == PLT_AGENT_LOGGED_OUT)
        agents_session_drop_leg(a, true, PLT_BY_SYSTEM);
}

static void
on_offer_timeout(void *arg)
{
    agent *a = arg;
    a->offer_timer = NULL;
    if (a->state == PLT_AGENT_RESERVED)
        offer_expired(a);
}

static void
start_one(agent *a, plt_timer **slot, int64_t ms, plt_fn cb)
{
    stop_timer(slot);
    if (ms <= 0)
        return;
    int rc = plt_timer_start(slot, (uint64_t)ms, 0, cb, a);
    if (rc != 0) {
        /* The 1 s invariant check still bounds the state; only the
         * exactness of the limit is lost. */
        *slot = NULL;
        plt_log_err(PLT_LOG_WARN, rc, "agent %s: cannot start a timer",
                    a->login);
    }
}

void
agents_timers_leave(agent *a, int32_t old_state)
{
    switch (old_state) {
    case PLT_AGENT_WRAP_UP:
        stop_timer(&a->wrap_timer);
        break;
    case PLT_AGENT_PAUSE:
        stop_timer(&a->pause_timer);
        break;
    case PLT_AGENT_RESERVED:
        stop_timer(&a->offer_timer);
        break;
    case PLT_AGENT_CONNECTING:
        stop_timer(&a->reconnect_timer);
        break;
    default:
        break;
    }
}

void
agents_timers_enter(agent *a, int32_t new_state)
{
    const agents_cfg *c = &a->owner->cfg;
    switch (new_state) {
    case PLT_AGENT_WRAP_UP: {
        int64_t ms = a->next_wrap_ms ? a->next_wrap_ms : c->max_wrap_up_ms;
        a->next_wrap_ms = 0;
        start_one(a, &a->wrap_timer, ms, on_wrap_timeout);
        break;
    }
    case PLT_AGENT_PAUSE:
        start_one(a, &a->pause_timer, c->max_pause_ms, on_pause_timeout);
        break;
    case PLT_AGENT_RESERVED: {
        int64_t ms =
            a->offer_timeout_ms ? a->offer_timeout_ms : c->offer_timeout_ms;
        start_one(a, &a->offer_timer, ms, on_offer_timeout);
        break;
    }
    default:
        break;
    }
}

void
agents_timers_stop_all(agent *a)
{
    stop_timer(&a->wrap_timer);
    stop_timer(&a->pause_timer);
    stop_timer(&a->offer_timer);
    stop_timer(&a->reconnect_timer);
}

/* ---- invariants ---- */

/* True if the telephony provider no longer has @p id live. */
static bool
leg_gone(agents *s, const char *id)
{
    if (!s->have_tel || !id)
        return false;
    plt_leg *leg;
    if (s->tel.vt->leg_find(s->tel.impl, id, &leg) != 0)
        return true;
    plt_leg_info info = {.size = sizeof(info)};
    int rc = s->tel.vt->leg_info(s->tel.impl, leg, &info);
    s->tel.vt->leg_unref(s->tel.impl, leg);
    return rc != 0 || info.state == PLT_LEG_ENDED;
}

static void
check_agent(agents *s, agent *a, int64_t now)
{
    /* The phone first: nothing else matters for an agent who cannot be
     * reached (call.ended normally reports it; this catches a missed
     * event or a forced state without a phone). */
    if (a->keep_up && a->state != PLT_AGENT_LOGGED_OUT &&
        a->state != PLT_AGENT_CONNECTING &&
        (!a->leg || leg_gone(s, a->leg_id))) {
        agents_session_phone_lost(a, "phone_lost");
        return;
    }
    switch (a->state) {
    case PLT_AGENT_RESERVED: {
        /* Covers a forced RESERVED (no offer timer) and a lost timer. */
        int64_t limit =
            a->offer_timeout_ms ? a->offer_timeout_ms : s->cfg.offer_timeout_ms;
        if (!a->offer_timer && now - a->since >= limit)
            offer_expired(a);
        break;
    }
    case PLT_AGENT_IN_CALL:
    case PLT_AGENT_OUTBOUND:
        /* The customer's leg may have ended in a timer due at this very
         * instant, before this check: its call.ended is not delivered yet,
         * and the ACD or dialer that owns the call will end it with its
         * own wrap-up. Only a leg found gone by two checks in a row is a
         * stuck agent. */
        if (!a->call_leg_id || !leg_gone(s, a->call_leg_id))
            a->call_leg_gone_at = 0;
        else if (a->call_leg_gone_at == 0)
            a->call_leg_gone_at = now;
        else if (now - a->call_leg_gone_at >= CHECK_PERIOD_MS &&
                 agents_repair(a, PLT_AGENT_WRAP_UP, "call_leg_gone",
                               "in_call_without_leg") == 0)
            agents_session_offer_over(a);
        break;
    case PLT_AGENT_WRAP_UP:
        if (!a->wrap_timer && now - a->since >= s->cfg.max_wrap_up_ms)
            (void)agents_fsm_release(a, AT_WRAP_DONE, AGENTS_BY_SYSTEM);
        break;
    case PLT_AGENT_CONNECTING:
        if (!a->keep_up)
            (void)agents_repair(a, PLT_AGENT_PAUSE, AGENTS_REASON_LOGIN,
                                "connecting_per_offer_phone");
        else if (a->leg && a->leg_up)
            (void)agents_repair(a, PLT_AGENT_PAUSE, AGENTS_REASON_LOGIN,
                                "connecting_with_phone_up");
        else if (!a->leg && !a->reconnect_timer)
            agents_session_connect_later(a, 0);
        break;
    default:
        break;
    }
}

static void
on_check(void *arg)
{
    agents *s = arg;
    int64_t now = plt_now();
    for (size_t i = 0; i < s->n; i++)
        check_agent(s, s->v[i], now);
}

int
agents_timers_start_checks(agents *s)
{
    return plt_timer_start(&s->check_timer, CHECK_PERIOD_MS, CHECK_PERIOD_MS,
                           on_check, s);
}

void
agents_timers_stop_checks(agents *s)
{
    stop_timer(&s->check_timer);
}
