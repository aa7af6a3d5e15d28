/* SPDX-License-Identifier: MIT */
/*
 * Numbering plans and the country code list: the facts the parser checks
 * a number against. A plan is a list of number ranges (prefix of the
 * national significant number, allowed lengths, line type, and where the
 * range moves the number to another country code or zone); the country
 * list maps every ITU country code to its ISO code, its zone when it has
 * only one, and its plan when Plateau has one.
 *
 * The ranges are deliberately coarse - they follow the regulators'
 * allocations by leading digits (ARCEP for France, BIPT, OFCOM CH, ILR,
 * CNMC, AGCOM, BNetzA, Ofcom) and leave finer blocks alone: a lead file
 * needs "is this a plausible French mobile, and where does it ring", not
 * the operator of each block. Line types were cross-checked against
 * libphonenumber's metadata.
 *
 * France and its overseas departments share one national plan: dialled
 * from anywhere in it, "0692..." is a Réunion mobile, so the French plan
 * carries the overseas ranges with their own country code and zone, and a
 * default country of RE, GP, MQ... reads national numbers with it.
 */
#include "phone_int.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

enum {
    UNK = PHONE_TYPE_UNKNOWN,
    FIX = PHONE_TYPE_FIXED,
    MOB = PHONE_TYPE_MOBILE,
    VOIP = PHONE_TYPE_VOIP,
    PREM = PHONE_TYPE_PREMIUM,
    FREE = PHONE_TYPE_FREEPHONE,
};

/* Ranges of one French overseas department, for both plans that hold it. */
#define RE(p, t) PHONE_RANGE_AT(p, 9, 9, t, "262", "RE", "Indian/Reunion")
#define YT(p, t) PHONE_RANGE_AT(p, 9, 9, t, "262", "YT", "Indian/Mayotte")
#define GP(p, t) PHONE_RANGE_AT(p, 9, 9, t, "590", "GP", "America/Guadeloupe")
#define MQ(p, t) PHONE_RANGE_AT(p, 9, 9, t, "596", "MQ", "America/Martinique")
#define GF(p, t) PHONE_RANGE_AT(p, 9, 9, t, "594", "GF", "America/Cayenne")

/*
 * France: 9-digit NSN after the trunk 0. 01-05 geographic, 06/07 mobile,
 * 080x freephone (0806-0809 are ordinary-rate service numbers), 081-089
 * special rates, 09 VoIP.
 */
static const phone_range fr_ranges[] = {
    PHONE_RANGE("1", 9, 9, FIX),
    PHONE_RANGE("2", 9, 9, FIX),
    PHONE_RANGE("3", 9, 9, FIX),
    PHONE_RANGE("4", 9, 9, FIX),
    PHONE_RANGE("5", 9, 9, FIX),
    PHONE_RANGE("6", 9, 9, MOB),
    PHONE_RANGE("7", 9, 9, MOB),
    PHONE_RANGE("8", 9, 9, PREM),
    PHONE_RANGE("800", 9, 9, FREE),
    PHONE_RANGE("801", 9, 9, FREE),
    PHONE_RANGE("802", 9, 9, FREE),
    PHONE_RANGE("803", 9, 9, FREE),
    PHONE_RANGE("804", 9, 9, FREE),
    PHONE_RANGE("805", 9, 9, FREE),
    PHONE_RANGE("806", 9, 9, UNK),
    PHONE_RANGE("807", 9, 9, UNK),
    PHONE_RANGE("808", 9, 9, UNK),
    PHONE_RANGE("809", 9, 9, UNK),
    PHONE_RANGE("9", 9, 9, VOIP),
    /* Overseas departments inside the national plan. */
    RE("262", FIX),
    RE("263", FIX),
    RE("692", MOB),
    RE("693", MOB),
    RE("7092", MOB),
    YT("269", FIX),
    YT("639", MOB),
    YT("70935", MOB),
    YT("70936", MOB),
    YT("70937", MOB),
    GP("590", FIX),
    GP("5987", FIX),
    GP("690", MOB),
    GP("691", MOB),
    GP("7090", MOB),
    MQ("596", FIX),
    MQ("5989", FIX),
    MQ("696", MOB),
    MQ("697", MOB),
    MQ("7091", MOB),
    GF("594", FIX),
    GF("5988", FIX),
    GF("694", MOB),
    GF("70930", MOB),
    GF("70931", MOB),
    GF("70932", MOB),
    GF("70933", MOB),
};

/* +262 Réunion and Mayotte: the overseas ranges of the French plan. */
static const phone_range re_ranges[] = {
    RE("262", FIX),   RE("263", FIX),   RE("692", MOB), RE("693", MOB),
    RE("7092", MOB),  YT("269", FIX),   YT("639", MOB), YT("70935", MOB),
    YT("70936", MOB), YT("70937", MOB), RE("80", FREE), RE("8", PREM),
    RE("9", VOIP),
};

