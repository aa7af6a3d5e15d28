/* SPDX-License-Identifier: MIT */
/*
 * web: HTTP, REST and WebSocket transport for the browser and for
 * integrators, and the security around them (sessions, CSRF, origins,
 * roles, rate limits, API tokens). Provides the `http` 1.0 service
 * (plateau/svc/http.h) through which feature plugins register their own
 * routes and messages; it holds no domain logic itself.
 *
 * This file holds the descriptor, the configuration and the lifecycle.
 */
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "web_int.h"

static const char *const cookie_choices[] = {"auto", "always", "never", NULL};

static const plt_cfg_key web_keys[] = {
    {.name = "bind", .type = PLT_CFG_STR, .def = "127.0.0.1",
     .help = "address to listen on (0.0.0.0 for every interface: configure "
             "TLS then)"},
    {.name = "port", .type = PLT_CFG_INT, .def = "8080", .min = 0,
     .max = 65535, .help = "TCP port (0 = any free port, logged at start)"},
    {.name = "root", .type = PLT_CFG_PATH,
     .help = "folder of the browser UI (default: the installed "
             "share/plateau/web, else the source tree's web/)"},
    {.name = "tls_cert", .type = PLT_CFG_PATH,
     .help = "PEM certificate (chain): serve HTTPS and WSS"},
    {.name = "tls_key", .type = PLT_CFG_PATH, .flags = PLT_CFG_SECRET,
     .help = "PEM private key of tls_cert"},
    {.name = "cookie_secure", .type = PLT_CFG_STR, .def = "auto",
     .choices = cookie_choices,
     .help = "Secure __Host- session cookie: auto = under TLS or on a "
             "loopback bind"},
    {.name = "origins", .type = PLT_CFG_LIST,
     .help = "origins allowed for WebSockets and state changes, e.g. "
             "https://cc.example.com (default: the server's own host)"},
    {.name = "session_idle", .type = PLT_CFG_DURATION, .def = "30m",
     .flags = PLT_CFG_RELOADABLE, .min = 1000, .max = 604800000,
     .help = "a session ends after this long without activity"},
    {.name = "session_max", .type = PLT_CFG_DURATION, .def = "12h",
     .flags = PLT_CFG_RELOADABLE, .min = 1000, .max = 2592000000,
     .help = "a session ends this long after login, whatever happens"},
    {.name = "max_body", .type = PLT_CFG_INT, .def = "1048576",
     .flags = PLT_CFG_RELOADABLE, .min = 1024, .max = 1073741824,
     .help = "largest JSON request body in bytes (413 beyond)"},
    {.name = "max_upload", .type = PLT_CFG_INT, .def = "104857600",
     .flags = PLT_CFG_RELOADABLE, .min = 1024, .max = 4294967296,
     .help = "largest upload (lead files) in bytes"},
    {.name = "max_static", .type = PLT_CFG_INT, .def = "67108864",
     .flags = PLT_CFG_RELOADABLE, .min = 1024, .max = 4294967296,
     .help = "largest file served (web root, recordings) in bytes"},
    {.name = "page_limit", .type = PLT_CFG_INT, .def = "50",
     .flags = PLT_CFG_RELOADABLE, .min = 1, .max = 10000,
     .help = "items per page when a list request gives no limit"},
    {.name = "page_limit_max", .type = PLT_CFG_INT, .def = "500",
     .flags = PLT_CFG_RELOADABLE, .min = 1, .max = 100000,
     .help = "largest limit a list request may ask for"},
    {.name = "request_timeout", .type = PLT_CFG_DURATION, .def = "30s",
     .flags = PLT_CFG_RELOADABLE, .min = 100, .max = 3600000,
     .help = "answer 504 when a handler takes longer"},
    {.name = "login_per_minute", .type = PLT_CFG_INT, .def = "10",
     .flags = PLT_CFG_RELOADABLE, .min = 0, .max = 100000,
     .help = "login attempts per minute per address (0 = no limit)"},
    {.name = "requests_per_second", .type = PLT_CFG_INT, .def = "100",
     .flags = PLT_CFG_RELOADABLE, .min = 0, .max = 1000000,
     .help = "API requests per second per address (0 = no limit)"},
    {.name = "requests_burst", .type = PLT_CFG_INT, .def = "400",
     .flags = PLT_CFG_RELOADABLE, .min = 1, .max = 1000000,
     .help = "requests an address may send at once above the rate"},
    {.name = "ws_queue", .type = PLT_CFG_INT, .def = "2048", .min = 16,
     .max = 1000000,
     .help = "messages waiting for a slow WebSocket before it is dropped"},
    {.name = "ws_per_session", .type = PLT_CFG_INT, .def = "8",
     .flags = PLT_CFG_RELOADABLE, .min = 1, .max = 100000,
     .help = "WebSockets one session may hold (browser tabs)"},
    {.name = "ws_message_max", .type = PLT_CFG_INT, .def = "65536",
     .flags = PLT_CFG_RELOADABLE, .min = 256, .max = 16777216,
     .help = "largest message a browser may send, in bytes"},
    {.name = "ws_messages_per_second", .type = PLT_CFG_INT, .def = "20",
     .flags = PLT_CFG_RELOADABLE, .min = 0, .max = 1000000,
     .help = "messages one WebSocket may send per second (0 = no limit); "
             "beyond, they are answered rate_limited"},
    {.name = "ws_messages_burst", .type = PLT_CFG_INT, .def = "60",
     .flags = PLT_CFG_RELOADABLE, .min = 1, .max = 1000000,
     .help = "messages a WebSocket may send at once above the rate; a "
             "socket that keeps sending this many more refused is closed"},
    {.name = "max_sessions", .type = PLT_CFG_INT, .def = "10000",
     .flags = PLT_CFG_RELOADABLE, .min = 1, .max = 10000000,
     .help = "sessions open at once"},
    {.name = "metrics_public", .type = PLT_CFG_BOOL, .def = "false",
     .flags = PLT_CFG_RELOADABLE,
     .help = "serve /metrics to anyone (default: loopback, tokens, "
             "admins and supervisors)"},
    {.name = "metrics_allow", .type = PLT_CFG_LIST,
     .help = "addresses or networks that may read /metrics without a "
             "token, e.g. 10.0.0.5 or 10.1.0.0/16 (default: loopback; [] = "
             "none, tokens and staff sessions only)"},
    {.name = "csp", .type = PLT_CFG_STR,
     .def = "default-src 'self'; img-src 'self' data:; style-src 'self' "
            "'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; "
            "base-uri 'self'; form-action 'self'",
     .flags = PLT_CFG_RELOADABLE,
     .help = "Content-Security-Policy of the UI's files"},
    PLT_CFG_END};

