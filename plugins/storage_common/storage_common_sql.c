/* SPDX-License-Identifier: MIT */
/*
 * Portable SQL: the few text transformations both engines need before a
 * statement reaches the database, built on one small tokenizer.
 *
 * The tokenizer only knows what it must to avoid touching the wrong bytes:
 * string literals ('...' with '' escapes, E'...' with backslash escapes),
 * quoted identifiers ("..." and `...`), line and block comments (nested,
 * as PostgreSQL allows), PostgreSQL dollar-quoted bodies ($$...$$,
 * $tag$...$tag$), `$N` placeholders and words. Everything else is passed
 * through byte by byte. It never fails on malformed SQL (an unterminated
 * literal simply runs to the end): the database reports syntax errors with
 * far better messages than we could.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage_common.h"

typedef enum tk_kind {
    TK_END,
    TK_SPACE,    /* whitespace */
    TK_COMMENT,  /* -- or block comment */
    TK_LITERAL,  /* string, quoted identifier, dollar-quoted body */
    TK_WORD,     /* keyword or identifier */
    TK_PARAM,    /* $N */
    TK_BADPARAM, /* $N running into a word: $1abc */
    TK_OTHER     /* one byte of punctuation */
} tk_kind;

typedef struct tok {
    tk_kind kind;
    size_t start, end; /* [start, end) in the text */
} tok;

static bool
is_word_start(unsigned char c)
{
    /* Bytes >= 0x80 are parts of UTF-8 letters: both engines accept them
     * in identifiers. */
    return isalpha(c) || c == '_' || c >= 0x80;
}

static bool
is_word_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

/* End of a '...' literal opened at s[i] (the quote); backslash escapes
 * too when @p backslash (PostgreSQL E'...'). */
static size_t
skip_quoted(const char *s, size_t i, char q, bool backslash)
{
    i++;
    while (s[i]) {
        if (backslash && s[i] == '\\' && s[i + 1]) {
            i += 2;
            continue;
        }
        if (s[i] == q) {
            if (s[i + 1] == q) { /* doubled quote: an escaped one */
                i += 2;
                continue;
            }
            return i + 1;
        }
        i++;
    }
    return i;
}

static size_t
skip_block_comment(const char *s, size_t i)
{
    int depth = 0;
    while (s[i]) {
        if (s[i] == '/' && s[i + 1] == '*') {
            depth++;
            i += 2;
        } else if (s[i] == '*' && s[i + 1] == '/') {
            i += 2;
            if (--depth == 0)
                return i;
        } else {
            i++;
        }
    }
    return i;
}

/* A dollar quote opens at s[i] ('$'): "$$" or "$tag$". Returns the end of
 * the whole quoted body, or 0 if s[i] does not open one. */
static size_t
skip_dollar_quote(const char *s, size_t i)
{
    size_t j = i + 1;
    if (s[j] != '$') {
        if (!is_word_start((unsigned char)s[j]))
            return 0;
        while (is_word_char((unsigned char)s[j]))
            j++;
        if (s[j] != '$')
            return 0;
    }
    size_t taglen = j + 1 - i; /* includes both dollars */
    const char *tag = s + i;
    const char *p = s + j + 1;
    for (;;) {
        const char *d = strchr(p, '$');
        if (!d)
            return i + strlen(s + i); /* unterminated: runs to the end */
        if (strncmp(d, tag, taglen) == 0)
            return (size_t)(d - s) + taglen;
        p = d + 1;
    }
}

static void
next_tok(const char *s, size_t i, tok *t)
{
    unsigned char c = (unsigned char)s[i];
    t->start = i;
    if (c == '\0') {
        t->kind = TK_END;
        t->end = i;
        return;
    }
    if (isspace(c)) {
        while (s[i] && isspace((unsigned char)s[i]))
            i++;
        t->kind = TK_SPACE;
        t->end = i;
        return;
    }
    if (c == '-' && s[i + 1] == '-') {
        while (s[i] && s[i] != '\n')
            i++;
        t->kind = TK_COMMENT;
        t->end = i;
        return;
    }
    if (c == '/' && s[i + 1] == '*') {
        t->kind = TK_COMMENT;
        t->end = skip_block_comment(s, i);
        return;
    }
    if (c == '\'' || c == '"' || c == '`') {
        t->kind = TK_LITERAL;
        t->end = skip_quoted(s, i, (char)c, false);
        return;
    }
    if (c == '$') {
        if (isdigit((unsigned char)s[i + 1])) {
            i++;
            while (isdigit((unsigned char)s[i]))
                i++;
            t->kind = is_word_char((unsigned char)s[i]) || s[i] == '$'
                          ? TK_BADPARAM
                          : TK_PARAM;
            if (t->kind == TK_BADPARAM)
                while (is_word_char((unsigned char)s[i]) || s[i] == '$')
                    i++;
            t->end = i;
            return;
        }
        size_t e = skip_dollar_quote(s, i);
        if (e) {
            t->kind = TK_LITERAL;
            t->end = e;
            return;
        }
        t->kind = TK_OTHER;
        t->end = i + 1;
        return;
    }
    if (is_word_start(c) || isdigit(c)) {
        /* E'...' (PostgreSQL escape string): the prefix and the literal
         * form one token, and backslashes escape inside it. */
        if ((c == 'E' || c == 'e') && s[i + 1] == '\'') {
            t->kind = TK_LITERAL;
            t->end = skip_quoted(s, i + 1, '\'', true);
            return;
        }
        /* Both engines accept '$' inside an identifier after its first
         * character: a$1 is a name, not a placeholder. */
        while (is_word_char((unsigned char)s[i]) || s[i] == '$')
            i++;
        t->kind = TK_WORD;
        t->end = i;
        return;
    }
    t->kind = TK_OTHER;
    t->end = i + 1;
}

