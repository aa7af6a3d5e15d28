/* SPDX-License-Identifier: MIT */
/*
 * The SIP integration tests' harness (see sip_harness.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sip_harness.h"

extern char **environ;

/* SIPp processes still running: a failed assertion skips a test's
 * waits, so the next test (and the exit) kills what was left. */
static pid_t g_pids[32];
static char g_logs[32][512]; /* each one's output file */
static plt_fake_host *g_fh;

static void
reap_all(void)
{
    for (size_t i = 0; i < 32; i++)
        if (g_pids[i] > 0) {
            kill(g_pids[i], SIGKILL);
            waitpid(g_pids[i], NULL, 0);
            g_pids[i] = 0;
        }
}

static void
track(pid_t pid, const char *log)
{
    static bool registered;
    if (!registered) {
        atexit(reap_all);
        registered = true;
    }
    for (size_t i = 0; i < 32; i++)
        if (log ? g_pids[i] == 0 : g_pids[i] == pid) {
            g_pids[i] = log ? pid : 0;
            if (log)
                snprintf(g_logs[i], sizeof(g_logs[i]), "%s", log);
            return;
        }
}

/* A SIPp that failed says why in its output (copied to stderr: the
 * scratch directory goes with the fake host). */
static void
dump_log(pid_t pid)
{
    for (size_t i = 0; i < 32; i++) {
        if (g_pids[i] != pid)
            continue;
        FILE *f = fopen(g_logs[i], "r");
        if (!f)
            return;
        char line[512];
        int n = 0;
        fprintf(stderr, "---- %s\n", g_logs[i]);
        while (fgets(line, sizeof(line), f) && n++ < 200)
            if (!strstr(line, "-----") && strspn(line, " \n") < strlen(line))
                fputs(line, stderr);
        fclose(f);
        return;
    }
}

const char *
h_config(const char *trunk_extra, const char *extra)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             "bind_address: 127.0.0.1\n"
             "port: %d\n"
             "rtp_port_min: %d\n"
             "rtp_port_max: %d\n"
             "claim_timeout: 1500ms\n"
             "ring_timeout: 5s\n"
             "trunks:\n"
             "  - name: carrier\n"
             "    host: 127.0.0.1\n"
             "    port: %d\n"
             "    caller_id: \"+33100000000\"\n"
             "%s"
             "%s"
             "routes:\n"
             "  - did: \"+33140000000\"\n"
             "extensions:\n"
             "  - extension: \"1001\"\n"
             "    password: secret1001\n"
             "%s",
             H_SIP_PORT, H_RTP_MIN, H_RTP_MAX, H_TRUNK_PORT,
             trunk_extra && strstr(trunk_extra, "options_interval")
                 ? ""
                 : "    options_interval: 0s\n",
             trunk_extra ? trunk_extra : "", extra ? extra : "");
    return buf;
}

int
h_start(harness *h, const char *config)
{
    memset(h, 0, sizeof(*h));
    plt_fake_options opt = {.real_clock = 1, .log_level = PLT_LOG_DEBUG};
    int rc = plt_fake_host_new(&h->fh, &opt);
    if (rc != 0)
        return rc;
    g_fh = h->fh;
    snprintf(h->dir, sizeof(h->dir), "%s", plt_fake_host_data_dir(h->fh));
    const char *pdir = getenv("PLATEAU_PLUGIN_DIR");
    char so[512];
    snprintf(so, sizeof(so), "%s/sip.so", pdir ? pdir : ".");
    if ((rc = plt_fake_host_add_so(h->fh, so, config, NULL)) != 0 ||
        (rc = plt_fake_host_init(h->fh)) != 0 ||
        (rc = plt_fake_host_start(h->fh)) != 0) {
        fprintf(stderr, "sip.so: %s\n", plt_fake_host_last_error(h->fh));
        return rc;
    }
    plt_service_ref ref;
    rc = plt_fake_host_acquire(h->fh, PLT_TELEPHONY_NAME, PLT_TELEPHONY_MAJOR,
                               0, &ref);
    if (rc == 0) {
        h->tel.vt = ref.vtable;
        h->tel.impl = ref.impl;
    }
    return rc;
}

