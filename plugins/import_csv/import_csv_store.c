/* SPDX-License-Identifier: MIT */
/*
 * The job table: what import_csv keeps in the database so that an import
 * interrupted by a crash can be found and continued, and its counters and
 * report read later. One row per job (import_job): the file's identity
 * (path, size, mtime, a hash of its first 64 KiB), the target list, the
 * job's settings as JSON (jansson), its state, its counters, and the
 * point where reading resumes (byte offset, line, report size) as of the
 * last batch whose report rows were written.
 *
 * The leads service stores its own progress value in the transaction of
 * each batch; the row here may lag it by a batch (it is written after),
 * which the job treats as "recovered" rows on resume (see import.h).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "import_csv_int.h"

const plt_storage_migration import_csv_migrations[] = {
    {.version = 1,
     .name = "create import_job",
     .sql = "CREATE TABLE import_job ("
            " id PLT_ID,"
            " path TEXT NOT NULL,"
            " file_size BIGINT NOT NULL,"
            " file_mtime BIGINT NOT NULL,"
            " file_hash TEXT NOT NULL,"
            " list_id BIGINT NOT NULL,"
            " list_name TEXT,"
            " settings TEXT NOT NULL,"
            " status TEXT NOT NULL,"
            " error TEXT,"
            " resume_offset BIGINT NOT NULL DEFAULT 0,"
            " resume_line BIGINT NOT NULL DEFAULT 1,"
            " report_bytes BIGINT NOT NULL DEFAULT 0,"
            " rows_read BIGINT NOT NULL DEFAULT 0,"
            " imported BIGINT NOT NULL DEFAULT 0,"
            " duplicates BIGINT NOT NULL DEFAULT 0,"
            " invalid_phones BIGINT NOT NULL DEFAULT 0,"
            " dnc_hits BIGINT NOT NULL DEFAULT 0,"
            " dnc_refused BIGINT NOT NULL DEFAULT 0,"
            " malformed BIGINT NOT NULL DEFAULT 0,"
            " rejected BIGINT NOT NULL DEFAULT 0,"
            " recovered BIGINT NOT NULL DEFAULT 0,"
            " bytes_done BIGINT NOT NULL DEFAULT 0,"
            " bytes_total BIGINT NOT NULL DEFAULT 0,"
            " started_at BIGINT NOT NULL,"
            " finished_at BIGINT NOT NULL DEFAULT 0)"},
    {.version = 2,
     .name = "index import_job by file",
     .sql = "CREATE INDEX import_job_file ON import_job (file_hash, "
            "file_size)"},
};
const size_t import_csv_nmigrations =
    sizeof(import_csv_migrations) / sizeof(import_csv_migrations[0]);

static const char *const state_names[] = {
    [PLT_IMPORT_RUNNING] = "running",     [PLT_IMPORT_DONE] = "done",
    [PLT_IMPORT_CANCELLED] = "cancelled", [PLT_IMPORT_FAILED] = "failed",
    [PLT_IMPORT_INTERRUPTED] = "interrupted"};

const char *
import_csv_state_name(int32_t state)
{
    if (state >= PLT_IMPORT_RUNNING && state <= PLT_IMPORT_INTERRUPTED)
        return state_names[state];
    return "unknown";
}

static int32_t
state_from_name(const char *s)
{
    for (int32_t i = PLT_IMPORT_RUNNING; i <= PLT_IMPORT_INTERRUPTED; i++)
        if (s && strcmp(s, state_names[i]) == 0)
            return i;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Specs: copy, free, JSON */

static int
dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : PLT_ENOMEM;
}

void
import_csv_spec_free(imp_spec *s)
{
    free(s->path);
    free(s->list);
    free(s->country);
    free(s->prefix);
    free(s->dedup_field);
    for (size_t i = 0; i < s->ncolumns; i++) {
        free((char *)s->columns[i].column);
        free((char *)s->columns[i].field);
    }
    free(s->columns);
    memset(s, 0, sizeof(*s));
}

