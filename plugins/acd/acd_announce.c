/* SPDX-License-Identifier: MIT */
/*
 * What a waiting caller hears: the queue's hold music (looped), broken by
 * estimated-wait announcements - on join and every announce_every - made
 * of prompt files from the directory of the caller's language (request
 * variable `language`, else the queue's): ewt_intro.wav, then <n>.wav and
 * minute.wav / minutes.wav for n minutes (rounded up), or ewt_long.wav
 * past an hour. The estimate comes from live figures (acd_stats.c): the
 * caller's position x average handle time / agents serving. Nothing is
 * announced while it is unknown (no call completed and no aht_default, or
 * nobody serving). Each file is played when the previous one finished
 * (call.play_finished); then the hold music comes back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acd_int.h"

static const char *
prompt_dir(const acd_caller *c)
{
    const acd_queue *q = c->q;
    const char *lang = q->language;
    for (size_t i = 0; i < c->nvars; i++)
        if (strcmp(c->vars[i].key, "language") == 0)
            lang = c->vars[i].value;
    for (size_t i = 0; lang && i < q->nprompts; i++)
        if (strcmp(q->prompt_lang[i], lang) == 0)
            return q->prompt_dir[i];
    return q->nprompts ? q->prompt_dir[0] : NULL;
}

void
acd_announce_free(acd_caller *c)
{
    for (size_t i = 0; i < c->nann; i++)
        free(c->ann[i]);
    free(c->ann);
    c->ann = NULL;
    c->nann = c->ann_at = 0;
}

void
acd_caller_silence(acd_caller *c)
{
    acd *s = c->s;
    if (c->play_id[0]) {
        (void)s->tel.vt->stop_play(s->tel.impl, c->leg, c->play_id);
        c->play_id[0] = '\0';
    }
    acd_announce_free(c);
    if (c->announce_timer) {
        plt_timer_stop(c->announce_timer);
        c->announce_timer = NULL;
    }
}

/* Play file ann_at; at the end (or on failure) the music comes back. */
static void
play_next(acd_caller *c)
{
    acd *s = c->s;
    while (c->ann_at < c->nann) {
        int rc = s->tel.vt->play(s->tel.impl, c->leg, c->ann[c->ann_at], 0,
                                 c->play_id);
        if (rc == 0)
            return;
        c->play_id[0] = '\0';
        plt_log_err(PLT_LOG_WARN, rc, "queue %s: cannot play %s", c->q->name,
                    c->ann[c->ann_at]);
        c->ann_at++;
    }
    acd_announce_free(c);
    acd_caller_answered_leg(c);
}

static int
add_file(char **v, size_t *n, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(v[*n] = strdup(path)))
        return PLT_ENOMEM;
    (*n)++;
    return 0;
}

void
acd_announce(acd_caller *c)
{
    acd *s = c->s;
    const char *dir = prompt_dir(c);
    if (!dir || c->state != ACD_WAITING || c->gone || c->nann)
        return;
    size_t pos = acd_position(c);
    int64_t ewt = acd_estimated_wait(s, c->q, pos);
    if (ewt < 0)
        return;
    int64_t minutes = (ewt + 59999) / 60000;
    if (minutes < 1)
        minutes = 1;
    char **v = calloc(3, sizeof(*v));
    size_t n = 0;
    char num[32];
    snprintf(num, sizeof(num), "%lld.wav", (long long)minutes);
    int rc = v ? add_file(v, &n, dir, "ewt_intro.wav") : PLT_ENOMEM;
    if (rc == 0 && minutes > 60)
        rc = add_file(v, &n, dir, "ewt_long.wav");
    else if (rc == 0 && (rc = add_file(v, &n, dir, num)) == 0)
        rc = add_file(v, &n, dir, minutes == 1 ? "minute.wav" : "minutes.wav");
    if (rc != 0) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return;
    }
    /* The music stops for the announcement and comes back after it. */
    if (c->play_id[0]) {
        (void)s->tel.vt->stop_play(s->tel.impl, c->leg, c->play_id);
        c->play_id[0] = '\0';
    }
    c->ann = v;
    c->nann = n;
    c->ann_at = 0;
    plt_event *ev = acd_event(c, "queue.announced");
    if (ev) {
        plt_event_set_i64(ev, "estimated_wait_ms", ewt);
        plt_event_set_i64(ev, "minutes", minutes);
        plt_event_set_i64(ev, "position", (int64_t)pos);
        plt_event_set_str(ev, "first", v[0]);
        plt_event_publish(ev);
    }
    play_next(c);
}

static void
on_announce(void *arg)
{
    acd_announce(arg);
}

void
acd_announce_arm(acd_caller *c)
{
    const acd_queue *q = c->q;
    if (c->announce_timer) {
        plt_timer_stop(c->announce_timer);
        c->announce_timer = NULL;
    }
    if (!q->nprompts)
        return;
    if (q->announce)
        acd_announce(c);
    if (q->announce_every_ms > 0 &&
        plt_timer_start(&c->announce_timer, (uint64_t)q->announce_every_ms,
                        (uint64_t)q->announce_every_ms, on_announce, c) != 0)
        c->announce_timer = NULL;
}

void
acd_caller_play_finished(acd_caller *c, const char *play_id)
{
    if (!play_id || !c->play_id[0] || strcmp(c->play_id, play_id) != 0)
        return;
    c->play_id[0] = '\0';
    if (!c->nann)
        return; /* the music itself ended (an unreadable file) */
    if (!acd_leg_live(c->s, c->leg)) {
        /* Stopped because the caller hung up: call.ended follows. */
        acd_announce_free(c);
        return;
    }
    c->ann_at++;
    play_next(c);
}
