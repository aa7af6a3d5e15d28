/* SPDX-License-Identifier: MIT */
/*
 * storage_sqlite internals: the engine instance, requests ("jobs"), the
 * units the loop hands to the writer thread, and the per-thread
 * connection with its statement cache.
 *
 * Ownership rule that makes shutdown safe: a job is in exactly one place
 * at a time - a loop-side queue, a thread's queue, a thread's hands, or
 * a message posted back to the loop. Whatever posts a message gives the
 * job away with it; the loop frees it after calling done().
 *
 * Naming: non-static internals are `stq_` (storage_sqlite); the file
 * each one lives in is given below.
 */
#ifndef STORAGE_SQLITE_INT_H
#define STORAGE_SQLITE_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include <plateau/loop.h>
#include <plateau/plateau.h>
#include <plateau/svc/storage.h>

#include "storage_common.h"

/* Streaming: a batch closes at this many rows or bytes, and a thread has
 * at most STQ_MAX_OUTSTANDING batches waiting for the loop. */
#define STQ_BATCH_ROWS 256
#define STQ_BATCH_BYTES ((size_t)256 * 1024)
#define STQ_MAX_OUTSTANDING 2
/* Prepared statements kept per connection (least recently used out). */
#define STQ_CACHE_SIZE 64
/* Rows of one multi-row INSERT of query_rows() (RETURNING statements). */
#define STQ_ROWS_CHUNK 64
/* Idle time after writes before the writer runs a PASSIVE checkpoint. */
#define STQ_IDLE_CHECKPOINT_MS 100

typedef struct stq stq;
typedef struct stq_job stq_job;
typedef struct stq_unit stq_unit;
typedef struct stq_worker stq_worker;

typedef enum stq_kind {
    STQ_QUERY = 1,
    STQ_BEGIN,
    STQ_COMMIT,
    STQ_ROLLBACK
} stq_kind;

/* What the loop hands to the writer thread. */
typedef enum stq_unit_kind {
    STQ_UNIT_GROUP = 1, /* consecutive autocommit statements */
    STQ_UNIT_TXN        /* one BEGIN / statement / COMMIT / ROLLBACK */
} stq_unit_kind;

/* A unit lives inside its first job (stq_job.unit), so that handing work
 * to the writer never allocates. */
struct stq_unit {
    stq_unit_kind kind;
    uint64_t gen;
    stq_job *jobs; /* in order */
    size_t njobs;
    bool durable;
};

/* One request of a consumer (or an internal one: done == NULL). */
struct stq_job {
    stq_job *next;
    uint64_t gen; /* instance generation: stale after fini */
    stq_kind kind;
    uint32_t flags;       /* PLT_STORAGE_*; for COMMIT/ROLLBACK the txn's */
    plt_storage_txn *txn; /* loop side only */
    char *sql;            /* rewritten text, owned */
    bool qmarks; /* prepared with $N spelled ?N: parameter N is index N */
    plt_value *args;      /* one allocation (stc_values_copy) */
    size_t nargs;
    /* query_rows(): the statement runs once per row of row_ncols values
     * (nargs = nrows * row_ncols); 0 for query(). */
    size_t nrows, row_ncols;
    /* query_rows() of an INSERT ... RETURNING: run as multi-row INSERTs
     * of STQ_ROWS_CHUNK rows (see stq_run_job()), from this shape. */
    bool rows_multi;
    stc_values_shape shape;
    plt_storage_row_fn row;
    plt_storage_done_fn done;
    plt_storage_begin_fn begin_cb;
    void *arg;

    /* Results, written by the thread that ran the job. */
    int status;
    int64_t rows_affected;
    char *errmsg;         /* owned */
    const char *sqlstate; /* static string or NULL */
    bool txn_lost;        /* the database ended the transaction */

    /* Streaming. Column names are set by the thread before the first
     * batch is posted; the loop reads them while delivering. */
    size_t ncols;
    char **names;      /* one allocation */
    atomic_int cancel; /* set by the loop when row() returned non-zero */
    bool loop_cancelled;
    int64_t rows_delivered; /* loop side */

    stq_unit unit; /* used when this job heads a unit */
};

/* A transaction handle (loop side only). */
struct plt_storage_txn {
    plt_storage_txn *next; /* s->txns: every live handle */
    stq *s;
    uint32_t flags;
    bool open;   /* BEGIN succeeded; the writer connection holds it */
    bool dead;   /* rolled back by timeout, stop or the database */
    bool ending; /* commit()/rollback() called: no more calls */
    bool busy;   /* one of its calls is on the writer */
    stq_job *qhead, *qtail;
    plt_timer *idle_timer;
    uint64_t began_ms; /* plt_mono() when BEGIN returned */
    int dead_status;
    char *dead_msg;
    /* A ROLLBACK allocated at begin(), so that a timeout or a stop can
     * always end the transaction, even out of memory. */
    stq_unit *rb;
};