int
import_csv_spec_copy(imp_spec *d, const plt_import_spec *s)
{
    memset(d, 0, sizeof(*d));
    int rc = 0;
    rc |= dup_opt(&d->path, s->path);
    rc |= dup_opt(&d->list, s->list);
    rc |= dup_opt(&d->country, s->country);
    rc |= dup_opt(&d->prefix, s->prefix);
    rc |= dup_opt(&d->dedup_field, s->dedup_field);
    if (rc == 0 && s->ncolumns > 0) {
        d->columns = calloc(s->ncolumns, sizeof(*d->columns));
        if (!d->columns)
            rc = PLT_ENOMEM;
        for (size_t i = 0; rc == 0 && i < s->ncolumns; i++) {
            d->ncolumns = i + 1;
            d->columns[i].kind = s->columns[i].kind;
            d->columns[i].phone_type = s->columns[i].phone_type;
            char *c = NULL, *f = NULL;
            rc |= dup_opt(&c, s->columns[i].column);
            rc |= dup_opt(&f, s->columns[i].field);
            d->columns[i].column = c;
            d->columns[i].field = f;
        }
    }
    d->list_id = s->list_id;
    d->create_list = s->create_list;
    d->restore_lost_zero = s->restore_lost_zero;
    d->read = s->read;
    d->map_only = s->map_only;
    d->dedup = s->dedup;
    d->skip_dnc = s->skip_dnc;
    d->resume_job = s->resume_job;
    d->auto_resume = s->auto_resume;
    if (rc != 0) {
        import_csv_spec_free(d);
        return PLT_ENOMEM;
    }
    return 0;
}

