/* SPDX-License-Identifier: MIT */
/*
 * Phone normalisation, as lead files write numbers: a table of real-world
 * forms (French Excel exports first, then every plan) with the E.164,
 * country, line type and zone the dialer relies on, or the error a
 * rejected-rows report shows. Then the tables themselves: every zone name
 * must exist in the system's tz database, the country list must be sorted
 * with one primary country per code, ranges must be well-formed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "phone.h"
#include "phone_int.h"

enum { OK = 0 };
#define L PHONE_ASSUME_LOST_ZERO

#define UNK PHONE_TYPE_UNKNOWN
#define FIX PHONE_TYPE_FIXED
#define MOB PHONE_TYPE_MOBILE
#define FOM PHONE_TYPE_FIXED_OR_MOBILE
#define VOIP PHONE_TYPE_VOIP
#define PREM PHONE_TYPE_PREMIUM
#define FREE PHONE_TYPE_FREEPHONE

#define EXT PHONE_R_EXTENSION
#define LOST PHONE_R_LOST_ZERO
#define PFX PHONE_R_PREFIX_ADDED
#define TRK PHONE_R_TRUNK_DROPPED
#define NOPLUS PHONE_R_NO_PLUS
#define I011 PHONE_R_INTL_011
#define APX PHONE_R_ZONE_APPROX
#define NOPLAN PHONE_R_NO_PLAN

typedef struct tcase {
    const char *in;
    const char *def;    /* default country; NULL = FR */
    const char *prefix; /* prefix_to_add */
    unsigned rflags;
    int rc;
    const char *e164; /* on success; on error, a substring of the reason */
    const char *country;
    phone_type type;
    const char *tz;
    unsigned flags; /* result flags that must be set (exactly, on success) */
} tcase;

/* Success rows and error rows, in the default country FR unless said. */
#define Y(in, e164, cc, type, tz, fl)                                          \
    {                                                                          \
        in, NULL, NULL, 0, OK, e164, cc, type, tz, fl                          \
    }
#define YD(def, in, e164, cc, type, tz, fl)                                    \
    {                                                                          \
        in, def, NULL, 0, OK, e164, cc, type, tz, fl                           \
    }
#define YR(def, pfx, rfl, in, e164, cc, type, tz, fl)                          \
    {                                                                          \
        in, def, pfx, rfl, OK, e164, cc, type, tz, fl                          \
    }
#define E(in, rc, why)                                                         \
    {                                                                          \
        in, NULL, NULL, 0, rc, why, NULL, 0, NULL, 0                           \
    }
#define ED(def, in, rc, why)                                                   \
    {                                                                          \
        in, def, NULL, 0, rc, why, NULL, 0, NULL, 0                            \
    }
#define ER(def, pfx, rfl, in, rc, why)                                         \
    {                                                                          \
        in, def, pfx, rfl, rc, why, NULL, 0, NULL, 0                           \
    }

#define PARIS "Europe/Paris"
#define REUNION "Indian/Reunion"
#define MAYOTTE "Indian/Mayotte"

