/* SPDX-License-Identifier: MIT */
/*
 * The core's lifecycle: read the configuration, open the enabled plugins
 * and check their sections, order them by their service dependencies, then
 * init and start them in that order; stop them in reverse order (a plugin
 * may take time to drain, under a deadline), finalise them, and release
 * whatever they left behind. A failure at any step names the plugin and
 * the cause, and leaves nothing half-started: what was started is stopped
 * in reverse order before the process exits.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static const char *const log_levels[] = {"error", "warn", "notice", "info",
                                         "debug", NULL};
static const char *const clock_modes[] = {"real", "simulated", NULL};

const plt_cfg_key plt__core_schema[] = {
    {.name = "data_dir", .type = PLT_CFG_PATH, .def = "data",
     .help = "where plugins keep their data (relative to this file)"},
    {.name = "log_level", .type = PLT_CFG_STR, .def = "info",
     .flags = PLT_CFG_RELOADABLE, .choices = log_levels,
     .help = "error, warn, notice, info or debug"},
    {.name = "log_file", .type = PLT_CFG_PATH,
     .help = "append logs to this file instead of stderr"},
    {.name = "plugin_path", .type = PLT_CFG_LIST,
     .help = "directories searched for plugins before the built-in one"},
    {.name = "stop_timeout", .type = PLT_CFG_DURATION, .def = "10s",
     .min = 0, .max = 3600000,
     .help = "how long a plugin may take to stop (e.g. to drain calls)"},
    {.name = "clock", .type = PLT_CFG_STR, .def = "real",
     .choices = clock_modes,
     .help = "real, or simulated (virtual time jumps to the next timer)"},
    {.name = "sim_start", .type = PLT_CFG_STR,
     .def = "2026-01-05T08:00:00Z",
     .help = "simulated clock start, UTC (YYYY-MM-DDTHH:MM:SSZ)"},
    PLT_CFG_END,
};

int
plt__log_level_from_name(const char *s)
{
    static const int lv[] = {PLT_LOG_ERROR, PLT_LOG_WARN, PLT_LOG_NOTICE,
                             PLT_LOG_INFO, PLT_LOG_DEBUG};
    for (size_t i = 0; log_levels[i]; i++)
        if (s && strcmp(s, log_levels[i]) == 0)
            return lv[i];
    return PLT_LOG_INFO;
}

static int
parse_utc(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!end || (*end != 'Z' && *end != '\0') || (*end == 'Z' && end[1]))
        return PLT_EINVAL;
    *out = (int64_t)timegm(&tm) * 1000;
    return 0;
}

char *
plt__default_plugin_dir(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return plt__strdup("/usr/local/" PLATEAU_PLUGIN_SUBDIR);
    exe[n] = '\0';
    char *bindir = plt__dirname(exe);
    if (!bindir)
        return NULL;
    char *rel = plt__asprintf("../%s", PLATEAU_PLUGIN_SUBDIR);
    char *dir = rel ? plt__path_join(bindir, rel) : NULL;
    free(rel);
    free(bindir);
    return dir;
}

int
plt__core_init(plt__core *c, const plt__core_opts *opts)
{
    memset(c, 0, sizeof(*c));
    if (opts)
        c->opts = *opts;
    int rc = uv_loop_init(&c->loop);
    if (rc != 0)
        return rc;
    c->loop_ready = true;
    return 0;
}

plt_plugin *
plt__core_find(plt__core *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->plugins[i]->name, name) == 0)
            return c->plugins[i];
    return NULL;
}

static int
add_dir(plt__core *c, char *dir)
{
    if (!dir)
        return PLT_ENOMEM;
    char **v = realloc(c->dirs, (c->ndirs + 1) * sizeof(*v));
    if (!v) {
        free(dir);
        return PLT_ENOMEM;
    }
    c->dirs = v;
    c->dirs[c->ndirs++] = dir;
    return 0;
}

static int
keep_doc(plt__core *c, plt__doc *doc)
{
    plt__doc **v = realloc(c->docs, (c->ndocs + 1) * sizeof(*v));
    if (!v)
        return PLT_ENOMEM;
    c->docs = v;
    c->docs[c->ndocs++] = doc;
    return 0;
}

/* Resolve one `plugins:` entry to a path and open it. */
static void
open_entry(plt__core *c, const char *file, int line, const char *entry,
           const char *confdir, plt__diags *d)
{
    char *path = NULL;
    if (strchr(entry, '/') || strstr(entry, ".so")) {
        path = plt__path_join(confdir, entry);
    } else if (!plt__name_valid(entry)) {
        plt__diags_add(d, file, line, "plugins: invalid plugin name '%s'",
                       entry);
        return;
    } else {
        path = plt__plugin_find((const char *const *)c->dirs, c->ndirs,
                                entry);
        if (!path) {
            char dirs[1024] = "";
            for (size_t i = 0; i < c->ndirs; i++) {
                if (i)
                    strncat(dirs, ", ", sizeof(dirs) - strlen(dirs) - 1);
                strncat(dirs, c->dirs[i], sizeof(dirs) - strlen(dirs) - 1);
            }
            plt__diags_add(d, file, line,
                           "plugins: no plugin '%s' (looked for %s.so in %s)",
                           entry, entry, dirs);
            return;
        }
    }
    if (!path)
        return;
    plt_plugin *p = NULL;
    if (plt__plugin_open(path, &p, d) == 0) {
        if (plt__core_find(c, p->name)) {
            plt__diags_add(d, file, line,
                           "plugins: '%s' is enabled twice (second from %s)",
                           p->name, path);
            plt__plugin_close(p);
        } else {
            plt_plugin **v = realloc(c->plugins, (c->n + 1) * sizeof(*v));
            if (!v) {
                plt__plugin_close(p);
            } else {
                c->plugins = v;
                c->plugins[c->n++] = p;
            }
        }
    }
    free(path);
}

