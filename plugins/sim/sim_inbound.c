/* SPDX-License-Identifier: MIT */
/*
 * Inbound call generation: each configured DID receives calls as a Poisson
 * process of rate_per_hour, optionally shaped by 24 hourly multipliers
 * (the hour is the clock's UTC hour). A time-varying rate is simulated by
 * thinning (Lewis and Shedler): candidates arrive at the peak rate, and
 * each is kept with probability rate(now) / peak. Arrival times are kept
 * unrounded, so rounding timers to milliseconds does not bias the rate.
 *
 * Each DID's arrival process has its own stream, and each caller a stream
 * of its own named after (DID, arrival number): outbound traffic never
 * changes when or how inbound callers call.
 *
 * A caller (role customer, direction inbound) is offered with
 * call.created {did, from, trunk} and holds a channel of its trunk; when
 * the trunk is full the network refuses the call before it reaches us (it
 * is counted, not offered). Then:
 *  - nobody answers, bridges or hangs up within claim_timeout: rejected
 *    with 480 (outcome no_answer), hangup_by=system;
 *  - the caller runs out of patience (lognormal) before being bridged:
 *    hangs up, hangup_by=customer - outcome cancelled if not answered yet
 *    (the offer was withdrawn), answered if answered but not connected;
 *  - once bridged, the caller talks for a lognormal time, then hangs up.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_int.h"

double
sim_did_rate_at(const sim_did *d, int64_t now_ms)
{
    int64_t day_ms = now_ms % 86400000;
    if (day_ms < 0)
        day_ms += 86400000;
    return d->rate_per_hour * d->hourly[day_ms / 3600000];
}

static void on_arrival(void *arg);

static void
schedule_next(sim_did *d)
{
    double peak_per_ms = d->rate_per_hour * d->max_mult / 3600000.0;
    double dt = sim_rng_exponential(&d->rng, peak_per_ms);
    if (!isfinite(dt))
        return;
    d->next_at += dt;
    int64_t now = plt_now();
    int64_t due = llround(d->next_at);
    int rc = plt_timer_start(&d->timer, (uint64_t)(due > now ? due - now : 0),
                             0, on_arrival, d);
    if (rc != 0) {
        d->timer = NULL;
        plt_log_err(PLT_LOG_ERROR, rc, "inbound %s: calls stop arriving",
                    d->did);
    }
}

static void
on_claim_timeout(plt_leg *l)
{
    sim_leg_end(l, PLT_OUTCOME_NO_ANSWER, 480, "not claimed", PLT_BY_SYSTEM);
}

static void
new_caller(sim_did *d)
{
    sim *s = d->s;
    sim_trunk *t = d->trunk;
    uint64_t n = d->arrivals++;
    if (sim_trunk_admit(s, t, false) != 0) {
        t->blocked_inbound++;
        plt_log(PLT_LOG_DEBUG, "inbound %s: trunk %s full, call refused",
                d->did, t->name);
        return;
    }
    plt_leg *l;
    if (sim_leg_new(s, SIM_K_INBOUND, NULL, &l) != 0) {
        plt_log(PLT_LOG_ERROR, "inbound %s: out of memory, call lost", d->did);
        return;
    }
    sim_rng_seed(&l->rng, s->conf.seed, d->hash,
                 ((uint64_t)SIM_K_INBOUND << 56) | n);
    /* A French geographic-looking number, different per caller. */
    char from[24];
    snprintf(from, sizeof(from), "+331%08llu",
             (unsigned long long)(sim_rng_next(&l->rng) % 100000000ull));
    l->patience_ms = llround(
        sim_rng_lognormal(&l->rng, s->conf.patience_mean, s->conf.patience_sd));
    l->talk_ms =
        llround(sim_rng_lognormal(&l->rng, s->conf.talk_mean, s->conf.talk_sd));
    l->u_amd = sim_rng_uniform(&l->rng);
    l->fate = SIM_F_HUMAN;
    l->role = PLT_LEG_CUSTOMER;
    l->remote = strdup(from);
    l->from = strdup(from);
    l->did = strdup(d->did);
    sim_trunk_take(s, t, false);
    l->trunk = t;

    sim_leg_ref(l);
    plt_event *ev = sim_ev_new(l, "call.created");
    if (ev) {
        plt_event_set_str(ev, "did", d->did);
        plt_event_set_str(ev, "from", from);
        plt_event_set_str(ev, "trunk", t->name);
        sim_ev_publish(ev);
    }
    if (!l->remote || !l->from || !l->did ||
        sim_tslot_arm(&l->t_claim, l, s->conf.claim_timeout_ms,
                      on_claim_timeout) != 0)
        sim_leg_end(l, PLT_OUTCOME_FAILED, 500, "out of resources",
                    PLT_BY_SYSTEM);
    else
        sim_leg_customer_wait(l, l->patience_ms);
    sim_leg_unref(l);
}

static void
on_arrival(void *arg)
{
    sim_did *d = arg;
    d->timer = NULL; /* one-shot: released by the core after this call */
    double peak = d->rate_per_hour * d->max_mult;
    /* Always draw, so the stream does not depend on the profile. */
    double u = sim_rng_uniform(&d->rng);
    if (peak > 0 && u * peak < sim_did_rate_at(d, plt_now()))
        new_caller(d);
    schedule_next(d);
}

int
sim_inbound_start(sim *s)
{
    for (size_t i = 0; i < s->ndids; i++) {
        sim_did *d = &s->dids[i];
        d->next_at = (double)plt_now();
        if (d->rate_per_hour > 0 && d->max_mult > 0)
            schedule_next(d);
    }
    return 0;
}

void
sim_inbound_stop(sim *s)
{
    for (size_t i = 0; i < s->ndids; i++)
        if (s->dids[i].timer) {
            plt_timer_stop(s->dids[i].timer);
            s->dids[i].timer = NULL;
        }
}
