// gemm_bf16.c: C = alpha op(A) op(B) + beta C with fp32 operands, bf16 products and fp32
// sums, on AVX512-BF16 (vdpbf16ps: 32 bf16 products per instruction, twice the fp32 FMA
// rate). The official TRM runs its forward pass in bfloat16; this is the same trade, made
// only inside the matrix products: inputs are rounded to bf16 (round to nearest even) as
// they are packed, every sum and every other layer stays fp32.
//
// The layout is the classic one (Goto, BLIS): K is cut into blocks of KC, N into blocks of
// NC; a block of op(B) is packed once into strips of NR columns, a block of op(A) into
// panels of MR rows, and a micro-kernel keeps an MR x NR tile of C in 24 registers. The
// packed unit is a pair of consecutive k: vdpbf16ps multiplies two bf16 pairs per fp32 lane,
//     c[i][j] += a(i,2p) b(2p,j) + a(i,2p+1) b(2p+1,j),
// so a panel of A holds, for each pair p, MR 32-bit pairs (one broadcast each), and a strip
// of B holds 2 vectors of 16 pairs. Odd K is padded with a zero pair half.
//
// Each tile of C is computed by one thread with its k-blocks in a fixed order, so results
// are bitwise identical for any thread count.
#include "ops.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#ifndef TRM_DOUBLE
#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_BF16_KERNEL 1
#include <immintrin.h>
#endif
#endif

#ifdef HAVE_BF16_KERNEL

#define MR 12
#define NR 32
// Block sizes, measured on Zen 5 (1 MB L2 per core) over the model's shapes: KC 256, 512,
// 1024, 2048 and MC 96, 192, 384; KC 1024 / MC 192 was best or within noise of it.
#ifndef KC
#define KC 1024       // k per block: a B strip is 512 pairs x 32 columns (64 KB)
#endif
#ifndef MC
#define MC 192        // rows of A per block: 192 x 512 pairs (384 KB), in L2
#endif
#define NC 1024       // columns of B per block: 512 pairs x 1024 (2 MB), shared by the threads

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

// Packed buffers, grown on demand and kept: planned once per shape in practice, and a
// fresh allocation per call would pay the kernel's page clearing every time.
static uint32_t *packed_b;           // KC/2 x NC pairs
static uint32_t *packed_a;           // per thread: MC x KC/2 pairs
static size_t packed_a_threads;
static uint32_t *packed_w;           // the gate/up weights of linear_swiglu_bf16, packed whole
static size_t packed_w_len;

static void packed_buffers(void) {
    size_t threads = (size_t)omp_get_max_threads();
    if (!packed_b) packed_b = xmalloc((size_t)(KC / 2) * NC * 4);
    if (packed_a_threads < threads) {
        free(packed_a);
        packed_a = xmalloc(threads * MC * (KC / 2) * 4);
        packed_a_threads = threads;
    }
}

static uint16_t to_bf16(float f) {   // round to nearest even, as vcvtneps2bf16
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);   // quiet NaN
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000);         // denormal: 0
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

static uint32_t pair(float lo, float hi) { return (uint32_t)to_bf16(lo) | (uint32_t)to_bf16(hi) << 16; }

// Transpose a 16 x 16 matrix of 32-bit elements held in 16 registers, in place.
TARGET static void transpose16x16(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++) {        // t[2i], t[2i+1]: rows 2i, 2i+1 interleaved in each 128-bit lane
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {        // u[4i+c], lane l: column 4l+c of rows 4i..4i+3
        u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int c = 0; c < 4; c++) {        // a 4 x 4 transpose of 128-bit lanes per c
        __m512i v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x88), v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xdd);
        __m512i v2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x88), v3 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xdd);
        r[c] = _mm512_shuffle_i32x4(v0, v2, 0x88);
        r[4 + c] = _mm512_shuffle_i32x4(v1, v3, 0x88);
        r[8 + c] = _mm512_shuffle_i32x4(v0, v2, 0xdd);
        r[12 + c] = _mm512_shuffle_i32x4(v1, v3, 0xdd);
    }
}

