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
/* Registry */

static const legs_ops sip_legs_ops;
static void release_trunk(plt_leg *l);

static plt_leg *
leg_by_sid(sip *s, uint64_t sid)
{
    for (plt_leg *l = s->live_head; l; l = l->live_next)
        if (l->sid == sid)
            return l;
    return NULL;
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
/* Answer and end */

static void
leg_answered(plt_leg *l)
{
    stop_timer(&l->t_ring);
    stop_timer(&l->t_claim);
    sip_ev_publish(legs_answered_event(l));
    if (l->flags & PLT_ORIG_AMD)
        (void)sip_amd_start(l, NULL);
    if (l->xfer_from)
        legs_transfer_answered(l);
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
            legs_publish(l, held ? "call.party_held" : "call.party_resumed");
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

/* ------------------------------------------------------------------ */
/* Originate */

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
    return legs_valid_digits(d);
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
valid_dest(const char *d, bool agent)
{
    return agent ? valid_ext(d + 6) : valid_destination(d);
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

static int
pick_trunk(void *owner, const plt_originate *o, void **trunk)
{
    sip *s = owner;
    sip_trunk *t = o->trunk     ? sip_trunk_find(s, o->trunk)
                   : s->ntrunks ? &s->trunks[0]
                                : NULL;
    if (!t)
        return PLT_ENOENT;
    *trunk = t;
    return sip_trunk_admit(t);
}

static const char *
caller_id(const plt_originate *o)
{
    return ""; /* fill_invite() sets it by the trunk's caller-ID rules */
}

static bool
trunk_is_down(const sip_trunk *t)
{
    return t && (!t->up || !t->addr[0]);
}

/* The INVITE with our SDP, and the ring timeout; nothing goes to a trunk
 * that is down (dialled() ends the leg). */
static int
dial(plt_leg *l, const plt_originate *o, void *trunk)
{
    sip *s = l->s;
    sip_trunk *t = trunk;
    bool trunk_down = trunk_is_down(t);
    l->sid = l->seq; /* the dialog this leg starts */
    sip_msg *m = NULL;
    char sdp[1024];
    int rc = 0;
    if (!trunk_down) {
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
        sip_mleg_free(l);
        release_trunk(l);
    }
    return rc;
}

static void
dialled(plt_leg *l, const plt_originate *o)
{
    sip_trunk *t = l->trunk;
    if (!trunk_is_down(t))
        return;
    /* Nothing is sent to a trunk that is down: the attempt ends as
     * congestion, as a carrier's 503 would. */
    plt_log(PLT_LOG_WARN, "leg %s: trunk %s is down (%s), not dialling %s",
            l->id, t->name, t->down_reason ? t->down_reason : "unknown",
            l->remote);
    l->sip_gone = true;
    sip_leg_end(l, PLT_OUTCOME_CONGESTION, 503, "trunk down", PLT_BY_SYSTEM);
}

int
sip_originate(sip *s, const plt_originate *o, plt_leg **out)
{
    return legs_originate(&s->reg, &sip_legs_ops, s, !s->stopping && s->started,
                          (uint32_t)s->conf.ring_timeout_ms, o, out);
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
    int32_t outcome = legs_outcome_of_code(m->code);
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
    if (legs_new(&s->reg, &sip_legs_ops, s, SIP_K_INBOUND, true, NULL, &l) !=
        0) {
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

/* ------------------------------------------------------------------ */
/* Hooks of the shared bookkeeping */

static void
release_trunk(plt_leg *l)
{
    if (l->trunk) {
        sip_trunk_release(l->trunk);
        l->trunk = NULL;
    }
}

/* A leg Plateau ends: CANCEL or BYE it, or reject the offer with code. */
static void
hook_signal_end(plt_leg *l, int code)
{
    if (l->state != PLT_LEG_UP && l->inbound)
        send_sid(l, SIP_CMD_RESPOND, code);
    else
        send_sid(l, SIP_CMD_HANGUP, 0);
}

static void
hook_claimed(plt_leg *l)
{
    stop_timer(&l->t_claim);
}

static void
hook_held(plt_leg *l, const char *music)
{
    if (music)
        (void)sip_play_start(l, music, PLT_PLAY_LOOP, NULL);
}

static void
hook_end_stop(plt_leg *l)
{
    stop_timer(&l->t_ring);
    stop_timer(&l->t_claim);
    sip_play_stop_all(l);
}

static void
hook_end_event(plt_leg *l, plt_event *ev)
{
    release_trunk(l);
    sip_mleg_counters(l, ev);
    sip_mleg_free(l);
}

static void
hook_call_ended(plt_leg *l)
{
    sip_rec_call_ended(l->s, l->call, l);
}

static void
hook_discard(plt_leg *l)
{
    stop_timer(&l->t_ring);
    stop_timer(&l->t_claim);
    for (sip_play *p = l->plays, *n; p; p = n) {
        n = p->next;
        free(p->file);
        free(p);
    }
    l->plays = NULL;
}

static void
hook_free_extra(plt_leg *l)
{
    free(l->offer);
}

static int
hook_originate(plt_leg *l, const plt_originate *o, plt_leg **out)
{
    return sip_originate(l->s, o, out);
}

static const legs_ops sip_legs_ops = {
    .leg_size = sizeof(plt_leg),
    .magic = SIP_LEG_MAGIC,
    .kind_agent = SIP_K_AGENT,
    .kind_trunk = SIP_K_TRUNK,
    .valid_dest = valid_dest,
    .pick_trunk = pick_trunk,
    .caller_id = caller_id,
    .dial = dial,
    .dialled = dialled,
    .media_bridge = sip_mleg_bridge,
    .media_unbridge = sip_mleg_unbridge,
    .claimed = hook_claimed,
    .held = hook_held,
    .unheld = sip_play_stop_all,
    .signal_end = hook_signal_end,
    .end_stop = hook_end_stop,
    .end_event = hook_end_event,
    .call_ended = hook_call_ended,
    .discard = hook_discard,
    .free_extra = hook_free_extra,
    .originate = hook_originate,
};
