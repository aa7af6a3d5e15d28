/* SPDX-License-Identifier: MIT */
/*
 * Callers a queue does not keep, and what happens to them. Triggers: the
 * caller waited max_wait (`overflow`), or joins a queue that is closed
 * (opening hours and holidays in the queue's zone: `closed`), full
 * (`max_size` callers already waiting: `full`), with no agent logged in
 * (`no_agents`) or with every logged-in agent paused (`all_paused`) - the
 * last two also when the last agent serving a queue logs out or pauses
 * while callers wait. With close_waiting, callers still waiting when the
 * queue closes get the closed action too (checked on each minute, as
 * hours are in minutes). Each trigger has its action:
 *
 *   hangup          the leg is hung up (by system)
 *   queue:<name>    the caller moves to that queue, keeping their seniority
 *   message:<wav>   the message is played, then the leg is hung up
 *   ivr:<entry>     ivr.requested is published for an IVR to claim (with
 *                   ivr.claimed, leg_id) within ivr_claim; unclaimed, the
 *                   leg is hung up rather than left in silence
 *   callback        a callback request is recorded - as a contact of the
 *                   queue's callback_list through the leads service when
 *                   both are there, else in table acd_callback - and
 *                   published (queue.callback_requested), the queue's
 *                   callback_prompt played, then the leg is hung up
 *   voicemail       voicemail_prompt, then the call is recorded to a WAV
 *                   (telephony recording) for at most voicemail_max; the
 *                   path is published (queue.voicemail_recorded) and
 *                   stored (table acd_voicemail), and the leg is hung up
 *
 * queue.overflowed (reason, action, target, wait_ms) comes first in every
 * case. A caller in the middle of an action that keeps the leg is no longer
 * in the queue: it is an acd_pending, driven by its call events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acd_int.h"

const char *const acd_why_names[] = {"max_wait",   "closed", "no_agents",
                                     "all_paused", "full",   NULL};

static const char *const kind_names[] = {
    "none", "hangup", "queue", "message", "ivr", "callback", "voicemail"};

const plt_storage_migration acd_migrations[] = {
    {.version = 1,
     .name = "create acd_callback",
     .sql = "CREATE TABLE acd_callback ("
            " id PLT_ID,"
            " queue TEXT NOT NULL,"
            " number TEXT,"
            " leg_id TEXT NOT NULL,"
            " request_id TEXT NOT NULL,"
            " reason TEXT NOT NULL,"
            " requested_at BIGINT NOT NULL,"
            " done_at BIGINT)"},
    {.version = 2,
     .name = "create acd_voicemail",
     .sql = "CREATE TABLE acd_voicemail ("
            " id PLT_ID,"
            " queue TEXT NOT NULL,"
            " number TEXT,"
            " leg_id TEXT NOT NULL,"
            " request_id TEXT NOT NULL,"
            " path TEXT NOT NULL,"
            " duration_ms BIGINT NOT NULL,"
            " recorded_at BIGINT NOT NULL)"},
};
const size_t acd_nmigrations =
    sizeof(acd_migrations) / sizeof(acd_migrations[0]);

const char *
acd_action_name(int kind)
{
    return kind >= 0 && kind <= ACD_OVF_VOICEMAIL ? kind_names[kind] : "none";
}

int
acd_action_parse(const char *text, acd_action *out)
{
    out->kind = ACD_OVF_NONE;
    out->target = NULL;
    static const struct {
        const char *prefix;
        int kind;
    } with_target[] = {{"queue:", ACD_OVF_QUEUE},
                       {"message:", ACD_OVF_MESSAGE},
                       {"ivr:", ACD_OVF_IVR}};
    for (size_t i = 0; i < sizeof(with_target) / sizeof(with_target[0]); i++) {
        size_t n = strlen(with_target[i].prefix);
        if (strncmp(text, with_target[i].prefix, n) == 0) {
            if (!text[n])
                return PLT_EINVAL;
            if (!(out->target = strdup(text + n)))
                return PLT_ENOMEM;
            out->kind = with_target[i].kind;
            return 0;
        }
    }
    static const int bare[] = {ACD_OVF_NONE, ACD_OVF_HANGUP, ACD_OVF_CALLBACK,
                               ACD_OVF_VOICEMAIL};
    for (size_t i = 0; i < sizeof(bare) / sizeof(bare[0]); i++) {
        if (strcmp(text, kind_names[bare[i]]) == 0) {
            out->kind = bare[i];
            return 0;
        }
    }
    return PLT_EINVAL;
}

static size_t
waiting_in(acd *s, const acd_queue *q)
{
    size_t n = 0;
    for (const acd_caller *c = s->callers; c; c = c->next)
        n += c->q == q && c->state != ACD_BRIDGED;
    return n;
}

/* Nobody can serve @p q: no agent logged in, or every one paused. */
static int
staffing_trigger(acd *s, const acd_queue *q)
{
    if (q->on[ACD_WHY_NO_AGENTS].kind == ACD_OVF_NONE &&
        q->on[ACD_WHY_ALL_PAUSED].kind == ACD_OVF_NONE)
        return -1;
    acd_staffing st;
    acd_staffing_of(s, q, &st);
    if (st.logged_in == 0 && q->on[ACD_WHY_NO_AGENTS].kind != ACD_OVF_NONE)
        return ACD_WHY_NO_AGENTS;
    if (st.logged_in > 0 && st.paused == st.logged_in &&
        q->on[ACD_WHY_ALL_PAUSED].kind != ACD_OVF_NONE)
        return ACD_WHY_ALL_PAUSED;
    return -1;
}

