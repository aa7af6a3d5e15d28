/* SPDX-License-Identifier: MIT */
/*
 * Configuration sections: a node of the YAML document (config_doc.c)
 * validated against a schema of plt_cfg_key, turned into a plt_cfg of
 * typed values with defaults applied, and read back through the getters
 * of the host table.
 *
 * Validation never stops at the first problem: `plateau check` must list
 * every unknown key, wrong type, out-of-range value and missing required
 * key at once, each with file:line and the dotted path of the key
 * ("sip.trunks[1].host"). Environment references (`${DB_PASSWORD}`) are
 * expanded here, while building, so that secrets need not be written in
 * the file. A plt_cfg owns copies of all its values; it only points into
 * the document for file names, so the document must outlive it.
 *
 * The same value parsers serve file values, schema defaults (which are
 * checked once, by plt__schema_check, before any plugin code runs) and the
 * command line (durations and booleans).
 */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "internal.h"


/* Schemas deeper than this are almost certainly a .sub cycle. */
#define CFG_MAX_DEPTH 16

#define SECRET_MASK "\"********\""

/* One schema key's value in a built section. */
typedef struct cfg_val {
    bool has;         /* holds a value: set, defaulted, or a SECTION */
    bool set;         /* set in the file */
    const char *file; /* where it was set (the doc's string) */
    int line;         /* line of its key; 0 when not set */
    union {
        char *s;   /* STR, PATH (absolute) */
        int64_t i; /* INT, DURATION (ms) */
        bool b;
        double d;
        struct {
            char **v;
            size_t n;
        } list;
        plt_cfg *sec; /* SECTION: never NULL in a successful build */
        struct {
            plt_cfg **v;
            size_t n;
        } tab;
    } u;
} cfg_val;

struct plt_cfg {
    const plt_cfg_key *schema;
    size_t n;         /* keys in the schema */
    cfg_val *v;       /* one per schema key, in schema order */
    const char *file; /* the doc's file name, or NULL */
    int line;         /* where the section starts; 0 when absent */
};

/* Why a value does not parse. */
typedef enum pv_err {
    PV_OK = 0,
    PV_NOMEM,
    PV_TYPE,   /* not of the key's type */
    PV_BIG,    /* a number too large for 64 bits */
    PV_RANGE,  /* outside [min, max] */
    PV_CHOICE, /* a STR not among the choices */
    PV_EMPTY   /* an empty PATH */
} pv_err;

/* ------------------------------------------------------------------ */
/* A growable string, for messages and environment expansion. */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static void
sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void
sb_str(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* The buffer's string (caller frees), or NULL if memory ran out. */
static char *
sb_take(sbuf *b)
{
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    if (!b->p)
        return plt__strdup("");
    return b->p;
}

/* ------------------------------------------------------------------ */
/* Scalar parsers. */

static pv_err
parse_i64(const char *s, int64_t *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return PV_TYPE;
    for (const char *q = p; *q; q++) {
        if (!isdigit((unsigned char)*q))
            return PV_TYPE;
    }
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        return PV_BIG;
    *out = v;
    return PV_OK;
}

/* Duration units, largest first (fmt_duration relies on the order). */
static const struct {
    const char *unit;
    int64_t ms;
} dur_units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000},
                 {"s", 1000},     {"ms", 1},      {NULL, 0}};

static pv_err
parse_duration(const char *s, int64_t *out)
{
    if (!strcmp(s, "0")) {
        *out = 0;
        return PV_OK;
    }
    /* Digits then a unit, nothing else: "1.5s" and "1m30s" are refused so
     * that a duration always reads one way. */
    const char *p = s;
    int64_t v = 0;
    bool big = false;
    for (; isdigit((unsigned char)*p); p++) {
        int digit = *p - '0';
        if (v > (INT64_MAX - digit) / 10)
            big = true;
        else
            v = v * 10 + digit;
    }
    if (p == s)
        return PV_TYPE;
    for (size_t i = 0; dur_units[i].unit; i++) {
        if (strcmp(p, dur_units[i].unit) != 0)
            continue;
        if (big || v > INT64_MAX / dur_units[i].ms)
            return PV_BIG;
        *out = v * dur_units[i].ms;
        return PV_OK;
    }
    return PV_TYPE;
}

static pv_err
parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", NULL};
    static const char *const no[] = {"false", "no", "off", NULL};
    for (size_t i = 0; yes[i]; i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = true;
            return PV_OK;
        }
        if (!strcasecmp(s, no[i])) {
            *out = false;
            return PV_OK;
        }
    }
    return PV_TYPE;
}

static pv_err
parse_double(const char *s, double *out)
{
    /* strtod() skips leading blanks and accepts "nan" and "inf"; neither
     * belongs in a configuration value. */
    if (!*s || isspace((unsigned char)*s))
        return PV_TYPE;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || !isfinite(v))
        return PV_TYPE;
    if (errno == ERANGE && v != 0)
        return PV_BIG;
    *out = v;
    return PV_OK;
}

int
plt__parse_duration_ms(const char *s, int64_t *out)
{
    int64_t v;
    if (!s || !out || parse_duration(s, &v) != PV_OK)
        return PLT_EINVAL;
    *out = v;
    return 0;
}

int
plt__parse_bool(const char *s, bool *out)
{
    bool v;
    if (!s || !out || parse_bool(s, &v) != PV_OK)
        return PLT_EINVAL;
    *out = v;
    return 0;
}

static bool
has_bounds(const plt_cfg_key *k)
{
    return (k->type == PLT_CFG_INT || k->type == PLT_CFG_DURATION) &&
           k->min < k->max;
}

/* Parse the text of a scalar type (not LIST, SECTION or TABLE) into @p v.
 * @p base is the absolute directory that relative paths are joined to. */
