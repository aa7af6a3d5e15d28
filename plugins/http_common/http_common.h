/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the route files of feature plugins (see
 * CMakeLists.txt): each plugin links this static library.
 *
 * Thread: loop thread only.
 */
#ifndef PLATEAU_HTTP_COMMON_H
#define PLATEAU_HTTP_COMMON_H

#include <plateau/plateau.h>
#include <plateau/svc/http.h>

/** The fields of @p ev as a new JSON object (strings, integers, times as
 *  UTC ms, doubles, booleans; anything else null). NULL if out of memory.
 *  Ownership: the caller's. */
json_t *htc_event_json(const plt_event *ev);

/** Answer @p req with the error shape for a Plateau code: PLT_EINVAL 400
 *  invalid_argument, PLT_ENOENT 404 not_found, PLT_EEXIST 409 conflict,
 *  PLT_EPERM 403 forbidden, PLT_ESTATE/PLT_ESHUTDOWN 503 unavailable,
 *  anything else 500 internal. @p msg NULL = plt_strerror(rc). */
void htc_reply_rc(const plt_http_vt *vt, void *impl, plt_http_req *req, int rc,
                  const char *msg);

#endif
