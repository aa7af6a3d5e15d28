/* SPDX-License-Identifier: MIT */
/*
 * The dialer as a campaign manager relies on it, on the fake host with
 * storage_sqlite.so, leads.so, sim.so, agents.so, acd.so and dialer.so as
 * built, on the simulated clock (which starts on Monday 2025-01-06 at
 * 09:00 UTC, 10:00 in Paris, unless a test says otherwise).
 *
 * Run one test with DIALER_TEST=name (DIALER_TEST_VERBOSE=1 prints the
 * pacing decisions and the events of the cap test).
 *
 * Covered, every mode on sim: preview (the agent sees the contact, then
 * dials it or skips it; a skip costs no attempt), progressive (one line
 * per available agent), power (ratio x available agents), predictive
 * (explained decisions, stored and readable). Compliance: French hours
 * and Easter Monday; US hours across a DST change in the contact's zone;
 * the 4-per-30-days cap across two campaigns; the 60-day silence after a
 * refusal, across campaigns; a number put on do-not-call while its
 * contact is reserved (previewed, or waiting for a trunk channel) is not
 * dialled; a contact whose zone is unknown gets the site's zone.
 * Callbacks for one agent reach only that agent, booked by a result or
 * through the leads API. A call answered and not connected within the
 * connect deadline is abandoned: it hears the message, is hung up, and
 * counts.
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

#define MIN_MS 60000LL
#define DAY_MS 86400000LL

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
    assert_int_equal(status, 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(r[i].result, PLT_LEAD_ADDED);
    *(size_t *)arg = n;
}

/* A list @p list attached to @p camp with @p n contacts in zone @p tz;
 * their numbers are @p nums when given, else +336000000NN from @p base. */
