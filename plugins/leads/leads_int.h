/* SPDX-License-Identifier: MIT */
/*
 * Internals of the leads plugin, shared by its files: the plugin state,
 * the asynchronous "job" runner every operation is built on (a chain of
 * statements, optionally in one transaction), growable SQL/argument
 * buffers for multi-row statements, row decoding helpers, and the
 * per-file entry points that make up the `leads` 1.0 vtable.
 */
#ifndef PLATEAU_LEADS_INT_H
#define PLATEAU_LEADS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <plateau/loop.h>
#include <plateau/plateau.h>
#include <plateau/svc/leads.h>
#include <plateau/svc/storage.h>

#include "leads_fold.h"
#include "phone.h"

/* Parameters per statement: below SQLite's 32766 and PostgreSQL's 65535,
 * with room for the shared parameters of a statement. */
#define LEADS_MAX_PARAMS 30000
/* Identifiers per probe (DNC and duplicate checks: one VALUES row per
 * key; loads: "IN (...)"); a power of 4, see leads_contacts.c on
 * statement shapes. Not more for IN lists: with 4,096 values PostgreSQL
 * 15 plans them as a (parallel) sequential scan, where 1,024 values keep
 * an indexed table on its index once it has statistics. */
#define LEADS_IN_CHUNK 1024
/* Statements of one add_batch in flight at once: the next one is built
 * while the engine runs the previous one. */
#define LEADS_PIPELINE 2
#define LEADS_MSG_MAX 256

/* Most names in `indexed_fields`. */
#define LEADS_MAX_INDEXED 16
#define LEADS_FIELD_NAME_MAX 64

typedef struct leads_cfg {
    char country[3];     /* default country for numbers (FR) */
    int64_t insert_rows; /* rows per multi-row INSERT */
    int64_t reserve_max; /* most contacts one reserve() hands out */
    /* Custom fields with rows in contact_search (search by field through
     * an index); the others are searched by scanning contact.fields. */
    char indexed[LEADS_MAX_INDEXED][LEADS_FIELD_NAME_MAX];
    size_t nindexed;
} leads_cfg;

/* A list's normalisation rules, cached: rules never change once a list
 * exists (there is no call to change them), so a cached copy is exact. */
typedef struct leads_list_rules {
    int64_t id;
    char country[3];
    char prefix[12];
    bool restore_lost_zero;
} leads_list_rules;

struct add_op;

typedef struct leads {
    leads_cfg cfg;
    plt_storage st;
    bool started, stopping, stop_async;
    int64_t pending; /* jobs in flight */
    leads_list_rules *rules;
    size_t nrules, caprules;
    uint64_t rr; /* rotates the tie-break of weighted list mixing */
    /* add_batch transactions: one runs, the others wait in call order
     * (leads_contacts.c). */
    bool add_busy;
    struct add_op *add_head, *add_tail;
    char *add_failed_key; /* progress key of a batch that failed */
} leads;

extern const plt_leads_vt leads_vtable;
extern const plt_storage_migration leads_migrations[];
extern const size_t leads_nmigrations;
extern const plt_command leads_commands[];

int leads_accepting(const leads *L);
void leads_req_begin(leads *L);
void leads_req_end(leads *L);
void leads_cli_bind(leads *L);
void leads_cli_abort(void);

/* ---- rules cache ---- */
const leads_list_rules *leads_rules_find(leads *L, int64_t id);
void leads_rules_put(leads *L, const leads_list_rules *r);
/* phone_rules from a list's rules (or the default country when NULL). */
void leads_phone_rules(const leads *L, const leads_list_rules *r,
                       phone_rules *out);
void leads_phone_rules_api(const leads *L, const plt_lead_rules *r,
                           phone_rules *out);
int32_t leads_type_from_phone(phone_type t);

