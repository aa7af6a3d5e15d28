/* SPDX-License-Identifier: MIT */
/*
 * The leg and call registry of the simulation, and what the controller does
 * with legs: answer, hang up, bridge, hold, transfer.
 *
 * A leg is a refcounted handle with a stable id ("L7"). The registry holds
 * one implicit reference while the leg is not ended (so an inbound leg
 * nobody claimed stays alive); consumers hold the others. The memory goes
 * when the leg has ended and the last reference is dropped; until then
 * leg_find() still finds it ("recently ended").
 *
 * A call ("C3") groups legs; it lives as long as a leg struct points to
 * it, and it ends when its last leg ends (recordings then finish).
 *
 * The contract's central rule is kept here: ending a leg never ends the leg
 * it is bridged to. The partner is unbridged (call.unbridged) and keeps
 * whatever timers its own party has; the controller decides the rest.
 *
 * Bridge events are published once per leg (each with that leg's own
 * role, direction and variables, and other_leg_id), so the dialer matching
 * the customer leg and the agents plugin matching the agent leg each see
 * theirs.
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
/* Events */

plt_event *
sim_ev_new(plt_leg *l, const char *topic)
{
    plt_event *ev;
    int rc = plt_event_new(&ev, topic, 1);
    if (rc != 0) {
        plt_log_err(PLT_LOG_ERROR, rc, "leg %s: cannot create %s", l->id,
                    topic);
        return NULL;
    }
    plt_event_set_str(ev, "leg_id", l->id);
    plt_event_set_str(ev, "call_id", l->call->id);
    plt_event_set_str(ev, "role",
                      l->role == PLT_LEG_AGENT ? "agent" : "customer");
    plt_event_set_str(ev, "direction", l->inbound ? "inbound" : "outbound");
    for (size_t i = 0; i < l->nvars; i++)
        plt_event_set_str(ev, l->var_keys[i], l->var_vals[i]);
    return ev;
}

void
sim_ev_publish(plt_event *ev)
{
    if (!ev)
        return;
    int rc = plt_event_publish(ev); /* takes the reference either way */
    if (rc != 0 && rc != PLT_ESHUTDOWN)
        plt_log_err(PLT_LOG_WARN, rc, "cannot publish an event");
}

void
sim_publish_simple(plt_leg *l, const char *topic)
{
    sim_ev_publish(sim_ev_new(l, topic));
}

static void
publish_pair(plt_leg *l, plt_leg *other, const char *topic)
{
    plt_event *ev = sim_ev_new(l, topic);
    if (ev) {
        plt_event_set_str(ev, "other_leg_id", other->id);
        sim_ev_publish(ev);
    }
}

/* ------------------------------------------------------------------ */
/* Registry */

static size_t
bucket_of(const sim *s, uint64_t seq)
{
    return (size_t)(seq & (s->nbuckets - 1));
}

/* Double the table when it is twice as full as it is wide; a failed
 * resize only makes chains longer. */
static void
registry_grow(sim *s)
{
    if (s->nlegs < 2 * s->nbuckets)
        return;
    size_t n = s->nbuckets * 2;
    plt_leg **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        plt_leg *l = s->buckets[i];
        while (l) {
            plt_leg *next = l->hnext;
            size_t b = (size_t)(l->seq & (n - 1));
            l->hnext = nb[b];
            nb[b] = l;
            l = next;
        }
    }
    free(s->buckets);
    s->buckets = nb;
    s->nbuckets = n;
}

