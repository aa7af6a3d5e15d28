/* SPDX-License-Identifier: MIT */
/*
 * Choosing an agent for a caller. The candidates are the ACD's agents
 * assigned to the queue, AVAILABLE in the agents service, allowed by the
 * request (a personal callback names one agent) and holding every required
 * skill at the required level (lowered by relaxation). A strategy then
 * picks one: longest_idle, skill_level (highest sum of the required
 * skills' levels, then longest idle), round_robin (the next agent after
 * the last one chosen, in configured order), fewest_calls and
 * least_talk_time (ACD figures since start, then longest idle), random (a
 * seeded splitmix64 stream, so a run replays), linear (configured
 * order) and ring_all (every candidate at once, longest idle first). Every
 * tie ends on longest idle then login, so the same agents, states and
 * clock always give the same choice. A choice changes nothing by itself:
 * the round-robin cursor and the random stream move only when the offer
 * it leads to succeeds (acd_choice_commit). The same walk explains itself
 * for dry_run(), one line per agent considered.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* vasprintf */
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acd_int.h"

const char *const acd_strategy_names[] = {
    "longest_idle", "skill_level", "round_robin", "fewest_calls",
    "least_talk_time", "random", "linear", "ring_all", NULL};

int32_t
acd_required_level(const acd_queue *q, int32_t level, int steps)
{
    int64_t l = (int64_t)level - (int64_t)steps * q->relax_step;
    return l < 0 ? 0 : (int32_t)l;
}

typedef struct cand {
    acd_agent *a;
    size_t index; /* configured order */
    int64_t since;
    uint64_t changes;
    int64_t score; /* skill_level: sum of the required skills' levels */
} cand;

typedef struct explain {
    char **v;
    size_t n, cap;
    bool want, oom;
} explain;

__attribute__((format(printf, 2, 3))) static void
say(explain *l, const char *fmt, ...)
{
    if (!l->want || l->oom)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int rc = vasprintf(&l->v[l->n], fmt, ap);
    va_end(ap);
    if (rc < 0)
        l->oom = true;
    else
        l->n++;
}

typedef struct getinfo {
    int status;
    int32_t state;
    int64_t since;
    uint64_t changes;
} getinfo;

static void
on_info(void *arg, int status, const plt_agent_info *i)
{
    getinfo *g = arg;
    g->status = status;
    if (status == 0 && i) {
        g->state = i->state;
        g->since = i->since;
        /* An older provider without the counter: never settled, so every
         * choice falls back to a whole pass (slower, still fair). */
        g->changes =
            i->size >= offsetof(plt_agent_info, changes) + sizeof(i->changes)
                ? i->changes
                : UINT64_MAX;
    }
}

static int32_t
agent_level(const acd_agent *a, const char *skill)
{
    for (size_t i = 0; i < a->nskills; i++)
        if (strcmp(a->skills[i].name, skill) == 0)
            return a->skills[i].level;
    return -1;
}

/* Whether @p a holds every required skill; explains the first miss. */
static bool
skills_ok(const acd_queue *q, const acd_agent *a, const acd_skill *extra,
          size_t nextra, int steps, explain *l, int64_t *score)
{
    *score = 0;
    for (size_t k = 0; k < q->nskills + nextra; k++) {
        const acd_skill *sk =
            k < q->nskills ? &q->skills[k] : &extra[k - q->nskills];
        int32_t need = acd_required_level(q, sk->level, steps);
        int32_t have = agent_level(a, sk->name);
        if (have < 0 && need > 0) {
            say(l, "agent %s: lacks skill %s (required %d)", a->login,
                sk->name, need);
            return false;
        }
        if (have < need) {
            say(l, "agent %s: skill %s level %d < required %d", a->login,
                sk->name, have, need);
            return false;
        }
        *score += have < 0 ? 0 : have;
    }
    return true;
}

static bool
was_tried(const acd_agent *a, char *const *tried, size_t ntried)
{
    for (size_t i = 0; i < ntried; i++)
        if (strcmp(tried[i], a->login) == 0)
            return true;
    return false;
}

/* Longest idle first, then login: the tie-break of every strategy. */
static bool
idler(const cand *x, const cand *y)
{
    if (x->since != y->since)
        return x->since < y->since;
    return strcmp(x->a->login, y->a->login) < 0;
}

