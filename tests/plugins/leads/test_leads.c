/* SPDX-License-Identifier: MIT */
/*
 * The leads plugin as the dialer and the importer rely on it, on the fake
 * host with a real engine: storage_sqlite.so (default) or storage_pg.so
 * (`test_leads pg`, with the `pg` fixture's conninfo.env), then leads.so,
 * as built, on the simulated clock.
 *
 * Covered: a messy batch with duplicates inside it and against the list,
 * re-adding it adding nothing; do-not-call at add time (refused or added
 * as DNC) and after (excluded from reservation, dnc_check blocks, also
 * while reserved); reservation exactly once with 8 concurrent owners;
 * eligibility (time zones, next attempt, callbacks per agent, max
 * attempts); attempt_done's owner check; the durability flag of what must
 * survive a power cut (against a stub engine recording flags); list stats;
 * search by phone in any form, text and field; history order; attempts
 * across campaigns; resumable import progress; and the add_batch
 * throughput against a raw multi-row INSERT (printed, never judged).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <uv.h>

#include <plateau/plateau.h>
#include <plateau/svc/leads.h>
#include <plateau/svc/storage.h>
#include <plateau/testing/fake_host.h>

#define MINUTE (60 * 1000)

static bool g_pg;
static char g_db[128];

typedef struct fixture {
    plt_fake_host *fh;
    const plt_leads_vt *vt;
    void *impl;
    plt_storage st;
    uv_timer_t guard;
    bool guard_on;
    char own_dir[64]; /* a data directory of the case's own, removed last */
} fixture;

/* ------------------------------------------------------------------ */
/* PostgreSQL: the fixture's server, a clean set of tables per case */

static void
load_env_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *s = line;
        if (!strncmp(s, "export ", 7))
            s += 7;
        char *eq = strchr(s, '=');
        if (!eq || *s == '#')
            continue;
        *eq = 0;
        char *v = eq + 1;
        size_t n = strlen(v);
        if (n >= 2 && (v[0] == '\'' || v[0] == '"') && v[n - 1] == v[0]) {
            v[n - 1] = 0;
            v++;
        }
        setenv(s, v, 0);
    }
    fclose(f);
}

static int
pg_admin(const char *sql)
{
    PGconn *pc = PQconnectdb("connect_timeout=10");
    if (PQstatus(pc) != CONNECTION_OK) {
        fprintf(stderr, "# connect: %s", PQerrorMessage(pc));
        PQfinish(pc);
        return -1;
    }
    PGresult *r = PQexec(pc, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ||
                     PQresultStatus(r) == PGRES_TUPLES_OK
                 ? 0
                 : -1;
    if (rc)
        fprintf(stderr, "# %s: %s", sql, PQerrorMessage(pc));
    PQclear(r);
    PQfinish(pc);
    return rc;
}

/* The leads tables and the engine's own (plt_*), so that migrations run
 * afresh in every case. */
#define PG_CLEANUP                                                             \
    "DO $$DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables "     \
    "WHERE schemaname = current_schema() AND (tablename IN ('lead_list', "     \
    "'lead_list_field', 'campaign_list', 'contact', 'contact_field', "         \
    "'contact_phone', 'contact_event', 'dnc', 'lead_progress', "               \
    "'lead_field_index', 'contact_search', 'bench_raw') "                      \
    "OR tablename LIKE 'plt\\_%') LOOP EXECUTE 'DROP TABLE IF EXISTS ' || "    \
    "quote_ident(t) || ' CASCADE'; END LOOP; END$$"

/* ------------------------------------------------------------------ */
/* Harness */

static void
guard_tick(uv_timer_t *t)
{
    (void)t;
}

static void
wait_flag(fixture *f, const bool *flag)
{
    uv_loop_t *loop = plt_fake_host_loop(f->fh);
    for (int i = 0; i < 60000 && !*flag; i++) {
        plt_fake_host_run_until_idle(f->fh);
        if (*flag)
            break;
        uv_timer_start(&f->guard, guard_tick, 5, 0);
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&f->guard);
    assert_true(*flag);
}

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    if (g_pg && pg_admin(PG_CLEANUP) != 0) {
        free(f);
        return -1;
    }
    if (plt_fake_host_new(&f->fh, NULL) != 0) {
        free(f);
        return -1;
    }
    uv_timer_init(plt_fake_host_loop(f->fh), &f->guard);
    f->guard_on = true;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    if (f->guard_on)
        uv_close((uv_handle_t *)&f->guard, NULL);
    uv_run(plt_fake_host_loop(f->fh), UV_RUN_NOWAIT);
    int rc = plt_fake_host_free(f->fh);
    if (rc != 0)
        print_error("plt_fake_host_free: %d (a handle leaked)\n", rc);
    if (f->own_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->own_dir);
        if (system(cmd) != 0)
            print_error("cannot remove %s\n", f->own_dir);
    }
    free(f);
    return rc == 0 ? 0 : -1;
}

static void
engine_config(fixture *f, char *buf, size_t n)
{
    if (!g_pg) {
        snprintf(buf, n, "file: %s/leads.db\ntxn_timeout: 60s\n",
                 plt_fake_host_data_dir(f->fh));
        return;
    }
    const char *v;
    size_t l = 0;
    buf[0] = 0;
    if ((v = getenv("PGHOST")) && *v)
        l += (size_t)snprintf(buf + l, n - l, "host: \"%s\"\n", v);
    if ((v = getenv("PGPORT")) && *v)
        l += (size_t)snprintf(buf + l, n - l, "port: %s\n", v);
    if ((v = getenv("PGUSER")) && *v)
        l += (size_t)snprintf(buf + l, n - l, "user: \"%s\"\n", v);
    if ((v = getenv("PGPASSWORD")) && *v)
        l += (size_t)snprintf(buf + l, n - l, "password: \"%s\"\n", v);
    l += (size_t)snprintf(buf + l, n - l, "dbname: \"%s\"\n", g_db);
    snprintf(buf + l, n - l, "txn_timeout: 60s\npool: 8\n");
}

static void
open_leads(fixture *f)
{
    const char *dir = getenv("PLATEAU_PLUGIN_DIR");
    char so[PATH_MAX], cfg[2048];
    snprintf(so, sizeof(so), "%s/storage_%s.so", dir ? dir : ".",
             g_pg ? "pg" : "sqlite");
    engine_config(f, cfg, sizeof(cfg));
    int rc = plt_fake_host_add_so(f->fh, so, cfg, NULL);
    if (rc != 0)
        print_error("%s: %s\n", so, plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    snprintf(so, sizeof(so), "%s/leads.so", dir ? dir : ".");
    rc = plt_fake_host_add_so(f->fh, so, NULL, NULL);
    if (rc != 0)
        print_error("%s: %s\n", so, plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    rc = plt_fake_host_init(f->fh);
    if (rc != 0)
        print_error("init: %s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    rc = plt_fake_host_start(f->fh);
    if (rc != 0)
        print_error("start: %s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_LEADS_NAME,
                                           PLT_LEADS_MAJOR, 0, &ref),
                     0);
    f->vt = ref.vtable;
    f->impl = ref.impl;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_STORAGE_NAME,
                                           PLT_STORAGE_MAJOR, 0, &ref),
                     0);
    f->st.vt = ref.vtable;
    f->st.impl = ref.impl;
    plt_fake_host_run_until_idle(f->fh);
}

/* ---- synchronous wrappers ---- */

typedef struct res {
    bool done;
    int status;
    int64_t id;
    bool yes;
    char msg[512];
    plt_list_stats st;
} res;

static void
on_id(void *arg, int status, int64_t id)
{
    res *r = arg;
    r->done = true;
    r->status = status;
    r->id = id;
}

static void
on_done(void *arg, int status, const char *msg)
{
    res *r = arg;
    r->done = true;
    r->status = status;
    snprintf(r->msg, sizeof(r->msg), "%s", msg ? msg : "");
}

static void
on_bool(void *arg, int status, bool yes)
{
    res *r = arg;
    r->done = true;
    r->status = status;
    r->yes = yes;
}

static void
on_stats(void *arg, int status, const plt_list_stats *st)
{
    res *r = arg;
    r->done = true;
    r->status = status;
    if (st)
        r->st = *st;
}

static int64_t
list_create(fixture *f, const char *name, const plt_lead_rules *rules)
{
    res r = {0};
    const char *fields[] = {"name", "email", "city"};
    assert_int_equal(
        f->vt->list_create(f->impl, name, rules, fields, 3, on_id, &r), 0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, 0);
    return r.id;
}

static void
attach(fixture *f, const char *campaign, int64_t list, int32_t weight)
{
    res r = {0};
    assert_int_equal(f->vt->list_attach(f->impl, campaign, list, weight,
                                        on_done, &r),
                     0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, 0);
}

static plt_list_stats
stats(fixture *f, int64_t list)
{
    res r = {0};
    assert_int_equal(
        f->vt->list_stats(f->impl, list, plt_fake_host_now(f->fh), on_stats,
                          &r),
        0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, 0);
    return r.st;
}

#define MAXRES 8192
typedef struct added {
    bool done;
    int status;
    size_t n;
    plt_lead_added r[MAXRES];
    char reason[MAXRES][128];
} added;

static void
on_added(void *arg, int status, const plt_lead_added *results, size_t n)
{
    added *a = arg;
    a->done = true;
    a->status = status;
    a->n = n;
    for (size_t i = 0; i < n && i < MAXRES; i++) {
        a->r[i] = results[i];
        snprintf(a->reason[i], sizeof(a->reason[i]), "%s",
                 results[i].reason ? results[i].reason : "");
        a->r[i].reason = NULL;
    }
}

/* A contact with one or two numbers and a name. */
typedef struct newc {
    plt_lead_field fields[2];
    plt_lead_phone phones[2];
} newc;

static plt_lead_new
mk(newc *s, int64_t line, const char *name, const char *p1, const char *p2)
{
    memset(s, 0, sizeof(*s));
    s->fields[0] = (plt_lead_field){"name", name};
    s->fields[1] = (plt_lead_field){"city", "Lyon"};
    s->phones[0].original = p1;
    s->phones[1].original = p2;
    return (plt_lead_new){.fields = s->fields,
                          .nfields = 2,
                          .phones = s->phones,
                          .nphones = p2 ? 2 : 1,
                          .line = line};
}

