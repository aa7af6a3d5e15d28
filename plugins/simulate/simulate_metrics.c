/* SPDX-License-Identifier: MIT */
/*
 * The figures of a dialer simulation (see simulate_metrics.h). Occupancy
 * is measured on logged-in time only: an agent interval is clipped to the
 * login period, so calls finishing after the end of the day do not inflate
 * it. Abandon rates count AMD false positives as abandoned live answers,
 * as the UK rule does.
 */
#include "simulate_metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

double
simulate_day_agent_time(simulate_day *d, int kind, double from, double to,
                        double login, double logout)
{
    double a = from > login ? from : login;
    double b = to < logout ? to : logout;
    double s = b > a ? b - a : 0.0;
    switch (kind) {
    case 1:
        d->talk_s += s;
        break;
    case 2:
        d->wrap_s += s;
        break;
    case 3:
        d->machine_s += s;
        break;
    default:
        break;
    }
    return s;
}

void
simulate_day_live(simulate_day *d, int hour, int abandoned, int fp)
{
    if (hour < 0)
        hour = 0;
    if (hour >= SIMULATE_HOURS)
        hour = SIMULATE_HOURS - 1;
    d->live++;
    d->hour_live[hour]++;
    if (fp)
        d->amd_fp++;
    else if (abandoned)
        d->abandons++;
    else
        d->connects++;
    if (fp || abandoned)
        d->hour_bad[hour]++;
}

void
simulate_figures_of(const simulate_day *d, simulate_figures *f)
{
    memset(f, 0, sizeof *f);
    if (d->logged_s > 0) {
        f->busy_occupancy = (d->talk_s + d->wrap_s + d->machine_s) /
                            d->logged_s;
        f->talk_occupancy = d->talk_s / d->logged_s;
        f->talk_min_per_agent_hour = (d->talk_s / 60.0) /
                                     (d->logged_s / 3600.0);
    }
    if (d->live > 0)
        f->abandon_rate = (double)(d->abandons + d->amd_fp) / (double)d->live;
    if (d->connects > 0) {
        double idle = d->logged_s - d->talk_s - d->wrap_s - d->machine_s;
        f->wait_per_connect_s = (idle > 0 ? idle : 0) / (double)d->connects;
        f->dials_per_connect = (double)d->dials / (double)d->connects;
    }
    f->worst_hour = -1;
    for (int h = 0; h < SIMULATE_HOURS; h++) {
        if (d->hour_live[h] < 20)
            continue;
        double r = (double)d->hour_bad[h] / (double)d->hour_live[h];
        if (f->worst_hour < 0 || r > f->worst_hour_rate) {
            f->worst_hour = h;
            f->worst_hour_rate = r;
        }
    }
}

void
simulate_day_add(simulate_day *a, const simulate_day *b)
{
    a->logged_s += b->logged_s;
    a->talk_s += b->talk_s;
    a->wrap_s += b->wrap_s;
    a->machine_s += b->machine_s;
    a->dials += b->dials;
    a->live += b->live;
    a->connects += b->connects;
    a->abandons += b->abandons;
    a->amd_fp += b->amd_fp;
    for (int h = 0; h < SIMULATE_HOURS; h++) {
        a->hour_live[h] += b->hour_live[h];
        a->hour_bad[h] += b->hour_bad[h];
    }
}

void
simulate_mean_se(const double *v, int n, double *mean, double *se)
{
    double m = 0, ss = 0;
    for (int i = 0; i < n; i++)
        m += v[i];
    m = n > 0 ? m / n : 0;
    for (int i = 0; i < n; i++)
        ss += (v[i] - m) * (v[i] - m);
    *mean = m;
    *se = n > 1 ? sqrt(ss / (n - 1) / n) : 0;
}