static int64_t
make_list_in(fixture *f, const char *list, const char *camp, int n,
             const char *const *nums, int base, const char *tz)
{
    plt_lead_rules rules = {.country = "FR"};
    int64_t id = 0;
    f->leads.vt->list_create(f->leads.impl, list, &rules, NULL, 0, id_cb, &id);
    plt_fake_host_run_until_idle(f->fh);
    assert_true(id > 0);
    int ok = 0;
    f->leads.vt->list_attach(f->leads.impl, camp, id, 1, done_cb, &ok);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
    plt_lead_new *c = calloc((size_t)n, sizeof(*c));
    plt_lead_phone *p = calloc((size_t)n, sizeof(*p));
    char(*num)[20] = calloc((size_t)n, 20);
    for (int i = 0; i < n; i++) {
        if (nums)
            snprintf(num[i], 20, "%s", nums[i]);
        else
            snprintf(num[i], 20, "+336%08d", base + i + 1);
        p[i].e164 = num[i];
        p[i].type = PLT_PHONE_MOBILE;
        c[i].phones = &p[i];
        c[i].nphones = 1;
        c[i].time_zone = tz;
        c[i].line = i + 1;
    }
    plt_lead_add_opts o = {.size = sizeof(o)};
    size_t got = 0;
    assert_int_equal(f->leads.vt->add_batch(f->leads.impl, id, c, (size_t)n,
                                            &o, added_cb, &got),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(got, (size_t)n);
    free(c);
    free(p);
    free(num);
    return id;
}

/* A list "l" attached to campaign "c" with @p n contacts in Paris. */
static void
make_list(fixture *f, int n, const char *first)
{
    const char *one[] = {first};
    if (first && n == 1)
        f->list_id = make_list_in(f, "l", "c", 1, one, 0, "Europe/Paris");
    else
        f->list_id = make_list_in(f, "l", "c", n, NULL, 0, "Europe/Paris");
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
    add_so(f, "agents", "missed_offers_before_pause: 0\nmax_wrap_up: 10s\n");
    char acd[1024] = "queues:\n  - {name: q, wrap_up: 5s}\nagents:\n";
    for (int i = 1; i <= 12; i++)
        snprintf(acd + strlen(acd), sizeof(acd) - strlen(acd),
                 "  - {agent: a%d, queues: [q]}\n", i);
    add_so(f, "acd", acd);
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
switch_camp(fixture *f, const char *name, bool on)
{
    int ok = 0;
    assert_int_equal(f->dialer.vt->campaign_set_enabled(f->dialer.impl, name,
                                                        on, "test", done_cb,
                                                        &ok),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
}

static void
switch_on(fixture *f)
{
    switch_camp(f, "c", true);
}

/* Events of @p topic whose string field @p key is @p value. */
static size_t
count_where(fixture *f, const char *topic, const char *key, const char *value)
{
    size_t n = 0, all = plt_fake_host_event_count(f->fh, topic);
    for (size_t i = 0; i < all; i++) {
        const char *v =
            plt_fake_event_str(plt_fake_host_event_at(f->fh, topic, i), key);
        if (v && !strcmp(v, value))
            n++;
    }
    return n;
}

static const plt_event *
first_where(fixture *f, const char *topic, const char *key, const char *value)
{
    size_t all = plt_fake_host_event_count(f->fh, topic);
    for (size_t i = 0; i < all; i++) {
        const plt_event *ev = plt_fake_host_event_at(f->fh, topic, i);
        const char *v = plt_fake_event_str(ev, key);
        if (v && !strcmp(v, value))
            return ev;
    }
    return NULL;
}

typedef struct lead_copy {
    int status;
    int32_t status_of_lead;
    int32_t attempts;
    int64_t next_attempt_at;
} lead_copy;

static void
lead_cb(void *arg, int status, const plt_lead *l)
{
    lead_copy *c = arg;
    c->status = status;
    if (status == 0) {
        c->status_of_lead = l->status;
        c->attempts = l->attempts;
        c->next_attempt_at = l->next_attempt_at;
    }
}

static lead_copy
lead_get(fixture *f, int64_t id)
{
    lead_copy c = {.status = 1};
    assert_int_equal(f->leads.vt->get(f->leads.impl, id, lead_cb, &c), 0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(c.status, 0);
    return c;
}

static void
stats_cb(void *arg, int status, const plt_dialer_stats *st)
{
    assert_int_equal(status, 0);
    *(plt_dialer_stats *)arg = *st;
}

static plt_dialer_stats
stats(fixture *f, const char *camp)
{
    plt_dialer_stats st = {0};
    assert_int_equal(f->dialer.vt->campaign_stats(f->dialer.impl, camp,
                                                  stats_cb, &st),
                     0);
    return st;
}

static const char *sim_answer =
    "seed: 3\nanswer_rate: 1.0\nmachine_rate: 0\nbusy_rate: 0\n"
    "invalid_rate: 0\npatience_mean: 60s\npatience_sd: 1s\n";

/* Nobody answers; a number rings out at the campaign's ring timeout. */
static const char *sim_no_answer =
    "seed: 5\nanswer_rate: 0\nmachine_rate: 0\nbusy_rate: 0\n"
    "invalid_rate: 0\n";

/* ------------------------------------------------------------------ */
/* modes */

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
    plt_fake_host_run_for(f->fh, 20 * MIN_MS);
    /* Every contact dialled exactly once, none abandoned. */
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     6);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.ended"),
                     6);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.call.abandoned"),
                     0);
    fixture_close(f);
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
    make_list(f, 2, NULL);
    staff(f, 1);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
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
    make_list(f, 40, NULL);
    staff(f, 2);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
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
    make_list(f, 600, NULL);
    staff(f, 12);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
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

/* ------------------------------------------------------------------ */
/* hours */

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
    plt_fake_host_run_for(f->fh, 29 * MIN_MS); /* until 09:59:1x in Paris */
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     0);
    plt_fake_host_run_for(f->fh, 3 * MIN_MS);
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
    plt_fake_host_run_for(f->fh, 30 * MIN_MS);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     0);
    fixture_close(f);
}

