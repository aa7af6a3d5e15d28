/* SPDX-License-Identifier: MIT */
/*
 * leads_fold: the case and accent folding that searches use on both
 * storage engines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "leads_fold.h"

static void
expect_fold(const char *in, const char *want)
{
    char *got = leads_fold(in);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void
folds_case_and_accents(void **state)
{
    (void)state;
    expect_fold("\xC3\x89lodie", "elodie");     /* Élodie */
    expect_fold("\xC3\xA9LODIE", "elodie");     /* éLODIE */
    expect_fold("Fran\xC3\xA7ois", "francois"); /* François */
    expect_fold("FRAN\xC3\x87OIS", "francois"); /* FRANÇOIS */
    expect_fold("C\xC5\x93ur", "coeur");        /* Cœur */
    expect_fold("\xC5\x92UVRE", "oeuvre");      /* ŒUVRE */
    expect_fold("L\xC3\xA6titia", "laetitia");  /* Lætitia */
    expect_fold("\xC3\x86", "ae");              /* Æ */
    expect_fold("Stra\xC3\x9F"
                "e",
                "strasse"); /* Straße */
    expect_fold("\xC3\x80\xC3\x82\xC3\x84\xC3\x88\xC3\x8A\xC3\x8B\xC3\x8E"
                "\xC3\x8F\xC3\x94\xC3\x99\xC3\x9B\xC3\x9C\xC3\x9D",
                "aaaeeeiiouuuy"); /* ÀÂÄÈÊËÎÏÔÙÛÜÝ */
    expect_fold("\xC3\xA0\xC3\xA2\xC3\xA4\xC3\xA8\xC3\xAA\xC3\xAB\xC3\xAE"
                "\xC3\xAF\xC3\xB4\xC3\xB9\xC3\xBB\xC3\xBC\xC3\xBF",
                "aaaeeeiiouuuy"); /* àâäèêëîïôùûüÿ */
    expect_fold("\xC3\x91"
                "u\xC3\xB1"
                "ez",
                "nunez"); /* Ñuñez */
    /* Latin Extended-A: Łódź, Dvořák, Šťastný, Ÿ. */
    expect_fold("\xC5\x81\xC3\xB3"
                "d\xC5\xBA",
                "lodz");
    expect_fold("Dvo\xC5\x99\xC3\xA1k", "dvorak");
    expect_fold("\xC5\xA0\xC5\xA5"
                "astn\xC3\xBD",
                "stastny");
    expect_fold("\xC5\xB8", "y");
}

static void
keeps_the_rest(void **state)
{
    (void)state;
    expect_fold("", "");
    expect_fold("06 12-34 %_\\\"", "06 12-34 %_\\\"");
    /* × and ÷ are not letters; Greek, Cyrillic, CJK, emoji are kept. */
    expect_fold("2\xC3\x97"
                "3\xC3\xB7",
                "2\xC3\x97"
                "3\xC3\xB7");
    expect_fold("\xCE\xA9\xD0\x94\xE6\x9D\xB1\xF0\x9F\x98\x80",
                "\xCE\xA9\xD0\x94\xE6\x9D\xB1\xF0\x9F\x98\x80");
    /* A byte that is not UTF-8 stays as it is. */
    expect_fold("a\xC3(b\xFF", "a\xC3(b\xFF");
}

static void
targets_are_the_letters_accents_fold_to(void **state)
{
    (void)state;
    const char *yes = "acdeilnorsuyz";
    for (const char *c = yes; *c; c++)
        assert_true(leads_fold_target((unsigned char)*c));
    const char *no = "bfmpqvx0123456789 %_\"\\";
    for (const char *c = no; *c; c++)
        assert_false(leads_fold_target((unsigned char)*c));
    assert_false(leads_fold_target('E')); /* folded text is lowercase */
    assert_false(leads_fold_target(0xC3));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(folds_case_and_accents),
        cmocka_unit_test(keeps_the_rest),
        cmocka_unit_test(targets_are_the_letters_accents_fold_to),
    };
    return cmocka_run_group_tests_name("leads_fold", tests, NULL, NULL);
}
