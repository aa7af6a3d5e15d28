/* SPDX-License-Identifier: MIT */
/*
 * The import service as users rely on it, on the fake host (real clock)
 * with storage_sqlite.so, import_csv.so and the leads service: leads.so
 * when it is built, else the in-memory fake_leads.c.
 *
 * Covered: the "done when" file - accents, a BOM (UTF-8) or
 * Windows-1252 without, ';', duplicates in the file (also across batches
 * and in another phone form), embedded newlines, broken numbers, a row with
 * extra fields, an unclosed quote, a blank ";;;;" row - imports with the
 * exact counts and a report naming every rejected row by line; a second
 * import adds nothing; a number put on do-not-call after its lead was
 * imported is blocked; the preview; progress events monotonic and ending
 * at bytes_total; cancel mid-import; an import interrupted by a database
 * failure resumed to the exact count with no duplicate.
 */
#include <iconv.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include <plateau/plateau.h>
#include <plateau/svc/import.h>
#include <plateau/svc/leads.h>
#include <plateau/testing/fake_host.h>

#include "fake_leads.h"

typedef struct fixture {
    plt_fake_host *fh;
    fake_leads *fl; /* NULL with the real leads.so */
    plt_import imp;
    plt_leads leads;
    uv_timer_t guard;
    char dir[PATH_MAX - 64];
} fixture;

/* ------------------------------------------------------------------ */
/* Harness */

static void
guard_tick(uv_timer_t *t)
{
    (void)t;
}

typedef bool (*pred_fn)(fixture *f, void *arg);

/* Run the loop until pred holds (or fail after ~60 s). */
static void
wait_until(fixture *f, pred_fn pred, void *arg)
{
    uv_loop_t *loop = plt_fake_host_loop(f->fh);
    for (int i = 0; i < 6000 && !pred(f, arg); i++) {
        plt_fake_host_run_until_idle(f->fh);
        if (pred(f, arg))
            break;
        uv_timer_start(&f->guard, guard_tick, 10, 0);
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&f->guard);
    assert_true(pred(f, arg));
}

static bool
flag_set(fixture *f, void *arg)
{
    (void)f;
    return *(bool *)arg;
}

typedef struct count_arg {
    const char *topic;
    size_t n;
} count_arg;

static bool
events_at_least(fixture *f, void *arg)
{
    count_arg *c = arg;
    return plt_fake_host_event_count(f->fh, c->topic) >= c->n;
}

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    plt_fake_options o = {.real_clock = 1, .log_level = PLT_LOG_INFO};
    if (!f || plt_fake_host_new(&f->fh, &o) != 0) {
        free(f);
        return -1;
    }
    uv_timer_init(plt_fake_host_loop(f->fh), &f->guard);
    snprintf(f->dir, sizeof(f->dir), "%.3000s/files",
             plt_fake_host_data_dir(f->fh));
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    *state = f;
    return 0;
}

static void
guard_closed(uv_handle_t *h)
{
    (void)h;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    plt_fake_host_stop(f->fh);
    fake_leads_free(f->fl);
    uv_close((uv_handle_t *)&f->guard, guard_closed);
    uv_run(plt_fake_host_loop(f->fh), UV_RUN_NOWAIT);
    int rc = plt_fake_host_free(f->fh);
    if (rc != 0)
        print_error("plt_fake_host_free: %d (a handle leaked)\n", rc);
    free(f);
    return rc == 0 ? 0 : -1;
}

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

static bool
have_real_leads(void)
{
    const char *dir = getenv("PLATEAU_PLUGIN_DIR");
    char so[PATH_MAX];
    snprintf(so, sizeof(so), "%s/leads.so", dir ? dir : ".");
    return access(so, R_OK) == 0 && !getenv("IMPORT_TEST_FAKE_LEADS");
}

