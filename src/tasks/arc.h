// arc.h: ARC-AGI as the official TRM pipeline treats it (arc-pipeline.md;
// trm-reference.md 7.5): the data builder, reproduced bit for bit, and the task entry
// the trainer and evaluator use.
//
// The builder reads Kaggle combined files (PREFIX_<subset>_challenges.json and
// _solutions.json) or per-task JSON folders, and writes the official dataset directory:
// for every subset in order, its tasks are shuffled with numpy's legacy stream seeded
// once; each task gets up to num_aug augmented copies (a dihedral transform and a
// permutation of colours 1-9, kept only when the whole augmented task is new by its
// hash); the train split holds every pair of every task except the test pairs of the
// test subset, which form the test split; train-split grids are translated at random
// on the canvas, except one example per puzzle. With the same inputs, subsets, test set,
// seed and number of augmentations the arrays, identifiers.json and test_puzzles.json
// are byte-identical to the official builder's, and dataset.json holds the same values.
//
// --max-grid G (an extension, default 30): only tasks whose every grid fits G x G, on a
// G x G canvas (sequence G*G), for experiments at CPU scale.
#ifndef TRM_ARC_H
#define TRM_ARC_H

#include "task.h"

extern const Task TASK_ARC;      // "arc": vocabulary 12, sequence length from the data

typedef struct {
    const char *kaggle;          // PREFIX of PREFIX_<subset>_challenges.json, or NULL
    const char *tasks;           // DIR of DIR/<subset>/**/*.json, or NULL
    const char *subsets;         // comma-separated, in processing order
    const char *test_set;        // the subset whose test pairs form the test split
    int num_aug;
    uint32_t seed;
    int max_grid;                // canvas side, <= 30
    const char *out;
    bool progress;               // a progress line on stderr
    // Ours: hold out the last demonstration of each test task (with >= 2) as a validation
    // split (DIR/valid, valid_puzzles.json) for model selection without the test set.
    // Augmentations are drawn as without it; the train split then lacks those pairs.
    bool valid_demos;
} ArcBuildOptions;

typedef struct {
    int64_t train_rows, test_rows, valid_rows, train_puzzles, test_puzzles, valid_puzzles, identifiers;
    int tasks, test_tasks, skipped_tasks, short_tasks;   // short: fewer copies than asked
} ArcBuildStats;

void arc_build_defaults(ArcBuildOptions *o);
int arc_build(const ArcBuildOptions *o, ArcBuildStats *stats, char *err);

#endif
