// safetensors.h: read and write the safetensors format (the Hugging Face tensor file).
//
// Layout: an 8-byte little-endian u64 N, then N bytes of a UTF-8 JSON object, then the
// data section. Each JSON entry maps a tensor name to
//     {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
// with offsets relative to the data section; an optional "__metadata__" entry holds an
// object of string -> string.
//
// The loader reads the whole file into memory and validates every header field before
// handing out tensors, so a corrupt or hostile file yields an error, never a crash.
#ifndef TRM_SAFETENSORS_H
#define TRM_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common.h"

#define ST_MAX_DIMS 8

typedef enum { ST_F64, ST_F32, ST_BF16, ST_F16, ST_I64, ST_I32, ST_U8, ST_BOOL } StDtype;

typedef struct {
    char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t nbytes;
    const uint8_t *data;    // points into SafeTensors.buf; may be unaligned
    int64_t numel;          // 1 for a 0-d scalar, 0 when any dimension is 0
} StTensor;

typedef struct {
    char *path;
    uint8_t *buf;           // the whole file
    size_t size;
    StTensor *tensors;      // in header order
    int n;
    cJSON *metadata;        // the parsed __metadata__ object, or NULL
} SafeTensors;

// Loads and validates path. On failure returns -1, leaves *st zeroed (st_free is still
// safe to call) and writes one line starting with the path into err (ERR_LEN bytes).
int st_load(SafeTensors *st, const char *path, char *err);
void st_free(SafeTensors *st);
const StTensor *st_find(const SafeTensors *st, const char *name);   // NULL if absent
const char *st_meta(const SafeTensors *st, const char *key);         // NULL if absent

const char *st_dtype_name(StDtype d);   // "F32", ...
size_t st_dtype_size(StDtype d);        // bytes per element
int st_dtype_parse(const char *s, StDtype *d);   // 0, or -1 for an unknown name

// Converts a tensor's values into out[0..n); n must equal t->numel.
int st_to_real(const StTensor *t, real *out, int64_t n, char *err);     // F64, F32, BF16, F16
int st_to_i32(const StTensor *t, int32_t *out, int64_t n, char *err);   // I32, I64, U8, BOOL

// Writing. Tensors are added by pointer: the caller keeps their data alive until
// st_writer_save. Argument errors (duplicate name, ndim > 8, ...) are remembered and
// reported by st_writer_save, so callers can add a whole model and check once.
typedef struct StWriter StWriter;
StWriter *st_writer_new(void);
void st_writer_meta(StWriter *w, const char *key, const char *value);   // replaces an earlier key
void st_writer_add(StWriter *w, const char *name, StDtype dtype, int ndim,
                   const int64_t *shape, const void *data);
// Stored as F32: by pointer when real is float, as a converted copy when it is double.
void st_writer_add_real(StWriter *w, const char *name, int ndim, const int64_t *shape,
                        const real *data);
// Writes path.tmp.<pid>, flushes and fsyncs it, renames it over path and fsyncs the
// folder, so readers, and a crash at any moment, see either the old file or the complete
// new one. On failure the temp file is removed and path is left as it was.
int st_writer_save(StWriter *w, const char *path, char *err);
void st_writer_free(StWriter *w);

#endif
