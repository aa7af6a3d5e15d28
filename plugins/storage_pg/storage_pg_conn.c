/* SPDX-License-Identifier: MIT */
/*
 * One non-blocking libpq connection, driven by the loop.
 *
 * States: WAIT (back-off) -> RESOLVING (uv_getaddrinfo, when the host is a
 * name: libpq would resolve it inside PQconnectPoll and block the loop) ->
 * CONNECTING (PQconnectStartParams, then PQconnectPoll on every readiness
 * event, as libpq's docs prescribe) -> READY. One request at a time runs on
 * a READY connection: PQsendQueryParams, PQsetSingleRowMode so rows stream
 * one by one, PQflush until it returns 0 (polling WRITABLE meanwhile), and
 * on READABLE: PQconsumeInput, PQnotifies, then PQgetResult while
 * !PQisBusy - the only order in which libpq never blocks.
 *
 * libpq may switch sockets during the handshake (several addresses, SSL
 * fallback), and it closes its socket by itself when the server goes away.
 * So the socket is re-read after every PQconnectPoll and a fresh uv_poll
 * handle is made when it changed (a closing handle cannot be reused before
 * its close callback), and a dropped PGconn is only PQfinish()ed from the
 * close callback of its poll handle.
 *
 * A failed attempt or a lost connection retries by itself after a jittered
 * exponential back-off (250 ms doubling to reconnect_max) and tells its
 * owner (the pool or the listener), which decides what in-flight work
 * means: a statement whose bytes never all left (PQflush never returned 0)
 * cannot have committed.
 */
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "storage_pg_int.h"

/* A poll handle and, once retired, the PGconn it watched: the PGconn is
 * finished in the handle's close callback, after libuv forgot the fd. */
typedef struct spg_poll {
    uv_poll_t h;
    spg *pg;
    PGconn *finish;
} spg_poll;

static void conn_io(spg_conn *c, int events);
static void connect_step(spg_conn *c);
static void conn_attempt_failed(spg_conn *c, const char *raw);
static void conn_lost(spg_conn *c, const char *raw);
static int poll_set(spg_conn *c, int events);

/* ------------------------------------------------------------------ */
/* Messages */

static bool
is_sqlstate_at(const char *p)
{
    for (int i = 0; i < 5; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'A' && p[i] <= 'Z')))
            return false;
    return p[5] == ':' && p[6] == ' ';
}

spg_conn_err
spg_conn_error_parse(const char *raw, char *clean, size_t n, char sqlstate[6])
{
    sqlstate[0] = '\0';
    size_t o = 0;
    if (n == 0)
        return SPG_CE_TRANSIENT;
    clean[0] = '\0';
    const char *p = raw ? raw : "";
    /* libpq reports one line per address tried, each followed by indented
     * hints and, in verbose mode, a LOCATION line: keep the first lines,
     * drop the SQLSTATE that verbose mode inserts after the severity. */
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        bool keep = len > 0 && p[0] != '\t' && p[0] != ' ' &&
                    strncmp(p, "LOCATION:", 9) != 0;
        if (keep) {
            if (o > 0 && o + 2 < n) {
                clean[o++] = ';';
                clean[o++] = ' ';
            }
            for (size_t i = 0; i < len && o + 1 < n; i++) {
                if (i + 3 + 7 <= len && p[i] == ':' && p[i + 1] == ' ' &&
                    p[i + 2] == ' ' && is_sqlstate_at(p + i + 3)) {
                    memcpy(sqlstate, p + i + 3, 5);
                    sqlstate[5] = '\0';
                    /* keep ":  ", skip "XXXXX: " */
                    clean[o++] = ':';
                    if (o + 1 < n)
                        clean[o++] = ' ';
                    if (o + 1 < n)
                        clean[o++] = ' ';
                    i += 2 + 7;
                    continue;
                }
                clean[o++] = p[i];
            }
        }
        p += len;
        if (*p == '\n')
            p++;
    }
    clean[o] = '\0';
    if (strcmp(sqlstate, "28P01") == 0 || strcmp(sqlstate, "28000") == 0)
        return SPG_CE_AUTH;
    /* No server answer (network), a server starting or stopping (57P0x),
     * a connection exception or too many connections (53300): worth
     * retrying. Anything else the server said (unknown database, ...)
     * will not change by itself. */
    if (sqlstate[0] == '\0' || strncmp(sqlstate, "08", 2) == 0 ||
        strncmp(sqlstate, "57P", 3) == 0 || strcmp(sqlstate, "53300") == 0)
        return SPG_CE_TRANSIENT;
    return SPG_CE_FATAL;
}

static void
conn_notice(void *arg, const PGresult *res)
{
    spg_conn *c = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (!msg)
        msg = PQresultErrorMessage(res);
    if (!sev)
        sev = "NOTICE";
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0 ||
        (state && strncmp(state, "57P", 3) == 0)) {
        /* The server is about to hang up (restart, terminate, another
         * backend crashed): keep the reason for the pool's one "connection
         * lost" line instead of logging it for every connection. */
        snprintf(c->fatal, sizeof(c->fatal), "%s", msg);
        return;
    }
    if (strcmp(sev, "WARNING") == 0)
        plt_log(PLT_LOG_WARN, "server warning: %s", msg);
    else
        plt_log(PLT_LOG_DEBUG, "server %s: %s", sev, msg);
}

/* ------------------------------------------------------------------ */
/* Parameters */

