/* SPDX-License-Identifier: MIT */
/*
 * Simulated agent phones: the destination "agent:<extension>" reaches a
 * phone that is always registered. It rings at once, and the agent picks up
 * after U(agent_ring_min, agent_ring_max) - unless the agent misses the
 * offer (probability agent_miss_rate), in which case it rings until the
 * ring timeout (no_answer). An answered agent phone never hangs up by
 * itself: agents' behaviour (wrap-up, pauses, logging out) belongs to the
 * agents plugin, which ends the leg when it decides to.
 *
 * Like customers, each agent leg draws from its own stream, named after
 * the extension and how many times it was called before.
 */
#include <math.h>
#include <string.h>

#include "sim_int.h"

bool
sim_agent_dest_valid(const char *dest)
{
    const char *p = dest + 6; /* after "agent:" */
    if (!*p || strlen(p) > 64)
        return false;
    for (; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
              (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
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
on_pickup(plt_leg *l)
{
    sim_leg_answered(l);
}

static void
on_ring_timeout(plt_leg *l)
{
    sim_leg_end(l, PLT_OUTCOME_NO_ANSWER, 487, "ring timeout", PLT_BY_SYSTEM);
}

int
sim_agent_dial(plt_leg *l)
{
    sim *s = l->s;
    const sim_conf *c = &s->conf;
    uint64_t key = sim_hash_str(l->remote);
    uint64_t n = sim_attempt_index(s, key);
    sim_rng_seed(&l->rng, c->seed, key, ((uint64_t)SIM_K_AGENT << 56) | n);

    bool miss = sim_rng_bernoulli(&l->rng, c->agent_miss_rate);
    double pick = sim_rng_range(&l->rng, (double)c->agent_ring_min_ms,
                                (double)c->agent_ring_max_ms);
    l->u_amd = sim_rng_uniform(&l->rng);
    l->fate = miss ? SIM_F_NO_ANSWER : SIM_F_HUMAN;
    l->event_ms = miss ? -1 : llround(pick);
    l->progress_ms = 0;

    int rc = sim_tslot_arm(&l->t_ring_timeout, l, l->ring_timeout_ms,
                           on_ring_timeout);
    if (rc == 0)
        rc = sim_tslot_arm(&l->t_progress, l, 0, on_ringing);
    if (rc == 0 && !miss && l->event_ms < (int64_t)l->ring_timeout_ms)
        rc = sim_tslot_arm(&l->t_fate, l, l->event_ms, on_pickup);
    return rc;
}
