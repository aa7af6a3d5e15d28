/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/testing/fake_host.h
 * The fake host: unit-test a plugin without the Plateau core.
 *
 * libplateau-testing.a (CMake: Plateau::testing; pkg-config:
 * plateau-testing) runs a plugin on the core's real runtime - a libuv loop,
 * the clock (simulated by default), the event bus, the service registry and
 * the config validator - but without the loader, the dependency graph or
 * the command line. A test adds the plugin's descriptor, drives its
 * lifecycle and time by hand, publishes events to it, and asserts on what
 * it published, logged and provided:
 *
 *     #include <plateau/plateau.h>
 *     #include <plateau/testing/fake_host.h>
 *
 *     extern const plt_plugin_desc plateau_plugin_v1; // the plugin's sources
 *                                                      // are linked in
 *     plt_fake_host *fh;
 *     assert(plt_fake_host_new(&fh, NULL) == 0);
 *     assert(plt_fake_host_add(fh, &plateau_plugin_v1,
 *                              "interval: 1s\n", NULL) == 0);
 *     assert(plt_fake_host_init(fh) == 0);
 *     assert(plt_fake_host_start(fh) == 0);
 *     plt_fake_host_run_for(fh, 3000);          // 3 virtual seconds
 *     assert(plt_fake_host_event_count(fh, "hello.greeting.sent") == 3);
 *     assert(plt_fake_host_free(fh) == 0);      // nothing leaked
 *
 * Linking: a test binary links the plugin's own sources (it then holds the
 * plugin's `plt_host_`/`plt_self_` globals, defined by PLT_PLUGIN_DEFINE;
 * this library defines neither), or loads a built .so with
 * plt_fake_host_add_so(). Several plugins may be added to one fake host;
 * at most one such plugin can be linked in (the globals are per binary),
 * the others must be .so files.
 *
 * Differences from the core, on purpose:
 *  - plugins are initialised and started in the order they were added,
 *    not sorted by their needs/provides (add providers first);
 *  - the descriptor's `needs` are still enforced by plt_service_acquire(),
 *    but a missing provider is only found when the plugin acquires it;
 *  - there is no reload on SIGHUP: call plt_fake_host_reconfigure().
 *
 * Thread: every function must be called on the thread that created the
 * fake host (the loop thread). Only one fake host may exist at a time in
 * a process, because logging is process-wide.
 *
 * Errors: functions return 0 or a negative PLT_E* code (plateau/error.h).
 * When a call fails, plt_fake_host_last_error() explains why, in the words
 * the core would use ("hello.yaml:2: interval: ...").
 */
#ifndef PLATEAU_TESTING_FAKE_HOST_H
#define PLATEAU_TESTING_FAKE_HOST_H

#include <stddef.h>
#include <stdint.h>
#include "plateau/plateau.h"