static pv_err
parse_value(const plt_cfg_key *k, const char *text, const char *base,
            cfg_val *v)
{
    pv_err e = PV_OK;
    switch (k->type) {
    case PLT_CFG_STR:
        if (k->choices) {
            size_t i = 0;
            while (k->choices[i] && strcmp(k->choices[i], text) != 0)
                i++;
            if (!k->choices[i])
                return PV_CHOICE;
        }
        v->u.s = plt__strdup(text);
        return v->u.s ? PV_OK : PV_NOMEM;
    case PLT_CFG_PATH:
        if (!*text)
            return PV_EMPTY;
        v->u.s = plt__path_join(base, text);
        return v->u.s ? PV_OK : PV_NOMEM;
    case PLT_CFG_INT:
        e = parse_i64(text, &v->u.i);
        break;
    case PLT_CFG_DURATION:
        e = parse_duration(text, &v->u.i);
        break;
    case PLT_CFG_BOOL:
        return parse_bool(text, &v->u.b);
    case PLT_CFG_DOUBLE:
        return parse_double(text, &v->u.d);
    default:
        return PV_TYPE;
    }
    if (e == PV_OK && has_bounds(k) && (v->u.i < k->min || v->u.i > k->max))
        return PV_RANGE;
    return e;
}

/* ------------------------------------------------------------------ */
/* Text for messages and dumps. */

static const char *
type_what(int type)
{
    static const char *const what[] = {[PLT_CFG_STR] = "a string",
                                       [PLT_CFG_INT] = "an integer",
                                       [PLT_CFG_BOOL] = "true or false",
                                       [PLT_CFG_DOUBLE] = "a number",
                                       [PLT_CFG_DURATION] =
                                           "a duration such as 30s or 500ms",
                                       [PLT_CFG_PATH] = "a path",
                                       [PLT_CFG_LIST] = "a list of strings",
                                       [PLT_CFG_SECTION] = "a mapping",
                                       [PLT_CFG_TABLE] = "a list of mappings"};
    return type >= PLT_CFG_STR && type <= PLT_CFG_TABLE ? what[type]
                                                        : "a value";
}

/* "30s", "1500ms": the largest unit that divides the value exactly. */
static void
fmt_duration(int64_t ms, char *buf, size_t len)
{
    snprintf(buf, len, "0s");
    for (size_t i = 0; ms && dur_units[i].unit; i++) {
        if (ms % dur_units[i].ms == 0) {
            snprintf(buf, len, "%lld%s", (long long)(ms / dur_units[i].ms),
                     dur_units[i].unit);
            return;
        }
    }
}

static void
fmt_bound(const plt_cfg_key *k, int64_t x, char *buf, size_t len)
{
    if (k->type == PLT_CFG_DURATION)
        fmt_duration(x, buf, len);
    else
        snprintf(buf, len, "%lld", (long long)x);
}

/* "a, b, c", or NULL without memory. */
static char *
choices_text(const plt_cfg_key *k)
{
    sbuf b = {0};
    for (size_t i = 0; k->choices && k->choices[i]; i++) {
        if (i)
            sb_str(&b, ", ");
        sb_str(&b, k->choices[i]);
    }
    return sb_take(&b);
}

/* Describe why @p text is not a valid value of @p k, either as a file
 * value ("expected an integer, got \"abc\"") or as a schema default
 * ("default 'abc' is not an integer"). Secrets are never echoed. */
static char *
pv_message(const plt_cfg_key *k, const char *text, pv_err e, bool is_default)
{
    bool echo = !(k->flags & PLT_CFG_SECRET);
    char lo[32], hi[32];
    fmt_bound(k, k->min, lo, sizeof(lo));
    fmt_bound(k, k->max, hi, sizeof(hi));
    char *choices = e == PV_CHOICE ? choices_text(k) : NULL;
    if (e == PV_CHOICE && !choices)
        return NULL;
    char *m = NULL;
    if (is_default) {
        switch (e) {
        case PV_RANGE:
            m = plt__asprintf("default '%s' is out of range [%s, %s]", text, lo,
                              hi);
            break;
        case PV_CHOICE:
            m = plt__asprintf("default '%s' is not one of: %s", text, choices);
            break;
        case PV_BIG:
            m = plt__asprintf("default '%s' is too large", text);
            break;
        case PV_EMPTY:
            m = plt__asprintf("default is an empty path");
            break;
        default:
            m = plt__asprintf("default '%s' is not %s", text,
                              type_what(k->type));
        }
    } else {
        switch (e) {
        case PV_RANGE:
            m = echo ? plt__asprintf("must be between %s and %s, got %s", lo,
                                     hi, text)
                     : plt__asprintf("must be between %s and %s", lo, hi);
            break;
        case PV_CHOICE:
            m = echo ? plt__asprintf("expected one of: %s; got \"%s\"", choices,
                                     text)
                     : plt__asprintf("expected one of: %s", choices);
            break;
        case PV_BIG:
            m = echo ? plt__asprintf("\"%s\" is too large", text)
                     : plt__asprintf("value is too large");
            break;
        case PV_EMPTY:
            m = plt__asprintf("expected a path, got an empty string");
            break;
        default:
            m = echo ? plt__asprintf("expected %s, got \"%s\"",
                                     type_what(k->type), text)
                     : plt__asprintf("expected %s", type_what(k->type));
        }
    }
    free(choices);
    return m;
}

/* How a node that has the wrong shape looks, for "got ...". */
static const char *
node_shape(const plt__node *n)
{
    switch (plt__node_kind(n)) {
    case PLT__N_SEQ:
        return "a list";
    case PLT__N_MAP:
        return "a mapping";
    default:
        return plt__node_is_null(n) ? "nothing" : "a single value";
    }
}

/* ------------------------------------------------------------------ */
/* Environment references: "${NAME}" is replaced by the variable's value,
 * "$${" stands for a literal "${". */

