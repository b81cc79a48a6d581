// safetensors.c: reader and writer for the safetensors format (see safetensors.h).
// POSIX 2008 for fileno, fsync and nanosleep even under a strict -std=c11.
#define _POSIX_C_SOURCE 200809L
#include "safetensors.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// Tensor bytes are copied between the file and memory as they are, and the format is
// little-endian, so a big-endian host would need byte swapping that is not written.
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

// A header this large is certainly corrupt; the limit keeps a bad length field from
// making us parse (or allocate for) gigabytes of "JSON". The Rust reference uses 100 MB.
#define ST_MAX_HEADER (100u * 1000u * 1000u)
// Larger integers are not exact in the double that cJSON stores numbers in.
#define ST_MAX_JSON_INT 9007199254740992.0   // 2^53

static const char *const dtype_names[] = {"F64", "F32", "BF16", "F16", "I64", "I32", "U8", "BOOL"};
static const size_t dtype_sizes[] = {8, 4, 2, 2, 8, 4, 1, 1};
#define N_DTYPES ((int)(sizeof dtype_names / sizeof dtype_names[0]))

const char *st_dtype_name(StDtype d) {
    return (unsigned)d < (unsigned)N_DTYPES ? dtype_names[d] : "?";
}

size_t st_dtype_size(StDtype d) {
    return (unsigned)d < (unsigned)N_DTYPES ? dtype_sizes[d] : 0;
}

int st_dtype_parse(const char *s, StDtype *d) {
    for (int i = 0; i < N_DTYPES; i++)
        if (strcmp(s, dtype_names[i]) == 0) { *d = (StDtype)i; return 0; }
    return -1;
}

// ---------------------------------------------------------------------------------
// Shared helpers

// Element count of a shape, 0 if any dimension is 0 (checked before multiplying so a
// shape like [2^40, 2^40, 0] is empty rather than an overflow). -1 on overflow.
static int shape_numel(const int64_t *shape, int ndim, int64_t *numel) {
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0) { *numel = 0; return 0; }
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (__builtin_mul_overflow(n, shape[i], &n)) return -1;
    *numel = n;
    return 0;
}

