/* SPDX-License-Identifier: MIT */
/*
 * /metrics in the Prometheus text format (version 0.0.4): the web
 * plugin's own counters, the number of events seen on the bus by topic
 * (calls answered, agents changing state, ... whatever the plugins
 * publish), and the gauges plugins add through the http service's
 * metrics()/metric() at each scrape (agents by state, queue waits,
 * dialer pacing).
 *
 * Who may read it: loopback addresses (a local Prometheus or node
 * exporter), an API token, or an admin or supervisor session; anyone when
 * `metrics_public` is set.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "web_int.h"

struct plt_http_metrics {
    char *buf;
    size_t len, cap;
    char **names;
    size_t nnames;
    bool oom;
};

static void
appendf(plt_http_metrics *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
appendf(plt_http_metrics *m, const char *fmt, ...)
{
    if (m->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(m->buf + m->len, m->cap - m->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            m->oom = true;
            return;
        }
        if ((size_t)n < m->cap - m->len) {
            m->len += (size_t)n;
            return;
        }
        size_t cap = (m->cap + (size_t)n + 1) * 2;
        char *b = realloc(m->buf, cap);
        if (!b) {
            m->oom = true;
            return;
        }
        m->buf = b;
        m->cap = cap;
    }
}

static bool
name_ok(const char *s)
{
    if (!s || !*s || !((*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

void
web_metric_add(void *impl, plt_http_metrics *m, const char *name,
               const char *type, const char *help, const char *labels,
               double value)
{
    (void)impl;
    if (!m || !name_ok(name))
        return;
    bool seen = false;
    for (size_t i = 0; i < m->nnames && !seen; i++)
        seen = strcmp(m->names[i], name) == 0;
    if (!seen) {
        char **n = realloc(m->names, (m->nnames + 1) * sizeof(*n));
        if (!n || !(n[m->nnames] = strdup(name))) {
            if (n)
                m->names = n;
            m->oom = true;
            return;
        }
        m->names = n;
        m->nnames++;
        /* HELP text must not break the line format. */
        char h[256];
        snprintf(h, sizeof(h), "%s", help ? help : "");
        for (char *c = h; *c; c++)
            if (*c == '\n' || *c == '\\')
                *c = ' ';
        appendf(m, "# HELP %s %s\n# TYPE %s %s\n", name, h, name,
                type && strcmp(type, "counter") == 0 ? "counter" : "gauge");
    }
    if (labels && *labels && !strchr(labels, '\n'))
        appendf(m, "%s{%s} %.17g\n", name, labels, value);
    else
        appendf(m, "%s %.17g\n", name, value);
}

void
web_metrics_count_event(web *w, const char *topic)
{
    for (size_t i = 0; i < w->ntopics; i++) {
        if (strcmp(w->topics[i].topic, topic) == 0) {
            w->topics[i].n++;
            return;
        }
    }
    if (w->ntopics >= 512)
        return; /* topics are a fixed vocabulary; guard anyway */
    web_topic_count *n = realloc(w->topics, (w->ntopics + 1) * sizeof(*n));
    if (!n)
        return;
    w->topics = n;
    n[w->ntopics].topic = strdup(topic);
    if (!n[w->ntopics].topic)
        return;
    n[w->ntopics].n = 1;
    w->ntopics++;
}

void
web_metrics_free(web *w)
{
    for (size_t i = 0; i < w->ntopics; i++)
        free(w->topics[i].topic);
    free(w->topics);
    w->topics = NULL;
    w->ntopics = 0;
    free(w->msrc);
    w->msrc = NULL;
    w->nmsrc = 0;
}

static bool
loopback(const char *addr)
{
    return strcmp(addr, "127.0.0.1") == 0 || strcmp(addr, "::1") == 0 ||
           strncmp(addr, "127.", 4) == 0 ||
           strcmp(addr, "::ffff:127.0.0.1") == 0;
}

