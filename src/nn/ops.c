// ops.c: forward and backward of every layer. Matrix products go to BLAS; the rest are
// OpenMP loops over rows whose per-row arithmetic does not depend on the thread count,
// so results are bitwise reproducible for a given number of threads.
#include "ops.h"

#include <cblas.h>
#include <math.h>
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

// ---------------------------------------------------------------------------------------
// Attention. Each (sequence, head) is an independent task for one thread: its Q, K, V are
// gathered into contiguous tiles and every product is a small matrix multiply by
// small_mm, whose loops vectorise over the output columns. No sum changes order with
// the thread count, so results are reproducible bit for bit.

// C[M][N] = A[M][K] B[K][N], all row-major and contiguous; with transA, A is stored as
// its transpose [K][M] (saves transposing P and dS in the backward). A block of 8 rows by
// 32 columns of C stays in registers over the whole K loop: with 512-bit vectors that is
// 16 accumulators, and each load of B feeds eight FMAs. (GCC prefers 256-bit vectors on
// this CPU; with them the same block spills, and 4 x 32 was the best: 6% slower training.)
// Every C element is summed over k in order, so the blocking never changes a result.
#if defined(__AVX512F__) && !defined(TRM_DOUBLE)
__attribute__((target("prefer-vector-width=512")))
#endif
static void small_mm(real *C, const real *A, const real *B, int M, int N, int K, bool transA) {
    enum { RB = 8, CB = 32 };
    for (int i0 = 0; i0 < M; i0 += RB) {
        int rows = MIN(RB, M - i0);
        for (int j0 = 0; j0 < N; j0 += CB) {
            int w = MIN(CB, N - j0);
            real c[RB][CB];
            for (int r = 0; r < RB; r++)
                for (int j = 0; j < CB; j++) c[r][j] = 0;
            if (rows == RB && w == CB) {
                for (int k = 0; k < K; k++) {
                    const real *b = B + (size_t)k * N + j0;
                    for (int r = 0; r < RB; r++) {
                        real a = transA ? A[(size_t)k * M + i0 + r] : A[(size_t)(i0 + r) * K + k];
                        for (int j = 0; j < CB; j++) c[r][j] += a * b[j];
                    }
                }
            } else {
                for (int k = 0; k < K; k++) {
                    const real *b = B + (size_t)k * N + j0;
                    for (int r = 0; r < rows; r++) {
                        real a = transA ? A[(size_t)k * M + i0 + r] : A[(size_t)(i0 + r) * K + k];
                        for (int j = 0; j < w; j++) c[r][j] += a * b[j];
                    }
                }
            }
            for (int r = 0; r < rows; r++)
                memcpy(C + (size_t)(i0 + r) * N + j0, c[r], sizeof(real) * w);
        }
    }
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

// One head of one sequence: rows of stride `stride` starting at src -> tile [Lt][hd].
static void gather(real *tile, const real *src, size_t stride, int Lt, int hd) {
    for (int j = 0; j < Lt; j++) memcpy(tile + (size_t)j * hd, src + (size_t)j * stride, sizeof(real) * hd);
}

static void scatter(real *dst, const real *tile, size_t stride, int Lt, int hd) {
    for (int j = 0; j < Lt; j++) memcpy(dst + (size_t)j * stride, tile + (size_t)j * hd, sizeof(real) * hd);
}

// Per-thread work space for one (sequence, head). It lives as long as the thread (the
// OpenMP pool keeps its threads) and only grows, so no call allocates fresh memory: on
// these virtual machines first-touch page faults cost more than the arithmetic.
typedef struct { real *q, *k, *v, *t, *kt, *dO, *D, *p, *dp; } AttnWork;

static _Thread_local real *attn_buf;
static _Thread_local size_t attn_buf_len;

static AttnWork attn_work(int Lt, int hd) {
    size_t tile = (size_t)Lt * hd, sq = (size_t)Lt * Lt, need = 6 * tile + Lt + 2 * sq;
    if (need > attn_buf_len) {
        free(attn_buf);
        attn_buf = xcalloc_huge(need, sizeof(real));
        attn_buf_len = need;
    }
    real *b = attn_buf;
    AttnWork w = { b, b + tile, b + 2 * tile, b + 3 * tile, b + 4 * tile, b + 5 * tile, b + 6 * tile,
                   b + 6 * tile + Lt, b + 6 * tile + Lt + sq };
    return w;
}

// Max and sum of a softmax row. A single running max or sum is a serial chain the
// compiler does not vectorise without licence to reorder, and the two took a third of
// the softmax's time. The max is exact in any order, so `omp simd` may reorder it; the
// sum runs in 16 lanes added in a fixed order, so results stay bitwise reproducible.
enum { LANES = 16 };

static real row_max(const real *s, int n) {
    real mx = s[0];
#pragma omp simd reduction(max : mx)
    for (int j = 0; j < n; j++) mx = s[j] > mx ? s[j] : mx;
    return mx;
}

static real row_sum(const real *s, int n) {
    real a[LANES] = { 0 };
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++) a[l] += s[j + l];
    for (; j < n; j++) a[0] += s[j];
    real sum = 0;
    for (int l = 0; l < LANES; l++) sum += a[l];
    return sum;
}

