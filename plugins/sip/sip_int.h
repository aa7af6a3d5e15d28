/* SPDX-License-Identifier: MIT */
/*
 * Internals of the sip plugin, shared by its files:
 *   sip.c            descriptor, configuration schema and lifecycle
 *   sip_config.c     the configuration, read and checked
 *   sip_stack.c      the SIP thread: sofia-sip nua, calls, trunk
 *                    registration and OPTIONS probes (no other file
 *                    touches a sofia object)
 *   sip_registrar.c  the registrar of agent phones (SIP thread)
 *   sip_sdp.c        SDP offers and answers Plateau writes and reads
 *   sip_legs.c       the leg/call registry, events, commands (loop thread)
 *   sip_trunk.c      trunks on the loop: limits, host resolution, state
 *   sip_media.c      the glue to the media engine (plugins/media)
 *   sip_service.c    the telephony 1.0 vtable
 *
 * Threads. The loop thread owns every struct below except sip_stack's
 * private part. The SIP thread reads the configuration (immutable while
 * it runs) and talks to the loop only through sip_msg: commands go in with
 * sip_stack_send() (su_msg_send_to), events come out with plt_post(). No
 * sofia pointer crosses.
 */
#ifndef PLATEAU_SIP_INT_H
#define PLATEAU_SIP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <plateau/loop.h>
#include <plateau/plateau.h>
#include <plateau/svc/telephony.h>

#include "legs.h"
#include "sip_sdp.h"

/* ------------------------------------------------------------------ */
/* Configuration (sip_config.c) */

typedef enum sip_cid_mode {
    SIP_CID_FIXED = 1,    /* always the trunk's caller_id */
    SIP_CID_CAMPAIGN = 2, /* originate's caller_id, else the trunk's */
    SIP_CID_HIDDEN = 3    /* anonymous, identity only in P-Asserted-Identity */
} sip_cid_mode;

typedef struct sip_trunk {
    /* Configuration: immutable while the SIP thread runs. */
    char *name; /* first (legs.h) */
    char *host; /* name or IP literal */
    int port;
    bool tcp;
    char *domain;   /* From/To host part; default: host */
    char *username; /* digest user (registration and challenges) */
    char *auth_username;
    char *password;
    bool do_register;
    int64_t register_expires_s;
    char *proxy_host; /* outbound proxy, or NULL */
    int proxy_port;
    char *caller_id;
    sip_cid_mode cid_mode;
    uint32_t max_channels;
    uint32_t cps; /* 0 = unlimited */
    int64_t options_interval_ms; /* 0 = no health checks */
    uint32_t options_threshold;

    /* Loop-side state. */
    struct sip *owner;
    size_t index;
    void *resolve_req; /* in flight, or NULL */
    char addr[64];       /* resolved IP literal, "" until resolved */
    char proxy_addr[64]; /* resolved proxy, "" if none or not yet */
    bool up;
    char *down_reason;
    uint32_t in_use;
    int64_t *cps_ring;
    size_t cps_pos;
    plt_timer *resolve_timer;
    bool resolving;
} sip_trunk;

typedef struct sip_route {
    char *did;
    char *trunk; /* only from this trunk, or NULL = any */
} sip_route;

typedef struct sip_ext {
    char *extension;
    char *password;
} sip_ext;

typedef struct sip_conf {
    char *bind_address; /* IP literal */
    int port;
    bool tcp;
    char *rtp_address; /* IP literal put in SDP */
    int rtp_port_min, rtp_port_max;
    char *realm;
    char *user_agent;
    int64_t ring_timeout_ms;
    int64_t claim_timeout_ms;
    int64_t max_message_size;
    int64_t tcp_idle_ms;
    int64_t incomplete_ms;
    int64_t register_max_expires_s;
    int64_t rtp_timeout_ms;
    char *recordings_dir;
    bool accept_unknown_sources;
} sip_conf;

/* ------------------------------------------------------------------ */
/* Messages between the loop and the SIP thread */

