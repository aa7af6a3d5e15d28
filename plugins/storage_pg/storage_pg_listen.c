/* SPDX-License-Identifier: MIT */
/*
 * LISTEN/NOTIFY: node-to-node events through PostgreSQL.
 *
 * Listening happens on one dedicated connection, opened on the first
 * listen(), so that notifications never queue behind statements and the
 * pool's connections stay interchangeable. The set of channels wanted (one
 * entry per channel, counting its listeners) is the truth; the connection
 * is brought in line with it one LISTEN or UNLISTEN at a time, and after a
 * reconnection every wanted channel is LISTENed again (notifications sent
 * while the connection was down are lost: PostgreSQL keeps none for a
 * session that is gone).
 *
 * NOTIFY is `SELECT pg_notify($1, $2)` through the pool. A notify() issued
 * while a LISTEN of this process is still on its way waits for it, so that
 * a process hears its own notification when it listened first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage_pg_int.h"

struct plt_storage_listener {
    spg *pg;
    plt_storage_listener *next;
    char channel[SPG_CHANNEL_MAX + 1];
    plt_storage_notify_fn cb;
    void *arg;
    bool removed; /* unlistened during a delivery: freed after it */
};

typedef struct spg_chan {
    struct spg_chan *next;
    char name[SPG_CHANNEL_MAX + 1];
    int refs;        /* listeners of this channel */
    bool active;     /* LISTEN acknowledged on the current connection */
    bool op_pending; /* a LISTEN/UNLISTEN for it is in flight */
} spg_chan;

struct spg_listen {
    spg_conn conn;
    bool conn_inited;
    bool started; /* connecting was asked for once */
    bool closed;
    plt_storage_listener *listeners;
    spg_chan *chans;
    spg_req *parked_head, *parked_tail; /* notify()s waiting for LISTENs */
    int delivering;
    bool sweep;
};

bool
spg_channel_valid(const char *ch)
{
    if (!ch || !(ch[0] >= 'a' && ch[0] <= 'z'))
        return false;
    size_t n = 0;
    for (const char *p = ch; *p; p++, n++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    }
    return n <= SPG_CHANNEL_MAX;
}

/* ------------------------------------------------------------------ */
/* Parked notifications */

static void
release_parked(spg *pg)
{
    spg_listen *L = pg->listen;
    spg_req *r = L->parked_head;
    L->parked_head = L->parked_tail = NULL;
    while (r) {
        spg_req *next = r->next;
        r->next = NULL;
        spg_pool_enqueue(pg, r);
        r = next;
    }
}

