/* SPDX-License-Identifier: MIT */
/*
 * The discrete-event model of an outbound campaign (see dialer_model.h).
 *
 * Time is in seconds; day d runs from d * 86400 for day_s seconds, all
 * agents logged in at its start. Dialling stops at the end of the day;
 * calls already placed are finished, but occupancy counts logged-in time
 * only. The called parties follow the figures and the `sim`
 * plugin's rules: a human answers after lognormal(10 s, 5 s), a machine
 * after N(20 s, 3 s), busy after U(2, 5) s, invalid after U(1, 4) s;
 * nobody answers at or after the 25 s no-answer timeout. AMD decides at
 * the answer (ideal: no analysis delay): a human is hung up as a machine
 * with the false-positive rate; a machine it misses reaches an agent, who
 * stays on it until the machine's message ends 40 s after its answer, then
 * wraps up. An answered call no agent takes within the 2 s deadline is
 * abandoned. Random draws come from the simulation's streams, one per
 * purpose, so a mode change does not change the parties' draws order
 * within a stream.
 */
#include "dialer_model.h"

#include "sim_rng.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_ANSWER_S 25.0
#define DEADLINE_S 2.0
#define MACHINE_MESSAGE_S 40.0
#define TALK_MEAN 120.0
#define TALK_SD 120.0
#define WRAP_MEAN 15.0
#define WRAP_SD 10.0

enum { EV_RING_END, EV_DEADLINE, EV_TALK_END, EV_WRAP_END, EV_TICK };
enum { F_HUMAN, F_MACHINE, F_BUSY, F_INVALID, F_NOANSWER };
enum { C_FREE_SLOT, C_RINGING, C_WAITING, C_DONE };
enum { A_FREE, A_TALK, A_WRAP };

typedef struct ev {
    double t;
    uint64_t seq;
    int kind, id;
    uint32_t gen; /* of the call, so a reused slot ignores stale events */
} ev;

typedef struct call {
    int state, fate;
    uint32_t gen;
    double t_dial, ring, t_answer;
    int next_wait; /* FIFO of waiting calls */
} call;

typedef struct agent {
    int state, machine;
    double since; /* start of the current state */
    double talk_end_answer; /* for machines: answer time */
} agent;

typedef struct model {
    const dm_scenario *sc;
    const dm_options *o;
    sim_rng rng_party, rng_agent, rng_amd;
    ev *heap;
    size_t nheap, capheap;
    uint64_t seq;
    call *calls;
    int ncalls, capcalls, *free_calls, nfree_calls;
    int wait_head, wait_tail, nwaiting, nringing;
    agent *agents;
    int *free_agents, nfree;
    pacing *pc;
    double day0, now;
    int dialling;
    simulate_day *day;
    pacing_agent *pa;
    pacing_call *pcalls;
    int pcalls_cap;
    long decisions;
} model;

static int
push_gen(model *m, double t, int kind, int id, uint32_t gen)
{
    if (m->nheap == m->capheap) {
        size_t nc = m->capheap ? m->capheap * 2 : 1024;
        ev *h = realloc(m->heap, nc * sizeof *h);
        if (!h)
            return -ENOMEM;
        m->heap = h;
        m->capheap = nc;
    }
    ev e = {t, m->seq++, kind, id, gen};
    size_t i = m->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        ev *q = &m->heap[p];
        if (q->t < e.t || (q->t == e.t && q->seq < e.seq))
            break;
        m->heap[i] = *q;
        i = p;
    }
    m->heap[i] = e;
    return 0;
}

static int
push(model *m, double t, int kind, int id)
{
    return push_gen(m, t, kind, id, 0);
}

static ev
pop(model *m)
{
    ev top = m->heap[0];
    ev last = m->heap[--m->nheap];
    size_t i = 0, n = m->nheap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        const ev *best = &last;
        if (l < n && (m->heap[l].t < best->t ||
                      (m->heap[l].t == best->t && m->heap[l].seq < best->seq)))
            s = l, best = &m->heap[l];
        if (r < n && (m->heap[r].t < best->t ||
                      (m->heap[r].t == best->t && m->heap[r].seq < best->seq)))
            s = r, best = &m->heap[r];
        if (s == i)
            break;
        m->heap[i] = m->heap[s];
        i = s;
    }
    if (n)
        m->heap[i] = last;
    return top;
}

static int
hour_of(const model *m, double t)
{
    return (int)((t - m->day0) / 3600.0);
}

