// train.h: the training loop shared by both methods.
//
// DIS (Deep Improvement Supervision): a batch enters with a fresh carry and stays for
// N_sup supervision steps; step t is trained toward the intermediate target y_t, one
// optimizer step per supervision step, the carry detached between them.
// TRM (deep supervision with halting): the carry persists across optimizer steps; a row
// keeps its example until the Q head halts it (or N_sup steps), then takes a new one.
#ifndef TRM_TRAIN_H
#define TRM_TRAIN_H

#include <signal.h>

#include "eval/eval.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "rng.h"
#include "tasks/task.h"
#include "train/targets.h"

typedef enum { METHOD_DIS, METHOD_TRM } Method;
// Which answer a training row aims at: the stored label, or (tasks with several correct
// answers, e.g. N-Queens with few given queens) the correct answer the model currently
// finds most likely. With the stored label a deterministic network can only learn the
// average of the answers, which is no answer; "closest" lets it commit to one.
typedef enum { ANSWER_STORED, ANSWER_CLOSEST } AnswerKind;

typedef struct {
    Method method;
    int batch;
    long max_steps;           // optimizer steps (0 = no limit)
    double epochs;            // passes over the training rows (0 = no limit)
    double minutes;           // wall-clock budget (0 = no limit)
    OptConfig opt;            // dense parameters
    bool freeze_net;          // train the puzzle rows only: no weight gradients, no dense step
    double puzzle_lr, puzzle_wd;   // sign-SGD on the puzzle table
    long warmup;
    long schedule_steps;      // length of the cosine schedule (if min_ratio < 1)
    double min_ratio;
    double ema;               // EMA rate (0 = off); evaluation and model.safetensors use it
    TargetKind targets;       // DIS
    FeedKind feed;            // DIS: tokens of x at steps t > 1
    AnswerKind answer;
    bool step_weights;        // DIS: linearly increasing step weights (mean 1)
    long direct_steps;        // DIS: first train only step 1, toward the answer, for this many steps
    double explore;           // TRM: halting exploration probability
    long eval_every;          // optimizer steps between evaluations (0 = at the end only)
    long log_every;           // optimizer steps between metric lines
    uint64_t seed;
    // The evaluation during and after training: NULL = evaluate() on the split; ARC plugs
    // in its vote here, on the test or the validation split (r->extra carries pass@K into
    // metrics.jsonl).
    int (*eval_fn)(void *ctx, Model *m, const InferOptions *io, bool test_split, EvalResult *r, char *err);
    void *eval_ctx;
    // Model selection on the validation split (never the test set): the metric of a task
    // ("valid", "exact"; ARC: "pass@2"), stop once it reaches `until` (0 = never), stop after
    // `patience` evaluations without improvement (0 = never), keep the best checkpoint as
    // model_best.safetensors and evaluate it (not the last one) on the test set.
    const char *metric;
    double until;
    long patience;
    bool keep_best;
    const char *out_dir;      // checkpoints and metrics.jsonl (NULL = none)
    // The name of every puzzle-embedding row (identifiers.json, a JSON array), carried in
    // the model files' train_state so that a model can find a task's rows (trm solve).
    const char *identifiers_json;
    // More members for the run record of metrics.jsonl, as a JSON object (cmd_train: where
    // the data came from, so that trm report can find the test puzzles), or NULL.
    const char *run_info_json;
    bool quiet;
    // Divergence guard: a NaN or inf in the loss or the gradients stops the run before the
    // optimizer applies it (the checkpoint on disk stays the last good one); up to
    // skip_nonfinite such steps are skipped instead (not applied, counted in metrics.jsonl).
    long skip_nonfinite;
    long poison_step;         // test hook: one NaN into the first dense gradient at this step (0 = off)
} TrainOptions;

void train_defaults(TrainOptions *o, Method method);

typedef struct {
    double loss;              // mean over the optimizer steps since the last report
    double last_step_loss;    // DIS: the final supervision step's loss
    double acc, exact;        // of the final step, against the final label
    long n, n_final;          // optimizer steps; final supervision steps among them
} TrainStats;

