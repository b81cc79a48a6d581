// test_f64_gradcheck.c: finite-difference gradient checks in double precision (linked
// against the -DTRM_DOUBLE build of the library, so `real` is double).
//
// Every op of ops.h with a backward, and the two losses, are checked on tiny inputs:
// a scalar objective J = sum(out * R) with a fixed random R, the analytic gradient from
// the backward function (called with dout = R), and central differences on EVERY input
// entry. Each entry must satisfy
//     rel = |a - n| / max(1e-8, |a| + |n|) <= 1e-6.
// Why 1e-6: in double a good central difference has a truncation error ~1e-12 relative
// and a rounding error ~1e-16 / h ~ 1e-10 (h ~ 1e-6) relative to J, so a correct backward
// lands near 1e-9 or below, while a wrong formula (a missing term, a wrong sign, a
// transposed index) gives an error of O(1). That leaves a wide margin.
//
// The difference used. The plain central difference (J(x+h) - J(x-h)) / 2h at h = 1e-6
// has a rounding error of ~ulp(J) / h ~ 1e-10 |J| in ABSOLUTE terms: 1e-10 relative only
// for entries whose gradient is as large as J. Some entries are 1e-4..1e-5 of J (a small
// softmax probability, a weight deep in the network whose gradient nearly cancels), and
// for those the plain difference measured 1e-6..1e-5 relative error - 10x more at
// h = 1e-7 and 10x less at h = 1e-5, so it is the difference's rounding, not the
// backward. The test therefore uses the 4th-order (5-point) central difference
//     n = (8 [J(x+h) - J(x-h)] - [J(x+2h) - J(x-2h)]) / (12 h),
// whose truncation error is h^4 f^(5) / 30: h can be ~1e-3..1e-4 (relative to the
// input's length scale), truncation stays ~1e-12 and below, and rounding falls to
// ~1.5 ulp(J) / h ~ 1e-12 |J|, so an entry 1e-5 of J is still measured to ~1e-7.
// The plain h = 1e-6 difference is computed too and its worst error printed (only
// printed) for comparison. Measured with this seed: worst 5-point errors ~1e-8 and
// below; the plain difference reaches ~1e-5 on the smallest model-gradient entries.
//
// Then a whole supervision step (model_forward + losses + model_backward) is checked the
// same way on two tiny configurations, against differences of the loss with respect to
// the parameters.
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn/ops.h"
#include "test.h"

#ifndef TRM_DOUBLE
#error "test_f64_gradcheck must be compiled with -DTRM_DOUBLE (name it tests/test_f64_*.c)"
#endif

#define H_OPS 1e-3         // 5-point step for the ops (inputs of scale ~1)
#define H_RMS 1e-5         // rmsnorm: one row has length scale sqrt(mean x^2 + eps) ~ 3e-3
#define H_MODEL 3e-4       // parameters (scale ~0.3; the network bends faster than the ops)
#define H_PLAIN 1e-6       // the plain 2nd-order central difference, printed for comparison
#define REL_TOL 1e-6
#define EXACT_TOL 1e-13    // identities that only differ by rounding (adjoints, doubling)

static Rng rng;

static double relerr(double a, double n) { return fabs(a - n) / fmax(1e-8, fabs(a) + fabs(n)); }

static void fill_normal(real *a, size_t n, double std) {
    for (size_t i = 0; i < n; i++) a[i] = (real)(std * rng_normal(&rng));
}

