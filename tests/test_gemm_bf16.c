// test_gemm_bf16.c: the bf16 matrix product against a double-precision product of the same
// operands rounded to bf16 by an independent rounding (frexp/rint), over every transpose
// combination, edge sizes (M, N not multiples of the 12 x 32 tile, odd K, K and N beyond one
// block), alpha/beta, padded leading dimensions; plus round-to-nearest-even ties, untouched
// padding, the same bits for 1 and 2 threads, and the switch through gemm().
#include "nn/ops.h"
#include "core/rng.h"
#include "test.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

// x rounded to 8 significant bits, ties to even (rint in the default rounding mode);
// fp32 denormals flush to zero as the hardware conversion does.
static double bf16_round(float x) {
    if (fabsf(x) < 1.17549435e-38f) return 0;
    int e;
    double m = frexp(x, &e);
    return ldexp(rint(ldexp(m, 8)), e - 8);
}

static float uniform(Rng *r) { return (float)(2 * rng_uniform(r) - 1); }

// One product C = alpha op(A) op(B) + beta C with padded leading dimensions; returns the
// largest error relative to the fp32-accumulation bound.
static void check_shape(bool tA, bool tB, int M, int N, int K, float alpha, float beta, Rng *rng) {
    int lda = (tA ? M : K) + 3, ldb = (tB ? K : N) + 5, ldc = N + 2;
    int arows = tA ? K : M, brows = tB ? N : K;
    float *A = xmalloc(sizeof(float) * arows * lda), *B = xmalloc(sizeof(float) * brows * ldb);
    float *C = xmalloc(sizeof(float) * M * ldc), *C0 = xmalloc(sizeof(float) * M * ldc);
    for (int i = 0; i < arows * lda; i++) A[i] = uniform(rng);
    for (int i = 0; i < brows * ldb; i++) B[i] = uniform(rng);
    for (int i = 0; i < M * ldc; i++) C0[i] = C[i] = uniform(rng);
    gemm_bf16(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    double worst = 0, moved = 0;
    bool pad_ok = true;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double s = 0, s_abs = 0, s32 = 0;
            for (int k = 0; k < K; k++) {
                float a = tA ? A[k * lda + i] : A[i * lda + k], b = tB ? B[j * ldb + k] : B[k * ldb + j];
                double p = bf16_round(a) * bf16_round(b);
                s += p;
                s_abs += fabs(p);
                s32 += (double)a * b;
            }
            double ref = alpha * s + (beta == 0 ? 0 : beta * C0[i * ldc + j]);
            // Sums of K exact products in fp32: |error| <= K u sum|p| (u = 2^-24), plus the
            // rounding of alpha * sum and of + beta C.
            double tol = (K + 3) * ldexp(1, -24) * (fabs(alpha) * s_abs + fabs(beta * C0[i * ldc + j])) + 1e-30;
            worst = fmax(worst, fabs(C[i * ldc + j] - ref) / tol);
            moved = fmax(moved, fabs(alpha * (s - s32)));
        }
        for (int j = N; j < ldc; j++) pad_ok &= C[i * ldc + j] == C0[i * ldc + j];
    }
    CHECK(worst <= 1, "tA %d tB %d %dx%dx%d alpha %g beta %g: error %.3g x the fp32 bound", tA, tB, M, N,
          K, alpha, beta, worst);
    CHECK(pad_ok, "tA %d tB %d %dx%dx%d: wrote outside the N columns", tA, tB, M, N, K);
    // The operands really are rounded: bf16 has 8 significant bits, so on random data some
    // sum moves by far more than fp32 would allow (a silent fall back to sgemm fails here).
    if (K >= 8) CHECK(moved > 1e-4, "%dx%dx%d: no bf16 rounding visible (%.3g)", M, N, K, moved);
    free(A); free(B); free(C); free(C0);
}