static const tcase cases[] = {
    /* French mobiles as Excel files write them. */
    Y("06 12 34 56 78", "+33612345678", "FR", MOB, PARIS, 0),
    Y("0612345678", "+33612345678", "FR", MOB, PARIS, 0),
    Y("06.12.34.56.78", "+33612345678", "FR", MOB, PARIS, 0),
    Y("06-12-34-56-78", "+33612345678", "FR", MOB, PARIS, 0),
    Y("06/12/34/56/78", "+33612345678", "FR", MOB, PARIS, 0),
    Y("  06 12 34 56 78  ", "+33612345678", "FR", MOB, PARIS, 0),
    Y("+33 6 12 34 56 78", "+33612345678", "FR", MOB, PARIS, 0),
    Y("+33612345678", "+33612345678", "FR", MOB, PARIS, 0),
    Y("0033612345678", "+33612345678", "FR", MOB, PARIS, 0),
    Y("00 33 6 12 34 56 78", "+33612345678", "FR", MOB, PARIS, 0),
    Y("+33 (0)6 12 34 56 78", "+33612345678", "FR", MOB, PARIS, TRK),
    Y("+33(0)612345678", "+33612345678", "FR", MOB, PARIS, TRK),
    Y("0033 (0)6 12 34 56 78", "+33612345678", "FR", MOB, PARIS, TRK),
    Y("+33 06 12 34 56 78", "+33612345678", "FR", MOB, PARIS, TRK),
    Y("(0)6 12 34 56 78", "+33612345678", "FR", MOB, PARIS, 0),
    Y("(06) 12 34 56 78", "+33612345678", "FR", MOB, PARIS, 0),
    Y("=\"0612345678\"", "+33612345678", "FR", MOB, PARIS, 0),
    Y("'0612345678", "+33612345678", "FR", MOB, PARIS, 0),
    Y("06\xc2\xa0"
      "12\xc2\xa0"
      "34\xc2\xa0"
      "56\xc2\xa0"
      "78",
      "+33612345678", "FR", MOB, PARIS, 0),
    Y("06\xe2\x80\xaf"
      "12\xe2\x80\xaf"
      "34 56 78",
      "+33612345678", "FR", MOB, PARIS, 0),
    Y("06\xe2\x80\x93"
      "12\xe2\x80\x93"
      "34 56 78",
      "+33612345678", "FR", MOB, PARIS, 0),
    Y("07 81 23 45 67", "+33781234567", "FR", MOB, PARIS, 0),
    Y("+33 7 81 23 45 67", "+33781234567", "FR", MOB, PARIS, 0),
    /* The spreadsheet ate the leading 0, or the plus. */
    E("612345678", PLT_ERANGE, "too short for FR"),
    E("6.12.34.56.78", PLT_ERANGE, "too short for FR"),
    YR(NULL, NULL, L, "612345678", "+33612345678", "FR", MOB, PARIS, LOST),
    YR(NULL, NULL, L, "6.12.34.56.78", "+33612345678", "FR", MOB, PARIS, LOST),
    YR(NULL, NULL, L, "142685300", "+33142685300", "FR", FIX, PARIS, LOST),
    YR(NULL, NULL, L, "692123456", "+262692123456", "RE", MOB, REUNION, LOST),
    YR(NULL, NULL, L, "0612345678", "+33612345678", "FR", MOB, PARIS, 0),
    ER(NULL, NULL, L, "61234567", PLT_ERANGE, "too short for FR"),
    Y("33612345678", "+33612345678", "FR", MOB, PARIS, NOPLUS),
    Y("33 6 12 34 56 78", "+33612345678", "FR", MOB, PARIS, NOPLUS),
    YR(NULL, NULL, L, "33612345678", "+33612345678", "FR", MOB, PARIS, NOPLUS),
    /* Other French ranges. */
    Y("01 42 68 53 00", "+33142685300", "FR", FIX, PARIS, 0),
    Y("02 99 12 34 56", "+33299123456", "FR", FIX, PARIS, 0),
    Y("03 88 12 34 56", "+33388123456", "FR", FIX, PARIS, 0),
    Y("04 91 55 11 11", "+33491551111", "FR", FIX, PARIS, 0),
    Y("05 56 12 34 56", "+33556123456", "FR", FIX, PARIS, 0),
    Y("09 72 12 34 56", "+33972123456", "FR", VOIP, PARIS, 0),
    Y("0800 123 456", "+33800123456", "FR", FREE, PARIS, 0),
    Y("0805 12 34 56", "+33805123456", "FR", FREE, PARIS, 0),
    Y("0806 12 34 56", "+33806123456", "FR", UNK, PARIS, 0),
    Y("08 92 68 36 22", "+33892683622", "FR", PREM, PARIS, 0),
    Y("0825 12 34 56", "+33825123456", "FR", PREM, PARIS, 0),
    E("06 12 34 56 7", PLT_ERANGE, "too short for FR"),
    E("06 12 34 56 78 9", PLT_ERANGE, "too long for FR"),
    E("+33 1 23", PLT_ERANGE, "too short for FR"),
    E("00 12 34 56 78", PLT_ERANGE, "too short for NANP"),
    /* Overseas departments, from the French national plan. */
    Y("0262 21 34 56", "+262262213456", "RE", FIX, REUNION, 0),
    Y("0263 21 34 56", "+262263213456", "RE", FIX, REUNION, 0),
    Y("0692 12 34 56", "+262692123456", "RE", MOB, REUNION, 0),
    Y("0693 12 34 56", "+262693123456", "RE", MOB, REUNION, 0),
    Y("0269 61 12 34", "+262269611234", "YT", FIX, MAYOTTE, 0),
    Y("0639 69 12 34", "+262639691234", "YT", MOB, MAYOTTE, 0),
    Y("0590 82 12 34", "+590590821234", "GP", FIX, "America/Guadeloupe", 0),
    Y("0690 12 34 56", "+590690123456", "GP", MOB, "America/Guadeloupe", 0),
    Y("0691 23 45 67", "+590691234567", "GP", MOB, "America/Guadeloupe", 0),
    Y("0596 63 12 34", "+596596631234", "MQ", FIX, "America/Martinique", 0),
    Y("0696 12 34 56", "+596696123456", "MQ", MOB, "America/Martinique", 0),
    Y("0697 12 34 56", "+596697123456", "MQ", MOB, "America/Martinique", 0),
    Y("0594 29 12 34", "+594594291234", "GF", FIX, "America/Cayenne", 0),
    Y("0694 12 34 56", "+594694123456", "GF", MOB, "America/Cayenne", 0),
    Y("07 09 21 23 45", "+262709212345", "RE", MOB, REUNION, 0),
    /* ... and in international form. */
    Y("+262 692 12 34 56", "+262692123456", "RE", MOB, REUNION, 0),
    Y("+262 262 21 34 56", "+262262213456", "RE", FIX, REUNION, 0),
    Y("+262 269 61 12 34", "+262269611234", "YT", FIX, MAYOTTE, 0),
    Y("+262 639 12 34 56", "+262639123456", "YT", MOB, MAYOTTE, 0),
    Y("00262 0692 12 34 56", "+262692123456", "RE", MOB, REUNION, TRK),
    Y("+590 690 12 34 56", "+590690123456", "GP", MOB, "America/Guadeloupe", 0),
    Y("+596 696 12 34 56", "+596696123456", "MQ", MOB, "America/Martinique", 0),
    Y("+594 694 12 34 56", "+594694123456", "GF", MOB, "America/Cayenne", 0),
    Y("+33 6 92 12 34 56", "+262692123456", "RE", MOB, REUNION, 0),
    E("+262 12 34", PLT_ERANGE, "too short for RE"),
    E("+262 612 34 56 78", PLT_EINVAL, "no such number range in RE"),
    YD("RE", "0692 12 34 56", "+262692123456", "RE", MOB, REUNION, 0),
    YD("RE", "06 12 34 56 78", "+33612345678", "FR", MOB, PARIS, 0),
    YD("GP", "0590 82 12 34", "+590590821234", "GP", FIX, "America/Guadeloupe",
       0),
    YD("YT", "0639 69 12 34", "+262639691234", "YT", MOB, MAYOTTE, 0),
    /* Territories with their own plans. */
    Y("+508 41 12 34", "+508411234", "PM", UNK, "America/Miquelon", 0),
    YD("PM", "041 12 34", "+508411234", "PM", UNK, "America/Miquelon", 0),
    Y("+689 87 12 34 56", "+68987123456", "PF", MOB, "Pacific/Tahiti", APX),
    Y("+689 40 12 34 56", "+68940123456", "PF", FIX, "Pacific/Tahiti", APX),
    Y("+687 75 12 34", "+687751234", "NC", MOB, "Pacific/Noumea", 0),
    Y("+687 28 12 34", "+687281234", "NC", FIX, "Pacific/Noumea", 0),
    Y("+681 72 12 34", "+681721234", "WF", FIX, "Pacific/Wallis", 0),
    /* Belgium. */
    Y("+32 2 123 45 67", "+3221234567", "BE", FIX, "Europe/Brussels", 0),
    Y("+32 470 12 34 56", "+32470123456", "BE", MOB, "Europe/Brussels", 0),
    Y("+32 (0)2 123 45 67", "+3221234567", "BE", FIX, "Europe/Brussels", TRK),
    Y("+32 9 123 45 67", "+3291234567", "BE", FIX, "Europe/Brussels", 0),
    Y("+32 4 123 45 67", "+3241234567", "BE", FIX, "Europe/Brussels", 0),
    Y("+32 800 12 345", "+3280012345", "BE", FREE, "Europe/Brussels", 0),
    Y("+32 70 12 34 56", "+3270123456", "BE", PREM, "Europe/Brussels", 0),
    YD("BE", "0470 12 34 56", "+32470123456", "BE", MOB, "Europe/Brussels", 0),
    YD("BE", "02/123.45.67", "+3221234567", "BE", FIX, "Europe/Brussels", 0),
    E("+32 47 12 34 56", PLT_ERANGE, "impossible length 8 for BE"),
    E("+32 4 12 34 56 78 90", PLT_ERANGE, "too long for BE"),
    ED("BE", "470 12 34 56", PLT_ERANGE, "too short for BE"),
    /* Switzerland, and the wizard's prefix. */
    Y("+41 79 123 45 67", "+41791234567", "CH", MOB, "Europe/Zurich", 0),
    Y("+41 44 668 18 00", "+41446681800", "CH", FIX, "Europe/Zurich", 0),
    Y("+41 800 123 456", "+41800123456", "CH", FREE, "Europe/Zurich", 0),
    YD("CH", "079 123 45 67", "+41791234567", "CH", MOB, "Europe/Zurich", 0),
    YR(NULL, "0041", 0, "79 123 45 67", "+41791234567", "CH", MOB,
       "Europe/Zurich", PFX),
    YR(NULL, "0041", 0, "079 123 45 67", "+41791234567", "CH", MOB,
       "Europe/Zurich", PFX | TRK),
    YR(NULL, "+41", 0, "79 123 45 67", "+41791234567", "CH", MOB,
       "Europe/Zurich", PFX),
    YR(NULL, "0041", 0, "+33 6 12 34 56 78", "+33612345678", "FR", MOB, PARIS,
       0),
    YR(NULL, "0041", 0, "0041 79 123 45 67", "+41791234567", "CH", MOB,
       "Europe/Zurich", 0),
    YR(NULL, "0", 0, "612345678", "+33612345678", "FR", MOB, PARIS, PFX),
    YR(NULL, "0", 0, "0612345678", "+33612345678", "FR", MOB, PARIS, 0),
    ER(NULL, "0a", 0, "612345678", PLT_EINVAL, "bad prefix_to_add"),
    ER(NULL, "123456789", 0, "612345678", PLT_EINVAL, "bad prefix_to_add"),
    E("+41 79 123 45", PLT_ERANGE, "too short for CH"),
    /* Luxembourg: no trunk prefix, variable lengths. */
    Y("+352 621 123 456", "+352621123456", "LU", MOB, "Europe/Luxembourg", 0),
    Y("+352 26 12 34", "+352261234", "LU", FIX, "Europe/Luxembourg", 0),
    Y("+352 4796 1", "+35247961", "LU", FIX, "Europe/Luxembourg", 0),
    Y("+352 800 12 345", "+35280012345", "LU", FREE, "Europe/Luxembourg", 0),
    YD("LU", "621 123 456", "+352621123456", "LU", MOB, "Europe/Luxembourg", 0),
    E("+352 621 12 345", PLT_ERANGE, "impossible length 8 for LU"),
    /* Spain: Canary Islands an hour behind. */
    Y("+34 612 34 56 78", "+34612345678", "ES", MOB, "Europe/Madrid", APX),
    Y("+34 91 123 45 67", "+34911234567", "ES", FIX, "Europe/Madrid", APX),
    Y("+34 922 12 34 56", "+34922123456", "ES", FIX, "Atlantic/Canary", 0),
    Y("+34 900 123 456", "+34900123456", "ES", FREE, "Europe/Madrid", APX),
    Y("+34 (0)91 123 45 67", "+34911234567", "ES", FIX, "Europe/Madrid",
      APX | TRK),
    YD("ES", "912 345 678", "+34912345678", "ES", FIX, "Europe/Madrid", APX),
    E("+34 12 345 678", PLT_ERANGE, "too short for ES"),
    E("+34 412 345 678", PLT_EINVAL, "no such number range in ES"),
    /* Italy keeps the 0 of fixed numbers. */
    Y("+39 06 1234 5678", "+390612345678", "IT", FIX, "Europe/Rome", 0),
    Y("+39 02 1234 5678", "+390212345678", "IT", FIX, "Europe/Rome", 0),
    Y("+39 (0)6 1234 5678", "+390612345678", "IT", FIX, "Europe/Rome", 0),
    Y("0039 06 1234 5678", "+390612345678", "IT", FIX, "Europe/Rome", 0),
    Y("+39 347 123 4567", "+393471234567", "IT", MOB, "Europe/Rome", 0),
    Y("+39 800 123 456", "+39800123456", "IT", FREE, "Europe/Rome", 0),
    Y("+39 06 698 12345", "+390669812345", "VA", FIX, "Europe/Vatican", 0),
    YD("IT", "06 1234 5678", "+390612345678", "IT", FIX, "Europe/Rome", 0),
    YD("IT", "347 1234567", "+393471234567", "IT", MOB, "Europe/Rome", 0),
    YD("IT", "011 123 4567", "+390111234567", "IT", FIX, "Europe/Rome", 0),
    E("+39 347 12", PLT_ERANGE, "too short for IT"),
    /* Germany: variable lengths. */
    Y("+49 30 1234567", "+49301234567", "DE", FIX, "Europe/Berlin", 0),
    Y("+49 (0)89 123456", "+4989123456", "DE", FIX, "Europe/Berlin", TRK),
    Y("+49 151 12345678", "+4915112345678", "DE", MOB, "Europe/Berlin", 0),
    Y("+49 170 1234567", "+491701234567", "DE", MOB, "Europe/Berlin", 0),
    Y("+49 800 1234567", "+498001234567", "DE", FREE, "Europe/Berlin", 0),
    Y("+49 900 1234567", "+499001234567", "DE", PREM, "Europe/Berlin", 0),
    YD("DE", "030 1234567", "+49301234567", "DE", FIX, "Europe/Berlin", 0),
    YD("DE", "0170 1234567", "+491701234567", "DE", MOB, "Europe/Berlin", 0),
    YD("DE", "0 33 20 12 34", "+4933201234", "DE", FIX, "Europe/Berlin", 0),
    E("+49 170 123", PLT_ERANGE, "impossible length 6 for DE"),
    ER("DE", NULL, L, "1701234567", PLT_ERANGE, "too short for DE"),
    /* United Kingdom and the Crown dependencies. */
    Y("+44 20 7946 0018", "+442079460018", "GB", FIX, "Europe/London", 0),
    Y("+44 (0)20 7946 0018", "+442079460018", "GB", FIX, "Europe/London", TRK),
    Y("+44 7700 900123", "+447700900123", "GB", MOB, "Europe/London", 0),
    Y("+44 800 123 456", "+44800123456", "GB", FREE, "Europe/London", 0),
    Y("+44 1481 712345", "+441481712345", "GG", FIX, "Europe/Guernsey", 0),
    Y("+44 1534 712345", "+441534712345", "JE", FIX, "Europe/Jersey", 0),
    Y("+44 7624 123456", "+447624123456", "IM", MOB, "Europe/Isle_of_Man", 0),
    YD("GB", "020 7946 0018", "+442079460018", "GB", FIX, "Europe/London", 0),
    YD("GB", "07700 900123", "+447700900123", "GB", MOB, "Europe/London", 0),
    YR("GB", NULL, L, "7700 900123", "+447700900123", "GB", MOB,
       "Europe/London", LOST),
    E("+44 20 7946 001", PLT_ERANGE, "impossible length 9 for GB"),
    E("+44 12", PLT_ERANGE, "too short for GB"),
    /* The NANP: US, Canada, Caribbean; zones by area code. */
    Y("+1 212 736 5000", "+12127365000", "US", FOM, "America/New_York", 0),
    YD("US", "(212) 736-5000", "+12127365000", "US", FOM, "America/New_York",
       0),
    YD("US", "1-212-736-5000", "+12127365000", "US", FOM, "America/New_York",
       0),
    YD("US", "212.736.5000", "+12127365000", "US", FOM, "America/New_York", 0),
    YD("us", "212 736 5000", "+12127365000", "US", FOM, "America/New_York", 0),
    YD("CA", "416 555 1234", "+14165551234", "CA", FOM, "America/Toronto", 0),
    YD("CA", "212 736 5000", "+12127365000", "US", FOM, "America/New_York", 0),
    Y("+1 312 555 1234", "+13125551234", "US", FOM, "America/Chicago", 0),
    Y("+1 303 555 1234", "+13035551234", "US", FOM, "America/Denver", 0),
    Y("+1 602 555 1234", "+16025551234", "US", FOM, "America/Phoenix", 0),
    Y("+1 213 555 1234", "+12135551234", "US", FOM, "America/Los_Angeles", 0),
    Y("+1 808 555 1234", "+18085551234", "US", FOM, "Pacific/Honolulu", 0),
    Y("+1 907 555 1234", "+19075551234", "US", FOM, "America/Anchorage", APX),
    Y("+1 850 555 1234", "+18505551234", "US", FOM, "America/Chicago", APX),
    Y("+1 416 555 1234", "+14165551234", "CA", FOM, "America/Toronto", 0),
    Y("+1 514 555 1234", "+15145551234", "CA", FOM, "America/Toronto", 0),
    Y("+1 418 555 1234", "+14185551234", "CA", FOM, "America/Toronto", APX),
    Y("+1 604 555 1234", "+16045551234", "CA", FOM, "America/Vancouver", 0),
    Y("+1 403 555 1234", "+14035551234", "CA", FOM, "America/Edmonton", 0),
    Y("+1 306 555 1234", "+13065551234", "CA", FOM, "America/Regina", 0),
    Y("+1 204 555 1234", "+12045551234", "CA", FOM, "America/Winnipeg", 0),
    Y("+1 506 555 1234", "+15065551234", "CA", FOM, "America/Moncton", 0),
    Y("+1 902 555 1234", "+19025551234", "CA", FOM, "America/Halifax", 0),
    Y("+1 709 555 1234", "+17095551234", "CA", FOM, "America/St_Johns", APX),
    Y("+1 867 555 1234", "+18675551234", "CA", FOM, NULL, APX),
    Y("+1 787 555 1234", "+17875551234", "PR", FOM, "America/Puerto_Rico", 0),
    Y("+1 876 555 1234", "+18765551234", "JM", FOM, "America/Jamaica", 0),
    Y("+1 800 555 1234", "+18005551234", "US", FREE, NULL, 0),
    Y("+1 888 555 1234", "+18885551234", "US", FREE, NULL, 0),
    Y("+1 900 555 1234", "+19005551234", "US", PREM, NULL, 0),
    Y("+1 222 555 1234", "+12225551234", "US", FOM, NULL, 0),
    E("+1 212 555 0123", PLT_EINVAL, "fictional"),
    E("+1 112 555 1234", PLT_EINVAL, "invalid area code 112"),
    E("+1 911 555 1234", PLT_EINVAL, "invalid area code 911"),
    E("+1 292 555 1234", PLT_EINVAL, "invalid area code 292"),
    E("+1 212 155 1234", PLT_EINVAL, "invalid exchange 155"),
    E("+1 212 411 1234", PLT_EINVAL, "invalid exchange 411"),
    E("+1 212 736 500", PLT_ERANGE, "too short for NANP"),
    ED("US", "736 5000", PLT_ERANGE, "too short for US"),
    ED("US", "2-212-736-5000", PLT_ERANGE, "too long for US"),
    /* 011, the international prefix from North America. */
    YD("US", "011 33 6 12 34 56 78", "+33612345678", "FR", MOB, PARIS, I011),
    Y("011 33 6 12 34 56 78", "+33612345678", "FR", MOB, PARIS, I011),
    Y("011 44 20 7946 0018", "+442079460018", "GB", FIX, "Europe/London", I011),
    /* Monaco and Andorra. */
    Y("+377 93 15 26 00", "+37793152600", "MC", FIX, "Europe/Monaco", 0),
    Y("+377 6 12 34 56 78", "+377612345678", "MC", MOB, "Europe/Monaco", 0),
    Y("+377 4 12 34 56 7", "+37741234567", "MC", MOB, "Europe/Monaco", 0),
    YD("MC", "06 12 34 56 78", "+377612345678", "MC", MOB, "Europe/Monaco", 0),
    YD("MC", "93 15 26 00", "+37793152600", "MC", FIX, "Europe/Monaco", 0),
    Y("+376 812 345", "+376812345", "AD", FIX, "Europe/Andorra", 0),
    Y("+376 312 345", "+376312345", "AD", MOB, "Europe/Andorra", 0),
    Y("+376 690 123 456", "+376690123456", "AD", MOB, "Europe/Andorra", 0),
    YD("AD", "812 345", "+376812345", "AD", FIX, "Europe/Andorra", 0),
    E("+376 81 23 45 6", PLT_ERANGE, "impossible length 7 for AD"),
    /* Countries without a plan: E.164 bounds only. */
    Y("+212 6 12 34 56 78", "+212612345678", "MA", UNK, "Africa/Casablanca",
      NOPLAN),
    Y("+212 (0)6 12 34 56 78", "+212612345678", "MA", UNK, "Africa/Casablanca",
      NOPLAN | TRK),
    Y("+216 20 123 456", "+21620123456", "TN", UNK, "Africa/Tunis", NOPLAN),
    Y("+31 6 12345678", "+31612345678", "NL", UNK, "Europe/Amsterdam", NOPLAN),
    Y("+7 495 123 45 67", "+74951234567", "RU", UNK, NULL, NOPLAN),
    Y("+351 912 345 678", "+351912345678", "PT", UNK, "Europe/Lisbon",
      NOPLAN | APX),
    E("+999 123 456", PLT_EINVAL, "unknown country code +999"),
    E("+0 612 345", PLT_EINVAL, "unknown country code +061"),
    E("+800 1234 5678", PLT_ENOTSUP, "non-geographic number +800"),
    E("+212 612", PLT_ERANGE, "too short for MA"),
    E("+212 6 12 34 56 78 90 12", PLT_ERANGE, "too long for MA"),
    ED("MA", "06 12 34 56 78", PLT_ENOTSUP, "no numbering plan for MA"),
    YD("MA", "+33 6 12 34 56 78", "+33612345678", "FR", MOB, PARIS, 0),
    E("00", PLT_EINVAL, "no country code"),
    E("+", PLT_EINVAL, "no digits"),
    /* Extensions are stripped, letters are refused. */
    Y("06 12 34 56 78 poste 12", "+33612345678", "FR", MOB, PARIS, EXT),
    Y("01 42 68 53 00 Poste: 4321", "+33142685300", "FR", FIX, PARIS, EXT),
    Y("06 12 34 56 78 ext. 456", "+33612345678", "FR", MOB, PARIS, EXT),
    Y("+33 1 42 68 53 00;ext=99", "+33142685300", "FR", FIX, PARIS, EXT),
    Y("0142685300x12", "+33142685300", "FR", FIX, PARIS, EXT),
    YD("US", "212-736-5000 extension 7", "+12127365000", "US", FOM,
       "America/New_York", EXT),
    E("06 12 34 56 78 x", PLT_EINVAL, "letters"),
    E("06 12 34 56 78 ext 123456789012", PLT_ERANGE, "extension too long"),
    E("abc", PLT_EINVAL, "letters"),
    E("06 12 34 56 7O", PLT_EINVAL, "letters"),
    E("0800-FLOWERS", PLT_EINVAL, "letters"),
    E("tel: 06 12 34 56 78", PLT_EINVAL, "letters"),
    E("poste 12", PLT_EINVAL, "letters"),
    E("6,12346E+08", PLT_EINVAL, "letters"),
    E("", PLT_EINVAL, "no digits"),
    E("   ", PLT_EINVAL, "no digits"),
    E("06 12 34 56 78*", PLT_EINVAL, "unexpected '*'"),
    E("06#12", PLT_EINVAL, "unexpected '#'"),
    E("06\x01"
      "12345678",
      PLT_EINVAL, "unexpected byte 0x01"),
    E("06\xc3\xa9"
      "12345678",
      PLT_EINVAL, "unexpected byte 0xC3"),
    E("06+12", PLT_EINVAL, "misplaced '+'"),
    E("++33612345678", PLT_EINVAL, "misplaced '+'"),
    E("06 12 34 56 78 / 06 98 76 54 32", PLT_ERANGE, "too long for FR"),
    E("+33 6 12 34 56 78 90 12 34 56 78 90 12 34", PLT_ERANGE,
      "too long: 27 digits"),
    ED("ZZ", "0612345678", PLT_EINVAL, "unknown default country"),
    ED("FRA", "0612345678", PLT_EINVAL, "unknown default country"),
};

