/* SPDX-License-Identifier: MIT */
/*
 * The CSV reader as lead imports use it. Every input is read in every
 * chunk size from one byte up and must give the same records, with the
 * same lines and offsets, as the expected transcript: a chunk boundary
 * inside a CRLF, a quoted field, a UTF-8 sequence or the BOM must change
 * nothing. Then the sample files of tests/plugins/csv/data (a French
 * Excel export in Windows-1252, a UTF-8 one with BOM, a US one, a broken
 * one), encoding and separator detection, the preview, resuming at an
 * offset, and the header-to-field suggestions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csv.h"

#ifndef CSV_DATA_DIR
#define CSV_DATA_DIR "tests/plugins/csv/data"
#endif

/* --- transcripts ------------------------------------------------------- */

typedef struct transcript {
    char s[65536];
    size_t n;
    int stop_at; /* stop (return -42) at this record, 0 = never */
    int count;
} transcript;

static const char *
status_name(csv_status s)
{
    switch (s) {
    case CSV_OK:
        return "OK";
    case CSV_RAGGED:
        return "RAGGED";
    case CSV_UNBALANCED_QUOTE:
        return "QUOTE";
    case CSV_TOO_LONG:
        return "LONG";
    case CSV_NUL_BYTE:
        return "NUL";
    }
    return "?";
}

static void
put(transcript *t, const char *fmt, ...)
{
    va_list ap;
    int k;

    va_start(ap, fmt);
    k = vsnprintf(t->s + t->n, sizeof(t->s) - t->n, fmt, ap);
    va_end(ap);
    assert_true(k >= 0 && (size_t)k < sizeof(t->s) - t->n);
    t->n += (size_t)k;
}

/* "line:offset-next STATUS [H][R][S] n/expected [f1|f2]" */
static int
on_record(void *ud, const csv_record *r)
{
    transcript *t = ud;

    put(t, "%llu:%llu-%llu %s", (unsigned long long)r->line,
        (unsigned long long)r->offset, (unsigned long long)r->next_offset,
        status_name(r->status));
    if (r->flags & CSV_F_HEADER)
        put(t, " H");
    if (r->flags & CSV_F_REPAIRED)
        put(t, " R");
    if (r->flags & CSV_F_STRAY_QUOTE)
        put(t, " S");
    put(t, " %zu/%zu [", r->nfields, r->expected);
    for (size_t i = 0; i < r->nfields; i++) {
        const csv_field *f = &r->fields[i];
        assert_int_equal(f->ptr[f->len], '\0');
        if (i)
            put(t, "|");
        for (size_t k = 0; k < f->len; k++) {
            if (f->ptr[k] == '\n')
                put(t, "\\n");
            else if (f->ptr[k] == '\r')
                put(t, "\\r");
            else
                put(t, "%c", f->ptr[k]);
        }
    }
    put(t, "]\n");
    if (r->status != CSV_OK && r->status != CSV_RAGGED)
        assert_null(r->fields);
    t->count++;
    return t->stop_at && t->count == t->stop_at ? -42 : 0;
}

/* Reads @p in in chunks of @p chunk bytes into @p t. */
static void
read_chunks(const void *in, size_t len, const csv_options *o, size_t chunk,
            transcript *t)
{
    csv_reader *rd;
    const char *p = in;

    memset(t, 0, sizeof(*t));
    assert_int_equal(csv_reader_new(o, on_record, t, &rd), 0);
    for (size_t i = 0; i < len; i += chunk)
        assert_int_equal(csv_feed(rd, p + i, len - i < chunk ? len - i : chunk),
                         0);
    assert_int_equal(csv_finish(rd), 0);
    csv_reader_free(rd);
}

/* Every chunk size from 1 to len (and len + 1) gives @p expected. */
static void
check_all_chunks(const void *in, size_t len, const csv_options *o,
                 const char *expected)
{
    static transcript t;

    for (size_t chunk = 1; chunk <= len + 1; chunk++) {
        read_chunks(in, len, o, chunk, &t);
        if (strcmp(t.s, expected) != 0) {
            print_error("chunk size %zu:\n--- got\n%s--- expected\n%s", chunk,
                        t.s, expected);
            fail();
        }
    }
}

