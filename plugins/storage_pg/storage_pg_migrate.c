/* SPDX-License-Identifier: MIT */
/*
 * The startup session: connect once, bounded by connect_timeout, and bring
 * the schema up to date (start) or report how far behind it is (`plateau
 * check`).
 *
 * start() may block - nothing is serving yet - but libpq's blocking calls
 * still stay off the loop thread: the session runs on a thread of its own
 * that start() joins. It resolves the host, connects with
 * PQconnectStartParams and poll() against one deadline (libpq's own
 * connect_timeout counts whole seconds, per address), retrying a server
 * that refuses or is starting up until the deadline, but giving up at once
 * on a wrong password or an unknown database: a retry storm helps nobody.
 *
 * Migrations: `plt_schema` holds one version per owner plugin. Every read
 * or change of it happens under pg_advisory_xact_lock(SPG_MIGRATION_LOCK),
 * so several Plateau nodes starting together apply each step once. All
 * owners are checked first and a database newer than the code is refused
 * before anything changes; then each owner's pending steps run in one
 * transaction with its new version, DDL rewritten by storage_common
 * (PLT_ID, PLT_BLOB, PLT_JSON). The session's connection, authenticated
 * and idle, becomes the pool's first connection.
 *
 * The thread never calls the host: it fills a report that the loop thread
 * logs after the join.
 */
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage_pg_int.h"

typedef struct owner_report {
    const char *owner;
    int64_t db;   /* version found (0: none) */
    int64_t code; /* versions the code declares */
    bool applied; /* START: steps db+1..code were applied */
} owner_report;

typedef struct session {
    spg *pg;
    spg_session_mode mode;
    int64_t now_ms; /* applied_at, from the core clock */
    int rc;
    char msg[1200];
    PGconn *conn;
    owner_report *rep;
    size_t nrep;
    char warn[4][300];
    int nwarn;
} session;

static uint64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
sleep_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
                          .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

__attribute__((format(printf, 3, 4))) static int
fail(session *s, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
    va_end(ap);
    s->rc = rc;
    return rc;
}

/* Server warnings during the session, logged by the loop thread later. */
static void
session_notice(void *arg, const PGresult *res)
{
    session *s = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (sev && strcmp(sev, "WARNING") == 0 && msg && s->nwarn < 4)
        snprintf(s->warn[s->nwarn++], sizeof(s->warn[0]), "server warning: %s",
                 msg);
}

/* ------------------------------------------------------------------ */
/* Connecting */

/* One attempt, bounded by @p deadline. @return the PGconn (OK or BAD). */
static PGconn *
attempt(session *s, const char *addrs, const char *hosts, uint64_t deadline,
        bool *timed_out)
{
    const char *kw[24], *val[24];
    char port[16];
    spg_conn_params(s->pg, addrs, hosts, kw, val, port, sizeof(port));
    *timed_out = false;
    PGconn *pq = PQconnectStartParams(kw, val, 0);
    if (!pq)
        return NULL;
    PQsetNoticeReceiver(pq, session_notice, s);
    PQsetErrorVerbosity(pq, PQERRORS_VERBOSE);
    if (PQstatus(pq) == CONNECTION_BAD)
        return pq;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        uint64_t now = mono_ms();
        if (now >= deadline) {
            *timed_out = true;
            return pq;
        }
        /* The socket may change between calls (several addresses, SSL
         * fallback): read it every time. */
        struct pollfd p = {.fd = PQsocket(pq),
                           .events =
                               st == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        int n = poll(&p, 1, (int)(deadline - now));
        if (n == 0) {
            *timed_out = true;
            return pq;
        }
        if (n < 0 && errno != EINTR)
            return pq;
        st = PQconnectPoll(pq);
    }
    return pq;
}

