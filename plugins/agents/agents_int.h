/* SPDX-License-Identifier: MIT */
/*
 * Internals of the agents plugin, shared by its files: the configuration,
 * one record per agent, the plugin state, and the functions each file
 * offers the others. Everything here runs on the loop thread.
 */
#ifndef PLATEAU_AGENTS_INT_H
#define PLATEAU_AGENTS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <plateau/plateau.h>
#include <plateau/svc/agents.h>
#include <plateau/svc/storage.h>
#include <plateau/svc/telephony.h>

/* Built-in pause reasons, accepted whatever the configuration says. */
#define AGENTS_REASON_LOGIN "login"
#define AGENTS_REASON_NO_ANSWER "no_answer"
#define AGENTS_BY_SYSTEM "system"

/* What asks for a transition. The table in agents_fsm.c says, for each
 * trigger, from which states and to which states it may move an agent. */
typedef enum agents_trigger {
    AT_LOGIN = 0,
    AT_PHONE_UP,
    AT_READY,
    AT_PAUSE,
    AT_BACKOFFICE,
    AT_OFFER,
    AT_ANSWERED,
    AT_OFFER_FAILED,
    AT_CALL_ENDED,
    AT_WRAP_DONE,
    AT_OUTBOUND,
    AT_LOGOUT,
    AT_PHONE_LOST,
    AT_RECONNECT_FAILED,
    AT_FORCE,
    AT_REPAIR,
    AT__COUNT
} agents_trigger;

typedef struct agents_cfg {
    char **pause_reasons;
    size_t npause_reasons;
    int64_t max_wrap_up_ms;
    int64_t max_pause_ms;
    int64_t offer_timeout_ms;
    int64_t missed_before_pause;
    int64_t reconnect_attempts;
    int64_t reconnect_delay_ms;
    char *hold_music; /* site default on hold, NULL = silence */
} agents_cfg;

typedef struct agents agents;

typedef struct agent {
    agents *owner;
    char *login;
    int32_t state; /* plt_agent_state */
    char *reason;  /* PAUSE: the pause reason; else NULL */
    int64_t since; /* plt_now() when the state began */
    uint64_t changes; /* transitions so far (plt_agent_info.changes) */
    char *phone;
    char *origin;
    bool keep_up;
    plt_leg *leg; /* the agent's phone leg (our reference) or NULL */
    char *leg_id;
    bool leg_up;    /* answered */
    char *offer_id; /* RESERVED */
    uint32_t offer_timeout_ms;
    char *call_leg_id; /* IN_CALL / OUTBOUND */
    /* When the invariant check first found call_leg_id ended (0: live). The
     * leg's owner learns of its end through call.ended, delivered after
     * the timers due at the same instant: the repair waits one more check
     * so that it never races the owner's call_ended(). */
    int64_t call_leg_gone_at;
    int32_t missed;    /* missed offers in a row */
    char *pending_pause;
    bool pending_logout;
    char *pending_logout_by;
    int64_t logged_in_at;
    int32_t reconnect_failures;
    uint32_t next_wrap_ms; /* max wrap-up of the wrap-up being entered */
    plt_timer *wrap_timer;
    plt_timer *pause_timer;
    plt_timer *offer_timer;
    plt_timer *reconnect_timer;
    plt_agents_done_fn login_done;
    void *login_arg;
} agent;

/* The ordered state-log writer (agents_log.c). */
typedef struct agents_log_item agents_log_item;
typedef struct agents_log {
    plt_storage st;
    bool have_st;
    agents_log_item *head, *tail;
    bool busy;        /* one statement in flight */
    bool stopping;    /* call plt_stopped() once drained */
    uint64_t written; /* statements that succeeded */
    uint64_t errors;  /* statements that failed or could not be queued */
} agents_log;

struct agents {
    agents_cfg cfg;
    plt_telephony tel;
    bool have_tel;
    agent **v; /* every agent seen since start, logged in or not */
    size_t n, cap;
    agent **byname; /* open addressing by login; agents are never removed */
    size_t nbyname; /* slots, a power of two, at least twice n */
    plt_sub *sub;
    plt_timer *check_timer;
    agents_log log;
    bool started;
    plt_hold_music_fn hold_fn; /* a campaign's hold music (the dialer) */
    void *hold_arg;
};

/* ---- agents.c ---- */
extern const plt_agents_vt agents_vtable;

