/* SPDX-License-Identifier: MIT */
/*
 * Reconfiguring the acd plugin while callers wait (the SIGHUP reload, on
 * the fake host's reconfigure; acd_fixture): a queue added, one changed,
 * one removed - every waiting caller is still there afterwards, the kept
 * queue keeps its counters, the removed queue takes no new caller but its
 * callers are still served by its agents; agents get their new queues at
 * once. A reload that cannot apply (an unknown overflow target) changes
 * nothing; a time zone new at a reload is read off the loop. And a reload
 * in the middle of traffic to agents on per-offer phones loses no caller.
 */
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

static const char before_yaml[] =
    "queues:\n"
    "  - {name: support, time_zone: Europe/Paris}\n"
    "  - {name: sales}\n"
    "agents:\n"
    "  - {agent: alice, queues: [support]}\n"
    "  - {agent: bob, queues: [sales]}\n";

static const char after_yaml[] =
    "queues:\n"
    "  - {name: support, time_zone: Europe/Paris, max_size: 1,\n"
    "     full: hangup}\n"
    "  - {name: vip, strategy: linear}\n"
    "agents:\n"
    "  - {agent: alice, queues: [vip, support]}\n"
    "  - {agent: carol, queues: [vip]}\n";

static int
reload(fixture *f, const char *yaml)
{
    int rc = plt_fake_host_reconfigure(
        f->fh, plt_fake_host_plugin(f->fh, "acd"), yaml);
    plt_fake_host_run_until_idle(f->fh);
    return rc;
}

static void
test_reload_keeps_waiting_callers(void **state)
{
    fixture *f = fixture_open(before_yaml, NULL);
    *state = f;
    char c1[32], c2[32], c3[32];
    customer(f, c1);
    enqueue(f, "support", 0, c1);
    customer(f, c2);
    enqueue(f, "sales", 0, c2);
    assert_int_equal(f->acd.vt->queue_count(f->acd.impl), 2);

    assert_int_equal(reload(f, after_yaml), 0);
    assert_int_equal(f->acd.vt->queue_count(f->acd.impl), 2);
    assert_string_equal(f->acd.vt->queue_at(f->acd.impl, 0), "support");
    assert_string_equal(f->acd.vt->queue_at(f->acd.impl, 1), "vip");
    /* support kept its caller and its counters. */
    plt_queue_stats st = stats(f, "support");
    assert_int_equal(st.waiting, 1);
    assert_int_equal(st.offered, 1);
    /* Its new max_size applies to new callers. */
    customer(f, c3);
    enqueue(f, "support", 0, c3);
    const plt_event *ov = last_for(f, "queue.overflowed", c3);
    assert_non_null(ov);
    assert_string_equal(plt_fake_event_str(ov, "reason"), "full");
    /* sales is gone for new callers; its caller is still up. */
    plt_acd_request r = {.size = sizeof(r), .queue = "sales", .leg_id = c3};
    char id[32];
    assert_int_equal(f->acd.vt->enqueue(f->acd.impl, &r, id), PLT_ENOENT);
    assert_int_equal(f->acd.vt->stats(f->acd.impl, "sales", stats_copy, &st),
                     PLT_ENOENT);
    assert_int_equal(leg_state(f, c2), PLT_LEG_UP);
    assert_null(last_for(f, "queue.abandoned", c2));
    /* Bob still serves the removed queue's caller; alice has her new
     * queues at once. */
    const char *const staffv[] = {"bob", "alice"};
    staff(f, staffv, 2);
    const plt_event *a2 = last_for(f, "queue.answered", c2);
    assert_non_null(a2);
    assert_string_equal(plt_fake_event_str(a2, "agent"), "bob");
    assert_string_equal(plt_fake_event_str(a2, "queue"), "sales");
    const plt_event *a1 = last_for(f, "queue.answered", c1);
    assert_non_null(a1);
    assert_string_equal(plt_fake_event_str(a1, "agent"), "alice");
    /* Both calls end normally (wrap-up), then the retired queue is
     * dropped by the next reload. */
    plt_leg *l;
    assert_int_equal(f->tel.vt->leg_find(f->tel.impl, c2, &l), 0);
    assert_int_equal(f->tel.vt->hangup(f->tel.impl, l, 0, PLT_BY_CUSTOMER), 0);
    f->tel.vt->leg_unref(f->tel.impl, l);
    plt_fake_host_run_for(f->fh, 1000);
    assert_int_equal(agent_state(f, "bob"), PLT_AGENT_WRAP_UP);
    assert_int_equal(reload(f, before_yaml), 0);
    assert_int_equal(f->acd.vt->queue_count(f->acd.impl), 2);
    assert_string_equal(f->acd.vt->queue_at(f->acd.impl, 1), "sales");
    assert_int_equal(stats(f, "sales").offered, 0);
    /* vip, removed with nobody in it, is simply gone. */
    assert_int_equal(f->acd.vt->stats(f->acd.impl, "vip", stats_copy, &st),
                     PLT_ENOENT);
}

