// ops.c: forward and backward of every layer. Matrix products go to BLAS; the rest are
// OpenMP loops over rows whose per-row arithmetic does not depend on the thread count,
// so results are bitwise reproducible for a given number of threads.
#include "ops.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void gemm(bool transA, bool transB, int M, int N, int K, real alpha, const real *A, int lda,
          const real *B, int ldb, real beta, real *C, int ldc) {
    if (M == 0 || N == 0) return;
#ifdef TRM_DOUBLE
    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    if (matmul_precision() == MATMUL_BF16) {
        gemm_bf16(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

void linear_forward(real *y, const real *x, const real *W, int N, int in, int out) {
    gemm(false, true, N, out, in, 1, x, in, W, in, 0, y, out);
}

void linear_backward(real *dx, real *dW, const real *dy, const real *x, const real *W,
                     int N, int in, int out, bool accumulate_dx) {
    if (dx) gemm(false, false, N, in, out, 1, dy, out, W, in, accumulate_dx ? 1 : 0, dx, in);
    if (dW) gemm(true, false, out, in, N, 1, dy, out, x, in, 1, dW, in);
}

void rmsnorm_forward(real *y, real *rstd, const real *x, const real *res, int N, int C, double eps) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const real *xi = x + (size_t)i * C;
        real *yi = y + (size_t)i * C;
        if (res) {   // the residual sum goes through y, whose row stays in L1 for the norm
            const real *ri = res + (size_t)i * C;
            for (int j = 0; j < C; j++) yi[j] = xi[j] + ri[j];
            xi = yi;
        }
        double ss = 0;   // the official code normalises in fp32; double costs nothing here
        for (int j = 0; j < C; j++) ss += (double)xi[j] * xi[j];
        real r = (real)(1.0 / sqrt(ss / C + eps));
        for (int j = 0; j < C; j++) yi[j] = xi[j] * r;
        rstd[i] = r;
    }
}

void rmsnorm_backward(real *dx, const real *dy, const real *y, const real *rstd, int N, int C) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const real *dyi = dy + (size_t)i * C, *yi = y + (size_t)i * C;
        real *dxi = dx + (size_t)i * C;
        double dot = 0;
        for (int j = 0; j < C; j++) dot += (double)dyi[j] * yi[j];
        real mean = (real)(dot / C), r = rstd[i];
        for (int j = 0; j < C; j++) dxi[j] = r * (dyi[j] - yi[j] * mean);
    }
}

// exp for the float build: range reduction x = k ln2 + r, |r| <= ln2/2, a degree-6
// polynomial for e^r and 2^k from the exponent bits. Relative error < 3e-7 (about 2
// ulp) over the clamped range, and no branches or calls, so loops over it vectorise;
// libm's expf is a scalar call. The double build keeps exp() for the exact checks.
#ifdef TRM_DOUBLE
static inline real fast_exp(real x) { return exp(x); }
#else
static inline float fast_exp(float x) {
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    // round to nearest by the 1.5 * 2^23 trick: no libm call, so the loop vectorises
    float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - k * 0.693145751953125f - k * 1.428606765330187045e-06f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.16666667f + r * (0.041666668f + r * (0.0083333338f + r * 0.0013888889f)))));
    int32_t bits = ((int32_t)k + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}
#endif

static inline real sigmoid(real x) { return 1 / (1 + fast_exp(-x)); }

void swiglu_forward(real *act, const real *gu, int N, int W) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const real *g = gu + (size_t)i * 2 * W, *u = g + W;
        real *a = act + (size_t)i * W;
        for (int j = 0; j < W; j++) a[j] = g[j] * sigmoid(g[j]) * u[j];
    }
}

void swiglu_backward(real *dgu, const real *dact, const real *gu, int N, int W) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const real *g = gu + (size_t)i * 2 * W, *u = g + W, *da = dact + (size_t)i * W;
        real *dg = dgu + (size_t)i * 2 * W, *du = dg + W;
        for (int j = 0; j < W; j++) {
            real s = sigmoid(g[j]);
            real silu = g[j] * s;
            du[j] = da[j] * silu;
            dg[j] = da[j] * u[j] * s * (1 + g[j] * (1 - s));   // d silu/dg = s + g s (1 - s)
        }
    }
}