#define CHECK(in, o, exp) check_all_chunks(in, sizeof(in) - 1, o, exp)

/* --- RFC 4180 and its real-world variants ------------------------------ */

static void
test_quotes_and_crlf(void **state)
{
    (void)state;
    CHECK("a;b;c\r\n1;\"x;y\";3\r\n4;\"he said \"\"hi\"\"\";6\r\n", NULL,
          "1:0-7 OK H 3/3 [a|b|c]\n"
          "2:7-18 OK 3/3 [1|x;y|3]\n"
          "3:18-40 OK 3/3 [4|he said \"hi\"|6]\n");
}

static void
test_line_endings_and_blank_rows(void **state)
{
    (void)state;
    /* LF, a blank line, CR alone, CRLF, Excel's ";" row, no final LF. */
    CHECK("h1;h2\n\na;b\r\r\nc;d\r;\ne;f", NULL,
          "1:0-6 OK H 2/2 [h1|h2]\n"
          "3:7-11 OK 2/2 [a|b]\n"
          "5:13-17 OK 2/2 [c|d]\n"
          "7:19-22 OK 2/2 [e|f]\n");
}

static void
test_newlines_inside_quotes(void **state)
{
    (void)state;
    CHECK("n;adr\r\n1;\"12 rue X\r\nBat B\"\r\n2;\"a\nb\rc\"\n", NULL,
          "1:0-7 OK H 2/2 [n|adr]\n"
          "2:7-28 OK 2/2 [1|12 rue X\\r\\nBat B]\n"
          "4:28-38 OK 2/2 [2|a\\nb\\rc]\n");
}

static void
test_stray_quote_and_spaces(void **state)
{
    (void)state;
    CHECK("a;b\nO\"Brien;\"x\"  \n", NULL,
          "1:0-4 OK H 2/2 [a|b]\n"
          "2:4-18 OK S 2/2 [O\"Brien|x]\n");
}

static void
test_ragged_rows(void **state)
{
    (void)state;
    CHECK("a;b;c\n1;2\n1;2;3;4\n5;6;7\n", NULL,
          "1:0-6 OK H 3/3 [a|b|c]\n"
          "2:6-10 RAGGED 2/3 [1|2]\n"
          "3:10-18 RAGGED 4/3 [1|2|3|4]\n"
          "4:18-24 OK 3/3 [5|6|7]\n");
}

/* --- broken records and resynchronisation ------------------------------ */

static void
test_unbalanced_quote_resync(void **state)
{
    (void)state;
    /*
     * Line 2 opens a quote; the next quote (line 4) "closes" it before
     * text: line 2 is reported, lines 3 to 5 are read normally.
     */
    CHECK("id;nom;tel\n1;\"Dupont;0612345678\n2;Martin;0698765432\n"
          "3;\"Durand\";0611111111\n4;Petit;0622222222\n",
          NULL,
          "1:0-11 OK H 3/3 [id|nom|tel]\n"
          "2:11-32 QUOTE 0/3 []\n"
          "3:32-52 OK 3/3 [2|Martin|0698765432]\n"
          "4:52-74 OK 3/3 [3|Durand|0611111111]\n"
          "5:74-93 OK 3/3 [4|Petit|0622222222]\n");
}

static void
test_unbalanced_quote_at_end(void **state)
{
    (void)state;
    CHECK("id;nom\n1;\"abc\n2;def\n3;ghi", NULL,
          "1:0-7 OK H 2/2 [id|nom]\n"
          "2:7-14 QUOTE 0/2 []\n"
          "3:14-20 OK 2/2 [2|def]\n"
          "4:20-25 OK 2/2 [3|ghi]\n");
}

static void
test_text_after_closing_quote(void **state)
{
    (void)state;
    CHECK("a;b\n\"x\"y;z\nc;d\n", NULL,
          "1:0-4 OK H 2/2 [a|b]\n"
          "2:4-11 QUOTE 0/2 []\n"
          "3:11-15 OK 2/2 [c|d]\n");
}

