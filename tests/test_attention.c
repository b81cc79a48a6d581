// test_attention.c: the tiled (flash-style) attention of ops.c against a plain reference in
// double precision that materialises every score, on sizes that are not multiples of the
// tiles (1, 7, 81, 144 + 16, 916 tokens; head sizes 8, 24, 64 against 16- or 32-wide
// register tiles), several heads and batch > 1, forward (out, lse) and backward (dq, dk,
// dv). The fp32 results must be within a relative error of TOL of the double reference,
// measured per tensor as max |x - ref| / max |ref|, and the same bits on 1, 2 and 3 threads.
//
// Why TOL = 2e-5: fp32 rounds to u = 6e-8. A score is a dot product over hd <= 64 terms
// of size ~|q||k|/sqrt(hd) and fast_exp adds 2 ulp, so each probability carries a relative
// error of a few 1e-7 at scores of order 1..10; a sum over up to 916 keys (or queries)
// adds ~sqrt(916) u ~ 2e-6 in the worst of the thousands of elements, and dS = P (dP - D)
// cancels by up to a factor of a few. The old implementation, one whole score matrix per
// head, measured 1e-7..3e-6 on these inputs; the tiled one measures the same (printed).
// A wrong mask, a missed tile or a wrong rescaling gives errors of 1e-3 and up.
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "nn/ops.h"
#include "test.h"

#define TOL 2e-5

static Rng rng;

typedef struct { int B, Lt, H, hd; } Shape;

// The reference: per (sequence, head) the whole score matrix in double, softmax by rows,
// and the textbook backward dV = P^T dO, dP = dO V^T, dS = P (dP - rowsum(P dP)),
// dQ = scale dS K, dK = scale dS^T Q.
static void reference(double *out, double *lse, double *dqkv, const float *qkv, const float *dout, Shape s) {
    int Lt = s.Lt, hd = s.hd, d = s.H * hd;
    size_t st = 3 * (size_t)d;
    double scale = 1 / sqrt((double)hd);
    double *P = malloc(sizeof(double) * Lt * Lt), *dS = malloc(sizeof(double) * Lt * Lt);
    for (int b = 0; b < s.B; b++)
        for (int h = 0; h < s.H; h++) {
            const float *Q = qkv + (size_t)b * Lt * st + h * hd, *K = Q + d, *V = Q + 2 * d;
            const float *dO = dout + (size_t)b * Lt * d + h * hd;
            double *o = out + (size_t)b * Lt * d + h * hd, *dq = dqkv + (size_t)b * Lt * st + h * hd;
            double *dk = dq + d, *dv = dq + 2 * d;
            for (int i = 0; i < Lt; i++) {
                double *p = P + (size_t)i * Lt, mx = -INFINITY, sum = 0;
                for (int j = 0; j < Lt; j++) {
                    double sc = 0;
                    for (int c = 0; c < hd; c++) sc += (double)Q[i * st + c] * K[j * st + c];
                    p[j] = sc * scale;
                    mx = fmax(mx, p[j]);
                }
                for (int j = 0; j < Lt; j++) sum += (p[j] = exp(p[j] - mx));
                for (int j = 0; j < Lt; j++) p[j] /= sum;
                lse[((size_t)b * s.H + h) * Lt + i] = mx + log(sum);
                for (int c = 0; c < hd; c++) {
                    double acc = 0;
                    for (int j = 0; j < Lt; j++) acc += p[j] * V[j * st + c];
                    o[(size_t)i * d + c] = acc;
                }
                double D = 0;
                for (int j = 0; j < Lt; j++) {
                    double dp = 0;
                    for (int c = 0; c < hd; c++) dp += (double)dO[(size_t)i * d + c] * V[j * st + c];
                    dS[(size_t)i * Lt + j] = dp;
                    D += p[j] * dp;
                }
                for (int j = 0; j < Lt; j++) dS[(size_t)i * Lt + j] = p[j] * (dS[(size_t)i * Lt + j] - D);
            }
            for (int i = 0; i < Lt; i++)
                for (int c = 0; c < hd; c++) {
                    double aq = 0, ak = 0, av = 0;
                    for (int j = 0; j < Lt; j++) {
                        aq += dS[(size_t)i * Lt + j] * K[j * st + c];
                        ak += dS[(size_t)j * Lt + i] * Q[j * st + c];
                        av += P[(size_t)j * Lt + i] * dO[(size_t)j * d + c];
                    }
                    dq[i * st + c] = scale * aq;
                    dk[i * st + c] = scale * ak;
                    dv[i * st + c] = av;
                }
        }
    free(P);
    free(dS);
}

// max |x - ref| / max |ref| over n entries (stride 1); the absolute error where the
// reference is all zeros (dq and dk of one token: the softmax of one score is constant).
static double normwise(const float *x, const double *ref, size_t n) {
    double e = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        e = fmax(e, fabs(x[i] - ref[i]));
        m = fmax(m, fabs(ref[i]));
    }
    return m > 0 ? e / m : e;
}

