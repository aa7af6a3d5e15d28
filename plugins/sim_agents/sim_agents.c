/* SPDX-License-Identifier: MIT */
/*
 * The sim_agents plugin: descriptor, configuration and lifecycle.
 * Simulated agents (sim01..simNN) who log in, wrap up and pause by
 * distributions on the core clock, through the `agents` service, so that
 * the ACD and the dialer can be exercised for hours of simulated time
 * without people. init() reads the configuration and prepares one seeded
 * random stream per agent; start() acquires the agents service, subscribes
 * to agent.state_changed and arms the login timers; stop() cancels the
 * timers and logs the agents out. The behaviour lives in
 * sim_agents_behaviour.c, the random streams in sim_rng.c, the
 * `plateau simulate-acd` command in sim_agents_cli.c.
 */
#include <stdlib.h>
#include <string.h>

#include <plateau/svc/acd.h>

#include "sim_agents_int.h"

static const plt_cfg_key keys[] = {
    {.name = "seed",
     .type = PLT_CFG_INT,
     .def = "1",
     .help = "seed of every agent's random stream"},
    {.name = "agents",
     .type = PLT_CFG_INT,
     .def = "10",
     .min = 0,
     .max = 9999,
     .help = "number of simulated agents"},
    {.name = "login_prefix",
     .type = PLT_CFG_STR,
     .def = "sim",
     .help = "logins are <prefix>01, <prefix>02, ..."},
    {.name = "extension_base",
     .type = PLT_CFG_INT,
     .def = "101",
     .min = 0,
     .max = 999999999,
     .help = "phone of the first agent (agent:<ext>)"},
    {.name = "login_at",
     .type = PLT_CFG_DURATION,
     .def = "0",
     .help = "first login, after start"},
    {.name = "login_stagger",
     .type = PLT_CFG_DURATION,
     .def = "2s",
     .help = "delay between two agents' logins"},
    {.name = "wrap_mean",
     .type = PLT_CFG_DURATION,
     .def = "15s",
     .help = "wrap-up time after a call (lognormal mean)"},
    {.name = "wrap_sd",
     .type = PLT_CFG_DURATION,
     .def = "10s",
     .help = "wrap-up time standard deviation"},
    {.name = "pause_rate",
     .type = PLT_CFG_DOUBLE,
     .def = "0.05",
     .help = "probability of a pause after a call instead of available"},
    {.name = "pause_mean",
     .type = PLT_CFG_DURATION,
     .def = "5m",
     .help = "pause length (lognormal mean)"},
    {.name = "pause_sd",
     .type = PLT_CFG_DURATION,
     .def = "2m",
     .help = "pause length standard deviation"},
    {.name = "pause_reason",
     .type = PLT_CFG_STR,
     .def = "meal",
     .help = "pause reason (one of the agents plugin's pause_reasons)"},
    {.name = "keep_up",
     .type = PLT_CFG_BOOL,
     .def = "true",
     .help = "keep each phone up for the session (false: rung per offer)"},
    PLT_CFG_END};

static sim_agents *the_sim;

static void
sim_agents_free(sim_agents *s)
{
    if (!s)
        return;
    free(s->agents);
    free(s->cfg.prefix);
    free(s->cfg.pause_reason);
    free(s);
}