static const plt_dep web_needs[] = {
    {PLT_USERS_NAME, PLT_USERS_MAJOR, 0, 0},
    {PLT_STORAGE_NAME, PLT_STORAGE_MAJOR, 0, 0},
    {0}};
static const char *const web_provides[] = {PLT_HTTP_NAME, NULL};

web *web_state;

void
web_call_begin(web *w)
{
    w->inflight++;
}

void
web_call_end(web *w)
{
    w->inflight--;
}

/* ---- configuration ---- */

static int
read_reloadable(const plt_cfg *cfg, web_cfg *c)
{
    int rc = 0;
    rc |= plt_cfg_duration_ms(cfg, "session_idle", &c->session_idle_ms);
    rc |= plt_cfg_duration_ms(cfg, "session_max", &c->session_max_ms);
    rc |= plt_cfg_int(cfg, "max_body", &c->max_body);
    rc |= plt_cfg_int(cfg, "max_upload", &c->max_upload);
    rc |= plt_cfg_int(cfg, "max_static", &c->max_static);
    rc |= plt_cfg_int(cfg, "page_limit", &c->page_limit_default);
    rc |= plt_cfg_int(cfg, "page_limit_max", &c->page_limit_max);
    rc |= plt_cfg_duration_ms(cfg, "request_timeout", &c->request_timeout_ms);
    rc |= plt_cfg_int(cfg, "login_per_minute", &c->login_per_minute);
    rc |= plt_cfg_int(cfg, "requests_per_second", &c->requests_per_second);
    rc |= plt_cfg_int(cfg, "requests_burst", &c->requests_burst);
    rc |= plt_cfg_int(cfg, "ws_per_session", &c->ws_per_session);
    rc |= plt_cfg_int(cfg, "ws_message_max", &c->ws_msg_max);
    rc |= plt_cfg_int(cfg, "ws_messages_per_second", &c->ws_msg_rate);
    rc |= plt_cfg_int(cfg, "ws_messages_burst", &c->ws_msg_burst);
    rc |= plt_cfg_int(cfg, "max_sessions", &c->max_sessions);
    rc |= plt_cfg_bool(cfg, "metrics_public", &c->metrics_public);
    rc |= plt_cfg_str(cfg, "csp", &c->csp);
    if (rc != 0)
        return PLT_ECONFIG;
    if (c->page_limit_default > c->page_limit_max)
        c->page_limit_default = c->page_limit_max;
    return 0;
}

