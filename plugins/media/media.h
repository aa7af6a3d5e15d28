/* SPDX-License-Identifier: MIT */
/**
 * @file media.h
 * The media engine: RTP/RTCP endpoints for G.711 calls, relaying between
 * bridged legs, prompt and music playback, DTMF in and out, recording and
 * answering-machine detection. A static PIC library (plateau_media) linked
 * into the `sip` plugin; it is not a plugin and does not call the host.
 *
 * MODEL.
 *  - One engine per process. It owns one media thread (sockets, relay,
 *    pacing, detectors: epoll + an absolute CLOCK_MONOTONIC timerfd, one
 *    20 ms tick shared by every endpoint, overdue frames sent back to back
 *    after a stall) and one disk thread (prompt loading with libsndfile,
 *    recording writes). Nothing here blocks the loop thread.
 *  - One endpoint per call leg: an RTP port (even) and its RTCP port (+1)
 *    bound at creation on a given local address, from the configured port
 *    range. media_endpoint_local() gives what to put in the SDP. Once the
 *    remote SDP is known, media_endpoint_set_remote() gives its address,
 *    the audio payload type to send (PCMU 0 or PCMA 8; both are accepted
 *    on receive) and the telephone-event payload type (RFC 4733), if any.
 *  - Each endpoint sends with its own SSRC, random initial seq and ts.
 *    Whatever feeds it (a relayed partner, a prompt, DTMF, silence) is a
 *    "source"; when the source changes, seq continues at +1, ts jumps by
 *    the elapsed time (at least one frame) and the first packet carries the
 *    marker bit. Exactly one source owns the stream at a time, by priority:
 *    outgoing DTMF, then playback, then the bridge partner, then idle
 *    silence (if configured).
 *  - Symmetric RTP (RFC 4961) with latching: see media_latch below. After
 *    latching, packets from any other address are dropped and counted
 *    (stats.foreign), except that a source silent for relatch_ms may be
 *    replaced by a new one (a phone that changed its NAT binding).
 *  - bridge(a, b): each side's received packets are forwarded to the other
 *    at once (no jitter buffer), transcoded mu-law <-> A-law when the two
 *    send PTs differ, re-based into the receiving leg's SSRC/seq/ts space.
 *    RFC 4733 packets are forwarded with the payload type rewritten to the
 *    other leg's telephone-event PT; a leg that negotiated none hears the
 *    digit as in-band tones once the event ended. RTCP is never
 *    forwarded: each leg sends its own SR/RR every rtcp_interval_ms and a
 *    BYE when destroyed.
 *
 * EVENTS. The engine delivers results to the loop thread of cfg.loop: it
 * owns a uv_async_t on that loop and calls cfg.on_event there, one event
 * at a time, in the order the media thread produced them. The event and
 * everything it points to are valid only during the callback.
 *
 * Thread: every function here is loop-thread only (the thread running
 * cfg.loop), unless it says otherwise.
 * Ownership: the caller owns the engine and each endpoint it created and
 * releases them with the matching destroy; strings are copied.
 * Callbacks: a function that returns < 0 causes no event.
 */
#ifndef PLATEAU_MEDIA_H
#define PLATEAU_MEDIA_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "plateau/svc/telephony.h" /* plt_amd_params, plt_rec_mode */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct media_engine media_engine;
typedef struct media_endpoint media_endpoint;

/* Payload types. */
enum {
    MEDIA_PT_PCMU = 0,
    MEDIA_PT_PCMA = 8,
    MEDIA_PT_NONE = -1 /**< no telephone-event negotiated */
};

/** How an endpoint accepts its first packets (symmetric RTP). */
typedef enum media_latch {
    /** Default. Before latching, accept packets from the SDP address (any
     *  port); latch to the first one's address and port. */
    MEDIA_LATCH_SDP_HOST = 0,
    /** Accept the first packet from anywhere and latch to it ("comedia"):
     *  phones behind NAT whose SDP shows a private address. */
    MEDIA_LATCH_ANY = 1,
    /** No latching: accept only the exact SDP address and port. */
    MEDIA_LATCH_OFF = 2
} media_latch;

/** Media direction from the SDP (a=sendrecv...), as seen by Plateau. */
enum {
    MEDIA_DIR_SEND = 1u << 0, /**< we may send to the remote */
    MEDIA_DIR_RECV = 1u << 1, /**< we accept what the remote sends */
    MEDIA_DIR_SENDRECV = MEDIA_DIR_SEND | MEDIA_DIR_RECV
};

