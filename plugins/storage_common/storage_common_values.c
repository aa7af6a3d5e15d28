/* SPDX-License-Identifier: MIT */
/*
 * Errors and values shared by the engines: the SQLSTATE classes the
 * storage contract promises to map, and the deep copy that lets query()
 * return at once ("argument values are copied before the call returns")
 * while the statement runs later on another thread or socket.
 *
 * The copy is one allocation - the value array followed by the bytes it
 * points to - so a request owns its arguments with a single free() and
 * the hot path does one malloc however many strings it carries.
 */
#include <stdlib.h>
#include <string.h>

#include "storage_common.h"

int
stc_sqlstate_to_plt(const char *st)
{
    if (!st || strlen(st) < 2)
        return PLT_EDB;
    if (strncmp(st, "23", 2) == 0)
        return PLT_ECONFLICT;
    if (strncmp(st, "42", 2) == 0 || strncmp(st, "22", 2) == 0)
        return PLT_EINVAL;
    if (strncmp(st, "08", 2) == 0 || strncmp(st, "57P", 3) == 0)
        return PLT_EAGAIN;
    return PLT_EDB;
}

/* Bytes a value needs after the array, or SIZE_MAX if it is invalid. */
static size_t
extra_bytes(const plt_value *v)
{
    switch (v->type) {
    case PLT_T_NULL:
    case PLT_T_I64:
    case PLT_T_DOUBLE:
    case PLT_T_BOOL:
    case PLT_T_TIME:
        return 0;
    case PLT_T_STR: {
        if (!v->v.s)
            return v->len ? SIZE_MAX : 1;
        size_t len = v->len ? v->len : strlen(v->v.s);
        return len + 1;
    }
    case PLT_T_BLOB:
        if (!v->v.b && v->len)
            return SIZE_MAX;
        return v->len;
    default:
        return SIZE_MAX;
    }
}

int
stc_values_copy(const plt_value *in, size_t n, plt_value **out)
{
    if (!out)
        return PLT_EINVAL;
    *out = NULL;
    if (n == 0)
        return 0;
    if (!in || n > SIZE_MAX / sizeof(plt_value))
        return PLT_EINVAL;
    size_t total = n * sizeof(plt_value);
    for (size_t i = 0; i < n; i++) {
        size_t x = extra_bytes(&in[i]);
        if (x == SIZE_MAX)
            return PLT_EINVAL;
        if (total > SIZE_MAX - x)
            return PLT_ENOMEM;
        total += x;
    }
    char *mem = malloc(total);
    if (!mem)
        return PLT_ENOMEM;
    plt_value *v = (plt_value *)mem;
    char *p = mem + n * sizeof(plt_value);
    for (size_t i = 0; i < n; i++) {
        v[i] = in[i];
        if (in[i].type == PLT_T_STR) {
            size_t len = extra_bytes(&in[i]) - 1;
            if (len)
                memcpy(p, in[i].v.s, len);
            p[len] = '\0';
            v[i].v.s = p;
            v[i].len = (uint32_t)len;
            p += len + 1;
        } else if (in[i].type == PLT_T_BLOB) {
            if (in[i].len)
                memcpy(p, in[i].v.b, in[i].len);
            /* An empty blob still points somewhere valid: engines bind a
             * NULL pointer as SQL NULL, not as zero bytes. */
            v[i].v.b = p;
            p += in[i].len;
        }
    }
    *out = v;
    return 0;
}