/* True while a LISTEN of ours may still be on its way to the server. */
static bool
listens_unsettled(const spg_listen *L)
{
    spg_conn_state st = L->conn.state;
    if (st != SPG_C_RESOLVING && st != SPG_C_CONNECTING && st != SPG_C_READY)
        return false;
    for (const spg_chan *ch = L->chans; ch; ch = ch->next)
        if (ch->refs > 0 && !ch->active)
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* Bringing the connection in line with the wanted channels */

static void listen_pump(spg *pg);

static void
chan_maybe_free(spg_listen *L, spg_chan *ch)
{
    if (ch->refs > 0 || ch->active || ch->op_pending)
        return;
    for (spg_chan **pp = &L->chans; *pp; pp = &(*pp)->next) {
        if (*pp == ch) {
            *pp = ch->next;
            free(ch);
            return;
        }
    }
}

static void
send_op(spg *pg, spg_chan *ch, bool listen)
{
    spg_listen *L = pg->listen;
    char sql[SPG_CHANNEL_MAX + 16];
    /* The name was validated as [a-z][a-z0-9_]*: quoting it as an
     * identifier is enough, and keeps it exactly as given. */
    snprintf(sql, sizeof(sql), "%s \"%s\"", listen ? "LISTEN" : "UNLISTEN",
             ch->name);
    spg_req *r = spg_req_new(SPG_R_INTERNAL);
    if (r)
        r->sql = strdup(sql);
    if (!r || !r->sql) {
        spg_req_free(r);
        plt_log(PLT_LOG_ERROR, "out of memory sending %s", sql);
        return;
    }
    r->internal_arg = ch; /* completed by l_done(), not the pool */
    ch->op_pending = true;
    int rc = spg_conn_send(&L->conn, r);
    if (rc != 0) {
        /* PLT_EAGAIN: the connection died and will LISTEN again once back;
         * anything else leaves the channel as it was. */
        ch->op_pending = false;
        if (rc != PLT_EAGAIN)
            plt_log(PLT_LOG_WARN, "%s failed: %s", sql,
                    r->error ? r->error : plt_strerror(rc));
        spg_req_free(r);
    }
}

static void
listen_pump(spg *pg)
{
    spg_listen *L = pg->listen;
    if (!L || L->closed || !spg_conn_available(&L->conn))
        return;
    for (spg_chan *ch = L->chans; ch; ch = ch->next) {
        if (ch->op_pending)
            return; /* one at a time */
        bool want = ch->refs > 0;
        if (want != ch->active) {
            send_op(pg, ch, want);
            if (ch->op_pending)
                return;
        }
    }
    /* In line: what waited for our LISTENs may go. */
    if (!listens_unsettled(L))
        release_parked(pg);
}

static void
l_up(spg_conn *c)
{
    spg *pg = c->pg;
    spg_listen *L = pg->listen;
    int n = 0;
    for (spg_chan *ch = L->chans; ch; ch = ch->next) {
        ch->active = false;
        if (ch->refs > 0)
            n++;
    }
    if (n > 0 && L->started)
        plt_log(PLT_LOG_DEBUG, "listener connected: LISTEN on %d channel(s)",
                n);
    listen_pump(pg);
}

static void
l_down(spg_conn *c, const char *why, bool was_up)
{
    spg *pg = c->pg;
    spg_listen *L = pg->listen;
    for (spg_chan *ch = L->chans; ch; ch = ch->next) {
        ch->active = false;
        ch->op_pending = false;
    }
    plt_log(PLT_LOG_DEBUG, "listener connection %s: %s",
            was_up ? "lost" : "attempt failed", why);
    /* Sweep channels nobody wants any more. */
    spg_chan *ch = L->chans;
    while (ch) {
        spg_chan *next = ch->next;
        chan_maybe_free(L, ch);
        ch = next;
    }
    /* Waiting for a LISTEN that cannot happen now helps nobody. */
    release_parked(pg);
}

static void
l_done(spg_conn *c, spg_req *r, bool lost)
{
    spg *pg = c->pg;
    spg_listen *L = pg->listen;
    spg_chan *ch = r->internal_arg;
    bool listen = strncmp(r->sql, "LISTEN", 6) == 0;
    ch->op_pending = false;
    if (!lost) {
        if (r->status == 0)
            ch->active = listen;
        else
            plt_log(PLT_LOG_WARN, "%s failed: %s", r->sql,
                    r->error ? r->error : plt_strerror(r->status));
    }
    spg_req_free(r);
    chan_maybe_free(L, ch);
    if (!lost && !L->closed)
        listen_pump(pg);
}

static void
l_idle(spg_conn *c)
{
    listen_pump(c->pg);
}

static void
sweep_removed(spg_listen *L)
{
    plt_storage_listener **pp = &L->listeners;
    while (*pp) {
        plt_storage_listener *l = *pp;
        if (l->removed) {
            *pp = l->next;
            free(l);
        } else {
            pp = &l->next;
        }
    }
    L->sweep = false;
}

static void
l_notify(spg_conn *c, const char *channel, const char *payload)
{
    spg_listen *L = c->pg->listen;
    L->delivering++;
    /* Listeners added by a callback are at the tail and hear the next
     * notification, not this one. */
    plt_storage_listener *last = NULL;
    for (plt_storage_listener *l = L->listeners; l; l = l->next)
        last = l;
    for (plt_storage_listener *l = L->listeners; l; l = l->next) {
        if (!l->removed && strcmp(l->channel, channel) == 0)
            l->cb(l->arg, channel, payload);
        if (l == last)
            break;
    }
    if (--L->delivering == 0 && L->sweep)
        sweep_removed(L);
}

static const struct spg_conn_ops listen_ops = {
    .up = l_up,
    .down = l_down,
    .done = l_done,
    .idle = l_idle,
    .notify = l_notify,
};

/* ------------------------------------------------------------------ */
/* API */

int
spg_listen_new(spg *pg, spg_listen **out)
{
    spg_listen *L = calloc(1, sizeof(*L));
    if (!L)
        return PLT_ENOMEM;
    *out = L;
    int rc = spg_conn_init(&L->conn, pg, -1, &listen_ops, L);
    if (rc != 0)
        return rc;
    L->conn_inited = true;
    return 0;
}

int
spg_listen_add(spg *pg, const char *channel, plt_storage_notify_fn cb,
               void *arg, plt_storage_listener **out)
{
    spg_listen *L = pg->listen;
    if (!L || L->closed)
        return PLT_ESHUTDOWN;
    plt_storage_listener *l = calloc(1, sizeof(*l));
    if (!l)
        return PLT_ENOMEM;
    spg_chan *ch = L->chans;
    while (ch && strcmp(ch->name, channel) != 0)
        ch = ch->next;
    if (!ch) {
        ch = calloc(1, sizeof(*ch));
        if (!ch) {
            free(l);
            return PLT_ENOMEM;
        }
        snprintf(ch->name, sizeof(ch->name), "%s", channel);
        ch->next = L->chans;
        L->chans = ch;
    }
    ch->refs++;
    l->pg = pg;
    snprintf(l->channel, sizeof(l->channel), "%s", channel);
    l->cb = cb;
    l->arg = arg;
    plt_storage_listener **pp = &L->listeners;
    while (*pp)
        pp = &(*pp)->next;
    *pp = l;
    if (!L->started) {
        L->started = true;
        spg_conn_connect(&L->conn);
    }
    listen_pump(pg);
    *out = l;
    return 0;
}

void
spg_listen_remove(spg *pg, plt_storage_listener *l)
{
    spg_listen *L = pg->listen;
    if (!L)
        return;
    plt_storage_listener **pp = &L->listeners;
    while (*pp && *pp != l)
        pp = &(*pp)->next;
    if (!*pp || l->removed)
        return; /* not ours, or already removed */
    spg_chan *ch = L->chans;
    while (ch && strcmp(ch->name, l->channel) != 0)
        ch = ch->next;
    if (ch)
        ch->refs--;
    if (L->delivering > 0) {
        l->removed = true;
        L->sweep = true;
    } else {
        *pp = l->next;
        free(l);
    }
    if (ch) {
        chan_maybe_free(L, ch);
        listen_pump(pg);
    }
}

int
spg_listen_notify(spg *pg, const char *channel, const char *payload,
                  plt_storage_done_fn done, void *arg)
{
    spg_listen *L = pg->listen;
    spg_req *r = spg_req_new(SPG_R_QUERY);
    if (!r)
        return PLT_ENOMEM;
    r->sql = strdup("SELECT pg_notify($1, $2)");
    plt_value a[2] = {PLT_V_STR(channel), PLT_V_STR(payload)};
    int rc = r->sql ? stc_values_copy(a, 2, &r->args) : PLT_ENOMEM;
    if (rc != 0) {
        spg_req_free(r);
        return rc;
    }
    r->nargs = 2;
    r->done = done;
    r->arg = arg;
    r->work = true;
    plt_work_begin();
    if (L && !L->closed && listens_unsettled(L)) {
        r->next = NULL;
        if (L->parked_tail)
            L->parked_tail->next = r;
        else
            L->parked_head = r;
        L->parked_tail = r;
        return 0;
    }
    spg_pool_enqueue(pg, r);
    return 0;
}

void
spg_listen_close(spg *pg)
{
    spg_listen *L = pg->listen;
    if (!L || L->closed)
        return;
    L->closed = true;
    release_parked(pg);
    if (L->conn_inited)
        spg_conn_close(&L->conn);
}

void
spg_listen_free(spg *pg)
{
    spg_listen *L = pg->listen;
    if (!L)
        return;
    while (L->listeners) {
        plt_storage_listener *l = L->listeners;
        L->listeners = l->next;
        free(l);
    }
    while (L->chans) {
        spg_chan *ch = L->chans;
        L->chans = ch->next;
        free(ch);
    }
    spg_req *r = L->parked_head;
    while (r) {
        spg_req *next = r->next;
        if (r->work)
            plt_work_end();
        spg_req_free(r);
        r = next;
    }
    free(L);
    pg->listen = NULL;
}
