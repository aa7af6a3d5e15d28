/* SPDX-License-Identifier: MIT */
/*
 * The agents service as its callers see it: the web layer asking for
 * states (set_state), supervisors forcing them (force_state), the ACD and
 * the dialer driving offers and calls, and the read side (get, list,
 * available). Each entry point finds the agent, maps the request to a
 * trigger of the state machine and lets agents_fsm_go() decide: a request
 * the table does not allow in the current state is PLT_ESTATE.
 *
 * Done and read callbacks are called before the function returns: the
 * state lives on the loop, so the answer is known at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents_int.h"

static int
lookup(agents *s, const char *login, agent **out)
{
    if (!login)
        return PLT_EINVAL;
    *out = agents_find(s, login);
    return *out ? 0 : PLT_ENOENT;
}

static void
reply(plt_agents_done_fn done, void *arg, const char *msg)
{
    if (done)
        done(arg, 0, msg);
}

int
agents_set_state(void *impl, const char *login, int32_t state,
                 const char *reason, plt_agents_done_fn done, void *arg)
{
    agents *s = impl;
    agent *a;
    int rc = lookup(s, login, &a);
    if (rc != 0)
        return rc;
    switch (state) {
    case PLT_AGENT_AVAILABLE:
        if (a->state == PLT_AGENT_PAUSE)
            rc =
                agents_fsm_go(a, AT_READY, PLT_AGENT_AVAILABLE, "ready", login);
        else if (a->state == PLT_AGENT_WRAP_UP)
            rc = agents_fsm_release(a, AT_READY, login);
        else
            rc = PLT_ESTATE;
        break;
    case PLT_AGENT_PAUSE:
        if (!agents_reason_ok(s, reason))
            return PLT_EINVAL;
        if (a->state == PLT_AGENT_RESERVED || a->state == PLT_AGENT_IN_CALL ||
            a->state == PLT_AGENT_OUTBOUND || a->state == PLT_AGENT_WRAP_UP) {
            /* Applied when the agent would become available. */
            rc = agents_strset(&a->pending_pause, reason);
            if (rc == 0)
                reply(done, arg, "pause pending");
            return rc;
        }
        rc = agents_fsm_go(a, AT_PAUSE, PLT_AGENT_PAUSE, reason, login);
        break;
    case PLT_AGENT_WRAP_UP:
        rc = agents_fsm_go(a, AT_BACKOFFICE, PLT_AGENT_WRAP_UP, "back_office",
                           login);
        break;
    default:
        /* Other states are reached through calls, not asked for. */
        return PLT_EINVAL;
    }
    if (rc == 0)
        reply(done, arg, NULL);
    return rc;
}

int
agents_force_state(void *impl, const char *login, int32_t state,
                   const char *reason, const char *supervisor,
                   plt_agents_done_fn done, void *arg)
{
    agents *s = impl;
    agent *a;
    int rc = lookup(s, login, &a);
    if (rc != 0)
        return rc;
    if (state < PLT_AGENT_LOGGED_OUT || state > PLT_AGENT_OUTBOUND ||
        !supervisor || !*supervisor)
        return PLT_EINVAL;
    if (state == PLT_AGENT_PAUSE && reason && !agents_reason_ok(s, reason))
        return PLT_EINVAL;
    /* A logged-out agent has no phone: only login() can give one. */
    if (a->state == PLT_AGENT_LOGGED_OUT && state != PLT_AGENT_LOGGED_OUT)
        return PLT_ESTATE;
    char why[160];
    snprintf(why, sizeof(why), "%s",
             reason ? reason
                    : (state == PLT_AGENT_PAUSE ? "supervisor" : "forced"));
    rc = agents_fsm_go(a, AT_FORCE, state, why, supervisor);
    if (rc != 0)
        return rc;
    plt_log(PLT_LOG_NOTICE, "agent %s: forced to %s by %s", a->login,
            plt_agent_state_name(state), supervisor);
    if (state == PLT_AGENT_LOGGED_OUT)
        agents_session_drop_leg(a, true, PLT_BY_SYSTEM);
    else if (state == PLT_AGENT_CONNECTING && !a->leg)
        agents_session_connect_later(a, 0);
    reply(done, arg, NULL);
    return 0;
}

