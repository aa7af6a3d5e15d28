/* SPDX-License-Identifier: MIT */
/*
 * The storage contract suite: one binary that judges both storage engines
 * against sdk/include/plateau/svc/storage.h. The engine comes from argv[1]
 * or $PLATEAU_STORAGE_ENGINE ("sqlite" or "pg"); the suite loads
 * $PLATEAU_PLUGIN_DIR/storage_<engine>.so and the test consumer
 * contract_consumer.so (which declares the test tables' migrations in its
 * init(), as every domain plugin does) into the SDK's fake host, then
 * drives the storage service directly.
 *
 * Every case runs on a database of its own: a fresh file in a temporary
 * data directory (SQLite) or a fresh database created on the server named
 * by PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE (PostgreSQL; CTest's
 * wrapper sources tests/pg/conninfo.env; without it the PostgreSQL run
 * skips, saying why). Cases run on the real clock, because the engines do
 * real I/O and the waits under test are real (a second transaction
 * blocked behind a first); the two cases about time itself also run on
 * the simulated clock (ADR 0003): an idle transaction times out in
 * virtual time, and virtual time does not run ahead of a statement.
 *
 * Callbacks only record what they saw; every assertion is made on the
 * test's own stack, after the loop has been driven until the completion
 * arrived (with a real-time guard, so a lost callback fails the case
 * instead of hanging it). Every case ends with plt_fake_host_free() == 0:
 * the engine closed every uv handle it opened.
 *
 * This file holds the cases on statements, values, errors and
 * transactions, and main(); contract_concurrency.c, contract_schema.c and
 * contract_service.c hold the others, contract_harness.c the helpers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract_consumer.h"
#include "contract_harness.h"

/* ------------------------------------------------------------------ */
/* Cases */

static void
test_engine_identity(void **state)
{
    ct *c = *state;
    ct_require(c);
    ct_open_ok(c, NULL);
    const plt_storage_vt *vt = c->st.vt;
    assert_true(vt->size >= sizeof(plt_storage_vt));
    const char *name = vt->engine(c->st.impl);
    assert_non_null(name);
    assert_string_equal(name, g_pg ? "postgresql" : "sqlite");

    /* The consumer, which acquired storage through its `needs`, holds
     * the same provider. */
    plt_service_ref ref;
    assert_int_equal(plt_fake_host_acquire(c->fh, CC_SERVICE, 1, 0, &ref), 0);
    const cc_vt *cv = ref.vtable;
    const plt_storage *cs = cv->storage(ref.impl);
    assert_ptr_equal(cs->vt, c->st.vt);
    assert_ptr_equal(cs->impl, c->st.impl);

    assert_int_equal(ct_i64(c, NULL, "SELECT 1 + 1", NULL, 0), 2);
    assert_int_equal(ct_close(c), 0);
}

static const unsigned char blob1[] = {0x00, 0x01, 0x00, 0xff, 0x00,
                                      '\'', 0x00, '"',  0x5c, 0x00};
static const char str1[] = "h\xc3\xa9llo \xe2\x80\x98quoted\xe2\x80\x99 "
                           "'single' \"double\" \\back \xe6\x97\xa5\xe6\x9c"
                           "\xac \xf0\x9f\x98\x80";
static const char str3[] = "O'Reilly'); DROP TABLE ct_types; --";