typedef enum sip_msg_type {
    /* loop -> SIP */
    SIP_CMD_INVITE = 1, /* sid, trunk, uri, from, to, sdp, hdrs, flags */
    SIP_CMD_ANSWER,     /* sid, sdp */
    SIP_CMD_RESPOND,    /* sid, code: reject an offered call */
    SIP_CMD_HANGUP,     /* sid: CANCEL or BYE as the dialog stands */
    SIP_CMD_TRUNK_ADDR, /* trunk, uri = addr, text = proxy addr */
    SIP_CMD_REANSWER,   /* sid, code, sdp: answer a re-INVITE */
    SIP_CMD_SHUTDOWN,
    /* SIP -> loop */
    SIP_EV_PROGRESS = 100, /* sid, code, sdp (early media) or NULL */
    SIP_EV_ANSWERED,       /* sid, sdp */
    SIP_EV_FAILED,         /* sid, code, text: final non-2xx */
    SIP_EV_BYE,            /* sid: the party hung up */
    SIP_EV_CANCELLED,      /* sid: the inbound caller gave up */
    SIP_EV_INCOMING,       /* sid, trunk, to (did), from, text (name), sdp */
    SIP_EV_TRUNK_STATE,    /* trunk, code (1 up, 0 down), text (reason) */
    SIP_EV_AGENT_REG,      /* to (extension), uri (contact), code (expires) */
    SIP_EV_REINVITE,       /* sid, sdp: a re-INVITE's offer, to answer */
    SIP_EV_STOPPED
} sip_msg_type;

enum {
    SIP_MF_HIDE_ID = 1u << 0, /* Privacy: id */
    SIP_MF_AGENT = 1u << 1    /* uri is "agent:<ext>": the registrar's */
};

typedef struct sip_msg {
    int type;
    uint64_t sid;
    int code;
    int trunk; /* index, or -1 */
    uint32_t flags;
    char *uri, *from, *to, *sdp, *text, *hdrs;
    struct sip *s;
} sip_msg;

sip_msg *sip_msg_new(int type, uint64_t sid);
void sip_msg_free(sip_msg *m);
/** strdup that accepts NULL. Returns false on allocation failure. */
bool sip_msg_set(char **field, const char *value);

/* ------------------------------------------------------------------ */
/* The SIP thread (sip_stack.c) */

typedef struct sip_stack sip_stack;

/** Start the thread, bind the SIP port; blocks until bound or failed. */
int sip_stack_start(struct sip *s, sip_stack **out);
/** Hand a command to the SIP thread (takes @p m, even on failure). */
int sip_stack_send(sip_stack *st, sip_msg *m);
/** Ask the SIP thread to shut down; SIP_EV_STOPPED follows. */
void sip_stack_shutdown(sip_stack *st);
/** Join the thread (after SIP_EV_STOPPED) and free it. */
void sip_stack_join(sip_stack *st);
/** The address and port actually bound (for logs and tests). */
const char *sip_stack_contact(const sip_stack *st);

/* Registrar (sip_registrar.c), SIP thread only. */
typedef struct sip_registrar sip_registrar;
int sip_registrar_new(const struct sip *s, sip_registrar **out);
void sip_registrar_free(sip_registrar *r);
/** Contact URI of a registered extension, or NULL. */
const char *sip_registrar_lookup(sip_registrar *r, const char *ext);

/* ------------------------------------------------------------------ */
/* Legs and calls (sip_legs.c) */

#define SIP_LEG_MAGIC 0x5349504cu /* "SIPL" */

typedef enum sip_kind {
    SIP_K_TRUNK = 1,  /* outbound through a trunk */
    SIP_K_AGENT = 2,  /* "agent:<ext>": a registered phone */
    SIP_K_INBOUND = 3 /* an inbound call from a trunk */
} sip_kind;
_Static_assert(sizeof(sip_kind) == sizeof(int), "legs.h reads kind as int");

struct sip_mleg; /* media side of a leg (sip_media.c) */

typedef struct sip_play {
    struct sip_play *next;
    uint32_t media_id;
    char id[24];
    char *file;
} sip_play;

typedef struct sip_rec sip_rec;

/* struct plt_call is the shared one (legs.h). */
struct plt_leg {
    /* First: id, call, state, bridge, hold, kind, trunk (legs.h). */
    LEGS_LEG_HEAD(struct sip, sip_kind, sip_trunk);
    uint64_t sid; /* the dialog's id on the SIP thread */