static int
config_load(sim_agents_cfg *c, const plt_cfg *cfg)
{
    const char *prefix, *reason;
    int rc;
    if ((rc = plt_cfg_int(cfg, "seed", &c->seed)) != 0 ||
        (rc = plt_cfg_int(cfg, "agents", &c->count)) != 0 ||
        (rc = plt_cfg_str(cfg, "login_prefix", &prefix)) != 0 ||
        (rc = plt_cfg_int(cfg, "extension_base", &c->extension_base)) != 0 ||
        (rc = plt_cfg_duration_ms(cfg, "login_at", &c->login_at_ms)) != 0 ||
        (rc = plt_cfg_duration_ms(cfg, "login_stagger",
                                  &c->login_stagger_ms)) != 0 ||
        (rc = plt_cfg_duration_ms(cfg, "wrap_mean", &c->wrap_mean_ms)) != 0 ||
        (rc = plt_cfg_duration_ms(cfg, "wrap_sd", &c->wrap_sd_ms)) != 0 ||
        (rc = plt_cfg_double(cfg, "pause_rate", &c->pause_rate)) != 0 ||
        (rc = plt_cfg_duration_ms(cfg, "pause_mean", &c->pause_mean_ms)) != 0 ||
        (rc = plt_cfg_duration_ms(cfg, "pause_sd", &c->pause_sd_ms)) != 0 ||
        (rc = plt_cfg_str(cfg, "pause_reason", &reason)) != 0 ||
        (rc = plt_cfg_bool(cfg, "keep_up", &c->keep_up)) != 0) {
        plt_set_error("cannot read the configuration: %s", plt_strerror(rc));
        return rc;
    }
    if (!(c->pause_rate >= 0.0 && c->pause_rate <= 1.0)) {
        plt_set_error("pause_rate must be between 0 and 1");
        return PLT_EINVAL;
    }
    if (!*prefix || !*reason) {
        plt_set_error("login_prefix and pause_reason must not be empty");
        return PLT_EINVAL;
    }
    /* The config strings are the core's until fini(); copies keep the
     * plugin independent of a later reconfigure. */
    c->prefix = strdup(prefix);
    c->pause_reason = strdup(reason);
    if (!c->prefix || !c->pause_reason)
        return PLT_ENOMEM;
    return 0;
}

static int
sa_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    sim_agents *s = calloc(1, sizeof(*s));
    if (!s)
        return PLT_ENOMEM;
    int rc = config_load(&s->cfg, cfg);
    if (rc == 0)
        rc = sim_agents_setup(s);
    if (rc != 0) {
        sim_agents_free(s);
        return rc;
    }
    the_sim = s;
    return 0;
}

static int
sa_start(plt_plugin *self)
{
    (void)self;
    sim_agents *s = the_sim;
    int rc = plt_agents_acquire(&s->ag);
    if (rc != 0) {
        plt_set_error("cannot acquire agents: %s", plt_strerror(rc));
        return rc;
    }
    rc = plt_subscribe("agent.state_changed", sim_agents_on_state, s, &s->sub);
    if (rc != 0) {
        plt_set_error("cannot subscribe: %s", plt_strerror(rc));
        return rc;
    }
    s->started = true;
    rc = sim_agents_begin(s);
    if (rc != 0) {
        s->started = false;
        sim_agents_cancel_all(s);
        plt_set_error("cannot start the login timers: %s", plt_strerror(rc));
        return rc;
    }
    return 0;
}

static int
sa_stop(plt_plugin *self)
{
    (void)self;
    sim_agents *s = the_sim;
    if (!s)
        return 0;
    s->started = false;
    sim_agents_cli_stop();
    sim_agents_cancel_all(s);
    if (s->sub)
        plt_unsubscribe(s->sub);
    s->sub = NULL;
    if (s->ag.vt)
        sim_agents_logout_all(s);
    return 0;
}

static void
sa_fini(plt_plugin *self)
{
    (void)self;
    if (!the_sim)
        return;
    sim_agents_cancel_all(the_sim);
    sim_agents_free(the_sim);
    the_sim = NULL;
}

/* acd only for `plateau simulate-acd`, which prints its queues. */
static const plt_dep needs[] = {{.service = PLT_AGENTS_NAME, .major = 1},
                                {.service = PLT_ACD_NAME,
                                 .major = PLT_ACD_MAJOR,
                                 .flags = PLT_DEP_OPTIONAL},
                                {0}};

PLT_PLUGIN_DEFINE(.name = "sim_agents", .version = "1.0.0",
                  .summary = "Simulated agents on the simulated clock",
                  .needs = needs, .config_keys = keys,
                  .commands = sim_agents_commands, .init = sa_init,
                  .start = sa_start, .stop = sa_stop, .fini = sa_fini);
