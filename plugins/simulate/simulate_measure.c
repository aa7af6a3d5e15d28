/* SPDX-License-Identifier: MIT */
/*
 * One simulated day of the real plugins, measured (`plateau simulate-day`,
 * run by `plateau simulate` in a child process with the scenario's
 * configuration and the simulated clock).
 *
 * It loads `contacts` contacts into a new list attached to the campaign,
 * enables the campaign, lets the dialer, the ACD, the agents and the
 * simulated world run for `day_length`, disables the campaign, waits
 * `drain` for calls to end, and prints the day's raw figures as one line
 * ("simulate-day key=value ..."). Everything is measured from events:
 * dialer.attempt.started (dials); call.answered with the simulation's
 * truth `sim_party` (live answers: humans); call.amd_result (a human
 * classified machine: AMD false positive); dialer.call.abandoned (a human
 * not connected within the deadline); dialer.attempt.ended with a
 * connected agent and a machine on the line (machine handling); and
 * agent.state_changed (in_call / reserved / wrap_up time, clipped to the
 * day; logged-in time from each agent's login).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plateau/svc/dialer.h>
#include <plateau/svc/leads.h>

#include "simulate_int.h"

/* Who answered each outbound leg: an open-addressing table of leg ids. */
typedef struct leg_slot {
    char *id;
    char party; /* 'h' human, 'm' machine */
    char fp;    /* AMD said machine to a human */
} leg_slot;

typedef struct agent_slot {
    char *name;
    int64_t login, since;
    char state[16];
} agent_slot;

typedef struct measure {
    plt_sub *subs[6];
    leg_slot *legs;
    size_t nlegs, caplegs;
    agent_slot *agents;
    size_t nagents, capagents;
    simulate_day day;
    int64_t day0, day_end; /* 0 until the campaign is enabled */
    double oncall_s;       /* in_call + reserved, clipped */
    /* the run */
    plt_leads leads;
    plt_dialer dialer;
    int64_t list_id, loaded;
    plt_timer *timer;
    int phase;
    int failed;
} measure;

static measure M;

static uint64_t
hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static leg_slot *
leg_find(const char *id, int create)
{
    if (!id)
        return NULL;
    if (create && (M.nlegs + 1) * 2 > M.caplegs) {
        size_t nc = M.caplegs ? M.caplegs * 2 : 4096;
        leg_slot *t = calloc(nc, sizeof *t);
        if (!t)
            return NULL;
        for (size_t i = 0; i < M.caplegs; i++) {
            if (!M.legs[i].id)
                continue;
            size_t j = hash(M.legs[i].id) & (nc - 1);
            while (t[j].id)
                j = (j + 1) & (nc - 1);
            t[j] = M.legs[i];
        }
        free(M.legs);
        M.legs = t;
        M.caplegs = nc;
    }
    if (!M.caplegs)
        return NULL;
    size_t j = hash(id) & (M.caplegs - 1);
    while (M.legs[j].id) {
        if (!strcmp(M.legs[j].id, id))
            return &M.legs[j];
        j = (j + 1) & (M.caplegs - 1);
    }
    if (!create)
        return NULL;
    M.legs[j].id = strdup(id);
    if (!M.legs[j].id)
        return NULL;
    M.nlegs++;
    return &M.legs[j];
}

static int
hour_now(void)
{
    int64_t t = plt_now() - M.day0;
    return t < 0 ? 0 : (int)(t / 3600000);
}

static int
in_day(void)
{
    return M.day0 && plt_now() >= M.day0;
}

static void
on_answered(const plt_event *ev, void *arg)
{
    (void)arg;
    const char *party = plt_event_str(ev, "sim_party");
    const char *dir = plt_event_str(ev, "direction");
    if (!party || !dir || strcmp(dir, "outbound") || !strcmp(party, "agent"))
        return;
    leg_slot *l = leg_find(plt_event_str(ev, "leg_id"), 1);
    if (!l) {
        M.failed = 1;
        return;
    }
    l->party = party[0] == 'm' ? 'm' : 'h';
    if (l->party == 'h' && in_day())
        simulate_day_live(&M.day, hour_now(), 0, 0);
}

