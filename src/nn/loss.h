// loss.h: the training losses. Token losses are accumulated in double, as the official
// code casts logits to float64 for stablemax.
#ifndef TRM_LOSS_H
#define TRM_LOSS_H

#include "common.h"
#include "config.h"

#define IGNORE_LABEL (-100)

typedef struct {
    double loss;             // sum over rows of (sum of token CE / max(1, valid tokens))
    int rows_correct;        // rows whose every valid token's argmax equals its label
    long tokens_correct, tokens_valid;
    double acc_sum;          // sum over rows of the fraction of correct valid tokens
} LmLossStats;

// Cross-entropy over logits [B, L, V] against labels [B, L]; labels equal to IGNORE_LABEL
// or outside [0, V) are ignored. Each row's loss is normalised by its number of valid
// tokens. If dlogits is not NULL it receives scale * d(loss)/d(logits). seq_correct[B]
// (optional) receives whether each row is entirely right.
LmLossStats lm_loss(LossKind kind, const real *logits, const int32_t *labels, int B, int L,
                    int V, double scale, real *dlogits, uint8_t *seq_correct);

// log p(label) of one token's logits [V] under the loss's normaliser (softmax or stablemax).
double token_log_prob(LossKind kind, const real *x, int V, int label);

// Binary cross-entropy with logits, summed over B values q[b*stride] against targets;
// dq[b*stride] (optional) receives scale * d/dq.
double bce_logits(const real *q, int stride, const uint8_t *target, int B, double scale, real *dq);

// argmax over the last axis (the first maximum wins, as torch.argmax)
void argmax_rows(int32_t *out, const real *logits, int rows, int V);

#endif
