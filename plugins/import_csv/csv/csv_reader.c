/* SPDX-License-Identifier: MIT */
/*
 * The streaming CSV reader: a byte-at-a-time state machine over the raw
 * input, so chunks may end anywhere - inside a quoted field, between the
 * CR and LF of a line break, inside a UTF-8 sequence. Separators, quotes
 * and line breaks are ASCII in all three encodings (and never part of a
 * UTF-8 sequence), so structure is read on raw bytes and only field
 * content goes through the decoder. Offsets are raw byte offsets in the
 * input, lines are physical lines (CRLF, LF or CR each end one), so a
 * report can say "line 12" and an import can resume at next_offset.
 *
 * RFC 4180 with the leniency of real files: a quote inside an unquoted
 * field is kept as text; spaces between a closing quote and the separator
 * are ignored; records of only empty fields (Excel's ";;;;" rows) and
 * empty lines are skipped. What cannot be read is reported, never
 * guessed:
 *
 * - A quoted field whose closing quote is followed by other text, or that
 *   is still open at the end of input, is an UNBALANCED_QUOTE record.
 * - A record longer than max_record bytes (or with more than max_fields
 *   fields) is TOO_LONG.
 * - A NUL byte makes its record NUL_BYTE (a binary or UTF-16 file).
 *
 * Resynchronisation: a broken record that is still on its first line is
 * skipped to the end of that line. One that spans several lines - an
 * opening quote that was never closed swallows the lines after it - is
 * reported, then the reader goes back to the line after the record's
 * first line and reads on from there, so the rows the stray quote
 * swallowed are imported after all. For that the bytes after a record's
 * first line break are kept (at most max_record of them), and replayed
 * through the state machine. Replayed bytes are never replayed again (a
 * record broken inside them is skipped to the end of its line), so every
 * byte is read at most twice, the reader always advances and memory
 * stays bounded.
 */
#include <stdlib.h>
#include <string.h>

#include "csv_int.h"

enum phase { P_SNIFF, P_RUN, P_DONE, P_ERROR };

enum state {
    S_REC_START,   /* before a record (blank lines are skipped here) */
    S_FIELD_START, /* at the start of a field */
    S_UNQ,         /* in an unquoted field */
    S_Q,           /* in a quoted field */
    S_QQ,          /* in a quoted field, just after a quote */
    S_AFTER_Q,     /* after a closing quote, in spaces */
    S_CR_END,      /* record ended by CR; an LF may follow */
    S_SKIP,        /* skipping a broken record to the end of its line */
    S_SKIP_CR,     /* ... the line ended by CR; an LF may follow */
};

struct csv_reader {
    csv_record_cb cb;
    void *ud;

    /* Settings (separator and encoding once detected). */
    char sep;
    csv_encoding enc;
    int has_bom;
    int no_header, have_header;
    size_t expected;
    size_t max_record, max_fields, need;

    int phase, err;
    csv__buf sample; /* bytes held back until detection */

    /* Position of the next byte. */
    uint64_t offset, line, line_start;
    int prev_cr;
    uint64_t first_line;
    int st;

    /* The record being read. */
    uint64_t rec_offset, rec_line;
    csv_status rec_status; /* NUL_BYTE, or why a skipped record is bad */
    unsigned rec_flags;
    int repaired;
    csv__buf out; /* decoded fields, each NUL-terminated */
    size_t field_off;
    csv__buf fo; /* size_t pairs: offset and length of each field in out */
    size_t nfields, content;
    csv__dec dec;

    /* Resynchronisation after a broken multi-line record. */
    int multiline, rs_after_cr, rewound;
    uint64_t rs_offset, rs_line;
    uint64_t no_replay_before; /* end of the stretch replayed last */
    csv__buf raw;              /* bytes after the record's first line break */
    csv__buf replay;           /* bytes to read again before new input */
    csv__buf tmp;
    size_t rpos;

    csv_field *fields;
    size_t fields_cap;
    csv_stats stats;
};

/* --- records ----------------------------------------------------------- */

static void
fail(csv_reader *rd, int rc)
{
    rd->phase = P_ERROR;
    rd->err = rc < 0 ? rc : PLT_ECANCELED;
}

static void
begin_record(csv_reader *rd)
{
    rd->rec_offset = rd->offset;
    rd->rec_line = rd->line;
    rd->rec_status = CSV_OK;
    rd->rec_flags = 0;
    rd->repaired = 0;
    rd->out.len = 0;
    rd->field_off = 0;
    rd->fo.len = 0;
    rd->nfields = 0;
    rd->content = 0;
    rd->dec.npend = 0;
    rd->multiline = 0;
    rd->rs_after_cr = 0;
    rd->raw.len = 0;
}