void rope_tables(real *cos_t, real *sin_t, int Lt, int hd, double theta) {
    int half = hd / 2;
    for (int p = 0; p < Lt; p++)
        for (int i = 0; i < half; i++) {
            double freq = p * pow(theta, -2.0 * i / hd);
            cos_t[p * hd + i] = cos_t[p * hd + i + half] = (real)cos(freq);
            sin_t[p * hd + i] = sin_t[p * hd + i + half] = (real)sin(freq);
        }
}

// x' = x cos + rotate_half(x) sin with rotate_half(x) = [-x2, x1]; the inverse rotation
// (sign = -1) is the transpose, which is what the backward needs.
static void rope_apply(real *qkv, const real *cos_t, const real *sin_t, int B, int Lt, int H,
                       int hd, real sign) {
    int d = H * hd, half = hd / 2;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < B * Lt; r++) {
        const real *c = cos_t + (size_t)(r % Lt) * hd, *s = sin_t + (size_t)(r % Lt) * hd;
        for (int part = 0; part < 2; part++)          // q, then k
            for (int h = 0; h < H; h++) {
                real *x = qkv + (size_t)r * 3 * d + part * d + h * hd;
                for (int i = 0; i < half; i++) {
                    real x1 = x[i], x2 = x[i + half];
                    x[i] = x1 * c[i] - sign * x2 * s[i];
                    x[i + half] = x2 * c[i + half] + sign * x1 * s[i + half];
                }
            }
    }
}

void rope_forward(real *qkv, const real *cos_t, const real *sin_t, int B, int Lt, int H, int hd) {
    rope_apply(qkv, cos_t, sin_t, B, Lt, H, hd, 1);
}

void rope_backward(real *dqkv, const real *cos_t, const real *sin_t, int B, int Lt, int H, int hd) {
    rope_apply(dqkv, cos_t, sin_t, B, Lt, H, hd, -1);
}

// out[C][R] = in[R][C]^T, in 16 x 16 tiles: a tile's reads and writes each touch 16 cache
// lines, where the plain double loop walked the output with a stride of R floats.
static void transpose(real *out, const real *in, int R, int C) {
    enum { TB = 16 };
    for (int r0 = 0; r0 < R; r0 += TB)
        for (int c0 = 0; c0 < C; c0 += TB) {
            int r1 = MIN(R, r0 + TB), c1 = MIN(C, c0 + TB);
            for (int c = c0; c < c1; c++)
                for (int r = r0; r < r1; r++) out[(size_t)c * R + r] = in[(size_t)r * C + c];
        }
}

// ---------------------------------------------------------------------------------------
// Attention, tiled as flash attention: a block of BQ queries meets the keys BK at a time,
// so no more than a BQ x BK tile of scores exists (at ARC length, 916 tokens, the whole
// probability matrix was 3.3 MB per head, far out of cache). The forward keeps a running
// max and sum per row (online softmax) and writes the row log-sum-exp; the backward
// recomputes each tile of P from Q, K and it.
//
// Every product is one register-tiled kernel, written with GCC vector types so that it is
// the same code for 512-bit (AVX-512), 256-bit (AVX2) or 128-bit vectors. Operands are
// packed per (sequence, head) into zero-padded buffers: row counts padded to the tile's
// MR rows, column counts to its NW columns, so the kernel has no edge cases; only the
// summed (k) extents are exact, and padded rows and columns are never written back.
//
// Each query row of the forward and each (sequence, head) of the backward is one thread's,
// and every sum runs in a fixed order (one FMA chain over k per output element, whatever
// the tiling), so results are the same bits for any thread count.

#if defined(__AVX512F__)
#define ATT_VBYTES 64
#elif defined(__AVX__)
#define ATT_VBYTES 32
#else
#define ATT_VBYTES 16
#endif
typedef real vreal __attribute__((vector_size(ATT_VBYTES)));

