// bench/attention.c: attention_forward + attention_backward of ops.c alone, at a given
// shape, against cblas_sgemm on products of the same size, all on the same threads.
//
//   make bench-attention                      # says where it built it: BUILD/bench-attention
//   OPENBLAS_CORETYPE=SkylakeX BUILD/bench-attention [B Lt H hd repeats]   # 8 916 4 64 5
//
// FLOPs counted as docs/benchmarks.md: 4 Lt^2 hd per (sequence, head) for the forward
// (Q K^T and P V), 2.5x that for the backward (P again, dP, dV, dQ, dK). The sgemm rates:
// per (sequence, head) one [Lt x Lt x hd] and one [Lt x hd x Lt] product (the forward's two,
// as the attention of the old code ran them), the heads spread over the OpenMP threads
// (OpenBLAS runs one thread inside a parallel region), best of `repeats`. One line of
// "key value" pairs, medians of `repeats` timed runs after one untimed.
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/rng.h"
#include "nn/ops.h"

// CPU seconds of the whole process: on a shared machine, with one thread, the time the
// work took whatever else ran (wall time also counts the slices given to others).
static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t, int n) {
    qsort(t, n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

// Best time of the forward's two products for every (sequence, head), in the layout the
// attention reads (q, k, v rows of stride 3d).
static double sgemm_heads(const float *qkv, float *s, float *o, int BH, int Lt, int H, int hd, int repeats,
                          double *cpu) {
    int d = H * hd;
    double best = 1e30, best_cpu = 1e30;
    for (int r = 0; r <= repeats; r++) {
        double t0 = now_seconds(), c0 = cpu_seconds();
#pragma omp parallel for schedule(static)
        for (int bh = 0; bh < BH; bh++) {
            int t = omp_get_thread_num();
            const float *q = qkv + (size_t)(bh / H) * Lt * 3 * d + bh % H * hd;
            float *st = s + (size_t)t * Lt * Lt;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Lt, Lt, hd, 1, q, 3 * d, q + d, 3 * d, 0, st, Lt);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Lt, hd, Lt, 1, st, Lt, q + 2 * d, 3 * d, 0,
                        o + (size_t)(bh / H) * Lt * d + bh % H * hd, d);
        }
        double t = now_seconds() - t0, c = cpu_seconds() - c0;
        if (r && t < best) best = t;
        if (r && c < best_cpu) best_cpu = c;
    }
    *cpu = best_cpu;
    return best;
}

int main(int argc, char **argv) {
    int B = argc > 1 ? atoi(argv[1]) : 8, Lt = argc > 2 ? atoi(argv[2]) : 916;
    int H = argc > 3 ? atoi(argv[3]) : 4, hd = argc > 4 ? atoi(argv[4]) : 64;
    int repeats = argc > 5 ? atoi(argv[5]) : 5;
    if (B < 1 || Lt < 1 || H < 1 || hd < 1 || repeats < 1 || repeats > 100) {
        fprintf(stderr, "usage: bench-attention [B Lt H hd repeats]\n");
        return 2;
    }
    int d = H * hd, threads = omp_get_max_threads();
    size_t rows = (size_t)B * Lt;
    float *qkv = xmalloc(sizeof(float) * rows * 3 * d), *dqkv = xmalloc(sizeof(float) * rows * 3 * d);
    float *out = xmalloc(sizeof(float) * rows * d), *dout = xmalloc(sizeof(float) * rows * d);
    float *lse = xmalloc(sizeof(float) * B * H * Lt);
    float *s = xmalloc(sizeof(float) * threads * Lt * Lt);
    Rng rng;
    rng_seed(&rng, 1);
    for (size_t i = 0; i < rows * 3 * d; i++) qkv[i] = (float)rng_normal(&rng);
    for (size_t i = 0; i < rows * d; i++) dout[i] = (float)rng_normal(&rng);

    double tf[100], tb[100], cf[100], cb[100];
    for (int r = 0; r <= repeats; r++) {
        double t0 = now_seconds(), c0 = cpu_seconds();
        attention_forward(out, lse, qkv, B, Lt, H, hd);
        double t1 = now_seconds(), c1 = cpu_seconds();
        attention_backward(dqkv, dout, qkv, out, lse, B, Lt, H, hd);
        double t2 = now_seconds(), c2 = cpu_seconds();
        if (r) { tf[r - 1] = t1 - t0; tb[r - 1] = t2 - t1; cf[r - 1] = c1 - c0; cb[r - 1] = c2 - c1; }
    }
    double fwd = median(tf, repeats), bwd = median(tb, repeats);
    double cfwd = median(cf, repeats), cbwd = median(cb, repeats), cg;
    double flop_f = 4.0 * B * H * Lt * (double)Lt * hd, flop_b = 2.5 * flop_f;
    double tg = sgemm_heads(qkv, s, out, B * H, Lt, H, hd, repeats, &cg);
    // per CPU second: the rate of one thread's worth of work (exact with one thread)
    printf("B %d Lt %d H %d hd %d threads %d fwd_ms %.2f bwd_ms %.2f fwd_gflops %.1f bwd_gflops %.1f "
           "total_gflops %.1f sgemm_gflops %.1f cpu_fwd_gflops %.1f cpu_bwd_gflops %.1f cpu_total_gflops %.1f "
           "cpu_sgemm_gflops %.1f\n", B, Lt, H, hd, threads, 1e3 * fwd, 1e3 * bwd, flop_f / fwd * 1e-9,
           flop_b / bwd * 1e-9, (flop_f + flop_b) / (fwd + bwd) * 1e-9, flop_f / tg * 1e-9,
           flop_f / cfwd * 1e-9, flop_b / cbwd * 1e-9, (flop_f + flop_b) / (cfwd + cbwd) * 1e-9, flop_f / cg * 1e-9);
    free(qkv); free(dqkv); free(out); free(dout); free(lse); free(s);
    return 0;
}
