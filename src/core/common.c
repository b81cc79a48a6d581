#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
#include <time.h>

int err_set(char *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, ERR_LEN, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void error_vprint(const char *fmt, va_list ap) {
    fprintf(stderr, "trm: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
}

void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    error_vprint(fmt, ap);
    va_end(ap);
    exit(1);
}

void *xmalloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) die("out of memory allocating %zu bytes", size);
    return p;
}

void *xcalloc(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) die("allocation of %zu x %zu bytes overflows", count, size);
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) die("out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *xrealloc(void *ptr, size_t size) {
    void *p = realloc(ptr, size ? size : 1);
    if (!p) die("out of memory reallocating %zu bytes", size);
    return p;
}

void *xcalloc_huge(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) die("allocation of %zu x %zu bytes overflows", count, size);
    size_t bytes = count * size;
    const size_t huge = (size_t)2 << 20;
    if (bytes < 2 * huge) return xcalloc(count, size);
    // Large buffers in 2 MiB pages: a first touch of a fresh 4 KiB page costs a fault, and
    // on the virtual machines this runs on faults are expensive (about 35x the cost of
    // rewriting the page); transparent huge pages cut their number 512-fold.
    size_t rounded = (bytes + huge - 1) / huge * huge;
    void *p = aligned_alloc(huge, rounded);
    if (!p) die("out of memory allocating %zu bytes", bytes);
#ifdef MADV_HUGEPAGE
    madvise(p, rounded, MADV_HUGEPAGE);
#endif
    memset(p, 0, bytes);
    return p;
}

char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int write_file_atomic(const char *path, const void *data, size_t n, char *err) {
    size_t len = strlen(path) + 32;
    char *tmp = xmalloc(len);
    snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int rc = 0;
    if (!f) rc = err_set(err, "%s: cannot create: %s", path, strerror(errno));
    else {
        bool ok = fwrite(data, 1, n, f) == n;
        ok = (fclose(f) == 0) && ok;
        if (!ok || rename(tmp, path) != 0) {
            rc = err_set(err, "%s: cannot write: %s", path, strerror(errno));
            remove(tmp);
        }
    }
    free(tmp);
    return rc;
}
