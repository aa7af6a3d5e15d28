/* SPDX-License-Identifier: MIT */
/*
 * The pacing model: estimators fed by observations and the decision.
 *
 * Estimators. Outcome shares are exponentially weighted counts (half-life
 * in attempts) started from a prior, so the hit rate follows drift over
 * the day. Ring time per outcome and talk / wrap durations are lognormal,
 * fitted by the mean and variance of their logarithms, started from a
 * prior. The AMD false-positive rate is a Beta estimate from audits.
 *
 * Decision. Over a horizon cut into one-second slots, the model computes
 * for every slot j the expected number of live answers arrived by j (calls
 * in flight, conditioned on their elapsed ring time; new dials) and the
 * agents free by j + deadline (free now; talk and wrap conditioned on
 * their elapsed time). The expected overflow is the largest, over the
 * slots, expected excess of answers over agents (normal approximation of
 * both sums of Bernoulli variables). New dials are added while the
 * marginal overflow of one more dial, per expected answer, stays below a
 * threshold theta: the admissible abandon probability of that call.
 * Theta is the budget controller: it grows when the window is under its
 * budget and shrinks when over, through the slack of the window (cap *
 * live answers - abandons charged) and a slowly forgetting slack of the
 * campaign's history, which learns the level that keeps the rate at the
 * target. AMD false positives are charged in every slack up front, at the
 * estimated rate, for every live answer.
 */
#include "pacing.h"
#include "pacing_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DAYS_KEPT 32

typedef struct lnfit {
    double n, s1, s2; /* weight, sum of logs, sum of squared logs */
} lnfit;

struct pacing {
    pacing_priors pri;
    double w[PACING_OUTCOME_COUNT]; /* weighted outcome counts */
    double decay;                   /* per attempt */
    double attempts;
    lnfit ring[PACING_OUTCOME_COUNT];
    lnfit talk, wrap;
    double fp_humans, fp_hung; /* Beta estimate of the AMD fp rate */
    /* regulatory window accounting, by local day */
    int64_t day_index[DAYS_KEPT];
    double day_live[DAYS_KEPT], day_ab[DAYS_KEPT];
    double total_live, total_ab;
    /* budget controller memory */
    double learn_slack;
    double tau; /* target rate seen at the last decision */
};

static double
dflt(double v, double d)
{
    return v > 0 ? v : d;
}

static void
lnfit_prior(lnfit *f, double mean, double sd, double weight)
{
    double s2 = log(1.0 + (sd * sd) / (mean * mean));
    double mu = log(mean) - s2 / 2.0;
    f->n = weight;
    f->s1 = mu * weight;
    f->s2 = (s2 + mu * mu) * weight;
}

static void
lnfit_add(lnfit *f, double x)
{
    double l = log(x < 0.05 ? 0.05 : x);
    f->n += 1.0;
    f->s1 += l;
    f->s2 += l * l;
}

static void
lnfit_get(const lnfit *f, double *mu, double *sigma)
{
    double m = f->s1 / f->n;
    double v = f->s2 / f->n - m * m;
    *mu = m;
    *sigma = sqrt(v > 1e-4 ? v : 1e-4);
}

static double
lnfit_mean(const lnfit *f)
{
    double mu, s;
    lnfit_get(f, &mu, &s);
    return exp(mu + s * s / 2.0);
}

/* P(T > t) for log T ~ N(mu, sigma). */
static double
ln_surv(double t, double mu, double sigma)
{
    if (t <= 0)
        return 1.0;
    return 0.5 * erfc((log(t) - mu) / (sigma * M_SQRT2));
}

double
pacing_lognormal_survival(double t, double mean, double sd)
{
    if (mean <= 0)
        return 0.0;
    if (sd <= 0)
        return t < mean ? 1.0 : 0.0;
    double s2 = log(1.0 + (sd * sd) / (mean * mean));
    return ln_surv(t, log(mean) - s2 / 2.0, sqrt(s2));
}

double
pacing_lognormal_done_within(double e, double h, double mean, double sd)
{
    double se = pacing_lognormal_survival(e, mean, sd);
    if (se < 1e-12)
        return 1.0;
    double r = 1.0 - pacing_lognormal_survival(e + h, mean, sd) / se;
    return r < 0 ? 0 : r;
}

