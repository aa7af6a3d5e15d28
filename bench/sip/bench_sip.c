/* SPDX-License-Identifier: MIT */
/*
 * bench_sip: N bridged calls through the real sip.so, end to end with SIPp
 * on loopback: customer SIPp <-> Plateau <-> agent SIPp.
 *
 * For each N: SIPp plays N customers (each answers and streams looped
 * A-law audio with rtp_stream, 50 packets/s) on one port and N agents'
 * phones (each answers and echoes every RTP packet, -rtp_echo) on
 * another. Plateau (sip.so on the fake host, real clock, in this process)
 * calls N agents and N customers through two trunks as fast as it is
 * allowed, bridges each customer to an agent and records the call in
 * stereo, holds them all for --hold seconds, then hangs up. Printed:
 *   setup/s     calls bridged per second (first originate to last bridge)
 *   held        calls still up at the end of the hold (failed = N - held,
 *               plus SIPp's own failed calls)
 *   relayed/s   RTP packets relayed by Plateau per second (sum of the
 *               legs' rtp_relayed over the hold), and per call
 *   relay%      relayed / expected (50 packets/s over each leg's talk
 *               time): the audio that made it through
 *   fwd%        relayed / received by Plateau: its own losses (relay%
 *               below fwd% is what the SIPp generators did not send)
 *   CPU%        this process (Plateau's SIP, media and disk threads and
 *               the loop) over the hold, % of one core; per call
 *   RSS         resident memory at the end of the hold, growth per call
 * and the same figures for the baseline of the run (N = 1, and N calls
 * without recording with --norec), as ratios.
 *
 *   bench_sip [--calls 1,50,100,200] [--hold 60] [--norec]
 *
 * Exit status: 0; 1 when a run could not start; 3 when a recorded run
 * lost a call (held < N or a SIPp failure).
 *
 * Needs sipp (Debian's sip-tester) and sox; run from a RelWithDebInfo or
 * Release build: PLATEAU_PLUGIN_DIR points at sip.so, PLATEAU_SOURCE_DIR
 * at the source tree (the customer scenario is bench/sip/uas_stream.xml.in).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../tests/sip/sip_harness.h"

#define B_SIP_PORT 15060
#define B_CUST_PORT 15070
#define B_AGENT_PORT 15080
#define B_CUST_MEDIA 15100
#define B_AGENT_MEDIA 15200
#define B_RTP_MIN 20000
#define B_RTP_MAX 29999

typedef struct result {
    int calls;
    bool rec;
    double setup_s;   /* first originate to last bridge */
    int bridged;      /* calls bridged */
    int held;         /* calls still bridged at the end of the hold */
    int sipp_failed;  /* exit status of the SIPp processes */
    double relayed;   /* packets relayed during the calls (all legs) */
    double expected;  /* 50 packets/s over each leg's talk time */
    double rx;        /* packets the legs accepted from their parties */
    double hold_s;
    double cpu_s;     /* this process, over the hold */
    long rss_kib;     /* at the end of the hold */
    long rss0_kib;    /* before the calls */
} result;

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long
rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &v) == 1)
            break;
    fclose(f);
    return v;
}

static const char *
config(int calls)
{
    static char buf[2048];
    snprintf(buf, sizeof(buf),
             "bind_address: 127.0.0.1\n"
             "port: %d\n"
             "rtp_port_min: %d\n"
             "rtp_port_max: %d\n"
             "ring_timeout: 10s\n"
             "trunks:\n"
             "  - name: customers\n"
             "    host: 127.0.0.1\n"
             "    port: %d\n"
             "    caller_id: \"+33100000000\"\n"
             "    options_interval: 0s\n"
             "    max_channels: %d\n"
             "    cps: 0\n"
             "  - name: agents\n"
             "    host: 127.0.0.1\n"
             "    port: %d\n"
             "    caller_id: \"+33100000000\"\n"
             "    options_interval: 0s\n"
             "    max_channels: %d\n"
             "    cps: 0\n",
             B_SIP_PORT, B_RTP_MIN, B_RTP_MAX, B_CUST_PORT, calls + 10,
             B_AGENT_PORT, calls + 10);
    return buf;
}

