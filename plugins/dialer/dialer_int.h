/* SPDX-License-Identifier: MIT */
/*
 * Private header of the dialer plugin: campaigns, compliance packs, the
 * dialling engine and its records.
 */
#ifndef PLATEAU_DIALER_INT_H
#define PLATEAU_DIALER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <plateau/plateau.h>
#include <plateau/svc/acd.h>
#include <plateau/svc/agents.h>
#include <plateau/svc/dialer.h>
#include <plateau/svc/leads.h>
#include <plateau/svc/storage.h>
#include <plateau/svc/telephony.h>

#include "schedule.h"

#define DIALER_MAX_WINDOWS 16
#define DIALER_MAX_HOLIDAYS 64
#define DIALER_DAY_MS 86400000LL

/* ------------------------------------------------------------------ */
/* compliance packs (dialer_compliance.c) */

typedef struct dialer_pack {
    char name[32];
    char description[160];
    schedule_window hours[DIALER_MAX_WINDOWS]; /* legal hours */
    size_t nhours;
    schedule_holidays holidays; /* fixed, Easter-based, dated (owned) */
    int32_t cap_count;          /* attempts per consumer in cap_window */
    int64_t cap_window_ms;
    int64_t after_refusal_ms;   /* silence after a refusal */
    int64_t after_abandon_ms;   /* no repeat after an abandoned call */
    char opposition_list[32];   /* DNC scope checked at dial time */
    double abandon_limit;       /* fraction, 0 = none */
    bool abandon_daily;         /* window: the day (else rolling) */
    int64_t abandon_window_ms;  /* rolling window */
    bool count_amd_false_positives;
    double amd_false_positive_rate; /* charged per machine detected */
    uint32_t min_ring_ms;
    bool abandon_message_required;
} dialer_pack;

/* Load and validate one pack file; @p err (>= 256) explains failures with
 * file:line. On success the pack owns its holidays: dialer_pack_free(). */
int dialer_pack_load(const char *path, dialer_pack *out, char *err,
                     size_t errlen);
void dialer_pack_free(dialer_pack *p);

/* Parse "mon-fri 10:00-13:00" (also "sat 09:00-12:00", "mon,wed ...",
 * "* 08:00-21:00", "8:00" for "08:00") with plateau_schedule's parser. */
int dialer_parse_window(const char *s, plt_dialer_window *w);
/* The same window for plateau_schedule (its day bits start on Sunday). */
schedule_window dialer_window_to_schedule(const plt_dialer_window *w);

/* Local time of @p utc_ms in @p tz (IANA; NULL or unknown -> @p fallback)
 * through plateau_schedule (wday 0 = Sunday). Returns 0, or PLT_ENOENT
 * when neither zone is known. Thread: any. Only zones preloaded at start
 * are known: no file is read here. */
typedef schedule_local dialer_local;
int dialer_local_time(int64_t utc_ms, const char *tz, const char *fallback,
                      dialer_local *out);
/* Load one zone into the cache (start only: reads its file). */
int dialer_tz_preload(const char *name);
/* Is @p name a zone loaded at start? Never reads a file. */
bool dialer_tz_known(const char *name);
/* Free the time zone cache. */
void dialer_tz_cache_free(void);

/* ------------------------------------------------------------------ */
/* campaigns (dialer_campaign.c) */

/* A campaign definition owned by the plugin: a plt_dialer_campaign whose
 * strings and arrays live in one allocation set freed by camp_def_free. */
typedef struct camp_def {
    plt_dialer_campaign c;
    void **allocs;
    size_t nallocs, capallocs;
    bool oom;
} camp_def;

int camp_def_copy(camp_def *d, const plt_dialer_campaign *src);
void camp_def_free(camp_def *d);
/* Validation independent of running state; @p why (>= 256). */
int camp_def_validate(const plt_dialer_campaign *c, char *why, size_t len);
/* JSON text of a definition (malloc'd) and back. */
char *camp_def_to_json(const plt_dialer_campaign *c);
int camp_def_from_json(camp_def *d, const char *json, char *why, size_t len);

struct dialer;

/* One running campaign. */
typedef struct campaign {
    struct dialer *D;
    camp_def def;
    const dialer_pack *pack; /* NULL = none */
    bool enabled;
    bool from_config;
    /* Figures. */
    uint32_t in_flight;       /* pooled lines (not bound to an agent) not
                               * yet connected: dialling, ringing, or
                               * answered and waiting for an agent */
    uint32_t reserving;       /* leads being reserved or checked */
    uint64_t attempts, answered, machines, abandoned;
    /* The abandonment window: per-event entries (time, live, abandoned). */
    struct ab_entry { int64_t at; int32_t live; double abandoned; } *ab;
    size_t nab, capab;
    int64_t last_pacing_at;
    int32_t last_lines;
    /* Time zones open now (recomputed each minute). */
    const char **open_zones;
    size_t nopen_zones;
    int64_t open_minute;
    int64_t strays_at; /* last reservation without a zone filter */
    void *pacing; /* predictive: the pacing model (pacing.h) */
    /* Callbacks booked through leads (dialer_callbacks.c). */
    int64_t *list_ids; /* leads ids of def.c.lists, 0 = not found yet */
    size_t nlist_ids;
    bool cb_refreshing;
    int64_t cb_refresh_at;
} campaign;

