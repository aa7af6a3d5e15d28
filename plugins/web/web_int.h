/* SPDX-License-Identifier: MIT */
/*
 * Private header of the web plugin: its state, the configuration it runs
 * with, and the functions its files share.
 *
 *   web.c               descriptor, configuration, lifecycle
 *   web_server.c        libwebsockets on the core's loop: HTTP requests,
 *                       bodies, replies, security headers
 *   web_static.c        files of the web root, read off the loop
 *   web_router.c        the route and message tables, matching, OpenAPI
 *   web_service.c       the `http` service vtable
 *   web_session.c       server-side sessions, cookies, CSRF tokens
 *   web_ws.c            the one WebSocket per browser: messages, pushes
 *   web_auth_routes.c   /session (login, logout, me, password)
 *   web_tokens.c        API tokens for integrators (stored hashed)
 *   web_users_routes.c  /users and /audit (the users service's REST face)
 *   web_metrics.c       /metrics in Prometheus text format
 *   web_ratelimit.c     token buckets per address
 *   web_util.c          URL decoding, paths, MIME types, cookies
 */
#ifndef WEB_INT_H
#define WEB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <plateau/loop.h>
#include <plateau/plateau.h>
#include <plateau/svc/http.h>
#include <plateau/svc/storage.h>
#include <plateau/svc/users.h>

struct lws;
struct lws_context;

/* Random identifiers: 32 bytes, base64url without padding (43 chars). */
#define WEB_ID_LEN 43
#define WEB_ID_SIZE (WEB_ID_LEN + 1)
/* Names of the session cookie: with the __Host- prefix when the cookie
 * is Secure, without it when it cannot be (plain HTTP, not loopback). */
#define WEB_COOKIE_HOST "__Host-plateau_sid"
#define WEB_COOKIE_PLAIN "plateau_sid"
#define WEB_PARAMS_MAX 8

typedef struct web web;
typedef struct web_session web_session;
typedef struct web_fstream web_fstream;
typedef struct web_spool web_spool;
typedef struct web_conn web_conn;

/* ------------------------------------------------------------------ */
/* Configuration (web.c) */

/* An address or network allowed to read /metrics ("10.0.0.0/8", "::1"):
 * IPv4 is held as IPv4-mapped IPv6. */
typedef struct web_net {
    unsigned char addr[16];
    int prefix; /* bits, of the 128 */
} web_net;

typedef struct web_cfg {
    const char *bind;
    int64_t port;
    char *root;               /* owned: resolved web root */
    const char *tls_cert;     /* NULL = plain HTTP */
    const char *tls_key;
    const char *cookie_secure; /* "auto" | "always" | "never" */
    char **origins;           /* owned, NULL-terminated; empty = same host */
    int64_t session_idle_ms;
    int64_t session_max_ms;
    int64_t max_body;
    int64_t max_upload;
    int64_t max_static;
    int64_t page_limit_default;
    int64_t page_limit_max;
    int64_t request_timeout_ms;
    int64_t login_per_minute;  /* per address */
    int64_t requests_per_second; /* per address, every request */
    int64_t requests_burst;
    int64_t ws_queue_max;      /* messages waiting per WebSocket */
    int64_t ws_per_session;    /* WebSockets per session */
    int64_t ws_msg_max;        /* bytes of one client message */
    int64_t ws_msg_rate;       /* messages per second per WebSocket */
    int64_t ws_msg_burst;
    int64_t max_sessions;
    bool metrics_public;       /* /metrics without login from anywhere */
    web_net *metrics_allow;    /* owned: addresses that may read /metrics */
    size_t nmetrics_allow;
    const char *csp;
} web_cfg;

/* ------------------------------------------------------------------ */
/* Token buckets per address (web_ratelimit.c) */

/* One token bucket (zeroed = new: starts full). */
typedef struct web_tb {
    double tokens;
    int64_t at; /* clock ms when tokens was computed */
    bool started;
} web_tb;
/* Take a token at @p now: 0, or the ms to wait (>= 1). rate <= 0: no
 * limit. */
int64_t web_tb_take(web_tb *b, double rate_per_ms, double burst, int64_t now);

typedef struct web_bucket web_bucket;
typedef struct web_ratelimit {
    web_bucket **slots;
    size_t nslots;
    size_t count;
    double rate_per_ms; /* tokens added per millisecond */
    double burst;       /* bucket size */
} web_ratelimit;