plt_leg *
sim_leg_lookup(sim *s, const char *id)
{
    if (!id || id[0] != 'L' || id[1] < '1' || id[1] > '9')
        return NULL;
    char *end;
    unsigned long long seq = strtoull(id + 1, &end, 10);
    if (*end != '\0')
        return NULL;
    for (plt_leg *l = s->buckets[bucket_of(s, seq)]; l; l = l->hnext)
        if (l->seq == seq)
            return l;
    return NULL;
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

static void
live_remove(sim *s, plt_leg *l)
{
    if (l->live_prev)
        l->live_prev->live_next = l->live_next;
    else
        s->live_head = l->live_next;
    if (l->live_next)
        l->live_next->live_prev = l->live_prev;
    l->live_prev = l->live_next = NULL;
    s->nlive--;
}

static void
call_detach(plt_leg *l)
{
    plt_call *c = l->call;
    for (plt_leg **pp = &c->legs; *pp; pp = &(*pp)->call_next)
        if (*pp == l) {
            *pp = l->call_next;
            break;
        }
    if (--c->nlegs == 0)
        free(c);
}

static void
leg_free(plt_leg *l)
{
    sim *s = l->s;
    for (plt_leg **pp = &s->buckets[bucket_of(s, l->seq)]; *pp;
         pp = &(*pp)->hnext)
        if (*pp == l) {
            *pp = l->hnext;
            break;
        }
    s->nlegs--;
    call_detach(l);
    for (size_t i = 0; i < l->nvars; i++) {
        free(l->var_keys[i]);
        free(l->var_vals[i]);
    }
    free(l->var_keys);
    free(l->var_vals);
    free(l->remote);
    free(l->from);
    free(l->did);
    l->magic = 0;
    free(l);
}

int
sim_leg_new(sim *s, sim_kind kind, plt_call *join, plt_leg **out)
{
    plt_leg *l = calloc(1, sizeof(*l));
    if (!l)
        return PLT_ENOMEM;
    plt_call *c = join;
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c) {
            free(l);
            return PLT_ENOMEM;
        }
        c->s = s;
        c->seq = ++s->next_call;
        snprintf(c->id, sizeof(c->id), "C%llu", (unsigned long long)c->seq);
    }
    l->magic = SIM_LEG_MAGIC;
    l->s = s;
    l->seq = ++s->next_leg;
    snprintf(l->id, sizeof(l->id), "L%llu", (unsigned long long)l->seq);
    l->kind = kind;
    l->inbound = kind == SIM_K_INBOUND;
    l->state = l->inbound ? PLT_LEG_RINGING : PLT_LEG_DIALING;
    l->live = true;
    l->created_at = plt_now();

    /* Append to the call, keeping creation order. */
    l->call = c;
    plt_leg **pp = &c->legs;
    while (*pp)
        pp = &(*pp)->call_next;
    *pp = l;
    c->nlegs++;
    c->nlive++;

    size_t b = bucket_of(s, l->seq);
    l->hnext = s->buckets[b];
    s->buckets[b] = l;
    s->nlegs++;
    registry_grow(s);

    l->live_next = s->live_head;
    if (s->live_head)
        s->live_head->live_prev = l;
    s->live_head = l;
    s->nlive++;
    *out = l;
    return 0;
}

int
sim_leg_set_vars(plt_leg *l, const plt_kv *vars, size_t n)
{
    if (n == 0)
        return 0;
    l->var_keys = calloc(n, sizeof(char *));
    l->var_vals = calloc(n, sizeof(char *));
    if (!l->var_keys || !l->var_vals)
        return PLT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(vars[i].key);
        l->var_keys[i] = malloc(kl + 5);
        l->var_vals[i] = strdup(vars[i].value ? vars[i].value : "");
        l->nvars = i + 1;
        if (!l->var_keys[i] || !l->var_vals[i])
            return PLT_ENOMEM;
        memcpy(l->var_keys[i], "var_", 4);
        memcpy(l->var_keys[i] + 4, vars[i].key, kl + 1);
    }
    return 0;
}

plt_leg *
sim_leg_ref(plt_leg *l)
{
    l->refs++;
    return l;
}

void
sim_leg_unref(plt_leg *l)
{
    if (--l->refs == 0 && !l->live)
        leg_free(l);
}

/* ------------------------------------------------------------------ */
/* Bridges */

static void
break_bridge(plt_leg *l)
{
    plt_leg *p = l->bridged;
    if (!p)
        return;
    l->bridged = p->bridged = NULL;
    publish_pair(l, p, "call.unbridged");
    publish_pair(p, l, "call.unbridged");
}

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