/* ------------------------------------------------------------------ */
/* attempts (dialer_engine.c) */

typedef enum attempt_state {
    AT_CHECKING = 1, /* reserved; checks and the durable write pending */
    AT_READY,        /* written; originate pending (trunk full) */
    AT_DIALING,      /* originate sent */
    AT_ANSWERED,     /* up: AMD or waiting for an agent */
    AT_CONNECTED,    /* bridged to an agent */
    AT_ABANDONING,   /* deadline missed: message, then hangup */
    AT_ENDING        /* leg ended; records being written */
} attempt_state;

typedef struct attempt {
    struct attempt *next;
    campaign *camp;
    char ref[40];
    int64_t contact_id;
    char phone[24];
    char phones[PLT_LEADS_MAX_PHONES][24];
    int32_t phone_types[PLT_LEADS_MAX_PHONES];
    char phone_tz[PLT_LEADS_MAX_PHONES][48];
    size_t nphones;
    size_t phone_i;
    char tz[48];
    int32_t lead_attempts;
    char agent[64];     /* bound agent (preview, personal callback) */
    char offer_id[48];
    bool agent_bound, preview, callback;
    attempt_state state;
    plt_leg *leg;
    char leg_id[32];
    char request_id[32];
    char play_id[32];
    plt_timer *deadline;
    plt_timer *preview_timer;
    int64_t started_at, answered_at, ended_at;
    char outcome[32];
    char amd[16];
    int32_t sip_code;
    bool abandoned, machine, connected, amd_pending;
    bool left_pool; /* connected or abandoned: out of camp->in_flight */
    bool paced;     /* its outcome was given to the pacing already */
    bool written;  /* the 'pending' row exists: no longer "reserving" */
    bool deferred; /* trunk full: READY, to originate on a later tick */
    bool redial_blocked, redial_failed; /* checks before a deferred call */
    char connected_agent[64];
    int pending_checks;
    uint32_t dnc_mask; /* numbers (bit = index) found on a DNC list */
    bool dnc_error;    /* a DNC check failed: not this time */
    bool blocked;
    char blocked_rule[24];
    int64_t blocked_until;
} attempt;

/* The plugin instance. */
typedef struct dialer {
    plt_storage st;
    plt_leads leads;
    plt_telephony tel;
    plt_agents ag;
    plt_acd acd;
    bool have_acd;
    bool started, stopping, recovered;
    char owner[64];
    char site_tz[48];
    char packs_dir[1024];
    bool packs_loaded; /* packs are files: read in start() or check() */
    int64_t tick_ms;
    int64_t skip_delay_ms;
    dialer_pack *packs;
    size_t npacks;
    campaign **camps;
    size_t ncamps;
    attempt *attempts;
    uint64_t seq;
    plt_timer *tick;
    bool tick_soon;
    plt_sub *sub_call, *sub_queue, *sub_agent;
    const char **zones; /* candidate time zones (zone.tab) */
    size_t nzones;
    int64_t zones_minute;
    char unknown_zones[16][48]; /* logged once each */
    size_t nunknown_zones;
    struct callback_due {
        int64_t contact_id;
        char campaign[48];
        char agent[64];
        int64_t at;
        bool seen; /* found again by the last refresh from leads */
    } *cbs;
    size_t ncbs, capcbs;
    uint32_t ops_in_flight;
} dialer;

extern dialer *dialer_the;

/* dialer_campaign.c */
int dialer_campaigns_from_cfg(dialer *D, const plt_cfg *cfg);
campaign *dialer_campaign_find(dialer *D, const char *name);
int dialer_campaign_add(dialer *D, const plt_dialer_campaign *c, bool cfg,
                        char *why, size_t len, campaign **out);
void dialer_campaigns_free(dialer *D);
const dialer_pack *dialer_pack_find(dialer *D, const char *name);
int dialer_packs_load(dialer *D, char *why, size_t len);
/* Read the packs (once: start, or `plateau check`), then give every
 * campaign its pack; refuses a campaign the pack does not allow. */
int dialer_packs_bind(dialer *D, char *why, size_t len);
int dialer_svc_create(void *impl, const plt_dialer_campaign *c,
                      plt_dialer_done_fn done, void *arg);
