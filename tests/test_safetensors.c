// test_safetensors.c: round trips, conversions, atomic saves, and a catalogue of
// corrupt files that must each fail with a message naming the problem.
#define _POSIX_C_SOURCE 200809L   // mkdtemp, lstat, dirent under a strict -std=c11
#include "io/safetensors.h"
#include "test.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void in_dir(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/%s", dir, name);
}


// A file whose length field says hlen, followed by json (hlen need not match) and data.
static void write_raw(const char *path, uint64_t hlen, const char *json, size_t jlen,
                      const void *data, size_t ndata) {
    uint8_t *p = xmalloc(8 + jlen + ndata);
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(hlen >> (8 * i));
    memcpy(p + 8, json, jlen);
    if (ndata) memcpy(p + 8 + jlen, data, ndata);
    write_bytes(path, p, 8 + jlen + ndata);
    free(p);
}

// A well-formed frame around json, with ndata zero bytes of data.
static void write_json(const char *path, const char *json, size_t ndata) {
    uint8_t zeros[64] = {0};
    if (ndata > sizeof zeros) die("test data too large");
    write_raw(path, strlen(json), json, strlen(json), zeros, ndata);
}

// st_load must fail with one line that starts with "path: " and contains kw1 and kw2.
static void expect_fail(const char *what, const char *path, const char *kw1, const char *kw2) {
    SafeTensors st;
    char err[ERR_LEN] = "";
    int rc = st_load(&st, path, err);
    size_t pl = strlen(path);
    CHECK(rc == -1, "%s: st_load succeeded", what);
    CHECK(strncmp(err, path, pl) == 0 && strncmp(err + pl, ": ", 2) == 0,
          "%s: message does not start with the path: %s", what, err);
    CHECK(!strchr(err, '\n'), "%s: message has a newline: %s", what, err);
    if (getenv("ST_SHOW")) printf("%-22s %s\n", what, err);
    CHECK(strstr(err, kw1), "%s: message lacks '%s': %s", what, kw1, err);
    if (kw2) CHECK(strstr(err, kw2), "%s: message lacks '%s': %s", what, kw2, err);
    CHECK(!st.buf && !st.tensors && !st.metadata && !st.path && st.n == 0,
          "%s: failed load left state behind", what);
    st_free(&st);
}

// Writes json as a file and expects st_load to fail.
static void expect_json_fail(const char *what, const char *json, size_t ndata,
                             const char *kw1, const char *kw2) {
    char path[256];
    in_dir(path, sizeof path, "bad.safetensors");
    write_json(path, json, ndata);
    expect_fail(what, path, kw1, kw2);
}

static int count_entries(const char *d, const char *substr) {
    DIR *dp = opendir(d);
    if (!dp) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)))
        if (strstr(e->d_name, substr)) n++;
    closedir(dp);
    return n;
}

// ---------------------------------------------------------------------------------

static double f64v[6] = {1.5, -2.25, 1e300, -0.0, 3.141592653589793, 5e-324};
static float f32v[4] = {1.0f, -2.5f, 1e-40f, INFINITY};
static uint16_t bf16v[4] = {0x3F80, 0xC040, 0x0000, 0x7F80};       // 1, -3, 0, inf
static uint16_t f16v[4] = {0x3C00, 0xC000, 0x0001, 0x7BFF};        // 1, -2, 2^-24, 65504
static int64_t i64v[2] = {INT64_MIN, INT64_MAX};
static int64_t i64okv[3] = {-5, 2147483647, INT32_MIN};
static int32_t i32v[4] = {7, -8, INT32_MAX, INT32_MIN};
static uint8_t u8v[5] = {0, 1, 127, 128, 255};
static uint8_t boolv[3] = {1, 0, 1};
static float scalarv = 42.0f;
static const char *weird_name = "layer.0/\"odd\" name\t\xc3\xa9";
static const char *note = "line1\nline2 \"q\" \\ \xc3\xa9";

typedef struct { const char *name; StDtype dtype; int ndim; int64_t shape[3]; const void *data; } Spec;