// Pack rows [r0, r0+R) x k in [k0, k0+kc) of a matrix whose element (r, k) is
// src[r*rs + k*ks] into dst[p*ld + r] = pair(k0+2p, k0+2p+1), zero for R <= r < Rpad or
// k >= K. Either rs or ks is 1: rows of pairs (ks == 1) or two rows of k interleaved (rs == 1).
TARGET static void pack_pairs(uint32_t *dst, int ld, int Rpad, const float *src, size_t rs, size_t ks,
                              int R, int kc) {
    int P = (kc + 1) / 2;
    if (ks == 1) {
        int P16 = kc / 32 * 16;                        // pairs handled 16 at a time
        for (int r0 = 0; r0 < R; r0 += 16) {
            int n = MIN(16, R - r0);
            __mmask16 m = (__mmask16)((1u << n) - 1);
            for (int p0 = 0; p0 < P16; p0 += 16) {
                __m512i v[16];
                for (int i = 0; i < 16; i++) {
                    const float *si = src + (size_t)(r0 + i) * rs + 2 * p0;
                    v[i] = i < n ? (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(si + 16), _mm512_loadu_ps(si))
                                 : _mm512_setzero_si512();
                }
                transpose16x16(v);                     // v[p]: pair p0+p of rows r0..r0+15
                for (int p = 0; p < 16; p++) _mm512_mask_storeu_epi32(dst + (size_t)(p0 + p) * ld + r0, m, v[p]);
            }
        }
        for (int r = 0; r < R; r++)
            for (int p = P16; p < P; p++) {
                const float *s = src + r * rs;
                dst[(size_t)p * ld + r] = pair(s[2 * p], 2 * p + 1 < kc ? s[2 * p + 1] : 0);
            }
    } else {
        // Interleave rows 2p and 2p+1 of k, 16 r at a time: lane q gets (k=2p, k=2p+1) of r+q.
        const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                             23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
        for (int p = 0; p < P; p++) {
            const float *s0 = src + (size_t)(2 * p) * ks;
            const float *s1 = 2 * p + 1 < kc ? s0 + ks : NULL;
            uint32_t *d = dst + (size_t)p * ld;
            for (int r = 0; r < R; r += 16) {
                __mmask16 m = R - r >= 16 ? 0xffff : (__mmask16)((1u << (R - r)) - 1);
                __m512 lo = _mm512_maskz_loadu_ps(m, s0 + r);
                __m512 hi = s1 ? _mm512_maskz_loadu_ps(m, s1 + r) : _mm512_setzero_ps();
                __m512i both = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);   // [lo0..lo15 | hi0..hi15]
                _mm512_mask_storeu_epi32(d + r, m, _mm512_permutexvar_epi16(idx, both));
            }
        }
    }
    for (int p = 0; p < P; p++)                        // padding rows of the last panel
        for (int r = R; r < Rpad; r++) dst[(size_t)p * ld + r] = 0;
}

// The MR x NR tile of an A panel times a B strip over P pairs, into c (registers once inlined).
TARGET static inline __attribute__((always_inline)) void tile(int P, const uint32_t *a, const uint32_t *b,
                                                              __m512 c[MR][2]) {
    for (int i = 0; i < MR; i++) c[i][0] = c[i][1] = _mm512_setzero_ps();
    for (int p = 0; p < P; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + (size_t)p * NR);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + (size_t)p * NR + 16);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[(size_t)p * MR + i]);
            c[i][0] = _mm512_dpbf16_ps(c[i][0], ai, b0);
            c[i][1] = _mm512_dpbf16_ps(c[i][1], ai, b1);
        }
    }
}

// The tile, then C = alpha acc + beta C (first k-block) or C += alpha acc (later ones);
// edge tiles store only the rows and columns that exist (masked).
TARGET static void kernel(int P, const uint32_t *a, const uint32_t *b, float *C, int ldc,
                          int rows, int cols, float alpha, float beta, bool first) {
    __m512 c[MR][2];
    tile(P, a, b, c);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(first ? beta : 1.0f);
    bool load = !(first && beta == 0);
    if (rows == MR && cols == NR) {
        for (int i = 0; i < MR; i++)
            for (int h = 0; h < 2; h++) {
                float *ci = C + (size_t)i * ldc + 16 * h;
                __m512 v = _mm512_mul_ps(va, c[i][h]);
                if (load) v = _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci), v);
                _mm512_storeu_ps(ci, v);
            }
        return;
    }
    for (int i = 0; i < rows; i++)
        for (int h = 0; h < 2 && 16 * h < cols; h++) {
            int n = cols - 16 * h < 16 ? cols - 16 * h : 16;
            __mmask16 m = (__mmask16)((1u << n) - 1);
            float *ci = C + (size_t)i * ldc + 16 * h;
            __m512 v = _mm512_mul_ps(va, c[i][h]);
            if (load) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, ci), v);
            _mm512_mask_storeu_ps(ci, m, v);
        }
}