int
acd_join_trigger(acd *s, acd_queue *q)
{
    if (q->on[ACD_WHY_CLOSED].kind != ACD_OVF_NONE &&
        !schedule_open_at(&q->sched, plt_now()))
        return ACD_WHY_CLOSED;
    /* The joining caller is already in the list: more than max_size. */
    if (q->max_size > 0 && q->on[ACD_WHY_FULL].kind != ACD_OVF_NONE &&
        waiting_in(s, q) > (size_t)q->max_size)
        return ACD_WHY_FULL;
    return staffing_trigger(s, q);
}

static void
on_hours_tick(void *arg)
{
    acd *s = arg;
    int64_t now = plt_now();
    for (size_t i = 0; i < s->nq; i++) {
        acd_queue *q = &s->q[i];
        if (!q->close_waiting || q->on[ACD_WHY_CLOSED].kind == ACD_OVF_NONE)
            continue;
        bool open = schedule_open_at(&q->sched, now);
        bool closing = q->was_open && !open;
        q->was_open = open;
        if (!closing)
            continue;
        plt_log(PLT_LOG_INFO, "queue %s: closed; callers waiting get %s",
                q->name, acd_action_name(q->on[ACD_WHY_CLOSED].kind));
        acd_caller *next;
        for (acd_caller *c = s->callers; c; c = next) {
            next = c->next;
            if (c->q == q && c->state == ACD_WAITING && !c->gone)
                (void)acd_overflow(c, ACD_WHY_CLOSED);
        }
    }
}

void
acd_hours_start(acd *s)
{
    int64_t now = plt_now();
    bool wanted = false;
    for (size_t i = 0; i < s->nq; i++) {
        acd_queue *q = &s->q[i];
        q->was_open = schedule_open_at(&q->sched, now);
        wanted |= q->close_waiting;
    }
    if (!wanted || s->hours_timer)
        return;
    /* On each minute boundary: windows start and end on minutes. */
    uint64_t first = (uint64_t)(60000 - ((now % 60000) + 60000) % 60000);
    if (plt_timer_start(&s->hours_timer, first, 60000, on_hours_tick, s) != 0)
        s->hours_timer = NULL;
}

void
acd_hours_stop(acd *s)
{
    if (s->hours_timer) {
        plt_timer_stop(s->hours_timer);
        s->hours_timer = NULL;
    }
}

