/* SPDX-License-Identifier: MIT */
/*
 * The dialer's pacing figures on /metrics, through the optional `http`
 * service's metrics()/metric(): per campaign, whether it is switched on,
 * the lines in flight and the lines the last pacing decision asked for,
 * attempts and answers since start, the hit rate (live answers per
 * attempt), and the abandon rate in the pack's window against its limit.
 * Computed at each scrape with the same figures as campaign_stats().
 * Without the web plugin nothing is registered.
 */
#include <stdio.h>

#include "dialer_int.h"
#include <plateau/svc/http.h>

static struct {
    dialer *D; /* NULL once stopped: a scrape then adds nothing */
    plt_http h;
} am;

typedef struct scrape_ctx {
    plt_http_metrics *m;
    const campaign *c;
} scrape_ctx;

static void
on_stats(void *arg, int status, const plt_dialer_stats *st)
{
    scrape_ctx *x = arg;
    if (status != 0 || !st)
        return;
    plt_http_metrics *m = x->m;
    char l[256];
    plt_http_metric_label(l, sizeof(l), "campaign", st->campaign, NULL);
    plt_http_metric(&am.h, m, "plateau_dialer_campaign_enabled", "gauge",
                    "1 when the campaign is switched on", l,
                    st->enabled ? 1 : 0);
    plt_http_metric(
        &am.h, m, "plateau_dialer_lines", "gauge",
        "lines in flight: dialling, ringing, or answered and waiting "
        "for an agent",
        l, st->lines_in_flight);
    plt_http_metric(&am.h, m, "plateau_dialer_lines_decided", "gauge",
                    "new lines the last pacing decision asked for", l,
                    x->c->last_lines);
    plt_http_metric(
        &am.h, m, "plateau_dialer_hit_rate", "gauge",
        "live answers per attempt since start (0 before any attempt)", l,
        st->attempts ? (double)st->answered / (double)st->attempts : 0);
    plt_http_metric(&am.h, m, "plateau_dialer_abandon_rate", "gauge",
                    "abandoned / live answers in the pack's abandonment window",
                    l, st->abandon_rate);
    plt_http_metric(&am.h, m, "plateau_dialer_abandon_limit", "gauge",
                    "the pack's abandon rate limit (0 = none)", l,
                    st->abandon_limit);
    plt_http_metric(&am.h, m, "plateau_dialer_attempts_total", "counter",
                    "calls placed since start", l, (double)st->attempts);
    static const char *const kind[] = {"live", "machine", "abandoned"};
    const uint64_t n[] = {st->answered, st->machines, st->abandoned};
    for (size_t i = 0; i < 3; i++) {
        char k[32];
        snprintf(k, sizeof(k), "outcome=\"%s\"", kind[i]);
        plt_http_metric_label(l, sizeof(l), "campaign", st->campaign, k);
        plt_http_metric(
            &am.h, m, "plateau_dialer_answers_total", "counter",
            "answered calls since start: by a person, by a machine, and "
            "those abandoned (no agent in time)",
            l, (double)n[i]);
    }
}

static void
scrape(void *arg, plt_http_metrics *m)
{
    (void)arg;
    dialer *D = am.D;
    if (!D)
        return;
    for (size_t i = 0; i < D->ncamps; i++) {
        scrape_ctx x = {.m = m, .c = D->camps[i]};
        dialer_svc_stats(D, D->camps[i]->def.c.name, on_stats, &x);
    }
}

void
dialer_metrics_start(dialer *D)
{
    /* Registering again is a no-op; scrape() adds nothing once stopped.
     * Without the web plugin there is no /metrics; figures are not worth
     * failing the start for. */
    int rc = plt_http_metrics_source(&am.h, scrape, NULL);
    if (rc == 0)
        am.D = D;
    else if (rc != PLT_ENOSERVICE)
        plt_log_err(PLT_LOG_WARN, rc, "dialer: no figures on /metrics");
}

void
dialer_metrics_stop(void)
{
    am.D = NULL;
}
