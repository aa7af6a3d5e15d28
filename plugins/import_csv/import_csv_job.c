/* SPDX-License-Identifier: MIT */
/*
 * The import job: a state machine on the loop thread that drives one file
 * into one list.
 *
 *   LOAD (resume_job: read its row) -> OPEN (worker: file identity, sniff,
 *   header; then the mapping) -> FIND (auto_resume: an unfinished job of
 *   the same file and list) -> LIST (find or create) -> RECORD (insert the
 *   job row, or mark the resumed one running) -> PROGRESS (the leads
 *   progress value of a resumed job) -> RUN -> FINISHING -> ENDED.
 *
 * RUN is a pipeline with bounded memory. One work item at a time per job
 * owns the file, the CSV reader and the report file: it appends the report
 * rows of batches already committed, then parses and maps the next batch
 * (import_csv_worker.c). The loop sends parsed batches to leads add_batch()
 * one at a time, each with progress value = the offset where reading
 * resumes after it. At most max_batches_in_flight batches are parsed and
 * not yet committed, so memory does not grow with the file. After its
 * report rows are written, a batch's counters and resume point are saved in
 * the job row (coalesced), and the batch is freed.
 *
 * Cancel, stop and failures take the same road: nothing new is parsed or
 * sent, parsed batches not sent are dropped (not committed, not counted),
 * the batch being committed finishes, the report is closed, the final
 * state is saved, and import.job.finished is published.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "import_csv_int.h"

static void pump(imp_job *j);
static void begin_run(imp_job *j);

imp_job *
import_csv_job_find(import_csv *ic, int64_t id)
{
    for (imp_job *j = ic->jobs; j; j = j->next)
        if (j->id == id && id > 0)
            return j;
    return NULL;
}

void
import_csv_job_report_path(const imp_job *j, int64_t id, char *buf,
                           size_t len)
{
    (void)j;
    snprintf(buf, len, "%s/imports/%" PRId64 "/report.csv", plt_data_dir(),
             id);
}

static void
free_list(imp_batch *b)
{
    while (b) {
        imp_batch *n = b->next;
        import_csv_batch_free(b);
        b = n;
    }
}

void
import_csv_job_free(imp_job *j)
{
    import_csv_spec_free(&j->spec);
    free(j->settings_json);
    free(j->error);
    for (size_t i = 0; i < j->ncols; i++) {
        free(j->header ? j->header[i] : NULL);
        free(j->cols ? j->cols[i].field : NULL);
    }
    free(j->header);
    free(j->cols);
    free_list(j->ready_head);
    free_list(j->written_head);
    free_list(j->w_in);
    free_list(j->w_out);
    free_list(j->w_done);
    import_csv_batch_free(j->cur);
    if (j->rd)
        csv_reader_free(j->rd);
    if (j->file)
        fclose(j->file);
    if (j->report)
        fclose(j->report);
    free(j->readbuf);
    free(j);
}

static void
unlink_job(imp_job *j)
{
    for (imp_job **pp = &j->ic->jobs; *pp; pp = &(*pp)->next) {
        if (*pp == j) {
            *pp = j->next;
            return;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Events */

static void
set_counters(plt_event *ev, const plt_import_counters *c)
{
    plt_event_set_i64(ev, "rows_read", c->rows_read);
    plt_event_set_i64(ev, "imported", c->imported);
    plt_event_set_i64(ev, "duplicates", c->duplicates);
    plt_event_set_i64(ev, "invalid_phones", c->invalid_phones);
    plt_event_set_i64(ev, "dnc_hits", c->dnc_hits);
    plt_event_set_i64(ev, "dnc_refused", c->dnc_refused);
    plt_event_set_i64(ev, "malformed", c->malformed);
    plt_event_set_i64(ev, "rejected", c->rejected);
    plt_event_set_i64(ev, "recovered", c->recovered);
    plt_event_set_i64(ev, "bytes_done", c->bytes_done);
    plt_event_set_i64(ev, "bytes_total", c->bytes_total);
}

