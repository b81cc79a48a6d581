// targets.h: the intermediate targets of Deep Improvement Supervision.
//
// Step t of N is trained toward a frame y_t that moves from the input (y_0) to the
// answer (y_N = y*), each frame strictly closer to y* in Hamming distance.
#ifndef TRM_TARGETS_H
#define TRM_TARGETS_H

#include "common.h"
#include "nn/config.h"
#include "rng.h"
#include "tasks/task.h"

typedef enum {
    TARGETS_LINEAR,    // released code: the cells where input and answer differ, in a random
                       // order; frame t takes the answer's value on the first floor(t|D|/N)
    TARGETS_MASK,      // paper Eq. 22, masking: each answer cell is masked (PAD, 0) with
                       // probability 1 - t/N
    TARGETS_REPLACE,   // paper Eq. 22, replacement: ... replaced by a random token in [1, V)
    TARGETS_ANSWER,    // control: every step toward y* (deep supervision without halting)
    TARGETS_SOLVER,    // the programmable edits the DIS paper names and leaves untried: the
                       // cells of D in the order the task's solver fixes them (Sudoku:
                       // singles first; maze: the path from S), frame t the first floor(t|D|/N)
} TargetKind;

int target_kind_parse(const char *s, TargetKind *k);   // "linear" | "mask" | "replace" | "answer" | "solver"
const char *target_kind_name(TargetKind k);

// The path of one example, drawn once when the example enters (so its N frames are
// consistent): order[i] is the rank of cell i (cells outside D rank last), u[i] is a
// uniform draw per cell for the corruption kernels.
typedef struct {
    int *rank;        // [L]
    float *u;         // [L]
    int *tok;         // [L] random replacement tokens
    int n_diff;       // |D|
} TargetPath;

// labels use IGNORE_LABEL (-100) for cells without a target.
void target_path_draw(TargetPath *p, Rng *r, const int32_t *input, const int32_t *label, int L, int V);
// The solver's path of one example (TARGETS_SOLVER; the task has solver_order): the
// cells of D ranked as task->solver_order lists them, any it leaves out after those.
// No random draw.
void target_path_solver(TargetPath *p, const Task *task, const int32_t *input, const int32_t *label, int L);
// Frame t of N (1 <= t <= N) into out[L]; frame N is the label.
void target_frame(int32_t *out, TargetKind kind, const TargetPath *p, const int32_t *input,
                  const int32_t *label, int L, int t, int N);

// Of n candidate answers [n, L] (tokens), the index of the one with the highest
// log-likelihood under one example's logits [L, V] (--answer closest); logp is scratch
// of L * V doubles. Ties go to the first.
int answer_closest(LossKind kind, const real *logits, const uint8_t *answers, int n, int L, int V,
                   double *logp);

#endif
