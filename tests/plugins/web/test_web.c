/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the web plugin's pure parts, with the plugin's sources
 * linked in: route matching (literal beats parameter, 404 vs 405), the
 * static path check, MIME types, cookie lookup, the per-address token
 * bucket and session expiry, both driven by explicit clock values (the
 * same values the plugin reads from the core clock), and OpenAPI output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "web_int.h"

static void
handler(void *arg, plt_http_req *req)
{
    (void)arg;
    (void)req;
}

static void
test_router(void **state)
{
    (void)state;
    web_router rt;
    web_router_init(&rt);
    plt_http_route a = {sizeof(a), "GET", "/campaigns/{id}", PLT_HTTP_STAFF,
                        0, handler, NULL, "one campaign"};
    plt_http_route b = {sizeof(b), "GET", "/campaigns/new", PLT_HTTP_ADMIN,
                        0, handler, NULL, "the form"};
    plt_http_route c = {sizeof(c), "POST", "/campaigns/{id}/lists/{list}",
                        PLT_HTTP_ADMIN, 0, handler, NULL, "attach"};
    assert_int_equal(web_router_add(&rt, &a, "t", false), 0);
    assert_int_equal(web_router_add(&rt, &b, "t", false), 0);
    assert_int_equal(web_router_add(&rt, &c, "t", false), 0);
    assert_int_equal(web_router_add(&rt, &a, "t", false), PLT_EEXIST);
    plt_http_route bad = a;
    bad.path = "/x/../y/%2e";
    assert_int_equal(web_router_add(&rt, &bad, "t", false), PLT_EINVAL);
    bad = a;
    bad.method = "TRACE";
    assert_int_equal(web_router_add(&rt, &bad, "t", false), PLT_EINVAL);

    web_kv p[WEB_PARAMS_MAX];
    size_t np;
    bool known;
    web_route *r = web_router_match(&rt, "GET", "/campaigns/new", p, &np, &known);
    assert_non_null(r);
    assert_string_equal(r->r.summary, "the form");
    assert_int_equal(np, 0);
    r = web_router_match(&rt, "GET", "/campaigns/42", p, &np, &known);
    assert_non_null(r);
    assert_int_equal(np, 1);
    assert_string_equal(p[0].k, "id");
    assert_string_equal(p[0].v, "42");
    web_kv_free(p, np);
    r = web_router_match(&rt, "POST", "/campaigns/7/lists/a b", p, &np, &known);
    assert_non_null(r);
    assert_int_equal(np, 2);
    assert_string_equal(p[1].k, "list");
    assert_string_equal(p[1].v, "a b");
    web_kv_free(p, np);
    r = web_router_match(&rt, "DELETE", "/campaigns/7", p, &np, &known);
    assert_null(r);
    assert_true(known); /* 405, not 404 */
    r = web_router_match(&rt, "GET", "/nothing", p, &np, &known);
    assert_null(r);
    assert_false(known);
    r = web_router_match(&rt, "GET", "/campaigns/", p, &np, &known);
    assert_null(r); /* an empty segment is no parameter */

    json_t *api = web_router_openapi(&rt, "1.0");
    json_t *op = json_object_get(
        json_object_get(json_object_get(api, "paths"), "/campaigns/{id}"),
        "get");
    assert_string_equal(json_string_value(json_object_get(op, "summary")),
                        "one campaign");
    json_t *roles = json_object_get(op, "x-roles");
    assert_int_equal(json_array_size(roles), 2);
    json_decref(api);
    web_router_free(&rt);
}

