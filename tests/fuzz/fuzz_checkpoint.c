// fuzz_checkpoint.c: a model file (io/checkpoint.c) on any bytes: the safetensors
// reader, the config in its metadata (cfg_from_json) and the match of every tensor to
// the parameter table that checkpoint_load makes before it fills a model.
#include "fuzz.h"
#include "io/checkpoint.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *path = fuzz_file("model.safetensors", data, size), err[ERR_LEN] = "", *ts = NULL;
    Model m;
    int rc = checkpoint_load(&m, path, &ts, err);
    fuzz_result(rc, err, path);
    if (!rc) model_free(&m);
    free(ts);
    free(path);
    return 0;
}
