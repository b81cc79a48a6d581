// torch_ckpt.h: read the state_dict files that torch.save writes (PyTorch >= 1.6), in C,
// without running any of the pickle they contain.
//
// The file is a zip archive (every entry STORED, 64-byte aligned):
//     <root>/data.pkl       the pickled OrderedDict name -> tensor (protocol 2)
//     <root>/data/<key>     one raw storage per key, little-endian
//     <root>/version, <root>/byteorder (PyTorch >= 2.1), <root>/.data/...
// Each tensor is pickled as _rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
// hooks) where storage is a persistent id ('storage', <torch.FloatStorage>, key, location,
// numel). The unpickler here is a small stack machine that knows exactly the opcodes and
// the five globals such a file needs (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// torch.{Float,BFloat16,Half,Double}Storage) and refuses everything else by name, so a
// hostile file gets an error, never code execution or a crash. Compressed entries, ZIP64
// archives (over 4 GB) and big-endian storages are refused with a message that says so.
#ifndef TRM_TORCH_CKPT_H
#define TRM_TORCH_CKPT_H

#include <stdbool.h>

#include "safetensors.h"

// The tensors of a state_dict in the file's order, as StTensor (F32, BF16, F16 or F64),
// so st_to_real reads them. Contiguous tensors point into buf; strided views are gathered
// into owned copies.
typedef struct {
    char *path;
    uint8_t *buf;           // the whole file
    size_t size;
    StTensor *tensors;
    int n;
    uint8_t **owned;        // gathered copies of non-contiguous tensors
    int n_owned;
} TorchCkpt;

// Does the file start like a zip archive (PK\3\4)? False when it cannot be read.
bool torch_is_zip(const char *path);
// Does it start like the legacy (before PyTorch 1.6) torch.save format, a bare pickle
// of torch's magic number? Those files are refused with advice.
bool torch_is_legacy(const char *path);
// Loads and validates path. On failure -1, *tc zeroed (torch_free is still safe) and one
// line starting with the path in err.
int torch_load(TorchCkpt *tc, const char *path, char *err);
void torch_free(TorchCkpt *tc);

// The zip layer, exposed for tests that take archives apart and build bad ones.
typedef struct {
    char *name;
    const uint8_t *data;    // into the archive buffer
    size_t size;
} ZipEntry;
// Every entry of the central directory, checked (STORED, CRC-32, inside the file). On
// failure -1 and a message without the path in msg.
int zip_entries(const uint8_t *buf, size_t size, ZipEntry **entries, int *n, char *msg);
void zip_entries_free(ZipEntry *entries, int n);
uint32_t zip_crc32(const uint8_t *p, size_t n);

#endif
