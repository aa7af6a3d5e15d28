/* SPDX-License-Identifier: MIT */
/*
 * The dialer plugin: descriptor, configuration schema and lifecycle. It
 * provides the `dialer` service 1.0 (plateau/svc/dialer.h). init() loads
 * the compliance packs and the configured campaigns and declares the
 * tables; start() acquires leads, telephony, agents and acd, loads the
 * stored campaigns, ON/OFF switches, callbacks and abandonment windows,
 * recovers the attempts a crash left in flight, then starts dialling.
 * The concepts live in dialer_campaign.c, dialer_compliance.c,
 * dialer_hours.c, dialer_store.c, dialer_engine.c and
 * dialer_pacing_glue.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialer_int.h"
#include "dialer_http.h"

dialer *dialer_the;

static const char *const types[] = {"sale", "appointment", "survey", "other",
                                    NULL};
static const char *const modes[] = {"preview", "progressive", "power",
                                    "predictive", NULL};
static const char *const orders[] = {"order", "schedule", NULL};
static const char *const retry_on[] = {"no_answer", "busy", "machine",
                                       "congestion", "abandoned", NULL};
static const char *const kinds[] = {"success", "final", "refusal", "callback",
                                    "retry", "dnc", NULL};
static const char *const phone_types[] = {"mobile", "fixed", "work", "other",
                                          NULL};

static const plt_cfg_key retry_keys[] = {
    {.name = "on", .type = PLT_CFG_STR, .flags = PLT_CFG_REQUIRED,
     .choices = retry_on, .help = "outcome the rule applies to"},
    {.name = "delay", .type = PLT_CFG_DURATION, .def = "1h",
     .help = "wait before the next attempt"},
    {.name = "max", .type = PLT_CFG_INT, .def = "0", .min = 0, .max = 100,
     .help = "attempts after which the contact fails (0 = max_attempts)"},
    PLT_CFG_END};

static const plt_cfg_key dispo_keys[] = {
    {.name = "code", .type = PLT_CFG_STR, .flags = PLT_CFG_REQUIRED,
     .help = "result code"},
    {.name = "label", .type = PLT_CFG_STR, .help = "shown to agents"},
    {.name = "kind", .type = PLT_CFG_STR, .def = "final", .choices = kinds,
     .help = "meaning: success, final, refusal, callback, retry, dnc"},
    PLT_CFG_END};

static const plt_cfg_key phone_rule_keys[] = {
    {.name = "type", .type = PLT_CFG_STR, .flags = PLT_CFG_REQUIRED,
     .choices = phone_types, .help = "number type"},
    {.name = "windows", .type = PLT_CFG_LIST,
     .help = "when such numbers may be dialled: \"mon-fri 18:00-20:00\""},
    PLT_CFG_END};

static const plt_cfg_key campaign_keys[] = {
    {.name = "name", .type = PLT_CFG_STR, .flags = PLT_CFG_REQUIRED,
     .help = "key: a-z 0-9 _ -"},
    {.name = "label", .type = PLT_CFG_STR, .help = "display name"},
    {.name = "type", .type = PLT_CFG_STR, .def = "other", .choices = types,
     .help = "sale, appointment, survey, other"},
    {.name = "enabled", .type = PLT_CFG_BOOL, .def = "false",
     .help = "ON at first start (then the stored switch wins)"},
    {.name = "mode", .type = PLT_CFG_STR, .def = "progressive",
     .choices = modes, .help = "dial mode"},
    {.name = "power_ratio", .type = PLT_CFG_DOUBLE, .def = "1.5",
     .help = "power mode: lines per available agent"},
    {.name = "caller_id", .type = PLT_CFG_STR, .help = "presented number"},
    {.name = "trunk", .type = PLT_CFG_STR, .help = "trunk to dial through"},
    {.name = "queue", .type = PLT_CFG_STR,
     .help = "ACD queue of answered calls"},
    {.name = "agents", .type = PLT_CFG_LIST,
     .help = "agents of the campaign (empty = everyone logged in)"},
    {.name = "lists", .type = PLT_CFG_LIST, .flags = PLT_CFG_REQUIRED,
     .help = "lead lists as \"name\" or \"name:weight\""},
    {.name = "phone_order", .type = PLT_CFG_STR, .def = "order",
     .choices = orders, .help = "numbers by order or by schedule"},
    {.name = "phone_rules", .type = PLT_CFG_TABLE, .sub = phone_rule_keys,
     .help = "per number type schedules"},
    {.name = "retries", .type = PLT_CFG_TABLE, .sub = retry_keys,
     .help = "retry rules per outcome"},
    {.name = "dispositions", .type = PLT_CFG_TABLE, .sub = dispo_keys,
     .help = "result codes and their meaning"},
    {.name = "max_attempts", .type = PLT_CFG_INT, .def = "10", .min = 1,
     .max = 100, .help = "attempts per contact"},
    {.name = "ring_timeout", .type = PLT_CFG_DURATION, .def = "25s",
     .help = "no answer (NRP) after this much ringing"},
    {.name = "connect_deadline", .type = PLT_CFG_DURATION, .def = "2s",
     .help = "answered calls not connected by then are abandoned"},
    {.name = "abandon_message", .type = PLT_CFG_PATH,
     .help = "WAV played to abandoned calls"},
    {.name = "amd", .type = PLT_CFG_BOOL, .def = "false",
     .help = "answering-machine detection"},
    {.name = "amd_false_positive_rate", .type = PLT_CFG_DOUBLE, .def = "0",
     .help = "share of live answers AMD hangs up as machines (0..0.5), "
             "charged up front by predictive pacing; 0 = the pack's"},
    {.name = "hours", .type = PLT_CFG_LIST,
     .help = "opening windows \"mon-fri 09:00-12:30\" in the contact's zone"},
    {.name = "holidays", .type = PLT_CFG_LIST,
     .help = "closed days YYYY-MM-DD"},
    {.name = "compliance", .type = PLT_CFG_STR,
     .help = "compliance pack: fr, us, uk"},
    {.name = "max_lines", .type = PLT_CFG_INT, .def = "0", .min = 0,
     .help = "cap on lines in flight (0 = none)"},
    {.name = "preview_timeout", .type = PLT_CFG_DURATION, .def = "2m",
     .help = "preview: decision time before the contact is skipped"},
    PLT_CFG_END};

static const plt_cfg_key keys[] = {
    {.name = "node", .type = PLT_CFG_STR, .def = "1",
     .help = "this node's name: reservations are held as dialer:<node>"},
    {.name = "compliance_dir", .type = PLT_CFG_PATH,
     .help = "directory of the compliance packs (conf/compliance)"},
    {.name = "site_time_zone", .type = PLT_CFG_STR, .def = "Europe/Paris",
     .help = "zone of contacts without one, and of daily windows"},
    {.name = "tick", .type = PLT_CFG_DURATION, .def = "1s",
     .help = "how often campaigns are paced (also on every change)"},
    {.name = "skip_delay", .type = PLT_CFG_DURATION, .def = "1h",
     .help = "a skipped preview comes back after this"},
    {.name = "campaigns", .type = PLT_CFG_TABLE, .sub = campaign_keys,
     .help = "campaigns defined in the configuration"},
    PLT_CFG_END};

static const plt_dialer_vt dialer_vt = {
    .size = sizeof(plt_dialer_vt),
    .campaign_create = dialer_svc_create,
    .campaign_update = dialer_svc_update,
    .campaign_get = dialer_svc_get,
    .campaign_list = dialer_svc_list,
    .campaign_set_enabled = dialer_svc_set_enabled,
    .campaign_stats = dialer_svc_stats,
    .preview_dial = dialer_svc_preview_dial,
    .preview_skip = dialer_svc_preview_skip,
    .set_result = dialer_svc_set_result,
    .pacing_log = dialer_svc_pacing_log,
};

static void
dialer_free(dialer *D)
{
    dialer_pacing_free(D);
    dialer_campaigns_free(D);
    while (D->attempts) {
        attempt *a = D->attempts;
        D->attempts = a->next;
        if (a->leg)
            D->tel.vt->leg_unref(D->tel.impl, a->leg);
        free(a);
    }
    for (size_t i = 0; i < D->nzones; i++)
        free((char *)D->zones[i]);
    free(D->zones);
    for (size_t i = 0; i < D->npacks; i++)
        dialer_pack_free(&D->packs[i]);
    free(D->packs);
    free(D->cbs);
    dialer_tz_cache_free();
    free(D);
}

static int
dialer_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    dialer *D = calloc(1, sizeof(*D));
    if (!D)
        return PLT_ENOMEM;
    const char *s;
    plt_cfg_str(cfg, "node", &s);
    snprintf(D->owner, sizeof(D->owner), "dialer:%s", s);
    plt_cfg_str(cfg, "site_time_zone", &s);
    snprintf(D->site_tz, sizeof(D->site_tz), "%s", s);
    if (plt_cfg_path(cfg, "compliance_dir", &s) == 0)
        snprintf(D->packs_dir, sizeof(D->packs_dir), "%s", s);
    plt_cfg_duration_ms(cfg, "tick", &D->tick_ms);
    if (D->tick_ms < 10)
        D->tick_ms = 10;
    plt_cfg_duration_ms(cfg, "skip_delay", &D->skip_delay_ms);
    /* The packs are files: read in start() (or check()), not here. */
    int rc = dialer_campaigns_from_cfg(D, cfg);
    plt_service_ref ref;
    if (rc == 0 && (rc = plt_service_acquire(PLT_STORAGE_NAME, 1, 0, &ref)) ==
                       0) {
        D->st.vt = ref.vtable;
        D->st.impl = ref.impl;
        rc = D->st.vt->migrations(D->st.impl, "dialer", dialer_migrations,
                                  dialer_nmigrations);
        if (rc == 0) /* the browser's desk profiles (dialer_http.c) */
            rc = D->st.vt->migrations(D->st.impl, "dialer_ui",
                                      dialer_http_migrations,
                                      dialer_http_nmigrations);
    }
    plt_service_desc d = {.size = sizeof(d), .major = PLT_DIALER_MAJOR,
                          .minor = PLT_DIALER_MINOR, .name = PLT_DIALER_NAME,
                          .vtable = &dialer_vt, .impl = D};
    if (rc == 0)
        rc = plt_service_provide(&d);
    if (rc != 0) {
        dialer_free(D);
        return rc;
    }
    dialer_the = D;
    return 0;
}