static bool
word_is(const char *s, const tok *t, const char *w)
{
    size_t n = t->end - t->start;
    return t->kind == TK_WORD && strlen(w) == n &&
           strncasecmp(s + t->start, w, n) == 0;
}

/* The next token that is not whitespace or a comment. */
static void
next_sig(const char *s, size_t i, tok *t)
{
    for (;;) {
        next_tok(s, i, t);
        if (t->kind != TK_SPACE && t->kind != TK_COMMENT)
            return;
        i = t->end;
    }
}

/* ------------------------------------------------------------------ */
/* Output buffer */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void
sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
sb_str(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* ------------------------------------------------------------------ */
/* Rewrites */

static const char *
type_word(const char *s, const tok *t, stc_engine e)
{
    if (word_is(s, t, "PLT_ID"))
        return e == STC_SQLITE
                   ? "INTEGER PRIMARY KEY AUTOINCREMENT"
                   : "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";
    if (word_is(s, t, "PLT_BLOB"))
        return e == STC_SQLITE ? "BLOB" : "BYTEA";
    if (word_is(s, t, "PLT_JSON"))
        return e == STC_SQLITE ? "TEXT" : "JSONB";
    return NULL;
}

/* At a FOR token: if it opens `FOR UPDATE [OF a, b] [SKIP LOCKED |
 * NOWAIT]`, return the end of the clause, else 0. */
static size_t
locking_clause_end(const char *s, const tok *for_tok)
{
    tok t;
    next_sig(s, for_tok->end, &t);
    if (!word_is(s, &t, "UPDATE"))
        return 0;
    size_t end = t.end;
    next_sig(s, end, &t);
    if (word_is(s, &t, "OF")) {
        /* A list of table names, separated by commas. */
        for (;;) {
            next_sig(s, t.end, &t);
            if (t.kind != TK_WORD && t.kind != TK_LITERAL)
                return 0;
            end = t.end;
            next_sig(s, end, &t);
            if (!(t.kind == TK_OTHER && s[t.start] == ','))
                break;
        }
    }
    if (word_is(s, &t, "NOWAIT"))
        return t.end;
    if (word_is(s, &t, "SKIP")) {
        tok l;
        next_sig(s, t.end, &l);
        if (word_is(s, &l, "LOCKED"))
            return l.end;
    }
    return end;
}

int
stc_sql_rewrite(const char *sql, stc_engine engine, unsigned what, char **out)
{
    if (!sql || !out)
        return PLT_EINVAL;
    sbuf b = {0};
    sb_add(&b, "", 0); /* an empty text still yields "" */
    size_t i = 0;
    tok t;
    for (next_tok(sql, i, &t); t.kind != TK_END; next_tok(sql, i, &t)) {
        if (t.kind == TK_WORD) {
            const char *rep =
                (what & STC_RW_TYPES) ? type_word(sql, &t, engine) : NULL;
            if (rep) {
                sb_str(&b, rep);
                i = t.end;
                continue;
            }
            if ((what & STC_RW_LOCKING) && engine == STC_SQLITE &&
                word_is(sql, &t, "FOR")) {
                size_t e = locking_clause_end(sql, &t);
                if (e) {
                    /* One space keeps the neighbours apart. */
                    sb_str(&b, " ");
                    i = e;
                    continue;
                }
            }
        }
        sb_add(&b, sql + t.start, t.end - t.start);
        i = t.end;
    }
    if (b.oom) {
        free(b.p);
        return PLT_ENOMEM;
    }
    *out = b.p;
    return 0;
}

int
stc_sql_max_param(const char *sql, uint32_t *max)
{
    uint32_t m = 0;
    if (max)
        *max = 0;
    if (!sql)
        return 0;
    size_t i = 0;
    tok t;
    for (next_tok(sql, i, &t); t.kind != TK_END; next_tok(sql, i, &t)) {
        if (t.kind == TK_BADPARAM)
            return PLT_EINVAL;
        if (t.kind == TK_PARAM) {
            unsigned long v = 0;
            for (size_t k = t.start + 1; k < t.end; k++) {
                v = v * 10 + (unsigned long)(sql[k] - '0');
                if (v > STC_MAX_PARAMS)
                    return PLT_EINVAL;
            }
            if (v == 0)
                return PLT_EINVAL;
            if (v > m)
                m = (uint32_t)v;
        }
        i = t.end;
    }
    if (max)
        *max = m;
    return 0;
}

bool
stc_sql_is_blank(const char *s)
{
    if (!s)
        return true;
    tok t;
    next_sig(s, 0, &t);
    return t.kind == TK_END;
}

void
stc_sql_first_word(const char *sql, char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    buf[0] = '\0';
    if (!sql)
        return;
    tok t;
    next_sig(sql, 0, &t);
    if (t.kind != TK_WORD)
        return;
    size_t len = t.end - t.start;
    if (len > n - 1)
        len = n - 1;
    for (size_t k = 0; k < len; k++)
        buf[k] = (char)toupper((unsigned char)sql[t.start + k]);
    buf[len] = '\0';
}

bool
stc_sql_is_txn_control(const char *sql)
{
    static const char *const words[] = {"BEGIN",   "START",    "COMMIT",
                                        "END",     "ROLLBACK", "SAVEPOINT",
                                        "RELEASE", "ABORT",    NULL};
    char w[16];
    stc_sql_first_word(sql, w, sizeof(w));
    for (size_t k = 0; words[k]; k++)
        if (strcmp(w, words[k]) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* Multi-row INSERTs (storage_pg's query_rows) */

int
stc_sql_values_split(const char *sql, stc_values_shape *out)
{
    if (!sql)
        return PLT_EINVAL;
    memset(out, 0, sizeof(*out));
    tok t;
    next_sig(sql, 0, &t);
    if (!word_is(sql, &t, "INSERT"))
        return PLT_ENOTSUP;
    /* VALUES at depth 0, with no placeholder before it. */
    size_t i = t.end;
    int depth = 0;
    for (;;) {
        next_tok(sql, i, &t);
        if (t.kind == TK_END || t.kind == TK_PARAM || t.kind == TK_BADPARAM)
            return PLT_ENOTSUP;
        if (t.kind == TK_OTHER && sql[t.start] == '(')
            depth++;
        else if (t.kind == TK_OTHER && sql[t.start] == ')')
            depth--;
        else if (depth == 0 && word_is(sql, &t, "VALUES"))
            break;
        i = t.end;
    }
    out->values_start = t.start;
    next_sig(sql, t.end, &t);
    if (t.kind != TK_OTHER || sql[t.start] != '(')
        return PLT_ENOTSUP;
    out->row_start = t.start;
    depth = 0;
    i = t.start;
    for (;;) {
        next_tok(sql, i, &t);
        if (t.kind == TK_END || t.kind == TK_BADPARAM)
            return PLT_ENOTSUP;
        if (t.kind == TK_OTHER && sql[t.start] == '(')
            depth++;
        else if (t.kind == TK_OTHER && sql[t.start] == ')' && --depth == 0)
            break;
        i = t.end;
    }
    out->row_end = t.end;
    /* One row only, and nothing after it that takes a parameter (an ON
     * CONFLICT or RETURNING clause is the same for every row). */
    next_sig(sql, out->row_end, &t);
    if (t.kind == TK_OTHER && sql[t.start] == ',')
        return PLT_ENOTSUP;
    depth = 0;
    for (i = out->row_end;;) {
        next_tok(sql, i, &t);
        if (t.kind == TK_END)
            break;
        if (t.kind == TK_PARAM || t.kind == TK_BADPARAM ||
            (t.kind == TK_OTHER && sql[t.start] == ';'))
            return PLT_ENOTSUP;
        if (t.kind == TK_OTHER && sql[t.start] == '(')
            depth++;
        else if (t.kind == TK_OTHER && sql[t.start] == ')')
            depth--;
        else if (depth == 0 && word_is(sql, &t, "RETURNING"))
            out->returning = true;
        i = t.end;
    }
    return 0;
}

int
stc_sql_values_rows(const char *sql, const stc_values_shape *shape,
                    size_t ncols, size_t nrows, char **out)
{
    *out = NULL;
    if (!sql || nrows == 0 || ncols == 0 ||
        ncols * nrows > STC_MAX_PARAMS)
        return PLT_EINVAL;
    sbuf b = {0};
    sb_add(&b, sql, shape->row_start);
    for (size_t r = 0; r < nrows; r++) {
        if (r)
            sb_str(&b, ", ");
        /* The row, its $N renumbered $(r * ncols + N). */
        size_t i = shape->row_start;
        while (i < shape->row_end) {
            tok t;
            next_tok(sql, i, &t);
            if (t.kind == TK_PARAM) {
                unsigned long n = strtoul(sql + t.start + 1, NULL, 10);
                char num[24];
                int k = snprintf(num, sizeof(num), "$%lu",
                                 (unsigned long)(r * ncols + n));
                sb_add(&b, num, (size_t)k);
            } else {
                sb_add(&b, sql + t.start, t.end - t.start);
            }
            i = t.end;
        }
    }
    sb_str(&b, sql + shape->row_end);
    if (b.oom) {
        free(b.p);
        return PLT_ENOMEM;
    }
    *out = b.p;
    return 0;
}

int
stc_sql_copy_text(const char *sql, const stc_values_shape *shape, size_t ncols,
                  char **out)
{
    *out = NULL;
    if (!sql || shape->returning || !stc_sql_is_blank(sql + shape->row_end))
        return PLT_ENOTSUP;
    /* The row: "(" $1 "," $2 ... ")" and nothing else. */
    tok t;
    size_t i = shape->row_start + 1, want = 1;
    for (;;) {
        next_sig(sql, i, &t);
        if (t.kind != TK_PARAM ||
            strtoul(sql + t.start + 1, NULL, 10) != (unsigned long)want)
            return PLT_ENOTSUP;
        next_sig(sql, t.end, &t);
        i = t.end;
        if (t.kind == TK_OTHER && sql[t.start] == ')')
            break;
        if (t.kind != TK_OTHER || sql[t.start] != ',')
            return PLT_ENOTSUP;
        want++;
    }
    if (want != ncols || t.end != shape->row_end)
        return PLT_ENOTSUP;
    /* INSERT INTO <table> (<columns>) VALUES: the columns are named. */
    next_sig(sql, 0, &t); /* INSERT */
    next_sig(sql, t.end, &t);
    if (!word_is(sql, &t, "INTO"))
        return PLT_ENOTSUP;
    size_t from = t.end;
    bool cols = false;
    for (i = from; i < shape->values_start; i = t.end) {
        next_tok(sql, i, &t);
        if (t.kind == TK_OTHER && sql[t.start] == '(')
            cols = true;
    }
    if (!cols)
        return PLT_ENOTSUP;
    sbuf b = {0};
    sb_str(&b, "COPY");
    sb_add(&b, sql + from, shape->values_start - from);
    sb_str(&b, "FROM STDIN");
    if (b.oom) {
        free(b.p);
        return PLT_ENOMEM;
    }
    *out = b.p;
    return 0;
}

int
stc_copy_row(const plt_value *v, size_t n, char **buf, size_t *len,
             size_t *cap)
{
    for (size_t k = 0; k < n; k++) {
        char num[32];
        const char *s = NULL;
        size_t sl = 0;
        switch (v[k].type) {
        case PLT_T_NULL:
            s = "\\N";
            sl = 2;
            break;
        case PLT_T_I64:
        case PLT_T_TIME:
            sl = (size_t)snprintf(num, sizeof(num), "%lld",
                                  (long long)v[k].v.i);
            s = num;
            break;
        case PLT_T_BOOL:
            s = v[k].v.i ? "1" : "0";
            sl = 1;
            break;
        case PLT_T_STR:
            s = v[k].v.s ? v[k].v.s : "";
            sl = strlen(s);
            break;
        default:
            return PLT_ENOTSUP;
        }
        /* Worst case: every byte escaped, plus the separator. */
        if (*len + 2 * sl + 2 > *cap) {
            size_t c = *cap ? *cap : 4096;
            while (c < *len + 2 * sl + 2)
                c *= 2;
            char *p = realloc(*buf, c);
            if (!p)
                return PLT_ENOMEM;
            *buf = p;
            *cap = c;
        }
        char *o = *buf + *len;
        if (v[k].type == PLT_T_STR) {
            for (size_t q = 0; q < sl; q++) {
                char ch = s[q];
                switch (ch) {
                case '\\':
                    *o++ = '\\';
                    *o++ = '\\';
                    break;
                case '\t':
                    *o++ = '\\';
                    *o++ = 't';
                    break;
                case '\n':
                    *o++ = '\\';
                    *o++ = 'n';
                    break;
                case '\r':
                    *o++ = '\\';
                    *o++ = 'r';
                    break;
                default:
                    *o++ = ch;
                }
            }
        } else {
            memcpy(o, s, sl);
            o += sl;
        }
        *o++ = k + 1 < n ? '\t' : '\n';
        *len = (size_t)(o - *buf);
    }
    return 0;
}