static const char *
show(const char *s)
{
    return s ? s : "(null)";
}

static void
test_table(void **state)
{
    (void)state;
    size_t failures = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const tcase *t = &cases[i];
        phone_rules rules = {t->def, t->prefix, t->rflags};
        phone_result r;
        int rc = phone_normalize(t->in, &rules, &r);
        int bad;

        if (t->rc == OK) {
            bad = rc != 0 || strcmp(r.e164, t->e164) != 0 ||
                  strcmp(r.country, t->country) != 0 || r.type != t->type ||
                  (t->tz == NULL) != (r.time_zone == NULL) ||
                  (t->tz && strcmp(t->tz, r.time_zone) != 0) ||
                  r.flags != t->flags || r.error[0] != '\0';
        } else {
            bad = rc != t->rc || !strstr(r.error, t->e164) ||
                  r.e164[0] != '\0' || r.time_zone != NULL;
        }
        if (bad) {
            failures++;
            print_error("case %zu \"%s\" (def %s): rc %d e164 %s country %s "
                        "type %s tz %s flags 0x%x error \"%s\"\n",
                        i, t->in, show(t->def), rc, r.e164, r.country,
                        phone_type_name(r.type), show(r.time_zone), r.flags,
                        r.error);
        }
    }
    assert_int_equal(failures, 0);
    /* The table is the behaviour the import relies on: keep it large. */
    assert_true(sizeof(cases) / sizeof(cases[0]) >= 120);
}

