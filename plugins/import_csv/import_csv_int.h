/* SPDX-License-Identifier: MIT */
/*
 * import_csv internals shared by its files: the plugin state, a job, the
 * batches that travel between the worker (parse, map, write the report)
 * and the loop (add_batch, counters, events, job rows).
 */
#ifndef IMPORT_CSV_INT_H
#define IMPORT_CSV_INT_H

/* Batches handed to leads add_batch() at once: leads prepares the next
 * one on the loop while the database commits the previous one, and runs
 * their transactions one after the other, in order. */
#define IMP_ADDING_MAX 2

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <plateau/loop.h>
#include <plateau/plateau.h>
#include <plateau/svc/import.h>
#include <plateau/svc/leads.h>
#include <plateau/svc/storage.h>

#include "csv.h"

#define IMP_HASH_BYTES (64u * 1024u)
#define IMP_NAME_MAX 128

typedef struct import_csv import_csv;
typedef struct imp_job imp_job;

typedef struct imp_cfg {
    int64_t batch_rows;     /* rows per add_batch */
    int64_t max_in_flight;  /* parsed batches not yet committed */
    int64_t read_chunk;     /* bytes read per csv_feed */
    int64_t progress_ms;    /* progress event throttle */
} imp_cfg;

/* ---- arena: stable strings for one batch ---- */
typedef struct imp_chunk {
    struct imp_chunk *next;
    size_t used, cap;
    char data[];
} imp_chunk;

typedef struct imp_arena {
    imp_chunk *head;
} imp_arena;

char *import_csv_arena_dup(imp_arena *a, const char *s, size_t len);
void import_csv_arena_free(imp_arena *a);

/* ---- a batch ---- */

/* Why a row is not imported (pre = decided on the worker). */
enum {
    IMP_R_NONE = 0,
    IMP_R_MALFORMED = 1,
    IMP_R_INVALID_PHONE = 2,
    IMP_R_DUPLICATE = 3,
    IMP_R_DNC = 4,
};

typedef struct imp_row {
    int64_t line;
    uint32_t first_orig; /* index in batch->orig */
    uint32_t norig;
    int32_t reject;      /* IMP_R_* */
    int32_t lead;        /* index in batch->leads, or -1 */
    const char *reason;  /* static or in the arena */
    const char *detail;  /* e.g. the phone as written */
    bool dnc_hit;
} imp_row;

typedef struct imp_batch {
    struct imp_batch *next;
    imp_job *job;
    imp_arena arena;
    imp_row *rows;
    size_t nrows, caprows;
    csv_field *orig;
    size_t norig, caporig;
    plt_lead_new *leads;
    size_t nleads, capleads;
    plt_lead_field *fields;
    size_t nfields, capfields;
    plt_lead_phone *phones;
    size_t nphones, capphones;
    /* Where reading resumes after this batch. */
    uint64_t end_offset, end_line;
    int64_t recovered; /* rows skipped: committed before a crash */
    int64_t malformed_rows;
    /* Filled on the loop after the commit. */
    plt_import_counters snap;
    int64_t report_bytes; /* report size after its rows (worker) */
} imp_batch;

void import_csv_batch_free(imp_batch *b);

/* ---- mapping ---- */
typedef struct imp_col {
    int32_t kind;       /* plt_import_kind */
    int32_t phone_type;
    char *field;        /* FIELD: the custom field name */
} imp_col;

/* ---- a job ---- */
typedef struct imp_spec {
    char *path;
    char *list;
    int64_t list_id;
    bool create_list;
    char *country;
    char *prefix;
    bool restore_lost_zero;
    plt_import_read read;
    plt_import_column *columns;
    size_t ncolumns;
    bool map_only;
    int32_t dedup;
    char *dedup_field;
    bool skip_dnc;
    int64_t resume_job;
    bool auto_resume;
} imp_spec;

/* Direct observer (the CLI): called on the loop. */
typedef struct imp_observer {
    void (*progress)(void *arg, const imp_job *job);
    void (*finished)(void *arg, const imp_job *job);
    void *arg;
} imp_observer;

typedef enum imp_phase {
    IMP_P_LOAD = 1,   /* resume_job: reading the job row */
    IMP_P_OPEN,       /* worker: identity, sniff, header */
    IMP_P_FIND,       /* auto_resume: looking for an unfinished job */
    IMP_P_LIST,       /* finding or creating the list */
    IMP_P_RECORD,     /* inserting/updating the job row */
    IMP_P_PROGRESS,   /* reading the leads progress value */
    IMP_P_RUN,
    IMP_P_FINISHING,  /* last writes */
    IMP_P_ENDED
} imp_phase;

struct imp_job {
    import_csv *ic;
    imp_job *next;
    int64_t id;
    imp_phase phase;
    int32_t state;      /* plt_import_state */
    int32_t end_state;  /* wanted on finish */
    char *error;
    imp_spec spec;
    char *settings_json; /* spec as stored */
    bool resumed;

