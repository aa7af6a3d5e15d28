/* SPDX-License-Identifier: MIT */
/*
 * Schema versions. Each consumer plugin owns its tables and declares
 * numbered migrations (vt->migrations() from its init()); the table
 * plt_schema records, per owner, the version the database is at.
 *
 * At start, on the writer thread (the loop waits: nothing is served yet),
 * the engine creates plt_schema if missing, refuses to go on if any owner
 * is at a version newer than the code knows (a downgrade would silently
 * corrupt data), then applies each owner's pending steps in declaration
 * order, ONE transaction per owner: an owner is either fully migrated or
 * untouched. Texts go through storage_common first (PLT_ID, PLT_BLOB,
 * PLT_JSON; FOR UPDATE dropped).
 *
 * `plateau check` runs stq_check() on the loop: it opens the database
 * read-only, if it exists, and says what start would do. `plateau db
 * status` lists what plt_schema holds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "storage_sqlite_int.h"

static const char schema_ddl[] =
    "CREATE TABLE IF NOT EXISTS plt_schema ("
    "owner TEXT PRIMARY KEY, version BIGINT NOT NULL, "
    "applied_at BIGINT NOT NULL)";

/* "3 (add dnc), 4 (index)": the steps after version @p from. */
static void
list_steps(char *buf, size_t len, const stc_owner *o, int64_t from)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t v = (size_t)from + 1; v <= o->n; v++) {
        const plt_storage_migration *m = &o->m[v - 1];
        int n = m->name ? snprintf(buf + off, len - off, "%s%zu (%s)",
                                   off ? ", " : "", v, m->name)
                        : snprintf(buf + off, len - off, "%s%zu",
                                   off ? ", " : "", v);
        if (n < 0 || (size_t)n >= len - off) {
            /* Truncated: end with an ellipsis rather than mid-word. */
            if (len > 4)
                memcpy(buf + len - 4, "...", 4);
            return;
        }
        off += (size_t)n;
    }
}

static int
read_version(sqlite3 *db, const char *owner, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    *out = 0;
    int rc = sqlite3_prepare_v2(
        db, "SELECT version FROM plt_schema WHERE owner = ?1", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

static void
too_new(char *err, size_t errlen, const stc_owner *o, int64_t v)
{
    snprintf(err, errlen,
             "database schema of '%s' is at version %" PRId64
             ", newer than this Plateau knows (%zu): upgrade Plateau or "
             "restore a matching backup",
             o->owner, v, o->n);
}

static void
add_note(stq *s, const char *text)
{
    char **v = realloc(s->start_notes, (s->nstart_notes + 1) * sizeof(*v));
    if (!v)
        return; /* a missing log line is not worth failing the start */
    s->start_notes = v;
    char *copy = strdup(text);
    if (copy)
        s->start_notes[s->nstart_notes++] = copy;
}

static int
db_fail(sqlite3 *db, int rc, const char *path, char *err, size_t errlen,
        const char *what)
{
    snprintf(err, errlen, "SQLite database '%s': %s: %s", path, what,
             sqlite3_errmsg(db));
    return stq_map_rc(rc, NULL);
}

/* Apply the pending steps of one owner in one transaction. */
static int
migrate_owner(stq *s, sqlite3 *db, const stc_owner *o, int64_t from, char *err,
              size_t errlen)
{
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(db, rc, s->path, err, errlen,
                       "cannot start the migration transaction");
    for (size_t v = (size_t)from + 1; v <= o->n; v++) {
        const plt_storage_migration *m = &o->m[v - 1];
        char *sql = NULL;
        int r = stc_sql_rewrite(stc_migration_text(m, STC_SQLITE), STC_SQLITE,
                                STC_RW_TYPES | STC_RW_LOCKING, &sql);
        if (r != 0) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            snprintf(err, errlen, "out of memory for migration %zu of '%s'", v,
                     o->owner);
            return r;
        }
        char *msg = NULL;
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
        free(sql);
        if (rc != SQLITE_OK) {
            snprintf(err, errlen,
                     "SQLite database '%s': migration %zu (%s) of '%s' "
                     "failed: %s",
                     s->path, v, m->name ? m->name : "unnamed", o->owner,
                     msg ? msg : sqlite3_errstr(rc));
            sqlite3_free(msg);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return stq_map_rc(rc, NULL);
        }
    }
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(db,
                            "INSERT INTO plt_schema (owner, version, "
                            "applied_at) VALUES (?1, ?2, ?3) "
                            "ON CONFLICT (owner) DO UPDATE SET "
                            "version = excluded.version, "
                            "applied_at = excluded.applied_at",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, o->owner, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)o->n);
        sqlite3_bind_int64(st, 3, s->start_now_ms);
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int st2 = db_fail(db, rc, s->path, err, errlen,
                          "cannot record the schema version");
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return st2;
    }
    char steps[512], note[700];
    list_steps(steps, sizeof(steps), o, from);
    snprintf(note, sizeof(note),
             "'%s' migrated from version %" PRId64 " to %zu: %s", o->owner,
             from, o->n, steps);
    add_note(s, note);
    return 0;
}

