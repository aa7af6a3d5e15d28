/* SPDX-License-Identifier: MIT */
/**
 * @file rtp.h
 * RTP (RFC 3550), RTCP SR/RR/SDES/BYE and telephone-events (RFC 4733):
 * parsing and building on caller buffers, receiver statistics (RFC 3550
 * A.1, A.3, A.8). Pure functions over bytes: no sockets, no allocation,
 * no clock. Parsers accept any input (they are fuzzed) and never read
 * past @p len.
 *
 * Thread: any (no shared state). Ownership: parsed views point into the
 * caller's buffer.
 */
#ifndef PLATEAU_RTP_H
#define PLATEAU_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RTP_HEADER_LEN 12
#define RTP_MAX_PACKET 1500

/** A parsed (or to-be-built) RTP packet. */
typedef struct rtp_packet {
    bool marker;
    uint8_t pt; /**< 0-127 */
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint8_t cc; /**< CSRC count (parse only; build writes none) */
    const uint8_t *payload;
    size_t payload_len; /**< after CSRCs, extension and padding */
} rtp_packet;

/** Errors of rtp_parse(). */
enum {
    RTP_ESHORT = -1,   /**< shorter than the fixed header */
    RTP_EVERSION = -2, /**< V != 2 */
    RTP_ECSRC = -3,    /**< CSRC list past the end */
    RTP_EEXT = -4,     /**< extension header past the end */
    RTP_EPAD = -5,     /**< padding count 0 or past the payload */
    RTP_ERTCP = -6     /**< PT 72-76 (RTCP 200-204 with the marker bit) */
};

/** Parse an RTP packet. @return 0 or an RTP_E* code. */
int rtp_parse(const uint8_t *buf, size_t len, rtp_packet *out);

/** True if @p buf looks like RTCP (V=2, packet type 200-204): the test
 *  for rtcp-mux demultiplexing (RFC 5761). */
bool rtp_is_rtcp(const uint8_t *buf, size_t len);

/** Write a 12-byte header and @p p->payload into @p buf.
 *  @return total length, or 0 if @p cap is too small. */
size_t rtp_build(uint8_t *buf, size_t cap, const rtp_packet *p);

/* ---- RFC 4733 telephone-events ---- */

typedef struct rtp_dtmf {
    uint8_t event; /**< 0-9, 10 '*', 11 '#', 12-15 A-D, others */
    bool end;
    uint8_t volume;    /**< 0-63, -dBm0 */
    uint16_t duration; /**< timestamp units */
} rtp_dtmf;

/** Parse the first 4-byte event block. @return 0 or -1 (short). */
int rtp_dtmf_parse(const uint8_t *payload, size_t len, rtp_dtmf *out);
/** Write a 4-byte event block. */
void rtp_dtmf_build(uint8_t out[4], const rtp_dtmf *ev);
/** '0'-'9','*','#','A'-'D' for events 0-15, else 0. */
char rtp_dtmf_digit(uint8_t event);
/** The event code of a digit (case-insensitive A-D), or -1. */
int rtp_dtmf_event(char digit);

/**
 * Receiving side of telephone-events: one event per RTP timestamp; the
 * end is repeated (usually three times) and some senders bump the
 * timestamp on the repeats. rtp_dtmf_rx_put() returns the digit once,
 * when its end is first seen; rtp_dtmf_rx_expire() returns an event that
 * never ended after @p timeout of silence (lost end packets).
 */
typedef struct rtp_dtmf_rx {
    bool open;     /**< an event is in progress */
    bool reported; /**< the event at ts was reported */
    bool have_last;
    uint32_t ts; /**< timestamp of the current/last event */
    uint8_t event;
    uint16_t duration;
    uint64_t last_ms; /**< time of the last packet of the open event */
} rtp_dtmf_rx;

/** Feed one telephone-event packet (its RTP timestamp, the time in ms).
 *  @return the digit to report now, or 0. *duration gets its length in
 *  timestamp units. */
