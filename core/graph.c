/* SPDX-License-Identifier: MIT */
/*
 * The dependency graph. Plugins are ordered so that every provider starts
 * before the plugins that need its services (Kahn's algorithm; among
 * plugins ready at the same time the name decides, so the order never
 * depends on the order of the config file). Missing providers, two
 * providers of one service without an explicit binding, and cycles are
 * reported with the plugins and services involved.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool
provides(const plt_plugin *p, const char *svc)
{
    for (const char *const *v = p->desc->provides; v && *v; v++)
        if (strcmp(*v, svc) == 0)
            return true;
    return false;
}

plt_plugin *
plt__graph_provider(plt_plugin *const *plugins, size_t n,
                    const plt__registry *bindings, const char *svc)
{
    const char *bound = bindings ? plt__registry_binding(bindings, svc) : NULL;
    plt_plugin *found = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!provides(plugins[i], svc))
            continue;
        if (bound && strcmp(plugins[i]->name, bound) != 0)
            continue;
        if (found)
            return NULL; /* ambiguous: reported by plt__graph_order */
        found = plugins[i];
    }
    return found;
}

/* Check the services: bindings and ambiguous providers. */
static int
check_providers(plt_plugin *const *plugins, size_t n,
                const plt__registry *b, plt__diags *d)
{
    int rc = 0;
    for (size_t i = 0; b && i < b->nbind; i++) {
        const char *svc = b->bind[i].service, *prov = b->bind[i].provider;
        const plt_plugin *p = NULL;
        for (size_t j = 0; j < n; j++)
            if (strcmp(plugins[j]->name, prov) == 0)
                p = plugins[j];
        if (!p) {
            plt__diags_add(d, NULL, 0,
                           "services.%s is bound to '%s', which is not an "
                           "enabled plugin",
                           svc, prov);
            rc = PLT_ECONFIG;
        } else if (!provides(p, svc)) {
            plt__diags_add(d, NULL, 0,
                           "services.%s is bound to '%s', which does not "
                           "provide '%s'",
                           svc, prov, svc);
            rc = PLT_ECONFIG;
        }
    }
    /* Every service offered by two enabled plugins needs a binding. */
    for (size_t i = 0; i < n; i++) {
        for (const char *const *v = plugins[i]->desc->provides; v && *v; v++) {
            if (b && plt__registry_binding(b, *v))
                continue;
            bool first = true;
            for (size_t j = 0; j < i; j++)
                if (provides(plugins[j], *v))
                    first = false;
            if (!first)
                continue;
            size_t count = 0;
            char names[512] = "";
            for (size_t j = 0; j < n; j++) {
                if (!provides(plugins[j], *v))
                    continue;
                if (count++)
                    strncat(names, " and ", sizeof(names) - strlen(names) - 1);
                strncat(names, plugins[j]->name,
                        sizeof(names) - strlen(names) - 1);
            }
            if (count > 1) {
                plt__diags_add(d, NULL, 0,
                               "service '%s' is provided by %s: choose one "
                               "with `services: {%s: %s}`",
                               *v, names, *v, plugins[i]->name);
                rc = PLT_ECONFIG;
            }
        }
    }
    return rc;
}

static int
cmp_name(const plt_plugin *a, const plt_plugin *b)
{
    return strcmp(a->name, b->name);
}

/* Describe a cycle among the nodes still holding in-degree > 0. */
static void
report_cycle(plt_plugin *const *plugins, size_t n, const size_t *indeg,
             const bool *edge, plt__diags *d)
{
    /* Walk backwards along "needs" edges from any remaining node; in a
     * graph where every remaining node has a remaining predecessor, the
     * walk must revisit a node, and the revisited stretch is a cycle. */
    size_t start = n;
    for (size_t i = 0; i < n && start == n; i++)
        if (indeg[i] > 0)
            start = i;
    if (start == n)
        return;
    size_t *seen = calloc(n, sizeof(size_t));
    size_t *path = calloc(n + 1, sizeof(size_t));
    if (!seen || !path) {
        free(seen);
        free(path);
        plt__diags_add(d, NULL, 0, "dependency cycle between plugins");
        return;
    }
    size_t len = 0, cur = start;
    while (!seen[cur]) {
        seen[cur] = len + 1;
        path[len++] = cur;
        size_t next = n;
        for (size_t j = 0; j < n && next == n; j++)
            if (edge[j * n + cur] && indeg[j] > 0)
                next = j; /* j provides something cur needs */
        if (next == n)
            break;
        cur = next;
    }
    size_t from = seen[cur] - 1;
    char msg[1024] = "";
    for (size_t k = from; k < len; k++) {
        size_t a = path[k];
        size_t b = k + 1 < len ? path[k + 1] : path[from];
        const char *svc = "?";
        for (const plt_dep *dp = plugins[a]->desc->needs; dp && dp->service;
             dp++)
            if (provides(plugins[b], dp->service))
                svc = dp->service;
        char part[256];
        snprintf(part, sizeof(part), "%s%s needs '%s' from %s",
                 k == from ? "" : ", ", plugins[a]->name, svc,
                 plugins[b]->name);
        strncat(msg, part, sizeof(msg) - strlen(msg) - 1);
    }
    plt__diags_add(d, NULL, 0, "dependency cycle: %s", msg);
    free(seen);
    free(path);
}

int
plt__graph_order(plt_plugin *const *plugins, size_t n,
                 const plt__registry *bindings, size_t *order, plt__diags *d)
{
    int rc = check_providers(plugins, n, bindings, d);
    if (rc != 0)
        return rc;

    /* edge[i*n+j]: plugin i provides a service plugin j needs. */
    bool *edge = calloc(n * n + 1, sizeof(bool));
    size_t *indeg = calloc(n + 1, sizeof(size_t));
    bool *done = calloc(n + 1, sizeof(bool));
    if (!edge || !indeg || !done) {
        free(edge);
        free(indeg);
        free(done);
        return PLT_ENOMEM;
    }
    for (size_t j = 0; j < n; j++) {
        for (const plt_dep *dp = plugins[j]->desc->needs; dp && dp->service;
             dp++) {
            plt_plugin *prov =
                plt__graph_provider(plugins, n, bindings, dp->service);
            if (!prov) {
                if (!(dp->flags & PLT_DEP_OPTIONAL)) {
                    plt__diags_add(d, NULL, 0,
                                   "plugin %s needs service '%s' %u.%u+, "
                                   "which no enabled plugin provides",
                                   plugins[j]->name, dp->service, dp->major,
                                   dp->min_minor);
                    rc = PLT_ENOSERVICE;
                }
                continue;
            }
            if (prov == plugins[j])
                continue; /* a plugin may use its own service */
            size_t i = 0;
            while (plugins[i] != prov)
                i++;
            if (!edge[i * n + j]) {
                edge[i * n + j] = true;
                indeg[j]++;
            }
        }
    }
    if (rc == 0) {
        for (size_t k = 0; k < n; k++) {
            size_t pick = n;
            for (size_t i = 0; i < n; i++)
                if (!done[i] && indeg[i] == 0 &&
                    (pick == n || cmp_name(plugins[i], plugins[pick]) < 0))
                    pick = i;
            if (pick == n) {
                report_cycle(plugins, n, indeg, edge, d);
                rc = PLT_EDEPCYCLE;
                break;
            }
            done[pick] = true;
            order[k] = pick;
            for (size_t j = 0; j < n; j++)
                if (edge[pick * n + j])
                    indeg[j]--;
        }
    }
    free(edge);
    free(indeg);
    free(done);
    return rc;
}
