// arc_solve.h: a trained model on ARC task files (trm solve --task arc).
//
// A task's test inputs are predicted over the original and augmented copies of the task
// and voted on as the official evaluator does (arc_eval.h, arc_vote.h). Each copy needs a
// row of the puzzle-embedding table:
//   - a task the model was trained on (its name is among the model's identifiers) uses
//     the rows it learned: the original and its first num_aug copies, as `trm eval`;
//   - a task the model has not seen gets fresh rows, one per copy (zero, as the official
//     initialisation), trained on the copies' demonstrations for adapt_steps optimizer
//     steps with the network frozen (test-time adaptation), or with a copy of the network
//     trained too (adapt_net). The copies are drawn as the builder draws them (a dihedral
//     transform and a permutation of colours 1-9, a copy kept only when new by its hash),
//     from a stream seeded by the seed and the task id: a result does not depend on which
//     other tasks are solved in the same run.
#ifndef TRM_ARC_SOLVE_H
#define TRM_ARC_SOLVE_H

#include "eval/arc_vote.h"
#include "eval/eval.h"
#include "nn/model.h"
#include "tasks/arc_grid.h"

typedef struct {
    char *id;
    ArcPair *demo;               // [num_demos] demonstrations, with outputs
    int num_demos;
    ArcPair *test;               // [num_tests]; out.h = 0 when no solution is known
    int num_tests;
} ArcTask;

// Reads an ARC task file ({"train": [...], "test": [...]}; its id is the file name without
// .json) or a Kaggle challenges file ({"<id>": task, ...}, *kaggle set). solutions (NULL:
// none) is a Kaggle solutions file ({"<id>": [grid per test input], ...}) whose grids
// fill the tasks' test outputs; a task or a test input it lacks is an error when
// need_solutions. Every error names the file and the task.
int arc_tasks_load(const char *path, const char *solutions, bool need_solutions, ArcTask **tasks, int *n,
                   bool *kaggle, char *err);
void arc_tasks_free(ArcTask *tasks, int n);
bool arc_task_has_solutions(const ArcTask *t);
// Does every grid of the task fit a G x G canvas? 0, or -1 with the task named in err.
int arc_task_fits(const ArcTask *t, int G, char *err);

typedef struct {
    InferOptions io;
    int num_aug;                 // copies besides the original
    uint32_t seed;
    int adapt_steps;             // for unseen tasks; 0 = predict with the blank rows untrained
    bool adapt_always;           // adapt seen tasks too (fresh rows, as if unseen)
    bool adapt_net;              // train a copy of the network with the rows
    double adapt_lr;             // sign-SGD rate of the rows
    double adapt_net_lr;         // AdamW rate of the network (adapt_net)
    int adapt_batch;
} ArcSolveOptions;

void arc_solve_defaults(ArcSolveOptions *o);

typedef struct {
    bool seen;                   // the task's rows came from the model
    int copies;                  // copies voted over (the original included)
    long adapt_steps;            // optimizer steps run (0: none)
    double adapt_seconds, seconds;
    ArcScore score;              // this task alone (unknown solutions count as wrong)
    ArcGrid (*attempt)[2];       // [num_tests] the two attempts of the vote
    cJSON *submission;           // the task's Kaggle entry: [{"attempt_1", "attempt_2"}, ...]
} ArcSolved;

// names: the model's identifiers (NULL when the file has none: every task is unseen).
int arc_solve_task(Model *m, char *const *names, int64_t num_names, const ArcTask *task, const ArcSolveOptions *o,
                   ArcSolved *out, char *err);
void arc_solved_free(ArcSolved *s);

#endif
