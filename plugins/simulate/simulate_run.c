/* SPDX-License-Identifier: MIT */
/*
 * `plateau simulate SCENARIO [--seed N] [--days D] [--mode M]`: run the
 * real dialer, acd and agents plugins against sim on the simulated clock,
 * one day per child process, and print the figures per day and pooled.
 *
 * SCENARIO is a file, or a name looked up as NAME.yaml in
 * $PLATEAU_SCENARIO_DIR, ./conf/scenarios and $PLATEAU_SOURCE_DIR/
 * conf/scenarios. A scenario is a complete configuration (simulated clock,
 * the plugins, the sim world, the agents, the ACD queue, the campaign and
 * this plugin's section). For day d the parent writes a copy of it in a
 * fresh temporary directory with every `seed:` set to N * 1000 + 10 d + k
 * (k-th seed of the file), `data_dir:` pointing at that directory, and,
 * with --mode, the campaign's `mode:` replaced; then it runs
 * `plateau -c COPY simulate-day` (simulate_measure.c), reads the day's
 * figures from its output, and removes the directory. A fresh process per
 * day gives every day the same start (agents logged in, empty database)
 * and keeps a day's state from leaking into the next; the pacing model
 * therefore starts each day cold, as a per-day regulatory window would.
 *
 * The parent does no disk work on the loop: files are prepared and removed
 * with plt_queue_work(); the child is a libuv process with a pipe, and the
 * parent declares work while it runs so that its own simulated clock
 * stands still (the parent runs in the scenario's configuration too, and
 * starts this plugin's optional dependencies).
 */

#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <plateau/loop.h>

#include "simulate_int.h"

#define MAX_DAYS 366

typedef struct run {
    char scenario[4096];
    char dir[256], conf[300];
    char exe[4096];
    const char *mode;
    long long seed;
    int days, day;
    simulate_day *results;
    int prepare_rc;
    char err[4400];
    uv_process_t proc;
    uv_pipe_t out;
    int proc_open, out_open;
    int working; /* the simulated clock is held while a child runs */
    char buf[8192];
    size_t len;
    int got_line;
    int64_t exit_status;
} run;

static run *the_run;

static void start_day(run *r);

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(path);
}

static void
remove_dir(run *r)
{
    if (r->dir[0])
        nftw(r->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    r->dir[0] = '\0';
}

/* Is @p line a "key: <number>" line for @p key? Returns the indentation
 * length, or -1. */
static int
key_line(const char *line, const char *key)
{
    int i = 0;
    while (line[i] == ' ')
        i++;
    size_t k = strlen(key);
    if (strncmp(line + i, key, k) || line[i + (int)k] != ':')
        return -1;
    return i;
}

/* Worker: write the day's copy of the scenario. */
static void
prepare(void *arg)
{
    run *r = arg;
    r->prepare_rc = 0;
    FILE *in = NULL, *out = NULL;
    const char *tmp = getenv("TMPDIR");
    snprintf(r->dir, sizeof r->dir, "%s/plateau-simulate-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(r->dir)) {
        r->dir[0] = '\0';
        snprintf(r->err, sizeof r->err, "cannot create a temporary directory");
        goto bad;
    }
    snprintf(r->conf, sizeof r->conf, "%s/scenario.yaml", r->dir);
    in = fopen(r->scenario, "r");
    if (!in) {
        snprintf(r->err, sizeof r->err, "cannot read %s", r->scenario);
        goto bad;
    }
    out = fopen(r->conf, "w");
    if (!out) {
        snprintf(r->err, sizeof r->err, "cannot write %s", r->conf);
        goto bad;
    }
    char line[4096];
    int k = 0, seen_data_dir = 0;
    while (fgets(line, sizeof line, in)) {
        int ind;
        if ((ind = key_line(line, "seed")) >= 0) {
            fprintf(out, "%*sseed: %lld\n", ind, "",
                    r->seed * 1000 + 10LL * r->day + k++);
        } else if ((ind = key_line(line, "data_dir")) >= 0) {
            fprintf(out, "%*sdata_dir: %s\n", ind, "", r->dir);
            seen_data_dir = 1;
        } else if (r->mode && strstr(line, "mode: predictive")) {
            char *m = strstr(line, "mode: predictive");
            fprintf(out, "%.*smode: %s%s", (int)(m - line), line, r->mode,
                    m + strlen("mode: predictive"));
        } else {
            fputs(line, out);
        }
    }
    if (!seen_data_dir) {
        snprintf(r->err, sizeof r->err,
                 "%s has no core.data_dir line to point at the day's "
                 "directory",
                 r->scenario);
        goto bad;
    }
    if (fclose(out) != 0) {
        out = NULL;
        snprintf(r->err, sizeof r->err, "cannot write %s", r->conf);
        goto bad;
    }
    fclose(in);
    return;
bad:
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    r->prepare_rc = PLT_EIO;
}

static void
finish(run *r, int status)
{
    if (status == 0 && r->day > 0) {
        printf("%s, seed %lld, %d day%s%s%s\n", r->scenario, r->seed, r->day,
               r->day == 1 ? "" : "s", r->mode ? ", mode " : "",
               r->mode ? r->mode : "");
        simulate_metrics_print(stdout, r->results, r->day, 0.03);
        fflush(stdout);
    }
    plt_command_done(status);
}

static void
on_closed(uv_handle_t *h)
{
    run *r = h->data;
    if (h == (uv_handle_t *)&r->proc)
        r->proc_open = 0;
    else
        r->out_open = 0;
    if (r->proc_open || r->out_open)
        return;
    if (!r->got_line || r->exit_status != 0) {
        fprintf(stderr,
                "plateau simulate: day %d failed (exit %lld); its "
                "configuration is kept in %s\n",
                r->day + 1, (long long)r->exit_status, r->dir);
        r->dir[0] = '\0'; /* kept for a look */
        finish(r, 1);
        return;
    }
    simulate_figures f;
    simulate_figures_of(&r->results[r->day], &f);
    fprintf(stderr, "day %d: U %.1f %%, abandon %.2f %%\n", r->day + 1,
            100 * f.busy_occupancy, 100 * f.abandon_rate);
    r->day++;
    start_day(r);
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)hint;
    run *r = h->data;
    b->base = r->buf + r->len;
    b->len = sizeof r->buf - r->len - 1;
}

