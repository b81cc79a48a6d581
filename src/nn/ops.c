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
    gemm(true, false, out, in, N, 1, dy, out, x, in, 1, dW, in);
}

void rmsnorm_forward(real *y, real *rstd, const real *x, int N, int C, double eps) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const real *xi = x + (size_t)i * C;
        real *yi = y + (size_t)i * C;
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

static inline real sigmoid(real x) { return 1 / (1 + r_exp(-x)); }

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

static inline real dot(const real *a, const real *b, int n) {
    real s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

// Scores of query i against all keys of one (batch, head): s[j] = scale * q_i . k_j.
static void attn_scores(real *s, const real *q, const real *k0, size_t stride, int Lt, int hd,
                        real scale) {
    for (int j = 0; j < Lt; j++) s[j] = scale * dot(q, k0 + (size_t)j * stride, hd);
}

void attention_forward(real *out, real *lse, const real *qkv, int B, int Lt, int H, int hd) {
    int d = H * hd;
    size_t stride = 3 * (size_t)d;
    real scale = (real)(1.0 / sqrt((double)hd));
#pragma omp parallel
    {
        real *s = xmalloc(sizeof(real) * Lt);
#pragma omp for schedule(static)
        for (int bh = 0; bh < B * H; bh++) {
            int b = bh / H, h = bh % H;
            const real *base = qkv + (size_t)b * Lt * stride;
            const real *k0 = base + d + h * hd, *v0 = base + 2 * d + h * hd;
            for (int i = 0; i < Lt; i++) {
                attn_scores(s, base + (size_t)i * stride + h * hd, k0, stride, Lt, hd, scale);
                real mx = s[0];
                for (int j = 1; j < Lt; j++) mx = s[j] > mx ? s[j] : mx;
                real sum = 0;
                for (int j = 0; j < Lt; j++) { s[j] = r_exp(s[j] - mx); sum += s[j]; }
                real *o = out + ((size_t)b * Lt + i) * d + h * hd;
                memset(o, 0, sizeof(real) * hd);
                for (int j = 0; j < Lt; j++) {
                    const real *v = v0 + (size_t)j * stride;
                    real p = s[j] / sum;
                    for (int c = 0; c < hd; c++) o[c] += p * v[c];
                }
                lse[(size_t)bh * Lt + i] = mx + r_log(sum);
            }
        }
        free(s);
    }
}

// Flash-attention style backward: P is recomputed from q, k and the saved log-sum-exp.
// dS_ij = P_ij (dP_ij - D_i) with dP_ij = do_i . v_j and D_i = do_i . o_i.
void attention_backward(real *dqkv, const real *dout, const real *qkv, const real *out,
                        const real *lse, int B, int Lt, int H, int hd) {
    int d = H * hd;
    size_t stride = 3 * (size_t)d;
    real scale = (real)(1.0 / sqrt((double)hd));
#pragma omp parallel
    {
        real *p = xmalloc(sizeof(real) * Lt);
#pragma omp for schedule(static)
        for (int bh = 0; bh < B * H; bh++) {
            int b = bh / H, h = bh % H;
            const real *base = qkv + (size_t)b * Lt * stride;
            const real *k0 = base + d + h * hd, *v0 = base + 2 * d + h * hd;
            real *dbase = dqkv + (size_t)b * Lt * stride;
            for (int j = 0; j < Lt; j++) {           // dk, dv accumulate over queries
                memset(dbase + (size_t)j * stride + d + h * hd, 0, sizeof(real) * hd);
                memset(dbase + (size_t)j * stride + 2 * d + h * hd, 0, sizeof(real) * hd);
            }
            for (int i = 0; i < Lt; i++) {
                const real *q = base + (size_t)i * stride + h * hd;
                const real *doi = dout + ((size_t)b * Lt + i) * d + h * hd;
                const real *oi = out + ((size_t)b * Lt + i) * d + h * hd;
                real l = lse[(size_t)bh * Lt + i];
                attn_scores(p, q, k0, stride, Lt, hd, scale);
                for (int j = 0; j < Lt; j++) p[j] = r_exp(p[j] - l);
                real D = dot(doi, oi, hd);
                real *dq = dbase + (size_t)i * stride + h * hd;
                memset(dq, 0, sizeof(real) * hd);
                for (int j = 0; j < Lt; j++) {
                    const real *k = k0 + (size_t)j * stride, *v = v0 + (size_t)j * stride;
                    real *dk = dbase + (size_t)j * stride + d + h * hd, *dv = dk + d;
                    real ds = p[j] * (dot(doi, v, hd) - D) * scale;
                    for (int c = 0; c < hd; c++) {
                        dq[c] += ds * k[c];
                        dk[c] += ds * q[c];
                        dv[c] += p[j] * doi[c];
                    }
                }
            }
        }
        free(p);
    }
}

void transpose_batched(real *out, const real *in, int B, int R, int C) {
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        const real *x = in + (size_t)b * R * C;
        real *y = out + (size_t)b * R * C;
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++) y[(size_t)c * R + r] = x[(size_t)r * C + c];
    }
}

void vec_add(real *out, const real *a, const real *b, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void vec_acc(real *out, const real *a, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] += a[i];
}
