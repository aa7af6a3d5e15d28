/* SPDX-License-Identifier: MIT */
/*
 * `plateau simulate SCENARIO [--seed N] [--days D] [--mode M] [--jobs J]`:
 * run the real dialer, acd and agents plugins against sim on the simulated
 * clock, one day per child process (J of them at a time), and print the
 * figures per day and pooled.
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
 * Days are independent, so --jobs runs several at once; a day's seeds
 * depend only on N and d, so the figures do not depend on J.
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
#define MAX_JOBS 64

typedef struct run run;

/* One child process at a time: a day being prepared, run or cleaned. */
typedef struct slot {
    run *r;
    int day;
    char dir[256], conf[300];
    int prepare_rc;
    char err[4400];
    uv_process_t proc;
    uv_pipe_t out;
    int proc_open, out_open;
    int working; /* the simulated clock is held while the child runs */
    char buf[8192];
    size_t len;
    int got_line;
    int64_t exit_status;
} slot;

struct run {
    char scenario[4096];
    char exe[4096];
    const char *mode;
    long long seed;
    int days, jobs;
    int next_day; /* the next day to hand to a slot */
    int active;   /* slots with a day in progress */
    int failed;
    simulate_day *results;
    slot *slots;
};

static run *the_run;

static void slot_next(slot *s);

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(path);
}

static void
remove_dir(slot *s)
{
    if (s->dir[0])
        nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    s->dir[0] = '\0';
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
    slot *s = arg;
    const run *r = s->r;
    s->prepare_rc = 0;
    FILE *in = NULL, *out = NULL;
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/plateau-simulate-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        s->dir[0] = '\0';
        snprintf(s->err, sizeof s->err, "cannot create a temporary directory");
        goto bad;
    }
    snprintf(s->conf, sizeof s->conf, "%s/scenario.yaml", s->dir);
    in = fopen(r->scenario, "r");
    if (!in) {
        snprintf(s->err, sizeof s->err, "cannot read %s", r->scenario);
        goto bad;
    }
    out = fopen(s->conf, "w");
    if (!out) {
        snprintf(s->err, sizeof s->err, "cannot write %s", s->conf);
        goto bad;
    }
    char line[4096];
    int k = 0, seen_data_dir = 0;
    while (fgets(line, sizeof line, in)) {
        int ind;
        if ((ind = key_line(line, "seed")) >= 0) {
            fprintf(out, "%*sseed: %lld\n", ind, "",
                    r->seed * 1000 + 10LL * s->day + k++);
        } else if ((ind = key_line(line, "data_dir")) >= 0) {
            fprintf(out, "%*sdata_dir: %s\n", ind, "", s->dir);
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
        snprintf(s->err, sizeof s->err,
                 "%s has no core.data_dir line to point at the day's "
                 "directory",
                 r->scenario);
        goto bad;
    }
    if (fclose(out) != 0) {
        out = NULL;
        snprintf(s->err, sizeof s->err, "cannot write %s", s->conf);
        goto bad;
    }
    fclose(in);
    return;
bad:
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    s->prepare_rc = PLT_EIO;
}

static void
finish(run *r)
{
    int status = r->failed ? 1 : 0;
    if (status == 0) {
        printf("%s, seed %lld, %d day%s%s%s\n", r->scenario, r->seed, r->days,
               r->days == 1 ? "" : "s", r->mode ? ", mode " : "",
               r->mode ? r->mode : "");
        simulate_metrics_print(stdout, r->results, r->days, 0.03);
        fflush(stdout);
    }
    plt_command_done(status);
}

/* The slot's day is over (or could not start): take the next one. */
static void
slot_failed(slot *s, const char *what)
{
    fprintf(stderr, "plateau simulate: day %d: %s\n", s->day + 1, what);
    s->r->failed = 1;
    slot_next(s);
}

static void
on_closed(uv_handle_t *h)
{
    slot *s = h->data;
    if (h == (uv_handle_t *)&s->proc)
        s->proc_open = 0;
    else
        s->out_open = 0;
    if (s->proc_open || s->out_open)
        return;
    if (!s->got_line || s->exit_status != 0) {
        char why[512];
        snprintf(why, sizeof why,
                 "failed (exit %lld); its configuration is kept in %s",
                 (long long)s->exit_status, s->dir);
        s->dir[0] = '\0'; /* kept for a look */
        slot_failed(s, why);
        return;
    }
    simulate_figures f;
    simulate_figures_of(&s->r->results[s->day], &f);
    fprintf(stderr, "day %d: U %.1f %%, abandon %.2f %%\n", s->day + 1,
            100 * f.busy_occupancy, 100 * f.abandon_rate);
    slot_next(s);
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)hint;
    slot *s = h->data;
    b->base = s->buf + s->len;
    b->len = sizeof s->buf - s->len - 1;
}

/* Keep complete lines; take the day's one, pass the others through. */
static void
on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    slot *s = st->data;
    if (n < 0) {
        uv_close((uv_handle_t *)&s->out, on_closed);
        return;
    }
    s->len += (size_t)n;
    s->buf[s->len] = '\0';
    char *nl;
    while ((nl = strchr(s->buf, '\n'))) {
        *nl = '\0';
        if (!strncmp(s->buf, "simulate-day ", 13)) {
            if (simulate_day_parse(s->buf, &s->r->results[s->day]) == 0)
                s->got_line = 1;
        } else {
            puts(s->buf);
        }
        size_t used = (size_t)(nl - s->buf) + 1;
        memmove(s->buf, nl + 1, s->len - used + 1);
        s->len -= used;
    }
    if (s->len == sizeof s->buf - 1)
        s->len = 0; /* a line longer than the buffer: drop it */
}

