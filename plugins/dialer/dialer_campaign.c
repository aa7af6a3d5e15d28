/* SPDX-License-Identifier: MIT */
/*
 * Campaigns ("opérations"): their definitions (plt_dialer_campaign, deep
 * copied into one owned set of allocations), validation, the JSON form
 * they are stored in (jansson), reading them from the plugin's
 * configuration, and the campaign half of the service (create, update,
 * get, list, ON/OFF, live figures).
 *
 * Campaigns from the configuration file are read-only; campaigns created
 * through the service live in the dialer_campaign table. ON/OFF of both
 * is stored there and survives restarts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dialer_int.h"

/* ------------------------------------------------------------------ */
/* owned definitions */

static void *
d_alloc(camp_def *d, size_t n)
{
    if (d->oom)
        return NULL;
    if (d->nallocs == d->capallocs) {
        size_t cap = d->capallocs ? d->capallocs * 2 : 16;
        void **p = realloc(d->allocs, cap * sizeof(void *));
        if (!p) {
            d->oom = true;
            return NULL;
        }
        d->allocs = p;
        d->capallocs = cap;
    }
    void *m = calloc(1, n ? n : 1);
    if (!m) {
        d->oom = true;
        return NULL;
    }
    d->allocs[d->nallocs++] = m;
    return m;
}

static const char *
d_str(camp_def *d, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *m = d_alloc(d, n + 1);
    if (m)
        memcpy(m, s, n + 1);
    return m;
}

static void *
d_dup(camp_def *d, const void *p, size_t n)
{
    if (!p || !n)
        return NULL;
    void *m = d_alloc(d, n);
    if (m)
        memcpy(m, p, n);
    return m;
}

static const char *const *
d_strv(camp_def *d, const char *const *v, size_t n)
{
    if (!v || !n)
        return NULL;
    const char **m = d_alloc(d, n * sizeof(char *));
    for (size_t i = 0; m && i < n; i++)
        m[i] = d_str(d, v[i]);
    return m;
}

void
camp_def_free(camp_def *d)
{
    for (size_t i = 0; i < d->nallocs; i++)
        free(d->allocs[i]);
    free(d->allocs);
    memset(d, 0, sizeof(*d));
}

int
camp_def_copy(camp_def *d, const plt_dialer_campaign *s)
{
    memset(d, 0, sizeof(*d));
    plt_dialer_campaign *c = &d->c;
    size_t n = s->size < sizeof(*c) ? s->size : sizeof(*c);
    memcpy(c, s, n);
    c->size = sizeof(*c);
    c->name = d_str(d, s->name);
    c->label = d_str(d, s->label ? s->label : s->name);
    c->caller_id = d_str(d, s->caller_id);
    c->trunk = d_str(d, s->trunk);
    c->queue = d_str(d, s->queue);
    c->abandon_message = d_str(d, s->abandon_message);
    c->compliance = d_str(d, s->compliance);
    c->source = d_str(d, s->source);
    c->agents = d_strv(d, s->agents, s->nagents);
    c->holidays = d_strv(d, s->holidays, s->nholidays);
    plt_dialer_list *l = d_dup(d, s->lists, s->nlists * sizeof(*l));
    for (size_t i = 0; l && i < s->nlists; i++)
        l[i].list = d_str(d, s->lists[i].list);
    c->lists = l;
    c->retries = d_dup(d, s->retries, s->nretries * sizeof(*s->retries));
    c->hours = d_dup(d, s->hours, s->nhours * sizeof(*s->hours));
    plt_dialer_phone_rule *r =
        d_dup(d, s->phone_rules, s->nphone_rules * sizeof(*r));
    for (size_t i = 0; r && i < s->nphone_rules; i++)
        r[i].windows = d_dup(d, s->phone_rules[i].windows,
                             s->phone_rules[i].nwindows * sizeof(*r->windows));
    c->phone_rules = r;
    plt_dialer_disposition *p =
        d_dup(d, s->dispositions, s->ndispositions * sizeof(*p));
    for (size_t i = 0; p && i < s->ndispositions; i++) {
        p[i].code = d_str(d, s->dispositions[i].code);
        p[i].label = d_str(d, s->dispositions[i].label);
    }
    c->dispositions = p;
    /* Defaults. */
    if (!c->type)
        c->type = PLT_CAMPAIGN_OTHER;
    if (!c->mode)
        c->mode = PLT_DIAL_PROGRESSIVE;
    if (!c->phone_order)
        c->phone_order = PLT_PHONES_BY_ORDER;
    if (!c->max_attempts)
        c->max_attempts = 10;
    if (!c->ring_timeout_ms)
        c->ring_timeout_ms = 25000;
    if (!c->connect_deadline_ms)
        c->connect_deadline_ms = 2000;
    if (!c->preview_timeout_ms)
        c->preview_timeout_ms = 120000;
    if (c->mode == PLT_DIAL_POWER && c->power_ratio <= 0)
        c->power_ratio = 1.5;
    if (d->oom) {
        camp_def_free(d);
        return PLT_ENOMEM;
    }
    return 0;
}

