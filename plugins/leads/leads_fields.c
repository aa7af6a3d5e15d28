/* SPDX-License-Identifier: MIT */
/*
 * Custom fields as one JSON document per contact (contact.fields, TEXT,
 * written and parsed with jansson), and the small search index beside it.
 *
 * A 20-column lead file used to store ~18 contact_field rows per contact,
 * each with two index entries: most of an import's time. Now a contact's
 * fields are one compact JSON object in its own row, and contact_search
 * (one B-tree keyed name, value, contact) holds rows only for the fields
 * named in `indexed_fields` (by default the name fields), so that
 * searching by those stays an index lookup.
 * lead_field_index records, per indexed name, the first contact id from
 * which every contact has its rows (names indexed since the beginning: 0);
 * a search on any other field, or on older contacts, scans contact.fields
 * with a LIKE pre-filter. Every candidate a query returns is checked here
 * against the decoded document, case and accents folded (leads_fold), so
 * the pre-filters may be loose (letters that accented letters fold to are
 * wildcards, a stale index row may remain after an edit) but never decide
 * a result.
 *
 * The storage contract keeps engine JSON operators out of queries (one SQL
 * text for both engines): JSON is only ever stored as text and parsed in C.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "leads_int.h"

/* A JSON string of @p s; bytes that are not UTF-8 (a caller of the API
 * may pass anything; the importer always hands out UTF-8) become U+FFFD,
 * as the CSV reader would have decoded nothing better. */
static json_t *
json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *fixed = leads_utf8_repair(s);
    if (!fixed)
        return NULL;
    j = json_string(fixed);
    free(fixed);
    return j;
}

static int
set_field(json_t *o, const char *name, const char *value)
{
    json_t *v = value ? json_text(value) : json_null();
    if (!v)
        return PLT_ENOMEM;
    /* Field names come from list definitions and import headers; a name
     * that is not UTF-8 is kept as its repaired text. */
    if (json_object_set_new(o, name, v) == 0)
        return 0;
    json_t *k = json_text(name);
    const char *kn = k ? json_string_value(k) : NULL;
    int rc = kn && json_object_set(o, kn, v) == 0 ? 0 : PLT_ENOMEM;
    json_decref(k);
    json_decref(v);
    return rc;
}

int
leads_fields_to_json(const plt_lead_field *f, size_t n, char **out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    json_t *o = json_object();
    if (!o)
        return PLT_ENOMEM;
    size_t set = 0;
    for (size_t i = 0; i < n; i++) {
        if (!f[i].name || !*f[i].name)
            continue;
        if (set_field(o, f[i].name, f[i].value) != 0) {
            json_decref(o);
            return PLT_ENOMEM;
        }
        set++;
    }
    if (set)
        *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return set && !*out ? PLT_ENOMEM : 0;
}

static int
cmp_field(const void *a, const void *b)
{
    return strcmp(((const plt_lead_field *)a)->name,
                  ((const plt_lead_field *)b)->name);
}

int
leads_fields_from_json(const char *json, leads_arena *arena,
                       plt_lead_field **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!json || !*json)
        return 0;
    json_t *o = json_loads(json, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return 0;
    }
    size_t cap = json_object_size(o);
    plt_lead_field *f = cap ? calloc(cap, sizeof(*f)) : NULL;
    if (cap && !f) {
        json_decref(o);
        return PLT_ENOMEM;
    }
    const char *k;
    json_t *v;
    size_t i = 0;
    json_object_foreach(o, k, v)
    {
        if (i == cap)
            break;
        f[i].name = leads_arena_dup(arena, k);
        if (json_is_string(v)) {
            f[i].value = leads_arena_dup(arena, json_string_value(v));
        } else if (!json_is_null(v)) {
            /* Not written by Plateau; shown as its JSON text. */
            char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            f[i].value = leads_arena_dup(arena, t);
            free(t);
        }
        i++;
    }
    json_decref(o);
    if (arena->oom) {
        free(f);
        return PLT_ENOMEM;
    }
    /* Name order, as contact_field rows were read before. */
    qsort(f, i, sizeof(*f), cmp_field);
    *out = f;
    *n = i;
    return 0;
}

int
leads_fields_merge(const char *json, const plt_lead_field *edits, size_t n,
                   char **out)
{
    *out = NULL;
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
        if (!o)
            return PLT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (!edits[i].name || !*edits[i].name)
            continue;
        if (set_field(o, edits[i].name, edits[i].value) != 0) {
            json_decref(o);
            return PLT_ENOMEM;
        }
    }
    *out = json_object_size(o) ? json_dumps(o, JSON_COMPACT) : NULL;
    int rc = json_object_size(o) && !*out ? PLT_ENOMEM : 0;
    json_decref(o);
    return rc;
}

const char *
leads_fields_value(leads_arena *arena, const char *json, const char *name)
{
    if (!json)
        return NULL;
    json_t *o = json_loads(json, 0, NULL);
    const char *v = json_string_value(json_object_get(o, name));
    const char *copy = leads_arena_dup(arena, v);
    json_decref(o);
    return copy;
}

