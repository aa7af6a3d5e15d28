/* SPDX-License-Identifier: MIT */
/*
 * The offer of one caller to one agent. agents.offer() reserves the agent;
 * agents' phones are kept-up legs, so there is nothing to ring: the offer
 * is accepted at once (auto-answer), or after `offer_ring` when the
 * configuration simulates ringing (per agent or for all). Accepting means
 * offer_answered(), stopping the hold music and bridging the customer leg
 * to the agent's phone leg; queue.answered follows. An offer not accepted
 * within the queue's offer_timeout is missed: offer_failed(missed), and
 * the caller goes back to the queue, to be offered to another agent first.
 * The ACD's own timer decides the timeout; the agents service is given a
 * slightly longer one, as a safety net that never races it. When the
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

void
acd_offer_abort(acd_caller *c, bool missed)
{
    acd *s = c->s;
    if (c->offer_timer) {
        plt_timer_stop(c->offer_timer);
        c->offer_timer = NULL;
    }
    if (c->agent) {
        int rc = s->ag.vt->offer_failed(s->ag.impl, c->agent->login,
                                        c->offer_id, missed);
        if (rc != 0)
            plt_log_err(PLT_LOG_DEBUG, rc, "offer %s to %s already over",
                        c->offer_id, c->agent->login);
        if (missed)
            remember_tried(c, c->agent->login);
    }
    c->agent = NULL;
    c->state = ACD_WAITING;
}

static void
accept(acd_caller *c)
{
    acd *s = c->s;
    acd_agent *a = c->agent;
    plt_leg *phone = s->ag.vt->phone_leg(s->ag.impl, a->login);
    if (!phone) {
        plt_log(PLT_LOG_WARN, "agent %s has no phone leg: offer %s withdrawn",
                a->login, c->offer_id);
        acd_offer_abort(c, false);
        remember_tried(c, a->login);
        return;
    }
    int rc = s->ag.vt->offer_answered(s->ag.impl, a->login, c->offer_id,
                                      c->leg_id);
    if (rc != 0) {
        s->tel.vt->leg_unref(s->tel.impl, phone);
        plt_log_err(PLT_LOG_WARN, rc, "offer %s to %s", c->offer_id,
                    a->login);
        c->agent = NULL; /* the agents service already ended it */
        c->state = ACD_WAITING;
        return;
    }
    if (c->play_id[0]) {
        (void)s->tel.vt->stop_play(s->tel.impl, c->leg, c->play_id);
        c->play_id[0] = '\0';
    }
    rc = s->tel.vt->bridge(s->tel.impl, c->leg, phone);
    s->tel.vt->leg_unref(s->tel.impl, phone);
    if (rc != 0) {
        /* The agent took it but the audio cannot flow: free the agent and
         * keep the caller in the queue. */
        plt_log_err(PLT_LOG_WARN, rc, "bridge %s to %s", c->leg_id, a->login);
        (void)s->ag.vt->call_ended(s->ag.impl, a->login, 0);
        remember_tried(c, a->login);
        c->agent = NULL;
        c->state = ACD_WAITING;
        acd_caller_answered_leg(c);
        return;
    }
    int64_t now = plt_now();
    int64_t wait = now - c->joined_at;
    c->state = ACD_BRIDGED;
    c->answered_at = now;
    if (c->relax_timer) {
        plt_timer_stop(c->relax_timer);
        c->relax_timer = NULL;
    }
    if (c->wait_timer) {
        plt_timer_stop(c->wait_timer);
        c->wait_timer = NULL;
    }
    c->q->answered++;
    if (wait <= c->q->sl_ms)
        c->q->answered_within_sl++;
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
    acd_caller *c = arg;
    c->offer_timer = NULL; /* one-shot: released by the core */
    accept(c);
    acd_dispatch(c->s);
}

static void
on_offer_timeout(void *arg)
{
    acd_caller *c = arg;
    c->offer_timer = NULL;
    plt_log(PLT_LOG_INFO, "queue %s: %s missed by %s", c->q->name, c->id,
            c->agent ? c->agent->login : "?");
    acd_offer_abort(c, true);
    acd_dispatch(c->s);
}

int
acd_offer_start(acd_caller *c, acd_agent *a)
{
    acd *s = c->s;
    int64_t timeout = c->q->offer_timeout_ms;
    snprintf(c->offer_id, sizeof(c->offer_id), "%s.%d", c->id, c->attempt + 1);
    int rc = s->ag.vt->offer(s->ag.impl, a->login, c->offer_id,
                             (uint32_t)(timeout + ACD_OFFER_GRACE_MS));
    if (rc != 0)
        return rc;
    c->attempt++;
    c->agent = a;
    c->state = ACD_OFFERING;
    plt_event *ev = acd_event(c, "queue.offered");
    if (ev) {
        plt_event_set_str(ev, "agent", a->login);
        plt_event_set_i64(ev, "attempt", c->attempt);
        plt_event_publish(ev);
    }
    int64_t ring = a->offer_ring_ms >= 0 ? a->offer_ring_ms : s->offer_ring_ms;
    if (ring <= 0 && timeout > 0) {
        accept(c);
        return 0;
    }
    bool missed = timeout > 0 && ring >= timeout;
    rc = plt_timer_start(&c->offer_timer,
                         (uint64_t)(missed ? timeout : ring), 0,
                         missed ? on_offer_timeout : on_ring_done, c);
    if (rc != 0) {
        /* Without a timer nothing would end the offer: withdraw it. */
        c->offer_timer = NULL;
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
    c->q->completed++;
    c->q->talk_total_ms += talk;
    acd_caller_remove(c);
}