double
pacing_normal_survival(double x, double mu, double sd)
{
    if (sd <= 0)
        return x < mu ? 1.0 : 0.0;
    return 0.5 * erfc((x - mu) / (sd * M_SQRT2));
}

double
pacing_normal_excess(double mu, double var)
{
    if (var <= 1e-12)
        return mu > 0 ? mu : 0.0;
    double sd = sqrt(var);
    double z = mu / sd;
    double phi = exp(-0.5 * z * z) / sqrt(2.0 * M_PI);
    double cdf = 0.5 * erfc(-z / M_SQRT2);
    return sd * phi + mu * cdf;
}

pacing *
pacing_new(const pacing_priors *in)
{
    pacing_priors pr = {0};
    if (in)
        pr = *in;
    if (pr.live_rate < 0 || pr.machine_rate < 0 || pr.amd_fp_rate < 0 ||
        pr.amd_fp_rate >= 1 || pr.live_rate + pr.machine_rate > 1)
        return NULL;
    pr.live_rate = dflt(pr.live_rate, 0.15);
    pr.machine_rate = dflt(pr.machine_rate, 0.20);
    if (pr.live_rate + pr.machine_rate > 0.98)
        return NULL;
    pr.prior_weight = dflt(pr.prior_weight, 50);
    pr.halflife = dflt(pr.halflife, 400);
    pr.talk_mean_s = dflt(pr.talk_mean_s, 120);
    pr.talk_sd_s = dflt(pr.talk_sd_s, 120);
    pr.wrap_mean_s = dflt(pr.wrap_mean_s, 15);
    pr.wrap_sd_s = dflt(pr.wrap_sd_s, 10);
    pr.duration_weight = dflt(pr.duration_weight, 20);
    pr.human_ring_mean_s = dflt(pr.human_ring_mean_s, 10);
    pr.human_ring_sd_s = dflt(pr.human_ring_sd_s, 5);
    pr.machine_ring_mean_s = dflt(pr.machine_ring_mean_s, 20);
    pr.machine_ring_sd_s = dflt(pr.machine_ring_sd_s, 3);
    pr.amd_fp_weight = dflt(pr.amd_fp_weight, 1000);

    pacing *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->pri = pr;
    p->decay = pow(0.5, 1.0 / pr.halflife);
    double rest = 1.0 - pr.live_rate - pr.machine_rate;
    double wt = pr.prior_weight;
    p->w[PACING_LIVE] = pr.live_rate * wt;
    p->w[PACING_MACHINE] = pr.machine_rate * wt;
    p->w[PACING_NO_ANSWER] = rest * 0.6 * wt;
    p->w[PACING_BUSY] = rest * 0.2 * wt;
    p->w[PACING_INVALID] = rest * 0.2 * wt;
    p->w[PACING_CONGESTION] = 0;
    double dw = pr.duration_weight;
    lnfit_prior(&p->ring[PACING_LIVE], pr.human_ring_mean_s,
                pr.human_ring_sd_s, dw);
    lnfit_prior(&p->ring[PACING_MACHINE], pr.machine_ring_mean_s,
                pr.machine_ring_sd_s, dw);
    lnfit_prior(&p->ring[PACING_NO_ANSWER], 25, 0.5, dw);
    lnfit_prior(&p->ring[PACING_BUSY], 3.5, 1.0, dw);
    lnfit_prior(&p->ring[PACING_INVALID], 2.5, 1.0, dw);
    lnfit_prior(&p->ring[PACING_CONGESTION], 0.5, 0.3, dw);
    lnfit_prior(&p->talk, pr.talk_mean_s, pr.talk_sd_s, dw);
    lnfit_prior(&p->wrap, pr.wrap_mean_s, pr.wrap_sd_s, dw);
    p->fp_humans = pr.amd_fp_weight;
    p->fp_hung = pr.amd_fp_rate * pr.amd_fp_weight;
    for (int i = 0; i < DAYS_KEPT; i++)
        p->day_index[i] = INT64_MIN;
    p->tau = 0.03 * 0.85;
    return p;
}

void
pacing_free(pacing *p)
{
    free(p);
}

