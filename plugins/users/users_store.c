/* SPDX-License-Identifier: MIT */
/*
 * What the users plugin keeps in the database, and how: the migrations of
 * its two tables, every SQL text it runs (portable: one text for SQLite
 * and PostgreSQL, $N parameters, times as BIGINT milliseconds from
 * plt_now()), the decoding of rows, and a small runner that executes a
 * few statements in one transaction.
 *
 * app_user holds the accounts; audit_log is append-only: the plugin only
 * ever INSERTs into it, and triggers make the database refuse UPDATE and
 * DELETE (and TRUNCATE on PostgreSQL) so that a bug or a hand-typed
 * statement cannot rewrite history either.
 *
 * The PostgreSQL refusal uses SQLSTATE 23001 (restrict_violation), a
 * constraint class like SQLite's RAISE(ABORT) in a trigger, so both engines
 * report PLT_ECONFLICT.
 *
 * Each migration is one statement: engines may prepare migration texts
 * one statement at a time, and a trigger body's inner ';' is part of its
 * CREATE TRIGGER statement, not a separator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "users_int.h"

/* ------------------------------------------------------------------ */
/* Migrations: never edit a shipped one; append a new version instead. */

/* Versions 3 and 4 make audit_log append-only. SQLite: a trigger refusing
 * UPDATE, then one refusing DELETE. PostgreSQL: the refusing function,
 * then one statement-level trigger for UPDATE, DELETE and TRUNCATE. */
const plt_storage_migration users_migrations[] = {
    {.version = 1,
     .name = "create app_user",
     .sql = "CREATE TABLE app_user ("
            " id PLT_ID,"
            " login TEXT UNIQUE NOT NULL,"
            " name TEXT NOT NULL,"
            " role BIGINT NOT NULL CHECK (role IN (1, 2, 3)),"
            " password_hash TEXT,"
            " disabled BIGINT NOT NULL DEFAULT 0,"
            " must_change_password BIGINT NOT NULL DEFAULT 0,"
            " failed_logins BIGINT NOT NULL DEFAULT 0,"
            " locked_until BIGINT NOT NULL DEFAULT 0,"
            " created_at BIGINT NOT NULL,"
            " password_changed_at BIGINT NOT NULL)"},
    {.version = 2,
     .name = "create audit_log",
     .sql = "CREATE TABLE audit_log ("
            " id PLT_ID,"
            " at BIGINT NOT NULL,"
            " actor TEXT NOT NULL,"
            " action TEXT NOT NULL,"
            " object TEXT,"
            " details TEXT,"
            " origin TEXT)"},
    {.version = 3,
     .name = "audit_log append-only (1/2)",
     .sqlite = "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
               " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
     .pg = "CREATE FUNCTION audit_log_refuse() RETURNS trigger"
           " LANGUAGE plpgsql AS $$ BEGIN"
           " RAISE EXCEPTION 'audit log is append-only'"
           " USING ERRCODE = 'restrict_violation';"
           " END $$"},
    {.version = 4,
     .name = "audit_log append-only (2/2)",
     .sqlite = "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
               " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
     .pg = "CREATE TRIGGER audit_log_append_only"
           " BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log"
           " FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse()"},
};
const size_t users_nmigrations =
    sizeof(users_migrations) / sizeof(users_migrations[0]);

/* ------------------------------------------------------------------ */
/* Statements */

const char users_sql_get[] =
    "SELECT " USERS_COLS " FROM app_user WHERE login = $1";

const char users_sql_list[] =
    "SELECT " USERS_COLS " FROM app_user ORDER BY login LIMIT $1 OFFSET $2";

/* ON CONFLICT DO NOTHING: a taken login is "0 rows", not an error the
 * engines would each word differently. */
const char users_sql_insert[] =
    "INSERT INTO app_user (login, name, role, password_hash, disabled,"
    " must_change_password, failed_logins, locked_until, created_at,"
    " password_changed_at)"
    " VALUES ($1, $2, $3, $4, 0, $5, 0, 0, $6, $6)"
    " ON CONFLICT (login) DO NOTHING";

const char users_sql_set_password[] =
    "UPDATE app_user SET password_hash = $2, must_change_password = $3,"
    " password_changed_at = $4, failed_logins = 0, locked_until = 0"
    " WHERE login = $1";

/* NULL parameters keep the current value. */
const char users_sql_update[] =
    "UPDATE app_user SET role = COALESCE($2, role),"
    " name = COALESCE($3, name), disabled = COALESCE($4, disabled)"
    " WHERE login = $1";

