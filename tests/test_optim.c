// test_optim.c: the optimizers against values worked out here from the formulas of
// trm-reference.md section 6, with explicit numbers.
//
// Tolerance: the library does each element's math in double and stores p, m, v as
// `real`. Against a pure-double reference the fp32 build is off by the storage
// roundings, about one float ulp (6e-8 relative) per stored value per step, so a few
// steps stay well inside 1e-6 relative. The double build differs only in operation order,
// ~1e-16, so 1e-12. The negative checks show the likely wrong formulas miss by far more.
#include "nn/optim.h"
#include "rng.h"
#include "test.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define REL (sizeof(real) == sizeof(float) ? 1e-6 : 1e-12)
static double tol_of(double expect) { return REL * fmax(fabs(expect), 1e-3); }

static double sgn(double x) { return (double)((x > 0) - (x < 0)); }

// ---- AdamATan2 ----

// The spec's test vector: at t = 1, m = 0.1 g and sqrt(v)/sqrt(1-b2) = |g|, so the step
// is (lr/0.1) atan2(0.1 g, |g|) = lr * 10 atan(0.1) sign(g), after the decay.
static void test_atan2_first_step(void) {
    CHECK_NEAR(10.0 * atan(0.1), 0.996687, 1e-6, "10 atan(0.1)");
    real p[5] = { 1.0f, -0.5f, 2.0f, 0.25f, -1.5f };
    const real g[5] = { 0.3f, -2.0f, 0.0f, 1e-3f, 40.0f };
    real m[5] = { 0 }, v[5] = { 0 };
    const double lr = 1e-3, wd = 0.1;
    const double p0[5] = { 1.0, -0.5, 2.0, 0.25, -1.5 };
    adam_atan2_step(p, g, m, v, 5, lr, wd, 0.9, 0.95, 1);
    for (int i = 0; i < 5; i++) {
        double gi = g[i];
        double expect = p0[i] * (1 - lr * wd) - lr * 0.99668652491162 * sgn(gi);
        CHECK_NEAR(p[i], expect, tol_of(expect), "atan2 t=1 p");
        CHECK_NEAR(m[i], 0.1 * gi, tol_of(0.1 * gi), "atan2 t=1 m");
        CHECK_NEAR(v[i], 0.05 * gi * gi, tol_of(0.05 * gi * gi), "atan2 t=1 v");
    }
    // g = 0 (index 2): atan2(0, 0) = 0, so p is only decayed: 2 * (1 - 1e-4) = 1.9998.
    CHECK_NEAR(p[2], 1.9998, tol_of(1.9998), "g = 0 only decays");
    CHECK(m[2] == 0 && v[2] == 0, "g = 0 leaves m, v zero");
}

enum { RIGHT, BIAS_INSIDE, DECAY_AFTER };

// One scalar AdamATan2 step in double, written out from spec 6.1, plus two plausible
// wrong variants to show the tolerance catches them.
static void hand_atan2(double *p, double *m, double *v, double g, double lr, double wd,
                       long t, int variant) {
    const double b1 = 0.9, b2 = 0.95;
    *m = *m + (1 - b1) * (g - *m);
    *v = *v + (1 - b2) * (g * g - *v);
    double bc1 = 1 - pow(b1, (double)t), bc2 = 1 - pow(b2, (double)t);
    double u = (variant == BIAS_INSIDE) ? atan2(*m / bc1, sqrt(*v / bc2))
                                        : atan2(*m, sqrt(*v) / sqrt(bc2)) / bc1;
    if (variant == DECAY_AFTER) *p = (*p - lr * u) * (1 - lr * wd);
    else *p = *p * (1 - lr * wd) - lr * u;
}

