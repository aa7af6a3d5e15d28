/* SPDX-License-Identifier: MIT */
/*
 * The glue between legs and the media engine (plugins/media, its own
 * threads). Each leg that carries audio has one RTP endpoint, bound when
 * the leg is created (its address goes into our SDP) and pointed at the
 * party once its SDP is known. Bridges, prompts, music on hold, DTMF,
 * recordings and answering-machine detection are the engine's; this file
 * turns the contract's calls into engine calls and the engine's results
 * (delivered on the loop thread) into call.* events.
 *
 * Ids: the engine numbers plays and recordings with integers; the
 * contract's ids are "P<n>" and "R<n>" strings, mapped here. A recording
 * belongs to a call: it records the endpoint of the call's customer leg
 * (left: what the customer says; right: what the customer hears, i.e.
 * the agent, prompts and music), and holds a reference on that leg until
 * its file is closed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media.h"
#include "sip_int.h"

struct sip_media {
    media_engine *e;
    sip *s;
};

struct sip_mleg {
    media_endpoint *ep;
    uint64_t sess_id;
    uint64_t version;
    bool connected;
};

struct sip_rec {
    sip_rec *next;
    uint32_t media_id;
    char id[24];
    char *path;
    plt_leg *leg; /* recorded leg (a reference) */
    plt_call *call;
};

/* ------------------------------------------------------------------ */
/* Engine events */

static plt_leg *
leg_of(const media_event *ev)
{
    plt_leg *l = ev->ep_ud;
    if (!l || l->magic != SIP_LEG_MAGIC || !l->media || l->media->ep != ev->ep)
        return NULL;
    return l;
}

static void
on_play_finished(plt_leg *l, const media_event *ev)
{
    for (sip_play **pp = &l->plays; *pp; pp = &(*pp)->next) {
        sip_play *p = *pp;
        if (p->media_id != ev->u.play.play_id)
            continue;
        *pp = p->next;
        const char *reason = media_play_reason_name(ev->u.play.reason);
        if (ev->u.play.reason == MEDIA_PLAY_ERROR)
            plt_log(PLT_LOG_WARN, "leg %s: cannot play %s (missing, "
                    "unreadable or not 8 kHz mono)", l->id, p->file);
        plt_event *e = sip_ev_new(l, "call.play_finished");
        if (e) {
            plt_event_set_str(e, "play_id", p->id);
            plt_event_set_str(e, "reason", reason);
            plt_event_set_str(e, "file", p->file);
            sip_ev_publish(e);
        }
        free(p->file);
        free(p);
        return;
    }
}

static void
rec_finished(sip *s, const media_event *ev)
{
    for (sip_rec **pp = &s->recs; *pp; pp = &(*pp)->next) {
        sip_rec *r = *pp;
        if (r->media_id != ev->u.rec.rec_id)
            continue;
        *pp = r->next;
        plt_leg *l = r->leg;
        for (plt_leg *x = r->call->legs; x; x = x->call_next)
            if (x->state != PLT_LEG_ENDED) {
                l = x;
                break;
            }
        if (ev->u.rec.error)
            plt_log(PLT_LOG_ERROR, "recording %s: cannot write %s: %s", r->id,
                    r->path, plt_strerror(ev->u.rec.error));
        plt_event *e = sip_ev_new(l, "call.recording_finished");
        if (e) {
            plt_event_set_str(e, "recording_id", r->id);
            plt_event_set_str(e, "path", r->path);
            plt_event_set_i64(e, "duration_ms", (int64_t)ev->u.rec.duration_ms);
            if (ev->u.rec.error)
                plt_event_set_str(e, "error", plt_strerror(ev->u.rec.error));
            sip_ev_publish(e);
        }
        sip_leg_unref(r->leg);
        free(r->path);
        free(r);
        return;
    }
}

