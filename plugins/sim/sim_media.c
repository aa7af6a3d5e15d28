/* SPDX-License-Identifier: MIT */
/*
 * Media, simulated: no audio flows, but every media command has the
 * timing and events the real media engine would give.
 *
 *  - A prompt lasts the duration of its WAV file (read from its header
 *    with libsndfile); a missing or unreadable file gives
 *    call.play_finished reason=error and a warning, and the leg is not
 *    disturbed. With play_check_files off (simulations run on a machine
 *    without the prompt files), such a prompt lasts play_duration instead.
 *    A looped prompt plays until stopped. Ending a leg stops its prompts
 *    (reason=stopped) before call.ended.
 *  - A recording writes no file; call.recording_finished reports the
 *    path it would have written and its duration (pauses included: the
 *    real engine writes silence while paused).
 *  - DTMF sent to a party is accepted and checked, and goes nowhere.
 *  - Answering-machine detection answers after amd_delay (or the
 *    caller's total_analysis_ms, then "not_sure", when shorter): a machine
 *    is detected with probability amd_sensitivity, a human is taken for a
 *    machine with probability amd_false_positive. The draw was made when
 *    the leg was created, so the result is part of the party's fate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "sim_int.h"

/* ------------------------------------------------------------------ */
/* Prompts */

static void
play_finish(sim_play *p, const char *reason)
{
    plt_leg *l = p->leg;
    for (sim_play **pp = &l->plays; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    if (p->t) {
        plt_timer_stop(p->t);
        p->t = NULL;
    }
    plt_event *ev = sim_ev_new(l, "call.play_finished");
    if (ev) {
        plt_event_set_str(ev, "play_id", p->id);
        plt_event_set_str(ev, "reason", reason);
        plt_event_set_str(ev, "file", p->file);
        sim_ev_publish(ev);
    }
    free(p->file);
    free(p);
}

static void
on_play_done(void *arg)
{
    sim_play *p = arg;
    p->t = NULL; /* released by the core after this callback */
    play_finish(p, "done");
}

/* Duration of a sound file in ms, or -1 if it cannot be read. */
static int64_t
wav_duration_ms(const char *file)
{
    SF_INFO info;
    memset(&info, 0, sizeof(info));
    SNDFILE *sf = sf_open(file, SFM_READ, &info);
    if (!sf)
        return -1;
    sf_close(sf);
    if (info.samplerate <= 0 || info.frames < 0)
        return -1;
    return (int64_t)(info.frames * 1000 / info.samplerate);
}

int
sim_play_start(plt_leg *l, const char *file, uint32_t flags, char play_id[32])
{
    if (!file || !*file)
        return PLT_EINVAL;
    /* Prompts play to answered legs, or to an offered inbound caller
     * (early media: an announcement before answering). */
    if (l->state != PLT_LEG_UP && !(l->inbound && l->state == PLT_LEG_RINGING))
        return PLT_ESTATE;
    sim *s = l->s;
    sim_play *p = calloc(1, sizeof(*p));
    if (!p)
        return PLT_ENOMEM;
    p->file = strdup(file);
    if (!p->file) {
        free(p);
        return PLT_ENOMEM;
    }
    p->leg = l;
    snprintf(p->id, sizeof(p->id), "P%llu", (unsigned long long)++s->next_play);
    if (play_id)
        snprintf(play_id, 32, "%s", p->id);
    p->next = l->plays;
    l->plays = p;

    int64_t d = wav_duration_ms(file);
    if (d < 0) {
        if (s->conf.play_check_files) {
            plt_log(PLT_LOG_WARN, "leg %s: cannot play %s: %s", l->id, file,
                    sf_strerror(NULL));
            play_finish(p, "error");
            return 0;
        }
        d = s->conf.play_duration_ms;
    }
    if (flags & PLT_PLAY_LOOP)
        return 0; /* until stopped */
    int rc = plt_timer_start(&p->t, (uint64_t)d, 0, on_play_done, p);
    if (rc != 0) {
        p->t = NULL;
        l->plays = p->next;
        free(p->file);
        free(p);
        return rc;
    }
    return 0;
}

int
sim_play_stop(plt_leg *l, const char *play_id)
{
    if (!play_id) {
        /* No id: every prompt of the leg. */
        sim_play_stop_all(l);
        return 0;
    }
    for (sim_play *p = l->plays; p; p = p->next)
        if (strcmp(p->id, play_id) == 0) {
            play_finish(p, "stopped");
            return 0;
        }
    return PLT_ENOENT;
}

void
sim_play_stop_all(plt_leg *l)
{
    while (l->plays)
        play_finish(l->plays, "stopped");
}

/* ------------------------------------------------------------------ */
/* DTMF */

int
sim_dtmf_send(plt_leg *l, const char *digits)
{
    if (!digits || !*digits)
        return PLT_EINVAL;
    for (const char *d = digits; *d; d++)
        if (!strchr("0123456789*#ABCDabcd", *d))
            return PLT_EINVAL;
    return l->state == PLT_LEG_UP ? 0 : PLT_ESTATE;
}

/* ------------------------------------------------------------------ */
/* Answering-machine detection */

static void
publish_amd(plt_leg *l, const char *result)
{
    plt_event *ev = sim_ev_new(l, "call.amd_result");
    if (ev) {
        plt_event_set_str(ev, "result", result);
        sim_ev_publish(ev);
    }
}

static void
on_amd(plt_leg *l)
{
    const sim_conf *c = &l->s->conf;
    bool machine;
    if (l->fate == SIM_F_MACHINE)
        machine = l->u_amd < c->amd_sensitivity;
    else if (l->kind == SIM_K_AGENT)
        machine = false; /* an agent is a person */
    else
        machine = l->u_amd < c->amd_false_positive;
    publish_amd(l, machine ? "machine" : "human");
}

static void
on_amd_not_sure(plt_leg *l)
{
    publish_amd(l, "not_sure");
}

int
sim_amd_start(plt_leg *l, const plt_amd_params *p)
{
    if (l->state != PLT_LEG_UP)
        return PLT_ESTATE;
    int64_t delay = l->s->conf.amd_delay_ms;
    /* The caller allows less analysis time than the detector needs. */
    if (p && p->size >= sizeof(*p) && p->total_analysis_ms &&
        (int64_t)p->total_analysis_ms < delay)
        return sim_tslot_arm(&l->t_amd, l, p->total_analysis_ms,
                             on_amd_not_sure);
    return sim_tslot_arm(&l->t_amd, l, delay, on_amd);
}

/* ------------------------------------------------------------------ */
/* Recordings */

static sim_rec *
rec_find(sim *s, const char *id, sim_rec ***link)
{
    if (!id)
        return NULL;
    for (sim_rec **pp = &s->recs; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->id, id) == 0) {
            if (link)
                *link = pp;
            return *pp;
        }
    return NULL;
}

