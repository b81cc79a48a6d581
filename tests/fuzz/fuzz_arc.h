// fuzz_arc.h: what the two ARC targets share: the official builder (tasks/arc.c) run on
// the fuzzed files, and what it writes read back by the readers of a dataset folder.
#ifndef TRM_FUZZ_ARC_H
#define TRM_FUZZ_ARC_H

#include "eval/arc_vote.h"
#include "fuzz.h"
#include "io/dataset_dir.h"
#include "tasks/arc.h"

#include <stdio.h>
#include <stdlib.h>

// Builds into <scratch>/out with one augmented copy and a validation split (the most
// code), on a 30 x 30 canvas and on a 5 x 5 one (tasks skipped, translations bounded).
// What the builder accepts, the trainer and the evaluator must read back: a build that
// does not load is a bug of the builder, and aborts.
static void fuzz_arc_build(ArcBuildOptions *o) {
    char *out = path_join(fuzz_dir(), "out"), err[ERR_LEN];
    static const int grids[2] = { ARC_MAX, 5 };
    for (int g = 0; g < 2; g++) {
        ArcBuildStats st;
        o->subsets = "training", o->test_set = "training", o->num_aug = 1, o->seed = 42;
        o->max_grid = grids[g], o->valid_demos = true, o->out = out;
        err[0] = 0;
        int rc = arc_build(o, &st, err);
        fuzz_result(rc, err, NULL);   // "no task fits --max-grid 5" names no one file
        for (int d = 0; d < 3 && !rc; d++) {
            static const char *const splits[3] = { "train", "test", "valid" };
            Dataset ds;
            DatasetMeta meta;
            if (dataset_dir_load(out, splits[d], &ds, &meta, err)) {
                fprintf(stderr, "fuzz: arc_build wrote a %s split that does not load: %s\n", splits[d], err);
                abort();
            }
            dataset_free(&ds);
        }
        char *tp = path_join(out, "test_puzzles.json");
        ArcTestSet ts;
        if (!rc && arc_testset_load(&ts, tp, err)) {
            fprintf(stderr, "fuzz: arc_build wrote a test_puzzles.json that does not load: %s\n", err);
            abort();
        }
        if (!rc) arc_testset_free(&ts);
        free(tp);
    }
    free(out);
}

#endif
