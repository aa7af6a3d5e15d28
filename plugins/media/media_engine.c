/* SPDX-License-Identifier: MIT */
/*
 * The media engine: its threads, its queues and the public API calls that
 * feed them. The loop thread never touches media state: each API call
 * becomes a command on a queue that the media thread drains (woken by an
 * eventfd). The media thread waits in epoll on the endpoints' sockets,
 * the command eventfd and one timerfd armed at the next 20 ms deadline on
 * the absolute CLOCK_MONOTONIC grid; every due tick services every
 * endpoint (generated frames, detectors, timeouts, RTCP, recording
 * flushes). Results go back as events on a queue that a uv_async_t drains
 * on the loop thread.
 *
 * Endpoint lifetime: the loop creates an endpoint (one reference) and
 * closes it; the media thread removes it and then posts a "release"
 * item, after every event it produced for it (same FIFO), so the loop can
 * free it knowing no event still points to it. A recording holds one more
 * reference until its finished event has been delivered.
 */
#include "media_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define TAG_RTCP 1u
#define TAG_MASK 7u
#define WAKE_EFD ((uint64_t)1)
#define WAKE_TFD ((uint64_t)2)

int64_t
media_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

uint32_t
media_random(media_engine *e)
{
    /* xorshift64*: SSRCs, initial seq/ts and RTCP jitter need to be
     * unpredictable enough to not collide, not cryptographic. */
    uint64_t x = e->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    e->rng = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

void
media_count(media_endpoint *ep, size_t off, uint64_t n)
{
    atomic_fetch_add_explicit((_Atomic uint64_t *)((char *)&ep->c + off), n,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(
        (_Atomic uint64_t *)((char *)&ep->e->totals + off), n,
        memory_order_relaxed);
}

/* ---- queues ---- */

static void
ev_push(media_engine *e, media_evitem *it)
{
    pthread_mutex_lock(&e->lock);
    if (e->ev_tail)
        e->ev_tail->next = it;
    else
        e->ev_head = it;
    e->ev_tail = it;
    pthread_mutex_unlock(&e->lock);
    uv_async_send(e->async);
}

void
media_emit(media_engine *e, media_endpoint *ep, const media_event *ev,
           const char *path)
{
    media_evitem *it = calloc(1, sizeof(*it));

    /* Out of memory on the media thread: the event is lost (the engine
     * keeps running; there is nobody to return an error to). */
    if (!it)
        return;
    it->ev = *ev;
    if (path && !(it->path = strdup(path))) {
        free(it);
        return;
    }
    /* The event keeps its endpoint alive until delivered: the loop may
     * close and release it meanwhile (during media_engine_stop()). The
     * emitting thread owns a reference already (the media thread until it
     * releases the endpoint, the disk thread through the recording). */
    if (ep)
        atomic_fetch_add(&ep->refs, 1);
    it->ep = ep;
    ev_push(e, it);
}

void
media_emit_release(media_engine *e, media_endpoint *ep)
{
    media_evitem *it = calloc(1, sizeof(*it));

    /* Without memory the endpoint leaks rather than being freed while
     * something might still reference it. */
    if (!it)
        return;
    it->release = true;
    it->ep = ep;
    ev_push(e, it);
}

void
media_cmd_free(media_cmd *c)
{
    if (!c)
        return;
    free(c->str);
    free(c->samples);
    if (c->rec)
        media_rec_free(c->rec);
    free(c);
}

void
media_cmd_push(media_engine *e, media_cmd *c)
{
    uint64_t one = 1;

    pthread_mutex_lock(&e->lock);
    if (e->cmd_tail)
        e->cmd_tail->next = c;
    else
        e->cmd_head = c;
    e->cmd_tail = c;
    pthread_mutex_unlock(&e->lock);
    if (write(e->efd, &one, sizeof(one)) < 0) {
        /* The counter is saturated: the media thread is already due to
         * wake up and drain the queue. */
    }
}

static void
ep_unref(media_endpoint *ep)
{
    if (atomic_fetch_sub(&ep->refs, 1) != 1)
        return;
    if (ep->fd >= 0)
        close(ep->fd);
    if (ep->fd_rtcp >= 0)
        close(ep->fd_rtcp);
    free(ep);
}

/* Release a closed endpoint when the media thread is not running: its
 * state is the loop's now. A prompt loaded for it after the thread stopped
 * is a queued command that still points to it: the last of those drops
 * the reference instead (see media_engine_destroy). */
static void
release_stopped(media_endpoint *ep)
{
    media_ep_free_media(ep);
    ep->removed = true;
    if (ep->pending_disk == 0)
        ep_unref(ep);
}

static void
deliver(media_engine *e)
{
    media_evitem *it, *next;

    pthread_mutex_lock(&e->lock);
    it = e->ev_head;
    e->ev_head = e->ev_tail = NULL;
    pthread_mutex_unlock(&e->lock);
    for (; it; it = next) {
        next = it->next;
        media_endpoint *ep = it->ep;
        if (it->release) {
            ep_unref(ep);
        } else if (it->ev.type == MEDIA_EV_RECORDING_FINISHED) {
            media_event ev = it->ev;
            ev.u.rec.path = it->path;
            if (ep && ep->rec_id == ev.u.rec.rec_id)
                ep->rec_id = 0;
            ev.ep = ep && !ep->closed ? ep : NULL;
            e->cfg.on_event(e->cfg.ud, &ev);
            if (ep) {
                ep_unref(ep); /* the recording's */
                ep_unref(ep); /* the event's */
            }
        } else if (ep) {
            if (!ep->closed) {
                media_event ev = it->ev;
                ev.ep = ep;
                ev.ep_ud = ep->ud;
                e->cfg.on_event(e->cfg.ud, &ev);
            }
            ep_unref(ep);
        }
        free(it->path);
        free(it);
    }
}

static void
async_cb(uv_async_t *h)
{
    if (h->data)
        deliver(h->data);
}

static void
async_closed(uv_handle_t *h)
{
    free(h);
}

/* ---- the media thread ---- */

static void
drain_commands(media_engine *e)
{
    media_cmd *c, *next;
    uint64_t v;

    if (read(e->efd, &v, sizeof(v)) < 0) {
        /* EAGAIN: woken by the timer or a socket only. */
    }
    pthread_mutex_lock(&e->lock);
    c = e->cmd_head;
    e->cmd_head = e->cmd_tail = NULL;
    pthread_mutex_unlock(&e->lock);
    for (; c; c = next) {
        next = c->next;
        media_ep_command(e, c);
        media_cmd_free(c);
    }
}

static void
arm_timer(media_engine *e)
{
    struct itimerspec its = {0};

    its.it_value.tv_sec = e->pacer.next_ns / 1000000000LL;
    its.it_value.tv_nsec = e->pacer.next_ns % 1000000000LL;
    timerfd_settime(e->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void
flush_releases(media_engine *e)
{
    while (e->releases) {
        media_endpoint *ep = e->releases;
        e->releases = ep->release_next;
        media_emit_release(e, ep);
    }
}

static void *
media_main(void *arg)
{
    media_engine *e = arg;
    struct epoll_event evs[64];

    pthread_setname_np(pthread_self(), "plt-media");
    media_pacer_start(&e->pacer, media_now_ns(), MEDIA_TICK_NS, 10);
    while (!atomic_load(&e->stop_media)) {
        arm_timer(e);
        int n = epoll_wait(e->epfd, evs, 64, 1000);
        int64_t now = media_now_ns();
        bool cmds = false;
        for (int i = 0; i < n; i++) {
            uint64_t d = evs[i].data.u64;
            if (d == WAKE_EFD) {
                cmds = true;
            } else if (d == WAKE_TFD) {
                uint64_t exp;
                if (read(e->tfd, &exp, sizeof(exp)) < 0) {
                    /* Spurious wake-up: the pacer decides below. */
                }
            } else {
                media_endpoint *ep =
                    (media_endpoint *)(uintptr_t)(d & ~(uint64_t)TAG_MASK);
                media_ep_readable(e, ep, (d & TAG_RTCP) != 0, now);
            }
        }
        /* Commands after the sockets of this batch, so that an endpoint
         * removed by a command is not read again in the same batch. */
        if (cmds)
            drain_commands(e);
        uint32_t skipped;
        uint32_t due = media_pacer_due(&e->pacer, media_now_ns(), &skipped);
        if (due) {
            now = media_now_ns();
            for (media_endpoint *ep = e->active; ep; ep = ep->mnext)
                media_ep_tick(e, ep, due, skipped, now);
        }
        flush_releases(e);
    }
    /* Stopping: close the recordings so their files are complete. */
    for (media_endpoint *ep = e->active; ep; ep = ep->mnext)
        if (ep->rec)
            media_rec_close(e, ep);
    flush_releases(e);
    return NULL;
}

/* ---- engine API ---- */

int
media_engine_create(const media_engine_config *cfg, media_engine **out)
{
    media_engine *e;
    struct epoll_event ev = {.events = EPOLLIN};
    int rc;

    if (!cfg || !cfg->loop || !cfg->on_event)
        return -EINVAL;
    e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->cfg = *cfg;
    if (!e->cfg.port_min)
        e->cfg.port_min = 16384;
    if (!e->cfg.port_max)
        e->cfg.port_max = 32767;
    e->cfg.port_min = (uint16_t)((e->cfg.port_min + 1) & ~1u);
    if (e->cfg.port_min == 0 || e->cfg.port_max <= e->cfg.port_min) {
        free(e);
        return -EINVAL;
    }
    if (!e->cfg.rtp_timeout_ms)
        e->cfg.rtp_timeout_ms = 30000;
    if (!e->cfg.rtcp_interval_ms)
        e->cfg.rtcp_interval_ms = 5000;
    if (!e->cfg.relatch_ms)
        e->cfg.relatch_ms = 2000;
    if (!e->cfg.tos)
        e->cfg.tos = 0xB8;
    if (!e->cfg.max_prompt_s)
        e->cfg.max_prompt_s = 600;
    media_amd_params_fill(&e->cfg.amd, NULL);
    e->next_port = e->cfg.port_min;
    e->efd = e->epfd = e->tfd = -1;
    if (getrandom(&e->rng, sizeof(e->rng), GRND_NONBLOCK) != sizeof(e->rng))
        e->rng = (uint64_t)media_now_ns() ^ (uint64_t)(uintptr_t)e;
    e->rng |= 1;
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->dlock, NULL);
    pthread_cond_init(&e->dcond, NULL);
    e->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    e->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (e->efd < 0 || e->epfd < 0 || e->tfd < 0) {
        rc = -errno;
        goto fail;
    }
    ev.data.u64 = WAKE_EFD;
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->efd, &ev) < 0) {
        rc = -errno;
        goto fail;
    }
    ev.data.u64 = WAKE_TFD;
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->tfd, &ev) < 0) {
        rc = -errno;
        goto fail;
    }
    e->async = calloc(1, sizeof(*e->async));
    if (!e->async) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = uv_async_init(cfg->loop, e->async, async_cb);
    if (rc < 0) {
        free(e->async);
        e->async = NULL;
        goto fail;
    }
    e->async->data = e;
    *out = e;
    return 0;
