/* SPDX-License-Identifier: MIT */
/*
 * The storage 1.0 service on the loop thread: validating and copying
 * requests, routing them (reads to the reader threads, writes and
 * everything inside a transaction to the writer), deciding what the
 * writer runs next, transactions and their idle timeout, delivering
 * results to consumers, in-process LISTEN/NOTIFY, counters, and the
 * orderly drain at stop.
 *
 * The writer queue lives here, not in the writer thread: while a
 * transaction holds the writer, other writes simply wait in this queue,
 * and only what the writer is actually running is declared as work in
 * flight (plt_work_begin). That matters with the simulated clock: a write
 * waiting behind an idle transaction must not freeze time, or the
 * transaction's txn_timeout could never fire.
 *
 * Every consumer callback runs from a posted message or a timer, never
 * from inside the call that queued it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage_sqlite_int.h"

stq *stq_live;

int
stq_post(plt_fn fn, void *arg)
{
    /* Under memory pressure keep trying for a while: a result that never
     * reaches the loop is a consumer that waits forever. */
    for (int i = 0;; i++) {
        int rc = plt_post(fn, arg);
        if (rc != PLT_ENOMEM || i >= 200)
            return rc;
        usleep(1000);
    }
}

void
stq_job_free(stq_job *j)
{
    if (!j)
        return;
    free(j->sql);
    free(j->args);
    free(j->errmsg);
    free(j->names);
    free(j);
}

static stq_job *
job_new(stq *s, stq_kind kind)
{
    stq_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->gen = s->gen;
    j->kind = kind;
    atomic_init(&j->cancel, 0);
    return j;
}

static bool
is_stale(uint64_t gen)
{
    return !stq_live || stq_live->gen != gen;
}

/* ------------------------------------------------------------------ */
/* Transactions (loop side) */

static bool
txn_live(stq *s, plt_storage_txn *t)
{
    for (plt_storage_txn *x = s->txns; x; x = x->next)
        if (x == t)
            return true;
    return false;
}

static void
txn_touch(plt_storage_txn *t)
{
    if (t->idle_timer) {
        plt_timer_stop(t->idle_timer);
        t->idle_timer = NULL;
    }
}