/* Reports the record read so far with @p status, ending at @p next. */
static void
emit(csv_reader *rd, csv_status status, uint64_t next)
{
    csv_record rec;
    int rc;

    if (rd->phase != P_RUN)
        return; /* after an allocation failure: no more callbacks */
    memset(&rec, 0, sizeof(rec));
    rec.line = rd->rec_line;
    rec.offset = rd->rec_offset;
    rec.next_offset = next;
    rec.flags = rd->rec_flags | (rd->repaired ? CSV_F_REPAIRED : 0);
    if (status == CSV_OK) {
        const size_t *fo = (const size_t *)(const void *)rd->fo.p;
        if (rd->content == 0) {
            rd->stats.blank++;
            return;
        }
        if (rd->nfields > rd->fields_cap) {
            csv_field *f = realloc(rd->fields, rd->nfields * sizeof(*f));
            if (!f) {
                fail(rd, PLT_ENOMEM);
                return;
            }
            rd->fields = f;
            rd->fields_cap = rd->nfields;
        }
        for (size_t i = 0; i < rd->nfields; i++) {
            rd->fields[i].ptr = rd->out.p + fo[2 * i];
            rd->fields[i].len = fo[2 * i + 1];
        }
        rec.fields = rd->fields;
        rec.nfields = rd->nfields;
        if (!rd->have_header && !rd->no_header) {
            rec.flags |= CSV_F_HEADER;
            rd->have_header = 1;
            rd->expected = rd->nfields;
        } else {
            if (!rd->expected)
                rd->expected = rd->nfields;
            if (rd->nfields != rd->expected)
                status = CSV_RAGGED;
        }
    }
    rec.status = status;
    rec.expected = rd->expected;
    rd->stats.records++;
    if (status != CSV_OK)
        rd->stats.bad++;
    rc = rd->cb(rd->ud, &rec);
    if (rc)
        fail(rd, rc);
}

/* A complete record: OK unless it held a NUL byte. */
static void
emit_record(csv_reader *rd, uint64_t next)
{
    emit(rd, rd->rec_status, next);
}

static void
add_out(csv_reader *rd, const char *s, size_t n)
{
    if (csv__buf_add(&rd->out, s, n) != 0)
        fail(rd, PLT_ENOMEM);
    rd->content += n;
}

/* One byte of field content, decoded. */
static void
put(csv_reader *rd, uint8_t b)
{
    char buf[CSV__DEC_MAX];
    size_t n;

    /* The common case: ASCII with no UTF-8 sequence pending. */
    if (b < 0x80 && rd->dec.npend == 0 && rd->out.len < rd->out.cap) {
        rd->out.p[rd->out.len++] = (char)b;
        rd->content++;
        return;
    }
    n = csv__dec_byte(&rd->dec, rd->enc, b, buf, &rd->repaired);
    add_out(rd, buf, n);
}

/* Ends the current field; returns 1 if the record has too many fields. */
static int
end_field(csv_reader *rd)
{
    char buf[CSV__DEC_MAX];
    size_t n = csv__dec_flush(&rd->dec, buf, &rd->repaired);
    size_t pair[2];

    if (rd->nfields >= rd->max_fields)
        return 1;
    if (n)
        add_out(rd, buf, n);
    pair[0] = rd->field_off;
    pair[1] = rd->out.len - rd->field_off;
    if (csv__buf_add(&rd->out, "", 1) != 0 ||
        csv__buf_add(&rd->fo, pair, sizeof(pair)) != 0) {
        fail(rd, PLT_ENOMEM);
        return 0;
    }
    rd->field_off = rd->out.len;
    rd->nfields++;
    return 0;
}

/*
 * The record cannot be read. On its first line: skip to the end of that
 * line, then report it. Across lines: report it now and go back to the
 * line after its first line (the caller replays the kept bytes).
 */
static void
broken(csv_reader *rd, csv_status status)
{
    /*
     * Never replay bytes that are being replayed: quotes can be placed so
     * that every line read again breaks again, and the work would grow
     * with lines x max_record. A record that starts in a replayed stretch
     * is skipped to the end of its line instead, so each byte is read at
     * most twice.
     */
    if (!rd->multiline || rd->rec_offset < rd->no_replay_before) {
        rd->rec_status = status;
        rd->st = S_SKIP;
        return;
    }
    emit(rd, status, rd->rs_offset);
    rd->no_replay_before = rd->offset + 1;
    rd->stats.replayed += rd->raw.len;
    rd->st = S_REC_START;
    rd->offset = rd->rs_offset;
    rd->line = rd->rs_line;
    rd->line_start = rd->rs_offset;
    rd->prev_cr = rd->rs_after_cr;
    rd->rewound = 1;
}