char *
import_csv_spec_to_json(const imp_spec *s)
{
    json_t *o = json_object();
    json_t *cols = json_array();
    if (!o || !cols) {
        json_decref(o);
        json_decref(cols);
        return NULL;
    }
    char sep[2] = {s->read.separator, 0};
    json_object_set_new(o, "path", json_string(s->path));
    if (s->list)
        json_object_set_new(o, "list", json_string(s->list));
    json_object_set_new(o, "list_id", json_integer(s->list_id));
    json_object_set_new(o, "create_list", json_boolean(s->create_list));
    if (s->country)
        json_object_set_new(o, "country", json_string(s->country));
    if (s->prefix)
        json_object_set_new(o, "prefix", json_string(s->prefix));
    json_object_set_new(o, "restore_lost_zero",
                        json_boolean(s->restore_lost_zero));
    json_object_set_new(o, "encoding", json_integer(s->read.encoding));
    json_object_set_new(o, "separator", json_string(sep));
    json_object_set_new(o, "no_header", json_boolean(s->read.no_header));
    json_object_set_new(o, "map_only", json_boolean(s->map_only));
    json_object_set_new(o, "dedup", json_integer(s->dedup));
    if (s->dedup_field)
        json_object_set_new(o, "dedup_field", json_string(s->dedup_field));
    json_object_set_new(o, "skip_dnc", json_boolean(s->skip_dnc));
    for (size_t i = 0; i < s->ncolumns; i++) {
        const plt_import_column *c = &s->columns[i];
        json_t *e = json_pack("{s:s?, s:i, s:i, s:s?}", "column", c->column,
                              "kind", (int)c->kind, "phone_type",
                              (int)c->phone_type, "field", c->field);
        if (e)
            json_array_append_new(cols, e);
    }
    json_object_set_new(o, "columns", cols);
    char *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

static int
get_str(json_t *o, const char *k, char **out)
{
    json_t *v = json_object_get(o, k);
    return dup_opt(out, json_is_string(v) ? json_string_value(v) : NULL);
}

int
import_csv_spec_from_json(const char *text, imp_spec *s)
{
    memset(s, 0, sizeof(*s));
    json_error_t err;
    json_t *o = json_loads(text, 0, &err);
    if (!json_is_object(o)) {
        json_decref(o);
        return PLT_EINVAL;
    }
    int rc = 0;
    rc |= get_str(o, "path", &s->path);
    rc |= get_str(o, "list", &s->list);
    rc |= get_str(o, "country", &s->country);
    rc |= get_str(o, "prefix", &s->prefix);
    rc |= get_str(o, "dedup_field", &s->dedup_field);
    s->list_id = json_integer_value(json_object_get(o, "list_id"));
    s->create_list = json_is_true(json_object_get(o, "create_list"));
    s->restore_lost_zero =
        json_is_true(json_object_get(o, "restore_lost_zero"));
    s->read.encoding =
        (int32_t)json_integer_value(json_object_get(o, "encoding"));
    const char *sep = json_string_value(json_object_get(o, "separator"));
    s->read.separator = sep ? sep[0] : 0;
    s->read.no_header = json_is_true(json_object_get(o, "no_header"));
    s->map_only = json_is_true(json_object_get(o, "map_only"));
    s->dedup = (int32_t)json_integer_value(json_object_get(o, "dedup"));
    s->skip_dnc = json_is_true(json_object_get(o, "skip_dnc"));
    json_t *cols = json_object_get(o, "columns");
    size_t n = json_array_size(cols);
    if (rc == 0 && n > 0) {
        s->columns = calloc(n, sizeof(*s->columns));
        if (!s->columns)
            rc = PLT_ENOMEM;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            json_t *e = json_array_get(cols, i);
            char *c = NULL, *f = NULL;
            s->ncolumns = i + 1;
            rc |= get_str(e, "column", &c);
            rc |= get_str(e, "field", &f);
            s->columns[i].column = c;
            s->columns[i].field = f;
            s->columns[i].kind =
                (int32_t)json_integer_value(json_object_get(e, "kind"));
            s->columns[i].phone_type =
                (int32_t)json_integer_value(json_object_get(e, "phone_type"));
        }
    }
    json_decref(o);
    if (rc != 0 || !s->path) {
        import_csv_spec_free(s);
        return rc != 0 ? PLT_ENOMEM : PLT_EINVAL;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Rows */

#define COUNTER_COLS                                                         \
    "rows_read, imported, duplicates, invalid_phones, dnc_hits, "           \
    "dnc_refused, malformed, rejected, recovered, bytes_done, bytes_total"

static int64_t
col_i64(const plt_storage_row *r, size_t i)
{
    if (i >= r->ncols)
        return 0;
    const plt_value *v = &r->vals[i];
    if (v->type == PLT_T_I64 || v->type == PLT_T_BOOL || v->type == PLT_T_TIME)
        return v->v.i;
    if (v->type == PLT_T_DOUBLE)
        return (int64_t)v->v.d;
    return 0;
}

static const char *
col_str(const plt_storage_row *r, size_t i)
{
    if (i >= r->ncols || r->vals[i].type != PLT_T_STR)
        return NULL;
    return r->vals[i].v.s;
}

static void
counters_from_row(const plt_storage_row *r, size_t at, plt_import_counters *c)
{
    c->size = sizeof(*c);
    c->rows_read = col_i64(r, at + 0);
    c->imported = col_i64(r, at + 1);
    c->duplicates = col_i64(r, at + 2);
    c->invalid_phones = col_i64(r, at + 3);
    c->dnc_hits = col_i64(r, at + 4);
    c->dnc_refused = col_i64(r, at + 5);
    c->malformed = col_i64(r, at + 6);
    c->rejected = col_i64(r, at + 7);
    c->recovered = col_i64(r, at + 8);
    c->bytes_done = col_i64(r, at + 9);
    c->bytes_total = col_i64(r, at + 10);
}

static void
counters_args(const plt_import_counters *c, plt_value *a)
{
    a[0] = plt_v_i64(c->rows_read);
    a[1] = plt_v_i64(c->imported);
    a[2] = plt_v_i64(c->duplicates);
    a[3] = plt_v_i64(c->invalid_phones);
    a[4] = plt_v_i64(c->dnc_hits);
    a[5] = plt_v_i64(c->dnc_refused);
    a[6] = plt_v_i64(c->malformed);
    a[7] = plt_v_i64(c->rejected);
    a[8] = plt_v_i64(c->recovered);
    a[9] = plt_v_i64(c->bytes_done);
    a[10] = plt_v_i64(c->bytes_total);
}

/* A job row read for resuming: the columns of RESUME_SQL in order. */
#define RESUME_COLS                                                          \
    "id, path, file_size, file_mtime, file_hash, list_id, list_name, "      \
    "settings, status, resume_offset, resume_line, report_bytes, "          \
    "started_at, " COUNTER_COLS

typedef struct found {
    bool any;
    int64_t id;
    char *path;
    int64_t size, mtime;
    char hash[17];
    int64_t list_id;
    char *settings;
    int32_t state;
    int64_t offset, line, report_bytes, started_at;
    plt_import_counters c;
} found;

typedef struct store_req {
    imp_job *j;
    found f;
} store_req;

static int
resume_row(void *arg, const plt_storage_row *r)
{
    found *f = &((store_req *)arg)->f;
    if (f->any)
        return 0;
    f->any = true;
    f->id = col_i64(r, 0);
    const char *p = col_str(r, 1), *h = col_str(r, 4), *s = col_str(r, 7);
    f->path = p ? strdup(p) : NULL;
    f->size = col_i64(r, 2);
    f->mtime = col_i64(r, 3);
    snprintf(f->hash, sizeof(f->hash), "%s", h ? h : "");
    f->list_id = col_i64(r, 5);
    f->settings = s ? strdup(s) : NULL;
    f->state = state_from_name(col_str(r, 8));
    f->offset = col_i64(r, 9);
    f->line = col_i64(r, 10);
    f->report_bytes = col_i64(r, 11);
    f->started_at = col_i64(r, 12);
    counters_from_row(r, 13, &f->c);
    return 0;
}

static void
found_free(found *f)
{
    free(f->path);
    free(f->settings);
}

/* Adopt a found row as the job being resumed. */
static int
adopt(imp_job *j, found *f)
{
    j->id = f->id;
    j->resumed = true;
    j->spec.list_id = f->list_id;
    j->start_offset = (uint64_t)f->offset;
    j->start_line = f->line > 0 ? (uint64_t)f->line : 1;
    j->report_bytes0 = f->report_bytes;
    j->started_at = f->started_at;
    j->c = f->c;
    j->c.size = sizeof(j->c);
    j->c.bytes_done = f->offset;
    return 0;
}

static void
load_done(void *arg, int status, const plt_storage_result *res)
{
    store_req *q = arg;
    imp_job *j = q->j;
    j->pending--;
    if (status != 0) {
        import_csv_job_fail(j, status, "cannot read job %" PRId64 ": %s",
                            j->spec.resume_job, res->error ? res->error : "");
    } else if (!q->f.any) {
        import_csv_job_fail(j, PLT_ENOENT, "no import job %" PRId64,
                            j->spec.resume_job);
    } else if (q->f.state == PLT_IMPORT_DONE ||
               q->f.state == PLT_IMPORT_CANCELLED ||
               q->f.state == PLT_IMPORT_FAILED) {
        import_csv_job_fail(j, PLT_ESTATE,
                            "import job %" PRId64 " is %s: nothing to resume",
                            q->f.id, import_csv_state_name(q->f.state));
    } else {
        imp_spec s;
        int rc = q->f.settings ? import_csv_spec_from_json(q->f.settings, &s)
                               : PLT_EINVAL;
        if (rc != 0) {
            import_csv_job_fail(j, rc, "job %" PRId64 ": unreadable settings",
                                q->f.id);
        } else {
            /* The stored settings win: the offsets only mean something
             * with the separator and encoding the job began with. */
            int64_t want = j->spec.resume_job;
            import_csv_spec_free(&j->spec);
            j->spec = s;
            j->spec.resume_job = want;
            adopt(j, &q->f);
            /* Kept to compare with the file as it is now. */
            snprintf(j->file_hash, sizeof(j->file_hash), "%s", q->f.hash);
            j->file_size = (uint64_t)q->f.size;
            j->file_mtime = q->f.mtime;
            j->phase = IMP_P_OPEN;
            import_csv_job_step(j);
        }
    }
    found_free(&q->f);
    free(q);
}

int
import_csv_store_load(imp_job *j)
{
    store_req *q = calloc(1, sizeof(*q));
    if (!q)
        return PLT_ENOMEM;
    q->j = j;
    plt_value a[1] = {plt_v_i64(j->spec.resume_job)};
    int rc = plt_storage_exec(&j->ic->st,
                              "SELECT " RESUME_COLS
                              " FROM import_job WHERE id = $1",
                              a, 1, 0, resume_row, load_done, q);
    if (rc != 0) {
        free(q);
        return rc;
    }
    j->pending++;
    return 0;
}

static void
find_done(void *arg, int status, const plt_storage_result *res)
{
    store_req *q = arg;
    imp_job *j = q->j;
    j->pending--;
    if (status != 0) {
        import_csv_job_fail(j, status, "cannot look for unfinished jobs: %s",
                            res->error ? res->error : "");
    } else {
        if (q->f.any) {
            adopt(j, &q->f);
            /* The list was fixed when the job began. */
            plt_log(PLT_LOG_INFO,
                    "resuming unfinished import job %" PRId64 " at byte %" PRId64,
                    q->f.id, q->f.offset);
        }
        j->phase = IMP_P_LIST;
        import_csv_job_step(j);
    }
    found_free(&q->f);
    free(q);
}

/* An unfinished job of the same file (identity) into the same list. */
int
import_csv_store_find(imp_job *j)
{
    store_req *q = calloc(1, sizeof(*q));
    if (!q)
        return PLT_ENOMEM;
    q->j = j;
    plt_value a[6] = {plt_v_str(j->file_hash),
                      plt_v_i64((int64_t)j->file_size),
                      plt_v_i64(j->file_mtime),
                      plt_v_str(j->spec.path),
                      j->spec.list ? plt_v_str(j->spec.list) : plt_v_null(),
                      plt_v_i64(j->spec.list_id)};
    int rc = plt_storage_exec(
        &j->ic->st,
        "SELECT " RESUME_COLS " FROM import_job"
        " WHERE file_hash = $1 AND file_size = $2 AND file_mtime = $3"
        " AND path = $4 AND status IN ('running', 'interrupted')"
        " AND (list_name = $5 OR list_id = $6)"
        " ORDER BY id DESC LIMIT 1",
        a, 6, 0, resume_row, find_done, q);
    if (rc != 0) {
        free(q);
        return rc;
    }
    j->pending++;
    return 0;
}

static int
insert_row(void *arg, const plt_storage_row *r)
{
    imp_job *j = arg;
    j->id = col_i64(r, 0);
    return 0;
}

static void
insert_done(void *arg, int status, const plt_storage_result *res)
{
    imp_job *j = arg;
    j->pending--;
    if (status != 0 || j->id <= 0) {
        import_csv_job_fail(j, status ? status : PLT_EDB,
                            "cannot record the job: %s",
                            res->error ? res->error : "no id");
        return;
    }
    import_csv_job_report_path(j, j->id, j->report_path,
                               sizeof(j->report_path));
    j->phase = IMP_P_PROGRESS;
    import_csv_job_step(j);
}

int
import_csv_store_insert(imp_job *j)
{
    plt_value a[11] = {
        plt_v_str(j->spec.path),
        plt_v_i64((int64_t)j->file_size),
        plt_v_i64(j->file_mtime),
        plt_v_str(j->file_hash),
        plt_v_i64(j->spec.list_id),
        j->spec.list ? plt_v_str(j->spec.list) : plt_v_null(),
        plt_v_str(j->settings_json),
        plt_v_str("running"),
        plt_v_i64((int64_t)j->file_size),
        plt_v_time(j->started_at),
        plt_v_i64(1),
    };
    int rc = plt_storage_exec(
        &j->ic->st,
        "INSERT INTO import_job (path, file_size, file_mtime, file_hash,"
        " list_id, list_name, settings, status, bytes_total, started_at,"
        " resume_line) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " RETURNING id",
        a, 11, PLT_STORAGE_WRITE, insert_row, insert_done, j);
    if (rc == 0)
        j->pending++;
    return rc;
}

static void
running_done(void *arg, int status, const plt_storage_result *res)
{
    imp_job *j = arg;
    j->pending--;
    if (status != 0) {
        import_csv_job_fail(j, status, "cannot mark the job running: %s",
                            res->error ? res->error : "");
        return;
    }
    import_csv_job_report_path(j, j->id, j->report_path,
                               sizeof(j->report_path));
    j->phase = IMP_P_PROGRESS;
    import_csv_job_step(j);
}

int
import_csv_store_running(imp_job *j)
{
    plt_value a[2] = {plt_v_i64(j->id), plt_v_str("running")};
    int rc = plt_storage_exec(&j->ic->st,
                              "UPDATE import_job SET status = $2, error = NULL"
                              " WHERE id = $1",
                              a, 2, PLT_STORAGE_WRITE, NULL, running_done, j);
    if (rc == 0)
        j->pending++;
    return rc;
}

static void
persist_done(void *arg, int status, const plt_storage_result *res)
{
    imp_job *j = arg;
    j->pending--;
    j->persisting = false;
    if (status != 0)
        plt_log(PLT_LOG_WARN, "import job %" PRId64 ": cannot save progress: %s",
                j->id, res->error ? res->error : plt_strerror(status));
    if (j->persist_again) {
        j->persist_again = false;
        (void)import_csv_store_persist(j);
        return;
    }
    import_csv_job_step(j);
}

/* Write the latest snapshot (persist_*); coalesces while one is running.
 * In FINISHING it also writes the final state. */
int
import_csv_store_persist(imp_job *j)
{
    if (j->persisting) {
        j->persist_again = true;
        return 0;
    }
    bool final = j->phase == IMP_P_FINISHING;
    const char *state =
        import_csv_state_name(final ? j->end_state : PLT_IMPORT_RUNNING);
    plt_value a[11 + 7];
    counters_args(&j->persist_snap, a);
    a[11] = plt_v_i64(j->id);
    a[12] = plt_v_i64((int64_t)j->persist_offset);
    a[13] = plt_v_i64((int64_t)j->persist_line);
    a[14] = plt_v_i64(j->persist_report);
    a[15] = plt_v_str(state);
    a[16] = j->error && final ? plt_v_str(j->error) : plt_v_null();
    a[17] = plt_v_time(final ? j->finished_at : 0);
    int rc = plt_storage_exec(
        &j->ic->st,
        "UPDATE import_job SET rows_read = $1, imported = $2,"
        " duplicates = $3, invalid_phones = $4, dnc_hits = $5,"
        " dnc_refused = $6, malformed = $7, rejected = $8, recovered = $9,"
        " bytes_done = $10, bytes_total = $11, resume_offset = $13,"
        " resume_line = $14, report_bytes = $15, status = $16, error = $17,"
        " finished_at = $18 WHERE id = $12",
        a, 18, PLT_STORAGE_WRITE, NULL, persist_done, j);
    if (rc == 0) {
        j->pending++;
        j->persisting = true;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* status() */

typedef struct status_req {
    import_csv *ic;
    plt_import_status_fn cb;
    void *arg;
    bool any;
    plt_import_status st;
    char *path, *list, *error;
    char report[4096];
} status_req;

static int
status_row(void *arg, const plt_storage_row *r)
{
    status_req *q = arg;
    q->any = true;
    q->st.job_id = col_i64(r, 0);
    const char *p = col_str(r, 1), *l = col_str(r, 2), *e = col_str(r, 4);
    q->path = p ? strdup(p) : NULL;
    q->list = l ? strdup(l) : NULL;
    q->error = e ? strdup(e) : NULL;
    q->st.state = state_from_name(col_str(r, 3));
    q->st.list_id = col_i64(r, 5);
    q->st.started_at = col_i64(r, 6);
    q->st.finished_at = col_i64(r, 7);
    counters_from_row(r, 8, &q->st.counters);
    return 0;
}

static void
status_done(void *arg, int status, const plt_storage_result *res)
{
    (void)res;
    status_req *q = arg;
    import_csv *ic = q->ic;
    ic->pending--;
    if (status == 0 && !q->any)
        status = PLT_ENOENT;
    if (status == 0) {
        /* A job left 'running' by a process that died is interrupted. */
        if (q->st.state == PLT_IMPORT_RUNNING)
            q->st.state = PLT_IMPORT_INTERRUPTED;
        q->st.path = q->path;
        q->st.list = q->list;
        q->st.error = q->error;
        import_csv_report_path(ic, q->st.job_id, q->report,
                               sizeof(q->report));
        q->st.report_path = q->report;
        q->cb(q->arg, 0, &q->st);
    } else {
        q->cb(q->arg, status, NULL);
    }
    free(q->path);
    free(q->list);
    free(q->error);
    free(q);
    import_csv_check_stopped(ic);
}

static void
status_now(void *arg)
{
    status_req *q = arg;
    import_csv *ic = q->ic;
    imp_job *j = import_csv_job_find(ic, q->st.job_id);
    ic->pending--;
    if (!j) {
        q->cb(q->arg, PLT_ENOENT, NULL);
    } else {
        q->st.state = j->state;
        q->st.error = j->error;
        q->st.path = j->spec.path;
        q->st.list = j->spec.list;
        q->st.list_id = j->spec.list_id;
        q->st.report_path = j->report_path;
        q->st.started_at = j->started_at;
        q->st.finished_at = j->finished_at;
        q->st.counters = j->c;
        q->cb(q->arg, 0, &q->st);
    }
    free(q);
    import_csv_check_stopped(ic);
}

int
import_csv_status(void *impl, int64_t job_id, plt_import_status_fn cb,
                  void *arg)
{
    import_csv *ic = impl;
    if (!cb)
        return PLT_EINVAL;
    int rc = import_csv_accepting(ic);
    if (rc != 0)
        return rc;
    status_req *q = calloc(1, sizeof(*q));
    if (!q)
        return PLT_ENOMEM;
    q->ic = ic;
    q->cb = cb;
    q->arg = arg;
    q->st.job_id = job_id;
    /* A job running here answers from memory, asynchronously as promised. */
    if (import_csv_job_find(ic, job_id)) {
        rc = plt_post(status_now, q);
    } else {
        plt_value a[1] = {plt_v_i64(job_id)};
        rc = plt_storage_exec(&ic->st,
                              "SELECT id, path, list_name, status, error,"
                              " list_id, started_at, finished_at, " COUNTER_COLS
                              " FROM import_job WHERE id = $1",
                              a, 1, 0, status_row, status_done, q);
    }
    if (rc != 0) {
        free(q);
        return rc;
    }
    ic->pending++;
    return 0;
}