// Rows of A per block: MC, or fewer when that would leave a thread without a block.
static int block_rows(int M) {
    int threads = omp_get_max_threads();
    return MIN(MC, ((M + threads - 1) / threads + MR - 1) / MR * MR);
}

// Pack rows [i0, i0 + mc) of op(A) (element (i, k) at A[i*rs + k*ks], k in [0, kc)) into
// this thread's panels of MR rows; the last panel of the matrix is zero-padded.
TARGET static void pack_a_block(uint32_t *pa, const float *A, size_t rs, size_t ks, int i0, int mc, int M, int kc) {
    int P = (kc + 1) / 2;
    for (int q = 0; q * MR < mc; q++) {
        int i = i0 + q * MR;
        pack_pairs(pa + (size_t)q * P * MR, MR, MR, A + i * rs, rs, ks, MIN(M - i, MR), kc);
    }
}

// e^x for 16 lanes: the range reduction and polynomial of ops.c's fast_exp (relative error
// < 3e-7 over the clamped range).
TARGET static inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    __m512 k = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(12582912.0f)),
                             _mm512_set1_ps(12582912.0f));
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.428606765330187045e-06f), r);
    __m512 p = _mm512_set1_ps(0.0013888889f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.0083333338f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.041666668f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.16666667f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(k), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

// The tile of a gate|up strip (16 gate columns, then the same 16 up columns), stored as
// act = silu(gate) * up: 16 columns of the activation per row.
TARGET static void kernel_swiglu(int P, const uint32_t *a, const uint32_t *b, float *act, int ld, int rows) {
    __m512 c[MR][2];
    tile(P, a, b, c);
    for (int i = 0; i < rows; i++) {
        __m512 g = c[i][0];
        __m512 sig = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), exp16(_mm512_sub_ps(_mm512_setzero_ps(), g))));
        _mm512_storeu_ps(act + (size_t)i * ld, _mm512_mul_ps(_mm512_mul_ps(g, sig), c[i][1]));
    }
}

// act[M, Wd] = swiglu(x[M, K] Wgu^T) with Wgu [2 Wd, K] = [gate; up]: the gate/up product
// never reaches memory. B strips pair gate columns 16s.. with up columns Wd + 16s.., so one
// register tile holds both halves of 16 activations. Needs K <= KC and Wd % 16 == 0.
TARGET static void swiglu_bf16_avx512(float *act, const float *x, const float *Wgu, int M, int K, int Wd) {
    int P = (K + 1) / 2, strips = Wd / 16, mc_max = block_rows(M);
    int blocks = (M + mc_max - 1) / mc_max;
    size_t need = (size_t)strips * P * NR;
    if (packed_w_len < need) {
        free(packed_w);
        packed_w = xmalloc(need * sizeof(uint32_t));
        packed_w_len = need;
    }
    uint32_t *pb = packed_w;
#pragma omp parallel
    {
#pragma omp for schedule(static)
        for (int s = 0; s < strips; s++) {
            pack_pairs(pb + (size_t)s * P * NR, NR, 16, Wgu + (size_t)16 * s * K, (size_t)K, 1, 16, K);
            pack_pairs(pb + (size_t)s * P * NR + 16, NR, 16, Wgu + (size_t)(Wd + 16 * s) * K, (size_t)K, 1, 16, K);
        }
        uint32_t *pa = packed_a + (size_t)omp_get_thread_num() * MC * (KC / 2);
#pragma omp for schedule(static)
        for (int blk = 0; blk < blocks; blk++) {
            int i0 = blk * mc_max, mc = MIN(M - i0, mc_max), panels = (mc + MR - 1) / MR;
            pack_a_block(pa, x, (size_t)K, 1, i0, mc, M, K);
            for (int s = 0; s < strips; s++)
                for (int q = 0; q < panels; q++) {
                    int i = i0 + q * MR;
                    kernel_swiglu(P, pa + (size_t)q * P * MR, pb + (size_t)s * P * NR, act + (size_t)i * Wd + 16 * s,
                                  Wd, MIN(M - i, MR));
                }
        }
    }
}