static const phone_range gp_ranges[] = {
    GP("590", FIX),  GP("5987", FIX), GP("690", MOB), GP("691", MOB),
    GP("7090", MOB), GP("80", FREE),  GP("8", PREM),  GP("9", VOIP),
};

static const phone_range mq_ranges[] = {
    MQ("596", FIX),  MQ("5989", FIX), MQ("696", MOB), MQ("697", MOB),
    MQ("7091", MOB), MQ("80", FREE),  MQ("8", PREM),  MQ("9", VOIP),
};

static const phone_range gf_ranges[] = {
    GF("594", FIX),   GF("5988", FIX),  GF("694", MOB),   GF("70930", MOB),
    GF("70931", MOB), GF("70932", MOB), GF("70933", MOB), GF("80", FREE),
    GF("8", PREM),    GF("9", VOIP),
};

/* +508 Saint-Pierre-et-Miquelon: 6 digits, fixed and mobile interleaved. */
static const phone_range pm_ranges[] = {
    PHONE_RANGE("2", 6, 6, UNK),   PHONE_RANGE("3", 6, 6, UNK),
    PHONE_RANGE("4", 6, 6, UNK),   PHONE_RANGE("5", 6, 6, UNK),
    PHONE_RANGE("6", 6, 6, UNK),   PHONE_RANGE("7", 6, 6, UNK),
    PHONE_RANGE("8", 6, 6, UNK),   PHONE_RANGE("9", 6, 6, UNK),
    PHONE_RANGE("708", 9, 9, MOB), PHONE_RANGE("80", 9, 9, FREE),
};

/* +689 French Polynesia: 8 digits since 2016. */
static const phone_range pf_ranges[] = {
    PHONE_RANGE("40", 8, 8, FIX),   PHONE_RANGE("49", 8, 8, FIX),
    PHONE_RANGE("499", 8, 8, VOIP), PHONE_RANGE("87", 8, 8, MOB),
    PHONE_RANGE("88", 8, 8, MOB),   PHONE_RANGE("89", 8, 8, MOB),
    PHONE_RANGE("80", 9, 9, FREE),  PHONE_RANGE("44", 6, 6, UNK),
};

/* +687 New Caledonia: 6 digits. */
static const phone_range nc_ranges[] = {
    PHONE_RANGE("2", 6, 6, FIX),   PHONE_RANGE("3", 6, 6, FIX),
    PHONE_RANGE("36", 6, 6, PREM), PHONE_RANGE("4", 6, 6, FIX),
    PHONE_RANGE("88", 6, 6, FIX),  PHONE_RANGE("5", 6, 6, MOB),
    PHONE_RANGE("7", 6, 6, MOB),   PHONE_RANGE("8", 6, 6, MOB),
    PHONE_RANGE("9", 6, 6, MOB),   PHONE_RANGE("050", 6, 6, FREE),
};

/* +681 Wallis and Futuna: 6 digits. */
static const phone_range wf_ranges[] = {
    PHONE_RANGE("72", 6, 6, FIX),  PHONE_RANGE("82", 6, 6, MOB),
    PHONE_RANGE("83", 6, 6, MOB),  PHONE_RANGE("9", 6, 6, VOIP),
    PHONE_RANGE("80", 9, 9, FREE),
};

/*
 * Belgium: fixed numbers have 8 digits after the 0 (area codes of one or
 * two digits), mobiles 9 and start with 45-49; 0800 free, 070 and 090x
 * premium, 078 national rate.
 */
static const phone_range be_ranges[] = {
    PHONE_RANGE("1", 8, 8, FIX),   PHONE_RANGE("2", 8, 8, FIX),
    PHONE_RANGE("3", 8, 8, FIX),   PHONE_RANGE("4", 8, 8, FIX),
    PHONE_RANGE("45", 9, 9, MOB),  PHONE_RANGE("46", 9, 9, MOB),
    PHONE_RANGE("47", 9, 9, MOB),  PHONE_RANGE("48", 9, 9, MOB),
    PHONE_RANGE("49", 9, 9, MOB),  PHONE_RANGE("5", 8, 8, FIX),
    PHONE_RANGE("6", 8, 8, FIX),   PHONE_RANGE("7", 8, 8, FIX),
    PHONE_RANGE("70", 8, 8, PREM), PHONE_RANGE("78", 8, 8, UNK),
    PHONE_RANGE("8", 8, 8, FIX),   PHONE_RANGE("800", 8, 8, FREE),
    PHONE_RANGE("9", 8, 8, FIX),   PHONE_RANGE("90", 8, 8, PREM),
};

/*
 * Switzerland: 9 digits after the 0. Mobiles 075-079 (and the newer 072,
 * 073, 068, 069), 0800 free, 084x shared cost, 090x premium, 074 pagers,
 * 058/051 corporate networks, 0878 personal numbers.
 */
