/* SPDX-License-Identifier: MIT */
/*
 * Reads and streaming. The `readers` threads each own a query_only
 * connection and take autocommit statements from one shared queue, so a
 * slow report never waits behind the writer (WAL readers see the last
 * commit and never block it) and the loop never touches the database.
 *
 * Rows travel to the loop in batches (STQ_BATCH_ROWS rows or
 * STQ_BATCH_BYTES bytes, whichever comes first) through plt_post. A
 * thread keeps at most STQ_MAX_OUTSTANDING batches posted and not yet
 * consumed, and waits for the loop before building more: a million-row
 * SELECT holds about two batches in memory, and a consumer that is slow
 * to take rows slows the query down instead of filling the heap. When the
 * row callback asks to stop, the loop raises the job's cancel flag; the
 * thread notices at its next row, resets the statement and done() reports
 * PLT_ECANCELED. The writer streams RETURNING rows with the same code.
 *
 * A statement prepared here that turns out to write (sqlite3_stmt_readonly
 * says so) is sent back to the loop, which queues it for the writer.
 */
#include <stdlib.h>
#include <string.h>

#include "storage_sqlite_int.h"

/* ------------------------------------------------------------------ */
/* Batches */

typedef struct stq_batch {
    uint64_t gen;
    stq_worker *w;
    stq_job *job;
    size_t nrows, ncols;
    plt_value *vals; /* nrows * ncols; STR/BLOB hold offsets until sent */
    size_t vcap;     /* in rows */
    char *data;
    size_t dlen, dcap;
} stq_batch;

static void
batch_free(stq_batch *b)
{
    if (!b)
        return;
    free(b->vals);
    free(b->data);
    free(b);
}

static int
data_reserve(stq_batch *b, size_t n)
{
    if (b->dlen + n <= b->dcap)
        return 0;
    size_t cap = b->dcap ? b->dcap : 4096;
    while (cap < b->dlen + n) {
        if (cap > SIZE_MAX / 2)
            return PLT_ENOMEM;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p)
        return PLT_ENOMEM;
    b->data = p;
    b->dcap = cap;
    return 0;
}

/* Append the current row of @p st. */
static int
batch_add_row(stq_batch *b, sqlite3_stmt *st)
{
    if (b->nrows == b->vcap) {
        size_t cap = b->vcap ? b->vcap * 2 : 16;
        if (cap > STQ_BATCH_ROWS)
            cap = STQ_BATCH_ROWS;
        plt_value *v = realloc(b->vals, cap * b->ncols * sizeof(*v));
        if (!v)
            return PLT_ENOMEM;
        b->vals = v;
        b->vcap = cap;
    }
    plt_value *row = b->vals + b->nrows * b->ncols;
    for (size_t c = 0; c < b->ncols; c++) {
        plt_value *v = &row[c];
        *v = (plt_value){.type = PLT_T_NULL};
        switch (sqlite3_column_type(st, (int)c)) {
        case SQLITE_INTEGER:
            v->type = PLT_T_I64;
            v->v.i = sqlite3_column_int64(st, (int)c);
            break;
        case SQLITE_FLOAT:
            v->type = PLT_T_DOUBLE;
            v->v.d = sqlite3_column_double(st, (int)c);
            break;
        case SQLITE_TEXT: {
            const unsigned char *t = sqlite3_column_text(st, (int)c);
            size_t n = (size_t)sqlite3_column_bytes(st, (int)c);
            if (!t)
                return PLT_ENOMEM; /* SQLite could not convert it */
            if (data_reserve(b, n + 1) != 0)
                return PLT_ENOMEM;
            memcpy(b->data + b->dlen, t, n);
            b->data[b->dlen + n] = '\0';
            v->type = PLT_T_STR;
            v->len = (uint32_t)n;
            v->v.i = (int64_t)b->dlen; /* made a pointer when sent */
            b->dlen += n + 1;
            break;
        }
        case SQLITE_BLOB: {
            const void *p = sqlite3_column_blob(st, (int)c);
            size_t n = (size_t)sqlite3_column_bytes(st, (int)c);
            if (!p && n)
                return PLT_ENOMEM;
            if (data_reserve(b, n) != 0)
                return PLT_ENOMEM;
            if (n && b->data) /* data_reserve() made room for n > 0 */
                memcpy(b->data + b->dlen, p, n);
            v->type = PLT_T_BLOB;
            v->len = (uint32_t)n;
            v->v.i = (int64_t)b->dlen;
            b->dlen += n;
            break;
        }
        default:
            break;
        }
    }
    b->nrows++;
    return 0;
}