static void
publish_started(imp_job *j)
{
    plt_event *ev;
    if (plt_event_new(&ev, "import.job.started", 1) != 0)
        return;
    char sep[2] = {j->separator, 0};
    plt_event_set_i64(ev, "job_id", j->id);
    plt_event_set_i64(ev, "list_id", j->spec.list_id);
    plt_event_set_str(ev, "list", j->spec.list ? j->spec.list : "");
    plt_event_set_str(ev, "path", j->spec.path);
    plt_event_set_i64(ev, "bytes_total", (int64_t)j->file_size);
    plt_event_set_i64(ev, "resumed_from", (int64_t)j->start_offset);
    plt_event_set_str(ev, "encoding",
                      csv_encoding_name((csv_encoding)j->encoding));
    plt_event_set_str(ev, "separator", sep);
    plt_event_publish(ev);
}

static void
publish_progress(imp_job *j, bool force)
{
    uint64_t now = plt_mono();
    int64_t step = j->c.bytes_total / 100;
    if (!force && now - j->last_event_ms < (uint64_t)j->ic->cfg.progress_ms &&
        j->c.bytes_done - j->last_event_bytes < (step > 0 ? step : 1))
        return;
    if (j->c.bytes_done == j->last_event_bytes && j->last_event_ms != 0)
        return;
    j->last_event_ms = now;
    j->last_event_bytes = j->c.bytes_done;
    plt_event *ev;
    if (plt_event_new(&ev, "import.job.progressed", 1) == 0) {
        plt_event_set_i64(ev, "job_id", j->id);
        plt_event_set_i64(ev, "rows", j->c.rows_read);
        plt_event_set_i64(ev, "imported", j->c.imported);
        plt_event_set_i64(ev, "rejected", j->c.rejected);
        plt_event_set_i64(ev, "bytes_done", j->c.bytes_done);
        plt_event_set_i64(ev, "bytes_total", j->c.bytes_total);
        plt_event_publish(ev);
    }
    if (j->obs.progress)
        j->obs.progress(j->obs.arg, j);
}

static const char *
finished_name(const imp_job *j)
{
    if (j->error)
        return "failed";
    if (j->end_state == PLT_IMPORT_CANCELLED)
        return "cancelled";
    return j->end_state == PLT_IMPORT_DONE ? "done" : "failed";
}

static void
publish_finished(imp_job *j)
{
    plt_event *ev;
    if (plt_event_new(&ev, "import.job.finished", 1) != 0)
        return;
    plt_event_set_i64(ev, "job_id", j->id);
    plt_event_set_str(ev, "status", finished_name(j));
    if (j->error)
        plt_event_set_str(ev, "error", j->error);
    plt_event_set_str(ev, "report", j->report_path);
    set_counters(ev, &j->c);
    plt_event_publish(ev);
}

/* ------------------------------------------------------------------ */
/* Start and failure */

static void
call_start_cb(imp_job *j, int status)
{
    if (j->start_cb_done)
        return;
    j->start_cb_done = true;
    if (j->start_cb)
        j->start_cb(j->start_arg, status, status == 0 ? j->id : 0,
                    status == 0 ? NULL : j->error);
}

static void
end_job(imp_job *j)
{
    import_csv *ic = j->ic;
    j->phase = IMP_P_ENDED;
    if (j->pending > 0 || j->work_running)
        return; /* the last callback ends it */
    call_start_cb(j, j->error ? PLT_EIO : PLT_ECANCELED);
    if (j->obs.finished)
        j->obs.finished(j->obs.arg, j);
    unlink_job(j);
    import_csv_job_free(j);
    import_csv_check_stopped(ic);
}

void
import_csv_job_fail(imp_job *j, int rc, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!j->error) {
        j->error = strdup(msg);
        plt_log(PLT_LOG_WARN, "import job %" PRId64 ": %s", j->id, msg);
    }
    (void)rc;
    if (j->phase < IMP_P_RUN) {
        /* Not started: the starter learns why; a recorded (resumed) job
         * keeps its row as it was, so that it can be resumed again. */
        j->end_state = PLT_IMPORT_FAILED;
        call_start_cb(j, rc < 0 ? rc : PLT_EIO);
        end_job(j);
        return;
    }
    /* Running: stop, keep what was committed, stay resumable. */
    j->end_state = PLT_IMPORT_INTERRUPTED;
    j->cancel = true;
    pump(j);
}