static fixture *
open_import(void **state, const char *yaml)
{
    fixture *f = *state;
    add_so(f, "storage_sqlite", NULL);
    if (have_real_leads()) {
        add_so(f, "leads", NULL);
    } else {
        f->fl = fake_leads_new(plt_fake_host_loop(f->fh));
        assert_int_equal(plt_fake_host_provide(f->fh, PLT_LEADS_NAME, 1, 0,
                                               fake_leads_vt(), f->fl),
                         0);
    }
    add_so(f, "import_csv", yaml);
    int rc = plt_fake_host_init(f->fh);
    if (rc != 0)
        print_error("init: %s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    rc = plt_fake_host_start(f->fh);
    if (rc != 0)
        print_error("start: %s\n", plt_fake_host_last_error(f->fh));
    assert_int_equal(rc, 0);
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_IMPORT_NAME, 1, 0, &ref),
                     0);
    f->imp.vt = ref.vtable;
    f->imp.impl = ref.impl;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_LEADS_NAME, 1, 0, &ref),
                     0);
    f->leads.vt = ref.vtable;
    f->leads.impl = ref.impl;
    return f;
}

static void
write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

/* ------------------------------------------------------------------ */
/* Running a job */

typedef struct job_res {
    bool started;
    int status;
    int64_t id;
    char error[256];
} job_res;

static void
started_cb(void *arg, int status, int64_t id, const char *error)
{
    job_res *r = arg;
    r->started = true;
    r->status = status;
    r->id = id;
    snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
}

/* Start a job and wait for its import.job.finished; returns that event. */
static const plt_event *
run_job(fixture *f, const plt_import_spec *spec, job_res *r)
{
    memset(r, 0, sizeof(*r));
    size_t before = plt_fake_host_event_count(f->fh, "import.job.finished");
    assert_int_equal(f->imp.vt->start(f->imp.impl, spec, started_cb, r), 0);
    wait_until(f, flag_set, &r->started);
    if (r->status != 0)
        print_error("start: %s\n", r->error);
    assert_int_equal(r->status, 0);
    count_arg c = {"import.job.finished", before + 1};
    wait_until(f, events_at_least, &c);
    return plt_fake_host_event_last(f->fh, "import.job.finished");
}

static int64_t
ev(const plt_event *e, const char *k)
{
    return plt_fake_event_i64(e, k, -1);
}

/* ------------------------------------------------------------------ */
/* The "done when" file */

/* UTF-8 text; lines numbered as the file has them. Line 3-4 is one
 * record (an embedded newline), line 14 is Excel's blank ";;;;;;". */
static const char done_when_csv[] =
    "Nom;Prénom;Téléphone;Portable;Ville;Code postal;Commentaire\r\n" /* 1 */
    "Dupont;Amélie;01 23 45 67 89;06 12 34 56 78;Besançon;25000;Client "
    "fidèle\r\n"                                                     /* 2 ok */
    "Lefèvre;Jérôme;;+33 6 11 22 33 44;Orléans;45000;\"Rappeler\r\n" /* 3 ok */
    "après 18h; pas avant\"\r\n"                                     /* 4 */
    "Müller;Zoë;0033 1 98 76 54 32;;Nîmes;30000;\r\n"                /* 5 ok */
    "Dupont;Amélie;01 23 45 67 89;06 12 34 56 78;Besançon;25000;doublon\r\n"
    /* 6 duplicate of 2 */
    "Garçon;François;06 12 34;;Créteil;94000;numéro cassé\r\n"  /* 7 invalid */
    "Bœuf;Noël;12345678901234;;Évry;91000;\r\n"                 /* 8 invalid */
    "Hébert;Cécile;;6.11.22.33.45;Sète;34200;zéro perdu\r\n"    /* 9 ok */
    "Petit;Hugo;abc;;Brest;29200;lettres\r\n"                   /* 10 invalid */
    "Roux;Inès;07 81 23 45 67;;Pau;64000;\r\n"                  /* 11 ok */
    "Roux;Inès;;+33 7 81 23 45 67;Pau;64000;autre forme\r\n"    /* 12 dup 11 */
    "Blanc;Émile;01 45 67 89 10;;Paris;75001;x;extra;more\r\n"  /* 13 malformed */
    ";;;;;;\r\n"                                                /* 14 blank */
    "Noir;Anaïs;04 91 23 45 67\r\n"                             /* 15 ok, short */
    "Lefèvre;Jérôme;;+33611223344;Orléans;45000;encore\r\n"     /* 16 dup 3 */
    "Martin;\"Léa;06 55 44 33 22;;Lyon;69000;quote\r\n"         /* 17 malformed */
    "Faure;Théo;06 98 76 54 32;;Nantes;44000;\"dernier \"\"cité\"\"\"\r\n";
