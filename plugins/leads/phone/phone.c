/* SPDX-License-Identifier: MIT */
/*
 * Phone number normalisation: reading a number the way a person typed it
 * into a spreadsheet, and writing it the one way the dialer and the
 * do-not-call list compare numbers, E.164.
 *
 * Three steps. The scanner keeps the digits and a few facts (a leading
 * "+", a "(0)", an extension) and rejects anything that is not
 * punctuation - a letter means the cell holds something else ("voir
 * Mme Dupont"), and vanity numbers are not a French habit. The
 * interpretation decides whether the digits are international ("+",
 * "00", "011") or national (the default country's plan, after
 * prefix_to_add and the lost-zero rule), with two fall-backs for national
 * numbers that make no sense as such: the default country's own code
 * without its "+" (Excel drops it: "33612345678"), and "011" dialled from
 * North America. The plan check finds the longest matching range and its
 * lengths, which gives the line type, the country (a French "0692" is
 * Réunion) and the zone.
 *
 * Nothing here allocates or locks after the first call builds two small
 * indexes (by ISO code and by country code) under pthread_once; a number
 * costs a few hundred nanoseconds.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "phone_int.h"

/* More digits than this are not a phone number (E.164 allows 15). */
#define MAX_DIGITS 24
#define MAX_PREFIX 8
#define MAX_EXT (PHONE_EXT_SIZE - 1)

typedef struct scan {
    char d[MAX_DIGITS + MAX_PREFIX + 1];
    size_t n;
    int plus;
    int paren0; /* index in d of a 0 written alone in parentheses, or -1 */
} scan;

/* --- indexes ----------------------------------------------------------- */

static pthread_once_t index_once = PTHREAD_ONCE_INIT;
/* Country row + 1 by ISO code ('A'..'Z' squared), 0 for none. */
static uint16_t iso_index[26 * 26];
/* Primary country row + 1 by country code value (1 to 999), 0 for none. */
static uint16_t cc_index[1000];

static void
build_indexes(void)
{
    for (size_t i = 0; i < phone__ncountries; i++) {
        const phone_country *c = &phone__countries[i];
        if (c->iso[0] >= 'A' && c->iso[0] <= 'Z' && c->iso[1] >= 'A' &&
            c->iso[1] <= 'Z') {
            unsigned k =
                (unsigned)(c->iso[0] - 'A') * 26 + (unsigned)(c->iso[1] - 'A');
            if (!iso_index[k])
                iso_index[k] = (uint16_t)(i + 1);
        }
        if ((c->flags & PHONE_C_PRIMARY) && c->cc < 1000 && !cc_index[c->cc])
            cc_index[c->cc] = (uint16_t)(i + 1);
    }
}

static const phone_country *
country_by_iso(const char *iso)
{
    char a, b;

    if (!iso || !iso[0] || !iso[1] || iso[2])
        return NULL;
    a = (char)(iso[0] & ~0x20); /* ASCII upper case */
    b = (char)(iso[1] & ~0x20);
    if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z')
        return NULL;
    unsigned k = (unsigned)(a - 'A') * 26 + (unsigned)(b - 'A');
    return iso_index[k] ? &phone__countries[iso_index[k] - 1] : NULL;
}

/* The country whose code starts @p d (not with 0), its length in *len. */
static const phone_country *
country_by_digits(const char *d, size_t n, size_t *len)
{
    unsigned v = 0;

    for (size_t k = 0; k < 3 && k < n; k++) {
        v = v * 10 + (unsigned)(d[k] - '0');
        /* Codes are prefix-free: the first hit is the code. */
        if (cc_index[v]) {
            *len = k + 1;
            return &phone__countries[cc_index[v] - 1];
        }
    }
    return NULL;
}

/* --- results ----------------------------------------------------------- */