void
simulate_summarise(const simulate_day *days, int n, double cap,
                   simulate_summary *s)
{
    memset(s, 0, sizeof *s);
    s->days = n;
    simulate_day pool;
    memset(&pool, 0, sizeof pool);
    double u[n > 0 ? n : 1], t[n > 0 ? n : 1], ab[n > 0 ? n : 1];
    double w = 0, dp = 0;
    for (int i = 0; i < n; i++) {
        simulate_figures f;
        simulate_figures_of(&days[i], &f);
        u[i] = f.busy_occupancy;
        t[i] = f.talk_occupancy;
        ab[i] = f.abandon_rate;
        w += f.wait_per_connect_s;
        dp += f.dials_per_connect;
        if (f.abandon_rate > cap)
            s->days_over++;
        if (f.abandon_rate > s->ab_max)
            s->ab_max = f.abandon_rate;
        simulate_day_add(&pool, &days[i]);
    }
    simulate_figures_of(&pool, &s->pooled);
    simulate_mean_se(u, n, &s->u_mean, &s->u_se);
    simulate_mean_se(t, n, &s->talk_mean, &s->talk_se);
    simulate_mean_se(ab, n, &s->ab_mean, &s->ab_se);
    s->wait_mean = n ? w / n : 0;
    s->dials_mean = n ? dp / n : 0;
}

static void
print_figures(FILE *out, const char *label, const simulate_figures *f)
{
    fprintf(out,
            "%-7s U %5.1f %%  talk %5.1f %%  abandon %5.2f %%  "
            "talk %4.1f min/agent-h  wait %6.1f s/connect  "
            "%5.2f dials/connect",
            label, 100 * f->busy_occupancy, 100 * f->talk_occupancy,
            100 * f->abandon_rate, f->talk_min_per_agent_hour,
            f->wait_per_connect_s, f->dials_per_connect);
    if (f->worst_hour >= 0)
        fprintf(out, "  worst hour %02d (%.2f %%)", f->worst_hour,
                100 * f->worst_hour_rate);
    fputc('\n', out);
}

void
simulate_metrics_print(FILE *out, const simulate_day *days, int n, double cap)
{
    char label[16];
    for (int i = 0; i < n; i++) {
        simulate_figures f;
        simulate_figures_of(&days[i], &f);
        snprintf(label, sizeof label, "day %d", i + 1);
        print_figures(out, label, &f);
    }
    simulate_summary s;
    simulate_summarise(days, n, cap, &s);
    print_figures(out, "pooled", &s.pooled);
    fprintf(out,
            "per day: U %.1f ± %.1f %%, abandon %.2f ± %.2f %% (worst "
            "%.2f %%), %d day%s over %.0f %%\n",
            100 * s.u_mean, 100 * s.u_se, 100 * s.ab_mean, 100 * s.ab_se,
            100 * s.ab_max, s.days_over, s.days_over == 1 ? "" : "s",
            100 * cap);
}

/* ---- the day's line ---------------------------------------------------- */

int
simulate_day_format(const simulate_day *d, char *buf, size_t n)
{
    int w = snprintf(buf, n,
                     "logged_s=%.3f talk_s=%.3f wrap_s=%.3f machine_s=%.3f "
                     "dials=%ld live=%ld connects=%ld abandons=%ld "
                     "amd_fp=%ld hours=",
                     d->logged_s, d->talk_s, d->wrap_s, d->machine_s,
                     d->dials, d->live, d->connects, d->abandons, d->amd_fp);
    for (int h = 0; h < SIMULATE_HOURS && w > 0 && (size_t)w < n; h++)
        w += snprintf(buf + w, n - (size_t)w, "%s%ld/%ld", h ? "," : "",
                      d->hour_live[h], d->hour_bad[h]);
    return w;
}

int
simulate_day_parse(const char *line, simulate_day *d)
{
    memset(d, 0, sizeof *d);
    const char *p = strstr(line, "logged_s=");
    if (!p)
        return -22;
    int used = 0;
    if (sscanf(p,
               "logged_s=%lf talk_s=%lf wrap_s=%lf machine_s=%lf dials=%ld "
               "live=%ld connects=%ld abandons=%ld amd_fp=%ld hours=%n",
               &d->logged_s, &d->talk_s, &d->wrap_s, &d->machine_s,
               &d->dials, &d->live, &d->connects, &d->abandons, &d->amd_fp,
               &used) != 9 ||
        !used)
        return -22;
    p += used;
    for (int h = 0; h < SIMULATE_HOURS; h++) {
        int k = 0;
        if (sscanf(p, "%ld/%ld%n", &d->hour_live[h], &d->hour_bad[h], &k) !=
                2 ||
            !k)
            return -22;
        p += k;
        if (*p == ',')
            p++;
    }
    return 0;
}