static pid_t
sipp_uas(harness *h, const char *name, const char *scenario, int port,
         int media, int calls, bool echo, int hold_s)
{
    char sport[16], smedia[16], scalls[16], stimeout[16];
    snprintf(sport, sizeof(sport), "%d", port);
    snprintf(smedia, sizeof(smedia), "%d", media);
    snprintf(scalls, sizeof(scalls), "%d", calls);
    snprintf(stimeout, sizeof(stimeout), "%ds", hold_s + 120);
    const char *args[32] = {"-sf", scenario, "-i", "127.0.0.1", "-p", sport,
                            "-mi", "127.0.0.1", "-mp", smedia, "-m", scalls,
                            "-timeout", stimeout, "-timeout_error",
                            "-nostdin", "-max_socket", "4096", NULL};
    size_t n = 0;
    while (args[n])
        n++;
    if (echo)
        args[n++] = "-rtp_echo";
    args[n] = NULL;
    pid_t pid = h_sipp(h, name, args);
    if (pid > 0 && h_wait_bound(h, port, 5000) != 0)
        return -1;
    return pid;
}

static int
count_ended_by(harness *h, const char *by)
{
    int n = 0;
    size_t c = plt_fake_host_event_count(h->fh, "call.ended");
    for (size_t i = 0; i < c; i++) {
        const char *v =
            plt_fake_event_str(plt_fake_host_event_at(h->fh, "call.ended", i),
                               "hangup_by");
        if (v && strcmp(v, by) == 0)
            n++;
    }
    return n;
}

