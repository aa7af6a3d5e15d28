/* SPDX-License-Identifier: MIT */
/*
 * The host function table handed to every plugin, and the glue from each
 * entry to the runtime part that implements it. Every entry receives the
 * calling plugin's handle, so the core always knows who owns a timer, a
 * subscription or a log line, and can clean up after a plugin that forgot.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void
h_logv(plt_plugin *p, int level, const char *file, int line, int err,
       const char *fmt, va_list ap)
{
    plt__logv(p ? p->name : "core", level, file, line, err, fmt, ap);
}

static int
h_log_enabled(plt_plugin *p, int level)
{
    (void)p;
    return level <= plt__log_level();
}

static void
h_set_errorv(plt_plugin *p, const char *fmt, va_list ap)
{
    char *msg = plt__vasprintf(fmt, ap);
    if (!msg)
        return;
    free(p->error);
    p->error = msg;
}

static uv_loop_t *
h_loop(plt_plugin *p)
{
    return p->ctx->loop;
}

static int
h_post(plt_plugin *p, plt_fn fn, void *arg)
{
    return plt__post_send(&p->ctx->post, fn, arg);
}

typedef struct work_req {
    uv_work_t req;
    plt__ctx *ctx;
    plt_fn work;
    plt_work_done_fn done;
    void *arg;
} work_req;

static void
work_run(uv_work_t *req)
{
    work_req *w = (work_req *)req;
    w->work(w->arg);
}

static void
work_after(uv_work_t *req, int status)
{
    work_req *w = (work_req *)req;
    plt__ctx *ctx = w->ctx;
    w->done(w->arg, status == UV_ECANCELED ? PLT_ECANCELED : 0);
    free(w);
    plt__post_work_end_loop(&ctx->post);
}

static int
h_queue_work(plt_plugin *p, plt_fn work, plt_work_done_fn done, void *arg)
{
    if (!work || !done)
        return PLT_EINVAL;
    if (p->ctx->shutting_down)
        return PLT_ESHUTDOWN;
    work_req *w = calloc(1, sizeof(*w));
    if (!w)
        return PLT_ENOMEM;
    w->ctx = p->ctx;
    w->work = work;
    w->done = done;
    w->arg = arg;
    plt__post_work_begin(&p->ctx->post);
    int rc = uv_queue_work(p->ctx->loop, &w->req, work_run, work_after);
    if (rc != 0) {
        free(w);
        plt__post_work_end_loop(&p->ctx->post);
        return rc;
    }
    return 0;
}

static void
h_work_begin(plt_plugin *p)
{
    plt__post_work_begin(&p->ctx->post);
}

static void
h_work_end(plt_plugin *p)
{
    plt__post_work_end(&p->ctx->post);
}

static int64_t
h_now(plt_plugin *p)
{
    return plt__clock_now(&p->ctx->clock);
}

static uint64_t
h_mono(plt_plugin *p)
{
    return plt__clock_mono(&p->ctx->clock);
}

static int
h_clock_simulated(plt_plugin *p)
{
    return p->ctx->clock.simulated ? 1 : 0;
}

static int
h_timer_start(plt_plugin *p, plt_timer **out, uint64_t timeout_ms,
              uint64_t repeat_ms, plt_fn cb, void *arg)
{
    if (p->state >= PLT__P_FINI)
        return PLT_ESHUTDOWN;
    return plt__timer_start(&p->ctx->clock, p, out, timeout_ms, repeat_ms, cb,
                            arg);
}

static void
h_timer_stop(plt_plugin *p, plt_timer *t)
{
    plt__timer_stop(&p->ctx->clock, t);
}

static int
h_service_provide(plt_plugin *p, const plt_service_desc *d)
{
    if (!p->in_init) {
        plt__log(p->name, PLT_LOG_ERROR,
                 "services can only be provided during init()");
        return PLT_ESTATE;
    }
    return plt__registry_provide(p->ctx->reg, p, d);
}

static int
h_service_acquire(plt_plugin *p, const char *name, uint16_t major,
                  uint16_t min_minor, plt_service_ref *out)
{
    return plt__registry_acquire(p->ctx->reg, p, name, major, min_minor, out);
}

static int
h_event_new(plt_plugin *p, plt_event **out, const char *topic,
            uint32_t schema_ver)
{
    int rc = plt__event_new(out, p->name, plt__clock_now(&p->ctx->clock),
                            topic, schema_ver);
    if (rc == PLT_EINVAL)
        plt__log(p->name, PLT_LOG_ERROR,
                 "invalid event topic '%s' (want domain.object.verb)",
                 topic ? topic : "(null)");
    return rc;
}

static int
h_event_publish(plt_plugin *p, plt_event *ev)
{
    return plt__bus_publish(&p->ctx->bus, ev);
}

static const char *
h_event_topic(const plt_event *ev)
{
    return ev->topic;
}

static uint32_t
h_event_schema_ver(const plt_event *ev)
{
    return ev->schema_ver;
}

static int64_t
h_event_time(const plt_event *ev)
{
    return ev->time_ms;
}

static const char *
h_event_source(const plt_event *ev)
{
    return ev->source;
}

static size_t
h_event_count(const plt_event *ev)
{
    return ev->n;
}

static int
h_subscribe(plt_plugin *p, const char *pattern, plt_event_fn cb, void *arg,
            plt_sub **out)
{
    int rc = plt__bus_subscribe(&p->ctx->bus, p, pattern, cb, arg, out);
    if (rc == PLT_EINVAL)
        plt__log(p->name, PLT_LOG_ERROR, "invalid event pattern '%s'",
                 pattern ? pattern : "(null)");
    return rc;
}

static void
h_unsubscribe(plt_plugin *p, plt_sub *s)
{
    plt__bus_unsubscribe(&p->ctx->bus, s);
}

static void
h_stopped(plt_plugin *p)
{
    if (p->ctx->on_stopped)
        p->ctx->on_stopped(p->ctx, p);
}

static void
h_command_done(plt_plugin *p, int status)
{
    if (p->ctx->on_command_done)
        p->ctx->on_command_done(p->ctx, p, status);
}

static const char *
h_plugin_name(plt_plugin *p)
{
    return p->name;
}

static const char *
h_data_dir(plt_plugin *p)
{
    return p->ctx->data_dir;
}

const plt_host plt__host_table = {
    .size = sizeof(plt_host),
    .abi_major = PLT_ABI_MAJOR,
    .abi_minor = PLT_ABI_MINOR,
    .logv = h_logv,
    .log_enabled = h_log_enabled,
    .set_errorv = h_set_errorv,
    .strerror = plt__strerror,
    .err_name = plt__err_name,
    .loop = h_loop,
    .post = h_post,
    .queue_work = h_queue_work,
    .work_begin = h_work_begin,
    .work_end = h_work_end,
    .now = h_now,
    .mono = h_mono,
    .clock_simulated = h_clock_simulated,
    .timer_start = h_timer_start,
    .timer_stop = h_timer_stop,
    .cfg_get = plt__cfg_get,
    .cfg_count = plt__cfg_count,
    .cfg_list_at = plt__cfg_list_at,
    .cfg_table_at = plt__cfg_table_at,
    .cfg_section = plt__cfg_section,
    .cfg_is_set = plt__cfg_is_set,
    .cfg_where = plt__cfg_where,
    .service_provide = h_service_provide,
    .service_acquire = h_service_acquire,
    .event_new = h_event_new,
    .event_set = plt__event_set,
    .event_publish = h_event_publish,
    .event_ref = plt__event_ref,
    .event_unref = plt__event_unref,
    .event_topic = h_event_topic,
    .event_schema_ver = h_event_schema_ver,
    .event_time = h_event_time,
    .event_source = h_event_source,
    .event_get = plt__event_get,
    .event_count = h_event_count,
    .event_field_at = plt__event_field_at,
    .subscribe = h_subscribe,
    .unsubscribe = h_unsubscribe,
    .stopped = h_stopped,
    .command_done = h_command_done,
    .plugin_name = h_plugin_name,
    .data_dir = h_data_dir,
};

void
plt__plugin_bind(plt_plugin *p, plt__ctx *ctx)
{
    p->ctx = ctx;
    p->state = PLT__P_LOADED;
    *p->desc->host_slot = &plt__host_table;
    *p->desc->self_slot = p;
}

void
plt__plugin_reap(plt_plugin *p)
{
    size_t nt = plt__clock_cancel_owner(&p->ctx->clock, p);
    size_t ns = plt__bus_cancel_owner(&p->ctx->bus, p);
    if (nt)
        plt__log(p->name, PLT_LOG_WARN,
                 "left %zu timer(s) running after fini; cancelled", nt);
    if (ns)
        plt__log(p->name, PLT_LOG_DEBUG,
                 "%zu subscription(s) removed after fini", ns);
    plt__registry_remove_provider(p->ctx->reg, p);
}