static bool
env_name_char(char c, bool first)
{
    return c == '_' || isalpha((unsigned char)c) ||
           (!first && isdigit((unsigned char)c));
}

/* Returns 0 with *out set, PLT_ENOMEM, or PLT_ECONFIG with *why set to a
 * message (caller frees both). */
static int
expand_env(const char *in, char **out, char **why)
{
    *out = *why = NULL;
    if (!strchr(in, '$')) {
        *out = plt__strdup(in);
        return *out ? 0 : PLT_ENOMEM;
    }
    sbuf b = {0};
    const char *p = in;
    while (*p) {
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            sb_add(&b, "${", 2);
            p += 3;
            continue;
        }
        if (!(p[0] == '$' && p[1] == '{')) {
            sb_add(&b, p++, 1);
            continue;
        }
        const char *name = p + 2;
        const char *end = strchr(name, '}');
        if (!end) {
            *why = plt__asprintf("unterminated '${' (write '$${' for a "
                                 "literal '${')");
            goto fail;
        }
        size_t len = (size_t)(end - name);
        bool ok = len > 0;
        for (size_t i = 0; ok && i < len; i++)
            ok = env_name_char(name[i], i == 0);
        char *var = strndup(name, len);
        if (!var) {
            free(b.p);
            return PLT_ENOMEM;
        }
        const char *val = ok ? getenv(var) : NULL;
        if (!ok)
            *why = plt__asprintf("invalid environment variable name '%s'", var);
        else if (!val)
            *why = plt__asprintf("environment variable '%s' is not set", var);
        free(var);
        if (!val)
            goto fail;
        sb_str(&b, val);
        p = end + 1;
    }
    *out = sb_take(&b);
    return *out ? 0 : PLT_ENOMEM;
fail:
    free(b.p);
    return *why ? PLT_ECONFIG : PLT_ENOMEM;
}

/* ------------------------------------------------------------------ */
/* Freeing. */

static size_t
schema_len(const plt_cfg_key *schema)
{
    size_t n = 0;
    while (schema && schema[n].name)
        n++;
    return n;
}

static void
val_free(const plt_cfg_key *k, cfg_val *v)
{
    switch (k->type) {
    case PLT_CFG_STR:
    case PLT_CFG_PATH:
        free(v->u.s);
        break;
    case PLT_CFG_LIST:
        for (size_t i = 0; i < v->u.list.n; i++)
            free(v->u.list.v[i]);
        free(v->u.list.v);
        break;
    case PLT_CFG_SECTION:
        plt__cfg_free(v->u.sec);
        break;
    case PLT_CFG_TABLE:
        for (size_t i = 0; i < v->u.tab.n; i++)
            plt__cfg_free(v->u.tab.v[i]);
        free(v->u.tab.v);
        break;
    default:
        break;
    }
    memset(&v->u, 0, sizeof(v->u));
}

void
plt__cfg_free(plt_cfg *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n; i++)
        val_free(&cfg->schema[i], &cfg->v[i]);
    free(cfg->v);
    free(cfg);
}

/* ------------------------------------------------------------------ */
/* Building. */

typedef struct bctx {
    const char *file; /* the doc's file name, or NULL */
    char *base;       /* absolute directory for relative paths */
    plt__diags *d;
    int errors;
    bool nomem;
} bctx;

/* Report "path: message" at @p line (0: no line) of the file. */
static void __attribute__((format(printf, 4, 5)))
berr(bctx *c, int line, const char *path, const char *fmt, ...)
{
    c->errors++;
    va_list ap;
    va_start(ap, fmt);
    char *msg = plt__vasprintf(fmt, ap);
    va_end(ap);
    if (!msg) {
        c->nomem = true;
        return;
    }
    if (path && *path)
        plt__diags_add(c->d, c->file, line, "%s: %s", path, msg);
    else
        plt__diags_add(c->d, c->file, line, "%s", msg);
    free(msg);
}

/* Report a value error from pv_message(). */
static void
berr_pv(bctx *c, int line, const char *path, const plt_cfg_key *k,
        const char *text, pv_err e)
{
    if (e == PV_NOMEM) {
        c->nomem = true;
        return;
    }
    char *m = pv_message(k, text, e, false);
    if (!m) {
        c->nomem = true;
        return;
    }
    berr(c, line, path, "%s", m);
    free(m);
}

static char *
join_path(bctx *c, const char *parent, const char *name)
{
    char *p = parent && *parent ? plt__asprintf("%s.%s", parent, name)
                                : plt__strdup(name);
    if (!p)
        c->nomem = true;
    return p;
}

static char *
index_path(bctx *c, const char *parent, size_t i)
{
    char *p = plt__asprintf("%s[%zu]", parent, i);
    if (!p)
        c->nomem = true;
    return p;
}

/* Optimal string alignment distance, for "did you mean". */
static size_t
edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[la][lb];
}

/* The schema key closest to @p name (distance <= 2), or NULL. */
static const char *
suggest(const plt_cfg_key *schema, const char *name)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; schema && schema[i].name; i++) {
        size_t dist = edit_distance(name, schema[i].name);
        /* A distance as long as the name itself ("a" vs "b") is not a
         * typo but a different word. */
        if (dist < best_d && dist < strlen(name)) {
            best = schema[i].name;
            best_d = dist;
        }
    }
    return best;
}

/* Parse a LIST default such as "[orange, ovh]" with the YAML parser
 * itself, by reading it as the value of a one-key document. */