// Three steps with changing gradients (a sign flip, a zero) and a changing scheduled lr.
static void test_atan2_three_steps(void) {
    const double p0[3] = { 0.5, -0.8, 1.2 };
    const double gs[3][3] = { { 0.2, -1.0, 0.05 }, { -0.4, 0.0, 0.05 }, { 0.1, 0.7, -3.0 } };
    const double lrs[3] = { 2e-2, 4e-2, 6e-2 }, wd = 0.5;
    real p[3], m[3] = { 0 }, v[3] = { 0 }, g[3];
    double hp[3][3], hm[3][3] = { { 0 } }, hv[3][3] = { { 0 } };
    for (int i = 0; i < 3; i++) p[i] = (real)p0[i];
    for (int w = 0; w < 3; w++)   // start from the stored p (0.5f etc.), as the library does
        for (int i = 0; i < 3; i++) hp[w][i] = p[i];
    for (long t = 1; t <= 3; t++) {
        for (int i = 0; i < 3; i++) g[i] = (real)gs[t - 1][i];
        adam_atan2_step(p, g, m, v, 3, lrs[t - 1], wd, 0.9, 0.95, t);
        for (int w = 0; w < 3; w++)
            for (int i = 0; i < 3; i++)
                hand_atan2(&hp[w][i], &hm[w][i], &hv[w][i], gs[t - 1][i], lrs[t - 1], wd, t, w);
        for (int i = 0; i < 3; i++) {
            CHECK_NEAR(p[i], hp[RIGHT][i], tol_of(hp[RIGHT][i]), "atan2 3-step p");
            CHECK_NEAR(m[i], hm[RIGHT][i], tol_of(hm[RIGHT][i]), "atan2 3-step m");
            CHECK_NEAR(v[i], hv[RIGHT][i], tol_of(hv[RIGHT][i]), "atan2 3-step v");
        }
    }
    // Negative checks: each wrong variant lands at least 10 tolerances away.
    for (int i = 0; i < 3; i++) {
        double tol = tol_of(hp[RIGHT][i]);
        CHECK(fabs(p[i] - hp[BIAS_INSIDE][i]) > 10 * tol,
              "bias-inside variant indistinguishable at %d (%.3g)", i, fabs(p[i] - hp[BIAS_INSIDE][i]));
        CHECK(fabs(p[i] - hp[DECAY_AFTER][i]) > 10 * tol,
              "decay-after variant indistinguishable at %d (%.3g)", i, fabs(p[i] - hp[DECAY_AFTER][i]));
    }
}

// ---- AdamW ----

// torch.optim.AdamW for one scalar, in double; decay_after = a wrong variant.
static void hand_adamw(double *p, double *m, double *v, double g, double lr, double wd,
                       long t, bool decay_after) {
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    *m = b1 * *m + (1 - b1) * g;
    *v = b2 * *v + (1 - b2) * g * g;
    double bc1 = 1 - pow(b1, (double)t), bc2 = 1 - pow(b2, (double)t);
    double u = (*m / bc1) / (sqrt(*v) / sqrt(bc2) + eps);
    if (decay_after) *p = (*p - lr * u) * (1 - lr * wd);
    else *p = *p * (1 - lr * wd) - lr * u;
}

static void test_adamw_two_steps(void) {
    const double p0[3] = { 0.7, -1.1, 0.3 };
    const double gs[2][3] = { { 0.5, -0.25, 0.0 }, { -1.0, -0.5, 2.0 } };
    const double lr = 5e-2, wd = 0.1;
    real p[3], m[3] = { 0 }, v[3] = { 0 }, g[3];
    double hp[3], hm[3] = { 0 }, hv[3] = { 0 }, wp[3], wm[3] = { 0 }, wv[3] = { 0 };
    // The hand values start from the stored p, so fp32 rounding of 0.7 etc. cancels out.
    for (int i = 0; i < 3; i++) hp[i] = wp[i] = p[i] = (real)p0[i];
    // Step 1 by hand: m^ = g, v^ = g^2, so p = p0 (1 - lr wd) - lr g / (|g| + eps).
    CHECK_NEAR(0.7 * (1 - 5e-3) - 5e-2 * 0.5 / (0.5 + 1e-8), 0.6465000010, 1e-9, "adamw hand");
    for (long t = 1; t <= 2; t++) {
        for (int i = 0; i < 3; i++) g[i] = (real)gs[t - 1][i];
        adamw_step(p, g, m, v, 3, lr, wd, 0.9, 0.999, 1e-8, t);
        for (int i = 0; i < 3; i++) {
            hand_adamw(&hp[i], &hm[i], &hv[i], gs[t - 1][i], lr, wd, t, false);
            hand_adamw(&wp[i], &wm[i], &wv[i], gs[t - 1][i], lr, wd, t, true);
            CHECK_NEAR(p[i], hp[i], tol_of(hp[i]), "adamw p");
            CHECK_NEAR(m[i], hm[i], tol_of(hm[i]), "adamw m");
            CHECK_NEAR(v[i], hv[i], tol_of(hv[i]), "adamw v");
        }
        if (t == 1) CHECK_NEAR(p[0], 0.6465000010, tol_of(0.6465), "adamw t=1 literal");
    }
    for (int i = 0; i < 3; i++)
        CHECK(fabs(p[i] - wp[i]) > 10 * tol_of(hp[i]), "adamw decay-after indistinguishable at %d", i);
}