static double
live_rate(const model *m, double t)
{
    double x = (t - m->day0) / m->o->day_s;
    x = x < 0 ? 0 : x > 1 ? 1 : x;
    return m->sc->live0 + (m->sc->live1 - m->sc->live0) * x;
}

static int
new_call(model *m)
{
    if (m->nfree_calls)
        return m->free_calls[--m->nfree_calls];
    if (m->ncalls == m->capcalls) {
        int nc = m->capcalls ? m->capcalls * 2 : 256;
        call *c = realloc(m->calls, (size_t)nc * sizeof *c);
        if (!c)
            return -ENOMEM;
        m->calls = c;
        int *f = realloc(m->free_calls, (size_t)nc * sizeof *f);
        if (!f)
            return -ENOMEM;
        m->free_calls = f;
        m->capcalls = nc;
    }
    m->calls[m->ncalls].gen = 0;
    return m->ncalls++;
}

static void
release_call(model *m, int id)
{
    m->calls[id].state = C_FREE_SLOT;
    m->free_calls[m->nfree_calls++] = id;
}

static int
dial(model *m)
{
    int id = new_call(m);
    if (id < 0)
        return id;
    call *c = &m->calls[id];
    uint32_t gen = c->gen + 1;
    memset(c, 0, sizeof *c);
    c->gen = gen;
    c->state = C_RINGING;
    c->t_dial = m->now;
    c->next_wait = -1;
    /* Every dial draws the same numbers in the same order. */
    double u = sim_rng_uniform(&m->rng_party);
    double hr = sim_rng_lognormal(&m->rng_party, 10.0, 5.0);
    double mr = sim_rng_normal(&m->rng_party, 20.0, 3.0);
    double br = sim_rng_range(&m->rng_party, 2.0, 5.0);
    double ir = sim_rng_range(&m->rng_party, 1.0, 4.0);
    double pl = live_rate(m, m->now);
    const dm_scenario *s = m->sc;
    if (u < pl) {
        c->fate = F_HUMAN;
        c->ring = hr;
    } else if (u < pl + s->machine) {
        c->fate = F_MACHINE;
        c->ring = mr < 0.5 ? 0.5 : mr;
    } else if (u < pl + s->machine + s->busy) {
        c->fate = F_BUSY;
        c->ring = br;
    } else if (u < pl + s->machine + s->busy + s->invalid) {
        c->fate = F_INVALID;
        c->ring = ir;
    } else {
        c->fate = F_NOANSWER;
        c->ring = NO_ANSWER_S;
    }
    if ((c->fate == F_HUMAN || c->fate == F_MACHINE) && c->ring >= NO_ANSWER_S) {
        c->fate = F_NOANSWER;
        c->ring = NO_ANSWER_S;
    }
    m->day->dials++;
    m->nringing++;
    return push(m, m->now + c->ring, EV_RING_END, id);
}

static void
agent_account(model *m, agent *a, double until)
{
    int kind = a->state == A_TALK ? (a->machine ? 3 : 1)
               : a->state == A_WRAP ? 2
                                    : 0;
    simulate_day_agent_time(m->day, kind, a->since, until, m->day0,
                            m->day0 + m->o->day_s);
}

static void
agent_set(model *m, int ai, int state)
{
    agent *a = &m->agents[ai];
    agent_account(m, a, m->now);
    a->state = state;
    a->since = m->now;
    if (state == A_FREE)
        m->free_agents[m->nfree++] = ai;
}

static int
connect(model *m, int id)
{
    int ai = m->free_agents[--m->nfree];
    call *c = &m->calls[id];
    agent *a = &m->agents[ai];
    a->machine = c->fate == F_MACHINE;
    agent_set(m, ai, A_TALK);
    double dur;
    if (a->machine) {
        dur = MACHINE_MESSAGE_S - (m->now - c->t_answer);
        if (dur < 1)
            dur = 1;
    } else {
        dur = sim_rng_lognormal(&m->rng_agent, TALK_MEAN, TALK_SD);
        simulate_day_live(m->day, hour_of(m, c->t_answer), 0, 0);
    }
    c->state = C_DONE;
    release_call(m, id);
    return push(m, m->now + dur, EV_TALK_END, ai);
}

static void
wait_push(model *m, int id)
{
    m->calls[id].state = C_WAITING;
    m->calls[id].next_wait = -1;
    if (m->wait_tail >= 0)
        m->calls[m->wait_tail].next_wait = id;
    else
        m->wait_head = id;
    m->wait_tail = id;
    m->nwaiting++;
}