static pv_err
parse_list_default(const char *def, cfg_val *v)
{
    char *text = plt__asprintf("v: %s\n", def);
    if (!text)
        return PV_NOMEM;
    plt__diags tmp = {0};
    plt__doc *doc = NULL;
    int rc = plt__doc_parse("<default>", text, strlen(text), &doc, &tmp);
    free(text);
    plt__diags_clear(&tmp);
    if (rc == PLT_ENOMEM)
        return PV_NOMEM;
    if (rc)
        return PV_TYPE;
    const plt__node *seq = plt__node_get(plt__doc_root(doc), "v");
    pv_err e = PV_OK;
    if (plt__node_kind(seq) != PLT__N_SEQ)
        e = PV_TYPE;
    size_t n = plt__node_len(seq);
    for (size_t i = 0; e == PV_OK && i < n; i++) {
        const plt__node *item = plt__node_at(seq, i);
        if (!plt__node_scalar(item) || plt__node_is_null(item))
            e = PV_TYPE;
    }
    if (e == PV_OK && n) {
        v->u.list.v = calloc(n, sizeof(char *));
        if (!v->u.list.v)
            e = PV_NOMEM;
    }
    for (size_t i = 0; e == PV_OK && i < n; i++) {
        v->u.list.v[i] = plt__strdup(plt__node_scalar(plt__node_at(seq, i)));
        if (!v->u.list.v[i])
            e = PV_NOMEM;
        v->u.list.n++;
    }
    plt__doc_free(doc);
    return e;
}

static pv_err
parse_default(const plt_cfg_key *k, const char *base, cfg_val *v)
{
    if (k->type == PLT_CFG_LIST)
        return parse_list_default(k->def, v);
    return parse_value(k, k->def, base, v);
}

static plt_cfg *build_map(bctx *c, const plt__node *map,
                          const plt_cfg_key *schema, const char *path,
                          int absent_line, int depth);

/* Expand and parse one scalar value of a scalar-typed key. */
static void
build_scalar(bctx *c, const plt_cfg_key *k, const plt__node *node,
             const char *path, cfg_val *v)
{
    int line = plt__node_line(node);
    const char *raw = plt__node_scalar(node);
    if (!raw) {
        berr(c, line, path, "expected %s, got %s", type_what(k->type),
             node_shape(node));
        return;
    }
    char *text, *why;
    int rc = expand_env(raw, &text, &why);
    if (rc) {
        if (rc == PLT_ENOMEM)
            c->nomem = true;
        else
            berr(c, line, path, "%s", why);
        free(why);
        return;
    }
    pv_err e = parse_value(k, text, c->base, v);
    if (e)
        berr_pv(c, line, path, k, text, e);
    else
        v->has = true;
    free(text);
}

static void
build_list(bctx *c, const plt_cfg_key *k, const plt__node *node,
           const char *path, cfg_val *v)
{
    if (plt__node_kind(node) != PLT__N_SEQ) {
        const char *s = plt__node_scalar(node);
        if (s && !(k->flags & PLT_CFG_SECRET))
            berr(c, plt__node_line(node), path,
                 "expected a list such as [a, b], got \"%s\"", s);
        else
            berr(c, plt__node_line(node), path,
                 "expected a list such as [a, b], got %s", node_shape(node));
        return;
    }
    size_t n = plt__node_len(node);
    if (n && !(v->u.list.v = calloc(n, sizeof(char *)))) {
        c->nomem = true;
        return;
    }
    int bad = 0;
    for (size_t i = 0; i < n && !c->nomem; i++) {
        const plt__node *item = plt__node_at(node, i);
        const char *raw =
            plt__node_is_null(item) ? NULL : plt__node_scalar(item);
        char *ipath = index_path(c, path, i);
        if (!ipath)
            break;
        char *text = NULL, *why = NULL;
        int rc = 0;
        if (!raw) {
            berr(c, plt__node_line(item), ipath, "expected a string, got %s",
                 node_shape(item));
            bad++;
        } else if ((rc = expand_env(raw, &text, &why)) == PLT_ENOMEM) {
            c->nomem = true;
        } else if (rc) {
            berr(c, plt__node_line(item), ipath, "%s", why);
            bad++;
        } else {
            v->u.list.v[v->u.list.n++] = text;
        }
        free(why);
        free(ipath);
    }
    v->has = !bad && !c->nomem;
}

static void
build_table(bctx *c, const plt_cfg_key *k, const plt__node *node,
            const char *path, int depth, cfg_val *v)
{
    if (plt__node_kind(node) != PLT__N_SEQ) {
        berr(c, plt__node_line(node), path,
             "expected a list of mappings (\"- key: value\"), got %s",
             node_shape(node));
        return;
    }
    size_t n = plt__node_len(node);
    if (n && !(v->u.tab.v = calloc(n, sizeof(plt_cfg *)))) {
        c->nomem = true;
        return;
    }
    int errors = c->errors;
    for (size_t i = 0; i < n && !c->nomem; i++) {
        const plt__node *item = plt__node_at(node, i);
        char *ipath = index_path(c, path, i);
        if (!ipath)
            break;
        if (plt__node_kind(item) != PLT__N_MAP)
            berr(c, plt__node_line(item), ipath, "expected a mapping, got %s",
                 node_shape(item));
        else
            v->u.tab.v[v->u.tab.n++] = build_map(
                c, item, k->sub, ipath, plt__node_line(item), depth + 1);
        free(ipath);
    }
    v->has = c->errors == errors && !c->nomem;
}

/* Fill value @p v of key @p k from @p node (NULL: absent or null).
 * @p sec_line is the line of the enclosing section for "missing" errors
 * (0: the section itself is absent). */