/* The event of a recording carries the fields of one leg of the call (the
 * contract wants leg_id etc. on every call.* event): the first leg still
 * up, else @p fallback. */
static void
rec_finish(sim_rec *r, sim_rec **link, plt_leg *fallback)
{
    plt_leg *l = fallback;
    for (plt_leg *x = r->call->legs; x; x = x->call_next)
        if (x->state != PLT_LEG_ENDED) {
            l = x;
            break;
        }
    int64_t now = plt_now();
    if (r->paused)
        r->paused_ms += now - r->paused_at;
    *link = r->next;
    plt_event *ev = l ? sim_ev_new(l, "call.recording_finished") : NULL;
    if (ev) {
        plt_event_set_str(ev, "recording_id", r->id);
        plt_event_set_str(ev, "path", r->path);
        plt_event_set_i64(ev, "duration_ms", now - r->started_at);
        plt_event_set_i64(ev, "paused_ms", r->paused_ms);
        sim_ev_publish(ev);
    }
    free(r->path);
    free(r);
}

int
sim_rec_start(sim *s, plt_call *call, const char *path, int32_t mode,
              char rec_id[32])
{
    if (!call || !path || !*path ||
        (mode != PLT_REC_MIXED && mode != PLT_REC_STEREO))
        return PLT_EINVAL;
    if (call->s != s || call->nlive == 0)
        return PLT_ESTATE;
    sim_rec *r = calloc(1, sizeof(*r));
    if (!r)
        return PLT_ENOMEM;
    r->path = strdup(path);
    if (!r->path) {
        free(r);
        return PLT_ENOMEM;
    }
    r->call = call;
    r->mode = mode;
    r->started_at = plt_now();
    snprintf(r->id, sizeof(r->id), "R%llu", (unsigned long long)++s->next_rec);
    if (rec_id)
        snprintf(rec_id, 32, "%s", r->id);
    /* Append: recordings of a call finish in the order they started. */
    sim_rec **pp = &s->recs;
    while (*pp)
        pp = &(*pp)->next;
    *pp = r;
    return 0;
}

int
sim_rec_stop(sim *s, const char *rec_id)
{
    sim_rec **link;
    sim_rec *r = rec_find(s, rec_id, &link);
    if (!r)
        return PLT_ENOENT;
    rec_finish(r, link, NULL);
    return 0;
}

int
sim_rec_pause(sim *s, const char *rec_id)
{
    sim_rec *r = rec_find(s, rec_id, NULL);
    if (!r)
        return PLT_ENOENT;
    if (r->paused)
        return PLT_ESTATE;
    r->paused = true;
    r->paused_at = plt_now();
    return 0;
}

int
sim_rec_resume(sim *s, const char *rec_id)
{
    sim_rec *r = rec_find(s, rec_id, NULL);
    if (!r)
        return PLT_ENOENT;
    if (!r->paused)
        return PLT_ESTATE;
    r->paused = false;
    r->paused_ms += plt_now() - r->paused_at;
    return 0;
}

void
sim_rec_call_ended(sim *s, plt_call *call, plt_leg *last)
{
    sim_rec **pp = &s->recs;
    while (*pp) {
        if ((*pp)->call == call)
            rec_finish(*pp, pp, last);
        else
            pp = &(*pp)->next;
    }
}

void
sim_rec_free_all(sim *s)
{
    while (s->recs) {
        sim_rec *r = s->recs;
        s->recs = r->next;
        free(r->path);
        free(r);
    }
}