static void
test_reload_refused_changes_nothing(void **state)
{
    fixture *f = fixture_open(before_yaml, NULL);
    *state = f;
    char c1[32];
    customer(f, c1);
    enqueue(f, "support", 0, c1);
    /* An overflow to a queue that does not exist. */
    assert_int_not_equal(reload(f, "queues:\n"
                                   "  - {name: support, overflow: 'queue:nope',"
                                   " max_wait: 1m}\n"),
                         0);
    assert_int_equal(f->acd.vt->queue_count(f->acd.impl), 2);
    assert_string_equal(f->acd.vt->queue_at(f->acd.impl, 1), "sales");
    assert_int_equal(stats(f, "support").waiting, 1);
    /* The configuration in force still works. */
    const char *const staffv[] = {"alice"};
    staff(f, staffv, 1);
    assert_non_null(last_for(f, "queue.answered", c1));
}

/* Traffic on two DIDs, agents on per-offer phones, and a reload in the
 * middle that removes one queue (its DID then reaches nobody) and adds
 * another: every caller who joined ends answered or abandoned, or still
 * waits; nothing warns and nothing is repaired. */
static void
test_reload_under_traffic(void **state)
{
    static const char a_yaml[] =
        "queues:\n"
        "  - {name: a, dids: ['+33140000010'], wrap_up: 3s}\n"
        "  - {name: b, dids: ['+33140000011'], wrap_up: 3s}\n"
        "agents:\n"
        "  - {agent: '401', queues: [a]}\n"
        "  - {agent: '402', queues: [a, b]}\n"
        "  - {agent: '403', queues: [b]}\n";
    static const char b_yaml[] =
        "queues:\n"
        "  - {name: a, dids: ['+33140000010'], wrap_up: 3s,\n"
        "     strategy: round_robin}\n"
        "  - {name: c, dids: ['+33140000011'], wrap_up: 3s}\n"
        "agents:\n"
        "  - {agent: '401', queues: [a, c]}\n"
        "  - {agent: '402', queues: [a]}\n";
    fixture *f = fixture_open(
        a_yaml, "seed: 5\npatience_mean: 60s\npatience_sd: 20s\n"
                "talk_mean: 60s\ntalk_sd: 20s\n"
                "agent_ring_min: 1s\nagent_ring_max: 4s\n"
                "agent_miss_rate: 0.1\n"
                "trunks: [{name: sim, max_channels: 200, cps: 0}]\n"
                "inbound:\n"
                "  - {did: '+33140000010', rate_per_hour: 120}\n"
                "  - {did: '+33140000011', rate_per_hour: 120}\n");
    *state = f;
    const char *const v[] = {"401", "402", "403"};
    for (size_t i = 0; i < 3; i++) {
        char phone[32];
        snprintf(phone, sizeof(phone), "agent:%s", v[i]);
        plt_agent_login l = {
            .size = sizeof(l), .agent = v[i], .phone = phone, .keep_up = false};
        assert_int_equal(f->ag.vt->login(f->ag.impl, &l, NULL, NULL), 0);
        ready(f, v[i]);
    }
    plt_fake_host_run_for(f->fh, 20 * 60 * 1000);
    assert_int_equal(reload(f, b_yaml), 0);
    plt_fake_host_run_for(f->fh, 20 * 60 * 1000);
    size_t joined = plt_fake_host_event_count(f->fh, "queue.joined");
    assert_true(joined > 40);
    size_t ended = 0, waiting = 0;
    for (size_t i = 0; i < joined; i++) {
        const plt_event *j = plt_fake_host_event_at(f->fh, "queue.joined", i);
        const char *leg = plt_fake_event_str(j, "leg_id");
        bool done = last_for(f, "queue.answered", leg) ||
                    last_for(f, "queue.abandoned", leg) ||
                    last_for(f, "queue.overflowed", leg);
        if (done)
            ended++;
        else
            waiting++;
    }
    plt_queue_stats a = stats(f, "a"), c = stats(f, "c");
    assert_int_equal(waiting, a.waiting + c.waiting);
    assert_int_equal(ended + waiting, joined);
    assert_true(a.answered > 0 && c.offered > 0);
    assert_int_equal(plt_fake_host_event_count(f->fh, "agent.state_repaired"),
                     0);
    assert_int_equal(plt_fake_host_log_count(f->fh, PLT_LOG_WARN, NULL), 0);
}