static void
fill_info(const agent *a, plt_agent_info *i)
{
    memset(i, 0, sizeof(*i));
    i->size = sizeof(*i);
    i->agent = a->login;
    i->state = a->state;
    i->reason = a->reason;
    i->since = a->since;
    i->phone = a->phone;
    i->leg_id = a->leg_id;
    i->offer_id = a->offer_id;
    i->call_leg_id = a->call_leg_id;
    i->missed_offers = a->missed;
    i->pending_pause = a->pending_pause;
    i->logged_in_at = a->logged_in_at;
    i->keep_up = a->keep_up;
    i->pending_logout = a->pending_logout;
    i->changes = a->changes;
}

int
agents_get(void *impl, const char *login, plt_agent_info_fn cb, void *arg)
{
    agents *s = impl;
    agent *a;
    if (!cb)
        return PLT_EINVAL;
    int rc = lookup(s, login, &a);
    if (rc != 0)
        return rc;
    plt_agent_info i;
    fill_info(a, &i);
    cb(arg, 0, &i);
    return 0;
}

static int
by_login(const void *x, const void *y)
{
    const agent *a = *(agent *const *)x, *b = *(agent *const *)y;
    return strcmp(a->login, b->login);
}

static int
by_idle(const void *x, const void *y)
{
    const agent *a = *(agent *const *)x, *b = *(agent *const *)y;
    if (a->since != b->since)
        return a->since < b->since ? -1 : 1;
    return strcmp(a->login, b->login);
}

/* A sorted snapshot of the agents passing @p keep, so that a callback
 * changing states cannot disturb the walk. */
static int
snapshot(agents *s, int32_t only_state, int (*cmp)(const void *, const void *),
         agent ***out, size_t *n)
{
    agent **v = malloc((s->n ? s->n : 1) * sizeof(*v));
    if (!v)
        return PLT_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        int32_t st = s->v[i]->state;
        if (only_state ? st == only_state : st != PLT_AGENT_LOGGED_OUT)
            v[k++] = s->v[i];
    }
    qsort(v, k, sizeof(*v), cmp);
    *out = v;
    *n = k;
    return 0;
}

int
agents_list(void *impl, plt_agent_row_fn row, plt_agents_done_fn done,
            void *arg)
{
    agents *s = impl;
    agent **v;
    size_t n;
    if (!row)
        return PLT_EINVAL;
    int rc = snapshot(s, 0, by_login, &v, &n);
    if (rc != 0)
        return rc;
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        plt_agent_info info;
        fill_info(v[i], &info);
        if (row(arg, &info) != 0) {
            status = PLT_ECANCELED;
            break;
        }
    }
    free(v);
    if (done)
        done(arg, status, NULL);
    return 0;
}

int
agents_available(void *impl, plt_agent_row_fn row, void *arg)
{
    agents *s = impl;
    agent **v;
    size_t n;
    if (!row)
        return PLT_EINVAL;
    int rc = snapshot(s, PLT_AGENT_AVAILABLE, by_idle, &v, &n);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        plt_agent_info info;
        fill_info(v[i], &info);
        if (row(arg, &info) != 0)
            break;
    }
    free(v);
    return 0;
}

/* ---- distribution ---- */