// "[2, 3]" for error messages.
static void format_shape(char *out, size_t size, const int64_t *shape, int ndim) {
    size_t len = (size_t)snprintf(out, size, "[");
    for (int i = 0; i < ndim && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (len < size) snprintf(out + len, size - len, "]");
}

// ---------------------------------------------------------------------------------
// Reading. Internal functions write a message without the path into msg; st_load
// prefixes the path once.

static uint64_t read_u64le(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

// "an array", ... for messages of the form "X is %s, not ...".
static const char *json_kind(const cJSON *v) {
    if (cJSON_IsObject(v)) return "an object";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a bool";
    if (cJSON_IsNull(v)) return "null";
    return "an invalid value";
}

// A non-negative integer small enough to be exact in a double.
static bool json_uint(const cJSON *v, int64_t *out) {
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= ST_MAX_JSON_INT) || (double)(int64_t)d != d) return false;
    *out = (int64_t)d;
    return true;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// cJSON keeps every member of an object, duplicates included; sort the keys to find
// them. Returns the first duplicated key or NULL.
static const char *find_duplicate_key(const cJSON *obj) {
    int n = cJSON_GetArraySize(obj), i = 0;
    const char **keys = xcalloc((size_t)n, sizeof *keys);
    const cJSON *c;
    cJSON_ArrayForEach(c, obj) keys[i++] = c->string ? c->string : "";
    qsort(keys, (size_t)n, sizeof *keys, cmp_str);
    const char *dup = NULL;
    for (i = 1; i < n && !dup; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0) dup = keys[i];
    free(keys);
    return dup;
}

// Parses the JSON header: exactly one object, then only padding whitespace.
static int parse_json(const uint8_t *text, size_t len, cJSON **root, char *msg) {
    char *s = xmalloc(len + 1);   // cJSON wants a NUL-terminated string
    memcpy(s, text, len);
    s[len] = '\0';
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(s, &end, 0);
    size_t at = end ? (size_t)(end - s) : 0;
    if (!j) {
        free(s);
        return err_set(msg, "header is not valid JSON (parse error at byte %zu of %zu)", at, len);
    }
    // An embedded NUL stops the parser early; it lands here as a trailing byte.
    while (at < len && (s[at] == ' ' || s[at] == '\t' || s[at] == '\n' || s[at] == '\r')) at++;
    free(s);
    if (at < len) {
        cJSON_Delete(j);
        return err_set(msg, "header has unexpected bytes after the JSON at byte %zu of %zu", at, len);
    }
    if (!cJSON_IsObject(j)) {
        int r = err_set(msg, "header is %s, not a JSON object", json_kind(j));
        cJSON_Delete(j);
        return r;
    }
    *root = j;
    return 0;
}

static int check_metadata(const cJSON *m, char *msg) {
    if (!cJSON_IsObject(m))
        return err_set(msg, "__metadata__ is %s, not an object of strings", json_kind(m));
    const cJSON *c;
    cJSON_ArrayForEach(c, m)
        if (!cJSON_IsString(c))
            return err_set(msg, "__metadata__ key '%s' has %s value, not a string",
                           c->string, json_kind(c));
    const char *dup = find_duplicate_key(m);
    if (dup) return err_set(msg, "__metadata__ has duplicate key '%s'", dup);
    return 0;
}

static int parse_dtype(const cJSON *e, StTensor *t, char *msg) {
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    if (!dt) return err_set(msg, "tensor '%s': missing dtype", e->string);
    if (!cJSON_IsString(dt))
        return err_set(msg, "tensor '%s': dtype is %s, not a string", e->string, json_kind(dt));
    if (st_dtype_parse(dt->valuestring, &t->dtype))
        return err_set(msg, "tensor '%s': unknown dtype '%.64s' (supported: F64 F32 BF16 F16 I64 I32 U8 BOOL)",
                       e->string, dt->valuestring);
    return 0;
}

static int parse_shape(const cJSON *e, StTensor *t, char *msg) {
    const char *name = e->string;
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    if (!sh) return err_set(msg, "tensor '%s': missing shape", name);
    if (!cJSON_IsArray(sh))
        return err_set(msg, "tensor '%s': shape is %s, not an array", name, json_kind(sh));
    int nd = cJSON_GetArraySize(sh);
    if (nd > ST_MAX_DIMS)
        return err_set(msg, "tensor '%s': shape has %d dimensions (at most %d)", name, nd, ST_MAX_DIMS);
    const cJSON *d;
    t->ndim = 0;
    cJSON_ArrayForEach(d, sh) {
        if (!json_uint(d, &t->shape[t->ndim])) {
            if (cJSON_IsNumber(d))
                return err_set(msg, "tensor '%s': shape[%d] = %.17g is not a non-negative integer",
                               name, t->ndim, d->valuedouble);
            return err_set(msg, "tensor '%s': shape[%d] is %s, not a non-negative integer",
                           name, t->ndim, json_kind(d));
        }
        t->ndim++;
    }
    char s[256];
    format_shape(s, sizeof s, t->shape, t->ndim);
    size_t es = st_dtype_size(t->dtype);
    if (shape_numel(t->shape, t->ndim, &t->numel) ||
        __builtin_mul_overflow((size_t)t->numel, es, &t->nbytes))
        return err_set(msg, "tensor '%s': shape %s element count overflows", name, s);
    return 0;
}

static int parse_offsets(const cJSON *e, const uint8_t *data, size_t data_size, StTensor *t, char *msg) {
    const char *name = e->string;
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    int64_t b, en;
    if (!off) return err_set(msg, "tensor '%s': missing data_offsets", name);
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
        !json_uint(cJSON_GetArrayItem(off, 0), &b) || !json_uint(cJSON_GetArrayItem(off, 1), &en))
        return err_set(msg, "tensor '%s': data_offsets is not an array of two non-negative integers", name);
    if (b > en)
        return err_set(msg, "tensor '%s': data_offsets [%" PRId64 ", %" PRId64 "] begin is after end",
                       name, b, en);
    if ((uint64_t)en > data_size)
        return err_set(msg, "tensor '%s': data_offsets [%" PRId64 ", %" PRId64 "] end past the data section (%zu bytes)",
                       name, b, en, data_size);
    if ((uint64_t)(en - b) != t->nbytes) {
        char s[256];
        format_shape(s, sizeof s, t->shape, t->ndim);
        return err_set(msg, "tensor '%s': data_offsets [%" PRId64 ", %" PRId64 "] span %" PRId64
                       " bytes but %s shape %s needs %zu", name, b, en, en - b,
                       st_dtype_name(t->dtype), s, t->nbytes);
    }
    t->data = data + b;
    return 0;
}