void
spg_conn_params(const spg *pg, const char *hostaddr, const char *hosts,
                const char **kw, const char **val, char *portbuf,
                size_t portbuf_len)
{
    size_t i = 0;
    snprintf(portbuf, portbuf_len, "%d", pg->port);
#define P(k, v)                                                                \
    do {                                                                       \
        kw[i] = (k);                                                           \
        val[i] = (v);                                                          \
        i++;                                                                   \
    } while (0)
    /* hostaddr (numeric) means libpq never resolves anything; host is
     * still given for messages, SSL checks and the password file. */
    P("host", hosts ? hosts : pg->host);
    P("hostaddr", hostaddr ? hostaddr : pg->host);
    P("port", portbuf);
    P("dbname", pg->dbname);
    P("user", pg->user);
    if (pg->password)
        P("password", pg->password);
    P("sslmode", pg->sslmode);
    P("application_name", pg->appname);
    P("client_encoding", "UTF8");
    /* No `options` (synchronous_commit and the like): poolers such as
     * PgBouncer refuse that startup parameter. The startup session checks
     * synchronous_commit instead. */
    /* Notice a vanished peer in about 30 s rather than hours. */
    P("keepalives", "1");
    P("keepalives_idle", "15");
    P("keepalives_interval", "5");
    P("keepalives_count", "3");
#undef P
    kw[i] = NULL;
    val[i] = NULL;
}

