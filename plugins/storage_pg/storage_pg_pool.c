/* SPDX-License-Identifier: MIT */
/*
 * The pool: `pool` connections, one FIFO of requests, transactions, and
 * the storage vtable consumers call.
 *
 * Each connection runs one statement at a time. Autocommit statements and
 * BEGINs wait in one FIFO and go to the first free connection; a
 * transaction pins the connection its BEGIN ran on until COMMIT or
 * ROLLBACK, and its statements wait in its own FIFO for that connection.
 * A transaction left idle for txn_timeout is rolled back (a WARN says so)
 * and its later calls report PLT_ETIMEDOUT.
 *
 * When the server goes away, what was in flight is judged by what can be
 * known: a statement whose bytes did not all leave never committed (it
 * goes back to the head of the FIFO); an autocommit statement or a COMMIT
 * that was sent but not answered may have committed (PLT_EIO); anything
 * else inside a transaction was rolled back with it (PLT_EAGAIN). Queued
 * work waits connect_timeout for a connection, then fails PLT_EAGAIN. The
 * connections reconnect by themselves; the pool logs the outage once when
 * its last connection goes and once when the first comes back.
 *
 * Completions run on the loop, never from inside the call that queued
 * them; every accepted request is declared with plt_work_begin() until its
 * callback ran, so the simulated clock waits for the database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage_pg_int.h"

/* ------------------------------------------------------------------ */
/* Requests */

spg_req *
spg_req_new(spg_req_kind kind)
{
    spg_req *r = calloc(1, sizeof(*r));
    if (r)
        r->kind = kind;
    return r;
}

void
spg_req_free(spg_req *r)
{
    if (!r)
        return;
    free(r->sql);
    free(r->args);
    free(r->copy_data);
    free(r->error);
    free(r);
}

void
spg_req_set_error(spg_req *r, int status, const char *sqlstate, const char *msg)
{
    if (r->status < 0)
        return;
    r->status = status;
    if (sqlstate && strlen(sqlstate) == 5)
        memcpy(r->sqlstate, sqlstate, 6);
    free(r->error);
    r->error = msg ? strdup(msg) : NULL;
}

uint64_t
spg_loop_ms(void)
{
    return uv_now(plt_loop());
}

