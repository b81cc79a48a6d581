// npy.h: NumPy .npy files (format 1.0), as np.save writes them and the official TRM
// datasets store their arrays: "\x93NUMPY", version 1.0, a little-endian u16 header
// length, then a Python dict literal
//     {'descr': '<i4', 'fortran_order': False, 'shape': (961,), }
// padded with spaces and ended by '\n' so that the data starts at a multiple of 64
// bytes (numpy >= 1.?? alignment; a 128-byte preamble for every array the builders
// write), then the C-order data.
//
// Reading maps the file (mmap, read-only): a 4-million-row ARC build is gigabytes and
// is never parsed or copied. Every header field is validated before the data is
// touched, and the file size must equal header + product(shape) * itemsize.
#ifndef TRM_NPY_H
#define TRM_NPY_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "common.h"

typedef enum { NPY_U8, NPY_I32, NPY_F32 } NpyDtype;   // '|u1' (also accepted: '<u1'), '<i4', '<f4'

#define NPY_MAX_DIMS 2

typedef struct {
    NpyDtype dtype;
    int ndim;                    // 1 or 2
    int64_t shape[NPY_MAX_DIMS];
    int64_t numel;
    const void *data;            // into the mapping; 64-byte aligned offset in the file
    void *map;                   // the whole mapping (NULL for an empty file's data)
    size_t map_len;
} NpyArray;

// Maps and validates path; the caller states what it expects (dtype and ndim; -1 for
// any dimension's size it does not know). On failure: -1, *a zeroed, one line in err
// naming the file and the defect (bad magic, unsupported version, malformed header,
// wrong dtype, fortran order, wrong ndim or shape, size that does not match).
int npy_map(NpyArray *a, const char *path, NpyDtype dtype, int ndim, const int64_t *want_shape,
            char *err);
void npy_unmap(NpyArray *a);

// Writes an array exactly as numpy 1.24's np.save (format 1.0, the same header bytes),
// through a temporary file renamed over path: byte-identical to the official builder.
int npy_write(const char *path, NpyDtype dtype, int ndim, const int64_t *shape, const void *data,
              char *err);

// Streaming writes, for arrays larger than memory (a full ARC build): the shape is known
// up front, rows are appended, and npy_stream_close checks the count, fsyncs and renames
// the temporary file over path (abort: removes it, path untouched).
typedef struct {
    FILE *f;
    char *path, *tmp;
    size_t expect, written;      // data bytes
} NpyStream;
int npy_stream_open(NpyStream *s, const char *path, NpyDtype dtype, int ndim, const int64_t *shape,
                    char *err);
int npy_stream_write(NpyStream *s, const void *data, size_t bytes, char *err);
int npy_stream_close(NpyStream *s, char *err);
void npy_stream_abort(NpyStream *s);

#endif
