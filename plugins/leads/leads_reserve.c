/* SPDX-License-Identifier: MIT */
/*
 * Dialling: reserving contacts for one dialer ("owner"), giving them back,
 * and recording attempts and dispositions.
 *
 * EXACTLY ONCE. A reservation is one transaction of UPDATE statements of
 * the form
 *     WITH picked AS MATERIALIZED (SELECT c.id FROM contact c
 *          WHERE <eligible> ORDER BY ... LIMIT $k FOR UPDATE SKIP LOCKED)
 *     UPDATE contact SET status = RESERVED, reserved_by = $owner, ...
 *      WHERE id IN (SELECT id FROM picked) AND status = <what was picked>
 *     RETURNING id
 * (MATERIALIZED: the pick runs once; inlined into the UPDATE, PostgreSQL
 * may run it again per row and take more than $k rows.)
 * On PostgreSQL, SKIP LOCKED makes concurrent reservations (other owners,
 * other nodes) pass over rows another one holds, and the outer status test
 * re-checks rows that changed after the snapshot; on SQLite the single
 * writer serialises the transactions (the engine drops the clause). Either
 * way a contact is RESERVED by one owner until attempt_done() or release().
 * The transaction commits before any contact is handed to the caller: a
 * lead is reserved before it is dialled.
 *
 * ELIGIBLE, as the contract says: in a list attached to the campaign;
 * AVAILABLE with next_attempt_at <= now and fewer than max_attempts
 * attempts, or - when the filter names an agent - CALLBACK with
 * callback_at <= now for that agent or anyone (max_attempts does not cancel
 * a promised callback); in one of the filter's time zones when it gives
 * any (a contact of unknown zone is then not eligible); with at least one
 * number on neither the global nor the campaign's do-not-call list.
 * Handed-out contacts carry only those numbers. A number may still be
 * blocked while its contact is reserved: the dialer calls dnc_check()
 * right before dialling.
 *
 * LIST MIXING. Due callbacks are taken first, from every attached list.
 * The rest of the request is split by weight: each list gets
 * floor(n * w / W) and the remaining slots are drawn at random in
 * proportion to the weights (a deterministic generator, so simulations
 * replay identically), which keeps the long-run share right even when the
 * dialer reserves one contact at a time. A list that runs short leaves
 * its slots to the lists that filled theirs. Within one reservation,
 * contacts are handed out callbacks first, then by priority, next attempt
 * time and id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leads_int.h"

/* "There is a callable number" for contact alias c, DNC scope param $s. */
#define CALLABLE(s)                                                            \
    " AND EXISTS (SELECT 1 FROM contact_phone p WHERE p.contact_id = c.id"     \
    " AND NOT EXISTS (SELECT 1 FROM dnc d WHERE d.e164 = p.e164"               \
    " AND d.scope IN ('*', $" s ")))"

/* ------------------------------------------------------------------ */
/* release (also used for what reserve() could not hand out) */

typedef struct release_op {
    leads_job j;
    int64_t *ids;
    size_t nids;
    int64_t contact_id;
    int64_t until; /* release_until(): not before then; 0 = release() */
    plt_leads_done_fn done;
    void *arg;
    char owner[];
} release_op;

static void
release_step(leads_job *j)
{
    release_op *o = (release_op *)j;
    if (j->stage++ > 0) {
        if (o->contact_id && j->affected <= 0)
            leads_job_fail(j, PLT_ECONFLICT,
                           "contact %lld is not reserved by %s",
                           (long long)o->contact_id, o->owner);
        else
            leads_job_done(j);
        return;
    }
    leads_sb sql = {0};
    leads_args args = {0};
    /* A reserved callback goes back to CALLBACK: it keeps callback_at. */
    leads_sb_add(&sql, "UPDATE contact SET status = CASE WHEN callback_at > 0"
                       " THEN 3 ELSE 1 END, reserved_by = NULL,"
                       " reserved_at = 0, updated_at = $2");
    leads_args_add(&args, PLT_V_STR(o->owner));
    leads_args_add(&args, PLT_V_I64(plt_now()));
    if (o->until > 0) {
        /* Not an attempt: only when it may come back changes. */
        leads_args_add(&args, PLT_V_I64(o->until));
        leads_sb_addf(&sql, ", next_attempt_at = CASE WHEN callback_at > 0"
                            " THEN next_attempt_at ELSE $%zu END,"
                            " callback_at = CASE WHEN callback_at > 0 AND"
                            " callback_at < $%zu THEN $%zu ELSE callback_at"
                            " END", args.n, args.n, args.n);
    }
    leads_sb_add(&sql, " WHERE status = 2 AND reserved_by = $1");
    if (o->contact_id) {
        leads_args_add(&args, PLT_V_I64(o->contact_id));
        leads_sb_addf(&sql, " AND id = $%zu", args.n);
    } else if (o->nids) {
        leads_sb_add(&sql, " AND id IN (");
        for (size_t i = 0; i < o->nids; i++) {
            leads_args_add(&args, PLT_V_I64(o->ids[i]));
            leads_sb_addf(&sql, i ? ", $%zu" : "$%zu", args.n);
        }
        leads_sb_add(&sql, ")");
    }
    leads_job_query_built(j, &sql, &args, PLT_STORAGE_WRITE, NULL);
}

