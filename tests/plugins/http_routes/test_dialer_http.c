/* SPDX-License-Identifier: MIT */
/*
 * The dialer plugin's browser routes (plugins/dialer/dialer_http.c) on the
 * fake host with storage_sqlite, leads, sim, agents, acd and dialer as
 * built and the fake `http` provider: the wizard's campaign is created
 * (and refused with the dialer's reason when invalid), listed for staff,
 * read back by an agent with its desk profile (script, fields shown,
 * products) and its opening days as the browser counts them, switched ON
 * by a supervisor, updated; a result with products sold is recorded, one
 * row per product; the pacing log is for staff only; preview actions
 * without a preview are refused; pacing goes to staff and preview offers
 * to their agent. The campaign's hold music is what its customer hears when
 * the agent holds a call of the campaign (the call carries var_campaign_id);
 * another call falls back to the site's hold music; an abandon message sent
 * with the desk profile alone is refused, not dropped.
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
#include <uv.h>

#include <plateau/plateau.h>
#include <plateau/svc/agents.h>
#include <plateau/svc/leads.h>
#include <plateau/svc/storage.h>
#include <plateau/svc/telephony.h>
#include <plateau/svc/users.h>

#include "fake_http.h"

typedef struct fx {
    plt_fake_host *fh;
    fake_http *h;
    fake_http_reply r;
    char dir[64]; /* data directory, kept across a restart */
} fx;

static fx *cur;

static bool
answered(void *arg)
{
    (void)arg;
    return cur->r.answered;
}

static json_t *
req(fx *f, const char *method, const char *path, const char *login,
    int32_t role, const char *body, int want)
{
    fake_http_reply_clear(&f->r);
    fake_http_request(f->h, method, path, login, role, body, NULL, &f->r);
    assert_true(fake_http_run_until(f->fh, answered, NULL));
    if (f->r.status != want)
        print_error("%s %s: %d %s\n", method, path, f->r.status,
                    f->r.body ? json_dumps(f->r.body, 0) : "");
    assert_int_equal(f->r.status, want);
    return f->r.body;
}

