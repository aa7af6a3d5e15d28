/* SPDX-License-Identifier: MIT */
/*
 * bench_ticker: the event source of bench/ws. POST /api/v1/bench/fire
 * {"n":N} publishes N `bench.tick.sent` events, each stamped with the
 * monotonic clock (uv_hrtime, the clock node's process.hrtime reads), and
 * the plugin asks the http service to forward `bench.*` to every
 * logged-in browser: the benchmark measures the web plugin's fan-out,
 * from publish to the client's receive, through the real event bus.
 * POST /api/v1/bench/stream {"rate":R,"seconds":S} publishes R events a
 * second for S seconds from a 10 ms core timer (a supervisor view's
 * steady flow) and answers at once with the number it will publish.
 */
#include <plateau/loop.h>
#include <plateau/plateau.h>
#include <plateau/svc/http.h>

static const plt_http_vt *vt;
static void *impl;

static void
publish(int64_t seq)
{
    plt_event *ev;
    if (plt_event_new(&ev, "bench.tick.sent", 1) != 0)
        return;
    plt_event_set_i64(ev, "seq", seq);
    plt_event_set_i64(ev, "t_ns", (int64_t)uv_hrtime());
    plt_event_publish(ev);
}

static void
fire(void *arg, plt_http_req *req)
{
    (void)arg;
    json_t *b = vt->body_json(impl, req);
    json_int_t n = json_integer_value(json_object_get(b, "n"));
    if (n < 1 || n > 10000) {
        vt->reply_error(impl, req, 400, "invalid_argument", "n is 1..10000");
        return;
    }
    for (json_int_t i = 0; i < n; i++)
        publish(i);
    vt->reply_json(impl, req, 200, json_pack("{s:I}", "fired", n));
}

/* The steady flow: events are due at rate x elapsed; each 10 ms tick
 * publishes those due since the last one. */
static struct {
    plt_timer *t;
    uint64_t start_ns;
    int64_t rate, total, sent;
} flow;

static void
flow_tick(void *arg)
{
    (void)arg;
    double s = (double)(uv_hrtime() - flow.start_ns) / 1e9;
    int64_t due = (int64_t)(s * (double)flow.rate) + 1;
    if (due > flow.total)
        due = flow.total;
    while (flow.sent < due)
        publish(flow.sent++);
    if (flow.sent >= flow.total) {
        plt_timer_stop(flow.t);
        flow.t = NULL;
    }
}

static void
stream(void *arg, plt_http_req *req)
{
    (void)arg;
    json_t *b = vt->body_json(impl, req);
    json_int_t rate = json_integer_value(json_object_get(b, "rate"));
    json_int_t secs = json_integer_value(json_object_get(b, "seconds"));
    if (rate < 1 || rate > 100000 || secs < 1 || secs > 600 || flow.t) {
        vt->reply_error(impl, req, 400, "invalid_argument",
                        "rate 1..100000, seconds 1..600, one at a time");
        return;
    }
    flow.rate = rate;
    flow.total = rate * secs;
    flow.sent = 0;
    flow.start_ns = uv_hrtime();
    if (plt_timer_start(&flow.t, 0, 10, flow_tick, NULL) != 0) {
        vt->reply_error(impl, req, 503, "unavailable", "no timer");
        return;
    }
    vt->reply_json(impl, req, 200, json_pack("{s:I}", "events", flow.total));
}

static int
ticker_stop(plt_plugin *self)
{
    (void)self;
    if (flow.t)
        plt_timer_stop(flow.t);
    flow.t = NULL;
    return 0;
}

static int
ticker_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    (void)cfg;
    plt_service_ref ref;
    int rc = plt_service_acquire(PLT_HTTP_NAME, PLT_HTTP_MAJOR, 0, &ref);
    if (rc != 0)
        return rc;
    vt = ref.vtable;
    impl = ref.impl;
    plt_http_route r = {
        sizeof(r), "POST", "/bench/fire", PLT_HTTP_ADMIN,
        0,         fire,   NULL,          "Publish n bench.tick.sent events"};
    plt_http_route r2 = {sizeof(r2),
                         "POST",
                         "/bench/stream",
                         PLT_HTTP_ADMIN,
                         0,
                         stream,
                         NULL,
                         "Publish rate events a second for seconds"};
    plt_http_forward f = {sizeof(f), "bench.*", PLT_HTTP_ANY_USER, NULL};
    if ((rc = vt->route(impl, &r)) != 0 || (rc = vt->route(impl, &r2)) != 0 ||
        (rc = vt->forward(impl, &f)) != 0)
        return rc;
    return 0;
}

static const plt_dep ticker_needs[] = {{PLT_HTTP_NAME, PLT_HTTP_MAJOR, 0, 0},
                                       {0}};

PLT_PLUGIN_DEFINE(.name = "bench_ticker", .version = "1.0.0",
                  .summary = "Event source for the WebSocket benchmark",
                  .needs = ticker_needs, .init = ticker_init,
                  .stop = ticker_stop);
