/* SPDX-License-Identifier: MIT */
/*
 * The ACD's queues in front of supervisors, through the optional `http`
 * service: GET /queues (every queue's live figures: waiting, longest wait,
 * service level, agents logged in and available), GET /queues/{name}, the
 * queue.* events forwarded to staff, and `acd.queue_stats` pushed to staff
 * when figures moved - at most once a second, however busy the site, so a
 * wall of 200 agents never floods a browser. Without the web plugin
 * nothing is registered.
 */
#include <stdlib.h>
#include <string.h>

#include "acd_http.h"

#define PUSH_EVERY_MS 1000

typedef struct acd_http {
    acd *s;
    const plt_http_vt *vt;
    void *impl;
    plt_sub *sub_queue, *sub_agent;
    plt_timer *timer; /* one-shot, armed while figures are to be pushed */
} acd_http;

static acd_http *qh;

static void
stats_json(void *arg, int status, const plt_queue_stats *st)
{
    json_t **out = arg;
    if (status != 0 || !st)
        return;
    *out = json_pack("{s:s, s:i, s:I, s:i, s:i, s:I, s:I, s:I, s:I, s:f, "
                     "s:I, s:I}",
                     "queue", st->queue, "waiting", (int)st->waiting,
                     "longest_wait_ms", st->longest_wait_ms,
                     "agents_logged_in", (int)st->agents_logged_in,
                     "agents_available", (int)st->agents_available,
                     "offered", (json_int_t)st->offered, "answered",
                     (json_int_t)st->answered, "abandoned",
                     (json_int_t)st->abandoned, "overflowed",
                     (json_int_t)st->overflowed, "service_level",
                     st->service_level, "sl_threshold_ms", st->sl_threshold_ms,
                     "estimated_wait_ms", st->estimated_wait_ms);
}

/* Every queue's figures as a JSON array (new reference). */
static json_t *
all_stats(void)
{
    json_t *items = json_array();
    size_t n = acd_queue_count(qh->s);
    for (size_t i = 0; items && i < n; i++) {
        json_t *o = NULL;
        if (acd_stats(qh->s, acd_queue_at(qh->s, i), stats_json, &o) == 0 &&
            o)
            json_array_append_new(items, o);
    }
    return items;
}

static void
h_list(void *arg, plt_http_req *req)
{
    (void)arg;
    json_t *items = all_stats();
    if (!items) {
        qh->vt->reply_error(qh->impl, req, 500, "internal", "out of memory");
        return;
    }
    size_t n = json_array_size(items);
    qh->vt->reply_page(qh->impl, req, items, 0, (int64_t)n, (int64_t)n);
}

static void
h_one(void *arg, plt_http_req *req)
{
    (void)arg;
    const char *name = qh->vt->param(qh->impl, req, "name");
    json_t *o = NULL;
    if (!acd_queue_find(qh->s, name) ||
        acd_stats(qh->s, name, stats_json, &o) != 0 || !o) {
        qh->vt->reply_error(qh->impl, req, 404, "not_found", "no such queue");
        return;
    }
    qh->vt->reply_json(qh->impl, req, 200, o);
}

static void
push_now(void *arg)
{
    (void)arg;
    qh->timer = NULL; /* one-shot: released by the core after this call */
    json_t *items = all_stats();
    if (items)
        qh->vt->push(qh->impl, NULL, PLT_HTTP_STAFF, "acd.queue_stats",
                     json_pack("{s:o}", "queues", items));
}

static void
on_change(const plt_event *ev, void *arg)
{
    (void)ev;
    (void)arg;
    if (!qh->timer &&
        plt_timer_start(&qh->timer, PUSH_EVERY_MS, 0, push_now, NULL) != 0)
        qh->timer = NULL;
}

static const plt_http_route routes[] = {
    {.size = sizeof(plt_http_route), .method = "GET", .path = "/queues",
     .roles = PLT_HTTP_STAFF, .flags = PLT_HTTP_TOKEN_OK, .fn = h_list,
     .summary = "live figures of every queue"},
    {.size = sizeof(plt_http_route), .method = "GET",
     .path = "/queues/{name}", .roles = PLT_HTTP_STAFF,
     .flags = PLT_HTTP_TOKEN_OK, .fn = h_one,
     .summary = "live figures of one queue"},
};

static const plt_http_forward forward = {.size = sizeof(plt_http_forward),
                                         .pattern = "queue.*",
                                         .roles = PLT_HTTP_STAFF};

int
acd_http_start(acd *s)
{
    plt_service_ref ref;
    int rc = plt_service_acquire(PLT_HTTP_NAME, PLT_HTTP_MAJOR, 0, &ref);
    if (rc == PLT_ENOSERVICE)
        return 0; /* no web plugin */
    if (rc != 0)
        return rc;
    qh = calloc(1, sizeof(*qh));
    if (!qh)
        return PLT_ENOMEM;
    qh->s = s;
    qh->vt = ref.vtable;
    qh->impl = ref.impl;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if ((rc = qh->vt->route(qh->impl, &routes[i])) != 0)
            return rc;
    if ((rc = qh->vt->forward(qh->impl, &forward)) != 0)
        return rc;
    if ((rc = plt_subscribe("queue.*", on_change, NULL, &qh->sub_queue)) !=
            0 ||
        (rc = plt_subscribe("agent.state_changed", on_change, NULL,
                            &qh->sub_agent)) != 0)
        return rc;
    return 0;
}

void
acd_http_stop(void)
{
    if (!qh)
        return;
    if (qh->timer)
        plt_timer_stop(qh->timer);
    if (qh->sub_queue)
        plt_unsubscribe(qh->sub_queue);
    if (qh->sub_agent)
        plt_unsubscribe(qh->sub_agent);
    free(qh);
    qh = NULL;
}
