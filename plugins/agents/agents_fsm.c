/* SPDX-License-Identifier: MIT */
/*
 * The agent state machine: the transition table and the one function
 * that moves an agent from a state to another. Every change of state in
 * the plugin goes through agents_fsm_go(), so that each one is checked
 * against the table, timestamped with the core clock, published as
 * agent.state_changed and written to the state log, in that order, and
 * so that the timers of the states left and entered are kept right.
 *
 * The table is indexed by trigger (what asks for the move) rather than by
 * target state only: "ready" and "offer failed" both lead to AVAILABLE,
 * but only the second may leave RESERVED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents_int.h"

#define S(x) (1u << PLT_AGENT_##x)
#define ALL_STATES                                                             \
    (S(LOGGED_OUT) | S(CONNECTING) | S(AVAILABLE) | S(RESERVED) | S(IN_CALL) | \
     S(WRAP_UP) | S(PAUSE) | S(OUTBOUND))
#define LOGGED_IN (ALL_STATES & ~S(LOGGED_OUT))
/* States in which the agent's phone is supposed to be up. */
#define PHONE_UP_STATES (LOGGED_IN & ~S(CONNECTING))

typedef struct rule {
    uint32_t from; /* bit mask of states the trigger may leave */
    uint32_t to;   /* bit mask of states it may enter */
} rule;

/* Release targets (AVAILABLE, or the pending pause, or the pending
 * logout) are allowed wherever an agent "would become available". */
#define RELEASE (S(AVAILABLE) | S(PAUSE) | S(LOGGED_OUT))

static const rule table[AT__COUNT] = {
    [AT_LOGIN] = {S(LOGGED_OUT), S(CONNECTING)},
    [AT_PHONE_UP] = {S(CONNECTING), S(PAUSE)},
    [AT_READY] = {S(PAUSE) | S(WRAP_UP), RELEASE},
    /* PAUSE -> PAUSE changes the reason; during a call or wrap-up a pause
     * is kept pending and never reaches the table. */
    [AT_PAUSE] = {S(AVAILABLE) | S(PAUSE), S(PAUSE)},
    [AT_BACKOFFICE] = {S(AVAILABLE) | S(PAUSE), S(WRAP_UP)},
    [AT_OFFER] = {S(AVAILABLE), S(RESERVED)},
    [AT_ANSWERED] = {S(RESERVED), S(IN_CALL)},
    [AT_OFFER_FAILED] = {S(RESERVED), RELEASE},
    [AT_CALL_ENDED] = {S(IN_CALL) | S(OUTBOUND), S(WRAP_UP)},
    [AT_WRAP_DONE] = {S(WRAP_UP), RELEASE},
    [AT_OUTBOUND] = {S(AVAILABLE) | S(PAUSE) | S(WRAP_UP), S(OUTBOUND)},
    [AT_LOGOUT] = {LOGGED_IN, S(LOGGED_OUT)},
    [AT_PHONE_LOST] = {PHONE_UP_STATES, S(CONNECTING) | S(LOGGED_OUT)},
    [AT_RECONNECT_FAILED] = {S(CONNECTING), S(LOGGED_OUT)},
    [AT_FORCE] = {ALL_STATES, ALL_STATES},
    [AT_REPAIR] = {ALL_STATES, ALL_STATES},
};

bool
agents_fsm_allowed(agents_trigger t, int32_t from, int32_t to)
{
    if ((unsigned)t >= AT__COUNT || from < PLT_AGENT_LOGGED_OUT ||
        from > PLT_AGENT_OUTBOUND || to < PLT_AGENT_LOGGED_OUT ||
        to > PLT_AGENT_OUTBOUND)
        return false;
    return (table[t].from & (1u << from)) && (table[t].to & (1u << to));
}

/* ---- helpers shared by the other files ---- */

int
agents_strset(char **dst, const char *src)
{
    char *c = NULL;
    if (src) {
        c = strdup(src);
        if (!c)
            return PLT_ENOMEM;
    }
    free(*dst);
    *dst = c;
    return 0;
}

/* FNV-1a: the login index is looked up on every offer and every read of
 * the ACD, so a walk of all agents would make routing O(agents). */
static size_t
login_hash(const char *login)
{
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)login; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)h;
}

static void
index_put(agent **slots, size_t nslots, agent *a)
{
    size_t i = login_hash(a->login) & (nslots - 1);
    while (slots[i])
        i = (i + 1) & (nslots - 1);
    slots[i] = a;
}

int
agents_index_add(agents *s, agent *a)
{
    if (s->n * 2 > s->nbyname) {
        size_t n = s->nbyname ? s->nbyname * 2 : 64;
        while (n < s->n * 2)
            n *= 2;
        agent **slots = calloc(n, sizeof(*slots));
        if (!slots)
            return PLT_ENOMEM;
        for (size_t i = 0; i < s->n; i++)
            if (s->v[i] != a)
                index_put(slots, n, s->v[i]);
        free(s->byname);
        s->byname = slots;
        s->nbyname = n;
    }
    index_put(s->byname, s->nbyname, a);
    return 0;
}