/* ---- growable buffers ---- */
typedef struct leads_sb {
    char *s;
    size_t len, cap;
    bool oom;
} leads_sb;
void leads_sb_add(leads_sb *b, const char *s);
void leads_sb_addf(leads_sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append "$a, $a+1, ..., $a+n-1" (a parameter list). */
void leads_sb_params(leads_sb *b, size_t first, size_t n);
/* Append "$n" (no printf: multi-row statements append thousands). */
void leads_sb_param(leads_sb *b, size_t n);
void leads_sb_free(leads_sb *b);

typedef struct leads_args {
    plt_value *v;
    size_t n, cap;
    bool oom;
} leads_args;
void leads_args_add(leads_args *a, plt_value v);
void leads_args_free(leads_args *a);

/* An arena of copied strings, freed at once. */
typedef struct leads_arena {
    struct leads_arena_blk *head;
    bool oom;
} leads_arena;
const char *leads_arena_dup(leads_arena *a, const char *s);
void *leads_arena_alloc(leads_arena *a, size_t n);
void leads_arena_free(leads_arena *a);

/* ---- rows ---- */
int64_t leads_col_i64(const plt_storage_row *row, size_t i);
const char *leads_col_str(const plt_storage_row *row, size_t i);

/* ---- jobs ----
 * A job is a small state machine: `step` runs after the job started (and
 * its transaction, if any, was opened) and after every statement that
 * succeeded; it issues the next statement, or commits, or fails. The
 * first failure rolls back and ends the job; `finish` then runs exactly
 * once with j->status set, reports to the caller and frees the job. */
typedef struct leads_job leads_job;
struct leads_job {
    leads *L;
    plt_storage_txn *txn;
    uint32_t txn_flags;
    int stage;
    int status;
    char msg[LEADS_MSG_MAX];
    int64_t affected; /* rows_affected of the last statement */
    int64_t rows;     /* rows of the last statement */
    int inflight;     /* statements queued and not yet done */
    void (*step)(leads_job *j);
    void (*finish)(leads_job *j);
    plt_storage_row_fn row; /* row callback of the next query; arg = j */
};

/* Start @p j: with @p txn, BEGIN (flags apply to the commit) then step();
 * without, step() right away (it must issue a statement or finish).
 *
 * Pipelining: a step may queue a further statement while others are in
 * flight (j->inflight); engines run a transaction's statements in order
 * and report them in order, and step() runs after each one that
 * succeeded. After a failure the job waits for the statements still in
 * flight, then rolls back and ends with the first error. */
int leads_job_start(leads_job *j, bool txn, uint32_t flags);
/* Issue one statement in the job's transaction (or autocommit). Returns
 * 0, or < 0 when it could not be queued: the job then failed (and may
 * already be freed: touch nothing of it). */
int leads_job_query(leads_job *j, const char *sql, const plt_value *args,
                    size_t nargs, uint32_t flags, plt_storage_row_fn row);
/* Same with a leads_sb/leads_args pair, which are then freed. */
/* query_rows() (storage 1.1) in the job: @p nrows rows of @p ncols. */
int leads_job_query_rows(leads_job *j, const char *sql, const plt_value *args,
                         size_t ncols, size_t nrows, uint32_t flags,
                         plt_storage_row_fn row);
int leads_job_query_built(leads_job *j, leads_sb *sql, leads_args *args,
                          uint32_t flags, plt_storage_row_fn row);
void leads_job_commit(leads_job *j);
/* End with @p status (rolls back an open transaction first). */
void leads_job_fail(leads_job *j, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* End successfully without a transaction to commit. */
void leads_job_done(leads_job *j);

/* ---- contact loading (shared by get, search and reserve) ---- */
typedef struct leads_loaded {
    plt_lead lead;
    plt_lead_field *fields;
    size_t nfields, capfields;
    plt_lead_phone *phones;
    size_t nphones;
    bool is_callback; /* reserve: taken as a due callback */
} leads_loaded;

typedef struct leads_loadset {
    leads_arena arena;
    leads_loaded *c;
    size_t n, cap;
} leads_loadset;

/* Column 13 is the contact's custom fields (JSON), decoded by
 * leads_loadset_add_row(). */
#define LEADS_CONTACT_COLS                                                     \
    "c.id, c.list_id, c.status, c.time_zone, c.priority, c.attempts,"          \
    " c.last_attempt_at, c.next_attempt_at, c.callback_at, c.callback_agent,"  \
    " c.last_outcome, c.last_disposition, c.created_at, c.fields"
int leads_loadset_add_row(leads_loadset *s, const plt_storage_row *row);
leads_loaded *leads_loadset_find(leads_loadset *s, int64_t id);
void leads_loadset_free(leads_loadset *s);
/* Row callback for "SELECT contact_id, e164, original, type, time_zone"
 * (arg: loadset). */
int leads_loadset_phone_row(void *arg, const plt_storage_row *row);
/* Append the phone query for s->c[from..to) to @p sql/@p args (with
 * @p dnc_campaign non-NULL, numbers on the DNC list of that campaign or the
 * global one are left out). */
void leads_sql_phones_of(const leads_loadset *s, size_t from, size_t to,
                         const char *dnc_campaign, leads_sb *sql,
                         leads_args *args);

/* ---- custom fields as JSON (leads_fields.c) ---- */
/* One contact's fields as a compact JSON object (keys in the given order;
 * a name given twice keeps its last value; bytes that are not UTF-8 are
 * replaced by U+FFFD). NULL with no field. Returns 0 or PLT_ENOMEM;
 * *out is malloc'd. */
int leads_fields_to_json(const plt_lead_field *f, size_t n, char **out);
/* Decode @p json into @p out (names sorted, strings in @p arena; *out
 * malloc'd, or NULL when there is no field). A malformed document gives
 * no field. Returns 0 or PLT_ENOMEM. */
int leads_fields_from_json(const char *json, leads_arena *arena,
                           plt_lead_field **out, size_t *n);
/* @p json (a contact.fields document) with @p edits applied. */
int leads_fields_merge(const char *json, const plt_lead_field *edits,
                       size_t n, char **out);
bool leads_field_indexed(const leads *L, const char *name);
/* The value of field @p name in @p json (a copy in @p arena), or NULL. */
const char *leads_fields_value(leads_arena *arena, const char *json,
                               const char *name);
/* The JSON text of @p s as a string, without its quotes ("a\"b" for
 * a"b): what a document holds for that value. malloc'd, or NULL. */
char *leads_json_escape(const char *s);
/* A LIKE pattern (escape '\\') over lower(contact.fields) that every
 * document with a value whose folding contains @p folded (equals it, in
 * quotes, when @p quoted) matches on both engines: a superset, the letters
 * accented letters fold to and non-ASCII bytes as '%'. malloc'd. */
char *leads_fold_like(const char *folded, bool quoted);
/* Does the field of @p json named @p name fold to @p folded (@p name
 * NULL: does any field's folding contain @p needle_folded)? */
bool leads_fields_match(const char *json, const char *name, const char *folded,
                        const char *needle_folded);
/* Fill contact_search.folded where it is missing (after reconcile). */
int leads_fields_backfill(leads *L);
/* Bring lead_field_index in line with `indexed_fields` (at start). */
int leads_fields_reconcile(leads *L);

/* ---- vtable entries, by file ---- */
int leads_list_create(void *impl, const char *name, const plt_lead_rules *r,
                      const char *const *field_names, size_t nfields,
                      plt_leads_id_fn cb, void *arg);
int leads_list_find(void *impl, const char *name, plt_leads_id_fn cb,
                    void *arg);
int leads_list_stats(void *impl, int64_t list_id, int64_t now,
                     plt_list_stats_fn cb, void *arg);
int leads_list_attach(void *impl, const char *campaign, int64_t list_id,
                      int32_t weight, plt_leads_done_fn done, void *arg);
int leads_list_detach(void *impl, const char *campaign, int64_t list_id,
                      plt_leads_done_fn done, void *arg);
/* Load a list's rules (cache, else the database) then call @p cb. */
typedef void (*leads_rules_fn)(void *arg, int status,
                               const leads_list_rules *r);
int leads_rules_load(leads *L, int64_t list_id, leads_rules_fn cb, void *arg);

int leads_add_batch(void *impl, int64_t list_id, const plt_lead_new *c,
                    size_t n, const plt_lead_add_opts *opts,
                    plt_leads_added_fn cb, void *arg);
int leads_get(void *impl, int64_t contact_id, plt_lead_fn cb, void *arg);
int leads_search(void *impl, const plt_lead_query *q, int64_t offset,
                 int64_t limit, plt_lead_row_fn row, plt_leads_done_fn done,
                 void *arg);
int leads_history(void *impl, int64_t contact_id, plt_lead_event_row_fn row,
                  plt_leads_done_fn done, void *arg);
int leads_progress_get(void *impl, const char *key, plt_leads_i64_fn cb,
                       void *arg);
int leads_normalize(void *impl, const char *number, const plt_lead_rules *r,
                    char *e164, char *time_zone, size_t tz_len, char *why);

int leads_dnc_add(void *impl, const char *scope, const char *const *numbers,
                  size_t n, const plt_lead_rules *rules, const char *source,
                  plt_leads_done_fn done, void *arg);
int leads_dnc_remove(void *impl, const char *scope, const char *number,
                     plt_leads_done_fn done, void *arg);
int leads_dnc_check(void *impl, const char *campaign, const char *e164,
                    plt_leads_bool_fn cb, void *arg);

int leads_reserve(void *impl, const plt_lead_filter *f, const char *owner,
                  int32_t n, plt_lead_row_fn row, plt_leads_done_fn done,
                  void *arg);
int leads_release(void *impl, const char *owner, int64_t contact_id,
                  plt_leads_done_fn done, void *arg);
int leads_release_until(void *impl, const char *owner, int64_t contact_id,
                        int64_t until, plt_leads_done_fn done, void *arg);
int leads_attempt_done(void *impl, const plt_lead_attempt *a,
                       plt_leads_done_fn done, void *arg);
int leads_disposition(void *impl, const plt_lead_disposition *d,
                      plt_leads_done_fn done, void *arg);
int leads_attempts_since(void *impl, const char *e164, int64_t since,
                         plt_leads_i64_fn cb, void *arg);

#endif
