#include "loss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// Stablemax (Prieto et al.): s(x) = x + 1 for x >= 0, 1 / (1 - x) for x < 0; p_i = s(x_i)
// / sum_j s(x_j). Unlike softmax it has no exponential, which keeps training stable.
static inline double stable_s(double x) { return x >= 0 ? x + 1 : 1 / (1 - x + 1e-30); }
// d log s(x) / dx and d s(x) / dx
static inline double stable_ds(double x) { return x >= 0 ? 1 : 1 / ((1 - x) * (1 - x)); }

// CE of one token; writes dCE/dlogit into g (scaled) when g is not NULL.
static double token_ce(LossKind kind, const real *x, int V, int label, double scale, real *g) {
    if (kind == LOSS_SOFTMAX) {
        double mx = x[0], sum = 0;
        for (int v = 1; v < V; v++) mx = x[v] > mx ? x[v] : mx;
        for (int v = 0; v < V; v++) sum += exp(x[v] - mx);
        double lse = mx + log(sum);
        if (g) for (int v = 0; v < V; v++) g[v] = (real)(scale * (exp(x[v] - lse) - (v == label)));
        return lse - x[label];
    }
    double sum = 0;
    for (int v = 0; v < V; v++) sum += stable_s(x[v]);
    double sy = stable_s(x[label]);
    if (g) {
        for (int v = 0; v < V; v++) g[v] = (real)(scale * stable_ds(x[v]) / sum);
        g[label] -= (real)(scale * stable_ds(x[label]) / sy);
    }
    return log(sum) - log(sy);
}

double token_log_prob(LossKind kind, const real *x, int V, int label) {
    return -token_ce(kind, x, V, label, 0, NULL);
}

static int argmax(const real *x, int V) {
    int best = 0;
    for (int v = 1; v < V; v++) if (x[v] > x[best]) best = v;
    return best;
}

// One row of lm_loss: its loss (normalised by its valid tokens) and its counts.
typedef struct { double loss; int correct, valid; } RowLoss;

static RowLoss row_loss(LossKind kind, const real *logits, const int32_t *labels, int L, int V,
                        double scale, real *dlogits) {
    RowLoss r = {0};
    for (int t = 0; t < L; t++)
        if (labels[t] >= 0 && labels[t] < V) {
            r.valid++;
            r.correct += argmax(logits + (size_t)t * V, V) == labels[t];
        }
    double norm = 1.0 / MAX(1, r.valid), sum = 0;
    for (int t = 0; t < L; t++) {
        size_t off = (size_t)t * V;
        if (labels[t] >= 0 && labels[t] < V)
            sum += token_ce(kind, logits + off, V, labels[t], scale * norm, dlogits ? dlogits + off : NULL);
        else if (dlogits)
            memset(dlogits + off, 0, V * sizeof(real));
    }
    r.loss = sum * norm;
    return r;
}

// Rows in parallel, their sums in row order afterwards: the same bits for any number of
// threads, and no serial pass that grows with the batch.
LmLossStats lm_loss(LossKind kind, const real *logits, const int32_t *labels, int B, int L,
                    int V, double scale, real *dlogits, uint8_t *seq_correct) {
    RowLoss *rows = xmalloc((size_t)MAX(B, 1) * sizeof *rows);
#pragma omp parallel for schedule(static) if (B * L >= 4096)
    for (int b = 0; b < B; b++)
        rows[b] = row_loss(kind, logits + (size_t)b * L * V, labels + (size_t)b * L, L, V, scale,
                           dlogits ? dlogits + (size_t)b * L * V : NULL);
    LmLossStats st = {0};
    for (int b = 0; b < B; b++) {
        RowLoss r = rows[b];
        st.loss += r.loss;
        st.rows_correct += r.correct == r.valid;
        st.tokens_correct += r.correct;
        st.tokens_valid += r.valid;
        st.acc_sum += r.valid ? (double)r.correct / r.valid : 0;
        if (seq_correct) seq_correct[b] = r.correct == r.valid;
    }
    free(rows);
    return st;
}

double bce_logits(const real *q, int stride, const uint8_t *target, int B, double scale, real *dq) {
    double total = 0;
    for (int b = 0; b < B; b++) {
        double x = q[b * stride], y = target[b] ? 1 : 0;
        // -[y log s(x) + (1-y) log(1 - s(x))] = max(x, 0) - x y + log(1 + exp(-|x|))
        total += fmax(x, 0) - x * y + log1p(exp(-fabs(x)));
        if (dq) dq[b * stride] = (real)(scale * (1 / (1 + exp(-x)) - y));
    }
    return total;
}

void argmax_rows(int32_t *out, const real *logits, int rows, int V) {
#pragma omp parallel for schedule(static) if (rows >= 4096)
    for (int r = 0; r < rows; r++) out[r] = argmax(logits + (size_t)r * V, V);
}
