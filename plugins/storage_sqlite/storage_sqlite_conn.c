/* SPDX-License-Identifier: MIT */
/*
 * One SQLite connection as a storage_sqlite thread owns it: opening and
 * configuring it (WAL, foreign keys, busy timeout; the writer creates the
 * file and owns checkpoints, readers are query_only), a small LRU cache of
 * persistent prepared statements keyed by SQL text, binding `$1..$n`
 * (prepared as numbered `?N` parameters, so that binding is O(1) per
 * parameter rather than a scan of the statement's names), and
 * turning SQLite result codes into the storage contract's errors.
 *
 * Every function here runs on the thread that owns the connection (or on
 * the loop during start/check, when no thread uses it). Debian's SQLite is
 * built threadsafe=1, but a connection is never shared, so it is opened
 * with SQLITE_OPEN_NOMUTEX.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "storage_sqlite_int.h"

/* ------------------------------------------------------------------ */
/* Errors */

int
stq_map_rc(int rc, const char **sqlstate)
{
    const char *st = NULL;
    int out;
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        /* The SQLSTATEs PostgreSQL reports for the same violations, so a
         * consumer can tell a duplicate from a dangling reference on both
         * engines. */
        switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
            st = "23505";
            break;
        case SQLITE_CONSTRAINT_FOREIGNKEY:
            st = "23503";
            break;
        case SQLITE_CONSTRAINT_NOTNULL:
            st = "23502";
            break;
        case SQLITE_CONSTRAINT_CHECK:
            st = "23514";
            break;
        default:
            st = "23000";
            break;
        }
        out = PLT_ECONFLICT;
        break;
    case SQLITE_ERROR:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_AUTH:
        out = PLT_EINVAL;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        out = PLT_EAGAIN;
        break;
    case SQLITE_INTERRUPT:
        out = PLT_ECANCELED;
        break;
    case SQLITE_NOMEM:
        out = PLT_ENOMEM;
        break;
    default:
        out = PLT_EDB;
        break;
    }
    if (sqlstate)
        *sqlstate = st;
    return out;
}

void
stq_job_fail(stq_job *j, int status, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    j->status = status;
    free(j->errmsg);
    /* Out of memory here leaves the status without a text: done() still
     * tells the consumer what happened. */
    j->errmsg = strdup(buf);
}

int
stq_job_sqlite_error(stq_job *j, sqlite3 *db, int rc, const char *what)
{
    const char *st = NULL;
    int status = stq_map_rc(rc, &st);
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int sys = db ? sqlite3_system_errno(db) : 0;
    if ((rc & 0xff) == SQLITE_IOERR && sys)
        stq_job_fail(j, status, "%s%s%s (%s)", what ? what : "",
                     what ? ": " : "", msg, strerror(sys));
    else
        stq_job_fail(j, status, "%s%s%s", what ? what : "", what ? ": " : "",
                     msg);
    j->sqlstate = st;
    return status;
}

/* ------------------------------------------------------------------ */
/* Opening */

/* Create the directories above @p path (the data directory exists; a
 * `file` like "db/plateau.db" may need one more level). */
static int
mkdir_parents(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return PLT_ENOMEM;
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0750) != 0 && errno != EEXIST) {
            int e = errno;
            free(p);
            return -e;
        }
        *q = '/';
    }
    free(p);
    return 0;
}

static int
open_failed(sqlite3 *db, int rc, const char *path, const char *what, char *err,
            size_t errlen)
{
    int sys = db ? sqlite3_system_errno(db) : 0;
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int status;
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        snprintf(err, errlen,
                 "SQLite database '%s' %s: %s (corrupt, or not a SQLite "
                 "file): restore a backup or point storage_sqlite.file "
                 "elsewhere",
                 path, what, msg);
        status = PLT_EDB;
        break;
    case SQLITE_FULL:
        snprintf(err, errlen,
                 "SQLite database '%s' %s: %s: free some disk space", path,
                 what, msg);
        status = PLT_ENOSPC;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        snprintf(err, errlen,
                 "SQLite database '%s' %s: %s: another process held it "
                 "locked longer than busy_timeout",
                 path, what, msg);
        status = PLT_EBUSY;
        break;
    default:
        if (sys)
            snprintf(err, errlen, "SQLite database '%s' %s: %s (%s)", path,
                     what, msg, strerror(sys));
        else
            snprintf(err, errlen, "SQLite database '%s' %s: %s", path, what,
                     msg);
        /* A system error says more than "unable to open database file". */
        status = sys ? -sys : PLT_EDB;
        break;
    }
    return status;
}

