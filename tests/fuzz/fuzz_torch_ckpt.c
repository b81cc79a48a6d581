// fuzz_torch_ckpt.c: torch_load (io/torch_ckpt.c), the zip archive and the pickle of a
// torch.save file, on any bytes; every tensor of an accepted file is converted as
// checkpoint_load does.
//
// A mutated entry almost never keeps its CRC-32, and the reader rightly stops there; so
// that the fuzzer reaches the pickle, the harness first rewrites the CRC of every entry
// whose central and local headers it can find (the check itself is a unit test's).
#include "fuzz.h"
#include "io/torch_ckpt.h"

#include <stdlib.h>
#include <string.h>

static uint32_t rd(const uint8_t *p, int n) {
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void wr32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

// Follows the end record to the central directory; leaves anything malformed as it is.
static void fix_crcs(uint8_t *b, size_t size) {
    if (size < 22) return;
    size_t e = size - 22;
    while (e > 0 && rd(b + e, 4) != 0x06054b50) e--;
    if (rd(b + e, 4) != 0x06054b50) return;
    size_t q = rd(b + e + 16, 4), count = rd(b + e + 10, 2);
    for (size_t k = 0; k < count && q + 46 <= e && rd(b + q, 4) == 0x02014b50; k++) {
        size_t nlen = rd(b + q + 28, 2), usize = rd(b + q + 24, 4), loff = rd(b + q + 42, 4);
        if (loff + 30 <= size && rd(b + loff, 4) == 0x04034b50) {
            size_t data = loff + 30 + rd(b + loff + 26, 2) + rd(b + loff + 28, 2);
            if (data <= size && usize <= size - data) {
                uint32_t crc = zip_crc32(b + data, usize);
                wr32(b + q + 16, crc);
                wr32(b + loff + 14, crc);
            }
        }
        q += 46 + nlen + rd(b + q + 30, 2) + rd(b + q + 32, 2);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = xmalloc(size);
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    char *path = fuzz_file("model.pt", copy, size), err[ERR_LEN] = "";
    free(copy);
    torch_is_zip(path);
    torch_is_legacy(path);
    TorchCkpt tc;
    int rc = torch_load(&tc, path, err);
    fuzz_result(rc, err, path);
    for (int i = 0; i < tc.n; i++) {   // numel is bounded by the storage, in the file
        const StTensor *t = &tc.tensors[i];
        real *r = xmalloc(sizeof(real) * (size_t)t->numel);
        err[0] = 0;
        fuzz_result(st_to_real(t, r, t->numel, err), err, NULL);
        free(r);
    }
    torch_free(&tc);
    free(path);
    return 0;
}