static void
build_key(bctx *c, const plt_cfg_key *k, const plt__node *node, int key_line,
          const char *parent, int sec_line, int depth, cfg_val *v)
{
    char *path = join_path(c, parent, k->name);
    if (!path)
        return;
    if (node && plt__node_is_null(node)) {
        /* "key:" with nothing is unset; if required, point at it. */
        if (k->flags & PLT_CFG_REQUIRED)
            berr(c, key_line, path, "required key has no value");
        node = NULL;
    } else if (!node && (k->flags & PLT_CFG_REQUIRED)) {
        berr(c, sec_line, parent, "missing required key '%s'", k->name);
    }
    if (node) {
        v->set = true;
        v->file = c->file;
        v->line = key_line;
        switch (k->type) {
        case PLT_CFG_SECTION:
            if (plt__node_kind(node) != PLT__N_MAP)
                berr(c, plt__node_line(node), path,
                     "expected a mapping, got %s", node_shape(node));
            else
                v->u.sec = build_map(c, node, k->sub, path,
                                     plt__node_line(node), depth + 1);
            v->has = v->u.sec != NULL;
            break;
        case PLT_CFG_TABLE:
            build_table(c, k, node, path, depth, v);
            break;
        case PLT_CFG_LIST:
            build_list(c, k, node, path, v);
            break;
        default:
            build_scalar(c, k, node, path, v);
        }
    } else if (k->flags & PLT_CFG_REQUIRED) {
        /* Reported above; nothing to fill. */
    } else if (k->type == PLT_CFG_SECTION) {
        /* An absent section still answers with its defaults; its own
         * required keys are then missing "where it would be". */
        v->u.sec = build_map(c, NULL, k->sub, path, sec_line, depth + 1);
        v->has = v->u.sec != NULL;
    } else if (k->def && k->type != PLT_CFG_TABLE) {
        pv_err e = parse_default(k, c->base, v);
        if (e == PV_NOMEM) {
            c->nomem = true;
        } else if (e) {
            /* plt__schema_check() catches this before a build; say whose
             * bug it is if a caller skipped it. */
            char *m = pv_message(k, k->def, e, true);
            if (m)
                berr(c, 0, path, "%s (a bug in the schema)", m);
            else
                c->nomem = true;
            free(m);
        } else {
            v->has = true;
        }
    }
    free(path);
}

static plt_cfg *
build_map(bctx *c, const plt__node *map, const plt_cfg_key *schema,
          const char *path, int absent_line, int depth)
{
    if (depth > CFG_MAX_DEPTH) {
        berr(c, plt__node_line(map), path,
             "configuration schema nests too deeply");
        return NULL;
    }
    plt_cfg *cfg = calloc(1, sizeof(*cfg));
    if (!cfg) {
        c->nomem = true;
        return NULL;
    }
    cfg->schema = schema;
    cfg->n = schema_len(schema);
    cfg->file = c->file;
    cfg->line = map ? plt__node_line(map) : 0;
    const plt__node **nodes = NULL;
    int *lines = NULL;
    if (cfg->n) {
        cfg->v = calloc(cfg->n, sizeof(*cfg->v));
        nodes = calloc(cfg->n, sizeof(*nodes));
        lines = calloc(cfg->n, sizeof(*lines));
        if (!cfg->v || !nodes || !lines) {
            cfg->n = 0; /* plt__cfg_free() must not walk a missing array */
            c->nomem = true;
            goto done;
        }
    }
    /* First the keys the file sets, to report unknown ones in file
     * order; duplicates were already refused by the document parser. */
    for (size_t i = 0; i < plt__node_len(map); i++) {
        int line;
        const plt__node *val;
        const char *name = plt__node_key_at(map, i, &line, &val);
        size_t k = 0;
        while (k < cfg->n && strcmp(schema[k].name, name) != 0)
            k++;
        if (k < cfg->n) {
            nodes[k] = val;
            lines[k] = line;
            continue;
        }
        const char *hint = suggest(schema, name);
        if (hint)
            berr(c, line, path, "unknown key '%s' (did you mean '%s'?)", name,
                 hint);
        else
            berr(c, line, path, "unknown key '%s'", name);
    }
    int sec_line = map ? cfg->line : absent_line;
    for (size_t k = 0; k < cfg->n && !c->nomem; k++)
        build_key(c, &schema[k], nodes[k], lines[k], path, sec_line, depth,
                  &cfg->v[k]);
done:
    free(nodes);
    free(lines);
    return cfg;
}

/* The absolute directory of @p file: relative PATH values are joined to
 * it, so the result must not depend on the current directory later. */
static char *
abs_dir(const char *file)
{
    char *dir = plt__dirname(file);
    if (!dir || dir[0] == '/')
        return dir;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return dir; /* Keep it relative rather than fail the build. */
    char *abs = plt__path_join(cwd, dir);
    free(dir);
    return abs;
}

/* Keys are checked in schema order, but a reader fixes a file top to
 * bottom: order this build's messages by line (stable; those without a
 * line last). */
static void
sort_by_line(plt__diags *d, size_t from)
{
    for (size_t i = from + 1; d && i < d->n; i++) {
        plt__diag g = d->v[i];
        unsigned key = (unsigned)g.line - 1; /* 0 wraps to the end */
        size_t j = i;
        while (j > from && (unsigned)d->v[j - 1].line - 1 > key) {
            d->v[j] = d->v[j - 1];
            j--;
        }
        d->v[j] = g;
    }
}

