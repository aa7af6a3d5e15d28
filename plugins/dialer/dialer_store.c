/* SPDX-License-Identifier: MIT */
/*
 * The dialer's records in storage: stored campaigns and their ON/OFF,
 * attempts (written durably BEFORE the call leaves, then their state),
 * compliance blocks (silence after a refusal, no repeat after an
 * abandoned call), pacing decisions ("why 7 lines now"), and callbacks
 * booked by results. Each query is one autocommit statement; what must
 * survive a power cut is written with PLT_STORAGE_DURABLE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialer_int.h"

const plt_storage_migration dialer_migrations[] = {
    {.version = 1,
     .name = "create dialer_campaign",
     .sql = "CREATE TABLE dialer_campaign (name TEXT PRIMARY KEY,"
            " definition TEXT, source TEXT NOT NULL, enabled BIGINT NOT NULL,"
            " updated_at BIGINT NOT NULL)"},
    {.version = 2,
     .name = "create dialer_attempt",
     .sql = "CREATE TABLE dialer_attempt (id PLT_ID, ref TEXT NOT NULL UNIQUE,"
            " owner TEXT NOT NULL, campaign TEXT NOT NULL,"
            " contact_id BIGINT NOT NULL, phone TEXT NOT NULL,"
            " state TEXT NOT NULL, outcome TEXT, agent TEXT,"
            " live BIGINT NOT NULL DEFAULT 0, abandoned BIGINT NOT NULL"
            " DEFAULT 0, machine BIGINT NOT NULL DEFAULT 0,"
            " started_at BIGINT NOT NULL, answered_at BIGINT NOT NULL DEFAULT"
            " 0, ended_at BIGINT NOT NULL DEFAULT 0)"},
    {.version = 3,
     .name = "index dialer_attempt_phone",
     .sql = "CREATE INDEX dialer_attempt_phone ON dialer_attempt"
            " (phone, started_at)"},
    {.version = 4,
     .name = "index dialer_attempt_campaign",
     .sql = "CREATE INDEX dialer_attempt_campaign ON dialer_attempt"
            " (campaign, started_at)"},
    {.version = 5,
     .name = "index dialer_attempt_state",
     .sql = "CREATE INDEX dialer_attempt_state ON dialer_attempt"
            " (owner, state)"},
    {.version = 6,
     .name = "create dialer_block",
     .sql = "CREATE TABLE dialer_block (id PLT_ID, contact_id BIGINT NOT NULL,"
            " phone TEXT, kind TEXT NOT NULL, until BIGINT NOT NULL,"
            " created_at BIGINT NOT NULL)"},
    {.version = 7,
     .name = "index dialer_block_phone",
     .sql = "CREATE INDEX dialer_block_phone ON dialer_block (phone, until)"},
    {.version = 8,
     .name = "index dialer_block_contact",
     .sql = "CREATE INDEX dialer_block_contact ON dialer_block"
            " (contact_id, until)"},
    {.version = 9,
     .name = "create dialer_pacing",
     .sql = "CREATE TABLE dialer_pacing (id PLT_ID, campaign TEXT NOT NULL,"
            " at BIGINT NOT NULL, lines BIGINT NOT NULL, explain TEXT)"},
    {.version = 10,
     .name = "index dialer_pacing_campaign",
     .sql = "CREATE INDEX dialer_pacing_campaign ON dialer_pacing"
            " (campaign, at)"},
    {.version = 11,
     .name = "create dialer_callback",
     .sql = "CREATE TABLE dialer_callback (contact_id BIGINT NOT NULL,"
            " campaign TEXT NOT NULL, agent TEXT, at BIGINT NOT NULL,"
            " PRIMARY KEY (contact_id, campaign))"},
};
const size_t dialer_nmigrations =
    sizeof(dialer_migrations) / sizeof(dialer_migrations[0]);

/* ------------------------------------------------------------------ */

typedef struct simple_op {
    dialer *D;
    dialer_store_fn cb;
    void *arg;
    const char *what;
} simple_op;

static void
simple_done(void *arg, int status, const plt_storage_result *res)
{
    simple_op *o = arg;
    if (status != 0)
        plt_log(PLT_LOG_WARN, "dialer store: %s: %s", o->what,
                res && res->error ? res->error : plt_strerror(status));
    o->D->ops_in_flight--;
    if (o->cb)
        o->cb(o->arg, status);
    free(o);
}