static void
test_types_roundtrip(void **state)
{
    ct *c = *state;
    ct_require(c);
    ct_open_ok(c, NULL);
    q x = {0};
    unsigned char big[256];
    for (int i = 0; i < 256; i++)
        big[i] = (unsigned char)i;
    const int64_t t1 = INT64_C(1736154000123);
    const int64_t now = plt_fake_host_now(c->fh);
    static const char ins[] = "INSERT INTO ct_types (id, n, i, d, s, b, t, f) "
                              "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    plt_value r1[] = {PLT_V_I64(1),         PLT_V_NULL(),
                      PLT_V_I64(INT64_MIN), PLT_V_DOUBLE(3.141592653589793),
                      PLT_V_STR(str1),      PLT_V_BLOB(blob1, sizeof(blob1)),
                      PLT_V_TIME(t1),       PLT_V_BOOL(1)};
    ct_ok(c, NULL, &x, ins, r1, 8, PLT_STORAGE_WRITE);
    assert_int_equal(x.affected, 1);
    /* Empty text and empty bytes are values, not NULL. */
    plt_value r2[] = {PLT_V_I64(2),         PLT_V_NULL(),
                      PLT_V_I64(INT64_MAX), PLT_V_DOUBLE(-1.5e300),
                      PLT_V_STR(""),        PLT_V_BLOB(big, 0),
                      PLT_V_TIME(0),        PLT_V_BOOL(0)};
    ct_ok(c, NULL, &x, ins, r2, 8, 0); /* a write without the WRITE hint */
    plt_value r3[] = {PLT_V_I64(3),    PLT_V_I64(7),
                      PLT_V_I64(0),    PLT_V_DOUBLE(0.1),
                      PLT_V_STR(str3), PLT_V_BLOB(big, sizeof(big)),
                      PLT_V_TIME(now), PLT_V_BOOL(1)};
    ct_ok(c, NULL, &x, ins, r3, 8, PLT_STORAGE_WRITE);

    ct_ok(c, NULL, &x,
          "SELECT id, n, i, d, s, b, t, f FROM ct_types ORDER BY id", NULL, 0,
          0);
    assert_int_equal(x.nr, 3);
    assert_int_equal(x.rows, 3);
    assert_int_equal(x.ncols, 8);
    assert_string_equal(x.names[0], "id");
    assert_string_equal(x.names[4], "s");
    assert_string_equal(x.names[7], "f");
    const plt_value *v = x.r[0].v;
    assert_int_equal(q_i64(&x, 0, 0), 1);
    ct_expect_type(&v[1], PLT_T_NULL, "NULL");
    assert_true(q_i64(&x, 0, 2) == INT64_MIN);
    ct_expect_type(&v[3], PLT_T_DOUBLE, "DOUBLE");
    assert_true(v[3].v.d == 3.141592653589793);
    ct_expect_type(&v[4], PLT_T_STR, "STR");
    assert_int_equal(v[4].len, strlen(str1));
    assert_string_equal(v[4].v.s, str1);
    ct_expect_type(&v[5], PLT_T_BLOB, "BLOB");
    assert_int_equal(v[5].len, sizeof(blob1));
    assert_memory_equal(v[5].v.b, blob1, sizeof(blob1));
    /* A TIME parameter reads back as a BIGINT; a BOOL as BIGINT 0/1. */
    assert_true(q_i64(&x, 0, 6) == t1);
    assert_int_equal(q_i64(&x, 0, 7), 1);

    v = x.r[1].v;
    ct_expect_type(&v[1], PLT_T_NULL, "NULL");
    assert_true(q_i64(&x, 1, 2) == INT64_MAX);
    ct_expect_type(&v[3], PLT_T_DOUBLE, "DOUBLE");
    assert_true(v[3].v.d == -1.5e300);
    ct_expect_type(&v[4], PLT_T_STR, "empty STR");
    assert_int_equal(v[4].len, 0);
    assert_string_equal(v[4].v.s, "");
    ct_expect_type(&v[5], PLT_T_BLOB, "empty BLOB");
    assert_int_equal(v[5].len, 0);
    assert_int_equal(q_i64(&x, 1, 6), 0);
    assert_int_equal(q_i64(&x, 1, 7), 0);

    v = x.r[2].v;
    assert_int_equal(q_i64(&x, 2, 1), 7);
    assert_int_equal(q_i64(&x, 2, 2), 0);
    assert_true(v[3].v.d == 0.1);
    assert_string_equal(q_str(&x, 2, 4), str3);
    ct_expect_type(&v[5], PLT_T_BLOB, "BLOB");
    assert_int_equal(v[5].len, 256);
    assert_memory_equal(v[5].v.b, big, 256);
    assert_true(q_i64(&x, 2, 6) == now);

    /* Update and delete report what they touched. */
    plt_value up[] = {PLT_V_STR("changed"), PLT_V_DOUBLE(2.5), PLT_V_I64(1)};
    ct_ok(c, NULL, &x, "UPDATE ct_types SET s = $1, d = $2 WHERE id = $3", up,
          3, PLT_STORAGE_WRITE);
    assert_int_equal(x.affected, 1);
    plt_value id1[] = {PLT_V_I64(1)};
    ct_ok(c, NULL, &x, "SELECT s, d FROM ct_types WHERE id = $1", id1, 1, 0);
    assert_int_equal(x.nr, 1);
    assert_string_equal(q_str(&x, 0, 0), "changed");
    assert_true(x.r[0].v[1].type == PLT_T_DOUBLE && x.r[0].v[1].v.d == 2.5);
    ct_ok(c, NULL, &x, "UPDATE ct_types SET f = 0", NULL, 0, 0);
    assert_int_equal(x.affected, 3);
    plt_value id2[] = {PLT_V_I64(2)};
    ct_ok(c, NULL, &x, "DELETE FROM ct_types WHERE id = $1", id2, 1, 0);
    assert_int_equal(x.affected, 1);
    ct_ok(c, NULL, &x, "DELETE FROM ct_types WHERE id = $1", id2, 1, 0);
    assert_int_equal(x.affected, 0);
    assert_int_equal(ct_i64(c, NULL, "SELECT count(*) FROM ct_types", NULL, 0),
                     2);

    /* PLT_ID numbers rows; PLT_JSON is written and read as text. */
    plt_value doc[] = {PLT_V_STR("{\"a\": 1}")};
    ct_ok(c, NULL, &x, "INSERT INTO ct_doc (body) VALUES ($1) RETURNING id",
          doc, 1, 0);
    assert_int_equal(x.nr, 1);
    int64_t d1 = q_i64(&x, 0, 0);
    ct_ok(c, NULL, &x, "INSERT INTO ct_doc (body) VALUES ($1) RETURNING id",
          doc, 1, 0);
    assert_true(q_i64(&x, 0, 0) > d1);
    plt_value did[] = {PLT_V_I64(d1)};
    ct_ok(c, NULL, &x, "SELECT body FROM ct_doc WHERE id = $1", did, 1, 0);
    assert_string_equal(q_str(&x, 0, 0), "{\"a\": 1}");
    q_free(&x);
    assert_int_equal(ct_close(c), 0);
}

/* Parameters are typed: an integer parameter is an integer in SQL. */
static void
test_param_types(void **state)
{
    ct *c = *state;
    ct_require(c);
    ct_open_ok(c, NULL);
    q x = {0};
    plt_value a[] = {PLT_V_I64(INT64_C(5000000000)), PLT_V_STR("txt"),
                     PLT_V_DOUBLE(0.25)};
    ct_ok(c, NULL, &x, "SELECT $1 + 1, $2 || 'x', $3 * 2", a, 3, 0);
    assert_int_equal(x.nr, 1);
    assert_true(q_i64(&x, 0, 0) == INT64_C(5000000001));
    assert_string_equal(q_str(&x, 0, 1), "txtx");
    ct_expect_type(&x.r[0].v[2], PLT_T_DOUBLE, "$3 * 2");
    assert_true(x.r[0].v[2].v.d == 0.5);
    /* Integer columns compared with integer parameters. */
    plt_value kv[] = {PLT_V_STR("k"), PLT_V_I64(41)};
    ct_ok(c, NULL, &x, "INSERT INTO ct_kv (k, v) VALUES ($1, $2)", kv, 2, 0);
    plt_value inc[] = {PLT_V_I64(1), PLT_V_STR("k")};
    ct_ok(c, NULL, &x, "UPDATE ct_kv SET v = v + $1 WHERE k = $2", inc, 2, 0);
    assert_int_equal(x.affected, 1);
    plt_value lim[] = {PLT_V_I64(1), PLT_V_I64(0)};
    ct_ok(c, NULL, &x, "SELECT v FROM ct_kv ORDER BY k LIMIT $1 OFFSET $2", lim,
          2, 0);
    assert_int_equal(q_i64(&x, 0, 0), 42);
    q_free(&x);
    assert_int_equal(ct_close(c), 0);
}

