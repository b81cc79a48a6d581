// npy.c: NumPy .npy format 1.0, mapped read-only on read, written as np.save does (see npy.h).
// POSIX 2008 for pread, fsync, fileno even under a strict -std=c11.
#define _POSIX_C_SOURCE 200809L
#include "npy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// The data are used in place, and the files hold little-endian '<i4'.
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian host"
#endif

#define NPY_PREAMBLE 10          // magic (6), version (2), header length (u16)
#define NPY_ALIGN 64             // numpy's ARRAY_ALIGN
#define NPY_GROWTH_DIGITS 21     // numpy's GROWTH_AXIS_MAX_DIGITS
#define NPY_PARSE_DIMS 32        // numpy's NPY_MAXDIMS: more is not a real .npy file

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

static size_t itemsize(NpyDtype d) { return d == NPY_U8 ? 1 : 4; }
static const char *descr_name(NpyDtype d) { return d == NPY_I32 ? "<i4" : d == NPY_F32 ? "<f4" : "|u1"; }

// The shape as Python's repr of a tuple: "(961,)", "(3988, 900)". np.save writes exactly this.
static void format_shape(char *out, size_t size, const int64_t *shape, int ndim) {
    size_t len = (size_t)snprintf(out, size, "(");
    for (int i = 0; i < ndim && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (len < size) snprintf(out + len, size - len, ndim == 1 ? ",)" : ")");
}

// ---------------------------------------------------------------------------------
// Header parsing: the one Python dict literal np.save writes, read as a tiny grammar
// (not evaluated). Works on a NUL-terminated copy, so running off the text stops at NUL.

typedef struct {
    char descr[32];
    bool fortran;
    int ndim;
    int64_t shape[NPY_PARSE_DIMS];
} NpyHeader;

static void skip_ws(const char **p) {
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r') (*p)++;
}

static bool eat(const char **p, char c) {
    skip_ws(p);
    if (**p != c) return false;
    (*p)++;
    return true;
}

// A quoted string without escapes (a dtype string never needs one).
static bool parse_str(const char **p, char *out, size_t cap) {
    skip_ws(p);
    char q = **p;
    if (q != '\'' && q != '"') return false;
    const char *s = ++*p;
    while (**p && **p != q && **p != '\\') (*p)++;
    size_t n = (size_t)(*p - s);
    if (**p != q || n >= cap) return false;
    memcpy(out, s, n);
    out[n] = '\0';
    (*p)++;
    return true;
}

static bool parse_word(const char **p, const char *w) {
    skip_ws(p);
    size_t n = strlen(w);
    if (strncmp(*p, w, n) != 0) return false;
    char c = (*p)[n];
    if (c == '_' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) return false;
    *p += n;
    return true;
}

// A tuple of integers; a lone element needs its comma, since "(5)" is the int 5 in Python.
// Negative sizes parse here and are refused with their own message later.
static const char *parse_shape(const char **p, NpyHeader *h) {
    if (!eat(p, '(')) return "shape is not a tuple";
    int n = 0;
    bool comma = false;
    while (!eat(p, ')')) {
        if (n > 0 && !comma) return "expected ',' or ')' in shape";
        if (n == NPY_PARSE_DIMS) return "too many dimensions";
        bool neg = eat(p, '-');
        if (!(**p >= '0' && **p <= '9')) return "expected an integer in shape";
        int64_t v = 0;
        for (; **p >= '0' && **p <= '9'; (*p)++)
            if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, **p - '0', &v))
                return "dimension out of range";
        h->shape[n++] = neg ? -v : v;
        comma = eat(p, ',');
    }
    if (n == 1 && !comma) return "shape is not a tuple";
    h->ndim = n;
    return NULL;
}