/* ------------------------------------------------------------------ */
/* Phases before RUN */

static void
open_done(void *arg, int status)
{
    imp_job *j = arg;
    j->work_running = false;
    j->pending--;
    if (status != 0 || j->werr != 0) {
        import_csv_job_fail(j, status ? status : j->werr, "%s: %s",
                            j->spec.path,
                            j->werr ? j->werrmsg : plt_strerror(status));
        return;
    }
    if (j->ic->stopping) {
        import_csv_job_fail(j, PLT_ESHUTDOWN, "stopping");
        return;
    }
    if (j->resumed) {
        if (j->seen_size != j->file_size || j->seen_mtime != j->file_mtime ||
            strcmp(j->seen_hash, j->file_hash) != 0) {
            import_csv_job_fail(j, PLT_ECONFLICT,
                                "%s changed since job %" PRId64
                                " began: import it as a new job",
                                j->spec.path, j->id);
            return;
        }
    }
    j->file_size = j->seen_size;
    j->file_mtime = j->seen_mtime;
    memcpy(j->file_hash, j->seen_hash, sizeof(j->file_hash));
    j->c.bytes_total = (int64_t)j->file_size;
    char why[256];
    int rc = import_csv_map_columns(j, why, sizeof(why));
    if (rc != 0) {
        import_csv_job_fail(j, rc, "%s", why);
        return;
    }
    j->settings_json = import_csv_spec_to_json(&j->spec);
    if (!j->settings_json) {
        import_csv_job_fail(j, PLT_ENOMEM, "out of memory");
        return;
    }
    if (j->resumed)
        j->phase = IMP_P_RECORD;
    else if (j->spec.auto_resume)
        j->phase = IMP_P_FIND;
    else
        j->phase = IMP_P_LIST;
    import_csv_job_step(j);
}

static void
list_id_cb(void *arg, int status, int64_t id)
{
    imp_job *j = arg;
    j->pending--;
    if (status == 0) {
        j->spec.list_id = id;
        j->phase = IMP_P_RECORD;
        import_csv_job_step(j);
        return;
    }
    if (status == PLT_ENOENT && j->spec.create_list) {
        /* Create it with the job's rules and the mapped field names. */
        plt_lead_rules rules = {.country = j->spec.country,
                                .prefix = j->spec.prefix,
                                .restore_lost_zero = j->spec.restore_lost_zero};
        const char **names = calloc(j->ncols + 1, sizeof(*names));
        if (!names) {
            import_csv_job_fail(j, PLT_ENOMEM, "out of memory");
            return;
        }
        size_t n = 0;
        for (size_t i = 0; i < j->ncols; i++)
            if (j->cols[i].kind == PLT_IMPORT_FIELD)
                names[n++] = j->cols[i].field;
        /* Only once: a second ENOENT must not loop. */
        j->spec.create_list = false;
        int rc = j->ic->leads.vt->list_create(j->ic->leads.impl, j->spec.list,
                                              &rules, names, n, list_id_cb, j);
        free(names);
        if (rc != 0)
            import_csv_job_fail(j, rc, "cannot create list '%s': %s",
                                j->spec.list, plt_strerror(rc));
        else
            j->pending++;
        return;
    }
    if (status == PLT_ENOENT)
        import_csv_job_fail(j, status,
                            "no list '%s' (add --create to create it)",
                            j->spec.list);
    else
        import_csv_job_fail(j, status, "list '%s': %s", j->spec.list,
                            plt_strerror(status));
}

static void
progress_cb(void *arg, int status, int64_t value)
{
    imp_job *j = arg;
    j->pending--;
    if (status != 0 && status != PLT_ENOENT) {
        import_csv_job_fail(j, status, "cannot read the import progress: %s",
                            plt_strerror(status));
        return;
    }
    if (status == 0 && value > 0)
        j->skip_until = (uint64_t)value;
    j->phase = IMP_P_RUN;
    begin_run(j);
}

