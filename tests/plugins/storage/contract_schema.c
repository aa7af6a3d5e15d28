/* SPDX-License-Identifier: MIT */
/*
 * Contract cases about migrations (part of test_contract, see
 * test_contract.c): a later release of a consumer upgrades the schema and
 * nothing is applied twice; a database newer than the code (by an older
 * release, or by a plt_schema row written directly) makes storage refuse
 * to start with PLT_ESCHEMA; the declaration rules of migrations(); and a
 * failing migration leaves nothing of its owner behind.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract_consumer.h"
#include "contract_harness.h"

/* --- migrations --- */

void
test_migrations_upgrade(void **state)
{
    ct *c = *state;
    ct_require(c);
    q x = {0};
    ct_open_ok(c, NULL); /* first release: 6 migrations */
    ct_ok(c, NULL, &x, "INSERT INTO ct_kv (k, v) VALUES ('old', 1)", NULL, 0,
          0);
    assert_int_equal(ct_sql(c, NULL, &x, "SELECT note FROM ct_kv", NULL, 0, 0),
                     PLT_EINVAL);
    assert_int_equal(
        ct_i64(c, NULL, "SELECT count(*) FROM ct_counter", NULL, 0), 1);
    /* Declaring after start is refused. */
    static const plt_storage_migration late[] = {
        {.version = 1,
         .name = "late",
         .sql = "CREATE TABLE ct_late (x BIGINT)"}};
    assert_int_equal(c->st.vt->migrations(c->st.impl, "ct_late", late, 1),
                     PLT_ESTATE);
    assert_int_equal(ct_close(c), 0);

    /* The second release adds a column and a per-engine index. */
    ct_opts v2 = {.migrations = CC_MIGRATIONS_MAX};
    ct_open_ok(c, &v2);
    ct_ok(c, NULL, &x, "INSERT INTO ct_kv (k, v, note) VALUES ('new', 2, 'n')",
          NULL, 0, 0);
    ct_ok(c, NULL, &x, "SELECT k, note FROM ct_kv ORDER BY k", NULL, 0, 0);
    assert_int_equal(x.nr, 2);
    assert_string_equal(q_str(&x, 0, 0), "new");
    assert_string_equal(q_str(&x, 1, 0), "old");
    assert_int_equal(x.r[1].v[1].type, PLT_T_NULL);
    /* The seed migration ran once. */
    assert_int_equal(
        ct_i64(c, NULL, "SELECT count(*) FROM ct_counter", NULL, 0), 1);
    assert_int_equal(ct_close(c), 0);

    /* Restarting the same release applies nothing again. */
    ct_open_ok(c, &v2);
    assert_int_equal(
        ct_i64(c, NULL, "SELECT count(*) FROM ct_counter", NULL, 0), 1);
    assert_int_equal(ct_i64(c, NULL, "SELECT count(*) FROM ct_kv", NULL, 0), 2);
    assert_int_equal(ct_close(c), 0);

    /* Going back to the first release: the database is newer. */
    int rc = ct_open(c, NULL);
    printf("# old code on a newer database: %s: %s\n", ct_err_name(rc),
           c->open_err);
    assert_int_equal(rc, PLT_ESCHEMA);
    assert_int_equal(ct_close(c), 0);
    q_free(&x);
}

