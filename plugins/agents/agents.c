/* SPDX-License-Identifier: MIT */
/*
 * agents: agent sessions, their phones and one explicit state machine per
 * agent (plateau/svc/agents.h). This file holds the descriptor and the
 * lifecycle only: the configuration is read and storage migrations are
 * declared in init() (the storage plugin applies them when it starts),
 * telephony is acquired, call events subscribed and the invariant check
 * started in start(), and stop() waits for the state log to be written.
 */
#include <stdlib.h>
#include <string.h>

#include "agents_http.h"
#include "agents_int.h"

static const plt_cfg_key agents_keys[] = {
    {.name = "pause_reasons",
     .type = PLT_CFG_LIST,
     .def = "[meal, meeting, training, after_call, technical]",
     .help = "pause reasons agents may choose (plus login and no_answer)"},
    {.name = "max_wrap_up",
     .type = PLT_CFG_DURATION,
     .def = "30s",
     .help = "wrap-up ends (AVAILABLE or the pending pause) after this",
     .min = 0,
     .max = 86400000},
    {.name = "max_pause",
     .type = PLT_CFG_DURATION,
     .def = "0",
     .help = "0 = none; else a longer pause raises agent.pause_exceeded",
     .min = 0,
     .max = 86400000},
    {.name = "offer_timeout",
     .type = PLT_CFG_DURATION,
     .def = "20s",
     .help = "an offer not answered or failed by then is repaired",
     .min = 1,
     .max = 3600000},
    {.name = "missed_offers_before_pause",
     .type = PLT_CFG_INT,
     .def = "3",
     .help = "missed offers in a row before PAUSE(no_answer); 0 = never",
     .min = 0,
     .max = 1000},
    {.name = "reconnect_attempts",
     .type = PLT_CFG_INT,
     .def = "3",
     .help = "phone connection attempts before LOGGED_OUT",
     .min = 0,
     .max = 100},
    {.name = "reconnect_delay",
     .type = PLT_CFG_DURATION,
     .def = "5s",
     .help = "delay before each reconnection attempt",
     .min = 1,
     .max = 3600000},
    {.name = "hold_music",
     .type = PLT_CFG_PATH,
     .help = "WAV a held customer hears when the campaign names none"},
    PLT_CFG_END};

static const plt_dep agents_needs[] = {
    {PLT_TELEPHONY_NAME, PLT_TELEPHONY_MAJOR, 0, 0},
    {PLT_STORAGE_NAME, PLT_STORAGE_MAJOR, 0, 0},
    {PLT_HTTP_NAME, PLT_HTTP_MAJOR, 0, PLT_DEP_OPTIONAL},
    {0}};
static const char *const agents_provides[] = {PLT_AGENTS_NAME, NULL};

const plt_agents_vt agents_vtable = {
    .size = sizeof(plt_agents_vt),
    .login = agents_login,
    .logout = agents_logout,
    .set_state = agents_set_state,
    .force_state = agents_force_state,
    .get = agents_get,
    .list = agents_list,
    .offer = agents_offer,
    .offer_answered = agents_offer_answered,
    .offer_failed = agents_offer_failed,
    .call_ended = agents_call_ended,
    .outbound_started = agents_outbound_started,
    .phone_leg = agents_phone_leg,
    .available = agents_available,
    .set_hold_music = agents_set_hold_music,
};

/* The plugin's state, from init() to fini(). */
static agents *agents_state;

static void
cfg_free(agents_cfg *c)
{
    for (size_t i = 0; i < c->npause_reasons; i++)
        free(c->pause_reasons[i]);
    free(c->pause_reasons);
    free(c->hold_music);
    c->hold_music = NULL;
    c->pause_reasons = NULL;
    c->npause_reasons = 0;
}

static int
read_cfg(const plt_cfg *cfg, agents_cfg *out)
{
    memset(out, 0, sizeof(*out));
    int rc = 0;
    rc |= plt_cfg_duration_ms(cfg, "max_wrap_up", &out->max_wrap_up_ms);
    rc |= plt_cfg_duration_ms(cfg, "max_pause", &out->max_pause_ms);
    rc |= plt_cfg_duration_ms(cfg, "offer_timeout", &out->offer_timeout_ms);
    rc |= plt_cfg_int(cfg, "missed_offers_before_pause",
                      &out->missed_before_pause);
    rc |= plt_cfg_int(cfg, "reconnect_attempts", &out->reconnect_attempts);
    rc |= plt_cfg_duration_ms(cfg, "reconnect_delay", &out->reconnect_delay_ms);
    size_t n = 0;
    rc |= plt_cfg_count(cfg, "pause_reasons", &n);
    const char *moh = NULL;
    if (plt_cfg_path(cfg, "hold_music", &moh) != 0)
        moh = NULL; /* not set: silence */
    if (rc != 0) {
        plt_set_error("cannot read the configuration");
        return PLT_ECONFIG;
    }
    /* Strings are copied: the core's plt_cfg goes away on reconfigure. */
    if (moh && *moh && !(out->hold_music = strdup(moh)))
        return PLT_ENOMEM;
    if (n > 0) {
        out->pause_reasons = calloc(n, sizeof(char *));
        if (!out->pause_reasons)
            return PLT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const char *r;
        if (plt_cfg_list_at(cfg, "pause_reasons", i, &r) != 0 || !*r) {
            plt_set_error("pause_reasons: item %zu is empty", i);
            cfg_free(out);
            return PLT_ECONFIG;
        }
        out->pause_reasons[i] = strdup(r);
        out->npause_reasons = i + 1;
        if (!out->pause_reasons[i]) {
            cfg_free(out);
            return PLT_ENOMEM;
        }
    }
    return 0;
}