/* US hours (08:00-21:00) in the contact's zone across the spring DST
 * change: on Sunday 2025-03-09 New York opens at 08:00 EDT = 12:00 UTC
 * (it was 13:00 UTC the day before); Phoenix, without DST, at 15:00 UTC. */
static void
us_hours_dst(void **state)
{
    (void)state;
    /* 11:50 UTC = 07:50 EDT (06:50 with last week's offset). */
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l, p], compliance: us,"
                              " abandon_message: /nonexistent/abandon.wav,"
                              " max_attempts: 1}\n",
                              "seed: 3\nanswer_rate: 1.0\nmachine_rate: 0\n"
                              "busy_rate: 0\ninvalid_rate: 0\n"
                              "play_check_files: false\n",
                              1741521000000LL);
    const char *ny[] = {"+12127363100"}, *phx[] = {"+16023722000"};
    make_list_in(f, "l", "c", 1, ny, 0, "America/New_York");
    make_list_in(f, "p", "c", 1, phx, 0, "America/Phoenix");
    staff(f, 2);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 9 * MIN_MS); /* 11:59:xx UTC */
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     0);
    plt_fake_host_run_for(f->fh, 3 * MIN_MS);
    const plt_event *ev =
        first_where(f, "dialer.attempt.started", "phone", "+12127363100");
    assert_non_null(ev);
    int64_t at = plt_fake_event_time(ev);
    assert_true(at >= 1741521600000LL && at < 1741521600000LL + 2 * MIN_MS);
    assert_int_equal(count_where(f, "dialer.attempt.started", "phone",
                                 "+16023722000"),
                     0);
    /* Phoenix opens at 08:00 MST = 15:00 UTC. */
    plt_fake_host_run_for(f->fh, 170 * MIN_MS); /* 14:52 UTC */
    assert_int_equal(count_where(f, "dialer.attempt.started", "phone",
                                 "+16023722000"),
                     0);
    plt_fake_host_run_for(f->fh, 12 * MIN_MS);
    ev = first_where(f, "dialer.attempt.started", "phone", "+16023722000");
    assert_non_null(ev);
    at = plt_fake_event_time(ev);
    assert_true(at >= 1741532400000LL && at < 1741532400000LL + 6 * MIN_MS);
    fixture_close(f);
}

/* A contact whose zone the system does not know gets the site's zone
 * (Europe/Paris): dialled during French hours, not left aside. */
static void
unknown_zone_gets_site_zone(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l], compliance: fr, max_attempts: 1}\n",
                              sim_answer, 0);
    const char *num[] = {"+33600000042"};
    make_list_in(f, "l", "c", 1, num, 0, "Mars/Olympus_Mons");
    staff(f, 1);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 3 * MIN_MS);
    assert_int_equal(count_where(f, "dialer.attempt.started", "phone",
                                 "+33600000042"),
                     1);
    fixture_close(f);
}

/* ------------------------------------------------------------------ */
/* caps and silences */

/* France: at most 4 attempts per consumer per 30 days across every
 * campaign. The same number sits in two campaigns' lists; nobody answers;
 * each campaign would retry every minute. */
