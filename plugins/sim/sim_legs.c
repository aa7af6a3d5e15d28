/* SPDX-License-Identifier: MIT */
/*
 * The simulation's side of legs: timers of the simulated parties, answer,
 * originate, and the hooks the shared bookkeeping (plugins/legs: registry,
 * refcounting, bridge, hold, transfer, call.ended) calls.
 *
 * Ending a leg never ends the leg it is bridged to (legs.c): the partner
 * keeps whatever timers its own party has; the controller decides the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

/* ------------------------------------------------------------------ */
/* Timer slots */

static void
tslot_fire(void *arg)
{
    sim_tslot *t = arg;
    /* The core releases a one-shot timer after this callback: forget the
     * handle first, so a cancel from inside fn() is a no-op. */
    t->h = NULL;
    t->fn(t->leg);
}

int
sim_tslot_arm(sim_tslot *t, plt_leg *l, int64_t delay_ms, void (*fn)(plt_leg *))
{
    sim_tslot_cancel(t);
    t->leg = l;
    t->fn = fn;
    int rc = plt_timer_start(&t->h, (uint64_t)(delay_ms < 0 ? 0 : delay_ms), 0,
                             tslot_fire, t);
    if (rc != 0) {
        t->h = NULL;
        plt_log_err(PLT_LOG_ERROR, rc, "leg %s: cannot start a timer", l->id);
    }
    return rc;
}

void
sim_tslot_cancel(sim_tslot *t)
{
    if (t->h) {
        plt_timer_stop(t->h);
        t->h = NULL;
    }
}

static void
cancel_timers(plt_leg *l)
{
    sim_tslot_cancel(&l->t_progress);
    sim_tslot_cancel(&l->t_fate);
    sim_tslot_cancel(&l->t_ring_timeout);
    sim_tslot_cancel(&l->t_hangup);
    sim_tslot_cancel(&l->t_claim);
    sim_tslot_cancel(&l->t_amd);
}

/* ------------------------------------------------------------------ */
/* Registry */

static const legs_ops sim_legs_ops;

int
sim_leg_new(sim *s, sim_kind kind, plt_call *join, plt_leg **out)
{
    return legs_new(&s->reg, &sim_legs_ops, s, (int)kind, kind == SIM_K_INBOUND,
                    join, out);
}

uint64_t
sim_attempt_index(sim *s, uint64_t key)
{
    /* Grow at half full: linear probing stays short. */
    if (2 * (s->att_len + 1) > s->att_cap) {
        size_t cap = s->att_cap ? 2 * s->att_cap : 1024;
        uint64_t *k = calloc(cap, sizeof(*k));
        uint32_t *v = calloc(cap, sizeof(*v));
        if (!k || !v) {
            free(k);
            free(v);
            /* Without memory, fall back to the first attempt's stream: the
             * run stays deterministic, only less varied. */
            return 0;
        }
        for (size_t i = 0; i < s->att_cap; i++) {
            if (!s->att_vals[i])
                continue;
            size_t j = (size_t)(s->att_keys[i] & (cap - 1));
            while (v[j])
                j = (j + 1) & (cap - 1);
            k[j] = s->att_keys[i];
            v[j] = s->att_vals[i];
        }
        free(s->att_keys);
        free(s->att_vals);
        s->att_keys = k;
        s->att_vals = v;
        s->att_cap = cap;
    }
    size_t j = (size_t)(key & (s->att_cap - 1));
    while (s->att_vals[j] && s->att_keys[j] != key)
        j = (j + 1) & (s->att_cap - 1);
    if (!s->att_vals[j]) {
        s->att_keys[j] = key;
        s->att_len++;
    }
    /* Values count attempts + 1 so that 0 marks an empty slot. */
    return s->att_vals[j]++;
}

/* ------------------------------------------------------------------ */
/* Talk */

static void
on_talk_done(plt_leg *l)
{
    sim_leg_end(l, PLT_OUTCOME_ANSWERED, 200, "customer hung up",
                PLT_BY_CUSTOMER);
}

/* A customer waiting to be connected runs out of patience. */
static void
on_patience_out(plt_leg *l)
{
    if (l->state == PLT_LEG_UP)
        sim_leg_end(l, PLT_OUTCOME_ANSWERED, 200,
                    "customer hung up waiting to be connected",
                    PLT_BY_CUSTOMER);
    else
        /* An inbound caller who gives up before anyone answered: the
         * caller's CANCEL ends the offer (487). */
        sim_leg_end(l, PLT_OUTCOME_ABANDONED, 487, "caller abandoned",
                    PLT_BY_CUSTOMER);
}

void
sim_leg_customer_wait(plt_leg *l, int64_t patience_ms)
{
    if (sim_tslot_arm(&l->t_hangup, l, patience_ms, on_patience_out) != 0)
        sim_leg_end(l, PLT_OUTCOME_FAILED, 500, "out of resources",
                    PLT_BY_SYSTEM);
}

/* A human's conversation starts at their first bridge and lasts their talk
 * time, whatever the controller does with bridges afterwards (a transfer
 * does not make a customer patient again). */
