/* SPDX-License-Identifier: MIT */
/*
 * The provider-independent part of a telephony provider's legs and calls:
 * the registry by id, reference counting, calls grouping legs, bridge and
 * hold bookkeeping, transfers, hangup rules and the fields of the
 * contract's events (sdk/include/plateau/svc/telephony.h).
 *
 * A provider's struct plt_leg starts with LEGS_LEG_HEAD (its fields are
 * then reached as l->state, l->bridged, ...), and its plugin struct holds
 * LEGS_REG_HEAD (s->buckets, s->live_head, ...). What differs between
 * providers (signalling, media, timers, trunks) comes in as legs_ops
 * callbacks, each optional.
 */
#ifndef PLATEAU_LEGS_H
#define PLATEAU_LEGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <plateau/plateau.h>
#include <plateau/svc/telephony.h>

typedef struct legs_reg legs_reg;

/* What a provider does around the shared bookkeeping; NULL: nothing. */
typedef struct legs_ops {
    size_t leg_size; /* sizeof the provider's struct plt_leg */
    uint32_t magic;  /* put in each new leg's magic */
    /* A bridge is about to link a and b (media); non-zero refuses it. */
    int (*media_bridge)(plt_leg *a, plt_leg *b);
    /* The bridge of l is about to be broken (media). */
    void (*media_unbridge)(plt_leg *l);
    /* A bridge claims l (an inbound leg cannot be rejected any more). */
    void (*claimed)(plt_leg *l);
    /* a and b were bridged (call.bridged published both ways). */
    void (*linked)(plt_leg *a, plt_leg *b);
    /* l was put on hold (call.held published); music may be NULL. */
    void (*held)(plt_leg *l, const char *music);
    /* l comes off hold, before call.resumed. */
    void (*unheld)(plt_leg *l);
    /* Tell the party that l ends: code rejects an offered inbound leg. */
    void (*signal_end)(plt_leg *l, int code);
    /* legs_end(): timers and prompts go, before the bridge is broken. */
    void (*end_stop)(plt_leg *l);
    /* legs_end(): the leg is ended, its call.ended (may be NULL) built:
     * channels and media go, the provider's fields are added. */
    void (*end_event)(plt_leg *l, plt_event *ev);
    /* The last live leg of l's call ended (l). */
    void (*call_ended)(plt_leg *l);
    /* At legs_free_all(): drop timers and prompts without events. */
    void (*discard)(plt_leg *l);
    /* Provider memory of l, at its free. */
    void (*free_extra)(plt_leg *l);
    /* A blind transfer's new leg (transferor l). */
    int (*originate)(plt_leg *l, const plt_originate *o, plt_leg **out);

    /* legs_originate(): the kinds of an agent's and a trunk's leg. */
    int kind_agent, kind_trunk;
    /* legs_originate(): is the destination valid ("agent:..." if agent). */
    bool (*valid_dest)(const char *dest, bool agent);
    /* legs_originate(): the trunk a call leaves by (named by o, else the
     * first), admitted (0, PLT_ENOENT, PLT_EAGAIN). */
    int (*pick_trunk)(void *owner, const plt_originate *o, void **trunk);
    /* legs_originate(): the caller id presented. */
    const char *(*caller_id)(const plt_originate *o);
    /* legs_originate(): take the trunk's channel (NULL for an agent) and
     * dial; on failure, undo it and return the error: the leg goes
     * without an event. */
    int (*dial)(plt_leg *l, const plt_originate *o, void *trunk);
    /* legs_originate(): after call.created, the consumer's reference
     * taken. */
    void (*dialled)(plt_leg *l, const plt_originate *o);
} legs_ops;

#define LEGS_REG_FIELDS                                                        \
    plt_leg **buckets; /* by sequence number; nbuckets a power of two */       \
    size_t nbuckets, nlegs;                                                    \
    plt_leg *live_head; /* legs not ended, newest first */                     \
    size_t nlive;                                                              \
    uint64_t next_leg, next_call;                                              \
    const legs_ops *ops;                                                       \
    void *owner; /* the provider (plt_call's s) */

struct legs_reg {
    LEGS_REG_FIELDS
};

