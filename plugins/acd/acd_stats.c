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
 * calls plus its wrap-up, or aht_default before any call completed. */
static int64_t
ewt_of(const acd_queue *q, const acd_staffing *st, size_t position)
{
    uint32_t serving = st->logged_in - st->paused;
    int64_t aht = q->completed
                      ? q->talk_total_ms / (int64_t)q->completed + q->wrap_up_ms
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

int
acd_stats(void *impl, const char *queue, plt_queue_stats_fn cb, void *arg)
{
    acd *s = impl;
    if (!cb)
        return PLT_EINVAL;
    acd_queue *q = acd_queue_find(s, queue);
    if (!q)
        return PLT_ENOENT;
    plt_queue_stats st;
    memset(&st, 0, sizeof(st));
    st.queue = q->name;
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
    st.offered = q->offered;
    st.answered = q->answered;
    st.abandoned = q->abandoned;
    st.overflowed = q->overflowed;
    st.answered_within_sl = q->answered_within_sl;
    uint64_t den = q->answered + q->abandoned_after_sl;
    st.service_level = den ? (double)q->answered_within_sl / (double)den : 1.0;
    st.sl_threshold_ms = q->sl_ms;
    int64_t ewt = ewt_of(q, &sf, st.waiting + 1);
    st.estimated_wait_ms = ewt > 0 ? ewt : 0;
    st.agents_paused = sf.paused;
    for (int i = 0; i < ACD_WHY_N; i++)
        st.overflowed_by[i] = q->overflowed_by[i];
    st.callbacks = q->callbacks;
    st.voicemails = q->voicemails;
    st.open = schedule_open_at(&q->sched, now);
    cb(arg, 0, &st);
    return 0;
}