static added *
add(fixture *f, int64_t list, const plt_lead_new *c, size_t n,
    const plt_lead_add_opts *o)
{
    added *a = calloc(1, sizeof(*a));
    assert_non_null(a);
    assert_int_equal(f->vt->add_batch(f->impl, list, c, n, o, on_added, a),
                     0);
    wait_flag(f, &a->done);
    assert_int_equal(a->status, 0);
    assert_int_equal(a->n, n);
    return a;
}

static void
dnc_add(fixture *f, const char *scope, const char *number)
{
    res r = {0};
    const char *nums[] = {number};
    assert_int_equal(f->vt->dnc_add(f->impl, scope, nums, 1, NULL, "test",
                                    on_done, &r),
                     0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, 0);
}

static bool
dnc_check(fixture *f, const char *campaign, const char *e164)
{
    res r = {0};
    assert_int_equal(
        f->vt->dnc_check(f->impl, campaign, e164, on_bool, &r), 0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, 0);
    return r.yes;
}

/* ---- reserve ---- */

typedef struct got {
    bool done;
    int status;
    size_t n;
    int64_t ids[1024];
    size_t nphones[1024];
    char first_phone[1024][20];
} got;

static int
on_lead(void *arg, const plt_lead *l)
{
    got *g = arg;
    assert_int_equal(l->status, PLT_LEAD_RESERVED);
    if (g->n < 1024) {
        g->nphones[g->n] = l->nphones;
        snprintf(g->first_phone[g->n], 20, "%s",
                 l->nphones ? l->phones[0].e164 : "");
        g->ids[g->n++] = l->id;
    }
    return 0;
}

static void
on_got_done(void *arg, int status, const char *msg)
{
    got *g = arg;
    (void)msg;
    g->done = true;
    g->status = status;
}

static got *
reserve_f(fixture *f, const plt_lead_filter *flt, const char *owner, int n)
{
    got *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    assert_int_equal(f->vt->reserve(f->impl, flt, owner, n, on_lead,
                                    on_got_done, g),
                     0);
    wait_flag(f, &g->done);
    assert_int_equal(g->status, 0);
    return g;
}

static got *
reserve(fixture *f, const char *campaign, const char *owner, int n)
{
    plt_lead_filter flt = {.size = sizeof(flt),
                           .campaign = campaign,
                           .now = plt_fake_host_now(f->fh)};
    return reserve_f(f, &flt, owner, n);
}

static int
attempt(fixture *f, int64_t id, const char *owner, const char *campaign,
        const char *phone, int32_t new_status, int64_t next)
{
    res r = {0};
    int64_t now = plt_fake_host_now(f->fh);
    plt_lead_attempt a = {.size = sizeof(a),
                          .contact_id = id,
                          .owner = owner,
                          .campaign = campaign,
                          .phone = phone,
                          .outcome = "no_answer",
                          .sip_code = 480,
                          .started_at = now,
                          .ended_at = now + 20000,
                          .attempt_ref = "a1",
                          .new_status = new_status,
                          .next_attempt_at = next};
    assert_int_equal(f->vt->attempt_done(f->impl, &a, on_done, &r), 0);
    wait_flag(f, &r.done);
    return r.status;
}

/* ------------------------------------------------------------------ */
/* Cases */

/* A file as spreadsheets export it: spaces, dots, "(0)", Excel's ="..."
 * trick, a lost leading zero, no-break spaces, a number too short. */
static void
batch_dedups_inside_and_against_the_list(void **state)
{
    fixture *f = *state;
    open_leads(f);
    plt_lead_rules rules = {.country = "FR", .restore_lost_zero = true};
    int64_t list = list_create(f, "janvier", &rules);
    newc s[8];
    plt_lead_new c[8];
    c[0] = mk(&s[0], 2, "Anne", "06 12 34 56 78", NULL);
    c[1] = mk(&s[1], 3, "Bruno", "+33 (0)6 12 34 56 79", "01.23.45.67.89");
    c[2] = mk(&s[2], 4, "Anne bis", "=\"0612345678\"", NULL); /* = line 2 */
    c[3] = mk(&s[3], 5, "Chloé", "612345680", NULL);          /* lost 0 */
    c[4] = mk(&s[4], 6, "Denis", "06 12", NULL);               /* invalid */
    c[5] = mk(&s[5], 7, "Eve", "0033 1 23 45 67 89", NULL);    /* = line 3 */
    c[6] = mk(&s[6], 8, "Fanny", "06\xc2\xa0" "12\xc2\xa0" "34 56 81", NULL);
    c[7] = mk(&s[7], 9, "Gilles", "abc", "06 12 34 56 82");
    plt_lead_add_opts o = {.size = sizeof(o),
                           .dedup_scope = PLT_DEDUP_LIST,
                           .source = "import:1"};
    added *a = add(f, list, c, 8, &o);
    int want[8] = {PLT_LEAD_ADDED, PLT_LEAD_ADDED, PLT_LEAD_DUPLICATE,
                   PLT_LEAD_ADDED, PLT_LEAD_NO_VALID_PHONE,
                   PLT_LEAD_DUPLICATE, PLT_LEAD_ADDED, PLT_LEAD_ADDED};
    for (int i = 0; i < 8; i++) {
        if (a->r[i].result != want[i])
            fprintf(stderr, "line %lld: result %d (%s), wanted %d\n",
                        (long long)a->r[i].line, a->r[i].result, a->reason[i],
                        want[i]);
        assert_int_equal(a->r[i].result, want[i]);
        assert_int_equal(a->r[i].line, i + 2);
    }
    assert_true(a->r[0].contact_id > 0);
    assert_int_equal(a->r[2].contact_id, a->r[0].contact_id);
    assert_string_equal(a->reason[2],
                        "duplicate of line 2 (same phone +33612345678)");
    assert_int_equal(a->r[5].contact_id, a->r[1].contact_id);
    assert_non_null(strstr(a->reason[4], "invalid phone '06 12'"));
    assert_non_null(strstr(a->reason[4], "short"));
    assert_int_equal(a->r[7].invalid_phones, 1);
    free(a);
    assert_int_equal(stats(f, list).total, 5);

    /* The same file again: every contact is a duplicate of a stored one. */
    a = add(f, list, c, 8, &o);
    for (int i = 0; i < 8; i++)
        assert_int_not_equal(a->r[i].result, PLT_LEAD_ADDED);
    char want_reason[128];
    snprintf(want_reason, sizeof(want_reason),
             "duplicate of contact %lld (same phone +33612345678)",
             (long long)a->r[0].contact_id);
    assert_string_equal(a->reason[0], want_reason);
    free(a);
    plt_list_stats st = stats(f, list);
    assert_int_equal(st.total, 5);

    /* Another list: LIST scope does not look there, ALL does. */
    int64_t other = list_create(f, "fevrier", &rules);
    a = add(f, other, c, 2, &o);
    assert_int_equal(a->r[0].result, PLT_LEAD_ADDED);
    free(a);
    o.dedup_scope = PLT_DEDUP_ALL;
    a = add(f, other, &c[3], 1, &o);
    assert_int_equal(a->r[0].result, PLT_LEAD_DUPLICATE);
    free(a);
    /* By a custom field, case and spaces ignored: against the contacts
     * added with the same dedup_field, and inside the batch. */
    o.dedup_field = "name";
    newc s2[3];
    plt_lead_new c2[3] = {mk(&s2[0], 1, "Yann Le Goff", "07 00 00 00 01", NULL),
                          mk(&s2[1], 2, "  YANN LE GOFF ", "07 00 00 00 02",
                             NULL),
                          mk(&s2[2], 3, "Zoe", "07 00 00 00 03", NULL)};
    a = add(f, list, c2, 3, &o);
    assert_int_equal(a->r[0].result, PLT_LEAD_ADDED);
    assert_int_equal(a->r[1].result, PLT_LEAD_DUPLICATE);
    assert_non_null(strstr(a->reason[1], "same name 'yann le goff'"));
    assert_int_equal(a->r[2].result, PLT_LEAD_ADDED);
    free(a);
    a = add(f, list, &c2[1], 1, &o);
    assert_int_equal(a->r[0].result, PLT_LEAD_DUPLICATE);
    free(a);
}

static void
new_list_is_all_available(void **state)
{
    fixture *f = *state;
    open_leads(f);
    int64_t list = list_create(f, "neuve", NULL);
    plt_list_stats st = stats(f, list);
    assert_int_equal(st.total, 0);
    newc s[3];
    plt_lead_new c[3] = {mk(&s[0], 1, "a", "0611000001", NULL),
                         mk(&s[1], 2, "b", "0611000002", NULL),
                         mk(&s[2], 3, "c", "0611000003", NULL)};
    free(add(f, list, c, 3, NULL));
    st = stats(f, list);
    assert_int_equal(st.total, 3);
    assert_int_equal(st.by_status[PLT_LEAD_AVAILABLE], 3);
    assert_int_equal(st.due_now, 3);
    res r = {0};
    assert_int_equal(f->vt->list_stats(f->impl, 9999, 0, on_stats, &r), 0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, PLT_ENOENT);
    /* Names are unique. */
    r = (res){0};
    assert_int_equal(f->vt->list_create(f->impl, "neuve", NULL, NULL, 0,
                                        on_id, &r),
                     0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, PLT_EEXIST);
}

