/* SPDX-License-Identifier: MIT */
/*
 * Configuration: YAML documents with line numbers, validation of sections
 * against plugin schemas (every problem reported with file:line and the
 * dotted key path), typed getters, dumps that hide secrets, reload diffs
 * and schema self-checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define FILE_NAME "/etc/plateau/plateau.yaml"

/* ------------------------------------------------------------------ */
/* Helpers. */

/* All diagnostics as printed by plt__diags_print(), one per line. */
static char *
diags_text(const plt__diags *d)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    plt__diags_print(d, f);
    fclose(f);
    return buf;
}

/* Whether a printed diagnostic line contains @p needle. */
static bool
diags_has(const plt__diags *d, const char *needle)
{
    char *t = diags_text(d);
    bool found = strstr(t, needle) != NULL;
    if (!found)
        fprintf(stderr, "diagnostics lack [%s]; got:\n%s", needle, t);
    free(t);
    return found;
}

/* Parse @p yaml as FILE_NAME and build its @p section against @p schema.
 * The doc is returned in @p doc (free it after the cfg). */
static int
build(const char *yaml, const char *section, const plt_cfg_key *schema,
      plt__doc **doc, plt_cfg **cfg, plt__diags *d)
{
    *doc = NULL;
    *cfg = NULL;
    int rc = plt__doc_parse(FILE_NAME, yaml, strlen(yaml), doc, d);
    if (rc)
        return rc;
    const plt__node *node = plt__node_get(plt__doc_root(*doc), section);
    return plt__cfg_build(*doc, node, schema, section, cfg, d);
}

static char *
dump(const plt_cfg *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    plt__cfg_dump(cfg, f, 0);
    fclose(f);
    return buf;
}

/* ------------------------------------------------------------------ */
/* Schemas used by several tests. */

static const char *const modes[] = {"progressive", "predictive", "preview",
                                    NULL};

static const plt_cfg_key trunk_keys[] = {
    {.name = "name", .type = PLT_CFG_STR, .flags = PLT_CFG_REQUIRED},
    {.name = "host", .type = PLT_CFG_STR, .flags = PLT_CFG_REQUIRED},
    {.name = "port",
     .type = PLT_CFG_INT,
     .def = "5060",
     .min = 1,
     .max = 65535},
    {.name = "password", .type = PLT_CFG_STR, .flags = PLT_CFG_SECRET},
    PLT_CFG_END};

static const plt_cfg_key db_keys[] = {
    {.name = "dsn", .type = PLT_CFG_STR},
    {.name = "pool", .type = PLT_CFG_INT, .def = "4"},
    {.name = "password", .type = PLT_CFG_STR, .flags = PLT_CFG_SECRET},
    PLT_CFG_END};

static const plt_cfg_key dialer_keys[] = {
    {.name = "name", .type = PLT_CFG_STR, .def = "main"},
    {.name = "max_ratio",
     .type = PLT_CFG_INT,
     .def = "3",
     .min = 1,
     .max = 10,
     .flags = PLT_CFG_RELOADABLE},
    {.name = "enabled", .type = PLT_CFG_BOOL, .def = "yes"},
    {.name = "abandon", .type = PLT_CFG_DOUBLE, .def = "0.03"},
    {.name = "ring",
     .type = PLT_CFG_DURATION,
     .def = "15s",
     .min = 1000,
     .max = 120000},
    {.name = "recordings", .type = PLT_CFG_PATH, .def = "rec"},
    {.name = "mode",
     .type = PLT_CFG_STR,
     .def = "progressive",
     .choices = modes},
    {.name = "trunks", .type = PLT_CFG_LIST, .def = "[orange, ovh]"},
    {.name = "db", .type = PLT_CFG_SECTION, .sub = db_keys},
    {.name = "sip", .type = PLT_CFG_TABLE, .sub = trunk_keys},
    {.name = "note", .type = PLT_CFG_STR},
    PLT_CFG_END};

/* ------------------------------------------------------------------ */
/* Values of every type. */