/* Keep complete lines; take the day's one, pass the others through. */
static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    run *r = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *)&r->out, on_closed);
        return;
    }
    r->len += (size_t)n;
    r->buf[r->len] = '\0';
    char *nl;
    while ((nl = strchr(r->buf, '\n'))) {
        *nl = '\0';
        if (!strncmp(r->buf, "simulate-day ", 13)) {
            if (simulate_day_parse(r->buf, &r->results[r->day]) == 0)
                r->got_line = 1;
        } else {
            puts(r->buf);
        }
        size_t used = (size_t)(nl - r->buf) + 1;
        memmove(r->buf, nl + 1, r->len - used + 1);
        r->len -= used;
    }
    if (r->len == sizeof r->buf - 1)
        r->len = 0; /* a line longer than the buffer: drop it */
}

static void
on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
    run *r = p->data;
    r->exit_status = sig ? 128 + sig : status;
    if (r->working) {
        plt_work_end();
        r->working = 0;
    }
    uv_close((uv_handle_t *)p, on_closed);
}

static void
cleanup_work(void *arg)
{
    remove_dir(arg);
}

static void
prepared(void *arg, int status)
{
    run *r = arg;
    if (status != 0 || r->prepare_rc != 0) {
        fprintf(stderr, "plateau simulate: %s\n",
                r->prepare_rc ? r->err : plt_strerror(status));
        finish(r, 1);
        return;
    }
    r->got_line = 0;
    r->len = 0;
    uv_loop_t *loop = plt_loop();
    int rc = uv_pipe_init(loop, &r->out, 0);
    if (rc != 0) {
        fprintf(stderr, "plateau simulate: %s\n", uv_strerror(rc));
        finish(r, 1);
        return;
    }
    r->out.data = r;
    r->out_open = 1;
    char *args[] = {r->exe, "-c", r->conf, "simulate-day", NULL};
    uv_stdio_container_t io[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
         .data.stream = (uv_stream_t *)&r->out},
        {.flags = UV_INHERIT_FD, .data.fd = 2}};
    uv_process_options_t o = {.exit_cb = on_exit_cb,
                              .file = r->exe,
                              .args = args,
                              .stdio = io,
                              .stdio_count = 3};
    r->proc.data = r;
    rc = uv_spawn(loop, &r->proc, &o);
    if (rc != 0) {
        fprintf(stderr, "plateau simulate: cannot run %s: %s\n", r->exe,
                uv_strerror(rc));
        uv_close((uv_handle_t *)&r->out, on_closed);
        r->exit_status = 127;
        r->proc_open = 0;
        return;
    }
    r->proc_open = 1;
    /* Hold this process's simulated clock while the child runs: waiting
     * on its pipe is not work the clock knows of, and the plugins started
     * here (the scenario's dialer, for one) would otherwise race through
     * their timers for nothing. */
    plt_work_begin();
    r->working = 1;
    uv_read_start((uv_stream_t *)&r->out, on_alloc, on_read);
}

