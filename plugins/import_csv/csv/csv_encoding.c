/* SPDX-License-Identifier: MIT */
/*
 * Encodings of lead files and their conversion to UTF-8.
 *
 * French Excel saves "CSV (separator: semicolon)" in Windows-1252, newer
 * versions offer "CSV UTF-8" with a BOM, and exports from other tools come
 * in UTF-8 without a BOM or, rarely, true ISO-8859-1. Telling them apart
 * from the bytes is reliable in one direction: text in a single-byte
 * encoding with any accent is almost never valid UTF-8. So a sample that
 * is valid UTF-8 is UTF-8; anything else is Windows-1252 (a superset of
 * ISO-8859-1's printable characters, with € ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ Ž ' ' " "
 * • – — ˜ ™ š › œ ž Ÿ in 0x80-0x9F), unless the sample holds bytes 1252
 * leaves undefined (0x81 0x8D 0x8F 0x90 0x9D) and none it defines there,
 * the mark of ISO-8859-1's C1 controls.
 *
 * The decoder works a byte at a time so that chunks may split a UTF-8
 * sequence anywhere. A file detected as UTF-8 from its first 64 KiB may
 * still hold a Windows-1252 line further down (files pasted together):
 * such bytes are decoded as 1252 rather than lost, and the record is
 * flagged, so the output is valid UTF-8 whatever comes in.
 */
#include <stdlib.h>
#include <string.h>

#include "csv_int.h"

int
csv__buf_grow(csv__buf *b, size_t extra)
{
    size_t want, cap;
    char *p;

    if (extra <= b->cap - b->len)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len)
        return PLT_ENOMEM;
    want = b->len + extra;
    cap = b->cap ? b->cap : 256;
    while (cap < want)
        cap *= 2;
    p = realloc(b->p, cap);
    if (!p)
        return PLT_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int
csv__buf_add(csv__buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (csv__buf_grow(b, n) != 0)
        return PLT_ENOMEM;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

void
csv__buf_free(csv__buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

const char *
csv_encoding_name(csv_encoding enc)
{
    switch (enc) {
    case CSV_ENC_UTF8:
        return "UTF-8";
    case CSV_ENC_WINDOWS_1252:
        return "Windows-1252";
    case CSV_ENC_LATIN1:
        return "ISO-8859-1";
    case CSV_ENC_AUTO:
    default:
        return "auto";
    }
}

/* Windows-1252 0x80-0x9F; the five undefined bytes keep their C1 code. */
static const uint16_t cp1252_high[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

static int
cp1252_undefined(uint8_t b)
{
    return b == 0x81 || b == 0x8D || b == 0x8F || b == 0x90 || b == 0x9D;
}

/* One byte of a single-byte encoding as UTF-8 (1 to 3 bytes). */
static size_t
single_byte(csv_encoding enc, uint8_t b, char *out)
{
    unsigned cp = b;

    if (b < 0x80) {
        out[0] = (char)b;
        return 1;
    }
    if (enc != CSV_ENC_LATIN1 && b < 0xA0)
        cp = cp1252_high[b - 0x80];
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/* Length of the UTF-8 sequence a lead byte starts, 0 if it cannot. */
static uint8_t
utf8_len(uint8_t b)
{
    if (b >= 0xC2 && b <= 0xDF)
        return 2;
    if (b >= 0xE0 && b <= 0xEF)
        return 3;
    if (b >= 0xF0 && b <= 0xF4)
        return 4;
    return 0;
}

/*
 * Is @p b valid at position @p i (1-3) after lead @p lead? The second
 * byte's range excludes overlong forms, surrogates and code points past
 * U+10FFFF (RFC 3629).
 */
static int
utf8_cont_ok(uint8_t lead, size_t i, uint8_t b)
{
    if (i == 1) {
        switch (lead) {
        case 0xE0:
            return b >= 0xA0 && b <= 0xBF;
        case 0xED:
            return b >= 0x80 && b <= 0x9F;
        case 0xF0:
            return b >= 0x90 && b <= 0xBF;
        case 0xF4:
            return b >= 0x80 && b <= 0x8F;
        default:
            break;
        }
    }
    return b >= 0x80 && b <= 0xBF;
}

size_t
csv__dec_flush(csv__dec *d, char *out, int *repaired)
{
    size_t n = 0;

    for (size_t i = 0; i < d->npend; i++)
        n += single_byte(CSV_ENC_WINDOWS_1252, d->pend[i], out + n);
    if (d->npend)
        *repaired = 1;
    d->npend = 0;
    return n;
}

size_t
csv__dec_byte(csv__dec *d, csv_encoding enc, uint8_t b, char *out,
              int *repaired)
{
    size_t n = 0;

    if (enc != CSV_ENC_UTF8)
        return single_byte(enc, b, out);
    if (d->npend) {
        if (utf8_cont_ok(d->pend[0], d->npend, b)) {
            d->pend[d->npend++] = b;
            if (d->npend < d->need)
                return 0;
            memcpy(out, d->pend, d->npend);
            n = d->npend;
            d->npend = 0;
            return n;
        }
        /* The sequence broke off: its bytes were 1252, b starts anew. */
        n = csv__dec_flush(d, out, repaired);
    }
    if (b < 0x80) {
        out[n] = (char)b;
        return n + 1;
    }
    d->need = utf8_len(b);
    if (d->need) {
        d->pend[0] = b;
        d->npend = 1;
        return n;
    }
    *repaired = 1;
    return n + single_byte(CSV_ENC_WINDOWS_1252, b, out + n);
}

csv_encoding
csv__detect_encoding(const uint8_t *s, size_t n, int complete)
{
    int defined = 0, undefined = 0, valid = 1;

    for (size_t i = 0; i < n;) {
        uint8_t b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        if (b < 0xA0) {
            if (cp1252_undefined(b))
                undefined = 1;
            else
                defined = 1;
        }
        if (!valid) {
            i++;
            continue;
        }
        size_t len = utf8_len(b), k;
        if (!len) {
            valid = 0;
            i++;
            continue;
        }
        for (k = 1; k < len && i + k < n; k++)
            if (!utf8_cont_ok(b, k, s[i + k]))
                break;
        if (k < len && (i + k < n || complete)) {
            valid = 0;
            i++;
            continue;
        }
        /* Continuation bytes 0x80-0xBF count as 1252 evidence too. */
        for (size_t j = 1; j < k; j++)
            if (s[i + j] < 0xA0) {
                if (cp1252_undefined(s[i + j]))
                    undefined = 1;
                else
                    defined = 1;
            }
        i += k;
    }
    if (valid)
        return CSV_ENC_UTF8;
    return undefined && !defined ? CSV_ENC_LATIN1 : CSV_ENC_WINDOWS_1252;
}
