/* SPDX-License-Identifier: MIT */
/*
 * The machinery every leads operation runs on: a "job" chains statements
 * (optionally inside one transaction) as a small state machine, so that
 * each operation reads as a list of steps; growable SQL text and argument
 * arrays for multi-row statements (always with $N parameters, never data
 * in the text); a string arena for the inputs copied before a call
 * returns; the cache of list rules; and row decoding.
 *
 * A job reports exactly once: after its commit, or after the rollback of
 * its first failure. The first error wins; its engine message is kept.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leads_int.h"

/* ------------------------------------------------------------------ */
/* Buffers */

static bool
sb_reserve(leads_sb *b, size_t more)
{
    if (b->oom)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = true;
        return false;
    }
    b->s = s;
    b->cap = cap;
    return true;
}

void
leads_sb_add(leads_sb *b, const char *s)
{
    size_t n = strlen(s);
    if (!sb_reserve(b, n))
        return;
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

void
leads_sb_addf(leads_sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void
leads_sb_param(leads_sb *b, size_t n)
{
    char tmp[24];
    size_t k = sizeof(tmp);
    do {
        tmp[--k] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    tmp[--k] = '$';
    if (!sb_reserve(b, sizeof(tmp) - k))
        return;
    memcpy(b->s + b->len, tmp + k, sizeof(tmp) - k);
    b->len += sizeof(tmp) - k;
    b->s[b->len] = 0;
}

void
leads_sb_params(leads_sb *b, size_t first, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            leads_sb_add(b, ", ");
        leads_sb_param(b, first + i);
    }
}

void
leads_sb_free(leads_sb *b)
{
    free(b->s);
    memset(b, 0, sizeof(*b));
}

void
leads_args_add(leads_args *a, plt_value v)
{
    if (a->oom)
        return;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        plt_value *nv = realloc(a->v, cap * sizeof(*nv));
        if (!nv) {
            a->oom = true;
            return;
        }
        a->v = nv;
        a->cap = cap;
    }
    a->v[a->n++] = v;
}

void
leads_args_free(leads_args *a)
{
    free(a->v);
    memset(a, 0, sizeof(*a));
}

/* Blocks of 64 KiB, or larger for one big string. */
struct leads_arena_blk {
    struct leads_arena_blk *next;
    size_t used, cap;
    _Alignas(16) char data[];
};

void *
leads_arena_alloc(leads_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct leads_arena_blk *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        b = malloc(sizeof(*b) + cap);
        if (!b) {
            a->oom = true;
            return NULL;
        }
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

const char *
leads_arena_dup(leads_arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = leads_arena_alloc(a, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void
leads_arena_free(leads_arena *a)
{
    struct leads_arena_blk *b = a->head;
    while (b) {
        struct leads_arena_blk *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
}

/* ------------------------------------------------------------------ */
/* Rows */

int64_t
leads_col_i64(const plt_storage_row *row, size_t i)
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
    case PLT_T_STR:
        return strtoll(v->v.s, NULL, 10);
    default:
        return 0;
    }
}

const char *
leads_col_str(const plt_storage_row *row, size_t i)
{
    if (i >= row->ncols || row->vals[i].type != PLT_T_STR)
        return NULL;
    return row->vals[i].v.s;
}

/* ------------------------------------------------------------------ */
/* Rules */

const leads_list_rules *
leads_rules_find(leads *L, int64_t id)
{
    for (size_t i = 0; i < L->nrules; i++)
        if (L->rules[i].id == id)
            return &L->rules[i];
    return NULL;
}

void
leads_rules_put(leads *L, const leads_list_rules *r)
{
    if (leads_rules_find(L, r->id))
        return;
    if (L->nrules == L->caprules) {
        size_t cap = L->caprules ? L->caprules * 2 : 16;
        leads_list_rules *n = realloc(L->rules, cap * sizeof(*n));
        if (!n)
            return; /* a cache miss later costs one query, nothing else */
        L->rules = n;
        L->caprules = cap;
    }
    L->rules[L->nrules++] = *r;
}

void
leads_phone_rules(const leads *L, const leads_list_rules *r, phone_rules *out)
{
    memset(out, 0, sizeof(*out));
    out->default_country = r && r->country[0] ? r->country : L->cfg.country;
    out->prefix_to_add = r && r->prefix[0] ? r->prefix : NULL;
    out->flags = r && r->restore_lost_zero ? PHONE_ASSUME_LOST_ZERO : 0;
}

void
leads_phone_rules_api(const leads *L, const plt_lead_rules *r,
                      phone_rules *out)
{
    memset(out, 0, sizeof(*out));
    out->default_country = r && r->country ? r->country : L->cfg.country;
    out->prefix_to_add = r && r->prefix && r->prefix[0] ? r->prefix : NULL;
    out->flags = r && r->restore_lost_zero ? PHONE_ASSUME_LOST_ZERO : 0;
}

int32_t
leads_type_from_phone(phone_type t)
{
    switch (t) {
    case PHONE_TYPE_MOBILE:
        return PLT_PHONE_MOBILE;
    case PHONE_TYPE_FIXED:
        return PLT_PHONE_FIXED;
    case PHONE_TYPE_UNKNOWN:
    case PHONE_TYPE_FIXED_OR_MOBILE:
        return PLT_PHONE_UNKNOWN;
    default:
        return PLT_PHONE_OTHER;
    }
}

/* ------------------------------------------------------------------ */
/* Jobs */

static void
job_end(leads_job *j)
{
    leads *L = j->L;
    j->finish(j);
    leads_req_end(L);
}

static void
on_rolled_back(void *arg, int status, const plt_storage_result *res)
{
    (void)status;
    (void)res;
    leads_job *j = arg;
    j->txn = NULL;
    job_end(j);
}

void
leads_job_fail(leads_job *j, int status, const char *fmt, ...)
{
    if (j->status == 0) {
        j->status = status ? status : PLT_EDB;
        if (fmt) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(j->msg, sizeof(j->msg), fmt, ap);
            va_end(ap);
        }
    }
    if (j->txn) {
        plt_storage_txn *t = j->txn;
        if (j->L->st.vt->rollback(j->L->st.impl, t, on_rolled_back, j) == 0)
            return;
        j->txn = NULL;
    }
    job_end(j);
}

void
leads_job_done(leads_job *j)
{
    job_end(j);
}

static void
on_query_done(void *arg, int status, const plt_storage_result *res)
{
    leads_job *j = arg;
    j->inflight--;
    if (status != 0 && j->status == 0) {
        j->status = status;
        snprintf(j->msg, sizeof(j->msg), "%s",
                 res && res->error ? res->error : plt_strerror(status));
    }
    if (j->status != 0) {
        /* Roll back once nothing of the job is left in flight: until
         * then the engine still reports to this job. */
        if (j->inflight == 0)
            leads_job_fail(j, j->status, NULL);
        return;
    }
    j->affected = res ? res->rows_affected : 0;
    j->rows = res ? res->rows : 0;
    j->step(j);
}

static int
on_row(void *arg, const plt_storage_row *row)
{
    leads_job *j = arg;
    return j->row ? j->row(j, row) : 0;
}

/* A statement could not be queued: fail now, or, with statements still in
 * flight, when the last of them reports. */
static int
query_refused(leads_job *j, int rc, const char *what)
{
    if (j->inflight == 0) {
        leads_job_fail(j, rc, "%s", what);
        return rc;
    }
    if (j->status == 0) {
        j->status = rc;
        snprintf(j->msg, sizeof(j->msg), "%s", what);
    }
    return rc;
}

/* After query() or query_rows() was called (@p rc its result). */
static int
queued(leads_job *j, int rc)
{
    if (rc != 0) {
        j->inflight--;
        char what[LEADS_MSG_MAX];
        snprintf(what, sizeof(what), "cannot queue a statement: %s",
                 plt_strerror(rc));
        return query_refused(j, rc, what);
    }
    return 0;
}

int
leads_job_query(leads_job *j, const char *sql, const plt_value *args,
                size_t nargs, uint32_t flags, plt_storage_row_fn row)
{
    j->row = row;
    /* Counted first: an engine may answer before query() returns, and
     * then the job may be over (and freed) when it does. */
    j->inflight++;
    return queued(j, j->L->st.vt->query(j->L->st.impl, j->txn, sql, args,
                                        nargs, flags, row ? on_row : NULL,
                                        on_query_done, j));
}

int
leads_job_query_rows(leads_job *j, const char *sql, const plt_value *args,
                     size_t ncols, size_t nrows, uint32_t flags,
                     plt_storage_row_fn row)
{
    j->row = row;
    j->inflight++; /* first: see leads_job_query() */
    return queued(j, j->L->st.vt->query_rows(j->L->st.impl, j->txn, sql, args,
                                             ncols, nrows, flags,
                                             row ? on_row : NULL,
                                             on_query_done, j));
}

int
leads_job_query_built(leads_job *j, leads_sb *sql, leads_args *args,
                      uint32_t flags, plt_storage_row_fn row)
{
    if (sql->oom || args->oom || !sql->s) {
        leads_sb_free(sql);
        leads_args_free(args);
        return query_refused(j, PLT_ENOMEM, "out of memory");
    }
    int rc = leads_job_query(j, sql->s, args->v, args->n, flags, row);
    /* The engine copied the text and the values. */
    leads_sb_free(sql);
    leads_args_free(args);
    return rc;
}

static void
on_committed(void *arg, int status, const plt_storage_result *res)
{
    leads_job *j = arg;
    j->txn = NULL;
    if (status != 0 && j->status == 0) {
        j->status = status;
        snprintf(j->msg, sizeof(j->msg), "commit: %s",
                 res && res->error ? res->error : plt_strerror(status));
    }
    job_end(j);
}

void
leads_job_commit(leads_job *j)
{
    plt_storage_txn *t = j->txn;
    int rc = j->L->st.vt->commit(j->L->st.impl, t, on_committed, j);
    if (rc != 0)
        leads_job_fail(j, rc, "cannot commit: %s", plt_strerror(rc));
}

static void
on_begun(void *arg, int status, plt_storage_txn *txn)
{
    leads_job *j = arg;
    if (status != 0) {
        leads_job_fail(j, status, "cannot begin a transaction: %s",
                       plt_strerror(status));
        return;
    }
    j->txn = txn;
    j->step(j);
}

int
leads_job_start(leads_job *j, bool txn, uint32_t flags)
{
    int rc = leads_accepting(j->L);
    if (rc != 0)
        return rc;
    if (txn) {
        /* Counted first: an engine may answer before begin() returns. */
        leads *L = j->L;
        leads_req_begin(L);
        rc = L->st.vt->begin(L->st.impl, flags, on_begun, j);
        if (rc != 0)
            L->pending--;
        return rc;
    }
    leads_req_begin(j->L);
    j->step(j);
    return 0;
}