static bool
is_dir(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The installed share/plateau/web next to this plugin, else the source
 * tree's web/ (running from the build tree). */
static char *
default_root(void)
{
    Dl_info info;
    if (dladdr((void *)default_root, &info) && info.dli_fname) {
        char so[PATH_MAX];
        if (realpath(info.dli_fname, so)) {
            /* <prefix>/<libdir>/plateau/plugins/web.so */
            char *dir = dirname(so);
            const char *libdir = PLATEAU_INSTALL_LIBDIR "/plateau/plugins";
            size_t dl = strlen(dir), ll = strlen(libdir);
            if (dl > ll && strcmp(dir + dl - ll, libdir) == 0 &&
                dir[dl - ll - 1] == '/') {
                char p[PATH_MAX];
                snprintf(p, sizeof(p), "%.*s/%s/plateau/web",
                         (int)(dl - ll - 1), dir, PLATEAU_INSTALL_DATADIR);
                if (is_dir(p))
                    return realpath(p, NULL);
            }
        }
    }
    if (is_dir(PLATEAU_SOURCE_WEB))
        return realpath(PLATEAU_SOURCE_WEB, NULL);
    return NULL;
}

static void
cfg_free(web_cfg *c)
{
    free(c->root);
    for (size_t i = 0; c->origins && c->origins[i]; i++)
        free(c->origins[i]);
    free(c->origins);
    free(c->metrics_allow);
    c->root = NULL;
    c->origins = NULL;
    c->metrics_allow = NULL;
    c->nmetrics_allow = 0;
}

/* Who may read /metrics by address; loopback when the key is unset. */
static int
read_metrics_allow(const plt_cfg *cfg, web_cfg *c)
{
    static const char *const loopback[] = {"127.0.0.0/8", "::1"};
    size_t n = 2;
    bool set = plt_cfg_is_set(cfg, "metrics_allow") == 1;
    if (set)
        plt_cfg_count(cfg, "metrics_allow", &n);
    c->metrics_allow = calloc(n ? n : 1, sizeof(*c->metrics_allow));
    if (!c->metrics_allow)
        return PLT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *t = loopback[i < 2 ? i : 0];
        if (set && plt_cfg_list_at(cfg, "metrics_allow", i, &t) != 0)
            return PLT_ECONFIG;
        if (web_net_parse(t, &c->metrics_allow[i]) != 0) {
            plt_set_error("metrics_allow: %s is not an address or a "
                          "network (a.b.c.d/n, ::1)",
                          t);
            return PLT_ECONFIG;
        }
    }
    c->nmetrics_allow = n;
    return 0;
}