int
plt__core_load(plt__core *c, const char *config_path, plt__diags *d)
{
    plt__doc *doc = NULL;
    free(c->config_path);
    c->config_path = plt__strdup(config_path);
    if (plt__doc_load(config_path, &doc, d) != 0)
        return PLT_ECONFIG;
    if (keep_doc(c, doc) != 0) {
        plt__doc_free(doc);
        return PLT_ENOMEM;
    }
    const char *file = plt__doc_file(doc);
    const plt__node *root = plt__doc_root(doc);
    if (root && plt__node_kind(root) != PLT__N_MAP) {
        plt__diags_add(d, file, plt__node_line(root),
                       "the configuration must be a mapping of sections "
                       "(core:, plugins:, ...)");
        return PLT_ECONFIG;
    }

    int rc = plt__cfg_build(doc, root ? plt__node_get(root, "core") : NULL,
                            plt__core_schema, "core", &c->core_cfg, d);
    if (rc != 0) {
        /* Go on with the defaults so that every other problem of the
         * file is reported in the same run. */
        rc = PLT_ECONFIG;
        if (!c->core_cfg && plt__cfg_build(doc, NULL, plt__core_schema, "core",
                                           &c->core_cfg, NULL) != 0)
            return PLT_ECONFIG;
    }
    const char *lvl = NULL;
    plt__cfg_get(c->core_cfg, "log_level", PLT_CFG_STR, &lvl);
    plt__log_set_level(c->opts.log_level ? c->opts.log_level
                                         : plt__log_level_from_name(lvl));
    plt__cfg_get(c->core_cfg, "stop_timeout", PLT_CFG_DURATION,
                 &c->stop_timeout_ms);
    const char *sim_start = NULL;
    int64_t ignored;
    if (plt__cfg_get(c->core_cfg, "sim_start", PLT_CFG_STR, &sim_start) == 0 &&
        parse_utc(sim_start, &ignored) != 0) {
        int line = 0;
        const char *f = file;
        plt__cfg_where(c->core_cfg, "sim_start", &f, &line);
        plt__diags_add(d, f, line,
                       "core.sim_start: expected a UTC time such as "
                       "2026-01-05T08:00:00Z, got \"%s\"",
                       sim_start);
        rc = PLT_ECONFIG;
    }

    /* Search path: core.plugin_path, then the built-in directory. */
    size_t np = 0;
    plt__cfg_count(c->core_cfg, "plugin_path", &np);
    char *confdir = plt__dirname(file);
    for (size_t i = 0; i < np; i++) {
        const char *dir;
        if (plt__cfg_list_at(c->core_cfg, "plugin_path", i, &dir) == 0)
            add_dir(c, plt__path_join(confdir, dir));
    }
    add_dir(c, c->opts.plugin_dir ? plt__strdup(c->opts.plugin_dir)
                                  : plt__default_plugin_dir());

    const plt__node *plist = root ? plt__node_get(root, "plugins") : NULL;
    if (!plist) {
        plt__diags_add(d, file, 0,
                       "no `plugins:` list: name the plugins to enable, e.g. "
                       "plugins: [storage_sqlite, web]");
        rc = PLT_ECONFIG;
    } else if (plt__node_kind(plist) != PLT__N_SEQ) {
        plt__diags_add(d, file, plt__node_line(plist),
                       "plugins: expected a list of plugin names");
        rc = PLT_ECONFIG;
    } else {
        size_t before = d->n;
        for (size_t i = 0; i < plt__node_len(plist); i++) {
            const plt__node *it = plt__node_at(plist, i);
            const char *s = plt__node_scalar(it);
            if (!s) {
                plt__diags_add(d, file, plt__node_line(it),
                               "plugins[%zu]: expected a plugin name", i);
                continue;
            }
            open_entry(c, file, plt__node_line(it), s, confdir, d);
        }
        if (d->n > before)
            rc = PLT_ECONFIG;
    }
    free(confdir);

    /* services: explicit providers. */
    const plt__node *svcs = root ? plt__node_get(root, "services") : NULL;
    if (svcs && plt__node_kind(svcs) != PLT__N_MAP &&
        !(plt__node_kind(svcs) == PLT__N_SCALAR &&
          plt__node_scalar(svcs)[0] == '\0')) {
        plt__diags_add(d, file, plt__node_line(svcs),
                       "services: expected a mapping such as "
                       "{storage: storage_sqlite}");
        rc = PLT_ECONFIG;
    } else if (svcs && plt__node_kind(svcs) == PLT__N_MAP) {
        for (size_t i = 0; i < plt__node_len(svcs); i++) {
            int line = 0;
            const plt__node *v = NULL;
            const char *k = plt__node_key_at(svcs, i, &line, &v);
            const char *prov = v ? plt__node_scalar(v) : NULL;
            if (!prov || !plt__name_valid(prov) || !plt__name_valid(k)) {
                plt__diags_add(d, file, line,
                               "services.%s: expected the name of the plugin "
                               "that provides it",
                               k);
                rc = PLT_ECONFIG;
                continue;
            }
            plt__registry_bind(&c->binds, k, prov);
        }
    }

    /* Plugin sections; top-level keys naming no enabled plugin. */
    for (size_t i = 0; root && i < plt__node_len(root); i++) {
        int line = 0;
        const char *k = plt__node_key_at(root, i, &line, NULL);
        if (strcmp(k, "core") == 0 || strcmp(k, "plugins") == 0 ||
            strcmp(k, "services") == 0 || plt__core_find(c, k))
            continue;
        /* A listed plugin that failed to open was reported already. */
        bool listed = false;
        for (size_t j = 0; plist && plt__node_kind(plist) == PLT__N_SEQ &&
                           j < plt__node_len(plist) && !listed;
             j++) {
            const char *s = plt__node_scalar(plt__node_at(plist, j));
            listed = s && strcmp(s, k) == 0;
        }
        if (listed)
            continue;
        plt__log("core", PLT_LOG_WARN,
                 "%s:%d: section '%s' is ignored: no enabled plugin has that "
                 "name",
                 file, line, k);
    }
    static const plt_cfg_key no_keys[] = {PLT_CFG_END};
    for (size_t i = 0; i < c->n; i++) {
        plt_plugin *p = c->plugins[i];
        const plt_cfg_key *schema =
            p->desc->config_keys ? p->desc->config_keys : no_keys;
        if (plt__cfg_build(doc, root ? plt__node_get(root, p->name) : NULL,
                           schema, p->name, &p->cfg, d) != 0)
            rc = PLT_ECONFIG;
    }
    if (rc != 0)
        return rc;

    c->order = calloc(c->n + 1, sizeof(size_t));
    c->active = calloc(c->n + 1, sizeof(bool));
    if (!c->order || !c->active)
        return PLT_ENOMEM;
    rc = plt__graph_order(c->plugins, c->n, &c->binds, c->order, d);
    for (size_t i = 0; i < c->n; i++) {
        c->active[i] = true;
        c->plugins[c->order[i]]->order = i;
    }
    return rc;
}

