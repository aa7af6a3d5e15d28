/* SPDX-License-Identifier: MIT */
/*
 * The dialer tests' world: a fake host on the simulated clock with
 * storage_sqlite.so, leads.so, sim.so, agents.so, acd.so (queue q, agents
 * a1..a12) and dialer.so as built, lists of contacts, logged-in agents,
 * and readers of what happened (events, leads, campaign figures).
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

#include "dialer_fixture.h"



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

void
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
int64_t
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
void
make_list(fixture *f, int n, const char *first)
{
    const char *one[] = {first};
    if (first && n == 1)
        f->list_id = make_list_in(f, "l", "c", 1, one, 0, "Europe/Paris");
    else
        f->list_id = make_list_in(f, "l", "c", n, NULL, 0, "Europe/Paris");
}

fixture *
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
    /* a1..a12 take the campaigns' queue q; b1..b4 only an inbound one. */
    char acd[1024] = "queues:\n  - {name: q, wrap_up: 5s}\n"
                     "  - {name: inbound, wrap_up: 5s}\nagents:\n";
    for (int i = 1; i <= 12; i++)
        snprintf(acd + strlen(acd), sizeof(acd) - strlen(acd),
                 "  - {agent: a%d, queues: [q]}\n", i);
    for (int i = 1; i <= 4; i++)
        snprintf(acd + strlen(acd), sizeof(acd) - strlen(acd),
                 "  - {agent: b%d, queues: [inbound]}\n", i);
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

void
fixture_close(fixture *f)
{
    assert_int_equal(plt_fake_host_stop(f->fh), 0);
    int rc = plt_fake_host_free(f->fh);
    free(f);
    assert_int_equal(rc, 0);
}

void
staff_as(fixture *f, const char *agent, int extension)
{
    char phone[32];
    snprintf(phone, sizeof(phone), "agent:%d", extension);
    plt_agent_login l = {.size = sizeof(l), .agent = agent, .phone = phone,
                         .keep_up = true};
    assert_int_equal(f->ag.vt->login(f->ag.impl, &l, NULL, NULL), 0);
    plt_fake_host_run_for(f->fh, 4000);
    assert_int_equal(f->ag.vt->set_state(f->ag.impl, agent,
                                         PLT_AGENT_AVAILABLE, NULL, NULL,
                                         NULL),
                     0);
    plt_fake_host_run_until_idle(f->fh);
}

void
staff(fixture *f, int n)
{
    for (int i = 0; i < n; i++) {
        char agent[16];
        snprintf(agent, sizeof(agent), "a%d", i + 1);
        staff_as(f, agent, 101 + i);
    }
}

void
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

void
switch_on(fixture *f)
{
    switch_camp(f, "c", true);
}

void
start_dialing(fixture *f, int contacts, int agents)
{
    make_list(f, contacts, NULL);
    staff(f, agents);
    plt_fake_host_events_clear(f->fh);
    switch_on(f);
}

/* Events of @p topic whose string field @p key is @p value. */
size_t
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

const plt_event *
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

lead_copy
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

plt_dialer_stats
stats(fixture *f, const char *camp)
{
    plt_dialer_stats st = {0};
    assert_int_equal(f->dialer.vt->campaign_stats(f->dialer.impl, camp,
                                                  stats_cb, &st),
                     0);
    return st;
}

const char *const sim_answer =
    "seed: 3\nanswer_rate: 1.0\nmachine_rate: 0\nbusy_rate: 0\n"
    "invalid_rate: 0\npatience_mean: 60s\npatience_sd: 1s\n";

/* Nobody answers; a number rings out at the campaign's ring timeout. */
const char *const sim_no_answer =
    "seed: 5\nanswer_rate: 0\nmachine_rate: 0\nbusy_rate: 0\n"
    "invalid_rate: 0\n";


void
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

/* A list "l" attached to campaign "c" with one contact in Paris whose
 * numbers are @p nums (types @p types), in that order. */
void
make_contact_phones(fixture *f, const char *const *nums, const int32_t *types,
                    size_t n)
{
    plt_lead_rules rules = {.country = "FR"};
    int64_t id = 0;
    f->leads.vt->list_create(f->leads.impl, "l", &rules, NULL, 0, id_cb, &id);
    plt_fake_host_run_until_idle(f->fh);
    assert_true(id > 0);
    int ok = 0;
    f->leads.vt->list_attach(f->leads.impl, "c", id, 1, done_cb, &ok);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
    plt_lead_phone p[PLT_LEADS_MAX_PHONES];
    memset(p, 0, sizeof(p));
    for (size_t i = 0; i < n && i < PLT_LEADS_MAX_PHONES; i++) {
        p[i].e164 = nums[i];
        p[i].type = types[i];
    }
    plt_lead_new c = {.phones = p, .nphones = n, .time_zone = "Europe/Paris",
                      .line = 1};
    plt_lead_add_opts o = {.size = sizeof(o)};
    size_t got = 0;
    assert_int_equal(f->leads.vt->add_batch(f->leads.impl, id, &c, 1, &o,
                                            added_cb, &got),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(got, 1);
    f->list_id = id;
}
