/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/svc/import.h
 * The `import` service 1.0: lead files (CSV as spreadsheets write them)
 * into lists of the `leads` service, with a preview, a column mapping,
 * de-duplication, do-not-call filtering, progress, cancellation, resumable
 * jobs and a downloadable report. Provided by the import_csv plugin; used
 * by the web UI and by `plateau import`.
 *
 * FLOW.
 *  1. preview(): detected separator, encoding and header, the first rows
 *     as UTF-8, and the suggested mapping (by header names). Nothing is
 *     imported. The user corrects what is wrong and
 *  2. start() a job: it returns a job id once the job is recorded; the
 *     file is then read, parsed and mapped off the loop thread and handed
 *     to leads add_batch() in batches, each committed with the byte offset
 *     after its last record (see RESUME).
 *  3. Events tell the UI how far it is; status() reads the counters;
 *     cancel() stops it after the batch being committed.
 *  4. report(): the rows that were not imported - line number, reason and
 *     the original fields - as CSV (UTF-8 with BOM, ';'), for Excel.
 *
 * EVENTS (schema 1), on the loop thread:
 *  - `import.job.started`: job_id (i64), list_id (i64), list (str), path
 *    (str), bytes_total (i64), resumed_from (i64: byte offset, 0 for a new
 *    job), encoding (str), separator (str).
 *  - `import.job.progressed`: job_id, rows (i64: data rows read so far),
 *    imported (i64), rejected (i64), bytes_done (i64), bytes_total (i64).
 *    Throttled: at most one every 250 ms unless a further 1 % of the bytes
 *    was done; bytes_done never decreases and the last one of a finished
 *    job equals bytes_total.
 *  - `import.job.finished`: job_id, status (str: "done", "cancelled",
 *    "failed"), error (str, only when failed), report (str: the report
 *    file's path), and every counter of plt_import_counters by its member
 *    name (rows_read, imported, duplicates, invalid_phones, dnc_hits,
 *    dnc_refused, malformed, rejected, recovered, bytes_done,
 *    bytes_total).
 *
 * RESUME (kill -9, power cut of the import process). Every batch is
 * committed by leads add_batch() in ONE transaction together with the
 * byte offset just past its last record (progress key "import:<job>"), so
 * after a crash the committed batches stay and nothing else does. A job
 * left unfinished is continued by start() with resume_job = its id, or by
 * start() with auto_resume on the same file (size, mtime and a hash of its
 * first 64 KiB) into the same list: reading restarts exactly at the stored
 * offset, so no row is added twice and none is lost, whatever the
 * de-duplication setting. Counters of the last committed batches (a
 * batch is prepared while the previous one commits, so there may be more
 * than one) may not have been recorded before the crash: their rows are
 * then counted in `recovered` (committed, outcome unknown) and are absent
 * from the report.
 *
 * Thread: loop thread only; every callback runs on the loop. Ownership:
 * inputs are copied before a function returns; pointers handed to
 * callbacks are valid only during the callback. Callbacks: none if a
 * function returns < 0.
 */
#ifndef PLATEAU_SVC_IMPORT_H
#define PLATEAU_SVC_IMPORT_H

#include <stdbool.h>

#include "plateau/service.h"
#include "plateau/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PLT_IMPORT_NAME "import"
#define PLT_IMPORT_MAJOR 1
#define PLT_IMPORT_MINOR 0

/** Text encodings of a file. Values frozen for import 1.x. */
typedef enum plt_import_encoding {
    PLT_IMPORT_ENC_AUTO = 0,         /**< detect */
    PLT_IMPORT_ENC_UTF8 = 1,         /**< with or without BOM */
    PLT_IMPORT_ENC_WINDOWS_1252 = 2, /**< French Excel's CSV */
    PLT_IMPORT_ENC_LATIN1 = 3        /**< ISO-8859-1 */
} plt_import_encoding;

/** What a column becomes. Values frozen for import 1.x. */
typedef enum plt_import_kind {
    PLT_IMPORT_IGNORE = 0, /**< not imported */
    PLT_IMPORT_PHONE = 1,  /**< a phone number of the contact, in column
                                order */
    PLT_IMPORT_FIELD = 2   /**< a custom field named plt_import_column.field */
} plt_import_kind;

/** De-duplication scope (the values of leads' plt_dedup_scope). */
typedef enum plt_import_dedup {
    PLT_IMPORT_DEDUP_NONE = 0,
    PLT_IMPORT_DEDUP_LIST = 1,     /**< the target list and the file */
    PLT_IMPORT_DEDUP_CAMPAIGN = 2, /**< every list of the list's campaigns */
    PLT_IMPORT_DEDUP_ALL = 3       /**< every list */
} plt_import_dedup;

/** Mapping of one column. Layout frozen for import 1.x. */
typedef struct plt_import_column {
    /** The header text as in the file (compared after trimming, ignoring
     *  case), or "#N" for the N-th column from 1 (files without header). */
    const char *column;
    int32_t kind;       /**< plt_import_kind */
    int32_t phone_type; /**< leads plt_phone_type, for PHONE */
    const char *field;  /**< custom field name, for FIELD */
} plt_import_column;

/** Forced reading settings; all-zero means "detect". */
typedef struct plt_import_read {
    int32_t encoding; /**< plt_import_encoding */
    char separator;   /**< ';' ',' '\t' '|', or 0 to detect */
    bool no_header;   /**< the first record is data */
} plt_import_read;

/** What preview() looks at. */
typedef struct plt_import_preview_req {
    uint32_t size;      /**< sizeof(plt_import_preview_req) */
    const char *path;   /**< a file, or NULL and: */
    const void *bytes;  /**< the start of a file (an upload), */
    size_t len;         /**< its length (the first 64 KiB are enough) */
    plt_import_read read;
} plt_import_preview_req;

/** One previewed row: UTF-8 fields, or none when malformed. */
typedef struct plt_import_row {
    int64_t line;               /**< physical line where it starts */
    const char *const *fields;
    size_t nfields;
    const char *error;          /**< NULL, or why the row is unreadable */
} plt_import_row;

/** The preview. */
typedef struct plt_import_preview {
    int32_t encoding;         /**< detected or forced plt_import_encoding */
    const char *encoding_name; /**< "UTF-8", "Windows-1252", "ISO-8859-1" */
    char separator;
    bool has_bom;
    bool has_header;
    const char *const *header; /**< column names; "#1".. without header */
    size_t ncolumns;
    const plt_import_column *mapping; /**< suggested, one per column */
    const plt_import_row *rows;       /**< the first rows (up to 10) */
    size_t nrows;
    int64_t file_size;                /**< -1 for bytes */
} plt_import_preview;

/** A job to run. */
typedef struct plt_import_spec {
    uint32_t size;        /**< sizeof(plt_import_spec) */
    const char *path;     /**< the file (read by the plugin) */
    const char *list;     /**< target list name, or NULL and: */
    int64_t list_id;      /**< an existing list's id */
    bool create_list;     /**< create `list` if missing, with the rules */
    /* Normalisation rules (for the numbers; a created list keeps them). */
    const char *country;  /**< ISO country, NULL = "FR" */
    const char *prefix;   /**< added to national numbers, or NULL */
    bool restore_lost_zero;
    plt_import_read read;
    /** Mapping: entries override the suggestion for their column; other
     *  columns follow the suggestion unless map_only. NULL = suggestion. */
    const plt_import_column *columns;
    size_t ncolumns;
    bool map_only;        /**< unlisted columns are ignored */
    int32_t dedup;        /**< plt_import_dedup */
    const char *dedup_field; /**< NULL = phone numbers; else a field name */
    bool skip_dnc;        /**< refuse rows whose numbers are all DNC */
    int64_t resume_job;   /**< continue this unfinished job (0: new) */
    bool auto_resume;     /**< continue an unfinished job of the same file
                               and list if there is one */
} plt_import_spec;

/** Job states. Values frozen for import 1.x. */
typedef enum plt_import_state {
    PLT_IMPORT_RUNNING = 1,
    PLT_IMPORT_DONE = 2,
    PLT_IMPORT_CANCELLED = 3,
    PLT_IMPORT_FAILED = 4,
    PLT_IMPORT_INTERRUPTED = 5 /**< the process stopped or crashed mid-way:
                                    resumable */
} plt_import_state;

/** Counters of a job. Members only appended. */
typedef struct plt_import_counters {
    uint32_t size;          /**< sizeof(plt_import_counters) */
    int64_t rows_read;      /**< data records read (header, blank lines
                                 not counted) */
    int64_t imported;       /**< contacts added */
    int64_t duplicates;     /**< refused as duplicates */
    int64_t invalid_phones; /**< refused: no number could be normalised */
    int64_t dnc_hits;       /**< rows with a number on a do-not-call list */
    int64_t dnc_refused;    /**< refused because every number is DNC */
    int64_t malformed;      /**< unreadable records (quotes, length) */
    int64_t rejected;       /**< rows in the report: all refusals */
    int64_t recovered;      /**< committed before a crash, outcome unknown */
    int64_t bytes_done;
    int64_t bytes_total;
} plt_import_counters;

/** A job as status() reports it. */
typedef struct plt_import_status {
    int64_t job_id;
    int32_t state;           /**< plt_import_state */
    const char *error;       /**< NULL unless FAILED */
    const char *path;        /**< the imported file */
    const char *list;        /**< list name */
    int64_t list_id;
    const char *report_path; /**< report.csv (complete once finished) */
    int64_t started_at, finished_at; /**< UTC ms; finished 0 if running */
    plt_import_counters counters;
} plt_import_status;

typedef void (*plt_import_preview_fn)(void *arg, int status,
                                      const plt_import_preview *p,
                                      const char *error);
typedef void (*plt_import_job_fn)(void *arg, int status, int64_t job_id,
                                  const char *error);
typedef void (*plt_import_status_fn)(void *arg, int status,
                                     const plt_import_status *st);
/** Receives report bytes; return non-zero to stop (done gets
 *  PLT_ECANCELED). */
typedef int (*plt_import_write_fn)(void *arg, const void *buf, size_t len);
typedef void (*plt_import_done_fn)(void *arg, int status);

typedef struct plt_import_vt {
    uint32_t size;

    /**
     * Sniff a file or bytes: settings, header, first rows, mapping.
     * @return 0; PLT_EINVAL (neither path nor bytes); PLT_ENOMEM;
     *         PLT_ESTATE when stopping. The file is read on a worker; its
     *         errors (PLT_ENOENT, PLT_EACCES...) come to @p cb with a text.
     */
    int (*preview)(void *impl, const plt_import_preview_req *req,
                   plt_import_preview_fn cb, void *arg);

    /**
     * Record and start a job. @p cb runs once the job is recorded and the
     * list is known (found or created) - job_id > 0 - or with the reason
     * it cannot start (no such list, unreadable file, no phone column,
     * unknown resume_job, a file changed since the job began).
     * @return 0; PLT_EINVAL (no path, no list); PLT_ESTATE when stopping;
     *         PLT_ENOMEM.
     */
    int (*start)(void *impl, const plt_import_spec *spec, plt_import_job_fn cb,
                 void *arg);

    /** Stop a running job after the batch being committed (committed rows
     *  stay); it finishes with status "cancelled". Synchronous.
     *  @return 0; PLT_ENOENT (not running here). */
    int (*cancel)(void *impl, int64_t job_id);

    /** Counters and state of a job, running or past.
     *  @return 0; PLT_ESTATE. PLT_ENOENT comes to @p cb. */
    int (*status)(void *impl, int64_t job_id, plt_import_status_fn cb,
                  void *arg);

    /**
     * Stream the report file (CSV: UTF-8 BOM, ';', a header line
     * "line;reason;detail;<the file's columns>", one line per rejected
     * row) to @p write, in chunks, read on a worker. With @p write NULL
     * nothing is read: done() only says whether it exists.
     * @return 0; PLT_ESTATE. PLT_ENOENT comes to @p done.
     */
    int (*report)(void *impl, int64_t job_id, plt_import_write_fn write,
                  plt_import_done_fn done, void *arg);

    /** The report file's path into @p buf. Synchronous.
     *  @return 0; PLT_ERANGE if @p len is too small. */
    int (*report_path)(void *impl, int64_t job_id, char *buf, size_t len);
} plt_import_vt;

/** An import handle as consumers keep it. */
typedef struct plt_import {
    const plt_import_vt *vt;
    void *impl;
} plt_import;

/** Acquire the import service (declare {"import", 1, 0, 0}). */
static inline int
plt_import_acquire(plt_import *out)
{
    plt_service_ref ref;
    int rc = plt_service_acquire(PLT_IMPORT_NAME, PLT_IMPORT_MAJOR,
                                 PLT_IMPORT_MINOR, &ref);
    if (rc == 0) {
        out->vt = (const plt_import_vt *)ref.vtable;
        out->impl = ref.impl;
    }
    return rc;
}

#ifdef __cplusplus
}
#endif
#endif
