/* SPDX-License-Identifier: MIT */
/*
 * The media engine end to end on loopback: plain UDP sockets act as the
 * phones of two call legs and exchange RTP through the engine. Bridged
 * audio both ways with mu-law <-> A-law transcoding and re-based streams,
 * RFC 4733 relayed with its payload type rewritten and reported, in-band
 * digits detected, a foreign source ignored after latching, prompts paced
 * and finished (done, stopped, error without disturbing the leg), DTMF
 * sent both ways (events, tones), stereo and mixed recordings with sound
 * where it was spoken and silence elsewhere, AMD on received audio, the
 * RTP inactivity timeout and RTCP reports. Every wait is bounded.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <sndfile.h>
#include <spandsp.h>

#include "media.h"
#include "media_dsp.h"
#include "rtp.h"

#define MAXPKT 2000
#define MAXEV 64

typedef struct pkt {
    uint8_t b[512];
    size_t len;
    uint64_t at_ns;
} pkt;

typedef struct phone {
    int fd, rfd; /* RTP, RTCP */
    uint16_t port, rport;
    pkt *rx;
    size_t nrx;
    size_t nrtcp, nmux;
    rtcp_info last_rtcp;
    uint16_t seq;
    uint32_t ts, ssrc;
} phone;

typedef struct evcopy {
    media_event ev;
    char path[256];
} evcopy;

typedef struct h {
    uv_loop_t loop;
    media_engine *e;
    evcopy ev[MAXEV];
    int nev;
    phone *ph[4];
    int nph;
    char dir[64];
    bool destroy_on_rec; /* close the endpoint from its finished event */
} h;

static h *H;

static void
on_event(void *ud, const media_event *ev)
{
    h *x = ud;
    assert_true(x->nev < MAXEV);
    x->ev[x->nev].ev = *ev;
    if (ev->type == MEDIA_EV_RECORDING_FINISHED && ev->u.rec.path)
        snprintf(x->ev[x->nev].path, sizeof(x->ev[x->nev].path), "%s",
                 ev->u.rec.path);
    x->nev++;
    if (x->destroy_on_rec && ev->type == MEDIA_EV_RECORDING_FINISHED && ev->ep)
        media_endpoint_destroy(ev->ep);
}

static int
udp_open(uint16_t *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static phone *
phone_new(h *x)
{
    phone *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    p->rx = calloc(MAXPKT, sizeof(pkt));
    assert_non_null(p->rx);
    p->fd = udp_open(&p->port);
    p->rfd = udp_open(&p->rport);
    p->seq = 100;
    p->ts = 1000;
    p->ssrc = 0x1000u + (uint32_t)x->nph;
    x->ph[x->nph++] = p;
    return p;
}

static void
phone_free(phone *p)
{
    close(p->fd);
    close(p->rfd);
    free(p->rx);
    free(p);
}

static void
phone_sendto(phone *p, uint16_t port, const rtp_packet *rp)
{
    uint8_t buf[1500];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    size_t n = rtp_build(buf, sizeof(buf), rp);
    assert_true(n > 0);
    assert_int_equal(sendto(p->fd, buf, n, 0, (struct sockaddr *)&a, sizeof(a)),
                     (ssize_t)n);
}

/* Send one audio frame (160 bytes of @p payload) from the phone. */
static void
phone_audio(phone *p, uint16_t port, int pt, const uint8_t *payload,
            bool marker)
{
    rtp_packet rp = {.marker = marker,
                     .pt = (uint8_t)pt,
                     .seq = p->seq++,
                     .ts = p->ts,
                     .ssrc = p->ssrc,
                     .payload = payload,
                     .payload_len = MEDIA_FRAME};
    p->ts += MEDIA_FRAME;
    phone_sendto(p, port, &rp);
}

static void
drain(phone *p)
{
    pkt tmp;
    ssize_t n;
    while ((n = recv(p->fd, tmp.b, sizeof(tmp.b), 0)) >= 0) {
        /* RTCP on the RTP port: rtcp-mux, or some other process's RTCP
         * for "port + 1" landing here; counted apart. */
        if (rtp_is_rtcp(tmp.b, (size_t)n)) {
            if (rtcp_parse(tmp.b, (size_t)n, &p->last_rtcp) == 0)
                p->nmux++;
            continue;
        }
        if (p->nrx < MAXPKT) {
            memcpy(p->rx[p->nrx].b, tmp.b, (size_t)n);
            p->rx[p->nrx].len = (size_t)n;
            p->rx[p->nrx].at_ns = uv_hrtime();
            p->nrx++;
        }
    }
    while ((n = recv(p->rfd, tmp.b, sizeof(tmp.b), 0)) >= 0) {
        if (rtcp_parse(tmp.b, (size_t)n, &p->last_rtcp) == 0)
            p->nrtcp++;
    }
}

/* Run the loop and collect the phones' packets for @p ms. */
static void
pump(h *x, int ms)
{
    uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000u;
    do {
        struct pollfd pf[8];
        int n = 0;
        uv_run(&x->loop, UV_RUN_NOWAIT);
        for (int i = 0; i < x->nph; i++) {
            pf[n++] = (struct pollfd){.fd = x->ph[i]->fd, .events = POLLIN};
            pf[n++] = (struct pollfd){.fd = x->ph[i]->rfd, .events = POLLIN};
        }
        poll(pf, (nfds_t)n, 1);
        for (int i = 0; i < x->nph; i++)
            drain(x->ph[i]);
    } while (uv_hrtime() < end);
    uv_run(&x->loop, UV_RUN_NOWAIT);
}

/* Pump until an event of @p type arrived (returns it) or @p ms passed. */
static const media_event *
wait_event(h *x, int type, int ms)
{
    uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000u;
    for (;;) {
        for (int i = 0; i < x->nev; i++)
            if (x->ev[i].ev.type == type)
                return &x->ev[i].ev;
        if (uv_hrtime() >= end)
            return NULL;
        pump(x, 2);
    }
}

static void
wait_packets(h *x, phone *p, size_t n, int ms)
{
    uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000u;
    while (p->nrx < n && uv_hrtime() < end)
        pump(x, 2);
}

static int
count_events(h *x, int type)
{
    int n = 0;
    for (int i = 0; i < x->nev; i++)
        n += x->ev[i].ev.type == type;
    return n;
}

static int
setup(void **state)
{
    static uint16_t base = 42000;
    h *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    assert_int_equal(uv_loop_init(&x->loop), 0);
    media_engine_config cfg = {.loop = &x->loop,
                               .on_event = on_event,
                               .ud = x,
                               .port_min = base,
                               .port_max = (uint16_t)(base + 99),
                               .rtp_timeout_ms = 400,
                               .rtcp_interval_ms = 200,
                               .relatch_ms = 200};
    base = (uint16_t)(base + 100);
    assert_int_equal(media_engine_create(&cfg, &x->e), 0);
    assert_int_equal(media_engine_start(x->e), 0);
    snprintf(x->dir, sizeof(x->dir), "/tmp/plateau-media-XXXXXX");
    assert_non_null(mkdtemp(x->dir));
    H = x;
    *state = x;
    return 0;
}

static int
teardown(void **state)
{
    h *x = *state;
    char cmd[128];
    media_engine_destroy(x->e);
    uv_run(&x->loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&x->loop), 0);
    for (int i = 0; i < x->nph; i++)
        phone_free(x->ph[i]);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", x->dir);
    free(x);
    return 0;
}

