// trm data: generate a data set as text files (DIR/train.txt, DIR/test.txt).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "io/dataset_dir.h"
#include "tasks/arc.h"
#include "tasks/maze.h"
#include "tasks/nqueens.h"
#include "tasks/puzzle_io.h"
#include "tasks/sudoku.h"

#define DATA_USAGE "usage: trm data nqueens --split paper|dedup --seed S --out DIR [--no-augment] [--layout text|npy]\n" \
                   "       trm data arc --kaggle PREFIX | --tasks DIR [--subsets training,evaluation,concept]\n" \
                   "                    [--test-set evaluation] [--num-aug 1000] [--seed 42] [--max-grid 30] [--valid-demos] --out DIR\n" \
                   "       trm data sudoku --csv TRAIN.csv [--test-csv TEST.csv] [--subsample N] [--num-aug 0] [--seed 0] --out DIR\n" \
                   "       trm data maze [--size 30] [--min-path 110] [--count 1000] [--test-count 1000] [--seed 0] --out DIR\n" \
                   "       trm data maze --csv TRAIN.csv [--test-csv TEST.csv] [--aug] --out DIR"

// trm data arc: the official ARC builder (tasks/arc.h), bit for bit.
static int data_arc(int argc, char **argv) {
    ArcBuildOptions o;
    arc_build_defaults(&o);
    uint64_t seed = o.seed;
    int num_aug = o.num_aug, max_grid = o.max_grid;
    bool quiet = false;
    ArgSpec spec[] = {
        { "kaggle", ARG_STR, &o.kaggle, "PREFIX of PREFIX_<subset>_challenges.json / _solutions.json", 0, 0 },
        { "tasks", ARG_STR, &o.tasks, "DIR of per-task JSON files, DIR/<subset>/**/*.json (sorted by path)", 0, 0 },
        { "subsets", ARG_STR, &o.subsets, "comma-separated subsets, in processing order", 0, 0 },
        { "test-set", ARG_STR, &o.test_set, "the subset whose test pairs form the test split", 0, 0 },
        { "num-aug", ARG_INT, &num_aug, "augmented copies per task (dihedral x colour permutation)", 0, 100000 },
        { "seed", ARG_U64, &seed, "numpy seed of the shuffles, augmentations and translations", 0, 4294967295.0 },
        { "max-grid", ARG_INT, &max_grid, "keep tasks whose grids fit G x G; canvas G x G (extension)", 1, 30 },
        { "out", ARG_STR, &o.out, "output directory (the official layout)", 0, 0 },
        { "valid-demos", ARG_FLAG, &o.valid_demos, "hold out each test task's last demonstration as a validation "
                                                   "split (ours; changes the train split)", 0, 0 },
        { "quiet", ARG_FLAG, &quiet, "no progress line", 0, 0 },
    };
    int rc = parse_or_help(argc, argv, DATA_USAGE, spec, sizeof spec / sizeof *spec);
    if (rc) return rc;
    if (!o.out) return fail("--out DIR is required");
    if (!o.kaggle == !o.tasks) return fail("give exactly one of --kaggle PREFIX or --tasks DIR");
    o.seed = (uint32_t)seed;
    o.num_aug = num_aug;
    o.max_grid = max_grid;
    o.progress = !quiet;
    char err[ERR_LEN];
    ArcBuildStats st;
    double t0 = now_seconds();
    if (arc_build(&o, &st, err)) return fail("%s", err);
    printf("%s: %d tasks (%d test, %d skipped by --max-grid %d, %d with fewer than %d copies), "
           "%lld train rows in %lld puzzles, %lld test rows in %lld puzzles, ", o.out, st.tasks, st.test_tasks,
           st.skipped_tasks, o.max_grid, st.short_tasks, o.num_aug, (long long)st.train_rows,
           (long long)st.train_puzzles, (long long)st.test_rows, (long long)st.test_puzzles);
    if (o.valid_demos) printf("%lld validation rows, ", (long long)st.valid_rows);
    printf("%lld identifiers, %.1f s\n", (long long)st.identifiers, now_seconds() - t0);
    return 0;
}

// The splits that have rows, in the official directory with one shared puzzle embedding.
static int save_splits(const char *out, Dataset *train, Dataset *test, Dataset *valid, int vocab, char *err) {
    const char *names[3] = { "train" };
    const Dataset *splits[3] = { train };
    int k = 1;
    if (test->n) names[k] = "test", splits[k++] = test;
    if (valid->n) names[k] = "valid", splits[k++] = valid;
    return puzzle_dir_save(out, names, splits, k, vocab, err);
}

static void free_splits(Dataset *train, Dataset *test, Dataset *valid) {
    dataset_free(train);
    dataset_free(test);
    dataset_free(valid);
}