    bool remote_held; /* the party put us on hold (sendonly/inactive) */
    bool progress_sent;
    bool early_sent;
    bool sip_gone; /* the dialog is over on the SIP side: send nothing */
    sip_play *plays;

    plt_timer *t_ring; /* outbound ring timeout */
    plt_timer *t_claim; /* inbound claim timeout */

    sip_sdp_info remote_sdp; /* negotiated from the party's SDP */
    bool have_remote;
    char *offer; /* inbound: the caller's SDP, until answered */
    struct sip_mleg *media;
};

/* ------------------------------------------------------------------ */
/* The plugin */

typedef struct sip {
    sip_conf conf;
    sip_trunk *trunks;
    size_t ntrunks;
    sip_route *routes;
    size_t nroutes;
    sip_ext *exts;
    size_t nexts;

    sip_stack *stack;
    LEGS_REG_HEAD; /* the leg registry (legs.h) */
    uint64_t next_play, next_rec;
    sip_rec *recs;
    bool started, stopping, stopped_pending;
    struct sip_media *media; /* the engine (sip_media.c) */
} sip;

int sip_create(const plt_cfg *cfg, sip **out);
void sip_destroy(sip *s);

/* Legs (sip_legs.c). */
/* sip_leg_ref, sip_leg_end, sip_cmd_bridge, ...: the shared calls. */
LEGS_PROVIDER_NAMES(sip)
LEGS_PROVIDER_REG_NAMES(sip, sip) /* sip_leg_lookup, ...: legs.h */
/** The loop's handler for every message from the SIP thread. */
void sip_on_stack_msg(void *arg);

int sip_originate(sip *s, const plt_originate *o, plt_leg **out);
int sip_cmd_answer(plt_leg *l);

/* Trunks (sip_trunk.c). */
sip_trunk *sip_trunk_find(sip *s, const char *name);
int sip_trunk_admit(sip_trunk *t);
void sip_trunk_take(sip_trunk *t, bool outbound);
void sip_trunk_release(sip_trunk *t);
int sip_trunks_start(sip *s);
void sip_trunks_stop(sip *s);
void sip_trunk_state(sip *s, size_t i, bool up, const char *reason);

/* Media (sip_media.c). */
int sip_media_open(sip *s);
void sip_media_close(sip *s);
/** Allocate the leg's RTP endpoint; its address goes into our SDP. */
int sip_mleg_new(plt_leg *l);
void sip_mleg_free(plt_leg *l);
/** Put the leg's RTP counters (rtp_rx, rtp_tx, rtp_relayed, rtp_foreign,
 *  rtp_lost, rtp_bad) into @p ev; nothing if the leg has no endpoint. */
void sip_mleg_counters(plt_leg *l, plt_event *ev);
/** Our next SDP is a new version of the session (o= version + 1). */
void sip_mleg_new_version(plt_leg *l);
/** Our SDP for the leg: an offer, or the answer to l->remote_sdp. */
int sip_mleg_sdp(plt_leg *l, bool answer, char *buf, size_t len);
/** Point the leg's media at the party's address (l->remote_sdp). */
int sip_mleg_connect(plt_leg *l);
int sip_mleg_bridge(plt_leg *a, plt_leg *b);
void sip_mleg_unbridge(plt_leg *l);
int sip_play_start(plt_leg *l, const char *file, uint32_t flags,
                   char play_id[32]);
int sip_play_stop(plt_leg *l, const char *play_id);
void sip_play_stop_all(plt_leg *l);
int sip_dtmf_send(plt_leg *l, const char *digits);
int sip_amd_start(plt_leg *l, const plt_amd_params *p);
int sip_rec_start(sip *s, plt_call *call, const char *path, int32_t mode,
                  char rec_id[32]);
int sip_rec_stop(sip *s, const char *rec_id);
int sip_rec_pause(sip *s, const char *rec_id);
int sip_rec_resume(sip *s, const char *rec_id);
void sip_rec_call_ended(sip *s, plt_call *call, plt_leg *last);
void sip_rec_free_all(sip *s);

extern const plt_telephony_vt sip_telephony_vt;

#endif
