/* SPDX-License-Identifier: MIT */
/*
 * The dialer's modes as a campaign manager relies on them, on the fake
 * host with the real plugins and the simulated clock (dialer_fixture.c;
 * Monday 2025-01-06 09:00 UTC, 10:00 in Paris). Run one test with
 * DIALER_TEST=name (DIALER_TEST_VERBOSE=1 prints the pacing decisions).
 *
 * Covered, every mode on sim: preview (the agent sees the contact, then
 * dials it or skips it; a skip costs no attempt), progressive (one line
 * per available agent), power (ratio x available agents), predictive
 * (explained decisions, stored and readable). Callbacks for one agent
 * reach only that agent, booked by a result or through the leads API. A
 * call answered and not connected within the connect deadline is
 * abandoned: it hears the message, is hung up, and counts. The trunk's
 * calls-per-second limit holds, and no contact is lost or dialled twice
 * for it. The compliance rules are in test_dialer_compliance.c.
 */
#include <limits.h>
#include <math.h>
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

#include "dialer_fixture.h"

/* ------------------------------------------------------------------ */
/* modes */

/* Progressive: with 2 agents available, 2 lines at a time, never more
 * lines in flight than available agents; answered calls reach agents. */
static void
progressive_mode(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l], max_attempts: 1,"
                              " caller_id: \"+33184000000\"}\n",
                              sim_answer, 0);
    start_dialing(f, 6, 2);
    plt_fake_host_run_for(f->fh, 1500);
    size_t started = plt_fake_host_event_count(f->fh, "dialer.attempt.started");
    assert_int_equal(started, 2);
    /* Calls answer within ~10-20 s and talk about 2 minutes. */
    plt_fake_host_run_for(f->fh, 30000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "queue.answered"), 2);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     2);
    plt_fake_host_run_for(f->fh, 20 * MIN_MS);
    /* Every contact dialled exactly once, none abandoned. */
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     6);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.ended"),
                     6);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.call.abandoned"),
                     0);
    /* The campaign's caller ID is presented on every call. */
    assert_int_equal(count_where(f, "call.created", "from", "+33184000000"),
                     6);
    fixture_close(f);
}

static int
count_row(void *arg, const plt_agent_info *ai)
{
    (void)ai;
    (*(uint32_t *)arg)++;
    return 0;
}

/* Agents Available (not reserved, not talking, not in wrap-up). */
static uint32_t
free_agents(fixture *f)
{
    uint32_t n = 0;
    f->ag.vt->available(f->ag.impl, count_row, &n);
    return n;
}

/* Lines not yet connected, from the events: started, not ended, and not
 * answered by an agent. */
static uint32_t
lines_not_connected(fixture *f)
{
    size_t started = plt_fake_host_event_count(f->fh, "dialer.attempt.started");
    size_t ended = plt_fake_host_event_count(f->fh, "dialer.attempt.ended");
    size_t connected = plt_fake_host_event_count(f->fh, "queue.answered");
    size_t ended_connected = 0;
    for (size_t i = 0; i < ended; i++) {
        const char *ag = plt_fake_event_str(
            plt_fake_host_event_at(f->fh, "dialer.attempt.ended", i),
            "connected_agent");
        if (ag && ag[0])
            ended_connected++;
    }
    return (uint32_t)(started - ended - (connected - ended_connected));
}

/* Staggered talk times (3 agents): while some agents talk, one that is
 * free again gets its lines at once. Calls connected to an agent are not
 * lines in flight: the lines dialled and not yet connected follow the free
 * agents (x the ratio), and the dialer's own figure says the same. */
static void
refills_free_agents(const char *campaign_yaml, double ratio)
{
    fixture *f = fixture_open(campaign_yaml,
                              "seed: 7\nanswer_rate: 1.0\nmachine_rate: 0\n"
                              "busy_rate: 0\ninvalid_rate: 0\n"
                              "patience_mean: 60s\npatience_sd: 1s\n"
                              "talk_mean: 4m\ntalk_sd: 3m\n",
                              0);
    start_dialing(f, 200, 3);
    plt_fake_host_run_for(f->fh, 1500);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     (size_t)(3 * ratio + 0.5));
    int deficit_s = 0, worst = 0, mixed = 0, figure_off = 0;
    for (int s = 0; s < 40 * 60; s++) {
        plt_fake_host_run_for(f->fh, 1000);
        uint32_t freen = free_agents(f), lines = lines_not_connected(f);
        uint32_t want = (uint32_t)(ratio * freen + 0.5);
        if (stats(f, "c").lines_in_flight != lines)
            figure_off++;
        /* A free agent waits for its lines at most a tick or two. */
        deficit_s = lines < want ? deficit_s + 1 : 0;
        if (deficit_s > worst)
            worst = deficit_s;
        /* Moments where some agents talk while others wait for a call:
         * exactly the lines of the free agents. */
        if (freen > 0 && freen < 3 && lines == want)
            mixed++;
    }
    if (getenv("DIALER_TEST_VERBOSE"))
        printf("longest wait of a free agent %d s, %d moments with its lines"
               " per free agent, dialer's figure off %d s, %zu connected\n",
               worst, mixed, figure_off,
               plt_fake_host_event_count(f->fh, "queue.answered"));
    assert_true(worst <= 2);
    assert_true(mixed >= 5);
    assert_int_equal(figure_off, 0);
    assert_true(plt_fake_host_event_count(f->fh, "queue.answered") >= 15);
    fixture_close(f);
}