void
plt__core_select(plt__core *c, plt_plugin *target)
{
    /* Mark the target, then walk the start order backwards: a plugin is
     * needed if it provides a service to a plugin already marked. */
    for (size_t i = 0; i < c->n; i++)
        c->active[i] = c->plugins[i] == target;
    for (size_t k = c->n; k-- > 0;) {
        plt_plugin *p = c->plugins[c->order[k]];
        if (!c->active[c->order[k]])
            continue;
        for (const plt_dep *dp = p->desc->needs; dp && dp->service; dp++) {
            plt_plugin *prov =
                plt__graph_provider(c->plugins, c->n, &c->binds, dp->service);
            for (size_t j = 0; prov && j < c->n; j++)
                if (c->plugins[j] == prov)
                    c->active[j] = true;
        }
    }
}

/* ---- stopping ---- */

static void stop_step(plt__core *c);
static void finish(plt__core *c);

static void
on_step_timer(uv_timer_t *t)
{
    stop_step(t->data);
}

static void
on_stop_deadline(uv_timer_t *t)
{
    plt__core *c = t->data;
    plt_plugin *p = c->waiting;
    if (!p)
        return;
    plt__log("core", PLT_LOG_WARN,
             "plugin %s did not finish stopping within %lld ms; going on",
             p->name, (long long)c->stop_timeout_ms);
    p->state = PLT__P_STOPPED;
    c->waiting = NULL;
    stop_step(c);
}

