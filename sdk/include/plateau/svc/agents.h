/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/svc/agents.h
 * The `agents` service 1.0: agent sessions, their phones, and one explicit
 * state machine per agent.
 *
 * STATES (the letters supervisors know from the product manuals):
 *
 *   LOGGED_OUT ──login──▶ CONNECTING ──phone up──▶ PAUSE(reason "login")
 *   AVAILABLE (D) ──offer──▶ RESERVED ──answered──▶ IN_CALL (C)
 *   RESERVED ──missed/rejected/timeout──▶ AVAILABLE, or PAUSE("no_answer")
 *                                          after N missed offers in a row
 *   IN_CALL ──call ended──▶ WRAP_UP (B, back-office) ──ready/max wrap-up──▶
 *                                          AVAILABLE (or the pause asked for)
 *   AVAILABLE ──pause(reason)──▶ PAUSE (P) ──ready──▶ AVAILABLE
 *   AVAILABLE/PAUSE/WRAP_UP ──outbound──▶ OUTBOUND (AS: manual call or
 *                                          callback) ──ended──▶ WRAP_UP
 *   logged in ──phone lost──▶ CONNECTING (reconnection attempts), then
 *                                          LOGGED_OUT if they all fail
 *   any ──logout──▶ LOGGED_OUT (after the current call and wrap-up unless
 *                                          immediate)
 *
 * Every transition is checked against this table (PLT_ESTATE otherwise),
 * timestamped with the core clock, published as `agent.state_changed`
 * (agent, from, to, reason, by, previous_ms) and written to storage to the
 * millisecond. A pause asked for while RESERVED, in a call or in wrap-up
 * takes effect when the agent would otherwise become available. Wrap-up
 * (also one asked for as back-office) is capped by the configured maximum.
 * Supervisors can force any state of a logged-in agent (force_state), which
 * is logged with who forced it; only login() starts a session.
 *
 * INVARIANTS are checked continuously and repaired rather than leaving an
 * agent stuck: RESERVED with no live offer for longer than the offer
 * timeout, IN_CALL with no live leg, a phone leg that ended while the
 * agent is logged in (→ CONNECTING and a reconnection attempt, or
 * LOGGED_OUT). A repair publishes `agent.state_repaired` (agent, from, to,
 * invariant) and logs a warning.
 *
 * PHONES. An agent connects either a registered phone ("agent:<extension>",
 * called for each offer or kept up, per configuration) or a number Plateau
 * calls when the agent connects and keeps up for the whole session
 * ("+33..."), bridging each customer into that leg (the PROWEBCRM way).
 *
 * Thread: loop thread only; callbacks on the loop. Ownership: inputs copied;
 * pointers in callbacks valid during the callback. Callbacks: none if a
 * function returns < 0. The state lives in memory on the loop, so get(),
 * list(), available(), set_state(), force_state() and an immediate
 * logout() call back BEFORE they return; login()'s done() runs once the
 * phone answered (0) or every connection attempt failed (PLT_ETIMEDOUT).
 */
#ifndef PLATEAU_SVC_AGENTS_H
#define PLATEAU_SVC_AGENTS_H

#include <stdbool.h>

#include "plateau/service.h"
#include "plateau/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PLT_AGENTS_NAME "agents"
#define PLT_AGENTS_MAJOR 1
#define PLT_AGENTS_MINOR 1

struct plt_leg;

/** Agent states. Values frozen for agents 1.x. */
typedef enum plt_agent_state {
    PLT_AGENT_LOGGED_OUT = 1,
    PLT_AGENT_CONNECTING = 2, /**< logged in, phone being connected */
    PLT_AGENT_AVAILABLE = 3,  /**< D: may receive a call */
    PLT_AGENT_RESERVED = 4,   /**< offered a call, ringing */
    PLT_AGENT_IN_CALL = 5,    /**< C */
    PLT_AGENT_WRAP_UP = 6,    /**< B: back-office after a call */
    PLT_AGENT_PAUSE = 7,      /**< P: with a reason */
    PLT_AGENT_OUTBOUND = 8    /**< AS: manual call or callback */
} plt_agent_state;

/** Lower-case state name ("available"), for events and reports. */
static inline const char *
plt_agent_state_name(int32_t s)
{
    static const char *const n[] = {"unknown",   "logged_out", "connecting",
                                    "available", "reserved",   "in_call",
                                    "wrap_up",   "pause",      "outbound"};
    return (s >= 1 && s <= 8) ? n[s] : n[0];
}

/** How an agent connects. */
typedef struct plt_agent_login {
    uint32_t size;        /**< sizeof(plt_agent_login) */
    const char *agent;    /**< the agent's login (users service) */
    const char *phone;    /**< "agent:<ext>" or an E.164 number */
    bool keep_up;         /**< keep one leg up for the whole session (always
                               true for a number; optional for extensions) */
    const char *origin;   /**< remote address, for the audit log */
} plt_agent_login;

/** A snapshot of an agent. Filled by the provider; append only. */
typedef struct plt_agent_info {
    uint32_t size;          /**< sizeof(plt_agent_info) of the provider */
    const char *agent;
    int32_t state;          /**< plt_agent_state */
    const char *reason;     /**< pause reason, or NULL */
    int64_t since;          /**< UTC ms: when the current state began */
    const char *phone;
    const char *leg_id;     /**< the agent's phone leg, or NULL */
    const char *offer_id;   /**< RESERVED: the offer; else NULL */
    const char *call_leg_id; /**< IN_CALL/OUTBOUND: the customer leg */
    int32_t missed_offers;  /**< in a row */
    const char *pending_pause; /**< pause asked for during a call */
    int64_t logged_in_at;
    bool keep_up;           /**< the phone leg stays up between calls */
    bool pending_logout;    /**< logout asked for during a call */
    /** Appended in 1.0 (check size): transitions of this agent since the
     *  provider started. Two reads with the same value saw the same state
     *  period, even within one millisecond. */
    uint64_t changes;
} plt_agent_info;

