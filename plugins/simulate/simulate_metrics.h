/* SPDX-License-Identifier: MIT */
/*
 * The figures of a dialer simulation, per day and pooled: busy occupancy
 * U = (talk + wrap + machine handling) / logged-in agent time, talk
 * occupancy, abandon rate = (abandoned live answers + AMD false positives)
 * / live answers, days over the cap, worst hour, talk minutes per
 * agent-hour, agent wait per connect, dials per connect. Fed by counts and
 * durations; shared by the `simulate` plugin and bench/dialer (a static
 * library: plugins never link each other). Prefix simulate_metrics_.
 * Pure: no I/O except simulate_metrics_print(), which writes to a FILE.
 */
#ifndef PLATEAU_SIMULATE_METRICS_H
#define PLATEAU_SIMULATE_METRICS_H

#include <stdio.h>

#define SIMULATE_HOURS 24

/** One simulated day: the raw counts and durations. */
typedef struct simulate_day {
    double logged_s;  /**< logged-in agent time, summed over agents */
    double talk_s;    /**< agents talking to humans */
    double wrap_s;    /**< agents in wrap-up */
    double machine_s; /**< agents connected to machines AMD let through */
    long dials;
    long live;        /**< humans who answered (false positives included) */
    long connects;    /**< humans connected to an agent */
    long abandons;    /**< humans answered and never connected in time */
    long amd_fp;      /**< humans hung up as machines */
    long hour_live[SIMULATE_HOURS]; /**< by hour of the day's start */
    long hour_bad[SIMULATE_HOURS];  /**< abandons + false positives */
} simulate_day;

/** Figures of one day or of a pool of days. */
typedef struct simulate_figures {
    double busy_occupancy; /**< 0..1 */
    double talk_occupancy;
    double abandon_rate;   /**< (abandons + amd_fp) / live, 0 if no live */
    double talk_min_per_agent_hour;
    double wait_per_connect_s; /**< agent idle time / connects */
    double dials_per_connect;
    int worst_hour;            /**< hour with the highest abandon rate
                                    among hours with >= 20 live, or -1 */
    double worst_hour_rate;
} simulate_figures;

/** Record a state interval [from, to) of one agent, clipped to the
 *  logged-in period [login, logout). kind: 0 idle, 1 talk, 2 wrap,
 *  3 machine. Returns the seconds counted. */
double simulate_day_agent_time(simulate_day *d, int kind, double from,
                               double to, double login, double logout);

/** Record a live answer at hour h (>= 0), abandoned or a false positive. */
void simulate_day_live(simulate_day *d, int hour, int abandoned, int fp);

/** Figures of one day. */
void simulate_figures_of(const simulate_day *d, simulate_figures *f);

/** Add day b into a (for pooled figures). */
void simulate_day_add(simulate_day *a, const simulate_day *b);

/** Mean and standard error of the mean of n values. */
void simulate_mean_se(const double *v, int n, double *mean, double *se);

/** Summary of several days: pooled figures, per-day means and standard
 *  errors, days over the cap. */
typedef struct simulate_summary {
    int days;
    simulate_figures pooled;
    double u_mean, u_se;       /**< busy occupancy */
    double talk_mean, talk_se; /**< talk occupancy */
    double ab_mean, ab_se;     /**< abandon rate */
    double ab_max;             /**< worst day */
    int days_over;             /**< days above the cap */
    double wait_mean, dials_mean;
} simulate_summary;

/** Summarise n days against an abandon cap (e.g. 0.03). */
void simulate_summarise(const simulate_day *days, int n, double cap,
                        simulate_summary *s);

/** Print the per-day lines and the pooled line of n days. */
void simulate_metrics_print(FILE *out, const simulate_day *days, int n,
                            double cap);

/** One day's raw figures as one line of key=value text (what
 *  `plateau simulate-day` prints); snprintf semantics. */
int simulate_day_format(const simulate_day *d, char *buf, size_t n);

/** Parse such a line (from "logged_s=" on); 0, or -EINVAL. */
int simulate_day_parse(const char *line, simulate_day *d);

#endif
