/* SPDX-License-Identifier: MIT */
/*
 * bench_acd: what the ACD's routing costs under load, on the fake host
 * with the simulated clock and the real plugins (storage_sqlite.so,
 * sim.so, agents.so, acd.so, sim_agents.so as built). The scenario - N
 * agents, Q queues each requiring 1-3 of S skills at minimum levels with
 * mixed strategies, one DID per queue receiving Poisson calls totalling
 * R calls/s - is generated as YAML from a seeded PRNG and run twice in the
 * same process:
 *   - baseline: the same agents log in with the same skills but serve no
 *     queue, so every caller joins, waits and abandons (no offer is ever
 *     made);
 *   - routing: the agents serve their queues, so callers are offered,
 *     answered, talk, and agents wrap up.
 * Measured: wall and loop-thread CPU time of the simulated minutes
 * (excluding the login warm-up and the bench's own event counting),
 * routing decisions (queue.offered) per second, whole dispatch passes
 * timed through set_agent() (each agent handed its own assignment: what
 * an agent freeing up costs), and dry_run() - a real choice without side
 * effects - timed one call at a time against the live population. With
 * --old-acd PATH the same two runs are made with that acd.so (e.g. one
 * built by build-old-acd.sh) and new / old ratios printed. Nothing passes
 * or fails on time.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <plateau/plateau.h>
#include <plateau/svc/acd.h>

/* The bench uses acd 1.0 calls only: an older acd.so (--old-acd) that
 * provides 1.0 must still be accepted. */
#define BENCH_ACD_MINOR 0
#include <plateau/testing/fake_host.h>

#ifndef BENCH_PLUGIN_DIR
#define BENCH_PLUGIN_DIR "."
#endif

typedef struct params {
    int agents, queues, skills, minutes, dry_runs, passes;
    double rate; /* calls per second, all DIDs together */
    uint64_t seed;
    const char *acd_so; /* the acd.so measured (NULL: the build's) */
} params;

typedef struct figures {
    bool routing;
    double wall_s, warm_wall_s, cpu_s;
    uint64_t sim_ms;
    size_t created, joined, offered, answered, abandoned, warnings;
    /* dry runs */
    double *dr_us;
    size_t dr_n, dr_chosen;
    double dr_wall_s;
    /* whole passes, timed through set_agent() */
    double *ps_us;
    size_t ps_n;
    /* serves() of every agent (acd 1.2; 0 decisions: not provided) */
    size_t sv_decisions, sv_calls, sv_yes;
    double sv_wall_s;
} figures;

/* An agent's generated assignment, to hand back through set_agent(). */
typedef struct agent_def {
    int nsk, nq;
    char sk[8][16];
    int lvl[8];
    char q[5][16];
} agent_def;

static agent_def *adefs;

/* plt_strerror() needs a bound plugin; the bench is not one. */
static const char *
rcstr(int rc)
{
    static char buf[32];
    snprintf(buf, sizeof(buf), "error %d", rc);
    return buf;
}

/* ---- a small seeded PRNG (splitmix64) ---- */

static uint64_t rng_state;

static uint64_t
rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static int
rnd_in(int lo, int hi)
{
    return lo + (int)(rnd() % (uint64_t)(hi - lo + 1));
}

/* ---- a growable string ---- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

__attribute__((format(printf, 2, 3))) static void
sb(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL,
                          b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            abort();
        if (b->p && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            fprintf(stderr, "bench_acd: out of memory\n");
            exit(1);
        }
        b->p = p;
        b->cap = cap;
    }
}

/* ---- the scenario ---- */

static const char *const strategies[] = {
    "longest_idle", "skill_level",     "round_robin", "fewest_calls",
    "least_talk_time", "random", "linear"};

typedef struct queue_def {
    int nskills;
    int skill[3], level[3];
} queue_def;

static queue_def *qdefs;

static void
make_queues(const params *p)
{
    qdefs = calloc((size_t)p->queues, sizeof(*qdefs));
    if (!qdefs)
        exit(1);
    for (int q = 0; q < p->queues; q++) {
        queue_def *d = &qdefs[q];
        d->nskills = rnd_in(1, p->skills < 3 ? p->skills : 3);
        for (int k = 0; k < d->nskills; k++) {
            int s;
            bool dup;
            do {
                s = rnd_in(0, p->skills - 1);
                dup = false;
                for (int j = 0; j < k; j++)
                    dup |= d->skill[j] == s;
            } while (dup);
            d->skill[k] = s;
            d->level[k] = rnd_in(1, 6) * 10; /* 10..60 */
        }
    }
}