typedef void (*plt_agents_done_fn)(void *arg, int status, const char *msg);
typedef void (*plt_agent_info_fn)(void *arg, int status,
                                  const plt_agent_info *a);
typedef int (*plt_agent_row_fn)(void *arg, const plt_agent_info *a);
/** The hold music of a campaign's calls (1.1): the WAV file, or NULL for
 *  the site default. The string need only last until the next call into
 *  whoever answers. */
typedef const char *(*plt_hold_music_fn)(void *arg, const char *campaign_id);

typedef struct plt_agents_vt {
    uint32_t size;

    /* ---- sessions (the agent, through the web UI) ---- */
    /** Log in and connect the phone; the agent ends up in PAUSE("login")
     *  once the phone is up (CONNECTING meanwhile). PLT_EEXIST if already
     *  logged in (the web layer decides whether to take the session over).
     *  PLT_EINVAL for an unusable phone. */
    int (*login)(void *impl, const plt_agent_login *l, plt_agents_done_fn done,
                 void *arg);
    /** Log out (after the current call, if any: the state machine finishes
     *  the call and wrap-up first unless @p now). */
    int (*logout)(void *impl, const char *agent, bool now, const char *by,
                  plt_agents_done_fn done, void *arg);
    /** Ask for AVAILABLE ("ready"), PAUSE (with a configured reason),
     *  WRAP_UP (back-office) as the agent. PLT_ESTATE if not allowed now;
     *  PLT_EINVAL for an unknown pause reason. */
    int (*set_state)(void *impl, const char *agent, int32_t state,
                     const char *reason, plt_agents_done_fn done, void *arg);
    /** A supervisor forces a state (any state, logged with @p supervisor). */
    int (*force_state)(void *impl, const char *agent, int32_t state,
                       const char *reason, const char *supervisor,
                       plt_agents_done_fn done, void *arg);
    int (*get)(void *impl, const char *agent, plt_agent_info_fn cb,
               void *arg);
    /** Every logged-in agent, by login. */
    int (*list)(void *impl, plt_agent_row_fn row, plt_agents_done_fn done,
                void *arg);

    /* ---- distribution (the ACD and the dialer) ---- */
    /**
     * Offer a call: AVAILABLE → RESERVED. @p offer_id is the caller's key
     * (echoed in events). Synchronous (the state lives on the loop):
     * returns 0, or PLT_ESTATE if the agent is not available (someone else
     * got there first). The agent's phone rings now (per-call extension) or
     * the screen pops (kept-up leg); the ACD then calls offer_answered or
     * offer_failed, or the offer timeout repairs it.
     */
    int (*offer)(void *impl, const char *agent, const char *offer_id,
                 uint32_t timeout_ms);
    /** The agent took the offered call: RESERVED → IN_CALL. */
    int (*offer_answered)(void *impl, const char *agent,
                          const char *offer_id, const char *customer_leg_id);
    /** The offer failed (missed, rejected, customer gone): back to
     *  AVAILABLE, or PAUSE("no answer") after the configured number of
     *  missed offers in a row when @p missed. */
    int (*offer_failed)(void *impl, const char *agent, const char *offer_id,
                        bool missed);
    /** The agent's call ended: IN_CALL/OUTBOUND → WRAP_UP for at most
     *  @p max_wrap_ms (0 = the configured default; then AVAILABLE, or the
     *  pending pause). */
    int (*call_ended)(void *impl, const char *agent, uint32_t max_wrap_ms);
    /** Begin an outbound call (manual dial or callback): → OUTBOUND. */
    int (*outbound_started)(void *impl, const char *agent,
                            const char *customer_leg_id);
    /** The agent's phone leg (a new reference; NULL if not connected). */
    struct plt_leg *(*phone_leg)(void *impl, const char *agent);
    /** Agents available now, longest idle first: for strategies that need
     *  it. @p row gets each; stop with non-zero. */
    int (*available)(void *impl, plt_agent_row_fn row, void *arg);

    /* ---- 1.1 (check size before use) ---- */
    /** Who names a campaign's hold music: when an agent puts a customer
     *  leg on hold and the leg carries var_campaign_id, @p fn is asked
     *  first, then the configured `hold_music`. One owner (the dialer);
     *  @p fn NULL withdraws it. */
    int (*set_hold_music)(void *impl, plt_hold_music_fn fn, void *arg);
} plt_agents_vt;

/** An agents handle as consumers keep it. */
typedef struct plt_agents {
    const plt_agents_vt *vt;
    void *impl;
} plt_agents;

static inline int
plt_agents_acquire(plt_agents *out)
{
    plt_service_ref ref;
    int rc = plt_service_acquire(PLT_AGENTS_NAME, PLT_AGENTS_MAJOR,
                                 PLT_AGENTS_MINOR, &ref);
    if (rc == 0) {
        out->vt = (const plt_agents_vt *)ref.vtable;
        out->impl = ref.impl;
    }
    return rc;
}

#ifdef __cplusplus
}
#endif
#endif
