/* SPDX-License-Identifier: MIT */
/*
 * The acd plugin as users of a contact center rely on it, on the fake host
 * with storage_sqlite.so, sim.so, agents.so and acd.so as built, on the
 * simulated clock. Agents log in with simulated kept-up phones; hand-built
 * customers are simulated phones ("agent:9xx" legs with the customer role,
 * which answer in 1-3 s and never hang up), so that each case controls who
 * is available since when and checks the agent queue.offered names.
 *
 * Covered: every strategy on a hand-built case (ring_all: the first to
 * answer wins, the others are freed); a caller hanging up in the instant
 * an agent frees up is never offered, and round robin does not move for
 * an offer never made; skills with relaxation;
 * priority; global fairness across two queues; an offer timeout moving to
 * the next agent; callers abandoning (sim patience) with their wait;
 * dry_run explanations; and a randomised hour of inbound traffic checking
 * that every caller is answered or abandoned with a wait, that no agent
 * is offered two calls at once, that the counts add up, and that the same
 * seeds replay the same event log.
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

#include <plateau/plateau.h>
#include <plateau/svc/acd.h>
#include <plateau/svc/agents.h>
#include <plateau/svc/telephony.h>
#include <plateau/testing/fake_host.h>

#include "acd_fixture.h"


static const char *const three[] = {"101", "102", "103"};

#define AGENTS3(extra)                                                     \
    "agents:\n"                                                            \
    "  - {agent: '101', queues: [q], skills: ['fr:40']" extra "}\n"      \
    "  - {agent: '102', queues: [q], skills: ['fr:90']" extra "}\n"      \
    "  - {agent: '103', queues: [q], skills: ['fr:60']" extra "}\n"

static fixture *
strategy_case(const char *strategy)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "queues:\n  - {name: q, strategy: %s, skills: ['fr:10']}\n"
             AGENTS3(""),
             strategy);
    fixture *f = fixture_open(yaml, NULL);
    /* Available since: 101 first, then 102, then 103. */
    staff(f, three, 3);
    return f;
}

static void
strategy_longest_idle(void **state)
{
    fixture *f = *state = strategy_case("longest_idle");
    char leg[32];
    customer(f, leg);
    enqueue(f, "q", 0, leg);
    assert_string_equal(last_offered(f), "101");
    /* Auto-answer: bridged at once. */
    const plt_event *ev = plt_fake_host_event_last(f->fh, "queue.answered");
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "agent"), "101");
    customer(f, leg);
    enqueue(f, "q", 0, leg);
    assert_string_equal(last_offered(f), "102");
}

static void
strategy_skill_level(void **state)
{
    fixture *f = *state = strategy_case("skill_level");
    char leg[32];
    customer(f, leg);
    enqueue(f, "q", 0, leg);
    assert_string_equal(last_offered(f), "102"); /* fr:90 */
    customer(f, leg);
    enqueue(f, "q", 0, leg);
    assert_string_equal(last_offered(f), "103"); /* fr:60 */
}

static void
strategy_linear_and_round_robin(void **state)
{
    fixture *f = *state = strategy_case("round_robin");
    char leg[32];
    /* Round robin: 101, 102, 103 in turn, whatever the idle times. */
    const char *want[] = {"101", "102", "103"};
    for (int i = 0; i < 3; i++) {
        customer(f, leg);
        enqueue(f, "q", 0, leg);
        assert_string_equal(last_offered(f), want[i]);
    }
}

static void
strategy_linear(void **state)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "queues:\n  - {name: q, strategy: linear}\n" AGENTS3(""));
    fixture *f = *state = fixture_open(yaml, NULL);
    /* 103 is the longest idle, but linear follows the configured order. */
    const char *order[] = {"103", "102", "101"};
    staff(f, order, 3);
    char leg[32];
    customer(f, leg);
    enqueue(f, "q", 0, leg);
    assert_string_equal(last_offered(f), "101");
}