static void
release_finish(leads_job *j)
{
    release_op *o = (release_op *)j;
    if (o->done)
        o->done(o->arg, j->status, j->msg[0] ? j->msg : NULL);
    else if (j->status != 0)
        plt_log(PLT_LOG_WARN, "cannot release contacts of %s: %s", o->owner,
                j->msg);
    free(o->ids);
    free(o);
}

static int
release_start(leads *L, const char *owner, int64_t contact_id,
              const int64_t *ids, size_t nids, int64_t until,
              plt_leads_done_fn done, void *arg)
{
    size_t n = strlen(owner);
    release_op *o = calloc(1, sizeof(*o) + n + 1);
    if (!o)
        return PLT_ENOMEM;
    memcpy(o->owner, owner, n + 1);
    if (nids) {
        o->ids = malloc(nids * sizeof(*ids));
        if (!o->ids) {
            free(o);
            return PLT_ENOMEM;
        }
        memcpy(o->ids, ids, nids * sizeof(*ids));
        o->nids = nids;
    }
    o->j.L = L;
    o->j.step = release_step;
    o->j.finish = release_finish;
    o->contact_id = contact_id;
    o->until = until;
    o->done = done;
    o->arg = arg;
    int rc = leads_job_start(&o->j, false, 0);
    if (rc != 0) {
        free(o->ids);
        free(o);
    }
    return rc;
}

int
leads_release(void *impl, const char *owner, int64_t contact_id,
              plt_leads_done_fn done, void *arg)
{
    if (!owner || !*owner || contact_id < 0 || !done)
        return PLT_EINVAL;
    return release_start(impl, owner, contact_id, NULL, 0, 0, done, arg);
}

int
leads_release_until(void *impl, const char *owner, int64_t contact_id,
                    int64_t until, plt_leads_done_fn done, void *arg)
{
    if (!owner || !*owner || contact_id <= 0 || until <= 0 || !done)
        return PLT_EINVAL;
    return release_start(impl, owner, contact_id, NULL, 0, until, done, arg);
}

/* ------------------------------------------------------------------ */
/* reserve */

typedef struct rlist {
    int64_t id, weight;
    int32_t quota;  /* asked of it by the current statement */
    bool exhausted; /* gave fewer than asked: nothing more to take */
} rlist;

enum { RS_LISTS, RS_CALLBACKS, RS_PASS1, RS_PASS2, RS_CONTACTS, RS_FIELDS,
       RS_PHONES, RS_COMMIT };

typedef struct reserve_op {
    leads_job j;
    leads_arena a;
    const char *campaign, *agent, *owner;
    const char **zones;
    size_t nzones;
    bool zone_filter;
    int64_t now;
    int32_t max_attempts, n, got;
    rlist *lists;
    size_t nlists, caplists, li;
    int64_t *ids; /* reserved ids */
    bool *is_cb;
    size_t nids;
    int stage;
    bool taking_cb; /* the statement in flight reserves callbacks */
    leads_loadset set;
    plt_lead_row_fn row;
    plt_leads_done_fn done;
    void *arg;
} reserve_op;

static int
lists_row(void *arg, const plt_storage_row *row)
{
    reserve_op *o = arg;
    if (o->nlists == o->caplists) {
        size_t cap = o->caplists ? o->caplists * 2 : 8;
        rlist *n = realloc(o->lists, cap * sizeof(*n));
        if (!n)
            return 1;
        o->lists = n;
        o->caplists = cap;
    }
    rlist *l = &o->lists[o->nlists++];
    memset(l, 0, sizeof(*l));
    l->id = leads_col_i64(row, 0);
    l->weight = leads_col_i64(row, 1);
    if (l->weight < 1)
        l->weight = 1;
    return 0;
}

static int
reserved_row(void *arg, const plt_storage_row *row)
{
    reserve_op *o = arg;
    if (o->nids >= (size_t)o->n)
        return 0; /* cannot happen: LIMIT */
    o->is_cb[o->nids] = o->taking_cb;
    o->ids[o->nids++] = leads_col_i64(row, 0);
    return 0;
}

