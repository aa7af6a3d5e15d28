/* SPDX-License-Identifier: MIT */
/*
 * Server-side sessions. The browser holds only a random identifier (256
 * bits from libsodium) in an HttpOnly, SameSite=Strict cookie; everything
 * else - who, which role, the CSRF token, when it expires - stays here.
 * A session ends on logout, after `session_idle` without a request or a
 * WebSocket message, after `session_max` whatever happens, when its user
 * is disabled or changes role, and when the plugin stops. Ending a session
 * says "bye" on its WebSockets first (libwebsockets sends no close frame
 * on a server-side close).
 *
 * The cookie is `__Host-plateau_sid` with Secure under TLS, and also on
 * plain HTTP when the server listens on loopback only: Chromium and
 * Firefox treat http://localhost and http://127.0.0.1 as secure contexts
 * and keep Secure cookies there. On plain HTTP on another address a
 * Secure cookie would be dropped by the browser, so the cookie is then
 * `plateau_sid` without Secure (and the plugin warns at start: configure
 * TLS). `cookie_secure: always|never` overrides the choice.
 *
 * Sessions are in memory: a restart logs everybody out, which is the
 * safe failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "web_int.h"

static size_t
hash_id(const char *s, size_t nslots)
{
    /* The identifier is already uniformly random. */
    uint64_t h = 0;
    for (int i = 0; i < 8 && s[i]; i++)
        h = (h << 8) | (unsigned char)s[i];
    return (size_t)(h % nslots);
}

void
web_sessions_init(web_sessions *s, int64_t idle_ms, int64_t max_ms)
{
    memset(s, 0, sizeof(*s));
    s->idle_ms = idle_ms;
    s->max_ms = max_ms;
}

void
web_sessions_free(web_sessions *s)
{
    while (s->all)
        web_session_remove(s, s->all);
    free(s->slots);
    s->slots = NULL;
}

web_session *
web_session_new(web_sessions *s, const plt_user *u, const char *addr,
                int64_t now)
{
    if (!s->slots) {
        s->nslots = 4096;
        s->slots = calloc(s->nslots, sizeof(*s->slots));
        if (!s->slots)
            return NULL;
    }
    web_session *ss = calloc(1, sizeof(*ss));
    if (!ss)
        return NULL;
    web_random_id(ss->id);
    web_random_id(ss->csrf);
    snprintf(ss->login, sizeof(ss->login), "%s", u->login);
    snprintf(ss->name, sizeof(ss->name), "%s",
             u->name && *u->name ? u->name : u->login);
    snprintf(ss->lang, sizeof(ss->lang), "fr");
    snprintf(ss->addr, sizeof(ss->addr), "%s", addr ? addr : "");
    ss->role = u->role;
    ss->must_change = u->must_change_password || u->password_expired;
    ss->created = ss->last_seen = now;
    size_t i = hash_id(ss->id, s->nslots);
    ss->next = s->slots[i];
    s->slots[i] = ss;
    ss->all_next = s->all;
    if (s->all)
        s->all->all_prev = ss;
    s->all = ss;
    s->count++;
    return ss;
}

bool
web_session_expired(const web_sessions *s, const web_session *ss, int64_t now)
{
    return now - ss->last_seen >= s->idle_ms ||
           now - ss->created >= s->max_ms;
}

web_session *
web_session_find(web_sessions *s, const char *id, int64_t now, bool touch)
{
    if (!s->slots || !id || strlen(id) != WEB_ID_LEN)
        return NULL;
    web_session *ss = s->slots[hash_id(id, s->nslots)];
    for (; ss; ss = ss->next) {
        /* Constant time: the comparison must not leak how many leading
         * characters of a guessed identifier were right. */
        if (sodium_memcmp(ss->id, id, WEB_ID_LEN) == 0)
            break;
    }
    if (!ss || web_session_expired(s, ss, now))
        return NULL;
    if (touch)
        ss->last_seen = now;
    return ss;
}

void
web_session_remove(web_sessions *s, web_session *ss)
{
    if (s->slots) {
        web_session **pp = &s->slots[hash_id(ss->id, s->nslots)];
        while (*pp && *pp != ss)
            pp = &(*pp)->next;
        if (*pp)
            *pp = ss->next;
    }
    if (ss->all_prev)
        ss->all_prev->all_next = ss->all_next;
    else
        s->all = ss->all_next;
    if (ss->all_next)
        ss->all_next->all_prev = ss->all_prev;
    s->count--;
    sodium_memzero(ss, sizeof(*ss));
    free(ss);
}

void
web_session_end(web *w, web_session *ss, const char *reason)
{
    /* The connections outlive the session until their bye is written;
     * they must not point at it any more. */
    web_conn *c = ss->conns;
    while (c) {
        web_conn *n = c->snext;
        c->session = NULL;
        c->snext = c->sprev = NULL;
        web_ws_bye(c, reason);
        c = n;
    }
    ss->conns = NULL;
    ss->nconns = 0;
    web_session_remove(&w->sessions, ss);
}

int
web_sessions_end_login(web *w, const char *login, web_session *keep,
                       const char *reason)
{
    int n = 0;
    web_session *ss = w->sessions.all;
    while (ss) {
        web_session *next = ss->all_next;
        if (ss != keep && strcmp(ss->login, login) == 0) {
            web_session_end(w, ss, reason);
            n++;
        }
        ss = next;
    }
    return n;
}

void
web_sessions_sweep(web *w)
{
    int64_t now = plt_now();
    web_session *ss = w->sessions.all;
    while (ss) {
        web_session *next = ss->all_next;
        if (web_session_expired(&w->sessions, ss, now))
            web_session_end(w, ss, "expired");
        ss = next;
    }
}

bool
web_cookie_secure(const web *w)
{
    if (strcmp(w->cfg.cookie_secure, "always") == 0)
        return true;
    if (strcmp(w->cfg.cookie_secure, "never") == 0)
        return false;
    if (w->cfg.tls_cert)
        return true;
    const char *b = w->cfg.bind;
    return strcmp(b, "127.0.0.1") == 0 || strcmp(b, "::1") == 0 ||
           strcmp(b, "localhost") == 0;
}

web_session *
web_session_from_cookie(web *w, const char *cookie, bool touch)
{
    char id[WEB_ID_SIZE + 1];
    if (!cookie)
        return NULL;
    const char *name = web_cookie_secure(w) ? WEB_COOKIE_HOST
                                            : WEB_COOKIE_PLAIN;
    if (!web_cookie_get(cookie, name, id, sizeof(id)))
        return NULL;
    return web_session_find(&w->sessions, id, plt_now(), touch);
}

void
web_session_cookie(web *w, const web_session *ss, char *out, size_t len)
{
    bool secure = web_cookie_secure(w);
    const char *name = secure ? WEB_COOKIE_HOST : WEB_COOKIE_PLAIN;
    if (ss)
        snprintf(out, len, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s", name,
                 ss->id, secure ? "; Secure" : "");
    else
        snprintf(out, len,
                 "%s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s", name,
                 secure ? "; Secure" : "");
}
