/* SPDX-License-Identifier: MIT */
/*
 * Legs and calls on the loop thread: the registry, the events of the
 * telephony contract, and what the controller and the SIP thread do to a
 * leg (originate, answer, hang up, bridge, hold, transfer; progress,
 * answer, failure and BYE from the network).
 *
 * A leg is a refcounted handle with a stable id ("L7"); the registry holds
 * one implicit reference while it is not ended, consumers hold the others.
 * A call ("C3") lives as long as a leg struct points to it. Ending a leg
 * never ends the leg it is bridged to (the contract's central rule: an
 * agent's kept-up leg survives its customers).
 *
 * A leg ends at once on the loop when Plateau decides it (hangup, ring or
 * claim timeout, RTP timeout, no common codec): call.ended is published and
 * the SIP thread is told to CANCEL, reject or BYE. When the network ends it
 * (a final response, BYE, CANCEL), the SIP thread's message ends it here.
 * Either way one call.ended, with the outcome and hangup_by rules of the
 * contract (same as the sim provider's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip_int.h"

/* ------------------------------------------------------------------ */
/* Events */

plt_event *
sip_ev_new(plt_leg *l, const char *topic)
{
    plt_event *ev;
    int rc = plt_event_new(&ev, topic, 1);
    if (rc != 0) {
        plt_log_err(PLT_LOG_ERROR, rc, "leg %s: cannot create %s", l->id,
                    topic);
        return NULL;
    }
    plt_event_set_str(ev, "leg_id", l->id);
    plt_event_set_str(ev, "call_id", l->call->id);
    plt_event_set_str(ev, "role",
                      l->role == PLT_LEG_AGENT ? "agent" : "customer");
    plt_event_set_str(ev, "direction", l->inbound ? "inbound" : "outbound");
    for (size_t i = 0; i < l->nvars; i++)
        plt_event_set_str(ev, l->var_keys[i], l->var_vals[i]);
    return ev;
}

void
sip_ev_publish(plt_event *ev)
{
    if (!ev)
        return;
    int rc = plt_event_publish(ev);
    if (rc != 0 && rc != PLT_ESHUTDOWN)
        plt_log_err(PLT_LOG_WARN, rc, "cannot publish an event");
}

static void
publish_simple(plt_leg *l, const char *topic)
{
    sip_ev_publish(sip_ev_new(l, topic));
}

static void
publish_pair(plt_leg *l, plt_leg *other, const char *topic)
{
    plt_event *ev = sip_ev_new(l, topic);
    if (ev) {
        plt_event_set_str(ev, "other_leg_id", other->id);
        sip_ev_publish(ev);
    }
}

/* ------------------------------------------------------------------ */
/* Registry */

static size_t
bucket_of(const sip *s, uint64_t seq)
{
    return (size_t)(seq & (s->nbuckets - 1));
}

static void
registry_grow(sip *s)
{
    if (s->nlegs < 2 * s->nbuckets)
        return;
    size_t n = s->nbuckets * 2;
    plt_leg **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < s->nbuckets; i++)
        for (plt_leg *l = s->buckets[i], *next; l; l = next) {
            next = l->hnext;
            size_t b = (size_t)(l->seq & (n - 1));
            l->hnext = nb[b];
            nb[b] = l;
        }
    free(s->buckets);
    s->buckets = nb;
    s->nbuckets = n;
}

plt_leg *
sip_leg_lookup(sip *s, const char *id)
{
    if (!id || id[0] != 'L' || id[1] < '1' || id[1] > '9')
        return NULL;
    char *end;
    unsigned long long seq = strtoull(id + 1, &end, 10);
    if (*end != '\0')
        return NULL;
    for (plt_leg *l = s->buckets[bucket_of(s, seq)]; l; l = l->hnext)
        if (l->seq == seq)
            return l;
    return NULL;
}

static plt_leg *
leg_by_sid(sip *s, uint64_t sid)
{
    for (plt_leg *l = s->live_head; l; l = l->live_next)
        if (l->sid == sid)
            return l;
    return NULL;
}

static void
live_remove(sip *s, plt_leg *l)
{
    if (l->live_prev)
        l->live_prev->live_next = l->live_next;
    else
        s->live_head = l->live_next;
    if (l->live_next)
        l->live_next->live_prev = l->live_prev;
    l->live_prev = l->live_next = NULL;
    s->nlive--;
}

static void
leg_free(plt_leg *l)
{
    sip *s = l->s;
    for (plt_leg **pp = &s->buckets[bucket_of(s, l->seq)]; *pp;
         pp = &(*pp)->hnext)
        if (*pp == l) {
            *pp = l->hnext;
            break;
        }
    s->nlegs--;
    plt_call *c = l->call;
    for (plt_leg **pp = &c->legs; *pp; pp = &(*pp)->call_next)
        if (*pp == l) {
            *pp = l->call_next;
            break;
        }
    if (--c->nlegs == 0)
        free(c);
    for (size_t i = 0; i < l->nvars; i++) {
        free(l->var_keys[i]);
        free(l->var_vals[i]);
    }
    free(l->var_keys);
    free(l->var_vals);
    free(l->remote);
    free(l->from);
    free(l->did);
    free(l->offer);
    l->magic = 0;
    free(l);
}