static char *
did_of(int q, char buf[32])
{
    snprintf(buf, 32, "+3314%07d", q + 1);
    return buf;
}

/* The acd section. The agents' skills and queues are drawn identically in
 * both runs (same PRNG seed); the baseline just leaves out their queues. */
static char *
acd_yaml(const params *p, bool routing)
{
    sbuf b = {0};
    sb(&b, "seed: %" PRIu64 "\nqueues:\n", p->seed);
    for (int q = 0; q < p->queues; q++) {
        const queue_def *d = &qdefs[q];
        char did[32];
        sb(&b,
           "  - {name: q%02d, strategy: %s, wrap_up: 30s, offer_timeout: 15s,"
           " dids: ['%s'], skills: [",
           q + 1, strategies[q % 7], did_of(q, did));
        for (int k = 0; k < d->nskills; k++)
            sb(&b, "%s'sk%02d:%d'", k ? ", " : "", d->skill[k] + 1,
               d->level[k]);
        sb(&b, "]}\n");
    }
    sb(&b, "agents:\n");
    uint64_t saved = rng_state;
    for (int a = 0; a < p->agents; a++) {
        /* 2-5 queues; the agent holds their required skills (at or above
         * the minimum most of the time, so some are ineligible), then
         * random others up to 3-8 skills in all. */
        int nq = rnd_in(2, p->queues < 5 ? (p->queues < 2 ? 1 : p->queues)
                                         : 5);
        if (nq > p->queues)
            nq = p->queues;
        int target = rnd_in(3, 8);
        int myq[5], nmyq = 0;
        int lvl[64];
        for (int s = 0; s < p->skills && s < 64; s++)
            lvl[s] = -1;
        int nsk = 0;
        for (int i = 0; i < nq; i++) {
            int q;
            bool dup;
            do {
                q = rnd_in(0, p->queues - 1);
                dup = false;
                for (int j = 0; j < nmyq; j++)
                    dup |= myq[j] == q;
            } while (dup);
            const queue_def *d = &qdefs[q];
            int need = 0;
            for (int k = 0; k < d->nskills; k++)
                need += lvl[d->skill[k]] < 0;
            if (nmyq > 0 && nsk + need > 8)
                continue;
            myq[nmyq++] = q;
            for (int k = 0; k < d->nskills; k++) {
                int s = d->skill[k];
                /* One time in ten, below the queue's minimum. */
                int l = rnd_in(0, 9) == 0 ? rnd_in(0, d->level[k])
                                          : rnd_in(d->level[k], 100);
                if (lvl[s] < 0)
                    nsk++;
                if (l > lvl[s])
                    lvl[s] = l;
            }
        }
        while (nsk < target && nsk < p->skills) {
            int s = rnd_in(0, p->skills - 1);
            if (lvl[s] >= 0)
                continue;
            lvl[s] = rnd_in(1, 100);
            nsk++;
        }
        agent_def *ad = &adefs[a];
        memset(ad, 0, sizeof(*ad));
        sb(&b, "  - {agent: sim%02d, skills: [", a + 1);
        bool first = true;
        for (int s = 0; s < p->skills && s < 64; s++) {
            if (lvl[s] < 0)
                continue;
            sb(&b, "%s'sk%02d:%d'", first ? "" : ", ", s + 1, lvl[s]);
            if (ad->nsk < 8) {
                snprintf(ad->sk[ad->nsk], sizeof(ad->sk[0]), "sk%02d", s + 1);
                ad->lvl[ad->nsk++] = lvl[s];
            }
            first = false;
        }
        sb(&b, "]");
        if (routing) {
            sb(&b, ", queues: [");
            for (int j = 0; j < nmyq; j++) {
                sb(&b, "%sq%02d", j ? ", " : "", myq[j] + 1);
                snprintf(ad->q[ad->nq++], sizeof(ad->q[0]), "q%02d",
                         myq[j] + 1);
            }
            sb(&b, "]");
        }
        sb(&b, "}\n");
    }
    rng_state = saved;
    return b.p;
}