/* ---- small helpers (agents_fsm.c) ---- */
int agents_strset(char **dst, const char *src);
agent *agents_find(agents *s, const char *login);
/* Add @p a (already in s->v) to the login index. */
int agents_index_add(agents *s, agent *a);
bool agents_reason_ok(const agents *s, const char *reason);

/* ---- agents_fsm.c ---- */
bool agents_fsm_allowed(agents_trigger t, int32_t from, int32_t to);
/* Perform one transition: validate against the table, timestamp, update
 * the record, run the timers of the states left and entered, publish
 * agent.state_changed and queue the state-log rows. PLT_ESTATE if the
 * table forbids it; PLT_ENOMEM leaves the agent untouched. */
int agents_fsm_go(agent *a, agents_trigger t, int32_t to, const char *reason,
                  const char *by);
/* Where an agent goes when it "would become available": the pending
 * logout, else the pending pause, else AVAILABLE. */
int agents_fsm_release(agent *a, agents_trigger t, const char *by);

/* ---- agents_session.c ---- */
int agents_login(void *impl, const plt_agent_login *l, plt_agents_done_fn done,
                 void *arg);
int agents_logout(void *impl, const char *login, bool now, const char *by,
                  plt_agents_done_fn done, void *arg);
plt_leg *agents_phone_leg(void *impl, const char *login);
void agents_on_call_event(const plt_event *ev, void *arg);
/* Drop the agent's leg: hang it up (when @p hangup) and release it. */
void agents_session_drop_leg(agent *a, bool hangup, int32_t by);
/* Per-offer phone: originate the extension for @p offer_id. */
int agents_session_ring(agent *a, const char *offer_id, uint32_t timeout_ms);
/* The offer or call of a per-offer phone is over: hang its leg up. */
void agents_session_offer_over(agent *a);
/* Start (or schedule after @p delay_ms) a connection attempt. */
void agents_session_connect_later(agent *a, uint64_t delay_ms);
/* The agent's phone is gone while logged in: CONNECTING and reconnect,
 * or LOGGED_OUT when no attempt is configured. */
void agents_session_phone_lost(agent *a, const char *invariant);

/* ---- agents_timers.c ---- */
void agents_timers_leave(agent *a, int32_t old_state);
void agents_timers_enter(agent *a, int32_t new_state);
void agents_timers_stop_all(agent *a);
int agents_timers_start_checks(agents *s);
void agents_timers_stop_checks(agents *s);
/* A repair: the transition (trigger AT_REPAIR, by "system"), then
 * agent.state_repaired and a warning. */
int agents_repair(agent *a, int32_t to, const char *reason,
                  const char *invariant);

/* ---- agents_service.c ---- */
int agents_set_state(void *impl, const char *login, int32_t state,
                     const char *reason, plt_agents_done_fn done, void *arg);
int agents_force_state(void *impl, const char *login, int32_t state,
                       const char *reason, const char *supervisor,
                       plt_agents_done_fn done, void *arg);
int agents_get(void *impl, const char *login, plt_agent_info_fn cb, void *arg);
int agents_list(void *impl, plt_agent_row_fn row, plt_agents_done_fn done,
                void *arg);
int agents_offer(void *impl, const char *login, const char *offer_id,
                 uint32_t timeout_ms);
int agents_offer_answered(void *impl, const char *login, const char *offer_id,
                          const char *customer_leg_id);
int agents_offer_failed(void *impl, const char *login, const char *offer_id,
                        bool missed);
int agents_call_ended(void *impl, const char *login, uint32_t max_wrap_ms);
int agents_outbound_started(void *impl, const char *login,
                            const char *customer_leg_id);
int agents_available(void *impl, plt_agent_row_fn row, void *arg);

/* ---- agents_metrics.c: figures on /metrics (optional http service) ---- */
void agents_metrics_start(agents *s);
void agents_metrics_stop(void);

/* ---- agents_log.c ---- */
void agents_log_init(agents_log *lg, const plt_storage *st);
/* Queue the rows of one transition: close the agent's open row at @p at,
 * open one for @p state. Never fails: errors are logged and counted. */
void agents_log_transition(agents_log *lg, const char *login, int32_t state,
                           const char *reason, const char *by, int64_t at);
/* 0 if nothing is queued; PLT_EINPROGRESS and plt_stopped() later. */
int agents_log_stop(agents_log *lg);
void agents_log_fini(agents_log *lg);
extern const plt_storage_migration agents_migrations[];
extern const size_t agents_nmigrations;

#endif