char rtp_dtmf_rx_put(rtp_dtmf_rx *rx, uint32_t ts, const rtp_dtmf *ev,
                     uint64_t now_ms, uint16_t *duration);
/** @return the digit of an event open for @p timeout_ms without packets,
 *  or 0. */
char rtp_dtmf_rx_expire(rtp_dtmf_rx *rx, uint64_t now_ms, uint64_t timeout_ms,
                        uint16_t *duration);

/* ---- receiver statistics (RFC 3550 A.1, A.3, A.8) ---- */

typedef struct rtp_rx_stats {
    bool init;
    uint32_t ssrc;
    uint16_t max_seq;
    uint32_t cycles;
    uint32_t base_seq;
    uint32_t bad_seq;
    uint32_t probation;
    uint32_t received;
    uint32_t expected_prior;
    uint32_t received_prior;
    uint32_t transit;
    uint32_t jitter; /**< times 16 (A.8) */
    bool have_transit;
} rtp_rx_stats;

/** Account a packet (its seq, ts, and arrival time in timestamp units).
 *  A new SSRC restarts the statistics. @return false if the sequence
 *  number is out of window (the packet may still be used). */
bool rtp_rx_update(rtp_rx_stats *s, uint32_t ssrc, uint16_t seq, uint32_t ts,
                   uint32_t arrival);
/** Extended highest sequence number received. */
uint32_t rtp_rx_ext_max(const rtp_rx_stats *s);
/** Cumulative number of packets lost (expected - received, >= 0). */
uint32_t rtp_rx_lost(const rtp_rx_stats *s);
/** Jitter in timestamp units. */
uint32_t rtp_rx_jitter(const rtp_rx_stats *s);

/* ---- RTCP ---- */

typedef struct rtcp_block {
    uint32_t ssrc;
    uint8_t fraction_lost;
    int32_t cum_lost; /**< 24-bit signed */
    uint32_t ext_max_seq;
    uint32_t jitter;
    uint32_t lsr;
    uint32_t dlsr;
} rtcp_block;

typedef struct rtcp_info {
    unsigned packets; /**< RTCP packets in the compound */
    bool has_sr;
    uint32_t ssrc; /**< sender of the first SR/RR */
    uint64_t ntp;  /**< SR: NTP timestamp */
    uint32_t rtp_ts;
    uint32_t sender_packets;
    uint32_t sender_octets;
    bool has_block; /**< the first report block */
    rtcp_block block;
    bool bye;
} rtcp_info;

/** Errors of rtcp_parse(). */
enum {
    RTCP_ESHORT = -1,
    RTCP_EVERSION = -2,
    RTCP_ELENGTH = -3, /**< a length field past the end */
    RTCP_EFIRST = -4   /**< compound not starting with SR or RR */
};

/** Parse a compound RTCP packet. @return 0 or an RTCP_E* code. */
int rtcp_parse(const uint8_t *buf, size_t len, rtcp_info *out);

typedef struct rtcp_sender {
    uint64_t ntp;
    uint32_t rtp_ts;
    uint32_t packets;
    uint32_t octets;
} rtcp_sender;

/**
 * Build a compound packet: SR (if @p sr) or RR from @p ssrc, with one
 * report block (if @p block), an SDES CNAME @p cname, and a BYE if
 * @p bye. @return its length, or 0 if @p cap is too small.
 */
size_t rtcp_build(uint8_t *buf, size_t cap, uint32_t ssrc,
                  const rtcp_sender *sr, const rtcp_block *block,
                  const char *cname, bool bye);

/** The middle 32 bits of an NTP timestamp (LSR, RFC 3550 6.4.1). */
static inline uint32_t
rtcp_ntp_mid(uint64_t ntp)
{
    return (uint32_t)(ntp >> 16);
}

#ifdef __cplusplus
}
#endif
#endif
