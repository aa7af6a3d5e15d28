/* SPDX-License-Identifier: MIT */
/*
 * The import_csv plugin's browser routes (plugins/import_csv/import_http.c)
 * on the fake host with storage_sqlite.so, leads.so and import_csv.so as
 * built and the fake `http` provider: a CSV uploaded for preview comes
 * back with its settings, rows and suggested mapping and an upload id; the
 * import with a corrected mapping runs, its progress and end are pushed to
 * the uploader only; its status, counters and report (the refused rows as
 * CSV) can be read; the list joins the campaign asked for; agents are
 * refused; an upload id that is not one is refused.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include <plateau/plateau.h>
#include <plateau/svc/leads.h>
#include <plateau/svc/users.h>

#include "fake_http.h"

typedef struct fx {
    plt_fake_host *fh;
    fake_http *h;
    fake_http_reply r;
    char csv[64];
} fx;

static fx *cur; /* the fixture the predicates look at */

static bool
answered(void *arg)
{
    (void)arg;
    return cur->r.answered;
}

static bool
pushed(void *arg)
{
    return fake_http_push_count(cur->h, "ann", arg) > 0;
}

static json_t *
req_up(fx *f, const char *method, const char *path, const char *login,
       int32_t role, const char *body, const char *upload, int want)
{
    fake_http_reply_clear(&f->r);
    fake_http_request(f->h, method, path, login, role, body, upload, &f->r);
    assert_true(fake_http_run_until(f->fh, answered, NULL));
    if (f->r.status != want)
        print_error("%s %s: %d %s\n", method, path, f->r.status,
                    f->r.body ? json_dumps(f->r.body, 0) : "");
    assert_int_equal(f->r.status, want);
    return f->r.body;
}

static json_t *
req(fx *f, const char *method, const char *path, const char *login,
    int32_t role, const char *body, int want)
{
    return req_up(f, method, path, login, role, body, NULL, want);
}

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_int_equal(plt_fake_host_new(&f->fh, NULL), 0);
    assert_int_equal(fake_http_new(f->fh, &f->h), 0);
    assert_int_equal(fake_http_add_so(f->fh, "storage_sqlite", NULL), 0);
    assert_int_equal(fake_http_add_so(f->fh, "leads", NULL), 0);
    assert_int_equal(fake_http_add_so(f->fh, "import_csv", NULL), 0);
    assert_int_equal(plt_fake_host_init(f->fh), 0);
    assert_int_equal(plt_fake_host_start(f->fh), 0);
    /* Windows-1252 as French Excel writes it, one row with a number too
     * short and one with a number from another list's campaign. */
    snprintf(f->csv, sizeof(f->csv), "/tmp/test_import_http_XXXXXX");
    int fd = mkstemp(f->csv);
    assert_true(fd >= 0);
    const char text[] = "Nom;Pr\xe9nom;T\xe9l\xe9phone;Ville\r\n"
                        "Dupont;Andr\xe9;01 40 00 00 01;Lyon\r\n"
                        "Martin;Zo\xe9;06 12 34 56 78;Nantes\r\n"
                        "Garcon;Luc;06 12 34;Paris\r\n"
                        "Petit;Ana;01 40 00 00 02;Lille\r\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
    close(fd);
    cur = f;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    fake_http_reply_clear(&f->r);
    assert_int_equal(plt_fake_host_stop(f->fh), 0);
    int rc = plt_fake_host_free(f->fh);
    fake_http_free(f->h);
    unlink(f->csv);
    free(f);
    assert_int_equal(rc, 0);
    return 0;
}

