/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/service.h
 * The service registry: how plugins offer and find each other's APIs.
 *
 * A service is a named, versioned vtable ("storage" 1.0, "telephony" 1.2).
 * Its provider registers it in init(); a consumer declares it in its
 * descriptor's `needs` and acquires it from its own init() on. The core
 * orders plugins so that every mandatory provider is initialised before
 * its consumers are, started before they are, and stopped after them. In
 * a consumer's init() a provider is initialised but not started: only
 * calls its contract allows before start (e.g. declaring storage
 * migrations) may be made then.
 *
 * Versions: a consumer needing major M, minor >= N gets a provider of
 * exactly major M and minor >= N. Vtables start with a `uint32_t size`
 * member so consumers can test for members added in later minors with
 * PLT_VT_HAS().
 *
 * When two enabled plugins provide the same service, the core config must
 * bind one (`services: {storage: storage_pg}`); nothing is chosen silently.
 */
#ifndef PLATEAU_SERVICE_H
#define PLATEAU_SERVICE_H

#include "plateau/host.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a provider registers. Append only; the core reads members
 *  beyond the 1.0 layout (PLT_SERVICE_DESC_SIZE_1_0) only if `size`
 *  covers them. */
typedef struct plt_service_desc {
    uint32_t size;      /**< sizeof(plt_service_desc) */
    uint16_t major;     /**< interface major implemented */
    uint16_t minor;     /**< interface minor implemented */
    const char *name;   /**< "storage"; must be listed in `provides` */
    const void *vtable; /**< the service's function table (static) */
    void *impl;         /**< provider instance, first argument of calls */
} plt_service_desc;

/** Size of the 1.0 layout of plt_service_desc (frozen). */
#define PLT_SERVICE_DESC_SIZE_1_0 ((uint32_t)32)

/** What a consumer gets back. */
typedef struct plt_service_ref {
    const void *vtable; /**< cast to the service's vtable type */
    void *impl;         /**< pass back as the first argument */
    uint16_t major;     /**< version actually provided */
    uint16_t minor;
    const char *provider; /**< name of the providing plugin */
} plt_service_ref;

/** True if vtable @p vt (with a leading uint32_t size) has member @p m. */
#define PLT_VT_HAS(vt, m)                                                   \
    ((vt) != NULL &&                                                        \
     __builtin_offsetof(__typeof__(*(vt)), m) + sizeof((vt)->m) <=          \
         (vt)->size)

/**
 * Register a service this plugin provides.
 * @param desc  copied by the core; vtable and impl must outlive the plugin.
 * @return 0; PLT_EINVAL if the name is not in the descriptor's `provides`;
 *         PLT_EEXIST if this plugin already registered it; PLT_ESTATE
 *         outside init().
 * Ownership: the core copies @p desc. Thread: loop thread only.
 * Callbacks: none.
 */
static inline int
plt_service_provide(const plt_service_desc *desc)
{
    return plt_host_->service_provide(plt_self_, desc);
}

/**
 * Find a service declared in this plugin's `needs`.
 * @param major      the major version the caller was written against.
 * @param min_minor  the lowest minor version whose members it uses.
 * @return 0 and fills @p out; PLT_ENOSERVICE when no provider is enabled
 *         (only possible for optional needs) or the service was not
 *         declared in `needs`; PLT_EVERSION when the provider's version
 *         does not fit (the log says which).
 * Ownership: the reference stays valid until this plugin's fini().
 * Thread: loop thread only. Callbacks: none.
 */
static inline int
plt_service_acquire(const char *name, uint16_t major, uint16_t min_minor,
                    plt_service_ref *out)
{
    return plt_host_->service_acquire(plt_self_, name, major, min_minor,
                                      out);
}

#ifdef __cplusplus
}
#endif
#endif