/* --- the state machine ------------------------------------------------- */

static void
count(csv_reader *rd, uint8_t b)
{
    rd->offset++;
    if (b == '\n') {
        if (!rd->prev_cr)
            rd->line++;
        rd->prev_cr = 0;
        rd->line_start = rd->offset;
    } else if (b == '\r') {
        rd->line++;
        rd->prev_cr = 1;
        rd->line_start = rd->offset;
    } else {
        rd->prev_cr = 0;
    }
}

/* Field end by separator or line break, from the in-field states. */
static void
field_done(csv_reader *rd, uint8_t b)
{
    if (end_field(rd)) {
        broken(rd, CSV_TOO_LONG);
        return;
    }
    if (b == (uint8_t)rd->sep) {
        rd->st = S_FIELD_START;
    } else if (b == '\n') {
        emit_record(rd, rd->offset + 1);
        rd->st = S_REC_START;
    } else {
        rd->st = S_CR_END;
    }
}

/*
 * Runs @p n bytes through the machine. Returns how many it consumed: all
 * of them, or fewer when it stopped on an error or a rewind (rd->rewound;
 * the byte that caused it is then among the kept bytes).
 */
static size_t
steps(csv_reader *rd, const uint8_t *p, size_t n)
{
    const uint8_t sep = (uint8_t)rd->sep;

    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];

        if (rd->st >= S_FIELD_START && rd->st <= S_AFTER_Q) {
            /* Keep what follows the first line break, for a replay. */
            if (rd->multiline) {
                if (rd->rs_after_cr && rd->raw.len == 0 && b == '\n') {
                    rd->rs_offset++; /* the LF of a CRLF break */
                    rd->rs_after_cr = 0;
                } else {
                    rd->rs_after_cr = 0;
                    if (csv__buf_add(&rd->raw, &b, 1) != 0) {
                        fail(rd, PLT_ENOMEM);
                        return i + 1;
                    }
                }
            }
            if (rd->offset - rd->rec_offset >= rd->max_record) {
                broken(rd, CSV_TOO_LONG);
                if (rd->phase != P_RUN || rd->rewound)
                    return i + 1;
            } else if (b == 0) {
                rd->rec_status = CSV_NUL_BYTE;
                if (rd->st == S_QQ)
                    rd->st = S_AFTER_Q;
                count(rd, b);
                continue;
            }
        }

    again:
        switch (rd->st) {
        case S_REC_START:
            if (b == '\r' || b == '\n')
                break; /* a blank line */
            begin_record(rd);
            rd->st = S_FIELD_START;
            if (b == 0) {
                rd->rec_status = CSV_NUL_BYTE;
                break;
            }
            goto again;
        case S_FIELD_START:
            if (b == '"') {
                rd->st = S_Q;
                break;
            }
            rd->st = S_UNQ;
            goto again;
        case S_UNQ:
            if (b == sep || b == '\n' || b == '\r') {
                field_done(rd, b);
                if (rd->st == S_SKIP)
                    goto again;
            } else {
                if (b == '"')
                    rd->rec_flags |= CSV_F_STRAY_QUOTE;
                put(rd, b);
            }
            break;
        case S_Q:
            if (b == '"') {
                rd->st = S_QQ;
                break;
            }
            if ((b == '\r' || b == '\n') && !rd->multiline) {
                rd->multiline = 1;
                rd->rs_offset = rd->offset + 1;
                rd->rs_line = rd->line + 1;
                rd->rs_after_cr = b == '\r';
            }
            put(rd, b);
            break;
        case S_QQ:
            if (b == '"') {
                put(rd, b);
                rd->st = S_Q;
                break;
            }
            /* The quote closed the field. */
            __attribute__((fallthrough));
        case S_AFTER_Q:
            if (b == sep || b == '\n' || b == '\r') {
                field_done(rd, b);
                if (rd->st == S_SKIP)
                    goto again;
            } else if (b == ' ' || b == '\t') {
                rd->st = S_AFTER_Q;
            } else {
                broken(rd, CSV_UNBALANCED_QUOTE);
                if (rd->phase == P_RUN && !rd->rewound)
                    goto again;
            }
            break;
        case S_CR_END:
            if (b == '\n') {
                emit_record(rd, rd->offset + 1);
                rd->st = S_REC_START;
                break;
            }
            emit_record(rd, rd->offset);
            rd->st = S_REC_START;
            if (rd->phase != P_RUN)
                return i;
            goto again;
        case S_SKIP:
            if (b == '\n') {
                emit(rd, rd->rec_status, rd->offset + 1);
                rd->st = S_REC_START;
            } else if (b == '\r') {
                rd->st = S_SKIP_CR;
            }
            break;
        case S_SKIP_CR:
            if (b == '\n') {
                emit(rd, rd->rec_status, rd->offset + 1);
                rd->st = S_REC_START;
                break;
            }
            emit(rd, rd->rec_status, rd->offset);
            rd->st = S_REC_START;
            if (rd->phase != P_RUN)
                return i;
            goto again;
        }
        if (rd->phase != P_RUN || rd->rewound)
            return i + 1;
        count(rd, b);
    }
    return n;
}

