/* SPDX-License-Identifier: MIT */
/*
 * The import report: counters, and every row that was not imported with
 * its line, its reason and its original fields.
 *
 * Counters are accounted on the loop when a batch is committed (from the
 * reasons found while reading and from leads' per-contact results). The
 * rows go to a CSV file - UTF-8 with a BOM and ';' so that French Excel
 * opens it as it is - under <data_dir>/imports/<job>/report.csv, written
 * on the worker as batches are committed, so that memory does not grow
 * with the number of rejected rows. A resumed job truncates the file to
 * the size recorded with its last saved batch and appends from there.
 *
 *   line;reason;detail;<the file's columns>
 *   7;invalid phone;invalid phone '06 12': too short for FR;Dupont;...
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import_csv_int.h"

static const char *const reason_names[] = {
    [IMP_R_NONE] = "",
    [IMP_R_MALFORMED] = "malformed",
    [IMP_R_INVALID_PHONE] = "invalid phone",
    [IMP_R_DUPLICATE] = "duplicate",
    [IMP_R_DNC] = "do-not-call",
};

/* One CSV field, quoted when it must be (separator, quote, line break,
 * leading/trailing space) and with a leading '=' '+' '-' '@' defused so
 * that a spreadsheet does not run it as a formula. */
static void
put_field(FILE *f, const char *s, size_t len)
{
    bool formula = len > 0 && strchr("=+-@", s[0]) != NULL;
    bool quote = formula || (len > 0 && (s[0] == ' ' || s[len - 1] == ' '));
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ';' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        fwrite(s, 1, len, f);
        return;
    }
    putc('"', f);
    if (formula)
        putc('\'', f);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            putc('"', f);
        putc(s[i], f);
    }
    putc('"', f);
}

static void
put_str(FILE *f, const char *s)
{
    put_field(f, s ? s : "", s ? strlen(s) : 0);
}

static int
mkdirs(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return 0;
}

int
import_csv_report_open(imp_job *j)
{
    int rc = mkdirs(j->report_path);
    if (rc != 0) {
        j->werr = rc;
        snprintf(j->werrmsg, sizeof(j->werrmsg), "cannot create %s: %s",
                 j->report_path, strerror(-rc));
        return rc;
    }
    if (j->resumed && j->report_bytes0 > 0) {
        j->report = fopen(j->report_path, "r+b");
        if (j->report) {
            /* Rows after the last saved batch are written again. */
            if (ftruncate(fileno(j->report), (off_t)j->report_bytes0) != 0 ||
                fseeko(j->report, 0, SEEK_END) != 0) {
                fclose(j->report);
                j->report = NULL;
            } else {
                j->report_bytes = j->report_bytes0;
                return 0;
            }
        }
    }
    j->report = fopen(j->report_path, "wb");
    if (!j->report) {
        j->werr = -errno;
        snprintf(j->werrmsg, sizeof(j->werrmsg), "cannot create %s: %s",
                 j->report_path, strerror(errno));
        return j->werr;
    }
    fputs("\xEF\xBB\xBFline;reason;detail", j->report);
    for (size_t i = 0; i < j->ncols; i++) {
        putc(';', j->report);
        put_str(j->report, j->header[i]);
    }
    fputs("\r\n", j->report);
    fflush(j->report);
    j->report_bytes = (int64_t)ftello(j->report);
    return 0;
}

int
import_csv_report_rows(imp_job *j, imp_batch *b)
{
    FILE *f = j->report;
    bool any = false;
    for (size_t i = 0; i < b->nrows; i++) {
        const imp_row *r = &b->rows[i];
        if (r->reject == IMP_R_NONE)
            continue;
        any = true;
        fprintf(f, "%" PRId64 ";", r->line);
        put_str(f, reason_names[r->reject]);
        putc(';', f);
        put_str(f, r->reason);
        for (uint32_t k = 0; k < r->norig; k++) {
            putc(';', f);
            const csv_field *fv = &b->orig[r->first_orig + k];
            put_field(f, fv->ptr, fv->len);
        }
        fputs("\r\n", f);
    }
    /* Flushed per batch: the job row records this size as written. */
    if (any && fflush(f) != 0)
        return PLT_EIO;
    if (ferror(f))
        return PLT_EIO;
    j->report_bytes = (int64_t)ftello(f);
    return 0;
}

void
import_csv_report_close(imp_job *j)
{
    if (!j->report)
        return;
    if (fflush(j->report) != 0 || fsync(fileno(j->report)) != 0)
        if (!j->werr) {
            j->werr = PLT_EIO;
            snprintf(j->werrmsg, sizeof(j->werrmsg),
                     "cannot write the report: %s", strerror(errno));
        }
    fclose(j->report);
    j->report = NULL;
}

/* Count a committed batch. Reasons from leads are copied into the batch
 * (the results are valid only during the callback). */
