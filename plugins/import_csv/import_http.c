/* SPDX-License-Identifier: MIT */
/*
 * Lead files in front of the browser, through the optional `http` service:
 * an admin uploads a CSV and gets its preview (detected settings, the
 * first rows, the suggested mapping) with an upload id; the corrected
 * mapping, the list, its country, the de-duplication scope and an optional
 * campaign start the job; the uploader's sessions receive the job's
 * import.job.* events as they happen (nobody else does); the job's state
 * and its report (the rows not imported, as CSV) can be read at any time;
 * a running job can be cancelled.
 *
 * An upload is kept under <data_dir>/imports/uploads/<id>.csv between the
 * preview and the import (the web plugin removes its own temporary file
 * after the reply); the file is moved there on a worker. Upload ids are 16
 * random hex digits and nothing else is accepted, so a request can never
 * name another file. Without the web plugin nothing is registered.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "http_common.h"
#include "import_http.h"

typedef struct import_http {
    import_csv *ic;
    const plt_http_vt *vt;
    void *impl;
    plt_sub *sub;
    /* job id (decimal string) -> {"login", "campaign"}: who started it,
     * and the campaign its list joins once the list is known. */
    json_t *owners;
} import_http;

static import_http *ih;

static const char *const kind_names[] = {"ignore", "phone", "field"};
static const char *const state_names[] = {
    "", "running", "done", "cancelled", "failed", "interrupted"};

static void
reply_rc(plt_http_req *req, int rc, const char *msg)
{
    htc_reply_rc(ih->vt, ih->impl, req, rc, msg);
}

static int64_t
id_param(plt_http_req *req)
{
    const char *s = ih->vt->param(ih->impl, req, "id");
    char *end = NULL;
    long long v = s ? strtoll(s, &end, 10) : 0;
    return (s && end && !*end && v > 0) ? v : 0;
}

