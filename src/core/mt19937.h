// mt19937.h: numpy's legacy global random stream (np.random.seed / RandomState), in C.
//
// The official ARC builder draws its shuffles, augmentations and translations from
// np.random after np.random.seed(42); a bit-exact build must replay that stream:
//   seed(s)          MT19937 init_genrand(s) (Matsumoto-Nishimura 2002), position 624
//   next32           genrand_int32 (tempered output)
//   interval(m)      numpy random_interval: 0 without a draw if m == 0; else mask = the
//                    smallest 2^k - 1 >= m; repeat v = next32 & mask until v <= m
//                    (m > 0xffffffff takes 64-bit draws: two next32, high word first)
//   randint(lo, hi)  lo + interval(hi - lo - 1) (legacy RandomState.randint, masked
//                    rejection; randint(0, 1) draws nothing)
//   shuffle(n)       for i = n-1 down to 1: j = interval(i), swap a[i], a[j]
//   permutation(n)   0..n-1 (or a given array), then shuffle
// tests/reference/numpy_stream.py writes test vectors from numpy's RandomState.
#ifndef TRM_MT19937_H
#define TRM_MT19937_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t mt[624];
    int pos;
} Mt19937;

void     mt_seed(Mt19937 *r, uint32_t seed);
uint32_t mt_next32(Mt19937 *r);
uint64_t mt_interval(Mt19937 *r, uint64_t max);           // uniform in [0, max]
int64_t  mt_randint(Mt19937 *r, int64_t lo, int64_t hi);  // uniform in [lo, hi), hi > lo
// Fisher-Yates as numpy's shuffle, on n elements of `size` bytes each.
void     mt_shuffle(Mt19937 *r, void *base, size_t n, size_t size);
// out[i] = i for i < n, then mt_shuffle (np.random.permutation(n)).
void     mt_permutation(Mt19937 *r, int *out, int n);

#endif
