/* SPDX-License-Identifier: MIT */
/*
 * Error codes to text. Shared by the core and the fake host so that a
 * plugin sees the same messages in tests and in production. Plugins reach
 * these through the host table (plt_strerror / plt_err_name).
 */
#include <string.h>

#include "plateau/error.h"

const char *plt__strerror(int err);
const char *plt__err_name(int err);

static const struct {
    int code;
    const char *name;
    const char *text;
} plt_errors[] = {
    {PLT_OK, "PLT_OK", "success"},
    {PLT_EABI, "PLT_EABI", "incompatible plugin ABI"},
    {PLT_ENOSERVICE, "PLT_ENOSERVICE", "no such service"},
    {PLT_EDEPCYCLE, "PLT_EDEPCYCLE", "dependency cycle"},
    {PLT_ECONFIG, "PLT_ECONFIG", "invalid configuration"},
    {PLT_ESTATE, "PLT_ESTATE", "not allowed in the current state"},
    {PLT_ENOTPLUGIN, "PLT_ENOTPLUGIN", "not a Plateau plugin"},
    {PLT_EVERSION, "PLT_EVERSION", "incompatible service version"},
    {PLT_ESHUTDOWN, "PLT_ESHUTDOWN", "shutting down"},
    {PLT_ECONFLICT, "PLT_ECONFLICT", "conflicting change"},
    {PLT_EDB, "PLT_EDB", "database error"},
    {PLT_ESCHEMA, "PLT_ESCHEMA", "database schema newer than the code"},
    {PLT_EAUTH, "PLT_EAUTH", "authentication failed"},
    {PLT_ELOCKED, "PLT_ELOCKED", "locked"},
    {PLT_EPERM, "PLT_EPERM", "operation not permitted"},
    {PLT_ENOENT, "PLT_ENOENT", "no such file or entry"},
    {PLT_EIO, "PLT_EIO", "input/output error"},
    {PLT_ENOMEM, "PLT_ENOMEM", "out of memory"},
    {PLT_EACCES, "PLT_EACCES", "permission denied"},
    {PLT_EBUSY, "PLT_EBUSY", "resource busy"},
    {PLT_EEXIST, "PLT_EEXIST", "already exists"},
    {PLT_EINVAL, "PLT_EINVAL", "invalid argument"},
    {PLT_ENOSPC, "PLT_ENOSPC", "no space left on device"},
    {PLT_ERANGE, "PLT_ERANGE", "out of range"},
    {PLT_EAGAIN, "PLT_EAGAIN", "try again"},
    {PLT_ENOTSUP, "PLT_ENOTSUP", "not supported"},
    {PLT_ETIMEDOUT, "PLT_ETIMEDOUT", "timed out"},
    {PLT_ECANCELED, "PLT_ECANCELED", "canceled"},
    {PLT_ECONNREFUSED, "PLT_ECONNREFUSED", "connection refused"},
    {PLT_EINPROGRESS, "PLT_EINPROGRESS", "in progress"},
};

const char *
plt__strerror(int err)
{
    for (size_t i = 0; i < sizeof(plt_errors) / sizeof(plt_errors[0]); i++)
        if (plt_errors[i].code == err)
            return plt_errors[i].text;
    /* Any other negative errno: the C library knows its text. strerror()
     * returns a static string for known codes on glibc. */
    if (err < 0 && err > -4096)
        return strerror(-err);
    return "unknown error";
}

const char *
plt__err_name(int err)
{
    for (size_t i = 0; i < sizeof(plt_errors) / sizeof(plt_errors[0]); i++)
        if (plt_errors[i].code == err)
            return plt_errors[i].name;
    if (err < 0 && err > -4096) {
        const char *n = strerrorname_np(-err);
        return n ? n : "EUNKNOWN";
    }
    return "EUNKNOWN";
}