static int
session_connect(session *s)
{
    spg *pg = s->pg;
    char where[300];
    spg_where(pg, where, sizeof(where));
    uint64_t deadline = mono_ms() + pg->connect_timeout_ms;
    uint64_t backoff = SPG_BACKOFF_FIRST_MS;
    char last[600] = "no attempt made";
    for (;;) {
        char *addrs = NULL, *hosts = NULL;
        if (!pg->host_numeric) {
            /* Blocking, but on this thread, never on the loop. */
            struct addrinfo hints = {.ai_family = AF_UNSPEC,
                                     .ai_socktype = SOCK_STREAM,
                                     .ai_flags = AI_ADDRCONFIG};
            struct addrinfo *ai = NULL;
            int g = getaddrinfo(pg->host, NULL, &hints, &ai);
            if (g != 0) {
                snprintf(last, sizeof(last), "cannot resolve host '%s': %s",
                         pg->host, gai_strerror(g));
            } else {
                int rc = spg_addrinfo_lists(ai, pg->host, &addrs, &hosts);
                freeaddrinfo(ai);
                if (rc == PLT_ENOMEM)
                    return fail(s, PLT_ENOMEM, "out of memory");
                if (rc != 0)
                    snprintf(last, sizeof(last), "host '%s' has no address",
                             pg->host);
            }
        }
        if (pg->host_numeric || addrs) {
            bool timed_out;
            PGconn *pq = attempt(s, addrs, hosts, deadline, &timed_out);
            free(addrs);
            free(hosts);
            if (!pq)
                return fail(s, PLT_ENOMEM, "out of memory");
            if (!timed_out && PQstatus(pq) == CONNECTION_OK) {
                PQsetErrorVerbosity(pq, PQERRORS_DEFAULT);
                s->conn = pq;
                return 0;
            }
            char st[6];
            spg_conn_err kind = spg_conn_error_parse(PQerrorMessage(pq), last,
                                                     sizeof(last), st);
            /* The server wants a password and none is configured. */
            if (PQconnectionNeedsPassword(pq))
                kind = SPG_CE_AUTH;
            if (timed_out)
                snprintf(last, sizeof(last),
                         "no answer within %llu ms (connect_timeout)",
                         (unsigned long long)pg->connect_timeout_ms);
            PQfinish(pq);
            if (!timed_out && kind == SPG_CE_AUTH)
                return fail(s, PLT_EAUTH,
                            "storage_pg: authentication failed for user "
                            "'%s' at %s: %s",
                            pg->user, where, last);
            if (!timed_out && kind == SPG_CE_FATAL)
                return fail(s, PLT_EDB,
                            "storage_pg: the server at %s refused the "
                            "connection: %s",
                            where, last);
        }
        uint64_t now = mono_ms();
        if (now >= deadline)
            break;
        uint64_t wait = backoff < deadline - now ? backoff : deadline - now;
        sleep_ms(wait);
        backoff *= 2;
        if (backoff > pg->reconnect_max_ms)
            backoff = pg->reconnect_max_ms;
        if (mono_ms() >= deadline)
            break;
    }
    return fail(s, PLT_ETIMEDOUT,
                "storage_pg: cannot connect to %s within %llu ms "
                "(connect_timeout): %s",
                where, (unsigned long long)pg->connect_timeout_ms, last);
}

/* ------------------------------------------------------------------ */
/* Statements */

static int
db_error(session *s, PGresult *res, const char *what)
{
    const char *m =
        res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char buf[600];
    snprintf(buf, sizeof(buf), "%s", m ? m : PQerrorMessage(s->conn));
    size_t l = strlen(buf);
    while (l > 0 && buf[l - 1] == '\n')
        buf[--l] = '\0';
    PQclear(res);
    return fail(s, PLT_EDB, "storage_pg: %s failed: %s", what, buf);
}

/* Run @p sql (one or more statements, no parameters). */
static int
ex(session *s, const char *sql, const char *what)
{
    PGresult *res = PQexec(s->conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return db_error(s, res, what);
    PQclear(res);
    return 0;
}

static PGresult *
exp_(session *s, const char *sql, int n, const char *const *vals,
     const char *what)
{
    PGresult *res = PQexecParams(s->conn, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        db_error(s, res, what);
        return NULL;
    }
    return res;
}

static void
rollback_quietly(session *s)
{
    PGresult *res = PQexec(s->conn, "ROLLBACK");
    PQclear(res);
}

static int
lock_schema(session *s)
{
    char key[32];
    snprintf(key, sizeof(key), "%lld", (long long)SPG_MIGRATION_LOCK);
    const char *v[1] = {key};
    PGresult *res = exp_(s, "SELECT pg_advisory_xact_lock($1::bigint)", 1, v,
                         "taking the migration lock");
    if (!res)
        return s->rc;
    PQclear(res);
    return 0;
}

/* Versions of every owner in plt_schema into the report. */
static int
read_versions(session *s)
{
    PGresult *res = exp_(s, "SELECT owner, version FROM plt_schema", 0, NULL,
                         "reading plt_schema");
    if (!res)
        return s->rc;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *o = PQgetvalue(res, i, 0);
        for (size_t k = 0; k < s->nrep; k++)
            if (strcmp(s->rep[k].owner, o) == 0)
                s->rep[k].db = strtoll(PQgetvalue(res, i, 1), NULL, 10);
    }
    PQclear(res);
    return 0;
}