static void
on_media_event(void *ud, const media_event *ev)
{
    struct sip_media *m = ud;
    if (ev->type == MEDIA_EV_RECORDING_FINISHED) {
        rec_finished(m->s, ev);
        return;
    }
    plt_leg *l = leg_of(ev);
    if (!l || l->state == PLT_LEG_ENDED)
        return;
    plt_event *e;
    switch (ev->type) {
    case MEDIA_EV_DTMF:
        if ((e = sip_ev_new(l, "call.dtmf"))) {
            char d[2] = {ev->u.dtmf.digit, '\0'};
            plt_event_set_str(e, "digit", d);
            plt_event_set_str(e, "method",
                              media_dtmf_method_name(ev->u.dtmf.method));
            plt_event_set_i64(e, "duration_ms", ev->u.dtmf.duration_ms);
            sip_ev_publish(e);
        }
        break;
    case MEDIA_EV_PLAY_FINISHED:
        on_play_finished(l, ev);
        break;
    case MEDIA_EV_AMD_RESULT:
        if ((e = sip_ev_new(l, "call.amd_result"))) {
            plt_event_set_str(e, "result",
                              media_amd_result_name(ev->u.amd.result));
            plt_event_set_str(e, "cause",
                              media_amd_cause_name(ev->u.amd.cause));
            plt_event_set_i64(e, "words", ev->u.amd.words);
            plt_event_set_i64(e, "greeting_ms", ev->u.amd.greeting_ms);
            plt_event_set_i64(e, "elapsed_ms", ev->u.amd.elapsed_ms);
            sip_ev_publish(e);
        }
        break;
    case MEDIA_EV_RTP_TIMEOUT:
        if (l->state == PLT_LEG_UP && l->s->conf.rtp_timeout_ms > 0) {
            plt_log(PLT_LOG_WARN, "leg %s: no RTP for %u ms, hanging up",
                    l->id, ev->u.timeout.silent_ms);
            (void)sip_cmd_hangup(l, 0, PLT_BY_SYSTEM);
        }
        break;
    default:
        break;
    }
}

int
sip_media_open(sip *s)
{
    struct sip_media *m = calloc(1, sizeof(*m));
    if (!m)
        return PLT_ENOMEM;
    m->s = s;
    media_engine_config cfg = {
        .loop = plt_loop(),
        .on_event = on_media_event,
        .ud = m,
        .port_min = (uint16_t)s->conf.rtp_port_min,
        .port_max = (uint16_t)s->conf.rtp_port_max,
        .rtp_timeout_ms = s->conf.rtp_timeout_ms
                              ? (uint32_t)s->conf.rtp_timeout_ms
                              : UINT32_MAX,
    };
    int rc = media_engine_create(&cfg, &m->e);
    if (rc == 0) {
        rc = media_engine_start(m->e);
        if (rc != 0)
            media_engine_destroy(m->e);
    }
    if (rc != 0) {
        plt_set_error("cannot start the media engine: %s", plt_strerror(rc));
        free(m);
        return rc;
    }
    s->media = m;
    return 0;
}

void
sip_media_close(sip *s)
{
    struct sip_media *m = s->media;
    if (!m)
        return;
    /* Stop delivers the last recordings' events, then nothing more. */
    media_engine_stop(m->e);
    media_engine_destroy(m->e);
    s->media = NULL;
    free(m);
}

/* ------------------------------------------------------------------ */
/* Endpoints */

int
sip_mleg_new(plt_leg *l)
{
    sip *s = l->s;
    if (!s->media)
        return PLT_ESHUTDOWN;
    struct sip_mleg *ml = calloc(1, sizeof(*ml));
    if (!ml)
        return PLT_ENOMEM;
    int rc = media_endpoint_create(s->media->e, s->conf.rtp_address, l,
                                   &ml->ep);
    if (rc != 0) {
        plt_log_err(PLT_LOG_ERROR, rc, "leg %s: no RTP port", l->id);
        free(ml);
        return rc;
    }
    ml->sess_id = ((uint64_t)plt_now() << 8) ^ l->seq;
    ml->version = 1;
    l->media = ml;
    return 0;
}

void
sip_mleg_free(plt_leg *l)
{
    if (!l->media)
        return;
    media_endpoint_destroy(l->media->ep);
    free(l->media);
    l->media = NULL;
}

void
sip_mleg_counters(plt_leg *l, plt_event *ev)
{
    if (!l->media || !ev)
        return;
    media_stats st;
    media_endpoint_stats(l->media->ep, &st);
    plt_event_set_i64(ev, "rtp_rx", (int64_t)st.rx_packets);
    plt_event_set_i64(ev, "rtp_tx", (int64_t)st.tx_packets);
    plt_event_set_i64(ev, "rtp_relayed", (int64_t)st.relayed);
    plt_event_set_i64(ev, "rtp_foreign", (int64_t)st.rx_foreign);
    plt_event_set_i64(ev, "rtp_lost", (int64_t)st.rx_lost);
    plt_event_set_i64(ev, "rtp_bad", (int64_t)st.rx_bad);
}

