/* SPDX-License-Identifier: MIT */
/*
 * The agents plugin's figures on /metrics, through the optional `http`
 * service's metrics()/metric(): agents by state, the longest time an
 * agent has been in each state (a pause that runs over shows here), calls
 * agents are on (inbound and outbound) and state changes since start.
 * Computed at each scrape from the records in memory; nothing is kept.
 * Without the web plugin nothing is registered.
 */
#include <stdio.h>

#include "agents_int.h"
#include <plateau/svc/http.h>

static struct {
    agents *s; /* NULL once stopped: a scrape then adds nothing */
    plt_http h;
} am;

static void
scrape(void *arg, plt_http_metrics *m)
{
    (void)arg;
    agents *s = am.s;
    if (!s)
        return;
    enum { NSTATES = PLT_AGENT_OUTBOUND + 1 };
    uint64_t count[NSTATES] = {0}, changes = 0;
    int64_t oldest[NSTATES] = {0};
    int64_t now = plt_now();
    for (size_t i = 0; i < s->n; i++) {
        const agent *a = s->v[i];
        changes += a->changes;
        if (a->state < PLT_AGENT_LOGGED_OUT || a->state >= NSTATES)
            continue;
        count[a->state]++;
        if (now - a->since > oldest[a->state])
            oldest[a->state] = now - a->since;
    }
    for (int32_t st = PLT_AGENT_LOGGED_OUT; st < NSTATES; st++) {
        char l[48];
        snprintf(l, sizeof(l), "state=\"%s\"", plt_agent_state_name(st));
        plt_http_metric(&am.h, m, "plateau_agents", "gauge",
                        "agents by state (every agent seen since start)", l,
                        (double)count[st]);
    }
    for (int32_t st = PLT_AGENT_CONNECTING; st < NSTATES; st++) {
        char l[48];
        snprintf(l, sizeof(l), "state=\"%s\"", plt_agent_state_name(st));
        plt_http_metric(
            &am.h, m, "plateau_agents_longest_in_state_seconds", "gauge",
            "longest time an agent has been in the state now (0 when "
            "nobody is)",
            l, (double)oldest[st] / 1000.0);
    }
    plt_http_metric(
        &am.h, m, "plateau_agent_calls_in_progress", "gauge",
        "calls an agent is on: queue calls and outbound calls", NULL,
        (double)(count[PLT_AGENT_IN_CALL] + count[PLT_AGENT_OUTBOUND]));
    plt_http_metric(&am.h, m, "plateau_agent_state_changes_total", "counter",
                    "agent state changes since start", NULL, (double)changes);
}

void
agents_metrics_start(agents *s)
{
    /* Registering again is a no-op; scrape() adds nothing once stopped.
     * Without the web plugin there is no /metrics; figures are not worth
     * failing the start for. */
    int rc = plt_http_metrics_source(&am.h, scrape, NULL);
    if (rc == 0)
        am.s = s;
    else if (rc != PLT_ENOSERVICE)
        plt_log_err(PLT_LOG_WARN, rc, "agents: no figures on /metrics");
}

void
agents_metrics_stop(void)
{
    am.s = NULL;
}
