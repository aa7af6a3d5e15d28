/* SPDX-License-Identifier: MIT */
/*
 * The leg and call registry shared by the telephony providers, and what
 * the controller does with legs whatever carries them: bridge, hold,
 * transfer, hang up, end.
 *
 * A leg is a refcounted handle with a stable id ("L7"). The registry holds
 * one implicit reference while the leg is not ended (so an inbound leg
 * nobody claimed stays alive); consumers hold the others. The memory goes
 * when the leg has ended and the last reference is dropped; until then
 * legs_lookup() still finds it ("recently ended").
 *
 * A call ("C3") groups legs; it lives as long as a leg struct points to
 * it, and it ends when its last leg ends.
 *
 * The contract's central rule is kept here: ending a leg never ends the leg
 * it is bridged to. The partner is unbridged (call.unbridged) and keeps
 * whatever timers its own party has; the controller decides the rest.
 *
 * Bridge events are published once per leg (each with that leg's own
 * role, direction and variables, and other_leg_id), so the dialer matching
 * the customer leg and the agents plugin matching the agent leg each see
 * theirs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "legs.h"

/* The header is the first member of the provider's struct plt_leg. */
static legs_leg *
H(plt_leg *l)
{
    return (legs_leg *)(void *)l;
}

static const legs_ops *
ops_of(plt_leg *l)
{
    return H(l)->reg->ops;
}

/* ------------------------------------------------------------------ */
/* Events */

plt_event *
legs_ev_new(plt_leg *l, const char *topic)
{
    legs_leg *h = H(l);
    plt_event *ev;
    int rc = plt_event_new(&ev, topic, 1);
    if (rc != 0) {
        plt_log_err(PLT_LOG_ERROR, rc, "leg %s: cannot create %s", h->id,
                    topic);
        return NULL;
    }
    plt_event_set_str(ev, "leg_id", h->id);
    plt_event_set_str(ev, "call_id", h->call->id);
    plt_event_set_str(ev, "role",
                      h->role == PLT_LEG_AGENT ? "agent" : "customer");
    plt_event_set_str(ev, "direction", h->inbound ? "inbound" : "outbound");
    for (size_t i = 0; i < h->nvars; i++)
        plt_event_set_str(ev, h->var_keys[i], h->var_vals[i]);
    return ev;
}

void
legs_ev_publish(plt_event *ev)
{
    if (!ev)
        return;
    int rc = plt_event_publish(ev); /* takes the reference either way */
    if (rc != 0 && rc != PLT_ESHUTDOWN)
        plt_log_err(PLT_LOG_WARN, rc, "cannot publish an event");
}

void
legs_publish(plt_leg *l, const char *topic)
{
    legs_ev_publish(legs_ev_new(l, topic));
}

static void
publish_pair(plt_leg *l, plt_leg *other, const char *topic)
{
    plt_event *ev = legs_ev_new(l, topic);
    if (ev) {
        plt_event_set_str(ev, "other_leg_id", H(other)->id);
        legs_ev_publish(ev);
    }
}

static const char *
trunk_name(plt_leg *l)
{
    return H(l)->trunk ? *H(l)->trunk : NULL;
}

void
legs_publish_created(plt_leg *l)
{
    plt_event *ev = legs_ev_new(l, "call.created");
    if (ev) {
        plt_event_set_str(ev, "destination", H(l)->remote);
        plt_event_set_str(ev, "from", H(l)->from);
        if (H(l)->trunk)
            plt_event_set_str(ev, "trunk", trunk_name(l));
        legs_ev_publish(ev);
    }
}

/* ------------------------------------------------------------------ */
/* Registry */

static size_t
bucket_of(const legs_reg *r, uint64_t seq)
{
    return (size_t)(seq & (r->nbuckets - 1));
}

/* Double the table when it is twice as full as it is wide; a failed
 * resize only makes chains longer. */
static void
registry_grow(legs_reg *r)
{
    if (r->nlegs < 2 * r->nbuckets)
        return;
    size_t n = r->nbuckets * 2;
    plt_leg **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return;
    for (size_t i = 0; i < r->nbuckets; i++)
        for (plt_leg *l = r->buckets[i], *next; l; l = next) {
            next = H(l)->hnext;
            size_t b = (size_t)(H(l)->seq & (n - 1));
            H(l)->hnext = nb[b];
            nb[b] = l;
        }
    free(r->buckets);
    r->buckets = nb;
    r->nbuckets = n;
}

