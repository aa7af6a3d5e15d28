/* SPDX-License-Identifier: MIT */
/*
 * An endpoint on the media thread: its sockets, what it accepts (RFC 3550
 * validation, negotiated payload types, symmetric-RTP latching), what it
 * does with a packet (DTMF, AMD and recording taps, relay to the bridged
 * partner with transcoding and re-basing), and its periodic duties (RTCP
 * reports, inactivity, generated frames).
 *
 * Latching rules. Before latching, a packet is accepted from the SDP host
 * (any port; MEDIA_LATCH_SDP_HOST), from anywhere (MEDIA_LATCH_ANY) or
 * from the exact SDP address (MEDIA_LATCH_OFF); the first accepted packet
 * latches the endpoint to its source, and replies go there. After that, a
 * packet from any other source is dropped and counted as foreign - an
 * injected stream mid-call is never heard - unless the latched source has
 * sent nothing for relatch_ms and the newcomer would have been accepted
 * before latching: then it takes over (a phone whose NAT mapping
 * changed). A new remote (re-INVITE) restarts latching.
 */
#include "media_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define TAG_RTCP 1u

/* ---- addresses ---- */

static int
make_addr(const char *ip, uint16_t port, struct sockaddr_storage *ss,
          socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (ip && inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof(*a4);
        return 0;
    }
    if (ip && inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof(*a6);
        return 0;
    }
    return -EINVAL;
}

static bool
same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

static uint16_t
port_of(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET
               ? ntohs(((const struct sockaddr_in *)a)->sin_port)
               : ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
}

static void
set_port(struct sockaddr_storage *a, uint16_t port)
{
    if (a->ss_family == AF_INET)
        ((struct sockaddr_in *)a)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)a)->sin6_port = htons(port);
}

static bool
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    return same_host(a, b) && port_of(a) == port_of(b);
}

static void
addr_text(const struct sockaddr_storage *a, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (a->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, ip,
                  sizeof(ip));
    else
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, ip,
                  sizeof(ip));
    snprintf(out, cap, a->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
             port_of(a));
}

/* ---- creation (loop thread) ---- */

static int
open_bound(const struct sockaddr_storage *ss, socklen_t len, int tos)
{
    int fd =
        socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (const struct sockaddr *)ss, len) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    if (tos >= 0) {
        /* Expedited forwarding; a refusal only costs the marking. */
        if (ss->ss_family == AF_INET)
            (void)setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
        else
            (void)setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
    }
    return fd;
}

int
media_ep_bind(media_engine *e, const char *ip, media_endpoint *ep)
{
    struct sockaddr_storage ss;
    socklen_t len;
    unsigned span = (unsigned)(e->cfg.port_max - e->cfg.port_min + 1) / 2;

    if (make_addr(ip, 0, &ss, &len) < 0 || strlen(ip) >= sizeof(ep->ip))
        return -EINVAL;
    for (unsigned i = 0; i < span; i++) {
        uint16_t port = e->next_port;
        e->next_port = (uint16_t)(port + 2);
        if (e->next_port < e->cfg.port_min ||
            e->next_port + 1 > e->cfg.port_max)
            e->next_port = e->cfg.port_min;
        set_port(&ss, port);
        int fd = open_bound(&ss, len, e->cfg.tos);
        if (fd == -EADDRINUSE || fd == -EACCES)
            continue;
        if (fd < 0)
            return fd;
        set_port(&ss, (uint16_t)(port + 1));
        int fd2 = open_bound(&ss, len, e->cfg.tos);
        if (fd2 == -EADDRINUSE || fd2 == -EACCES) {
            close(fd);
            continue;
        }
        if (fd2 < 0) {
            close(fd);
            return fd2;
        }
        ep->fd = fd;
        ep->fd_rtcp = fd2;
        ep->family = ss.ss_family;
        ep->port = port;
        strcpy(ep->ip, ip);
        return 0;
    }
    return -EADDRINUSE;
}