/* Find the plt_schema columns holding the owner and its version. */
static void
schema_columns(const q *x, const char *owner, int64_t version, int *ocol,
               int *vcol, int *nrows_owner)
{
    *ocol = *vcol = -1;
    *nrows_owner = 0;
    for (size_t r = 0; r < x->nr && *ocol < 0; r++)
        for (size_t i = 0; i < x->r[r].n; i++)
            if (x->r[r].v[i].type == PLT_T_STR &&
                strcmp(x->r[r].v[i].v.s, owner) == 0) {
                *ocol = (int)i;
                break;
            }
    if (*ocol < 0)
        return;
    int64_t max[64] = {0};
    bool has[64] = {0};
    for (size_t r = 0; r < x->nr; r++) {
        if (strcmp(x->r[r].v[*ocol].v.s ? x->r[r].v[*ocol].v.s : "", owner))
            continue;
        (*nrows_owner)++;
        for (size_t i = 0; i < x->r[r].n && i < 64; i++)
            if (x->r[r].v[i].type == PLT_T_I64 &&
                (!has[i] || x->r[r].v[i].v.i > max[i])) {
                max[i] = x->r[r].v[i].v.i;
                has[i] = true;
            }
    }
    /* A column named like "version" first, else the one integer column
     * whose maximum for the owner is the version. */
    for (size_t i = 0; i < x->ncols && i < 64; i++)
        if (has[i] && strstr(x->names[i], "version") && max[i] == version) {
            *vcol = (int)i;
            return;
        }
    for (size_t i = 0; i < x->ncols && i < 64; i++)
        if (has[i] && max[i] == version && strcmp(x->names[i], "id") != 0) {
            *vcol = (int)i;
            return;
        }
}

static bool
ident_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

void
test_migrations_schema_newer_row(void **state)
{
    ct *c = *state;
    ct_require(c);
    q x = {0};
    ct_opts v2 = {.migrations = CC_MIGRATIONS_MAX};
    ct_open_ok(c, &v2);
    ct_ok(c, NULL, &x, "SELECT * FROM plt_schema", NULL, 0, 0);
    int ocol, vcol, nown;
    schema_columns(&x, "contract_consumer", CC_MIGRATIONS_MAX, &ocol, &vcol,
                   &nown);
    if (ocol < 0 || vcol < 0)
        fail_msg("plt_schema has no recognisable owner/version columns for "
                 "contract_consumer at version %d (%zu rows, %zu columns)",
                 CC_MIGRATIONS_MAX, x.nr, x.ncols);
    const char *on = x.names[ocol], *vn = x.names[vcol];
    assert_true(ident_ok(on) && ident_ok(vn));
    printf("# plt_schema(%s, %s): %d row(s) for the owner\n", on, vn, nown);
    char sql[1024];
    plt_value a[] = {PLT_V_I64(99), PLT_V_STR("contract_consumer")};
    if (nown == 1) {
        snprintf(sql, sizeof(sql),
                 "UPDATE plt_schema SET %s = $1 WHERE %s = $2", vn, on);
        ct_ok(c, NULL, &x, sql, a, 2, 0);
        assert_int_equal(x.affected, 1);
    } else {
        /* One row per applied migration: add the row of a future one,
         * copying the newest row's other columns. */
        size_t best = 0;
        for (size_t r = 0; r < x.nr; r++)
            if (x.r[r].v[ocol].type == PLT_T_STR &&
                strcmp(x.r[r].v[ocol].v.s, "contract_consumer") == 0 &&
                x.r[r].v[vcol].type == PLT_T_I64 &&
                x.r[r].v[vcol].v.i == CC_MIGRATIONS_MAX)
                best = r;
        char cols[512] = "", vals[256] = "";
        plt_value args[64];
        size_t n = 0;
        for (size_t i = 0; i < x.ncols && n < 64; i++) {
            if (strcmp(x.names[i], "id") == 0 || !ident_ok(x.names[i]))
                continue;
            args[n] = x.r[best].v[i];
            if ((int)i == vcol)
                args[n] = PLT_V_I64(99);
            n++;
            size_t l = strlen(cols);
            snprintf(cols + l, sizeof(cols) - l, "%s%s", n > 1 ? ", " : "",
                     x.names[i]);
            l = strlen(vals);
            snprintf(vals + l, sizeof(vals) - l, "%s$%zu", n > 1 ? ", " : "",
                     n);
        }
        snprintf(sql, sizeof(sql), "INSERT INTO plt_schema (%s) VALUES (%s)",
                 cols, vals);
        q y = {0};
        ct_ok(c, NULL, &y, sql, args, n, 0);
        q_free(&y);
    }
    assert_int_equal(ct_close(c), 0);

    int rc = ct_open(c, &v2);
    printf("# plt_schema says 99, code knows %d: %s: %s\n", CC_MIGRATIONS_MAX,
           ct_err_name(rc), c->open_err);
    assert_int_equal(rc, PLT_ESCHEMA);
    assert_int_equal(ct_close(c), 0);
    q_free(&x);
}