static void
progressive_refills_free_agents(void **state)
{
    (void)state;
    refills_free_agents("  - {name: c, mode: progressive, queue: q,"
                        " lists: [l], max_attempts: 1}\n",
                        1.0);
}

static void
power_refills_free_agents(void **state)
{
    (void)state;
    refills_free_agents("  - {name: c, mode: power, power_ratio: 2.0,"
                        " queue: q, lists: [l], max_attempts: 1}\n",
                        2.0);
}

/* Preview: the agent sees the contact before anything is dialled; dial
 * places the call for that agent, whose phone gets the answered call;
 * skip gives the contact back for later without costing an attempt. */
static void
preview_mode(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: preview, lists: [l],"
                              " max_attempts: 3, preview_timeout: 5m}\n",
                              sim_answer, 0);
    start_dialing(f, 2, 1);
    plt_fake_host_run_for(f->fh, 1500);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.preview.offered"),
                     1);
    const plt_event *ev =
        plt_fake_host_event_last(f->fh, "dialer.preview.offered");
    assert_string_equal(plt_fake_event_str(ev, "agent"), "a1");
    int64_t first = plt_fake_event_i64(ev, "contact_id", 0);
    assert_true(first > 0);
    /* The agent reads: nothing is dialled meanwhile. */
    plt_fake_host_run_for(f->fh, 60000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     0);
    assert_int_equal(f->dialer.vt->preview_skip(f->dialer.impl, "a2"),
                     PLT_ENOENT);
    assert_int_equal(f->dialer.vt->preview_dial(f->dialer.impl, "a1", -1), 0);
    plt_fake_host_run_for(f->fh, 1000);
    ev = plt_fake_host_event_last(f->fh, "dialer.attempt.started");
    assert_non_null(ev);
    assert_int_equal(plt_fake_event_i64(ev, "contact_id", 0), first);
    assert_string_equal(plt_fake_event_str(ev, "agent"), "a1");
    /* Answered (~10 s), talked (~2 min), ended: the agent had it. */
    for (int s = 0; s < 15 * 60 &&
                    !plt_fake_host_event_count(f->fh, "dialer.attempt.ended");
         s++)
        plt_fake_host_run_for(f->fh, 1000);
    ev = plt_fake_host_event_last(f->fh, "dialer.attempt.ended");
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "connected_agent"), "a1");
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.call.abandoned"),
                     0);
    /* Free again (after wrap-up): the second contact is previewed; the
     * agent skips it. */
    for (int s = 0; s < 60 && plt_fake_host_event_count(
                                  f->fh, "dialer.preview.offered") < 2;
         s++)
        plt_fake_host_run_for(f->fh, 1000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.preview.offered"),
                     2);
    ev = plt_fake_host_event_last(f->fh, "dialer.preview.offered");
    int64_t second = plt_fake_event_i64(ev, "contact_id", 0);
    assert_true(second > 0 && second != first);
    int64_t skipped_at = plt_fake_host_now(f->fh);
    assert_int_equal(f->dialer.vt->preview_skip(f->dialer.impl, "a1"), 0);
    plt_fake_host_run_for(f->fh, 30 * MIN_MS);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     1);
    lead_copy l = lead_get(f, second);
    assert_int_equal(l.status_of_lead, PLT_LEAD_AVAILABLE);
    assert_int_equal(l.attempts, 0); /* a skip is not an attempt */
    assert_true(l.next_attempt_at >= skipped_at + 60 * MIN_MS - 1000);
    /* It comes back after the skip delay (1 h). */
    plt_fake_host_run_for(f->fh, 40 * MIN_MS);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.preview.offered"),
                     3);
    ev = plt_fake_host_event_last(f->fh, "dialer.preview.offered");
    assert_int_equal(plt_fake_event_i64(ev, "contact_id", 0), second);
    fixture_close(f);
}