int
media_ep_parse_remote(const media_remote *r, media_peer *p)
{
    memset(p, 0, sizeof(*p));
    if (!r || (r->pt != MEDIA_PT_PCMU && r->pt != MEDIA_PT_PCMA))
        return -EINVAL;
    if (r->te_pt != MEDIA_PT_NONE && (r->te_pt < 96 || r->te_pt > 127))
        return -EINVAL;
    if (r->latch < MEDIA_LATCH_SDP_HOST || r->latch > MEDIA_LATCH_OFF)
        return -EINVAL;
    if (make_addr(r->ip, r->port, &p->rtp, &p->len) < 0)
        return -EINVAL;
    p->rtcp = p->rtp;
    set_port(&p->rtcp, r->rtcp_port ? r->rtcp_port : (uint16_t)(r->port + 1));
    p->pt = r->pt;
    p->te_pt = r->te_pt;
    p->dir = r->dir ? r->dir & MEDIA_DIR_SENDRECV : MEDIA_DIR_SENDRECV;
    p->latch = r->latch;
    p->has_media = r->port != 0;
    p->rtcp_mux = r->rtcp_mux;
    return 0;
}

/* ---- sending ---- */

bool
media_ep_can_send(const media_endpoint *ep)
{
    return ep->has_remote && ep->rp.has_media && (ep->rp.dir & MEDIA_DIR_SEND);
}

static const struct sockaddr_storage *
rtp_dest(const media_endpoint *ep)
{
    return ep->latched ? &ep->peer : &ep->rp.rtp;
}

void
media_ep_send(media_engine *e, media_endpoint *ep, uint64_t src,
              uint16_t in_seq, uint32_t in_ts, bool in_marker, int pt,
              const uint8_t *payload, size_t len, uint32_t samples, int64_t now)
{
    uint8_t buf[RTP_MAX_PACKET];
    rtp_packet p = {.pt = (uint8_t)pt,
                    .ssrc = ep->tx.ssrc,
                    .payload = payload,
                    .payload_len = len};
    size_t n;

    (void)e;
    media_tx_map(&ep->tx, src, in_seq, in_ts, in_marker, samples, now, &p.seq,
                 &p.ts, &p.marker);
    n = rtp_build(buf, sizeof(buf), &p);
    if (!n)
        return;
    ep->tx.octets += (uint32_t)len;
    if (sendto(ep->fd, buf, n, 0, (const struct sockaddr *)rtp_dest(ep),
               ep->rp.len) >= 0) {
        MEDIA_COUNT(ep, tx_packets, 1);
        MEDIA_COUNT(ep, tx_bytes, len);
    }
    /* What the remote hears goes to the recording's second channel. */
    if (ep->rec && pt != ep->rp.te_pt) {
        int16_t pcm[RTP_MAX_PACKET];
        media_g711_decode(pt, payload, len, pcm);
        media_rec_put(ep->rec, 1, ep->tx.ssrc, p.ts, pcm, len, now);
    }
}

static void
relay(media_engine *e, media_endpoint *from, const rtp_packet *rp, bool event,
      uint32_t ev_duration, int64_t now)
{
    media_endpoint *to = from->partner;
    uint8_t buf[RTP_MAX_PACKET];
    int pt;
    uint32_t samples;

    /* A prompt or DTMF owns the partner's stream while it runs. */
    if (!to || !media_ep_can_send(to) || to->play_active || to->dt_active)
        return;
    if (event) {
        if (to->rp.te_pt == MEDIA_PT_NONE)
            return;
        pt = to->rp.te_pt;
        memcpy(buf, rp->payload, rp->payload_len);
        samples = ev_duration;
    } else {
        pt = to->rp.pt;
        media_g711_transcode(rp->pt, pt, rp->payload, rp->payload_len, buf);
        samples = (uint32_t)rp->payload_len;
    }
    media_ep_send(e, to, MEDIA_SRC_RELAY | rp->ssrc, rp->seq, rp->ts,
                  rp->marker, pt, buf, rp->payload_len, samples, now);
    MEDIA_COUNT(from, relayed, 1);
}