static bool
batch_full(const stq_batch *b)
{
    return b->nrows >= STQ_BATCH_ROWS ||
           b->dlen + b->nrows * b->ncols * sizeof(plt_value) >= STQ_BATCH_BYTES;
}

/* Runs on the loop: hand the rows to the consumer, then let the thread
 * build its next batch. */
static void
on_batch(void *arg)
{
    stq_batch *b = arg;
    if (!stq_live || b->gen != stq_live->gen) {
        /* Posted before a forced fini: the worker is gone. */
        batch_free(b);
        return;
    }
    stq_job *j = b->job;
    if (!j->loop_cancelled && j->row) {
        plt_storage_row row = {.ncols = b->ncols,
                               .names = (const char *const *)j->names};
        for (size_t r = 0; r < b->nrows; r++) {
            row.vals = b->vals + r * b->ncols;
            j->rows_delivered++;
            if (j->row(j->arg, &row) != 0) {
                j->loop_cancelled = true;
                atomic_store(&j->cancel, 1);
                break;
            }
        }
    }
    stq_worker *w = b->w;
    batch_free(b);
    uv_mutex_lock(&w->mu);
    w->outstanding--;
    uv_cond_broadcast(&w->cv);
    uv_mutex_unlock(&w->mu);
}

/* Post @p *bp (if it holds rows), waiting first while the loop still has
 * STQ_MAX_OUTSTANDING batches of this thread to consume. */
static int
batch_send(stq_worker *w, stq_job *j, stq_batch **bp)
{
    stq_batch *b = *bp;
    if (!b || b->nrows == 0)
        return 0;
    static const char empty[1] = "";
    for (size_t k = 0; k < b->nrows * b->ncols; k++) {
        plt_value *v = &b->vals[k];
        if (v->type == PLT_T_STR)
            v->v.s = b->data + v->v.i;
        else if (v->type == PLT_T_BLOB)
            v->v.b = b->data ? (const void *)(b->data + v->v.i) : empty;
    }
    stq *s = w->s;
    uv_mutex_lock(&w->mu);
    while (w->outstanding >= STQ_MAX_OUTSTANDING && !atomic_load(&s->abort) &&
           !atomic_load(&j->cancel))
        uv_cond_wait(&w->cv, &w->mu);
    if (atomic_load(&s->abort) || atomic_load(&j->cancel)) {
        /* Nobody wants these rows any more. */
        uv_mutex_unlock(&w->mu);
        batch_free(b);
        *bp = NULL;
        return 0;
    }
    w->outstanding++;
    unsigned peak = atomic_load(&s->peak_outstanding);
    while ((unsigned)w->outstanding > peak &&
           !atomic_compare_exchange_weak(&s->peak_outstanding, &peak,
                                         (unsigned)w->outstanding))
        ;
    uv_mutex_unlock(&w->mu);
    *bp = NULL;
    int rc = stq_post(on_batch, b);
    if (rc != 0) {
        uv_mutex_lock(&w->mu);
        w->outstanding--;
        uv_mutex_unlock(&w->mu);
        batch_free(b);
        return rc;
    }
    atomic_fetch_add(&s->d_batches, 1);
    return 0;
}

void
stq_wait_consumed(stq_worker *w)
{
    uv_mutex_lock(&w->mu);
    while (w->outstanding > 0 && !atomic_load(&w->s->abort))
        uv_cond_wait(&w->cv, &w->mu);
    uv_mutex_unlock(&w->mu);
}

/* The column names, once per statement, in one allocation. */
static int
set_names(stq_job *j, sqlite3_stmt *st, size_t ncols)
{
    size_t total = ncols * sizeof(char *);
    for (size_t c = 0; c < ncols; c++) {
        const char *n = sqlite3_column_name(st, (int)c);
        total += (n ? strlen(n) : 0) + 1;
    }
    char **names = malloc(total);
    if (!names)
        return PLT_ENOMEM;
    char *p = (char *)(names + ncols);
    for (size_t c = 0; c < ncols; c++) {
        const char *n = sqlite3_column_name(st, (int)c);
        size_t len = n ? strlen(n) : 0;
        memcpy(p, n ? n : "", len + 1);
        names[c] = p;
        p += len + 1;
    }
    free(j->names);
    j->names = names;
    j->ncols = ncols;
    return 0;
}

/* Step @p st to the end, adding rows to *@p bp (sent when full; the last
 * partial batch stays for the caller). @return the changes it made. */
