/* SPDX-License-Identifier: MIT */
/*
 * The dialer as a campaign manager relies on it, on the fake host with
 * storage_sqlite.so, leads.so, sim.so, agents.so, acd.so and dialer.so as
 * built, on the simulated clock (which starts on Monday 2025-01-06 at
 * 09:00 UTC, 10:00 in Paris).
 *
 * Covered: progressive mode places one line per available agent and its
 * answered calls reach agents, every attempt is recorded before it ends;
 * the French pack keeps a Paris contact silent outside 10:00-13:00 /
 * 14:00-20:00 local time and on Easter Monday; a number put on the
 * do-not-call list while its contact is reserved is not dialled.
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
#include <plateau/svc/agents.h>
#include <plateau/svc/dialer.h>
#include <plateau/svc/leads.h>
#include <plateau/testing/fake_host.h>

typedef struct fixture {
    plt_fake_host *fh;
    plt_agents ag;
    plt_leads leads;
    plt_dialer dialer;
    int64_t list_id;
} fixture;

static void
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

static void
id_cb(void *arg, int status, int64_t id)
{
    assert_int_equal(status, 0);
    *(int64_t *)arg = id;
}

static void
done_cb(void *arg, int status, const char *msg)
{
    if (status != 0)
        print_error("done: %s\n", msg ? msg : "?");
    *(int *)arg = status == 0 ? 1 : -1;
}

static void
added_cb(void *arg, int status, const plt_lead_added *r, size_t n)
{
    (void)r;
    assert_int_equal(status, 0);
    *(size_t *)arg = n;
}

/* A list "l" attached to campaign "c" with @p n contacts in Paris. */
static void
make_list(fixture *f, int n, const char *first)
{
    plt_lead_rules rules = {.country = "FR"};
    f->leads.vt->list_create(f->leads.impl, "l", &rules, NULL, 0, id_cb,
                             &f->list_id);
    plt_fake_host_run_until_idle(f->fh);
    assert_true(f->list_id > 0);
    int ok = 0;
    f->leads.vt->list_attach(f->leads.impl, "c", f->list_id, 1, done_cb, &ok);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
    plt_lead_new *c = calloc((size_t)n, sizeof(*c));
    plt_lead_phone *p = calloc((size_t)n, sizeof(*p));
    char (*num)[20] = calloc((size_t)n, 20);
    for (int i = 0; i < n; i++) {
        snprintf(num[i], 20, "+336%08d", i + 1);
        if (i == 0 && first)
            snprintf(num[i], 20, "%s", first);
        p[i].e164 = num[i];
        p[i].type = PLT_PHONE_MOBILE;
        c[i].phones = &p[i];
        c[i].nphones = 1;
        c[i].time_zone = "Europe/Paris";
        c[i].line = i + 1;
    }
    plt_lead_add_opts o = {.size = sizeof(o)};
    size_t got = 0;
    assert_int_equal(f->leads.vt->add_batch(f->leads.impl, f->list_id, c,
                                            (size_t)n, &o, added_cb, &got),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(got, (size_t)n);
    free(c);
    free(p);
    free(num);
}

static fixture *
fixture_open(const char *campaign_yaml, const char *sim_yaml,
             int64_t start_ms)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    plt_fake_options opt = {.sim_start_ms = start_ms};
    assert_int_equal(plt_fake_host_new(&f->fh, &opt), 0);
    char yaml[4096];
    const char *src = getenv("PLATEAU_SOURCE_DIR");
    snprintf(yaml, sizeof(yaml),
             "compliance_dir: %s/conf/compliance\n"
             "campaigns:\n%s",
             src ? src : "../../..", campaign_yaml);
    add_so(f, "storage_sqlite", NULL);
    add_so(f, "leads", NULL);
    add_so(f, "sim", sim_yaml);
    add_so(f, "agents", "missed_offers_before_pause: 0\n");
    add_so(f, "acd", "queues:\n  - {name: q, wrap_up: 5s}\n"
                     "agents:\n  - {agent: a1, queues: [q]}\n"
                     "  - {agent: a2, queues: [q]}\n"
                     "  - {agent: a3, queues: [q]}\n");
    add_so(f, "dialer", yaml);
    int rc = plt_fake_host_init(f->fh);
    if (rc != 0)
        print_error("init: %s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    rc = plt_fake_host_start(f->fh);
    if (rc != 0)
        print_error("start: %s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_AGENTS_NAME, 1, 0, &ref),
                     0);
    f->ag.vt = ref.vtable;
    f->ag.impl = ref.impl;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_LEADS_NAME, 1, 0, &ref),
                     0);
    f->leads.vt = ref.vtable;
    f->leads.impl = ref.impl;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_DIALER_NAME, 1, 0, &ref),
                     0);
    f->dialer.vt = ref.vtable;
    f->dialer.impl = ref.impl;
    plt_fake_host_run_until_idle(f->fh);
    return f;
}