static int parse_tensor(const cJSON *e, const uint8_t *data, size_t data_size, StTensor *t, char *msg) {
    if (!cJSON_IsObject(e))
        return err_set(msg, "tensor '%s': entry is %s, not an object", e->string, json_kind(e));
    if (parse_dtype(e, t, msg) || parse_shape(e, t, msg) || parse_offsets(e, data, data_size, t, msg))
        return -1;
    t->name = xstrdup(e->string);   // last, so a failed entry owns nothing
    return 0;
}

// Fills st->tensors and st->metadata from the validated header object.
static int parse_entries(SafeTensors *st, cJSON *root, size_t hlen, char *msg) {
    const char *dup = find_duplicate_key(root);
    if (dup && strcmp(dup, "__metadata__") == 0) return err_set(msg, "header has two __metadata__ entries");
    if (dup) return err_set(msg, "duplicate tensor name '%s' in header", dup);
    const uint8_t *data = st->buf + 8 + hlen;
    size_t data_size = st->size - 8 - hlen;
    st->tensors = xcalloc((size_t)cJSON_GetArraySize(root), sizeof *st->tensors);
    cJSON *meta = NULL, *e;
    cJSON_ArrayForEach(e, root) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (check_metadata(e, msg)) return -1;
            meta = e;
        } else {
            if (parse_tensor(e, data, data_size, &st->tensors[st->n], msg)) return -1;
            st->n++;
        }
    }
    if (meta) st->metadata = cJSON_DetachItemViaPointer(root, meta);
    return 0;
}

static int parse_file(SafeTensors *st, char *msg) {
    if (st->size == 0) return err_set(msg, "file is empty");
    if (st->size < 8)
        return err_set(msg, "file is %zu bytes, shorter than the 8-byte header length", st->size);
    uint64_t hlen = read_u64le(st->buf);
    if (hlen == 0) return err_set(msg, "header length is 0");
    if (hlen > ST_MAX_HEADER)
        return err_set(msg, "header length %" PRIu64 " is absurd (limit %u bytes)", hlen, ST_MAX_HEADER);
    if (hlen > st->size - 8)
        return err_set(msg, "header length %" PRIu64 " is larger than the file (%zu bytes after the length field)",
                       hlen, st->size - 8);
    cJSON *root = NULL;
    if (parse_json(st->buf + 8, (size_t)hlen, &root, msg)) return -1;
    int r = parse_entries(st, root, (size_t)hlen, msg);
    cJSON_Delete(root);
    return r;
}

int st_load(SafeTensors *st, const char *path, char *err) {
    char msg[ERR_LEN] = "";
    memset(st, 0, sizeof *st);
    st->buf = (uint8_t *)read_file(path, &st->size, err);
    if (!st->buf) return -1;
    if (parse_file(st, msg)) {
        st_free(st);
        return err_set(err, "%s: %s", path, msg);
    }
    st->path = xstrdup(path);
    return 0;
}

void st_free(SafeTensors *st) {
    if (!st) return;
    for (int i = 0; i < st->n; i++) free(st->tensors[i].name);
    free(st->tensors);
    free(st->buf);
    free(st->path);
    cJSON_Delete(st->metadata);
    memset(st, 0, sizeof *st);
}

