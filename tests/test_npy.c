// test_npy.c: .npy round trips, byte identity with files numpy wrote, and every refusal.
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/npy.h"
#include "test.h"

#define REF_DIR "../shared/data/reference/arc1-aug0/train/"

static char tmpdir[128];

static const char *tpath(const char *name) {
    static char buf[8][256];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

// A .npy file with a hand-written header: dict text (hlen bytes, may hold any byte), padded
// with spaces and '\n' so the data start at a multiple of align, then n data bytes.
static void write_npy_raw(const char *path, const char *dict, size_t dlen, size_t align,
                          const void *data, size_t n) {
    size_t total = 10 + dlen + 1;
    total += (align - total % align) % align;
    size_t hl = total - 10;
    uint8_t *buf = xcalloc(total + n + 1, 1);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)(hl & 0xff), buf[9] = (uint8_t)(hl >> 8);
    memcpy(buf + 10, dict, dlen);
    memset(buf + 10 + dlen, ' ', hl - dlen - 1);
    buf[total - 1] = '\n';
    if (n) memcpy(buf + total, data, n);
    write_bytes(path, buf, total + n);
    free(buf);
}

static void write_npy_dict(const char *path, const char *dict, const void *data, size_t n) {
    write_npy_raw(path, dict, strlen(dict), 64, data, n);
}

// npy_map must refuse: -1, a zeroed array, one line naming the file and the reason.
static void expect_refusal(const char *what, const char *path, NpyDtype dt, int ndim,
                           const int64_t *want, const char *word) {
    NpyArray a;
    memset(&a, 0x5a, sizeof a);
    char err[ERR_LEN] = "";
    int rc = npy_map(&a, path, dt, ndim, want, err);
    CHECK(rc == -1, "%s: npy_map returned %d", what, rc);
    CHECK(strstr(err, path) != NULL, "%s: error does not name the file: '%s'", what, err);
    CHECK(strstr(err, word) != NULL, "%s: error lacks '%s': '%s'", what, word, err);
    CHECK(strchr(err, '\n') == NULL, "%s: error is not one line: '%s'", what, err);
    CHECK(a.map == NULL && a.data == NULL && a.numel == 0 && a.ndim == 0, "%s: array not zeroed", what);
    if (rc == 0) npy_unmap(&a);
}

static void expect_accepted(const char *what, const char *path, NpyDtype dt, int ndim,
                            const int64_t *shape, const void *data, size_t n) {
    NpyArray a;
    char err[ERR_LEN] = "";
    int rc = npy_map(&a, path, dt, ndim, NULL, err);
    CHECK(rc == 0, "%s: npy_map failed: %s", what, err);
    if (rc != 0) return;
    bool same = a.ndim == ndim && a.dtype == dt;
    for (int i = 0; i < ndim; i++) same = same && a.shape[i] == shape[i];
    CHECK(same, "%s: wrong ndim/shape", what);
    CHECK(a.data && (n == 0 || memcmp(a.data, data, n) == 0), "%s: wrong data", what);
    npy_unmap(&a);
}