static int64_t
day_of(const pacing *p, int64_t t_ms)
{
    int64_t s = t_ms / 1000 + p->pri.day_offset_s;
    int64_t d = s / 86400;
    if (s < 0 && s % 86400)
        d--;
    return d;
}

static int
day_slot(pacing *p, int64_t day)
{
    int i = (int)(((day % DAYS_KEPT) + DAYS_KEPT) % DAYS_KEPT);
    if (p->day_index[i] != day) {
        p->day_index[i] = day;
        p->day_live[i] = 0;
        p->day_ab[i] = 0;
    }
    return i;
}

double
pacing__fp_rate(const pacing *p)
{
    return p->fp_hung / p->fp_humans;
}

/* Charged abandons per observed live answer, for AMD false positives:
 * with a share f of humans hung up, each human who reached the dialer as
 * live stands for f / (1 - f) humans who were hung up. */
static double
fp_per_live(const pacing *p)
{
    double f = pacing__fp_rate(p);
    return f / (1.0 - f);
}

int
pacing_observe_attempt(pacing *p, pacing_outcome o, double ring_s,
                       int64_t t_ms)
{
    if (!p || (int)o < 0 || o >= PACING_OUTCOME_COUNT || !(ring_s >= 0))
        return -EINVAL;
    for (int k = 0; k < PACING_OUTCOME_COUNT; k++)
        p->w[k] *= p->decay;
    p->w[o] += 1.0;
    p->attempts += 1.0;
    if (o != PACING_NO_ANSWER)
        lnfit_add(&p->ring[o], ring_s);
    if (o == PACING_LIVE) {
        double fp = fp_per_live(p);
        int i = day_slot(p, day_of(p, t_ms));
        /* The hung-up humans count as live answers and as abandons. */
        p->day_live[i] += 1.0 + fp;
        p->day_ab[i] += fp;
        p->total_live += 1.0 + fp;
        p->total_ab += fp;
        p->learn_slack = p->learn_slack * LEARN_DECAY + p->tau * (1.0 + fp) -
                         fp;
    }
    return 0;
}

int
pacing_observe_talk(pacing *p, double talk_s)
{
    if (!p || !(talk_s > 0))
        return -EINVAL;
    lnfit_add(&p->talk, talk_s);
    return 0;
}

int
pacing_observe_wrap(pacing *p, double wrap_s)
{
    if (!p || !(wrap_s >= 0))
        return -EINVAL;
    lnfit_add(&p->wrap, wrap_s);
    return 0;
}

int
pacing_observe_abandon(pacing *p, pacing_abandon_reason r, int64_t t_ms)
{
    if (!p || (r != PACING_ABANDON_NO_AGENT && r != PACING_ABANDON_AMD_FP))
        return -EINVAL;
    int i = day_slot(p, day_of(p, t_ms));
    p->day_ab[i] += 1.0;
    p->total_ab += 1.0;
    if (r == PACING_ABANDON_AMD_FP) {
        /* A known false positive is a live answer the dialer never saw. */
        p->day_live[i] += 1.0;
        p->total_live += 1.0;
    }
    p->learn_slack -= 1.0;
    return 0;
}

int
pacing_observe_history(pacing *p, int64_t t_ms, double live, double abandons)
{
    if (!p || !(live >= 0) || !(abandons >= 0))
        return -EINVAL;
    int i = day_slot(p, day_of(p, t_ms));
    p->day_live[i] += live;
    p->day_ab[i] += abandons;
    p->total_live += live;
    p->total_ab += abandons;
    return 0;
}

int
pacing_observe_amd_audit(pacing *p, int human, int hung_up)
{
    if (!p)
        return -EINVAL;
    if (human) {
        p->fp_humans += 1.0;
        if (hung_up)
            p->fp_hung += 1.0;
    }
    return 0;
}

/* Window sums at now. */
static void
window_sums(pacing *p, pacing_window w, int64_t now_ms, double *live,
            double *ab, double *dlive, double *dab)
{
    int64_t today = day_of(p, now_ms);
    int i = day_slot(p, today);
    *dlive = p->day_live[i];
    *dab = p->day_ab[i];
    if (w == PACING_WINDOW_DAY) {
        *live = *dlive;
        *ab = *dab;
    } else if (w == PACING_WINDOW_ROLLING_30) {
        *live = *ab = 0;
        for (int k = 0; k < DAYS_KEPT; k++) {
            if (p->day_index[k] > today - 30 && p->day_index[k] <= today) {
                *live += p->day_live[k];
                *ab += p->day_ab[k];
            }
        }
    } else {
        *live = p->total_live;
        *ab = p->total_ab;
    }
}