void web_rl_init(web_ratelimit *rl, double per_second, double burst);
void web_rl_configure(web_ratelimit *rl, double per_second, double burst);
/* Take one token for @p addr at @p now_ms. 0 = allowed; else the number
 * of milliseconds until a token is available (>= 1). */
int64_t web_rl_take(web_ratelimit *rl, const char *addr, int64_t now_ms);
/* Forget buckets that are full again (idle addresses). */
void web_rl_sweep(web_ratelimit *rl, int64_t now_ms);
void web_rl_free(web_ratelimit *rl);

/* ------------------------------------------------------------------ */
/* Sessions (web_session.c) */

struct web_session {
    web_session *next;        /* hash chain */
    web_session *all_next, *all_prev;
    char id[WEB_ID_SIZE];     /* the cookie value */
    char csrf[WEB_ID_SIZE];
    char login[72];
    char name[136];
    char lang[8];
    int32_t role;
    bool must_change;         /* password change required first */
    int64_t created;          /* clock ms */
    int64_t last_seen;
    char addr[64];
    web_conn *conns;          /* WebSockets of this session */
    int nconns;
};

typedef struct web_sessions {
    web_session **slots;
    size_t nslots;
    size_t count;
    web_session *all;
    int64_t idle_ms, max_ms;
} web_sessions;

void web_sessions_init(web_sessions *s, int64_t idle_ms, int64_t max_ms);
void web_sessions_free(web_sessions *s);
/* A new session with fresh random id and CSRF token; NULL on ENOMEM. */
web_session *web_session_new(web_sessions *s, const plt_user *u,
                             const char *addr, int64_t now);
/* The live session of @p id at @p now (expired ones are NULL; they are
 * removed by the sweep). Touches last_seen when @p touch. */
web_session *web_session_find(web_sessions *s, const char *id, int64_t now,
                              bool touch);
/* Whether the session has expired at @p now (idle or absolute). */
bool web_session_expired(const web_sessions *s, const web_session *ss,
                         int64_t now);
/* Unlink and free (the caller closed its WebSockets first). */
void web_session_remove(web_sessions *s, web_session *ss);

/* Ends a session: says bye on its WebSockets, then removes it. */
void web_session_end(web *w, web_session *ss, const char *reason);
/* Ends every session of @p login except @p keep (may be NULL). */
int web_sessions_end_login(web *w, const char *login, web_session *keep,
                           const char *reason);
/* Ends expired sessions. */
void web_sessions_sweep(web *w);
/* The session a request's Cookie header names, or NULL. */
web_session *web_session_from_cookie(web *w, const char *cookie, bool touch);
/* Set-Cookie value for @p ss (NULL = clear the cookie). */
void web_session_cookie(web *w, const web_session *ss, char *out, size_t len);
/* Whether the cookie is Secure (and so carries the __Host- prefix). */
bool web_cookie_secure(const web *w);

/* ------------------------------------------------------------------ */
/* Routes and message types (web_router.c) */

typedef struct web_route {
    plt_http_route r;   /* strings owned (copied) */
    char **segs;        /* path split on '/', "{x}" kept as is */
    size_t nsegs;
    size_t nparams;
    bool builtin;       /* the web plugin's own */
    char owner[64];     /* registering plugin */
} web_route;

typedef struct web_wstype {
    plt_ws_type t;      /* strings owned */
    char owner[64];
} web_wstype;

typedef struct web_kv {
    char *k, *v;
} web_kv;

typedef struct web_router {
    web_route **routes;
    size_t nroutes, cap;
    web_wstype **types;
    size_t ntypes, tcap;
} web_router;

void web_router_init(web_router *rt);
void web_router_free(web_router *rt);
int web_router_add(web_router *rt, const plt_http_route *r, const char *owner,
                   bool builtin);
int web_router_add_type(web_router *rt, const plt_ws_type *t,
                        const char *owner);
/* Find the route for @p method and @p path (under /api/v1). On a match,
 * fills params (values URL-decoded, owned by the caller: free with
 * web_kv_free) and returns the route. *path_known is set when some route
 * has this path with another method (405 rather than 404). */
web_route *web_router_match(web_router *rt, const char *method,
                            const char *path, web_kv *params,
                            size_t *nparams, bool *path_known);
web_wstype *web_router_type(web_router *rt, const char *type);
/* The OpenAPI 3 description of every route. */
json_t *web_router_openapi(web_router *rt, const char *version);
void web_kv_free(web_kv *kv, size_t n);

/* ------------------------------------------------------------------ */
/* Requests (web_server.c, web_service.c) */