static void
core_on_stopped(plt__ctx *ctx, plt_plugin *p)
{
    plt__core *c = ctx->owner;
    if (p->state == PLT__P_STOPPING)
        p->state = PLT__P_STOPPED;
    if (c->waiting == p) {
        c->waiting = NULL;
        uv_timer_stop(&c->stop_timer);
        /* Continue outside the plugin's call stack. */
        uv_timer_start(&c->step_timer, on_step_timer, 0, 0);
    }
}

static void
core_on_command_done(plt__ctx *ctx, plt_plugin *p, int status)
{
    plt__core *c = ctx->owner;
    (void)p;
    c->cmd_done = true;
    plt__core_request_stop(c, status);
}

static void
stop_step(plt__core *c)
{
    if (c->waiting)
        return;
    while (c->stop_pos > 0) {
        size_t idx = c->order[--c->stop_pos];
        plt_plugin *p = c->plugins[idx];
        if (!c->active[idx] || p->state != PLT__P_STARTED)
            continue;
        p->state = PLT__P_STOPPING;
        plt__log("core", PLT_LOG_DEBUG, "stopping plugin %s", p->name);
        int rc = p->desc->stop ? p->desc->stop(p) : 0;
        if (rc == PLT_EINPROGRESS && p->state == PLT__P_STOPPING) {
            plt__log("core", PLT_LOG_INFO,
                     "waiting for plugin %s to finish stopping", p->name);
            c->waiting = p;
            uv_timer_start(&c->stop_timer, on_stop_deadline,
                           (uint64_t)c->stop_timeout_ms, 0);
            return;
        }
        if (rc < 0 && rc != PLT_EINPROGRESS)
            plt__log("core", PLT_LOG_WARN, "plugin %s: stop failed: %s",
                     p->name, p->error ? p->error : plt__strerror(rc));
        p->state = PLT__P_STOPPED;
    }
    finish(c);
}