static void
dnc_at_add_and_after(void **state)
{
    fixture *f = *state;
    open_leads(f);
    int64_t list = list_create(f, "dnc", NULL);
    attach(f, "c1", list, 1);
    dnc_add(f, "*", "06 99 00 00 01");
    newc s[3];
    plt_lead_new c[3] = {mk(&s[0], 1, "blocked", "0699000001", NULL),
                         mk(&s[1], 2, "half", "0699000001", "0699000002"),
                         mk(&s[2], 3, "later", "0699000003", NULL)};
    plt_lead_add_opts o = {.size = sizeof(o), .skip_dnc = true};
    added *a = add(f, list, c, 3, &o);
    assert_int_equal(a->r[0].result, PLT_LEAD_DNC_REFUSED);
    assert_string_equal(a->reason[0], "all numbers on the do-not-call list");
    assert_int_equal(a->r[1].result, PLT_LEAD_ADDED);
    assert_int_equal(a->r[1].dnc_phones, 1);
    assert_int_equal(a->r[2].result, PLT_LEAD_ADDED);
    int64_t later = a->r[2].contact_id;
    free(a);
    /* Without skip_dnc it is kept, with status DNC, and never reserved. */
    o.skip_dnc = false;
    o.dedup_scope = PLT_DEDUP_NONE;
    a = add(f, list, c, 1, &o);
    assert_int_equal(a->r[0].result, PLT_LEAD_ADDED);
    free(a);
    assert_int_equal(stats(f, list).by_status[PLT_LEAD_DNC], 1);

    /* Put on the list after the import: flipped, excluded, blocked. */
    dnc_add(f, "*", "+33699000003");
    assert_true(dnc_check(f, "c1", "+33699000003"));
    assert_true(dnc_check(f, NULL, "+33699000003"));
    assert_false(dnc_check(f, "c1", "+33699000002"));
    got *g = reserve(f, "c1", "d1", 10);
    assert_int_equal(g->n, 1); /* only "half", with its callable number */
    assert_int_not_equal(g->ids[0], later);
    assert_int_equal(g->nphones[0], 1);
    assert_string_equal(g->first_phone[0], "+33699000002");
    free(g);
    assert_int_equal(stats(f, list).by_status[PLT_LEAD_DNC], 2);

    /* Campaign scope: blocked for c1 only. */
    dnc_add(f, "c1", "0699000004");
    assert_true(dnc_check(f, "c1", "+33699000004"));
    assert_false(dnc_check(f, "c2", "+33699000004"));
    /* Removing brings the contact back. */
    res r = {0};
    assert_int_equal(
        f->vt->dnc_remove(f->impl, "*", "06 99 00 00 03", on_done, &r), 0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, 0);
    assert_false(dnc_check(f, "c1", "+33699000003"));
    g = reserve(f, "c1", "d1", 10);
    assert_int_equal(g->n, 1);
    assert_int_equal(g->ids[0], later);
    free(g);
}

static void
dnc_while_reserved_blocks_the_dial(void **state)
{
    fixture *f = *state;
    open_leads(f);
    int64_t list = list_create(f, "r", NULL);
    attach(f, "c1", list, 1);
    newc s;
    plt_lead_new c = mk(&s, 1, "x", "0655000001", NULL);
    free(add(f, list, &c, 1, NULL));
    got *g = reserve(f, "c1", "d1", 1);
    assert_int_equal(g->n, 1);
    assert_false(dnc_check(f, "c1", g->first_phone[0]));
    dnc_add(f, "*", g->first_phone[0]);
    /* What the dialer asks right before dialling. */
    assert_true(dnc_check(f, "c1", g->first_phone[0]));
    free(g);
}

/* ---- exactly once ---- */

#define OWNERS 8
typedef struct owner_run {
    fixture *f;
    char name[16];
    int64_t *seen; /* per contact id: times handed out */
    int64_t max_id;
    bool finished;
    int status;
    size_t got_this_round;
    int *running;
} owner_run;

static int
owner_row(void *arg, const plt_lead *l)
{
    owner_run *o = arg;
    assert_true(l->id > 0 && l->id <= o->max_id);
    o->seen[l->id]++;
    o->got_this_round++;
    return 0;
}

static void owner_next(owner_run *o);

static void
owner_done(void *arg, int status, const char *msg)
{
    owner_run *o = arg;
    if (status != 0) {
        print_error("%s: %s\n", o->name, msg ? msg : "");
        o->status = status;
        o->finished = true;
        (*o->running)--;
        return;
    }
    if (o->got_this_round == 0) {
        o->finished = true;
        (*o->running)--;
        return;
    }
    owner_next(o);
}

static void
owner_next(owner_run *o)
{
    o->got_this_round = 0;
    plt_lead_filter flt = {.size = sizeof(flt),
                           .campaign = "c1",
                           .now = plt_fake_host_now(o->f->fh)};
    assert_int_equal(o->f->vt->reserve(o->f->impl, &flt, o->name, 10,
                                       owner_row, owner_done, o),
                     0);
}

static void
reservation_is_exactly_once(void **state)
{
    fixture *f = *state;
    open_leads(f);
    int64_t l1 = list_create(f, "a", NULL);
    int64_t l2 = list_create(f, "b", NULL);
    attach(f, "c1", l1, 3);
    attach(f, "c1", l2, 1);
    enum { N = 500 };
    static newc s[N];
    static plt_lead_new c[N];
    static char phones[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(phones[i], sizeof(phones[i]), "06%08d", 10000000 + i);
        c[i] = mk(&s[i], i + 1, "n", phones[i], NULL);
    }
    free(add(f, l1, c, N / 2, NULL));
    free(add(f, l2, c + N / 2, N / 2, NULL));
    int64_t max_id = 0;
    {
        plt_list_stats st = stats(f, l1);
        assert_int_equal(st.total, N / 2);
    }
    max_id = 10 * N;
    int64_t *seen = calloc((size_t)max_id + 1, sizeof(*seen));
    owner_run o[OWNERS];
    int running = OWNERS;
    for (int i = 0; i < OWNERS; i++) {
        memset(&o[i], 0, sizeof(o[i]));
        o[i].f = f;
        snprintf(o[i].name, sizeof(o[i].name), "dialer%d", i);
        o[i].seen = seen;
        o[i].max_id = max_id;
        o[i].running = &running;
    }
    for (int i = 0; i < OWNERS; i++)
        owner_next(&o[i]);
    bool all = false;
    for (int k = 0; k < 100000 && !all; k++) {
        plt_fake_host_run_until_idle(f->fh);
        all = running == 0;
        if (!all) {
            uv_timer_start(&f->guard, guard_tick, 2, 0);
            uv_run(plt_fake_host_loop(f->fh), UV_RUN_ONCE);
        }
    }
    uv_timer_stop(&f->guard);
    assert_true(all);
    /* With SKIP LOCKED an owner may find nothing while the others hold the
     * rest: one more owner takes whatever is left, still exactly once. */
    owner_run last = o[0];
    snprintf(last.name, sizeof(last.name), "sweeper");
    int one = 1;
    last.running = &one;
    last.finished = false;
    owner_next(&last);
    for (int k = 0; k < 100000 && one; k++) {
        plt_fake_host_run_until_idle(f->fh);
        if (one) {
            uv_timer_start(&f->guard, guard_tick, 2, 0);
            uv_run(plt_fake_host_loop(f->fh), UV_RUN_ONCE);
        }
    }
    uv_timer_stop(&f->guard);
    assert_int_equal(one, 0);
    assert_int_equal(last.status, 0);
    int64_t total = 0;
    for (int64_t i = 0; i <= max_id; i++) {
        assert_true(seen[i] <= 1);
        total += seen[i];
    }
    for (int i = 0; i < OWNERS; i++)
        assert_int_equal(o[i].status, 0);
    free(seen);
    assert_int_equal(total, N);
    assert_int_equal(stats(f, l1).by_status[PLT_LEAD_RESERVED], N / 2);
}

static void
weights_mix_lists(void **state)
{
    fixture *f = *state;
    open_leads(f);
    int64_t l1 = list_create(f, "heavy", NULL);
    int64_t l2 = list_create(f, "light", NULL);
    attach(f, "c1", l1, 3);
    attach(f, "c1", l2, 1);
    enum { N = 200 };
    static newc s[N];
    static plt_lead_new c[N];
    static char phones[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(phones[i], sizeof(phones[i]), "06%08d", 20000000 + i);
        c[i] = mk(&s[i], i + 1, "n", phones[i], NULL);
    }
    free(add(f, l1, c, N / 2, NULL));
    free(add(f, l2, c + N / 2, N / 2, NULL));
    /* One at a time, as a progressive dialer does: the light list still
     * gets its share. */
    for (int i = 0; i < 80; i++)
        free(reserve(f, "c1", "d", 1));
    int64_t heavy = stats(f, l1).by_status[PLT_LEAD_RESERVED];
    int64_t light = stats(f, l2).by_status[PLT_LEAD_RESERVED];
    assert_int_equal(heavy + light, 80);
    assert_true(light >= 8 && light <= 35);
    /* A list that runs dry leaves its share to the other. */
    got *g = reserve(f, "c1", "d", 1000);
    assert_int_equal(g->n, N - 80);
    free(g);
}

static void
eligibility(void **state)
{
    fixture *f = *state;
    open_leads(f);
    int64_t list = list_create(f, "e", NULL);
    attach(f, "c1", list, 1);
    newc s[4];
    plt_lead_new c[4] = {mk(&s[0], 1, "paris", "0611000001", NULL),
                         mk(&s[1], 2, "ny", "+1 212 736 5000", NULL),
                         mk(&s[2], 3, "cb", "0611000003", NULL),
                         mk(&s[3], 4, "cb-any", "0611000004", NULL)};
    added *a = add(f, list, c, 4, NULL);
    int64_t paris = a->r[0].contact_id, ny = a->r[1].contact_id,
            cb = a->r[2].contact_id, cb_any = a->r[3].contact_id;
    free(a);
    int64_t now = plt_fake_host_now(f->fh);

    /* Callbacks: one for bob, one for anyone, due in 10 minutes. */
    plt_lead_disposition d = {.size = sizeof(d),
                              .contact_id = cb,
                              .campaign = "c1",
                              .code = "CALLBACK",
                              .agent = "bob",
                              .callback_at = now + 10 * MINUTE,
                              .callback_agent = "bob",
                              .new_status = PLT_LEAD_CALLBACK};
    res r = {0};
    assert_int_equal(f->vt->disposition(f->impl, &d, on_done, &r), 0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, 0);
    d.contact_id = cb_any;
    d.callback_agent = NULL;
    r = (res){0};
    assert_int_equal(f->vt->disposition(f->impl, &d, on_done, &r), 0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, 0);

    /* Time zones: only Paris is open. */
    const char *zones[] = {"Europe/Paris"};
    plt_lead_filter flt = {.size = sizeof(flt),
                           .campaign = "c1",
                           .now = now,
                           .time_zones = zones,
                           .ntime_zones = 1};
    got *g = reserve_f(f, &flt, "d1", 10);
    assert_int_equal(g->n, 1);
    assert_int_equal(g->ids[0], paris);
    free(g);
    /* Retry in an hour: not before. */
    assert_int_equal(attempt(f, paris, "d1", "c1", "+33611000001",
                             PLT_LEAD_AVAILABLE, now + 60 * MINUTE),
                     0);
    flt.time_zones = NULL;
    flt.ntime_zones = 0;
    g = reserve_f(f, &flt, "d1", 10);
    assert_int_equal(g->n, 1);
    assert_int_equal(g->ids[0], ny);
    free(g);
    assert_int_equal(attempt(f, ny, "d1", "c1", "+12127365000",
                             PLT_LEAD_AVAILABLE, now + 60 * MINUTE),
                     0);
    g = reserve_f(f, &flt, "d1", 10);
    assert_int_equal(g->n, 0); /* callbacks not due, and no agent */
    free(g);

    /* Twenty minutes later: callbacks are due. Alice gets only the one
     * for anyone; bob's stays for bob. */
    plt_fake_host_run_for(f->fh, 20 * MINUTE);
    now = plt_fake_host_now(f->fh);
    flt.now = now;
    flt.agent = "alice";
    g = reserve_f(f, &flt, "d1", 1);
    assert_int_equal(g->n, 1);
    assert_int_equal(g->ids[0], cb_any);
    free(g);
    flt.agent = "bob";
    g = reserve_f(f, &flt, "d2", 1);
    assert_int_equal(g->n, 1);
    assert_int_equal(g->ids[0], cb); /* callbacks come first */
    free(g);

    /* An hour later paris and ny are due again, unless max_attempts. */
    plt_fake_host_run_for(f->fh, 60 * MINUTE);
    flt.now = plt_fake_host_now(f->fh);
    flt.agent = NULL;
    flt.max_attempts = 1;
    g = reserve_f(f, &flt, "d1", 10);
    assert_int_equal(g->n, 0);
    free(g);
    flt.max_attempts = 2;
    g = reserve_f(f, &flt, "d1", 10);
    assert_int_equal(g->n, 2);
    free(g);
    /* Released contacts come back. */
    r = (res){0};
    assert_int_equal(f->vt->release(f->impl, "d1", 0, on_done, &r), 0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, 0);
    g = reserve_f(f, &flt, "d3", 10);
    assert_int_equal(g->n, 2);
    free(g);
}

