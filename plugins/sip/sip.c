/* SPDX-License-Identifier: MIT */
/*
 * sip: Plateau's telephony over SIP and RTP. It provides the `telephony`
 * 1.0 service (plateau/svc/telephony.h) with sofia-sip (in a thread of its
 * own, sip_stack.c) for trunks, the registrar of agent phones and the
 * calls, and the media engine (plugins/media, threads of its own) for
 * RTP, bridging, prompts, DTMF, recording and answering-machine detection.
 * The dialer, the ACD and the agents plugin drive it exactly as they drive
 * the `sim` provider.
 *
 * This file holds only the descriptor, the configuration schema and the
 * lifecycle; see sip_int.h for the map of the other files.
 */
#include <stdlib.h>

#include "sip_int.h"

static const char *const transports[] = {"udp", "tcp", NULL};
static const char *const cid_modes[] = {"fixed", "campaign", "hidden", NULL};

static const plt_cfg_key trunk_keys[] = {
    {.name = "name", .type = PLT_CFG_STR, .flags = PLT_CFG_REQUIRED,
     .help = "trunk name, as given to originate()"},
    {.name = "host", .type = PLT_CFG_STR, .flags = PLT_CFG_REQUIRED,
     .help = "the carrier's SIP server: host name (resolved off the loop) "
             "or IP address"},
    {.name = "port", .type = PLT_CFG_INT, .def = "5060", .min = 1,
     .max = 65535, .help = "its SIP port"},
    {.name = "transport", .type = PLT_CFG_STR, .def = "udp",
     .choices = transports, .help = "udp or tcp"},
    {.name = "domain", .type = PLT_CFG_STR,
     .help = "host part of From/To URIs (default: host)"},
    {.name = "username", .type = PLT_CFG_STR,
     .help = "account: registration user and digest user (unset: an "
             "IP-authenticated peer)"},
    {.name = "auth_username", .type = PLT_CFG_STR,
     .help = "digest user when it differs from username"},
    {.name = "password", .type = PLT_CFG_STR, .flags = PLT_CFG_SECRET,
     .help = "digest password (registration and challenged INVITEs)"},
    {.name = "register", .type = PLT_CFG_BOOL, .def = "false",
     .help = "register username@domain with the carrier"},
    {.name = "register_expires", .type = PLT_CFG_DURATION, .def = "600s",
     .min = 30000, .max = 86400000, .help = "registration lifetime asked"},
    {.name = "outbound_proxy", .type = PLT_CFG_STR,
     .help = "send every request through this host[:port]"},
    {.name = "caller_id", .type = PLT_CFG_STR,
     .help = "number presented (From user), also P-Asserted-Identity"},
    {.name = "caller_id_mode", .type = PLT_CFG_STR, .def = "campaign",
     .choices = cid_modes,
     .help = "fixed: always caller_id; campaign: the originate's caller "
             "ID, else caller_id; hidden: anonymous (Privacy: id)"},
    {.name = "max_channels", .type = PLT_CFG_INT, .def = "30", .min = 1,
     .max = 1000000, .help = "simultaneous calls (inbound and outbound)"},
    {.name = "cps", .type = PLT_CFG_INT, .def = "10", .min = 0,
     .max = 100000, .help = "originates per second (0: no limit)"},
    {.name = "options_interval", .type = PLT_CFG_DURATION, .def = "30s",
     .min = 0, .max = 3600000,
     .help = "OPTIONS health check period (0: none, trunk always up)"},
    {.name = "options_threshold", .type = PLT_CFG_INT, .def = "2",
     .min = 1, .max = 100,
     .help = "failed checks in a row before the trunk is down"},
    PLT_CFG_END};

static const plt_cfg_key route_keys[] = {
    {.name = "did", .type = PLT_CFG_STR, .flags = PLT_CFG_REQUIRED,
     .help = "the number callers dial (Request-URI user)"},
    {.name = "trunk", .type = PLT_CFG_STR,
     .help = "accept it only from this trunk (default: any trunk)"},
    PLT_CFG_END};

static const plt_cfg_key ext_keys[] = {
    {.name = "extension", .type = PLT_CFG_STR, .flags = PLT_CFG_REQUIRED,
     .help = "the phone's user name; originate \"agent:<extension>\""},
    {.name = "password", .type = PLT_CFG_STR,
     .flags = PLT_CFG_REQUIRED | PLT_CFG_SECRET,
     .help = "digest password of that phone"},
    PLT_CFG_END};

