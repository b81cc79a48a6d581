// rng.h: a small deterministic RNG (xoshiro256**, seeded by splitmix64). Every random
// draw in the project goes through one of these, so a seed fixes a run bit for bit.
#ifndef TRM_RNG_H
#define TRM_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } Rng;

void     rng_seed(Rng *r, uint64_t seed);
uint64_t rng_u64(Rng *r);
double   rng_uniform(Rng *r);                 // [0, 1)
uint32_t rng_below(Rng *r, uint32_t n);       // uniform in [0, n), unbiased; n > 0
double   rng_normal(Rng *r);                  // standard normal
// Normal truncated at +-2 standard deviations of the underlying normal, rescaled so its
// standard deviation is `std`: the JAX/Flax truncated normal the official TRM uses.
double   rng_trunc_normal(Rng *r, double std);
void     rng_shuffle_int(Rng *r, int *a, int n);   // Fisher-Yates

#endif
