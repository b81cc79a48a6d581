// optim.c: AdamATan2, AdamW, puzzle-embedding sign-SGD, LR schedule, EMA.
//
// Precision: the element math is done in double and each result is rounded to `real`
// once when stored. In fp32 builds this makes every stored value (p, m, v) the correctly
// rounded result of the whole formula instead of accumulating one rounding per torch
// kernel op, and atan2/sqrt/pow see no fp32 cancellation; the difference from torch's
// fp32 arithmetic is at most a few ulp per step. It also keeps the math identical in
// both builds, so the -DTRM_DOUBLE tests exercise the same code path.
//
// Thread-count independence: every loop is element-wise (each iteration reads and
// writes only its own index, or in sign_sgd_rows its own table row), so the chunking
// OpenMP chooses cannot change any result.
#include "optim.h"

#include <math.h>
#include <stdlib.h>

#ifndef M_PI   // POSIX, not ISO C: absent under a strict -std=c11
#define M_PI 3.14159265358979323846
#endif

// Below this many elements the fork/join of a parallel region costs more than it saves.
#define OMP_MIN_ELEMS 32768

// Scalars of one Adam-family step that depend only on t, computed once per call (not
// per element) in double. step_size = lr/(1-b1^t); sqrt_bc2 = sqrt(1-b2^t).
typedef struct { double decay, c1, c2, step_size, sqrt_bc2; } AdamScalars;

static AdamScalars adam_scalars(double lr, double wd, double beta1, double beta2, long t) {
    if (t < 1) die("optimizer step count t = %ld, must be >= 1", t);
    AdamScalars s;
    s.decay = 1.0 - lr * wd;            // decoupled decay, scaled by the scheduled lr
    s.c1 = 1.0 - beta1;
    s.c2 = 1.0 - beta2;
    s.step_size = lr / (1.0 - pow(beta1, (double)t));
    s.sqrt_bc2 = sqrt(1.0 - pow(beta2, (double)t));
    return s;
}

void adam_atan2_step(real *p, const real *g, real *m, real *v, size_t n,
                     double lr, double wd, double beta1, double beta2, long t) {
    const AdamScalars s = adam_scalars(lr, wd, beta1, beta2, t);
    #pragma omp parallel for schedule(static) if (n >= OMP_MIN_ELEMS)
    for (size_t i = 0; i < n; i++) {
        double gi = g[i];
        // Moments in the lerp form of the reference (m + (1-b1)(g - m)).
        double mi = (double)m[i] + s.c1 * (gi - (double)m[i]);
        double vi = (double)v[i] + s.c2 * (gi * gi - (double)v[i]);
        // Decay first, then the update: the first-moment bias correction multiplies the
        // atan2, only the second-moment one is inside it (imoneoi; spec 6.1).
        double pn = (double)p[i] * s.decay;
        pn -= s.step_size * atan2(mi, sqrt(vi) / s.sqrt_bc2);
        m[i] = (real)mi;
        v[i] = (real)vi;
        p[i] = (real)pn;
    }
}

void adamw_step(real *p, const real *g, real *m, real *v, size_t n,
                double lr, double wd, double beta1, double beta2, double eps, long t) {
    const AdamScalars s = adam_scalars(lr, wd, beta1, beta2, t);
    #pragma omp parallel for schedule(static) if (n >= OMP_MIN_ELEMS)
    for (size_t i = 0; i < n; i++) {
        double gi = g[i];
        // torch.optim.AdamW: m = b1 m + (1-b1) g (lerp), v = b2 v + (1-b2) g^2.
        double mi = (double)m[i] + s.c1 * (gi - (double)m[i]);
        double vi = beta2 * (double)v[i] + s.c2 * gi * gi;
        double pn = (double)p[i] * s.decay;
        pn -= s.step_size * mi / (sqrt(vi) / s.sqrt_bc2 + eps);
        m[i] = (real)mi;
        v[i] = (real)vi;
        p[i] = (real)pn;
    }
}