const char users_sql_unlock[] =
    "UPDATE app_user SET failed_logins = 0, locked_until = 0"
    " WHERE login = $1";

/*
 * A wrong password, in ONE statement so that concurrent failures cannot
 * both read the same count: the database increments and decides the lock
 * from the row it holds. Every right-hand side sees the row as it was, so
 * the new count is written out twice. A lock that has expired starts the
 * count afresh (the user gets `threshold` new attempts, not one).
 *   $1 id  $2 now  $3 threshold  $4 now + lockout duration
 */
const char users_sql_login_failed[] =
    "UPDATE app_user SET"
    " failed_logins = CASE WHEN locked_until > 0 AND locked_until <= $2"
    "  THEN 1 ELSE failed_logins + 1 END,"
    " locked_until = CASE"
    "  WHEN (CASE WHEN locked_until > 0 AND locked_until <= $2"
    "   THEN 1 ELSE failed_logins + 1 END) >= $3 THEN $4"
    "  WHEN locked_until <= $2 THEN 0"
    "  ELSE locked_until END"
    " WHERE id = $1 RETURNING " USERS_COLS;

/*
 * A right password resets the failures, unless the account was locked
 * meanwhile by concurrent failures (the caller then sees locked_until in
 * the future and refuses). $1 id  $2 now  [$3 new hash]
 */
#define LOGIN_OK_SET                                                           \
    " failed_logins = CASE WHEN locked_until > $2 THEN failed_logins"          \
    "  ELSE 0 END,"                                                            \
    " locked_until = CASE WHEN locked_until > $2 THEN locked_until"            \
    "  ELSE 0 END"
const char users_sql_login_ok[] =
    "UPDATE app_user SET" LOGIN_OK_SET " WHERE id = $1 RETURNING " USERS_COLS;
const char users_sql_login_ok_rehash[] =
    "UPDATE app_user SET" LOGIN_OK_SET ", password_hash = $3"
    " WHERE id = $1 RETURNING " USERS_COLS;

const char users_sql_audit_insert[] =
    "INSERT INTO audit_log (at, actor, action, object, details, origin)"
    " VALUES ($1, $2, $3, $4, $5, $6)";

const char users_sql_audit_list[] =
    "SELECT id, at, actor, action, object, details, origin FROM audit_log"
    " WHERE id < $1 ORDER BY id DESC LIMIT $2";

/* ------------------------------------------------------------------ */
/* Rows */

int64_t
users_col_i64(const plt_storage_row *row, size_t i)
{
    if (i >= row->ncols)
        return 0;
    const plt_value *v = &row->vals[i];
    switch (v->type) {
    case PLT_T_I64:
    case PLT_T_BOOL:
    case PLT_T_TIME:
        return v->v.i;
    case PLT_T_DOUBLE:
        return (int64_t)v->v.d;
    default:
        return 0;
    }
}

const char *
users_col_str(const plt_storage_row *row, size_t i)
{
    if (i >= row->ncols || row->vals[i].type != PLT_T_STR)
        return NULL;
    return row->vals[i].v.s;
}

int
users_row_decode(const plt_storage_row *row, users_row *out)
{
    memset(out, 0, sizeof(*out));
    if (row->ncols < 11)
        return PLT_EINVAL;
    const char *login = users_col_str(row, 1);
    const char *name = users_col_str(row, 2);
    const char *hash = users_col_str(row, 10);
    if (!login)
        return PLT_EINVAL;
    out->id = users_col_i64(row, 0);
    snprintf(out->login, sizeof(out->login), "%s", login);
    snprintf(out->name, sizeof(out->name), "%s", name ? name : login);
    out->role = (int32_t)users_col_i64(row, 3);
    out->disabled = users_col_i64(row, 4) != 0;
    out->must_change_password = users_col_i64(row, 5) != 0;
    out->failed_logins = (int32_t)users_col_i64(row, 6);
    out->locked_until = users_col_i64(row, 7);
    out->created_at = users_col_i64(row, 8);
    out->password_changed_at = users_col_i64(row, 9);
    /* A hash longer than crypto_pwhash_STRBYTES is not one libsodium made;
     * keep it empty so that verification fails instead of truncating. */
    if (hash && strlen(hash) < sizeof(out->hash))
        memcpy(out->hash, hash, strlen(hash) + 1);
    return 0;
}