/** Play flags. */
enum {
    MEDIA_PLAY_LOOP = 1u << 0 /**< repeat until stopped (music on hold) */
};

/** Event types. */
typedef enum media_event_type {
    /** A digit was received. dtmf.digit is one of 0-9 * # A-D. */
    MEDIA_EV_DTMF = 1,
    /** A playback ended. play.reason: done | stopped | error. */
    MEDIA_EV_PLAY_FINISHED = 2,
    /** A recording was closed (stopped, or its endpoint was destroyed).
     *  Delivered even after media_endpoint_destroy() (ep is then NULL). */
    MEDIA_EV_RECORDING_FINISHED = 3,
    /** Answering-machine detection reached a result. */
    MEDIA_EV_AMD_RESULT = 4,
    /** No RTP received for cfg.rtp_timeout_ms (once, re-armed when
     *  packets arrive again). */
    MEDIA_EV_RTP_TIMEOUT = 5,
    /** The endpoint latched to a source (address in latched.addr). */
    MEDIA_EV_LATCHED = 6
} media_event_type;

typedef enum media_dtmf_method {
    MEDIA_DTMF_RFC4733 = 1,
    MEDIA_DTMF_INBAND = 2
} media_dtmf_method;

typedef enum media_play_reason {
    MEDIA_PLAY_DONE = 1,    /**< reached the end of the file */
    MEDIA_PLAY_STOPPED = 2, /**< media_play_stop(), or replaced by a new
                                 play on the same endpoint */
    MEDIA_PLAY_ERROR = 3    /**< missing/unreadable file, not 8 kHz mono,
                                 too long; the leg is not disturbed */
} media_play_reason;

typedef enum media_amd_result {
    MEDIA_AMD_HUMAN = 1,
    MEDIA_AMD_MACHINE = 2,
    MEDIA_AMD_NOT_SURE = 3
} media_amd_result;

/** Why the detector decided (for logs and tuning). */
typedef enum media_amd_cause {
    MEDIA_AMD_CAUSE_INITIAL_SILENCE = 1, /**< machine: nobody spoke first */
    MEDIA_AMD_CAUSE_LONG_GREETING = 2,   /**< machine: greeting too long */
    MEDIA_AMD_CAUSE_MAX_WORDS = 3,       /**< machine: too many words */
    MEDIA_AMD_CAUSE_AFTER_GREETING = 4,  /**< human: short greeting then
                                              silence */
    MEDIA_AMD_CAUSE_TOTAL_TIME = 5,      /**< not sure: analysis time over */
    MEDIA_AMD_CAUSE_STOPPED = 6          /**< not sure: endpoint destroyed
                                              or detection restarted */
} media_amd_cause;

/** One event (see media_event_type). */
typedef struct media_event {
    int32_t type;       /**< media_event_type */
    media_endpoint *ep; /**< NULL for a recording finished after its
                             endpoint was destroyed */
    void *ep_ud;        /**< the endpoint's user data, always set */
    union {
        struct {
            char digit;
            int32_t method;       /**< media_dtmf_method */
            uint32_t duration_ms; /**< 0 if unknown (in-band) */
        } dtmf;
        struct {
            uint32_t play_id;
            int32_t reason; /**< media_play_reason */
        } play;
        struct {
            uint32_t rec_id;
            const char *path;
            uint64_t duration_ms; /**< audio written (paused spans count) */
            int error;            /**< 0, or < 0 if the file could not be
                                       created or written (see errno text) */
        } rec;
        struct {
            int32_t result; /**< media_amd_result */
            int32_t cause;  /**< media_amd_cause */
            uint32_t words;
            uint32_t greeting_ms;
            uint32_t elapsed_ms;
        } amd;
        struct {
            uint32_t silent_ms;
        } timeout;
        struct {
            char addr[64]; /**< "ip:port" */
        } latched;
    } u;
} media_event;

typedef void (*media_event_fn)(void *ud, const media_event *ev);