static bool
valid_upload_id(const char *s)
{
    if (!s || strlen(s) != 16)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

static void
upload_file(const char *id, char *buf, size_t len)
{
    snprintf(buf, len, "%s/imports/uploads/%s.csv", plt_data_dir(), id);
}

/* ------------------------------------------------------------------ */
/* POST /imports/preview */

typedef struct preview_ctx {
    plt_http_req *req;
    json_t *reply;
    char id[17];
    char src[4096], dir[4096], dst[4096];
    int err; /* worker: 0 or -errno */
} preview_ctx;

static json_t *
preview_json(const plt_import_preview *p)
{
    json_t *header = json_array(), *mapping = json_array(),
           *rows = json_array();
    for (size_t i = 0; i < p->ncolumns; i++) {
        json_array_append_new(header,
                              json_string(p->header[i] ? p->header[i] : ""));
        const plt_import_column *m = &p->mapping[i];
        int32_t k = m->kind >= 0 && m->kind <= 2 ? m->kind : 0;
        json_array_append_new(mapping,
                              json_pack("{s:s, s:s, s:i, s:s?}", "column",
                                        m->column ? m->column : "", "kind",
                                        kind_names[k], "phone_type",
                                        m->phone_type, "field", m->field));
    }
    for (size_t i = 0; i < p->nrows; i++) {
        json_t *f = json_array();
        for (size_t k = 0; k < p->rows[i].nfields; k++)
            json_array_append_new(
                f,
                json_string(p->rows[i].fields[k] ? p->rows[i].fields[k] : ""));
        json_array_append_new(rows, json_pack("{s:I, s:o, s:s?}", "line",
                                              p->rows[i].line, "fields", f,
                                              "error", p->rows[i].error));
    }
    char sep[3] = {p->separator, 0, 0};
    if (p->separator == '\t')
        snprintf(sep, sizeof(sep), "\\t");
    return json_pack("{s:s, s:s, s:b, s:b, s:o, s:o, s:o, s:I}",
                     "encoding_name", p->encoding_name ? p->encoding_name : "",
                     "separator", sep, "has_bom", p->has_bom, "has_header",
                     p->has_header, "header", header, "mapping", mapping,
                     "rows", rows, "file_size", p->file_size);
}

/* Worker: keep the upload under data_dir until the import starts. A plain
 * rename when both are on one file system, a copy otherwise. */
static void
keep_upload_work(void *arg)
{
    preview_ctx *c = arg;
    char imports[4096];
    snprintf(imports, sizeof(imports), "%s/imports", plt_data_dir());
    if ((mkdir(imports, 0750) != 0 && errno != EEXIST) ||
        (mkdir(c->dir, 0750) != 0 && errno != EEXIST)) {
        c->err = -errno;
        return;
    }
    if (rename(c->src, c->dst) == 0)
        return;
    if (errno != EXDEV) {
        c->err = -errno;
        return;
    }
    FILE *in = fopen(c->src, "rb"), *out = in ? fopen(c->dst, "wb") : NULL;
    char buf[65536];
    size_t n;
    while (out && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            break;
    c->err = (!in || !out || ferror(in) || ferror(out)) ? -EIO : 0;
    if (out && fclose(out) != 0)
        c->err = -EIO;
    if (in)
        fclose(in);
}

static void
keep_upload_done(void *arg, int status)
{
    preview_ctx *c = arg;
    if (status != 0 || c->err != 0)
        ih->vt->reply_error(ih->impl, c->req, 500, "internal",
                            "cannot keep the uploaded file");
    else
        ih->vt->reply_json(ih->impl, c->req, 200, json_incref(c->reply));
    json_decref(c->reply);
    free(c);
}

static void
previewed(void *arg, int status, const plt_import_preview *p, const char *error)
{
    preview_ctx *c = arg;
    if (status != 0 || !p) {
        ih->vt->reply_error(ih->impl, c->req, 400, "invalid_argument",
                            error ? error : plt_strerror(status));
        free(c);
        return;
    }
    const char *name = ih->vt->upload_name(ih->impl, c->req);
    c->reply = json_pack("{s:s, s:s?, s:o}", "upload_id", c->id, "file_name",
                         name, "preview", preview_json(p));
    int rc = c->reply ? plt_queue_work(keep_upload_work, keep_upload_done, c)
                      : PLT_ENOMEM;
    if (rc != 0) {
        reply_rc(c->req, rc, NULL);
        json_decref(c->reply);
        free(c);
    }
}

static void
h_preview(void *arg, plt_http_req *req)
{
    (void)arg;
    const char *path = ih->vt->upload_path(ih->impl, req);
    if (!path) {
        ih->vt->reply_error(ih->impl, req, 400, "invalid_argument",
                            "a CSV file is required");
        return;
    }
    preview_ctx *c = calloc(1, sizeof(*c));
    unsigned char rnd[8];
    if (!c || getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        free(c);
        reply_rc(req, PLT_ENOMEM, NULL);
        return;
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(c->id + 2 * i, 3, "%02x", rnd[i]);
    c->req = req;
    snprintf(c->src, sizeof(c->src), "%s", path);
    snprintf(c->dir, sizeof(c->dir), "%s/imports/uploads", plt_data_dir());
    upload_file(c->id, c->dst, sizeof(c->dst));
    plt_import_preview_req pr = {.size = sizeof(pr), .path = c->src};
    int rc = import_csv_preview(ih->ic, &pr, previewed, c);
    if (rc != 0) {
        reply_rc(req, rc, NULL);
        free(c);
    }
}

/* ------------------------------------------------------------------ */
/* POST /imports */

typedef struct start_ctx {
    plt_http_req *req;
    char *login;
    char *campaign;
    char upload[17];
} start_ctx;

static int32_t
phone_type(json_t *v)
{
    static const char *const names[] = {"unknown", "mobile", "fixed", "work",
                                        "other"};
    if (json_is_integer(v))
        return (int32_t)json_integer_value(v);
    const char *s = json_string_value(v);
    for (int32_t i = 0; s && i < 5; i++)
        if (!strcmp(s, names[i]))
            return i;
    return 0;
}

static void
started(void *arg, int status, int64_t job_id, const char *error)
{
    start_ctx *c = arg;
    if (status != 0 || job_id <= 0) {
        ih->vt->reply_error(ih->impl, c->req, 400, "invalid_argument",
                            error ? error : plt_strerror(status));
    } else {
        char key[32];
        snprintf(key, sizeof(key), "%" PRId64, job_id);
        json_object_set_new(ih->owners, key,
                            json_pack("{s:s, s:s?, s:s}", "login", c->login,
                                      "campaign", c->campaign, "upload",
                                      c->upload));
        ih->vt->audit(ih->impl, c->req, "import.started", key, NULL);
        ih->vt->reply_json(ih->impl, c->req, 202,
                           json_pack("{s:I}", "job_id", job_id));
    }
    free(c->login);
    free(c->campaign);
    free(c);
}

static void
h_start(void *arg, plt_http_req *req)
{
    (void)arg;
    json_t *b = ih->vt->body_json(ih->impl, req);
    const char *upload = json_string_value(json_object_get(b, "upload_id"));
    const char *list = json_string_value(json_object_get(b, "list"));
    const char *camp = json_string_value(json_object_get(b, "campaign"));
    json_t *cols = json_object_get(b, "columns");
    json_int_t dedup = json_is_integer(json_object_get(b, "dedup"))
                           ? json_integer_value(json_object_get(b, "dedup"))
                           : PLT_IMPORT_DEDUP_LIST;
    if (!valid_upload_id(upload) || !list || !*list || dedup < 0 || dedup > 3 ||
        (cols && !json_is_array(cols))) {
        ih->vt->reply_error(ih->impl, req, 400, "invalid_argument",
                            "upload_id and list are required; dedup 0-3");
        return;
    }
    size_t n = json_array_size(cols);
    plt_import_column *map = n ? calloc(n, sizeof(*map)) : NULL;
    start_ctx *c = calloc(1, sizeof(*c));
    const char *login = ih->vt->principal(ih->impl, req)->login;
    if ((n && !map) || !c || !(c->login = strdup(login ? login : "")) ||
        (camp && *camp && !(c->campaign = strdup(camp)))) {
        free(map);
        if (c)
            free(c->login);
        free(c);
        reply_rc(req, PLT_ENOMEM, NULL);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(cols, i);
        const char *kind = json_string_value(json_object_get(e, "kind"));
        map[i].column = json_string_value(json_object_get(e, "column"));
        map[i].kind = kind && !strcmp(kind, "phone")   ? PLT_IMPORT_PHONE
                      : kind && !strcmp(kind, "field") ? PLT_IMPORT_FIELD
                                                       : PLT_IMPORT_IGNORE;
        map[i].phone_type = phone_type(json_object_get(e, "phone_type"));
        map[i].field = json_string_value(json_object_get(e, "field"));
        if (!map[i].column || (map[i].kind == PLT_IMPORT_FIELD &&
                               (!map[i].field || !*map[i].field))) {
            free(map);
            free(c->login);
            free(c->campaign);
            free(c);
            ih->vt->reply_error(ih->impl, req, 400, "invalid_argument",
                                "each column needs a name, and a field name "
                                "when it becomes a field");
            return;
        }
    }
    char path[4096];
    upload_file(upload, path, sizeof(path));
    const char *country = json_string_value(json_object_get(b, "country"));
    const char *dfield = json_string_value(json_object_get(b, "dedup_field"));
    plt_import_spec spec = {
        .size = sizeof(spec),
        .path = path,
        .list = list,
        .create_list = json_is_true(json_object_get(b, "create")),
        .country = country && *country ? country : NULL,
        .columns = map,
        .ncolumns = n,
        /* The browser sends every column with what it becomes. */
        .map_only = n > 0,
        .dedup = (int32_t)dedup,
        .dedup_field = dfield && *dfield ? dfield : NULL,
        .skip_dnc = json_is_true(json_object_get(b, "skip_dnc")),
    };
    c->req = req;
    snprintf(c->upload, sizeof(c->upload), "%s", upload);
    int rc = import_csv_job_start(ih->ic, &spec, started, c, NULL);
    free(map); /* the spec is copied before start returns */
    if (rc != 0) {
        reply_rc(req, rc, NULL);
        free(c->login);
        free(c->campaign);
        free(c);
    }
}

/* ------------------------------------------------------------------ */
/* GET /imports/{id}, report, cancel */

static void
got_status(void *arg, int status, const plt_import_status *st)
{
    plt_http_req *req = arg;
    if (status != 0 || !st) {
        reply_rc(req, status ? status : PLT_ENOENT, NULL);
        return;
    }
    const plt_import_counters *k = &st->counters;
    int32_t s = st->state >= 1 && st->state <= 5 ? st->state : 0;
    ih->vt->reply_json(
        ih->impl, req, 200,
        json_pack("{s:I, s:s, s:s?, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
                  "s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                  "job_id", st->job_id, "status", state_names[s], "error",
                  st->error, "list", st->list, "list_id", st->list_id,
                  "started_at", st->started_at, "finished_at", st->finished_at,
                  "rows_read", k->rows_read, "imported", k->imported,
                  "duplicates", k->duplicates, "invalid_phones",
                  k->invalid_phones, "dnc_hits", k->dnc_hits, "dnc_refused",
                  k->dnc_refused, "malformed", k->malformed, "rejected",
                  k->rejected, "recovered", k->recovered, "bytes_done",
                  k->bytes_done, "bytes_total", k->bytes_total));
}

static void
h_status(void *arg, plt_http_req *req)
{
    (void)arg;
    int64_t id = id_param(req);
    int rc = id ? import_csv_status(ih->ic, id, got_status, req) : PLT_ENOENT;
    if (rc != 0)
        reply_rc(req, rc, NULL);
}

static void
h_report(void *arg, plt_http_req *req)
{
    (void)arg;
    int64_t id = id_param(req);
    char path[4096], name[64];
    if (!id || import_csv_report_path(ih->ic, id, path, sizeof(path)) != 0) {
        reply_rc(req, PLT_ENOENT, NULL);
        return;
    }
    snprintf(name, sizeof(name), "rejets-%" PRId64 ".csv", id);
    /* 404 from the web plugin when the job never wrote a report. */
    ih->vt->reply_file(ih->impl, req, path, "text/csv; charset=utf-8", name);
}

static void
h_cancel(void *arg, plt_http_req *req)
{
    (void)arg;
    int64_t id = id_param(req);
    int rc = id ? import_csv_cancel(ih->ic, id) : PLT_ENOENT;
    if (rc != 0) {
        reply_rc(req, rc, "no such running job");
        return;
    }
    char key[32];
    snprintf(key, sizeof(key), "%" PRId64, id);
    ih->vt->audit(ih->impl, req, "import.cancelled", key, NULL);
    ih->vt->reply_json(ih->impl, req, 202, json_pack("{s:b}", "ok", 1));
}

/* ------------------------------------------------------------------ */
/* events to the uploader */

static void
attached(void *arg, int status, const char *msg)
{
    char *campaign = arg;
    if (status != 0)
        plt_log(PLT_LOG_WARN, "import: cannot attach the list to %s: %s",
                campaign, msg ? msg : plt_strerror(status));
    free(campaign);
}

/* A finished job's upload is not needed any more (an interrupted one is:
 * it is resumed from it). Removed on a worker. */
static void
unlink_work(void *arg)
{
    unlink(arg);
}

static void
unlink_done(void *arg, int status)
{
    (void)status;
    free(arg);
}

/* Uploads previewed and never imported are removed after a day, at start,
 * on a worker. */
#define UPLOAD_KEEP_MS (24 * 3600 * 1000LL)

typedef struct sweep {
    char dir[4096];
    int64_t before_ms;
} sweep;

static void
sweep_work(void *arg)
{
    sweep *w = arg;
    DIR *d = opendir(w->dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[4400];
        struct stat st;
        size_t n = strlen(e->d_name);
        if (n != 20 || strcmp(e->d_name + 16, ".csv") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", w->dir, e->d_name);
        if (stat(path, &st) == 0 && (int64_t)st.st_mtime * 1000 < w->before_ms)
            unlink(path);
    }
    if (d)
        closedir(d);
}

static void
sweep_uploads(void)
{
    sweep *w = calloc(1, sizeof(*w));
    if (!w)
        return;
    snprintf(w->dir, sizeof(w->dir), "%s/imports/uploads", plt_data_dir());
    w->before_ms = plt_now() - UPLOAD_KEEP_MS;
    if (plt_queue_work(sweep_work, unlink_done, w) != 0)
        free(w);
}

static void
forget_upload(const char *id)
{
    char path[4096];
    if (!valid_upload_id(id))
        return;
    upload_file(id, path, sizeof(path));
    char *p = strdup(path);
    if (p && plt_queue_work(unlink_work, unlink_done, p) != 0)
        free(p);
}

static void
on_import_event(const plt_event *ev, void *arg)
{
    (void)arg;
    char key[32];
    snprintf(key, sizeof(key), "%" PRId64, plt_event_i64(ev, "job_id", 0));
    json_t *o = json_object_get(ih->owners, key);
    if (!o)
        return; /* not started from a browser */
    const char *topic = plt_event_topic(ev);
    const char *camp = json_string_value(json_object_get(o, "campaign"));
    int64_t list_id = plt_event_i64(ev, "list_id", 0);
    if (!strcmp(topic, "import.job.started") && camp && list_id > 0 &&
        ih->ic->have_leads) {
        /* The list joins its campaign as soon as it exists, so that its
         * contacts are dialled as they arrive. */
        char *cc = strdup(camp);
        if (cc && ih->ic->leads.vt->list_attach(ih->ic->leads.impl, cc, list_id,
                                                1, attached, cc) != 0)
            free(cc);
    }
    ih->vt->push(ih->impl, json_string_value(json_object_get(o, "login")), 0,
                 topic, htc_event_json(ev));
    if (!strcmp(topic, "import.job.finished")) {
        forget_upload(json_string_value(json_object_get(o, "upload")));
        json_object_del(ih->owners, key);
    }
}

/* ------------------------------------------------------------------ */

#define R(m, p, f, fl, sum)                                                    \
    {                                                                          \
        .size = sizeof(plt_http_route), .method = m, .path = p,                \
        .roles = PLT_HTTP_ADMIN, .flags = PLT_HTTP_TOKEN_OK | (fl), .fn = f,   \
        .summary = sum                                                         \
    }

static const plt_http_route routes[] = {
    R("POST", "/imports/preview", h_preview, PLT_HTTP_UPLOAD,
      "upload a CSV: its settings, first rows and suggested mapping"),
    R("POST", "/imports", h_start, 0,
      "import an upload into a list with a mapping, dedup and country"),
    R("GET", "/imports/{id}", h_status, 0,
      "an import job's state and counters"),
    R("GET", "/imports/{id}/report", h_report, 0,
      "the rows not imported, as CSV"),
    R("POST", "/imports/{id}/cancel", h_cancel, 0,
      "stop a running import after its current batch"),
};

int
import_http_start(import_csv *ic)
{
    plt_service_ref ref;
    int rc = plt_service_acquire(PLT_HTTP_NAME, PLT_HTTP_MAJOR, 0, &ref);
    if (rc == PLT_ENOSERVICE)
        return 0; /* no web plugin */
    if (rc != 0)
        return rc;
    ih = calloc(1, sizeof(*ih));
    if (!ih || !(ih->owners = json_object())) {
        free(ih);
        ih = NULL;
        return PLT_ENOMEM;
    }
    ih->ic = ic;
    ih->vt = ref.vtable;
    ih->impl = ref.impl;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if ((rc = ih->vt->route(ih->impl, &routes[i])) != 0)
            return rc;
    sweep_uploads();
    return plt_subscribe("import.job.*", on_import_event, NULL, &ih->sub);
}

/* Requests in flight are still answered after stop (the web plugin stops
 * after this one): only the events stop here. */
void
import_http_stop(void)
{
    if (ih && ih->sub) {
        plt_unsubscribe(ih->sub);
        ih->sub = NULL;
    }
}

void
import_http_fini(void)
{
    if (!ih)
        return;
    json_decref(ih->owners);
    free(ih);
    ih = NULL;
}