static double dotp(const real *a, const real *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

// Differences of J with respect to *x; *x is restored exactly afterwards.
// The plain 2nd-order central difference: the step actually taken, (x+h) - (x-h), is
// used rather than 2h, so the representation error of x +- h does not enter.
static double plain_diff(double (*J)(void *), void *ctx, real *x, double h) {
    real old = *x, xp = old + (real)h, xm = old - (real)h;
    *x = xp;
    double jp = J(ctx);
    *x = xm;
    double jm = J(ctx);
    *x = old;
    return (jp - jm) / ((double)xp - (double)xm);
}

// The 4th-order (5-point) central difference. (The representation error of x +- h is
// ~1e-16 |x| / h ~ 1e-13 relative at these steps: negligible.)
static double central_diff(double (*J)(void *), void *ctx, real *x, double h) {
    real old = *x;
    *x = old + (real)h;
    double j1p = J(ctx);
    *x = old - (real)h;
    double j1m = J(ctx);
    *x = old + (real)(2 * h);
    double j2p = J(ctx);
    *x = old - (real)(2 * h);
    double j2m = J(ctx);
    *x = old;
    return (8 * (j1p - j1m) - (j2p - j2m)) / (12 * h);
}

// The worst relative error per op, for the summary (worst_plain: the plain difference).
typedef struct { const char *name; double worst, worst_plain; long entries; } OpStat;
static OpStat stats[32];
static int n_stats;

static OpStat *stat_for(const char *name) {
    for (int i = 0; i < n_stats; i++) if (!strcmp(stats[i].name, name)) return &stats[i];
    stats[n_stats] = (OpStat){ name, 0, 0, 0 };
    return &stats[n_stats++];
}

// Compare the analytic derivative a of J with respect to *x with the 5-point difference
// (asserted) and the plain one (recorded in *worst_plain only). Returns the rel error.
// The analytic gradients come from the default thread count; the differences, thousands
// of tiny forward passes, run on one thread: on a busy machine each OpenMP barrier of a
// tiny parallel loop can wait a whole time slice for a descheduled thread, which made
// this test ~20x slower. (ops.c keeps per-row arithmetic independent of the thread count.)
static double check_entry(const char *op, const char *what, long idx, double (*J)(void *),
                          void *ctx, real *x, double a, double h, double *worst_plain) {
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    double num = central_diff(J, ctx, x, h), rel = relerr(a, num);
    CHECK(rel <= REL_TOL, "%s %s[%ld]: analytic %.12g vs numeric %.12g (rel %.3g)", op, what, idx,
          a, num, rel);
    double plain = relerr(a, plain_diff(J, ctx, x, H_PLAIN));
    if (!(plain <= *worst_plain)) *worst_plain = plain;
    omp_set_num_threads(threads);
    return rel;
}

// Compare analytic gradient g[i] with differences on every entry of x[0..n).
static void gradcheck(const char *op, const char *what, double (*J)(void *), void *ctx, real *x,
                      const real *g, size_t n, double h) {
    OpStat *st = stat_for(op);
    for (size_t i = 0; i < n; i++) {
        double rel = check_entry(op, what, (long)i, J, ctx, x + i, g[i], h, &st->worst_plain);
        if (!(rel <= st->worst)) st->worst = rel;
        st->entries++;
    }
}

// ---------------------------------------------------------------------------------------
// linear

typedef struct { int N, in, out; real *x, *W, *y, *R; } LinearCtx;

static double linear_J(void *p) {
    LinearCtx *c = p;
    linear_forward(c->y, c->x, c->W, c->N, c->in, c->out);
    return dotp(c->y, c->R, (size_t)c->N * c->out);
}

static void test_linear(void) {
    LinearCtx c = { 3, 4, 5, NULL, NULL, NULL, NULL };
    size_t nx = (size_t)c.N * c.in, nw = (size_t)c.out * c.in, ny = (size_t)c.N * c.out;
    c.x = xmalloc(nx * sizeof(real));
    c.W = xmalloc(nw * sizeof(real));
    c.y = xmalloc(ny * sizeof(real));
    c.R = xmalloc(ny * sizeof(real));
    fill_normal(c.x, nx, 1);
    fill_normal(c.W, nw, 0.5);
    fill_normal(c.R, ny, 1);
    real *dx = xmalloc(nx * sizeof(real)), *dW = xcalloc(nw, sizeof(real));
    for (size_t i = 0; i < nx; i++) dx[i] = 123;       // must be overwritten
    linear_backward(dx, dW, c.R, c.x, c.W, c.N, c.in, c.out, false);
    gradcheck("linear", "dx", linear_J, &c, c.x, dx, nx, H_OPS);
    gradcheck("linear", "dW", linear_J, &c, c.W, dW, nw, H_OPS);

    // Accumulate semantics: dW += on every call; dx += only with accumulate_dx.
    real *dW1 = xmalloc(nw * sizeof(real)), *dx2 = xmalloc(nx * sizeof(real));
    memcpy(dW1, dW, nw * sizeof(real));
    memcpy(dx2, dx, nx * sizeof(real));
    linear_backward(dx2, dW, c.R, c.x, c.W, c.N, c.in, c.out, true);
    double e_w = 0, e_x = 0;
    for (size_t i = 0; i < nw; i++) e_w = fmax(e_w, relerr(dW[i], 2 * dW1[i]));
    for (size_t i = 0; i < nx; i++) e_x = fmax(e_x, relerr(dx2[i], 2 * dx[i]));
    CHECK(e_w <= EXACT_TOL, "linear_backward twice: dW is not doubled (rel %.3g)", e_w);
    CHECK(e_x <= EXACT_TOL, "linear_backward accumulate_dx: dx is not doubled (rel %.3g)", e_x);
    linear_backward(NULL, dW, c.R, c.x, c.W, c.N, c.in, c.out, false);   // dx may be NULL
    e_w = 0;
    for (size_t i = 0; i < nw; i++) e_w = fmax(e_w, relerr(dW[i], 3 * dW1[i]));
    CHECK(e_w <= EXACT_TOL, "linear_backward(dx = NULL) third call: dW is not tripled (rel %.3g)", e_w);
    free(dW1); free(dx2); free(dx); free(dW);
    free(c.x); free(c.W); free(c.y); free(c.R);
}

// ---------------------------------------------------------------------------------------
// rmsnorm

typedef struct { int N, C; double eps; real *x, *y, *rstd, *R; } RmsCtx;

static double rms_J(void *p) {
    RmsCtx *c = p;
    rmsnorm_forward(c->y, c->rstd, c->x, NULL, c->N, c->C, c->eps);
    return dotp(c->y, c->R, (size_t)c->N * c->C);
}

static void test_rmsnorm(void) {
    RmsCtx c = { 4, 6, 1e-5, NULL, NULL, NULL, NULL };
    size_t n = (size_t)c.N * c.C;
    c.x = xmalloc(n * sizeof(real));
    c.y = xmalloc(n * sizeof(real));
    c.rstd = xmalloc(c.N * sizeof(real));
    c.R = xmalloc(n * sizeof(real));
    fill_normal(c.x, n, 1);
    // The last row is small enough (mean square ~ 1e-6 vs eps 1e-5) that eps matters,
    // which checks that the backward formula is exact with eps, not only for eps = 0.
    for (int j = 0; j < c.C; j++) c.x[(c.N - 1) * c.C + j] *= 1e-3;
    fill_normal(c.R, n, 1);
    rms_J(&c);
    real *dx = xmalloc(n * sizeof(real));
    rmsnorm_backward(dx, c.R, c.y, c.rstd, c.N, c.C);
    gradcheck("rmsnorm", "dx", rms_J, &c, c.x, dx, n, H_RMS);
    free(dx); free(c.x); free(c.y); free(c.rstd); free(c.R);
}

// ---------------------------------------------------------------------------------------
// swiglu

typedef struct { int N, W; real *gu, *act, *R; } SwigluCtx;

static double swiglu_J(void *p) {
    SwigluCtx *c = p;
    swiglu_forward(c->act, c->gu, c->N, c->W);
    return dotp(c->act, c->R, (size_t)c->N * c->W);
}

static void test_swiglu(void) {
    SwigluCtx c = { 3, 5, NULL, NULL, NULL };
    size_t ngu = (size_t)c.N * 2 * c.W, na = (size_t)c.N * c.W;
    c.gu = xmalloc(ngu * sizeof(real));
    c.act = xmalloc(na * sizeof(real));
    c.R = xmalloc(na * sizeof(real));
    fill_normal(c.gu, ngu, 2.5);        // gates from the flat to the linear part of silu
    fill_normal(c.R, na, 1);
    real *dgu = xmalloc(ngu * sizeof(real));
    for (size_t i = 0; i < ngu; i++) dgu[i] = 123;
    swiglu_backward(dgu, c.R, c.gu, c.N, c.W);
    gradcheck("swiglu", "dgu", swiglu_J, &c, c.gu, dgu, ngu, H_OPS);
    free(dgu); free(c.gu); free(c.act); free(c.R);
}

// ---------------------------------------------------------------------------------------
// rope: a linear map of qkv (identity on the v part)

typedef struct { int B, Lt, H, hd; real *cos_t, *sin_t, *a, *out, *R; } RopeCtx;

static double rope_J(void *p) {
    RopeCtx *c = p;
    size_t n = (size_t)c->B * c->Lt * 3 * c->H * c->hd;
    memcpy(c->out, c->a, n * sizeof(real));
    rope_forward(c->out, c->cos_t, c->sin_t, c->B, c->Lt, c->H, c->hd);
    return dotp(c->out, c->R, n);
}

static void test_rope(double theta) {
    RopeCtx c = { 2, 5, 2, 4, NULL, NULL, NULL, NULL, NULL };
    size_t n = (size_t)c.B * c.Lt * 3 * c.H * c.hd;
    c.cos_t = xmalloc((size_t)c.Lt * c.hd * sizeof(real));
    c.sin_t = xmalloc((size_t)c.Lt * c.hd * sizeof(real));
    rope_tables(c.cos_t, c.sin_t, c.Lt, c.hd, theta);
    c.a = xmalloc(n * sizeof(real));
    c.out = xmalloc(n * sizeof(real));
    c.R = xmalloc(n * sizeof(real));
    fill_normal(c.a, n, 1);
    fill_normal(c.R, n, 1);

    // Adjoint: <rope(a), b> = <a, rope_backward(b)>, with b = R.
    real *gb = xmalloc(n * sizeof(real));
    memcpy(gb, c.R, n * sizeof(real));
    rope_backward(gb, c.cos_t, c.sin_t, c.B, c.Lt, c.H, c.hd);
    double lhs = rope_J(&c), rhs = dotp(c.a, gb, n);
    CHECK(relerr(lhs, rhs) <= EXACT_TOL, "rope (theta %g): <rope(a), b> = %.15g but <a, rope_backward(b)> = %.15g",
          theta, lhs, rhs);
    // ... and rope_backward(R) is the gradient of J = <rope(a), R>: finite differences.
    gradcheck("rope", "dqkv", rope_J, &c, c.a, gb, n, H_OPS);
    free(gb); free(c.cos_t); free(c.sin_t); free(c.a); free(c.out); free(c.R);
}

// ---------------------------------------------------------------------------------------
// attention

typedef struct { int B, Lt, H, hd; real *qkv, *out, *lse, *R; } AttCtx;

static double att_J(void *p) {
    AttCtx *c = p;
    attention_forward(c->out, c->lse, c->qkv, c->B, c->Lt, c->H, c->hd);
    return dotp(c->out, c->R, (size_t)c->B * c->Lt * c->H * c->hd);
}

// qk_scale multiplies the q and k parts: the scores grow as its square. Every `stride`-th
// entry of qkv is perturbed (1: all of them).
static void test_attention(AttCtx c, double qk_scale, const char *label, int stride) {
    int d = c.H * c.hd, N = c.B * c.Lt;
    size_t nqkv = (size_t)N * 3 * d, nout = (size_t)N * d;
    c.qkv = xmalloc(nqkv * sizeof(real));
    c.out = xmalloc(nout * sizeof(real));
    c.lse = xmalloc((size_t)c.B * c.H * c.Lt * sizeof(real));
    c.R = xmalloc(nout * sizeof(real));
    fill_normal(c.qkv, nqkv, 1);
    for (int r = 0; r < N; r++)
        for (int j = 0; j < 2 * d; j++) c.qkv[(size_t)r * 3 * d + j] *= (real)qk_scale;
    fill_normal(c.R, nout, 1);
    att_J(&c);

    // How saturated the softmax is: the largest and smallest probability over all rows.
    double pmax = 0, pmin = 1, scale = 1 / sqrt((double)c.hd);
    for (int b = 0; b < c.B; b++)
        for (int h = 0; h < c.H; h++)
            for (int i = 0; i < c.Lt; i++) {
                const real *q = c.qkv + ((size_t)b * c.Lt + i) * 3 * d + h * c.hd;
                double l = c.lse[((size_t)b * c.H + h) * c.Lt + i];
                for (int j = 0; j < c.Lt; j++) {
                    const real *k = c.qkv + ((size_t)b * c.Lt + j) * 3 * d + d + h * c.hd;
                    double s = 0;
                    for (int e = 0; e < c.hd; e++) s += (double)q[e] * k[e];
                    double pr = exp(s * scale - l);
                    pmax = fmax(pmax, pr);
                    pmin = fmin(pmin, pr);
                }
            }
    printf("# attention (%s): probabilities in [%.3g, %.6f]\n", label, pmin, pmax);

    real *dqkv = xmalloc(nqkv * sizeof(real));
    for (size_t i = 0; i < nqkv; i++) dqkv[i] = 123;   // must be overwritten
    attention_backward(dqkv, c.R, c.qkv, c.out, c.lse, c.B, c.Lt, c.H, c.hd);
    // dq, dk and dv are all checked: entries of every part of qkv are perturbed.
    OpStat *st = stat_for("attention");
    for (size_t i = 0; i < nqkv; i += stride) {
        double rel = check_entry("attention", label, (long)i, att_J, &c, c.qkv + i, dqkv[i], H_OPS, &st->worst_plain);
        if (!(rel <= st->worst)) st->worst = rel;
        st->entries++;
    }
    free(dqkv); free(c.qkv); free(c.out); free(c.lse); free(c.R);
}

// ---------------------------------------------------------------------------------------
// transpose_batched: the adjoint of [R, C] -> [C, R] is [C, R] -> [R, C].

static void test_transpose(void) {
    int B = 2, R = 3, C = 4;
    size_t n = (size_t)B * R * C;
    real *a = xmalloc(n * sizeof(real)), *b = xmalloc(n * sizeof(real));
    real *ta = xmalloc(n * sizeof(real)), *tb = xmalloc(n * sizeof(real)), *tta = xmalloc(n * sizeof(real));
    fill_normal(a, n, 1);
    fill_normal(b, n, 1);
    transpose_batched(ta, a, B, R, C);     // [B, C, R]
    transpose_batched(tb, b, B, C, R);     // b read as [B, C, R] -> [B, R, C]
    double lhs = dotp(ta, b, n), rhs = dotp(a, tb, n);
    CHECK(relerr(lhs, rhs) <= EXACT_TOL, "transpose_batched adjoint: %.15g vs %.15g", lhs, rhs);
    transpose_batched(tta, ta, B, C, R);
    CHECK(!memcmp(tta, a, n * sizeof(real)), "transpose_batched twice is not the identity");
    OpStat *st = stat_for("transpose_batched (adjoint)");
    st->worst = fmax(st->worst, relerr(lhs, rhs));
    st->entries += (long)n;
    free(a); free(b); free(ta); free(tb); free(tta);
}

// ---------------------------------------------------------------------------------------
// losses

typedef struct { LossKind kind; int B, L, V; real *logits; const int32_t *labels; } LmCtx;

static double lm_J(void *p) {
    LmCtx *c = p;
    return lm_loss(c->kind, c->logits, c->labels, c->B, c->L, c->V, 1.0, NULL, NULL).loss;
}

static void test_lm_loss(LossKind kind, const char *name) {
    enum { B = 3, L = 4, V = 5 };
    // Row 0: valid labels, one IGNORE_LABEL and one out of range (also ignored); row 1:
    // all valid; row 2: no valid label at all (loss 0, gradient 0, no division by zero).
    static const int32_t labels[B * L] = { 2, IGNORE_LABEL, 0, V,
                                           4, 1, 3, 0,
                                           IGNORE_LABEL, IGNORE_LABEL, -1, IGNORE_LABEL };
    real logits[B * L * V], dlogits[B * L * V];
    fill_normal(logits, B * L * V, 2.0);
    // Both signs (both branches of stablemax), and no logit within 0.05 of 0: stablemax
    // is only C^1 at 0, where a central difference straddling the kink is O(h) accurate.
    int pos = 0, neg = 0;
    for (int i = 0; i < B * L * V; i++) {
        if (fabs(logits[i]) < 0.05) logits[i] = logits[i] < 0 ? -0.05 - logits[i] : 0.05 + logits[i];
        pos += logits[i] > 0;
        neg += logits[i] < 0;
    }
    CHECK(pos > 0 && neg > 0, "%s: logits of both signs (%d positive, %d negative)", name, pos, neg);
    // A row's label on a negative logit and another's on a positive one, so both
    // branches also appear in the label term.
    logits[(0 * L + 0) * V + 2] = -1.3;
    logits[(1 * L + 0) * V + 4] = 2.1;
    for (int i = 0; i < B * L * V; i++) dlogits[i] = 123;   // must be overwritten
    double scale = 0.37;
    uint8_t correct[B];
    LmLossStats st = lm_loss(kind, logits, labels, B, L, V, scale, dlogits, correct);
    CHECK(st.tokens_valid == 6, "%s: %ld valid tokens, expected 6", name, st.tokens_valid);
    CHECK(correct[2] == 1, "%s: a row without valid labels counts as correct", name);
    // dlogits = scale * dJ/dlogits: compare dlogits / scale with the finite differences.
    real g[B * L * V];
    for (int i = 0; i < B * L * V; i++) g[i] = dlogits[i] / scale;
    bool zero_ignored = true;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < L; t++) {
            int y = labels[b * L + t];
            if (y >= 0 && y < V) continue;
            for (int v = 0; v < V; v++) zero_ignored &= dlogits[(b * L + t) * V + v] == 0;
        }
    CHECK(zero_ignored, "%s: dlogits of ignored tokens must be exactly 0", name);
    LmCtx c = { kind, B, L, V, logits, labels };
    gradcheck(name, "dlogits", lm_J, &c, logits, g, B * L * V, H_OPS);
}

