/* SPDX-License-Identifier: MIT */
/*
 * The runtime context: one loop with its clock, event bus, post queue and
 * service registry, shared by every plugin of a host. The real core and
 * the SDK's fake host both build on it, so a plugin behaves the same in a
 * unit test as in production. It also decides when simulated time may
 * advance: only when no event is queued and nothing is posted or in flight.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool
ctx_busy(void *arg)
{
    plt__ctx *ctx = arg;
    if (ctx->bus.delivering && plt__bus_queued(&ctx->bus) > 0)
        return true;
    return plt__post_pending(&ctx->post) > 0;
}

static void
ctx_kick(void *arg)
{
    plt__ctx *ctx = arg;
    plt__clock_kick(&ctx->clock);
}

int
plt__ctx_init(plt__ctx *ctx, uv_loop_t *loop, bool simulated,
              int64_t sim_start_ms)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->loop = loop;
    ctx->reg = calloc(1, sizeof(*ctx->reg));
    if (!ctx->reg)
        return PLT_ENOMEM;
    int rc = plt__clock_init(&ctx->clock, loop, simulated, sim_start_ms);
    if (rc != 0)
        goto fail_reg;
    rc = plt__bus_init(&ctx->bus, loop);
    if (rc != 0)
        goto fail_clock;
    rc = plt__post_init(&ctx->post, loop);
    if (rc != 0)
        goto fail_bus;
    ctx->clock.busy = ctx_busy;
    ctx->clock.busy_arg = ctx;
    ctx->bus.on_idle = ctx_kick;
    ctx->bus.on_idle_arg = ctx;
    ctx->post.on_idle = ctx_kick;
    ctx->post.on_idle_arg = ctx;
    return 0;

fail_bus:
    plt__bus_close(&ctx->bus);
fail_clock:
    plt__clock_close(&ctx->clock);
fail_reg:
    free(ctx->reg);
    ctx->reg = NULL;
    return rc;
}

void
plt__ctx_close(plt__ctx *ctx)
{
    ctx->shutting_down = true;
    plt__post_close(&ctx->post);
    plt__bus_close(&ctx->bus);
    plt__clock_close(&ctx->clock);
    if (ctx->reg) {
        plt__registry_free(ctx->reg);
        free(ctx->reg);
        ctx->reg = NULL;
    }
    free(ctx->data_dir);
    ctx->data_dir = NULL;
}
