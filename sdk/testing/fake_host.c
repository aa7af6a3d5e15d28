/* SPDX-License-Identifier: MIT */
/*
 * The fake host: a test double of the core for unit-testing one plugin (or
 * a few) without the loader, the dependency graph or the command line. It
 * reuses the core's real runtime (plt__ctx: loop, clock, bus, post queue,
 * registry; the host table; config validation) so that a plugin behaves in
 * a test exactly as in production, and adds what tests need on top: manual
 * lifecycle, manual time ("let 3 virtual minutes pass"), a recorder of
 * every event and log line, stub services, and a leak check at the end
 * (uv_loop_close() must succeed).
 *
 * The plugin globals plt_host_/plt_self_ are deliberately not defined
 * here: a test binary links one plugin's sources, which define them with
 * PLT_PLUGIN_DEFINE, and plt__plugin_bind() fills them through the
 * descriptor's slots.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw, open_memstream, strndup */
#endif
#include <dlfcn.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "plateau/testing/fake_host.h"

/* 2025-01-06T09:00:00Z, a Monday morning: a plausible working day. */
#define FAKE_DEFAULT_START_MS INT64_C(1736154000000)
#define FAKE_DEFAULT_STOP_TIMEOUT_MS 5000

typedef enum fake_phase {
    FAKE_NEW = 0, /* adding plugins */
    FAKE_INITED,
    FAKE_STARTED,
    FAKE_STOPPED,
    FAKE_BROKEN, /* init or start failed: only free() is left */
    FAKE_FREEING
} fake_phase;

/* One added plugin. The core record comes first so that a plt_plugin *
 * handed to the test converts back with a cast. */
typedef struct fake_plugin {
    plt_plugin p;
    plt__doc *doc; /* the config text the plt_cfg points into */
    bool init_ok;
    bool stopped; /* plt_stopped() was called */
    bool cmd_done;
    int cmd_status;
} fake_plugin;

typedef struct fake_log {
    int level;
    char *who;
    char *text;
} fake_log;

struct plt_fake_host {
    uv_loop_t loop;
    plt__ctx ctx;
    fake_phase phase;
    char *data_dir;
    bool own_data_dir; /* made by mkdtemp: removed at free */
    uint64_t stop_timeout_ms;
    char *error; /* last_error text */

    fake_plugin **plugins;
    size_t nplugins;

    /* The "test" pseudo-plugin: owner of the recorder subscription,
     * publisher of the test's events and provider of stub services. */
    plt_plugin harness;
    plt_plugin_desc harness_desc;
    char **stub_names; /* NULL-terminated; the harness's `provides` */
    size_t nstubs;
    plt_sub *recorder;

    plt_event **events;
    size_t nevents, capevents;

    uv_mutex_t log_mu; /* the sink may be called off the loop thread */
    fake_log *logs;
    size_t nlogs, caplogs;

    /* Driving the loop. */
    uv_prepare_t prep;
    uv_timer_t run_timer;
    bool running;
    bool run_done;
    const bool *run_flag; /* stop early once *run_flag is true */
    int64_t run_target;   /* simulated: virtual UTC ms to reach */
};

/* Logging and the log sink are process-wide, hence one fake host at a
 * time. */
static plt_fake_host *fake_active;

/* ------------------------------------------------------------------ */
/* Errors */

__attribute__((format(printf, 2, 3))) static void
set_error(plt_fake_host *fh, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = plt__vasprintf(fmt, ap);
    va_end(ap);
    free(fh->error);
    fh->error = s;
}

/* Keep every diagnostic, one per line, as `plateau check` prints them. */
static void
set_error_diags(plt_fake_host *fh, const plt__diags *d, const char *fallback)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = d->n ? open_memstream(&buf, &len) : NULL;
    if (f) {
        plt__diags_print(d, f);
        fclose(f);
        /* Drop the final newline: the text reads like one message. */
        if (buf && len > 0 && buf[len - 1] == '\n')
            buf[len - 1] = '\0';
        free(fh->error);
        fh->error = buf;
        return;
    }
    set_error(fh, "%s", fallback);
}

const char *
plt_fake_host_last_error(const plt_fake_host *fh)
{
    return fh && fh->error ? fh->error : "";
}

/* ------------------------------------------------------------------ */
/* Recorders */

static void
log_sink(void *arg, const char *who, int level, const char *msg)
{
    plt_fake_host *fh = arg;
    uv_mutex_lock(&fh->log_mu);
    if (fh->nlogs == fh->caplogs) {
        size_t cap = fh->caplogs ? fh->caplogs * 2 : 64;
        fake_log *v = realloc(fh->logs, cap * sizeof(*v));
        if (!v) {
            uv_mutex_unlock(&fh->log_mu);
            return;
        }
        fh->logs = v;
        fh->caplogs = cap;
    }
    fake_log *l = &fh->logs[fh->nlogs];
    l->level = level;
    l->who = plt__strdup(strcmp(who, "core") == 0 ? "" : who);
    l->text = plt__strdup(msg);
    if (l->who && l->text)
        fh->nlogs++;
    else {
        free(l->who);
        free(l->text);
    }
    uv_mutex_unlock(&fh->log_mu);
}

static int64_t
log_clock(void *arg)
{
    plt_fake_host *fh = arg;
    return plt__clock_now(&fh->ctx.clock);
}