// opt_step must dispatch on kind and use the lr argument (the scheduled one), not c->lr.
static void test_opt_step_dispatch(void) {
    OptConfig c = { OPT_ADAM_ATAN2, 123.0, 0.1, 0.9, 0.95, 1e-8 };
    real p[1] = { 1.0f }, g[1] = { -0.5f }, m[1] = { 0 }, v[1] = { 0 };
    opt_step(&c, p, g, m, v, 1, 1e-3, 1);
    double expect = 1.0 * (1 - 1e-4) + 1e-3 * 0.99668652491162;
    CHECK_NEAR(p[0], expect, tol_of(expect), "opt_step atan2");
    c.kind = OPT_ADAMW;
    c.beta2 = 0.999;
    p[0] = 1.0f; m[0] = v[0] = 0;
    opt_step(&c, p, g, m, v, 1, 1e-3, 1);
    expect = 1.0 * (1 - 1e-4) + 1e-3 * 0.5 / (0.5 + 1e-8);
    CHECK_NEAR(p[0], expect, tol_of(expect), "opt_step adamw");
}

// ---- sign-SGD ----

enum { ROWS = 5, D = 3, NB = 5 };
static const int32_t sg_ids[NB] = { 3, 1, 3, 4, 1 };
static const real sg_grads[NB][D] = {
    { 1.0f, -2.0f, 0.5f },     // id 3
    { 0.5f, 0.0f, -0.1f },     // id 1
    { -1.0f, 1.0f, 0.25f },    // id 3: sum with row 0 = { 0, -1, 0.75 } -> sign { 0, -1, 1 }
    { -3.0f, 2.0f, 0.0f },     // id 4: sign { -1, 1, 0 }
    { 0.25f, 0.0f, 0.1f },     // id 1: sum with row 1 = { 0.75, 0, 0 } -> sign { 1, 0, 0 }
};

static void fill_table(real t[ROWS][D]) {
    for (int r = 0; r < ROWS; r++)
        for (int k = 0; k < D; k++) t[r][k] = (real)(0.1 * (r + 1) - 0.07 * k);
}

static void test_sign_sgd_values(void) {
    real t[ROWS][D], t0[ROWS][D];
    fill_table(t);
    memcpy(t0, t, sizeof t);
    const double lr = 1e-2, wd = 0.1;    // decay 0.999
    sign_sgd_rows(&t[0][0], ROWS, D, sg_ids, &sg_grads[0][0], NB, lr, wd);
    const double sign[ROWS][D] = { { 0 }, { 1, 0, 0 }, { 0 }, { 0, -1, 1 }, { -1, 1, 0 } };
    const int in_batch[3] = { 1, 3, 4 };
    for (int j = 0; j < 3; j++)
        for (int k = 0, r = in_batch[j]; k < D; k++) {
            double expect = (double)t0[r][k] * 0.999 - 0.01 * sign[r][k];
            CHECK_NEAR(t[r][k], expect, tol_of(expect), "sign-sgd row");
        }
    // Components whose duplicates cancel exactly (row 3 col 0, row 1 cols 1, 2) only decay.
    CHECK_NEAR(t[3][0], (double)t0[3][0] * 0.999, tol_of(t0[3][0]), "cancelled -> decay only");
    CHECK_NEAR(t[1][2], (double)t0[1][2] * 0.999, tol_of(t0[1][2]), "cancelled -> decay only");
    CHECK(memcmp(t[0], t0[0], sizeof t[0]) == 0, "row 0 not in batch: untouched");
    CHECK(memcmp(t[2], t0[2], sizeof t[2]) == 0, "row 2 not in batch: untouched");
}

// The batch order of duplicates must not matter (these sums are exact in any order).
static void test_sign_sgd_order(void) {
    const int perm[NB] = { 4, 2, 0, 3, 1 };
    int32_t ids[NB];
    real grads[NB][D], a[ROWS][D], b[ROWS][D];
    for (int i = 0; i < NB; i++) {
        ids[i] = sg_ids[perm[i]];
        memcpy(grads[i], sg_grads[perm[i]], sizeof grads[i]);
    }
    fill_table(a);
    fill_table(b);
    sign_sgd_rows(&a[0][0], ROWS, D, sg_ids, &sg_grads[0][0], NB, 1e-2, 0.1);
    sign_sgd_rows(&b[0][0], ROWS, D, ids, &grads[0][0], NB, 1e-2, 0.1);
    CHECK(memcmp(a, b, sizeof a) == 0, "sign-sgd depends on duplicate order");
}

// An id outside [0, num_rows) must die() (exit 1); run it in a child process.
static void expect_die_on_id(int32_t bad) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(2);
        real t[ROWS][D];
        int32_t ids[2] = { 1, bad };
        fill_table(t);
        sign_sgd_rows(&t[0][0], ROWS, D, ids, &sg_grads[0][0], 2, 1e-2, 0.1);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1, "id %d did not die()", (int)bad);
}

// ---- schedule, EMA ----

