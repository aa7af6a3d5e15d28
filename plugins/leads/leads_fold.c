/* SPDX-License-Identifier: MIT */
/*
 * Folding for search (case and accents), on its own: no storage, no JSON.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "leads_fold.h"

/* Length of the valid UTF-8 sequence at @p s (1..4), or 0. */
size_t
leads_utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

char *
leads_utf8_repair(const char *s)
{
    size_t n = strlen(s), k = 0;
    char *fixed = malloc(3 * n + 1);
    if (!fixed)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t l = leads_utf8_seq(p);
        if (l == 0) {
            memcpy(fixed + k, "\xEF\xBF\xBD", 3);
            k += 3;
            p++;
            continue;
        }
        memcpy(fixed + k, p, l);
        k += l;
        p += l;
    }
    fixed[k] = 0;
    return fixed;
}

/* ------------------------------------------------------------------ */
/* Folding: lowercase, diacritics of Latin letters stripped */

/* U+0100..U+017F (Latin Extended-A) as base letters; '_' for the three
 * that become two letters (IJ, OE) or stay as they are. */
static const char ext_a[129] = "aaaaaaccccccccdd"
                               "ddeeeeeeeeeegggg"
                               "gggghhhhiiiiiiii"
                               "ii__jjkkklllllll"
                               "lllnnnnnnnnnoooo"
                               "oo__rrrrrrssssss"
                               "ssttttttuuuuuuuu"
                               "uuuuwwyyyzzzzzzs";

/* U+00C0..U+00FF folded, or NULL to keep the character (x, /). */
static const char *
fold_latin1(uint32_t cp)
{
    static const char *const t[64] = {
        "a", "a", "a", "a", "a", "a", "ae", "c",  /* C0-C7 */
        "e", "e", "e", "e", "i", "i", "i",  "i",  /* C8-CF */
        "d", "n", "o", "o", "o", "o", "o",  NULL, /* D0-D7 */
        "o", "u", "u", "u", "u", "y", NULL, "ss", /* D8-DF */
        "a", "a", "a", "a", "a", "a", "ae", "c",  /* E0-E7 */
        "e", "e", "e", "e", "i", "i", "i",  "i",  /* E8-EF */
        "d", "n", "o", "o", "o", "o", "o",  NULL, /* F0-F7 */
        "o", "u", "u", "u", "u", "y", NULL, "y",  /* F8-FF */
    };
    return t[cp - 0xC0];
}

/* What the code point @p cp folds to, or NULL to keep it. */
static const char *
fold_cp(uint32_t cp, char one[2])
{
    if (cp >= 0xC0 && cp <= 0xFF)
        return fold_latin1(cp);
    if (cp >= 0x100 && cp <= 0x17F) {
        if (cp == 0x132 || cp == 0x133)
            return "ij";
        if (cp == 0x152 || cp == 0x153)
            return "oe";
        one[0] = ext_a[cp - 0x100];
        one[1] = 0;
        return one[0] == '_' ? NULL : one;
    }
    return NULL;
}

char *
leads_fold(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    /* A folded character is never longer than its UTF-8 form. */
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t k = 0;
    while (*p) {
        size_t l = leads_utf8_seq(p);
        if (l <= 1) {
            out[k++] = (char)tolower(*p); /* ASCII, or a stray byte kept */
            p++;
            continue;
        }
        uint32_t cp = l == 2 ? (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F) : 0;
        char one[2];
        const char *f = l == 2 ? fold_cp(cp, one) : NULL;
        if (f) {
            size_t fl = strlen(f);
            memcpy(out + k, f, fl);
            k += fl;
        } else {
            memcpy(out + k, p, l);
            k += l;
        }
        p += l;
    }
    out[k] = 0;
    return out;
}

/* Does some folded character that is not ASCII fold to ASCII @p c? */
bool
leads_fold_target(unsigned char c)
{
    static bool init, set[128];
    if (!init) {
        for (uint32_t cp = 0xC0; cp <= 0x17F; cp++) {
            char one[2];
            const char *f = fold_cp(cp, one);
            for (; f && *f; f++)
                set[(unsigned char)*f] = true;
        }
        init = true;
    }
    return c < 128 && set[c];
}