static void
fr_cap_across_campaigns(void **state)
{
    (void)state;
    fixture *f = fixture_open(
        "  - {name: c, mode: progressive, queue: q, lists: [l],"
        " compliance: fr, max_attempts: 20, ring_timeout: 15s,"
        " retries: [{on: no_answer, delay: 1m, max: 20}]}\n"
        "  - {name: d, mode: progressive, queue: q, lists: [m],"
        " compliance: fr, max_attempts: 20, ring_timeout: 15s,"
        " retries: [{on: no_answer, delay: 1m, max: 20}]}\n",
        sim_no_answer, 0);
    const char *num[] = {"+33600000007"};
    int64_t l = make_list_in(f, "l", "c", 1, num, 0, "Europe/Paris");
    int64_t m = make_list_in(f, "m", "d", 1, num, 0, "Europe/Paris");
    staff(f, 2);
    plt_fake_host_events_clear(f->fh);
    switch_camp(f, "c", true);
    switch_camp(f, "d", true);
    int64_t t0 = plt_fake_host_now(f->fh);
    plt_fake_host_run_for(f->fh, 2 * 60 * MIN_MS);
    for (size_t i = 0; getenv("DIALER_TEST_VERBOSE") &&
                       i < plt_fake_host_event_count(f->fh, "dialer.*");
         i++) {
        const plt_event *e = plt_fake_host_event_at(f->fh, "dialer.*", i);
        print_message("%lld %s %s %s %s\n",
                      (long long)(plt_fake_event_time(e) - t0) / 1000,
                      plt_fake_event_topic(e),
                      plt_fake_event_str(e, "campaign"),
                      plt_fake_event_str(e, "rule"),
                      plt_fake_event_str(e, "outcome"));
    }
    assert_int_equal(count_where(f, "dialer.attempt.started", "phone",
                                 "+33600000007"),
                     4);
    assert_true(count_where(f, "dialer.attempt.started", "campaign", "c") >= 1);
    assert_true(count_where(f, "dialer.attempt.started", "campaign", "d") >= 1);
    const plt_event *ev = first_where(f, "dialer.contact.blocked", "rule", "cap");
    assert_non_null(ev);
    /* Blocked until the oldest of the 4 leaves the 30-day window. */
    int64_t until = plt_fake_event_i64(ev, "until", 0);
    assert_true(until > t0 + 30 * DAY_MS - MIN_MS &&
                until < t0 + 30 * DAY_MS + 10 * MIN_MS);
    /* Being held back is not an attempt: the two contacts together carry
     * exactly the 4 calls placed. */
    lead_copy a = lead_get(f, 1), b = lead_get(f, 2);
    (void)l;
    (void)m;
    assert_int_equal(a.attempts + b.attempts, 4);
    assert_int_equal(a.status_of_lead, PLT_LEAD_AVAILABLE);
    assert_true(a.next_attempt_at > t0 + 29 * DAY_MS);
    fixture_close(f);
}

/* France: after a refusal, 60 days of silence for that consumer, in
 * every campaign. */
static void
fr_refusal_silence(void **state)
{
    (void)state;
    fixture *f = fixture_open(
        "  - {name: c, mode: progressive, queue: q, lists: [l],"
        " compliance: fr, max_attempts: 3,"
        " dispositions: [{code: REFUS, kind: refusal}]}\n"
        "  - {name: d, mode: progressive, queue: q, lists: [m],"
        " compliance: fr, max_attempts: 3}\n",
        sim_answer, 0);
    const char *num[] = {"+33600000009"};
    make_list_in(f, "l", "c", 1, num, 0, "Europe/Paris");
    make_list_in(f, "m", "d", 1, num, 0, "Europe/Paris");
    staff(f, 1);
    plt_fake_host_events_clear(f->fh);
    switch_camp(f, "c", true);
    plt_fake_host_run_for(f->fh, 40000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "queue.answered"), 1);
    const plt_event *ev = plt_fake_host_event_last(f->fh, "dialer.attempt.started");
    int64_t contact = plt_fake_event_i64(ev, "contact_id", 0);
    plt_dialer_result r = {.size = sizeof(r), .campaign = "c",
                           .contact_id = contact, .code = "REFUS",
                           .agent = "a1"};
    int ok = 0;
    assert_int_equal(f->dialer.vt->set_result(f->dialer.impl, &r, done_cb, &ok),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
    int64_t refused_at = plt_fake_host_now(f->fh);
    switch_camp(f, "c", false);
    switch_camp(f, "d", true);
    plt_fake_host_run_for(f->fh, 30 * MIN_MS);
    assert_int_equal(count_where(f, "dialer.attempt.started", "campaign", "d"),
                     0);
    ev = first_where(f, "dialer.contact.blocked", "rule", "refusal");
    assert_non_null(ev);
    int64_t until = plt_fake_event_i64(ev, "until", 0);
    assert_true(until >= refused_at + 60 * DAY_MS - 1000 &&
                until <= refused_at + 60 * DAY_MS + 30 * MIN_MS);
    fixture_close(f);
}