enum { WEB_M_GET, WEB_M_POST, WEB_M_OPTIONS, WEB_M_PUT, WEB_M_PATCH,
       WEB_M_DELETE, WEB_M_OTHER };

struct plt_http_req {
    web *w;
    struct lws *wsi;         /* NULL once the client went away */
    plt_http_req *next, *prev; /* pending list */
    int method;
    const char *method_name;
    char *path;              /* full, decoded, e.g. /api/v1/users */
    web_kv *query;
    size_t nquery;
    web_kv params[WEB_PARAMS_MAX];
    size_t nparams;
    web_kv *headers;         /* copies asked for through header() */
    size_t nheaders;
    char addr[64];
    char *cookie;
    char *authorization;
    char *origin;
    char *csrf_header;
    char *content_type;
    char *if_none_match;
    char *sec_fetch_site;
    char *file_name;
    int64_t content_length;  /* -1 unknown */
    /* body */
    char *body;
    size_t body_len, body_cap;
    bool body_too_large;
    json_t *json;
    char *upload_path;
    web_spool *spool;        /* PLT_HTTP_UPLOAD: the body, being spooled */
    /* dispatch */
    web_route *route;
    web_session *session_hint; /* only valid during dispatch */
    plt_http_principal pr;
    char pr_login[80], pr_name[136], pr_sid[WEB_ID_SIZE], pr_lang[8];
    int64_t started;         /* clock ms */
    bool dispatched;
    bool answered;           /* a reply_*() was called (or 504 sent) */
    bool timed_out;
    /* response */
    int status;
    char *resp_ctype;
    char *resp_headers;      /* "Name: value\r\n"... extra headers */
    char *resp_body;
    size_t resp_len, resp_off;
    web_fstream *stream;     /* a file sent chunk by chunk (resp_len: its
                                size) instead of resp_body */
    bool headers_sent;
    bool close_after;
    bool is_static;
};

/* The request's reply: takes @p body (malloc'd, may be NULL).
 * @p extra_headers: "Name: value\r\n" lines or NULL (copied). */
void web_req_respond(plt_http_req *req, int status, const char *ctype,
                     char *body, size_t len, const char *extra_headers);
void web_req_error(plt_http_req *req, int status, const char *code,
                   const char *message);
void web_req_json(plt_http_req *req, int status, json_t *body,
                  const char *extra_headers);
/* Frees a request no longer referenced by a connection or a handler. */
void web_req_free(plt_http_req *req);
/* A copy of header @p name (case-insensitive), or NULL. */
const char *web_req_header(plt_http_req *req, const char *name);
const char *web_req_query(plt_http_req *req, const char *name);
void web_req_page_args(plt_http_req *req, int64_t *offset, int64_t *limit);

/* The listening context (web_server.c). */
int web_server_start(web *w);
void web_server_destroy1(web *w);
void web_server_destroy2(web *w);

/* The head every request job starts with (web_util.c). */
typedef struct web_job {
    web *w;
    plt_http_req *req;
} web_job;
/* A zeroed job of @p size bytes (a struct starting with web_job's
 * members) for @p req; NULL after answering 503 when out of memory. */
void *web_job_new(web *w, plt_http_req *req, size_t size);

/* Run the sweep (web.c) while requests, sessions or rate-limit buckets
 * exist: called for every request. */
void web_sweep_arm(web *w);

/* Dispatch a complete API request (web_service.c). */
void web_api_dispatch(web *w, plt_http_req *req);
/* Whether an upload may start: a live session or a valid API token. */
bool web_upload_allowed(web *w, plt_http_req *req);
/* 504 for requests older than request_timeout. */
void web_requests_sweep(web *w);

/* ------------------------------------------------------------------ */
/* Static files (web_static.c) */

void web_static_serve(web *w, plt_http_req *req);
/* Read @p path off the loop and reply with it (reply_file). */
void web_file_reply(web *w, plt_http_req *req, const char *path,
                    const char *ctype, const char *filename);

/* ------------------------------------------------------------------ */
/* Large bodies in bounded memory (web_stream.c) */

#define WEB_SLICE 16384            /* bytes per lws_write */
#define WEB_FILE_CHUNK (256 * 1024) /* bytes read at once for a download */
#define WEB_UPLOAD_CHUNK (1024 * 1024) /* bytes written at once, uploads */
#define WEB_RX_MAX 65536           /* largest body piece lws hands over */
#define WEB_UPLOAD_BACKLOG (16 * 1024 * 1024) /* bytes waiting for disk */

/* A download of @p size bytes from @p fd whose first @p first_len bytes
 * are in @p first (taken). NULL when out of memory (nothing taken). */
