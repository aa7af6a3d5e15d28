/* SPDX-License-Identifier: MIT */
/*
 * The sip plugin's configuration: read the typed values the core already
 * validated against the schema (sip.c), check what a schema cannot
 * express (addresses are IP literals where sofia must not resolve names,
 * port ranges are in order, names are unique, a registering trunk has its
 * credentials, a route names a known trunk), and build the trunks, routes
 * and extensions. Every refusal names the key at fault.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip_int.h"

static bool
is_ip(const char *a)
{
    unsigned char b[16];
    return a && (inet_pton(AF_INET, a, b) == 1 || inet_pton(AF_INET6, a, b) == 1);
}

/* A copy of an optional string key (NULL when unset). */
static int
opt_str(const plt_cfg *cfg, const char *key, char **out)
{
    const char *v = NULL;
    int rc = plt_cfg_str(cfg, key, &v);
    if (rc == PLT_ENOENT || (rc == 0 && (!v || !*v))) {
        *out = NULL;
        return 0;
    }
    if (rc != 0) {
        plt_set_error("%s: cannot read (%s)", key, plt_strerror(rc));
        return rc;
    }
    *out = strdup(v);
    return *out ? 0 : PLT_ENOMEM;
}

static int
req_str(const plt_cfg *cfg, const char *key, char **out)
{
    int rc = opt_str(cfg, key, out);
    if (rc == 0 && !*out) {
        plt_set_error("%s: must be set", key);
        return PLT_ECONFIG;
    }
    return rc;
}

static int
get_int(const plt_cfg *cfg, const char *key, int64_t *out)
{
    int rc = plt_cfg_int(cfg, key, out);
    if (rc != 0)
        plt_set_error("%s: cannot read (%s)", key, plt_strerror(rc));
    return rc;
}

static int
get_ms(const plt_cfg *cfg, const char *key, int64_t *out)
{
    int rc = plt_cfg_duration_ms(cfg, key, out);
    if (rc != 0)
        plt_set_error("%s: cannot read (%s)", key, plt_strerror(rc));
    return rc;
}

/* "host[:port]" -> host and port (default 5060). */
static int
split_hostport(const char *hp, char **host, int *port)
{
    const char *colon = strrchr(hp, ':');
    *port = 5060;
    if (colon && !strchr(colon + 1, ']') && strchr(hp, ':') == colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (*end != '\0' || p < 1 || p > 65535)
            return PLT_ECONFIG;
        *port = (int)p;
        *host = strndup(hp, (size_t)(colon - hp));
    } else {
        *host = strdup(hp);
    }
    return *host ? 0 : PLT_ENOMEM;
}