typedef struct { int B, stride; real *q; const uint8_t *target; } BceCtx;

static double bce_J(void *p) {
    BceCtx *c = p;
    return bce_logits(c->q, c->stride, c->target, c->B, 1.0, NULL);
}

static void test_bce(void) {
    enum { B = 4, S = 2 };
    static const uint8_t target[B] = { 1, 0, 1, 0 };
    real q[B * S] = { 1.7, 0.3, -2.2, 0.9, -0.4, -1.1, 3.1, 0.2 };   // both signs, both targets
    real dq[B * S];
    for (int i = 0; i < B * S; i++) dq[i] = 123;
    double scale = 0.5 / B;
    bce_logits(q, S, target, B, scale, dq);
    bool untouched = true;
    for (int b = 0; b < B; b++) untouched &= dq[b * S + 1] == 123;
    CHECK(untouched, "bce_logits wrote dq between strided entries");
    BceCtx c = { B, S, q, target };
    OpStat *st = stat_for("bce_logits");
    for (int b = 0; b < B; b++) {
        // dq = scale * dJ/dq
        double rel = check_entry("bce_logits", "dq", b * S, bce_J, &c, &q[b * S], dq[b * S] / scale,
                                 H_OPS, &st->worst_plain);
        st->worst = fmax(st->worst, rel);
        st->entries++;
        // the entries between the strided ones do not enter the loss
        double num = central_diff(bce_J, &c, &q[b * S + 1], H_OPS);
        CHECK(num == 0, "bce_logits depends on q[%d], which is not one of its inputs", b * S + 1);
    }
}