int
plt__cfg_build(const plt__doc *doc, const plt__node *node,
               const plt_cfg_key *schema, const char *where, plt_cfg **out,
               plt__diags *d)
{
    if (!out)
        return PLT_EINVAL;
    *out = NULL;
    bctx c = {.file = plt__doc_file(doc), .d = d};
    c.base = abs_dir(c.file);
    if (!c.base)
        return PLT_ENOMEM;
    if (plt__node_is_null(node))
        node = NULL;
    size_t from = d ? d->n : 0;
    plt_cfg *cfg = NULL;
    if (node && plt__node_kind(node) != PLT__N_MAP)
        berr(&c, plt__node_line(node), where, "expected a mapping, got %s",
             node_shape(node));
    else
        cfg = build_map(&c, node, schema, where ? where : "", 0, 0);
    free(c.base);
    sort_by_line(d, from);
    if (c.nomem || c.errors) {
        plt__cfg_free(cfg);
        return c.nomem ? PLT_ENOMEM : PLT_ECONFIG;
    }
    *out = cfg;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Getters. */

static const cfg_val *
lookup(const plt_cfg *cfg, const char *key, const plt_cfg_key **k)
{
    if (!cfg || !key)
        return NULL;
    for (size_t i = 0; i < cfg->n; i++) {
        if (!strcmp(cfg->schema[i].name, key)) {
            *k = &cfg->schema[i];
            return &cfg->v[i];
        }
    }
    return NULL;
}

static bool
type_fits(int want, int have)
{
    switch (want) {
    case PLT_CFG_STR:
        return have == PLT_CFG_STR || have == PLT_CFG_PATH;
    case PLT_CFG_DOUBLE:
        return have == PLT_CFG_DOUBLE || have == PLT_CFG_INT;
    case PLT_CFG_PATH:
    case PLT_CFG_INT:
    case PLT_CFG_BOOL:
    case PLT_CFG_DURATION:
        return want == have;
    default:
        return false;
    }
}

int
plt__cfg_get(const plt_cfg *cfg, const char *key, int type, void *out)
{
    const plt_cfg_key *k;
    const cfg_val *v = lookup(cfg, key, &k);
    if (!v || !out || !type_fits(type, k->type))
        return PLT_EINVAL;
    if (!v->has)
        return PLT_ENOENT;
    switch (type) {
    case PLT_CFG_STR:
    case PLT_CFG_PATH:
        *(const char **)out = v->u.s;
        break;
    case PLT_CFG_INT:
    case PLT_CFG_DURATION:
        *(int64_t *)out = v->u.i;
        break;
    case PLT_CFG_BOOL:
        *(bool *)out = v->u.b;
        break;
    case PLT_CFG_DOUBLE:
        *(double *)out = k->type == PLT_CFG_INT ? (double)v->u.i : v->u.d;
        break;
    }
    return 0;
}

int
plt__cfg_count(const plt_cfg *cfg, const char *key, size_t *out)
{
    const plt_cfg_key *k;
    const cfg_val *v = lookup(cfg, key, &k);
    if (!v || !out)
        return PLT_EINVAL;
    if (k->type == PLT_CFG_LIST)
        *out = v->u.list.n;
    else if (k->type == PLT_CFG_TABLE)
        *out = v->u.tab.n;
    else
        return PLT_EINVAL;
    return 0;
}

int
plt__cfg_list_at(const plt_cfg *cfg, const char *key, size_t i,
                 const char **out)
{
    const plt_cfg_key *k;
    const cfg_val *v = lookup(cfg, key, &k);
    if (!v || !out || k->type != PLT_CFG_LIST)
        return PLT_EINVAL;
    if (i >= v->u.list.n)
        return PLT_ERANGE;
    *out = v->u.list.v[i];
    return 0;
}

int
plt__cfg_table_at(const plt_cfg *cfg, const char *key, size_t i,
                  const plt_cfg **out)
{
    const plt_cfg_key *k;
    const cfg_val *v = lookup(cfg, key, &k);
    if (!v || !out || k->type != PLT_CFG_TABLE)
        return PLT_EINVAL;
    if (i >= v->u.tab.n)
        return PLT_ERANGE;
    *out = v->u.tab.v[i];
    return 0;
}

int
plt__cfg_section(const plt_cfg *cfg, const char *key, const plt_cfg **out)
{
    const plt_cfg_key *k;
    const cfg_val *v = lookup(cfg, key, &k);
    if (!v || !out || k->type != PLT_CFG_SECTION || !v->u.sec)
        return PLT_EINVAL;
    *out = v->u.sec;
    return 0;
}

int
plt__cfg_is_set(const plt_cfg *cfg, const char *key)
{
    const plt_cfg_key *k;
    const cfg_val *v = lookup(cfg, key, &k);
    return v && v->set ? 1 : 0;
}

int
plt__cfg_where(const plt_cfg *cfg, const char *key, const char **file,
               int *line)
{
    const char *f;
    int l;
    if (!cfg)
        return PLT_EINVAL;
    if (!key) {
        f = cfg->file;
        l = cfg->line;
    } else {
        const plt_cfg_key *k;
        const cfg_val *v = lookup(cfg, key, &k);
        if (!v)
            return PLT_EINVAL;
        f = v->file;
        l = v->set ? v->line : 0;
    }
    if (l <= 0)
        return PLT_ENOENT;
    if (file)
        *file = f;
    if (line)
        *line = l;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Dump. */

/* Whether a plain YAML scalar would read back as this same string. */
static bool
needs_quotes(const char *s)
{
    static const char *const special[] = {"null", "true", "false", "yes", "no",
                                          "on",   "off",  "y",     "n",   NULL};
    if (!*s || strchr("-?:,[]{}#&*!|>'\"%@`~+. \t", s[0]) ||
        isdigit((unsigned char)s[0]))
        return true;
    size_t len = strlen(s);
    if (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == ':')
        return true;
    if (strstr(s, ": ") || strstr(s, " #"))
        return true;
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return true;
    }
    for (size_t i = 0; special[i]; i++) {
        if (!strcasecmp(s, special[i]))
            return true;
    }
    return false;
}

/* Write a string so that reading the dump back yields it again, including
 * through environment expansion ("${" is written "$${"). */
static void
dump_str(FILE *to, const char *s)
{
    bool q = needs_quotes(s);
    if (q)
        fputc('"', to);
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (p[0] == '$' && p[1] == '{')
            fputs("$$", to);
        else if (q && (ch == '"' || ch == '\\'))
            fprintf(to, "\\%c", ch);
        else if (q && ch == '\n')
            fputs("\\n", to);
        else if (q && ch == '\t')
            fputs("\\t", to);
        else if (q && (ch < 0x20 || ch == 0x7f))
            fprintf(to, "\\x%02X", ch);
        else
            fputc(ch, to);
    }
    if (q)
        fputc('"', to);
}

