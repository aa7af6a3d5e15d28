/* SPDX-License-Identifier: MIT */
/*
 * bench_ticker: the event source of bench/ws. POST /api/v1/bench/fire
 * {"n":N} publishes N `bench.tick.sent` events, each stamped with the
 * monotonic clock (uv_hrtime, the clock node's process.hrtime reads), and
 * the plugin asks the http service to forward `bench.*` to every
 * logged-in browser: the benchmark measures the web plugin's fan-out,
 * from publish to the client's receive, through the real event bus.
 */
#include <plateau/loop.h>
#include <plateau/plateau.h>
#include <plateau/svc/http.h>

static const plt_http_vt *vt;
static void *impl;

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
    for (json_int_t i = 0; i < n; i++) {
        plt_event *ev;
        if (plt_event_new(&ev, "bench.tick.sent", 1) != 0)
            break;
        plt_event_set_i64(ev, "seq", i);
        plt_event_set_i64(ev, "t_ns", (int64_t)uv_hrtime());
        plt_event_publish(ev);
    }
    vt->reply_json(impl, req, 200, json_pack("{s:I}", "fired", n));
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
    plt_http_route r = {sizeof(r), "POST", "/bench/fire", PLT_HTTP_ADMIN, 0,
                        fire, NULL, "Publish n bench.tick.sent events"};
    plt_http_forward f = {sizeof(f), "bench.*", PLT_HTTP_ANY_USER, NULL};
    if ((rc = vt->route(impl, &r)) != 0 || (rc = vt->forward(impl, &f)) != 0)
        return rc;
    return 0;
}

static const plt_dep ticker_needs[] = {
    {PLT_HTTP_NAME, PLT_HTTP_MAJOR, 0, 0}, {0}};

PLT_PLUGIN_DEFINE(.name = "bench_ticker", .version = "1.0.0",
                  .summary = "Event source for the WebSocket benchmark",
                  .needs = ticker_needs, .init = ticker_init);
