/* SPDX-License-Identifier: MIT */
/*
 * The acd tests' world (see acd_fixture.h).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acd_fixture.h"

void
add_so(fixture *f, const char *name, const char *yaml)
{
    const char *dir = getenv("PLATEAU_PLUGIN_DIR");
    char so[PATH_MAX];
    snprintf(so, sizeof(so), "%s/%s.so", dir ? dir : ".", name);
    int rc = plt_fake_host_add_so(f->fh, so, yaml, NULL);
    if (rc != 0)
        print_error("%s: %s\n", so, plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
}

fixture *
fixture_open(const char *acd_yaml, const char *sim_yaml)
{
    return fixture_open_at(acd_yaml, sim_yaml, 0);
}

fixture *
fixture_open_at(const char *acd_yaml, const char *sim_yaml, int64_t start_ms)
{
    return fixture_open_full(acd_yaml, sim_yaml, NULL, start_ms);
}

fixture *
fixture_open_full(const char *acd_yaml, const char *sim_yaml,
                  const char *agents_yaml, int64_t start_ms)
{
    return fixture_open_ext(acd_yaml, sim_yaml, agents_yaml, start_ms, NULL);
}

fixture *
fixture_open_ext(const char *acd_yaml, const char *sim_yaml,
                 const char *agents_yaml, int64_t start_ms,
                 const char *const *extra)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    plt_fake_options opt = {.sim_start_ms = start_ms};
    assert_int_equal(plt_fake_host_new(&f->fh, &opt), 0);
    add_so(f, "storage_sqlite", NULL);
    add_so(f, "sim", sim_yaml ? sim_yaml : "seed: 7\n");
    add_so(f, "agents",
           agents_yaml ? agents_yaml : "missed_offers_before_pause: 0\n");
    for (size_t i = 0; extra && extra[i]; i++)
        add_so(f, extra[i], NULL);
    add_so(f, "acd", acd_yaml);
    int rc = plt_fake_host_init(f->fh);
    if (rc != 0)
        print_error("init: %s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    rc = plt_fake_host_start(f->fh);
    if (rc != 0)
        print_error("start: %s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    plt_service_ref ref;
    assert_int_equal(
        plt_fake_host_acquire(f->fh, PLT_AGENTS_NAME, 1, 0, &ref), 0);
    f->ag.vt = ref.vtable;
    f->ag.impl = ref.impl;
    assert_int_equal(
        plt_fake_host_acquire(f->fh, PLT_TELEPHONY_NAME, 1, 0, &ref), 0);
    f->tel.vt = ref.vtable;
    f->tel.impl = ref.impl;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_ACD_NAME, 1, 0, &ref),
                     0);
    f->acd.vt = ref.vtable;
    f->acd.impl = ref.impl;
    plt_fake_host_run_until_idle(f->fh);
    return f;
}

void
fixture_close(fixture *f)
{
    if (!f)
        return;
    assert_int_equal(plt_fake_host_stop(f->fh), 0);
    int rc = plt_fake_host_free(f->fh);
    free(f);
    assert_int_equal(rc, 0);
}

int
teardown(void **state)
{
    fixture_close(*state);
    *state = NULL;
    return 0;
}

/* Log an agent in on phone agent:<login> and wait for the phone. */
void
login(fixture *f, const char *agent)
{
    char phone[64];
    snprintf(phone, sizeof(phone), "agent:%s", agent);
    plt_agent_login l = {
        .size = sizeof(l), .agent = agent, .phone = phone, .keep_up = true};
    assert_int_equal(f->ag.vt->login(f->ag.impl, &l, NULL, NULL), 0);
}

void
ready(fixture *f, const char *agent)
{
    assert_int_equal(f->ag.vt->set_state(f->ag.impl, agent,
                                         PLT_AGENT_AVAILABLE, NULL, NULL,
                                         NULL),
                     0);
    plt_fake_host_run_until_idle(f->fh);
}

static void
on_state(void *arg, int status, const plt_agent_info *i)
{
    int32_t *st = arg;
    *st = status == 0 ? i->state : 0;
}

int32_t
agent_state(fixture *f, const char *agent)
{
    int32_t st = 0;
    assert_int_equal(f->ag.vt->get(f->ag.impl, agent, on_state, &st), 0);
    return st;
}