static void check_ties(void) {
    // 1 + 2^-8 is halfway between bf16 1 and 1 + 2^-7: even -> 1. 1 + 3 2^-8 -> 1 + 2^-6.
    float a[2] = { 1 + 0x1p-8f, 1 + 3 * 0x1p-8f }, one[2] = { 1, 1 }, c[2];
    gemm_bf16(false, false, 2, 1, 1, 1, a, 1, one, 1, 0, c, 1);
    CHECK(c[0] == 1.0f && c[1] == 1 + 0x1p-6f, "ties to even: %a %a", c[0], c[1]);
    // A pair straddling the odd-K padding: K = 3 with the third product in the pad half.
    float x[3] = { 1, 2, 3 }, y[3] = { 4, 5, 6 }, z;
    gemm_bf16(false, false, 1, 1, 3, 1, x, 3, y, 1, 0, &z, 1);
    CHECK(z == 32.0f, "1x1x3 product: %g", z);
}

// The same bits with 1 and 2 threads (every tile belongs to one thread; k-order fixed).
static void check_threads(Rng *rng) {
    int M = 300, N = 200, K = 700;
    float *A = xmalloc(sizeof(float) * M * K), *B = xmalloc(sizeof(float) * K * N);
    float *C1 = xcalloc((size_t)M * N, sizeof(float)), *C2 = xcalloc((size_t)M * N, sizeof(float));
    for (int i = 0; i < M * K; i++) A[i] = uniform(rng);
    for (int i = 0; i < K * N; i++) B[i] = uniform(rng);
    omp_set_num_threads(1);
    gemm_bf16(true, false, M, N, K, 1, A, M, B, N, 0, C1, N);
    omp_set_num_threads(2);
    gemm_bf16(true, false, M, N, K, 1, A, M, B, N, 0, C2, N);
    CHECK(memcmp(C1, C2, sizeof(float) * M * N) == 0, "1 and 2 threads differ");
    free(A); free(B); free(C1); free(C2);
}

// gemm() follows the precision setting: bf16 differs from sgemm, fp32 equals it again.
static void check_switch(Rng *rng) {
    enum { M = 20, N = 40, K = 64 };
    float A[M * K], B[K * N], Cs[M * N], Cg[M * N], Cb[M * N];
    for (int i = 0; i < M * K; i++) A[i] = uniform(rng);
    for (int i = 0; i < K * N; i++) B[i] = uniform(rng);
    char err[ERR_LEN] = "";
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, A, K, B, N, 0, Cs, N);
    CHECK(set_matmul_precision(MATMUL_BF16, err) == 0, "set bf16: %s", err);
    CHECK(matmul_precision() == MATMUL_BF16 && !strcmp(matmul_precision_name(MATMUL_BF16), "bf16"), "name");
    gemm(false, false, M, N, K, 1, A, K, B, N, 0, Cg, N);
    gemm_bf16(false, false, M, N, K, 1, A, K, B, N, 0, Cb, N);
    CHECK(memcmp(Cg, Cb, sizeof Cg) == 0, "gemm() in bf16 mode is not gemm_bf16");
    CHECK(memcmp(Cg, Cs, sizeof Cg) != 0, "gemm() in bf16 mode equals sgemm");
    set_matmul_precision(MATMUL_FP32, err);
    gemm(false, false, M, N, K, 1, A, K, B, N, 0, Cg, N);
    CHECK(memcmp(Cg, Cs, sizeof Cg) == 0, "gemm() back in fp32 is not sgemm");
}