void
plt__core_request_stop(plt__core *c, int exit_code)
{
    if (c->stopping)
        return;
    c->stopping = true;
    c->exit_code = exit_code;
    c->stop_pos = c->n;
    stop_step(c);
}

static void
close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h))
        return;
    plt__log("core", PLT_LOG_WARN,
             "a plugin left a %s handle open after stopping; closing it",
             uv_handle_type_name(uv_handle_get_type(h)));
    uv_close(h, NULL);
}

static void
finish(plt__core *c)
{
    if (c->stopped_all)
        return;
    c->stopped_all = true;
    if (c->ctx_ready) {
        plt__bus_set_delivering(&c->ctx.bus, false);
        /* Results posted by plugin threads before they stopped still run. */
        plt__post_drain(&c->ctx.post);
    }
    for (size_t k = c->n; k-- > 0;) {
        size_t idx = c->order[k];
        plt_plugin *p = c->plugins[idx];
        if (!c->active[idx] || p->state < PLT__P_INITED ||
            p->state >= PLT__P_FINI)
            continue;
        if (p->desc->fini)
            p->desc->fini(p);
        p->state = PLT__P_FINI;
        plt__plugin_reap(p);
    }
    if (c->signals_on) {
        for (size_t i = 0; i < 3; i++)
            uv_close((uv_handle_t *)&c->sig[i], NULL);
        c->signals_on = false;
    }
    if (c->timers_on) {
        uv_close((uv_handle_t *)&c->stop_timer, NULL);
        uv_close((uv_handle_t *)&c->step_timer, NULL);
        c->timers_on = false;
    }
    plt__log_set_clock(NULL, NULL);
    if (c->ctx_ready)
        plt__ctx_close(&c->ctx);
    c->ctx_ready = false;
    uv_walk(&c->loop, close_walk, NULL);
}

/* ---- signals ---- */

static void
on_signal(uv_signal_t *h, int signum)
{
    plt__core *c = h->data;
    if (signum == SIGHUP) {
        plt__log("core", PLT_LOG_NOTICE, "SIGHUP: reloading %s",
                 c->config_path);
        plt__core_reload(c);
        return;
    }
    if (c->stopping) {
        plt__log("core", PLT_LOG_WARN, "second %s: exiting now",
                 signum == SIGINT ? "SIGINT" : "SIGTERM");
        plt__log_thread_stop();
        _exit(128 + signum);
    }
    plt__log("core", PLT_LOG_NOTICE, "%s: stopping",
             signum == SIGINT ? "SIGINT" : "SIGTERM");
    plt__core_request_stop(c, 0);
}

static int64_t
log_clock(void *arg)
{
    return plt__clock_now(arg);
}

/* ---- starting ---- */

static bool
registered(plt__ctx *ctx, plt_plugin *p, const char *svc)
{
    for (size_t i = 0; i < ctx->reg->n; i++)
        if (ctx->reg->v[i].provider == p &&
            strcmp(ctx->reg->v[i].desc.name, svc) == 0)
            return true;
    return false;
}

static const plt__service *
find_service(plt__ctx *ctx, plt_plugin *prov, const char *svc)
{
    for (size_t i = 0; i < ctx->reg->n; i++)
        if (ctx->reg->v[i].provider == prov &&
            strcmp(ctx->reg->v[i].desc.name, svc) == 0)
            return &ctx->reg->v[i];
    return NULL;
}

static void
report_failure(plt_plugin *p, const char *phase, int rc)
{
    if (p->error)
        plt__log("core", PLT_LOG_ERROR, "plugin %s: %s failed: %s (%s)",
                 p->name, phase, p->error, plt__err_name(rc));
    else
        plt__log("core", PLT_LOG_ERROR, "plugin %s: %s failed: %s (%s)",
                 p->name, phase, plt__strerror(rc), plt__err_name(rc));
}