static void
open_host(fx *f)
{
    plt_fake_options opt = {.data_dir = f->dir};
    assert_int_equal(plt_fake_host_new(&f->fh, &opt), 0);
    assert_int_equal(fake_http_new(f->fh, &f->h), 0);
    assert_int_equal(fake_http_add_so(f->fh, "storage_sqlite", NULL), 0);
    assert_int_equal(fake_http_add_so(f->fh, "leads", NULL), 0);
    assert_int_equal(
        fake_http_add_so(f->fh, "sim",
                         "seed: 3\nanswer_rate: 1.0\nmachine_rate: 0\n"
                         "busy_rate: 0\ninvalid_rate: 0\n"
                         "ring_to_answer_mean: 2s\nring_to_answer_sd: 1s\n"
                         "talk_mean: 60s\ntalk_sd: 2s\n"
                         "patience_mean: 120s\n"),
        0);
    assert_int_equal(
        fake_http_add_so(f->fh, "agents", "hold_music: site_moh.wav\n"), 0);
    assert_int_equal(
        fake_http_add_so(f->fh, "acd", "queues:\n  - {name: ventes}\n"), 0);
    assert_int_equal(fake_http_add_so(f->fh, "dialer", NULL), 0);
    int rc = plt_fake_host_init(f->fh);
    if (rc == 0)
        rc = plt_fake_host_start(f->fh);
    if (rc != 0)
        print_error("%s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    cur = f;
}

static void
close_host(fx *f)
{
    fake_http_reply_clear(&f->r);
    assert_int_equal(plt_fake_host_stop(f->fh), 0);
    int rc = plt_fake_host_free(f->fh);
    fake_http_free(f->h);
    assert_int_equal(rc, 0);
}

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_dialer_http_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    open_host(f);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    close_host(f);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static const char *
str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

typedef struct waiter {
    bool done;
    int status;
    int64_t id;
} waiter;

static void
on_id(void *arg, int status, int64_t id)
{
    waiter *w = arg;
    w->done = true;
    w->status = status;
    w->id = id;
}

static void
on_added(void *arg, int status, const plt_lead_added *r, size_t n)
{
    waiter *w = arg;
    w->done = true;
    w->status = status;
    w->id = n ? r[0].contact_id : 0;
}

static bool
w_done(void *arg)
{
    return ((waiter *)arg)->done;
}

static int
count_row(void *arg, const plt_storage_row *row)
{
    waiter *w = arg;
    w->id = row->vals[0].v.i;
    return 0;
}

static void
count_done(void *arg, int status, const plt_storage_result *res)
{
    (void)res;
    waiter *w = arg;
    w->done = true;
    w->status = status;
}

#define AG PLT_ROLE_AGENT
#define SUP PLT_ROLE_SUPERVISOR
#define ADM PLT_ROLE_ADMIN

static const char wizard[] =
    "{\"name\":\"ventes\",\"label\":\"Ventes box\",\"type\":\"sale\","
    "\"mode\":\"progressive\",\"queue\":\"ventes\",\"lists\":[\"ventes\"],"
    "\"max_attempts\":4,\"ring_timeout_ms\":20000,"
    "\"retries\":[{\"on\":\"no_answer\",\"delay_ms\":3600000}],"
    "\"dispositions\":[{\"code\":\"VENTE\",\"label\":\"Vente\","
    "\"kind\":\"success\"},{\"code\":\"REFUS\",\"kind\":\"final\"}],"
    "\"products\":[{\"code\":\"box\",\"label\":\"Box\"},{\"code\":\"tv\"}],"
    "\"hours\":[{\"days\":[1,2,3,4,5,6],\"from\":\"09:00\",\"to\":\"20:00\"}],"
    "\"fields_shown\":[\"nom\",\"ville\"],"
    "\"script\":\"Bonjour {{nom}}\"}";

static void
campaigns(void **state)
{
    fx *f = *state;
    assert_non_null(fake_http_forward(f->h, "dialer.pacing"));
    assert_int_equal(fake_http_forward(f->h, "dialer.pacing")->roles,
                     PLT_HTTP_STAFF);
    assert_string_equal(
        fake_http_forward(f->h, "dialer.preview.offered")->owner_field,
        "agent");

    req(f, "POST", "/campaigns", "sue", SUP, wizard, 403);
    json_t *b = req(f, "POST", "/campaigns", "ann", ADM,
                    "{\"name\":\"x\",\"mode\":\"progressive\","
                    "\"lists\":[\"x\"]}",
                    400);
    assert_non_null(
        strstr(str(json_object_get(b, "error"), "message"), "queue"));
    req(f, "POST", "/campaigns", "ann", ADM, wizard, 201);
    req(f, "POST", "/campaigns", "ann", ADM, wizard, 409);
    assert_int_equal(fake_http_audit_count(f->h, "campaign.created"), 1);

    req(f, "GET", "/campaigns", "alice", AG, NULL, 403);
    b = req(f, "GET", "/campaigns", "sue", SUP, NULL, 200);
    json_t *c0 = json_array_get(json_object_get(b, "items"), 0);
    assert_string_equal(str(c0, "name"), "ventes");
    assert_string_equal(str(c0, "mode"), "progressive");
    assert_false(json_is_true(json_object_get(c0, "enabled")));

    /* An agent's desk reads the campaign with its profile. */
    b = req(f, "GET", "/campaigns/ventes", "alice", AG, NULL, 200);
    assert_string_equal(str(b, "label"), "Ventes box");
    assert_string_equal(str(b, "type"), "sale");
    assert_string_equal(str(b, "script"), "Bonjour {{nom}}");
    assert_int_equal(json_array_size(json_object_get(b, "products")), 2);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(b, "fields_shown"), 1)),
                        "ville");
    json_t *d1 = json_array_get(json_object_get(b, "dispositions"), 0);
    assert_string_equal(str(d1, "kind"), "success");
    json_t *h0 = json_array_get(json_object_get(b, "hours"), 0);
    assert_string_equal(str(h0, "from"), "09:00");
    assert_int_equal(json_array_size(json_object_get(h0, "days")), 6);
    assert_int_equal(
        json_integer_value(json_array_get(json_object_get(h0, "days"), 0)), 1);
    req(f, "GET", "/campaigns/nope", "alice", AG, NULL, 404);

    req(f, "POST", "/campaigns/ventes/start", "alice", AG, "{}", 403);
    req(f, "POST", "/campaigns/ventes/start", "sue", SUP, "{}", 200);
    b = req(f, "GET", "/campaigns/ventes/stats", "sue", SUP, NULL, 200);
    assert_true(json_is_true(json_object_get(b, "enabled")));
    req(f, "POST", "/campaigns/ventes/stop", "sue", SUP, "{}", 200);
    assert_int_equal(fake_http_audit_count(f->h, "campaign.stopped"), 1);

    /* The wizard again, as an update. */
    char upd[sizeof(wizard) + 64];
    snprintf(upd, sizeof(upd), "%s", wizard);
    char *p = strstr(upd, "Bonjour");
    memcpy(p, "Bonsoir", 7);
    req(f, "PUT", "/campaigns/ventes", "ann", ADM, upd, 200);
    b = req(f, "GET", "/campaigns/ventes", "alice", AG, NULL, 200);
    assert_string_equal(str(b, "script"), "Bonsoir {{nom}}");

    /* The desk profile alone. */
    req(f, "PUT", "/campaigns/ventes/desk", "sue", SUP, "{}", 403);
    req(f, "PUT", "/campaigns/nope/desk", "ann", ADM, "{}", 404);
    req(f, "PUT", "/campaigns/ventes/desk", "ann", ADM,
        "{\"script\":\"Salut {{nom}}\",\"fields_shown\":[\"nom\"]}", 200);
    b = req(f, "GET", "/campaigns/ventes", "alice", AG, NULL, 200);
    assert_string_equal(str(b, "script"), "Salut {{nom}}");
    assert_int_equal(json_array_size(json_object_get(b, "fields_shown")), 1);
    assert_string_equal(str(b, "label"), "Ventes box"); /* untouched */

    /* A sale of two products. */
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_LEADS_NAME, 1, 0, &ref),
                     0);
    const plt_leads_vt *lv = ref.vtable;
    waiter w = {0};
    assert_int_equal(
        lv->list_create(ref.impl, "ventes", NULL, NULL, 0, on_id, &w), 0);
    assert_true(fake_http_run_until(f->fh, w_done, &w));
    plt_lead_phone ph = {.original = "01 40 00 00 09"};
    plt_lead_new c = {.phones = &ph, .nphones = 1, .line = 2};
    plt_lead_add_opts o = {.size = sizeof(o), .source = "test"};
    int64_t list_id = w.id;
    memset(&w, 0, sizeof(w));
    assert_int_equal(lv->add_batch(ref.impl, list_id, &c, 1, &o, on_added, &w),
                     0);
    assert_true(fake_http_run_until(f->fh, w_done, &w));
    char body[256];
    snprintf(body, sizeof(body), "{\"contact_id\":%lld,\"code\":\"NOPE\"}",
             (long long)w.id);
    req(f, "POST", "/campaigns/ventes/results", "alice", AG, body, 400);
    snprintf(body, sizeof(body),
             "{\"contact_id\":%lld,\"code\":\"VENTE\",\"note\":\"ok\","
             "\"products\":[\"box\",\"tv\"]}",
             (long long)w.id);
    req(f, "POST", "/campaigns/ventes/results", "alice", AG, body, 200);
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_STORAGE_NAME, 1, 0, &ref),
                     0);
    plt_storage st = {.vt = ref.vtable, .impl = ref.impl};
    memset(&w, 0, sizeof(w));
    assert_int_equal(plt_storage_exec(&st,
                                      "SELECT count(*) FROM campaign_sale"
                                      " WHERE campaign = 'ventes' AND agent ="
                                      " 'alice' AND product IN ('box', 'tv')",
                                      NULL, 0, 0, count_row, count_done, &w),
                     0);
    assert_true(fake_http_run_until(f->fh, w_done, &w));
    assert_int_equal(w.status, 0);
    assert_int_equal(w.id, 2);

    req(f, "GET", "/campaigns/ventes/pacing", "alice", AG, NULL, 403);
    b = req(f, "GET", "/campaigns/ventes/pacing?limit=5", "sue", SUP, NULL,
            200);
    assert_true(json_is_array(json_object_get(b, "items")));

    req(f, "POST", "/dialer/preview/dial", "alice", AG, "{}", 404);
    req(f, "POST", "/dialer/preview/skip", "alice", AG, "{}", 404);
    req(f, "GET", "/dialer/preview", "alice", AG, NULL, 404);
}

