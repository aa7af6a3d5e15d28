/* SPDX-License-Identifier: MIT */
/*
 * Contacts: adding them in batches (the import path), reading one, search
 * and history.
 *
 * add_batch() is built for imports of millions of rows. Everything that
 * can be done in C is done before the transaction opens: numbers are
 * normalised with plateau_phone and the list's rules, fields de-duplicated
 * by name, dedup keys computed. Then ONE transaction runs a handful of
 * statements per batch, never one per contact:
 *   1. one probe of the global do-not-call list for all the batch's
 *      numbers (chunks of LEADS_IN_CHUNK);
 *   2. one probe for duplicates already stored in the de-duplication
 *      scope (on contact_phone.e164, or on contact.dedup_key for a field;
 *      on the phone it rides in the DNC probe's statement); duplicates
 *      inside the batch are found with a hash set;
 *   3. one query_rows() (storage 1.1, the engines' bulk path: no SQL
 *      built per batch) for the contacts with RETURNING id (custom fields
 *      ride along as one JSON document per contact, and the "imported"
 *      history entry is the row itself: created_at and source), then one
 *      for the phones and one for the search-index rows of the indexed
 *      fields only;
 *   4. the progress value of a resumable import, in the same transaction.
 * Statements are pipelined (LEADS_PIPELINE in flight).
 *
 * Probe shapes are few, so that prepared statements are reused from one
 * batch to the next (SQLite's parser spends time quadratic in the number
 * of parameters on each prepare): the key lists of probes are padded to a
 * power of 4 (16 to LEADS_IN_CHUNK) by repeating their last key, which
 * changes no result. Ids from RETURNING are matched to rows by order of
 * value: both engines hand out increasing ids in row order (SQLite
 * AUTOINCREMENT, a PostgreSQL identity's nextval per row).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leads_fold.h"
#include "leads_int.h"
#include "leads_json.h"

/* ------------------------------------------------------------------ */
/* A string -> int64 hash map over arena strings (open addressing). */

typedef struct smap {
    const char **k;
    int64_t *v;
    size_t cap, n;
} smap;

static uint64_t
hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int
smap_init(smap *m, size_t want)
{
    size_t cap = 64;
    while (cap < want * 2)
        cap *= 2;
    m->k = calloc(cap, sizeof(*m->k));
    m->v = calloc(cap, sizeof(*m->v));
    m->cap = cap;
    m->n = 0;
    return m->k && m->v ? 0 : PLT_ENOMEM;
}

static void
smap_free(smap *m)
{
    free(m->k);
    free(m->v);
    memset(m, 0, sizeof(*m));
}

/* Slot of @p key: its own, or the empty one where it would go. */
static size_t
smap_slot(const smap *m, const char *key)
{
    size_t i = hash_str(key) & (m->cap - 1);
    while (m->k[i] && strcmp(m->k[i], key) != 0)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static int64_t *
smap_get(const smap *m, const char *key)
{
    size_t i = smap_slot(m, key);
    return m->k[i] ? &m->v[i] : NULL;
}

/* Insert if absent (the map never fills: cap >= 2 * expected keys). */
static bool
smap_put(smap *m, const char *key, int64_t v)
{
    if (m->n * 2 >= m->cap)
        return false;
    size_t i = smap_slot(m, key);
    if (m->k[i])
        return false;
    m->k[i] = key;
    m->v[i] = v;
    m->n++;
    return true;
}

/* ------------------------------------------------------------------ */
/* add_batch */

typedef struct nphone {
    const char *e164, *original, *tz;
    int32_t type;
} nphone;

typedef plt_lead_field nfield;

typedef struct ncontact {
    int64_t line, priority, contact_id;
    int32_t result, status;
    const char *reason, *tz, *key, *dup_what;
    const char *key_legacy; /* the key as stored before keys were folded */
    const char *json; /* custom fields, or NULL */
    uint32_t dnc_phones, invalid_phones;
    uint32_t phone0, nphones, field0, nfields;
    int64_t dup_of; /* index of an earlier contact of the batch, or -1 */
} ncontact;

enum { ST_DNC, ST_DUP, ST_CONTACTS, ST_PHONES, ST_FIELDS, ST_PROGRESS,
       ST_COMMIT };

typedef struct add_op {
    leads_job j;
    leads_arena a;
    int64_t list_id, now;
    int32_t scope;
    const char *dedup_field, *source, *progress_key;
    int64_t progress_value;
    bool skip_dnc;
    /* copied inputs, then normalised */
    const plt_lead_new *in; /* arena copy */
    size_t n;
    ncontact *c;
    nphone *ph;
    size_t nph;
    nfield *fl;
    size_t nfl;
    /* probes */
    smap dnc;   /* e164 -> 1 when on the global DNC list */
    /* De-duplication on the phone: the DNC probe also looks each number
     * up in the scope (one statement per chunk instead of two), and
     * leaves here, by slot of `dnc`, the oldest contact holding it. */
    bool combined;
    int64_t *dupv;
    smap found; /* key -> existing contact id */
    const char **keys; /* unique keys to probe */
    size_t nkeys;
    size_t cursor, cursor2; /* progress of the current stage */
    size_t left;            /* rows the current INSERT stage still adds */
    int stage;
    bool stage_issued; /* the stage has nothing more to queue */
    /* Contact INSERTs in flight, oldest first (rows [from, to) of
     * add_idx), and the ids RETURNING gave for the oldest so far. */
    struct {
        size_t from, to;
    } cq[LEADS_PIPELINE];
    size_t cq_n;
    int64_t *ids;
    size_t nids;
    size_t *add_idx; /* indexes of the contacts to insert */
    size_t nadd;
    struct add_op *next; /* waiting for its turn (leads.add_head) */
    leads_list_rules rules; /* the list's, copied for the worker */
    char country[3];        /* cfg.country, likewise */
    bool ready;             /* prepared (or failed to be) */
    int prep_status;
    plt_leads_added_fn cb;
    void *arg;
} add_op;

static const char *
arena_printf(leads_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *
arena_printf(leads_arena *a, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return leads_arena_dup(a, buf);
}

/* A custom field's dedup key: trimmed, folded like searches (case and
 * the accents of Latin letters: "Élodie" and "elodie" are one key),
 * prefixed with the field name so that it never equals a phone key.
 * @p legacy: the key as contacts stored before keys were folded have it (ASCII
 * lowercased only), or NULL when it is the same - a batch probes both, so
 * that those contacts are still found without rewriting them. */
static const char *
field_key(leads_arena *a, const char *name, const char *value,
          const char **legacy)
{
    *legacy = NULL;
    if (!value)
        return NULL;
    while (isspace((unsigned char)*value))
        value++;
    size_t n = strlen(value);
    while (n && isspace((unsigned char)value[n - 1]))
        n--;
    if (n == 0)
        return NULL;
    size_t nl = strlen(name);
    char *old = leads_arena_alloc(a, nl + n + 4);
    if (!old)
        return NULL;
    memcpy(old, "f:", 2);
    memcpy(old + 2, name, nl);
    old[2 + nl] = '=';
    bool ascii = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)value[i];
        ascii = ascii && ch < 0x80;
        old[3 + nl + i] = (char)tolower(ch);
    }
    old[3 + nl + n] = 0;
    if (ascii)
        return old; /* folding changes nothing but the case */
    char *f = leads_fold(old + 3 + nl);
    if (!f)
        return NULL;
    size_t fl = strlen(f);
    char *k = leads_arena_alloc(a, nl + fl + 4);
    if (k) {
        memcpy(k, old, 3 + nl);
        memcpy(k + 3 + nl, f, fl + 1);
        if (strcmp(k, old) != 0)
            *legacy = old;
    }
    free(f);
    return k;
}