bool
leads_field_indexed(const leads *L, const char *name)
{
    for (size_t i = 0; name && i < L->cfg.nindexed; i++)
        if (strcmp(L->cfg.indexed[i], name) == 0)
            return true;
    return false;
}

char *
leads_json_escape(const char *s)
{
    json_t *j = json_text(s);
    if (!j)
        return NULL;
    char *t = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(j);
    if (!t)
        return NULL;
    size_t n = strlen(t);
    /* Drop the quotes. */
    memmove(t, t + 1, n - 2);
    t[n - 2] = 0;
    return t;
}

char *
leads_fold_like(const char *folded, bool quoted)
{
    char *esc = leads_json_escape(folded);
    if (!esc)
        return NULL;
    size_t n = strlen(esc);
    char *p = malloc(2 * n + 5);
    if (!p) {
        free(esc);
        return NULL;
    }
    size_t k = 0;
    p[k++] = '%';
    if (quoted)
        p[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)esc[i];
        /* A letter some accented letter folds to, or a character that
         * is not ASCII (engines lowercase those differently): any run. */
        if (ch >= 0x80 || leads_fold_target(ch)) {
            if (p[k - 1] != '%' || (k >= 2 && p[k - 2] == '\\'))
                p[k++] = '%';
            continue;
        }
        if (ch == '%' || ch == '_' || ch == '\\')
            p[k++] = '\\';
        p[k++] = (char)tolower(ch); /* escapes: lower() spells 001F 001f */
    }
    if (quoted)
        p[k++] = '"';
    if (p[k - 1] != '%' || (k >= 2 && p[k - 2] == '\\'))
        p[k++] = '%';
    p[k] = 0;
    free(esc);
    return p;
}

bool
leads_fields_match(const char *json, const char *name, const char *folded,
                   const char *needle_folded)
{
    if (!json)
        return false;
    json_t *o = json_loads(json, 0, NULL);
    bool hit = false;
    if (json_is_object(o)) {
        if (name) {
            const char *v = json_string_value(json_object_get(o, name));
            char *fv = v && folded ? leads_fold(v) : NULL;
            hit = fv && strcmp(fv, folded) == 0;
            free(fv);
        } else {
            const char *k;
            json_t *v;
            json_object_foreach(o, k, v)
            {
                const char *s = json_string_value(v);
                char *fs = s ? leads_fold(s) : NULL;
                hit = fs && strstr(fs, needle_folded) != NULL;
                free(fs);
                if (hit)
                    break;
            }
        }
    }
    json_decref(o);
    return hit;
}

/* ------------------------------------------------------------------ */
/* lead_field_index at start */

typedef struct reconcile_op {
    leads_job j;
    size_t next;
    char **drop; /* names indexed before and no longer configured */
    size_t ndrop, capdrop;
} reconcile_op;

static int
drop_row(void *arg, const plt_storage_row *row)
{
    reconcile_op *o = arg;
    const char *n = leads_col_str(row, 0);
    if (!n)
        return 0;
    if (o->ndrop == o->capdrop) {
        size_t cap = o->capdrop ? o->capdrop * 2 : 8;
        char **d = realloc(o->drop, cap * sizeof(*d));
        if (!d)
            return 1;
        o->drop = d;
        o->capdrop = cap;
    }
    if (!(o->drop[o->ndrop] = strdup(n)))
        return 1;
    o->ndrop++;
    return 0;
}

/* "DELETE FROM @p table WHERE name IN (the dropped names)". */
static void
delete_dropped(reconcile_op *o, const char *table)
{
    leads_sb sql = {0};
    leads_args args = {0};
    leads_sb_addf(&sql, "DELETE FROM %s WHERE name IN (", table);
    for (size_t i = 0; i < o->ndrop; i++) {
        leads_args_add(&args, PLT_V_STR(o->drop[i]));
        if (i)
            leads_sb_add(&sql, ", ");
        leads_sb_param(&sql, args.n);
    }
    leads_sb_add(&sql, ")");
    leads_job_query_built(&o->j, &sql, &args, PLT_STORAGE_WRITE, NULL);
}

