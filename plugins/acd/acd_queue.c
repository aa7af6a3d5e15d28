/* SPDX-License-Identifier: MIT */
/*
 * Queues and the callers waiting in them. A caller joins (enqueue(), or an
 * inbound leg on one of the queue's DIDs) and waits in one list kept in
 * serving order - priority, then how long they have waited, then join
 * order - across every queue (global fairness: an agent who becomes
 * available gets the first caller of that order it can take, whichever of
 * its queues the caller is in); each caller is given to the agent its
 * queue's strategy picks.
 *
 * Dispatch is event-driven and never walks more than it must. After a
 * whole pass no waiting caller can be taken by any available agent the
 * pass saw, so:
 *  - a caller who joins, is relaxed, overflows or comes back from a missed
 *    offer is matched alone against its queue's agents; only if one of
 *    them became available since the last pass (its agent.state_changed
 *    not handled yet: "unsettled") does a whole pass run instead, so that
 *    an older caller elsewhere is served first;
 *  - an agent who becomes available (or whose assignment changes) runs a
 *    whole pass, in which a queue whose plain callers found nobody is
 *    skipped for the rest of the pass (no caller relaxed as much or less
 *    can find anybody either);
 *  - each choice looks only at the agents serving the caller's queue.
 * The file also owns the configuration (queues and agent assignments) and
 * the requests that change it at run time (cancel, set_agent).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acd_int.h"

char *
acd_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

void
acd_skills_free(acd_skill *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].name);
    free(v);
}

static void
strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* "fr:50" -> {fr, 50}; a bare "fr" means level 0 (the skill only). */
int
acd_parse_skill(const char *text, acd_skill *out)
{
    const char *colon = strchr(text, ':');
    long level = 0;
    size_t len = colon ? (size_t)(colon - text) : strlen(text);
    if (len == 0)
        return PLT_EINVAL;
    if (colon) {
        char *end;
        level = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || level < 0 || level > 100)
            return PLT_EINVAL;
    }
    out->name = strndup(text, len);
    if (!out->name)
        return PLT_ENOMEM;
    out->level = (int32_t)level;
    return 0;
}

static int
load_skills(const plt_cfg *cfg, const char *key, acd_skill **out, size_t *n)
{
    size_t cnt = 0;
    *out = NULL;
    *n = 0;
    if (plt_cfg_count(cfg, key, &cnt) != 0 || cnt == 0)
        return 0;
    acd_skill *v = calloc(cnt, sizeof(*v));
    if (!v)
        return PLT_ENOMEM;
    for (size_t i = 0; i < cnt; i++) {
        const char *t;
        int rc = plt_cfg_list_at(cfg, key, i, &t);
        if (rc == 0)
            rc = acd_parse_skill(t, &v[i]);
        if (rc != 0) {
            plt_set_error("%s: \"%s\" is not skill:level (0-100)", key,
                          rc == PLT_EINVAL ? t : "?");
            acd_skills_free(v, i);
            return rc;
        }
    }
    *out = v;
    *n = cnt;
    return 0;
}

static int
load_strs(const plt_cfg *cfg, const char *key, char ***out, size_t *n)
{
    size_t cnt = 0;
    *out = NULL;
    *n = 0;
    if (plt_cfg_count(cfg, key, &cnt) != 0 || cnt == 0)
        return 0;
    char **v = calloc(cnt, sizeof(*v));
    if (!v)
        return PLT_ENOMEM;
    for (size_t i = 0; i < cnt; i++) {
        const char *t;
        if (plt_cfg_list_at(cfg, key, i, &t) != 0 || !(v[i] = strdup(t))) {
            strv_free(v, i);
            return PLT_ENOMEM;
        }
    }
    *out = v;
    *n = cnt;
    return 0;
}

static int
load_action(const plt_cfg *c, const char *key, const char *queue,
            acd_action *out)
{
    const char *text;
    int rc = plt_cfg_str(c, key, &text);
    if (rc != 0)
        return rc;
    rc = acd_action_parse(text, out);
    if (rc == PLT_EINVAL) {
        plt_set_error("queue %s: %s \"%s\": use none, hangup, queue:<name>, "
                      "message:<wav>, ivr:<entry>, callback or voicemail",
                      queue, key, text);
        return PLT_ECONFIG;
    }
    return rc;
}

static const char *const trigger_keys[ACD_WHY_N] = {
    "overflow", "closed", "no_agents", "all_paused", "full"};

int
acd_zone_get(acd *s, const char *name, bool may_open, schedule_zone **out)
{
    const char *want = name && *name ? name : "UTC";
    for (size_t i = 0; i < s->nzones; i++) {
        if (strcmp(schedule_zone_name(s->zones[i]), want) == 0) {
            *out = s->zones[i];
            return 0;
        }
    }
    /* Reading the tz database is for init only: a reload on the loop
     * cannot bring a new zone in. */
    if (!may_open)
        return PLT_ENOTSUP;
    schedule_zone **v = realloc(s->zones, (s->nzones + 1) * sizeof(*v));
    if (!v)
        return PLT_ENOMEM;
    s->zones = v;
    int rc = schedule_zone_open(want, &v[s->nzones]);
    if (rc != 0)
        return rc;
    *out = v[s->nzones++];
    return 0;
}