/* Normalise every contact (no I/O). */
static int
add_normalise(add_op *o)
{
    /* A worker thread runs this: only the op's own copies are read. */
    phone_rules pr = {.default_country = o->rules.country[0]
                                             ? o->rules.country
                                             : o->country,
                      .prefix_to_add =
                          o->rules.prefix[0] ? o->rules.prefix : NULL,
                      .flags = o->rules.restore_lost_zero
                                   ? PHONE_ASSUME_LOST_ZERO
                                   : 0};
    size_t nph = 0, nfl = 0;
    for (size_t i = 0; i < o->n; i++) {
        nph += o->in[i].nphones;
        nfl += o->in[i].nfields;
    }
    o->c = calloc(o->n ? o->n : 1, sizeof(*o->c));
    o->ph = calloc(nph ? nph : 1, sizeof(*o->ph));
    o->fl = calloc(nfl ? nfl : 1, sizeof(*o->fl));
    o->add_idx = calloc(o->n ? o->n : 1, sizeof(*o->add_idx));
    if (!o->c || !o->ph || !o->fl || !o->add_idx ||
        smap_init(&o->dnc, nph + 1) != 0)
        return PLT_ENOMEM;
    for (size_t i = 0; i < o->n; i++) {
        const plt_lead_new *in = &o->in[i];
        ncontact *c = &o->c[i];
        c->line = in->line;
        c->priority = in->priority;
        c->dup_of = -1;
        c->status = PLT_LEAD_AVAILABLE;
        c->phone0 = (uint32_t)o->nph;
        const char *first_err = NULL;
        for (size_t p = 0; p < in->nphones; p++) {
            const plt_lead_phone *ip = &in->phones[p];
            const char *text = ip->e164 ? ip->e164 : ip->original;
            phone_result r;
            int rc = text ? phone_normalize(text, &pr, &r) : PLT_EINVAL;
            if (rc != 0) {
                c->invalid_phones++;
                if (!first_err)
                    first_err = arena_printf(
                        &o->a, "invalid phone '%s': %s",
                        text ? text : "",
                        text && r.error[0] ? r.error : "empty");
                continue;
            }
            /* The same number twice on one contact is kept once. */
            bool again = false;
            for (size_t q = c->phone0; q < o->nph; q++)
                again |= strcmp(o->ph[q].e164, r.e164) == 0;
            if (again)
                continue;
            nphone *np = &o->ph[o->nph++];
            np->e164 = leads_arena_dup(&o->a, r.e164);
            np->original = ip->original ? ip->original : ip->e164;
            np->tz = ip->time_zone ? ip->time_zone : r.time_zone;
            np->type = ip->type ? ip->type : leads_type_from_phone(r.type);
            smap_put(&o->dnc, np->e164, 0);
        }
        c->nphones = (uint32_t)(o->nph - c->phone0);
        if (c->nphones == 0) {
            c->result = PLT_LEAD_NO_VALID_PHONE;
            c->reason = first_err ? first_err : "no phone number";
            continue;
        }
        c->tz = in->time_zone ? in->time_zone : o->ph[c->phone0].tz;
        c->field0 = (uint32_t)o->nfl;
        for (size_t f = 0; f < in->nfields; f++) {
            const plt_lead_field *inf = &in->fields[f];
            if (!inf->name || !*inf->name)
                continue;
            /* A name given twice: the last value wins (one row per name). */
            size_t q = c->field0;
            while (q < o->nfl && strcmp(o->fl[q].name, inf->name) != 0)
                q++;
            if (q == o->nfl)
                o->nfl++;
            o->fl[q].name = inf->name;
            o->fl[q].value = inf->value;
        }
        c->nfields = (uint32_t)(o->nfl - c->field0);
        /* The names are distinct (above): the document is written
         * straight into the arena, unless a name needs jansson. */
        size_t jl = leads_json_fields_len(&o->fl[c->field0], c->nfields);
        if (jl == SIZE_MAX) {
            char *json = NULL;
            if (leads_fields_to_json(&o->fl[c->field0], c->nfields, &json) !=
                0)
                return PLT_ENOMEM;
            c->json = leads_arena_dup(&o->a, json);
            free(json);
        } else if (jl) {
            char *json = leads_arena_alloc(&o->a, jl);
            if (!json)
                return PLT_ENOMEM;
            leads_json_fields_write(&o->fl[c->field0], c->nfields, json);
            c->json = json;
        }
        /* Phone de-duplication probes contact_phone: only a custom field
         * needs a key of its own (contact.dedup_key). */
        if (o->dedup_field)
            for (size_t q = c->field0; q < o->nfl; q++)
                if (strcmp(o->fl[q].name, o->dedup_field) == 0)
                    c->key = field_key(&o->a, o->dedup_field, o->fl[q].value,
                                       &c->key_legacy);
    }
    if (o->scope != PLT_DEDUP_NONE && !o->dedup_field) {
        o->combined = true;
        o->dupv = calloc(o->dnc.cap, sizeof(*o->dupv));
        if (!o->dupv)
            return PLT_ENOMEM;
    }
    return o->a.oom ? PLT_ENOMEM : 0;
}

static int
dnc_row(void *arg, const plt_storage_row *row)
{
    add_op *o = arg;
    const char *e = leads_col_str(row, 0);
    if (!e)
        return 0;
    size_t slot = smap_slot(&o->dnc, e);
    if (!o->dnc.k[slot])
        return 0;
    /* (e) on the DNC list; combined: (e, hit, id), either not NULL. */
    if (row->ncols < 2 || row->vals[1].type != PLT_T_NULL)
        o->dnc.v[slot] = 1;
    if (o->dupv && row->ncols >= 3 && row->vals[2].type != PLT_T_NULL)
        o->dupv[slot] = leads_col_i64(row, 2);
    return 0;
}

static int
dup_row(void *arg, const plt_storage_row *row)
{
    add_op *o = arg;
    const char *k = leads_col_str(row, 0);
    if (!k)
        return 0;
    int64_t *v = smap_get(&o->found, k);
    int64_t id = leads_col_i64(row, 1);
    /* The oldest contact is "the" original. */
    if (v && (*v == 0 || id < *v))
        *v = id;
    return 0;
}