static void
start_talk(plt_leg *l)
{
    if (l->kind == SIM_K_AGENT || l->fate != SIM_F_HUMAN || l->talk_started)
        return;
    l->talk_started = true;
    if (sim_tslot_arm(&l->t_hangup, l, l->talk_ms, on_talk_done) != 0)
        sim_leg_end(l, PLT_OUTCOME_FAILED, 500, "out of resources",
                    PLT_BY_SYSTEM);
}

/* ------------------------------------------------------------------ */
/* Answer */

void
sim_leg_answered(plt_leg *l)
{
    sim_tslot_cancel(&l->t_progress);
    sim_tslot_cancel(&l->t_ring_timeout);
    sim_tslot_cancel(&l->t_claim);
    plt_event *ev = legs_answered_event(l);
    if (ev) {
        /* The simulation's truth, for measuring (plateau simulate): who
         * really answered, whatever AMD will say. */
        plt_event_set_str(ev, "sim_party",
                          l->kind == SIM_K_AGENT        ? "agent"
                          : l->fate == SIM_F_MACHINE    ? "machine"
                                                        : "human");
        sim_ev_publish(ev);
    }
    if (l->xfer_from)
        legs_transfer_answered(l);
}

int
sim_cmd_answer(plt_leg *l)
{
    if (!l->inbound || l->state != PLT_LEG_RINGING)
        return PLT_ESTATE;
    sim_leg_answered(l);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Originate */

/* E.164 ("+33612345678"), national digits, or a SIP URI. */
static bool
valid_number(const char *d)
{
    if (strncmp(d, "sip:", 4) == 0 || strncmp(d, "sips:", 5) == 0)
        return strchr(d, ':')[1] != '\0';
    return legs_valid_digits(d);
}

static bool
valid_dest(const char *d, bool agent)
{
    return agent ? sim_agent_dest_valid(d) : valid_number(d);
}

static int
pick_trunk(void *owner, const plt_originate *o, void **trunk)
{
    sim *s = owner;
    sim_trunk *t = o->trunk ? sim_trunk_find(s, o->trunk) : &s->trunks[0];
    if (!t)
        return PLT_ENOENT;
    *trunk = t;
    return sim_trunk_admit(s, t, true);
}

static const char *
caller_id(const plt_originate *o)
{
    return (o->flags & PLT_ORIG_HIDE_CALLER_ID) ? "anonymous"
           : o->caller_id                       ? o->caller_id
                                                : "";
}

/* Schedule the party (sim_trunk.c, sim_agent_phone.c). */
static int
dial(plt_leg *l, const plt_originate *o, void *trunk)
{
    sim_trunk *t = trunk;
    if (t) {
        sim_trunk_take(l->s, t, true);
        l->trunk = t;
    }
    int rc = t ? sim_trunk_dial(l) : sim_agent_dial(l);
    if (rc != 0) {
        cancel_timers(l);
        if (l->trunk)
            sim_trunk_release(l->trunk);
        l->trunk = NULL;
    }
    return rc;
}

static void
dialled(plt_leg *l, const plt_originate *o)
{
    if (l->trunk)
        sim_trunk_log(l->s, l, o->vars, o->nvars);
}

int
sim_originate(sim *s, const plt_originate *o, plt_leg **out)
{
    return legs_originate(&s->reg, &sim_legs_ops, s, !s->stopping && s->started,
                          (uint32_t)s->conf.ring_timeout_ms, o, out);
}

/* ------------------------------------------------------------------ */
/* Hooks of the shared bookkeeping */

static void
hook_claimed(plt_leg *l)
{
    sim_tslot_cancel(&l->t_claim);
}

static void
hook_linked(plt_leg *a, plt_leg *b)
{
    sim_leg_ref(a);
    sim_leg_ref(b);
    start_talk(a);
    start_talk(b);
    sim_leg_unref(b);
    sim_leg_unref(a);
}

static void
hook_end_stop(plt_leg *l)
{
    cancel_timers(l);
    sim_play_stop_all(l);
}

static void
hook_end_event(plt_leg *l, plt_event *ev)
{
    (void)ev; /* nothing of the simulation's own in call.ended */
    if (l->trunk)
        sim_trunk_release(l->trunk);
    l->trunk = NULL;
}

static void
hook_call_ended(plt_leg *l)
{
    sim_rec_call_ended(l->s, l->call, l);
}

static void
hook_discard(plt_leg *l)
{
    cancel_timers(l);
    for (sim_play *p = l->plays, *n; p; p = n) {
        n = p->next;
        if (p->t)
            plt_timer_stop(p->t);
        free(p->file);
        free(p);
    }
    l->plays = NULL;
}

static int
hook_originate(plt_leg *l, const plt_originate *o, plt_leg **out)
{
    return sim_originate(l->s, o, out);
}

static const legs_ops sim_legs_ops = {
    .leg_size = sizeof(plt_leg),
    .magic = SIM_LEG_MAGIC,
    .kind_agent = SIM_K_AGENT,
    .kind_trunk = SIM_K_TRUNK,
    .valid_dest = valid_dest,
    .pick_trunk = pick_trunk,
    .caller_id = caller_id,
    .dial = dial,
    .dialled = dialled,
    .claimed = hook_claimed,
    .linked = hook_linked,
    .end_stop = hook_end_stop,
    .end_event = hook_end_event,
    .call_ended = hook_call_ended,
    .discard = hook_discard,
    .originate = hook_originate,
};
