/* SPDX-License-Identifier: MIT */
/*
 * The disk thread: every file operation of the engine, in order, off the
 * loop and off the media thread (sf_write and sf_open block). It loads
 * prompts whole (8 kHz mono, bounded length) and hands them to the media
 * thread as a command; it creates, writes and closes recordings and
 * reports each one's end.
 */
#include "media_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void
load(media_engine *e, media_job *j)
{
    media_cmd *c = calloc(1, sizeof(*c));
    SF_INFO info = {0};
    SNDFILE *sf;

    if (!c)
        return; /* the endpoint's pending count stays up: it leaks */
    c->type = CMD_PLAY_LOADED;
    c->ep = j->ep;
    c->id = j->id;
    sf = sf_open(j->path, SFM_READ, &info);
    if (!sf) {
        c->err = -ENOENT;
    } else if (info.samplerate != MEDIA_RATE || info.channels != 1 ||
               info.frames <= 0 ||
               info.frames > (sf_count_t)e->cfg.max_prompt_s * MEDIA_RATE) {
        c->err = -EINVAL;
    } else {
        c->samples = malloc((size_t)info.frames * sizeof(int16_t));
        if (!c->samples) {
            c->err = -ENOMEM;
        } else {
            sf_count_t got = sf_readf_short(sf, c->samples, info.frames);
            if (got <= 0)
                c->err = -EIO;
            else
                c->nsamples = (size_t)got;
        }
    }
    if (sf)
        sf_close(sf);
    media_cmd_push(e, c);
}

static void
rec_job(media_engine *e, media_job *j)
{
    media_rec *r = j->rec;

    switch (j->type) {
    case JOB_REC_OPEN: {
        SF_INFO info = {.samplerate = MEDIA_RATE,
                        .channels = r->mode == PLT_REC_STEREO ? 2 : 1,
                        .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
        errno = 0;
        r->sf = sf_open(r->path, SFM_WRITE, &info);
        if (!r->sf)
            r->err = errno ? -errno : -EIO;
        break;
    }
    case JOB_REC_WRITE:
        if (r->sf) {
            if (sf_writef_short(r->sf, j->buf, (sf_count_t)j->frames) !=
                (sf_count_t)j->frames)
                r->err = -EIO;
        }
        r->frames += j->frames;
        break;
    case JOB_REC_CLOSE: {
        media_event ev = {.type = MEDIA_EV_RECORDING_FINISHED};
        if (r->sf && sf_close(r->sf) != 0 && !r->err)
            r->err = -EIO;
        r->sf = NULL;
        ev.ep_ud = r->ep_ud;
        ev.u.rec.rec_id = r->id;
        ev.u.rec.error = r->err;
        ev.u.rec.duration_ms = r->err ? 0 : r->frames * 1000 / MEDIA_RATE;
        media_emit(e, r->ep, &ev, r->path);
        media_rec_free(r);
        break;
    }
    default:
        break;
    }
}

void
media_disk_run(media_engine *e, media_job *j)
{
    if (j->type == JOB_LOAD)
        load(e, j);
    else
        rec_job(e, j);
    free(j->path);
    free(j->buf);
    free(j);
}

static void *
disk_main(void *arg)
{
    media_engine *e = arg;

    pthread_setname_np(pthread_self(), "plt-media-disk");
    for (;;) {
        pthread_mutex_lock(&e->dlock);
        while (!e->jhead && !e->disk_stop)
            pthread_cond_wait(&e->dcond, &e->dlock);
        media_job *j = e->jhead;
        if (j) {
            e->jhead = j->next;
            if (!e->jhead)
                e->jtail = NULL;
        }
        pthread_mutex_unlock(&e->dlock);
        if (!j)
            break; /* stopping and nothing left */
        media_disk_run(e, j);
    }
    return NULL;
}

void
media_disk_push(media_engine *e, media_job *j)
{
    pthread_mutex_lock(&e->dlock);
    if (e->jtail)
        e->jtail->next = j;
    else
        e->jhead = j;
    e->jtail = j;
    pthread_cond_signal(&e->dcond);
    pthread_mutex_unlock(&e->dlock);
}

int
media_disk_start(media_engine *e)
{
    int rc;

    e->disk_stop = false;
    rc = pthread_create(&e->disk_th, NULL, disk_main, e);
    return rc ? -rc : 0;
}

void
media_disk_stop(media_engine *e)
{
    pthread_mutex_lock(&e->dlock);
    e->disk_stop = true;
    pthread_cond_signal(&e->dcond);
    pthread_mutex_unlock(&e->dlock);
    pthread_join(e->disk_th, NULL);
}