web_fstream *web_fstream_new(web *w, plt_http_req *req, int fd,
                             uint64_t size, char *first, size_t first_len);
/* From HTTP_WRITEABLE: 1 = all sent, 0 = more later, -1 = close. */
int web_fstream_write(struct lws *wsi, web_fstream *fs);
/* Write up to one slice of the @p avail bytes at @p data (@p ends: they
 * end the body); *sent = bytes written. 1 = the body is complete, 0 =
 * more to come (writable asked for), -1 = close. */
int web_write_slice(struct lws *wsi, const char *data, size_t avail,
                    bool ends, size_t *sent);
void web_fstream_release(web_fstream *fs);
/* Remove @p path (malloc'd, taken) on a worker: an upload the handler
 * did not move away. */
void web_unlink_later(web *w, char *path);
/* The reply's headers now, its body from @p fs (@p size bytes). */
void web_req_respond_stream(plt_http_req *req, int status, const char *ctype,
                            web_fstream *fs, uint64_t size,
                            const char *extra_headers);

typedef void (*web_spool_done_fn)(plt_http_req *req, int status,
                                  const char *path);
web_spool *web_spool_new(web *w, plt_http_req *req);
/* A piece of the body; -1 when the upload failed (close the
 * connection). */
int web_spool_add(web_spool *sp, const void *in, size_t len);
/* The body is complete: @p done(req, 0, path) once all of it is in the
 * file, or (req, PLT_EIO, NULL). Called once. */
void web_spool_complete(web_spool *sp, web_spool_done_fn done);
/* The request is gone: remove the file once no worker holds it. */
void web_spool_release(web_spool *sp);
/* Bytes received so far. */
uint64_t web_spool_size(const web_spool *sp);

/* ------------------------------------------------------------------ */
/* WebSockets (web_ws.c) */

/* A message to send, shared by every connection it fans out to. */
typedef struct web_msg {
    int refs;
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes, then the text */
} web_msg;

web_msg *web_msg_new(const char *text, size_t len);
web_msg *web_msg_json(json_t *obj); /* does not steal */
void web_msg_unref(web_msg *m);

struct web_conn {
    web *w;
    struct lws *wsi;
    web_conn *snext, *sprev; /* in the session */
    web_conn *anext, *aprev; /* all connections */
    web_session *session;
    char sid[WEB_ID_SIZE];
    int32_t role;
    char login[72];
    web_msg **q;             /* ring of messages waiting */
    size_t qhead, qlen, qcap;
    char *rx;                /* fragments of the message being received */
    size_t rx_len;
    web_tb rl;               /* messages from the browser */
    int64_t refused;         /* messages refused in a row by rl */
    bool closing;            /* bye queued: close once drained */
    bool batch;              /* asked ?batch=1: queued messages go out
                                together as {"type":"batch","data":[..]} */
    bool kill;               /* close at the next writeable */
    plt_ws_msg *msgs;        /* handlers that have not answered */
};

struct plt_ws_msg {
    web *w;
    web_conn *conn;          /* NULL once the connection closed */
    plt_ws_msg *next, *prev; /* pending on the connection's web */
    json_t *id;
    json_t *data;
    char type[64];
    plt_http_principal pr;
    char pr_login[80], pr_name[136], pr_sid[WEB_ID_SIZE], pr_lang[8];
};

/* A WebSocket upgrade was asked for: 0 to accept (fills the per-session
 * data), -1 to refuse. */
int web_ws_filter(web *w, struct lws *wsi, void *pss_conn_slot,
                  bool *batch);
web_conn *web_ws_open(web *w, struct lws *wsi, const char *sid);
void web_ws_receive(web_conn *c, const void *in, size_t len, bool first,
                    bool final);
int web_ws_writeable(web_conn *c);
void web_ws_closed(web_conn *c);
/* Queue @p m on @p c (takes a reference). */
void web_ws_send(web_conn *c, web_msg *m);
/* Say bye and close once drained. */
void web_ws_bye(web_conn *c, const char *reason);
/* Deliver to sessions of @p login or with a role in @p roles. */
int web_ws_fanout(web *w, const char *login, uint32_t roles, web_msg *m);
int web_ws_forward_add(web *w, const plt_http_forward *f, const char *owner);
void web_ws_forwards_free(web *w);
void web_ws_msg_reply(plt_ws_msg *m, json_t *data, const char *code,
                      const char *message);

/* ------------------------------------------------------------------ */
/* Metrics (web_metrics.c) */

