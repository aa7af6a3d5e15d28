/* SPDX-License-Identifier: MIT */
/*
 * Trunks on the loop thread: channel and calls-per-second limits, host
 * name resolution, and the up/down state the SIP thread reports.
 *
 * A trunk has max_channels (every live leg on it holds one, inbound or
 * outbound) and a cps limit on originates (a sliding one-second window).
 * Either limit makes originate() return PLT_EAGAIN with nothing sent.
 *
 * Host names (the trunk's and its outbound proxy's) are resolved with
 * uv_getaddrinfo on libuv's thread pool, never on the loop and never by
 * sofia (whose resolver in Debian 12 lacks the fixes for unresolvable
 * names); the IP literal is handed to the SIP thread. A name that does not
 * resolve leaves the trunk down with a log line, and is tried again every
 * 30 seconds. A trunk is up when its address is known, its registration
 * (if any) succeeded and its OPTIONS checks (if any) are answered; each
 * change is published as trunk.state_changed {trunk, state, reason}.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "sip_int.h"

#define RESOLVE_RETRY_MS 30000

sip_trunk *
sip_trunk_find(sip *s, const char *name)
{
    for (size_t i = 0; i < s->ntrunks; i++)
        if (strcmp(s->trunks[i].name, name) == 0)
            return &s->trunks[i];
    return NULL;
}

int
sip_trunk_admit(sip_trunk *t)
{
    if (t->in_use >= t->max_channels)
        return PLT_EAGAIN;
    if (t->cps && (int64_t)plt_mono() - t->cps_ring[t->cps_pos] < 1000)
        return PLT_EAGAIN;
    return 0;
}

void
sip_trunk_take(sip_trunk *t, bool outbound)
{
    t->in_use++;
    if (outbound && t->cps) {
        t->cps_ring[t->cps_pos] = (int64_t)plt_mono();
        t->cps_pos = (t->cps_pos + 1) % t->cps;
    }
}

void
sip_trunk_release(sip_trunk *t)
{
    if (t->in_use)
        t->in_use--;
}

void
sip_trunk_state(sip *s, size_t i, bool up, const char *reason)
{
    sip_trunk *t = &s->trunks[i];
    bool changed = t->up != up || !t->down_reason;
    t->up = up;
    free(t->down_reason);
    t->down_reason = strdup(reason ? reason : "");
    if (!changed)
        return;
    plt_log(up ? PLT_LOG_INFO : PLT_LOG_WARN, "trunk %s: %s (%s)", t->name,
            up ? "up" : "down", reason ? reason : "");
    plt_event *ev;
    if (plt_event_new(&ev, "trunk.state_changed", 1) == 0) {
        plt_event_set_str(ev, "trunk", t->name);
        plt_event_set_str(ev, "state", up ? "up" : "down");
        plt_event_set_str(ev, "reason", reason ? reason : "");
        sip_ev_publish(ev);
    }
}

/* ------------------------------------------------------------------ */
/* Resolution */

typedef struct resolve_req {
    uv_getaddrinfo_t req;
    sip *s;
    size_t trunk;
    bool proxy;
    char addr[64];
} resolve_req;

static void resolve_next(sip *s, size_t i, bool proxy);

static void
send_addr(sip *s, sip_trunk *t)
{
    sip_msg *m = sip_msg_new(SIP_CMD_TRUNK_ADDR, 0);
    if (!m)
        return;
    m->trunk = (int)t->index;
    if (!sip_msg_set(&m->uri, t->addr) ||
        !sip_msg_set(&m->text, t->proxy_addr[0] ? t->proxy_addr : NULL)) {
        sip_msg_free(m);
        return;
    }
    (void)sip_stack_send(s->stack, m);
    /* Nothing to wait for: the trunk is up as soon as it has an address. */
    if (!t->do_register && !t->options_interval_ms)
        sip_trunk_state(s, t->index, true, "address resolved");
}