static void
dump_double(FILE *to, double d)
{
    /* The shortest form that reads back as the same double. */
    char buf[64];
    snprintf(buf, sizeof(buf), "%.15g", d);
    if (strtod(buf, NULL) != d)
        snprintf(buf, sizeof(buf), "%.17g", d);
    fputs(buf, to);
}

static bool cfg_has_any(const plt_cfg *cfg);

static bool
val_shown(const plt_cfg_key *k, const cfg_val *v)
{
    if (!v->has)
        return false;
    if (k->type == PLT_CFG_SECTION)
        return v->set || cfg_has_any(v->u.sec);
    return true;
}

static bool
cfg_has_any(const plt_cfg *cfg)
{
    for (size_t i = 0; cfg && i < cfg->n; i++) {
        if (val_shown(&cfg->schema[i], &cfg->v[i]))
            return true;
    }
    return false;
}

/* Print the keys of @p cfg at @p indent; with @p inline_first, the first
 * key follows a "- " already written (a TABLE item). */
static void
dump_cfg(const plt_cfg *cfg, FILE *to, int indent, bool inline_first)
{
    bool first = true;
    for (size_t i = 0; i < cfg->n; i++) {
        const plt_cfg_key *k = &cfg->schema[i];
        const cfg_val *v = &cfg->v[i];
        if (!val_shown(k, v))
            continue;
        int pad = first && inline_first ? 0 : indent;
        first = false;
        fprintf(to, "%*s%s:", pad, "", k->name);
        if (k->flags & PLT_CFG_SECRET) {
            fputs(" " SECRET_MASK "\n", to);
            continue;
        }
        char buf[32];
        switch (k->type) {
        case PLT_CFG_STR:
        case PLT_CFG_PATH:
            fputc(' ', to);
            dump_str(to, v->u.s);
            break;
        case PLT_CFG_INT:
            fprintf(to, " %lld", (long long)v->u.i);
            break;
        case PLT_CFG_BOOL:
            fputs(v->u.b ? " true" : " false", to);
            break;
        case PLT_CFG_DOUBLE:
            fputc(' ', to);
            dump_double(to, v->u.d);
            break;
        case PLT_CFG_DURATION:
            fmt_duration(v->u.i, buf, sizeof(buf));
            fprintf(to, " %s", buf);
            break;
        case PLT_CFG_LIST:
            if (!v->u.list.n)
                fputs(" []", to);
            for (size_t j = 0; j < v->u.list.n; j++) {
                fprintf(to, "\n%*s- ", indent + 2, "");
                dump_str(to, v->u.list.v[j]);
            }
            break;
        case PLT_CFG_SECTION:
            if (!cfg_has_any(v->u.sec)) {
                fputs(" {}\n", to);
                continue;
            }
            fputc('\n', to);
            dump_cfg(v->u.sec, to, indent + 2, false);
            continue;
        case PLT_CFG_TABLE:
            if (!v->u.tab.n)
                fputs(" []", to);
            fputc('\n', to);
            for (size_t j = 0; j < v->u.tab.n; j++) {
                const plt_cfg *item = v->u.tab.v[j];
                fprintf(to, "%*s- ", indent + 2, "");
                if (cfg_has_any(item))
                    dump_cfg(item, to, indent + 4, true);
                else
                    fputs("{}\n", to);
            }
            continue;
        }
        fputc('\n', to);
    }
}

void
plt__cfg_dump(const plt_cfg *cfg, FILE *to, int indent)
{
    if (!cfg || !to)
        return;
    dump_cfg(cfg, to, indent > 0 ? indent : 0, false);
}

/* ------------------------------------------------------------------ */
/* Diff. */

static bool cfg_equal(const plt_cfg *a, const plt_cfg *b);

static bool
val_equal(const plt_cfg_key *k, const cfg_val *a, const cfg_val *b)
{
    bool ha = a && a->has, hb = b && b->has;
    if (!ha || !hb)
        return ha == hb;
    switch (k->type) {
    case PLT_CFG_STR:
    case PLT_CFG_PATH:
        return !strcmp(a->u.s, b->u.s);
    case PLT_CFG_INT:
    case PLT_CFG_DURATION:
        return a->u.i == b->u.i;
    case PLT_CFG_BOOL:
        return a->u.b == b->u.b;
    case PLT_CFG_DOUBLE:
        return a->u.d == b->u.d;
    case PLT_CFG_LIST:
        if (a->u.list.n != b->u.list.n)
            return false;
        for (size_t i = 0; i < a->u.list.n; i++) {
            if (strcmp(a->u.list.v[i], b->u.list.v[i]) != 0)
                return false;
        }
        return true;
    case PLT_CFG_SECTION:
        return cfg_equal(a->u.sec, b->u.sec);
    case PLT_CFG_TABLE:
        if (a->u.tab.n != b->u.tab.n)
            return false;
        for (size_t i = 0; i < a->u.tab.n; i++) {
            if (!cfg_equal(a->u.tab.v[i], b->u.tab.v[i]))
                return false;
        }
        return true;
    default:
        return true;
    }
}

/* Keys are matched by name, so two builds compare correctly even if the
 * schema table was copied between them. */
static bool
cfg_equal(const plt_cfg *a, const plt_cfg *b)
{
    if (!a || !b)
        return a == b;
    for (size_t i = 0; i < b->n; i++) {
        const plt_cfg_key *ka;
        const cfg_val *va = lookup(a, b->schema[i].name, &ka);
        if (!val_equal(&b->schema[i], va, &b->v[i]))
            return false;
    }
    return a->n == b->n;
}

