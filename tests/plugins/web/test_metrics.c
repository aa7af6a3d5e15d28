/* SPDX-License-Identifier: MIT */
/*
 * The figures feature plugins put on /metrics: storage_sqlite.so, leads.so,
 * sim.so, agents.so, acd.so and dialer.so as built, on the fake host and
 * the simulated clock, with the web plugin's own metrics code (linked in)
 * as the `http` provider. Each scrape is parsed back from the Prometheus
 * text and checked against the services' own figures and against what the
 * simulated world did: agents by state, calls in progress, queue waiting,
 * longest wait and service level, dialer lines, hit and abandon rates.
 * Also: a family's samples stay together, and the /metrics address
 * allow-list.
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

#include <plateau/plateau.h>
#include <plateau/svc/acd.h>
#include <plateau/svc/agents.h>
#include <plateau/svc/dialer.h>
#include <plateau/svc/leads.h>
#include <plateau/testing/fake_host.h>

#include "web_int.h"

/* 2026-03-10 09:00 UTC, a Tuesday morning in Paris: the campaign's
 * default hours are open. */
#define START_MS 1773133200000LL
#define MIN_MS 60000LL

/* ---- the http provider: web's metrics code, routes accepted and
 * dropped (the feature plugins' route files register at start) ---- */

static int
no_route(void *impl, const plt_http_route *r)
{
    (void)impl;
    (void)r;
    return 0;
}

static int
no_type(void *impl, const plt_ws_type *t)
{
    (void)impl;
    (void)t;
    return 0;
}

static int
no_forward(void *impl, const plt_http_forward *f)
{
    (void)impl;
    (void)f;
    return 0;
}

static int
no_push(void *impl, const char *login, uint32_t roles, const char *type,
        json_t *data)
{
    (void)impl;
    (void)login;
    (void)roles;
    (void)type;
    json_decref(data);
    return 0;
}

typedef struct fx {
    plt_fake_host *fh;
    plt_http_vt vt;
    web *w;
    plt_agents ag;
    plt_acd acd;
    plt_leads leads;
    plt_dialer dialer;
    char *text; /* the last scrape */
} fx;

