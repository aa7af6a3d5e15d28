/* SPDX-License-Identifier: MIT */
/*
 * What every route file needs the same way: bus events pushed to browsers
 * as JSON, and Plateau error codes as HTTP errors.
 */
#include "http_common.h"

json_t *
htc_event_json(const plt_event *ev)
{
    json_t *o = json_object();
    for (size_t i = 0, n = plt_event_count(ev); o && i < n; i++) {
        const char *k;
        plt_value v;
        if (plt_event_field_at(ev, i, &k, &v) != 0)
            break;
        json_t *j = NULL;
        switch (v.type) {
        case PLT_T_STR:
            j = json_string(v.v.s);
            break;
        case PLT_T_I64:
        case PLT_T_TIME:
            j = json_integer(v.v.i);
            break;
        case PLT_T_DOUBLE:
            j = json_real(v.v.d);
            break;
        case PLT_T_BOOL:
            j = json_boolean(v.v.i);
            break;
        default:
            j = json_null();
            break;
        }
        json_object_set_new(o, k, j);
    }
    return o;
}

void
htc_reply_rc(const plt_http_vt *vt, void *impl, plt_http_req *req, int rc,
             const char *msg)
{
    int st = rc == PLT_EINVAL                          ? 400
             : rc == PLT_ENOENT                        ? 404
             : rc == PLT_EEXIST                        ? 409
             : rc == PLT_EPERM                         ? 403
             : rc == PLT_ESTATE || rc == PLT_ESHUTDOWN ? 503
                                                       : 500;
    const char *code = st == 400   ? "invalid_argument"
                       : st == 404 ? "not_found"
                       : st == 409 ? "conflict"
                       : st == 403 ? "forbidden"
                       : st == 503 ? "unavailable"
                                   : "internal";
    vt->reply_error(impl, req, st, code, msg ? msg : plt_strerror(rc));
}