static void
on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
    slot *s = p->data;
    s->exit_status = sig ? 128 + sig : status;
    if (s->working) {
        plt_work_end();
        s->working = 0;
    }
    uv_close((uv_handle_t *)p, on_closed);
}

static void
prepared(void *arg, int status)
{
    slot *s = arg;
    if (status != 0 || s->prepare_rc != 0) {
        slot_failed(s, s->prepare_rc ? s->err : plt_strerror(status));
        return;
    }
    s->got_line = 0;
    s->len = 0;
    s->exit_status = 0;
    uv_loop_t *loop = plt_loop();
    int rc = uv_pipe_init(loop, &s->out, 0);
    if (rc != 0) {
        slot_failed(s, uv_strerror(rc));
        return;
    }
    s->out.data = s;
    s->out_open = 1;
    char *args[] = {s->r->exe, "-c", s->conf, "simulate-day", NULL};
    uv_stdio_container_t io[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
         .data.stream = (uv_stream_t *)&s->out},
        {.flags = UV_INHERIT_FD, .data.fd = 2}};
    uv_process_options_t o = {.exit_cb = on_exit_cb,
                              .file = s->r->exe,
                              .args = args,
                              .stdio = io,
                              .stdio_count = 3};
    s->proc.data = s;
    rc = uv_spawn(loop, &s->proc, &o);
    if (rc != 0) {
        fprintf(stderr, "plateau simulate: cannot run %s: %s\n", s->r->exe,
                uv_strerror(rc));
        s->exit_status = 127;
        s->proc_open = 0;
        uv_close((uv_handle_t *)&s->out, on_closed);
        return;
    }
    s->proc_open = 1;
    /* Hold this process's simulated clock while the child runs: waiting
     * on its pipe is not work the clock knows of, and the plugins started
     * here (the scenario's dialer, for one) would otherwise race through
     * their timers for nothing. */
    plt_work_begin();
    s->working = 1;
    uv_read_start((uv_stream_t *)&s->out, on_alloc, on_read);
}

static void
cleanup_work(void *arg)
{
    remove_dir(arg);
}

static void
after_cleanup(void *arg, int status)
{
    (void)status;
    slot *s = arg;
    run *r = s->r;
    if (r->failed || r->next_day >= r->days) {
        if (--r->active == 0)
            finish(r);
        return;
    }
    s->day = r->next_day++;
    int rc = plt_queue_work(prepare, prepared, s);
    if (rc != 0)
        slot_failed(s, plt_strerror(rc));
}

/* Remove the slot's previous directory, then prepare its next day. */
static void
slot_next(slot *s)
{
    int rc = plt_queue_work(cleanup_work, after_cleanup, s);
    if (rc != 0) {
        fprintf(stderr, "plateau simulate: %s\n", plt_strerror(rc));
        s->r->failed = 1;
        if (--s->r->active == 0)
            finish(s->r);
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
                    "[--mode progressive|power|predictive] [--jobs J]\n");
    return 2;
}

static void
run_free(run *r)
{
    if (!r)
        return;
    free(r->results);
    free(r->slots);
    free(r);
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
    r->jobs = 1;
    const char *name = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            r->seed = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--days") && i + 1 < argc)
            r->days = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--jobs") && i + 1 < argc)
            r->jobs = atoi(argv[++i]);
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
        r->jobs < 1 || r->jobs > MAX_JOBS ||
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
    if (r->jobs > r->days)
        r->jobs = r->days;
    r->results = calloc((size_t)r->days, sizeof *r->results);
    r->slots = calloc((size_t)r->jobs, sizeof *r->slots);
    if (!r->results || !r->slots) {
        run_free(r);
        return 1;
    }
    the_run = r;
    for (int j = 0; j < r->jobs; j++) {
        slot *s = &r->slots[j];
        s->r = r;
        s->day = -1;
        r->active++;
        slot_next(s);
    }
    return PLT_EINPROGRESS;
}

void
simulate_run_stop(void)
{
    run *r = the_run;
    if (!r)
        return;
    for (int j = 0; j < r->jobs; j++) {
        slot *s = &r->slots[j];
        if (s->working) {
            plt_work_end();
            s->working = 0;
        }
        if (s->proc_open) {
            uv_process_kill(&s->proc, SIGTERM);
            uv_close((uv_handle_t *)&s->proc, NULL);
        }
        if (s->out_open)
            uv_close((uv_handle_t *)&s->out, NULL);
    }
}

void
simulate_run_free(void)
{
    run *r = the_run;
    if (!r)
        return;
    for (int j = 0; j < r->jobs; j++)
        remove_dir(&r->slots[j]);
    run_free(r);
    the_run = NULL;
}

const plt_command simulate_commands[] = {
    {.name = "simulate",
     .summary = "run a dialer scenario on the real plugins and the "
                "simulated clock; print the figures per day and pooled",
     .usage = "simulate SCENARIO [--seed N] [--days D] [--mode M] [--jobs J]",
     .run = simulate_cmd},
    {.name = "simulate-day",
     .summary = "one simulated day of a scenario (run by plateau simulate)",
     .usage = "simulate-day",
     .run = simulate_day_run,
     .flags = PLT_CMD_F_ALL_PLUGINS},
    {0}};
