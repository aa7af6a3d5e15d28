/* SPDX-License-Identifier: MIT */
/*
 * A small in-memory `leads` 1.0 provider, used by the import tests while
 * (or where) the real leads plugin is not built: lists, contacts with
 * their E.164 numbers, de-duplication on phone or on a field within the
 * list (and the batch), do-not-call (global scope), and the progress
 * value stored "in the same transaction" as a batch, i.e. only when the
 * batch succeeds. Callbacks are deferred to the next loop iteration, as a
 * real provider's would be. Numbers are normalised with plateau_phone,
 * as the leads plugin does.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "fake_leads.h"
#include "phone.h"

typedef struct contact {
    int64_t id, list_id;
    int32_t status;
    char phones[PLT_LEADS_MAX_PHONES][20];
    size_t nphones;
    char *dedup_value;
} contact;

typedef struct list {
    int64_t id;
    char *name;
} list;

typedef struct progress {
    char *key;
    int64_t value;
} progress;

typedef struct deferred {
    struct deferred *next;
    int kind; /* 0 id, 1 added, 2 done, 3 bool, 4 i64, 5 stats */
    void *cb, *arg;
    int status;
    int64_t i;
    plt_lead_added *res;
    size_t n;
    plt_list_stats st;
} deferred;

struct fake_leads {
    uv_timer_t timer;
    deferred *q, *qtail;
    list lists[16];
    size_t nlists;
    contact *c;
    size_t nc, capc;
    char (*dnc)[20];
    size_t ndnc, capdnc;
    progress prog[64];
    size_t nprog;
    size_t batches;
    int fail_after;
};

static fake_leads *the;

static void
fire(uv_timer_t *t)
{
    fake_leads *fl = t->data;
    while (fl->q) {
        deferred *d = fl->q;
        fl->q = d->next;
        if (!fl->q)
            fl->qtail = NULL;
        switch (d->kind) {
        case 0:
            ((plt_leads_id_fn)d->cb)(d->arg, d->status, d->i);
            break;
        case 1:
            ((plt_leads_added_fn)d->cb)(d->arg, d->status, d->res, d->n);
            for (size_t k = 0; k < d->n; k++)
                free((char *)d->res[k].reason);
            free(d->res);
            break;
        case 2:
            ((plt_leads_done_fn)d->cb)(d->arg, d->status, NULL);
            break;
        case 3:
            ((plt_leads_bool_fn)d->cb)(d->arg, d->status, d->i != 0);
            break;
        case 4:
            ((plt_leads_i64_fn)d->cb)(d->arg, d->status, d->i);
            break;
        case 5:
            ((plt_list_stats_fn)d->cb)(d->arg, d->status, &d->st);
            break;
        }
        free(d);
    }
}

static deferred *
defer(fake_leads *fl, int kind, void *cb, void *arg, int status)
{
    deferred *d = calloc(1, sizeof(*d));
    if (!d)
        abort();
    d->kind = kind;
    d->cb = cb;
    d->arg = arg;
    d->status = status;
    if (fl->qtail)
        fl->qtail->next = d;
    else
        fl->q = d;
    fl->qtail = d;
    uv_timer_start(&fl->timer, fire, 0, 0);
    return d;
}

static int
f_list_create(void *impl, const char *name, const plt_lead_rules *rules,
              const char *const *names, size_t n, plt_leads_id_fn cb, void *arg)
{
    fake_leads *fl = impl;
    (void)rules, (void)names, (void)n;
    for (size_t i = 0; i < fl->nlists; i++)
        if (strcmp(fl->lists[i].name, name) == 0)
            return PLT_EEXIST;
    list *l = &fl->lists[fl->nlists++];
    l->id = (int64_t)fl->nlists;
    l->name = strdup(name);
    defer(fl, 0, (void *)cb, arg, 0)->i = l->id;
    return 0;
}

static int
f_list_find(void *impl, const char *name, plt_leads_id_fn cb, void *arg)
{
    fake_leads *fl = impl;
    for (size_t i = 0; i < fl->nlists; i++)
        if (strcmp(fl->lists[i].name, name) == 0) {
            defer(fl, 0, (void *)cb, arg, 0)->i = fl->lists[i].id;
            return 0;
        }
    defer(fl, 0, (void *)cb, arg, PLT_ENOENT);
    return 0;
}

static int
f_list_stats(void *impl, int64_t list_id, int64_t now, plt_list_stats_fn cb,
             void *arg)
{
    fake_leads *fl = impl;
    (void)now;
    deferred *d = defer(fl, 5, (void *)cb, arg, 0);
    for (size_t i = 0; i < fl->nc; i++) {
        if (fl->c[i].list_id != list_id)
            continue;
        d->st.total++;
        d->st.by_status[fl->c[i].status]++;
    }
    return 0;
}

