/* SPDX-License-Identifier: MIT */
/*
 * Internals of the acd plugin: queues, waiting callers, the agents the ACD
 * knows (skills, queues, figures), and the functions the files share.
 */
#ifndef PLATEAU_ACD_INT_H
#define PLATEAU_ACD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <plateau/plateau.h>
#include <plateau/svc/acd.h>
#include <plateau/svc/agents.h>
#include <plateau/svc/leads.h>
#include <plateau/svc/storage.h>
#include <plateau/svc/telephony.h>

#include "schedule.h"

/* Strategies; names in acd_strategy_names (same order). */
enum {
    ACD_LONGEST_IDLE,
    ACD_SKILL_LEVEL,
    ACD_ROUND_ROBIN,
    ACD_FEWEST_CALLS,
    ACD_LEAST_TALK_TIME,
    ACD_RANDOM,
    ACD_LINEAR,
    ACD_RING_ALL,
    ACD_STRATEGY_N
};

/* What happens to a caller a queue does not keep (acd_overflow.c). */
enum {
    ACD_OVF_NONE,     /* stays in the queue */
    ACD_OVF_HANGUP,
    ACD_OVF_QUEUE,    /* target: another queue */
    ACD_OVF_MESSAGE,  /* target: a WAV played, then hang up */
    ACD_OVF_IVR,      /* target: an IVR entry point (ivr.requested) */
    ACD_OVF_CALLBACK, /* a callback request is recorded, then hang up */
    ACD_OVF_VOICEMAIL /* the caller leaves a message, then hang up */
};

/* Why: the triggers, each with its configured action. */
enum {
    ACD_WHY_MAX_WAIT,
    ACD_WHY_CLOSED,
    ACD_WHY_NO_AGENTS,
    ACD_WHY_ALL_PAUSED,
    ACD_WHY_FULL,
    ACD_WHY_N
};

/* Reroutes of one caller in a row by joining triggers, at most. */
#define ACD_MAX_REROUTES 4

typedef struct acd_action {
    int kind;
    char *target;
} acd_action;

/* A caller's state: in the queue, being offered to an agent, or bridged
 * (kept only until the customer leg ends, for wrap-up and figures). */
enum { ACD_WAITING, ACD_OFFERING, ACD_BRIDGED };

typedef struct acd_skill {
    char *name;
    int32_t level;
} acd_skill;

/* A queue's counters over one period. */
typedef struct acd_counters {
    uint64_t joined, offered, answered, abandoned, overflowed;
    uint64_t overflowed_by[ACD_WHY_N];
    uint64_t callbacks, voicemails;
    uint64_t answered_within_sl, abandoned_after_sl;
    uint64_t completed;    /* bridged calls that ended */
    int64_t talk_total_ms; /* of the completed calls */
    uint64_t carried;      /* callers still waiting when the day ended */
} acd_counters;

typedef struct acd_queue {
    char *name;
    int strategy;
    acd_skill *skills;
    size_t nskills;
    int64_t relax_after_ms, relax_step, offer_timeout_ms, wrap_up_ms;
    int64_t sl_ms, max_wait_ms;
    /* The action of each trigger (on[ACD_WHY_MAX_WAIT] is `overflow`). */
    acd_action on[ACD_WHY_N];
    int64_t max_size; /* waiting callers; 0 = no limit */
    bool close_waiting; /* at closing time, the waiting get `closed` too */
    bool was_open;      /* at the last hours tick */
    char *hold_music;      /* NULL = none */
    /* Opening hours and holidays in the queue's zone (one of acd.zones).
     * zone_wanted: a zone named by a reload, being read off the loop (the
     * site's zone stands in meanwhile). */
    schedule_zone *zone;
    char *zone_wanted;
    schedule sched;
    /* Voicemail and callback prompts (NULL = none), longest message. */
    char *voicemail_prompt, *callback_prompt;
    char *callback_list; /* leads list receiving callback requests */
    int64_t voicemail_max_ms;
    /* Estimated-wait announcements: prompt directories per language. */
    char **prompt_lang, **prompt_dir;
    size_t nprompts;
    char *language;
    int64_t announce_every_ms; /* 0 = on join only */
    bool announce;             /* on join */
    int64_t aht_default_ms;    /* handle time until a call completed */
    char **dids;
    size_t ndids;
    size_t rr_last; /* round robin: index + 1 of the agent last chosen */
    /* The agents serving this queue, in configured order (rebuilt when an
     * assignment changes): a choice looks at these only. */
    struct acd_agent **agents;
    size_t nagents;
    /* Dispatch pass memo: in pass empty_pass, a plain caller relaxed
     * empty_steps times found nobody, so no plain caller relaxed as much
     * or less can find anybody in the rest of that pass. */
    uint64_t empty_pass;
    int empty_steps;
    /* Figures of the current day (since the last local midnight of the
     * site's zone, or since start), and of the day before. */
    acd_counters day, prev;
} acd_queue;