// P = softmax(scale Q K^T) row by row; with lse given, P = exp(scale Q K^T - lse) instead
// (the backward's recomputation); without, the row log-sum-exp is written to lse_out.
static void attn_probs(AttnWork *w, int Lt, int hd, real scale, const real *lse, real *lse_out) {
    transpose(w->kt, w->k, Lt, hd);
    small_mm(w->p, w->q, w->kt, Lt, Lt, hd, false);
    for (int i = 0; i < Lt; i++) {
        real *s = w->p + (size_t)i * Lt;
        if (lse) {
            for (int j = 0; j < Lt; j++) s[j] = fast_exp(scale * s[j] - lse[i]);
            continue;
        }
        real mx = row_max(s, Lt);
        for (int j = 0; j < Lt; j++) s[j] = fast_exp(scale * (s[j] - mx));
        real sum = row_sum(s, Lt), inv = 1 / sum;
        for (int j = 0; j < Lt; j++) s[j] *= inv;
        lse_out[i] = scale * mx + r_log(sum);
    }
}

void attention_forward(real *out, real *lse, const real *qkv, int B, int Lt, int H, int hd) {
    int d = H * hd;
    size_t stride = 3 * (size_t)d;
    real scale = (real)(1.0 / sqrt((double)hd));
#pragma omp parallel
    {
        AttnWork w = attn_work(Lt, hd);
#pragma omp for schedule(static)
        for (int bh = 0; bh < B * H; bh++) {
            int b = bh / H, h = bh % H;
            const real *base = qkv + (size_t)b * Lt * stride + h * hd;
            gather(w.q, base, stride, Lt, hd);
            gather(w.k, base + d, stride, Lt, hd);
            gather(w.v, base + 2 * d, stride, Lt, hd);
            attn_probs(&w, Lt, hd, scale, NULL, lse + (size_t)bh * Lt);
            small_mm(w.t, w.p, w.v, Lt, hd, Lt, false);            // O = P V
            scatter(out + (size_t)b * Lt * d + h * hd, w.t, d, Lt, hd);
        }
    }
}

// Flash-attention style backward: P is recomputed from Q, K and the saved log-sum-exp.
//   dV = P^T dO,  dP = dO V^T,  dS = P (dP - D) with D_i = dO_i . O_i,
//   dQ = scale dS K,  dK = scale dS^T Q.
void attention_backward(real *dqkv, const real *dout, const real *qkv, const real *out,
                        const real *lse, int B, int Lt, int H, int hd) {
    int d = H * hd;
    size_t stride = 3 * (size_t)d;
    real scale = (real)(1.0 / sqrt((double)hd));
#pragma omp parallel
    {
        AttnWork w = attn_work(Lt, hd);
        real *dO = w.dO, *D = w.D;
#pragma omp for schedule(static)
        for (int bh = 0; bh < B * H; bh++) {
            int b = bh / H, h = bh % H;
            const real *base = qkv + (size_t)b * Lt * stride + h * hd;
            real *dbase = dqkv + (size_t)b * Lt * stride + h * hd;
            gather(w.q, base, stride, Lt, hd);
            gather(w.k, base + d, stride, Lt, hd);
            gather(w.v, base + 2 * d, stride, Lt, hd);
            gather(dO, dout + (size_t)b * Lt * d + h * hd, d, Lt, hd);
            for (int i = 0; i < Lt; i++) {
                const real *o = out + ((size_t)b * Lt + i) * d + h * hd;
                real s = 0;
                for (int c = 0; c < hd; c++) s += dO[(size_t)i * hd + c] * o[c];
                D[i] = s;
            }
            attn_probs(&w, Lt, hd, scale, lse + (size_t)bh * Lt, NULL);
            small_mm(w.t, w.p, dO, Lt, hd, Lt, true);               // dV = P^T dO
            scatter(dbase + 2 * d, w.t, stride, Lt, hd);
            transpose(w.kt, w.v, Lt, hd);                           // V^T
            small_mm(w.dp, dO, w.kt, Lt, Lt, hd, false);            // dP = dO V^T
            for (int i = 0; i < Lt; i++)
                for (int j = 0; j < Lt; j++) {
                    size_t ij = (size_t)i * Lt + j;
                    w.dp[ij] = scale * w.p[ij] * (w.dp[ij] - D[i]);   // scale * dS
                }
            small_mm(w.t, w.dp, w.k, Lt, hd, Lt, false);            // dQ = scale dS K
            scatter(dbase, w.t, stride, Lt, hd);
            small_mm(w.t, w.dp, w.q, Lt, hd, Lt, true);             // dK = scale dS^T Q
            scatter(dbase + d, w.t, stride, Lt, hd);
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