static void
attempt_done_checks_the_owner(void **state)
{
    fixture *f = *state;
    open_leads(f);
    int64_t list = list_create(f, "o", NULL);
    attach(f, "c1", list, 1);
    newc s;
    plt_lead_new c = mk(&s, 1, "x", "0622000001", NULL);
    free(add(f, list, &c, 1, NULL));
    got *g = reserve(f, "c1", "d1", 5);
    assert_int_equal(g->n, 1);
    int64_t id = g->ids[0];
    free(g);
    assert_int_equal(attempt(f, id, "d2", "c1", "+33622000001",
                             PLT_LEAD_DONE, 0),
                     PLT_ECONFLICT);
    assert_int_equal(attempt(f, id, "d1", "c1", "+33622000001",
                             PLT_LEAD_DONE, 0),
                     0);
    /* Not reserved any more: a second report is a conflict. */
    assert_int_equal(attempt(f, id, "d1", "c1", "+33622000001",
                             PLT_LEAD_DONE, 0),
                     PLT_ECONFLICT);
    plt_list_stats st = stats(f, list);
    assert_int_equal(st.by_status[PLT_LEAD_DONE], 1);
    /* release of a contact not reserved by that owner */
    res r = {0};
    assert_int_equal(f->vt->release(f->impl, "d1", id, on_done, &r), 0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, PLT_ECONFLICT);
}

/* release_until (1.1): a contact the dialer could not call now goes back
 * without an attempt, and is not handed out again before the time given. */
typedef struct lead_state {
    bool done;
    int status;
    int32_t lead_status, attempts;
    int64_t next_attempt_at;
} lead_state;

static void
on_lead_state(void *arg, int status, const plt_lead *l)
{
    lead_state *o = arg;
    o->done = true;
    o->status = status;
    if (status == 0) {
        o->lead_status = l->status;
        o->attempts = l->attempts;
        o->next_attempt_at = l->next_attempt_at;
    }
}

static void
release_until_is_not_an_attempt(void **state)
{
    fixture *f = *state;
    open_leads(f);
    assert_true(PLT_VT_HAS(f->vt, release_until));
    int64_t list = list_create(f, "u", NULL);
    attach(f, "c1", list, 1);
    newc s;
    plt_lead_new c = mk(&s, 1, "x", "0622000009", NULL);
    free(add(f, list, &c, 1, NULL));
    got *g = reserve(f, "c1", "d1", 5);
    assert_int_equal(g->n, 1);
    int64_t id = g->ids[0];
    free(g);
    int64_t until = plt_fake_host_now(f->fh) + 60 * MINUTE;
    /* Only its owner may give it back. */
    res r = {0};
    assert_int_equal(f->vt->release_until(f->impl, "d2", id, until, on_done,
                                          &r),
                     0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, PLT_ECONFLICT);
    assert_int_equal(f->vt->release_until(f->impl, "d1", id, 0, on_done, &r),
                     PLT_EINVAL);
    r = (res){0};
    assert_int_equal(f->vt->release_until(f->impl, "d1", id, until, on_done,
                                          &r),
                     0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, 0);
    lead_state ls = {0};
    assert_int_equal(f->vt->get(f->impl, id, on_lead_state, &ls), 0);
    wait_flag(f, &ls.done);
    assert_int_equal(ls.status, 0);
    assert_int_equal(ls.lead_status, PLT_LEAD_AVAILABLE);
    assert_int_equal(ls.attempts, 0);
    assert_int_equal(ls.next_attempt_at, until);
    /* Not before the time given, then again. */
    plt_fake_host_run_for(f->fh, 59 * MINUTE);
    g = reserve(f, "c1", "d1", 5);
    assert_int_equal(g->n, 0);
    free(g);
    plt_fake_host_run_for(f->fh, 2 * MINUTE);
    g = reserve(f, "c1", "d1", 5);
    assert_int_equal(g->n, 1);
    free(g);
}

/* ---- search, history, attempts, progress ---- */

typedef struct found {
    bool done;
    int status;
    size_t n;
    int64_t ids[64];
    char first_field[64][64];
} found;

static int
on_found(void *arg, const plt_lead *l)
{
    found *x = arg;
    if (x->n < 64) {
        snprintf(x->first_field[x->n], 64, "%s",
                 l->nfields ? l->fields[0].name : "");
        x->ids[x->n++] = l->id;
    }
    return 0;
}

static void
on_found_done(void *arg, int status, const char *msg)
{
    found *x = arg;
    (void)msg;
    x->done = true;
    x->status = status;
}

static found
search(fixture *f, const plt_lead_query *q)
{
    found x = {0};
    assert_int_equal(
        f->vt->search(f->impl, q, 0, 50, on_found, on_found_done, &x), 0);
    wait_flag(f, &x.done);
    assert_int_equal(x.status, 0);
    return x;
}

static void
search_by_phone_text_and_field(void **state)
{
    fixture *f = *state;
    open_leads(f);
    int64_t list = list_create(f, "s", NULL);
    newc s[3];
    plt_lead_new c[3] = {mk(&s[0], 1, "Martin Dupont", "06 33 00 00 01", NULL),
                         mk(&s[1], 2, "Julie Martin", "06 33 00 00 02", NULL),
                         mk(&s[2], 3, "Paul 100%", "06 33 00 00 03", NULL)};
    added *a = add(f, list, c, 3, NULL);
    int64_t id0 = a->r[0].contact_id, id1 = a->r[1].contact_id,
            id2 = a->r[2].contact_id;
    free(a);
    const char *forms[] = {"0633000001", "+33 6 33 00 00 01",
                           "0033633000001", "633000001"};
    for (size_t i = 0; i < 3; i++) {
        plt_lead_query q = {.size = sizeof(q), .phone = forms[i]};
        found x = search(f, &q);
        assert_int_equal(x.n, 1);
        assert_int_equal(x.ids[0], id0);
    }
    plt_lead_query q = {.size = sizeof(q), .text = "MARTIN"};
    found x = search(f, &q);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.ids[0], id0);
    assert_int_equal(x.ids[1], id1);
    q = (plt_lead_query){.size = sizeof(q), .text = "0%"};
    x = search(f, &q);
    assert_int_equal(x.n, 1); /* % is a character, not a wildcard */
    assert_int_equal(x.ids[0], id2);
    q = (plt_lead_query){.size = sizeof(q),
                         .field_name = "name",
                         .field_value = "Julie Martin"};
    x = search(f, &q);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.ids[0], id1);
    q = (plt_lead_query){.size = sizeof(q), .list_id = list + 100};
    x = search(f, &q);
    assert_int_equal(x.n, 0);
    /* Everything, paged. */
    found y = {0};
    q = (plt_lead_query){.size = sizeof(q), .list_id = list};
    assert_int_equal(
        f->vt->search(f->impl, &q, 1, 1, on_found, on_found_done, &y), 0);
    wait_flag(f, &y.done);
    assert_int_equal(y.n, 1);
    assert_int_equal(y.ids[0], id1);
}

static int64_t sql_count(fixture *f, const char *text);

typedef struct hist {
    bool done;
    int status;
    size_t n;
    char kinds[16][16];
    char notes[16][32];
    int64_t at[16];
} hist;

static int
on_event(void *arg, const plt_lead_event *ev)
{
    hist *h = arg;
    if (h->n < 16) {
        snprintf(h->notes[h->n], 32, "%s", ev->note ? ev->note : "");
        h->at[h->n] = ev->at;
        snprintf(h->kinds[h->n++], 16, "%s", ev->kind);
    }
    return 0;
}

static void
on_hist_done(void *arg, int status, const char *msg)
{
    hist *h = arg;
    (void)msg;
    h->done = true;
    h->status = status;
}

/* The history of @p id, read whole. */
static hist
history_of(fixture *f, int64_t id)
{
    hist h = {0};
    assert_int_equal(
        f->vt->history(f->impl, id, on_event, on_hist_done, &h), 0);
    wait_flag(f, &h.done);
    assert_int_equal(h.status, 0);
    return h;
}