fail:
    if (e->efd >= 0)
        close(e->efd);
    if (e->epfd >= 0)
        close(e->epfd);
    if (e->tfd >= 0)
        close(e->tfd);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->dlock);
    pthread_cond_destroy(&e->dcond);
    free(e);
    return rc;
}

int
media_engine_start(media_engine *e)
{
    int rc;

    if (e->running)
        return -EALREADY;
    if (e->stopped)
        return -ESHUTDOWN;
    atomic_store(&e->stop_media, false);
    rc = media_disk_start(e);
    if (rc < 0)
        return rc;
    rc = pthread_create(&e->media_th, NULL, media_main, e);
    if (rc != 0) {
        media_disk_stop(e);
        return -rc;
    }
    e->running = true;
    return 0;
}

void
media_engine_stop(media_engine *e)
{
    uint64_t one = 1;

    if (!e->running)
        return;
    atomic_store(&e->stop_media, true);
    if (write(e->efd, &one, sizeof(one)) < 0) {
        /* Saturated counter: the thread wakes up anyway. */
    }
    pthread_join(e->media_th, NULL);
    media_disk_stop(e);
    e->running = false;
    e->stopped = true;
    /* Whatever the threads produced, recordings finished included. */
    deliver(e);
}

void
media_engine_destroy(media_engine *e)
{
    media_cmd *c, *cn;

    if (!e)
        return;
    media_engine_stop(e);
    while (e->eps)
        media_endpoint_destroy(e->eps);
    deliver(e);
    for (c = e->cmd_head; c; c = cn) {
        cn = c->next;
        /* Commands the media thread never ran: give back the references
         * they carry (a recording's, a closed endpoint's). */
        if (c->type == CMD_REC_START) {
            ep_unref(c->ep);
        } else if (c->type == CMD_PLAY_LOADED) {
            /* A prompt loaded for an endpoint removed meanwhile: the last
             * one releases it. */
            if (--c->ep->pending_disk == 0 && c->ep->removed)
                ep_unref(c->ep);
        } else if (c->type == CMD_REMOVE) {
            release_stopped(c->ep);
        }
        media_cmd_free(c);
    }
    e->cmd_head = e->cmd_tail = NULL;
    e->async->data = NULL;
    uv_close((uv_handle_t *)e->async, async_closed);
    close(e->efd);
    close(e->epfd);
    close(e->tfd);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->dlock);
    pthread_cond_destroy(&e->dcond);
    free(e);
}