plt_leg *
legs_lookup(legs_reg *r, const char *id)
{
    if (!id || id[0] != 'L' || id[1] < '1' || id[1] > '9')
        return NULL;
    char *end;
    unsigned long long seq = strtoull(id + 1, &end, 10);
    if (*end != '\0')
        return NULL;
    for (plt_leg *l = r->buckets[bucket_of(r, seq)]; l; l = H(l)->hnext)
        if (H(l)->seq == seq)
            return l;
    return NULL;
}

static void
live_remove(legs_reg *r, plt_leg *l)
{
    legs_leg *h = H(l);
    if (h->live_prev)
        H(h->live_prev)->live_next = h->live_next;
    else
        r->live_head = h->live_next;
    if (h->live_next)
        H(h->live_next)->live_prev = h->live_prev;
    h->live_prev = h->live_next = NULL;
    r->nlive--;
}

static void
call_detach(plt_leg *l)
{
    plt_call *c = H(l)->call;
    for (plt_leg **pp = &c->legs; *pp; pp = &H(*pp)->call_next)
        if (*pp == l) {
            *pp = H(l)->call_next;
            break;
        }
    if (--c->nlegs == 0)
        free(c);
}

static void
leg_free(plt_leg *l)
{
    legs_leg *h = H(l);
    legs_reg *r = h->reg;
    for (plt_leg **pp = &r->buckets[bucket_of(r, h->seq)]; *pp;
         pp = &H(*pp)->hnext)
        if (*pp == l) {
            *pp = h->hnext;
            break;
        }
    r->nlegs--;
    call_detach(l);
    for (size_t i = 0; i < h->nvars; i++) {
        free(h->var_keys[i]);
        free(h->var_vals[i]);
    }
    free(h->var_keys);
    free(h->var_vals);
    free(h->remote);
    free(h->from);
    free(h->did);
    if (r->ops->free_extra)
        r->ops->free_extra(l);
    h->magic = 0;
    free(l);
}

int
legs_new(legs_reg *r, const legs_ops *ops, void *owner, int kind, bool inbound,
         plt_call *join, plt_leg **out)
{
    if (ops->leg_size < sizeof(legs_leg))
        return PLT_EINVAL;
    r->ops = ops;
    r->owner = owner;
    plt_leg *l = calloc(1, ops->leg_size);
    if (!l)
        return PLT_ENOMEM;
    plt_call *c = join;
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c) {
            free(l);
            return PLT_ENOMEM;
        }
        c->s = r->owner;
        c->reg = r;
        c->seq = ++r->next_call;
        snprintf(c->id, sizeof(c->id), "C%llu", (unsigned long long)c->seq);
    }
    legs_leg *h = H(l);
    h->magic = ops->magic;
    h->reg = r;
    h->s = owner;
    h->kind = kind;
    h->seq = ++r->next_leg;
    snprintf(h->id, sizeof(h->id), "L%llu", (unsigned long long)h->seq);
    h->inbound = inbound;
    h->state = inbound ? PLT_LEG_RINGING : PLT_LEG_DIALING;
    h->live = true;
    h->created_at = plt_now();

    /* Append to the call, keeping creation order. */
    h->call = c;
    plt_leg **pp = &c->legs;
    while (*pp)
        pp = &H(*pp)->call_next;
    *pp = l;
    c->nlegs++;
    c->nlive++;

    size_t b = bucket_of(r, h->seq);
    h->hnext = r->buckets[b];
    r->buckets[b] = l;
    r->nlegs++;
    registry_grow(r);

    h->live_next = r->live_head;
    if (r->live_head)
        H(r->live_head)->live_prev = l;
    r->live_head = l;
    r->nlive++;
    *out = l;
    return 0;
}

