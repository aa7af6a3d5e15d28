/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/error.h
 * Error codes shared by the core, the SDK and every plugin.
 *
 * Every function that can fail returns 0 on success or a negative code.
 * Where a POSIX errno fits, the code is its negation (PLT_ENOMEM ==
 * -ENOMEM), so a plugin can return a system error unchanged. Plateau's own
 * codes live in the reserved range -1000 to -1999.
 *
 * A function that takes a callback and returns an error never calls that
 * callback (the libuv rule).
 */
#ifndef PLATEAU_ERROR_H
#define PLATEAU_ERROR_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PLT_OK 0
#define PLT_EPERM (-EPERM)
#define PLT_ENOENT (-ENOENT)
#define PLT_EIO (-EIO)
#define PLT_ENOMEM (-ENOMEM)
#define PLT_EACCES (-EACCES)
#define PLT_EBUSY (-EBUSY)
#define PLT_EEXIST (-EEXIST)
#define PLT_EINVAL (-EINVAL)
#define PLT_ENOSPC (-ENOSPC)
#define PLT_ERANGE (-ERANGE)
#define PLT_EAGAIN (-EAGAIN)
#define PLT_ENOTSUP (-ENOTSUP)
#define PLT_ETIMEDOUT (-ETIMEDOUT)
#define PLT_ECANCELED (-ECANCELED)
#define PLT_ECONNREFUSED (-ECONNREFUSED)
#define PLT_EINPROGRESS (-EINPROGRESS)

/* Plateau's own codes: -1000 to -1999. Values are frozen for ABI 1. */
#define PLT_EABI (-1000)       /**< plugin built for an incompatible ABI */
#define PLT_ENOSERVICE (-1001) /**< no provider for a service */
#define PLT_EDEPCYCLE (-1002)  /**< dependency cycle between plugins */
#define PLT_ECONFIG (-1003)    /**< invalid configuration */
#define PLT_ESTATE (-1004)     /**< call not allowed in the current state */
#define PLT_ENOTPLUGIN (-1005) /**< file is not a Plateau plugin */
#define PLT_EVERSION (-1006)   /**< service version does not match */
#define PLT_ESHUTDOWN (-1007)  /**< the host is shutting down */
#define PLT_ECONFLICT (-1008)  /**< conflicting concurrent change */
#define PLT_EDB (-1009)        /**< database error (see the log) */
#define PLT_ESCHEMA (-1010)    /**< database schema newer than the code */
#define PLT_EAUTH (-1011)      /**< authentication failed */
#define PLT_ELOCKED (-1012)    /**< account or resource locked */

#define PLT_IS_PLATEAU_ERROR(e) ((e) <= -1000 && (e) > -2000)

#ifdef __cplusplus
}
#endif
#endif