typedef struct acd_agent {
    char *login;
    size_t index;          /* in acd.a: the configured order */
    /* plt_agent_info.changes of the AVAILABLE period a whole dispatch
     * pass has already matched against every waiting caller (~0: none). */
    uint64_t settled;
    acd_skill *skills;
    size_t nskills;
    char **queues;
    size_t nqueues;
    int64_t offer_ring_ms; /* -1 = the plugin's offer_ring */
    /* Its per-offer phone declined an offer: not offered anything until
     * this timer ends (so a phone refusing at once is not rung in a loop). */
    plt_timer *rest_timer;
    struct acd *s;
    uint64_t calls;        /* answered through the ACD */
    int64_t talk_ms;       /* their total talk time */
} acd_agent;

struct acd;

typedef struct acd_caller {
    struct acd *s;
    char id[32];
    acd_queue *q;
    char *leg_id;
    plt_leg *leg; /* our reference */
    int32_t priority;
    acd_skill *skills; /* the request's, on top of the queue's */
    size_t nskills;
    char *only_agent;
    plt_kv *vars;
    size_t nvars;
    int64_t joined_at;
    uint64_t seq; /* join order, for ties */
    int64_t max_wait_ms;
    int state;
    int relax_steps;
    /* What the caller hears: the hold music, or the announcement file
     * ann_at of ann (then the music comes back). */
    char play_id[32];
    char **ann;
    size_t nann, ann_at;
    plt_timer *announce_timer;
    /* Current offers: one, or one per agent rung at once (ring_all). The
     * agent who took the call stays in `agent` while bridged. */
    acd_agent *agent;
    struct acd_offer *offers;
    size_t noffers;
    int attempt;
    plt_timer *offer_timer; /* the queue's offer timeout */
    bool gone; /* its leg ended; call.ended will remove it */
    /* Agents who missed this caller: tried others first. */
    char **tried;
    size_t ntried;
    plt_timer *relax_timer;
    plt_timer *wait_timer;
    int64_t answered_at;
    char call_offer[80]; /* bridged: the offer taken (per-call phone) */
    struct acd_caller *prev, *next; /* in serving order */
} acd_caller;

/* One agent rung for a caller. */
typedef struct acd_offer {
    acd_caller *c;
    acd_agent *agent;
    char id[80]; /* <caller id>.<attempt>[.<n>] */
    plt_timer *ring_timer; /* simulated ringing before the answer */
    /* The agent's extension is rung for this offer (no kept-up leg): it
     * is taken when that leg answers (leg_id), missed if it ends first. */
    bool per_call;
    bool over; /* that leg ended: the agent missed it */
    char leg_id[32];
} acd_offer;

/* What a choice found. Committing it (after the offer succeeded) moves
 * the round-robin cursor and the random stream; a choice never offered
 * leaves both as they were. */
typedef struct acd_choice {
    acd_agent *agent;  /* chosen, or NULL */
    acd_agent **ring;  /* ring_all: every candidate, longest idle first */
    size_t nring;
    bool unsettled;    /* a candidate's availability is not settled yet */
    bool set_rr, set_rng;
    size_t rr_last;
    uint64_t rng;
} acd_choice;

/* A caller out of the queue, in the middle of an overflow action that
 * keeps the leg a while (a message, a prompt, a voicemail, an IVR claim). */
typedef struct acd_pending {
    struct acd *s;
    int kind;
    int why;
    char id[32];
    char *queue;
    char *leg_id;
    plt_leg *leg;
    char play_id[32];
    char rec_id[32];
    char *path; /* voicemail file */
    bool hangup_after_play;
    plt_timer *timer; /* voicemail length, IVR claim */
    struct acd_pending *next;
} acd_pending;