static void
test_max_record_size(void **state)
{
    (void)state;
    csv_options o = {.max_record = 16};
    /* A long line; a long quoted field over two lines. */
    CHECK("a;b\n1;0123456789012345678\n2;ok\n3;\"long\nquoted 0123456789\"\n"
          "4;end\n",
          &o,
          "1:0-4 OK H 2/2 [a|b]\n"
          "2:4-26 LONG 0/2 []\n"
          "3:26-31 OK 2/2 [2|ok]\n"
          "4:31-39 LONG 0/2 []\n"
          "5:39-58 LONG 0/2 []\n"
          "6:58-64 OK 2/2 [4|end]\n");
}

static void
test_max_fields(void **state)
{
    (void)state;
    csv_options o = {.max_fields = 3};
    CHECK("a;b\n1;2;3;4\n5;6\n", &o,
          "1:0-4 OK H 2/2 [a|b]\n"
          "2:4-12 LONG 0/2 []\n"
          "3:12-16 OK 2/2 [5|6]\n");
}

static void
test_nul_byte(void **state)
{
    (void)state;
    CHECK("a;b\n1;x\0y\n2;z\n", NULL,
          "1:0-4 OK H 2/2 [a|b]\n"
          "2:4-10 NUL 0/2 []\n"
          "3:10-14 OK 2/2 [2|z]\n");
}

/* A never-closed quote at the top of a big file: bounded, and no hang. */
static void
test_unclosed_quote_big_file(void **state)
{
    (void)state;
    csv_options o = {
        .separator = ';', .encoding = CSV_ENC_UTF8, .max_record = 4096};
    size_t rows = 20000, len;
    char *in = malloc(rows * 16 + 32), *p;
    transcript *t = malloc(sizeof(*t));
    csv_reader *rd;

    assert_non_null(in);
    assert_non_null(t);
    p = in;
    p += sprintf(p, "a;b\n1;\"open\n");
    for (size_t i = 0; i < rows; i++)
        p += sprintf(p, "%05zu;row\n", i);
    len = (size_t)(p - in);
    memset(t, 0, sizeof(*t));
    t->stop_at = 0;
    assert_int_equal(csv_reader_new(&o, on_record, t, &rd), 0);
    /* Only the first records go into the transcript buffer. */
    for (size_t i = 0; i < len; i += 1000) {
        int rc = csv_feed(rd, in + i, len - i < 1000 ? len - i : 1000);
        assert_int_equal(rc, 0);
        if (t->n > sizeof(t->s) / 2)
            t->n = 0; /* keep the buffer from filling up */
    }
    assert_int_equal(csv_finish(rd), 0);
    csv_stats st;
    csv_reader_stats(rd, &st);
    /* Header, the broken line, then every row. */
    assert_int_equal(st.records, rows + 2);
    assert_int_equal(st.bad, 1);
    csv_reader_free(rd);
    free(t);
    free(in);
}

/*
 * Quotes placed so that every line, read again after a broken record,
 * breaks again: a replay must never be replayed, or the work grows with
 * lines x max_record. Every byte is read at most twice.
 */
static void
test_replay_is_linear(void **state)
{
    (void)state;
    csv_options o = {.separator = ';', .encoding = CSV_ENC_UTF8};
    size_t rows = 50000, len;
    char *in = malloc(rows * 8 + 16), *p = in;
    transcript *t = calloc(1, sizeof(*t));
    csv_reader *rd;
    csv_stats st;

    assert_non_null(in);
    assert_non_null(t);
    p += sprintf(p, "a;b\n\"x\n");
    for (size_t i = 0; i < rows; i++)
        p += sprintf(p, "a\";\"b\n");
    len = (size_t)(p - in);
    assert_int_equal(csv_reader_new(&o, on_record, t, &rd), 0);
    for (size_t i = 0; i < len; i += 4096) {
        assert_int_equal(csv_feed(rd, in + i, len - i < 4096 ? len - i : 4096),
                         0);
        t->n = 0; /* only counting */
    }
    assert_int_equal(csv_finish(rd), 0);
    csv_reader_stats(rd, &st);
    assert_true(st.replayed <= st.bytes);
    assert_true(st.records >= 2);
    csv_reader_free(rd);
    free(t);
    free(in);
}

/* --- encodings --------------------------------------------------------- */

