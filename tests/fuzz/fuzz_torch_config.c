// fuzz_torch_config.c: the architecture of a torch checkpoint (io/torch_config.c): the
// all_config.yaml reader (yaml_parse) and torch_config_load, which maps it and the tensor
// shapes to a config and may read the data folder the yaml names. The input is cut at
// FUZZ_SEP into: the yaml, <data>/train/dataset.json, <data>/identifiers.json (for a yaml
// whose data_paths is [puzzles]), and the checkpoint's tensors, one "name dim dim ..."
// per line (only their names and shapes are read).
#include "fuzz.h"
#include "io/torch_config.h"

#include <stdlib.h>
#include <string.h>

// The tensor lines into t[0..n) (names point into text, which is cut up).
static int parse_tensors(char *text, StTensor *t, int max) {
    int n = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save)) {
        char *tok_save = NULL, *name = strtok_r(line, " ", &tok_save);
        if (!name) continue;
        StTensor x = { .name = name, .dtype = ST_F32, .numel = 1 };
        for (char *d; x.ndim < ST_MAX_DIMS && (d = strtok_r(NULL, " ", &tok_save));)
            x.shape[x.ndim++] = strtoll(d, NULL, 10) & (((int64_t)1 << 40) - 1);
        t[n++] = x;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *part[4];
    size_t len[4];
    int parts = fuzz_split(data, size, part, len, 4);
    static const char *const FILES[3] = { "cfg/all_config.yaml", "cfg/puzzles/train/dataset.json",
                                          "cfg/puzzles/identifiers.json" };
    char *path = fuzz_file(FILES[0], part[0], len[0]);
    for (int i = 1; i < 3; i++) free(fuzz_file(FILES[i], i < parts ? part[i] : NULL, i < parts ? len[i] : 0));
    char *tensors = parts > 3 ? fuzz_text(part[3], len[3]) : NULL, err[ERR_LEN] = "";
    StTensor t[64];
    int n = tensors ? parse_tensors(tensors, t, 64) : 0;

    char *text = fuzz_text(part[0], len[0]);
    Yaml y;
    int rc = yaml_parse(&y, text, path, err);
    fuzz_result(rc, err, path);
    if (!rc) {
        yaml_get(&y, "arch.name");
        yaml_free(&y);
    }
    free(text);

    TRMConfig c;
    char *ts = NULL;
    err[0] = 0;
    rc = torch_config_load(path, t, n, &c, &ts, err);
    fuzz_result(rc, err, fuzz_dir());
    free(ts);
    free(tensors);
    free(path);
    return 0;
}