static int
wait_pop(model *m)
{
    int id = m->wait_head;
    if (id < 0)
        return -1;
    m->wait_head = m->calls[id].next_wait;
    if (m->wait_head < 0)
        m->wait_tail = -1;
    m->nwaiting--;
    return id;
}

static void
wait_remove(model *m, int id)
{
    int prev = -1;
    for (int x = m->wait_head; x >= 0; prev = x, x = m->calls[x].next_wait) {
        if (x != id)
            continue;
        if (prev < 0)
            m->wait_head = m->calls[x].next_wait;
        else
            m->calls[prev].next_wait = m->calls[x].next_wait;
        if (m->wait_tail == x)
            m->wait_tail = prev;
        m->nwaiting--;
        return;
    }
}

static int64_t
ms(double t)
{
    return (int64_t)llround(t * 1000.0);
}

static int
ensure_pcalls(model *m)
{
    /* Room for every call of the table in the pacing state. */
    if (m->pcalls_cap >= m->capcalls)
        return 0;
    pacing_call *p = realloc(m->pcalls, (size_t)m->capcalls * sizeof *p);
    if (!p)
        return -ENOMEM;
    m->pcalls = p;
    m->pcalls_cap = m->capcalls;
    return 0;
}

static int
decide(model *m)
{
    if (!m->dialling)
        return 0;
    int n = 0;
    int inflight = m->nringing + m->nwaiting;
    if (m->o->mode == DM_PROGRESSIVE) {
        n = m->nfree - inflight;
    } else if (m->o->mode == DM_POWER) {
        n = (int)floor(m->o->power_ratio * m->nfree + 1e-9) - inflight;
    } else {
        int rc = ensure_pcalls(m);
        if (rc < 0)
            return rc;
        int na = m->sc->agents;
        for (int i = 0; i < na; i++) {
            m->pa[i].state = m->agents[i].state == A_FREE   ? PACING_AGENT_FREE
                             : m->agents[i].state == A_TALK ? PACING_AGENT_TALK
                                                            : PACING_AGENT_WRAP;
            m->pa[i].elapsed_s = m->now - m->agents[i].since;
        }
        size_t k = 0;
        for (int i = 0; i < m->ncalls; i++) {
            const call *c = &m->calls[i];
            if (c->state == C_RINGING)
                m->pcalls[k++] = (pacing_call){0, m->now - c->t_dial};
            else if (c->state == C_WAITING)
                m->pcalls[k++] = (pacing_call){1, m->now - c->t_answer};
        }
        pacing_state st = {ms(m->now), m->pa, (size_t)na, m->pcalls, k,
                           m->o->pacing};
        pacing_explain ex;
        n = pacing_decide(m->pc, &st, &ex);
        if (n < 0)
            return n;
        m->decisions++;
        if (m->o->verbose && m->decisions % 5000 == 0) {
            char buf[512];
            pacing_explain_format(&ex, buf, sizeof buf);
            fprintf(stderr, "[t=%.0f] %s\n", m->now - m->day0, buf);
        }
    }
    for (int i = 0; i < n; i++) {
        int rc = dial(m);
        if (rc < 0)
            return rc;
    }
    return 0;
}


static int
on_ring_end(model *m, int id)
{
    call *c = &m->calls[id];
    m->nringing--;
    pacing_outcome po;
    int to_agent = 0;
    switch (c->fate) {
    case F_HUMAN:
        if (sim_rng_bernoulli(&m->rng_amd, m->sc->amd_fp)) {
            po = PACING_MACHINE;
            simulate_day_live(m->day, hour_of(m, m->now), 0, 1);
        } else {
            po = PACING_LIVE;
            to_agent = 1;
        }
        break;
    case F_MACHINE:
        if (sim_rng_bernoulli(&m->rng_amd, m->sc->amd_sensitivity)) {
            po = PACING_MACHINE;
        } else {
            po = PACING_LIVE;
            to_agent = 1;
        }
        break;
    case F_BUSY:
        po = PACING_BUSY;
        break;
    case F_INVALID:
        po = PACING_INVALID;
        break;
    default:
        po = PACING_NO_ANSWER;
        break;
    }
    if (m->pc)
        pacing_observe_attempt(m->pc, po, c->ring, ms(m->now));
    if (!to_agent) {
        c->state = C_DONE;
        release_call(m, id);
        return 0;
    }
    c->t_answer = m->now;
    if (m->nfree > 0)
        return connect(m, id);
    wait_push(m, id);
    return push_gen(m, m->now + DEADLINE_S, EV_DEADLINE, id, c->gen);
}