static void
test_paths(void **state)
{
    (void)state;
    assert_true(web_path_safe("/"));
    assert_true(web_path_safe("/js/app.js"));
    assert_true(web_path_safe("/.well-known/x"));
    assert_false(web_path_safe("/../etc/passwd"));
    assert_false(web_path_safe("/a/../../b"));
    assert_false(web_path_safe("/a/./b"));
    assert_false(web_path_safe("//etc/passwd"));
    assert_false(web_path_safe("/a\\..\\b"));
    assert_false(web_path_safe("relative"));
    assert_false(web_path_safe("/a/.."));
    char s[] = "/a%2Fb%20c+d";
    assert_int_equal(web_urldecode(s, false), 0);
    assert_string_equal(s, "/a/b c+d");
    char z[] = "x%00y";
    assert_int_equal(web_urldecode(z, false), -1);
    char bad[] = "x%zz";
    assert_int_equal(web_urldecode(bad, false), -1);
    assert_string_equal(web_mime_type("/x/app.js"),
                        "text/javascript; charset=utf-8");
    assert_string_equal(web_mime_type("/index.HTML"),
                        "text/html; charset=utf-8");
    assert_string_equal(web_mime_type("/a.b/noext"),
                        "application/octet-stream");
    char v[64];
    assert_true(web_cookie_get("a=1; __Host-plateau_sid=abc; b=2",
                               "__Host-plateau_sid", v, sizeof(v)));
    assert_string_equal(v, "abc");
    assert_false(web_cookie_get("x__Host-plateau_sid=abc",
                                "__Host-plateau_sid", v, sizeof(v)));
    assert_int_equal(web_role_parse("supervisor"), PLT_ROLE_SUPERVISOR);
    assert_int_equal(web_role_parse("root"), 0);
}

static void
test_ratelimit(void **state)
{
    (void)state;
    web_ratelimit rl;
    web_rl_init(&rl, 10.0 / 60.0, 10); /* 10 per minute */
    int64_t t = 1000000;
    for (int i = 0; i < 10; i++)
        assert_int_equal(web_rl_take(&rl, "10.0.0.1", t), 0);
    int64_t wait = web_rl_take(&rl, "10.0.0.1", t);
    assert_true(wait > 5000 && wait <= 6000);
    /* Another address has its own bucket. */
    assert_int_equal(web_rl_take(&rl, "10.0.0.2", t), 0);
    /* One token back after 6 s. */
    assert_int_equal(web_rl_take(&rl, "10.0.0.1", t + 6000), 0);
    assert_true(web_rl_take(&rl, "10.0.0.1", t + 6000) > 0);
    /* Full buckets are forgotten. */
    web_rl_sweep(&rl, t + 3600000);
    assert_int_equal(rl.count, 0);
    web_rl_free(&rl);

    /* One WebSocket's bucket: 20/s, burst 60, from clock 0 (a simulated
     * run may start there). */
    web_tb b = {0};
    for (int i = 0; i < 60; i++)
        assert_int_equal(web_tb_take(&b, 20.0 / 1000.0, 60, 0), 0);
    assert_int_equal(web_tb_take(&b, 20.0 / 1000.0, 60, 0), 50);
    assert_int_equal(web_tb_take(&b, 20.0 / 1000.0, 60, 50), 0);
    assert_true(web_tb_take(&b, 20.0 / 1000.0, 60, 50) > 0);
    assert_int_equal(web_tb_take(&b, 0, 60, 50), 0); /* 0 = no limit */
}

static void
test_session_expiry(void **state)
{
    (void)state;
    web_sessions s;
    web_sessions_init(&s, 30 * 60000, 12 * 3600000);
    plt_user u = {.size = sizeof(u), .login = "ann", .name = "Ann",
                  .role = PLT_ROLE_AGENT, .must_change_password = true};
    int64_t t0 = 1736154000000;
    web_session *ss = web_session_new(&s, &u, "127.0.0.1", t0);
    assert_non_null(ss);
    assert_int_equal(strlen(ss->id), WEB_ID_LEN);
    assert_string_not_equal(ss->id, ss->csrf);
    assert_true(ss->must_change);
    char id[WEB_ID_SIZE];
    memcpy(id, ss->id, sizeof(id));
    /* Activity keeps it alive past the idle timeout... */
    for (int i = 1; i <= 20; i++)
        assert_ptr_equal(web_session_find(&s, id, t0 + i * 20 * 60000, true),
                         ss);
    /* ...but not past the absolute lifetime. */
    assert_null(web_session_find(&s, id, t0 + 12 * 3600000, true));
    web_session *s2 = web_session_new(&s, &u, "127.0.0.1", t0);
    memcpy(id, s2->id, sizeof(id));
    assert_ptr_equal(web_session_find(&s, id, t0 + 29 * 60000, false), s2);
    /* Not touched: idle 30 minutes later it is gone. */
    assert_null(web_session_find(&s, id, t0 + 30 * 60000, false));
    id[0] = id[0] == 'A' ? 'B' : 'A';
    assert_null(web_session_find(&s, id, t0, false));
    assert_null(web_session_find(&s, "short", t0, false));
    web_sessions_free(&s);
    assert_int_equal(s.count, 0);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_ratelimit),
        cmocka_unit_test(test_session_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