// The fused gate/up + SwiGLU of inference against gemm_bf16 followed by SwiGLU in double:
// the products are the same bf16 dot products in the same k order (so gu is bitwise the
// same), and silu differs only by the exp polynomial (relative error < 3e-7) and a few fp32
// roundings: 1e-5 of the largest activation. Then the cases it must decline.
static void check_swiglu(Rng *rng) {
    char err[ERR_LEN] = "";
    const int shapes[][3] = { { 37, 81, 48 }, { 12, 256, 16 }, { 500, 80, 256 } };   // N, in, W
    set_matmul_precision(MATMUL_BF16, err);
    for (int t = 0; t < 3; t++) {
        int N = shapes[t][0], in = shapes[t][1], W = shapes[t][2];
        float *x = xmalloc(sizeof(float) * N * in), *Wg = xmalloc(sizeof(float) * 2 * W * in);
        float *gu = xmalloc(sizeof(float) * N * 2 * W), *act = xmalloc(sizeof(float) * (N * W + 1));
        for (int i = 0; i < N * in; i++) x[i] = 2 * uniform(rng);
        for (int i = 0; i < 2 * W * in; i++) Wg[i] = uniform(rng) / 4;
        act[N * W] = 12345;                                    // a canary after the output
        CHECK(linear_swiglu_bf16(act, x, Wg, N, in, W), "N %d in %d W %d: declined", N, in, W);
        gemm_bf16(false, true, N, 2 * W, in, 1, x, in, Wg, in, 0, gu, 2 * W);
        double worst = 0, big = 0;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < W; j++) {
                double g = gu[(size_t)i * 2 * W + j], u = gu[(size_t)i * 2 * W + W + j];
                double ref = g / (1 + exp(-g)) * u;
                worst = fmax(worst, fabs(act[(size_t)i * W + j] - ref));
                big = fmax(big, fabs(ref));
            }
        CHECK(worst <= 1e-5 * big, "N %d in %d W %d: fused SwiGLU off by %.3g (max %.3g)", N, in, W, worst, big);
        CHECK(act[N * W] == 12345, "N %d in %d W %d: wrote past the output", N, in, W);
        free(x); free(Wg); free(gu); free(act);
    }
    float x[4] = { 0 }, a[4];
    CHECK(!linear_swiglu_bf16(a, x, x, 1, 1, 2), "W = 2 (not a multiple of 16) must be declined");
    CHECK(!linear_swiglu_bf16(a, x, x, 1, 2000, 16), "in = 2000 (over one k-block) must be declined");
    set_matmul_precision(MATMUL_FP32, err);
    CHECK(!linear_swiglu_bf16(a, x, x, 1, 1, 16), "fp32 products must decline the fused path");
}

int main(void) {
    char err[ERR_LEN] = "";
    if (!matmul_bf16_supported()) {
        CHECK(set_matmul_precision(MATMUL_BF16, err) == -1 && strstr(err, "AVX512-BF16"),
              "an unsupported CPU must refuse bf16: '%s'", err);
        CHECK(matmul_precision() == MATMUL_FP32, "precision changed after a refusal");
        printf("SKIP: bf16 GEMM kernel tests (no AVX512-BF16)\n");
        return test_summary("gemm_bf16");
    }
    Rng rng;
    rng_seed(&rng, 7);
    check_ties();
    // Shapes: single elements, tile edges (12 x 32), odd K, K across two blocks (KC 1024),
    // N across two blocks (NC 1024), and the model's shapes in miniature.
    const int shapes[][3] = { { 1, 1, 1 }, { 12, 32, 2 }, { 13, 33, 3 }, { 11, 31, 17 }, { 25, 70, 64 },
                              { 7, 5, 1100 }, { 30, 1100, 9 }, { 200, 96, 256 }, { 3, 256, 640 } };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++)
            check_shape(t & 1, t & 2, shapes[s][0], shapes[s][1], shapes[s][2], 1, 0, &rng);
    check_shape(false, true, 40, 50, 300, -0.5f, 1, &rng);     // accumulate into C
    check_shape(true, false, 40, 50, 1300, 2, 0.25f, &rng);     // beta on the first k-block only
    check_threads(&rng);
    check_switch(&rng);
    check_swiglu(&rng);
    return test_summary("gemm_bf16");
}
