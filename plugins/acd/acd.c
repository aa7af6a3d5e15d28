/* SPDX-License-Identifier: MIT */
/*
 * The acd plugin: descriptor, configuration schema and lifecycle. It
 * provides the `acd` service 1.0 (plateau/svc/acd.h) on top of the
 * `agents` and `telephony` services. init() reads the queues and agent
 * assignments and registers the service; start() acquires the services it
 * drives and subscribes to agent state changes (an agent becoming
 * available re-runs distribution) and call events (inbound legs on a
 * queue's DIDs, callers hanging up, bridged calls ending); stop() cancels
 * every timer. The concepts live in acd_queue.c, acd_strategy.c,
 * acd_offer.c and acd_stats.c.
 */
#include <stdlib.h>
#include <string.h>

#include "acd_http.h"
#include "acd_int.h"

static const plt_cfg_key queue_keys[] = {
    {.name = "name", .type = PLT_CFG_STR, .flags = PLT_CFG_REQUIRED,
     .help = "queue name"},
    {.name = "strategy", .type = PLT_CFG_STR, .def = "longest_idle",
     .choices = acd_strategy_names, .help = "how an agent is chosen"},
    {.name = "skills", .type = PLT_CFG_LIST,
     .help = "required skills as \"skill:level\" (0-100)"},
    {.name = "relax_after", .type = PLT_CFG_DURATION, .def = "0",
     .help = "after this wait, required levels drop by relax_step (0 = never)"},
    {.name = "relax_step", .type = PLT_CFG_INT, .def = "10", .min = 0,
     .max = 100, .help = "levels dropped at each relaxation"},
    {.name = "offer_timeout", .type = PLT_CFG_DURATION, .def = "15s",
     .help = "an offer not taken within this is missed"},
    {.name = "wrap_up", .type = PLT_CFG_DURATION, .def = "30s",
     .help = "wrap-up after each call (agents.call_ended)"},
    {.name = "sl_threshold", .type = PLT_CFG_DURATION, .def = "20s",
     .help = "service-level threshold"},
    {.name = "max_wait", .type = PLT_CFG_DURATION, .def = "0",
     .help = "then the overflow action (0 = none)"},
    {.name = "overflow", .type = PLT_CFG_STR, .def = "none",
     .help = "none | hangup | queue:<name>"},
    {.name = "hold_music", .type = PLT_CFG_PATH,
     .help = "WAV played (looped) while waiting"},
    {.name = "dids", .type = PLT_CFG_LIST,
     .help = "inbound DIDs routed to this queue"},
    PLT_CFG_END};

static const plt_cfg_key agent_keys[] = {
    {.name = "agent", .type = PLT_CFG_STR, .flags = PLT_CFG_REQUIRED,
     .help = "agent login"},
    {.name = "skills", .type = PLT_CFG_LIST,
     .help = "the agent's skills as \"skill:level\""},
    {.name = "queues", .type = PLT_CFG_LIST, .help = "queues served"},
    {.name = "offer_ring", .type = PLT_CFG_DURATION,
     .help = "simulated ringing for this agent (overrides offer_ring)"},
    PLT_CFG_END};

static const plt_cfg_key keys[] = {
    {.name = "queues", .type = PLT_CFG_TABLE, .sub = queue_keys,
     .help = "the queues"},
    {.name = "agents", .type = PLT_CFG_TABLE, .sub = agent_keys,
     .help = "initial agent skills and queues (set_agent replaces)"},
    {.name = "seed", .type = PLT_CFG_INT, .def = "1",
     .help = "seed of the random strategy"},
    {.name = "offer_ring", .type = PLT_CFG_DURATION, .def = "0",
     .help = "simulated ringing before an offer is taken (0 = at once)"},
    PLT_CFG_END};

static const plt_acd_vt acd_vt = {
    .size = sizeof(plt_acd_vt),
    .enqueue = acd_enqueue,
    .cancel = acd_cancel,
    .set_agent = acd_set_agent,
    .dry_run = acd_dry_run,
    .stats = acd_stats,
    .queue_count = acd_queue_count,
    .queue_at = acd_queue_at,
};

static acd *the_acd;

static int
acd_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    acd *s = calloc(1, sizeof(*s));
    if (!s)
        return PLT_ENOMEM;
    int rc = acd_config_load(s, cfg);
    if (rc != 0) {
        acd_free_all(s);
        free(s);
        return rc;
    }
    plt_service_desc d = {.size = sizeof(d),
                          .major = PLT_ACD_MAJOR,
                          .minor = PLT_ACD_MINOR,
                          .name = PLT_ACD_NAME,
                          .vtable = &acd_vt,
                          .impl = s};
    rc = plt_service_provide(&d);
    if (rc != 0) {
        acd_free_all(s);
        free(s);
        return rc;
    }
    the_acd = s;
    return 0;
}

static int
acd_start(plt_plugin *self)
{
    (void)self;
    acd *s = the_acd;
    int rc;
    if ((rc = plt_agents_acquire(&s->ag)) != 0 ||
        (rc = plt_telephony_acquire(&s->tel)) != 0) {
        plt_set_error("cannot acquire agents/telephony: %s",
                      plt_strerror(rc));
        return rc;
    }
    if ((rc = plt_subscribe("agent.state_changed", acd_on_agent_event, s,
                            &s->sub_agent)) != 0 ||
        (rc = plt_subscribe("call.*", acd_on_call_event, s, &s->sub_call)) !=
            0) {
        plt_set_error("cannot subscribe: %s", plt_strerror(rc));
        return rc;
    }
    if ((rc = acd_http_start(s)) != 0) {
        plt_set_error("cannot register the web routes: %s", plt_strerror(rc));
        return rc;
    }
    acd_metrics_start(s);
    s->started = true;
    return 0;
}

static int
acd_stop(plt_plugin *self)
{
    (void)self;
    acd *s = the_acd;
    s->started = false;
    acd_http_stop();
    acd_metrics_stop();
    acd_stop_all(s);
    if (s->sub_agent)
        plt_unsubscribe(s->sub_agent);
    if (s->sub_call)
        plt_unsubscribe(s->sub_call);
    s->sub_agent = s->sub_call = NULL;
    return 0;
}

static void
acd_fini(plt_plugin *self)
{
    (void)self;
    acd_http_stop();
    if (!the_acd)
        return;
    /* Timers are gone after stop(); never start new ones while freeing. */
    acd_stop_all(the_acd);
    acd_free_all(the_acd);
    free(the_acd);
    the_acd = NULL;
}

static const plt_dep needs[] = {{.service = PLT_AGENTS_NAME, .major = 1},
                                {.service = PLT_TELEPHONY_NAME, .major = 1},
                                {.service = PLT_HTTP_NAME,
                                 .major = PLT_HTTP_MAJOR,
                                 .flags = PLT_DEP_OPTIONAL},
                                {0}};
static const char *const provides[] = {PLT_ACD_NAME, NULL};

PLT_PLUGIN_DEFINE(.name = "acd", .version = "1.0.0",
                  .summary = "Queues distributing calls to agents",
                  .needs = needs, .provides = provides, .config_keys = keys,
                  .init = acd_init, .start = acd_start, .stop = acd_stop,
                  .fini = acd_fini);
