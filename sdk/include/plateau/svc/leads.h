/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/svc/leads.h
 * The `leads` service 1.0: contacts, lists, phone numbers, do-not-call,
 * history, and the reservation of leads for dialling.
 *
 * MODEL.
 *  - A list holds contacts imported together, with its own normalisation
 *    rules (default country, prefix to add) and custom field names. Lists
 *    are attached to campaigns (a campaign is the dialer's; here it is a
 *    string key such as "c12"), with a weight for mixing lists.
 *  - A contact has custom fields (name/value, any number, UTF-8; bytes
 *    that are not UTF-8 are stored as U+FFFD), up to
 *    PLT_LEADS_MAX_PHONES numbers (each normalised to E.164, with the
 *    original text kept, a type and an order), a time zone (from its first
 *    number's country/region when not given), a status and a history.
 *  - Do-not-call numbers are stored normalised, globally (scope "*") or per
 *    campaign (scope = campaign key). They are checked when contacts are
 *    added AND again at dial time (dnc_check), so a number added to the
 *    list after its lead was imported is never dialled.
 *  - Reservation hands the next eligible contacts of a campaign to one
 *    dialer (an "owner" token) atomically: the same contact is never handed
 *    to two owners, also with several Plateau nodes on PostgreSQL. The
 *    reservation is written before the caller dials (crash safety).
 *
 * Statuses (plt_lead_status): new contacts are AVAILABLE; reserve() makes
 * them RESERVED; attempt_done() sets them back to AVAILABLE (with a next
 * attempt time), or to DONE/FAILED/CALLBACK per the caller's decision;
 * DNC contacts are never reserved; INVALID contacts have no usable number.
 *
 * Thread: loop thread only; every callback runs on the loop. Ownership:
 * inputs copied before return; pointers in callbacks valid only during the
 * callback. Callbacks: none if a function returns < 0.
 *
 * CHANGES. 1.1: release_until() appended. plt_leads_acquire() still asks
 * for 1.0: test PLT_VT_HAS(vt, release_until) before using it.
 */
#ifndef PLATEAU_SVC_LEADS_H
#define PLATEAU_SVC_LEADS_H

#include <stdbool.h>

#include "plateau/service.h"
#include "plateau/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PLT_LEADS_NAME "leads"
#define PLT_LEADS_MAJOR 1
#define PLT_LEADS_MINOR 1

#define PLT_LEADS_MAX_PHONES 10

/** Contact status. Values frozen for leads 1.x. */
typedef enum plt_lead_status {
    PLT_LEAD_AVAILABLE = 1, /**< may be reserved (when next_attempt_at <= now) */
    PLT_LEAD_RESERVED = 2,  /**< handed to a dialer */
    PLT_LEAD_CALLBACK = 3,  /**< a callback is scheduled (see callback_at) */
    PLT_LEAD_DONE = 4,      /**< finished with a final disposition */
    PLT_LEAD_FAILED = 5,    /**< attempts exhausted */
    PLT_LEAD_DNC = 6,       /**< every number is on a do-not-call list */
    PLT_LEAD_INVALID = 7    /**< no usable number */
} plt_lead_status;

/** Phone number types (from the numbering plan, or the import mapping). */
typedef enum plt_phone_type {
    PLT_PHONE_UNKNOWN = 0,
    PLT_PHONE_MOBILE = 1,
    PLT_PHONE_FIXED = 2,  /**< home/landline */
    PLT_PHONE_WORK = 3,
    PLT_PHONE_OTHER = 4
} plt_phone_type;

/** One number of a contact. */
typedef struct plt_lead_phone {
    const char *e164;     /**< "+33612345678"; NULL in input = normalise */
    const char *original; /**< as written in the source (kept verbatim) */
    int32_t type;         /**< plt_phone_type */
    const char *time_zone; /**< IANA name or NULL */
} plt_lead_phone;

/** A custom field. */
typedef struct plt_lead_field {
    const char *name;  /**< field name as defined on the list */
    const char *value; /**< UTF-8 text, NULL = empty */
} plt_lead_field;

/** Normalisation rules of a list (also used by normalize()). */
typedef struct plt_lead_rules {
    const char *country;   /**< default ISO country, e.g. "FR" */
    const char *prefix;    /**< added to national numbers lacking it
                                ("0" for French numbers that lost it,
                                "0041" for Swiss local numbers), or NULL */
    bool restore_lost_zero; /**< "612345678" -> "0612345678" where safe */
} plt_lead_rules;

/** De-duplication of added contacts. */
typedef enum plt_dedup_scope {
    PLT_DEDUP_NONE = 0,
    PLT_DEDUP_LIST = 1,     /**< within the target list (and the batch) */
    PLT_DEDUP_CAMPAIGN = 2, /**< within every list of the list's campaigns */
    PLT_DEDUP_ALL = 3       /**< within every list */
} plt_dedup_scope;

/** Policy for add_batch(). */
typedef struct plt_lead_add_opts {
    uint32_t size;        /**< sizeof(plt_lead_add_opts) */
    int32_t dedup_scope;  /**< plt_dedup_scope */
    const char *dedup_field; /**< NULL = on any phone number (E.164);
                                  else on this custom field's value */
    bool skip_dnc;        /**< refuse contacts whose numbers are all DNC
                               (else they are added with status DNC) */
    const char *source;   /**< recorded in history, e.g. "import:42" */
    /** Resumable imports: store @p progress_value under @p progress_key
     *  in the same transaction as the batch (see progress_get()). */
    const char *progress_key;
    int64_t progress_value;
} plt_lead_add_opts;

/** A contact to add. */
typedef struct plt_lead_new {
    const plt_lead_field *fields;
    size_t nfields;
    const plt_lead_phone *phones; /**< up to PLT_LEADS_MAX_PHONES */
    size_t nphones;
    const char *time_zone;        /**< NULL = from the first valid number */
    int64_t priority;             /**< higher first; 0 default */
    int64_t line;                 /**< source line, echoed in results */
} plt_lead_new;

/** Outcome of one contact of add_batch(). */
typedef enum plt_lead_add_result {
    PLT_LEAD_ADDED = 1,
    PLT_LEAD_DUPLICATE = 2,     /**< same key already present (or earlier
                                     in the batch) */
    PLT_LEAD_DNC_REFUSED = 3,   /**< all numbers on do-not-call (skip_dnc) */
    PLT_LEAD_NO_VALID_PHONE = 4 /**< no number could be normalised */
} plt_lead_add_result;

/** Per-contact result of add_batch(). */
typedef struct plt_lead_added {
    int64_t line;        /**< from plt_lead_new.line */
    int32_t result;      /**< plt_lead_add_result */
    int64_t contact_id;  /**< when added; for duplicates, the existing one
                              if known, else 0 */
    const char *reason;  /**< human text for refusals ("invalid phone
                              '06 12': too short for FR") */
    uint32_t dnc_phones; /**< numbers found on a DNC list */
    uint32_t invalid_phones; /**< numbers that could not be normalised */
} plt_lead_added;

/** A contact as read back. */
typedef struct plt_lead {
    int64_t id;
    int64_t list_id;
    int32_t status;          /**< plt_lead_status */
    const char *time_zone;
    int64_t priority;
    int32_t attempts;
    int64_t last_attempt_at; /**< UTC ms or 0 */
    int64_t next_attempt_at; /**< UTC ms or 0 */
    int64_t callback_at;     /**< UTC ms or 0 */
    const char *callback_agent; /**< NULL = anyone */
    const char *last_outcome;   /**< e.g. "no_answer" */
    const char *last_disposition;
    const plt_lead_field *fields;
    size_t nfields;
    const plt_lead_phone *phones;
    size_t nphones;
    int64_t created_at;
} plt_lead;

/** One history entry. */
typedef struct plt_lead_event {
    int64_t id;            /**< 0 for the "imported" entry of a contact
                                added by leads from schema version 33 on
                                (kept in the contact's row) */
    int64_t at;            /**< UTC ms */
    const char *kind;      /**< "imported", "attempt", "disposition", "note",
                                "dnc", "callback" */
    const char *campaign;  /**< or NULL */
    const char *phone;     /**< E.164 or NULL */
    const char *outcome;   /**< telephony outcome for attempts */
    const char *disposition;
    const char *agent;
    const char *note;
} plt_lead_event;

/** Counts of a list by status. */
typedef struct plt_list_stats {
    int64_t total;
    int64_t by_status[8]; /**< indexed by plt_lead_status */
    int64_t due_now;      /**< AVAILABLE and next_attempt_at <= now */
} plt_list_stats;

/** What reserve() may hand out. */
typedef struct plt_lead_filter {
    uint32_t size;           /**< sizeof(plt_lead_filter) */
    const char *campaign;    /**< required: lists attached to it, weighted */
    int64_t now;             /**< plt_now(): next_attempt_at <= now */
    const char *const *time_zones; /**< only contacts in these zones (the
                                        ones open now); NULL = any */
    size_t ntime_zones;
    const char *agent;       /**< include callbacks due for this agent (and
                                  callbacks for anyone); NULL = no callbacks */
    int32_t max_attempts;    /**< 0 = no limit */
} plt_lead_filter;

/** One reserved contact (phones in their order, DNC ones removed). */
typedef struct plt_lead_reserved {
    const plt_lead *lead;
} plt_lead_reserved;

/** One attempt's result, recorded durably by attempt_done(). */
typedef struct plt_lead_attempt {
    uint32_t size;           /**< sizeof(plt_lead_attempt) */
    int64_t contact_id;
    const char *owner;       /**< the reservation owner */
    const char *campaign;
    const char *phone;       /**< E.164 dialled */
    const char *outcome;     /**< plt_outcome_name() text */
    int32_t sip_code;
    int64_t started_at, answered_at, ended_at; /**< UTC ms */
    const char *agent;       /**< or NULL */
    const char *attempt_ref; /**< the dialer's attempt id */
    /* The caller's decision for the contact: */
    int32_t new_status;      /**< plt_lead_status */
    int64_t next_attempt_at; /**< for AVAILABLE */
} plt_lead_attempt;

/** A disposition set by an agent (or the system). */
typedef struct plt_lead_disposition {
    uint32_t size;
    int64_t contact_id;
    const char *campaign;
    const char *code;        /**< the campaign's result code, e.g. "SALE" */
    const char *note;
    const char *agent;
    int64_t callback_at;     /**< UTC ms, 0 = none */
    const char *callback_agent; /**< NULL = anyone */
    int32_t new_status;      /**< plt_lead_status */
    const plt_lead_field *fields; /**< fields the agent edited */
    size_t nfields;
} plt_lead_disposition;

typedef void (*plt_leads_done_fn)(void *arg, int status, const char *msg);
typedef void (*plt_leads_id_fn)(void *arg, int status, int64_t id);
typedef void (*plt_leads_added_fn)(void *arg, int status,
                                   const plt_lead_added *results, size_t n);
typedef void (*plt_lead_fn)(void *arg, int status, const plt_lead *lead);
/** Row callbacks return non-zero to stop. */
typedef int (*plt_lead_row_fn)(void *arg, const plt_lead *lead);
typedef int (*plt_lead_event_row_fn)(void *arg, const plt_lead_event *ev);
typedef void (*plt_list_stats_fn)(void *arg, int status,
                                  const plt_list_stats *st);
typedef void (*plt_leads_bool_fn)(void *arg, int status, bool yes);
typedef void (*plt_leads_i64_fn)(void *arg, int status, int64_t value);

/** Search criteria (all optional, combined with AND). */
typedef struct plt_lead_query {
    uint32_t size;
    int64_t list_id;        /**< 0 = any */
    const char *phone;      /**< any form; normalised with the list rules or
                                 FR by default, then matched exactly */
    const char *text;       /**< substring of any field, case-insensitive */
    const char *field_name; /**< with field_value: exact match (fields
                                 named in the indexed_fields setting are
                                 found through an index, others by a scan) */
    const char *field_value;
    int64_t created_from, created_to; /**< UTC ms, 0 = open */
    int32_t status;         /**< 0 = any */
} plt_lead_query;

typedef struct plt_leads_vt {
    uint32_t size;

    /* ---- lists ---- */
    /** Create a list. PLT_EEXIST if the name is taken. */
    int (*list_create)(void *impl, const char *name,
                       const plt_lead_rules *rules,
                       const char *const *field_names, size_t nfields,
                       plt_leads_id_fn cb, void *arg);
    /** Find a list by name. PLT_ENOENT if absent. */
    int (*list_find)(void *impl, const char *name, plt_leads_id_fn cb,
                     void *arg);
    /** Counts by status (a new list is 100 % AVAILABLE). */
    int (*list_stats)(void *impl, int64_t list_id, int64_t now,
                      plt_list_stats_fn cb, void *arg);
    /** Attach a list to a campaign with a weight (>= 1), or change it. */
    int (*list_attach)(void *impl, const char *campaign, int64_t list_id,
                       int32_t weight, plt_leads_done_fn done, void *arg);
    int (*list_detach)(void *impl, const char *campaign, int64_t list_id,
                       plt_leads_done_fn done, void *arg);

    /* ---- contacts ---- */
    /**
     * Add contacts to a list in ONE transaction: normalise their numbers
     * with the list's rules, check do-not-call, de-duplicate, insert, and
     * record "imported" history. Results come per contact, in order.
     * Batches may be handed over before the previous one completed: their
     * transactions run one at a time in call order (each sees the contacts
     * of the batches before it), and callbacks come in call order. When a
     * batch fails, the batches already waiting with the same progress_key
     * fail with PLT_ECANCELED, so that a stored progress never skips a
     * failed batch.
     */
    int (*add_batch)(void *impl, int64_t list_id, const plt_lead_new *c,
                     size_t n, const plt_lead_add_opts *opts,
                     plt_leads_added_fn cb, void *arg);
    /** Read one contact with fields and phones. */
    int (*get)(void *impl, int64_t contact_id, plt_lead_fn cb, void *arg);
    /** Search, ordered by id, from @p offset, at most @p limit. */
    int (*search)(void *impl, const plt_lead_query *q, int64_t offset,
                  int64_t limit, plt_lead_row_fn row, plt_leads_done_fn done,
                  void *arg);
    /** History of a contact, newest first. */
    int (*history)(void *impl, int64_t contact_id, plt_lead_event_row_fn row,
                   plt_leads_done_fn done, void *arg);

    /* ---- do-not-call ---- */
    /** Add numbers (any form, normalised with @p rules or FR) to the DNC
     *  list of @p scope ("*" = global, else a campaign key). Durable.
     *  Contacts whose every number becomes DNC switch to status DNC. */
    int (*dnc_add)(void *impl, const char *scope, const char *const *numbers,
                   size_t n, const plt_lead_rules *rules, const char *source,
                   plt_leads_done_fn done, void *arg);
    int (*dnc_remove)(void *impl, const char *scope, const char *number,
                      plt_leads_done_fn done, void *arg);
    /** Is @p e164 blocked for @p campaign (its list or the global one)? */
    int (*dnc_check)(void *impl, const char *campaign, const char *e164,
                     plt_leads_bool_fn cb, void *arg);

    /* ---- dialling ---- */
    /**
     * Reserve up to @p n eligible contacts for @p owner, durably, before
     * anything is dialled. Eligible: AVAILABLE with next_attempt_at <= now
     * (or CALLBACK due, for the filter's agent or anyone), in an attached
     * list, in an allowed time zone, with at least one non-DNC number.
     * Order: due callbacks first, then priority, then next_attempt_at,
     * then id; lists mixed by weight.
     */
    int (*reserve)(void *impl, const plt_lead_filter *f, const char *owner,
                   int32_t n, plt_lead_row_fn row, plt_leads_done_fn done,
                   void *arg);
    /** Give reserved contacts back untouched (e.g. the campaign stopped).
     *  @p contact_id 0 = every contact reserved by @p owner. */
    int (*release)(void *impl, const char *owner, int64_t contact_id,
                   plt_leads_done_fn done, void *arg);
    /** Record an attempt and the contact's next state, durably. */
    int (*attempt_done)(void *impl, const plt_lead_attempt *a,
                        plt_leads_done_fn done, void *arg);
    /** Record a disposition (and callback), durably. */
    int (*disposition)(void *impl, const plt_lead_disposition *d,
                       plt_leads_done_fn done, void *arg);
    /** Attempts on @p e164 since @p since (every campaign): for caps such
     *  as France's 4 calls per 30 days. */
    int (*attempts_since)(void *impl, const char *e164, int64_t since,
                          plt_leads_i64_fn cb, void *arg);

    /* ---- helpers ---- */
    /** Normalise one number with @p rules (NULL = FR). Synchronous, pure:
     *  @p e164 receives "+33..." (size >= 20); @p why (size >= 96) the
     *  reason on failure. Returns 0 or PLT_EINVAL/PLT_ERANGE/PLT_ENOTSUP. */
    int (*normalize)(void *impl, const char *number,
                     const plt_lead_rules *rules, char *e164,
                     char *time_zone, size_t tz_len, char *why);
    /** Read a resumable-import progress value (see plt_lead_add_opts).
     *  PLT_ENOENT when none was stored. */
    int (*progress_get)(void *impl, const char *key, plt_leads_i64_fn cb,
                        void *arg);

    /* ---- 1.1 ---- */
    /** Give one reserved contact back, not to be handed out before
     *  @p until (UTC ms): the dialer could not call it now (closed hours
     *  in its zone, a cap, a silence, a skipped preview). It is NOT an
     *  attempt: the attempt count, history and last outcome are unchanged.
     *  AVAILABLE contacts get next_attempt_at = @p until; a callback stays
     *  a callback, due no earlier than @p until. Durable.
     *  @return 0; PLT_EINVAL; done() gets PLT_ECONFLICT if @p owner does
     *  not hold @p contact_id. */
    int (*release_until)(void *impl, const char *owner, int64_t contact_id,
                         int64_t until, plt_leads_done_fn done, void *arg);
} plt_leads_vt;

/** A leads handle as consumers keep it. */
typedef struct plt_leads {
    const plt_leads_vt *vt;
    void *impl;
} plt_leads;

/** Acquire the leads service (declare {"leads", 1, 0, 0}): any 1.x
 *  provider; members after 1.0 are tested with PLT_VT_HAS(). */
static inline int
plt_leads_acquire(plt_leads *out)
{
    plt_service_ref ref;
    int rc = plt_service_acquire(PLT_LEADS_NAME, PLT_LEADS_MAJOR, 0, &ref);
    if (rc == 0) {
        out->vt = (const plt_leads_vt *)ref.vtable;
        out->impl = ref.impl;
    }
    return rc;
}

#ifdef __cplusplus
}
#endif
#endif
