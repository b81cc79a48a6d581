// trm data: generate a data set as text files (DIR/train.txt, DIR/test.txt).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "tasks/nqueens.h"

int cmd_data(int argc, char **argv) {
    if (argc < 1 || argv[0][0] == '-') {
        if (argc >= 1 && args_wants_help(argc, argv)) {
            printf("usage: trm data nqueens --split paper|dedup --seed S --out DIR [--no-augment]\n");
            return 2;
        }
        return fail("usage: trm data nqueens --split paper|dedup --seed S --out DIR");
    }
    const char *task = argv[0], *split = "paper", *out = NULL;
    uint64_t seed = 42;
    bool no_augment = false;
    ArgSpec spec[] = {
        { "split", ARG_STR, &split, "paper (as the released code) | dedup (no test input in train under D4)", 0, 0 },
        { "seed", ARG_U64, &seed, "random seed (test uses seed + 1000)", 0, 0 },
        { "out", ARG_STR, &out, "output directory", 0, 0 },
        { "no-augment", ARG_FLAG, &no_augment, "800 training rows instead of 9 dihedral views each", 0, 0 },
    };
    int rc = parse_or_help(argc - 1, argv + 1, "usage: trm data nqueens --split paper|dedup --seed S --out DIR",
                           spec, sizeof spec / sizeof *spec);
    if (rc) return rc;
    if (strcmp(task, "nqueens")) return fail("unknown data set '%s' (available: nqueens)", task);
    if (!out) return fail("--out DIR is required");
    // Checked here as well as in nq_build, so a bad split leaves no empty directory behind.
    if (strcmp(split, "paper") && strcmp(split, "dedup"))
        return fail("--split: unknown N-Queens split '%s' (expected paper or dedup)", split);
    if (make_out_dir(out)) return 1;
    char err[ERR_LEN];
    Dataset train, test;
    if (nq_build(split, seed, !no_augment, &train, &test, err)) return fail("%s", err);
    char path[4096];
    const Task *t = task_find("nqueens");
    snprintf(path, sizeof path, "%s/train.txt", out);
    rc = dataset_save(t, path, &train, err);
    if (!rc) {
        snprintf(path, sizeof path, "%s/test.txt", out);
        rc = dataset_save(t, path, &test, err);
    }
    if (!rc) printf("%s: %d training rows, %d test puzzles (split %s, seed %llu)\n", out, train.n, test.n,
                    split, (unsigned long long)seed);
    dataset_free(&train);
    dataset_free(&test);
    return rc ? fail("%s", err) : 0;
}
