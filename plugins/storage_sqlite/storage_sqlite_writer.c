/* SPDX-License-Identifier: MIT */
/*
 * The writer: ONE thread with its own connection runs every write, in the
 * order the loop hands them over. SQLite allows one writer at a time
 * anyway; owning it in one thread means writes never wait on each other's
 * locks, busy_timeout only matters against other processes, and fsyncs
 * and checkpoints happen here, never on the loop.
 *
 * Group commit. The loop hands over all the autocommit writes that queued
 * up while the previous unit ran (up to batch_max) as one GROUP: BEGIN
 * IMMEDIATE, each statement inside its own SAVEPOINT (a failing statement
 * is rolled back to its savepoint and fails alone), one COMMIT. The loop
 * calls the done() callbacks only when this unit comes back, that is
 * after the COMMIT returned: an acknowledged write is a committed write.
 * Under load one fsync-free commit serves hundreds of statements; when
 * idle, a group is a single statement and adds no latency.
 *
 * Durability. A group holding a PLT_STORAGE_DURABLE write, or a durable
 * transaction, commits with `PRAGMA synchronous=FULL` set before BEGIN and
 * restored to NORMAL after the end, so its COMMIT fsyncs the WAL.
 *
 * Transactions are units of one job (BEGIN, a statement, COMMIT or
 * ROLLBACK); between them the connection simply stays inside the
 * transaction while the loop holds other writes back.
 *
 * Checkpoints: automatic ones run inside COMMIT on this thread; when the
 * writer has been idle for STQ_IDLE_CHECKPOINT_MS after writing, it also
 * runs a PASSIVE checkpoint so the WAL does not grow between bursts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage_sqlite_int.h"

static void
fail_all(stq_unit *u, size_t from, int status, const char *msg)
{
    size_t i = 0;
    for (stq_job *j = u->jobs; j; j = j->next, i++)
        if (i >= from && j->status == 0)
            stq_job_fail(j, status, "%s", msg);
}

static void
fail_from_db(stq_unit *u, size_t from, sqlite3 *db, int rc, const char *what)
{
    stq_job tmp = {0};
    stq_job_sqlite_error(&tmp, db, rc, what);
    size_t i = 0;
    for (stq_job *j = u->jobs; j; j = j->next, i++) {
        if (i >= from && j->status == 0) {
            stq_job_fail(j, tmp.status, "%s",
                         tmp.errmsg ? tmp.errmsg : "database error");
            j->sqlstate = tmp.sqlstate;
        }
    }
    free(tmp.errmsg);
}

static int
set_sync(stq_conn *c, bool full)
{
    return stq_exec(c, full ? "PRAGMA synchronous=FULL"
                            : "PRAGMA synchronous=NORMAL");
}

/* Run the job's statement on the writer's connection; RETURNING rows go
 * to the loop, and this waits until it has seen them, so that a row
 * callback that said stop really undoes the statement. */
static void
run_job(stq_worker *w, stq_job *j)
{
    stq_conn *c = &w->c;
    sqlite3_stmt *st = NULL;
    bool streamed = false;
    if (stq_stmt_get(c, j, false, &st) == 0)
        stq_run_job(w, j, st, &streamed);
    stq_stmt_release(c, st);
    if (streamed)
        stq_wait_consumed(w);
    if (j->status == 0 && atomic_load(&j->cancel))
        stq_job_fail(j, PLT_ECANCELED, "canceled by the row callback");
}

/* Run one statement inside a savepoint of the open transaction. If it
 * fails (or its row callback stopped it), only its own changes are undone.
 * Returns false if the database ended the whole transaction. */
static bool
run_in_savepoint(stq_worker *w, stq_job *j)
{
    stq_conn *c = &w->c;
    int rc = stq_exec(c, "SAVEPOINT stq_stmt");
    if (rc != SQLITE_OK) {
        stq_job_sqlite_error(j, c->db, rc, "cannot open a savepoint");
        return !sqlite3_get_autocommit(c->db);
    }
    run_job(w, j);
    if (sqlite3_get_autocommit(c->db)) {
        /* Some errors (disk full, I/O, out of memory) make SQLite roll the
         * whole transaction back: the savepoint went with it. */
        if (j->status == 0)
            stq_job_fail(j, PLT_EDB, "the transaction was rolled back");
        j->txn_lost = true;
        return false;
    }
    if (j->status != 0)
        stq_exec(c, "ROLLBACK TO stq_stmt");
    stq_exec(c, "RELEASE stq_stmt");
    return true;
}

/* query_rows() in a transaction, with no savepoint of its own: under a
 * savepoint, every statement that needs a statement journal (a multi-row
 * INSERT, an INSERT ... RETURNING) copies the pages it touches into the
 * savepoint's sub-journal, a temporary file once it passes 64 KiB; stepped
 * once per row that was five times the writes of the load itself. Instead
 * a failure rolls the whole transaction back (as PostgreSQL aborts one),
 * and the loop marks it dead. */
