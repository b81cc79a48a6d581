// eval.h: inference over a data set with honest metrics and per-step diagnostics.
//
// Every supervision step's answer is decoded and scored, so a run shows which steps
// improve the answer and which are dead compute. "valid" asks the task whether the
// answer solves the puzzle (any valid completion counts), "exact" compares with the one
// stored label. The advantage margin of paper Eq. 18 is measured per step:
//   A_t(a) = log pi_t(a) - log pi_ref(a),  margin = A_t(y*) - E_{a ~ pi_ref}[A_t(a)],
// with pi_ref the previous step's policy (for step 1, the heads on the initial y).
#ifndef TRM_EVAL_H
#define TRM_EVAL_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "nn/model.h"
#include "tasks/task.h"

typedef enum { FEED_INPUT, FEED_PRED } FeedKind;   // tokens of x at steps t > 1
int feed_parse(const char *s, FeedKind *f);          // "input" | "pred"
const char *feed_name(FeedKind f);

typedef struct {
    int batch;
    int steps;            // supervision steps (the model's N_sup)
    FeedKind feed;
    double guidance;      // w of paper Eq. 16; 1 = the plain model
} InferOptions;

void infer_defaults(InferOptions *o, const TRMConfig *c);

// Per-step sums over the examples seen so far.
typedef struct {
    double token_correct, token_valid;
    double exact, valid, changed_cells, margin_sum, margin_cells;
} StepStats;

typedef struct {
    int64_t n;
    int seq_len, steps, num_groups;
    StepStats *step;          // [steps]
    long *group_n;            // [num_groups] examples per group (task->group of the input)
    double *group_exact, *group_valid;   // [num_groups] final step
    long calls_per_puzzle;
    double seconds;
    cJSON *extra;             // task-specific fields for the JSON (ARC: pass@K), or NULL; owned
} EvalResult;

// Optional outputs (each NULL when not wanted): per step logits [steps][n][L][V] and preds
// [steps][n][L] (trace), the final step's halting logit q_halt [n] (the ARC vote).
typedef struct {
    real *logits;
    int32_t *preds;
    real *q_halt;
} TraceOut;

// Runs the model on every example of ds (labels used for the metrics; a label of all 0
// means "unknown" and only validity is scored). preds_final [n*L] (optional) receives the
// last step's answer.
void evaluate(Model *m, const Task *task, const Dataset *ds, const InferOptions *o,
              EvalResult *r, int32_t *preds_final, TraceOut *trace);
void eval_result_free(EvalResult *r);
cJSON *eval_result_json(const EvalResult *r);   // exact, valid, per_step, per_group, ...
// A table for people: overall, per group (named group_name), per supervision step.
void eval_print_table(FILE *f, const EvalResult *r, const char *group_name);

#endif
