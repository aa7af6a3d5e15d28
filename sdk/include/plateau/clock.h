/* SPDX-License-Identifier: MIT */
/**
 * @file plateau/clock.h
 * The core clock and timers.
 *
 * Plugins read time only through plt_now()/plt_mono() and wait only with
 * plt_timer_start(). The clock is real, or simulated: in simulated mode
 * virtual time jumps straight to the next due timer once the loop has
 * nothing else to do (no queued events, no posted callbacks, no work in
 * flight), so a day of activity runs in seconds and a run is reproducible.
 *
 * Timers due at the same instant fire in the order they were started.
 *
 * Thread: loop thread only.
 */
#ifndef PLATEAU_CLOCK_H
#define PLATEAU_CLOCK_H

#include "plateau/host.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Wall-clock time: UTC milliseconds since the Unix epoch. */
static inline int64_t
plt_now(void)
{
    return plt_host_->now(plt_self_);
}

/** Monotonic milliseconds, for measuring intervals. */
static inline uint64_t
plt_mono(void)
{
    return plt_host_->mono(plt_self_);
}

/** 1 if the clock is simulated. */
static inline int
plt_clock_simulated(void)
{
    return plt_host_->clock_simulated(plt_self_);
}

/**
 * Start a timer owned by this plugin.
 * @param timeout_ms  delay before the first call.
 * @param repeat_ms   period after that, or 0 for a one-shot timer.
 * @return 0 and the handle; PLT_ENOMEM; PLT_ESHUTDOWN after fini began.
 * Ownership: a repeating timer lives until plt_timer_stop(). A one-shot
 * timer is released by the core right after its callback returns, unless
 * it was stopped before; do not use its handle after that.
 * Callbacks: cb runs on the loop thread, never from inside this call.
 */
static inline int
plt_timer_start(plt_timer **out, uint64_t timeout_ms, uint64_t repeat_ms,
                plt_fn cb, void *arg)
{
    return plt_host_->timer_start(plt_self_, out, timeout_ms, repeat_ms, cb,
                                  arg);
}

/** Cancel and release a timer; safe inside its own callback. */
static inline void
plt_timer_stop(plt_timer *t)
{
    plt_host_->timer_stop(plt_self_, t);
}

#ifdef __cplusplus
}
#endif
#endif