int
agents_offer(void *impl, const char *login, const char *offer_id,
             uint32_t timeout_ms)
{
    agents *s = impl;
    agent *a;
    int rc = lookup(s, login, &a);
    if (rc != 0)
        return rc;
    if (!offer_id || !*offer_id)
        return PLT_EINVAL;
    if (!agents_fsm_allowed(AT_OFFER, a->state, PLT_AGENT_RESERVED))
        return PLT_ESTATE;
    char *id = strdup(offer_id);
    if (!id)
        return PLT_ENOMEM;
    /* A per-offer extension rings now; refused, nothing changed. */
    if (!a->keep_up && (rc = agents_session_ring(a, offer_id, timeout_ms))) {
        free(id);
        return rc;
    }
    a->offer_timeout_ms = timeout_ms;
    rc = agents_fsm_go(a, AT_OFFER, PLT_AGENT_RESERVED, offer_id,
                       AGENTS_BY_SYSTEM);
    if (rc != 0) {
        agents_session_offer_over(a);
        free(id);
        return rc;
    }
    free(a->offer_id);
    a->offer_id = id;
    return 0;
}

/* RESERVED for @p offer_id (any offer if the state was forced). */
static int
check_offer(const agent *a, const char *offer_id)
{
    if (a->state != PLT_AGENT_RESERVED)
        return PLT_ESTATE;
    if (a->offer_id && (!offer_id || strcmp(a->offer_id, offer_id) != 0))
        return PLT_ESTATE;
    return 0;
}

int
agents_offer_answered(void *impl, const char *login, const char *offer_id,
                      const char *customer_leg_id)
{
    agents *s = impl;
    agent *a;
    int rc = lookup(s, login, &a);
    if (rc != 0 || (rc = check_offer(a, offer_id)) != 0)
        return rc;
    char *leg = NULL;
    if (customer_leg_id && !(leg = strdup(customer_leg_id)))
        return PLT_ENOMEM;
    rc = agents_fsm_go(a, AT_ANSWERED, PLT_AGENT_IN_CALL, offer_id,
                       AGENTS_BY_SYSTEM);
    if (rc != 0) {
        free(leg);
        return rc;
    }
    free(a->call_leg_id);
    a->call_leg_id = leg;
    a->missed = 0;
    return 0;
}

int
agents_offer_failed(void *impl, const char *login, const char *offer_id,
                    bool missed)
{
    agents *s = impl;
    agent *a;
    int rc = lookup(s, login, &a);
    if (rc != 0 || (rc = check_offer(a, offer_id)) != 0)
        return rc;
    agents_session_offer_over(a);
    if (missed) {
        a->missed++;
        if (s->cfg.missed_before_pause > 0 &&
            a->missed >= s->cfg.missed_before_pause) {
            rc = agents_fsm_go(a, AT_OFFER_FAILED, PLT_AGENT_PAUSE,
                               AGENTS_REASON_NO_ANSWER, AGENTS_BY_SYSTEM);
            if (rc == 0)
                a->missed = 0;
            else
                a->missed--;
            return rc;
        }
    }
    return agents_fsm_release(a, AT_OFFER_FAILED, AGENTS_BY_SYSTEM);
}

int
agents_call_ended(void *impl, const char *login, uint32_t max_wrap_ms)
{
    agents *s = impl;
    agent *a;
    int rc = lookup(s, login, &a);
    if (rc != 0)
        return rc;
    a->next_wrap_ms = max_wrap_ms;
    rc = agents_fsm_go(a, AT_CALL_ENDED, PLT_AGENT_WRAP_UP, "call_ended",
                       AGENTS_BY_SYSTEM);
    if (rc == 0)
        agents_session_offer_over(a);
    if (rc != 0)
        a->next_wrap_ms = 0;
    return rc;
}

int
agents_outbound_started(void *impl, const char *login,
                        const char *customer_leg_id)
{
    agents *s = impl;
    agent *a;
    int rc = lookup(s, login, &a);
    if (rc != 0)
        return rc;
    char *leg = NULL;
    if (customer_leg_id && !(leg = strdup(customer_leg_id)))
        return PLT_ENOMEM;
    rc = agents_fsm_go(a, AT_OUTBOUND, PLT_AGENT_OUTBOUND, "outbound",
                       AGENTS_BY_SYSTEM);
    if (rc != 0) {
        free(leg);
        return rc;
    }
    free(a->call_leg_id);
    a->call_leg_id = leg;
    return 0;
}