const StTensor *st_find(const SafeTensors *st, const char *name) {
    for (int i = 0; i < st->n; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

const char *st_meta(const SafeTensors *st, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(st->metadata, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

// ---------------------------------------------------------------------------------
// Conversion. Tensor data may be unaligned, so every element is read with memcpy.

static float bf16_to_float(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;   // bf16 is the top half of an f32
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static float f16_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
    if (exp == 0) {   // zero or subnormal: mant * 2^-24, exact in f32
        float f = (float)mant * 0x1p-24f;
        return sign ? -f : f;
    }
    if (exp == 31) bits = sign | 0x7f800000u | (mant << 13);   // inf, nan
    else bits = sign | ((exp + 112) << 23) | (mant << 13);      // rebias 15 -> 127
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static int check_count(const StTensor *t, int64_t n, char *err) {
    if (n == t->numel) return 0;
    return err_set(err, "tensor '%s': expected %" PRId64 " elements but it has %" PRId64,
                    t->name, n, t->numel);
}

int st_to_real(const StTensor *t, real *out, int64_t n, char *err) {
    if (t->dtype != ST_F64 && t->dtype != ST_F32 && t->dtype != ST_BF16 && t->dtype != ST_F16)
        return err_set(err, "tensor '%s': cannot convert dtype %s to real (need F64, F32, BF16 or F16)",
                        t->name, st_dtype_name(t->dtype));
    if (check_count(t, n, err)) return -1;
    const uint8_t *p = t->data;
    for (int64_t i = 0; i < n; i++) {
        if (t->dtype == ST_F64) { double v; memcpy(&v, p + 8 * i, 8); out[i] = (real)v; }
        else if (t->dtype == ST_F32) { float v; memcpy(&v, p + 4 * i, 4); out[i] = v; }
        else {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            out[i] = t->dtype == ST_BF16 ? bf16_to_float(h) : f16_to_float(h);
        }
    }
    return 0;
}

int st_to_i32(const StTensor *t, int32_t *out, int64_t n, char *err) {
    if (t->dtype != ST_I32 && t->dtype != ST_I64 && t->dtype != ST_U8 && t->dtype != ST_BOOL)
        return err_set(err, "tensor '%s': cannot convert dtype %s to int32 (need I32, I64, U8 or BOOL)",
                        t->name, st_dtype_name(t->dtype));
    if (check_count(t, n, err)) return -1;
    const uint8_t *p = t->data;
    for (int64_t i = 0; i < n; i++) {
        if (t->dtype == ST_I32) memcpy(&out[i], p + 4 * i, 4);
        else if (t->dtype == ST_U8) out[i] = p[i];
        else if (t->dtype == ST_BOOL) out[i] = p[i] != 0;
        else {
            int64_t v;
            memcpy(&v, p + 8 * i, 8);
            if (v < INT32_MIN || v > INT32_MAX)
                return err_set(err, "tensor '%s': element %" PRId64 " = %" PRId64
                                " is out of int32 range", t->name, i, v);
            out[i] = (int32_t)v;
        }
    }
    return 0;
}

// ---------------------------------------------------------------------------------
// Writing

typedef struct {
    char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t nbytes;
    const void *data;
    void *owned;   // a converted copy that data points to, or NULL
} WEntry;

struct StWriter {
    WEntry *t;
    int n, cap;
    char **keys, **vals;
    int nmeta, capmeta;
    char err[ERR_LEN];   // first argument error, reported by st_writer_save
};

StWriter *st_writer_new(void) {
    return xcalloc(1, sizeof(StWriter));
}

void st_writer_free(StWriter *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) { free(w->t[i].name); free(w->t[i].owned); }
    for (int i = 0; i < w->nmeta; i++) { free(w->keys[i]); free(w->vals[i]); }
    free(w->t);
    free(w->keys);
    free(w->vals);
    free(w);
}

void st_writer_meta(StWriter *w, const char *key, const char *value) {
    for (int i = 0; i < w->nmeta; i++)
        if (strcmp(w->keys[i], key) == 0) {
            free(w->vals[i]);
            w->vals[i] = xstrdup(value);
            return;
        }
    if (w->nmeta == w->capmeta) {
        w->capmeta = w->capmeta ? 2 * w->capmeta : 8;
        w->keys = xrealloc(w->keys, (size_t)w->capmeta * sizeof *w->keys);
        w->vals = xrealloc(w->vals, (size_t)w->capmeta * sizeof *w->vals);
    }
    w->keys[w->nmeta] = xstrdup(key);
    w->vals[w->nmeta++] = xstrdup(value);
}

// Checks the arguments of st_writer_add; fills e's shape and size.
static int check_add(const StWriter *w, const char *name, StDtype dtype, int ndim,
                     const int64_t *shape, const void *data, WEntry *e, char *msg) {
    if (!name) return err_set(msg, "tensor with a NULL name");
    if (strcmp(name, "__metadata__") == 0) return err_set(msg, "'__metadata__' is reserved, not a tensor name");
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0) return err_set(msg, "duplicate tensor name '%s'", name);
    if ((unsigned)dtype >= (unsigned)N_DTYPES) return err_set(msg, "tensor '%s': invalid dtype %d", name, (int)dtype);
    if (ndim < 0 || ndim > ST_MAX_DIMS || (ndim > 0 && !shape))
        return err_set(msg, "tensor '%s': ndim %d out of range 0..%d", name, ndim, ST_MAX_DIMS);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return err_set(msg, "tensor '%s': negative dimension %d", name, i);
        e->shape[i] = shape[i];
    }
    int64_t numel;
    if (shape_numel(e->shape, ndim, &numel) ||
        __builtin_mul_overflow((size_t)numel, st_dtype_size(dtype), &e->nbytes))
        return err_set(msg, "tensor '%s': element count overflows", name);
    if (e->nbytes > 0 && !data) return err_set(msg, "tensor '%s': NULL data", name);
    return 0;
}

void st_writer_add(StWriter *w, const char *name, StDtype dtype, int ndim,
                   const int64_t *shape, const void *data) {
    if (w->err[0]) return;   // keep the first error
    WEntry e = {.dtype = dtype, .ndim = ndim, .data = data};
    if (check_add(w, name, dtype, ndim, shape, data, &e, w->err)) return;
    e.name = xstrdup(name);
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 16;
        w->t = xrealloc(w->t, (size_t)w->cap * sizeof *w->t);
    }
    w->t[w->n++] = e;
}

void st_writer_add_real(StWriter *w, const char *name, int ndim, const int64_t *shape,
                        const real *data) {
#ifdef TRM_DOUBLE
    int before = w->n;
    st_writer_add(w, name, ST_F32, ndim, shape, data);
    if (w->n == before) return;   // rejected; the error is recorded
    WEntry *e = &w->t[w->n - 1];
    size_t n = e->nbytes / sizeof(float);
    float *copy = xmalloc(e->nbytes);
    for (size_t i = 0; i < n; i++) copy[i] = (float)data[i];
    e->owned = copy;
    e->data = copy;
#else
    st_writer_add(w, name, ST_F32, ndim, shape, data);
#endif
}

// A growing string for the header.
typedef struct { char *p; size_t len, cap; } Sb;

static void sb_put(Sb *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = MAX(2 * b->cap, b->len + n + 1);
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(Sb *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_u64(Sb *b, uint64_t v) {
    char s[24];
    sb_put(b, s, (size_t)snprintf(s, sizeof s, "%" PRIu64, v));
}

// JSON string literal: escape quote, backslash and control bytes; UTF-8 passes through.
static void sb_json_str(Sb *b, const char *s) {
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; sb_put(b, esc, 2); }
        else if (c < 0x20) sb_put(b, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", c));
        else sb_put(b, (const char *)&c, 1);
    }
    sb_put(b, "\"", 1);
}

// Integers are printed by hand rather than through cJSON, which would print large
// offsets as doubles ("1e+15") that strict readers reject.
static void build_header(const StWriter *w, Sb *h) {
    sb_puts(h, "{");
    if (w->nmeta) {
        sb_puts(h, "\"__metadata__\":{");
        for (int i = 0; i < w->nmeta; i++) {
            if (i) sb_puts(h, ",");
            sb_json_str(h, w->keys[i]);
            sb_puts(h, ":");
            sb_json_str(h, w->vals[i]);
        }
        sb_puts(h, w->n ? "}," : "}");
    }
    uint64_t off = 0;
    for (int i = 0; i < w->n; i++) {
        const WEntry *e = &w->t[i];
        if (i) sb_puts(h, ",");
        sb_json_str(h, e->name);
        sb_puts(h, ":{\"dtype\":\"");
        sb_puts(h, st_dtype_name(e->dtype));
        sb_puts(h, "\",\"shape\":[");
        for (int d = 0; d < e->ndim; d++) {
            if (d) sb_puts(h, ",");
            sb_u64(h, (uint64_t)e->shape[d]);
        }
        sb_puts(h, "],\"data_offsets\":[");
        sb_u64(h, off);
        sb_puts(h, ",");
        sb_u64(h, off += e->nbytes);
        sb_puts(h, "]}");
    }
    sb_puts(h, "}");
    // Pad so the data section starts 8-byte aligned in the file (8 + len).
    while (h->len % 8) sb_puts(h, " ");
}

// Test hook (tests/test_kill9.sh): TRM_TEST_WRITE_PAUSE_MS=N pauses every file halfway
// through its tensors, with that half on disk, so that a kill can land mid-write.
static void test_pause(FILE *f) {
    const char *ms = getenv("TRM_TEST_WRITE_PAUSE_MS");
    if (!ms) return;
    long n = atol(ms);
    fflush(f);
    nanosleep(&(struct timespec){ n / 1000, n % 1000 * 1000000 }, NULL);
}

// Returns 0 or an errno value.
static int write_body(const StWriter *w, FILE *f, const Sb *h) {
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)h->len >> (8 * i));
    errno = 0;
    if (fwrite(len, 1, 8, f) != 8 || fwrite(h->p, 1, h->len, f) != h->len) return errno ? errno : EIO;
    for (int i = 0; i < w->n; i++) {
        const WEntry *e = &w->t[i];
        if (i == w->n / 2) test_pause(f);
        if (e->nbytes && fwrite(e->data, 1, e->nbytes, f) != e->nbytes) return errno ? errno : EIO;
    }
    return 0;
}