// The register tile: MR rows x NV vectors of C. 512-bit: 8 x 2 = 16 of the 32 registers
// hold accumulators, each B vector feeds 8 FMAs (the kernel alone: 220-240 GFLOP/s on one
// Zen 5 core, the FMA peak). 256-bit: 6 x 2 = 12 of 16 (the Haswell sgemm tile), leaving
// room for the two B vectors and a broadcast (~117 GFLOP/s, again the peak). Query x key
// blocks, swept at 916 tokens (forward + backward, one thread): 512-bit, 32 x 64 and
// 128 x 64 within 3% of 64 x 64, 64 x 32 5% slower, 64 x 128 and 32 x 128 7-10% (their
// score tiles leave L1); 256-bit, 48 x 48, 96 x 48 and 96 x 96 within 3% of 48 x 96.
#if ATT_VBYTES == 64
enum { MR = 8, NV = 2, BQ = 64, BK = 64 };
#else
enum { MR = 6, NV = 2, BQ = 48, BK = 96 };
#endif
enum { VL = ATT_VBYTES / sizeof(real), NW = NV * VL };
_Static_assert(BQ % MR == 0 && BK % MR == 0 && BK % NW == 0, "tiles must hold whole register tiles");

static inline int round_up(int n, int m) { return (n + m - 1) / m * m; }

static inline vreal vload(const real *p) { vreal v; memcpy(&v, p, sizeof v); return v; }
static inline void vstore(real *p, vreal v) { memcpy(p, &v, sizeof v); }

// fast_exp of a vector, in the same steps. A loop over fast_exp itself stays scalar on
// AVX2: GCC will not if-convert its clamp there (a float compare may trap; AVX-512 has
// masked instructions instead), while vector compares and a bitwise select have no such
// restriction. The double build takes exp() lane by lane, as fast_exp does.
#ifdef TRM_DOUBLE
static inline vreal vexp(vreal x) {
    for (int t = 0; t < (int)(sizeof x / sizeof x[0]); t++) x[t] = exp(x[t]);
    return x;
}
#else
typedef int32_t vint __attribute__((vector_size(ATT_VBYTES)));

static inline vreal vselect(vint mask, vreal a, vreal b) {   // mask ? a : b, lane by lane
    return (vreal)(((vint)a & mask) | ((vint)b & ~mask));
}

static inline vreal vexp(vreal x) {
    const vreal lo = (vreal){ 0 } - 87.0f, hi = (vreal){ 0 } + 88.0f;
    x = vselect(x < lo, lo, x);
    x = vselect(x > hi, hi, x);
    vreal k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    vreal r = x - k * 0.693145751953125f - k * 1.428606765330187045e-06f;
    vreal p = 1.0f + r * (1.0f + r * (0.5f + r * (0.16666667f + r * (0.041666668f + r * (0.0083333338f + r * 0.0013888889f)))));
    vint bits = (__builtin_convertvector(k, vint) + 127) << 23;
    return p * (vreal)bits;
}
#endif

// C[M][N] (row stride ldc) = A B, or rs[r] C + A B with acc (rs NULL: C + A B), where
// A(r, k) = A[r ars + k aks] (a row-major A: ars = lda, aks = 1; a transposed one: ars 1,
// aks = lda) and B[k][N] has row stride ldb. M is a multiple of MR, N of NW. Inlined into
// the few callers below, so the strides that are 1 and the flags are constants.
static inline __attribute__((always_inline)) void
tile_mm(real *C, int ldc, int M, int N, const real *A, int ars, int aks, const real *B, int ldb,
        int K, bool acc, const real *rs) {
    for (int i0 = 0; i0 < M; i0 += MR)
        for (int j0 = 0; j0 < N; j0 += NW) {
            const real *a = A + (size_t)i0 * ars, *b = B + j0;
            real *c = C + (size_t)i0 * ldc + j0;
            vreal t[MR][NV];
#pragma GCC unroll 16
            for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) {
                    t[r][v] = acc ? vload(c + (size_t)r * ldc + v * VL) : (vreal){ 0 };
                    if (acc && rs) t[r][v] *= rs[i0 + r];
                }
            for (int k = 0; k < K; k++) {
                vreal bv[NV];
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) bv[v] = vload(b + (size_t)k * ldb + v * VL);
#pragma GCC unroll 16
                for (int r = 0; r < MR; r++) {
                    real ar = a[(size_t)r * ars + (size_t)k * aks];
#pragma GCC unroll 4
                    for (int v = 0; v < NV; v++) t[r][v] += ar * bv[v];
                }
            }
