/* SPDX-License-Identifier: MIT */
/**
 * @file pacing.h
 * Predictive pacing with an abandonment guarantee.
 *
 * A pure, deterministic model: no I/O, no host calls, no clock, no global
 * state. One `pacing` object per campaign holds the estimators; the dialer
 * feeds it what it observes (attempt outcomes with their ring time, talk
 * and wrap durations, live answers and abandons with their timestamps, AMD
 * audits) and, whenever a line or an agent changes, asks pacing_decide()
 * how many new calls to place now. Every decision fills a pacing_explain
 * with all its inputs and intermediate figures ("why 7 lines now"), which
 * pacing_explain_format() and pacing_explain_each() turn into text or
 * key/value pairs for events and supervisor screens.
 *
 * The model (see docs/pacing.md):
 *  - a call still ringing after t seconds answers live with probability
 *    P(live and T > t) / P(T > t), from the ring-time distributions of
 *    each outcome (hazard: a call ringing for 20 s is unlikely to be a
 *    human any more);
 *  - an agent in talk (wrap) for e seconds is free within h seconds with
 *    probability 1 - S(e + h) / S(e), talk and wrap lognormal, fitted
 *    online from observed durations (conditional survival);
 *  - the hit rate per outcome follows drift: exponentially weighted with a
 *    prior, in attempts;
 *  - AMD false positives (humans hung up as machines) are charged to the
 *    budget up front, at the estimated rate, for every live answer;
 *  - the number of new dials keeps the expected overflow (answers beyond
 *    the agents free within the connect deadline) within the remaining
 *    abandonment budget of the regulatory window: spend less when over,
 *    more when under; per day AND over the window;
 *  - cold start (too few observations) dials progressively from the
 *    priors; teams smaller than min_team fall back to progressive.
 *
 * Time: UTC milliseconds since the epoch (plt_now()), given by the caller.
 * Ownership: the caller owns every struct it passes; pacing_decide() keeps
 * no pointer into them.
 * Thread: a pacing object is not shared between threads; distinct objects
 * are independent.
 */
#ifndef PLATEAU_PACING_H
#define PLATEAU_PACING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** How a dial attempt ended, as seen by the dialer. */
typedef enum pacing_outcome {
    PACING_LIVE = 0,    /**< answered by a human (AMD said human) */
    PACING_MACHINE,     /**< answered by a machine (AMD said machine) */
    PACING_NO_ANSWER,   /**< rang until the no-answer timeout */
    PACING_BUSY,        /**< busy signal */
    PACING_INVALID,     /**< number unobtainable / invalid */
    PACING_CONGESTION,  /**< network congestion, trunk refused */
    PACING_OUTCOME_COUNT
} pacing_outcome;

/** Agent state as the pacing sees it. */
typedef enum pacing_agent_state {
    PACING_AGENT_FREE = 0, /**< ready, waiting for a call */
    PACING_AGENT_TALK,     /**< on a call */
    PACING_AGENT_WRAP,     /**< after-call work */
    PACING_AGENT_OTHER     /**< paused, preview, unknown: not counted */
} pacing_agent_state;

/** Regulatory window over which the abandon rate is measured. */
typedef enum pacing_window {
    PACING_WINDOW_DAY = 0,    /**< per calendar day (France, UK) */
    PACING_WINDOW_ROLLING_30, /**< rolling 30 days (US, per campaign) */
    PACING_WINDOW_CAMPAIGN    /**< since the pacing object was created */
} pacing_window;

/** What kind of decision was taken. */
typedef enum pacing_mode {
    PACING_MODE_COLD_START = 0, /**< too few observations: progressive */
    PACING_MODE_PROGRESSIVE,    /**< team smaller than min_team */
    PACING_MODE_PREDICTIVE
} pacing_mode;

/** Why an abandon was counted. */
typedef enum pacing_abandon_reason {
    PACING_ABANDON_NO_AGENT = 0, /**< no agent within the connect deadline */
    PACING_ABANDON_AMD_FP        /**< a human hung up as a machine, known */
} pacing_abandon_reason;

