/* SPDX-License-Identifier: MIT */
/*
 * storage_pg internals: the plugin state, a request, a connection, and the
 * functions the files of the plugin offer each other.
 *
 *   storage_pg.c          descriptor and lifecycle
 *   storage_pg_conn.c     one non-blocking libpq connection (state machine)
 *   storage_pg_pool.c     pool, request FIFO, transactions, the vtable
 *   storage_pg_listen.c   LISTEN/NOTIFY on a dedicated connection
 *   storage_pg_migrate.c  the blocking startup session: connect, migrate
 *
 * Thread: everything runs on the loop thread, except the startup session
 * (its own thread, joined by start() and check()) and PQcancel() (a
 * worker through plt_queue_work()).
 */
#ifndef STORAGE_PG_INT_H
#define STORAGE_PG_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <netdb.h>
#include <sys/types.h>

#include <libpq-fe.h>

#include <plateau/loop.h>
#include <plateau/plateau.h>
#include <plateau/svc/storage.h>

#include "storage_common.h"

/* Type OIDs of the built-in types we bind or convert (pg_type.dat). */
#define SPG_BOOLOID 16
#define SPG_BYTEAOID 17
#define SPG_INT8OID 20
#define SPG_INT2OID 21
#define SPG_INT4OID 23
#define SPG_FLOAT4OID 700
#define SPG_FLOAT8OID 701
#define SPG_NUMERICOID 1700

/* The advisory lock key every Plateau node takes while it reads or
 * applies migrations ("plateau" in ASCII). */
#define SPG_MIGRATION_LOCK 0x706c6174656175LL

/* Back-off of reconnection: first retry after this, doubling up to
 * reconnect_max. */
#define SPG_BACKOFF_FIRST_MS 250

/* Longest channel name: PostgreSQL identifiers hold NAMEDATALEN-1 bytes. */
#define SPG_CHANNEL_MAX 63
/* Longest NOTIFY payload PostgreSQL accepts (default build). */
#define SPG_PAYLOAD_MAX 7999

typedef struct spg spg;
typedef struct spg_conn spg_conn;
typedef struct spg_req spg_req;
typedef struct spg_listen spg_listen;

/* ------------------------------------------------------------------ */
/* Requests */

typedef enum spg_req_kind {
    SPG_R_QUERY = 1, /* a consumer statement (autocommit or in a txn) */
    SPG_R_BEGIN,     /* BEGIN of a new transaction */
    SPG_R_COMMIT,
    SPG_R_ROLLBACK,
    SPG_R_INTERNAL /* our own statement (LISTEN, timeout rollback) */
} spg_req_kind;

/*
 * One statement on its way: queued, in flight, or waiting for its
 * completion to be delivered. Owns its SQL text and argument copy.
 */
struct spg_req {
    spg_req *next;
    spg_req_kind kind;
    char *sql;       /* owned */
    plt_value *args; /* owned (stc_values_copy: one allocation) */
    size_t nargs;
    uint32_t flags;
    plt_storage_row_fn row;
    plt_storage_done_fn done;
    plt_storage_begin_fn begin_cb;
    void *arg;
    plt_storage_txn *txn; /* NULL for autocommit */
    uint64_t queued_at;   /* loop time (real ms) when it last joined a queue */
    int64_t rows;
    int64_t rows_affected;
    int status;       /* first error seen (server or ours), else 0 */
    char *error;      /* owned message for status < 0, or NULL */
    char sqlstate[6]; /* "" when unknown */
    bool flushed;     /* PQflush() returned 0: the server may have run it */
    bool stop_rows;   /* the row callback asked to stop */
    bool got_result;  /* a non-error result arrived */
    bool work;        /* plt_work_begin() was called for it */
    bool is_commit_rollback; /* COMMIT answered "ROLLBACK" (aborted txn) */
    bool reprepared; /* prepared again after a schema change (once) */
    bool named;      /* run as a named prepared statement (an INSERT) */
    /* A COPY ... FROM STDIN (query_rows()): its rows in text format,
     * sent when the server asks for them. Owned. */
    char *copy_data;
    size_t copy_len;
    void (*internal_done)(spg *pg, spg_req *r, int status); /* INTERNAL */
    void *internal_arg;
};

spg_req *spg_req_new(spg_req_kind kind);
void spg_req_free(spg_req *r);
/* Record an error on @p r (the first one wins). @p msg may be NULL. */
void spg_req_set_error(spg_req *r, int status, const char *sqlstate,
                       const char *msg);