static int64_t
step_all(stq_worker *w, stq_job *j, sqlite3_stmt *st, stq_batch **bp,
         bool *streamed)
{
    stq *s = w->s;
    sqlite3 *db = w->c.db;
    sqlite3_int64 before = sqlite3_total_changes64(db);
    size_t ncols = (size_t)sqlite3_column_count(st);
    /* Rows are built only for a row callback (a statement without result
     * columns never yields any). */
    bool want = ncols > 0 && j->row != NULL;
    if (want && !j->names && set_names(j, st, ncols) != 0) {
        stq_job_fail(j, PLT_ENOMEM, "out of memory for column names");
        return 0;
    }
    for (;;) {
        if (atomic_load(&s->abort)) {
            stq_job_fail(j, PLT_ECANCELED, "the storage engine stopped");
            break;
        }
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            if (!want)
                continue; /* RETURNING without a row callback */
            if (atomic_load(&j->cancel)) {
                stq_job_fail(j, PLT_ECANCELED, "canceled by the row callback");
                break;
            }
            stq_batch *b = *bp;
            if (!b) {
                b = *bp = calloc(1, sizeof(*b));
                if (!b) {
                    stq_job_fail(j, PLT_ENOMEM, "out of memory for rows");
                    break;
                }
                b->gen = s->gen;
                b->w = w;
                b->job = j;
                b->ncols = ncols;
            }
            if (batch_add_row(b, st) != 0) {
                stq_job_fail(j, PLT_ENOMEM, "out of memory for rows");
                break;
            }
            if (batch_full(b)) {
                *streamed = true;
                if (batch_send(w, j, bp) != 0) {
                    stq_job_fail(j, PLT_ESHUTDOWN,
                                 "rows cannot reach the loop");
                    break;
                }
            }
            continue;
        }
        if (rc != SQLITE_DONE)
            stq_job_sqlite_error(j, db, rc, NULL);
        break;
    }
    /* sqlite3_changes64() keeps the count of the last INSERT, UPDATE or
     * DELETE even after a SELECT or DDL ran: trust it only if this
     * statement changed something. */
    return sqlite3_total_changes64(db) != before ? sqlite3_changes64(db) : 0;
}

void
stq_run_job(stq_worker *w, stq_job *j, sqlite3_stmt *st, bool *streamed)
{
    stq_batch *b = NULL;
    if (j->nrows == 0) {
        if (stq_bind(&w->c, st, j, j->args, j->nargs) == 0) {
            int64_t n = step_all(w, j, st, &b, streamed);
            if (j->status == 0)
                j->rows_affected = n;
        }
    } else if (j->rows_multi) {
        /* query_rows() of an INSERT ... RETURNING: multi-row INSERTs of
         * STQ_ROWS_CHUNK rows, then of powers of 4 for the rest (a few
         * texts, prepared once each per connection). */
        int64_t sum = 0;
        char *orig = j->sql;
        for (size_t r = 0; r < j->nrows && j->status == 0;) {
            size_t left = j->nrows - r, n = STQ_ROWS_CHUNK;
            if (left < n)
                for (n = 1; n * 4 <= left; n *= 4)
                    ;
            char *text = NULL;
            if (stc_sql_values_rows(orig, &j->shape, j->row_ncols, n, &text) !=
                0) {
                stq_job_fail(j, PLT_ENOMEM, "out of memory");
                break;
            }
            sqlite3_stmt *cst = NULL;
            j->sql = text; /* the statement cache is keyed by the text */
            int rc = stq_stmt_get(&w->c, j, false, &cst);
            j->sql = orig;
            free(text);
            if (rc == 0 && stq_bind(&w->c, cst, j, j->args + r * j->row_ncols,
                                    n * j->row_ncols) == 0)
                sum += step_all(w, j, cst, &b, streamed);
            stq_stmt_release(&w->c, cst);
            r += n;
        }
        if (j->status == 0)
            j->rows_affected = sum;
    } else {
        /* query_rows(): the statement once per row of arguments, the
         * rows it returns in one stream. */
        int64_t sum = 0;
        for (size_t r = 0; r < j->nrows && j->status == 0; r++) {
            if (r)
                sqlite3_reset(st);
            if (stq_bind(&w->c, st, j, j->args + r * j->row_ncols,
                         j->row_ncols) != 0)
                break;
            sum += step_all(w, j, st, &b, streamed);
        }
        if (j->status == 0)
            j->rows_affected = sum;
    }
    if (j->status == 0 && b && b->nrows) {
        *streamed = true;
        if (batch_send(w, j, &b) != 0)
            stq_job_fail(j, PLT_ESHUTDOWN, "rows cannot reach the loop");
    }
    batch_free(b);
}

/* ------------------------------------------------------------------ */
/* Reader threads */

int
stq_worker_sync_init(stq_worker *w)
{
    if (uv_mutex_init(&w->mu) != 0)
        return PLT_ENOMEM;
    if (uv_cond_init(&w->cv) != 0) {
        uv_mutex_destroy(&w->mu);
        return PLT_ENOMEM;
    }
    w->sync_ok = true;
    return 0;
}

