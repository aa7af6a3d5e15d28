/* SPDX-License-Identifier: MIT */
/*
 * simulate: `plateau simulate SCENARIO` runs a dialer scenario on the real
 * plugins and the simulated clock and prints its figures (see
 * simulate_run.c for the design, simulate_measure.c for what a day
 * measures). Descriptor, configuration and lifecycle only.
 */
#include <stdlib.h>

#include <plateau/svc/dialer.h>
#include <plateau/svc/leads.h>

#include "simulate_int.h"

simulate_cfg simulate_conf;

static const plt_cfg_key keys[] = {
    {.name = "day_length", .type = PLT_CFG_DURATION, .def = "8h",
     .help = "dialling time of a simulated day"},
    {.name = "drain", .type = PLT_CFG_DURATION, .def = "10m",
     .help = "after the day, time for the calls to end"},
    {.name = "contacts", .type = PLT_CFG_INT, .def = "20000", .min = 1,
     .max = 10000000, .help = "contacts loaded before the day"},
    {.name = "campaign", .type = PLT_CFG_STR, .def = "sim",
     .help = "the dialer campaign the day runs (configured disabled)"},
    {.name = "list", .type = PLT_CFG_STR, .def = "simulate",
     .help = "name of the lead list created for it"},
    {.name = "time_zone", .type = PLT_CFG_STR, .def = "UTC",
     .help = "time zone of the contacts"},
    PLT_CFG_END};

static void
conf_free(void)
{
    free(simulate_conf.campaign);
    free(simulate_conf.list);
    free(simulate_conf.time_zone);
    simulate_conf = (simulate_cfg){0};
}

static int
sm_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    const char *camp, *list, *tz;
    int rc;
    if ((rc = plt_cfg_duration_ms(cfg, "day_length",
                                  &simulate_conf.day_ms)) != 0 ||
        (rc = plt_cfg_duration_ms(cfg, "drain", &simulate_conf.drain_ms)) !=
            0 ||
        (rc = plt_cfg_int(cfg, "contacts", &simulate_conf.contacts)) != 0 ||
        (rc = plt_cfg_str(cfg, "campaign", &camp)) != 0 ||
        (rc = plt_cfg_str(cfg, "list", &list)) != 0 ||
        (rc = plt_cfg_str(cfg, "time_zone", &tz)) != 0)
        return rc;
    simulate_conf.campaign = strdup(camp);
    simulate_conf.list = strdup(list);
    simulate_conf.time_zone = strdup(tz);
    if (!simulate_conf.campaign || !simulate_conf.list ||
        !simulate_conf.time_zone) {
        conf_free();
        return PLT_ENOMEM;
    }
    if (simulate_conf.day_ms <= 0) {
        conf_free();
        plt_set_error("day_length must be positive");
        return PLT_EINVAL;
    }
    return 0;
}

static int
sm_start(plt_plugin *self)
{
    (void)self;
    int rc = simulate_measure_start();
    if (rc != 0)
        plt_set_error("cannot subscribe: %s", plt_strerror(rc));
    return rc;
}

static int
sm_stop(plt_plugin *self)
{
    (void)self;
    simulate_run_stop();
    simulate_measure_stop();
    return 0;
}

static void
sm_fini(plt_plugin *self)
{
    (void)self;
    simulate_run_free();
    conf_free();
}

/* Optional: `simulate-day` uses them; `simulate` itself needs nothing. */
static const plt_dep needs[] = {
    {.service = PLT_LEADS_NAME, .major = 1, .flags = PLT_DEP_OPTIONAL},
    {.service = PLT_DIALER_NAME, .major = PLT_DIALER_MAJOR,
     .flags = PLT_DEP_OPTIONAL},
    {0}};

PLT_PLUGIN_DEFINE(.name = "simulate", .version = "1.0.0",
                  .summary = "Dialer scenarios on the real plugins and the "
                             "simulated clock, with their figures",
                  .needs = needs, .config_keys = keys,
                  .commands = simulate_commands, .init = sm_init,
                  .start = sm_start, .stop = sm_stop, .fini = sm_fini);