static void
reconcile_step(leads_job *j)
{
    reconcile_op *o = (reconcile_op *)j;
    leads *L = j->L;
    switch (j->stage++) {
    case 0: {
        /* Names no longer configured (a database upgraded from leads 1.0
         * starts with every name). */
        leads_sb sql = {0};
        leads_args args = {0};
        leads_sb_add(&sql, "SELECT name FROM lead_field_index");
        if (L->cfg.nindexed) {
            leads_sb_add(&sql, " WHERE name NOT IN (");
            for (size_t i = 0; i < L->cfg.nindexed; i++) {
                leads_args_add(&args, PLT_V_STR(L->cfg.indexed[i]));
                if (i)
                    leads_sb_add(&sql, ", ");
                leads_sb_param(&sql, args.n);
            }
            leads_sb_add(&sql, ")");
        }
        leads_job_query_built(j, &sql, &args, 0, drop_row);
        return;
    }
    case 1:
        /* First the index stops claiming to be complete for them (a
         * search then scans the documents), then their rows go. */
        if (o->ndrop) {
            delete_dropped(o, "lead_field_index");
            return;
        }
        j->stage++;
        /* fall through */
    case 2:
        if (o->ndrop) {
            delete_dropped(o, "contact_search");
            return;
        }
        break;
    default:
        break;
    }
    if (o->next < L->cfg.nindexed) {
        /* A name indexed from now on: complete from the next contact.
         * (WHERE 1 = 1 lets SQLite parse the ON CONFLICT after SELECT.) */
        plt_value a = PLT_V_STR(L->cfg.indexed[o->next++]);
        leads_job_query(j,
                        "INSERT INTO lead_field_index (name, from_id)"
                        " SELECT $1, COALESCE(MAX(id), 0) + 1 FROM contact"
                        " WHERE 1 = 1 ON CONFLICT (name) DO NOTHING",
                        &a, 1, PLT_STORAGE_WRITE, NULL);
        return;
    }
    leads_job_done(j);
}

static void
reconcile_finish(leads_job *j)
{
    reconcile_op *o = (reconcile_op *)j;
    for (size_t i = 0; i < o->ndrop; i++)
        free(o->drop[i]);
    free(o->drop);
    if (j->status != 0)
        plt_log(PLT_LOG_WARN,
                "leads: cannot record the indexed fields (%s): searches by "
                "field scan contact.fields",
                j->msg[0] ? j->msg : plt_strerror(j->status));
    leads *L = j->L;
    free(j);
    if (!L->stopping) {
        int rc = leads_fields_backfill(L);
        if (rc != 0)
            plt_log(PLT_LOG_WARN, "leads: cannot fold the search keys: %s",
                    plt_strerror(rc));
    }
}

int
leads_fields_reconcile(leads *L)
{
    reconcile_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->j.L = L;
    o->j.step = reconcile_step;
    o->j.finish = reconcile_finish;
    /* Autocommit statements, each idempotent: a crash in between leaves
     * nothing that the next start does not repair. */
    int rc = leads_job_start(&o->j, false, 0);
    if (rc != 0)
        free(o);
    return rc;
}

/* ------------------------------------------------------------------ */
/* contact_search.folded of rows written before version 31 */

#define BACKFILL_BATCH 256

typedef struct backfill_op {
    leads_job j;
    leads_arena a;
    const char *name[BACKFILL_BATCH], *value[BACKFILL_BATCH];
    size_t n, next;
} backfill_op;

static int
backfill_row(void *arg, const plt_storage_row *row)
{
    backfill_op *o = arg;
    const char *n = leads_col_str(row, 0), *v = leads_col_str(row, 1);
    if (!n || !v || o->n == BACKFILL_BATCH)
        return 0;
    o->name[o->n] = leads_arena_dup(&o->a, n);
    o->value[o->n] = leads_arena_dup(&o->a, v);
    o->n++;
    return o->a.oom ? 1 : 0;
}

static void
backfill_step(leads_job *j)
{
    backfill_op *o = (backfill_op *)j;
    if (j->stage == 0 || o->next == o->n) {
        if (j->stage == 1 && o->n < BACKFILL_BATCH) {
            leads_job_done(j); /* the last batch was short: none left */
            return;
        }
        if (j->L->stopping) {
            leads_job_done(j);
            return;
        }
        /* A batch of keys still to fold; one UPDATE per (name, value)
         * through the primary key, each autocommitted. */
        leads_arena_free(&o->a);
        o->n = o->next = 0;
        j->stage = 1;
        plt_value a = PLT_V_I64(BACKFILL_BATCH);
        leads_job_query(j,
                        "SELECT DISTINCT name, value FROM contact_search"
                        " WHERE folded IS NULL LIMIT $1",
                        &a, 1, 0, backfill_row);
        return;
    }
    size_t i = o->next++;
    char *f = leads_fold(o->value[i]);
    if (!f) {
        leads_job_fail(j, PLT_ENOMEM, "out of memory");
        return;
    }
    plt_value v[] = {PLT_V_STR(o->name[i]), PLT_V_STR(o->value[i]),
                     PLT_V_STR(f)};
    leads_job_query(j,
                    "UPDATE contact_search SET folded = $3 WHERE name = $1"
                    " AND value = $2 AND folded IS NULL",
                    v, 3, PLT_STORAGE_WRITE, NULL);
    free(f); /* the engine copied it */
}

static void
backfill_finish(leads_job *j)
{
    backfill_op *o = (backfill_op *)j;
    if (j->status != 0)
        plt_log(PLT_LOG_WARN,
                "leads: cannot fold the search keys (%s): searches by field "
                "also scan the rows not folded yet",
                j->msg[0] ? j->msg : plt_strerror(j->status));
    leads_arena_free(&o->a);
    free(o);
}

int
leads_fields_backfill(leads *L)
{
    backfill_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->j.L = L;
    o->j.step = backfill_step;
    o->j.finish = backfill_finish;
    int rc = leads_job_start(&o->j, false, 0);
    if (rc != 0)
        free(o);
    return rc;
}
