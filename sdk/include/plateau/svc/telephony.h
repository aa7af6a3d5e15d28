/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/svc/telephony.h
 * The `telephony` service 1.0: calls, legs and their media, implemented by
 * the `sip` plugin (real trunks and phones) and the `sim` plugin (a
 * simulated trunk and agents on the simulated clock). The dialer, the ACD
 * and the agents plugin drive either one, unchanged.
 *
 * MODEL.
 *  - A leg is one party: a customer reached through a trunk, an agent's
 *    phone, an inbound caller. It has a role (customer or agent), a
 *    direction, a state, and a media endpoint.
 *  - A call groups the legs of one interaction (a customer leg and the
 *    agent legs it meets). Reporting, recording and transfers work on the
 *    call; the call ends when its last leg has ended.
 *  - Legs are opaque, refcounted handles with stable string ids ("L42",
 *    "C17"), unique for the life of the process. Events carry the ids; a
 *    consumer that wants to keep a handle past a callback takes a ref.
 *  - A leg never ends because the leg it is bridged to ended: when the
 *    customer hangs up, the agent's leg stays up (an agent's kept-up phone
 *    leg must survive from call to call); whoever controls the call (ACD,
 *    dialer, agents) decides what happens next.
 *
 * COMMANDS return at once. Their outcome arrives as events on the bus, in
 * order, on the loop thread:
 *
 *   call.created      a leg exists (inbound: claim it; outbound: dialling)
 *   call.progress     ringing or early media       (progress=ringing|early_media)
 *   call.answered     the party answered           (ring_ms)
 *   call.amd_result   answering-machine detection  (result=human|machine|not_sure)
 *   call.dtmf         a digit                      (digit, method=rfc4733|inband)
 *   call.bridged      two legs exchange audio      (leg_id, other_leg_id)
 *   call.unbridged    they no longer do
 *   call.held / call.resumed
 *   call.party_held / call.party_resumed   the party put the call on hold
 *                     or took it off (a SIP re-INVITE a=sendonly|inactive,
 *                     then a=sendrecv); providers without it never send them
 *   call.play_finished   a prompt ended            (play_id, reason=done|stopped|error)
 *   call.recording_finished                        (recording_id, path, duration_ms)
 *   call.ended        the leg is gone: outcome, sip_code, hangup_by, durations
 *   trunk.state_changed  a trunk went up or down   (trunk, state=up|down, reason)
 *
 * Every call.* event has: leg_id, call_id, role (customer|agent), direction
 * (inbound|outbound), and the variables given at originate() (prefixed
 * "var_": var_campaign_id, var_attempt_id, ...), so that a consumer can
 * match events to its own records without a lookup.
 *
 * call.created fields: inbound legs: did (the number dialled), from,
 * trunk; outbound legs: destination, from (the presented caller ID), trunk.
 * An inbound leg that nobody answers, bridges or hangs up within the
 * provider's claim timeout is rejected with 480: outcome no_answer,
 * hangup_by=system, so a caller is never left ringing forever.
 *
 * call.ended fields: outcome (plt_outcome_name()), sip_code, reason (text),
 * hangup_by (customer|agent|system), ring_ms, talk_ms, duration_ms; a
 * provider with real media may add the leg's RTP counters (rtp_rx, rtp_tx,
 * rtp_relayed, rtp_foreign, rtp_lost, rtp_bad).
 *  - sip_code: the final response for unanswered legs (486, 404, 487 after
 *    our CANCEL on a ring timeout, ...), 200 for answered legs, 0 if none.
 *  - hangup_by for answered legs: whose side ended it (the party of a
 *    customer leg = customer, of an agent leg = agent; hangup() passes who
 *    asked). For unanswered legs: customer when the party declined or gave
 *    up (busy, rejected, an inbound caller who hung up before being
 *    answered: outcome abandoned), system otherwise (no answer, invalid
 *    number, congestion, failure, our cancel).
 *  - ring_ms: from creation (originate, or the offer of an inbound leg) to
 *    the answer; for unanswered legs, from creation to the end. talk_ms:
 *    from the answer to the end (0 if unanswered).
 *
 * call.bridged / call.unbridged are published once per leg, each with its
 * own leg's fields and other_leg_id. Legs of different calls may be
 * bridged (an agent's kept-up leg meets one customer call after another);
 * a leg never moves to another call. call.recording_finished is a call
 * event: its leg_id is the call's first live leg (or its last leg if all
 * ended).
 *
 * Thread: loop thread only. Ownership: inputs are copied before a command
 * returns. Callbacks: none (results are events).
 */
