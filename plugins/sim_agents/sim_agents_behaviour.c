/* SPDX-License-Identifier: MIT */
/*
 * How a simulated agent behaves. The agents service owns the state
 * machine; a simulated agent only does what a person at a desk would do
 * through it, reacting to its own agent.state_changed events:
 *  - at login_at + index * login_stagger it logs in (agents.login on its
 *    "agent:<ext>" phone, kept up);
 *  - in PAUSE("login") (or PAUSE("no_answer"), the service's own pause
 *    after missed offers) it asks to be AVAILABLE at once;
 *  - in WRAP_UP it draws a lognormal wrap time, then asks AVAILABLE, or
 *    with probability pause_rate asks for a pause (kept pending by the
 *    service while in wrap-up) and then AVAILABLE, which the service turns
 *    into the pause; after a lognormal pause it asks AVAILABLE again.
 * A pause it did not ask for (a supervisor's) is left alone: ending it is
 * the supervisor's decision, as for a real agent.
 *
 * Every agent has one pending timer at most, and any state change cancels
 * it: what was planned for the old state (e.g. the end of a wrap-up the
 * service already capped at max_wrap_up) no longer applies. The three
 * draws of a wrap-up (wrap time, pause or not, pause length) are always
 * made, in that order, so the stream's later draws do not depend on which
 * way the coin fell or on the configuration of the other two.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_agents_int.h"

/* Domain tag of the behaviour stream in (seed, index, tag): leaves room
 * for other per-agent streams without moving this one. */
#define STREAM_BEHAVIOUR 1u

static int32_t
state_from_name(const char *name)
{
    for (int32_t i = PLT_AGENT_LOGGED_OUT; name && i <= PLT_AGENT_OUTBOUND; i++)
        if (strcmp(plt_agent_state_name(i), name) == 0)
            return i;
    return 0;
}

static sim_agent *
find(sim_agents *s, const char *login)
{
    /* Logins are <prefix><number>: parse the number rather than search. */
    size_t plen = strlen(s->cfg.prefix);
    if (!login || strncmp(login, s->cfg.prefix, plen) != 0)
        return NULL;
    const char *p = login + plen;
    if (*p < '0' || *p > '9')
        return NULL;
    char *end;
    unsigned long k = strtoul(p, &end, 10);
    if (*end || k < 1 || k > s->n)
        return NULL;
    sim_agent *a = &s->agents[k - 1];
    return strcmp(a->login, login) == 0 ? a : NULL;
}

static void
cancel(sim_agent *a)
{
    if (a->timer)
        plt_timer_stop(a->timer);
    a->timer = NULL;
    a->next = SIM_AGENT_NONE;
}

static void on_timer(void *arg);

static void
arm(sim_agent *a, sim_agent_next next, int64_t ms)
{
    cancel(a);
    if (ms < 0)
        ms = 0;
    int rc = plt_timer_start(&a->timer, (uint64_t)ms, 0, on_timer, a);
    if (rc != 0) {
        /* Without the timer the agent would stay where it is; the agents
         * service's own limits (max wrap-up) still move it on. */
        a->timer = NULL;
        plt_log_err(PLT_LOG_WARN, rc, "%s: cannot start a timer", a->login);
        return;
    }
    a->next = next;
}

static void
ready(sim_agent *a)
{
    sim_agents *s = a->s;
    int rc = s->ag.vt->set_state(s->ag.impl, a->login, PLT_AGENT_AVAILABLE,
                                 NULL, NULL, NULL);
    /* PLT_ESTATE: the state moved on since the event (an offer, a forced
     * state); its own event will tell us what to do. */
    if (rc != 0 && rc != PLT_ESTATE)
        plt_log_err(PLT_LOG_WARN, rc, "%s: cannot become available", a->login);
}

static void
do_login(sim_agent *a)
{
    sim_agents *s = a->s;
    plt_agent_login l = {.size = sizeof(l),
                         .agent = a->login,
                         .phone = a->phone,
                         .keep_up = s->cfg.keep_up,
                         .origin = "sim_agents"};
    int rc = s->ag.vt->login(s->ag.impl, &l, NULL, NULL);
    if (rc == 0) {
        a->logged_in = true;
    } else if (rc == PLT_EEXIST) {
        /* Someone else uses this login: never drive a session we did not
         * open. */
        plt_log(PLT_LOG_WARN, "%s: already logged in elsewhere; not simulated",
                a->login);
    } else {
        plt_log_err(PLT_LOG_WARN, rc, "%s: cannot log in", a->login);
    }
}

static void
end_wrap(sim_agent *a)
{
    sim_agents *s = a->s;
    if (a->take_pause) {
        /* In wrap-up the service keeps the pause pending and applies it
         * instead of AVAILABLE: one request, no instant of availability
         * in between (the ACD could offer a call in it). */
        int rc = s->ag.vt->set_state(s->ag.impl, a->login, PLT_AGENT_PAUSE,
                                     s->cfg.pause_reason, NULL, NULL);
        if (rc == 0)
            a->asked_pause = true;
        else if (rc != PLT_ESTATE)
            plt_log_err(PLT_LOG_WARN, rc, "%s: cannot pause (%s)", a->login,
                        s->cfg.pause_reason);
    }
    ready(a);
}