static int
load_hours(acd *s, acd_queue *q, const plt_cfg *c, const char *site_tz,
           bool may_open)
{
    const char *tz = NULL;
    if (plt_cfg_str(c, "time_zone", &tz) != 0 || !tz || !*tz)
        tz = site_tz;
    int rc = acd_zone_get(s, tz, may_open, &q->zone);
    if (rc == PLT_ENOTSUP) {
        /* A zone new at a reload: read off the loop once applied
         * (acd_reload.c); the site's zone stands in until then. */
        if (!(q->zone_wanted = strdup(tz)))
            return PLT_ENOMEM;
        q->zone = s->site_zone;
        rc = 0;
    }
    if (rc != 0) {
        plt_set_error("queue %s: unknown time zone %s", q->name, tz);
        return PLT_ECONFIG;
    }
    q->sched.zone = q->zone;
    size_t n = 0;
    (void)plt_cfg_count(c, "hours", &n);
    for (size_t i = 0; i < n; i++) {
        const char *t;
        if ((rc = plt_cfg_list_at(c, "hours", i, &t)) != 0)
            return rc;
        if ((rc = schedule_add_window(&q->sched, t)) != 0) {
            plt_set_error("queue %s: hours \"%s\": use e.g. "
                          "\"mon-fri 08:00-18:00\"",
                          q->name, t);
            return rc == PLT_EINVAL ? PLT_ECONFIG : rc;
        }
    }
    n = 0;
    (void)plt_cfg_count(c, "holidays", &n);
    for (size_t i = 0; i < n; i++) {
        const char *t;
        if ((rc = plt_cfg_list_at(c, "holidays", i, &t)) != 0)
            return rc;
        if ((rc = schedule_holiday_add(&q->sched.holidays, t)) != 0) {
            plt_set_error("queue %s: holiday \"%s\": use MM-DD, YYYY-MM-DD, "
                          "easter_monday, ascension, whit_monday or easter+N",
                          q->name, t);
            return rc == PLT_EINVAL ? PLT_ECONFIG : rc;
        }
    }
    return 0;
}

/* "en:/path/to/prompts/en" per language. */
static int
load_prompts(acd_queue *q, const plt_cfg *c)
{
    char **v;
    size_t n;
    int rc = load_strs(c, "prompts", &v, &n);
    if (rc != 0 || !n)
        return rc;
    q->prompt_lang = calloc(n, sizeof(char *));
    q->prompt_dir = calloc(n, sizeof(char *));
    if (!q->prompt_lang || !q->prompt_dir) {
        strv_free(v, n);
        return PLT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        char *colon = strchr(v[i], ':');
        if (!colon || colon == v[i] || !colon[1]) {
            plt_set_error("queue %s: prompts \"%s\": use <language>:<dir>",
                          q->name, v[i]);
            strv_free(v, n);
            return PLT_ECONFIG;
        }
        *colon = '\0';
        q->prompt_lang[i] = strdup(v[i]);
        q->prompt_dir[i] = strdup(colon + 1);
        q->nprompts = i + 1;
        if (!q->prompt_lang[i] || !q->prompt_dir[i]) {
            strv_free(v, n);
            return PLT_ENOMEM;
        }
    }
    strv_free(v, n);
    return 0;
}

static int
opt_path(const plt_cfg *c, const char *key, char **out)
{
    const char *v = NULL;
    if (plt_cfg_path(c, key, &v) == 0 && v && !(*out = strdup(v)))
        return PLT_ENOMEM;
    return 0;
}

static int
load_queue(acd *s, acd_queue *q, const plt_cfg *c, const char *site_tz,
           bool may_open)
{
    const char *name, *strategy, *lang = NULL;
    int rc;
    if ((rc = plt_cfg_str(c, "name", &name)) ||
        (rc = plt_cfg_str(c, "strategy", &strategy)))
        return rc;
    if (!(q->name = strdup(name)))
        return PLT_ENOMEM;
    for (int i = 0; acd_strategy_names[i]; i++)
        if (strcmp(acd_strategy_names[i], strategy) == 0)
            q->strategy = i;
    bool announce = true;
    if ((rc = plt_cfg_duration_ms(c, "relax_after", &q->relax_after_ms)) ||
        (rc = plt_cfg_int(c, "relax_step", &q->relax_step)) ||
        (rc = plt_cfg_duration_ms(c, "offer_timeout", &q->offer_timeout_ms)) ||
        (rc = plt_cfg_duration_ms(c, "wrap_up", &q->wrap_up_ms)) ||
        (rc = plt_cfg_duration_ms(c, "sl_threshold", &q->sl_ms)) ||
        (rc = plt_cfg_duration_ms(c, "max_wait", &q->max_wait_ms)) ||
        (rc = plt_cfg_int(c, "max_size", &q->max_size)) ||
        (rc = plt_cfg_duration_ms(c, "voicemail_max", &q->voicemail_max_ms)) ||
        (rc = plt_cfg_duration_ms(c, "announce_every",
                                  &q->announce_every_ms)) ||
        (rc = plt_cfg_duration_ms(c, "aht_default", &q->aht_default_ms)) ||
        (rc = plt_cfg_bool(c, "announce", &announce)) ||
        (rc = plt_cfg_bool(c, "close_waiting", &q->close_waiting)))
        return rc;
    q->announce = announce;
    for (int i = 0; i < ACD_WHY_N; i++)
        if ((rc = load_action(c, trigger_keys[i], name, &q->on[i])) != 0)
            return rc;
    if ((rc = opt_path(c, "hold_music", &q->hold_music)) ||
        (rc = opt_path(c, "voicemail_prompt", &q->voicemail_prompt)) ||
        (rc = opt_path(c, "callback_prompt", &q->callback_prompt)))
        return rc;
    if (plt_cfg_str(c, "language", &lang) == 0 && lang &&
        !(q->language = strdup(lang)))
        return PLT_ENOMEM;
    const char *cb_list = NULL;
    if (plt_cfg_str(c, "callback_list", &cb_list) == 0 && cb_list &&
        *cb_list && !(q->callback_list = strdup(cb_list)))
        return PLT_ENOMEM;
    if ((rc = load_skills(c, "skills", &q->skills, &q->nskills)) ||
        (rc = load_strs(c, "dids", &q->dids, &q->ndids)) ||
        (rc = load_hours(s, q, c, site_tz, may_open)) ||
        (rc = load_prompts(q, c)))
        return rc;
    return 0;
}

