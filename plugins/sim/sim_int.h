/* SPDX-License-Identifier: MIT */
/*
 * Internals of the sim plugin, shared by its files:
 *   sim.c             descriptor and lifecycle
 *   sim_config.c      the configuration, read and checked
 *   sim_rng.c         seeded random streams and distributions
 *   sim_legs.c        the leg/call registry, events, bridging, transfer
 *   sim_media.c       prompts, recordings, DTMF, AMD
 *   sim_trunk.c       trunks (channels, cps) and the called parties' fate
 *   sim_inbound.c     inbound call generation (Poisson per DID)
 *   sim_agent_phone.c "agent:<ext>" destinations: simulated agent phones
 *   sim_service.c     the telephony 1.0 vtable
 */
#ifndef PLATEAU_SIM_INT_H
#define PLATEAU_SIM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <plateau/plateau.h>
#include <plateau/svc/telephony.h>

/* Leg bookkeeping shared with sip: legs.h (library plateau_legs). */
#include "legs.h"
/* Random streams: sim_rng.h (library plateau_sim_rng). */
#include "sim_rng.h"

/* ------------------------------------------------------------------ */
/* Configuration (sim_config.c) */

typedef struct sim_trunk {
    char *name; /* first (legs.h) */
    uint32_t max_channels;
    uint32_t cps; /* 0 = unlimited */
    uint32_t in_use;
    int64_t *cps_ring; /* times of the last `cps` originates */
    size_t cps_pos;
    uint64_t blocked_inbound; /* inbound calls refused: trunk full */
} sim_trunk;

typedef struct sim sim;

typedef struct sim_did {
    sim *s;
    char *did;
    sim_trunk *trunk;
    double rate_per_hour;
    double hourly[24]; /* multipliers, 1.0 when not configured */
    double max_mult;
    uint64_t hash;     /* names its streams */
    sim_rng rng;       /* arrival process */
    uint64_t arrivals; /* accepted arrivals so far */
    double next_at;    /* next candidate arrival, clock ms (unrounded) */
    plt_timer *timer;
} sim_did;

typedef struct sim_conf {
    uint64_t seed;
    double answer_rate, answer_rate_end, machine_rate, busy_rate, invalid_rate;
    bool has_answer_rate_end;
    int64_t day_length_ms;
    double ring_mean, ring_sd;         /* ms */
    double machine_mean, machine_sd;   /* ms */
    double talk_mean, talk_sd;         /* ms */
    double patience_mean, patience_sd; /* ms */
    int64_t machine_hangup_ms;
    int64_t ring_timeout_ms;
    double amd_sensitivity, amd_false_positive;
    int64_t amd_delay_ms;
    int64_t claim_timeout_ms;
    int64_t agent_ring_min_ms, agent_ring_max_ms;
    double agent_miss_rate;
    int64_t play_duration_ms;
    bool play_check_files;
} sim_conf;

/* ------------------------------------------------------------------ */
/* Legs, calls, timers (sim_legs.c) */

#define SIM_LEG_MAGIC 0x53494c47u /* "SILG" */

/** What a leg reaches, which decides how the simulated party behaves. */
typedef enum sim_kind {
    SIM_K_TRUNK = 1,  /* outbound through a trunk: a customer */
    SIM_K_AGENT = 2,  /* "agent:<ext>": a simulated agent phone */
    SIM_K_INBOUND = 3 /* a generated inbound caller */
} sim_kind;
_Static_assert(sizeof(sim_kind) == sizeof(int), "legs.h reads kind as int");

/** The called party's fate, decided at originate. */
typedef enum sim_fate {
    SIM_F_INVALID = 1,
    SIM_F_BUSY = 2,
    SIM_F_NO_ANSWER = 3,
    SIM_F_HUMAN = 4,
    SIM_F_MACHINE = 5
} sim_fate;

/** A one-shot timer slot inside a leg. */
typedef struct sim_tslot {
    plt_timer *h;
    plt_leg *leg;
    void (*fn)(plt_leg *leg);
} sim_tslot;

typedef struct sim_play {
    struct sim_play *next;
    plt_leg *leg;
    char id[24];
    char *file;
    plt_timer *t; /* NULL for a looped prompt (plays until stopped) */
} sim_play;

typedef struct sim_rec {
    struct sim_rec *next;
    plt_call *call;
    char id[24];
    char *path;
    int32_t mode;
    int64_t started_at;
    int64_t paused_at;
    int64_t paused_ms;
    bool paused;
} sim_rec;

/* struct plt_call is the shared one (legs.h). */
struct plt_leg {
    /* First: id, call, state, bridge, hold, kind, trunk (legs.h). */
    LEGS_LEG_HEAD(sim, sim_kind, sim_trunk);

    /* The party, drawn at creation from the leg's own stream. */
    sim_rng rng;
    sim_fate fate;
    int64_t progress_ms; /* ringing, from creation */
    int64_t event_ms;    /* answer or failure, from creation */
    int64_t talk_ms;     /* after the first bridge */
    int64_t patience_ms; /* waiting to be bridged */
    double u_amd;        /* the AMD draw */
    bool talk_started;

