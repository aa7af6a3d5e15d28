/* SPDX-License-Identifier: MIT */
/*
 * Live figures of a queue, computed on demand from the callers in memory,
 * the counters kept since start and the agents service: callers waiting
 * and the longest wait, staffed and available agents, offered / answered /
 * abandoned / overflowed, the service level (answered within the
 * threshold over answered plus abandoned after it) and the estimated wait
 * of a caller joining now: position x average handle time / staffed
 * agents, where the handle time is the average talk time of the queue's
 * completed calls plus its wrap-up (0 until a call has completed).
 */
#include <string.h>

#include "acd_int.h"

static void
on_info(void *arg, int status, const plt_agent_info *i)
{
    int32_t *st = arg;
    *st = (status == 0 && i) ? i->state : PLT_AGENT_LOGGED_OUT;
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
    for (size_t i = 0; i < q->nagents; i++) {
        int32_t state = PLT_AGENT_LOGGED_OUT;
        if (s->ag.vt->get(s->ag.impl, q->agents[i]->login, on_info, &state) !=
            0)
            state = PLT_AGENT_LOGGED_OUT;
        if (state != PLT_AGENT_LOGGED_OUT)
            st.agents_logged_in++;
        if (state == PLT_AGENT_AVAILABLE)
            st.agents_available++;
    }
    st.offered = q->offered;
    st.answered = q->answered;
    st.abandoned = q->abandoned;
    st.overflowed = q->overflowed;
    st.answered_within_sl = q->answered_within_sl;
    uint64_t den = q->answered + q->abandoned_after_sl;
    st.service_level = den ? (double)q->answered_within_sl / (double)den : 1.0;
    st.sl_threshold_ms = q->sl_ms;
    if (q->completed && st.agents_logged_in) {
        int64_t aht = q->talk_total_ms / (int64_t)q->completed + q->wrap_up_ms;
        st.estimated_wait_ms =
            (int64_t)(st.waiting + 1) * aht / (int64_t)st.agents_logged_in;
    }
    cb(arg, 0, &st);
    return 0;
}