typedef struct acd {
    plt_agents ag;
    plt_telephony tel;
    plt_storage st;
    bool have_st;
    plt_leads leads;
    bool have_leads;
    char *voicemail_dir;
    int64_t ivr_claim_ms;
    acd_pending *pending;
    int move_depth; /* reroutes in progress, one into another */
    /* The site's zone; the day's counters restart at its midnight. */
    schedule_zone *site_zone;
    plt_timer *midnight_timer;
    plt_timer *hours_timer; /* each minute, if a queue has close_waiting */
    int64_t day_start_ms, prev_start_ms;
    /* Queues: the configured ones [0, nq), then those a reload removed
     * while callers were still in them [nq, nq_all) (serving those
     * callers only, freed at the next reload once empty). */
    acd_queue *q;
    size_t nq, nq_all;
    /* Time zones read at init, shared by name (reloads reuse them). */
    schedule_zone **zones;
    size_t nzones;
    acd_agent **a;
    size_t na;
    /* s->a by login: open addressing, at most half full, NULL = empty
     * slot; ahcap 0 (never built, or out of memory) = linear search. */
    acd_agent **ah;
    size_t ahcap;
    acd_caller *callers, *last; /* in serving order */
    uint64_t seq;
    uint64_t next_id;
    uint64_t rng;
    int64_t offer_ring_ms;
    plt_sub *sub_agent, *sub_call, *sub_ivr;
    uint64_t pass; /* dispatch passes so far */
    bool started, dispatching, again;
} acd;

/* acd_queue.c */
int acd_config_load(acd *s, const plt_cfg *cfg);
/* The zone @p name, loaded once; without @p may_open only a zone already
 * loaded (PLT_ENOTSUP otherwise). */
int acd_zone_get(acd *s, const char *name, bool may_open, schedule_zone **out);
/* Read the configured queues into a new array (validated together). */
int acd_queues_load(acd *s, const plt_cfg *cfg, bool may_open, acd_queue **out,
                    size_t *n);
void acd_queue_clear(acd_queue *q);
/* One entry of the `agents` section, its queues checked against @p qs. On
 * failure *out may hold a partial agent for acd_agent_free(). */
int acd_agent_parse(const plt_cfg *c, acd_queue *qs, size_t nq,
                    acd_agent **out);
int acd_agent_add(acd *s, acd_agent *a);
void acd_agent_free(acd_agent *a);
/* reconfigure(): check (@p apply false) or apply a new section. */
int acd_reload(acd *s, const plt_cfg *cfg, bool apply);
/* The acd whose zones reads finishing later may update (NULL at fini). */
void acd_reload_attach(acd *s);
void acd_free_all(acd *s);
acd_queue *acd_queue_find(acd *s, const char *name);
acd_agent *acd_agent_find(acd *s, const char *login);
/* Index @p a (just appended to s->a) by login for acd_agent_find(). */
void acd_agent_hash_add(acd *s, acd_agent *a);
bool acd_agent_in_queue(const acd_agent *a, const acd_queue *q);
int acd_parse_skill(const char *text, acd_skill *out);
void acd_skills_free(acd_skill *v, size_t n);
int acd_enqueue(void *impl, const plt_acd_request *r, char request_id[32]);
int acd_cancel(void *impl, const char *request_id, const char *reason);
int acd_set_agent(void *impl, const char *agent, const plt_acd_skill *sk,
                  size_t nskills, const char *const *queues, size_t nqueues,
                  plt_acd_done_fn done, void *arg);
bool acd_serves(void *impl, const char *agent, const char *queue);
size_t acd_queue_count(void *impl);
const char *acd_queue_at(void *impl, size_t i);
/* A whole pass: every waiting caller in serving order. */
void acd_dispatch(acd *s);
/* Only @p c changed (joined, relaxed, back from an offer): serve it if an
 * agent can take it, falling back to a whole pass when fairness needs one. */
void acd_dispatch_caller(acd *s, acd_caller *c);
/* Rebuild every queue's agent list after an assignment changed. */
int acd_index_agents(acd *s);
void acd_on_agent_event(const plt_event *ev, void *arg);
void acd_on_call_event(const plt_event *ev, void *arg);
void acd_caller_remove(acd_caller *c);
/* Move a waiting caller to queue @p to (an overflow), keeping its
 * seniority; @p wait: how long it has waited so far. */
void acd_caller_move(acd_caller *c, acd_queue *to, int64_t wait);
size_t acd_position(const acd_caller *c);
plt_event *acd_event(const acd_caller *c, const char *topic);
void acd_stop_all(acd *s);