/* ---- receiving ---- */

static void
emit_digit(media_engine *e, media_endpoint *ep, char digit, int method,
           uint32_t duration_ms)
{
    media_event ev = {.type = MEDIA_EV_DTMF};
    ev.u.dtmf.digit = digit;
    ev.u.dtmf.method = method;
    ev.u.dtmf.duration_ms = duration_ms;
    media_emit(e, ep, &ev, NULL);
}

static bool
acceptable_first(const media_endpoint *ep, const struct sockaddr_storage *from)
{
    switch (ep->rp.latch) {
    case MEDIA_LATCH_ANY:
        return true;
    case MEDIA_LATCH_OFF:
        return same_addr(from, &ep->rp.rtp);
    default:
        return same_host(from, &ep->rp.rtp);
    }
}

static bool
check_source(media_engine *e, media_endpoint *ep,
             const struct sockaddr_storage *from, socklen_t flen, int64_t now)
{
    if (ep->latched && same_addr(from, &ep->peer))
        return true;
    if (!acceptable_first(ep, from))
        return false;
    if (ep->latched &&
        now - ep->last_rx_ns < (int64_t)e->cfg.relatch_ms * 1000000LL)
        return false;
    if (ep->rp.latch == MEDIA_LATCH_OFF)
        return true;
    ep->latched = true;
    ep->peer = *from;
    ep->peer_len = flen;
    media_event ev = {.type = MEDIA_EV_LATCHED};
    addr_text(from, ev.u.latched.addr, sizeof(ev.u.latched.addr));
    media_emit(e, ep, &ev, NULL);
    return true;
}

/* A partner that negotiated no telephone-event cannot get the event
 * packets: it hears the digit as tones instead (once the event ended, as
 * long as it lasted, 80 ms at least). */
static void
tones_to_partner(media_endpoint *ep, char digit, uint32_t ms)
{
    media_endpoint *to = ep->partner;
    char d[2] = {digit, 0};

    if (!to || to->rp.te_pt != MEDIA_PT_NONE || !media_ep_can_send(to) ||
        to->dt_active)
        return;
    media_dtmf_begin(to, d, ms < 80 ? 80 : ms > 500 ? 500 : ms);
}

static void
amd_done(media_engine *e, media_endpoint *ep)
{
    media_event ev = {.type = MEDIA_EV_AMD_RESULT};
    ev.u.amd.result = ep->amd.result;
    ev.u.amd.cause = ep->amd.cause;
    ev.u.amd.words = ep->amd.words;
    ev.u.amd.greeting_ms = ep->amd.voice_ms;
    ev.u.amd.elapsed_ms = ep->amd.total_ms;
    ep->amd_on = false;
    media_emit(e, ep, &ev, NULL);
}

static void
tap_audio(media_engine *e, media_endpoint *ep, const rtp_packet *rp,
          int64_t now)
{
    int16_t pcm[RTP_MAX_PACKET];
    size_t n = rp->payload_len;

    if (!ep->inband && !ep->amd_on && !ep->rec)
        return;
    media_g711_decode(rp->pt, rp->payload, n, pcm);
    /* Once a peer sends RFC 4733, its audio no longer carries the digits
     * reliably (and a tone would be reported twice): in-band is off. */
    if (ep->inband && !ep->got_rfc4733)
        dtmf_rx(ep->inband, pcm, (int)n);
    /* AMD runs on media time: each packet counts for the audio it
     * carries, so late or bunched packets (jitter, a busy machine) do not
     * turn speech into gaps. */
    if (ep->amd_on) {
        ep->amd_last_ns = now;
        if (media_amd_feed(&ep->amd, (uint32_t)(n / 8), media_level(pcm, n)))
            amd_done(e, ep);
    }
    if (ep->rec)
        media_rec_put(ep->rec, 0, MEDIA_SRC_RELAY | rp->ssrc, rp->ts, pcm, n,
                      now);
    (void)e;
}

