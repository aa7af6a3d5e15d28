/* SPDX-License-Identifier: MIT */
/*
 * hello: the example Plateau plugin. It greets on a timer, counts agent
 * events, provides a "greeter" service and adds `plateau hello NAME`.
 *
 * This file holds only the descriptor and the lifecycle; the logic lives
 * in hello_greeter.c. Built out of tree against the installed SDK (see
 * CMakeLists.txt and Makefile), it is the template for third-party
 * plugins; docs/plugin-author.md walks through it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "hello_int.h"

/* The plugin's state. One pointer, set in init() and cleared in fini():
 * the command and the lifecycle functions reach the state through it. */
static hello *hello_state;

static const plt_cfg_key hello_keys[] = {
    {.name = "greeting",
     .type = PLT_CFG_STR,
     .def = "Bonjour",
     .flags = PLT_CFG_RELOADABLE,
     .help = "word used to greet"},
    {.name = "interval",
     .type = PLT_CFG_DURATION,
     .def = "60s",
     .min = 1000,     /* 1 s */
     .max = 86400000, /* 1 day */
     .help = "time between two greetings (1s to 1d)"},
    PLT_CFG_END};

static const char *const hello_provides[] = {HELLO_GREETER_NAME, NULL};

static int
hello_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    hello *h;
    int rc = hello_create(cfg, &h);
    if (rc != 0)
        return rc;
    /* init() registers what the plugin provides and subscribes; it does
     * no I/O and acquires nothing (providers may not be ready yet). */
    plt_service_desc svc = {.size = sizeof(svc),
                            .major = HELLO_GREETER_MAJOR,
                            .minor = HELLO_GREETER_MINOR,
                            .name = HELLO_GREETER_NAME,
                            .vtable = &hello_greeter_vtable,
                            .impl = h};
    rc = plt_service_provide(&svc);
    if (rc == 0)
        rc = plt_subscribe("agent.*", hello_on_agent_event, h, &h->agent_sub);
    if (rc != 0) {
        plt_set_error("cannot register: %s", plt_strerror(rc));
        hello_destroy(h);
        return rc;
    }
    hello_state = h;
    return 0;
}

static int
hello_start(plt_plugin *self)
{
    (void)self;
    return hello_timer_start(hello_state);
}

static int
hello_stop(plt_plugin *self)
{
    (void)self;
    hello_timer_stop(hello_state);
    return 0;
}

static void
hello_fini(plt_plugin *self)
{
    (void)self;
    /* The subscription would be removed by the core after fini anyway;
     * removing it here keeps the log free of leak notices. */
    plt_unsubscribe(hello_state->agent_sub);
    hello_destroy(hello_state);
    hello_state = NULL;
}

static int
hello_reconfigure(plt_plugin *self, const plt_cfg *cfg, plt_reconf_phase phase)
{
    (void)self;
    if (phase == PLT_RECONF_CHECK)
        return hello_reconfigure_check(cfg);
    return hello_reconfigure_apply(hello_state, cfg);
}

/* `plateau hello NAME`: print the greeting for NAME. */
static int
hello_cmd(plt_plugin *self, int argc, char **argv)
{
    (void)self;
    if (argc != 1) {
        fprintf(stderr, "usage: plateau hello NAME\n");
        return 2;
    }
    char buf[256];
    int rc = hello_format(hello_state, argv[0], buf, sizeof(buf));
    if (rc != 0) {
        fprintf(stderr, "hello: %s\n", plt_strerror(rc));
        return 1;
    }
    printf("%s\n", buf);
    return 0;
}

static const plt_command hello_commands[] = {
    {.name = "hello",
     .summary = "print the greeting for NAME",
     .usage = "NAME",
     .run = hello_cmd},
    {0}};

PLT_PLUGIN_DEFINE(.name = "hello", .version = "1.0.0",
                  .summary = "Example plugin: greets on a timer",
                  .provides = hello_provides, .config_keys = hello_keys,
                  .commands = hello_commands, .init = hello_init,
                  .start = hello_start, .stop = hello_stop, .fini = hello_fini,
                  .reconfigure = hello_reconfigure);