static int
ids_row(void *arg, const plt_storage_row *row)
{
    add_op *o = arg;
    /* Statements report in order: these rows are the oldest INSERT's. */
    if (o->cq_n && o->nids < o->cq[0].to - o->cq[0].from)
        o->ids[o->nids++] = leads_col_i64(row, 0);
    return 0;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* After the DNC probe: refuse or mark DNC contacts; then gather the keys
 * to probe for duplicates. */
static int
add_after_dnc(add_op *o)
{
    size_t nkeys = 0;
    for (size_t i = 0; i < o->n; i++) {
        ncontact *c = &o->c[i];
        if (c->result)
            continue;
        for (uint32_t p = 0; p < c->nphones; p++) {
            int64_t *v = smap_get(&o->dnc, o->ph[c->phone0 + p].e164);
            if (v && *v)
                c->dnc_phones++;
        }
        if (c->dnc_phones == c->nphones) {
            if (o->skip_dnc) {
                c->result = PLT_LEAD_DNC_REFUSED;
                c->reason = "all numbers on the do-not-call list";
                continue;
            }
            c->status = PLT_LEAD_DNC;
        }
        nkeys += o->dedup_field ? 2 : c->nphones;
    }
    if (o->scope == PLT_DEDUP_NONE)
        return 0;
    o->keys = calloc(nkeys + 1, sizeof(*o->keys));
    if (!o->keys || smap_init(&o->found, nkeys + 1) != 0)
        return PLT_ENOMEM;
    for (size_t i = 0; i < o->n; i++) {
        ncontact *c = &o->c[i];
        if (c->result)
            continue;
        if (o->dedup_field) {
            if (c->key && smap_put(&o->found, c->key, 0))
                o->keys[o->nkeys++] = c->key;
            if (c->key_legacy && smap_put(&o->found, c->key_legacy, 0))
                o->keys[o->nkeys++] = c->key_legacy;
            continue;
        }
        for (uint32_t p = 0; p < c->nphones; p++) {
            const char *e = o->ph[c->phone0 + p].e164;
            int64_t id = o->dupv ? o->dupv[smap_slot(&o->dnc, e)] : 0;
            if (smap_put(&o->found, e, id))
                o->keys[o->nkeys++] = e;
        }
    }
    return 0;
}

/* After the duplicate probe: decide, in input order. The map then holds,
 * per key, the existing contact id (> 0) or -(1 + index) of the first
 * contact of this batch that uses it. */
static void
add_decide(add_op *o)
{
    for (size_t i = 0; i < o->n; i++) {
        ncontact *c = &o->c[i];
        if (c->result)
            continue;
        if (o->scope != PLT_DEDUP_NONE) {
            uint32_t nk = o->dedup_field ? (c->key ? 1u : 0u) +
                                               (c->key_legacy ? 1u : 0u)
                                         : c->nphones;
            const char *hit = NULL;
            int64_t hv = 0;
            for (uint32_t k = 0; k < nk && !hit; k++) {
                const char *key = !o->dedup_field ? o->ph[c->phone0 + k].e164
                                  : k == 0        ? c->key
                                                  : c->key_legacy;
                int64_t *v = smap_get(&o->found, key);
                if (v && *v != 0) {
                    hit = key;
                    hv = *v;
                }
            }
            if (hit) {
                c->result = PLT_LEAD_DUPLICATE;
                c->dup_what = hit;
                if (hv > 0)
                    c->contact_id = hv;
                else
                    c->dup_of = -hv - 1;
                continue;
            }
            for (uint32_t k = 0; k < nk; k++) {
                const char *key =
                    o->dedup_field ? c->key : o->ph[c->phone0 + k].e164;
                int64_t *v = smap_get(&o->found, key);
                if (v)
                    *v = -(int64_t)i - 1;
            }
        }
        c->result = PLT_LEAD_ADDED;
        o->add_idx[o->nadd++] = i;
    }
}

/* Does @p f get a contact_search row? (NULL values are never searched.) */
static bool
field_searchable(const leads *L, const nfield *f)
{
    return f->value && leads_field_indexed(L, f->name);
}

/* Width of an IN list of @p k keys: a power of 4, at least 16. */
static size_t
probe_width(size_t k)
{
    size_t w = 16;
    while (w < k && w < LEADS_IN_CHUNK)
        w *= 4;
    return w;
}

/* Append the keys[from..to) as "(VALUES ($a), ($b), ...) k", padded to
 * probe_width() rows by repeating the last key (which changes no result:
 * the row callbacks take every answer for a key as often as it comes). */
static void
probe_values(leads_sb *sql, leads_args *args, const char *const *keys,
             size_t from, size_t to)
{
    size_t w = probe_width(to - from);
    leads_sb_add(sql, "(VALUES ");
    for (size_t i = 0; i < w && !args->oom; i++) {
        const char *k = keys[from + i < to ? from + i : to - 1];
        leads_args_add(args, PLT_V_STR(k));
        leads_sb_add(sql, i ? ", (" : "(");
        leads_sb_param(sql, args->n);
        leads_sb_add(sql, ")");
    }
    leads_sb_add(sql, ") k");
}

/* Issue the next probe chunk: 1 queued, 0 none is left, < 0 the job
 * failed.
 *
 * Each key is looked up on its own, as a scalar subquery per row of a
 * VALUES list: one index probe per key on both engines, whatever the
 * planner knows. Written as "key IN (...)" (or as a join), PostgreSQL
 * costs the probe from statistics that a table being filled does not
 * have yet (autovacuum analyses it a minute later at best), estimates
 * that 1,024 keys match most of the table, and scans contact_phone and
 * contact in full for every probe: half of the server's time on a
 * 100,000-row import. A scalar subquery is never turned into a join by
 * either engine, and min() names the oldest contact of a number. */
/* The duplicate lookup of one key (k.column1) in the scope, up to the
 * " AS id" that names it; $1 is the list. The lookup walks the key index
 * (contact_phone_e164 / contact_dedup), never the scope's contacts:
 * without statistics SQLite would drive it from the list_id prefix of
 * contact_due. CROSS JOIN fixes the join order on SQLite (PostgreSQL
 * plans it as the inner join it is), and the unary + keeps list_id out of
 * index selection. */
static void
dup_lookup(const add_op *o, leads_sb *sql)
{
    if (o->dedup_field)
        leads_sb_add(sql, "(SELECT min(c.id) FROM contact c"
                          " WHERE c.dedup_key = k.column1");
    else
        leads_sb_add(sql, "(SELECT min(p.contact_id) FROM contact_phone p"
                          " CROSS JOIN contact c WHERE p.e164 = k.column1"
                          " AND c.id = p.contact_id");
    if (o->scope == PLT_DEDUP_LIST)
        leads_sb_add(sql, " AND +c.list_id = $1");
    else if (o->scope == PLT_DEDUP_CAMPAIGN)
        leads_sb_add(sql,
                     " AND (+c.list_id = $1 OR +c.list_id IN"
                     " (SELECT b.list_id FROM campaign_list a"
                     " JOIN campaign_list b ON b.campaign = a.campaign"
                     " WHERE a.list_id = $1))");
    else /* ALL: $1 must still be used by the statement */
        leads_sb_add(sql, " AND $1 > 0");
    leads_sb_add(sql, ") AS id");
}

static int
add_probe(add_op *o, bool dnc_probe)
{
    leads_sb sql = {0};
    leads_args args = {0};
    if (dnc_probe) {
        size_t total = o->dnc.cap;
        /* Walk the map's slots: every key of it is a number to probe. */
        const char *chunk[LEADS_IN_CHUNK];
        size_t k = 0;
        while (o->cursor < total && k < LEADS_IN_CHUNK) {
            const char *e = o->dnc.k[o->cursor++];
            if (e)
                chunk[k++] = e;
        }
        if (k == 0)
            return 0;
        if (o->combined) {
            leads_args_add(&args, PLT_V_I64(o->list_id));
            leads_sb_add(&sql, "SELECT s.e, s.hit, s.id FROM (SELECT"
                               " k.column1 AS e, (SELECT 1 FROM dnc d"
                               " WHERE d.scope = '*' AND d.e164 ="
                               " k.column1) AS hit, ");
            dup_lookup(o, &sql);
            leads_sb_add(&sql, " FROM ");
            probe_values(&sql, &args, chunk, 0, k);
            leads_sb_add(&sql,
                         ") s WHERE s.hit IS NOT NULL OR s.id IS NOT NULL");
        } else {
            leads_sb_add(&sql, "SELECT s.e FROM (SELECT k.column1 AS e,"
                               " (SELECT 1 FROM dnc d WHERE d.scope = '*'"
                               " AND d.e164 = k.column1) AS hit FROM ");
            probe_values(&sql, &args, chunk, 0, k);
            leads_sb_add(&sql, ") s WHERE s.hit IS NOT NULL");
        }
        return leads_job_query_built(&o->j, &sql, &args, 0, dnc_row) ? -1 : 1;
    }
    size_t total = o->nkeys;
    if (o->cursor >= total)
        return 0;
    leads_args_add(&args, PLT_V_I64(o->list_id));
    leads_sb_add(&sql, "SELECT s.e, s.id FROM (SELECT k.column1 AS e, ");
    dup_lookup(o, &sql);
    leads_sb_add(&sql, " FROM ");
    size_t end = o->cursor + LEADS_IN_CHUNK;
    if (end > total)
        end = total;
    probe_values(&sql, &args, o->keys, o->cursor, end);
    o->cursor = end;
    leads_sb_add(&sql, ") s WHERE s.id IS NOT NULL");
    return leads_job_query_built(&o->j, &sql, &args, 0, dup_row) ? -1 : 1;
}

/* The INSERT of the stage's rows, all of them in one query_rows() (the
 * engine's bulk path: SQLite steps one prepared statement per row,
 * PostgreSQL sends multi-row INSERTs): 1 queued, 0 none is left, < 0 the
 * job failed. */
static int
add_insert(add_op *o)
{
    leads *L = o->j.L;
    if (o->cursor || o->left == 0)
        return 0;
    o->cursor = 1; /* issued */
    leads_args args = {0};
    leads_arena tmp = {0}; /* folded search keys */
    const char *sql = NULL;
    size_t ncols = 0;
    plt_storage_row_fn row = NULL;
    switch (o->stage) {
    case ST_CONTACTS: {
        sql = "INSERT INTO contact (list_id, status, time_zone, priority,"
              " dedup_key, fields, created_at, updated_at, source)"
              " VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) RETURNING id";
        ncols = 8;
        row = ids_row;
        plt_value source = PLT_V_STR(o->source ? o->source : "add");
        for (size_t k = 0; k < o->nadd; k++) {
            ncontact *c = &o->c[o->add_idx[k]];
            leads_args_add(&args, PLT_V_I64(o->list_id));
            leads_args_add(&args, PLT_V_I64(c->status));
            leads_args_add(&args, PLT_V_STR(c->tz));
            leads_args_add(&args, PLT_V_I64(c->priority));
            leads_args_add(&args, PLT_V_STR(c->key));
            leads_args_add(&args, PLT_V_STR(c->json));
            leads_args_add(&args, PLT_V_I64(o->now));
            leads_args_add(&args, source);
        }
        o->cq[0].from = 0;
        o->cq[0].to = o->nadd;
        o->cq_n = 1;
        break;
    }
    case ST_PHONES:
        sql = "INSERT INTO contact_phone (contact_id, position, e164,"
              " original, type, time_zone) VALUES ($1, $2, $3, $4, $5, $6)";
        ncols = 6;
        for (size_t k = 0; k < o->nadd; k++) {
            ncontact *c = &o->c[o->add_idx[k]];
            for (uint32_t q = 0; q < c->nphones; q++) {
                nphone *p = &o->ph[c->phone0 + q];
                leads_args_add(&args, PLT_V_I64(c->contact_id));
                leads_args_add(&args, PLT_V_I64((int64_t)q + 1));
                leads_args_add(&args, PLT_V_STR(p->e164));
                leads_args_add(&args, PLT_V_STR(p->original));
                leads_args_add(&args, PLT_V_I64(p->type));
                leads_args_add(&args, PLT_V_STR(p->tz));
            }
        }
        break;
    case ST_FIELDS:
        sql = "INSERT INTO contact_search (name, value, contact_id, folded)"
              " VALUES ($1, $2, $3, $4)";
        ncols = 4;
        for (size_t k = 0; k < o->nadd; k++) {
            ncontact *c = &o->c[o->add_idx[k]];
            for (uint32_t q = 0; q < c->nfields; q++) {
                nfield *f = &o->fl[c->field0 + q];
                if (!field_searchable(L, f))
                    continue;
                char *folded = leads_fold(f->value);
                const char *kept = leads_arena_dup(&tmp, folded);
                free(folded);
                if (!kept)
                    args.oom = true;
                leads_args_add(&args, PLT_V_STR(f->name));
                leads_args_add(&args, PLT_V_STR(f->value));
                leads_args_add(&args, PLT_V_I64(c->contact_id));
                leads_args_add(&args, PLT_V_STR(kept));
            }
        }
        break;
    default:
        return 0;
    }
    int rc;
    if (args.oom) {
        leads_job_fail(&o->j, PLT_ENOMEM, "out of memory");
        rc = -1;
    } else {
        /* The engine copies the values: the folded keys go after. */
        rc = leads_job_query_rows(&o->j, sql, args.v, ncols, args.n / ncols,
                                  PLT_STORAGE_WRITE, row)
                 ? -1
                 : 1;
    }
    leads_args_free(&args);
    leads_arena_free(&tmp);
    return rc;
}

/* Rows the INSERT stage @p stage adds. */
static size_t
stage_rows(const add_op *o, int stage)
{
    size_t n = 0;
    for (size_t i = 0; i < o->nadd; i++) {
        const ncontact *c = &o->c[o->add_idx[i]];
        switch (stage) {
        case ST_CONTACTS:
            n++;
            break;
        case ST_PHONES:
            n += c->nphones;
            break;
        case ST_FIELDS:
            for (uint32_t f = 0; f < c->nfields; f++)
                n += field_searchable(o->j.L, &o->fl[c->field0 + f]);
            break;
        default:
            break;
        }
    }
    return n;
}

static void
add_next_stage(add_op *o)
{
    o->stage++;
    o->cursor = o->cursor2 = 0;
    o->stage_issued = false;
    o->left = stage_rows(o, o->stage);
}

/* Keep up to LEADS_PIPELINE statements of the stage in flight, so that
 * the next statement is built here while the engine runs the previous
 * one. Returns 1 while the stage runs (statements in flight), 0 when it
 * is over, < 0 when the job failed (it may be gone: touch nothing). */
static int
add_fill(add_op *o, int (*issue)(add_op *o))
{
    while (!o->stage_issued && o->j.inflight < LEADS_PIPELINE) {
        int r = issue(o);
        if (r < 0)
            return r;
        if (r == 0)
            o->stage_issued = true;
    }
    return o->j.inflight > 0 ? 1 : 0;
}

static int
issue_dnc(add_op *o)
{
    return add_probe(o, true);
}

static int
issue_dup(add_op *o)
{
    return o->scope != PLT_DEDUP_NONE && !o->combined ? add_probe(o, false)
                                                       : 0;
}

/* The oldest contact INSERT in flight reported: its ids, matched to its
 * rows by order of value. */
static bool
add_take_ids(add_op *o)
{
    size_t from = o->cq[0].from, want = o->cq[0].to - from;
    if (o->nids != want) {
        leads_job_fail(&o->j, PLT_EDB, "INSERT returned %zu ids for %zu rows",
                       o->nids, want);
        return false;
    }
    qsort(o->ids, o->nids, sizeof(*o->ids), cmp_i64);
    for (size_t k = 0; k < want; k++)
        o->c[o->add_idx[from + k]].contact_id = o->ids[k];
    memmove(&o->cq[0], &o->cq[1], (o->cq_n - 1) * sizeof(o->cq[0]));
    o->cq_n--;
    o->nids = 0;
    return true;
}

static int
issue_progress(add_op *o)
{
    if (!o->progress_key || o->cursor++)
        return 0;
    plt_value a[] = {PLT_V_STR(o->progress_key), PLT_V_I64(o->progress_value),
                     PLT_V_I64(o->now)};
    return leads_job_query(
               &o->j,
               "INSERT INTO lead_progress (key, value, updated_at)"
               " VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET"
               " value = excluded.value, updated_at = excluded.updated_at",
               a, 3, PLT_STORAGE_WRITE, NULL)
               ? -1
               : 1;
}

/* Runs after BEGIN and after every statement that succeeded. The probes
 * and the contact INSERTs each end their stage before the next one
 * starts (the decisions and the ids depend on them); phones, fields,
 * history and progress only need the ids, so their statements follow
 * each other in the pipeline. */
static void
add_step(leads_job *j)
{
    add_op *o = (add_op *)j;
    int r;
    for (;;) {
        switch (o->stage) {
        case ST_DNC:
            if ((r = add_fill(o, issue_dnc)) != 0)
                return;
            if (add_after_dnc(o) != 0) {
                leads_job_fail(j, PLT_ENOMEM, "out of memory");
                return;
            }
            add_next_stage(o);
            continue;
        case ST_DUP:
            if ((r = add_fill(o, issue_dup)) != 0)
                return;
            add_decide(o);
            add_next_stage(o);
            continue;
        case ST_CONTACTS:
            /* One call per statement that reported: the oldest one. */
            if (o->cq_n > (size_t)j->inflight && !add_take_ids(o))
                return;
            if ((r = add_fill(o, add_insert)) != 0)
                return;
            add_next_stage(o);
            continue;
        case ST_PHONES:
        case ST_FIELDS:
            if ((r = add_fill(o, add_insert)) < 0 || !o->stage_issued)
                return;
            add_next_stage(o);
            continue;
        case ST_PROGRESS:
            if ((r = add_fill(o, issue_progress)) < 0 || !o->stage_issued)
                return;
            add_next_stage(o);
            continue;
        default:
            /* Commit once every statement reported. */
            if (j->inflight == 0)
                leads_job_commit(j);
            return;
        }
    }
}

static void
add_free(add_op *o)
{
    smap_free(&o->dnc);
    free(o->dupv);
    smap_free(&o->found);
    free(o->keys);
    free(o->ids);
    free(o->c);
    free(o->ph);
    free(o->fl);
    free(o->add_idx);
    leads_arena_free(&o->a);
    free(o);
}

static void add_pump(leads *L);

/* A batch failed: the ones waiting with the same progress key will be
 * refused (see add_pump). */
static void
add_note_failed(leads *L, const add_op *o)
{
    if (!o->progress_key)
        return;
    char *k = strdup(o->progress_key);
    if (!k)
        return;
    free(L->add_failed_key);
    L->add_failed_key = k;
}

static void
add_finish(leads_job *j)
{
    add_op *o = (add_op *)j;
    leads *L = j->L;
    plt_lead_added *res =
        j->status == 0 ? calloc(o->n ? o->n : 1, sizeof(*res)) : NULL;
    int status = j->status != 0 ? j->status : res ? 0 : PLT_ENOMEM;
    if (status != 0) {
        add_note_failed(L, o);
        o->cb(o->arg, status, NULL, 0);
        add_free(o);
        L->add_busy = false;
        add_pump(L);
        return;
    }
    for (size_t i = 0; i < o->n; i++) {
        ncontact *c = &o->c[i];
        if (c->result == PLT_LEAD_DUPLICATE) {
            if (c->dup_of >= 0)
                c->contact_id = o->c[c->dup_of].contact_id;
            bool phone = c->dup_what[0] == '+';
            const char *what = phone ? c->dup_what
                                     : c->dup_what + 3 + strlen(o->dedup_field);
            c->reason = arena_printf(
                &o->a, "duplicate of %s %lld (same %s %s%s%s)",
                c->dup_of >= 0 ? "line" : "contact",
                c->dup_of >= 0 ? (long long)o->c[c->dup_of].line
                               : (long long)c->contact_id,
                phone ? "phone" : o->dedup_field, phone ? "" : "'", what,
                phone ? "" : "'");
        }
        res[i].line = c->line;
        res[i].result = c->result;
        res[i].contact_id = c->contact_id;
        res[i].reason = c->reason;
        res[i].dnc_phones = c->dnc_phones;
        res[i].invalid_phones = c->invalid_phones;
    }
    o->cb(o->arg, 0, res, o->n);
    free(res);
    add_free(o);
    L->add_busy = false;
    add_pump(L);
}

/* add_batch() queues batches in call order; each is prepared at once on a
 * worker thread (normalising, JSON documents: no CPU-heavy work on the
 * loop), and their transactions run one at a time, in call order, as soon
 * as the previous one ended. So the preparation of the next batch overlaps
 * the database's work on the previous one, and de-duplication stays exact
 * between batches on PostgreSQL too, where two open transactions would not
 * see each other's rows. A batch that fails makes the ones waiting with
 * the same progress key fail (PLT_ECANCELED): their stored progress would
 * skip its rows. Queued batches count as pending: stop() waits for them. */
static void
add_pump(leads *L)
{
    add_op *o;
    while (!L->add_busy && (o = L->add_head) != NULL && o->ready) {
        L->add_head = o->next;
        if (!L->add_head)
            L->add_tail = NULL;
        if (o->prep_status == 0 && L->add_failed_key && o->progress_key &&
            strcmp(o->progress_key, L->add_failed_key) == 0)
            o->prep_status = PLT_ECANCELED;
        /* Busy while a callback runs: an add_batch() from it queues. */
        L->add_busy = true;
        int rc = o->prep_status;
        if (rc == 0)
            rc = leads_job_start(&o->j, true, 0); /* counts itself */
        if (rc != 0) {
            add_note_failed(L, o);
            o->cb(o->arg, rc, NULL, 0);
            add_free(o);
            L->add_busy = false;
        }
        leads_req_end(L); /* the count it had while queued */
    }
    if (!L->add_head) {
        free(L->add_failed_key);
        L->add_failed_key = NULL;
    }
}

static void
add_work(void *arg)
{
    add_op *o = arg;
    o->prep_status = add_normalise(o);
}

static void
add_work_done(void *arg, int status)
{
    add_op *o = arg;
    if (status != 0 && o->prep_status == 0)
        o->prep_status = status;
    if (o->prep_status == 0) {
        o->ids = calloc(o->n ? o->n : 1, sizeof(*o->ids));
        if (!o->ids)
            o->prep_status = PLT_ENOMEM;
    }
    o->ready = true;
    add_pump(o->j.L);
}

/* Prepare @p o on a worker with the list's rules @p lr. */
static int
add_prepare(add_op *o, const leads_list_rules *lr)
{
    leads *L = o->j.L;
    o->rules = *lr;
    memcpy(o->country, L->cfg.country, sizeof(o->country));
    return plt_queue_work(add_work, add_work_done, o);
}

static void
add_rules_loaded(void *arg, int status, const leads_list_rules *r)
{
    add_op *o = arg;
    if (status == 0)
        status = add_prepare(o, r);
    if (status != 0) {
        o->prep_status = status;
        o->ready = true;
        add_pump(o->j.L);
    }
}

/* Copy the caller's contacts (the contract: inputs copied before return). */
static int
add_copy(add_op *o, const plt_lead_new *c, size_t n)
{
    leads_arena *a = &o->a;
    plt_lead_new *in = leads_arena_alloc(a, (n ? n : 1) * sizeof(*in));
    if (!in)
        return PLT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        in[i] = c[i];
        in[i].time_zone = leads_arena_dup(a, c[i].time_zone);
        plt_lead_field *f =
            c[i].nfields ? leads_arena_alloc(a, c[i].nfields * sizeof(*f))
                         : NULL;
        plt_lead_phone *p =
            c[i].nphones ? leads_arena_alloc(a, c[i].nphones * sizeof(*p))
                         : NULL;
        for (size_t k = 0; f && k < c[i].nfields; k++) {
            f[k].name = leads_arena_dup(a, c[i].fields[k].name);
            f[k].value = leads_arena_dup(a, c[i].fields[k].value);
        }
        for (size_t k = 0; p && k < c[i].nphones; k++) {
            p[k] = c[i].phones[k];
            p[k].e164 = leads_arena_dup(a, c[i].phones[k].e164);
            p[k].original = leads_arena_dup(a, c[i].phones[k].original);
            p[k].time_zone = leads_arena_dup(a, c[i].phones[k].time_zone);
        }
        in[i].fields = f;
        in[i].phones = p;
    }
    o->in = in;
    o->n = n;
    return a->oom ? PLT_ENOMEM : 0;
}