static void
history_newest_first_and_attempts_across_campaigns(void **state)
{
    fixture *f = *state;
    open_leads(f);
    int64_t l1 = list_create(f, "h1", NULL);
    int64_t l2 = list_create(f, "h2", NULL);
    attach(f, "c1", l1, 1);
    attach(f, "c2", l2, 1);
    newc s;
    plt_lead_new c = mk(&s, 1, "x", "0644000001", NULL);
    free(add(f, l1, &c, 1, NULL));
    free(add(f, l2, &c, 1, NULL));
    int64_t t0 = plt_fake_host_now(f->fh);
    plt_fake_host_run_for(f->fh, MINUTE);
    got *g = reserve(f, "c1", "d1", 1);
    int64_t id = g->ids[0];
    free(g);
    assert_int_equal(attempt(f, id, "d1", "c1", "+33644000001",
                             PLT_LEAD_AVAILABLE, 0),
                     0);
    plt_fake_host_run_for(f->fh, MINUTE);
    plt_lead_disposition d = {.size = sizeof(d),
                              .contact_id = id,
                              .campaign = "c1",
                              .code = "NOT_INTERESTED",
                              .agent = "alice",
                              .new_status = PLT_LEAD_DONE};
    res r = {0};
    assert_int_equal(f->vt->disposition(f->impl, &d, on_done, &r), 0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, 0);
    hist h = history_of(f, id);
    assert_int_equal(h.n, 3);
    assert_string_equal(h.kinds[0], "disposition");
    assert_string_equal(h.kinds[1], "attempt");
    assert_string_equal(h.kinds[2], "imported");
    assert_string_equal(h.notes[2], "add"); /* no source given */
    assert_true(h.at[2] <= t0);
    /* The imported entry is the contact's row, not a contact_event row. */
    assert_int_equal(sql_count(f, "SELECT count(*) FROM contact_event"
                                  " WHERE kind = 'imported'"),
                     0);

    /* The same number in campaign c2, through the other list. */
    g = reserve(f, "c2", "d2", 1);
    assert_int_equal(g->n, 1);
    assert_int_equal(attempt(f, g->ids[0], "d2", "c2", "+33644000001",
                             PLT_LEAD_AVAILABLE, 0),
                     0);
    free(g);
    res cnt = {0};
    assert_int_equal(f->vt->attempts_since(f->impl, "+33644000001", t0,
                                           on_id, &cnt),
                     0);
    wait_flag(f, &cnt.done);
    assert_int_equal(cnt.status, 0);
    assert_int_equal(cnt.id, 2);
    cnt = (res){0};
    assert_int_equal(f->vt->attempts_since(f->impl, "+33644000001",
                                           plt_fake_host_now(f->fh) + 1,
                                           on_id, &cnt),
                     0);
    wait_flag(f, &cnt.done);
    assert_int_equal(cnt.id, 0);
}

static void
progress_is_stored_with_the_batch(void **state)
{
    fixture *f = *state;
    open_leads(f);
    int64_t list = list_create(f, "p", NULL);
    res r = {0};
    assert_int_equal(f->vt->progress_get(f->impl, "import:7", on_id, &r), 0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, PLT_ENOENT);
    newc s[2];
    plt_lead_new c[2] = {mk(&s[0], 1, "a", "0655000001", NULL),
                         mk(&s[1], 2, "b", "0655000002", NULL)};
    plt_lead_add_opts o = {.size = sizeof(o),
                           .dedup_scope = PLT_DEDUP_LIST,
                           .progress_key = "import:7",
                           .progress_value = 12345};
    free(add(f, list, c, 2, &o));
    r = (res){0};
    assert_int_equal(f->vt->progress_get(f->impl, "import:7", on_id, &r), 0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.id, 12345);
    o.progress_value = 20000;
    free(add(f, list, c, 2, &o));
    r = (res){0};
    assert_int_equal(f->vt->progress_get(f->impl, "import:7", on_id, &r), 0);
    wait_flag(f, &r.done);
    assert_int_equal(r.id, 20000);
}

/* ---- throughput ---- */

static void
on_sql_done(void *arg, int status, const plt_storage_result *res_)
{
    res *r = arg;
    r->done = true;
    r->status = status;
    if (status && res_ && res_->error)
        snprintf(r->msg, sizeof(r->msg), "%s", res_->error);
}

static void
on_begin(void *arg, int status, plt_storage_txn *txn)
{
    plt_storage_txn **t = arg;
    (void)status;
    *t = txn;
}

static double
mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
add_batch_throughput(void **state)
{
    fixture *f = *state;
    open_leads(f);
    const char *env = getenv("LEADS_BENCH_ROWS");
    size_t rows = env ? (size_t)strtoull(env, NULL, 10) : 20000;
    enum { B = 5000 };
    int64_t list = list_create(f, "bench", NULL);
    static newc s[B];
    static plt_lead_new c[B];
    static char phones[B][16], names[B][24];

    double t0 = mono_s();
    for (size_t done = 0; done < rows; done += B) {
        size_t n = rows - done < B ? rows - done : B;
        for (size_t i = 0; i < n; i++) {
            snprintf(phones[i], 16, "06%08zu", done + i);
            snprintf(names[i], 24, "Contact %zu", done + i);
            c[i] = mk(&s[i], (int64_t)(done + i), names[i], phones[i], NULL);
        }
        plt_lead_add_opts o = {.size = sizeof(o),
                               .dedup_scope = PLT_DEDUP_LIST,
                               .source = "bench",
                               .progress_key = "bench",
                               .progress_value = (int64_t)(done + n)};
        added *a = add(f, list, c, n, &o);
        assert_int_equal(a->r[0].result, PLT_LEAD_ADDED);
        free(a);
    }
    double t_leads = mono_s() - t0;

    /* Baseline: the engine's raw bulk path, the same rows as one table of
     * four text columns, multi-row INSERTs of 500 rows, one transaction
     * per 5,000 rows. */
    res r = {0};
    assert_int_equal(plt_storage_exec(&f->st,
                                      "CREATE TABLE bench_raw (name TEXT,"
                                      " city TEXT, phone TEXT, original TEXT)",
                                      NULL, 0, PLT_STORAGE_WRITE, NULL,
                                      on_sql_done, &r),
                     0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, 0);
    char *sql = malloc(500 * 40 + 128);
    plt_value *args = malloc(500 * 4 * sizeof(*args));
    t0 = mono_s();
    for (size_t done = 0; done < rows; done += B) {
        plt_storage_txn *txn = NULL;
        assert_int_equal(f->st.vt->begin(f->st.impl, 0, on_begin, &txn), 0);
        while (!txn) {
            plt_fake_host_run_until_idle(f->fh);
            if (!txn) {
                uv_timer_start(&f->guard, guard_tick, 1, 0);
                uv_run(plt_fake_host_loop(f->fh), UV_RUN_ONCE);
            }
        }
        size_t n = rows - done < B ? rows - done : B;
        for (size_t k = 0; k < n; k += 500) {
            size_t m = n - k < 500 ? n - k : 500;
            size_t l = (size_t)sprintf(sql, "INSERT INTO bench_raw VALUES ");
            for (size_t i = 0; i < m; i++) {
                snprintf(phones[i], 16, "+33600%06zu", done + k + i);
                snprintf(names[i], 24, "Contact %zu", done + k + i);
                l += (size_t)sprintf(sql + l, "%s($%zu, $%zu, $%zu, $%zu)",
                                     i ? ", " : "", 4 * i + 1, 4 * i + 2,
                                     4 * i + 3, 4 * i + 4);
                args[4 * i] = PLT_V_STR(names[i]);
                args[4 * i + 1] = PLT_V_STR("Lyon");
                args[4 * i + 2] = PLT_V_STR(phones[i]);
                args[4 * i + 3] = PLT_V_STR(phones[i]);
            }
            r = (res){0};
            assert_int_equal(f->st.vt->query(f->st.impl, txn, sql, args,
                                             4 * m, PLT_STORAGE_WRITE, NULL,
                                             on_sql_done, &r),
                             0);
            wait_flag(f, &r.done);
            assert_int_equal(r.status, 0);
        }
        r = (res){0};
        assert_int_equal(f->st.vt->commit(f->st.impl, txn, on_sql_done, &r),
                         0);
        wait_flag(f, &r.done);
        assert_int_equal(r.status, 0);
    }
    double t_raw = mono_s() - t0;
    free(sql);
    free(args);
    printf("# add_batch (%s): %zu contacts in %.2f s = %.0f rows/s; raw "
           "multi-row INSERT of the same rows: %.2f s = %.0f rows/s; "
           "ratio %.2fx\n",
           g_pg ? "postgresql" : "sqlite", rows, t_leads,
           (double)rows / t_leads, t_raw, (double)rows / t_raw,
           t_leads / t_raw);
    assert_int_equal(stats(f, list).total, (int64_t)rows);
}

/* Batches handed over back to back run one after the other in call
 * order: the second sees the first's contacts (also on PostgreSQL, where
 * open transactions would not), and a failed batch makes the batches that
 * wait with the same progress key fail rather than skip its rows. */
static void
batches_run_in_call_order(void **state)
{
    fixture *f = *state;
    open_leads(f);
    int64_t list = list_create(f, "order", NULL);
    newc s[3];
    plt_lead_new c1 = mk(&s[0], 1, "Anne", "06 44 00 00 01", NULL);
    plt_lead_new c2 = mk(&s[1], 2, "Anne again", "+33 6 44 00 00 01", NULL);
    added *a1 = calloc(1, sizeof(*a1)), *a2 = calloc(1, sizeof(*a2));
    assert_non_null(a1);
    assert_non_null(a2);
    plt_lead_add_opts o1 = {.size = sizeof(o1),
                            .dedup_scope = PLT_DEDUP_LIST,
                            .progress_key = "k",
                            .progress_value = 1};
    plt_lead_add_opts o2 = o1;
    o2.progress_value = 2;
    assert_int_equal(f->vt->add_batch(f->impl, list, &c1, 1, &o1, on_added,
                                      a1),
                     0);
    assert_int_equal(f->vt->add_batch(f->impl, list, &c2, 1, &o2, on_added,
                                      a2),
                     0);
    wait_flag(f, &a2->done);
    assert_true(a1->done);
    assert_int_equal(a1->status, 0);
    assert_int_equal(a2->status, 0);
    assert_int_equal(a1->r[0].result, PLT_LEAD_ADDED);
    assert_int_equal(a2->r[0].result, PLT_LEAD_DUPLICATE);
    assert_int_equal(a2->r[0].contact_id, a1->r[0].contact_id);

    /* The first of three fails (no such list): the second, same key,
     * fails too; the third, another key, is added. */
    added *b[3];
    plt_lead_add_opts ob[3] = {o1, o1, o1};
    ob[0].progress_key = ob[1].progress_key = "broken";
    ob[2].progress_key = "other";
    plt_lead_new c3 = mk(&s[2], 3, "Bea", "06 44 00 00 03", NULL);
    for (int i = 0; i < 3; i++) {
        b[i] = calloc(1, sizeof(*b[i]));
        assert_non_null(b[i]);
        assert_int_equal(f->vt->add_batch(f->impl, i == 0 ? list + 100 : list,
                                          &c3, 1, &ob[i], on_added, b[i]),
                         0);
    }
    wait_flag(f, &b[2]->done);
    assert_true(b[0]->done && b[1]->done);
    assert_int_equal(b[0]->status, PLT_ENOENT);
    assert_int_equal(b[1]->status, PLT_ECANCELED);
    assert_int_equal(b[2]->status, 0);
    assert_int_equal(b[2]->r[0].result, PLT_LEAD_ADDED);
    res p = {0};
    assert_int_equal(f->vt->progress_get(f->impl, "broken", on_id, &p), 0);
    wait_flag(f, &p.done);
    assert_int_equal(p.status, PLT_ENOENT);
    free(a1);
    free(a2);
    for (int i = 0; i < 3; i++)
        free(b[i]);
}

