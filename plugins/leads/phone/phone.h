/* SPDX-License-Identifier: MIT */
/**
 * @file phone.h
 * Phone number normalisation for lead files: from what a spreadsheet holds
 * ("06 12 34 56 78", "+33 (0)6 12...", "0033612...", "612345678") to E.164
 * ("+33612345678"), with the country, the line type and the time zone the
 * dialer needs for calling hours.
 *
 * A pure C library (no allocation, no global state after the first call,
 * no I/O): the leads and import_csv plugins link it statically.
 *
 * Accepted input: digits with spaces (also no-break and thin spaces),
 * dots, dashes, slashes, parentheses, quotes and a leading "=" (Excel's
 * ="0612..." trick); a leading "+", the "00" international prefix, "011"
 * from North America (always when the default country is in the NANP;
 * otherwise when the number makes no sense as a national one); "(0)" or a
 * stray trunk "0" after a country code; an extension after "x", "ext",
 * "extn", "extension", "poste" or ";ext=", which is stripped (see
 * PHONE_R_EXTENSION). Letters anywhere else are an error: vanity numbers
 * are not mapped.
 *
 * Numbering plans with lengths, trunk prefixes and line types: FR with its
 * overseas departments and territories (RE, YT, GP, MQ, GF, PM, PF, NC,
 * WF), BE, CH, LU, ES, IT (the leading 0 of fixed numbers stays in E.164),
 * DE, GB (with GG, JE, IM), the NANP (US, CA and the Caribbean, with the
 * area code and exchange rules), MC and AD. Any other country code of the
 * ITU list is accepted in international form with E.164 length checks only
 * (PHONE_R_NO_PLAN).
 */
#ifndef PLATEAU_PHONE_H
#define PLATEAU_PHONE_H

#include <stddef.h>

#include <plateau/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Rule flags (phone_rules.flags). */
enum {
    /**
     * A national number that lacks its trunk "0" but otherwise fits the
     * plan gets it back: "612345678" is read as "0612345678" in FR. For the
     * plans where a lost zero cannot be mistaken for something else: FR
     * and its overseas departments, BE, CH, GB.
     */
    PHONE_ASSUME_LOST_ZERO = 1u << 0,
};

/** What a number reaches, where the plan tells. Values are stored. */
typedef enum phone_type {
    PHONE_TYPE_UNKNOWN = 0,
    PHONE_TYPE_FIXED = 1,
    PHONE_TYPE_MOBILE = 2,
    /** NANP geographic numbers: the plan does not separate the two. */
    PHONE_TYPE_FIXED_OR_MOBILE = 3,
    PHONE_TYPE_VOIP = 4,
    /** Premium and special-rate numbers (FR 081-089, BE 070, ...). */
    PHONE_TYPE_PREMIUM = 5,
    PHONE_TYPE_FREEPHONE = 6,
} phone_type;

/** Result flags (phone_result.flags): how the input was interpreted. */
enum {
    PHONE_R_EXTENSION = 1u << 0,     /**< an extension was stripped */
    PHONE_R_LOST_ZERO = 1u << 1,     /**< the trunk 0 was restored */
    PHONE_R_PREFIX_ADDED = 1u << 2,  /**< rules.prefix_to_add was prepended */
    PHONE_R_TRUNK_DROPPED = 1u << 3, /**< "(0)"/a 0 after the country code */
    PHONE_R_NO_PLUS = 1u << 4,  /**< country code written without + or 00 */
    PHONE_R_INTL_011 = 1u << 5, /**< "011" read as the international prefix */
    /** The area spans several time zones; time_zone is the main one. */
    PHONE_R_ZONE_APPROX = 1u << 6,
    /** No numbering plan for this country: only E.164 lengths checked. */
    PHONE_R_NO_PLAN = 1u << 7,
};

/** How to read numbers written without a country code. */
typedef struct phone_rules {
    /** ISO 3166 alpha-2 code ("FR", case-insensitive); NULL means "FR". */
    const char *default_country;
    /**
     * Digits (optionally with a leading "+") prepended to a national
     * number that does not already start with them, before parsing: "0"
     * restores lost trunk zeros, "0041" turns a whole file into Swiss
     * numbers. NULL or "" for none. At most 8 digits.
     */
    const char *prefix_to_add;
    unsigned flags; /**< PHONE_ASSUME_LOST_ZERO */
} phone_rules;

#define PHONE_E164_SIZE 20
#define PHONE_EXT_SIZE 12
#define PHONE_ERROR_SIZE 80

/** The outcome of phone_normalize(). Fixed buffers: nothing to free. */
typedef struct phone_result {
    char e164[PHONE_E164_SIZE]; /**< "+33612345678", "" on error */
    char country[3];            /**< ISO alpha-2, "" when unknown */
    phone_type type;
    /**
     * IANA zone name ("Europe/Paris"), static storage; NULL when the
     * country spans several zones and the number does not tell which (the
     * caller decides, e.g. with the most restrictive calling window).
     */
    const char *time_zone;
    unsigned flags;                 /**< PHONE_R_* */
    char extension[PHONE_EXT_SIZE]; /**< digits of a stripped extension */
    char error[PHONE_ERROR_SIZE];   /**< short English reason, "" on success */
} phone_result;

/**
 * Normalise one phone number to E.164.
 *
 * @param input   the number as written (UTF-8 or ASCII); not modified, so
 *                the caller can keep the original next to the result
 * @param rules   how to read national numbers; NULL for FR, no prefix,
 *                no flags
 * @param out     filled on success and on error (error set)
 * @return 0; PLT_EINVAL when the input is not a phone number (letters,
 *         unexpected characters, unknown country code, a number range
 *         that does not exist, an invalid NANP area code or exchange, a
 *         malformed rules field); PLT_ERANGE when the length is wrong
 *         ("too short for FR", "impossible length 8 for BE": lengths
 *         count the digits of the national significant number, i.e.
 *         without country code nor trunk 0); PLT_ENOTSUP for a national
 *         number of a country without a plan, or a non-geographic
 *         country code (+800, +881...).
 *
 * Ownership: nothing allocated; time_zone points to static storage.
 * Thread: any thread, concurrently.
 * Callbacks: none.
 */
int phone_normalize(const char *input, const phone_rules *rules,
                    phone_result *out);

/** phone_normalize() for @p len bytes that need not end with a NUL. */
int phone_normalize_n(const char *input, size_t len, const phone_rules *rules,
                      phone_result *out);

/** "mobile", "fixed", ... for a phone_type; "unknown" for anything else. */
const char *phone_type_name(phone_type type);

#ifdef __cplusplus
}
#endif
#endif