static void
test_utf8_split_anywhere(void **state)
{
    (void)state;
    CHECK("nom;ville\nZo\xc3\xab;Orl\xc3\xa9"
          "ans \xe2\x82\xac\xf0\x9f\x98\x80\n",
          NULL,
          "1:0-10 OK H 2/2 [nom|ville]\n"
          "2:10-32 OK 2/2 [Zo\xc3\xab|Orl\xc3\xa9"
          "ans \xe2\x82\xac\xf0\x9f"
          "\x98\x80]\n");
}

static void
test_bom(void **state)
{
    (void)state;
    csv_options forced = {.separator = ';', .encoding = CSV_ENC_UTF8};
    const char exp[] = "1:3-7 OK H 2/2 [a|b]\n2:7-11 OK 2/2 [1|2]\n";

    CHECK("\xEF\xBB\xBF"
          "a;b\n1;2\n",
          NULL, exp);
    CHECK("\xEF\xBB\xBF"
          "a;b\n1;2\n",
          &forced, exp);
}

static void
test_windows_1252_and_latin1(void **state)
{
    (void)state;
    csv_options w = {.separator = ';', .encoding = CSV_ENC_WINDOWS_1252};
    csv_options l = {.separator = ';', .encoding = CSV_ENC_LATIN1};

    /* Société;Prénom / é è à ç œ € */
    CHECK("Soci\xe9t\xe9;Pr\xe9nom\n\xe9 \xe8 \xe0 \xe7;\x9c \x80 \x92\n", &w,
          "1:0-15 OK H 2/2 [Soci\xc3\xa9t\xc3\xa9|Pr\xc3\xa9nom]\n"
          "2:15-29 OK 2/2 [\xc3\xa9 \xc3\xa8 \xc3\xa0 \xc3\xa7|\xc5\x93 "
          "\xe2\x82\xac \xe2\x80\x99]\n");
    /* The same bytes in ISO-8859-1: 0x80-0x9F are C1 controls. */
    CHECK("a;b\n\x9c;\x80\n", &l,
          "1:0-4 OK H 2/2 [a|b]\n"
          "2:4-8 OK 2/2 [\xc2\x9c|\xc2\x80]\n");
}

/* Detected as UTF-8 from the first bytes, a 1252 byte later is repaired. */
static void
test_late_windows_1252_byte(void **state)
{
    (void)state;
    csv_options o = {.sniff_bytes = 8};
    CHECK("a;b\n1;x\n2;caf\xe9\n3;\xc3\xa9t\xc3\xa9\n", &o,
          "1:0-4 OK H 2/2 [a|b]\n"
          "2:4-8 OK 2/2 [1|x]\n"
          "3:8-15 OK R 2/2 [2|caf\xc3\xa9]\n"
          "4:15-23 OK 2/2 [3|\xc3\xa9t\xc3\xa9]\n");
}

static csv_encoding
detected(const char *s, size_t n)
{
    csv_sniff_result r;
    csv_encoding e;

    assert_int_equal(csv_sniff(s, n, &r), 0);
    e = r.encoding;
    csv_sniff_free(&r);
    return e;
}

#define DETECT(s) detected(s, sizeof(s) - 1)

static void
test_encoding_detection(void **state)
{
    (void)state;
    assert_int_equal(DETECT("nom;tel\nDupont;0612345678\n"), CSV_ENC_UTF8);
    assert_int_equal(DETECT("nom;ville\nZo\xc3\xab;Orl\xc3\xa9"
                            "ans\n"),
                     CSV_ENC_UTF8);
    /* Accents but no 0x80-0x9F: not UTF-8, so Windows-1252. */
    assert_int_equal(DETECT("nom;ville\nZo\xeb;Orl\xe9"
                            "ans\n"),
                     CSV_ENC_WINDOWS_1252);
    /* € and œ are 1252's. */
    assert_int_equal(DETECT("prix;nom\n100 \x80;B\x9c"
                            "uf\n"),
                     CSV_ENC_WINDOWS_1252);
    /* Only bytes 1252 leaves undefined: ISO-8859-1. */
    assert_int_equal(DETECT("a;b\n\x81\xe9;\x8d\n"), CSV_ENC_LATIN1);
    assert_int_equal(DETECT("a;b\n\x81\xe9;\x80\n"), CSV_ENC_WINDOWS_1252);
    /* Overlong and surrogate forms are not UTF-8. */
    assert_int_equal(DETECT("a;b\n\xc0\xaf;x\n"), CSV_ENC_WINDOWS_1252);
    assert_int_equal(DETECT("a;b\n\xed\xa0\x80;x\n"), CSV_ENC_WINDOWS_1252);
    /* A whole sample may not end inside a sequence. */
    assert_int_equal(DETECT("a;b\n1;\xc3"), CSV_ENC_WINDOWS_1252);
    assert_string_equal(csv_encoding_name(CSV_ENC_WINDOWS_1252),
                        "Windows-1252");
    assert_string_equal(csv_encoding_name(CSV_ENC_UTF8), "UTF-8");
    assert_string_equal(csv_encoding_name(CSV_ENC_LATIN1), "ISO-8859-1");
}