static int
too_new(session *s)
{
    for (size_t k = 0; k < s->nrep; k++) {
        owner_report *r = &s->rep[k];
        if (r->db > r->code)
            return fail(s, PLT_ESCHEMA,
                        "storage_pg: the database schema of '%s' is at "
                        "version %lld, newer than this code's version %lld: "
                        "refusing to run against it (upgrade Plateau, or "
                        "use a database that matches this version)",
                        r->owner, (long long)r->db, (long long)r->code);
    }
    return 0;
}

static const char schema_ddl[] = "CREATE TABLE IF NOT EXISTS plt_schema ("
                                 " owner TEXT PRIMARY KEY,"
                                 " version BIGINT NOT NULL,"
                                 " applied_at BIGINT NOT NULL)";

/* One owner's pending steps, in one transaction. */
static int
migrate_owner(session *s, owner_report *r, const stc_owner *o)
{
    if (ex(s, "BEGIN", "BEGIN") || lock_schema(s))
        goto fail;
    const char *v1[1] = {o->owner};
    PGresult *res = exp_(s, "SELECT version FROM plt_schema WHERE owner = $1",
                         1, v1, "reading plt_schema");
    if (!res)
        goto fail;
    /* Another node may have moved it while we waited for the lock. */
    r->db = PQntuples(res) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    if (too_new(s))
        goto fail;
    for (int64_t v = r->db + 1; v <= r->code; v++) {
        const plt_storage_migration *m = &o->m[v - 1];
        const char *text = stc_migration_text(m, STC_PG);
        char *sql = NULL;
        int rc = text ? stc_sql_rewrite(text, STC_PG, STC_RW_TYPES, &sql)
                      : PLT_EINVAL;
        if (rc != 0) {
            fail(s, rc == PLT_ENOMEM ? PLT_ENOMEM : PLT_EINVAL,
                 "storage_pg: migration %lld of '%s' has no PostgreSQL text",
                 (long long)v, o->owner);
            goto fail;
        }
        char what[300];
        snprintf(what, sizeof(what), "migration %lld of '%s' (%s)",
                 (long long)v, o->owner, m->name ? m->name : "unnamed");
        /* PQexec: a step may hold several statements. */
        rc = ex(s, sql, what);
        free(sql);
        if (rc != 0)
            goto fail;
    }
    char ver[32], at[32];
    snprintf(ver, sizeof(ver), "%lld", (long long)r->code);
    snprintf(at, sizeof(at), "%lld", (long long)s->now_ms);
    const char *v3[3] = {o->owner, ver, at};
    res = exp_(s,
               "INSERT INTO plt_schema (owner, version, applied_at) "
               "VALUES ($1, $2::bigint, $3::bigint) ON CONFLICT (owner) DO "
               "UPDATE SET version = excluded.version, "
               "applied_at = excluded.applied_at",
               3, v3, "recording the schema version");
    if (!res)
        goto fail;
    PQclear(res);
    if (ex(s, "COMMIT", "COMMIT"))
        goto fail;
    r->applied = true;
    return 0;
fail:
    rollback_quietly(s);
    return s->rc;
}

static int
session_migrate(session *s)
{
    const stc_migreg *reg = &s->pg->migs;
    if (ex(s, "BEGIN", "BEGIN") || lock_schema(s) ||
        ex(s, schema_ddl, "creating plt_schema") || read_versions(s) ||
        ex(s, "COMMIT", "COMMIT")) {
        rollback_quietly(s);
        return s->rc;
    }
    /* Refuse before changing anything. */
    if (too_new(s))
        return s->rc;
    for (size_t k = 0; k < reg->n; k++) {
        owner_report *r = &s->rep[k];
        if (r->db < r->code && migrate_owner(s, r, &reg->v[k]) != 0)
            return s->rc;
    }
    return 0;
}