static bool
is_dnc(const fake_leads *fl, const char *e164)
{
    for (size_t i = 0; i < fl->ndnc; i++)
        if (strcmp(fl->dnc[i], e164) == 0)
            return true;
    return false;
}

static const char *
field_of(const plt_lead_new *c, const char *name)
{
    for (size_t i = 0; i < c->nfields; i++)
        if (strcmp(c->fields[i].name, name) == 0)
            return c->fields[i].value;
    return NULL;
}

static int64_t
find_dup(const fake_leads *fl, int64_t list_id, const plt_lead_new *c,
         const char *const *e164, size_t n, const char *dfield,
         size_t upto)
{
    for (size_t i = 0; i < upto; i++) {
        const contact *o = &fl->c[i];
        if (o->list_id != list_id)
            continue;
        if (dfield) {
            const char *v = field_of(c, dfield);
            if (v && o->dedup_value && strcmp(v, o->dedup_value) == 0)
                return o->id;
            continue;
        }
        for (size_t k = 0; k < n; k++)
            for (size_t m = 0; m < o->nphones; m++)
                if (strcmp(e164[k], o->phones[m]) == 0)
                    return o->id;
    }
    return 0;
}

static int
f_add_batch(void *impl, int64_t list_id, const plt_lead_new *c, size_t n,
            const plt_lead_add_opts *o, plt_leads_added_fn cb, void *arg)
{
    fake_leads *fl = impl;
    fl->batches++;
    if (fl->fail_after == 0) {
        /* Nothing is kept: one transaction. */
        defer(fl, 1, (void *)cb, arg, PLT_EIO);
        return 0;
    }
    if (fl->fail_after > 0)
        fl->fail_after--;
    plt_lead_added *res = calloc(n ? n : 1, sizeof(*res));
    size_t before = fl->nc;
    for (size_t i = 0; i < n; i++) {
        const char *e164[PLT_LEADS_MAX_PHONES];
        char buf[PLT_LEADS_MAX_PHONES][20];
        size_t ne = 0, ndnc = 0;
        res[i].line = c[i].line;
        for (size_t k = 0; k < c[i].nphones; k++) {
            const char *e = c[i].phones[k].e164;
            if (!e) {
                phone_result pr;
                if (phone_normalize(c[i].phones[k].original, NULL, &pr) != 0) {
                    res[i].invalid_phones++;
                    continue;
                }
                strcpy(buf[ne], pr.e164);
                e = buf[ne];
            }
            e164[ne++] = e;
            if (is_dnc(fl, e))
                ndnc++;
        }
        res[i].dnc_phones = (uint32_t)ndnc;
        if (ne == 0) {
            res[i].result = PLT_LEAD_NO_VALID_PHONE;
            res[i].reason = strdup("no valid phone");
            continue;
        }
        int64_t dup = 0;
        if (o->dedup_scope != PLT_DEDUP_NONE)
            dup = find_dup(fl, list_id, &c[i], e164, ne, o->dedup_field,
                           fl->nc);
        if (dup) {
            res[i].result = PLT_LEAD_DUPLICATE;
            res[i].contact_id = dup;
            continue;
        }
        if (ndnc == ne && o->skip_dnc) {
            res[i].result = PLT_LEAD_DNC_REFUSED;
            continue;
        }
        if (fl->nc == fl->capc) {
            fl->capc = fl->capc ? fl->capc * 2 : 1024;
            fl->c = realloc(fl->c, fl->capc * sizeof(*fl->c));
        }
        contact *k = &fl->c[fl->nc++];
        memset(k, 0, sizeof(*k));
        k->id = (int64_t)fl->nc;
        k->list_id = list_id;
        k->status = ndnc == ne ? PLT_LEAD_DNC : PLT_LEAD_AVAILABLE;
        for (size_t m = 0; m < ne; m++)
            strcpy(k->phones[m], e164[m]);
        k->nphones = ne;
        const char *dv = o->dedup_field ? field_of(&c[i], o->dedup_field) : 0;
        k->dedup_value = dv ? strdup(dv) : NULL;
        res[i].result = PLT_LEAD_ADDED;
        res[i].contact_id = k->id;
    }
    (void)before;
    if (o->progress_key) {
        size_t p;
        for (p = 0; p < fl->nprog; p++)
            if (strcmp(fl->prog[p].key, o->progress_key) == 0)
                break;
        if (p == fl->nprog)
            fl->prog[fl->nprog++].key = strdup(o->progress_key);
        fl->prog[p].value = o->progress_value;
    }
    deferred *d = defer(fl, 1, (void *)cb, arg, 0);
    d->res = res;
    d->n = n;
    return 0;
}