/* A CSV field is not NUL-terminated; the input is never written to. */
static void
test_length_and_const(void **state)
{
    (void)state;
    const char buf[] = "06 12 34 56 78;Dupont;Jean";
    char copy[sizeof(buf)];
    phone_result r;

    memcpy(copy, buf, sizeof(buf));
    assert_int_equal(phone_normalize_n(copy, 14, NULL, &r), 0);
    assert_string_equal(r.e164, "+33612345678");
    assert_memory_equal(copy, buf, sizeof(buf));
    /* One byte more reaches ';' and fails. */
    assert_int_equal(phone_normalize_n(copy, 15, NULL, &r), PLT_EINVAL);
    assert_int_equal(phone_normalize(NULL, NULL, &r), PLT_EINVAL);
    assert_int_equal(phone_normalize("0612345678", NULL, NULL), PLT_EINVAL);
}

static void
test_extension_digits(void **state)
{
    (void)state;
    phone_result r;

    assert_int_equal(phone_normalize("01 42 68 53 00 poste 4321", NULL, &r), 0);
    assert_string_equal(r.extension, "4321");
    assert_int_equal(phone_normalize("01 42 68 53 00", NULL, &r), 0);
    assert_string_equal(r.extension, "");
    /* Fuzz crash-b4296996: an error after extension digits left them
     * unterminated. */
    memset(&r, 'Z', sizeof(r));
    assert_int_equal(phone_normalize("5x#::87x:::&4", NULL, &r), PLT_EINVAL);
    assert_non_null(memchr(r.extension, '\0', sizeof(r.extension)));
    assert_string_equal(r.extension, "87");
}