void
web_metrics_serve(web *w, plt_http_req *req)
{
    if (req->method != WEB_M_GET) {
        web_req_error(req, 405, "method_not_allowed", "GET only");
        return;
    }
    bool ok = w->cfg.metrics_public || loopback(req->addr);
    if (!ok && req->authorization &&
        strncasecmp(req->authorization, "Bearer ", 7) == 0)
        ok = web_tokens_check(w, req->authorization + 7) != NULL;
    if (!ok) {
        web_session *ss = web_session_from_cookie(w, req->cookie, false);
        ok = ss && (ss->role == PLT_ROLE_ADMIN ||
                    ss->role == PLT_ROLE_SUPERVISOR);
    }
    if (!ok) {
        web_req_error(req, 403, "forbidden", "metrics are not public");
        return;
    }
    plt_http_metrics m = {0};
    const web_counters *c = &w->ctr;
    static const char *const cls[] = {"other", "1xx", "2xx",
                                      "3xx",   "4xx", "5xx"};
    for (int i = 0; i < 6; i++) {
        char l[32];
        snprintf(l, sizeof(l), "code=\"%s\"", cls[i]);
        web_metric_add(w, &m, "plateau_http_requests_total", "counter",
                       "HTTP requests answered, by status class", l,
                       (double)c->http_requests[i]);
    }
    web_metric_add(w, &m, "plateau_http_static_total", "counter",
                   "requests for files of the web root", NULL,
                   (double)c->http_static);
    web_metric_add(w, &m, "plateau_http_timeouts_total", "counter",
                   "requests answered 504 by the request timeout", NULL,
                   (double)c->timeouts);
    web_metric_add(w, &m, "plateau_http_rate_limited_total", "counter",
                   "requests refused by a rate limit", NULL,
                   (double)c->rate_limited);
    web_metric_add(w, &m, "plateau_http_csrf_refused_total", "counter",
                   "state changes refused for a missing or wrong CSRF token "
                   "or a cross-site origin",
                   NULL, (double)c->csrf_refused);
    web_metric_add(w, &m, "plateau_http_forbidden_total", "counter",
                   "requests and messages refused by role", NULL,
                   (double)c->forbidden);
    web_metric_add(w, &m, "plateau_web_sessions", "gauge",
                   "browser sessions open", NULL, (double)w->sessions.count);
    web_metric_add(w, &m, "plateau_ws_connections", "gauge",
                   "WebSockets open", NULL, (double)w->nconns);
    web_metric_add(w, &m, "plateau_ws_opened_total", "counter",
                   "WebSockets accepted", NULL, (double)c->ws_opened);
    web_metric_add(w, &m, "plateau_ws_refused_total", "counter",
                   "WebSocket upgrades refused", "reason=\"origin\"",
                   (double)c->ws_refused_origin);
    web_metric_add(w, &m, "plateau_ws_refused_total", "counter",
                   "WebSocket upgrades refused", "reason=\"auth\"",
                   (double)c->ws_refused_auth);
    web_metric_add(w, &m, "plateau_ws_messages_total", "counter",
                   "WebSocket messages", "dir=\"in\"", (double)c->ws_in);
    web_metric_add(w, &m, "plateau_ws_messages_total", "counter",
                   "WebSocket messages", "dir=\"out\"", (double)c->ws_out);
    web_metric_add(w, &m, "plateau_ws_dropped_total", "counter",
                   "WebSockets closed because the client did not keep up",
                   NULL, (double)c->ws_dropped);
    web_metric_add(w, &m, "plateau_logins_total", "counter",
                   "login attempts by outcome", "outcome=\"ok\"",
                   (double)c->logins_ok);
    web_metric_add(w, &m, "plateau_logins_total", "counter",
                   "login attempts by outcome", "outcome=\"failed\"",
                   (double)c->logins_failed);
    web_metric_add(w, &m, "plateau_logins_total", "counter",
                   "login attempts by outcome", "outcome=\"locked\"",
                   (double)c->logins_locked);
    for (size_t i = 0; i < w->ntopics; i++) {
        char l[160];
        snprintf(l, sizeof(l), "topic=\"%s\"", w->topics[i].topic);
        web_metric_add(w, &m, "plateau_events_total", "counter",
                       "events published on the bus, by topic", l,
                       (double)w->topics[i].n);
    }
    for (size_t i = 0; i < w->nmsrc; i++)
        w->msrc[i].fn(w->msrc[i].arg, &m);
    for (size_t i = 0; i < m.nnames; i++)
        free(m.names[i]);
    free(m.names);
    if (m.oom) {
        free(m.buf);
        web_req_error(req, 503, "unavailable", "out of memory");
        return;
    }
    web_req_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8",
                    m.buf, m.len, NULL);
}