int
h_stop(harness *h)
{
    int rc = plt_fake_host_stop(h->fh);
    if (rc != 0)
        fprintf(stderr, "stop: %d\n", rc);
    int rc2 = plt_fake_host_free(h->fh);
    h->fh = NULL;
    g_fh = NULL;
    return rc ? rc : rc2;
}

pid_t
h_sipp(harness *h, const char *name, const char *const *args)
{
    const char *argv[64];
    size_t n = 0;
    argv[n++] = "sipp";
    for (size_t i = 0; args[i] && n < 60; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char log[512];
    snprintf(log, sizeof(log), "%s/%s.log", h->dir, name);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    /* Not Plateau's sockets: SIPp would keep its SIP port bound. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    pid_t pid;
    int rc = posix_spawnp(&pid, "sipp", &fa, NULL, (char *const *)argv,
                          environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    track(pid, log);
    return pid;
}

int
h_slack(void)
{
    const char *s = getenv("PLATEAU_TEST_SLACK");
    int v = s ? atoi(s) : 0;
    return v >= 1 && v <= 100 ? v : H_SLACK_DEFAULT;
}

uint64_t
h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Run the loop (or sleep, before there is one) for about 20 ms. */
static void
step(harness *h)
{
    if (h->fh)
        plt_fake_host_run_for(h->fh, 20);
    else
        usleep(20 * 1000);
}

int
h_sipp_wait(harness *h, pid_t pid, int timeout_ms)
{
    uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms * (uint64_t)h_slack();
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            if (rc != 0)
                dump_log(pid);
            track(pid, NULL);
            return rc;
        }
        if (h_now_ms() > deadline)
            break;
        step(h);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    dump_log(pid);
    track(pid, NULL);
    fprintf(stderr, "sipp %d did not finish in %d ms (x%d)\n", (int)pid,
            timeout_ms, h_slack());
    return -1;
}

/* Whether a UDP socket is bound to 127.0.0.1:PORT or *:PORT (as
 * /proc/net/udp lists it: no probe socket that could race the owner). */
static bool
udp_bound(int port)
{
    FILE *f = fopen("/proc/net/udp", "r");
    if (!f)
        return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f)) {
        unsigned addr, p;
        if (sscanf(line, " %*d: %8x:%4x", &addr, &p) == 2 &&
            (int)p == port && (addr == 0 || addr == 0x0100007Fu))
            found = true;
    }
    fclose(f);
    return found;
}

int
h_wait_bound(harness *h, int port, int timeout_ms)
{
    uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms * (uint64_t)h_slack();
    while (!udp_bound(port)) {
        if (h_now_ms() > deadline) {
            fprintf(stderr, "nothing bound udp port %d within %d ms (x%d)\n",
                    port, timeout_ms, h_slack());
            return -1;
        }
        step(h);
    }
    return 0;
}

bool
h_wait_until(harness *h, bool (*cond)(void *), void *arg, int timeout_ms)
{
    uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms * (uint64_t)h_slack();
    while (!cond(arg)) {
        if (h_now_ms() > deadline)
            return false;
        step(h);
    }
    return true;
}

void
h_run(harness *h, int ms)
{
    plt_fake_host_run_for(h->fh, (uint64_t)ms);
}

static const plt_event *
find_event(harness *h, const char *topic, const char *key, const char *value)
{
    size_t n = plt_fake_host_event_count(h->fh, topic);
    for (size_t i = 0; i < n; i++) {
        const plt_event *ev = plt_fake_host_event_at(h->fh, topic, i);
        if (!key)
            return ev;
        const char *v = plt_fake_event_str(ev, key);
        if (v && strcmp(v, value) == 0)
            return ev;
    }
    return NULL;
}