static int
read_cfg(const plt_cfg *cfg, web_cfg *c)
{
    memset(c, 0, sizeof(*c));
    int rc = 0;
    rc |= plt_cfg_str(cfg, "bind", &c->bind);
    rc |= plt_cfg_int(cfg, "port", &c->port);
    rc |= plt_cfg_str(cfg, "cookie_secure", &c->cookie_secure);
    rc |= plt_cfg_int(cfg, "ws_queue", &c->ws_queue_max);
    if (rc != 0 || read_reloadable(cfg, c) != 0) {
        plt_set_error("cannot read the configuration");
        return PLT_ECONFIG;
    }
    if (plt_cfg_path(cfg, "tls_cert", &c->tls_cert) != 0)
        c->tls_cert = NULL;
    if (plt_cfg_path(cfg, "tls_key", &c->tls_key) != 0)
        c->tls_key = NULL;
    if (!c->tls_cert != !c->tls_key) {
        plt_set_error("tls_cert and tls_key go together");
        return PLT_ECONFIG;
    }
    const char *root = NULL;
    if (plt_cfg_path(cfg, "root", &root) == 0 && root) {
        c->root = realpath(root, NULL);
        if (!c->root || !is_dir(c->root)) {
            plt_set_error("root: %s is not a folder", root);
            free(c->root);
            c->root = NULL;
            return PLT_ECONFIG;
        }
    } else {
        c->root = default_root();
    }
    size_t n = 0;
    plt_cfg_count(cfg, "origins", &n);
    c->origins = calloc(n + 1, sizeof(*c->origins));
    if (!c->origins) {
        cfg_free(c);
        return PLT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const char *o;
        if (plt_cfg_list_at(cfg, "origins", i, &o) != 0 ||
            !(c->origins[i] = strdup(o))) {
            cfg_free(c);
            return PLT_ENOMEM;
        }
        /* Browsers send origins without a trailing slash. */
        size_t l = strlen(c->origins[i]);
        if (l && c->origins[i][l - 1] == '/')
            c->origins[i][l - 1] = '\0';
    }
    if ((rc = read_metrics_allow(cfg, c)) != 0) {
        cfg_free(c);
        return rc;
    }
    return 0;
}

static void
apply_limits(web *w)
{
    w->sessions.idle_ms = w->cfg.session_idle_ms;
    w->sessions.max_ms = w->cfg.session_max_ms;
    web_rl_configure(&w->rl_login, (double)w->cfg.login_per_minute / 60.0,
                     (double)(w->cfg.login_per_minute > 0
                                  ? w->cfg.login_per_minute
                                  : 1));
    web_rl_configure(&w->rl_all, (double)w->cfg.requests_per_second,
                     (double)w->cfg.requests_burst);
}

/* ---- events ---- */

static void
on_any_event(const plt_event *ev, void *arg)
{
    web_metrics_count_event(arg, plt_event_topic(ev));
}

static void
on_user_event(const plt_event *ev, void *arg)
{
    web *w = arg;
    const char *topic = plt_event_topic(ev);
    const char *login = plt_event_str(ev, "login");
    if (!login)
        return;
    /* ASVS V7.4.2: disabling a user ends their sessions; a role change
     * must not leave a session with the old role. */
    if (strcmp(topic, "users.user.disabled") == 0)
        web_sessions_end_login(w, login, NULL, "disabled");
    else if (strcmp(topic, "users.user.updated") == 0)
        web_sessions_end_login(w, login, NULL, "account_changed");
    else if (strcmp(topic, "users.user.password_changed") == 0) {
        /* Reset by someone else: the user logs in with the new one. A
         * change made by the user through this plugin already ended the
         * other sessions and keeps the current one. */
        const char *actor = plt_event_str(ev, "actor");
        char self[96];
        snprintf(self, sizeof(self), "user:%s", login);
        if (!actor || strcmp(actor, self) != 0)
            web_sessions_end_login(w, login, NULL, "password_reset");
    }
}