static int
contact_row(void *arg, const plt_storage_row *row)
{
    return leads_loadset_add_row(&((reserve_op *)arg)->set, row) != 0;
}

static int
phone_row(void *arg, const plt_storage_row *row)
{
    return leads_loadset_phone_row(&((reserve_op *)arg)->set, row);
}

/* xorshift64*: the weighted draw of leftover slots. Deterministic. */
static uint64_t
next_rand(leads *L)
{
    uint64_t x = L->rr ? L->rr : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    L->rr = x;
    return x * 2685821657736338717ull;
}

static void
assign_quotas(reserve_op *o, int32_t want)
{
    int64_t W = 0;
    for (size_t i = 0; i < o->nlists; i++)
        W += o->lists[i].weight;
    int32_t given = 0;
    for (size_t i = 0; i < o->nlists; i++) {
        o->lists[i].quota = (int32_t)((int64_t)want * o->lists[i].weight / W);
        given += o->lists[i].quota;
    }
    /* Leftover slots: weighted draws (with replacement: a list may get
     * two, which keeps each draw proportional to the weights). */
    for (; given < want; given++) {
        uint64_t r = next_rand(o->j.L) % (uint64_t)W;
        size_t i = 0;
        while (r >= (uint64_t)o->lists[i].weight) {
            r -= (uint64_t)o->lists[i].weight;
            i++;
        }
        o->lists[i].quota++;
    }
}

/* The common tail of the eligibility test: zones, attempts, numbers. */
static void
add_filters(reserve_op *o, leads_sb *sql, leads_args *args, bool available)
{
    if (available && o->max_attempts > 0) {
        leads_args_add(args, PLT_V_I64(o->max_attempts));
        leads_sb_addf(sql, " AND c.attempts < $%zu", args->n);
    }
    if (o->zone_filter) {
        leads_sb_add(sql, " AND c.time_zone IN (");
        for (size_t i = 0; i < o->nzones; i++) {
            leads_args_add(args, PLT_V_STR(o->zones[i]));
            leads_sb_addf(sql, i ? ", $%zu" : "$%zu", args->n);
        }
        leads_sb_add(sql, ")");
    }
}

#define RESERVE_SET                                                            \
    " UPDATE contact SET status = 2, reserved_by = $1, reserved_at = $2,"     \
    " updated_at = $2 WHERE id IN (SELECT id FROM picked)"

static void
reserve_update(reserve_op *o, int64_t list_id, int32_t k, bool callbacks)
{
    leads_sb sql = {0};
    leads_args args = {0};
    leads_args_add(&args, PLT_V_STR(o->owner));    /* $1 */
    leads_args_add(&args, PLT_V_I64(o->now));      /* $2 */
    leads_args_add(&args, PLT_V_STR(o->campaign)); /* $3 */
    leads_args_add(&args, PLT_V_I64(k));           /* $4 */
    /* The pick is a MATERIALIZED CTE, run once: as a plain IN (...)
     * subquery PostgreSQL may run a LIMIT ... SKIP LOCKED select more than
     * once and take more rows than asked. */
    leads_sb_add(&sql, "WITH picked AS MATERIALIZED"
                       " (SELECT c.id FROM contact c WHERE ");
    if (callbacks) {
        leads_args_add(&args, PLT_V_STR(o->agent)); /* $5 */
        leads_sb_add(&sql, "c.list_id IN (SELECT list_id FROM campaign_list"
                           " WHERE campaign = $3) AND c.status = 3"
                           " AND c.callback_at <= $2 AND (c.callback_agent"
                           " IS NULL OR c.callback_agent = $5)" CALLABLE("3"));
        add_filters(o, &sql, &args, false);
        leads_sb_add(&sql, " ORDER BY c.callback_at, c.id LIMIT $4"
                           " FOR UPDATE SKIP LOCKED)" RESERVE_SET
                           " AND status = 3");
    } else {
        leads_args_add(&args, PLT_V_I64(list_id)); /* $5 */
        leads_sb_add(&sql, "c.list_id = $5 AND c.status = 1"
                           " AND c.next_attempt_at <= $2" CALLABLE("3"));
        add_filters(o, &sql, &args, true);
        leads_sb_add(&sql, " ORDER BY c.priority DESC, c.next_attempt_at,"
                           " c.id LIMIT $4 FOR UPDATE SKIP LOCKED)" RESERVE_SET
                           " AND status = 1");
    }
    leads_sb_add(&sql, " RETURNING id");
    o->taking_cb = callbacks;
    leads_job_query_built(&o->j, &sql, &args, PLT_STORAGE_WRITE,
                          reserved_row);
}