static void
add_so(fx *f, const char *name, const char *yaml)
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
acquire(fx *f, const char *name, const void **vt, void **impl)
{
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(f->fh, name, 1, 0, &ref), 0);
    *vt = ref.vtable;
    *impl = ref.impl;
}

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->w = calloc(1, sizeof(*f->w));
    assert_non_null(f->w);
    f->vt = web_http_vtable;
    f->vt.route = no_route;
    f->vt.ws_type = no_type;
    f->vt.forward = no_forward;
    f->vt.push = no_push;
    plt_fake_options opt = {.sim_start_ms = START_MS};
    assert_int_equal(plt_fake_host_new(&f->fh, &opt), 0);
    assert_int_equal(plt_fake_host_provide(f->fh, PLT_HTTP_NAME, PLT_HTTP_MAJOR,
                                           PLT_HTTP_MINOR, &f->vt, f->w),
                     0);
    char yaml[1024];
    const char *src = getenv("PLATEAU_SOURCE_DIR");
    add_so(f, "storage_sqlite", NULL);
    add_so(f, "leads", NULL);
    /* Everybody answers and talks 2 minutes; inbound callers give up
     * after 10 minutes. */
    add_so(f, "sim",
           "seed: 7\nanswer_rate: 1.0\nmachine_rate: 0\nbusy_rate: 0\n"
           "invalid_rate: 0\nring_to_answer_mean: 2s\nring_to_answer_sd: 1s\n"
           "talk_mean: 120s\ntalk_sd: 5s\npatience_mean: 600s\n"
           "patience_sd: 1s\n"
           "inbound:\n  - {did: '+33140000000', rate_per_hour: 360}\n");
    add_so(f, "agents", "missed_offers_before_pause: 0\nmax_wrap_up: 5s\n");
    add_so(f, "acd",
           "queues:\n"
           "  - {name: support, dids: ['+33140000000'], wrap_up: 5s,"
           " sl_threshold: 20s}\n"
           "  - {name: \"out\\\"bound\", wrap_up: 5s}\n"
           "agents:\n"
           "  - {agent: alice, queues: [support]}\n"
           "  - {agent: bob, queues: ['out\"bound']}\n"
           "  - {agent: carol, queues: ['out\"bound']}\n");
    snprintf(yaml, sizeof(yaml),
             "compliance_dir: %s/conf/compliance\n"
             "campaigns:\n  - {name: c, mode: progressive,"
             " queue: 'out\"bound', lists: [l], max_attempts: 1}\n",
             src ? src : "../../..");
    add_so(f, "dialer", yaml);
    int rc = plt_fake_host_init(f->fh);
    if (rc == 0)
        rc = plt_fake_host_start(f->fh);
    if (rc != 0)
        print_error("%s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    acquire(f, PLT_AGENTS_NAME, (const void **)&f->ag.vt, &f->ag.impl);
    acquire(f, PLT_ACD_NAME, (const void **)&f->acd.vt, &f->acd.impl);
    acquire(f, PLT_LEADS_NAME, (const void **)&f->leads.vt, &f->leads.impl);
    acquire(f, PLT_DIALER_NAME, (const void **)&f->dialer.vt, &f->dialer.impl);
    plt_fake_host_run_until_idle(f->fh);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    assert_int_equal(plt_fake_host_stop(f->fh), 0);
    /* Stopped plugins add nothing to a scrape. */
    size_t len;
    char *t = web_metrics_render(f->w, &len);
    assert_non_null(t);
    assert_null(strstr(t, "plateau_agents{"));
    assert_null(strstr(t, "plateau_queue_waiting"));
    assert_null(strstr(t, "plateau_dialer_lines"));
    free(t);
    int rc = plt_fake_host_free(f->fh);
    free(f->text);
    web_metrics_free(f->w);
    free(f->w);
    free(f);
    assert_int_equal(rc, 0);
    return 0;
}

static void
scrape(fx *f)
{
    free(f->text);
    size_t len;
    f->text = web_metrics_render(f->w, &len);
    assert_non_null(f->text);
    assert_int_equal(strlen(f->text), len);
}

/* The value of the sample whose name and labels are exactly @p sample
 * ("plateau_agents{state=\"available\"}"); fails when absent. */
static double
value(fx *f, const char *sample)
{
    size_t n = strlen(sample);
    for (const char *l = f->text; l && *l;) {
        if (strncmp(l, sample, n) == 0 && l[n] == ' ')
            return strtod(l + n + 1, NULL);
        l = strchr(l, '\n');
        l = l ? l + 1 : NULL;
    }
    print_error("no sample %s in:\n%s\n", sample, f->text);
    fail();
    return 0;
}

/* Every family's samples follow its TYPE line, uninterrupted, and no
 * family is declared twice. */
static void
check_grouping(fx *f)
{
    char names[256][96];
    size_t nn = 0;
    char cur[96] = "";
    for (const char *l = f->text; *l;) {
        const char *e = strchr(l, '\n');
        assert_non_null(e);
        if (strncmp(l, "# TYPE ", 7) == 0) {
            size_t k = strcspn(l + 7, " ");
            assert_true(k < sizeof(cur));
            snprintf(cur, sizeof(cur), "%.*s", (int)k, l + 7);
            for (size_t i = 0; i < nn; i++)
                assert_string_not_equal(names[i], cur);
            assert_true(nn < 256);
            snprintf(names[nn++], sizeof(names[0]), "%s", cur);
        } else if (l[0] != '#') {
            size_t k = strcspn(l, "{ ");
            assert_int_equal(k, strlen(cur));
            assert_memory_equal(l, cur, k);
        }
        l = e + 1;
    }
}

/* list() passes one argument to its rows and its end. */
typedef struct cnt {
    int done; /* first: list_done() writes it */
    uint32_t n[PLT_AGENT_OUTBOUND + 1];
} cnt;

