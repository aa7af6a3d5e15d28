/* SPDX-License-Identifier: MIT */
/*
 * The world the acd tests run in: the fake host with storage_sqlite.so,
 * sim.so, agents.so and acd.so as built, on the simulated clock; agents
 * with simulated kept-up phones; customers that are simulated phones
 * ("agent:9xx" legs in the customer role, answering in 1-3 s and never
 * hanging up).
 */
#ifndef PLATEAU_TEST_ACD_FIXTURE_H
#define PLATEAU_TEST_ACD_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <plateau/plateau.h>
#include <plateau/svc/acd.h>
#include <plateau/svc/agents.h>
#include <plateau/svc/telephony.h>
#include <plateau/testing/fake_host.h>

typedef struct fixture {
    plt_fake_host *fh;
    plt_agents ag;
    plt_telephony tel;
    plt_acd acd;
    int next_customer;
} fixture;

void add_so(fixture *f, const char *name, const char *yaml);
/* Start the world (sim_yaml NULL: seed 7) at the default instant, or at
 * UTC @p start_ms (0 = the default). */
fixture *fixture_open(const char *acd_yaml, const char *sim_yaml);
fixture *fixture_open_at(const char *acd_yaml, const char *sim_yaml,
                         int64_t start_ms);
/* With the agents plugin's section (NULL: no auto-pause on misses). */
fixture *fixture_open_full(const char *acd_yaml, const char *sim_yaml,
                           const char *agents_yaml, int64_t start_ms);
/* With the .so plugins named in @p extra (NULL-terminated, default
 * configuration) loaded before acd. */
fixture *fixture_open_ext(const char *acd_yaml, const char *sim_yaml,
                          const char *agents_yaml, int64_t start_ms,
                          const char *const *extra);
void fixture_close(fixture *f);
int teardown(void **state);
/* Log an agent in on phone agent:<login> (kept up). */
void login(fixture *f, const char *agent);
void ready(fixture *f, const char *agent);
int32_t agent_state(fixture *f, const char *agent);
/* Log in every agent of @p v, then make them available 1 s apart. */
void staff(fixture *f, const char *const *v, size_t n);
/* A customer leg that is up. */
void customer(fixture *f, char leg_id[32]);
void enqueue(fixture *f, const char *queue, int32_t prio, const char *leg_id);
/* The last event of @p topic about @p leg_id, or NULL; how many. */
const plt_event *last_for(fixture *f, const char *topic, const char *leg_id);
size_t count_for(fixture *f, const char *topic, const char *leg_id);
/* A leg's state (ENDED also once the provider forgot it). */
int32_t leg_state(fixture *f, const char *leg_id);
/* A queue's live figures (stats_copy copies them into *arg). */
void stats_copy(void *arg, int status, const plt_queue_stats *st);
plt_queue_stats stats(fixture *f, const char *queue);
/* The agent of the last queue.offered. */
const char *last_offered(fixture *f);

#endif