/** Engine configuration. Zero fields take the defaults in brackets. */
typedef struct media_engine_config {
    uv_loop_t *loop;         /**< events are delivered on its thread */
    media_event_fn on_event; /**< required */
    void *ud;                /**< first argument of on_event */
    uint16_t port_min;       /**< RTP port range, even ports [16384] */
    uint16_t port_max;       /**< inclusive [32767] */
    uint32_t rtp_timeout_ms; /**< inactivity event [30000]; UINT32_MAX = off */
    uint32_t rtcp_interval_ms; /**< SR/RR period [5000] */
    uint32_t relatch_ms;       /**< silence of the latched source after which
                                    another source may take over [2000] */
    int tos;                   /**< IP TOS of RTP/RTCP [0xB8 = EF]; -1 = none */
    uint32_t max_prompt_s;     /**< longest file play() loads [600] */
    bool idle_silence;         /**< send silence to an answered endpoint that
                                    has no other source (peers that time out
                                    on missing RTP) [false] */
    bool no_inband_dtmf;       /**< disable in-band DTMF detection [false] */
    plt_amd_params amd;        /**< defaults for zero fields of amd_start():
                                    [2500, 1500, 800, 5000, 100, 50, 3, 256] */
} media_engine_config;

/** Counters of an endpoint (or the engine's totals). */
typedef struct media_stats {
    uint64_t rx_packets; /**< valid RTP accepted */
    uint64_t rx_bytes;   /**< their payload bytes */
    uint64_t tx_packets; /**< RTP sent (relayed, played, DTMF, silence) */
    uint64_t tx_bytes;
    uint64_t relayed;    /**< received here and sent to the partner */
    uint64_t rx_bad;     /**< malformed or unexpected PT, dropped */
    uint64_t rx_foreign; /**< from a source other than the latched one */
    uint64_t rx_lost;    /**< sequence gaps (RFC 3550 A.3) */
    uint64_t rtcp_rx;    /**< RTCP compound packets received */
    uint64_t rtcp_tx;
    uint32_t jitter;      /**< interarrival jitter, timestamp units */
    uint32_t remote_lost; /**< cumulative lost reported by the peer's RR */
    uint32_t remote_jitter;
} media_stats;

/* ---- engine ---- */

/**
 * Create an engine (threads not started). Copies @p cfg, opens its
 * uv_async_t on cfg->loop.
 * @return 0; -EINVAL (no loop/on_event, bad port range); -ENOMEM; or the
 *   negative errno of a failed eventfd/epoll/timerfd.
 */
int media_engine_create(const media_engine_config *cfg, media_engine **out);

/** Start the media and disk threads. -EALREADY if running. */
int media_engine_start(media_engine *e);

/**
 * Stop both threads and wait for them (bounded: the disk thread finishes
 * the write it is doing). Open recordings are closed first and their
 * MEDIA_EV_RECORDING_FINISHED events are delivered by this call, on this
 * thread; nothing else is delivered after it returns.
 */
void media_engine_stop(media_engine *e);

/**
 * Free the engine and any endpoint still open (their sockets are closed,
 * no event). Calls media_engine_stop() if needed. The uv_async_t is closed
 * with uv_close(); its memory is freed by the loop's next iteration.
 */
void media_engine_destroy(media_engine *e);

/** Totals over every endpoint, past and present. Thread: any. */
void media_engine_stats(const media_engine *e, media_stats *out);

/* ---- endpoints ---- */

/**
 * Bind an RTP/RTCP port pair on @p local_ip (numeric IPv4 or IPv6, e.g.
 * "127.0.0.1" or "0.0.0.0") from the configured range.
 * @p ud is passed back in every event of the endpoint.
 * @return 0; -EINVAL (bad address); -EADDRINUSE (range exhausted);
 *   -ENOMEM; -ESHUTDOWN (engine stopped).
 */
int media_endpoint_create(media_engine *e, const char *local_ip, void *ud,
                          media_endpoint **out);

/** The bound address and RTP port, for the SDP (c= and m=audio). The
 *  RTCP port is rtp_port + 1. Thread: any. */
void media_endpoint_local(const media_endpoint *ep, char ip[64],
                          uint16_t *rtp_port);

/** What the remote SDP said. */
typedef struct media_remote {
    const char *ip;     /**< numeric address from c= */
    uint16_t port;      /**< m=audio port; 0 = no media (on hold) */
    uint16_t rtcp_port; /**< a=rtcp: port, 0 = port + 1 */
    int32_t pt;         /**< audio PT to send: MEDIA_PT_PCMU or _PCMA */
    int32_t te_pt;      /**< telephone-event PT 96-127, or MEDIA_PT_NONE */
    uint32_t dir;       /**< MEDIA_DIR_* [0 = SENDRECV] */
    int32_t latch;      /**< media_latch */
    bool rtcp_mux;      /**< a=rtcp-mux agreed: RTCP on the RTP port
                             (RFC 5761); received RTCP is demultiplexed on
                             the RTP port either way */
} media_remote;

