/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader: finds NAME.so on the search path, opens it with
 * RTLD_NOW|RTLD_LOCAL (unresolved symbols fail here, and plugins cannot
 * see each other's symbols), and checks the exported descriptor as plain
 * data before any plugin code runs. Each rejection is one line naming the
 * file and the cause, and says whether to rebuild the plugin or upgrade
 * Plateau.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static char *
stem_of(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && strcmp(dot, ".so") == 0 ? (size_t)(dot - base)
                                               : strlen(base);
    return strndup(base, n);
}

static bool
cmd_name_valid(const char *s)
{
    if (!s || !(*s >= 'a' && *s <= 'z'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-'))
            return false;
    return true;
}

int
plt__desc_check(const plt_plugin_desc *d, const char *stem, const char *where,
                plt__diags *dg)
{
    if (d->magic != PLT_PLUGIN_MAGIC) {
        plt__diags_add(dg, where, 0,
                       "not a Plateau plugin (bad descriptor magic 0x%08x)",
                       d->magic);
        return PLT_ENOTPLUGIN;
    }
    if (d->abi_major != PLT_ABI_MAJOR) {
        plt__diags_add(dg, where, 0,
                       "plugin built for ABI %u.x, this Plateau speaks ABI "
                       "%u.x: rebuild the plugin against this SDK",
                       d->abi_major, PLT_ABI_MAJOR);
        return PLT_EABI;
    }
    if (d->abi_minor > PLT_ABI_MINOR) {
        plt__diags_add(dg, where, 0,
                       "plugin needs ABI %u.%u or newer, this Plateau speaks "
                       "ABI %u.%u: upgrade Plateau",
                       d->abi_major, d->abi_minor, PLT_ABI_MAJOR,
                       PLT_ABI_MINOR);
        return PLT_EABI;
    }
    if (d->size < PLT_PLUGIN_DESC_SIZE_1_0) {
        plt__diags_add(dg, where, 0,
                       "plugin descriptor is %u bytes, at least %u expected: "
                       "corrupt, or not made with PLT_PLUGIN_DEFINE",
                       d->size, PLT_PLUGIN_DESC_SIZE_1_0);
        return PLT_EABI;
    }
    if (!plt__name_valid(d->name)) {
        plt__diags_add(dg, where, 0,
                       "invalid plugin name '%s' (want [a-z][a-z0-9_]*)",
                       d->name ? d->name : "(null)");
        return PLT_EINVAL;
    }
    if (stem && strcmp(stem, d->name) != 0) {
        plt__diags_add(dg, where, 0,
                       "plugin is named '%s' but its file is '%s.so': the "
                       "file name must match the plugin name",
                       d->name, stem);
        return PLT_EINVAL;
    }
    if (!d->init) {
        plt__diags_add(dg, where, 0, "plugin %s has no init() function",
                       d->name);
        return PLT_EINVAL;
    }
    if (!d->host_slot || !d->self_slot) {
        plt__diags_add(dg, where, 0,
                       "plugin %s has no host/self slots (define it with "
                       "PLT_PLUGIN_DEFINE)",
                       d->name);
        return PLT_EINVAL;
    }
    int rc = 0;
    for (const plt_dep *n = d->needs; n && n->service; n++) {
        if (!plt__name_valid(n->service) || n->major == 0) {
            plt__diags_add(dg, where, 0,
                           "plugin %s: invalid need '%s' %u.%u", d->name,
                           n->service, n->major, n->min_minor);
            rc = PLT_EINVAL;
        }
    }
    for (const char *const *p = d->provides; p && *p; p++) {
        if (!plt__name_valid(*p)) {
            plt__diags_add(dg, where, 0,
                           "plugin %s: invalid provided service name '%s'",
                           d->name, *p);
            rc = PLT_EINVAL;
        }
    }
    for (const plt_command *c = d->commands; c && c->name; c++) {
        if (!cmd_name_valid(c->name) || !c->run) {
            plt__diags_add(dg, where, 0,
                           "plugin %s: invalid command '%s' (name [a-z][a-z0-9-]* "
                           "and a run function are required)",
                           d->name, c->name);
            rc = PLT_EINVAL;
        }
    }
    if (d->config_keys && plt__schema_check(d->config_keys, d->name, dg) != 0)
        rc = PLT_EINVAL;
    return rc;
}

int
plt__plugin_open(const char *path, plt_plugin **out, plt__diags *dg)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        plt__diags_add(dg, path, 0, "cannot open plugin: %s",
                       plt__strerror(-errno));
        return -errno ? -errno : PLT_ENOENT;
    }
    if (!S_ISREG(st.st_mode)) {
        plt__diags_add(dg, path, 0, "cannot open plugin: not a regular file");
        return PLT_ENOTPLUGIN;
    }

    dlerror();
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *e = dlerror();
        e = e ? e : "unknown error";
        if (strstr(e, "undefined symbol"))
            plt__diags_add(dg, path, 0,
                           "cannot load plugin: unresolved symbol (a library "
                           "it needs is missing or too old): %s",
                           e);
        else if (strstr(e, "invalid ELF header") || strstr(e, "file too short"))
            plt__diags_add(dg, path, 0,
                           "not a Plateau plugin (not a shared object): %s",
                           e);
        else
            plt__diags_add(dg, path, 0, "cannot load plugin: %s", e);
        return PLT_ENOTPLUGIN;
    }
    const plt_plugin_desc *desc = dlsym(dl, PLT_PLUGIN_SYMBOL);
    if (!desc) {
        plt__diags_add(dg, path, 0,
                       "not a Plateau plugin (no exported symbol '%s')",
                       PLT_PLUGIN_SYMBOL);
        dlclose(dl);
        return PLT_ENOTPLUGIN;
    }
    char *stem = stem_of(path);
    if (!stem) {
        dlclose(dl);
        return PLT_ENOMEM;
    }
    int rc = plt__desc_check(desc, stem, path, dg);
    free(stem);
    if (rc != 0) {
        dlclose(dl);
        return rc;
    }
    plt_plugin *p = calloc(1, sizeof(*p));
    if (!p || !(p->name = plt__strdup(desc->name)) ||
        !(p->path = plt__strdup(path))) {
        if (p)
            free(p->name);
        free(p);
        dlclose(dl);
        return PLT_ENOMEM;
    }
    p->dl = dl;
    p->desc = desc;
    *out = p;
    return 0;
}

void
plt__plugin_close(plt_plugin *p)
{
    if (!p)
        return;
    if (p->cfg)
        plt__cfg_free(p->cfg);
    /* Plugins flagged NOUNLOAD keep global state (threads, library
     * globals) that must outlive them; they stay mapped until exit. */
    if (p->dl && !(p->desc->flags & PLT_PLUGIN_F_NOUNLOAD))
        dlclose(p->dl);
    free(p->acq);
    free(p->error);
    free(p->name);
    free(p->path);
    free(p);
}

char *
plt__plugin_find(const char *const *dirs, size_t ndirs, const char *name)
{
    for (size_t i = 0; i < ndirs; i++) {
        char *path = plt__asprintf("%s/%s.so", dirs[i], name);
        if (!path)
            return NULL;
        if (access(path, F_OK) == 0)
            return path;
        free(path);
    }
    return NULL;
}
