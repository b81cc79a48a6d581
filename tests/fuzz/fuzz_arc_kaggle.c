// fuzz_arc_kaggle.c: a Kaggle challenges file and its solutions (cut at FUZZ_SEP; without
// a second part there is no solutions file, as for the hidden test set) through trm
// solve's reader (arc_tasks_load --solutions, eval/arc_solve.c) and the builder's
// (--kaggle PREFIX, tasks/arc.c).
#include "fuzz_arc.h"

#include "eval/arc_solve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *part[2];
    size_t len[2];
    int parts = fuzz_split(data, size, part, len, 2);
    char *ch = fuzz_file("k_training_challenges.json", part[0], len[0]);
    char *sol = fuzz_file("k_training_solutions.json", parts > 1 ? part[1] : NULL, parts > 1 ? len[1] : 0);
    char err[ERR_LEN] = "";
    ArcTask *tasks;
    int n;
    bool kaggle;
    int rc = arc_tasks_load(ch, parts > 1 ? sol : NULL, parts > 1, &tasks, &n, &kaggle, err);
    fuzz_result(rc, err, fuzz_dir());
    arc_tasks_free(tasks, n);

    ArcBuildOptions o;
    arc_build_defaults(&o);
    char *prefix = path_join(fuzz_dir(), "k");
    o.kaggle = prefix;
    fuzz_arc_build(&o);
    free(prefix);
    free(ch);
    free(sol);
    return 0;
}