static media_endpoint *
leg(h *x, phone *p, int pt, int te_pt, int latch)
{
    media_endpoint *ep;
    char ip[64];
    uint16_t port;
    assert_int_equal(media_endpoint_create(x->e, "127.0.0.1", p, &ep), 0);
    media_endpoint_local(ep, ip, &port);
    assert_string_equal(ip, "127.0.0.1");
    assert_int_equal(port % 2, 0);
    media_remote r = {.ip = "127.0.0.1",
                      .port = p->port,
                      .rtcp_port = p->rport,
                      .pt = pt,
                      .te_pt = te_pt,
                      .latch = latch};
    assert_int_equal(media_endpoint_set_remote(ep, &r), 0);
    return ep;
}

static uint16_t
port_of(media_endpoint *ep)
{
    char ip[64];
    uint16_t port;
    media_endpoint_local(ep, ip, &port);
    return port;
}

static void
tone(int16_t *pcm, size_t n, double hz, size_t phase0, int amp)
{
    for (size_t i = 0; i < n; i++)
        pcm[i] = (int16_t)(amp * sin(2 * M_PI * hz * (double)(phase0 + i) /
                                     MEDIA_RATE));
}

/* ---- bridge, transcoding, RFC 4733 ---- */

static void
check_stream(phone *p, size_t from, size_t n, int pt)
{
    rtp_packet first, q;
    assert_int_equal(rtp_parse(p->rx[from].b, p->rx[from].len, &first), 0);
    assert_true(first.marker);
    for (size_t i = from; i < from + n; i++) {
        assert_int_equal(rtp_parse(p->rx[i].b, p->rx[i].len, &q), 0);
        assert_int_equal(q.pt, pt);
        assert_int_equal(q.ssrc, first.ssrc);
        assert_int_equal(q.seq, (uint16_t)(first.seq + (i - from)));
        assert_int_equal(q.ts, first.ts + (uint32_t)(i - from) * MEDIA_FRAME);
        if (i > from)
            assert_false(q.marker);
    }
}

/* 50 frames of a tone from phone @p from (codec @p pt) into endpoint @p ep;
 * the bridged phone @p to gets them, transcoded to @p to_pt, as one
 * re-based stream. */
static void
speak_through(h *x, phone *from, media_endpoint *ep, int pt, phone *to,
              int to_pt, double hz)
{
    int16_t pcm[MEDIA_FRAME];
    uint8_t sent[50][MEDIA_FRAME];
    size_t base = to->nrx;

    for (int i = 0; i < 50; i++) {
        tone(pcm, MEDIA_FRAME, hz, (size_t)i * MEDIA_FRAME, 8000);
        media_g711_encode(pt, pcm, MEDIA_FRAME, sent[i]);
        phone_audio(from, port_of(ep), pt, sent[i], i == 0);
        pump(x, 1);
    }
    wait_packets(x, to, base + 50, 2000);
    assert_int_equal(to->nrx, base + 50);
    check_stream(to, base, 50, to_pt);
    for (int i = 0; i < 50; i++) {
        uint8_t want[MEDIA_FRAME];
        media_g711_transcode(pt, to_pt, sent[i], MEDIA_FRAME, want);
        assert_memory_equal(to->rx[base + (size_t)i].b + 12, want, MEDIA_FRAME);
    }
}