static char *
sim_yaml(const params *p)
{
    sbuf b = {0};
    /* Short calls (talk 6 s, wrap 2 s) so that 100 calls/s keep about 800
     * of 1,000 agents busy: the ACD is near capacity, not drowned. */
    sb(&b,
       "seed: %" PRIu64 "\n"
       "trunks: [{name: sim, max_channels: 1000000, cps: 0}]\n"
       "talk_mean: 6s\ntalk_sd: 4s\npatience_mean: 30s\npatience_sd: 20s\n"
       "inbound:\n",
       p->seed + 10);
    double per_hour = p->rate * 3600.0 / p->queues;
    for (int q = 0; q < p->queues; q++) {
        char did[32];
        sb(&b, "  - {did: '%s', rate_per_hour: %.3f}\n", did_of(q, did),
           per_hour);
    }
    return b.p;
}

/* ---- one run ---- */

static double
now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
add_so(plt_fake_host *fh, const char *name, const char *yaml,
       const char *path)
{
    const char *dir = getenv("PLATEAU_PLUGIN_DIR");
    char so[PATH_MAX];
    if (path)
        snprintf(so, sizeof(so), "%s", path);
    else
        snprintf(so, sizeof(so), "%s/%s.so", dir ? dir : BENCH_PLUGIN_DIR,
                 name);
    int rc = plt_fake_host_add_so(fh, so, yaml, NULL);
    if (rc != 0)
        fprintf(stderr, "bench_acd: %s: %s\n", so,
                plt_fake_host_last_error(fh));
    return rc;
}

static void
count_and_clear(plt_fake_host *fh, figures *f, bool keep)
{
    if (keep) {
        f->created += plt_fake_host_event_count(fh, "call.created");
        f->joined += plt_fake_host_event_count(fh, "queue.joined");
        f->offered += plt_fake_host_event_count(fh, "queue.offered");
        f->answered += plt_fake_host_event_count(fh, "queue.answered");
        f->abandoned += plt_fake_host_event_count(fh, "queue.abandoned");
    }
    plt_fake_host_events_clear(fh);
}

typedef struct dr_box {
    bool called;
    bool chosen;
} dr_box;

static void
on_explain(void *arg, const char *agent, const char *const *lines,
           size_t nlines)
{
    (void)lines;
    (void)nlines;
    dr_box *b = arg;
    b->called = true;
    b->chosen = agent != NULL;
}