/**
 * Set or change (re-INVITE) the remote. Latching restarts. The endpoint
 * sends and receives from now on.
 * @return 0; -EINVAL (bad address, PT not 0/8, te_pt out of 96-127);
 *   -EAFNOSUPPORT (IPv4 remote on an IPv6 endpoint or the reverse).
 */
int media_endpoint_set_remote(media_endpoint *ep, const media_remote *r);

/**
 * Close the endpoint: its RTCP BYE is sent, its playback and detection
 * end without events, its recording is closed (RECORDING_FINISHED follows,
 * with ep NULL). No other event for @p ep is delivered after this returns;
 * its memory is freed later by the engine.
 */
void media_endpoint_destroy(media_endpoint *ep);

/** The endpoint's counters. Thread: any (values are read atomically). */
void media_endpoint_stats(const media_endpoint *ep, media_stats *out);

/* ---- bridging ---- */

/**
 * Relay audio and telephone-events between @p a and @p b both ways.
 * Bridging an already bridged endpoint first unbridges it (its old partner
 * then hears its other sources or nothing). -EINVAL if a == b.
 */
int media_bridge(media_endpoint *a, media_endpoint *b);

/** Stop relaying between @p ep and its partner (no-op if unbridged). */
int media_unbridge(media_endpoint *ep);

/* ---- playback ---- */

/**
 * Play an 8 kHz mono WAV (PCM16, mu-law or A-law; anything libsndfile
 * reads at 8 kHz mono) to @p ep, once or looped (MEDIA_PLAY_LOOP). While
 * it plays, it owns the endpoint's stream (a bridged partner is not heard
 * by this endpoint; the partner still hears it). A play replaces the one
 * in progress (which finishes with reason stopped). The file is read on
 * the disk thread; a file that cannot be played finishes with reason
 * error. Hold music is a looped play on an unbridged endpoint.
 * @p play_id receives the id used by the finished event and play_stop.
 * @return 0; -EINVAL; -ENOMEM.
 */
int media_play(media_endpoint *ep, const char *path, uint32_t flags,
               uint32_t *play_id);

/** Stop a play (0 = whatever plays). PLAY_FINISHED stopped follows if it
 *  was still playing. */
int media_play_stop(media_endpoint *ep, uint32_t play_id);

/* ---- DTMF ---- */

/**
 * Send digits ("0-9*#A-D", at most 64; ',' is a 500 ms pause) as RFC 4733
 * events if the remote negotiated telephone-event, else as in-band tones.
 * @p duration_ms per digit [100 if 0], 60 ms gap between digits. Sending
 * owns the stream (above playback). @return 0; -EINVAL (bad digit).
 */
int media_send_dtmf(media_endpoint *ep, const char *digits,
                    uint32_t duration_ms);

/* ---- recording ---- */

/**
 * Record @p ep's conversation to @p path (WAV PCM16 8 kHz, created or
 * truncated on the disk thread). PLT_REC_STEREO: left = what the remote of
 * @p ep says (the customer, when ep is the customer's leg), right = what
 * it hears (the bridged agent, prompts, music). PLT_REC_MIXED: one mono
 * track, both summed with saturation. Frames are placed by RTP timestamp,
 * gaps are silence. One recording per endpoint: -EBUSY otherwise.
 * @p rec_id receives the id for the calls below and the finished event.
 */
int media_record_start(media_endpoint *ep, const char *path, int32_t mode,
                       uint32_t *rec_id);
/** Close a recording; RECORDING_FINISHED follows. -ENOENT if unknown. */
int media_record_stop(media_engine *e, uint32_t rec_id);
/** Write silence instead of audio until resumed (duration keeps going). */
int media_record_pause(media_engine *e, uint32_t rec_id);
int media_record_resume(media_engine *e, uint32_t rec_id);

/* ---- answering-machine detection ---- */

/**
 * Start detection on what @p ep receives, from now. Zero fields of @p p
 * (or a NULL @p p) take the engine's defaults. One AMD_RESULT follows
 * (restarting replaces the running detection without a result).
 */
int media_amd_start(media_endpoint *ep, const plt_amd_params *p);

/** Names for logs and events: "rfc4733", "done", "human", "max_words"... */
const char *media_dtmf_method_name(int32_t m);
const char *media_play_reason_name(int32_t r);
const char *media_amd_result_name(int32_t r);
const char *media_amd_cause_name(int32_t c);

#ifdef __cplusplus
}
#endif
#endif