/* 18 ok */

static const struct {
    int line;
    const char *reason;
} done_when_rejects[] = {
    {6, "duplicate"},      {7, "invalid phone"}, {8, "invalid phone"},
    {10, "invalid phone"}, {12, "duplicate"},    {13, "malformed"},
    {16, "duplicate"},     {17, "malformed"},
};
#define DW_READ 15
#define DW_IMPORTED 7
#define DW_DUPS 3
#define DW_INVALID 3
#define DW_MALFORMED 2

static size_t
to_cp1252(const char *in, char *out, size_t cap)
{
    iconv_t cd = iconv_open("WINDOWS-1252", "UTF-8");
    assert_true(cd != (iconv_t)-1);
    char *ip = (char *)in, *op = out;
    size_t il = strlen(in), ol = cap;
    assert_true(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1);
    iconv_close(cd);
    return cap - ol;
}

/* Every rejected row is in the report by line, with its reason. */
static void
check_report(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char line[2048];
    assert_non_null(fgets(line, sizeof(line), fp));
    assert_memory_equal(line, "\xEF\xBB\xBFline;reason;detail;Nom;", 25);
    size_t found = 0, rows = 0;
    bool seen[sizeof(done_when_rejects) / sizeof(done_when_rejects[0])] = {0};
    while (fgets(line, sizeof(line), fp)) {
        if (line[0] < '0' || line[0] > '9')
            continue; /* continuation of a quoted multi-line field */
        rows++;
        for (size_t i = 0; i < sizeof(seen); i++) {
            char want[64];
            snprintf(want, sizeof(want), "%d;%s;", done_when_rejects[i].line,
                     done_when_rejects[i].reason);
            if (strncmp(line, want, strlen(want)) == 0 && !seen[i]) {
                seen[i] = true;
                found++;
            }
        }
    }
    fclose(fp);
    for (size_t i = 0; i < sizeof(seen); i++)
        if (!seen[i])
            print_error("report misses line %d (%s)\n",
                        done_when_rejects[i].line, done_when_rejects[i].reason);
    assert_int_equal(found, sizeof(seen));
    assert_int_equal(rows, sizeof(seen));
}

typedef struct bool_res {
    bool done;
    int status;
    bool yes;
} bool_res;

static void
bool_cb(void *arg, int status, bool yes)
{
    bool_res *r = arg;
    r->done = true;
    r->status = status;
    r->yes = yes;
}

static void
done_cb(void *arg, int status, const char *msg)
{
    (void)msg;
    bool_res *r = arg;
    r->done = true;
    r->status = status;
}

typedef struct stats_res {
    bool done;
    int status;
    plt_list_stats st;
} stats_res;

static void
stats_cb(void *arg, int status, const plt_list_stats *st)
{
    stats_res *r = arg;
    r->done = true;
    r->status = status;
    if (st)
        r->st = *st;
}

static plt_list_stats
list_stats(fixture *f, int64_t list_id)
{
    stats_res r = {0};
    assert_int_equal(
        f->leads.vt->list_stats(f->leads.impl, list_id, 0, stats_cb, &r), 0);
    wait_until(f, flag_set, &r.done);
    assert_int_equal(r.status, 0);
    return r.st;
}

