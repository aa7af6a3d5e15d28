/* SPDX-License-Identifier: MIT */
/*
 * /metrics in the Prometheus text format (version 0.0.4): the web
 * plugin's own counters, the number of events seen on the bus by topic
 * (calls answered, agents changing state, ... whatever the plugins
 * publish), and the gauges plugins add through the http service's
 * metrics()/metric() at each scrape (agents by state, queue waits,
 * dialer pacing).
 *
 * Who may read it: the addresses of `metrics_allow` (default loopback: a
 * local Prometheus or node exporter), an API token, or an admin or
 * supervisor session; anyone when `metrics_public` is set.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <sodium.h>

#include "web_int.h"

/* One metric family: its HELP/TYPE lines and samples. Families are
 * written in the order first seen, each with all its samples together (the
 * text format wants a family's samples grouped even when a plugin adds
 * them queue by queue). */
typedef struct metric_family {
    char *name;
    char *buf;
    size_t len, cap;
} metric_family;

struct plt_http_metrics {
    metric_family *f;
    size_t nf;
    bool oom;
};

static void appendf(plt_http_metrics *m, metric_family *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
appendf(plt_http_metrics *m, metric_family *f, const char *fmt, ...)
{
    if (m->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(f->buf ? f->buf + f->len : NULL,
                          f->buf ? f->cap - f->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            m->oom = true;
            return;
        }
        if (f->buf && (size_t)n < f->cap - f->len) {
            f->len += (size_t)n;
            return;
        }
        size_t cap = (f->cap + (size_t)n + 1) * 2;
        char *b = realloc(f->buf, cap);
        if (!b) {
            m->oom = true;
            return;
        }
        f->buf = b;
        f->cap = cap;
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

static metric_family *
family(plt_http_metrics *m, const char *name, const char *type,
       const char *help)
{
    for (size_t i = 0; i < m->nf; i++)
        if (strcmp(m->f[i].name, name) == 0)
            return &m->f[i];
    metric_family *n = realloc(m->f, (m->nf + 1) * sizeof(*n));
    if (!n) {
        m->oom = true;
        return NULL;
    }
    m->f = n;
    metric_family *f = &n[m->nf];
    memset(f, 0, sizeof(*f));
    if (!(f->name = strdup(name))) {
        m->oom = true;
        return NULL;
    }
    m->nf++;
    /* HELP text must not break the line format. */
    char h[256];
    snprintf(h, sizeof(h), "%s", help ? help : "");
    for (char *c = h; *c; c++)
        if (*c == '\n' || *c == '\\')
            *c = ' ';
    appendf(m, f, "# HELP %s %s\n# TYPE %s %s\n", name, h, name,
            type && strcmp(type, "counter") == 0 ? "counter" : "gauge");
    return f;
}

void
web_metric_add(void *impl, plt_http_metrics *m, const char *name,
               const char *type, const char *help, const char *labels,
               double value)
{
    (void)impl;
    if (!m || m->oom || !name_ok(name))
        return;
    metric_family *f = family(m, name, type, help);
    if (!f)
        return;
    if (labels && *labels && !strchr(labels, '\n'))
        appendf(m, f, "%s{%s} %.17g\n", name, labels, value);
    else
        appendf(m, f, "%s %.17g\n", name, value);
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

int
web_net_parse(const char *text, web_net *out)
{
    char a[INET6_ADDRSTRLEN + 8];
    if (!text || strlen(text) >= sizeof(a))
        return PLT_EINVAL;
    strcpy(a, text);
    int prefix = -1;
    char *slash = strchr(a, '/');
    if (slash) {
        *slash++ = '\0';
        char *end;
        long p = strtol(slash, &end, 10);
        if (!*slash || *end || p < 0 || p > 128)
            return PLT_EINVAL;
        prefix = (int)p;
    }
    memset(out, 0, sizeof(*out));
    struct in_addr v4;
    if (inet_pton(AF_INET, a, &v4) == 1) {
        if (prefix > 32)
            return PLT_EINVAL;
        out->addr[10] = out->addr[11] = 0xff;
        memcpy(out->addr + 12, &v4, 4);
        out->prefix = 96 + (prefix < 0 ? 32 : prefix);
        return 0;
    }
    if (inet_pton(AF_INET6, a, out->addr) != 1)
        return PLT_EINVAL;
    out->prefix = prefix < 0 ? 128 : prefix;
    return 0;
}

bool
web_net_match(const web_net *v, size_t n, const char *addr)
{
    web_net x;
    if (web_net_parse(addr, &x) != 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        int bits = v[i].prefix, k = 0;
        for (; bits >= 8; bits -= 8, k++)
            if (x.addr[k] != v[i].addr[k])
                break;
        if (bits >= 8)
            continue;
        unsigned mask = bits ? (0xffu << (8 - bits)) & 0xffu : 0;
        if ((x.addr[k < 16 ? k : 15] & mask) ==
            (v[i].addr[k < 16 ? k : 15] & mask))
            return true;
    }
    return false;
}

/* The plugin's own counters (web_counters), in scrape order. */
#define CTR(f) offsetof(web_counters, f)
static const struct {
    const char *name, *help, *labels;
    size_t off;
} counters[] = {
    {"plateau_http_static_total", "requests for files of the web root", NULL,
     CTR(http_static)},
    {"plateau_http_timeouts_total",
     "requests answered 504 by the request timeout", NULL, CTR(timeouts)},
    {"plateau_http_rate_limited_total",
     "requests and WebSocket messages refused by a rate limit", NULL,
     CTR(rate_limited)},
    {"plateau_http_csrf_refused_total",
     "state changes refused for a missing or wrong CSRF token or a "
     "cross-site origin",
     NULL, CTR(csrf_refused)},
    {"plateau_http_forbidden_total", "requests and messages refused by role",
     NULL, CTR(forbidden)},
    {"plateau_ws_opened_total", "WebSockets accepted", NULL, CTR(ws_opened)},
    {"plateau_ws_refused_total", "WebSocket upgrades refused",
     "reason=\"origin\"", CTR(ws_refused_origin)},
    {"plateau_ws_refused_total", "WebSocket upgrades refused",
     "reason=\"auth\"", CTR(ws_refused_auth)},
    {"plateau_ws_messages_total", "WebSocket messages", "dir=\"in\"",
     CTR(ws_in)},
    {"plateau_ws_messages_total", "WebSocket messages", "dir=\"out\"",
     CTR(ws_out)},
    {"plateau_ws_dropped_total",
     "WebSockets closed because the client did not keep up", NULL,
     CTR(ws_dropped)},
    {"plateau_logins_total", "login attempts by outcome", "outcome=\"ok\"",
     CTR(logins_ok)},
    {"plateau_logins_total", "login attempts by outcome", "outcome=\"failed\"",
     CTR(logins_failed)},
    {"plateau_logins_total", "login attempts by outcome", "outcome=\"locked\"",
     CTR(logins_locked)},
};
#undef CTR

char *
web_metrics_render(web *w, size_t *lenp)
{
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
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        web_metric_add(
            w, &m, counters[i].name, "counter", counters[i].help,
            counters[i].labels,
            (double)*(const uint64_t *)((const char *)c + counters[i].off));
    web_metric_add(w, &m, "plateau_web_sessions", "gauge",
                   "browser sessions open", NULL, (double)w->sessions.count);
    web_metric_add(w, &m, "plateau_ws_connections", "gauge", "WebSockets open",
                   NULL, (double)w->nconns);
    for (size_t i = 0; i < w->ntopics; i++) {
        char l[160];
        snprintf(l, sizeof(l), "topic=\"%s\"", w->topics[i].topic);
        web_metric_add(w, &m, "plateau_events_total", "counter",
                       "events published on the bus, by topic", l,
                       (double)w->topics[i].n);
    }
    for (size_t i = 0; i < w->nmsrc; i++)
        w->msrc[i].fn(w->msrc[i].arg, &m);
    size_t len = 0;
    for (size_t i = 0; i < m.nf; i++)
        len += m.f[i].len;
    char *out = m.oom ? NULL : malloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < m.nf; i++) {
        if (out && m.f[i].len)
            memcpy(out + o, m.f[i].buf, m.f[i].len);
        o += m.f[i].len;
        free(m.f[i].name);
        free(m.f[i].buf);
    }
    free(m.f);
    if (out)
        out[len] = '\0';
    *lenp = len;
    return out;
}

void
web_metrics_serve(web *w, plt_http_req *req)
{
    if (req->method != WEB_M_GET) {
        web_req_error(req, 405, "method_not_allowed", "GET only");
        return;
    }
    bool ok =
        w->cfg.metrics_public ||
        web_net_match(w->cfg.metrics_allow, w->cfg.nmetrics_allow, req->addr);
    if (!ok && req->authorization &&
        strncasecmp(req->authorization, "Bearer ", 7) == 0)
        ok = web_tokens_check(w, req->authorization + 7) != NULL;
    if (!ok) {
        web_session *ss = web_session_from_cookie(w, req->cookie, false);
        ok = ss &&
             (ss->role == PLT_ROLE_ADMIN || ss->role == PLT_ROLE_SUPERVISOR);
    }
    if (!ok) {
        web_req_error(req, 403, "forbidden", "metrics are not public");
        return;
    }
    size_t len;
    char *out = web_metrics_render(w, &len);
    if (!out) {
        web_req_error(req, 503, "unavailable", "out of memory");
        return;
    }
    web_req_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", out,
                    len, NULL);
}