static int
run(int calls, bool rec, int hold, const char *tone, result *r)
{
    memset(r, 0, sizeof(*r));
    r->calls = calls;
    r->rec = rec;
    harness h;
    if (h_start(&h, config(calls)) != 0) {
        fprintf(stderr, "cannot start sip.so\n");
        return -1;
    }
    const char *kv[] = {"@TONE@", tone, NULL};
    char cust_sf[512];
    snprintf(cust_sf, sizeof(cust_sf), "%s",
             h_scenario_subst(&h, "bench/sip/uas_stream.xml", "b", kv));
    char agent_sf[512];
    snprintf(agent_sf, sizeof(agent_sf), "%s",
             h_scenario("uas_answer_wait.xml"));
    pid_t cust = sipp_uas(&h, "customers", cust_sf, B_CUST_PORT, B_CUST_MEDIA,
                          calls, false, hold);
    pid_t agent = sipp_uas(&h, "agents", agent_sf, B_AGENT_PORT,
                           B_AGENT_MEDIA, calls, true, hold);
    if (cust < 0 || agent < 0) {
        fprintf(stderr, "sipp did not start\n");
        h_cleanup(NULL);
        return -1;
    }
    r->rss0_kib = rss_kib();
    plt_leg **c = calloc((size_t)calls, sizeof(*c));
    plt_leg **a = calloc((size_t)calls, sizeof(*a));
    char(*cid)[32] = calloc((size_t)calls, 32);
    char(*aid)[32] = calloc((size_t)calls, 32);
    bool *bridged = calloc((size_t)calls, 1);
    if (!c || !a || !cid || !aid || !bridged)
        abort();
    double t0 = now_s();
    for (int i = 0; i < calls; i++) {
        plt_originate oa = {.size = sizeof(oa),
                            .destination = "+33200000000",
                            .trunk = "agents",
                            .role = PLT_LEG_AGENT};
        plt_originate oc = {.size = sizeof(oc),
                            .destination = "+33600000000",
                            .trunk = "customers"};
        if (h.tel.vt->originate(h.tel.impl, &oa, &a[i]) != 0 ||
            h.tel.vt->originate(h.tel.impl, &oc, &c[i]) != 0) {
            fprintf(stderr, "originate %d refused\n", i);
            abort();
        }
        snprintf(aid[i], 32, "%s", h_leg_id(&h, a[i]));
        snprintf(cid[i], 32, "%s", h_leg_id(&h, c[i]));
    }
    /* Bridge each pair once both are answered; record it. */
    int done = 0;
    double deadline = now_s() + 30 + calls * 0.2;
    while (done < calls && now_s() < deadline) {
        h_run(&h, 10);
        for (int i = 0; i < calls; i++) {
            if (bridged[i])
                continue;
            plt_leg_info ia = {.size = sizeof(ia)}, ic = {.size = sizeof(ic)};
            if (h.tel.vt->leg_info(h.tel.impl, a[i], &ia) != 0 ||
                h.tel.vt->leg_info(h.tel.impl, c[i], &ic) != 0)
                continue;
            if (ia.state == PLT_LEG_ENDED || ic.state == PLT_LEG_ENDED) {
                bridged[i] = true; /* failed: counted below */
                done++;
                continue;
            }
            if (ia.state != PLT_LEG_UP || ic.state != PLT_LEG_UP)
                continue;
            if (h.tel.vt->bridge(h.tel.impl, c[i], a[i]) == 0) {
                r->bridged++;
                if (rec) {
                    char path[600], rid[32];
                    snprintf(path, sizeof(path), "%s/call%d.wav", h.dir, i);
                    plt_call *call = h.tel.vt->leg_call(h.tel.impl, c[i]);
                    (void)h.tel.vt->record_start(h.tel.impl, call, path,
                                                 PLT_REC_STEREO, rid);
                }
            }
            bridged[i] = true;
            done++;
        }
    }
    r->setup_s = now_s() - t0;

    /* The hold: only the loop runs here. */
    double c0 = cpu_s(), w0 = now_s();
    while (now_s() - w0 < hold)
        h_run(&h, 100);
    r->hold_s = now_s() - w0;
    r->cpu_s = cpu_s() - c0;
    r->rss_kib = rss_kib();
    for (int i = 0; i < calls; i++) {
        plt_leg_info ic = {.size = sizeof(ic)};
        if (h.tel.vt->leg_info(h.tel.impl, c[i], &ic) == 0 &&
            ic.state == PLT_LEG_UP && ic.bridged_to)
            r->held++;
    }
    /* Early endings (RTP timeout, the party's BYE) show as ended by the
     * system or a party before we hang up. */
    int early = plt_fake_host_event_count(h.fh, "call.ended") > 0
                    ? count_ended_by(&h, "system") +
                          count_ended_by(&h, "customer")
                    : 0;
    for (int i = 0; i < calls; i++) {
        (void)h.tel.vt->hangup(h.tel.impl, c[i], 0, PLT_BY_AGENT);
        (void)h.tel.vt->hangup(h.tel.impl, a[i], 0, PLT_BY_AGENT);
    }
    /* Relayed packets: each customer leg's rtp_relayed is what it sent on
     * to its agent, each agent leg's what came back. */
    h_run(&h, 200);
    size_t ne = plt_fake_host_event_count(h.fh, "call.ended");
    for (size_t i = 0; i < ne; i++) {
        const plt_event *e = plt_fake_host_event_at(h.fh, "call.ended", i);
        r->relayed += (double)plt_fake_event_i64(e, "rtp_relayed", 0);
        r->expected += (double)plt_fake_event_i64(e, "talk_ms", 0) / 20.0;
        r->rx += (double)plt_fake_event_i64(e, "rtp_rx", 0);
    }
    int sc = h_sipp_wait(&h, cust, 30000);
    int sa = h_sipp_wait(&h, agent, 30000);
    r->sipp_failed = (sc != 0) + (sa != 0) + early;
    if (rec)
        (void)h_wait_event(&h, "call.recording_finished", NULL, NULL, 5000);
    for (int i = 0; i < calls; i++) {
        h.tel.vt->leg_unref(h.tel.impl, a[i]);
        h.tel.vt->leg_unref(h.tel.impl, c[i]);
    }
    free(a);
    free(c);
    free(aid);
    free(cid);
    free(bridged);
    if (r->sipp_failed)
        fprintf(stderr, "N=%d: sipp exit %d/%d, %d ended early (a failed "
                "SIPp's output is above)\n",
                calls, sc, sa, early);
    h_stop(&h);
    return 0;
}