static void
txn_release(stq *s, plt_storage_txn *t)
{
    txn_touch(t);
    for (plt_storage_txn **pp = &s->txns; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    if (s->txn_cur == t)
        s->txn_cur = NULL;
    while (t->qhead) {
        stq_job *j = t->qhead;
        t->qhead = j->next;
        stq_job_free(j);
    }
    if (t->rb)
        stq_unit_free(t->rb);
    free(t->dead_msg);
    free(t);
}

/* Finish a job now, from the loop, through a post (never inside the
 * consumer's call). On failure to post, the caller still owns @p j. */
static int
finish_async(stq_job *j)
{
    return stq_post(stq_on_job_done, j);
}

/* Mark @p t rolled back; its queued calls fail with the same reason. */
__attribute__((format(printf, 4, 5))) static void
txn_kill(stq *s, plt_storage_txn *t, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    txn_touch(t);
    t->dead = true;
    t->open = false;
    t->dead_status = status;
    free(t->dead_msg);
    t->dead_msg = strdup(msg);
    if (s->txn_cur == t)
        s->txn_cur = NULL;
    while (t->qhead) {
        stq_job *j = t->qhead;
        t->qhead = j->next;
        j->next = NULL;
        stq_job_fail(j, status, "%s", msg);
        if (finish_async(j) != 0) {
            s->outstanding--;
            stq_job_free(j);
        }
    }
    t->qtail = NULL;
}

/* Make @p j the head of a unit of its own. */
static stq_unit *
unit_of(stq *s, stq_job *j, stq_unit_kind kind)
{
    stq_unit *u = &j->unit;
    *u = (stq_unit){.kind = kind, .gen = s->gen, .jobs = j, .njobs = 1};
    j->next = NULL;
    return u;
}

static stq_unit *
rollback_unit_new(stq *s, uint32_t flags)
{
    stq_job *j = job_new(s, STQ_ROLLBACK);
    if (!j)
        return NULL;
    j->flags = flags; /* a durable txn restores synchronous after */
    return unit_of(s, j, STQ_UNIT_TXN);
}

/* Roll back the transaction holding the writer, on our own initiative.
 * The unit carries no consumer callback and no txn pointer: the handle
 * may be released (commit()/rollback() report the reason) before the
 * writer is done. */
static void
rollback_now(stq *s, plt_storage_txn *t)
{
    stq_unit *u = t->rb;
    t->rb = NULL;
    if (u) /* used at most once: a dead transaction is never revived */
        stq_writer_hand(s, u);
}

static void
on_txn_idle(void *arg)
{
    plt_storage_txn *t = arg;
    stq *s = t->s;
    t->idle_timer = NULL; /* one-shot: released by the core after this */
    if (s->txn_cur != t || t->busy || t->qhead || t->ending || t->dead)
        return;
    uint64_t held = plt_mono() - t->began_ms;
    plt_log(PLT_LOG_WARN,
            "transaction rolled back: no call for %lld ms (txn_timeout); "
            "it held the writer for %llu ms",
            (long long)s->txn_ms, (unsigned long long)held);
    txn_kill(s, t, PLT_ETIMEDOUT,
             "transaction rolled back after %lld ms without a call "
             "(txn_timeout); it was held for %llu ms",
             (long long)s->txn_ms, (unsigned long long)held);
    rollback_now(s, t);
}

/* ------------------------------------------------------------------ */
/* The writer's next unit */

static void maybe_stopped(stq *s);

static stq_job *
wq_pop(stq *s)
{
    stq_job *j = s->wq_head;
    if (j) {
        s->wq_head = j->next;
        if (!s->wq_head)
            s->wq_tail = NULL;
        s->wq_len--;
        j->next = NULL;
    }
    return j;
}

static void
wq_push(stq *s, stq_job *j)
{
    j->next = NULL;
    if (s->wq_tail)
        s->wq_tail->next = j;
    else
        s->wq_head = j;
    s->wq_tail = j;
    s->wq_len++;
}

void
stq_kick(stq *s)
{
    if (s->writer_busy || !s->writer.running ||
        (s->state != STQ_S_STARTED && s->state != STQ_S_STOPPING) ||
        s->threads_stopping)
        return;
    plt_storage_txn *t = s->txn_cur;
    if (t) {
        if (t->qhead) {
            stq_job *j = t->qhead;
            t->qhead = j->next;
            if (!t->qhead)
                t->qtail = NULL;
            t->busy = true;
            stq_writer_hand(s, unit_of(s, j, STQ_UNIT_TXN));
            return;
        }
        if (t->ending)
            return;
        if (s->state == STQ_S_STOPPING) {
            plt_log(PLT_LOG_WARN,
                    "rolling back a transaction left open at "
                    "stop (held for %llu ms)",
                    (unsigned long long)(plt_mono() - t->began_ms));
            txn_kill(s, t, PLT_ESHUTDOWN,
                     "transaction rolled back: storage stopped");
            rollback_now(s, t);
            return;
        }
        if (!t->idle_timer && s->txn_ms > 0 &&
            plt_timer_start(&t->idle_timer, (uint64_t)s->txn_ms, 0, on_txn_idle,
                            t) != 0) {
            t->idle_timer = NULL;
            plt_log(PLT_LOG_WARN, "cannot arm txn_timeout for an idle "
                                  "transaction (out of memory)");
        }
        return;
    }
    if (!s->wq_head) {
        maybe_stopped(s);
        return;
    }
    if (s->wq_head->kind == STQ_BEGIN) {
        stq_writer_hand(s, unit_of(s, wq_pop(s), STQ_UNIT_TXN));
        return;
    }
    /* Group every consecutive autocommit write that queued up. */
    stq_job *first = wq_pop(s);
    stq_unit *u = unit_of(s, first, STQ_UNIT_GROUP);
    u->durable = (first->flags & PLT_STORAGE_DURABLE) != 0;
    stq_job *last = first;
    while (s->wq_head && s->wq_head->kind == STQ_QUERY &&
           u->njobs < (size_t)s->batch_max) {
        stq_job *j = wq_pop(s);
        if (j->flags & PLT_STORAGE_DURABLE)
            u->durable = true;
        last->next = j;
        last = j;
        u->njobs++;
    }
    stq_writer_hand(s, u);
}

/* ------------------------------------------------------------------ */
/* Delivering results */

static void
count_result(stq *s, stq_job *j, int status)
{
    if (status == 0) {
        s->completed++;
        return;
    }
    s->failed++;
    /* Remember (and say once) what looks like trouble with the database
     * itself rather than with one statement. */
    if ((status == PLT_EDB || status == PLT_EAGAIN || status == PLT_ENOMEM ||
         status == PLT_EIO) &&
        j->errmsg &&
        (!s->last_error || strcmp(s->last_error, j->errmsg) != 0)) {
        plt_log(PLT_LOG_WARN, "database error: %s", j->errmsg);
        char *copy = strdup(j->errmsg);
        if (copy) {
            free(s->last_error);
            s->last_error = copy;
        }
    }
}

static void
deliver(stq *s, stq_job *j)
{
    int status = j->status;
    const char *err = j->errmsg;
    if (j->loop_cancelled) {
        status = PLT_ECANCELED;
        err = "canceled by the row callback";
    }
    plt_storage_result res = {
        .rows_affected = status == 0 ? j->rows_affected : 0,
        .rows = j->rows_delivered,
        .error = status == 0 ? NULL : (err ? err : plt_strerror(status)),
        .sqlstate = status == 0 ? NULL : j->sqlstate,
    };
    bool internal = !j->done && !j->begin_cb;
    if (!internal) {
        s->outstanding--;
        count_result(s, j, status);
    }
    plt_storage_txn *t = j->txn;
    switch (j->kind) {
    case STQ_BEGIN:
        if (!t || !j->begin_cb)
            break; /* cannot happen: begin() sets both */
        if (status == 0) {
            /* Current before the callback: calls it makes join the
             * transaction's own queue. */
            t->open = true;
            s->txn_cur = t;
            t->began_ms = plt_mono();
            j->begin_cb(j->arg, 0, t);
        } else {
            txn_release(s, t);
            j->begin_cb(j->arg, status, NULL);
        }
        break;
    case STQ_QUERY:
        if (j->done)
            j->done(j->arg, status, &res);
        break;
    case STQ_COMMIT:
    case STQ_ROLLBACK:
        if (j->done)
            j->done(j->arg, status, &res);
        /* The handle is released once its done() ran. */
        if (t)
            txn_release(s, t);
        break;
    }
    stq_job_free(j);
}

void
stq_on_job_done(void *arg)
{
    stq_job *j = arg;
    if (is_stale(j->gen)) {
        stq_job_free(j);
        return;
    }
    stq *s = stq_live;
    deliver(s, j);
    stq_kick(s);
    maybe_stopped(s);
}

void
stq_on_reroute(void *arg)
{
    stq_job *j = arg;
    if (is_stale(j->gen)) {
        stq_job_free(j);
        return;
    }
    stq *s = stq_live;
    /* Runs as an autocommit write now, with everything it would have had
     * on the writer in the first place. */
    wq_push(s, j);
    stq_kick(s);
}

void
stq_on_unit_done(void *arg)
{
    stq_unit *u = arg;
    if (is_stale(u->gen)) {
        stq_unit_free(u);
        return;
    }
    stq *s = stq_live;
    s->writer_busy = false;
    /* The unit lives in its first job, which deliver() frees: take what
     * is needed from it first. */
    stq_unit_kind kind = u->kind;
    stq_job *list = u->jobs;
    if (kind == STQ_UNIT_TXN) {
        stq_job *j = list;
        plt_storage_txn *t = j->txn;
        if (t) {
            t->busy = false;
            if (j->kind == STQ_QUERY && j->txn_lost && !t->dead)
                txn_kill(s, t, PLT_EDB,
                         "the database rolled the transaction back: %s",
                         j->errmsg ? j->errmsg : "error");
            if (j->kind == STQ_COMMIT || j->kind == STQ_ROLLBACK) {
                t->open = false;
                if (s->txn_cur == t)
                    s->txn_cur = NULL;
            }
            /* A consumer that queued its next statement before this one
             * finished (a pipeline) gets it started now, before the
             * callbacks below: the writer runs it while the loop delivers
             * this result and builds the one after. Results still come
             * back in order (one unit on the writer at a time). */
            if (j->kind == STQ_QUERY && s->txn_cur == t && t->qhead)
                stq_kick(s);
        }
    }
    while (list) {
        stq_job *j = list;
        list = j->next;
        j->next = NULL;
        deliver(s, j);
    }
    stq_kick(s);
    maybe_stopped(s);
}

/* ------------------------------------------------------------------ */
/* The vtable */

static const char *
v_engine(void *impl)
{
    (void)impl;
    return "sqlite";
}

static int
v_migrations(void *impl, const char *owner, const plt_storage_migration *m,
             size_t n)
{
    stq *s = impl;
    int rc = stc_migrations_add(&s->mig, owner, m, n);
    if (rc != 0)
        plt_log(PLT_LOG_ERROR, "%s", stc_migreg_error(&s->mig));
    return rc;
}

/* May a new call be accepted? Calls on an open transaction are, while
 * stopping, so that it can still finish. */
static int
accepting(stq *s, plt_storage_txn *t)
{
    if (s->state == STQ_S_STARTED)
        return 0;
    if (s->state == STQ_S_STOPPING && t)
        return 0;
    return s->state == STQ_S_INIT ? PLT_ESTATE : PLT_ESHUTDOWN;
}

/* query() (@p rows false: @p ncols arguments) and query_rows() (@p nrows
 * rows of @p ncols arguments). */
static int
submit(stq *s, plt_storage_txn *txn, const char *sql, const plt_value *args,
       size_t ncols, size_t nrows, bool rows, uint32_t flags,
       plt_storage_row_fn row, plt_storage_done_fn done, void *arg)
{
    size_t nargs = rows ? ncols * nrows : ncols;
    if (!sql || !done || (nargs && !args) ||
        (rows && nrows && (ncols == 0 || nargs / nrows != ncols)))
        return PLT_EINVAL;
    if (txn && (!txn_live(s, txn) || txn->ending || !(txn->open || txn->dead)))
        return PLT_EINVAL;
    int rc = accepting(s, txn);
    if (rc != 0)
        return rc;
    stq_job *j = job_new(s, STQ_QUERY);
    if (!j)
        return PLT_ENOMEM;
    j->flags = flags;
    j->txn = txn;
    j->row = row;
    j->done = done;
    j->arg = arg;
    /* The text's rewrite and checks come from the loop's text cache: a
     * consumer's statement shapes are few, its arguments change. */
    const stc_sqlinfo *info = NULL;
    rc = stc_sqlcache_get(&s->texts, sql, STC_SQLITE, STC_RW_LOCKING, &info);
    if (rc == 0 && !(j->sql = strdup(info->rewritten)))
        rc = PLT_ENOMEM;
    if (rc == 0)
        rc = stc_values_copy(args, nargs, &j->args);
    if (rc != 0) {
        stq_job_free(j);
        return rc;
    }
    j->nargs = nargs;
    j->nrows = nrows;
    j->row_ncols = ncols;
    /* Stepped once per row, an INSERT ... RETURNING needs a statement
     * journal for every row (SQLite's RETURNING makes it a multi-write
     * statement): ~3 us a row, 60 % more than the insert. In multi-row
     * INSERTs that cost is paid once per chunk. */
    j->rows_multi = rows && nrows > 1 &&
                    stc_sql_values_split(j->sql, &j->shape) == 0 &&
                    j->shape.returning;

    /* Mistakes found without the database are reported the same way as
     * the database's own: through done(). */
    uint32_t max = info->max;
    bool early = true;
    if (info->blank)
        stq_job_fail(j, PLT_EINVAL, "empty statement");
    else if (info->txn_control)
        stq_job_fail(j, PLT_EINVAL,
                     "transaction statements are not allowed in query(): "
                     "use begin(), commit() and rollback()");
    else if (info->param_rc != 0)
        stq_job_fail(j, PLT_EINVAL,
                     "malformed placeholder: write $1, $2, ... ($0 and "
                     "$N followed by letters are not placeholders)");
    else if (max != ncols)
        stq_job_fail(j, PLT_EINVAL,
                     "wrong parameter count: the statement uses $1..$%u "
                     "but %zu argument(s) were given%s",
                     max, ncols, nrows ? " per row" : "");
    else if (txn && txn->dead)
        stq_job_fail(j, txn->dead_status, "%s",
                     txn->dead_msg ? txn->dead_msg : "transaction ended");
    else
        early = false;
    /* query_rows() with no rows: nothing to run (done() says 0). */
    early |= rows && nrows == 0;

    if (early) {
        if (finish_async(j) != 0) {
            stq_job_free(j);
            return PLT_ENOMEM;
        }
        s->outstanding++;
        return 0;
    }
    s->outstanding++;
    if (txn) {
        txn_touch(txn);
        j->next = NULL;
        if (txn->qtail)
            txn->qtail->next = j;
        else
            txn->qhead = j;
        txn->qtail = j;
        stq_kick(s);
    } else if (flags & PLT_STORAGE_WRITE) {
        wq_push(s, j);
        stq_kick(s);
    } else {
        stq_readers_enqueue(s, j);
    }
    return 0;
}

static int
v_query(void *impl, plt_storage_txn *txn, const char *sql,
        const plt_value *args, size_t nargs, uint32_t flags,
        plt_storage_row_fn row, plt_storage_done_fn done, void *arg)
{
    return submit(impl, txn, sql, args, nargs, 0, false, flags, row, done,
                  arg);
}

static int
v_query_rows(void *impl, plt_storage_txn *txn, const char *sql,
             const plt_value *args, size_t ncols, size_t nrows,
             uint32_t flags, plt_storage_row_fn row, plt_storage_done_fn done,
             void *arg)
{
    return submit(impl, txn, sql, args, ncols, nrows, true, flags, row, done,
                  arg);
}

static int
v_begin(void *impl, uint32_t flags, plt_storage_begin_fn cb, void *arg)
{
    stq *s = impl;
    if (!cb)
        return PLT_EINVAL;
    int rc = accepting(s, NULL);
    if (rc != 0)
        return rc;
    plt_storage_txn *t = calloc(1, sizeof(*t));
    stq_job *j = job_new(s, STQ_BEGIN);
    stq_unit *rb = rollback_unit_new(s, flags & PLT_STORAGE_DURABLE);
    if (!t || !j || !rb) {
        free(t);
        free(j);
        if (rb)
            stq_unit_free(rb);
        return PLT_ENOMEM;
    }
    t->s = s;
    t->rb = rb;
    t->flags = flags & PLT_STORAGE_DURABLE;
    t->next = s->txns;
    s->txns = t;
    j->flags = t->flags;
    j->txn = t;
    j->begin_cb = cb;
    j->arg = arg;
    s->outstanding++;
    wq_push(s, j);
    stq_kick(s);
    return 0;
}

static int
end_txn(stq *s, plt_storage_txn *t, stq_kind kind, plt_storage_done_fn done,
        void *arg)
{
    if (!t || !txn_live(s, t) || t->ending || !(t->open || t->dead))
        return PLT_EINVAL;
    int rc = accepting(s, t);
    if (rc != 0)
        return rc;
    stq_job *j = job_new(s, kind);
    if (!j)
        return PLT_ENOMEM;
    j->flags = t->flags;
    j->txn = t;
    j->done = done;
    j->arg = arg;
    if (t->dead) {
        /* Already rolled back (timeout, stop, database): say so, and
         * release the handle. */
        stq_job_fail(j, t->dead_status, "%s",
                     t->dead_msg ? t->dead_msg : "transaction ended");
        if (finish_async(j) != 0) {
            stq_job_free(j);
            return PLT_ENOMEM;
        }
    } else {
        txn_touch(t);
        if (t->qtail)
            t->qtail->next = j;
        else
            t->qhead = j;
        t->qtail = j;
    }
    t->ending = true;
    s->outstanding++;
    stq_kick(s);
    return 0;
}

static int
v_commit(void *impl, plt_storage_txn *txn, plt_storage_done_fn done, void *arg)
{
    return end_txn(impl, txn, STQ_COMMIT, done, arg);
}

static int
v_rollback(void *impl, plt_storage_txn *txn, plt_storage_done_fn done,
           void *arg)
{
    return end_txn(impl, txn, STQ_ROLLBACK, done, arg);
}

/* ------------------------------------------------------------------ */
/* LISTEN / NOTIFY, in process */

static bool
channel_ok(const char *c)
{
    if (!c || !(*c >= 'a' && *c <= 'z'))
        return false;
    size_t n = 0;
    for (const char *p = c; *p; p++, n++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return n < sizeof(((plt_storage_listener *)0)->channel);
}

static int
v_listen(void *impl, const char *channel, plt_storage_notify_fn cb, void *arg,
         plt_storage_listener **out)
{
    stq *s = impl;
    if (!channel_ok(channel) || !cb || !out)
        return PLT_EINVAL;
    if (s->state == STQ_S_STOPPED)
        return PLT_ESHUTDOWN;
    plt_storage_listener *l = calloc(1, sizeof(*l));
    if (!l)
        return PLT_ENOMEM;
    snprintf(l->channel, sizeof(l->channel), "%s", channel);
    l->cb = cb;
    l->arg = arg;
    /* Append: listeners hear a notification in the order they listened. */
    plt_storage_listener **pp = &s->listeners;
    while (*pp)
        pp = &(*pp)->next;
    *pp = l;
    *out = l;
    return 0;
}

static void
sweep_listeners(stq *s)
{
    plt_storage_listener **pp = &s->listeners;
    while (*pp) {
        if ((*pp)->dead) {
            plt_storage_listener *l = *pp;
            *pp = l->next;
            free(l);
        } else {
            pp = &(*pp)->next;
        }
    }
}

static void
v_unlisten(void *impl, plt_storage_listener *l)
{
    stq *s = impl;
    for (plt_storage_listener *x = s->listeners; x; x = x->next) {
        if (x == l) {
            /* While a notification is being delivered the list is being
             * walked: unlink afterwards. */
            l->dead = true;
            if (!s->delivering)
                sweep_listeners(s);
            return;
        }
    }
}

typedef struct notify_msg {
    uint64_t gen;
    plt_storage_done_fn done;
    void *arg;
    char *payload;
    char channel[64];
} notify_msg;

static void
on_notify(void *arg)
{
    notify_msg *m = arg;
    if (is_stale(m->gen)) {
        free(m->payload);
        free(m);
        return;
    }
    stq *s = stq_live;
    s->delivering++;
    for (plt_storage_listener *l = s->listeners; l; l = l->next)
        if (!l->dead && strcmp(l->channel, m->channel) == 0)
            l->cb(l->arg, m->channel, m->payload);
    if (--s->delivering == 0)
        sweep_listeners(s);
    s->outstanding--;
    s->completed++;
    if (m->done) {
        plt_storage_result res = {0};
        m->done(m->arg, 0, &res);
    }
    free(m->payload);
    free(m);
    maybe_stopped(s);
}

static int
v_notify(void *impl, const char *channel, const char *payload,
         plt_storage_done_fn done, void *arg)
{
    stq *s = impl;
    if (!channel_ok(channel))
        return PLT_EINVAL;
    if (!payload)
        payload = "";
    if (strlen(payload) > 7999)
        return PLT_EINVAL;
    int rc = accepting(s, NULL);
    if (rc != 0)
        return rc;
    notify_msg *m = calloc(1, sizeof(*m));
    char *p = strdup(payload);
    if (!m || !p) {
        free(m);
        free(p);
        return PLT_ENOMEM;
    }
    m->gen = s->gen;
    m->done = done;
    m->arg = arg;
    m->payload = p;
    snprintf(m->channel, sizeof(m->channel), "%s", channel);
    /* Delivered on a later loop iteration, never inside notify(). */
    rc = stq_post(on_notify, m);
    if (rc != 0) {
        free(p);
        free(m);
        return rc;
    }
    s->outstanding++;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Status */

static int
v_status(void *impl, plt_storage_status *out)
{
    stq *s = impl;
    if (!out || out->size < sizeof(uint32_t))
        return PLT_EINVAL;
    size_t queued = s->wq_len;
    for (plt_storage_txn *t = s->txns; t; t = t->next)
        for (stq_job *j = t->qhead; j; j = j->next)
            queued++;
    if (s->sync_ready) {
        uv_mutex_lock(&s->rmu);
        queued += s->rq_len;
        uv_mutex_unlock(&s->rmu);
    }
    plt_storage_status full = {
        .size = out->size,
        .connected = s->state == STQ_S_STARTED || s->state == STQ_S_STOPPING,
        .queued = (uint32_t)queued,
        .in_flight =
            (uint32_t)(s->outstanding > queued ? s->outstanding - queued : 0),
        .completed = s->completed,
        .failed = s->failed,
        .last_error = s->last_error,
    };
    /* Fill only what the caller's struct has room for. */
    size_t n = out->size < sizeof(full) ? out->size : sizeof(full);
    memcpy(out, &full, n);
    return 0;
}

static void
v_diag(void *impl, stq_diag *out)
{
    stq *s = impl;
    *out = (stq_diag){
        .batches = atomic_load(&s->d_batches),
        .peak_outstanding = atomic_load(&s->peak_outstanding),
        .commits = atomic_load(&s->d_commits),
        .grouped = atomic_load(&s->d_grouped),
        .rerouted = atomic_load(&s->d_rerouted),
        .checkpoints = atomic_load(&s->d_checkpoints),
        .durable_commits = atomic_load(&s->d_durable),
    };
}

const stq_vt_ext stq_vtable = {
    .vt =
        {
            .size = sizeof(plt_storage_vt),
            .engine = v_engine,
            .migrations = v_migrations,
            .query = v_query,
            .begin = v_begin,
            .commit = v_commit,
            .rollback = v_rollback,
            .listen = v_listen,
            .unlisten = v_unlisten,
            .notify = v_notify,
            .status = v_status,
            .query_rows = v_query_rows,
        },
    .magic = STQ_DIAG_MAGIC,
    .diag = v_diag,
};

/* ------------------------------------------------------------------ */
/* Stopping */

static void
maybe_stopped(stq *s)
{
    if (s->state != STQ_S_STOPPING || s->threads_stopping)
        return;
    if (s->outstanding || s->writer_busy || s->txn_cur || s->wq_head)
        return;
    /* Everything drained: readers close first, then the writer, whose
     * close checkpoints the WAL away (it must be the last connection). */
    s->threads_stopping = true;
    s->readers_exited = 0;
    bool any = false;
    for (int i = 0; s->readers && i < s->nreaders; i++)
        any = any || s->readers[i].running;
    if (any)
        stq_readers_exit(s);
    else
        stq_writer_exit(s);
}

void
stq_on_worker_exit(void *arg)
{
    stq_exit_msg *m = arg;
    bool stale = is_stale(m->gen);
    bool writer = m->writer;
    free(m);
    if (stale)
        return;
    stq *s = stq_live;
    if (!writer) {
        if (++s->readers_exited == s->nreaders) {
            stq_readers_join(s);
            stq_writer_exit(s);
        }
        return;
    }
    stq_writer_join(s);
    s->state = STQ_S_STOPPED;
    plt_log(PLT_LOG_INFO,
            "stopped: %llu statement(s) completed, %llu "
            "failed",
            (unsigned long long)s->completed, (unsigned long long)s->failed);
    plt_stopped();
}

int
stq_api_stop(stq *s)
{
    if (s->state != STQ_S_STARTED)
        return 0;
    s->state = STQ_S_STOPPING;
    /* A transaction left idle is rolled back now (with a warning); one
     * with calls queued finishes them first. */
    stq_kick(s);
    maybe_stopped(s);
    return PLT_EINPROGRESS;
}

void
stq_threads_abort(stq *s)
{
    if (!s->sync_ready)
        return;
    atomic_store(&s->abort, true);
    uv_mutex_lock(&s->rmu);
    uv_cond_broadcast(&s->rcv);
    uv_mutex_unlock(&s->rmu);
    uv_mutex_lock(&s->wmu);
    uv_cond_broadcast(&s->wcv);
    uv_mutex_unlock(&s->wmu);
    /* Threads waiting for the loop to take their batches. */
    for (int i = -1; i < s->nreaders; i++) {
        stq_worker *w = i < 0 ? &s->writer : s->readers ? &s->readers[i] : NULL;
        if (!w || !w->sync_ok)
            continue;
        uv_mutex_lock(&w->mu);
        uv_cond_broadcast(&w->cv);
        uv_mutex_unlock(&w->mu);
    }
    stq_readers_join(s);
    stq_writer_join(s);
}

static void
free_jobs(stq_job *j)
{
    while (j) {
        stq_job *n = j->next;
        stq_job_free(j);
        j = n;
    }
}

void
stq_api_fini(stq *s)
{
    bool running = s->writer.running;
    for (int i = 0; s->readers && i < s->nreaders; i++)
        running = running || s->readers[i].running;
    if (running) {
        plt_log(PLT_LOG_WARN, "stopping the database threads by force "
                              "(work still queued is dropped)");
        stq_threads_abort(s);
    }
    /* Messages still queued in the core belong to this instance: they are
     * dropped from now on (the plugin stays mapped: PLT_PLUGIN_F_NOUNLOAD). */
    if (stq_live == s)
        stq_live = NULL;
    for (long n = atomic_exchange(&s->declared, 0); n > 0; n--)
        plt_work_end();

    free_jobs(s->wq_head);
    s->wq_head = s->wq_tail = NULL;
    free_jobs(s->rq_head);
    s->rq_head = s->rq_tail = NULL;
    if (s->w_in) {
        stq_unit_free(s->w_in);
        s->w_in = NULL;
    }
    while (s->txns)
        txn_release(s, s->txns);
    while (s->listeners) {
        plt_storage_listener *l = s->listeners;
        s->listeners = l->next;
        free(l);
    }
    if (s->sync_ready) {
        stq_worker_sync_fini(&s->writer);
        for (int i = 0; s->readers && i < s->nreaders; i++)
            stq_worker_sync_fini(&s->readers[i]);
        uv_mutex_destroy(&s->wmu);
        uv_cond_destroy(&s->wcv);
        uv_mutex_destroy(&s->rmu);
        uv_cond_destroy(&s->rcv);
        uv_sem_destroy(&s->ready);
        s->sync_ready = false;
    }
    free(s->readers);
    s->readers = NULL;
    for (size_t i = 0; i < s->nstart_notes; i++)
        free(s->start_notes[i]);
    free(s->start_notes);
    stc_migreg_free(&s->mig);
    free(s->last_error);
    stc_sqlcache_clear(&s->texts);
    free(s->path);
}
