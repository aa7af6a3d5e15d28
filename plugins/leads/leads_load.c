/* SPDX-License-Identifier: MIT */
/*
 * Reading contacts back whole: a "load set" holds contacts decoded from
 * LEADS_CONTACT_COLS rows, custom fields included (their JSON document is
 * a column of the contact), then receives their phones from one more
 * statement keyed by contact id (one IN (...) list, not one query per
 * contact). get(), search() and reserve() all read through it. Contacts
 * are kept sorted by id so that phone rows find their contact by binary
 * search.
 */
#include <stdlib.h>
#include <string.h>

#include "leads_int.h"

int
leads_loadset_add_row(leads_loadset *s, const plt_storage_row *row)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        leads_loaded *n = realloc(s->c, cap * sizeof(*n));
        if (!n)
            return PLT_ENOMEM;
        s->c = n;
        s->cap = cap;
    }
    leads_loaded *c = &s->c[s->n];
    memset(c, 0, sizeof(*c));
    plt_lead *l = &c->lead;
    leads_arena *a = &s->arena;
    l->id = leads_col_i64(row, 0);
    l->list_id = leads_col_i64(row, 1);
    l->status = (int32_t)leads_col_i64(row, 2);
    l->time_zone = leads_arena_dup(a, leads_col_str(row, 3));
    l->priority = leads_col_i64(row, 4);
    l->attempts = (int32_t)leads_col_i64(row, 5);
    l->last_attempt_at = leads_col_i64(row, 6);
    l->next_attempt_at = leads_col_i64(row, 7);
    l->callback_at = leads_col_i64(row, 8);
    l->callback_agent = leads_arena_dup(a, leads_col_str(row, 9));
    l->last_outcome = leads_arena_dup(a, leads_col_str(row, 10));
    l->last_disposition = leads_arena_dup(a, leads_col_str(row, 11));
    l->created_at = leads_col_i64(row, 12);
    if (a->oom ||
        leads_fields_from_json(leads_col_str(row, 13), a, &c->fields,
                               &c->nfields) != 0)
        return PLT_ENOMEM;
    c->capfields = c->nfields;
    l->fields = c->fields;
    l->nfields = c->nfields;
    s->n++;
    return 0;
}

leads_loaded *
leads_loadset_find(leads_loadset *s, int64_t id)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->c[mid].lead.id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->c[lo].lead.id == id ? &s->c[lo] : NULL;
}

void
leads_loadset_free(leads_loadset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->c[i].fields);
    free(s->c);
    leads_arena_free(&s->arena);
    memset(s, 0, sizeof(*s));
}

int
leads_loadset_phone_row(void *arg, const plt_storage_row *row)
{
    leads_loadset *s = arg;
    leads_loaded *c = leads_loadset_find(s, leads_col_i64(row, 0));
    if (!c || c->nphones >= PLT_LEADS_MAX_PHONES)
        return 0;
    if (!c->phones) {
        c->phones = leads_arena_alloc(
            &s->arena, PLT_LEADS_MAX_PHONES * sizeof(plt_lead_phone));
        if (!c->phones)
            return 1;
    }
    plt_lead_phone *p = &c->phones[c->nphones];
    p->e164 = leads_arena_dup(&s->arena, leads_col_str(row, 1));
    p->original = leads_arena_dup(&s->arena, leads_col_str(row, 2));
    p->type = (int32_t)leads_col_i64(row, 3);
    p->time_zone = leads_arena_dup(&s->arena, leads_col_str(row, 4));
    if (s->arena.oom || !p->e164)
        return 1;
    c->nphones++;
    c->lead.phones = c->phones;
    c->lead.nphones = c->nphones;
    return 0;
}

static void
ids_in(const leads_loadset *s, size_t from, size_t to, leads_sb *sql,
       leads_args *args)
{
    leads_sb_add(sql, " IN (");
    for (size_t i = from; i < to; i++) {
        leads_args_add(args, PLT_V_I64(s->c[i].lead.id));
        leads_sb_addf(sql, i > from ? ", $%zu" : "$%zu", args->n);
    }
    leads_sb_add(sql, ")");
}

void
leads_sql_phones_of(const leads_loadset *s, size_t from, size_t to,
                    const char *dnc_campaign, leads_sb *sql, leads_args *args)
{
    leads_sb_add(sql, "SELECT p.contact_id, p.e164, p.original, p.type,"
                      " p.time_zone FROM contact_phone p WHERE p.contact_id");
    ids_in(s, from, to, sql, args);
    if (dnc_campaign) {
        leads_args_add(args, PLT_V_STR(dnc_campaign));
        leads_sb_addf(sql,
                      " AND NOT EXISTS (SELECT 1 FROM dnc d"
                      " WHERE d.scope IN ('*', $%zu) AND d.e164 = p.e164)",
                      args->n);
    }
    leads_sb_add(sql, " ORDER BY p.contact_id, p.position");
}