/* simulate_day_live() counted the human as connected; these move it. */
static void
reclassify(int fp)
{
    int h = hour_now();
    if (M.day.connects > 0)
        M.day.connects--;
    if (fp)
        M.day.amd_fp++;
    else
        M.day.abandons++;
    if (h >= SIMULATE_HOURS)
        h = SIMULATE_HOURS - 1;
    M.day.hour_bad[h]++;
}

static void
on_amd(const plt_event *ev, void *arg)
{
    (void)arg;
    const char *r = plt_event_str(ev, "result");
    leg_slot *l = leg_find(plt_event_str(ev, "leg_id"), 0);
    if (l && l->party == 'h' && r && !strcmp(r, "machine") && !l->fp &&
        in_day()) {
        l->fp = 1;
        reclassify(1);
    }
}

static void
on_abandoned(const plt_event *ev, void *arg)
{
    (void)arg;
    const char *why = plt_event_str(ev, "reason");
    leg_slot *l = leg_find(plt_event_str(ev, "leg_id"), 0);
    if (l && l->party == 'h' && !l->fp && in_day() &&
        (!why || strcmp(why, "amd_false_positive")))
        reclassify(0);
}

static void
on_attempt(const plt_event *ev, void *arg)
{
    (void)arg;
    if (!in_day())
        return;
    if (!strcmp(plt_event_topic(ev), "dialer.attempt.started")) {
        M.day.dials++;
        return;
    }
    leg_slot *l = leg_find(plt_event_str(ev, "leg_id"), 0);
    if (l && l->party == 'm' && plt_event_str(ev, "connected_agent"))
        M.day.machine_s += (double)plt_event_i64(ev, "talk_ms", 0) / 1000.0;
}

static agent_slot *
agent_find(const char *name)
{
    for (size_t i = 0; i < M.nagents; i++)
        if (!strcmp(M.agents[i].name, name))
            return &M.agents[i];
    if (M.nagents == M.capagents) {
        size_t nc = M.capagents ? M.capagents * 2 : 64;
        agent_slot *t = realloc(M.agents, nc * sizeof *t);
        if (!t)
            return NULL;
        M.agents = t;
        M.capagents = nc;
    }
    agent_slot *a = &M.agents[M.nagents];
    memset(a, 0, sizeof *a);
    a->name = strdup(name);
    if (!a->name)
        return NULL;
    M.nagents++;
    return a;
}

/* Close the interval of agent @p a in its state up to @p to. */
static void
agent_close(agent_slot *a, int64_t to)
{
    if (!M.day0 || !a->since)
        return;
    double from = (double)a->since / 1000.0, t = (double)to / 1000.0;
    double d0 = (double)M.day0 / 1000.0, d1 = (double)M.day_end / 1000.0;
    if (!strcmp(a->state, "in_call") || !strcmp(a->state, "reserved"))
        M.oncall_s += simulate_day_agent_time(&M.day, 0, from, t, d0, d1);
    else if (!strcmp(a->state, "wrap_up"))
        simulate_day_agent_time(&M.day, 2, from, t, d0, d1);
}

static void
on_agent(const plt_event *ev, void *arg)
{
    (void)arg;
    const char *name = plt_event_str(ev, "agent");
    const char *from = plt_event_str(ev, "from");
    const char *to = plt_event_str(ev, "to");
    if (!name || !from || !to)
        return;
    agent_slot *a = agent_find(name);
    if (!a) {
        M.failed = 1;
        return;
    }
    int64_t now = plt_now();
    agent_close(a, now);
    if (!strcmp(from, "logged_out"))
        a->login = now;
    if (!strcmp(to, "logged_out") && a->login) {
        /* Logged-in time of a session that ended during the day. */
        int64_t s = a->login > M.day0 ? a->login : M.day0;
        int64_t e = now < M.day_end ? now : M.day_end;
        if (M.day0 && e > s)
            M.day.logged_s += (double)(e - s) / 1000.0;
        a->login = 0;
    }
    a->since = now;
    snprintf(a->state, sizeof a->state, "%s", to);
}

