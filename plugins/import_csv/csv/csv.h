/* SPDX-License-Identifier: MIT */
/**
 * @file csv.h
 * A streaming CSV reader for lead files as spreadsheets write them: RFC
 * 4180 quoting, ";" "," TAB or "|" separators, UTF-8 (with or without a
 * BOM), Windows-1252 or ISO-8859-1, CRLF, LF or CR line endings.
 *
 * Bytes go in by chunks of any size (csv_feed(), then csv_finish()),
 * records come out through a callback as UTF-8 fields with the physical
 * line where the record starts and its byte offsets in the input - for
 * "rejected row at line N" reports, progress bars and resumable imports.
 *
 * A broken record never breaks the rest of the file: an unbalanced quote
 * is reported as a malformed record at its line, and reading starts again
 * at the line after that record's first line; a record longer than
 * max_record bytes is reported as too long and skipped the same way.
 * Memory stays bounded whatever the input: about 6 x max_record (decoded
 * text, bytes kept for a replay), 32 bytes per field up to max_fields, and
 * the sniffing sample.
 *
 * Also: csv_sniff() for an import preview (separator, encoding, header,
 * first rows) and csv_suggest_field() to map a header to a lead field.
 */
#ifndef PLATEAU_CSV_H
#define PLATEAU_CSV_H

#include <stddef.h>
#include <stdint.h>

#include <plateau/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Text encodings of the input. The output is always UTF-8. */
typedef enum csv_encoding {
    CSV_ENC_AUTO = 0, /**< detect from the first sniff_bytes */
    CSV_ENC_UTF8 = 1,
    CSV_ENC_WINDOWS_1252 = 2, /**< French Excel's "CSV (separator: ;)" */
    CSV_ENC_LATIN1 = 3,       /**< ISO-8859-1 */
} csv_encoding;

/** "UTF-8", "Windows-1252", "ISO-8859-1" or "auto". */
const char *csv_encoding_name(csv_encoding enc);

#define CSV_DEFAULT_MAX_RECORD (1024u * 1024u)
#define CSV_DEFAULT_SNIFF_BYTES (64u * 1024u)
#define CSV_DEFAULT_MAX_FIELDS 16384u

/** Reader options; all-zero means "detect everything, defaults". */
typedef struct csv_options {
    /** ';', ',', '\t' or '|' (any ASCII byte but NUL, a quote, CR or
     * LF); 0 to detect. */
    char separator;
    csv_encoding encoding;
    /** The first record is data, not a header. */
    int no_header;
    /** With no_header: the field count rows must have (0: the first
     * record's). For resuming an import after its header. */
    size_t expected_fields;
    /** Input bytes one record may span (0: 1 MiB). */
    size_t max_record;
    /** Fields one record may have (0: 16384). */
    size_t max_fields;
    /** Bytes buffered to detect separator and encoding (0: 64 KiB). */
    size_t sniff_bytes;
    /** To resume at a record boundary: the byte offset and line number of
     * the first byte fed (a BOM is only looked for at offset 0). */
    uint64_t first_offset;
    uint64_t first_line;
} csv_options;

/** One field: UTF-8, NUL-terminated at ptr[len] for convenience. */
typedef struct csv_field {
    const char *ptr;
    size_t len;
} csv_field;

/** What is wrong with a record; fields are given only for OK and RAGGED. */
typedef enum csv_status {
    CSV_OK = 0,
    /** A field count different from the header's (see expected). */
    CSV_RAGGED = 1,
    /** A quote that does not close, or closes before other text. */
    CSV_UNBALANCED_QUOTE = 2,
    /** More than max_record bytes or max_fields fields. */
    CSV_TOO_LONG = 3,
    /** A NUL byte: the file is binary or UTF-16. */
    CSV_NUL_BYTE = 4,
} csv_status;

/** Record flags. */
enum {
    CSV_F_HEADER = 1u << 0,      /**< the header record */
    CSV_F_REPAIRED = 1u << 1,    /**< invalid UTF-8 read as Windows-1252 */
    CSV_F_STRAY_QUOTE = 1u << 2, /**< a quote inside an unquoted field, kept */
};

typedef struct csv_record {
    const csv_field *fields; /**< NULL unless status is OK or RAGGED */
    size_t nfields;
    uint64_t line;        /**< physical line (from 1) where it starts */
    uint64_t offset;      /**< input byte offset of its first byte */
    uint64_t next_offset; /**< offset just past it and its line break */
    csv_status status;
    size_t expected; /**< the header's field count (0 until known) */
    unsigned flags;  /**< CSV_F_* */
} csv_record;