static void test_lr_schedule(void) {
    const double b = 1e-4, e = 1e-15 * b;
    CHECK_NEAR(lr_at(1, b, 2000, 10000, 1.0), b / 2000, e, "warmup step 1");
    CHECK_NEAR(lr_at(1000, b, 2000, 10000, 1.0), 5e-5, e, "warmup step 1000");
    CHECK_NEAR(lr_at(1999, b, 2000, 10000, 1.0), b * 1999 / 2000, e, "warmup step 1999");
    CHECK_NEAR(lr_at(2000, b, 2000, 10000, 1.0), b, e, "min_ratio 1: end of warmup");
    CHECK_NEAR(lr_at(7000, b, 2000, 10000, 1.0), b, e, "min_ratio 1: constant");
    CHECK_NEAR(lr_at(50000, b, 2000, 10000, 1.0), b, e, "min_ratio 1: past total");
    CHECK_NEAR(lr_at(2000, b, 2000, 10000, 0.1), b, e, "cosine start");
    CHECK_NEAR(lr_at(6000, b, 2000, 10000, 0.1), b * (0.1 + 0.9 * 0.5), e, "cosine halfway");
    CHECK_NEAR(lr_at(10000, b, 2000, 10000, 0.1), b * 0.1, e, "cosine at total");
    // progress 1/4: 0.1 + 0.9 * 0.5 * (1 + cos(pi/4)).
    CHECK_NEAR(lr_at(4000, b, 2000, 10000, 0.1), b * (0.1 + 0.45 * (1 + sqrt(0.5))), e, "cosine quarter");
    CHECK_NEAR(lr_at(1, b, 0, 100, 1.0), b, e, "no warmup");
}

static void test_ema(void) {
    real s[3] = { 1.0f, -2.0f, 0.5f };
    const real p[3] = { 3.0f, 0.0f, 0.5f };
    ema_update(s, p, 3, 0.999);
    CHECK_NEAR(s[0], 1.002, tol_of(1.002), "ema 0.001*3 + 0.999*1");
    CHECK_NEAR(s[1], -1.998, tol_of(1.998), "ema 0.999*-2");
    CHECK_NEAR(s[2], 0.5, tol_of(0.5), "ema fixed point");
    ema_update(s, p, 3, 0.5);
    CHECK_NEAR(s[0], 2.001, tol_of(2.001), "ema rate 0.5");
    CHECK_NEAR(s[1], -0.999, tol_of(0.999), "ema rate 0.5");
}

// ---- thread-count independence ----

enum { BIG = 100003 };   // odd, so the static chunks differ between thread counts

static void fill_random(real *a, size_t n, uint64_t seed, double scale) {
    Rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) a[i] = (real)(scale * rng_normal(&r));
}

// Two AdamATan2 steps, one AdamW step and one EMA update on fresh copies of the same
// data with `threads` threads; the outputs are written to out[0..3] (p, m, v, shadow).
static void run_big(int threads, real *out[4], const real *g) {
    omp_set_num_threads(threads);
    real *p = out[0], *m = out[1], *v = out[2], *s = out[3];
    fill_random(p, BIG, 1, 1.0);
    fill_random(s, BIG, 2, 1.0);
    memset(m, 0, BIG * sizeof *m);
    memset(v, 0, BIG * sizeof *v);
    adam_atan2_step(p, g, m, v, BIG, 1e-2, 0.1, 0.9, 0.95, 1);
    adam_atan2_step(p, g + 1, m, v, BIG, 2e-2, 0.1, 0.9, 0.95, 2);
    adamw_step(p, g + 2, m, v, BIG, 1e-2, 0.1, 0.9, 0.95, 1e-8, 3);
    ema_update(s, p, BIG, 0.999);
}

static void test_thread_independence(void) {
    real *g = xmalloc((BIG + 2) * sizeof *g);
    fill_random(g, BIG + 2, 3, 0.1);
    real *ref[4], *got[4];
    for (int k = 0; k < 4; k++) {
        ref[k] = xmalloc(BIG * sizeof(real));
        got[k] = xmalloc(BIG * sizeof(real));
    }
    run_big(1, ref, g);
    const int counts[3] = { 2, 3, 7 };
    for (int c = 0; c < 3; c++) {
        run_big(counts[c], got, g);
        for (int k = 0; k < 4; k++)
            CHECK(memcmp(ref[k], got[k], BIG * sizeof(real)) == 0,
                  "array %d differs between 1 and %d threads", k, counts[c]);
    }
    omp_set_num_threads(omp_get_num_procs());
    for (int k = 0; k < 4; k++) { free(ref[k]); free(got[k]); }
    free(g);
}

int main(void) {
    test_atan2_first_step();
    test_atan2_three_steps();
    test_adamw_two_steps();
    test_opt_step_dispatch();
    test_sign_sgd_values();
    test_sign_sgd_order();
    expect_die_on_id(ROWS);
    expect_die_on_id(-1);
    test_lr_schedule();
    test_ema();
    test_thread_independence();
    return test_summary("optim");
}