static void
read_counters(const media_counters *c, media_stats *out)
{
#define RD(f) out->f = atomic_load_explicit(&c->f, memory_order_relaxed)
    RD(rx_packets);
    RD(rx_bytes);
    RD(tx_packets);
    RD(tx_bytes);
    RD(relayed);
    RD(rx_bad);
    RD(rx_foreign);
    RD(rx_lost);
    RD(rtcp_rx);
    RD(rtcp_tx);
    RD(jitter);
    RD(remote_lost);
    RD(remote_jitter);
#undef RD
}

void
media_engine_stats(const media_engine *e, media_stats *out)
{
    read_counters(&e->totals, out);
}

void
media_endpoint_stats(const media_endpoint *ep, media_stats *out)
{
    read_counters(&ep->c, out);
}

/* ---- endpoint API ---- */

static media_cmd *
cmd_new(int type, media_endpoint *ep)
{
    media_cmd *c = calloc(1, sizeof(*c));
    if (c) {
        c->type = type;
        c->ep = ep;
    }
    return c;
}

static int
send_cmd(media_endpoint *ep, media_cmd *c)
{
    if (!c)
        return -ENOMEM;
    if (ep->e->stopped) {
        media_cmd_free(c);
        return -ESHUTDOWN;
    }
    media_cmd_push(ep->e, c);
    return 0;
}