/* A customer call for @p login as the dialer places it (preview or
 * callback): variables at originate, then the agent is OUTBOUND on it. */
static void
call_for(fx *f, const char *login, const char *campaign)
{
    plt_service_ref ref;
    assert_int_equal(
        plt_fake_host_acquire(f->fh, PLT_TELEPHONY_NAME, 1, 0, &ref), 0);
    const plt_telephony_vt *t = ref.vtable;
    void *ti = ref.impl;
    plt_kv vars[] = {{"agent", login}, {"campaign_id", campaign}};
    plt_originate o = {.size = sizeof(o), .destination = "+33612345678",
                       .role = PLT_LEG_CUSTOMER, .vars = vars,
                       .nvars = campaign ? 2 : 1};
    plt_leg *leg = NULL;
    assert_int_equal(t->originate(ti, &o, &leg), 0);
    plt_leg_info li = {.size = sizeof(li)};
    assert_int_equal(t->leg_info(ti, leg, &li), 0);
    assert_int_equal(
        plt_fake_host_acquire(f->fh, PLT_AGENTS_NAME, 1, 1, &ref), 0);
    const plt_agents_vt *av = ref.vtable;
    assert_int_equal(av->outbound_started(ref.impl, login, li.id), 0);
    t->leg_unref(ti, leg);
}