/* Versions can only be checked once providers registered in init. */
static int
check_versions(plt__core *c)
{
    int rc = 0;
    for (size_t i = 0; i < c->n; i++) {
        plt_plugin *p = c->plugins[i];
        if (!c->active[i])
            continue;
        for (const plt_dep *dp = p->desc->needs; dp && dp->service; dp++) {
            plt_plugin *prov =
                plt__graph_provider(c->plugins, c->n, &c->binds, dp->service);
            if (!prov)
                continue;
            const plt__service *s = find_service(&c->ctx, prov, dp->service);
            if (!s)
                continue;
            if (s->desc.major != dp->major || s->desc.minor < dp->min_minor) {
                plt__log("core", PLT_LOG_ERROR,
                         "plugin %s needs service '%s' %u.%u+, but plugin %s "
                         "provides %u.%u",
                         p->name, dp->service, dp->major, dp->min_minor,
                         prov->name, s->desc.major, s->desc.minor);
                rc = PLT_EVERSION;
            }
        }
    }
    return rc;
}

/* Stop and finalise after a failed init or start, running the loop so
 * that asynchronous stops can complete. */
static void
unwind(plt__core *c)
{
    plt__core_request_stop(c, 1);
    uv_run(&c->loop, UV_RUN_DEFAULT);
}

