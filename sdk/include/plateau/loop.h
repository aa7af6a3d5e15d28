/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/loop.h
 * The libuv loop, cross-thread posting and background work.
 *
 * This is the only SDK header that includes <uv.h>: libuv 1.x is an
 * explicit part of the contract (plateau.pc requires libuv >= 1.44).
 * Plugins may open their own uv handles on plt_loop(); every handle a
 * plugin opens must be closed by the end of its stop().
 */
#ifndef PLATEAU_LOOP_H
#define PLATEAU_LOOP_H

#include <uv.h>
#include "plateau/host.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The core's libuv loop. Thread: loop thread only. */
static inline uv_loop_t *
plt_loop(void)
{
    return plt_host_->loop(plt_self_);
}

/**
 * Run fn(arg) on the loop thread, soon, in posting order.
 * @return 0; PLT_ENOMEM; PLT_ESHUTDOWN once the core no longer accepts
 *         posts (fn is then not called and arg stays the caller's).
 * Thread: ANY thread - the only host call allowed off the loop thread.
 * Callbacks: fn is never called from inside this call.
 */
static inline int
plt_post(plt_fn fn, void *arg)
{
    return plt_host_->post(plt_self_, fn, arg);
}

/**
 * Run work(arg) on a worker thread, then done(arg, status) on the loop.
 * Status is 0, or PLT_ECANCELED if the core stopped before work ran. In
 * simulated time the clock waits for the work to finish.
 * @return 0; PLT_ENOMEM; PLT_ESHUTDOWN.
 * Thread: loop thread only. work must not call the host.
 * Callbacks: neither runs if this returns < 0.
 */
static inline int
plt_queue_work(plt_fn work, plt_work_done_fn done, void *arg)
{
    return plt_host_->queue_work(plt_self_, work, done, arg);
}

/**
 * Declare work in flight outside plt_queue_work() (e.g. on the plugin's own
 * thread) whose result will come back through plt_post(). In simulated
 * time the clock does not advance while any work is declared, so results
 * arrive at the same virtual instant on every run.
 * Thread: begin on the loop thread; end from any thread.
 */
static inline void
plt_work_begin(void)
{
    plt_host_->work_begin(plt_self_);
}

static inline void
plt_work_end(void)
{
    plt_host_->work_end(plt_self_);
}

#ifdef __cplusplus
}
#endif
#endif