static void
run_rows_in_txn(stq_worker *w, stq_job *j)
{
    stq_conn *c = &w->c;
    run_job(w, j);
    if (j->status == 0 && sqlite3_get_autocommit(c->db))
        stq_job_fail(j, PLT_EDB, "the transaction was rolled back");
    if (j->status != 0) {
        if (!sqlite3_get_autocommit(c->db))
            stq_exec(c, "ROLLBACK");
        j->txn_lost = true;
    }
}

static void
run_group(stq_worker *w, stq_unit *u, bool *dirty)
{
    stq_conn *c = &w->c;
    stq *s = w->s;
    if (u->durable && set_sync(c, true) != SQLITE_OK) {
        fail_from_db(u, 0, c->db, SQLITE_ERROR, "cannot set synchronous");
        return;
    }
    int rc = stq_exec(c, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK) {
        fail_from_db(u, 0, c->db, rc, "cannot start a write transaction");
        if (u->durable)
            set_sync(c, false);
        return;
    }
    bool in_txn = true;
    size_t first = 0, i = 0;
    for (stq_job *j = u->jobs; j; j = j->next, i++) {
        if (!in_txn) {
            rc = stq_exec(c, "BEGIN IMMEDIATE");
            if (rc != SQLITE_OK) {
                fail_from_db(u, i, c->db, rc,
                             "cannot start a write transaction");
                break;
            }
            in_txn = true;
            first = i;
        }
        if (!run_in_savepoint(w, j)) {
            /* The statements before it in this transaction are gone too;
             * the next one starts a fresh transaction. */
            char msg[600];
            snprintf(msg, sizeof(msg), "rolled back with its group commit: %s",
                     j->errmsg ? j->errmsg : "database error");
            fail_all(u, first, j->status, msg);
            in_txn = false;
        }
    }
    if (in_txn) {
        rc = stq_exec(c, "COMMIT");
        if (rc != SQLITE_OK) {
            fail_from_db(u, first, c->db, rc, "commit failed");
            if (!sqlite3_get_autocommit(c->db))
                stq_exec(c, "ROLLBACK");
        } else {
            atomic_fetch_add(&s->d_commits, 1);
            atomic_fetch_add(&s->d_grouped, u->njobs - first);
            if (u->durable)
                atomic_fetch_add(&s->d_durable, 1);
        }
    }
    if (u->durable)
        set_sync(c, false);
    *dirty = true;
}

static void
run_txn_job(stq_worker *w, stq_job *j, bool *dirty)
{
    stq_conn *c = &w->c;
    stq *s = w->s;
    bool durable = (j->flags & PLT_STORAGE_DURABLE) != 0;
    int rc;
    switch (j->kind) {
    case STQ_BEGIN:
        if (durable && set_sync(c, true) != SQLITE_OK) {
            stq_job_sqlite_error(j, c->db, SQLITE_ERROR,
                                 "cannot set synchronous");
            return;
        }
        rc = stq_exec(c, "BEGIN IMMEDIATE");
        if (rc != SQLITE_OK) {
            stq_job_sqlite_error(j, c->db, rc,
                                 "cannot start a write transaction");
            if (durable)
                set_sync(c, false);
        }
        return;
    case STQ_QUERY:
        if (sqlite3_get_autocommit(c->db)) {
            stq_job_fail(j, PLT_EDB, "the transaction is no longer open");
            j->txn_lost = true;
            return;
        }
        if (j->nrows)
            run_rows_in_txn(w, j);
        else
            run_in_savepoint(w, j);
        *dirty = true;
        return;
    case STQ_COMMIT:
        if (sqlite3_get_autocommit(c->db)) {
            stq_job_fail(j, PLT_EDB, "the transaction is no longer open");
        } else {
            rc = stq_exec(c, "COMMIT");
            if (rc != SQLITE_OK) {
                stq_job_sqlite_error(j, c->db, rc, "commit failed");
                if (!sqlite3_get_autocommit(c->db))
                    stq_exec(c, "ROLLBACK");
            } else {
                atomic_fetch_add(&s->d_commits, 1);
                if (durable)
                    atomic_fetch_add(&s->d_durable, 1);
            }
        }
        if (durable)
            set_sync(c, false);
        *dirty = true;
        return;
    case STQ_ROLLBACK:
        if (!sqlite3_get_autocommit(c->db)) {
            rc = stq_exec(c, "ROLLBACK");
            if (rc != SQLITE_OK)
                stq_job_sqlite_error(j, c->db, rc, "rollback failed");
        }
        if (durable)
            set_sync(c, false);
        return;
    }
}

