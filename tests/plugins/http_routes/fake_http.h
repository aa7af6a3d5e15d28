/* SPDX-License-Identifier: MIT */
/*
 * A test double of the `http` service (plateau/svc/http.h) for the route
 * files of feature plugins: it records what a plugin registers (routes,
 * WebSocket types, forwards), lets a test send a request or a WebSocket
 * message as a given user - with the web plugin's role check (401/403,
 * handler never called) and path matching ("/campaigns/new" beats
 * "/campaigns/{id}") - and records replies and pushes. No HTTP, no
 * sockets: the security of the real transport is tested with the web
 * plugin itself.
 *
 * Thread: the loop thread (the test's). Ownership: replies and pushes
 * belong to the fake until fake_http_free().
 */
#ifndef PLATEAU_TESTS_FAKE_HTTP_H
#define PLATEAU_TESTS_FAKE_HTTP_H

#include <jansson.h>
#include <stdbool.h>

#include <plateau/plateau.h>
#include <plateau/svc/http.h>
#include <plateau/testing/fake_host.h>

typedef struct fake_http fake_http;

/** A reply, filled when the handler answers. */
typedef struct fake_http_reply {
    bool answered;
    int status;
    json_t *body;      /**< JSON replies (owned by the reply) */
    char *bytes;       /**< reply_bytes / reply_file content */
    size_t len;
    char *content_type;
} fake_http_reply;

/** Create the fake and register it as `http` 1.0 on @p fh (before
 *  plt_fake_host_init, so that plugins can acquire it). */
int fake_http_new(plt_fake_host *fh, fake_http **out);
void fake_http_free(fake_http *h);
/** Release what a reply holds (for reuse). */
void fake_http_reply_clear(fake_http_reply *r);

/**
 * Send a request. @p path may carry a query ("/x?offset=2"). @p login NULL
 * = no session. @p body: JSON text or NULL. @p upload: a file copied as the
 * upload for PLT_HTTP_UPLOAD routes, or NULL. The reply comes in @p out,
 * now or once the loop has run (check out->answered).
 * @return 0 dispatched (or refused by role: out has 401/403); PLT_ENOENT
 * no route (out has 404).
 */
int fake_http_request(fake_http *h, const char *method, const char *path,
                      const char *login, int32_t role, const char *body,
                      const char *upload, fake_http_reply *out);

/** Send a WebSocket message; the reply's body is the data or
 *  {"error":{...}}, status 200 or 400. */
int fake_http_ws(fake_http *h, const char *type, const char *login,
                 int32_t role, const char *data, fake_http_reply *out);

/** Add the plugin @p name as built (PLATEAU_PLUGIN_DIR/<name>.so) with its
 *  YAML config (NULL = none). @return 0, or the host's error code. */
int fake_http_add_so(plt_fake_host *fh, const char *name, const char *yaml);

/** Run @p fh's loop (storage and workers answer from their own threads)
 *  until done(arg) or about 20 s. @return done(arg). */
bool fake_http_run_until(plt_fake_host *fh, bool (*done)(void *arg),
                         void *arg);

/** A /metrics scrape of the sources registered with metrics(): one
 *  "name{labels} value" line per sample (no HELP/TYPE). Free it. */
char *fake_http_scrape(fake_http *h);

/** Number of routes, WS types, forwards registered. */
size_t fake_http_route_count(const fake_http *h);
/** The forward registered for exactly @p pattern, or NULL. */
const plt_http_forward *fake_http_forward(const fake_http *h,
                                          const char *pattern);
/** Pushes of @p type (NULL = any) to @p login (NULL = any). */
size_t fake_http_push_count(const fake_http *h, const char *login,
                            const char *type);
/** The last such push's data (borrowed), or NULL. */
json_t *fake_http_push_last(const fake_http *h, const char *login,
                            const char *type);
/** Audit entries recorded with @p action. */
size_t fake_http_audit_count(const fake_http *h, const char *action);

#endif