static void
test_param_order(void **state)
{
    ct *c = *state;
    ct_require(c);
    ct_open_ok(c, NULL);
    q x = {0};
    /* $2 appears before $1. */
    plt_value a[] = {PLT_V_STR("b"), PLT_V_I64(42)};
    ct_ok(c, NULL, &x, "INSERT INTO ct_kv (v, k) VALUES ($2, $1)", a, 2, 0);
    ct_ok(c, NULL, &x, "SELECT k, v FROM ct_kv WHERE v = $2 AND k = $1", a, 2,
          0);
    assert_int_equal(x.nr, 1);
    assert_string_equal(q_str(&x, 0, 0), "b");
    assert_int_equal(q_i64(&x, 0, 1), 42);
    /* One parameter used twice. */
    ct_ok(c, NULL, &x,
          "SELECT count(*) FROM ct_kv WHERE (k = $1 AND v = $2) OR k = $1", a,
          2, 0);
    assert_int_equal(q_i64(&x, 0, 0), 1);
    /* $1 and $10 are different parameters. */
    plt_value ten[10];
    for (int i = 0; i < 10; i++)
        ten[i] = PLT_V_I64(i + 1);
    ct_ok(c, NULL, &x, "SELECT $10, $1, $2 + $9", ten, 10, 0);
    assert_int_equal(q_i64(&x, 0, 0), 10);
    assert_int_equal(q_i64(&x, 0, 1), 1);
    assert_int_equal(q_i64(&x, 0, 2), 11);
    /* A `$1` inside a string literal is text, not a parameter. */
    plt_value one[] = {PLT_V_I64(5)};
    ct_ok(c, NULL, &x, "SELECT '$1', $1", one, 1, 0);
    assert_string_equal(q_str(&x, 0, 0), "$1");
    assert_int_equal(q_i64(&x, 0, 1), 5);
    q_free(&x);
    assert_int_equal(ct_close(c), 0);
}

static void
expect_einval_msg(const q *x, const char *what)
{
    if (x->status != PLT_EINVAL)
        fail_msg("%s: %s (%d), expected PLT_EINVAL; message: %s", what,
                 ct_err_name(x->status), x->status,
                 x->error ? x->error : "(none)");
    if (x->sync)
        fail_msg("%s: query() refused it synchronously: no message reaches "
                 "the caller (expected done(PLT_EINVAL) with the reason)",
                 what);
    if (!x->error || !*x->error)
        fail_msg("%s: PLT_EINVAL without a message", what);
    printf("# %s: %s\n", what, x->error);
}

static bool g_cb_called;

static void
cb_flag_done(void *arg, int status, const plt_storage_result *res)
{
    (void)arg;
    (void)status;
    (void)res;
    g_cb_called = true;
}

static void
test_wrong_nargs(void **state)
{
    ct *c = *state;
    ct_require(c);
    ct_open_ok(c, NULL);
    q x = {0};
    static const char two[] = "SELECT k FROM ct_kv WHERE k = $1 AND v = $2";
    plt_value a[] = {PLT_V_STR("a"), PLT_V_I64(1), PLT_V_I64(2)};
    ct_sql(c, NULL, &x, two, a, 1, 0);
    expect_einval_msg(&x, "2 parameters, 1 argument");
    ct_sql(c, NULL, &x, two, a, 3, 0);
    expect_einval_msg(&x, "2 parameters, 3 arguments");
    ct_sql(c, NULL, &x, "SELECT 1", a, 1, 0);
    expect_einval_msg(&x, "no parameter, 1 argument");
    /* Refused at once, and no callback then (the libuv rule). */
    g_cb_called = false;
    assert_int_equal(c->st.vt->query(c->st.impl, NULL, NULL, NULL, 0, 0, NULL,
                                     cb_flag_done, NULL),
                     PLT_EINVAL);
    assert_int_equal(c->st.vt->query(c->st.impl, NULL, "SELECT 1", NULL, 0, 0,
                                     NULL, NULL, NULL),
                     PLT_EINVAL);
    ct_spin(c, 50);
    assert_false(g_cb_called);
    /* Still usable. */
    assert_int_equal(ct_i64(c, NULL, "SELECT 3", NULL, 0), 3);
    q_free(&x);
    assert_int_equal(ct_close(c), 0);
}

static void
test_sql_errors(void **state)
{
    ct *c = *state;
    ct_require(c);
    ct_open_ok(c, NULL);
    q x = {0};
    ct_sql(c, NULL, &x, "SELEC 1", NULL, 0, 0);
    expect_einval_msg(&x, "syntax error");
    assert_non_null(strstr(x.error, "syntax error"));
    if (g_pg)
        assert_string_equal(x.sqlstate ? x.sqlstate : "(null)", "42601");
    ct_sql(c, NULL, &x, "SELECT * FROM ct_no_such_table", NULL, 0, 0);
    expect_einval_msg(&x, "unknown table");
    ct_sql(c, NULL, &x, "SELECT no_such_column FROM ct_kv", NULL, 0, 0);
    expect_einval_msg(&x, "unknown column");
    ct_sql(c, NULL, &x, "INSERT INTO ct_kv (k, nope) VALUES ('a', 1)", NULL, 0,
           PLT_STORAGE_WRITE);
    expect_einval_msg(&x, "unknown column in a write");
    /* The engine is still usable, for reads and writes. */
    ct_ok(c, NULL, &x, "INSERT INTO ct_kv (k, v) VALUES ('ok', 1)", NULL, 0, 0);
    assert_int_equal(ct_i64(c, NULL, "SELECT count(*) FROM ct_kv", NULL, 0), 1);
    q_free(&x);
    assert_int_equal(ct_close(c), 0);
}