void
import_csv_report_apply(imp_job *j, imp_batch *b, const plt_lead_added *res,
                        size_t n)
{
    plt_import_counters *c = &j->c;
    c->rows_read += (int64_t)b->nrows + b->recovered;
    c->recovered += b->recovered;
    for (size_t i = 0; i < b->nrows; i++) {
        imp_row *r = &b->rows[i];
        if (r->lead >= 0 && (size_t)r->lead < n) {
            const plt_lead_added *a = &res[r->lead];
            if (a->dnc_phones > 0)
                c->dnc_hits++;
            switch (a->result) {
            case PLT_LEAD_ADDED:
                c->imported++;
                break;
            case PLT_LEAD_DUPLICATE:
                r->reject = IMP_R_DUPLICATE;
                break;
            case PLT_LEAD_DNC_REFUSED:
                r->reject = IMP_R_DNC;
                break;
            case PLT_LEAD_NO_VALID_PHONE:
            default:
                r->reject = IMP_R_INVALID_PHONE;
                break;
            }
            if (r->reject != IMP_R_NONE) {
                char msg[160];
                if (a->reason)
                    snprintf(msg, sizeof(msg), "%s", a->reason);
                else if (r->reject == IMP_R_DUPLICATE && a->contact_id > 0)
                    snprintf(msg, sizeof(msg), "duplicate of contact %" PRId64,
                             a->contact_id);
                else
                    snprintf(msg, sizeof(msg), "%s", reason_names[r->reject]);
                r->reason = import_csv_arena_dup(&b->arena, msg, strlen(msg));
                if (!r->reason)
                    r->reason = reason_names[r->reject];
            }
        }
        switch (r->reject) {
        case IMP_R_MALFORMED:
            c->malformed++;
            break;
        case IMP_R_INVALID_PHONE:
            c->invalid_phones++;
            break;
        case IMP_R_DUPLICATE:
            c->duplicates++;
            break;
        case IMP_R_DNC:
            c->dnc_refused++;
            break;
        default:
            break;
        }
        if (r->reject != IMP_R_NONE)
            c->rejected++;
    }
}

/* ------------------------------------------------------------------ */
/* report(): stream the file in chunks read on a worker */

#define REPORT_CHUNK (64 * 1024)

typedef struct report_req {
    import_csv *ic;
    plt_import_write_fn write;
    plt_import_done_fn done;
    void *arg;
    char path[4096];
    FILE *f;
    int status;
    size_t len;
    bool eof;
    char buf[REPORT_CHUNK];
} report_req;

static void
report_work(void *arg)
{
    report_req *q = arg;
    if (!q->f) {
        q->f = fopen(q->path, "rb");
        if (!q->f) {
            q->status = -errno;
            return;
        }
    }
    if (!q->write) {
        q->eof = true;
        return;
    }
    q->len = fread(q->buf, 1, sizeof(q->buf), q->f);
    if (q->len < sizeof(q->buf)) {
        q->eof = true;
        if (ferror(q->f))
            q->status = PLT_EIO;
    }
}

static void
report_end(report_req *q, int status)
{
    import_csv *ic = q->ic;
    if (q->f)
        fclose(q->f);
    ic->pending--;
    q->done(q->arg, status);
    free(q);
    import_csv_check_stopped(ic);
}

static void
report_done(void *arg, int status)
{
    report_req *q = arg;
    if (status == 0)
        status = q->status;
    if (status == 0 && q->len > 0 && q->write(q->arg, q->buf, q->len) != 0)
        status = PLT_ECANCELED;
    if (status != 0 || q->eof) {
        report_end(q, status);
        return;
    }
    if (q->ic->stopping) {
        report_end(q, PLT_ESHUTDOWN);
        return;
    }
    q->len = 0;
    int rc = plt_queue_work(report_work, report_done, q);
    if (rc != 0)
        report_end(q, rc);
}

int
import_csv_report(void *impl, int64_t job_id, plt_import_write_fn write,
                  plt_import_done_fn done, void *arg)
{
    import_csv *ic = impl;
    if (!done || job_id <= 0)
        return PLT_EINVAL;
    int rc = import_csv_accepting(ic);
    if (rc != 0)
        return rc;
    report_req *q = calloc(1, sizeof(*q));
    if (!q)
        return PLT_ENOMEM;
    q->ic = ic;
    q->write = write;
    q->done = done;
    q->arg = arg;
    import_csv_job_report_path(NULL, job_id, q->path, sizeof(q->path));
    rc = plt_queue_work(report_work, report_done, q);
    if (rc != 0) {
        free(q);
        return rc;
    }
    ic->pending++;
    return 0;
}

int
import_csv_report_path(void *impl, int64_t job_id, char *buf, size_t len)
{
    (void)impl;
    char tmp[4096];
    import_csv_job_report_path(NULL, job_id, tmp, sizeof(tmp));
    if (strlen(tmp) + 1 > len)
        return PLT_ERANGE;
    memcpy(buf, tmp, strlen(tmp) + 1);
    return 0;
}
