/* SPDX-License-Identifier: MIT */
/*
 * One predictive campaign over the real sip plugin: storage_sqlite.so,
 * leads.so, sip.so, agents.so, acd.so and dialer.so as built, on a fake
 * host with the real clock, against two SIPp processes on 127.0.0.1 - a
 * carrier (the trunk) that answers every call, plays a few seconds of
 * G.711 and hangs up, and an agent's phone that registers extension 1001
 * and answers the agent's kept-up leg. The campaign has four contacts and
 * one agent: every contact is dialled once through the trunk (the
 * carrier's SIPp counts the calls), each answered call reaches the agent
 * before the connect deadline (nothing abandoned), every attempt is
 * recorded, and the pacing decisions are stored with their explanation.
 * Shares the SIP tests' fixed ports (resource lock sip_ports).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <plateau/svc/agents.h>
#include <plateau/svc/dialer.h>
#include <plateau/svc/leads.h>

#include "sip_harness.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define NCONTACTS 4

static void
add_so(harness *h, const char *name, const char *yaml)
{
    const char *dir = getenv("PLATEAU_PLUGIN_DIR");
    char so[PATH_MAX];
    snprintf(so, sizeof(so), "%s/%s.so", dir ? dir : ".", name);
    int rc = plt_fake_host_add_so(h->fh, so, yaml, NULL);
    if (rc != 0)
        print_error("%s: %s\n", so, plt_fake_host_last_error(h->fh));
    assert_int_equal(rc, 0);
}

static void *
acquire(harness *h, const char *name, void **impl)
{
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(h->fh, name, 1, 0, &ref), 0);
    *impl = ref.impl;
    return (void *)ref.vtable;
}

typedef struct flag {
    bool done;
    int status;
    int64_t id;
} flag;

static bool
is_done(void *arg)
{
    return ((flag *)arg)->done;
}

static void
on_done(void *arg, int status, const char *msg)
{
    flag *f = arg;
    if (status != 0)
        print_error("done: %s\n", msg ? msg : "?");
    f->done = true;
    f->status = status;
}

static void
on_id(void *arg, int status, int64_t id)
{
    flag *f = arg;
    f->done = true;
    f->status = status;
    f->id = id;
}

static void
on_added(void *arg, int status, const plt_lead_added *r, size_t n)
{
    flag *f = arg;
    f->done = true;
    f->status = status;
    f->id = (int64_t)n;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(r[i].result, PLT_LEAD_ADDED);
}

static void
wait_flag(harness *h, flag *f)
{
    assert_true(h_wait_until(h, is_done, f, 5000));
    assert_int_equal(f->status, 0);
}

typedef struct pl {
    int rows;
    flag f;
} pl;

static int
pacing_row(void *arg, const plt_dialer_pacing_entry *e)
{
    pl *p = arg;
    assert_non_null(strstr(e->explain, "\"reason\""));
    p->rows++;
    return 0;
}

static void
pacing_done(void *arg, int status, const char *msg)
{
    on_done(&((pl *)arg)->f, status, msg);
}

static void
predictive_campaign_over_sip(void **state)
{
    (void)state;
    harness h;
    memset(&h, 0, sizeof(h));
    plt_fake_options opt = {.real_clock = 1, .log_level = PLT_LOG_NOTICE};
    assert_int_equal(plt_fake_host_new(&h.fh, &opt), 0);
    snprintf(h.dir, sizeof(h.dir), "%s", plt_fake_host_data_dir(h.fh));
    add_so(&h, "storage_sqlite", NULL);
    add_so(&h, "leads", NULL);
    add_so(&h, "sip", h_config(NULL, NULL));
    add_so(&h, "agents", "max_wrap_up: 1s\n");
    add_so(&h, "acd", "queues:\n  - {name: q, wrap_up: 1s}\n"
                      "agents:\n  - {agent: a1, queues: [q]}\n");
    add_so(&h, "dialer",
           "campaigns:\n"
           "  - {name: c, mode: predictive, queue: q, lists: [l],"
           " trunk: carrier, caller_id: \"+33100000001\", max_attempts: 1,"
           " ring_timeout: 10s, connect_deadline: 2s}\n");
    int rc = plt_fake_host_init(h.fh);
    if (rc == 0)
        rc = plt_fake_host_start(h.fh);
    if (rc != 0)
        print_error("%s\n", plt_fake_host_last_error(h.fh));
    assert_int_equal(rc, 0);
    void *ag_impl, *leads_impl, *dialer_impl;
    const plt_agents_vt *ag = acquire(&h, PLT_AGENTS_NAME, &ag_impl);
    const plt_leads_vt *leads = acquire(&h, PLT_LEADS_NAME, &leads_impl);
    const plt_dialer_vt *dialer = acquire(&h, PLT_DIALER_NAME, &dialer_impl);

    /* The contacts. */
    flag f = {0};
    plt_lead_rules rules = {.country = "FR"};
    assert_int_equal(leads->list_create(leads_impl, "l", &rules, NULL, 0,
                                        on_id, &f),
                     0);
    wait_flag(&h, &f);
    int64_t list = f.id;
    plt_lead_new c[NCONTACTS];
    plt_lead_phone p[NCONTACTS];
    char num[NCONTACTS][20];
    memset(c, 0, sizeof(c));
    memset(p, 0, sizeof(p));
    for (int i = 0; i < NCONTACTS; i++) {
        snprintf(num[i], sizeof(num[i]), "+3361234560%d", i);
        p[i].e164 = num[i];
        p[i].type = PLT_PHONE_MOBILE;
        c[i].phones = &p[i];
        c[i].nphones = 1;
        c[i].time_zone = "Europe/Paris";
    }
    plt_lead_add_opts ao = {.size = sizeof(ao)};
    f = (flag){0};
    assert_int_equal(leads->add_batch(leads_impl, list, c, NCONTACTS, &ao,
                                      on_added, &f),
                     0);
    wait_flag(&h, &f);

    /* The agent's phone registers; the agent logs in on it. */
    const char *phone_args[] = {
        "-sf", h_scenario("uas_answer_wait.xml"), "-i", "127.0.0.1", "-p",
        STR(H_PHONE_PORT), "-mi", "127.0.0.1", "-mp", STR(H_PHONE_MEDIA),
        "-rtp_echo", "-m", "1", "-timeout", "120s", "-nostdin", NULL};
    pid_t phone = h_sipp(&h, "phone", phone_args);
    assert_true(phone > 0);
    assert_int_equal(h_wait_bound(&h, H_PHONE_PORT, 3000), 0);
    const char *reg_args[] = {
        "-sf", h_scenario("uac_register.xml"), "-s", "1001", "-au", "1001",
        "-ap", "secret1001", "-key", "contact_port", STR(H_PHONE_PORT), "-i",
        "127.0.0.1", "-p", STR(H_REG_PORT), "-m", "1", "-timeout", "10s",
        "-timeout_error", "-nostdin", "127.0.0.1:" STR(H_SIP_PORT), NULL};
    assert_int_equal(h_sipp_wait(&h, h_sipp(&h, "register", reg_args), 12000),
                     0);
    plt_agent_login lg = {.size = sizeof(lg), .agent = "a1",
                          .phone = "agent:1001", .keep_up = true};
    f = (flag){0};
    assert_int_equal(ag->login(ag_impl, &lg, on_done, &f), 0);
    wait_flag(&h, &f);
    assert_int_equal(ag->set_state(ag_impl, "a1", PLT_AGENT_AVAILABLE, NULL,
                                   NULL, NULL),
                     0);

    /* The carrier answers every call, talks ~4 s and hangs up. */
    const char *sf = h_scenario_from(&h, "uas_answer_bye.xml", NULL, NULL);
    const char *trunk_args[] = {
        "-sf", sf, "-i", "127.0.0.1", "-p", STR(H_TRUNK_PORT), "-mi",
        "127.0.0.1", "-mp", STR(H_TRUNK_MEDIA), "-m", STR(NCONTACTS),
        "-timeout", "120s", "-timeout_error", "-nostdin", NULL};
    pid_t trunk = h_sipp(&h, "carrier", trunk_args);
    assert_true(trunk > 0);
    assert_int_equal(h_wait_bound(&h, H_TRUNK_PORT, 3000), 0);

    plt_fake_host_events_clear(h.fh);
    f = (flag){0};
    assert_int_equal(dialer->campaign_set_enabled(dialer_impl, "c", true,
                                                  "test", on_done, &f),
                     0);
    wait_flag(&h, &f);
    /* -m NCONTACTS: the carrier exits 0 once it took every call. */
    assert_int_equal(h_sipp_wait(&h, trunk, 30000 * h_slack()), 0);
    h_run(&h, 1500);
    assert_int_equal(plt_fake_host_event_count(h.fh, "dialer.attempt.started"),
                     NCONTACTS);
    size_t ended = plt_fake_host_event_count(h.fh, "dialer.attempt.ended");
    assert_int_equal(ended, NCONTACTS);
    for (size_t i = 0; i < ended; i++) {
        const plt_event *ev =
            plt_fake_host_event_at(h.fh, "dialer.attempt.ended", i);
        assert_string_equal(plt_fake_event_str(ev, "connected_agent"), "a1");
    }
    /* Each number once. */
    for (int i = 0; i < NCONTACTS; i++) {
        size_t n = 0;
        for (size_t k = 0; k < ended; k++)
            if (!strcmp(plt_fake_event_str(plt_fake_host_event_at(
                                               h.fh, "dialer.attempt.ended", k),
                                           "phone"),
                        num[i]))
                n++;
        assert_int_equal(n, 1);
    }
    assert_int_equal(plt_fake_host_event_count(h.fh, "dialer.call.abandoned"),
                     0);
    pl log = {0};
    assert_int_equal(dialer->pacing_log(dialer_impl, "c", 0, 100, pacing_row,
                                        pacing_done, &log),
                     0);
    assert_true(h_wait_until(&h, is_done, &log.f, 5000));
    assert_int_equal(log.f.status, 0);
    assert_true(log.rows >= 1);

    f = (flag){0};
    assert_int_equal(ag->logout(ag_impl, "a1", true, "test", on_done, &f), 0);
    h_run(&h, 500);
    assert_int_equal(h_sipp_wait(&h, phone, 5000), 0);
    assert_int_equal(plt_fake_host_stop(h.fh), 0);
    assert_int_equal(plt_fake_host_free(h.fh), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(predictive_campaign_over_sip, h_cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