static void
unhold_quiet(plt_leg *l)
{
    if (!l->held)
        return;
    l->held = false;
    if (l->held_with) {
        sim_leg_unref(l->held_with);
        l->held_with = NULL;
    }
    sim_publish_simple(l, "call.resumed");
}

static void
link_bridge(plt_leg *a, plt_leg *b)
{
    a->bridged = b;
    b->bridged = a;
    /* Bridging claims an inbound leg (it cannot be rejected any more). */
    sim_tslot_cancel(&a->t_claim);
    sim_tslot_cancel(&b->t_claim);
    publish_pair(a, b, "call.bridged");
    publish_pair(b, a, "call.bridged");
    sim_leg_ref(a);
    sim_leg_ref(b);
    start_talk(a);
    start_talk(b);
    sim_leg_unref(b);
    sim_leg_unref(a);
}

int
sim_cmd_bridge(plt_leg *a, plt_leg *b)
{
    if (a == b)
        return PLT_EINVAL;
    if (a->state != PLT_LEG_UP || b->state != PLT_LEG_UP)
        return PLT_ESTATE;
    if (a->bridged == b)
        return 0;
    unhold_quiet(a);
    unhold_quiet(b);
    break_bridge(a);
    break_bridge(b);
    link_bridge(a, b);
    return 0;
}

int
sim_cmd_unbridge(plt_leg *l)
{
    if (l->state == PLT_LEG_ENDED || !l->bridged)
        return PLT_ESTATE;
    break_bridge(l);
    return 0;
}

int
sim_cmd_hold(plt_leg *l, const char *music)
{
    if (l->state != PLT_LEG_UP || l->held)
        return PLT_ESTATE;
    plt_leg *p = l->bridged;
    l->held_with = p ? sim_leg_ref(p) : NULL;
    break_bridge(l);
    l->held = true;
    plt_event *ev = sim_ev_new(l, "call.held");
    if (ev && music)
        plt_event_set_str(ev, "music", music);
    sim_ev_publish(ev);
    return 0;
}