static void
on_rtp(media_engine *e, media_endpoint *ep, const uint8_t *buf, size_t len,
       const struct sockaddr_storage *from, socklen_t flen, int64_t now)
{
    rtp_packet rp;

    if (!ep->has_remote || !(ep->rp.dir & MEDIA_DIR_RECV)) {
        MEDIA_COUNT(ep, rx_foreign, 1);
        return;
    }
    if (rtp_parse(buf, len, &rp) < 0) {
        MEDIA_COUNT(ep, rx_bad, 1);
        return;
    }
    bool event = ep->rp.te_pt != MEDIA_PT_NONE && rp.pt == ep->rp.te_pt;
    if (!event && rp.pt != MEDIA_PT_PCMU && rp.pt != MEDIA_PT_PCMA) {
        MEDIA_COUNT(ep, rx_bad, 1);
        return;
    }
    if (!event && rp.payload_len > RTP_MAX_PACKET - RTP_HEADER_LEN) {
        MEDIA_COUNT(ep, rx_bad, 1);
        return;
    }
    if (!check_source(e, ep, from, flen, now)) {
        MEDIA_COUNT(ep, rx_foreign, 1);
        return;
    }
    ep->last_rx_ns = now;
    ep->timeout_sent = false;
    MEDIA_COUNT(ep, rx_packets, 1);
    MEDIA_COUNT(ep, rx_bytes, rp.payload_len);
    rtp_rx_update(&ep->rxs, rp.ssrc, rp.seq, rp.ts,
                  (uint32_t)(now / (1000000000LL / MEDIA_RATE)));
    atomic_store_explicit(&ep->c.rx_lost, rtp_rx_lost(&ep->rxs),
                          memory_order_relaxed);
    atomic_store_explicit(&ep->c.jitter, rtp_rx_jitter(&ep->rxs),
                          memory_order_relaxed);
    if (event) {
        rtp_dtmf d;
        uint16_t dur = 0;
        if (rtp_dtmf_parse(rp.payload, rp.payload_len, &d) < 0) {
            MEDIA_COUNT(ep, rx_bad, 1);
            return;
        }
        ep->got_rfc4733 = true;
        char digit = rtp_dtmf_rx_put(&ep->drx, rp.ts, &d,
                                     (uint64_t)(now / 1000000), &dur);
        if (digit) {
            emit_digit(e, ep, digit, MEDIA_DTMF_RFC4733, dur / 8u);
            tones_to_partner(ep, digit, dur / 8u);
        }
        relay(e, ep, &rp, true, d.duration, now);
        return;
    }
    tap_audio(e, ep, &rp, now);
    relay(e, ep, &rp, false, 0, now);
}

static void
on_rtcp(media_engine *e, media_endpoint *ep, const uint8_t *buf, size_t len,
        const struct sockaddr_storage *from, socklen_t flen, int64_t now)
{
    rtcp_info ri;

    (void)e;
    if (!ep->has_remote ||
        !same_host(from, ep->latched ? &ep->peer : &ep->rp.rtp)) {
        MEDIA_COUNT(ep, rx_foreign, 1);
        return;
    }
    if (rtcp_parse(buf, len, &ri) < 0) {
        MEDIA_COUNT(ep, rx_bad, 1);
        return;
    }
    MEDIA_COUNT(ep, rtcp_rx, 1);
    if (!ep->rtcp_latched && ep->rp.latch != MEDIA_LATCH_OFF) {
        ep->rtcp_latched = true;
        ep->rtcp_peer = *from;
        ep->rtcp_peer_len = flen;
    }
    if (ri.has_sr) {
        ep->lsr = rtcp_ntp_mid(ri.ntp);
        ep->lsr_ns = now;
    }
    if (ri.has_block && ri.block.ssrc == ep->tx.ssrc) {
        atomic_store_explicit(
            &ep->c.remote_lost,
            (uint32_t)(ri.block.cum_lost < 0 ? 0 : ri.block.cum_lost),
            memory_order_relaxed);
        atomic_store_explicit(&ep->c.remote_jitter, ri.block.jitter,
                              memory_order_relaxed);
    }
}