static int
cmp_loaded_id(const void *a, const void *b)
{
    int64_t x = ((const leads_loaded *)a)->lead.id;
    int64_t y = ((const leads_loaded *)b)->lead.id;
    return x < y ? -1 : x > y;
}

/* Hand-out order: callbacks first (by time), then priority, next attempt
 * time and id. */
static int
cmp_handout(const void *a, const void *b)
{
    const leads_loaded *x = a, *y = b;
    if (x->is_callback != y->is_callback)
        return x->is_callback ? -1 : 1;
    if (x->is_callback && x->lead.callback_at != y->lead.callback_at)
        return x->lead.callback_at < y->lead.callback_at ? -1 : 1;
    if (x->lead.priority != y->lead.priority)
        return x->lead.priority > y->lead.priority ? -1 : 1;
    if (x->lead.next_attempt_at != y->lead.next_attempt_at)
        return x->lead.next_attempt_at < y->lead.next_attempt_at ? -1 : 1;
    return cmp_loaded_id(a, b);
}

static void
reserve_step(leads_job *j)
{
    reserve_op *o = (reserve_op *)j;
    for (;;) {
        switch (o->stage) {
        case RS_LISTS: {
            o->stage = RS_CALLBACKS;
            plt_value a = PLT_V_STR(o->campaign);
            leads_job_query(j,
                            "SELECT list_id, weight FROM campaign_list"
                            " WHERE campaign = $1 ORDER BY list_id",
                            &a, 1, 0, lists_row);
            return;
        }
        case RS_CALLBACKS:
            o->stage = RS_PASS1;
            if (o->nlists == 0 || (o->zone_filter && o->nzones == 0)) {
                o->stage = RS_CONTACTS;
                continue;
            }
            if (o->agent) {
                reserve_update(o, 0, o->n, true);
                return;
            }
            continue;
        case RS_PASS1:
            if (o->li == 0)
                assign_quotas(o, o->n - (int32_t)o->nids);
            else
                o->lists[o->li - 1].exhausted =
                    j->rows < o->lists[o->li - 1].quota;
            while (o->li < o->nlists && o->lists[o->li].quota == 0)
                o->li++;
            if (o->li < o->nlists) {
                rlist *l = &o->lists[o->li++];
                reserve_update(o, l->id, l->quota, false);
                return;
            }
            o->stage = RS_PASS2;
            o->li = 0;
            continue;
        case RS_PASS2:
            /* Lists that filled their quota (or had none) may have more:
             * the shortfall of the others goes to them, in turn. */
            if (o->li > 0)
                o->lists[o->li - 1].exhausted =
                    j->rows < o->lists[o->li - 1].quota;
            while (o->li < o->nlists && (int32_t)o->nids < o->n) {
                rlist *l = &o->lists[o->li++];
                if (l->exhausted)
                    continue;
                int32_t more = o->n - (int32_t)o->nids;
                l->quota = more;
                reserve_update(o, l->id, more, false);
                return;
            }
            o->stage = RS_CONTACTS;
            continue;
        case RS_CONTACTS: {
            if (o->nids == 0) {
                o->stage = RS_COMMIT;
                continue;
            }
            o->stage = RS_PHONES;
            leads_sb sql = {0};
            leads_args args = {0};
            leads_sb_add(&sql, "SELECT " LEADS_CONTACT_COLS
                               " FROM contact c WHERE c.id IN (");
            for (size_t i = 0; i < o->nids; i++) {
                leads_args_add(&args, PLT_V_I64(o->ids[i]));
                leads_sb_addf(&sql, i ? ", $%zu" : "$%zu", args.n);
            }
            leads_sb_add(&sql, ") ORDER BY c.id");
            leads_job_query_built(j, &sql, &args, 0, contact_row);
            return;
        }
        case RS_PHONES: {
            o->stage = RS_COMMIT;
            leads_sb sql = {0};
            leads_args args = {0};
            leads_sql_phones_of(&o->set, 0, o->set.n, o->campaign, &sql,
                                &args);
            leads_job_query_built(j, &sql, &args, 0, phone_row);
            return;
        }
        default:
            leads_job_commit(j);
            return;
        }
    }
}

static void
reserve_free(reserve_op *o)
{
    leads_loadset_free(&o->set);
    leads_arena_free(&o->a);
    free(o->lists);
    free(o->ids);
    free(o->is_cb);
    free(o);
}