static int
dry_runs(plt_fake_host *fh, const params *p, figures *f)
{
    plt_service_ref ref;
    int rc = plt_fake_host_acquire(fh, PLT_ACD_NAME, PLT_ACD_MAJOR,
                                   BENCH_ACD_MINOR, &ref);
    if (rc != 0) {
        fprintf(stderr, "bench_acd: acquire acd: %s\n", rcstr(rc));
        return rc;
    }
    const plt_acd_vt *vt = ref.vtable;
    f->dr_us = calloc((size_t)p->dry_runs, sizeof(double));
    if (!f->dr_us)
        return PLT_ENOMEM;
    /* The same sampled requests in both runs. */
    uint64_t saved = rng_state;
    rng_state = p->seed * 7919u + 17u;
    char names[3][16];
    double t_all = now_s();
    for (int i = 0; i < p->dry_runs; i++) {
        char queue[16];
        snprintf(queue, sizeof(queue), "q%02d", rnd_in(1, p->queues));
        plt_acd_skill sk[2];
        size_t nsk = (size_t)rnd_in(0, 2);
        for (size_t k = 0; k < nsk; k++) {
            snprintf(names[k], sizeof(names[k]), "sk%02d",
                     rnd_in(1, p->skills));
            sk[k] = (plt_acd_skill){.skill = names[k],
                                    .level = rnd_in(0, 5) * 10};
        }
        plt_acd_request r = {.size = sizeof(r),
                             .queue = queue,
                             .skills = nsk ? sk : NULL,
                             .nskills = nsk};
        dr_box box = {0};
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = vt->dry_run(ref.impl, &r, on_explain, &box);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (rc != 0 || !box.called) {
            fprintf(stderr, "bench_acd: dry_run: %s\n", rcstr(rc));
            rng_state = saved;
            return rc ? rc : PLT_ESTATE;
        }
        f->dr_us[f->dr_n++] = (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
                              (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
        f->dr_chosen += box.chosen;
    }
    f->dr_wall_s = now_s() - t_all;
    /* serves() for every agent against one queue: what the dialer asks at
     * each pacing decision of a campaign without an agent list. */
    if (PLT_VT_HAS(vt, serves)) {
        enum { DECISIONS = 200 };
        char login[16], queue[16];
        double t0 = now_s();
        for (int d = 0; d < DECISIONS; d++) {
            snprintf(queue, sizeof(queue), "q%02d", rnd_in(1, p->queues));
            for (int i = 0; i < p->agents; i++) {
                snprintf(login, sizeof(login), "sim%02d", i + 1);
                f->sv_yes += vt->serves(ref.impl, login, queue);
            }
            f->sv_calls += (size_t)p->agents;
        }
        f->sv_wall_s = now_s() - t0;
        f->sv_decisions = DECISIONS;
    }
    rng_state = saved;
    return 0;
}

static int
run(const params *p, bool routing, figures *f)
{
    memset(f, 0, sizeof(*f));
    f->routing = routing;
    plt_fake_host *fh;
    plt_fake_options o = {.log_level = PLT_LOG_WARN};
    int rc = plt_fake_host_new(&fh, &o);
    if (rc != 0) {
        fprintf(stderr, "bench_acd: fake host: %s\n", rcstr(rc));
        return rc;
    }
    char *acd = acd_yaml(p, routing);
    char *sim = sim_yaml(p);
    char sa[256];
    /* Logins 10 ms apart (1,000 agents in 10 s), few pauses. */
    snprintf(sa, sizeof(sa),
             "seed: %" PRIu64 "\nagents: %d\nlogin_stagger: 10ms\n"
             "wrap_mean: 2s\nwrap_sd: 1s\npause_rate: 0.01\n"
             "pause_mean: 1m\npause_sd: 20s\n",
             p->seed + 20, p->agents);
    if ((rc = add_so(fh, "storage_sqlite", NULL, NULL)) != 0 ||
        (rc = add_so(fh, "sim", sim, NULL)) != 0 ||
        (rc = add_so(fh, "agents", "max_wrap_up: 1m\n", NULL)) != 0 ||
        (rc = add_so(fh, "acd", acd, p->acd_so)) != 0 ||
        (rc = add_so(fh, "sim_agents", sa, NULL)) != 0)
        goto out;
    if ((rc = plt_fake_host_init(fh)) != 0 ||
        (rc = plt_fake_host_start(fh)) != 0) {
        fprintf(stderr, "bench_acd: init/start: %s\n",
                plt_fake_host_last_error(fh));
        goto out;
    }
    /* Warm-up, not measured: every agent logs in (stagger, phone pick-up
     * within 3 s) while calls already arrive. */
    uint64_t warm_ms = (uint64_t)p->agents * 10 + 5000;
    double t0 = now_s();
    for (uint64_t t = 0; t < warm_ms; t += 1000) {
        plt_fake_host_run_for(fh, warm_ms - t < 1000 ? warm_ms - t : 1000);
        count_and_clear(fh, f, false);
    }
    f->warm_wall_s = now_s() - t0;
    /* Measured: the simulated minutes, one simulated second at a time;
     * only run_for() is timed, not the bench's counting. */
    uint64_t total = (uint64_t)p->minutes * 60000;
    plt_service_ref ref;
    rc = plt_fake_host_acquire(fh, PLT_ACD_NAME, PLT_ACD_MAJOR,
                               BENCH_ACD_MINOR, &ref);
    if (rc != 0) {
        fprintf(stderr, "bench_acd: acquire acd: %s\n", rcstr(rc));
        goto out;
    }
    f->ps_us = calloc((size_t)p->passes * (total / 1000) + 1, sizeof(double));
    if (!f->ps_us) {
        rc = PLT_ENOMEM;
        goto out;
    }
    uint64_t saved = rng_state;
    rng_state = p->seed * 104729u + 3u;
    for (uint64_t t = 0; t < total; t += 1000) {
        double a = now_s(), c = cpu_s();
        plt_fake_host_run_for(fh, 1000);
        f->wall_s += now_s() - a;
        f->cpu_s += cpu_s() - c;
        count_and_clear(fh, f, true);
        /* A whole dispatch pass, as when an agent frees up: set_agent()
         * with the agent's own assignment runs one, synchronously. */
        for (int k = 0; k < p->passes; k++) {
            int i = rnd_in(0, p->agents - 1);
            const agent_def *ad = &adefs[i];
            plt_acd_skill sk[8];
            const char *qs[5];
            for (int j = 0; j < ad->nsk; j++)
                sk[j] = (plt_acd_skill){.skill = ad->sk[j], .level = ad->lvl[j]};
            for (int j = 0; j < ad->nq; j++)
                qs[j] = ad->q[j];
            char login[16];
            snprintf(login, sizeof(login), "sim%02d", i + 1);
            struct timespec p0, p1;
            clock_gettime(CLOCK_MONOTONIC, &p0);
            int src = ((const plt_acd_vt *)ref.vtable)
                          ->set_agent(ref.impl, login, sk, (size_t)ad->nsk,
                                      qs, (size_t)ad->nq, NULL, NULL);
            clock_gettime(CLOCK_MONOTONIC, &p1);
            if (src != 0) {
                fprintf(stderr, "bench_acd: set_agent: %s\n", rcstr(src));
                rng_state = saved;
                rc = src;
                goto out;
            }
            f->ps_us[f->ps_n++] = (double)(p1.tv_sec - p0.tv_sec) * 1e6 +
                                  (double)(p1.tv_nsec - p0.tv_nsec) / 1e3;
        }
    }
    rng_state = saved;
    f->sim_ms = total;
    f->warnings = plt_fake_host_log_count(fh, PLT_LOG_WARN, NULL);
    if (f->warnings) {
        const char *who = NULL;
        const char *last =
            plt_fake_host_log_last(fh, PLT_LOG_WARN, NULL, NULL, &who);
        fprintf(stderr, "bench_acd: %zu warnings, last (%s): %s\n",
                f->warnings, who ? who : "?", last ? last : "?");
    }
    rc = dry_runs(fh, p, f);
    plt_fake_host_stop(fh);
out:;
    int frc = plt_fake_host_free(fh);
    free(acd);
    free(sim);
    return rc ? rc : frc;
}

/* ---- report ---- */

static int
cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double
pct(const double *v, size_t n, double q)
{
    if (n == 0)
        return 0.0;
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static void
print_run(const char *name, const figures *f)
{
    printf("  %-9s sim %6.1f s in wall %7.3f s, loop CPU %7.3f s (x%.0f "
           "real time; warm-up %.3f s)\n",
           name, (double)f->sim_ms / 1000.0, f->wall_s, f->cpu_s,
           f->wall_s > 0 ? (double)f->sim_ms / 1000.0 / f->wall_s : 0.0,
           f->warm_wall_s);
    printf("            calls %zu, joined %zu, offered %zu, answered %zu, "
           "abandoned %zu, warnings %zu\n",
           f->created, f->joined, f->offered, f->answered, f->abandoned,
           f->warnings);
}

static void
print_pct(const char *name, const char *what, double *v, size_t n,
          double wall_s)
{
    qsort(v, n, sizeof(double), cmp_d);
    printf("  %-9s %zu %s", name, n, what);
    if (wall_s > 0)
        printf(", %.0f /s", (double)n / wall_s);
    printf("; µs p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", pct(v, n, 0.50),
           pct(v, n, 0.90), pct(v, n, 0.99), n ? v[n - 1] : 0.0);
}

/* The two runs of one acd.so, printed. */
typedef struct pair {
    const char *label;
    figures base, rout;
} pair;

static void
print_pair(pair *r)
{
    printf("%s: runs (same scenario; baseline: agents logged in, in no "
           "queue):\n",
           r->label);
    print_run("baseline", &r->base);
    print_run("routing", &r->rout);
    const figures *f = &r->rout;
    printf("  routing decisions (queue.offered): %zu in %.3f s wall = %.0f "
           "/s of wall, %.0f /s of loop CPU (%.1f /s of simulated time)\n",
           f->offered, f->wall_s,
           f->wall_s > 0 ? (double)f->offered / f->wall_s : 0.0,
           f->cpu_s > 0 ? (double)f->offered / f->cpu_s : 0.0,
           (double)f->offered / ((double)f->sim_ms / 1000.0));
    printf("  wall routing / baseline: %.2f\n",
           r->base.wall_s > 0 ? f->wall_s / r->base.wall_s : 0.0);
    printf("  a whole dispatch pass (as when an agent frees up), timed "
           "through set_agent():\n");
    print_pct("baseline", "passes", r->base.ps_us, r->base.ps_n, 0);
    print_pct("routing", "passes", r->rout.ps_us, r->rout.ps_n, 0);
    printf("  dry_run(), one request at a time (random queue + 0-2 extra "
           "skills; builds its explanation lines too):\n");
    print_pct("baseline", "dry runs", r->base.dr_us, r->base.dr_n,
              r->base.dr_wall_s);
    print_pct("routing", "dry runs", r->rout.dr_us, r->rout.dr_n,
              r->rout.dr_wall_s);
    if (f->sv_decisions)
        printf("  serves(), every agent against a random queue (a pacing "
               "decision of a campaign without an agent list): %zu "
               "decisions, %.1f µs each, %.0f ns a call (%zu of %zu "
               "served)\n",
               f->sv_decisions, f->sv_wall_s * 1e6 / (double)f->sv_decisions,
               f->sv_wall_s * 1e9 / (double)f->sv_calls, f->sv_yes,
               f->sv_calls);
}

static double
ratio(double a, double b)
{
    return b > 0 ? a / b : 0.0;
}

static void
print_compare(const pair *n, const pair *o)
{
    printf("new / old (above 1: the new acd is faster or does more):\n");
    printf("  baseline wall per simulated run: old %.3f s, new %.3f s: "
           "x%.1f\n",
           o->base.wall_s, n->base.wall_s, ratio(o->base.wall_s, n->base.wall_s));
    printf("  routing decisions /s of wall: old %.0f, new %.0f: x%.2f\n",
           ratio((double)o->rout.offered, o->rout.wall_s),
           ratio((double)n->rout.offered, n->rout.wall_s),
           ratio(ratio((double)n->rout.offered, n->rout.wall_s),
                 ratio((double)o->rout.offered, o->rout.wall_s)));
    printf("  routing decisions /s of loop CPU: old %.0f, new %.0f: x%.2f\n",
           ratio((double)o->rout.offered, o->rout.cpu_s),
           ratio((double)n->rout.offered, n->rout.cpu_s),
           ratio(ratio((double)n->rout.offered, n->rout.cpu_s),
                 ratio((double)o->rout.offered, o->rout.cpu_s)));
    printf("  warm-up wall (logins while callers pile up): old %.3f s, new "
           "%.3f s: x%.1f\n",
           o->rout.warm_wall_s, n->rout.warm_wall_s,
           ratio(o->rout.warm_wall_s, n->rout.warm_wall_s));
    if (n->rout.sv_decisions && o->rout.sv_decisions) {
        double ou = o->rout.sv_wall_s * 1e6 / (double)o->rout.sv_decisions,
               nu = n->rout.sv_wall_s * 1e6 / (double)n->rout.sv_decisions;
        printf("  serves() of every agent, one pacing decision: old %.1f µs, "
               "new %.1f µs: x%.1f\n",
               ou, nu, ratio(ou, nu));
    }
    const char *names[] = {"baseline", "routing"};
    const figures *nf[] = {&n->base, &n->rout}, *of[] = {&o->base, &o->rout};
    for (int i = 0; i < 2; i++) {
        double op = pct(of[i]->ps_us, of[i]->ps_n, 0.99),
               np = pct(nf[i]->ps_us, nf[i]->ps_n, 0.99);
        double od = pct(of[i]->dr_us, of[i]->dr_n, 0.99),
               nd = pct(nf[i]->dr_us, nf[i]->dr_n, 0.99);
        printf("  %-8s p99 whole pass: old %.1f µs, new %.1f µs: x%.1f; p99 "
               "dry run: old %.1f µs, new %.1f µs: x%.1f\n",
               names[i], op, np, ratio(op, np), od, nd, ratio(od, nd));
    }
}

static void
pair_free(pair *r)
{
    free(r->base.dr_us);
    free(r->rout.dr_us);
    free(r->base.ps_us);
    free(r->rout.ps_us);
}

static int
run_pair(params *p, const char *so, pair *r)
{
    p->acd_so = so;
    int rc = run(p, false, &r->base);
    if (rc == 0)
        rc = run(p, true, &r->rout);
    return rc;
}

static int
arg_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int
main(int argc, char **argv)
{
    params p = {.agents = 1000,
                .queues = 50,
                .skills = 20,
                .minutes = 10,
                .dry_runs = 10000,
                .passes = 3,
                .rate = 100.0,
                .seed = 1};
    const char *old_so = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = !v;
        if (!bad && !strcmp(argv[i], "--agents"))
            bad = arg_int(v, 1, 9999, &p.agents);
        else if (!bad && !strcmp(argv[i], "--queues"))
            bad = arg_int(v, 1, 99, &p.queues);
        else if (!bad && !strcmp(argv[i], "--skills"))
            bad = arg_int(v, 3, 64, &p.skills);
        else if (!bad && !strcmp(argv[i], "--minutes"))
            bad = arg_int(v, 1, 24 * 60, &p.minutes);
        else if (!bad && !strcmp(argv[i], "--dry-runs"))
            bad = arg_int(v, 1, 10000000, &p.dry_runs);
        else if (!bad && !strcmp(argv[i], "--rate"))
            bad = (p.rate = strtod(v, NULL)) <= 0;
        else if (!bad && !strcmp(argv[i], "--seed"))
            p.seed = strtoull(v, NULL, 10);
        else if (!bad && !strcmp(argv[i], "--passes"))
            bad = arg_int(v, 0, 1000, &p.passes);
        else if (!bad && !strcmp(argv[i], "--old-acd"))
            old_so = v;
        else
            bad = 1;
        if (bad) {
            fprintf(stderr,
                    "usage: %s [--agents N] [--queues Q] [--skills S] "
                    "[--rate CALLS_PER_S] [--minutes M] [--dry-runs D] "
                    "[--passes P] [--seed X] [--old-acd PATH/acd.so]\n",
                    argv[0]);
            return 2;
        }
        i++;
    }
    struct utsname u;
    uname(&u);
    char date[32];
    time_t now = time(NULL);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M", localtime(&now));
    printf("bench_acd: %s, %s %s, %ld CPUs\n", date, u.sysname, u.release,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("scenario: %d agents, %d queues (1-3 of %d skills, 7 strategies), "
           "%d DIDs, %.1f calls/s offered (%.0f /h per DID), %d simulated "
           "min, seed %" PRIu64 "\n",
           p.agents, p.queues, p.skills, p.queues, p.rate,
           p.rate * 3600.0 / p.queues, p.minutes, p.seed);
    printf("          agents: 3-8 skills, 2-5 queues; talk lognormal 6 s/4 s, "
           "wrap 2 s/1 s, patience 30 s/20 s\n");

    rng_state = p.seed;
    make_queues(&p);
    adefs = calloc((size_t)p.agents, sizeof(*adefs));
    if (!adefs)
        return 1;
    pair nw = {.label = "new (this build's acd.so)"};
    pair od = {.label = "old"};
    char old_label[PATH_MAX + 16];
    int rc = run_pair(&p, NULL, &nw);
    if (rc == 0 && old_so) {
        snprintf(old_label, sizeof(old_label), "old (%s)", old_so);
        od.label = old_label;
        rc = run_pair(&p, old_so, &od);
    }
    if (rc != 0) {
        fprintf(stderr, "bench_acd: failed: %s\n", rcstr(rc));
        return 1;
    }
    print_pair(&nw);
    if (old_so) {
        print_pair(&od);
        print_compare(&nw, &od);
    } else {
        printf("(no --old-acd: build the previous acd.so with "
               "bench/acd/build-old-acd.sh to print the comparison)\n");
    }
    pair_free(&nw);
    pair_free(&od);
    free(adefs);
    free(qdefs);
    return 0;
}