#pragma GCC unroll 16
            for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) vstore(c + (size_t)r * ldc + v * VL, t[r][v]);
        }
}

// C = A B with A row-major (lda).
static void mm_nn(real *C, int ldc, int M, int N, const real *A, int lda, const real *B, int ldb, int K) {
    tile_mm(C, ldc, M, N, A, lda, 1, B, ldb, K, false, NULL);
}

// C = rs C + A B (rs NULL: C += A B), A row-major.
static void mm_nn_acc(real *C, int ldc, int M, int N, const real *A, int lda, const real *B, int ldb,
                      int K, const real *rs) {
    if (rs) tile_mm(C, ldc, M, N, A, lda, 1, B, ldb, K, true, rs);
    else tile_mm(C, ldc, M, N, A, lda, 1, B, ldb, K, true, NULL);
}

// C += A^T B, A stored [K][lda].
static void mm_tn_acc(real *C, int ldc, int M, int N, const real *A, int lda, const real *B, int ldb, int K) {
    tile_mm(C, ldc, M, N, A, 1, lda, B, ldb, K, true, NULL);
}

// Packing one head of one sequence: rows j < Lt of `src` (row stride `stride`, hd values
// each, times `mul`) into dst [Ltp][ldd] with zeros in the padding, or transposed into
// dst [hd][Ltp] (ldd = Ltp) with zero columns past Lt.
static void pack_rows(real *dst, int ldd, const real *src, size_t stride, int Lt, int Ltp, int hd, real mul) {
    for (int j = 0; j < Ltp; j++) {
        real *o = dst + (size_t)j * ldd;
        int n = j < Lt ? hd : 0;
        for (int c = 0; c < n; c++) o[c] = mul * src[(size_t)j * stride + c];
        for (int c = n; c < ldd; c++) o[c] = 0;
    }
}

static void pack_cols(real *dst, const real *src, size_t stride, int Lt, int Ltp, int hd) {
    enum { TB = 16 };   // 16 rows at a time: each column of dst gains a 64-byte run
    for (int j0 = 0; j0 < Lt; j0 += TB)
        for (int c = 0; c < hd; c++)
            for (int j = j0; j < MIN(Lt, j0 + TB); j++) dst[(size_t)c * Ltp + j] = src[(size_t)j * stride + c];
    for (int c = 0; c < hd; c++)
        for (int j = Lt; j < Ltp; j++) dst[(size_t)c * Ltp + j] = 0;
}

static void unpack_rows(real *dst, size_t stride, const real *src, int lds, int n, int hd, real mul) {
    for (int i = 0; i < n; i++)
        for (int c = 0; c < hd; c++) dst[(size_t)i * stride + c] = mul * src[(size_t)i * lds + c];
}

// Per-thread work space. It lives as long as the thread (the OpenMP pool keeps its
// threads) and only grows, so no call allocates fresh memory: on these virtual machines
// first-touch page faults cost more than the arithmetic. A thread that leaves the pool
// (the thread count went down) frees its buffer through the key's destructor; a bare
// _Thread_local pointer would leak it. Every part starts on a 64-byte boundary (the
// vector loads never straddle a cache line).
static _Thread_local real *attn_buf;
static _Thread_local size_t attn_buf_len;
static pthread_key_t attn_key;
static pthread_once_t attn_key_once = PTHREAD_ONCE_INIT;

static void attn_key_init(void) {
    if (pthread_key_create(&attn_key, free)) die("pthread_key_create failed");
}

static real *attn_work(size_t need) {
    need += 16;
    if (need > attn_buf_len) {
        pthread_once(&attn_key_once, attn_key_init);
        free(attn_buf);
        attn_buf = xcalloc_huge(need, sizeof(real));
        attn_buf_len = need;
        pthread_setspecific(attn_key, attn_buf);
    }
    return (real *)(((uintptr_t)attn_buf + 63) & ~(uintptr_t)63);
}

static inline real *carve(real **p, size_t n) {
    real *r = *p;
    *p += (n + 15) & ~(size_t)15;
    return r;
}

// The sizes every tile loop shares: Ltp = Lt rounded up to a whole key block (BK is a
// multiple of MR and of NW, so every padded row and column count fits), hdp = hd rounded
// up to whole register-tile columns.
typedef struct { int Lt, Ltp, hd, hdp, d; size_t stride; real scale; } AttnDims;