/* The sweep (session expiry, request timeouts, forgotten rate-limit
 * buckets) runs each second only while there is something to sweep, so an
 * idle server arms no timer.
 *
 * On a simulated clock it arms none at all: a timer would let virtual time
 * jump from one sweep to the next (a session's 30 minutes would pass in
 * milliseconds, and the loop would never rest). Requests sweep instead, at
 * most once per virtual second; time limits still follow the core clock,
 * which then moves with the simulated world's own timers. */
static void
sweep_tick(void *arg)
{
    web *w = arg;
    int64_t now = plt_now();
    web_sessions_sweep(w);
    web_requests_sweep(w);
    web_rl_sweep(&w->rl_login, now);
    web_rl_sweep(&w->rl_all, now);
    if (w->sessions.count == 0 && !w->pending && w->rl_login.count == 0 &&
        w->rl_all.count == 0 && w->sweep) {
        plt_timer_stop(w->sweep);
        w->sweep = NULL;
    }
}

void
web_sweep_arm(web *w)
{
    if (w->sweep || !w->started || w->stopping)
        return;
    if (w->simulated) {
        int64_t now = plt_now();
        if (now - w->swept_at >= 1000) {
            w->swept_at = now;
            sweep_tick(w);
        }
        return;
    }
    if (plt_timer_start(&w->sweep, 1000, 1000, sweep_tick, w) != 0)
        w->sweep = NULL;
}

/* ---- lifecycle ---- */

static int
web_init(plt_plugin *self, const plt_cfg *cfg)
{
    (void)self;
    if (sodium_init() < 0) {
        plt_set_error("libsodium cannot initialise");
        return PLT_EIO;
    }
    web *w = calloc(1, sizeof(*w));
    if (!w)
        return PLT_ENOMEM;
    int rc = read_cfg(cfg, &w->cfg);
    if (rc != 0) {
        free(w);
        return rc;
    }
    web_router_init(&w->router);
    web_sessions_init(&w->sessions, w->cfg.session_idle_ms,
                      w->cfg.session_max_ms);
    web_rl_init(&w->rl_login, 0, 1);
    web_rl_init(&w->rl_all, 0, 1);
    apply_limits(w);
    web_state = w;

    if (plt_service_acquire(PLT_USERS_NAME, PLT_USERS_MAJOR, 0,
                            &w->users_ref) == 0) {
        w->users = w->users_ref.vtable;
        w->users_impl = w->users_ref.impl;
    }
    /* Storage now, not in start(): the migrations of the token table must
     * be declared before the storage plugin starts. */
    if (plt_storage_acquire(&w->st) == 0) {
        rc = w->st.vt->migrations(w->st.impl, "web", web_migrations,
                                  web_nmigrations);
        w->have_storage = rc == 0;
        if (rc != 0)
            plt_log_err(PLT_LOG_WARN, rc, "API tokens disabled");
    }
    if ((rc = web_auth_routes(w)) != 0 || (rc = web_users_routes(w)) != 0 ||
        (rc = web_tokens_routes(w)) != 0) {
        plt_set_error("cannot register the built-in routes: %s",
                      plt_strerror(rc));
        return rc;
    }
    plt_service_desc svc = {.size = sizeof(svc),
                            .major = PLT_HTTP_MAJOR,
                            .minor = PLT_HTTP_MINOR,
                            .name = PLT_HTTP_NAME,
                            .vtable = &web_http_vtable,
                            .impl = w};
    rc = plt_service_provide(&svc);
    if (rc != 0) {
        plt_set_error("cannot provide the http service: %s", plt_strerror(rc));
        return rc;
    }
    return 0;
}