// trm data sudoku: the official Sudoku-Extreme builder (tasks/sudoku.h) on sapientinc CSV files.
static int data_sudoku(int argc, char **argv) {
    SudokuBuildOptions o = { .min_difficulty = -1 };
    const char *out = NULL;
    uint64_t seed = 0;
    ArgSpec spec[] = {
        { "csv", ARG_STR, &o.csv, "training puzzles: a CSV source,question,answer,rating (train.csv)", 0, 0 },
        { "test-csv", ARG_STR, &o.test_csv, "test puzzles, the same format (test.csv); none: no test split", 0, 0 },
        { "subsample", ARG_LONG, &o.subsample, "keep this many training puzzles at random (0: all; the 1k set: 1000)", 0, 1e12 },
        { "min-difficulty", ARG_LONG, &o.min_difficulty, "keep puzzles rated at least this (-1: all)", -1, 1e12 },
        { "num-aug", ARG_INT, &o.num_aug, "shuffled copies per training puzzle (the paper: 1000)", 0, 100000 },
        { "test-count", ARG_LONG, &o.test_count, "test puzzles: this many after the validation ones (0: the rest)", 0, 1e12 },
        { "valid-count", ARG_LONG, &o.valid_count, "the first this many test-CSV puzzles form DIR/valid (ours)", 0, 1e12 },
        { "seed", ARG_U64, &seed, "numpy seed of the subsample and the shuffles", 0, 4294967295.0 },
        { "out", ARG_STR, &out, "output directory (the official layout)", 0, 0 },
    };
    int rc = parse_or_help(argc, argv, DATA_USAGE, spec, sizeof spec / sizeof *spec);
    if (rc) return rc;
    if (!o.csv) return fail("--csv FILE is required (the sapientinc train.csv)");
    if (!out) return fail("--out DIR is required");
    o.seed = (uint32_t)seed;
    char err[ERR_LEN];
    Dataset train, test, valid;
    if (sudoku_build(&o, &train, &test, &valid, err)) return fail("%s", err);
    rc = make_out_dir(out);
    if (!rc && save_splits(out, &train, &test, &valid, SUDOKU_VOCAB, err)) rc = fail("%s", err);
    if (!rc)
        printf("%s: %lld training rows in %lld groups, %lld test puzzles, %lld validation puzzles (seed %llu)\n", out,
               (long long)train.n, (long long)train.num_groups, (long long)test.n, (long long)valid.n,
               (unsigned long long)seed);
    free_splits(&train, &test, &valid);
    return rc;
}

// Was --name given? (Options that only one of two modes takes.)
static bool given(int argc, char **argv, const char *name) {
    size_t k = strlen(name);
    for (int i = 0; i < argc; i++)
        if (!strncmp(argv[i], "--", 2) && !strncmp(argv[i] + 2, name, k) && (!argv[i][2 + k] || argv[i][2 + k] == '='))
            return true;
    return false;
}

// trm data maze: mazes of the Maze-Hard kind, generated or read from sapientinc CSV files.
static int data_maze(int argc, char **argv) {
    MazeBuildOptions o = { .size = 30, .min_path = 110, .count = 1000, .test_count = 1000 };
    const char *out = NULL;
    bool csv_out = false;
    ArgSpec spec[] = {
        { "size", ARG_INT, &o.size, "generated: the grid's side", MAZE_MIN, MAZE_MAX },
        { "min-path", ARG_INT, &o.min_path, "generated: every shortest path is longer than this (steps)", 0, 1e6 },
        { "count", ARG_LONG, &o.count, "generated: training mazes", 1, 1e7 },
        { "test-count", ARG_LONG, &o.test_count, "generated: test mazes", 0, 1e7 },
        { "valid-count", ARG_LONG, &o.valid_count, "generated: validation mazes (DIR/valid, ours)", 0, 1e7 },
        { "seed", ARG_U64, &o.seed, "generated: seed (test seed + 1000, valid seed + 2000); CSV: numpy seed of --subsample", 0, 4294967295.0 },
        { "csv", ARG_STR, &o.csv, "read the training mazes from a CSV source,question,answer,rating instead", 0, 0 },
        { "test-csv", ARG_STR, &o.test_csv, "CSV: the test mazes", 0, 0 },
        { "subsample", ARG_LONG, &o.subsample, "CSV: keep this many training mazes at random (0: all)", 0, 1e12 },
        { "aug", ARG_FLAG, &o.aug, "training mazes as their 8 dihedral views (the official aug=True; the paper's runs)", 0, 0 },
        { "csv-out", ARG_FLAG, &csv_out, "also write DIR/train.csv, test.csv (and valid.csv) in the sapientinc format", 0, 0 },
        { "out", ARG_STR, &out, "output directory (the official layout)", 0, 0 },
    };
    int rc = parse_or_help(argc, argv, DATA_USAGE, spec, sizeof spec / sizeof *spec);
    if (rc) return rc;
    if (!out) return fail("--out DIR is required");
    static const char *const GENERATED[] = { "size", "min-path", "count", "test-count", "valid-count" };
    for (int i = 0; i < 5 && o.csv; i++)
        if (given(argc, argv, GENERATED[i])) return fail("--%s is for generated mazes, not with --csv", GENERATED[i]);
    if (!o.csv && (o.test_csv || o.subsample)) return fail("--test-csv and --subsample go with --csv FILE");
    if (o.csv) o.test_count = 0;
    char err[ERR_LEN];
    Dataset train, test, valid;
    int n;
    if (maze_build(&o, &train, &test, &valid, &n, err)) return fail("%s", err);
    rc = make_out_dir(out);
    if (!rc && save_splits(out, &train, &test, &valid, MAZE_VOCAB, err)) rc = fail("%s", err);
    const Dataset *splits[3] = { &train, &test, &valid };
    static const char *const CSV[3] = { "train.csv", "test.csv", "valid.csv" };
    for (int k = 0; k < 3 && !rc && csv_out; k++) {
        char *p = path_join(out, CSV[k]);
        if (splits[k]->n && maze_csv_save(p, splits[k], n, err)) rc = fail("%s", err);
        free(p);
    }
    if (!rc)
        printf("%s: %d x %d mazes (task %s), %lld training rows in %lld groups, %lld test, %lld validation\n", out, n,
               n, maze_task(n)->name, (long long)train.n, (long long)train.num_groups, (long long)test.n,
               (long long)valid.n);
    free_splits(&train, &test, &valid);
    return rc;
}

