/* SPDX-License-Identifier: MIT */
/*
 * Reconfiguring the acd plugin while callers wait (the SIGHUP reload, on
 * the fake host's reconfigure; acd_fixture): a queue added, one changed,
 * one removed - every waiting caller is still there afterwards, the kept
 * queue keeps its counters, the removed queue takes no new caller but its
 * callers are still served by its agents; agents get their new queues at
 * once. A reload that cannot apply (an unknown overflow target, a time
 * zone never loaded) changes nothing.
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
    /* A zone that was never loaded: it takes a restart. */
    assert_int_not_equal(
        reload(f, "queues:\n  - {name: support, time_zone: Asia/Tokyo}\n"), 0);
    assert_int_equal(f->acd.vt->queue_count(f->acd.impl), 2);
    assert_string_equal(f->acd.vt->queue_at(f->acd.impl, 1), "sales");
    assert_int_equal(stats(f, "support").waiting, 1);
    /* The configuration in force still works. */
    const char *const staffv[] = {"alice"};
    staff(f, staffv, 1);
    assert_non_null(last_for(f, "queue.answered", c1));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_reload_keeps_waiting_callers, teardown),
        cmocka_unit_test_teardown(test_reload_refused_changes_nothing,
                                  teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