const char *
pacing_mode_name(pacing_mode m)
{
    switch (m) {
    case PACING_MODE_COLD_START:
        return "cold_start";
    case PACING_MODE_PROGRESSIVE:
        return "progressive";
    case PACING_MODE_PREDICTIVE:
        return "predictive";
    }
    return "?";
}

#define MAX_SLOTS 64

/* The slotted picture of the horizon. */
typedef struct horizon {
    int J;                    /* slots of one second, 1..J */
    double am[MAX_SLOTS + 1]; /* answers arrived by j: mean */
    double av[MAX_SLOTS + 1]; /* and variance */
    double fm[MAX_SLOTS + 1]; /* agents free by j + deadline: mean */
    double fv[MAX_SLOTS + 1];
    double bj[MAX_SLOTS + 1]; /* P(live answer by j) of a new dial */
} horizon;

static double
slot_excess(const horizon *h, int j, int n)
{
    double b = h->bj[j];
    double mu = h->am[j] + n * b - h->fm[j];
    double var = h->av[j] + n * b * (1.0 - b) + h->fv[j];
    return pacing_normal_excess(mu, var);
}

/* Expected overflow with n new dials: the largest expected excess of
 * answers over agents over the slots (a realised path abandons exactly
 * max_j (answers by j - agents free by j + deadline), Hall's condition on
 * these nested sets; the expectation of the max is approximated by the
 * max of the expectations). */
static double
overflow_with(const horizon *h, int n)
{
    double best = 0;
    for (int j = 1; j <= h->J; j++) {
        double o = slot_excess(h, j, n);
        if (o > best)
            best = o;
    }
    return best;
}

/* What dial n + 1 adds to the overflow. The max of expectations would say
 * 0 whenever an early slot, which a new dial cannot reach, dominates;
 * the largest increment over the slots is the conservative reading. */
static double
marginal_overflow(const horizon *h, int n)
{
    double best = 0;
    for (int j = 1; j <= h->J; j++) {
        double d = slot_excess(h, j, n + 1) - slot_excess(h, j, n);
        if (d > best)
            best = d;
    }
    return best;
}

