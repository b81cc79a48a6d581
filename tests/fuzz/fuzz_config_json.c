// fuzz_config_json.c: the model config JSON of a model file's metadata (cfg_from_json,
// nn/config.c) on any text. An accepted config must survive cfg_to_json and back
// unchanged (model files are written that way), and must give a parameter table.
#include "fuzz.h"
#include "nn/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_text(data, size), err[ERR_LEN] = "";
    TRMConfig c, again;
    int rc = cfg_from_json(&c, text, err);
    fuzz_result(rc, err, NULL);
    if (!rc) {
        char *json = cfg_to_json(&c);
        err[0] = 0;
        if (cfg_from_json(&again, json, err) || memcmp(&c, &again, sizeof c)) {
            fprintf(stderr, "fuzz: config does not read back as written: %s (%s)\n", json, err);
            abort();
        }
        free(json);
        ParamTable *table = xmalloc(sizeof *table);
        param_table_build(table, &c);
        free(table);
    }
    free(text);
    return 0;
}
