/* SPDX-License-Identifier: MIT */
/*
 * Reloading the configuration (SIGHUP), all or nothing, as nginx does:
 * re-read and validate the whole file against every schema, ask every
 * plugin whose section changed whether it accepts the new values
 * (reconfigure CHECK), and only if all accept, apply them (APPLY) and swap
 * the sections. Any error leaves the running configuration untouched.
 *
 * Keys not marked reloadable, the plugin list and the service bindings
 * can only change with a restart: such a change is reported, and the
 * section holding it keeps running with its current values.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"


static bool
same_plugin_list(plt__core *c, const plt__node *root)
{
    const plt__node *l = root ? plt__node_get(root, "plugins") : NULL;
    if (!l || plt__node_kind(l) != PLT__N_SEQ || plt__node_len(l) != c->n)
        return false;
    for (size_t i = 0; i < plt__node_len(l); i++) {
        const char *s = plt__node_scalar(plt__node_at(l, i));
        if (!s)
            return false;
        const char *slash = strrchr(s, '/');
        const char *base = slash ? slash + 1 : s;
        bool found = false;
        for (size_t j = 0; j < c->n && !found; j++) {
            size_t nl = strlen(c->plugins[j]->name);
            found = strncmp(base, c->plugins[j]->name, nl) == 0 &&
                    (base[nl] == '\0' || strcmp(base + nl, ".so") == 0);
        }
        if (!found)
            return false;
    }
    return true;
}

int
plt__core_reload(plt__core *c)
{
    plt__diags d = {0};
    plt__doc *doc = NULL;
    plt_cfg *core_cfg = NULL;
    plt_cfg **fresh = calloc(c->n + 1, sizeof(*fresh));
    bool *apply = calloc(c->n + 1, sizeof(*apply));
    int rc = 0;
    if (!fresh || !apply) {
        rc = PLT_ENOMEM;
        goto out;
    }
    if (plt__doc_load(c->config_path, &doc, &d) != 0) {
        rc = PLT_ECONFIG;
        goto out;
    }
    const plt__node *root = plt__doc_root(doc);
    if (!root || plt__node_kind(root) != PLT__N_MAP) {
        plt__diags_add(&d, plt__doc_file(doc), 0,
                       "the configuration must be a mapping of sections");
        rc = PLT_ECONFIG;
        goto out;
    }
    if (plt__cfg_build(doc, plt__node_get(root, "core"), plt__core_schema,
                       "core", &core_cfg, &d) != 0)
        rc = PLT_ECONFIG;
    static const plt_cfg_key no_keys[] = {PLT_CFG_END};
    for (size_t i = 0; i < c->n; i++) {
        plt_plugin *p = c->plugins[i];
        if (plt__cfg_build(doc, plt__node_get(root, p->name),
                           p->desc->config_keys ? p->desc->config_keys
                                                : no_keys,
                           p->name, &fresh[i], &d) != 0)
            rc = PLT_ECONFIG;
    }
    if (rc != 0)
        goto out;
    if (!same_plugin_list(c, root))
        plt__log("core", PLT_LOG_WARN,
                 "reload: the plugin list changed; that needs a restart and "
                 "is ignored");

    /* Decide who changes, and refuse sections that need a restart. */
    size_t core_restart = 0;
    size_t core_changed =
        plt__cfg_reload_diff(c->core_cfg, core_cfg, "core", &core_restart);
    size_t napply = 0;
    for (size_t i = 0; i < c->n; i++) {
        plt_plugin *p = c->plugins[i];
        size_t restart = 0;
        size_t changed =
            plt__cfg_reload_diff(p->cfg, fresh[i], p->name, &restart);
        if (changed == 0 || !c->active[i] || p->state != PLT__P_STARTED)
            continue;
        if (restart > 0) {
            plt__log("core", PLT_LOG_WARN,
                     "reload: section '%s' keeps its running values until "
                     "a restart",
                     p->name);
            continue;
        }
        if (!p->desc->reconfigure) {
            plt__log("core", PLT_LOG_WARN,
                     "reload: plugin %s cannot reload its settings; restart "
                     "to apply them",
                     p->name);
            continue;
        }
        apply[i] = true;
        napply++;
    }

    /* Reserve the slot that will keep the new document, so that nothing
     * can fail once sections start to be swapped. */
    plt__doc **v = realloc(c->docs, (c->ndocs + 1) * sizeof(*v));
    if (!v) {
        rc = PLT_ENOMEM;
        goto out;
    }
    c->docs = v;

    /* CHECK everyone first: nothing changes unless all accept. */
    for (size_t i = 0; i < c->n; i++) {
        if (!apply[i])
            continue;
        plt_plugin *p = c->plugins[i];
        free(p->error);
        p->error = NULL;
        int r = p->desc->reconfigure(p, fresh[i], PLT_RECONF_CHECK);
        if (r != 0) {
            plt__diags_add(&d, NULL, 0, "plugin %s refused the new settings: %s",
                           p->name,
                           p->error ? p->error : plt__strerror(r < 0 ? r : PLT_EINVAL));
            rc = r < 0 ? r : PLT_EINVAL;
        }
    }
    if (rc != 0)
        goto out;

    for (size_t i = 0; i < c->n; i++) {
        if (!apply[i])
            continue;
        plt_plugin *p = c->plugins[i];
        int r = p->desc->reconfigure(p, fresh[i], PLT_RECONF_APPLY);
        if (r != 0)
            plt__log("core", PLT_LOG_ERROR,
                     "plugin %s failed to apply settings it had accepted: %s",
                     p->name, plt__strerror(r < 0 ? r : PLT_EINVAL));
        plt_cfg *old = p->cfg;
        p->cfg = fresh[i];
        fresh[i] = old; /* freed below */
    }
    if (core_changed > 0 && core_restart == 0) {
        const char *lvl = NULL;
        plt__cfg_get(core_cfg, "log_level", PLT_CFG_STR, &lvl);
        if (!c->opts.log_level)
            plt__log_set_level(plt__log_level_from_name(lvl));
        plt_cfg *old = c->core_cfg;
        c->core_cfg = core_cfg;
        core_cfg = old;
    }
    /* The new document backs the swapped sections; keep it. */
    c->docs[c->ndocs++] = doc;
    doc = NULL;
    plt__log("core", PLT_LOG_NOTICE, "reload applied (%zu plugin%s updated)",
             napply, napply == 1 ? "" : "s");

out:
    if (rc != 0) {
        for (size_t i = 0; i < d.n; i++) {
            const plt__diag *g = &d.v[i];
            if (g->file && g->line > 0)
                plt__log("core", PLT_LOG_ERROR, "reload rejected: %s:%d: %s",
                         g->file, g->line, g->msg);
            else if (g->file)
                plt__log("core", PLT_LOG_ERROR, "reload rejected: %s: %s",
                         g->file, g->msg);
            else
                plt__log("core", PLT_LOG_ERROR, "reload rejected: %s",
                         g->msg);
        }
        if (d.n == 0)
            plt__log("core", PLT_LOG_ERROR, "reload rejected: %s",
                     plt__strerror(rc));
        plt__log("core", PLT_LOG_NOTICE,
                 "the running configuration is unchanged");
    }
    for (size_t i = 0; fresh && i < c->n; i++)
        if (fresh[i])
            plt__cfg_free(fresh[i]);
    if (core_cfg)
        plt__cfg_free(core_cfg);
    if (doc && rc != 0)
        plt__doc_free(doc);
    free(fresh);
    free(apply);
    plt__diags_clear(&d);
    return rc;
}
