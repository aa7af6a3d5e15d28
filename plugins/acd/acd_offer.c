/* SPDX-License-Identifier: MIT */
/*
 * The offer of one caller to agents. agents.offer() reserves an agent.
 * An agent on a kept-up leg has nothing to ring: the offer is accepted at
 * once (auto-answer), or after `offer_ring` when the configuration
 * simulates ringing (per agent or for all). An agent whose extension is
 * rung per offer (agents.offer originates it, with var_offer_id) takes
 * the call when that leg answers; the leg ending first (busy, rejected)
 * is a miss, and the offer moves on at once; an agent hanging that leg up
 * during the call ends the customer's side too. ring_all rings
 * every eligible agent at once: the first to answer takes the call and
 * the others' offers are withdrawn (offer_failed, not missed), so each of
 * them is free again at once. Accepting means offer_answered(), stopping
 * the hold music and bridging the customer leg to the agent's phone leg;
 * queue.answered follows. An offer not accepted within the queue's
 * offer_timeout is missed by every agent rung: offer_failed(missed), and
 * the caller goes back to the queue, to be offered to other agents first.
 * The ACD's own timer decides the timeout; the agents service is given a
 * slightly longer one, as a safety net that never races it. A caller
 * whose leg has ended (its call.ended not delivered yet) is never bridged:
 * the offer is withdrawn and the event then counts the abandon. When the
 * bridged customer's leg ends, the agent goes to wrap-up and the figures
 * used by fewest_calls and least_talk_time are updated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acd_int.h"

/* How much longer the agents service waits than the ACD's own timer. */
#define ACD_OFFER_GRACE_MS 1000

void
acd_caller_answered_leg(acd_caller *c)
{
    acd *s = c->s;
    if (!c->q->hold_music || c->play_id[0])
        return;
    int rc = s->tel.vt->play(s->tel.impl, c->leg, c->q->hold_music,
                             PLT_PLAY_LOOP, c->play_id);
    if (rc != 0) {
        c->play_id[0] = '\0';
        plt_log_err(PLT_LOG_WARN, rc, "queue %s: hold music on %s",
                    c->q->name, c->leg_id);
    }
}

bool
acd_leg_live(acd *s, plt_leg *leg)
{
    plt_leg_info info = {.size = sizeof(info)};
    return s->tel.vt->leg_info(s->tel.impl, leg, &info) == 0 &&
           info.state != PLT_LEG_ENDED;
}

static void
remember_tried(acd_caller *c, const char *login)
{
    for (size_t i = 0; i < c->ntried; i++)
        if (strcmp(c->tried[i], login) == 0)
            return;
    char **v = realloc(c->tried, (c->ntried + 1) * sizeof(*v));
    if (!v)
        return; /* only a preference is lost */
    c->tried = v;
    if ((v[c->ntried] = strdup(login)))
        c->ntried++;
}

/* Withdraw one offer: the agents service frees the agent. */
static void
offer_end(acd_caller *c, acd_offer *o, bool missed)
{
    acd *s = c->s;
    if (o->over)
        return; /* already ended when its leg did */
    if (o->ring_timer) {
        plt_timer_stop(o->ring_timer);
        o->ring_timer = NULL;
    }
    int rc =
        s->ag.vt->offer_failed(s->ag.impl, o->agent->login, o->id, missed);
    if (rc != 0)
        plt_log_err(PLT_LOG_DEBUG, rc, "offer %s to %s already over", o->id,
                    o->agent->login);
    if (missed)
        remember_tried(c, o->agent->login);
    /* The agent is free again: a pass in progress must look again. */
    if (s->dispatching)
        s->again = true;
}

static void
offers_free(acd_caller *c)
{
    free(c->offers);
    c->offers = NULL;
    c->noffers = 0;
}

/* Back to waiting, after something that may have freed agents or changed
 * what the caller can take: a dispatch in progress must look again. */
static void
back_to_waiting(acd_caller *c)
{
    c->agent = NULL;
    c->state = ACD_WAITING;
    if (c->s->dispatching)
        c->s->again = true;
}

