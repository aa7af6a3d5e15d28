/* SPDX-License-Identifier: MIT */
/*
 * A fast discrete-event model of an outbound campaign: agents with
 * lognormal talk and wrap, called parties with the ring-time
 * distributions, AMD, a connect deadline, and a dialer in progressive,
 * power or predictive mode (the latter driven by the very same pacing
 * library the dialer plugin links). Used by bench_dialer to tune and to
 * report S1-S5; it is a model of the real stack, not the stack itself
 * (`plateau simulate` runs the real plugins).
 */
#ifndef PLATEAU_BENCH_DIALER_MODEL_H
#define PLATEAU_BENCH_DIALER_MODEL_H

#include "pacing.h"
#include "simulate_metrics.h"

#include <stdint.h>

typedef struct dm_scenario {
    const char *name;
    int agents;
    double live0, live1; /* human answer rate at start and end of day */
    double machine, busy, invalid;
    double amd_sensitivity, amd_fp;
    double goal_u; /* busy occupancy goal of predictive */
} dm_scenario;

typedef enum dm_mode { DM_PROGRESSIVE, DM_POWER, DM_PREDICTIVE } dm_mode;

typedef struct dm_options {
    dm_mode mode;
    double power_ratio;     /* lines per free agent in power mode */
    pacing_window window;   /* predictive: regulatory window */
    uint64_t seed;
    int days;
    double day_s;           /* 8 h */
    double tick_s;          /* predictive: decision tick, besides events */
    const pacing_config *pacing;  /* NULL: defaults */
    const pacing_priors *priors;  /* NULL: defaults */
    int verbose;            /* print some decisions */
} dm_options;

/* Run `days` days; fills days[0..days-1]. Returns 0 or -ENOMEM. */
int dm_run(const dm_scenario *sc, const dm_options *o, simulate_day *days);

#endif