static void
on_timer(void *arg)
{
    sim_agent *a = arg;
    sim_agent_next next = a->next;
    /* One-shot: the core releases it after this callback. */
    a->timer = NULL;
    a->next = SIM_AGENT_NONE;
    if (!a->s->started)
        return;
    switch (next) {
    case SIM_AGENT_LOGIN:
        do_login(a);
        break;
    case SIM_AGENT_END_WRAP:
        end_wrap(a);
        break;
    case SIM_AGENT_END_PAUSE:
        ready(a);
        break;
    case SIM_AGENT_NONE:
        break;
    }
}

void
sim_agents_on_state(const plt_event *ev, void *arg)
{
    sim_agents *s = arg;
    if (!s->started)
        return;
    sim_agent *a = find(s, plt_event_str(ev, "agent"));
    if (!a || !a->logged_in)
        return;
    const char *reason = plt_event_str(ev, "reason");
    int32_t to = state_from_name(plt_event_str(ev, "to"));
    a->state = to;
    cancel(a);
    const sim_agents_cfg *c = &s->cfg;
    switch (to) {
    case PLT_AGENT_WRAP_UP: {
        double wrap = sim_rng_lognormal(&a->rng, (double)c->wrap_mean_ms,
                                               (double)c->wrap_sd_ms);
        a->take_pause = sim_rng_bernoulli(&a->rng, c->pause_rate);
        a->pause_ms = (int64_t)sim_rng_lognormal(
            &a->rng, (double)c->pause_mean_ms, (double)c->pause_sd_ms);
        a->asked_pause = false;
        arm(a, SIM_AGENT_END_WRAP, (int64_t)wrap);
        break;
    }
    case PLT_AGENT_PAUSE:
        if (a->asked_pause && reason && strcmp(reason, c->pause_reason) == 0) {
            a->asked_pause = false;
            arm(a, SIM_AGENT_END_PAUSE, a->pause_ms);
        } else if (reason && (strcmp(reason, "login") == 0 ||
                              strcmp(reason, "no_answer") == 0)) {
            ready(a);
        }
        break;
    case PLT_AGENT_LOGGED_OUT:
        /* Phone unreachable or a supervisor: the session is over. */
        a->logged_in = false;
        a->asked_pause = false;
        break;
    default:
        break;
    }
}

int
sim_agents_setup(sim_agents *s)
{
    const sim_agents_cfg *c = &s->cfg;
    s->n = (size_t)c->count;
    if (s->n == 0)
        return 0;
    s->agents = calloc(s->n, sizeof(*s->agents));
    if (!s->agents)
        return PLT_ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        sim_agent *a = &s->agents[i];
        a->s = s;
        a->index = (uint32_t)i;
        a->state = PLT_AGENT_LOGGED_OUT;
        int n1 =
            snprintf(a->login, sizeof(a->login), "%s%02zu", c->prefix, i + 1);
        int n2 = snprintf(a->phone, sizeof(a->phone), "agent:%lld",
                          (long long)(c->extension_base + (int64_t)i));
        if (n1 < 0 || (size_t)n1 >= sizeof(a->login) || n2 < 0 ||
            (size_t)n2 >= sizeof(a->phone)) {
            plt_set_error("login_prefix too long");
            return PLT_EINVAL;
        }
        sim_rng_seed(&a->rng, (uint64_t)c->seed, (uint64_t)i,
                            STREAM_BEHAVIOUR);
    }
    return 0;
}

int
sim_agents_begin(sim_agents *s)
{
    for (size_t i = 0; i < s->n; i++) {
        sim_agent *a = &s->agents[i];
        int64_t at = s->cfg.login_at_ms + (int64_t)i * s->cfg.login_stagger_ms;
        arm(a, SIM_AGENT_LOGIN, at);
        if (!a->timer)
            return PLT_ENOMEM;
    }
    return 0;
}

void
sim_agents_cancel_all(sim_agents *s)
{
    for (size_t i = 0; i < s->n; i++)
        cancel(&s->agents[i]);
}

void
sim_agents_logout_all(sim_agents *s)
{
    for (size_t i = 0; i < s->n; i++) {
        sim_agent *a = &s->agents[i];
        if (!a->logged_in)
            continue;
        /* Immediately: a simulation that stops does not finish its calls,
         * and the agents service closes the state-log rows. */
        int rc =
            s->ag.vt->logout(s->ag.impl, a->login, true, a->login, NULL, NULL);
        if (rc != 0 && rc != PLT_ENOENT && rc != PLT_ESTATE)
            plt_log_err(PLT_LOG_WARN, rc, "%s: cannot log out", a->login);
        a->logged_in = false;
    }
}