/* ------------------------------------------------------------------ */
/* Connections */

typedef enum spg_conn_state {
    SPG_C_IDLE = 0,   /* not started, or closed */
    SPG_C_WAIT,       /* waiting for the back-off timer */
    SPG_C_RESOLVING,  /* uv_getaddrinfo in flight */
    SPG_C_CONNECTING, /* PQconnectPoll handshake */
    SPG_C_READY,      /* usable (c->req says whether busy) */
    SPG_C_CLOSING     /* spg_conn_close() called */
} spg_conn_state;

/* What a connection reports to its owner (the pool, or the listener). */
struct spg_conn_ops {
    /* The connection is READY (after a connect or reconnect). */
    void (*up)(spg_conn *c);
    /* A connect attempt failed, or a READY connection was lost. The
     * connection retries by itself after its back-off. @p was_up: it had
     * been READY. In-flight work was reported through done() first. */
    void (*down)(spg_conn *c, const char *why, bool was_up);
    /* A request finished: @p lost when the connection died under it (the
     * owner decides the status from r->flushed, r->status, the kind). */
    void (*done)(spg_conn *c, spg_req *r, bool lost);
    /* The connection may take work again (after a cancel finished). */
    void (*idle)(spg_conn *c);
    /* A notification arrived (strings valid during the call). */
    void (*notify)(spg_conn *c, const char *channel, const char *payload);
};

/* Named prepared statements kept per connection (least recently used
 * out, DEALLOCATEd before the next PREPARE). */
#define SPG_PREPARED_MAX 64

/* One statement prepared on the session, keyed by its text and the types
 * its parameters were prepared with (a value's type decides the type sent
 * with it, see format_param()). */
typedef struct spg_prepared {
    char *sql; /* NULL: free slot */
    uint64_t hash;
    Oid *types; /* nparams of them (one allocation with sql) */
    size_t nparams;
    uint32_t id; /* the statement is named "plt_<id>" */
    uint64_t used;
    bool ready; /* the server answered the PREPARE */
    bool stale; /* its cached plan failed: close it, prepare anew */
} spg_prepared;

/* Where a request on the wire is: closing an evicted statement, preparing
 * its own, or executing. */
typedef enum spg_phase {
    SPG_P_EXEC = 0,
    SPG_P_CLOSE,
    SPG_P_PREPARE,
    SPG_P_SETUP /* the session's settings, before its first statement */
} spg_phase;

struct spg_conn {
    spg *pg;
    const struct spg_conn_ops *ops;
    void *owner;
    int id; /* for log lines: 0..pool-1, or -1 (listener) */
    spg_conn_state state;
    PGconn *pq;
    uv_poll_t *poll; /* heap: re-created when the socket changes */
    int poll_fd;
    ino_t poll_ino;
    int poll_events;
    int poll_errors;  /* consecutive error reports of the handle */
    uv_timer_t timer; /* connect timeout, then back-off */
    bool timer_open;
    uv_getaddrinfo_t *gai; /* heap: owned by its callback once started */
    uint64_t backoff_ms;   /* delay before the next attempt */
    uint32_t gen;          /* bumped when pq is dropped: detects it after
                              a callback */
    spg_req *req;          /* in flight */
    plt_storage_txn *txn;  /* transaction pinned to this connection */
    spg_req *bound;        /* runs here before anything else (the ROLLBACK
                              of a transaction we ended ourselves) */
    int cancels;           /* PQcancel() jobs in flight for it */
    bool was_up;           /* READY at least once since the last failure */
    bool auto_retry;       /* retry after a failure (off while stopping) */
    char fatal[256];       /* last FATAL notice (why the server hung up) */
    /* Named prepared statements of the current session. */
    spg_prepared prepared[SPG_PREPARED_MAX];
    uint64_t prep_tick;
    uint32_t prep_next_id;
    spg_phase phase;
    bool session_set; /* the session's settings were sent (SPG_P_SETUP) */
    spg_prepared *prep_slot; /* the statement c->req uses, or NULL */
    uint64_t prepares;       /* PREPAREs sent (diagnostics and tests) */
};

/* Set up @p c (its timer handle). @return 0 or a uv error. */
int spg_conn_init(spg_conn *c, spg *pg, int id, const struct spg_conn_ops *ops,
                  void *owner);