static uint64_t
splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int
by_idle(const void *x, const void *y)
{
    const cand *a = x, *b = y;
    return idler(a, b) ? -1 : idler(b, a) ? 1 : 0;
}

/* Pick among @p n candidates per the queue's strategy; *why says why.
 * The cursor and stream moves go to @p ch, applied only on commit. */
static size_t
pick(acd *s, acd_queue *q, cand *c, size_t n, acd_choice *ch, char *why,
     size_t whylen)
{
    size_t best = 0;
    int64_t now = plt_now();
    switch (q->strategy) {
    case ACD_SKILL_LEVEL:
        for (size_t i = 1; i < n; i++)
            if (c[i].score > c[best].score ||
                (c[i].score == c[best].score && idler(&c[i], &c[best])))
                best = i;
        snprintf(why, whylen, "skill level %lld, idle %lld s",
                 (long long)c[best].score,
                 (long long)((now - c[best].since) / 1000));
        break;
    case ACD_ROUND_ROBIN: {
        /* The first candidate after the last chosen one, wrapping. */
        size_t na = s->na ? s->na : 1, bestd = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            size_t d = (c[i].index + na - (q->rr_last % na)) % na;
            if (d < bestd) {
                bestd = d;
                best = i;
            }
        }
        ch->set_rr = true;
        ch->rr_last = c[best].index + 1;
        snprintf(why, whylen, "round robin, next in order");
        break;
    }
    case ACD_FEWEST_CALLS:
        for (size_t i = 1; i < n; i++)
            if (c[i].a->calls < c[best].a->calls ||
                (c[i].a->calls == c[best].a->calls && idler(&c[i], &c[best])))
                best = i;
        snprintf(why, whylen, "fewest calls, %llu",
                 (unsigned long long)c[best].a->calls);
        break;
    case ACD_LEAST_TALK_TIME:
        for (size_t i = 1; i < n; i++)
            if (c[i].a->talk_ms < c[best].a->talk_ms ||
                (c[i].a->talk_ms == c[best].a->talk_ms &&
                 idler(&c[i], &c[best])))
                best = i;
        snprintf(why, whylen, "least talk time, %lld s",
                 (long long)(c[best].a->talk_ms / 1000));
        break;
    case ACD_RANDOM: {
        /* Candidates are collected in configured order, so the draw alone
         * decides; the stream moves only if the offer is made. */
        uint64_t st = s->rng;
        uint64_t r = splitmix64(&st);
        ch->set_rng = true;
        ch->rng = st;
        best = (size_t)(r % n);
        snprintf(why, whylen, "random draw %zu of %zu", best + 1, n);
        break;
    }
    case ACD_LINEAR:
        for (size_t i = 1; i < n; i++)
            if (c[i].index < c[best].index)
                best = i;
        snprintf(why, whylen, "linear, position %zu", c[best].index + 1);
        break;
    case ACD_RING_ALL:
        /* Every candidate rings; the longest idle is listed first and wins
         * a tie between answers at the same instant. */
        qsort(c, n, sizeof(*c), by_idle);
        best = 0;
        snprintf(why, whylen, "ring all, %zu phones", n);
        break;
    default: /* ACD_LONGEST_IDLE */
        for (size_t i = 1; i < n; i++)
            if (idler(&c[i], &c[best]))
                best = i;
        snprintf(why, whylen, "longest idle, %lld s",
                 (long long)((now - c[best].since) / 1000));
        break;
    }
    return best;
}

void
acd_choice_commit(acd *s, acd_queue *q, const acd_choice *ch)
{
    if (ch->set_rr)
        q->rr_last = ch->rr_last;
    if (ch->set_rng)
        s->rng = ch->rng;
}

void
acd_choice_free(acd_choice *ch)
{
    free(ch->ring);
    ch->ring = NULL;
    ch->nring = 0;
}