static void
test_constraints(void **state)
{
    ct *c = *state;
    ct_require(c);
    ct_open_ok(c, NULL);
    q x = {0};
    plt_value a[] = {PLT_V_STR("dup"), PLT_V_I64(1)};
    ct_ok(c, NULL, &x, "INSERT INTO ct_kv (k, v) VALUES ($1, $2)", a, 2, 0);
    int rc = ct_sql(c, NULL, &x, "INSERT INTO ct_kv (k, v) VALUES ($1, $2)", a,
                    2, PLT_STORAGE_WRITE);
    printf("# unique violation: %s sqlstate=%s: %s\n", ct_err_name(rc),
           x.sqlstate ? x.sqlstate : "(null)", x.error ? x.error : "");
    assert_int_equal(rc, PLT_ECONFLICT);
    assert_false(x.sync);
    assert_non_null(x.error);
    if (g_pg)
        assert_string_equal(x.sqlstate ? x.sqlstate : "(null)", "23505");
    /* NOT NULL is an integrity constraint too (SQLSTATE class 23). */
    plt_value nul[] = {PLT_V_STR("nul"), PLT_V_NULL()};
    rc = ct_sql(c, NULL, &x, "INSERT INTO ct_kv (k, v) VALUES ($1, $2)", nul, 2,
                0);
    printf("# not-null violation: %s sqlstate=%s: %s\n", ct_err_name(rc),
           x.sqlstate ? x.sqlstate : "(null)", x.error ? x.error : "");
    assert_int_equal(rc, PLT_ECONFLICT);
    if (g_pg)
        assert_string_equal(x.sqlstate ? x.sqlstate : "(null)", "23502");
    assert_int_equal(ct_i64(c, NULL, "SELECT count(*) FROM ct_kv", NULL, 0), 1);
    assert_int_equal(ct_i64(c, NULL, "SELECT v FROM ct_kv", NULL, 0), 1);
    q_free(&x);
    assert_int_equal(ct_close(c), 0);
}

static void
test_upsert_returning(void **state)
{
    ct *c = *state;
    ct_require(c);
    ct_open_ok(c, NULL);
    q x = {0};
    static const char up[] =
        "INSERT INTO ct_kv (k, v) VALUES ($1, $2) "
        "ON CONFLICT (k) DO UPDATE SET v = ct_kv.v + excluded.v "
        "RETURNING k, v";
    plt_value a[] = {PLT_V_STR("u"), PLT_V_I64(5)};
    ct_ok(c, NULL, &x, up, a, 2, 0);
    assert_int_equal(x.nr, 1);
    assert_string_equal(q_str(&x, 0, 0), "u");
    assert_int_equal(q_i64(&x, 0, 1), 5);
    assert_int_equal(x.affected, 1);
    plt_value b[] = {PLT_V_STR("u"), PLT_V_I64(7)};
    ct_ok(c, NULL, &x, up, b, 2, PLT_STORAGE_WRITE);
    assert_int_equal(x.nr, 1);
    assert_int_equal(q_i64(&x, 0, 1), 12);
    assert_int_equal(x.affected, 1);
    ct_ok(c, NULL, &x,
          "INSERT INTO ct_kv (k, v) VALUES ($1, $2) "
          "ON CONFLICT (k) DO NOTHING RETURNING v",
          a, 2, 0);
    assert_int_equal(x.nr, 0);
    assert_int_equal(x.affected, 0);
    assert_int_equal(
        ct_i64(c, NULL, "SELECT v FROM ct_kv WHERE k = 'u'", NULL, 0), 12);
    /* RETURNING from a multi-row UPDATE and a DELETE. */
    ct_ok(c, NULL, &x,
          "INSERT INTO ct_kv (k, v) VALUES ('a', 1), ('b', 2), ('c', 3)", NULL,
          0, 0);
    assert_int_equal(x.affected, 3);
    ct_ok(c, NULL, &x,
          "UPDATE ct_kv SET v = v * 10 WHERE k IN ('a', 'b', 'c') "
          "RETURNING v",
          NULL, 0, 0);
    assert_int_equal(x.affected, 3);
    assert_int_equal(x.nr, 3);
    int64_t sum = 0;
    for (size_t i = 0; i < x.nr; i++)
        sum += q_i64(&x, i, 0);
    assert_int_equal(sum, 60);
    ct_ok(c, NULL, &x, "DELETE FROM ct_kv WHERE v >= 20 RETURNING k", NULL, 0,
          0);
    assert_int_equal(x.nr, 2);
    assert_int_equal(x.affected, 2);
    q_free(&x);
    assert_int_equal(ct_close(c), 0);
}

/* query_rows() (storage 1.1), waited for like ct_sql(). */
static int
ct_rows(ct *c, plt_storage_txn *txn, q *x, const char *sql,
        const plt_value *args, size_t ncols, size_t nrows, uint32_t flags)
{
    q_reset(x);
    int rc = c->st.vt->query_rows(c->st.impl, txn, sql, args, ncols, nrows,
                                  flags, q_row, q_done, x);
    return ct_await(c, x, rc, CT_GUARD_MS);
}

enum { QR_ROWS = 1300 }; /* more than one multi-row INSERT on PostgreSQL */