int
legs_set_vars(plt_leg *l, const plt_kv *vars, size_t n)
{
    legs_leg *h = H(l);
    if (n == 0)
        return 0;
    h->var_keys = calloc(n, sizeof(char *));
    h->var_vals = calloc(n, sizeof(char *));
    if (!h->var_keys || !h->var_vals)
        return PLT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(vars[i].key);
        h->var_keys[i] = malloc(kl + 5);
        h->var_vals[i] = strdup(vars[i].value ? vars[i].value : "");
        h->nvars = i + 1;
        if (!h->var_keys[i] || !h->var_vals[i])
            return PLT_ENOMEM;
        memcpy(h->var_keys[i], "var_", 4);
        memcpy(h->var_keys[i] + 4, vars[i].key, kl + 1);
    }
    return 0;
}

plt_leg *
legs_ref(plt_leg *l)
{
    H(l)->refs++;
    return l;
}

void
legs_unref(plt_leg *l)
{
    if (--H(l)->refs == 0 && !H(l)->live)
        leg_free(l);
}

void
legs_abandon_new(plt_leg *l)
{
    legs_leg *h = H(l);
    h->state = PLT_LEG_ENDED;
    live_remove(h->reg, l);
    h->call->nlive--;
    h->live = false;
    leg_free(l);
}

/* ------------------------------------------------------------------ */
/* Bridges */

static void
break_bridge(plt_leg *l)
{
    plt_leg *p = H(l)->bridged;
    if (!p)
        return;
    if (ops_of(l)->media_unbridge)
        ops_of(l)->media_unbridge(l);
    H(l)->bridged = H(p)->bridged = NULL;
    publish_pair(l, p, "call.unbridged");
    publish_pair(p, l, "call.unbridged");
}

static void
unhold_quiet(plt_leg *l)
{
    legs_leg *h = H(l);
    if (!h->held)
        return;
    h->held = false;
    if (ops_of(l)->unheld)
        ops_of(l)->unheld(l);
    if (h->held_with) {
        legs_unref(h->held_with);
        h->held_with = NULL;
    }
    legs_publish(l, "call.resumed");
}

static int
link_bridge(plt_leg *a, plt_leg *b)
{
    const legs_ops *ops = ops_of(a);
    if (ops->media_bridge) {
        int rc = ops->media_bridge(a, b);
        if (rc != 0)
            return rc;
    }
    H(a)->bridged = b;
    H(b)->bridged = a;
    /* Bridging claims an inbound leg (it cannot be rejected any more). */
    if (ops->claimed) {
        ops->claimed(a);
        ops->claimed(b);
    }
    publish_pair(a, b, "call.bridged");
    publish_pair(b, a, "call.bridged");
    if (ops->linked)
        ops->linked(a, b);
    return 0;
}

int
legs_bridge(plt_leg *a, plt_leg *b)
{
    if (a == b)
        return PLT_EINVAL;
    if (H(a)->state != PLT_LEG_UP || H(b)->state != PLT_LEG_UP)
        return PLT_ESTATE;
    if (H(a)->bridged == b)
        return 0;
    unhold_quiet(a);
    unhold_quiet(b);
    break_bridge(a);
    break_bridge(b);
    return link_bridge(a, b);
}

int
legs_unbridge(plt_leg *l)
{
    if (H(l)->state == PLT_LEG_ENDED || !H(l)->bridged)
        return PLT_ESTATE;
    break_bridge(l);
    return 0;
}

int
legs_hold(plt_leg *l, const char *music)
{
    legs_leg *h = H(l);
    if (h->state != PLT_LEG_UP || h->held)
        return PLT_ESTATE;
    plt_leg *p = h->bridged;
    h->held_with = p ? legs_ref(p) : NULL;
    break_bridge(l);
    h->held = true;
    plt_event *ev = legs_ev_new(l, "call.held");
    if (ev && music)
        plt_event_set_str(ev, "music", music);
    legs_ev_publish(ev);
    if (ops_of(l)->held)
        ops_of(l)->held(l, music);
    return 0;
}