static const phone_range ch_ranges[] = {
    PHONE_RANGE("2", 9, 9, FIX),    PHONE_RANGE("3", 9, 9, FIX),
    PHONE_RANGE("4", 9, 9, FIX),    PHONE_RANGE("5", 9, 9, FIX),
    PHONE_RANGE("51", 9, 9, UNK),   PHONE_RANGE("58", 9, 9, UNK),
    PHONE_RANGE("6", 9, 9, FIX),    PHONE_RANGE("68", 9, 9, MOB),
    PHONE_RANGE("69", 9, 9, MOB),   PHONE_RANGE("7", 9, 9, FIX),
    PHONE_RANGE("72", 9, 9, MOB),   PHONE_RANGE("73", 9, 9, MOB),
    PHONE_RANGE("74", 9, 9, UNK),   PHONE_RANGE("75", 9, 9, MOB),
    PHONE_RANGE("76", 9, 9, MOB),   PHONE_RANGE("77", 9, 9, MOB),
    PHONE_RANGE("78", 9, 9, MOB),   PHONE_RANGE("79", 9, 9, MOB),
    PHONE_RANGE("800", 9, 9, FREE), PHONE_RANGE("84", 9, 9, PREM),
    PHONE_RANGE("878", 9, 9, UNK),  PHONE_RANGE("8", 9, 9, FIX),
    PHONE_RANGE("90", 9, 9, PREM),  PHONE_RANGE("9", 9, 9, FIX),
};

/*
 * Luxembourg: no trunk prefix and no fixed length for fixed lines (an
 * extension can be dialled directly: 4 to 11 digits); mobiles are 6x1
 * plus 6 digits; 800 free, 801 shared, 90x premium, 20 VoIP.
 */
static const phone_range lu_ranges[] = {
    PHONE_RANGE("2", 4, 11, FIX),   PHONE_RANGE("20", 6, 10, VOIP),
    PHONE_RANGE("3", 4, 11, FIX),   PHONE_RANGE("4", 4, 11, FIX),
    PHONE_RANGE("5", 4, 11, FIX),   PHONE_RANGE("6", 9, 9, MOB),
    PHONE_RANGE("7", 4, 11, FIX),   PHONE_RANGE("8", 4, 11, FIX),
    PHONE_RANGE("800", 8, 8, FREE), PHONE_RANGE("801", 8, 8, PREM),
    PHONE_RANGE("9", 4, 11, FIX),   PHONE_RANGE("90", 8, 8, PREM),
};

/*
 * Spain: 9 digits, no trunk prefix. 6 and 7 mobile (70 personal), 8 and 9
 * geographic, 800/900 free, 80x/90x special rates. The Canaries (822,
 * 828, 922, 928) are an hour behind the mainland.
 */
#define CANARY(p) PHONE_RANGE_AT(p, 9, 9, FIX, NULL, NULL, "Atlantic/Canary")
static const phone_range es_ranges[] = {
    PHONE_RANGE("51", 9, 9, UNK),
    PHONE_RANGE("6", 9, 9, MOB),
    PHONE_RANGE("7", 9, 9, MOB),
    PHONE_RANGE("70", 9, 9, UNK),
    PHONE_RANGE("8", 9, 9, FIX),
    PHONE_RANGE("800", 9, 9, FREE),
    PHONE_RANGE("803", 9, 9, PREM),
    PHONE_RANGE("806", 9, 9, PREM),
    PHONE_RANGE("807", 9, 9, PREM),
    PHONE_RANGE("9", 9, 9, FIX),
    PHONE_RANGE("900", 9, 9, FREE),
    PHONE_RANGE("901", 9, 9, PREM),
    PHONE_RANGE("902", 9, 9, PREM),
    PHONE_RANGE("905", 9, 9, PREM),
    CANARY("822"),
    CANARY("828"),
    CANARY("922"),
    CANARY("928"),
};

/*
 * Italy: no trunk prefix - the 0 of a fixed number is part of it and
 * stays in E.164 (+39 06...). Fixed 6 to 11 digits, mobiles 3xx with 9 or
 * 10 digits, 80x free, 89x premium, 84x shared, 55 VoIP. 06698 is the
 * Vatican, which uses the Italian plan.
 */
static const phone_range it_ranges[] = {
    PHONE_RANGE("0", 6, 11, FIX),
    PHONE_RANGE_AT("06698", 6, 11, FIX, NULL, "VA", "Europe/Vatican"),
    PHONE_RANGE("1", 9, 10, UNK),
    PHONE_RANGE("3", 9, 10, MOB),
    PHONE_RANGE("43", 10, 10, MOB),
    PHONE_RANGE("55", 10, 10, VOIP),
    PHONE_RANGE("70", 10, 10, UNK),
    PHONE_RANGE("80", 6, 9, FREE),
    PHONE_RANGE("84", 6, 9, PREM),
    PHONE_RANGE("89", 6, 10, PREM),
};

