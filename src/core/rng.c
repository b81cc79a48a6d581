#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rng_seed(Rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_u64(Rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(Rng *r) { return (double)(rng_u64(r) >> 11) * 0x1.0p-53; }

uint32_t rng_below(Rng *r, uint32_t n) {
    // Lemire's multiply-shift with rejection: exact uniformity without division bias.
    uint64_t m = (uint64_t)(uint32_t)rng_u64(r) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t thresh = (uint32_t)(-n) % n;
        while (low < thresh) {
            m = (uint64_t)(uint32_t)rng_u64(r) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double rng_normal(Rng *r) {
    // Box-Muller; one value per call keeps the stream position independent of history.
    double u1 = 1.0 - rng_uniform(r);   // (0, 1]
    double u2 = rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double rng_trunc_normal(Rng *r, double std) {
    if (std == 0.0) return 0.0;
    // The official init draws a normal truncated to [-2, 2] and multiplies by
    // comp_std = std / sqrt(1 - 4*phi(2)/Z), Z = erf(sqrt(2)), phi the standard normal
    // density, so that the result has standard deviation exactly `std`. Rejection
    // sampling gives the same distribution as its inverse-CDF draw.
    const double phi2 = exp(-2.0) / sqrt(2.0 * M_PI);
    const double Z = erf(sqrt(2.0));
    const double comp = 1.0 / sqrt(1.0 - 4.0 * phi2 / Z);   // 1.1368472...
    double x;
    do x = rng_normal(r); while (x < -2.0 || x > 2.0);
    return x * comp * std;
}

void rng_shuffle_int(Rng *r, int *a, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)(i + 1));
        int t = a[i]; a[i] = a[j]; a[j] = t;
    }
}