int
spg_addrinfo_lists(const struct addrinfo *ai, const char *host, char **addrs,
                   char **hosts)
{
    char list[8][64];
    size_t n = 0;
    *addrs = *hosts = NULL;
    for (; ai && n < 8; ai = ai->ai_next) {
        char buf[64];
        int rc;
        if (ai->ai_family == AF_INET)
            rc = uv_ip4_name((const struct sockaddr_in *)ai->ai_addr, buf,
                             sizeof(buf));
        else if (ai->ai_family == AF_INET6)
            rc = uv_ip6_name((const struct sockaddr_in6 *)ai->ai_addr, buf,
                             sizeof(buf));
        else
            continue;
        if (rc != 0)
            continue;
        bool dup = false;
        for (size_t k = 0; k < n; k++)
            if (strcmp(list[k], buf) == 0)
                dup = true;
        if (!dup)
            memcpy(list[n++], buf, sizeof(buf));
    }
    if (n == 0)
        return PLT_ENOENT;
    size_t alen = 0, hlen = 0, hl = strlen(host);
    for (size_t k = 0; k < n; k++) {
        alen += strlen(list[k]) + 1;
        hlen += hl + 1;
    }
    char *a = malloc(alen), *h = malloc(hlen);
    if (!a || !h) {
        free(a);
        free(h);
        return PLT_ENOMEM;
    }
    a[0] = h[0] = '\0';
    for (size_t k = 0; k < n; k++) {
        if (k) {
            strcat(a, ",");
            strcat(h, ",");
        }
        strcat(a, list[k]);
        strcat(h, host);
    }
    *addrs = a;
    *hosts = h;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Poll handles and dropping a PGconn */

static void
poll_closed(uv_handle_t *h)
{
    spg_poll *p = (spg_poll *)h;
    spg *pg = p->pg;
    if (p->finish)
        PQfinish(p->finish);
    free(p);
    spg_handle_closed(pg);
}

static void
poll_discard(spg_conn *c, PGconn *finish)
{
    spg_poll *p = (spg_poll *)c->poll;
    c->poll = NULL;
    c->poll_events = 0;
    c->poll_fd = -1;
    if (p) {
        p->finish = finish;
        uv_close((uv_handle_t *)&p->h, poll_closed);
    } else if (finish) {
        PQfinish(finish);
    }
}

/* Forget the session's prepared statements (its PGconn is gone or new). */
static void
prepared_forget(spg_conn *c)
{
    for (size_t i = 0; i < SPG_PREPARED_MAX; i++) {
        free(c->prepared[i].types);
        c->prepared[i] = (spg_prepared){0};
    }
    c->prep_slot = NULL;
    c->phase = SPG_P_EXEC;
    c->session_set = false;
}

/* The request on the wire is over (or never left): a statement whose
 * PREPARE did not succeed frees its slot. */
static void
prepared_settle(spg_conn *c)
{
    spg_prepared *p = c->prep_slot;
    if (p && !p->ready) {
        free(p->types);
        *p = (spg_prepared){0};
    }
    c->prep_slot = NULL;
    c->phase = SPG_P_EXEC;
}

/* Forget the PGconn (finished once libuv let go of its fd). */
static void
conn_drop(spg_conn *c)
{
    c->gen++;
    prepared_forget(c);
    PGconn *pq = c->pq;
    c->pq = NULL;
    poll_discard(c, pq);
}

static void
on_poll(uv_poll_t *h, int status, int events)
{
    spg_conn *c = h->data;
    if (status < 0) {
        /* libuv reports EPOLLERR as UV_EBADF and stops the handle. The
         * socket has a pending error (a refused connect, a reset): let
         * libpq read it, so that it tries the next address or reports
         * what really happened, and re-arm the handle. */
        c->poll_events = 0;
        if (++c->poll_errors > 3) {
            char why[128];
            snprintf(why, sizeof(why), "socket error: %s", uv_strerror(status));
            if (c->state == SPG_C_CONNECTING)
                conn_attempt_failed(c, why);
            else if (c->state == SPG_C_READY)
                conn_lost(c, why);
            return;
        }
        events = UV_READABLE | UV_WRITABLE;
    } else {
        c->poll_errors = 0;
    }
    uint32_t gen = c->gen;
    if (c->state == SPG_C_CONNECTING) {
        connect_step(c);
    } else if (c->state == SPG_C_READY) {
        conn_io(c, events);
        if (status < 0 && c->gen == gen && c->state == SPG_C_READY &&
            c->poll_events == 0) {
            bool flushing = c->req && !c->req->flushed;
            if (poll_set(c, flushing ? UV_READABLE | UV_WRITABLE
                                     : UV_READABLE) != 0)
                conn_lost(c, "cannot watch the socket");
        }
    }
}

/* Watch the PGconn's current socket for @p events. @return 0 or < 0. */
static int
poll_set(spg_conn *c, int events)
{
    int fd = PQsocket(c->pq);
    if (fd < 0)
        return PLT_EIO;
    if (c->poll) {
        bool changed = fd != c->poll_fd;
        if (!changed && c->state == SPG_C_CONNECTING) {
            /* The same number may name a new socket (libpq closed the old
             * one, the kernel reused the number): compare the inode. */
            struct stat st;
            if (fstat(fd, &st) == 0 && st.st_ino != c->poll_ino)
                changed = true;
        }
        if (changed)
            poll_discard(c, NULL);
    }
    if (!c->poll) {
        spg_poll *p = calloc(1, sizeof(*p));
        if (!p)
            return PLT_ENOMEM;
        p->pg = c->pg;
        int rc = uv_poll_init(plt_loop(), &p->h, fd);
        if (rc != 0) {
            free(p);
            return rc;
        }
        p->h.data = c;
        c->pg->open_handles++;
        c->poll = &p->h;
        c->poll_fd = fd;
        struct stat st;
        c->poll_ino = fstat(fd, &st) == 0 ? st.st_ino : 0;
        c->poll_events = 0;
        c->poll_errors = 0;
    }
    if (events != c->poll_events) {
        int rc = uv_poll_start(c->poll, events, on_poll);
        if (rc != 0)
            return rc;
        c->poll_events = events;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Retry and failure */

static void on_timer(uv_timer_t *t);

static void
schedule_retry(spg_conn *c)
{
    spg *pg = c->pg;
    c->state = SPG_C_WAIT;
    uv_timer_stop(&c->timer);
    if (!c->auto_retry)
        return;
    if (c->backoff_ms == 0)
        c->backoff_ms = SPG_BACKOFF_FIRST_MS;
    /* Jitter (+-25 %) spreads the nodes and connections of a site that
     * all lost the server at the same instant. */
    uint64_t delay =
        (uint64_t)((double)c->backoff_ms * (0.75 + 0.5 * spg_random(pg)));
    c->backoff_ms *= 2;
    if (c->backoff_ms > pg->reconnect_max_ms)
        c->backoff_ms = pg->reconnect_max_ms;
    uv_timer_start(&c->timer, on_timer, delay, 0);
}

/* An attempt failed before the connection was READY. */
static void
conn_attempt_failed(spg_conn *c, const char *raw)
{
    char msg[512], st[6];
    spg_conn_error_parse(raw, msg, sizeof(msg), st);
    if (c->gai)
        c->gai = NULL; /* its callback frees it */
    conn_drop(c);
    c->was_up = false;
    schedule_retry(c);
    c->ops->down(c, msg, false);
}

/* A READY connection died. In-flight work goes to done(lost) first. */
static void
conn_lost(spg_conn *c, const char *raw)
{
    char msg[512], st[6];
    if (c->fatal[0])
        snprintf(msg, sizeof(msg), "%s", c->fatal);
    else
        spg_conn_error_parse(raw, msg, sizeof(msg), st);
    c->fatal[0] = '\0';
    spg_req *r = c->req;
    c->req = NULL;
    conn_drop(c);
    c->was_up = false;
    c->backoff_ms = 0;
    schedule_retry(c);
    if (r)
        c->ops->done(c, r, true);
    c->ops->down(c, msg, true);
}

/* ------------------------------------------------------------------ */
/* Connecting */

static void
became_ready(spg_conn *c)
{
    uv_timer_stop(&c->timer);
    if (PQsetnonblocking(c->pq, 1) != 0) {
        conn_attempt_failed(c, PQerrorMessage(c->pq));
        return;
    }
    PQsetErrorVerbosity(c->pq, PQERRORS_DEFAULT);
    c->state = SPG_C_READY;
    c->backoff_ms = 0;
    c->was_up = true;
    c->fatal[0] = '\0';
    int rc = poll_set(c, UV_READABLE);
    if (rc != 0) {
        conn_attempt_failed(c, uv_strerror(rc));
        return;
    }
    c->ops->up(c);
}

static void
connect_step(spg_conn *c)
{
    PostgresPollingStatusType st = PQconnectPoll(c->pq);
    int rc = 0;
    switch (st) {
    case PGRES_POLLING_READING:
        rc = poll_set(c, UV_READABLE);
        break;
    case PGRES_POLLING_WRITING:
        rc = poll_set(c, UV_WRITABLE);
        break;
    case PGRES_POLLING_OK:
        became_ready(c);
        return;
    case PGRES_POLLING_FAILED:
    default:
        conn_attempt_failed(c, PQerrorMessage(c->pq));
        return;
    }
    if (rc != 0)
        conn_attempt_failed(c,
                            rc == PLT_EIO ? "socket closed" : uv_strerror(rc));
}

static void
connect_begin(spg_conn *c, const char *addrs, const char *hosts)
{
    const char *kw[24], *val[24];
    char port[16];
    spg_conn_params(c->pg, addrs, hosts, kw, val, port, sizeof(port));
    /* Non-blocking: hostaddr is numeric, so nothing is resolved here. */
    PGconn *pq = PQconnectStartParams(kw, val, 0);
    if (!pq) {
        conn_attempt_failed(c, "out of memory");
        return;
    }
    c->pq = pq;
    c->gen++;
    prepared_forget(c);
    PQsetNoticeReceiver(pq, conn_notice, c);
    /* Verbose while connecting: the message then carries the SQLSTATE,
     * which tells a wrong password from a server starting up whatever the
     * server's language. */
    PQsetErrorVerbosity(pq, PQERRORS_VERBOSE);
    if (PQstatus(pq) == CONNECTION_BAD) {
        conn_attempt_failed(c, PQerrorMessage(pq));
        return;
    }
    c->state = SPG_C_CONNECTING;
    /* libpq's docs: behave as if PQconnectPoll returned WRITING. */
    int rc = poll_set(c, UV_WRITABLE);
    if (rc != 0)
        conn_attempt_failed(c,
                            rc == PLT_EIO ? "socket closed" : uv_strerror(rc));
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    spg_conn *c = req->data;
    spg *pg = c->pg;
    bool mine = c->gai == req;
    free(req);
    if (mine) {
        c->gai = NULL;
        if (status != 0) {
            char why[256];
            snprintf(why, sizeof(why), "cannot resolve host '%s': %s", pg->host,
                     uv_strerror(status));
            conn_attempt_failed(c, why);
        } else {
            char *addrs, *hosts;
            int rc = spg_addrinfo_lists(res, pg->host, &addrs, &hosts);
            if (rc != 0) {
                char why[256];
                snprintf(why, sizeof(why), "host '%s' has no address",
                         pg->host);
                conn_attempt_failed(c, why);
            } else {
                connect_begin(c, addrs, hosts);
                free(addrs);
                free(hosts);
            }
        }
    }
    uv_freeaddrinfo(res);
    spg_job_done(pg);
}

void
spg_conn_connect(spg_conn *c)
{
    spg *pg = c->pg;
    if (c->state == SPG_C_CLOSING)
        return;
    uv_timer_stop(&c->timer);
    /* connect_timeout bounds resolution and handshake together; libpq's
     * own connect_timeout does not apply to PQconnectPoll. */
    uv_timer_start(&c->timer, on_timer, pg->connect_timeout_ms, 0);
    if (pg->host_numeric) {
        connect_begin(c, NULL, NULL);
        return;
    }
    uv_getaddrinfo_t *req = calloc(1, sizeof(*req));
    if (!req) {
        conn_attempt_failed(c, "out of memory");
        return;
    }
    req->data = c;
    char port[16];
    snprintf(port, sizeof(port), "%d", pg->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_ADDRCONFIG};
    c->state = SPG_C_RESOLVING;
    c->gai = req;
    int rc =
        uv_getaddrinfo(plt_loop(), req, on_resolved, pg->host, port, &hints);
    if (rc != 0) {
        c->gai = NULL;
        free(req);
        char why[256];
        snprintf(why, sizeof(why), "cannot resolve host '%s': %s", pg->host,
                 uv_strerror(rc));
        conn_attempt_failed(c, why);
        return;
    }
    pg->pending_jobs++;
}

static void
on_timer(uv_timer_t *t)
{
    spg_conn *c = t->data;
    if (c->state == SPG_C_WAIT) {
        spg_conn_connect(c);
    } else if (c->state == SPG_C_RESOLVING || c->state == SPG_C_CONNECTING) {
        char why[128];
        snprintf(why, sizeof(why), "timeout expired after %llu ms",
                 (unsigned long long)c->pg->connect_timeout_ms);
        conn_attempt_failed(c, why);
    }
}

int
spg_conn_init(spg_conn *c, spg *pg, int id, const struct spg_conn_ops *ops,
              void *owner)
{
    memset(c, 0, sizeof(*c));
    c->pg = pg;
    c->ops = ops;
    c->owner = owner;
    c->id = id;
    c->poll_fd = -1;
    c->auto_retry = true;
    int rc = uv_timer_init(plt_loop(), &c->timer);
    if (rc != 0)
        return rc;
    c->timer.data = c;
    c->timer_open = true;
    pg->open_handles++;
    return 0;
}

int
spg_conn_adopt(spg_conn *c, PGconn *pq)
{
    if (PQsetnonblocking(pq, 1) != 0)
        return PLT_EIO;
    PQsetNoticeReceiver(pq, conn_notice, c);
    PQsetErrorVerbosity(pq, PQERRORS_DEFAULT);
    c->pq = pq;
    c->gen++;
    prepared_forget(c);
    c->state = SPG_C_READY;
    c->was_up = true;
    int rc = poll_set(c, UV_READABLE);
    if (rc != 0) {
        c->pq = NULL;
        c->state = SPG_C_IDLE;
        poll_discard(c, NULL);
        return rc;
    }
    c->ops->up(c);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Statements */

bool
spg_conn_available(const spg_conn *c)
{
    return c->state == SPG_C_READY && !c->req && c->cancels == 0;
}

/* Hand buffered output to the kernel and watch for what follows.
 * @return 0 all sent, 1 more to send, -1 the connection failed (the caller
 * reports it lost). */
static int
conn_flush(spg_conn *c)
{
    int f = PQflush(c->pq);
    if (f < 0)
        return -1;
    /* Only the execution counts: a CLOSE or PREPARE that left changed
     * nothing, and the request may still go to another connection. */
    if (f == 0 && c->req && c->phase == SPG_P_EXEC)
        c->req->flushed = true;
    int rc = poll_set(c, f == 0 ? UV_READABLE : UV_READABLE | UV_WRITABLE);
    if (rc != 0)
        return -1;
    return f;
}

/* The type sent with a value (0: the server infers it, as for a
 * literal). format_param() below spells the value accordingly. */
static Oid
param_type(const plt_value *v)
{
    switch (v->type) {
    case PLT_T_I64:
    case PLT_T_TIME:
        return SPG_INT8OID;
    case PLT_T_DOUBLE:
        return SPG_FLOAT8OID;
    case PLT_T_BLOB:
        return SPG_BYTEAOID;
    default:
        return 0;
    }
}

static void
format_param(const plt_value *v, char *buf, size_t n, const char **val,
             int *len, int *fmt, Oid *type)
{
    *fmt = 0;
    *len = 0;
    switch (v->type) {
    case PLT_T_I64:
    case PLT_T_TIME:
        snprintf(buf, n, "%lld", (long long)v->v.i);
        *val = buf;
        *type = SPG_INT8OID;
        break;
    case PLT_T_DOUBLE:
        /* %.17g round-trips every double; PostgreSQL spells the
         * special values its own way. */
        if (isnan(v->v.d))
            snprintf(buf, n, "NaN");
        else if (isinf(v->v.d))
            snprintf(buf, n, v->v.d > 0 ? "Infinity" : "-Infinity");
        else
            snprintf(buf, n, "%.17g", v->v.d);
        *val = buf;
        *type = SPG_FLOAT8OID;
        break;
    case PLT_T_BOOL:
        /* Portable SQL keeps booleans in BIGINT 0/1 columns, and PostgreSQL
         * has no assignment cast from boolean to bigint: "1"/"0" with type
         * 0 fits a BIGINT column and a native BOOLEAN alike. */
        *val = v->v.i ? "1" : "0";
        *type = 0;
        break;
    case PLT_T_STR:
        /* Type 0: the server infers it from the context, as for a
         * literal, so one text value fits TEXT, JSONB or a date. */
        *val = v->v.s ? v->v.s : "";
        *type = 0;
        break;
    case PLT_T_BLOB:
        /* Binary format: no escaping, any byte goes. */
        *val = v->v.b ? (const char *)v->v.b : "";
        *len = (int)v->len;
        *fmt = 1;
        *type = SPG_BYTEAOID;
        break;
    case PLT_T_NULL:
    default:
        *val = NULL;
        *type = 0;
        break;
    }
}

/* Send r's execution: its prepared statement (c->prep_slot) or the text.
 * @return 0; PLT_EAGAIN (the connection is broken: nothing left); another
 * error with r's message set. */
static int
send_exec(spg_conn *c, spg_req *r)
{
    enum { STACK_PARAMS = 16, NUMLEN = 32 };
    const char *vals_s[STACK_PARAMS];
    int lens_s[STACK_PARAMS], fmts_s[STACK_PARAMS];
    Oid types_s[STACK_PARAMS];
    char nums_s[STACK_PARAMS][NUMLEN];
    const char **vals = vals_s;
    int *lens = lens_s, *fmts = fmts_s;
    Oid *types = types_s;
    char(*nums)[NUMLEN] = nums_s;
    void *heap = NULL;
    size_t n = r->nargs;
    if (n > STACK_PARAMS) {
        size_t sz = n * (sizeof(*vals) + sizeof(*lens) + sizeof(*fmts) +
                         sizeof(*types) + NUMLEN);
        heap = malloc(sz);
        if (!heap) {
            spg_req_set_error(r, PLT_ENOMEM, NULL, "out of memory");
            return PLT_ENOMEM;
        }
        char *p = heap;
        vals = (const char **)(void *)p;
        p += n * sizeof(*vals);
        types = (Oid *)(void *)p;
        p += n * sizeof(*types);
        lens = (int *)(void *)p;
        p += n * sizeof(*lens);
        fmts = (int *)(void *)p;
        p += n * sizeof(*fmts);
        nums = (char(*)[NUMLEN])(void *)p;
    }
    for (size_t i = 0; i < n; i++)
        format_param(&r->args[i], nums[i], NUMLEN, &vals[i], &lens[i], &fmts[i],
                     &types[i]);
    int ok;
    if (c->prep_slot) {
        char name[24];
        snprintf(name, sizeof(name), "plt_%u", c->prep_slot->id);
        ok = PQsendQueryPrepared(c->pq, name, (int)n, vals, lens, fmts, 0);
    } else {
        ok = PQsendQueryParams(c->pq, r->sql, (int)n, types, vals, lens, fmts,
                               0);
    }
    free(heap);
    if (!ok) {
        if (PQstatus(c->pq) == CONNECTION_BAD)
            return PLT_EAGAIN;
        spg_req_set_error(r, PLT_EDB, NULL, PQerrorMessage(c->pq));
        return PLT_EDB;
    }
    /* Rows then arrive one PGresult each: a large result never sits whole
     * in memory. (A COPY returns none.) */
    if (!r->copy_data)
        PQsetSingleRowMode(c->pq);
    return 0;
}

static bool
prepared_match(const spg_prepared *p, const char *sql, uint64_t h,
               const spg_req *r)
{
    if (!p->sql || !p->ready || p->stale || p->hash != h ||
        p->nparams != r->nargs || strcmp(p->sql, sql) != 0)
        return false;
    for (size_t i = 0; i < r->nargs; i++)
        if (p->types[i] != param_type(&r->args[i]))
            return false;
    return true;
}

static int send_start(spg_conn *c, spg_req *r);

/* Send what comes after a finished SETUP (the request), CLOSE (the
 * PREPARE) or PREPARE (the execution). Same returns as send_exec(). */
static int
send_step(spg_conn *c, spg_req *r)
{
    spg_prepared *p = c->prep_slot;
    if (c->phase == SPG_P_SETUP)
        return send_start(c, r);
    if (c->phase == SPG_P_CLOSE) {
        char name[24];
        snprintf(name, sizeof(name), "plt_%u", p->id);
        c->phase = SPG_P_PREPARE;
        c->prepares++;
        if (PQsendPrepare(c->pq, name, p->sql, (int)p->nparams, p->types))
            return 0;
    } else {
        p->ready = true;
        c->phase = SPG_P_EXEC;
        return send_exec(c, r);
    }
    if (PQstatus(c->pq) == CONNECTION_BAD)
        return PLT_EAGAIN;
    spg_req_set_error(r, PLT_EDB, NULL, PQerrorMessage(c->pq));
    return PLT_EDB;
}

/* Execute r as a named prepared statement: the cached one, or prepared
 * now (after DEALLOCATE of the least recently used when all are taken).
 * Same returns as send_exec(). */
static int
send_named(spg_conn *c, spg_req *r)
{
    uint64_t h = stc_sql_hash(r->sql);
    spg_prepared *victim = &c->prepared[0];
    for (size_t i = 0; i < SPG_PREPARED_MAX; i++) {
        spg_prepared *p = &c->prepared[i];
        if (prepared_match(p, r->sql, h, r)) {
            p->used = ++c->prep_tick;
            c->prep_slot = p;
            return send_exec(c, r);
        }
        /* A free slot first, then a stale statement, then the LRU. */
        if (!victim->sql)
            continue;
        if (!p->sql || (p->stale && !victim->stale) ||
            (p->stale == victim->stale && p->used < victim->used))
            victim = p;
    }
    /* One allocation: the types, then the text. */
    size_t len = strlen(r->sql) + 1;
    Oid *types = malloc(r->nargs * sizeof(Oid) + len);
    if (!types)
        return send_exec(c, r); /* unnamed, as before */
    char *text = (char *)(types + r->nargs);
    uint32_t old_id = victim->id;
    bool close = victim->sql != NULL;
    free(victim->types);
    memcpy(text, r->sql, len);
    for (size_t i = 0; i < r->nargs; i++)
        types[i] = param_type(&r->args[i]);
    *victim = (spg_prepared){.sql = text,
                             .hash = h,
                             .types = types,
                             .nparams = r->nargs,
                             .id = ++c->prep_next_id,
                             .used = ++c->prep_tick};
    c->prep_slot = victim;
    if (close) {
        char sql[48];
        snprintf(sql, sizeof(sql), "DEALLOCATE plt_%u", old_id);
        c->phase = SPG_P_CLOSE;
        if (PQsendQuery(c->pq, sql))
            return 0;
        if (PQstatus(c->pq) == CONNECTION_BAD)
            return PLT_EAGAIN;
        spg_req_set_error(r, PLT_EDB, NULL, PQerrorMessage(c->pq));
        return PLT_EDB;
    }
    c->phase = SPG_P_CLOSE; /* nothing to close: straight to PREPARE */
    return send_step(c, r);
}

/* Send r itself. Same returns as send_exec(). */
static int
send_start(spg_conn *c, spg_req *r)
{
    c->phase = SPG_P_EXEC;
    /* Consumer INSERTs run as named prepared statements: parsed and
     * planned once per session, then only bound and executed. Not in a
     * failed transaction (the server would refuse the PREPARE as it
     * refuses the statement: send it as it is and get that error). */
    if (r->kind == SPG_R_QUERY && r->named &&
        PQtransactionStatus(c->pq) != PQTRANS_INERROR)
        return send_named(c, r);
    return send_exec(c, r);
}

/* Before the first statement of a session, its settings: `SET jit = off`
 * unless `jit` is configured. Plateau's statements are short, and
 * PostgreSQL decides JIT compilation on the planner's estimate, which on
 * a table filled since its last ANALYZE (a lead import into a new list)
 * can be a thousand times the real cost: compiling then took ~140 ms of a
 * 7 ms duplicate probe. A server without the setting (before 11) answers
 * with an error, which is ignored like the answer. Same returns as
 * send_exec(). */
static int
send_setup(spg_conn *c, spg_req *r)
{
    if (c->session_set || c->pg->jit)
        return send_start(c, r);
    c->session_set = true;
    c->phase = SPG_P_SETUP;
    if (PQsendQuery(c->pq, "SET jit = off"))
        return 0;
    if (PQstatus(c->pq) == CONNECTION_BAD)
        return PLT_EAGAIN;
    spg_req_set_error(r, PLT_EDB, NULL, PQerrorMessage(c->pq));
    return PLT_EDB;
}

int
spg_conn_send(spg_conn *c, spg_req *r)
{
    /* A connection the server closed while it sat idle (restart) is only
     * noticed on the next read: look now, so that a statement is moved to
     * another connection instead of being lost. Notifications do not
     * arrive on pool connections; the listener's own are read on the
     * next READABLE event. */
    if (!c->ops->notify &&
        (!PQconsumeInput(c->pq) || PQstatus(c->pq) == CONNECTION_BAD)) {
        conn_lost(c, PQerrorMessage(c->pq));
        return PLT_EAGAIN;
    }
    if (!c->ops->notify) {
        PGnotify *nf;
        while ((nf = PQnotifies(c->pq)) != NULL)
            PQfreemem(nf);
        /* PQnotifies() parsed what arrived: a FATAL notice means the
         * server is hanging up this session; do not send into it. */
        if (c->fatal[0]) {
            conn_lost(c, c->fatal);
            return PLT_EAGAIN;
        }
    }

    r->flushed = false;
    c->req = r;
    c->phase = SPG_P_EXEC;
    c->prep_slot = NULL;
    int rc = send_setup(c, r);
    if (rc != 0) {
        c->req = NULL;
        prepared_settle(c);
        if (rc == PLT_EAGAIN) {
            conn_lost(c, PQerrorMessage(c->pq));
            return PLT_EAGAIN;
        }
        return rc;
    }
    if (conn_flush(c) < 0) {
        /* Not all of it left, so the Sync that would have committed it
         * never reached the server: the caller may send it elsewhere. */
        c->req = NULL;
        conn_lost(c, PQerrorMessage(c->pq));
        return PLT_EAGAIN;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Results */

/* PQcancel() connects to the server and waits: on a worker thread. */
typedef struct cancel_job {
    PGcancel *cancel;
    spg_conn *c;
} cancel_job;

static void
cancel_work(void *arg)
{
    cancel_job *j = arg;
    char err[256];
    (void)PQcancel(j->cancel, err, sizeof(err));
}

static void
cancel_done(void *arg, int status)
{
    (void)status;
    cancel_job *j = arg;
    spg_conn *c = j->c;
    PQfreeCancel(j->cancel);
    free(j);
    c->cancels--;
    if (spg_conn_available(c))
        c->ops->idle(c);
    spg_job_done(c->pg);
}

static void
request_cancel(spg_conn *c)
{
    PGcancel *cn = PQgetCancel(c->pq);
    if (!cn)
        return;
    cancel_job *j = malloc(sizeof(*j));
    if (!j) {
        PQfreeCancel(cn);
        return;
    }
    j->cancel = cn;
    j->c = c;
    /* The connection takes no new statement until the cancel is through:
     * a late cancel would hit the next statement. */
    if (plt_queue_work(cancel_work, cancel_done, j) != 0) {
        PQfreeCancel(cn);
        free(j);
        return;
    }
    c->cancels++;
    c->pg->pending_jobs++;
}

static void
convert_value(const PGresult *res, int row, int col, plt_value *v,
              unsigned char **blob)
{
    *blob = NULL;
    if (PQgetisnull(res, row, col)) {
        *v = (plt_value){.type = PLT_T_NULL};
        return;
    }
    char *s = PQgetvalue(res, row, col);
    switch (PQftype(res, col)) {
    case SPG_INT2OID:
    case SPG_INT4OID:
    case SPG_INT8OID:
        *v = (plt_value){.type = PLT_T_I64, .v.i = strtoll(s, NULL, 10)};
        return;
    case SPG_FLOAT4OID:
    case SPG_FLOAT8OID:
    case SPG_NUMERICOID:
        *v = (plt_value){.type = PLT_T_DOUBLE, .v.d = strtod(s, NULL)};
        return;
    case SPG_BOOLOID:
        *v = (plt_value){.type = PLT_T_BOOL, .v.i = s[0] == 't'};
        return;
    case SPG_BYTEAOID: {
        size_t len = 0;
        unsigned char *b = PQunescapeBytea((const unsigned char *)s, &len);
        if (b) {
            *blob = b;
            *v =
                (plt_value){.type = PLT_T_BLOB, .len = (uint32_t)len, .v.b = b};
            return;
        }
        break; /* out of memory: hand the escaped text rather than lie */
    }
    default:
        break;
    }
    *v = (plt_value){.type = PLT_T_STR,
                     .len = (uint32_t)PQgetlength(res, row, col),
                     .v.s = s};
}

/* One row of a single-row-mode result: convert and hand it over. */
static void
deliver_row(spg_conn *c, spg_req *r, const PGresult *res)
{
    enum { STACK_COLS = 32 };
    int ncols = PQnfields(res);
    plt_value vals_s[STACK_COLS];
    const char *names_s[STACK_COLS];
    unsigned char *blobs_s[STACK_COLS];
    plt_value *vals = vals_s;
    const char **names = names_s;
    unsigned char **blobs = blobs_s;
    void *heap = NULL;
    if (ncols > STACK_COLS) {
        heap = malloc((size_t)ncols *
                      (sizeof(*vals) + sizeof(*names) + sizeof(*blobs)));
        if (!heap) {
            spg_req_set_error(r, PLT_ENOMEM, NULL, "out of memory");
            r->stop_rows = true;
            return;
        }
        vals = heap;
        names = (const char **)(void *)(vals + ncols);
        blobs = (unsigned char **)(void *)(names + ncols);
    }
    for (int i = 0; i < ncols; i++) {
        names[i] = PQfname(res, i);
        convert_value(res, 0, i, &vals[i], &blobs[i]);
    }
    plt_storage_row row = {
        .ncols = (size_t)ncols, .names = names, .vals = vals};
    r->rows++;
    int stop = r->row(r->arg, &row);
    for (int i = 0; i < ncols; i++)
        if (blobs[i])
            PQfreemem(blobs[i]);
    free(heap);
    if (stop) {
        r->stop_rows = true;
        /* In autocommit, cancel what is left (the rest of a large result
         * would only be read and dropped). In a transaction a cancel
         * would abort the transaction: drain quietly instead. */
        if (!r->txn && c->req == r && c->pq)
            request_cancel(c);
    }
}

static void
handle_result(spg_conn *c, spg_req *r, PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    switch (st) {
    case PGRES_SINGLE_TUPLE:
        if (r->stop_rows || r->status != 0)
            break;
        if (r->row)
            deliver_row(c, r, res);
        else
            r->rows++;
        break;
    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
        r->got_result = true;
        r->rows_affected = strtoll(PQcmdTuples(res), NULL, 10);
        /* COMMIT of a transaction a failed statement aborted answers with
         * the tag ROLLBACK and no error. */
        if (r->kind == SPG_R_COMMIT &&
            strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
            r->is_commit_rollback = true;
        break;
    case PGRES_EMPTY_QUERY:
        spg_req_set_error(r, PLT_EINVAL, NULL, "empty statement");
        break;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
        spg_req_set_error(r, PLT_EINVAL, NULL,
                          "COPY is not supported through query()");
        break;
    default: {
        /* After a cancel we asked for, the error is ours, not the
         * statement's. */
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (r->stop_rows && state && strcmp(state, "57014") == 0)
            break;
        const char *prim = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        char msg[1024];
        if (prim && detail)
            snprintf(msg, sizeof(msg), "%s (%s)", prim, detail);
        else
            snprintf(msg, sizeof(msg), "%s",
                     prim ? prim : PQresultErrorMessage(res));
        size_t l = strlen(msg);
        while (l > 0 && msg[l - 1] == '\n')
            msg[--l] = '\0';
        spg_req_set_error(r, stc_sqlstate_to_plt(state), state, msg);
        break;
    }
    }
}

static void
drain_notifies(spg_conn *c)
{
    PGnotify *nf;
    uint32_t gen = c->gen;
    while (c->pq && c->gen == gen && (nf = PQnotifies(c->pq)) != NULL) {
        if (c->ops->notify)
            c->ops->notify(c, nf->relname, nf->extra ? nf->extra : "");
        PQfreemem(nf);
    }
}

static void
conn_io(spg_conn *c, int events)
{
    uint32_t gen = c->gen;
    if ((events & UV_WRITABLE) && c->req && !c->req->flushed) {
        if (conn_flush(c) < 0) {
            conn_lost(c, PQerrorMessage(c->pq));
            return;
        }
    }
    if (!(events & UV_READABLE))
        return;
    if (!PQconsumeInput(c->pq)) {
        conn_lost(c, PQerrorMessage(c->pq));
        return;
    }
    drain_notifies(c);
    if (c->gen != gen)
        return;
    while (c->req && !PQisBusy(c->pq)) {
        spg_req *r = c->req;
        PGresult *res = PQgetResult(c->pq);
        if (!res && c->phase != SPG_P_EXEC && r->status == 0 &&
            !r->stop_rows) {
            /* The CLOSE or PREPARE is done: send the next step. */
            int rc = send_step(c, r);
            if (rc == 0 && conn_flush(c) >= 0)
                continue;
            if (rc == 0 || rc == PLT_EAGAIN) {
                conn_lost(c, PQerrorMessage(c->pq));
                return;
            }
            /* Not sent (r's error is set): the request ends here. */
        }
        if (!res && c->phase == SPG_P_EXEC && c->prep_slot &&
            c->prep_slot->stale && !r->txn && !r->stop_rows && r->rows == 0 &&
            !r->reprepared && strcmp(r->sqlstate, "0A000") == 0) {
            r->reprepared = true;
            /* Autocommit: the failed execution changed nothing, so prepare
             * the text again and run it, as an unnamed statement would
             * have been. (In a transaction the error aborted it: it is
             * reported.) */
            r->status = 0;
            r->sqlstate[0] = '\0';
            free(r->error);
            r->error = NULL;
            r->flushed = false;
            c->prep_slot = NULL;
            int rc = send_named(c, r);
            if (rc == 0 && conn_flush(c) >= 0)
                continue;
            if (rc == 0 || rc == PLT_EAGAIN) {
                conn_lost(c, PQerrorMessage(c->pq));
                return;
            }
        }
        if (!res) {
            /* The statement is over (ReadyForQuery seen): the connection
             * is free before the owner hears of it, so that its callback
             * may send the next statement here. */
            prepared_settle(c);
            c->req = NULL;
            c->ops->done(c, r, false);
            if (c->gen != gen || c->state != SPG_C_READY)
                return;
            continue;
        }
        if (c->phase == SPG_P_CLOSE || c->phase == SPG_P_SETUP ||
            (c->phase == SPG_P_PREPARE &&
             PQresultStatus(res) == PGRES_COMMAND_OK)) {
            /* The DEALLOCATE of an evicted statement (its outcome is not
             * the request's), or the PREPARE's success. */
            PQclear(res);
            continue;
        }
        if (c->phase == SPG_P_EXEC && c->prep_slot &&
            PQresultStatus(res) == PGRES_FATAL_ERROR) {
            /* "cached plan must not change result type" after a schema
             * change: prepare it again next time. */
            const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            if (st && strcmp(st, "0A000") == 0)
                c->prep_slot->stale = true;
        }
        if (PQresultStatus(res) == PGRES_COPY_IN && r->copy_data) {
            /* query_rows() through COPY: the rows, then the end; the
             * outcome comes as the statement's result. */
            PQclear(res);
            if (PQputCopyData(c->pq, r->copy_data, (int)r->copy_len) != 1 ||
                PQputCopyEnd(c->pq, NULL) != 1 || conn_flush(c) < 0) {
                conn_lost(c, PQerrorMessage(c->pq));
                return;
            }
            continue;
        }
        bool copy = PQresultStatus(res) == PGRES_COPY_IN ||
                    PQresultStatus(res) == PGRES_COPY_OUT ||
                    PQresultStatus(res) == PGRES_COPY_BOTH;
        handle_result(c, r, res);
        PQclear(res);
        if (c->gen != gen)
            return;
        if (copy) {
            /* The protocol is now in COPY mode: dropping the connection is
             * the simple way out of it. */
            conn_lost(c, "COPY is not supported through query()");
            return;
        }
    }
    if (c->state == SPG_C_READY && c->gen == gen &&
        PQstatus(c->pq) == CONNECTION_BAD)
        conn_lost(c, PQerrorMessage(c->pq));
}

void
spg_conn_reset(spg_conn *c, const char *why)
{
    if (c->state == SPG_C_READY)
        conn_lost(c, why);
}

/* ------------------------------------------------------------------ */
/* Closing */

static void
timer_closed(uv_handle_t *h)
{
    spg_conn *c = h->data;
    spg_handle_closed(c->pg);
}

void
spg_conn_close(spg_conn *c)
{
    if (c->state == SPG_C_CLOSING && !c->timer_open)
        return;
    c->auto_retry = false;
    c->state = SPG_C_CLOSING;
    if (c->gai) {
        /* Its callback still runs (and frees it); it will not be ours. */
        uv_cancel((uv_req_t *)c->gai);
        c->gai = NULL;
    }
    spg_req *r = c->req;
    c->req = NULL;
    if (c->pq || c->poll)
        conn_drop(c);
    if (c->timer_open) {
        c->timer_open = false;
        uv_timer_stop(&c->timer);
        uv_close((uv_handle_t *)&c->timer, timer_closed);
    }
    if (r)
        c->ops->done(c, r, true);
}
