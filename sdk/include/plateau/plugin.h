/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/plugin.h
 * The plugin descriptor: the one symbol a plugin exports.
 *
 * A complete plugin:
 *
 *     #include <plateau/plateau.h>
 *
 *     static const plt_cfg_key keys[] = {
 *         {.name = "greeting", .type = PLT_CFG_STR, .def = "bonjour",
 *          .flags = PLT_CFG_RELOADABLE, .help = "what to say"},
 *         PLT_CFG_END};
 *
 *     static int
 *     hello_init(plt_plugin *self, const plt_cfg *cfg)
 *     {
 *         const char *g;
 *         (void)self;
 *         plt_cfg_str(cfg, "greeting", &g);
 *         plt_log(PLT_LOG_INFO, "%s", g);
 *         return 0;
 *     }
 *
 *     PLT_PLUGIN_DEFINE(.name = "hello", .version = "1.0.0",
 *                       .summary = "Says hello", .config_keys = keys,
 *                       .init = hello_init);
 *
 * Build it with -fvisibility=hidden (the CMake helper and plateau.pc do)
 * into hello.so: the file stem must equal .name.
 *
 * Lifecycle, driven by the core on the loop thread:
 *  - init(self, cfg): read config, allocate, register provided services,
 *    subscribe to events. No I/O, no acquiring services.
 *  - start(self): acquire services, open sockets, start timers. Events are
 *    delivered only once every plugin has started.
 *  - stop(self): stop accepting work. Return 0 when stopped, or
 *    PLT_EINPROGRESS and call plt_stopped() later (e.g. after live calls
 *    drained); the core waits up to core.stop_timeout. Dependents are
 *    stopped before their providers.
 *  - fini(self): free everything. The core then cancels any timer and
 *    subscription the plugin left behind, and logs them as leaks.
 *  - reconfigure(self, cfg, phase): on reload, CHECK every changed plugin,
 *    and APPLY only if all accepted (all or nothing).
 *  - check(self): only for `plateau check`, after init(): deeper checks.
 * A failing init or start returns a negative code and may explain with
 * plt_set_error(); the core prints "plugin NAME: start failed: MESSAGE".
 */
#ifndef PLATEAU_PLUGIN_H
#define PLATEAU_PLUGIN_H

#include "plateau/host.h"
#include "plateau/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PLT_PLUGIN_MAGIC 0x504c5431u         /* "PLT1" */
#define PLT_PLUGIN_SYMBOL "plateau_plugin_v1" /* the only exported symbol */

/** Flags of a plt_dep. */
enum {
    PLT_DEP_OPTIONAL = 1u << 0 /**< start even if no plugin provides it */
};

/**
 * A service a plugin needs. Arrays end with an entry whose service is NULL.
 * Layout frozen for ABI 1.
 */
typedef struct plt_dep {
    const char *service; /**< "storage" */
    uint16_t major;      /**< provider major must be equal */
    uint16_t min_minor;  /**< provider minor must be >= */
    uint32_t flags;      /**< PLT_DEP_* */
} plt_dep;

/** Flags of a plt_command. */
enum {
    /** Start every enabled plugin before running the command, not only the
     *  command's plugin and what it depends on. */
    PLT_CMD_F_ALL_PLUGINS = 1u << 0
};

/**
 * A subcommand a plugin adds to the `plateau` executable, e.g.
 * `plateau user add NAME`. The core loads the configuration, starts the
 * command's plugin and its dependencies (or every plugin with
 * PLT_CMD_F_ALL_PLUGINS), then calls run() on the loop thread with the
 * arguments after the command name.
 *
 * run() returns an exit status >= 0 when finished, or PLT_EINPROGRESS and
 * later calls plt_command_done(status). The core then stops everything
 * and exits with that status. Arrays end with an entry whose name is NULL.
 * Layout frozen for ABI 1.
 */
typedef struct plt_command {
    const char *name;    /**< [a-z][a-z0-9-]* */
    const char *summary; /**< one line */
    const char *usage;   /**< e.g. "add NAME --role ROLE" */
    int (*run)(plt_plugin *self, int argc, char **argv);
    uint32_t flags;        /**< PLT_CMD_F_* */
    const void *reserved[2]; /**< must be zero */
} plt_command;

/** Flags of a plugin. */
enum {
    /** Never dlclose() this plugin (it or a library it uses keeps global
     *  state or threads that cannot be unloaded safely). */
    PLT_PLUGIN_F_NOUNLOAD = 1u << 0
};

