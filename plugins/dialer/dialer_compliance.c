/* SPDX-License-Identifier: MIT */
/*
 * Compliance packs: the legal rules of a country as data
 * (conf/compliance/NAME.yaml), loaded with libyaml and validated key by
 * key (an unknown key or a bad value is refused with file:line), and the
 * cache of time zones the dialer evaluates hours in. Zones, windows and
 * holidays (Easter-based ones included) are plateau_schedule's
 * (plugins/schedule); the cache maps a contact's zone name to the zone
 * loaded at start.
 *
 * A pack holds: legal hours (windows by weekday), holidays (fixed "MM-DD",
 * Easter offsets in days, dated "YYYY-MM-DD"), a cap on attempts per
 * consumer over a window across all campaigns, silences after a refusal
 * and after an abandoned call, an opposition list (a DNC scope checked at
 * dial time), the abandonment limit with its window (the day, or rolling)
 * and whether AMD false positives count, the minimum ring before "no
 * answer", and whether abandoned calls must hear a message.
 *
 * Time zones are read once, at start (dialer_zones_load() preloads every
 * zone of the system's database, ADR 0007's startup I/O): evaluating an
 * hour on the loop never touches the disk.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <yaml.h>

#include "dialer_int.h"

/* ------------------------------------------------------------------ */
/* time zones */

static GHashTable *tz_cache; /* name -> schedule_zone* */
static GMutex tz_lock;

static void
tz_free(gpointer z)
{
    schedule_zone_free(z);
}

/* Load @p name into the cache (startup only: this reads its file). */
int
dialer_tz_preload(const char *name)
{
    if (!name || !*name)
        return PLT_EINVAL;
    g_mutex_lock(&tz_lock);
    if (!tz_cache)
        tz_cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                         tz_free);
    int rc = 0;
    if (!g_hash_table_contains(tz_cache, name)) {
        schedule_zone *z;
        rc = schedule_zone_open(name, &z);
        if (rc == 0)
            g_hash_table_insert(tz_cache, g_strdup(name), z);
    }
    g_mutex_unlock(&tz_lock);
    return rc;
}

/* A zone loaded at start, or NULL: never reads a file (every zone of the
 * system's database was preloaded by dialer_zones_load()). */
static const schedule_zone *
tz_get(const char *name)
{
    if (!name || !*name)
        return NULL;
    g_mutex_lock(&tz_lock);
    const schedule_zone *z =
        tz_cache ? g_hash_table_lookup(tz_cache, name) : NULL;
    g_mutex_unlock(&tz_lock);
    return z;
}

bool
dialer_tz_known(const char *name)
{
    return tz_get(name) != NULL;
}

void
dialer_tz_cache_free(void)
{
    g_mutex_lock(&tz_lock);
    if (tz_cache) {
        g_hash_table_destroy(tz_cache);
        tz_cache = NULL;
    }
    g_mutex_unlock(&tz_lock);
}

int
dialer_local_time(int64_t utc_ms, const char *tz, const char *fallback,
                  dialer_local *out)
{
    const schedule_zone *z = tz_get(tz);
    if (!z)
        z = tz_get(fallback);
    if (!z)
        return PLT_ENOENT;
    return schedule_local_time(z, utc_ms, out);
}

/* ------------------------------------------------------------------ */
/* pack loading */

typedef struct pctx {
    yaml_document_t doc;
    const char *path;
    char *err;
    size_t errlen;
    bool failed;
} pctx;

__attribute__((format(printf, 3, 4))) static void
perr(pctx *p, yaml_node_t *n, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "%s:%lu: %s", p->path,
             n ? (unsigned long)n->start_mark.line + 1 : 0ul, msg);
}