static void
run_unit(stq_worker *w, stq_unit *u, bool *dirty)
{
    if (u->kind == STQ_UNIT_GROUP)
        run_group(w, u, dirty);
    else
        run_txn_job(w, u->jobs, dirty);
}

static void
unit_free(stq_unit *u)
{
    /* The unit is inside its first job: take the list before freeing. */
    stq_job *j = u->jobs;
    while (j) {
        stq_job *n = j->next;
        stq_job_free(j);
        j = n;
    }
}

static void
idle_checkpoint(stq_worker *w)
{
    /* Inside a transaction the checkpoint could not run; it will after
     * the transaction ends. */
    if (!sqlite3_get_autocommit(w->c.db))
        return;
    int log = 0, done = 0;
    if (sqlite3_wal_checkpoint_v2(w->c.db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                  &log, &done) == SQLITE_OK)
        atomic_fetch_add(&w->s->d_checkpoints, 1);
}

static void
writer_main(void *arg)
{
    stq *s = arg;
    stq_worker *w = &s->writer;
    int rc = stq_conn_open(s, &w->c, true, s->start_err, sizeof(s->start_err));
    if (rc == 0)
        rc = stq_migrate(s, &w->c, s->start_err, sizeof(s->start_err));
    w->open_rc = rc;
    uv_sem_post(&s->ready);
    if (rc != 0) {
        stq_conn_close(&w->c);
        return;
    }
    bool dirty = false;
    for (;;) {
        uv_mutex_lock(&s->wmu);
        while (!s->w_in && !s->w_exit && !atomic_load(&s->abort)) {
            if (!dirty) {
                uv_cond_wait(&s->wcv, &s->wmu);
                continue;
            }
            int r = uv_cond_timedwait(&s->wcv, &s->wmu,
                                      STQ_IDLE_CHECKPOINT_MS * 1000000ull);
            if (r == UV_ETIMEDOUT && !s->w_in) {
                uv_mutex_unlock(&s->wmu);
                idle_checkpoint(w);
                dirty = false;
                uv_mutex_lock(&s->wmu);
            }
        }
        stq_unit *u = NULL;
        if (!atomic_load(&s->abort) && s->w_in) {
            u = s->w_in;
            s->w_in = NULL;
        }
        uv_mutex_unlock(&s->wmu);
        if (!u)
            break;
        run_unit(w, u, &dirty);
        if (stq_post(stq_on_unit_done, u) != 0)
            unit_free(u);
        stq_work_end(s);
    }
    /* Stopped by force inside a transaction: leave nothing half done. */
    if (!sqlite3_get_autocommit(w->c.db))
        stq_exec(&w->c, "ROLLBACK");
    /* Readers closed first, so this is the last connection: closing it
     * checkpoints the WAL into the database and removes it. */
    stq_conn_close(&w->c);
    if (s->w_exit && !atomic_load(&s->abort)) {
        stq_post_exit(s, true);
        stq_work_end(s); /* declared by stq_writer_exit() */
    }
}

int
stq_writer_start(stq *s)
{
    stq_worker *w = &s->writer;
    w->s = s;
    w->index = -1;
    if (stq_worker_sync_init(w) != 0) {
        snprintf(s->start_err, sizeof(s->start_err),
                 "out of memory for the writer");
        return PLT_ENOMEM;
    }
    int rc = uv_thread_create(&w->tid, writer_main, s);
    if (rc != 0) {
        snprintf(s->start_err, sizeof(s->start_err),
                 "cannot start the writer thread: %s", uv_strerror(rc));
        return rc;
    }
    w->running = true;
    /* start() may block here: the writer opens the database and applies
     * migrations before anything is served. Each SQLite wait inside is
     * bounded by busy_timeout. */
    uv_sem_wait(&s->ready);
    if (w->open_rc != 0) {
        uv_thread_join(&w->tid);
        w->running = false;
        return w->open_rc;
    }
    return 0;
}

void
stq_writer_hand(stq *s, stq_unit *u)
{
    stq_work_begin(s);
    uv_mutex_lock(&s->wmu);
    s->w_in = u;
    uv_cond_signal(&s->wcv);
    uv_mutex_unlock(&s->wmu);
    s->writer_busy = true;
}

void
stq_writer_exit(stq *s)
{
    if (!s->writer.running)
        return;
    stq_work_begin(s);
    uv_mutex_lock(&s->wmu);
    s->w_exit = true;
    uv_cond_signal(&s->wcv);
    uv_mutex_unlock(&s->wmu);
}

void
stq_writer_join(stq *s)
{
    if (s->writer.running) {
        uv_thread_join(&s->writer.tid);
        s->writer.running = false;
    }
}

void
stq_unit_free(stq_unit *u)
{
    unit_free(u);
}
