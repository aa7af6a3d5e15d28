/* SPDX-License-Identifier: MIT */
/*
 * The acd plugin: descriptor, configuration schema and lifecycle. It
 * provides the `acd` service 1.0 (plateau/svc/acd.h) on top of the
 * `agents` and `telephony` services. init() reads the queues and agent
 * assignments and registers the service; start() acquires the services it
 * drives and subscribes to agent state changes (an agent becoming
 * available re-runs distribution) and call events (inbound legs on a
 * queue's DIDs, callers hanging up, bridged calls ending); stop() cancels
 * every timer; reconfigure() reloads queues and agents (acd_reload.c).
 * The concepts live in acd_queue.c, acd_strategy.c, acd_offer.c,
 * acd_overflow.c, acd_announce.c, acd_stats.c and acd_reload.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "acd_http.h"
#include "acd_int.h"

static const plt_cfg_key queue_keys[] = {
    {.name = "name",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_REQUIRED | PLT_CFG_RELOADABLE,
     .help = "queue name"},
    {.name = "strategy",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_RELOADABLE,
     .def = "longest_idle",
     .choices = acd_strategy_names,
     .help = "how an agent is chosen"},
    {.name = "skills",
     .type = PLT_CFG_LIST,
     .flags = PLT_CFG_RELOADABLE,
     .help = "required skills as \"skill:level\" (0-100)"},
    {.name = "relax_after",
     .type = PLT_CFG_DURATION,
     .flags = PLT_CFG_RELOADABLE,
     .def = "0",
     .help = "after this wait, required levels drop by relax_step (0 = never)"},
    {.name = "relax_step",
     .type = PLT_CFG_INT,
     .flags = PLT_CFG_RELOADABLE,
     .def = "10",
     .min = 0,
     .max = 100,
     .help = "levels dropped at each relaxation"},
    {.name = "offer_timeout",
     .type = PLT_CFG_DURATION,
     .flags = PLT_CFG_RELOADABLE,
     .def = "15s",
     .help = "an offer not taken within this is missed"},
    {.name = "wrap_up",
     .type = PLT_CFG_DURATION,
     .flags = PLT_CFG_RELOADABLE,
     .def = "30s",
     .help = "wrap-up after each call (agents.call_ended)"},
    {.name = "sl_threshold",
     .type = PLT_CFG_DURATION,
     .flags = PLT_CFG_RELOADABLE,
     .def = "20s",
     .help = "service-level threshold"},
    {.name = "max_wait",
     .type = PLT_CFG_DURATION,
     .flags = PLT_CFG_RELOADABLE,
     .def = "0",
     .help = "then the overflow action (0 = none)"},
    {.name = "overflow",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_RELOADABLE,
     .def = "none",
     .help = "after max_wait: none | hangup | queue:<name> | message:<wav> "
             "| ivr:<entry> | callback | voicemail"},
    {.name = "closed",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_RELOADABLE,
     .def = "none",
     .help = "action for a caller joining outside opening hours (as overflow)"},
    {.name = "close_waiting",
     .type = PLT_CFG_BOOL,
     .flags = PLT_CFG_RELOADABLE,
     .def = "false",
     .help = "at closing time, callers still waiting get the closed action"},
    {.name = "no_agents",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_RELOADABLE,
     .def = "none",
     .help = "action when no agent of the queue is logged in"},
    {.name = "all_paused",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_RELOADABLE,
     .def = "none",
     .help = "action when every logged-in agent of the queue is paused"},
    {.name = "full",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_RELOADABLE,
     .def = "none",
     .help = "action for a caller joining when max_size callers wait"},
    {.name = "max_size",
     .type = PLT_CFG_INT,
     .flags = PLT_CFG_RELOADABLE,
     .def = "0",
     .min = 0,
     .help = "callers waiting at most (0 = no limit)"},
    {.name = "time_zone",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_RELOADABLE,
     .help = "zone of hours and holidays (default: the plugin's time_zone)"},
    {.name = "hours",
     .type = PLT_CFG_LIST,
     .flags = PLT_CFG_RELOADABLE,
     .help = "opening hours, e.g. \"mon-fri 08:00-18:00\" (none = always)"},
    {.name = "holidays",
     .type = PLT_CFG_LIST,
     .flags = PLT_CFG_RELOADABLE,
     .help = "closed days: MM-DD, YYYY-MM-DD, easter_monday, ascension, "
             "whit_monday, easter+N"},
    {.name = "voicemail_prompt",
     .type = PLT_CFG_PATH,
     .flags = PLT_CFG_RELOADABLE,
     .help = "WAV played before a voicemail is recorded"},
    {.name = "voicemail_max",
     .type = PLT_CFG_DURATION,
     .flags = PLT_CFG_RELOADABLE,
     .def = "2m",
     .help = "longest voicemail message"},
    {.name = "callback_list",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_RELOADABLE,
     .help = "leads list receiving callback requests (with the leads "
             "service; else the acd_callback table)"},
    {.name = "callback_prompt",
     .type = PLT_CFG_PATH,
     .flags = PLT_CFG_RELOADABLE,
     .help = "WAV played once a callback is recorded"},
    {.name = "hold_music",
     .type = PLT_CFG_PATH,
     .flags = PLT_CFG_RELOADABLE,
     .help = "WAV played (looped) while waiting"},
    {.name = "prompts",
     .type = PLT_CFG_LIST,
     .flags = PLT_CFG_RELOADABLE,
     .help = "estimated-wait prompt directories as \"<language>:<dir>\""},
    {.name = "language",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_RELOADABLE,
     .help = "default prompt language (request variable `language` wins)"},
    {.name = "announce",
     .type = PLT_CFG_BOOL,
     .flags = PLT_CFG_RELOADABLE,
     .def = "true",
     .help = "announce the estimated wait on join (with prompts)"},
    {.name = "announce_every",
     .type = PLT_CFG_DURATION,
     .flags = PLT_CFG_RELOADABLE,
     .def = "0",
     .help = "announce it again at this interval (0 = never)"},
    {.name = "aht_default",
     .type = PLT_CFG_DURATION,
     .flags = PLT_CFG_RELOADABLE,
     .def = "0",
     .help = "handle time assumed before a call completed (0 = unknown)"},
    {.name = "dids",
     .type = PLT_CFG_LIST,
     .flags = PLT_CFG_RELOADABLE,
     .help = "inbound DIDs routed to this queue"},
    PLT_CFG_END};

static const plt_cfg_key agent_keys[] = {
    {.name = "agent",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_REQUIRED | PLT_CFG_RELOADABLE,
     .help = "agent login"},
    {.name = "skills",
     .type = PLT_CFG_LIST,
     .flags = PLT_CFG_RELOADABLE,
     .help = "the agent's skills as \"skill:level\""},
    {.name = "queues",
     .type = PLT_CFG_LIST,
     .flags = PLT_CFG_RELOADABLE,
     .help = "queues served"},
    {.name = "offer_ring",
     .type = PLT_CFG_DURATION,
     .flags = PLT_CFG_RELOADABLE,
     .help = "simulated ringing for this agent (overrides offer_ring)"},
    PLT_CFG_END};

static const plt_cfg_key keys[] = {
    {.name = "queues",
     .type = PLT_CFG_TABLE,
     .flags = PLT_CFG_RELOADABLE,
     .sub = queue_keys,
     .help = "the queues"},
    {.name = "agents",
     .type = PLT_CFG_TABLE,
     .flags = PLT_CFG_RELOADABLE,
     .sub = agent_keys,
     .help = "initial agent skills and queues (set_agent replaces)"},
    {.name = "seed",
     .type = PLT_CFG_INT,
     .def = "1",
     .help = "seed of the random strategy"},
    {.name = "offer_ring",
     .type = PLT_CFG_DURATION,
     .flags = PLT_CFG_RELOADABLE,
     .def = "0",
     .help = "simulated ringing before an offer is taken (0 = at once)"},
    {.name = "time_zone",
     .type = PLT_CFG_STR,
     .def = "UTC",
     .help = "the site's zone: queues' hours, midnight counters"},
    {.name = "ivr_claim",
     .type = PLT_CFG_DURATION,
     .flags = PLT_CFG_RELOADABLE,
     .def = "5s",
     .help = "an IVR must claim a caller sent to it within this"},
    {.name = "voicemail_dir",
     .type = PLT_CFG_PATH,
     .help = "where voicemail WAVs go (default: <data>/voicemail)"},
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
    .stats_previous = acd_stats_previous,
    .serves = acd_serves,
};

static acd *the_acd;

/* Storage (optional: callback requests and voicemails are then only
 * published) and the voicemail directory, both at init, where blocking is
 * allowed: migrations must be declared before storage starts. */
