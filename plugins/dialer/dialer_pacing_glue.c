/* SPDX-License-Identifier: MIT */
/*
 * How many lines a campaign places now. Progressive: one per available
 * agent, minus the lines already in flight. Power: ratio x available
 * agents in flight. Predictive: the pacing model (plugins/pacing), fed
 * here with what the dialer observes - every attempt's outcome and ring
 * time, talk and wrap durations of the campaign's agents, abandons - and
 * given the live state: each agent's state and time in it, each call in
 * flight and its elapsed ring or wait time, the pack's cap and window.
 * Every predictive decision is explained: published as `dialer.pacing`
 * (every field of the model's record) and stored in dialer_pacing (one
 * line of text and the record as JSON) for supervisors.
 *
 * Power and predictive fall back to progressive while the campaign's
 * abandonment rate in the pack's window is at or above the pack's limit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dialer_int.h"
#include "pacing.h"

/* Agents as the pacing sees them, from agent.state_changed. */
typedef struct agent_seen {
    char name[64];
    pacing_agent_state st;
    int64_t since;
} agent_seen;

static agent_seen *seen;
static size_t nseen, capseen;

static agent_seen *
seen_get(const char *name)
{
    for (size_t i = 0; i < nseen; i++)
        if (!strcmp(seen[i].name, name))
            return &seen[i];
    if (nseen == capseen) {
        size_t cap = capseen ? capseen * 2 : 32;
        agent_seen *n = realloc(seen, cap * sizeof(*n));
        if (!n)
            return NULL;
        seen = n;
        capseen = cap;
    }
    agent_seen *a = &seen[nseen++];
    memset(a, 0, sizeof(*a));
    snprintf(a->name, sizeof(a->name), "%s", name);
    a->st = PACING_AGENT_OTHER;
    return a;
}

void
dialer_pacing_agent_event(dialer *D, const plt_event *ev)
{
    const char *name = plt_event_str(ev, "agent");
    const char *to = plt_event_str(ev, "to");
    const char *from = plt_event_str(ev, "from");
    if (!name || !to)
        return;
    agent_seen *a = seen_get(name);
    if (!a)
        return;
    int64_t now = plt_now();
    double in_state = (double)(now - a->since) / 1000.0;
    /* Durations feed every predictive campaign the agent works. */
    for (size_t i = 0; i < D->ncamps && a->since; i++) {
        campaign *c = D->camps[i];
        if (!c->pacing || !from)
            continue;
        if (!dialer_campaign_has_agent(c, name))
            continue;
        if (!strcmp(from, "in_call") && in_state > 0)
            pacing_observe_talk(c->pacing, in_state);
        else if (!strcmp(from, "wrap_up"))
            pacing_observe_wrap(c->pacing, in_state);
    }
    a->since = now;
    if (!strcmp(to, "available"))
        a->st = PACING_AGENT_FREE;
    else if (!strcmp(to, "in_call") || !strcmp(to, "reserved") ||
             !strcmp(to, "outbound"))
        a->st = PACING_AGENT_TALK;
    else if (!strcmp(to, "wrap_up"))
        a->st = PACING_AGENT_WRAP;
    else
        a->st = PACING_AGENT_OTHER;
}

void
dialer_pacing_free(dialer *D)
{
    for (size_t i = 0; i < D->ncamps; i++) {
        pacing_free(D->camps[i]->pacing);
        D->camps[i]->pacing = NULL;
    }
    free(seen);
    seen = NULL;
    nseen = capseen = 0;
}

static void
observe_outcome(campaign *c, attempt *a, int64_t now)
{
    pacing_outcome o;
    if (a->machine)
        o = PACING_MACHINE;
    else if (a->answered_at)
        o = PACING_LIVE;
    else if (!strcmp(a->outcome, "no_answer"))
        o = PACING_NO_ANSWER;
    else if (!strcmp(a->outcome, "busy") || !strcmp(a->outcome, "rejected"))
        o = PACING_BUSY;
    else if (!strcmp(a->outcome, "invalid_number"))
        o = PACING_INVALID;
    else
        o = PACING_CONGESTION;
    int64_t ring_end = a->answered_at ? a->answered_at : now;
    double ring = (double)(ring_end - a->started_at) / 1000.0;
    pacing_observe_attempt(c->pacing, o, ring < 0 ? 0 : ring, now);
    a->paced = true;
}

/* An answered call is known live or machine as soon as AMD (or the
 * answer, without AMD) says so, minutes before it ends: the hit rate and
 * the window's live answers must not wait for the end of the talk, or
 * every early decision sees only the calls that failed fast and
 * over-dials. */
void
dialer_pacing_answered(dialer *D, campaign *c, attempt *a)
{
    (void)D;
    if (!c->pacing || a->agent_bound || a->paced || !a->started_at ||
        !a->answered_at)
        return;
    observe_outcome(c, a, plt_now());
}

void
dialer_pacing_observe(dialer *D, campaign *c, attempt *a)
{
    (void)D;
    if (!c->pacing || a->agent_bound || a->state < AT_ENDING)
        return;
    int64_t now = plt_now();
    if (!a->paced && a->started_at)
        observe_outcome(c, a, now);
    if (a->abandoned)
        pacing_observe_abandon(c->pacing, PACING_ABANDON_NO_AGENT, now);
}