int
sim_cmd_resume(plt_leg *l)
{
    if (l->state != PLT_LEG_UP || !l->held)
        return PLT_ESTATE;
    plt_leg *p = l->held_with;
    l->held_with = NULL;
    l->held = false;
    sim_publish_simple(l, "call.resumed");
    /* Back into the bridge it had, if the partner is still free for it;
     * otherwise the leg stays up, unbridged, for the controller. */
    if (p && p->state == PLT_LEG_UP && !p->bridged && !p->held)
        link_bridge(l, p);
    if (p)
        sim_leg_unref(p);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Answer and end */

void
sim_leg_answered(plt_leg *l)
{
    sim_tslot_cancel(&l->t_progress);
    sim_tslot_cancel(&l->t_ring_timeout);
    sim_tslot_cancel(&l->t_claim);
    l->state = PLT_LEG_UP;
    l->answered_at = plt_now();
    plt_event *ev = sim_ev_new(l, "call.answered");
    if (ev) {
        plt_event_set_i64(ev, "ring_ms", l->answered_at - l->created_at);
        /* The simulation's truth, for measuring (plateau simulate): who
         * really answered, whatever AMD will say. */
        plt_event_set_str(ev, "sim_party",
                          l->kind == SIM_K_AGENT        ? "agent"
                          : l->fate == SIM_F_MACHINE    ? "machine"
                                                        : "human");
        sim_ev_publish(ev);
    }
    if (l->xfer_from)
        sim_transfer_answered(l);
}

int
sim_cmd_answer(plt_leg *l)
{
    if (!l->inbound || l->state != PLT_LEG_RINGING)
        return PLT_ESTATE;
    sim_leg_answered(l);
    return 0;
}

static int32_t
outcome_of_code(int code)
{
    switch (code) {
    case 486:
    case 600:
        return PLT_OUTCOME_BUSY;
    case 408:
    case 480:
        return PLT_OUTCOME_NO_ANSWER;
    case 603:
    case 403:
        return PLT_OUTCOME_REJECTED;
    case 404:
    case 484:
    case 410:
    case 604:
        return PLT_OUTCOME_INVALID_NUMBER;
    case 500:
    case 502:
    case 503:
        return PLT_OUTCOME_CONGESTION;
    case 487:
        return PLT_OUTCOME_CANCELLED;
    default:
        return PLT_OUTCOME_FAILED;
    }
}

int
sim_cmd_hangup(plt_leg *l, int sip_code, int32_t by)
{
    if (by < PLT_BY_CUSTOMER || by > PLT_BY_SYSTEM)
        return PLT_EINVAL;
    if (l->state == PLT_LEG_ENDED)
        return PLT_ESTATE;
    if (l->state == PLT_LEG_UP) {
        sim_leg_end(l, PLT_OUTCOME_ANSWERED, 200, "hangup", by);
    } else if (l->inbound) {
        /* Rejecting an offered call: 603 Decline unless told otherwise. */
        if (sip_code == 0)
            sip_code = 603;
        if (sip_code < 300 || sip_code > 699)
            return PLT_EINVAL;
        sim_leg_end(l, outcome_of_code(sip_code), sip_code, "rejected", by);
    } else {
        sim_leg_end(l, PLT_OUTCOME_CANCELLED, 487, "cancelled", by);
    }
    return 0;
}

static const char *
by_name(int32_t by)
{
    return by == PLT_BY_CUSTOMER ? "customer"
           : by == PLT_BY_AGENT  ? "agent"
                                 : "system";
}

void
sim_leg_end(plt_leg *l, int32_t outcome, int sip_code, const char *reason,
            int32_t by)
{
    if (l->state == PLT_LEG_ENDED)
        return;
    sim *s = l->s;
    sim_leg_ref(l); /* ours, for the length of this function */
    cancel_timers(l);
    sim_play_stop_all(l);
    break_bridge(l);
    if (l->held_with) {
        sim_leg_unref(l->held_with);
        l->held_with = NULL;
    }
    l->held = false;
    if (l->xfer_from) {
        sim_leg_unref(l->xfer_from);
        l->xfer_from = NULL;
    }
    if (l->trunk) {
        sim_trunk_release(l->trunk);
        l->trunk = NULL;
    }
    l->state = PLT_LEG_ENDED;
    l->ended_at = plt_now();

    plt_event *ev = sim_ev_new(l, "call.ended");
    if (ev) {
        int64_t ring_end = l->answered_at ? l->answered_at : l->ended_at;
        plt_event_set_str(ev, "outcome", plt_outcome_name(outcome));
        plt_event_set_i64(ev, "sip_code", sip_code);
        plt_event_set_str(ev, "reason", reason);
        plt_event_set_str(ev, "hangup_by", by_name(by));
        plt_event_set_i64(ev, "ring_ms", ring_end - l->created_at);
        plt_event_set_i64(ev, "talk_ms",
                          l->answered_at ? l->ended_at - l->answered_at : 0);
        plt_event_set_i64(ev, "duration_ms", l->ended_at - l->created_at);
        sim_ev_publish(ev);
    }

    live_remove(s, l);
    if (--l->call->nlive == 0)
        sim_rec_call_ended(s, l->call, l);
    l->live = false;
    sim_leg_unref(l);
}

void
sim_leg_end_all(sim *s, const char *reason)
{
    while (s->live_head) {
        plt_leg *l = s->live_head;
        int32_t outcome = l->state == PLT_LEG_UP ? PLT_OUTCOME_ANSWERED
                          : l->inbound           ? PLT_OUTCOME_NO_ANSWER
                                                 : PLT_OUTCOME_CANCELLED;
        int code = l->state == PLT_LEG_UP ? 200 : l->inbound ? 480 : 487;
        sim_leg_end(l, outcome, code, reason, PLT_BY_SYSTEM);
    }
}

/* At fini: whatever consumers still hold goes too (they cannot call us
 * any more). Every leg has ended by now (stop ended them); in case stop
 * never ran, timers are cancelled without events. */
void
sim_legs_free_all(sim *s)
{
    if (!s->buckets)
        return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        while (s->buckets[i]) {
            plt_leg *l = s->buckets[i];
            cancel_timers(l);
            for (sim_play *p = l->plays, *n; p; p = n) {
                n = p->next;
                if (p->t)
                    plt_timer_stop(p->t);
                free(p->file);
                free(p);
            }
            l->plays = NULL;
            l->held_with = NULL;
            l->xfer_from = NULL;
            leg_free(l);
        }
    }
    s->live_head = NULL;
    s->nlive = 0;
}