void
acd_overflow_staffing(acd *s, const char *agent)
{
    acd_agent *a = acd_agent_find(s, agent);
    for (size_t i = 0; a && i < a->nqueues; i++) {
        acd_queue *q = acd_queue_find(s, a->queues[i]);
        int why = q ? staffing_trigger(s, q) : -1;
        if (why < 0)
            continue;
        acd_caller *next;
        for (acd_caller *c = s->callers; c; c = next) {
            next = c->next;
            if (c->q == q && c->state == ACD_WAITING && !c->gone)
                (void)acd_overflow(c, why);
        }
    }
}

/* ---- actions that keep the leg a while ---- */

static void
pending_free(acd_pending *p)
{
    acd *s = p->s;
    for (acd_pending **pp = &s->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    if (p->timer)
        plt_timer_stop(p->timer);
    if (p->leg)
        s->tel.vt->leg_unref(s->tel.impl, p->leg);
    free(p->queue);
    free(p->leg_id);
    free(p->path);
    free(p);
}

void
acd_pending_free_all(acd *s, bool stop_timers_only)
{
    for (acd_pending *p = s->pending; p; p = p->next)
        if (p->timer) {
            plt_timer_stop(p->timer);
            p->timer = NULL;
        }
    while (!stop_timers_only && s->pending)
        pending_free(s->pending);
}

/* Done with the caller: hang up if still there, forget it. */
static void
pending_finish(acd_pending *p)
{
    acd *s = p->s;
    if (acd_leg_live(s, p->leg))
        (void)s->tel.vt->hangup(s->tel.impl, p->leg, 0, PLT_BY_SYSTEM);
    pending_free(p);
}

static plt_event *
pending_event(const acd_pending *p, const char *topic)
{
    plt_event *ev;
    if (plt_event_new(&ev, topic, 1) != 0)
        return NULL;
    plt_event_set_str(ev, "request_id", p->id);
    plt_event_set_str(ev, "queue", p->queue);
    plt_event_set_str(ev, "leg_id", p->leg_id);
    plt_event_set_str(ev, "reason", acd_why_names[p->why]);
    return ev;
}

/* The caller's number, for callbacks and voicemail (NULL if unknown). */
static char *
remote_of(acd *s, plt_leg *leg)
{
    plt_leg_info info = {.size = sizeof(info)};
    if (s->tel.vt->leg_info(s->tel.impl, leg, &info) != 0 || !info.remote)
        return NULL;
    return strdup(info.remote);
}

static void
on_stored(void *arg, int status, const plt_storage_result *res)
{
    const char *what = arg;
    if (status != 0)
        plt_log_err(PLT_LOG_ERROR, status, "acd: cannot store the %s (%s)",
                    what, res && res->error ? res->error : "no message");
}

static void
store(acd *s, const char *what, const char *sql, const plt_value *args,
      size_t n)
{
    if (!s->have_st)
        return;
    int rc = plt_storage_exec(&s->st, sql, args, n, PLT_STORAGE_WRITE, NULL,
                              on_stored, (void *)what);
    if (rc != 0)
        plt_log_err(PLT_LOG_ERROR, rc, "acd: cannot queue the %s", what);
}

/* Play @p file to the pending caller; false if nothing will play. */
static bool
pending_play(acd_pending *p, const char *file)
{
    acd *s = p->s;
    if (!file)
        return false;
    int rc = s->tel.vt->play(s->tel.impl, p->leg, file, 0, p->play_id);
    if (rc != 0) {
        p->play_id[0] = '\0';
        plt_log_err(PLT_LOG_WARN, rc, "queue %s: cannot play %s to %s",
                    p->queue, file, p->leg_id);
        return false;
    }
    return true;
}

static void
on_voicemail_max(void *arg)
{
    acd_pending *p = arg;
    p->timer = NULL; /* one-shot: released by the core */
    /* recording_finished follows; it finishes the caller. */
    if (p->s->tel.vt->record_stop(p->s->tel.impl, p->rec_id) != 0)
        pending_finish(p);
}

static void
voicemail_record(acd_pending *p)
{
    acd *s = p->s;
    acd_queue *q = acd_queue_find(s, p->queue);
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s-%lld-%s.wav", s->voicemail_dir,
             p->queue, (long long)plt_now(), p->id);
    plt_call *call = s->tel.vt->leg_call(s->tel.impl, p->leg);
    int rc = PLT_ENOMEM;
    if (call && (p->path = strdup(path)))
        rc = s->tel.vt->record_start(s->tel.impl, call, path, PLT_REC_MIXED,
                                     p->rec_id);
    if (rc != 0) {
        plt_log_err(PLT_LOG_WARN, rc, "queue %s: cannot record voicemail of %s",
                    p->queue, p->leg_id);
        pending_finish(p);
        return;
    }
    int64_t max = q ? q->voicemail_max_ms : 120000;
    if (plt_timer_start(&p->timer, (uint64_t)max, 0, on_voicemail_max, p) !=
        0) {
        p->timer = NULL;
        (void)s->tel.vt->record_stop(s->tel.impl, p->rec_id);
    }
}