typedef struct web_metric_src {
    plt_http_metrics_fn fn;
    void *arg;
    char owner[64];
} web_metric_src;

typedef struct web_counters {
    uint64_t http_requests[6]; /* by status class: 1xx..5xx, [0] other */
    uint64_t http_static;
    uint64_t ws_opened, ws_closed, ws_in, ws_out, ws_dropped;
    uint64_t ws_refused_origin, ws_refused_auth;
    uint64_t logins_ok, logins_failed, logins_locked;
    uint64_t rate_limited, csrf_refused, forbidden;
    uint64_t timeouts;
} web_counters;

void web_metrics_serve(web *w, plt_http_req *req);
/* The text of a scrape (malloc'd, NUL-terminated; NULL when out of
 * memory): the plugin's counters, then every registered source's. */
char *web_metrics_render(web *w, size_t *len);
/* Parse "a.b.c.d[/n]" or an IPv6 address[/n]. 0 or PLT_EINVAL. */
int web_net_parse(const char *text, web_net *out);
/* Whether the textual address @p addr is in one of @p v. */
bool web_net_match(const web_net *v, size_t n, const char *addr);
void web_metric_add(void *impl, plt_http_metrics *m, const char *name,
                    const char *type, const char *help, const char *labels,
                    double value);
void web_metrics_count_event(web *w, const char *topic);
void web_metrics_free(web *w);

/* ------------------------------------------------------------------ */
/* API tokens (web_tokens.c) */

typedef struct web_token {
    int64_t id;
    char name[72];
    int32_t role;
    unsigned char hash[32];
    bool revoked;
} web_token;

extern const plt_storage_migration web_migrations[];
extern const size_t web_nmigrations;
void web_tokens_load(web *w);
/* The token matching a bearer string, or NULL. */
const web_token *web_tokens_check(web *w, const char *bearer);
int web_tokens_routes(web *w);

/* Built-in routes */
int web_auth_routes(web *w);
int web_users_routes(web *w);

/* ------------------------------------------------------------------ */
/* Utilities (web_util.c) */

/* Decode %XX (and '+' as space when @p plus) in place; -1 if the result
 * would hold a NUL or the escapes are malformed. */
int web_urldecode(char *s, bool plus);
/* Whether a decoded URL path is safe to map under the web root: no "..",
 * no "." segments, no backslash, no NUL, no "//". */
bool web_path_safe(const char *path);
const char *web_mime_type(const char *path);
/* Copy the value of cookie @p name from a Cookie header. */
bool web_cookie_get(const char *header, const char *name, char *out,
                    size_t len);
/* 32 random bytes as base64url (WEB_ID_LEN chars + NUL). */
void web_random_id(char out[WEB_ID_SIZE]);
/* Parse the role name; 0 if unknown. */
int32_t web_role_parse(const char *s);
bool web_origin_allowed(web *w, const char *origin, const char *host);
char *web_strdup(const char *s);
bool web_ieq(const char *a, const char *b);

/* ------------------------------------------------------------------ */
/* The plugin */

typedef struct web_forward {
    plt_http_forward f; /* strings owned */
    plt_sub *sub;
    web *w;
    char owner[64];
} web_forward;

typedef struct web_topic_count {
    char *topic;
    uint64_t n;
} web_topic_count;

struct web {
    web_cfg cfg;
    struct lws_context *ctx;
    int port;                 /* actually listening on */
    bool started, stopping;
    web_router router;
    web_sessions sessions;
    web_ratelimit rl_login, rl_all;
    plt_http_req *pending;    /* requests not yet answered */
    web_conn *conns;          /* every WebSocket */
    int nconns;
    web_forward **forwards;
    size_t nforwards;
    web_metric_src *msrc;
    size_t nmsrc;
    web_counters ctr;
    web_topic_count *topics;
    size_t ntopics;
    plt_sub *all_sub, *user_sub;
    plt_timer *sweep;
    bool simulated;     /* core clock simulated: requests sweep */
    int64_t swept_at;
    uv_timer_t stop_timer;
    int stop_phase;
    plt_service_ref users_ref;
    const plt_users_vt *users;
    void *users_impl;
    plt_storage st;
    bool have_storage;
    web_token *tokens;
    size_t ntokens;
    int inflight;             /* storage and users calls in flight */
    bool stop_async;
};

extern web *web_state;
extern const plt_http_vt web_http_vtable;

/* Begin/end an asynchronous call the plugin must wait for at stop. */
void web_call_begin(web *w);
void web_call_end(web *w);

#endif
