/* SPDX-License-Identifier: MIT */
/*
 * Agents whose extension is rung per offer (logged in without keep_up), on
 * sim's simulated phones (acd_fixture): the login needs no leg; each offer
 * originates "agent:<ext>" and the answer bridges the customer to that
 * leg; the customer hanging up ends the agent's leg and starts the
 * wrap-up, and the agent hanging up ends the customer's; an offer not
 * answered within the offer timeout is cancelled and moves to the next
 * agent, counted as a miss (the no-answer auto-pause); a phone that
 * rejects the call moves the offer on at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "acd_fixture.h"

static void
login_per_call(fixture *f, const char *agent)
{
    char phone[64];
    snprintf(phone, sizeof(phone), "agent:%s", agent);
    plt_agent_login l = {
        .size = sizeof(l), .agent = agent, .phone = phone, .keep_up = false};
    assert_int_equal(f->ag.vt->login(f->ag.impl, &l, NULL, NULL), 0);
    plt_fake_host_run_until_idle(f->fh);
}

typedef struct info_copy {
    int32_t state;
    char reason[64];
    bool has_leg, keep_up;
} info_copy;

static void
on_info(void *arg, int status, const plt_agent_info *i)
{
    info_copy *c = arg;
    assert_int_equal(status, 0);
    c->state = i->state;
    snprintf(c->reason, sizeof(c->reason), "%s", i->reason ? i->reason : "");
    c->has_leg = i->leg_id != NULL;
    c->keep_up = i->keep_up;
}

static info_copy
info(fixture *f, const char *agent)
{
    info_copy c = {0};
    assert_int_equal(f->ag.vt->get(f->ag.impl, agent, on_info, &c), 0);
    return c;
}

/* The id of the last agent leg created for @p agent. */
static const char *
agent_leg(fixture *f, const char *agent)
{
    const char *found = NULL;
    for (size_t i = 0;; i++) {
        const plt_event *ev = plt_fake_host_event_at(f->fh, "call.created", i);
        if (!ev)
            return found;
        const char *a = plt_fake_event_str(ev, "var_agent");
        if (a && strcmp(a, agent) == 0 &&
            plt_fake_event_str(ev, "var_offer_id"))
            found = plt_fake_event_str(ev, "leg_id");
    }
}

static void
hangup(fixture *f, const char *leg_id, int code, int32_t by)
{
    plt_leg *l;
    assert_int_equal(f->tel.vt->leg_find(f->tel.impl, leg_id, &l), 0);
    assert_int_equal(f->tel.vt->hangup(f->tel.impl, l, code, by), 0);
    f->tel.vt->leg_unref(f->tel.impl, l);
    plt_fake_host_run_until_idle(f->fh);
}

/* Alice and bob on per-offer phones, alice the longest idle; a caller
 * @p c1 joins. */
static void
both_ready(fixture *f, char c1[32])
{
    login_per_call(f, "alice");
    login_per_call(f, "bob");
    ready(f, "alice");
    plt_fake_host_run_for(f->fh, 1000);
    ready(f, "bob");
    customer(f, c1);
    enqueue(f, "support", 0, c1);
}

/* The same, and alice's phone rings. */
static void
alice_then_bob(fixture *f, char c1[32])
{
    both_ready(f, c1);
    assert_string_equal(last_offered(f), "alice");
}