static void
test_query_rows(void **state)
{
    ct *c = *state;
    ct_require(c);
    ct_open_ok(c, NULL);
    assert_true(plt_storage_has_rows(&c->st));
    q x = {0};
    char (*keys)[16] = calloc(QR_ROWS, sizeof(*keys));
    plt_value *a = calloc(QR_ROWS * 2, sizeof(*a));
    assert_non_null(keys);
    assert_non_null(a);
    for (size_t i = 0; i < QR_ROWS; i++) {
        snprintf(keys[i], sizeof(keys[i]), "r%04zu", i);
        a[2 * i] = PLT_V_STR(keys[i]);
        a[2 * i + 1] = PLT_V_I64((int64_t)i);
    }
    /* On its own, with RETURNING: every row, in row order. */
    static const char ins[] =
        "INSERT INTO ct_kv (k, v) VALUES ($1, $2 * 2) RETURNING k, v";
    assert_int_equal(ct_rows(c, NULL, &x, ins, a, 2, QR_ROWS, 0), 0);
    assert_int_equal(x.calls, 1);
    assert_int_equal(x.affected, QR_ROWS);
    assert_int_equal(x.nr, QR_ROWS);
    for (size_t i = 0; i < QR_ROWS; i += 97) {
        assert_string_equal(q_str(&x, i, 0), keys[i]);
        assert_int_equal(q_i64(&x, i, 1), 2 * (int64_t)i);
    }
    assert_string_equal(q_str(&x, QR_ROWS - 1, 0), keys[QR_ROWS - 1]);
    assert_int_equal(ct_i64(c, NULL, "SELECT count(*) FROM ct_kv", NULL, 0),
                     QR_ROWS);

    /* One failing row: none of the call's rows remain. */
    for (size_t i = 0; i < QR_ROWS; i++)
        snprintf(keys[i], sizeof(keys[i]), "s%04zu", i);
    a[2 * 1200] = PLT_V_STR("r0007"); /* already stored */
    assert_int_equal(ct_rows(c, NULL, &x, ins, a, 2, QR_ROWS, 0),
                     PLT_ECONFLICT);
    assert_int_equal(x.calls, 1);
    assert_int_equal(ct_i64(c, NULL, "SELECT count(*) FROM ct_kv", NULL, 0),
                     QR_ROWS);

    /* Any statement, once per row: an UPDATE, then reads, in row order. */
    plt_value up[] = {PLT_V_STR("r0003"), PLT_V_I64(100), PLT_V_STR("r0001"),
                      PLT_V_I64(200), PLT_V_STR("nope"), PLT_V_I64(1)};
    assert_int_equal(ct_rows(c, NULL, &x,
                             "UPDATE ct_kv SET v = v + $2 WHERE k = $1"
                             " RETURNING v",
                             up, 2, 3, 0),
                     0);
    assert_int_equal(x.affected, 2);
    assert_int_equal(x.nr, 2);
    assert_int_equal(q_i64(&x, 0, 0), 106);
    assert_int_equal(q_i64(&x, 1, 0), 202);
    plt_value ks[] = {PLT_V_STR("r0001"), PLT_V_STR("nope"),
                      PLT_V_STR("r0003"), PLT_V_STR("r0001")};
    assert_int_equal(ct_rows(c, NULL, &x, "SELECT k, v FROM ct_kv WHERE k = $1",
                             ks, 1, 4, 0),
                     0);
    assert_int_equal(x.nr, 3);
    assert_string_equal(q_str(&x, 0, 0), "r0001");
    assert_string_equal(q_str(&x, 1, 0), "r0003");
    assert_string_equal(q_str(&x, 2, 0), "r0001");
    assert_int_equal(q_i64(&x, 1, 1), 106);

    /* In a transaction: with the transaction's other statements. */
    plt_storage_txn *t = ct_begin_ok(c, 0);
    plt_value three[] = {PLT_V_STR("t1"), PLT_V_I64(1), PLT_V_STR("t2"),
                         PLT_V_I64(2), PLT_V_STR("t3"), PLT_V_I64(3)};
    assert_int_equal(
        ct_rows(c, t, &x, "INSERT INTO ct_kv (k, v) VALUES ($1, $2)", three,
                2, 3, PLT_STORAGE_WRITE),
        0);
    assert_int_equal(x.affected, 3);
    assert_int_equal(x.nr, 0);
    assert_int_equal(
        ct_i64(c, t, "SELECT count(*) FROM ct_kv WHERE k LIKE 't%'", NULL, 0),
        3);
    ct_end_ok(c, t, false);
    assert_int_equal(
        ct_i64(c, NULL, "SELECT count(*) FROM ct_kv WHERE k LIKE 't%'", NULL,
               0),
        0);
    /* A failure in a transaction ends it: nothing of it remains. */
    t = ct_begin_ok(c, 0);
    ct_ok(c, t, &x, "INSERT INTO ct_kv (k, v) VALUES ('t0', 0)", NULL, 0, 0);
    plt_value dup[] = {PLT_V_STR("t9"), PLT_V_I64(1), PLT_V_STR("r0002"),
                       PLT_V_I64(2)};
    assert_int_equal(ct_rows(c, t, &x,
                             "INSERT INTO ct_kv (k, v) VALUES ($1, $2)"
                             " RETURNING k",
                             dup, 2, 2, 0),
                     PLT_ECONFLICT);
    assert_int_not_equal(
        ct_sql(c, t, &x, "SELECT count(*) FROM ct_kv", NULL, 0, 0), 0);
    q end = {0};
    ct_end(c, t, false, &end);
    q_free(&end);
    assert_int_equal(
        ct_i64(c, NULL, "SELECT count(*) FROM ct_kv WHERE k LIKE 't%'", NULL,
               0),
        0);
    t = ct_begin_ok(c, 0);
    assert_int_equal(
        ct_rows(c, t, &x, "INSERT INTO ct_kv (k, v) VALUES ($1, $2)", three,
                2, 3, 0),
        0);
    ct_end_ok(c, t, true);
    assert_int_equal(
        ct_i64(c, NULL, "SELECT count(*) FROM ct_kv WHERE k LIKE 't%'", NULL,
               0),
        3);

    /* A plain INSERT of bare placeholders (PostgreSQL: one COPY): text
     * that COPY escapes comes back as it was; a failing row leaves
     * nothing. */
    plt_value odd[] = {PLT_V_STR("e\t\n\\N\r\\."), PLT_V_I64(-1),
                       PLT_V_STR("x2"), PLT_V_I64(5)};
    static const char plain[] = "INSERT INTO ct_kv (k, v) VALUES ($1, $2)";
    assert_int_equal(ct_rows(c, NULL, &x, plain, odd, 2, 2, 0), 0);
    assert_int_equal(x.affected, 2);
    plt_value ek = PLT_V_STR("e\t\n\\N\r\\.");
    assert_int_equal(ct_i64(c, NULL, "SELECT v FROM ct_kv WHERE k = $1", &ek, 1),
                     -1);
    plt_value again[] = {PLT_V_STR("x3"), PLT_V_I64(1), PLT_V_STR("x2"),
                         PLT_V_I64(2)};
    assert_int_equal(ct_rows(c, NULL, &x, plain, again, 2, 2, 0),
                     PLT_ECONFLICT);
    assert_int_equal(
        ct_i64(c, NULL, "SELECT count(*) FROM ct_kv WHERE k = 'x3'", NULL, 0),
        0);

    /* No rows: nothing runs. Mistakes: as query(). */
    assert_int_equal(ct_rows(c, NULL, &x, ins, NULL, 2, 0, 0), 0);
    assert_int_equal(x.calls, 1);
    assert_int_equal(x.nr, 0);
    assert_int_equal(x.affected, 0);
    assert_int_equal(ct_rows(c, NULL, &x, ins, a, 3, 2, 0), PLT_EINVAL);
    assert_false(x.sync); /* through done() */
    assert_int_equal(ct_rows(c, NULL, &x, ins, a, 0, 2, 0), PLT_EINVAL);
    assert_true(x.sync);
    assert_int_equal(ct_rows(c, NULL, &x, ins, NULL, 2, 2, 0), PLT_EINVAL);
    assert_true(x.sync);
    assert_int_equal(ct_i64(c, NULL, "SELECT count(*) FROM ct_kv", NULL, 0),
                     QR_ROWS + 5);
    free(keys);
    free(a);
    q_free(&x);
    assert_int_equal(ct_close(c), 0);
}

