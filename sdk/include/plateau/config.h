/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/config.h
 * Configuration: the schema a plugin declares, and typed getters.
 *
 * The core owns the file format (YAML) and its parsing. A plugin declares
 * the keys of its section as a table of plt_cfg_key; the core rejects
 * unknown keys, wrong types, out-of-range values and missing required keys
 * with file:line messages before any plugin code runs, fills in defaults,
 * and hands the plugin a read-only plt_cfg. `plateau check` runs the same
 * validation without starting anything.
 *
 * Section of plugin "dialer" in plateau.yaml:
 *
 *     dialer:
 *       max_ratio: 3
 *       trunks: [orange, ovh]
 *
 * Ownership: a plt_cfg and every string read from it belong to the core and
 * stay valid until the plugin's fini(), or until reconfigure(APPLY) hands
 * a new one. Copy what must live longer.
 * Thread: loop thread only.
 */
#ifndef PLATEAU_CONFIG_H
#define PLATEAU_CONFIG_H

#include <stdbool.h>
#include "plateau/host.h"
#include "plateau/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Types of configuration values. Numbers are frozen for ABI 1. */
typedef enum plt_cfg_type {
    PLT_CFG_STR = 1,      /**< a scalar string; see plt_cfg_key.choices */
    PLT_CFG_INT = 2,      /**< a 64-bit integer; see min/max */
    PLT_CFG_BOOL = 3,     /**< true/false, yes/no, on/off */
    PLT_CFG_DOUBLE = 4,   /**< a number */
    PLT_CFG_DURATION = 5, /**< "250ms", "30s", "5m", "2h", "1d"; read in ms */
    PLT_CFG_PATH = 6,     /**< a path; relative ones are resolved against the
                               directory of the file that set them */
    PLT_CFG_LIST = 7,     /**< a sequence of strings */
    PLT_CFG_SECTION = 8,  /**< a nested mapping validated against .sub */
    PLT_CFG_TABLE = 9     /**< a sequence of mappings, each validated
                               against .sub (e.g. a list of trunks) */
} plt_cfg_type;

/** Flags of a configuration key. */
enum {
    PLT_CFG_REQUIRED = 1u << 0,   /**< must be set; .def is then ignored */
    PLT_CFG_RELOADABLE = 1u << 1, /**< may change on SIGHUP without restart */
    PLT_CFG_SECRET = 1u << 2      /**< masked in logs and config dumps */
};

/**
 * One key of a plugin's configuration schema. Plugins declare a static
 * array terminated by an entry whose name is NULL.
 *
 * The layout is frozen for ABI 1 (arrays are read with this stride), hence
 * the reserved tail.
 */
typedef struct plt_cfg_key {
    const char *name;             /**< [a-z][a-z0-9_]* */
    int32_t type;                 /**< a plt_cfg_type */
    uint32_t flags;               /**< PLT_CFG_* */
    const char *def;              /**< default as YAML scalar text, or NULL
                                       for "unset" (getters: PLT_ENOENT) */
    const char *help;             /**< one line, shown by `plateau plugins` */
    const struct plt_cfg_key *sub; /**< members of SECTION and TABLE */
    const char *const *choices;   /**< STR: NULL-terminated allowed values */
    int64_t min, max;             /**< INT, DURATION: bounds, if min < max */
    const void *reserved[2];      /**< must be zero */
} plt_cfg_key;

/** Terminator of a plt_cfg_key array. */
#define PLT_CFG_END {0}

/*
 * Typed getters. Each returns 0 and fills *out; PLT_ENOENT if the key has
 * no value and no default; PLT_EINVAL if the key is not in the schema or
 * has another type. Defaults from the schema are already applied.
 * Ownership: strings belong to the core (see above). Thread: loop thread.
 */

/** Read a STR (or PATH, already made absolute) value. */
static inline int
plt_cfg_str(const plt_cfg *cfg, const char *key, const char **out)
{
    return plt_host_->cfg_get(cfg, key, PLT_CFG_STR, out);
}

/** Read a PATH value as an absolute path. */
static inline int
plt_cfg_path(const plt_cfg *cfg, const char *key, const char **out)
{
    return plt_host_->cfg_get(cfg, key, PLT_CFG_PATH, out);
}

/** Read an INT value. */
static inline int
plt_cfg_int(const plt_cfg *cfg, const char *key, int64_t *out)
{
    return plt_host_->cfg_get(cfg, key, PLT_CFG_INT, out);
}

/** Read a BOOL value. */
static inline int
plt_cfg_bool(const plt_cfg *cfg, const char *key, bool *out)
{
    return plt_host_->cfg_get(cfg, key, PLT_CFG_BOOL, out);
}

/** Read a DOUBLE value (INT values are converted). */
static inline int
plt_cfg_double(const plt_cfg *cfg, const char *key, double *out)
{
    return plt_host_->cfg_get(cfg, key, PLT_CFG_DOUBLE, out);
}

/** Read a DURATION value in milliseconds. */
static inline int
plt_cfg_duration_ms(const plt_cfg *cfg, const char *key, int64_t *out)
{
    return plt_host_->cfg_get(cfg, key, PLT_CFG_DURATION, out);
}

/** Number of items of a LIST or TABLE (0 when unset). */
static inline int
plt_cfg_count(const plt_cfg *cfg, const char *key, size_t *out)
{
    return plt_host_->cfg_count(cfg, key, out);
}

/** Item @p i of a LIST. PLT_ERANGE past the end. */
static inline int
plt_cfg_list_at(const plt_cfg *cfg, const char *key, size_t i,
                const char **out)
{
    return plt_host_->cfg_list_at(cfg, key, i, out);
}

/** Item @p i of a TABLE, as a section. PLT_ERANGE past the end. */
static inline int
plt_cfg_table_at(const plt_cfg *cfg, const char *key, size_t i,
                 const plt_cfg **out)
{
    return plt_host_->cfg_table_at(cfg, key, i, out);
}

/** A nested SECTION (an empty one, with defaults, when unset). */
static inline int
plt_cfg_section(const plt_cfg *cfg, const char *key, const plt_cfg **out)
{
    return plt_host_->cfg_section(cfg, key, out);
}

/** 1 if the key was set in the file, 0 if it holds its default or nothing. */
static inline int
plt_cfg_is_set(const plt_cfg *cfg, const char *key)
{
    return plt_host_->cfg_is_set(cfg, key);
}

/**
 * Where a key was set, for messages such as "plateau.yaml:12: unknown
 * trunk". With key NULL, where the section itself starts. PLT_ENOENT if it
 * comes from a default.
 */
static inline int
plt_cfg_where(const plt_cfg *cfg, const char *key, const char **file,
              int *line)
{
    return plt_host_->cfg_where(cfg, key, file, line);
}

#ifdef __cplusplus
}
#endif
#endif