static int
agents_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    agents *s = calloc(1, sizeof(*s));
    if (!s)
        return PLT_ENOMEM;
    int rc = read_cfg(cfg, &s->cfg);
    if (rc != 0) {
        free(s);
        return rc;
    }
    /* Storage is acquired here, not in start(): migrations must be
     * declared before the storage plugin starts (it applies them). */
    plt_storage st;
    rc = plt_storage_acquire(&st);
    if (rc != 0) {
        plt_set_error("cannot acquire storage: %s", plt_strerror(rc));
        goto fail;
    }
    rc = st.vt->migrations(st.impl, "agents", agents_migrations,
                           agents_nmigrations);
    if (rc == 0) /* the desk's last calls (agents_http.c) */
        rc = st.vt->migrations(st.impl, "agents_ui", agents_http_migrations,
                               agents_http_nmigrations);
    if (rc != 0) {
        plt_set_error("cannot declare migrations: %s", plt_strerror(rc));
        goto fail;
    }
    agents_log_init(&s->log, &st);
    plt_service_desc svc = {.size = sizeof(svc),
                            .major = PLT_AGENTS_MAJOR,
                            .minor = PLT_AGENTS_MINOR,
                            .name = PLT_AGENTS_NAME,
                            .vtable = &agents_vtable,
                            .impl = s};
    rc = plt_service_provide(&svc);
    if (rc != 0) {
        plt_set_error("cannot provide the agents service: %s",
                      plt_strerror(rc));
        goto fail;
    }
    agents_state = s;
    return 0;
fail:
    cfg_free(&s->cfg);
    free(s);
    return rc;
}

static int
agents_start(plt_plugin *self)
{
    (void)self;
    agents *s = agents_state;
    int rc = plt_telephony_acquire(&s->tel);
    if (rc != 0) {
        plt_set_error("cannot acquire telephony: %s", plt_strerror(rc));
        return rc;
    }
    s->have_tel = true;
    rc = plt_subscribe("call.*", agents_on_call_event, s, &s->sub);
    if (rc != 0) {
        plt_set_error("cannot subscribe to call events: %s", plt_strerror(rc));
        return rc;
    }
    rc = agents_timers_start_checks(s);
    if (rc != 0) {
        plt_set_error("cannot start the invariant check: %s", plt_strerror(rc));
        return rc;
    }
    if ((rc = agents_http_start(s)) != 0) {
        plt_set_error("cannot register the web routes: %s", plt_strerror(rc));
        return rc;
    }
    agents_metrics_start(s);
    s->started = true;
    return 0;
}

static int
agents_stop(plt_plugin *self)
{
    (void)self;
    agents *s = agents_state;
    s->started = false;
    agents_http_stop();
    agents_metrics_stop();
    agents_timers_stop_checks(s);
    if (s->sub) {
        plt_unsubscribe(s->sub);
        s->sub = NULL;
    }
    /* Agents' phones are released (not hung up: a restart of this plugin
     * must not drop agents' calls), and their timers stopped. */
    for (size_t i = 0; i < s->n; i++) {
        agents_timers_stop_all(s->v[i]);
        agents_session_drop_leg(s->v[i], false, 0);
    }
    return agents_log_stop(&s->log);
}

static void
agents_fini(plt_plugin *self)
{
    (void)self;
    agents *s = agents_state;
    if (!s)
        return;
    agents_http_stop();
    for (size_t i = 0; i < s->n; i++) {
        agent *a = s->v[i];
        agents_timers_stop_all(a);
        agents_session_drop_leg(a, false, 0);
        free(a->login);
        free(a->reason);
        free(a->phone);
        free(a->origin);
        free(a->offer_id);
        free(a->call_leg_id);
        free(a->pending_pause);
        free(a->pending_logout_by);
        free(a);
    }
    free(s->v);
    free(s->byname);
    agents_log_fini(&s->log);
    cfg_free(&s->cfg);
    free(s);
    agents_state = NULL;
}

static int
agents_reconfigure(plt_plugin *self, const plt_cfg *cfg, plt_reconf_phase phase)
{
    (void)self;
    agents_cfg c;
    int rc = read_cfg(cfg, &c);
    if (rc != 0 || phase == PLT_RECONF_CHECK) {
        if (rc == 0)
            cfg_free(&c);
        return rc;
    }
    /* New limits apply to states entered from now on. */
    cfg_free(&agents_state->cfg);
    agents_state->cfg = c;
    return 0;
}

PLT_PLUGIN_DEFINE(.name = "agents", .version = "1.0.0",
                  .summary = "Agent sessions, phones and state machine",
                  .needs = agents_needs, .provides = agents_provides,
                  .config_keys = agents_keys, .init = agents_init,
                  .start = agents_start, .stop = agents_stop,
                  .fini = agents_fini, .reconfigure = agents_reconfigure);