static void
test_txn_commit_rollback(void **state)
{
    ct *c = *state;
    ct_require(c);
    ct_open_ok(c, NULL);
    q x = {0};
    static const char cnt[] = "SELECT count(*) FROM ct_kv WHERE k = $1";
    plt_value ka[] = {PLT_V_STR("a")}, kb[] = {PLT_V_STR("b")};

    /* Commit: the transaction sees its own write, others see it only
     * once committed. */
    plt_storage_txn *t = ct_begin_ok(c, 0);
    ct_ok(c, t, &x, "INSERT INTO ct_kv (k, v) VALUES ('a', 1)", NULL, 0, 0);
    assert_int_equal(x.affected, 1);
    assert_int_equal(ct_i64(c, t, cnt, ka, 1), 1);
    int rc = ct_sql_guard(c, NULL, &x, cnt, ka, 1, 0, 5000);
    if (rc == CT_NO_CALLBACK)
        fail_msg("an autocommit read did not complete while a transaction "
                 "was open (it waits for the transaction)");
    assert_int_equal(rc, 0);
    assert_int_equal(q_i64(&x, 0, 0), 0);
    ct_end_ok(c, t, true);
    assert_int_equal(ct_i64(c, NULL, cnt, ka, 1), 1);

    /* Rollback: nothing remains. */
    t = ct_begin_ok(c, 0);
    ct_ok(c, t, &x, "INSERT INTO ct_kv (k, v) VALUES ('b', 2)", NULL, 0,
          PLT_STORAGE_WRITE);
    ct_ok(c, t, &x, "UPDATE ct_kv SET v = 100 WHERE k = 'a'", NULL, 0, 0);
    assert_int_equal(ct_i64(c, t, cnt, kb, 1), 1);
    ct_end_ok(c, t, false);
    assert_int_equal(ct_i64(c, NULL, cnt, kb, 1), 0);
    assert_int_equal(
        ct_i64(c, NULL, "SELECT v FROM ct_kv WHERE k = 'a'", NULL, 0), 1);

    /* Durable commits, in a transaction and alone. */
    t = ct_begin_ok(c, PLT_STORAGE_DURABLE);
    ct_ok(c, t, &x, "INSERT INTO ct_kv (k, v) VALUES ('d', 4)", NULL, 0, 0);
    ct_end_ok(c, t, true);
    ct_ok(c, NULL, &x, "INSERT INTO ct_kv (k, v) VALUES ('e', 5)", NULL, 0,
          PLT_STORAGE_DURABLE | PLT_STORAGE_WRITE);
    assert_int_equal(ct_i64(c, NULL, "SELECT count(*) FROM ct_kv", NULL, 0), 3);

    /* A failed statement does not end the transaction's handle: the
     * caller still rolls it back, and nothing of it remains. */
    t = ct_begin_ok(c, 0);
    ct_ok(c, t, &x, "INSERT INTO ct_kv (k, v) VALUES ('f', 6)", NULL, 0, 0);
    rc = ct_sql(c, t, &x, "INSERT INTO ct_kv (k, v) VALUES ('a', 1)", NULL, 0,
                0);
    assert_int_equal(rc, PLT_ECONFLICT);
    ct_end_ok(c, t, false);
    assert_int_equal(
        ct_i64(c, NULL, "SELECT count(*) FROM ct_kv WHERE k = 'f'", NULL, 0),
        0);
    q_free(&x);
    assert_int_equal(ct_close(c), 0);
}