static void
reset(phone_result *out)
{
    out->e164[0] = '\0';
    out->country[0] = '\0';
    out->type = PHONE_TYPE_UNKNOWN;
    out->time_zone = NULL;
    out->flags = 0;
    out->extension[0] = '\0';
    out->error[0] = '\0';
}

/* Fails: clears what a partial interpretation wrote, keeps the flags. */
__attribute__((format(printf, 3, 4))) static int
fail(phone_result *out, int rc, const char *fmt, ...)
{
    va_list ap;

    out->e164[0] = '\0';
    out->country[0] = '\0';
    out->type = PHONE_TYPE_UNKNOWN;
    out->time_zone = NULL;
    va_start(ap, fmt);
    vsnprintf(out->error, sizeof(out->error), fmt, ap);
    va_end(ap);
    return rc;
}

/* Writes "+<cc><nsn>"; the caller checked the total length. */
static void
put_e164(phone_result *out, const char *cc, const char *nsn, size_t nn)
{
    size_t cl = strlen(cc);
    char *p = out->e164;

    *p++ = '+';
    memcpy(p, cc, cl);
    memcpy(p + cl, nsn, nn);
    p[cl + nn] = '\0';
}

static void
put_country(phone_result *out, const char *iso)
{
    out->country[0] = iso[0];
    out->country[1] = iso[0] ? iso[1] : '\0';
    out->country[2] = '\0';
}

/* --- scanning ---------------------------------------------------------- */