static void
on_ivr_unclaimed(void *arg)
{
    acd_pending *p = arg;
    p->timer = NULL;
    plt_log(PLT_LOG_WARN,
            "queue %s: nobody claimed %s for IVR entry point: hung up",
            p->queue, p->leg_id);
    pending_finish(p);
}

/* A callback request handed to the leads service: the list is found by
 * name, then the caller's number added to it as a contact (the outbound
 * campaign the list is attached to calls it back). */
typedef struct leads_cb {
    acd *s;
    char *queue, *list, *number;
} leads_cb;

static void
leads_cb_free(leads_cb *x)
{
    free(x->queue);
    free(x->list);
    free(x->number);
    free(x);
}

static void
on_lead_added(void *arg, int status, const plt_lead_added *r, size_t n)
{
    leads_cb *x = arg;
    if (status != 0 || n != 1 ||
        (r[0].result != PLT_LEAD_ADDED && r[0].result != PLT_LEAD_DUPLICATE))
        plt_log(PLT_LOG_WARN,
                "queue %s: callback for %s not added to list %s: %s",
                x->queue, x->number, x->list,
                status != 0 ? plt_strerror(status)
                : n == 1 && r[0].reason ? r[0].reason
                                         : "refused");
    leads_cb_free(x);
}

static void
on_list(void *arg, int status, int64_t list_id)
{
    leads_cb *x = arg;
    acd *s = x->s;
    if (status != 0) {
        plt_log_err(PLT_LOG_WARN, status,
                    "queue %s: callback list %s not found", x->queue, x->list);
        leads_cb_free(x);
        return;
    }
    plt_lead_phone ph = {.original = x->number};
    plt_lead_new c = {.phones = &ph, .nphones = 1};
    plt_lead_add_opts o = {.size = sizeof(o),
                           .dedup_scope = PLT_DEDUP_LIST,
                           .source = "acd:callback"};
    int rc = s->leads.vt->add_batch(s->leads.impl, list_id, &c, 1, &o,
                                    on_lead_added, x);
    if (rc != 0) {
        plt_log_err(PLT_LOG_WARN, rc, "queue %s: callback for %s", x->queue,
                    x->number);
        leads_cb_free(x);
    }
}

/* True if the request went to the leads service. */
static bool
callback_to_leads(acd *s, const acd_queue *q, const char *number)
{
    if (!s->have_leads || !q->callback_list || !number)
        return false;
    leads_cb *x = calloc(1, sizeof(*x));
    if (!x || !(x->queue = strdup(q->name)) ||
        !(x->list = strdup(q->callback_list)) ||
        !(x->number = strdup(number))) {
        if (x)
            leads_cb_free(x);
        return false;
    }
    x->s = s;
    int rc = s->leads.vt->list_find(s->leads.impl, x->list, on_list, x);
    if (rc != 0) {
        leads_cb_free(x);
        return false;
    }
    return true;
}