/* In the provider's plugin struct. */
#define LEGS_REG_HEAD                                                          \
    union {                                                                    \
        struct {                                                               \
            LEGS_REG_FIELDS                                                    \
        };                                                                     \
        legs_reg reg;                                                          \
    }

#define LEGS_LEG_FIELDS                                                        \
    uint32_t magic;                                                            \
    legs_reg *reg;                                                             \
    uint64_t seq;                                                              \
    char id[24];                                                               \
    plt_call *call;                                                            \
    plt_leg *hnext;     /* registry bucket */                                  \
    plt_leg *call_next; /* call's legs */                                      \
    plt_leg *live_prev, *live_next;                                            \
    int32_t role;                                                              \
    bool inbound;                                                              \
    int32_t state;   /* plt_leg_state */                                       \
    int refs;        /* consumers' references */                               \
    bool live;       /* the registry's own reference, dropped at the end */    \
    char *remote;    /* destination (outbound) or caller (inbound) */          \
    char *from;      /* caller id presented */                                 \
    char *did;       /* inbound only */                                        \
    char **var_keys; /* "var_<key>" */                                         \
    char **var_vals;                                                           \
    size_t nvars;                                                              \
    uint32_t flags;                                                            \
    uint32_t ring_timeout_ms;                                                  \
    int64_t created_at, answered_at, ended_at; /* UTC ms */                    \
    plt_leg *bridged;   /* partner (no reference: cleared at end) */           \
    plt_leg *held_with; /* partner at hold time (a reference) */               \
    bool held;                                                                 \
    plt_leg *xfer_from; /* blind transfer: the transferor (a reference) */

typedef struct legs_leg {
    LEGS_LEG_FIELDS
    void *s;  /* the provider (legs_reg's owner) */
    int kind; /* the provider's kind of leg */
    /* The provider's trunk (the leg holds a channel of it while not
     * ended), or NULL; its first member is its name (char *). */
    char **trunk;
} legs_leg;

/* The first member of the provider's struct plt_leg, with the provider's
 * own types: owner_type *s, kind_type kind (an enum), trunk_type *trunk
 * (a struct whose first member is `char *name`). */
#define LEGS_LEG_HEAD(owner_type, kind_type, trunk_type)                       \
    union {                                                                    \
        struct {                                                               \
            LEGS_LEG_FIELDS                                                    \
            owner_type *s;                                                     \
            kind_type kind;                                                    \
            trunk_type *trunk;                                                 \
        };                                                                     \
        legs_leg hdr;                                                          \
    }

struct plt_call {
    void *s; /* the provider */
    legs_reg *reg;
    uint64_t seq;
    char id[24];
    size_t nlegs;  /* leg structs pointing here (the call lives as long) */
    size_t nlive;  /* of them, not ended */
    plt_leg *legs; /* in creation order, through call_next */
};

/* Registry. reg's buckets are allocated by the provider (a power of two);
 * its ops and owner are set by the first legs_new(). A new leg joins
 * call join, or a new call. */
int legs_new(legs_reg *reg, const legs_ops *ops, void *owner, int kind,
             bool inbound, plt_call *join, plt_leg **out);
plt_leg *legs_lookup(legs_reg *reg, const char *id);
int legs_set_vars(plt_leg *l, const plt_kv *vars, size_t n);
plt_leg *legs_ref(plt_leg *l);
void legs_unref(plt_leg *l);
/* A new leg that failed before any event: gone without a trace. */
void legs_abandon_new(plt_leg *l);
void legs_end_all(legs_reg *reg, const char *reason);
void legs_free_all(legs_reg *reg);

/* The contract's originate(): checks in its order (arguments, running,
 * destination, role, variables, the call to join), the trunk, the new leg
 * (o's role, flags, ring timeout or ring_timeout_ms, destination, caller
 * id, variables), the provider's dial, call.created. */
int legs_originate(legs_reg *reg, const legs_ops *ops, void *owner,
                   bool running, uint32_t ring_timeout_ms,
                   const plt_originate *o, plt_leg **out);
/* call.created of an outbound leg: destination, from, its trunk. */
void legs_publish_created(plt_leg *l);
/* A number: E.164 ("+33612345678") or national digits, 2 to 20. */
bool legs_valid_digits(const char *d);