/* After a rewind: replay = kept bytes + what was still to replay. */
static int
rebuild_replay(csv_reader *rd)
{
    csv__buf t;

    rd->tmp.len = 0;
    if (csv__buf_add(&rd->tmp, rd->raw.p, rd->raw.len) != 0)
        return PLT_ENOMEM;
    /* (No pointer arithmetic on a replay buffer never allocated.) */
    if (rd->rpos < rd->replay.len &&
        csv__buf_add(&rd->tmp, rd->replay.p + rd->rpos,
                     rd->replay.len - rd->rpos) != 0)
        return PLT_ENOMEM;
    t = rd->replay;
    rd->replay = rd->tmp;
    rd->tmp = t;
    rd->rpos = 0;
    rd->raw.len = 0;
    return 0;
}

/* Feeds @p n bytes, after any bytes waiting for a replay. */
static int
run(csv_reader *rd, const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (rd->phase == P_RUN) {
        int from_replay = rd->rpos < rd->replay.len;
        size_t used;

        if (from_replay) {
            used = steps(rd, (const uint8_t *)rd->replay.p + rd->rpos,
                         rd->replay.len - rd->rpos);
            rd->rpos += used;
        } else if (i < n) {
            used = steps(rd, p + i, n - i);
            i += used;
        } else {
            break;
        }
        if (rd->rewound) {
            rd->rewound = 0;
            if (rebuild_replay(rd) != 0)
                fail(rd, PLT_ENOMEM);
        }
        if (rd->rpos >= rd->replay.len)
            rd->replay.len = rd->rpos = 0;
    }
    return rd->phase == P_ERROR ? rd->err : 0;
}

/* Detection is done (or not needed): read the held-back sample. */
static int
start(csv_reader *rd, int complete)
{
    const uint8_t *s = (const uint8_t *)rd->sample.p;
    size_t n = rd->sample.len;
    int rc;

    if (rd->offset == 0 && n >= 3 && s[0] == 0xEF && s[1] == 0xBB &&
        s[2] == 0xBF) {
        rd->has_bom = 1;
        /* A BOM says UTF-8, unless the caller insists otherwise. */
        if (rd->enc == CSV_ENC_AUTO || rd->enc == CSV_ENC_UTF8) {
            rd->enc = CSV_ENC_UTF8;
            rd->offset = 3;
            rd->line_start = 3;
            s += 3;
            n -= 3;
        }
    }
    if (rd->enc == CSV_ENC_AUTO)
        rd->enc = csv__detect_encoding(s, n, complete);
    if (!rd->sep)
        rd->sep = csv__detect_separator(s, n, complete);
    rd->phase = P_RUN;
    rc = run(rd, s, n);
    csv__buf_free(&rd->sample);
    return rc;
}

/* --- public API -------------------------------------------------------- */