void
media_ep_readable(media_engine *e, media_endpoint *ep, bool rtcp, int64_t now)
{
    uint8_t buf[RTP_MAX_PACKET + 64];
    struct sockaddr_storage from;

    /* Bounded per wake-up so that one flooded port cannot starve the
     * others or the tick; epoll reports it again (level-triggered). */
    for (int i = 0; i < 64 && !ep->removed; i++) {
        socklen_t flen = sizeof(from);
        ssize_t n = recvfrom(rtcp ? ep->fd_rtcp : ep->fd, buf, sizeof(buf),
                             MSG_TRUNC, (struct sockaddr *)&from, &flen);
        if (n < 0)
            break;
        if ((size_t)n > RTP_MAX_PACKET) {
            MEDIA_COUNT(ep, rx_bad, 1);
            continue;
        }
        if (rtcp || rtp_is_rtcp(buf, (size_t)n))
            on_rtcp(e, ep, buf, (size_t)n, &from, flen, now);
        else
            on_rtp(e, ep, buf, (size_t)n, &from, flen, now);
    }
}

/* ---- RTCP reports ---- */

static uint64_t
ntp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t sec = (uint64_t)ts.tv_sec + 2208988800ULL;
    uint64_t frac = ((uint64_t)ts.tv_nsec << 32) / 1000000000ULL;
    return (sec << 32) | frac;
}

static void
send_rtcp(media_engine *e, media_endpoint *ep, bool bye, int64_t now)
{
    uint8_t buf[256];
    rtcp_sender sr;
    rtcp_block blk;
    const struct sockaddr_storage *to;
    struct sockaddr_storage guess;

    if (!ep->has_remote || !ep->rp.has_media)
        return;
    if (ep->tx.packets) {
        sr.ntp = ntp_now();
        sr.rtp_ts = ep->tx.ts;
        sr.packets = ep->tx.packets;
        sr.octets = ep->tx.octets;
    }
    if (ep->rxs.init) {
        uint32_t expected = rtp_rx_ext_max(&ep->rxs) - ep->rxs.base_seq + 1;
        uint32_t exp_int = expected - ep->exp_prior;
        uint32_t rcv_int = ep->rxs.received - ep->rcv_prior;
        int32_t lost_int = (int32_t)(exp_int - rcv_int);
        ep->exp_prior = expected;
        ep->rcv_prior = ep->rxs.received;
        blk = (rtcp_block){
            .ssrc = ep->rxs.ssrc,
            .fraction_lost =
                (exp_int == 0 || lost_int <= 0)
                    ? 0
                    : (uint8_t)(((uint32_t)lost_int << 8) / exp_int),
            .cum_lost = (int32_t)rtp_rx_lost(&ep->rxs),
            .ext_max_seq = rtp_rx_ext_max(&ep->rxs),
            .jitter = rtp_rx_jitter(&ep->rxs),
            .lsr = ep->lsr,
            .dlsr = ep->lsr
                        ? (uint32_t)((now - ep->lsr_ns) * 65536 / 1000000000LL)
                        : 0};
    }
    size_t n =
        rtcp_build(buf, sizeof(buf), ep->tx.ssrc, ep->tx.packets ? &sr : NULL,
                   ep->rxs.init ? &blk : NULL, "plateau", bye);
    if (ep->rtcp_latched) {
        to = &ep->rtcp_peer;
    } else if (ep->rp.rtcp_mux) {
        to = rtp_dest(ep);
    } else if (ep->latched && !same_addr(&ep->peer, &ep->rp.rtp)) {
        /* Latched elsewhere than the SDP said (NAT): RTCP is most likely
         * on the next port of the same mapping. */
        guess = ep->peer;
        set_port(&guess, (uint16_t)(port_of(&ep->peer) + 1));
        to = &guess;
    } else {
        to = &ep->rp.rtcp;
    }
    if (n && sendto(ep->rp.rtcp_mux ? ep->fd : ep->fd_rtcp, buf, n, 0,
                    (const struct sockaddr *)to, ep->rp.len) >= 0)
        MEDIA_COUNT(ep, rtcp_tx, 1);
    (void)e;
}