static const Spec specs[] = {
    {"f64", ST_F64, 2, {2, 3}, f64v},
    {"f32", ST_F32, 1, {4}, f32v},
    {"bf16", ST_BF16, 2, {2, 2}, bf16v},
    {"f16", ST_F16, 1, {4}, f16v},
    {"i64", ST_I64, 1, {2}, i64v},
    {"i64ok", ST_I64, 1, {3}, i64okv},
    {"i32", ST_I32, 3, {2, 1, 2}, i32v},
    {"u8", ST_U8, 1, {5}, u8v},
    {"bool", ST_BOOL, 1, {3}, boolv},
    {"scalar", ST_F32, 0, {0}, &scalarv},
    {"empty", ST_F32, 2, {0, 3}, NULL},
    {NULL, ST_F32, 1, {4}, f32v},   // named weird_name
};
#define N_SPECS ((int)(sizeof specs / sizeof specs[0]))

static const char *spec_name(int i) { return specs[i].name ? specs[i].name : weird_name; }

static void save_all(const char *path) {
    StWriter *w = st_writer_new();
    st_writer_meta(w, "format", "np");
    st_writer_meta(w, "note", note);
    st_writer_meta(w, "format", "pt");   // replaces the first value
    for (int i = 0; i < N_SPECS; i++)
        st_writer_add(w, spec_name(i), specs[i].dtype, specs[i].ndim, specs[i].shape, specs[i].data);
    char err[ERR_LEN] = "";
    int rc = st_writer_save(w, path, err);
    CHECK(rc == 0, "save: %s", err);
    st_writer_free(w);
}

static void check_tensor(const StTensor *t, int i) {
    const Spec *s = &specs[i];
    int64_t numel = 1;
    for (int d = 0; d < s->ndim; d++) numel *= s->shape[d];
    CHECK(strcmp(t->name, spec_name(i)) == 0, "tensor %d name '%s'", i, t->name);
    CHECK(t->dtype == s->dtype && t->ndim == s->ndim, "tensor %d dtype/ndim", i);
    CHECK(s->ndim == 0 || memcmp(t->shape, s->shape, (size_t)s->ndim * sizeof(int64_t)) == 0,
          "tensor %d shape", i);
    CHECK(t->numel == numel && t->nbytes == (size_t)numel * st_dtype_size(s->dtype),
          "tensor %d numel %lld nbytes %zu", i, (long long)t->numel, t->nbytes);
    CHECK(t->nbytes == 0 || memcmp(t->data, s->data, t->nbytes) == 0, "tensor %d bytes differ", i);
}

static void test_round_trip(void) {
    char path[256], err[ERR_LEN] = "";
    in_dir(path, sizeof path, "all.safetensors");
    save_all(path);
    SafeTensors st;
    CHECK(st_load(&st, path, err) == 0, "load: %s", err);
    CHECK(st.n == N_SPECS, "tensor count %d", st.n);
    for (int i = 0; i < N_SPECS && i < st.n; i++) check_tensor(&st.tensors[i], i);
    CHECK(st_find(&st, weird_name) == &st.tensors[N_SPECS - 1], "st_find weird name");
    CHECK(st_find(&st, "nope") == NULL, "st_find absent");
    CHECK(st_meta(&st, "format") && strcmp(st_meta(&st, "format"), "pt") == 0, "meta format");
    CHECK(st_meta(&st, "note") && strcmp(st_meta(&st, "note"), note) == 0, "meta note");
    CHECK(st_meta(&st, "absent") == NULL, "meta absent");
    CHECK(st.path && strcmp(st.path, path) == 0, "st.path");
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | st.buf[i];
    CHECK((8 + hlen) % 8 == 0, "data section not 8-aligned: header %llu", (unsigned long long)hlen);
    CHECK(st.tensors[0].data == st.buf + 8 + hlen, "first tensor starts the data section");
    const StTensor *last = &st.tensors[st.n - 1];
    CHECK(last->data + last->nbytes == st.buf + st.size, "tensors fill the data section");
    st_free(&st);
    st_free(&st);   // idempotent on a freed struct
}

