/* SPDX-License-Identifier: MIT */
/*
 * Internals of the phone library shared by the parser (phone.c) and the
 * numbering tables (phone_plans.c, phone_nanp.c). Tests include it to
 * check the tables themselves (every zone exists, codes are sorted).
 */
#ifndef PLATEAU_PHONE_INT_H
#define PLATEAU_PHONE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "phone.h"

/*
 * One number range of a plan: national significant numbers (NSN, without
 * country code nor trunk prefix) that start with @p prefix and have
 * between @p min and @p max digits. The longest matching prefix wins;
 * ranges that move a number to another country code (a French "0692"
 * number is Réunion's +262 692) say so in @p cc and @p iso.
 */
typedef struct phone_range {
    const char *prefix;
    uint8_t plen;
    uint8_t min, max;
    uint8_t type;    /* a phone_type */
    const char *cc;  /* country code override, NULL for the plan's */
    const char *iso; /* country override, NULL for the plan's */
    const char *tz;  /* zone override, NULL for the plan's */
} phone_range;

/* Ranges are written with these so the prefix length is computed once. */
#define PHONE_RANGE(p, lo, hi, t)                                              \
    {                                                                          \
        (p), (uint8_t)(sizeof(p) - 1), (lo), (hi), (t), NULL, NULL, NULL       \
    }
#define PHONE_RANGE_AT(p, lo, hi, t, cc, iso, tz)                              \
    {                                                                          \
        (p), (uint8_t)(sizeof(p) - 1), (lo), (hi), (t), (cc), (iso), (tz)      \
    }

typedef struct phone_plan {
    const char *iso;        /* the plan's country, used in messages too */
    const char *cc;         /* its country code, digits */
    const char *tz;         /* its zone when a range does not say */
    char trunk;             /* national trunk prefix digit, or 0 for none */
    uint8_t trunk_optional; /* national numbers may omit it (Monaco) */
    uint8_t lost_zero_ok;   /* PHONE_ASSUME_LOST_ZERO applies */
    uint8_t nsn_zero;       /* NSNs may start with 0 (IT): keep "(0)" */
    uint8_t nanp;           /* use the NANP rules, not the ranges */
    const phone_range *ranges;
    size_t nranges;
} phone_plan;

/* A country of the ITU list. */
enum {
    PHONE_C_PRIMARY = 1u << 0, /* the country a shared code resolves to */
    PHONE_C_APPROX = 1u << 1,  /* tz is the main zone of several */
    PHONE_C_NONGEO = 1u << 2,  /* +800, +881...: no country */
};

typedef struct phone_country {
    char iso[3];
    uint16_t cc;
    uint8_t flags;
    const char *tz;             /* NULL when several zones */
    const phone_plan *plan;     /* ranges after the code, NULL: none */
    const phone_plan *national; /* plan for national numbers, or NULL */
} phone_country;

extern const phone_country phone__countries[];
extern const size_t phone__ncountries;
extern const phone_plan phone__plan_nanp;

/* All plans with ranges, for the table tests. */
extern const phone_plan *const phone__plans[];
extern const size_t phone__nplans;

/* NANP area code facts: zone (NULL if unknown), country (NULL: US). */
typedef struct phone_nanp_area {
    const char *tz;
    const char *iso;
    int approx;
} phone_nanp_area;

/* Fills @p a for a 3-digit area code (200-999); returns 0 if unknown. */
int phone__nanp_area(unsigned code, phone_nanp_area *a);

/* Every zone name the NANP table uses, NULL-terminated (for tests). */
extern const char *const phone__nanp_zones[];

#endif