static void
reserve_finish(leads_job *j)
{
    reserve_op *o = (reserve_op *)j;
    if (j->status != 0) {
        o->done(o->arg, j->status, j->msg[0] ? j->msg : NULL);
        reserve_free(o);
        return;
    }
    leads_loadset *s = &o->set;
    for (size_t i = 0; i < o->nids; i++) {
        leads_loaded *c = leads_loadset_find(s, o->ids[i]);
        if (c)
            c->is_callback = o->is_cb[i];
    }
    if (s->n > 1)
        qsort(s->c, s->n, sizeof(*s->c), cmp_handout);
    /* Contacts not handed out (the caller stopped, or a number was
     * blocked by another node between our statements) go back. */
    size_t nback = 0;
    bool stop = false;
    for (size_t i = 0; i < s->n; i++) {
        leads_loaded *c = &s->c[i];
        if (stop || c->nphones == 0) {
            o->ids[nback++] = c->lead.id;
            continue;
        }
        c->lead.status = PLT_LEAD_RESERVED;
        if (o->row(o->arg, &c->lead) != 0)
            stop = true;
    }
    if (nback > 0 && release_start(j->L, o->owner, 0, o->ids, nback, 0, NULL,
                                   NULL) != 0)
        plt_log(PLT_LOG_WARN,
                "cannot release %zu contacts of %s: they stay reserved",
                nback, o->owner);
    o->done(o->arg, 0, NULL);
    reserve_free(o);
}

int
leads_reserve(void *impl, const plt_lead_filter *f, const char *owner,
              int32_t n, plt_lead_row_fn row, plt_leads_done_fn done,
              void *arg)
{
    leads *L = impl;
    if (!f || f->size < offsetof(plt_lead_filter, max_attempts) +
                            sizeof(int32_t) ||
        !f->campaign || !*f->campaign || !owner || !*owner || n < 1 ||
        !row || !done || (f->ntime_zones && !f->time_zones))
        return PLT_EINVAL;
    int rc = leads_accepting(L);
    if (rc != 0)
        return rc;
    if (n > L->cfg.reserve_max)
        n = (int32_t)L->cfg.reserve_max;
    reserve_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->j.L = L;
    o->j.step = reserve_step;
    o->j.finish = reserve_finish;
    o->campaign = leads_arena_dup(&o->a, f->campaign);
    o->agent = leads_arena_dup(&o->a, f->agent);
    o->owner = leads_arena_dup(&o->a, owner);
    o->now = f->now;
    o->max_attempts = f->max_attempts;
    o->zone_filter = f->time_zones != NULL;
    o->nzones = f->ntime_zones;
    if (o->nzones) {
        o->zones = leads_arena_alloc(&o->a, o->nzones * sizeof(char *));
        for (size_t i = 0; o->zones && i < o->nzones; i++)
            o->zones[i] = leads_arena_dup(&o->a, f->time_zones[i]);
    }
    o->n = n;
    o->ids = calloc((size_t)n, sizeof(*o->ids));
    o->is_cb = calloc((size_t)n, sizeof(*o->is_cb));
    o->row = row;
    o->done = done;
    o->arg = arg;
    if (o->a.oom || !o->ids || !o->is_cb || (o->nzones && !o->zones)) {
        reserve_free(o);
        return PLT_ENOMEM;
    }
    rc = leads_job_start(&o->j, true, 0);
    if (rc != 0)
        reserve_free(o);
    return rc;
}

/* ------------------------------------------------------------------ */
/* attempt_done and disposition: durable, with history */

static bool
status_ok(int32_t s)
{
    return s >= PLT_LEAD_AVAILABLE && s <= PLT_LEAD_INVALID &&
           s != PLT_LEAD_RESERVED;
}

typedef struct record_op {
    leads_job j;
    leads_arena a;
    plt_lead_attempt at;
    plt_lead_disposition d;
    bool is_attempt;
    bool found;              /* disposition: the contact exists */
    const char *old_fields;  /* disposition: its JSON fields before */
    int64_t now;
    plt_leads_done_fn done;
    void *arg;
} record_op;