// The exact bytes of a small file, so the format stays what other readers expect.
static void test_golden_bytes(void) {
    char path[256], err[ERR_LEN] = "";
    in_dir(path, sizeof path, "golden.safetensors");
    float v[2] = {1.0f, -2.0f};
    int64_t shape[1] = {2};
    StWriter *w = st_writer_new();
    st_writer_meta(w, "format", "pt");
    st_writer_add(w, "a", ST_F32, 1, shape, v);
    CHECK(st_writer_save(w, path, err) == 0, "golden save: %s", err);
    st_writer_free(w);
    const char *json = "{\"__metadata__\":{\"format\":\"pt\"},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    size_t jlen = strlen(json), padded = (jlen + 7) / 8 * 8, n;
    uint8_t *got = read_bytes(path, &n);
    CHECK(n == 8 + padded + 8, "golden size %zu", n);
    CHECK(n >= 8 && got[0] == (uint8_t)padded && got[1] == 0 && got[7] == 0, "golden length field");
    CHECK(n == 8 + padded + 8 && memcmp(got + 8, json, jlen) == 0, "golden header text");
    bool spaces = n == 8 + padded + 8;
    for (size_t i = 8 + jlen; spaces && i < 8 + padded; i++) spaces = got[i] == ' ';
    CHECK(spaces, "golden padding is spaces");
    CHECK(n == 8 + padded + 8 && memcmp(got + 8 + padded, v, 8) == 0, "golden data");
    free(got);
}

static void test_empty_writer(void) {
    char path[256], err[ERR_LEN] = "";
    in_dir(path, sizeof path, "none.safetensors");
    StWriter *w = st_writer_new();
    CHECK(st_writer_save(w, path, err) == 0, "empty save: %s", err);
    st_writer_free(w);
    SafeTensors st;
    CHECK(st_load(&st, path, err) == 0 && st.n == 0 && !st.metadata, "empty load: %s", err);
    st_free(&st);
}

static void test_to_real(const SafeTensors *st) {
    char err[ERR_LEN] = "";
    real out[6];
    CHECK(st_to_real(st_find(st, "f64"), out, 6, err) == 0, "f64: %s", err);
    CHECK(out[0] == 1.5 && out[1] == -2.25 && out[4] == (real)3.141592653589793, "f64 values");
    CHECK(st_to_real(st_find(st, "f32"), out, 4, err) == 0, "f32: %s", err);
    CHECK(out[0] == 1.0 && out[1] == -2.5 && out[2] == (real)1e-40f && isinf(out[3]), "f32 values");
    CHECK(st_to_real(st_find(st, "bf16"), out, 4, err) == 0, "bf16: %s", err);
    CHECK(out[0] == 1.0 && out[1] == -3.0 && out[2] == 0.0 && isinf(out[3]) && out[3] > 0, "bf16 values");
    CHECK(st_to_real(st_find(st, "f16"), out, 4, err) == 0, "f16: %s", err);
    CHECK(out[0] == 1.0 && out[1] == -2.0 && out[2] == (real)ldexp(1.0, -24) && out[3] == 65504.0,
          "f16 values %g %g %g %g", out[0], out[1], out[2], out[3]);
    CHECK(st_to_real(st_find(st, "scalar"), out, 1, err) == 0 && out[0] == 42.0, "scalar: %s", err);
    CHECK(st_to_real(st_find(st, "empty"), NULL, 0, err) == 0, "empty: %s", err);
    CHECK(st_to_real(st_find(st, "f32"), out, 3, err) == -1 && strstr(err, "'f32'") &&
          strstr(err, "elements"), "count mismatch: %s", err);
    CHECK(st_to_real(st_find(st, "i32"), out, 4, err) == -1 && strstr(err, "'i32'") &&
          strstr(err, "cannot convert"), "i32 to real: %s", err);
}

