/* SPDX-License-Identifier: MIT */
/*
 * Sniffing a lead file for the import preview: which separator, which
 * encoding, what the header and the first rows look like.
 *
 * The separator is the candidate (";" "," TAB "|") that splits the
 * sample's records into the most consistent number of fields greater
 * than one, reading quotes as the reader will (a "12, rue X" in quotes
 * does not count for ","). Consistency is the share of records that have
 * the most common field count. On a tie ";" wins, then ",", TAB and "|":
 * French Excel writes ";" because "," is the decimal mark. A sample with
 * one column everywhere gets ";".
 *
 * The preview itself runs the real reader over the sample, so what the
 * user sees is what the import will read.
 */
#include <stdlib.h>
#include <string.h>

#include "csv_int.h"

/* Records looked at per candidate: enough for a verdict, bounded work. */
#define SNIFF_RECORDS 1000

static const char candidates[] = {';', ',', '\t', '|'};

static int
cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * Field counts of the sample's records for @p sep, in @p counts; returns
 * how many. Blank lines do not count; a last record cut by the end of an
 * incomplete sample does not either.
 */
static size_t
count_fields(const uint8_t *s, size_t n, int complete, char sep, size_t *counts)
{
    size_t nrec = 0, fields = 1, i = 0;
    int in_quotes = 0, at_field_start = 1, empty = 1;

    while (i < n && nrec < SNIFF_RECORDS) {
        uint8_t c = s[i++];
        if (in_quotes) {
            if (c == '"') {
                if (i < n && s[i] == '"')
                    i++;
                else
                    in_quotes = 0;
            }
            continue;
        }
        if (c == '"' && at_field_start) {
            in_quotes = 1;
            at_field_start = 0;
            empty = 0;
        } else if (c == (uint8_t)sep) {
            fields++;
            at_field_start = 1;
            empty = 0;
        } else if (c == '\r' || c == '\n') {
            if (!empty)
                counts[nrec++] = fields;
            if (c == '\r' && i < n && s[i] == '\n')
                i++;
            fields = 1;
            at_field_start = 1;
            empty = 1;
        } else {
            at_field_start = 0;
            empty = 0;
        }
    }
    if (complete && !empty && nrec < SNIFF_RECORDS)
        counts[nrec++] = fields;
    return nrec;
}

char
csv__detect_separator(const uint8_t *s, size_t n, int complete)
{
    size_t *counts = malloc(SNIFF_RECORDS * sizeof(*counts));
    size_t best_match = 0, best_total = 1;
    char best = ';';

    if (!counts)
        return ';'; /* the French default; the preview lets users change it */
    for (size_t c = 0; c < sizeof(candidates); c++) {
        size_t nrec = count_fields(s, n, complete, candidates[c], counts);
        size_t mode = 0, match = 0;

        if (nrec == 0)
            continue;
        qsort(counts, nrec, sizeof(*counts), cmp_size);
        for (size_t i = 0; i < nrec;) {
            size_t j = i;
            while (j < nrec && counts[j] == counts[i])
                j++;
            if (j - i > match) {
                match = j - i;
                mode = counts[i];
            }
            i = j;
        }
        if (mode <= 1)
            continue;
        /* match/nrec > best_match/best_total, without division. */
        if (match * best_total > best_match * nrec) {
            best_match = match;
            best_total = nrec;
            best = candidates[c];
        }
    }
    free(counts);
    return best;
}

/* --- the preview ------------------------------------------------------- */

typedef struct prow {
    size_t first, n; /* fields in collect.fo */
    uint64_t line;
    csv_status status;
} prow;

typedef struct collect {
    csv__buf str; /* field bytes, NUL-terminated */
    csv__buf fo;  /* size_t pairs: offset and length in str */
    prow header, rows[CSV_SNIFF_ROWS];
    size_t nrows;
    int have_header;
} collect;