static acd_queue *
find_in(acd_queue *v, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

int
acd_agent_parse(const plt_cfg *c, acd_queue *qs, size_t nq, acd_agent **out)
{
    const char *login;
    int rc = plt_cfg_str(c, "agent", &login);
    if (rc != 0)
        return rc;
    acd_agent *a = calloc(1, sizeof(*a));
    if (!a)
        return PLT_ENOMEM;
    *out = a;
    a->offer_ring_ms = -1;
    if (plt_cfg_is_set(c, "offer_ring"))
        (void)plt_cfg_duration_ms(c, "offer_ring", &a->offer_ring_ms);
    if (!(a->login = strdup(login)))
        return PLT_ENOMEM;
    if ((rc = load_skills(c, "skills", &a->skills, &a->nskills)) ||
        (rc = load_strs(c, "queues", &a->queues, &a->nqueues)))
        return rc;
    for (size_t i = 0; i < a->nqueues; i++) {
        if (!find_in(qs, nq, a->queues[i])) {
            plt_set_error("agent %s: unknown queue %s", login, a->queues[i]);
            return PLT_ECONFIG;
        }
    }
    return 0;
}

void
acd_queue_clear(acd_queue *q)
{
    free(q->name);
    for (int k = 0; k < ACD_WHY_N; k++)
        free(q->on[k].target);
    free(q->hold_music);
    free(q->voicemail_prompt);
    free(q->callback_prompt);
    free(q->callback_list);
    free(q->zone_wanted);
    free(q->language);
    strv_free(q->prompt_lang, q->nprompts);
    strv_free(q->prompt_dir, q->nprompts);
    schedule_clear(&q->sched);
    acd_skills_free(q->skills, q->nskills);
    strv_free(q->dids, q->ndids);
    free(q->agents);
    memset(q, 0, sizeof(*q));
}

int
acd_queues_load(acd *s, const plt_cfg *cfg, bool may_open, acd_queue **out,
                size_t *nout)
{
    size_t nq = 0, done = 0;
    int rc = 0;
    const char *site_tz = NULL;
    (void)plt_cfg_str(cfg, "time_zone", &site_tz);
    (void)plt_cfg_count(cfg, "queues", &nq);
    acd_queue *v = nq ? calloc(nq, sizeof(*v)) : NULL;
    if (nq && !v)
        return PLT_ENOMEM;
    for (size_t i = 0; rc == 0 && i < nq; i++) {
        const plt_cfg *c;
        if ((rc = plt_cfg_table_at(cfg, "queues", i, &c)) != 0)
            break;
        done = i + 1;
        if ((rc = load_queue(s, &v[i], c, site_tz, may_open)) != 0)
            break;
        if (find_in(v, i, v[i].name)) {
            plt_set_error("queue %s is defined twice", v[i].name);
            rc = PLT_ECONFIG;
        }
    }
    for (size_t i = 0; rc == 0 && i < nq; i++) {
        acd_queue *q = &v[i];
        for (int k = 0; rc == 0 && k < ACD_WHY_N; k++) {
            const acd_action *a = &q->on[k];
            if (a->kind == ACD_OVF_QUEUE &&
                (!find_in(v, nq, a->target) ||
                 strcmp(a->target, q->name) == 0)) {
                plt_set_error("queue %s: %s to unknown queue %s", q->name,
                              trigger_keys[k], a->target);
                rc = PLT_ECONFIG;
            }
        }
    }
    if (rc != 0) {
        for (size_t i = 0; i < done; i++)
            acd_queue_clear(&v[i]);
        free(v);
        return rc;
    }
    *out = v;
    *nout = nq;
    return 0;
}

int
acd_config_load(acd *s, const plt_cfg *cfg)
{
    size_t na = 0;
    int64_t seed = 1;
    int rc;
    (void)plt_cfg_int(cfg, "seed", &seed);
    s->rng = (uint64_t)seed;
    (void)plt_cfg_duration_ms(cfg, "offer_ring", &s->offer_ring_ms);
    (void)plt_cfg_duration_ms(cfg, "ivr_claim", &s->ivr_claim_ms);
    const char *site_tz = NULL;
    (void)plt_cfg_str(cfg, "time_zone", &site_tz);
    /* Init may block: every zone named is read here. */
    if ((rc = acd_zone_get(s, site_tz, true, &s->site_zone)) != 0) {
        plt_set_error("unknown time zone %s", site_tz ? site_tz : "");
        return PLT_ECONFIG;
    }
    if ((rc = acd_queues_load(s, cfg, true, &s->q, &s->nq)) != 0)
        return rc;
    s->nq_all = s->nq;
    (void)plt_cfg_count(cfg, "agents", &na);
    for (size_t i = 0; i < na; i++) {
        const plt_cfg *c;
        acd_agent *a = NULL;
        if ((rc = plt_cfg_table_at(cfg, "agents", i, &c)) == 0)
            rc = acd_agent_parse(c, s->q, s->nq, &a);
        if (rc == 0 && acd_agent_find(s, a->login)) {
            plt_set_error("agent %s is listed twice", a->login);
            rc = PLT_ECONFIG;
        }
        if (rc == 0)
            rc = acd_agent_add(s, a);
        if (rc != 0) {
            acd_agent_free(a);
            return rc;
        }
    }
    return acd_index_agents(s);
}

int
acd_agent_add(acd *s, acd_agent *a)
{
    acd_agent **v = realloc(s->a, (s->na + 1) * sizeof(*v));
    if (!v)
        return PLT_ENOMEM;
    s->a = v;
    a->index = s->na;
    s->a[s->na++] = a;
    acd_agent_hash_add(s, a);
    return 0;
}

int
acd_index_agents(acd *s)
{
    for (size_t i = 0; i < s->nq; i++) {
        acd_queue *q = &s->q[i];
        size_t n = 0;
        for (size_t k = 0; k < s->na; k++)
            n += acd_agent_in_queue(s->a[k], q);
        acd_agent **v = n ? malloc(n * sizeof(*v)) : NULL;
        if (n && !v)
            return PLT_ENOMEM;
        n = 0;
        for (size_t k = 0; k < s->na; k++)
            if (acd_agent_in_queue(s->a[k], q))
                v[n++] = s->a[k];
        free(q->agents);
        q->agents = v;
        q->nagents = n;
    }
    return 0;
}

void
acd_agent_free(acd_agent *a)
{
    if (!a)
        return;
    free(a->login);
    acd_skills_free(a->skills, a->nskills);
    strv_free(a->queues, a->nqueues);
    free(a);
}

void
acd_free_all(acd *s)
{
    while (s->callers)
        acd_caller_remove(s->callers);
    acd_pending_free_all(s, false);
    s->site_zone = NULL; /* one of the zones */
    for (size_t i = 0; i < s->nq_all; i++)
        acd_queue_clear(&s->q[i]);
    free(s->q);
    for (size_t i = 0; i < s->na; i++)
        acd_agent_free(s->a[i]);
    free(s->a);
    free(s->ah);
    s->ah = NULL;
    s->ahcap = 0;
    for (size_t i = 0; i < s->nzones; i++)
        schedule_zone_free(s->zones[i]);
    free(s->zones);
}

acd_queue *
acd_queue_find(acd *s, const char *name)
{
    for (size_t i = 0; name && i < s->nq; i++)
        if (strcmp(s->q[i].name, name) == 0)
            return &s->q[i];
    return NULL;
}

/* Agents by login. The dialer asks serves() for every agent of a campaign
 * at each pacing decision, and events name agents by login: a linear
 * search made that quadratic in the size of the team. */
static size_t
login_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static void
ah_put(acd_agent **t, size_t cap, acd_agent *a)
{
    size_t i = login_hash(a->login) & (cap - 1);
    while (t[i])
        i = (i + 1) & (cap - 1);
    t[i] = a;
}

void
acd_agent_hash_add(acd *s, acd_agent *a)
{
    if (s->na * 2 <= s->ahcap) {
        ah_put(s->ah, s->ahcap, a);
        return;
    }
    size_t cap = s->ahcap ? s->ahcap * 2 : 64;
    while (cap < s->na * 2)
        cap *= 2;
    acd_agent **t = calloc(cap, sizeof(*t));
    free(s->ah);
    s->ah = t;
    s->ahcap = t ? cap : 0; /* out of memory: linear search */
    for (size_t i = 0; t && i < s->na; i++)
        ah_put(t, cap, s->a[i]);
}

acd_agent *
acd_agent_find(acd *s, const char *login)
{
    if (!login)
        return NULL;
    if (s->ahcap) {
        for (size_t i = login_hash(login) & (s->ahcap - 1); s->ah[i];
             i = (i + 1) & (s->ahcap - 1))
            if (strcmp(s->ah[i]->login, login) == 0)
                return s->ah[i];
        return NULL;
    }
    for (size_t i = 0; i < s->na; i++)
        if (strcmp(s->a[i]->login, login) == 0)
            return s->a[i];
    return NULL;
}

bool
acd_agent_in_queue(const acd_agent *a, const acd_queue *q)
{
    for (size_t i = 0; i < a->nqueues; i++)
        if (strcmp(a->queues[i], q->name) == 0)
            return true;
    return false;
}

bool
acd_serves(void *impl, const char *agent, const char *queue)
{
    acd *s = impl;
    const acd_agent *a = acd_agent_find(s, agent);
    if (!a || !queue)
        return false;
    for (size_t i = 0; i < a->nqueues; i++)
        if (strcmp(a->queues[i], queue) == 0)
            return true;
    return false;
}

size_t
acd_queue_count(void *impl)
{
    return ((acd *)impl)->nq;
}

const char *
acd_queue_at(void *impl, size_t i)
{
    acd *s = impl;
    return i < s->nq ? s->q[i].name : NULL;
}

/* ---- callers ---- */

/* Serving order: priority first, then the longest wait, then join order. */
static bool
before(const acd_caller *x, const acd_caller *y)
{
    if (x->priority != y->priority)
        return x->priority > y->priority;
    if (x->joined_at != y->joined_at)
        return x->joined_at < y->joined_at;
    return x->seq < y->seq;
}

/* The list is in serving order: the callers ahead are the ones before. */
size_t
acd_position(const acd_caller *c)
{
    size_t pos = 1;
    for (const acd_caller *o = c->prev; o; o = o->prev)
        if (o->q == c->q && o->state != ACD_BRIDGED)
            pos++;
    return pos;
}

/* Insert @p c at its place in serving order; callers mostly join last, so
 * the walk starts from the end. */
static void
list_insert(acd *s, acd_caller *c)
{
    acd_caller *after = s->last;
    while (after && before(c, after))
        after = after->prev;
    c->prev = after;
    c->next = after ? after->next : s->callers;
    if (c->next)
        c->next->prev = c;
    else
        s->last = c;
    if (after)
        after->next = c;
    else
        s->callers = c;
}

plt_event *
acd_event(const acd_caller *c, const char *topic)
{
    plt_event *ev;
    if (plt_event_new(&ev, topic, 1) != 0)
        return NULL;
    plt_event_set_str(ev, "request_id", c->id);
    plt_event_set_str(ev, "queue", c->q->name);
    plt_event_set_str(ev, "leg_id", c->leg_id);
    for (size_t i = 0; i < c->nvars; i++) {
        char key[80];
        snprintf(key, sizeof(key), "var_%s", c->vars[i].key);
        plt_event_set_str(ev, key, c->vars[i].value);
    }
    return ev;
}

static void
caller_timers_stop(acd_caller *c)
{
    if (c->offer_timer) {
        plt_timer_stop(c->offer_timer);
        c->offer_timer = NULL;
    }
    if (c->relax_timer) {
        plt_timer_stop(c->relax_timer);
        c->relax_timer = NULL;
    }
    if (c->wait_timer) {
        plt_timer_stop(c->wait_timer);
        c->wait_timer = NULL;
    }
    if (c->announce_timer) {
        plt_timer_stop(c->announce_timer);
        c->announce_timer = NULL;
    }
    for (size_t i = 0; i < c->noffers; i++) {
        if (c->offers[i].ring_timer) {
            plt_timer_stop(c->offers[i].ring_timer);
            c->offers[i].ring_timer = NULL;
        }
    }
}

void
acd_caller_remove(acd_caller *c)
{
    acd *s = c->s;
    if (c->prev)
        c->prev->next = c->next;
    else if (s->callers == c)
        s->callers = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else if (s->last == c)
        s->last = c->prev;
    c->prev = c->next = NULL;
    caller_timers_stop(c);
    acd_announce_free(c);
    free(c->offers);
    if (c->leg)
        s->tel.vt->leg_unref(s->tel.impl, c->leg);
    free(c->leg_id);
    acd_skills_free(c->skills, c->nskills);
    free(c->only_agent);
    for (size_t i = 0; i < c->nvars; i++) {
        free((char *)c->vars[i].key);
        free((char *)c->vars[i].value);
    }
    free(c->vars);
    strv_free(c->tried, c->ntried);
    free(c);
}

void
acd_stop_all(acd *s)
{
    for (acd_caller *c = s->callers; c; c = c->next)
        caller_timers_stop(c);
    acd_pending_free_all(s, true);
    acd_hours_stop(s);
    acd_days_stop(s);
    for (size_t i = 0; i < s->na; i++) {
        if (s->a[i]->rest_timer) {
            plt_timer_stop(s->a[i]->rest_timer);
            s->a[i]->rest_timer = NULL;
        }
    }
}

static bool
relaxable(const acd_caller *c)
{
    const acd_queue *q = c->q;
    if (q->relax_after_ms <= 0 || q->relax_step <= 0)
        return false;
    for (size_t k = 0; k < q->nskills + c->nskills; k++) {
        const acd_skill *sk =
            k < q->nskills ? &q->skills[k] : &c->skills[k - q->nskills];
        if (acd_required_level(q, sk->level, c->relax_steps) > 0)
            return true;
    }
    return false;
}

static void
on_relax(void *arg)
{
    acd_caller *c = arg;
    c->relax_steps++;
    plt_log(PLT_LOG_DEBUG, "queue %s: %s relaxed (step %d)", c->q->name,
            c->id, c->relax_steps);
    if (!relaxable(c) && c->relax_timer) {
        plt_timer_stop(c->relax_timer);
        c->relax_timer = NULL;
    }
    acd_dispatch_caller(c->s, c);
}

static void
relax_arm(acd_caller *c)
{
    if (c->relax_timer) {
        plt_timer_stop(c->relax_timer);
        c->relax_timer = NULL;
    }
    if (relaxable(c) &&
        plt_timer_start(&c->relax_timer, (uint64_t)c->q->relax_after_ms,
                        (uint64_t)c->q->relax_after_ms, on_relax, c) != 0)
        c->relax_timer = NULL;
}

static void on_max_wait(void *arg);

static void
wait_arm(acd_caller *c)
{
    int64_t left = c->max_wait_ms - (plt_now() - c->joined_at);
    if (c->max_wait_ms <= 0 || c->q->on[ACD_WHY_MAX_WAIT].kind == ACD_OVF_NONE)
        return;
    if (plt_timer_start(&c->wait_timer, left > 0 ? (uint64_t)left : 0, 0,
                        on_max_wait, c) != 0)
        c->wait_timer = NULL;
}

static void
publish_joined(acd_caller *c)
{
    c->q->day.joined++;
    c->q->day.offered++;
    plt_event *ev = acd_event(c, "queue.joined");
    if (ev) {
        plt_event_set_i64(ev, "priority", c->priority);
        plt_event_set_i64(ev, "position", (int64_t)acd_position(c));
        plt_event_publish(ev);
    }
}

/* Max wait reached: the queue's overflow decides. */
static void
on_max_wait(void *arg)
{
    acd_caller *c = arg;
    c->wait_timer = NULL; /* one-shot: released by the core */
    (void)acd_overflow(c, ACD_WHY_MAX_WAIT);
}

void
acd_caller_move(acd_caller *c, acd_queue *to, int64_t wait)
{
    /* Another queue: the caller keeps their seniority (joined_at), so
     * global fairness still counts the whole wait; requirements and
     * relaxation restart with the new queue's. */
    if (c->wait_timer) {
        plt_timer_stop(c->wait_timer);
        c->wait_timer = NULL;
    }
    c->q = to;
    c->relax_steps = 0;
    c->max_wait_ms = to->max_wait_ms;
    publish_joined(c);
    /* The target may be closed, full or unstaffed too: its own action
     * then. Queues rerouting to each other stop after a few hops, the
     * caller staying in the last one. */
    acd *s = c->s;
    int why = s->move_depth < ACD_MAX_REROUTES ? acd_join_trigger(s, to) : -1;
    if (why >= 0) {
        s->move_depth++;
        (void)acd_overflow(c, why);
        s->move_depth--;
        return;
    }
    relax_arm(c);
    if (c->max_wait_ms > 0 && to->on[ACD_WHY_MAX_WAIT].kind != ACD_OVF_NONE) {
        /* Measured from the overflow, not from the first join. */
        c->max_wait_ms += wait;
        wait_arm(c);
    }
    acd_caller_answered_leg(c);
    acd_dispatch_caller(c->s, c);
    if (c->state != ACD_BRIDGED)
        acd_announce_arm(c);
}

static acd_caller *
find_by_leg(acd *s, const char *leg_id)
{
    for (acd_caller *c = s->callers; leg_id && c; c = c->next)
        if (strcmp(c->leg_id, leg_id) == 0)
            return c;
    return NULL;
}

static int
copy_request(acd_caller *c, const plt_acd_request *r)
{
    if (r->nskills) {
        c->skills = calloc(r->nskills, sizeof(*c->skills));
        if (!c->skills)
            return PLT_ENOMEM;
        for (size_t i = 0; i < r->nskills; i++) {
            if (!r->skills[i].skill)
                return PLT_EINVAL;
            c->nskills = i + 1;
            if (!(c->skills[i].name = strdup(r->skills[i].skill)))
                return PLT_ENOMEM;
            c->skills[i].level = r->skills[i].level;
        }
    }
    if (r->nvars) {
        c->vars = calloc(r->nvars, sizeof(*c->vars));
        if (!c->vars)
            return PLT_ENOMEM;
        for (size_t i = 0; i < r->nvars; i++) {
            if (!r->vars[i].key || !r->vars[i].value)
                return PLT_EINVAL;
            c->nvars = i + 1;
            c->vars[i].key = strdup(r->vars[i].key);
            c->vars[i].value = strdup(r->vars[i].value);
            if (!c->vars[i].key || !c->vars[i].value)
                return PLT_ENOMEM;
        }
    }
    if (r->agent && !(c->only_agent = strdup(r->agent)))
        return PLT_ENOMEM;
    if (!(c->leg_id = strdup(r->leg_id)))
        return PLT_ENOMEM;
    return 0;
}

int
acd_enqueue(void *impl, const plt_acd_request *r, char request_id[32])
{
    acd *s = impl;
    if (!r || r->size < sizeof(*r) || !r->queue || !r->leg_id || !request_id)
        return PLT_EINVAL;
    acd_queue *q = acd_queue_find(s, r->queue);
    if (!q)
        return PLT_ENOENT;
    if (find_by_leg(s, r->leg_id))
        return PLT_ESTATE;
    plt_leg *leg;
    if (s->tel.vt->leg_find(s->tel.impl, r->leg_id, &leg) != 0)
        return PLT_ENOENT;
    plt_leg_info info = {.size = sizeof(info)};
    if (s->tel.vt->leg_info(s->tel.impl, leg, &info) != 0 ||
        info.state == PLT_LEG_ENDED) {
        s->tel.vt->leg_unref(s->tel.impl, leg);
        return PLT_ESTATE;
    }
    acd_caller *c = calloc(1, sizeof(*c));
    if (!c) {
        s->tel.vt->leg_unref(s->tel.impl, leg);
        return PLT_ENOMEM;
    }
    c->s = s;
    c->leg = leg;
    c->q = q;
    int rc = copy_request(c, r);
    if (rc != 0) {
        acd_caller_remove(c);
        return rc;
    }
    c->priority = r->priority;
    c->joined_at = plt_now();
    c->seq = ++s->seq;
    c->max_wait_ms = r->max_wait_ms ? (int64_t)r->max_wait_ms : q->max_wait_ms;
    snprintf(c->id, sizeof(c->id), "Q%llu", (unsigned long long)++s->next_id);
    list_insert(s, c);
    /* An inbound caller still ringing is answered now, so that the trunk
     * does not reject it while it waits; then hold music. */
    if (info.state == PLT_LEG_RINGING && info.inbound) {
        rc = s->tel.vt->answer(s->tel.impl, leg);
        if (rc != 0)
            plt_log_err(PLT_LOG_WARN, rc, "queue %s: cannot answer leg %s",
                        q->name, c->leg_id);
    }
    snprintf(request_id, 32, "%s", c->id);
    publish_joined(c);
    /* Closed, full, or nobody to serve it: the queue's action at once. */
    int why = acd_join_trigger(s, q);
    if (why >= 0) {
        (void)acd_overflow(c, why);
        return 0;
    }
    acd_caller_answered_leg(c);
    relax_arm(c);
    wait_arm(c);
    acd_dispatch_caller(s, c);
    /* Announced only to a caller who was not served at once. */
    if (c->state != ACD_BRIDGED)
        acd_announce_arm(c);
    return 0;
}

int
acd_cancel(void *impl, const char *request_id, const char *reason)
{
    acd *s = impl;
    acd_caller *c = s->callers;
    while (c && (!request_id || strcmp(c->id, request_id) != 0))
        c = c->next;
    if (!c)
        return PLT_ENOENT;
    if (c->state == ACD_BRIDGED)
        return PLT_ESTATE;
    bool freed = c->state == ACD_OFFERING;
    if (freed)
        acd_offer_abort(c, false);
    acd_caller_silence(c);
    plt_event *ev = acd_event(c, "queue.left");
    if (ev) {
        plt_event_set_str(ev, "reason", reason ? reason : "cancelled");
        plt_event_publish(ev);
    }
    acd_caller_remove(c);
    if (freed)
        acd_dispatch(s); /* its agents are free again */
    return 0;
}

/* Take @p a out of @p q's agent list. */
static void
queue_del(acd_queue *q, acd_agent *a)
{
    for (size_t i = 0; q && i < q->nagents; i++) {
        if (q->agents[i] == a) {
            memmove(&q->agents[i], &q->agents[i + 1],
                    (q->nagents - i - 1) * sizeof(*q->agents));
            q->nagents--;
            return;
        }
    }
}

/* Put @p a in @p q's agent list at its configured place; the list has room
 * for one more (set_agent reserved it). */
static void
queue_add(acd_queue *q, acd_agent *a)
{
    size_t at = q->nagents;
    for (size_t i = 0; i < q->nagents; i++) {
        if (q->agents[i] == a)
            return;
        if (at == q->nagents && q->agents[i]->index > a->index)
            at = i;
    }
    memmove(&q->agents[at + 1], &q->agents[at],
            (q->nagents - at) * sizeof(*q->agents));
    q->agents[at] = a;
    q->nagents++;
}

int
acd_set_agent(void *impl, const char *agent, const plt_acd_skill *sk,
              size_t nskills, const char *const *queues, size_t nqueues,
              plt_acd_done_fn done, void *arg)
{
    acd *s = impl;
    if (!agent || (nskills && !sk) || (nqueues && !queues))
        return PLT_EINVAL;
    for (size_t i = 0; i < nqueues; i++)
        if (!acd_queue_find(s, queues[i]))
            return PLT_ENOENT;
    /* Build the new values completely before replacing the old ones, so
     * that a failure leaves the agent as it was. */
    acd_skill *nsk = nskills ? calloc(nskills, sizeof(*nsk)) : NULL;
    char **nq = nqueues ? calloc(nqueues, sizeof(*nq)) : NULL;
    bool oom = (nskills && !nsk) || (nqueues && !nq);
    for (size_t i = 0; !oom && i < nskills; i++) {
        nsk[i].level = sk[i].level;
        oom = !sk[i].skill || !(nsk[i].name = strdup(sk[i].skill));
    }
    for (size_t i = 0; !oom && i < nqueues; i++)
        oom = !(nq[i] = strdup(queues[i]));
    acd_agent *a = acd_agent_find(s, agent);
    bool fresh = false;
    if (!oom && !a) {
        acd_agent **v = realloc(s->a, (s->na + 1) * sizeof(*v));
        if (v)
            s->a = v;
        a = v ? calloc(1, sizeof(*a)) : NULL;
        if (a && !(a->login = strdup(agent))) {
            free(a);
            a = NULL;
        }
        oom = !a;
        fresh = !oom;
    }
    if (oom) {
        acd_skills_free(nsk, nskills);
        strv_free(nq, nqueues);
        return PLT_ENOMEM;
    }
    if (fresh) {
        a->offer_ring_ms = -1;
        a->index = s->na;
        s->a[s->na++] = a;
        acd_agent_hash_add(s, a);
    }
    /* Room in each new queue's agent list first: past this point nothing
     * can fail, so a failure leaves the agent as it was. */
    for (size_t i = 0; i < nqueues; i++) {
        acd_queue *q = acd_queue_find(s, queues[i]);
        acd_agent **v = realloc(q->agents, (q->nagents + 1) * sizeof(*v));
        if (!v) {
            acd_skills_free(nsk, nskills);
            strv_free(nq, nqueues);
            return PLT_ENOMEM;
        }
        q->agents = v;
    }
    for (size_t i = 0; i < a->nqueues; i++)
        queue_del(acd_queue_find(s, a->queues[i]), a);
    for (size_t i = 0; i < nqueues; i++)
        queue_add(acd_queue_find(s, queues[i]), a);
    strv_free(a->queues, a->nqueues);
    a->queues = nq;
    a->nqueues = nqueues;
    acd_skills_free(a->skills, a->nskills);
    a->skills = nsk;
    a->nskills = nskills;
    /* What the agent can take changed: a whole pass settles it again. */
    a->settled = 0;
    if (done)
        done(arg, 0, NULL);
    acd_dispatch(s);
    return 0;
}

/* ---- distribution ---- */

/* A caller whose eligibility depends on its queue and relaxation only. */
static bool
plain(const acd_caller *c)
{
    return !c->nskills && !c->only_agent && !c->ntried;
}

enum { SERVE_NONE, SERVE_OFFERED, SERVE_SKIPPED, SERVE_UNSETTLED };

/* Offer @p c to the agent its strategy picks, if any. With @p settled_only,
 * a choice among agents not settled yet is left to a whole pass. */
static int
serve(acd *s, acd_caller *c, bool settled_only)
{
    acd_choice ch;
    if (acd_choose(s, c->q, c->skills, c->nskills, c->relax_steps,
                   c->only_agent, c->tried, c->ntried, &ch, NULL, NULL) != 0)
        return SERVE_SKIPPED;
    int r = SERVE_NONE;
    if (!ch.agent) {
        r = SERVE_NONE;
    } else if (settled_only && ch.unsettled) {
        r = SERVE_UNSETTLED;
    } else if (!acd_leg_live(s, c->leg)) {
        /* Hung up in this instant: call.ended, on its way, removes it. */
        c->gone = true;
        r = SERVE_SKIPPED;
    } else if (acd_offer_start(c, &ch) == 0) {
        /* The cursor and the stream move only for an offer made. */
        acd_choice_commit(s, c->q, &ch);
        r = SERVE_OFFERED;
    } else {
        r = SERVE_SKIPPED;
    }
    acd_choice_free(&ch);
    return r;
}

/* One pass over the waiting callers in serving order. */
static void
pass(acd *s)
{
    uint64_t p = ++s->pass;
    for (acd_caller *c = s->callers; c && !s->again; c = c->next) {
        if (c->state != ACD_WAITING || c->gone)
            continue;
        acd_queue *q = c->q;
        bool pl = plain(c);
        if (pl && q->empty_pass == p && c->relax_steps <= q->empty_steps)
            continue;
        /* Offers only make agents busy, so a caller passed over earlier in
         * this pass still has nobody: no need to start again from the
         * top, unless something freed an agent (s->again). */
        if (serve(s, c, false) == SERVE_NONE && pl &&
            (q->empty_pass != p || c->relax_steps > q->empty_steps)) {
            q->empty_pass = p;
            q->empty_steps = c->relax_steps;
        }
    }
}

void
acd_dispatch(acd *s)
{
    /* An offer can end synchronously (auto-answer) and change who is
     * available; re-entering would walk a stale order, so a nested call
     * only asks for another round. */
    if (!s->started)
        return;
    if (s->dispatching) {
        s->again = true;
        return;
    }
    s->dispatching = true;
    do {
        s->again = false;
        pass(s);
    } while (s->again);
    s->dispatching = false;
}

void
acd_dispatch_caller(acd *s, acd_caller *c)
{
    if (!s->started || c->state != ACD_WAITING || c->gone)
        return;
    if (s->dispatching) {
        s->again = true;
        return;
    }
    s->dispatching = true;
    s->again = false;
    bool whole = serve(s, c, true) == SERVE_UNSETTLED;
    s->dispatching = false;
    if (whole || s->again)
        acd_dispatch(s);
}

typedef struct agent_look {
    bool available;
    uint64_t changes;
} agent_look;

static void
on_look(void *arg, int status, const plt_agent_info *i)
{
    agent_look *l = arg;
    if (status == 0 && i && i->state == PLT_AGENT_AVAILABLE &&
        i->size >= offsetof(plt_agent_info, changes) + sizeof(i->changes)) {
        l->available = true;
        l->changes = i->changes;
    }
}

void
acd_on_agent_event(const plt_event *ev, void *arg)
{
    acd *s = arg;
    const char *to = plt_event_str(ev, "to");
    if (to && (strcmp(to, "pause") == 0 || strcmp(to, "logged_out") == 0)) {
        acd_overflow_staffing(s, plt_event_str(ev, "agent"));
        return;
    }
    if (!to || strcmp(to, "available") != 0)
        return;
    acd_dispatch(s);
    /* The pass matched this agent against every waiting caller: until its
     * state changes, a caller alone can be matched without a whole pass. */
    acd_agent *a = acd_agent_find(s, plt_event_str(ev, "agent"));
    agent_look l = {0};
    if (a && s->started &&
        s->ag.vt->get(s->ag.impl, a->login, on_look, &l) == 0 &&
        l.available && l.changes != UINT64_MAX)
        a->settled = l.changes;
}

static void
on_inbound(acd *s, const plt_event *ev)
{
    const char *did = plt_event_str(ev, "did");
    const char *dir = plt_event_str(ev, "direction");
    const char *leg = plt_event_str(ev, "leg_id");
    if (!did || !leg || !dir || strcmp(dir, "inbound") != 0)
        return;
    for (size_t i = 0; i < s->nq; i++) {
        for (size_t k = 0; k < s->q[i].ndids; k++) {
            if (strcmp(s->q[i].dids[k], did) != 0)
                continue;
            plt_acd_request r = {
                .size = sizeof(r), .queue = s->q[i].name, .leg_id = leg};
            char id[32];
            int rc = acd_enqueue(s, &r, id);
            if (rc != 0)
                plt_log_err(PLT_LOG_WARN, rc, "queue %s: inbound leg %s",
                            s->q[i].name, leg);
            return;
        }
    }
}

void
acd_on_call_event(const plt_event *ev, void *arg)
{
    acd *s = arg;
    const char *topic = plt_event_topic(ev);
    if (strcmp(topic, "call.created") == 0) {
        on_inbound(s, ev);
        return;
    }
    if (acd_pending_event(s, ev) || acd_offer_leg_event(s, ev))
        return;
    bool played = strcmp(topic, "call.play_finished") == 0;
    if (!played && strcmp(topic, "call.ended") != 0)
        return;
    acd_caller *c = find_by_leg(s, plt_event_str(ev, "leg_id"));
    if (!c)
        return;
    if (played) {
        acd_caller_play_finished(c, plt_event_str(ev, "play_id"));
        return;
    }
    if (c->state == ACD_BRIDGED) {
        acd_caller_ended(c);
        return;
    }
    /* The caller hung up while waiting (or while being offered). */
    bool freed = c->state == ACD_OFFERING;
    if (freed)
        acd_offer_abort(c, false);
    int64_t wait = plt_now() - c->joined_at;
    size_t pos = acd_position(c);
    c->q->day.abandoned++;
    if (wait > c->q->sl_ms)
        c->q->day.abandoned_after_sl++;
    plt_event *out = acd_event(c, "queue.abandoned");
    if (out) {
        plt_event_set_i64(out, "wait_ms", wait);
        plt_event_set_i64(out, "position", (int64_t)pos);
        plt_event_publish(out);
    }
    acd_caller_remove(c);
    if (freed)
        acd_dispatch(s); /* its agents are free again */
}
