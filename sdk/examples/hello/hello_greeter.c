/* SPDX-License-Identifier: MIT */
/*
 * The hello plugin's logic: the greeting itself (the "greeter" service and
 * the command use it), the periodic greeting event published on a timer,
 * the count of agent events, and the reload rules for its config.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hello_int.h"

int
hello_format(const hello *h, const char *name, char *buf, size_t len)
{
    if (!name || !*name || !buf || len == 0)
        return PLT_EINVAL;
    int n = snprintf(buf, len, "%s, %s!", h->greeting, name);
    if (n < 0)
        return PLT_EINVAL;
    return (size_t)n >= len ? PLT_ERANGE : 0;
}

static int
greeter_greet(void *impl, const char *name, char *buf, size_t len)
{
    return hello_format(impl, name, buf, len);
}

const hello_greeter_vt hello_greeter_vtable = {
    .size = sizeof(hello_greeter_vt),
    .greet = greeter_greet,
};

/* Shared by init and reload, so both refuse the same values. The schema
 * already checked types and bounds; this is the rule it cannot express. */
static int
read_greeting(const plt_cfg *cfg, const char **out)
{
    int rc = plt_cfg_str(cfg, "greeting", out);
    if (rc != 0)
        return rc;
    if (**out == '\0') {
        plt_set_error("greeting must not be empty");
        return PLT_ECONFIG;
    }
    return 0;
}

int
hello_create(const plt_cfg *cfg, hello **out)
{
    const char *greeting;
    int64_t interval;
    int rc = read_greeting(cfg, &greeting);
    if (rc == 0)
        rc = plt_cfg_duration_ms(cfg, "interval", &interval);
    if (rc != 0)
        return rc;
    hello *h = calloc(1, sizeof(*h));
    if (!h)
        return PLT_ENOMEM;
    /* Copy: strings read from a plt_cfg die when a reload replaces it. */
    h->greeting = strdup(greeting);
    if (!h->greeting) {
        free(h);
        return PLT_ENOMEM;
    }
    h->interval_ms = interval;
    *out = h;
    return 0;
}

void
hello_destroy(hello *h)
{
    if (!h)
        return;
    free(h->greeting);
    free(h);
}

int
hello_reconfigure_check(const plt_cfg *cfg)
{
    const char *greeting;
    return read_greeting(cfg, &greeting);
}

int
hello_reconfigure_apply(hello *h, const plt_cfg *cfg)
{
    const char *greeting;
    /* CHECK passed, so this read succeeds; only memory can fail, and then
     * the old greeting stays, which is harmless. */
    if (read_greeting(cfg, &greeting) != 0)
        return 0;
    char *copy = strdup(greeting);
    if (!copy) {
        plt_log(PLT_LOG_WARN, "out of memory: greeting unchanged");
        return 0;
    }
    free(h->greeting);
    h->greeting = copy;
    plt_log(PLT_LOG_INFO, "greeting is now \"%s\"", h->greeting);
    return 0;
}

/* Every interval: one "hello.greeting.sent" event and one log line. */
static void
on_tick(void *arg)
{
    hello *h = arg;
    h->sent++;
    plt_log(PLT_LOG_INFO, "%s, world! (greeting #%lld, %lld agent events)",
            h->greeting, (long long)h->sent, (long long)h->seen_agent_events);
    plt_event *ev;
    if (plt_event_new(&ev, "hello.greeting.sent", 1) != 0)
        return;
    plt_event_set_str(ev, "greeting", h->greeting);
    plt_event_set_i64(ev, "count", h->sent);
    plt_event_set_i64(ev, "seen_agent_events", h->seen_agent_events);
    plt_event_publish(ev); /* takes the reference, also on failure */
}

int
hello_timer_start(hello *h)
{
    int rc = plt_timer_start(&h->timer, (uint64_t)h->interval_ms,
                             (uint64_t)h->interval_ms, on_tick, h);
    if (rc != 0) {
        plt_set_error("cannot start the greeting timer: %s", plt_strerror(rc));
        return rc;
    }
    plt_log(PLT_LOG_INFO, "greeting every %lld ms with \"%s\"",
            (long long)h->interval_ms, h->greeting);
    return 0;
}

void
hello_timer_stop(hello *h)
{
    if (h->timer) {
        plt_timer_stop(h->timer);
        h->timer = NULL;
    }
}

void
hello_on_agent_event(const plt_event *ev, void *arg)
{
    hello *h = arg;
    h->seen_agent_events++;
    plt_log(PLT_LOG_DEBUG, "seen %s (%lld so far)", plt_event_topic(ev),
            (long long)h->seen_agent_events);
}