/* Power: ratio x available agents lines, never more in flight. */
static void
power_mode(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: power, power_ratio: 2.0,"
                              " queue: q, lists: [l], max_attempts: 1}\n",
                              "seed: 4\nanswer_rate: 0.4\nmachine_rate: 0\n"
                              "busy_rate: 0.1\ninvalid_rate: 0\n"
                              "patience_mean: 60s\npatience_sd: 1s\n",
                              0);
    start_dialing(f, 40, 2);
    plt_fake_host_run_for(f->fh, 1500);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     4);
    uint32_t most = 0;
    for (int s = 0; s < 20 * 60; s++) {
        plt_fake_host_run_for(f->fh, 1000);
        plt_dialer_stats st = stats(f, "c");
        if (st.lines_in_flight > most)
            most = st.lines_in_flight;
        assert_true(st.lines_in_flight <= 4);
    }
    assert_int_equal(most, 4);
    assert_true(plt_fake_host_event_count(f->fh, "queue.answered") >= 4);
    fixture_close(f);
}

typedef struct plog {
    int rows, ok;
} plog;

static int
plog_row(void *arg, const plt_dialer_pacing_entry *e)
{
    plog *p = arg;
    assert_string_equal(e->campaign, "c");
    assert_non_null(strstr(e->explain, "\"reason\""));
    p->rows++;
    return 0;
}

static void
plog_done(void *arg, int status, const char *msg)
{
    (void)msg;
    ((plog *)arg)->ok = status == 0 ? 1 : -1;
}

/* Predictive: the model decides; every decision that dials is explained
 * (published and stored), calls reach agents, and more lines than free
 * agents are placed when the hit rate is low. */
static void
predictive_mode(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: predictive, queue: q,"
                              " lists: [l], max_attempts: 1,"
                              " compliance: fr}\n",
                              "seed: 6\nanswer_rate: 0.25\nmachine_rate: 0\n"
                              "busy_rate: 0.05\ninvalid_rate: 0.05\n"
                              "patience_mean: 60s\npatience_sd: 1s\n",
                              0);
    start_dialing(f, 600, 12);
    plt_fake_host_run_for(f->fh, 60 * MIN_MS);
    size_t decisions = plt_fake_host_event_count(f->fh, "dialer.pacing");
    assert_true(decisions > 0);
    bool over = false;
    for (size_t i = 0; i < decisions; i++) {
        const plt_event *ev = plt_fake_host_event_at(f->fh, "dialer.pacing", i);
        const char *why = plt_fake_event_str(ev, "reason");
        assert_non_null(why);
        assert_true(strlen(why) > 10);
        if (getenv("DIALER_TEST_VERBOSE"))
            print_message("%lld lines: %s\n",
                          (long long)plt_fake_event_i64(ev, "lines", 0), why);
        const char *free_now = plt_fake_event_str(ev, "agents_free");
        assert_non_null(free_now);
        if (plt_fake_event_i64(ev, "lines", 0) > atoll(free_now))
            over = true;
    }
    assert_true(over);
    assert_true(plt_fake_host_event_count(f->fh, "queue.answered") >= 20);
    plog pl = {0};
    assert_int_equal(f->dialer.vt->pacing_log(f->dialer.impl, "c", 0, 50,
                                              plog_row, plog_done, &pl),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(pl.ok, 1);
    assert_true(pl.rows > 0);
    /* Abandons are counted where supervisors read them. */
    plt_dialer_stats st = stats(f, "c");
    assert_int_equal(st.abandoned,
                     plt_fake_host_event_count(f->fh, "dialer.call.abandoned"));
    assert_true(st.answered > 0);
    fixture_close(f);
}

/* A live answer reaches the pacing when it is answered, not when its
 * call ends: with every call still in talk after ten minutes, the
 * decisions already count those answers in the hit rate and the window.
 * (Counted at the end of the talk, the early hit rate saw only the calls
 * that failed fast, and the dialer over-dialled its first hour.) */
