/* SPDX-License-Identifier: MIT */
/*
 * The campaign's lists in leads, and the callbacks the dialer must place.
 *
 * Lists are named in the campaign; each is looked up in leads (once it
 * exists: a list imported after the start is found on a later round) and
 * attached to the campaign with its weight, which is what makes leads
 * hand its contacts out for it.
 *
 * Callbacks: the set of due-or-future callbacks per campaign, each for
 * one agent or for anyone. It is fed three ways: by
 * results the dialer records (set_result with a callback code), by the
 * dialer_callback table at start, and - because a callback may also be
 * booked through the leads API (a CRM, the agent desk, an import) - by
 * reading the contacts in status CALLBACK of the campaign's lists from
 * leads once a minute. The engine reserves a due callback when its agent
 * (or, for anyone, any agent of the campaign) is available.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialer_int.h"

#define REFRESH_MS 60000

void
dialer_callback_put(dialer *D, int64_t contact_id, const char *camp,
                    const char *agent, int64_t at)
{
    struct callback_due *cb = NULL;
    for (size_t i = 0; i < D->ncbs && !cb; i++)
        if (D->cbs[i].contact_id == contact_id &&
            !strcmp(D->cbs[i].campaign, camp))
            cb = &D->cbs[i];
    if (!cb) {
        if (D->ncbs == D->capcbs) {
            size_t cap = D->capcbs ? D->capcbs * 2 : 16;
            void *n = realloc(D->cbs, cap * sizeof(*D->cbs));
            if (!n)
                return;
            D->cbs = n;
            D->capcbs = cap;
        }
        cb = &D->cbs[D->ncbs++];
        memset(cb, 0, sizeof(*cb));
        cb->contact_id = contact_id;
        snprintf(cb->campaign, sizeof(cb->campaign), "%s", camp);
    }
    snprintf(cb->agent, sizeof(cb->agent), "%s", agent ? agent : "");
    cb->at = at;
    cb->seen = true;
}

/* ------------------------------------------------------------------ */
/* reading them from leads */

typedef struct refresh_op {
    dialer *D;
    campaign *c;
    size_t pending;
} refresh_op;

static void
refresh_end(refresh_op *o)
{
    if (--o->pending > 0)
        return;
    dialer *D = o->D;
    /* What leads no longer holds as a callback was placed or changed
     * elsewhere: forget it. */
    for (size_t i = 0; i < D->ncbs;)
        if (!strcmp(D->cbs[i].campaign, o->c->def.c.name) &&
            !D->cbs[i].seen)
            D->cbs[i] = D->cbs[--D->ncbs];
        else
            i++;
    o->c->cb_refreshing = false;
    free(o);
    dialer_kick(D);
}

static int
cb_lead_row(void *arg, const plt_lead *l)
{
    refresh_op *o = arg;
    if (l->status == PLT_LEAD_CALLBACK && l->callback_at > 0)
        dialer_callback_put(o->D, l->id, o->c->def.c.name, l->callback_agent,
                            l->callback_at);
    return 0;
}

static void
cb_search_done(void *arg, int status, const char *msg)
{
    refresh_op *o = arg;
    o->D->ops_in_flight--;
    if (status != 0)
        plt_log(PLT_LOG_WARN, "campaign %s: reading callbacks: %s",
                o->c->def.c.name, msg ? msg : plt_strerror(status));
    refresh_end(o);
}

static void
search_list(refresh_op *o, int64_t list_id)
{
    dialer *D = o->D;
    plt_lead_query q = {.size = sizeof(q), .list_id = list_id,
                        .status = PLT_LEAD_CALLBACK};
    o->pending++;
    if (D->leads.vt->search(D->leads.impl, &q, 0, 10000, cb_lead_row,
                            cb_search_done, o) == 0) {
        D->ops_in_flight++;
        return;
    }
    o->pending--;
}

typedef struct find_op {
    refresh_op *o;
    size_t i;
} find_op;

static void
list_attached(void *arg, int status, const char *msg)
{
    refresh_op *o = arg;
    o->D->ops_in_flight--;
    if (status != 0)
        plt_log(PLT_LOG_WARN, "campaign %s: cannot attach a list: %s",
                o->c->def.c.name, msg ? msg : plt_strerror(status));
    refresh_end(o);
}

static void
list_found(void *arg, int status, int64_t id)
{
    find_op *fo = arg;
    refresh_op *o = fo->o;
    o->D->ops_in_flight--;
    if (status == 0 && id > 0 && fo->i < o->c->nlist_ids) {
        campaign *c = o->c;
        c->list_ids[fo->i] = id;
        /* The campaign's lists, with their weights, are what leads hands
         * out for it: attach each as soon as it exists (attaching again
         * only sets the weight). */
        int32_t w = c->def.c.lists[fo->i].weight;
        o->pending++;
        if (o->D->leads.vt->list_attach(o->D->leads.impl, c->def.c.name, id,
                                        w > 0 ? w : 1, list_attached,
                                        o) == 0)
            o->D->ops_in_flight++;
        else
            o->pending--;
        search_list(o, id);
    }
    free(fo);
    refresh_end(o);
}

void
dialer_callbacks_refresh(dialer *D, campaign *c, int64_t now)
{
    if (c->cb_refreshing || now - c->cb_refresh_at < REFRESH_MS)
        return;
    if (!c->list_ids) {
        c->list_ids = calloc(c->def.c.nlists ? c->def.c.nlists : 1,
                             sizeof(*c->list_ids));
        if (!c->list_ids)
            return;
        c->nlist_ids = c->def.c.nlists;
    }
    refresh_op *o = calloc(1, sizeof(*o));
    if (!o)
        return;
    o->D = D;
    o->c = c;
    o->pending = 1; /* held until every request is sent */
    c->cb_refreshing = true;
    c->cb_refresh_at = now;
    for (size_t i = 0; i < D->ncbs; i++)
        if (!strcmp(D->cbs[i].campaign, c->def.c.name))
            D->cbs[i].seen = false;
    for (size_t i = 0; i < c->nlist_ids; i++) {
        if (c->list_ids[i] > 0) {
            search_list(o, c->list_ids[i]);
            continue;
        }
        /* A list imported after the start is found on a later round. */
        find_op *fo = calloc(1, sizeof(*fo));
        if (!fo)
            continue;
        fo->o = o;
        fo->i = i;
        o->pending++;
        if (D->leads.vt->list_find(D->leads.impl, c->def.c.lists[i].list,
                                   list_found, fo) == 0) {
            D->ops_in_flight++;
        } else {
            o->pending--;
            free(fo);
        }
    }
    refresh_end(o);
}
