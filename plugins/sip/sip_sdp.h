/* SPDX-License-Identifier: MIT */
/*
 * SDP as Plateau uses it: read a party's offer or answer (one audio
 * stream, G.711 and RFC 4733 telephone-events), choose the codec, and
 * write our own offer or answer. Pure functions on strings, so they can
 * run on any thread and be fuzzed (tests/fuzz/sdp_fuzzer.c).
 */
#ifndef PLATEAU_SIP_SDP_H
#define PLATEAU_SIP_SDP_H

#include <stddef.h>
#include <stdint.h>

/** Codecs Plateau speaks. */
enum { SIP_CODEC_PCMU = 0, SIP_CODEC_PCMA = 8 };

/** Direction of the stream, as the party declared it. */
enum {
    SIP_DIR_INACTIVE = 0,
    SIP_DIR_SENDONLY = 1,
    SIP_DIR_RECVONLY = 2,
    SIP_DIR_SENDRECV = 3
};

/** What Plateau keeps of a party's SDP. */
typedef struct sip_sdp_info {
    char addr[64];  /**< IPv4/IPv6 literal of the party's RTP */
    uint16_t port;  /**< its RTP port */
    int codec;      /**< SIP_CODEC_PCMU or SIP_CODEC_PCMA */
    int pt;         /**< the payload type the party uses for it */
    int te_pt;      /**< telephone-event payload type, or -1 */
    int dir;        /**< SIP_DIR_* */
    int ptime;      /**< ms, 20 when absent */
} sip_sdp_info;

/**
 * Parse @p len bytes of SDP and pick the first audio stream's address and
 * the first codec of the party's list that Plateau speaks (PCMU or PCMA).
 * @return 0; -EINVAL when it is not valid SDP, has no audio stream, no
 *   numeric connection address or a rejected (port 0) stream; -ENOTSUP
 *   when no offered codec is G.711 ("no common codec").
 * Thread: any. Ownership: nothing is kept.
 */
int sip_sdp_parse(const char *sdp, size_t len, sip_sdp_info *out);

/** What sip_sdp_write() needs. */
typedef struct sip_sdp_local {
    const char *addr; /**< our RTP address (IP literal) */
    uint16_t port;    /**< our RTP port */
    uint64_t sess_id; /**< o= session id */
    uint64_t version; /**< o= version, incremented on each change */
    /** NULL: an offer (PCMU, PCMA, telephone-event 101). Otherwise the
     *  answer to this parsed offer: its codec and, if it offered one, its
     *  telephone-event payload type. */
    const sip_sdp_info *answer_to;
} sip_sdp_local;

/**
 * Write our SDP into @p buf.
 * @return the length written (without the NUL); -ENOSPC when @p len is
 *   too small; -EINVAL for a bad address.
 * Thread: any.
 */
int sip_sdp_write(char *buf, size_t len, const sip_sdp_local *l);

#endif