/**
 * Called for each record, header first. Return 0 to go on, or a negative
 * code to stop: csv_feed()/csv_finish() then return that code. Blank
 * records (empty lines, or only empty fields such as Excel's ";;;;") are
 * not reported. The record and its fields are valid during the call only.
 * Must not call csv_feed() or csv_finish() on the same reader.
 */
typedef int (*csv_record_cb)(void *ud, const csv_record *rec);

typedef struct csv_reader csv_reader;

/**
 * Create a reader.
 * @return 0, PLT_EINVAL (bad options or NULL cb/out), PLT_ENOMEM.
 * Ownership: *out is the caller's; free with csv_reader_free().
 * Thread: a reader is used by one thread at a time.
 * Callbacks: @p cb from csv_feed() and csv_finish() only.
 */
int csv_reader_new(const csv_options *opts, csv_record_cb cb, void *ud,
                   csv_reader **out);

/**
 * Push @p len bytes (any split, even inside a UTF-8 sequence or CRLF).
 * @return 0; the callback's code if it stopped; PLT_ENOMEM; PLT_ESTATE
 * after csv_finish() or a previous error (which is returned again).
 */
int csv_feed(csv_reader *rd, const void *buf, size_t len);

/** End of input: the last record (no final newline needed) comes out. */
int csv_finish(csv_reader *rd);

void csv_reader_free(csv_reader *rd);

/** The separator and encoding in use: 0 / CSV_ENC_AUTO until detected. */
char csv_reader_separator(const csv_reader *rd);
csv_encoding csv_reader_encoding(const csv_reader *rd);
int csv_reader_has_bom(const csv_reader *rd);

/** Counters, e.g. for an import summary. */
typedef struct csv_stats {
    uint64_t bytes;    /**< fed so far */
    uint64_t lines;    /**< physical lines seen */
    uint64_t records;  /**< reported, header included */
    uint64_t blank;    /**< blank records skipped */
    uint64_t bad;      /**< reported with a status other than OK */
    uint64_t replayed; /**< bytes read again after broken records */
} csv_stats;
void csv_reader_stats(const csv_reader *rd, csv_stats *st);

/* --- preview ----------------------------------------------------------- */

#define CSV_SNIFF_ROWS 10

/** A record copied for the preview (fields empty when malformed). */
typedef struct csv_row {
    csv_field *fields;
    size_t nfields;
    uint64_t line;
    csv_status status;
} csv_row;

typedef struct csv_sniff_result {
    char separator;
    csv_encoding encoding;
    int has_bom;
    csv_row header; /**< nfields 0 if none was found */
    csv_row rows[CSV_SNIFF_ROWS];
    size_t nrows;
    void *mem; /* internal: where the strings live */
} csv_sniff_result;

/**
 * Detect the separator (the one giving the most consistent field count
 * above 1 across records; ';' wins ties, as French Excel writes it) and
 * the encoding (valid UTF-8, else Windows-1252, or ISO-8859-1 when bytes
 * undefined in 1252 appear), then read the header and the first
 * CSV_SNIFF_ROWS records. A sample shorter than CSV_DEFAULT_SNIFF_BYTES
 * is taken as a whole file; a longer one as the start of a file, whose
 * last (possibly cut) record is left out.
 * @return 0, PLT_EINVAL, PLT_ENOMEM.
 * Ownership: release with csv_sniff_free(), also after a failure.
 */
int csv_sniff(const void *sample, size_t len, csv_sniff_result *res);

/** csv_sniff() with forced settings (the preview's overrides). */
int csv_sniff_with(const void *sample, size_t len, const csv_options *opts,
                   csv_sniff_result *res);

void csv_sniff_free(csv_sniff_result *res);

/* --- mapping ----------------------------------------------------------- */

/**
 * The lead field a column header most likely holds, ignoring case,
 * accents and punctuation: "phone", "phone_mobile", "last_name",
 * "first_name", "company", "email", "postal_code", "city", "address",
 * "title", "birth_date", "country"; NULL for anything else (a custom
 * field). @p header is UTF-8.
 */
const char *csv_suggest_field(const char *header);

#ifdef __cplusplus
}
#endif
#endif