static const plt_cfg_key sip_keys[] = {
    {.name = "bind_address", .type = PLT_CFG_STR, .def = "127.0.0.1",
     .help = "IP address the SIP port listens on"},
    {.name = "port", .type = PLT_CFG_INT, .def = "5060", .min = 1,
     .max = 65535, .help = "SIP port (UDP, and TCP when enabled)"},
    {.name = "tcp", .type = PLT_CFG_BOOL, .def = "false",
     .help = "also listen on TCP"},
    {.name = "rtp_address", .type = PLT_CFG_STR,
     .help = "IP address of RTP, put in SDP (default: bind_address)"},
    {.name = "rtp_port_min", .type = PLT_CFG_INT, .def = "16384",
     .min = 1024, .max = 65534, .help = "lowest RTP port"},
    {.name = "rtp_port_max", .type = PLT_CFG_INT, .def = "32767",
     .min = 1025, .max = 65535, .help = "highest RTP port"},
    {.name = "rtp_timeout", .type = PLT_CFG_DURATION, .def = "60s",
     .min = 0, .max = 3600000,
     .help = "hang up an answered leg that sent no RTP this long (0: never)"},
    {.name = "realm", .type = PLT_CFG_STR, .def = "plateau",
     .help = "digest realm of the registrar"},
    {.name = "user_agent", .type = PLT_CFG_STR, .def = "Plateau",
     .help = "User-Agent and Server header"},
    {.name = "ring_timeout", .type = PLT_CFG_DURATION, .def = "30s",
     .min = 1000, .max = 600000,
     .help = "ring timeout when originate() gives 0"},
    {.name = "claim_timeout", .type = PLT_CFG_DURATION, .def = "10s",
     .min = 100, .max = 600000,
     .help = "inbound legs nobody answers/bridges/hangs up: 480 after this"},
    {.name = "max_message_size", .type = PLT_CFG_INT, .def = "65536",
     .min = 4096, .max = 1048576, .help = "largest SIP message accepted"},
    {.name = "tcp_idle_timeout", .type = PLT_CFG_DURATION, .def = "60s",
     .min = 1000, .max = 3600000, .help = "close idle TCP connections"},
    {.name = "incomplete_timeout", .type = PLT_CFG_DURATION, .def = "10s",
     .min = 500, .max = 600000,
     .help = "drop a connection sending an incomplete message this long"},
    {.name = "register_max_expires", .type = PLT_CFG_DURATION,
     .def = "3600s", .min = 60000, .max = 86400000,
     .help = "longest registration granted to phones"},
    {.name = "accept_unknown_sources", .type = PLT_CFG_BOOL,
     .def = "false",
     .help = "take INVITEs from addresses that are no trunk (else 403)"},
    {.name = "trunks", .type = PLT_CFG_TABLE, .sub = trunk_keys,
     .help = "SIP trunks (carriers)"},
    {.name = "routes", .type = PLT_CFG_TABLE, .sub = route_keys,
     .help = "DIDs accepted inbound (call.created for the ACD/dialer)"},
    {.name = "extensions", .type = PLT_CFG_TABLE, .sub = ext_keys,
     .help = "agent phones allowed to register"},
    PLT_CFG_END};

static const char *const sip_provides[] = {PLT_TELEPHONY_NAME, NULL};

static sip *g_sip;

static int
sip_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    /* SIP timers (sofia's own thread), RTP pacing and the media engine run
     * on wall time: a simulated clock would jump ahead of calls that take
     * real seconds. Refused here, so `plateau check` says it too. */
    if (plt_clock_simulated()) {
        plt_set_error("sip needs the real clock (core.clock: real): SIP "
                      "transactions and RTP run in real time");
        return PLT_ECONFIG;
    }
    int rc = sip_create(cfg, &g_sip);
    if (rc != 0)
        return rc;
    plt_service_desc d = {.size = sizeof(d),
                          .major = PLT_TELEPHONY_MAJOR,
                          .minor = PLT_TELEPHONY_MINOR,
                          .name = PLT_TELEPHONY_NAME,
                          .vtable = &sip_telephony_vt,
                          .impl = g_sip};
    rc = plt_service_provide(&d);
    if (rc != 0) {
        plt_set_error("cannot provide telephony: %s", plt_strerror(rc));
        sip_destroy(g_sip);
        g_sip = NULL;
    }
    return rc;
}

static int
sip_start(plt_plugin *self)
{
    (void)self;
    sip *s = g_sip;
    int rc = sip_media_open(s);
    if (rc != 0)
        return rc;
    rc = sip_stack_start(s, &s->stack);
    if (rc != 0) {
        sip_media_close(s);
        return rc;
    }
    s->started = true;
    rc = sip_trunks_start(s);
    if (rc != 0)
        return rc;
    plt_log(PLT_LOG_INFO, "SIP on %s: %zu trunk(s), %zu DID(s), %zu "
            "extension(s)", sip_stack_contact(s->stack), s->ntrunks,
            s->nroutes, s->nexts);
    return 0;
}

/* Stopping hangs up every live leg (hangup_by=system, reason "shutdown"),
 * then lets the SIP thread send the BYEs/CANCELs and unregister before it
 * ends: stop finishes when SIP_EV_STOPPED arrives (sip_legs.c). */
static int
sip_stop(plt_plugin *self)
{
    (void)self;
    sip *s = g_sip;
    s->stopping = true;
    sip_trunks_stop(s);
    sip_leg_end_all(s, "shutdown");
    if (!s->stack) {
        sip_media_close(s);
        return 0;
    }
    s->stopped_pending = true;
    sip_stack_shutdown(s->stack);
    return PLT_EINPROGRESS;
}

static void
sip_fini(plt_plugin *self)
{
    (void)self;
    if (g_sip && g_sip->stack) {
        /* stop() never finished: the thread must still be joined. */
        sip_stack_shutdown(g_sip->stack);
        sip_stack_join(g_sip->stack);
        g_sip->stack = NULL;
    }
    if (g_sip)
        sip_media_close(g_sip);
    sip_destroy(g_sip);
    g_sip = NULL;
}

PLT_PLUGIN_DEFINE(.name = "sip", .version = "1.0.0",
                  .summary = "SIP trunks, agent phones and RTP media "
                             "(provides telephony)",
                  .provides = sip_provides, .config_keys = sip_keys,
                  .flags = PLT_PLUGIN_F_NOUNLOAD, .init = sip_init,
                  .start = sip_start, .stop = sip_stop, .fini = sip_fini);