int
sip_leg_new(sip *s, sip_kind kind, plt_call *join, plt_leg **out)
{
    plt_leg *l = calloc(1, sizeof(*l));
    if (!l)
        return PLT_ENOMEM;
    plt_call *c = join;
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c) {
            free(l);
            return PLT_ENOMEM;
        }
        c->s = s;
        c->seq = ++s->next_call;
        snprintf(c->id, sizeof(c->id), "C%llu", (unsigned long long)c->seq);
    }
    l->magic = SIP_LEG_MAGIC;
    l->s = s;
    l->seq = ++s->next_leg;
    l->sid = l->seq;
    snprintf(l->id, sizeof(l->id), "L%llu", (unsigned long long)l->seq);
    l->kind = kind;
    l->inbound = kind == SIP_K_INBOUND;
    l->state = l->inbound ? PLT_LEG_RINGING : PLT_LEG_DIALING;
    l->live = true;
    l->created_at = plt_now();
    l->call = c;
    plt_leg **pp = &c->legs;
    while (*pp)
        pp = &(*pp)->call_next;
    *pp = l;
    c->nlegs++;
    c->nlive++;
    size_t b = bucket_of(s, l->seq);
    l->hnext = s->buckets[b];
    s->buckets[b] = l;
    s->nlegs++;
    registry_grow(s);
    l->live_next = s->live_head;
    if (s->live_head)
        s->live_head->live_prev = l;
    s->live_head = l;
    s->nlive++;
    *out = l;
    return 0;
}

static int
set_vars(plt_leg *l, const plt_kv *vars, size_t n)
{
    if (n == 0)
        return 0;
    l->var_keys = calloc(n, sizeof(char *));
    l->var_vals = calloc(n, sizeof(char *));
    if (!l->var_keys || !l->var_vals)
        return PLT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(vars[i].key);
        l->var_keys[i] = malloc(kl + 5);
        l->var_vals[i] = strdup(vars[i].value ? vars[i].value : "");
        l->nvars = i + 1;
        if (!l->var_keys[i] || !l->var_vals[i])
            return PLT_ENOMEM;
        memcpy(l->var_keys[i], "var_", 4);
        memcpy(l->var_keys[i] + 4, vars[i].key, kl + 1);
    }
    return 0;
}

plt_leg *
sip_leg_ref(plt_leg *l)
{
    l->refs++;
    return l;
}

void
sip_leg_unref(plt_leg *l)
{
    if (--l->refs == 0 && !l->live)
        leg_free(l);
}

/* ------------------------------------------------------------------ */
/* Talking to the SIP thread */

static void
send_sid(plt_leg *l, int type, int code)
{
    if (l->sip_gone)
        return;
    sip_msg *m = sip_msg_new(type, l->sid);
    if (!m)
        return;
    m->code = code;
    (void)sip_stack_send(l->s->stack, m);
}

/* ------------------------------------------------------------------ */
/* Timers */

static void
stop_timer(plt_timer **t)
{
    if (*t) {
        plt_timer_stop(*t);
        *t = NULL;
    }
}

static void
on_ring_timeout(void *arg)
{
    plt_leg *l = arg;
    l->t_ring = NULL;
    send_sid(l, SIP_CMD_HANGUP, 0); /* CANCEL */
    sip_leg_end(l, PLT_OUTCOME_NO_ANSWER, 487, "ring timeout", PLT_BY_SYSTEM);
}

static void
on_claim_timeout(void *arg)
{
    plt_leg *l = arg;
    l->t_claim = NULL;
    send_sid(l, SIP_CMD_RESPOND, 480);
    plt_log(PLT_LOG_INFO, "leg %s: inbound call to %s not claimed, 480",
            l->id, l->did ? l->did : "?");
    sip_leg_end(l, PLT_OUTCOME_NO_ANSWER, 480, "not claimed", PLT_BY_SYSTEM);
}

/* ------------------------------------------------------------------ */
/* Bridges */

static void
break_bridge(plt_leg *l)
{
    plt_leg *p = l->bridged;
    if (!p)
        return;
    sip_mleg_unbridge(l);
    l->bridged = p->bridged = NULL;
    publish_pair(l, p, "call.unbridged");
    publish_pair(p, l, "call.unbridged");
}

static void
unhold_quiet(plt_leg *l)
{
    if (!l->held)
        return;
    l->held = false;
    sip_play_stop_all(l);
    if (l->held_with) {
        sip_leg_unref(l->held_with);
        l->held_with = NULL;
    }
    publish_simple(l, "call.resumed");
}

static int
link_bridge(plt_leg *a, plt_leg *b)
{
    int rc = sip_mleg_bridge(a, b);
    if (rc != 0)
        return rc;
    a->bridged = b;
    b->bridged = a;
    stop_timer(&a->t_claim);
    stop_timer(&b->t_claim);
    publish_pair(a, b, "call.bridged");
    publish_pair(b, a, "call.bridged");
    return 0;
}