static void
test_offer_rings_the_extension(void **state)
{
    fixture *f =
        fixture_open("queues:\n"
                     "  - {name: support, offer_timeout: 10s, wrap_up: 5s}\n"
                     "agents:\n"
                     "  - {agent: alice, queues: [support]}\n",
                     "seed: 7\nagent_ring_min: 2s\nagent_ring_max: 2s\n"
                     "agent_miss_rate: 0\n");
    *state = f;
    login_per_call(f, "alice");
    /* No leg to connect: paused at once, nothing originated. */
    info_copy i = info(f, "alice");
    assert_int_equal(i.state, PLT_AGENT_PAUSE);
    assert_false(i.keep_up);
    assert_false(i.has_leg);
    assert_null(agent_leg(f, "alice"));
    ready(f, "alice");
    char c1[32];
    customer(f, c1);
    enqueue(f, "support", 0, c1);
    assert_string_equal(last_offered(f), "alice");
    const char *al = agent_leg(f, "alice");
    assert_non_null(al);
    char aleg[32];
    snprintf(aleg, sizeof(aleg), "%s", al);
    assert_int_equal(agent_state(f, "alice"), PLT_AGENT_RESERVED);
    assert_null(last_for(f, "queue.answered", c1));
    /* She picks up after 2 s: bridged to the customer. */
    plt_fake_host_run_for(f->fh, 2500);
    const plt_event *ans = last_for(f, "queue.answered", c1);
    assert_non_null(ans);
    assert_int_equal(plt_fake_event_i64(ans, "wait_ms", 0), 2000);
    const plt_event *br = last_for(f, "call.bridged", c1);
    assert_non_null(br);
    assert_string_equal(plt_fake_event_str(br, "other_leg_id"), aleg);
    assert_int_equal(agent_state(f, "alice"), PLT_AGENT_IN_CALL);
    /* The customer hangs up: her leg is hung up, she wraps up. */
    plt_fake_host_run_for(f->fh, 10000);
    hangup(f, c1, 0, PLT_BY_CUSTOMER);
    assert_int_equal(leg_state(f, aleg), PLT_LEG_ENDED);
    assert_int_equal(agent_state(f, "alice"), PLT_AGENT_WRAP_UP);
    plt_fake_host_run_for(f->fh, 6000);
    assert_int_equal(agent_state(f, "alice"), PLT_AGENT_AVAILABLE);
    /* Next call: a new leg; this time she hangs up first. */
    char c2[32];
    customer(f, c2);
    enqueue(f, "support", 0, c2);
    plt_fake_host_run_for(f->fh, 2500);
    assert_non_null(last_for(f, "queue.answered", c2));
    char aleg2[32];
    snprintf(aleg2, sizeof(aleg2), "%s", agent_leg(f, "alice"));
    assert_string_not_equal(aleg2, aleg);
    hangup(f, aleg2, 0, PLT_BY_AGENT);
    assert_int_equal(leg_state(f, c2), PLT_LEG_ENDED);
    assert_int_equal(agent_state(f, "alice"), PLT_AGENT_WRAP_UP);
    /* Nothing stuck for the invariant checks to repair. */
    plt_fake_host_run_for(f->fh, 10000);
    assert_int_equal(agent_state(f, "alice"), PLT_AGENT_AVAILABLE);
    assert_int_equal(plt_fake_host_event_count(f->fh, "agent.state_repaired"),
                     0);
}

static void
test_offer_timeout_moves_on_and_counts_a_miss(void **state)
{
    fixture *f =
        fixture_open_full("queues:\n"
                          "  - {name: support, offer_timeout: 3s}\n"
                          "agents:\n"
                          "  - {agent: alice, queues: [support]}\n"
                          "  - {agent: bob, queues: [support]}\n",
                          "seed: 7\nagent_ring_min: 5s\nagent_ring_max: 5s\n"
                          "agent_miss_rate: 0\n",
                          "missed_offers_before_pause: 1\n", 0);
    *state = f;
    char c1[32];
    alice_then_bob(f, c1);
    char aleg[32];
    snprintf(aleg, sizeof(aleg), "%s", agent_leg(f, "alice"));
    /* Her phone rings 5 s; the offer times out at 3 s: cancelled, she is
     * paused for not answering, and bob's phone rings. */
    plt_fake_host_run_for(f->fh, 3100);
    assert_int_equal(leg_state(f, aleg), PLT_LEG_ENDED);
    info_copy i = info(f, "alice");
    assert_int_equal(i.state, PLT_AGENT_PAUSE);
    assert_string_equal(i.reason, "no_answer");
    assert_string_equal(last_offered(f), "bob");
    assert_int_equal(agent_state(f, "bob"), PLT_AGENT_RESERVED);
    plt_fake_host_run_for(f->fh, 3100);
    assert_int_equal(agent_state(f, "bob"), PLT_AGENT_PAUSE);
    /* Nobody left: the caller waits, never answered by a cancelled leg. */
    plt_fake_host_run_for(f->fh, 5000);
    assert_null(last_for(f, "queue.answered", c1));
    assert_int_equal(count_for(f, "queue.offered", c1), 2);
}