static int
f_dnc_add(void *impl, const char *scope, const char *const *numbers, size_t n,
          const plt_lead_rules *rules, const char *source,
          plt_leads_done_fn done, void *arg)
{
    fake_leads *fl = impl;
    (void)scope, (void)rules, (void)source;
    for (size_t i = 0; i < n; i++) {
        phone_result pr;
        if (phone_normalize(numbers[i], NULL, &pr) != 0)
            return PLT_EINVAL;
        if (fl->ndnc == fl->capdnc) {
            fl->capdnc = fl->capdnc ? fl->capdnc * 2 : 16;
            fl->dnc = realloc(fl->dnc, fl->capdnc * sizeof(*fl->dnc));
        }
        strcpy(fl->dnc[fl->ndnc++], pr.e164);
    }
    for (size_t i = 0; i < fl->nc; i++) {
        size_t d = 0;
        for (size_t m = 0; m < fl->c[i].nphones; m++)
            d += is_dnc(fl, fl->c[i].phones[m]);
        if (d == fl->c[i].nphones)
            fl->c[i].status = PLT_LEAD_DNC;
    }
    defer(fl, 2, (void *)done, arg, 0);
    return 0;
}

static int
f_dnc_check(void *impl, const char *campaign, const char *e164,
            plt_leads_bool_fn cb, void *arg)
{
    fake_leads *fl = impl;
    (void)campaign;
    defer(fl, 3, (void *)cb, arg, 0)->i = is_dnc(fl, e164);
    return 0;
}

static int
f_progress_get(void *impl, const char *key, plt_leads_i64_fn cb, void *arg)
{
    fake_leads *fl = impl;
    for (size_t p = 0; p < fl->nprog; p++)
        if (strcmp(fl->prog[p].key, key) == 0) {
            defer(fl, 4, (void *)cb, arg, 0)->i = fl->prog[p].value;
            return 0;
        }
    defer(fl, 4, (void *)cb, arg, PLT_ENOENT);
    return 0;
}

static int
f_normalize(void *impl, const char *number, const plt_lead_rules *rules,
            char *e164, char *tz, size_t tz_len, char *why)
{
    (void)impl, (void)rules;
    phone_result pr;
    int rc = phone_normalize(number, NULL, &pr);
    if (rc != 0) {
        snprintf(why, 96, "%s", pr.error);
        return rc;
    }
    strcpy(e164, pr.e164);
    if (tz && tz_len)
        snprintf(tz, tz_len, "%s", pr.time_zone ? pr.time_zone : "");
    return 0;
}

static const plt_leads_vt vt = {
    .size = sizeof(plt_leads_vt),
    .list_create = f_list_create,
    .list_find = f_list_find,
    .list_stats = f_list_stats,
    .add_batch = f_add_batch,
    .dnc_add = f_dnc_add,
    .dnc_check = f_dnc_check,
    .normalize = f_normalize,
    .progress_get = f_progress_get,
};

const plt_leads_vt *
fake_leads_vt(void)
{
    return &vt;
}

fake_leads *
fake_leads_new(struct uv_loop_s *loop)
{
    fake_leads *fl = calloc(1, sizeof(*fl));
    uv_timer_init(loop, &fl->timer);
    fl->timer.data = fl;
    fl->fail_after = -1;
    the = fl;
    return fl;
}

static void
closed(uv_handle_t *h)
{
    fake_leads *fl = h->data;
    for (size_t i = 0; i < fl->nlists; i++)
        free(fl->lists[i].name);
    for (size_t i = 0; i < fl->nc; i++)
        free(fl->c[i].dedup_value);
    for (size_t i = 0; i < fl->nprog; i++)
        free(fl->prog[i].key);
    free(fl->c);
    free(fl->dnc);
    free(fl);
}

void
fake_leads_free(fake_leads *fl)
{
    if (!fl)
        return;
    while (fl->q) {
        deferred *d = fl->q;
        fl->q = d->next;
        if (d->res) {
            for (size_t k = 0; k < d->n; k++)
                free((char *)d->res[k].reason);
            free(d->res);
        }
        free(d);
    }
    uv_close((uv_handle_t *)&fl->timer, closed);
    the = NULL;
}

size_t
fake_leads_batches(const fake_leads *fl)
{
    return fl->batches;
}

void
fake_leads_fail_after(fake_leads *fl, int n)
{
    fl->fail_after = n;
}

size_t
fake_leads_count_phone(const fake_leads *fl, int64_t list_id, const char *e164)
{
    size_t n = 0;
    for (size_t i = 0; i < fl->nc; i++)
        for (size_t m = 0; m < fl->c[i].nphones; m++)
            if (fl->c[i].list_id == list_id &&
                strcmp(fl->c[i].phones[m], e164) == 0)
                n++;
    return n;
}

size_t
fake_leads_duplicates(const fake_leads *fl, int64_t list_id)
{
    size_t d = 0;
    for (size_t i = 0; i < fl->nc; i++) {
        if (fl->c[i].list_id != list_id)
            continue;
        for (size_t k = 0; k < i; k++)
            if (fl->c[k].list_id == list_id &&
                strcmp(fl->c[k].phones[0], fl->c[i].phones[0]) == 0) {
                d++;
                break;
            }
    }
    return d;
}
