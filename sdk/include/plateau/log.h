/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/log.h
 * Logging and error reporting for plugins.
 *
 * The core prefixes each line with the time, the level and "[plugin]", and
 * adds file:line at debug level and on errors; plugins never write their
 * own prefixes. Lines are written by a logger thread, never on the loop.
 *
 *     plt_log(PLT_LOG_WARN, "trunk %s: registration failed", name);
 *     plt_log_err(PLT_LOG_ERROR, rc, "cannot open %s", path);
 *         -> "... cannot open /x: permission denied"
 *
 * Thread: loop thread only (worker threads report through plt_post()).
 */
#ifndef PLATEAU_LOG_H
#define PLATEAU_LOG_H

#include "plateau/host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* syslog numbering */
#define PLT_LOG_ERROR 3
#define PLT_LOG_WARN 4
#define PLT_LOG_NOTICE 5
#define PLT_LOG_INFO 6
#define PLT_LOG_DEBUG 7

__attribute__((format(printf, 5, 6))) static inline void
plt_log_at_(int level, const char *file, int line, int err, const char *fmt,
            ...)
{
    va_list ap;
    va_start(ap, fmt);
    plt_host_->logv(plt_self_, level, file, line, err, fmt, ap);
    va_end(ap);
}

/** Log a line at @p level (PLT_LOG_*). */
#define plt_log(level, ...) plt_log_at_((level), __FILE__, __LINE__, 0, __VA_ARGS__)
/** Log a line followed by ": <text of error code err>". */
#define plt_log_err(level, err, ...)                                        \
    plt_log_at_((level), __FILE__, __LINE__, (err), __VA_ARGS__)

/** Non-zero if a line at @p level would be written (skip costly work). */
static inline int
plt_log_enabled(int level)
{
    return plt_host_->log_enabled(plt_self_, level);
}

/**
 * Explain why init(), start() or a command failed. The core prints
 * "plugin NAME: init failed: MESSAGE (CODE)". The last call wins.
 */
__attribute__((format(printf, 1, 2))) static inline void
plt_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    plt_host_->set_errorv(plt_self_, fmt, ap);
    va_end(ap);
}

/** Text for an error code ("permission denied", "no such service"). */
static inline const char *
plt_strerror(int err)
{
    return plt_host_->strerror(err);
}

/** Name of an error code ("PLT_EACCES"). */
static inline const char *
plt_err_name(int err)
{
    return plt_host_->err_name(err);
}

#ifdef __cplusplus
}
#endif
#endif
