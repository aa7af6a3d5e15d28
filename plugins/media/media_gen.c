/* SPDX-License-Identifier: MIT */
/*
 * Media the engine generates for an endpoint, one 20 ms frame per tick:
 * outgoing DTMF (RFC 4733 events, or in-band tones from spandsp when the
 * remote negotiated no telephone-event), then playback of a prompt or
 * music, then (optionally) silence for an idle endpoint. Each is a
 * source of the endpoint's stream with its own seq/ts counters; the RTP
 * timestamp advances 160 per frame whatever the wall clock did, and the
 * stream re-bases on every change of source.
 */
#include "media_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- playback ---- */

void
media_play_end(media_engine *e, media_endpoint *ep, int reason, bool notify)
{
    uint32_t id = ep->play_id;

    free(ep->play_buf);
    ep->play_buf = NULL;
    ep->play_active = ep->play_loading = false;
    if (notify) {
        media_event ev = {.type = MEDIA_EV_PLAY_FINISHED};
        ev.u.play.play_id = id;
        ev.u.play.reason = reason;
        media_emit(e, ep, &ev, NULL);
    }
}

void
media_play_begin(media_engine *e, media_endpoint *ep, media_cmd *c)
{
    media_job *j;

    if (ep->play_active || ep->play_loading)
        media_play_end(e, ep, MEDIA_PLAY_STOPPED, true);
    ep->play_id = c->id;
    ep->play_loop = (c->flags & MEDIA_PLAY_LOOP) != 0;
    j = calloc(1, sizeof(*j));
    if (!j) {
        media_play_end(e, ep, MEDIA_PLAY_ERROR, true);
        return;
    }
    j->type = JOB_LOAD;
    j->ep = ep;
    j->id = c->id;
    j->path = c->str;
    c->str = NULL;
    ep->play_loading = true;
    ep->pending_disk++;
    media_disk_push(e, j);
}

void
media_play_loaded(media_engine *e, media_endpoint *ep, media_cmd *c)
{
    /* A newer play (or a stop) superseded this one while it loaded. */
    if (!ep->play_loading || ep->play_id != c->id)
        return;
    if (c->err || !c->nsamples) {
        ep->play_id = c->id;
        media_play_end(e, ep, MEDIA_PLAY_ERROR, true);
        return;
    }
    ep->play_loading = false;
    ep->play_active = true;
    ep->play_buf = c->samples;
    c->samples = NULL;
    ep->play_n = c->nsamples;
    ep->play_pos = 0;
    ep->play_seq = 0;
    ep->play_ts = 0;
}

static void
play_frame(media_engine *e, media_endpoint *ep, int64_t now)
{
    int16_t pcm[MEDIA_FRAME];
    uint8_t out[MEDIA_FRAME];
    size_t n = ep->play_n - ep->play_pos;

    if (n > MEDIA_FRAME)
        n = MEDIA_FRAME;
    memcpy(pcm, ep->play_buf + ep->play_pos, n * sizeof(int16_t));
    memset(pcm + n, 0, (MEDIA_FRAME - n) * sizeof(int16_t));
    ep->play_pos += n;
    media_g711_encode(ep->rp.pt, pcm, MEDIA_FRAME, out);
    media_ep_send(e, ep, MEDIA_SRC_PLAY | ep->play_id, ep->play_seq++,
                  ep->play_ts, false, ep->rp.pt, out, MEDIA_FRAME, MEDIA_FRAME,
                  now);
    ep->play_ts += MEDIA_FRAME;
    if (ep->play_pos >= ep->play_n) {
        if (ep->play_loop)
            ep->play_pos = 0;
        else
            media_play_end(e, ep, MEDIA_PLAY_DONE, true);
    }
}

/* ---- DTMF out ---- */

void
media_dtmf_end(media_endpoint *ep)
{
    ep->dt_active = false;
    ep->dt_qlen = ep->dt_qpos = 0;
    ep->dt_phase = 0;
}

void
media_dtmf_begin(media_endpoint *ep, const char *digits, uint32_t duration_ms)
{
    size_t n = strlen(digits);

    if (n >= sizeof(ep->dt_q))
        n = sizeof(ep->dt_q) - 1;
    memcpy(ep->dt_q, digits, n);
    ep->dt_qlen = n;
    ep->dt_qpos = 0;
    ep->dt_phase = 0;
    ep->dt_dur = duration_ms * 8;
    ep->dt_active = true;
    ep->dt_n++;
    ep->dt_seq = 0;
    ep->dt_gen_ts = 0;
    if (ep->rp.te_pt == MEDIA_PT_NONE && !ep->dtx) {
        ep->dtx = dtmf_tx_init(NULL);
        if (!ep->dtx)
            media_dtmf_end(ep);
    }
    if (ep->dtx)
        dtmf_tx_set_timing(ep->dtx, (int)duration_ms, 60);
}