// ---------------------------------------------------------------------------------------
// A whole supervision step.
//
// The FD objective uses T = 1: model_forward runs T-1 cycles without gradient and only
// the last cycle is differentiated, so the analytic gradient of a T > 1 step is, by
// design, NOT the derivative of its loss with respect to the weights (the weights also
// act through the no-grad cycles, which the backward treats as a constant carry). With
// T = 1 the one cycle starts from the fixed carry c0 and the analytic gradient is the
// exact derivative of loss(forward(c0; w)), which central differences can check. The
// T > 1 path is then checked separately: its gradient must equal the gradient of T = 1
// started from the carry that its T-1 no-grad cycles produce.

#define MB 2

typedef struct {
    Model m;
    int L, V;
    Carry c0, work;           // the fixed starting carry, and the one forward overwrites
    int32_t *tokens, *labels, ids[MB];
    int t;
    uint8_t target[MB];       // q_halt targets: seq_correct at the base point, held fixed
    real *logits0;            // logits at the base point
    long crossings;           // stablemax: logits whose sign differs from the base point
} StepCtx;

static void carry_copy(Carry *dst, const Carry *src, size_t n) {
    memcpy(dst->y, src->y, n * sizeof(real));
    memcpy(dst->z, src->z, n * sizeof(real));
}

