// mt19937.c: numpy's legacy RandomState stream. Written from the Mersenne Twister paper's
// reference code (init_genrand, genrand_int32) and the behaviour of numpy 1.24's
// random_interval / random_bounded_uint64_fill / shuffle; tests/test_mt19937.c replays
// test vectors produced by numpy itself.
#include "mt19937.h"

#include "common.h"

#define MT_N 624
#define MT_M 397

void mt_seed(Mt19937 *r, uint32_t seed) {
    r->mt[0] = seed;
    for (int i = 1; i < MT_N; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->pos = MT_N;   // numpy too: the first draw regenerates the whole state
}

// Next generation of all 624 words. Updating in place with indices mod 624 is the
// reference code's three loops in one: words past i + 397 wrap to already-new ones.
static void mt_generate(Mt19937 *r) {
    uint32_t *mt = r->mt;
    for (int i = 0; i < MT_N; i++) {
        uint32_t y = (mt[i] & 0x80000000u) | (mt[(i + 1) % MT_N] & 0x7fffffffu);
        mt[i] = mt[(i + MT_M) % MT_N] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    }
    r->pos = 0;
}

uint32_t mt_next32(Mt19937 *r) {
    if (r->pos >= MT_N) mt_generate(r);
    uint32_t y = r->mt[r->pos++];
    y ^= y >> 11;                 // tempering
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

// numpy's mt19937_next64 is `(uint64_t)next(s) << 32 | next(s)`, whose operand order C
// leaves open; numpy's builds take the high word first, and the fixture's randint(0, 2**40)
// cases confirm it (seed 42: 441507790259 = (1608637542 << 32 | 3421126067) & (2^40 - 1)).
static uint64_t mt_next64(Mt19937 *r) {
    uint64_t hi = mt_next32(r);
    return hi << 32 | mt_next32(r);
}

uint64_t mt_interval(Mt19937 *r, uint64_t max) {
    if (max == 0) return 0;   // no draw
    uint64_t mask = max;      // the smallest 2^k - 1 >= max
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    uint64_t v;
    if (max <= 0xffffffffu) {
        do v = mt_next32(r) & mask; while (v > max);
    } else {
        do v = mt_next64(r) & mask; while (v > max);
    }
    return v;
}

// Legacy randint (int64 dtype) is random_bounded_uint64_fill(off = lo, rng = hi - lo - 1,
// masked): rng == 0 draws nothing, rng == 2^32 - 1 takes next32 as is, rng == 2^64 - 1
// takes next64 as is, the rest is masked rejection; all of these are mt_interval(rng).
int64_t mt_randint(Mt19937 *r, int64_t lo, int64_t hi) {
    if (hi <= lo) die("mt_randint: empty range [%lld, %lld)", (long long)lo, (long long)hi);
    uint64_t rng = (uint64_t)hi - (uint64_t)lo - 1;   // unsigned: no overflow for any lo, hi
    return (int64_t)((uint64_t)lo + mt_interval(r, rng));
}

void mt_shuffle(Mt19937 *r, void *base, size_t n, size_t size) {
    unsigned char *a = base;
    for (size_t i = n > 0 ? n - 1 : 0; i >= 1; i--) {
        size_t j = (size_t)mt_interval(r, i);
        if (j == i) continue;   // numpy swaps an element with itself: nothing to do
        unsigned char *x = a + i * size, *y = a + j * size;
        for (size_t k = 0; k < size; k++) {
            unsigned char t = x[k];
            x[k] = y[k];
            y[k] = t;
        }
    }
}

void mt_permutation(Mt19937 *r, int *out, int n) {
    if (n <= 0) return;
    for (int i = 0; i < n; i++) out[i] = i;
    mt_shuffle(r, out, (size_t)n, sizeof *out);
}