typedef struct stq_cached {
    char *sql; /* the consumer's text (the key) */
    uint64_t hash;
    sqlite3_stmt *st;
    uint64_t used;
    bool qmarks; /* prepared from the ?N spelling of sql */
} stq_cached;

/* A connection owned by one thread. */
typedef struct stq_conn {
    sqlite3 *db;
    stq_cached cache[STQ_CACHE_SIZE];
    uint64_t tick;
} stq_conn;

struct stq_worker {
    stq *s;
    int index; /* -1 for the writer */
    uv_thread_t tid;
    bool running; /* thread created and not joined */
    bool sync_ok; /* mu and cv initialised */
    stq_conn c;
    /* Back-pressure: batches posted and not yet consumed by the loop. */
    uv_mutex_t mu;
    uv_cond_t cv;
    int outstanding;
    /* Start-up handshake. */
    int open_rc;
};

/* A listen() subscription (loop side only). */
struct plt_storage_listener {
    plt_storage_listener *next;
    char channel[64];
    plt_storage_notify_fn cb;
    void *arg;
    bool dead;
};

/* Engine diagnostics, for tests and future metrics (not part of storage
 * 1.0: reached through stq_vt_ext by code that knows the engine). */
typedef struct stq_diag {
    uint64_t batches;          /* batches posted to the loop */
    uint32_t peak_outstanding; /* most batches of one thread in flight */
    uint64_t commits;          /* group commits and transaction commits */
    uint64_t grouped;          /* statements committed in groups */
    uint64_t rerouted;         /* writes found on the read path */
    uint64_t checkpoints;      /* idle PASSIVE checkpoints */
    uint64_t durable_commits;  /* commits made with synchronous=FULL */
} stq_diag;

#define STQ_DIAG_MAGIC 0x53514c44u /* "SQLD" */

/* The vtable as registered: the storage 1.x table (size covers only it,
 * so consumers see exactly storage 1.x), then the engine's own member. */
typedef struct stq_vt_ext {
    plt_storage_vt vt;
    uint32_t magic;
    void (*diag)(void *impl, stq_diag *out);
} stq_vt_ext;

typedef enum stq_state {
    STQ_S_INIT = 0,
    STQ_S_STARTED,
    STQ_S_STOPPING,
    STQ_S_STOPPED
} stq_state;

struct stq {
    uint64_t gen;
    stq_state state;

    /* Configuration. */
    char *path; /* absolute */
    int nreaders;
    int64_t busy_ms, txn_ms;
    int batch_max;
    int cache_mib;  /* page cache per connection */
    int ckpt_pages; /* wal_autocheckpoint of the writer */

    stc_migreg mig;
    int64_t start_now_ms; /* plt_now() at start, for plt_schema */
    char **start_notes;   /* lines the writer wants logged after start */
    size_t nstart_notes;

    /* Writer thread and its hand-off slot. */
    stq_worker writer;
    uv_mutex_t wmu;
    uv_cond_t wcv;
    stq_unit *w_in;
    bool w_exit;
    bool writer_busy; /* loop side: a unit is on the writer */

    /* Loop-side writer queue (autocommit writes and BEGINs). */
    stq_job *wq_head, *wq_tail;
    size_t wq_len;
    plt_storage_txn *txn_cur; /* the transaction holding the writer */
    plt_storage_txn *txns;    /* every live handle */

    /* Reader threads and their shared queue. */
    stq_worker *readers;
    uv_mutex_t rmu;
    uv_cond_t rcv;
    stq_job *rq_head, *rq_tail;
    size_t rq_len;
    bool r_exit;

    atomic_bool abort;    /* fini with threads still running */
    atomic_long declared; /* plt_work_begin() not yet ended */
    bool sync_ready;      /* mutexes and conds initialised */

    /* Shutdown. */
    int readers_exited;
    bool threads_stopping;

    /* Start-up handshake with the writer. */
    uv_sem_t ready;
    char start_err[768];

    /* Counters (loop side) and diagnostics (atomics: threads add). */
    uint64_t outstanding; /* jobs accepted, done() not yet called */
    uint64_t completed, failed;
    char *last_error;
    atomic_uint_fast64_t d_batches, d_commits, d_grouped, d_rerouted,
        d_checkpoints, d_durable;
    atomic_uint peak_outstanding;

    plt_storage_listener *listeners;
    int delivering;

    /* Loop side: consumer texts already rewritten and checked. */
    stc_sqlcache texts;
};

/* Declared work (plt_work_begin/end) is also counted here, so that fini
 * can end what threads that were stopped by force never ended. */
static inline void
stq_work_begin(stq *s)
{
    atomic_fetch_add(&s->declared, 1);
    plt_work_begin();
}

static inline void
stq_work_end(stq *s)
{
    atomic_fetch_sub(&s->declared, 1);
    plt_work_end();
}