int
legs_resume(plt_leg *l)
{
    legs_leg *h = H(l);
    if (h->state != PLT_LEG_UP || !h->held)
        return PLT_ESTATE;
    plt_leg *p = h->held_with;
    h->held_with = NULL;
    h->held = false;
    if (ops_of(l)->unheld)
        ops_of(l)->unheld(l);
    legs_publish(l, "call.resumed");
    /* Back into the bridge it had, if the partner is still free for it;
     * otherwise the leg stays up, unbridged, for the controller. */
    if (p && H(p)->state == PLT_LEG_UP && !H(p)->bridged && !H(p)->held)
        (void)link_bridge(l, p);
    if (p)
        legs_unref(p);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Answer and end */

plt_event *
legs_answered_event(plt_leg *l)
{
    legs_leg *h = H(l);
    h->state = PLT_LEG_UP;
    h->answered_at = plt_now();
    plt_event *ev = legs_ev_new(l, "call.answered");
    if (ev)
        plt_event_set_i64(ev, "ring_ms", h->answered_at - h->created_at);
    return ev;
}

int32_t
legs_outcome_of_code(int code)
{
    switch (code) {
    case 486:
    case 600:
        return PLT_OUTCOME_BUSY;
    case 408:
    case 480:
        return PLT_OUTCOME_NO_ANSWER;
    case 603:
    case 403:
        return PLT_OUTCOME_REJECTED;
    case 404:
    case 484:
    case 410:
    case 604:
        return PLT_OUTCOME_INVALID_NUMBER;
    case 500:
    case 502:
    case 503:
        return PLT_OUTCOME_CONGESTION;
    case 487:
        return PLT_OUTCOME_CANCELLED;
    default:
        return PLT_OUTCOME_FAILED;
    }
}

static void
signal_end(plt_leg *l, int code)
{
    if (ops_of(l)->signal_end)
        ops_of(l)->signal_end(l, code);
}

int
legs_hangup(plt_leg *l, int sip_code, int32_t by)
{
    legs_leg *h = H(l);
    if (by < PLT_BY_CUSTOMER || by > PLT_BY_SYSTEM)
        return PLT_EINVAL;
    if (h->state == PLT_LEG_ENDED)
        return PLT_ESTATE;
    if (h->state == PLT_LEG_UP) {
        signal_end(l, 0);
        legs_end(l, PLT_OUTCOME_ANSWERED, 200, "hangup", by);
    } else if (h->inbound) {
        /* Rejecting an offered call: 603 Decline unless told otherwise. */
        if (sip_code == 0)
            sip_code = 603;
        if (sip_code < 300 || sip_code > 699)
            return PLT_EINVAL;
        signal_end(l, sip_code);
        legs_end(l, legs_outcome_of_code(sip_code), sip_code, "rejected", by);
    } else {
        signal_end(l, 0);
        legs_end(l, PLT_OUTCOME_CANCELLED, 487, "cancelled", by);
    }
    return 0;
}

static const char *
by_name(int32_t by)
{
    return by == PLT_BY_CUSTOMER ? "customer"
           : by == PLT_BY_AGENT  ? "agent"
                                 : "system";
}

void
legs_end(plt_leg *l, int32_t outcome, int sip_code, const char *reason,
         int32_t by)
{
    legs_leg *h = H(l);
    if (h->state == PLT_LEG_ENDED)
        return;
    legs_reg *r = h->reg;
    const legs_ops *ops = r->ops;
    legs_ref(l); /* ours, for the length of this function */
    if (ops->end_stop)
        ops->end_stop(l);
    break_bridge(l);
    if (h->held_with) {
        legs_unref(h->held_with);
        h->held_with = NULL;
    }
    h->held = false;
    if (h->xfer_from) {
        legs_unref(h->xfer_from);
        h->xfer_from = NULL;
    }
    h->state = PLT_LEG_ENDED;
    h->ended_at = plt_now();

    plt_event *ev = legs_ev_new(l, "call.ended");
    if (ops->end_event)
        ops->end_event(l, ev);
    if (ev) {
        int64_t ring_end = h->answered_at ? h->answered_at : h->ended_at;
        plt_event_set_str(ev, "outcome", plt_outcome_name(outcome));
        plt_event_set_i64(ev, "sip_code", sip_code);
        plt_event_set_str(ev, "reason", reason);
        plt_event_set_str(ev, "hangup_by", by_name(by));
        plt_event_set_i64(ev, "ring_ms", ring_end - h->created_at);
        plt_event_set_i64(ev, "talk_ms",
                          h->answered_at ? h->ended_at - h->answered_at : 0);
        plt_event_set_i64(ev, "duration_ms", h->ended_at - h->created_at);
        legs_ev_publish(ev);
    }

    live_remove(r, l);
    if (--h->call->nlive == 0 && ops->call_ended)
        ops->call_ended(l);
    h->live = false;
    legs_unref(l);
}

void
legs_end_all(legs_reg *r, const char *reason)
{
    while (r->live_head) {
        plt_leg *l = r->live_head;
        legs_leg *h = H(l);
        int32_t outcome = h->state == PLT_LEG_UP ? PLT_OUTCOME_ANSWERED
                          : h->inbound           ? PLT_OUTCOME_NO_ANSWER
                                                 : PLT_OUTCOME_CANCELLED;
        int code = h->state == PLT_LEG_UP ? 200 : h->inbound ? 480 : 487;
        signal_end(l, 480);
        legs_end(l, outcome, code, reason, PLT_BY_SYSTEM);
    }
}

/* At fini: whatever consumers still hold goes too (they cannot call us
 * any more). Every leg has ended by now (stop ended them); in case stop
 * never ran, timers are dropped without events. */
void
legs_free_all(legs_reg *r)
{
    if (!r->buckets)
        return;
    for (size_t i = 0; i < r->nbuckets; i++)
        while (r->buckets[i]) {
            plt_leg *l = r->buckets[i];
            if (r->ops->discard)
                r->ops->discard(l);
            H(l)->held_with = NULL;
            H(l)->xfer_from = NULL;
            leg_free(l);
        }
    r->live_head = NULL;
    r->nlive = 0;
}

/* ------------------------------------------------------------------ */
/* Originate */

static bool
valid_var_key(const char *k)
{
    if (!k || !(*k >= 'a' && *k <= 'z'))
        return false;
    for (k++; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
              *k == '_'))
            return false;
    return true;
}

