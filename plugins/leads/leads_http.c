/* SPDX-License-Identifier: MIT */
/*
 * Lists and contacts in front of the browser, through the optional `http`
 * service: the lists' state for admins and supervisors (counts by status,
 * attach to a campaign), and for agents the screen pop's contact card and
 * attempt history, contact search by number, the result of a call with a
 * note and a callback for me or for anyone, and "my callbacks" with
 * rescheduling. Without the web plugin nothing is registered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_common.h"
#include "leads_http.h"

typedef struct leads_http {
    leads *L;
    const plt_http_vt *vt;
    void *impl;
} leads_http;

static leads_http *lh;

/* A request in flight with what it gathers. */
typedef struct ctx {
    plt_http_req *req;
    json_t *items;
    const char *only_agent; /* my callbacks: keep these (borrowed) */
    int64_t offset, limit;
} ctx;

static const char *const status_names[] = {
    "", "available", "reserved", "callback", "done", "failed", "dnc",
    "invalid"};

static void
reply_rc(plt_http_req *req, int rc, const char *msg)
{
    htc_reply_rc(lh->vt, lh->impl, req, rc, msg);
}

static ctx *
ctx_new(plt_http_req *req)
{
    ctx *c = calloc(1, sizeof(*c));
    if (!c) {
        lh->vt->reply_error(lh->impl, req, 500, "internal", "out of memory");
        return NULL;
    }
    c->req = req;
    c->items = json_array();
    return c;
}

static void
ctx_free(ctx *c)
{
    json_decref(c->items);
    free(c);
}

static int64_t
id_param(plt_http_req *req)
{
    const char *s = lh->vt->param(lh->impl, req, "id");
    char *end = NULL;
    long long v = s ? strtoll(s, &end, 10) : 0;
    return (s && end && !*end && v > 0) ? v : 0;
}

static json_t *
contact_json(const plt_lead *l)
{
    json_t *fields = json_object(), *phones = json_array();
    for (size_t i = 0; fields && i < l->nfields; i++)
        json_object_set_new(fields, l->fields[i].name,
                            json_string(l->fields[i].value ? l->fields[i].value
                                                           : ""));
    for (size_t i = 0; phones && i < l->nphones; i++)
        json_array_append_new(
            phones, json_pack("{s:s?, s:s?, s:i}", "e164", l->phones[i].e164,
                              "original", l->phones[i].original, "type",
                              l->phones[i].type));
    int32_t st = l->status >= 1 && l->status <= 7 ? l->status : 0;
    return json_pack("{s:I, s:I, s:s, s:i, s:I, s:I, s:I, s:s?, s:s?, s:s?, "
                     "s:s?, s:o, s:o, s:I}",
                     "id", l->id, "list_id", l->list_id, "status",
                     status_names[st], "attempts", l->attempts,
                     "last_attempt_at", l->last_attempt_at, "next_attempt_at",
                     l->next_attempt_at, "callback_at", l->callback_at,
                     "callback_agent", l->callback_agent, "last_outcome",
                     l->last_outcome, "last_disposition", l->last_disposition,
                     "time_zone", l->time_zone, "fields", fields, "phones",
                     phones, "created_at", l->created_at);
}

/* ------------------------------------------------------------------ */
/* lists */

static int
lists_row(void *arg, const plt_storage_row *row)
{
    ctx *c = arg;
    if (row->ncols < 5)
        return 0;
    json_array_append_new(
        c->items,
        json_pack("{s:I, s:s, s:s, s:I, s:I}", "id", row->vals[0].v.i, "name",
                  row->vals[1].v.s ? row->vals[1].v.s : "", "country",
                  row->vals[2].v.s ? row->vals[2].v.s : "", "total",
                  row->vals[3].v.i, "available",
                  row->vals[4].type == PLT_T_NULL ? 0 : row->vals[4].v.i));
    return 0;
}

