/* SPDX-License-Identifier: MIT */
/*
 * preview(): what the import would see, before anything is imported - the
 * detected (or forced) separator and encoding, the header, the first rows
 * as UTF-8 and the mapping suggested from the header names (the same code
 * as a job's mapping with nothing forced). The file is read on a worker
 * (its first 64 KiB are enough); the result is built there and handed to
 * the callback on the loop, then freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "import_csv_int.h"

typedef struct preview_req {
    import_csv *ic;
    plt_import_preview_fn cb;
    void *arg;
    char *path;
    unsigned char *bytes;
    size_t len;
    plt_import_read read;
    /* Result, built on the worker. */
    int status;
    char error[256];
    csv_sniff_result sr;
    bool have_sr;
    plt_import_preview p;
    char **colnames;   /* n, owned */
    imp_col *cols;     /* n, field names owned */
    plt_import_column *mapping;
    plt_import_row rows[CSV_SNIFF_ROWS];
    const char **rowfields[CSV_SNIFF_ROWS];
} preview_req;

static void
req_free(preview_req *q)
{
    size_t n = q->p.ncolumns;
    if (q->have_sr)
        csv_sniff_free(&q->sr);
    for (size_t i = 0; i < n; i++) {
        free(q->colnames ? q->colnames[i] : NULL);
        free(q->cols ? q->cols[i].field : NULL);
    }
    for (size_t i = 0; i < CSV_SNIFF_ROWS; i++)
        free(q->rowfields[i]);
    free(q->colnames);
    free(q->cols);
    free(q->mapping);
    free(q->path);
    free(q->bytes);
    free(q);
}

static int
build(preview_req *q)
{
    csv_sniff_result *r = &q->sr;
    bool has_header = r->header.nfields > 0 && !q->read.no_header;
    size_t n = r->header.nfields;
    for (size_t i = 0; i < r->nrows; i++)
        if (!has_header && r->rows[i].nfields > n)
            n = r->rows[i].nfields;
    q->p.encoding = (int32_t)r->encoding;
    q->p.encoding_name = csv_encoding_name(r->encoding);
    q->p.separator = r->separator;
    q->p.has_bom = r->has_bom;
    q->p.has_header = has_header;
    q->colnames = calloc(n + 1, sizeof(*q->colnames));
    q->mapping = calloc(n + 1, sizeof(*q->mapping));
    if (!q->colnames || !q->mapping)
        return PLT_ENOMEM;
    q->p.ncolumns = n;
    for (size_t i = 0; i < n; i++) {
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "#%zu", i + 1);
        q->colnames[i] = strdup(has_header ? r->header.fields[i].ptr : tmp);
        if (!q->colnames[i])
            return PLT_ENOMEM;
    }
    /* The suggestion is a job's mapping with nothing forced. */
    imp_job tmpjob;
    memset(&tmpjob, 0, sizeof(tmpjob));
    tmpjob.header = q->colnames;
    tmpjob.ncols = n;
    tmpjob.has_header = has_header;
    char why[128];
    int rc = import_csv_map_columns(&tmpjob, why, sizeof(why));
    q->cols = tmpjob.cols;
    if (rc == PLT_ENOMEM)
        return rc;
    /* No phone column is worth showing in a preview, not an error. */
    for (size_t i = 0; i < n && q->cols; i++) {
        q->mapping[i].column = q->colnames[i];
        q->mapping[i].kind = q->cols[i].kind;
        q->mapping[i].phone_type = q->cols[i].phone_type;
        q->mapping[i].field = q->cols[i].field;
    }
    q->p.header = (const char *const *)q->colnames;
    q->p.mapping = q->mapping;
    for (size_t i = 0; i < r->nrows; i++) {
        const csv_row *cr = &r->rows[i];
        q->rows[i].line = (int64_t)cr->line;
        if (cr->status != CSV_OK && cr->status != CSV_RAGGED)
            q->rows[i].error = cr->status == CSV_UNBALANCED_QUOTE
                                   ? "a quote is not closed"
                                   : "unreadable record";
        q->rowfields[i] = calloc(cr->nfields + 1, sizeof(char *));
        if (!q->rowfields[i])
            return PLT_ENOMEM;
        for (size_t k = 0; k < cr->nfields; k++)
            q->rowfields[i][k] = cr->fields[k].ptr;
        q->rows[i].fields = q->rowfields[i];
        q->rows[i].nfields = cr->nfields;
    }
    q->p.rows = q->rows;
    q->p.nrows = r->nrows;
    return 0;
}

static void
preview_work(void *arg)
{
    preview_req *q = arg;
    if (q->path) {
        FILE *f = fopen(q->path, "rb");
        struct stat st;
        if (!f || fstat(fileno(f), &st) != 0) {
            q->status = -errno;
            snprintf(q->error, sizeof(q->error), "%s: %s", q->path,
                     strerror(errno));
            if (f)
                fclose(f);
            return;
        }
        q->p.file_size = st.st_size;
        q->bytes = malloc(IMP_HASH_BYTES);
        if (!q->bytes) {
            fclose(f);
            q->status = PLT_ENOMEM;
            return;
        }
        q->len = fread(q->bytes, 1, IMP_HASH_BYTES, f);
        fclose(f);
        if (q->len == 0) {
            q->status = PLT_EINVAL;
            snprintf(q->error, sizeof(q->error), "%s: the file is empty",
                     q->path);
            return;
        }
    }
    csv_options o;
    memset(&o, 0, sizeof(o));
    o.separator = q->read.separator;
    o.encoding = (csv_encoding)q->read.encoding;
    o.no_header = q->read.no_header;
    q->status = csv_sniff_with(q->bytes, q->len, &o, &q->sr);
    q->have_sr = true;
    if (q->status == 0)
        q->status = build(q);
    if (q->status != 0 && !q->error[0])
        snprintf(q->error, sizeof(q->error), "%s", plt_strerror(q->status));
}

static void
preview_done(void *arg, int status)
{
    preview_req *q = arg;
    import_csv *ic = q->ic;
    ic->pending--;
    if (status == 0)
        status = q->status;
    if (status == 0)
        q->cb(q->arg, 0, &q->p, NULL);
    else
        q->cb(q->arg, status, NULL, q->error[0] ? q->error : NULL);
    req_free(q);
    import_csv_check_stopped(ic);
}

int
import_csv_preview(void *impl, const plt_import_preview_req *req,
                   plt_import_preview_fn cb, void *arg)
{
    import_csv *ic = impl;
    if (!req || !cb || (!req->path && (!req->bytes || req->len == 0)))
        return PLT_EINVAL;
    int rc = import_csv_accepting(ic);
    if (rc != 0)
        return rc;
    preview_req *q = calloc(1, sizeof(*q));
    if (!q)
        return PLT_ENOMEM;
    q->ic = ic;
    q->cb = cb;
    q->arg = arg;
    q->read = req->read;
    q->p.file_size = -1;
    if (req->path) {
        q->path = strdup(req->path);
    } else {
        /* A copy: the caller's buffer is theirs once this returns. */
        q->len = req->len < IMP_HASH_BYTES ? req->len : IMP_HASH_BYTES;
        q->bytes = malloc(q->len);
        if (q->bytes)
            memcpy(q->bytes, req->bytes, q->len);
    }
    if (!q->path && !q->bytes) {
        free(q);
        return PLT_ENOMEM;
    }
    rc = plt_queue_work(preview_work, preview_done, q);
    if (rc != 0) {
        req_free(q);
        return rc;
    }
    ic->pending++;
    return 0;
}
