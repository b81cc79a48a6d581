// fuzz_sudoku_csv.c: the sapientinc Sudoku CSV (tasks/puzzle_io.c, sudoku.c) through the
// builder, as `trm data sudoku` calls it: the file as training and test CSV with a
// validation row, one shuffled copy per board and a subsample; then again filtered by
// rating (--min-difficulty), which reads every rating as an integer.
#include "fuzz.h"
#include "tasks/sudoku.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *path = fuzz_file("sudoku.csv", data, size), err[ERR_LEN];
    SudokuBuildOptions opts[2] = {
        { .csv = path, .test_csv = path, .subsample = 2, .min_difficulty = -1, .valid_count = 1, .num_aug = 1 },
        { .csv = path, .min_difficulty = 1, .seed = 7 },
    };
    for (int k = 0; k < 2; k++) {
        Dataset train, test, valid;
        err[0] = 0;
        int rc = sudoku_build(&opts[k], &train, &test, &valid, err);
        fuzz_result(rc, err, path);
        // The reader keeps only answers that keep their givens; the shuffles must too.
        for (int64_t i = 0; !rc && i < train.n; i++)
            if (!sudoku_consistent(train.inputs + i * SUDOKU_CELLS, train.labels + i * SUDOKU_CELLS)) {
                fprintf(stderr, "fuzz: sudoku_build row %lld changes a given of its question\n", (long long)i);
                abort();
            }
        dataset_free(&train);
        dataset_free(&test);
        dataset_free(&valid);
    }
    free(path);
    return 0;
}