static AttnDims attn_dims(int Lt, int H, int hd) {
    AttnDims a = { Lt, round_up(Lt, BK), hd, round_up(hd, NW), H * hd,
                   3 * (size_t)H * hd, (real)(1.0 / sqrt((double)hd)) };
    return a;
}

// Scores of a query block against keys j0.. (nk of them): s[i][j] = q_i . k_j for the
// Mq rows of q (pre-scaled), the nk keys rounded up to NW. The columns past nk are set to
// -inf up to BK, so that the row loops below may run over whole vectors past nk: there
// the max ignores them and their exp is nil, exactly 0 in double, fast_exp's floor
// e^-87 = 1.6e-38 in float, which leaves a row sum >= 1 unchanged; the products that
// sum over keys take only the nk true ones.
static void block_scores(real *s, const real *q, const real *kt, const AttnDims *a, int j0, int nk, int Mq) {
    mm_nn(s, BK, Mq, round_up(nk, NW), q, a->hdp, kt + j0, a->Ltp, a->hd);
    if (nk < BK)
        for (int i = 0; i < Mq; i++)
            for (int j = nk; j < BK; j++) s[(size_t)i * BK + j] = -INFINITY;
}

// The online-softmax step of a tile of scores, row by row: the running max m grows to
// cover the tile, s becomes exp(s - m), and the earlier sum is rescaled by alpha =
// exp(m_old - m_new) (the output by the same alpha, in its product) before it gains the
// row. Each row's sum is kept in VL lanes, l[i], until the last tile: one running scalar
// would be a serial chain (it cost more than the exps); the lanes are added in a fixed
// order, so the result does not depend on anything but the data.
static void softmax_tile(real *s, real *m, vreal *l, real *alpha, int Mq, int nk) {
    int n = round_up(nk, VL);
    for (int i = 0; i < Mq; i++) {
        real *si = s + (size_t)i * BK, mx = m[i];
#pragma omp simd reduction(max : mx)
        for (int j = 0; j < n; j++) mx = si[j] > mx ? si[j] : mx;
        real a = fast_exp(m[i] - mx);   // 0 on the first tile (m = -inf)
        vreal sum = l[i] * a;
        for (int j = 0; j < n; j += VL) {
            vreal p = vexp(vload(si + j) - mx);
            vstore(si + j, p);
            sum += p;
        }
        l[i] = sum;
        alpha[i] = a;
        m[i] = mx;
    }
}

// One query block of the forward: the nq packed rows of q (Mq = nq rounded up to MR)
// against the packed kt [hd][Ltp] and v [Ltp][hdp], key block by key block: softmax_tile,
// then o = alpha o + P V in one product. The last step divides o by the row sums.
static void forward_block(real *out, real *lse, const real *q, const real *kt, const real *v,
                          real *s, real *o, real *m, vreal *l, real *alpha, const AttnDims *a, int nq) {
    int Mq = round_up(nq, MR), hdp = a->hdp;
    for (int i = 0; i < Mq; i++) {
        m[i] = -INFINITY;
        l[i] = (vreal){ 0 };
    }
    memset(o, 0, sizeof(real) * Mq * hdp);
    for (int j0 = 0; j0 < a->Lt; j0 += BK) {
        int nk = MIN(BK, a->Lt - j0);
        block_scores(s, q, kt, a, j0, nk, Mq);
        softmax_tile(s, m, l, alpha, Mq, nk);
        mm_nn_acc(o, hdp, Mq, hdp, s, BK, v + (size_t)j0 * hdp, hdp, nk, alpha);
    }
    for (int i = 0; i < nq; i++) {
        real sum = 0;
        for (int t = 0; t < VL; t++) sum += l[i][t];
        real inv = 1 / sum;
        for (int c = 0; c < a->hd; c++) out[(size_t)i * a->d + c] = o[(size_t)i * hdp + c] * inv;
        lse[i] = m[i] + r_log(sum);
    }
}