static void
strategy_fewest_calls_and_talk(void **state)
{
    fixture *f = *state = strategy_case("fewest_calls");
    char leg[32];
    /* 101 takes a call that ends; then 101 is back first in idle order
     * (forced ready) but has one call: 102 gets the next. */
    customer(f, leg);
    enqueue(f, "q", 0, leg);
    assert_string_equal(last_offered(f), "101");
    plt_leg *l;
    assert_int_equal(f->tel.vt->leg_find(f->tel.impl, leg, &l), 0);
    plt_fake_host_run_for(f->fh, 5000);
    assert_int_equal(f->tel.vt->hangup(f->tel.impl, l, 0, PLT_BY_CUSTOMER),
                     0);
    f->tel.vt->leg_unref(f->tel.impl, l);
    plt_fake_host_run_until_idle(f->fh);
    ready(f, "101");
    /* Make 102 and 103 newer than 101 in idle order. */
    assert_int_equal(f->ag.vt->set_state(f->ag.impl, "102", PLT_AGENT_PAUSE,
                                         "meal", NULL, NULL),
                     0);
    ready(f, "102");
    customer(f, leg);
    enqueue(f, "q", 0, leg);
    assert_string_equal(last_offered(f), "103");
}

static void
strategy_random_seeded(void **state)
{
    (void)state;
    char first[3][8];
    for (int run = 0; run < 2; run++) {
        fixture *f = strategy_case("random");
        char leg[32];
        for (int i = 0; i < 3; i++) {
            customer(f, leg);
            enqueue(f, "q", 0, leg);
            if (run == 0)
                snprintf(first[i], sizeof(first[i]), "%s", last_offered(f));
            else
                assert_string_equal(first[i], last_offered(f));
        }
        fixture_close(f);
    }
}

static size_t
count_to(fixture *f, const char *agent, const char *from, const char *to)
{
    size_t n = 0, total = plt_fake_host_event_count(f->fh,
                                                    "agent.state_changed");
    for (size_t i = 0; i < total; i++) {
        const plt_event *ev =
            plt_fake_host_event_at(f->fh, "agent.state_changed", i);
        if (strcmp(plt_fake_event_str(ev, "agent"), agent) == 0 &&
            strcmp(plt_fake_event_str(ev, "from"), from) == 0 &&
            strcmp(plt_fake_event_str(ev, "to"), to) == 0)
            n++;
    }
    return n;
}

/* ring_all rings every eligible agent at once; the first to answer takes
 * the call and the others are free again at once, without a missed offer. */
static void
strategy_ring_all(void **state)
{
    fixture *f = *state = fixture_open(
        "queues:\n  - {name: q, strategy: ring_all, offer_timeout: 15s}\n"
        "agents:\n  - {agent: '101', queues: [q], offer_ring: 8s}\n"
        "  - {agent: '102', queues: [q], offer_ring: 3s}\n"
        "  - {agent: '103', queues: [q], offer_ring: 5s}\n",
        NULL);
    staff(f, three, 3);
    char leg[32];
    customer(f, leg);
    enqueue(f, "q", 0, leg);
    assert_int_equal(plt_fake_host_event_count(f->fh, "queue.offered"), 3);
    for (size_t i = 0; i < 3; i++) {
        const plt_event *ev = plt_fake_host_event_at(f->fh, "queue.offered", i);
        assert_string_equal(plt_fake_event_str(ev, "agent"), three[i]);
        assert_int_equal(plt_fake_event_i64(ev, "rung", 0), 3);
    }
    assert_int_equal(agent_state(f, "101"), PLT_AGENT_RESERVED);
    assert_int_equal(agent_state(f, "103"), PLT_AGENT_RESERVED);
    plt_fake_host_run_for(f->fh, 2999);
    assert_int_equal(plt_fake_host_event_count(f->fh, "queue.answered"), 0);
    plt_fake_host_run_for(f->fh, 1);
    const plt_event *ev = plt_fake_host_event_last(f->fh, "queue.answered");
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "agent"), "102");
    assert_int_equal(plt_fake_event_i64(ev, "wait_ms", -1), 3000);
    assert_int_equal(agent_state(f, "102"), PLT_AGENT_IN_CALL);
    assert_int_equal(agent_state(f, "101"), PLT_AGENT_AVAILABLE);
    assert_int_equal(agent_state(f, "103"), PLT_AGENT_AVAILABLE);
    assert_int_equal(count_to(f, "101", "reserved", "available"), 1);
    assert_int_equal(count_to(f, "103", "reserved", "available"), 1);
    /* Nobody else rings later and nobody missed it. */
    plt_fake_host_run_for(f->fh, 20000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "queue.offered"), 3);
    assert_int_equal(plt_fake_host_event_count(f->fh, "queue.answered"), 1);
    assert_int_equal(agent_state(f, "101"), PLT_AGENT_AVAILABLE);
    /* The next caller rings the two still free. */
    customer(f, leg);
    enqueue(f, "q", 0, leg);
    assert_int_equal(plt_fake_host_event_count(f->fh, "queue.offered"), 5);
}

