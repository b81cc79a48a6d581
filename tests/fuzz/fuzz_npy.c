// fuzz_npy.c: npy_map (io/npy.c) on any bytes, asked for each dtype and rank the dataset
// reader asks for, with and without a known column count; an accepted array is read to
// its last byte (it is a mapping of the file: a wrong size would fault past its end).
#include "fuzz.h"
#include "io/npy.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *path = fuzz_file("array.npy", data, size), err[ERR_LEN];
    static const NpyDtype dtypes[3] = { NPY_U8, NPY_I32, NPY_F32 };
    static const int64_t cols[2] = { -1, 3 };
    for (int d = 0; d < 3; d++)
        for (int ndim = 1; ndim <= 2; ndim++)
            for (int w = 0; w < 2; w++) {
                NpyArray a;
                int64_t want[2] = { -1, cols[w] };
                err[0] = 0;
                int rc = npy_map(&a, path, dtypes[d], ndim, w ? want : NULL, err);
                fuzz_result(rc, err, path);
                size_t bytes = (size_t)a.numel * (dtypes[d] == NPY_U8 ? 1 : 4);
                volatile uint8_t sum = 0;
                for (size_t i = 0; i < bytes; i++) sum += ((const uint8_t *)a.data)[i];
                npy_unmap(&a);
            }
    free(path);
    return 0;
}
