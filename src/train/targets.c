#include "targets.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/loss.h"

int target_kind_parse(const char *s, TargetKind *k) {
    if (!strcmp(s, "linear")) *k = TARGETS_LINEAR;
    else if (!strcmp(s, "mask")) *k = TARGETS_MASK;
    else if (!strcmp(s, "replace")) *k = TARGETS_REPLACE;
    else if (!strcmp(s, "answer")) *k = TARGETS_ANSWER;
    else if (!strcmp(s, "solver")) *k = TARGETS_SOLVER;
    else return -1;
    return 0;
}

const char *target_kind_name(TargetKind k) {
    static const char *names[] = { "linear", "mask", "replace", "answer", "solver" };
    return names[k];
}

void target_path_draw(TargetPath *p, Rng *r, const int32_t *input, const int32_t *label, int L, int V) {
    // D = the cells with a target whose answer differs from the input. (The released code
    // also counts ignored cells, which makes early ARC frames ask for PAD; we keep them
    // ignored in every frame.)
    int *cells = xmalloc(sizeof(int) * L);
    int nd = 0, rest = 0;
    for (int i = 0; i < L; i++)
        if (label[i] != IGNORE_LABEL && label[i] != input[i]) cells[nd++] = i;
    rng_shuffle_int(r, cells, nd);
    for (int k = 0; k < nd; k++) p->rank[cells[k]] = k;
    for (int i = 0; i < L; i++)
        if (!(label[i] != IGNORE_LABEL && label[i] != input[i])) p->rank[i] = nd + rest++;
    for (int i = 0; i < L; i++) {
        p->u[i] = (float)rng_uniform(r);
        p->tok[i] = 1 + (int)rng_below(r, (uint32_t)(V - 1));
    }
    p->n_diff = nd;
    free(cells);
}

static bool in_diff(const int32_t *input, const int32_t *label, int i) {
    return label[i] != IGNORE_LABEL && label[i] != input[i];
}

void target_path_solver(TargetPath *p, const Task *task, const int32_t *input, const int32_t *label, int L) {
    uint8_t *in = xmalloc((size_t)L), *lab = xmalloc((size_t)L);
    int *order = xmalloc(sizeof(int) * (size_t)L), nd = 0, rest = 0;
    for (int i = 0; i < L; i++) {   // the hook sees tokens; an ignored cell keeps its input
        in[i] = (uint8_t)input[i];
        lab[i] = (uint8_t)(label[i] == IGNORE_LABEL ? input[i] : label[i]);
        p->rank[i] = -1;
    }
    int k = task->solver_order(in, lab, order);
    for (int j = 0; j < k; j++)
        if (order[j] >= 0 && order[j] < L && in_diff(input, label, order[j]) && p->rank[order[j]] < 0)
            p->rank[order[j]] = nd++;
    for (int i = 0; i < L; i++)     // cells of D the solver did not list, then the others
        if (p->rank[i] < 0 && in_diff(input, label, i)) p->rank[i] = nd++;
    for (int i = 0; i < L; i++)
        if (p->rank[i] < 0) p->rank[i] = nd + rest++;
    for (int i = 0; i < L; i++) p->u[i] = 0, p->tok[i] = input[i];
    p->n_diff = nd;
    free(in), free(lab), free(order);
}

void target_frame(int32_t *out, TargetKind kind, const TargetPath *p, const int32_t *input,
                  const int32_t *label, int L, int t, int N) {
    if (kind == TARGETS_ANSWER) {
        memcpy(out, label, sizeof(int32_t) * L);
        return;
    }
    if (kind == TARGETS_LINEAR || kind == TARGETS_SOLVER) {
        long revealed = (long)t * p->n_diff / N;   // floor(t |D| / N): linear in t
        for (int i = 0; i < L; i++) out[i] = p->rank[i] < revealed ? label[i] : input[i];
        for (int i = 0; i < L; i++) if (label[i] == IGNORE_LABEL) out[i] = IGNORE_LABEL;
        return;
    }
    // Corruption at a rate 1 - t/N that decreases to 0 at the last step. The same
    // per-cell draw u is used at every step, so the corrupted set shrinks monotonically.
    double rate = 1.0 - (double)t / N;
    for (int i = 0; i < L; i++) {
        out[i] = label[i];
        if (label[i] != IGNORE_LABEL && p->u[i] < rate) out[i] = kind == TARGETS_MASK ? 0 : p->tok[i];
    }
}

int answer_closest(LossKind kind, const real *logits, const uint8_t *answers, int n, int L, int V,
                   double *logp) {
    for (int i = 0; i < L; i++)
        for (int v = 0; v < V; v++) logp[i * V + v] = token_log_prob(kind, logits + (size_t)i * V, V, v);
    int best = 0;
    double best_lp = -INFINITY;
    for (int k = 0; k < n; k++) {
        const uint8_t *a = answers + (size_t)k * L;
        double lp = 0;
        for (int i = 0; i < L; i++) lp += logp[i * V + a[i]];
        if (lp > best_lp) { best_lp = lp; best = k; }
    }
    return best;
}
