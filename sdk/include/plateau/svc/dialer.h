/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/svc/dialer.h
 * The `dialer` service 1.1: outbound campaigns ("opérations") and the
 * calls they place, implemented by the `dialer` plugin on top of `leads`,
 * `telephony`, `agents`, `acd` and `storage`.
 *
 * MODEL.
 *  - A campaign has a key (its name, [a-z0-9_-]+: the `campaign` string of
 *    the leads service), a type, an ON/OFF switch, attached lead lists
 *    with weights, a dial mode, a caller ID and a trunk, retry rules per
 *    outcome, opening hours evaluated in each contact's time zone, result
 *    codes (dispositions) with a meaning, a connect deadline with an
 *    abandon message, and optionally a compliance pack (conf/compliance/
 *    NAME.yaml: legal hours, holidays, caps, abandonment limit).
 *  - Campaigns come from the plugin's configuration (read-only, source
 *    "config") or are created through this service (source "storage",
 *    kept in the database). ON/OFF is stored for both and survives a
 *    restart.
 *  - Dial modes: PREVIEW (the agent sees the contact, then dials or
 *    skips), PROGRESSIVE (one line per available agent), POWER (a fixed
 *    number of lines per available agent), PREDICTIVE (the pacing model
 *    decides, within the abandonment budget; every decision is explained
 *    and published as `dialer.pacing`).
 *  - Answered calls of progressive/power/predictive campaigns go to the
 *    campaign's ACD queue. A call not connected to an agent within the
 *    connect deadline (2 s by default) is ABANDONED: it hears the
 *    campaign's message, is hung up, and counts against the abandonment
 *    limit.
 *  - Callbacks booked with a disposition are dialled when due: a callback
 *    for one agent only in that agent's session (the agent is reserved
 *    first), a callback for anyone by the campaign's normal flow.
 *
 * CRASH SAFETY. A contact is reserved (leads) and the attempt is written
 * (durably) before the call leaves; after a crash the dialer marks every
 * attempt that was in flight as "interrupted", finishes its contact and
 * never dials it again for that attempt. Do-not-call is checked again
 * right before dialling.
 *
 * EVENTS (every one has campaign):
 *   dialer.campaign.changed  (campaign, enabled, by)
 *   dialer.attempt.started   (attempt_id, contact_id, phone, leg_id, mode,
 *                             agent when dialled for one agent)
 *   dialer.attempt.ended     (attempt_id, contact_id, phone, outcome,
 *                             amd, agent, abandoned, ring_ms, talk_ms)
 *   dialer.call.abandoned    (attempt_id, contact_id, leg_id, reason:
 *                             deadline|amd_false_positive)
 *   dialer.preview.offered   (agent, contact_id, phones, preview_id)
 *   dialer.callback.due      (agent or "", contact_id, callback_at)
 *   dialer.pacing            (lines, agents_available, agents_logged_in,
 *                             in_flight, abandon_rate, budget, mode,
 *                             reason: one line of text, and the pacing
 *                             model's inputs; also stored, see pacing_log)
 *   dialer.contact.blocked   (contact_id, phone, phones, rule: dnc|hours|
 *                             cap|refusal|abandon_repeat; phone = the
 *                             number chosen, or the first when none could
 *                             be; phones = all of them, comma-separated)
 *
 * Thread: loop thread only; callbacks on the loop. Ownership: inputs are
 * copied before a function returns; pointers given to callbacks are valid
 * only during the callback. Callbacks: none if a function returns < 0.
 */
#ifndef PLATEAU_SVC_DIALER_H
#define PLATEAU_SVC_DIALER_H

#include <stdbool.h>

#include "plateau/service.h"
#include "plateau/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PLT_DIALER_NAME "dialer"
#define PLT_DIALER_MAJOR 1
#define PLT_DIALER_MINOR 1

/** Campaign types. Values frozen for dialer 1.x. */
typedef enum plt_campaign_type {
    PLT_CAMPAIGN_SALE = 1,
    PLT_CAMPAIGN_APPOINTMENT = 2,
    PLT_CAMPAIGN_SURVEY = 3,
    PLT_CAMPAIGN_OTHER = 4
} plt_campaign_type;

/** Dial modes. Values frozen for dialer 1.x. */
typedef enum plt_dial_mode {
    PLT_DIAL_PREVIEW = 1,
    PLT_DIAL_PROGRESSIVE = 2,
    PLT_DIAL_POWER = 3,
    PLT_DIAL_PREDICTIVE = 4
} plt_dial_mode;

/** Outcome classes that have retry rules. */
typedef enum plt_retry_class {
    PLT_RETRY_NO_ANSWER = 1,  /**< "NRP": rang for ring_timeout, no answer */
    PLT_RETRY_BUSY = 2,
    PLT_RETRY_MACHINE = 3,    /**< answering machine (AMD) */
    PLT_RETRY_CONGESTION = 4, /**< congestion, failure, trunk refused */
    PLT_RETRY_ABANDONED = 5,  /**< answered, no agent within the deadline */
    PLT_RETRY_COUNT_ = 6
} plt_retry_class;

/** Meaning of a result code. Values frozen for dialer 1.x. */
typedef enum plt_disposition_kind {
    PLT_DISPO_SUCCESS = 1,  /**< final, positive (sale, appointment) */
    PLT_DISPO_FINAL = 2,    /**< final, neutral or negative */
    PLT_DISPO_REFUSAL = 3,  /**< the consumer refused: final, and starts
                                 the compliance pack's silence period */
    PLT_DISPO_CALLBACK = 4, /**< call again at a time (callback_at) */
    PLT_DISPO_RETRY = 5,    /**< try again per the retry rules */
    PLT_DISPO_DNC = 6       /**< put every number on the campaign's DNC */
} plt_disposition_kind;

/** Days of the week as bits, Monday = bit 0 ... Sunday = bit 6. */
#define PLT_DAY(i) (1u << (i))
#define PLT_WEEKDAYS 0x1Fu
#define PLT_ALL_DAYS 0x7Fu

/** An opening window: on @p days, from @p from_min to @p to_min (minutes
 *  after local midnight, to excluded). */
typedef struct plt_dialer_window {
    uint32_t days;   /**< PLT_DAY bits */
    int32_t from_min;
    int32_t to_min;
} plt_dialer_window;

/** A retry rule: after an outcome of @p cls, wait @p delay_ms; stop after
 *  @p max_attempts attempts of that class (0 = no limit of its own). */
typedef struct plt_dialer_retry {
    int32_t cls;         /**< plt_retry_class */
    int64_t delay_ms;
    int32_t max_attempts;
} plt_dialer_retry;

/** A lead list attached to the campaign, by name (leads list), and its
 *  weight in the mix (>= 1). */
typedef struct plt_dialer_list {
    const char *list;
    int32_t weight;
} plt_dialer_list;

/** When a number of a given type may be dialled (per-number schedule,
 *  "mobile only outside office hours"). Numbers of a type without a rule
 *  follow the campaign's hours only. */
typedef struct plt_dialer_phone_rule {
    int32_t phone_type;  /**< plt_phone_type (leads.h) */
    const plt_dialer_window *windows; /**< in the contact's time zone */
    size_t nwindows;
} plt_dialer_phone_rule;

/** A result code of the campaign. */
typedef struct plt_dialer_disposition {
    const char *code;  /**< "SALE", "REFUS", ... */
    const char *label; /**< shown to agents */
    int32_t kind;      /**< plt_disposition_kind */
} plt_dialer_disposition;

/** How the numbers of one contact are tried. */
typedef enum plt_phone_order {
    PLT_PHONES_BY_ORDER = 1,   /**< first number first; the next after a
                                    failed attempt on it */
    PLT_PHONES_BY_SCHEDULE = 2 /**< the first number whose phone rule
                                    allows it now */
} plt_phone_order;

/**
 * A campaign definition. Zero members take defaults (noted). Append only;
 * set size = sizeof(plt_dialer_campaign).
 */
typedef struct plt_dialer_campaign {
    uint32_t size;
    const char *name;        /**< key, [a-z0-9_-]{1,40} */
    const char *label;       /**< display name; NULL = name */
    int32_t type;            /**< plt_campaign_type; 0 = OTHER */
    bool enabled;            /**< ON/OFF */
    int32_t mode;            /**< plt_dial_mode; 0 = PROGRESSIVE */
    double power_ratio;      /**< POWER: lines per available agent (> 0) */
    const char *caller_id;   /**< presented number; NULL = trunk default */
    const char *trunk;       /**< NULL = telephony's routing */
    const char *queue;       /**< ACD queue of answered calls (required for
                                  progressive, power and predictive) */
    const char *const *agents; /**< agents working the campaign (preview,
                                    callbacks, pacing); NULL = the agents
                                    of its ACD queue (acd 1.2 `serves`),
                                    or every logged-in agent without a
                                    queue */
    size_t nagents;
    const plt_dialer_list *lists;
    size_t nlists;
    int32_t phone_order;     /**< plt_phone_order; 0 = BY_ORDER */
    const plt_dialer_phone_rule *phone_rules;
    size_t nphone_rules;
    const plt_dialer_retry *retries;
    size_t nretries;
    int32_t max_attempts;    /**< per contact, all outcomes; 0 = 10 */
    uint32_t ring_timeout_ms; /**< "NRP" after this much ringing; 0 = 25 s
                                   (raised to the pack's minimum ring) */
    uint32_t connect_deadline_ms; /**< 0 = 2000 */
    const char *abandon_message;  /**< WAV played before hanging up an
                                       abandoned call; NULL = the pack's
                                       requirement decides (error if the
                                       pack requires one) */
    bool amd;                /**< answering-machine detection */
    const plt_dialer_window *hours; /**< NULL = the pack's hours, or
                                         always open without a pack */
    size_t nhours;
    const char *const *holidays; /**< "YYYY-MM-DD" closed days, on top of
                                      the pack's */
    size_t nholidays;
    const char *compliance;  /**< pack name ("fr", "us", "uk") or NULL */
    const plt_dialer_disposition *dispositions;
    size_t ndispositions;
    uint32_t max_lines;      /**< cap on lines in flight; 0 = no cap */
    uint32_t preview_timeout_ms; /**< PREVIEW: an agent's decision time;
                                      0 = 120 s, then skipped */
    const char *source;      /**< read only: "config" or "storage" */
    /* ---- 1.1 (check size before use) ---- */
    double amd_false_positive_rate; /**< share of live answers the AMD
                                         detector hangs up as machines, as
                                         known from its audits (0..0.5);
                                         charged to the abandonment budget
                                         up front by predictive pacing.
                                         0 = the pack's estimate, if any */
} plt_dialer_campaign;

/** Live figures of a campaign. */
typedef struct plt_dialer_stats {
    uint32_t size;
    const char *campaign;
    bool enabled;
    uint32_t lines_in_flight;   /**< dialling, ringing or answered waiting */
    uint32_t agents_available;  /**< of the campaign, now */
    uint64_t attempts, answered, machines, abandoned; /**< since start */
    uint64_t live_answers_window, abandoned_window;  /**< in the pack's
                                                          abandonment window */
    double abandon_rate;        /**< abandoned / live answers in the window */
    double abandon_limit;       /**< from the pack; 0 = none */
} plt_dialer_stats;

/** One pacing decision, as stored ("why 7 lines now"). */
typedef struct plt_dialer_pacing_entry {
    int64_t at;            /**< UTC ms */
    const char *campaign;
    int32_t lines;         /**< lines dialled by this decision */
    const char *explain;   /**< the model's record, JSON text */
} plt_dialer_pacing_entry;

typedef void (*plt_dialer_done_fn)(void *arg, int status, const char *msg);
typedef void (*plt_dialer_campaign_fn)(void *arg, int status,
                                       const plt_dialer_campaign *c);
/** Row callbacks return non-zero to stop. */
typedef int (*plt_dialer_campaign_row_fn)(void *arg,
                                          const plt_dialer_campaign *c);
typedef void (*plt_dialer_stats_fn)(void *arg, int status,
                                    const plt_dialer_stats *st);
typedef int (*plt_dialer_pacing_row_fn)(void *arg,
                                        const plt_dialer_pacing_entry *e);

/** A disposition set by an agent at the end of a call. */
typedef struct plt_dialer_result {
    uint32_t size;
    const char *campaign;
    int64_t contact_id;
    const char *code;        /**< one of the campaign's dispositions */
    const char *agent;
    const char *note;
    int64_t callback_at;     /**< UTC ms, for CALLBACK codes */
    const char *callback_agent; /**< NULL = anyone */
} plt_dialer_result;

typedef struct plt_dialer_vt {
    uint32_t size;

    /* ---- campaigns (the admin wizard) ---- */
    /** Validate and store a new campaign. PLT_EEXIST if the name is taken;
     *  PLT_EINVAL with a message in done() for an invalid definition
     *  (unknown pack, list, mode without a queue, ...). */
    int (*campaign_create)(void *impl, const plt_dialer_campaign *c,
                           plt_dialer_done_fn done, void *arg);
    /** Replace a stored campaign's definition (ON/OFF kept unless changed).
     *  PLT_EPERM for a campaign from the configuration file. */
    int (*campaign_update)(void *impl, const plt_dialer_campaign *c,
                           plt_dialer_done_fn done, void *arg);
    /** One campaign. PLT_ENOENT. Calls back before returning. */
    int (*campaign_get)(void *impl, const char *name,
                        plt_dialer_campaign_fn cb, void *arg);
    /** Every campaign, by name. Calls back before returning. */
    int (*campaign_list)(void *impl, plt_dialer_campaign_row_fn row,
                         void *arg);
    /** Switch a campaign ON or OFF (durable). OFF stops new calls at once;
     *  calls in progress finish. @p by is logged. */
    int (*campaign_set_enabled)(void *impl, const char *name, bool on,
                                const char *by, plt_dialer_done_fn done,
                                void *arg);
    /** Live figures. Calls back before returning. */
    int (*campaign_stats)(void *impl, const char *name,
                          plt_dialer_stats_fn cb, void *arg);

    /* ---- agents ---- */
    /** PREVIEW: dial the previewed contact (@p phone_index into its
     *  numbers, -1 = the campaign's choice). PLT_ENOENT if nothing is
     *  previewed for @p agent. */
    int (*preview_dial)(void *impl, const char *agent, int32_t phone_index);
    /** PREVIEW: skip the previewed contact (it is retried later). */
    int (*preview_skip)(void *impl, const char *agent);
    /** Record the result of a call (durable), apply its meaning (refusal
     *  silence, DNC, callback), and release the agent's wrap-up if it is
     *  the dialer's. */
    int (*set_result)(void *impl, const plt_dialer_result *r,
                      plt_dialer_done_fn done, void *arg);

    /* ---- supervision ---- */
    /** Stored pacing decisions of @p campaign from @p since (UTC ms),
     *  newest first, at most @p limit. */
    int (*pacing_log)(void *impl, const char *campaign, int64_t since,
                      int32_t limit, plt_dialer_pacing_row_fn row,
                      plt_dialer_done_fn done, void *arg);
} plt_dialer_vt;

/** Lower-case names, for events and the web UI. */
static inline const char *
plt_dial_mode_name(int32_t m)
{
    static const char *const n[] = {"unknown", "preview", "progressive",
                                    "power", "predictive"};
    return (m >= 1 && m <= 4) ? n[m] : n[0];
}

static inline const char *
plt_campaign_type_name(int32_t t)
{
    static const char *const n[] = {"unknown", "sale", "appointment",
                                    "survey", "other"};
    return (t >= 1 && t <= 4) ? n[t] : n[0];
}

/** A dialer handle as consumers keep it. */
typedef struct plt_dialer {
    const plt_dialer_vt *vt;
    void *impl;
} plt_dialer;

/** Acquire the dialer service (declare {"dialer", 1, 0, 0}). */
static inline int
plt_dialer_acquire(plt_dialer *out)
{
    plt_service_ref ref;
    int rc = plt_service_acquire(PLT_DIALER_NAME, PLT_DIALER_MAJOR,
                                 PLT_DIALER_MINOR, &ref);
    if (rc == 0) {
        out->vt = (const plt_dialer_vt *)ref.vtable;
        out->impl = ref.impl;
    }
    return rc;
}

#ifdef __cplusplus
}
#endif
#endif