static void
send_event(media_engine *e, media_endpoint *ep, bool end, bool marker,
           int64_t now)
{
    uint8_t pl[4];
    rtp_dtmf d = {
        .event = ep->dt_event,
        .end = end,
        .volume = 10,
        .duration =
            (uint16_t)(ep->dt_elapsed > 0xffff ? 0xffff : ep->dt_elapsed)};

    rtp_dtmf_build(pl, &d);
    media_ep_send(e, ep, MEDIA_SRC_DTMF | ep->dt_n, ep->dt_seq++,
                  ep->dt_event_ts, marker, ep->rp.te_pt, pl, 4, ep->dt_elapsed,
                  now);
}

static void
dtmf_frame(media_engine *e, media_endpoint *ep, int64_t now)
{
    if (ep->dt_phase == 2) {
        /* Inter-digit gap (or a ',' pause): the stream stays ours, and
         * silent, so nothing else slips between two digits. */
        ep->dt_gen_ts += MEDIA_FRAME;
        if (--ep->dt_gap == 0)
            ep->dt_phase = 0;
        return;
    }
    if (ep->dt_phase == 0) {
        if (ep->dt_qpos >= ep->dt_qlen) {
            media_dtmf_end(ep);
            return;
        }
        char c = ep->dt_q[ep->dt_qpos++];
        if (c == ',') {
            ep->dt_phase = 2;
            ep->dt_gap = 25;
            return;
        }
        if (ep->dtx) {
            dtmf_tx_put(ep->dtx, &c, 1);
        } else {
            ep->dt_event = (uint8_t)rtp_dtmf_event(c);
            ep->dt_event_ts = ep->dt_gen_ts;
            ep->dt_elapsed = 0;
        }
        ep->dt_phase = 1;
    }
    if (ep->dtx) {
        int16_t pcm[MEDIA_FRAME];
        uint8_t out[MEDIA_FRAME];
        int n = dtmf_tx(ep->dtx, pcm, MEDIA_FRAME);
        if (n <= 0) {
            /* spandsp generated the tone and its 60 ms gap: next digit. */
            ep->dt_phase = 0;
            dtmf_frame(e, ep, now);
            return;
        }
        memset(pcm + n, 0, (size_t)(MEDIA_FRAME - n) * sizeof(int16_t));
        media_g711_encode(ep->rp.pt, pcm, MEDIA_FRAME, out);
        media_ep_send(e, ep, MEDIA_SRC_DTMF | ep->dt_n, ep->dt_seq++,
                      ep->dt_gen_ts, false, ep->rp.pt, out, MEDIA_FRAME,
                      MEDIA_FRAME, now);
        ep->dt_gen_ts += MEDIA_FRAME;
        return;
    }
    bool first = ep->dt_elapsed == 0;
    ep->dt_elapsed += MEDIA_FRAME;
    if (ep->dt_elapsed < ep->dt_dur) {
        send_event(e, ep, false, first, now);
        return;
    }
    /* The end, sent three times (RFC 4733 2.5.1.4) with one timestamp. */
    for (int i = 0; i < 3; i++)
        send_event(e, ep, true, first && i == 0, now);
    ep->dt_gen_ts = ep->dt_event_ts + ep->dt_elapsed;
    ep->dt_phase = 2;
    ep->dt_gap = 3;
}

/* ---- the generator of an endpoint ---- */

void
media_gen_frame(media_engine *e, media_endpoint *ep, int64_t now)
{
    if (ep->dt_active) {
        dtmf_frame(e, ep, now);
        if (ep->dt_active)
            return;
    }
    if (ep->play_active) {
        play_frame(e, ep, now);
        return;
    }
    if (e->cfg.idle_silence && !ep->partner) {
        int16_t pcm[MEDIA_FRAME] = {0};
        uint8_t out[MEDIA_FRAME];
        media_g711_encode(ep->rp.pt, pcm, MEDIA_FRAME, out);
        media_ep_send(e, ep, MEDIA_SRC_SILENCE, ep->sil_seq++, ep->sil_ts,
                      false, ep->rp.pt, out, MEDIA_FRAME, MEDIA_FRAME, now);
        ep->sil_ts += MEDIA_FRAME;
    }
}

void
media_gen_skip(media_endpoint *ep, uint32_t frames)
{
    /* Frames dropped after a long stall: the prompt moves on as if they
     * had been sent, so it keeps its length on the wall clock. */
    if (!frames || !ep->play_active || ep->dt_active)
        return;
    uint64_t adv = (uint64_t)frames * MEDIA_FRAME;
    ep->play_ts += (uint32_t)adv;
    if (ep->play_loop && ep->play_n)
        ep->play_pos = (size_t)((ep->play_pos + adv) % ep->play_n);
    else
        ep->play_pos = ep->play_pos + adv >= ep->play_n
                           ? ep->play_n - 1
                           : (size_t)(ep->play_pos + adv);
}