static const char *
scalar(pctx *p, yaml_node_t *n, const char *what)
{
    if (!n || n->type != YAML_SCALAR_NODE) {
        perr(p, n, "%s: expected a value", what);
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

/* "30d", "72h", "15s", "250ms", "0". */
static int64_t
duration_ms(pctx *p, yaml_node_t *n, const char *what)
{
    const char *s = scalar(p, n, what);
    if (!s)
        return 0;
    char *end;
    double v = strtod(s, &end);
    int64_t mul = -1;
    if (end == s || v < 0)
        mul = -1;
    else if (!strcmp(end, "ms"))
        mul = 1;
    else if (!strcmp(end, "s"))
        mul = 1000;
    else if (!strcmp(end, "m"))
        mul = 60000;
    else if (!strcmp(end, "h"))
        mul = 3600000;
    else if (!strcmp(end, "d"))
        mul = DIALER_DAY_MS;
    else if (!*end && v == 0)
        mul = 1;
    if (mul < 0) {
        perr(p, n, "%s: '%s' is not a duration (30s, 72h, 60d)", what, s);
        return 0;
    }
    return (int64_t)(v * (double)mul);
}

static double
number(pctx *p, yaml_node_t *n, const char *what, double lo, double hi)
{
    const char *s = scalar(p, n, what);
    if (!s)
        return 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || v < lo || v > hi) {
        perr(p, n, "%s: '%s' is not a number in [%g, %g]", what, s, lo, hi);
        return 0;
    }
    return v;
}

static bool
boolean(pctx *p, yaml_node_t *n, const char *what)
{
    const char *s = scalar(p, n, what);
    if (!s)
        return false;
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
        return true;
    if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
        return false;
    perr(p, n, "%s: '%s' is not a boolean", what, s);
    return false;
}

/* The text of a window as plateau_schedule reads it: day names in lower
 * case, "*" for every day, times on two digits ("8:00" -> "08:00"). */
static int
window_parse(const char *s, schedule_window *w)
{
    char days[64], text[96];
    int h1, m1, h2, m2;
    if (sscanf(s, "%63s %d:%d-%d:%d", days, &h1, &m1, &h2, &m2) != 5 ||
        h1 < 0 || m1 < 0 || h2 < 0 || m2 < 0)
        return PLT_EINVAL;
    for (char *d = days; *d; d++)
        *d = (char)tolower((unsigned char)*d);
    snprintf(text, sizeof(text), "%s %02d:%02d-%02d:%02d",
             strcmp(days, "*") ? days : "daily", h1, m1, h2, m2);
    return schedule_window_parse(text, w);
}

/* plateau_schedule's day bits start on Sunday, PLT_DAY(0) is Monday. */
schedule_window
dialer_window_to_schedule(const plt_dialer_window *w)
{
    schedule_window r = {.from_min = (int16_t)w->from_min,
                         .to_min = (int16_t)w->to_min};
    for (int i = 0; i < 7; i++)
        if (w->days & PLT_DAY(i))
            r.days |= (uint8_t)(1u << ((i + 1) % 7));
    return r;
}

int
dialer_parse_window(const char *s, plt_dialer_window *w)
{
    schedule_window sw;
    int rc = window_parse(s, &sw);
    if (rc != 0)
        return rc;
    w->days = 0;
    for (int i = 0; i < 7; i++)
        if (sw.days & (1u << ((i + 1) % 7)))
            w->days |= PLT_DAY(i);
    w->from_min = sw.from_min;
    w->to_min = sw.to_min;
    return 0;
}

static yaml_node_t *
node(pctx *p, int id)
{
    return yaml_document_get_node(&p->doc, id);
}

static void
load_hours(pctx *p, yaml_node_t *n, dialer_pack *pk)
{
    if (n->type != YAML_SEQUENCE_NODE) {
        perr(p, n, "hours: expected a list of \"mon-fri 10:00-13:00\"");
        return;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start;
         it < n->data.sequence.items.top; it++) {
        yaml_node_t *v = node(p, *it);
        const char *s = scalar(p, v, "hours");
        if (!s)
            return;
        if (pk->nhours == DIALER_MAX_WINDOWS) {
            perr(p, v, "hours: at most %d windows", DIALER_MAX_WINDOWS);
            return;
        }
        if (window_parse(s, &pk->hours[pk->nhours++]) != 0) {
            perr(p, v, "hours: '%s' is not \"mon-fri 10:00-13:00\"", s);
            return;
        }
    }
}

static void
load_holidays(pctx *p, yaml_node_t *n, dialer_pack *pk)
{
    if (n->type != YAML_MAPPING_NODE) {
        perr(p, n, "holidays: expected fixed/easter/dates");
        return;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top && !p->failed; pr++) {
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        const char *key = scalar(p, k, "key");
        if (!key)
            return;
        if (v->type != YAML_SEQUENCE_NODE) {
            perr(p, v, "holidays.%s: expected a list", key);
            return;
        }
        for (yaml_node_item_t *it = v->data.sequence.items.start;
             it < v->data.sequence.items.top && !p->failed; it++) {
            yaml_node_t *e = node(p, *it);
            const char *s = scalar(p, e, key);
            int a, b, c;
            char t, text[24];
            if (!s)
                return;
            schedule_holidays *h = &pk->holidays;
            if (!strcmp(key, "fixed")) {
                if (sscanf(s, "%2d-%2d%c", &a, &b, &t) != 2 || a < 1 ||
                    a > 12 || b < 1 || b > 31 ||
                    h->nfixed == DIALER_MAX_HOLIDAYS ||
                    (snprintf(text, sizeof(text), "%02d-%02d", a, b),
                     schedule_holiday_add(h, text) != 0))
                    perr(p, e, "holidays.fixed: '%s' is not MM-DD", s);
            } else if (!strcmp(key, "easter")) {
                double d = number(p, e, "holidays.easter", -60, 80);
                snprintf(text, sizeof(text), "easter%+d", (int)d);
                if (!p->failed && h->neaster < 16 &&
                    schedule_holiday_add(h, text) != 0)
                    perr(p, e, "holidays.easter: cannot add '%s'", s);
            } else if (!strcmp(key, "dates")) {
                if (sscanf(s, "%4d-%2d-%2d%c", &a, &b, &c, &t) != 3 ||
                    b < 1 || b > 12 || c < 1 || c > 31 ||
                    h->ndated == DIALER_MAX_HOLIDAYS ||
                    (snprintf(text, sizeof(text), "%04d-%02d-%02d", a, b, c),
                     schedule_holiday_add(h, text) != 0))
                    perr(p, e, "holidays.dates: '%s' is not YYYY-MM-DD", s);
            } else {
                perr(p, k, "holidays: unknown key '%s' (fixed, easter, dates)",
                     key);
            }
        }
    }
}

static void
load_abandon(pctx *p, yaml_node_t *n, dialer_pack *pk)
{
    if (n->type != YAML_MAPPING_NODE) {
        perr(p, n, "abandon: expected a mapping");
        return;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top && !p->failed; pr++) {
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        const char *key = scalar(p, k, "key");
        if (!key)
            return;
        if (!strcmp(key, "limit")) {
            pk->abandon_limit = number(p, v, "abandon.limit", 0, 1);
        } else if (!strcmp(key, "window")) {
            const char *s = scalar(p, v, "abandon.window");
            if (s && !strcmp(s, "day"))
                pk->abandon_daily = true;
            else if (s)
                pk->abandon_window_ms = duration_ms(p, v, "abandon.window");
        } else if (!strcmp(key, "count_amd_false_positives")) {
            pk->count_amd_false_positives = boolean(p, v, key);
        } else if (!strcmp(key, "amd_false_positive_rate")) {
            pk->amd_false_positive_rate = number(p, v, key, 0, 1);
        } else if (!strcmp(key, "message")) {
            const char *s = scalar(p, v, "abandon.message");
            if (s && !strcmp(s, "required"))
                pk->abandon_message_required = true;
            else if (s && strcmp(s, "optional"))
                perr(p, v, "abandon.message: 'required' or 'optional'");
        } else if (!strcmp(key, "no_repeat_within")) {
            pk->after_abandon_ms = duration_ms(p, v, key);
        } else {
            perr(p, k, "abandon: unknown key '%s'", key);
        }
    }
}

static void
load_cap(pctx *p, yaml_node_t *n, dialer_pack *pk)
{
    if (n->type != YAML_MAPPING_NODE) {
        perr(p, n, "max_attempts_per_consumer: expected {count, window}");
        return;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top && !p->failed; pr++) {
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        const char *key = scalar(p, k, "key");
        if (!key)
            return;
        if (!strcmp(key, "count"))
            pk->cap_count = (int32_t)number(p, v, "count", 1, 1000);
        else if (!strcmp(key, "window"))
            pk->cap_window_ms = duration_ms(p, v, "window");
        else
            perr(p, k, "max_attempts_per_consumer: unknown key '%s'", key);
    }
}

int
dialer_pack_load(const char *path, dialer_pack *out, char *err,
                 size_t errlen)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open", path);
        return PLT_ENOENT;
    }
    yaml_parser_t parser;
    pctx p = {.path = path, .err = err, .errlen = errlen};
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &p.doc)) {
        snprintf(err, errlen, "%s:%lu: %s", path,
                 (unsigned long)parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "YAML error");
        yaml_parser_delete(&parser);
        fclose(f);
        return PLT_ECONFIG;
    }
    yaml_parser_delete(&parser);
    fclose(f);
    yaml_node_t *root = yaml_document_get_root_node(&p.doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        perr(&p, root, "a compliance pack is a mapping");
    } else {
        for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
             pr < root->data.mapping.pairs.top && !p.failed; pr++) {
            yaml_node_t *k = node(&p, pr->key), *v = node(&p, pr->value);
            const char *key = scalar(&p, k, "key");
            if (!key)
                break;
            if (!strcmp(key, "name")) {
                const char *s = scalar(&p, v, key);
                if (s)
                    snprintf(out->name, sizeof(out->name), "%s", s);
            } else if (!strcmp(key, "description")) {
                const char *s = scalar(&p, v, key);
                if (s)
                    snprintf(out->description, sizeof(out->description), "%s",
                             s);
            } else if (!strcmp(key, "hours")) {
                load_hours(&p, v, out);
            } else if (!strcmp(key, "holidays")) {
                load_holidays(&p, v, out);
            } else if (!strcmp(key, "max_attempts_per_consumer")) {
                load_cap(&p, v, out);
            } else if (!strcmp(key, "silence_after_refusal")) {
                out->after_refusal_ms = duration_ms(&p, v, key);
            } else if (!strcmp(key, "opposition_list")) {
                const char *s = scalar(&p, v, key);
                if (s)
                    snprintf(out->opposition_list,
                             sizeof(out->opposition_list), "%s", s);
            } else if (!strcmp(key, "min_ring")) {
                out->min_ring_ms = (uint32_t)duration_ms(&p, v, key);
            } else if (!strcmp(key, "abandon")) {
                load_abandon(&p, v, out);
            } else {
                perr(&p, k, "unknown key '%s'", key);
            }
        }
    }
    if (!p.failed && !out->name[0])
        perr(&p, root, "name: required");
    if (!p.failed && out->cap_count && !out->cap_window_ms)
        perr(&p, root, "max_attempts_per_consumer: window required");
    if (!p.failed && out->abandon_limit > 0 && !out->abandon_daily &&
        !out->abandon_window_ms)
        perr(&p, root, "abandon.window: required with a limit");
    yaml_document_delete(&p.doc);
    if (p.failed)
        dialer_pack_free(out);
    return p.failed ? PLT_ECONFIG : 0;
}

void
dialer_pack_free(dialer_pack *p)
{
    schedule_holidays_clear(&p->holidays);
}
