/* SPDX-License-Identifier: MIT */
/*
 * RTP and RTCP on the wire. Every field read is bounds-checked against the
 * datagram length: these functions see whatever a remote sends to an open
 * UDP port, and are fuzzed. Multi-byte fields are big-endian (network
 * order) and read byte by byte, so no alignment is assumed.
 */
#include "rtp.h"

#include <string.h>

static uint16_t
rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

static void
wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

bool
rtp_is_rtcp(const uint8_t *buf, size_t len)
{
    return len >= 8 && (buf[0] >> 6) == 2 && buf[1] >= 200 && buf[1] <= 204;
}

int
rtp_parse(const uint8_t *buf, size_t len, rtp_packet *out)
{
    size_t off, end;

    if (len < RTP_HEADER_LEN)
        return RTP_ESHORT;
    if ((buf[0] >> 6) != 2)
        return RTP_EVERSION;
    if (rtp_is_rtcp(buf, len))
        return RTP_ERTCP;
    out->cc = buf[0] & 0x0f;
    out->marker = (buf[1] & 0x80) != 0;
    out->pt = buf[1] & 0x7f;
    out->seq = rd16(buf + 2);
    out->ts = rd32(buf + 4);
    out->ssrc = rd32(buf + 8);
    off = RTP_HEADER_LEN + 4u * out->cc;
    if (off > len)
        return RTP_ECSRC;
    if (buf[0] & 0x10) {
        /* Extension: 16-bit profile, 16-bit length in 32-bit words. */
        if (off + 4 > len)
            return RTP_EEXT;
        size_t words = rd16(buf + off + 2);
        if (off + 4 + 4 * words > len)
            return RTP_EEXT;
        off += 4 + 4 * words;
    }
    end = len;
    if (buf[0] & 0x20) {
        uint8_t pad = buf[len - 1];
        if (pad == 0 || pad > end - off)
            return RTP_EPAD;
        end -= pad;
    }
    out->payload = buf + off;
    out->payload_len = end - off;
    return 0;
}

size_t
rtp_build(uint8_t *buf, size_t cap, const rtp_packet *p)
{
    size_t len = RTP_HEADER_LEN + p->payload_len;

    if (cap < len)
        return 0;
    buf[0] = 0x80;
    buf[1] = (uint8_t)((p->marker ? 0x80 : 0) | (p->pt & 0x7f));
    wr16(buf + 2, p->seq);
    wr32(buf + 4, p->ts);
    wr32(buf + 8, p->ssrc);
    if (p->payload_len)
        memmove(buf + RTP_HEADER_LEN, p->payload, p->payload_len);
    return len;
}

/* ---- RFC 4733 ---- */

static const char dtmf_digits[] = "0123456789*#ABCD";

int
rtp_dtmf_parse(const uint8_t *payload, size_t len, rtp_dtmf *out)
{
    if (len < 4)
        return -1;
    out->event = payload[0];
    out->end = (payload[1] & 0x80) != 0;
    out->volume = payload[1] & 0x3f;
    out->duration = rd16(payload + 2);
    return 0;
}

void
rtp_dtmf_build(uint8_t out[4], const rtp_dtmf *ev)
{
    out[0] = ev->event;
    out[1] = (uint8_t)((ev->end ? 0x80 : 0) | (ev->volume & 0x3f));
    wr16(out + 2, ev->duration);
}

char
rtp_dtmf_digit(uint8_t event)
{
    return event < 16 ? dtmf_digits[event] : 0;
}

int
rtp_dtmf_event(char digit)
{
    if (digit >= 'a' && digit <= 'd')
        digit = (char)(digit - 'a' + 'A');
    for (int i = 0; i < 16; i++)
        if (dtmf_digits[i] == digit)
            return i;
    return -1;
}