bool
legs_valid_digits(const char *d)
{
    const char *p = d + (*d == '+');
    size_t n = 0;
    for (; *p; p++, n++)
        if (*p < '0' || *p > '9')
            return false;
    return n >= 2 && n <= 20;
}

static int
check_originate(legs_reg *r, const legs_ops *ops, const plt_originate *o,
                plt_leg **out, bool running, bool *agent, int32_t *role)
{
    if (!o || !out || o->size < sizeof(plt_originate))
        return PLT_EINVAL;
    if (!running)
        return PLT_ESHUTDOWN;
    if (!o->destination || !*o->destination)
        return PLT_EINVAL;
    *agent = strncmp(o->destination, "agent:", 6) == 0;
    if (!ops->valid_dest(o->destination, *agent))
        return PLT_EINVAL;
    *role = o->role ? o->role : *agent ? PLT_LEG_AGENT : PLT_LEG_CUSTOMER;
    if (*role != PLT_LEG_CUSTOMER && *role != PLT_LEG_AGENT)
        return PLT_EINVAL;
    if (o->nvars && !o->vars)
        return PLT_EINVAL;
    for (size_t i = 0; i < o->nvars; i++)
        if (!valid_var_key(o->vars[i].key))
            return PLT_EINVAL;
    if (o->call && (o->call->reg != r || o->call->nlive == 0))
        return PLT_ESTATE;
    return 0;
}