void
stq_worker_sync_fini(stq_worker *w)
{
    if (!w->sync_ok)
        return;
    uv_cond_destroy(&w->cv);
    uv_mutex_destroy(&w->mu);
    w->sync_ok = false;
}

static void
run_read(stq_worker *w, stq_job *j)
{
    sqlite3_stmt *st = NULL;
    int rc = stq_stmt_get(&w->c, j, true, &st);
    if (rc == 1) {
        atomic_fetch_add(&w->s->d_rerouted, 1);
        if (stq_post(stq_on_reroute, j) != 0)
            stq_job_free(j);
        return;
    }
    if (rc == 0) {
        bool streamed = false;
        stq_run_job(w, j, st, &streamed);
    }
    stq_stmt_release(&w->c, st);
    if (stq_post(stq_on_job_done, j) != 0)
        stq_job_free(j);
}

void
stq_post_exit(stq *s, bool writer)
{
    stq_exit_msg *m = malloc(sizeof(*m));
    if (m) {
        *m = (stq_exit_msg){.gen = s->gen, .writer = writer};
        if (stq_post(stq_on_worker_exit, m) != 0)
            free(m);
    }
}

static void
reader_main(void *arg)
{
    stq_worker *w = arg;
    stq *s = w->s;
    w->open_rc =
        stq_conn_open(s, &w->c, false, s->start_err, sizeof(s->start_err));
    uv_sem_post(&s->ready);
    if (w->open_rc != 0)
        return;
    for (;;) {
        uv_mutex_lock(&s->rmu);
        while (!s->rq_head && !s->r_exit && !atomic_load(&s->abort))
            uv_cond_wait(&s->rcv, &s->rmu);
        stq_job *j = NULL;
        if (!atomic_load(&s->abort) && s->rq_head) {
            j = s->rq_head;
            s->rq_head = j->next;
            if (!s->rq_head)
                s->rq_tail = NULL;
            s->rq_len--;
            j->next = NULL;
        }
        uv_mutex_unlock(&s->rmu);
        if (!j)
            break;
        run_read(w, j);
        stq_work_end(s);
    }
    stq_conn_close(&w->c);
    if (!atomic_load(&s->abort)) {
        stq_post_exit(s, false);
        stq_work_end(s); /* declared by stq_readers_exit() */
    }
}

int
stq_readers_start(stq *s)
{
    s->readers = calloc((size_t)s->nreaders, sizeof(*s->readers));
    if (!s->readers) {
        snprintf(s->start_err, sizeof(s->start_err),
                 "out of memory for %d readers", s->nreaders);
        return PLT_ENOMEM;
    }
    /* One at a time: each reports through s->start_err and s->ready. */
    for (int i = 0; i < s->nreaders; i++) {
        stq_worker *w = &s->readers[i];
        w->s = s;
        w->index = i;
        if (stq_worker_sync_init(w) != 0) {
            snprintf(s->start_err, sizeof(s->start_err),
                     "out of memory for reader %d", i);
            return PLT_ENOMEM;
        }
        int rc = uv_thread_create(&w->tid, reader_main, w);
        if (rc != 0) {
            snprintf(s->start_err, sizeof(s->start_err),
                     "cannot start reader thread %d: %s", i, uv_strerror(rc));
            return rc;
        }
        w->running = true;
        uv_sem_wait(&s->ready);
        if (w->open_rc != 0) {
            uv_thread_join(&w->tid);
            w->running = false;
            return w->open_rc;
        }
    }
    return 0;
}

void
stq_readers_enqueue(stq *s, stq_job *j)
{
    stq_work_begin(s);
    j->next = NULL;
    uv_mutex_lock(&s->rmu);
    if (s->rq_tail)
        s->rq_tail->next = j;
    else
        s->rq_head = j;
    s->rq_tail = j;
    s->rq_len++;
    uv_cond_signal(&s->rcv);
    uv_mutex_unlock(&s->rmu);
}

void
stq_readers_exit(stq *s)
{
    for (int i = 0; i < s->nreaders; i++)
        if (s->readers && s->readers[i].running)
            stq_work_begin(s);
    uv_mutex_lock(&s->rmu);
    s->r_exit = true;
    uv_cond_broadcast(&s->rcv);
    uv_mutex_unlock(&s->rmu);
}

void
stq_readers_join(stq *s)
{
    if (!s->readers)
        return;
    for (int i = 0; i < s->nreaders; i++) {
        stq_worker *w = &s->readers[i];
        if (w->running) {
            uv_thread_join(&w->tid);
            w->running = false;
        }
    }
}