/** Priors and estimator settings, given at creation. Zero = default. */
typedef struct pacing_priors {
    double live_rate;        /**< prior P(live), default 0.15 */
    double machine_rate;     /**< prior P(machine), default 0.20 */
    double prior_weight;     /**< prior weight in attempts, default 50 */
    double halflife;         /**< hit-rate half-life in attempts, 400 */
    double talk_mean_s;      /**< prior talk mean, default 120 */
    double talk_sd_s;        /**< prior talk sd, default 120 */
    double wrap_mean_s;      /**< prior wrap mean, default 15 */
    double wrap_sd_s;        /**< prior wrap sd, default 10 */
    double duration_weight;  /**< prior weight in observations, 20 */
    double human_ring_mean_s;/**< prior human ring mean, default 10 */
    double human_ring_sd_s;  /**< prior human ring sd, default 5 */
    double machine_ring_mean_s; /**< prior machine ring mean, 20 */
    double machine_ring_sd_s;   /**< prior machine ring sd, 3 */
    double amd_fp_rate;      /**< prior share of humans hung up as machines,
                                  default 0 (no AMD or ideal) */
    double amd_fp_weight;    /**< prior weight of amd_fp_rate in audits,
                                  default 1000 */
    int32_t day_offset_s;    /**< offset added to UTC to find the local
                                  calendar day of the window, default 0 */
} pacing_priors;

/** One agent of the team, at decision time. */
typedef struct pacing_agent {
    pacing_agent_state state;
    double elapsed_s; /**< time already spent in that state */
} pacing_agent;

/** One call in flight, at decision time. */
typedef struct pacing_call {
    int answered;     /**< 1: answered live, waiting for an agent */
    double elapsed_s; /**< ringing: time since dialled; answered: time
                           since answered */
} pacing_call;

/** Decision settings. Zero = default. */
typedef struct pacing_config {
    double cap;            /**< abandon cap, default 0.03 */
    pacing_window window;  /**< window of the cap */
    double horizon_s;      /**< look-ahead for agents and answers, 0 =
                                default: no_answer_s, the whole life of a
                                call placed now (at most 60 s) */
    double connect_deadline_s; /**< answered call abandoned after, 2 */
    double no_answer_s;    /**< no-answer timeout of a dial, default 25 */
    int min_team;          /**< fewer agents (free+talk+wrap) than this:
                                progressive, default 4 */
    double max_ratio;      /**< max calls in flight per counted agent,
                                default 6 */
    int max_lines;         /**< max new dials per decision, 0 = none */
    int cold_start_attempts; /**< attempts before predictive, default 30 */
    double target_margin;  /**< aimed-for rate = cap * (1 - margin),
                                default 0.15 */
} pacing_config;

/** The state handed to pacing_decide(). */
typedef struct pacing_state {
    int64_t now_ms;
    const pacing_agent *agents;
    size_t n_agents;
    const pacing_call *calls;
    size_t n_calls;
    const pacing_config *config; /**< NULL: all defaults */
} pacing_state;

/** Every input and intermediate of one decision. */
typedef struct pacing_explain {
    int64_t now_ms;
    pacing_mode mode;
    int lines; /**< the decision: new calls to place now */
    /* team */
    int agents_free, agents_talk, agents_wrap, agents_other;
    double agents_free_soon;   /**< expected to free within the horizon */
    double agents_available;   /**< free now + free soon */
    /* calls */
    int calls_ringing, calls_waiting;
    double answers_inflight;   /**< expected live answers, calls in flight */
    double answer_per_dial;    /**< P(live within horizon) for a new dial */
    double answers_new;        /**< expected live answers from new dials */
    double overflow;           /**< expected answers with no agent */
    double overflow_allowed;   /**< extra overflow one more dial may add:
                                    target_rate * answer_per_dial */
    /* estimators */
    double hit_rate;           /**< estimated P(live) per attempt */
    double machine_rate;       /**< estimated P(machine) per attempt */
    double amd_fp_rate;        /**< estimated humans hung up as machines */
    double talk_mean_s, wrap_mean_s;
    double attempts_seen;
    /* budget */
    double window_live;        /**< live answers in the window */
    double window_abandons;    /**< abandons charged in the window,
                                    including estimated AMD false positives */
    double day_live, day_abandons; /**< same, today */
    double target_rate;        /**< admissible abandon probability of one
                                    more dial's answer, after AMD false
                                    positives: the budget controller */
    double budget_remaining;   /**< abandons still allowed in the window
                                    at the cap (can be negative) */
    double horizon_s;
} pacing_explain;