static bool
name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 40)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

int
camp_def_validate(const plt_dialer_campaign *c, char *why, size_t len)
{
#define BAD(...) return snprintf(why, len, __VA_ARGS__), PLT_EINVAL
    if (!name_ok(c->name))
        BAD("name: 1-40 characters of a-z, 0-9, _ and -");
    if (c->type < 1 || c->type > 4)
        BAD("%s: unknown type", c->name);
    if (c->mode < 1 || c->mode > 4)
        BAD("%s: unknown dial mode", c->name);
    if (c->mode == PLT_DIAL_POWER && (c->power_ratio <= 0 ||
                                      c->power_ratio > 20))
        BAD("%s: power ratio must be in (0, 20]", c->name);
    if (!(c->amd_false_positive_rate >= 0 &&
          c->amd_false_positive_rate <= 0.5))
        BAD("%s: amd_false_positive_rate must be in [0, 0.5]", c->name);
    if (c->mode != PLT_DIAL_PREVIEW && (!c->queue || !*c->queue))
        BAD("%s: %s mode needs an ACD queue for answered calls", c->name,
            plt_dial_mode_name(c->mode));
    if (c->nlists == 0)
        BAD("%s: at least one list", c->name);
    for (size_t i = 0; i < c->nlists; i++)
        if (!c->lists[i].list || !*c->lists[i].list || c->lists[i].weight < 0)
            BAD("%s: list %zu: a name and a weight >= 1", c->name, i + 1);
    for (size_t i = 0; i < c->nretries; i++)
        if (c->retries[i].cls < 1 || c->retries[i].cls >= PLT_RETRY_COUNT_ ||
            c->retries[i].delay_ms < 0 || c->retries[i].max_attempts < 0)
            BAD("%s: retry rule %zu: unknown outcome or negative value",
                c->name, i + 1);
    for (size_t i = 0; i < c->nhours; i++)
        if (c->hours[i].from_min < 0 || c->hours[i].to_min > 1440 ||
            c->hours[i].to_min <= c->hours[i].from_min || !c->hours[i].days)
            BAD("%s: opening window %zu is empty", c->name, i + 1);
    for (size_t i = 0; i < c->ndispositions; i++)
        if (!c->dispositions[i].code || !*c->dispositions[i].code ||
            c->dispositions[i].kind < 1 || c->dispositions[i].kind > 6)
            BAD("%s: disposition %zu: a code and a known meaning", c->name,
                i + 1);
    for (size_t i = 0; i < c->nholidays; i++) {
        int y, m, d;
        char t;
        if (sscanf(c->holidays[i], "%4d-%2d-%2d%c", &y, &m, &d, &t) != 3)
            BAD("%s: holiday '%s' is not YYYY-MM-DD", c->name,
                c->holidays[i]);
    }
    if (c->connect_deadline_ms > 60000)
        BAD("%s: connect deadline above 60 s", c->name);
    return 0;
#undef BAD
}

/* ------------------------------------------------------------------ */
/* JSON */

static const char *const retry_names[] = {"", "no_answer", "busy", "machine",
                                          "congestion", "abandoned"};
static const char *const dispo_names[] = {"", "success", "final", "refusal",
                                          "callback", "retry", "dnc"};

static int
name_index(const char *const *v, int n, const char *s)
{
    for (int i = 1; s && i < n; i++)
        if (!strcmp(v[i], s))
            return i;
    return 0;
}

static json_t *
windows_json(const plt_dialer_window *w, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:i,s:i,s:i}", "days",
                                           (json_int_t)w[i].days, "from",
                                           (json_int_t)w[i].from_min, "to",
                                           (json_int_t)w[i].to_min));
    return a;
}

