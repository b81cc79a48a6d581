// arc_vote.h: the official ARC evaluator (evaluators/arc.py; trm-reference.md 8):
// predictions of every augmented copy of a test task are cropped, de-augmented and
// grouped per (task, input grid); the candidates are ranked by (votes, mean
// sigmoid(q_halt)), ties in first-seen order; pass@K is 1 for a test pair when its
// solution is among the first K; the official score is the mean per task, then over
// the tasks of test_puzzles.json. The Kaggle score (mean over all test outputs, two
// attempts) is reported beside it, and a submission.json lists every task and every
// test input in order with attempt_1 and attempt_2.
#ifndef TRM_ARC_VOTE_H
#define TRM_ARC_VOTE_H

#include <cjson/cJSON.h>

#include "tasks/arc_grid.h"

// test_puzzles.json: the test tasks in file order, each with its test pairs.
typedef struct {
    char *id;
    int num_tests;
    ArcGrid *input, *output;     // [num_tests]; output h = 0 when no solution is known
} ArcTestTask;

typedef struct {
    ArcTestTask *task;
    int n;
} ArcTestSet;

// Reads test_puzzles.json ({task: {"train": [...], "test": [{"input", "output"}]}}) in
// file order; errors name the file and the task.
int arc_testset_load(ArcTestSet *s, const char *path, char *err);
void arc_testset_free(ArcTestSet *s);

typedef struct ArcVoter ArcVoter;
ArcVoter *arc_voter_new(void);
void arc_voter_free(ArcVoter *v);
// One prediction. name: the row's identifier (possibly "<task>|||t<k>|||<map>"); input
// and pred: G x G token canvases; q_halt: the final step's halting logit (sigmoid taken
// here, in double). Crops both, de-augments both, and records the vote. -1 for a
// malformed name or a prediction that crops to colours outside 0..9 (cannot happen
// with the crop; kept as the official sanity check).
int arc_voter_add(ArcVoter *v, const char *name, const uint8_t *input, const uint8_t *pred, int G,
                  double q_halt, char *err);

#define ARC_MAX_KS 8
typedef struct {
    int num_ks;
    int ks[ARC_MAX_KS];          // 1, 2, 5, 10, 100, 1000
    double pass[ARC_MAX_KS];     // official: mean over tasks of the task's mean over pairs
    double kaggle;               // mean over all test pairs of pass@2
    int tasks, pairs;
    int pairs_without_prediction;
    int tasks_solved;            // tasks whose every pair is right at pass@2
    uint8_t *task_pass2;         // [tasks] 1 if that task is fully solved at pass@2 (caller frees)
} ArcScore;

// Scores the votes against s (pairs without a known solution count as wrong). When
// submission is not NULL it receives the Kaggle submission object: every task of s in
// order, each a list over its test inputs of {"attempt_1": grid, "attempt_2": grid}
// (the first repeated when only one candidate exists; [[0]] when none).
void arc_voter_score(const ArcVoter *v, const ArcTestSet *s, ArcScore *out, cJSON **submission);
void arc_score_free(ArcScore *s);

#endif