/*
 * Germany: variable lengths. Geographic numbers have a 2- to 5-digit area
 * code and 5 to 13 digits in all; mobiles 015x/016x/017x have 10 or 11;
 * 0800 free; 0900/0137 premium, 0180 shared cost; 032 national
 * (VoIP) numbers; 0164/0168/0169 pagers; 0700 personal numbers.
 */
static const phone_range de_ranges[] = {
    PHONE_RANGE("15", 10, 11, MOB),   PHONE_RANGE("16", 10, 11, MOB),
    PHONE_RANGE("164", 6, 14, UNK),   PHONE_RANGE("168", 6, 14, UNK),
    PHONE_RANGE("169", 6, 14, UNK),   PHONE_RANGE("17", 10, 11, MOB),
    PHONE_RANGE("137", 10, 11, PREM), PHONE_RANGE("180", 7, 14, PREM),
    PHONE_RANGE("2", 5, 13, FIX),     PHONE_RANGE("3", 5, 13, FIX),
    PHONE_RANGE("32", 11, 13, VOIP),  PHONE_RANGE("4", 5, 13, FIX),
    PHONE_RANGE("5", 5, 13, FIX),     PHONE_RANGE("6", 5, 13, FIX),
    PHONE_RANGE("7", 5, 13, FIX),     PHONE_RANGE("700", 11, 11, UNK),
    PHONE_RANGE("8", 5, 13, FIX),     PHONE_RANGE("800", 10, 15, FREE),
    PHONE_RANGE("9", 5, 13, FIX),     PHONE_RANGE("900", 10, 11, PREM),
};

/*
 * United Kingdom: 10 digits after the 0 (a few old 01 areas and 0800 have
 * 9). 07 mobile (070 personal, 076 pagers), 03 and 055 non-geographic at
 * geographic rates, 056 VoIP, 080 free, 084/087/09 premium. The Crown
 * dependencies use the plan with their own country and zone.
 */
static const phone_range gb_ranges[] = {
    PHONE_RANGE("1", 9, 10, FIX),
    PHONE_RANGE_AT("1481", 10, 10, FIX, NULL, "GG", "Europe/Guernsey"),
    PHONE_RANGE_AT("1534", 10, 10, FIX, NULL, "JE", "Europe/Jersey"),
    PHONE_RANGE_AT("1624", 10, 10, FIX, NULL, "IM", "Europe/Isle_of_Man"),
    PHONE_RANGE("2", 10, 10, FIX),
    PHONE_RANGE("3", 10, 10, UNK),
    PHONE_RANGE("55", 10, 10, UNK),
    PHONE_RANGE("56", 10, 10, VOIP),
    PHONE_RANGE("7", 10, 10, MOB),
    PHONE_RANGE("70", 10, 10, UNK),
    PHONE_RANGE("76", 10, 10, UNK),
    PHONE_RANGE_AT("7624", 10, 10, MOB, NULL, "IM", "Europe/Isle_of_Man"),
    PHONE_RANGE("800", 9, 10, FREE),
    PHONE_RANGE("808", 10, 10, FREE),
    PHONE_RANGE("84", 10, 10, PREM),
    PHONE_RANGE("87", 10, 10, PREM),
    PHONE_RANGE("9", 10, 10, PREM),
};

/*
 * Monaco: 8-digit fixed (9x, 870) and mobiles (3x, 4x), dialled without a
 * trunk prefix; 06 mobiles have 9 digits after their 0.
 */
static const phone_range mc_ranges[] = {
    PHONE_RANGE("3", 8, 8, MOB),    PHONE_RANGE("4", 8, 8, MOB),
    PHONE_RANGE("6", 9, 9, MOB),    PHONE_RANGE("7", 9, 9, MOB),
    PHONE_RANGE("800", 8, 8, FREE), PHONE_RANGE("870", 8, 8, FIX),
    PHONE_RANGE("9", 8, 8, FIX),    PHONE_RANGE("90", 8, 8, FREE),
};

/* Andorra: 6 digits, no trunk prefix; 690 mobiles have 9. */
static const phone_range ad_ranges[] = {
    PHONE_RANGE("1", 6, 6, PREM), PHONE_RANGE("180", 8, 8, FREE),
    PHONE_RANGE("3", 6, 6, MOB),  PHONE_RANGE("5", 6, 6, MOB),
    PHONE_RANGE("6", 6, 6, MOB),  PHONE_RANGE("690", 9, 9, MOB),
    PHONE_RANGE("7", 6, 6, FIX),  PHONE_RANGE("8", 6, 6, FIX),
    PHONE_RANGE("9", 6, 6, PREM),
};

/* Columns: trunk prefix, trunk optional, lost zero restorable, NSN may
 * start with 0. */