static int
read_trunk(const plt_cfg *t, sip_trunk *tr)
{
    int rc;
    int64_t v;
    const char *s;
    if ((rc = req_str(t, "name", &tr->name)) || (rc = req_str(t, "host", &tr->host)))
        return rc;
    if ((rc = get_int(t, "port", &v)))
        return rc;
    tr->port = (int)v;
    if ((rc = plt_cfg_str(t, "transport", &s)))
        return rc;
    tr->tcp = strcmp(s, "tcp") == 0;
    if ((rc = opt_str(t, "domain", &tr->domain)) ||
        (rc = opt_str(t, "username", &tr->username)) ||
        (rc = opt_str(t, "auth_username", &tr->auth_username)) ||
        (rc = opt_str(t, "password", &tr->password)) ||
        (rc = opt_str(t, "caller_id", &tr->caller_id)))
        return rc;
    if (!tr->domain && !(tr->domain = strdup(tr->host)))
        return PLT_ENOMEM;
    if ((rc = plt_cfg_bool(t, "register", &tr->do_register)))
        return rc;
    if ((rc = get_ms(t, "register_expires", &v)))
        return rc;
    tr->register_expires_s = v / 1000;
    if (tr->do_register && (!tr->username || !tr->password)) {
        plt_set_error("trunk %s: register needs username and password",
                      tr->name);
        return PLT_ECONFIG;
    }
    char *proxy = NULL;
    if ((rc = opt_str(t, "outbound_proxy", &proxy)))
        return rc;
    if (proxy) {
        rc = split_hostport(proxy, &tr->proxy_host, &tr->proxy_port);
        free(proxy);
        if (rc != 0) {
            plt_set_error("trunk %s: outbound_proxy: not host[:port]",
                          tr->name);
            return rc;
        }
    }
    if ((rc = plt_cfg_str(t, "caller_id_mode", &s)))
        return rc;
    tr->cid_mode = strcmp(s, "fixed") == 0    ? SIP_CID_FIXED
                   : strcmp(s, "hidden") == 0 ? SIP_CID_HIDDEN
                                              : SIP_CID_CAMPAIGN;
    if (tr->cid_mode == SIP_CID_FIXED && !tr->caller_id) {
        plt_set_error("trunk %s: caller_id_mode fixed needs caller_id",
                      tr->name);
        return PLT_ECONFIG;
    }
    if ((rc = get_int(t, "max_channels", &v)))
        return rc;
    tr->max_channels = (uint32_t)v;
    if ((rc = get_int(t, "cps", &v)))
        return rc;
    tr->cps = (uint32_t)v;
    if (tr->cps && !(tr->cps_ring = calloc(tr->cps, sizeof(int64_t))))
        return PLT_ENOMEM;
    for (uint32_t i = 0; i < tr->cps; i++)
        tr->cps_ring[i] = INT64_MIN / 2;
    if ((rc = get_ms(t, "options_interval", &tr->options_interval_ms)))
        return rc;
    if ((rc = get_int(t, "options_threshold", &v)))
        return rc;
    tr->options_threshold = (uint32_t)v;
    return 0;
}

static int
read_tables(const plt_cfg *cfg, sip *s)
{
    int rc;
    size_t n = 0;
    if (plt_cfg_count(cfg, "trunks", &n) == 0 && n) {
        if (!(s->trunks = calloc(n, sizeof(*s->trunks))))
            return PLT_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            const plt_cfg *t;
            if ((rc = plt_cfg_table_at(cfg, "trunks", i, &t)))
                return rc;
            s->ntrunks = i + 1;
            s->trunks[i].index = i;
            s->trunks[i].owner = s;
            if ((rc = read_trunk(t, &s->trunks[i])))
                return rc;
            for (size_t j = 0; j < i; j++)
                if (strcmp(s->trunks[j].name, s->trunks[i].name) == 0) {
                    plt_set_error("trunks: name %s used twice",
                                  s->trunks[i].name);
                    return PLT_ECONFIG;
                }
        }
    }
    n = 0;
    if (plt_cfg_count(cfg, "routes", &n) == 0 && n) {
        if (!(s->routes = calloc(n, sizeof(*s->routes))))
            return PLT_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            const plt_cfg *t;
            if ((rc = plt_cfg_table_at(cfg, "routes", i, &t)))
                return rc;
            s->nroutes = i + 1;
            if ((rc = req_str(t, "did", &s->routes[i].did)) ||
                (rc = opt_str(t, "trunk", &s->routes[i].trunk)))
                return rc;
            if (s->routes[i].trunk && !sip_trunk_find(s, s->routes[i].trunk)) {
                plt_set_error("routes: did %s: unknown trunk %s",
                              s->routes[i].did, s->routes[i].trunk);
                return PLT_ECONFIG;
            }
        }
    }
    n = 0;
    if (plt_cfg_count(cfg, "extensions", &n) == 0 && n) {
        if (!(s->exts = calloc(n, sizeof(*s->exts))))
            return PLT_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            const plt_cfg *t;
            if ((rc = plt_cfg_table_at(cfg, "extensions", i, &t)))
                return rc;
            s->nexts = i + 1;
            if ((rc = req_str(t, "extension", &s->exts[i].extension)) ||
                (rc = req_str(t, "password", &s->exts[i].password)))
                return rc;
        }
    }
    return 0;
}