/* Declarations between the consumers' init() and storage's start(). */
static const plt_storage_migration extra_m[] = {
    {.version = 1,
     .name = "create ct_extra",
     .sql = "CREATE TABLE ct_extra (x BIGINT)"},
    /* Needs contract_consumer's tables: owners run in declared order. */
    {.version = 2,
     .name = "seed from extra",
     .sql = "INSERT INTO ct_kv (k, v) VALUES ('from_extra', 7)"},
};
static const plt_storage_migration gap_m[] = {
    {.version = 1, .name = "one", .sql = "SELECT 1"},
    {.version = 3, .name = "three", .sql = "SELECT 1"},
};
static const plt_storage_migration zero_m[] = {
    {.version = 0, .name = "zero", .sql = "SELECT 1"},
};

typedef struct api_rc {
    int dup, gap, zero, extra;
} api_rc;

static void
declare_more(ct *c, void *arg)
{
    api_rc *r = arg;
    r->dup = c->st.vt->migrations(c->st.impl, "contract_consumer", extra_m, 1);
    r->gap = c->st.vt->migrations(c->st.impl, "ct_gap", gap_m, 2);
    r->zero = c->st.vt->migrations(c->st.impl, "ct_zero", zero_m, 1);
    r->extra = c->st.vt->migrations(c->st.impl, "ct_extra", extra_m, 2);
}

void
test_migrations_declare_rules(void **state)
{
    ct *c = *state;
    ct_require(c);
    api_rc r = {1, 1, 1, 1};
    ct_opts o = {.before_start = declare_more, .arg = &r};
    ct_open_ok(c, &o);
    assert_int_equal(r.dup, PLT_EEXIST);
    assert_int_equal(r.gap, PLT_EINVAL);
    assert_int_equal(r.zero, PLT_EINVAL);
    assert_int_equal(r.extra, 0);
    assert_int_equal(ct_i64(c, NULL, "SELECT count(*) FROM ct_extra", NULL, 0),
                     0);
    assert_int_equal(
        ct_i64(c, NULL, "SELECT v FROM ct_kv WHERE k = 'from_extra'", NULL, 0),
        7);
    assert_int_equal(ct_close(c), 0);
}

static const plt_storage_migration broken_m[] = {
    {.version = 1,
     .name = "create ct_broken_a",
     .sql = "CREATE TABLE ct_broken_a (x BIGINT)"},
    {.version = 2, .name = "broken", .sql = "CREATE TABLEX oops (x BIGINT)"},
};

static void
declare_broken(ct *c, void *arg)
{
    int *rc = arg;
    *rc = c->st.vt->migrations(c->st.impl, "ct_broken", broken_m, 2);
}

void
test_migration_failure_is_atomic(void **state)
{
    ct *c = *state;
    ct_require(c);
    int drc = 1;
    ct_opts o = {.before_start = declare_broken, .arg = &drc};
    int rc = ct_open(c, &o);
    assert_int_equal(drc, 0);
    printf("# start with a broken migration: %s: %s\n", ct_err_name(rc),
           c->open_err);
    assert_true(rc < 0);
    assert_int_equal(ct_close(c), 0);
    /* The owner's migrations ran in one transaction: version 1's table
     * is gone with the failed version 2. */
    ct_open_ok(c, NULL);
    q x = {0};
    rc = ct_sql(c, NULL, &x, "SELECT count(*) FROM ct_broken_a", NULL, 0, 0);
    if (rc != PLT_EINVAL)
        fail_msg("ct_broken_a exists after its owner's migrations failed "
                 "(%s): they did not run in one transaction",
                 ct_err_name(rc));
    /* The consumer declared before it was applied and works. */
    assert_int_equal(
        ct_i64(c, NULL, "SELECT count(*) FROM ct_counter", NULL, 0), 1);
    q_free(&x);
    assert_int_equal(ct_close(c), 0);
}
