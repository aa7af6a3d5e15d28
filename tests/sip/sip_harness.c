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
#include <unistd.h>

#include "sip_harness.h"

extern char **environ;

/* SIPp processes still running: a failed assertion skips a test's
 * waits, so the next test (and the exit) kills what was left. */
static pid_t g_pids[32];
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
track(pid_t pid, bool add)
{
    static bool registered;
    if (!registered) {
        atexit(reap_all);
        registered = true;
    }
    for (size_t i = 0; i < 32; i++)
        if (add ? g_pids[i] == 0 : g_pids[i] == pid) {
            g_pids[i] = add ? pid : 0;
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
             "    options_interval: 0s\n"
             "%s"
             "routes:\n"
             "  - did: \"+33140000000\"\n"
             "extensions:\n"
             "  - extension: \"1001\"\n"
             "    password: secret1001\n"
             "%s",
             H_SIP_PORT, H_RTP_MIN, H_RTP_MAX, H_TRUNK_PORT,
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
    pid_t pid;
    int rc = posix_spawnp(&pid, "sipp", &fa, NULL, (char *const *)argv,
                          environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    track(pid, true);
    return pid;
}

int
h_sipp_wait(harness *h, pid_t pid, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            track(pid, false);
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        plt_fake_host_run_for(h->fh, 20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    track(pid, false);
    fprintf(stderr, "sipp %d did not finish in %d ms\n", (int)pid,
            timeout_ms);
    return -1;
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
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        const plt_event *ev = find_event(h, topic, key, value);
        if (ev)
            return ev;
        plt_fake_host_run_for(h->fh, 20);
    }
    fprintf(stderr, "no %s with %s=%s within %d ms\n", topic,
            key ? key : "-", value ? value : "-", timeout_ms);
    return NULL;
}

const char *
h_scenario(const char *name)
{
    static char path[4][512];
    static int i;
    const char *src = getenv("PLATEAU_SOURCE_DIR");
    i = (i + 1) % 4;
    snprintf(path[i], sizeof(path[i]), "%s/tests/sip/%s", src ? src : ".",
             name);
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
h_scenario_from(harness *h, const char *name, const char *code,
                const char *codecs)
{
    static char out[512];
    char in[600];
    snprintf(in, sizeof(in), "%s.in", h_scenario(name));
    FILE *f = fopen(in, "rb");
    if (!f)
        return NULL;
    char buf[16384];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *a = replace_all(buf, "@CODE@", code ? code : "");
    char *c = a ? replace_all(a, "@CODECS@", codecs ? codecs : "") : NULL;
    char *b = c ? replace_all(c, "@PCAPDIR@", H_PCAP_DIR) : NULL;
    free(a);
    free(c);
    if (!b)
        return NULL;
    snprintf(out, sizeof(out), "%s/%s-%s.xml", h->dir, name,
             code ? code : "x");
    f = fopen(out, "wb");
    if (!f) {
        free(b);
        return NULL;
    }
    fputs(b, f);
    fclose(f);
    free(b);
    return out;
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