static int
run(dialer *D, const char *what, const char *sql, const plt_value *v,
    size_t n, uint32_t flags, plt_storage_row_fn row, void *rowarg,
    dialer_store_fn cb, void *arg)
{
    simple_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->D = D;
    o->cb = cb;
    o->arg = arg;
    o->what = what;
    (void)rowarg;
    int rc = plt_storage_exec(&D->st, sql, v, n, flags, row,
                              simple_done, o);
    if (rc != 0) {
        free(o);
        return rc;
    }
    D->ops_in_flight++;
    return 0;
}

int
dialer_store_attempt_insert(dialer *D, attempt *a, dialer_store_fn cb,
                            void *arg)
{
    plt_value v[] = {PLT_V_STR(a->ref), PLT_V_STR(D->owner),
                     PLT_V_STR(a->camp->def.c.name), PLT_V_I64(a->contact_id),
                     PLT_V_STR(a->phone), PLT_V_I64(a->started_at),
                     PLT_V_STR(a->agent[0] ? a->agent : NULL)};
    return run(D, "attempt insert",
               "INSERT INTO dialer_attempt (ref, owner, campaign, contact_id,"
               " phone, state, agent, started_at) VALUES ($1, $2, $3, $4, $5,"
               " 'pending', $7, $6)",
               v, 7, PLT_STORAGE_WRITE | PLT_STORAGE_DURABLE, NULL, NULL, cb,
               arg);
}

int
dialer_store_attempt_state(dialer *D, attempt *a, const char *state,
                           bool durable, dialer_store_fn cb, void *arg)
{
    plt_value v[] = {PLT_V_STR(a->ref),
                     PLT_V_STR(state),
                     PLT_V_STR(a->outcome[0] ? a->outcome : NULL),
                     PLT_V_STR(a->connected_agent[0] ? a->connected_agent
                                                     : NULL),
                     PLT_V_I64(a->answered_at && !a->machine),
                     PLT_V_I64(a->abandoned),
                     PLT_V_I64(a->machine),
                     PLT_V_I64(a->answered_at),
                     PLT_V_I64(a->ended_at)};
    return run(D, "attempt state",
               "UPDATE dialer_attempt SET state = $2, outcome = $3,"
               " agent = COALESCE($4, agent), live = $5, abandoned = $6,"
               " machine = $7, answered_at = $8, ended_at = $9"
               " WHERE ref = $1",
               v, 9, PLT_STORAGE_WRITE | (durable ? PLT_STORAGE_DURABLE : 0),
               NULL, NULL, cb, arg);
}

int
dialer_store_campaign_put(dialer *D, const plt_dialer_campaign *c,
                          bool enabled, bool insert_only, dialer_store_fn cb,
                          void *arg)
{
    bool cfg = c->source && !strcmp(c->source, "config");
    char *json = cfg ? NULL : camp_def_to_json(c);
    if (!cfg && !json)
        return PLT_ENOMEM;
    plt_value v[] = {PLT_V_STR(c->name), PLT_V_STR(json),
                     PLT_V_STR(cfg ? "config" : "storage"),
                     PLT_V_I64(enabled), PLT_V_I64(plt_now())};
    const char *sql =
        insert_only
            ? "INSERT INTO dialer_campaign (name, definition, source, enabled,"
              " updated_at) VALUES ($1, $2, $3, $4, $5)"
            : cfg ? "INSERT INTO dialer_campaign (name, definition, source,"
                    " enabled, updated_at) VALUES ($1, $2, $3, $4, $5)"
                    " ON CONFLICT (name) DO UPDATE SET enabled ="
                    " excluded.enabled, updated_at = excluded.updated_at"
                  : "INSERT INTO dialer_campaign (name, definition, source,"
                    " enabled, updated_at) VALUES ($1, $2, $3, $4, $5)"
                    " ON CONFLICT (name) DO UPDATE SET definition ="
                    " excluded.definition, enabled = excluded.enabled,"
                    " updated_at = excluded.updated_at";
    int rc = run(D, "campaign", sql, v, 5,
                 PLT_STORAGE_WRITE | PLT_STORAGE_DURABLE, NULL, NULL, cb, arg);
    free(json);
    return rc;
}

int
dialer_store_block(dialer *D, int64_t contact_id, const char *phone,
                   const char *kind, int64_t until)
{
    plt_value v[] = {PLT_V_I64(contact_id), PLT_V_STR(phone), PLT_V_STR(kind),
                     PLT_V_I64(until), PLT_V_I64(plt_now())};
    return run(D, "block",
               "INSERT INTO dialer_block (contact_id, phone, kind, until,"
               " created_at) VALUES ($1, $2, $3, $4, $5)",
               v, 5, PLT_STORAGE_WRITE | PLT_STORAGE_DURABLE, NULL, NULL, NULL,
               NULL);
}