static void test_to_i32(const SafeTensors *st) {
    char err[ERR_LEN] = "";
    int32_t out[5];
    CHECK(st_to_i32(st_find(st, "i32"), out, 4, err) == 0 && memcmp(out, i32v, sizeof i32v) == 0,
          "i32: %s", err);
    CHECK(st_to_i32(st_find(st, "i64ok"), out, 3, err) == 0 && out[0] == -5 &&
          out[1] == INT32_MAX && out[2] == INT32_MIN, "i64 in range: %s", err);
    CHECK(st_to_i32(st_find(st, "i64"), out, 2, err) == -1 && strstr(err, "'i64'") &&
          strstr(err, "int32 range"), "i64 out of range: %s", err);
    CHECK(st_to_i32(st_find(st, "u8"), out, 5, err) == 0 && out[3] == 128 && out[4] == 255, "u8: %s", err);
    CHECK(st_to_i32(st_find(st, "bool"), out, 3, err) == 0 && out[0] == 1 && out[1] == 0, "bool: %s", err);
    CHECK(st_to_i32(st_find(st, "u8"), out, 4, err) == -1 && strstr(err, "'u8'"), "u8 count: %s", err);
    CHECK(st_to_i32(st_find(st, "f32"), out, 4, err) == -1 && strstr(err, "cannot convert"),
          "f32 to i32: %s", err);
}

static void test_conversions(void) {
    char path[256], err[ERR_LEN] = "";
    in_dir(path, sizeof path, "all.safetensors");
    SafeTensors st;
    if (st_load(&st, path, err) != 0) { CHECK(0, "load for conversions: %s", err); return; }
    test_to_real(&st);
    test_to_i32(&st);
    st_free(&st);
}

static void test_add_real(void) {
    char path[256], err[ERR_LEN] = "";
    in_dir(path, sizeof path, "real.safetensors");
    real v[3] = {0.5, -1.25, 3.0};
    int64_t shape[1] = {3};
    StWriter *w = st_writer_new();
    st_writer_add_real(w, "r", 1, shape, v);
    CHECK(st_writer_save(w, path, err) == 0, "save real: %s", err);
    st_writer_free(w);
    SafeTensors st;
    real back[3] = {0};
    CHECK(st_load(&st, path, err) == 0, "load real: %s", err);
    const StTensor *t = st_find(&st, "r");
    CHECK(t && t->dtype == ST_F32, "real stored as F32");
    CHECK(t && st_to_real(t, back, 3, err) == 0 && memcmp(back, v, sizeof v) == 0, "real values");
    st_free(&st);
}

// Argument errors are remembered and reported by save, which then writes nothing.
static void expect_writer_fail(const char *what, StWriter *w, const char *kw) {
    char path[256], err[ERR_LEN] = "";
    in_dir(path, sizeof path, "writer_fail.safetensors");
    CHECK(st_writer_save(w, path, err) == -1 && strstr(err, kw), "%s: %s", what, err);
    CHECK(access(path, F_OK) != 0, "%s: a file was written", what);
    st_writer_free(w);
}

static void test_writer_errors(void) {
    float v[4] = {0};
    int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, neg[1] = {-1};
    StWriter *w = st_writer_new();
    st_writer_add(w, "a", ST_F32, 1, shape, v);
    st_writer_add(w, "a", ST_F32, 1, shape, v);
    expect_writer_fail("duplicate", w, "duplicate tensor name 'a'");
    w = st_writer_new();
    st_writer_add(w, "deep", ST_F32, 9, shape, v);
    expect_writer_fail("ndim 9", w, "ndim 9");
    w = st_writer_new();
    st_writer_add(w, "neg", ST_F32, 1, neg, v);
    expect_writer_fail("negative dim", w, "negative");
    w = st_writer_new();
    st_writer_add(w, "__metadata__", ST_F32, 1, shape, v);
    expect_writer_fail("reserved name", w, "reserved");
}

