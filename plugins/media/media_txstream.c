/* SPDX-License-Identifier: MIT */
/*
 * The outgoing RTP stream of an endpoint. Whatever feeds an endpoint - a
 * bridged partner, a prompt, DTMF, silence - is a source with its own
 * sequence and timestamp space; the endpoint sends one stream with its
 * own SSRC. Within a source, seq and ts differences pass through
 * unchanged (losses and reordering stay visible to the receiver); on a
 * source change the offsets are re-based so the receiver sees seq + 1, a
 * timestamp that advanced with the wall clock, and the marker bit - what
 * a jitter buffer needs to resynchronise without a glitch.
 */
#include "media_dsp.h"

void
media_tx_init(media_txstream *tx, uint32_t ssrc, uint16_t seq0, uint32_t ts0)
{
    *tx = (media_txstream){
        .ssrc = ssrc, .seq = (uint16_t)(seq0 - 1), .ts = ts0, .ts_end = ts0};
}

void
media_tx_map(media_txstream *tx, uint64_t src, uint16_t in_seq, uint32_t in_ts,
             bool in_marker, uint32_t samples, int64_t now_ns, uint16_t *seq,
             uint32_t *ts, bool *marker)
{
    bool switched = !tx->started || src != tx->src;

    if (switched) {
        uint32_t base = tx->ts_end;
        if (tx->started && now_ns > tx->last_ns) {
            /* Elapsed wall time in samples, from the last packet sent. */
            int64_t el = (now_ns - tx->last_ns) * MEDIA_RATE / 1000000000LL;
            uint32_t by_clock = tx->ts + (uint32_t)el;
            if ((int32_t)(by_clock - base) > 0)
                base = by_clock;
        }
        tx->off_seq = (uint16_t)(tx->seq + 1 - in_seq);
        tx->off_ts = base - in_ts;
        tx->src = src;
    }
    *seq = (uint16_t)(in_seq + tx->off_seq);
    *ts = in_ts + tx->off_ts;
    *marker = in_marker || switched;
    if (!tx->started || (int16_t)(*seq - tx->seq) > 0)
        tx->seq = *seq;
    if (!tx->started || (int32_t)(*ts - tx->ts) >= 0) {
        tx->ts = *ts;
        if ((int32_t)(*ts + samples - tx->ts_end) > 0)
            tx->ts_end = *ts + samples;
    }
    tx->started = true;
    tx->last_ns = now_ns;
    tx->packets++;
}