/* ---- the tick ---- */

void
media_ep_tick(media_engine *e, media_endpoint *ep, uint32_t frames,
              uint32_t skipped, int64_t now)
{
    if (ep->removed || !ep->has_remote)
        return;
    if (media_ep_can_send(ep)) {
        media_gen_skip(ep, skipped);
        for (uint32_t i = 0; i < frames; i++)
            media_gen_frame(e, ep, now);
    }
    /* No audio for a while (silence suppression, a dead line): the
     * clock feeds the detector silence, so a silent line still decides. */
    if (ep->amd_on && now - ep->amd_last_ns >= 100 * 1000000LL) {
        uint32_t ms = (uint32_t)((now - ep->amd_last_ns) / 1000000LL);
        ep->amd_last_ns = now;
        if (media_amd_feed(&ep->amd, ms, 0))
            amd_done(e, ep);
    }
    uint16_t dur;
    char digit =
        rtp_dtmf_rx_expire(&ep->drx, (uint64_t)(now / 1000000), 800, &dur);
    if (digit)
        emit_digit(e, ep, digit, MEDIA_DTMF_RFC4733, dur / 8u);
    if ((ep->rp.dir & MEDIA_DIR_RECV) && ep->rp.has_media &&
        e->cfg.rtp_timeout_ms != UINT32_MAX && !ep->timeout_sent &&
        now - ep->last_rx_ns >= (int64_t)e->cfg.rtp_timeout_ms * 1000000LL) {
        media_event ev = {.type = MEDIA_EV_RTP_TIMEOUT};
        ev.u.timeout.silent_ms = (uint32_t)((now - ep->last_rx_ns) / 1000000);
        ep->timeout_sent = true;
        media_emit(e, ep, &ev, NULL);
    }
    if (now >= ep->next_rtcp_ns) {
        send_rtcp(e, ep, false, now);
        /* RFC 3550 6.3.1: randomise the interval over [0.5, 1.5]. */
        int64_t iv = (int64_t)e->cfg.rtcp_interval_ms * 1000000LL;
        ep->next_rtcp_ns =
            now + iv / 2 + (int64_t)(media_random(e) % 1000) * (iv / 1000);
    }
    if (ep->rec)
        media_rec_flush(e, ep->rec, now, false);
}

/* ---- commands ---- */

static void
inband_digit(void *ud, const char *digits, int len)
{
    media_endpoint *ep = ud;
    for (int i = 0; i < len; i++)
        emit_digit(ep->e, ep, digits[i], MEDIA_DTMF_INBAND, 0);
}

static void
unbridge(media_endpoint *ep)
{
    if (ep->partner) {
        ep->partner->partner = NULL;
        ep->partner = NULL;
    }
}

static void
add(media_engine *e, media_endpoint *ep)
{
    struct epoll_event ev = {.events = EPOLLIN};

    ev.data.u64 = (uint64_t)(uintptr_t)ep;
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, ep->fd, &ev) < 0)
        return;
    ev.data.u64 = (uint64_t)(uintptr_t)ep | TAG_RTCP;
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, ep->fd_rtcp, &ev) < 0) {
        epoll_ctl(e->epfd, EPOLL_CTL_DEL, ep->fd, NULL);
        return;
    }
    if (!e->cfg.no_inband_dtmf)
        ep->inband = dtmf_rx_init(NULL, inband_digit, ep);
    ep->added = true;
    ep->mnext = e->active;
    if (e->active)
        e->active->mprev = ep;
    e->active = ep;
}