int
media_endpoint_create(media_engine *e, const char *local_ip, void *ud,
                      media_endpoint **out)
{
    media_endpoint *ep;
    media_cmd *c;
    int rc;

    if (e->stopped)
        return -ESHUTDOWN;
    if (!local_ip)
        return -EINVAL;
    ep = calloc(1, sizeof(*ep));
    c = cmd_new(CMD_ADD, ep);
    if (!ep || !c) {
        free(ep);
        free(c);
        return -ENOMEM;
    }
    ep->e = e;
    ep->ud = ud;
    atomic_init(&ep->refs, 1);
    ep->fd = ep->fd_rtcp = -1;
    rc = media_ep_bind(e, local_ip, ep);
    if (rc < 0) {
        free(ep);
        free(c);
        return rc;
    }
    uint32_t r1 = 0, r2 = 0, r3 = 0;
    if (getrandom(&r1, 4, GRND_NONBLOCK) != 4 ||
        getrandom(&r2, 4, GRND_NONBLOCK) != 4 ||
        getrandom(&r3, 4, GRND_NONBLOCK) != 4) {
        r1 = (uint32_t)media_now_ns() ^ (uint32_t)(uintptr_t)ep;
        r2 = r1 * 2654435761u;
        r3 = r2 * 2654435761u;
    }
    media_tx_init(&ep->tx, r1, (uint16_t)r2, r3);
    ep->lnext = e->eps;
    if (e->eps)
        e->eps->lprev = ep;
    e->eps = ep;
    media_cmd_push(e, c);
    *out = ep;
    return 0;
}

