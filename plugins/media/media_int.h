/* SPDX-License-Identifier: MIT */
/*
 * Internals of the media engine, shared by its files. Fields are grouped
 * by the one thread that may touch them: "loop" (the caller's thread),
 * "media" (the media thread), "disk" (the disk thread); "fixed" fields are
 * set at creation and only read afterwards, and counters are atomics any
 * thread may read.
 */
#ifndef PLATEAU_MEDIA_INT_H
#define PLATEAU_MEDIA_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include <sndfile.h>
#include <spandsp.h>

#include "media.h"
#include "media_dsp.h"
#include "rtp.h"

typedef struct media_counters {
    _Atomic uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, relayed,
        rx_bad, rx_foreign, rx_lost, rtcp_rx, rtcp_tx;
    _Atomic uint32_t jitter, remote_lost, remote_jitter;
} media_counters;

/** A recording (media thread while open, then the disk thread closes it
 *  and frees it). */
typedef struct media_rec {
    uint32_t id;
    int32_t mode;
    char *path;
    media_endpoint *ep; /* holds a loop reference until delivered */
    void *ep_ud;
    /* media */
    int64_t start_ns;
    int64_t flushed; /* samples handed to the disk thread */
    int16_t *ring;   /* 2 channels interleaved, cap frames */
    int64_t cap;
    bool paused;
    media_anchor anchor[2];
    /* disk */
    SNDFILE *sf;
    int err;
    uint64_t frames;
} media_rec;

typedef enum media_cmd_type {
    CMD_ADD = 1,
    CMD_REMOTE,
    CMD_REMOVE,
    CMD_BRIDGE,
    CMD_UNBRIDGE,
    CMD_PLAY,
    CMD_PLAY_STOP,
    CMD_PLAY_LOADED,
    CMD_DTMF,
    CMD_REC_START,
    CMD_REC_STOP,
    CMD_REC_PAUSE,
    CMD_REC_RESUME,
    CMD_AMD
} media_cmd_type;

typedef struct media_peer {
    struct sockaddr_storage rtp, rtcp;
    socklen_t len;
    int32_t pt, te_pt;
    uint32_t dir;
    int32_t latch;
    bool has_media; /* port != 0 */
    bool rtcp_mux;
} media_peer;

typedef struct media_cmd {
    struct media_cmd *next;
    int type;
    media_endpoint *ep, *ep2;
    uint32_t id, flags;
    int32_t mode;
    char *str; /* path or digits, owned */
    media_peer peer;
    plt_amd_params amd;
    int16_t *samples; /* PLAY_LOADED, owned */
    size_t nsamples;
    int err;
    media_rec *rec; /* REC_START, owned until handed over */
} media_cmd;

typedef enum media_job_type {
    JOB_LOAD = 1,
    JOB_REC_OPEN,
    JOB_REC_WRITE,
    JOB_REC_CLOSE
} media_job_type;

typedef struct media_job {
    struct media_job *next;
    int type;
    media_endpoint *ep; /* JOB_LOAD: target (kept alive by pending_disk) */
    uint32_t id;
    char *path;
    media_rec *rec;
    int16_t *buf; /* JOB_REC_WRITE: channels * frames */
    size_t frames;
} media_job;

typedef struct media_evitem {
    struct media_evitem *next;
    bool release; /* the media thread is done with ep */
    media_endpoint *ep;
    media_event ev;
    char *path; /* owned copy for ev.u.rec.path */
} media_evitem;

struct media_endpoint {
    media_engine *e;
    void *ud;
    /* loop */
    bool closed;
    /* Held by: the loop's handle until the media thread releases it, an
     * open recording until its finished event is delivered, and each
     * queued event. Taken by any thread, dropped on the loop. */
    atomic_int refs;
    uint32_t rec_id; /* the open recording's id, 0 if none */
    struct media_endpoint *lnext, *lprev;
    /* fixed */
    int fd, fd_rtcp;
    int family;
    char ip[64];
    uint16_t port;
    media_counters c;
    /* media */
    bool added, removed;
    unsigned pending_disk;
    struct media_endpoint *mnext, *mprev, *release_next;
    bool has_remote;
    media_peer rp;
    bool latched, rtcp_latched;
    struct sockaddr_storage peer, rtcp_peer;
    socklen_t peer_len, rtcp_peer_len;
    int64_t last_rx_ns;
    bool timeout_sent;
    media_endpoint *partner;
    media_txstream tx;
    rtp_rx_stats rxs;
    rtp_dtmf_rx drx;
    bool got_rfc4733;
    dtmf_rx_state_t *inband;
    /* playback */
    uint32_t play_id;
    bool play_loading, play_active, play_loop;
    int16_t *play_buf;
    size_t play_n, play_pos;
    uint16_t play_seq;
    uint32_t play_ts;
    /* DTMF out */
    bool dt_active;
    char dt_q[65];
    size_t dt_qpos, dt_qlen;
    uint32_t dt_dur; /* samples per digit */
    int dt_phase;    /* 0 next, 1 tone, 2 gap */
    uint32_t dt_elapsed, dt_gap, dt_event_ts, dt_gen_ts, dt_n;
    uint8_t dt_event;
    uint16_t dt_seq;
    dtmf_tx_state_t *dtx; /* in-band generation */
    /* idle silence */
    uint16_t sil_seq;
    uint32_t sil_ts;
    /* AMD */
    bool amd_on;
    media_amd amd;
    int64_t amd_last_ns; /* last audio fed (packet time or a tick) */
    /* recording */
    media_rec *rec;
    /* RTCP */
    int64_t next_rtcp_ns;
    uint32_t lsr;
    int64_t lsr_ns;
    uint32_t exp_prior, rcv_prior;
};