void
users_row_to_user(const users_cfg *cfg, const users_row *r, int64_t now,
                  plt_user *out)
{
    memset(out, 0, sizeof(*out));
    out->size = sizeof(*out);
    out->id = r->id;
    out->login = r->login;
    out->name = r->name;
    out->role = r->role;
    out->disabled = r->disabled;
    out->must_change_password = r->must_change_password;
    out->failed_logins = r->failed_logins;
    out->locked_until = r->locked_until;
    out->created_at = r->created_at;
    out->password_changed_at = r->password_changed_at;
    out->password_expired =
        cfg->password_max_age_ms > 0 &&
        r->password_changed_at + cfg->password_max_age_ms <= now;
}

void
users_audit_stmt(users_stmt *s, int64_t at, const char *actor,
                 const char *action, const char *object, const char *details,
                 const char *origin)
{
    memset(s, 0, sizeof(*s));
    s->sql = users_sql_audit_insert;
    s->args[0] = PLT_V_I64(at);
    s->args[1] = PLT_V_STR(actor);
    s->args[2] = PLT_V_STR(action);
    s->args[3] = PLT_V_STR(object);
    s->args[4] = PLT_V_STR(details);
    s->args[5] = PLT_V_STR(origin);
    s->nargs = 6;
}

/* ------------------------------------------------------------------ */
/* Transactions: a change and its audit row commit together, or neither. */

typedef struct txn_run {
    users *u;
    const users_stmt *stmts;
    size_t n, i;
    plt_storage_txn *txn;
    int status;
    char msg[USERS_MSG_MAX];
    users_txn_fn done;
    void *arg;
} txn_run;

static void
txn_finish(txn_run *r, int status)
{
    r->done(r->arg, status, r->msg[0] ? r->msg : NULL);
    free(r);
}

static void
on_rolled_back(void *arg, int status, const plt_storage_result *res)
{
    (void)status;
    (void)res;
    txn_run *r = arg;
    txn_finish(r, r->status);
}

/* Roll back after statement failure @p status; report it once the engine
 * released the transaction. */
static void
txn_abort(txn_run *r, int status)
{
    r->status = status;
    int rc = r->u->st.vt->rollback(r->u->st.impl, r->txn, on_rolled_back, r);
    if (rc != 0)
        txn_finish(r, status);
}

static void
on_committed(void *arg, int status, const plt_storage_result *res)
{
    txn_run *r = arg;
    if (status != 0 && res && res->error)
        snprintf(r->msg, sizeof(r->msg), "%s", res->error);
    txn_finish(r, status);
}

static void txn_next(txn_run *r);

static void
on_stmt(void *arg, int status, const plt_storage_result *res)
{
    txn_run *r = arg;
    if (status != 0) {
        if (res && res->error)
            snprintf(r->msg, sizeof(r->msg), "%s", res->error);
        txn_abort(r, status);
        return;
    }
    const users_stmt *s = &r->stmts[r->i];
    if (s->none_status && res && res->rows_affected <= 0 && res->rows <= 0) {
        txn_abort(r, s->none_status);
        return;
    }
    r->i++;
    txn_next(r);
}

static void
txn_next(txn_run *r)
{
    const plt_storage_vt *vt = r->u->st.vt;
    int rc;
    if (r->i == r->n) {
        rc = vt->commit(r->u->st.impl, r->txn, on_committed, r);
        if (rc != 0)
            txn_abort(r, rc);
        return;
    }
    const users_stmt *s = &r->stmts[r->i];
    rc = vt->query(r->u->st.impl, r->txn, s->sql, s->args, s->nargs,
                   PLT_STORAGE_WRITE, NULL, on_stmt, r);
    if (rc != 0)
        txn_abort(r, rc);
}

static void
on_begun(void *arg, int status, plt_storage_txn *txn)
{
    txn_run *r = arg;
    if (status != 0) {
        txn_finish(r, status);
        return;
    }
    r->txn = txn;
    txn_next(r);
}

int
users_txn_run(users *u, const users_stmt *stmts, size_t n, users_txn_fn done,
              void *arg)
{
    txn_run *r = calloc(1, sizeof(*r));
    if (!r)
        return PLT_ENOMEM;
    r->u = u;
    r->stmts = stmts;
    r->n = n;
    r->done = done;
    r->arg = arg;
    int rc = u->st.vt->begin(u->st.impl, 0, on_begun, r);
    if (rc != 0)
        free(r);
    return rc;
}