/* Second transaction of test_txn_serialises. */
typedef struct t2 {
    ct *c;
    bool begun, updated, committed;
    int begin_status, upd_status, commit_status;
    int64_t v;
    plt_storage_txn *txn;
    bool t1_committed_before_update;
    bool t1_committed;
} t2;

static int
t2_row(void *arg, const plt_storage_row *row)
{
    t2 *s = arg;
    if (row->ncols == 1 && row->vals[0].type == PLT_T_I64)
        s->v = row->vals[0].v.i;
    return 0;
}

static void
t2_commit_done(void *arg, int status, const plt_storage_result *res)
{
    (void)res;
    t2 *s = arg;
    s->commit_status = status;
    s->committed = true;
}

static void
t2_upd_done(void *arg, int status, const plt_storage_result *res)
{
    (void)res;
    t2 *s = arg;
    s->upd_status = status;
    s->updated = true;
    s->t1_committed_before_update = s->t1_committed;
}

static void
t2_begun(void *arg, int status, plt_storage_txn *txn)
{
    t2 *s = arg;
    s->begin_status = status;
    s->begun = true;
    s->txn = txn;
    if (status != 0)
        return;
    int rc = s->c->st.vt->query(s->c->st.impl, txn,
                                "UPDATE ct_kv SET v = v * 10 WHERE k = 'c' "
                                "RETURNING v",
                                NULL, 0, 0, t2_row, t2_upd_done, s);
    if (rc < 0) {
        s->upd_status = rc;
        s->updated = true;
    }
}

static void
test_txn_serialises(void **state)
{
    ct *c = *state;
    ct_require(c);
    ct_open_ok(c, NULL);
    q x = {0};
    ct_ok(c, NULL, &x, "INSERT INTO ct_kv (k, v) VALUES ('c', 1)", NULL, 0, 0);
    plt_storage_txn *t1 = ct_begin_ok(c, 0);
    ct_ok(c, t1, &x, "UPDATE ct_kv SET v = v + 1 WHERE k = 'c'", NULL, 0, 0);
    assert_int_equal(x.affected, 1);

    t2 s = {.c = c};
    assert_int_equal(c->st.vt->begin(c->st.impl, 0, t2_begun, &s), 0);
    /* While T1 holds its write, T2's conflicting write must wait. */
    ct_spin(c, 400);
    assert_false(s.updated);
    printf("# T2 %s while T1 was open\n",
           s.begun ? "began and its UPDATE waited" : "waited in begin()");
    s.t1_committed = true; /* set before the commit is even sent */
    ct_end_ok(c, t1, true);
    assert_true(ct_wait(c, &s.updated, CT_GUARD_MS));
    assert_int_equal(s.begin_status, 0);
    assert_int_equal(s.upd_status, 0);
    assert_true(s.t1_committed_before_update);
    /* T2 worked on T1's committed value: (1 + 1) * 10. */
    assert_int_equal(s.v, 20);
    assert_int_equal(c->st.vt->commit(c->st.impl, s.txn, t2_commit_done, &s),
                     0);
    assert_true(ct_wait(c, &s.committed, CT_GUARD_MS));
    assert_int_equal(s.commit_status, 0);
    assert_int_equal(
        ct_i64(c, NULL, "SELECT v FROM ct_kv WHERE k = 'c'", NULL, 0), 20);
    q_free(&x);
    assert_int_equal(ct_close(c), 0);
}

/* After the idle timeout: the next statement and the commit fail with
 * PLT_ETIMEDOUT, the transaction's writes are gone, the engine works. */
static void
expect_timed_out(ct *c, plt_storage_txn *t)
{
    q x = {0};
    int rc = ct_sql(c, t, &x, "SELECT count(*) FROM ct_kv", NULL, 0, 0);
    printf("# statement in the timed-out transaction: %s%s %s\n",
           ct_err_name(rc), x.sync ? " (from query())" : "",
           x.error ? x.error : "");
    assert_int_equal(rc, PLT_ETIMEDOUT);
    rc = ct_end(c, t, true, &x);
    printf("# commit of the timed-out transaction: %s%s %s\n", ct_err_name(rc),
           x.sync ? " (from commit())" : "", x.error ? x.error : "");
    assert_int_equal(rc, PLT_ETIMEDOUT);
    assert_int_equal(ct_i64(c, NULL,
                            "SELECT count(*) FROM ct_kv WHERE k = "
                            "'idle'",
                            NULL, 0),
                     0);
    /* The engine (on SQLite: the writer) was released. */
    plt_storage_txn *t2x = ct_begin_ok(c, 0);
    ct_ok(c, t2x, &x, "INSERT INTO ct_kv (k, v) VALUES ('after', 1)", NULL, 0,
          0);
    ct_end_ok(c, t2x, true);
    assert_int_equal(ct_i64(c, NULL, "SELECT count(*) FROM ct_kv", NULL, 0), 1);
    q_free(&x);
}

static void
test_txn_timeout_real(void **state)
{
    ct *c = *state;
    ct_require(c);
    /* Real time on a shared machine: a loaded CPU can hold the loop back
     * for a few hundred ms, so the margins are wide (a 300 ms timeout
     * against 150 ms gaps failed under a load average of 9). */
    ct_opts o = {.txn_timeout = "1s"};
    ct_open_ok(c, &o);
    q x = {0};
    /* A transaction in use is not idle: statements 150 ms apart keep
     * it alive well past 1 s. */
    plt_storage_txn *t = ct_begin_ok(c, 0);
    for (int i = 0; i < 10; i++) {
        ct_spin(c, 150);
        ct_ok(c, t, &x, "SELECT count(*) FROM ct_kv", NULL, 0, 0);
    }
    ct_end_ok(c, t, true);

    t = ct_begin_ok(c, 0);
    ct_ok(c, t, &x, "INSERT INTO ct_kv (k, v) VALUES ('idle', 1)", NULL, 0, 0);
    ct_spin(c, 2500);
    expect_timed_out(c, t);
    q_free(&x);
    assert_int_equal(ct_close(c), 0);
}