// Writes the whole file to tmp and makes it durable; removes tmp on any failure.
static int write_temp(const StWriter *w, const char *path, const char *tmp, const Sb *h, char *err) {
    FILE *f = fopen(tmp, "wb");
    if (!f) return err_set(err, "%s: cannot create temp file '%s': %s", path, tmp, strerror(errno));
    int e = write_body(w, f, h);
    if (!e && fflush(f) != 0) e = errno;
    if (!e && fsync(fileno(f)) != 0) e = errno;
    if (fclose(f) != 0 && !e) e = errno;
    if (!e) return 0;
    unlink(tmp);
    return err_set(err, "%s: writing temp file '%s' failed: %s", path, tmp, strerror(e));
}

int st_writer_save(StWriter *w, const char *path, char *err) {
    if (w->err[0]) return err_set(err, "%s: %s", path, w->err);
    Sb h = {0};
    build_header(w, &h);
    if (h.len > ST_MAX_HEADER) {
        free(h.p);
        return err_set(err, "%s: header of %zu bytes exceeds the %u-byte limit", path, h.len, ST_MAX_HEADER);
    }
    size_t tlen = strlen(path) + 32;
    char *tmp = xmalloc(tlen);
    snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
    int rc = write_temp(w, path, tmp, &h, err);
    if (rc == 0 && rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        rc = err_set(err, "%s: cannot rename temp file '%s' into place: %s", path, tmp, strerror(e));
    }
    if (rc == 0) sync_dir_of(path);   // the rename itself survives a crash
    free(tmp);
    free(h.p);
    return rc;
}
