/* SPDX-License-Identifier: MIT */
/*
 * Internals of the sim_agents plugin: simulated agents who log in, take
 * wrap-up and pauses by distributions on the core clock. Not a public
 * header.
 */
#ifndef PLATEAU_SIM_AGENTS_INT_H
#define PLATEAU_SIM_AGENTS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <plateau/plateau.h>
#include <plateau/svc/agents.h>

/* Random streams: sim_rng.h from the sim plugin (plateau_sim_rng). */
#include "sim_rng.h"

/* ---- configuration ---- */

typedef struct sim_agents_cfg {
    int64_t seed;
    int64_t count;
    char *prefix;
    int64_t extension_base;
    int64_t login_at_ms;
    int64_t login_stagger_ms;
    int64_t wrap_mean_ms, wrap_sd_ms;
    double pause_rate;
    int64_t pause_mean_ms, pause_sd_ms;
    char *pause_reason;
    bool keep_up; /* false: extensions rung per offer */
} sim_agents_cfg;

struct sim_agents;

/* What the agent's one pending timer will do when it fires. */
typedef enum sim_agent_next {
    SIM_AGENT_NONE = 0,
    SIM_AGENT_LOGIN,    /* agents.login */
    SIM_AGENT_END_WRAP, /* ready, or the drawn pause */
    SIM_AGENT_END_PAUSE /* ready after our own pause */
} sim_agent_next;

typedef struct sim_agent {
    struct sim_agents *s;
    uint32_t index; /* 0-based */
    char login[32];
    char phone[32];
    sim_rng rng;
    plt_timer *timer; /* one-shot; NULL when none is pending */
    sim_agent_next next;
    int32_t state;    /* last state seen in agent.state_changed */
    bool logged_in;   /* login() accepted and no logout seen since */
    bool take_pause;  /* drawn at wrap-up entry */
    int64_t pause_ms; /* drawn at wrap-up entry */
    bool asked_pause; /* our pause request is pending in the service */
} sim_agent;

typedef struct sim_agents {
    sim_agents_cfg cfg;
    sim_agent *agents;
    size_t n;
    plt_agents ag;
    plt_sub *sub;
    bool started;
} sim_agents;

/* ---- behaviour (sim_agents_behaviour.c) ---- */

int sim_agents_setup(sim_agents *s);
int sim_agents_begin(sim_agents *s);
void sim_agents_on_state(const plt_event *ev, void *arg);
void sim_agents_logout_all(sim_agents *s);
void sim_agents_cancel_all(sim_agents *s);

/* ---- `plateau simulate-acd` (sim_agents_cli.c) ---- */

extern const plt_command sim_agents_commands[];
void sim_agents_cli_stop(void);

#endif