static json_t *
strv_json(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

char *
camp_def_to_json(const plt_dialer_campaign *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "label", json_string(c->label ? c->label : ""));
    json_object_set_new(o, "type", json_string(plt_campaign_type_name(c->type)));
    json_object_set_new(o, "mode", json_string(plt_dial_mode_name(c->mode)));
    json_object_set_new(o, "power_ratio", json_real(c->power_ratio));
#define OPTS(k, v)                                                             \
    if (v)                                                                     \
        json_object_set_new(o, k, json_string(v));
    OPTS("caller_id", c->caller_id)
    OPTS("trunk", c->trunk)
    OPTS("queue", c->queue)
    OPTS("abandon_message", c->abandon_message)
    OPTS("compliance", c->compliance)
#undef OPTS
    json_object_set_new(o, "agents", strv_json(c->agents, c->nagents));
    json_object_set_new(o, "holidays", strv_json(c->holidays, c->nholidays));
    json_t *a = json_array();
    for (size_t i = 0; i < c->nlists; i++)
        json_array_append_new(a, json_pack("{s:s,s:i}", "list",
                                           c->lists[i].list, "weight",
                                           (json_int_t)c->lists[i].weight));
    json_object_set_new(o, "lists", a);
    json_object_set_new(o, "phone_order",
                        json_string(c->phone_order == PLT_PHONES_BY_SCHEDULE
                                        ? "schedule"
                                        : "order"));
    a = json_array();
    for (size_t i = 0; i < c->nphone_rules; i++)
        json_array_append_new(
            a, json_pack("{s:i,s:o}", "phone_type",
                         (json_int_t)c->phone_rules[i].phone_type, "windows",
                         windows_json(c->phone_rules[i].windows,
                                      c->phone_rules[i].nwindows)));
    json_object_set_new(o, "phone_rules", a);
    a = json_array();
    for (size_t i = 0; i < c->nretries; i++)
        json_array_append_new(
            a, json_pack("{s:s,s:I,s:i}", "on", retry_names[c->retries[i].cls],
                         "delay_ms", (json_int_t)c->retries[i].delay_ms,
                         "max", (json_int_t)c->retries[i].max_attempts));
    json_object_set_new(o, "retries", a);
    json_object_set_new(o, "hours", windows_json(c->hours, c->nhours));
    a = json_array();
    for (size_t i = 0; i < c->ndispositions; i++)
        json_array_append_new(
            a, json_pack("{s:s,s:s,s:s}", "code", c->dispositions[i].code,
                         "label",
                         c->dispositions[i].label ? c->dispositions[i].label
                                                  : c->dispositions[i].code,
                         "kind", dispo_names[c->dispositions[i].kind]));
    json_object_set_new(o, "dispositions", a);
    json_object_set_new(o, "max_attempts", json_integer(c->max_attempts));
    json_object_set_new(o, "ring_timeout_ms", json_integer(c->ring_timeout_ms));
    json_object_set_new(o, "connect_deadline_ms",
                        json_integer(c->connect_deadline_ms));
    json_object_set_new(o, "amd", json_boolean(c->amd));
    json_object_set_new(o, "amd_false_positive_rate",
                        json_real(c->amd_false_positive_rate));
    json_object_set_new(o, "max_lines", json_integer(c->max_lines));
    json_object_set_new(o, "preview_timeout_ms",
                        json_integer(c->preview_timeout_ms));
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

static plt_dialer_window *
windows_from(camp_def *d, json_t *a, size_t *n)
{
    *n = json_array_size(a);
    plt_dialer_window *w = *n ? d_alloc(d, *n * sizeof(*w)) : NULL;
    for (size_t i = 0; w && i < *n; i++) {
        json_t *e = json_array_get(a, i);
        w[i].days = (uint32_t)json_integer_value(json_object_get(e, "days"));
        w[i].from_min = (int32_t)json_integer_value(json_object_get(e, "from"));
        w[i].to_min = (int32_t)json_integer_value(json_object_get(e, "to"));
    }
    return w;
}

static const char **
strv_from(camp_def *d, json_t *a, size_t *n)
{
    *n = json_array_size(a);
    const char **v = *n ? d_alloc(d, *n * sizeof(char *)) : NULL;
    for (size_t i = 0; v && i < *n; i++)
        v[i] = d_str(d, json_string_value(json_array_get(a, i)));
    return v;
}

int
camp_def_from_json(camp_def *d, const char *text, char *why, size_t len)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    if (!o) {
        snprintf(why, len, "stored campaign: %s", je.text);
        return PLT_EINVAL;
    }
    memset(d, 0, sizeof(*d));
    plt_dialer_campaign *c = &d->c;
    c->size = sizeof(*c);
#define S(k) d_str(d, json_string_value(json_object_get(o, k)))
#define I(k) json_integer_value(json_object_get(o, k))
    c->name = S("name");
    c->label = S("label");
    c->type = name_index((const char *const[]){"", "sale", "appointment",
                                               "survey", "other"},
                         5, json_string_value(json_object_get(o, "type")));
    c->mode = name_index((const char *const[]){"", "preview", "progressive",
                                               "power", "predictive"},
                         5, json_string_value(json_object_get(o, "mode")));
    c->power_ratio = json_number_value(json_object_get(o, "power_ratio"));
    c->caller_id = S("caller_id");
    c->trunk = S("trunk");
    c->queue = S("queue");
    c->abandon_message = S("abandon_message");
    c->compliance = S("compliance");
    c->agents = strv_from(d, json_object_get(o, "agents"), &c->nagents);
    c->holidays = strv_from(d, json_object_get(o, "holidays"), &c->nholidays);
    json_t *a = json_object_get(o, "lists");
    c->nlists = json_array_size(a);
    plt_dialer_list *l = c->nlists ? d_alloc(d, c->nlists * sizeof(*l)) : NULL;
    for (size_t i = 0; l && i < c->nlists; i++) {
        json_t *e = json_array_get(a, i);
        l[i].list = d_str(d, json_string_value(json_object_get(e, "list")));
        l[i].weight = (int32_t)json_integer_value(json_object_get(e, "weight"));
    }
    c->lists = l;
    const char *po = json_string_value(json_object_get(o, "phone_order"));
    c->phone_order = po && !strcmp(po, "schedule") ? PLT_PHONES_BY_SCHEDULE
                                                   : PLT_PHONES_BY_ORDER;
    a = json_object_get(o, "phone_rules");
    c->nphone_rules = json_array_size(a);
    plt_dialer_phone_rule *r =
        c->nphone_rules ? d_alloc(d, c->nphone_rules * sizeof(*r)) : NULL;
    for (size_t i = 0; r && i < c->nphone_rules; i++) {
        json_t *e = json_array_get(a, i);
        r[i].phone_type =
            (int32_t)json_integer_value(json_object_get(e, "phone_type"));
        r[i].windows = windows_from(d, json_object_get(e, "windows"),
                                    &r[i].nwindows);
    }
    c->phone_rules = r;
    a = json_object_get(o, "retries");
    c->nretries = json_array_size(a);
    plt_dialer_retry *rt =
        c->nretries ? d_alloc(d, c->nretries * sizeof(*rt)) : NULL;
    for (size_t i = 0; rt && i < c->nretries; i++) {
        json_t *e = json_array_get(a, i);
        rt[i].cls = name_index(retry_names, 6,
                               json_string_value(json_object_get(e, "on")));
        rt[i].delay_ms = json_integer_value(json_object_get(e, "delay_ms"));
        rt[i].max_attempts =
            (int32_t)json_integer_value(json_object_get(e, "max"));
    }
    c->retries = rt;
    c->hours = windows_from(d, json_object_get(o, "hours"), &c->nhours);
    a = json_object_get(o, "dispositions");
    c->ndispositions = json_array_size(a);
    plt_dialer_disposition *p =
        c->ndispositions ? d_alloc(d, c->ndispositions * sizeof(*p)) : NULL;
    for (size_t i = 0; p && i < c->ndispositions; i++) {
        json_t *e = json_array_get(a, i);
        p[i].code = d_str(d, json_string_value(json_object_get(e, "code")));
        p[i].label = d_str(d, json_string_value(json_object_get(e, "label")));
        p[i].kind = name_index(dispo_names, 7,
                               json_string_value(json_object_get(e, "kind")));
    }
    c->dispositions = p;
    c->max_attempts = (int32_t)I("max_attempts");
    c->ring_timeout_ms = (uint32_t)I("ring_timeout_ms");
    c->connect_deadline_ms = (uint32_t)I("connect_deadline_ms");
    c->amd = json_is_true(json_object_get(o, "amd"));
    c->amd_false_positive_rate =
        json_number_value(json_object_get(o, "amd_false_positive_rate"));
    c->max_lines = (uint32_t)I("max_lines");
    c->preview_timeout_ms = (uint32_t)I("preview_timeout_ms");
    c->source = d_str(d, "storage");
#undef S
#undef I
    json_decref(o);
    if (d->oom) {
        camp_def_free(d);
        return PLT_ENOMEM;
    }
    return camp_def_validate(c, why, len);
}