static void
test_txn_timeout_simulated(void **state)
{
    ct *c = *state;
    ct_require(c);
    ct_opts o = {.sim = true, .txn_timeout = "300ms"};
    ct_open_ok(c, &o);
    q x = {0};
    plt_storage_txn *t = ct_begin_ok(c, 0);
    ct_ok(c, t, &x, "INSERT INTO ct_kv (k, v) VALUES ('idle', 1)", NULL, 0, 0);
    int64_t t0 = plt_fake_host_now(c->fh);
    /* One virtual second passes at once; the engine's timer must live on
     * the core clock (plt_timer_start), not on a raw uv timer. */
    assert_int_equal(plt_fake_host_run_for(c->fh, 1000), 0);
    assert_true(plt_fake_host_now(c->fh) - t0 >= 1000);
    expect_timed_out(c, t);
    q_free(&x);
    assert_int_equal(ct_close(c), 0);
}

/* In simulated time, virtual time waits for statements in flight
 * (ADR 0003): run_until_idle() returns with the result delivered. */
static void
test_sim_clock_waits_for_statements(void **state)
{
    ct *c = *state;
    ct_require(c);
    ct_opts o = {.sim = true};
    ct_open_ok(c, &o);
    q x = {0};
    int64_t t0 = plt_fake_host_now(c->fh);
    assert_int_equal(
        c->st.vt->query(c->st.impl, NULL,
                        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL "
                        "SELECT n + 1 FROM s WHERE n < 200000) "
                        "SELECT count(*) FROM s",
                        NULL, 0, 0, q_row, q_done, &x),
        0);
    assert_int_equal(plt_fake_host_run_until_idle(c->fh), 0);
    if (!x.done)
        fail_msg("plt_fake_host_run_until_idle() returned before the "
                 "statement completed: the engine does not declare its "
                 "work in flight (plt_work_begin/end), so simulated time "
                 "can run ahead of results");
    assert_int_equal(x.status, 0);
    assert_int_equal(q_i64(&x, 0, 0), 200000);
    assert_true(plt_fake_host_now(c->fh) == t0);
    /* A transaction's begin, statement and commit, the same way. */
    tq b = {0};
    assert_int_equal(c->st.vt->begin(c->st.impl, 0, tq_begun, &b), 0);
    assert_int_equal(plt_fake_host_run_until_idle(c->fh), 0);
    assert_true(b.done);
    assert_int_equal(b.status, 0);
    q_reset(&x);
    assert_int_equal(c->st.vt->query(c->st.impl, b.txn,
                                     "INSERT INTO ct_kv (k, v) VALUES "
                                     "('s', 1)",
                                     NULL, 0, 0, q_row, q_done, &x),
                     0);
    assert_int_equal(plt_fake_host_run_until_idle(c->fh), 0);
    assert_true(x.done);
    assert_int_equal(x.status, 0);
    q_reset(&x);
    assert_int_equal(c->st.vt->commit(c->st.impl, b.txn, q_done, &x), 0);
    assert_int_equal(plt_fake_host_run_until_idle(c->fh), 0);
    assert_true(x.done);
    assert_int_equal(x.status, 0);
    q_free(&x);
    assert_int_equal(ct_close(c), 0);
}

/* ------------------------------------------------------------------ */

int
main(int argc, char **argv)
{
    g_engine = argc > 1 ? argv[1] : getenv("PLATEAU_STORAGE_ENGINE");
    if (!g_engine)
        g_engine = "sqlite";
    if (strcmp(g_engine, "sqlite") != 0 && strcmp(g_engine, "pg") != 0) {
        fprintf(stderr, "usage: %s [sqlite|pg] [case-glob, e.g. 'test_txn*']\n",
                argv[0]);
        return 2;
    }
    g_pg = strcmp(g_engine, "pg") == 0;
    if (argc > 2)
        cmocka_set_test_filter(argv[2]);
    setvbuf(stdout, NULL, _IOLBF, 0);

#define CASE(f) cmocka_unit_test_setup_teardown(f, ct_setup, ct_teardown)
    const struct CMUnitTest tests[] = {
        CASE(test_engine_identity),
        CASE(test_types_roundtrip),
        CASE(test_param_types),
        CASE(test_param_order),
        CASE(test_wrong_nargs),
        CASE(test_sql_errors),
        CASE(test_constraints),
        CASE(test_upsert_returning),
        CASE(test_query_rows),
        CASE(test_txn_commit_rollback),
        CASE(test_txn_serialises),
        CASE(test_txn_timeout_real),
        CASE(test_txn_timeout_simulated),
        CASE(test_sim_clock_waits_for_statements),
        CASE(test_concurrent_counter),
        CASE(test_stream_million),
        CASE(test_row_callback_cancels),
        CASE(test_reservation_exactly_once),
        CASE(test_migrations_upgrade),
        CASE(test_migrations_schema_newer_row),
        CASE(test_migrations_declare_rules),
        CASE(test_migration_failure_is_atomic),
        CASE(test_listen_notify),
        CASE(test_status_counts),
        CASE(test_stop_completes_pending),
    };
    char group[64];
    snprintf(group, sizeof(group), "storage_contract_%s", g_engine);
    return _cmocka_run_group_tests(
        group, tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
}