int
csv_reader_new(const csv_options *opts, csv_record_cb cb, void *ud,
               csv_reader **out)
{
    csv_options o;
    csv_reader *rd;

    if (!out)
        return PLT_EINVAL;
    *out = NULL;
    if (!cb)
        return PLT_EINVAL;
    if (opts)
        o = *opts;
    else
        memset(&o, 0, sizeof(o));
    if (o.separator &&
        ((unsigned char)o.separator >= 0x80 || o.separator == '"' ||
         o.separator == '\r' || o.separator == '\n'))
        return PLT_EINVAL;
    if (o.encoding < CSV_ENC_AUTO || o.encoding > CSV_ENC_LATIN1)
        return PLT_EINVAL;

    rd = calloc(1, sizeof(*rd));
    if (!rd)
        return PLT_ENOMEM;
    rd->cb = cb;
    rd->ud = ud;
    rd->sep = o.separator;
    rd->enc = o.encoding;
    rd->no_header = o.no_header;
    rd->expected = o.no_header ? o.expected_fields : 0;
    rd->max_record = o.max_record ? o.max_record : CSV_DEFAULT_MAX_RECORD;
    rd->max_fields = o.max_fields ? o.max_fields : CSV_DEFAULT_MAX_FIELDS;
    rd->offset = rd->line_start = o.first_offset;
    rd->line = rd->first_line = o.first_line ? o.first_line : 1;
    rd->st = S_REC_START;
    rd->phase = P_SNIFF;
    if (!rd->sep || rd->enc == CSV_ENC_AUTO)
        rd->need = o.sniff_bytes ? o.sniff_bytes : CSV_DEFAULT_SNIFF_BYTES;
    else
        rd->need = rd->offset == 0 ? 3 : 0; /* just enough for a BOM */
    *out = rd;
    return 0;
}

int
csv_feed(csv_reader *rd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    if (!rd || (!buf && len))
        return PLT_EINVAL;
    if (rd->phase == P_ERROR)
        return rd->err;
    if (rd->phase == P_DONE)
        return PLT_ESTATE;
    if (len == 0)
        return 0;
    rd->stats.bytes += len;
    if (rd->phase == P_SNIFF) {
        size_t take = rd->need - rd->sample.len;
        int rc;

        if (take > len)
            take = len;
        if (csv__buf_add(&rd->sample, p, take) != 0) {
            fail(rd, PLT_ENOMEM);
            return rd->err;
        }
        p += take;
        len -= take;
        if (rd->sample.len < rd->need)
            return 0;
        rc = start(rd, 0);
        if (rc)
            return rc;
    }
    return run(rd, p, len);
}

int
csv_finish(csv_reader *rd)
{
    int rc;

    if (!rd)
        return PLT_EINVAL;
    if (rd->phase == P_ERROR)
        return rd->err;
    if (rd->phase == P_DONE)
        return PLT_ESTATE;
    if (rd->phase == P_SNIFF && (rc = start(rd, 1)) != 0)
        return rc;

    while (rd->phase == P_RUN) {
        rc = run(rd, NULL, 0);
        if (rc)
            return rc;
        switch (rd->st) {
        case S_FIELD_START:
        case S_UNQ:
        case S_QQ:
        case S_AFTER_Q:
            if (end_field(rd))
                broken(rd, CSV_TOO_LONG);
            else
                emit_record(rd, rd->offset);
            break;
        case S_CR_END:
            emit_record(rd, rd->offset);
            break;
        case S_SKIP:
        case S_SKIP_CR:
            emit(rd, rd->rec_status, rd->offset);
            rd->st = S_REC_START;
            break;
        case S_Q:
            broken(rd, CSV_UNBALANCED_QUOTE);
            break;
        default:
            break;
        }
        if (rd->phase != P_RUN)
            break;
        if (rd->rewound) {
            /* Read the lines the open quote swallowed, then end again. */
            rd->rewound = 0;
            if (rebuild_replay(rd) != 0)
                fail(rd, PLT_ENOMEM);
            continue;
        }
        if (rd->st == S_SKIP)
            emit(rd, rd->rec_status, rd->offset); /* broken on its line */
        rd->st = S_REC_START;
        if (rd->phase == P_RUN)
            rd->phase = P_DONE;
    }
    return rd->phase == P_ERROR ? rd->err : 0;
}

void
csv_reader_free(csv_reader *rd)
{
    if (!rd)
        return;
    csv__buf_free(&rd->sample);
    csv__buf_free(&rd->out);
    csv__buf_free(&rd->fo);
    csv__buf_free(&rd->raw);
    csv__buf_free(&rd->replay);
    csv__buf_free(&rd->tmp);
    free(rd->fields);
    free(rd);
}

char
csv_reader_separator(const csv_reader *rd)
{
    return rd && rd->phase != P_SNIFF ? rd->sep : 0;
}

csv_encoding
csv_reader_encoding(const csv_reader *rd)
{
    return rd && rd->phase != P_SNIFF ? rd->enc : CSV_ENC_AUTO;
}

int
csv_reader_has_bom(const csv_reader *rd)
{
    return rd ? rd->has_bom : 0;
}

void
csv_reader_stats(const csv_reader *rd, csv_stats *st)
{
    if (!rd || !st)
        return;
    *st = rd->stats;
    st->lines =
        rd->line - rd->first_line + (rd->offset > rd->line_start ? 1 : 0);
}