static int
web_start(plt_plugin *self)
{
    (void)self;
    web *w = web_state;
    int rc = web_server_start(w);
    if (rc != 0)
        return rc;
    w->simulated = plt_clock_simulated() == 1;
    w->started = true;
    uv_timer_init(plt_loop(), &w->stop_timer);
    plt_subscribe("*", on_any_event, w, &w->all_sub);
    plt_subscribe("users.user.*", on_user_event, w, &w->user_sub);
    web_tokens_load(w);
    if (!w->cfg.tls_cert && !web_cookie_secure(w))
        plt_log(PLT_LOG_WARN,
                "serving plain HTTP on %s: session cookies cannot be Secure; "
                "configure tls_cert and tls_key",
                w->cfg.bind);
    if (!w->cfg.root)
        plt_log(PLT_LOG_WARN, "no web root found: only the API is served");
    plt_log(PLT_LOG_NOTICE, "serving %s://%s:%d/ (web root %s)",
            w->cfg.tls_cert ? "https" : "http", w->cfg.bind, w->port,
            w->cfg.root ? w->cfg.root : "none");
    return 0;
}

static void
stop_closed(uv_handle_t *h)
{
    (void)h;
    web *w = web_state;
    if (w && w->stop_async) {
        w->stop_async = false;
        plt_stopped();
    }
}

static void
stop_step(uv_timer_t *t)
{
    web *w = web_state;
    switch (w->stop_phase++) {
    case 0:
        /* The byes had their chance to go out: destroy the context from
         * here, outside any lws callback. */
        web_server_destroy1(w);
        uv_timer_start(t, stop_step, 20, 0);
        break;
    default:
        /* lws closes its handles asynchronously; wait for in-flight
         * users and storage calls too. */
        if (w->inflight > 0 && w->stop_phase < 500) {
            uv_timer_start(t, stop_step, 10, 0);
            break;
        }
        uv_close((uv_handle_t *)t, stop_closed);
        break;
    }
}

static int
web_stop(plt_plugin *self)
{
    (void)self;
    web *w = web_state;
    w->stopping = true;
    if (w->sweep) {
        plt_timer_stop(w->sweep);
        w->sweep = NULL;
    }
    if (w->all_sub)
        plt_unsubscribe(w->all_sub);
    if (w->user_sub)
        plt_unsubscribe(w->user_sub);
    w->all_sub = w->user_sub = NULL;
    web_ws_forwards_free(w);
    if (!w->started)
        return 0;
    for (web_conn *c = w->conns; c; c = c->anext)
        web_ws_bye(c, "shutdown");
    w->stop_async = true;
    w->stop_phase = 0;
    uv_timer_start(&w->stop_timer, stop_step, w->conns ? 100 : 0, 0);
    return PLT_EINPROGRESS;
}

static void
web_fini(plt_plugin *self)
{
    (void)self;
    web *w = web_state;
    if (!w)
        return;
    /* The second destroy, now that the loop has closed lws's handles
     * (libwebsockets on a foreign loop needs it to free the context). */
    web_server_destroy2(w);
    while (w->pending) {
        plt_http_req *r = w->pending;
        r->wsi = NULL;
        web_req_free(r);
    }
    web_ws_forwards_free(w);
    web_sessions_free(&w->sessions);
    web_router_free(&w->router);
    web_rl_free(&w->rl_login);
    web_rl_free(&w->rl_all);
    web_metrics_free(w);
    sodium_memzero(w->tokens, w->ntokens * sizeof(*w->tokens));
    free(w->tokens);
    cfg_free(&w->cfg);
    free(w);
    web_state = NULL;
}

static int
web_reconfigure(plt_plugin *self, const plt_cfg *cfg, plt_reconf_phase phase)
{
    (void)self;
    web *w = web_state;
    web_cfg c = w->cfg;
    int rc = read_reloadable(cfg, &c);
    if (rc != 0 || phase == PLT_RECONF_CHECK)
        return rc;
    w->cfg = c;
    apply_limits(w);
    return 0;
}

PLT_PLUGIN_DEFINE(.name = "web", .version = "1.0.0",
                  .summary = "HTTP, REST and WebSocket for browsers and "
                             "integrators: sessions, CSRF, roles, tokens",
                  .flags = PLT_PLUGIN_F_NOUNLOAD, .needs = web_needs,
                  .provides = web_provides, .config_keys = web_keys,
                  .init = web_init, .start = web_start, .stop = web_stop,
                  .fini = web_fini, .reconfigure = web_reconfigure);