static int
on_record(void *ud, const csv_record *rec)
{
    collect *c = ud;
    prow *r;

    if (rec->flags & CSV_F_HEADER) {
        r = &c->header;
        c->have_header = 1;
    } else if (c->nrows < CSV_SNIFF_ROWS) {
        r = &c->rows[c->nrows++];
    } else {
        return PLT_ECANCELED;
    }
    r->first = c->fo.len / (2 * sizeof(size_t));
    r->n = rec->nfields;
    r->line = rec->line;
    r->status = rec->status;
    for (size_t i = 0; i < rec->nfields; i++) {
        size_t pair[2] = {c->str.len, rec->fields[i].len};
        if (csv__buf_add(&c->str, rec->fields[i].ptr, rec->fields[i].len + 1) !=
                0 ||
            csv__buf_add(&c->fo, pair, sizeof(pair)) != 0)
            return PLT_ENOMEM;
    }
    /* Enough for the preview: stop reading. */
    return c->nrows == CSV_SNIFF_ROWS ? PLT_ECANCELED : 0;
}

static void
put_row(csv_row *dst, const prow *src, csv_field *fields)
{
    dst->fields = src->n ? fields + src->first : NULL;
    dst->nfields = src->n;
    dst->line = src->line;
    dst->status = src->status;
}

/* Moves the collected rows into one block that res->mem owns. */
static int
finish_preview(collect *c, csv_sniff_result *res)
{
    size_t nfo = c->fo.len / (2 * sizeof(size_t));
    size_t fbytes = nfo * sizeof(csv_field);
    const size_t *fo = (const size_t *)(const void *)c->fo.p;
    char *mem, *strs;
    csv_field *fields;

    mem = malloc(fbytes + c->str.len + 1);
    if (!mem)
        return PLT_ENOMEM;
    fields = (csv_field *)(void *)mem;
    strs = mem + fbytes;
    if (c->str.len)
        memcpy(strs, c->str.p, c->str.len);
    for (size_t i = 0; i < nfo; i++) {
        fields[i].ptr = strs + fo[2 * i];
        fields[i].len = fo[2 * i + 1];
    }
    res->mem = mem;
    if (c->have_header)
        put_row(&res->header, &c->header, fields);
    for (size_t i = 0; i < c->nrows; i++)
        put_row(&res->rows[i], &c->rows[i], fields);
    res->nrows = c->nrows;
    return 0;
}

int
csv_sniff_with(const void *sample, size_t len, const csv_options *opts,
               csv_sniff_result *res)
{
    csv_options o;
    csv_reader *rd = NULL;
    collect c;
    int complete = len < CSV_DEFAULT_SNIFF_BYTES, rc;

    if (!res)
        return PLT_EINVAL;
    memset(res, 0, sizeof(*res));
    if (!sample && len)
        return PLT_EINVAL;
    if (opts)
        o = *opts;
    else
        memset(&o, 0, sizeof(o));
    /*
     * Detect on the whole sample: buffer all of it, and one byte more when
     * it is a whole file so that only csv_finish() starts the reader.
     */
    o.sniff_bytes = len + (complete ? 1 : 0);
    memset(&c, 0, sizeof(c));

    rc = csv_reader_new(&o, on_record, &c, &rd);
    if (rc)
        return rc;
    rc = csv_feed(rd, sample, len);
    if (rc == 0 && complete)
        rc = csv_finish(rd);
    if (rc == PLT_ECANCELED)
        rc = 0; /* on_record had enough */
    res->separator = csv_reader_separator(rd);
    res->encoding = csv_reader_encoding(rd);
    res->has_bom = csv_reader_has_bom(rd);
    csv_reader_free(rd);
    if (rc == 0)
        rc = finish_preview(&c, res);
    csv__buf_free(&c.str);
    csv__buf_free(&c.fo);
    return rc;
}

int
csv_sniff(const void *sample, size_t len, csv_sniff_result *res)
{
    return csv_sniff_with(sample, len, NULL, res);
}

void
csv_sniff_free(csv_sniff_result *res)
{
    if (!res)
        return;
    free(res->mem);
    memset(res, 0, sizeof(*res));
}
