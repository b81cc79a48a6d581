// fuzz_safetensors.c: st_load (io/safetensors.c) on any bytes, then what callers do with
// an accepted file: look up metadata and tensors by name and convert every tensor.
#include "fuzz.h"
#include "io/safetensors.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *path = fuzz_file("model.safetensors", data, size), err[ERR_LEN] = "";
    SafeTensors st;
    int rc = st_load(&st, path, err);
    fuzz_result(rc, err, path);
    st_meta(&st, "config");
    for (int i = 0; i < st.n; i++) {
        const StTensor *t = &st.tensors[i];
        if (st_find(&st, t->name) != t) abort();   // names are unique in an accepted file
        // numel * element size is the tensor's span of the file: these stay small.
        real *r = xmalloc(sizeof(real) * (size_t)t->numel);
        int32_t *k = xmalloc(sizeof(int32_t) * (size_t)t->numel);
        err[0] = 0;
        rc = st_to_real(t, r, t->numel, err);      // one of the two refuses the dtype
        fuzz_result(rc, err, NULL);
        err[0] = 0;
        rc = st_to_i32(t, k, t->numel, err);
        fuzz_result(rc, err, NULL);
        free(r);
        free(k);
    }
    st_free(&st);
    free(path);
    return 0;
}