// NULL on success, else what is wrong. Each of the three keys exactly once, any order.
static const char *parse_header(const char *text, NpyHeader *h) {
    const char *p = text;
    if (!eat(&p, '{')) return "expected '{'";
    unsigned seen = 0;
    bool comma = true;
    while (!eat(&p, '}')) {
        if (!comma) return "expected ',' or '}'";
        char key[16];
        if (!parse_str(&p, key, sizeof key)) return "expected a quoted key";
        if (!eat(&p, ':')) return "expected ':'";
        unsigned bit = !strcmp(key, "descr") ? 1u : !strcmp(key, "fortran_order") ? 2u
                     : !strcmp(key, "shape") ? 4u : 0u;
        if (!bit) return "unknown key";
        if (seen & bit) return "duplicate key";
        seen |= bit;
        const char *why = NULL;
        if (bit == 1 && !parse_str(&p, h->descr, sizeof h->descr)) why = "descr is not a dtype string";
        if (bit == 2) {
            if (parse_word(&p, "True")) h->fortran = true;
            else if (parse_word(&p, "False")) h->fortran = false;
            else why = "fortran_order is not True or False";
        }
        if (bit == 4) why = parse_shape(&p, h);
        if (why) return why;
        comma = eat(&p, ',');
    }
    if (seen != 7) return "missing key";
    skip_ws(&p);   // np.save pads with spaces and ends with '\n'; nothing else may follow
    return *p ? "text after the dict" : NULL;
}

// ---------------------------------------------------------------------------------
// Reading

// Everything but the mapping: fills a (except data and map) and the data offset.
static int check_file(int fd, const char *path, NpyDtype dtype, int ndim, const int64_t *want,
                      NpyArray *a, uint64_t *data_off, uint64_t *file_len, char *err) {
    struct stat st;
    if (fstat(fd, &st) != 0) return err_set(err, "%s: cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return err_set(err, "%s: not a regular file", path);
    uint64_t size = (uint64_t)st.st_size;
    uint8_t pre[NPY_PREAMBLE];
    ssize_t got = pread(fd, pre, sizeof pre, 0);
    if (got < 0) return err_set(err, "%s: cannot read: %s", path, strerror(errno));
    if (got < 6 || memcmp(pre, npy_magic, 6) != 0) return err_set(err, "%s: not a .npy file (bad magic)", path);
    if (got < NPY_PREAMBLE) return err_set(err, "%s: truncated .npy header (file is %" PRIu64 " bytes)", path, size);
    if (pre[6] != 1 || pre[7] != 0)
        return err_set(err, "%s: .npy version %d.%d is not supported (expected 1.0)", path, pre[6], pre[7]);
    size_t hl = (size_t)pre[8] | (size_t)pre[9] << 8;
    if (NPY_PREAMBLE + hl > size)
        return err_set(err, "%s: header length %zu runs past the end of the file (%" PRIu64 " bytes)",
                       path, hl, size);

    // The header is not NUL-terminated in the file; parse a bounded, terminated copy.
    char *text = xmalloc(hl + 1);
    if (pread(fd, text, hl, NPY_PREAMBLE) != (ssize_t)hl) {
        free(text);
        return err_set(err, "%s: cannot read the .npy header", path);
    }
    text[hl] = '\0';
    NpyHeader h = {0};
    const char *why = memchr(text, '\0', hl) ? "NUL byte in header" : parse_header(text, &h);
    free(text);
    if (why) return err_set(err, "%s: malformed .npy header (%s)", path, why);

    bool dtype_ok = !strcmp(h.descr, descr_name(dtype)) || (dtype == NPY_U8 && !strcmp(h.descr, "<u1"));
    if (!dtype_ok) return err_set(err, "%s: dtype '%s', expected '%s'", path, h.descr, descr_name(dtype));
    if (h.fortran) return err_set(err, "%s: fortran_order arrays are not supported", path);
    if (h.ndim != ndim) return err_set(err, "%s: %d dimensions, expected %d", path, h.ndim, ndim);
    char shp[128];
    format_shape(shp, sizeof shp, h.shape, h.ndim);
    for (int i = 0; i < ndim; i++)
        if (h.shape[i] < 0) return err_set(err, "%s: negative dimension in shape %s", path, shp);
    for (int i = 0; i < ndim; i++) {
        if (!want || want[i] < 0 || h.shape[i] == want[i]) continue;
        const char *what = ndim == 1 ? "elements" : i == 0 ? "rows" : "columns";
        return err_set(err, "%s: shape %s, expected %" PRId64 " %s", path, shp, want[i], what);
    }

    // Any zero dimension makes the array empty, whatever the others are.
    int64_t numel = 1, bytes;
    bool empty = false;
    for (int i = 0; i < ndim; i++) empty |= h.shape[i] == 0;
    for (int i = 0; i < ndim && !empty && numel >= 0; i++)
        if (__builtin_mul_overflow(numel, h.shape[i], &numel)) numel = -1;
    if (empty) numel = 0;
    uint64_t need;
    if (numel < 0 || __builtin_mul_overflow(numel, (int64_t)itemsize(dtype), &bytes) ||
        __builtin_add_overflow((uint64_t)bytes, (uint64_t)(NPY_PREAMBLE + hl), &need) || need > SIZE_MAX)
        return err_set(err, "%s: shape %s is too large", path, shp);
    if (need != size)
        return err_set(err, "%s: file is %" PRIu64 " bytes, header and shape %s need %" PRIu64,
                       path, size, shp, need);
    // numpy aligns the data to 64 (16 before 1.?); an int32 read from an odd offset is UB here.
    if ((NPY_PREAMBLE + hl) % itemsize(dtype) != 0)
        return err_set(err, "%s: data offset %zu is not a multiple of %zu", path, NPY_PREAMBLE + hl,
                       itemsize(dtype));

    a->dtype = dtype;
    a->ndim = ndim;
    for (int i = 0; i < ndim; i++) a->shape[i] = h.shape[i];
    a->numel = numel;
    *data_off = NPY_PREAMBLE + hl;
    *file_len = size;
    return 0;
}

int npy_map(NpyArray *a, const char *path, NpyDtype dtype, int ndim, const int64_t *want_shape,
            char *err) {
    memset(a, 0, sizeof *a);
    if ((dtype != NPY_U8 && dtype != NPY_I32 && dtype != NPY_F32) || ndim < 1 || ndim > NPY_MAX_DIMS)
        return err_set(err, "%s: npy_map: unsupported dtype %d or ndim %d", path, (int)dtype, ndim);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return err_set(err, "%s: cannot open: %s", path, strerror(errno));
    uint64_t off = 0, len = 0;
    int rc = check_file(fd, path, dtype, ndim, want_shape, a, &off, &len, err);
    if (rc == 0 && a->numel > 0) {
        void *m = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) rc = err_set(err, "%s: cannot map: %s", path, strerror(errno));
        else {
            a->map = m;
            a->map_len = (size_t)len;
            a->data = (const uint8_t *)m + off;
        }
    } else if (rc == 0) {
        // Nothing to map; a non-NULL pointer still lets callers memcpy(dst, data, 0).
        static const int64_t empty;
        a->data = &empty;
    }
    close(fd);
    if (rc != 0) memset(a, 0, sizeof *a);
    return rc;
}