static void
predictive_counts_answers_at_answer(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: predictive, queue: q,"
                              " lists: [l], max_attempts: 1, amd: true,"
                              " amd_false_positive_rate: 0.02}\n",
                              "seed: 8\nanswer_rate: 0.3\nmachine_rate: 0\n"
                              "busy_rate: 0.3\ninvalid_rate: 0.2\n"
                              "talk_mean: 3h\ntalk_sd: 1m\n"
                              "patience_mean: 60s\npatience_sd: 1s\n",
                              0);
    start_dialing(f, 600, 12);
    plt_fake_host_run_for(f->fh, 10 * MIN_MS);
    assert_true(plt_fake_host_event_count(f->fh, "queue.answered") >= 5);
    size_t n = plt_fake_host_event_count(f->fh, "dialer.pacing");
    assert_true(n > 0);
    const plt_event *last = plt_fake_host_event_at(f->fh, "dialer.pacing", n - 1);
    const char *live = plt_fake_event_str(last, "window_live");
    const char *hit = plt_fake_event_str(last, "hit_rate");
    assert_non_null(live);
    assert_non_null(hit);
    /* Nobody has hung up yet, and yet the answers are counted. */
    assert_true(atof(live) >= 5);
    assert_true(atof(hit) > 0.15);
    /* The campaign's AMD false-positive estimate is charged up front. */
    const char *fp = plt_fake_event_str(last, "amd_fp_rate");
    assert_non_null(fp);
    assert_true(fabs(atof(fp) - 0.02) < 0.005);
    fixture_close(f);
}

static void
got_campaign(void *arg, int status, const plt_dialer_campaign *c)
{
    double *rate = arg;
    *rate = status == 0 && c->size >= sizeof(*c) ? c->amd_false_positive_rate
                                                 : -1;
}

/* The AMD false-positive estimate of a campaign: checked (0..0.5),
 * stored and read back. */
static void
campaign_amd_false_positive_rate(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l]}\n",
                              sim_answer, 0);
    plt_dialer_list lists[] = {{.list = "l", .weight = 1}};
    plt_dialer_campaign c = {.size = sizeof(c), .name = "fp",
                             .type = PLT_CAMPAIGN_SALE,
                             .mode = PLT_DIAL_PREDICTIVE, .queue = "q",
                             .lists = lists, .nlists = 1, .amd = true,
                             .amd_false_positive_rate = 0.7};
    int ok = 0;
    int rc = f->dialer.vt->campaign_create(f->dialer.impl, &c, done_cb, &ok);
    plt_fake_host_run_until_idle(f->fh);
    assert_true(rc != 0 || ok == -1);
    c.amd_false_positive_rate = 0.012;
    ok = 0;
    assert_int_equal(f->dialer.vt->campaign_create(f->dialer.impl, &c,
                                                   done_cb, &ok),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
    double rate = 0;
    assert_int_equal(f->dialer.vt->campaign_get(f->dialer.impl, "fp",
                                                got_campaign, &rate),
                     0);
    assert_true(fabs(rate - 0.012) < 1e-9);
    fixture_close(f);
}

/* A campaign that turns predictive (or a dialer that restarts: the window
 * is loaded from the attempts at start) gives the pacing the abandons and
 * live answers its window already holds: the first decision does not
 * start from an empty budget. */