/* The customer hangs up in the very instant an agent becomes available,
 * and the agent's event is handled first: the dead caller must not be
 * offered (before, the agent was reserved, put in call, then in wrap-up
 * for a call that never was, and round robin moved on past it). */
static void
dead_caller_never_offered(void **state)
{
    fixture *f = *state = fixture_open(
        "queues:\n  - {name: q, strategy: round_robin}\n" AGENTS3(""),
        NULL);
    for (size_t i = 0; i < 3; i++)
        login(f, three[i]);
    plt_fake_host_run_for(f->fh, 3000);
    char leg[32];
    customer(f, leg);
    enqueue(f, "q", 0, leg);
    assert_int_equal(plt_fake_host_event_count(f->fh, "queue.offered"), 0);
    /* Ready first (its event is published first), then the hang-up. */
    assert_int_equal(f->ag.vt->set_state(f->ag.impl, "101",
                                         PLT_AGENT_AVAILABLE, NULL, NULL,
                                         NULL),
                     0);
    assert_int_equal(f->ag.vt->set_state(f->ag.impl, "102",
                                         PLT_AGENT_AVAILABLE, NULL, NULL,
                                         NULL),
                     0);
    plt_leg *l;
    assert_int_equal(f->tel.vt->leg_find(f->tel.impl, leg, &l), 0);
    assert_int_equal(f->tel.vt->hangup(f->tel.impl, l, 0, PLT_BY_CUSTOMER),
                     0);
    f->tel.vt->leg_unref(f->tel.impl, l);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(plt_fake_host_event_count(f->fh, "queue.offered"), 0);
    assert_int_equal(plt_fake_host_event_count(f->fh, "queue.answered"), 0);
    assert_int_equal(plt_fake_host_event_count(f->fh, "queue.abandoned"), 1);
    assert_int_equal(agent_state(f, "101"), PLT_AGENT_AVAILABLE);
    assert_int_equal(count_to(f, "101", "available", "reserved"), 0);
    /* Round robin did not move for the offer never made: 101 is next. */
    customer(f, leg);
    enqueue(f, "q", 0, leg);
    assert_string_equal(last_offered(f), "101");
}

static void
skills_relaxation(void **state)
{
    fixture *f = *state = fixture_open(
        "queues:\n  - {name: q, skills: ['fr:50'], relax_after: 30s, "
        "relax_step: 10}\n"
        "agents:\n  - {agent: '103', queues: [q], skills: ['fr:40']}\n",
        NULL);
    const char *one[] = {"103"};
    staff(f, one, 1);
    char leg[32];
    customer(f, leg);
    enqueue(f, "q", 0, leg);
    assert_int_equal(plt_fake_host_event_count(f->fh, "queue.offered"), 0);
    plt_fake_host_run_for(f->fh, 29999);
    assert_int_equal(plt_fake_host_event_count(f->fh, "queue.offered"), 0);
    plt_fake_host_run_for(f->fh, 1);
    assert_string_equal(last_offered(f), "103");
    const plt_event *ev = plt_fake_host_event_last(f->fh, "queue.answered");
    assert_non_null(ev);
    assert_int_equal(plt_fake_event_i64(ev, "wait_ms", -1), 30000);
}