int
stq_migrate(stq *s, stq_conn *c, char *err, size_t errlen)
{
    sqlite3 *db = c->db;
    int rc = sqlite3_exec(db, schema_ddl, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(db, rc, s->path, err, errlen,
                       "cannot create plt_schema");
    size_t n = s->mig.n;
    int64_t *cur = calloc(n ? n : 1, sizeof(*cur));
    if (!cur) {
        snprintf(err, errlen, "out of memory");
        return PLT_ENOMEM;
    }
    /* Check every owner before changing anything: a refused start must
     * leave the database exactly as it was. */
    int ret = 0;
    for (size_t i = 0; i < n && ret == 0; i++) {
        const stc_owner *o = &s->mig.v[i];
        rc = read_version(db, o->owner, &cur[i]);
        if (rc != SQLITE_OK)
            ret =
                db_fail(db, rc, s->path, err, errlen, "cannot read plt_schema");
        else if (cur[i] > (int64_t)o->n) {
            too_new(err, errlen, o, cur[i]);
            ret = PLT_ESCHEMA;
        }
    }
    for (size_t i = 0; i < n && ret == 0; i++)
        if (cur[i] < (int64_t)s->mig.v[i].n)
            ret = migrate_owner(s, db, &s->mig.v[i], cur[i], err, errlen);
    free(cur);
    return ret;
}

/* ------------------------------------------------------------------ */
/* plateau check */

static bool
table_exists(sqlite3 *db, const char *name, int *rc)
{
    sqlite3_stmt *st = NULL;
    *rc = sqlite3_prepare_v2(db,
                             "SELECT 1 FROM sqlite_schema WHERE type = "
                             "'table' AND name = ?1",
                             -1, &st, NULL);
    if (*rc != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    bool found = r == SQLITE_ROW;
    *rc = (r == SQLITE_ROW || r == SQLITE_DONE) ? SQLITE_OK : r;
    sqlite3_finalize(st);
    return found;
}

static void
report_pending(const stc_owner *o, int64_t from)
{
    char steps[1024];
    if ((int64_t)o->n <= from) {
        plt_log(PLT_LOG_INFO, "'%s': schema up to date (version %zu)", o->owner,
                o->n);
        return;
    }
    list_steps(steps, sizeof(steps), o, from);
    plt_log(PLT_LOG_NOTICE, "'%s': %zu migration(s) pending: %s", o->owner,
            (size_t)((int64_t)o->n - from), steps);
}

static sqlite3 *
open_for_check(const char *path, int *rc)
{
    sqlite3 *db = NULL;
    *rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (*rc != SQLITE_OK) {
        /* A WAL database cannot always be read through a read-only open
         * (its -shm must exist); read-write without create, and
         * query_only, changes nothing either. */
        sqlite3_close(db);
        db = NULL;
        *rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
        if (*rc == SQLITE_OK)
            *rc = sqlite3_exec(db, "PRAGMA query_only=1", NULL, NULL, NULL);
    }
    return db;
}

int
stq_check(stq *s)
{
    struct stat sb;
    if (stat(s->path, &sb) != 0) {
        if (errno != ENOENT) {
            int e = errno;
            plt_log(PLT_LOG_ERROR, "SQLite database '%s': %s", s->path,
                    strerror(e));
            plt_set_error("SQLite database '%s': %s", s->path, strerror(e));
            return -e;
        }
        plt_log(PLT_LOG_NOTICE,
                "SQLite database '%s' does not exist yet: it will be "
                "created at start",
                s->path);
        for (size_t i = 0; i < s->mig.n; i++)
            report_pending(&s->mig.v[i], 0);
        return 0;
    }
    int rc;
    sqlite3 *db = open_for_check(s->path, &rc);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(
            db, (int)(s->busy_ms > INT32_MAX ? INT32_MAX : s->busy_ms));
        /* Reading the schema reads the header: a non-database fails
         * here. */
        bool has = table_exists(db, "plt_schema", &rc);
        int ret = 0;
        for (size_t i = 0; rc == SQLITE_OK && i < s->mig.n; i++) {
            const stc_owner *o = &s->mig.v[i];
            int64_t v = 0;
            if (has)
                rc = read_version(db, o->owner, &v);
            if (rc != SQLITE_OK)
                break;
            if (v > (int64_t)o->n) {
                char msg[512];
                too_new(msg, sizeof(msg), o, v);
                plt_log(PLT_LOG_ERROR, "%s", msg);
                plt_set_error("%s", msg);
                ret = PLT_ESCHEMA;
            } else {
                report_pending(o, v);
            }
        }
        if (rc == SQLITE_OK) {
            sqlite3_close(db);
            if (ret == 0)
                plt_log(PLT_LOG_INFO, "SQLite database '%s' is readable",
                        s->path);
            return ret;
        }
    }
    char err[768];
    int st;
    if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT) {
        snprintf(err, sizeof(err),
                 "SQLite database '%s' is not a usable SQLite database "
                 "(%s): restore a backup or set storage_sqlite.file to "
                 "another path",
                 s->path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        st = PLT_EDB;
    } else {
        snprintf(err, sizeof(err), "SQLite database '%s' cannot be read: %s",
                 s->path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        st = stq_map_rc(rc, NULL);
    }
    sqlite3_close(db);
    plt_log(PLT_LOG_ERROR, "%s", err);
    plt_set_error("%s", err);
    return st;
}

/* ------------------------------------------------------------------ */
/* plateau db status */

typedef struct status_ctx {
    stq *s;
    int64_t rows;
} status_ctx;

static int
status_row(void *arg, const plt_storage_row *row)
{
    status_ctx *x = arg;
    if (row->ncols < 3)
        return 1;
    const char *owner = row->vals[0].type == PLT_T_STR ? row->vals[0].v.s : "?";
    int64_t version = row->vals[1].v.i;
    time_t t = (time_t)(row->vals[2].v.i / 1000);
    struct tm tm;
    char when[32] = "?";
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    const stc_owner *o = stc_migreg_find(&x->s->mig, owner);
    if (o)
        printf("  %-20s version %-4" PRId64 " (code knows %zu)  applied %s\n",
               owner, version, o->n, when);
    else
        /* `plateau db` starts only the storage plugin, so other owners'
         * code versions are not known here; `plateau check` compares them. */
        printf("  %-20s version %-4" PRId64 "  applied %s\n", owner, version,
               when);
    x->rows++;
    return 0;
}

static void
status_done(void *arg, int status, const plt_storage_result *res)
{
    status_ctx *x = arg;
    if (status != 0) {
        fprintf(stderr, "cannot read plt_schema: %s\n",
                res && res->error ? res->error : plt_strerror(status));
        free(x);
        plt_command_done(1);
        return;
    }
    if (x->rows == 0)
        printf("  (no schema versions recorded yet)\n");
    free(x);
    plt_command_done(0);
}

int
stq_cmd_db(plt_plugin *self, int argc, char **argv)
{
    (void)self;
    if (argc != 1 || strcmp(argv[0], "status") != 0) {
        fprintf(stderr, "usage: plateau db status\n");
        return 2;
    }
    stq *s = stq_live;
    if (!s)
        return 1;
    status_ctx *x = calloc(1, sizeof(*x));
    if (!x)
        return 1;
    x->s = s;
    printf("SQLite %s database %s\n", sqlite3_libversion(), s->path);
    int rc = stq_vtable.vt.query(s, NULL,
                                 "SELECT owner, version, applied_at FROM "
                                 "plt_schema ORDER BY owner",
                                 NULL, 0, 0, status_row, status_done, x);
    if (rc != 0) {
        fprintf(stderr, "cannot read plt_schema: %s\n", plt_strerror(rc));
        free(x);
        return 1;
    }
    return PLT_EINPROGRESS;
}