/* Log in every agent of @p v, then make them available 1 s apart, in that
 * order (the first is then the longest idle). */
void
staff(fixture *f, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        login(f, v[i]);
    plt_fake_host_run_for(f->fh, 3000);
    for (size_t i = 0; i < n; i++) {
        ready(f, v[i]);
        plt_fake_host_run_for(f->fh, 1000);
    }
}

/* A customer leg that is up: a simulated phone in the customer role. */
void
customer(fixture *f, char leg_id[32])
{
    char dest[32];
    snprintf(dest, sizeof(dest), "agent:9%02d", f->next_customer++);
    plt_originate o = {.size = sizeof(o),
                       .destination = dest,
                       .role = PLT_LEG_CUSTOMER};
    plt_leg *leg;
    assert_int_equal(f->tel.vt->originate(f->tel.impl, &o, &leg), 0);
    plt_fake_host_run_for(f->fh, 3000);
    plt_leg_info i = {.size = sizeof(i)};
    assert_int_equal(f->tel.vt->leg_info(f->tel.impl, leg, &i), 0);
    /* Simulated phones ringing longer (agent_ring_min) answer later. */
    for (int k = 0; k < 60 && i.state != PLT_LEG_UP; k++) {
        plt_fake_host_run_for(f->fh, 500);
        assert_int_equal(f->tel.vt->leg_info(f->tel.impl, leg, &i), 0);
    }
    assert_int_equal(i.state, PLT_LEG_UP);
    snprintf(leg_id, 32, "%s", i.id);
    f->tel.vt->leg_unref(f->tel.impl, leg);
}

void
enqueue(fixture *f, const char *queue, int32_t prio, const char *leg_id)
{
    plt_acd_request r = {
        .size = sizeof(r), .queue = queue, .leg_id = leg_id,
        .priority = prio};
    char id[32];
    assert_int_equal(f->acd.vt->enqueue(f->acd.impl, &r, id), 0);
    plt_fake_host_run_until_idle(f->fh);
}

/* The agent of the last queue.offered. */
const char *
last_offered(fixture *f)
{
    const plt_event *ev = plt_fake_host_event_last(f->fh, "queue.offered");
    return ev ? plt_fake_event_str(ev, "agent") : "";
}

const plt_event *
last_for(fixture *f, const char *topic, const char *leg_id)
{
    const plt_event *found = NULL;
    for (size_t i = 0;; i++) {
        const plt_event *ev = plt_fake_host_event_at(f->fh, topic, i);
        if (!ev)
            return found;
        const char *l = plt_fake_event_str(ev, "leg_id");
        if (l && strcmp(l, leg_id) == 0)
            found = ev;
    }
}

size_t
count_for(fixture *f, const char *topic, const char *leg_id)
{
    size_t n = 0;
    for (size_t i = 0;; i++) {
        const plt_event *ev = plt_fake_host_event_at(f->fh, topic, i);
        if (!ev)
            return n;
        const char *l = plt_fake_event_str(ev, "leg_id");
        n += l && strcmp(l, leg_id) == 0;
    }
}

int32_t
leg_state(fixture *f, const char *leg_id)
{
    plt_leg *leg;
    if (f->tel.vt->leg_find(f->tel.impl, leg_id, &leg) != 0) {
        /* Ended and released: its call.ended says so. */
        assert_non_null(last_for(f, "call.ended", leg_id));
        return PLT_LEG_ENDED;
    }
    plt_leg_info i = {.size = sizeof(i)};
    assert_int_equal(f->tel.vt->leg_info(f->tel.impl, leg, &i), 0);
    f->tel.vt->leg_unref(f->tel.impl, leg);
    return i.state;
}


void
stats_copy(void *arg, int status, const plt_queue_stats *st)
{
    assert_int_equal(status, 0);
    *(plt_queue_stats *)arg = *st;
}

plt_queue_stats
stats(fixture *f, const char *queue)
{
    plt_queue_stats st;
    memset(&st, 0, sizeof(st));
    assert_int_equal(f->acd.vt->stats(f->acd.impl, queue, stats_copy, &st), 0);
    return st;
}