static void test_round_trip_u8(void) {
    const int64_t shape[2] = {3, 5};
    uint8_t v[15];
    for (int i = 0; i < 15; i++) v[i] = (uint8_t)(i * 37 + 200);   // wraps: values past 127
    const char *p = tpath("u8.npy");
    char err[ERR_LEN] = "";
    CHECK(npy_write(p, NPY_U8, 2, shape, v, err) == 0, "write u8: %s", err);
    size_t n;
    uint8_t *bytes = read_bytes(p, &n);
    CHECK(n == 128 + 15, "u8 file is %zu bytes", n);
    const char *dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 5), }";
    CHECK(n >= 128 && memcmp(bytes + 10, dict, strlen(dict)) == 0, "u8 header text");
    CHECK(n >= 128 && bytes[8] == 118 && bytes[9] == 0 && bytes[127] == '\n', "u8 header length/newline");
    free(bytes);

    NpyArray a;
    const int64_t want[2] = {3, 5}, any[2] = {-1, -1};
    CHECK(npy_map(&a, p, NPY_U8, 2, want, err) == 0, "map u8: %s", err);
    CHECK(a.dtype == NPY_U8 && a.ndim == 2 && a.shape[0] == 3 && a.shape[1] == 5 && a.numel == 15,
          "u8 shape %lld x %lld", (long long)a.shape[0], (long long)a.shape[1]);
    CHECK(a.data && memcmp(a.data, v, 15) == 0, "u8 values");
    CHECK((const uint8_t *)a.data - (const uint8_t *)a.map == 128 && a.map_len == 143, "u8 mapping");
    CHECK(((const uint8_t *)a.data)[14] == (uint8_t)(14 * 37 + 200), "u8 last value");
    npy_unmap(&a);
    CHECK(a.map == NULL && a.data == NULL && a.numel == 0, "unmap zeroes");
    npy_unmap(&a);   // safe twice
    CHECK(npy_map(&a, p, NPY_U8, 2, any, err) == 0 && a.numel == 15, "map u8 with -1 shape: %s", err);
    npy_unmap(&a);
}

static void test_round_trip_i32(void) {
    const int32_t v[6] = {0, -1, 7, INT32_MIN, INT32_MAX, 123456789};
    const int64_t shape[1] = {6};
    const char *p = tpath("i32.npy");
    char err[ERR_LEN] = "";
    CHECK(npy_write(p, NPY_I32, 1, shape, v, err) == 0, "write i32: %s", err);
    NpyArray a;
    CHECK(npy_map(&a, p, NPY_I32, 1, shape, err) == 0, "map i32: %s", err);
    CHECK(a.dtype == NPY_I32 && a.ndim == 1 && a.shape[0] == 6 && a.numel == 6, "i32 shape");
    const int32_t *d = a.data;
    bool same = d != NULL;
    for (int i = 0; same && i < 6; i++) same = d[i] == v[i];
    CHECK(same, "i32 values");
    CHECK(a.map_len == 128 + 24, "i32 file length %zu", a.map_len);
    npy_unmap(&a);

    // Overwriting an existing file replaces it.
    const int32_t w[2] = {42, -42};
    const int64_t s2[1] = {2};
    CHECK(npy_write(p, NPY_I32, 1, s2, w, err) == 0, "rewrite i32: %s", err);
    CHECK(npy_map(&a, p, NPY_I32, 1, NULL, err) == 0 && a.numel == 2 &&
          ((const int32_t *)a.data)[1] == -42, "rewritten i32: %s", err);
    npy_unmap(&a);
}

// Empty arrays: just the header, which must be numpy's; mapping gives numel 0, no map.
static void test_empty(void) {
    char err[ERR_LEN] = "";
    const int64_t s1[1] = {0}, s2[2] = {0, 900};
    const char *p1 = tpath("empty1.npy"), *p2 = tpath("empty2.npy");
    CHECK(npy_write(p1, NPY_I32, 1, s1, NULL, err) == 0, "write (0,): %s", err);
    CHECK(npy_write(p2, NPY_U8, 2, s2, NULL, err) == 0, "write (0, 900): %s", err);
    // What np.save(np.zeros((0, 900), np.uint8)) writes: the dict, 20 growth spaces, pad, '\n'.
    char want[128];
    memcpy(want, "\x93NUMPY\x01\x00\x76\x00", 10);
    const char *dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 900), }";
    memset(want + 10, ' ', 117);
    memcpy(want + 10, dict, strlen(dict));
    want[127] = '\n';
    size_t n;
    uint8_t *got = read_bytes(p2, &n);
    CHECK(n == 128 && memcmp(got, want, 128) == 0, "(0, 900) header bytes (%zu bytes)", n);
    free(got);
    got = read_bytes(p1, &n);
    CHECK(n == 128 && memcmp(got + 10, "{'descr': '<i4', 'fortran_order': False, 'shape': (0,), }", 57) == 0,
          "(0,) header bytes");
    free(got);

    NpyArray a;
    const int64_t w2[2] = {-1, 900};
    CHECK(npy_map(&a, p2, NPY_U8, 2, w2, err) == 0, "map (0, 900): %s", err);
    CHECK(a.ndim == 2 && a.shape[0] == 0 && a.shape[1] == 900 && a.numel == 0 && a.map == NULL &&
          a.data != NULL, "(0, 900) array");
    npy_unmap(&a);
    CHECK(npy_map(&a, p1, NPY_I32, 1, NULL, err) == 0 && a.numel == 0 && a.shape[0] == 0, "map (0,): %s", err);
    npy_unmap(&a);
}