/* Run a pragma and read its one-word answer (e.g. journal_mode). */
static int
pragma_text(sqlite3 *db, const char *sql, char *out, size_t outlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    out[0] = '\0';
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(out, outlen, "%s", t ? (const char *)t : "");
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

int
stq_conn_open(stq *s, stq_conn *c, bool writer, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    if (writer) {
        int r = mkdir_parents(s->path);
        if (r < 0) {
            snprintf(err, errlen,
                     "SQLite database '%s': cannot create its directory: %s",
                     s->path, strerror(-r));
            return r;
        }
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                (writer ? SQLITE_OPEN_CREATE : 0);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(s->path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        int st = open_failed(db, rc, s->path, "cannot be opened", err, errlen);
        sqlite3_close(db);
        return st;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(
        db, (int)(s->busy_ms > INT32_MAX ? INT32_MAX : s->busy_ms));
    char mode[32];
    if (writer) {
        /* The first statement reads the file header: a file that is not
         * a database is found here. WAL is persistent in the file, so
         * readers opened afterwards use it too. */
        rc = pragma_text(db, "PRAGMA journal_mode=WAL", mode, sizeof(mode));
        if (rc == SQLITE_OK && strcmp(mode, "wal") != 0) {
            snprintf(err, errlen,
                     "SQLite database '%s' cannot use write-ahead logging "
                     "(journal_mode is '%s'; is it on a network file "
                     "system?)",
                     s->path, mode);
            sqlite3_close(db);
            return PLT_EDB;
        }
        if (rc == SQLITE_OK)
            rc =
                sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
        /* Checkpoints happen here, on the writer thread, never on the
         * loop: automatic ones after commits, PASSIVE ones when idle. */
        if (rc == SQLITE_OK)
            rc = sqlite3_wal_autocheckpoint(db, s->ckpt_pages);
    } else {
        rc = sqlite3_exec(db, "PRAGMA query_only=1", NULL, NULL, NULL);
        /* A reader never commits, but make it explicit: only the writer
         * checkpoints. */
        if (rc == SQLITE_OK)
            rc = sqlite3_wal_autocheckpoint(db, 0);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        /* A negative cache_size is KiB: the cache grows to this as pages
         * are touched, and is freed on close. */
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA cache_size=-%lld",
                 (long long)s->cache_mib * 1024);
        rc = sqlite3_exec(db, pragma, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK)
        rc = pragma_text(db, "SELECT count(*) FROM sqlite_schema", mode,
                         sizeof(mode));
    if (rc != SQLITE_OK) {
        int st = open_failed(db, rc, s->path, "cannot be used", err, errlen);
        sqlite3_close(db);
        return st;
    }
    c->db = db;
    return 0;
}

void
stq_conn_close(stq_conn *c)
{
    for (size_t i = 0; i < STQ_CACHE_SIZE; i++) {
        if (c->cache[i].st)
            sqlite3_finalize(c->cache[i].st);
        free(c->cache[i].sql);
        c->cache[i] = (stq_cached){0};
    }
    if (c->db) {
        /* The last connection to close checkpoints the WAL and removes
         * it; close_v2 defers if a statement were still alive. */
        sqlite3_close_v2(c->db);
        c->db = NULL;
    }
}

/* ------------------------------------------------------------------ */
/* Statement cache */

static stq_cached *
cache_find(stq_conn *c, const char *sql, uint64_t h)
{
    for (size_t i = 0; i < STQ_CACHE_SIZE; i++) {
        stq_cached *e = &c->cache[i];
        if (e->st && e->hash == h && strcmp(e->sql, sql) == 0)
            return e;
    }
    return NULL;
}

static void
cache_put(stq_conn *c, const char *sql, uint64_t h, sqlite3_stmt *st,
          bool qmarks)
{
    char *copy = strdup(sql);
    if (!copy)
        return; /* not cached: the caller finalises it after use */
    stq_cached *victim = &c->cache[0];
    for (size_t i = 0; i < STQ_CACHE_SIZE; i++) {
        stq_cached *e = &c->cache[i];
        if (!e->st) {
            victim = e;
            break;
        }
        if (e->used < victim->used)
            victim = e;
    }
    if (victim->st)
        sqlite3_finalize(victim->st);
    free(victim->sql);
    *victim = (stq_cached){
        .sql = copy, .hash = h, .st = st, .used = ++c->tick, .qmarks = qmarks};
}

static bool
is_cached(stq_conn *c, sqlite3_stmt *st)
{
    for (size_t i = 0; i < STQ_CACHE_SIZE; i++)
        if (c->cache[i].st == st)
            return true;
    return false;
}

int
stq_stmt_get(stq_conn *c, stq_job *j, bool reader, sqlite3_stmt **out)
{
    *out = NULL;
    j->qmarks = false;
    uint64_t h = stc_sql_hash(j->sql);
    stq_cached *e = cache_find(c, j->sql, h);
    if (e) {
        e->used = ++c->tick;
        j->qmarks = e->qmarks;
        *out = e->st;
        return 0;
    }
    /* Prepare the ?N spelling when it is exact: the cache stays keyed by
     * the consumer's text. */
    char *q = stq_sql_qmarks(j->sql,
                             sqlite3_limit(c->db, SQLITE_LIMIT_VARIABLE_NUMBER,
                                           -1));
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int rc = sqlite3_prepare_v3(c->db, q ? q : j->sql, -1,
                                SQLITE_PREPARE_PERSISTENT, &st, &tail);
    bool blank_tail = stc_sql_is_blank(tail);
    char tail_msg[48];
    if (!blank_tail)
        snprintf(tail_msg, sizeof(tail_msg), "%.40s", tail);
    free(q); /* SQLite keeps its own copy of the text */
    if (rc != SQLITE_OK)
        return stq_job_sqlite_error(j, c->db, rc, NULL);
    if (!st) {
        stq_job_fail(j, PLT_EINVAL, "empty statement");
        return PLT_EINVAL;
    }
    if (!blank_tail) {
        sqlite3_finalize(st);
        stq_job_fail(j, PLT_EINVAL,
                     "one statement per call: text follows the first "
                     "statement (\"%s\")",
                     tail_msg);
        return PLT_EINVAL;
    }
    if (reader && !sqlite3_stmt_readonly(st)) {
        /* A write on the read path: the writer runs it; nothing cached
         * on a connection that must never write. */
        sqlite3_finalize(st);
        return 1;
    }
    j->qmarks = q != NULL;
    cache_put(c, j->sql, h, st, j->qmarks);
    *out = st;
    return 0;
}

/* Called after a statement's last step: ready for its next use, or gone
 * if the cache could not keep it. */
static void
stmt_release(stq_conn *c, sqlite3_stmt *st)
{
    if (!st)
        return;
    if (is_cached(c, st)) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    } else {
        sqlite3_finalize(st);
    }
}

int
stq_exec(stq_conn *c, const char *sql)
{
    /* BEGIN, SAVEPOINT, RELEASE and COMMIT run around every write: keep
     * them prepared like any other statement. */
    uint64_t h = stc_sql_hash(sql);
    stq_cached *e = cache_find(c, sql, h);
    sqlite3_stmt *st;
    if (e) {
        e->used = ++c->tick;
        st = e->st;
    } else {
        int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                    &st, NULL);
        if (rc != SQLITE_OK)
            return rc;
        cache_put(c, sql, h, st, false);
    }
    int r;
    do
        r = sqlite3_step(st);
    while (r == SQLITE_ROW);
    stmt_release(c, st);
    return r == SQLITE_DONE ? SQLITE_OK : r;
}

/* ------------------------------------------------------------------ */
/* Binding */

/* SQLite's identifier characters ('$' may continue a name: a$1 is one). */
static bool
id_char(unsigned char ch)
{
    return isalnum(ch) || ch == '_' || ch == '$' || ch >= 0x80;
}

/* Walks the text the way SQLite's tokenizer does (it is SQLite that will
 * read the result): '...' strings, "..." and `...` and [...] identifiers,
 * -- and non-nesting block comments are skipped; words run over SQLite's
 * identifier characters. A `$` that SQLite would read as anything but a
 * plain `$N` ($name, $$, $1abc, Tcl-style $1::x or $1(x)), and any `?`,
 * `:`, `@` or `#` outside literals, leave the text to the named path,
 * which validates it exactly as before. The text keeps its length. */
char *
stq_sql_qmarks(const char *sql, int max_var)
{
    size_t n = strlen(sql);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    memcpy(out, sql, n + 1);
    size_t i = 0;
    while (i < n) {
        unsigned char ch = (unsigned char)sql[i];
        if (ch == '\'' || ch == '"' || ch == '`') {
            i++;
            while (i < n && !(sql[i] == (char)ch && sql[i + 1] != (char)ch))
                i += sql[i] == (char)ch ? 2 : 1;
            i++;
        } else if (ch == '[') {
            while (i < n && sql[i] != ']')
                i++;
            i++;
        } else if (ch == '-' && sql[i + 1] == '-') {
            while (i < n && sql[i] != '\n')
                i++;
        } else if (ch == '/' && sql[i + 1] == '*') {
            const char *e = strstr(sql + i + 2, "*/");
            i = e ? (size_t)(e - sql) + 2 : n;
        } else if (ch == '?' || ch == ':' || ch == '@' || ch == '#') {
            goto named;
        } else if (ch == '$') {
            size_t k = i + 1;
            unsigned long v = 0;
            if (!isdigit((unsigned char)sql[k]))
                goto named;
            for (; isdigit((unsigned char)sql[k]); k++) {
                v = v * 10 + (unsigned long)(sql[k] - '0');
                if (v > (unsigned long)max_var)
                    goto named;
            }
            if (v == 0 || id_char((unsigned char)sql[k]) || sql[k] == '(' ||
                sql[k] == ':')
                goto named;
            out[i] = '?';
            i = k;
        } else if (id_char(ch)) {
            while (i < n && id_char((unsigned char)sql[i]))
                i++;
        } else {
            i++;
        }
    }
    return out;
named:
    free(out);
    return NULL;
}

/* "$12" -> 12; 0 when the name is not $ followed by digits only. */
static unsigned long
dollar_index(const char *name)
{
    if (!name || name[0] != '$' || !name[1])
        return 0;
    unsigned long v = 0;
    for (const char *p = name + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > STC_MAX_PARAMS)
            return 0;
    }
    return v;
}