static void
record_event(const plt_event *ev, void *arg)
{
    plt_fake_host *fh = arg;
    if (fh->nevents == fh->capevents) {
        size_t cap = fh->capevents ? fh->capevents * 2 : 64;
        plt_event **v = realloc(fh->events, cap * sizeof(*v));
        if (!v)
            return; /* A test asserting on this event will fail loudly. */
        fh->events = v;
        fh->capevents = cap;
    }
    fh->events[fh->nevents++] = plt__event_ref(ev);
}

/* ------------------------------------------------------------------ */
/* Hooks from the host table */

static fake_plugin *
find_by_core(plt_fake_host *fh, const plt_plugin *p)
{
    for (size_t i = 0; i < fh->nplugins; i++)
        if (&fh->plugins[i]->p == p)
            return fh->plugins[i];
    return NULL;
}

static void
on_stopped(plt__ctx *ctx, plt_plugin *p)
{
    fake_plugin *e = find_by_core(ctx->owner, p);
    if (e)
        e->stopped = true;
}

static void
on_command_done(plt__ctx *ctx, plt_plugin *p, int status)
{
    fake_plugin *e = find_by_core(ctx->owner, p);
    if (e) {
        e->cmd_done = true;
        e->cmd_status = status;
    }
}

/* ------------------------------------------------------------------ */
/* Data directory */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0; /* Best effort: keep removing the rest. */
}

static int
make_data_dir(plt_fake_host *fh, const char *want)
{
    if (want && *want) {
        int rc = plt__mkdir_p(want, 0755);
        if (rc != 0) {
            set_error(fh, "cannot create data directory %s: %s", want,
                      plt__strerror(rc));
            return rc;
        }
        char *abs = realpath(want, NULL);
        if (!abs)
            return PLT_ENOMEM;
        fh->data_dir = abs;
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    char *templ =
        plt__asprintf("%s/plateau-fake-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!templ)
        return PLT_ENOMEM;
    if (!mkdtemp(templ)) {
        int rc = -errno;
        set_error(fh, "cannot create a temporary data directory: %s",
                  plt__strerror(rc));
        free(templ);
        return rc;
    }
    fh->data_dir = templ;
    fh->own_data_dir = true;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Creation and destruction */

int
plt_fake_host_new(plt_fake_host **out, const plt_fake_options *opt)
{
    static const plt_fake_options defaults;
    if (!out)
        return PLT_EINVAL;
    *out = NULL;
    if (!opt)
        opt = &defaults;
    if (fake_active)
        return PLT_EBUSY;
    int level = opt->log_level ? opt->log_level : PLT_LOG_DEBUG;
    if (level < PLT_LOG_ERROR || level > PLT_LOG_DEBUG || opt->sim_start_ms < 0)
        return PLT_EINVAL;

    plt_fake_host *fh = calloc(1, sizeof(*fh));
    if (!fh)
        return PLT_ENOMEM;
    fh->stop_timeout_ms = opt->stop_timeout_ms ? opt->stop_timeout_ms
                                               : FAKE_DEFAULT_STOP_TIMEOUT_MS;
    int rc = make_data_dir(fh, opt->data_dir);
    if (rc != 0)
        goto fail_fh;
    rc = uv_mutex_init(&fh->log_mu);
    if (rc != 0)
        goto fail_dir;
    rc = uv_loop_init(&fh->loop);
    if (rc != 0)
        goto fail_mu;
    rc = plt__ctx_init(&fh->ctx, &fh->loop, !opt->real_clock,
                       opt->sim_start_ms ? opt->sim_start_ms
                                         : FAKE_DEFAULT_START_MS);
    if (rc != 0)
        goto fail_loop;
    fh->ctx.owner = fh;
    fh->ctx.on_stopped = on_stopped;
    fh->ctx.on_command_done = on_command_done;
    fh->ctx.data_dir = plt__strdup(fh->data_dir); /* freed by ctx_close */
    if (!fh->ctx.data_dir) {
        rc = PLT_ENOMEM;
        goto fail_ctx;
    }
    uv_prepare_init(&fh->loop, &fh->prep);
    fh->prep.data = fh;
    uv_timer_init(&fh->loop, &fh->run_timer);
    fh->run_timer.data = fh;

    fh->harness_desc = (plt_plugin_desc){
        .magic = PLT_PLUGIN_MAGIC,
        .abi_major = PLT_ABI_MAJOR,
        .abi_minor = PLT_ABI_MINOR,
        .size = sizeof(plt_plugin_desc),
        .name = "test",
        .version = PLT_VERSION_STRING,
        .summary = "the test driving the fake host",
    };
    fh->harness.name = (char *)"test";
    fh->harness.desc = &fh->harness_desc;
    fh->harness.ctx = &fh->ctx;
    fh->harness.state = PLT__P_STARTED;
    rc = plt__bus_subscribe(&fh->ctx.bus, &fh->harness, "*", record_event, fh,
                            &fh->recorder);
    if (rc != 0)
        goto fail_handles;

    /* Lines go to the recorder; the core's writer goes to stderr only when
     * asked, so that a passing test suite stays quiet. No writer thread:
     * lines are written synchronously, in order with the test's output. */
    const char *verbose = getenv("PLATEAU_TEST_VERBOSE");
    bool echo = verbose && strcmp(verbose, "1") == 0;
    rc = plt__log_open(echo ? NULL : "/dev/null", level);
    if (rc != 0)
        goto fail_handles;
    plt__log_set_sink(log_sink, fh);
    plt__log_set_clock(log_clock, fh);

    fake_active = fh;
    *out = fh;
    return 0;

fail_handles:
    uv_close((uv_handle_t *)&fh->prep, NULL);
    uv_close((uv_handle_t *)&fh->run_timer, NULL);
fail_ctx:
    plt__ctx_close(&fh->ctx);
    uv_run(&fh->loop, UV_RUN_DEFAULT);
fail_loop:
    uv_run(&fh->loop, UV_RUN_NOWAIT);
    uv_loop_close(&fh->loop);
fail_mu:
    uv_mutex_destroy(&fh->log_mu);
fail_dir:
    if (fh->own_data_dir)
        nftw(fh->data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fh->data_dir);
fail_fh:
    free(fh->error);
    free(fh);
    return rc;
}

static void
report_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h))
        return;
    fprintf(stderr,
            "plt_fake_host_free: a %s handle is still open on the loop (a "
            "plugin must close every uv handle it opens by the end of "
            "stop())\n",
            uv_handle_type_name(uv_handle_get_type(h)));
}