static int
read_conf(const plt_cfg *cfg, sip *s)
{
    sip_conf *c = &s->conf;
    int64_t v;
    int rc;
    if ((rc = req_str(cfg, "bind_address", &c->bind_address)))
        return rc;
    if (!is_ip(c->bind_address)) {
        plt_set_error("bind_address: %s is not an IP address",
                      c->bind_address);
        return PLT_ECONFIG;
    }
    if ((rc = get_int(cfg, "port", &v)))
        return rc;
    c->port = (int)v;
    if ((rc = plt_cfg_bool(cfg, "tcp", &c->tcp)))
        return rc;
    if ((rc = opt_str(cfg, "rtp_address", &c->rtp_address)))
        return rc;
    if (!c->rtp_address && !(c->rtp_address = strdup(c->bind_address)))
        return PLT_ENOMEM;
    if (!is_ip(c->rtp_address)) {
        plt_set_error("rtp_address: %s is not an IP address", c->rtp_address);
        return PLT_ECONFIG;
    }
    if ((rc = get_int(cfg, "rtp_port_min", &v)))
        return rc;
    c->rtp_port_min = (int)v;
    if ((rc = get_int(cfg, "rtp_port_max", &v)))
        return rc;
    c->rtp_port_max = (int)v;
    if (c->rtp_port_max < c->rtp_port_min + 3) {
        plt_set_error("rtp_port_max (%d) must be above rtp_port_min (%d) + 3",
                      c->rtp_port_max, c->rtp_port_min);
        return PLT_ECONFIG;
    }
    if ((rc = req_str(cfg, "realm", &c->realm)) ||
        (rc = req_str(cfg, "user_agent", &c->user_agent)))
        return rc;
    if ((rc = get_ms(cfg, "ring_timeout", &c->ring_timeout_ms)) ||
        (rc = get_ms(cfg, "claim_timeout", &c->claim_timeout_ms)) ||
        (rc = get_ms(cfg, "tcp_idle_timeout", &c->tcp_idle_ms)) ||
        (rc = get_ms(cfg, "incomplete_timeout", &c->incomplete_ms)) ||
        (rc = get_ms(cfg, "rtp_timeout", &c->rtp_timeout_ms)))
        return rc;
    if ((rc = get_ms(cfg, "register_max_expires", &v)))
        return rc;
    c->register_max_expires_s = v / 1000;
    if ((rc = get_int(cfg, "max_message_size", &c->max_message_size)))
        return rc;
    if ((rc = plt_cfg_bool(cfg, "accept_unknown_sources",
                           &c->accept_unknown_sources)))
        return rc;
    return read_tables(cfg, s);
}

int
sip_create(const plt_cfg *cfg, sip **out)
{
    sip *s = calloc(1, sizeof(*s));
    if (!s)
        return PLT_ENOMEM;
    s->nbuckets = 256;
    s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
    if (!s->buckets) {
        free(s);
        return PLT_ENOMEM;
    }
    int rc = read_conf(cfg, s);
    if (rc != 0) {
        if (rc == PLT_ENOMEM)
            plt_set_error("out of memory reading the configuration");
        sip_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

void
sip_destroy(sip *s)
{
    if (!s)
        return;
    sip_rec_free_all(s);
    sip_legs_free_all(s);
    for (size_t i = 0; i < s->ntrunks; i++) {
        sip_trunk *t = &s->trunks[i];
        free(t->name);
        free(t->host);
        free(t->domain);
        free(t->username);
        free(t->auth_username);
        free(t->password);
        free(t->proxy_host);
        free(t->caller_id);
        free(t->cps_ring);
        free(t->down_reason);
    }
    free(s->trunks);
    for (size_t i = 0; i < s->nroutes; i++) {
        free(s->routes[i].did);
        free(s->routes[i].trunk);
    }
    free(s->routes);
    for (size_t i = 0; i < s->nexts; i++) {
        free(s->exts[i].extension);
        free(s->exts[i].password);
    }
    free(s->exts);
    sip_conf *c = &s->conf;
    free(c->bind_address);
    free(c->rtp_address);
    free(c->realm);
    free(c->user_agent);
    free(c->recordings_dir);
    free(s->buckets);
    free(s);
}