static void
callback_request(acd_caller *c, acd_pending *p)
{
    acd *s = c->s;
    char *number = remote_of(s, c->leg);
    int64_t now = plt_now();
    bool to_leads = callback_to_leads(s, c->q, number);
    if (!to_leads) {
        plt_value args[6] = {PLT_V_STR(c->q->name),
                             number ? PLT_V_STR(number) : PLT_V_NULL(),
                             PLT_V_STR(c->leg_id),
                             PLT_V_STR(c->id),
                             PLT_V_STR(acd_why_names[p->why]),
                             PLT_V_TIME(now)};
        store(s, "callback request",
              "INSERT INTO acd_callback (queue, number, leg_id, request_id,"
              " reason, requested_at) VALUES ($1, $2, $3, $4, $5, $6)",
              args, 6);
    }
    c->q->day.callbacks++;
    plt_event *ev = acd_event(c, "queue.callback_requested");
    if (ev) {
        plt_event_set_str(ev, "number", number ? number : "");
        plt_event_set_str(ev, "reason", acd_why_names[p->why]);
        plt_event_set_str(ev, "list", to_leads ? c->q->callback_list : "");
        plt_event_publish(ev);
    }
    free(number);
}

/* Start the action of kind @p kind for @p c (leaving the queue). */
static void
pending_start(acd_caller *c, int why, const acd_action *a)
{
    acd *s = c->s;
    acd_pending *p = calloc(1, sizeof(*p));
    if (!p || !(p->queue = strdup(c->q->name)) ||
        !(p->leg_id = strdup(c->leg_id))) {
        if (p) {
            free(p->queue);
            free(p);
        }
        (void)s->tel.vt->hangup(s->tel.impl, c->leg, 0, PLT_BY_SYSTEM);
        return;
    }
    p->s = s;
    p->kind = a->kind;
    p->why = why;
    snprintf(p->id, sizeof(p->id), "%s", c->id);
    p->leg = s->tel.vt->leg_ref(s->tel.impl, c->leg);
    p->next = s->pending;
    s->pending = p;
    switch (a->kind) {
    case ACD_OVF_MESSAGE:
        p->hangup_after_play = true;
        if (!pending_play(p, a->target))
            pending_finish(p);
        return;
    case ACD_OVF_CALLBACK:
        callback_request(c, p);
        p->hangup_after_play = true;
        if (!pending_play(p, c->q->callback_prompt))
            pending_finish(p);
        return;
    case ACD_OVF_VOICEMAIL:
        if (!pending_play(p, c->q->voicemail_prompt))
            voicemail_record(p);
        return;
    case ACD_OVF_IVR: {
        plt_event *ev = acd_event(c, "ivr.requested");
        if (ev) {
            plt_event_set_str(ev, "entry", a->target);
            plt_event_set_str(ev, "reason", acd_why_names[why]);
            plt_event_publish(ev);
        }
        if (plt_timer_start(&p->timer, (uint64_t)s->ivr_claim_ms, 0,
                            on_ivr_unclaimed, p) != 0) {
            p->timer = NULL;
            pending_finish(p);
        }
        return;
    }
    default:
        pending_finish(p);
    }
}