int
pacing_decide(pacing *p, const pacing_state *s, pacing_explain *out)
{
    if (!p || !s || (s->n_agents && !s->agents) || (s->n_calls && !s->calls))
        return -EINVAL;
    pacing_config c = {0};
    if (s->config)
        c = *s->config;
    c.cap = dflt(c.cap, 0.03);
    c.connect_deadline_s = dflt(c.connect_deadline_s, 2.0);
    c.no_answer_s = dflt(c.no_answer_s, 25.0);
    if (c.min_team <= 0)
        c.min_team = 4;
    c.max_ratio = dflt(c.max_ratio, 6.0);
    if (c.cold_start_attempts <= 0)
        c.cold_start_attempts = 30;
    if (c.target_margin <= 0)
        c.target_margin = 0.15;
    if (c.cap >= 1 || c.target_margin >= 1)
        return -EINVAL;

    pacing_explain e;
    memset(&e, 0, sizeof e);
    e.now_ms = s->now_ms;

    for (size_t i = 0; i < s->n_agents; i++) {
        switch (s->agents[i].state) {
        case PACING_AGENT_FREE:
            e.agents_free++;
            break;
        case PACING_AGENT_TALK:
            e.agents_talk++;
            break;
        case PACING_AGENT_WRAP:
            e.agents_wrap++;
            break;
        default:
            e.agents_other++;
            break;
        }
    }
    for (size_t i = 0; i < s->n_calls; i++) {
        if (s->calls[i].answered)
            e.calls_waiting++;
        else
            e.calls_ringing++;
    }

    double wsum = 0;
    for (int k = 0; k < PACING_OUTCOME_COUNT; k++)
        wsum += p->w[k];
    double pr[PACING_OUTCOME_COUNT];
    for (int k = 0; k < PACING_OUTCOME_COUNT; k++)
        pr[k] = p->w[k] / wsum;
    e.hit_rate = pr[PACING_LIVE];
    e.machine_rate = pr[PACING_MACHINE];
    e.amd_fp_rate = pacing__fp_rate(p);
    e.talk_mean_s = lnfit_mean(&p->talk);
    e.wrap_mean_s = lnfit_mean(&p->wrap);
    e.attempts_seen = p->attempts;

    /* Budget. */
    double tau = c.cap * (1.0 - c.target_margin);
    p->tau = tau;
    window_sums(p, c.window, s->now_ms, &e.window_live, &e.window_abandons,
                &e.day_live, &e.day_abandons);
    e.budget_remaining = c.cap * e.window_live - e.window_abandons;
    double slack = tau * e.window_live - e.window_abandons;
    double xs = slack / SLACK_SCALE, xl = p->learn_slack / LEARN_SCALE;
    double theta = THETA0 * exp((xs < SLACK_UP ? xs : SLACK_UP) +
                                (xl < LEARN_UP ? xl : LEARN_UP));
    /* A longer window is not also held day by day: charging a bad day
     * twice (in the window and in the day) costs occupancy for nothing
     * the window's rule asks. Use PACING_WINDOW_DAY where days count. */
    if (theta > THETA_MAX)
        theta = THETA_MAX;
    /* The false positives still to come are charged first: what is left
     * for overflow is the target minus the false-positive share. */
    double fpl = fp_per_live(p) / (1.0 + fp_per_live(p));
    e.target_rate = theta * (tau - fpl > 0 ? (tau - fpl) / tau : 0.0);

    int team = e.agents_free + e.agents_talk + e.agents_wrap;
    int progressive = e.agents_free - e.calls_ringing - e.calls_waiting;
    if (progressive < 0)
        progressive = 0;

    double ring_mu, ring_sig;
    lnfit_get(&p->ring[PACING_LIVE], &ring_mu, &ring_sig);
    double hmean = exp(ring_mu + ring_sig * ring_sig / 2.0);
    /* By default the horizon covers the whole life of a call placed now:
     * every answer it can bring needs an agent by then. */
    double H = c.horizon_s > 0 ? c.horizon_s : c.no_answer_s;
    (void)hmean;
    if (H > MAX_SLOTS)
        H = MAX_SLOTS;
    e.horizon_s = H;

    if (p->attempts < c.cold_start_attempts || team < c.min_team) {
        e.mode = p->attempts < c.cold_start_attempts
                     ? PACING_MODE_COLD_START
                     : PACING_MODE_PROGRESSIVE;
        e.lines = progressive;
        if (c.max_lines > 0 && e.lines > c.max_lines)
            e.lines = c.max_lines;
        if (out)
            *out = e;
        return e.lines;
    }
    e.mode = PACING_MODE_PREDICTIVE;

    horizon hzs;
    memset(&hzs, 0, sizeof hzs);
    horizon *hz = &hzs;
    hz->J = (int)ceil(H);
    double D = c.connect_deadline_s;

    /* Ring-time fits of every outcome, to condition calls in flight. */
    double mu[PACING_OUTCOME_COUNT], sg[PACING_OUTCOME_COUNT];
    for (int k = 0; k < PACING_OUTCOME_COUNT; k++)
        lnfit_get(&p->ring[k], &mu[k], &sg[k]);

    for (int j = 0; j <= hz->J; j++)
        hz->bj[j] = pr[PACING_LIVE] *
                    (1.0 - ln_surv(j, mu[PACING_LIVE], sg[PACING_LIVE]));
    e.answer_per_dial = hz->bj[hz->J];

    for (size_t i = 0; i < s->n_calls; i++) {
        const pacing_call *cl = &s->calls[i];
        if (cl->answered) {
            for (int j = 0; j <= hz->J; j++)
                hz->am[j] += 1.0;
            e.answers_inflight += 1.0;
            continue;
        }
        double t = cl->elapsed_s;
        double alive[PACING_OUTCOME_COUNT], den = 0;
        for (int k = 0; k < PACING_OUTCOME_COUNT; k++) {
            if (k == PACING_NO_ANSWER)
                alive[k] = t < c.no_answer_s ? 1.0 : 0.0;
            else
                alive[k] = ln_surv(t, mu[k], sg[k]);
            den += pr[k] * alive[k];
        }
        if (den < 1e-12)
            continue;
        double sl = ln_surv(t, mu[PACING_LIVE], sg[PACING_LIVE]);
        for (int j = 1; j <= hz->J; j++) {
            double q = pr[PACING_LIVE] *
                       (sl - ln_surv(t + j, mu[PACING_LIVE],
                                     sg[PACING_LIVE])) / den;
            hz->am[j] += q;
            hz->av[j] += q * (1.0 - q);
        }
    }
    /* answers_inflight: mean arrived by the end of the horizon. */
    e.answers_inflight = hz->am[hz->J];

    /* Agents free by j + D: P(talk rest + wrap <= j + D). The wrap is
     * convolved over one-second talk-end slots. */
    double tmu, tsg, wmu, wsg;
    lnfit_get(&p->talk, &tmu, &tsg);
    lnfit_get(&p->wrap, &wmu, &wsg);
    int K = hz->J + (int)ceil(D);
    double wcdf[MAX_SLOTS + 8];
    for (int k = 0; k <= K; k++)
        wcdf[k] = 1.0 - ln_surv(k, wmu, wsg);
    for (size_t i = 0; i < s->n_agents; i++) {
        const pacing_agent *a = &s->agents[i];
        double pf[MAX_SLOTS + 8]; /* P(free by k) */
        if (a->state == PACING_AGENT_FREE) {
            for (int j = 0; j <= hz->J; j++)
                hz->fm[j] += 1.0;
            continue;
        }
        if (a->state == PACING_AGENT_WRAP) {
            double se = ln_surv(a->elapsed_s, wmu, wsg);
            for (int k = 0; k <= K; k++)
                pf[k] = se < 1e-12 ? 1.0
                                   : 1.0 - ln_surv(a->elapsed_s + k, wmu,
                                                   wsg) / se;
        } else if (a->state == PACING_AGENT_TALK) {
            double se = ln_surv(a->elapsed_s, tmu, tsg);
            double prev = 0;
            for (int k = 0; k <= K; k++)
                pf[k] = 0;
            for (int m = 1; m <= K; m++) {
                double done = se < 1e-12 ? 1.0
                                         : 1.0 - ln_surv(a->elapsed_s + m,
                                                         tmu, tsg) / se;
                double in_slot = done - prev; /* talk ends in (m-1, m] */
                prev = done;
                if (in_slot <= 0)
                    continue;
                /* Wrap must end by k: talk ended ~ at m - 0.5. */
                for (int k = m; k <= K; k++) {
                    int r = k - m;
                    double wc = 0.5 * (wcdf[r] + (r + 1 <= K ? wcdf[r + 1]
                                                            : 1.0));
                    pf[k] += in_slot * wc;
                }
            }
        } else {
            continue;
        }
        for (int j = 0; j <= hz->J; j++) {
            int k = j + (int)ceil(D);
            double q = pf[k > K ? K : k];
            q = q < 0 ? 0 : q > 1 ? 1 : q;
            hz->fm[j] += q;
            hz->fv[j] += q * (1.0 - q);
        }
    }
    e.agents_free_soon = hz->fm[hz->J] - e.agents_free;
    e.agents_available = hz->fm[hz->J];

    int cap_total = (int)floor(c.max_ratio * team) - e.calls_ringing -
                    e.calls_waiting;
    int n = 0;
    double per_dial = e.answer_per_dial;
    double allowed_marginal = e.target_rate * per_dial;
    while (n < cap_total && (c.max_lines <= 0 || n < c.max_lines)) {
        if (n >= progressive &&
            marginal_overflow(hz, n) > allowed_marginal)
            break;
        n++;
    }
    if (n < progressive)
        n = progressive;
    if (c.max_lines > 0 && n > c.max_lines)
        n = c.max_lines;
    e.lines = n;
    e.answers_new = n * per_dial;
    e.overflow = overflow_with(hz, n);
    e.overflow_allowed = allowed_marginal;
    if (out)
        *out = e;
    return n;
}