static void
done_when(void **state, bool cp1252)
{
    fixture *f = open_import(state, "batch_rows: 4\n");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/leads-%s.csv", f->dir,
             cp1252 ? "cp1252" : "utf8");
    if (cp1252) {
        char buf[4096];
        size_t n = to_cp1252(done_when_csv, buf, sizeof(buf));
        write_file(path, buf, n);
    } else {
        char buf[4096];
        memcpy(buf, "\xEF\xBB\xBF", 3);
        memcpy(buf + 3, done_when_csv, sizeof(done_when_csv) - 1);
        write_file(path, buf, sizeof(done_when_csv) - 1 + 3);
    }
    plt_import_spec spec = {.size = sizeof(spec),
                            .path = path,
                            .list = "fichier-mars",
                            .create_list = true,
                            .country = "FR",
                            .restore_lost_zero = true,
                            .dedup = PLT_IMPORT_DEDUP_LIST};
    job_res r;
    const plt_event *e = run_job(f, &spec, &r);
    assert_string_equal(plt_fake_event_str(e, "status"), "done");
    assert_int_equal(ev(e, "rows_read"), DW_READ);
    assert_int_equal(ev(e, "imported"), DW_IMPORTED);
    assert_int_equal(ev(e, "duplicates"), DW_DUPS);
    assert_int_equal(ev(e, "invalid_phones"), DW_INVALID);
    assert_int_equal(ev(e, "malformed"), DW_MALFORMED);
    assert_int_equal(ev(e, "rejected"), DW_DUPS + DW_INVALID + DW_MALFORMED);
    const plt_event *s = plt_fake_host_event_last(f->fh, "import.job.started");
    assert_string_equal(plt_fake_event_str(s, "encoding"),
                        cp1252 ? "Windows-1252" : "UTF-8");
    assert_string_equal(plt_fake_event_str(s, "separator"), ";");
    check_report(plt_fake_event_str(e, "report"));
    int64_t list_id = plt_fake_event_i64(s, "list_id", 0);
    assert_true(list_id > 0);
    assert_int_equal(list_stats(f, list_id).total, DW_IMPORTED);

    /* A second import of the same file adds nothing. */
    spec.create_list = false;
    e = run_job(f, &spec, &r);
    assert_string_equal(plt_fake_event_str(e, "status"), "done");
    assert_int_equal(ev(e, "imported"), 0);
    assert_int_equal(ev(e, "duplicates"), DW_IMPORTED + DW_DUPS);
    assert_int_equal(ev(e, "invalid_phones"), DW_INVALID);
    assert_int_equal(list_stats(f, list_id).total, DW_IMPORTED);

    /* Do-not-call after the import: the number is blocked, and the lead
     * whose only number it is is never dialled (status DNC). */
    const char *nums[] = {"07 81 23 45 67"};
    bool_res d = {0};
    assert_int_equal(f->leads.vt->dnc_add(f->leads.impl, "*", nums, 1, NULL,
                                          "test", done_cb, &d),
                     0);
    wait_until(f, flag_set, &d.done);
    assert_int_equal(d.status, 0);
    bool_res chk = {0};
    assert_int_equal(f->leads.vt->dnc_check(f->leads.impl, "c1",
                                            "+33781234567", bool_cb, &chk),
                     0);
    wait_until(f, flag_set, &chk.done);
    assert_int_equal(chk.status, 0);
    assert_true(chk.yes);
    assert_int_equal(list_stats(f, list_id).by_status[PLT_LEAD_DNC], 1);
}

static void
test_done_when_utf8_bom(void **state)
{
    done_when(state, false);
}

static void
test_done_when_cp1252(void **state)
{
    done_when(state, true);
}

/* ------------------------------------------------------------------ */
/* Preview */

typedef struct prev_res {
    bool done;
    int status;
    char enc[32];
    char sep;
    bool bom, header;
    size_t ncols, nrows;
    char map[8][64];
    char row0[8][64];
} prev_res;

static void
prev_cb(void *arg, int status, const plt_import_preview *p, const char *err)
{
    (void)err;
    prev_res *r = arg;
    r->done = true;
    r->status = status;
    if (!p)
        return;
    snprintf(r->enc, sizeof(r->enc), "%s", p->encoding_name);
    r->sep = p->separator;
    r->bom = p->has_bom;
    r->header = p->has_header;
    r->ncols = p->ncolumns;
    r->nrows = p->nrows;
    for (size_t i = 0; i < p->ncolumns && i < 8; i++) {
        const plt_import_column *c = &p->mapping[i];
        snprintf(r->map[i], sizeof(r->map[i]), "%s=%s", p->header[i],
                 c->kind == PLT_IMPORT_PHONE
                     ? (c->phone_type == PLT_PHONE_MOBILE ? "phone:mobile"
                                                          : "phone")
                 : c->kind == PLT_IMPORT_FIELD ? c->field
                                               : "-");
    }
    for (size_t i = 0; p->nrows > 0 && i < p->rows[0].nfields && i < 8; i++)
        snprintf(r->row0[i], sizeof(r->row0[i]), "%s", p->rows[0].fields[i]);
}