static int
is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* Bytes of a UTF-8 space, dash or invisible mark at @p s, else 0. */
static size_t
unicode_punct(const unsigned char *s, size_t left)
{
    if (left >= 2 && s[0] == 0xC2 && s[1] == 0xA0)
        return 2; /* no-break space, Excel's French thousands separator */
    if (left >= 3 && s[0] == 0xE2 && s[1] == 0x80 &&
        ((s[2] >= 0x80 && s[2] <= 0x8B) || (s[2] >= 0x90 && s[2] <= 0x95) ||
         s[2] == 0xAF))
        return 3; /* U+2000-200B spaces, U+2010-2015 dashes, U+202F */
    if (left >= 3 && s[0] == 0xE2 && s[1] == 0x88 && s[2] == 0x92)
        return 3; /* U+2212 minus */
    if (left >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
        return 3; /* a stray BOM / zero-width no-break space */
    return 0;
}

/*
 * Length of an extension marker at @p s ("x", "ext", "ext.", "extn",
 * "extension", "poste", ";ext="), including the punctuation after it, if
 * digits follow; else 0.
 */
static size_t
extension_marker(const char *s, size_t left)
{
    static const char *const words[] = {"extension", "extn", "ext", "poste",
                                        "x"};
    size_t i = 0;

    if (s[0] == ';') {
        if (left < 5 || strncasecmp(s + 1, "ext=", 4) != 0)
            return 0;
        i = 5;
    } else {
        size_t w;
        for (w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
            size_t wl = strlen(words[w]);
            if (wl <= left && strncasecmp(s, words[w], wl) == 0 &&
                (wl == left || !is_alpha((unsigned char)s[wl]))) {
                i = wl;
                break;
            }
        }
        if (w == sizeof(words) / sizeof(words[0]))
            return 0;
    }
    while (i < left && (s[i] == '.' || s[i] == ':' || s[i] == ' ' ||
                        s[i] == '#' || s[i] == '='))
        i++;
    return i < left && s[i] >= '0' && s[i] <= '9' ? i : 0;
}

/* Is "( 0 )" at @p s? Gives its length. */
static size_t
paren_zero(const char *s, size_t left)
{
    size_t i = 1;

    while (i < left && s[i] == ' ')
        i++;
    if (i >= left || s[i] != '0')
        return 0;
    i++;
    while (i < left && s[i] == ' ')
        i++;
    return i < left && s[i] == ')' ? i + 1 : 0;
}

static int
scan_input(const char *in, size_t len, scan *sc, phone_result *out)
{
    size_t i = 0, ext = 0, total = 0;
    int in_ext = 0, any = 0;

    sc->n = 0;
    sc->plus = 0;
    sc->paren0 = -1;
    while (i < len) {
        unsigned char c = (unsigned char)in[i];
        size_t k;

        if (c >= '0' && c <= '9') {
            if (in_ext) {
                if (ext >= MAX_EXT)
                    return fail(out, PLT_ERANGE, "extension too long");
                out->extension[ext++] = (char)c;
                /* Terminated at every step: a later error keeps it valid. */
                out->extension[ext] = '\0';
            } else {
                total++;
                if (sc->n < MAX_DIGITS)
                    sc->d[sc->n++] = (char)c;
            }
            any = 1;
            i++;
        } else if (c == ' ' || c == '\t' || c == '.' || c == '-' || c == '/' ||
                   c == ')' || c == '"' || c == '\'' || c == ',' || c == '_' ||
                   c == '\r' || c == '\n') {
            i++;
        } else if (c == '(') {
            /* "+33 (0)6..." or "(0)6...": remember where that 0 goes. */
            k = in_ext ? 0 : paren_zero(in + i, len - i);
            if (k) {
                sc->paren0 = (int)sc->n;
                total++;
                if (sc->n < MAX_DIGITS)
                    sc->d[sc->n++] = '0';
                any = 1;
                i += k;
            } else {
                i++;
            }
        } else if (c == '+') {
            if (total || sc->plus || in_ext)
                return fail(out, PLT_EINVAL, "misplaced '+'");
            sc->plus = 1;
            i++;
        } else if (c == '=' && !total && !sc->plus && !in_ext) {
            i++; /* Excel's ="0612345678" keeps the leading zero */
        } else if ((k = unicode_punct((const unsigned char *)in + i,
                                      len - i)) != 0) {
            i += k;
        } else if (total && !in_ext && (is_alpha(c) || c == ';') &&
                   (k = extension_marker(in + i, len - i)) != 0) {
            in_ext = 1;
            out->flags |= PHONE_R_EXTENSION;
            i += k;
        } else if (is_alpha(c)) {
            return fail(out, PLT_EINVAL, "not a number: contains letters");
        } else if (c >= 0x20 && c < 0x7F) {
            return fail(out, PLT_EINVAL, "not a number: unexpected '%c'",
                        (char)c);
        } else {
            return fail(out, PLT_EINVAL, "not a number: unexpected byte 0x%02X",
                        c);
        }
    }
    out->extension[ext] = '\0';
    if (!any)
        return fail(out, PLT_EINVAL, "not a number: no digits");
    if (total > MAX_DIGITS)
        return fail(out, PLT_ERANGE, "too long: %zu digits", total);
    return 0;
}

/* --- plans ------------------------------------------------------------- */

/* Shared by both ways a number reaches a plan. */
typedef struct target {
    const phone_country *country; /* for zone approximations */
    const char *name;             /* for messages */
} target;

static int
check_ranges(const phone_plan *p, const char *nsn, size_t nn, phone_result *out)
{
    const phone_range *best = NULL, *fit = NULL;
    unsigned lo = 255, hi = 0;

    /*
     * The longest prefix that matches decides what the number is; only
     * then is its length checked, so an 8-digit "47..." in Belgium is a
     * short mobile, not a fixed number.
     */
    for (size_t i = 0; i < p->nranges; i++) {
        const phone_range *r = &p->ranges[i];
        if (r->min < lo)
            lo = r->min;
        if (r->max > hi)
            hi = r->max;
        if (r->plen > nn || memcmp(r->prefix, nsn, r->plen) != 0)
            continue;
        if (!best || r->plen > best->plen) {
            best = r;
            fit = NULL;
        }
        if (r->plen == best->plen && nn >= r->min && nn <= r->max)
            fit = r;
    }
    if (nn < lo)
        return fail(out, PLT_ERANGE, "too short for %s", p->iso);
    if (nn > hi)
        return fail(out, PLT_ERANGE, "too long for %s", p->iso);
    if (!best)
        return fail(out, PLT_EINVAL, "no such number range in %s", p->iso);
    if (!fit)
        return fail(out, PLT_ERANGE, "impossible length %zu for %s", nn,
                    p->iso);

    const char *cc = fit->cc ? fit->cc : p->cc;
    if (strlen(cc) + nn > 15)
        return fail(out, PLT_ERANGE, "too long for %s", p->iso);
    put_e164(out, cc, nsn, nn);
    put_country(out, fit->iso ? fit->iso : p->iso);
    out->type = (phone_type)fit->type;
    out->time_zone = fit->tz ? fit->tz : p->tz;
    if (!fit->tz) {
        const phone_country *c = country_by_iso(out->country);
        if (c && (c->flags & PHONE_C_APPROX))
            out->flags |= PHONE_R_ZONE_APPROX;
    }
    return 0;
}

/*
 * The NANP: NPA-NXX-XXXX, where neither the area code (NPA) nor the
 * exchange (NXX) starts with 0 or 1 or is an N11 service code, area codes
 * with a middle 9 are reserved, and 555-01XX is for fiction.
 */
static int
check_nanp(const char *nsn, size_t nn, const char *name, phone_result *out)
{
    phone_nanp_area a;
    unsigned npa;

    if (nn < 10)
        return fail(out, PLT_ERANGE, "too short for %s", name);
    if (nn > 10)
        return fail(out, PLT_ERANGE, "too long for %s", name);
    if (nsn[0] < '2' || (nsn[1] == '1' && nsn[2] == '1') || nsn[1] == '9')
        return fail(out, PLT_EINVAL, "invalid area code %.3s", nsn);
    if (nsn[3] < '2' || (nsn[4] == '1' && nsn[5] == '1'))
        return fail(out, PLT_EINVAL, "invalid exchange %.3s", nsn + 3);
    if (memcmp(nsn + 3, "55501", 5) == 0)
        return fail(out, PLT_EINVAL, "fictional number 555-01XX");

    npa = (unsigned)(nsn[0] - '0') * 100 + (unsigned)(nsn[1] - '0') * 10 +
          (unsigned)(nsn[2] - '0');
    put_e164(out, "1", nsn, nn);
    switch (npa) {
    case 800:
    case 833:
    case 844:
    case 855:
    case 866:
    case 877:
    case 888:
        out->type = PHONE_TYPE_FREEPHONE;
        break;
    case 900:
        out->type = PHONE_TYPE_PREMIUM;
        break;
    default:
        /* Personal (5XX) and Canadian non-geographic (6XX) services. */
        out->type = (nsn[1] == nsn[2] && (nsn[0] == '5' || nsn[0] == '6'))
                        ? PHONE_TYPE_UNKNOWN
                        : PHONE_TYPE_FIXED_OR_MOBILE;
        break;
    }
    if (phone__nanp_area(npa, &a)) {
        put_country(out, a.iso);
        out->time_zone = a.tz;
        if (a.approx)
            out->flags |= PHONE_R_ZONE_APPROX;
    } else {
        put_country(out, "US");
    }
    return 0;
}

/* @p d / @p n are the digits after the international prefix. */
static int
parse_international(const char *d, size_t n, int paren0, phone_result *out)
{
    const phone_country *c;
    size_t cl = 0;

    if (n == 0)
        return fail(out, PLT_EINVAL, "no country code");
    c = d[0] == '0' ? NULL : country_by_digits(d, n, &cl);
    if (!c)
        return fail(out, PLT_EINVAL, "unknown country code +%.*s",
                    (int)(n < 3 ? n : 3), d);
    if (c->flags & PHONE_C_NONGEO)
        return fail(out, PLT_ENOTSUP, "non-geographic number +%.*s", (int)cl,
                    d);

    const char *nsn = d + cl;
    size_t nn = n - cl;
    const phone_plan *p = c->plan;

    /*
     * "+33 (0)6..." and "+33 06...": the trunk 0 has no place after a
     * country code. Drop it where the plan has one, and a "(0)" where the
     * plan is unknown or cannot start with 0 - but Italy's 0 is part of
     * the number.
     */
    if (nn && nsn[0] == '0' &&
        ((p && p->trunk == '0') ||
         (paren0 == (int)cl && !(p && p->nsn_zero)))) {
        nsn++;
        nn--;
        out->flags |= PHONE_R_TRUNK_DROPPED;
    }
    if (p && p->nanp)
        return check_nanp(nsn, nn, "NANP", out);
    if (p)
        return check_ranges(p, nsn, nn, out);

    /* No plan: E.164 bounds only. */
    if (nn < 4)
        return fail(out, PLT_ERANGE, "too short for %s", c->iso);
    if (cl + nn > 15)
        return fail(out, PLT_ERANGE, "too long for %s", c->iso);
    memcpy(out->e164, "+", 1);
    memcpy(out->e164 + 1, d, cl);
    memcpy(out->e164 + 1 + cl, nsn, nn);
    out->e164[1 + cl + nn] = '\0';
    put_country(out, c->iso);
    out->time_zone = c->tz;
    out->flags |= PHONE_R_NO_PLAN;
    if (c->flags & PHONE_C_APPROX)
        out->flags |= PHONE_R_ZONE_APPROX;
    return 0;
}

/* @p d / @p n: a national number of @p c (default country). */
static int
parse_national(const char *d, size_t n, const phone_country *c, unsigned rflags,
               phone_result *out)
{
    const phone_plan *p = c->national;

    if (!p)
        return fail(out, PLT_ENOTSUP,
                    "no numbering plan for %s: write the number with +",
                    c->iso);
    if (p->nanp) {
        if (n == 11 && d[0] == '1')
            return check_nanp(d + 1, 10, c->iso, out);
        return check_nanp(d, n, c->iso, out);
    }
    if (p->trunk) {
        if (d[0] == p->trunk)
            return check_ranges(p, d + 1, n - 1, out);
        if (p->trunk_optional)
            return check_ranges(p, d, n, out);
        if ((rflags & PHONE_ASSUME_LOST_ZERO) && p->lost_zero_ok) {
            int rc = check_ranges(p, d, n, out);
            if (rc == 0)
                out->flags |= PHONE_R_LOST_ZERO;
            return rc;
        }
        /*
         * Without its trunk 0 a number is one digit short, whatever its
         * length otherwise: say so in the words a user expects.
         */
        phone_result probe;
        reset(&probe);
        if (check_ranges(p, d, n, &probe) == 0)
            return fail(out, PLT_ERANGE, "too short for %s", c->iso);
        return check_ranges(p, d, n, out);
    }
    return check_ranges(p, d, n, out);
}

/* --- entry points ------------------------------------------------------ */

int
phone_normalize_n(const char *input, size_t len, const phone_rules *rules,
                  phone_result *out)
{
    static const phone_rules fr = {"FR", NULL, 0};
    const phone_country *def;
    scan sc;
    int rc;

    if (!out)
        return PLT_EINVAL;
    reset(out);
    if (!input)
        return fail(out, PLT_EINVAL, "no input");
    pthread_once(&index_once, build_indexes);
    if (!rules)
        rules = &fr;
    def =
        country_by_iso(rules->default_country ? rules->default_country : "FR");
    if (!def || (def->flags & PHONE_C_NONGEO))
        return fail(out, PLT_EINVAL, "unknown default country");

    rc = scan_input(input, len, &sc, out);
    if (rc)
        return rc;

    const char *d = sc.d;
    size_t n = sc.n;
    int nanp_home = def->national && def->national->nanp;

    /* International forms. "+00 33..." happens too. */
    if (n >= 2 && d[0] == '0' && d[1] == '0')
        return parse_international(d + 2, n - 2, sc.paren0 - 2, out);
    if (sc.plus)
        return parse_international(d, n, sc.paren0, out);
    if (nanp_home && n >= 3 && memcmp(d, "011", 3) == 0) {
        out->flags |= PHONE_R_INTL_011;
        return parse_international(d + 3, n - 3, sc.paren0 - 3, out);
    }

    /* The wizard's prefix, for national numbers that do not have it. */
    const char *pfx = rules->prefix_to_add;
    if (pfx && pfx[0]) {
        size_t pl = 0;
        int pplus = pfx[0] == '+';
        char tmp[MAX_PREFIX + MAX_DIGITS + 1];

        for (const char *q = pfx + pplus; *q; q++, pl++)
            if (*q < '0' || *q > '9' || pl >= MAX_PREFIX)
                return fail(out, PLT_EINVAL, "bad prefix_to_add");
        if (pl == 0)
            return fail(out, PLT_EINVAL, "bad prefix_to_add");
        if (n < pl || memcmp(d, pfx + pplus, pl) != 0) {
            memcpy(tmp, pfx + pplus, pl);
            memcpy(tmp + pl, d, n);
            memcpy(sc.d, tmp, pl + n);
            n += pl;
            if (sc.paren0 >= 0)
                sc.paren0 += (int)pl;
            out->flags |= PHONE_R_PREFIX_ADDED;
            if (pplus)
                return parse_international(d, n, sc.paren0, out);
            if (n >= 2 && d[0] == '0' && d[1] == '0')
                return parse_international(d + 2, n - 2, sc.paren0 - 2, out);
        }
    }

    rc = parse_national(d, n, def, rules->flags, out);
    if (rc == 0 || rc == PLT_ENOTSUP)
        return rc;

    /*
     * Fall-backs for numbers that are not national ones: the default
     * country's code without "+" ("33612345678": a spreadsheet ate the
     * plus), and 011 from North America. Both only when the national
     * reading failed, and the first one's error is what the user sees if
     * neither works.
     */
    phone_result alt;
    size_t cl = strlen(def->national->cc);
    if (!def->national->nanp && n > cl && d[0] != '0' &&
        memcmp(d, def->national->cc, cl) == 0) {
        reset(&alt);
        if (parse_international(d, n, -1, &alt) == 0) {
            alt.flags |= out->flags | PHONE_R_NO_PLUS;
            memcpy(alt.extension, out->extension, sizeof(alt.extension));
            *out = alt;
            return 0;
        }
    }
    if (n > 3 && memcmp(d, "011", 3) == 0) {
        reset(&alt);
        if (parse_international(d + 3, n - 3, sc.paren0 - 3, &alt) == 0) {
            alt.flags |= out->flags | PHONE_R_INTL_011;
            memcpy(alt.extension, out->extension, sizeof(alt.extension));
            *out = alt;
            return 0;
        }
    }
    return rc;
}

int
phone_normalize(const char *input, const phone_rules *rules, phone_result *out)
{
    return phone_normalize_n(input, input ? strlen(input) : 0, rules, out);
}

const char *
phone_type_name(phone_type type)
{
    switch (type) {
    case PHONE_TYPE_FIXED:
        return "fixed";
    case PHONE_TYPE_MOBILE:
        return "mobile";
    case PHONE_TYPE_FIXED_OR_MOBILE:
        return "fixed_or_mobile";
    case PHONE_TYPE_VOIP:
        return "voip";
    case PHONE_TYPE_PREMIUM:
        return "premium";
    case PHONE_TYPE_FREEPHONE:
        return "freephone";
    case PHONE_TYPE_UNKNOWN:
    default:
        return "unknown";
    }
}
