/* SPDX-License-Identifier: MIT */
/*
 * Random streams of the simulation. Every random decision draws from a
 * stream of its own, never from one process-wide generator: a leg's stream
 * is seeded from (seed, what it reaches, how many times it was reached
 * before), an inbound DID's arrival process from (seed, the DID). So
 * adding, removing or reordering an unrelated call does not move any other
 * call's draws, and the same seed with the same commands replays the same
 * run to the event.
 *
 * The generator is xoshiro256** (Blackman and Vigna), seeded through
 * splitmix64 as its authors recommend; it is small, fast and passes
 * BigCrush. Distributions are the textbook ones: Box-Muller for the normal
 * (one output per call, so that a draw never depends on a cached spare),
 * the lognormal parameterised by the mean and standard deviation of the
 * result (what a call-centre manager knows: "calls last 2 minutes on
 * average, give or take 2"), inversion for the exponential.
 */
#include <math.h>

#include "sim_rng.h"

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void
sim_rng_seed(sim_rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
    /* Mix the three inputs through splitmix64 one after the other, so
     * (seed, a, b) and (seed, b, a) give different streams. */
    uint64_t x = seed;
    uint64_t h = splitmix64(&x);
    x = h ^ a;
    h = splitmix64(&x);
    x = h ^ b;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    /* xoshiro must not start from the all-zero state. */
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1;
}

static inline uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t
sim_rng_next(sim_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double
sim_rng_uniform(sim_rng *r)
{
    /* The top 53 bits: every double in [0, 1) on a 2^-53 grid. */
    return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

double
sim_rng_range(sim_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * sim_rng_uniform(r);
}

double
sim_rng_normal(sim_rng *r, double mean, double sd)
{
    /* Draw both uniforms even when sd is 0, so that a stream's later
     * draws do not depend on the configuration of this one. */
    double u1 = sim_rng_uniform(r);
    double u2 = sim_rng_uniform(r);
    if (sd <= 0)
        return mean;
    /* 1 - u1 is in (0, 1]: log() never sees 0. */
    double z = sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
    return mean + sd * z;
}

double
sim_rng_lognormal(sim_rng *r, double mean, double sd)
{
    if (mean <= 0) {
        (void)sim_rng_normal(r, 0, 0);
        return 0;
    }
    /* If X = exp(N(mu, sigma^2)), then E[X] = exp(mu + sigma^2/2) and
     * Var[X] = (exp(sigma^2) - 1) E[X]^2, hence: */
    double sigma2 = log(1.0 + (sd * sd) / (mean * mean));
    double mu = log(mean) - sigma2 / 2.0;
    return exp(sim_rng_normal(r, mu, sqrt(sigma2)));
}

double
sim_rng_exponential(sim_rng *r, double rate)
{
    double u = sim_rng_uniform(r);
    if (rate <= 0)
        return INFINITY;
    return -log(1.0 - u) / rate;
}

bool
sim_rng_bernoulli(sim_rng *r, double p)
{
    return sim_rng_uniform(r) < p;
}

uint64_t
sim_hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}