/* ------------------------------------------------------------------ */
/* configuration */

static int
windows_cfg(camp_def *d, const plt_cfg *t, const char *key,
            const plt_dialer_window **out, size_t *n, char *why, size_t len)
{
    size_t cnt = 0;
    plt_cfg_count(t, key, &cnt);
    *n = cnt;
    *out = NULL;
    if (!cnt)
        return 0;
    plt_dialer_window *w = d_alloc(d, cnt * sizeof(*w));
    if (!w)
        return PLT_ENOMEM;
    for (size_t i = 0; i < cnt; i++) {
        const char *s;
        plt_cfg_list_at(t, key, i, &s);
        if (dialer_parse_window(s, &w[i]) != 0) {
            const char *file = "?";
            int line = 0;
            plt_cfg_where(t, key, &file, &line);
            snprintf(why, len, "%s:%d: %s: '%s' is not \"mon-fri 10:00-13:00\"",
                     file, line, key, s);
            return PLT_ECONFIG;
        }
    }
    *out = w;
    return 0;
}

static int
one_from_cfg(dialer *D, const plt_cfg *t, char *why, size_t len)
{
    camp_def tmp = {0};
    plt_dialer_campaign *c = &tmp.c;
    c->size = sizeof(*c);
    const char *s;
    int64_t i64;
    double dbl;
    bool b;
    int rc = 0;
    plt_cfg_str(t, "name", &c->name);
    if (plt_cfg_str(t, "label", &s) == 0)
        c->label = s;
    plt_cfg_str(t, "type", &s);
    c->type = name_index((const char *const[]){"", "sale", "appointment",
                                               "survey", "other"},
                         5, s);
    plt_cfg_str(t, "mode", &s);
    c->mode = name_index((const char *const[]){"", "preview", "progressive",
                                               "power", "predictive"},
                         5, s);
    plt_cfg_double(t, "power_ratio", &dbl);
    c->power_ratio = dbl;
    plt_cfg_bool(t, "enabled", &b);
    c->enabled = b;
    if (plt_cfg_str(t, "caller_id", &s) == 0)
        c->caller_id = s;
    if (plt_cfg_str(t, "trunk", &s) == 0)
        c->trunk = s;
    if (plt_cfg_str(t, "queue", &s) == 0)
        c->queue = s;
    if (plt_cfg_path(t, "abandon_message", &s) == 0)
        c->abandon_message = s;
    if (plt_cfg_str(t, "compliance", &s) == 0 && *s)
        c->compliance = s;
    plt_cfg_str(t, "phone_order", &s);
    c->phone_order = !strcmp(s, "schedule") ? PLT_PHONES_BY_SCHEDULE
                                            : PLT_PHONES_BY_ORDER;
    plt_cfg_int(t, "max_attempts", &i64);
    c->max_attempts = (int32_t)i64;
    plt_cfg_duration_ms(t, "ring_timeout", &i64);
    c->ring_timeout_ms = (uint32_t)i64;
    plt_cfg_duration_ms(t, "connect_deadline", &i64);
    c->connect_deadline_ms = (uint32_t)i64;
    plt_cfg_duration_ms(t, "preview_timeout", &i64);
    c->preview_timeout_ms = (uint32_t)i64;
    plt_cfg_bool(t, "amd", &b);
    c->amd = b;
    dbl = 0;
    plt_cfg_double(t, "amd_false_positive_rate", &dbl);
    c->amd_false_positive_rate = dbl;
    plt_cfg_int(t, "max_lines", &i64);
    c->max_lines = (uint32_t)i64;
    size_t n = 0;
    /* Agents and holidays: string lists. */
    plt_cfg_count(t, "agents", &n);
    if (n) {
        const char **v = d_alloc(&tmp, n * sizeof(char *));
        for (size_t i = 0; v && i < n; i++)
            plt_cfg_list_at(t, "agents", i, &v[i]);
        c->agents = v;
        c->nagents = n;
    }
    n = 0;
    plt_cfg_count(t, "holidays", &n);
    if (n) {
        const char **v = d_alloc(&tmp, n * sizeof(char *));
        for (size_t i = 0; v && i < n; i++)
            plt_cfg_list_at(t, "holidays", i, &v[i]);
        c->holidays = v;
        c->nholidays = n;
    }
    /* Lists: "name" or "name:weight". */
    n = 0;
    plt_cfg_count(t, "lists", &n);
    plt_dialer_list *l = n ? d_alloc(&tmp, n * sizeof(*l)) : NULL;
    char **names = n ? d_alloc(&tmp, n * sizeof(char *)) : NULL;
    for (size_t i = 0; l && names && i < n; i++) {
        plt_cfg_list_at(t, "lists", i, &s);
        names[i] = (char *)d_str(&tmp, s);
        char *colon = names[i] ? strrchr(names[i], ':') : NULL;
        l[i].weight = 1;
        if (colon) {
            *colon = 0;
            l[i].weight = atoi(colon + 1);
        }
        l[i].list = names[i];
    }
    c->lists = l;
    c->nlists = n;
    rc = windows_cfg(&tmp, t, "hours", &c->hours, &c->nhours, why, len);
    /* Retries: table {on, delay, max}. */
    n = 0;
    plt_cfg_count(t, "retries", &n);
    plt_dialer_retry *rt = n ? d_alloc(&tmp, n * sizeof(*rt)) : NULL;
    for (size_t i = 0; rc == 0 && rt && i < n; i++) {
        const plt_cfg *e;
        plt_cfg_table_at(t, "retries", i, &e);
        plt_cfg_str(e, "on", &s);
        rt[i].cls = name_index(retry_names, 6, s);
        plt_cfg_duration_ms(e, "delay", &rt[i].delay_ms);
        plt_cfg_int(e, "max", &i64);
        rt[i].max_attempts = (int32_t)i64;
    }
    c->retries = rt;
    c->nretries = n;
    /* Dispositions: table {code, label, kind}. */
    n = 0;
    plt_cfg_count(t, "dispositions", &n);
    plt_dialer_disposition *p = n ? d_alloc(&tmp, n * sizeof(*p)) : NULL;
    for (size_t i = 0; p && i < n; i++) {
        const plt_cfg *e;
        plt_cfg_table_at(t, "dispositions", i, &e);
        plt_cfg_str(e, "code", &p[i].code);
        if (plt_cfg_str(e, "label", &s) == 0)
            p[i].label = s;
        plt_cfg_str(e, "kind", &s);
        p[i].kind = name_index(dispo_names, 7, s);
    }
    c->dispositions = p;
    c->ndispositions = n;
    /* Phone rules: table {type, windows}. */
    n = 0;
    plt_cfg_count(t, "phone_rules", &n);
    plt_dialer_phone_rule *pr = n ? d_alloc(&tmp, n * sizeof(*pr)) : NULL;
    for (size_t i = 0; rc == 0 && pr && i < n; i++) {
        const plt_cfg *e;
        plt_cfg_table_at(t, "phone_rules", i, &e);
        plt_cfg_str(e, "type", &s);
        pr[i].phone_type = !strcmp(s, "mobile")  ? PLT_PHONE_MOBILE
                           : !strcmp(s, "fixed") ? PLT_PHONE_FIXED
                           : !strcmp(s, "work")  ? PLT_PHONE_WORK
                                                 : PLT_PHONE_OTHER;
        rc = windows_cfg(&tmp, e, "windows", &pr[i].windows, &pr[i].nwindows,
                         why, len);
    }
    c->phone_rules = pr;
    c->nphone_rules = n;
    c->source = "config";
    if (rc == 0 && tmp.oom)
        rc = PLT_ENOMEM;
    if (rc == 0) {
        rc = dialer_campaign_add(D, c, true, why, len, NULL);
        if (rc != 0) {
            const char *file = "?";
            int line = 0;
            plt_cfg_where(t, NULL, &file, &line);
            char msg[512];
            snprintf(msg, sizeof(msg), "%s:%d: %s", file, line, why);
            snprintf(why, len, "%s", msg);
        }
    }
    camp_def_free(&tmp);
    return rc;
}

