/* SPDX-License-Identifier: MIT */
/*
 * The migration registry: what consumers declare through
 * vt->migrations() from their init(), kept in declaration order (which is
 * dependency order, since the core initialises providers of a consumer's
 * needs first) until the engine applies it at start.
 *
 * Declarations are validated when they are made, so a consumer learns
 * about a malformed array in its own init() rather than from a failed
 * start of the storage plugin: versions are 1..n in order (a shipped
 * migration is never renumbered), reserved members are zero, and every
 * step has a text for this engine.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage_common.h"

__attribute__((format(printf, 2, 3))) static void
fail(stc_migreg *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
}

void
stc_migreg_init(stc_migreg *r, stc_engine engine)
{
    memset(r, 0, sizeof(*r));
    r->engine = engine;
}

const char *
stc_migration_text(const plt_storage_migration *m, stc_engine engine)
{
    if (!m)
        return NULL;
    const char *own = engine == STC_SQLITE ? m->sqlite
                      : engine == STC_PG   ? m->pg
                                           : NULL;
    return own ? own : m->sql;
}

static bool
owner_name_ok(const char *s)
{
    /* Plugin names: [a-z][a-z0-9_]*, as the loader requires. */
    if (!s || !(*s >= 'a' && *s <= 'z'))
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return strlen(s) <= 64;
}

int
stc_migrations_add(stc_migreg *r, const char *owner,
                   const plt_storage_migration *m, size_t n)
{
    if (!r)
        return PLT_EINVAL;
    r->err[0] = '\0';
    if (r->frozen) {
        fail(r,
             "migrations of '%s' declared after storage started; "
             "declare them from init()",
             owner ? owner : "(null)");
        return PLT_ESTATE;
    }
    if (!owner_name_ok(owner)) {
        fail(r, "migration owner '%s' is not a plugin name ([a-z][a-z0-9_]*)",
             owner ? owner : "(null)");
        return PLT_EINVAL;
    }
    if (!m && n > 0) {
        fail(r, "migrations of '%s': NULL array with %zu entries", owner, n);
        return PLT_EINVAL;
    }
    if (n > UINT32_MAX) {
        fail(r, "migrations of '%s': too many (%zu)", owner, n);
        return PLT_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        const plt_storage_migration *s = &m[i];
        if (s->version != i + 1) {
            fail(r,
                 "migrations of '%s': entry %zu has version %u, expected "
                 "%zu (versions are 1..n, in order)",
                 owner, i, s->version, i + 1);
            return PLT_EINVAL;
        }
        if (s->reserved[0] || s->reserved[1]) {
            fail(r,
                 "migrations of '%s': version %u has reserved members "
                 "set (must be zero)",
                 owner, s->version);
            return PLT_EINVAL;
        }
        if (!stc_migration_text(s, r->engine)) {
            fail(r,
                 "migrations of '%s': version %u (%s) has no text for %s "
                 "(set .sql or .%s)",
                 owner, s->version, s->name ? s->name : "unnamed",
                 r->engine == STC_SQLITE ? "SQLite" : "PostgreSQL",
                 r->engine == STC_SQLITE ? "sqlite" : "pg");
            return PLT_EINVAL;
        }
    }
    if (stc_migreg_find(r, owner)) {
        fail(r, "migrations of '%s' declared twice", owner);
        return PLT_EEXIST;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        stc_owner *v = realloc(r->v, cap * sizeof(*v));
        if (!v) {
            fail(r, "out of memory");
            return PLT_ENOMEM;
        }
        r->v = v;
        r->cap = cap;
    }
    char *copy = strdup(owner);
    if (!copy) {
        fail(r, "out of memory");
        return PLT_ENOMEM;
    }
    r->v[r->n++] = (stc_owner){.owner = copy, .m = m, .n = n};
    return 0;
}

void
stc_migreg_freeze(stc_migreg *r)
{
    r->frozen = true;
}

const char *
stc_migreg_error(const stc_migreg *r)
{
    return r->err;
}

const stc_owner *
stc_migreg_find(const stc_migreg *r, const char *owner)
{
    if (!owner)
        return NULL;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].owner, owner) == 0)
            return &r->v[i];
    return NULL;
}

void
stc_migreg_free(stc_migreg *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].owner);
    free(r->v);
    stc_engine e = r->engine;
    memset(r, 0, sizeof(*r));
    r->engine = e;
}