static void
lists_done(void *arg, int status, const plt_storage_result *res)
{
    ctx *c = arg;
    if (status != 0) {
        reply_rc(c->req, status, res ? res->error : NULL);
    } else {
        size_t n = json_array_size(c->items);
        lh->vt->reply_page(lh->impl, c->req, json_incref(c->items), 0,
                           (int64_t)n, (int64_t)n);
    }
    ctx_free(c);
}

static void
h_lists(void *arg, plt_http_req *req)
{
    (void)arg;
    ctx *c = ctx_new(req);
    if (!c)
        return;
    int rc = plt_storage_exec(
        &lh->L->st,
        "SELECT l.id, l.name, l.country, count(c.id),"
        " sum(CASE WHEN c.status = 1 THEN 1 ELSE 0 END)"
        " FROM lead_list l LEFT JOIN contact c ON c.list_id = l.id"
        " GROUP BY l.id, l.name, l.country ORDER BY l.id",
        NULL, 0, 0, lists_row, lists_done, c);
    if (rc != 0) {
        reply_rc(req, rc, NULL);
        ctx_free(c);
    }
}

static void
stats_done(void *arg, int status, const plt_list_stats *st)
{
    plt_http_req *req = arg;
    if (status != 0) {
        reply_rc(req, status, NULL);
        return;
    }
    json_t *by = json_object();
    for (int i = 1; i <= 7; i++)
        json_object_set_new(by, status_names[i], json_integer(st->by_status[i]));
    lh->vt->reply_json(lh->impl, req, 200,
                       json_pack("{s:I, s:I, s:o}", "total", st->total,
                                 "due_now", st->due_now, "by_status", by));
}

static void
h_list_stats(void *arg, plt_http_req *req)
{
    (void)arg;
    int rc = leads_list_stats(lh->L, id_param(req), plt_now(), stats_done, req);
    if (rc != 0)
        reply_rc(req, rc, NULL);
}

static void
done_ok(void *arg, int status, const char *msg)
{
    plt_http_req *req = arg;
    if (status != 0)
        reply_rc(req, status, msg);
    else
        lh->vt->reply_json(lh->impl, req, 200, json_pack("{s:b}", "ok", 1));
}

static void
h_attach(void *arg, plt_http_req *req)
{
    (void)arg;
    json_t *b = lh->vt->body_json(lh->impl, req);
    const char *camp = json_string_value(json_object_get(b, "campaign"));
    json_int_t w = json_integer_value(json_object_get(b, "weight"));
    int rc = camp && *camp ? leads_list_attach(lh->L, camp, id_param(req),
                                               w > 0 ? (int32_t)w : 1,
                                               done_ok, req)
                           : PLT_EINVAL;
    if (rc != 0)
        reply_rc(req, rc, NULL);
    else
        lh->vt->audit(lh->impl, req, "list.attached", camp, NULL);
}

/* ------------------------------------------------------------------ */
/* contacts */

static void
got_contact(void *arg, int status, const plt_lead *l)
{
    plt_http_req *req = arg;
    if (status != 0 || !l)
        reply_rc(req, status ? status : PLT_ENOENT, NULL);
    else
        lh->vt->reply_json(lh->impl, req, 200, contact_json(l));
}

static void
h_contact(void *arg, plt_http_req *req)
{
    (void)arg;
    int rc = leads_get(lh->L, id_param(req), got_contact, req);
    if (rc != 0)
        reply_rc(req, rc, NULL);
}

static int
search_row(void *arg, const plt_lead *l)
{
    ctx *c = arg;
    if (c->only_agent &&
        (!l->callback_agent || strcmp(l->callback_agent, c->only_agent) != 0))
        return 0;
    json_array_append_new(c->items, contact_json(l));
    return 0;
}

static void
search_done(void *arg, int status, const char *msg)
{
    ctx *c = arg;
    if (status != 0) {
        reply_rc(c->req, status, msg);
    } else {
        size_t n = json_array_size(c->items);
        lh->vt->reply_page(lh->impl, c->req, json_incref(c->items), c->offset,
                           c->only_agent ? (int64_t)n : c->limit, -1);
    }
    ctx_free(c);
}

