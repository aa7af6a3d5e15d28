/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/svc/http.h
 * The `http` service 1.0, provided by the `web` plugin: how a feature
 * plugin puts its own REST routes and WebSocket messages in front of the
 * browser, without knowing anything about HTTP, sessions or security.
 *
 * The web plugin is transport and security: it authenticates (session
 * cookie or API token), checks CSRF and the WebSocket Origin, enforces the
 * roles a route or message declares, rate-limits, parses JSON bodies and
 * serialises replies. The registering plugin is domain logic only.
 *
 * ROUTES. A route is METHOD + path under /api/v1 ("/agents/{login}/state"
 * is served at /api/v1/agents/{login}/state). A `{name}` segment matches
 * one non-empty segment, available through param(). More specific routes
 * win over ones with parameters ("/campaigns/new" beats "/campaigns/{id}").
 * A request whose principal's role is not in the route's `roles` gets 403
 * (401 when not logged in) and the handler is never called.
 *
 * Handlers may answer at once or later (after a storage query): every
 * request must be answered exactly once with one of the reply_*()
 * functions. The request object stays valid until it is answered, even if
 * the client went away (the reply is then dropped) or the web plugin's
 * request timeout already sent 504 to the client.
 *
 * Errors have one shape everywhere: {"error":{"code":"...","message":"..."}}
 * (reply_error()). Codes are stable identifiers ("not_found",
 * "invalid_argument", "conflict", "forbidden", "unavailable", ...); messages
 * are for humans, in English (the UI translates by code).
 *
 * Lists use ?offset=N&limit=M (limit capped by the web plugin's config)
 * and reply {"items":[...],"offset":N,"limit":M,"total":T} (total may be
 * -1 when unknown); see reply_page().
 *
 * WEBSOCKET. Each browser holds one WebSocket. Client → server messages:
 *   {"type":"agent.pause","id":"c17","data":{...}}
 * are dispatched to the plugin that registered the type; it answers with
 * ws_reply() (the client gets {"type":"reply","id":"c17","data":...}) or
 * ws_reply_error() ({"type":"reply","id":"c17","error":{code,message}}).
 * Server → client pushes are {"type":"<event name>","data":{...fields}}:
 * a plugin declares which bus events go to which browsers with forward(),
 * or sends one message itself with push().
 *
 * JSON values are jansson's json_t (link jansson). Ownership is stated per
 * function: "borrowed" = do not decref; "stolen" = the callee decrefs.
 *
 * WHAT THE BROWSER SEES (served by the web plugin itself, see docs/web.md):
 *  - POST /api/v1/session {"login","password"} logs in and sets the
 *    session cookie (HttpOnly, SameSite=Strict, `__Host-` + Secure under
 *    TLS and on loopback); the reply (like GET /api/v1/session) is
 *    {"login","role","name","lang","must_change_password","csrf_token",
 *     "idle_timeout_s","expires_at"}. DELETE /api/v1/session logs out;
 *    POST /api/v1/session/password {"current_password","new_password"};
 *    PATCH /api/v1/session {"lang":"fr"|"en"}.
 *  - Every POST/PUT/PATCH/DELETE made with the session cookie must carry
 *    the header `X-CSRF-Token: <csrf_token>` (403 csrf otherwise), and a
 *    JSON body with `Content-Type: application/json` (415 otherwise).
 *  - While must_change_password is true, every other route answers 403
 *    password_change_required.
 *  - The WebSocket is at /api/v1/ws (same origin, no subprotocol needed).
 *    The server sends {"type":"hello","data":{login,role,...}} first, and
 *    {"type":"bye","data":{"reason":...}} before it closes (logout, expiry,
 *    account disabled, sessions ended by an admin, shutdown): reconnect
 *    unless the reason is "logout"/"expired"/"disabled"/"ended_by_admin".
 *    A socket sending more than its message rate gets replies with the
 *    error code "rate_limited", then is closed if it keeps on.
 *    Opened as /api/v1/ws?batch=1, a socket receives the messages waiting
 *    for it at once as one frame {"type":"batch","data":[msg, ...]} (in
 *    order; a lone message comes as itself): a busy supervisor view then
 *    costs the browser one parse per frame, not per event. {"type":"ping","id":..} is answered
 *    with a reply.
 *  - Uploads (PLT_HTTP_UPLOAD) are the raw request body (any type), the
 *    file name in the header `X-File-Name` (percent-encoded).
 *
 * CHANGES while 1.0 is not released: metrics()/metric() appended (the
 * members before them are unchanged); plt_http, plt_http_acquire(),
 * plt_http_has_metrics(), plt_http_metrics_source(),
 * plt_http_metric() and plt_http_metric_label() added.
 *
 * Thread: loop thread only, for every function and every callback.
 */
#ifndef PLATEAU_SVC_HTTP_H
#define PLATEAU_SVC_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "plateau/error.h"
#include "plateau/service.h"
#include "plateau/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PLT_HTTP_NAME "http"
#define PLT_HTTP_MAJOR 1
#define PLT_HTTP_MINOR 0

/** Role bits for routes, messages and pushes (plt_role values of the
 *  users service, as bits). */
enum {
    PLT_HTTP_PUBLIC = 0,                /**< no login needed */
    PLT_HTTP_ADMIN = 1u << 1,           /**< PLT_ROLE_ADMIN */
    PLT_HTTP_SUPERVISOR = 1u << 2,      /**< PLT_ROLE_SUPERVISOR */
    PLT_HTTP_AGENT = 1u << 3,           /**< PLT_ROLE_AGENT */
    PLT_HTTP_STAFF = (1u << 1) | (1u << 2), /**< admin or supervisor */
    PLT_HTTP_ANY_USER = (1u << 1) | (1u << 2) | (1u << 3)
};

/** Bit of a plt_role value. */
#define PLT_HTTP_ROLE_BIT(role) (1u << (unsigned)(role))

/** Route flags. */
enum {
    /** The body is a file upload (e.g. CSV, any content type, up to the
     *  web plugin's upload limit): it is streamed to a temporary file off
     *  the loop, and upload_path() names it. The file is removed after the
     *  reply unless the handler renamed it away. */
    PLT_HTTP_UPLOAD = 1u << 0,
    /** The route changes nothing (GET-like) even though its method is
     *  POST: no CSRF token required. Use sparingly (e.g. login). */
    PLT_HTTP_NO_CSRF = 1u << 1,
    /** Reachable with an API token (integrators). Routes without it are
     *  for browser sessions only. */
    PLT_HTTP_TOKEN_OK = 1u << 2
};

/** Who is asking. Strings valid while the request/message is. */
typedef struct plt_http_principal {
    uint32_t size;
    const char *login;  /**< NULL for a public route without a session */
    int32_t role;       /**< plt_role, 0 if none */
    const char *name;   /**< display name */
    bool via_token;     /**< API token rather than a browser session */
    const char *session_id; /**< opaque, stable for the session; NULL
                                 for tokens */
    const char *remote_addr; /**< "127.0.0.1" */
    const char *lang;   /**< "fr" or "en", the session's UI language */
} plt_http_principal;

typedef struct plt_http_req plt_http_req;
typedef struct plt_ws_msg plt_ws_msg;
/** A /metrics scrape being written (see metrics()). */
typedef struct plt_http_metrics plt_http_metrics;

/** Adds a plugin's figures to a /metrics scrape with metric(). */
typedef void (*plt_http_metrics_fn)(void *arg, plt_http_metrics *m);

/** A route handler. Answer @p req exactly once (now or later). */
typedef void (*plt_http_handler_fn)(void *arg, plt_http_req *req);

/** A WebSocket message handler. Answer @p m exactly once with
 *  ws_reply() or ws_reply_error(). */
typedef void (*plt_ws_handler_fn)(void *arg, plt_ws_msg *m);

/** A REST route. */
typedef struct plt_http_route {
    uint32_t size;           /**< sizeof(plt_http_route) */
    const char *method;      /**< "GET" "POST" "PUT" "PATCH" "DELETE" */
    const char *path;        /**< under /api/v1, e.g. "/campaigns/{id}" */
    uint32_t roles;          /**< PLT_HTTP_* bits; PLT_HTTP_PUBLIC = anyone */
    uint32_t flags;          /**< PLT_HTTP_UPLOAD, ... */
    plt_http_handler_fn fn;
    void *arg;
    const char *summary;     /**< one line, for /api/v1/openapi.json */
} plt_http_route;

/** A WebSocket message type. */
typedef struct plt_ws_type {
    uint32_t size;           /**< sizeof(plt_ws_type) */
    const char *type;        /**< "agent.pause": domain.verb, unique */
    uint32_t roles;          /**< PLT_HTTP_* bits (never public) */
    plt_ws_handler_fn fn;
    void *arg;
    const char *summary;
} plt_ws_type;

/** Who receives a forwarded bus event. */
typedef struct plt_http_forward {
    uint32_t size;           /**< sizeof(plt_http_forward) */
    const char *pattern;     /**< bus pattern, "agent.*" or exact name */
    uint32_t roles;          /**< every session with one of these roles */
    /** Also (or only, if roles == 0) the sessions of the user whose login
     *  is this event field's value (e.g. "login" for agent events). NULL =
     *  none. */
    const char *owner_field;
} plt_http_forward;

/** The http vtable. Append only within major 1. */
typedef struct plt_http_vt {
    uint32_t size;

    /* ---- registration: from init() or start() ---- */

    /** Add a route. @return 0; PLT_EEXIST (same method and path);
     *  PLT_EINVAL (bad method or path). The route is removed when the
     *  registering plugin stops. */
    int (*route)(void *impl, const plt_http_route *r);
    /** Add a WebSocket message type. PLT_EEXIST if taken. */
    int (*ws_type)(void *impl, const plt_ws_type *t);
    /** Forward bus events to browsers (see plt_http_forward). The event's
     *  fields become the message's "data" object. */
    int (*forward)(void *impl, const plt_http_forward *f);

    /* ---- requests ---- */

    const plt_http_principal *(*principal)(void *impl, plt_http_req *req);
    /** "GET", ... */
    const char *(*method)(void *impl, plt_http_req *req);
    /** Path parameter by name ("id" for "/campaigns/{id}"), URL-decoded;
     *  NULL if absent. */
    const char *(*param)(void *impl, plt_http_req *req, const char *name);
    /** Query parameter, URL-decoded; NULL if absent. */
    const char *(*query)(void *impl, plt_http_req *req, const char *name);
    /** Request header (case-insensitive name); NULL if absent. */
    const char *(*header)(void *impl, plt_http_req *req, const char *name);
    /** The JSON body (borrowed), or NULL if there was none. A body that is
     *  not valid JSON never reaches a handler (400 invalid_json). */
    json_t *(*body_json)(void *impl, plt_http_req *req);
    /** The raw body and its length (NULL/0 if none). */
    const void *(*body)(void *impl, plt_http_req *req, size_t *len);
    /** With PLT_HTTP_UPLOAD: the temporary file holding the body. */
    const char *(*upload_path)(void *impl, plt_http_req *req);
    /** Original file name given by the client for an upload, or NULL. */
    const char *(*upload_name)(void *impl, plt_http_req *req);

    /** Reply with JSON (stolen; NULL = no body, e.g. 204). */
    void (*reply_json)(void *impl, plt_http_req *req, int status,
                       json_t *body);
    /** Reply with the standard error shape. */
    void (*reply_error)(void *impl, plt_http_req *req, int status,
                        const char *code, const char *message);
    /** Reply with bytes (copied), e.g. a CSV export; @p filename (may be
     *  NULL) sets Content-Disposition: attachment. */
    void (*reply_bytes)(void *impl, plt_http_req *req, int status,
                        const char *content_type, const void *data,
                        size_t len, const char *filename);
    /** Reply with a file streamed off the loop (a recording, a report).
     *  404 if it cannot be opened. */
    void (*reply_file)(void *impl, plt_http_req *req, const char *path,
                       const char *content_type, const char *filename);
    /** Reply with a page: {"items":items,"offset","limit","total"}.
     *  @p items stolen (a JSON array). */
    void (*reply_page)(void *impl, plt_http_req *req, json_t *items,
                       int64_t offset, int64_t limit, int64_t total);
    /** The offset/limit a list request asked for, clamped to the
     *  configured maximum (defaults 0 and 50). */
    void (*page_args)(void *impl, plt_http_req *req, int64_t *offset,
                      int64_t *limit);

    /* ---- WebSocket ---- */

    const plt_http_principal *(*ws_principal)(void *impl, plt_ws_msg *m);
    /** The message's "data" object (borrowed; an empty object if absent). */
    json_t *(*ws_data)(void *impl, plt_ws_msg *m);
    /** Answer (data stolen; NULL = {}). */
    void (*ws_reply)(void *impl, plt_ws_msg *m, json_t *data);
    void (*ws_reply_error)(void *impl, plt_ws_msg *m, const char *code,
                           const char *message);

    /** Send one message to every session of @p login (NULL = to every
     *  session whose role is in @p roles). @p data stolen. @return the
     *  number of sessions reached. */
    int (*push)(void *impl, const char *login, uint32_t roles,
                const char *type, json_t *data);

    /* ---- audit ---- */

    /** Record an admin action in the users audit log with the request's
     *  principal as actor and address. */
    void (*audit)(void *impl, plt_http_req *req, const char *action,
                  const char *target, const char *detail);

    /* ---- metrics ---- */

    /** Call @p fn at every /metrics scrape so the plugin adds its gauges
     *  and counters (agents by state, calls, queue waits, pacing).
     *  Registering the same @p fn and @p arg again is a no-op (0), so a
     *  plugin may register from every start(); the source stays until the
     *  web plugin stops, so @p fn must add nothing while its plugin is
     *  stopped. @return 0; PLT_ENOMEM. */
    int (*metrics)(void *impl, plt_http_metrics_fn fn, void *arg);
    /** Inside a plt_http_metrics_fn: one sample, in Prometheus text
     *  format. @p name: [a-z_][a-z0-9_]*, prefix it with "plateau_"; the
     *  first sample of a name writes its HELP/TYPE lines (@p type
     *  "gauge" or "counter"; @p help one line). @p labels: NULL or
     *  'state="ready",queue="sales"' (values escaped by the caller). */
    void (*metric)(void *impl, plt_http_metrics *m, const char *name,
                   const char *type, const char *help, const char *labels,
                   double value);
} plt_http_vt;

/** The http service as acquired (see plt_http_acquire()). */
typedef struct plt_http {
    const plt_http_vt *vt;
    void *impl;
} plt_http;

/** Acquire the http service (from start()). PLT_ENOSERVICE without the
 *  web plugin: a feature plugin then simply registers nothing. */
static inline int
plt_http_acquire(plt_http *out)
{
    plt_service_ref ref;
    int rc = plt_service_acquire(PLT_HTTP_NAME, PLT_HTTP_MAJOR, 0, &ref);
    if (rc == 0) {
        out->vt = (const plt_http_vt *)ref.vtable;
        out->impl = ref.impl;
    }
    return rc;
}

/** Whether the provider has metrics()/metric() (appended to 1.0). */
static inline bool
plt_http_has_metrics(const plt_http *h)
{
    return h->vt &&
           h->vt->size >= offsetof(plt_http_vt, metric) +
                              sizeof(h->vt->metric) &&
           h->vt->metrics && h->vt->metric;
}

/** From start(): acquire the http service into @p h and add @p fn as a
 *  /metrics source (see metrics()). @return 0; PLT_ENOSERVICE without a
 *  web plugin (or one without metrics); PLT_ENOMEM. */
static inline int
plt_http_metrics_source(plt_http *h, plt_http_metrics_fn fn, void *arg)
{
    int rc = plt_http_acquire(h);
    if (rc != 0)
        return rc;
    if (!plt_http_has_metrics(h))
        return PLT_ENOSERVICE;
    return h->vt->metrics(h->impl, fn, arg);
}

/** One sample from a plt_http_metrics_fn (see metric()). */
static inline void
plt_http_metric(const plt_http *h, plt_http_metrics *m, const char *name,
                const char *type, const char *help, const char *labels,
                double value)
{
    h->vt->metric(h->impl, m, name, type, help, labels, value);
}

/** Write the label `name="value"` into @p out (@p len bytes, always
 *  terminated), escaping the value for the text format (\\, \", and
 *  newlines as spaces), then ",@p extra" when @p extra is not NULL. A value
 *  too long is cut. */
static inline void
plt_http_metric_label(char *out, size_t len, const char *name,
                      const char *value, const char *extra)
{
    size_t o = 0;
    if (!len)
        return;
    for (const char *c = name; *c && o + 1 < len; c++)
        out[o++] = *c;
    if (o + 2 < len) {
        out[o++] = '=';
        out[o++] = '"';
    }
    for (const char *c = value ? value : ""; *c && o + 4 < len; c++) {
        if (*c == '"' || *c == '\\')
            out[o++] = '\\';
        out[o++] = *c == '\n' ? ' ' : *c;
    }
    if (o + 1 < len)
        out[o++] = '"';
    for (const char *c = extra ? "," : ""; *c && o + 1 < len; c++)
        out[o++] = *c;
    for (const char *c = extra ? extra : ""; *c && o + 1 < len; c++)
        out[o++] = *c;
    out[o] = '\0';
}

#ifdef __cplusplus
}
#endif

#endif /* PLATEAU_SVC_HTTP_H */