void
sip_mleg_new_version(plt_leg *l)
{
    if (l->media)
        l->media->version++;
}

int
sip_mleg_sdp(plt_leg *l, bool answer, char *buf, size_t len)
{
    if (!l->media)
        return PLT_ESTATE;
    if (answer && !l->have_remote)
        return PLT_ESTATE;
    char ip[64];
    uint16_t port;
    media_endpoint_local(l->media->ep, ip, &port);
    sip_sdp_local loc = {.addr = l->s->conf.rtp_address,
                         .port = port,
                         .sess_id = l->media->sess_id,
                         .version = l->media->version,
                         .answer_to = answer ? &l->remote_sdp : NULL};
    int n = sip_sdp_write(buf, len, &loc);
    return n < 0 ? PLT_EINVAL : n;
}

int
sip_mleg_connect(plt_leg *l)
{
    if (!l->media || !l->have_remote)
        return PLT_ESTATE;
    const sip_sdp_info *i = &l->remote_sdp;
    uint32_t dir = i->dir == SIP_DIR_SENDONLY   ? MEDIA_DIR_RECV
                   : i->dir == SIP_DIR_RECVONLY ? MEDIA_DIR_SEND
                   : i->dir == SIP_DIR_INACTIVE ? MEDIA_DIR_RECV
                                                : MEDIA_DIR_SENDRECV;
    media_remote r = {.ip = i->addr,
                      .port = i->port,
                      .pt = i->codec == SIP_CODEC_PCMA ? MEDIA_PT_PCMA
                                                       : MEDIA_PT_PCMU,
                      .te_pt = (i->te_pt >= 96 && i->te_pt <= 127)
                                   ? i->te_pt
                                   : MEDIA_PT_NONE,
                      .dir = dir,
                      .latch = MEDIA_LATCH_SDP_HOST};
    int rc = media_endpoint_set_remote(l->media->ep, &r);
    if (rc != 0)
        plt_log_err(PLT_LOG_WARN, rc, "leg %s: cannot use the party's media "
                    "address %s:%u", l->id, i->addr, (unsigned)i->port);
    else
        l->media->connected = true;
    return rc;
}

int
sip_mleg_bridge(plt_leg *a, plt_leg *b)
{
    if (!a->media || !b->media)
        return PLT_ESTATE;
    return media_bridge(a->media->ep, b->media->ep);
}

void
sip_mleg_unbridge(plt_leg *l)
{
    if (l->media)
        (void)media_unbridge(l->media->ep);
}

/* ------------------------------------------------------------------ */
/* Prompts */

int
sip_play_start(plt_leg *l, const char *file, uint32_t flags,
               char play_id[32])
{
    if (!file || !*file)
        return PLT_EINVAL;
    if (l->state != PLT_LEG_UP && !(l->inbound && l->state == PLT_LEG_RINGING))
        return PLT_ESTATE;
    if (!l->media)
        return PLT_ESTATE;
    sip_play *p = calloc(1, sizeof(*p));
    if (!p || !(p->file = strdup(file))) {
        free(p);
        return PLT_ENOMEM;
    }
    int rc = media_play(l->media->ep, file,
                        (flags & PLT_PLAY_LOOP) ? MEDIA_PLAY_LOOP : 0,
                        &p->media_id);
    if (rc != 0) {
        free(p->file);
        free(p);
        return rc;
    }
    snprintf(p->id, sizeof(p->id), "P%llu",
             (unsigned long long)++l->s->next_play);
    if (play_id)
        snprintf(play_id, 32, "%s", p->id);
    p->next = l->plays;
    l->plays = p;
    return 0;
}

int
sip_play_stop(plt_leg *l, const char *play_id)
{
    if (!play_id) {
        sip_play_stop_all(l);
        return 0;
    }
    for (sip_play *p = l->plays; p; p = p->next)
        if (strcmp(p->id, play_id) == 0)
            return l->media ? media_play_stop(l->media->ep, p->media_id)
                            : PLT_ESTATE;
    return PLT_ENOENT;
}

/* Every prompt of the leg ends now, each with call.play_finished
 * reason=stopped (the engine's own event would come after the leg may be
 * gone). */