static void
h_search(void *arg, plt_http_req *req)
{
    (void)arg;
    ctx *c = ctx_new(req);
    if (!c)
        return;
    const char *list = lh->vt->query(lh->impl, req, "list_id");
    plt_lead_query q = {.size = sizeof(q),
                        .list_id = list ? strtoll(list, NULL, 10) : 0};
    /* query() strings may share one buffer: copy each before the next. */
    char phone[64] = "", text[128] = "";
    const char *v = lh->vt->query(lh->impl, req, "phone");
    if (v)
        snprintf(phone, sizeof(phone), "%s", v);
    v = lh->vt->query(lh->impl, req, "text");
    if (v)
        snprintf(text, sizeof(text), "%s", v);
    q.phone = *phone ? phone : NULL;
    q.text = *text ? text : NULL;
    lh->vt->page_args(lh->impl, req, &c->offset, &c->limit);
    int rc = leads_search(lh->L, &q, c->offset, c->limit, search_row,
                          search_done, c);
    if (rc != 0) {
        reply_rc(req, rc, NULL);
        ctx_free(c);
    }
}

static int
history_row(void *arg, const plt_lead_event *e)
{
    ctx *c = arg;
    json_array_append_new(
        c->items,
        json_pack("{s:I, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}", "at",
                  e->at, "kind", e->kind, "campaign", e->campaign, "phone",
                  e->phone, "outcome", e->outcome, "disposition",
                  e->disposition, "agent", e->agent, "note", e->note));
    return 0;
}

static void
history_done(void *arg, int status, const char *msg)
{
    ctx *c = arg;
    c->offset = 0;
    if (status != 0) {
        reply_rc(c->req, status, msg);
        ctx_free(c);
        return;
    }
    size_t n = json_array_size(c->items);
    lh->vt->reply_page(lh->impl, c->req, json_incref(c->items), 0, (int64_t)n,
                       (int64_t)n);
    ctx_free(c);
}

static void
h_history(void *arg, plt_http_req *req)
{
    (void)arg;
    ctx *c = ctx_new(req);
    if (!c)
        return;
    int rc = leads_history(lh->L, id_param(req), history_row, history_done, c);
    if (rc != 0) {
        reply_rc(req, rc, NULL);
        ctx_free(c);
    }
}

/* POST /contacts/{id}/disposition and /contacts/{id}/callback: the result
 * of a call (with an optional callback) or a new callback time. */
static void
h_disposition(void *arg, plt_http_req *req)
{
    bool callback_only = arg != NULL;
    json_t *b = lh->vt->body_json(lh->impl, req);
    const char *login = lh->vt->principal(lh->impl, req)->login;
    const char *code = callback_only
                           ? "CALLBACK"
                           : json_string_value(json_object_get(b, "code"));
    const char *who = json_string_value(json_object_get(b, "callback_for"));
    json_int_t at = json_integer_value(json_object_get(b, "callback_at"));
    const char *status = json_string_value(json_object_get(b, "status"));
    plt_lead_field prod = {"products", NULL};
    char products[512] = "";
    json_t *pv = json_object_get(b, "products");
    for (size_t i = 0; i < json_array_size(pv); i++) {
        const char *p = json_string_value(json_array_get(pv, i));
        size_t len = strlen(products);
        if (p && len + strlen(p) + 2 < sizeof(products))
            snprintf(products + len, sizeof(products) - len, "%s%s",
                     len ? "," : "", p);
    }
    prod.value = products;
    plt_lead_disposition d = {
        .size = sizeof(d),
        .contact_id = id_param(req),
        .campaign = json_string_value(json_object_get(b, "campaign")),
        .code = code,
        .note = json_string_value(json_object_get(b, "note")),
        .agent = login,
        .callback_at = at > 0 ? at : 0,
        /* "me" (the default), "anyone", or another agent's login. */
        .callback_agent = !who || !strcmp(who, "me") ? login
                          : !strcmp(who, "anyone")   ? NULL
                                                     : who,
        .new_status = at > 0                                 ? PLT_LEAD_CALLBACK
                      : status && !strcmp(status, "retry")   ? PLT_LEAD_AVAILABLE
                      : status && !strcmp(status, "dnc")     ? PLT_LEAD_DNC
                                                             : PLT_LEAD_DONE,
        .fields = *products ? &prod : NULL,
        .nfields = *products ? 1 : 0};
    if (!d.contact_id || !code || !*code || (callback_only && at <= 0)) {
        lh->vt->reply_error(lh->impl, req, 400, "invalid_argument",
                            callback_only ? "callback_at is required"
                                          : "code is required");
        return;
    }
    int rc = leads_disposition(lh->L, &d, done_ok, req);
    if (rc != 0)
        reply_rc(req, rc, NULL);
}