static void
test_bridge_transcoding_both_ways(void **state)
{
    h *x = *state;
    phone *pa = phone_new(x), *pb = phone_new(x);
    media_endpoint *a = leg(x, pa, MEDIA_PT_PCMU, 101, MEDIA_LATCH_SDP_HOST);
    media_endpoint *b = leg(x, pb, MEDIA_PT_PCMA, 96, MEDIA_LATCH_SDP_HOST);
    assert_int_equal(media_bridge(a, b), 0);
    pump(x, 20);
    speak_through(x, pa, a, MEDIA_PT_PCMU, pb, MEDIA_PT_PCMA, 440);
    /* The other way. */
    speak_through(x, pb, b, MEDIA_PT_PCMA, pa, MEDIA_PT_PCMU, 1000);

    /* RFC 4733 '5' from A (PT 101): B gets it as PT 96, same payloads. */
    uint32_t ev_ts = pa->ts;
    for (int i = 0; i < 6; i++) {
        uint8_t pl[4];
        rtp_dtmf d = {.event = 5,
                      .end = i >= 3,
                      .volume = 10,
                      .duration = (uint16_t)(160 * (i < 3 ? i + 1 : 4))};
        rtp_dtmf_build(pl, &d);
        rtp_packet rp = {.marker = i == 0,
                         .pt = 101,
                         .seq = pa->seq++,
                         .ts = ev_ts,
                         .ssrc = pa->ssrc,
                         .payload = pl,
                         .payload_len = 4};
        phone_sendto(pa, port_of(a), &rp);
    }
    wait_packets(x, pb, 56, 2000);
    assert_int_equal(pb->nrx, 56);
    rtp_packet q, last_audio;
    assert_int_equal(rtp_parse(pb->rx[49].b, pb->rx[49].len, &last_audio), 0);
    for (int i = 0; i < 6; i++) {
        rtp_dtmf d;
        assert_int_equal(rtp_parse(pb->rx[50 + i].b, pb->rx[50 + i].len, &q),
                         0);
        assert_int_equal(q.pt, 96);
        assert_int_equal(q.seq, (uint16_t)(last_audio.seq + 1 + i));
        assert_int_equal(q.ts, last_audio.ts + MEDIA_FRAME);
        assert_int_equal(q.marker, i == 0);
        assert_int_equal(rtp_dtmf_parse(q.payload, q.payload_len, &d), 0);
        assert_int_equal(d.event, 5);
        assert_int_equal(d.end, i >= 3);
    }
    const media_event *ev = wait_event(x, MEDIA_EV_DTMF, 1000);
    assert_non_null(ev);
    assert_ptr_equal(ev->ep, a);
    assert_ptr_equal(ev->ep_ud, pa);
    assert_int_equal(ev->u.dtmf.digit, '5');
    assert_int_equal(ev->u.dtmf.method, MEDIA_DTMF_RFC4733);
    assert_int_equal(ev->u.dtmf.duration_ms, 80);
    pump(x, 30);
    assert_int_equal(count_events(x, MEDIA_EV_DTMF), 1);

    media_stats sa, sb, tot;
    media_endpoint_stats(a, &sa);
    media_endpoint_stats(b, &sb);
    assert_int_equal(sa.rx_packets, 56);
    assert_int_equal(sa.relayed, 56);
    assert_int_equal(sb.tx_packets, 56);
    assert_int_equal(sb.rx_packets, 50);
    assert_int_equal(sb.relayed, 50);
    assert_int_equal(sa.rx_lost, 0);
    media_engine_stats(x->e, &tot);
    assert_int_equal(tot.relayed, 106);

    /* Unbridged: nothing flows any more. */
    assert_int_equal(media_unbridge(a), 0);
    pump(x, 20);
    uint8_t frame[MEDIA_FRAME];
    memset(frame, 0x55, sizeof(frame));
    phone_audio(pa, port_of(a), MEDIA_PT_PCMU, frame, false);
    pump(x, 50);
    assert_int_equal(pb->nrx, 56);
    media_endpoint_destroy(a);
    media_endpoint_destroy(b);
}

/* ---- latching ---- */

static void
test_latching_ignores_foreign_source(void **state)
{
    h *x = *state;
    phone *pa = phone_new(x), *pb = phone_new(x), *pf = phone_new(x);
    media_endpoint *a =
        leg(x, pa, MEDIA_PT_PCMU, MEDIA_PT_NONE, MEDIA_LATCH_SDP_HOST);
    media_endpoint *b =
        leg(x, pb, MEDIA_PT_PCMU, MEDIA_PT_NONE, MEDIA_LATCH_SDP_HOST);
    uint8_t frame[MEDIA_FRAME];
    memset(frame, 0xff, sizeof(frame));

    assert_int_equal(media_bridge(a, b), 0);
    pump(x, 10);
    for (int i = 0; i < 5; i++)
        phone_audio(pa, port_of(a), MEDIA_PT_PCMU, frame, false);
    wait_packets(x, pb, 5, 1000);
    const media_event *ev = wait_event(x, MEDIA_EV_LATCHED, 500);
    assert_non_null(ev);
    char want[64];
    snprintf(want, sizeof(want), "127.0.0.1:%u", pa->port);
    assert_string_equal(ev->u.latched.addr, want);
    /* A foreign stream mid-call (same host, other port) is dropped. */
    pf->ssrc = 0xbad;
    for (int i = 0; i < 5; i++) {
        phone_audio(pf, port_of(a), MEDIA_PT_PCMU, frame, false);
        phone_audio(pa, port_of(a), MEDIA_PT_PCMU, frame, false);
    }
    wait_packets(x, pb, 10, 1000);
    pump(x, 30);
    assert_int_equal(pb->nrx, 10);
    media_stats s;
    media_endpoint_stats(a, &s);
    assert_int_equal(s.rx_foreign, 5);
    assert_int_equal(s.rx_packets, 10);
    /* Replies go to the latched source only. */
    phone_audio(pb, port_of(b), MEDIA_PT_PCMU, frame, false);
    wait_packets(x, pa, 1, 1000);
    assert_int_equal(pa->nrx, 1);
    assert_int_equal(pf->nrx, 0);
    /* The latched source falls silent past relatch_ms: a new one from the
     * SDP host takes over (a NAT rebinding). */
    pump(x, 300);
    phone_audio(pf, port_of(a), MEDIA_PT_PCMU, frame, false);
    wait_packets(x, pb, 11, 1000);
    assert_int_equal(pb->nrx, 11);
    int latched_a = 0;
    for (int i = 0; i < x->nev; i++)
        if (x->ev[i].ev.type == MEDIA_EV_LATCHED && x->ev[i].ev.ep == a)
            latched_a++;
    assert_int_equal(latched_a, 2); /* pa, then pf */
    /* A bad packet is counted, not relayed. */
    uint8_t junk[8] = {0x40, 0, 1, 2, 3, 4, 5, 6};
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons(port_of(a))};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint8_t big[20] = {0x8f, 0};
    assert_true(
        sendto(pf->fd, junk, 8, 0, (struct sockaddr *)&to, sizeof(to)) == 8);
    assert_true(
        sendto(pf->fd, big, 20, 0, (struct sockaddr *)&to, sizeof(to)) == 20);
    rtp_packet odd = {
        .pt = 18, .seq = 1, .ssrc = 1, .payload = frame, .payload_len = 20};
    phone_sendto(pf, port_of(a), &odd); /* G.729: not negotiated */
    pump(x, 50);
    media_endpoint_stats(a, &s);
    assert_int_equal(s.rx_bad, 3);
    assert_int_equal(pb->nrx, 11);
    media_endpoint_destroy(a);
    media_endpoint_destroy(b);
}