int
leads_add_batch(void *impl, int64_t list_id, const plt_lead_new *c, size_t n,
                const plt_lead_add_opts *opts, plt_leads_added_fn cb,
                void *arg)
{
    leads *L = impl;
    if (list_id <= 0 || !cb || (n && !c))
        return PLT_EINVAL;
    if (opts && opts->size < offsetof(plt_lead_add_opts, progress_value) +
                                 sizeof(int64_t))
        return PLT_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (c[i].nphones > PLT_LEADS_MAX_PHONES ||
            (c[i].nphones && !c[i].phones) || (c[i].nfields && !c[i].fields))
            return PLT_EINVAL;
    int32_t scope = opts ? opts->dedup_scope : PLT_DEDUP_LIST;
    if (scope < PLT_DEDUP_NONE || scope > PLT_DEDUP_ALL)
        return PLT_EINVAL;
    int rc = leads_accepting(L);
    if (rc != 0)
        return rc;
    add_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->j.L = L;
    o->j.step = add_step;
    o->j.finish = add_finish;
    o->list_id = list_id;
    o->now = plt_now();
    o->scope = scope;
    o->cb = cb;
    o->arg = arg;
    if (opts) {
        o->dedup_field = leads_arena_dup(&o->a, opts->dedup_field);
        o->source = leads_arena_dup(&o->a, opts->source);
        o->progress_key = leads_arena_dup(&o->a, opts->progress_key);
        o->progress_value = opts->progress_value;
        o->skip_dnc = opts->skip_dnc;
    }
    rc = add_copy(o, c, n);
    if (rc != 0) {
        add_free(o);
        return rc;
    }
    /* In the queue from now on, in call order; callbacks never run before
     * the call returns (preparation and rules come back on the loop). */
    add_op *prev_tail = L->add_tail;
    if (prev_tail)
        prev_tail->next = o;
    else
        L->add_head = o;
    L->add_tail = o;
    leads_req_begin(L);
    const leads_list_rules *lr = leads_rules_find(L, list_id);
    rc = lr ? add_prepare(o, lr)
            : leads_rules_load(L, list_id, add_rules_loaded, o);
    if (rc != 0) {
        /* Nothing was queued for it: take it back out. */
        L->add_tail = prev_tail;
        if (prev_tail)
            prev_tail->next = NULL;
        else
            L->add_head = NULL;
        add_free(o);
        leads_req_end(L);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* get and search: pages of contacts, then their fields and phones */

#define SEARCH_PAGE 200

typedef struct search_op {
    leads_job j;
    leads_loadset set;
    leads_arena a;
    int64_t list_id, status, created_from, created_to;
    const char *phone, *field_name, *field_value;
    /* Pre-filters of contact.fields (LIKE patterns) and what every
     * candidate is checked against in C (leads_fields_match). */
    const char *text_like, *text_folded, *field_like, *field_folded;
    int64_t field_from; /* lead_field_index.from_id; -1: not indexed */
    int64_t offset, limit, sent, last_id, page_last;
    int64_t only_id; /* get() */
    bool page_short, stopped;
    plt_lead_row_fn row;
    plt_leads_done_fn done;
    plt_lead_fn get_cb;
    void *arg;
} search_op;

static int
search_contact_row(void *arg, const plt_storage_row *row)
{
    search_op *o = arg;
    o->page_last = leads_col_i64(row, 0);
    /* The SQL pre-filters are loose; the document decides. */
    const char *json = leads_col_str(row, 13);
    if (o->text_folded && !leads_fields_match(json, NULL, NULL, o->text_folded))
        return 0;
    if (o->field_name && o->field_folded &&
        !leads_fields_match(json, o->field_name, o->field_folded, NULL))
        return 0;
    return leads_loadset_add_row(&o->set, row) != 0;
}

static int
search_index_row(void *arg, const plt_storage_row *row)
{
    search_op *o = arg;
    o->field_from = leads_col_i64(row, 0);
    return 0;
}

static int
search_phone_row(void *arg, const plt_storage_row *row)
{
    return leads_loadset_phone_row(&((search_op *)arg)->set, row);
}

static void
search_page_sql(search_op *o, leads_sb *sql, leads_args *args)
{
    leads_sb_add(sql, "SELECT " LEADS_CONTACT_COLS " FROM contact c WHERE");
    if (o->only_id) {
        leads_args_add(args, PLT_V_I64(o->only_id));
        leads_sb_add(sql, " c.id = $1");
        return;
    }
    leads_args_add(args, PLT_V_I64(o->last_id));
    leads_sb_add(sql, " c.id > $1");
    if (o->list_id) {
        leads_args_add(args, PLT_V_I64(o->list_id));
        leads_sb_addf(sql, " AND c.list_id = $%zu", args->n);
    }
    if (o->status) {
        leads_args_add(args, PLT_V_I64(o->status));
        leads_sb_addf(sql, " AND c.status = $%zu", args->n);
    }
    if (o->created_from) {
        leads_args_add(args, PLT_V_I64(o->created_from));
        leads_sb_addf(sql, " AND c.created_at >= $%zu", args->n);
    }
    if (o->created_to) {
        leads_args_add(args, PLT_V_I64(o->created_to));
        leads_sb_addf(sql, " AND c.created_at < $%zu", args->n);
    }
    if (o->phone) {
        leads_args_add(args, PLT_V_STR(o->phone));
        leads_sb_addf(sql,
                      " AND c.id IN (SELECT contact_id FROM contact_phone"
                      " WHERE e164 = $%zu)",
                      args->n);
    }
    if (o->field_name && o->field_value) {
        /* Through the index where it is complete (contacts from
         * field_from on), else a scan of the documents. */
        size_t like = 0;
        if (o->field_from != 0 && o->field_from != 1) {
            leads_args_add(args, PLT_V_STR(o->field_like));
            like = args->n;
        }
        if (o->field_from < 0) {
            leads_sb_addf(sql, " AND lower(c.fields) LIKE $%zu ESCAPE '\\'",
                          like);
        } else {
            /* Folded keys; rows stored before version 31 have none until
             * leads_fields_backfill has run: those are read too. */
            leads_args_add(args, PLT_V_STR(o->field_name));
            leads_args_add(args, PLT_V_STR(o->field_folded));
            leads_sb_addf(sql,
                          " AND (c.id IN (SELECT contact_id FROM contact_search"
                          " WHERE name = $%zu AND folded = $%zu)"
                          " OR c.id IN (SELECT contact_id FROM contact_search"
                          " WHERE name = $%zu AND folded IS NULL)",
                          args->n - 1, args->n, args->n - 1);
            if (like) {
                leads_args_add(args, PLT_V_I64(o->field_from));
                leads_sb_addf(sql,
                              " OR (c.id < $%zu AND lower(c.fields) LIKE $%zu"
                              " ESCAPE '\\')",
                              args->n, like);
            }
            leads_sb_add(sql, ")");
        }
    }
    if (o->text_like) {
        leads_args_add(args, PLT_V_STR(o->text_like));
        leads_sb_addf(sql, " AND lower(c.fields) LIKE $%zu ESCAPE '\\'",
                      args->n);
    }
    int64_t want = SEARCH_PAGE;
    /* No more rows than the caller still wants (with what the offset
     * still skips). */
    if (o->limit > 0 && o->limit - o->sent + o->offset < want)
        want = o->limit - o->sent + o->offset;
    leads_args_add(args, PLT_V_I64(want));
    leads_sb_addf(sql, " ORDER BY c.id LIMIT $%zu", args->n);
}

static void
search_step(leads_job *j)
{
    search_op *o = (search_op *)j;
    leads_sb sql = {0};
    leads_args args = {0};
    switch (j->stage) {
    case 4: { /* is the field indexed, and from which contact on? */
        j->stage = 0;
        plt_value a = PLT_V_STR(o->field_name);
        leads_job_query(j,
                        "SELECT from_id FROM lead_field_index WHERE name = $1",
                        &a, 1, 0, search_index_row);
        return;
    }
    case 0: /* a page of contacts */
        leads_loadset_free(&o->set);
        j->stage = 1;
        search_page_sql(o, &sql, &args);
        leads_job_query_built(j, &sql, &args, 0, search_contact_row);
        return;
    case 1: /* their phones */
        o->page_short = o->only_id || j->rows < SEARCH_PAGE;
        /* The next page starts after this one, whatever C filtered out. */
        if (o->page_last > o->last_id)
            o->last_id = o->page_last;
        if (o->set.n == 0) {
            if (o->page_short) {
                leads_job_done(j);
                return;
            }
            j->stage = 0;
            search_step(j);
            return;
        }
        j->stage = 3;
        leads_sql_phones_of(&o->set, 0, o->set.n, NULL, &sql, &args);
        leads_job_query_built(j, &sql, &args, 0, search_phone_row);
        return;
    default: /* hand the page out */
        for (size_t i = 0; i < o->set.n; i++) {
            if (o->offset > 0) {
                o->offset--; /* the first page skips the offset in C */
                continue;
            }
            if (o->get_cb) {
                o->get_cb(o->arg, 0, &o->set.c[i].lead);
                o->get_cb = NULL;
                o->stopped = true;
                break;
            }
            o->sent++;
            if (o->row(o->arg, &o->set.c[i].lead) != 0 ||
                (o->limit > 0 && o->sent >= o->limit)) {
                o->stopped = true;
                break;
            }
        }
        if (o->stopped || o->page_short) {
            leads_job_done(j);
            return;
        }
        j->stage = 0;
        search_step(j);
    }
}

static void
search_finish(leads_job *j)
{
    search_op *o = (search_op *)j;
    if (o->get_cb)
        o->get_cb(o->arg, j->status ? j->status : PLT_ENOENT, NULL);
    else if (o->done)
        o->done(o->arg, j->status, j->msg[0] ? j->msg : NULL);
    leads_loadset_free(&o->set);
    leads_arena_free(&o->a);
    free(o);
}

int
leads_get(void *impl, int64_t contact_id, plt_lead_fn cb, void *arg)
{
    if (contact_id <= 0 || !cb)
        return PLT_EINVAL;
    search_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->j.L = impl;
    o->j.step = search_step;
    o->j.finish = search_finish;
    o->only_id = contact_id;
    o->get_cb = cb;
    o->arg = arg;
    int rc = leads_job_start(&o->j, false, 0);
    if (rc != 0)
        free(o);
    return rc;
}

/* @p text folded (leads_fold) and its LIKE pre-filter, copied into
 * @p a. false when out of memory. */
static bool
fold_query(leads_arena *a, const char *text, bool quoted, const char **folded,
           const char **like)
{
    char *f = leads_fold(text);
    char *l = f ? leads_fold_like(f, quoted) : NULL;
    *folded = leads_arena_dup(a, f);
    *like = leads_arena_dup(a, l);
    free(f);
    free(l);
    return *folded && *like;
}

static void
search_go(search_op *o, const leads_list_rules *lr, const char *phone)
{
    int rc = 0;
    if (phone) {
        phone_rules pr;
        leads_phone_rules(o->j.L, lr, &pr);
        phone_result r;
        if (phone_normalize(phone, &pr, &r) == 0)
            o->phone = leads_arena_dup(&o->a, r.e164);
        else
            o->phone = "-"; /* matches nothing: not a number */
    }
    if (o->a.oom)
        rc = PLT_ENOMEM;
    if (rc == 0)
        rc = leads_job_start(&o->j, false, 0);
    if (rc != 0) {
        o->done(o->arg, rc, "cannot start the search");
        leads_arena_free(&o->a);
        free(o);
    }
}

static void
search_rules_loaded(void *arg, int status, const leads_list_rules *r)
{
    search_op *o = arg;
    /* An unknown list simply matches nothing; FR rules do. */
    search_go(o, status == 0 ? r : NULL, o->phone);
}

int
leads_search(void *impl, const plt_lead_query *q, int64_t offset,
             int64_t limit, plt_lead_row_fn row, plt_leads_done_fn done,
             void *arg)
{
    leads *L = impl;
    if (!q || !row || !done || offset < 0 || limit < 0 ||
        q->size < offsetof(plt_lead_query, status) + sizeof(int32_t))
        return PLT_EINVAL;
    int rc = leads_accepting(L);
    if (rc != 0)
        return rc;
    search_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->j.L = L;
    o->j.step = search_step;
    o->j.finish = search_finish;
    o->list_id = q->list_id;
    o->status = q->status;
    o->created_from = q->created_from;
    o->created_to = q->created_to;
    bool oom = false;
    if (q->text && *q->text) {
        oom |=
            !fold_query(&o->a, q->text, false, &o->text_folded, &o->text_like);
    }
    o->field_name = leads_arena_dup(&o->a, q->field_name);
    o->field_value = leads_arena_dup(&o->a, q->field_value);
    o->field_from = -1;
    if (o->field_name && o->field_value) {
        oom |= !fold_query(&o->a, o->field_value, true, &o->field_folded,
                           &o->field_like);
        o->j.stage = 4; /* look the field up in lead_field_index first */
    }
    o->offset = offset;
    o->limit = limit;
    o->row = row;
    o->done = done;
    o->arg = arg;
    const char *phone =
        q->phone && *q->phone ? leads_arena_dup(&o->a, q->phone) : NULL;
    if (o->a.oom || oom) {
        leads_arena_free(&o->a);
        free(o);
        return PLT_ENOMEM;
    }
    const leads_list_rules *lr =
        q->list_id ? leads_rules_find(L, q->list_id) : NULL;
    if (phone && q->list_id && !lr) {
        o->phone = phone;
        rc = leads_rules_load(L, q->list_id, search_rules_loaded, o);
        if (rc != 0) {
            leads_arena_free(&o->a);
            free(o);
        }
        return rc;
    }
    search_go(o, lr, phone);
    return 0;
}

/* ------------------------------------------------------------------ */
/* history, progress */

typedef struct hist_op {
    leads_job j;
    int64_t contact_id;
    plt_lead_event_row_fn row;
    plt_leads_done_fn done;
    plt_leads_i64_fn i64_cb;
    int64_t value;
    bool found, stopped;
    void *arg;
    char key[];
} hist_op;

static int
hist_row(void *arg, const plt_storage_row *row)
{
    hist_op *o = arg;
    plt_lead_event ev = {
        .id = leads_col_i64(row, 0),
        .at = leads_col_i64(row, 1),
        .kind = leads_col_str(row, 2),
        .campaign = leads_col_str(row, 3),
        .phone = leads_col_str(row, 4),
        .outcome = leads_col_str(row, 5),
        .disposition = leads_col_str(row, 6),
        .agent = leads_col_str(row, 7),
        .note = leads_col_str(row, 8),
    };
    if (o->row(o->arg, &ev) != 0) {
        o->stopped = true;
        return 1;
    }
    return 0;
}

static void
hist_step(leads_job *j)
{
    hist_op *o = (hist_op *)j;
    if (j->stage++ == 0) {
        plt_value a = PLT_V_I64(o->contact_id);
        /* A contact added from schema version 33 on has no "imported"
         * row: its own row is that entry (id 0, the oldest). */
        leads_job_query(j,
                        "SELECT id, at, kind, campaign, phone, outcome,"
                        " disposition, agent, note FROM contact_event"
                        " WHERE contact_id = $1"
                        " UNION ALL SELECT 0, created_at, 'imported', NULL,"
                        " NULL, NULL, NULL, NULL, source FROM contact"
                        " WHERE id = $1 AND source IS NOT NULL"
                        " ORDER BY 2 DESC, 1 DESC",
                        &a, 1, 0, hist_row);
        return;
    }
    leads_job_done(j);
}

static void
hist_finish(leads_job *j)
{
    hist_op *o = (hist_op *)j;
    /* Stopped by the caller: that is not a failure. */
    int st = o->stopped && j->status == PLT_ECANCELED ? 0 : j->status;
    o->done(o->arg, st, st && j->msg[0] ? j->msg : NULL);
    free(o);
}

int
leads_history(void *impl, int64_t contact_id, plt_lead_event_row_fn row,
              plt_leads_done_fn done, void *arg)
{
    if (contact_id <= 0 || !row || !done)
        return PLT_EINVAL;
    hist_op *o = calloc(1, sizeof(*o) + 1);
    if (!o)
        return PLT_ENOMEM;
    o->j.L = impl;
    o->j.step = hist_step;
    o->j.finish = hist_finish;
    o->contact_id = contact_id;
    o->row = row;
    o->done = done;
    o->arg = arg;
    int rc = leads_job_start(&o->j, false, 0);
    if (rc != 0)
        free(o);
    return rc;
}

static int
progress_row(void *arg, const plt_storage_row *row)
{
    hist_op *o = arg;
    o->found = true;
    o->value = leads_col_i64(row, 0);
    return 0;
}

static void
progress_step(leads_job *j)
{
    hist_op *o = (hist_op *)j;
    if (j->stage++ == 0) {
        plt_value a = PLT_V_STR(o->key);
        leads_job_query(j, "SELECT value FROM lead_progress WHERE key = $1",
                        &a, 1, 0, progress_row);
        return;
    }
    if (!o->found)
        leads_job_fail(j, PLT_ENOENT, "no progress stored");
    else
        leads_job_done(j);
}

static void
progress_finish(leads_job *j)
{
    hist_op *o = (hist_op *)j;
    o->i64_cb(o->arg, j->status, j->status == 0 ? o->value : 0);
    free(o);
}

int
leads_progress_get(void *impl, const char *key, plt_leads_i64_fn cb, void *arg)
{
    if (!key || !*key || !cb)
        return PLT_EINVAL;
    size_t n = strlen(key);
    hist_op *o = calloc(1, sizeof(*o) + n + 1);
    if (!o)
        return PLT_ENOMEM;
    memcpy(o->key, key, n + 1);
    o->j.L = impl;
    o->j.step = progress_step;
    o->j.finish = progress_finish;
    o->i64_cb = cb;
    o->arg = arg;
    int rc = leads_job_start(&o->j, false, 0);
    if (rc != 0)
        free(o);
    return rc;
}

/* ------------------------------------------------------------------ */
/* normalize: synchronous and pure */

int
leads_normalize(void *impl, const char *number, const plt_lead_rules *r,
                char *e164, char *time_zone, size_t tz_len, char *why)
{
    leads *L = impl;
    if (!number || !e164)
        return PLT_EINVAL;
    phone_rules pr;
    leads_phone_rules_api(L, r, &pr);
    phone_result res;
    int rc = phone_normalize(number, &pr, &res);
    if (rc != 0) {
        e164[0] = 0;
        if (why)
            snprintf(why, 96, "invalid phone '%.30s': %.45s", number, res.error);
        return rc;
    }
    snprintf(e164, 20, "%s", res.e164);
    if (time_zone && tz_len)
        snprintf(time_zone, tz_len, "%s", res.time_zone ? res.time_zone : "");
    if (why)
        why[0] = 0;
    return 0;
}
