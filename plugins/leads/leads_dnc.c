/* SPDX-License-Identifier: MIT */
/*
 * Do-not-call: numbers stored normalised (E.164) per scope, "*" for the
 * global list or a campaign key. Changes are durable (PLT_STORAGE_DURABLE:
 * flushed before done()) because a number that must not be called must
 * stay blocked after a power cut.
 *
 * Adding numbers also flips, in the same transaction, every AVAILABLE or
 * CALLBACK contact whose numbers are now all blocked to status DNC, with a
 * "dnc" history entry; for a campaign scope only contacts whose lists are
 * attached to that campaign alone are flipped (elsewhere they may still be
 * called). Removing a number flips such contacts back when they have a
 * callable number again. Contacts being dialled (RESERVED) are left alone:
 * reserve() never hands out a blocked number, and dnc_check() - one
 * primary-key lookup - is what the dialer asks right before dialling.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leads_int.h"

enum { DS_INSERT, DS_FLIP, DS_EVENTS, DS_COMMIT };

typedef struct dnc_op {
    leads_job j;
    leads_arena a;
    const char *scope, *source;
    const char **nums;
    size_t n, invalid;
    char first_invalid[128];
    int64_t now;
    size_t cursor;
    int64_t *flipped;
    size_t nflipped, capflipped;
    int64_t added;
    int stage;
    plt_leads_done_fn done;
    void *arg;
} dnc_op;

static int
flip_row(void *arg, const plt_storage_row *row)
{
    dnc_op *o = arg;
    if (o->nflipped == o->capflipped) {
        size_t cap = o->capflipped ? o->capflipped * 2 : 64;
        int64_t *n = realloc(o->flipped, cap * sizeof(*n));
        if (!n)
            return 1;
        o->flipped = n;
        o->capflipped = cap;
    }
    o->flipped[o->nflipped++] = leads_col_i64(row, 0);
    return 0;
}

/* " AND NOT EXISTS a callable number" for contact rows, with the scope
 * in parameter $s. */
#define ALL_BLOCKED(s)                                                         \
    " AND NOT EXISTS (SELECT 1 FROM contact_phone p"                           \
    " WHERE p.contact_id = contact.id AND NOT EXISTS (SELECT 1 FROM dnc d"     \
    " WHERE d.e164 = p.e164 AND d.scope IN ('*', $" s ")))"

static void
dnc_step(leads_job *j)
{
    dnc_op *o = (dnc_op *)j;
    for (;;) {
        leads_sb sql = {0};
        leads_args args = {0};
        size_t end = o->cursor + LEADS_IN_CHUNK;
        if (end > o->n)
            end = o->n;
        switch (o->stage) {
        case DS_INSERT:
            if (o->cursor > 0)
                o->added += j->affected;
            if (o->cursor >= o->n) {
                o->stage = DS_FLIP;
                o->cursor = 0;
                continue;
            }
            leads_sb_add(&sql, "INSERT INTO dnc (scope, e164, added_at,"
                               " source) VALUES ");
            leads_args_add(&args, PLT_V_STR(o->scope));
            leads_args_add(&args, PLT_V_I64(o->now));
            leads_args_add(&args, PLT_V_STR(o->source));
            for (size_t i = o->cursor; i < end; i++) {
                leads_args_add(&args, PLT_V_STR(o->nums[i]));
                leads_sb_addf(&sql, "%s($1, $%zu, $2, $3)",
                              i > o->cursor ? ", " : "", args.n);
            }
            leads_sb_add(&sql, " ON CONFLICT (scope, e164) DO NOTHING");
            o->cursor = end;
            leads_job_query_built(j, &sql, &args, PLT_STORAGE_WRITE, NULL);
            return;
        case DS_FLIP:
            if (o->cursor >= o->n) {
                o->stage = DS_EVENTS;
                o->cursor = 0;
                continue;
            }
            leads_sb_add(&sql, "UPDATE contact SET status = 6,"
                               " updated_at = $2 WHERE status IN (1, 3)"
                               " AND id IN (SELECT contact_id FROM"
                               " contact_phone WHERE e164 IN (");
            leads_args_add(&args, PLT_V_STR(o->scope));
            leads_args_add(&args, PLT_V_I64(o->now));
            for (size_t i = o->cursor; i < end; i++) {
                leads_args_add(&args, PLT_V_STR(o->nums[i]));
                leads_sb_addf(&sql, i > o->cursor ? ", $%zu" : "$%zu",
                              args.n);
            }
            leads_sb_add(&sql, "))" ALL_BLOCKED("1"));
            if (strcmp(o->scope, "*") != 0)
                leads_sb_add(&sql,
                             " AND EXISTS (SELECT 1 FROM campaign_list cl"
                             " WHERE cl.list_id = contact.list_id"
                             " AND cl.campaign = $1)"
                             " AND NOT EXISTS (SELECT 1 FROM campaign_list cl"
                             " WHERE cl.list_id = contact.list_id"
                             " AND cl.campaign <> $1)");
            leads_sb_add(&sql, " RETURNING id");
            o->cursor = end;
            leads_job_query_built(j, &sql, &args, PLT_STORAGE_WRITE,
                                  flip_row);
            return;
        case DS_EVENTS: {
            if (o->cursor >= o->nflipped) {
                o->stage = DS_COMMIT;
                continue;
            }
            size_t e = o->cursor + LEADS_IN_CHUNK;
            if (e > o->nflipped)
                e = o->nflipped;
            leads_sb_add(&sql, "INSERT INTO contact_event (contact_id, at,"
                               " kind, campaign, note) VALUES ");
            leads_args_add(&args, PLT_V_I64(o->now));
            leads_args_add(&args, strcmp(o->scope, "*") ? PLT_V_STR(o->scope)
                                                        : PLT_V_NULL());
            for (size_t i = o->cursor; i < e; i++) {
                leads_args_add(&args, PLT_V_I64(o->flipped[i]));
                leads_sb_addf(&sql,
                              "%s($%zu, $1, 'dnc', $2,"
                              " 'every number is on the do-not-call list')",
                              i > o->cursor ? ", " : "", args.n);
            }
            o->cursor = e;
            leads_job_query_built(j, &sql, &args, PLT_STORAGE_WRITE, NULL);
            return;
        }
        default:
            leads_job_commit(j);
            return;
        }
    }
}

