/* SPDX-License-Identifier: MIT */
/*
 * Private header of the hello example plugin: its state and the functions
 * hello.c (descriptor and lifecycle) calls in hello_greeter.c (logic).
 */
#ifndef HELLO_INT_H
#define HELLO_INT_H

#include <plateau/plateau.h>

#include "hello_greeter.h"

/* Everything the plugin holds, in one struct (no scattered globals). */
typedef struct hello {
    char *greeting;      /* owned copy: plt_cfg strings die on reload */
    int64_t interval_ms; /* time between two greetings */
    plt_timer *timer;    /* repeating, from start() to stop() */
    plt_sub *agent_sub;  /* "agent.*" */
    int64_t sent;        /* greetings published so far */
    int64_t seen_agent_events;
} hello;

/* The greeter service's vtable (provided in init()). */
extern const hello_greeter_vt hello_greeter_vtable;

/* Allocate the state and read the config. Returns 0, PLT_ENOMEM, or
 * PLT_ECONFIG after plt_set_error(). */
int hello_create(const plt_cfg *cfg, hello **out);
void hello_destroy(hello *h);

/* Reload: validate @p cfg (check) or take its values (apply). */
int hello_reconfigure_check(const plt_cfg *cfg);
int hello_reconfigure_apply(hello *h, const plt_cfg *cfg);

/* Start/stop the periodic greeting. */
int hello_timer_start(hello *h);
void hello_timer_stop(hello *h);

/* Subscriber of "agent.*" events: counts them. */
void hello_on_agent_event(const plt_event *ev, void *arg);

/* "<greeting>, <name>!" into buf. */
int hello_format(const hello *h, const char *name, char *buf, size_t len);

#endif
