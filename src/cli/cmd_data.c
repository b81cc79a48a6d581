// trm data: generate a data set as text files (DIR/train.txt, DIR/test.txt).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "io/dataset_dir.h"
#include "tasks/arc.h"
#include "tasks/nqueens.h"

#define DATA_USAGE "usage: trm data nqueens --split paper|dedup --seed S --out DIR [--no-augment] [--layout text|npy]\n" \
                   "       trm data arc --kaggle PREFIX | --tasks DIR [--subsets training,evaluation,concept]\n" \
                   "                    [--test-set evaluation] [--num-aug 1000] [--seed 42] [--max-grid 30] [--valid-demos] --out DIR"

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

int cmd_data(int argc, char **argv) {
    if (argc < 1 || argv[0][0] == '-') {
        if (argc >= 1 && args_wants_help(argc, argv)) {
            printf("%s\n", DATA_USAGE);
            return 2;
        }
        return fail("%s", DATA_USAGE);
    }
    if (!strcmp(argv[0], "arc")) return data_arc(argc - 1, argv + 1);
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
    if (strcmp(task, "nqueens")) return fail("unknown data set '%s' (available: nqueens, arc)", task);
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