typedef struct {
    Model *m;
    const Task *task;
    const Dataset *train;
    TrainOptions o;
    real *adam_m, *adam_v, *ema;
    Rng rng;
    long step, examples, epoch, cursor;
    int *perm;                // [num_groups] this epoch's group order; cursor = next
    int32_t *queue;           // the current puzzle's examples in random order
    int queue_len, queue_pos, queue_cap;
    double elapsed;           // seconds trained, including earlier runs (resume)
    Carry carry;
    int32_t *input, *label, *tokens, *target, *ids, *pred;
    TargetPath *paths;
    real *dlogits, *dq;
    uint8_t *correct;
    int *row_steps, *min_halt;  // TRM: per-row supervision step and exploration floor
    uint8_t *halted;
    uint8_t *answers;         // --answer closest: a row's correct answers [max_completions, L]
    double *logp;             // and its tokens' log-probabilities [L, V]
    TrainStats acc;
    double *step_loss;        // [N_sup] loss per supervision step since the last report
    long *step_count;         // [N_sup] what step_loss sums: DIS optimizer steps, TRM rows
    // model selection
    double best_metric;       // -1 before the first evaluation
    long best_step, evals_since_best;
    real *best;               // the evaluation weights of the best step [n_total] (keep_best)
    const char *stop_reason;  // why the run stopped early, or NULL
    long skipped_nonfinite;   // optimizer steps not applied because of a NaN or inf
    bool poisoned;            // the test hook fired
    char diverged[ERR_LEN];   // set when a non-finite step stopped the run
    char io_error[ERR_LEN];   // the first failed metrics.jsonl append: the run stops on it
} Trainer;

// Set by a signal handler (the signal number): train_run saves a checkpoint at the next
// step boundary and returns TRAIN_INTERRUPTED.
extern volatile sig_atomic_t train_stop_signal;
#define TRAIN_INTERRUPTED 2

// Model selection, one evaluation at a time: is `metric` at `step` the best so far
// (strictly better: ties keep the earlier step)? And should the run stop: "until" (the
// metric reached the threshold; 0 = never), "patience" (that many evaluations without a
// better one; 0 = never), or NULL.
bool selection_update(double *best, long *best_step, long *since_best, double metric, long step);
const char *selection_stop(double metric, long since_best, double until, long patience);

void trainer_init(Trainer *t, Model *m, const Task *task, const Dataset *train, const TrainOptions *o);
void trainer_free(Trainer *t);
// One unit of training: DIS = one batch (N_sup optimizer steps), TRM = one optimizer step.
void trainer_advance(Trainer *t);
// The sampler: the next training example (a group permutation per epoch, one random
// puzzle of each group, its examples in random order).
int64_t trainer_next_row(Trainer *t);
// The learning rate of the current step for a base rate (the schedule of both optimizers).
double trainer_lr(const Trainer *t, double base);
// Save / restore everything needed to continue bit for bit (state.safetensors).
int trainer_save_state(const Trainer *t, const char *path, char *err);
int trainer_load_state(Trainer *t, const char *path, char *err);

// The whole run: train; every eval_every steps and at the end evaluate on `valid` (when
// given; else on `test`, as older data sets have no validation split), select and stop on
// it; then evaluate the selected checkpoint on `test`. Writes metrics.jsonl and
// checkpoints into out_dir (a resumed run first cuts metrics.jsonl back to its step).
// Returns the test evaluation (caller frees), whose extra fields say which checkpoint it
// is and why. Returns 0, -1 with err (a diverged run: err names the step and the tensor,
// nothing saved; a file that cannot be written, e.g. on a full disk: err names it, the
// last checkpoint kept), or TRAIN_INTERRUPTED (after train_stop_signal: model and state
// saved, no final evaluation).
int train_run(Trainer *t, const Dataset *valid, const Dataset *test, EvalResult *final, char *err);

#endif