static void
test_rejected_phone_moves_on_at_once(void **state)
{
    fixture *f =
        fixture_open("queues:\n"
                     "  - {name: support, offer_timeout: 20s}\n"
                     "agents:\n"
                     "  - {agent: alice, queues: [support]}\n"
                     "  - {agent: bob, queues: [support]}\n",
                     "seed: 7\nagent_ring_min: 4s\nagent_ring_max: 4s\n"
                     "agent_miss_rate: 0\n");
    *state = f;
    char c1[32];
    alice_then_bob(f, c1);
    plt_fake_host_run_for(f->fh, 1000);
    /* Alice declines (486): bob is rung now, not after 20 s. */
    char aleg[32];
    snprintf(aleg, sizeof(aleg), "%s", agent_leg(f, "alice"));
    hangup(f, aleg, 486, PLT_BY_AGENT);
    assert_string_equal(last_offered(f), "bob");
    assert_int_equal(agent_state(f, "alice"), PLT_AGENT_AVAILABLE);
    plt_fake_host_run_for(f->fh, 4500);
    const plt_event *ans = last_for(f, "queue.answered", c1);
    assert_non_null(ans);
    assert_string_equal(plt_fake_event_str(ans, "agent"), "bob");
}

/* ring_all on per-offer phones: both ring, the first to pick up takes
 * the call and the other's leg is cancelled, without a miss; a phone that
 * declines leaves the other ringing. */
static void
test_ring_all_rings_every_extension(void **state)
{
    fixture *f = fixture_open(
        "queues:\n"
        "  - {name: support, strategy: ring_all, offer_timeout: 10s}\n"
        "agents:\n"
        "  - {agent: alice, queues: [support]}\n"
        "  - {agent: bob, queues: [support]}\n",
        "seed: 7\nagent_ring_min: 2s\nagent_ring_max: 6s\n"
        "agent_miss_rate: 0\n");
    *state = f;
    char c1[32];
    both_ready(f, c1);
    char al[32], bl[32];
    snprintf(al, sizeof(al), "%s", agent_leg(f, "alice"));
    snprintf(bl, sizeof(bl), "%s", agent_leg(f, "bob"));
    assert_int_equal(count_for(f, "queue.offered", c1), 2);
    plt_fake_host_run_for(f->fh, 7000);
    const plt_event *ans = last_for(f, "queue.answered", c1);
    assert_non_null(ans);
    const char *who = plt_fake_event_str(ans, "agent");
    bool alice_won = strcmp(who, "alice") == 0;
    const char *loser = alice_won ? "bob" : "alice";
    assert_int_equal(leg_state(f, alice_won ? bl : al), PLT_LEG_ENDED);
    assert_int_equal(leg_state(f, alice_won ? al : bl), PLT_LEG_UP);
    assert_int_equal(agent_state(f, who), PLT_AGENT_IN_CALL);
    assert_int_equal(agent_state(f, loser), PLT_AGENT_AVAILABLE);

    /* The loser is rung for the next caller alone; it declines while the
     * winner is busy: nobody else can take it, yet its phone is left
     * alone a moment rather than rung again at once, then rung again. */
    char c2[32];
    customer(f, c2);
    enqueue(f, "support", 0, c2);
    const plt_event *off = last_for(f, "queue.offered", c2);
    assert_non_null(off);
    assert_string_equal(plt_fake_event_str(off, "agent"), loser);
    char ll[32];
    snprintf(ll, sizeof(ll), "%s", agent_leg(f, loser));
    hangup(f, ll, 603, PLT_BY_AGENT);
    assert_int_equal(leg_state(f, ll), PLT_LEG_ENDED);
    assert_int_equal(agent_state(f, loser), PLT_AGENT_AVAILABLE);
    assert_int_equal(count_for(f, "queue.offered", c2), 1);
    plt_fake_host_run_for(f->fh, 4000);
    assert_int_equal(count_for(f, "queue.offered", c2), 1);
    plt_fake_host_run_for(f->fh, 1500);
    assert_int_equal(count_for(f, "queue.offered", c2), 2);
    assert_int_equal(agent_state(f, loser), PLT_AGENT_RESERVED);
    assert_string_not_equal(agent_leg(f, loser), ll);
    assert_null(last_for(f, "queue.answered", c2));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_offer_rings_the_extension, teardown),
        cmocka_unit_test_teardown(test_offer_timeout_moves_on_and_counts_a_miss,
                                  teardown),
        cmocka_unit_test_teardown(test_rejected_phone_moves_on_at_once,
                                  teardown),
        cmocka_unit_test_teardown(test_ring_all_rings_every_extension,
                                  teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