double
spg_random(spg *pg)
{
    /* xorshift64*: jitter needs spread, not cryptography. */
    uint64_t x = pg->rng ? pg->rng : 0x9e3779b97f4a7c15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    pg->rng = x;
    return (double)((x * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}

const char *
spg_where(const spg *pg, char *buf, size_t n)
{
    if (strchr(pg->host, ':'))
        snprintf(buf, n, "[%s]:%d", pg->host, pg->port);
    else
        snprintf(buf, n, "%s:%d", pg->host, pg->port);
    return buf;
}

static void
txn_free(spg *pg, plt_storage_txn *t)
{
    for (plt_storage_txn **pp = &pg->txns; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    if (t->idle_timer)
        plt_timer_stop(t->idle_timer);
    t->magic = 0;
    free(t);
}

void
spg_req_complete(spg *pg, spg_req *r)
{
    int status = r->status;
    plt_storage_result res = {
        .rows_affected = r->rows_affected,
        .rows = r->rows,
        .error =
            status < 0 ? (r->error ? r->error : plt_strerror(status)) : NULL,
        .sqlstate = status < 0 && r->sqlstate[0] ? r->sqlstate : NULL,
    };
    if (status < 0)
        pg->failed++;
    else
        pg->completed++;
    plt_storage_txn *t = r->txn;
    switch (r->kind) {
    case SPG_R_BEGIN:
        if (status == 0 && t->state == SPG_T_OPEN) {
            r->begin_cb(r->arg, 0, t);
        } else {
            if (status == 0)
                status = t->dead_status ? t->dead_status : PLT_EAGAIN;
            txn_free(pg, t);
            r->begin_cb(r->arg, status, NULL);
        }
        break;
    case SPG_R_COMMIT:
    case SPG_R_ROLLBACK:
        /* The handle is released when done() runs: free it first so that
         * nothing can reach it from the callback. */
        if (t)
            txn_free(pg, t);
        if (r->done)
            r->done(r->arg, status, &res);
        break;
    case SPG_R_INTERNAL:
        if (r->internal_done)
            r->internal_done(pg, r, status);
        break;
    case SPG_R_QUERY:
    default:
        if (r->done)
            r->done(r->arg, status, &res);
        break;
    }
    if (r->work)
        plt_work_end();
    spg_req_free(r);
}

/* ------------------------------------------------------------------ */
/* Deferred completions */

static void
on_defer(uv_timer_t *h)
{
    spg *pg = h->data;
    /* Take the whole list: completions queued by these callbacks wait for
     * the next turn, so a callback never runs inside another's call. */
    spg_req *r = pg->deferred_head;
    pg->deferred_head = pg->deferred_tail = NULL;
    while (r) {
        spg_req *next = r->next;
        r->next = NULL;
        spg_req_complete(pg, r);
        r = next;
    }
    spg_pool_maybe_stopped(pg);
}

void
spg_pool_defer(spg *pg, spg_req *r)
{
    r->next = NULL;
    if (pg->deferred_tail)
        pg->deferred_tail->next = r;
    else
        pg->deferred_head = r;
    pg->deferred_tail = r;
    if (pg->timers_open)
        uv_timer_start(&pg->defer_timer, on_defer, 0, 0);
}

static void
defer_error(spg *pg, spg_req *r, int status, const char *msg)
{
    spg_req_set_error(r, status, NULL, msg);
    spg_pool_defer(pg, r);
}

/* ------------------------------------------------------------------ */
/* Queues */

static void
q_push(spg_req **head, spg_req **tail, spg_req *r)
{
    r->next = NULL;
    if (*tail)
        (*tail)->next = r;
    else
        *head = r;
    *tail = r;
}

static spg_req *
q_pop(spg_req **head, spg_req **tail)
{
    spg_req *r = *head;
    if (r) {
        *head = r->next;
        if (!*head)
            *tail = NULL;
        r->next = NULL;
    }
    return r;
}

static void arm_wait_timer(spg *pg);
static void pool_pump(spg *pg);

static void
main_push(spg *pg, spg_req *r)
{
    r->queued_at = spg_loop_ms();
    q_push(&pg->q_head, &pg->q_tail, r);
    pg->nqueued++;
    if (!pg->up)
        arm_wait_timer(pg);
}

/* Back at the head: a statement that surely did not run keeps its turn. */
static void
main_push_front(spg *pg, spg_req *r)
{
    r->queued_at = spg_loop_ms();
    r->next = pg->q_head;
    pg->q_head = r;
    if (!pg->q_tail)
        pg->q_tail = r;
    pg->nqueued++;
    if (!pg->up)
        arm_wait_timer(pg);
}

void
spg_pool_enqueue(spg *pg, spg_req *r)
{
    main_push(pg, r);
    pool_pump(pg);
}

/* Fail everything in the main FIFO (stopping while the server is away). */
static void
fail_main_queue(spg *pg, const char *msg)
{
    spg_req *r;
    while ((r = q_pop(&pg->q_head, &pg->q_tail)) != NULL) {
        pg->nqueued--;
        defer_error(pg, r, PLT_EAGAIN, msg);
    }
}

static void
on_wait_timer(uv_timer_t *h)
{
    spg *pg = h->data;
    if (pg->up)
        return;
    uint64_t now = spg_loop_ms();
    /* The FIFO is in arrival order, so the oldest wait is at the head. */
    while (pg->q_head) {
        spg_req *r = pg->q_head;
        uint64_t since =
            r->queued_at > pg->down_since ? r->queued_at : pg->down_since;
        if (since + pg->connect_timeout_ms > now)
            break;
        q_pop(&pg->q_head, &pg->q_tail);
        pg->nqueued--;
        char msg[640];
        snprintf(msg, sizeof(msg), "database unreachable for %llu ms (%s)",
                 (unsigned long long)pg->connect_timeout_ms,
                 pg->last_error[0] ? pg->last_error : "reconnecting");
        defer_error(pg, r, PLT_EAGAIN, msg);
    }
    arm_wait_timer(pg);
}

static void
arm_wait_timer(spg *pg)
{
    if (!pg->timers_open || pg->up || !pg->q_head)
        return;
    spg_req *r = pg->q_head;
    uint64_t since =
        r->queued_at > pg->down_since ? r->queued_at : pg->down_since;
    uint64_t due = since + pg->connect_timeout_ms, now = spg_loop_ms();
    uv_timer_start(&pg->wait_timer, on_wait_timer, due > now ? due - now : 0,
                   0);
}

/* ------------------------------------------------------------------ */
/* Transactions */

static plt_storage_txn *
txn_find(spg *pg, plt_storage_txn *t)
{
    for (plt_storage_txn *x = pg->txns; x; x = x->next)
        if (x == t && t->magic == SPG_TXN_MAGIC)
            return t;
    return NULL;
}

static void
unpin(plt_storage_txn *t)
{
    if (t && t->conn) {
        t->conn->txn = NULL;
        t->conn = NULL;
    }
}

/* Fail what waits in a dead transaction's queue. */
static void
txn_fail_queue(spg *pg, plt_storage_txn *t, int status, const char *msg)
{
    spg_req *r;
    while ((r = q_pop(&t->q_head, &t->q_tail)) != NULL) {
        pg->nqueued--;
        /* Ending a transaction the connection loss already rolled back
         * is a success for ROLLBACK. */
        if (r->kind == SPG_R_ROLLBACK && status == PLT_EAGAIN)
            spg_pool_defer(pg, r);
        else
            defer_error(pg, r, status, msg);
    }
}

/*
 * Roll back a transaction ourselves (timeout, stop): it is detached from
 * its connection at once, and a ROLLBACK bound to that connection runs
 * before anything else there.
 */
static void
txn_kill(spg *pg, plt_storage_txn *t, int status)
{
    spg_conn *c = t->conn;
    t->state = SPG_T_DEAD;
    t->dead_status = status;
    if (t->idle_timer) {
        plt_timer_stop(t->idle_timer);
        t->idle_timer = NULL;
    }
    unpin(t);
    if (!c)
        return;
    spg_req *r = spg_req_new(SPG_R_INTERNAL);
    if (r)
        r->sql = strdup("ROLLBACK");
    if (!r || !r->sql) {
        /* Without memory for a ROLLBACK, closing the connection is what
         * rolls the transaction back. */
        spg_req_free(r);
        c->bound = NULL;
        spg_conn_reset(c, "out of memory rolling back a transaction");
        return;
    }
    c->bound = r;
}

static void
on_txn_idle(void *arg)
{
    plt_storage_txn *t = arg;
    spg *pg = t->pg;
    t->idle_timer = NULL; /* one-shot: released by the core */
    if (t->state != SPG_T_OPEN || t->q_head || (t->conn && t->conn->req))
        return;
    plt_log(PLT_LOG_WARN,
            "a transaction stayed idle for more than %llu ms (txn_timeout): "
            "rolled back; its later calls fail with PLT_ETIMEDOUT",
            (unsigned long long)pg->txn_timeout_ms);
    txn_kill(pg, t, PLT_ETIMEDOUT);
    pool_pump(pg);
}

static void
txn_arm_idle(spg *pg, plt_storage_txn *t)
{
    if (t->state != SPG_T_OPEN || t->q_head || t->idle_timer ||
        (t->conn && t->conn->req))
        return;
    if (pg->state != SPG_S_STARTED) {
        /* Stopping, and its owner queued nothing more: roll it back. */
        plt_log(PLT_LOG_WARN, "rolling back a transaction left open at stop");
        txn_kill(pg, t, PLT_ECANCELED);
        return;
    }
    if (plt_timer_start(&t->idle_timer, pg->txn_timeout_ms, 0, on_txn_idle,
                        t) != 0)
        t->idle_timer = NULL;
}

/* Why later calls on a transaction we rolled back fail. */
static const char *
dead_message(const plt_storage_txn *t)
{
    switch (t->dead_status) {
    case PLT_ETIMEDOUT:
        return "the transaction was idle longer than txn_timeout and was "
               "rolled back";
    case PLT_ECANCELED:
        return "the transaction was rolled back: storage is stopping";
    case PLT_EAGAIN:
        return "the transaction was rolled back: the connection to the "
               "database was lost";
    default:
        return "the transaction was rolled back: its BEGIN failed";
    }
}

static void
txn_touch(plt_storage_txn *t)
{
    if (t->idle_timer) {
        plt_timer_stop(t->idle_timer);
        t->idle_timer = NULL;
    }
}

/* ------------------------------------------------------------------ */
/* Dispatch */

static int
lost_status(const spg_req *r)
{
    if (r->status < 0)
        return r->status; /* the server had already refused it */
    switch (r->kind) {
    case SPG_R_QUERY:
        if (r->txn)
            return PLT_EAGAIN; /* its transaction is rolled back */
        return r->flushed ? PLT_EIO : PLT_EAGAIN;
    case SPG_R_COMMIT:
        return r->flushed ? PLT_EIO : PLT_EAGAIN;
    case SPG_R_ROLLBACK:
        return 0;
    case SPG_R_BEGIN:
    case SPG_R_INTERNAL:
    default:
        return PLT_EAGAIN;
    }
}

/* Send @p r on @p c; on failure, requeue or complete it. */
static void
dispatch(spg *pg, spg_conn *c, spg_req *r)
{
    int rc = spg_conn_send(c, r);
    if (rc == 0) {
        pg->in_flight++;
        if (r->kind == SPG_R_BEGIN) {
            c->txn = r->txn;
            r->txn->conn = c;
        }
        return;
    }
    if (rc == PLT_EAGAIN) {
        /* The connection was found dead before anything left. */
        if (r->kind == SPG_R_INTERNAL && !r->txn) {
            spg_req_free(r); /* a ROLLBACK the loss made moot */
        } else if (r->txn && r->kind != SPG_R_BEGIN) {
            int st = r->kind == SPG_R_ROLLBACK ? 0 : PLT_EAGAIN;
            if (st)
                defer_error(pg, r, st,
                            "connection lost: the transaction was rolled "
                            "back");
            else
                spg_pool_defer(pg, r);
        } else if (pg->state == SPG_S_STARTED) {
            main_push_front(pg, r);
        } else {
            defer_error(pg, r, PLT_EAGAIN, "connection lost while stopping");
        }
        return;
    }
    spg_pool_defer(pg, r); /* its message is set */
}

static void
pool_pump(spg *pg)
{
    if (pg->pumping) {
        pg->pump_again = true;
        return;
    }
    pg->pumping = true;
    do {
        pg->pump_again = false;
        for (int i = 0; i < pg->nconns_init; i++) {
            spg_conn *c = &pg->conns[i];
            while (spg_conn_available(c)) {
                spg_req *r;
                if (c->bound) {
                    r = c->bound;
                    c->bound = NULL;
                } else if (c->txn) {
                    r = q_pop(&c->txn->q_head, &c->txn->q_tail);
                    if (!r)
                        break;
                    pg->nqueued--;
                } else {
                    r = q_pop(&pg->q_head, &pg->q_tail);
                    if (!r)
                        break;
                    pg->nqueued--;
                }
                dispatch(pg, c, r);
            }
        }
    } while (pg->pump_again);
    pg->pumping = false;
}

/* ------------------------------------------------------------------ */
/* What connections report */

static bool
any_ready(const spg *pg)
{
    for (int i = 0; i < pg->nconns_init; i++)
        if (pg->conns[i].state == SPG_C_READY)
            return true;
    return false;
}

static void
pool_up(spg_conn *c)
{
    spg *pg = c->pg;
    if (!pg->up) {
        pg->up = true;
        if (pg->down_logged) {
            char w[300];
            plt_log(PLT_LOG_NOTICE, "reconnected to %s after %llu ms",
                    spg_where(pg, w, sizeof(w)),
                    (unsigned long long)(spg_loop_ms() - pg->down_since));
            pg->down_logged = false;
        }
        if (pg->timers_open)
            uv_timer_stop(&pg->wait_timer);
    }
    pool_pump(pg);
}

static void
pool_down(spg_conn *c, const char *why, bool was_up)
{
    spg *pg = c->pg;
    snprintf(pg->last_error, sizeof(pg->last_error), "%s", why);
    plt_storage_txn *t = c->txn;
    if (t) {
        /* The server rolled it back when the connection went. */
        unpin(t);
        if (t->state == SPG_T_OPEN || t->state == SPG_T_ENDING ||
            t->state == SPG_T_BEGINNING) {
            if (t->state != SPG_T_ENDING)
                t->state = SPG_T_DEAD;
            t->dead_status = PLT_EAGAIN;
        }
        txn_touch(t);
        txn_fail_queue(pg, t, PLT_EAGAIN,
                       "connection lost: the transaction was rolled back");
    }
    if (c->bound) {
        spg_req_free(c->bound); /* moot: the loss rolled it back */
        c->bound = NULL;
    }
    if (pg->up && !any_ready(pg)) {
        pg->up = false;
        pg->down_since = spg_loop_ms();
        if (pg->state == SPG_S_STARTED) {
            char w[300];
            plt_log(PLT_LOG_WARN,
                    "lost the connection to %s (%s); reconnecting",
                    spg_where(pg, w, sizeof(w)), why);
            pg->down_logged = true;
        }
        arm_wait_timer(pg);
    } else if (!was_up) {
        plt_log(PLT_LOG_DEBUG, "connection %d: attempt failed: %s", c->id, why);
    }
    if (!pg->up && pg->state == SPG_S_STOPPING)
        fail_main_queue(pg, "the database is unreachable and storage is "
                            "stopping");
    /* What this connection gave back (a statement that never left) may
     * run on another one now. */
    if (pg->up)
        pool_pump(pg);
}

static void
pool_done(spg_conn *c, spg_req *r, bool lost)
{
    spg *pg = c->pg;
    pg->in_flight--;
    plt_storage_txn *t = r->txn;
    if (lost) {
        if (r->kind == SPG_R_QUERY && !r->txn && !r->flushed &&
            r->status == 0 && pg->state == SPG_S_STARTED) {
            main_push_front(pg, r); /* it never reached the server */
            return;
        }
        int st = lost_status(r);
        if (st == PLT_EIO)
            spg_req_set_error(r, st, NULL,
                              "connection lost before the outcome was "
                              "known: the statement may have been "
                              "committed");
        else if (st < 0)
            spg_req_set_error(r, st, NULL,
                              "connection lost: the statement was not "
                              "committed");
        if (r->kind == SPG_R_COMMIT || r->kind == SPG_R_ROLLBACK ||
            r->kind == SPG_R_BEGIN)
            unpin(t);
        if (t && r->kind != SPG_R_COMMIT && r->kind != SPG_R_ROLLBACK &&
            r->kind != SPG_R_BEGIN) {
            if (t->state == SPG_T_OPEN)
                t->state = SPG_T_DEAD;
            t->dead_status = PLT_EAGAIN;
        }
        if (r->kind == SPG_R_BEGIN) {
            t->state = SPG_T_DEAD;
            t->dead_status = PLT_EAGAIN;
        }
        if (r->kind == SPG_R_INTERNAL && !r->txn && !r->internal_done) {
            spg_req_free(r);
            return;
        }
        spg_pool_defer(pg, r);
        return;
    }

    switch (r->kind) {
    case SPG_R_BEGIN:
        if (r->status == 0) {
            t->state = SPG_T_OPEN;
        } else {
            unpin(t);
            t->state = SPG_T_DEAD;
            t->dead_status = r->status;
        }
        break;
    case SPG_R_QUERY:
        if (t && r->status < 0 && t->first_error == 0)
            t->first_error = r->status;
        break;
    case SPG_R_COMMIT:
        unpin(t);
        if (r->status == 0 && r->is_commit_rollback)
            spg_req_set_error(
                r, t->first_error ? t->first_error : PLT_EDB, NULL,
                "the transaction was rolled back: an earlier statement in "
                "it failed");
        break;
    case SPG_R_ROLLBACK:
        unpin(t);
        break;
    case SPG_R_INTERNAL:
        if (!r->internal_done) {
            if (r->status < 0)
                plt_log(PLT_LOG_DEBUG, "%s failed: %s", r->sql,
                        r->error ? r->error : plt_strerror(r->status));
            spg_req_free(r);
            pool_pump(pg);
            spg_pool_maybe_stopped(pg);
            return;
        }
        break;
    }
    if (r->stop_rows && r->status == 0)
        spg_req_set_error(r, PLT_ECANCELED, NULL,
                          "stopped by the row callback");
    bool open = t && (r->kind == SPG_R_QUERY || r->kind == SPG_R_BEGIN) &&
                t->state == SPG_T_OPEN;
    spg_req_complete(pg, r);
    /* The callback usually queued the next statement; if not, the
     * transaction is idle from now on. */
    if (open && txn_find(pg, t))
        txn_arm_idle(pg, t);
    pool_pump(pg);
    spg_pool_maybe_stopped(pg);
}

static void
pool_idle(spg_conn *c)
{
    pool_pump(c->pg);
    spg_pool_maybe_stopped(c->pg);
}

static const struct spg_conn_ops pool_ops = {
    .up = pool_up,
    .down = pool_down,
    .done = pool_done,
    .idle = pool_idle,
    .notify = NULL,
};

/* ------------------------------------------------------------------ */
/* The vtable */

static const char *
v_engine(void *impl)
{
    (void)impl;
    return "postgresql";
}

static int
v_migrations(void *impl, const char *owner, const plt_storage_migration *m,
             size_t n)
{
    spg *pg = impl;
    if (pg->state != SPG_S_INIT)
        return PLT_ESTATE;
    int rc = stc_migrations_add(&pg->migs, owner, m, n);
    if (rc != 0)
        plt_log(PLT_LOG_ERROR, "migrations of '%s' refused: %s",
                owner ? owner : "(null)", stc_migreg_error(&pg->migs));
    return rc;
}

/* New work is refused once stop() began, except in a transaction that is
 * still open: its owner may finish it (stop waits for that). */
static int
accepting(const spg *pg, const plt_storage_txn *txn)
{
    if (pg->state == SPG_S_STARTED)
        return 0;
    if (pg->state == SPG_S_STOPPING && txn && !pg->closing)
        return 0;
    return pg->state == SPG_S_INIT ? PLT_ESTATE : PLT_ESHUTDOWN;
}

/* A statement's text problems, found before it goes anywhere. */
static const char *
static_check(const stc_sqlinfo *info, size_t nargs, char *buf, size_t n)
{
    uint32_t max = info->max;
    if (info->blank)
        return "empty statement";
    if (info->param_rc != 0)
        return "malformed placeholder ($0, an index above 65535, or "
               "digits running into a word)";
    if (max != nargs) {
        if (max == 0)
            snprintf(buf, n,
                     "wrong parameter count: the statement has no parameter "
                     "but %zu argument(s) were given",
                     nargs);
        else
            snprintf(buf, n,
                     "wrong parameter count: the statement uses $1..$%u but "
                     "%zu argument(s) were given",
                     max, nargs);
        return buf;
    }
    if (info->txn_control)
        return "transaction control statements are not accepted by "
               "query(): use begin(), commit() and rollback()";
    return NULL;
}

static int enqueue(spg *pg, plt_storage_txn *t, spg_req *r);

/* May a statement be queued now, in @p txn (NULL: autocommit)? Sets *@p t
 * to the live handle. */
static int
statement_allowed(spg *pg, plt_storage_txn *txn, plt_storage_txn **t)
{
    *t = NULL;
    int rc = accepting(pg, txn);
    if (rc != 0 || !txn)
        return rc;
    *t = txn_find(pg, txn);
    if (!*t || (*t)->state == SPG_T_BEGINNING ||
        (*t)->state == SPG_T_ENDING || (*t)->ending)
        return PLT_EINVAL;
    return 0;
}

/* The fields every statement request has; it counts as declared work. */
static void
req_fill(spg_req *r, plt_storage_txn *t, uint32_t flags,
         plt_storage_done_fn done, void *arg)
{
    r->flags = flags;
    r->done = done;
    r->arg = arg;
    r->txn = t;
    r->work = true;
    plt_work_begin();
}

static int
v_query(void *impl, plt_storage_txn *txn, const char *sql,
        const plt_value *args, size_t nargs, uint32_t flags,
        plt_storage_row_fn row, plt_storage_done_fn done, void *arg)
{
    spg *pg = impl;
    if (!sql || !done || (nargs > 0 && !args))
        return PLT_EINVAL;
    plt_storage_txn *t = NULL;
    int rc = statement_allowed(pg, txn, &t);
    if (rc != 0)
        return rc;
    /* A text's checks are made once (consumers repeat a few texts). */
    const stc_sqlinfo *info = NULL;
    rc = stc_sqlcache_get(&pg->texts, sql, STC_PG, 0, &info);
    if (rc != 0)
        return rc;
    spg_req *r = spg_req_new(SPG_R_QUERY);
    if (!r)
        return PLT_ENOMEM;
    r->sql = strdup(sql);
    if (!r->sql) {
        spg_req_free(r);
        return PLT_ENOMEM;
    }
    rc = stc_values_copy(args, nargs, &r->args);
    if (rc != 0) {
        spg_req_free(r);
        return rc;
    }
    r->nargs = nargs;
    r->row = row;
    /* INSERTs run as named prepared statements (see README: a generic
     * plan is never a risk for them, and they are the large texts). */
    char word[8];
    stc_sql_first_word(sql, word, sizeof(word));
    r->named = strcmp(word, "INSERT") == 0;
    req_fill(r, t, flags, done, arg);

    char buf[160];
    const char *why = static_check(info, nargs, buf, sizeof(buf));
    if (why) {
        defer_error(pg, r, PLT_EINVAL, why);
        return 0;
    }
    return enqueue(pg, t, r);
}

int
spg_query_copy(spg *pg, plt_storage_txn *txn, char *sql, char *data,
               size_t len, uint32_t flags, plt_storage_done_fn done, void *arg)
{
    plt_storage_txn *t = NULL;
    int rc = statement_allowed(pg, txn, &t);
    spg_req *r = rc == 0 ? spg_req_new(SPG_R_QUERY) : NULL;
    if (rc == 0 && !r)
        rc = PLT_ENOMEM;
    if (rc != 0) {
        free(sql);
        free(data);
        return rc;
    }
    r->sql = sql;
    r->copy_data = data;
    r->copy_len = len;
    req_fill(r, t, flags, done, arg);
    return enqueue(pg, t, r);
}

/* A request that passed its checks joins its transaction's queue or the
 * pool's. */
static int
enqueue(spg *pg, plt_storage_txn *t, spg_req *r)
{
    if (t) {
        if (t->state == SPG_T_DEAD) {
            defer_error(pg, r, t->dead_status, dead_message(t));
            return 0;
        }
        txn_touch(t);
        q_push(&t->q_head, &t->q_tail, r);
        pg->nqueued++;
        pool_pump(pg);
        return 0;
    }
    spg_pool_enqueue(pg, r);
    return 0;
}

static int
v_begin(void *impl, uint32_t flags, plt_storage_begin_fn cb, void *arg)
{
    spg *pg = impl;
    if (!cb)
        return PLT_EINVAL;
    int rc = accepting(pg, NULL);
    if (rc != 0)
        return rc;
    plt_storage_txn *t = calloc(1, sizeof(*t));
    spg_req *r = spg_req_new(SPG_R_BEGIN);
    if (r)
        r->sql = strdup("BEGIN");
    if (!t || !r || !r->sql) {
        free(t);
        spg_req_free(r);
        return PLT_ENOMEM;
    }
    t->magic = SPG_TXN_MAGIC;
    t->pg = pg;
    t->state = SPG_T_BEGINNING;
    t->flags = flags; /* every commit is durable (synchronous_commit=on) */
    t->next = pg->txns;
    pg->txns = t;
    r->txn = t;
    r->begin_cb = cb;
    r->arg = arg;
    r->work = true;
    plt_work_begin();
    spg_pool_enqueue(pg, r);
    return 0;
}

static int
end_txn(spg *pg, plt_storage_txn *txn, spg_req_kind kind,
        plt_storage_done_fn done, void *arg)
{
    int rc = accepting(pg, txn);
    if (rc != 0)
        return rc;
    plt_storage_txn *t = txn_find(pg, txn);
    if (!t || t->state == SPG_T_BEGINNING || t->state == SPG_T_ENDING ||
        t->ending)
        return PLT_EINVAL;
    spg_req *r = spg_req_new(kind);
    if (r)
        r->sql = strdup(kind == SPG_R_COMMIT ? "COMMIT" : "ROLLBACK");
    if (!r || !r->sql) {
        spg_req_free(r);
        return PLT_ENOMEM;
    }
    r->txn = t;
    r->done = done;
    r->arg = arg;
    r->work = true;
    plt_work_begin();
    txn_touch(t);
    t->ending = true;
    if (t->state == SPG_T_DEAD) {
        if (t->dead_status == PLT_EAGAIN && kind == SPG_R_ROLLBACK)
            spg_pool_defer(pg, r); /* already rolled back: that is done */
        else
            defer_error(pg, r, t->dead_status, dead_message(t));
        return 0;
    }
    t->state = SPG_T_ENDING;
    q_push(&t->q_head, &t->q_tail, r);
    pg->nqueued++;
    pool_pump(pg);
    return 0;
}

static int
v_commit(void *impl, plt_storage_txn *txn, plt_storage_done_fn done, void *arg)
{
    return end_txn(impl, txn, SPG_R_COMMIT, done, arg);
}

static int
v_rollback(void *impl, plt_storage_txn *txn, plt_storage_done_fn done,
           void *arg)
{
    return end_txn(impl, txn, SPG_R_ROLLBACK, done, arg);
}

static int
v_listen(void *impl, const char *channel, plt_storage_notify_fn cb, void *arg,
         plt_storage_listener **out)
{
    spg *pg = impl;
    if (!channel || !cb || !out || !spg_channel_valid(channel))
        return PLT_EINVAL;
    int rc = accepting(pg, NULL);
    if (rc != 0)
        return rc;
    return spg_listen_add(pg, channel, cb, arg, out);
}

static void
v_unlisten(void *impl, plt_storage_listener *l)
{
    spg *pg = impl;
    if (l)
        spg_listen_remove(pg, l);
}

static int
v_notify(void *impl, const char *channel, const char *payload,
         plt_storage_done_fn done, void *arg)
{
    spg *pg = impl;
    if (!channel || !spg_channel_valid(channel) ||
        (payload && strlen(payload) > SPG_PAYLOAD_MAX))
        return PLT_EINVAL;
    int rc = accepting(pg, NULL);
    if (rc != 0)
        return rc;
    return spg_listen_notify(pg, channel, payload ? payload : "", done, arg);
}

static int
v_status(void *impl, plt_storage_status *out)
{
    spg *pg = impl;
    if (!out || out->size < sizeof(uint32_t))
        return PLT_EINVAL;
    plt_storage_status s = {
        .size = out->size,
        .connected = pg->up ? 1 : 0,
        .queued = pg->nqueued,
        .in_flight = pg->in_flight,
        .completed = pg->completed,
        .failed = pg->failed,
        .last_error = pg->last_error[0] ? pg->last_error : NULL,
    };
    size_t n = out->size < sizeof(s) ? out->size : sizeof(s);
    memcpy(out, &s, n);
    out->size = (uint32_t)n;
    return 0;
}

const plt_storage_vt spg_vtable = {
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
    .query_rows = spg_query_rows,
};

/* ------------------------------------------------------------------ */
/* Opening, stopping, freeing */

static void
pool_timer_closed(uv_handle_t *h)
{
    spg_handle_closed(h->data);
}

int
spg_pool_open(spg *pg, PGconn *first)
{
    int rc = uv_timer_init(plt_loop(), &pg->defer_timer);
    if (rc != 0)
        return rc;
    pg->defer_timer.data = pg;
    pg->open_handles++;
    rc = uv_timer_init(plt_loop(), &pg->wait_timer);
    if (rc != 0) {
        uv_close((uv_handle_t *)&pg->defer_timer, pool_timer_closed);
        return rc;
    }
    pg->wait_timer.data = pg;
    pg->open_handles++;
    pg->timers_open = true;
    pg->down_since = spg_loop_ms();

    pg->conns = calloc((size_t)pg->pool_size, sizeof(*pg->conns));
    if (!pg->conns)
        return PLT_ENOMEM;
    for (int i = 0; i < pg->pool_size; i++) {
        rc = spg_conn_init(&pg->conns[i], pg, i, &pool_ops, pg);
        if (rc != 0)
            return rc;
        pg->nconns_init++;
    }
    rc = spg_listen_new(pg, &pg->listen);
    if (rc != 0)
        return rc;
    pg->state = SPG_S_STARTED;
    int from = 0;
    if (first) {
        /* The startup session's connection is already authenticated:
         * the first statement need not wait for a handshake. */
        if (spg_conn_adopt(&pg->conns[0], first) == 0)
            from = 1;
        else
            PQfinish(first);
    }
    for (int i = from; i < pg->pool_size; i++)
        spg_conn_connect(&pg->conns[i]);
    return 0;
}

static void settle(spg *pg);

static bool
drained(const spg *pg)
{
    if (pg->nqueued || pg->in_flight || pg->deferred_head)
        return false;
    for (int i = 0; i < pg->nconns_init; i++)
        if (pg->conns[i].bound || pg->conns[i].req || pg->conns[i].cancels)
            return false;
    return true;
}

static void
close_all(spg *pg)
{
    pg->closing = true;
    spg_listen_close(pg);
    for (int i = 0; i < pg->nconns_init; i++)
        spg_conn_close(&pg->conns[i]);
    if (pg->timers_open) {
        pg->timers_open = false;
        uv_close((uv_handle_t *)&pg->defer_timer, pool_timer_closed);
        uv_close((uv_handle_t *)&pg->wait_timer, pool_timer_closed);
    }
}

void
spg_pool_maybe_stopped(spg *pg)
{
    if (pg->state != SPG_S_STOPPING || pg->closing)
        return;
    /* Transactions left open would hold their connection forever. */
    for (plt_storage_txn *t = pg->txns; t; t = t->next)
        if (t->state == SPG_T_OPEN && !t->q_head && t->conn && !t->conn->req) {
            plt_log(PLT_LOG_WARN,
                    "rolling back a transaction left open at stop");
            txn_kill(pg, t, PLT_ECANCELED);
        }
    pool_pump(pg);
    if (!drained(pg))
        return;
    close_all(pg);
    settle(pg); /* at once if nothing was open */
}

void
spg_pool_stop(spg *pg)
{
    if (pg->state != SPG_S_STARTED)
        return;
    pg->state = SPG_S_STOPPING;
    spg_listen_close(pg);
    if (!pg->up)
        fail_main_queue(pg, "the database is unreachable and storage is "
                            "stopping");
    spg_pool_maybe_stopped(pg);
}

/* Everything closed: the end of stop(), or of a deferred free. */
static void
settle(spg *pg)
{
    if (!pg->closing || pg->open_handles > 0 || pg->pending_jobs > 0)
        return;
    if (pg->freed) {
        free(pg->conns);
        spg_listen_free(pg);
        free(pg);
        return;
    }
    if (pg->state == SPG_S_STOPPING) {
        pg->state = SPG_S_STOPPED;
        if (pg->stop_async)
            plt_stopped();
    }
}

void
spg_handle_closed(spg *pg)
{
    pg->open_handles--;
    settle(pg);
}

void
spg_job_done(spg *pg)
{
    pg->pending_jobs--;
    settle(pg);
}

void
spg_pool_free(spg *pg)
{
    /* Normally stop() closed everything. After a failed start (or a core
     * that never stopped us) close what is left now; memory the close
     * callbacks still need is freed by the last of them. */
    if (!pg->closing) {
        if (pg->state == SPG_S_STARTED)
            pg->state = SPG_S_STOPPING;
        close_all(pg);
    }
    spg_req *r;
    while ((r = q_pop(&pg->q_head, &pg->q_tail)) != NULL) {
        if (r->work)
            plt_work_end();
        spg_req_free(r);
    }
    while ((r = q_pop(&pg->deferred_head, &pg->deferred_tail)) != NULL) {
        if (r->work)
            plt_work_end();
        spg_req_free(r);
    }
    while (pg->txns) {
        plt_storage_txn *t = pg->txns;
        while ((r = q_pop(&t->q_head, &t->q_tail)) != NULL) {
            if (r->work)
                plt_work_end();
            spg_req_free(r);
        }
        txn_free(pg, t);
    }
    for (int i = 0; i < pg->nconns_init; i++) {
        spg_req_free(pg->conns[i].bound);
        pg->conns[i].bound = NULL;
    }
    stc_migreg_free(&pg->migs);
    stc_sqlcache_clear(&pg->texts);
    pg->freed = true;
    settle(pg); /* frees now if nothing is left open */
}
