/* SPDX-License-Identifier: MIT */
/*
 * bench_media: the media engine relaying N bridged calls on loopback.
 * A "phones" thread plays both parties of every call: each phone sends a
 * 20 ms PCMU packet on absolute 20 ms deadlines to its leg's endpoint and
 * counts what comes back through the bridge. For each N it prints packets
 * relayed per second, loss, the media thread's CPU (per packet and per
 * call) and the memory per call; then the same traffic through a bare
 * UDP forwarder thread (recv, sendto, nothing else) as the baseline, and
 * the ratio of CPU per packet.
 *
 *   bench_media [--calls 50,100,200] [--seconds 5] [--transcode]
 *               [--record DIR]
 *
 * --transcode makes one leg of each call A-law; --record writes a stereo
 * recording of every call's first leg into DIR.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "media.h"
#include "rtp.h"

typedef struct phones {
    int n; /* 2 per call */
    int *fd;
    uint16_t *to; /* destination port of each phone */
    int seconds;
    atomic_bool stop;
    uint64_t sent, received;
} phones;

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
udp_open(uint16_t *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int big = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* Count the RTP that came back (RTCP reports addressed to port + 1 can
 * land on a neighbouring phone: not counted). */
static void
drain(phones *p, int i, uint8_t *buf, size_t cap)
{
    ssize_t n;
    while ((n = recv(p->fd[i], buf, cap, 0)) > 0)
        if (!rtp_is_rtcp(buf, (size_t)n))
            p->received++;
}

static void *
phones_main(void *arg)
{
    phones *p = arg;
    uint8_t pl[160], buf[1500];
    int ep = epoll_create1(0);
    struct epoll_event evs[256];
    int64_t next = now_ns(), end = next + (int64_t)p->seconds * 1000000000LL;
    uint16_t seq = 1;
    uint32_t ts = 0;

    memset(pl, 0x55, sizeof(pl));
    for (int i = 0; i < p->n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, p->fd[i], &ev);
    }
    while (now_ns() < end) {
        rtp_packet rp = {
            .pt = 0, .seq = seq++, .ts = ts, .payload = pl, .payload_len = 160};
        ts += 160;
        for (int i = 0; i < p->n; i++) {
            struct sockaddr_in a = {.sin_family = AF_INET,
                                    .sin_port = htons(p->to[i])};
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            rp.ssrc = (uint32_t)i + 1;
            size_t len = rtp_build(buf, sizeof(buf), &rp);
            if (sendto(p->fd[i], buf, len, 0, (struct sockaddr *)&a,
                       sizeof(a)) > 0)
                p->sent++;
        }
        next += 20000000LL;
        for (;;) {
            int64_t wait = (next - now_ns()) / 1000000LL;
            int k = epoll_wait(ep, evs, 256, wait > 0 ? (int)wait : 0);
            for (int j = 0; j < k; j++)
                drain(p, (int)evs[j].data.u32, buf, sizeof(buf));
            if (now_ns() >= next)
                break;
        }
    }
    /* Let the last packets through. */
    int64_t last = now_ns() + 500000000LL;
    while (now_ns() < last) {
        int k = epoll_wait(ep, evs, 256, 10);
        for (int j = 0; j < k; j++)
            drain(p, (int)evs[j].data.u32, buf, sizeof(buf));
    }
    close(ep);
    return NULL;
}

/* CPU seconds of this process's thread named @p name. */
static double
thread_cpu(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *de;
    double total = 0;
    long hz = sysconf(_SC_CLK_TCK);

    while (d && (de = readdir(d))) {
        char path[300], comm[64] = "", stat[1024];
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (!fgets(comm, sizeof(comm), f))
            comm[0] = 0;
        fclose(f);
        comm[strcspn(comm, "\n")] = 0;
        if (strcmp(comm, name) != 0)
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/stat", de->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(stat, 1, sizeof(stat) - 1, f);
        fclose(f);
        stat[n] = 0;
        char *p = strrchr(stat, ')');
        unsigned long ut = 0, st = 0;
        /* After ')': state, then fields 4..; utime is 14, stime 15. */
        if (p && sscanf(p + 2,
                        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                        "%lu %lu",
                        &ut, &st) == 2)
            total += (double)(ut + st) / (double)hz;
    }
    if (d)
        closedir(d);
    return total;
}

static long
rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static void
on_event(void *ud, const media_event *ev)
{
    (void)ud;
    (void)ev;
}