static int
count_row(void *arg, const plt_agent_info *a)
{
    cnt *c = arg;
    if (a->state >= PLT_AGENT_LOGGED_OUT && a->state <= PLT_AGENT_OUTBOUND)
        c->n[a->state]++;
    return 0;
}

static void
list_done(void *arg, int status, const char *msg)
{
    (void)msg;
    *(int *)arg = status == 0 ? 1 : -1;
}

/* Agents by state on /metrics are the agents service's list. */
static void
check_agents(fx *f)
{
    cnt c = {0};
    assert_int_equal(f->ag.vt->list(f->ag.impl, count_row, list_done, &c), 0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(c.done, 1);
    scrape(f);
    for (int32_t s = PLT_AGENT_LOGGED_OUT; s <= PLT_AGENT_OUTBOUND; s++) {
        char k[96];
        snprintf(k, sizeof(k), "plateau_agents{state=\"%s\"}",
                 plt_agent_state_name(s));
        assert_int_equal((int)value(f, k), (int)c.n[s]);
    }
    assert_int_equal((int)value(f, "plateau_agent_calls_in_progress"),
                     (int)(c.n[PLT_AGENT_IN_CALL] + c.n[PLT_AGENT_OUTBOUND]));
}

static void
qstats_cb(void *arg, int status, const plt_queue_stats *st)
{
    assert_int_equal(status, 0);
    *(plt_queue_stats *)arg = *st;
}

static plt_queue_stats
qstats(fx *f, const char *q)
{
    plt_queue_stats st;
    memset(&st, 0, sizeof(st));
    assert_int_equal(f->acd.vt->stats(f->acd.impl, q, qstats_cb, &st), 0);
    return st;
}

static void
dstats_cb(void *arg, int status, const plt_dialer_stats *st)
{
    assert_int_equal(status, 0);
    *(plt_dialer_stats *)arg = *st;
}

static plt_dialer_stats
dstats(fx *f, const char *c)
{
    plt_dialer_stats st = {0};
    assert_int_equal(
        f->dialer.vt->campaign_stats(f->dialer.impl, c, dstats_cb, &st), 0);
    return st;
}

static void
login(fx *f, const char *agent, const char *phone)
{
    plt_agent_login l = {
        .size = sizeof(l), .agent = agent, .phone = phone, .keep_up = true};
    assert_int_equal(f->ag.vt->login(f->ag.impl, &l, NULL, NULL), 0);
    plt_fake_host_run_for(f->fh, 5000);
    assert_int_equal(f->ag.vt->set_state(f->ag.impl, agent, PLT_AGENT_AVAILABLE,
                                         NULL, NULL, NULL),
                     0);
    plt_fake_host_run_until_idle(f->fh);
}

static void
id_cb(void *arg, int status, int64_t id)
{
    assert_int_equal(status, 0);
    *(int64_t *)arg = id;
}

static void
added_cb(void *arg, int status, const plt_lead_added *r, size_t n)
{
    assert_int_equal(status, 0);
    (void)r;
    *(size_t *)arg = n;
}

/* List "l" attached to campaign "c", @p n mobiles in Paris. */
static void
make_list(fx *f, int n)
{
    plt_lead_rules rules = {.country = "FR"};
    int64_t id = 0;
    f->leads.vt->list_create(f->leads.impl, "l", &rules, NULL, 0, id_cb, &id);
    plt_fake_host_run_until_idle(f->fh);
    assert_true(id > 0);
    int ok = 0;
    f->leads.vt->list_attach(f->leads.impl, "c", id, 1, list_done, &ok);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
    plt_lead_new c[16];
    plt_lead_phone p[16];
    char num[16][20];
    assert_true(n <= 16);
    memset(c, 0, sizeof(c));
    memset(p, 0, sizeof(p));
    for (int i = 0; i < n; i++) {
        snprintf(num[i], 20, "+3361234%04d", i + 1);
        p[i].e164 = num[i];
        p[i].type = PLT_PHONE_MOBILE;
        c[i].phones = &p[i];
        c[i].nphones = 1;
        c[i].time_zone = "Europe/Paris";
        c[i].line = i + 1;
    }
    plt_lead_add_opts o = {.size = sizeof(o)};
    size_t got = 0;
    assert_int_equal(f->leads.vt->add_batch(f->leads.impl, id, c, (size_t)n, &o,
                                            added_cb, &got),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(got, (size_t)n);
}

/* Queue figures while callers wait and once an agent answers. */
static void
queue_figures(void **state)
{
    fx *f = *state;
    scrape(f);
    check_grouping(f);
    /* Before any call: nobody waits, the service level is 1. */
    assert_int_equal((int)value(f, "plateau_queue_waiting{queue=\"support\"}"),
                     0);
    assert_true(value(f, "plateau_queue_service_level{queue=\"support\"}") ==
                1.0);
    double sl = value(f, "plateau_queue_service_level_threshold_seconds{"
                         "queue=\"support\"}");
    if (sl != 20.0)
        fprintf(stderr, "threshold %g in:\n%s\n", sl, f->text);
    assert_true(sl == 20.0);
    /* A queue name with a quote is escaped in its label. */
    assert_int_equal(
        (int)value(f, "plateau_queue_waiting{queue=\"out\\\"bound\"}"), 0);
    check_agents(f);
    assert_int_equal((int)value(f, "plateau_agents{state=\"available\"}"), 0);

    /* Five minutes with nobody to answer (a caller every 10 s on average):
     * callers wait; the longest wait is the oldest caller's. */
    plt_fake_host_run_for(f->fh, 5 * MIN_MS);
    plt_queue_stats st = qstats(f, "support");
    assert_true(st.waiting >= 5);
    scrape(f);
    check_grouping(f);
    assert_int_equal((int)value(f, "plateau_queue_waiting{queue=\"support\"}"),
                     (int)st.waiting);
    double longest =
        value(f, "plateau_queue_longest_wait_seconds{queue=\"support\"}");
    assert_true(longest > 60.0 && longest <= 300.0);
    assert_true(longest == (double)st.longest_wait_ms / 1000.0);
    assert_int_equal(
        (int)value(f, "plateau_queue_calls_in_progress{queue=\"support\"}"), 0);
    assert_int_equal(
        (int)value(
            f, "plateau_queue_agents{queue=\"support\",state=\"available\"}"),
        0);

    /* Alice answers: one call in progress, the waiting drops by one, and
     * the first caller answered after 20 s lowers the service level. */
    login(f, "alice", "agent:201");
    plt_fake_host_run_for(f->fh, 30000);
    check_agents(f);
    assert_int_equal((int)value(f, "plateau_agents{state=\"in_call\"}"), 1);
    assert_int_equal((int)value(f, "plateau_agent_calls_in_progress"), 1);
    assert_int_equal(
        (int)value(f, "plateau_queue_calls_in_progress{queue=\"support\"}"), 1);
    st = qstats(f, "support");
    assert_int_equal((int)value(f, "plateau_queue_waiting{queue=\"support\"}"),
                     (int)st.waiting);
    assert_true(st.answered >= 1);
    assert_true(value(f, "plateau_queue_service_level{queue=\"support\"}") ==
                st.service_level);
    assert_true(st.service_level < 1.0);
    assert_int_equal((int)value(f, "plateau_queue_calls_total{queue="
                                   "\"support\",outcome=\"answered\"}"),
                     (int)st.answered);
    assert_true(value(f, "plateau_agents_longest_in_state_seconds{state="
                         "\"in_call\"}") > 0);
    check_grouping(f);
}

/* Dialer pacing: lines, hit rate and abandon rate of a progressive
 * campaign with two agents. */
static void
dialer_figures(void **state)
{
    fx *f = *state;
    make_list(f, 8);
    scrape(f);
    assert_int_equal(
        (int)value(f, "plateau_dialer_campaign_enabled{campaign=\"c\"}"), 0);
    assert_true(value(f, "plateau_dialer_hit_rate{campaign=\"c\"}") == 0);
    login(f, "bob", "agent:202");
    login(f, "carol", "agent:203");
    int ok = 0;
    assert_int_equal(f->dialer.vt->campaign_set_enabled(
                         f->dialer.impl, "c", true, "test", list_done, &ok),
                     0);
    plt_fake_host_run_until_idle(f->fh);
    assert_int_equal(ok, 1);
    /* Half a second in: both calls ring (answers come after ~2 s), so
     * the two available agents have two lines in flight. Later, a call
     * connected to its agent no longer counts as in flight. */
    plt_fake_host_run_for(f->fh, 500);
    plt_dialer_stats ds = dstats(f, "c");
    scrape(f);
    assert_int_equal(
        (int)value(f, "plateau_dialer_campaign_enabled{campaign=\"c\"}"), 1);
    assert_int_equal((int)ds.lines_in_flight, 2);
    assert_int_equal((int)value(f, "plateau_dialer_lines{campaign=\"c\"}"), 2);
    assert_int_equal(
        (int)value(f, "plateau_dialer_attempts_total{campaign=\"c\"}"), 2);
    /* Everything answered and talked: every attempt a live answer, none
     * abandoned. */
    plt_fake_host_run_for(f->fh, 20 * MIN_MS);
    ds = dstats(f, "c");
    assert_int_equal((int)ds.attempts, 8);
    scrape(f);
    check_grouping(f);
    assert_int_equal(
        (int)value(f, "plateau_dialer_attempts_total{campaign=\"c\"}"), 8);
    assert_int_equal((int)value(f, "plateau_dialer_answers_total{campaign="
                                   "\"c\",outcome=\"live\"}"),
                     (int)ds.answered);
    assert_true(value(f, "plateau_dialer_hit_rate{campaign=\"c\"}") ==
                (double)ds.answered / 8.0);
    assert_true(ds.answered >= 6);
    assert_true(value(f, "plateau_dialer_abandon_rate{campaign=\"c\"}") ==
                ds.abandon_rate);
    assert_int_equal((int)value(f, "plateau_dialer_lines{campaign=\"c\"}"), 0);
    check_agents(f);
}

/* The /metrics address allow-list: addresses, networks, IPv6, mapped
 * IPv4, and nonsense refused. */
static void
allow_list(void **state)
{
    (void)state;
    web_net v[3];
    assert_int_equal(web_net_parse("127.0.0.0/8", &v[0]), 0);
    assert_int_equal(web_net_parse("::1", &v[1]), 0);
    assert_int_equal(web_net_parse("10.1.2.0/23", &v[2]), 0);
    assert_true(web_net_match(v, 3, "127.0.0.1"));
    assert_true(web_net_match(v, 3, "127.255.0.9"));
    assert_true(web_net_match(v, 3, "::1"));
    assert_true(web_net_match(v, 3, "::ffff:127.0.0.1"));
    assert_true(web_net_match(v, 3, "10.1.3.200"));
    assert_false(web_net_match(v, 3, "10.1.4.1"));
    assert_false(web_net_match(v, 3, "128.0.0.1"));
    assert_false(web_net_match(v, 3, "::2"));
    assert_false(web_net_match(v, 3, "garbage"));
    assert_false(web_net_match(v, 2, "10.1.2.1"));
    web_net x;
    assert_int_equal(web_net_parse("10.0.0.1/33", &x), PLT_EINVAL);
    assert_int_equal(web_net_parse("10.0.0.1/", &x), PLT_EINVAL);
    assert_int_equal(web_net_parse("example.com", &x), PLT_EINVAL);
    assert_int_equal(web_net_parse("0.0.0.0/0", &x), 0);
    assert_true(web_net_match(&x, 1, "192.0.2.7"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(queue_figures, setup, teardown),
        cmocka_unit_test_setup_teardown(dialer_figures, setup, teardown),
        cmocka_unit_test(allow_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
