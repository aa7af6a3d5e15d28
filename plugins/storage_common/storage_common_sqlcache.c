/* SPDX-License-Identifier: MIT */
/*
 * A bounded LRU of analysed statement texts: rewriting and scanning a
 * 2,500-parameter INSERT costs more than copying it, and a consumer sends
 * the same few texts again and again.
 */
#include <stdlib.h>
#include <string.h>

#include "storage_common.h"

uint64_t
stc_sql_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void
entry_free(stc_sqlinfo *e)
{
    free(e->sql);
    free(e->rewritten);
    *e = (stc_sqlinfo){0};
}

int
stc_sqlcache_get(stc_sqlcache *c, const char *sql, stc_engine engine,
                 unsigned what, const stc_sqlinfo **out)
{
    *out = NULL;
    if (!c || !sql)
        return PLT_EINVAL;
    uint64_t h = stc_sql_hash(sql);
    stc_sqlinfo *victim = &c->e[0];
    for (size_t i = 0; i < STC_SQLCACHE_SIZE; i++) {
        stc_sqlinfo *e = &c->e[i];
        if (e->sql && e->hash == h && strcmp(e->sql, sql) == 0) {
            e->used = ++c->tick;
            c->hits++;
            *out = e;
            return 0;
        }
        if (victim->sql && (!e->sql || e->used < victim->used))
            victim = e;
    }
    c->misses++;
    stc_sqlinfo n = {.hash = h};
    n.sql = strdup(sql);
    int rc = n.sql ? stc_sql_rewrite(sql, engine, what, &n.rewritten)
                   : PLT_ENOMEM;
    if (rc != 0) {
        entry_free(&n);
        return rc;
    }
    n.blank = stc_sql_is_blank(n.rewritten);
    n.txn_control = stc_sql_is_txn_control(n.rewritten);
    n.param_rc = stc_sql_max_param(n.rewritten, &n.max);
    n.used = ++c->tick;
    entry_free(victim);
    *victim = n;
    *out = victim;
    return 0;
}

void
stc_sqlcache_clear(stc_sqlcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < STC_SQLCACHE_SIZE; i++)
        entry_free(&c->e[i]);
    c->tick = 0;
}