static void
begin_run(imp_job *j)
{
    j->c.bytes_done = (int64_t)j->start_offset;
    j->committed_offset = j->start_offset;
    j->persist_snap = j->c;
    j->persist_offset = j->start_offset;
    j->persist_line = j->start_line;
    j->persist_report = j->report_bytes0;
    if (j->skip_until > 0)
        plt_log(PLT_LOG_INFO,
                "import job %" PRId64 ": resuming at byte %" PRIu64
                " (line %" PRIu64 "), committed up to byte %" PRIu64,
                j->id, j->start_offset, j->start_line, j->skip_until);
    publish_started(j);
    call_start_cb(j, 0);
    pump(j);
}

void
import_csv_job_step(imp_job *j)
{
    import_csv *ic = j->ic;
    int rc = 0;
    if (ic->stopping && j->phase < IMP_P_RUN) {
        import_csv_job_fail(j, PLT_ESHUTDOWN, "stopping");
        return;
    }
    switch (j->phase) {
    case IMP_P_LOAD:
        rc = import_csv_store_load(j);
        break;
    case IMP_P_OPEN:
        rc = plt_queue_work(import_csv_open_work, open_done, j);
        if (rc == 0) {
            j->pending++;
            j->work_running = true;
        }
        break;
    case IMP_P_FIND:
        rc = import_csv_store_find(j);
        break;
    case IMP_P_LIST:
        if (j->spec.list_id > 0) {
            j->phase = IMP_P_RECORD;
            import_csv_job_step(j);
            return;
        }
        rc = ic->leads.vt->list_find(ic->leads.impl, j->spec.list, list_id_cb,
                                     j);
        if (rc == 0)
            j->pending++;
        break;
    case IMP_P_RECORD:
        rc = j->resumed ? import_csv_store_running(j)
                        : import_csv_store_insert(j);
        break;
    case IMP_P_PROGRESS: {
        if (!j->resumed) {
            j->phase = IMP_P_RUN;
            begin_run(j);
            return;
        }
        char key[48];
        snprintf(key, sizeof(key), "import:%" PRId64, j->id);
        rc = ic->leads.vt->progress_get(ic->leads.impl, key, progress_cb, j);
        if (rc == 0)
            j->pending++;
        break;
    }
    case IMP_P_RUN: /* a job-row write completed */
    case IMP_P_FINISHING:
    case IMP_P_ENDED:
        pump(j);
        return;
    }
    if (rc != 0)
        import_csv_job_fail(j, rc, "%s", plt_strerror(rc));
}

int
import_csv_job_start(import_csv *ic, const plt_import_spec *spec,
                     plt_import_job_fn cb, void *arg, const imp_observer *obs)
{
    if (!spec || spec->size < sizeof(uint32_t))
        return PLT_EINVAL;
    int rc = import_csv_accepting(ic);
    if (rc != 0)
        return rc;
    if (spec->resume_job <= 0 &&
        (!spec->path || (!spec->list && spec->list_id <= 0)))
        return PLT_EINVAL;
    /* Copy what this build knows of the caller's struct (older callers
     * pass a smaller one: the rest reads as zero). */
    plt_import_spec s;
    memset(&s, 0, sizeof(s));
    memcpy(&s, spec, spec->size < sizeof(s) ? spec->size : sizeof(s));
    imp_job *j = calloc(1, sizeof(*j));
    if (!j)
        return PLT_ENOMEM;
    rc = import_csv_spec_copy(&j->spec, &s);
    if (rc != 0) {
        free(j);
        return rc;
    }
    j->ic = ic;
    j->state = PLT_IMPORT_RUNNING;
    j->end_state = PLT_IMPORT_DONE;
    j->started_at = plt_now();
    j->start_line = 1;
    j->c.size = sizeof(j->c);
    j->start_cb = cb;
    j->start_arg = arg;
    if (obs)
        j->obs = *obs;
    j->phase = s.resume_job > 0 ? IMP_P_LOAD : IMP_P_OPEN;
    if (s.resume_job > 0)
        rc = import_csv_store_load(j);
    else {
        rc = plt_queue_work(import_csv_open_work, open_done, j);
        if (rc == 0) {
            j->pending++;
            j->work_running = true;
        }
    }
    if (rc != 0) {
        import_csv_job_free(j);
        return rc;
    }
    j->next = ic->jobs;
    ic->jobs = j;
    return 0;
}

