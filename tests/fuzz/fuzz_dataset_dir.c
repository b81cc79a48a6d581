// fuzz_dataset_dir.c: the official dataset folder (io/dataset_dir.c): dataset_dir_load on
// DIR/train, and identifiers_load on DIR, whose names trm eval parses as ARC copies
// (arc_name_parse). The input holds the folder's files cut at FUZZ_SEP in this order:
// dataset.json, the five arrays, identifiers.json (a missing part is a missing file).
#include "fuzz.h"
#include "io/dataset_dir.h"
#include "tasks/arc_grid.h"

#include <stdlib.h>

static const char *const FILES[7] = {
    "d/train/dataset.json", "d/train/all__inputs.npy", "d/train/all__labels.npy",
    "d/train/all__puzzle_identifiers.npy", "d/train/all__puzzle_indices.npy",
    "d/train/all__group_indices.npy", "d/identifiers.json",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *part[7];
    size_t len[7];
    int n = fuzz_split(data, size, part, len, 7);
    for (int i = 0; i < 7; i++) free(fuzz_file(FILES[i], i < n ? part[i] : NULL, i < n ? len[i] : 0));
    char *dir = path_join(fuzz_dir(), "d"), err[ERR_LEN] = "";
    Dataset ds;
    DatasetMeta meta;
    if (dataset_dir_exists(dir, "train")) {
        int rc = dataset_dir_load(dir, "train", &ds, &meta, err);
        fuzz_result(rc, err, dir);
        if (!rc) {   // what the sampler reads: every example's row and puzzle
            volatile int64_t sum = 0;
            for (int64_t e = 0; e < ds.n; e++)
                sum += ds.inputs[e * ds.seq_len] + ds.labels[(e + 1) * ds.seq_len - 1] + ds.puzzle_ids[e];
            for (int64_t g = 0; g < ds.num_groups; g++)
                for (int32_t p = ds.group_index[g]; p < ds.group_index[g + 1]; p++)
                    sum += ds.identifiers[p] + ds.puzzle_index[p + 1] - ds.puzzle_index[p];
            dataset_free(&ds);
        }
    }
    char **names;
    int64_t count;
    err[0] = 0;
    int rc = identifiers_load(dir, &names, &count, err);
    fuzz_result(rc, err, dir);
    for (int64_t i = 0; i < count; i++) {   // as trm eval reads ARC names (tasks/arc_grid.c)
        char task[256];
        int k;
        uint8_t map[10];
        arc_name_parse(names[i], task, sizeof task, &k, map);
    }
    identifiers_free(names, count);
    free(dir);
    return 0;
}