static int
on_deadline(model *m, int id, uint32_t gen)
{
    call *c = &m->calls[id];
    if (c->gen != gen || c->state != C_WAITING)
        return 0; /* connected in time */
    wait_remove(m, id);
    if (c->fate == F_HUMAN)
        simulate_day_live(m->day, hour_of(m, c->t_answer), 1, 0);
    if (m->pc)
        pacing_observe_abandon(m->pc, PACING_ABANDON_NO_AGENT, ms(m->now));
    c->state = C_DONE;
    release_call(m, id);
    return 0;
}

static int
on_agent_free(model *m, int ai)
{
    agent_set(m, ai, A_FREE);
    int id = wait_pop(m);
    if (id >= 0)
        return connect(m, id);
    return 0;
}

static int
run_day(model *m, int d)
{
    m->day0 = d * 86400.0;
    m->now = m->day0;
    m->dialling = 1;
    m->nfree = 0;
    for (int i = 0; i < m->sc->agents; i++) {
        m->agents[i] = (agent){A_FREE, 0, m->now, 0};
        m->free_agents[m->nfree++] = i;
    }
    m->day->logged_s = m->sc->agents * m->o->day_s;
    int rc = 0;
    if (m->o->mode == DM_PREDICTIVE)
        rc = push(m, m->now + m->o->tick_s, EV_TICK, 0);
    if (!rc)
        rc = decide(m);
    while (!rc && m->nheap) {
        ev e = pop(m);
        m->now = e.t;
        if (m->dialling && m->now >= m->day0 + m->o->day_s)
            m->dialling = 0;
        switch (e.kind) {
        case EV_RING_END:
            rc = on_ring_end(m, e.id);
            break;
        case EV_DEADLINE:
            rc = on_deadline(m, e.id, e.gen);
            break;
        case EV_TALK_END: {
            agent *a = &m->agents[e.id];
            if (!a->machine && m->pc)
                pacing_observe_talk(m->pc, m->now - a->since);
            agent_set(m, e.id, A_WRAP);
            double w = sim_rng_lognormal(&m->rng_agent, WRAP_MEAN, WRAP_SD);
            if (m->pc)
                pacing_observe_wrap(m->pc, w);
            rc = push(m, m->now + w, EV_WRAP_END, e.id);
            break;
        }
        case EV_WRAP_END:
            rc = on_agent_free(m, e.id);
            break;
        case EV_TICK:
            if (m->dialling)
                rc = push(m, m->now + m->o->tick_s, EV_TICK, 0);
            break;
        }
        /* Decide after every change: the dialer reacts to events. */
        if (!rc && (e.kind != EV_DEADLINE || m->o->mode == DM_PREDICTIVE))
            rc = decide(m);
    }
    /* Close the agents' intervals at the end of the day. */
    for (int i = 0; i < m->sc->agents; i++)
        agent_account(m, &m->agents[i], m->now);
    return rc;
}

int
dm_run(const dm_scenario *sc, const dm_options *o, simulate_day *days)
{
    model m;
    memset(&m, 0, sizeof m);
    m.sc = sc;
    m.o = o;
    m.wait_head = m.wait_tail = -1;
    sim_rng_seed(&m.rng_party, o->seed, 1, 0);
    sim_rng_seed(&m.rng_agent, o->seed, 2, 0);
    sim_rng_seed(&m.rng_amd, o->seed, 3, 0);
    int rc = -ENOMEM;
    m.agents = calloc((size_t)sc->agents, sizeof *m.agents);
    m.free_agents = calloc((size_t)sc->agents, sizeof *m.free_agents);
    m.pa = calloc((size_t)sc->agents, sizeof *m.pa);
    if (!m.agents || !m.free_agents || !m.pa)
        goto out;
    if (o->mode == DM_PREDICTIVE) {
        m.pc = pacing_new(o->priors);
        if (!m.pc)
            goto out;
    }
    rc = 0;
    for (int d = 0; d < o->days && !rc; d++) {
        memset(&days[d], 0, sizeof days[d]);
        m.day = &days[d];
        rc = run_day(&m, d);
    }
out:
    pacing_free(m.pc);
    free(m.heap);
    free(m.calls);
    free(m.free_calls);
    free(m.agents);
    free(m.free_agents);
    free(m.pa);
    free(m.pcalls);
    return rc;
}