    /* Media. */
    sim_play *plays;

    sim_tslot t_progress, t_fate, t_ring_timeout, t_hangup, t_claim, t_amd;
};

struct sim {
    sim_conf conf;
    sim_trunk *trunks;
    size_t ntrunks;
    sim_did *dids;
    size_t ndids;

    LEGS_REG_HEAD; /* the leg registry (legs.h) */

    /* Attempts per destination hash (open addressing): names the stream
     * of each outbound leg. */
    uint64_t *att_keys;
    uint32_t *att_vals;
    size_t att_cap, att_len;

    sim_rec *recs;
    uint64_t next_play, next_rec;
    int64_t start_ms; /* when the day began (answer_rate_end) */
    bool started, stopping;
    /* originate_log (tests): what the trunks saw, one line per call. */
    char *origlog_path;
    int origlog_fd; /* -1 when off */
};

/* Registry and lifecycle of legs. */
int sim_leg_new(sim *s, sim_kind kind, plt_call *join, plt_leg **out);
/* sim_leg_ref, sim_leg_end, sim_cmd_bridge, ...: the shared calls.
 * sim_leg_end() ends a leg (no-op if ended): timers, prompts and bridge
 * go, call.ended is published, the channel and the registry reference are
 * released. The caller must hold a reference or not touch @p l after. */
LEGS_PROVIDER_NAMES(sim)
/** The party answered (outbound) or we answered (inbound). */
void sim_leg_answered(plt_leg *l);
/** A customer starts waiting to be bridged, or starts talking. */
void sim_leg_customer_wait(plt_leg *l, int64_t patience_ms);
LEGS_PROVIDER_REG_NAMES(sim, sim) /* sim_leg_lookup, ...: legs.h */
uint64_t sim_attempt_index(sim *s, uint64_t key);

int sim_tslot_arm(sim_tslot *t, plt_leg *l, int64_t delay_ms,
                  void (*fn)(plt_leg *));
void sim_tslot_cancel(sim_tslot *t);

/* sim_ev_new() (legs.h): a new event with the fields every call.* event
 * has; NULL on failure (logged). */

/* Commands on legs (sim_legs.c). */
int sim_cmd_answer(plt_leg *l);
/** originate() with all checks (sim_legs.c), dispatching on the kind. */
int sim_originate(sim *s, const plt_originate *o, plt_leg **out);

/* Media (sim_media.c). */
int sim_play_start(plt_leg *l, const char *file, uint32_t flags,
                   char play_id[32]);
int sim_play_stop(plt_leg *l, const char *play_id);
void sim_play_stop_all(plt_leg *l);
int sim_dtmf_send(plt_leg *l, const char *digits);
int sim_amd_start(plt_leg *l, const plt_amd_params *p);
int sim_rec_start(sim *s, plt_call *call, const char *path, int32_t mode,
                  char rec_id[32]);
int sim_rec_stop(sim *s, const char *rec_id);
int sim_rec_pause(sim *s, const char *rec_id);
int sim_rec_resume(sim *s, const char *rec_id);
/** The last leg of @p call ended (@p last): finish its recordings. */
void sim_rec_call_ended(sim *s, plt_call *call, plt_leg *last);
void sim_rec_free_all(sim *s);

/* Trunks and called parties (sim_trunk.c). */
sim_trunk *sim_trunk_find(sim *s, const char *name);
/** PLT_EAGAIN when the trunk is full or at its cps limit. */
int sim_trunk_admit(sim *s, sim_trunk *t, bool count_cps);
/** Hold a channel; an outbound call also counts against cps. */
void sim_trunk_take(sim *s, sim_trunk *t, bool outbound);
/** originate_log: open at start, write one line per call that leaves a
 *  trunk, close at fini. */
int sim_trunk_log_open(sim *s);
void sim_trunk_log(sim *s, const plt_leg *l, const plt_kv *vars, size_t n);
void sim_trunk_log_close(sim *s);
void sim_trunk_release(sim_trunk *t);
double sim_answer_rate_now(const sim *s);
/** Draw the party of an outbound trunk leg and schedule its fate. */
int sim_trunk_dial(plt_leg *l);

/* Inbound (sim_inbound.c). */
int sim_inbound_start(sim *s);
void sim_inbound_stop(sim *s);
double sim_did_rate_at(const sim_did *d, int64_t now_ms);

/* Agent phones (sim_agent_phone.c). */
bool sim_agent_dest_valid(const char *dest);
int sim_agent_dial(plt_leg *l);

/* Configuration (sim_config.c). */
int sim_create(const plt_cfg *cfg, sim **out);
void sim_destroy(sim *s);

/* The service (sim_service.c). */
extern const plt_telephony_vt sim_telephony_vt;

#endif