static const char *
str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static json_int_t
num(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

typedef struct rsv {
    bool done;
    int status;
    int n;
} rsv;

static int
rsv_row(void *arg, const plt_lead *l)
{
    (void)l;
    ((rsv *)arg)->n++;
    return 0;
}

static void
rsv_done(void *arg, int status, const char *msg)
{
    (void)msg;
    rsv *r = arg;
    r->done = true;
    r->status = status;
}

static bool
rsv_finished(void *arg)
{
    return ((rsv *)arg)->done;
}

#define AG PLT_ROLE_AGENT
#define ADM PLT_ROLE_ADMIN

static void
preview_import_report(void **state)
{
    fx *f = *state;
    req_up(f, "POST", "/imports/preview", "alice", AG, NULL, f->csv, 403);
    req(f, "POST", "/imports/preview", "ann", ADM, NULL, 400); /* no file */

    json_t *b =
        req_up(f, "POST", "/imports/preview", "ann", ADM, NULL, f->csv, 200);
    char upload[32];
    snprintf(upload, sizeof(upload), "%s", str(b, "upload_id"));
    assert_int_equal(strlen(upload), 16);
    json_t *p = json_object_get(b, "preview");
    assert_string_equal(str(p, "encoding_name"), "Windows-1252");
    assert_string_equal(str(p, "separator"), ";");
    json_t *header = json_object_get(p, "header");
    assert_int_equal(json_array_size(header), 4);
    assert_string_equal(json_string_value(json_array_get(header, 1)), "Prénom");
    json_t *map = json_object_get(p, "mapping");
    assert_string_equal(str(json_array_get(map, 2), "kind"), "phone");
    json_t *rows = json_object_get(p, "rows");
    assert_int_equal(json_array_size(rows), 4);
    assert_string_equal(
        json_string_value(json_array_get(
            json_object_get(json_array_get(rows, 0), "fields"), 1)),
        "André");

    /* The upload is kept for the import, under the data directory. */
    char kept[PATH_MAX];
    snprintf(kept, sizeof(kept), "%s/imports/uploads/%s.csv",
             plt_fake_host_data_dir(f->fh), upload);
    assert_int_equal(access(kept, R_OK), 0);

    req(f, "POST", "/imports", "ann", ADM,
        "{\"upload_id\":\"../../etc/passwd\",\"list\":\"x\"}", 400);
    req(f, "POST", "/imports", "ann", ADM,
        "{\"upload_id\":\"0123456789abcdef\",\"list\":\"x\",\"create\":true}",
        400); /* no such upload: the job cannot start */

    /* The corrected mapping: Ville ignored, Prénom renamed. */
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"upload_id\":\"%s\",\"list\":\"fichier\",\"create\":true,"
             "\"country\":\"FR\",\"dedup\":1,\"campaign\":\"demo\","
             "\"columns\":[{\"column\":\"Nom\",\"kind\":\"field\","
             "\"field\":\"nom\"},{\"column\":\"Prénom\",\"kind\":\"field\","
             "\"field\":\"prenom\"},{\"column\":\"Téléphone\","
             "\"kind\":\"phone\"},{\"column\":\"Ville\",\"kind\":\"ignore\"}]}",
             upload);
    req(f, "POST", "/imports", "alice", AG, body, 403);
    b = req(f, "POST", "/imports", "ann", ADM, body, 202);
    json_int_t job = num(b, "job_id");
    assert_true(job > 0);
    assert_int_equal(fake_http_audit_count(f->h, "import.started"), 1);

    assert_true(fake_http_run_until(f->fh, pushed, "import.job.finished"));
    json_t *fin = fake_http_push_last(f->h, "ann", "import.job.finished");
    assert_string_equal(str(fin, "status"), "done");
    assert_int_equal(num(fin, "imported"), 3);
    assert_int_equal(num(fin, "invalid_phones"), 1);
    assert_true(fake_http_push_count(f->h, "ann", "import.job.progressed") >=
                1);
    json_t *last = fake_http_push_last(f->h, "ann", "import.job.progressed");
    assert_int_equal(num(last, "bytes_done"), num(last, "bytes_total"));
    /* The upload went with the job. */
    assert_int_equal(plt_fake_host_run_until_idle(f->fh), 0);
    assert_int_not_equal(access(kept, F_OK), 0);
    /* Nobody else hears about it. */
    assert_int_equal(fake_http_push_count(f->h, "alice", NULL), 0);

    char path[128];
    snprintf(path, sizeof(path), "/imports/%lld", (long long)job);
    b = req(f, "GET", path, "ann", ADM, NULL, 200);
    assert_string_equal(str(b, "status"), "done");
    assert_string_equal(str(b, "list"), "fichier");
    assert_int_equal(num(b, "rows_read"), 4);
    assert_int_equal(num(b, "rejected"), 1);
    req(f, "GET", "/imports/999999", "ann", ADM, NULL, 404);

    snprintf(path, sizeof(path), "/imports/%lld/report", (long long)job);
    req(f, "GET", path, "ann", ADM, NULL, 200);
    assert_non_null(f->r.bytes);
    assert_non_null(strstr(f->r.bytes, "invalid phone"));
    assert_non_null(strstr(f->r.bytes, "Garcon"));
    assert_null(strstr(f->r.bytes, "Dupont"));

    /* Finished: nothing to cancel. */
    snprintf(path, sizeof(path), "/imports/%lld/cancel", (long long)job);
    req(f, "POST", path, "ann", ADM, "{}", 404);

    /* The new list is in the campaign: its contacts can be dialled. */
    b = req(f, "GET", "/lists", "ann", ADM, NULL, 200);
    json_t *l0 = json_array_get(json_object_get(b, "items"), 0);
    assert_string_equal(str(l0, "name"), "fichier");
    assert_int_equal(num(l0, "available"), 3);
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(f->fh, PLT_LEADS_NAME, 1, 0, &ref),
                     0);
    const plt_leads_vt *lv = ref.vtable;
    plt_lead_filter filt = {
        .size = sizeof(filt), .campaign = "demo", .now = INT64_MAX / 2};
    rsv r = {0};
    assert_int_equal(
        lv->reserve(ref.impl, &filt, "test", 10, rsv_row, rsv_done, &r), 0);
    assert_true(fake_http_run_until(f->fh, rsv_finished, &r));
    assert_int_equal(r.status, 0);
    assert_int_equal(r.n, 3);
    b = req(f, "GET", "/contacts?phone=%2B33140000001", "ann", ADM, NULL, 200);
    json_t *c0 = json_array_get(json_object_get(b, "items"), 0);
    assert_string_equal(str(json_object_get(c0, "fields"), "prenom"), "André");
    assert_null(json_object_get(json_object_get(c0, "fields"), "ville"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(preview_import_report, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
