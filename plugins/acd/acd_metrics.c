/* SPDX-License-Identifier: MIT */
/*
 * The ACD's figures on /metrics, through the optional `http` service's
 * metrics()/metric(): per queue, callers waiting and the longest wait,
 * calls being answered by an agent, agents logged in and available, the
 * service level and its threshold, the estimated wait, and the counters
 * of the day (offered, answered, abandoned, overflowed; they restart at
 * the site's local midnight). Computed at each scrape with acd_stats(),
 * the same figures the supervisor view shows.
 * Without the web plugin nothing is registered.
 */
#include <stdio.h>

#include "acd_int.h"
#include <plateau/svc/http.h>

static struct {
    acd *s; /* NULL once stopped: a scrape then adds nothing */
    plt_http h;
} am;

typedef struct scrape_ctx {
    plt_http_metrics *m;
    const acd_queue *q;
    uint32_t bridged;
} scrape_ctx;

static void
on_stats(void *arg, int status, const plt_queue_stats *st)
{
    scrape_ctx *x = arg;
    if (status != 0 || !st)
        return;
    plt_http_metrics *m = x->m;
    char l[256];
    plt_http_metric_label(l, sizeof(l), "queue", st->queue, NULL);
    plt_http_metric(&am.h, m, "plateau_queue_waiting", "gauge",
                    "callers waiting in the queue (not yet with an agent)", l,
                    st->waiting);
    plt_http_metric(&am.h, m, "plateau_queue_longest_wait_seconds", "gauge",
                    "wait of the caller waiting longest (0 when nobody waits)",
                    l, (double)st->longest_wait_ms / 1000.0);
    plt_http_metric(&am.h, m, "plateau_queue_calls_in_progress", "gauge",
                    "queue calls an agent has answered and is on", l,
                    x->bridged);
    plt_http_metric(
        &am.h, m, "plateau_queue_service_level", "gauge",
        "answered within the threshold / (answered + abandoned after "
        "it), today (1 before any call)",
        l, st->service_level);
    plt_http_metric(&am.h, m, "plateau_queue_service_level_threshold_seconds",
                    "gauge", "the queue's service level threshold", l,
                    (double)x->q->sl_ms / 1000.0);
    plt_http_metric(&am.h, m, "plateau_queue_estimated_wait_seconds", "gauge",
                    "estimated wait of a caller joining now", l,
                    (double)st->estimated_wait_ms / 1000.0);
    plt_http_metric_label(l, sizeof(l), "queue", st->queue,
                          "state=\"logged_in\"");
    plt_http_metric(&am.h, m, "plateau_queue_agents", "gauge",
                    "agents of the queue logged in, and available", l,
                    st->agents_logged_in);
    plt_http_metric_label(l, sizeof(l), "queue", st->queue,
                          "state=\"available\"");
    plt_http_metric(&am.h, m, "plateau_queue_agents", "gauge",
                    "agents of the queue logged in, and available", l,
                    st->agents_available);
    static const char *const outcome[] = {"offered", "answered", "abandoned",
                                          "overflowed"};
    const uint64_t n[] = {st->offered, st->answered, st->abandoned,
                          st->overflowed};
    for (size_t i = 0; i < 4; i++) {
        char o[40];
        snprintf(o, sizeof(o), "outcome=\"%s\"", outcome[i]);
        plt_http_metric_label(l, sizeof(l), "queue", st->queue, o);
        plt_http_metric(
            &am.h, m, "plateau_queue_calls_total", "counter",
            "queue calls today (since the site's local midnight), by "
            "outcome",
            l, (double)n[i]);
    }
}

static void
scrape(void *arg, plt_http_metrics *m)
{
    (void)arg;
    acd *s = am.s;
    if (!s)
        return;
    for (size_t i = 0; i < s->nq; i++) {
        scrape_ctx x = {.m = m, .q = &s->q[i]};
        for (const acd_caller *c = s->callers; c; c = c->next)
            if (c->q == &s->q[i] && c->state == ACD_BRIDGED)
                x.bridged++;
        acd_stats(s, s->q[i].name, on_stats, &x);
    }
}

void
acd_metrics_start(acd *s)
{
    /* Registering again is a no-op; scrape() adds nothing once stopped.
     * Without the web plugin there is no /metrics; figures are not worth
     * failing the start for. */
    int rc = plt_http_metrics_source(&am.h, scrape, NULL);
    if (rc == 0)
        am.s = s;
    else if (rc != PLT_ENOSERVICE)
        plt_log_err(PLT_LOG_WARN, rc, "acd: no figures on /metrics");
}

void
acd_metrics_stop(void)
{
    am.s = NULL;
}
