/* SPDX-License-Identifier: MIT */
/*
 * Core-internal declarations shared by the files of core/ and by the SDK's
 * fake host (which reuses the real clock, bus, config and host table).
 * Nothing here is part of the plugin contract.
 */
#ifndef PLATEAU_CORE_INTERNAL_H
#define PLATEAU_CORE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <uv.h>

#include "plateau/plateau.h"
#include "plateau/loop.h"

/* ------------------------------------------------------------------ */
/* Diagnostics: a list of "file:line: message" errors (config, loader). */

typedef struct plt__diag {
    char *file; /* may be NULL */
    int line;   /* 0 when unknown */
    char *msg;
} plt__diag;

typedef struct plt__diags {
    plt__diag *v;
    size_t n, cap;
} plt__diags;

void plt__diags_add(plt__diags *d, const char *file, int line,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void plt__diags_print(const plt__diags *d, FILE *to);
void plt__diags_clear(plt__diags *d);

/* ------------------------------------------------------------------ */
/* Config (config.c): YAML document, validation against schemas, getters. */

/* A parsed YAML document with line numbers. */
typedef struct plt__doc plt__doc;
/* A node of it (mapping, sequence or scalar). */
typedef struct plt__node plt__node;

/* Parse @p path. On a syntax error returns PLT_ECONFIG and adds
 * "file:line: message" to @p d. */
int plt__doc_load(const char *path, plt__doc **out, plt__diags *d);
/* Parse YAML text held in memory (tests, fake host). @p name is used as
 * the file name in messages and to resolve relative paths (its dir). */
int plt__doc_parse(const char *name, const char *text, size_t len,
                   plt__doc **out, plt__diags *d);
void plt__doc_free(plt__doc *doc);
/* The root mapping, or NULL for an empty document. */
const plt__node *plt__doc_root(const plt__doc *doc);
const char *plt__doc_file(const plt__doc *doc);

/* Node inspection, used by the core for its top-level keys. */
enum { PLT__N_SCALAR = 1, PLT__N_SEQ = 2, PLT__N_MAP = 3 };
int plt__node_kind(const plt__node *n);
int plt__node_line(const plt__node *n);
const char *plt__node_scalar(const plt__node *n); /* NULL unless scalar;
                                                     "" for a YAML null */
/* Whether @p n is a YAML null (`key:` with nothing, `~`, `null`). */
bool plt__node_is_null(const plt__node *n);
size_t plt__node_len(const plt__node *n);         /* items or pairs */
const plt__node *plt__node_at(const plt__node *n, size_t i); /* seq item */
/* Mapping pair i: key text and value node. */
const char *plt__node_key_at(const plt__node *n, size_t i, int *line,
                             const plt__node **val);
/* Mapping lookup by key; NULL if absent. */
const plt__node *plt__node_get(const plt__node *map, const char *key);

/* Build a validated section: @p node is a mapping or NULL (absent
 * section, defaults only). @p where names the section in messages
 * ("dialer", "core"). Every problem is added to @p d; returns 0 or
 * PLT_ECONFIG. The plt_cfg keeps a reference to @p doc's strings, so the
 * doc must outlive it (plt__cfg_free does not free the doc). */
int plt__cfg_build(const plt__doc *doc, const plt__node *node,
                   const plt_cfg_key *schema, const char *where,
                   plt_cfg **out, plt__diags *d);
void plt__cfg_free(plt_cfg *cfg);

/* Host-table getters (see plateau/config.h for their contract). */
int plt__cfg_get(const plt_cfg *cfg, const char *key, int type, void *out);
int plt__cfg_count(const plt_cfg *cfg, const char *key, size_t *out);
int plt__cfg_list_at(const plt_cfg *cfg, const char *key, size_t i,
                     const char **out);
int plt__cfg_table_at(const plt_cfg *cfg, const char *key, size_t i,
                      const plt_cfg **out);
int plt__cfg_section(const plt_cfg *cfg, const char *key,
                     const plt_cfg **out);
int plt__cfg_is_set(const plt_cfg *cfg, const char *key);
int plt__cfg_where(const plt_cfg *cfg, const char *key, const char **file,
                   int *line);

/* Print the effective section as YAML, secrets as "********". */
void plt__cfg_dump(const plt_cfg *cfg, FILE *to, int indent);

/* Compare two builds of one schema for a reload. Calls @p cb once per
 * top-level key whose effective value differs (nested sections/tables
 * compare as a whole), with that key's schema entry. Returns the number
 * of differing keys. */
size_t plt__cfg_diff(const plt_cfg *old_cfg, const plt_cfg *new_cfg,
                     void (*cb)(const plt_cfg_key *key, void *arg),
                     void *arg);

/* Classify a reload of one section: how many top-level keys differ, and
 * how many of those are not reloadable (each logged as needing a restart,
 * naming @p who.key). */
size_t plt__cfg_reload_diff(const plt_cfg *old_cfg, const plt_cfg *new_cfg,
                            const char *who, size_t *restart);

/* Validate a schema table itself (names, types, defaults parse, choices,
 * bounds, sub-schemas). Plugin bugs are reported as "plugin NAME: config
 * key 'x': ...". Returns 0 or PLT_EINVAL. */
int plt__schema_check(const plt_cfg_key *schema, const char *plugin,
                      plt__diags *d);

/* Parse helpers shared with the command line. */
int plt__parse_duration_ms(const char *s, int64_t *out);
int plt__parse_bool(const char *s, bool *out);

/* ------------------------------------------------------------------ */
/* Logging (log.c). Process-wide; lines are written by a logger thread. */

int plt__log_open(const char *file, int level); /* file NULL = stderr */
void plt__log_set_level(int level);
int plt__log_level(void);
/* Start/stop the writer thread; without it, lines are written directly
 * (before the loop starts and after it ends). */
int plt__log_thread_start(void);
void plt__log_thread_stop(void);
void plt__logv(const char *who, int level, const char *file, int line,
               int err, const char *fmt, va_list ap);
void plt__log(const char *who, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Time source for log stamps (the core clock); NULL = real time. */
void plt__log_set_clock(int64_t (*now)(void *), void *arg);
/* Lines dropped because the writer could not keep up. */
uint64_t plt__log_dropped(void);
/* Flush queued lines (used before exit and by tests). */
void plt__log_flush(void);
/* An extra receiver of every line that passes the level filter (the fake
 * host records lines with it). Called on the logging thread, i.e. the
 * caller of plt__logv. NULL removes it. */
typedef void (*plt__log_sink_fn)(void *arg, const char *who, int level,
                                 const char *msg);
void plt__log_set_sink(plt__log_sink_fn sink, void *arg);

/* ------------------------------------------------------------------ */
/* Errors (sdk/src/error.c, shared with the fake host). */

const char *plt__strerror(int err);
const char *plt__err_name(int err);

/* ------------------------------------------------------------------ */
/* Clock and timers (clock.c). */

typedef struct plt__timer_heap {
    plt_timer **v;
    size_t n, cap;
} plt__timer_heap;

typedef struct plt__clock {
    uv_loop_t *loop;
    bool simulated;
    int64_t sim_now_ms;     /* virtual UTC ms (simulated) */
    uint64_t sim_mono_ms;   /* virtual monotonic ms (simulated) */
    uint64_t seq;           /* start order, ties broken by it */
    plt__timer_heap heap;
    uv_timer_t uvt;         /* real mode: armed for the earliest timer */
    uv_idle_t idle;         /* simulated mode: advance when quiescent */
    bool idle_active;
    bool closing;
    /* Asked before advancing virtual time: true if anything is pending. */
    bool (*busy)(void *arg);
    void *busy_arg;
    uint64_t fired;         /* timers fired so far (stats, tests) */
    int64_t sim_until_ms;   /* simulated: stop advancing past this (0=none) */
    void (*on_until)(void *arg);
    void *until_arg;
} plt__clock;

int plt__clock_init(plt__clock *c, uv_loop_t *loop, bool simulated,
                    int64_t sim_start_ms);
/* Re-check whether virtual time may advance (after work finished). */
void plt__clock_kick(plt__clock *c);
int64_t plt__clock_now(const plt__clock *c);
uint64_t plt__clock_mono(const plt__clock *c);
int plt__timer_start(plt__clock *c, plt_plugin *owner, plt_timer **out,
                     uint64_t timeout_ms, uint64_t repeat_ms, plt_fn cb,
                     void *arg);
void plt__timer_stop(plt__clock *c, plt_timer *t);
/* Cancel every timer of @p owner; returns how many there were. */
size_t plt__clock_cancel_owner(plt__clock *c, plt_plugin *owner);
size_t plt__clock_pending(const plt__clock *c);
/* Close the uv handles; @p done runs when they are closed. */
void plt__clock_close(plt__clock *c);

/* ------------------------------------------------------------------ */
/* Event bus (bus.c, event.c). */

struct plt_event {
    int refs;
    bool published;
    uint32_t schema_ver;
    int64_t time_ms;
    char *topic;
    const char *source; /* plugin name (static for the plugin's life) */
    size_t n, cap;
    struct plt__field {
        char *key;
        plt_value v; /* strings and blobs owned by the event */
    } *f;
};

int plt__event_new(plt_event **out, const char *source, int64_t now_ms,
                   const char *topic, uint32_t schema_ver);
int plt__event_set(plt_event *ev, const char *key, const plt_value *v);
int plt__event_get(const plt_event *ev, const char *key, plt_value *out);
int plt__event_field_at(const plt_event *ev, size_t i, const char **key,
                        plt_value *out);
plt_event *plt__event_ref(const plt_event *ev);
void plt__event_unref(plt_event *ev);
bool plt__topic_valid(const char *topic);
bool plt__pattern_valid(const char *pattern);
bool plt__pattern_match(const char *pattern, const char *topic);

typedef struct plt__bus {
    uv_loop_t *loop;
    uv_idle_t idle;   /* drains the queue on the next loop iteration */
    bool idle_active;
    bool delivering;  /* false until every plugin started */
    bool closed;
    bool dispatching;
    plt_event **q;    /* FIFO ring */
    size_t qhead, qlen, qcap;
    plt_sub **subs;   /* in subscription order */
    size_t nsubs, capsubs;
    size_t dead;      /* unsubscribed during dispatch, swept after */
    uint64_t published, delivered;
    void (*on_idle)(void *arg); /* called when the queue drains */
    void *on_idle_arg;
} plt__bus;

int plt__bus_init(plt__bus *b, uv_loop_t *loop);
int plt__bus_publish(plt__bus *b, plt_event *ev); /* takes the ref */
int plt__bus_subscribe(plt__bus *b, plt_plugin *owner, const char *pattern,
                       plt_event_fn cb, void *arg, plt_sub **out);
void plt__bus_unsubscribe(plt__bus *b, plt_sub *s);
size_t plt__bus_cancel_owner(plt__bus *b, plt_plugin *owner);
void plt__bus_set_delivering(plt__bus *b, bool on);
/* Deliver everything queued now (tests, shutdown). */
void plt__bus_drain(plt__bus *b);
size_t plt__bus_queued(const plt__bus *b);
void plt__bus_close(plt__bus *b);

/* ------------------------------------------------------------------ */
/* Cross-thread posting and background work (post.c). */

typedef struct plt__post_item {
    struct plt__post_item *next;
    plt_fn fn;
    void *arg;
} plt__post_item;

typedef struct plt__post {
    uv_loop_t *loop;
    uv_async_t async;
    uv_mutex_t mu;
    plt__post_item *head, *tail;
    bool accepting;
    bool closed;
    atomic_long pending; /* posted not yet run + declared work in flight */
    void (*on_idle)(void *arg); /* called when pending drops to 0 */
    void *on_idle_arg;
} plt__post;

int plt__post_init(plt__post *p, uv_loop_t *loop);
int plt__post_send(plt__post *p, plt_fn fn, void *arg);
void plt__post_work_begin(plt__post *p);
void plt__post_work_end(plt__post *p); /* any thread */
void plt__post_work_end_loop(plt__post *p); /* loop thread */
/* Run whatever is queued now (shutdown). */
void plt__post_drain(plt__post *p);
void plt__post_stop_accepting(plt__post *p);
long plt__post_pending(plt__post *p);
void plt__post_close(plt__post *p);

/* ------------------------------------------------------------------ */
/* The runtime shared by every plugin of a host (core or fake host). */

typedef struct plt__ctx {
    uv_loop_t *loop;
    plt__clock clock;
    plt__bus bus;
    plt__post post;
    struct plt__registry *reg;
    char *data_dir;
    bool shutting_down;
    /* hooks the host implementation provides */
    void (*on_stopped)(struct plt__ctx *ctx, plt_plugin *p);
    void (*on_command_done)(struct plt__ctx *ctx, plt_plugin *p, int status);
    void *owner; /* the core or the fake host */
} plt__ctx;

int plt__ctx_init(plt__ctx *ctx, uv_loop_t *loop, bool simulated,
                  int64_t sim_start_ms);
/* Close the ctx's uv handles (the loop must then run to let them close). */
void plt__ctx_close(plt__ctx *ctx);

/* Lifecycle states of a plugin. */
typedef enum plt__pstate {
    PLT__P_LOADED = 0,
    PLT__P_INITED,
    PLT__P_STARTED,
    PLT__P_STOPPING,
    PLT__P_STOPPED,
    PLT__P_FINI
} plt__pstate;

/* A plugin as the core sees it. */
struct plt_plugin {
    char *name;
    char *path;        /* NULL for plugins linked in (tests) */
    void *dl;          /* dlopen handle or NULL */
    const plt_plugin_desc *desc;
    plt__ctx *ctx;
    plt__pstate state;
    plt_cfg *cfg;      /* validated section */
    char *error;       /* last plt_set_error() message */
    bool in_init;      /* service_provide allowed */
    size_t order;      /* position in the start order */
    /* services this plugin declared it needs and acquired */
    size_t nacq;
    struct plt__acq {
        const char *service;
        plt_plugin *provider;
    } *acq;
};

/* Filled by host.c: the table handed to every plugin. */
extern const plt_host plt__host_table;

/* Wire a plugin to a ctx: set its slots, state LOADED. */
void plt__plugin_bind(plt_plugin *p, plt__ctx *ctx);
/* Release what the plugin still owns (timers, subscriptions) and log it
 * as a leak. */
void plt__plugin_reap(plt_plugin *p);

/* ------------------------------------------------------------------ */
/* Service registry (registry.c). */

typedef struct plt__service {
    plt_service_desc desc;
    plt_plugin *provider;
} plt__service;

typedef struct plt__registry {
    plt__service *v;
    size_t n, cap;
    /* name -> bound provider name (from the services: section) */
    size_t nbind;
    struct plt__binding {
        char *service;
        char *provider;
    } *bind;
} plt__registry;

int plt__registry_provide(plt__registry *r, plt_plugin *p,
                          const plt_service_desc *d);
int plt__registry_acquire(plt__registry *r, plt_plugin *consumer,
                          const char *name, uint16_t major,
                          uint16_t min_minor, plt_service_ref *out);
/* Provider name bound for a service, or NULL. */
const char *plt__registry_binding(const plt__registry *r, const char *svc);
int plt__registry_bind(plt__registry *r, const char *svc,
                       const char *provider);
void plt__registry_remove_provider(plt__registry *r, plt_plugin *p);
void plt__registry_free(plt__registry *r);

/* ------------------------------------------------------------------ */
/* Loader (loader.c). */

/* dlopen + validate the descriptor. On failure adds one line naming the
 * file and the cause to @p d and returns a negative code. */
int plt__plugin_open(const char *path, plt_plugin **out, plt__diags *d);
/* Validate a descriptor already in memory (fixtures, fake host). */
int plt__desc_check(const plt_plugin_desc *desc, const char *stem,
                    const char *where, plt__diags *d);
void plt__plugin_close(plt_plugin *p);
/* Find NAME.so in the search path; returns malloc'd path or NULL. */
char *plt__plugin_find(const char *const *dirs, size_t ndirs,
                       const char *name);

/* ------------------------------------------------------------------ */
/* Dependency graph (graph.c). */

/* Order @p n plugins for start (providers first). Ties broken by name.
 * Missing mandatory providers, ambiguous providers without a binding and
 * cycles are added to @p d with their path. @p order receives indexes. */
int plt__graph_order(plt_plugin *const *plugins, size_t n,
                     const plt__registry *bindings, size_t *order,
                     plt__diags *d);
/* The provider chosen for @p svc among @p plugins, honouring bindings;
 * NULL if none. */
plt_plugin *plt__graph_provider(plt_plugin *const *plugins, size_t n,
                                const plt__registry *bindings,
                                const char *svc);

/* ------------------------------------------------------------------ */
/* The core (core.c, reload.c, cli.c): load, order, run, stop, reload. */

typedef struct plt__core_opts {
    /* Directories searched after core.plugin_path; NULL = the default
     * (<exe>/../lib/plateau/plugins). */
    const char *plugin_dir;
    /* Log level to use instead of core.log_level (0 = from config). */
    int log_level;
    /* Write logs on the calling thread instead of a writer thread. */
    bool sync_log;
} plt__core_opts;

typedef struct plt__core {
    plt__core_opts opts;
    uv_loop_t loop;
    bool loop_ready;
    plt__ctx ctx;
    bool ctx_ready;
    char *config_path;
    plt__doc **docs;   /* every parsed doc still referenced by a cfg */
    size_t ndocs;
    plt_cfg *core_cfg;
    plt_plugin **plugins; /* as listed in the config */
    size_t n;
    size_t *order;        /* start order: indexes into plugins */
    bool *active;         /* plugins taking part in this run */
    char **dirs;          /* plugin search path */
    size_t ndirs;
    int64_t stop_timeout_ms;
    uv_signal_t sig[3];
    bool signals_on;
    plt__registry binds;    /* services: bindings, until the ctx exists */
    uv_timer_t stop_timer;  /* real-time deadline for an asynchronous stop */
    uv_timer_t step_timer;  /* runs the next stop step outside callbacks */
    bool timers_on;
    bool stopping;
    bool stopped_all;
    size_t stop_pos;        /* next position in reverse order to stop */
    plt_plugin *waiting;    /* plugin whose asynchronous stop we await */
    int exit_code;
    bool check_only;        /* init + check hooks, no start (plateau check) */
    /* command mode */
    plt_plugin *cmd_plugin;
    bool cmd_done;
} plt__core;

int plt__core_init(plt__core *c, const plt__core_opts *opts);
/* Parse and validate the config, open the enabled plugins, check their
 * config sections and order them. Every problem goes to @p d. */
int plt__core_load(plt__core *c, const char *config_path, plt__diags *d);
/* Limit the run to @p p and what it depends on (commands). */
void plt__core_select(plt__core *c, plt_plugin *p);
/* Create the runtime, init and start the active plugins in order. On a
 * failure, what was started is stopped, everything is finalised, and the
 * error is logged with the plugin's name. */
int plt__core_start(plt__core *c);
/* `plateau check`: init every plugin, run their check hooks, finalise.
 * Returns 0 if every hook passed. */
int plt__core_check(plt__core *c);
/* Run the loop until the core stops; returns the exit code. */
int plt__core_run(plt__core *c);
/* Begin a graceful stop (reverse order, with the deadline). */
void plt__core_request_stop(plt__core *c, int exit_code);
/* Re-read the config file; all or nothing. 0 = applied (or nothing to
 * do), <0 = rejected and the running config kept. */
int plt__core_reload(plt__core *c);
void plt__core_free(plt__core *c);
plt_plugin *plt__core_find(plt__core *c, const char *name);
/* The schema of the `core:` section. */
extern const plt_cfg_key plt__core_schema[];
/* PLT_LOG_* level for "error" ... "debug". */
int plt__log_level_from_name(const char *s);
/* Default plugin directory derived from the executable's location. */
char *plt__default_plugin_dir(void);
/* Entry point of the command line (cli.c). */
int plt__cli_main(int argc, char **argv);

/* ------------------------------------------------------------------ */
/* Utilities (util.c). */

char *plt__strdup(const char *s);
char *plt__asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *plt__vasprintf(const char *fmt, va_list ap);
bool plt__name_valid(const char *name); /* [a-z][a-z0-9_]* , <= 63 */
int plt__mkdir_p(const char *path, int mode);
/* Directory part of @p path (malloc'd), "." if none. */
char *plt__dirname(const char *path);
/* @p path if absolute, else base_dir/path (malloc'd, normalised). */
char *plt__path_join(const char *base_dir, const char *path);

#endif