static void
after_cleanup(void *arg, int status)
{
    (void)status;
    run *r = arg;
    if (r->day >= r->days) {
        finish(r, 0);
        return;
    }
    int rc = plt_queue_work(prepare, prepared, r);
    if (rc != 0) {
        fprintf(stderr, "plateau simulate: %s\n", plt_strerror(rc));
        finish(r, 1);
    }
}

/* Remove the previous day's directory, then prepare the next one. */
static void
start_day(run *r)
{
    int rc = plt_queue_work(cleanup_work, after_cleanup, r);
    if (rc != 0) {
        fprintf(stderr, "plateau simulate: %s\n", plt_strerror(rc));
        finish(r, 1);
    }
}

static int
find_scenario(run *r, const char *name)
{
    struct stat st;
    if (strchr(name, '/') || strstr(name, ".yaml")) {
        snprintf(r->scenario, sizeof r->scenario, "%s", name);
        return stat(name, &st) == 0 ? 0 : PLT_ENOENT;
    }
    const char *dirs[3] = {getenv("PLATEAU_SCENARIO_DIR"), "conf/scenarios",
                           NULL};
    char src[4096];
    const char *s = getenv("PLATEAU_SOURCE_DIR");
    if (s) {
        snprintf(src, sizeof src, "%s/conf/scenarios", s);
        dirs[2] = src;
    }
    for (int i = 0; i < 3; i++) {
        if (!dirs[i])
            continue;
        snprintf(r->scenario, sizeof r->scenario, "%s/%s.yaml", dirs[i],
                 name);
        if (stat(r->scenario, &st) == 0)
            return 0;
    }
    return PLT_ENOENT;
}

static int
usage(void)
{
    fprintf(stderr, "usage: plateau simulate SCENARIO [--seed N] [--days D] "
                    "[--mode progressive|power|predictive]\n");
    return 2;
}

static int
simulate_cmd(plt_plugin *self, int argc, char **argv)
{
    (void)self;
    if (argc < 1)
        return usage();
    run *r = calloc(1, sizeof *r);
    if (!r)
        return 1;
    r->seed = 1;
    r->days = 1;
    const char *name = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            r->seed = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--days") && i + 1 < argc)
            r->days = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
            r->mode = argv[++i];
        else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else {
            free(r);
            return usage();
        }
    }
    if (!name || r->days < 1 || r->days > MAX_DAYS || r->seed < 0 ||
        (r->mode && strcmp(r->mode, "progressive") &&
         strcmp(r->mode, "power") && strcmp(r->mode, "predictive"))) {
        free(r);
        return usage();
    }
    if (find_scenario(r, name) != 0) {
        fprintf(stderr, "plateau simulate: no scenario %s (looked for %s)\n",
                name, r->scenario);
        free(r);
        return 1;
    }
    size_t n = sizeof r->exe;
    if (uv_exepath(r->exe, &n) != 0) {
        fprintf(stderr, "plateau simulate: cannot find the executable\n");
        free(r);
        return 1;
    }
    r->results = calloc((size_t)r->days, sizeof *r->results);
    if (!r->results) {
        free(r);
        return 1;
    }
    the_run = r;
    start_day(r);
    return PLT_EINPROGRESS;
}

void
simulate_run_stop(void)
{
    run *r = the_run;
    if (!r)
        return;
    if (r->working) {
        plt_work_end();
        r->working = 0;
    }
    if (r->proc_open) {
        uv_process_kill(&r->proc, SIGTERM);
        uv_close((uv_handle_t *)&r->proc, NULL);
    }
    if (r->out_open)
        uv_close((uv_handle_t *)&r->out, NULL);
}

void
simulate_run_free(void)
{
    run *r = the_run;
    if (!r)
        return;
    remove_dir(r);
    free(r->results);
    free(r);
    the_run = NULL;
}

const plt_command simulate_commands[] = {
    {.name = "simulate",
     .summary = "run a dialer scenario on the real plugins and the "
                "simulated clock; print the figures per day and pooled",
     .usage = "simulate SCENARIO [--seed N] [--days D] [--mode M]",
     .run = simulate_cmd},
    {.name = "simulate-day",
     .summary = "one simulated day of a scenario (run by plateau simulate)",
     .usage = "simulate-day",
     .run = simulate_day_run,
     .flags = PLT_CMD_F_ALL_PLUGINS},
    {0}};