void opt_step(const OptConfig *c, real *p, const real *g, real *m, real *v, size_t n,
              double lr, long t) {
    switch (c->kind) {
    case OPT_ADAM_ATAN2:
        adam_atan2_step(p, g, m, v, n, lr, c->wd, c->beta1, c->beta2, t);
        return;
    case OPT_ADAMW:
        adamw_step(p, g, m, v, n, lr, c->wd, c->beta1, c->beta2, c->eps, t);
        return;
    }
    die("opt_step: unknown optimizer kind %d", (int)c->kind);
}

// ---- sign-SGD on the puzzle-embedding rows ----

typedef struct { int32_t id; int pos; } IdPos;

// Order by id, then by batch position: each id's duplicates form one run, in ascending
// batch order, whatever qsort (not stable) does, since (id, pos) pairs are all distinct.
static int idpos_cmp(const void *a, const void *b) {
    const IdPos *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static double sign_of(double x) { return (double)((x > 0) - (x < 0)); }

// Update one table row from the run order[0..count): sum the gradient rows (in double,
// so the sign of a near-cancelling sum is as right as it can be), then decay and step.
static void sign_sgd_one_row(real *row, const IdPos *run, int count, int d,
                             const real *row_grads, double decay, double lr) {
    for (int k = 0; k < d; k++) {
        double sum = 0.0;
        for (int j = 0; j < count; j++) sum += row_grads[(size_t)run[j].pos * d + k];
        row[k] = (real)((double)row[k] * decay - lr * sign_of(sum));
    }
}

void sign_sgd_rows(real *table, int num_rows, int d, const int32_t *ids,
                   const real *row_grads, int nrows, double lr, double wd) {
    if (nrows <= 0) return;
    // Validate everything before touching the table, so a bad batch changes nothing.
    for (int i = 0; i < nrows; i++)
        if (ids[i] < 0 || ids[i] >= num_rows)
            die("sign_sgd_rows: id %d at batch row %d outside [0, %d)", (int)ids[i], i, num_rows);
    IdPos *order = xmalloc((size_t)nrows * sizeof *order);
    int *starts = xmalloc(((size_t)nrows + 1) * sizeof *starts);
    for (int i = 0; i < nrows; i++) order[i] = (IdPos){ ids[i], i };
    qsort(order, (size_t)nrows, sizeof *order, idpos_cmp);
    int nruns = 0;
    for (int i = 0; i < nrows; i++)
        if (i == 0 || order[i].id != order[i - 1].id) starts[nruns++] = i;
    starts[nruns] = nrows;
    const double decay = 1.0 - lr * wd;
    // Runs have distinct ids, so each iteration writes its own row: no races, and the
    // result does not depend on the thread count.
    #pragma omp parallel for schedule(static) if ((size_t)nruns * (size_t)d >= OMP_MIN_ELEMS)
    for (int r = 0; r < nruns; r++) {
        const IdPos *run = order + starts[r];
        sign_sgd_one_row(table + (size_t)run->id * d, run, starts[r + 1] - starts[r], d,
                         row_grads, decay, lr);
    }
    free(starts);
    free(order);
}

// ---- schedule and EMA ----

double lr_at(long step, double base_lr, long warmup, long total, double min_ratio) {
    // The official lambda divides by max(1, warmup); with warmup = 0 this branch is dead.
    if (step < warmup) return base_lr * (double)step / (double)MAX(1L, warmup);
    double progress = (double)(step - warmup) / (double)MAX(1L, total - warmup);
    // num_cycles = 0.5 in the official call, so cos(pi * 2 * 0.5 * progress). As there,
    // steps past `total` are not clamped (the shipped runs use min_ratio = 1 anyway).
    double cosine = (1.0 - min_ratio) * 0.5 * (1.0 + cos(M_PI * progress));
    return base_lr * (min_ratio + MAX(0.0, cosine));
}

void ema_update(real *shadow, const real *p, size_t n, double rate) {
    const double a = 1.0 - rate;
    #pragma omp parallel for schedule(static) if (n >= OMP_MIN_ELEMS)
    for (size_t i = 0; i < n; i++)
        shadow[i] = (real)(a * (double)p[i] + rate * (double)shadow[i]);
}