TARGET static void gemm_bf16_avx512(bool transA, bool transB, int M, int N, int K, float alpha,
                                    const float *A, int lda, const float *B, int ldb, float beta,
                                    float *C, int ldc) {
    int mc_max = block_rows(M);
    // op(A)(i, k) = A[i*lda + k] or A[k*lda + i]; op(B)(k, j) as rows j of B^T likewise.
    size_t a_rs = transA ? 1 : (size_t)lda, a_ks = transA ? (size_t)lda : 1;
    size_t b_rs = transB ? (size_t)ldb : 1, b_ks = transB ? 1 : (size_t)ldb;
    for (int k0 = 0; k0 < K; k0 += KC) {
        int kc = K - k0 < KC ? K - k0 : KC, P = (kc + 1) / 2;
        bool first = k0 == 0;
        for (int j0 = 0; j0 < N; j0 += NC) {
            int nc = N - j0 < NC ? N - j0 : NC, strips = (nc + NR - 1) / NR;
            int blocks = (M + mc_max - 1) / mc_max;
#pragma omp parallel
            {
#pragma omp for schedule(static)
                for (int s = 0; s < strips; s++) {
                    int j = j0 + s * NR, cols = N - j < NR ? N - j : NR;
                    pack_pairs(packed_b + (size_t)s * P * NR, NR, NR, B + j * b_rs + k0 * b_ks, b_rs, b_ks, cols, kc);
                }
                uint32_t *pa = packed_a + (size_t)omp_get_thread_num() * MC * (KC / 2);
#pragma omp for schedule(static)
                for (int blk = 0; blk < blocks; blk++) {
                    int i0 = blk * mc_max, mc = MIN(M - i0, mc_max), panels = (mc + MR - 1) / MR;
                    pack_a_block(pa, A + k0 * a_ks, a_rs, a_ks, i0, mc, M, kc);
                    for (int s = 0; s < strips; s++) {
                        int j = j0 + s * NR, cols = N - j < NR ? N - j : NR;
                        for (int q = 0; q < panels; q++) {
                            int i = i0 + q * MR, rows = MIN(M - i, MR);
                            kernel(P, pa + (size_t)q * P * MR, packed_b + (size_t)s * P * NR,
                                   C + (size_t)i * ldc + j, ldc, rows, cols, alpha, beta, first);
                        }
                    }
                }
            }
        }
    }
}
#endif

static MatmulPrecision precision = MATMUL_FP32;

bool matmul_bf16_supported(void) {
#ifdef HAVE_BF16_KERNEL
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
#else
    return false;
#endif
}

int set_matmul_precision(MatmulPrecision p, char *err) {
    if (p == MATMUL_BF16 && !matmul_bf16_supported())
        return err_set(err, "bf16 matrix products need a CPU with AVX512-BF16 (and an fp32 build)");
    precision = p;
    return 0;
}

MatmulPrecision matmul_precision(void) { return precision; }

const char *matmul_precision_name(MatmulPrecision p) { return p == MATMUL_BF16 ? "bf16" : "fp32"; }

void gemm_bf16(bool transA, bool transB, int M, int N, int K, real alpha, const real *A, int lda,
               const real *B, int ldb, real beta, real *C, int ldc) {
#ifdef HAVE_BF16_KERNEL
    if (M == 0 || N == 0) return;
    if (K == 0) {   // no products: C = beta C
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
        return;
    }
    // The packed buffers are shared by the call's own threads: one call at a time.
    if (omp_in_parallel()) die("gemm_bf16: called from inside an OpenMP parallel region");
    packed_buffers();
    gemm_bf16_avx512(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    (void)transA; (void)transB; (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)lda;
    (void)B; (void)ldb; (void)beta; (void)C; (void)ldc;
    die("gemm_bf16: not available in this build");
#endif
}

bool linear_swiglu_bf16(real *act, const real *x, const real *W_gu, int N, int in, int W) {
#ifdef HAVE_BF16_KERNEL
    if (precision != MATMUL_BF16 || in > KC || W % 16 || N == 0) return false;
    if (omp_in_parallel()) die("linear_swiglu_bf16: called from inside an OpenMP parallel region");
    packed_buffers();
    swiglu_bf16_avx512(act, x, W_gu, N, in, W);
    return true;
#else
    (void)act; (void)x; (void)W_gu; (void)N; (void)in; (void)W;
    return false;
#endif
}
