/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the RTP wire formats (plugins/media/rtp): whatever a
 * remote sends to an open media port. The first byte picks the parser:
 *   0: RTP - a parsed packet's payload lies inside the input, and
 *      building it again then parsing gives the same header and payload;
 *   1: RTCP compound - the return code is a documented one, a success
 *      saw at least one packet, and a report rebuilt from it parses back;
 *   2: a stream of telephone-events into the RFC 4733 receiver - every
 *      reported digit is one of 0-9 * # A-D, and one event is reported at
 *      most once;
 *   3: sequence/jitter statistics over a stream of (seq, ts, arrival).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
    if (cond)
        return;
    fprintf(stderr, "rtp_fuzzer: invariant broken: %s\n", what);
    abort();
}

static uint32_t
rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

static void
fuzz_rtp(const uint8_t *d, size_t n)
{
    /* A private copy, so that reads past the end are caught exactly. */
    uint8_t *buf = malloc(n ? n : 1);
    uint8_t out[RTP_MAX_PACKET + 64];
    rtp_packet p, q;

    if (!buf)
        return;
    memcpy(buf, d, n);
    int rc = rtp_parse(buf, n, &p);
    check(rc == 0 || (rc <= RTP_ESHORT && rc >= RTP_ERTCP), "rtp code");
    if (rc == 0) {
        check(p.payload >= buf + RTP_HEADER_LEN, "payload start");
        check(p.payload + p.payload_len <= buf + n, "payload end");
        check(p.pt < 128, "pt range");
        if (p.payload_len <= RTP_MAX_PACKET) {
            size_t m = rtp_build(out, sizeof(out), &p);
            check(m == RTP_HEADER_LEN + p.payload_len, "build length");
            check(rtp_parse(out, m, &q) == 0 || p.pt >= 72, "reparse");
            if (p.pt < 72 || p.pt > 76) {
                check(q.seq == p.seq && q.ts == p.ts && q.ssrc == p.ssrc &&
                          q.marker == p.marker && q.pt == p.pt,
                      "header roundtrip");
                check(q.payload_len == p.payload_len &&
                          memcmp(q.payload, p.payload, p.payload_len) == 0,
                      "payload roundtrip");
            }
        }
        rtp_dtmf ev;
        if (rtp_dtmf_parse(p.payload, p.payload_len, &ev) == 0)
            check(ev.volume < 64, "volume range");
    }
    free(buf);
}

static void
fuzz_rtcp(const uint8_t *d, size_t n)
{
    uint8_t *buf = malloc(n ? n : 1);
    uint8_t out[256];
    rtcp_info ri, back;

    if (!buf)
        return;
    memcpy(buf, d, n);
    int rc = rtcp_parse(buf, n, &ri);
    check(rc == 0 || (rc <= RTCP_ESHORT && rc >= RTCP_EFIRST), "rtcp code");
    if (rc == 0) {
        check(ri.packets >= 1, "packets");
        rtcp_sender sr = {ri.ntp, ri.rtp_ts, ri.sender_packets,
                          ri.sender_octets};
        size_t m = rtcp_build(out, sizeof(out), ri.ssrc, ri.has_sr ? &sr : NULL,
                              ri.has_block ? &ri.block : NULL, "fuzz", ri.bye);
        check(m > 0, "rebuild");
        check(rtcp_parse(out, m, &back) == 0, "reparse");
        check(back.ssrc == ri.ssrc && back.has_sr == ri.has_sr &&
                  back.has_block == ri.has_block && back.bye == ri.bye,
              "rtcp roundtrip");
        if (ri.has_block)
            check(back.block.cum_lost == ri.block.cum_lost &&
                      back.block.jitter == ri.block.jitter,
                  "block roundtrip");
    }
    free(buf);
}

static void
fuzz_dtmf(const uint8_t *d, size_t n)
{
    rtp_dtmf_rx rx = {0};
    uint64_t now = 0;
    uint32_t last_ts = 0;
    int reported_at_last = 0;

    for (size_t i = 0; i + 9 <= n; i += 9) {
        rtp_dtmf ev;
        uint16_t dur = 0;
        uint32_t ts = rd32(d + i);
        rtp_dtmf_parse(d + i + 4, 4, &ev);
        now += d[i + 8];
        char c = rtp_dtmf_rx_put(&rx, ts, &ev, now, &dur);
        if (!c)
            c = rtp_dtmf_rx_expire(&rx, now, 800, &dur);
        if (c) {
            check(strchr("0123456789*#ABCD", c) != NULL, "digit");
            check(!(reported_at_last && ts == last_ts), "reported twice");
            last_ts = ts;
            reported_at_last = 1;
        } else if (ts != last_ts) {
            reported_at_last = 0;
        }
    }
}

static void
fuzz_stats(const uint8_t *d, size_t n)
{
    rtp_rx_stats s = {0};
    for (size_t i = 0; i + 10 <= n; i += 10) {
        uint16_t seq = (uint16_t)((d[i] << 8) | d[i + 1]);
        rtp_rx_update(&s, 1, seq, rd32(d + i + 2), rd32(d + i + 6));
        (void)rtp_rx_lost(&s);
        (void)rtp_rx_jitter(&s);
        check(s.received > 0, "received");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] & 3) {
    case 0:
        fuzz_rtp(data + 1, size - 1);
        break;
    case 1:
        fuzz_rtcp(data + 1, size - 1);
        break;
    case 2:
        fuzz_dtmf(data + 1, size - 1);
        break;
    default:
        fuzz_stats(data + 1, size - 1);
        break;
    }
    return 0;
}