#ifndef PLATEAU_SVC_TELEPHONY_H
#define PLATEAU_SVC_TELEPHONY_H

#include <stdbool.h>

#include "plateau/service.h"
#include "plateau/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PLT_TELEPHONY_NAME "telephony"
#define PLT_TELEPHONY_MAJOR 1
#define PLT_TELEPHONY_MINOR 0

typedef struct plt_leg plt_leg;
typedef struct plt_call plt_call;

/** Role of a leg. */
typedef enum plt_leg_role {
    PLT_LEG_CUSTOMER = 1,
    PLT_LEG_AGENT = 2
} plt_leg_role;

/** Normalised outcome of a leg (call.ended "outcome"). */
typedef enum plt_call_outcome {
    PLT_OUTCOME_ANSWERED = 1,       /**< was answered, then ended */
    PLT_OUTCOME_BUSY = 2,           /**< 486/600 */
    PLT_OUTCOME_NO_ANSWER = 3,      /**< ring timeout, 408/480 */
    PLT_OUTCOME_REJECTED = 4,       /**< 603, 403 */
    PLT_OUTCOME_INVALID_NUMBER = 5, /**< 404, 484, 410, 604 */
    PLT_OUTCOME_CONGESTION = 6,     /**< 503, 502, 500, trunk down/full */
    PLT_OUTCOME_CANCELLED = 7,      /**< hung up by us before answer */
    PLT_OUTCOME_FAILED = 8,         /**< anything else (no codec, ...) */
    PLT_OUTCOME_ABANDONED = 9       /**< an inbound caller hung up before
                                         being answered */
} plt_call_outcome;

/** Who ended a leg (call.ended "hangup_by"). */
typedef enum plt_hangup_by {
    PLT_BY_CUSTOMER = 1,
    PLT_BY_AGENT = 2,
    PLT_BY_SYSTEM = 3
} plt_hangup_by;

/** Flags of originate(). */
enum {
    /** Run answering-machine detection on answer (see amd). */
    PLT_ORIG_AMD = 1u << 0,
    /** Report early media (183 with SDP) as call.progress early_media. */
    PLT_ORIG_EARLY_MEDIA = 1u << 1,
    /** Hide the caller ID (privacy: id). */
    PLT_ORIG_HIDE_CALLER_ID = 1u << 2
};

/** A name/value pair attached to a leg and echoed in its events. */
typedef struct plt_kv {
    const char *key;   /**< [a-z][a-z0-9_]* */
    const char *value;
} plt_kv;

/**
 * Answering-machine detection parameters (the classic set). Zero fields
 * take the provider's configured defaults.
 */
typedef struct plt_amd_params {
    uint32_t size;                 /**< sizeof(plt_amd_params) */
    uint32_t initial_silence_ms;   /**< silence before a greeting → machine */
    uint32_t greeting_ms;          /**< longer greeting → machine */
    uint32_t after_greeting_silence_ms; /**< silence after it → human */
    uint32_t total_analysis_ms;    /**< decide "not_sure" after this */
    uint32_t min_word_ms;          /**< shorter sound is noise */
    uint32_t between_words_silence_ms; /**< silence that ends a word */
    uint32_t max_words;            /**< more words → machine */
    uint32_t silence_threshold;    /**< energy below this is silence (0-32767) */
} plt_amd_params;