static void
recovered(void *arg, int status)
{
    dialer *D = arg;
    if (status != 0)
        plt_log(PLT_LOG_ERROR, "dialer: recovery failed: nothing is dialled");
    else
        D->recovered = true;
    /* Campaigns from the configuration get their stored switch. */
    for (size_t i = 0; i < D->ncamps; i++)
        if (D->camps[i]->from_config) {
            plt_dialer_campaign t = D->camps[i]->def.c;
            t.source = "config";
            dialer_store_campaign_put(D, &t, D->camps[i]->enabled, false,
                                      NULL, NULL);
        }
    dialer_kick(D);
}

static void
loaded(void *arg, int status)
{
    dialer *D = arg;
    if (status != 0) {
        plt_log(PLT_LOG_ERROR, "dialer: cannot load its records");
        return;
    }
    dialer_recover(D, recovered, D);
}

static int
dialer_start(plt_plugin *self)
{
    (void)self;
    dialer *D = dialer_the;
    int rc;
    if ((rc = plt_leads_acquire(&D->leads)) != 0 ||
        (rc = plt_telephony_acquire(&D->tel)) != 0 ||
        (rc = plt_agents_acquire(&D->ag)) != 0) {
        plt_set_error("cannot acquire leads/telephony/agents: %s",
                      plt_strerror(rc));
        return rc;
    }
    /* Every time zone and the compliance packs are read now (bounded
     * startup I/O, ADR 0007), so that no zone file is ever read on the
     * loop afterwards (ADR 0014). */
    char why[512] = "";
    if ((rc = dialer_packs_bind(D, why, sizeof(why))) != 0) {
        plt_set_error("%s", why);
        return rc;
    }
    if ((rc = dialer_zones_load(D)) != 0)
        return rc;
    D->have_acd = plt_acd_acquire(&D->acd) == 0;
    for (size_t i = 0; i < D->ncamps; i++)
        if (D->camps[i]->def.c.mode != PLT_DIAL_PREVIEW && !D->have_acd) {
            plt_set_error("campaign %s needs the acd plugin",
                          D->camps[i]->def.c.name);
            return PLT_ENOSERVICE;
        }
    if ((rc = plt_subscribe("call.*", dialer_on_call, D, &D->sub_call)) != 0 ||
        (rc = plt_subscribe("queue.*", dialer_on_queue, D, &D->sub_queue)) !=
            0 ||
        (rc = plt_subscribe("agent.state_changed", dialer_on_agent, D,
                            &D->sub_agent)) != 0)
        return rc;
    D->started = true;
    dialer_metrics_start(D);
    dialer_engine_start(D);
    if ((rc = dialer_http_start(D)) != 0) {
        plt_set_error("cannot register the web routes: %s", plt_strerror(rc));
        return rc;
    }
    return dialer_load(D, loaded, D);
}