static size_t carry_numel(const Model *m) { return (size_t)MB * cfg_ltot(&m->cfg) * m->cfg.hidden; }

// loss = (sum of per-row mean CE + 0.5 * sum of BCE(q_halt, target)) / B
static double step_J(void *p) {
    StepCtx *s = p;
    carry_copy(&s->work, &s->c0, carry_numel(&s->m));
    model_forward(&s->m, &s->work, s->tokens, s->ids, s->t, false);
    const TRMConfig *c = &s->m.cfg;
    double lm = lm_loss(c->loss, s->m.logits, s->labels, MB, s->L, s->V, 1.0, NULL, NULL).loss;
    double q = c->halt ? bce_logits(s->m.q, 2, s->target, MB, 1.0, NULL) : 0;
    // Stablemax is only C^1 at 0: a difference whose stencil moves a logit across 0 would
    // not have the h^4 accuracy claimed. Count such evaluations (there must be none).
    if (c->loss == LOSS_STABLEMAX && s->logits0)
        for (int i = 0; i < MB * s->L * s->V; i++)
            s->crossings += (s->m.logits[i] < 0) != (s->logits0[i] < 0);
    return (lm + 0.5 * q) / MB;
}

// Forward with gradient from `from`, the loss gradients, backward. Returns the loss;
// sets the targets from this forward's seq_correct when set_target.
static double step_grad(StepCtx *s, const Carry *from, bool set_target) {
    const TRMConfig *c = &s->m.cfg;
    int L = s->L, V = s->V;
    real *dlogits = xmalloc(sizeof(real) * MB * L * V), dq[2 * MB] = { 0 };
    uint8_t correct[MB];
    carry_copy(&s->work, from, carry_numel(&s->m));
    model_zero_grad(&s->m);
    model_forward(&s->m, &s->work, s->tokens, s->ids, s->t, true);
    LmLossStats ls = lm_loss(c->loss, s->m.logits, s->labels, MB, L, V, 1.0 / MB, dlogits, correct);
    if (set_target) memcpy(s->target, correct, MB);
    double q = c->halt ? bce_logits(s->m.q, 2, s->target, MB, 0.5 / MB, dq) : 0;
    model_backward(&s->m, dlogits, c->halt ? dq : NULL);
    free(dlogits);
    return (ls.loss + 0.5 * q) / MB;
}