static void
attempt_step(leads_job *j)
{
    record_op *o = (record_op *)j;
    const plt_lead_attempt *a = &o->at;
    switch (j->stage++) {
    case 0: {
        int64_t when = a->started_at ? a->started_at : o->now;
        int64_t next = a->next_attempt_at ? a->next_attempt_at : o->now;
        plt_value v[] = {PLT_V_I64(a->contact_id), PLT_V_STR(a->owner),
                         PLT_V_I64(a->new_status), PLT_V_I64(o->now),
                         PLT_V_I64(when), PLT_V_I64(next),
                         PLT_V_STR(a->outcome)};
        /* A callback booked (by a disposition) during the reservation and
         * still in the future wins over a plain "try again later". */
        leads_job_query(
            j,
            "UPDATE contact SET"
            " status = CASE WHEN $3 = 1 AND callback_at > $4 THEN 3"
            "  ELSE $3 END,"
            " callback_agent = CASE WHEN ($3 = 1 AND callback_at > $4)"
            "  OR $3 = 3 THEN callback_agent ELSE NULL END,"
            " callback_at = CASE WHEN ($3 = 1 AND callback_at > $4)"
            "  OR $3 = 3 THEN callback_at ELSE 0 END,"
            " attempts = attempts + 1, last_attempt_at = $5,"
            " next_attempt_at = $6, last_outcome = $7, reserved_by = NULL,"
            " reserved_at = 0, updated_at = $4"
            " WHERE id = $1 AND status = 2 AND reserved_by = $2",
            v, 7, PLT_STORAGE_WRITE, NULL);
        return;
    }
    case 1: {
        if (j->affected <= 0) {
            leads_job_fail(j, PLT_ECONFLICT,
                           "contact %lld is not reserved by %s",
                           (long long)a->contact_id, a->owner);
            return;
        }
        char note[128];
        if (a->answered_at && a->ended_at >= a->answered_at)
            snprintf(note, sizeof(note), "sip %d, talked %lld s", a->sip_code,
                     (long long)((a->ended_at - a->answered_at) / 1000));
        else
            snprintf(note, sizeof(note), "sip %d", a->sip_code);
        plt_value v[] = {PLT_V_I64(a->contact_id),
                         PLT_V_I64(a->started_at ? a->started_at : o->now),
                         PLT_V_STR(a->campaign), PLT_V_STR(a->phone),
                         PLT_V_STR(a->outcome), PLT_V_STR(a->agent),
                         PLT_V_STR(note), PLT_V_STR(a->attempt_ref)};
        leads_job_query(j,
                        "INSERT INTO contact_event (contact_id, at, kind,"
                        " campaign, phone, outcome, agent, note, attempt_ref)"
                        " VALUES ($1, $2, 'attempt', $3, $4, $5, $6, $7, $8)",
                        v, 8, PLT_STORAGE_WRITE, NULL);
        return;
    }
    default:
        leads_job_commit(j);
    }
}

static void
record_finish(leads_job *j)
{
    record_op *o = (record_op *)j;
    o->done(o->arg, j->status, j->msg[0] ? j->msg : NULL);
    leads_arena_free(&o->a);
    free(o);
}

int
leads_attempt_done(void *impl, const plt_lead_attempt *a,
                   plt_leads_done_fn done, void *arg)
{
    if (!a || a->size < offsetof(plt_lead_attempt, next_attempt_at) +
                            sizeof(int64_t) ||
        a->contact_id <= 0 || !a->owner || !*a->owner || !done ||
        !status_ok(a->new_status))
        return PLT_EINVAL;
    record_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->j.L = impl;
    o->j.step = attempt_step;
    o->j.finish = record_finish;
    o->at = *a;
    o->at.owner = leads_arena_dup(&o->a, a->owner);
    o->at.campaign = leads_arena_dup(&o->a, a->campaign);
    o->at.phone = leads_arena_dup(&o->a, a->phone);
    o->at.outcome = leads_arena_dup(&o->a, a->outcome);
    o->at.agent = leads_arena_dup(&o->a, a->agent);
    o->at.attempt_ref = leads_arena_dup(&o->a, a->attempt_ref);
    o->now = plt_now();
    o->done = done;
    o->arg = arg;
    int rc = o->a.oom ? PLT_ENOMEM
                      : leads_job_start(&o->j, true, PLT_STORAGE_DURABLE);
    if (rc != 0) {
        leads_arena_free(&o->a);
        free(o);
    }
    return rc;
}

static int
disposition_row(void *arg, const plt_storage_row *row)
{
    record_op *o = arg;
    o->found = true;
    o->old_fields = leads_arena_dup(&o->a, leads_col_str(row, 0));
    return o->a.oom ? 1 : 0;
}