static void test_save_failures(void) {
    char path[256], err[ERR_LEN] = "", sub[256];
    float v[2] = {1, 2};
    int64_t shape[1] = {2};
    StWriter *w = st_writer_new();
    st_writer_add(w, "a", ST_F32, 1, shape, v);
    in_dir(sub, sizeof sub, "no_such_dir");
    in_dir(path, sizeof path, "no_such_dir/x.safetensors");
    CHECK(st_writer_save(w, path, err) == -1 && strstr(err, path) && strstr(err, "cannot create"),
          "save into missing dir: %s", err);
    CHECK(access(sub, F_OK) != 0, "missing dir was created");
    // Renaming over a directory fails after the temp file is complete: it must go.
    in_dir(path, sizeof path, "isdir");
    mkdir(path, 0700);
    char inner[300];
    snprintf(inner, sizeof inner, "%s/keep", path);
    write_bytes(inner, "x", 1);
    CHECK(st_writer_save(w, path, err) == -1 && strstr(err, "rename"), "save over a dir: %s", err);
    CHECK(count_entries(dir, ".tmp.") == 0, "temp file left behind after failed rename");
    st_writer_free(w);
}

static void save_one(const char *path, const char *name, const float *v) {
    int64_t shape[1] = {2};
    char err[ERR_LEN] = "";
    StWriter *w = st_writer_new();
    st_writer_add(w, name, ST_F32, 1, shape, v);
    CHECK(st_writer_save(w, path, err) == 0, "save %s: %s", name, err);
    st_writer_free(w);
}

static void test_atomic_replace(void) {
    char path[256], err[ERR_LEN] = "";
    in_dir(path, sizeof path, "replace.safetensors");
    float a[2] = {1, 2}, b[2] = {3, 4};
    save_one(path, "old", a);
    struct stat before, after;
    stat(path, &before);
    save_one(path, "new", b);
    stat(path, &after);
    // A new inode means the file was renamed into place, not rewritten in place.
    CHECK(before.st_ino != after.st_ino, "file was rewritten in place, not replaced");
    SafeTensors st;
    CHECK(st_load(&st, path, err) == 0, "load replaced: %s", err);
    CHECK(st.n == 1 && st_find(&st, "new") && !st_find(&st, "old"), "replaced contents");
    const StTensor *t = st_find(&st, "new");
    CHECK(t && memcmp(t->data, b, sizeof b) == 0, "replaced data");
    st_free(&st);
    CHECK(count_entries(dir, ".tmp.") == 0, "temp file left behind");
}

// ---------------------------------------------------------------------------------
// Corrupt files

static void test_truncated(void) {
    char src[256], path[256];
    in_dir(src, sizeof src, "all.safetensors");
    in_dir(path, sizeof path, "cut.safetensors");
    size_t n;
    uint8_t *p = read_bytes(src, &n);
    size_t hlen = p[0] | (size_t)p[1] << 8;
    write_bytes(path, p, 0);
    expect_fail("cut at 0", path, "empty", NULL);
    write_bytes(path, p, 5);
    expect_fail("cut at 5", path, "shorter than the 8-byte", NULL);
    write_bytes(path, p, 8);
    expect_fail("cut at 8", path, "header length", "larger than the file");
    write_bytes(path, p, 8 + hlen / 2);
    expect_fail("cut inside header", path, "header length", "larger than the file");
    write_bytes(path, p, 8 + hlen);
    expect_fail("cut after header", path, "past the data section (0 bytes)", "tensor '");
    write_bytes(path, p, n - 3);
    expect_fail("cut inside data", path, "past the data section", "data_offsets");
    // Every proper prefix must fail: the data section ends exactly at the last tensor.
    int failed = 0;
    for (size_t k = 0; k < n; k++) {
        SafeTensors st;
        char err[ERR_LEN];
        write_bytes(path, p, k);
        failed += st_load(&st, path, err) == -1;
        st_free(&st);
    }
    CHECK(failed == (int)n, "%d of %zu prefixes failed to load", failed, n);
    free(p);
}

static void test_bad_frames(void) {
    char path[256];
    in_dir(path, sizeof path, "frame.safetensors");
    const char *j = "{}";
    write_raw(path, 1ull << 60, j, 2, NULL, 0);
    expect_fail("absurd header length", path, "header length 1152921504606846976", "absurd");
    write_raw(path, 1000, j, 2, "0123456789", 10);
    expect_fail("header length > file", path, "header length 1000", "larger than the file");
    write_raw(path, 0, j, 2, NULL, 0);
    expect_fail("header length 0", path, "header length is 0", NULL);
    write_raw(path, 6, "{}\0   ", 6, NULL, 0);
    expect_fail("embedded NUL", path, "unexpected bytes", NULL);
    write_raw(path, 8, "{}  {}  ", 8, NULL, 0);
    expect_fail("two objects", path, "unexpected bytes", NULL);
    in_dir(path, sizeof path, "missing.safetensors");
    expect_fail("missing file", path, "cannot open", NULL);
    expect_fail("directory", dir, "not a regular file", NULL);
}