#define PLAN(name, iso_, cc_, tz_, trunk_, opt, lost0, zero)                   \
    static const phone_plan name = {                                           \
        .iso = iso_,                                                           \
        .cc = cc_,                                                             \
        .tz = tz_,                                                             \
        .trunk = trunk_,                                                       \
        .trunk_optional = opt,                                                 \
        .lost_zero_ok = lost0,                                                 \
        .nsn_zero = zero,                                                      \
        .ranges = name##_ranges,                                               \
        .nranges = N(name##_ranges),                                           \
    }

PLAN(fr, "FR", "33", "Europe/Paris", '0', 0, 1, 0);
PLAN(re, "RE", "262", "Indian/Reunion", '0', 0, 1, 0);
PLAN(gp, "GP", "590", "America/Guadeloupe", '0', 0, 1, 0);
PLAN(mq, "MQ", "596", "America/Martinique", '0', 0, 1, 0);
PLAN(gf, "GF", "594", "America/Cayenne", '0', 0, 1, 0);
PLAN(pm, "PM", "508", "America/Miquelon", '0', 0, 0, 0);
PLAN(pf, "PF", "689", "Pacific/Tahiti", 0, 0, 0, 0);
PLAN(nc, "NC", "687", "Pacific/Noumea", 0, 0, 0, 0);
PLAN(wf, "WF", "681", "Pacific/Wallis", 0, 0, 0, 0);
PLAN(be, "BE", "32", "Europe/Brussels", '0', 0, 1, 0);
PLAN(ch, "CH", "41", "Europe/Zurich", '0', 0, 1, 0);
PLAN(lu, "LU", "352", "Europe/Luxembourg", 0, 0, 0, 0);
PLAN(es, "ES", "34", "Europe/Madrid", 0, 0, 0, 0);
PLAN(it, "IT", "39", "Europe/Rome", 0, 0, 0, 1);
PLAN(de, "DE", "49", "Europe/Berlin", '0', 0, 0, 0);
PLAN(gb, "GB", "44", "Europe/London", '0', 0, 1, 0);
PLAN(mc, "MC", "377", "Europe/Monaco", '0', 1, 0, 0);
PLAN(ad, "AD", "376", "Europe/Andorra", 0, 0, 0, 0);

/* The NANP's checks are rules, not ranges: see phone.c. */
const phone_plan phone__plan_nanp = {
    .iso = "US", .cc = "1", .trunk = '1', .nanp = 1};

const phone_plan *const phone__plans[] = {
    &fr, &re, &gp, &mq, &gf, &pm, &pf, &nc, &wf,
    &be, &ch, &lu, &es, &it, &de, &gb, &mc, &ad,
};
const size_t phone__nplans = N(phone__plans);

/*
 * The ITU country codes, sorted by code; where several countries share
 * one, the PRIMARY one comes first and is what an international number
 * resolves to (the plan may then move it, e.g. +262 269 to Mayotte). A
 * NULL zone means several zones; APPROX, one main zone with small others.
 */
#define P PHONE_C_PRIMARY
#define PA (PHONE_C_PRIMARY | PHONE_C_APPROX)
#define NG (PHONE_C_PRIMARY | PHONE_C_NONGEO)
#define NANP_ (&phone__plan_nanp)
#define C(iso, cc, fl, tz)                                                     \
    {                                                                          \
        iso, cc, fl, tz, NULL, NULL                                            \
    }
#define CP(iso, cc, fl, tz, plan, nat)                                         \
    {                                                                          \
        iso, cc, fl, tz, plan, nat                                             \
    }

const phone_country phone__countries[] = {
    CP("US", 1, P, NULL, NANP_, NANP_),
    CP("AG", 1, 0, "America/Antigua", NANP_, NANP_),
    CP("AI", 1, 0, "America/Anguilla", NANP_, NANP_),
    CP("AS", 1, 0, "Pacific/Pago_Pago", NANP_, NANP_),
    CP("BB", 1, 0, "America/Barbados", NANP_, NANP_),
    CP("BM", 1, 0, "Atlantic/Bermuda", NANP_, NANP_),
    CP("BS", 1, 0, "America/Nassau", NANP_, NANP_),
    CP("CA", 1, 0, NULL, NANP_, NANP_),
    CP("DM", 1, 0, "America/Dominica", NANP_, NANP_),
    CP("DO", 1, 0, "America/Santo_Domingo", NANP_, NANP_),
    CP("GD", 1, 0, "America/Grenada", NANP_, NANP_),
    CP("GU", 1, 0, "Pacific/Guam", NANP_, NANP_),
    CP("JM", 1, 0, "America/Jamaica", NANP_, NANP_),
    CP("KN", 1, 0, "America/St_Kitts", NANP_, NANP_),
    CP("KY", 1, 0, "America/Cayman", NANP_, NANP_),
    CP("LC", 1, 0, "America/St_Lucia", NANP_, NANP_),
    CP("MP", 1, 0, "Pacific/Saipan", NANP_, NANP_),
    CP("MS", 1, 0, "America/Montserrat", NANP_, NANP_),
    CP("PR", 1, 0, "America/Puerto_Rico", NANP_, NANP_),
    CP("SX", 1, 0, "America/Lower_Princes", NANP_, NANP_),
    CP("TC", 1, 0, "America/Grand_Turk", NANP_, NANP_),
    CP("TT", 1, 0, "America/Port_of_Spain", NANP_, NANP_),
    CP("VC", 1, 0, "America/St_Vincent", NANP_, NANP_),
    CP("VG", 1, 0, "America/Tortola", NANP_, NANP_),
    CP("VI", 1, 0, "America/St_Thomas", NANP_, NANP_),
    C("RU", 7, P, NULL),
    C("KZ", 7, 0, "Asia/Almaty"),
    C("EG", 20, P, "Africa/Cairo"),
    C("ZA", 27, P, "Africa/Johannesburg"),
    C("GR", 30, P, "Europe/Athens"),
    C("NL", 31, P, "Europe/Amsterdam"),
    CP("BE", 32, P, "Europe/Brussels", &be, &be),
    CP("FR", 33, P, "Europe/Paris", &fr, &fr),
    CP("ES", 34, PA, "Europe/Madrid", &es, &es),
    C("HU", 36, P, "Europe/Budapest"),
    CP("IT", 39, P, "Europe/Rome", &it, &it),
    CP("VA", 39, 0, "Europe/Vatican", &it, &it),
    C("RO", 40, P, "Europe/Bucharest"),
    CP("CH", 41, P, "Europe/Zurich", &ch, &ch),
    C("AT", 43, P, "Europe/Vienna"),
    CP("GB", 44, P, "Europe/London", &gb, &gb),
    CP("GG", 44, 0, "Europe/Guernsey", &gb, &gb),
    CP("IM", 44, 0, "Europe/Isle_of_Man", &gb, &gb),
    CP("JE", 44, 0, "Europe/Jersey", &gb, &gb),
    C("DK", 45, P, "Europe/Copenhagen"),
    C("SE", 46, P, "Europe/Stockholm"),
    C("NO", 47, P, "Europe/Oslo"),
    C("SJ", 47, 0, "Arctic/Longyearbyen"),
    C("PL", 48, P, "Europe/Warsaw"),
    CP("DE", 49, P, "Europe/Berlin", &de, &de),
    C("PE", 51, P, "America/Lima"),
    C("MX", 52, P, NULL),
    C("CU", 53, P, "America/Havana"),
    C("AR", 54, P, "America/Argentina/Buenos_Aires"),
    C("BR", 55, P, NULL),
    C("CL", 56, PA, "America/Santiago"),
    C("CO", 57, P, "America/Bogota"),
    C("VE", 58, P, "America/Caracas"),
    C("MY", 60, P, "Asia/Kuala_Lumpur"),
    C("AU", 61, P, NULL),
    C("CC", 61, 0, "Indian/Cocos"),
    C("CX", 61, 0, "Indian/Christmas"),
    C("ID", 62, P, NULL),
    C("PH", 63, P, "Asia/Manila"),
    C("NZ", 64, PA, "Pacific/Auckland"),
    C("SG", 65, P, "Asia/Singapore"),
    C("TH", 66, P, "Asia/Bangkok"),
    C("JP", 81, P, "Asia/Tokyo"),
    C("KR", 82, P, "Asia/Seoul"),
    C("VN", 84, P, "Asia/Ho_Chi_Minh"),
    C("CN", 86, P, "Asia/Shanghai"),
    C("TR", 90, P, "Europe/Istanbul"),
    C("IN", 91, P, "Asia/Kolkata"),
    C("PK", 92, P, "Asia/Karachi"),
    C("AF", 93, P, "Asia/Kabul"),
    C("LK", 94, P, "Asia/Colombo"),
    C("MM", 95, P, "Asia/Yangon"),
    C("IR", 98, P, "Asia/Tehran"),
    C("SS", 211, P, "Africa/Juba"),
    C("MA", 212, P, "Africa/Casablanca"),
    C("EH", 212, 0, "Africa/El_Aaiun"),
    C("DZ", 213, P, "Africa/Algiers"),
    C("TN", 216, P, "Africa/Tunis"),
    C("LY", 218, P, "Africa/Tripoli"),
    C("GM", 220, P, "Africa/Banjul"),
    C("SN", 221, P, "Africa/Dakar"),
    C("MR", 222, P, "Africa/Nouakchott"),
    C("ML", 223, P, "Africa/Bamako"),
    C("GN", 224, P, "Africa/Conakry"),
    C("CI", 225, P, "Africa/Abidjan"),
    C("BF", 226, P, "Africa/Ouagadougou"),
    C("NE", 227, P, "Africa/Niamey"),
    C("TG", 228, P, "Africa/Lome"),
    C("BJ", 229, P, "Africa/Porto-Novo"),
    C("MU", 230, P, "Indian/Mauritius"),
    C("LR", 231, P, "Africa/Monrovia"),
    C("SL", 232, P, "Africa/Freetown"),
    C("GH", 233, P, "Africa/Accra"),
    C("NG", 234, P, "Africa/Lagos"),
    C("TD", 235, P, "Africa/Ndjamena"),
    C("CF", 236, P, "Africa/Bangui"),
    C("CM", 237, P, "Africa/Douala"),
    C("CV", 238, P, "Atlantic/Cape_Verde"),
    C("ST", 239, P, "Africa/Sao_Tome"),
    C("GQ", 240, P, "Africa/Malabo"),
    C("GA", 241, P, "Africa/Libreville"),
    C("CG", 242, P, "Africa/Brazzaville"),
    C("CD", 243, P, NULL),
    C("AO", 244, P, "Africa/Luanda"),
    C("GW", 245, P, "Africa/Bissau"),
    C("IO", 246, P, "Indian/Chagos"),
    C("AC", 247, P, "Atlantic/St_Helena"),
    C("SC", 248, P, "Indian/Mahe"),
    C("SD", 249, P, "Africa/Khartoum"),
    C("RW", 250, P, "Africa/Kigali"),
    C("ET", 251, P, "Africa/Addis_Ababa"),
    C("SO", 252, P, "Africa/Mogadishu"),
    C("DJ", 253, P, "Africa/Djibouti"),
    C("KE", 254, P, "Africa/Nairobi"),
    C("TZ", 255, P, "Africa/Dar_es_Salaam"),
    C("UG", 256, P, "Africa/Kampala"),
    C("BI", 257, P, "Africa/Bujumbura"),
    C("MZ", 258, P, "Africa/Maputo"),
    C("ZM", 260, P, "Africa/Lusaka"),
    C("MG", 261, P, "Indian/Antananarivo"),
    CP("RE", 262, P, "Indian/Reunion", &re, &fr),
    CP("YT", 262, 0, "Indian/Mayotte", &re, &fr),
    C("ZW", 263, P, "Africa/Harare"),
    C("NA", 264, P, "Africa/Windhoek"),
    C("MW", 265, P, "Africa/Blantyre"),
    C("LS", 266, P, "Africa/Maseru"),
    C("BW", 267, P, "Africa/Gaborone"),
    C("SZ", 268, P, "Africa/Mbabane"),
    C("KM", 269, P, "Indian/Comoro"),
    C("SH", 290, P, "Atlantic/St_Helena"),
    C("TA", 290, 0, "Atlantic/St_Helena"),
    C("ER", 291, P, "Africa/Asmara"),
    C("AW", 297, P, "America/Aruba"),
    C("FO", 298, P, "Atlantic/Faroe"),
    C("GL", 299, PA, "America/Nuuk"),
    C("GI", 350, P, "Europe/Gibraltar"),
    C("PT", 351, PA, "Europe/Lisbon"),
    CP("LU", 352, P, "Europe/Luxembourg", &lu, &lu),
    C("IE", 353, P, "Europe/Dublin"),
    C("IS", 354, P, "Atlantic/Reykjavik"),
    C("AL", 355, P, "Europe/Tirane"),
    C("MT", 356, P, "Europe/Malta"),
    C("CY", 357, P, "Asia/Nicosia"),
    C("FI", 358, P, "Europe/Helsinki"),
    C("AX", 358, 0, "Europe/Mariehamn"),
    C("BG", 359, P, "Europe/Sofia"),
    C("LT", 370, P, "Europe/Vilnius"),
    C("LV", 371, P, "Europe/Riga"),
    C("EE", 372, P, "Europe/Tallinn"),
    C("MD", 373, P, "Europe/Chisinau"),
    C("AM", 374, P, "Asia/Yerevan"),
    C("BY", 375, P, "Europe/Minsk"),
    CP("AD", 376, P, "Europe/Andorra", &ad, &ad),
    CP("MC", 377, P, "Europe/Monaco", &mc, &mc),
    C("SM", 378, P, "Europe/San_Marino"),
    C("UA", 380, P, "Europe/Kyiv"),
    C("RS", 381, P, "Europe/Belgrade"),
    C("ME", 382, P, "Europe/Podgorica"),
    C("XK", 383, P, "Europe/Belgrade"),
    C("HR", 385, P, "Europe/Zagreb"),
    C("SI", 386, P, "Europe/Ljubljana"),
    C("BA", 387, P, "Europe/Sarajevo"),
    C("MK", 389, P, "Europe/Skopje"),
    C("CZ", 420, P, "Europe/Prague"),
    C("SK", 421, P, "Europe/Bratislava"),
    C("LI", 423, P, "Europe/Vaduz"),
    C("FK", 500, P, "Atlantic/Stanley"),
    C("BZ", 501, P, "America/Belize"),
    C("GT", 502, P, "America/Guatemala"),
    C("SV", 503, P, "America/El_Salvador"),
    C("HN", 504, P, "America/Tegucigalpa"),
    C("NI", 505, P, "America/Managua"),
    C("CR", 506, P, "America/Costa_Rica"),
    C("PA", 507, P, "America/Panama"),
    CP("PM", 508, P, "America/Miquelon", &pm, &pm),
    C("HT", 509, P, "America/Port-au-Prince"),
    CP("GP", 590, P, "America/Guadeloupe", &gp, &fr),
    CP("BL", 590, 0, "America/St_Barthelemy", &gp, &fr),
    CP("MF", 590, 0, "America/Marigot", &gp, &fr),
    C("BO", 591, P, "America/La_Paz"),
    C("GY", 592, P, "America/Guyana"),
    C("EC", 593, PA, "America/Guayaquil"),
    CP("GF", 594, P, "America/Cayenne", &gf, &fr),
    C("PY", 595, P, "America/Asuncion"),
    CP("MQ", 596, P, "America/Martinique", &mq, &fr),
    C("SR", 597, P, "America/Paramaribo"),
    C("UY", 598, P, "America/Montevideo"),
    C("CW", 599, P, "America/Curacao"),
    C("BQ", 599, 0, "America/Kralendijk"),
    C("TL", 670, P, "Asia/Dili"),
    C("NF", 672, P, "Pacific/Norfolk"),
    C("BN", 673, P, "Asia/Brunei"),
    C("NR", 674, P, "Pacific/Nauru"),
    C("PG", 675, PA, "Pacific/Port_Moresby"),
    C("TO", 676, P, "Pacific/Tongatapu"),
    C("SB", 677, P, "Pacific/Guadalcanal"),
    C("VU", 678, P, "Pacific/Efate"),
    C("FJ", 679, P, "Pacific/Fiji"),
    C("PW", 680, P, "Pacific/Palau"),
    CP("WF", 681, P, "Pacific/Wallis", &wf, &wf),
    C("CK", 682, P, "Pacific/Rarotonga"),
    C("NU", 683, P, "Pacific/Niue"),
    C("WS", 685, P, "Pacific/Apia"),
    C("KI", 686, P, NULL),
    CP("NC", 687, P, "Pacific/Noumea", &nc, &nc),
    C("TV", 688, P, "Pacific/Funafuti"),
    CP("PF", 689, PA, "Pacific/Tahiti", &pf, &pf),
    C("TK", 690, P, "Pacific/Fakaofo"),
    C("FM", 691, P, NULL),
    C("MH", 692, P, "Pacific/Majuro"),
    C("", 800, NG, NULL),
    C("", 808, NG, NULL),
    C("KP", 850, P, "Asia/Pyongyang"),
    C("HK", 852, P, "Asia/Hong_Kong"),
    C("MO", 853, P, "Asia/Macau"),
    C("KH", 855, P, "Asia/Phnom_Penh"),
    C("LA", 856, P, "Asia/Vientiane"),
    C("", 870, NG, NULL),
    C("", 878, NG, NULL),
    C("BD", 880, P, "Asia/Dhaka"),
    C("", 881, NG, NULL),
    C("", 882, NG, NULL),
    C("", 883, NG, NULL),
    C("TW", 886, P, "Asia/Taipei"),
    C("", 888, NG, NULL),
    C("MV", 960, P, "Indian/Maldives"),
    C("LB", 961, P, "Asia/Beirut"),
    C("JO", 962, P, "Asia/Amman"),
    C("SY", 963, P, "Asia/Damascus"),
    C("IQ", 964, P, "Asia/Baghdad"),
    C("KW", 965, P, "Asia/Kuwait"),
    C("SA", 966, P, "Asia/Riyadh"),
    C("YE", 967, P, "Asia/Aden"),
    C("OM", 968, P, "Asia/Muscat"),
    C("PS", 970, PA, "Asia/Hebron"),
    C("AE", 971, P, "Asia/Dubai"),
    C("IL", 972, P, "Asia/Jerusalem"),
    C("BH", 973, P, "Asia/Bahrain"),
    C("QA", 974, P, "Asia/Qatar"),
    C("BT", 975, P, "Asia/Thimphu"),
    C("MN", 976, PA, "Asia/Ulaanbaatar"),
    C("NP", 977, P, "Asia/Kathmandu"),
    C("", 979, NG, NULL),
    C("TJ", 992, P, "Asia/Dushanbe"),
    C("TM", 993, P, "Asia/Ashgabat"),
    C("AZ", 994, P, "Asia/Baku"),
    C("GE", 995, P, "Asia/Tbilisi"),
    C("KG", 996, P, "Asia/Bishkek"),
    C("UZ", 998, P, "Asia/Tashkent"),
};
const size_t phone__ncountries = N(phone__countries);