void
acd_offer_abort(acd_caller *c, bool missed)
{
    if (c->offer_timer) {
        plt_timer_stop(c->offer_timer);
        c->offer_timer = NULL;
    }
    for (size_t i = 0; i < c->noffers; i++)
        offer_end(c, &c->offers[i], missed);
    offers_free(c);
    back_to_waiting(c);
}

/* @p o's agent answered: the others' offers are withdrawn, the customer is
 * bridged to that agent's phone. */
static void
accept(acd_caller *c, acd_offer *o)
{
    acd *s = c->s;
    acd_agent *a = o->agent;
    char id[sizeof(o->id)];
    snprintf(id, sizeof(id), "%s", o->id);
    if (c->offer_timer) {
        plt_timer_stop(c->offer_timer);
        c->offer_timer = NULL;
    }
    for (size_t i = 0; i < c->noffers; i++)
        if (&c->offers[i] != o)
            offer_end(c, &c->offers[i], false);
    if (o->ring_timer) {
        plt_timer_stop(o->ring_timer);
        o->ring_timer = NULL;
    }
    char agent_leg[sizeof(o->leg_id)];
    snprintf(agent_leg, sizeof(agent_leg), "%s", o->leg_id);
    bool per_call = o->per_call;
    offers_free(c); /* o is gone from here on: a, id and the leg are kept */
    if (!acd_leg_live(s, c->leg)) {
        /* The customer hung up in this very instant; call.ended, still on
         * its way, counts the abandon. The agent never takes a dead call. */
        (void)s->ag.vt->offer_failed(s->ag.impl, a->login, id, false);
        c->gone = true;
        back_to_waiting(c);
        return;
    }
    plt_leg *phone = s->ag.vt->phone_leg(s->ag.impl, a->login);
    if (!phone && per_call && agent_leg[0] &&
        s->tel.vt->leg_find(s->tel.impl, agent_leg, &phone) != 0)
        phone = NULL;
    if (!phone) {
        plt_log(PLT_LOG_WARN, "agent %s has no phone leg: offer %s withdrawn",
                a->login, id);
        (void)s->ag.vt->offer_failed(s->ag.impl, a->login, id, false);
        remember_tried(c, a->login);
        back_to_waiting(c);
        return;
    }
    int rc = s->ag.vt->offer_answered(s->ag.impl, a->login, id, c->leg_id);
    if (rc != 0) {
        s->tel.vt->leg_unref(s->tel.impl, phone);
        plt_log_err(PLT_LOG_WARN, rc, "offer %s to %s", id, a->login);
        back_to_waiting(c); /* the agents service already ended it */
        return;
    }
    /* Music or announcement: the caller hears the agent now. */
    acd_caller_silence(c);
    rc = s->tel.vt->bridge(s->tel.impl, c->leg, phone);
    s->tel.vt->leg_unref(s->tel.impl, phone);
    if (rc != 0) {
        /* The agent took it but the audio cannot flow: free the agent and
         * keep the caller in the queue. */
        plt_log_err(PLT_LOG_WARN, rc, "bridge %s to %s", c->leg_id, a->login);
        (void)s->ag.vt->call_ended(s->ag.impl, a->login, 0);
        remember_tried(c, a->login);
        back_to_waiting(c);
        acd_caller_answered_leg(c);
        return;
    }
    int64_t now = plt_now();
    int64_t wait = now - c->joined_at;
    c->agent = a;
    c->state = ACD_BRIDGED;
    snprintf(c->call_offer, sizeof(c->call_offer), "%s", per_call ? id : "");
    c->answered_at = now;
    if (c->relax_timer) {
        plt_timer_stop(c->relax_timer);
        c->relax_timer = NULL;
    }
    if (c->wait_timer) {
        plt_timer_stop(c->wait_timer);
        c->wait_timer = NULL;
    }
    c->q->day.answered++;
    if (wait <= c->q->sl_ms)
        c->q->day.answered_within_sl++;
    plt_event *ev = acd_event(c, "queue.answered");
    if (ev) {
        plt_event_set_str(ev, "agent", a->login);
        plt_event_set_i64(ev, "wait_ms", wait);
        plt_event_publish(ev);
    }
}

