/* SPDX-License-Identifier: MIT */
/*
 * Agent sessions and their phones: login and logout, the phone leg
 * originated to the agent (role PLT_LEG_AGENT) and kept up for the whole
 * session, and what happens when that leg comes up or goes away.
 *
 * An extension ("agent:<ext>") logged in without keep_up is rung per
 * offer instead: login goes straight to PAUSE("login") with no leg; each
 * offer originates the extension (vars agent and offer_id, ring timeout =
 * the offer's), the leg is the agent's phone while the call lasts, and it
 * is hung up when the offer fails or the call ends. Its end is never a
 * lost phone: the ACD, seeing it, counts a miss or ends the call.
 *
 * The leg is followed through the call.* events (matched on leg_id): its
 * answer moves a CONNECTING agent to PAUSE("login"); its end while the
 * agent is logged in is a lost phone, repaired to CONNECTING with a new
 * attempt every reconnect_delay, and to LOGGED_OUT after
 * reconnect_attempts attempts that failed (a leg that ended without being
 * answered, or an originate that was refused). A first login that cannot
 * connect the phone ends the same way, and its done() gets the error.
 */
#include <stdlib.h>
#include <string.h>

#include "agents_int.h"

/* "agent:<ext>" with a non-empty extension, or "+" and 6-15 digits. */
static bool
phone_usable(const char *p)
{
    if (!p)
        return false;
    if (strncmp(p, "agent:", 6) == 0)
        return p[6] != '\0';
    if (p[0] != '+')
        return false;
    size_t n = 0;
    for (const char *c = p + 1; *c; c++, n++)
        if (*c < '0' || *c > '9')
            return false;
    return n >= 6 && n <= 15;
}

static void
finish_login(agent *a, int status, const char *msg)
{
    plt_agents_done_fn done = a->login_done;
    void *arg = a->login_arg;
    a->login_done = NULL;
    a->login_arg = NULL;
    if (done)
        done(arg, status, msg);
}

void
agents_session_drop_leg(agent *a, bool hangup, int32_t by)
{
    agents *s = a->owner;
    if (a->leg && s->have_tel) {
        if (hangup)
            (void)s->tel.vt->hangup(s->tel.impl, a->leg, 0, by);
        s->tel.vt->leg_unref(s->tel.impl, a->leg);
    }
    a->leg = NULL;
    a->leg_up = false;
    agents_strset(&a->leg_id, NULL);
}

/* One connection attempt failed: retry later, or give up. */
static void
attempt_failed(agent *a, int rc)
{
    agents *s = a->owner;
    a->reconnect_failures++;
    if (a->reconnect_failures < s->cfg.reconnect_attempts) {
        agents_session_connect_later(a, (uint64_t)s->cfg.reconnect_delay_ms);
        return;
    }
    plt_log(PLT_LOG_WARN, "agent %s: phone %s unreachable after %d attempts",
            a->login, a->phone, a->reconnect_failures);
    a->reconnect_failures = 0;
    (void)agents_fsm_go(a, AT_RECONNECT_FAILED, PLT_AGENT_LOGGED_OUT,
                        "phone_unreachable", AGENTS_BY_SYSTEM);
    finish_login(a, rc ? rc : PLT_ETIMEDOUT, "phone unreachable");
}

/* Call the agent's phone: @p offer_id (per-offer phones) is echoed as
 * var_offer_id. On success the leg is the agent's, not answered yet. */
static int
originate_phone(agent *a, const char *offer_id, uint32_t ring_timeout_ms)
{
    agents *s = a->owner;
    plt_kv vars[] = {{"agent", a->login}, {"offer_id", offer_id}};
    plt_originate o = {.size = sizeof(o),
                       .destination = a->phone,
                       .ring_timeout_ms = ring_timeout_ms,
                       .role = PLT_LEG_AGENT,
                       .vars = vars,
                       .nvars = offer_id ? 2 : 1};
    plt_leg *leg = NULL;
    int rc = s->tel.vt->originate(s->tel.impl, &o, &leg);
    if (rc != 0)
        return rc;
    plt_leg_info info = {.size = sizeof(info)};
    rc = s->tel.vt->leg_info(s->tel.impl, leg, &info);
    if (rc == 0)
        rc = agents_strset(&a->leg_id, info.id);
    if (rc != 0) {
        (void)s->tel.vt->hangup(s->tel.impl, leg, 0, PLT_BY_SYSTEM);
        s->tel.vt->leg_unref(s->tel.impl, leg);
        return rc;
    }
    a->leg = leg;
    a->leg_up = false;
    return 0;
}