bool
acd_overflow(acd_caller *c, int why)
{
    acd_queue *q = c->q;
    const acd_action *a = &q->on[why];
    if (c->state == ACD_BRIDGED || a->kind == ACD_OVF_NONE)
        return true;
    if (c->state == ACD_OFFERING)
        acd_offer_abort(c, false);
    acd_caller_silence(c);
    int64_t wait = plt_now() - c->joined_at;
    q->day.overflowed++;
    q->day.overflowed_by[why]++;
    plt_event *ev = acd_event(c, "queue.overflowed");
    if (ev) {
        plt_event_set_str(ev, "reason", acd_why_names[why]);
        plt_event_set_str(ev, "action", acd_action_name(a->kind));
        plt_event_set_str(ev, "target", a->target ? a->target : "");
        plt_event_set_i64(ev, "wait_ms", wait);
        plt_event_publish(ev);
    }
    plt_log(PLT_LOG_INFO, "queue %s: %s overflowed (%s): %s%s%s", q->name,
            c->id, acd_why_names[why], acd_action_name(a->kind),
            a->target ? " " : "", a->target ? a->target : "");
    acd_queue *to =
        a->kind == ACD_OVF_QUEUE ? acd_queue_find(c->s, a->target) : NULL;
    if (to) {
        acd_caller_move(c, to, wait);
        return true;
    }
    /* A retired queue's target may be gone since a reload: hang up. */
    if (a->kind == ACD_OVF_HANGUP || a->kind == ACD_OVF_QUEUE)
        (void)c->s->tel.vt->hangup(c->s->tel.impl, c->leg, 0, PLT_BY_SYSTEM);
    else
        pending_start(c, why, a);
    acd_caller_remove(c);
    return false;
}

static acd_pending *
pending_by(acd *s, const char *leg_id, const char *rec_id)
{
    for (acd_pending *p = s->pending; p; p = p->next) {
        if (leg_id && strcmp(p->leg_id, leg_id) == 0)
            return p;
        if (rec_id && p->rec_id[0] && strcmp(p->rec_id, rec_id) == 0)
            return p;
    }
    return NULL;
}

static void
voicemail_done(acd_pending *p, const plt_event *ev)
{
    acd *s = p->s;
    int64_t dur = plt_event_i64(ev, "duration_ms", 0);
    const char *path = plt_event_str(ev, "path");
    if (!path)
        path = p->path ? p->path : "";
    char *number = remote_of(s, p->leg);
    plt_value args[7] = {
        PLT_V_STR(p->queue),  number ? PLT_V_STR(number) : PLT_V_NULL(),
        PLT_V_STR(p->leg_id), PLT_V_STR(p->id),
        PLT_V_STR(path),      PLT_V_I64(dur),
        PLT_V_TIME(plt_now())};
    store(s, "voicemail",
          "INSERT INTO acd_voicemail (queue, number, leg_id, request_id, path,"
          " duration_ms, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
          args, 7);
    acd_queue *q = acd_queue_find(s, p->queue);
    if (q)
        q->day.voicemails++;
    plt_event *out = pending_event(p, "queue.voicemail_recorded");
    if (out) {
        plt_event_set_str(out, "path", path);
        plt_event_set_str(out, "number", number ? number : "");
        plt_event_set_i64(out, "duration_ms", dur);
        plt_event_publish(out);
    }
    free(number);
    pending_finish(p);
}

bool
acd_pending_event(acd *s, const plt_event *ev)
{
    if (!s->pending)
        return false;
    const char *topic = plt_event_topic(ev);
    if (strcmp(topic, "call.recording_finished") == 0) {
        acd_pending *p = pending_by(s, NULL, plt_event_str(ev, "recording_id"));
        if (!p)
            return false;
        voicemail_done(p, ev);
        return true;
    }
    acd_pending *p = pending_by(s, plt_event_str(ev, "leg_id"), NULL);
    if (!p)
        return false;
    if (strcmp(topic, "ivr.claimed") == 0) {
        pending_free(p); /* the leg is the IVR's now */
        return true;
    }
    if (strcmp(topic, "call.play_finished") == 0) {
        const char *id = plt_event_str(ev, "play_id");
        if (!id || strcmp(id, p->play_id) != 0)
            return true;
        p->play_id[0] = '\0';
        if (p->kind == ACD_OVF_VOICEMAIL && acd_leg_live(s, p->leg))
            voicemail_record(p);
        else if (p->hangup_after_play)
            pending_finish(p);
        return true;
    }
    if (strcmp(topic, "call.ended") == 0) {
        /* A voicemail being recorded ends with the call: its
         * recording_finished comes and finishes it. */
        if (!p->rec_id[0])
            pending_free(p);
        return true;
    }
    return true;
}