static void
priority_first(void **state)
{
    fixture *f = *state = fixture_open(
        "queues:\n  - {name: q}\n"
        "agents:\n  - {agent: '101', queues: [q]}\n",
        NULL);
    login(f, "101");
    plt_fake_host_run_for(f->fh, 3000);
    char a[32], b[32];
    customer(f, a);
    customer(f, b);
    enqueue(f, "q", 0, a);
    enqueue(f, "q", 5, b); /* joined later, higher priority */
    ready(f, "101");
    const plt_event *ev = plt_fake_host_event_last(f->fh, "queue.offered");
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "leg_id"), b);
}

static void
global_fairness(void **state)
{
    fixture *f = *state = fixture_open(
        "queues:\n  - {name: sales}\n  - {name: support}\n"
        "agents:\n  - {agent: '101', queues: [sales, support]}\n",
        NULL);
    login(f, "101");
    plt_fake_host_run_for(f->fh, 3000);
    char a[32], b[32];
    customer(f, a);
    customer(f, b);
    enqueue(f, "support", 0, a); /* waits longer */
    plt_fake_host_run_for(f->fh, 5000);
    enqueue(f, "sales", 0, b);
    ready(f, "101");
    const plt_event *ev = plt_fake_host_event_last(f->fh, "queue.offered");
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "queue"), "support");
    assert_string_equal(plt_fake_event_str(ev, "leg_id"), a);
}

static void
offer_timeout_next_agent(void **state)
{
    fixture *f = *state = fixture_open(
        "queues:\n  - {name: q, offer_timeout: 15s}\n"
        "agents:\n  - {agent: '101', queues: [q], offer_ring: 20s}\n"
        "  - {agent: '102', queues: [q], offer_ring: 2s}\n",
        NULL);
    const char *two[] = {"101", "102"};
    staff(f, two, 2);
    char leg[32];
    customer(f, leg);
    enqueue(f, "q", 0, leg);
    assert_string_equal(last_offered(f), "101");
    plt_fake_host_run_for(f->fh, 14999);
    assert_int_equal(plt_fake_host_event_count(f->fh, "queue.offered"), 1);
    plt_fake_host_run_for(f->fh, 1);
    const plt_event *ev = plt_fake_host_event_last(f->fh, "queue.offered");
    assert_string_equal(plt_fake_event_str(ev, "agent"), "102");
    assert_int_equal(plt_fake_event_i64(ev, "attempt", 0), 2);
    plt_fake_host_run_for(f->fh, 2000);
    ev = plt_fake_host_event_last(f->fh, "queue.answered");
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "agent"), "102");
    assert_int_equal(plt_fake_event_i64(ev, "wait_ms", -1), 17000);
}

static void
abandon_while_waiting(void **state)
{
    fixture *f = *state = fixture_open(
        "queues:\n  - {name: q, dids: ['+33100000000']}\n",
        "seed: 3\npatience_mean: 8s\npatience_sd: 2s\n"
        "inbound:\n  - {did: '+33100000000', rate_per_hour: 120}\n");
    plt_fake_host_run_for(f->fh, 600000);
    size_t joined = plt_fake_host_event_count(f->fh, "queue.joined");
    size_t ab = plt_fake_host_event_count(f->fh, "queue.abandoned");
    assert_true(ab > 5);
    for (size_t i = 0; i < ab; i++) {
        const plt_event *ev = plt_fake_host_event_at(f->fh, "queue.abandoned", i);
        int64_t w = plt_fake_event_i64(ev, "wait_ms", -1);
        assert_true(w > 0 && w < 60000);
        assert_true(plt_fake_event_i64(ev, "position", 0) >= 1);
    }
    assert_true(joined >= ab && joined - ab <= 3);
}

