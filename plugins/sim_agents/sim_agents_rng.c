/* SPDX-License-Identifier: MIT */
/*
 * Random streams of the simulated agents. Each agent draws from a stream
 * of its own, seeded from (seed, agent index), never from a shared
 * generator: so one agent's behaviour does not depend on how many times
 * the others drew, and the same seed with the same calls replays the same
 * run to the event.
 *
 * The algorithm is the sim plugin's (plugins/sim/sim_rng.c), reproduced
 * here because plugins cannot link each other: xoshiro256** seeded
 * through splitmix64; Box-Muller for the normal (always two uniforms,
 * never a cached spare, so a draw never depends on the previous one); the
 * lognormal parameterised by the mean and standard deviation of the
 * result, which is what a manager knows ("wrap-up lasts 15 s, give or take
 * 10").
 */
#include <math.h>

#include "sim_agents_int.h"

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void
sim_agents_rng_seed(sim_agents_rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
    /* Mixed one after the other so that (seed, a, b) and (seed, b, a)
     * are different streams. */
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
sim_agents_rng_next(sim_agents_rng *r)
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
sim_agents_rng_uniform(sim_agents_rng *r)
{
    /* The top 53 bits: every double in [0, 1) on a 2^-53 grid. */
    return (double)(sim_agents_rng_next(r) >> 11) * 0x1.0p-53;
}

double
sim_agents_rng_normal(sim_agents_rng *r, double mean, double sd)
{
    /* Both uniforms are drawn even when sd is 0, so that later draws do
     * not depend on this one's configuration. */
    double u1 = sim_agents_rng_uniform(r);
    double u2 = sim_agents_rng_uniform(r);
    if (sd <= 0)
        return mean;
    /* 1 - u1 is in (0, 1]: log() never sees 0. */
    double z = sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
    return mean + sd * z;
}

double
sim_agents_rng_lognormal(sim_agents_rng *r, double mean, double sd)
{
    if (mean <= 0) {
        (void)sim_agents_rng_normal(r, 0, 0);
        return 0;
    }
    /* If X = exp(N(mu, sigma^2)), then E[X] = exp(mu + sigma^2/2) and
     * Var[X] = (exp(sigma^2) - 1) E[X]^2, hence: */
    double sigma2 = log(1.0 + (sd * sd) / (mean * mean));
    double mu = log(mean) - sigma2 / 2.0;
    return exp(sim_agents_rng_normal(r, mu, sqrt(sigma2)));
}

bool
sim_agents_rng_bernoulli(sim_agents_rng *r, double p)
{
    return sim_agents_rng_uniform(r) < p;
}
