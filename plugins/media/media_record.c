/* SPDX-License-Identifier: MIT */
/*
 * Recording a conversation. The media thread places each channel's audio
 * (0: what the endpoint's remote says, 1: what it hears) on a timeline by
 * RTP timestamp (media_anchor) in a two-second ring; every tick, what is
 * older than 200 ms - late packets still find their place - leaves the
 * ring as a block (stereo, or mixed with saturation) for the disk thread,
 * which writes it with libsndfile. Gaps stay silent; a paused recording
 * writes silence. The media thread never touches the file.
 */
#include "media_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define REC_RING (2 * MEDIA_RATE)  /* frames */
#define REC_DELAY (MEDIA_RATE / 5) /* 200 ms */
#define REC_TOLERANCE (MEDIA_RATE * 3 / 10)
#define REC_BLOCK (MEDIA_RATE / 5)

media_rec *
media_rec_new(uint32_t id, const char *path, int32_t mode)
{
    media_rec *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->id = id;
    r->mode = mode;
    r->cap = REC_RING;
    r->path = strdup(path);
    r->ring = calloc((size_t)r->cap * 2, sizeof(int16_t));
    if (!r->path || !r->ring) {
        media_rec_free(r);
        return NULL;
    }
    return r;
}

void
media_rec_free(media_rec *r)
{
    if (!r)
        return;
    if (r->sf)
        sf_close(r->sf);
    free(r->path);
    free(r->ring);
    free(r);
}

static int64_t
wall_pos(const media_rec *r, int64_t now)
{
    return (now - r->start_ns) / (1000000000LL / MEDIA_RATE);
}

void
media_rec_begin(media_engine *e, media_endpoint *ep, media_rec *r, int64_t now)
{
    media_job *j = calloc(1, sizeof(*j));

    if (ep->rec)
        media_rec_close(e, ep);
    r->start_ns = now;
    ep->rec = r;
    if (!j) {
        /* Without the open job the file is never created; the close
         * reports the error. */
        r->err = -ENOMEM;
        return;
    }
    j->type = JOB_REC_OPEN;
    j->rec = r;
    media_disk_push(e, j);
}

void
media_rec_put(media_rec *r, int ch, uint64_t src, uint32_t ts,
              const int16_t *pcm, size_t n, int64_t now)
{
    int64_t pos;

    if (r->paused)
        return;
    pos = media_anchor_place(&r->anchor[ch], src, ts, wall_pos(r, now),
                             REC_TOLERANCE);
    for (size_t i = 0; i < n; i++) {
        int64_t p = pos + (int64_t)i;
        if (p < r->flushed || p >= r->flushed + r->cap)
            continue;
        r->ring[(p % r->cap) * 2 + ch] = pcm[i];
    }
}

static int16_t
sat(int32_t v)
{
    return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

void
media_rec_flush(media_engine *e, media_rec *r, int64_t now, bool all)
{
    int64_t target = wall_pos(r, now) - (all ? 0 : REC_DELAY);
    int channels = r->mode == PLT_REC_STEREO ? 2 : 1;

    while (r->flushed < target) {
        int64_t n = target - r->flushed;
        if (n > REC_BLOCK)
            n = REC_BLOCK;
        media_job *j = calloc(1, sizeof(*j));
        int16_t *buf = calloc((size_t)(n * channels), sizeof(int16_t));
        if (!j || !buf) {
            /* Out of memory: this block is lost, the timeline goes on. */
            free(j);
            free(buf);
            r->flushed += n;
            continue;
        }
        for (int64_t i = 0; i < n; i++) {
            int16_t *f = &r->ring[((r->flushed + i) % r->cap) * 2];
            if (!r->paused) {
                if (channels == 2) {
                    buf[2 * i] = f[0];
                    buf[2 * i + 1] = f[1];
                } else {
                    buf[i] = sat((int32_t)f[0] + f[1]);
                }
            }
            f[0] = f[1] = 0;
        }
        j->type = JOB_REC_WRITE;
        j->rec = r;
        j->buf = buf;
        j->frames = (size_t)n;
        media_disk_push(e, j);
        r->flushed += n;
    }
}

void
media_rec_close(media_engine *e, media_endpoint *ep)
{
    media_rec *r = ep->rec;
    media_job *j;

    ep->rec = NULL;
    media_rec_flush(e, r, media_now_ns(), true);
    j = calloc(1, sizeof(*j));
    if (!j) {
        /* Cannot hand the close over: finish it here (the file is closed
         * by media_rec_free on this thread, a rare blocking call). */
        media_event ev = {.type = MEDIA_EV_RECORDING_FINISHED};
        ev.ep_ud = r->ep_ud;
        ev.u.rec.rec_id = r->id;
        ev.u.rec.error = -ENOMEM;
        media_emit(e, r->ep, &ev, r->path);
        media_rec_free(r);
        return;
    }
    j->type = JOB_REC_CLOSE;
    j->rec = r;
    media_disk_push(e, j);
}