int
dialer_store_pacing(dialer *D, const char *camp_name, int32_t lines,
                    const char *explain)
{
    plt_value v[] = {PLT_V_STR(camp_name), PLT_V_I64(plt_now()),
                     PLT_V_I64(lines), PLT_V_STR(explain)};
    return run(D, "pacing",
               "INSERT INTO dialer_pacing (campaign, at, lines, explain)"
               " VALUES ($1, $2, $3, $4)",
               v, 4, PLT_STORAGE_WRITE, NULL, NULL, NULL, NULL);
}

int
dialer_store_callback(dialer *D, int64_t contact_id, const char *camp,
                      const char *agent, int64_t at)
{
    plt_value v[] = {PLT_V_I64(contact_id), PLT_V_STR(camp), PLT_V_STR(agent),
                     PLT_V_I64(at)};
    if (at <= 0)
        return run(D, "callback done",
                   "DELETE FROM dialer_callback WHERE contact_id = $1"
                   " AND campaign = $2",
                   v, 2, PLT_STORAGE_WRITE, NULL, NULL, NULL, NULL);
    return run(D, "callback",
               "INSERT INTO dialer_callback (contact_id, campaign, agent, at)"
               " VALUES ($1, $2, $3, $4) ON CONFLICT (contact_id, campaign)"
               " DO UPDATE SET agent = excluded.agent, at = excluded.at",
               v, 4, PLT_STORAGE_WRITE | PLT_STORAGE_DURABLE, NULL, NULL, NULL,
               NULL);
}

/* ------------------------------------------------------------------ */
/* compliance checks at dial time */

typedef struct check_op {
    dialer *D;
    attempt *a;
    int stage;
    int64_t count, oldest, until;
    char kind[24];
    dialer_store_fn cb;
    void *arg;
} check_op;

static void check_step(check_op *o);

static int
count_row(void *arg, const plt_storage_row *row)
{
    check_op *o = arg;
    o->count = row->vals[0].type == PLT_T_I64 ? row->vals[0].v.i : 0;
    o->oldest = row->ncols > 1 && row->vals[1].type == PLT_T_I64
                    ? row->vals[1].v.i
                    : 0;
    return 0;
}

static int
block_row(void *arg, const plt_storage_row *row)
{
    check_op *o = arg;
    int64_t until = row->vals[0].type == PLT_T_I64 ? row->vals[0].v.i : 0;
    if (until > o->until) {
        o->until = until;
        snprintf(o->kind, sizeof(o->kind), "%s",
                 row->vals[1].type == PLT_T_STR ? row->vals[1].v.s : "block");
    }
    return 0;
}

static void
check_done(void *arg, int status, const plt_storage_result *res)
{
    check_op *o = arg;
    o->D->ops_in_flight--;
    if (status != 0) {
        plt_log(PLT_LOG_WARN, "dialer checks: %s",
                res && res->error ? res->error : plt_strerror(status));
        /* Unknown: do not dial. */
        o->a->blocked = true;
        snprintf(o->a->blocked_rule, sizeof(o->a->blocked_rule), "error");
        o->a->blocked_until = plt_now() + 60000;
        o->cb(o->arg, status);
        free(o);
        return;
    }
    check_step(o);
}