static void
predictive_inherits_the_window(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l]}\n",
                              "seed: 9\nanswer_rate: 0.9\nmachine_rate: 0\n"
                              "busy_rate: 0\ninvalid_rate: 0\n"
                              "talk_mean: 20m\ntalk_sd: 1m\n"
                              "patience_mean: 60s\npatience_sd: 1s\n",
                              0);
    make_list_in(f, "l2", "p", 300, NULL, 5000, "Europe/Paris");
    plt_dialer_list lists[] = {{.list = "l2", .weight = 1}};
    plt_dialer_campaign c = {.size = sizeof(c), .name = "p",
                             .type = PLT_CAMPAIGN_SALE,
                             .mode = PLT_DIAL_POWER, .power_ratio = 3.0,
                             .queue = "q", .lists = lists, .nlists = 1,
                             .max_attempts = 1};
    int ok = 0;
    assert_int_equal(f->dialer.vt->campaign_create(f->dialer.impl, &c,
                                                   done_cb, &ok),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
    staff(f, 4);
    switch_camp(f, "p", true);
    plt_fake_host_run_for(f->fh, 5 * MIN_MS);
    size_t abandons = plt_fake_host_event_count(f->fh, "dialer.call.abandoned");
    assert_true(abandons >= 3);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.pacing"), 0);
    c.mode = PLT_DIAL_PREDICTIVE;
    c.enabled = true;
    ok = 0;
    assert_int_equal(f->dialer.vt->campaign_update(f->dialer.impl, &c,
                                                   done_cb, &ok),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
    plt_fake_host_run_for(f->fh, 30000);
    assert_true(plt_fake_host_event_count(f->fh, "dialer.pacing") > 0);
    const plt_event *first = plt_fake_host_event_at(f->fh, "dialer.pacing", 0);
    const char *ab = plt_fake_event_str(first, "window_abandons");
    const char *live = plt_fake_event_str(first, "window_live");
    assert_non_null(ab);
    assert_non_null(live);
    /* Every abandoned call has ended (message, hang-up): all counted. */
    assert_true(atof(ab) >= (double)abandons - 0.5);
    assert_true(atof(live) >= atof(ab));
    fixture_close(f);
}

static void
got_stats(void *arg, int status, const plt_dialer_stats *st)
{
    *(uint32_t *)arg = status == 0 ? st->agents_available : 999;
}

/* A blended site: agents logged in for another queue only are not
 * dialled for. Without its own list of agents a campaign counts the agents
 * of its queue; counting every logged-in agent placed calls nobody could
 * take, and they were abandoned. */
static void
progressive_counts_only_its_queue_agents(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l], max_attempts: 1}\n",
                              "seed: 3\nanswer_rate: 1.0\nmachine_rate: 0\n"
                              "busy_rate: 0\ninvalid_rate: 0\n"
                              "talk_mean: 30m\ntalk_sd: 1m\n"
                              "patience_mean: 60s\npatience_sd: 1s\n",
                              0);
    make_list(f, 20, NULL);
    staff(f, 1);
    staff_as(f, "b1", 201);
    staff_as(f, "b2", 202);
    staff_as(f, "b3", 203);
    uint32_t avail = 999;
    assert_int_equal(f->dialer.vt->campaign_stats(f->dialer.impl, "c",
                                                  got_stats, &avail),
                     0);
    assert_int_equal(avail, 1);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 3 * MIN_MS);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     1);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.call.abandoned"),
                     0);
    assert_int_equal(count_where(f, "queue.answered", "agent", "a1"), 1);
    fixture_close(f);
}

/* ------------------------------------------------------------------ */
/* callbacks */

/* A campaign "c" with one contact (id 1) and agents a1, a2 logged in. */
static fixture *
callback_fixture(const char *num)
{
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l], max_attempts: 3,"
                              " dispositions: [{code: RAPPEL, kind: callback}]}\n",
                              sim_answer, 0);
    const char *nums[] = {num};
    make_list_in(f, "l", "c", 1, nums, 0, "Europe/Paris");
    staff(f, 2);
    return f;
}

/* The campaign is switched on with a callback for @p agent due at @p due:
 * nothing is dialled before; then one call, for that agent only, which
 * reaches that agent. */
static void
expect_callback_for(fixture *f, const char *agent, int64_t due)
{
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, (uint64_t)(due - plt_fake_host_now(f->fh)) -
                                     30000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     0);
    plt_fake_host_run_for(f->fh, 2 * MIN_MS);
    const plt_event *ev = plt_fake_host_event_last(f->fh, "dialer.callback.due");
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "agent"), agent);
    ev = plt_fake_host_event_last(f->fh, "dialer.attempt.started");
    assert_non_null(ev);
    assert_true(plt_fake_event_time(ev) >= due);
    assert_string_equal(plt_fake_event_str(ev, "agent"), agent);
    plt_fake_host_run_for(f->fh, 10 * MIN_MS);
    ev = plt_fake_host_event_last(f->fh, "dialer.attempt.ended");
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "connected_agent"), agent);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     1);
}

/* A personal callback booked by a result is dialled when due, for that
 * agent only, while another agent is free too. */
