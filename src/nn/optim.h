// optim.h: the optimizers of the official TRM training loop (trm-reference.md section 6):
// AdamATan2 for dense parameters (imoneoi/adam-atan2), torch-style AdamW as the DIS
// alternative, sign-SGD for the sparse puzzle-embedding table, the warmup + cosine
// learning-rate schedule, and the EMA of the weights.
//
// Every dense routine is purely element-wise over a flat array (the model keeps all
// parameters in one contiguous buffer), so results are bitwise identical for any
// OpenMP thread count: no reductions, no order-dependent sums.
#ifndef TRM_OPTIM_H
#define TRM_OPTIM_H

#include "common.h"

typedef enum { OPT_ADAM_ATAN2, OPT_ADAMW } OptKind;

// lr is the base learning rate for the schedule; eps is read by AdamW only
// (AdamATan2 has no epsilon: atan2 is bounded and atan2(0, 0) = 0).
typedef struct { OptKind kind; double lr, wd, beta1, beta2, eps; } OptConfig;

// One step at step count t (t >= 1; the first step is t = 1). m and v are the optimizer
// state, zero before the first step. lr is the scheduled learning rate for this step.
//   AdamATan2: p <- p(1 - lr wd); m <- m + (1-b1)(g - m); v <- v + (1-b2)(g^2 - v);
//              p <- p - lr/(1-b1^t) * atan2(m, sqrt(v)/sqrt(1-b2^t))
//   AdamW:     same decay and moments, then
//              p <- p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
void adam_atan2_step(real *p, const real *g, real *m, real *v, size_t n,
                     double lr, double wd, double beta1, double beta2, long t);
void adamw_step(real *p, const real *g, real *m, real *v, size_t n,
                double lr, double wd, double beta1, double beta2, double eps, long t);
// Dispatch on c->kind with c's wd, betas and eps; lr is the scheduled lr (not c->lr).
void opt_step(const OptConfig *c, real *p, const real *g, real *m, real *v, size_t n,
              double lr, long t);

// Sign-SGD on the rows of the puzzle-embedding table present in a batch.
// table[num_rows][d]; ids[nrows]; row_grads[nrows][d]. Gradients of equal ids are summed
// in ascending batch order, then W[id] <- W[id](1 - lr wd) - lr sign(G), sign(0) = 0.
// Rows not in the batch are untouched (neither decayed nor updated). An id outside
// [0, num_rows) is a programming error: die().
void sign_sgd_rows(real *table, int num_rows, int d, const int32_t *ids,
                   const real *row_grads, int nrows, double lr, double wd);

// Learning rate at optimizer step `step` (1-based: the official loop increments the step
// before use, so the first update uses base/warmup):
//   step < warmup: base * step / warmup
//   otherwise:     base * (min_ratio + max(0, (1-min_ratio) * 0.5 * (1 + cos(pi * progress))))
//   progress = (step - warmup) / max(1, total - warmup)
double lr_at(long step, double base_lr, long warmup, long total, double min_ratio);

// shadow <- (1 - rate) p + rate shadow (the official EMAHelper, rate 0.999).
void ema_update(real *shadow, const real *p, size_t n, double rate);

#endif