static void
check_step(check_op *o)
{
    attempt *a = o->a;
    const dialer_pack *p = a->camp->pack;
    int64_t now = plt_now();
    int rc = 0;
    for (;;) {
        switch (o->stage++) {
        case 0: {
            if (!p || !p->cap_count)
                continue;
            /* Every attempt on any number of this consumer, every
             * campaign, within the window (written before dialling, so
             * calls in flight count). */
            char sql[1024];
            plt_value v[PLT_LEADS_MAX_PHONES + 2];
            size_t n = 0;
            v[n++] = PLT_V_I64(now - p->cap_window_ms);
            v[n++] = PLT_V_I64(a->contact_id);
            int off = snprintf(sql, sizeof(sql),
                               "SELECT count(*), min(started_at) FROM"
                               " dialer_attempt WHERE started_at >= $1 AND"
                               " state NOT IN ('deferred', 'cancelled') AND"
                               " (contact_id = $2");
            for (size_t i = 0; i < a->nphones; i++) {
                v[n++] = PLT_V_STR(a->phones[i]);
                off += snprintf(sql + off, sizeof(sql) - (size_t)off,
                                " OR phone = $%zu", n);
            }
            snprintf(sql + off, sizeof(sql) - (size_t)off, ")");
            o->count = 0;
            rc = plt_storage_exec(&o->D->st, sql, v, n, 0, count_row,
                                  check_done, o);
            break;
        }
        case 1:
            if (p && p->cap_count && o->count >= p->cap_count) {
                a->blocked = true;
                snprintf(a->blocked_rule, sizeof(a->blocked_rule), "cap");
                a->blocked_until = (o->oldest ? o->oldest : now) +
                                   p->cap_window_ms + 1;
            }
            continue;
        case 2: {
            char sql[1024];
            plt_value v[PLT_LEADS_MAX_PHONES + 2];
            size_t n = 0;
            v[n++] = PLT_V_I64(now);
            v[n++] = PLT_V_I64(a->contact_id);
            int off = snprintf(sql, sizeof(sql),
                               "SELECT until, kind FROM dialer_block WHERE"
                               " until > $1 AND (contact_id = $2");
            for (size_t i = 0; i < a->nphones; i++) {
                v[n++] = PLT_V_STR(a->phones[i]);
                off += snprintf(sql + off, sizeof(sql) - (size_t)off,
                                " OR phone = $%zu", n);
            }
            snprintf(sql + off, sizeof(sql) - (size_t)off, ")");
            rc = plt_storage_exec(&o->D->st, sql, v, n, 0, block_row,
                                  check_done, o);
            break;
        }
        case 3:
            if (o->until > now &&
                (!a->blocked || o->until > a->blocked_until)) {
                a->blocked = true;
                snprintf(a->blocked_rule, sizeof(a->blocked_rule), "%s",
                         o->kind);
                a->blocked_until = o->until;
            }
            o->cb(o->arg, 0);
            free(o);
            return;
        }
        break;
    }
    if (rc != 0) {
        a->blocked = true;
        snprintf(a->blocked_rule, sizeof(a->blocked_rule), "error");
        a->blocked_until = now + 60000;
        o->cb(o->arg, rc);
        free(o);
        return;
    }
    o->D->ops_in_flight++;
}

int
dialer_store_checks(dialer *D, attempt *a, dialer_store_fn cb, void *arg)
{
    check_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->D = D;
    o->a = a;
    o->cb = cb;
    o->arg = arg;
    check_step(o);
    return 0;
}

/* ------------------------------------------------------------------ */
/* loading at start: stored campaigns, ON/OFF, callbacks, the abandonment
 * windows */

typedef struct load_op {
    dialer *D;
    int stage;
    dialer_store_fn cb;
    void *arg;
} load_op;

static void load_step(load_op *o);

static int
camp_row(void *arg, const plt_storage_row *row)
{
    load_op *o = arg;
    dialer *D = o->D;
    const char *name = row->vals[0].type == PLT_T_STR ? row->vals[0].v.s : "";
    const char *def = row->vals[1].type == PLT_T_STR ? row->vals[1].v.s : NULL;
    bool enabled = row->vals[2].type == PLT_T_I64 && row->vals[2].v.i;
    campaign *c = dialer_campaign_find(D, name);
    if (c) {
        c->enabled = enabled; /* the stored switch wins */
        return 0;
    }
    if (!def)
        return 0; /* a configuration campaign no longer configured */
    camp_def d;
    char why[512];
    if (camp_def_from_json(&d, def, why, sizeof(why)) != 0) {
        plt_log(PLT_LOG_ERROR, "stored campaign %s: %s", name, why);
        return 0;
    }
    d.c.enabled = enabled;
    if (dialer_campaign_add(D, &d.c, false, why, sizeof(why), NULL) != 0)
        plt_log(PLT_LOG_ERROR, "stored campaign %s: %s", name, why);
    camp_def_free(&d);
    return 0;
}

static int
cb_row(void *arg, const plt_storage_row *row)
{
    dialer *D = ((load_op *)arg)->D;
    dialer_callback_put(D, row->vals[0].v.i, row->vals[1].v.s,
                        row->vals[2].type == PLT_T_STR ? row->vals[2].v.s
                                                       : NULL,
                        row->vals[3].v.i);
    return 0;
}