void attention_forward(real *out, real *lse, const real *qkv, int B, int Lt, int H, int hd) {
    AttnDims a = attn_dims(Lt, H, hd);
    int nqb = (Lt + BQ - 1) / BQ, d = a.d;
    size_t plane = (size_t)a.Ltp * a.hdp;
#pragma omp parallel
    {
        real *p = attn_work(2 * plane + 2 * (size_t)BQ * a.hdp + (size_t)BQ * BK + (2 + VL) * BQ + 8 * 16);
        real *kt = carve(&p, plane), *v = carve(&p, plane), *q = carve(&p, (size_t)BQ * a.hdp);
        real *o = carve(&p, (size_t)BQ * a.hdp), *s = carve(&p, (size_t)BQ * BK);
        real *m = carve(&p, BQ), *alpha = carve(&p, BQ);
        vreal *l = (vreal *)carve(&p, (size_t)BQ * VL);   // carve keeps 64-byte alignment
        int packed = -1;   // the (sequence, head) whose K and V are in kt and v
        // Tasks are (sequence, head, query block), contiguous per thread: K and V are
        // packed once per (sequence, head) a thread meets, and small batches still spread.
#pragma omp for schedule(static)
        for (int t = 0; t < B * H * nqb; t++) {
            int bh = t / nqb, i0 = t % nqb * BQ, b = bh / H, h = bh % H, nq = MIN(BQ, Lt - i0);
            const real *base = qkv + (size_t)b * Lt * a.stride + h * hd;
            if (bh != packed) {
                pack_cols(kt, base + d, a.stride, Lt, a.Ltp, hd);
                pack_rows(v, a.hdp, base + 2 * d, a.stride, Lt, a.Ltp, hd, 1);
                packed = bh;
            }
            pack_rows(q, a.hdp, base + (size_t)i0 * a.stride, a.stride, nq, round_up(nq, MR), hd, a.scale);
            forward_block(out + ((size_t)b * Lt + i0) * d + h * hd, lse + (size_t)bh * Lt + i0,
                          q, kt, v, s, o, m, l, alpha, &a, nq);
        }
    }
}

// The backward of one (sequence, head), flash-attention style, with every operand packed:
// q [Ltp][hdp] (pre-scaled), k and dO [Ltp][hdp], kt and vt [hd][Ltp], lse and D
// (D_i = dO_i . O_i) [Ltp]. Per tile (query block, key block):
//   S = scale Q K^T, P = exp(S - lse), dP = dO V^T, dS = P (dP - D),
//   dV += P^T dO, dK += dS^T (scale Q), dQ += dS K (dQ is scaled once at the end).
// dQ of a query block stays in the thread's tile; dK and dV of the whole sequence in its
// buffers. Each is one FMA chain per element over queries or keys in order.
typedef struct { real *q, *k, *kt, *vt, *dO, *dk, *dv, *L, *D, *s, *dp, *dq; } AttnBwd;

static void backward_block(real *dq_out, const AttnBwd *w, const AttnDims *a, int i0, int nq) {
    int Mq = round_up(nq, MR), hdp = a->hdp;
    const real *q = w->q + (size_t)i0 * hdp, *dO = w->dO + (size_t)i0 * hdp;
    real *s = w->s, *dp = w->dp;
    memset(w->dq, 0, sizeof(real) * Mq * hdp);
    for (int j0 = 0; j0 < a->Lt; j0 += BK) {
        // dV and dK take Mk rows of P^T and dS^T: the n columns of P and dS worked out here
        // cover them (past nk: P is exp(-inf) and dP is 0, from the zero padding of V^T)
        int nk = MIN(BK, a->Lt - j0), Mk = round_up(nk, MR), n = round_up(Mk, VL);
        block_scores(s, q, w->kt, a, j0, nk, Mq);
        mm_nn(dp, BK, Mq, round_up(Mk, NW), dO, hdp, w->vt + j0, a->Ltp, a->hd);
        for (int i = 0; i < Mq; i++) {
            real *si = s + (size_t)i * BK, *dpi = dp + (size_t)i * BK, L = w->L[i0 + i], D = w->D[i0 + i];
            for (int j = 0; j < n; j += VL) {
                vreal p = vexp(vload(si + j) - L);
                vstore(si + j, p);
                vstore(dpi + j, p * (vload(dpi + j) - D));
            }
        }
        mm_tn_acc(w->dv + (size_t)j0 * hdp, hdp, Mk, hdp, s, BK, dO, hdp, nq);
        mm_tn_acc(w->dk + (size_t)j0 * hdp, hdp, Mk, hdp, dp, BK, q, hdp, nq);
        mm_nn_acc(w->dq, hdp, Mq, hdp, dp, BK, w->k + (size_t)j0 * hdp, hdp, nk, NULL);
    }
    unpack_rows(dq_out, a->stride, w->dq, hdp, nq, a->hd, a->scale);
}