void npy_unmap(NpyArray *a) {
    if (a->map) munmap(a->map, a->map_len);
    memset(a, 0, sizeof *a);
}

// ---------------------------------------------------------------------------------
// Writing

// The header exactly as numpy 1.24's _write_array_header + _wrap_header: the dict with
// sorted keys, GROWTH_AXIS_MAX_DIGITS - len(repr(shape[0])) spaces so the first axis can
// grow in place, then spaces and '\n' up to a multiple of 64 (a full 64 if already
// aligned: numpy's padlen is 64 - x % 64). Returns the total bytes including the preamble.
static size_t build_header(char out[256], NpyDtype dtype, int ndim, const int64_t *shape) {
    char shp[64];
    format_shape(shp, sizeof shp, shape, ndim);
    memcpy(out, npy_magic, 6);
    out[6] = 1, out[7] = 0;
    size_t len = NPY_PREAMBLE + (size_t)snprintf(out + NPY_PREAMBLE, 256 - NPY_PREAMBLE,
        "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr_name(dtype), shp);
    size_t growth = NPY_GROWTH_DIGITS - (size_t)snprintf(NULL, 0, "%" PRId64, shape[0]);
    size_t pad = NPY_ALIGN - (len + growth + 1) % NPY_ALIGN;
    memset(out + len, ' ', growth + pad);
    len += growth + pad;
    out[len++] = '\n';
    size_t hl = len - NPY_PREAMBLE;
    out[8] = (char)(hl & 0xff), out[9] = (char)(hl >> 8);
    return len;
}

static int check_shape(const char *path, NpyDtype dtype, int ndim, const int64_t *shape, int64_t *bytes,
                       char *err) {
    if ((dtype != NPY_U8 && dtype != NPY_I32 && dtype != NPY_F32) || ndim < 1 || ndim > NPY_MAX_DIMS)
        return err_set(err, "%s: npy_write: unsupported dtype %d or ndim %d", path, (int)dtype, ndim);
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || __builtin_mul_overflow(numel, shape[i], &numel))
            return err_set(err, "%s: npy_write: bad shape", path);
    }
    if (__builtin_mul_overflow(numel, (int64_t)itemsize(dtype), bytes) || (uint64_t)*bytes > SIZE_MAX)
        return err_set(err, "%s: npy_write: array too large", path);
    return 0;
}