/* ------------------------------------------------------------------ */
/* Upgrade: a database left by leads 1.0 (schema version 18, custom fields
 * as contact_field rows) is migrated to the JSON documents. */

/* The migrations of leads 1.0, as shipped (never edited since). */
static const plt_storage_migration leads_v18[] = {
    {.version = 1,
     .name = "create lead_list",
     .sql = "CREATE TABLE lead_list ("
            " id PLT_ID,"
            " name TEXT NOT NULL UNIQUE,"
            " country TEXT NOT NULL,"
            " prefix TEXT,"
            " restore_lost_zero BIGINT NOT NULL DEFAULT 0,"
            " created_at BIGINT NOT NULL)"},
    {.version = 2,
     .name = "create lead_list_field",
     .sql = "CREATE TABLE lead_list_field ("
            " list_id BIGINT NOT NULL REFERENCES lead_list (id),"
            " position BIGINT NOT NULL,"
            " name TEXT NOT NULL,"
            " PRIMARY KEY (list_id, position))"},
    {.version = 3,
     .name = "create campaign_list",
     .sql = "CREATE TABLE campaign_list ("
            " campaign TEXT NOT NULL,"
            " list_id BIGINT NOT NULL REFERENCES lead_list (id),"
            " weight BIGINT NOT NULL DEFAULT 1,"
            " PRIMARY KEY (campaign, list_id))"},
    {.version = 4,
     .name = "create contact",
     .sql = "CREATE TABLE contact ("
            " id PLT_ID,"
            " list_id BIGINT NOT NULL REFERENCES lead_list (id),"
            " status BIGINT NOT NULL,"
            " time_zone TEXT,"
            " priority BIGINT NOT NULL DEFAULT 0,"
            " attempts BIGINT NOT NULL DEFAULT 0,"
            " last_attempt_at BIGINT NOT NULL DEFAULT 0,"
            " next_attempt_at BIGINT NOT NULL DEFAULT 0,"
            " callback_at BIGINT NOT NULL DEFAULT 0,"
            " callback_agent TEXT,"
            " last_outcome TEXT,"
            " last_disposition TEXT,"
            " reserved_by TEXT,"
            " reserved_at BIGINT NOT NULL DEFAULT 0,"
            " dedup_key TEXT,"
            " created_at BIGINT NOT NULL,"
            " updated_at BIGINT NOT NULL)"},
    {.version = 5,
     .name = "index contact_due",
     .sql = "CREATE INDEX contact_due ON contact"
            " (list_id, status, priority DESC, next_attempt_at, id)"},
    {.version = 6,
     .name = "index contact_callback",
     .sql = "CREATE INDEX contact_callback ON contact"
            " (list_id, status, callback_at)"},
    {.version = 7,
     .name = "index contact_reserved",
     .sql = "CREATE INDEX contact_reserved ON contact (reserved_by)"
            " WHERE reserved_by IS NOT NULL"},
    {.version = 8,
     .name = "index contact_dedup",
     .sql = "CREATE INDEX contact_dedup ON contact (dedup_key)"},
    {.version = 9,
     .name = "create contact_field",
     .sql = "CREATE TABLE contact_field ("
            " contact_id BIGINT NOT NULL,"
            " name TEXT NOT NULL,"
            " value TEXT,"
            " PRIMARY KEY (contact_id, name))"},
    {.version = 10,
     .name = "index contact_field_value",
     .sql = "CREATE INDEX contact_field_value ON contact_field (name, value)"},
    {.version = 11,
     .name = "create contact_phone",
     .sql = "CREATE TABLE contact_phone ("
            " contact_id BIGINT NOT NULL,"
            " position BIGINT NOT NULL,"
            " e164 TEXT NOT NULL,"
            " original TEXT,"
            " type BIGINT NOT NULL DEFAULT 0,"
            " time_zone TEXT,"
            " PRIMARY KEY (contact_id, position))"},
    {.version = 12,
     .name = "index contact_phone_e164",
     .sql = "CREATE INDEX contact_phone_e164 ON contact_phone (e164)"},
    {.version = 13,
     .name = "create contact_event",
     .sql = "CREATE TABLE contact_event ("
            " id PLT_ID,"
            " contact_id BIGINT NOT NULL,"
            " at BIGINT NOT NULL,"
            " kind TEXT NOT NULL,"
            " campaign TEXT,"
            " phone TEXT,"
            " outcome TEXT,"
            " disposition TEXT,"
            " agent TEXT,"
            " note TEXT,"
            " attempt_ref TEXT)"},
    {.version = 14,
     .name = "index contact_event_contact",
     .sql = "CREATE INDEX contact_event_contact ON contact_event"
            " (contact_id, at)"},
    {.version = 15,
     .name = "index contact_event_attempt",
     .sql = "CREATE INDEX contact_event_attempt ON contact_event (phone, at)"
            " WHERE kind = 'attempt'"},
    {.version = 16,
     .name = "create dnc",
     .sql = "CREATE TABLE dnc ("
            " scope TEXT NOT NULL,"
            " e164 TEXT NOT NULL,"
            " added_at BIGINT NOT NULL,"
            " source TEXT,"
            " PRIMARY KEY (scope, e164))"},
    {.version = 17,
     .name = "create lead_progress",
     .sql = "CREATE TABLE lead_progress ("
            " key TEXT PRIMARY KEY,"
            " value BIGINT NOT NULL,"
            " updated_at BIGINT NOT NULL)"},
    {.version = 18,
     .name = "index contact_created",
     .sql = "CREATE INDEX contact_created ON contact (created_at)"},
};

static void
sql_ok(fixture *f, const char *text)
{
    res r = {0};
    assert_int_equal(plt_storage_exec(&f->st, text, NULL, 0, PLT_STORAGE_WRITE,
                                      NULL, on_sql_done, &r),
                     0);
    wait_flag(f, &r.done);
    if (r.status != 0)
        print_error("%s: %s\n", text, r.msg);
    assert_int_equal(r.status, 0);
}

/* Replace the case's fake host by a new one on @p dir (kept across). */
static void
new_host(fixture *f, const char *dir)
{
    uv_close((uv_handle_t *)&f->guard, NULL);
    uv_run(plt_fake_host_loop(f->fh), UV_RUN_NOWAIT);
    assert_int_equal(plt_fake_host_free(f->fh), 0);
    plt_fake_options opt = {.data_dir = dir};
    assert_int_equal(plt_fake_host_new(&f->fh, &opt), 0);
    uv_timer_init(plt_fake_host_loop(f->fh), &f->guard);
}

typedef struct one {
    bool done;
    int status;
    size_t n;
    char names[4][16], values[4][32];
    bool null_value[4];
} one;

static void
on_one(void *arg, int status, const plt_lead *l)
{
    one *o = arg;
    o->done = true;
    o->status = status;
    for (size_t i = 0; l && i < l->nfields && i < 4; i++) {
        snprintf(o->names[i], sizeof(o->names[i]), "%s", l->fields[i].name);
        snprintf(o->values[i], sizeof(o->values[i]), "%s",
                 l->fields[i].value ? l->fields[i].value : "");
        o->null_value[i] = !l->fields[i].value;
    }
    o->n = l ? l->nfields : 0;
}

typedef struct count_res {
    res r; /* first: on_sql_done() receives it */
    int64_t n;
} count_res;

static int
on_count_row(void *arg, const plt_storage_row *row)
{
    count_res *c = arg;
    c->n = row->ncols ? (row->vals[0].type == PLT_T_I64 ? row->vals[0].v.i
                                                        : -1)
                      : -1;
    return 0;
}

/* The single integer a query returns. */
static int64_t
sql_count(fixture *f, const char *text)
{
    count_res c = {.n = -1};
    assert_int_equal(plt_storage_exec(&f->st, text, NULL, 0, 0, on_count_row,
                                      on_sql_done, &c),
                     0);
    wait_flag(f, &c.r.done);
    assert_int_equal(c.r.status, 0);
    return c.n;
}

static found
search_field(fixture *f, const char *name, const char *value)
{
    plt_lead_query q = {.size = sizeof(q),
                        .field_name = name,
                        .field_value = value};
    return search(f, &q);
}

/* De-duplication on a custom field folds like searches: "Élodie" and
 * "ELODIE" are one person, in a batch and against stored contacts; a
 * contact stored before keys were folded (its key only ASCII-lowercased)
 * is still found. */
static void
dedup_on_a_field_folds_accents(void **state)
{
    fixture *f = *state;
    open_leads(f);
    int64_t list = list_create(f, "accents", NULL);
    plt_lead_add_opts o = {.size = sizeof(o), .dedup_scope = PLT_DEDUP_LIST,
                           .dedup_field = "name"};
    newc s[4];
    plt_lead_new c[4] = {mk(&s[0], 2, "Élodie Dûpont", "07 00 00 01 01", NULL),
                         mk(&s[1], 3, "ELODIE DUPONT", "07 00 00 01 02", NULL),
                         mk(&s[2], 4, "Noël Lefèvre", "07 00 00 01 03", NULL),
                         mk(&s[3], 5, "Gaëlle", "07 00 00 01 04", NULL)};
    added *a = add(f, list, c, 4, &o);
    assert_int_equal(a->r[0].result, PLT_LEAD_ADDED);
    assert_int_equal(a->r[1].result, PLT_LEAD_DUPLICATE);
    assert_non_null(strstr(a->reason[1], "same name 'elodie dupont'"));
    assert_int_equal(a->r[2].result, PLT_LEAD_ADDED);
    assert_int_equal(a->r[3].result, PLT_LEAD_ADDED);
    int64_t noel = a->r[2].contact_id;
    free(a);
    /* Stored: a later file spelling it without accents is a duplicate. */
    newc t[1];
    plt_lead_new d[1] = {mk(&t[0], 2, "noel lefevre", "07 00 00 01 05", NULL)};
    a = add(f, list, d, 1, &o);
    assert_int_equal(a->r[0].result, PLT_LEAD_DUPLICATE);
    assert_int_equal(a->r[0].contact_id, noel);
    free(a);
    /* Gaëlle's key as it was stored before folding. */
    sql_ok(f, "UPDATE contact SET dedup_key = 'f:name=gaëlle'"
              " WHERE dedup_key = 'f:name=gaelle'");
    assert_int_equal(sql_count(f, "SELECT count(*) FROM contact WHERE"
                                  " dedup_key = 'f:name=gaëlle'"),
                     1);
    plt_lead_new e[1] = {mk(&t[0], 2, "Gaëlle", "07 00 00 01 06", NULL)};
    a = add(f, list, e, 1, &o);
    assert_int_equal(a->r[0].result, PLT_LEAD_DUPLICATE);
    free(a);
    assert_int_equal(stats(f, list).total, 3);
}

