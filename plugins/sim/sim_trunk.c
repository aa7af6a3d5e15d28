/* SPDX-License-Identifier: MIT */
/*
 * The simulated trunk and the parties it reaches.
 *
 * A trunk has channels (max_channels: every live leg on it holds one,
 * inbound or outbound) and a calls-per-second limit on originates (a
 * sliding one-second window: the cps-th previous originate must be at
 * least 1000 ms old). Either limit makes originate() return PLT_EAGAIN
 * with nothing sent, as a real carrier would refuse the INVITE.
 *
 * The called party's fate is decided at originate, from the leg's own
 * stream (seed, destination, attempt number to that destination): the
 * same number dialled for the same time in two runs with the same seed
 * behaves the same, whatever else was dialled in between. Every draw is
 * made whatever the fate, in a fixed order, so changing one probability
 * does not shift the others' draws. Fates:
 *   invalid    after U(1,4) s: 404, outcome invalid_number, by system
 *   busy       after U(2,5) s: 486, outcome busy, by customer (their line)
 *   no answer  rings until the ring timeout: 487 (we cancel), no_answer
 *   human      answers after a lognormal ring time; waits to be bridged
 *              for a lognormal patience, then hangs up; once bridged,
 *              talks for a lognormal time from the bridge, then hangs up
 *   machine    answers after N(mean, sd) s; hangs up machine_hangup after
 *              answering (greeting, beep and the longest message)
 * Ringing (call.progress) is reported after a post-dial delay U(0.5,2) s,
 * or at the answer if that comes first.
 *
 * With originate_log set, every call that leaves a trunk is also written
 * to that file (the record a crash test compares the dialer's with).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_int.h"

sim_trunk *
sim_trunk_find(sim *s, const char *name)
{
    for (size_t i = 0; i < s->ntrunks; i++)
        if (strcmp(s->trunks[i].name, name) == 0)
            return &s->trunks[i];
    return NULL;
}

int
sim_trunk_admit(sim *s, sim_trunk *t, bool count_cps)
{
    (void)s;
    if (t->in_use >= t->max_channels)
        return PLT_EAGAIN;
    if (count_cps && t->cps && plt_now() - t->cps_ring[t->cps_pos] < 1000)
        return PLT_EAGAIN;
    return 0;
}

void
sim_trunk_take(sim *s, sim_trunk *t, bool outbound)
{
    (void)s;
    t->in_use++;
    if (outbound && t->cps) {
        t->cps_ring[t->cps_pos] = plt_now();
        t->cps_pos = (t->cps_pos + 1) % t->cps;
    }
}

void
sim_trunk_release(sim_trunk *t)
{
    if (t->in_use)
        t->in_use--;
}

double
sim_answer_rate_now(const sim *s)
{
    const sim_conf *c = &s->conf;
    if (!c->has_answer_rate_end)
        return c->answer_rate;
    double f = (double)(plt_now() - s->start_ms) / (double)c->day_length_ms;
    if (f < 0)
        f = 0;
    if (f > 1)
        f = 1;
    return c->answer_rate + (c->answer_rate_end - c->answer_rate) * f;
}

static int64_t
ms(double v)
{
    if (!(v > 0))
        return 0;
    if (v > 9.0e15)
        return (int64_t)9.0e15;
    return llround(v);
}

static void
on_invalid(plt_leg *l)
{
    sim_leg_end(l, PLT_OUTCOME_INVALID_NUMBER, 404, "not found", PLT_BY_SYSTEM);
}

static void
on_busy(plt_leg *l)
{
    sim_leg_end(l, PLT_OUTCOME_BUSY, 486, "busy here", PLT_BY_CUSTOMER);
}

static void
on_ring_timeout(plt_leg *l)
{
    sim_leg_end(l, PLT_OUTCOME_NO_ANSWER, 487, "ring timeout", PLT_BY_SYSTEM);
}

static void
on_ringing(plt_leg *l)
{
    l->state = PLT_LEG_RINGING;
    plt_event *ev = sim_ev_new(l, "call.progress");
    if (ev) {
        plt_event_set_str(ev, "progress", "ringing");
        sim_ev_publish(ev);
    }
}

static void
on_machine_hangup(plt_leg *l)
{
    sim_leg_end(l, PLT_OUTCOME_ANSWERED, 200, "machine hung up",
                PLT_BY_CUSTOMER);
}

static void
on_answer(plt_leg *l)
{
    sim_leg_ref(l);
    sim_leg_answered(l);
    if (l->state == PLT_LEG_UP) {
        if (l->fate == SIM_F_MACHINE) {
            if (sim_tslot_arm(&l->t_hangup, l, l->s->conf.machine_hangup_ms,
                              on_machine_hangup) != 0)
                sim_leg_end(l, PLT_OUTCOME_FAILED, 500, "out of resources",
                            PLT_BY_SYSTEM);
        } else if (!l->talk_started) {
            /* Not already bridged by a transfer: the customer waits. */
            sim_leg_customer_wait(l, l->patience_ms);
        }
    }
    if (l->state == PLT_LEG_UP && (l->flags & PLT_ORIG_AMD))
        sim_amd_start(l, NULL);
    sim_leg_unref(l);
}

