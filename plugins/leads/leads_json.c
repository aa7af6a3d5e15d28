/* SPDX-License-Identifier: MIT */
/*
 * The contact document of the import path, written by hand: the same
 * bytes as leads_fields_to_json() (jansson, JSON_COMPACT), for fields
 * whose names are distinct and valid UTF-8.
 *
 * JSON is otherwise always built and parsed with jansson. This one
 * document is written for every imported contact, and building a jansson
 * object per contact (a hash table, one allocation per key and value,
 * then the dump) was ~15 % of the CPU time of a whole import. What jansson
 * writes, and so what this writes:
 *   - `{"name":"value",...}` in the order given, no spaces; a NULL value
 *     is `null`;
 *   - in strings `"` and `\` escaped, the control characters below 0x20 as
 *     \b \f \n \r \t or \u00XX (upper-case hex), everything else as is
 *     (UTF-8 is not turned into \u escapes, `/` is not escaped);
 *   - a value that is not valid UTF-8 (leads_utf8_seq: no overlong forms,
 *     no surrogates, nothing above U+10FFFF) has each byte that does not
 *     start a valid sequence replaced by U+FFFD, as leads_fields.c does
 *     before handing it to jansson.
 * A name that is not valid UTF-8 is not handled here (leads_fields.c
 * repairs names through jansson, where two repaired names can merge):
 * leads_json_fields_len() says so and the caller uses jansson.
 * tests/plugins/leads/test_json.c compares both writers.
 */
#include <string.h>

#include "leads_json.h"

/* Bytes that @p s takes in a JSON string (without the quotes), with
 * invalid sequences repaired when @p repair, or SIZE_MAX when it is not
 * valid UTF-8 and not @p repair. */
static size_t
str_len(const char *s, bool repair)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        if (c >= 0x20 && c < 0x80) {
            n += c == '"' || c == '\\' ? 2 : 1;
            p++;
            continue;
        }
        if (c < 0x20) {
            n += c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t'
                     ? 2
                     : 6;
            p++;
            continue;
        }
        size_t l = leads_utf8_seq(p);
        if (l == 0) {
            if (!repair)
                return SIZE_MAX;
            n += 3; /* U+FFFD */
            p++;
            continue;
        }
        n += l;
        p += l;
    }
    return n;
}

static char *
str_write(char *o, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    *o++ = '"';
    while (*p) {
        unsigned char c = *p;
        if (c >= 0x20 && c < 0x80) {
            if (c == '"' || c == '\\')
                *o++ = '\\';
            *o++ = (char)c;
            p++;
            continue;
        }
        if (c < 0x20) {
            *o++ = '\\';
            switch (c) {
            case '\b':
                *o++ = 'b';
                break;
            case '\f':
                *o++ = 'f';
                break;
            case '\n':
                *o++ = 'n';
                break;
            case '\r':
                *o++ = 'r';
                break;
            case '\t':
                *o++ = 't';
                break;
            default:
                memcpy(o, "u00", 3);
                o[3] = hex[c >> 4];
                o[4] = hex[c & 15];
                o += 5;
            }
            p++;
            continue;
        }
        size_t l = leads_utf8_seq(p);
        if (l == 0) {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            p++;
            continue;
        }
        memcpy(o, p, l);
        o += l;
        p += l;
    }
    *o++ = '"';
    return o;
}

size_t
leads_json_fields_len(const plt_lead_field *f, size_t n)
{
    size_t len = 1, set = 0; /* "{" */
    for (size_t i = 0; i < n; i++) {
        if (!f[i].name || !*f[i].name)
            continue;
        size_t k = str_len(f[i].name, false);
        if (k == SIZE_MAX)
            return SIZE_MAX;
        len += (set++ ? 1 : 0) + k + 3; /* [,]"name": */
        len += f[i].value ? str_len(f[i].value, true) + 2 : 4;
    }
    return set ? len + 2 : 0; /* "}" and the NUL */
}

void
leads_json_fields_write(const plt_lead_field *f, size_t n, char *out)
{
    char *o = out;
    *o++ = '{';
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (!f[i].name || !*f[i].name)
            continue;
        if (!first)
            *o++ = ',';
        first = false;
        o = str_write(o, f[i].name);
        *o++ = ':';
        if (f[i].value) {
            o = str_write(o, f[i].value);
        } else {
            memcpy(o, "null", 4);
            o += 4;
        }
    }
    *o++ = '}';
    *o = 0;
}
