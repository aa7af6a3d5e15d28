/* SPDX-License-Identifier: MIT */
/*
 * Events: typed key/value records with a topic, refcounted, immutable once
 * published. Fields keep insertion order so that serialisations (the web
 * plugin's JSON, reporting's storage) are stable. Topics and patterns are
 * validated here: a topic is dot-separated lowercase words
 * (`call.answered`), a pattern is a topic or a prefix ending in `*`.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool
word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* @p n characters of @p t are lowercase words separated by single dots,
 * each word starting with a letter, with at least @p min_dots dots. */
static bool
words_valid(const char *t, size_t n, int min_dots)
{
    bool word_start = true;
    int dots = 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (c == '.') {
            if (word_start)
                return false;
            word_start = true;
            dots++;
            continue;
        }
        if (!word_char(c) || (word_start && !(c >= 'a' && c <= 'z')))
            return false;
        word_start = false;
    }
    return n > 0 && !word_start && dots >= min_dots;
}

bool
plt__topic_valid(const char *t)
{
    if (!t)
        return false;
    size_t n = strlen(t);
    return n <= 127 && words_valid(t, n, 1);
}

bool
plt__pattern_valid(const char *p)
{
    if (!p || !*p)
        return false;
    size_t n = strlen(p);
    if (strcmp(p, "*") == 0)
        return true;
    if (p[n - 1] != '*')
        return plt__topic_valid(p);
    /* "call.*": one or more whole words, then ".*". The words follow the
     * topic rules, so that a pattern that could never match ("call..*",
     * "9call.*") is refused at subscribe time instead of silently
     * receiving nothing. */
    return n >= 3 && n <= 127 && p[n - 2] == '.' && words_valid(p, n - 2, 0);
}

bool
plt__pattern_match(const char *pattern, const char *topic)
{
    size_t n = strlen(pattern);
    if (n > 0 && pattern[n - 1] == '*')
        return strncmp(pattern, topic, n - 1) == 0;
    return strcmp(pattern, topic) == 0;
}

int
plt__event_new(plt_event **out, const char *source, int64_t now_ms,
               const char *topic, uint32_t schema_ver)
{
    if (!out || !plt__topic_valid(topic) || schema_ver == 0)
        return PLT_EINVAL;
    plt_event *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return PLT_ENOMEM;
    ev->topic = plt__strdup(topic);
    if (!ev->topic) {
        free(ev);
        return PLT_ENOMEM;
    }
    ev->refs = 1;
    ev->schema_ver = schema_ver;
    ev->time_ms = now_ms;
    ev->source = source;
    *out = ev;
    return 0;
}

static void
value_free(plt_value *v)
{
    if (v->type == PLT_T_STR || v->type == PLT_T_BLOB)
        free((void *)v->v.b);
}

static int
value_copy(plt_value *dst, const plt_value *src)
{
    *dst = *src;
    switch (src->type) {
    case PLT_T_NULL:
    case PLT_T_I64:
    case PLT_T_DOUBLE:
    case PLT_T_TIME:
        return 0;
    case PLT_T_BOOL:
        dst->v.i = src->v.i ? 1 : 0;
        return 0;
    case PLT_T_STR: {
        if (!src->v.s) {
            *dst = PLT_V_NULL();
            return 0;
        }
        size_t len = src->len ? src->len : strlen(src->v.s);
        char *s = malloc(len + 1);
        if (!s)
            return PLT_ENOMEM;
        memcpy(s, src->v.s, len);
        s[len] = '\0';
        dst->v.s = s;
        dst->len = (uint32_t)len;
        return 0;
    }
    case PLT_T_BLOB: {
        void *b = malloc(src->len ? src->len : 1);
        if (!b)
            return PLT_ENOMEM;
        if (src->len)
            memcpy(b, src->v.b, src->len);
        dst->v.b = b;
        return 0;
    }
    default:
        return PLT_EINVAL;
    }
}

int
plt__event_set(plt_event *ev, const char *key, const plt_value *v)
{
    if (!ev || !key || !v || !plt__name_valid(key))
        return PLT_EINVAL;
    if (ev->published)
        return PLT_ESTATE;
    plt_value copy;
    int rc = value_copy(&copy, v);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < ev->n; i++) {
        if (strcmp(ev->f[i].key, key) == 0) {
            value_free(&ev->f[i].v);
            ev->f[i].v = copy;
            return 0;
        }
    }
    if (ev->n == ev->cap) {
        size_t cap = ev->cap ? ev->cap * 2 : 8;
        struct plt__field *f = realloc(ev->f, cap * sizeof(*f));
        if (!f) {
            value_free(&copy);
            return PLT_ENOMEM;
        }
        ev->f = f;
        ev->cap = cap;
    }
    char *k = plt__strdup(key);
    if (!k) {
        value_free(&copy);
        return PLT_ENOMEM;
    }
    ev->f[ev->n].key = k;
    ev->f[ev->n].v = copy;
    ev->n++;
    return 0;
}

int
plt__event_get(const plt_event *ev, const char *key, plt_value *out)
{
    if (!ev || !key || !out)
        return PLT_EINVAL;
    for (size_t i = 0; i < ev->n; i++) {
        if (strcmp(ev->f[i].key, key) == 0) {
            *out = ev->f[i].v;
            return 0;
        }
    }
    return PLT_ENOENT;
}

int
plt__event_field_at(const plt_event *ev, size_t i, const char **key,
                    plt_value *out)
{
    if (!ev)
        return PLT_EINVAL;
    if (i >= ev->n)
        return PLT_ERANGE;
    if (key)
        *key = ev->f[i].key;
    if (out)
        *out = ev->f[i].v;
    return 0;
}

plt_event *
plt__event_ref(const plt_event *cev)
{
    plt_event *ev = (plt_event *)cev;
    if (ev)
        ev->refs++;
    return ev;
}

void
plt__event_unref(plt_event *ev)
{
    if (!ev || --ev->refs > 0)
        return;
    for (size_t i = 0; i < ev->n; i++) {
        free(ev->f[i].key);
        value_free(&ev->f[i].v);
    }
    free(ev->f);
    free(ev->topic);
    free(ev);
}