int npy_stream_open(NpyStream *s, const char *path, NpyDtype dtype, int ndim, const int64_t *shape,
                    char *err) {
    memset(s, 0, sizeof *s);
    int64_t bytes;
    if (check_shape(path, dtype, ndim, shape, &bytes, err)) return -1;
    // The longest header (two 19-digit dimensions) is well under 256 bytes.
    char hdr[256];
    size_t hlen = build_header(hdr, dtype, ndim, shape);
    size_t tlen = strlen(path) + 32;
    s->tmp = xmalloc(tlen);
    snprintf(s->tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
    s->path = xstrdup(path);
    s->expect = (size_t)bytes;
    s->f = fopen(s->tmp, "wb");
    if (!s->f) {
        err_set(err, "%s: cannot create temp file '%s': %s", path, s->tmp, strerror(errno));
        npy_stream_abort(s);
        return -1;
    }
    if (fwrite(hdr, 1, hlen, s->f) != hlen) {
        err_set(err, "%s: writing temp file '%s' failed: %s", path, s->tmp, strerror(errno ? errno : EIO));
        npy_stream_abort(s);
        return -1;
    }
    return 0;
}

int npy_stream_write(NpyStream *s, const void *data, size_t bytes, char *err) {
    if (s->written + bytes > s->expect)
        return err_set(err, "%s: npy_write: %zu bytes past the declared shape", s->path, s->written + bytes - s->expect);
    errno = 0;
    if (bytes && fwrite(data, 1, bytes, s->f) != bytes)
        return err_set(err, "%s: writing temp file '%s' failed: %s", s->path, s->tmp, strerror(errno ? errno : EIO));
    s->written += bytes;
    return 0;
}

void npy_stream_abort(NpyStream *s) {
    if (s->f) fclose(s->f);
    if (s->tmp) unlink(s->tmp);
    free(s->tmp);
    free(s->path);
    memset(s, 0, sizeof *s);
}

int npy_stream_close(NpyStream *s, char *err) {
    int e = 0, rc = 0;
    if (s->written != s->expect)
        rc = err_set(err, "%s: npy_write: %zu of %zu data bytes written", s->path, s->written, s->expect);
    if (!rc && fflush(s->f) != 0) e = errno;
    if (!rc && !e && fsync(fileno(s->f)) != 0) e = errno;
    if (fclose(s->f) != 0 && !e) e = errno;
    s->f = NULL;
    if (!rc && e) rc = err_set(err, "%s: writing temp file '%s' failed: %s", s->path, s->tmp, strerror(e));
    if (!rc && rename(s->tmp, s->path) != 0)
        rc = err_set(err, "%s: cannot rename temp file '%s' into place: %s", s->path, s->tmp, strerror(errno));
    if (!rc) {     // renamed: nothing left to remove
        free(s->tmp);
        s->tmp = NULL;
    }
    npy_stream_abort(s);
    return rc;
}

int npy_write(const char *path, NpyDtype dtype, int ndim, const int64_t *shape, const void *data,
              char *err) {
    int64_t bytes;
    if (check_shape(path, dtype, ndim, shape, &bytes, err)) return -1;
    if (bytes > 0 && !data) return err_set(err, "%s: npy_write: no data", path);
    NpyStream s;
    if (npy_stream_open(&s, path, dtype, ndim, shape, err)) return -1;
    if (npy_stream_write(&s, data, (size_t)bytes, err)) {
        npy_stream_abort(&s);
        return -1;
    }
    return npy_stream_close(&s, err);
}