static void
on_ring_done(void *arg)
{
    acd_offer *o = arg;
    acd_caller *c = o->c;
    o->ring_timer = NULL; /* one-shot: released by the core */
    accept(c, o);
    if (c->state == ACD_WAITING)
        acd_dispatch_caller(c->s, c);
}

static void
on_offer_timeout(void *arg)
{
    acd_caller *c = arg;
    c->offer_timer = NULL;
    plt_log(PLT_LOG_INFO, "queue %s: %s missed by %zu agent(s)", c->q->name,
            c->id, c->noffers);
    acd_offer_abort(c, true);
    acd_dispatch_caller(c->s, c);
}

static int64_t
ring_of(const acd *s, const acd_agent *a)
{
    return a->offer_ring_ms >= 0 ? a->offer_ring_ms : s->offer_ring_ms;
}

static void
on_keep_up(void *arg, int status, const plt_agent_info *i)
{
    bool *keep = arg;
    *keep = status != 0 || !i || i->keep_up;
}

/* Does the agent's phone ring per offer (no kept-up leg)? */
static bool
rung_per_call(acd *s, const acd_agent *a)
{
    bool keep = true;
    if (s->ag.vt->get(s->ag.impl, a->login, on_keep_up, &keep) != 0)
        return false;
    return !keep;
}

int
acd_offer_start(acd_caller *c, const acd_choice *ch)
{
    acd *s = c->s;
    acd_agent *const one[1] = {ch->agent};
    acd_agent *const *v = ch->nring ? ch->ring : one;
    size_t n = ch->nring ? ch->nring : 1;
    int64_t timeout = c->q->offer_timeout_ms;
    acd_offer *offers = calloc(n, sizeof(*offers));
    if (!offers)
        return PLT_ENOMEM;
    size_t k = 0;
    int rc = PLT_ESTATE;
    for (size_t i = 0; i < n; i++) {
        acd_offer *o = &offers[k];
        o->c = c;
        o->agent = v[i];
        if (ch->nring)
            snprintf(o->id, sizeof(o->id), "%s.%d.%zu", c->id, c->attempt + 1,
                     i + 1);
        else
            snprintf(o->id, sizeof(o->id), "%s.%d", c->id, c->attempt + 1);
        rc = s->ag.vt->offer(s->ag.impl, v[i]->login, o->id,
                             (uint32_t)(timeout + ACD_OFFER_GRACE_MS));
        if (rc == 0) {
            o->per_call = rung_per_call(s, v[i]);
            k++;
        }
    }
    if (k == 0) {
        free(offers);
        return rc;
    }
    c->offers = offers;
    c->noffers = k;
    c->attempt++;
    c->state = ACD_OFFERING;
    for (size_t i = 0; i < k; i++) {
        plt_event *ev = acd_event(c, "queue.offered");
        if (ev) {
            plt_event_set_str(ev, "agent", offers[i].agent->login);
            plt_event_set_i64(ev, "attempt", c->attempt);
            plt_event_set_i64(ev, "rung", (int64_t)k);
            plt_event_publish(ev);
        }
    }
    /* Who answers first among kept-up phones: the shortest ringing, the
     * first listed on a tie (longest idle for ring_all). Phones rung per
     * call answer when their leg does. */
    size_t first = k;
    for (size_t i = 0; i < k; i++)
        if (!offers[i].per_call &&
            (first == k ||
             ring_of(s, offers[i].agent) < ring_of(s, offers[first].agent)))
            first = i;
    if (first < k && ring_of(s, offers[first].agent) <= 0 && timeout > 0) {
        accept(c, &offers[first]);
        return 0;
    }
    rc = 0;
    if (timeout > 0 && (rc = plt_timer_start(&c->offer_timer,
                                             (uint64_t)timeout, 0,
                                             on_offer_timeout, c)) != 0)
        c->offer_timer = NULL;
    for (size_t i = 0; rc == 0 && i < k; i++) {
        int64_t r = ring_of(s, offers[i].agent);
        if (offers[i].per_call)
            continue;
        if (timeout > 0 && r >= timeout)
            continue; /* rings out: the offer timeout ends it */
        rc = plt_timer_start(&offers[i].ring_timer, (uint64_t)(r > 0 ? r : 0),
                             0, on_ring_done, &offers[i]);
        if (rc != 0)
            offers[i].ring_timer = NULL;
    }
    if (rc != 0) {
        /* Without timers nothing would end the offers: withdraw them. */
        acd_offer_abort(c, false);
        return rc;
    }
    return 0;
}