static void
disposition_step(leads_job *j)
{
    record_op *o = (record_op *)j;
    const plt_lead_disposition *d = &o->d;
    /* A callback time makes the contact a callback. While the contact is
     * reserved its status is the dialer's (attempt_done() decides; a
     * future callback set here then wins over "try again later"). */
    int32_t ns = d->callback_at > 0 ? PLT_LEAD_CALLBACK : d->new_status;
    for (;;) {
        switch (j->stage++) {
        case 0: {
            plt_value v[] = {PLT_V_I64(d->contact_id), PLT_V_STR(d->code),
                             PLT_V_I64(ns), PLT_V_I64(d->callback_at),
                             PLT_V_STR(d->callback_agent), PLT_V_I64(o->now)};
            leads_job_query(
                j,
                "UPDATE contact SET last_disposition = $2,"
                " status = CASE WHEN status = 2 OR $3 = 0 THEN status"
                "  ELSE $3 END,"
                " callback_at = CASE WHEN $4 > 0 THEN $4 ELSE callback_at END,"
                " callback_agent = CASE WHEN $4 > 0 THEN $5"
                "  ELSE callback_agent END,"
                " updated_at = $6 WHERE id = $1 RETURNING fields",
                v, 6, PLT_STORAGE_WRITE, disposition_row);
            return;
        }
        case 1: {
            if (!o->found && j->affected <= 0) {
                leads_job_fail(j, PLT_ENOENT, "no contact %lld",
                               (long long)d->contact_id);
                return;
            }
            if (d->nfields == 0)
                continue;
            /* The UPDATE above holds the row (PostgreSQL locks it; SQLite
             * has one writer): read, merge in C, write back. */
            char *json = NULL;
            if (leads_fields_merge(o->old_fields, d->fields, d->nfields,
                                   &json) != 0) {
                leads_job_fail(j, PLT_ENOMEM, "out of memory");
                return;
            }
            plt_value v[] = {PLT_V_I64(d->contact_id), PLT_V_STR(json)};
            leads_job_query(j, "UPDATE contact SET fields = $2 WHERE id = $1",
                            v, 2, PLT_STORAGE_WRITE, NULL);
            free(json); /* the engine copied it */
            return;
        }
        case 2:
        case 3: {
            /* The search index (indexed fields only): the rows of the old
             * values go (found by the old document), then the new ones
             * come. One row per name: a name repeated keeps its last
             * value. */
            bool del = j->stage == 3;
            leads_sb sql = {0};
            leads_args args = {0};
            leads_args_add(&args, PLT_V_I64(d->contact_id));
            leads_sb_add(&sql, del ? "DELETE FROM contact_search WHERE"
                                     " contact_id = $1 AND ("
                                   : "INSERT INTO contact_search (name,"
                                     " value, contact_id, folded) VALUES ");
            size_t rows = 0;
            for (size_t i = 0; i < d->nfields; i++) {
                bool later = false;
                for (size_t k = i + 1; k < d->nfields && !later; k++)
                    later = strcmp(d->fields[k].name, d->fields[i].name) == 0;
                if (later || !leads_field_indexed(j->L, d->fields[i].name))
                    continue;
                const char *v = d->fields[i].value;
                if (del)
                    v = leads_fields_value(&o->a, o->old_fields,
                                           d->fields[i].name);
                if (!v)
                    continue;
                leads_args_add(&args, PLT_V_STR(d->fields[i].name));
                leads_args_add(&args, PLT_V_STR(v));
                if (del) {
                    leads_sb_addf(&sql, "%s(name = $%zu AND value = $%zu)",
                                  rows++ ? " OR " : "", args.n - 1, args.n);
                    continue;
                }
                char *f = leads_fold(v);
                const char *kept = leads_arena_dup(&o->a, f);
                free(f);
                leads_args_add(&args, PLT_V_STR(kept));
                leads_sb_addf(&sql, "%s($%zu, $%zu, $1, $%zu)",
                              rows++ ? ", " : "", args.n - 2, args.n - 1,
                              args.n);
            }
            if (o->a.oom) {
                leads_sb_free(&sql);
                leads_args_free(&args);
                leads_job_fail(j, PLT_ENOMEM, "out of memory");
                return;
            }
            if (rows == 0) {
                leads_sb_free(&sql);
                leads_args_free(&args);
                continue;
            }
            leads_sb_add(&sql, del ? ")" : " ON CONFLICT DO NOTHING");
            leads_job_query_built(j, &sql, &args, PLT_STORAGE_WRITE, NULL);
            return;
        }
        case 4: {
            plt_value v[] = {PLT_V_I64(d->contact_id), PLT_V_I64(o->now),
                             PLT_V_STR(d->campaign), PLT_V_STR(d->code),
                             PLT_V_STR(d->agent), PLT_V_STR(d->note)};
            leads_job_query(j,
                            "INSERT INTO contact_event (contact_id, at, kind,"
                            " campaign, disposition, agent, note) VALUES"
                            " ($1, $2, 'disposition', $3, $4, $5, $6)",
                            v, 6, PLT_STORAGE_WRITE, NULL);
            return;
        }
        case 5: {
            if (d->callback_at <= 0)
                continue;
            char note[160];
            time_t t = (time_t)(d->callback_at / 1000);
            struct tm tm;
            gmtime_r(&t, &tm);
            char when[32];
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
            snprintf(note, sizeof(note), "callback at %s for %s", when,
                     d->callback_agent ? d->callback_agent : "anyone");
            plt_value v[] = {PLT_V_I64(d->contact_id), PLT_V_I64(o->now),
                             PLT_V_STR(d->campaign), PLT_V_STR(d->agent),
                             PLT_V_STR(note)};
            /* Same time as the disposition, a larger id: history (newest
             * first, then by id) shows the callback above it. */
            leads_job_query(j,
                            "INSERT INTO contact_event (contact_id, at, kind,"
                            " campaign, agent, note) VALUES"
                            " ($1, $2, 'callback', $3, $4, $5)",
                            v, 5, PLT_STORAGE_WRITE, NULL);
            return;
        }
        default:
            leads_job_commit(j);
            return;
        }
    }
}

