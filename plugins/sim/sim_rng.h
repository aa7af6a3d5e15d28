/* SPDX-License-Identifier: MIT */
/*
 * Seeded random streams and distributions of the simulation, shared by the
 * `sim` and `sim_agents` plugins through the static library plateau_sim_rng
 * (plugins never link each other). Prefix sim_rng_.
 */
#ifndef PLATEAU_SIM_RNG_H
#define PLATEAU_SIM_RNG_H

#include <stdbool.h>
#include <stdint.h>


/** xoshiro256** state: one independent stream. */
typedef struct sim_rng {
    uint64_t s[4];
} sim_rng;

/** Seed a stream from (seed, a, b) through splitmix64: distinct (a, b)
 *  pairs give statistically independent streams. */
void sim_rng_seed(sim_rng *r, uint64_t seed, uint64_t a, uint64_t b);
uint64_t sim_rng_next(sim_rng *r);
/** Uniform in [0, 1). */
double sim_rng_uniform(sim_rng *r);
/** Uniform in [lo, hi). */
double sim_rng_range(sim_rng *r, double lo, double hi);
/** Normal (Box-Muller). sd <= 0 gives mean. */
double sim_rng_normal(sim_rng *r, double mean, double sd);
/** Lognormal with the given mean and sd OF THE RESULT (not of the log).
 *  sd <= 0 gives mean; mean <= 0 gives 0. */
double sim_rng_lognormal(sim_rng *r, double mean, double sd);
/** Exponential with @p rate events per unit (mean 1/rate). */
double sim_rng_exponential(sim_rng *r, double rate);
/** True with probability @p p. Always draws one number. */
bool sim_rng_bernoulli(sim_rng *r, double p);
/** FNV-1a of a string, to name a stream after a number or a DID. */
uint64_t sim_hash_str(const char *s);

#endif