static void
test_every_type_reads_back(void **state)
{
    (void)state;
    const char *yaml = "dialer:\n"                   /* 1 */
                       "  name: \"west wing\"\n"     /* 2 */
                       "  max_ratio: 7\n"            /* 3 */
                       "  enabled: Off\n"            /* 4 */
                       "  abandon: 0.025\n"          /* 5 */
                       "  ring: 1m\n"                /* 6 */
                       "  recordings: /srv/rec\n"    /* 7 */
                       "  mode: predictive\n"        /* 8 */
                       "  trunks: [a, \"b c\"]\n"    /* 9 */
                       "  db:\n"                     /* 10 */
                       "    dsn: postgres://x\n"     /* 11 */
                       "  sip:\n"                    /* 12 */
                       "    - name: orange\n"        /* 13 */
                       "      host: sip.orange.fr\n" /* 14 */
                       "    - {name: ovh, host: ovh.net, port: 5070}\n";
    plt__diags d = {0};
    plt__doc *doc;
    plt_cfg *cfg;
    assert_int_equal(build(yaml, "dialer", dialer_keys, &doc, &cfg, &d), 0);
    assert_int_equal(d.n, 0);

    const char *s;
    int64_t i;
    bool b;
    double x;
    size_t n;
    assert_int_equal(plt__cfg_get(cfg, "name", PLT_CFG_STR, &s), 0);
    assert_string_equal(s, "west wing");
    assert_int_equal(plt__cfg_get(cfg, "max_ratio", PLT_CFG_INT, &i), 0);
    assert_int_equal(i, 7);
    assert_int_equal(plt__cfg_get(cfg, "max_ratio", PLT_CFG_DOUBLE, &x), 0);
    assert_true(x == 7.0);
    b = true;
    assert_int_equal(plt__cfg_get(cfg, "enabled", PLT_CFG_BOOL, &b), 0);
    assert_false(b);
    assert_int_equal(plt__cfg_get(cfg, "abandon", PLT_CFG_DOUBLE, &x), 0);
    assert_true(x == 0.025);
    assert_int_equal(plt__cfg_get(cfg, "ring", PLT_CFG_DURATION, &i), 0);
    assert_int_equal(i, 60000);
    assert_int_equal(plt__cfg_get(cfg, "recordings", PLT_CFG_PATH, &s), 0);
    assert_string_equal(s, "/srv/rec");
    assert_int_equal(plt__cfg_get(cfg, "recordings", PLT_CFG_STR, &s), 0);
    assert_string_equal(s, "/srv/rec");
    assert_int_equal(plt__cfg_get(cfg, "mode", PLT_CFG_STR, &s), 0);
    assert_string_equal(s, "predictive");

    assert_int_equal(plt__cfg_count(cfg, "trunks", &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(plt__cfg_list_at(cfg, "trunks", 1, &s), 0);
    assert_string_equal(s, "b c");
    assert_int_equal(plt__cfg_list_at(cfg, "trunks", 2, &s), PLT_ERANGE);

    const plt_cfg *db;
    assert_int_equal(plt__cfg_section(cfg, "db", &db), 0);
    assert_int_equal(plt__cfg_get(db, "dsn", PLT_CFG_STR, &s), 0);
    assert_string_equal(s, "postgres://x");
    assert_int_equal(plt__cfg_get(db, "pool", PLT_CFG_INT, &i), 0);
    assert_int_equal(i, 4);

    assert_int_equal(plt__cfg_count(cfg, "sip", &n), 0);
    assert_int_equal(n, 2);
    const plt_cfg *t;
    assert_int_equal(plt__cfg_table_at(cfg, "sip", 1, &t), 0);
    assert_int_equal(plt__cfg_get(t, "host", PLT_CFG_STR, &s), 0);
    assert_string_equal(s, "ovh.net");
    assert_int_equal(plt__cfg_get(t, "port", PLT_CFG_INT, &i), 0);
    assert_int_equal(i, 5070);
    assert_int_equal(plt__cfg_table_at(cfg, "sip", 0, &t), 0);
    assert_int_equal(plt__cfg_get(t, "port", PLT_CFG_INT, &i), 0);
    assert_int_equal(i, 5060);
    assert_int_equal(plt__cfg_table_at(cfg, "sip", 2, &t), PLT_ERANGE);

    /* Where things were set. */
    const char *file;
    int line;
    assert_int_equal(plt__cfg_where(cfg, "ring", &file, &line), 0);
    assert_string_equal(file, FILE_NAME);
    assert_int_equal(line, 6);
    assert_int_equal(plt__cfg_where(cfg, NULL, &file, &line), 0);
    assert_int_equal(line, 1);
    assert_int_equal(plt__cfg_where(db, NULL, &file, &line), 0);
    assert_int_equal(line, 10);
    assert_int_equal(plt__cfg_table_at(cfg, "sip", 1, &t), 0);
    assert_int_equal(plt__cfg_where(t, NULL, &file, &line), 0);
    assert_int_equal(line, 15);
    assert_int_equal(plt__cfg_where(t, "port", &file, &line), 0);
    assert_int_equal(line, 15);

    /* Type mismatches and unknown keys are caller errors. */
    assert_int_equal(plt__cfg_get(cfg, "max_ratio", PLT_CFG_STR, &s),
                     PLT_EINVAL);
    assert_int_equal(plt__cfg_get(cfg, "name", PLT_CFG_PATH, &s), PLT_EINVAL);
    assert_int_equal(plt__cfg_get(cfg, "abandon", PLT_CFG_INT, &i), PLT_EINVAL);
    assert_int_equal(plt__cfg_get(cfg, "trunks", PLT_CFG_STR, &s), PLT_EINVAL);
    assert_int_equal(plt__cfg_get(cfg, "nope", PLT_CFG_STR, &s), PLT_EINVAL);
    assert_int_equal(plt__cfg_get(cfg, "db.dsn", PLT_CFG_STR, &s), PLT_EINVAL);
    assert_int_equal(plt__cfg_count(cfg, "name", &n), PLT_EINVAL);
    assert_int_equal(plt__cfg_section(cfg, "sip", &db), PLT_EINVAL);
    assert_int_equal(plt__cfg_is_set(cfg, "nope"), 0);

    plt__cfg_free(cfg);
    plt__doc_free(doc);
    plt__diags_clear(&d);
}

/* ------------------------------------------------------------------ */
/* Defaults. */

static void
test_defaults_apply_and_do_not_count_as_set(void **state)
{
    (void)state;
    const char *yaml = "dialer:\n"
                       "  max_ratio: 5\n"
                       "  note:\n"    /* null: unset */
                       "  ring: ~\n"; /* null: the default applies */
    plt__diags d = {0};
    plt__doc *doc;
    plt_cfg *cfg;
    assert_int_equal(build(yaml, "dialer", dialer_keys, &doc, &cfg, &d), 0);

    const char *s;
    int64_t i;
    bool b = false;
    double x;
    size_t n;
    assert_int_equal(plt__cfg_get(cfg, "name", PLT_CFG_STR, &s), 0);
    assert_string_equal(s, "main");
    assert_int_equal(plt__cfg_get(cfg, "enabled", PLT_CFG_BOOL, &b), 0);
    assert_true(b);
    assert_int_equal(plt__cfg_get(cfg, "abandon", PLT_CFG_DOUBLE, &x), 0);
    assert_true(x == 0.03);
    assert_int_equal(plt__cfg_get(cfg, "ring", PLT_CFG_DURATION, &i), 0);
    assert_int_equal(i, 15000);
    assert_int_equal(plt__cfg_count(cfg, "trunks", &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(plt__cfg_list_at(cfg, "trunks", 1, &s), 0);
    assert_string_equal(s, "ovh");

    /* A key without default and without value. */
    assert_int_equal(plt__cfg_get(cfg, "note", PLT_CFG_STR, &s), PLT_ENOENT);
    assert_int_equal(plt__cfg_count(cfg, "sip", &n), 0);
    assert_int_equal(n, 0);

    assert_int_equal(plt__cfg_is_set(cfg, "max_ratio"), 1);
    assert_int_equal(plt__cfg_is_set(cfg, "name"), 0);
    assert_int_equal(plt__cfg_is_set(cfg, "note"), 0);
    assert_int_equal(plt__cfg_is_set(cfg, "ring"), 0);
    const char *file;
    int line;
    assert_int_equal(plt__cfg_where(cfg, "name", &file, &line), PLT_ENOENT);
    assert_int_equal(plt__cfg_where(cfg, "max_ratio", &file, &line), 0);
    assert_int_equal(line, 2);

    plt__cfg_free(cfg);
    plt__doc_free(doc);
    plt__diags_clear(&d);
}

static void
test_absent_section_has_defaults(void **state)
{
    (void)state;
    plt__diags d = {0};
    plt__doc *doc;
    plt_cfg *cfg;
    assert_int_equal(build("other: 1\n", "dialer", dialer_keys, &doc, &cfg, &d),
                     0);
    int64_t i;
    assert_int_equal(plt__cfg_get(cfg, "max_ratio", PLT_CFG_INT, &i), 0);
    assert_int_equal(i, 3);
    const char *file;
    int line;
    assert_int_equal(plt__cfg_where(cfg, NULL, &file, &line), PLT_ENOENT);

    /* The nested SECTION is there, empty, with its defaults. */
    const plt_cfg *db = NULL;
    assert_int_equal(plt__cfg_section(cfg, "db", &db), 0);
    assert_non_null(db);
    assert_int_equal(plt__cfg_get(db, "pool", PLT_CFG_INT, &i), 0);
    assert_int_equal(i, 4);
    assert_int_equal(plt__cfg_is_set(cfg, "db"), 0);
    plt__cfg_free(cfg);
    plt__doc_free(doc);

    /* An empty document and a doc-less build behave the same. */
    assert_int_equal(
        build("# nothing\n", "dialer", dialer_keys, &doc, &cfg, &d), 0);
    assert_null(plt__doc_root(doc));
    plt__cfg_free(cfg);
    plt__doc_free(doc);
    assert_int_equal(
        plt__cfg_build(NULL, NULL, dialer_keys, "dialer", &cfg, &d), 0);
    assert_int_equal(plt__cfg_get(cfg, "max_ratio", PLT_CFG_INT, &i), 0);
    assert_int_equal(i, 3);
    plt__cfg_free(cfg);
    assert_int_equal(d.n, 0);
    plt__diags_clear(&d);
}

/* ------------------------------------------------------------------ */
/* Required keys. */

static const plt_cfg_key req_keys[] = {
    {.name = "dsn", .type = PLT_CFG_STR, .flags = PLT_CFG_REQUIRED},
    {.name = "pool", .type = PLT_CFG_INT, .def = "2"},
    PLT_CFG_END};

static void
test_required_missing_in_present_section(void **state)
{
    (void)state;
    plt__diags d = {0};
    plt__doc *doc;
    plt_cfg *cfg;
    const char *yaml = "core: {}\n"
                       "dialer:\n"
                       "  pool: 3\n";
    assert_int_equal(build(yaml, "dialer", req_keys, &doc, &cfg, &d),
                     PLT_ECONFIG);
    assert_null(cfg);
    assert_int_equal(d.n, 1);
    assert_true(
        diags_has(&d, FILE_NAME ":2: dialer: missing required key 'dsn'"));
    plt__doc_free(doc);
    plt__diags_clear(&d);

    /* "dsn:" with nothing is no value either; point at the key. */
    yaml = "dialer:\n"
           "  pool: 3\n"
           "  dsn:\n";
    assert_int_equal(build(yaml, "dialer", req_keys, &doc, &cfg, &d),
                     PLT_ECONFIG);
    assert_true(
        diags_has(&d, FILE_NAME ":3: dialer.dsn: required key has no value"));
    plt__doc_free(doc);
    plt__diags_clear(&d);
}

static void
test_required_missing_in_absent_section(void **state)
{
    (void)state;
    plt__diags d = {0};
    plt__doc *doc;
    plt_cfg *cfg;
    assert_int_equal(build("core: {}\n", "dialer", req_keys, &doc, &cfg, &d),
                     PLT_ECONFIG);
    assert_int_equal(d.n, 1);
    /* No line: there is nothing to point at, but the file is named. */
    assert_null(strstr(d.v[0].msg, FILE_NAME));
    assert_int_equal(d.v[0].line, 0);
    assert_string_equal(d.v[0].file, FILE_NAME);
    assert_true(
        diags_has(&d, FILE_NAME ": dialer: missing required key 'dsn'\n"));
    plt__doc_free(doc);
    plt__diags_clear(&d);
}

/* ------------------------------------------------------------------ */
/* Error reports. */

static void
test_unknown_key_suggests_and_names_line(void **state)
{
    (void)state;
    plt__diags d = {0};
    plt__doc *doc;
    plt_cfg *cfg;
    const char *yaml = "# comment\n"
                       "dialer:\n"
                       "  name: x\n"
                       "\n"
                       "  max_ration: 4\n"
                       "  colour: blue\n"
                       "  db:\n"
                       "    psn: y\n";
    assert_int_equal(build(yaml, "dialer", dialer_keys, &doc, &cfg, &d),
                     PLT_ECONFIG);
    assert_null(cfg);
    assert_int_equal(d.n, 3);
    assert_true(diags_has(&d, FILE_NAME
                          ":5: dialer: unknown key "
                          "'max_ration' (did you mean 'max_ratio'?)"));
    assert_true(diags_has(&d, FILE_NAME ":6: dialer: unknown key 'colour'\n"));
    assert_true(diags_has(&d, FILE_NAME ":8: dialer.db: unknown key 'psn' "
                                        "(did you mean 'dsn'?)"));
    plt__doc_free(doc);
    plt__diags_clear(&d);
}

static void
test_wrong_types_are_reported_with_lines(void **state)
{
    (void)state;
    plt__diags d = {0};
    plt__doc *doc;
    plt_cfg *cfg;
    const char *yaml = "dialer:\n"             /* 1 */
                       "  max_ratio: abc\n"    /* 2 */
                       "  enabled: maybe\n"    /* 3 */
                       "  abandon: lots\n"     /* 4 */
                       "  ring: 30\n"          /* 5 */
                       "  trunks: orange\n"    /* 6 */
                       "  db: [1, 2]\n"        /* 7 */
                       "  name:\n"             /* 8 */
                       "    - a\n"             /* 9 */
                       "  sip: {a: 1}\n"       /* 10 */
                       "  recordings: \"\"\n"; /* 11 */
    assert_int_equal(build(yaml, "dialer", dialer_keys, &doc, &cfg, &d),
                     PLT_ECONFIG);
    /* Every problem at once, not only the first. */
    assert_int_equal(d.n, 9);
    assert_true(diags_has(&d, FILE_NAME ":2: dialer.max_ratio: expected an "
                                        "integer, got \"abc\""));
    assert_true(diags_has(&d, FILE_NAME ":3: dialer.enabled: expected true "
                                        "or false, got \"maybe\""));
    assert_true(diags_has(&d, FILE_NAME ":4: dialer.abandon: expected a "
                                        "number, got \"lots\""));
    assert_true(diags_has(&d, FILE_NAME
                          ":5: dialer.ring: expected a "
                          "duration such as 30s or 500ms, got \"30\""));
    assert_true(diags_has(&d, FILE_NAME ":6: dialer.trunks: expected a list "
                                        "such as [a, b], got \"orange\""));
    assert_true(diags_has(&d, FILE_NAME ":7: dialer.db: expected a mapping, "
                                        "got a list"));
    assert_true(diags_has(&d, FILE_NAME ":8: dialer.name: expected a string, "
                                        "got a list"));
    assert_true(diags_has(&d, FILE_NAME ":10: dialer.sip: expected a list of "
                                        "mappings"));
    assert_true(diags_has(&d, FILE_NAME ":11: dialer.recordings: expected a "
                                        "path, got an empty string"));
    /* Listed top to bottom, as a reader fixes the file. */
    for (size_t i = 1; i < d.n; i++)
        assert_true(d.v[i - 1].line <= d.v[i].line);
    plt__doc_free(doc);
    plt__diags_clear(&d);
}

static void
test_bounds_and_choices(void **state)
{
    (void)state;
    plt__diags d = {0};
    plt__doc *doc;
    plt_cfg *cfg;
    const char *yaml = "dialer:\n"
                       "  max_ratio: 11\n"
                       "  ring: 500ms\n"
                       "  mode: turbo\n"
                       "  sip:\n"
                       "    - {name: a, host: b, port: 0}\n";
    assert_int_equal(build(yaml, "dialer", dialer_keys, &doc, &cfg, &d),
                     PLT_ECONFIG);
    assert_int_equal(d.n, 4);
    assert_true(diags_has(&d, FILE_NAME ":2: dialer.max_ratio: must be "
                                        "between 1 and 10, got 11"));
    assert_true(diags_has(&d, FILE_NAME ":3: dialer.ring: must be between 1s "
                                        "and 2m, got 500ms"));
    assert_true(diags_has(&d, FILE_NAME ":4: dialer.mode: expected one of: "
                                        "progressive, predictive, preview; got "
                                        "\"turbo\""));
    assert_true(diags_has(&d, FILE_NAME ":6: dialer.sip[0].port: must be "
                                        "between 1 and 65535, got 0"));
    plt__doc_free(doc);
    plt__diags_clear(&d);

    /* The bounds themselves are allowed. */
    yaml = "dialer: {max_ratio: 10, ring: 2m, mode: preview}\n";
    assert_int_equal(build(yaml, "dialer", dialer_keys, &doc, &cfg, &d), 0);
    plt__cfg_free(cfg);
    plt__doc_free(doc);
    plt__diags_clear(&d);
}

static void
test_table_errors_name_the_item(void **state)
{
    (void)state;
    plt__diags d = {0};
    plt__doc *doc;
    plt_cfg *cfg;
    const char *yaml = "sip:\n"                      /* 1 */
                       "  trunks:\n"                 /* 2 */
                       "    - name: orange\n"        /* 3 */
                       "      host: sip.orange.fr\n" /* 4 */
                       "    - name: ovh\n"           /* 5 */
                       "      host: [x]\n"           /* 6 */
                       "      prot: 5060\n"          /* 7 */
                       "    - name: free\n"          /* 8 */
                       "    - just-a-string\n";      /* 9 */
    static const plt_cfg_key sip_keys[] = {
        {.name = "trunks", .type = PLT_CFG_TABLE, .sub = trunk_keys},
        PLT_CFG_END};
    assert_int_equal(build(yaml, "sip", sip_keys, &doc, &cfg, &d), PLT_ECONFIG);
    assert_int_equal(d.n, 4);
    assert_true(diags_has(&d, FILE_NAME ":6: sip.trunks[1].host: expected a "
                                        "string, got a list"));
    assert_true(diags_has(&d, FILE_NAME ":7: sip.trunks[1]: unknown key "
                                        "'prot' (did you mean 'port'?)"));
    assert_true(diags_has(&d, FILE_NAME ":8: sip.trunks[2]: missing required "
                                        "key 'host'"));
    assert_true(diags_has(&d, FILE_NAME ":9: sip.trunks[3]: expected a "
                                        "mapping, got a single value"));
    plt__doc_free(doc);
    plt__diags_clear(&d);
}

/* ------------------------------------------------------------------ */
/* Paths. */

static void
test_relative_paths_resolve_against_the_file(void **state)
{
    (void)state;
    static const plt_cfg_key keys[] = {
        {.name = "a", .type = PLT_CFG_PATH},
        {.name = "b", .type = PLT_CFG_PATH},
        {.name = "c", .type = PLT_CFG_PATH},
        {.name = "d", .type = PLT_CFG_PATH, .def = "data/./x"},
        PLT_CFG_END};
    const char *yaml = "s:\n"
                       "  a: recordings\n"
                       "  b: ../var//lib/\n"
                       "  c: /abs/path\n";
    plt__diags d = {0};
    plt__doc *doc;
    plt_cfg *cfg;
    assert_int_equal(build(yaml, "s", keys, &doc, &cfg, &d), 0);
    const char *s;
    assert_int_equal(plt__cfg_get(cfg, "a", PLT_CFG_PATH, &s), 0);
    assert_string_equal(s, "/etc/plateau/recordings");
    assert_int_equal(plt__cfg_get(cfg, "b", PLT_CFG_PATH, &s), 0);
    assert_string_equal(s, "/etc/var/lib");
    assert_int_equal(plt__cfg_get(cfg, "c", PLT_CFG_PATH, &s), 0);
    assert_string_equal(s, "/abs/path");
    /* Defaults resolve against the same file's directory. */
    assert_int_equal(plt__cfg_get(cfg, "d", PLT_CFG_PATH, &s), 0);
    assert_string_equal(s, "/etc/plateau/data/x");
    plt__cfg_free(cfg);
    plt__doc_free(doc);

    /* A file named relatively is placed in the current directory, so the
     * result is absolute all the same. */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(
        plt__doc_parse("conf/p.yaml", yaml, strlen(yaml), &doc, &d), 0);
    assert_int_equal(plt__cfg_build(doc, plt__node_get(plt__doc_root(doc), "s"),
                                    keys, "s", &cfg, &d),
                     0);
    assert_int_equal(plt__cfg_get(cfg, "a", PLT_CFG_PATH, &s), 0);
    char *want = plt__path_join(cwd, "conf/recordings");
    assert_string_equal(s, want);
    free(want);
    plt__cfg_free(cfg);
    plt__doc_free(doc);
    assert_int_equal(d.n, 0);
    plt__diags_clear(&d);
}

/* ------------------------------------------------------------------ */
/* Environment references. */

static void
test_env_references_expand(void **state)
{
    (void)state;
    static const plt_cfg_key keys[] = {
        {.name = "password", .type = PLT_CFG_STR, .flags = PLT_CFG_SECRET},
        {.name = "port", .type = PLT_CFG_INT},
        {.name = "literal", .type = PLT_CFG_STR},
        {.name = "hosts", .type = PLT_CFG_LIST},
        PLT_CFG_END};
    setenv("PLT_TEST_PASS", "s3cr3t", 1);
    setenv("PLT_TEST_PORT", "5432", 1);
    setenv("PLT_TEST_HOST", "db2", 1);
    const char *yaml = "db:\n"
                       "  password: \"${PLT_TEST_PASS}\"\n"
                       "  port: ${PLT_TEST_PORT}\n"
                       "  literal: cost $${HOME} and $5\n"
                       "  hosts: [db1, \"${PLT_TEST_HOST}.lan\"]\n";
    plt__diags d = {0};
    plt__doc *doc;
    plt_cfg *cfg;
    assert_int_equal(build(yaml, "db", keys, &doc, &cfg, &d), 0);
    const char *s;
    int64_t i;
    assert_int_equal(plt__cfg_get(cfg, "password", PLT_CFG_STR, &s), 0);
    assert_string_equal(s, "s3cr3t");
    assert_int_equal(plt__cfg_get(cfg, "port", PLT_CFG_INT, &i), 0);
    assert_int_equal(i, 5432);
    assert_int_equal(plt__cfg_get(cfg, "literal", PLT_CFG_STR, &s), 0);
    assert_string_equal(s, "cost ${HOME} and $5");
    assert_int_equal(plt__cfg_list_at(cfg, "hosts", 1, &s), 0);
    assert_string_equal(s, "db2.lan");
    plt__cfg_free(cfg);
    plt__doc_free(doc);

    unsetenv("PLT_TEST_UNSET");
    yaml = "db:\n"
           "  password: ${PLT_TEST_UNSET}\n"
           "  literal: ${oops\n"
           "  hosts:\n"
           "    - ${PLT_TEST_UNSET}\n";
    assert_int_equal(build(yaml, "db", keys, &doc, &cfg, &d), PLT_ECONFIG);
    assert_int_equal(d.n, 3);
    assert_true(diags_has(&d,
                          FILE_NAME ":2: db.password: environment "
                                    "variable 'PLT_TEST_UNSET' is not set"));
    assert_true(diags_has(&d, FILE_NAME ":3: db.literal: unterminated '${'"));
    assert_true(diags_has(&d,
                          FILE_NAME ":5: db.hosts[0]: environment "
                                    "variable 'PLT_TEST_UNSET' is not set"));
    plt__doc_free(doc);
    plt__diags_clear(&d);
}

/* ------------------------------------------------------------------ */
/* The document. */

static void
test_yaml_syntax_error_has_line(void **state)
{
    (void)state;
    const char *yaml = "core:\n"
                       "  a: 1\n"
                       "  b: [1, 2\n"
                       "dialer:\n";
    plt__diags d = {0};
    plt__doc *doc = NULL;
    assert_int_equal(plt__doc_parse("x.yaml", yaml, strlen(yaml), &doc, &d),
                     PLT_ECONFIG);
    assert_null(doc);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.v[0].file, "x.yaml");
    assert_int_equal(d.v[0].line, 4);
    assert_non_null(strstr(d.v[0].msg, "did not find expected ',' or ']'"));
    plt__diags_clear(&d);

    yaml = "a: 1\n"
           "  b: 2\n";
    assert_int_equal(plt__doc_parse("x.yaml", yaml, strlen(yaml), &doc, &d),
                     PLT_ECONFIG);
    assert_true(diags_has(&d, "x.yaml:2: mapping values are not allowed"));
    plt__diags_clear(&d);
}

static void
test_duplicate_keys_are_refused(void **state)
{
    (void)state;
    const char *yaml = "dialer:\n"
                       "  max_ratio: 2\n"
                       "  name: a\n"
                       "  max_ratio: 3\n";
    plt__diags d = {0};
    plt__doc *doc;
    assert_int_equal(plt__doc_parse("p.yaml", yaml, strlen(yaml), &doc, &d),
                     PLT_ECONFIG);
    assert_true(diags_has(&d, "p.yaml:4: duplicate key 'max_ratio' (first set "
                              "at line 2)"));
    plt__diags_clear(&d);
}

static void
test_anchors_and_documents_are_refused(void **state)
{
    (void)state;
    plt__diags d = {0};
    plt__doc *doc;
    const char *yaml = "a: &base {x: 1}\n"
                       "b: *base\n";
    assert_int_equal(plt__doc_parse("p.yaml", yaml, strlen(yaml), &doc, &d),
                     PLT_ECONFIG);
    assert_true(diags_has(&d, "p.yaml:1: anchors are not supported: &base"));
    plt__diags_clear(&d);

    yaml = "a: 1\n"
           "b: *nowhere\n";
    assert_int_equal(plt__doc_parse("p.yaml", yaml, strlen(yaml), &doc, &d),
                     PLT_ECONFIG);
    assert_int_equal(d.n, 1);
    plt__diags_clear(&d);

    yaml = "a: 1\n"
           "---\n"
           "b: 2\n";
    assert_int_equal(plt__doc_parse("p.yaml", yaml, strlen(yaml), &doc, &d),
                     PLT_ECONFIG);
    assert_true(diags_has(&d, "p.yaml:2: multiple documents in one file are "
                              "not supported"));
    plt__diags_clear(&d);

    yaml = "- a\n- b\n";
    assert_int_equal(plt__doc_parse("p.yaml", yaml, strlen(yaml), &doc, &d),
                     PLT_ECONFIG);
    assert_true(diags_has(&d, "p.yaml:1: the top level of the file must be a "
                              "mapping"));
    plt__diags_clear(&d);
}

static void
test_nodes_keep_lines_and_nulls(void **state)
{
    (void)state;
    const char *yaml = "core:\n"       /* 1 */
                       "  a: 1\n"      /* 2 */
                       "services:\n"   /* 3 */
                       "empty: \"\"\n" /* 4 */
                       "plugins:\n"    /* 5 */
                       "  - x\n"       /* 6 */
                       "  -\n";        /* 7 */
    plt__diags d = {0};
    plt__doc *doc;
    assert_int_equal(plt__doc_parse("p.yaml", yaml, strlen(yaml), &doc, &d), 0);
    const plt__node *root = plt__doc_root(doc);
    assert_int_equal(plt__node_kind(root), PLT__N_MAP);
    assert_int_equal(plt__node_len(root), 4);
    int line = 0;
    const plt__node *v = NULL;
    assert_string_equal(plt__node_key_at(root, 2, &line, &v), "empty");
    assert_int_equal(line, 4);
    assert_string_equal(plt__node_scalar(v), "");

    /* A collection under a key is where its key is. */
    const plt__node *core = plt__node_get(root, "core");
    assert_int_equal(plt__node_line(core), 1);
    assert_int_equal(plt__node_line(plt__node_get(core, "a")), 2);

    /* A null reads as an empty scalar. */
    const plt__node *svc = plt__node_get(root, "services");
    assert_int_equal(plt__node_kind(svc), PLT__N_SCALAR);
    assert_string_equal(plt__node_scalar(svc), "");

    const plt__node *pl = plt__node_get(root, "plugins");
    assert_int_equal(plt__node_len(pl), 2);
    assert_string_equal(plt__node_scalar(plt__node_at(pl, 0)), "x");
    assert_int_equal(plt__node_line(plt__node_at(pl, 1)), 7);
    assert_null(plt__node_at(pl, 2));
    assert_null(plt__node_get(root, "nope"));
    plt__doc_free(doc);

    /* An explicit empty string is a value, a null is not. */
    static const plt_cfg_key keys[] = {
        {.name = "s", .type = PLT_CFG_STR, .def = "dflt"},
        {.name = "t", .type = PLT_CFG_STR, .def = "dflt"},
        PLT_CFG_END};
    plt_cfg *cfg;
    assert_int_equal(build("x:\n  s: \"\"\n  t:\n", "x", keys, &doc, &cfg, &d),
                     0);
    const char *s;
    assert_int_equal(plt__cfg_get(cfg, "s", PLT_CFG_STR, &s), 0);
    assert_string_equal(s, "");
    assert_int_equal(plt__cfg_get(cfg, "t", PLT_CFG_STR, &s), 0);
    assert_string_equal(s, "dflt");
    plt__cfg_free(cfg);
    plt__doc_free(doc);
    plt__diags_clear(&d);
}

static void
test_doc_load_reads_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/plt_cfg_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = plt__asprintf("%s/plateau.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("dialer:\n  recordings: rec\n", f);
    fclose(f);

    plt__diags d = {0};
    plt__doc *doc;
    assert_int_equal(plt__doc_load(path, &doc, &d), 0);
    assert_string_equal(plt__doc_file(doc), path);
    plt_cfg *cfg;
    assert_int_equal(plt__cfg_build(doc,
                                    plt__node_get(plt__doc_root(doc), "dialer"),
                                    dialer_keys, "dialer", &cfg, &d),
                     0);
    const char *s;
    assert_int_equal(plt__cfg_get(cfg, "recordings", PLT_CFG_PATH, &s), 0);
    char *want = plt__asprintf("%s/rec", dir);
    assert_string_equal(s, want);
    free(want);
    plt__cfg_free(cfg);
    plt__doc_free(doc);

    char *missing = plt__asprintf("%s/nope.yaml", dir);
    assert_int_equal(plt__doc_load(missing, &doc, &d), PLT_ECONFIG);
    char *msg =
        plt__asprintf("cannot read %s: No such file or directory", missing);
    assert_true(diags_has(&d, msg));
    free(msg);
    plt__diags_clear(&d);

    assert_int_equal(plt__doc_load(dir, &doc, &d), PLT_ECONFIG);
    msg = plt__asprintf("cannot read %s: Is a directory", dir);
    assert_true(diags_has(&d, msg));
    free(msg);
    plt__diags_clear(&d);

    unlink(path);
    rmdir(dir);
    free(missing);
    free(path);
}

/* ------------------------------------------------------------------ */
/* Dump and diff. */

static void
test_dump_masks_secrets_and_reads_back(void **state)
{
    (void)state;
    const char *yaml = "dialer:\n"
                       "  name: \"yes\"\n"
                       "  note: \"a: b # c\"\n"
                       "  max_ratio: 4\n"
                       "  db:\n"
                       "    password: hunter2\n"
                       "  sip:\n"
                       "    - {name: a, host: h, password: topsecret}\n"
                       "    - {name: b, host: \"${PLT_TEST_DUMP}x\"}\n";
    setenv("PLT_TEST_DUMP", "$${", 1);
    plt__diags d = {0};
    plt__doc *doc;
    plt_cfg *cfg;
    assert_int_equal(build(yaml, "dialer", dialer_keys, &doc, &cfg, &d), 0);
    char *out = dump(cfg);
    assert_null(strstr(out, "hunter2"));
    assert_null(strstr(out, "topsecret"));
    assert_non_null(strstr(out, "  password: \"********\"\n"));
    assert_non_null(strstr(out, "    password: \"********\"\n"));
    /* Defaults are shown, in their own units. */
    assert_non_null(strstr(out, "ring: 15s\n"));
    assert_non_null(strstr(out, "enabled: true\n"));
    assert_non_null(strstr(out, "recordings: /etc/plateau/rec\n"));
    assert_non_null(strstr(out, "max_ratio: 4\n"));
    /* Strings that would read back as something else are quoted. */
    assert_non_null(strstr(out, "name: \"yes\"\n"));
    assert_non_null(strstr(out, "note: \"a: b # c\"\n"));

    /* The dump is YAML that builds to the same values (secrets aside). */
    char *indented = NULL;
    {
        /* Indent the dump under "dialer:". */
        size_t len = 0;
        FILE *f = open_memstream(&indented, &len);
        fputs("dialer:\n", f);
        plt__cfg_dump(cfg, f, 2);
        fclose(f);
    }
    plt__doc *doc2;
    plt_cfg *cfg2;
    assert_int_equal(build(indented, "dialer", dialer_keys, &doc2, &cfg2, &d),
                     0);
    const plt_cfg *t;
    const char *s;
    assert_int_equal(plt__cfg_table_at(cfg2, "sip", 1, &t), 0);
    assert_int_equal(plt__cfg_get(t, "host", PLT_CFG_STR, &s), 0);
    assert_string_equal(s, "$${x");
    assert_int_equal(plt__cfg_get(cfg2, "note", PLT_CFG_STR, &s), 0);
    assert_string_equal(s, "a: b # c");
    /* Only the masked secrets differ: db and sip. */
    assert_int_equal(plt__cfg_diff(cfg, cfg2, NULL, NULL), 2);
    plt__cfg_free(cfg2);
    plt__doc_free(doc2);
    free(indented);
    free(out);
    plt__cfg_free(cfg);
    plt__doc_free(doc);
    plt__diags_clear(&d);
}

static void
on_diff(const plt_cfg_key *k, void *arg)
{
    char *names = arg;
    strcat(names, k->name);
    strcat(names, k->flags & PLT_CFG_RELOADABLE ? "(r) " : " ");
}

static void
test_diff_reports_changed_keys_only(void **state)
{
    (void)state;
    const char *a = "dialer:\n"
                    "  max_ratio: 3\n"
                    "  name: main\n"
                    "  trunks: [orange, ovh]\n"
                    "  db: {dsn: x, password: p1}\n"
                    "  sip: [{name: a, host: h}]\n";
    /* Same effective values written differently (an explicit default, a
     * moved key, block style), plus a changed max_ratio. */
    const char *b = "dialer:\n"
                    "  name: main\n"
                    "  trunks:\n"
                    "    - orange\n"
                    "    - ovh\n"
                    "  ring: 15s\n"
                    "  max_ratio: 5\n"
                    "  db: {password: p1, dsn: x, pool: 4}\n"
                    "  sip:\n"
                    "    - name: a\n"
                    "      host: h\n"
                    "      port: 5060\n";
    plt__diags d = {0};
    plt__doc *da, *db;
    plt_cfg *ca, *cb;
    assert_int_equal(build(a, "dialer", dialer_keys, &da, &ca, &d), 0);
    assert_int_equal(build(b, "dialer", dialer_keys, &db, &cb, &d), 0);
    char names[256] = "";
    assert_int_equal(plt__cfg_diff(ca, cb, on_diff, names), 1);
    assert_string_equal(names, "max_ratio(r) ");
    assert_int_equal(plt__cfg_diff(ca, ca, on_diff, names), 0);
    plt__cfg_free(cb);
    plt__doc_free(db);

    /* A change deep in a table or a secret section counts for its
     * top-level key. */
    const char *c = "dialer:\n"
                    "  max_ratio: 3\n"
                    "  name: main\n"
                    "  db: {dsn: x, password: p2}\n"
                    "  sip: [{name: a, host: h2}]\n";
    assert_int_equal(build(c, "dialer", dialer_keys, &db, &cb, &d), 0);
    names[0] = '\0';
    assert_int_equal(plt__cfg_diff(ca, cb, on_diff, names), 2);
    assert_string_equal(names, "db sip ");
    plt__cfg_free(cb);
    plt__doc_free(db);
    plt__cfg_free(ca);
    plt__doc_free(da);
    plt__diags_clear(&d);
}

/* ------------------------------------------------------------------ */
/* Schema checks and helpers. */

static void
test_schema_check_catches_plugin_bugs(void **state)
{
    (void)state;
    plt__diags d = {0};
    assert_int_equal(plt__schema_check(dialer_keys, "dialer", &d), 0);
    assert_int_equal(plt__schema_check(trunk_keys, "sip", &d), 0);
    assert_int_equal(d.n, 0);

    static const char *const empty[] = {NULL};
    static const plt_cfg_key bad_sub[] = {
        {.name = "n", .type = PLT_CFG_INT, .def = "many"}, PLT_CFG_END};
    static const plt_cfg_key bad[] = {
        {.name = "max_ratio", .type = PLT_CFG_INT, .def = "x"},
        {.name = "Bad-Name", .type = PLT_CFG_STR},
        {.name = "twice", .type = PLT_CFG_STR},
        {.name = "twice", .type = PLT_CFG_STR},
        {.name = "ratio",
         .type = PLT_CFG_INT,
         .def = "20",
         .min = 1,
         .max = 10},
        {.name = "mode", .type = PLT_CFG_STR, .def = "turbo", .choices = modes},
        {.name = "weird", .type = 42},
        {.name = "sec", .type = PLT_CFG_SECTION},
        {.name = "choosy", .type = PLT_CFG_INT, .choices = empty},
        {.name = "res", .type = PLT_CFG_STR, .reserved = {"x"}},
        {.name = "wait", .type = PLT_CFG_DURATION, .def = "30"},
        {.name = "items", .type = PLT_CFG_LIST, .def = "a"},
        {.name = "tab", .type = PLT_CFG_TABLE, .sub = bad_sub},
        {.name = "flag", .type = PLT_CFG_BOOL, .def = "maybe"},
        PLT_CFG_END};
    assert_int_equal(plt__schema_check(bad, "dialer", &d), PLT_EINVAL);
    assert_true(diags_has(&d, "plugin dialer: config key 'max_ratio': "
                              "default 'x' is not an integer"));
    assert_true(diags_has(&d, "plugin dialer: config key 'Bad-Name': invalid "
                              "name"));
    assert_true(diags_has(&d, "plugin dialer: config key 'twice': declared "
                              "twice"));
    assert_true(diags_has(&d, "plugin dialer: config key 'ratio': default "
                              "'20' is out of range [1, 10]"));
    assert_true(diags_has(&d, "plugin dialer: config key 'mode': default "
                              "'turbo' is not one of: progressive"));
    assert_true(diags_has(&d, "plugin dialer: config key 'weird': unknown "
                              "type 42"));
    assert_true(diags_has(&d, "plugin dialer: config key 'sec': a SECTION "
                              "needs .sub"));
    assert_true(diags_has(&d, "plugin dialer: config key 'choosy': choices "
                              "only apply to STR keys"));
    assert_true(diags_has(&d, "plugin dialer: config key 'res': reserved "
                              "fields must be zero"));
    assert_true(diags_has(&d, "plugin dialer: config key 'wait': default "
                              "'30' is not a duration"));
    assert_true(diags_has(&d, "plugin dialer: config key 'items': default "
                              "'a' is not a list of strings"));
    assert_true(diags_has(&d, "plugin dialer: config key 'tab.n': default "
                              "'many' is not an integer"));
    assert_true(diags_has(&d, "plugin dialer: config key 'flag': default "
                              "'maybe' is not true or false"));
    assert_int_equal(d.n, 13);
    plt__diags_clear(&d);

    /* A build does not trust the default either. */
    plt_cfg *cfg;
    assert_int_equal(plt__cfg_build(NULL, NULL, bad_sub, "x", &cfg, &d),
                     PLT_ECONFIG);
    assert_null(cfg);
    assert_true(diags_has(&d, "x.n: default 'many' is not an integer"));
    plt__diags_clear(&d);
}

static void
test_parse_helpers(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(plt__parse_duration_ms("250ms", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(plt__parse_duration_ms("30s", &ms), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(plt__parse_duration_ms("5m", &ms), 0);
    assert_int_equal(ms, 300000);
    assert_int_equal(plt__parse_duration_ms("2h", &ms), 0);
    assert_int_equal(ms, 7200000);
    assert_int_equal(plt__parse_duration_ms("1d", &ms), 0);
    assert_int_equal(ms, 86400000);
    assert_int_equal(plt__parse_duration_ms("0", &ms), 0);
    assert_int_equal(ms, 0);
    static const char *const bad[] = {"",
                                      "30",
                                      "1.5s",
                                      "-5s",
                                      "5 s",
                                      "5S",
                                      "s",
                                      "1m30s",
                                      "99999999999999999999d",
                                      "9223372036854775807s",
                                      NULL};
    for (size_t i = 0; bad[i]; i++)
        assert_int_equal(plt__parse_duration_ms(bad[i], &ms), PLT_EINVAL);

    bool b;
    static const char *const yes[] = {"true", "YES", "On", NULL};
    static const char *const no[] = {"false", "No", "OFF", NULL};
    for (size_t i = 0; yes[i]; i++) {
        b = false;
        assert_int_equal(plt__parse_bool(yes[i], &b), 0);
        assert_true(b);
        assert_int_equal(plt__parse_bool(no[i], &b), 0);
        assert_false(b);
    }
    assert_int_equal(plt__parse_bool("1", &b), PLT_EINVAL);
    assert_int_equal(plt__parse_bool("", &b), PLT_EINVAL);
    assert_int_equal(plt__parse_bool("y", &b), PLT_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_reads_back),
        cmocka_unit_test(test_defaults_apply_and_do_not_count_as_set),
        cmocka_unit_test(test_absent_section_has_defaults),
        cmocka_unit_test(test_required_missing_in_present_section),
        cmocka_unit_test(test_required_missing_in_absent_section),
        cmocka_unit_test(test_unknown_key_suggests_and_names_line),
        cmocka_unit_test(test_wrong_types_are_reported_with_lines),
        cmocka_unit_test(test_bounds_and_choices),
        cmocka_unit_test(test_table_errors_name_the_item),
        cmocka_unit_test(test_relative_paths_resolve_against_the_file),
        cmocka_unit_test(test_env_references_expand),
        cmocka_unit_test(test_yaml_syntax_error_has_line),
        cmocka_unit_test(test_duplicate_keys_are_refused),
        cmocka_unit_test(test_anchors_and_documents_are_refused),
        cmocka_unit_test(test_nodes_keep_lines_and_nulls),
        cmocka_unit_test(test_doc_load_reads_files),
        cmocka_unit_test(test_dump_masks_secrets_and_reads_back),
        cmocka_unit_test(test_diff_reports_changed_keys_only),
        cmocka_unit_test(test_schema_check_catches_plugin_bugs),
        cmocka_unit_test(test_parse_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