static void
fields_move_into_documents_on_upgrade(void **state)
{
    fixture *f = *state;
    snprintf(f->own_dir, sizeof(f->own_dir), "%s", "/tmp/plt-leads-up-XXXXXX");
    assert_non_null(mkdtemp(f->own_dir));
    new_host(f, f->own_dir);

    /* 1. The database as leads 1.0 left it. */
    const char *dir = getenv("PLATEAU_PLUGIN_DIR");
    char so[PATH_MAX], cfg[2048];
    snprintf(so, sizeof(so), "%s/storage_%s.so", dir ? dir : ".",
             g_pg ? "pg" : "sqlite");
    engine_config(f, cfg, sizeof(cfg));
    assert_int_equal(plt_fake_host_add_so(f->fh, so, cfg, NULL), 0);
    assert_int_equal(plt_fake_host_init(f->fh), 0);
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_STORAGE_NAME,
                                           PLT_STORAGE_MAJOR, 0, &ref),
                     0);
    f->st.vt = ref.vtable;
    f->st.impl = ref.impl;
    assert_int_equal(f->st.vt->migrations(f->st.impl, "leads", leads_v18,
                                          sizeof(leads_v18) /
                                              sizeof(leads_v18[0])),
                     0);
    assert_int_equal(plt_fake_host_start(f->fh), 0);
    plt_fake_host_run_until_idle(f->fh);
    sql_ok(f, "INSERT INTO lead_list (name, country, created_at)"
              " VALUES ('old', 'FR', 0)");
    sql_ok(f, "INSERT INTO contact (list_id, status, dedup_key, created_at,"
              " updated_at) VALUES (1, 1, '+33633000001', 0, 0),"
              " (1, 1, 'f:name=bob', 0, 0), (1, 1, '+33633000003', 0, 0)");
    sql_ok(f, "INSERT INTO contact_phone (contact_id, position, e164, type)"
              " VALUES (1, 1, '+33633000001', 1), (2, 1, '+33633000002', 1),"
              " (3, 1, '+33633000003', 1)");
    sql_ok(f, "INSERT INTO contact_field (contact_id, name, value) VALUES"
              " (1, 'name', 'Anne \"A\" L\u00e9vy'), (1, 'city', 'Lyon'),"
              " (1, 'note', NULL), (2, 'name', 'Bob'), (2, 'city', 'Paris')");
    sql_ok(f, "INSERT INTO contact_event (contact_id, at, kind, note) VALUES"
              " (1, 5, 'imported', 'import:7'), (2, 5, 'imported', 'add'),"
              " (3, 5, 'imported', 'add'), (1, 9, 'attempt', NULL)");

    /* 2. The same database under this leads. */
    new_host(f, f->own_dir);
    open_leads(f);
    plt_fake_host_run_until_idle(f->fh);
    found x = {0};
    /* Fields come back whole, in name order; a contact without any has
     * none. */
    one o1 = {0};
    assert_int_equal(f->vt->get(f->impl, 1, on_one, &o1), 0);
    wait_flag(f, &o1.done);
    assert_int_equal(o1.status, 0);
    assert_int_equal(o1.n, 3);
    assert_string_equal(o1.names[0], "city");
    assert_string_equal(o1.values[0], "Lyon");
    assert_string_equal(o1.names[1], "name");
    assert_string_equal(o1.values[1], "Anne \"A\" L\u00e9vy");
    assert_string_equal(o1.names[2], "note");
    assert_true(o1.null_value[2]);
    one o3 = {0};
    assert_int_equal(f->vt->get(f->impl, 3, on_one, &o3), 0);
    wait_flag(f, &o3.done);
    assert_int_equal(o3.status, 0);
    assert_int_equal(o3.n, 0);

    /* Searches: an indexed field (name), a field that is not (city),
     * text inside a value (case folded), and nothing on a field name. */
    x = search_field(f, "name", "Anne \"A\" L\u00e9vy");
    assert_int_equal(x.n, 1);
    assert_int_equal(x.ids[0], 1);
    x = search_field(f, "name", "anne \"a\" levy");
    assert_int_equal(x.n, 1); /* case and accents folded */
    assert_int_equal(x.ids[0], 1);
    x = search_field(f, "name", "anne \"a\" lev");
    assert_int_equal(x.n, 0); /* the whole value */
    /* The keys stored before the folded column were folded after start. */
    assert_int_equal(sql_count(f, "SELECT count(*) FROM contact_search"
                                  " WHERE folded IS NULL"),
                     0);
    assert_int_equal(sql_count(f, "SELECT count(*) FROM contact_search"
                                  " WHERE name = 'name' AND"
                                  " folded = 'anne \"a\" levy'"),
                     1);
    x = search_field(f, "city", "Paris");
    assert_int_equal(x.n, 1);
    assert_int_equal(x.ids[0], 2);
    x = search_field(f, "name", "Paris");
    assert_int_equal(x.n, 0);
    plt_lead_query q = {.size = sizeof(q), .text = "\"a\" l"};
    x = search(f, &q);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.ids[0], 1);
    q = (plt_lead_query){.size = sizeof(q), .text = "city"};
    x = search(f, &q);
    assert_int_equal(x.n, 0);

    /* Phone de-duplication still finds the old contacts; a field key
     * still counts. */
    newc s[2];
    plt_lead_new c[2] = {mk(&s[0], 1, "Anne", "06 33 00 00 01", NULL),
                         mk(&s[1], 2, "Zoe", "06 33 00 00 09", NULL)};
    added *a = add(f, 1, c, 2, NULL);
    assert_int_equal(a->r[0].result, PLT_LEAD_DUPLICATE);
    assert_int_equal(a->r[0].contact_id, 1);
    assert_int_equal(a->r[1].result, PLT_LEAD_ADDED);
    int64_t zoe = a->r[1].contact_id;
    free(a);
    /* History: a contact of the old schema keeps its own "imported" row,
     * once; one added now has its entry from its row. */
    hist h1 = history_of(f, 1), hz = history_of(f, zoe);
    assert_int_equal(h1.n, 2);
    assert_string_equal(h1.kinds[0], "attempt");
    assert_string_equal(h1.kinds[1], "imported");
    assert_string_equal(h1.notes[1], "import:7");
    assert_int_equal(h1.at[1], 5);
    assert_int_equal(hz.n, 1);
    assert_string_equal(hz.kinds[0], "imported");
    assert_string_equal(hz.notes[0], "add");
    plt_lead_add_opts opts = {.size = sizeof(opts),
                              .dedup_scope = PLT_DEDUP_LIST,
                              .dedup_field = "name"};
    plt_lead_new b = mk(&s[0], 3, " BOB ", "06 33 00 00 08", NULL);
    a = add(f, 1, &b, 1, &opts);
    assert_int_equal(a->r[0].result, PLT_LEAD_DUPLICATE);
    assert_int_equal(a->r[0].contact_id, 2);
    free(a);
    x = search_field(f, "name", "Zoe");
    assert_int_equal(x.n, 1);
    assert_int_equal(x.ids[0], zoe);

    /* An agent's edit: the document changes, the index follows. */
    plt_lead_field edits[] = {{"name", "Robert"}, {"city", "Nantes"}};
    plt_lead_disposition d = {.size = sizeof(d),
                              .contact_id = 2,
                              .campaign = "c1",
                              .code = "SALE",
                              .fields = edits,
                              .nfields = 2};
    res rd = {0};
    assert_int_equal(f->vt->disposition(f->impl, &d, on_done, &rd), 0);
    wait_flag(f, &rd.done);
    assert_int_equal(rd.status, 0);
    x = search_field(f, "name", "Bob");
    assert_int_equal(x.n, 0);
    x = search_field(f, "name", "Robert");
    assert_int_equal(x.n, 1);
    assert_int_equal(x.ids[0], 2);
    x = search_field(f, "city", "Nantes");
    assert_int_equal(x.n, 1);
    assert_int_equal(x.ids[0], 2);
    /* The index holds the new name only: city is not indexed, and its
     * rows from leads 1.0 went at start. */
    assert_int_equal(sql_count(f, "SELECT count(*) FROM contact_search"
                                  " WHERE name = 'city'"),
                     0);
    assert_int_equal(sql_count(f, "SELECT count(*) FROM contact_search"
                                  " WHERE contact_id = 2"),
                     1);
    assert_int_equal(sql_count(f, "SELECT count(*) FROM contact_search"
                                  " WHERE contact_id = 2 AND value = 'Robert'"),
                     1);
    one o2 = {0};
    assert_int_equal(f->vt->get(f->impl, 2, on_one, &o2), 0);
    wait_flag(f, &o2.done);
    assert_int_equal(o2.n, 2);
    assert_string_equal(o2.values[0], "Nantes");
    assert_string_equal(o2.values[1], "Robert");
}

/* @p x found exactly the contact @p id. */
static void
expect_only(found x, int64_t id)
{
    assert_int_equal(x.n, 1);
    assert_int_equal(x.ids[0], id);
}

/* Names (indexed), a custom field (not indexed) and free text: case and
 * accents folded, the same on both engines; after an edit too. */