static void
personal_callback(void **state)
{
    (void)state;
    fixture *f = callback_fixture("+33600000031");
    int64_t due = plt_fake_host_now(f->fh) + 5 * MIN_MS;
    plt_dialer_result r = {.size = sizeof(r), .campaign = "c",
                           .contact_id = 1, .code = "RAPPEL", .agent = "a1",
                           .callback_at = due, .callback_agent = "a2"};
    int ok = 0;
    assert_int_equal(f->dialer.vt->set_result(f->dialer.impl, &r, done_cb, &ok),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
    expect_callback_for(f, "a2", due);
    fixture_close(f);
}

/* A personal callback created through the leads API (not a result of the
 * dialer: a CRM, the agent desk) is dialled too, for its agent. */
static void
api_callback(void **state)
{
    (void)state;
    fixture *f = callback_fixture("+33600000032");
    int64_t due = plt_fake_host_now(f->fh) + 5 * MIN_MS;
    plt_lead_disposition d = {.size = sizeof(d), .contact_id = 1,
                              .campaign = "c", .code = "RAPPEL",
                              .agent = "crm", .callback_at = due,
                              .callback_agent = "a1",
                              .new_status = PLT_LEAD_CALLBACK};
    int ok = 0;
    assert_int_equal(f->leads.vt->disposition(f->leads.impl, &d, done_cb, &ok),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
    expect_callback_for(f, "a1", due);
    fixture_close(f);
}

/* A callback for anyone is dialled when due, in the session of one
 * available agent, who gets the call. */
static void
callback_for_anyone(void **state)
{
    (void)state;
    fixture *f = callback_fixture("+33600000033");
    int64_t due = plt_fake_host_now(f->fh) + 5 * MIN_MS;
    plt_dialer_result r = {.size = sizeof(r), .campaign = "c",
                           .contact_id = 1, .code = "RAPPEL", .agent = "a1",
                           .callback_at = due};
    int ok = 0;
    assert_int_equal(f->dialer.vt->set_result(f->dialer.impl, &r, done_cb, &ok),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 4 * MIN_MS);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     0);
    plt_fake_host_run_for(f->fh, 12 * MIN_MS);
    const plt_event *ev = plt_fake_host_event_last(f->fh, "dialer.attempt.started");
    assert_non_null(ev);
    assert_true(plt_fake_event_time(ev) >= due);
    const char *agent = plt_fake_event_str(ev, "agent");
    assert_non_null(agent);
    ev = plt_fake_host_event_last(f->fh, "dialer.attempt.ended");
    assert_non_null(ev);
    assert_string_equal(plt_fake_event_str(ev, "connected_agent"), agent);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     1);
    fixture_close(f);
}

/* OFF stops new calls at once: a call waiting for a trunk channel is not
 * placed, its contact goes back untouched, and ON dials it. */
static void
off_stops_new_calls(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l], max_attempts: 3}\n",
                              "seed: 3\nanswer_rate: 1.0\nmachine_rate: 0\n"
                              "busy_rate: 0\ninvalid_rate: 0\n"
                              "patience_mean: 60s\npatience_sd: 1s\n"
                              "trunks: [{name: t, max_channels: 1}]\n",
                              0);
    const char *num[] = {"+33600000071", "+33600000072"};
    make_list_in(f, "l", "c", 2, num, 0, "Europe/Paris");
    staff(f, 2);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 3000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     1);
    const plt_event *ev = plt_fake_host_event_last(f->fh,
                                                   "dialer.attempt.started");
    int64_t first = plt_fake_event_i64(ev, "contact_id", 0);
    int64_t other = first == 1 ? 2 : 1;
    switch_camp(f, "c", false);
    plt_fake_host_run_for(f->fh, 15 * MIN_MS);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     1);
    lead_copy l = lead_get(f, other);
    assert_int_equal(l.status_of_lead, PLT_LEAD_AVAILABLE);
    assert_int_equal(l.attempts, 0);
    switch_camp(f, "c", true);
    plt_fake_host_run_for(f->fh, 5000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     2);
    assert_int_equal(plt_fake_event_i64(plt_fake_host_event_last(
                                            f->fh, "dialer.attempt.started"),
                                        "contact_id", 0),
                     other);
    fixture_close(f);
}

/* ------------------------------------------------------------------ */
/* retries and numbers */

/* Retry rules per outcome: busy, retried 10 minutes later, at most 3
 * attempts; then the contact has failed. */
static void
retry_busy(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l], max_attempts: 10,"
                              " retries: [{on: busy, delay: 10m, max: 3},"
                              " {on: no_answer, delay: 1m, max: 9}]}\n",
                              "seed: 3\nanswer_rate: 0\nmachine_rate: 0\n"
                              "busy_rate: 1.0\ninvalid_rate: 0\n",
                              0);
    make_list(f, 1, "+33600000051");
    staff(f, 1);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 60 * MIN_MS);
    size_t n = plt_fake_host_event_count(f->fh, "dialer.attempt.started");
    assert_int_equal(n, 3);
    for (size_t i = 1; i < n; i++) {
        int64_t gap = plt_fake_event_time(plt_fake_host_event_at(
                          f->fh, "dialer.attempt.started", i)) -
                      plt_fake_event_time(plt_fake_host_event_at(
                          f->fh, "dialer.attempt.started", i - 1));
        /* Busy comes 2-5 s after the dial; then 10 minutes. */
        assert_true(gap >= 10 * MIN_MS && gap <= 10 * MIN_MS + 10000);
    }
    assert_int_equal(count_where(f, "dialer.attempt.ended", "outcome", "busy"),
                     3);
    lead_copy l = lead_get(f, 1);
    assert_int_equal(l.status_of_lead, PLT_LEAD_FAILED);
    assert_int_equal(l.attempts, 3);
    fixture_close(f);
}