/* ------------------------------------------------------------------ */
/* Originate */

static bool
valid_var_key(const char *k)
{
    if (!k || !(*k >= 'a' && *k <= 'z'))
        return false;
    for (k++; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
              *k == '_'))
            return false;
    return true;
}

/* E.164 ("+33612345678"), national digits, or a SIP URI. */
static bool
valid_number(const char *d)
{
    if (strncmp(d, "sip:", 4) == 0 || strncmp(d, "sips:", 5) == 0)
        return strchr(d, ':')[1] != '\0';
    const char *p = d + (*d == '+');
    size_t n = 0;
    for (; *p; p++, n++)
        if (*p < '0' || *p > '9')
            return false;
    return n >= 2 && n <= 20;
}

int
sim_originate(sim *s, const plt_originate *o, plt_leg **out)
{
    if (!o || !out || o->size < sizeof(plt_originate))
        return PLT_EINVAL;
    if (s->stopping || !s->started)
        return PLT_ESHUTDOWN;
    if (!o->destination || !*o->destination)
        return PLT_EINVAL;
    bool agent = strncmp(o->destination, "agent:", 6) == 0;
    if (agent ? !sim_agent_dest_valid(o->destination)
              : !valid_number(o->destination))
        return PLT_EINVAL;
    int32_t role = o->role ? o->role : agent ? PLT_LEG_AGENT : PLT_LEG_CUSTOMER;
    if (role != PLT_LEG_CUSTOMER && role != PLT_LEG_AGENT)
        return PLT_EINVAL;
    if (o->nvars && !o->vars)
        return PLT_EINVAL;
    for (size_t i = 0; i < o->nvars; i++)
        if (!valid_var_key(o->vars[i].key))
            return PLT_EINVAL;
    if (o->call && (o->call->s != s || o->call->nlive == 0))
        return PLT_ESTATE;

    /* Agent phones are registered endpoints: no trunk, no channel. */
    sim_trunk *t = NULL;
    if (!agent) {
        t = o->trunk ? sim_trunk_find(s, o->trunk) : &s->trunks[0];
        if (!t)
            return PLT_ENOENT;
        int rc = sim_trunk_admit(s, t, true);
        if (rc != 0)
            return rc;
    }

    plt_leg *l;
    int rc = sim_leg_new(s, agent ? SIM_K_AGENT : SIM_K_TRUNK, o->call, &l);
    if (rc != 0)
        return rc;
    l->role = role;
    l->flags = o->flags;
    l->ring_timeout_ms = o->ring_timeout_ms ? o->ring_timeout_ms
                                            : (uint32_t)s->conf.ring_timeout_ms;
    l->remote = strdup(o->destination);
    const char *from = (o->flags & PLT_ORIG_HIDE_CALLER_ID) ? "anonymous"
                       : o->caller_id                       ? o->caller_id
                                                            : "";
    l->from = strdup(from);
    if (!l->remote || !l->from)
        rc = PLT_ENOMEM;
    if (rc == 0)
        rc = sim_leg_set_vars(l, o->vars, o->nvars);
    if (rc == 0 && t) {
        sim_trunk_take(s, t, true);
        l->trunk = t;
    }
    /* Schedule the party before telling anyone: if a timer cannot start,
     * the leg disappears without a single event and the caller gets the
     * error (no event after a failed command). */
    if (rc == 0)
        rc = agent ? sim_agent_dial(l) : sim_trunk_dial(l);
    if (rc != 0) {
        cancel_timers(l);
        if (l->trunk) {
            sim_trunk_release(l->trunk);
            l->trunk = NULL;
        }
        l->state = PLT_LEG_ENDED;
        live_remove(s, l);
        l->call->nlive--;
        l->live = false;
        leg_free(l);
        return rc;
    }
    plt_event *ev = sim_ev_new(l, "call.created");
    if (ev) {
        plt_event_set_str(ev, "destination", l->remote);
        plt_event_set_str(ev, "from", l->from);
        if (t)
            plt_event_set_str(ev, "trunk", t->name);
        sim_ev_publish(ev);
    }
    if (t)
        sim_trunk_log(s, l, o->vars, o->nvars);
    *out = sim_leg_ref(l);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Transfers */

/* The partner of a leg for a transfer: the leg it is bridged to, or the
 * one it was bridged to when it was put on hold. */
static plt_leg *
partner_of(plt_leg *l)
{
    return l->bridged ? l->bridged : l->held ? l->held_with : NULL;
}

int
sim_cmd_transfer_blind(plt_leg *l, const char *destination)
{
    if (!destination)
        return PLT_EINVAL;
    if (l->state != PLT_LEG_UP || !partner_of(l))
        return PLT_ESTATE;
    /* The new leg carries the transferor's variables (without "var_"). */
    plt_kv *kv = NULL;
    if (l->nvars) {
        kv = calloc(l->nvars, sizeof(*kv));
        if (!kv)
            return PLT_ENOMEM;
        for (size_t i = 0; i < l->nvars; i++) {
            kv[i].key = l->var_keys[i] + 4;
            kv[i].value = l->var_vals[i];
        }
    }
    plt_originate o = {.size = sizeof(o),
                       .destination = destination,
                       .trunk = l->trunk ? l->trunk->name : NULL,
                       .call = l->call,
                       .vars = kv,
                       .nvars = l->nvars};
    plt_leg *n;
    int rc = sim_originate(l->s, &o, &n);
    free(kv);
    if (rc != 0)
        return rc;
    n->xfer_from = sim_leg_ref(l);
    sim_leg_unref(n); /* the registry keeps it while it lives */
    return 0;
}

void
sim_transfer_answered(plt_leg *n)
{
    plt_leg *l = n->xfer_from;
    n->xfer_from = NULL;
    if (l->state == PLT_LEG_UP) {
        plt_leg *p = partner_of(l);
        /* The transferring leg is unbridged, not ended: an agent's kept-up
         * leg survives a transfer (the controller hangs it up if it wants). */
        if (p && p->state == PLT_LEG_UP)
            sim_cmd_bridge(p, n);
        else
            sim_cmd_unbridge(l);
    }
    sim_leg_unref(l);
}

int
sim_cmd_transfer_attended(plt_leg *a, plt_leg *c)
{
    if (a == c)
        return PLT_EINVAL;
    if (a->state != PLT_LEG_UP || c->state != PLT_LEG_UP)
        return PLT_ESTATE;
    plt_leg *pa = partner_of(a), *pc = partner_of(c);
    if (pa)
        sim_leg_ref(pa);
    if (pc)
        sim_leg_ref(pc);
    int rc = sim_cmd_bridge(a, c);
    if (rc == 0) {
        /* The consulting legs between the two parties are done. */
        if (pa && pa != c)
            sim_leg_end(pa, PLT_OUTCOME_ANSWERED, 200, "transferred",
                        PLT_BY_SYSTEM);
        if (pc && pc != a)
            sim_leg_end(pc, PLT_OUTCOME_ANSWERED, 200, "transferred",
                        PLT_BY_SYSTEM);
    }
    if (pa)
        sim_leg_unref(pa);
    if (pc)
        sim_leg_unref(pc);
    return rc;
}