int cmd_data(int argc, char **argv) {
    if (argc < 1 || argv[0][0] == '-') {
        if (argc >= 1 && args_wants_help(argc, argv)) {
            printf("%s\n", DATA_USAGE);
            return 2;
        }
        return fail("%s", DATA_USAGE);
    }
    if (!strcmp(argv[0], "arc")) return data_arc(argc - 1, argv + 1);
    if (!strcmp(argv[0], "sudoku")) return data_sudoku(argc - 1, argv + 1);
    if (!strcmp(argv[0], "maze")) return data_maze(argc - 1, argv + 1);
    const char *task = argv[0], *split = "paper", *out = NULL, *layout = "text";
    uint64_t seed = 42;
    bool no_augment = false;
    ArgSpec spec[] = {
        { "split", ARG_STR, &split, "paper (as the released code) | dedup (no test input in train under D4)", 0, 0 },
        { "seed", ARG_U64, &seed, "random seed (test uses seed + 1000)", 0, 0 },
        { "out", ARG_STR, &out, "output directory", 0, 0 },
        { "no-augment", ARG_FLAG, &no_augment, "800 training rows instead of 9 dihedral views each", 0, 0 },
        { "layout", ARG_STR, &layout, "text (train.txt, test.txt) | npy (the official TRM dataset directory)", 0, 0 },
    };
    int rc = parse_or_help(argc - 1, argv + 1, DATA_USAGE,
                           spec, sizeof spec / sizeof *spec);
    if (rc) return rc;
    if (strcmp(task, "nqueens")) return fail("unknown data set '%s' (available: nqueens, arc, sudoku, maze)", task);
    if (!out) return fail("--out DIR is required");
    // Checked here as well as in nq_build, so a bad split leaves no empty directory behind.
    if (strcmp(split, "paper") && strcmp(split, "dedup"))
        return fail("--split: unknown N-Queens split '%s' (expected paper or dedup)", split);
    bool npy = !strcmp(layout, "npy");
    if (!npy && strcmp(layout, "text")) return fail("--layout: '%s' (expected text or npy)", layout);
    if (make_out_dir(out)) return 1;
    char err[ERR_LEN];
    Dataset train, test, valid;
    if (nq_build(split, seed, !no_augment, &train, &test, err)) return fail("%s", err);
    if (nq_build_valid(seed, &train, &test, &valid, err)) {
        dataset_free(&train);
        dataset_free(&test);
        return fail("%s", err);
    }
    char path[4096];
    const Task *t = task_find("nqueens");
    if (npy) {       // one shared puzzle embedding: every example has the blank id 0
        char *blank[1] = { "<blank>" };
        DatasetMeta mt = dataset_meta_of(&train, t->vocab, 1), ms = dataset_meta_of(&test, t->vocab, 1);
        DatasetMeta mv = dataset_meta_of(&valid, t->vocab, 1);
        rc = dataset_dir_save(out, "train", &train, &mt, err);
        if (!rc) rc = dataset_dir_save(out, "test", &test, &ms, err);
        if (!rc) rc = dataset_dir_save(out, "valid", &valid, &mv, err);
        if (!rc) rc = identifiers_save(out, blank, 1, err);
    } else {
        snprintf(path, sizeof path, "%s/train.txt", out);
        rc = dataset_save(t, path, &train, err);
        if (!rc) {
            snprintf(path, sizeof path, "%s/test.txt", out);
            rc = dataset_save(t, path, &test, err);
        }
        if (!rc) {
            snprintf(path, sizeof path, "%s/valid.txt", out);
            rc = dataset_save(t, path, &valid, err);
        }
    }
    if (!rc) printf("%s: %lld training rows, %lld test puzzles, %lld validation puzzles (split %s, seed %llu, "
                    "layout %s)\n", out, (long long)train.n, (long long)test.n, (long long)valid.n, split,
                    (unsigned long long)seed, layout);
    dataset_free(&train);
    dataset_free(&test);
    dataset_free(&valid);
    return rc ? fail("%s", err) : 0;
}
