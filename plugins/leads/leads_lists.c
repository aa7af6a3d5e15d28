/* SPDX-License-Identifier: MIT */
/*
 * Lists: a list holds contacts imported together, with its normalisation
 * rules (default country, prefix to add, restoring lost trunk zeros) and
 * the names of its custom fields. Lists are attached to campaigns with a
 * weight that reserve() uses to mix them. The rules of a list are frozen
 * at creation (there is no call to change them), so they are cached in
 * memory once read; attachments are always read from the database, since
 * another node may change them.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leads_int.h"

/* ------------------------------------------------------------------ */
/* list_create */

typedef struct create_op {
    leads_job j;
    leads_arena a;
    leads_list_rules rules;
    const char *name;
    const char **fields;
    size_t nfields;
    int64_t id;
    plt_leads_id_fn cb;
    void *arg;
} create_op;

static int
create_id_row(void *arg, const plt_storage_row *row)
{
    create_op *o = arg;
    o->id = leads_col_i64(row, 0);
    return 0;
}

static void
create_step(leads_job *j)
{
    create_op *o = (create_op *)j;
    switch (j->stage++) {
    case 0: {
        plt_value args[] = {PLT_V_STR(o->name), PLT_V_STR(o->rules.country),
                            o->rules.prefix[0] ? PLT_V_STR(o->rules.prefix)
                                               : PLT_V_NULL(),
                            PLT_V_I64(o->rules.restore_lost_zero),
                            PLT_V_I64(plt_now())};
        /* ON CONFLICT: a taken name is "no row", not an error each engine
         * words differently. */
        leads_job_query(j,
                        "INSERT INTO lead_list (name, country, prefix,"
                        " restore_lost_zero, created_at)"
                        " VALUES ($1, $2, $3, $4, $5)"
                        " ON CONFLICT (name) DO NOTHING RETURNING id",
                        args, 5, PLT_STORAGE_WRITE, create_id_row);
        return;
    }
    case 1: {
        if (o->id == 0) {
            leads_job_fail(j, PLT_EEXIST, "a list named '%s' exists",
                           o->name);
            return;
        }
        if (o->nfields == 0) {
            leads_job_commit(j);
            return;
        }
        leads_sb sql = {0};
        leads_args args = {0};
        leads_sb_add(&sql, "INSERT INTO lead_list_field (list_id, position,"
                           " name) VALUES ");
        leads_args_add(&args, PLT_V_I64(o->id));
        for (size_t i = 0; i < o->nfields; i++) {
            leads_sb_addf(&sql, "%s($1, $%zu, $%zu)", i ? ", " : "",
                          args.n + 1, args.n + 2);
            leads_args_add(&args, PLT_V_I64((int64_t)i + 1));
            leads_args_add(&args, PLT_V_STR(o->fields[i]));
        }
        leads_job_query_built(j, &sql, &args, PLT_STORAGE_WRITE, NULL);
        return;
    }
    default:
        leads_job_commit(j);
    }
}

static void
create_finish(leads_job *j)
{
    create_op *o = (create_op *)j;
    if (j->status == 0) {
        o->rules.id = o->id;
        leads_rules_put(j->L, &o->rules);
    }
    o->cb(o->arg, j->status, j->status == 0 ? o->id : 0);
    leads_arena_free(&o->a);
    free(o);
}