typedef struct run {
    double sent_s, relayed_s, loss, cpu_us_pkt, cpu_pct, cpu_pct_call, kib_call;
} run;

static void
tick_stop(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static int
run_engine(int calls, int seconds, bool transcode, const char *recdir, run *out)
{
    uv_loop_t loop;
    media_engine *e;
    int n = 2 * calls;
    phones p = {.n = n, .seconds = seconds};
    media_endpoint **eps = calloc((size_t)n, sizeof(*eps));
    p.fd = calloc((size_t)n, sizeof(int));
    p.to = calloc((size_t)n, sizeof(uint16_t));
    uint16_t *pport = calloc((size_t)n, sizeof(uint16_t));
    if (!eps || !p.fd || !p.to || !pport)
        return -ENOMEM;
    uv_loop_init(&loop);
    media_engine_config cfg = {.loop = &loop,
                               .on_event = on_event,
                               .port_min = 20000,
                               .port_max = 29999,
                               .rtp_timeout_ms = UINT32_MAX};
    if (media_engine_create(&cfg, &e) < 0 || media_engine_start(e) < 0)
        return -1;
    long rss0 = rss_kib();
    for (int i = 0; i < n; i++) {
        char ip[64];
        p.fd[i] = udp_open(&pport[i]);
        if (p.fd[i] < 0 ||
            media_endpoint_create(e, "127.0.0.1", NULL, &eps[i]) < 0)
            return -1;
        media_endpoint_local(eps[i], ip, &p.to[i]);
        media_remote r = {.ip = "127.0.0.1",
                          .port = pport[i],
                          .pt = transcode && (i % 2) ? MEDIA_PT_PCMA
                                                     : MEDIA_PT_PCMU,
                          .te_pt = 101};
        media_endpoint_set_remote(eps[i], &r);
    }
    for (int c = 0; c < calls; c++) {
        media_bridge(eps[2 * c], eps[2 * c + 1]);
        if (recdir) {
            char path[512];
            snprintf(path, sizeof(path), "%s/call-%d.wav", recdir, c);
            media_record_start(eps[2 * c], path, PLT_REC_STEREO, NULL);
        }
    }
    /* Let the media thread apply the remotes and bridges first. */
    uv_timer_t settle;
    uv_timer_init(&loop, &settle);
    uv_timer_start(&settle, tick_stop, 100, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&settle, NULL);
    double cpu0 = thread_cpu("plt-media") + thread_cpu("plt-media-disk");
    pthread_t th;
    int64_t t0 = now_ns();
    pthread_create(&th, NULL, phones_main, &p);
    uv_timer_t stop;
    uv_timer_init(&loop, &stop);
    uv_timer_start(&stop, tick_stop, (uint64_t)seconds * 1000 + 200, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    double wall = (double)(now_ns() - t0) / 1e9;
    double cpu = thread_cpu("plt-media") + thread_cpu("plt-media-disk") - cpu0;
    long rss1 = rss_kib();
    media_stats st;
    media_engine_stats(e, &st);
    if (getenv("BENCH_MEDIA_DEBUG"))
        fprintf(
            stderr,
            "sent %llu rx %llu relayed %llu tx %llu bad %llu foreign %llu "
            "lost %llu back %llu\n",
            (unsigned long long)p.sent, (unsigned long long)st.rx_packets,
            (unsigned long long)st.relayed, (unsigned long long)st.tx_packets,
            (unsigned long long)st.rx_bad, (unsigned long long)st.rx_foreign,
            (unsigned long long)st.rx_lost, (unsigned long long)p.received);
    out->sent_s = (double)p.sent / (double)seconds;
    out->relayed_s = (double)st.relayed / (double)seconds;
    out->loss =
        p.sent ? 100.0 * (double)(p.sent - p.received) / (double)p.sent : 0;
    out->cpu_us_pkt = st.relayed ? cpu * 1e6 / (double)st.relayed : 0;
    out->cpu_pct = 100.0 * cpu / wall;
    out->cpu_pct_call = out->cpu_pct / calls;
    out->kib_call = (double)(rss1 - rss0) / calls;
    uv_close((uv_handle_t *)&stop, NULL);
    media_engine_destroy(e);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    for (int i = 0; i < n; i++)
        close(p.fd[i]);
    free(eps);
    free(p.fd);
    free(p.to);
    free(pport);
    return 0;
}

/* ---- baseline: a bare forwarder ---- */

typedef struct fwd {
    int n;
    int *fd;
    uint16_t *peer; /* phone port to forward to */
    atomic_bool stop;
    uint64_t packets;
    double cpu;
} fwd;

static void *
fwd_main(void *arg)
{
    fwd *f = arg;
    int ep = epoll_create1(0);
    struct epoll_event evs[256];
    uint8_t buf[1500];
    struct timespec c0, c1;

    for (int i = 0; i < f->n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, f->fd[i], &ev);
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    while (!atomic_load(&f->stop)) {
        int k = epoll_wait(ep, evs, 256, 20);
        for (int j = 0; j < k; j++) {
            int i = (int)evs[j].data.u32;
            ssize_t len;
            while ((len = recv(f->fd[i], buf, sizeof(buf), 0)) > 0) {
                /* The partner leg's phone. */
                struct sockaddr_in a = {.sin_family = AF_INET,
                                        .sin_port = htons(f->peer[i ^ 1])};
                a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                sendto(f->fd[i ^ 1], buf, (size_t)len, 0, (struct sockaddr *)&a,
                       sizeof(a));
                f->packets++;
            }
        }
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    f->cpu = (double)(c1.tv_sec - c0.tv_sec) +
             (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
    close(ep);
    return NULL;
}

static int
run_baseline(int calls, int seconds, double *us_pkt)
{
    int n = 2 * calls;
    phones p = {.n = n, .seconds = seconds};
    fwd f = {.n = n};
    p.fd = calloc((size_t)n, sizeof(int));
    p.to = calloc((size_t)n, sizeof(uint16_t));
    f.fd = calloc((size_t)n, sizeof(int));
    f.peer = calloc((size_t)n, sizeof(uint16_t));
    if (!p.fd || !p.to || !f.fd || !f.peer)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        p.fd[i] = udp_open(&f.peer[i]);
        f.fd[i] = udp_open(&p.to[i]);
        if (p.fd[i] < 0 || f.fd[i] < 0)
            return -1;
    }
    pthread_t tp, tf;
    pthread_create(&tf, NULL, fwd_main, &f);
    pthread_create(&tp, NULL, phones_main, &p);
    pthread_join(tp, NULL);
    atomic_store(&f.stop, true);
    pthread_join(tf, NULL);
    *us_pkt = f.packets ? f.cpu * 1e6 / (double)f.packets : 0;
    for (int i = 0; i < n; i++) {
        close(p.fd[i]);
        close(f.fd[i]);
    }
    free(p.fd);
    free(p.to);
    free(f.fd);
    free(f.peer);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *calls_arg = "50,100,200", *recdir = NULL;
    int seconds = 5;
    bool transcode = false;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--calls") && i + 1 < argc)
            calls_arg = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--record") && i + 1 < argc)
            recdir = argv[++i];
        else if (!strcmp(argv[i], "--transcode"))
            transcode = true;
        else {
            fprintf(stderr,
                    "usage: bench_media [--calls 50,100,200] [--seconds 5] "
                    "[--transcode] [--record DIR]\n");
            return 2;
        }
    }
    if (seconds < 1)
        seconds = 1;
    printf("media engine relay, %d s per run, %s%s\n", seconds,
           transcode ? "PCMU<->PCMA transcoding" : "PCMU both legs",
           recdir ? ", stereo recording of every call" : "");
    printf("%6s %9s %10s %7s %10s %10s %10s %9s | %11s %6s\n", "calls",
           "sent/s", "relayed/s", "loss%", "media CPU%", "CPU%/call",
           "us/packet", "KiB/call", "bare us/pkt", "ratio");
    char *list = strdup(calls_arg), *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        int calls = atoi(tok);
        run r;
        double base = 0;
        if (calls < 1 ||
            run_engine(calls, seconds, transcode, recdir, &r) < 0 ||
            run_baseline(calls, seconds, &base) < 0) {
            fprintf(stderr, "bench_media: run with %s calls failed\n", tok);
            free(list);
            return 1;
        }
        printf("%6d %9.0f %10.0f %7.2f %10.1f %10.3f %10.2f %9.1f | %11.2f "
               "%6.2f\n",
               calls, r.sent_s, r.relayed_s, r.loss, r.cpu_pct, r.cpu_pct_call,
               r.cpu_us_pkt, r.kib_call, base,
               base > 0 ? r.cpu_us_pkt / base : 0);
        fflush(stdout);
    }
    free(list);
    return 0;
}
