/* SPDX-License-Identifier: MIT */
/*
 * The contract suite's harness (see contract_harness.h): the case context
 * and its database (a fresh SQLite file in a temporary data directory, or
 * a fresh PostgreSQL database created on the server named by the libpq
 * environment, dropped after the case), the fake host with the engine
 * under test and the test consumer, and the helpers that issue a statement
 * or a transaction step and drive the loop until it completed.
 *
 * Waiting drives the loop directly: uv_run(UV_RUN_ONCE) until the
 * completion flag is set, with a 5 ms uv timer of our own so the real-time
 * guard is checked even when nothing else wakes the loop. The fake host's
 * run_until_idle() is not used for that: with the real clock it returns
 * as soon as no work is declared, and a statement waiting on a lock (a
 * second transaction behind a first) must be waited for without
 * deadlocking the test.
 */
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "contract_consumer.h"
#include "contract_harness.h"

#ifndef CONTRACT_CONSUMER_SO
#error "CONTRACT_CONSUMER_SO must name the test consumer plugin"
#endif

#ifdef __SANITIZE_ADDRESS__
/* ASan keeps freed blocks in a 256 MB quarantine by default, which would
 * count as resident memory in the streaming case and hide whether the
 * engine streams. A small quarantine still catches use-after-free of
 * recent blocks. $ASAN_OPTIONS overrides this. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
    return "quarantine_size_mb=8";
}
#endif

const char *g_engine;
bool g_pg;

/* ------------------------------------------------------------------ */
/* Small helpers */

/* snprintf() for messages that may be cut short (through a va_list, so
 * -Wformat-truncation does not insist on buffers for 4 kB paths). */
__attribute__((format(printf, 3, 4))) static void
msgf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

const char *
ct_err_name(int rc)
{
    switch (rc) {
    case 0:
        return "OK";
    case CT_NO_CALLBACK:
        return "NO-CALLBACK(guard expired)";
    case PLT_EINVAL:
        return "PLT_EINVAL";
    case PLT_ECONFLICT:
        return "PLT_ECONFLICT";
    case PLT_EAGAIN:
        return "PLT_EAGAIN";
    case PLT_EIO:
        return "PLT_EIO";
    case PLT_ETIMEDOUT:
        return "PLT_ETIMEDOUT";
    case PLT_ECANCELED:
        return "PLT_ECANCELED";
    case PLT_EDB:
        return "PLT_EDB";
    case PLT_ESCHEMA:
        return "PLT_ESCHEMA";
    case PLT_ESHUTDOWN:
        return "PLT_ESHUTDOWN";
    case PLT_ESTATE:
        return "PLT_ESTATE";
    case PLT_EEXIST:
        return "PLT_EEXIST";
    case PLT_ENOMEM:
        return "PLT_ENOMEM";
    case PLT_ENOENT:
        return "PLT_ENOENT";
    case PLT_ECONFIG:
        return "PLT_ECONFIG";
    case PLT_ENOSERVICE:
        return "PLT_ENOSERVICE";
    case PLT_ENOTSUP:
        return "PLT_ENOTSUP";
    default:
        return "other";
    }
}

uint64_t
ct_mono_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* A value of /proc/self/status in kB ("VmHWM", "VmRSS"), or -1. */
long
ct_proc_status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* Reset VmHWM to the current RSS (Linux >= 4.0); false if refused. */
bool
ct_reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

/* ------------------------------------------------------------------ */
/* PostgreSQL: a database per case */

/* Read KEY=VALUE lines (optionally "export KEY=VALUE", optionally
 * quoted) into the environment, without overriding what is set. */
static void
load_env_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        char *s = line;
        s[strcspn(s, "\r\n")] = 0;
        if (strncmp(s, "export ", 7) == 0)
            s += 7;
        char *eq = strchr(s, '=');
        if (!eq || *s == '#')
            continue;
        *eq = 0;
        char *v = eq + 1;
        size_t n = strlen(v);
        if (n >= 2 && (v[0] == '\'' || v[0] == '"') && v[n - 1] == v[0]) {
            v[n - 1] = 0;
            v++;
        }
        setenv(s, v, 0);
    }
    fclose(f);
}

