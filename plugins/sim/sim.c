/* SPDX-License-Identifier: MIT */
/*
 * sim: a simulated telephony provider on the core's clock. It provides the
 * `telephony` 1.0 service (plateau/svc/telephony.h) exactly as the sip
 * plugin does, but its trunk reaches simulated parties (who answer, ring
 * out, are busy, invalid or answering machines, with configured
 * probabilities and time distributions), its DIDs receive simulated
 * inbound callers, and "agent:<ext>" reaches simulated agent phones. With
 * the simulated clock an 8-hour day runs in seconds, and with a seed a run
 * is reproducible to the event.
 *
 * This file holds only the descriptor, the configuration schema and the
 * lifecycle; see sim_int.h for the map of the other files.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

static const plt_cfg_key trunk_keys[] = {
    {.name = "name",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_REQUIRED,
     .help = "trunk name, as given to originate()"},
    {.name = "max_channels",
     .type = PLT_CFG_INT,
     .def = "30",
     .min = 1,
     .max = 1000000,
     .help = "simultaneous legs (inbound and outbound)"},
    {.name = "cps",
     .type = PLT_CFG_INT,
     .def = "10",
     .min = 0,
     .max = 1000000,
     .help = "originates per second (0: no limit)"},
    PLT_CFG_END};

static const plt_cfg_key inbound_keys[] = {
    {.name = "did",
     .type = PLT_CFG_STR,
     .flags = PLT_CFG_REQUIRED,
     .help = "the number callers dial"},
    {.name = "rate_per_hour",
     .type = PLT_CFG_DOUBLE,
     .flags = PLT_CFG_REQUIRED,
     .help = "mean calls per hour (Poisson)"},
    {.name = "hourly",
     .type = PLT_CFG_STR,
     .help = "24 comma-separated multipliers of the rate, by UTC hour"},
    {.name = "trunk",
     .type = PLT_CFG_STR,
     .help = "trunk the calls arrive on (default: the first)"},
    PLT_CFG_END};

static const plt_cfg_key sim_keys[] = {
    {.name = "seed",
     .type = PLT_CFG_INT,
     .def = "1",
     .help = "seed of every random stream: same seed, same run"},
    {.name = "trunks",
     .type = PLT_CFG_TABLE,
     .sub = trunk_keys,
     .help = "simulated trunks (default: one trunk \"sim\", 30 ch, 10 cps)"},
    {.name = "answer_rate",
     .type = PLT_CFG_DOUBLE,
     .def = "0.2",
     .help = "probability a human answers"},
    {.name = "answer_rate_end",
     .type = PLT_CFG_DOUBLE,
     .help = "answer rate at the end of day_length (linear from "
             "answer_rate); unset: constant"},
    {.name = "day_length",
     .type = PLT_CFG_DURATION,
     .def = "8h",
     .help = "time over which answer_rate moves to answer_rate_end"},
    {.name = "machine_rate",
     .type = PLT_CFG_DOUBLE,
     .def = "0.2",
     .help = "probability an answering machine answers"},
    {.name = "busy_rate",
     .type = PLT_CFG_DOUBLE,
     .def = "0.05",
     .help = "probability the line is busy"},
    {.name = "invalid_rate",
     .type = PLT_CFG_DOUBLE,
     .def = "0.05",
     .help = "probability the number does not exist"},
    {.name = "ring_to_answer_mean",
     .type = PLT_CFG_DURATION,
     .def = "10s",
     .help = "humans: ring time before answering (lognormal mean)"},
    {.name = "ring_to_answer_sd",
     .type = PLT_CFG_DURATION,
     .def = "5s",
     .help = "humans: ring time, standard deviation"},
    {.name = "machine_pickup_mean",
     .type = PLT_CFG_DURATION,
     .def = "20s",
     .help = "machines: ring time before answering (normal mean)"},
    {.name = "machine_pickup_sd",
     .type = PLT_CFG_DURATION,
     .def = "3s",
     .help = "machines: ring time, standard deviation"},
    {.name = "machine_hangup",
     .type = PLT_CFG_DURATION,
     .def = "40s",
     .help = "machines hang up this long after answering"},
    {.name = "talk_mean",
     .type = PLT_CFG_DURATION,
     .def = "120s",
     .help = "customers: talk time from the bridge (lognormal mean)"},
    {.name = "talk_sd",
     .type = PLT_CFG_DURATION,
     .def = "120s",
     .help = "customers: talk time, standard deviation"},
    {.name = "patience_mean",
     .type = PLT_CFG_DURATION,
     .def = "30s",
     .help = "customers: wait for a bridge before hanging up (lognormal)"},
    {.name = "patience_sd",
     .type = PLT_CFG_DURATION,
     .def = "20s",
     .help = "customers: patience, standard deviation"},
    {.name = "ring_timeout",
     .type = PLT_CFG_DURATION,
     .def = "30s",
     .help = "ring timeout when originate() gives 0"},
    {.name = "amd_sensitivity",
     .type = PLT_CFG_DOUBLE,
     .def = "1.0",
     .help = "probability a machine is detected as a machine"},
    {.name = "amd_false_positive",
     .type = PLT_CFG_DOUBLE,
     .def = "0.0",
     .help = "probability a human is detected as a machine"},
    {.name = "amd_delay",
     .type = PLT_CFG_DURATION,
     .def = "2500ms",
     .help = "analysis time before call.amd_result"},
    {.name = "inbound",
     .type = PLT_CFG_TABLE,
     .sub = inbound_keys,
     .help = "DIDs receiving simulated inbound calls"},
    {.name = "claim_timeout",
     .type = PLT_CFG_DURATION,
     .def = "10s",
     .help = "inbound legs nobody answers/bridges/hangs up: 480 after this"},
    {.name = "agent_ring_min",
     .type = PLT_CFG_DURATION,
     .def = "1s",
     .help = "agent phones: shortest time to pick up"},
    {.name = "agent_ring_max",
     .type = PLT_CFG_DURATION,
     .def = "3s",
     .help = "agent phones: longest time to pick up"},
    {.name = "agent_miss_rate",
     .type = PLT_CFG_DOUBLE,
     .def = "0.0",
     .help = "probability an agent lets an offer ring out"},
    {.name = "play_check_files",
     .type = PLT_CFG_BOOL,
     .def = "true",
     .help = "a missing prompt file is an error (else: play_duration)"},
    {.name = "play_duration",
     .type = PLT_CFG_DURATION,
     .def = "5s",
     .help = "length of prompts whose file is missing (see above)"},
    {.name = "originate_log",
     .type = PLT_CFG_PATH,
     .help = "tests: append one line per call that leaves a trunk"},
    PLT_CFG_END};

static const char *const sim_provides[] = {PLT_TELEPHONY_NAME, NULL};

static sim *g_sim;

static int
sim_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    int rc = sim_create(cfg, &g_sim);
    if (rc != 0)
        return rc;
    const char *log;
    g_sim->origlog_fd = -1;
    if (plt_cfg_path(cfg, "originate_log", &log) == 0 &&
        !(g_sim->origlog_path = strdup(log))) {
        sim_destroy(g_sim);
        g_sim = NULL;
        return PLT_ENOMEM;
    }
    plt_service_desc d = {.size = sizeof(d),
                          .major = PLT_TELEPHONY_MAJOR,
                          .minor = PLT_TELEPHONY_MINOR,
                          .name = PLT_TELEPHONY_NAME,
                          .vtable = &sim_telephony_vt,
                          .impl = g_sim};
    rc = plt_service_provide(&d);
    if (rc != 0) {
        plt_set_error("cannot provide telephony: %s", plt_strerror(rc));
        sim_trunk_log_close(g_sim);
        sim_destroy(g_sim);
        g_sim = NULL;
    }
    return rc;
}

static int
sim_start(plt_plugin *self)
{
    (void)self;
    sim *s = g_sim;
    s->started = true;
    s->start_ms = plt_now();
    for (size_t i = 0; i < s->ntrunks; i++) {
        plt_event *ev;
        if (plt_event_new(&ev, "trunk.state_changed", 1) == 0) {
            plt_event_set_str(ev, "trunk", s->trunks[i].name);
            plt_event_set_str(ev, "state", "up");
            plt_event_set_str(ev, "reason", "simulated");
            sim_ev_publish(ev);
        }
    }
    int rc = sim_trunk_log_open(s);
    if (rc != 0)
        return rc;
    plt_log(PLT_LOG_INFO,
            "simulated telephony: %zu trunk(s), %zu DID(s), "
            "seed %llu",
            s->ntrunks, s->ndids, (unsigned long long)s->conf.seed);
    return sim_inbound_start(s);
}

/* Stopping hangs up every live leg at once (hangup_by=system, reason
 * "shutdown"): nothing real is waiting on the other end. */
static int
sim_stop(plt_plugin *self)
{
    (void)self;
    sim *s = g_sim;
    s->stopping = true;
    sim_inbound_stop(s);
    sim_leg_end_all(s, "shutdown");
    return 0;
}

static void
sim_fini(plt_plugin *self)
{
    (void)self;
    if (g_sim) {
        sim_inbound_stop(g_sim);
        sim_trunk_log_close(g_sim);
    }
    sim_destroy(g_sim);
    g_sim = NULL;
}

PLT_PLUGIN_DEFINE(.name = "sim", .version = "1.0.0",
                  .summary = "Simulated trunk, callers and agent phones "
                             "(provides telephony)",
                  .provides = sim_provides, .config_keys = sim_keys,
                  .init = sim_init, .start = sim_start, .stop = sim_stop,
                  .fini = sim_fini);