void
media_endpoint_local(const media_endpoint *ep, char ip[64], uint16_t *rtp_port)
{
    memcpy(ip, ep->ip, 64);
    *rtp_port = ep->port;
}

int
media_endpoint_set_remote(media_endpoint *ep, const media_remote *r)
{
    media_cmd *c;
    media_peer p;
    int rc = media_ep_parse_remote(r, &p);

    if (rc < 0)
        return rc;
    if (p.rtp.ss_family != ep->family)
        return -EAFNOSUPPORT;
    c = cmd_new(CMD_REMOTE, ep);
    if (c)
        c->peer = p;
    return send_cmd(ep, c);
}

void
media_endpoint_destroy(media_endpoint *ep)
{
    media_engine *e = ep->e;

    if (ep->closed)
        return;
    ep->closed = true;
    if (ep->lprev)
        ep->lprev->lnext = ep->lnext;
    else
        e->eps = ep->lnext;
    if (ep->lnext)
        ep->lnext->lprev = ep->lprev;
    ep->lnext = ep->lprev = NULL;
    if (e->running) {
        media_cmd *c = cmd_new(CMD_REMOVE, ep);
        if (c) {
            media_cmd_push(e, c);
            return;
        }
        /* No memory for the command: the endpoint stays with the media
         * thread until the engine stops (its events are not delivered). */
        return;
    }
    /* No media thread: release its state here. */
    release_stopped(ep);
}

int
media_bridge(media_endpoint *a, media_endpoint *b)
{
    media_cmd *c;

    if (a == b || a->closed || b->closed)
        return -EINVAL;
    c = cmd_new(CMD_BRIDGE, a);
    if (c)
        c->ep2 = b;
    return send_cmd(a, c);
}

int
media_unbridge(media_endpoint *ep)
{
    return send_cmd(ep, cmd_new(CMD_UNBRIDGE, ep));
}

int
media_play(media_endpoint *ep, const char *path, uint32_t flags,
           uint32_t *play_id)
{
    media_cmd *c;

    if (!path || !*path)
        return -EINVAL;
    c = cmd_new(CMD_PLAY, ep);
    if (c && !(c->str = strdup(path))) {
        free(c);
        c = NULL;
    }
    if (!c)
        return -ENOMEM;
    c->flags = flags;
    c->id = ++ep->e->next_id;
    if (play_id)
        *play_id = c->id;
    return send_cmd(ep, c);
}

int
media_play_stop(media_endpoint *ep, uint32_t play_id)
{
    media_cmd *c = cmd_new(CMD_PLAY_STOP, ep);
    if (c)
        c->id = play_id;
    return send_cmd(ep, c);
}