static bool
pg_available(char *why, size_t n)
{
    if (!getenv("PGHOST") && !getenv("PGPORT")) {
        const char *bd = getenv("PLATEAU_BUILD_DIR");
        if (bd) {
            char p[PATH_MAX];
            snprintf(p, sizeof(p), "%s/tests/pg/conninfo.env", bd);
            load_env_file(p);
        }
    }
    if (!getenv("PGHOST") && !getenv("PGPORT")) {
        snprintf(why, n,
                 "no PostgreSQL server: PGHOST/PGPORT unset and "
                 "$PLATEAU_BUILD_DIR/tests/pg/conninfo.env missing (the "
                 "CTest fixture `pg` from tests/lib/pg.sh writes it)");
        return false;
    }
    return true;
}

/* Drops the tables of the test consumer (ct_*) and of the engine
 * (plt_*, e.g. plt_schema) from the current schema. */
#define PG_CLEANUP                                                             \
    "DO $$DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables "     \
    "WHERE schemaname = current_schema() AND (tablename LIKE 'ct\\_%' OR "     \
    "tablename LIKE 'plt\\_%') LOOP EXECUTE 'DROP TABLE IF EXISTS ' || "       \
    "quote_ident(t) || ' CASCADE'; END LOOP; END$$"

/* Run one utility statement on the admin connection (env defaults). */
static int
pg_admin(const char *sql, char *err, size_t n)
{
    PGconn *pc = PQconnectdb("connect_timeout=10");
    if (PQstatus(pc) != CONNECTION_OK) {
        snprintf(err, n, "connect: %s", PQerrorMessage(pc));
        PQfinish(pc);
        return -1;
    }
    PGresult *r = PQexec(pc, sql);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK &&
        PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, n, "%s: %s", sql, PQerrorMessage(pc));
        rc = -1;
    }
    PQclear(r);
    PQfinish(pc);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The case context: a fake host with the engine and the consumer */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int