static void
h_my_callbacks(void *arg, plt_http_req *req)
{
    (void)arg;
    ctx *c = ctx_new(req);
    if (!c)
        return;
    c->only_agent = lh->vt->principal(lh->impl, req)->login;
    plt_lead_query q = {.size = sizeof(q), .status = PLT_LEAD_CALLBACK};
    int rc = leads_search(lh->L, &q, 0, 1000, search_row, search_done, c);
    if (rc != 0) {
        reply_rc(req, rc, NULL);
        ctx_free(c);
    }
}

/* ------------------------------------------------------------------ */

#define R(m, p, r, f, a, sum)                                                 \
    {.size = sizeof(plt_http_route), .method = m, .path = p, .roles = r,      \
     .flags = PLT_HTTP_TOKEN_OK, .fn = f, .arg = a, .summary = sum}

static const plt_http_route routes[] = {
    R("GET", "/lists", PLT_HTTP_STAFF, h_lists, NULL,
      "every list with its size and contacts available"),
    R("GET", "/lists/{id}", PLT_HTTP_STAFF, h_list_stats, NULL,
      "a list's contacts by status"),
    R("POST", "/lists/{id}/campaigns", PLT_HTTP_ADMIN, h_attach, NULL,
      "attach a list to a campaign with a weight"),
    R("GET", "/contacts", PLT_HTTP_ANY_USER, h_search, NULL,
      "search contacts by phone, text or list"),
    R("GET", "/contacts/{id}", PLT_HTTP_ANY_USER, h_contact, NULL,
      "one contact with fields and numbers"),
    R("GET", "/contacts/{id}/history", PLT_HTTP_ANY_USER, h_history, NULL,
      "a contact's attempts and results, newest first"),
    R("POST", "/contacts/{id}/disposition", PLT_HTTP_ANY_USER, h_disposition,
      NULL, "the result of a call, with a note and an optional callback"),
    R("POST", "/contacts/{id}/callback", PLT_HTTP_ANY_USER, h_disposition,
      (void *)1, "plan or reschedule a callback"),
    R("GET", "/callbacks/mine", PLT_HTTP_ANY_USER, h_my_callbacks, NULL,
      "the callbacks planned for me"),
};

int
leads_http_start(leads *L)
{
    plt_service_ref ref;
    int rc = plt_service_acquire(PLT_HTTP_NAME, PLT_HTTP_MAJOR, 0, &ref);
    if (rc == PLT_ENOSERVICE)
        return 0; /* no web plugin */
    if (rc != 0)
        return rc;
    lh = calloc(1, sizeof(*lh));
    if (!lh)
        return PLT_ENOMEM;
    lh->L = L;
    lh->vt = ref.vtable;
    lh->impl = ref.impl;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if ((rc = lh->vt->route(lh->impl, &routes[i])) != 0)
            return rc;
    return 0;
}

void
leads_http_stop(void)
{
    free(lh);
    lh = NULL;
}