int
plt__core_start(plt__core *c)
{
    const char *data_dir = NULL, *clock = NULL, *sim_start = NULL,
               *log_file = NULL;
    plt__cfg_get(c->core_cfg, "data_dir", PLT_CFG_PATH, &data_dir);
    plt__cfg_get(c->core_cfg, "clock", PLT_CFG_STR, &clock);
    plt__cfg_get(c->core_cfg, "sim_start", PLT_CFG_STR, &sim_start);
    if (!c->check_only &&
        plt__cfg_get(c->core_cfg, "log_file", PLT_CFG_PATH, &log_file) == 0) {
        int rc = plt__log_open(log_file, plt__log_level());
        if (rc != 0) {
            plt__log("core", PLT_LOG_ERROR, "cannot open log file %s: %s",
                     log_file, plt__strerror(rc));
            return rc;
        }
    }
    int rc = c->check_only ? 0 : plt__mkdir_p(data_dir, 0750);
    if (rc != 0) {
        plt__log("core", PLT_LOG_ERROR, "cannot create data directory %s: %s",
                 data_dir, plt__strerror(rc));
        return rc;
    }
    bool simulated = clock && strcmp(clock, "simulated") == 0;
    int64_t start_ms = 0;
    if (simulated)
        parse_utc(sim_start, &start_ms);
    rc = plt__ctx_init(&c->ctx, &c->loop, simulated, start_ms);
    if (rc != 0)
        return rc;
    c->ctx_ready = true;
    c->ctx.owner = c;
    c->ctx.on_stopped = core_on_stopped;
    c->ctx.on_command_done = core_on_command_done;
    c->ctx.data_dir = plt__strdup(data_dir);
    /* The bindings move into the live registry. */
    c->ctx.reg->bind = c->binds.bind;
    c->ctx.reg->nbind = c->binds.nbind;
    c->binds.bind = NULL;
    c->binds.nbind = 0;
    uv_timer_init(&c->loop, &c->stop_timer);
    uv_timer_init(&c->loop, &c->step_timer);
    c->stop_timer.data = c->step_timer.data = c;
    c->timers_on = true;
    plt__log_set_clock(log_clock, &c->ctx.clock);
    if (!c->opts.sync_log)
        plt__log_thread_start();
    if (simulated)
        plt__log("core", PLT_LOG_NOTICE, "simulated clock from %s", sim_start);

    for (size_t k = 0; k < c->n; k++) {
        size_t idx = c->order[k];
        plt_plugin *p = c->plugins[idx];
        if (!c->active[idx])
            continue;
        plt__plugin_bind(p, &c->ctx);
        plt__log("core", PLT_LOG_DEBUG, "init %s %s (%s)", p->name,
                 p->desc->version ? p->desc->version : "", p->path);
        p->in_init = true;
        rc = p->desc->init(p, p->cfg);
        p->in_init = false;
        if (rc != 0) {
            report_failure(p, "init", rc < 0 ? rc : PLT_EINVAL);
            /* A failed init cleans up after itself and is not finalised;
             * the core still releases what it registered. */
            p->state = PLT__P_FINI;
            plt__plugin_reap(p);
            unwind(c);
            return rc < 0 ? rc : PLT_EINVAL;
        }
        p->state = PLT__P_INITED;
        for (const char *const *s = p->desc->provides; s && *s; s++) {
            if (!registered(&c->ctx, p, *s)) {
                plt__log("core", PLT_LOG_ERROR,
                         "plugin %s declares it provides '%s' but did not "
                         "register it in init()",
                         p->name, *s);
                unwind(c);
                return PLT_ENOSERVICE;
            }
        }
    }
    rc = check_versions(c);
    if (rc != 0) {
        unwind(c);
        return rc;
    }
    if (c->check_only) {
        for (size_t k = 0; k < c->n; k++) {
            plt_plugin *p = c->plugins[c->order[k]];
            if (!c->active[c->order[k]] || !p->desc->check)
                continue;
            int r = p->desc->check(p);
            if (r != 0) {
                report_failure(p, "check", r < 0 ? r : PLT_EINVAL);
                rc = r < 0 ? r : PLT_EINVAL;
            }
        }
        unwind(c);
        return rc;
    }
    for (size_t k = 0; k < c->n; k++) {
        size_t idx = c->order[k];
        plt_plugin *p = c->plugins[idx];
        if (!c->active[idx])
            continue;
        rc = p->desc->start ? p->desc->start(p) : 0;
        if (rc != 0) {
            report_failure(p, "start", rc < 0 ? rc : PLT_EINVAL);
            /* A plugin whose start failed cleans up in fini, not stop. */
            p->state = PLT__P_STOPPED;
            unwind(c);
            return rc < 0 ? rc : PLT_EINVAL;
        }
        p->state = PLT__P_STARTED;
        plt__log("core", PLT_LOG_INFO, "started %s %s (%s)", p->name,
                 p->desc->version ? p->desc->version : "",
                 p->path ? p->path : "linked in");
    }

    static const int signums[3] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < 3; i++) {
        uv_signal_init(&c->loop, &c->sig[i]);
        c->sig[i].data = c;
        uv_signal_start(&c->sig[i], on_signal, signums[i]);
    }
    c->signals_on = true;
    signal(SIGPIPE, SIG_IGN);
    plt__bus_set_delivering(&c->ctx.bus, true);
    return 0;
}

int
plt__core_check(plt__core *c)
{
    c->check_only = true;
    return plt__core_start(c);
}

int
plt__core_run(plt__core *c)
{
    uv_run(&c->loop, UV_RUN_DEFAULT);
    return c->exit_code;
}

void
plt__core_free(plt__core *c)
{
    if (c->ctx_ready) {
        /* Never started the loop (e.g. `plateau check`): stop nothing,
         * just release. */
        finish(c);
    }
    if (c->loop_ready) {
        uv_run(&c->loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&c->loop) != 0)
            plt__log("core", PLT_LOG_WARN, "event loop closed with handles "
                                           "still open");
    }
    plt__log_thread_stop();
    for (size_t i = 0; i < c->n; i++)
        plt__plugin_close(c->plugins[i]);
    free(c->plugins);
    free(c->order);
    free(c->active);
    if (c->core_cfg)
        plt__cfg_free(c->core_cfg);
    for (size_t i = 0; i < c->ndocs; i++)
        plt__doc_free(c->docs[i]);
    free(c->docs);
    for (size_t i = 0; i < c->ndirs; i++)
        free(c->dirs[i]);
    free(c->dirs);
    plt__registry_free(&c->binds);
    free(c->config_path);
    memset(c, 0, sizeof(*c));
}