void
sip_play_stop_all(plt_leg *l)
{
    while (l->plays) {
        sip_play *p = l->plays;
        l->plays = p->next;
        if (l->media)
            (void)media_play_stop(l->media->ep, p->media_id);
        plt_event *e = sip_ev_new(l, "call.play_finished");
        if (e) {
            plt_event_set_str(e, "play_id", p->id);
            plt_event_set_str(e, "reason", "stopped");
            plt_event_set_str(e, "file", p->file);
            sip_ev_publish(e);
        }
        free(p->file);
        free(p);
    }
}

/* ------------------------------------------------------------------ */
/* DTMF and AMD */

int
sip_dtmf_send(plt_leg *l, const char *digits)
{
    if (!digits || !*digits)
        return PLT_EINVAL;
    for (const char *d = digits; *d; d++)
        if (!strchr("0123456789*#ABCDabcd", *d))
            return PLT_EINVAL;
    if (l->state != PLT_LEG_UP || !l->media)
        return PLT_ESTATE;
    char up[65];
    size_t n = strlen(digits);
    if (n >= sizeof(up))
        return PLT_EINVAL;
    for (size_t i = 0; i <= n; i++)
        up[i] = (digits[i] >= 'a' && digits[i] <= 'd')
                    ? (char)(digits[i] - 'a' + 'A')
                    : digits[i];
    return media_send_dtmf(l->media->ep, up, 0);
}

int
sip_amd_start(plt_leg *l, const plt_amd_params *p)
{
    if (l->state != PLT_LEG_UP || !l->media)
        return PLT_ESTATE;
    if (p && p->size < sizeof(*p))
        return PLT_EINVAL;
    return media_amd_start(l->media->ep, p);
}

/* ------------------------------------------------------------------ */
/* Recordings */

static sip_rec *
rec_find(sip *s, const char *id)
{
    for (sip_rec *r = s->recs; id && r; r = r->next)
        if (strcmp(r->id, id) == 0)
            return r;
    return NULL;
}

int
sip_rec_start(sip *s, plt_call *call, const char *path, int32_t mode,
              char rec_id[32])
{
    if (!call || !path || !*path ||
        (mode != PLT_REC_MIXED && mode != PLT_REC_STEREO))
        return PLT_EINVAL;
    if (call->s != s || call->nlive == 0 || !s->media)
        return PLT_ESTATE;
    /* The customer's endpoint, else the first live leg's. */
    plt_leg *l = NULL;
    for (plt_leg *x = call->legs; x; x = x->call_next)
        if (x->state != PLT_LEG_ENDED && x->media &&
            (!l || (x->role == PLT_LEG_CUSTOMER && l->role != PLT_LEG_CUSTOMER)))
            l = x;
    if (!l)
        return PLT_ESTATE;
    sip_rec *r = calloc(1, sizeof(*r));
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return PLT_ENOMEM;
    }
    int rc = media_record_start(l->media->ep, path, mode, &r->media_id);
    if (rc != 0) {
        free(r->path);
        free(r);
        return rc == -EBUSY ? PLT_EBUSY : rc;
    }
    r->leg = sip_leg_ref(l);
    r->call = call;
    snprintf(r->id, sizeof(r->id), "R%llu", (unsigned long long)++s->next_rec);
    if (rec_id)
        snprintf(rec_id, 32, "%s", r->id);
    r->next = s->recs;
    s->recs = r;
    return 0;
}

int
sip_rec_stop(sip *s, const char *rec_id)
{
    sip_rec *r = rec_find(s, rec_id);
    if (!r || !s->media)
        return PLT_ENOENT;
    return media_record_stop(s->media->e, r->media_id);
}

int
sip_rec_pause(sip *s, const char *rec_id)
{
    sip_rec *r = rec_find(s, rec_id);
    if (!r || !s->media)
        return PLT_ENOENT;
    return media_record_pause(s->media->e, r->media_id);
}

int
sip_rec_resume(sip *s, const char *rec_id)
{
    sip_rec *r = rec_find(s, rec_id);
    if (!r || !s->media)
        return PLT_ENOENT;
    return media_record_resume(s->media->e, r->media_id);
}

void
sip_rec_call_ended(sip *s, plt_call *call, plt_leg *last)
{
    /* The recorded endpoint was destroyed with its leg: the engine closes
     * the file and reports it (rec_finished). Nothing to do here. */
    (void)s;
    (void)call;
    (void)last;
}

void
sip_rec_free_all(sip *s)
{
    while (s->recs) {
        sip_rec *r = s->recs;
        s->recs = r->next;
        r->leg->refs--; /* legs are freed right after, whatever they hold */
        free(r->path);
        free(r);
    }
}