static void
test_preview(void **state)
{
    fixture *f = open_import(state, NULL);
    char buf[4096];
    size_t n = to_cp1252(done_when_csv, buf, sizeof(buf));
    plt_import_preview_req req = {.size = sizeof(req), .bytes = buf, .len = n};
    prev_res r = {0};
    assert_int_equal(f->imp.vt->preview(f->imp.impl, &req, prev_cb, &r), 0);
    wait_until(f, flag_set, &r.done);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.enc, "Windows-1252");
    assert_int_equal(r.sep, ';');
    assert_true(r.header);
    assert_int_equal(r.ncols, 7);
    assert_true(r.nrows >= 5);
    assert_string_equal(r.map[0], "Nom=last_name");
    assert_string_equal(r.map[1], "Prénom=first_name");
    assert_string_equal(r.map[2], "Téléphone=phone");
    assert_string_equal(r.map[3], "Portable=phone:mobile");
    assert_string_equal(r.map[5], "Code postal=postal_code");
    assert_string_equal(r.map[6], "Commentaire=commentaire");
    assert_string_equal(r.row0[1], "Amélie"); /* decoded to UTF-8 */
}

/* ------------------------------------------------------------------ */
/* Big files: progress, cancel, resume */

static size_t
gen_file(const char *path, int rows)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fprintf(fp, "Nom;Prénom;Téléphone;Ville\n");
    for (int i = 0; i < rows; i++)
        fprintf(fp, "Nom%d;Prénom %d;06 %02d %02d %02d %02d;Ville\n", i, i,
                (i / 1000000) % 100, (i / 10000) % 100, (i / 100) % 100,
                i % 100);
    long sz = ftell(fp);
    fclose(fp);
    return (size_t)sz;
}

static void
test_progress_events(void **state)
{
    fixture *f = open_import(state, "batch_rows: 500\nprogress_interval: 0\n");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/big.csv", f->dir);
    size_t size = gen_file(path, 20000);
    plt_import_spec spec = {.size = sizeof(spec),
                            .path = path,
                            .list = "big",
                            .create_list = true,
                            .dedup = PLT_IMPORT_DEDUP_LIST};
    job_res r;
    const plt_event *e = run_job(f, &spec, &r);
    assert_string_equal(plt_fake_event_str(e, "status"), "done");
    assert_int_equal(ev(e, "imported"), 20000);
    size_t n = plt_fake_host_event_count(f->fh, "import.job.progressed");
    assert_true(n >= 10);
    int64_t last = -1;
    for (size_t i = 0; i < n; i++) {
        const plt_event *p =
            plt_fake_host_event_at(f->fh, "import.job.progressed", i);
        int64_t b = ev(p, "bytes_done");
        if (b <= last)
            print_error("progress %zu: bytes_done %lld after %lld (rows %lld, "
                        "job %lld)\n",
                        i, (long long)b, (long long)last,
                        (long long)ev(p, "rows"), (long long)ev(p, "job_id"));
        assert_true(b > last);
        assert_int_equal(ev(p, "bytes_total"), (int64_t)size);
        last = b;
    }
    assert_int_equal(last, (int64_t)size);
}

static bool
some_batches(fixture *f, void *arg)
{
    (void)arg;
    return plt_fake_host_event_count(f->fh, "import.job.progressed") >= 2;
}

static void
test_cancel(void **state)
{
    fixture *f = open_import(state, "batch_rows: 200\nprogress_interval: 0\n");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/cancel.csv", f->dir);
    gen_file(path, 50000);
    plt_import_spec spec = {.size = sizeof(spec),
                            .path = path,
                            .list = "cancel",
                            .create_list = true,
                            .dedup = PLT_IMPORT_DEDUP_LIST};
    job_res r = {0};
    assert_int_equal(f->imp.vt->start(f->imp.impl, &spec, started_cb, &r), 0);
    /* Not wait_until(): running until idle would run the whole import.
     * With the real clock, run_for() returns after the time given. */
    for (int i = 0; i < 3000 && !r.started; i++)
        plt_fake_host_run_for(f->fh, 10);
    if (r.status != 0)
        print_error("start: %s\n", r.error);
    assert_int_equal(r.status, 0);
    for (int i = 0; i < 3000 && !some_batches(f, NULL); i++)
        plt_fake_host_run_for(f->fh, 10);
    assert_true(some_batches(f, NULL));
    assert_int_equal(f->imp.vt->cancel(f->imp.impl, r.id), 0);
    count_arg c = {"import.job.finished", 1};
    wait_until(f, events_at_least, &c);
    const plt_event *e = plt_fake_host_event_last(f->fh, "import.job.finished");
    assert_string_equal(plt_fake_event_str(e, "status"), "cancelled");
    int64_t imported = ev(e, "imported");
    assert_true(imported > 0 && imported < 50000);
    const plt_event *s = plt_fake_host_event_last(f->fh, "import.job.started");
    /* What the job counted is what the list holds: committed batches. */
    assert_int_equal(list_stats(f, plt_fake_event_i64(s, "list_id", 0)).total,
                     imported);
    assert_int_equal(f->imp.vt->cancel(f->imp.impl, r.id), PLT_ENOENT);
}