static int
bind_one(sqlite3_stmt *st, int idx, const plt_value *v)
{
    switch (v->type) {
    case PLT_T_NULL:
        return sqlite3_bind_null(st, idx);
    case PLT_T_I64:
    case PLT_T_BOOL:
    case PLT_T_TIME:
        return sqlite3_bind_int64(st, idx, v->v.i);
    case PLT_T_DOUBLE:
        return sqlite3_bind_double(st, idx, v->v.d);
    case PLT_T_STR:
        /* The job owns its argument copy until done(): no copy. */
        return sqlite3_bind_text(st, idx, v->v.s, (int)v->len, SQLITE_STATIC);
    case PLT_T_BLOB:
        return v->len ? sqlite3_bind_blob(st, idx, v->v.b, (int)v->len,
                                          SQLITE_STATIC)
                      : sqlite3_bind_zeroblob(st, idx, 0);
    default:
        return SQLITE_MISMATCH;
    }
}

static int
wrong_count(stq_job *j, unsigned long max, size_t n)
{
    stq_job_fail(j, PLT_EINVAL,
                 "wrong parameter count: the statement uses $1..$%lu "
                 "but %zu argument(s) were given",
                 max, n);
    return PLT_EINVAL;
}

int
stq_bind(stq_conn *c, sqlite3_stmt *st, stq_job *j, const plt_value *args,
         size_t n)
{
    (void)c;
    int cnt = sqlite3_bind_parameter_count(st);
    if (j->qmarks) {
        /* Prepared from the ?N spelling: parameter $N is index N, and the
         * text held no other kind of parameter (stq_sql_qmarks()). */
        if ((size_t)cnt != n)
            return wrong_count(j, (unsigned long)cnt, n);
        for (size_t i = 0; i < n; i++) {
            int rc = bind_one(st, (int)i + 1, &args[i]);
            if (rc != SQLITE_OK) {
                stq_job_fail(j, stq_map_rc(rc, NULL), "cannot bind $%zu: %s",
                             i + 1, sqlite3_errstr(rc));
                return j->status;
            }
        }
        return 0;
    }
    /* Named parameters: each lookup below scans the statement's names, so
     * this path is O(n^2); only texts stq_sql_qmarks() could not convert
     * take it. */
    unsigned long max = 0;
    for (int k = 1; k <= cnt; k++) {
        const char *name = sqlite3_bind_parameter_name(st, k);
        unsigned long idx = dollar_index(name);
        if (idx == 0) {
            stq_job_fail(j, PLT_EINVAL,
                         "parameter '%s' is not of the form $N: write $1, "
                         "$2, ... (bound from the argument array)",
                         name ? name : "?");
            return PLT_EINVAL;
        }
        if (idx > max)
            max = idx;
    }
    if (max != n)
        return wrong_count(j, max, n);
    for (size_t i = 0; i < n; i++) {
        /* SQLite numbers named parameters by first appearance, so "$2 ..
         * $1" puts $2 at position 1: always look the name up. */
        char name[24];
        snprintf(name, sizeof(name), "$%zu", i + 1);
        int idx = sqlite3_bind_parameter_index(st, name);
        if (idx == 0)
            continue; /* $i is not used; a later one is */
        int rc = bind_one(st, idx, &args[i]);
        if (rc != SQLITE_OK) {
            stq_job_fail(j, stq_map_rc(rc, NULL), "cannot bind $%zu: %s", i + 1,
                         sqlite3_errstr(rc));
            return j->status;
        }
    }
    return 0;
}

void
stq_stmt_release(stq_conn *c, sqlite3_stmt *st)
{
    stmt_release(c, st);
}