ct_setup(void **state)
{
    static unsigned seq;
    ct *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    *state = c;
    const char *tmp = getenv("TMPDIR");
    snprintf(c->dir, sizeof(c->dir), "%s/plt-contract-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(c->dir))
        return -1;
    if (!g_pg)
        return 0;
    if (!pg_available(c->skip_why, sizeof(c->skip_why)))
        return 0;
    snprintf(c->db, sizeof(c->db), "plt_contract_%ld_%u", (long)getpid(),
             ++seq);
    char sql[256], err[1024];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", c->db);
    if (pg_admin(sql, err, sizeof(err)) == 0) {
        c->db_created = true;
        return 0;
    }
    /* No CREATEDB right (tests/lib/pg.sh's role has none): share the
     * configured database, without what an earlier case left there. */
    static bool said;
    if (!said)
        fprintf(stderr,
                "# cannot create a database per case (%s); using "
                "$PGDATABASE, dropping its ct_* and plt_* tables "
                "before each case\n",
                err);
    said = true;
    const char *d = getenv("PGDATABASE");
    snprintf(c->db, sizeof(c->db), "%s", d ? d : (getenv("PGUSER") ?: ""));
    if (pg_admin(PG_CLEANUP, err, sizeof(err)) != 0)
        msgf(c->setup_err, sizeof(c->setup_err), "%s", err);
    return 0;
}

int
ct_close(ct *c)
{
    if (!c->fh)
        return 0;
    if (c->guard_on) {
        uv_close((uv_handle_t *)&c->guard, NULL);
        c->guard_on = false;
    }
    int rc = plt_fake_host_free(c->fh);
    c->fh = NULL;
    memset(&c->st, 0, sizeof(c->st));
    return rc;
}

int
ct_teardown(void **state)
{
    ct *c = *state;
    if (!c)
        return 0;
    ct_close(c);
    if (c->db_created) {
        char sql[256], err[1024];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
                 c->db);
        if (pg_admin(sql, err, sizeof(err)) != 0)
            fprintf(stderr, "# %s\n", err);
    } else if (g_pg && c->db[0]) {
        char err[1024];
        pg_admin(PG_CLEANUP, err, sizeof(err));
    }
    if (c->dir[0])
        nftw(c->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(c);
    return 0;
}

void
ct_require(ct *c)
{
    if (!c->skip_why[0]) {
        const char *dir = getenv("PLATEAU_PLUGIN_DIR");
        char so[PATH_MAX];
        snprintf(so, sizeof(so), "%s/storage_%s.so", dir ? dir : ".", g_engine);
        if (access(so, R_OK) != 0)
            msgf(c->skip_why, sizeof(c->skip_why),
                 "%s is not built (set PLATEAU_PLUGIN_DIR)", so);
    }
    /* A server that is configured but unusable is a failure. */
    if (c->setup_err[0])
        fail_msg("cannot prepare the PostgreSQL database: %s", c->setup_err);
    if (c->skip_why[0]) {
        printf("# skipped: %s\n", c->skip_why);
        skip();
    }
}

/* Append a YAML double-quoted scalar. */
static void
yaml_kv(char *buf, size_t n, const char *key, const char *val)
{
    size_t l = strlen(buf);
    l += (size_t)snprintf(buf + l, n - l, "%s: \"", key);
    for (const char *p = val; *p && l + 3 < n; p++) {
        if (*p == '"' || *p == '\\')
            buf[l++] = '\\';
        buf[l++] = *p;
    }
    snprintf(buf + l, n - l, "\"\n");
}

static void
storage_config(ct *c, const ct_opts *o, char *buf, size_t n)
{
    buf[0] = 0;
    if (g_pg) {
        const char *v;
        if ((v = getenv("PGHOST")) && *v)
            yaml_kv(buf, n, "host", v);
        if ((v = getenv("PGPORT")) && *v) {
            size_t l = strlen(buf);
            snprintf(buf + l, n - l, "port: %s\n", v);
        }
        if ((v = getenv("PGUSER")) && *v)
            yaml_kv(buf, n, "user", v);
        if ((v = getenv("PGPASSWORD")) && *v)
            yaml_kv(buf, n, "password", v);
        yaml_kv(buf, n, "dbname", c->db);
    } else {
        char file[PATH_MAX + 16];
        snprintf(file, sizeof(file), "%s/contract.db", c->dir);
        yaml_kv(buf, n, "file", file);
    }
    size_t l = strlen(buf);
    snprintf(buf + l, n - l, "txn_timeout: %s\n",
             o && o->txn_timeout ? o->txn_timeout : "10s");
}

static void
guard_tick(uv_timer_t *t)
{
    (void)t; /* only wakes uv_run(UV_RUN_ONCE) so guards are checked */
}

/*
 * Open a fake host with the engine (and the consumer), init, optionally
 * call o->before_start, start, and acquire "storage". Returns the first
 * failing step's code; the fake host then stays open (ct_close frees it)
 * and c->open_err says why.
 */
int
ct_open(ct *c, const ct_opts *o)
{
    static const ct_opts defaults = {0};
    if (!o)
        o = &defaults;
    assert_null(c->fh);
    c->open_err[0] = 0;
    plt_fake_options fo = {.real_clock = !o->sim, .data_dir = c->dir};
    int rc = plt_fake_host_new(&c->fh, &fo);
    if (rc != 0) {
        msgf(c->open_err, sizeof(c->open_err), "plt_fake_host_new: %s",
             ct_err_name(rc));
        c->fh = NULL;
        return rc;
    }
    uv_timer_init(plt_fake_host_loop(c->fh), &c->guard);
    c->guard_on = true;

    const char *dir = getenv("PLATEAU_PLUGIN_DIR");
    char so[PATH_MAX], cfg[4096];
    snprintf(so, sizeof(so), "%s/storage_%s.so", dir ? dir : ".", g_engine);
    storage_config(c, o, cfg, sizeof(cfg));
    rc = plt_fake_host_add_so(c->fh, so, cfg, NULL);
    if (rc != 0) {
        msgf(c->open_err, sizeof(c->open_err), "add %s: %s: %s", so,
             ct_err_name(rc), plt_fake_host_last_error(c->fh));
        return rc;
    }
    if (o->migrations >= 0) {
        char ccfg[64];
        snprintf(ccfg, sizeof(ccfg), "migrations: %d\n",
                 o->migrations ? o->migrations : CC_MIGRATIONS_V1);
        rc = plt_fake_host_add_so(c->fh, CONTRACT_CONSUMER_SO, ccfg, NULL);
        if (rc != 0) {
            msgf(c->open_err, sizeof(c->open_err), "add consumer: %s: %s",
                 ct_err_name(rc), plt_fake_host_last_error(c->fh));
            return rc;
        }
    }
    rc = plt_fake_host_init(c->fh);
    if (rc != 0) {
        msgf(c->open_err, sizeof(c->open_err), "init: %s: %s", ct_err_name(rc),
             plt_fake_host_last_error(c->fh));
        return rc;
    }
    plt_service_ref ref;
    rc = plt_fake_host_acquire(c->fh, PLT_STORAGE_NAME, PLT_STORAGE_MAJOR,
                               PLT_STORAGE_MINOR, &ref);
    if (rc != 0) {
        msgf(c->open_err, sizeof(c->open_err), "acquire storage: %s",
             ct_err_name(rc));
        return rc;
    }
    c->st.vt = ref.vtable;
    c->st.impl = ref.impl;
    if (o->before_start)
        o->before_start(c, o->arg);
    rc = plt_fake_host_start(c->fh);
    if (rc != 0) {
        msgf(c->open_err, sizeof(c->open_err), "start: %s: %s", ct_err_name(rc),
             plt_fake_host_last_error(c->fh));
        return rc;
    }
    return 0;
}

/* ct_open() that must succeed. */
void
ct_open_ok(ct *c, const ct_opts *o)
{
    int rc = ct_open(c, o);
    if (rc != 0)
        fail_msg("cannot start the %s engine: %s", g_engine, c->open_err);
}

/* Drive the loop until pred(arg), or @p ms real milliseconds passed. */
bool
ct_wait_pred(ct *c, bool (*pred)(void *), void *arg, uint64_t ms)
{
    uv_loop_t *loop = plt_fake_host_loop(c->fh);
    uint64_t end = ct_mono_ms() + ms;
    if (pred(arg))
        return true;
    uv_timer_start(&c->guard, guard_tick, 5, 5);
    while (!pred(arg) && ct_mono_ms() < end)
        uv_run(loop, UV_RUN_ONCE);
    uv_timer_stop(&c->guard);
    return pred(arg);
}

static bool
flag_set(void *arg)
{
    return *(const bool *)arg;
}

bool
ct_wait(ct *c, const bool *flag, uint64_t ms)
{
    return ct_wait_pred(c, flag_set, (void *)flag, ms);
}

static bool
never(void *arg)
{
    (void)arg;
    return false;
}

/* Let @p ms real milliseconds pass with the loop running. */
void
ct_spin(ct *c, uint64_t ms)
{
    ct_wait_pred(c, never, NULL, ms);
}

/* ------------------------------------------------------------------ */
/* One statement, waited for */

static void
copy_value(plt_value *d, const plt_value *s)
{
    *d = *s;
    if (s->type == PLT_T_STR || s->type == PLT_T_BLOB) {
        char *p = malloc((size_t)s->len + 1);
        assert_non_null(p);
        if (s->len)
            memcpy(p, s->type == PLT_T_STR ? (const void *)s->v.s : s->v.b,
                   s->len);
        p[s->len] = 0;
        if (s->type == PLT_T_STR)
            d->v.s = p;
        else
            d->v.b = p;
    }
}

int
q_row(void *arg, const plt_storage_row *row)
{
    q *x = arg;
    if (x->done)
        x->late_rows++;
    x->seen++;
    if (!x->names && row->ncols) {
        x->names = calloc(row->ncols, sizeof(char *));
        if (x->names) {
            x->ncols = row->ncols;
            for (size_t i = 0; i < row->ncols; i++)
                x->names[i] =
                    strdup(row->names && row->names[i] ? row->names[i] : "");
        }
    }
    if (x->nr == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 16;
        qrow *r = realloc(x->r, cap * sizeof(*r));
        if (!r)
            return 1;
        x->r = r;
        x->cap = cap;
    }
    qrow *r = &x->r[x->nr++];
    r->n = row->ncols;
    r->v = calloc(row->ncols ? row->ncols : 1, sizeof(plt_value));
    for (size_t i = 0; r->v && i < row->ncols; i++)
        copy_value(&r->v[i], &row->vals[i]);
    if (x->stop_after && x->seen >= x->stop_after)
        return 1;
    return 0;
}

void
q_done(void *arg, int status, const plt_storage_result *res)
{
    q *x = arg;
    x->calls++;
    if (x->calls > 1)
        return;
    x->status = status;
    if (res) {
        x->affected = res->rows_affected;
        x->rows = res->rows;
        x->error = res->error ? strdup(res->error) : NULL;
        x->sqlstate = res->sqlstate ? strdup(res->sqlstate) : NULL;
    }
    x->done = true;
}

void
q_free(q *x)
{
    for (size_t i = 0; i < x->nr; i++) {
        for (size_t j = 0; j < x->r[i].n; j++)
            if (x->r[i].v[j].type == PLT_T_STR ||
                x->r[i].v[j].type == PLT_T_BLOB)
                free((void *)x->r[i].v[j].v.s);
        free(x->r[i].v);
    }
    free(x->r);
    for (size_t i = 0; i < x->ncols; i++)
        free(x->names[i]);
    free(x->names);
    free(x->error);
    free(x->sqlstate);
    memset(x, 0, sizeof(*x));
}

void
q_reset(q *x)
{
    int64_t stop = x->stop_after;
    q_free(x);
    x->stop_after = stop;
}

/* Run one statement and wait for it. Returns its status (the code query()
 * returned when it refused, or CT_NO_CALLBACK when done() never came). */
int
ct_await(ct *c, q *x, int rc, uint64_t ms)
{
    if (rc < 0) {
        x->sync = true;
        x->status = rc;
        return rc;
    }
    if (!ct_wait(c, &x->done, ms)) {
        fprintf(stderr, "# no completion within %" PRIu64 " ms\n", ms);
        x->status = CT_NO_CALLBACK;
    }
    return x->status;
}

int
ct_sql_guard(ct *c, plt_storage_txn *txn, q *x, const char *sql,
             const plt_value *args, size_t n, uint32_t flags, uint64_t ms)
{
    q_reset(x);
    int rc =
        c->st.vt->query(c->st.impl, txn, sql, args, n, flags, q_row, q_done, x);
    rc = ct_await(c, x, rc, ms);
    if (rc == CT_NO_CALLBACK)
        fprintf(stderr, "# the statement: %s\n", sql);
    return rc;
}

int
ct_sql(ct *c, plt_storage_txn *txn, q *x, const char *sql,
       const plt_value *args, size_t n, uint32_t flags)
{
    return ct_sql_guard(c, txn, x, sql, args, n, flags, CT_GUARD_MS);
}

/* A statement that must succeed; fails the case with the engine's words. */
void
ct_ok(ct *c, plt_storage_txn *txn, q *x, const char *sql, const plt_value *args,
      size_t n, uint32_t flags)
{
    int rc = ct_sql(c, txn, x, sql, args, n, flags);
    if (rc != 0)
        fail_msg("%s engine: `%s` -> %s (%d)%s: %s [sqlstate %s]", g_engine,
                 sql, ct_err_name(rc), rc, x->sync ? " from query()" : "",
                 x->error ? x->error : "(no message)",
                 x->sqlstate ? x->sqlstate : "-");
}

/* The integer in row @p r, column @p col; fails unless it is an I64. */
int64_t
q_i64(const q *x, size_t r, size_t col)
{
    if (r >= x->nr || col >= x->r[r].n)
        fail_msg("no row %zu column %zu (rows: %zu)", r, col, x->nr);
    const plt_value *v = &x->r[r].v[col];
    if (v->type != PLT_T_I64)
        fail_msg("row %zu column %zu: type %d, expected PLT_T_I64", r, col,
                 v->type);
    return v->v.i;
}

const char *
q_str(const q *x, size_t r, size_t col)
{
    if (r >= x->nr || col >= x->r[r].n)
        fail_msg("no row %zu column %zu (rows: %zu)", r, col, x->nr);
    const plt_value *v = &x->r[r].v[col];
    if (v->type != PLT_T_STR)
        fail_msg("row %zu column %zu: type %d, expected PLT_T_STR", r, col,
                 v->type);
    return v->v.s;
}

/* A single integer result (e.g. count(*)). */
int64_t
ct_i64(ct *c, plt_storage_txn *txn, const char *sql, const plt_value *args,
       size_t n)
{
    q x = {0};
    ct_ok(c, txn, &x, sql, args, n, 0);
    if (x.nr != 1)
        fail_msg("`%s`: %zu rows, expected 1", sql, x.nr);
    int64_t v = q_i64(&x, 0, 0);
    q_free(&x);
    return v;
}

/* ------------------------------------------------------------------ */
/* Transactions, waited for */

void
tq_begun(void *arg, int status, plt_storage_txn *txn)
{
    tq *t = arg;
    t->calls++;
    t->status = status;
    t->txn = txn;
    t->done = true;
}

int
ct_begin(ct *c, uint32_t flags, plt_storage_txn **out)
{
    tq t = {0};
    *out = NULL;
    int rc = c->st.vt->begin(c->st.impl, flags, tq_begun, &t);
    if (rc < 0)
        return rc;
    if (!ct_wait(c, &t.done, CT_GUARD_MS))
        return CT_NO_CALLBACK;
    if (t.status == 0 && !t.txn)
        fail_msg("begin() reported success without a transaction");
    *out = t.txn;
    return t.status;
}

plt_storage_txn *
ct_begin_ok(ct *c, uint32_t flags)
{
    plt_storage_txn *txn;
    int rc = ct_begin(c, flags, &txn);
    if (rc != 0)
        fail_msg("%s engine: begin -> %s (%d)", g_engine, ct_err_name(rc), rc);
    return txn;
}

/* commit (@p commit true) or rollback; returns the status. */
int
ct_end(ct *c, plt_storage_txn *txn, bool commit, q *x)
{
    q_reset(x);
    int rc = commit ? c->st.vt->commit(c->st.impl, txn, q_done, x)
                    : c->st.vt->rollback(c->st.impl, txn, q_done, x);
    return ct_await(c, x, rc, CT_GUARD_MS);
}

void
ct_end_ok(ct *c, plt_storage_txn *txn, bool commit)
{
    q x = {0};
    int rc = ct_end(c, txn, commit, &x);
    if (rc != 0)
        fail_msg("%s engine: %s -> %s (%d): %s", g_engine,
                 commit ? "commit" : "rollback", ct_err_name(rc), rc,
                 x.error ? x.error : "(no message)");
    q_free(&x);
}

void
ct_expect_type(const plt_value *v, int type, const char *what)
{
    if (v->type != type)
        fail_msg("%s: type %d, expected %d", what, v->type, type);
}

void
ct_noop_done(void *arg, int status, const plt_storage_result *res)
{
    (void)arg;
    (void)status;
    (void)res;
}
