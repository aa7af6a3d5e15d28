/* SPDX-License-Identifier: MIT */
/*
 * Internals of the simulate plugin. Prefix simulate_.
 *
 *   simulate.c          descriptor, configuration, lifecycle
 *   simulate_measure.c  `plateau simulate-day`: one simulated day of the
 *                       real plugins, measured from their events
 *   simulate_run.c      `plateau simulate SCENARIO`: one child process per
 *                       day, figures per day and pooled
 *   simulate_metrics.c  the figures (static library, shared with
 *                       bench/dialer)
 */
#ifndef PLATEAU_SIMULATE_INT_H
#define PLATEAU_SIMULATE_INT_H

#include <stdint.h>

#include <plateau/plateau.h>

#include "simulate_metrics.h"

typedef struct simulate_cfg {
    int64_t day_ms;      /* dialling time of the day */
    int64_t drain_ms;    /* after it, for calls to end */
    int64_t contacts;    /* contacts loaded before the day */
    char *campaign;      /* the campaign to run */
    char *list;          /* the list created for it */
    char *time_zone;     /* of the contacts */
} simulate_cfg;

extern simulate_cfg simulate_conf;

/* The measuring subscriptions, taken at start so that no agent's login is
 * missed; they only count. */
int simulate_measure_start(void);
void simulate_measure_stop(void);

extern const plt_command simulate_commands[];

/* The commands' bodies and the parent's teardown. */
int simulate_day_run(plt_plugin *self, int argc, char **argv);
void simulate_run_stop(void);
void simulate_run_free(void);


#endif