/* Originate the agent's kept-up leg now. */
static void
connect_now(agent *a)
{
    agents *s = a->owner;
    if (a->state != PLT_AGENT_CONNECTING || a->leg || !a->keep_up)
        return;
    if (!s->have_tel) {
        attempt_failed(a, PLT_ENOSERVICE);
        return;
    }
    int rc = originate_phone(a, NULL, 0);
    if (rc != 0) {
        plt_log_err(PLT_LOG_WARN, rc, "agent %s: cannot call %s", a->login,
                    a->phone);
        attempt_failed(a, rc);
    }
}

static void
on_reconnect_timer(void *arg)
{
    agent *a = arg;
    a->reconnect_timer = NULL;
    connect_now(a);
}

void
agents_session_connect_later(agent *a, uint64_t delay_ms)
{
    if (a->reconnect_timer) {
        plt_timer_stop(a->reconnect_timer);
        a->reconnect_timer = NULL;
    }
    if (delay_ms == 0) {
        connect_now(a);
        return;
    }
    int rc = plt_timer_start(&a->reconnect_timer, delay_ms, 0,
                             on_reconnect_timer, a);
    if (rc != 0) {
        /* The invariant check reconnects a CONNECTING agent without a
         * leg or a pending attempt within a second. */
        a->reconnect_timer = NULL;
        plt_log_err(PLT_LOG_WARN, rc, "agent %s: cannot schedule reconnect",
                    a->login);
    }
}

void
agents_session_phone_lost(agent *a, const char *invariant)
{
    agents *s = a->owner;
    agents_session_drop_leg(a, true, PLT_BY_SYSTEM);
    a->reconnect_failures = 0;
    if (s->cfg.reconnect_attempts <= 0) {
        (void)agents_repair(a, PLT_AGENT_LOGGED_OUT, "phone_lost", invariant);
        return;
    }
    if (agents_repair(a, PLT_AGENT_CONNECTING, "phone_lost", invariant) == 0)
        agents_session_connect_later(a, (uint64_t)s->cfg.reconnect_delay_ms);
}

/* ---- call.* events ---- */

static agent *
agent_by_leg(agents *s, const char *leg_id)
{
    if (!leg_id)
        return NULL;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i]->leg_id && strcmp(s->v[i]->leg_id, leg_id) == 0)
            return s->v[i];
    return NULL;
}

void
agents_on_call_event(const plt_event *ev, void *arg)
{
    agents *s = arg;
    const char *topic = plt_event_topic(ev);
    agent *a = agent_by_leg(s, plt_event_str(ev, "leg_id"));
    if (!a)
        return;
    if (strcmp(topic, "call.answered") == 0) {
        a->leg_up = true;
        a->reconnect_failures = 0;
        if (a->state == PLT_AGENT_CONNECTING) {
            (void)agents_fsm_go(a, AT_PHONE_UP, PLT_AGENT_PAUSE,
                                AGENTS_REASON_LOGIN, AGENTS_BY_SYSTEM);
            finish_login(a, 0, NULL);
        }
    } else if (strcmp(topic, "call.ended") == 0) {
        bool was_up = a->leg_up;
        agents_session_drop_leg(a, false, 0);
        /* A per-offer leg ending is the offer's or the call's business
         * (the ACD's), not a lost phone. */
        if (a->state == PLT_AGENT_LOGGED_OUT || !a->keep_up)
            return;
        if (a->state == PLT_AGENT_CONNECTING && !was_up)
            attempt_failed(a, PLT_ETIMEDOUT);
        else if (a->state == PLT_AGENT_CONNECTING)
            agents_session_connect_later(a,
                                         (uint64_t)s->cfg.reconnect_delay_ms);
        else
            agents_session_phone_lost(a, "phone_lost");
    }
}

/* ---- login / logout ---- */

static agent *
agent_new(agents *s, const char *login)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        agent **v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        s->v = v;
        s->cap = cap;
    }
    agent *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->login = strdup(login);
    if (!a->login) {
        free(a);
        return NULL;
    }
    a->owner = s;
    a->state = PLT_AGENT_LOGGED_OUT;
    s->v[s->n++] = a;
    if (agents_index_add(s, a) != 0) {
        s->n--;
        free(a->login);
        free(a);
        return NULL;
    }
    return a;
}

