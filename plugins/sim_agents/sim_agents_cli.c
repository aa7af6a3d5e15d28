/* SPDX-License-Identifier: MIT */
/*
 * `plateau simulate-acd [DURATION]`: run the configured world - the `sim`
 * trunk's callers, the real `agents` and `acd` plugins, the simulated
 * agents - for DURATION of core clock time (default 1h), then print every
 * queue's figures from acd.stats(). With `core.clock: simulated` (see
 * simulate-acd.yaml beside this file) the hour takes seconds and the same
 * seeds print the same figures; with the real clock it takes the hour.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plateau/svc/acd.h>

#include "sim_agents_int.h"

typedef struct sim_run {
    plt_acd acd;
    plt_timer *timer;
    int64_t began, duration_ms;
} sim_run;

static sim_run the_run;

/* "90", "90s", "30m", "1h", "250ms" -> milliseconds; -1 if malformed. */
static int64_t
parse_duration(const char *t)
{
    char *end;
    long long v = strtoll(t, &end, 10);
    if (end == t || v < 0)
        return -1;
    if (!*end || strcmp(end, "s") == 0)
        return v * 1000;
    if (strcmp(end, "ms") == 0)
        return v;
    if (strcmp(end, "m") == 0)
        return v * 60000;
    if (strcmp(end, "h") == 0)
        return v * 3600000;
    return -1;
}

static void
on_stats(void *arg, int status, const plt_queue_stats *q)
{
    int *rc = arg;
    *rc = status;
    if (status != 0)
        return;
    printf("%-16s %8llu %8llu %9llu %10llu %7u %9.1f %6.1f %%  %9.1f %4u/%u"
           " %9llu %10llu\n",
           q->queue, (unsigned long long)q->offered,
           (unsigned long long)q->answered, (unsigned long long)q->abandoned,
           (unsigned long long)q->overflowed, q->waiting,
           (double)q->longest_wait_ms / 1000.0, q->service_level * 100.0,
           (double)q->estimated_wait_ms / 1000.0, q->agents_available,
           q->agents_logged_in, (unsigned long long)q->callbacks,
           (unsigned long long)q->voicemails);
}

static void
on_end(void *arg)
{
    sim_run *r = arg;
    r->timer = NULL; /* one-shot: released by the core */
    const plt_acd_vt *vt = r->acd.vt;
    size_t n = vt->queue_count(r->acd.impl);
    printf("simulated %lld s (clock from %lld to %lld ms)\n",
           (long long)((plt_now() - r->began) / 1000), (long long)r->began,
           (long long)plt_now());
    printf("%-16s %8s %8s %9s %10s %7s %9s %8s  %9s %s %9s %10s\n", "queue",
           "offered", "answered", "abandoned", "overflowed", "waiting",
           "longest s", "SL", "est. wait", "avail/in", "callbacks",
           "voicemails");
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = PLT_ENOENT;
        if (vt->stats(r->acd.impl, vt->queue_at(r->acd.impl, i), on_stats,
                      &rc) != 0 ||
            rc != 0)
            status = 1;
    }
    fflush(stdout);
    plt_command_done(status);
}

static int
simulate_acd(plt_plugin *self, int argc, char **argv)
{
    (void)self;
    sim_run *r = &the_run;
    r->duration_ms = argc > 0 ? parse_duration(argv[0]) : 3600000;
    if (argc > 1 || r->duration_ms <= 0) {
        fprintf(stderr, "usage: plateau simulate-acd [DURATION: 90s, 30m, "
                        "1h]\n");
        return 2;
    }
    int rc = plt_acd_acquire(&r->acd);
    if (rc != 0) {
        fprintf(stderr, "plateau simulate-acd: the acd plugin is needed: %s\n",
                plt_strerror(rc));
        return 1;
    }
    r->began = plt_now();
    rc = plt_timer_start(&r->timer, (uint64_t)r->duration_ms, 0, on_end, r);
    if (rc != 0) {
        fprintf(stderr, "plateau simulate-acd: %s\n", plt_strerror(rc));
        return 1;
    }
    return PLT_EINPROGRESS;
}

const plt_command sim_agents_commands[] = {
    {.name = "simulate-acd",
     .summary = "run the simulated agents and callers, then print each "
                "queue's figures",
     .usage = "simulate-acd [DURATION] (default 1h; use core.clock: "
              "simulated)",
     .run = simulate_acd,
     .flags = PLT_CMD_F_ALL_PLUGINS},
    {0}};

void
sim_agents_cli_stop(void)
{
    if (the_run.timer) {
        plt_timer_stop(the_run.timer);
        the_run.timer = NULL;
    }
}
