/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the streaming CSV reader. The first three bytes choose
 * the options (forced or detected encoding and separator, header or not,
 * a small or default max_record, sniffing sample size) and seed the chunk
 * sizes; the rest is the file.
 *
 * Each input is read three times - in one chunk, in chunks of random
 * sizes, and with everything detected - and the invariants a lead import
 * relies on are checked for every record: line numbers never decrease and
 * records never overlap, offsets stay within the input, fields are valid
 * NUL-terminated UTF-8 and only present when the record is usable, the
 * memory a record holds stays within its bound, and no byte is replayed
 * twice after broken records (the reader's work stays linear). Reading in one
 * chunk and in many must give the very same records. The preview and the header
 * suggestions run on the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct state {
    size_t input_len;
    size_t max_record, max_fields;
    uint64_t last_line, last_next, first_offset;
    uint64_t hash, records;
} state;

static void
check(int cond, const char *what)
{
    if (cond)
        return;
    fprintf(stderr, "csv_fuzzer: invariant broken: %s\n", what);
    abort();
}

static uint64_t
mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h;
}

/* Strict UTF-8 validation (RFC 3629). */
static int
valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len;
        unsigned char lo = 0x80, hi = 0xBF;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4;
        else
            return 0;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
        else if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
        if (i + len > n || s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return 0;
        i += len;
    }
    return 1;
}

static int
on_record(void *ud, const csv_record *r)
{
    state *st = ud;
    size_t bytes = 0;

    check(r->line >= 1, "line 0");
    check(r->line >= st->last_line, "line numbers went back");
    check(r->offset >= st->last_next, "records overlap");
    check(r->offset < r->next_offset, "empty record span");
    check(r->next_offset <= st->first_offset + st->input_len,
          "offset past the input");
    check(r->status <= CSV_NUL_BYTE, "status out of range");
    if (r->status == CSV_OK || r->status == CSV_RAGGED) {
        /* + 1: the LF of a CRLF is read after the record is complete. */
        check(r->next_offset - r->offset <= st->max_record + 1,
              "record longer than max_record");
        check(r->fields != NULL && r->nfields >= 1, "usable record, no fields");
        check(r->nfields <= st->max_fields, "more fields than max_fields");
        check(r->status == CSV_OK || r->nfields != r->expected,
              "ragged with the expected count");
    } else {
        check(r->fields == NULL && r->nfields == 0, "broken record has fields");
    }
    st->last_line = r->line;
    st->last_next = r->next_offset;
    st->hash = mix(st->hash, r->line);
    st->hash = mix(st->hash, r->offset);
    st->hash = mix(st->hash, r->next_offset);
    st->hash = mix(st->hash, (uint64_t)r->status * 256 + r->flags);
    for (size_t i = 0; i < r->nfields; i++) {
        const csv_field *f = &r->fields[i];
        check(f->ptr[f->len] == '\0', "field not NUL-terminated");
        check(valid_utf8((const unsigned char *)f->ptr, f->len),
              "field not valid UTF-8");
        bytes += f->len;
        st->hash = mix(st->hash, f->len);
        for (size_t k = 0; k < f->len; k++)
            st->hash = mix(st->hash, (unsigned char)f->ptr[k]);
        if (r->flags & CSV_F_HEADER)
            (void)csv_suggest_field(f->ptr);
    }
    /* Decoding grows a byte to at most 3: memory stays bounded. */
    check(bytes <= 3 * st->max_record, "decoded record too large");
    st->records++;
    return 0;
}

/* Reads @p data with @p o in chunks from @p seed (0: one chunk). */
static uint64_t
read_all(const uint8_t *data, size_t size, const csv_options *o, unsigned seed,
         uint64_t *records)
{
    state st;
    csv_reader *rd;
    uint32_t x = seed * 2654435761u + 1;
    int rc;

    memset(&st, 0, sizeof(st));
    st.input_len = size;
    st.max_record = o->max_record ? o->max_record : CSV_DEFAULT_MAX_RECORD;
    st.max_fields = o->max_fields ? o->max_fields : CSV_DEFAULT_MAX_FIELDS;
    st.first_offset = o->first_offset;
    rc = csv_reader_new(o, on_record, &st, &rd);
    check(rc == 0, "csv_reader_new failed");
    for (size_t i = 0; i < size;) {
        size_t chunk = size - i;
        if (seed) {
            /* Mostly tiny chunks, sometimes big ones. */
            x = x * 1103515245u + 12345u;
            chunk =
                (x >> 16) % 8 == 0 ? (x >> 8) % 4096 + 1 : (x >> 16) % 7 + 1;
            if (chunk > size - i)
                chunk = size - i;
        }
        rc = csv_feed(rd, data + i, chunk);
        check(rc == 0, "csv_feed failed");
        i += chunk;
    }
    rc = csv_finish(rd);
    check(rc == 0, "csv_finish failed");
    csv_stats stats;
    csv_reader_stats(rd, &stats);
    check(stats.bytes == size, "bytes miscounted");
    check(stats.replayed <= stats.bytes, "bytes replayed more than once");
    check(stats.records == st.records, "records miscounted");
    csv_reader_free(rd);
    *records = st.records;
    return st.hash;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char seps[] = {0, ';', ',', '\t'};
    static const size_t max_records[] = {0, 16, 200, 4096};
    csv_options o, detected;
    uint64_t h1, h2, n1, n2;

    if (size < 3)
        return 0;
    memset(&o, 0, sizeof(o));
    o.encoding = (csv_encoding)(data[0] & 3);
    o.separator = seps[(data[0] >> 2) & 3];
    o.no_header = (data[0] >> 4) & 1;
    o.max_record = max_records[(data[0] >> 5) & 3];
    o.max_fields = (data[0] & 0x80) ? 5 : 0;
    o.sniff_bytes = (data[1] & 1) ? (size_t)(data[1] >> 1) + 1 : 0;
    unsigned seed = data[2] | 1u;
    data += 3;
    size -= 3;

    h1 = read_all(data, size, &o, 0, &n1);
    h2 = read_all(data, size, &o, seed, &n2);
    check(n1 == n2, "chunking changed the record count");
    check(h1 == h2, "chunking changed the records");

    memset(&detected, 0, sizeof(detected));
    detected.max_record = o.max_record;
    (void)read_all(data, size, &detected, seed + 2, &n1);

    csv_sniff_result res;
    int rc = csv_sniff(data, size, &res);
    check(rc == 0, "csv_sniff failed");
    check(res.nrows <= CSV_SNIFF_ROWS, "too many preview rows");
    for (size_t i = 0; i < res.header.nfields; i++)
        check(valid_utf8((const unsigned char *)res.header.fields[i].ptr,
                         res.header.fields[i].len),
              "preview header not UTF-8");
    csv_sniff_free(&res);
    return 0;
}
