/* SPDX-License-Identifier: MIT */
/**
 * @file media_dsp.h
 * The media engine's pure building blocks, each testable on its own with
 * made-up times: G.711 coding, the outgoing stream re-basing, the
 * absolute-deadline pacer, the recording timeline and the answering-
 * machine detector. No sockets, no threads, no clock reads.
 * Thread: any (each object belongs to one thread).
 */
#ifndef PLATEAU_MEDIA_DSP_H
#define PLATEAU_MEDIA_DSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media.h"

#define MEDIA_RATE 8000
#define MEDIA_FRAME 160 /* samples per 20 ms */
#define MEDIA_TICK_NS 20000000LL

/* ---- G.711 (spandsp's codec, tabulated) ---- */

/** Decode @p n bytes of PT 0 (mu-law) or 8 (A-law) to linear. */
void media_g711_decode(int pt, const uint8_t *in, size_t n, int16_t *out);
/** Encode @p n linear samples to PT 0 or 8. */
void media_g711_encode(int pt, const int16_t *in, size_t n, uint8_t *out);
/** Transcode between mu-law and A-law (@p from, @p to: 0 or 8; same PT
 *  copies). */
void media_g711_transcode(int from, int to, const uint8_t *in, size_t n,
                          uint8_t *out);

/* ---- outgoing stream: one SSRC/seq/ts space per endpoint ---- */

/** Source kinds, the high bits of a source key. */
#define MEDIA_SRC_RELAY (1ull << 32)
#define MEDIA_SRC_PLAY (2ull << 32)
#define MEDIA_SRC_DTMF (3ull << 32)
#define MEDIA_SRC_SILENCE (4ull << 32)

typedef struct media_txstream {
    uint32_t ssrc;
    uint16_t seq;    /**< last sent */
    uint32_t ts;     /**< last sent */
    uint32_t ts_end; /**< end of the media sent so far (ts + length) */
    int64_t last_ns; /**< when it was sent */
    bool started;
    uint64_t src; /**< key of the current source */
    uint16_t off_seq;
    uint32_t off_ts;
    uint32_t packets; /**< for RTCP SR */
    uint32_t octets;
} media_txstream;

void media_tx_init(media_txstream *tx, uint32_t ssrc, uint16_t seq0,
                   uint32_t ts0);

/**
 * Map a packet of source @p src (its own seq/ts/marker) into the stream.
 * On a source change the offsets are recomputed so that seq continues at
 * +1 and ts advances by the time elapsed since the last packet (never
 * less than the end of what was sent), and the marker is set. @p samples
 * is the packet's length in timestamp units (a telephone-event's duration
 * so far).
 */
void media_tx_map(media_txstream *tx, uint64_t src, uint16_t in_seq,
                  uint32_t in_ts, bool in_marker, uint32_t samples,
                  int64_t now_ns, uint16_t *seq, uint32_t *ts, bool *marker);

/* ---- pacing by absolute deadlines ---- */

typedef struct media_pacer {
    int64_t next_ns; /**< deadline of the next frame */
    int64_t period_ns;
    uint32_t max_burst; /**< frames sent back to back after a stall */
} media_pacer;

void media_pacer_start(media_pacer *p, int64_t now_ns, int64_t period_ns,
                       uint32_t max_burst);
/**
 * Frames due at @p now_ns. Each due frame advances the deadline by one
 * period (never "now + period": a late wake-up does not shift the grid).
 * After a stall longer than max_burst periods, *skipped receives the
 * frames beyond the burst, whose deadlines are dropped (the caller
 * advances its timestamps by them so the timeline keeps its length).
 */
uint32_t media_pacer_due(media_pacer *p, int64_t now_ns, uint32_t *skipped);

/* ---- recording timeline ---- */

/** Where a channel's audio goes on a recording's timeline: frames follow
 *  their RTP timestamps while they stay near the wall clock, and are
 *  re-anchored to it on a source change or a jump. */
typedef struct media_anchor {
    bool set;
    uint64_t src;
    uint32_t ts;
    int64_t pos;
} media_anchor;

/** The sample position of a packet (@p wall_pos: where the wall clock is
 *  on the timeline; @p tolerance: how far the RTP clock may drift). */
int64_t media_anchor_place(media_anchor *a, uint64_t src, uint32_t ts,
                           int64_t wall_pos, int64_t tolerance);

/* ---- answering-machine detection ---- */

typedef struct media_amd {
    plt_amd_params p;
    uint32_t total_ms;
    uint32_t silence_ms; /**< current run of silence */
    uint32_t voice_ms;   /**< all voice so far (the greeting) */
    uint32_t run_ms;     /**< current run of voice */
    uint32_t words;
    bool in_word;
    bool initial;   /**< nobody spoke yet */
    bool greeting;  /**< somebody spoke a word */
    int32_t result; /**< 0 while undecided */
    int32_t cause;
} media_amd;

/** Fill zero fields of @p p from @p defaults, then the built-in defaults
 *  (2500, 1500, 800, 5000, 100, 50, 3, 256). */
void media_amd_params_fill(plt_amd_params *p, const plt_amd_params *defaults);
void media_amd_init(media_amd *a, const plt_amd_params *p);
/**
 * Feed @p ms of audio whose mean absolute amplitude is @p level (0 for no
 * audio). @return the result once decided (media_amd_result), else 0.
 */
int media_amd_feed(media_amd *a, uint32_t ms, uint32_t level);
/** Mean absolute amplitude of @p n samples. */
uint32_t media_level(const int16_t *s, size_t n);

#endif