/* Start connecting now (resolution first when the host is a name). */
void spg_conn_connect(spg_conn *c);
/* Take over a connected blocking-mode PGconn (the startup session's). */
int spg_conn_adopt(spg_conn *c, PGconn *pq);
/* True if @p c is READY with nothing in flight or being cancelled. */
bool spg_conn_available(const spg_conn *c);
/*
 * Send @p r on an available connection. @return 0 (done() follows), or
 * PLT_EAGAIN when the connection turned out dead before anything left
 * (r untouched: requeue it; down() was reported), or another error with
 * r's message set (nothing was sent; the caller completes r).
 */
int spg_conn_send(spg_conn *c, spg_req *r);
/* Drop the connection as if it was lost (it reconnects). */
void spg_conn_reset(spg_conn *c, const char *why);
/* Stop for good: no retry; close handles; PQfinish after their close
 * callbacks. In-flight work is reported lost. */
void spg_conn_close(spg_conn *c);

/*
 * Connection parameters for libpq (shared with the startup session).
 * @p hostaddr: comma-separated numeric addresses and @p hosts the host name
 * as many times, or both NULL when the configured host is numeric. Fills
 * @p kw / @p val (NULL-terminated, at most 20 entries).
 */
void spg_conn_params(const spg *pg, const char *hostaddr, const char *hosts,
                     const char **kw, const char **val, char *portbuf,
                     size_t portbuf_len);
/* Comma-separated unique numeric addresses of @p ai, @p host repeated as
 * many times in @p hosts. @return 0; PLT_ENOENT if none; PLT_ENOMEM. */
int spg_addrinfo_lists(const struct addrinfo *ai, const char *host,
                       char **addrs, char **hosts);

/* Classify a libpq connection error message (raw, verbose). */
typedef enum spg_conn_err {
    SPG_CE_TRANSIENT = 1, /* network, starting up, too many connections */
    SPG_CE_AUTH,          /* 28P01 / 28000 */
    SPG_CE_FATAL          /* any other server refusal (unknown db, ...) */
} spg_conn_err;
/* Parse @p raw into a one-line message without SQLSTATE and LOCATION,
 * and classify it. @p sqlstate receives "" when the server sent none. */
spg_conn_err spg_conn_error_parse(const char *raw, char *clean, size_t n,
                                  char sqlstate[6]);

/* ------------------------------------------------------------------ */
/* Transactions */

typedef enum spg_txn_state {
    SPG_T_BEGINNING = 1, /* BEGIN queued or in flight */
    SPG_T_OPEN,          /* handed to the consumer */
    SPG_T_ENDING,        /* commit/rollback called */
    SPG_T_DEAD           /* rolled back by us (timeout, loss, stop) */
} spg_txn_state;

struct plt_storage_txn {
    uint32_t magic;
    spg *pg;
    plt_storage_txn *next; /* pg->txns */
    spg_txn_state state;
    int dead_status;          /* what later calls report once DEAD */
    spg_conn *conn;           /* pinned connection, or NULL */
    spg_req *q_head, *q_tail; /* statements waiting for the connection */
    plt_timer *idle_timer;
    uint32_t flags;
    int first_error; /* status of the first failed statement */
    bool ending;     /* commit() or rollback() was called */
};

#define SPG_TXN_MAGIC 0x74786e31u /* "txn1" */

/* ------------------------------------------------------------------ */
/* The plugin */

typedef enum spg_state {
    SPG_S_INIT = 0, /* after init: migrations may be declared */
    SPG_S_STARTED,
    SPG_S_STOPPING, /* draining, then closing */
    SPG_S_STOPPED
} spg_state;

struct spg {
    /* Configuration (strings belong to the core's plt_cfg). */
    const char *host;
    bool host_numeric;
    int port;
    const char *dbname;
    const char *user;
    const char *password; /* NULL: none */
    const char *sslmode;
    const char *appname;
    bool jit; /* leave the server's JIT on for our sessions */
    int pool_size;
    uint64_t connect_timeout_ms;
    uint64_t txn_timeout_ms;
    uint64_t reconnect_max_ms;

    spg_state state;
    stc_migreg migs;

    spg_conn *conns; /* pool_size of them */
    int nconns_init; /* how many spg_conn_init() succeeded */
    spg_listen *listen;

    /* Autocommit statements and BEGINs waiting for a connection. */
    spg_req *q_head, *q_tail;
    uint32_t nqueued; /* in the FIFO and in transactions' queues */
    uint32_t in_flight;
    bool pumping, pump_again;
    uint64_t completed, failed;