int
simulate_measure_start(void)
{
    static const struct {
        const char *topic;
        plt_event_fn fn;
    } subs[] = {{"call.answered", on_answered},
                {"call.amd_result", on_amd},
                {"dialer.call.abandoned", on_abandoned},
                {"dialer.attempt.started", on_attempt},
                {"dialer.attempt.ended", on_attempt},
                {"agent.state_changed", on_agent}};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        int rc = plt_subscribe(subs[i].topic, subs[i].fn, NULL, &M.subs[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void
simulate_measure_stop(void)
{
    for (size_t i = 0; i < sizeof M.subs / sizeof M.subs[0]; i++) {
        if (M.subs[i])
            plt_unsubscribe(M.subs[i]);
        M.subs[i] = NULL;
    }
    if (M.timer)
        plt_timer_stop(M.timer);
    M.timer = NULL;
    for (size_t i = 0; i < M.caplegs; i++)
        free(M.legs[i].id);
    free(M.legs);
    for (size_t i = 0; i < M.nagents; i++)
        free(M.agents[i].name);
    free(M.agents);
    memset(&M, 0, sizeof M);
}

/* ---- the day ----------------------------------------------------------- */

static void fail(const char *what, int rc, const char *msg);
static void next_phase(void *arg);

static void
finish_day(void)
{
    int64_t now = plt_now();
    for (size_t i = 0; i < M.nagents; i++) {
        agent_slot *a = &M.agents[i];
        agent_close(a, now);
        a->since = now;
        if (a->login) {
            int64_t s = a->login > M.day0 ? a->login : M.day0;
            if (M.day_end > s)
                M.day.logged_s += (double)(M.day_end - s) / 1000.0;
            a->login = 0;
        }
    }
    /* Agents' time on machines AMD let through is not talk. */
    double talk = M.oncall_s - M.day.machine_s;
    M.day.talk_s = talk > 0 ? talk : 0;
    char line[2048];
    simulate_day_format(&M.day, line, sizeof line);
    printf("simulate-day %s\n", line);
    fflush(stdout);
    plt_command_done(M.failed ? 1 : 0);
}

static void
on_enabled(void *arg, int status, const char *msg)
{
    (void)arg;
    if (status != 0) {
        fail("campaign", status, msg);
        return;
    }
    if (M.phase == 1) {
        M.day0 = plt_now();
        M.day_end = M.day0 + simulate_conf.day_ms;
        /* Agents logged in before the day count from its start. */
        for (size_t i = 0; i < M.nagents; i++)
            if (M.agents[i].since && M.agents[i].since < M.day0)
                M.agents[i].since = M.day0;
        M.phase = 2;
        int rc = plt_timer_start(&M.timer, (uint64_t)simulate_conf.day_ms, 0,
                                 next_phase, NULL);
        if (rc != 0)
            fail("timer", rc, NULL);
    } else {
        M.phase = 4;
        int rc = plt_timer_start(&M.timer, (uint64_t)simulate_conf.drain_ms,
                                 0, next_phase, NULL);
        if (rc != 0)
            fail("timer", rc, NULL);
    }
}

static void
next_phase(void *arg)
{
    (void)arg;
    M.timer = NULL; /* one-shot */
    if (M.phase == 2) {
        M.phase = 3;
        int rc = M.dialer.vt->campaign_set_enabled(
            M.dialer.impl, simulate_conf.campaign, false, "simulate",
            on_enabled, NULL);
        if (rc != 0)
            fail("campaign off", rc, NULL);
    } else if (M.phase == 4) {
        finish_day();
    }
}

#define BATCH 2000

static void load_batch(void);

static void
on_added(void *arg, int status, const plt_lead_added *r, size_t n)
{
    (void)arg;
    (void)r;
    if (status != 0) {
        fail("contacts", status, NULL);
        return;
    }
    M.loaded += (int64_t)n;
    if (M.loaded < simulate_conf.contacts) {
        load_batch();
        return;
    }
    M.phase = 1;
    int rc = M.dialer.vt->campaign_set_enabled(
        M.dialer.impl, simulate_conf.campaign, true, "simulate", on_enabled,
        NULL);
    if (rc != 0)
        fail("campaign on", rc, NULL);
}

static void
load_batch(void)
{
    int64_t n = simulate_conf.contacts - M.loaded;
    if (n > BATCH)
        n = BATCH;
    plt_lead_new *c = calloc((size_t)n, sizeof *c);
    plt_lead_phone *p = calloc((size_t)n, sizeof *p);
    char(*num)[20] = calloc((size_t)n, 20);
    if (!c || !p || !num) {
        free(c);
        free(p);
        free(num);
        fail("contacts", PLT_ENOMEM, NULL);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        snprintf(num[i], 20, "+336%08d", (int)((M.loaded + i + 1) % 100000000));
        p[i].e164 = num[i];
        p[i].type = PLT_PHONE_MOBILE;
        c[i].phones = &p[i];
        c[i].nphones = 1;
        c[i].time_zone = simulate_conf.time_zone;
        c[i].line = M.loaded + i + 1;
    }
    plt_lead_add_opts o = {.size = sizeof o, .source = "simulate"};
    int rc = M.leads.vt->add_batch(M.leads.impl, M.list_id, c, (size_t)n, &o,
                                   on_added, NULL);
    free(c);
    free(p);
    free(num);
    if (rc != 0)
        fail("contacts", rc, NULL);
}

static void
on_attached(void *arg, int status, const char *msg)
{
    (void)arg;
    if (status != 0) {
        fail("list attach", status, msg);
        return;
    }
    load_batch();
}

static void
on_list(void *arg, int status, int64_t id)
{
    (void)arg;
    if (status != 0) {
        fail("list", status, NULL);
        return;
    }
    M.list_id = id;
    int rc = M.leads.vt->list_attach(M.leads.impl, simulate_conf.campaign, id,
                                     1, on_attached, NULL);
    if (rc != 0)
        fail("list attach", rc, NULL);
}

static void
fail(const char *what, int rc, const char *msg)
{
    fprintf(stderr, "plateau simulate-day: %s: %s%s%s\n", what,
            plt_strerror(rc), msg ? ": " : "", msg ? msg : "");
    plt_command_done(1);
}

int
simulate_day_run(plt_plugin *self, int argc, char **argv)
{
    (void)self;
    (void)argv;
    if (argc != 0) {
        fprintf(stderr, "usage: plateau simulate-day (with a scenario's "
                        "configuration; see plateau simulate)\n");
        return 2;
    }
    if (!plt_clock_simulated())
        plt_log(PLT_LOG_WARN, "simulate-day on the real clock takes a "
                              "real day");
    int rc = plt_leads_acquire(&M.leads);
    if (rc == 0)
        rc = plt_dialer_acquire(&M.dialer);
    if (rc != 0) {
        fprintf(stderr, "plateau simulate-day: the leads and dialer plugins "
                        "are needed: %s\n",
                plt_strerror(rc));
        return 1;
    }
    plt_lead_rules rules = {.country = "FR"};
    rc = M.leads.vt->list_create(M.leads.impl, simulate_conf.list, &rules,
                                 NULL, 0, on_list, NULL);
    if (rc != 0) {
        fprintf(stderr, "plateau simulate-day: list: %s\n", plt_strerror(rc));
        return 1;
    }
    return PLT_EINPROGRESS;
}