/** What to dial. */
typedef struct plt_originate {
    uint32_t size;            /**< sizeof(plt_originate), set by the caller */
    const char *destination;  /**< E.164 "+33612345678", or a SIP URI, or
                                   "agent:<extension>" (registered phone) */
    const char *trunk;        /**< trunk name; NULL = provider's routing */
    const char *caller_id;    /**< presented number; NULL = trunk default */
    const char *caller_name;  /**< display name or NULL */
    uint32_t ring_timeout_ms; /**< 0 = provider default; then no_answer */
    int32_t role;             /**< plt_leg_role */
    plt_call *call;           /**< join this call; NULL = a new call */
    const plt_kv *vars;       /**< echoed in every event of the leg */
    size_t nvars;
    uint32_t flags;           /**< PLT_ORIG_* */
    const plt_amd_params *amd; /**< with PLT_ORIG_AMD; NULL = defaults */
} plt_originate;

/** Recording modes. */
typedef enum plt_rec_mode {
    PLT_REC_MIXED = 1, /**< one mono track, both directions summed */
    PLT_REC_STEREO = 2 /**< left = customer, right = agent(s) */
} plt_rec_mode;

/** Media of a prompt or music: 8 kHz WAV (PCM16, mu-law or A-law). */
enum {
    PLT_PLAY_LOOP = 1u << 0 /**< repeat until stopped (music on hold) */
};

/** State of a leg, for status and invariant checks. */
typedef enum plt_leg_state {
    PLT_LEG_DIALING = 1,  /**< outbound, no answer yet */
    PLT_LEG_RINGING = 2,  /**< inbound offered, or outbound ringing */
    PLT_LEG_UP = 3,       /**< answered */
    PLT_LEG_ENDED = 4
} plt_leg_state;

/** A snapshot of a leg (leg_info()). Strings valid until the next call
 *  into the provider. */
typedef struct plt_leg_info {
    uint32_t size;        /**< set by the caller */
    const char *id;
    const char *call_id;
    int32_t role;         /**< plt_leg_role */
    int32_t state;        /**< plt_leg_state */
    bool inbound;
    const char *remote;   /**< the other party's number or URI */
    const char *bridged_to; /**< leg id or NULL */
    int64_t created_at;   /**< UTC ms */
    int64_t answered_at;  /**< UTC ms or 0 */
} plt_leg_info;