int
import_csv_cancel(void *impl, int64_t job_id)
{
    imp_job *j = import_csv_job_find(impl, job_id);
    if (!j || j->phase >= IMP_P_FINISHING)
        return PLT_ENOENT;
    if (!j->cancel) {
        j->cancel = true;
        j->end_state = PLT_IMPORT_CANCELLED;
    }
    if (j->phase == IMP_P_RUN)
        pump(j);
    return 0;
}

void
import_csv_job_stop_all(import_csv *ic)
{
    for (imp_job *j = ic->jobs; j; j = j->next) {
        if (j->phase >= IMP_P_FINISHING || j->cancel)
            continue;
        j->cancel = true;
        j->end_state = PLT_IMPORT_INTERRUPTED;
        if (j->phase == IMP_P_RUN)
            pump(j);
    }
}

/* ------------------------------------------------------------------ */
/* RUN */

static void work_done(void *arg, int status);

static void
append(imp_batch **head, imp_batch **tail, imp_batch *b)
{
    b->next = NULL;
    if (*tail)
        (*tail)->next = b;
    else
        *head = b;
    *tail = b;
}

/* Account a committed batch (results in @p res, or none sent). */
static void
committed(imp_job *j, imp_batch *b, const plt_lead_added *res, size_t n)
{
    import_csv_report_apply(j, b, res, n);
    j->alive--;
    j->committed_offset = b->end_offset;
    j->c.bytes_done = (int64_t)b->end_offset;
    b->snap = j->c;
    append(&j->written_head, &j->written_tail, b);
    publish_progress(j, false);
}

static void
added_cb(void *arg, int status, const plt_lead_added *res, size_t n)
{
    imp_batch *b = arg;
    imp_job *j = b->job;
    j->pending--;
    j->adding--;
    if (status != 0) {
        /* Nothing of this batch was committed (one transaction). */
        import_csv_batch_free(b);
        j->alive--;
        import_csv_job_fail(j, status, "cannot add contacts: %s",
                            plt_strerror(status));
        return;
    }
    if (n != b->nleads) {
        import_csv_batch_free(b);
        j->alive--;
        import_csv_job_fail(j, PLT_EIO, "leads returned %zu results for %zu",
                            n, b->nleads);
        return;
    }
    committed(j, b, res, n);
    pump(j);
}

static void
send_ready(imp_job *j)
{
    import_csv *ic = j->ic;
    while (j->adding < IMP_ADDING_MAX && j->ready_head && !j->cancel) {
        imp_batch *b = j->ready_head;
        j->ready_head = b->next;
        if (!j->ready_head)
            j->ready_tail = NULL;
        b->next = NULL;
        if (b->nleads == 0) {
            /* Only refusals decided while reading: nothing to commit.
             * The job row records the new resume point. */
            committed(j, b, NULL, 0);
            continue;
        }
        char key[48];
        snprintf(key, sizeof(key), "import:%" PRId64, j->id);
        char src[48];
        snprintf(src, sizeof(src), "import:%" PRId64, j->id);
        plt_lead_add_opts o = {.size = sizeof(o),
                               .dedup_scope = j->spec.dedup,
                               .dedup_field = j->spec.dedup_field,
                               .skip_dnc = j->spec.skip_dnc,
                               .source = src,
                               .progress_key = key,
                               .progress_value = (int64_t)b->end_offset};
        b->job = j;
        int rc = ic->leads.vt->add_batch(ic->leads.impl, j->spec.list_id,
                                         b->leads, b->nleads, &o, added_cb, b);
        if (rc != 0) {
            import_csv_batch_free(b);
            j->alive--;
            import_csv_job_fail(j, rc, "cannot add contacts: %s",
                                plt_strerror(rc));
            return;
        }
        j->adding++;
        j->pending++;
    }
}