static void
test_latch_off_is_strict(void **state)
{
    h *x = *state;
    phone *pa = phone_new(x), *pf = phone_new(x);
    media_endpoint *a =
        leg(x, pa, MEDIA_PT_PCMU, MEDIA_PT_NONE, MEDIA_LATCH_OFF);
    uint8_t frame[MEDIA_FRAME] = {0};
    pump(x, 10);
    phone_audio(pf, port_of(a), MEDIA_PT_PCMU, frame, false);
    phone_audio(pa, port_of(a), MEDIA_PT_PCMU, frame, false);
    pump(x, 50);
    media_stats s;
    media_endpoint_stats(a, &s);
    assert_int_equal(s.rx_foreign, 1);
    assert_int_equal(s.rx_packets, 1);
    assert_int_equal(count_events(x, MEDIA_EV_LATCHED), 0);
    media_endpoint_destroy(a);
}

/* ---- in-band DTMF detection ---- */

static void
test_inband_dtmf_detected(void **state)
{
    h *x = *state;
    phone *pa = phone_new(x);
    media_endpoint *a =
        leg(x, pa, MEDIA_PT_PCMA, MEDIA_PT_NONE, MEDIA_LATCH_SDP_HOST);
    dtmf_tx_state_t *tx = dtmf_tx_init(NULL);
    int16_t pcm[MEDIA_FRAME];
    uint8_t out[MEDIA_FRAME];
    int n;

    pump(x, 10);
    dtmf_tx_put(tx, "147*", -1);
    while ((n = dtmf_tx(tx, pcm, MEDIA_FRAME)) > 0) {
        memset(pcm + n, 0, (size_t)(MEDIA_FRAME - n) * sizeof(int16_t));
        media_g711_encode(MEDIA_PT_PCMA, pcm, MEDIA_FRAME, out);
        phone_audio(pa, port_of(a), MEDIA_PT_PCMA, out, false);
        pump(x, 1);
    }
    memset(pcm, 0, sizeof(pcm));
    media_g711_encode(MEDIA_PT_PCMA, pcm, MEDIA_FRAME, out);
    for (int i = 0; i < 5; i++)
        phone_audio(pa, port_of(a), MEDIA_PT_PCMA, out, false);
    dtmf_tx_free(tx);
    uint64_t end = uv_hrtime() + 2000000000u;
    while (count_events(x, MEDIA_EV_DTMF) < 4 && uv_hrtime() < end)
        pump(x, 5);
    char got[8] = {0};
    int k = 0;
    for (int i = 0; i < x->nev && k < 7; i++)
        if (x->ev[i].ev.type == MEDIA_EV_DTMF) {
            assert_int_equal(x->ev[i].ev.u.dtmf.method, MEDIA_DTMF_INBAND);
            got[k++] = x->ev[i].ev.u.dtmf.digit;
        }
    assert_string_equal(got, "147*");
    media_endpoint_destroy(a);
}

/* ---- playback ---- */

