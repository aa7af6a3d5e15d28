/* SPDX-License-Identifier: MIT */
/*
 * The service registry: named, versioned vtables that plugins provide in
 * init() and acquire in start(). It also records who acquired what from
 * whom, which the core uses to refuse stopping a provider before its
 * consumers and to print the dependency graph, and it holds the explicit
 * bindings (`services: {storage: storage_pg}`) that choose between two
 * providers of one service.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool
declared_provides(const plt_plugin *p, const char *name)
{
    const char *const *v = p->desc->provides;
    for (; v && *v; v++)
        if (strcmp(*v, name) == 0)
            return true;
    return false;
}

static const plt_dep *
declared_need(const plt_plugin *p, const char *name)
{
    for (const plt_dep *d = p->desc->needs; d && d->service; d++)
        if (strcmp(d->service, name) == 0)
            return d;
    return NULL;
}

int
plt__registry_provide(plt__registry *r, plt_plugin *p,
                      const plt_service_desc *d)
{
    if (!d || d->size < PLT_SERVICE_DESC_SIZE_1_0 || !d->name || !d->vtable)
        return PLT_EINVAL;
    if (!declared_provides(p, d->name)) {
        plt__log(p->name, PLT_LOG_ERROR,
                 "provides service '%s' but its descriptor does not list it "
                 "in `provides`",
                 d->name);
        return PLT_EINVAL;
    }
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].provider == p && strcmp(r->v[i].desc.name, d->name) == 0)
            return PLT_EEXIST;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        plt__service *v = realloc(r->v, cap * sizeof(*v));
        if (!v)
            return PLT_ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    plt__service *s = &r->v[r->n];
    memset(s, 0, sizeof(*s));
    /* A provider built against an older minor passes a shorter struct;
     * members it does not know stay zero. */
    memcpy(&s->desc, d,
           d->size < sizeof(plt_service_desc) ? d->size
                                              : sizeof(plt_service_desc));
    s->desc.size = sizeof(plt_service_desc);
    /* The name must outlive a plugin's string constants only as long as
     * the plugin is loaded, which is the registry entry's lifetime. */
    s->provider = p;
    r->n++;
    return 0;
}

const char *
plt__registry_binding(const plt__registry *r, const char *svc)
{
    for (size_t i = 0; i < r->nbind; i++)
        if (strcmp(r->bind[i].service, svc) == 0)
            return r->bind[i].provider;
    return NULL;
}

int
plt__registry_bind(plt__registry *r, const char *svc, const char *provider)
{
    struct plt__binding *v = realloc(r->bind, (r->nbind + 1) * sizeof(*v));
    if (!v)
        return PLT_ENOMEM;
    r->bind = v;
    char *a = plt__strdup(svc), *b = plt__strdup(provider);
    if (!a || !b) {
        free(a);
        free(b);
        return PLT_ENOMEM;
    }
    r->bind[r->nbind].service = a;
    r->bind[r->nbind].provider = b;
    r->nbind++;
    return 0;
}

static int
record_acquire(plt_plugin *consumer, const char *svc, plt_plugin *provider)
{
    for (size_t i = 0; i < consumer->nacq; i++)
        if (strcmp(consumer->acq[i].service, svc) == 0)
            return 0;
    struct plt__acq *v =
        realloc(consumer->acq, (consumer->nacq + 1) * sizeof(*v));
    if (!v)
        return PLT_ENOMEM;
    consumer->acq = v;
    /* The service name string belongs to the consumer's descriptor. */
    consumer->acq[consumer->nacq].service = svc;
    consumer->acq[consumer->nacq].provider = provider;
    consumer->nacq++;
    return 0;
}

int
plt__registry_acquire(plt__registry *r, plt_plugin *consumer,
                      const char *name, uint16_t major, uint16_t min_minor,
                      plt_service_ref *out)
{
    if (!name || !out)
        return PLT_EINVAL;
    const plt_dep *need = consumer ? declared_need(consumer, name) : NULL;
    if (consumer && !need) {
        plt__log(consumer->name, PLT_LOG_ERROR,
                 "acquires service '%s' without declaring it in `needs`",
                 name);
        return PLT_ENOSERVICE;
    }
    const char *bound = plt__registry_binding(r, name);
    plt__service *found = NULL;
    size_t count = 0;
    for (size_t i = 0; i < r->n; i++) {
        plt__service *s = &r->v[i];
        if (strcmp(s->desc.name, name) != 0)
            continue;
        if (bound && strcmp(s->provider->name, bound) != 0)
            continue;
        found = s;
        count++;
    }
    if (!found)
        return PLT_ENOSERVICE;
    if (count > 1) {
        /* The graph refuses this at start; a fake host may still see it. */
        return PLT_ECONFLICT;
    }
    if (found->desc.major != major || found->desc.minor < min_minor) {
        plt__log(consumer ? consumer->name : "core", PLT_LOG_ERROR,
                 "needs service '%s' %u.%u+, but plugin %s provides %u.%u",
                 name, major, min_minor, found->provider->name,
                 found->desc.major, found->desc.minor);
        return PLT_EVERSION;
    }
    if (consumer) {
        int rc = record_acquire(consumer, need->service, found->provider);
        if (rc != 0)
            return rc;
    }
    out->vtable = found->desc.vtable;
    out->impl = found->desc.impl;
    out->major = found->desc.major;
    out->minor = found->desc.minor;
    out->provider = found->provider->name;
    return 0;
}

void
plt__registry_remove_provider(plt__registry *r, plt_plugin *p)
{
    size_t o = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].provider != p)
            r->v[o++] = r->v[i];
    r->n = o;
}

void
plt__registry_free(plt__registry *r)
{
    free(r->v);
    for (size_t i = 0; i < r->nbind; i++) {
        free(r->bind[i].service);
        free(r->bind[i].provider);
    }
    free(r->bind);
    memset(r, 0, sizeof(*r));
}