/* ------------------------------------------------------------------ */
/* do-not-call at dial time */

static void
dnc_add(fixture *f, const char *scope, const char *num)
{
    const char *nums[] = {num};
    int ok = 0;
    assert_int_equal(f->leads.vt->dnc_add(f->leads.impl, scope, nums, 1, NULL,
                                          "test", done_cb, &ok),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
}

/* A previewed contact (reserved) whose number goes on the DNC list while
 * the agent reads is not dialled when the agent presses dial. */
static void
dnc_while_previewed(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: preview, lists: [l],"
                              " max_attempts: 3}\n",
                              sim_answer, 0);
    const char *num[] = {"+33600000011"};
    make_list_in(f, "l", "c", 1, num, 0, "Europe/Paris");
    staff(f, 1);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 1500);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.preview.offered"),
                     1);
    dnc_add(f, "*", "+33600000011");
    assert_int_equal(f->dialer.vt->preview_dial(f->dialer.impl, "a1", -1), 0);
    plt_fake_host_run_for(f->fh, 10 * MIN_MS);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     0);
    assert_non_null(first_where(f, "dialer.contact.blocked", "rule", "dnc"));
    fixture_close(f);
}

/* A contact reserved and written, waiting for a trunk channel, whose
 * number goes on the DNC list meanwhile is not dialled. */
static void
dnc_while_waiting_for_trunk(void **state)
{
    (void)state;
    fixture *f = fixture_open("  - {name: c, mode: progressive, queue: q,"
                              " lists: [l], max_attempts: 3}\n",
                              "seed: 3\nanswer_rate: 1.0\nmachine_rate: 0\n"
                              "busy_rate: 0\ninvalid_rate: 0\n"
                              "patience_mean: 60s\npatience_sd: 1s\n"
                              "trunks: [{name: t, max_channels: 1}]\n",
                              0);
    const char *num[] = {"+33600000021", "+33600000022"};
    make_list_in(f, "l", "c", 2, num, 0, "Europe/Paris");
    staff(f, 2);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
    plt_fake_host_run_for(f->fh, 3000);
    assert_int_equal(plt_fake_host_event_count(f->fh, "dialer.attempt.started"),
                     1);
    const char *first = plt_fake_event_str(
        plt_fake_host_event_last(f->fh, "dialer.attempt.started"), "phone");
    const char *other = !strcmp(first, num[0]) ? num[1] : num[0];
    dnc_add(f, "*", other);
    plt_fake_host_run_for(f->fh, 15 * MIN_MS);
    assert_int_equal(count_where(f, "dialer.attempt.started", "phone", other),
                     0);
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
    make_list(f, 3, NULL);
    staff(f, 1);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(progressive_mode),
        cmocka_unit_test(preview_mode),
        cmocka_unit_test(power_mode),
        cmocka_unit_test(predictive_mode),
        cmocka_unit_test(fr_hours),
        cmocka_unit_test(us_hours_dst),
        cmocka_unit_test(unknown_zone_gets_site_zone),
        cmocka_unit_test(fr_cap_across_campaigns),
        cmocka_unit_test(fr_refusal_silence),
        cmocka_unit_test(dnc_while_previewed),
        cmocka_unit_test(dnc_while_waiting_for_trunk),
        cmocka_unit_test(personal_callback),
        cmocka_unit_test(api_callback),
        cmocka_unit_test(abandon_after_deadline),
    };
    /* DIALER_TEST=name runs one test (while debugging). */
    if (getenv("DIALER_TEST"))
        cmocka_set_test_filter(getenv("DIALER_TEST"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
