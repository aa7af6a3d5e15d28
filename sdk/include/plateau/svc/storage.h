/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/svc/storage.h
 * The `storage` service 1.1: one asynchronous SQL contract, two engines
 * (storage_sqlite, the embedded default, and storage_pg). 1.1 adds
 * query_rows(), one statement run for many argument rows (bulk loads).
 *
 * Every call returns at once; results come back by callback on the loop
 * thread. The loop never waits for the database: each engine runs its I/O
 * on its own threads (SQLite) or non-blocking sockets (PostgreSQL).
 *
 * PORTABLE SQL. Consumers write one SQL text that both engines run:
 *  - Parameters are `$1`, `$2`, ... (PostgreSQL style) and are always bound
 *    from a plt_value array. Never build SQL from data.
 *  - Times are BIGINT milliseconds since the Unix epoch, UTC (PLT_T_TIME),
 *    taken from the core clock (plt_now()), never from the database (so
 *    simulated runs are reproducible). Booleans are BIGINT 0/1.
 *  - Use: INSERT ... ON CONFLICT (...) DO NOTHING / DO UPDATE SET
 *    x = excluded.x; RETURNING; WITH (CTEs); window functions; LIMIT/OFFSET;
 *    COALESCE; CASE; `||`; lower(); LIKE (case-sensitive: compare lower()).
 *  - Avoid: now()/CURRENT_TIMESTAMP, ILIKE, GREATEST/LEAST, `::` casts,
 *    SERIAL, engine JSON operators (store JSON as TEXT and parse in C),
 *    integer/boolean type mixing.
 *  - Row reservation: write `... FOR UPDATE SKIP LOCKED` in the selecting
 *    subquery. PostgreSQL uses it (several nodes never take the same
 *    rows); SQLite, whose single writer already serialises writers, drops
 *    the clause. Example (reserve up to $3 leads of campaign $1):
 *
 *        UPDATE lead SET reserved_by = $2, reserved_at = $4
 *         WHERE id IN (SELECT id FROM lead
 *                       WHERE campaign_id = $1 AND reserved_by IS NULL
 *                       ORDER BY priority DESC, id LIMIT $3
 *                       FOR UPDATE SKIP LOCKED)
 *        RETURNING id, phone
 *
 *  - Migrations (DDL) may differ between engines: a migration gives one
 *    portable text, or one text per engine. In DDL the engine rewrites
 *    these type words: PLT_ID (auto-increment BIGINT primary key),
 *    PLT_BLOB (BLOB / BYTEA), PLT_JSON (TEXT / JSONB, read as text).
 *
 * VALUES come back typed: integers as PLT_T_I64, reals as PLT_T_DOUBLE,
 * text as PLT_T_STR, bytes as PLT_T_BLOB, NULL as PLT_T_NULL (PostgreSQL
 * booleans as PLT_T_BOOL). A column read back from a PLT_T_TIME parameter
 * is a PLT_T_I64.
 *
 * DURABILITY. By default a write is acknowledged once committed, and
 * survives a crash of Plateau (kill -9) but, on SQLite, not necessarily a
 * power cut. With PLT_STORAGE_DURABLE the commit is flushed to stable
 * storage before done() is called (SQLite synchronous=FULL; PostgreSQL
 * synchronous_commit=on). Use it for what must survive a power cut: dial
 * attempts, do-not-call changes, dispositions.
 *
 * ERRORS. done() receives status 0 or a negative code, and the engine's
 * message in plt_storage_result.error:
 *   PLT_ECONFLICT  unique/foreign-key/check constraint violated
 *                  (sqlstate "23xxx")
 *   PLT_EINVAL     SQL error (syntax, unknown column, wrong parameter count)
 *   PLT_EAGAIN     database unreachable (being reconnected): safe to retry
 *   PLT_EIO        the outcome is unknown (connection lost mid-commit)
 *   PLT_ETIMEDOUT  a transaction was idle too long and was rolled back
 *   PLT_ECANCELED  the row callback asked to stop, or the engine stopped
 *   PLT_EDB        any other database error
 *
 * Thread: every function here is called on the loop thread, and every
 * callback runs there. Ownership: SQL text and argument values are copied
 * before the call returns. Callbacks: none is called if a function returns
 * < 0.
 */
#ifndef PLATEAU_SVC_STORAGE_H
#define PLATEAU_SVC_STORAGE_H

#include <stddef.h>

#include "plateau/service.h"
#include "plateau/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PLT_STORAGE_NAME "storage"
#define PLT_STORAGE_MAJOR 1
#define PLT_STORAGE_MINOR 1

/** An open transaction (see begin()). */
typedef struct plt_storage_txn plt_storage_txn;
/** A LISTEN subscription (see listen()). */
typedef struct plt_storage_listener plt_storage_listener;

