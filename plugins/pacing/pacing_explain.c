/* SPDX-License-Identifier: MIT */
/*
 * Explanations of pacing decisions, as one line of text for a supervisor
 * ("why 7 lines now") and as key/value pairs for events and screens. The
 * list of fields is written once, in explain_fields(), and both forms are
 * produced from it.
 */
#include "pacing.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct field {
    const char *key;
    int is_int;
    double v;
} field;

#define NFIELDS 32

static int
explain_fields(const pacing_explain *e, field *f)
{
    int n = 0;
#define I(k, x) f[n++] = (field){k, 1, (double)(x)}
#define D(k, x) f[n++] = (field){k, 0, (double)(x)}
    I("lines", e->lines);
    I("agents_free", e->agents_free);
    I("agents_talk", e->agents_talk);
    I("agents_wrap", e->agents_wrap);
    I("agents_other", e->agents_other);
    D("agents_free_soon", e->agents_free_soon);
    D("agents_available", e->agents_available);
    I("calls_ringing", e->calls_ringing);
    I("calls_waiting", e->calls_waiting);
    D("answers_inflight", e->answers_inflight);
    D("answer_per_dial", e->answer_per_dial);
    D("answers_new", e->answers_new);
    D("overflow", e->overflow);
    D("overflow_allowed", e->overflow_allowed);
    D("hit_rate", e->hit_rate);
    D("machine_rate", e->machine_rate);
    D("amd_fp_rate", e->amd_fp_rate);
    D("talk_mean_s", e->talk_mean_s);
    D("wrap_mean_s", e->wrap_mean_s);
    D("attempts_seen", e->attempts_seen);
    D("window_live", e->window_live);
    D("window_abandons", e->window_abandons);
    D("day_live", e->day_live);
    D("day_abandons", e->day_abandons);
    D("target_rate", e->target_rate);
    D("budget_remaining", e->budget_remaining);
    D("horizon_s", e->horizon_s);
#undef I
#undef D
    return n;
}

static void
value_text(const field *f, char *buf, size_t n)
{
    if (f->is_int)
        snprintf(buf, n, "%lld", (long long)f->v);
    else
        snprintf(buf, n, "%.4g", f->v);
}

void
pacing_explain_each(const pacing_explain *e, pacing_kv_fn fn, void *ud)
{
    if (!e || !fn)
        return;
    char buf[64];
    snprintf(buf, sizeof buf, "%lld", (long long)e->now_ms);
    fn(ud, "now_ms", buf);
    fn(ud, "mode", pacing_mode_name(e->mode));
    field f[NFIELDS];
    int n = explain_fields(e, f);
    for (int i = 0; i < n; i++) {
        value_text(&f[i], buf, sizeof buf);
        fn(ud, f[i].key, buf);
    }
}

/* Append to a bounded buffer, counting what would have been written. */
typedef struct sink {
    char *buf;
    size_t cap, len;
} sink;

static void
put(sink *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = s->len < s->cap ? s->cap - s->len : 0;
    int w = vsnprintf(room ? s->buf + s->len : NULL, room, fmt, ap);
    va_end(ap);
    if (w > 0)
        s->len += (size_t)w;
}

int
pacing_explain_format(const pacing_explain *e, char *buf, size_t n)
{
    if (!e)
        return -1;
    sink s = {buf, n, 0};
    if (buf && n)
        buf[0] = '\0';
    put(&s, "%d line%s: %s; agents %d free + %.2f soon (%d talk, %d wrap)",
        e->lines, e->lines == 1 ? "" : "s", pacing_mode_name(e->mode),
        e->agents_free, e->agents_free_soon, e->agents_talk, e->agents_wrap);
    put(&s, "; in flight %d ringing, %d waiting -> %.2f answers",
        e->calls_ringing, e->calls_waiting, e->answers_inflight);
    put(&s, "; hit rate %.3f, %.3f answer/dial in %.0f s", e->hit_rate,
        e->answer_per_dial, e->horizon_s);
    put(&s, "; overflow %.3f expected", e->overflow);
    put(&s, "; window %.0f abandons / %.0f live, budget %.1f left, "
            "aiming at %.3f per dial",
        e->window_abandons, e->window_live, e->budget_remaining,
        e->target_rate);
    if (e->amd_fp_rate > 0)
        put(&s, "; AMD false positives %.3f charged", e->amd_fp_rate);
    return (int)s.len;
}
