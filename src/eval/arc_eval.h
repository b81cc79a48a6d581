// arc_eval.h: a model on an ARC test split, scored as the official evaluator does.
//
// Every row of the test split (the original and the augmented copies of every test
// task) is predicted with the plain evaluation (eval.h: per-step accuracy and advantage
// margins), then each row's final answer is cropped, de-augmented and voted on
// (arc_vote.h): pass@1..1000 (official: mean per task, then over tasks) and the Kaggle
// score (mean over test outputs) from one checkpoint's predictions (no pooling across
// checkpoints). The rows to vote over can be limited to the original and the first K
// copies of each task (CPU evaluation of 1000 copies x 400 tasks is slow).
#ifndef TRM_ARC_EVAL_H
#define TRM_ARC_EVAL_H

#include "eval/arc_vote.h"
#include "eval/eval.h"
#include "io/dataset_dir.h"

// An ARC data directory as the evaluator needs it: one split (test, or the validation
// split of trm data arc --valid-demos), the identifier names and the split's puzzles
// (test_puzzles.json, valid_puzzles.json).
typedef struct {
    Dataset rows;
    DatasetMeta meta;
    char **names;
    int64_t num_names;
    ArcTestSet puzzles;
    int G;                       // canvas side: seq_len = G * G
} ArcEvalData;

int arc_eval_data_load(ArcEvalData *d, const char *dir, const char *split, char *err);
void arc_eval_data_free(ArcEvalData *d);

// The official outputs of an evaluation (eval_save_outputs), one row per evaluated row.
typedef struct {
    int64_t n;
    uint8_t *inputs, *preds;     // [n, seq_len] tokens; preds = the final step's argmax
    int32_t *puzzle_ids;         // [n]
    float *q_halt;               // [n] the final step's halting logit
} ArcOutputs;

// Evaluates on the original and the first num_aug copies of every test task (num_aug
// < 0: every copy). Fills r (per-row metrics, and the score's fields in r->extra), score,
// and, when not NULL, the Kaggle submission object and the outputs (caller frees with
// arc_outputs_free).
int arc_evaluate(Model *m, const ArcEvalData *d, const InferOptions *io, int num_aug, EvalResult *r,
                 ArcScore *score, cJSON **submission, ArcOutputs *out, char *err);
void arc_outputs_free(ArcOutputs *o);
// inputs.npy, puzzle_identifiers.npy, preds.npy, q_halt_logits.npy into dir.
int arc_outputs_save(const ArcOutputs *o, int seq_len, const char *dir, char *err);

// The score as JSON fields (pass@K, kaggle, tasks solved) added to obj.
void arc_score_to_json(const ArcScore *s, cJSON *obj);

#endif