int
media_send_dtmf(media_endpoint *ep, const char *digits, uint32_t duration_ms)
{
    media_cmd *c;
    size_t n = digits ? strlen(digits) : 0;

    if (n == 0 || n > 64)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (digits[i] != ',' && rtp_dtmf_event(digits[i]) < 0)
            return -EINVAL;
    c = cmd_new(CMD_DTMF, ep);
    if (c && !(c->str = strdup(digits))) {
        free(c);
        c = NULL;
    }
    if (!c)
        return -ENOMEM;
    c->id = duration_ms ? duration_ms : 100;
    if (c->id > 5000)
        c->id = 5000;
    return send_cmd(ep, c);
}

int
media_record_start(media_endpoint *ep, const char *path, int32_t mode,
                   uint32_t *rec_id)
{
    media_cmd *c;
    int rc;

    if (!path || !*path || (mode != PLT_REC_MIXED && mode != PLT_REC_STEREO))
        return -EINVAL;
    if (ep->rec_id)
        return -EBUSY;
    c = cmd_new(CMD_REC_START, ep);
    if (!c)
        return -ENOMEM;
    c->id = ++ep->e->next_id;
    c->rec = media_rec_new(c->id, path, mode);
    if (!c->rec) {
        free(c);
        return -ENOMEM;
    }
    c->rec->ep = ep;
    c->rec->ep_ud = ep->ud;
    uint32_t id = c->id;
    rc = send_cmd(ep, c);
    if (rc < 0)
        return rc;
    /* The recording's reference, dropped when its finished event has been
     * delivered. */
    atomic_fetch_add(&ep->refs, 1);
    ep->rec_id = id;
    if (rec_id)
        *rec_id = id;
    return 0;
}

static int
rec_cmd(media_engine *e, uint32_t rec_id, int type)
{
    for (media_endpoint *ep = e->eps; ep; ep = ep->lnext)
        if (rec_id && ep->rec_id == rec_id) {
            media_cmd *c = cmd_new(type, ep);
            if (c)
                c->id = rec_id;
            return send_cmd(ep, c);
        }
    return -ENOENT;
}

int
media_record_stop(media_engine *e, uint32_t rec_id)
{
    return rec_cmd(e, rec_id, CMD_REC_STOP);
}

int
media_record_pause(media_engine *e, uint32_t rec_id)
{
    return rec_cmd(e, rec_id, CMD_REC_PAUSE);
}

int
media_record_resume(media_engine *e, uint32_t rec_id)
{
    return rec_cmd(e, rec_id, CMD_REC_RESUME);
}

int
media_amd_start(media_endpoint *ep, const plt_amd_params *p)
{
    media_cmd *c = cmd_new(CMD_AMD, ep);

    if (c) {
        if (p)
            c->amd = *p;
        media_amd_params_fill(&c->amd, &ep->e->cfg.amd);
    }
    return send_cmd(ep, c);
}

/* ---- names ---- */

const char *
media_dtmf_method_name(int32_t m)
{
    return m == MEDIA_DTMF_RFC4733  ? "rfc4733"
           : m == MEDIA_DTMF_INBAND ? "inband"
                                    : "unknown";
}

const char *
media_play_reason_name(int32_t r)
{
    static const char *const n[] = {"unknown", "done", "stopped", "error"};
    return r >= 1 && r <= 3 ? n[r] : n[0];
}

const char *
media_amd_result_name(int32_t r)
{
    static const char *const n[] = {"unknown", "human", "machine", "not_sure"};
    return r >= 1 && r <= 3 ? n[r] : n[0];
}

const char *
media_amd_cause_name(int32_t c)
{
    static const char *const n[] = {
        "unknown",   "initial_silence",        "long_greeting",
        "max_words", "after_greeting_silence", "total_time",
        "stopped"};
    return c >= 1 && c <= 6 ? n[c] : n[0];
}