static double max_abs_diff(const real *a, const real *b, size_t n, double *maxref) {
    double m = 0;
    *maxref = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d;
        *maxref = fmax(*maxref, fabs((double)b[i]));
    }
    return m;
}

static void test_step(const TRMConfig *cfg, const char *name) {
    StepCtx s;
    memset(&s, 0, sizeof s);
    char err[ERR_LEN];
    CHECK(cfg_validate(cfg, err) == 0, "%s: %s", name, err);
    model_create(&s.m, cfg, 7);
    Model *m = &s.m;
    int d = cfg->hidden;
    s.L = cfg->seq_len;
    s.V = cfg->vocab;
    // The official init zeroes the q head weight and the puzzle table, which would hide
    // their paths: give them small random values.
    fill_normal(m->p.q_w, 2 * (size_t)d, 0.3);
    fill_normal(m->p.q_b, 2, 0.3);
    if (cfg->puzzle_len) fill_normal(m->p.puzzle, (size_t)cfg->num_puzzle_ids * d, 0.5);
    model_plan(m, MB, true);
    s.tokens = xmalloc(sizeof(int32_t) * MB * s.L);
    s.labels = xmalloc(sizeof(int32_t) * MB * s.L);
    for (int i = 0; i < MB * s.L; i++) {
        s.tokens[i] = (int32_t)rng_below(&rng, s.V);
        s.labels[i] = (int32_t)rng_below(&rng, s.V);
    }
    s.labels[1] = IGNORE_LABEL;
    s.ids[0] = 2;             // distinct ids: each row's puzzle vector is its own table row
    s.ids[1] = 0;
    s.t = 1;
    size_t nc = carry_numel(m);
    s.c0 = carry_new(m, MB);
    s.work = carry_new(m, MB);
    // A generic starting carry: one supervision step (no gradient) after the reset.
    model_forward(m, &s.c0, s.tokens, s.ids, 0, false);

    // 1. T > 1: the analytic gradient equals that of T = 1 from the carry after the T-1
    //    no-grad cycles (run here as T-1 separate no-grad T = 1 steps).
    int T_check = cfg->T > 1 ? cfg->T : 2;
    size_t nd = m->table.n_dense;
    real *gT = xmalloc(nd * sizeof(real)), *pT = xmalloc((size_t)MB * d * sizeof(real));
    real *logT = xmalloc(sizeof(real) * MB * s.L * s.V);
    m->cfg.T = T_check;
    double lossT = step_grad(&s, &s.c0, true);
    memcpy(gT, m->grads, nd * sizeof(real));
    memcpy(pT, m->puzzle_grad, (size_t)MB * d * sizeof(real));
    memcpy(logT, m->logits, sizeof(real) * MB * s.L * s.V);
    uint8_t targetT[MB];
    memcpy(targetT, s.target, MB);
    m->cfg.T = 1;
    Carry c1 = carry_new(m, MB);
    carry_copy(&c1, &s.c0, nc);
    for (int k = 0; k < T_check - 1; k++) model_forward(m, &c1, s.tokens, s.ids, s.t, false);
    double loss1 = step_grad(&s, &c1, true);
    double ref, dg = max_abs_diff(m->grads, gT, nd, &ref);
    double dp = 0, refp = 0;
    if (cfg->puzzle_len) dp = max_abs_diff(m->puzzle_grad, pT, (size_t)MB * d, &refp);
    double dl = max_abs_diff(m->logits, logT, (size_t)MB * s.L * s.V, &(double){0});
    CHECK(!memcmp(targetT, s.target, MB), "%s: T=%d and T=1-from-carry disagree on seq_correct", name, T_check);
    CHECK(relerr(lossT, loss1) <= EXACT_TOL, "%s: loss T=%d %.15g vs T=1 from carry %.15g", name, T_check, lossT, loss1);
    CHECK(dl <= EXACT_TOL, "%s: logits T=%d vs T=1 from carry: max diff %.3g", name, T_check, dl);
    CHECK(dg <= EXACT_TOL * fmax(ref, 1), "%s: dense gradients T=%d vs T=1 from carry: max diff %.3g (max %.3g)",
          name, T_check, dg, ref);
    CHECK(dp <= EXACT_TOL * fmax(refp, 1), "%s: puzzle gradients T=%d vs T=1 from carry: max diff %.3g (max %.3g)",
          name, T_check, dp, refp);
    printf("# %s: T=%d gradient vs T=1 from the no-grad carry: max diff %.2g (dense), %.2g (puzzle)\n",
           name, T_check, dg, dp);
    carry_free(&c1);

    // 2. T = 1 from c0: analytic gradient vs central differences of the loss.
    double loss = step_grad(&s, &s.c0, true);
    double check_loss = step_J(&s);
    CHECK(relerr(loss, check_loss) <= EXACT_TOL, "%s: loss %.15g vs objective %.15g", name, loss, check_loss);
    memcpy(gT, m->grads, nd * sizeof(real));
    memcpy(pT, m->puzzle_grad, (size_t)MB * d * sizeof(real));
    memcpy(logT, m->logits, sizeof(real) * MB * s.L * s.V);
    double min_logit = INFINITY;
    for (int i = 0; i < MB * s.L * s.V; i++) min_logit = fmin(min_logit, fabs(logT[i]));
    s.logits0 = logT;
    double worst = 0, worst_plain = 0;
    const char *worst_at = "";
    long checked = 0;
    int *order = xmalloc(sizeof(int) * (m->table.n_total ? m->table.n_total : 1));
    for (int i = 0; i < m->table.count; i++) {
        const ParamSpec *ps = &m->table.spec[i];
        if (ps->kind != PARAM_DENSE) continue;
        const real *g = gT + ps->offset;
        int numel = (int)ps->numel, big = 0, nnz = 0;
        for (int j = 0; j < numel; j++) {
            if (fabs(g[j]) > fabs(g[big])) big = j;
            nnz += g[j] != 0;
        }
        // Up to 20 entries: the largest gradient, up to 14 more with non-zero gradient,
        // then entries with zero gradient (unused rows, q_continue), which must stay 0.
        int k = 0;
        order[k++] = big;
        for (int j = 0; j < numel; j++) if (j != big && g[j] != 0) order[k++] = j;
        int nz_end = k;
        for (int j = 0; j < numel; j++) if (j != big && g[j] == 0) order[k++] = j;
        rng_shuffle_int(&rng, order + 1, nz_end - 1);
        rng_shuffle_int(&rng, order + nz_end, numel - nz_end);
        int take_nz = MIN(nz_end, 15), take = MIN(numel, 20);
        int sel[20], ns = 0;
        for (int j = 0; j < take_nz; j++) sel[ns++] = order[j];
        for (int j = nz_end; j < numel && ns < take; j++) sel[ns++] = order[j];
        for (int j = take_nz; j < nz_end && ns < take; j++) sel[ns++] = order[j];
        double tw = 0, tp = 0;
        for (int j = 0; j < ns; j++) {
            int e = sel[j];
            tw = fmax(tw, check_entry(name, ps->name, e, step_J, &s, m->params + ps->offset + e, g[e],
                                      H_MODEL, &tp));
            checked++;
        }
        printf("#   %-44s %2d of %4d entries (%4d non-zero), |g| max %.2e, worst rel err %.2e (plain %.2e)\n",
               ps->name, ns, numel, nnz, fabs(g[big]), tw, tp);
        worst_plain = fmax(worst_plain, tp);
        if (tw >= worst) { worst = tw; worst_at = ps->name; }
    }
    if (cfg->puzzle_len) {
        // Row b's puzzle vector is table row ids[b] (distinct ids: no two rows share it).
        double tw = 0, tp = 0;
        for (int b = 0; b < MB; b++)
            for (int j = 0; j < d; j++) {
                char what[64];
                snprintf(what, sizeof what, "puzzle_grad (row %d, id %d)", b, s.ids[b]);
                tw = fmax(tw, check_entry(name, what, j, step_J, &s, m->p.puzzle + (size_t)s.ids[b] * d + j,
                                          pT[b * d + j], H_MODEL, &tp));
                checked++;
            }
        printf("#   %-44s %2d of %4d entries (all of both rows), worst rel err %.2e (plain %.2e)\n",
               "puzzle_grad (rows ids[b] of the table)", MB * d, MB * d, tw, tp);
        worst_plain = fmax(worst_plain, tp);
        if (tw >= worst) { worst = tw; worst_at = "puzzle_grad"; }
    }
    if (cfg->loss == LOSS_STABLEMAX)
        CHECK(s.crossings == 0, "%s: %ld logit sign changes during the differences (min |logit| %.3g): "
              "the stablemax kink breaks the 5-point accuracy", name, s.crossings, min_logit);
    printf("# %s: loss %.6f, %ld gradient entries, 5-point h %.0e: worst rel err %.2e (%s), tol %.0e;"
           " plain h %.0e: %.2e\n", name, loss, checked, H_MODEL, worst, worst_at, REL_TOL, H_PLAIN,
           worst_plain);
    free(order); free(gT); free(pT); free(logT);
    free(s.tokens); free(s.labels);
    carry_free(&s.c0);
    carry_free(&s.work);
    model_free(m);
}