static void
test_resume_after_failure(void **state)
{
    if (have_real_leads())
        skip(); /* needs the fake's failure injection; cli_resume.sh
                   covers the real plugins with kill -9 */
    fixture *f = open_import(state, "batch_rows: 300\n");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/resume.csv", f->dir);
    gen_file(path, 10000);
    /* dedup none: only the resume point prevents duplicates here. */
    plt_import_spec spec = {.size = sizeof(spec),
                            .path = path,
                            .list = "resume",
                            .create_list = true,
                            .dedup = PLT_IMPORT_DEDUP_NONE,
                            .auto_resume = true};
    fake_leads_fail_after(f->fl, 5);
    job_res r;
    const plt_event *e = run_job(f, &spec, &r);
    assert_string_equal(plt_fake_event_str(e, "status"), "failed");
    int64_t first = ev(e, "imported");
    assert_int_equal(first, 5 * 300);
    int64_t id = r.id;

    fake_leads_fail_after(f->fl, -1);
    spec.create_list = false;
    e = run_job(f, &spec, &r);
    assert_int_equal(r.id, id); /* the same job, continued */
    assert_string_equal(plt_fake_event_str(e, "status"), "done");
    const plt_event *s = plt_fake_host_event_last(f->fh, "import.job.started");
    assert_true(plt_fake_event_i64(s, "resumed_from", 0) > 0);
    assert_int_equal(ev(e, "imported"), 10000);
    assert_int_equal(ev(e, "rows_read"), 10000);
    int64_t list_id = plt_fake_event_i64(s, "list_id", 0);
    assert_int_equal(list_stats(f, list_id).total, 10000);
    assert_int_equal(fake_leads_duplicates(f->fl, list_id), 0);

    /* A finished job is not resumed: a new one finds only duplicates of
     * nothing (dedup none would add again, so use list dedup). */
    spec.dedup = PLT_IMPORT_DEDUP_LIST;
    e = run_job(f, &spec, &r);
    assert_true(r.id != id);
    assert_int_equal(ev(e, "imported"), 0);
    assert_int_equal(ev(e, "duplicates"), 10000);
}

static void
test_errors(void **state)
{
    fixture *f = open_import(state, NULL);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/nophone.csv", f->dir);
    const char *t = "Nom;Ville\nA;B\n";
    write_file(path, t, strlen(t));
    plt_import_spec spec = {.size = sizeof(spec),
                            .path = path,
                            .list = "x",
                            .create_list = true};
    job_res r = {0};
    assert_int_equal(f->imp.vt->start(f->imp.impl, &spec, started_cb, &r), 0);
    wait_until(f, flag_set, &r.started);
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.error, "no phone column"));
    /* A missing list without create. */
    snprintf(path, sizeof(path), "%s/ok.csv", f->dir);
    t = "Nom;Tel\nA;0612345678\n";
    write_file(path, t, strlen(t));
    spec.create_list = false;
    spec.list = "absent";
    memset(&r, 0, sizeof(r));
    assert_int_equal(f->imp.vt->start(f->imp.impl, &spec, started_cb, &r), 0);
    wait_until(f, flag_set, &r.started);
    assert_int_equal(r.status, PLT_ENOENT);
    assert_non_null(strstr(r.error, "no list 'absent'"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_done_when_utf8_bom, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_done_when_cp1252, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_preview, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_after_failure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
