/* SPDX-License-Identifier: MIT */
/*
 * leads_json: the contact document of the import path, written by hand,
 * must be byte for byte what jansson writes (JSON_COMPACT) for the same
 * fields, with values that are not UTF-8 repaired the way leads_fields.c
 * repairs them (U+FFFD for each byte that starts no valid sequence).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "leads_json.h"

/* What jansson makes of @p s as leads_fields.c hands it over. */
static json_t *
jstr(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *fixed = leads_utf8_repair(s);
    assert_non_null(fixed);
    j = json_string(fixed);
    free(fixed);
    assert_non_null(j);
    return j;
}

/* jansson's document, or NULL when no field has a name. */
static char *
reference(const plt_lead_field *f, size_t n)
{
    json_t *o = json_object();
    size_t set = 0;
    for (size_t i = 0; i < n; i++) {
        if (!f[i].name || !*f[i].name)
            continue;
        json_t *v = f[i].value ? jstr(f[i].value) : json_null();
        assert_int_equal(json_object_set_new(o, f[i].name, v), 0);
        set++;
    }
    char *s = set ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

static void
expect_same(const plt_lead_field *f, size_t n)
{
    char *want = reference(f, n);
    size_t len = leads_json_fields_len(f, n);
    if (!want) {
        assert_int_equal(len, 0);
        return;
    }
    assert_int_equal(len, strlen(want) + 1);
    char *got = malloc(len + 8);
    assert_non_null(got);
    memset(got, 'X', len + 8);
    leads_json_fields_write(f, n, got);
    assert_string_equal(got, want);
    assert_int_equal(got[len], 'X'); /* nothing written past the length */
    free(got);
    free(want);
}

static void
same_as_jansson_on_real_world_forms(void **state)
{
    (void)state;
    plt_lead_field a[] = {
        {"name", "Fran\xC3\xA7ois"},          /* UTF-8 kept as is */
        {"comment", "il a dit \"rappeler\"; \\ ok / ?"},
        {"multi", "ligne 1\r\nligne 2\tTAB\b\f"},
        {"ctl", "\x01\x1F\x7F end"},          /* \u0001 \u001F, DEL kept */
        {"empty", ""},
        {"none", NULL},
        {"emoji", "\xF0\x9F\x98\x80 \xE2\x82\xAC"},
        {"t\xC3\xA9l\xC3\xA9phone", "06 12 34 56 78"},
        {"quote\"in\\name", "v"},
    };
    expect_same(a, sizeof(a) / sizeof(a[0]));
    /* Values that are not UTF-8: Windows-1252 bytes, a lone continuation
     * byte, overlong forms, a surrogate, beyond U+10FFFF, cut sequences. */
    plt_lead_field b[] = {
        {"cp1252", "caf\xE9 cr\xE8me"},
        {"lone", "\x80\xBF"},
        {"overlong", "\xC0\xAF \xE0\x80\xAF \xF0\x80\x80\xAF"},
        {"surrogate", "\xED\xA0\x80"},
        {"big", "\xF4\x90\x80\x80 \xF5\x80\x80\x80"},
        {"cut", "ab\xE2\x82"},
        {"cut2", "\xC3"},
    };
    expect_same(b, sizeof(b) / sizeof(b[0]));
    /* Nameless fields are skipped; none left: no document. */
    plt_lead_field c[] = {{"", "x"}, {NULL, "y"}, {"k", "v"}};
    expect_same(c, 3);
    expect_same(c, 2);
    expect_same(c, 0);
}

static void
names_not_utf8_are_left_to_jansson(void **state)
{
    (void)state;
    plt_lead_field f[] = {{"ok", "v"}, {"caf\xE9", "v"}};
    assert_int_equal(leads_json_fields_len(f, 2), SIZE_MAX);
    assert_int_equal(leads_json_fields_len(f, 1), strlen("{\"ok\":\"v\"}") + 1);
}

/* Random strings over bytes chosen to hit every branch. */
static void
random_text(unsigned *seed, char *out, size_t max, bool valid)
{
    static const char *const bits[] = {
        "a", "Z", " ", "\"", "\\", "/", "\n", "\r", "\t", "\b", "\f", "\x01",
        "\x1F", "\x7F", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
        "\xEF\xBF\xBD", "\xE2\x80\xA8",
        /* invalid from here */
        "\x80", "\xC3", "\xE9", "\xC0\x80", "\xED\xB0\x80", "\xF4\x90\x80\x80",
        "\xFF", "\xE2\x82"};
    size_t nvalid = 19, nall = sizeof(bits) / sizeof(bits[0]);
    size_t len = 0, parts = (size_t)(rand_r(seed) % 12);
    for (size_t i = 0; i < parts; i++) {
        const char *b = bits[(size_t)rand_r(seed) % (valid ? nvalid : nall)];
        size_t bl = strlen(b);
        if (len + bl >= max)
            break;
        memcpy(out + len, b, bl);
        len += bl;
    }
    out[len] = 0;
}

static void
same_as_jansson_on_random_fields(void **state)
{
    (void)state;
    unsigned seed = 20261122;
    for (int round = 0; round < 20000; round++) {
        char names[8][64], values[8][64];
        plt_lead_field f[8];
        size_t n = (size_t)(rand_r(&seed) % 9);
        for (size_t i = 0; i < n; i++) {
            random_text(&seed, names[i], 48, true);
            /* distinct names, as add_batch hands them over */
            size_t l = strlen(names[i]);
            snprintf(names[i] + l, sizeof(names[i]) - l, "#%zu", i);
            random_text(&seed, values[i], sizeof(values[i]), false);
            f[i].name = names[i];
            f[i].value = rand_r(&seed) % 10 ? values[i] : NULL;
        }
        expect_same(f, n);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_as_jansson_on_real_world_forms),
        cmocka_unit_test(names_not_utf8_are_left_to_jansson),
        cmocka_unit_test(same_as_jansson_on_random_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