int
sim_trunk_dial(plt_leg *l)
{
    sim *s = l->s;
    const sim_conf *c = &s->conf;
    uint64_t key = sim_hash_str(l->remote);
    uint64_t n = sim_attempt_index(s, key);
    /* b: kind in the top byte, so a number dialled out and the same DID's
     * inbound callers never share a stream. */
    sim_rng_seed(&l->rng, c->seed, key, ((uint64_t)SIM_K_TRUNK << 56) | n);

    double u = sim_rng_uniform(&l->rng);
    int64_t pdd = ms(sim_rng_range(&l->rng, 500, 2000));
    int64_t invalid_ms = ms(sim_rng_range(&l->rng, 1000, 4000));
    int64_t busy_ms = ms(sim_rng_range(&l->rng, 2000, 5000));
    int64_t ring_ms = ms(sim_rng_lognormal(&l->rng, c->ring_mean, c->ring_sd));
    int64_t machine_ms =
        ms(sim_rng_normal(&l->rng, c->machine_mean, c->machine_sd));
    l->talk_ms = ms(sim_rng_lognormal(&l->rng, c->talk_mean, c->talk_sd));
    l->patience_ms =
        ms(sim_rng_lognormal(&l->rng, c->patience_mean, c->patience_sd));
    l->u_amd = sim_rng_uniform(&l->rng);

    double edge = c->invalid_rate;
    if (u < edge) {
        l->fate = SIM_F_INVALID;
    } else if (u < (edge += c->busy_rate)) {
        l->fate = SIM_F_BUSY;
    } else if (u < (edge += c->machine_rate)) {
        l->fate = SIM_F_MACHINE;
    } else if (u < edge + sim_answer_rate_now(s)) {
        l->fate = SIM_F_HUMAN;
    } else {
        l->fate = SIM_F_NO_ANSWER;
    }

    /* The ring timeout is armed first: at the same instant as an answer,
     * the timeout wins (timers due together fire in start order). */
    int rc = sim_tslot_arm(&l->t_ring_timeout, l, l->ring_timeout_ms,
                           on_ring_timeout);
    if (rc != 0)
        return rc;
    switch (l->fate) {
    case SIM_F_INVALID:
        l->event_ms = invalid_ms;
        return sim_tslot_arm(&l->t_fate, l, invalid_ms, on_invalid);
    case SIM_F_BUSY:
        l->event_ms = busy_ms;
        return sim_tslot_arm(&l->t_fate, l, busy_ms, on_busy);
    case SIM_F_NO_ANSWER:
        l->event_ms = -1;
        l->progress_ms = pdd;
        return sim_tslot_arm(&l->t_progress, l, pdd, on_ringing);
    case SIM_F_HUMAN:
    case SIM_F_MACHINE:
        l->event_ms = l->fate == SIM_F_HUMAN ? ring_ms : machine_ms;
        l->progress_ms = pdd < l->event_ms ? pdd : l->event_ms;
        rc = sim_tslot_arm(&l->t_progress, l, l->progress_ms, on_ringing);
        if (rc == 0 && l->event_ms < (int64_t)l->ring_timeout_ms)
            rc = sim_tslot_arm(&l->t_fate, l, l->event_ms, on_answer);
        return rc;
    }
    return PLT_EINVAL;
}

/* ------------------------------------------------------------------ */
/* originate_log: what the trunks saw */

int
sim_trunk_log_open(sim *s)
{
    s->origlog_fd = -1;
    if (!s->origlog_path)
        return 0;
    /* Start-up I/O. O_APPEND: one write(2) per line, whole, in order. */
    s->origlog_fd = open(s->origlog_path,
                         O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (s->origlog_fd < 0) {
        int e = errno;
        plt_set_error("originate_log: cannot open %s: %s", s->origlog_path,
                      strerror(e));
        return -e;
    }
    return 0;
}

/* One line per call that leaves a trunk: "<clock ms> <leg> <number>
 * <attempt_id var or ->". Written at once, with one write(2), before the
 * call is reported to the caller: the page cache keeps it through a
 * kill -9 of the process, which is what a crash test compares with. A
 * test facility (off unless configured), hence the synchronous write. */
void
sim_trunk_log(sim *s, const plt_leg *l, const plt_kv *vars, size_t n)
{
    if (s->origlog_fd < 0)
        return;
    const char *ref = "-";
    for (size_t i = 0; i < n; i++)
        if (vars[i].key && vars[i].value && !strcmp(vars[i].key, "attempt_id"))
            ref = vars[i].value;
    char line[256];
    int len = snprintf(line, sizeof(line), "%lld %s %s %s\n",
                       (long long)plt_now(), l->id, l->remote, ref);
    if (len <= 0 || (size_t)len >= sizeof(line) ||
        write(s->origlog_fd, line, (size_t)len) != (ssize_t)len)
        plt_log(PLT_LOG_ERROR, "originate_log: cannot write %s",
                s->origlog_path);
}

void
sim_trunk_log_close(sim *s)
{
    if (s->origlog_fd >= 0)
        close(s->origlog_fd);
    s->origlog_fd = -1;
    free(s->origlog_path);
    s->origlog_path = NULL;
}