/** Flags of query() and begin(). */
enum {
    /** Flush the commit to stable storage before acknowledging it. */
    PLT_STORAGE_DURABLE = 1u << 0,
    /** The statement writes: skip the read path (an optimisation; a write
     *  sent without it is detected and rerouted). */
    PLT_STORAGE_WRITE = 1u << 1
};

/** One result row. Valid only during the row callback. */
typedef struct plt_storage_row {
    size_t ncols;
    const char *const *names; /**< column names */
    const plt_value *vals;    /**< column values */
} plt_storage_row;

/** Outcome of a statement, a commit or a rollback. */
typedef struct plt_storage_result {
    int64_t rows_affected; /**< rows inserted, updated or deleted */
    int64_t rows;          /**< rows handed to the row callback */
    const char *error;     /**< engine message when status < 0, else NULL */
    const char *sqlstate;  /**< SQLSTATE ("23505") when known, else NULL */
} plt_storage_result;

/**
 * Receives one row. Return 0 for the next row, non-zero to stop: the
 * statement is abandoned and done() reports PLT_ECANCELED. Rows are
 * streamed: a large result never sits in memory whole.
 */
typedef int (*plt_storage_row_fn)(void *arg, const plt_storage_row *row);
/** Completion. @p res is valid only during the call. */
typedef void (*plt_storage_done_fn)(void *arg, int status,
                                    const plt_storage_result *res);
/** Completion of begin(). */
typedef void (*plt_storage_begin_fn)(void *arg, int status,
                                     plt_storage_txn *txn);
/** A notification received on a channel (PostgreSQL LISTEN/NOTIFY). */
typedef void (*plt_storage_notify_fn)(void *arg, const char *channel,
                                      const char *payload);

/**
 * One schema step of a consumer plugin. Versions start at 1 and increase
 * by one; a shipped migration is never edited, only followed by a new one.
 * Layout frozen for storage 1.x (arrays are read with this stride).
 */
typedef struct plt_storage_migration {
    uint32_t version;        /**< 1, 2, 3, ... */
    const char *name;        /**< short description, e.g. "create lead" */
    const char *sql;         /**< portable DDL/DML, or NULL */
    const char *sqlite;      /**< SQLite-only text (wins over sql) */
    const char *pg;          /**< PostgreSQL-only text (wins over sql) */
    const void *reserved[2]; /**< must be zero */
} plt_storage_migration;

/** Engine state, for health checks and metrics. */
typedef struct plt_storage_status {
    uint32_t size;        /**< sizeof(plt_storage_status), set by caller */
    int connected;        /**< 1 if the database is reachable */
    uint32_t queued;      /**< statements waiting */
    uint32_t in_flight;   /**< statements running */
    uint64_t completed;   /**< statements completed since start */
    uint64_t failed;      /**< statements failed since start */
    const char *last_error; /**< last connection-level error, or NULL */
} plt_storage_status;