/* acd_strategy.c */
extern const char *const acd_strategy_names[];
/* Required level of @p sk for a caller relaxed @p steps times. */
int32_t acd_required_level(const acd_queue *q, int32_t level, int steps);
/* Choose among the available agents for a caller of @p q (or a would-be
 * caller: dry run). With @p lines, one explanation per candidate (the
 * caller frees each and the array). Changes nothing: see
 * acd_choice_commit(). out->agent is NULL when nobody fits. */
int acd_choose(acd *s, acd_queue *q, const acd_skill *extra, size_t nextra,
               int relax_steps, const char *only_agent,
               char *const *tried, size_t ntried, acd_choice *out,
               char ***lines, size_t *nlines);
void acd_choice_commit(acd *s, acd_queue *q, const acd_choice *ch);
void acd_choice_free(acd_choice *ch);
int acd_dry_run(void *impl, const plt_acd_request *r, plt_acd_explain_fn cb,
                void *arg);

/* acd_offer.c */
/* Offer @p c to the chosen agent (or ring every agent of a ring_all
 * choice). 0 if at least one agent was reserved. */
int acd_offer_start(acd_caller *c, const acd_choice *ch);
/* End every offer of @p c (missed: each agent missed it) and put the
 * caller back to waiting. */
void acd_offer_abort(acd_caller *c, bool missed);
bool acd_leg_live(acd *s, plt_leg *leg);
/* call.answered / call.ended of an agent leg rung for an offer
 * (var_offer_id): taken, missed, or the agent hung up. True if it was. */
bool acd_offer_leg_event(acd *s, const plt_event *ev);
/* How long an agent whose phone declined an offer is left alone. */
#define ACD_DECLINE_REST_MS 5000
void acd_caller_answered_leg(acd_caller *c);
void acd_caller_ended(acd_caller *c);

/* acd_stats.c */
int acd_stats(void *impl, const char *queue, plt_queue_stats_fn cb,
              void *arg);
int acd_stats_previous(void *impl, const char *queue, plt_queue_stats_fn cb,
                       void *arg);
/* Start the day (at start) and roll it over at each local midnight. */
int acd_days_start(acd *s);
void acd_days_stop(acd *s);
typedef struct acd_staffing {
    uint32_t logged_in, available, paused;
} acd_staffing;
void acd_staffing_of(acd *s, const acd_queue *q, acd_staffing *out);
/* Estimated wait of a caller at @p position (1 = next), or -1 unknown. */
int64_t acd_estimated_wait(acd *s, const acd_queue *q, size_t position);

/* acd_overflow.c */
extern const char *const acd_why_names[];
int acd_action_parse(const char *text, acd_action *out);
const char *acd_action_name(int kind);
/* The first join trigger that applies to a caller joining @p q now
 * (closed, full, no agents, all paused, with an action), or -1. */
int acd_join_trigger(acd *s, acd_queue *q);
/* Watch closing times (queues with close_waiting): start if needed
 * (after init and each reload), stop. */
void acd_hours_start(acd *s);
void acd_hours_stop(acd *s);
/* Apply @p q's action for @p why to waiting caller @p c: publishes
 * queue.overflowed; @p c is removed unless it moved to another queue.
 * Returns true if the caller is still queued (moved). */
bool acd_overflow(acd_caller *c, int why);
/* Agents of @p a's queues logged out or paused: overflow the callers of
 * queues left with nobody to serve them. */
void acd_overflow_staffing(acd *s, const char *agent);
/* call.* and ivr.claimed events for callers in an overflow action;
 * true if the event was theirs. */
bool acd_pending_event(acd *s, const plt_event *ev);
void acd_pending_free_all(acd *s, bool stop_timers_only);
extern const plt_storage_migration acd_migrations[];
extern const size_t acd_nmigrations;

/* acd_announce.c */
/* Announce the estimated wait to @p c now (if the queue has prompts). */
void acd_announce(acd_caller *c);
/* Start announcing on join (and every announce_every). */
void acd_announce_arm(acd_caller *c);
/* call.play_finished for a waiting caller: next announcement file, or
 * the hold music back. */
void acd_caller_play_finished(acd_caller *c, const char *play_id);
/* Stop whatever the caller hears and forget the announcement. */
void acd_caller_silence(acd_caller *c);
void acd_announce_free(acd_caller *c);

/* acd_metrics.c: figures on /metrics (optional http service) */
void acd_metrics_start(acd *s);
void acd_metrics_stop(void);

char *acd_strdup(const char *s);

#endif
