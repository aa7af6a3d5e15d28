/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics: an ordered list of "file:line: message" problems collected
 * while checking configuration and plugins, so that `plateau check` can
 * report every problem at once instead of stopping at the first.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "internal.h"

void
plt__diags_add(plt__diags *d, const char *file, int line, const char *fmt,
               ...)
{
    if (!d)
        return;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        plt__diag *v = realloc(d->v, cap * sizeof(*v));
        if (!v)
            return; /* Out of memory: the caller still fails with a code. */
        d->v = v;
        d->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *msg = plt__vasprintf(fmt, ap);
    va_end(ap);
    if (!msg)
        return;
    d->v[d->n++] = (plt__diag){.file = plt__strdup(file), .line = line,
                               .msg = msg};
}

void
plt__diags_print(const plt__diags *d, FILE *to)
{
    for (size_t i = 0; i < d->n; i++) {
        const plt__diag *g = &d->v[i];
        if (g->file && g->line > 0)
            fprintf(to, "%s:%d: %s\n", g->file, g->line, g->msg);
        else if (g->file)
            fprintf(to, "%s: %s\n", g->file, g->msg);
        else
            fprintf(to, "%s\n", g->msg);
    }
}

void
plt__diags_clear(plt__diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].file);
        free(d->v[i].msg);
    }
    free(d->v);
    d->v = NULL;
    d->n = d->cap = 0;
}