int
dialer_campaigns_from_cfg(dialer *D, const plt_cfg *cfg)
{
    size_t n = 0;
    plt_cfg_count(cfg, "campaigns", &n);
    for (size_t i = 0; i < n; i++) {
        const plt_cfg *t;
        char why[512] = "";
        plt_cfg_table_at(cfg, "campaigns", i, &t);
        int rc = one_from_cfg(D, t, why, sizeof(why));
        if (rc != 0) {
            plt_set_error("%s", why);
            return rc;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* running campaigns */

const dialer_pack *
dialer_pack_find(dialer *D, const char *name)
{
    for (size_t i = 0; name && i < D->npacks; i++)
        if (!strcmp(D->packs[i].name, name))
            return &D->packs[i];
    return NULL;
}

int
dialer_packs_load(dialer *D, char *why, size_t len)
{
    static const char *const names[] = {"fr", "us", "uk"};
    /* Every *.yaml of the directory would be nicer; the three shipped
     * packs plus any named by a campaign are what is needed. */
    for (size_t i = 0; i < 3; i++) {
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s.yaml", D->packs_dir, names[i]);
        dialer_pack pk;
        int rc = dialer_pack_load(path, &pk, why, len);
        if (rc == PLT_ENOENT)
            continue;
        if (rc != 0)
            return rc;
        dialer_pack *n = realloc(D->packs, (D->npacks + 1) * sizeof(*n));
        if (!n) {
            dialer_pack_free(&pk);
            return PLT_ENOMEM;
        }
        D->packs = n;
        D->packs[D->npacks++] = pk;
    }
    return 0;
}

campaign *
dialer_campaign_find(dialer *D, const char *name)
{
    for (size_t i = 0; name && i < D->ncamps; i++)
        if (!strcmp(D->camps[i]->def.c.name, name))
            return D->camps[i];
    return NULL;
}

static int
check_against_packs(dialer *D, const plt_dialer_campaign *c,
                    const dialer_pack **pack, char *why, size_t len)
{
    *pack = NULL;
    if (c->compliance && *c->compliance) {
        *pack = dialer_pack_find(D, c->compliance);
        if (!*pack) {
            snprintf(why, len, "%s: unknown compliance pack '%s' (none in %s)",
                     c->name, c->compliance, D->packs_dir);
            return PLT_EINVAL;
        }
        if ((*pack)->abandon_message_required &&
            c->mode != PLT_DIAL_PREVIEW &&
            (!c->abandon_message || !*c->abandon_message)) {
            snprintf(why, len,
                     "%s: the %s pack requires an abandon_message",
                     c->name, c->compliance);
            return PLT_EINVAL;
        }
    }
    return 0;
}

/* The campaign's pack, and what the pack imposes on its definition. */
static int
bind_pack(dialer *D, campaign *c, char *why, size_t len)
{
    int rc = check_against_packs(D, &c->def.c, &c->pack, why, len);
    if (rc == 0 && c->pack && c->def.c.ring_timeout_ms < c->pack->min_ring_ms)
        c->def.c.ring_timeout_ms = c->pack->min_ring_ms;
    return rc;
}

int
dialer_packs_bind(dialer *D, char *why, size_t len)
{
    if (!D->packs_loaded) {
        int rc = D->packs_dir[0] ? dialer_packs_load(D, why, len) : 0;
        if (rc != 0)
            return rc;
        D->packs_loaded = true;
    }
    for (size_t i = 0; i < D->ncamps; i++) {
        int rc = bind_pack(D, D->camps[i], why, len);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int
dialer_campaign_add(dialer *D, const plt_dialer_campaign *src, bool cfg,
                    char *why, size_t len, campaign **out)
{
    if (dialer_campaign_find(D, src->name)) {
        snprintf(why, len, "%s: a campaign of that name exists", src->name);
        return PLT_EEXIST;
    }
    campaign *c = calloc(1, sizeof(*c));
    if (!c)
        return PLT_ENOMEM;
    int rc = camp_def_copy(&c->def, src);
    if (rc == 0)
        rc = camp_def_validate(&c->def.c, why, len);
    if (rc == 0 && D->packs_loaded)
        rc = bind_pack(D, c, why, len);
    campaign **n = rc == 0 ? realloc(D->camps, (D->ncamps + 1) * sizeof(*n))
                           : NULL;
    if (rc == 0 && !n)
        rc = PLT_ENOMEM;
    if (rc != 0) {
        camp_def_free(&c->def);
        free(c);
        return rc;
    }
    c->D = D;
    c->enabled = c->def.c.enabled;
    c->from_config = cfg;
    D->camps = n;
    D->camps[D->ncamps++] = c;
    if (out)
        *out = c;
    return 0;
}

void
dialer_campaigns_free(dialer *D)
{
    for (size_t i = 0; i < D->ncamps; i++) {
        camp_def_free(&D->camps[i]->def);
        free(D->camps[i]->ab);
        free(D->camps[i]->open_zones);
        free(D->camps[i]->list_ids);
        free(D->camps[i]);
    }
    free(D->camps);
    D->camps = NULL;
    D->ncamps = 0;
}

void
dialer_publish_campaign(campaign *c, const char *by)
{
    plt_event *ev;
    if (plt_event_new(&ev, "dialer.campaign.changed", 1) != 0)
        return;
    plt_event_set_str(ev, "campaign", c->def.c.name);
    plt_event_set_bool(ev, "enabled", c->enabled);
    plt_event_set_str(ev, "mode", plt_dial_mode_name(c->def.c.mode));
    plt_event_set_str(ev, "by", by ? by : "system");
    plt_event_publish(ev);
}

/* ------------------------------------------------------------------ */
/* service: campaigns */

typedef struct put_op {
    dialer *D;
    campaign *c;       /* set for updates */
    camp_def def;      /* the new definition (create: moved into c) */
    bool create, set_enabled, enabled;
    char by[64];
    plt_dialer_done_fn done;
    void *arg;
} put_op;

static void
put_done(void *arg, int status)
{
    put_op *o = arg;
    dialer *D = o->D;
    char why[512] = "";
    if (status == 0 && o->create) {
        campaign *c;
        status = dialer_campaign_add(D, &o->def.c, false, why, sizeof(why), &c);
        if (status == 0) {
            dialer_publish_campaign(c, "service");
            dialer_kick(D);
        }
    } else if (status == 0 && o->set_enabled) {
        o->c->enabled = o->enabled;
        o->c->def.c.enabled = o->enabled;
        plt_log(PLT_LOG_NOTICE, "campaign %s switched %s by %s",
                o->c->def.c.name, o->enabled ? "ON" : "OFF", o->by);
        dialer_publish_campaign(o->c, o->by);
        dialer_kick(D);
    } else if (status == 0) {
        /* Update: swap definitions (attempts in flight keep a pointer to
         * the campaign, not to its strings). */
        const dialer_pack *pack;
        status = check_against_packs(D, &o->def.c, &pack, why, sizeof(why));
        if (status == 0) {
            camp_def old = o->c->def;
            o->c->def = o->def;
            o->def = old;
            o->c->pack = pack;
            o->c->enabled = o->c->def.c.enabled;
            o->c->open_minute = -1;
            dialer_publish_campaign(o->c, "service");
            dialer_kick(D);
        }
    } else {
        snprintf(why, sizeof(why), "cannot store the campaign");
    }
    if (o->done)
        o->done(o->arg, status, why[0] ? why : NULL);
    camp_def_free(&o->def);
    D->ops_in_flight--;
    free(o);
}

static int
put_prepare(dialer *D, const plt_dialer_campaign *c, bool create,
            plt_dialer_done_fn done, void *arg)
{
    if (!c || c->size < offsetof(plt_dialer_campaign, source) ||
        !D->started)
        return !D->started ? PLT_ESTATE : PLT_EINVAL;
    campaign *cur = dialer_campaign_find(D, c->name);
    char why[512];
    if (create && cur) {
        if (done)
            done(arg, PLT_EEXIST, "a campaign of that name exists");
        return 0;
    }
    if (!create && !cur)
        return PLT_ENOENT;
    if (!create && cur->from_config)
        return PLT_EPERM;
    put_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->D = D;
    o->c = cur;
    o->create = create;
    o->done = done;
    o->arg = arg;
    int rc = camp_def_copy(&o->def, c);
    if (rc == 0) {
        o->def.c.source = NULL;
        rc = camp_def_validate(&o->def.c, why, sizeof(why));
        const dialer_pack *pk;
        if (rc == 0)
            rc = check_against_packs(D, &o->def.c, &pk, why, sizeof(why));
        if (rc != 0) {
            camp_def_free(&o->def);
            free(o);
            if (done)
                done(arg, rc, why);
            return 0;
        }
    }
    if (rc == 0)
        rc = dialer_store_campaign_put(D, &o->def.c, o->def.c.enabled, create,
                                       put_done, o);
    if (rc != 0) {
        camp_def_free(&o->def);
        free(o);
        return rc;
    }
    D->ops_in_flight++;
    return 0;
}

int
dialer_svc_create(void *impl, const plt_dialer_campaign *c,
                  plt_dialer_done_fn done, void *arg)
{
    return put_prepare(impl, c, true, done, arg);
}

int
dialer_svc_update(void *impl, const plt_dialer_campaign *c,
                  plt_dialer_done_fn done, void *arg)
{
    return put_prepare(impl, c, false, done, arg);
}

int
dialer_svc_get(void *impl, const char *name, plt_dialer_campaign_fn cb,
               void *arg)
{
    campaign *c = dialer_campaign_find(impl, name);
    if (!c)
        return PLT_ENOENT;
    plt_dialer_campaign v = c->def.c;
    v.enabled = c->enabled;
    v.source = c->from_config ? "config" : "storage";
    cb(arg, 0, &v);
    return 0;
}

int
dialer_svc_list(void *impl, plt_dialer_campaign_row_fn row, void *arg)
{
    dialer *D = impl;
    /* By name. */
    campaign **v = malloc((D->ncamps ? D->ncamps : 1) * sizeof(*v));
    if (!v)
        return PLT_ENOMEM;
    memcpy(v, D->camps, D->ncamps * sizeof(*v));
    for (size_t i = 1; i < D->ncamps; i++)
        for (size_t j = i; j > 0 && strcmp(v[j - 1]->def.c.name,
                                           v[j]->def.c.name) > 0; j--) {
            campaign *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    for (size_t i = 0; i < D->ncamps; i++) {
        plt_dialer_campaign c = v[i]->def.c;
        c.enabled = v[i]->enabled;
        c.source = v[i]->from_config ? "config" : "storage";
        if (row(arg, &c) != 0)
            break;
    }
    free(v);
    return 0;
}

int
dialer_svc_set_enabled(void *impl, const char *name, bool on, const char *by,
                       plt_dialer_done_fn done, void *arg)
{
    dialer *D = impl;
    campaign *c = dialer_campaign_find(D, name);
    if (!c)
        return PLT_ENOENT;
    if (!D->started)
        return PLT_ESTATE;
    put_op *o = calloc(1, sizeof(*o));
    if (!o)
        return PLT_ENOMEM;
    o->D = D;
    o->c = c;
    o->set_enabled = true;
    o->enabled = on;
    snprintf(o->by, sizeof(o->by), "%s", by ? by : "unknown");
    o->done = done;
    o->arg = arg;
    plt_dialer_campaign tmp = c->def.c;
    tmp.source = c->from_config ? "config" : "storage";
    int rc = dialer_store_campaign_put(D, &tmp, on, false, put_done, o);
    if (rc != 0) {
        free(o);
        return rc;
    }
    D->ops_in_flight++;
    return 0;
}

int
dialer_svc_stats(void *impl, const char *name, plt_dialer_stats_fn cb,
                 void *arg)
{
    dialer *D = impl;
    campaign *c = dialer_campaign_find(D, name);
    if (!c)
        return PLT_ENOENT;
    plt_dialer_stats st = {.size = sizeof(st)};
    st.campaign = c->def.c.name;
    st.enabled = c->enabled;
    st.lines_in_flight = c->in_flight;
    st.agents_available = dialer_agents_available(D, c);
    st.attempts = c->attempts;
    st.answered = c->answered;
    st.machines = c->machines;
    st.abandoned = c->abandoned;
    double ab = 0;
    uint64_t live = 0;
    dialer_ab_rate(c, plt_now(), &live, &ab);
    st.live_answers_window = live;
    st.abandoned_window = (uint64_t)(ab + 0.5);
    st.abandon_rate = live ? ab / (double)live : 0;
    st.abandon_limit = c->pack ? c->pack->abandon_limit : 0;
    cb(arg, 0, &st);
    return 0;
}
