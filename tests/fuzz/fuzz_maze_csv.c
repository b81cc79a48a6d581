// fuzz_maze_csv.c: the sapientinc maze CSV (tasks/puzzle_io.c, maze.c) through the
// builder, as `trm data maze --csv` calls it: the file as training and test CSV with the
// 8 dihedral copies and a subsample, then alone.
#include "fuzz.h"
#include "tasks/maze.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *path = fuzz_file("maze.csv", data, size), err[ERR_LEN];
    MazeBuildOptions opts[2] = {
        { .csv = path, .test_csv = path, .subsample = 1, .aug = true },
        { .csv = path },
    };
    for (int k = 0; k < 2; k++) {
        Dataset train, test, valid;
        int side = 0;
        err[0] = 0;
        int rc = maze_build(&opts[k], &train, &test, &valid, &side, err);
        fuzz_result(rc, err, path);
        for (int64_t i = 0; !rc && i < train.n; i++) {   // every accepted answer is a shortest path
            int L = side * side;
            if (maze_explain(train.inputs + i * L, train.labels + i * L, side, err)) {
                fprintf(stderr, "fuzz: maze_build accepted row %lld whose answer is wrong: %s\n", (long long)i, err);
                abort();
            }
        }
        dataset_free(&train);
        dataset_free(&test);
        dataset_free(&valid);
    }
    free(path);
    return 0;
}