size_t
plt__cfg_diff(const plt_cfg *old_cfg, const plt_cfg *new_cfg,
              void (*cb)(const plt_cfg_key *key, void *arg), void *arg)
{
    size_t count = 0;
    for (size_t i = 0; new_cfg && i < new_cfg->n; i++) {
        const plt_cfg_key *k = &new_cfg->schema[i];
        const plt_cfg_key *ko;
        const cfg_val *vo = lookup(old_cfg, k->name, &ko);
        if (vo && ko->type != k->type)
            vo = NULL;
        if (val_equal(k, vo, &new_cfg->v[i]))
            continue;
        count++;
        if (cb)
            cb(k, arg);
    }
    return count;
}

/* ------------------------------------------------------------------ */
/* Schema check. */

typedef struct sctx {
    const char *plugin;
    plt__diags *d;
    int errors;
} sctx;

static void __attribute__((format(printf, 3, 4)))
serr(sctx *s, const char *key, const char *fmt, ...)
{
    s->errors++;
    va_list ap;
    va_start(ap, fmt);
    char *msg = plt__vasprintf(fmt, ap);
    va_end(ap);
    if (!msg)
        return;
    if (key)
        plt__diags_add(s->d, NULL, 0, "plugin %s: config key '%s': %s",
                       s->plugin, key, msg);
    else
        plt__diags_add(s->d, NULL, 0, "plugin %s: config schema: %s", s->plugin,
                       msg);
    free(msg);
}

static void
check_default(sctx *s, const plt_cfg_key *k, const char *name)
{
    if (!k->def)
        return;
    if (k->type == PLT_CFG_SECTION || k->type == PLT_CFG_TABLE) {
        serr(s, name,
             "a %s cannot have a default (give its members "
             "defaults instead)",
             k->type == PLT_CFG_SECTION ? "SECTION" : "TABLE");
        return;
    }
    cfg_val v = {0};
    /* Any absolute base will do: only whether the default parses matters
     * here. */
    pv_err e = parse_default(k, "/", &v);
    val_free(k, &v);
    if (e == PV_NOMEM) {
        serr(s, name, "out of memory while checking the default");
    } else if (e) {
        char *m = pv_message(k, k->def, e, true);
        serr(s, name, "%s", m ? m : "invalid default");
        free(m);
    }
}

static void
check_schema(sctx *s, const plt_cfg_key *schema, const char *prefix, int depth)
{
    if (depth > CFG_MAX_DEPTH) {
        serr(s, prefix, "sub-schemas nest too deeply (a .sub cycle?)");
        return;
    }
    for (size_t i = 0; schema[i].name; i++) {
        const plt_cfg_key *k = &schema[i];
        char *name = prefix ? plt__asprintf("%s.%s", prefix, k->name)
                            : plt__strdup(k->name);
        if (!name) {
            serr(s, NULL, "out of memory");
            return;
        }
        if (!plt__name_valid(k->name))
            serr(s, name,
                 "invalid name (use [a-z][a-z0-9_]*, at most 63 "
                 "characters)");
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(schema[j].name, k->name)) {
                serr(s, name, "declared twice");
                break;
            }
        }
        bool nested = k->type == PLT_CFG_SECTION || k->type == PLT_CFG_TABLE;
        if (k->type < PLT_CFG_STR || k->type > PLT_CFG_TABLE) {
            serr(s, name, "unknown type %d", (int)k->type);
            free(name);
            continue;
        }
        if (k->flags &
            ~(uint32_t)(PLT_CFG_REQUIRED | PLT_CFG_RELOADABLE | PLT_CFG_SECRET))
            serr(s, name, "unknown flags 0x%x", (unsigned)k->flags);
        if (k->reserved[0] || k->reserved[1])
            serr(s, name, "reserved fields must be zero");
        if (nested && !k->sub)
            serr(s, name, "a %s needs .sub (its members)",
                 k->type == PLT_CFG_SECTION ? "SECTION" : "TABLE");
        if (!nested && k->sub)
            serr(s, name, "only SECTION and TABLE keys may have .sub");
        if (k->choices && k->type != PLT_CFG_STR)
            serr(s, name, "choices only apply to STR keys");
        if (k->choices && k->type == PLT_CFG_STR && !k->choices[0])
            serr(s, name, "choices is empty");
        if ((k->min || k->max) && k->type != PLT_CFG_INT &&
            k->type != PLT_CFG_DURATION)
            serr(s, name, "min/max only apply to INT and DURATION keys");
        else if (k->min > k->max)
            serr(s, name, "min (%lld) is greater than max (%lld)",
                 (long long)k->min, (long long)k->max);
        check_default(s, k, name);
        if (nested && k->sub)
            check_schema(s, k->sub, name, depth + 1);
        free(name);
    }
}

int
plt__schema_check(const plt_cfg_key *schema, const char *plugin, plt__diags *d)
{
    if (!schema)
        return 0;
    sctx s = {.plugin = plugin ? plugin : "?", .d = d};
    check_schema(&s, schema, NULL, 0);
    return s.errors ? PLT_EINVAL : 0;
}

/* ------------------------------------------------------------------ */
/* Reload classification, shared by the core and the fake host. */

typedef struct diff_acc {
    const char *who;
    size_t changed, restart;
} diff_acc;

static void
on_diff(const plt_cfg_key *key, void *arg)
{
    diff_acc *a = arg;
    a->changed++;
    if (!(key->flags & PLT_CFG_RELOADABLE)) {
        a->restart++;
        plt__log("core", PLT_LOG_WARN,
                 "reload: %s.%s changed but only takes effect after a "
                 "restart",
                 a->who, key->name);
    }
}

size_t
plt__cfg_reload_diff(const plt_cfg *old_cfg, const plt_cfg *new_cfg,
                     const char *who, size_t *restart)
{
    diff_acc a = {.who = who};
    plt__cfg_diff(old_cfg, new_cfg, on_diff, &a);
    if (restart)
        *restart = a.restart;
    return a.changed;
}