static const char *const mobile_then_fixed[] = {"+33600000061",
                                                "+33140000061"};
static const int32_t mobile_then_fixed_types[] = {PLT_PHONE_MOBILE,
                                                  PLT_PHONE_FIXED};

/* Numbers by order: after a failed attempt on the first number, the next
 * attempt is on the second. */
static void
numbers_by_order(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l], max_attempts: 4,"
                              " ring_timeout: 15s,"
                              " retries: [{on: no_answer, delay: 2m}]}\n",
                              sim_no_answer, 0);
    make_contact_phones(f, mobile_then_fixed, mobile_then_fixed_types, 2);
    staff(f, 1);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    /* Dialled at 0, ~2m15 and ~4m30 (15 s of ringing, then 2 minutes). */
    plt_fake_host_run_for(f->fh, 5 * MIN_MS);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(
            plt_fake_event_str(plt_fake_host_event_at(
                                   f->fh, "dialer.attempt.started", i),
                               "phone"),
            mobile_then_fixed[i % 2]);
    fixture_close(f);
}

/* Numbers by schedule, "call the mobile only outside office hours": at
 * 10:00 in Paris the landline is dialled, at 18:30 the mobile. */
static void
numbers_by_schedule(void **state)
{
    (void)state;
    const char *camp = "  - {name: c, mode: progressive, queue: q,"
                       " lists: [l], max_attempts: 4, phone_order: schedule,"
                       " phone_rules: [{type: mobile,"
                       " windows: [\"mon-fri 18:00-20:00\"]}]}\n";
    fixture *f = fixture_open(camp, sim_answer, 0);
    make_contact_phones(f, mobile_then_fixed, mobile_then_fixed_types, 2);
    staff(f, 1);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 2 * MIN_MS);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     1);
    assert_string_equal(plt_fake_event_str(plt_fake_host_event_last(
                                               f->fh, "dialer.attempt.started"),
                                           "phone"),
                        mobile_then_fixed[1]);
    fixture_close(f);
    /* 2025-01-06 17:30 UTC = 18:30 in Paris. */
    f = fixture_open(camp, sim_answer, 1736184600000LL);
    make_contact_phones(f, mobile_then_fixed, mobile_then_fixed_types, 2);
    staff(f, 1);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 2 * MIN_MS);
    assert_string_equal(plt_fake_event_str(plt_fake_host_event_last(
                                               f->fh, "dialer.attempt.started"),
                                           "phone"),
                        mobile_then_fixed[0]);
    fixture_close(f);
}

/* ------------------------------------------------------------------ */
/* abandonment */

/* Power 3 with one agent and everyone answering within a few seconds:
 * the calls no agent takes within the 2 s deadline are abandoned - they
 * hear the message to its end, are hung up, and count. */
static void
abandon_after_deadline(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: power, power_ratio: 3.0,"
                              " queue: q, lists: [l], max_attempts: 1,"
                              " connect_deadline: 2s,"
                              " abandon_message: /nonexistent/abandon.wav}\n",
                              "seed: 8\nanswer_rate: 1.0\nmachine_rate: 0\n"
                              "busy_rate: 0\ninvalid_rate: 0\n"
                              "ring_to_answer_mean: 5s\nring_to_answer_sd: 1s\n"
                              "patience_mean: 60s\npatience_sd: 1s\n"
                              "play_check_files: false\nplay_duration: 3s\n",
                              0);
    start_dialing(f, 3, 1);
    plt_fake_host_run_for(f->fh, 60000);
    size_t n = plt_fake_host_event_count(f->fh, "dialer.call.abandoned");
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        const plt_event *ab =
            plt_fake_host_event_at(f->fh, "dialer.call.abandoned", i);
        const char *leg = plt_fake_event_str(ab, "leg_id");
        assert_non_null(leg);
        assert_string_equal(plt_fake_event_str(ab, "reason"), "deadline");
        const plt_event *ans = first_where(f, "call.answered", "leg_id", leg);
        assert_non_null(ans);
        /* Abandoned exactly at the deadline after the answer. */
        assert_int_equal(plt_fake_event_time(ab) - plt_fake_event_time(ans),
                         2000);
        const plt_event *pl = first_where(f, "call.play_finished", "leg_id", leg);
        assert_non_null(pl);
        assert_string_equal(plt_fake_event_str(pl, "reason"), "done");
        const plt_event *end = first_where(f, "call.ended", "leg_id", leg);
        assert_non_null(end);
        assert_true(plt_fake_event_time(end) >= plt_fake_event_time(pl));
        assert_true(plt_fake_event_time(end) - plt_fake_event_time(ans) <
                    6000);
    }
    assert_int_equal(count_where(f, "dialer.attempt.ended", "outcome",
                                 "abandoned"),
                     2);
    plt_dialer_stats st = stats(f, "c");
    assert_int_equal(st.abandoned, 2);
    fixture_close(f);
}