char
rtp_dtmf_rx_put(rtp_dtmf_rx *rx, uint32_t ts, const rtp_dtmf *ev,
                uint64_t now_ms, uint16_t *duration)
{
    /* A repeat of an end we already reported: the same timestamp, or a
     * sender that bumps the timestamp on each repeat of the end packet
     * (same event, ts within the event's duration + a few frames). */
    if (rx->have_last && rx->reported) {
        uint32_t d = ts - rx->ts;
        if (ts == rx->ts ||
            (ev->end && ev->event == rx->event && d <= 480u + rx->duration))
            return 0;
    }
    if (!rx->open || ts != rx->ts) {
        rx->open = true;
        rx->reported = false;
        rx->have_last = true;
        rx->ts = ts;
        rx->event = ev->event;
    }
    rx->duration = ev->duration;
    rx->last_ms = now_ms;
    if (!ev->end)
        return 0;
    rx->open = false;
    rx->reported = true;
    *duration = rx->duration;
    return rtp_dtmf_digit(rx->event);
}

char
rtp_dtmf_rx_expire(rtp_dtmf_rx *rx, uint64_t now_ms, uint64_t timeout_ms,
                   uint16_t *duration)
{
    if (!rx->open || now_ms - rx->last_ms < timeout_ms)
        return 0;
    rx->open = false;
    rx->reported = true;
    *duration = rx->duration;
    return rtp_dtmf_digit(rx->event);
}

/* ---- receiver statistics ---- */

#define SEQ_MOD (1u << 16)
#define MAX_DROPOUT 3000u
#define MAX_MISORDER 100u

static void
init_seq(rtp_rx_stats *s, uint16_t seq)
{
    s->base_seq = seq;
    s->max_seq = seq;
    s->bad_seq = SEQ_MOD + 1;
    s->cycles = 0;
    s->received = 0;
    s->received_prior = 0;
    s->expected_prior = 0;
}

bool
rtp_rx_update(rtp_rx_stats *s, uint32_t ssrc, uint16_t seq, uint32_t ts,
              uint32_t arrival)
{
    if (!s->init || s->ssrc != ssrc) {
        memset(s, 0, sizeof(*s));
        s->init = true;
        s->ssrc = ssrc;
        init_seq(s, seq);
    } else {
        uint16_t udelta = (uint16_t)(seq - s->max_seq);
        if (udelta < MAX_DROPOUT) {
            if (seq < s->max_seq)
                s->cycles += SEQ_MOD;
            s->max_seq = seq;
        } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
            /* A very large jump: accept it only if the next packet
             * follows it (the sender restarted). */
            if (seq == s->bad_seq) {
                init_seq(s, seq);
            } else {
                s->bad_seq = (seq + 1) & (SEQ_MOD - 1);
                return false;
            }
        }
        /* Else a duplicate or reordered packet: counted, no state. */
    }
    s->received++;

    uint32_t transit = arrival - ts;
    if (s->have_transit) {
        /* |D(i-1,i)| computed unsigned: INT32_MIN has no positive. */
        uint32_t d = transit - s->transit;
        if ((int32_t)d < 0)
            d = 0u - d;
        s->jitter += d - ((s->jitter + 8) >> 4);
    }
    s->transit = transit;
    s->have_transit = true;
    return true;
}

uint32_t
rtp_rx_ext_max(const rtp_rx_stats *s)
{
    return s->cycles + s->max_seq;
}

uint32_t
rtp_rx_lost(const rtp_rx_stats *s)
{
    if (!s->init)
        return 0;
    uint32_t expected = rtp_rx_ext_max(s) - s->base_seq + 1;
    return expected > s->received ? expected - s->received : 0;
}

uint32_t
rtp_rx_jitter(const rtp_rx_stats *s)
{
    return s->jitter >> 4;
}

/* ---- RTCP ---- */

static void
parse_block(const uint8_t *p, rtcp_block *b)
{
    b->ssrc = rd32(p);
    b->fraction_lost = p[4];
    uint32_t cl = ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 8) | p[7];
    b->cum_lost = (cl & 0x800000u) ? (int32_t)(cl | 0xff000000u) : (int32_t)cl;
    b->ext_max_seq = rd32(p + 8);
    b->jitter = rd32(p + 12);
    b->lsr = rd32(p + 16);
    b->dlsr = rd32(p + 20);
}