/** The storage vtable. Append only within major 1. */
typedef struct plt_storage_vt {
    uint32_t size; /**< sizeof(plt_storage_vt) of the provider */

    /** "sqlite" or "postgresql". Thread: any. */
    const char *(*engine)(void *impl);

    /**
     * Declare the migrations of @p owner (a plugin name: each plugin owns
     * its tables). Call from the consumer's init(); the storage plugin
     * applies every pending migration when it starts, each owner in one
     * transaction, owners in the order they declared (dependency order),
     * and refuses to start if the database holds a version newer than the
     * code knows. @p m must stay valid until the consumer's fini().
     * @return 0; PLT_EINVAL (versions not 1..n in order); PLT_EEXIST
     *         (owner declared twice); PLT_ESTATE after storage started.
     */
    int (*migrations)(void *impl, const char *owner,
                      const plt_storage_migration *m, size_t n);

    /**
     * Run one statement, in @p txn or on its own (autocommit).
     * @param sql    portable SQL with $1..$n parameters; one statement.
     * @param row    receives result rows; may be NULL.
     * @param done   required; called once, after the last row.
     * @return 0; PLT_EINVAL (NULL sql/done, bad txn); PLT_ESHUTDOWN;
     *         PLT_ENOMEM.
     */
    int (*query)(void *impl, plt_storage_txn *txn, const char *sql,
                 const plt_value *args, size_t nargs, uint32_t flags,
                 plt_storage_row_fn row, plt_storage_done_fn done, void *arg);

    /**
     * Open a transaction. Statements passed with the txn run in order in
     * it; commit() or rollback() ends it and releases the handle. Keep it
     * short: on SQLite it holds the only writer. A transaction left idle
     * longer than the engine's txn_timeout is rolled back and its later
     * calls fail with PLT_ETIMEDOUT. @p flags: PLT_STORAGE_DURABLE applies
     * to its commit.
     * @return 0; PLT_ESHUTDOWN; PLT_ENOMEM.
     */
    int (*begin)(void *impl, uint32_t flags, plt_storage_begin_fn cb,
                 void *arg);

    /** Commit; @p txn is released when done() runs. */
    int (*commit)(void *impl, plt_storage_txn *txn, plt_storage_done_fn done,
                  void *arg);

    /** Roll back; @p txn is released when done() runs. */
    int (*rollback)(void *impl, plt_storage_txn *txn,
                    plt_storage_done_fn done, void *arg);

    /**
     * Receive notifications on @p channel ([a-z][a-z0-9_]*). PostgreSQL:
     * LISTEN, re-issued after a reconnection; notifications from other
     * Plateau nodes arrive here. SQLite: notifications from this process
     * only (there is no other node).
     * @return 0 and a handle for unlisten(); PLT_EINVAL.
     */
    int (*listen)(void *impl, const char *channel, plt_storage_notify_fn cb,
                  void *arg, plt_storage_listener **out);

    /** Stop a listen(); @p l is released. */
    void (*unlisten)(void *impl, plt_storage_listener *l);

    /** Send @p payload (<= 7999 bytes) to every listener of @p channel,
     *  in every node. @p done may be NULL. */
    int (*notify)(void *impl, const char *channel, const char *payload,
                  plt_storage_done_fn done, void *arg);

    /** Fill @p out (set out->size first). Thread: loop. */
    int (*status)(void *impl, plt_storage_status *out);

    /* ---- 1.1 ---- */

    /**
     * Run one statement once per row of arguments, in row order: the bulk
     * path for loading many rows (one text, no per-row SQL built by the
     * caller). @p args holds @p nrows rows of @p ncols values, row after
     * row; the statement uses $1..$ncols, bound from each row in turn.
     * It is ONE statement for the contract: in @p txn, or on its own
     * (autocommit: all its rows commit together or none does); the first
     * row that fails ends it. In @p txn a failure (or a row callback that
     * stops) also ends the transaction: it is rolled back, as PostgreSQL
     * does for any failing statement, and its later calls fail; call
     * rollback() to release it.
     * Rows it returns (RETURNING, or a SELECT) reach @p row in row order;
     * done() comes once, with rows_affected summed over the rows.
     * @p nrows == 0 runs nothing and reports success.
     * Engines: SQLite prepares the text once and steps it once per row on
     * its writer (or a reader). PostgreSQL sends `INSERT ... VALUES (...)
     * [ON CONFLICT ...] [RETURNING ...]` whose placeholders are all inside
     * the VALUES row as multi-row INSERTs (named prepared statements of a
     * few shapes); any other statement once per row, in one transaction.
     * Ownership, Thread, Callbacks: as query(); @p args are copied.
     * @return 0; PLT_EINVAL (NULL sql/done, ncols == 0 with nrows > 0,
     *         NULL args with rows, bad txn); PLT_ESHUTDOWN; PLT_ENOMEM.
     */
    int (*query_rows)(void *impl, plt_storage_txn *txn, const char *sql,
                      const plt_value *args, size_t ncols, size_t nrows,
                      uint32_t flags, plt_storage_row_fn row,
                      plt_storage_done_fn done, void *arg);
} plt_storage_vt;

/** A storage handle as consumers keep it. */
typedef struct plt_storage {
    const plt_storage_vt *vt;
    void *impl;
} plt_storage;

/**
 * Acquire the storage service (declare {"storage", 1, 0, 0} in needs).
 * Any 1.x provider: test for 1.1 members with plt_storage_has_rows().
 * @return as plt_service_acquire().
 */
static inline int
plt_storage_acquire(plt_storage *out)
{
    plt_service_ref ref;
    int rc = plt_service_acquire(PLT_STORAGE_NAME, PLT_STORAGE_MAJOR, 0,
                                 &ref);
    if (rc == 0) {
        out->vt = (const plt_storage_vt *)ref.vtable;
        out->impl = ref.impl;
    }
    return rc;
}

/** Shorthand: st.vt->query(st.impl, NULL, ...) for an autocommit statement. */
static inline int
plt_storage_exec(const plt_storage *st, const char *sql,
                 const plt_value *args, size_t nargs, uint32_t flags,
                 plt_storage_row_fn row, plt_storage_done_fn done, void *arg)
{
    return st->vt->query(st->impl, NULL, sql, args, nargs, flags, row, done,
                         arg);
}

/** True if the provider has query_rows() (storage 1.1). */
static inline int
plt_storage_has_rows(const plt_storage *st)
{
    return st->vt->size >= offsetof(plt_storage_vt, query_rows) +
                               sizeof(st->vt->query_rows) &&
           st->vt->query_rows != NULL;
}

#ifdef __cplusplus
}
#endif
#endif