// Packs one (sequence, head) for backward_block: base points at its q in qkv, dob and ob
// at its dO and O, lse at its row log-sum-exps. K^T is transposed from the packed K (in
// cache) rather than read from qkv a second time.
static void backward_pack(const AttnBwd *w, const AttnDims *a, const real *base, const real *dob,
                          const real *ob, const real *lse) {
    int Lt = a->Lt, Ltp = a->Ltp, hd = a->hd, hdp = a->hdp, d = a->d;
    pack_rows(w->q, hdp, base, a->stride, Lt, Ltp, hd, a->scale);
    pack_rows(w->k, hdp, base + d, a->stride, Lt, Ltp, hd, 1);
    pack_rows(w->dO, hdp, dob, d, Lt, Ltp, hd, 1);
    pack_cols(w->kt, w->k, hdp, Lt, Ltp, hd);
    pack_cols(w->vt, base + 2 * d, a->stride, Lt, Ltp, hd);
    for (int i = 0; i < Ltp; i++) {
        real D = 0;
        if (i < Lt)
            for (int c = 0; c < hd; c++) D += w->dO[(size_t)i * hdp + c] * ob[(size_t)i * d + c];
        w->D[i] = D;
        w->L[i] = i < Lt ? lse[i] : 0;
    }
    memset(w->dk, 0, sizeof(real) * Ltp * hdp);
    memset(w->dv, 0, sizeof(real) * Ltp * hdp);
}

void attention_backward(real *dqkv, const real *dout, const real *qkv, const real *out,
                        const real *lse, int B, int Lt, int H, int hd) {
    AttnDims a = attn_dims(Lt, H, hd);
    int d = a.d, Ltp = a.Ltp;
    size_t plane = (size_t)Ltp * a.hdp, tplane = (size_t)hd * Ltp;
#pragma omp parallel
    {
        real *p = attn_work(5 * plane + 2 * tplane + 2 * (size_t)Ltp + 2 * (size_t)BQ * BK +
                            (size_t)BQ * a.hdp + 12 * 16);
        AttnBwd w;
        w.q = carve(&p, plane); w.k = carve(&p, plane); w.dO = carve(&p, plane);
        w.dk = carve(&p, plane); w.dv = carve(&p, plane);
        w.kt = carve(&p, tplane); w.vt = carve(&p, tplane);
        w.L = carve(&p, Ltp); w.D = carve(&p, Ltp);
        w.s = carve(&p, (size_t)BQ * BK); w.dp = carve(&p, (size_t)BQ * BK); w.dq = carve(&p, (size_t)BQ * a.hdp);
#pragma omp for schedule(static)
        for (int bh = 0; bh < B * H; bh++) {
            size_t off = (size_t)(bh / H) * Lt, col = (size_t)(bh % H) * hd;
            real *dbase = dqkv + off * a.stride + col;
            backward_pack(&w, &a, qkv + off * a.stride + col, dout + off * d + col, out + off * d + col,
                          lse + (size_t)bh * Lt);
            for (int i0 = 0; i0 < Lt; i0 += BQ)
                backward_block(dbase + (size_t)i0 * a.stride, &w, &a, i0, MIN(BQ, Lt - i0));
            unpack_rows(dbase + d, a.stride, w.dk, a.hdp, Lt, hd, 1);
            unpack_rows(dbase + 2 * d, a.stride, w.dv, a.hdp, Lt, hd, 1);
        }
    }
}

void transpose_batched(real *out, const real *in, int B, int R, int C) {
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) transpose(out + (size_t)b * R * C, in + (size_t)b * R * C, R, C);
}

void vec_add(real *out, const real *a, const real *b, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void vec_acc(real *out, const real *a, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] += a[i];
}