/* ---- storage_sqlite_api.c: the vtable and the loop side ---- */
extern const stq_vt_ext stq_vtable;
/* The live instance (loop thread only): posted messages of an older
 * generation are dropped. */
extern stq *stq_live;
void stq_job_free(stq_job *j);
/* A job finished (posted by a thread or by the loop itself). */
void stq_on_job_done(void *arg);
/* A reader found that its statement writes: queue it for the writer. */
void stq_on_reroute(void *arg);
/* The writer finished a unit. */
void stq_on_unit_done(void *arg);
void stq_kick(stq *s);
int stq_api_stop(stq *s);
void stq_api_fini(stq *s);
/* Stop every thread now (start failed, or fini before they drained). */
void stq_threads_abort(stq *s);
void stq_on_worker_exit(void *arg);
/* Retry plt_post() a little on ENOMEM: results must get home. */
int stq_post(plt_fn fn, void *arg);
/* Set a job's error: status and message (printf). */
__attribute__((format(printf, 3, 4))) void stq_job_fail(stq_job *j, int status,
                                                        const char *fmt, ...);

/* ---- storage_sqlite_conn.c: connections, statements, errors ---- */
/* Open a connection; writer = create + WAL + pragmas; reader = query_only.
 * On failure fills @p err with one sentence naming the file and cause. */
int stq_conn_open(stq *s, stq_conn *c, bool writer, char *err, size_t errlen);
void stq_conn_close(stq_conn *c);
/* The job's statement from the cache, or prepared now (and cached); sets
 * j->qmarks (see stq_sql_qmarks()).
 * @p reader: return 1, uncached, if the statement writes.
 * @return 0; 1 (reroute); < 0 with the job's error set. */
int stq_stmt_get(stq_conn *c, stq_job *j, bool reader, sqlite3_stmt **out);
/* The text SQLite prepares for @p sql: every `$N` placeholder spelled
 * `?N` (numbered parameters are O(1) to prepare and bind; SQLite looks a
 * named `$N` up by a linear scan of the statement's names, which makes a
 * statement of n parameters cost O(n^2)). NULL - keep @p sql and bind by
 * name - when the text holds anything else that SQLite could take for a
 * parameter (`?`, `:x`, `@x`, `$x`, `$1::t`...), an N above @p max_var,
 * or when out of memory. The result is malloc()ed. */
char *stq_sql_qmarks(const char *sql, int max_var);
/* After the last step: reset a cached statement, finalise another. */
void stq_stmt_release(stq_conn *c, sqlite3_stmt *st);
/* Bind $1..$n from @p args (checks the placeholders first). */
int stq_bind(stq_conn *c, sqlite3_stmt *st, stq_job *j, const plt_value *args,
             size_t n);
/* Map a SQLite result code to a Plateau code (and SQLSTATE). */
int stq_map_rc(int rc, const char **sqlstate);
/* Record a SQLite error on the job from @p rc and the connection. */
int stq_job_sqlite_error(stq_job *j, sqlite3 *db, int rc, const char *what);
/* Run a fixed, parameterless statement (cached). */
int stq_exec(stq_conn *c, const char *sql);

/* ---- storage_sqlite_reader.c: readers and streaming ---- */
/* Start the readers one by one; on failure s->start_err says why and
 * the readers already running are left for stq_threads_abort(). */
int stq_readers_start(stq *s);
void stq_readers_enqueue(stq *s, stq_job *j);
void stq_readers_exit(stq *s);
void stq_readers_join(stq *s);
/* Bind the job's arguments to @p st and step it to the end (once, or once
 * per argument row for query_rows()), streaming rows to the loop. Sets
 * j->status, rows_affected and, on error, the message. */
void stq_run_job(stq_worker *w, stq_job *j, sqlite3_stmt *st, bool *streamed);
/* Wait until the loop consumed every batch this worker posted. */
void stq_wait_consumed(stq_worker *w);
int stq_worker_sync_init(stq_worker *w);
void stq_worker_sync_fini(stq_worker *w);
/* A thread closed its connection: tell the loop, which joins it. */
typedef struct stq_exit_msg {
    uint64_t gen;
    bool writer;
} stq_exit_msg;
void stq_post_exit(stq *s, bool writer);

/* ---- storage_sqlite_writer.c: the writer thread ---- */
int stq_writer_start(stq *s);
void stq_writer_hand(stq *s, stq_unit *u);
void stq_writer_exit(stq *s);
void stq_writer_join(stq *s);
/* Free a unit's jobs (the unit lives in one of them). */
void stq_unit_free(stq_unit *u);

/* ---- storage_sqlite_migrate.c: schema versions ---- */
/* On the writer thread at start: plt_schema, then pending migrations. */
int stq_migrate(stq *s, stq_conn *c, char *err, size_t errlen);
/* `plateau check`: what start would do, without changing anything. */
int stq_check(stq *s);
/* `plateau db status`. */
int stq_cmd_db(plt_plugin *self, int argc, char **argv);

#endif
