/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for phone_normalize(): any bytes a spreadsheet cell can
 * hold, under rules chosen by the first byte (default country, prefix to
 * add, lost-zero flag). Besides memory errors, it checks what callers
 * rely on: the return code is one of the documented ones, a success gives
 * a well-formed E.164 ("+" and 2 to 15 digits) with an empty error, a
 * failure gives a reason and no number, and normalising a result again
 * gives the same result - so numbers compare equal however they were
 * written.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const countries[] = {"FR", "US", "BE", "CH", "IT", "DE",
                                        "GB", "RE", "MC", "CA", "MA", "ES",
                                        "LU", "AD", "GP", "PM"};
static const char *const prefixes[] = {NULL, "0", "0041", "+33"};

static void
check(int cond, const char *what, const uint8_t *data, size_t size)
{
    if (cond)
        return;
    fprintf(stderr, "phone_fuzzer: invariant broken: %s (input %zu bytes)\n",
            what, size);
    (void)data;
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    phone_rules rules;
    phone_result r, again;
    int rc;

    if (size < 1)
        return 0;
    rules.default_country = countries[data[0] & 15];
    rules.prefix_to_add = prefixes[(data[0] >> 4) & 3];
    rules.flags = (data[0] & 0x40) ? PHONE_ASSUME_LOST_ZERO : 0;
    data++;
    size--;

    rc = phone_normalize_n((const char *)data, size, &rules, &r);
    check(rc == 0 || rc == PLT_EINVAL || rc == PLT_ERANGE || rc == PLT_ENOTSUP,
          "undocumented return code", data, size);
    check(memchr(r.error, '\0', sizeof(r.error)) != NULL, "error unterminated",
          data, size);
    check(memchr(r.extension, '\0', sizeof(r.extension)) != NULL,
          "extension unterminated", data, size);
    if (rc != 0) {
        check(r.error[0] != '\0', "failure without a reason", data, size);
        check(r.e164[0] == '\0', "failure with a number", data, size);
        check(r.time_zone == NULL, "failure with a zone", data, size);
        return 0;
    }

    size_t n = strlen(r.e164);
    check(r.error[0] == '\0', "success with an error", data, size);
    check(r.e164[0] == '+', "E.164 without +", data, size);
    check(n >= 3 && n <= 16, "E.164 length", data, size);
    check(strspn(r.e164 + 1, "0123456789") == n - 1, "E.164 not digits", data,
          size);
    check(r.e164[1] != '0', "country code starting with 0", data, size);
    check(r.country[0] == '\0' || (r.country[0] >= 'A' && r.country[0] <= 'Z' &&
                                   r.country[1] >= 'A' && r.country[1] <= 'Z' &&
                                   r.country[2] == '\0'),
          "country code malformed", data, size);
    check(strcmp(phone_type_name(r.type), "unknown") != 0 ||
              r.type == PHONE_TYPE_UNKNOWN,
          "type out of range", data, size);

    /* A normalised number is a fixed point, whatever the default. */
    rules.prefix_to_add = NULL;
    rules.flags = 0;
    rc = phone_normalize(r.e164, &rules, &again);
    check(rc == 0, "normalised number rejected", data, size);
    check(strcmp(again.e164, r.e164) == 0, "normalising twice changes it", data,
          size);
    check(strcmp(again.country, r.country) == 0, "country changes", data, size);
    check(again.type == r.type, "type changes", data, size);
    check(again.time_zone == r.time_zone ||
              (again.time_zone && r.time_zone &&
               strcmp(again.time_zone, r.time_zone) == 0),
          "zone changes", data, size);
    return 0;
}