static bool
over_limit(campaign *c)
{
    if (!c->pack || c->pack->abandon_limit <= 0)
        return false;
    uint64_t live;
    double ab;
    dialer_ab_rate(c, plt_now(), &live, &ab);
    return live >= 20 && ab / (double)live >= c->pack->abandon_limit;
}

typedef struct kv_ctx {
    plt_event *ev;
    json_t *obj;
} kv_ctx;

static void
kv(void *ud, const char *key, const char *value)
{
    kv_ctx *x = ud;
    /* The typed members of the event (lines as a number) stay typed. */
    if (x->ev && strcmp(key, "lines") && strcmp(key, "campaign") &&
        strcmp(key, "reason"))
        plt_event_set_str(x->ev, key, value);
    json_object_set_new(x->obj, key, json_string(value));
}

static void
explain(dialer *D, campaign *c, const pacing_explain *e)
{
    char line[512];
    pacing_explain_format(e, line, sizeof(line));
    kv_ctx x = {.obj = json_object()};
    if (plt_event_new(&x.ev, "dialer.pacing", 1) != 0)
        x.ev = NULL;
    if (x.ev) {
        plt_event_set_str(x.ev, "campaign", c->def.c.name);
        plt_event_set_i64(x.ev, "lines", e->lines);
        plt_event_set_str(x.ev, "reason", line);
    }
    pacing_explain_each(e, kv, &x);
    json_object_set_new(x.obj, "reason", json_string(line));
    char *js = json_dumps(x.obj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(x.obj);
    if (x.ev)
        plt_event_publish(x.ev);
    dialer_store_pacing(D, c->def.c.name, e->lines, js ? js : line);
    free(js);
}

int32_t
dialer_pace(dialer *D, campaign *c, uint32_t avail, uint32_t *logged_in)
{
    int32_t mode = c->def.c.mode;
    *logged_in = 0;
    if (mode != PLT_DIAL_PROGRESSIVE && over_limit(c))
        mode = PLT_DIAL_PROGRESSIVE;
    if (mode == PLT_DIAL_PROGRESSIVE)
        return (int32_t)avail - (int32_t)c->in_flight;
    if (mode == PLT_DIAL_POWER)
        return (int32_t)floor(c->def.c.power_ratio * avail + 0.5) -
               (int32_t)c->in_flight;
    /* Predictive. */
    if (!c->pacing) {
        pacing_priors pr = {0};
        if (c->pack && c->pack->count_amd_false_positives)
            pr.amd_fp_rate = c->pack->amd_false_positive_rate;
        if (c->def.c.amd && c->def.c.amd_false_positive_rate > 0)
            pr.amd_fp_rate = c->def.c.amd_false_positive_rate;
        c->pacing = pacing_new(&pr);
        if (!c->pacing)
            return (int32_t)avail - (int32_t)c->in_flight;
        /* What the window already holds (loaded from the attempts at
         * start, or counted before the campaign turned predictive). */
        for (size_t i = 0; i < c->nab; i++)
            pacing_observe_history(c->pacing, c->ab[i].at, c->ab[i].live,
                                   c->ab[i].abandoned);
    }
    int64_t now = plt_now();
    pacing_agent *ag = calloc(nseen ? nseen : 1, sizeof(*ag));
    pacing_call *calls = calloc(c->in_flight ? c->in_flight : 1,
                                sizeof(*calls));
    if (!ag || !calls) {
        free(ag);
        free(calls);
        return 0;
    }
    size_t na = 0, nc = 0;
    for (size_t i = 0; i < nseen; i++) {
        if (!dialer_campaign_has_agent(c, seen[i].name))
            continue;
        ag[na].state = seen[i].st;
        ag[na].elapsed_s = (double)(now - seen[i].since) / 1000.0;
        if (seen[i].st != PACING_AGENT_OTHER)
            (*logged_in)++;
        na++;
    }
    for (attempt *a = D->attempts; a && nc < c->in_flight; a = a->next) {
        if (a->camp != c || a->agent_bound)
            continue;
        if (a->state == AT_DIALING || a->state == AT_READY) {
            calls[nc].answered = 0;
            calls[nc++].elapsed_s =
                a->started_at ? (double)(now - a->started_at) / 1000.0 : 0;
        } else if (a->state == AT_ANSWERED) {
            calls[nc].answered = 1;
            calls[nc++].elapsed_s = (double)(now - a->answered_at) / 1000.0;
        }
    }
    pacing_config cfg = {0};
    if (c->pack && c->pack->abandon_limit > 0) {
        cfg.cap = c->pack->abandon_limit;
        cfg.window = c->pack->abandon_daily ? PACING_WINDOW_DAY
                                            : PACING_WINDOW_ROLLING_30;
    }
    cfg.connect_deadline_s = c->def.c.connect_deadline_ms / 1000.0;
    cfg.no_answer_s = c->def.c.ring_timeout_ms / 1000.0;
    pacing_state s = {.now_ms = now, .agents = ag, .n_agents = na,
                      .calls = calls, .n_calls = nc, .config = &cfg};
    pacing_explain e;
    int lines = pacing_decide(c->pacing, &s, &e);
    free(ag);
    free(calls);
    if (lines < 0)
        return 0;
    /* Store every decision that dials, and a heartbeat otherwise. */
    if (lines > 0 || lines != c->last_lines ||
        now - c->last_pacing_at >= 60000) {
        explain(D, c, &e);
        c->last_pacing_at = now;
    }
    c->last_lines = lines;
    return lines;
}