static int
session_check(session *s)
{
    PGresult *res = exp_(s, "SELECT to_regclass('plt_schema') IS NOT NULL", 0,
                         NULL, "looking for plt_schema");
    if (!res)
        return s->rc;
    bool exists = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (exists && read_versions(s) != 0)
        return s->rc;
    return too_new(s);
}

/* Every commit is durable only if synchronous_commit is not off for our
 * role and database (PostgreSQL's default is on). Say so when it is. */
static void
check_durability(session *s)
{
    PGresult *res = PQexec(s->conn, "SHOW synchronous_commit");
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
        strcmp(PQgetvalue(res, 0, 0), "off") == 0 && s->nwarn < 4)
        snprintf(s->warn[s->nwarn++], sizeof(s->warn[0]),
                 "synchronous_commit is off for this role and database: a "
                 "commit acknowledged to Plateau may be lost if the server "
                 "crashes (PLT_STORAGE_DURABLE is not honoured); set it to "
                 "on");
    PQclear(res);
}

static void
session_main(void *arg)
{
    session *s = arg;
    if (session_connect(s) != 0)
        return;
    check_durability(s);
    int rc =
        s->mode == SPG_SESSION_START ? session_migrate(s) : session_check(s);
    if (rc != 0 || s->mode != SPG_SESSION_START) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
}

/* ------------------------------------------------------------------ */
/* On the loop thread */

static void
report(session *s)
{
    for (int i = 0; i < s->nwarn; i++)
        plt_log(PLT_LOG_WARN, "%s", s->warn[i]);
    for (size_t k = 0; k < s->nrep; k++) {
        owner_report *r = &s->rep[k];
        if (s->mode == SPG_SESSION_START) {
            if (r->applied)
                plt_log(PLT_LOG_INFO,
                        "schema of '%s' migrated from version %lld to %lld",
                        r->owner, (long long)r->db, (long long)r->code);
        } else if (r->db < r->code) {
            plt_log(PLT_LOG_NOTICE,
                    "schema of '%s': %lld migration(s) pending (database at "
                    "version %lld, code at %lld)",
                    r->owner, (long long)(r->code - r->db), (long long)r->db,
                    (long long)r->code);
        } else if (r->db == r->code) {
            plt_log(PLT_LOG_INFO, "schema of '%s' is up to date (version %lld)",
                    r->owner, (long long)r->db);
        }
    }
}

int
spg_session_run(spg *pg, spg_session_mode mode, PGconn **first)
{
    session *s = calloc(1, sizeof(*s));
    if (!s)
        return PLT_ENOMEM;
    s->pg = pg;
    s->mode = mode;
    s->now_ms = plt_now();
    s->nrep = pg->migs.n;
    if (s->nrep) {
        s->rep = calloc(s->nrep, sizeof(*s->rep));
        if (!s->rep) {
            free(s);
            return PLT_ENOMEM;
        }
        for (size_t k = 0; k < s->nrep; k++) {
            s->rep[k].owner = pg->migs.v[k].owner;
            s->rep[k].code = (int64_t)pg->migs.v[k].n;
        }
    }
    uv_thread_t tid;
    int rc = uv_thread_create(&tid, session_main, s);
    if (rc != 0) {
        free(s->rep);
        free(s);
        plt_set_error("storage_pg: cannot start the startup thread: %s",
                      uv_strerror(rc));
        return PLT_ENOMEM;
    }
    uv_thread_join(&tid);

    report(s);
    rc = s->rc;
    if (rc != 0) {
        plt_set_error("%s", s->msg);
        if (mode == SPG_SESSION_CHECK)
            plt_log(PLT_LOG_ERROR, "%s", s->msg);
    }
    /* session_main() kept the connection open only for a START that
     * succeeded. */
    if (first)
        *first = s->conn;
    else if (s->conn)
        PQfinish(s->conn);
    free(s->rep);
    free(s);
    return rc;
}