/* ------------------------------------------------------------------ */
/* trunk limits */

/* The trunk's calls-per-second limit: sim's trunk takes 2 originates in
 * any second and answers PLT_EAGAIN beyond; a power campaign wanting 12
 * lines keeps its reservations and tries again. No one-second window
 * holds more than 2 INVITEs, the limit was reached, and each of the 40
 * contacts is dialled exactly once, with one attempt written. */
static void
trunk_cps_respected(void **state)
{
    (void)state;
    enum { CPS = 2, N = 40 };
    fixture *f = fixture_open("  - {name: c, mode: power, power_ratio: 3.0,"
                              " queue: q, lists: [l], max_attempts: 1,"
                              " ring_timeout: 15s}\n",
                              "seed: 5\nanswer_rate: 0\nmachine_rate: 0\n"
                              "busy_rate: 0\ninvalid_rate: 0\n"
                              "trunks: [{name: sim, max_channels: 30,"
                              " cps: 2}]\n",
                              0);
    start_dialing(f, N, 4);
    plt_fake_host_run_for(f->fh, 10 * MIN_MS);
    /* What the trunk saw: outbound customer legs created. */
    int64_t at[2 * N];
    size_t n = 0, all = plt_fake_host_event_count(f->fh, "call.created");
    for (size_t i = 0; i < all; i++) {
        const plt_event *ev = plt_fake_host_event_at(f->fh, "call.created", i);
        const char *dir = plt_fake_event_str(ev, "direction");
        const char *role = plt_fake_event_str(ev, "role");
        if (!dir || strcmp(dir, "outbound") || !role ||
            strcmp(role, "customer"))
            continue;
        assert_true(n < 2 * N);
        at[n++] = plt_fake_event_time(ev);
    }
    assert_int_equal(n, N);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     N);
    /* Never more than CPS in any window of 1000 ms; at the limit at least
     * once (the test would see a trunk that let more through). */
    bool at_limit = false;
    for (size_t i = 0; i + CPS < n; i++)
        assert_true(at[i + CPS] - at[i] >= 1000);
    for (size_t i = 0; i + CPS - 1 < n; i++)
        if (at[i + CPS - 1] - at[i] < 1000)
            at_limit = true;
    assert_true(at_limit);
    /* Every contact once: its number in one INVITE, one attempt. */
    for (int i = 0; i < N; i++) {
        char num[20];
        snprintf(num, sizeof(num), "+336%08d", i + 1);
        assert_int_equal(count_where(f, "call.created", "destination", num), 1);
        assert_int_equal(
            count_where(f, "dialer.attempt.started", "phone", num), 1);
        assert_int_equal(lead_get(f, i + 1).attempts, 1);
    }
    fixture_close(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(progressive_mode),
        cmocka_unit_test(progressive_refills_free_agents),
        cmocka_unit_test(power_refills_free_agents),
        cmocka_unit_test(preview_mode),
        cmocka_unit_test(power_mode),
        cmocka_unit_test(predictive_mode),
        cmocka_unit_test(predictive_counts_answers_at_answer),
        cmocka_unit_test(campaign_amd_false_positive_rate),
        cmocka_unit_test(predictive_inherits_the_window),
        cmocka_unit_test(progressive_counts_only_its_queue_agents),
        cmocka_unit_test(personal_callback),
        cmocka_unit_test(api_callback),
        cmocka_unit_test(callback_for_anyone),
        cmocka_unit_test(off_stops_new_calls),
        cmocka_unit_test(abandon_after_deadline),
        cmocka_unit_test(retry_busy),
        cmocka_unit_test(numbers_by_order),
        cmocka_unit_test(numbers_by_schedule),
        cmocka_unit_test(trunk_cps_respected),
    };
    /* DIALER_TEST=name runs one test (while debugging). */
    if (getenv("DIALER_TEST"))
        cmocka_set_test_filter(getenv("DIALER_TEST"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