static void test_bad_json(void) {
    expect_json_fail("bad JSON", "{\"a\": ", 0, "not valid JSON", NULL);
    expect_json_fail("array header", "[1, 2, 3]", 0, "header is an array", "not a JSON object");
    expect_json_fail("string header", "\"hi\"", 0, "not a JSON object", NULL);
    expect_json_fail("metadata number", "{\"__metadata__\":{\"epoch\":3}}", 0,
                     "__metadata__ key 'epoch'", "not a string");
    expect_json_fail("metadata array", "{\"__metadata__\":[\"a\"]}", 0, "__metadata__ is an array", NULL);
    expect_json_fail("metadata dup key", "{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0,
                     "duplicate key 'k'", NULL);
    expect_json_fail("two metadata", "{\"__metadata__\":{},\"__metadata__\":{}}", 0,
                     "two __metadata__ entries", NULL);
    expect_json_fail("entry not object", "{\"w\":5}", 0, "tensor 'w'", "not an object");
}

#define ENTRY(name, dtype, shape, offs) \
    "\"" name "\":{\"dtype\":" dtype ",\"shape\":" shape ",\"data_offsets\":" offs "}"

static void test_bad_entries(void) {
    expect_json_fail("unknown dtype", "{" ENTRY("w", "\"F99\"", "[2]", "[0,8]") "}", 8,
                     "tensor 'w'", "unknown dtype 'F99'");
    expect_json_fail("dtype number", "{" ENTRY("w", "4", "[2]", "[0,8]") "}", 8,
                     "tensor 'w'", "dtype is a number");
    expect_json_fail("missing dtype", "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                     "tensor 'w'", "missing dtype");
    expect_json_fail("negative shape", "{" ENTRY("w", "\"F32\"", "[2,-1]", "[0,8]") "}", 8,
                     "tensor 'w'", "shape[1] = -1 is not a non-negative integer");
    expect_json_fail("fractional shape", "{" ENTRY("w", "\"F32\"", "[2.5]", "[0,8]") "}", 8,
                     "tensor 'w'", "shape[0]");
    expect_json_fail("shape string", "{" ENTRY("w", "\"F32\"", "\"2\"", "[0,8]") "}", 8,
                     "tensor 'w'", "shape is a string");
    expect_json_fail("missing shape", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8,
                     "tensor 'w'", "missing shape");
    expect_json_fail("ndim 9", "{" ENTRY("w", "\"U8\"", "[1,1,1,1,1,1,1,1,1]", "[0,1]") "}", 1,
                     "tensor 'w'", "9 dimensions");
    expect_json_fail("numel overflow",
                     "{" ENTRY("w", "\"U8\"", "[4294967296,4294967296,4294967296]", "[0,1]") "}", 1,
                     "tensor 'w'", "overflows");
    expect_json_fail("offsets past end", "{" ENTRY("lm_head.weight", "\"F32\"", "[4]", "[0,16]") "}", 8,
                     "tensor 'lm_head.weight': data_offsets [0, 16] end past the data section (8 bytes)", NULL);
    expect_json_fail("begin > end", "{" ENTRY("w", "\"F32\"", "[0]", "[8,4]") "}", 8,
                     "tensor 'w'", "begin is after end");
    expect_json_fail("nbytes mismatch", "{" ENTRY("w", "\"F32\"", "[3]", "[0,8]") "}", 8,
                     "tensor 'w'", "span 8 bytes but F32 shape [3] needs 12");
    expect_json_fail("three offsets", "{" ENTRY("w", "\"F32\"", "[2]", "[0,4,8]") "}", 8,
                     "tensor 'w'", "data_offsets is not an array of two");
    expect_json_fail("negative offset", "{" ENTRY("w", "\"F32\"", "[2]", "[-8,0]") "}", 8,
                     "tensor 'w'", "data_offsets");
    expect_json_fail("missing offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8,
                     "tensor 'w'", "missing data_offsets");
    expect_json_fail("newline in name", "{" ENTRY("a\\nb", "\"F99\"", "[2]", "[0,8]") "}", 8,
                     "tensor 'a?b'", "unknown dtype");
    expect_json_fail("duplicate names",
                     "{" ENTRY("w", "\"F32\"", "[2]", "[0,8]") "," ENTRY("w", "\"F32\"", "[2]", "[8,16]") "}",
                     16, "duplicate tensor name 'w'", NULL);
}

// Valid but unusual: tensors may share or skip bytes; shapes with a zero dimension are
// empty however large the other dimensions.
static void test_unusual_valid(void) {
    char path[256], err[ERR_LEN] = "";
    in_dir(path, sizeof path, "unusual.safetensors");
    write_json(path, "{" ENTRY("a", "\"F32\"", "[1]", "[4,8]") ","
                     ENTRY("z", "\"F32\"", "[4294967296,4294967296,0]", "[8,8]") "}  ", 16);
    SafeTensors st;
    CHECK(st_load(&st, path, err) == 0, "unusual load: %s", err);
    CHECK(st.n == 2 && st.tensors[1].numel == 0 && st.tensors[1].nbytes == 0, "zero-dim tensor");
    st_free(&st);
}

// Random byte flips and cuts of a valid file: loading must fail cleanly or succeed,
// never crash or read out of bounds (run under ASan with make SAN=1).
static void test_fuzz(void) {
    char src[256], path[256];
    in_dir(src, sizeof src, "all.safetensors");
    in_dir(path, sizeof path, "fuzz.safetensors");
    size_t n;
    uint8_t *orig = read_bytes(src, &n), *p = xmalloc(n);
    size_t hend = 8 + (orig[0] | (size_t)orig[1] << 8);
    uint64_t s = 0x9E3779B97F4A7C15ull;
    int bad_msgs = 0, ok = 0;
    for (int it = 0; it < 3000; it++) {
        memcpy(p, orig, n);
        int flips = 1 + it % 4;
        for (int k = 0; k < flips; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(s >> 33) % hend;   // the header is where parsing happens
            p[at] = (uint8_t)(s >> 24);
        }
        size_t len = it % 7 == 0 ? (size_t)(s >> 40) % n : n;
        write_bytes(path, p, len);
        SafeTensors st;
        char err[ERR_LEN] = "";
        if (st_load(&st, path, err) == 0) ok++;
        else bad_msgs += strncmp(err, path, strlen(path)) != 0;
        st_free(&st);
    }
    CHECK(bad_msgs == 0, "fuzz: %d failures without a path-prefixed message", bad_msgs);
    CHECK(ok < 3000, "fuzz: every mutation loaded, the mutations do nothing");
    free(orig);
    free(p);
}

// Removes a directory tree (files and subdirectories; no symlinks are made here).
static int rm_tree(const char *path) {
    struct stat sb;
    if (lstat(path, &sb) != 0) return -1;
    if (!S_ISDIR(sb.st_mode)) return unlink(path);
    DIR *dp = opendir(path);
    if (!dp) return -1;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char sub[512];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        rc |= rm_tree(sub);
    }
    closedir(dp);
    return rc | rmdir(path);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/trm_st_XXXXXX");
    if (!mkdtemp(dir)) die("mkdtemp failed");
    test_round_trip();
    test_golden_bytes();
    test_empty_writer();
    test_conversions();
    test_add_real();
    test_writer_errors();
    test_save_failures();
    test_atomic_replace();
    test_truncated();
    test_bad_frames();
    test_bad_json();
    test_bad_entries();
    test_unusual_valid();
    test_fuzz();
    CHECK(rm_tree(dir) == 0, "cannot remove %s", dir);
    return test_summary("safetensors");
}