static void
print_row(const result *r, const result *base)
{
    /* relayed/s: over the hold (a call talks for about the hold); relay%:
     * against 50 packets/s over every leg's talk time (each leg relays
     * what its party sends to the other leg). */
    double rps = r->relayed / r->hold_s;
    double relay_pct = r->expected > 0 ? 100.0 * r->relayed / r->expected : 0;
    /* fwd%: of what Plateau received, what it relayed (its own losses);
     * relay% below fwd% is what the SIPp generators did not send. */
    double fwd_pct = r->rx > 0 ? 100.0 * r->relayed / r->rx : 0;
    double cpu_pct = 100.0 * r->cpu_s / r->hold_s;
    double per_call = cpu_pct / r->calls;
    double kib_call = (double)(r->rss_kib - r->rss0_kib) / r->calls;
    printf("%5d %-4s %8.1f %6d/%-5d %6d %10.0f %8.1f %6.1f %6.1f %7.1f %8.3f "
           "%8ld %8.1f",
           r->calls, r->rec ? "rec" : "-", r->calls / r->setup_s, r->held,
           r->calls, r->sipp_failed, rps, rps / r->calls, relay_pct, fwd_pct,
           cpu_pct, per_call, r->rss_kib / 1024, kib_call);
    if (base && base != r) {
        double b_per_call = 100.0 * base->cpu_s / base->hold_s / base->calls;
        printf("   x%.2f CPU/call, x%.2f relay/s/call vs %s N=%d", per_call / b_per_call,
               (rps / r->calls) / (base->relayed / base->hold_s / base->calls),
               base->rec ? "rec" : "norec", base->calls);
    }
    printf("\n");
    fflush(stdout);
}

int
main(int argc, char **argv)
{
    const char *calls_list = "1,50,100,200";
    int hold = 60;
    bool norec = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
            calls_list = argv[++i];
        else if (strcmp(argv[i], "--hold") == 0 && i + 1 < argc)
            hold = atoi(argv[++i]);
        else if (strcmp(argv[i], "--norec") == 0)
            norec = true;
        else {
            fprintf(stderr,
                    "usage: bench_sip [--calls 1,50,100,200] [--hold 60] "
                    "[--norec]\n");
            return 2;
        }
    }
    /* 2 s of a 440 Hz tone, raw A-law, for rtp_stream to loop. */
    char tone[] = "/tmp/bench_sip_toneXXXXXX";
    int fd = mkstemp(tone);
    if (fd < 0)
        return 1;
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "sox -q -n -r 8000 -c 1 -e a-law -t raw %s synth 2 sine 440 "
             "vol 0.3",
             tone);
    if (system(cmd) != 0) {
        fprintf(stderr, "sox failed\n");
        unlink(tone);
        return 1;
    }
    printf("bench_sip: customer SIPp <-> Plateau <-> agent SIPp, RTP 20 ms "
           "A-law, hold %d s\n",
           hold);
    printf("%5s %-4s %8s %12s %6s %10s %8s %6s %6s %7s %8s %8s %8s\n",
           "calls", "rec", "setup/s", "held/N", "failed", "relayed/s",
           "per call", "relay%", "fwd%", "CPU%", "CPU%/call", "RSS MiB",
           "KiB/call");
    result base = {0}, r;
    bool have_base = false;
    int rc = 0, failed_runs = 0;
    for (const char *p = calls_list; *p;) {
        int n = atoi(p);
        if (n > 0) {
            if (norec) {
                result nr;
                if (run(n, false, hold, tone, &nr) == 0)
                    print_row(&nr, have_base ? &base : NULL);
                else
                    rc = 1;
            }
            if (run(n, true, hold, tone, &r) == 0) {
                if (r.held < r.calls || r.sipp_failed)
                    failed_runs++;
                if (!have_base) {
                    base = r;
                    have_base = true;
                }
                print_row(&r, &base);
            } else {
                rc = 1;
            }
        }
        const char *comma = strchr(p, ',');
        if (!comma)
            break;
        p = comma + 1;
    }
    unlink(tone);
    /* 3: some call was lost (the smoke test fails on it). */
    return rc ? rc : failed_runs ? 3 : 0;
}