static void
wait_drain(void *arg)
{
    dialer *D = arg;
    if (D->ops_in_flight == 0) {
        plt_stopped();
        return;
    }
    plt_timer *t;
    plt_timer_start(&t, 10, 0, wait_drain, D);
}

static int
dialer_stop(plt_plugin *self)
{
    (void)self;
    dialer *D = dialer_the;
    D->stopping = true;
    dialer_http_stop();
    dialer_metrics_stop();
    dialer_engine_stop(D);
    if (D->sub_call)
        plt_unsubscribe(D->sub_call);
    if (D->sub_queue)
        plt_unsubscribe(D->sub_queue);
    if (D->sub_agent)
        plt_unsubscribe(D->sub_agent);
    D->sub_call = D->sub_queue = D->sub_agent = NULL;
    /* Previewed contacts go back; the others this node holds wait for the
     * next start's recovery (a call may be in flight for them). The
     * records in flight are waited for (their callbacks must not outlive
     * the plugin). */
    if (D->started && D->leads.vt)
        dialer_release_idle(D);
    if (D->ops_in_flight == 0)
        return 0;
    wait_drain(D);
    return PLT_EINPROGRESS;
}

/* `plateau check`: the packs exist, parse, and allow every campaign. */
static int
dialer_check(plt_plugin *self)
{
    (void)self;
    char why[512] = "";
    int rc = dialer_packs_bind(dialer_the, why, sizeof(why));
    if (rc != 0)
        plt_set_error("%s", why);
    return rc;
}

static void
dialer_fini(plt_plugin *self)
{
    (void)self;
    dialer_http_fini();
    if (!dialer_the)
        return;
    dialer_free(dialer_the);
    dialer_the = NULL;
}

static const plt_dep needs[] = {
    {.service = PLT_STORAGE_NAME, .major = 1},
    {.service = PLT_LEADS_NAME, .major = 1},
    {.service = PLT_TELEPHONY_NAME, .major = 1},
    {.service = PLT_AGENTS_NAME, .major = 1},
    {.service = PLT_ACD_NAME, .major = 1, .flags = PLT_DEP_OPTIONAL},
    {.service = PLT_HTTP_NAME, .major = 1, .flags = PLT_DEP_OPTIONAL},
    {0}};
static const char *const provides[] = {PLT_DIALER_NAME, NULL};

PLT_PLUGIN_DEFINE(.name = "dialer", .version = "1.1.0",
                  .summary = "Outbound campaigns: preview, progressive, power,"
                             " predictive, with compliance packs",
                  .needs = needs, .provides = provides, .config_keys = keys,
                  .init = dialer_init, .check = dialer_check,
                  .start = dialer_start,
                  .stop = dialer_stop, .fini = dialer_fini);