struct media_engine {
    media_engine_config cfg;
    uv_async_t *async;
    pthread_mutex_t lock; /* cmd and event queues */
    media_cmd *cmd_head, *cmd_tail;
    media_evitem *ev_head, *ev_tail;
    int efd, epfd, tfd;
    pthread_t media_th, disk_th;
    bool running, stopped; /* loop */
    atomic_bool stop_media;
    /* disk queue */
    pthread_mutex_t dlock;
    pthread_cond_t dcond;
    media_job *jhead, *jtail;
    bool disk_stop;
    /* loop */
    uint16_t next_port;
    uint32_t next_id;
    media_endpoint *eps;
    /* media */
    media_endpoint *active;
    media_endpoint *releases;
    media_pacer pacer;
    uint64_t rng;
    media_counters totals;
};

/* media_engine.c */
int64_t media_now_ns(void);
uint32_t media_random(media_engine *e);
void media_emit(media_engine *e, media_endpoint *ep, const media_event *ev,
                const char *path);
void media_emit_release(media_engine *e, media_endpoint *ep);
void media_cmd_push(media_engine *e, media_cmd *c);
void media_cmd_free(media_cmd *c);
void media_count(media_endpoint *ep, size_t field_offset, uint64_t n);
#define MEDIA_COUNT(ep, field, n)                                              \
    media_count((ep), offsetof(media_counters, field), (n))

/* media_endpoint.c */
int media_ep_bind(media_engine *e, const char *ip, media_endpoint *ep);
int media_ep_parse_remote(const media_remote *r, media_peer *out);
void media_ep_command(media_engine *e, media_cmd *c);
void media_ep_readable(media_engine *e, media_endpoint *ep, bool rtcp,
                       int64_t now);
void media_ep_tick(media_engine *e, media_endpoint *ep, uint32_t frames,
                   uint32_t skipped, int64_t now);
void media_ep_remove(media_engine *e, media_endpoint *ep);
void media_ep_free_media(media_endpoint *ep);
bool media_ep_can_send(const media_endpoint *ep);
void media_ep_send(media_engine *e, media_endpoint *ep, uint64_t src,
                   uint16_t seq, uint32_t ts, bool marker, int pt,
                   const uint8_t *payload, size_t len, uint32_t samples,
                   int64_t now);

/* media_gen.c: playback, DTMF out, silence */
void media_gen_frame(media_engine *e, media_endpoint *ep, int64_t now);
void media_gen_skip(media_endpoint *ep, uint32_t frames);
void media_play_begin(media_engine *e, media_endpoint *ep, media_cmd *c);
void media_play_loaded(media_engine *e, media_endpoint *ep, media_cmd *c);
void media_play_end(media_engine *e, media_endpoint *ep, int reason,
                    bool notify);
void media_dtmf_begin(media_endpoint *ep, const char *digits,
                      uint32_t duration_ms);
void media_dtmf_end(media_endpoint *ep);

/* media_record.c */
media_rec *media_rec_new(uint32_t id, const char *path, int32_t mode);
void media_rec_free(media_rec *r);
void media_rec_begin(media_engine *e, media_endpoint *ep, media_rec *r,
                     int64_t now);
void media_rec_put(media_rec *r, int ch, uint64_t src, uint32_t ts,
                   const int16_t *pcm, size_t n, int64_t now);
void media_rec_flush(media_engine *e, media_rec *r, int64_t now, bool all);
void media_rec_close(media_engine *e, media_endpoint *ep);

/* media_disk.c */
int media_disk_start(media_engine *e);
void media_disk_stop(media_engine *e);
void media_disk_push(media_engine *e, media_job *j);
void media_disk_run(media_engine *e, media_job *j);

#endif