#ifdef __cplusplus
extern "C" {
#endif

struct uv_loop_s;

/** A fake host: one loop, one clock, one bus, one registry. Opaque. */
typedef struct plt_fake_host plt_fake_host;

/**
 * Options of plt_fake_host_new(). Zero-initialise, then set what you need;
 * every zero member means "the default". Members may be appended in later
 * SDK versions.
 */
typedef struct plt_fake_options {
    /** Non-zero: use the real clock (wall time, real timers). Default: the
     *  simulated clock, where time moves only in plt_fake_host_run_for(). */
    int real_clock;
    /** Simulated clock: UTC milliseconds at start. 0 = the default,
     *  2025-01-06T09:00:00Z (a Monday morning), 1736154000000. */
    int64_t sim_start_ms;
    /** Data directory returned by plt_data_dir(); created if missing and
     *  left in place. NULL = a fresh directory made with mkdtemp() under
     *  $TMPDIR (or /tmp) and removed with everything in it by
     *  plt_fake_host_free(). */
    const char *data_dir;
    /** Most verbose level recorded (and echoed): PLT_LOG_ERROR ...
     *  PLT_LOG_DEBUG. 0 = PLT_LOG_DEBUG (record everything). */
    int log_level;
    /** Deadline for an asynchronous stop (stop() returned PLT_EINPROGRESS
     *  and plt_stopped() has not come yet), in clock milliseconds (virtual
     *  ones with the simulated clock). 0 = 5000. */
    uint64_t stop_timeout_ms;
} plt_fake_options;

/** One event field for plt_fake_host_publish(). */
typedef struct plt_fake_field {
    const char *key;
    plt_value value; /**< e.g. PLT_V_STR("a1"), PLT_V_I64(3) */
} plt_fake_field;

/* ------------------------------------------------------------------ */
/* Creation and destruction */

/**
 * Create a fake host: a libuv loop with the core's clock, event bus,
 * cross-thread post queue and service registry. Every event published on
 * its bus and every log line are recorded from now on.
 *
 * Logging: lines go only to the recorder, and also to stderr when the
 * environment variable PLATEAU_TEST_VERBOSE is "1".
 *
 * @param out  receives the fake host.
 * @param opt  options, or NULL for all defaults.
 * @return 0; PLT_EBUSY if another fake host exists in this process;
 *         PLT_EINVAL for a bad option; PLT_ENOMEM; a negative errno if the
 *         data directory cannot be created.
 * Ownership: the caller frees the fake host with plt_fake_host_free().
 * Thread: the calling thread becomes the loop thread. Callbacks: none.
 */
int plt_fake_host_new(plt_fake_host **out, const plt_fake_options *opt);

/**
 * Destroy a fake host: stop the plugins still started (reverse order), run
 * fini() on every initialised plugin (reverse order), release what they
 * left behind (timers, subscriptions - logged as leaks, as the core does),
 * close every handle, run the loop until they are closed, close the loop,
 * unload .so plugins and remove the data directory if it made it.
 *
 * @param fh  the fake host, or NULL (then returns 0).
 * @return the result of uv_loop_close(): 0 when nothing is left on the
 *         loop, UV_EBUSY when a plugin left a uv handle open (each one is
 *         named on stderr, then closed so that the next test starts
 *         clean). Assert on it, as libuv's own tests do
 *         (MAKE_VALGRIND_HAPPY).
 * Ownership: every pointer obtained from @p fh (plugins, events, strings)
 * becomes invalid. Thread: loop thread. Callbacks: plugin stop()/fini().
 */
int plt_fake_host_free(plt_fake_host *fh);

/**
 * Text explaining the last failed call (several lines for config errors,
 * one per problem), or "" if none failed yet.
 * Ownership: the fake host's; valid until the next call on @p fh.
 * Thread: loop thread. Callbacks: none.
 */
const char *plt_fake_host_last_error(const plt_fake_host *fh);

/* ------------------------------------------------------------------ */
/* Plugins */

/**
 * Add a plugin whose descriptor is in memory (its sources are linked into
 * the test). Checks the descriptor as the core's loader does (magic, ABI
 * version, size, name, init), then its config schema, then validates
 * @p config_yaml against that schema and fills in defaults. No plugin code
 * runs.
 *
 * @param desc         the plugin's descriptor (plateau_plugin_v1).
 * @param config_yaml  the body of the plugin's section as YAML text, e.g.
 *                     "greeting: Hi\ninterval: 5s\n", or NULL for
 *                     defaults only. Relative PATH values are resolved
 *                     against the data directory.
 * @param out          receives the plugin handle, or NULL.
 * @return 0; PLT_EABI, PLT_ENOTPLUGIN or PLT_EINVAL for a bad descriptor
 *         or schema; PLT_ECONFIG when the config is invalid (see
 *         plt_fake_host_last_error(): "FILE:LINE: message" naming the
 *         key); PLT_EEXIST if a plugin of that name was added;
 *         PLT_ESTATE after plt_fake_host_init(); PLT_ENOMEM.
 * Ownership: the plugin belongs to the fake host; @p desc and
 * @p config_yaml are not kept. Thread: loop thread. Callbacks: none.
 */
int plt_fake_host_add(plt_fake_host *fh, const plt_plugin_desc *desc,
                      const char *config_yaml, plt_plugin **out);

/**
 * Add a plugin built as a shared object: dlopen(path, RTLD_NOW |
 * RTLD_LOCAL), dlsym("plateau_plugin_v1"), then as plt_fake_host_add().
 * The plugin's name must equal the file stem ("x/hello.so" -> "hello").
 *
 * @return as plt_fake_host_add(), and PLT_ENOENT when the file cannot be
 *         loaded, PLT_ENOTPLUGIN when it has no descriptor.
 * Ownership: the fake host dlclose()s it in plt_fake_host_free() (never
 * with PLT_PLUGIN_F_NOUNLOAD). Thread: loop thread. Callbacks: none.
 */
int plt_fake_host_add_so(plt_fake_host *fh, const char *path,
                         const char *config_yaml, plt_plugin **out);

/**
 * Find an added plugin by name.
 * @return the plugin, or NULL. Thread: loop thread.
 */
plt_plugin *plt_fake_host_plugin(plt_fake_host *fh, const char *name);

/* ------------------------------------------------------------------ */
/* Lifecycle */

/**
 * Call init() of every added plugin, in the order they were added (the
 * fake host does not sort by dependencies: add providers first). Then
 * checks that each plugin registered every service of its `provides`.
 * @return 0; the first failing plugin's code (its plt_set_error() message
 *         is in plt_fake_host_last_error()); PLT_ENOSERVICE if a declared
 *         service was not registered; PLT_ESTATE if called twice.
 * On failure, plugins already initialised stay so; plt_fake_host_free()
 * finalises them. Thread: loop thread. Callbacks: the plugins' init().
 */
int plt_fake_host_init(plt_fake_host *fh);

/**
 * Run the check() hook of every initialised plugin that has one, in the
 * order they were added, as `plateau check` does after init (optional;
 * call between plt_fake_host_init() and plt_fake_host_start()).
 * @return 0; the first failing plugin's code (its plt_set_error() message
 *         is in plt_fake_host_last_error()); PLT_ESTATE outside that
 *         window. Thread: loop thread. Callbacks: the plugins' check().
 */
int plt_fake_host_check(plt_fake_host *fh);

/**
 * Call start() of every initialised plugin, in the order they were added,
 * then open event delivery (as the core does once all plugins started).
 * Events published before are delivered on the next run.
 * @return 0; the first failing plugin's code (see last_error);
 *         PLT_ESTATE before plt_fake_host_init() or if called twice.
 * Thread: loop thread. Callbacks: the plugins' start().
 */
int plt_fake_host_start(plt_fake_host *fh);

/**
 * Call stop() of every started plugin, in reverse order. A plugin whose
 * stop() returns PLT_EINPROGRESS is waited for: the loop runs (virtual
 * time advances with the simulated clock) until it calls plt_stopped(), or
 * until stop_timeout_ms passed. fini() runs in plt_fake_host_free().
 * @return 0; PLT_ETIMEDOUT if a plugin missed the deadline; else the first
 *         negative code returned by a stop(). Every plugin is stopped
 *         either way. Thread: loop thread. Callbacks: the plugins' stop().
 */
int plt_fake_host_stop(plt_fake_host *fh);

/**
 * Reload one plugin's configuration as the core does on SIGHUP: validate
 * @p config_yaml against the schema; if no value changed, do nothing; if
 * a key without PLT_CFG_RELOADABLE changed, keep the running values (the
 * core says "restart required"); otherwise call reconfigure(CHECK), and
 * only if it accepted, reconfigure(APPLY) with the new section.
 * @param config_yaml  the new section body, or NULL for defaults.
 * @return 0 when applied or unchanged; PLT_ECONFIG for an invalid config;
 *         the code CHECK returned when it refused (the old config stays,
 *         and its plt_set_error() text is in last_error); PLT_ENOTSUP when
 *         a restart would be needed (a non-reloadable key changed, or the
 *         plugin has no reconfigure()); PLT_ESTATE before init or after
 *         stop.
 * Ownership: strings of the old plt_cfg become invalid after APPLY.
 * Thread: loop thread. Callbacks: the plugin's reconfigure().
 */
int plt_fake_host_reconfigure(plt_fake_host *fh, plt_plugin *p,
                              const char *config_yaml);

/**
 * Run a plugin subcommand as `plateau NAME ARGS...` would, once the plugin
 * is started. If run() returns PLT_EINPROGRESS, the loop runs until the
 * plugin calls plt_command_done() or stop_timeout_ms passed.
 * @param name  the command name (an entry of the descriptor's commands).
 * @param argc, argv  the arguments after the command name.
 * @param status  receives the command's exit status.
 * @return 0 and @p status; PLT_ENOENT for an unknown command;
 *         PLT_ETIMEDOUT; PLT_ESTATE if the plugin is not started.
 * Thread: loop thread. Callbacks: the command's run().
 */
int plt_fake_host_command(plt_fake_host *fh, plt_plugin *p, const char *name,
                          int argc, char **argv, int *status);

/* ------------------------------------------------------------------ */
/* Stub and acquired services */

/**
 * Register a stub service, as if a plugin named "test" provided it, so the
 * plugin under test can acquire it (list it in its `needs`). Call before
 * plt_fake_host_start().
 * @param vtable  the service's function table; first member uint32_t size.
 * @param impl    passed back as the first argument of its functions.
 * @return 0; PLT_EEXIST if a stub of that name exists; PLT_EINVAL;
 *         PLT_ENOMEM.
 * Ownership: @p name is copied; @p vtable and @p impl must outlive the
 * fake host. Thread: loop thread. Callbacks: none.
 */
int plt_fake_host_provide(plt_fake_host *fh, const char *name, uint16_t major,
                          uint16_t minor, const void *vtable, void *impl);

/**
 * Acquire a service from the test, e.g. one the plugin under test
 * provides, to call it directly. Not restricted by any `needs`.
 * @return 0 and fills @p out; PLT_ENOSERVICE; PLT_EVERSION.
 * Ownership: valid until plt_fake_host_free(). Thread: loop thread.
 */
int plt_fake_host_acquire(plt_fake_host *fh, const char *name, uint16_t major,
                          uint16_t min_minor, plt_service_ref *out);

/* ------------------------------------------------------------------ */
/* Time and loop */

/**
 * Let @p ms milliseconds pass. Simulated clock: virtual time advances by
 * exactly @p ms, firing every timer due up to and including the end (in
 * due order) and delivering the events and posts they cause; returns
 * after the end instant is quiescent. Real clock: runs the loop for @p ms
 * real milliseconds.
 * @return 0; PLT_ESTATE while the fake host is being freed.
 * Thread: loop thread. Callbacks: timers, subscribers, posted functions.
 */
int plt_fake_host_run_for(plt_fake_host *fh, uint64_t ms);

/**
 * Deliver everything queued (events, plt_post() callbacks, and what they
 * cause in turn) without moving the clock. Work running on other threads
 * (plt_queue_work) is waited for.
 * @return 0. Thread: loop thread. Callbacks: as plt_fake_host_run_for().
 */
int plt_fake_host_run_until_idle(plt_fake_host *fh);

/** The clock: UTC milliseconds (virtual with the simulated clock). */
int64_t plt_fake_host_now(const plt_fake_host *fh);

/** The libuv loop, for tests that drive raw uv handles. */
struct uv_loop_s *plt_fake_host_loop(plt_fake_host *fh);

/** The data directory (absolute). Ownership: the fake host's. */
const char *plt_fake_host_data_dir(const plt_fake_host *fh);

/* ------------------------------------------------------------------ */
/* Events */

/**
 * Publish an event from the test (source "test"), as a plugin would.
 * It is delivered on the next run, once plt_fake_host_start() has opened
 * delivery.
 *
 *     plt_fake_field f[] = {{"agent_id", PLT_V_STR("a1")},
 *                           {"state", PLT_V_STR("ready")}};
 *     plt_fake_host_publish(fh, "agent.state_changed", f, 2);
 *
 * @param topic   `domain.object.verb`.
 * @param fields  @p n fields (copied), or NULL when @p n is 0.
 * @return 0; PLT_EINVAL for a bad topic, key or value; PLT_ENOMEM.
 * Ownership: everything is copied. Thread: loop thread.
 * Callbacks: none from inside this call.
 */
int plt_fake_host_publish(plt_fake_host *fh, const char *topic,
                          const plt_fake_field *fields, size_t n);

/**
 * Number of recorded events whose topic matches @p pattern ("call.*",
 * "hello.greeting.sent"; NULL or "*" = all). Every event published on the
 * bus is recorded when it is delivered, including the test's own.
 * Thread: loop thread.
 */
size_t plt_fake_host_event_count(const plt_fake_host *fh, const char *pattern);

/**
 * The @p i-th (from 0, in delivery order) recorded event matching
 * @p pattern, or NULL.
 * Ownership: the fake host holds a reference until
 * plt_fake_host_events_clear() or plt_fake_host_free().
 */
const plt_event *plt_fake_host_event_at(const plt_fake_host *fh,
                                        const char *pattern, size_t i);

/** The last recorded event matching @p pattern, or NULL. As event_at. */
const plt_event *plt_fake_host_event_last(const plt_fake_host *fh,
                                          const char *pattern);

/** Forget the recorded events (pointers to them become invalid). */
void plt_fake_host_events_clear(plt_fake_host *fh);

/*
 * Reading recorded events. These work without a plugin's globals (the
 * plt_event_* inline wrappers need a bound plugin in the binary).
 */

/** The event's topic. */
const char *plt_fake_event_topic(const plt_event *ev);
/** Name of the plugin that published it ("test" for the test's own). */
const char *plt_fake_event_source(const plt_event *ev);
/** Clock time (UTC ms) at which it was created. */
int64_t plt_fake_event_time(const plt_event *ev);
/** A field. @return 0 and fills @p out; PLT_ENOENT if absent. Strings
 *  point into the event. */
int plt_fake_event_get(const plt_event *ev, const char *key, plt_value *out);
/** A STR field, or NULL if absent or of another type. */
const char *plt_fake_event_str(const plt_event *ev, const char *key);
/** An I64, BOOL or TIME field, or @p def if absent or of another type. */
int64_t plt_fake_event_i64(const plt_event *ev, const char *key, int64_t def);
/** A DOUBLE (or I64) field, or @p def. */
double plt_fake_event_double(const plt_event *ev, const char *key, double def);
/** Number of fields, for iterating with plt_fake_event_field_at(). */
size_t plt_fake_event_count(const plt_event *ev);
/** Field @p i in the order it was set (e.g. to compare whole events).
 *  @return 0; PLT_ERANGE past the end. Strings point into the event. */
int plt_fake_event_field_at(const plt_event *ev, size_t i, const char **key,
                            plt_value *out);

/* ------------------------------------------------------------------ */
/* Logs */

/**
 * Number of recorded log lines at @p min_level or more severe (syslog
 * numbering: PLT_LOG_WARN counts warnings and errors; PLT_LOG_DEBUG counts
 * everything) whose text contains @p substring (NULL = any). The text is
 * the message as the plugin wrote it, followed by ": <error text>" for
 * plt_log_err(), without time or plugin prefix.
 * Thread: loop thread.
 */
size_t plt_fake_host_log_count(const plt_fake_host *fh, int min_level,
                               const char *substring);

/**
 * The last recorded line at @p min_level or more severe containing
 * @p substring, or NULL; its level and plugin ("" for the core's own
 * lines) through @p level and @p who when not NULL.
 * Ownership: the fake host's, until plt_fake_host_logs_clear()/free.
 */
const char *plt_fake_host_log_last(const plt_fake_host *fh, int min_level,
                                   const char *substring, int *level,
                                   const char **who);

/** Forget the recorded log lines. */
void plt_fake_host_logs_clear(plt_fake_host *fh);

#ifdef __cplusplus
}
#endif
#endif
