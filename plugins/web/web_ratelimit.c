/* SPDX-License-Identifier: MIT */
/*
 * Token buckets per client address: one for logins (a few per minute,
 * against password guessing from one place, before the account lockout
 * of the users service even counts) and one for every request (against
 * floods). A bucket holds at most `burst` tokens and refills at `rate`;
 * a request takes one token or is refused with the time to wait.
 *
 * Buckets live in a hash table keyed by address and are forgotten once
 * full again, so memory follows the number of recently active addresses.
 * Time is the core clock, so tests drive it with the simulated clock.
 *
 * The same bucket (web_tb) limits the messages of each WebSocket.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web_int.h"

struct web_bucket {
    web_bucket *next;
    web_tb tb;
    char addr[64];
};

static void
tb_refill(web_tb *b, double rate_per_ms, double burst, int64_t now)
{
    if (now > b->at) {
        b->tokens += (double)(now - b->at) * rate_per_ms;
        if (b->tokens > burst)
            b->tokens = burst;
    }
    b->at = now;
}

int64_t
web_tb_take(web_tb *b, double rate_per_ms, double burst, int64_t now)
{
    if (rate_per_ms <= 0)
        return 0; /* limit disabled */
    if (!b->started) {
        b->tokens = burst; /* a new bucket starts full */
        b->at = now;
        b->started = true;
    }
    tb_refill(b, rate_per_ms, burst, now);
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    int64_t ms = (int64_t)ceil((1.0 - b->tokens) / rate_per_ms);
    return ms < 1 ? 1 : ms;
}

static size_t
hash_addr(const char *s, size_t nslots)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)(h % nslots);
}

void
web_rl_init(web_ratelimit *rl, double per_second, double burst)
{
    memset(rl, 0, sizeof(*rl));
    web_rl_configure(rl, per_second, burst);
}

void
web_rl_configure(web_ratelimit *rl, double per_second, double burst)
{
    rl->rate_per_ms = per_second / 1000.0;
    rl->burst = burst < 1 ? 1 : burst;
}

int64_t
web_rl_take(web_ratelimit *rl, const char *addr, int64_t now)
{
    if (rl->rate_per_ms <= 0)
        return 0; /* limit disabled */
    if (!rl->slots) {
        rl->nslots = 1024;
        rl->slots = calloc(rl->nslots, sizeof(*rl->slots));
        if (!rl->slots) {
            rl->nslots = 0;
            return 0;
        }
    }
    size_t i = hash_addr(addr, rl->nslots);
    web_bucket *b = rl->slots[i];
    while (b && strcmp(b->addr, addr) != 0)
        b = b->next;
    if (!b) {
        /* Past this many addresses the table stops growing: refusing a
         * new address is safer than letting an attacker with many
         * addresses exhaust memory. */
        if (rl->count >= 100000)
            return 1000;
        b = calloc(1, sizeof(*b));
        if (!b)
            return 1000;
        snprintf(b->addr, sizeof(b->addr), "%s", addr);
        b->next = rl->slots[i];
        rl->slots[i] = b;
        rl->count++;
    }
    return web_tb_take(&b->tb, rl->rate_per_ms, rl->burst, now);
}

void
web_rl_sweep(web_ratelimit *rl, int64_t now)
{
    for (size_t i = 0; i < rl->nslots; i++) {
        web_bucket **pp = &rl->slots[i];
        while (*pp) {
            web_bucket *b = *pp;
            tb_refill(&b->tb, rl->rate_per_ms, rl->burst, now);
            if (b->tb.tokens >= rl->burst) {
                *pp = b->next;
                free(b);
                rl->count--;
            } else {
                pp = &b->next;
            }
        }
    }
}

void
web_rl_free(web_ratelimit *rl)
{
    for (size_t i = 0; i < rl->nslots; i++) {
        web_bucket *b = rl->slots[i];
        while (b) {
            web_bucket *n = b->next;
            free(b);
            b = n;
        }
    }
    free(rl->slots);
    rl->slots = NULL;
    rl->nslots = rl->count = 0;
}