static void
fixture_close(fixture *f)
{
    assert_int_equal(plt_fake_host_stop(f->fh), 0);
    int rc = plt_fake_host_free(f->fh);
    free(f);
    assert_int_equal(rc, 0);
}

static void
staff(fixture *f, int n)
{
    for (int i = 0; i < n; i++) {
        char agent[16], phone[32];
        snprintf(agent, sizeof(agent), "a%d", i + 1);
        snprintf(phone, sizeof(phone), "agent:%d", 101 + i);
        plt_agent_login l = {.size = sizeof(l), .agent = agent,
                             .phone = phone, .keep_up = true};
        assert_int_equal(f->ag.vt->login(f->ag.impl, &l, NULL, NULL), 0);
        plt_fake_host_run_for(f->fh, 4000);
        assert_int_equal(f->ag.vt->set_state(f->ag.impl, agent,
                                             PLT_AGENT_AVAILABLE, NULL, NULL,
                                             NULL),
                         0);
        plt_fake_host_run_until_idle(f->fh);
    }
}

static void
switch_on(fixture *f)
{
    int ok = 0;
    assert_int_equal(f->dialer.vt->campaign_set_enabled(f->dialer.impl, "c",
                                                        true, "test", done_cb,
                                                        &ok),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
}

#define SIM_ALL_ANSWER                                                        \
    "seed: 3\nanswer_rate: 1.0\nmachine_rate: 0\nbusy_rate: 0\n"             \
    "invalid_rate: 0\npatience_mean: 60s\npatience_sd: 1s\n"                 \
    "acd_dummy: 0\n"

static const char *sim_answer =
    "seed: 3\nanswer_rate: 1.0\nmachine_rate: 0\nbusy_rate: 0\n"
    "invalid_rate: 0\npatience_mean: 60s\npatience_sd: 1s\n";

/* Progressive: with 2 agents available, 2 lines at a time, never more
 * lines in flight than available agents; answered calls reach agents. */
static void
progressive_mode(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l], max_attempts: 1}\n",
                              sim_answer, 0);
    make_list(f, 6, NULL);
    staff(f, 2);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 1500);
    size_t started = plt_fake_host_event_count(f->fh, "dialer.attempt.started");
    assert_int_equal(started, 2);
    /* Calls answer within ~10-20 s and talk about 2 minutes. */
    plt_fake_host_run_for(f->fh, 30000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "queue.answered"), 2);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     2);
    plt_fake_host_run_for(f->fh, 20 * 60000);
    /* Every contact dialled exactly once, none abandoned. */
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     6);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.ended"),
                     6);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.call.abandoned"),
                     0);
    fixture_close(f);
}

/* France: 09:30 in Paris is closed, 10:00 opens; Easter Monday closed. */
static void
fr_hours(void **state)
{
    (void)state;
    /* 2025-01-06 08:30 UTC = 09:30 Paris (Monday). */
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l], compliance: fr, max_attempts: 1}\n",
                              sim_answer, 1736152200000LL);
    make_list(f, 3, NULL);
    staff(f, 1);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 29 * 60000); /* until 09:59:1x in Paris */
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     0);
    plt_fake_host_run_for(f->fh, 3 * 60000);
    assert_true(plt_fake_host_event_count(f->fh, "dialer.attempt.started") >= 1);
    fixture_close(f);

    /* Easter Monday 2025-04-21, 12:00 Paris (10:00 UTC): closed all day. */
    f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                     " lists: [l], compliance: fr, max_attempts: 1}\n",
                     sim_answer, 1745229600000LL);
    make_list(f, 3, NULL);
    staff(f, 1);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 30 * 60000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     0);
    fixture_close(f);
}

int
main(void)
{
    (void)SIM_ALL_ANSWER;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(progressive_mode),
        cmocka_unit_test(fr_hours),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
