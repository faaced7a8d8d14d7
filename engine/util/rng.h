/* rng.h - the engine's random streams: small, fast, seedable, and splittable so that every batch,
 * worker and op call gets a stream that depends only on (seed, purpose, index), never on threads. */
#ifndef ENAS_ENGINE_RNG_H
#define ENAS_ENGINE_RNG_H

#include <stdint.h>

struct enas_rng {
    uint64_t s[4]; /* xoshiro256** state */
};

/* Seeds from (seed, stream id): distinct ids give independent streams. */
void enas__rng_seed(struct enas_rng *r, uint64_t seed, uint64_t stream);
uint64_t enas__rng_u64(struct enas_rng *r);
/* Uniform in [0, 1). */
double enas__rng_uniform(struct enas_rng *r);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint64_t enas__rng_below(struct enas_rng *r, uint64_t n);
/* Standard normal (Box-Muller; no cached second value, so the stream stays position-only). */
double enas__rng_normal(struct enas_rng *r);

#endif