int
legs_originate(legs_reg *r, const legs_ops *ops, void *owner, bool running,
               uint32_t ring_timeout_ms, const plt_originate *o, plt_leg **out)
{
    bool agent;
    int32_t role;
    int rc = check_originate(r, ops, o, out, running, &agent, &role);
    if (rc != 0)
        return rc;
    /* Agent phones are registered endpoints: no trunk, no channel. */
    void *trunk = NULL;
    if (!agent && (rc = ops->pick_trunk(owner, o, &trunk)) != 0)
        return rc;
    plt_leg *l;
    rc = legs_new(r, ops, owner, agent ? ops->kind_agent : ops->kind_trunk,
                  false, o->call, &l);
    if (rc != 0)
        return rc;
    legs_leg *h = H(l);
    h->role = role;
    h->flags = o->flags;
    h->ring_timeout_ms =
        o->ring_timeout_ms ? o->ring_timeout_ms : ring_timeout_ms;
    h->remote = strdup(o->destination);
    h->from = strdup(ops->caller_id(o));
    if (!h->remote || !h->from)
        rc = PLT_ENOMEM;
    if (rc == 0)
        rc = legs_set_vars(l, o->vars, o->nvars);
    /* The party is dialled before anyone is told: a failure leaves no
     * event, and the caller gets the error. */
    if (rc == 0)
        rc = ops->dial(l, o, trunk);
    if (rc != 0) {
        legs_abandon_new(l);
        return rc;
    }
    legs_publish_created(l);
    *out = legs_ref(l);
    if (ops->dialled)
        ops->dialled(l, o);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Transfers */

/* The partner of a leg for a transfer: the leg it is bridged to, or the
 * one it was bridged to when it was put on hold. */
static plt_leg *
partner_of(plt_leg *l)
{
    return H(l)->bridged ? H(l)->bridged : H(l)->held ? H(l)->held_with : NULL;
}

int
legs_transfer_blind(plt_leg *l, const char *destination)
{
    legs_leg *h = H(l);
    const legs_ops *ops = ops_of(l);
    if (!destination)
        return PLT_EINVAL;
    if (h->state != PLT_LEG_UP || !partner_of(l))
        return PLT_ESTATE;
    if (!ops->originate)
        return PLT_ENOTSUP;
    /* The new leg carries the transferor's variables (without "var_"). */
    plt_kv *kv = NULL;
    if (h->nvars) {
        kv = calloc(h->nvars, sizeof(*kv));
        if (!kv)
            return PLT_ENOMEM;
        for (size_t i = 0; i < h->nvars; i++) {
            kv[i].key = h->var_keys[i] + 4;
            kv[i].value = h->var_vals[i];
        }
    }
    /* The new leg joins the partner's call (the customer's interaction),
     * not the transferor's: an agent's kept-up leg has a call of its own. */
    plt_originate o = {.size = sizeof(o),
                       .destination = destination,
                       .trunk = trunk_name(l),
                       .call = H(partner_of(l))->call,
                       .vars = kv,
                       .nvars = h->nvars};
    plt_leg *n;
    int rc = ops->originate(l, &o, &n);
    free(kv);
    if (rc != 0)
        return rc;
    /* A new leg may end at once (its trunk is down): nothing to do. */
    if (H(n)->state != PLT_LEG_ENDED)
        H(n)->xfer_from = legs_ref(l);
    legs_unref(n); /* the registry keeps it while it lives */
    return 0;
}

void
legs_transfer_answered(plt_leg *n)
{
    plt_leg *l = H(n)->xfer_from;
    H(n)->xfer_from = NULL;
    if (H(l)->state == PLT_LEG_UP) {
        plt_leg *p = partner_of(l);
        /* The transferring leg is unbridged, not ended: an agent's kept-up
         * leg survives a transfer (the controller hangs it up if it wants). */
        if (p && H(p)->state == PLT_LEG_UP)
            (void)legs_bridge(p, n);
        else
            (void)legs_unbridge(l);
    }
    legs_unref(l);
}

static void
end_transferred(plt_leg *p)
{
    if (H(p)->state == PLT_LEG_ENDED)
        return;
    signal_end(p, 0);
    legs_end(p, PLT_OUTCOME_ANSWERED, 200, "transferred", PLT_BY_SYSTEM);
}

int
legs_transfer_attended(plt_leg *a, plt_leg *c)
{
    if (a == c)
        return PLT_EINVAL;
    if (H(a)->state != PLT_LEG_UP || H(c)->state != PLT_LEG_UP)
        return PLT_ESTATE;
    plt_leg *pa = partner_of(a), *pc = partner_of(c);
    if (pa)
        legs_ref(pa);
    if (pc)
        legs_ref(pc);
    int rc = legs_bridge(a, c);
    if (rc == 0) {
        /* The consulting legs between the two parties are done. */
        if (pa && pa != c)
            end_transferred(pa);
        if (pc && pc != a)
            end_transferred(pc);
    }
    if (pa)
        legs_unref(pa);
    if (pc)
        legs_unref(pc);
    return rc;
}