// Map a file numpy wrote, write it back: the same bytes.
static void check_reference(const char *name, NpyDtype dt, int ndim, const int64_t *want,
                            NpyArray *a) {
    char ref[512], out[512], err[ERR_LEN] = "";
    snprintf(ref, sizeof ref, "%s%s", REF_DIR, name);
    snprintf(out, sizeof out, "%s/%s", tmpdir, name);
    CHECK(npy_map(a, ref, dt, ndim, want, err) == 0, "map %s: %s", ref, err);
    if (!a->data) return;
    CHECK(npy_write(out, dt, ndim, a->shape, a->data, err) == 0, "write %s: %s", out, err);
    size_t n1, n2;
    uint8_t *b1 = read_bytes(ref, &n1), *b2 = read_bytes(out, &n2);
    CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0, "%s: written copy differs (%zu vs %zu bytes)", name, n2, n1);
    free(b1);
    free(b2);
}

static void test_reference(void) {
    if (!exists(REF_DIR "all__inputs.npy") || !exists(REF_DIR "all__puzzle_indices.npy")) {
        printf("SKIP: npy reference byte identity (../shared/data not found)\n");
        return;
    }
    NpyArray in, pi;
    const int64_t win[2] = {-1, 900}, wpi[1] = {-1};
    check_reference("all__inputs.npy", NPY_U8, 2, win, &in);
    check_reference("all__puzzle_indices.npy", NPY_I32, 1, wpi, &pi);
    CHECK(in.shape[0] == 3988 && in.shape[1] == 900 && in.numel == 3988 * 900, "inputs shape");
    CHECK(pi.shape[0] == 961, "puzzle_indices shape");
    if (in.data && pi.data) {
        const int32_t *idx = pi.data;
        // The index is a prefix sum over puzzles: 0, 4, 8, 13, ... ending at the row count.
        CHECK(idx[0] == 0 && idx[1] == 4 && idx[2] == 8 && idx[3] == 13 && idx[960] == 3988, "puzzle_indices values");
        int bad = 0, nonzero = 0;
        const uint8_t *g = in.data;
        for (int64_t i = 0; i < in.numel; i++) bad += g[i] > 11, nonzero += g[i] != 0;
        CHECK(bad == 0 && nonzero > 0, "inputs tokens in [0, 11]: %d out of range, %d non-zero", bad, nonzero);
    }
    npy_unmap(&in);
    npy_unmap(&pi);
}

