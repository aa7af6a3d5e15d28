/* SPDX-License-Identifier: MIT */
/*
 * Reconfiguration while running (SIGHUP): queues added, removed or
 * changed, agents' skills and queues replaced, without dropping a caller.
 *
 * CHECK reads the whole new section as APPLY would and throws it away, so
 * APPLY cannot meet an error CHECK did not. A time zone never loaded
 * before is read on a worker thread once APPLY is done (never on the
 * loop); the queue uses the site's zone until it arrives, and keeps it
 * (with an error logged) if the zone is unknown.
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

#include <plateau/loop.h>

#include "acd_int.h"

/* ---- time zones read off the loop ---- */

static acd *zone_owner;

void
acd_reload_attach(acd *s)
{
    zone_owner = s;
}

typedef struct zone_job {
    char *name;
    schedule_zone *z;
    int rc;
} zone_job;

static void
zone_work(void *arg)
{
    zone_job *j = arg;
    j->rc = schedule_zone_open(j->name, &j->z);
}

static void
zone_done(void *arg, int status)
{
    zone_job *j = arg;
    acd *s = zone_owner;
    if (s && status == 0 && j->rc != 0)
        plt_log_err(PLT_LOG_ERROR, j->rc,
                    "acd: time zone %s unknown: its queues use %s", j->name,
                    schedule_zone_name(s->site_zone));
    schedule_zone *z = NULL;
    if (s && status == 0 && j->rc == 0) {
        /* Another read of the same name may have finished first. */
        if (acd_zone_get(s, j->name, false, &z) != 0) {
            schedule_zone **v = realloc(s->zones, (s->nzones + 1) * sizeof(*v));
            if (v) {
                s->zones = v;
                z = v[s->nzones++] = j->z;
                j->z = NULL;
            }
        }
    }
    for (size_t i = 0; s && i < s->nq_all; i++) {
        acd_queue *q = &s->q[i];
        if (!q->zone_wanted || strcmp(q->zone_wanted, j->name) != 0)
            continue;
        if (z) {
            q->zone = z;
            q->sched.zone = z;
        }
        free(q->zone_wanted);
        q->zone_wanted = NULL;
    }
    schedule_zone_free(j->z);
    free(j->name);
    free(j);
}

static void
zones_read(acd *s)
{
    for (size_t i = 0; i < s->nq; i++) {
        const char *name = s->q[i].zone_wanted;
        bool asked = false;
        for (size_t k = 0; name && k < i; k++)
            asked |=
                s->q[k].zone_wanted && strcmp(s->q[k].zone_wanted, name) == 0;
        if (!name || asked)
            continue;
        zone_job *j = calloc(1, sizeof(*j));
        if (!j || !(j->name = strdup(name)) ||
            plt_queue_work(zone_work, zone_done, j) != 0) {
            plt_log(PLT_LOG_ERROR, "acd: cannot read time zone %s", name);
            if (j)
                free(j->name);
            free(j);
        }
    }
}

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
    zones_read(s);
    acd_hours_start(s);
    acd_dispatch(s);
    return 0;
}