agent *
agents_find(agents *s, const char *login)
{
    if (!login || !s->nbyname)
        return NULL;
    size_t i = login_hash(login) & (s->nbyname - 1);
    for (agent *a; (a = s->byname[i]) != NULL; i = (i + 1) & (s->nbyname - 1))
        if (strcmp(a->login, login) == 0)
            return a;
    return NULL;
}

bool
agents_reason_ok(const agents *s, const char *reason)
{
    if (!reason || !*reason)
        return false;
    if (strcmp(reason, AGENTS_REASON_LOGIN) == 0 ||
        strcmp(reason, AGENTS_REASON_NO_ANSWER) == 0)
        return true;
    for (size_t i = 0; i < s->cfg.npause_reasons; i++)
        if (strcmp(s->cfg.pause_reasons[i], reason) == 0)
            return true;
    return false;
}

/* ---- the transition ---- */

static void
publish_changed(const agent *a, int32_t from, int32_t to, const char *reason,
                const char *by, int64_t previous_ms)
{
    plt_event *ev;
    if (plt_event_new(&ev, "agent.state_changed", 1) != 0) {
        plt_log(PLT_LOG_WARN, "agent %s: cannot create agent.state_changed",
                a->login);
        return;
    }
    plt_event_set_str(ev, "agent", a->login);
    plt_event_set_str(ev, "from", plt_agent_state_name(from));
    plt_event_set_str(ev, "to", plt_agent_state_name(to));
    if (reason)
        plt_event_set_str(ev, "reason", reason);
    plt_event_set_str(ev, "by", by ? by : AGENTS_BY_SYSTEM);
    plt_event_set_i64(ev, "previous_ms", previous_ms);
    (void)plt_event_publish(ev);
}

int
agents_fsm_go(agent *a, agents_trigger t, int32_t to, const char *reason,
              const char *by)
{
    int32_t from = a->state;
    if (!agents_fsm_allowed(t, from, to))
        return PLT_ESTATE;

    /* Allocate before changing anything, so that a failure leaves the
     * agent exactly as it was. */
    char *pause_reason = NULL;
    if (to == PLT_AGENT_PAUSE) {
        pause_reason = strdup(reason ? reason : AGENTS_REASON_LOGIN);
        if (!pause_reason)
            return PLT_ENOMEM;
    }

    int64_t now = plt_now();
    int64_t previous_ms = a->since > 0 && now >= a->since ? now - a->since : 0;

    agents_timers_leave(a, from);
    if (from == PLT_AGENT_RESERVED)
        agents_strset(&a->offer_id, NULL);
    if (from == PLT_AGENT_IN_CALL || from == PLT_AGENT_OUTBOUND) {
        agents_strset(&a->call_leg_id, NULL);
        a->call_leg_gone_at = 0;
    }
    /* A pending pause is consumed by the state it was waiting for, and
     * dropped by anything that ends the session. */
    if (to == PLT_AGENT_PAUSE || to == PLT_AGENT_LOGGED_OUT ||
        to == PLT_AGENT_CONNECTING)
        agents_strset(&a->pending_pause, NULL);
    if (to == PLT_AGENT_LOGGED_OUT) {
        a->pending_logout = false;
        agents_strset(&a->pending_logout_by, NULL);
        a->missed = 0;
    }

    free(a->reason);
    a->reason = pause_reason;
    a->state = to;
    a->since = now;
    a->changes++;

    publish_changed(a, from, to, reason, by, previous_ms);
    agents_log_transition(&a->owner->log, a->login, to, reason,
                          by ? by : AGENTS_BY_SYSTEM, now);
    agents_timers_enter(a, to);
    plt_log(PLT_LOG_DEBUG, "agent %s: %s -> %s (%s, by %s)", a->login,
            plt_agent_state_name(from), plt_agent_state_name(to),
            reason ? reason : "-", by ? by : AGENTS_BY_SYSTEM);
    return 0;
}

int
agents_fsm_release(agent *a, agents_trigger t, const char *by)
{
    if (a->pending_logout) {
        /* Copy: the transition clears the pending logout's author. */
        char who[128];
        snprintf(who, sizeof(who), "%s",
                 a->pending_logout_by ? a->pending_logout_by : by);
        int rc = agents_fsm_go(a, t, PLT_AGENT_LOGGED_OUT, "logout", who);
        if (rc == 0)
            agents_session_drop_leg(a, true, PLT_BY_AGENT);
        return rc;
    }
    if (a->pending_pause) {
        char reason[128];
        snprintf(reason, sizeof(reason), "%s", a->pending_pause);
        return agents_fsm_go(a, t, PLT_AGENT_PAUSE, reason, by);
    }
    return agents_fsm_go(a, t, PLT_AGENT_AVAILABLE, NULL, by);
}