int
sip_cmd_bridge(plt_leg *a, plt_leg *b)
{
    if (a == b)
        return PLT_EINVAL;
    if (a->state != PLT_LEG_UP || b->state != PLT_LEG_UP)
        return PLT_ESTATE;
    if (a->bridged == b)
        return 0;
    unhold_quiet(a);
    unhold_quiet(b);
    break_bridge(a);
    break_bridge(b);
    return link_bridge(a, b);
}

int
sip_cmd_unbridge(plt_leg *l)
{
    if (l->state == PLT_LEG_ENDED || !l->bridged)
        return PLT_ESTATE;
    break_bridge(l);
    return 0;
}

int
sip_cmd_hold(plt_leg *l, const char *music)
{
    if (l->state != PLT_LEG_UP || l->held)
        return PLT_ESTATE;
    plt_leg *p = l->bridged;
    l->held_with = p ? sip_leg_ref(p) : NULL;
    break_bridge(l);
    l->held = true;
    plt_event *ev = sip_ev_new(l, "call.held");
    if (ev && music)
        plt_event_set_str(ev, "music", music);
    sip_ev_publish(ev);
    if (music)
        (void)sip_play_start(l, music, PLT_PLAY_LOOP, NULL);
    return 0;
}

int
sip_cmd_resume(plt_leg *l)
{
    if (l->state != PLT_LEG_UP || !l->held)
        return PLT_ESTATE;
    plt_leg *p = l->held_with;
    l->held_with = NULL;
    l->held = false;
    sip_play_stop_all(l);
    publish_simple(l, "call.resumed");
    if (p && p->state == PLT_LEG_UP && !p->bridged && !p->held)
        (void)link_bridge(l, p);
    if (p)
        sip_leg_unref(p);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Answer and end */

static void transfer_answered(plt_leg *n);

static void
leg_answered(plt_leg *l)
{
    stop_timer(&l->t_ring);
    stop_timer(&l->t_claim);
    l->state = PLT_LEG_UP;
    l->answered_at = plt_now();
    plt_event *ev = sip_ev_new(l, "call.answered");
    if (ev) {
        plt_event_set_i64(ev, "ring_ms", l->answered_at - l->created_at);
        sip_ev_publish(ev);
    }
    if (l->flags & PLT_ORIG_AMD)
        (void)sip_amd_start(l, NULL);
    if (l->xfer_from)
        transfer_answered(l);
}

static bool take_sdp(plt_leg *l, const char *sdp);

/* A re-INVITE's offer from the party: point the media at it, tell the
 * contract when the party puts the call on hold (a=sendonly or inactive:
 * call.party_held) or takes it off (call.party_resumed), and answer with
 * the mirrored direction. An offer we cannot use keeps the media as it
 * was and is refused with 488. */
static void
on_reinvite(plt_leg *l, sip_msg *m)
{
    sip_msg *r = sip_msg_new(SIP_CMD_REANSWER, l->sid);
    if (!r)
        return;
    sip_sdp_info before = l->remote_sdp;
    char sdp[1024];
    int n = -1;
    if (l->state == PLT_LEG_UP && take_sdp(l, m->sdp)) {
        (void)sip_mleg_connect(l);
        sip_mleg_new_version(l);
        n = sip_mleg_sdp(l, true, sdp, sizeof(sdp));
    } else {
        l->remote_sdp = before;
        l->have_remote = true;
        plt_log(PLT_LOG_WARN, "leg %s: re-INVITE without a usable SDP "
                "(no common codec or bad SDP), refused", l->id);
    }
    if (n < 0 || !sip_msg_set(&r->sdp, sdp)) {
        r->code = 488;
        (void)sip_msg_set(&r->text, "Not Acceptable Here");
    } else {
        r->code = 200;
        bool held = l->remote_sdp.dir == SIP_DIR_SENDONLY ||
                    l->remote_sdp.dir == SIP_DIR_INACTIVE;
        if (held != l->remote_held) {
            l->remote_held = held;
            plt_log(PLT_LOG_INFO, "leg %s: the party %s", l->id,
                    held ? "put the call on hold" : "resumed the call");
            publish_simple(l, held ? "call.party_held" : "call.party_resumed");
        }
    }
    (void)sip_stack_send(l->s->stack, r);
}

int
sip_cmd_answer(plt_leg *l)
{
    if (!l->inbound || l->state != PLT_LEG_RINGING)
        return PLT_ESTATE;
    char sdp[1024];
    int n = sip_mleg_sdp(l, true, sdp, sizeof(sdp));
    if (n < 0)
        return n;
    sip_msg *m = sip_msg_new(SIP_CMD_ANSWER, l->sid);
    if (!m || !sip_msg_set(&m->sdp, sdp)) {
        sip_msg_free(m);
        return PLT_ENOMEM;
    }
    int rc = sip_stack_send(l->s->stack, m);
    if (rc != 0)
        return rc;
    (void)sip_mleg_connect(l);
    leg_answered(l);
    return 0;
}

int32_t
sip_outcome_of_code(int code)
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

int
sip_cmd_hangup(plt_leg *l, int sip_code, int32_t by)
{
    if (by < PLT_BY_CUSTOMER || by > PLT_BY_SYSTEM)
        return PLT_EINVAL;
    if (l->state == PLT_LEG_ENDED)
        return PLT_ESTATE;
    if (l->state == PLT_LEG_UP) {
        send_sid(l, SIP_CMD_HANGUP, 0);
        sip_leg_end(l, PLT_OUTCOME_ANSWERED, 200, "hangup", by);
    } else if (l->inbound) {
        if (sip_code == 0)
            sip_code = 603;
        if (sip_code < 300 || sip_code > 699)
            return PLT_EINVAL;
        send_sid(l, SIP_CMD_RESPOND, sip_code);
        sip_leg_end(l, sip_outcome_of_code(sip_code), sip_code, "rejected", by);
    } else {
        send_sid(l, SIP_CMD_HANGUP, 0);
        sip_leg_end(l, PLT_OUTCOME_CANCELLED, 487, "cancelled", by);
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
sip_leg_end(plt_leg *l, int32_t outcome, int sip_code, const char *reason,
            int32_t by)
{
    if (l->state == PLT_LEG_ENDED)
        return;
    sip *s = l->s;
    sip_leg_ref(l);
    stop_timer(&l->t_ring);
    stop_timer(&l->t_claim);
    sip_play_stop_all(l);
    break_bridge(l);
    if (l->held_with) {
        sip_leg_unref(l->held_with);
        l->held_with = NULL;
    }
    l->held = false;
    if (l->xfer_from) {
        sip_leg_unref(l->xfer_from);
        l->xfer_from = NULL;
    }
    if (l->trunk) {
        sip_trunk_release(l->trunk);
        l->trunk = NULL;
    }
    l->state = PLT_LEG_ENDED;
    l->ended_at = plt_now();
    plt_event *ev = sip_ev_new(l, "call.ended");
    sip_mleg_counters(l, ev);
    sip_mleg_free(l);
    if (ev) {
        int64_t ring_end = l->answered_at ? l->answered_at : l->ended_at;
        plt_event_set_str(ev, "outcome", plt_outcome_name(outcome));
        plt_event_set_i64(ev, "sip_code", sip_code);
        plt_event_set_str(ev, "reason", reason);
        plt_event_set_str(ev, "hangup_by", by_name(by));
        plt_event_set_i64(ev, "ring_ms", ring_end - l->created_at);
        plt_event_set_i64(ev, "talk_ms",
                          l->answered_at ? l->ended_at - l->answered_at : 0);
        plt_event_set_i64(ev, "duration_ms", l->ended_at - l->created_at);
        sip_ev_publish(ev);
    }
    live_remove(s, l);
    if (--l->call->nlive == 0)
        sip_rec_call_ended(s, l->call, l);
    l->live = false;
    sip_leg_unref(l);
}

void
sip_leg_end_all(sip *s, const char *reason)
{
    while (s->live_head) {
        plt_leg *l = s->live_head;
        int32_t outcome = l->state == PLT_LEG_UP ? PLT_OUTCOME_ANSWERED
                          : l->inbound           ? PLT_OUTCOME_NO_ANSWER
                                                 : PLT_OUTCOME_CANCELLED;
        int code = l->state == PLT_LEG_UP ? 200 : l->inbound ? 480 : 487;
        if (l->state != PLT_LEG_UP && l->inbound)
            send_sid(l, SIP_CMD_RESPOND, 480);
        else
            send_sid(l, SIP_CMD_HANGUP, 0);
        sip_leg_end(l, outcome, code, reason, PLT_BY_SYSTEM);
    }
}

void
sip_legs_free_all(sip *s)
{
    if (!s->buckets)
        return;
    for (size_t i = 0; i < s->nbuckets; i++)
        while (s->buckets[i]) {
            plt_leg *l = s->buckets[i];
            stop_timer(&l->t_ring);
            stop_timer(&l->t_claim);
            for (sip_play *p = l->plays, *n; p; p = n) {
                n = p->next;
                free(p->file);
                free(p);
            }
            l->plays = NULL;
            l->held_with = NULL;
            l->xfer_from = NULL;
            leg_free(l);
        }
    s->live_head = NULL;
    s->nlive = 0;
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

/* A number ("+33612345678", "0612345678") or a SIP URI without characters
 * that would let it escape its header. */
static bool
valid_destination(const char *d)
{
    if (strncmp(d, "sip:", 4) == 0) {
        if (!d[4])
            return false;
        for (const char *p = d; *p; p++)
            if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' ||
                *p == '"' || *p == 0x7f)
                return false;
        return strlen(d) < 256;
    }
    const char *p = d + (*d == '+');
    size_t n = 0;
    for (; *p; p++, n++)
        if (*p < '0' || *p > '9')
            return false;
    return n >= 2 && n <= 20;
}

static bool
valid_ext(const char *e)
{
    if (!*e || strlen(e) > 64)
        return false;
    for (; *e; e++)
        if (!((*e >= '0' && *e <= '9') || (*e >= 'a' && *e <= 'z') ||
              (*e >= 'A' && *e <= 'Z') || *e == '_' || *e == '-' ||
              *e == '.'))
            return false;
    return true;
}

static bool
valid_cid(const char *c)
{
    if (!c || !*c || strlen(c) > 32)
        return false;
    for (const char *p = c + (*c == '+'); *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* Build the INVITE: Request-URI, From (caller-ID rules), To. */
static int
fill_invite(sip *s, plt_leg *l, const plt_originate *o, sip_trunk *t,
            sip_msg *m)
{
    char uri[320], from[320], to[320], hdrs[320] = "";
    const char *dest = o->destination;
    const char *name = o->caller_name;
    if (name && (strchr(name, '"') || strchr(name, '\\') ||
                 strpbrk(name, "\r\n") || strlen(name) > 64))
        return PLT_EINVAL;
    if (!t) {
        const char *ext = dest + 6;
        m->flags |= SIP_MF_AGENT;
        snprintf(to, sizeof(to), "<sip:%s@%s>", ext, s->conf.realm);
        snprintf(from, sizeof(from), "\"%s\" <sip:plateau@%s>",
                 name ? name : "Plateau", s->conf.realm);
        uri[0] = '\0';
        if (!sip_msg_set(&m->to, ext) || !sip_msg_set(&m->from, from))
            return PLT_ENOMEM;
        /* The registrar's contact replaces uri on the SIP thread; To is
         * rebuilt there from the extension. */
        (void)to;
        return 0;
    }
    bool sipuri = strncmp(dest, "sip:", 4) == 0;
    const char *tp = t->tcp ? ";transport=tcp" : "";
    if (sipuri)
        snprintf(uri, sizeof(uri), "%s", dest);
    else
        snprintf(uri, sizeof(uri), "sip:%s@%s:%d%s", dest, t->addr, t->port,
                 tp);
    if (sipuri)
        snprintf(to, sizeof(to), "<%s>", dest);
    else
        snprintf(to, sizeof(to), "<sip:%s@%s>", dest, t->domain);
    const char *cid = t->cid_mode == SIP_CID_FIXED ? t->caller_id
                      : o->caller_id               ? o->caller_id
                                                   : t->caller_id;
    if (o->caller_id && !valid_cid(o->caller_id))
        return PLT_EINVAL;
    bool hide = t->cid_mode == SIP_CID_HIDDEN ||
                (o->flags & PLT_ORIG_HIDE_CALLER_ID);
    if (hide) {
        snprintf(from, sizeof(from),
                 "\"Anonymous\" <sip:anonymous@anonymous.invalid>");
        if (cid)
            snprintf(hdrs, sizeof(hdrs), "P-Asserted-Identity: <sip:%s@%s>",
                     cid, t->domain);
        m->flags |= SIP_MF_HIDE_ID;
    } else {
        const char *user = cid ? cid : (t->username ? t->username : "plateau");
        if (name)
            snprintf(from, sizeof(from), "\"%s\" <sip:%s@%s>", name, user,
                     t->domain);
        else
            snprintf(from, sizeof(from), "<sip:%s@%s>", user, t->domain);
        if (cid && t->cid_mode != SIP_CID_FIXED && t->caller_id &&
            strcmp(cid, t->caller_id) != 0)
            snprintf(hdrs, sizeof(hdrs), "P-Asserted-Identity: <sip:%s@%s>",
                     t->caller_id, t->domain);
    }
    free(l->from);
    l->from = strdup(hide ? "anonymous" : (cid ? cid : ""));
    if (!l->from || !sip_msg_set(&m->uri, uri) || !sip_msg_set(&m->to, to) ||
        !sip_msg_set(&m->from, from) ||
        !sip_msg_set(&m->hdrs, hdrs[0] ? hdrs : NULL))
        return PLT_ENOMEM;
    m->trunk = (int)t->index;
    return 0;
}

static void
abandon_new_leg(plt_leg *l)
{
    sip *s = l->s;
    sip_mleg_free(l);
    if (l->trunk) {
        sip_trunk_release(l->trunk);
        l->trunk = NULL;
    }
    l->state = PLT_LEG_ENDED;
    live_remove(s, l);
    l->call->nlive--;
    l->live = false;
    leg_free(l);
}

int
sip_originate(sip *s, const plt_originate *o, plt_leg **out)
{
    if (!o || !out || o->size < sizeof(plt_originate))
        return PLT_EINVAL;
    if (s->stopping || !s->started)
        return PLT_ESHUTDOWN;
    if (!o->destination || !*o->destination)
        return PLT_EINVAL;
    bool agent = strncmp(o->destination, "agent:", 6) == 0;
    if (agent ? !valid_ext(o->destination + 6)
              : !valid_destination(o->destination))
        return PLT_EINVAL;
    int32_t role = o->role ? o->role : agent ? PLT_LEG_AGENT : PLT_LEG_CUSTOMER;
    if (role != PLT_LEG_CUSTOMER && role != PLT_LEG_AGENT)
        return PLT_EINVAL;
    if (o->nvars && !o->vars)
        return PLT_EINVAL;
    for (size_t i = 0; i < o->nvars; i++)
        if (!valid_var_key(o->vars[i].key))
            return PLT_EINVAL;
    if (o->call && (o->call->s != s || o->call->nlive == 0))
        return PLT_ESTATE;
    sip_trunk *t = NULL;
    if (!agent) {
        if (s->ntrunks == 0)
            return PLT_ENOENT;
        t = o->trunk ? sip_trunk_find(s, o->trunk) : &s->trunks[0];
        if (!t)
            return PLT_ENOENT;
        int rc = sip_trunk_admit(t);
        if (rc != 0)
            return rc;
    }
    plt_leg *l;
    int rc = sip_leg_new(s, agent ? SIP_K_AGENT : SIP_K_TRUNK, o->call, &l);
    if (rc != 0)
        return rc;
    l->role = role;
    l->flags = o->flags;
    l->ring_timeout_ms = o->ring_timeout_ms
                             ? o->ring_timeout_ms
                             : (uint32_t)s->conf.ring_timeout_ms;
    l->remote = strdup(o->destination);
    l->from = strdup("");
    if (!l->remote || !l->from)
        rc = PLT_ENOMEM;
    if (rc == 0)
        rc = set_vars(l, o->vars, o->nvars);
    bool trunk_down = t && (!t->up || !t->addr[0]);
    sip_msg *m = NULL;
    char sdp[1024];
    if (rc == 0 && !trunk_down) {
        m = sip_msg_new(SIP_CMD_INVITE, l->sid);
        rc = m ? fill_invite(s, l, o, t, m) : PLT_ENOMEM;
        if (rc == 0)
            rc = sip_mleg_new(l);
        if (rc == 0) {
            int n = sip_mleg_sdp(l, false, sdp, sizeof(sdp));
            rc = n < 0 ? n : sip_msg_set(&m->sdp, sdp) ? 0 : PLT_ENOMEM;
        }
    }
    if (rc == 0 && t) {
        sip_trunk_take(t, true);
        l->trunk = t;
    }
    if (rc == 0 && !trunk_down &&
        plt_timer_start(&l->t_ring, l->ring_timeout_ms, 0, on_ring_timeout,
                        l) != 0) {
        l->t_ring = NULL;
        rc = PLT_ENOMEM;
    }
    if (rc == 0 && m) {
        rc = sip_stack_send(s->stack, m);
        m = NULL;
    }
    if (rc != 0) {
        sip_msg_free(m);
        stop_timer(&l->t_ring);
        abandon_new_leg(l);
        return rc;
    }
    plt_event *ev = sip_ev_new(l, "call.created");
    if (ev) {
        plt_event_set_str(ev, "destination", l->remote);
        plt_event_set_str(ev, "from", l->from);
        if (t)
            plt_event_set_str(ev, "trunk", t->name);
        sip_ev_publish(ev);
    }
    *out = sip_leg_ref(l);
    if (trunk_down) {
        /* Nothing is sent to a trunk that is down: the attempt ends as
         * congestion, as a carrier's 503 would. */
        plt_log(PLT_LOG_WARN, "leg %s: trunk %s is down (%s), not dialling %s",
                l->id, t->name, t->down_reason ? t->down_reason : "unknown",
                l->remote);
        l->sip_gone = true;
        sip_leg_end(l, PLT_OUTCOME_CONGESTION, 503, "trunk down",
                    PLT_BY_SYSTEM);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Transfers */

static plt_leg *
partner_of(plt_leg *l)
{
    return l->bridged ? l->bridged : l->held ? l->held_with : NULL;
}

int
sip_cmd_transfer_blind(plt_leg *l, const char *destination)
{
    if (!destination)
        return PLT_EINVAL;
    if (l->state != PLT_LEG_UP || !partner_of(l))
        return PLT_ESTATE;
    plt_kv *kv = NULL;
    if (l->nvars) {
        kv = calloc(l->nvars, sizeof(*kv));
        if (!kv)
            return PLT_ENOMEM;
        for (size_t i = 0; i < l->nvars; i++) {
            kv[i].key = l->var_keys[i] + 4;
            kv[i].value = l->var_vals[i];
        }
    }
    plt_originate o = {.size = sizeof(o),
                       .destination = destination,
                       .trunk = l->trunk ? l->trunk->name : NULL,
                       .call = l->call,
                       .vars = kv,
                       .nvars = l->nvars};
    plt_leg *n;
    int rc = sip_originate(l->s, &o, &n);
    free(kv);
    if (rc != 0)
        return rc;
    if (n->state != PLT_LEG_ENDED)
        n->xfer_from = sip_leg_ref(l);
    sip_leg_unref(n);
    return 0;
}

static void
transfer_answered(plt_leg *n)
{
    plt_leg *l = n->xfer_from;
    n->xfer_from = NULL;
    if (l->state == PLT_LEG_UP) {
        plt_leg *p = partner_of(l);
        if (p && p->state == PLT_LEG_UP)
            (void)sip_cmd_bridge(p, n);
        else
            (void)sip_cmd_unbridge(l);
    }
    sip_leg_unref(l);
}

int
sip_cmd_transfer_attended(plt_leg *a, plt_leg *c)
{
    if (a == c)
        return PLT_EINVAL;
    if (a->state != PLT_LEG_UP || c->state != PLT_LEG_UP)
        return PLT_ESTATE;
    plt_leg *pa = partner_of(a), *pc = partner_of(c);
    if (pa)
        sip_leg_ref(pa);
    if (pc)
        sip_leg_ref(pc);
    int rc = sip_cmd_bridge(a, c);
    if (rc == 0) {
        if (pa && pa != c && pa->state != PLT_LEG_ENDED) {
            send_sid(pa, SIP_CMD_HANGUP, 0);
            sip_leg_end(pa, PLT_OUTCOME_ANSWERED, 200, "transferred",
                        PLT_BY_SYSTEM);
        }
        if (pc && pc != a && pc->state != PLT_LEG_ENDED) {
            send_sid(pc, SIP_CMD_HANGUP, 0);
            sip_leg_end(pc, PLT_OUTCOME_ANSWERED, 200, "transferred",
                        PLT_BY_SYSTEM);
        }
    }
    if (pa)
        sip_leg_unref(pa);
    if (pc)
        sip_leg_unref(pc);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Messages from the SIP thread */

static int32_t
by_party(const plt_leg *l)
{
    return l->role == PLT_LEG_AGENT ? PLT_BY_AGENT : PLT_BY_CUSTOMER;
}

static bool
take_sdp(plt_leg *l, const char *sdp)
{
    if (!sdp)
        return false;
    int rc = sip_sdp_parse(sdp, strlen(sdp), &l->remote_sdp);
    l->have_remote = rc == 0;
    return rc == 0;
}

static void
on_progress(plt_leg *l, sip_msg *m)
{
    if (l->state != PLT_LEG_DIALING && l->state != PLT_LEG_RINGING)
        return;
    l->state = PLT_LEG_RINGING;
    bool early = m->code == 183 && m->sdp && take_sdp(l, m->sdp);
    if (early) {
        (void)sip_mleg_connect(l);
        if (!(l->flags & PLT_ORIG_EARLY_MEDIA) || l->early_sent)
            return;
        l->early_sent = true;
    } else {
        if (l->progress_sent)
            return;
        l->progress_sent = true;
    }
    plt_event *ev = sip_ev_new(l, "call.progress");
    if (ev) {
        plt_event_set_str(ev, "progress", early ? "early_media" : "ringing");
        plt_event_set_i64(ev, "sip_code", m->code);
        sip_ev_publish(ev);
    }
}

static void
on_answered(plt_leg *l, sip_msg *m)
{
    if (l->state == PLT_LEG_UP || l->state == PLT_LEG_ENDED)
        return;
    if (!take_sdp(l, m->sdp)) {
        plt_log(PLT_LOG_WARN,
                "leg %s: %s answered without a usable SDP (no common codec "
                "or bad SDP), hanging up",
                l->id, l->remote);
        send_sid(l, SIP_CMD_HANGUP, 0);
        l->sip_gone = true;
        sip_leg_end(l, PLT_OUTCOME_FAILED, 488, "no common codec",
                    PLT_BY_SYSTEM);
        return;
    }
    (void)sip_mleg_connect(l);
    leg_answered(l);
}

static void
on_failed(plt_leg *l, sip_msg *m)
{
    l->sip_gone = true;
    int32_t outcome = sip_outcome_of_code(m->code);
    int32_t by = (outcome == PLT_OUTCOME_BUSY ||
                  outcome == PLT_OUTCOME_REJECTED)
                     ? by_party(l)
                     : PLT_BY_SYSTEM;
    if (l->state == PLT_LEG_UP) {
        sip_leg_end(l, PLT_OUTCOME_ANSWERED, 200,
                    m->text ? m->text : "call terminated", by_party(l));
        return;
    }
    if (outcome == PLT_OUTCOME_FAILED || outcome == PLT_OUTCOME_CONGESTION)
        plt_log(PLT_LOG_INFO, "leg %s: %s: %d %s", l->id, l->remote, m->code,
                m->text ? m->text : "");
    sip_leg_end(l, outcome, m->code, m->text ? m->text : "failed", by);
}

static void
on_incoming(sip *s, sip_msg *m)
{
    sip_trunk *t = m->trunk >= 0 ? &s->trunks[m->trunk] : NULL;
    if (s->stopping || (t && sip_trunk_admit(t) == PLT_EAGAIN &&
                        t->in_use >= t->max_channels)) {
        sip_msg *r = sip_msg_new(SIP_CMD_RESPOND, m->sid);
        if (r) {
            r->code = 503;
            (void)sip_stack_send(s->stack, r);
        }
        return;
    }
    plt_leg *l;
    if (sip_leg_new(s, SIP_K_INBOUND, NULL, &l) != 0) {
        sip_msg *r = sip_msg_new(SIP_CMD_RESPOND, m->sid);
        if (r) {
            r->code = 500;
            (void)sip_stack_send(s->stack, r);
        }
        return;
    }
    l->sid = m->sid;
    l->role = PLT_LEG_CUSTOMER;
    l->remote = strdup(m->from ? m->from : "anonymous");
    l->from = strdup(m->from ? m->from : "anonymous");
    l->did = strdup(m->to ? m->to : "");
    if (t) {
        sip_trunk_take(t, false);
        l->trunk = t;
    }
    bool usable = m->sdp && take_sdp(l, m->sdp);
    int rc = (!l->remote || !l->from || !l->did) ? PLT_ENOMEM : 0;
    if (rc == 0 && usable)
        rc = sip_mleg_new(l);
    plt_event *ev = sip_ev_new(l, "call.created");
    if (ev) {
        plt_event_set_str(ev, "did", l->did ? l->did : "");
        plt_event_set_str(ev, "from", l->from ? l->from : "");
        if (m->text)
            plt_event_set_str(ev, "from_name", m->text);
        if (t)
            plt_event_set_str(ev, "trunk", t->name);
        sip_ev_publish(ev);
    }
    if (!usable || rc != 0) {
        int code = usable ? 500 : 488;
        plt_log(PLT_LOG_WARN, "leg %s: inbound call to %s from %s: %s, %d",
                l->id, l->did ? l->did : "?", l->from ? l->from : "?",
                usable ? "no media port" : "no common codec or bad SDP", code);
        send_sid(l, SIP_CMD_RESPOND, code);
        sip_leg_end(l, PLT_OUTCOME_FAILED, code,
                    usable ? "no media port" : "no common codec",
                    PLT_BY_SYSTEM);
        return;
    }
    if (plt_timer_start(&l->t_claim, (uint64_t)s->conf.claim_timeout_ms, 0,
                        on_claim_timeout, l) != 0) {
        l->t_claim = NULL;
        send_sid(l, SIP_CMD_RESPOND, 500);
        sip_leg_end(l, PLT_OUTCOME_FAILED, 500, "out of resources",
                    PLT_BY_SYSTEM);
    }
}

static void
on_agent_reg(sip *s, sip_msg *m)
{
    (void)s;
    plt_event *ev;
    bool up = m->uri != NULL;
    plt_log(PLT_LOG_INFO, "phone %s %s%s", m->to,
            up ? "registered at " : "unregistered", up ? m->uri : "");
    if (plt_event_new(&ev, up ? "phone.registered" : "phone.unregistered",
                      1) == 0) {
        plt_event_set_str(ev, "extension", m->to);
        if (up) {
            plt_event_set_str(ev, "contact", m->uri);
            plt_event_set_i64(ev, "expires", m->code);
        }
        sip_ev_publish(ev);
    }
}

void
sip_on_stack_msg(void *arg)
{
    sip_msg *m = arg;
    sip *s = m->s;
    plt_leg *l = NULL;
    switch (m->type) {
    case SIP_EV_PROGRESS:
    case SIP_EV_ANSWERED:
    case SIP_EV_FAILED:
    case SIP_EV_BYE:
    case SIP_EV_CANCELLED:
        l = leg_by_sid(s, m->sid);
        if (!l)
            break; /* ended on our side already */
        if (m->type == SIP_EV_PROGRESS)
            on_progress(l, m);
        else if (m->type == SIP_EV_ANSWERED)
            on_answered(l, m);
        else if (m->type == SIP_EV_FAILED)
            on_failed(l, m);
        else if (m->type == SIP_EV_BYE) {
            l->sip_gone = true;
            if (l->state == PLT_LEG_UP)
                sip_leg_end(l, PLT_OUTCOME_ANSWERED, 200, "remote hangup",
                            by_party(l));
            else
                sip_leg_end(l, PLT_OUTCOME_FAILED, m->code, "remote hangup",
                            PLT_BY_SYSTEM);
        } else {
            l->sip_gone = true;
            sip_leg_end(l, PLT_OUTCOME_ABANDONED, 487, "caller abandoned",
                        PLT_BY_CUSTOMER);
        }
        break;
    case SIP_EV_REINVITE:
        l = leg_by_sid(s, m->sid);
        if (l)
            on_reinvite(l, m);
        break;
    case SIP_EV_INCOMING:
        on_incoming(s, m);
        break;
    case SIP_EV_TRUNK_STATE:
        if (m->trunk >= 0 && (size_t)m->trunk < s->ntrunks)
            sip_trunk_state(s, (size_t)m->trunk, m->code != 0, m->text);
        break;
    case SIP_EV_AGENT_REG:
        on_agent_reg(s, m);
        break;
    case SIP_EV_STOPPED:
        if (s->stack) {
            sip_stack_join(s->stack);
            s->stack = NULL;
        }
        sip_media_close(s);
        if (s->stopped_pending) {
            s->stopped_pending = false;
            plt_stopped();
        }
        break;
    default:
        break;
    }
    sip_msg_free(m);
}