static void
search_folds_case_and_accents(void **state)
{
    fixture *f = *state;
    open_leads(f);
    int64_t list = list_create(f, "accents", NULL);
    newc s[4];
    plt_lead_new c[4] = {
        mk(&s[0], 1, "\u00c9lodie Martin", "06 33 00 00 01", NULL),
        mk(&s[1], 2, "Fran\u00e7ois DUPONT", "06 33 00 00 02", NULL),
        mk(&s[2], 3, "Marie C\u0153ur", "06 33 00 00 03", NULL),
        mk(&s[3], 4, "Elodie Martinez", "06 33 00 00 04", NULL)};
    s[0].fields[1].value = "Besan\u00e7on";
    s[1].fields[1].value = "ORL\u00c9ANS";
    s[2].fields[1].value = "\u00c6ther Stra\u00dfe";
    added *a = add(f, list, c, 4, NULL);
    assert_int_equal(a->status, 0);
    int64_t elodie = a->r[0].contact_id, francois = a->r[1].contact_id,
            marie = a->r[2].contact_id, elodie2 = a->r[3].contact_id;
    free(a);

    /* jansson keeps UTF-8 in the documents (no \\u00e7 escapes), which the
     * LIKE pre-filters rely on. */
    assert_int_equal(sql_count(f, "SELECT count(*) FROM contact WHERE"
                                  " fields LIKE '%\"Besan\u00e7on\"%'"),
                     1);
    assert_int_equal(sql_count(f, "SELECT count(*) FROM contact WHERE"
                                  " fields LIKE '%\\u%' ESCAPE '!'"),
                     0);

    /* By name, through contact_search: the whole value, folded. */
    found x;
    const char *e_forms[] = {"\u00e9lodie martin", "ELODIE MARTIN",
                             "\u00c9LODIE MARTIN", "elodie martin",
                             "\u00c9lodie Martin"};
    for (size_t i = 0; i < sizeof(e_forms) / sizeof(e_forms[0]); i++) {
        expect_only(search_field(f, "name", e_forms[i]), elodie);
    }
    expect_only(search_field(f, "name", "francois dupont"), francois);
    expect_only(search_field(f, "name", "FRAN\u00c7OIS Dupont"), francois);
    expect_only(search_field(f, "name", "marie coeur"), marie);
    expect_only(search_field(f, "name", "MARIE C\u0152UR"), marie);
    x = search_field(f, "name", "elodie");
    assert_int_equal(x.n, 0);
    assert_int_equal(sql_count(f, "SELECT count(*) FROM contact_search"
                                  " WHERE name = 'name' AND"
                                  " folded = 'francois dupont'"),
                     1);

    /* By a custom field that is not indexed: the documents, folded. */
    expect_only(search_field(f, "city", "besancon"), elodie);
    expect_only(search_field(f, "city", "Orl\u00e9ans"), francois);
    expect_only(search_field(f, "city", "aether strasse"), marie);
    x = search_field(f, "city", "besan");
    assert_int_equal(x.n, 0);

    /* Free text: any value contains it, folded. */
    plt_lead_query q = {.size = sizeof(q), .text = "\u00e9lodie"};
    x = search(f, &q);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.ids[0], elodie);
    assert_int_equal(x.ids[1], elodie2);
    q.text = "ELODIE MARTIN";
    x = search(f, &q);
    assert_int_equal(x.n, 2);
    q.text = "lodie martini";
    x = search(f, &q);
    assert_int_equal(x.n, 0);
    q.text = "fran\u00c7";
    expect_only(search(f, &q), francois);
    q.text = "COEUR";
    expect_only(search(f, &q), marie);
    q.text = "c\u0153u";
    expect_only(search(f, &q), marie);
    q.text = "orleans";
    expect_only(search(f, &q), francois);
    q.text = "\u00e7on";
    expect_only(search(f, &q), elodie);
    q.text = "conx";
    x = search(f, &q);
    assert_int_equal(x.n, 0);

    /* An agent's edit: the new key is folded, the old one goes. */
    plt_lead_field edits[] = {{"name", "Zo\u00e9 \u00d1u\u00f1ez"}};
    plt_lead_disposition d = {.size = sizeof(d),
                              .contact_id = elodie,
                              .campaign = "c1",
                              .code = "SALE",
                              .fields = edits,
                              .nfields = 1};
    res rd = {0};
    assert_int_equal(f->vt->disposition(f->impl, &d, on_done, &rd), 0);
    wait_flag(f, &rd.done);
    assert_int_equal(rd.status, 0);
    expect_only(search_field(f, "name", "zoe nunez"), elodie);
    expect_only(search_field(f, "name", "ZO\u00c9 \u00d1U\u00d1EZ"), elodie);
    x = search_field(f, "name", "elodie martin");
    assert_int_equal(x.n, 0);
    assert_int_equal(sql_count(f, "SELECT count(*) FROM contact_search"
                                  " WHERE folded = 'elodie martin'"),
                     0);
}

/* ------------------------------------------------------------------ */
/* Durability, against a stub engine that records the flags */

typedef struct stub {
    uint32_t begin_flags[16];
    size_t nbegin;
    size_t nquery;
} stub;

static stub g_stub;
static int stub_txn_token;

static const char *
stub_engine(void *impl)
{
    (void)impl;
    return "stub";
}

static int
stub_migrations(void *impl, const char *owner,
                const plt_storage_migration *m, size_t n)
{
    (void)impl;
    (void)owner;
    (void)m;
    (void)n;
    return 0;
}

static int
stub_query(void *impl, plt_storage_txn *txn, const char *sql,
           const plt_value *args, size_t nargs, uint32_t flags,
           plt_storage_row_fn row, plt_storage_done_fn done, void *arg)
{
    (void)impl;
    (void)txn;
    (void)sql;
    (void)args;
    (void)nargs;
    (void)flags;
    (void)row;
    g_stub.nquery++;
    /* Every statement "affects" one row: the owner check passes. */
    plt_storage_result out = {.rows_affected = 1};
    done(arg, 0, &out);
    return 0;
}

static int
stub_query_rows(void *impl, plt_storage_txn *txn, const char *sql,
                const plt_value *args, size_t ncols, size_t nrows,
                uint32_t flags, plt_storage_row_fn row,
                plt_storage_done_fn done, void *arg)
{
    (void)ncols;
    return stub_query(impl, txn, sql, args, nrows, flags, row, done, arg);
}

static int
stub_begin(void *impl, uint32_t flags, plt_storage_begin_fn cb, void *arg)
{
    (void)impl;
    if (g_stub.nbegin < 16)
        g_stub.begin_flags[g_stub.nbegin++] = flags;
    cb(arg, 0, (plt_storage_txn *)&stub_txn_token);
    return 0;
}

static int
stub_end(void *impl, plt_storage_txn *txn, plt_storage_done_fn done, void *arg)
{
    (void)impl;
    (void)txn;
    plt_storage_result out = {0};
    done(arg, 0, &out);
    return 0;
}

static const plt_storage_vt stub_vt = {.size = sizeof(plt_storage_vt),
                                       .engine = stub_engine,
                                       .migrations = stub_migrations,
                                       .query = stub_query,
                                       .begin = stub_begin,
                                       .commit = stub_end,
                                       .rollback = stub_end,
                                       .query_rows = stub_query_rows};

static void
attempts_dispositions_and_dnc_are_durable(void **state)
{
    fixture *f = *state;
    memset(&g_stub, 0, sizeof(g_stub));
    assert_int_equal(plt_fake_host_provide(f->fh, PLT_STORAGE_NAME,
                                           PLT_STORAGE_MAJOR,
                                           PLT_STORAGE_MINOR, &stub_vt, NULL),
                     0);
    const char *dir = getenv("PLATEAU_PLUGIN_DIR");
    char so[PATH_MAX];
    snprintf(so, sizeof(so), "%s/leads.so", dir ? dir : ".");
    assert_int_equal(plt_fake_host_add_so(f->fh, so, NULL, NULL), 0);
    assert_int_equal(plt_fake_host_init(f->fh), 0);
    assert_int_equal(plt_fake_host_start(f->fh), 0);
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_LEADS_NAME,
                                           PLT_LEADS_MAJOR, 0, &ref),
                     0);
    f->vt = ref.vtable;
    f->impl = ref.impl;
    assert_int_equal(attempt(f, 1, "d1", "c1", "+33600000001",
                             PLT_LEAD_DONE, 0),
                     0);
    plt_lead_disposition d = {.size = sizeof(d),
                              .contact_id = 1,
                              .campaign = "c1",
                              .code = "SALE",
                              .new_status = PLT_LEAD_DONE};
    res r = {0};
    assert_int_equal(f->vt->disposition(f->impl, &d, on_done, &r), 0);
    wait_flag(f, &r.done);
    assert_int_equal(r.status, 0);
    dnc_add(f, "*", "0600000001");
    assert_int_equal(g_stub.nbegin, 3);
    for (size_t i = 0; i < 3; i++)
        assert_true(g_stub.begin_flags[i] & PLT_STORAGE_DURABLE);
}

/* ------------------------------------------------------------------ */

int
main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "pg")) {
        g_pg = true;
        if (!getenv("PGHOST") && !getenv("PGPORT")) {
            const char *bd = getenv("PLATEAU_BUILD_DIR");
            char p[PATH_MAX];
            snprintf(p, sizeof(p), "%s/tests/pg/conninfo.env",
                     bd ? bd : ".");
            load_env_file(p);
        }
        if (!getenv("PGHOST") && !getenv("PGPORT")) {
            printf("# skipped: no PostgreSQL server (conninfo.env missing)\n");
            return 77;
        }
        const char *d = getenv("PGDATABASE");
        snprintf(g_db, sizeof(g_db), "%s",
                 d ? d : (getenv("PGUSER") ? getenv("PGUSER") : ""));
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            batch_dedups_inside_and_against_the_list, setup, teardown),
        cmocka_unit_test_setup_teardown(new_list_is_all_available, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(dedup_on_a_field_folds_accents, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(dnc_at_add_and_after, setup, teardown),
        cmocka_unit_test_setup_teardown(dnc_while_reserved_blocks_the_dial,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(reservation_is_exactly_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(weights_mix_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(eligibility, setup, teardown),
        cmocka_unit_test_setup_teardown(release_until_is_not_an_attempt, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(attempt_done_checks_the_owner, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(search_by_phone_text_and_field, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(search_folds_case_and_accents, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            history_newest_first_and_attempts_across_campaigns, setup,
            teardown),
        cmocka_unit_test_setup_teardown(progress_is_stored_with_the_batch,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(add_batch_throughput, setup, teardown),
        cmocka_unit_test_setup_teardown(
            attempts_dispositions_and_dnc_are_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(fields_move_into_documents_on_upgrade,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(batches_run_in_call_order, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name(g_pg ? "leads_pg" : "leads", tests,
                                       NULL, NULL);
}
