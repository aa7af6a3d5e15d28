/* SPDX-License-Identifier: MIT */
/*
 * Live figures of a queue, computed on demand from the callers in memory,
 * the counters kept since start and the agents service: callers waiting
 * and the longest wait, staffed and available agents, offered / answered /
 * abandoned / overflowed, the service level (answered within the
 * threshold over answered plus abandoned after it), overflows by reason,
 * callbacks and voicemails, whether the queue is open, and the estimated
 * wait of a caller joining now: position x average handle time / agents
 * serving (logged in, not paused), where the handle time is the average
 * talk time of the queue's completed calls plus its wrap-up, or
 * aht_default until a call has completed.
 */
#include <string.h>

#include "acd_int.h"

static void
on_info(void *arg, int status, const plt_agent_info *i)
{
    int32_t *st = arg;
    *st = (status == 0 && i) ? i->state : PLT_AGENT_LOGGED_OUT;
}

void
acd_staffing_of(acd *s, const acd_queue *q, acd_staffing *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < q->nagents; i++) {
        int32_t state = PLT_AGENT_LOGGED_OUT;
        if (s->ag.vt->get(s->ag.impl, q->agents[i]->login, on_info, &state) !=
            0)
            state = PLT_AGENT_LOGGED_OUT;
        if (state != PLT_AGENT_LOGGED_OUT)
            out->logged_in++;
        if (state == PLT_AGENT_AVAILABLE)
            out->available++;
        if (state == PLT_AGENT_PAUSE)
            out->paused++;
    }
}

/* Position x average handle time / agents serving (logged in, not
 * paused). The handle time is the average talk of the queue's completed
 * calls today (else the day before) plus its wrap-up, or aht_default
 * before any call completed. */
static int64_t
ewt_of(const acd_queue *q, const acd_staffing *st, size_t position)
{
    uint32_t serving = st->logged_in - st->paused;
    const acd_counters *k = q->day.completed ? &q->day : &q->prev;
    int64_t aht = k->completed
                      ? k->talk_total_ms / (int64_t)k->completed + q->wrap_up_ms
                      : q->aht_default_ms;
    if (!serving || aht <= 0)
        return -1;
    return (int64_t)position * aht / (int64_t)serving;
}

int64_t
acd_estimated_wait(acd *s, const acd_queue *q, size_t position)
{
    acd_staffing st;
    acd_staffing_of(s, q, &st);
    return ewt_of(q, &st, position);
}

static void
counters_to(const acd_counters *k, plt_queue_stats *st)
{
    st->offered = k->offered;
    st->answered = k->answered;
    st->abandoned = k->abandoned;
    st->overflowed = k->overflowed;
    st->answered_within_sl = k->answered_within_sl;
    uint64_t den = k->answered + k->abandoned_after_sl;
    st->service_level = den ? (double)k->answered_within_sl / (double)den : 1.0;
    for (int i = 0; i < ACD_WHY_N; i++)
        st->overflowed_by[i] = k->overflowed_by[i];
    st->callbacks = k->callbacks;
    st->voicemails = k->voicemails;
}

static int
stats_begin(acd *s, const char *queue, plt_queue_stats_fn cb, acd_queue **q,
            plt_queue_stats *st)
{
    if (!cb)
        return PLT_EINVAL;
    if (!(*q = acd_queue_find(s, queue)))
        return PLT_ENOENT;
    memset(st, 0, sizeof(*st));
    st->queue = (*q)->name;
    return 0;
}