// The same, over the q, k or v part (part 0, 1, 2) of a [rows, 3d] gradient.
static double normwise_part(const float *x, const double *ref, size_t rows, int d, int part) {
    double e = 0, m = 0;
    for (size_t r = 0; r < rows; r++)
        for (int c = 0; c < d; c++) {
            size_t i = r * 3 * d + part * d + c;
            e = fmax(e, fabs(x[i] - ref[i]));
            m = fmax(m, fabs(ref[i]));
        }
    return m > 0 ? e / m : e;
}

static void run(float *out, float *lse, float *dqkv, const float *qkv, const float *dout, Shape s, int threads) {
    int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    attention_forward(out, lse, qkv, s.B, s.Lt, s.H, s.hd);
    attention_backward(dqkv, dout, qkv, out, lse, s.B, s.Lt, s.H, s.hd);
    omp_set_num_threads(saved);
}

// qk: the standard deviation of q and k entries; scores have standard deviation qk^2.
static void test_shape(Shape s, double qk) {
    int d = s.H * s.hd;
    size_t rows = (size_t)s.B * s.Lt, nqkv = rows * 3 * d, nout = rows * d, nlse = (size_t)s.B * s.H * s.Lt;
    float *qkv = malloc(sizeof(float) * nqkv), *dout = malloc(sizeof(float) * nout);
    for (size_t r = 0; r < rows; r++)
        for (int c = 0; c < 3 * d; c++) qkv[r * 3 * d + c] = (float)((c < 2 * d ? qk : 1) * rng_normal(&rng));
    for (size_t i = 0; i < nout; i++) dout[i] = (float)rng_normal(&rng);

    double *rout = malloc(sizeof(double) * nout), *rlse = malloc(sizeof(double) * nlse);
    double *rdqkv = malloc(sizeof(double) * nqkv);
    reference(rout, rlse, rdqkv, qkv, dout, s);

    float *out[3], *lse[3], *dqkv[3];
    for (int t = 0; t < 3; t++) {
        out[t] = malloc(sizeof(float) * nout);
        lse[t] = malloc(sizeof(float) * nlse);
        dqkv[t] = malloc(sizeof(float) * nqkv);
        for (size_t i = 0; i < nout; i++) out[t][i] = NAN;     // every entry must be written
        for (size_t i = 0; i < nlse; i++) lse[t][i] = NAN;
        for (size_t i = 0; i < nqkv; i++) dqkv[t][i] = NAN;
        run(out[t], lse[t], dqkv[t], qkv, dout, s, t + 1);
    }
    const char *name[5] = { "out", "lse", "dq", "dk", "dv" };
    double e[5] = { normwise(out[0], rout, nout), normwise(lse[0], rlse, nlse),
                    normwise_part(dqkv[0], rdqkv, rows, d, 0), normwise_part(dqkv[0], rdqkv, rows, d, 1),
                    normwise_part(dqkv[0], rdqkv, rows, d, 2) };
    printf("# B %d Lt %4d H %d hd %2d, scores sd %4.1f: rel err", s.B, s.Lt, s.H, s.hd, qk * qk);
    for (int k = 0; k < 5; k++) {
        printf(" %s %.1e", name[k], e[k]);
        // !(e <= TOL) also catches NaN: an entry left unwritten
        CHECK(e[k] <= TOL, "B %d Lt %d H %d hd %d (scores sd %.1f): %s rel err %.3g > %.0e", s.B, s.Lt,
              s.H, s.hd, qk * qk, name[k], e[k], TOL);
    }
    printf("\n");
    for (int t = 1; t < 3; t++) {
        bool same = !memcmp(out[0], out[t], sizeof(float) * nout) && !memcmp(lse[0], lse[t], sizeof(float) * nlse) &&
                    !memcmp(dqkv[0], dqkv[t], sizeof(float) * nqkv);
        CHECK(same, "B %d Lt %d H %d hd %d: 1 and %d threads give different bits", s.B, s.Lt, s.H, s.hd, t + 1);
    }
    for (int t = 0; t < 3; t++) { free(out[t]); free(lse[t]); free(dqkv[t]); }
    free(qkv); free(dout); free(rout); free(rlse); free(rdqkv);
}

int main(void) {
    rng_seed(&rng, 20260612);
    Shape shapes[] = {
        { 2, 1, 2, 64 },     // one token: softmax of one score
        { 3, 7, 2, 8 },      // less than one register tile
        { 2, 81, 3, 24 },    // Sudoku + 0: one full query block and a remainder; hd not a tile width
        { 2, 160, 4, 64 },   // 144 + 16
        { 1, 916, 2, 64 },   // ARC: 900 cells + 16 puzzle positions
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) test_shape(shapes[i], 1);
    test_shape((Shape){ 2, 81, 2, 64 }, 2);   // peaked rows: scores of sd 4
    test_shape((Shape){ 1, 160, 2, 64 }, 3);  // saturated rows: sd 9, many P underflow to 0
    return test_summary("attention");
}