typedef struct explained {
    char agent[32];
    char text[2048];
} explained;

static void
on_explain(void *arg, const char *agent, const char *const *lines, size_t n)
{
    explained *e = arg;
    snprintf(e->agent, sizeof(e->agent), "%s", agent ? agent : "");
    e->text[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strncat(e->text, lines[i], sizeof(e->text) - strlen(e->text) - 2);
        strcat(e->text, "\n");
    }
}

static void
dry_run_explains(void **state)
{
    fixture *f = *state = fixture_open(
        "queues:\n  - {name: q, skills: ['fr:50']}\n"
        "agents:\n  - {agent: '101', queues: [q], skills: ['fr:70']}\n"
        "  - {agent: '102', queues: [q], skills: ['fr:80']}\n"
        "  - {agent: '103', queues: [q], skills: ['fr:40']}\n"
        "  - {agent: '104', queues: [q], skills: ['en:90']}\n",
        NULL);
    const char *av[] = {"101", "103", "104"};
    staff(f, av, 3);
    login(f, "102"); /* logged in, not available */
    plt_fake_host_run_for(f->fh, 42000);
    plt_acd_request r = {.size = sizeof(r), .queue = "q", .leg_id = "none"};
    explained e;
    size_t before = plt_fake_host_event_count(f->fh, "*");
    assert_int_equal(f->acd.vt->dry_run(f->acd.impl, &r, on_explain, &e), 0);
    assert_string_equal(e.agent, "101");
    assert_non_null(strstr(e.text, "agent 101: chosen (longest idle, 45 s)"));
    assert_non_null(strstr(e.text, "agent 102: not available (pause)"));
    assert_non_null(strstr(e.text, "agent 103: skill fr level 40 < required 50"));
    assert_non_null(strstr(e.text, "agent 104: lacks skill fr"));
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(plt_fake_host_event_count(f->fh, "*"), before);
}

/* ---- the randomised hour ---- */

struct statbox {
    plt_queue_stats s;
    bool got;
};

static void
on_stats(void *arg, int status, const plt_queue_stats *s)
{
    struct statbox *box = arg;
    assert_int_equal(status, 0);
    box->s = *s;
    box->got = true;
}