/** Phases of reconfigure(). */
typedef enum plt_reconf_phase {
    PLT_RECONF_CHECK = 1, /**< validate only; nothing may change */
    PLT_RECONF_APPLY = 2  /**< apply; must not fail after a CHECK passed */
} plt_reconf_phase;

struct plt_cfg_key;

/**
 * The descriptor. Constant data: the core reads and checks it before any
 * plugin code runs. Members after `flags` may only be appended to in later
 * ABI minors; the core reads a member only if the plugin's `size` covers it.
 */
typedef struct plt_plugin_desc {
    /* ABI header: frozen for the whole life of ABI major 1. */
    uint32_t magic;     /**< PLT_PLUGIN_MAGIC */
    uint16_t abi_major; /**< PLT_ABI_MAJOR at build time */
    uint16_t abi_minor; /**< PLT_ABI_MINOR at build time */
    uint32_t size;      /**< sizeof(plt_plugin_desc) at build time */
    uint32_t flags;     /**< PLT_PLUGIN_F_* */

    /* Identity. */
    const char *name;    /**< [a-z][a-z0-9_]*, equal to the file stem */
    const char *version; /**< the plugin's own version */
    const char *summary; /**< one line */

    /* Declarations read before any plugin code runs. */
    const plt_dep *needs;                   /**< NULL or {NULL}-terminated */
    const char *const *provides;            /**< NULL or NULL-terminated */
    const struct plt_cfg_key *config_keys;  /**< NULL or name-NULL-ended */
    const plt_command *commands;            /**< NULL or name-NULL-ended */

    /* Where the core stores the host table and the self handle. */
    const plt_host **host_slot;
    plt_plugin **self_slot;

    /* Lifecycle. Only init is mandatory. */
    int (*init)(plt_plugin *self, const plt_cfg *cfg);
    int (*start)(plt_plugin *self);
    int (*stop)(plt_plugin *self);
    void (*fini)(plt_plugin *self);
    int (*reconfigure)(plt_plugin *self, const plt_cfg *cfg,
                       plt_reconf_phase phase);
    /* `plateau check`: after every plugin's init() (no start), look deeper
     * than the schema can (a database reachable, migrations pending, a
     * file readable) and report problems with plt_log(); return < 0 if
     * the configuration cannot work. May block: nothing is serving. */
    int (*check)(plt_plugin *self);

    /* Members added in 1.1+ are appended here, never inserted. */
} plt_plugin_desc;

/** Smallest descriptor size the core accepts: the 1.0 layout, frozen
 *  (sizeof grows when members are appended; this does not). */
#define PLT_PLUGIN_DESC_SIZE_1_0 ((uint32_t)136)

#define PLT_EXPORT __attribute__((visibility("default")))

/**
 * Define the plugin: the two SDK globals and the exported descriptor.
 * Use exactly once per plugin, with designated initialisers.
 */
#define PLT_PLUGIN_DEFINE(...)                                              \
    const plt_host *plt_host_;                                              \
    plt_plugin *plt_self_;                                                  \
    PLT_EXPORT extern const plt_plugin_desc plateau_plugin_v1;              \
    PLT_EXPORT const plt_plugin_desc plateau_plugin_v1 = {                  \
        .magic = PLT_PLUGIN_MAGIC,                                          \
        .abi_major = PLT_ABI_MAJOR,                                         \
        .abi_minor = PLT_ABI_MINOR,                                         \
        .size = sizeof(plt_plugin_desc),                                    \
        .host_slot = &plt_host_,                                            \
        .self_slot = &plt_self_,                                            \
        __VA_ARGS__}

/**
 * Tell the core that an asynchronous stop (stop() returned
 * PLT_EINPROGRESS) has finished.
 * Thread: loop thread only. Callbacks: none.
 */
static inline void
plt_stopped(void)
{
    plt_host_->stopped(plt_self_);
}

/**
 * Finish a subcommand whose run() returned PLT_EINPROGRESS.
 * @param status  process exit status (0 = success).
 * Thread: loop thread only.
 */
static inline void
plt_command_done(int status)
{
    plt_host_->command_done(plt_self_, status);
}

/** This plugin's name, as loaded. Thread: any. */
static inline const char *
plt_plugin_name(void)
{
    return plt_host_->plugin_name(plt_self_);
}

/**
 * Absolute path of the core's data directory (core.data_dir), created if
 * missing. Plugins keep their files below it, in a folder of their name.
 * Ownership: the core's string; valid until fini(). Thread: any.
 */
static inline const char *
plt_data_dir(void)
{
    return plt_host_->data_dir(plt_self_);
}

#ifdef __cplusplus
}
#endif
#endif
