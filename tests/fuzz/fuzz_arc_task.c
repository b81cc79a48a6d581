// fuzz_arc_task.c: one ARC JSON file through every reader that takes one: a task file or
// a Kaggle challenges file for trm solve (arc_tasks_load, eval/arc_solve.c), the
// test_puzzles.json of a dataset folder (arc_testset_load, eval/arc_vote.c), and a task
// of a --tasks folder for the builder (tasks/arc.c, with arc_grid.c under all three).
#include "fuzz_arc.h"

#include "eval/arc_solve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *path = fuzz_file("tasks/training/0a1b2c3d.json", data, size), err[ERR_LEN] = "";
    ArcTask *tasks;
    int n;
    bool kaggle;
    int rc = arc_tasks_load(path, NULL, false, &tasks, &n, &kaggle, err);
    fuzz_result(rc, err, path);
    for (int i = 0; i < n; i++) {
        arc_task_has_solutions(&tasks[i]);
        err[0] = 0;
        fuzz_result(arc_task_fits(&tasks[i], 10, err), err, NULL);
    }
    arc_tasks_free(tasks, n);

    ArcTestSet ts;
    err[0] = 0;
    rc = arc_testset_load(&ts, path, err);
    fuzz_result(rc, err, path);
    if (!rc) arc_testset_free(&ts);

    ArcBuildOptions o;
    arc_build_defaults(&o);
    char *dir = path_join(fuzz_dir(), "tasks");
    o.tasks = dir;
    fuzz_arc_build(&o);
    free(dir);
    free(path);
    return 0;
}
