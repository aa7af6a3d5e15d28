/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/host.h
 * The host function table: everything the core offers a plugin.
 *
 * Plugins never link against the core. Before init(), the core stores a
 * pointer to this table in the plugin's `plt_host_` global (through the
 * descriptor's host_slot) and the plugin's own handle in `plt_self_`. The
 * inline wrappers in the other SDK headers (plt_log, plt_timer_start, ...)
 * call through it, so plugin code never touches the table directly.
 *
 * The table is append-only within ABI major 1: a plugin built against a
 * newer minor can test for a member with PLT_HOST_HAS(member) before using
 * it on an older core.
 *
 * Thread: every member must be called on the loop thread, except post(),
 * work_end(), strerror(), err_name(), plugin_name() and data_dir().
 */
#ifndef PLATEAU_HOST_H
#define PLATEAU_HOST_H

#include <stdarg.h>
#include <stdint.h>
#include "plateau/types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct uv_loop_s;
struct plt_service_desc;
struct plt_service_ref;

/** Callback of plt_post() and of work items. */
typedef void (*plt_fn)(void *arg);
/** Completion of plt_queue_work(): @p status is 0 or PLT_ECANCELED. */
typedef void (*plt_work_done_fn)(void *arg, int status);
/** Event subscriber. The event is valid during the call; see plt_event_ref. */
typedef void (*plt_event_fn)(const plt_event *ev, void *arg);

struct plt_host {
    uint32_t size; /**< sizeof(struct plt_host) in the running core */
    uint16_t abi_major;
    uint16_t abi_minor;

    /* ---- 1.0: logging and errors ---- */
    void (*logv)(plt_plugin *self, int level, const char *file, int line,
                 int err, const char *fmt, va_list ap);
    int (*log_enabled)(plt_plugin *self, int level);
    void (*set_errorv)(plt_plugin *self, const char *fmt, va_list ap);
    const char *(*strerror)(int err);
    const char *(*err_name)(int err);

    /* ---- 1.0: loop, threads, work ---- */
    struct uv_loop_s *(*loop)(plt_plugin *self);
    int (*post)(plt_plugin *self, plt_fn fn, void *arg);
    int (*queue_work)(plt_plugin *self, plt_fn work, plt_work_done_fn done,
                      void *arg);
    void (*work_begin)(plt_plugin *self);
    void (*work_end)(plt_plugin *self);

    /* ---- 1.0: clock and timers ---- */
    int64_t (*now)(plt_plugin *self);
    uint64_t (*mono)(plt_plugin *self);
    int (*clock_simulated)(plt_plugin *self);
    int (*timer_start)(plt_plugin *self, plt_timer **out, uint64_t timeout_ms,
                       uint64_t repeat_ms, plt_fn cb, void *arg);
    void (*timer_stop)(plt_plugin *self, plt_timer *t);

    /* ---- 1.0: configuration ---- */
    int (*cfg_get)(const plt_cfg *cfg, const char *key, int type, void *out);
    int (*cfg_count)(const plt_cfg *cfg, const char *key, size_t *out);
    int (*cfg_list_at)(const plt_cfg *cfg, const char *key, size_t i,
                       const char **out);
    int (*cfg_table_at)(const plt_cfg *cfg, const char *key, size_t i,
                        const plt_cfg **out);
    int (*cfg_section)(const plt_cfg *cfg, const char *key,
                       const plt_cfg **out);
    int (*cfg_is_set)(const plt_cfg *cfg, const char *key);
    int (*cfg_where)(const plt_cfg *cfg, const char *key, const char **file,
                     int *line);

    /* ---- 1.0: services ---- */
    int (*service_provide)(plt_plugin *self,
                           const struct plt_service_desc *desc);
    int (*service_acquire)(plt_plugin *self, const char *name, uint16_t major,
                           uint16_t min_minor, struct plt_service_ref *out);

    /* ---- 1.0: events ---- */
    int (*event_new)(plt_plugin *self, plt_event **out, const char *topic,
                     uint32_t schema_ver);
    int (*event_set)(plt_event *ev, const char *key, const plt_value *val);
    int (*event_publish)(plt_plugin *self, plt_event *ev);
    plt_event *(*event_ref)(const plt_event *ev);
    void (*event_unref)(plt_event *ev);
    const char *(*event_topic)(const plt_event *ev);
    uint32_t (*event_schema_ver)(const plt_event *ev);
    int64_t (*event_time)(const plt_event *ev);
    const char *(*event_source)(const plt_event *ev);
    int (*event_get)(const plt_event *ev, const char *key, plt_value *out);
    size_t (*event_count)(const plt_event *ev);
    int (*event_field_at)(const plt_event *ev, size_t i, const char **key,
                          plt_value *out);
    int (*subscribe)(plt_plugin *self, const char *pattern, plt_event_fn cb,
                     void *arg, plt_sub **out);
    void (*unsubscribe)(plt_plugin *self, plt_sub *sub);

    /* ---- 1.0: lifecycle ---- */
    void (*stopped)(plt_plugin *self);
    void (*command_done)(plt_plugin *self, int status);
    const char *(*plugin_name)(plt_plugin *self);
    const char *(*data_dir)(plt_plugin *self);

    /* Members added in 1.1+ are appended here, never inserted. */
};

/**
 * The two SDK globals, defined by PLT_PLUGIN_DEFINE (or by the fake host's
 * test harness). Hidden: each plugin has its own.
 */
extern const plt_host *plt_host_ __attribute__((visibility("hidden")));
extern plt_plugin *plt_self_ __attribute__((visibility("hidden")));

/** True if the running core's table has member @p m. */
#define PLT_HOST_HAS(m)                                                     \
    (__builtin_offsetof(struct plt_host, m) + sizeof(plt_host_->m) <=       \
     plt_host_->size)

#ifdef __cplusplus
}
#endif
#endif