static void
dnc_free(dnc_op *o)
{
    free(o->flipped);
    leads_arena_free(&o->a);
    free(o);
}

static void
dnc_finish(leads_job *j)
{
    dnc_op *o = (dnc_op *)j;
    char msg[LEADS_MSG_MAX + 160];
    if (j->status == 0) {
        int k = snprintf(msg, sizeof(msg),
                         "%lld number(s) added to the do-not-call list %s,"
                         " %zu already there; %zu contact(s) now DNC",
                         (long long)o->added, o->scope,
                         o->n - (size_t)o->added, o->nflipped);
        if (o->invalid && k > 0 && (size_t)k < sizeof(msg))
            snprintf(msg + k, sizeof(msg) - (size_t)k,
                     "; %zu invalid skipped (%s)", o->invalid,
                     o->first_invalid);
    } else {
        snprintf(msg, sizeof(msg), "%s", j->msg);
    }
    o->done(o->arg, j->status, msg);
    dnc_free(o);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
leads_dnc_add(void *impl, const char *scope, const char *const *numbers,
              size_t n, const plt_lead_rules *rules, const char *source,
              plt_leads_done_fn done, void *arg)
{
    leads *L = impl;
    if (!scope || !*scope || (n && !numbers) || !done || n == 0)
        return PLT_EINVAL;
    int rc = leads_accepting(L);
    if (rc != 0)
        return rc;
    dnc_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->j.L = L;
    o->j.step = dnc_step;
    o->j.finish = dnc_finish;
    o->j.txn_flags = PLT_STORAGE_DURABLE;
    o->scope = leads_arena_dup(&o->a, scope);
    o->source = leads_arena_dup(&o->a, source);
    o->now = plt_now();
    o->done = done;
    o->arg = arg;
    o->nums = leads_arena_alloc(&o->a, n * sizeof(*o->nums));
    phone_rules pr;
    leads_phone_rules_api(L, rules, &pr);
    for (size_t i = 0; o->nums && i < n; i++) {
        phone_result r;
        if (!numbers[i] || phone_normalize(numbers[i], &pr, &r) != 0) {
            if (!o->invalid++)
                snprintf(o->first_invalid, sizeof(o->first_invalid),
                         "'%.40s': %s", numbers[i] ? numbers[i] : "",
                         numbers[i] ? r.error : "empty");
            continue;
        }
        o->nums[o->n++] = leads_arena_dup(&o->a, r.e164);
    }
    /* Each number once, so that the counts in the message are right. */
    if (o->n > 1 && !o->a.oom) {
        qsort(o->nums, o->n, sizeof(*o->nums), cmp_str);
        size_t k = 1;
        for (size_t i = 1; i < o->n; i++)
            if (strcmp(o->nums[i], o->nums[k - 1]) != 0)
                o->nums[k++] = o->nums[i];
        o->n = k;
    }
    if (o->a.oom || !o->nums) {
        dnc_free(o);
        return PLT_ENOMEM;
    }
    if (o->n == 0) {
        dnc_free(o);
        return PLT_EINVAL;
    }
    rc = leads_job_start(&o->j, true, PLT_STORAGE_DURABLE);
    if (rc != 0)
        dnc_free(o);
    return rc;
}

/* ------------------------------------------------------------------ */
/* dnc_remove */

typedef struct rm_op {
    leads_job j;
    plt_leads_done_fn done;
    void *arg;
    char e164[PHONE_E164_SIZE];
    char scope[];
} rm_op;

static void
rm_step(leads_job *j)
{
    rm_op *o = (rm_op *)j;
    plt_value a[] = {PLT_V_STR(o->scope), PLT_V_STR(o->e164),
                     PLT_V_I64(plt_now())};
    switch (j->stage++) {
    case 0:
        leads_job_query(j, "DELETE FROM dnc WHERE scope = $1 AND e164 = $2",
                        a, 2, PLT_STORAGE_WRITE, NULL);
        return;
    case 1:
        if (j->affected <= 0) {
            leads_job_fail(j, PLT_ENOENT, "%s is not on the do-not-call list %s",
                           o->e164, o->scope);
            return;
        }
        /* Contacts made DNC by this number get back to AVAILABLE when a
         * number of theirs is callable again (globally). */
        leads_job_query(j,
                        "UPDATE contact SET status = 1, updated_at = $3"
                        " WHERE status = 6 AND id IN (SELECT contact_id FROM"
                        " contact_phone WHERE e164 = $2)"
                        " AND EXISTS (SELECT 1 FROM contact_phone p"
                        " WHERE p.contact_id = contact.id AND NOT EXISTS"
                        " (SELECT 1 FROM dnc d WHERE d.e164 = p.e164"
                        " AND d.scope IN ('*', $1)))",
                        a, 3, PLT_STORAGE_WRITE, NULL);
        return;
    default:
        leads_job_commit(j);
    }
}

static void
rm_finish(leads_job *j)
{
    rm_op *o = (rm_op *)j;
    o->done(o->arg, j->status, j->msg[0] ? j->msg : NULL);
    free(o);
}

int
leads_dnc_remove(void *impl, const char *scope, const char *number,
                 plt_leads_done_fn done, void *arg)
{
    leads *L = impl;
    if (!scope || !*scope || !number || !done)
        return PLT_EINVAL;
    phone_rules pr;
    leads_phone_rules(L, NULL, &pr);
    phone_result r;
    if (phone_normalize(number, &pr, &r) != 0)
        return PLT_EINVAL;
    size_t n = strlen(scope);
    rm_op *o = calloc(1, sizeof(*o) + n + 1);
    if (!o)
        return PLT_ENOMEM;
    memcpy(o->scope, scope, n + 1);
    memcpy(o->e164, r.e164, sizeof(o->e164));
    o->j.L = L;
    o->j.step = rm_step;
    o->j.finish = rm_finish;
    o->done = done;
    o->arg = arg;
    int rc = leads_job_start(&o->j, true, PLT_STORAGE_DURABLE);
    if (rc != 0)
        free(o);
    return rc;
}

/* ------------------------------------------------------------------ */
/* dnc_check: one primary-key probe per scope */

typedef struct check_op {
    leads_job j;
    bool blocked;
    plt_leads_bool_fn cb;
    void *arg;
    char e164[PHONE_E164_SIZE];
    char campaign[];
} check_op;

static int
check_row(void *arg, const plt_storage_row *row)
{
    (void)row;
    ((check_op *)arg)->blocked = true;
    return 0;
}

static void
check_step(leads_job *j)
{
    check_op *o = (check_op *)j;
    if (j->stage++ == 0) {
        plt_value a[] = {PLT_V_STR(o->e164), PLT_V_STR(o->campaign)};
        leads_job_query(j,
                        "SELECT 1 FROM dnc WHERE e164 = $1"
                        " AND scope IN ('*', $2) LIMIT 1",
                        a, 2, 0, check_row);
        return;
    }
    leads_job_done(j);
}

static void
check_finish(leads_job *j)
{
    check_op *o = (check_op *)j;
    o->cb(o->arg, j->status, j->status == 0 && o->blocked);
    free(o);
}

int
leads_dnc_check(void *impl, const char *campaign, const char *e164,
                plt_leads_bool_fn cb, void *arg)
{
    leads *L = impl;
    if (!e164 || !cb)
        return PLT_EINVAL;
    /* E.164 is expected; anything else is normalised with the default
     * country rather than silently never matching. */
    phone_rules pr;
    leads_phone_rules(L, NULL, &pr);
    phone_result r;
    if (phone_normalize(e164, &pr, &r) != 0)
        return PLT_EINVAL;
    const char *c = campaign && *campaign ? campaign : "*";
    size_t n = strlen(c);
    check_op *o = calloc(1, sizeof(*o) + n + 1);
    if (!o)
        return PLT_ENOMEM;
    memcpy(o->campaign, c, n + 1);
    memcpy(o->e164, r.e164, sizeof(o->e164));
    o->j.L = L;
    o->j.step = check_step;
    o->j.finish = check_finish;
    o->cb = cb;
    o->arg = arg;
    int rc = leads_job_start(&o->j, false, 0);
    if (rc != 0)
        free(o);
    return rc;
}