static void
test_type_names(void **state)
{
    (void)state;
    assert_string_equal(phone_type_name(PHONE_TYPE_MOBILE), "mobile");
    assert_string_equal(phone_type_name(PHONE_TYPE_FIXED), "fixed");
    assert_string_equal(phone_type_name(PHONE_TYPE_VOIP), "voip");
    assert_string_equal(phone_type_name(PHONE_TYPE_PREMIUM), "premium");
    assert_string_equal(phone_type_name(PHONE_TYPE_FREEPHONE), "freephone");
    assert_string_equal(phone_type_name(PHONE_TYPE_FIXED_OR_MOBILE),
                        "fixed_or_mobile");
    assert_string_equal(phone_type_name((phone_type)99), "unknown");
}

/* --- the tables -------------------------------------------------------- */

static int have_zoneinfo;

static void
check_zone(const char *tz, const char *where)
{
    char path[256];
    struct stat st;

    if (!tz || !have_zoneinfo)
        return;
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
    if (stat(path, &st) != 0) {
        print_error("%s: zone %s does not exist\n", where, tz);
        fail();
    }
}

static void
test_zones_exist(void **state)
{
    (void)state;
    struct stat st;

    have_zoneinfo = stat("/usr/share/zoneinfo/Europe/Paris", &st) == 0;
    if (!have_zoneinfo)
        skip();
    for (size_t i = 0; i < phone__ncountries; i++)
        check_zone(phone__countries[i].tz, phone__countries[i].iso);
    for (size_t p = 0; p < phone__nplans; p++) {
        const phone_plan *pl = phone__plans[p];
        check_zone(pl->tz, pl->iso);
        for (size_t i = 0; i < pl->nranges; i++)
            check_zone(pl->ranges[i].tz, pl->ranges[i].prefix);
    }
    for (unsigned ac = 0; ac < 1000; ac++) {
        phone_nanp_area a;
        if (phone__nanp_area(ac, &a))
            check_zone(a.tz, a.iso);
    }
}