static void test_refusals(void) {
    const int64_t shape[2] = {5, 900};
    uint8_t *v = xcalloc(5 * 900, 1);
    const char *good = tpath("good.npy");
    char err[ERR_LEN] = "";
    CHECK(npy_write(good, NPY_U8, 2, shape, v, err) == 0, "write good: %s", err);
    size_t n;
    uint8_t *g = read_bytes(good, &n);
    CHECK(n == 128 + 4500, "good file is %zu bytes", n);
    uint8_t *b = xmalloc(n + 1);
    const char *p = tpath("bad.npy");
    const int64_t w[2] = {5, 900};

    memcpy(b, g, n); b[1] = 'X';
    write_bytes(p, b, n);
    expect_refusal("bad magic", p, NPY_U8, 2, w, "bad magic");
    write_bytes(p, g, 3);
    expect_refusal("3-byte file", p, NPY_U8, 2, w, "bad magic");
    write_bytes(p, g, 0);
    expect_refusal("empty file", p, NPY_U8, 2, w, "bad magic");
    write_bytes(p, g, 8);
    expect_refusal("8-byte file", p, NPY_U8, 2, w, "truncated");
    memcpy(b, g, n); b[6] = 2;
    write_bytes(p, b, n);
    expect_refusal("version 2", p, NPY_U8, 2, w, "version 2.0 is not supported");
    write_bytes(p, g, 60);
    expect_refusal("truncated header", p, NPY_U8, 2, w, "past the end");
    memcpy(b, g, n); b[8] = 0xff; b[9] = 0xff;
    write_bytes(p, b, n);
    expect_refusal("header length 65535", p, NPY_U8, 2, w, "past the end");
    write_bytes(p, g, n - 1);
    expect_refusal("truncated data", p, NPY_U8, 2, w, "file is 4627 bytes, header and shape (5, 900) need 4628");
    write_bytes(p, g, 128);
    expect_refusal("header only", p, NPY_U8, 2, w, "need 4628");
    memcpy(b, g, n); b[n] = 0;
    write_bytes(p, b, n + 1);
    expect_refusal("trailing byte", p, NPY_U8, 2, w, "file is 4629 bytes");
    expect_refusal("wrong dtype", good, NPY_I32, 2, NULL, "dtype '|u1', expected '<i4'");
    expect_refusal("wrong ndim", good, NPY_U8, 1, NULL, "2 dimensions, expected 1");
    const int64_t wc[2] = {-1, 901}, wr[2] = {4, -1};
    expect_refusal("wrong columns", good, NPY_U8, 2, wc, "shape (5, 900), expected 901 columns");
    expect_refusal("wrong rows", good, NPY_U8, 2, wr, "expected 4 rows");
    const int64_t w1[1] = {3};
    write_npy_dict(p, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", v, 8);
    expect_refusal("wrong length", p, NPY_I32, 1, w1, "expected 3 elements");
    expect_refusal("missing file", tpath("nope.npy"), NPY_U8, 2, NULL, "cannot open");
    expect_refusal("directory", tmpdir, NPY_U8, 2, NULL, "not a regular file");

    // Hand-written headers.
    struct { const char *what, *dict, *word; NpyDtype dt; int ndim; } hdr[] = {
        {"float dtype", "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 900), }", "dtype '<f4', expected '|u1'", NPY_U8, 2},
        {"big-endian i4", "{'descr': '>i4', 'fortran_order': False, 'shape': (5, 900), }", "dtype '>i4'", NPY_I32, 2},
        {"fortran order", "{'descr': '|u1', 'fortran_order': True, 'shape': (5, 900), }", "fortran_order", NPY_U8, 2},
        {"3 dims", "{'descr': '|u1', 'fortran_order': False, 'shape': (5, 9, 100), }", "3 dimensions, expected 2", NPY_U8, 2},
        {"scalar", "{'descr': '|u1', 'fortran_order': False, 'shape': (), }", "0 dimensions", NPY_U8, 2},
        {"negative dim", "{'descr': '|u1', 'fortran_order': False, 'shape': (-5, 900), }", "negative", NPY_U8, 2},
        {"product overflow", "{'descr': '|u1', 'fortran_order': False, 'shape': (9223372036854775807, 900), }", "too large", NPY_U8, 2},
        {"bytes overflow", "{'descr': '<i4', 'fortran_order': False, 'shape': (4611686018427387904,), }", "too large", NPY_I32, 1},
        {"dim past int64", "{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999, 1), }", "out of range", NPY_U8, 2},
        {"garbage", "hello, world", "malformed", NPY_U8, 2},
        {"empty dict", "{}", "missing key", NPY_U8, 2},
        {"missing shape", "{'descr': '|u1', 'fortran_order': False, }", "missing key", NPY_U8, 2},
        {"unknown key", "{'descr': '|u1', 'fortran_order': False, 'shape': (5, 900), 'x': 1}", "unknown key", NPY_U8, 2},
        {"duplicate key", "{'descr': '|u1', 'descr': '|u1', 'fortran_order': False, 'shape': (5, 900)}", "duplicate", NPY_U8, 2},
        {"unclosed dict", "{'descr': '|u1', 'fortran_order': False, 'shape': (5, 900), ", "malformed", NPY_U8, 2},
        {"unclosed tuple", "{'descr': '|u1', 'fortran_order': False, 'shape': (5, 900, }", "malformed", NPY_U8, 2},
        {"not a tuple", "{'descr': '|u1', 'fortran_order': False, 'shape': (4500), }", "not a tuple", NPY_U8, 1},
        {"list shape", "{'descr': '|u1', 'fortran_order': False, 'shape': [5, 900], }", "not a tuple", NPY_U8, 2},
        {"missing comma", "{'descr': '|u1' 'fortran_order': False, 'shape': (5, 900), }", "malformed", NPY_U8, 2},
        {"double comma", "{'descr': '|u1', 'fortran_order': False, 'shape': (5,, 900), }", "malformed", NPY_U8, 2},
        {"leading comma", "{, 'descr': '|u1', 'fortran_order': False, 'shape': (5, 900)}", "malformed", NPY_U8, 2},
        {"bad bool", "{'descr': '|u1', 'fortran_order': Falsey, 'shape': (5, 900), }", "True or False", NPY_U8, 2},
        {"unquoted descr", "{'descr': u1, 'fortran_order': False, 'shape': (5, 900), }", "dtype string", NPY_U8, 2},
        {"unterminated str", "{'descr': '|u1, 'fortran_order': False, 'shape': (5, 900), }", "malformed", NPY_U8, 2},
        {"text after dict", "{'descr': '|u1', 'fortran_order': False, 'shape': (5, 900), } x", "text after", NPY_U8, 2},
        {"float dim", "{'descr': '|u1', 'fortran_order': False, 'shape': (5.0, 900), }", "malformed", NPY_U8, 2},
    };
    for (size_t i = 0; i < sizeof hdr / sizeof hdr[0]; i++) {
        write_npy_dict(p, hdr[i].dict, v, 4500);
        expect_refusal(hdr[i].what, p, hdr[i].dt, hdr[i].ndim, NULL, hdr[i].word);
    }
    // A NUL inside the header, and a header of only spaces whose dict never opens.
    const char nul[] = "{'descr': '|u1', 'fortran_order': False, 'shape': (5, 900), }\0 }";
    write_npy_raw(p, nul, sizeof nul - 1, 64, v, 4500);
    expect_refusal("NUL in header", p, NPY_U8, 2, NULL, "NUL byte");
    write_npy_raw(p, "", 0, 64, v, 4500);
    expect_refusal("blank header", p, NPY_U8, 2, NULL, "malformed");
    // An i4 array whose data would start at an odd offset cannot be used in place.
    const char *odd = "{'descr': '<i4', 'fortran_order': False, 'shape': (1,), } ";   // data at 69
    write_npy_raw(p, odd, strlen(odd), 1, v, 4);
    expect_refusal("misaligned i4", p, NPY_I32, 1, NULL, "not a multiple of 4");
    // Control bytes from the file do not break the one-line message.
    write_npy_dict(p, "{'descr': '<f\n4', 'fortran_order': False, 'shape': (5, 900), }", v, 4500);
    expect_refusal("newline in descr", p, NPY_U8, 2, NULL, "dtype '<f?4'");

    free(b);
    free(g);
    free(v);
}

// What np.load accepts and np.save never writes: other key order and spacing, no trailing
// commas, '<u1', 16-byte alignment (older numpy), no final newline.
static void test_lenient(void) {
    const char *p = tpath("lenient.npy");
    uint8_t v[6] = {1, 2, 3, 4, 5, 6};
    const int64_t s23[2] = {2, 3}, s6[1] = {6}, s32[2] = {3, 2};
    write_npy_dict(p, "{ \"shape\" :(2,3) ,'fortran_order':False,\t'descr':'<u1'}", v, 6);
    expect_accepted("reordered keys, no trailing commas", p, NPY_U8, 2, s23, v, 6);
    write_npy_dict(p, "{'descr': '|u1', 'fortran_order': False, 'shape': (6,), }", v, 6);
    expect_accepted("1-D u8", p, NPY_U8, 1, s6, v, 6);
    const char *d16 = "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 2,), }";
    write_npy_raw(p, d16, strlen(d16), 16, v, 6);
    expect_accepted("16-byte alignment, comma in 2-tuple", p, NPY_U8, 2, s32, v, 6);
    size_t n;
    uint8_t *b = read_bytes(p, &n);
    CHECK(n == 80 + 6 && b[79] == '\n', "16-aligned fixture is %zu bytes", n);
    b[79] = ' ';
    write_bytes(p, b, n);
    expect_accepted("no final newline", p, NPY_U8, 2, s32, v, 6);
    free(b);
}

static void test_write_failures(void) {
    char err[ERR_LEN] = "", tmp[512];
    const int64_t shape[1] = {4};
    const int32_t v[4] = {1, 2, 3, 4};

    const char *nodir = tpath("no_such_dir/x.npy");
    CHECK(npy_write(nodir, NPY_I32, 1, shape, v, err) == -1, "write into a missing directory succeeded");
    CHECK(strstr(err, nodir) != NULL && strstr(err, "cannot create") != NULL, "missing dir error: '%s'", err);
    CHECK(!exists(nodir), "missing dir: file appeared");

    // The rename fails when path is a directory: the temp file was written and must go.
    const char *dir = tpath("a_directory.npy");
    CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir);
    err[0] = '\0';
    CHECK(npy_write(dir, NPY_I32, 1, shape, v, err) == -1, "write over a directory succeeded");
    CHECK(strstr(err, dir) != NULL && strstr(err, "rename") != NULL, "rename error: '%s'", err);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", dir, (long)getpid());
    CHECK(!exists(tmp), "temp file %s left behind", tmp);
    struct stat st;
    CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), "directory was replaced");
    rmdir(dir);

    // Bad arguments leave an existing file as it was.
    const char *p = tpath("keep.npy");
    CHECK(npy_write(p, NPY_I32, 1, shape, v, err) == 0, "write keep: %s", err);
    const int64_t neg[1] = {-1}, s3[3] = {1, 1, 1};
    CHECK(npy_write(p, NPY_I32, 1, neg, v, err) == -1 && strstr(err, p) != NULL, "negative shape accepted");
    CHECK(npy_write(p, NPY_I32, 3, s3, v, err) == -1, "3-D write accepted");
    CHECK(npy_write(p, NPY_I32, 1, shape, NULL, err) == -1, "NULL data accepted");
    NpyArray a;
    CHECK(npy_map(&a, p, NPY_I32, 1, shape, err) == 0 && ((const int32_t *)a.data)[3] == 4, "keep.npy changed: %s", err);
    npy_unmap(&a);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    CHECK(!exists(tmp), "temp file left after successful write");
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_npy.%ld", (long)getpid());
    if (mkdir(tmpdir, 0700) != 0) die("cannot create %s", tmpdir);
    test_round_trip_u8();
    test_round_trip_i32();
    test_empty();
    test_reference();
    test_refusals();
    test_lenient();
    test_write_failures();
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "test_npy: could not remove %s\n", tmpdir);
    return test_summary("npy");
}
