/* SPDX-License-Identifier: MIT */
/*
 * Small string and path helpers used across the core: allocation-checked
 * duplication and formatting, plugin name validation, and path handling
 * for config-relative paths and the data directory.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

char *
plt__strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

char *
plt__vasprintf(const char *fmt, va_list ap)
{
    char *out = NULL;
    if (vasprintf(&out, fmt, ap) < 0)
        return NULL;
    return out;
}

char *
plt__asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = plt__vasprintf(fmt, ap);
    va_end(ap);
    return s;
}

bool
plt__name_valid(const char *name)
{
    if (!name || !(*name >= 'a' && *name <= 'z'))
        return false;
    size_t n = 0;
    for (const char *p = name; *p; p++, n++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    }
    return n <= 63;
}

int
plt__mkdir_p(const char *path, int mode)
{
    char *buf = plt__strdup(path);
    if (!buf)
        return PLT_ENOMEM;
    size_t len = strlen(buf);
    while (len > 1 && buf[len - 1] == '/')
        buf[--len] = '\0';
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST) {
            int e = -errno;
            free(buf);
            return e;
        }
        *p = '/';
    }
    int rc = 0;
    if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
        rc = -errno;
    free(buf);
    return rc;
}

char *
plt__dirname(const char *path)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!slash)
        return plt__strdup(".");
    if (slash == path)
        return plt__strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* Join and normalise: collapse "//", drop "." segments, resolve ".."
 * lexically (config paths are user-facing; no symlink resolution). */
char *
plt__path_join(const char *base_dir, const char *path)
{
    char *joined;
    if (path[0] == '/')
        joined = plt__strdup(path);
    else
        joined = plt__asprintf("%s/%s", base_dir ? base_dir : ".", path);
    if (!joined)
        return NULL;

    bool abs = joined[0] == '/';
    size_t cap = strlen(joined) + 2;
    char *out = malloc(cap);
    if (!out) {
        free(joined);
        return NULL;
    }
    size_t o = 0;
    if (abs)
        out[o++] = '/';
    char *save = NULL;
    for (char *seg = strtok_r(joined, "/", &save); seg;
         seg = strtok_r(NULL, "/", &save)) {
        if (strcmp(seg, ".") == 0)
            continue;
        if (strcmp(seg, "..") == 0) {
            /* Pop one segment unless there is none (or only ".."s). */
            size_t start = o;
            while (start > (abs ? 1u : 0u) && out[start - 1] == '/')
                start--;
            size_t s = start;
            while (s > 0 && out[s - 1] != '/')
                s--;
            bool prev_dotdot = (start - s == 2 && strncmp(out + s, "..", 2) == 0);
            if (start > (abs ? 1u : 0u) && !prev_dotdot) {
                o = s;
                continue;
            }
            if (abs)
                continue; /* "/.." is "/" */
        }
        if (o > 0 && out[o - 1] != '/')
            out[o++] = '/';
        size_t l = strlen(seg);
        memcpy(out + o, seg, l);
        o += l;
    }
    if (o == 0)
        out[o++] = '.';
    if (o > 1 && out[o - 1] == '/')
        o--;
    out[o] = '\0';
    free(joined);
    return out;
}