int
rtcp_parse(const uint8_t *buf, size_t len, rtcp_info *out)
{
    size_t off = 0;

    memset(out, 0, sizeof(*out));
    if (len < 8)
        return RTCP_ESHORT;
    while (off < len) {
        if (len - off < 4)
            return RTCP_ESHORT;
        const uint8_t *p = buf + off;
        if ((p[0] >> 6) != 2)
            return RTCP_EVERSION;
        unsigned count = p[0] & 0x1f;
        uint8_t pt = p[1];
        size_t plen = 4u * ((size_t)rd16(p + 2) + 1);
        if (plen > len - off)
            return RTCP_ELENGTH;
        if (out->packets == 0 && pt != 200 && pt != 201)
            return RTCP_EFIRST;
        if (pt == 200 || pt == 201) {
            size_t fixed = pt == 200 ? 28 : 8;
            if (plen < fixed || (plen - fixed) / 24 < count)
                return RTCP_ELENGTH;
            if (out->packets == 0) {
                out->ssrc = rd32(p + 4);
                if (pt == 200) {
                    out->has_sr = true;
                    out->ntp = ((uint64_t)rd32(p + 8) << 32) | rd32(p + 12);
                    out->rtp_ts = rd32(p + 16);
                    out->sender_packets = rd32(p + 20);
                    out->sender_octets = rd32(p + 24);
                }
                if (count > 0) {
                    out->has_block = true;
                    parse_block(p + fixed, &out->block);
                }
            }
        } else if (pt == 203) {
            out->bye = true;
        }
        out->packets++;
        off += plen;
    }
    return 0;
}

size_t
rtcp_build(uint8_t *buf, size_t cap, uint32_t ssrc, const rtcp_sender *sr,
           const rtcp_block *block, const char *cname, bool bye)
{
    size_t off = 0;
    size_t rlen = (sr ? 28 : 8) + (block ? 24 : 0);
    size_t clen = cname ? strlen(cname) : 0;
    if (clen > 255)
        clen = 255;
    /* SDES: header, SSRC, item (type, length, text), end item, padding. */
    size_t slen = (8 + 2 + clen + 1 + 3) & ~(size_t)3;
    size_t total = rlen + slen + (bye ? 8 : 0);

    if (cap < total)
        return 0;
    memset(buf, 0, total);
    buf[0] = (uint8_t)(0x80 | (block ? 1 : 0));
    buf[1] = sr ? 200 : 201;
    wr16(buf + 2, (uint16_t)(rlen / 4 - 1));
    wr32(buf + 4, ssrc);
    off = 8;
    if (sr) {
        wr32(buf + 8, (uint32_t)(sr->ntp >> 32));
        wr32(buf + 12, (uint32_t)sr->ntp);
        wr32(buf + 16, sr->rtp_ts);
        wr32(buf + 20, sr->packets);
        wr32(buf + 24, sr->octets);
        off = 28;
    }
    if (block) {
        uint8_t *b = buf + off;
        wr32(b, block->ssrc);
        b[4] = block->fraction_lost;
        uint32_t cl = (uint32_t)block->cum_lost & 0xffffffu;
        b[5] = (uint8_t)(cl >> 16);
        b[6] = (uint8_t)(cl >> 8);
        b[7] = (uint8_t)cl;
        wr32(b + 8, block->ext_max_seq);
        wr32(b + 12, block->jitter);
        wr32(b + 16, block->lsr);
        wr32(b + 20, block->dlsr);
        off += 24;
    }
    uint8_t *s = buf + off;
    s[0] = 0x81;
    s[1] = 202;
    wr16(s + 2, (uint16_t)(slen / 4 - 1));
    wr32(s + 4, ssrc);
    s[8] = 1; /* CNAME */
    s[9] = (uint8_t)clen;
    if (clen)
        memcpy(s + 10, cname, clen);
    off += slen;
    if (bye) {
        uint8_t *y = buf + off;
        y[0] = 0x81;
        y[1] = 203;
        wr16(y + 2, 1);
        wr32(y + 4, ssrc);
        off += 8;
    }
    return off;
}