int
agents_login(void *impl, const plt_agent_login *l, plt_agents_done_fn done,
             void *arg)
{
    agents *s = impl;
    if (!l || l->size < sizeof(*l) || !l->agent || !*l->agent)
        return PLT_EINVAL;
    if (!phone_usable(l->phone))
        return PLT_EINVAL;
    agent *a = agents_find(s, l->agent);
    if (a && a->state != PLT_AGENT_LOGGED_OUT)
        return PLT_EEXIST;
    if (!a && !(a = agent_new(s, l->agent)))
        return PLT_ENOMEM;
    if (agents_strset(&a->phone, l->phone) != 0 ||
        agents_strset(&a->origin, l->origin) != 0)
        return PLT_ENOMEM;
    /* A number is always called back and kept up; an extension may be
     * rung per offer instead. */
    a->keep_up = l->keep_up || strncmp(l->phone, "agent:", 6) != 0;
    int rc =
        agents_fsm_go(a, AT_LOGIN, PLT_AGENT_CONNECTING, "login", l->agent);
    if (rc != 0)
        return rc;
    a->logged_in_at = a->since;
    a->missed = 0;
    a->reconnect_failures = 0;
    a->login_done = done;
    a->login_arg = arg;
    plt_log(PLT_LOG_INFO, "agent %s: login with %s from %s", a->login, a->phone,
            l->origin ? l->origin : "-");
    if (!a->keep_up) {
        /* Nothing to connect before the first offer. */
        (void)agents_fsm_go(a, AT_PHONE_UP, PLT_AGENT_PAUSE,
                            AGENTS_REASON_LOGIN, AGENTS_BY_SYSTEM);
        finish_login(a, 0, NULL);
        return 0;
    }
    /* The originate's outcome is the leg's events: the agent stays
     * CONNECTING until call.answered. */
    connect_now(a);
    return 0;
}

int
agents_session_ring(agent *a, const char *offer_id, uint32_t timeout_ms)
{
    if (!a->owner->have_tel)
        return PLT_ENOSERVICE;
    if (a->leg)
        agents_session_drop_leg(a, true, PLT_BY_SYSTEM);
    return originate_phone(a, offer_id, timeout_ms);
}

void
agents_session_offer_over(agent *a)
{
    if (!a->keep_up && a->leg)
        agents_session_drop_leg(a, true, PLT_BY_SYSTEM);
}

int
agents_logout(void *impl, const char *login, bool now, const char *by,
              plt_agents_done_fn done, void *arg)
{
    agents *s = impl;
    agent *a = agents_find(s, login);
    if (!a)
        return PLT_ENOENT;
    if (a->state == PLT_AGENT_LOGGED_OUT)
        return PLT_ESTATE;
    const char *who = by ? by : login;
    bool busy = a->state == PLT_AGENT_RESERVED ||
                a->state == PLT_AGENT_IN_CALL ||
                a->state == PLT_AGENT_OUTBOUND || a->state == PLT_AGENT_WRAP_UP;
    if (busy && !now) {
        /* Finish the call and the wrap-up first: the release at the end
         * of wrap-up (or of a failed offer) logs the agent out. */
        int rc = agents_strset(&a->pending_logout_by, who);
        if (rc != 0)
            return rc;
        a->pending_logout = true;
        if (done)
            done(arg, 0, "logout pending");
        return 0;
    }
    int rc = agents_fsm_go(a, AT_LOGOUT, PLT_AGENT_LOGGED_OUT, "logout", who);
    if (rc != 0)
        return rc;
    agents_session_drop_leg(
        a, true, strcmp(who, login) == 0 ? PLT_BY_AGENT : PLT_BY_SYSTEM);
    finish_login(a, PLT_ECANCELED, "logged out");
    if (done)
        done(arg, 0, NULL);
    return 0;
}

plt_leg *
agents_phone_leg(void *impl, const char *login)
{
    agents *s = impl;
    agent *a = agents_find(s, login);
    if (!a || !a->leg || !a->leg_up || !s->have_tel)
        return NULL;
    return s->tel.vt->leg_ref(s->tel.impl, a->leg);
}