static char *
hour_run(uint64_t *answered, uint64_t *abandoned)
{
    char yaml[4096];
    int n = snprintf(yaml, sizeof(yaml),
                     "seed: 5\nqueues:\n  - {name: in, strategy: random, "
                     "dids: ['+33140000000'], wrap_up: 10s}\nagents:\n");
    for (int i = 0; i < 10; i++)
        n += snprintf(yaml + n, sizeof(yaml) - (size_t)n,
                      "  - {agent: '2%02d', queues: [in]}\n", i);
    fixture *f = fixture_open(
        yaml, "seed: 11\npatience_mean: 40s\npatience_sd: 20s\n"
              "talk_mean: 200s\ntalk_sd: 60s\n"
              "trunks: [{name: sim, max_channels: 200, cps: 0}]\n"
              "inbound:\n  - {did: '+33140000000', rate_per_hour: 240}\n");
    char names[10][8];
    const char *v[10];
    for (int i = 0; i < 10; i++) {
        snprintf(names[i], sizeof(names[i]), "2%02d", i);
        v[i] = names[i];
    }
    staff(f, v, 10);
    plt_fake_host_run_for(f->fh, 3600 * 1000);
    /* Walk the log: no agent offered a second call before it became
     * available again; every answer and abandon carries a wait. */
    size_t total = plt_fake_host_event_count(f->fh, "*");
    bool busy[10] = {0};
    size_t cap = 1 << 20, len = 0;
    char *log = malloc(cap);
    assert_non_null(log);
    for (size_t i = 0; i < total; i++) {
        const plt_event *ev = plt_fake_host_event_at(f->fh, "*", i);
        const char *t = plt_fake_event_topic(ev);
        if (strcmp(t, "agent.state_changed") == 0) {
            const char *a = plt_fake_event_str(ev, "agent");
            const char *to = plt_fake_event_str(ev, "to");
            int k = atoi(a) - 200;
            if (k >= 0 && k < 10 && strcmp(to, "available") == 0)
                busy[k] = false;
        } else if (strcmp(t, "queue.offered") == 0) {
            int k = atoi(plt_fake_event_str(ev, "agent")) - 200;
            assert_true(k >= 0 && k < 10);
            assert_false(busy[k]);
            busy[k] = true;
        } else if (strcmp(t, "queue.answered") == 0 ||
                   strcmp(t, "queue.abandoned") == 0) {
            assert_true(plt_fake_event_i64(ev, "wait_ms", -1) >= 0);
        }
        if (strncmp(t, "queue.", 6) == 0 && len + 256 < cap)
            len += (size_t)snprintf(
                log + len, cap - len, "%lld %s %s %s %lld\n",
                (long long)plt_fake_event_time(ev), t,
                plt_fake_event_str(ev, "leg_id"),
                plt_fake_event_str(ev, "agent") ? plt_fake_event_str(ev, "agent")
                                                : "-",
                (long long)plt_fake_event_i64(ev, "wait_ms", -1));
    }
    size_t joined = plt_fake_host_event_count(f->fh, "queue.joined");
    size_t ans = plt_fake_host_event_count(f->fh, "queue.answered");
    size_t ab = plt_fake_host_event_count(f->fh, "queue.abandoned");
    struct statbox box = {0};
    assert_int_equal(f->acd.vt->stats(f->acd.impl, "in", on_stats, &box), 0);
    assert_true(box.got);
    assert_true(joined > 150);
    assert_int_equal(box.s.answered, ans);
    assert_int_equal(box.s.abandoned, ab);
    assert_int_equal(joined, ans + ab + box.s.waiting);
    assert_true(box.s.service_level >= 0.0 && box.s.service_level <= 1.0);
    /* Nobody is left stuck for the invariant checks to repair. */
    assert_int_equal(plt_fake_host_event_count(f->fh, "agent.state_repaired"),
                     0);
    *answered = ans;
    *abandoned = ab;
    fixture_close(f);
    log[len] = '\0';
    return log;
}

static void
randomised_hour(void **state)
{
    (void)state;
    uint64_t ans1, ab1, ans2, ab2;
    char *a = hour_run(&ans1, &ab1);
    char *b = hour_run(&ans2, &ab2);
    assert_true(ans1 > 100);
    assert_int_equal(ans1, ans2);
    assert_int_equal(ab1, ab2);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(strategy_longest_idle, teardown),
        cmocka_unit_test_teardown(strategy_skill_level, teardown),
        cmocka_unit_test_teardown(strategy_linear_and_round_robin, teardown),
        cmocka_unit_test_teardown(strategy_linear, teardown),
        cmocka_unit_test_teardown(strategy_fewest_calls_and_talk, teardown),
        cmocka_unit_test(strategy_random_seeded),
        cmocka_unit_test_teardown(dead_caller_never_offered, teardown),
        cmocka_unit_test_teardown(strategy_ring_all, teardown),
        cmocka_unit_test_teardown(skills_relaxation, teardown),
        cmocka_unit_test_teardown(priority_first, teardown),
        cmocka_unit_test_teardown(global_fairness, teardown),
        cmocka_unit_test_teardown(offer_timeout_next_agent, teardown),
        cmocka_unit_test_teardown(abandon_while_waiting, teardown),
        cmocka_unit_test_teardown(dry_run_explains, teardown),
        cmocka_unit_test(randomised_hour),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