int
acd_choose(acd *s, acd_queue *q, const acd_skill *extra, size_t nextra,
           int relax_steps, const char *only_agent, char *const *tried,
           size_t ntried, acd_choice *ch, char ***lines_out, size_t *nlines)
{
    explain l = {.want = lines_out != NULL};
    memset(ch, 0, sizeof(*ch));
    cand *c = malloc((q->nagents ? q->nagents : 1) * sizeof(*c));
    if (!c)
        return PLT_ENOMEM;
    size_t n = 0, untried = 0;
    for (size_t i = 0; i < q->nagents; i++) {
        acd_agent *a = q->agents[i];
        if (only_agent && strcmp(only_agent, a->login) != 0) {
            say(&l, "agent %s: the call is for %s only", a->login,
                only_agent);
            continue;
        }
        if (a->rest_timer) {
            say(&l, "agent %s: declined an offer moments ago", a->login);
            continue;
        }
        getinfo g = {.status = PLT_ENOENT};
        int rc = s->ag.vt->get(s->ag.impl, a->login, on_info, &g);
        if (rc != 0 || g.status != 0 || g.state != PLT_AGENT_AVAILABLE) {
            say(&l, "agent %s: not available (%s)", a->login,
                (rc || g.status) ? "logged_out"
                                 : plt_agent_state_name(g.state));
            continue;
        }
        int64_t score;
        if (!skills_ok(q, a, extra, nextra, relax_steps, &l, &score))
            continue;
        c[n] = (cand){.a = a,
                      .index = a->index,
                      .since = g.since,
                      .changes = g.changes,
                      .score = score};
        if (!was_tried(a, tried, ntried))
            untried++;
        n++;
    }
    /* An agent who let this call ring out gets it again only when nobody
     * else can take it. */
    if (untried > 0 && untried < n) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (was_tried(c[i].a, tried, ntried))
                say(&l, "agent %s: missed this call already", c[i].a->login);
            else
                c[k++] = c[i];
        }
        n = k;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i].changes != c[i].a->settled)
            ch->unsettled = true;
    if (n > 0) {
        char why[96];
        size_t b = pick(s, q, c, n, ch, why, sizeof(why));
        ch->agent = c[b].a;
        if (q->strategy == ACD_RING_ALL) {
            ch->ring = malloc(n * sizeof(*ch->ring));
            if (!ch->ring)
                rc = PLT_ENOMEM;
            for (size_t i = 0; ch->ring && i < n; i++)
                ch->ring[i] = c[i].a;
            ch->nring = ch->ring ? n : 0;
            for (size_t i = 1; i < n; i++)
                say(&l, "agent %s: rung too", c[i].a->login);
        } else {
            for (size_t i = 0; i < n; i++)
                if (i != b)
                    say(&l, "agent %s: eligible, not chosen", c[i].a->login);
        }
        say(&l, "agent %s: chosen (%s)", c[b].a->login, why);
    } else {
        say(&l, "no agent can take the call now");
    }
    free(c);
    if (l.oom || rc != 0) {
        for (size_t i = 0; i < l.n; i++)
            free(l.v[i]);
        free(l.v);
        acd_choice_free(ch);
        ch->agent = NULL;
        return PLT_ENOMEM;
    }
    if (lines_out) {
        *lines_out = l.v;
        *nlines = l.n;
    }
    return 0;
}

int
acd_dry_run(void *impl, const plt_acd_request *r, plt_acd_explain_fn cb,
            void *arg)
{
    acd *s = impl;
    if (!r || !cb || !r->queue)
        return PLT_EINVAL;
    acd_queue *q = acd_queue_find(s, r->queue);
    if (!q)
        return PLT_ENOENT;
    acd_skill *extra = NULL;
    if (r->nskills) {
        extra = calloc(r->nskills, sizeof(*extra));
        if (!extra)
            return PLT_ENOMEM;
        /* Borrowed names: nothing here outlives the call. */
        for (size_t i = 0; i < r->nskills; i++)
            extra[i] = (acd_skill){.name = (char *)r->skills[i].skill,
                                   .level = r->skills[i].level};
    }
    acd_choice ch;
    char **lines = NULL;
    size_t n = 0;
    int rc = acd_choose(s, q, extra, r->nskills, 0, r->agent, NULL, 0, &ch,
                        &lines, &n);
    free(extra);
    if (rc != 0)
        return rc;
    cb(arg, ch.agent ? ch.agent->login : NULL, (const char *const *)lines, n);
    acd_choice_free(&ch);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
    return 0;
}