void
media_ep_free_media(media_endpoint *ep)
{
    if (ep->inband) {
        dtmf_rx_free(ep->inband);
        ep->inband = NULL;
    }
    if (ep->dtx) {
        dtmf_tx_free(ep->dtx);
        ep->dtx = NULL;
    }
    free(ep->play_buf);
    ep->play_buf = NULL;
    ep->play_active = ep->play_loading = false;
}

void
media_ep_remove(media_engine *e, media_endpoint *ep)
{
    if (ep->removed)
        return;
    ep->removed = true;
    unbridge(ep);
    if (ep->added) {
        send_rtcp(e, ep, true, media_now_ns());
        epoll_ctl(e->epfd, EPOLL_CTL_DEL, ep->fd, NULL);
        epoll_ctl(e->epfd, EPOLL_CTL_DEL, ep->fd_rtcp, NULL);
        if (ep->mprev)
            ep->mprev->mnext = ep->mnext;
        else
            e->active = ep->mnext;
        if (ep->mnext)
            ep->mnext->mprev = ep->mprev;
        ep->mnext = ep->mprev = NULL;
    }
    if (ep->rec)
        media_rec_close(e, ep);
    media_ep_free_media(ep);
    ep->amd_on = false;
    ep->dt_active = false;
    if (ep->pending_disk == 0) {
        ep->release_next = e->releases;
        e->releases = ep;
    }
}

void
media_ep_command(media_engine *e, media_cmd *c)
{
    media_endpoint *ep = c->ep;
    int64_t now = media_now_ns();

    if (c->type == CMD_PLAY_LOADED) {
        ep->pending_disk--;
        if (ep->removed) {
            if (ep->pending_disk == 0) {
                ep->release_next = e->releases;
                e->releases = ep;
            }
            return;
        }
        media_play_loaded(e, ep, c);
        return;
    }
    if (ep->removed)
        return;
    switch (c->type) {
    case CMD_ADD:
        add(e, ep);
        break;
    case CMD_REMOTE:
        ep->rp = c->peer;
        ep->has_remote = true;
        ep->latched = ep->rtcp_latched = false;
        ep->last_rx_ns = now;
        ep->timeout_sent = false;
        if (!ep->next_rtcp_ns)
            ep->next_rtcp_ns =
                now + (int64_t)e->cfg.rtcp_interval_ms * 1000000LL;
        break;
    case CMD_REMOVE:
        media_ep_remove(e, ep);
        break;
    case CMD_BRIDGE:
        if (c->ep2->removed)
            break;
        unbridge(ep);
        unbridge(c->ep2);
        ep->partner = c->ep2;
        c->ep2->partner = ep;
        break;
    case CMD_UNBRIDGE:
        unbridge(ep);
        break;
    case CMD_PLAY:
        media_play_begin(e, ep, c);
        break;
    case CMD_PLAY_STOP:
        if ((ep->play_active || ep->play_loading) &&
            (c->id == 0 || c->id == ep->play_id))
            media_play_end(e, ep, MEDIA_PLAY_STOPPED, true);
        break;
    case CMD_DTMF:
        media_dtmf_begin(ep, c->str, c->id);
        break;
    case CMD_REC_START:
        media_rec_begin(e, ep, c->rec, now);
        c->rec = NULL;
        break;
    case CMD_REC_STOP:
        if (ep->rec && ep->rec->id == c->id)
            media_rec_close(e, ep);
        break;
    case CMD_REC_PAUSE:
    case CMD_REC_RESUME:
        if (ep->rec && ep->rec->id == c->id) {
            /* Flush what was recorded up to now under the old state. */
            media_rec_flush(e, ep->rec, now, true);
            ep->rec->paused = c->type == CMD_REC_PAUSE;
        }
        break;
    case CMD_AMD:
        media_amd_init(&ep->amd, &c->amd);
        ep->amd_on = true;
        ep->amd_last_ns = now;
        break;
    default:
        break;
    }
}