int
acd_stats(void *impl, const char *queue, plt_queue_stats_fn cb, void *arg)
{
    acd *s = impl;
    plt_queue_stats st;
    acd_queue *q;
    int rc = stats_begin(s, queue, cb, &q, &st);
    if (rc != 0)
        return rc;
    int64_t now = plt_now();
    for (const acd_caller *c = s->callers; c; c = c->next) {
        if (c->q != q || c->state == ACD_BRIDGED)
            continue;
        st.waiting++;
        if (now - c->joined_at > st.longest_wait_ms)
            st.longest_wait_ms = now - c->joined_at;
    }
    acd_staffing sf;
    acd_staffing_of(s, q, &sf);
    st.agents_logged_in = sf.logged_in;
    st.agents_available = sf.available;
    counters_to(&q->day, &st);
    st.sl_threshold_ms = q->sl_ms;
    st.agents_paused = sf.paused;
    st.open = schedule_open_at(&q->sched, now);
    st.period_start_ms = s->day_start_ms;
    int64_t ewt = ewt_of(q, &sf, st.waiting + 1);
    st.estimated_wait_ms = ewt > 0 ? ewt : 0;
    cb(arg, 0, &st);
    return 0;
}

int
acd_stats_previous(void *impl, const char *queue, plt_queue_stats_fn cb,
                   void *arg)
{
    acd *s = impl;
    plt_queue_stats st;
    acd_queue *q;
    int rc = stats_begin(s, queue, cb, &q, &st);
    if (rc != 0)
        return rc;
    if (!s->prev_start_ms)
        return PLT_ENOENT; /* no day has ended since start */
    counters_to(&q->prev, &st);
    st.waiting = (uint32_t)q->prev.carried;
    st.sl_threshold_ms = q->sl_ms;
    st.period_start_ms = s->prev_start_ms;
    st.period_end_ms = s->day_start_ms;
    cb(arg, 0, &st);
    return 0;
}

/* ---- days ---- */

static int64_t
local_midnight_before(const schedule_zone *z, int64_t at)
{
    schedule_local l;
    if (schedule_local_time(z, at, &l) != 0)
        return at;
    return schedule_utc_of(z, l.year, l.month, l.day, 0);
}

static void on_midnight(void *arg);

static int
arm_midnight(acd *s)
{
    int64_t now = plt_now();
    int64_t next = schedule_next_midnight(s->site_zone, s->day_start_ms);
    if (next <= s->day_start_ms)
        return PLT_EINVAL;
    return plt_timer_start(&s->midnight_timer,
                           (uint64_t)(next > now ? next - now : 0), 0,
                           on_midnight, s);
}

/* The day is over: its counters become the previous day's, and callers
 * still waiting are carried into the new day (counted offered in both,
 * so that each day's offered = answered + abandoned + overflowed +
 * waiting at its end). */
static void
on_midnight(void *arg)
{
    acd *s = arg;
    s->midnight_timer = NULL; /* one-shot: released by the core */
    int64_t midnight = schedule_next_midnight(s->site_zone, s->day_start_ms);
    for (size_t i = 0; i < s->nq; i++) {
        acd_queue *q = &s->q[i];
        uint64_t waiting = 0;
        for (const acd_caller *c = s->callers; c; c = c->next)
            waiting += c->q == q && c->state != ACD_BRIDGED;
        q->prev = q->day;
        q->prev.carried = waiting;
        memset(&q->day, 0, sizeof(q->day));
        q->day.offered = waiting;
    }
    s->prev_start_ms = s->day_start_ms;
    s->day_start_ms = midnight;
    plt_log(PLT_LOG_INFO, "acd: new day in %s; counters restarted",
            schedule_zone_name(s->site_zone));
    plt_event *ev;
    if (plt_event_new(&ev, "acd.day_ended", 1) == 0) {
        plt_event_set_i64(ev, "period_start_ms", s->prev_start_ms);
        plt_event_set_i64(ev, "period_end_ms", s->day_start_ms);
        plt_event_publish(ev);
    }
    int rc = arm_midnight(s);
    if (rc != 0)
        plt_log_err(PLT_LOG_ERROR, rc,
                    "acd: cannot schedule the next midnight");
}

int
acd_days_start(acd *s)
{
    s->day_start_ms = local_midnight_before(s->site_zone, plt_now());
    return arm_midnight(s);
}

void
acd_days_stop(acd *s)
{
    if (s->midnight_timer) {
        plt_timer_stop(s->midnight_timer);
        s->midnight_timer = NULL;
    }
}
