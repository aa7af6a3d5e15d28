/* SPDX-License-Identifier: MIT */
/*
 * Reconfiguration while running (SIGHUP): queues added, removed or
 * changed, agents' skills and queues replaced, without dropping a caller.
 *
 * CHECK reads the whole new section as APPLY would and throws it away, so
 * APPLY cannot meet an error CHECK did not. A time zone never loaded
 * before is refused (the tz database is read at init only, never on the
 * loop): that change takes a restart.
 *
 * APPLY builds the new queue array and moves every caller over by queue
 * name: a queue that stays keeps its callers, its day's and previous
 * day's counters and its round-robin cursor; its new settings apply at
 * once, except that the callers already waiting keep the max wait they
 * joined with. A removed queue that still has callers (waiting, being
 * offered or bridged) is retired: it no longer takes callers, is not
 * listed, and goes on serving its callers with the agents it had, until
 * a later reload finds it empty. Agents listed in the new section get
 * their skills, queues and ringing from it; the others keep theirs, minus
 * removed queues. Then a whole dispatch pass runs.
 */
#include <stdlib.h>
#include <string.h>

#include "acd_int.h"

static void
agents_free(acd_agent **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        acd_agent_free(v[i]);
    free(v);
}

/* Parse the `agents` section against queues @p qs. */
static int
parse_agents(const plt_cfg *cfg, acd_queue *qs, size_t nq, acd_agent ***out,
             size_t *nout)
{
    size_t na = 0;
    (void)plt_cfg_count(cfg, "agents", &na);
    acd_agent **v = na ? calloc(na, sizeof(*v)) : NULL;
    if (na && !v)
        return PLT_ENOMEM;
    for (size_t i = 0; i < na; i++) {
        const plt_cfg *c;
        int rc = plt_cfg_table_at(cfg, "agents", i, &c);
        if (rc == 0)
            rc = acd_agent_parse(c, qs, nq, &v[i]);
        for (size_t j = 0; rc == 0 && j < i; j++) {
            if (strcmp(v[j]->login, v[i]->login) == 0) {
                plt_set_error("agent %s is listed twice", v[i]->login);
                rc = PLT_ECONFIG;
            }
        }
        if (rc != 0) {
            agents_free(v, i + 1);
            return rc;
        }
    }
    *out = v;
    *nout = na;
    return 0;
}

static bool
has_callers(const acd *s, const acd_queue *q)
{
    for (const acd_caller *c = s->callers; c; c = c->next)
        if (c->q == q)
            return true;
    return false;
}

static bool
in_array(const acd_queue *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return true;
    return false;
}

/* Keep only the names of @p a's queues that are configured now. */
static void
prune_queues(acd *s, acd_agent *a)
{
    size_t k = 0;
    for (size_t i = 0; i < a->nqueues; i++) {
        if (acd_queue_find(s, a->queues[i]))
            a->queues[k++] = a->queues[i];
        else
            free(a->queues[i]);
    }
    a->nqueues = k;
}

/* Give @p a the values of @p from (consumed). */
static void
agent_take(acd_agent *a, acd_agent *from)
{
    acd_skills_free(a->skills, a->nskills);
    for (size_t i = 0; i < a->nqueues; i++)
        free(a->queues[i]);
    free(a->queues);
    a->skills = from->skills;
    a->nskills = from->nskills;
    a->queues = from->queues;
    a->nqueues = from->nqueues;
    a->offer_ring_ms = from->offer_ring_ms;
    from->skills = NULL;
    from->nskills = 0;
    from->queues = NULL;
    from->nqueues = 0;
    acd_agent_free(from);
}

int
acd_reload(acd *s, const plt_cfg *cfg, bool apply)
{
    acd_queue *nv = NULL;
    size_t nn = 0, na = 0;
    acd_agent **specs = NULL;
    int rc = acd_queues_load(s, cfg, false, &nv, &nn);
    if (rc == 0 && (rc = parse_agents(cfg, nv, nn, &specs, &na)) != 0) {
        for (size_t i = 0; i < nn; i++)
            acd_queue_clear(&nv[i]);
        free(nv);
    }
    if (rc != 0)
        return rc;
    /* The final array: the new queues, then the old ones retired. */
    size_t nret = 0;
    for (size_t i = 0; i < s->nq_all; i++)
        nret += !in_array(nv, nn, s->q[i].name) && has_callers(s, &s->q[i]);
    acd_queue *fin = nn + nret ? calloc(nn + nret, sizeof(*fin)) : NULL;
    if (!apply || (nn + nret && !fin)) {
        free(fin);
        for (size_t i = 0; i < nn; i++)
            acd_queue_clear(&nv[i]);
        free(nv);
        agents_free(specs, na);
        return apply ? PLT_ENOMEM : 0;
    }
    (void)plt_cfg_duration_ms(cfg, "offer_ring", &s->offer_ring_ms);
    (void)plt_cfg_duration_ms(cfg, "ivr_claim", &s->ivr_claim_ms);
    if (nn)
        memcpy(fin, nv, nn * sizeof(*fin));
    free(nv);
    /* Where each old queue goes: its namesake, its retired copy, or
     * nowhere (freed). */
    size_t k = nn;
    for (size_t i = 0; i < s->nq_all; i++) {
        acd_queue *old = &s->q[i];
        acd_queue *to = NULL;
        for (size_t j = 0; j < nn && !to; j++)
            if (strcmp(fin[j].name, old->name) == 0)
                to = &fin[j];
        if (to && i < s->nq) {
            to->day = old->day;
            to->prev = old->prev;
            to->rr_last = old->rr_last;
        } else if (!to && has_callers(s, old)) {
            to = &fin[k++];
            *to = *old; /* moved whole, agent list included */
            memset(old, 0, sizeof(*old));
            plt_log(PLT_LOG_NOTICE,
                    "acd: queue %s removed; serving its callers until they "
                    "leave",
                    to->name);
        }
        for (acd_caller *c = s->callers; c; c = c->next)
            if (c->q == old)
                c->q = to;
        acd_queue_clear(old);
    }
    free(s->q);
    s->q = fin;
    s->nq = nn;
    s->nq_all = nn + nret;
    /* Agents: the listed ones from the section, the others pruned. */
    for (size_t i = 0; i < s->na; i++)
        prune_queues(s, s->a[i]);
    for (size_t i = 0; i < na; i++) {
        acd_agent *a = acd_agent_find(s, specs[i]->login);
        if (a)
            agent_take(a, specs[i]);
        else if (acd_agent_add(s, specs[i]) != 0)
            acd_agent_free(specs[i]); /* only that agent's entry is lost */
    }
    free(specs);
    for (size_t i = 0; i < s->na; i++)
        s->a[i]->settled = 0;
    if ((rc = acd_index_agents(s)) != 0)
        plt_log_err(PLT_LOG_ERROR, rc, "acd: reload: agents not indexed");
    plt_log(PLT_LOG_INFO, "acd: reloaded: %zu queue(s), %zu retired", nn, nret);
    acd_dispatch(s);
    return 0;
}