static void
drop_ready(imp_job *j)
{
    while (j->ready_head) {
        imp_batch *b = j->ready_head;
        j->ready_head = b->next;
        import_csv_batch_free(b);
        j->alive--;
    }
    j->ready_tail = NULL;
}

static void
finish(imp_job *j)
{
    if (j->phase != IMP_P_FINISHING) {
        j->phase = IMP_P_FINISHING;
        j->state = j->end_state;
        j->finished_at = plt_now();
        if (j->end_state == PLT_IMPORT_DONE)
            publish_progress(j, true);
        j->persist_snap = j->c;
        (void)import_csv_store_persist(j);
        if (j->persisting)
            return;
    }
    if (j->persisting || j->pending > 0)
        return;
    publish_finished(j);
    end_job(j);
}

static void
pump(imp_job *j)
{
    if (j->phase == IMP_P_ENDED) {
        end_job(j);
        return;
    }
    if (j->phase == IMP_P_FINISHING) {
        finish(j);
        return;
    }
    if (j->cancel)
        drop_ready(j);
    send_ready(j);
    if (j->work_running)
        return;
    bool stopping = j->cancel || j->eof || j->werr != 0;
    bool need_parse = !stopping &&
                      j->alive < (int)j->ic->cfg.max_in_flight;
    bool need_close =
        stopping && !j->closed && j->alive == 0 && j->adding == 0;
    if (j->written_head || need_parse || need_close) {
        j->w_in = j->written_head;
        j->written_head = j->written_tail = NULL;
        j->w_parse = need_parse;
        j->w_close = need_close;
        int rc = plt_queue_work(import_csv_parse_work, work_done, j);
        if (rc != 0) {
            /* Keep the batches for the close attempt. */
            j->written_head = j->w_in;
            for (imp_batch *b = j->w_in; b; b = b->next)
                j->written_tail = b;
            j->w_in = NULL;
            if (!j->error) {
                j->error = strdup("cannot queue work");
                j->end_state = PLT_IMPORT_INTERRUPTED;
            }
            /* Without a worker nothing more can be written: end here. */
            j->closed = true;
            finish(j);
            return;
        }
        j->work_running = true;
        j->pending++;
        return;
    }
    if (j->closed && j->adding == 0 && j->alive == 0)
        finish(j);
}

static void
work_done(void *arg, int status)
{
    imp_job *j = arg;
    j->work_running = false;
    j->pending--;
    if (status != 0) {
        /* The core stopped before the work ran: it did nothing. */
        free_list(j->w_in);
        j->w_in = NULL;
        if (!j->error)
            j->error = strdup("stopped before the work ran");
        j->end_state = PLT_IMPORT_INTERRUPTED;
        j->cancel = true;
        j->closed = true;
        drop_ready(j);
    }
    /* Parsed batches join the queue to add_batch. */
    while (j->w_out) {
        imp_batch *b = j->w_out;
        j->w_out = b->next;
        append(&j->ready_head, &j->ready_tail, b);
        j->alive++;
    }
    /* Written batches: remember the latest resume point, then free. */
    /* The worker pushes written batches in front: the head is the latest. */
    imp_batch *last = j->w_done;
    if (last) {
        j->persist_snap = last->snap;
        j->persist_offset = last->end_offset;
        j->persist_line = last->end_line;
        j->persist_report = last->report_bytes;
        if (j->phase == IMP_P_RUN)
            (void)import_csv_store_persist(j);
    }
    free_list(j->w_done);
    j->w_done = NULL;
    if (j->w_close)
        j->closed = true;
    if (j->werr != 0 && !j->error) {
        j->error = strdup(j->werrmsg);
        j->end_state = PLT_IMPORT_INTERRUPTED;
        j->cancel = true;
    }
    pump(j);
}