static void
test_country_list(void **state)
{
    (void)state;
    for (size_t i = 0; i < phone__ncountries; i++) {
        const phone_country *c = &phone__countries[i];
        int first = i == 0 || phone__countries[i - 1].cc != c->cc;

        if (i > 0 && phone__countries[i - 1].cc > c->cc)
            fail_msg("country list not sorted at %s", c->iso);
        /* One primary country per code, first in its group. */
        if (first != !!(c->flags & PHONE_C_PRIMARY))
            fail_msg("primary flag wrong for %s +%u", c->iso, c->cc);
        if (c->flags & PHONE_C_NONGEO)
            assert_string_equal(c->iso, "");
        else
            assert_true(c->iso[0] >= 'A' && c->iso[0] <= 'Z' &&
                        c->iso[1] >= 'A' && c->iso[1] <= 'Z');
        for (size_t j = 0; j < i; j++)
            if (c->iso[0] && strcmp(c->iso, phone__countries[j].iso) == 0)
                fail_msg("duplicate country %s", c->iso);
        /* A plan reached by a code must be that code's. */
        if (c->plan)
            assert_int_equal(atoi(c->plan->cc), c->cc);
    }
}

static void
test_ranges_well_formed(void **state)
{
    (void)state;
    for (size_t p = 0; p < phone__nplans; p++) {
        const phone_plan *pl = phone__plans[p];
        assert_non_null(pl->tz);
        for (size_t i = 0; i < pl->nranges; i++) {
            const phone_range *r = &pl->ranges[i];
            assert_int_equal(r->plen, strlen(r->prefix));
            assert_int_equal(strspn(r->prefix, "0123456789"), r->plen);
            assert_true(r->min <= r->max && r->max <= 15);
            assert_true(r->plen <= r->max);
            for (size_t j = 0; j < i; j++)
                if (strcmp(pl->ranges[j].prefix, r->prefix) == 0 &&
                    !(pl->ranges[j].max < r->min || r->max < pl->ranges[j].min))
                    fail_msg("%s: overlapping ranges for %s", pl->iso,
                             r->prefix);
        }
    }
}

/* Every primary country resolves back from its own code. */
static void
test_every_code_resolves(void **state)
{
    (void)state;
    for (size_t i = 0; i < phone__ncountries; i++) {
        const phone_country *c = &phone__countries[i];
        char in[32];
        phone_result r;

        if (!(c->flags & PHONE_C_PRIMARY) || c->plan)
            continue;
        snprintf(in, sizeof(in), "+%u 23456789", c->cc);
        if (c->flags & PHONE_C_NONGEO) {
            assert_int_equal(phone_normalize(in, NULL, &r), PLT_ENOTSUP);
            continue;
        }
        assert_int_equal(phone_normalize(in, NULL, &r), 0);
        assert_string_equal(r.country, c->iso);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_length_and_const),
        cmocka_unit_test(test_extension_digits),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_zones_exist),
        cmocka_unit_test(test_country_list),
        cmocka_unit_test(test_ranges_well_formed),
        cmocka_unit_test(test_every_code_resolves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
