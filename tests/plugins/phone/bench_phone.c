/* SPDX-License-Identifier: MIT */
/*
 * Throughput of phone_normalize() on a mix shaped like a French lead file
 * (national mobiles and fixed lines, international forms, lost zeros,
 * a few foreign and broken numbers), against a baseline measured in the
 * same run: copying out the digits only, the least any normaliser does.
 * Prints figures; never fails on time. Target: more than 2M numbers/s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phone.h"

static const char *const mix[] = {
    "06 12 34 56 78",     "0612345678",       "+33 6 12 34 56 78",
    "01.42.68.53.00",     "612345678",        "0033 (0)7 81 23 45 67",
    "+262 692 12 34 56",  "0590 82 12 34",    "+32 470 12 34 56",
    "+41 79 123 45 67",   "+39 06 1234 5678", "+49 151 12345678",
    "+44 20 7946 0018",   "+1 212 736 5000",  "33612345678",
    "06 12 34 56 7",      "voir Mme Dupont",  "09 72 12 34 56 poste 12",
    "+212 6 12 34 56 78", "0800 123 456",
};
#define NMIX (sizeof(mix) / sizeof(mix[0]))

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 4000000;
    phone_rules rules = {"FR", NULL, PHONE_ASSUME_LOST_ZERO};
    size_t lens[NMIX];
    unsigned long sink = 0;
    phone_result r;
    double t0, base, real;

    for (size_t i = 0; i < NMIX; i++)
        lens[i] = strlen(mix[i]);
    if (iters <= 0)
        iters = 1;

    /* Baseline: keep the digits, nothing else. */
    t0 = now();
    for (long i = 0; i < iters; i++) {
        const char *s = mix[i % NMIX];
        char d[32];
        size_t n = 0;
        for (size_t k = 0; k < lens[i % NMIX] && n < sizeof(d); k++)
            if (s[k] >= '0' && s[k] <= '9')
                d[n++] = s[k];
        sink += n + (unsigned char)d[0];
    }
    base = now() - t0;

    t0 = now();
    for (long i = 0; i < iters; i++) {
        size_t k = (size_t)i % NMIX;
        if (phone_normalize_n(mix[k], lens[k], &rules, &r) == 0)
            sink += (unsigned char)r.e164[3];
    }
    real = now() - t0;

    printf("phone_normalize: %ld numbers in %.3f s = %.2f M numbers/s "
           "(%.0f ns each)\n",
           iters, real, (double)iters / real / 1e6, real / (double)iters * 1e9);
    printf("baseline (digits only): %.2f M numbers/s; ratio %.1fx\n",
           (double)iters / base / 1e6, real / base);
    printf("target 2 M numbers/s: %s\n",
           (double)iters / real >= 2e6 ? "met" : "NOT met");
    return sink == 42 ? 1 : 0; /* keep the work */
}