static void
close_leaked(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void
free_plugin(fake_plugin *e)
{
    plt_plugin *p = &e->p;
    if (p->cfg)
        plt__cfg_free(p->cfg);
    plt__doc_free(e->doc);
    /* Plugins flagged NOUNLOAD keep global state that must outlive them;
     * they stay mapped until exit, as in the core. */
    if (p->dl && !(p->desc->flags & PLT_PLUGIN_F_NOUNLOAD))
        dlclose(p->dl);
    free(p->acq);
    free(p->error);
    free(p->name);
    free(p->path);
    free(e);
}

int
plt_fake_host_free(plt_fake_host *fh)
{
    if (!fh)
        return 0;
    if (fh->phase == FAKE_STARTED || fh->phase == FAKE_BROKEN)
        plt_fake_host_stop(fh);
    fh->phase = FAKE_FREEING;

    /* As the core's shutdown: no more deliveries, run what plugin threads
     * posted before they stopped, then fini in reverse order and release
     * what each plugin left behind (also for a plugin whose init failed
     * half-way). */
    plt__bus_set_delivering(&fh->ctx.bus, false);
    plt__post_drain(&fh->ctx.post);
    for (size_t i = fh->nplugins; i-- > 0;) {
        fake_plugin *e = fh->plugins[i];
        plt_plugin *p = &e->p;
        if (e->init_ok && p->desc->fini)
            p->desc->fini(p);
        p->state = PLT__P_FINI;
        plt__plugin_reap(p);
    }
    plt__registry_remove_provider(fh->ctx.reg, &fh->harness);
    plt_fake_host_events_clear(fh);

    plt__ctx_close(&fh->ctx);
    uv_close((uv_handle_t *)&fh->prep, NULL);
    uv_close((uv_handle_t *)&fh->run_timer, NULL);
    /* Let close callbacks run. A handle a plugin leaked would keep
     * UV_RUN_DEFAULT waiting forever, so iterate a bounded number of
     * times; uv_loop_close() then reports the leak. */
    for (int i = 0; i < 64; i++)
        if (uv_run(&fh->loop, UV_RUN_NOWAIT) == 0)
            break;
    int rc = uv_loop_close(&fh->loop);
    if (rc != 0) {
        /* Name the leaked handles, then close them so that the next test
         * starts clean; the leak is still reported through rc. */
        uv_walk(&fh->loop, report_handle, NULL);
        uv_walk(&fh->loop, close_leaked, NULL);
        for (int i = 0; i < 64; i++)
            if (uv_run(&fh->loop, UV_RUN_NOWAIT) == 0)
                break;
        if (uv_loop_close(&fh->loop) != 0)
            fprintf(stderr, "plt_fake_host_free: the loop cannot be closed\n");
    }

    for (size_t i = 0; i < fh->nplugins; i++)
        free_plugin(fh->plugins[i]);
    free(fh->plugins);
    for (size_t i = 0; i < fh->nstubs; i++)
        free(fh->stub_names[i]);
    free(fh->stub_names);

    plt__log_set_sink(NULL, NULL);
    plt__log_set_clock(NULL, NULL);
    plt__log_open(NULL, PLT_LOG_INFO);
    plt_fake_host_logs_clear(fh);
    free(fh->logs);
    uv_mutex_destroy(&fh->log_mu);

    if (fh->own_data_dir)
        nftw(fh->data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fh->data_dir);
    free(fh->error);
    free(fh->events);
    if (fake_active == fh)
        fake_active = NULL;
    free(fh);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Adding plugins */

static fake_plugin *
find_by_name(const plt_fake_host *fh, const char *name)
{
    for (size_t i = 0; i < fh->nplugins; i++)
        if (strcmp(fh->plugins[i]->p.name, name) == 0)
            return fh->plugins[i];
    return NULL;
}

plt_plugin *
plt_fake_host_plugin(plt_fake_host *fh, const char *name)
{
    fake_plugin *e = name ? find_by_name(fh, name) : NULL;
    return e ? &e->p : NULL;
}

/* Parse and validate a plugin's section text. The text is the section
 * body, so its root mapping is the section; the name given to the parser
 * places relative paths in the data directory. */
static const plt_cfg_key no_keys[] = {PLT_CFG_END};

static int
build_cfg(plt_fake_host *fh, const plt_plugin_desc *desc, const char *yaml,
          plt__doc **doc_out, plt_cfg **cfg_out)
{
    plt__diags d = {0};
    *doc_out = NULL;
    *cfg_out = NULL;
    char *name = plt__asprintf("%s/%s.yaml", fh->data_dir, desc->name);
    if (!name)
        return PLT_ENOMEM;
    plt__doc *doc = NULL;
    int rc = plt__doc_parse(name, yaml, yaml ? strlen(yaml) : 0, &doc, &d);
    free(name);
    if (rc == 0)
        rc = plt__cfg_build(doc, plt__doc_root(doc),
                            desc->config_keys ? desc->config_keys : no_keys,
                            desc->name, cfg_out, &d);
    if (rc != 0) {
        set_error_diags(fh, &d, "invalid configuration");
        plt__diags_clear(&d);
        plt__doc_free(doc);
        *cfg_out = NULL;
        return rc == PLT_ENOMEM ? rc : PLT_ECONFIG;
    }
    plt__diags_clear(&d);
    *doc_out = doc;
    return 0;
}

static int
add_desc(plt_fake_host *fh, const plt_plugin_desc *desc, const char *stem,
         const char *where, const char *path, void *dl, const char *config_yaml,
         plt_plugin **out)
{
    plt__diags d = {0};
    int rc = plt__desc_check(desc, stem, where, &d);
    if (rc != 0) {
        set_error_diags(fh, &d, "invalid plugin descriptor");
        plt__diags_clear(&d);
        return rc;
    }
    plt__diags_clear(&d);
    if (find_by_name(fh, desc->name) || strcmp(desc->name, "test") == 0) {
        set_error(fh, "a plugin named '%s' was already added", desc->name);
        return PLT_EEXIST;
    }
    plt__doc *doc;
    plt_cfg *cfg;
    rc = build_cfg(fh, desc, config_yaml, &doc, &cfg);
    if (rc != 0)
        return rc;

    fake_plugin **v =
        realloc(fh->plugins, (fh->nplugins + 1) * sizeof(*fh->plugins));
    fake_plugin *e = calloc(1, sizeof(*e));
    if (v)
        fh->plugins = v;
    if (!v || !e || !(e->p.name = plt__strdup(desc->name)) ||
        (path && !(e->p.path = plt__strdup(path)))) {
        if (e)
            free(e->p.name);
        free(e);
        plt__cfg_free(cfg);
        plt__doc_free(doc);
        set_error(fh, "out of memory");
        return PLT_ENOMEM;
    }
    e->p.desc = desc;
    e->p.dl = dl;
    e->p.cfg = cfg;
    e->p.order = fh->nplugins;
    e->doc = doc;
    plt__plugin_bind(&e->p, &fh->ctx);
    fh->plugins[fh->nplugins++] = e;
    if (out)
        *out = &e->p;
    return 0;
}

int
plt_fake_host_add(plt_fake_host *fh, const plt_plugin_desc *desc,
                  const char *config_yaml, plt_plugin **out)
{
    if (!fh || !desc)
        return PLT_EINVAL;
    if (fh->phase != FAKE_NEW) {
        set_error(fh, "plugins must be added before plt_fake_host_init()");
        return PLT_ESTATE;
    }
    /* A descriptor linked into the test: its name is its stem. Check the
     * magic first so that a wrong pointer does not read garbage as a
     * string. */
    const char *stem = desc->magic == PLT_PLUGIN_MAGIC ? desc->name : NULL;
    return add_desc(fh, desc, stem, stem ? stem : "plugin", NULL, NULL,
                    config_yaml, out);
}

int
plt_fake_host_add_so(plt_fake_host *fh, const char *path,
                     const char *config_yaml, plt_plugin **out)
{
    if (!fh || !path)
        return PLT_EINVAL;
    if (fh->phase != FAKE_NEW) {
        set_error(fh, "plugins must be added before plt_fake_host_init()");
        return PLT_ESTATE;
    }
    dlerror();
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *e = dlerror();
        set_error(fh, "%s: cannot load plugin: %s", path,
                  e ? e : "unknown error");
        return PLT_ENOENT;
    }
    const plt_plugin_desc *desc = dlsym(dl, PLT_PLUGIN_SYMBOL);
    if (!desc) {
        set_error(fh, "%s: not a Plateau plugin (no exported symbol '%s')",
                  path, PLT_PLUGIN_SYMBOL);
        dlclose(dl);
        return PLT_ENOTPLUGIN;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 3 && strcmp(base + n - 3, ".so") == 0)
        n -= 3;
    char *stem = strndup(base, n);
    if (!stem) {
        dlclose(dl);
        return PLT_ENOMEM;
    }
    int rc = add_desc(fh, desc, stem, path, path, dl, config_yaml, out);
    free(stem);
    if (rc != 0)
        dlclose(dl);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Driving the loop and the clock */

/* Runs before the loop would block. In simulated time it notices when
 * virtual time cannot move any more (no timer left, nothing pending) and
 * jumps to the end of the run; otherwise the post queue's always-active
 * async handle would keep uv_run() waiting forever. */
static void
on_prepare(uv_prepare_t *h)
{
    plt_fake_host *fh = h->data;
    plt__clock *c = &fh->ctx.clock;
    if (!fh->running)
        return;
    if (fh->run_done || (fh->run_flag && *fh->run_flag)) {
        uv_stop(&fh->loop);
        return;
    }
    if (!c->simulated)
        return;
    if (c->busy && c->busy(c->busy_arg))
        return; /* a handle will wake the loop when that finishes */
    if (c->idle_active)
        return;
    plt__clock_kick(c);
    if (c->idle_active)
        return;
    /* Nothing can move time any more: the rest of the run is empty. */
    if (c->sim_now_ms < fh->run_target) {
        uint64_t d = (uint64_t)(fh->run_target - c->sim_now_ms);
        c->sim_now_ms += (int64_t)d;
        c->sim_mono_ms += d;
    }
    fh->run_done = true;
    uv_stop(&fh->loop);
}

static void
on_until(void *arg)
{
    plt_fake_host *fh = arg;
    fh->run_done = true;
    uv_stop(&fh->loop);
}

static void
on_run_timer(uv_timer_t *t)
{
    plt_fake_host *fh = t->data;
    fh->run_done = true;
    uv_stop(&fh->loop);
}

/* Let @p ms pass, or less if *flag becomes true first. */
static void
run_internal(plt_fake_host *fh, uint64_t ms, const bool *flag)
{
    plt__clock *c = &fh->ctx.clock;
    fh->running = true;
    fh->run_done = false;
    fh->run_flag = flag;
    uv_prepare_start(&fh->prep, on_prepare);
    if (c->simulated) {
        fh->run_target = c->sim_now_ms + (int64_t)ms;
        /* The clock stops at sim_until_ms once everything due up to that
         * instant has fired and been delivered, then calls on_until. */
        c->sim_until_ms = fh->run_target;
        c->on_until = on_until;
        c->until_arg = fh;
        plt__clock_kick(c);
        while (!fh->run_done && !(flag && *flag))
            uv_run(&fh->loop, UV_RUN_DEFAULT);
        c->sim_until_ms = 0;
        c->on_until = NULL;
        c->until_arg = NULL;
    } else {
        uv_timer_start(&fh->run_timer, on_run_timer, ms, 0);
        while (!fh->run_done && !(flag && *flag))
            uv_run(&fh->loop, UV_RUN_ONCE);
        uv_timer_stop(&fh->run_timer);
    }
    uv_prepare_stop(&fh->prep);
    fh->running = false;
    fh->run_flag = NULL;
}

int
plt_fake_host_run_for(plt_fake_host *fh, uint64_t ms)
{
    if (!fh)
        return PLT_EINVAL;
    if (fh->running || fh->phase == FAKE_FREEING)
        return PLT_ESTATE;
    run_internal(fh, ms, NULL);
    return 0;
}

int
plt_fake_host_run_until_idle(plt_fake_host *fh)
{
    if (!fh)
        return PLT_EINVAL;
    if (fh->running || fh->phase == FAKE_FREEING)
        return PLT_ESTATE;
    plt__clock *c = &fh->ctx.clock;
    if (c->simulated) {
        /* A run of zero length: fires only what is due now and delivers
         * everything that follows from it. */
        run_internal(fh, 0, NULL);
        return 0;
    }
    fh->running = true;
    while (c->busy && c->busy(c->busy_arg))
        uv_run(&fh->loop, UV_RUN_ONCE);
    uv_run(&fh->loop, UV_RUN_NOWAIT);
    fh->running = false;
    return 0;
}

int64_t
plt_fake_host_now(const plt_fake_host *fh)
{
    return plt__clock_now(&fh->ctx.clock);
}

struct uv_loop_s *
plt_fake_host_loop(plt_fake_host *fh)
{
    return &fh->loop;
}

const char *
plt_fake_host_data_dir(const plt_fake_host *fh)
{
    return fh->data_dir;
}

/* Run until *flag, for at most fh->stop_timeout_ms of clock time. */
static int
wait_for(plt_fake_host *fh, const bool *flag)
{
    int64_t end = plt__clock_now(&fh->ctx.clock) + (int64_t)fh->stop_timeout_ms;
    while (!*flag) {
        int64_t now = plt__clock_now(&fh->ctx.clock);
        if (now >= end)
            return PLT_ETIMEDOUT;
        run_internal(fh, (uint64_t)(end - now), flag);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Lifecycle */

static void
plugin_failed(plt_fake_host *fh, plt_plugin *p, const char *what, int rc)
{
    if (p->error)
        set_error(fh, "plugin %s: %s failed: %s (%s)", p->name, what, p->error,
                  plt__err_name(rc));
    else
        set_error(fh, "plugin %s: %s failed: %s (%s)", p->name, what,
                  plt__strerror(rc), plt__err_name(rc));
    plt__log(p->name, PLT_LOG_ERROR, "%s", fh->error ? fh->error : what);
}

static bool
registered(plt_fake_host *fh, plt_plugin *p, const char *svc)
{
    const plt__registry *r = fh->ctx.reg;
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].provider == p && strcmp(r->v[i].desc.name, svc) == 0)
            return true;
    return false;
}

int
plt_fake_host_init(plt_fake_host *fh)
{
    if (!fh)
        return PLT_EINVAL;
    if (fh->phase != FAKE_NEW) {
        set_error(fh, "plt_fake_host_init() may be called once, before "
                      "plt_fake_host_start()");
        return PLT_ESTATE;
    }
    for (size_t i = 0; i < fh->nplugins; i++) {
        fake_plugin *e = fh->plugins[i];
        plt_plugin *p = &e->p;
        free(p->error);
        p->error = NULL;
        p->in_init = true;
        int rc = p->desc->init(p, p->cfg);
        p->in_init = false;
        if (rc != 0) {
            fh->phase = FAKE_BROKEN;
            plugin_failed(fh, p, "init", rc < 0 ? rc : PLT_EINVAL);
            return rc < 0 ? rc : PLT_EINVAL;
        }
        e->init_ok = true;
        p->state = PLT__P_INITED;
        /* As the core does: what a plugin declares it provides, it must
         * have registered by the end of init(). */
        for (const char *const *s = p->desc->provides; s && *s; s++) {
            if (!registered(fh, p, *s)) {
                fh->phase = FAKE_BROKEN;
                set_error(fh,
                          "plugin %s: declares service '%s' in `provides` "
                          "but did not register it in init()",
                          p->name, *s);
                return PLT_ENOSERVICE;
            }
        }
    }
    fh->phase = FAKE_INITED;
    return 0;
}

int
plt_fake_host_check(plt_fake_host *fh)
{
    if (!fh)
        return PLT_EINVAL;
    if (fh->phase != FAKE_INITED) {
        set_error(fh, "plt_fake_host_check() runs after a successful "
                      "plt_fake_host_init() and before the start");
        return PLT_ESTATE;
    }
    for (size_t i = 0; i < fh->nplugins; i++) {
        plt_plugin *p = &fh->plugins[i]->p;
        /* A member the plugin's descriptor may predate: read it only if
         * its size covers it. */
        if (offsetof(plt_plugin_desc, check) + sizeof(p->desc->check) >
                p->desc->size ||
            !p->desc->check)
            continue;
        free(p->error);
        p->error = NULL;
        int rc = p->desc->check(p);
        if (rc != 0) {
            plugin_failed(fh, p, "check", rc < 0 ? rc : PLT_EINVAL);
            return rc < 0 ? rc : PLT_EINVAL;
        }
    }
    return 0;
}

int
plt_fake_host_start(plt_fake_host *fh)
{
    if (!fh)
        return PLT_EINVAL;
    if (fh->phase != FAKE_INITED) {
        set_error(fh, "plt_fake_host_start() needs a successful "
                      "plt_fake_host_init() and may be called once");
        return PLT_ESTATE;
    }
    for (size_t i = 0; i < fh->nplugins; i++) {
        plt_plugin *p = &fh->plugins[i]->p;
        free(p->error);
        p->error = NULL;
        int rc = p->desc->start ? p->desc->start(p) : 0;
        if (rc != 0) {
            fh->phase = FAKE_BROKEN;
            plugin_failed(fh, p, "start", rc < 0 ? rc : PLT_EINVAL);
            return rc < 0 ? rc : PLT_EINVAL;
        }
        p->state = PLT__P_STARTED;
    }
    fh->phase = FAKE_STARTED;
    plt__bus_set_delivering(&fh->ctx.bus, true);
    return 0;
}

int
plt_fake_host_stop(plt_fake_host *fh)
{
    if (!fh)
        return PLT_EINVAL;
    if (fh->running)
        return PLT_ESTATE;
    int ret = 0;
    for (size_t i = fh->nplugins; i-- > 0;) {
        fake_plugin *e = fh->plugins[i];
        plt_plugin *p = &e->p;
        if (p->state != PLT__P_STARTED)
            continue;
        p->state = PLT__P_STOPPING;
        e->stopped = false;
        int rc = p->desc->stop ? p->desc->stop(p) : 0;
        if (rc == PLT_EINPROGRESS) {
            rc = wait_for(fh, &e->stopped);
            if (rc != 0) {
                set_error(fh,
                          "plugin %s: did not call plt_stopped() within "
                          "%llu ms",
                          p->name, (unsigned long long)fh->stop_timeout_ms);
                plt__log(p->name, PLT_LOG_ERROR, "%s", fh->error);
            }
        } else if (rc < 0) {
            plugin_failed(fh, p, "stop", rc);
        }
        if (rc < 0 && ret == 0)
            ret = rc;
        p->state = PLT__P_STOPPED;
    }
    if (fh->phase == FAKE_STARTED || fh->phase == FAKE_INITED)
        fh->phase = FAKE_STOPPED;
    return ret;
}


int
plt_fake_host_reconfigure(plt_fake_host *fh, plt_plugin *p,
                          const char *config_yaml)
{
    if (!fh || !p)
        return PLT_EINVAL;
    fake_plugin *e = find_by_core(fh, p);
    if (!e)
        return PLT_EINVAL;
    if (!e->init_ok || p->state >= PLT__P_STOPPING) {
        set_error(fh,
                  "plugin %s: reconfigure needs an initialised, "
                  "running plugin",
                  p->name);
        return PLT_ESTATE;
    }
    plt__doc *doc;
    plt_cfg *cfg;
    int rc = build_cfg(fh, p->desc, config_yaml, &doc, &cfg);
    if (rc != 0)
        return rc;
    /* The core's rules (core/reload.c): an unchanged section is left
     * alone, and a section where a key that is not reloadable changed
     * keeps running with its current values until a restart. */
    size_t restart = 0;
    size_t changed = plt__cfg_reload_diff(p->cfg, cfg, p->name, &restart);
    if (changed == 0 || restart > 0 || !p->desc->reconfigure) {
        plt__cfg_free(cfg);
        plt__doc_free(doc);
        if (changed == 0)
            return 0;
        set_error(fh, "plugin %s: %s; restart to apply the new settings",
                  p->name,
                  restart ? "a key that is not reloadable changed"
                          : "the plugin cannot reload its settings");
        return PLT_ENOTSUP;
    }
    free(p->error);
    p->error = NULL;
    rc = p->desc->reconfigure(p, cfg, PLT_RECONF_CHECK);
    if (rc != 0) {
        rc = rc < 0 ? rc : PLT_ECONFIG;
        set_error(fh, "plugin %s refused the new settings: %s (%s)", p->name,
                  p->error ? p->error : plt__strerror(rc), plt__err_name(rc));
        plt__cfg_free(cfg);
        plt__doc_free(doc);
        return rc;
    }
    rc = p->desc->reconfigure(p, cfg, PLT_RECONF_APPLY);
    if (rc != 0)
        plt__log("core", PLT_LOG_ERROR,
                 "plugin %s failed to apply settings it had accepted: %s",
                 p->name, plt__strerror(rc < 0 ? rc : PLT_EINVAL));
    plt__cfg_free(p->cfg);
    plt__doc_free(e->doc);
    p->cfg = cfg;
    e->doc = doc;
    return 0;
}

int
plt_fake_host_command(plt_fake_host *fh, plt_plugin *p, const char *name,
                      int argc, char **argv, int *status)
{
    if (!fh || !p || !name || !status || argc < 0)
        return PLT_EINVAL;
    fake_plugin *e = find_by_core(fh, p);
    if (!e)
        return PLT_EINVAL;
    const plt_command *cmd = NULL;
    for (const plt_command *c = p->desc->commands; c && c->name; c++)
        if (strcmp(c->name, name) == 0)
            cmd = c;
    if (!cmd) {
        set_error(fh, "plugin %s has no command '%s'", p->name, name);
        return PLT_ENOENT;
    }
    if (p->state != PLT__P_STARTED) {
        set_error(fh, "plugin %s: start it before running a command", p->name);
        return PLT_ESTATE;
    }
    free(p->error);
    p->error = NULL;
    e->cmd_done = false;
    int rc = cmd->run(p, argc, argv);
    if (rc == PLT_EINPROGRESS) {
        rc = wait_for(fh, &e->cmd_done);
        if (rc != 0) {
            set_error(fh,
                      "plugin %s: command '%s' did not call "
                      "plt_command_done() within %llu ms",
                      p->name, name, (unsigned long long)fh->stop_timeout_ms);
            return rc;
        }
        rc = e->cmd_status;
    }
    if (rc < 0) {
        plugin_failed(fh, p, name, rc);
        return rc;
    }
    *status = rc;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Services */

int
plt_fake_host_provide(plt_fake_host *fh, const char *name, uint16_t major,
                      uint16_t minor, const void *vtable, void *impl)
{
    if (!fh || !plt__name_valid(name) || !vtable)
        return PLT_EINVAL;
    for (size_t i = 0; i < fh->nstubs; i++)
        if (strcmp(fh->stub_names[i], name) == 0)
            return PLT_EEXIST;
    char **v = realloc(fh->stub_names, (fh->nstubs + 2) * sizeof(*v));
    if (!v)
        return PLT_ENOMEM;
    fh->stub_names = v;
    char *copy = plt__strdup(name);
    if (!copy)
        return PLT_ENOMEM;
    v[fh->nstubs] = copy;
    v[fh->nstubs + 1] = NULL;
    /* The registry accepts only services the provider declares. */
    fh->harness_desc.provides = (const char *const *)v;
    plt_service_desc d = {.size = sizeof(d),
                          .major = major,
                          .minor = minor,
                          .name = copy,
                          .vtable = vtable,
                          .impl = impl};
    int rc = plt__registry_provide(fh->ctx.reg, &fh->harness, &d);
    if (rc != 0) {
        free(copy);
        v[fh->nstubs] = NULL;
        return rc;
    }
    fh->nstubs++;
    return 0;
}

int
plt_fake_host_acquire(plt_fake_host *fh, const char *name, uint16_t major,
                      uint16_t min_minor, plt_service_ref *out)
{
    if (!fh || !name || !out)
        return PLT_EINVAL;
    return plt__registry_acquire(fh->ctx.reg, NULL, name, major, min_minor,
                                 out);
}

/* ------------------------------------------------------------------ */
/* Events */

int
plt_fake_host_publish(plt_fake_host *fh, const char *topic,
                      const plt_fake_field *fields, size_t n)
{
    if (!fh || (n && !fields))
        return PLT_EINVAL;
    plt_event *ev;
    int rc = plt__event_new(&ev, fh->harness.name,
                            plt__clock_now(&fh->ctx.clock), topic, 1);
    if (rc != 0) {
        set_error(fh, "invalid event topic '%s' (want domain.object.verb)",
                  topic ? topic : "(null)");
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        rc = plt__event_set(ev, fields[i].key, &fields[i].value);
        if (rc != 0) {
            set_error(fh, "event %s: invalid field '%s'", topic,
                      fields[i].key ? fields[i].key : "(null)");
            plt__event_unref(ev);
            return rc;
        }
    }
    return plt__bus_publish(&fh->ctx.bus, ev);
}

static bool
matches(const char *pattern, const plt_event *ev)
{
    return !pattern || strcmp(pattern, "*") == 0 ||
           plt__pattern_match(pattern, ev->topic);
}

size_t
plt_fake_host_event_count(const plt_fake_host *fh, const char *pattern)
{
    size_t n = 0;
    for (size_t i = 0; i < fh->nevents; i++)
        if (matches(pattern, fh->events[i]))
            n++;
    return n;
}

const plt_event *
plt_fake_host_event_at(const plt_fake_host *fh, const char *pattern, size_t i)
{
    for (size_t k = 0; k < fh->nevents; k++)
        if (matches(pattern, fh->events[k]) && i-- == 0)
            return fh->events[k];
    return NULL;
}

const plt_event *
plt_fake_host_event_last(const plt_fake_host *fh, const char *pattern)
{
    for (size_t k = fh->nevents; k-- > 0;)
        if (matches(pattern, fh->events[k]))
            return fh->events[k];
    return NULL;
}

void
plt_fake_host_events_clear(plt_fake_host *fh)
{
    for (size_t i = 0; i < fh->nevents; i++)
        plt__event_unref(fh->events[i]);
    fh->nevents = 0;
}

const char *
plt_fake_event_topic(const plt_event *ev)
{
    return ev ? ev->topic : NULL;
}

const char *
plt_fake_event_source(const plt_event *ev)
{
    return ev ? ev->source : NULL;
}

int64_t
plt_fake_event_time(const plt_event *ev)
{
    return ev ? ev->time_ms : 0;
}

int
plt_fake_event_get(const plt_event *ev, const char *key, plt_value *out)
{
    if (!ev || !key || !out)
        return PLT_EINVAL;
    return plt__event_get(ev, key, out);
}

const char *
plt_fake_event_str(const plt_event *ev, const char *key)
{
    plt_value v;
    if (plt_fake_event_get(ev, key, &v) != 0 || v.type != PLT_T_STR)
        return NULL;
    return v.v.s;
}

int64_t
plt_fake_event_i64(const plt_event *ev, const char *key, int64_t def)
{
    plt_value v;
    if (plt_fake_event_get(ev, key, &v) != 0)
        return def;
    if (v.type == PLT_T_I64 || v.type == PLT_T_BOOL || v.type == PLT_T_TIME)
        return v.v.i;
    return def;
}

size_t
plt_fake_event_count(const plt_event *ev)
{
    return ev ? ev->n : 0;
}

int
plt_fake_event_field_at(const plt_event *ev, size_t i, const char **key,
                        plt_value *out)
{
    if (!ev)
        return PLT_EINVAL;
    return plt__event_field_at(ev, i, key, out);
}

double
plt_fake_event_double(const plt_event *ev, const char *key, double def)
{
    plt_value v;
    if (plt_fake_event_get(ev, key, &v) != 0)
        return def;
    if (v.type == PLT_T_DOUBLE)
        return v.v.d;
    if (v.type == PLT_T_I64)
        return (double)v.v.i;
    return def;
}

/* ------------------------------------------------------------------ */
/* Logs */

static bool
log_matches(const fake_log *l, int min_level, const char *substring)
{
    return l->level <= min_level &&
           (!substring || strstr(l->text, substring) != NULL);
}

size_t
plt_fake_host_log_count(const plt_fake_host *fh, int min_level,
                        const char *substring)
{
    plt_fake_host *m = (plt_fake_host *)fh; /* the mutex is not const */
    size_t n = 0;
    uv_mutex_lock(&m->log_mu);
    for (size_t i = 0; i < fh->nlogs; i++)
        if (log_matches(&fh->logs[i], min_level, substring))
            n++;
    uv_mutex_unlock(&m->log_mu);
    return n;
}

const char *
plt_fake_host_log_last(const plt_fake_host *fh, int min_level,
                       const char *substring, int *level, const char **who)
{
    plt_fake_host *m = (plt_fake_host *)fh;
    const char *text = NULL;
    uv_mutex_lock(&m->log_mu);
    for (size_t i = fh->nlogs; i-- > 0;) {
        const fake_log *l = &fh->logs[i];
        if (log_matches(l, min_level, substring)) {
            text = l->text;
            if (level)
                *level = l->level;
            if (who)
                *who = l->who;
            break;
        }
    }
    uv_mutex_unlock(&m->log_mu);
    return text;
}

void
plt_fake_host_logs_clear(plt_fake_host *fh)
{
    uv_mutex_lock(&fh->log_mu);
    for (size_t i = 0; i < fh->nlogs; i++) {
        free(fh->logs[i].who);
        free(fh->logs[i].text);
    }
    fh->nlogs = 0;
    uv_mutex_unlock(&fh->log_mu);
}