int dialer_svc_update(void *impl, const plt_dialer_campaign *c,
                      plt_dialer_done_fn done, void *arg);
int dialer_svc_get(void *impl, const char *name, plt_dialer_campaign_fn cb,
                   void *arg);
int dialer_svc_list(void *impl, plt_dialer_campaign_row_fn row, void *arg);
int dialer_svc_set_enabled(void *impl, const char *name, bool on,
                           const char *by, plt_dialer_done_fn done,
                           void *arg);
int dialer_svc_stats(void *impl, const char *name, plt_dialer_stats_fn cb,
                     void *arg);
void dialer_publish_campaign(campaign *c, const char *by);

/* dialer_hours.c: opening hours and blocks in a contact's zone */
bool dialer_open_at(const campaign *c, const char *tz, int64_t at);
bool dialer_phone_allowed(const campaign *c, int32_t phone_type,
                          const char *tz, int64_t at);
int64_t dialer_next_open(const campaign *c, const char *tz, int32_t type,
                         int64_t from);
int dialer_zones_load(dialer *D);
size_t dialer_open_zones(dialer *D, campaign *c, int64_t now,
                         const char ***out);

/* dialer_store.c */
extern const plt_storage_migration dialer_migrations[];
extern const size_t dialer_nmigrations;
typedef void (*dialer_store_fn)(void *arg, int status);
int dialer_store_attempt_insert(dialer *D, attempt *a, dialer_store_fn cb,
                                void *arg);
int dialer_store_attempt_state(dialer *D, attempt *a, const char *state,
                               bool durable, dialer_store_fn cb, void *arg);
int dialer_store_campaign_put(dialer *D, const plt_dialer_campaign *c,
                              bool enabled, bool insert_only,
                              dialer_store_fn cb, void *arg);
int dialer_store_block(dialer *D, int64_t contact_id, const char *phone,
                       const char *kind, int64_t until);
int dialer_store_pacing(dialer *D, const char *camp_name, int32_t lines,
                        const char *explain);
int dialer_store_callback(dialer *D, int64_t contact_id, const char *camp,
                          const char *agent, int64_t at);
int dialer_load(dialer *D, dialer_store_fn cb, void *arg);
int dialer_svc_pacing_log(void *impl, const char *cname, int64_t since,
                          int32_t limit, plt_dialer_pacing_row_fn row,
                          plt_dialer_done_fn done, void *arg);
/* The compliance checks of one attempt: cap, refusal and abandon blocks.
 * cb(arg, status) after a->blocked / blocked_rule / blocked_until set. */
int dialer_store_checks(dialer *D, attempt *a, dialer_store_fn cb,
                        void *arg);

/* dialer_callbacks.c: the callbacks to place */
void dialer_callback_put(dialer *D, int64_t contact_id, const char *camp,
                         const char *agent, int64_t at);
void dialer_callbacks_refresh(dialer *D, campaign *c, int64_t now);

/* dialer_engine.c */
void dialer_engine_start(dialer *D);
void dialer_engine_stop(dialer *D);
void dialer_kick(dialer *D);
void dialer_on_call(const plt_event *ev, void *arg);
void dialer_on_queue(const plt_event *ev, void *arg);
void dialer_on_agent(const plt_event *ev, void *arg);
int dialer_svc_preview_dial(void *impl, const char *agent, int32_t idx);
int dialer_svc_preview_skip(void *impl, const char *agent);
int dialer_svc_set_result(void *impl, const plt_dialer_result *r,
                          plt_dialer_done_fn done, void *arg);
void dialer_ab_add(campaign *c, int64_t at, int32_t live, double abandoned);
void dialer_ab_rate(campaign *c, int64_t now, uint64_t *live,
                    double *abandoned);
void dialer_recover(dialer *D, dialer_store_fn cb, void *arg);
void dialer_release(dialer *D, int64_t contact_id);
void dialer_release_idle(dialer *D);

/* dialer_metrics.c: figures on /metrics (optional http service) */
void dialer_metrics_start(dialer *D);
void dialer_metrics_stop(void);

/* dialer_pacing_glue.c: lines to dial now for one campaign */
int32_t dialer_pace(dialer *D, campaign *c, uint32_t avail,
                    uint32_t *logged_in);
bool dialer_campaign_has_agent(const campaign *c, const char *agent);
/* Agents available for @p c now (its own, not busy with one of its calls). */
uint32_t dialer_agents_available(dialer *D, campaign *c);
void dialer_pacing_observe(dialer *D, campaign *c, attempt *a);
void dialer_pacing_answered(dialer *D, campaign *c, attempt *a);
void dialer_pacing_agent_event(dialer *D, const plt_event *ev);
void dialer_pacing_free(dialer *D);

#endif