static int
ab_row(void *arg, const plt_storage_row *row)
{
    dialer *D = ((load_op *)arg)->D;
    campaign *c = dialer_campaign_find(D, row->vals[0].v.s);
    if (!c)
        return 0;
    int64_t live = row->vals[2].v.i, ab = row->vals[3].v.i,
            machine = row->vals[4].v.i;
    double charge = (double)ab;
    if (c->pack && c->pack->count_amd_false_positives && machine)
        charge += c->pack->amd_false_positive_rate;
    if (live || ab || machine)
        dialer_ab_add(c, row->vals[1].v.i, (int32_t)live, charge);
    return 0;
}

static void
load_done(void *arg, int status, const plt_storage_result *res)
{
    load_op *o = arg;
    o->D->ops_in_flight--;
    if (status != 0) {
        plt_log(PLT_LOG_ERROR, "dialer: loading: %s",
                res && res->error ? res->error : plt_strerror(status));
        o->cb(o->arg, status);
        free(o);
        return;
    }
    load_step(o);
}

static void
load_step(load_op *o)
{
    dialer *D = o->D;
    int rc;
    switch (o->stage++) {
    case 0:
        rc = plt_storage_exec(&D->st,
                              "SELECT name, definition, enabled FROM"
                              " dialer_campaign ORDER BY name",
                              NULL, 0, 0, camp_row, load_done, o);
        break;
    case 1:
        rc = plt_storage_exec(&D->st,
                              "SELECT contact_id, campaign, agent, at FROM"
                              " dialer_callback ORDER BY at",
                              NULL, 0, 0, cb_row, load_done, o);
        break;
    case 2: {
        /* 31 days covers every window the packs use. */
        plt_value v[] = {PLT_V_I64(plt_now() - 31 * DIALER_DAY_MS)};
        rc = plt_storage_exec(&D->st,
                              "SELECT campaign, COALESCE(NULLIF(answered_at, 0),"
                              " started_at), live, abandoned, machine FROM"
                              " dialer_attempt WHERE started_at >= $1 AND"
                              " (live = 1 OR machine = 1) ORDER BY started_at",
                              v, 1, 0, ab_row, load_done, o);
        break;
    }
    default:
        o->cb(o->arg, 0);
        free(o);
        return;
    }
    if (rc != 0) {
        o->cb(o->arg, rc);
        free(o);
        return;
    }
    D->ops_in_flight++;
}

int
dialer_load(dialer *D, dialer_store_fn cb, void *arg)
{
    load_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->D = D;
    o->cb = cb;
    o->arg = arg;
    load_step(o);
    return 0;
}

/* ------------------------------------------------------------------ */
/* pacing log */

typedef struct plog_op {
    dialer *D;
    plt_dialer_pacing_row_fn row;
    plt_dialer_done_fn done;
    void *arg;
    bool stopped;
} plog_op;

static int
plog_row(void *arg, const plt_storage_row *row)
{
    plog_op *o = arg;
    plt_dialer_pacing_entry e = {
        .campaign = row->vals[0].v.s,
        .at = row->vals[1].v.i,
        .lines = (int32_t)row->vals[2].v.i,
        .explain = row->vals[3].type == PLT_T_STR ? row->vals[3].v.s : ""};
    if (o->row(o->arg, &e) != 0) {
        o->stopped = true;
        return 1;
    }
    return 0;
}

static void
plog_done(void *arg, int status, const plt_storage_result *res)
{
    plog_op *o = arg;
    o->D->ops_in_flight--;
    if (o->stopped && status == PLT_ECANCELED)
        status = 0;
    o->done(o->arg, status, status && res ? res->error : NULL);
    free(o);
}

int
dialer_svc_pacing_log(void *impl, const char *cname, int64_t since,
                      int32_t limit, plt_dialer_pacing_row_fn row,
                      plt_dialer_done_fn done, void *arg)
{
    dialer *D = impl;
    if (!cname || !row || !done || limit < 1)
        return PLT_EINVAL;
    plog_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->D = D;
    o->row = row;
    o->done = done;
    o->arg = arg;
    plt_value v[] = {PLT_V_STR(cname), PLT_V_I64(since), PLT_V_I64(limit)};
    int rc = plt_storage_exec(&D->st,
                              "SELECT campaign, at, lines, explain FROM"
                              " dialer_pacing WHERE campaign = $1 AND at >= $2"
                              " ORDER BY at DESC, id DESC LIMIT $3",
                              v, 3, 0, plog_row, plog_done, o);
    if (rc != 0) {
        free(o);
        return rc;
    }
    D->ops_in_flight++;
    return 0;
}