static void
hold_music(void **state)
{
    fx *f = *state;
    char body[sizeof(wizard) + 64];
    snprintf(body, sizeof(body), "%.*s,\"hold_music\":\"ventes_moh.wav\"}",
             (int)strlen(wizard) - 1, wizard);
    req(f, "POST", "/campaigns", "ann", ADM, body, 201);
    json_t *b = req(f, "GET", "/campaigns/ventes", "alice", AG, NULL, 200);
    assert_string_equal(str(b, "hold_music"), "ventes_moh.wav");

    req(f, "POST", "/agents/me/login", "alice", AG, "{\"phone\":\"200\"}",
        202);
    plt_fake_host_run_for(f->fh, 5000);
    call_for(f, "alice", "ventes");
    plt_fake_host_run_for(f->fh, 15000); /* answered, bridged */
    assert_true(fake_http_push_count(f->h, "alice", "call.bridged") >= 1);
    req(f, "POST", "/agents/me/call/hold", "alice", AG, NULL, 200);
    plt_fake_host_run_until_idle(f->fh);
    json_t *held = fake_http_push_last(f->h, "alice", "call.held");
    assert_non_null(held);
    assert_string_equal(str(held, "var_campaign_id"), "ventes");
    assert_string_equal(str(held, "music"), "ventes_moh.wav");
    req(f, "POST", "/agents/me/call/resume", "alice", AG, NULL, 200);
    req(f, "POST", "/agents/me/call/hangup", "alice", AG, NULL, 200);
    plt_fake_host_run_for(f->fh, 35000); /* wrap-up over */

    /* After a restart, the stored profile still names the music. */
    close_host(f);
    open_host(f);
    req(f, "POST", "/agents/me/login", "alice", AG, "{\"phone\":\"200\"}",
        202);
    plt_fake_host_run_for(f->fh, 5000);
    call_for(f, "alice", "ventes");
    plt_fake_host_run_for(f->fh, 15000);
    req(f, "POST", "/agents/me/call/hold", "alice", AG, NULL, 200);
    plt_fake_host_run_until_idle(f->fh);
    held = fake_http_push_last(f->h, "alice", "call.held");
    assert_non_null(held);
    assert_string_equal(str(held, "music"), "ventes_moh.wav");
    req(f, "POST", "/agents/me/call/hangup", "alice", AG, NULL, 200);
    plt_fake_host_run_for(f->fh, 35000);

    /* The profile without music: the site's. */
    req(f, "PUT", "/campaigns/ventes/desk", "ann", ADM,
        "{\"script\":\"Salut\"}", 200);
    req(f, "POST", "/agents/me/state", "alice", AG,
        "{\"state\":\"pause\",\"reason\":\"meal\"}", 200);
    call_for(f, "alice", "ventes");
    plt_fake_host_run_for(f->fh, 15000);
    req(f, "POST", "/agents/me/call/hold", "alice", AG, NULL, 200);
    plt_fake_host_run_until_idle(f->fh);
    held = fake_http_push_last(f->h, "alice", "call.held");
    /* The configured path, resolved as the configuration's paths are. */
    const char *m = str(held, "music");
    assert_true(strlen(m) >= 13);
    assert_string_equal(m + strlen(m) - 13, "/site_moh.wav");

    /* The abandon message is the definition's: refused here, not dropped. */
    b = req(f, "PUT", "/campaigns/ventes/desk", "ann", ADM,
            "{\"abandon_message\":\"sorry.wav\"}", 400);
    assert_non_null(strstr(str(json_object_get(b, "error"), "message"),
                           "abandon_message"));
    /* Through the wizard's update, it reaches the dialer. */
    snprintf(body, sizeof(body), "%.*s,\"abandon_message\":\"sorry.wav\"}",
             (int)strlen(wizard) - 1, wizard);
    req(f, "PUT", "/campaigns/ventes", "ann", ADM, body, 200);
    b = req(f, "GET", "/campaigns/ventes", "alice", AG, NULL, 200);
    assert_non_null(strstr(str(b, "abandon_message"), "sorry.wav"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(campaigns, setup, teardown),
        cmocka_unit_test_setup_teardown(hold_music, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