typedef struct pacing pacing;

/**
 * Create a pacing object.
 * @param priors NULL for defaults.
 * @return the object, or NULL when out of memory or priors are invalid
 * (negative rates, rates summing above 1).
 * Ownership: release with pacing_free().
 */
pacing *pacing_new(const pacing_priors *priors);

/** Release a pacing object; NULL is allowed. */
void pacing_free(pacing *p);

/**
 * Record the end of a dial attempt.
 * @param outcome  how it ended.
 * @param ring_s   seconds from dial to answer / busy / failure / timeout.
 * @param t_ms     when it ended.
 * A PACING_LIVE outcome also counts one live answer in the window.
 * @return 0, or PLT-style -EINVAL for a bad outcome or negative ring_s.
 */
int pacing_observe_attempt(pacing *p, pacing_outcome outcome, double ring_s,
                           int64_t t_ms);

/** Record a finished talk (after a connect). -EINVAL if not positive. */
int pacing_observe_talk(pacing *p, double talk_s);

/** Record a finished wrap-up. -EINVAL if negative. */
int pacing_observe_wrap(pacing *p, double wrap_s);

/**
 * Record an abandoned live answer at t_ms (it was counted as live by
 * pacing_observe_attempt). PACING_ABANDON_AMD_FP is for a false positive
 * that is known (audited); estimated false positives are charged by the
 * model itself.
 */
int pacing_observe_abandon(pacing *p, pacing_abandon_reason reason,
                           int64_t t_ms);

/**
 * Account live answers and abandons that happened before this object was
 * created - the campaign's stored history after a restart - at t_ms, in
 * the regulatory window only: the hit rate, the durations and the
 * controller's learnt level are not touched. @p abandons may be
 * fractional (estimated AMD false positives already charged). Without it
 * a restarted dialer would start its window at zero and spend again what
 * the day (or the last 30 days) already spent.
 * @return 0; -EINVAL for NULL or negative counts.
 */
int pacing_observe_history(pacing *p, int64_t t_ms, double live,
                           double abandons);

/**
 * Record one AMD audit: a call whose truth is known (a human verified, a
 * machine verified). human = 1 if a human answered; hung_up = 1 if AMD
 * classified it as machine. Feeds the false-positive estimate (share of
 * humans classified as machines).
 */
int pacing_observe_amd_audit(pacing *p, int human, int hung_up);

/**
 * Decide how many new calls to place now.
 * @param out  filled with every input and intermediate; may be NULL.
 * @return the number of lines (>= 0), or -EINVAL on a bad state.
 * Deterministic: the same observations and state give the same answer.
 */
int pacing_decide(pacing *p, const pacing_state *s, pacing_explain *out);

/** Name of a mode: "cold_start", "progressive", "predictive". */
const char *pacing_mode_name(pacing_mode m);

/**
 * Format an explanation as one line of text ("7 lines: predictive, 3 free
 * + 2.4 soon, ..."). snprintf semantics: returns the length it needed.
 */
int pacing_explain_format(const pacing_explain *e, char *buf, size_t n);

/** Called once per field of an explanation, with its key and value. */
typedef void (*pacing_kv_fn)(void *ud, const char *key, const char *value);

/** Walk every field of an explanation as key/value text pairs. */
void pacing_explain_each(const pacing_explain *e, pacing_kv_fn fn, void *ud);

/* --- The maths, exposed for tests and the benchmark ---------------------- */

/** Lognormal survival P(T > t) for a given mean and sd (not mu/sigma). */
double pacing_lognormal_survival(double t, double mean, double sd);

/** P(T <= e + h | T > e) for lognormal T with the given mean and sd. */
double pacing_lognormal_done_within(double e, double h, double mean,
                                    double sd);

/** Normal survival P(X > x). */
double pacing_normal_survival(double x, double mu, double sd);

/** E[max(0, X)] for X ~ Normal(mu, var). */
double pacing_normal_excess(double mu, double var);

#ifdef __cplusplus
}
#endif

#endif