const plt_event *
h_wait_event(harness *h, const char *topic, const char *key,
             const char *value, int timeout_ms)
{
    uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms * (uint64_t)h_slack();
    for (;;) {
        const plt_event *ev = find_event(h, topic, key, value);
        if (ev)
            return ev;
        if (h_now_ms() > deadline)
            break;
        plt_fake_host_run_for(h->fh, 20);
    }
    fprintf(stderr, "no %s with %s=%s within %d ms (x%d)\n", topic,
            key ? key : "-", value ? value : "-", timeout_ms, h_slack());
    return NULL;
}

const char *
h_scenario(const char *name)
{
    static char path[4][512];
    static int i;
    const char *src = getenv("PLATEAU_SOURCE_DIR");
    i = (i + 1) % 4;
    /* "dir/name": relative to the source tree (bench/sip/...). */
    snprintf(path[i], sizeof(path[i]), "%s/%s%s", src ? src : ".",
             strchr(name, '/') ? "" : "tests/sip/", name);
    return path[i];
}

static char *
replace_all(const char *s, const char *pat, const char *with)
{
    size_t pl = strlen(pat), wl = strlen(with), n = 0;
    for (const char *p = strstr(s, pat); p; p = strstr(p + pl, pat))
        n++;
    char *out = malloc(strlen(s) + n * wl + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const char *p; (p = strstr(s, pat)); s = p + pl) {
        memcpy(o, s, (size_t)(p - s));
        o += p - s;
        memcpy(o, with, wl);
        o += wl;
    }
    strcpy(o, s);
    return out;
}

const char *
h_scenario_subst(harness *h, const char *name, const char *tag,
                 const char *const *kv)
{
    static char out[2][512];
    static int slot;
    char in[600];
    snprintf(in, sizeof(in), "%s.in", h_scenario(name));
    FILE *f = fopen(in, "rb");
    if (!f)
        return NULL;
    char buf[16384];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *cur = strdup(buf);
    for (size_t i = 0; cur && kv && kv[i] && kv[i + 1]; i += 2) {
        char *next = replace_all(cur, kv[i], kv[i + 1]);
        free(cur);
        cur = next;
    }
    char *b = cur ? replace_all(cur, "@PCAPDIR@", H_PCAP_DIR) : NULL;
    free(cur);
    if (!b)
        return NULL;
    slot = (slot + 1) % 2;
    const char *base = strrchr(name, '/');
    snprintf(out[slot], sizeof(out[slot]), "%s/%s-%s.xml", h->dir,
             base ? base + 1 : name, tag ? tag : "x");
    f = fopen(out[slot], "wb");
    if (!f) {
        free(b);
        return NULL;
    }
    fputs(b, f);
    fclose(f);
    free(b);
    return out[slot];
}

const char *
h_scenario_from(harness *h, const char *name, const char *code,
                const char *codecs)
{
    const char *kv[] = {"@CODE@", code ? code : "", "@CODECS@",
                        codecs ? codecs : "", NULL};
    return h_scenario_subst(h, name, code, kv);
}

int
h_originate(harness *h, const char *dest, uint32_t ring_ms, uint32_t flags,
            plt_leg **out)
{
    plt_kv vars[] = {{"attempt_id", "a1"}};
    plt_originate o = {.size = sizeof(o),
                       .destination = dest,
                       .ring_timeout_ms = ring_ms,
                       .vars = vars,
                       .nvars = 1,
                       .flags = flags};
    return h->tel.vt->originate(h->tel.impl, &o, out);
}

const char *
h_leg_id(harness *h, plt_leg *l)
{
    static char id[4][32];
    static int i;
    plt_leg_info info = {.size = sizeof(info)};
    i = (i + 1) % 4;
    id[i][0] = '\0';
    if (h->tel.vt->leg_info(h->tel.impl, l, &info) == 0)
        snprintf(id[i], sizeof(id[i]), "%s", info.id);
    return id[i];
}

int
h_cleanup(void **state)
{
    (void)state;
    reap_all();
    if (g_fh) {
        (void)plt_fake_host_stop(g_fh);
        (void)plt_fake_host_free(g_fh);
        g_fh = NULL;
    }
    return 0;
}