static int
storage_and_dirs(acd *s, const plt_cfg *cfg)
{
    if (plt_storage_acquire(&s->st) == 0) {
        int rc = s->st.vt->migrations(s->st.impl, "acd", acd_migrations,
                                      acd_nmigrations);
        if (rc != 0) {
            plt_set_error("cannot declare migrations: %s", plt_strerror(rc));
            return rc;
        }
        s->have_st = true;
    }
    const char *dir = NULL;
    char def[4096];
    if (plt_cfg_path(cfg, "voicemail_dir", &dir) != 0 || !dir) {
        snprintf(def, sizeof(def), "%s/voicemail", plt_data_dir());
        dir = def;
    }
    if (!(s->voicemail_dir = strdup(dir)))
        return PLT_ENOMEM;
    return 0;
}

static int
acd_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    acd *s = calloc(1, sizeof(*s));
    if (!s)
        return PLT_ENOMEM;
    int rc = acd_config_load(s, cfg);
    if (rc == 0)
        rc = storage_and_dirs(s, cfg);
    if (rc != 0) {
        acd_free_all(s);
        free(s->voicemail_dir);
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
    acd_reload_attach(s);
    return 0;
}

static int
acd_start(plt_plugin *self)
{
    (void)self;
    acd *s = the_acd;
    int rc;
    /* Created at start, not init, so that `plateau check` changes nothing
     * on disk (the data folder may not exist yet then). Blocking is allowed
     * here (ADR 0007). */
    if (mkdir(s->voicemail_dir, 0750) != 0 && errno != EEXIST) {
        plt_set_error("cannot create %s: %s", s->voicemail_dir,
                      strerror(errno));
        return PLT_ECONFIG;
    }
    /* Optional: callback requests go to a leads list when configured. */
    s->have_leads = plt_leads_acquire(&s->leads) == 0;
    if ((rc = plt_agents_acquire(&s->ag)) != 0 ||
        (rc = plt_telephony_acquire(&s->tel)) != 0) {
        plt_set_error("cannot acquire agents/telephony: %s", plt_strerror(rc));
        return rc;
    }
    if ((rc = plt_subscribe("agent.state_changed", acd_on_agent_event, s,
                            &s->sub_agent)) != 0 ||
        (rc = plt_subscribe("call.*", acd_on_call_event, s, &s->sub_call)) !=
            0 ||
        (rc = plt_subscribe("ivr.claimed", acd_on_call_event, s,
                            &s->sub_ivr)) != 0) {
        plt_set_error("cannot subscribe: %s", plt_strerror(rc));
        return rc;
    }
    if ((rc = acd_days_start(s)) != 0) {
        plt_set_error("cannot schedule midnight: %s", plt_strerror(rc));
        return rc;
    }
    acd_hours_start(s);
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
    acd_days_stop(s);
    acd_hours_stop(s);
    acd_stop_all(s);
    if (s->sub_agent)
        plt_unsubscribe(s->sub_agent);
    if (s->sub_call)
        plt_unsubscribe(s->sub_call);
    if (s->sub_ivr)
        plt_unsubscribe(s->sub_ivr);
    s->sub_agent = s->sub_call = s->sub_ivr = NULL;
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
    acd_reload_attach(NULL);
    acd_stop_all(the_acd);
    acd_free_all(the_acd);
    free(the_acd->voicemail_dir);
    free(the_acd);
    the_acd = NULL;
}

static int
acd_reconfigure(plt_plugin *self, const plt_cfg *cfg, plt_reconf_phase phase)
{
    (void)self;
    if (!the_acd)
        return PLT_ESTATE;
    return acd_reload(the_acd, cfg, phase == PLT_RECONF_APPLY);
}

static const plt_dep needs[] = {
    {.service = PLT_AGENTS_NAME, .major = 1},
    {.service = PLT_TELEPHONY_NAME, .major = 1},
    {.service = PLT_LEADS_NAME, .major = 1, .flags = PLT_DEP_OPTIONAL},
    {.service = PLT_STORAGE_NAME, .major = 1, .flags = PLT_DEP_OPTIONAL},
    {.service = PLT_HTTP_NAME,
     .major = PLT_HTTP_MAJOR,
     .flags = PLT_DEP_OPTIONAL},
    {0}};
static const char *const provides[] = {PLT_ACD_NAME, NULL};

PLT_PLUGIN_DEFINE(.name = "acd", .version = "1.0.0",
                  .summary = "Queues distributing calls to agents",
                  .needs = needs, .provides = provides, .config_keys = keys,
                  .init = acd_init, .start = acd_start, .stop = acd_stop,
                  .fini = acd_fini, .reconfigure = acd_reconfigure);