void
acd_caller_ended(acd_caller *c)
{
    acd *s = c->s;
    int64_t talk = plt_now() - c->answered_at;
    acd_agent *a = c->agent;
    if (a) {
        int rc = s->ag.vt->call_ended(s->ag.impl, a->login,
                                      (uint32_t)c->q->wrap_up_ms);
        if (rc != 0)
            plt_log_err(PLT_LOG_DEBUG, rc, "call_ended for %s", a->login);
        a->calls++;
        a->talk_ms += talk;
    }
    c->q->day.completed++;
    c->q->day.talk_total_ms += talk;
    acd_caller_remove(c);
}

static void
on_rest_done(void *arg)
{
    acd_agent *a = arg;
    a->rest_timer = NULL; /* one-shot: released by the core */
    a->settled = 0;
    acd_dispatch(a->s);
}

/* A phone that declined (busy, rejected) rests a moment: else, with
 * nobody else for the caller, it would be rung again at once, and again. */
static void
rest(acd *s, acd_agent *a)
{
    if (a->rest_timer)
        plt_timer_stop(a->rest_timer);
    a->s = s;
    if (plt_timer_start(&a->rest_timer, ACD_DECLINE_REST_MS, 0, on_rest_done,
                        a) != 0)
        a->rest_timer = NULL;
}

/* The live offer @p offer_id, and its caller. */
static acd_offer *
offer_by_id(acd *s, const char *offer_id, acd_caller **out)
{
    for (acd_caller *c = s->callers; c; c = c->next) {
        if (c->state != ACD_OFFERING)
            continue;
        for (size_t i = 0; i < c->noffers; i++) {
            if (!c->offers[i].over && strcmp(c->offers[i].id, offer_id) == 0) {
                *out = c;
                return &c->offers[i];
            }
        }
    }
    return NULL;
}

bool
acd_offer_leg_event(acd *s, const plt_event *ev)
{
    const char *offer_id = plt_event_str(ev, "var_offer_id");
    const char *topic = plt_event_topic(ev);
    if (!offer_id)
        return false;
    bool answered = strcmp(topic, "call.answered") == 0;
    if (!answered && strcmp(topic, "call.ended") != 0)
        return false;
    acd_caller *c = NULL;
    acd_offer *o = offer_by_id(s, offer_id, &c);
    if (o && answered) {
        const char *leg = plt_event_str(ev, "leg_id");
        snprintf(o->leg_id, sizeof(o->leg_id), "%s", leg ? leg : "");
        accept(c, o);
        if (c->state == ACD_WAITING)
            acd_dispatch_caller(s, c);
        return true;
    }
    if (o) {
        /* Busy, rejected or unreachable: this agent missed it. The others
         * rung at once (ring_all) still ring. */
        plt_log(PLT_LOG_INFO, "queue %s: %s's phone ended offer %s (%s)",
                c->q->name, o->agent->login, o->id,
                plt_event_str(ev, "outcome") ? plt_event_str(ev, "outcome")
                                             : "?");
        rest(s, o->agent);
        offer_end(c, o, true);
        o->over = true;
        size_t live = 0;
        for (size_t i = 0; i < c->noffers; i++)
            live += !c->offers[i].over;
        if (!live) {
            acd_offer_abort(c, true);
            acd_dispatch_caller(s, c);
        }
        return true;
    }
    if (answered)
        return false;
    /* The agent hung up a per-call leg during the call: the customer's
     * side ends too, and its call.ended finishes the call as usual. */
    for (c = s->callers; c; c = c->next) {
        if (c->state == ACD_BRIDGED && strcmp(c->call_offer, offer_id) == 0) {
            if (acd_leg_live(s, c->leg))
                (void)s->tel.vt->hangup(s->tel.impl, c->leg, 0, PLT_BY_AGENT);
            return true;
        }
    }
    return false;
}