int main(void) {
    // The matrices here are tiny (at most 16 x 512): BLAS threads buy nothing, and with
    // the pthread build of OpenBLAS its worker pool spinning next to the OpenMP team made
    // this test 20-50x slower on 2 cores. The OpenMP build of OpenBLAS shares our OpenMP
    // threads (and its set_num_threads would change theirs): leave it alone.
    if (openblas_get_parallel() == OPENBLAS_THREAD) openblas_set_num_threads(1);
    rng_seed(&rng, 20240611);
    test_linear();
    test_rmsnorm();
    test_swiglu();
    test_rope(10000.0);
    test_rope(10.0);          // larger angles on the second frequency
    test_attention((AttCtx){ .B = 2, .Lt = 5, .H = 2, .hd = 4 }, 1.0, "dqkv", 1);
    test_attention((AttCtx){ .B = 2, .Lt = 5, .H = 2, .hd = 4 }, 2.0, "dqkv, large scores", 1);
    // 150 tokens: three query and key blocks of the tiled attention (64 + 64 + 22 with
    // 512-bit vectors, 48 x 3 + 6 queries and 96 + 54 keys with 256-bit ones), so the online
    // softmax rescales across tiles and dK, dV, dQ sum over several. Every 7th entry
    // (7 is prime to the 24 columns of a row: every column, most rows, each tile's edges).
    // Its inputs come from a stream of their own, so every later test keeps its inputs.
    Rng main_stream = rng;
    rng_seed(&rng, 150);
    test_attention((AttCtx){ .B = 1, .Lt = 150, .H = 2, .hd = 4 }, 1.5, "dqkv, 150 tokens", 7);
    rng = main_stream;
    test_transpose();
    test_lm_loss(LOSS_STABLEMAX, "lm_loss stablemax");
    test_lm_loss(LOSS_SOFTMAX, "lm_loss softmax");
    test_bce();
    printf("# ops: worst relative error per op, 5-point difference (h %.0e, rmsnorm %.0e; tol %.0e),"
           " and the plain difference (h %.0e, not asserted)\n", H_OPS, H_RMS, REL_TOL, H_PLAIN);
    for (int i = 0; i < n_stats; i++)
        printf("#   %-28s %4ld entries, worst %.2e (plain %.2e)\n", stats[i].name, stats[i].entries,
               stats[i].worst, stats[i].worst_plain);

    TRMConfig a = {
        .vocab = 4, .seq_len = 5, .hidden = 8, .heads = 2, .layers = 2, .expansion = 4,
        .puzzle_len = 3, .num_puzzle_ids = 3, .mlp_t = false, .rope = true, .rope_theta = 10000,
        .T = 2, .n = 2, .N_sup = 3, .time_embed = true, .halt = true, .loss = LOSS_STABLEMAX,
    };
    test_step(&a, "step A (attention, rope, time embed, halt, stablemax)");
    TRMConfig b = a;
    b.mlp_t = true;
    b.rope = false;
    b.time_embed = false;
    b.halt = false;
    b.loss = LOSS_SOFTMAX;
    b.T = 1;
    b.n = 3;
    test_step(&b, "step B (mlp_t, no rope, softmax, no halt)");
    return test_summary("gradcheck_f64");
}