int
leads_list_create(void *impl, const char *name, const plt_lead_rules *r,
                  const char *const *field_names, size_t nfields,
                  plt_leads_id_fn cb, void *arg)
{
    leads *L = impl;
    if (!name || !*name || !cb || (nfields && !field_names))
        return PLT_EINVAL;
    const char *country = r && r->country ? r->country : L->cfg.country;
    if (strlen(country) != 2 || !isalpha((unsigned char)country[0]) ||
        !isalpha((unsigned char)country[1]))
        return PLT_EINVAL;
    if (r && r->prefix && strlen(r->prefix) >= sizeof(((leads_list_rules *)0)->prefix))
        return PLT_EINVAL;
    for (size_t i = 0; i < nfields; i++)
        if (!field_names[i] || !*field_names[i])
            return PLT_EINVAL;
    /* The rules must make sense to the normaliser (unknown country, a
     * prefix that is not digits): refuse now rather than at import. */
    leads_list_rules lr = {0};
    lr.country[0] = (char)toupper((unsigned char)country[0]);
    lr.country[1] = (char)toupper((unsigned char)country[1]);
    if (r && r->prefix)
        snprintf(lr.prefix, sizeof(lr.prefix), "%s", r->prefix);
    lr.restore_lost_zero = r && r->restore_lost_zero;
    phone_rules pr;
    leads_phone_rules(L, &lr, &pr);
    phone_result res;
    if (phone_normalize("+33612345678", &pr, &res) == PLT_EINVAL)
        return PLT_EINVAL;
    if (phone_normalize("0612345678", &pr, &res) == PLT_EINVAL &&
        strstr(res.error, "unknown default country"))
        return PLT_EINVAL;

    create_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->j.L = L;
    o->j.step = create_step;
    o->j.finish = create_finish;
    o->rules = lr;
    o->name = leads_arena_dup(&o->a, name);
    o->fields = nfields ? leads_arena_alloc(&o->a, nfields * sizeof(char *))
                        : NULL;
    o->nfields = nfields;
    for (size_t i = 0; i < nfields && o->fields; i++)
        o->fields[i] = leads_arena_dup(&o->a, field_names[i]);
    o->cb = cb;
    o->arg = arg;
    int rc = o->a.oom ? PLT_ENOMEM : leads_job_start(&o->j, true, 0);
    if (rc != 0) {
        leads_arena_free(&o->a);
        free(o);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* list_find, and the rules of a list */

typedef struct find_op {
    leads_job j;
    int64_t id;
    leads_list_rules rules;
    bool found;
    plt_leads_id_fn cb;
    leads_rules_fn rcb;
    void *arg;
    char name[];
} find_op;

static int
find_row(void *arg, const plt_storage_row *row)
{
    find_op *o = arg;
    o->found = true;
    o->id = leads_col_i64(row, 0);
    o->rules.id = o->id;
    const char *c = leads_col_str(row, 1);
    const char *p = leads_col_str(row, 2);
    snprintf(o->rules.country, sizeof(o->rules.country), "%s", c ? c : "");
    snprintf(o->rules.prefix, sizeof(o->rules.prefix), "%s", p ? p : "");
    o->rules.restore_lost_zero = leads_col_i64(row, 3) != 0;
    return 0;
}

#define LIST_RULE_COLS "id, country, prefix, restore_lost_zero"

static void
find_step(leads_job *j)
{
    find_op *o = (find_op *)j;
    if (j->stage++ == 0) {
        if (o->name[0]) {
            plt_value a = PLT_V_STR(o->name);
            leads_job_query(j,
                            "SELECT " LIST_RULE_COLS
                            " FROM lead_list WHERE name = $1",
                            &a, 1, 0, find_row);
        } else {
            plt_value a = PLT_V_I64(o->id);
            leads_job_query(j,
                            "SELECT " LIST_RULE_COLS
                            " FROM lead_list WHERE id = $1",
                            &a, 1, 0, find_row);
        }
        return;
    }
    if (!o->found)
        leads_job_fail(j, PLT_ENOENT, "no such list");
    else
        leads_job_done(j);
}

static void
find_finish(leads_job *j)
{
    find_op *o = (find_op *)j;
    if (j->status == 0)
        leads_rules_put(j->L, &o->rules);
    if (o->cb)
        o->cb(o->arg, j->status, j->status == 0 ? o->id : 0);
    else
        o->rcb(o->arg, j->status, j->status == 0 ? &o->rules : NULL);
    free(o);
}

static int
find_start(leads *L, const char *name, int64_t id, plt_leads_id_fn cb,
           leads_rules_fn rcb, void *arg)
{
    size_t n = name ? strlen(name) : 0;
    find_op *o = calloc(1, sizeof(*o) + n + 1);
    if (!o)
        return PLT_ENOMEM;
    o->j.L = L;
    o->j.step = find_step;
    o->j.finish = find_finish;
    if (n)
        memcpy(o->name, name, n + 1);
    o->id = id;
    o->cb = cb;
    o->rcb = rcb;
    o->arg = arg;
    int rc = leads_job_start(&o->j, false, 0);
    if (rc != 0)
        free(o);
    return rc;
}

int
leads_list_find(void *impl, const char *name, plt_leads_id_fn cb, void *arg)
{
    if (!name || !*name || !cb)
        return PLT_EINVAL;
    return find_start(impl, name, 0, cb, NULL, arg);
}

int
leads_rules_load(leads *L, int64_t list_id, leads_rules_fn cb, void *arg)
{
    if (list_id <= 0)
        return PLT_EINVAL;
    return find_start(L, NULL, list_id, NULL, cb, arg);
}

/* ------------------------------------------------------------------ */
/* list_stats */

typedef struct stats_op {
    leads_job j;
    plt_list_stats st;
    bool exists;
    int64_t list_id, now;
    plt_list_stats_fn cb;
    void *arg;
} stats_op;

static int
stats_row(void *arg, const plt_storage_row *row)
{
    stats_op *o = arg;
    int64_t status = leads_col_i64(row, 0);
    int64_t count = leads_col_i64(row, 1);
    if (status == 0) { /* the existence marker */
        o->exists = count > 0;
        return 0;
    }
    if (status > 0 && status < 8)
        o->st.by_status[status] += count;
    o->st.total += count;
    o->st.due_now += leads_col_i64(row, 2);
    return 0;
}

static void
stats_step(leads_job *j)
{
    stats_op *o = (stats_op *)j;
    if (j->stage++ == 0) {
        plt_value a[] = {PLT_V_I64(o->list_id), PLT_V_I64(o->now)};
        /* Both parts walk an index prefix: contact_due (list_id, status)
         * and the primary key of lead_list. */
        leads_job_query(
            j,
            "SELECT status, count(*),"
            " sum(CASE WHEN status = 1 AND next_attempt_at <= $2"
            "  THEN 1 ELSE 0 END)"
            " FROM contact WHERE list_id = $1 GROUP BY status"
            " UNION ALL SELECT 0, count(*), 0 FROM lead_list WHERE id = $1",
            a, 2, 0, stats_row);
        return;
    }
    if (!o->exists)
        leads_job_fail(j, PLT_ENOENT, "no such list");
    else
        leads_job_done(j);
}

static void
stats_finish(leads_job *j)
{
    stats_op *o = (stats_op *)j;
    o->cb(o->arg, j->status, j->status == 0 ? &o->st : NULL);
    free(o);
}

int
leads_list_stats(void *impl, int64_t list_id, int64_t now,
                 plt_list_stats_fn cb, void *arg)
{
    if (list_id <= 0 || !cb)
        return PLT_EINVAL;
    stats_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->j.L = impl;
    o->j.step = stats_step;
    o->j.finish = stats_finish;
    o->list_id = list_id;
    o->now = now;
    o->cb = cb;
    o->arg = arg;
    int rc = leads_job_start(&o->j, false, 0);
    if (rc != 0)
        free(o);
    return rc;
}

/* ------------------------------------------------------------------ */
/* list_attach / list_detach: one statement each */

typedef struct simple_op {
    leads_job j;
    plt_leads_done_fn done;
    void *arg;
    const char *sql;
    plt_value args[3];
    size_t nargs;
    int none_status; /* when no row was affected */
    char campaign[];
} simple_op;

static void
simple_step(leads_job *j)
{
    simple_op *o = (simple_op *)j;
    if (j->stage++ == 0) {
        leads_job_query(j, o->sql, o->args, o->nargs, PLT_STORAGE_WRITE,
                        NULL);
        return;
    }
    if (j->affected <= 0 && o->none_status)
        leads_job_fail(j, o->none_status, "no such list%s",
                       o->none_status == PLT_ENOENT ? " or attachment" : "");
    else
        leads_job_done(j);
}

static void
simple_finish(leads_job *j)
{
    simple_op *o = (simple_op *)j;
    if (o->done)
        o->done(o->arg, j->status, j->msg[0] ? j->msg : NULL);
    free(o);
}

static int
attach_op(leads *L, const char *sql, const char *campaign, int64_t list_id,
          int32_t weight, bool with_weight, plt_leads_done_fn done,
          void *arg)
{
    size_t n = strlen(campaign);
    simple_op *o = calloc(1, sizeof(*o) + n + 1);
    if (!o)
        return PLT_ENOMEM;
    memcpy(o->campaign, campaign, n + 1);
    o->j.L = L;
    o->j.step = simple_step;
    o->j.finish = simple_finish;
    o->done = done;
    o->arg = arg;
    o->sql = sql;
    o->args[0] = PLT_V_STR(o->campaign);
    o->args[1] = PLT_V_I64(list_id);
    o->args[2] = PLT_V_I64(weight);
    o->nargs = with_weight ? 3 : 2;
    o->none_status = PLT_ENOENT;
    int rc = leads_job_start(&o->j, false, 0);
    if (rc != 0)
        free(o);
    return rc;
}

int
leads_list_attach(void *impl, const char *campaign, int64_t list_id,
                  int32_t weight, plt_leads_done_fn done, void *arg)
{
    if (!campaign || !*campaign || strcmp(campaign, "*") == 0 ||
        list_id <= 0 || weight < 1)
        return PLT_EINVAL;
    /* INSERT ... SELECT so that an unknown list inserts nothing (ENOENT)
     * instead of depending on foreign-key enforcement. */
    return attach_op(impl,
                     "INSERT INTO campaign_list (campaign, list_id, weight)"
                     " SELECT $1, id, $3 FROM lead_list WHERE id = $2"
                     " ON CONFLICT (campaign, list_id)"
                     " DO UPDATE SET weight = excluded.weight",
                     campaign, list_id, weight, true, done, arg);
}

int
leads_list_detach(void *impl, const char *campaign, int64_t list_id,
                  plt_leads_done_fn done, void *arg)
{
    if (!campaign || !*campaign || list_id <= 0)
        return PLT_EINVAL;
    return attach_op(impl,
                     "DELETE FROM campaign_list"
                     " WHERE campaign = $1 AND list_id = $2",
                     campaign, list_id, 0, false, done, arg);
}