/* A zone first named by a reload is read off the loop, then used: at
 * 09:00 UTC on a Monday it is 18:00 in Tokyo, after hours there (but not
 * in UTC, the site's zone, which stands in until the read is done). An
 * unknown zone is logged and the site's zone stays. */
static void
test_reload_reads_a_new_zone(void **state)
{
    fixture *f = fixture_open(before_yaml, NULL);
    *state = f;
    size_t errors = plt_fake_host_log_count(f->fh, PLT_LOG_ERROR, NULL);
    assert_int_equal(reload(f, "queues:\n"
                               "  - {name: support, time_zone: Europe/Paris}\n"
                               "  - {name: tokyo, time_zone: Asia/Tokyo,\n"
                               "     hours: ['mon-fri 09:00-17:00']}\n"
                               "  - {name: mars, time_zone: Mars/Base,\n"
                               "     hours: ['mon-fri 09:00-17:00']}\n"),
                     0);
    assert_false(stats(f, "tokyo").open);
    assert_true(stats(f, "mars").open);
    assert_int_equal(plt_fake_host_log_count(f->fh, PLT_LOG_ERROR, NULL),
                     errors + 1);
    /* Tokyo opens at 09:00 there, midnight UTC. */
    plt_fake_host_run_for(f->fh, 15 * 3600 * 1000);
    assert_true(stats(f, "tokyo").open);
}

/* serves() and every lookup by login, for a large team: agents from the
 * configuration, from set_agent() (the agents plugin's skills), and new
 * in a reload, all found (the lookup table grows several times), none
 * invented. */
static void
test_serves_a_large_team(void **state)
{
    enum { CFG = 300, API = 400, RELOADED = 200 };
    size_t cap = 256 + (CFG + RELOADED) * 64;
    char *yaml = malloc(cap);
    assert_non_null(yaml);
    size_t n = (size_t)snprintf(yaml, cap,
                                "queues:\n  - {name: even}\n"
                                "  - {name: odd}\nagents:\n");
    for (int i = 0; i < CFG; i++)
        n += (size_t)snprintf(yaml + n, cap - n,
                              "  - {agent: 'c%d', queues: [%s]}\n", i,
                              i % 2 ? "odd" : "even");
    fixture *f = fixture_open(yaml, NULL);
    *state = f;
    void *impl = f->acd.impl;
    const plt_acd_vt *vt = f->acd.vt;
    char login[32];
    for (int i = 0; i < API; i++) {
        snprintf(login, sizeof(login), "api-%d", i);
        const char *q[] = {i % 3 ? "odd" : "even"};
        assert_int_equal(vt->set_agent(impl, login, NULL, 0, q, 1, NULL, NULL),
                         0);
    }
    /* One of the configured agents moves to both queues. */
    const char *both[] = {"even", "odd"};
    assert_int_equal(vt->set_agent(impl, "c4", NULL, 0, both, 2, NULL, NULL),
                     0);
    for (int i = 0; i < CFG; i++) {
        snprintf(login, sizeof(login), "c%d", i);
        assert_int_equal(vt->serves(impl, login, "odd"), i % 2 || i == 4);
        assert_int_equal(vt->serves(impl, login, "even"), i % 2 == 0);
    }
    for (int i = 0; i < API; i++) {
        snprintf(login, sizeof(login), "api-%d", i);
        assert_int_equal(vt->serves(impl, login, "odd"), i % 3 != 0);
        assert_int_equal(vt->serves(impl, login, "even"), i % 3 == 0);
    }
    assert_false(vt->serves(impl, "c300", "odd"));
    assert_false(vt->serves(impl, "api-400", "even"));
    assert_false(vt->serves(impl, "", "even"));
    assert_false(vt->serves(impl, NULL, "even"));
    assert_false(vt->serves(impl, "c1", "nowhere"));

    /* A reload adds agents and keeps the others known. */
    for (int i = 0; i < RELOADED; i++)
        n += (size_t)snprintf(yaml + n, cap - n,
                              "  - {agent: 'r%d', queues: [odd]}\n", i);
    assert_int_equal(reload(f, yaml), 0);
    free(yaml);
    for (int i = 0; i < RELOADED; i++) {
        snprintf(login, sizeof(login), "r%d", i);
        assert_true(vt->serves(impl, login, "odd"));
        assert_false(vt->serves(impl, login, "even"));
    }
    assert_true(vt->serves(impl, "c7", "odd"));
    assert_true(vt->serves(impl, "api-5", "odd"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_reload_keeps_waiting_callers, teardown),
        cmocka_unit_test_teardown(test_reload_refused_changes_nothing,
                                  teardown),
        cmocka_unit_test_teardown(test_reload_under_traffic, teardown),
        cmocka_unit_test_teardown(test_reload_reads_a_new_zone, teardown),
        cmocka_unit_test_teardown(test_serves_a_large_team, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