static void
on_retry(void *arg)
{
    sip_trunk *t = arg;
    t->resolve_timer = NULL; /* one-shot: released after this callback */
    if (!t->owner->stopping)
        resolve_next(t->owner, t->index, t->addr[0] != '\0');
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    resolve_req *r = (resolve_req *)req;
    sip *s = r->s;
    if (!s) {
        /* Stopped meanwhile (sip_trunks_stop detached it). */
        uv_freeaddrinfo(res);
        free(r);
        return;
    }
    sip_trunk *t = &s->trunks[r->trunk];
    t->resolve_req = NULL;
    char ip[64] = "";
    if (status == 0 && res) {
        const void *a = res->ai_family == AF_INET6
                            ? (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
                            : (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
        uv_inet_ntop(res->ai_family, a, ip, sizeof(ip));
    }
    uv_freeaddrinfo(res);
    bool proxy = r->proxy;
    free(r);
    t->resolving = false;
    if (s->stopping)
        return;
    if (!ip[0]) {
        plt_log(PLT_LOG_ERROR, "trunk %s: cannot resolve %s: %s", t->name,
                proxy ? t->proxy_host : t->host,
                status ? uv_strerror(status) : "no address");
        sip_trunk_state(s, t->index, false, "cannot resolve host");
        if (plt_timer_start(&t->resolve_timer, RESOLVE_RETRY_MS, 0, on_retry,
                            t) != 0)
            t->resolve_timer = NULL;
        return;
    }
    if (proxy)
        snprintf(t->proxy_addr, sizeof(t->proxy_addr), "%s", ip);
    else
        snprintf(t->addr, sizeof(t->addr), "%s", ip);
    if (!proxy && t->proxy_host && !t->proxy_addr[0]) {
        resolve_next(s, t->index, true);
        return;
    }
    send_addr(s, t);
}

static void
resolve_next(sip *s, size_t i, bool proxy)
{
    sip_trunk *t = &s->trunks[i];
    const char *host = proxy ? t->proxy_host : t->host;
    unsigned char buf[16];
    if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1) {
        /* Already a literal: no lookup. */
        if (proxy)
            snprintf(t->proxy_addr, sizeof(t->proxy_addr), "%s", host);
        else
            snprintf(t->addr, sizeof(t->addr), "%s", host);
        if (!proxy && t->proxy_host && !t->proxy_addr[0]) {
            resolve_next(s, i, true);
            return;
        }
        send_addr(s, t);
        return;
    }
    resolve_req *r = calloc(1, sizeof(*r));
    if (!r)
        return;
    r->s = s;
    r->trunk = i;
    r->proxy = proxy;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
    t->resolving = true;
    int rc = uv_getaddrinfo(plt_loop(), &r->req, on_resolved, host, NULL,
                            &hints);
    if (rc == 0)
        t->resolve_req = r;
    if (rc != 0) {
        t->resolving = false;
        free(r);
        plt_log(PLT_LOG_ERROR, "trunk %s: cannot resolve %s: %s", t->name,
                host, uv_strerror(rc));
        sip_trunk_state(s, i, false, "cannot resolve host");
    }
}

int
sip_trunks_start(sip *s)
{
    for (size_t i = 0; i < s->ntrunks; i++)
        resolve_next(s, i, false);
    return 0;
}

void
sip_trunks_stop(sip *s)
{
    for (size_t i = 0; i < s->ntrunks; i++) {
        sip_trunk *t = &s->trunks[i];
        if (t->resolve_timer) {
            plt_timer_stop(t->resolve_timer);
            t->resolve_timer = NULL;
        }
        if (t->resolve_req) {
            resolve_req *r = t->resolve_req;
            r->s = NULL; /* its callback only frees it now */
            (void)uv_cancel((uv_req_t *)&r->req);
            t->resolve_req = NULL;
        }
    }
}