/* Events. */
plt_event *legs_ev_new(plt_leg *l, const char *topic);
void legs_ev_publish(plt_event *ev);
void legs_publish(plt_leg *l, const char *topic);

/* Commands and transitions. */
int legs_bridge(plt_leg *a, plt_leg *b);
int legs_unbridge(plt_leg *l);
int legs_hold(plt_leg *l, const char *music);
int legs_resume(plt_leg *l);
/* l is answered: its call.answered (ring_ms set), for the caller to
 * complete and publish with legs_ev_publish() (NULL without memory). */
plt_event *legs_answered_event(plt_leg *l);
int legs_hangup(plt_leg *l, int sip_code, int32_t by);
void legs_end(plt_leg *l, int32_t outcome, int sip_code, const char *reason,
              int32_t by);
int legs_transfer_blind(plt_leg *l, const char *destination);
void legs_transfer_answered(plt_leg *n);
int legs_transfer_attended(plt_leg *a, plt_leg *c);

int32_t legs_outcome_of_code(int code);

/* A provider's names for the calls on its registry (owner_type has
 * LEGS_REG_HEAD): prefix_leg_lookup, prefix_leg_end_all,
 * prefix_legs_free_all. */
#define LEGS_PROVIDER_REG_NAMES(prefix, owner_type)                            \
    static inline plt_leg *prefix##_leg_lookup(owner_type *s, const char *id)  \
    {                                                                          \
        return legs_lookup(&s->reg, id);                                       \
    }                                                                          \
    static inline void prefix##_leg_end_all(owner_type *s, const char *reason) \
    {                                                                          \
        legs_end_all(&s->reg, reason);                                         \
    }                                                                          \
    static inline void prefix##_legs_free_all(owner_type *s)                   \
    {                                                                          \
        legs_free_all(&s->reg);                                                \
    }

/* A provider's names for the shared calls (prefix_leg_ref, ...). */
#define LEGS_PROVIDER_NAMES(prefix)                                            \
    static inline plt_leg *prefix##_leg_ref(plt_leg *l)                        \
    {                                                                          \
        return legs_ref(l);                                                    \
    }                                                                          \
    static inline void prefix##_leg_unref(plt_leg *l)                          \
    {                                                                          \
        legs_unref(l);                                                         \
    }                                                                          \
    static inline void prefix##_leg_end(plt_leg *l, int32_t outcome, int code, \
                                        const char *reason, int32_t by)        \
    {                                                                          \
        legs_end(l, outcome, code, reason, by);                                \
    }                                                                          \
    static inline plt_event *prefix##_ev_new(plt_leg *l, const char *topic)    \
    {                                                                          \
        return legs_ev_new(l, topic);                                          \
    }                                                                          \
    static inline void prefix##_ev_publish(plt_event *ev)                      \
    {                                                                          \
        legs_ev_publish(ev);                                                   \
    }                                                                          \
    static inline int prefix##_cmd_hangup(plt_leg *l, int code, int32_t by)    \
    {                                                                          \
        return legs_hangup(l, code, by);                                       \
    }                                                                          \
    static inline int prefix##_cmd_bridge(plt_leg *a, plt_leg *b)              \
    {                                                                          \
        return legs_bridge(a, b);                                              \
    }                                                                          \
    static inline int prefix##_cmd_unbridge(plt_leg *l)                        \
    {                                                                          \
        return legs_unbridge(l);                                               \
    }                                                                          \
    static inline int prefix##_cmd_hold(plt_leg *l, const char *music)         \
    {                                                                          \
        return legs_hold(l, music);                                            \
    }                                                                          \
    static inline int prefix##_cmd_resume(plt_leg *l)                          \
    {                                                                          \
        return legs_resume(l);                                                 \
    }                                                                          \
    static inline int prefix##_cmd_transfer_blind(plt_leg *l,                  \
                                                  const char *destination)     \
    {                                                                          \
        return legs_transfer_blind(l, destination);                            \
    }                                                                          \
    static inline int prefix##_cmd_transfer_attended(plt_leg *a, plt_leg *c)   \
    {                                                                          \
        return legs_transfer_attended(a, c);                                   \
    }

#endif