    /* File identity and detected settings. */
    uint64_t file_size;
    int64_t file_mtime;
    char file_hash[17];
    /* What open_work saw (compared with a resumed job's row). */
    uint64_t seen_size;
    int64_t seen_mtime;
    char seen_hash[17];
    char separator;
    int32_t encoding;
    bool has_bom;
    bool has_header;
    char **header;
    size_t ncols;
    imp_col *cols;
    size_t nphone_cols;
    char report_path[4096];

    /* Resume point (from the job row) and the leads progress. */
    uint64_t start_offset, start_line;
    uint64_t skip_until;
    int64_t report_bytes0;

    /* Worker-owned between queue and done. */
    FILE *file;
    csv_reader *rd;
    imp_batch *cur;
    FILE *report;
    int64_t report_bytes;
    bool eof;
    int werr;
    char werrmsg[4400];
    char *readbuf;
    /* Exchange with the worker. */
    imp_batch *w_in;     /* committed batches whose rejects to write */
    bool w_parse;        /* parse one more batch */
    bool w_close;        /* close the report and the file */
    imp_batch *w_out;    /* batches parsed */
    imp_batch *w_done;   /* batches written (to persist and free) */

    /* Loop-owned. */
    imp_batch *ready_head, *ready_tail; /* parsed, waiting to be sent */
    imp_batch *written_head, *written_tail; /* committed, to write */
    int alive;           /* batches parsed and not yet committed */
    bool work_running;
    int adding;          /* batches handed to add_batch, not yet answered */
    bool persisting;
    bool persist_again;
    plt_import_counters persist_snap;
    uint64_t persist_offset, persist_line;
    int64_t persist_report;
    bool cancel;
    bool closed;
    plt_import_counters c;
    uint64_t committed_offset;
    uint64_t last_event_ms;
    int64_t last_event_bytes;
    int64_t started_at, finished_at;
    int pending;         /* storage/leads calls in flight */

    plt_import_job_fn start_cb;
    void *start_arg;
    bool start_cb_done;
    imp_observer obs;
};

struct import_csv {
    imp_cfg cfg;
    plt_storage st;
    plt_leads leads;
    bool have_leads;
    bool started;
    bool stopping;
    bool stop_async;
    imp_job *jobs;
    int pending; /* previews, reports, status reads in flight */
};

/* import_csv.c */
int import_csv_accepting(const import_csv *ic);
void import_csv_check_stopped(import_csv *ic);

/* import_csv_store.c */
extern const plt_storage_migration import_csv_migrations[];
extern const size_t import_csv_nmigrations;
int import_csv_status(void *impl, int64_t job_id, plt_import_status_fn cb,
                      void *arg);
char *import_csv_spec_to_json(const imp_spec *s);
int import_csv_spec_from_json(const char *json, imp_spec *s);
void import_csv_spec_free(imp_spec *s);
int import_csv_spec_copy(imp_spec *dst, const plt_import_spec *src);
int import_csv_store_insert(imp_job *j);
int import_csv_store_load(imp_job *j);
int import_csv_store_find(imp_job *j);
int import_csv_store_persist(imp_job *j);
int import_csv_store_running(imp_job *j);
const char *import_csv_state_name(int32_t state);

/* import_csv_job.c */
int import_csv_job_start(import_csv *ic, const plt_import_spec *spec,
                         plt_import_job_fn cb, void *arg,
                         const imp_observer *obs);
int import_csv_cancel(void *impl, int64_t job_id);
imp_job *import_csv_job_find(import_csv *ic, int64_t id);
void import_csv_job_stop_all(import_csv *ic);
void import_csv_job_step(imp_job *j);
void import_csv_job_fail(imp_job *j, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void import_csv_job_free(imp_job *j);
void import_csv_job_report_path(const imp_job *j, int64_t id, char *buf,
                                size_t len);

/* import_csv_worker.c */
void import_csv_open_work(void *arg);      /* identity, sniff, header */
void import_csv_parse_work(void *arg);     /* report rows, one batch */
int import_csv_map_columns(imp_job *j, char *why, size_t whylen);
int import_csv_preview(void *impl, const plt_import_preview_req *req,
                       plt_import_preview_fn cb, void *arg);
void import_csv_normalize_name(const char *in, char *out, size_t len);

/* import_csv_report.c */
int import_csv_report_open(imp_job *j);
int import_csv_report_rows(imp_job *j, imp_batch *b);
void import_csv_report_close(imp_job *j);
void import_csv_report_apply(imp_job *j, imp_batch *b,
                             const plt_lead_added *res, size_t n);
int import_csv_report(void *impl, int64_t job_id, plt_import_write_fn write,
                      plt_import_done_fn done, void *arg);
int import_csv_report_path(void *impl, int64_t job_id, char *buf,
                           size_t len);

/* import_csv_cli.c */
extern const plt_command import_csv_commands[];
void import_csv_cli_bind(import_csv *ic);

#endif