    plt_storage_txn *txns;

    /* Completions delivered on the next loop iteration (never from inside
     * the call that caused them). */
    spg_req *deferred_head, *deferred_tail;
    /* Consumer texts already checked (loop side). */
    stc_sqlcache texts;
    uv_timer_t defer_timer;
    /* Fails queued work that waited connect_timeout for a connection. */
    uv_timer_t wait_timer;
    bool timers_open;

    bool up;              /* at least one pool connection READY */
    bool down_logged;     /* "connection lost" logged for this outage */
    uint64_t down_since;  /* loop ms when the pool lost its last conn */
    char last_error[512]; /* last connection-level error ("" if none) */

    int open_handles; /* uv handles not yet through their close cb */
    int pending_jobs; /* getaddrinfo / PQcancel jobs in flight */
    bool stop_async;  /* stop() returned PLT_EINPROGRESS */
    bool closing;     /* handles are being closed */
    bool freed;       /* fini ran: free on the last close callback */
    uint64_t rng;     /* jitter */
};

/* Loop time in real milliseconds (network deadlines are real time even
 * with the simulated clock: they measure a real peer). */
uint64_t spg_loop_ms(void);
/* A random number in [0, 1). */
double spg_random(spg *pg);
/* A handle or job of the plugin finished closing: free @p pg when fini
 * already ran, or report the end of an asynchronous stop. */
void spg_handle_closed(spg *pg);
void spg_job_done(spg *pg);
/* Where we connect, for messages: "127.0.0.1:5432". */
const char *spg_where(const spg *pg, char *buf, size_t n);

/* Pool (storage_pg_pool.c). */
extern const plt_storage_vt spg_vtable;
/* Queue `COPY ... FROM STDIN` (@p sql) with its rows (@p data, text
 * format), like a query() without arguments; takes both strings (freed
 * even when this fails). */
int spg_query_copy(spg *pg, plt_storage_txn *txn, char *sql, char *data,
                   size_t len, uint32_t flags, plt_storage_done_fn done,
                   void *arg);
/* storage_pg_rows.c: the vtable's query_rows() (storage 1.1). */
int spg_query_rows(void *impl, plt_storage_txn *txn, const char *sql,
                   const plt_value *args, size_t ncols, size_t nrows,
                   uint32_t flags, plt_storage_row_fn row,
                   plt_storage_done_fn done, void *arg);
int spg_pool_open(spg *pg, PGconn *first);
void spg_pool_stop(spg *pg);
void spg_pool_free(spg *pg);
/* Queue an internal statement on the pool (NOTIFY). */
void spg_pool_enqueue(spg *pg, spg_req *r);
/* Deliver @p r's completion on the next loop iteration. */
void spg_pool_defer(spg *pg, spg_req *r);
/* Complete a request now: consumer callback, counters, work end, free. */
void spg_req_complete(spg *pg, spg_req *r);
/* A drain step: called when work finished while stopping. */
void spg_pool_maybe_stopped(spg *pg);

/* Listener (storage_pg_listen.c). */
int spg_listen_new(spg *pg, spg_listen **out);
int spg_listen_add(spg *pg, const char *channel, plt_storage_notify_fn cb,
                   void *arg, plt_storage_listener **out);
void spg_listen_remove(spg *pg, plt_storage_listener *l);
int spg_listen_notify(spg *pg, const char *channel, const char *payload,
                      plt_storage_done_fn done, void *arg);
void spg_listen_close(spg *pg);
void spg_listen_free(spg *pg);
bool spg_channel_valid(const char *channel);

/* Startup session (storage_pg_migrate.c). */
typedef enum spg_session_mode {
    SPG_SESSION_START = 1, /* connect and apply migrations */
    SPG_SESSION_CHECK      /* connect and report (plateau check) */
} spg_session_mode;
/*
 * Run the startup session on a thread of its own and wait for it (start()
 * and check() may block: nothing is serving yet). Reports with
 * plt_set_error() and plt_log() on the loop thread.
 * @param first  START: receives the session's open connection, for the
 *               pool to adopt (NULL if unused).
 * @return 0; PLT_EAUTH; PLT_ETIMEDOUT (unreachable); PLT_ESCHEMA; PLT_EDB;
 *         PLT_ENOMEM.
 */
int spg_session_run(spg *pg, spg_session_mode mode, PGconn **first);

#endif