int
leads_disposition(void *impl, const plt_lead_disposition *d,
                  plt_leads_done_fn done, void *arg)
{
    if (!d || d->size < offsetof(plt_lead_disposition, nfields) +
                            sizeof(size_t) ||
        d->contact_id <= 0 || !d->code || !done ||
        (d->new_status != 0 && !status_ok(d->new_status)) ||
        (d->new_status == PLT_LEAD_CALLBACK && d->callback_at <= 0) ||
        (d->nfields && !d->fields))
        return PLT_EINVAL;
    for (size_t i = 0; i < d->nfields; i++)
        if (!d->fields[i].name || !*d->fields[i].name)
            return PLT_EINVAL;
    record_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    leads_arena *ar = &o->a;
    o->j.L = impl;
    o->j.step = disposition_step;
    o->j.finish = record_finish;
    o->d = *d;
    o->d.campaign = leads_arena_dup(ar, d->campaign);
    o->d.code = leads_arena_dup(ar, d->code);
    o->d.note = leads_arena_dup(ar, d->note);
    o->d.agent = leads_arena_dup(ar, d->agent);
    o->d.callback_agent = leads_arena_dup(ar, d->callback_agent);
    plt_lead_field *f =
        d->nfields ? leads_arena_alloc(ar, d->nfields * sizeof(*f)) : NULL;
    for (size_t i = 0; f && i < d->nfields; i++) {
        f[i].name = leads_arena_dup(ar, d->fields[i].name);
        f[i].value = leads_arena_dup(ar, d->fields[i].value);
    }
    o->d.fields = f;
    o->now = plt_now();
    o->done = done;
    o->arg = arg;
    int rc = ar->oom ? PLT_ENOMEM
                     : leads_job_start(&o->j, true, PLT_STORAGE_DURABLE);
    if (rc != 0) {
        leads_arena_free(ar);
        free(o);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* attempts_since: the partial index contact_event_attempt (phone, at) */

typedef struct count_op {
    leads_job j;
    int64_t since, count;
    plt_leads_i64_fn cb;
    void *arg;
    char e164[];
} count_op;

static int
count_row(void *arg, const plt_storage_row *row)
{
    ((count_op *)arg)->count = leads_col_i64(row, 0);
    return 0;
}

static void
count_step(leads_job *j)
{
    count_op *o = (count_op *)j;
    if (j->stage++ == 0) {
        plt_value a[] = {PLT_V_STR(o->e164), PLT_V_I64(o->since)};
        leads_job_query(j,
                        "SELECT count(*) FROM contact_event"
                        " WHERE kind = 'attempt' AND phone = $1 AND at >= $2",
                        a, 2, 0, count_row);
        return;
    }
    leads_job_done(j);
}

static void
count_finish(leads_job *j)
{
    count_op *o = (count_op *)j;
    o->cb(o->arg, j->status, j->status == 0 ? o->count : 0);
    free(o);
}

int
leads_attempts_since(void *impl, const char *e164, int64_t since,
                     plt_leads_i64_fn cb, void *arg)
{
    if (!e164 || !*e164 || !cb)
        return PLT_EINVAL;
    size_t n = strlen(e164);
    count_op *o = calloc(1, sizeof(*o) + n + 1);
    if (!o)
        return PLT_ENOMEM;
    memcpy(o->e164, e164, n + 1);
    o->j.L = impl;
    o->j.step = count_step;
    o->j.finish = count_finish;
    o->since = since;
    o->cb = cb;
    o->arg = arg;
    int rc = leads_job_start(&o->j, false, 0);
    if (rc != 0)
        free(o);
    return rc;
}