static void
write_wav(const char *path, int frames, double hz, int format)
{
    SF_INFO info = {.samplerate = MEDIA_RATE,
                    .channels = 1,
                    .format = SF_FORMAT_WAV | format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    int16_t *pcm = calloc((size_t)frames * MEDIA_FRAME, sizeof(int16_t));
    assert_non_null(sf);
    assert_non_null(pcm);
    tone(pcm, (size_t)frames * MEDIA_FRAME, hz, 0, 10000);
    assert_int_equal(sf_writef_short(sf, pcm, frames * MEDIA_FRAME),
                     frames * MEDIA_FRAME);
    sf_close(sf);
    free(pcm);
}

static void
test_play_paced_and_finished(void **state)
{
    h *x = *state;
    phone *pa = phone_new(x), *pb = phone_new(x);
    media_endpoint *a =
        leg(x, pa, MEDIA_PT_PCMU, MEDIA_PT_NONE, MEDIA_LATCH_SDP_HOST);
    media_endpoint *b =
        leg(x, pb, MEDIA_PT_PCMU, MEDIA_PT_NONE, MEDIA_LATCH_SDP_HOST);
    char path[128];
    uint32_t id = 0;

    snprintf(path, sizeof(path), "%s/prompt.wav", x->dir);
    write_wav(path, 25, 1000, SF_FORMAT_ULAW);
    assert_int_equal(media_bridge(a, b), 0);
    assert_int_equal(media_play(a, path, 0, &id), 0);
    assert_true(id != 0);
    const media_event *ev = wait_event(x, MEDIA_EV_PLAY_FINISHED, 3000);
    assert_non_null(ev);
    assert_int_equal(ev->u.play.play_id, id);
    assert_int_equal(ev->u.play.reason, MEDIA_PLAY_DONE);
    pump(x, 20);
    assert_int_equal(pa->nrx, 25);
    check_stream(pa, 0, 25, MEDIA_PT_PCMU);
    /* Paced on 20 ms deadlines: 25 frames take ~480 ms, not a burst. */
    double span = (double)(pa->rx[24].at_ns - pa->rx[0].at_ns) / 1e6;
    assert_true(span > 400 && span < 700);
    /* The prompt's audio is the file's. */
    int16_t pcm[MEDIA_FRAME];
    media_g711_decode(MEDIA_PT_PCMU, pa->rx[3].b + 12, MEDIA_FRAME, pcm);
    assert_true(media_level(pcm, MEDIA_FRAME) > 4000);

    /* The partner is heard again after the prompt: a new source, so the
     * marker is set and seq continues. */
    uint8_t frame[MEDIA_FRAME];
    memset(frame, 0xff, sizeof(frame));
    phone_audio(pb, port_of(b), MEDIA_PT_PCMU, frame, false);
    wait_packets(x, pa, 26, 1000);
    rtp_packet q, prev;
    assert_int_equal(rtp_parse(pa->rx[24].b, pa->rx[24].len, &prev), 0);
    assert_int_equal(rtp_parse(pa->rx[25].b, pa->rx[25].len, &q), 0);
    assert_true(q.marker);
    assert_int_equal(q.seq, (uint16_t)(prev.seq + 1));
    assert_int_equal(q.ssrc, prev.ssrc);
    assert_true((int32_t)(q.ts - prev.ts) >= MEDIA_FRAME);

    /* A missing file: error, and the leg keeps relaying. */
    x->nev = 0;
    assert_int_equal(media_play(a, "/nonexistent/prompt.wav", 0, &id), 0);
    ev = wait_event(x, MEDIA_EV_PLAY_FINISHED, 2000);
    assert_non_null(ev);
    assert_int_equal(ev->u.play.reason, MEDIA_PLAY_ERROR);
    assert_int_equal(ev->u.play.play_id, id);
    phone_audio(pb, port_of(b), MEDIA_PT_PCMU, frame, false);
    wait_packets(x, pa, 27, 1000);
    assert_int_equal(pa->nrx, 27);
    /* Not 8 kHz: error too. */
    char bad[128];
    snprintf(bad, sizeof(bad), "%s/wide.wav", x->dir);
    SF_INFO info = {.samplerate = 16000,
                    .channels = 1,
                    .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open(bad, SFM_WRITE, &info);
    assert_non_null(sf);
    sf_writef_short(sf, pcm, MEDIA_FRAME);
    sf_close(sf);
    x->nev = 0;
    assert_int_equal(media_play(a, bad, 0, &id), 0);
    ev = wait_event(x, MEDIA_EV_PLAY_FINISHED, 2000);
    assert_non_null(ev);
    assert_int_equal(ev->u.play.reason, MEDIA_PLAY_ERROR);

    /* Looped music, stopped: it plays past its length, then "stopped". */
    x->nev = 0;
    size_t before = pa->nrx;
    assert_int_equal(media_play(a, path, MEDIA_PLAY_LOOP, &id), 0);
    wait_packets(x, pa, before + 30, 3000);
    assert_int_equal(count_events(x, MEDIA_EV_PLAY_FINISHED), 0);
    assert_int_equal(media_play_stop(a, id), 0);
    ev = wait_event(x, MEDIA_EV_PLAY_FINISHED, 1000);
    assert_non_null(ev);
    assert_int_equal(ev->u.play.reason, MEDIA_PLAY_STOPPED);
    pump(x, 60);
    size_t after = pa->nrx;
    pump(x, 100);
    assert_int_equal(pa->nrx, after);

    /* A play replaced by another: the first finishes "stopped". */
    x->nev = 0;
    uint32_t id1, id2;
    assert_int_equal(media_play(a, path, MEDIA_PLAY_LOOP, &id1), 0);
    pump(x, 100);
    assert_int_equal(media_play(a, path, 0, &id2), 0);
    wait_event(x, MEDIA_EV_PLAY_FINISHED, 1000);
    uint64_t end = uv_hrtime() + 2000000000u;
    while (count_events(x, MEDIA_EV_PLAY_FINISHED) < 2 && uv_hrtime() < end)
        pump(x, 5);
    assert_int_equal(x->ev[0].ev.u.play.play_id, id1);
    assert_int_equal(x->ev[0].ev.u.play.reason, MEDIA_PLAY_STOPPED);
    assert_int_equal(x->ev[1].ev.u.play.play_id, id2);
    assert_int_equal(x->ev[1].ev.u.play.reason, MEDIA_PLAY_DONE);

    /* Destroyed while playing: no event after destroy. */
    x->nev = 0;
    assert_int_equal(media_play(a, path, MEDIA_PLAY_LOOP, &id), 0);
    pump(x, 60);
    media_endpoint_destroy(a);
    pump(x, 100);
    assert_int_equal(count_events(x, MEDIA_EV_PLAY_FINISHED), 0);
    media_endpoint_destroy(b);
}

/* ---- DTMF out ---- */

static void
test_send_dtmf_rfc4733_and_inband(void **state)
{
    h *x = *state;
    phone *pa = phone_new(x), *pb = phone_new(x);
    media_endpoint *a = leg(x, pa, MEDIA_PT_PCMU, 101, MEDIA_LATCH_SDP_HOST);
    media_endpoint *b =
        leg(x, pb, MEDIA_PT_PCMA, MEDIA_PT_NONE, MEDIA_LATCH_SDP_HOST);

    assert_int_equal(media_send_dtmf(a, "1x", 0), -EINVAL);
    assert_int_equal(media_send_dtmf(a, "", 0), -EINVAL);
    assert_int_equal(media_send_dtmf(a, "1#", 100), 0);
    assert_int_equal(media_send_dtmf(b, "9D", 80), 0);
    pump(x, 700);
    /* A: RFC 4733 events. Per digit: same ts, marker on the first,
     * growing durations, then three end packets. */
    char digits[8] = {0};
    int nd = 0, ends = 0;
    uint32_t cur_ts = 0;
    uint16_t last_dur = 0;
    rtp_packet q;
    rtp_dtmf d;
    uint16_t seq0 = 0;
    for (size_t i = 0; i < pa->nrx; i++) {
        assert_int_equal(rtp_parse(pa->rx[i].b, pa->rx[i].len, &q), 0);
        assert_int_equal(q.pt, 101);
        if (i == 0)
            seq0 = q.seq;
        assert_int_equal(q.seq, (uint16_t)(seq0 + i));
        assert_int_equal(rtp_dtmf_parse(q.payload, q.payload_len, &d), 0);
        if (nd == 0 || q.ts != cur_ts) {
            assert_true(nd == 0 || ends == 3);
            assert_true(q.marker);
            digits[nd++] = rtp_dtmf_digit(d.event);
            cur_ts = q.ts;
            ends = 0;
            last_dur = 0;
        } else {
            assert_false(q.marker);
        }
        assert_true(d.duration >= last_dur);
        last_dur = d.duration;
        if (d.end) {
            ends++;
            assert_int_equal(d.duration, 800);
        }
    }
    assert_string_equal(digits, "1#");
    assert_int_equal(ends, 3);
    /* B: no telephone-event negotiated, so tones; spandsp hears them. */
    dtmf_rx_state_t *rx = dtmf_rx_init(NULL, NULL, NULL);
    for (size_t i = 0; i < pb->nrx; i++) {
        int16_t pcm[MEDIA_FRAME];
        assert_int_equal(rtp_parse(pb->rx[i].b, pb->rx[i].len, &q), 0);
        assert_int_equal(q.pt, MEDIA_PT_PCMA);
        media_g711_decode(MEDIA_PT_PCMA, q.payload, q.payload_len, pcm);
        dtmf_rx(rx, pcm, (int)q.payload_len);
    }
    char heard[8] = {0};
    dtmf_rx_get(rx, heard, 7);
    dtmf_rx_free(rx);
    assert_string_equal(heard, "9D");
    media_endpoint_destroy(a);
    media_endpoint_destroy(b);
}

static void
test_rfc4733_to_a_leg_without_events(void **state)
{
    h *x = *state;
    phone *pa = phone_new(x), *pb = phone_new(x);
    media_endpoint *a = leg(x, pa, MEDIA_PT_PCMU, 101, MEDIA_LATCH_SDP_HOST);
    media_endpoint *b =
        leg(x, pb, MEDIA_PT_PCMA, MEDIA_PT_NONE, MEDIA_LATCH_SDP_HOST);

    assert_int_equal(media_bridge(a, b), 0);
    pump(x, 20);
    /* '7' as RFC 4733 from A, 120 ms: B negotiated no telephone-event. */
    for (int i = 0; i < 9; i++) {
        uint8_t pl[4];
        rtp_dtmf d = {.event = 7,
                      .end = i >= 6,
                      .volume = 10,
                      .duration = (uint16_t)(160 * (i < 6 ? i + 1 : 6))};
        rtp_dtmf_build(pl, &d);
        rtp_packet rp = {.marker = i == 0,
                         .pt = 101,
                         .seq = pa->seq++,
                         .ts = 8000,
                         .ssrc = pa->ssrc,
                         .payload = pl,
                         .payload_len = 4};
        phone_sendto(pa, port_of(a), &rp);
    }
    wait_packets(x, pb, 10, 2000);
    pump(x, 300);
    /* B got audio (no event packets), and the audio is the digit. */
    dtmf_rx_state_t *rx = dtmf_rx_init(NULL, NULL, NULL);
    rtp_packet q;
    int audio = 0;
    for (size_t i = 0; i < pb->nrx; i++) {
        int16_t pcm[MEDIA_FRAME];
        if (rtp_parse(pb->rx[i].b, pb->rx[i].len, &q) != 0 ||
            q.pt != MEDIA_PT_PCMA)
            continue;
        audio++;
        media_g711_decode(MEDIA_PT_PCMA, q.payload, q.payload_len, pcm);
        dtmf_rx(rx, pcm, (int)q.payload_len);
    }
    char heard[8] = {0};
    dtmf_rx_get(rx, heard, 7);
    dtmf_rx_free(rx);
    assert_int_equal(audio, (int)pb->nrx);
    assert_string_equal(heard, "7");
    media_endpoint_destroy(a);
    media_endpoint_destroy(b);
}

/* ---- recording ---- */

/* RMS of each 50 ms window of channel @p ch. */
static int
windows(const char *path, int want_channels, int ch, double *rms, int max)
{
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    assert_non_null(sf);
    assert_int_equal(info.samplerate, MEDIA_RATE);
    assert_int_equal(info.channels, want_channels);
    int16_t buf[400 * 2];
    int n = 0;
    while (n < max) {
        sf_count_t got = sf_readf_short(sf, buf, 400);
        if (got < 400)
            break;
        double s = 0;
        for (int i = 0; i < 400; i++) {
            double v = buf[i * want_channels + ch];
            s += v * v;
        }
        rms[n++] = sqrt(s / 400);
    }
    sf_close(sf);
    return n;
}

/* Send 0.4 s of tone from @p p, paced on 20 ms absolute deadlines. */
static void
talk(h *x, phone *p, uint16_t port, int frames, double hz)
{
    int16_t pcm[MEDIA_FRAME];
    uint8_t out[MEDIA_FRAME];
    uint64_t next = uv_hrtime();
    for (int i = 0; i < frames; i++) {
        tone(pcm, MEDIA_FRAME, hz, (size_t)i * MEDIA_FRAME, 8000);
        media_g711_encode(MEDIA_PT_PCMU, pcm, MEDIA_FRAME, out);
        phone_audio(p, port, MEDIA_PT_PCMU, out, i == 0);
        next += 20000000u;
        while (uv_hrtime() < next)
            pump(x, 1);
    }
}

static void
silence(h *x, phone *p, uint16_t port, int frames)
{
    uint8_t out[MEDIA_FRAME];
    uint64_t next = uv_hrtime();
    memset(out, 0xff, sizeof(out));
    for (int i = 0; i < frames; i++) {
        phone_audio(p, port, MEDIA_PT_PCMU, out, false);
        next += 20000000u;
        while (uv_hrtime() < next)
            pump(x, 1);
    }
}

static int
loud_from(const double *r, int n, int from)
{
    for (int i = from; i < n; i++)
        if (r[i] > 1000)
            return i;
    return -1;
}

static int
quiet_from(const double *r, int n, int from)
{
    for (int i = from; i < n; i++)
        if (r[i] < 100)
            return i;
    return -1;
}

static void
test_recording_stereo_and_mixed(void **state)
{
    h *x = *state;
    phone *pa = phone_new(x), *pb = phone_new(x);
    media_endpoint *a =
        leg(x, pa, MEDIA_PT_PCMU, MEDIA_PT_NONE, MEDIA_LATCH_SDP_HOST);
    media_endpoint *b =
        leg(x, pb, MEDIA_PT_PCMU, MEDIA_PT_NONE, MEDIA_LATCH_SDP_HOST);
    char st[128], mx[128];
    uint32_t rid, rid2;

    snprintf(st, sizeof(st), "%s/stereo.wav", x->dir);
    snprintf(mx, sizeof(mx), "%s/mixed.wav", x->dir);
    assert_int_equal(media_bridge(a, b), 0);
    assert_int_equal(media_record_start(a, st, PLT_REC_STEREO, &rid), 0);
    assert_int_equal(media_record_start(a, st, PLT_REC_STEREO, &rid2), -EBUSY);
    assert_int_equal(media_record_start(b, mx, PLT_REC_MIXED, &rid2), 0);
    uint64_t t0 = uv_hrtime();
    pump(x, 100);
    /* Customer (A) speaks 0.4 s, then the agent (B) 0.4 s, then a pause
     * of 0.2 s in which the recording is paused. */
    talk(x, pa, port_of(a), 20, 500);
    silence(x, pa, port_of(a), 5);
    talk(x, pb, port_of(b), 20, 800);
    assert_int_equal(media_record_pause(x->e, rid), 0);
    /* The pause is a command to the media thread: let it land (on a busy
     * machine that takes a while) before the customer speaks again. */
    silence(x, pa, port_of(a), 10);
    talk(x, pa, port_of(a), 10, 500);
    assert_int_equal(media_record_resume(x->e, rid), 0);
    pump(x, 200);
    assert_int_equal(media_record_stop(x->e, rid), 0);
    assert_int_equal(media_record_stop(x->e, rid2), 0);
    uint64_t wall_ms = (uv_hrtime() - t0) / 1000000u;
    uint64_t end = uv_hrtime() + 3000000000u;
    while (count_events(x, MEDIA_EV_RECORDING_FINISHED) < 2 &&
           uv_hrtime() < end)
        pump(x, 5);
    assert_int_equal(count_events(x, MEDIA_EV_RECORDING_FINISHED), 2);
    const media_event *ev = NULL;
    for (int i = 0; i < x->nev; i++)
        if (x->ev[i].ev.type == MEDIA_EV_RECORDING_FINISHED &&
            x->ev[i].ev.u.rec.rec_id == rid) {
            ev = &x->ev[i].ev;
            assert_string_equal(x->ev[i].path, st);
        }
    assert_non_null(ev);
    assert_int_equal(ev->u.rec.error, 0);
    assert_ptr_equal(ev->ep, a);
    /* The recording lasts as long as it was open (1.5 s when the test
     * runs on time), give or take the commands' trip to the media thread
     * (long on a loaded machine) and a tick. */
    assert_true(wall_ms >= 1500);
    printf("recording: %llu ms of audio, open for %llu ms\n",
           (unsigned long long)ev->u.rec.duration_ms,
           (unsigned long long)wall_ms);
    assert_true(ev->u.rec.duration_ms + 400 >= wall_ms &&
                ev->u.rec.duration_ms <= wall_ms + 400);
    assert_int_equal(media_record_stop(x->e, rid), -ENOENT);

    double l[64], r[64], m[64];
    int nl = windows(st, 2, 0, l, 64);
    int nr = windows(st, 2, 1, r, 64);
    int nm = windows(mx, 1, 0, m, 64);
    assert_true(nl >= 24 && nr == nl && nm >= 24);
    /* Left (customer): sound for ~0.4 s, then silence, while right
     * (what the customer hears: the agent) is silent; then the reverse. */
    int l0 = loud_from(l, nl, 0), l1 = quiet_from(l, nl, l0);
    assert_true(l0 >= 0 && l0 <= 4);
    assert_true(l1 - l0 >= 7 && l1 - l0 <= 9);
    int r0 = loud_from(r, nr, 0), r1 = quiet_from(r, nr, r0);
    assert_true(r0 >= l1 + 1);
    assert_true(r1 - r0 >= 7 && r1 - r0 <= 9);
    for (int i = l0; i < l1 - 1; i++)
        assert_true(r[i] < 100);
    for (int i = r0 + 1; i < r1 - 1; i++)
        assert_true(l[i] < 100);
    /* Paused while the customer spoke again: silence on both. */
    for (int i = r1 + 1; i < nl; i++) {
        assert_true(l[i] < 100);
        assert_true(r[i] < 100);
    }
    /* Mixed (B's recording: the agent and what the agent hears): both
     * parts are there. */
    int m0 = loud_from(m, nm, 0);
    assert_true(m0 >= 0);
    int loud = 0;
    for (int i = 0; i < nm; i++)
        loud += m[i] > 1000;
    assert_true(loud >= 15);

    /* A recording open when its endpoint goes: finished, ep NULL. */
    x->nev = 0;
    char last[128];
    snprintf(last, sizeof(last), "%s/cut.wav", x->dir);
    assert_int_equal(media_record_start(a, last, PLT_REC_MIXED, &rid), 0);
    talk(x, pa, port_of(a), 5, 500);
    media_endpoint_destroy(a);
    ev = wait_event(x, MEDIA_EV_RECORDING_FINISHED, 2000);
    assert_non_null(ev);
    assert_null(ev->ep);
    assert_ptr_equal(ev->ep_ud, pa);
    assert_int_equal(ev->u.rec.rec_id, rid);

    /* An unwritable path: finished with an error. */
    x->nev = 0;
    assert_int_equal(
        media_record_start(b, "/nonexistent/dir/x.wav", PLT_REC_MIXED, &rid),
        0);
    pump(x, 50);
    assert_int_equal(media_record_stop(x->e, rid), 0);
    ev = wait_event(x, MEDIA_EV_RECORDING_FINISHED, 2000);
    assert_non_null(ev);
    assert_true(ev->u.rec.error < 0);
    media_endpoint_destroy(b);
}

/* ---- AMD, timeout, RTCP ---- */

static void
test_amd_timeout_rtcp(void **state)
{
    h *x = *state;
    phone *pa = phone_new(x), *pt = phone_new(x);
    media_endpoint *a =
        leg(x, pa, MEDIA_PT_PCMU, MEDIA_PT_NONE, MEDIA_LATCH_SDP_HOST);
    media_endpoint *t =
        leg(x, pt, MEDIA_PT_PCMU, MEDIA_PT_NONE, MEDIA_LATCH_SDP_HOST);
    /* A third leg with rtcp-mux: its reports come on the RTP port. */
    phone *pm = phone_new(x);
    media_endpoint *m;
    assert_int_equal(media_endpoint_create(x->e, "127.0.0.1", pm, &m), 0);
    media_remote rm = {.ip = "127.0.0.1",
                       .port = pm->port,
                       .pt = MEDIA_PT_PCMU,
                       .te_pt = MEDIA_PT_NONE,
                       .rtcp_mux = true};
    assert_int_equal(media_endpoint_set_remote(m, &rm), 0);

    /* "Allo" (0.5 s) then silence: human. */
    assert_int_equal(media_amd_start(a, NULL), 0);
    pump(x, 10);
    talk(x, pa, port_of(a), 25, 300);
    silence(x, pa, port_of(a), 45);
    const media_event *ev = wait_event(x, MEDIA_EV_AMD_RESULT, 2000);
    assert_non_null(ev);
    assert_ptr_equal(ev->ep, a);
    assert_int_equal(ev->u.amd.result, MEDIA_AMD_HUMAN);
    assert_int_equal(ev->u.amd.cause, MEDIA_AMD_CAUSE_AFTER_GREETING);
    assert_true(ev->u.amd.greeting_ms >= 400 && ev->u.amd.greeting_ms <= 600);

    /* t and m never sent anything: their inactivity timeouts fired, once
     * each; a did not time out while it was talking. */
    ev = wait_event(x, MEDIA_EV_RTP_TIMEOUT, 1000);
    assert_non_null(ev);
    pump(x, 100);
    int to_t = 0, to_m = 0, to_a = 0;
    for (int i = 0; i < x->nev; i++) {
        const media_event *v = &x->ev[i].ev;
        if (v->type != MEDIA_EV_RTP_TIMEOUT)
            continue;
        assert_true(v->u.timeout.silent_ms >= 400);
        to_t += v->ep == t;
        to_m += v->ep == m;
        to_a += v->ep == a;
    }
    assert_int_equal(to_t, 1);
    assert_int_equal(to_m, 1);
    assert_int_equal(to_a, 0);

    /* RTCP: a's phone got reports with a's reception of its stream. */
    pump(x, 300);
    assert_true(pa->nrtcp >= 2);
    assert_true(pa->last_rtcp.has_block);
    assert_int_equal(pa->last_rtcp.block.ssrc, pa->ssrc);
    assert_int_equal(pa->last_rtcp.block.cum_lost, 0);
    assert_true(pt->nrtcp >= 1);
    assert_true(pm->nmux >= 1);
    assert_int_equal(pm->nrtcp, 0);
    media_endpoint_destroy(m);
    media_stats s;
    media_endpoint_stats(a, &s);
    assert_true(s.rtcp_tx >= 2);
    media_endpoint_destroy(a);
    media_endpoint_destroy(t);
    /* The BYE on teardown. */
    pump(x, 50);
    assert_true(pa->last_rtcp.bye);
}

static void
test_bad_arguments(void **state)
{
    h *x = *state;
    media_endpoint *ep;
    media_engine *e2;
    phone *pa = phone_new(x);

    assert_int_equal(media_endpoint_create(x->e, "not-an-ip", NULL, &ep),
                     -EINVAL);
    media_engine_config bad = {.loop = &x->loop,
                               .on_event = on_event,
                               .port_min = 500,
                               .port_max = 400};
    assert_int_equal(media_engine_create(&bad, &e2), -EINVAL);
    assert_int_equal(media_endpoint_create(x->e, "127.0.0.1", NULL, &ep), 0);
    media_remote r = {
        .ip = "127.0.0.1", .port = pa->port, .pt = 18, .te_pt = MEDIA_PT_NONE};
    assert_int_equal(media_endpoint_set_remote(ep, &r), -EINVAL);
    r.pt = 0;
    r.te_pt = 50;
    assert_int_equal(media_endpoint_set_remote(ep, &r), -EINVAL);
    r.te_pt = 101;
    r.ip = "example.com";
    assert_int_equal(media_endpoint_set_remote(ep, &r), -EINVAL);
    r.ip = "::1";
    assert_int_equal(media_endpoint_set_remote(ep, &r), -EAFNOSUPPORT);
    assert_int_equal(media_bridge(ep, ep), -EINVAL);
    assert_int_equal(media_record_start(ep, "/tmp/x.wav", 7, NULL), -EINVAL);
    assert_int_equal(media_play(ep, "", 0, NULL), -EINVAL);
    /* The port range runs out (50 pairs in this engine's range). */
    media_endpoint *eps[60];
    int n = 0, rc = 0;
    while (n < 60 &&
           (rc = media_endpoint_create(x->e, "127.0.0.1", NULL, &eps[n])) == 0)
        n++;
    assert_int_equal(rc, -EADDRINUSE);
    assert_true(n <= 49);
    for (int i = 0; i < n; i++)
        media_endpoint_destroy(eps[i]);
    media_endpoint_destroy(ep);
}

static void
test_stop_finishes_recordings(void **state)
{
    h *x = *state;
    phone *pa = phone_new(x);
    media_endpoint *a =
        leg(x, pa, MEDIA_PT_PCMU, MEDIA_PT_NONE, MEDIA_LATCH_SDP_HOST);
    char path[128];
    uint32_t rid, pid;

    snprintf(path, sizeof(path), "%s/stop.wav", x->dir);
    assert_int_equal(media_record_start(a, path, PLT_REC_STEREO, &rid), 0);
    assert_int_equal(media_amd_start(a, NULL), 0);
    talk(x, pa, port_of(a), 10, 400);
    /* A prompt still loading and a recording open when the engine stops:
     * the recording's event is delivered by stop itself, and the caller
     * may close the endpoint from it (as the sip plugin does). */
    assert_int_equal(media_play(a, path, MEDIA_PLAY_LOOP, &pid), 0);
    x->destroy_on_rec = true;
    media_engine_stop(x->e);
    assert_int_equal(count_events(x, MEDIA_EV_RECORDING_FINISHED), 1);
    const media_event *ev = wait_event(x, MEDIA_EV_RECORDING_FINISHED, 0);
    assert_int_equal(ev->u.rec.rec_id, rid);
    assert_int_equal(ev->u.rec.error, 0);
    assert_true(ev->u.rec.duration_ms > 0);
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    assert_non_null(sf);
    assert_int_equal(info.channels, 2);
    sf_close(sf);
    /* Stopped: nothing more is accepted. */
    media_endpoint *b;
    assert_int_equal(media_endpoint_create(x->e, "127.0.0.1", NULL, &b),
                     -ESHUTDOWN);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bridge_transcoding_both_ways,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_latching_ignores_foreign_source,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_latch_off_is_strict, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_inband_dtmf_detected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_play_paced_and_finished, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_send_dtmf_rfc4733_and_inband,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_rfc4733_to_a_leg_without_events,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_recording_stereo_and_mixed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_amd_timeout_rtcp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_finishes_recordings, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