/* An incomplete sample may end inside a UTF-8 sequence. */
static void
test_detection_on_cut_sample(void **state)
{
    (void)state;
    csv_options o = {.sniff_bytes = 7};
    CHECK("a;b\n1;\xc3\xa9\n", &o,
          "1:0-4 OK H 2/2 [a|b]\n2:4-9 OK 2/2 [1|\xc3\xa9]\n");
}

/* --- the sample files -------------------------------------------------- */

static char *
load(const char *name, size_t *len)
{
    char path[512];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s", CSV_DATA_DIR, name);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void
test_french_excel_file(void **state)
{
    (void)state;
    size_t len;
    char *in = load("fr_excel_1252.csv", &len);
    static transcript whole;

    read_chunks(in, len, NULL, len, &whole);
    check_all_chunks(in, len, NULL, whole.s);
    /* Line 5 is ";;;;;;;;;" (skipped); line 6 misses a field. */
    const char *exp =
        "1:0-77 OK H 10/10 [Civilit\xc3\xa9|Nom|Pr\xc3\xa9nom|Soci\xc3\xa9t"
        "\xc3\xa9|T\xc3\xa9l\xc3\xa9phone|Portable|Adresse|CP|Ville|"
        "Commentaire]\n"
        "2:77-211 OK 10/10 [M.|Dupont|Jean|Soci\xc3\xa9t\xc3\xa9 G\xc3\xa9n"
        "\xc3\xa9rale|01 42 68 53 00|06 12 34 56 78|12, rue de la Paix\\r\\n"
        "B\xc3\xa2t. B|75002|Paris|Il a dit \"rappeler\" \xc3\xa0 14h]\n"
        "4:211-321 OK 10/10 [Mme|Lef\xc3\xa8vre|Fran\xc3\xa7oise|B\xc5\x93uf "
        "& Cie|04.91.55.11.11|6.12.34.56.78|3 place Garibaldi|13001|"
        "Marseille|Prix : 100 \xe2\x82\xac]\n"
        "6:332-387 RAGGED 9/10 [M.|Gar\xc3\xa7on|No\xc3\xabl||+33 (0)5 56 "
        "12 34 56|||33000|Bordeaux]\n"
        "7:387-492 OK 10/10 [Mlle|B\xc3\xa9r\xc3\xa9nice|Chlo\xc3\xa9|L"
        "\xe2\x80\x99\xc5\x92uvre|0590 82 12 34|0690 12 34 56|1 rue Sch"
        "\xc5\x93lcher|97110|Pointe-\xc3\xa0-Pitre|\xc3\xa7\xc3\xa0 et "
        "l\xc3\xa0]\n";
    if (strcmp(whole.s, exp) != 0) {
        print_error("got:\n%s", whole.s);
        fail();
    }
    free(in);
}

static void
test_broken_file(void **state)
{
    (void)state;
    size_t len;
    char *in = load("broken.csv", &len);

    check_all_chunks(in, len, NULL,
                     "1:0-11 OK H 3/3 [id|nom|tel]\n"
                     "2:11-31 OK 3/3 [1|Dupont|0612345678]\n"
                     "3:31-52 QUOTE 0/3 []\n"
                     "4:52-72 OK 3/3 [3|Durand|0611111111]\n"
                     "5:72-93 OK 3/3 [4|Petit|0622222222]\n"
                     "6:93-115 NUL 0/3 []\n"
                     "7:115-133 OK 3/3 [6|Roux|0644444444]\n");
    free(in);
}

/* Resuming at a record's offset gives the rest of the file, same lines. */
static void
test_resume_at_offset(void **state)
{
    (void)state;
    size_t len;
    char *in = load("fr_excel_1252.csv", &len);
    static transcript whole, tail;
    csv_options o = {.separator = ';',
                     .encoding = CSV_ENC_WINDOWS_1252,
                     .no_header = 1,
                     .expected_fields = 10,
                     .first_offset = 211,
                     .first_line = 4};
    const char *from;

    read_chunks(in, len, NULL, len, &whole);
    from = strstr(whole.s, "\n4:211-");
    assert_non_null(from);
    read_chunks(in + 211, len - 211, &o, 7, &tail);
    assert_string_equal(tail.s, from + 1);
    free(in);
}

/* --- the preview ------------------------------------------------------- */

static void
test_sniff_french_excel(void **state)
{
    (void)state;
    size_t len;
    char *in = load("fr_excel_1252.csv", &len);
    csv_sniff_result r;

    assert_int_equal(csv_sniff(in, len, &r), 0);
    assert_int_equal(r.separator, ';');
    assert_int_equal(r.encoding, CSV_ENC_WINDOWS_1252);
    assert_false(r.has_bom);
    assert_int_equal(r.header.nfields, 10);
    assert_string_equal(r.header.fields[3].ptr, "Soci\xc3\xa9t\xc3\xa9");
    assert_int_equal(r.nrows, 4);
    assert_int_equal(r.rows[0].line, 2);
    assert_string_equal(r.rows[1].fields[2].ptr, "Fran\xc3\xa7oise");
    assert_int_equal(r.rows[2].status, CSV_RAGGED);
    assert_string_equal(csv_suggest_field(r.header.fields[4].ptr), "phone");
    assert_string_equal(csv_suggest_field(r.header.fields[5].ptr),
                        "phone_mobile");
    csv_sniff_free(&r);
    free(in);
}

static void
test_sniff_us_and_bom_files(void **state)
{
    (void)state;
    size_t len;
    char *in = load("us_excel.csv", &len);
    csv_sniff_result r;

    assert_int_equal(csv_sniff(in, len, &r), 0);
    assert_int_equal(r.separator, ',');
    assert_int_equal(r.encoding, CSV_ENC_UTF8);
    assert_int_equal(r.header.nfields, 6);
    assert_int_equal(r.nrows, 3);
    assert_string_equal(r.rows[0].fields[2].ptr, "Acme, Inc.");
    assert_string_equal(r.rows[1].fields[2].ptr, "Smith; Jones LLP");
    csv_sniff_free(&r);
    free(in);

    in = load("fr_utf8_bom.csv", &len);
    assert_int_equal(csv_sniff(in, len, &r), 0);
    assert_int_equal(r.separator, ';');
    assert_int_equal(r.encoding, CSV_ENC_UTF8);
    assert_true(r.has_bom);
    assert_string_equal(r.header.fields[0].ptr, "Nom");
    assert_string_equal(r.rows[1].fields[0].ptr, "\xc5\x92uvre");
    csv_sniff_free(&r);
    free(in);
}

static char
sep_of(const char *s)
{
    csv_sniff_result r;
    char c;

    assert_int_equal(csv_sniff(s, strlen(s), &r), 0);
    c = r.separator;
    csv_sniff_free(&r);
    return c;
}

static void
test_separator_detection(void **state)
{
    (void)state;
    /* Commas inside French fields do not fool it. */
    assert_int_equal(sep_of("Nom;Adresse;Montant\nDupont;12, rue X;12,50\n"
                            "Martin;3, place Y;7\nDurand;Z;1,5\n"),
                     ';');
    assert_int_equal(sep_of("name,phone\n\"Smith; John\",555\nDoe,556\n"), ',');
    assert_int_equal(sep_of("a\tb\tc\n1\t2\t3\n"), '\t');
    assert_int_equal(sep_of("a|b|c\n1|2|3\n"), '|');
    /* A tie goes to ';', as does a single column. */
    assert_int_equal(sep_of("a;b,c\n1;2,3\n"), ';');
    assert_int_equal(sep_of("nom\nDupont\nMartin\n"), ';');
    /* Consistency beats the number of separators. */
    assert_int_equal(sep_of("a,b;c;d\n1,2;3\n4,5;6;7;8\n9,0;1\n"), ',');
}

/* A sample of 64 KiB or more is the start of a file. */
static void
test_sniff_cut_sample(void **state)
{
    (void)state;
    size_t cap = CSV_DEFAULT_SNIFF_BYTES + 4096, n = 0;
    char *s = malloc(cap);
    csv_sniff_result r;

    assert_non_null(s);
    n += (size_t)sprintf(s, "nom;tel\n");
    for (int i = 0; n < CSV_DEFAULT_SNIFF_BYTES; i++)
        n += (size_t)sprintf(s + n, "Nom%d;06%08d\n", i, i);
    n -= 3; /* cut the last row */
    assert_int_equal(csv_sniff(s, n, &r), 0);
    assert_int_equal(r.separator, ';');
    assert_int_equal(r.nrows, CSV_SNIFF_ROWS);
    assert_string_equal(r.rows[9].fields[0].ptr, "Nom9");
    csv_sniff_free(&r);

    /* Forced settings, as the preview's overrides. */
    csv_options o = {.separator = ',', .encoding = CSV_ENC_LATIN1};
    assert_int_equal(csv_sniff_with("a;b\n\x80,c\n", 9, &o, &r), 0);
    assert_int_equal(r.separator, ',');
    assert_int_equal(r.encoding, CSV_ENC_LATIN1);
    assert_string_equal(r.header.fields[0].ptr, "a;b");
    assert_string_equal(r.rows[0].fields[0].ptr, "\xc2\x80");
    csv_sniff_free(&r);
    free(s);
}

/* --- API behaviour ----------------------------------------------------- */

static void
test_callback_stops(void **state)
{
    (void)state;
    static transcript t;
    csv_reader *rd;
    const char in[] = "a;b\n1;2\n3;4\n5;6\n";

    memset(&t, 0, sizeof(t));
    t.stop_at = 2;
    assert_int_equal(csv_reader_new(NULL, on_record, &t, &rd), 0);
    assert_int_equal(csv_feed(rd, in, sizeof(in) - 1), 0); /* sniffing */
    assert_int_equal(csv_finish(rd), -42);
    assert_int_equal(t.count, 2);
    assert_int_equal(csv_feed(rd, "x", 1), -42);
    assert_int_equal(csv_finish(rd), -42);
    csv_reader_free(rd);
}

static void
test_api_errors_and_stats(void **state)
{
    (void)state;
    static transcript t;
    csv_reader *rd;
    csv_options bad = {.separator = '"'};
    csv_stats st;

    assert_int_equal(csv_reader_new(&bad, on_record, &t, &rd), PLT_EINVAL);
    assert_null(rd);
    assert_int_equal(csv_reader_new(NULL, NULL, &t, &rd), PLT_EINVAL);
    memset(&t, 0, sizeof(t));
    assert_int_equal(csv_reader_new(NULL, on_record, &t, &rd), 0);
    assert_int_equal(csv_reader_separator(rd), 0); /* not yet known */
    assert_int_equal(csv_feed(rd, "a,b\n\n1,2\n,\n\"x\n3,4", 17), 0);
    assert_int_equal(csv_finish(rd), 0);
    assert_int_equal(csv_reader_separator(rd), ',');
    assert_int_equal(csv_feed(rd, "x", 1), PLT_ESTATE);
    assert_int_equal(csv_finish(rd), PLT_ESTATE);
    csv_reader_stats(rd, &st);
    assert_int_equal(st.bytes, 17);
    assert_int_equal(st.lines, 6);
    assert_int_equal(st.records, 4); /* header, 1,2, broken "x, 3,4 */
    assert_int_equal(st.blank, 1);
    assert_int_equal(st.bad, 1); /* the quote */
    csv_reader_free(rd);
    csv_reader_free(NULL);
}

/* --- header suggestions ------------------------------------------------ */

static void
test_suggest_field(void **state)
{
    (void)state;
    static const struct {
        const char *header, *field;
    } t[] = {
        {"Téléphone", "phone"},
        {"TEL", "phone"},
        {"tél.", "phone"},
        {"Tel :", "phone"},
        {"phone", "phone"},
        {"Numéro", "phone"},
        {"N° de tél", "phone"},
        {"Numéro de téléphone", "phone"},
        {"Téléphone fixe", "phone"},
        {"Portable", "phone_mobile"},
        {"mobile", "phone_mobile"},
        {"GSM", "phone_mobile"},
        {"Tél. portable", "phone_mobile"},
        {"Nom", "last_name"},
        {"name", "last_name"},
        {"Last Name", "last_name"},
        {"last_name", "last_name"},
        {"NOM DE FAMILLE", "last_name"},
        {"Prénom", "first_name"},
        {"PRENOM", "first_name"},
        {"First name", "first_name"},
        {"firstName", "first_name"},
        {"Société", "company"},
        {"Raison sociale", "company"},
        {"company", "company"},
        {"Email", "email"},
        {"E-mail", "email"},
        {"e_mail", "email"},
        {"Courriel", "email"},
        {"Adresse e-mail", "email"},
        {"CP", "postal_code"},
        {"Code postal", "postal_code"},
        {"ZIP", "postal_code"},
        {"Zip Code", "postal_code"},
        {"Ville", "city"},
        {"city", "city"},
        {"Adresse", "address"},
        {"Civilité", "title"},
        {"Civ.", "title"},
        {"title", "title"},
        {"Date de naissance", "birth_date"},
        {"Né(e) le", "birth_date"},
        {"Pays", "country"},
        {"country", "country"},
        {"  Téléphone*  ", "phone"},
        {"T\xc3\x89L\xc3\x89PHONE", "phone"},
        {"Soci\xc3\xa9t\xc3\xa9\xc2\xa0", "company"},
        {"Numéro de rue", NULL},
        {"Numéro client", NULL},
        {"Commentaire", NULL},
        {"Chiffre d'affaires", NULL},
        {"", NULL},
        {"***", NULL},
        {"\xff\xfe", NULL},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const char *got = csv_suggest_field(t[i].header);
        if ((got == NULL) != (t[i].field == NULL) ||
            (got && strcmp(got, t[i].field) != 0))
            fail_msg("\"%s\": got %s, expected %s", t[i].header,
                     got ? got : "NULL", t[i].field ? t[i].field : "NULL");
    }
    assert_null(csv_suggest_field(NULL));
    /* Longer than any header we know. */
    assert_null(csv_suggest_field(
        "Téléphone Téléphone Téléphone Téléphone Téléphone Téléphone"
        " Téléphone Téléphone"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quotes_and_crlf),
        cmocka_unit_test(test_line_endings_and_blank_rows),
        cmocka_unit_test(test_newlines_inside_quotes),
        cmocka_unit_test(test_stray_quote_and_spaces),
        cmocka_unit_test(test_ragged_rows),
        cmocka_unit_test(test_unbalanced_quote_resync),
        cmocka_unit_test(test_unbalanced_quote_at_end),
        cmocka_unit_test(test_text_after_closing_quote),
        cmocka_unit_test(test_max_record_size),
        cmocka_unit_test(test_max_fields),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_unclosed_quote_big_file),
        cmocka_unit_test(test_replay_is_linear),
        cmocka_unit_test(test_utf8_split_anywhere),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_windows_1252_and_latin1),
        cmocka_unit_test(test_late_windows_1252_byte),
        cmocka_unit_test(test_encoding_detection),
        cmocka_unit_test(test_detection_on_cut_sample),
        cmocka_unit_test(test_french_excel_file),
        cmocka_unit_test(test_broken_file),
        cmocka_unit_test(test_resume_at_offset),
        cmocka_unit_test(test_sniff_french_excel),
        cmocka_unit_test(test_sniff_us_and_bom_files),
        cmocka_unit_test(test_separator_detection),
        cmocka_unit_test(test_sniff_cut_sample),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_api_errors_and_stats),
        cmocka_unit_test(test_suggest_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