/** The telephony vtable. Append only within major 1. */
typedef struct plt_telephony_vt {
    uint32_t size;

    /** "sip", "sim", ... Thread: any. */
    const char *(*name)(void *impl);

    /* ---- legs and calls ---- */

    /**
     * Dial. On success *out is a new leg (one reference, the caller's) in
     * state DIALING, and call.created follows; the rest arrives as events.
     * @return 0; PLT_EINVAL (bad destination); PLT_ENOENT (unknown trunk);
     *   PLT_EAGAIN (trunk at its channel or calls-per-second limit: nothing
     *   was sent, try later); PLT_ESTATE (o->call has ended);
     *   PLT_ESHUTDOWN.
     */
    int (*originate)(void *impl, const plt_originate *o, plt_leg **out);

    /** Take a reference. */
    plt_leg *(*leg_ref)(void *impl, plt_leg *leg);
    /** Drop a reference (the leg itself lives until it ended and every
     *  reference is gone). */
    void (*leg_unref)(void *impl, plt_leg *leg);
    /** Find a live or recently ended leg by id; returns a new reference.
     *  PLT_ENOENT if unknown. */
    int (*leg_find)(void *impl, const char *id, plt_leg **out);
    /** Snapshot of a leg. */
    int (*leg_info)(void *impl, plt_leg *leg, plt_leg_info *out);
    /** The call a leg belongs to (no reference taken; valid while the
     *  leg is). */
    plt_call *(*leg_call)(void *impl, plt_leg *leg);

    /** Answer an inbound leg (200 OK). PLT_ESTATE if not ringing. */
    int (*answer)(void *impl, plt_leg *leg);
    /** Reject or end a leg. @p sip_code: for an unanswered inbound leg, the
     *  response (486, 480, 603...), 0 = default; @p by: who asked. */
    int (*hangup)(void *impl, plt_leg *leg, int sip_code, int32_t by);

    /* ---- media ---- */

    /** Connect the audio of two answered legs (each leg in at most one
     *  bridge; bridging a bridged leg moves it). call.bridged follows. */
    int (*bridge)(void *impl, plt_leg *a, plt_leg *b);
    /** Disconnect a leg from its bridge (both sides hear silence). */
    int (*unbridge)(void *impl, plt_leg *leg);
    /** Put on hold: the leg hears @p music (looped) or silence (NULL) and
     *  is unbridged until resumed. */
    int (*hold)(void *impl, plt_leg *leg, const char *music);
    /** Resume a held leg into the bridge it had. */
    int (*resume)(void *impl, plt_leg *leg);
    /**
     * Play a WAV file to a leg, once or looped (PLT_PLAY_LOOP). A missing
     * or unreadable file gives call.play_finished with reason=error (and a
     * log line); the leg is not disturbed. @p play_id (may be NULL)
     * receives an id for stop_play and the finished event.
     */
    int (*play)(void *impl, plt_leg *leg, const char *file, uint32_t flags,
                char play_id[32]);
    int (*stop_play)(void *impl, plt_leg *leg, const char *play_id);
    /** Send DTMF digits (RFC 4733), e.g. "1234#". */
    int (*send_dtmf)(void *impl, plt_leg *leg, const char *digits);
    /** Start answering-machine detection on an answered leg; the result
     *  comes as call.amd_result. */
    int (*amd_start)(void *impl, plt_leg *leg, const plt_amd_params *p);

    /* ---- recording ---- */

    /**
     * Record a call (every leg of it) to @p path (WAV, written off the loop
     * thread). @p rec_id receives an id for the calls below;
     * call.recording_finished follows the stop or the end of the call.
     */
    int (*record_start)(void *impl, plt_call *call, const char *path,
                        int32_t mode, char rec_id[32]);
    int (*record_stop)(void *impl, const char *rec_id);
    /** Pause (silence is written, e.g. while a card number is read). */
    int (*record_pause)(void *impl, const char *rec_id);
    int (*record_resume)(void *impl, const char *rec_id);

    /* ---- transfer ---- */

    /** Blind transfer: the party bridged to @p leg (the transferring side,
     *  e.g. an agent's leg) is connected to @p destination. A new leg is
     *  originated into the partner's call; when it answers, the partner is
     *  bridged to it and @p leg is unbridged - not ended (an agent's
     *  kept-up leg survives; the controller hangs it up if it wants). */
    int (*transfer_blind)(void *impl, plt_leg *leg, const char *destination);
    /** Attended transfer: bridge the parties of @p a and @p c together and
     *  end the consulting leg(s) between them. */
    int (*transfer_attended)(void *impl, plt_leg *a, plt_leg *c);

    /* ---- trunks ---- */

    /** Number of configured trunks, and trunk i's name and state. */
    size_t (*trunk_count)(void *impl);
    int (*trunk_at)(void *impl, size_t i, const char **name, bool *up,
                    uint32_t *channels_in_use, uint32_t *max_channels);
} plt_telephony_vt;

/** Lower-case name of an outcome ("no_answer"), for events and reports. */
static inline const char *
plt_outcome_name(int32_t o)
{
    static const char *const names[] = {
        "unknown",        "answered",   "busy",      "no_answer", "rejected",
        "invalid_number", "congestion", "cancelled", "failed",    "abandoned"};
    return (o >= 1 && o <= 9) ? names[o] : names[0];
}

/** A telephony handle as consumers keep it. */
typedef struct plt_telephony {
    const plt_telephony_vt *vt;
    void *impl;
} plt_telephony;

/** Acquire the telephony service (declare {"telephony", 1, 0, 0}). */
static inline int
plt_telephony_acquire(plt_telephony *out)
{
    plt_service_ref ref;
    int rc = plt_service_acquire(PLT_TELEPHONY_NAME, PLT_TELEPHONY_MAJOR,
                                 PLT_TELEPHONY_MINOR, &ref);
    if (rc == 0) {
        out->vt = (const plt_telephony_vt *)ref.vtable;
        out->impl = ref.impl;
    }
    return rc;
}

#ifdef __cplusplus
}
#endif
#endif
