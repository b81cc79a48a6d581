// test.h: the smallest harness that can fail. Each CHECK counts one assertion; a test
// binary ends with test_summary(), which prints "name: N passed, N failed" and returns
// non-zero if anything failed. tests/run.sh adds the counts of all binaries.
#ifndef TRM_TEST_H
#define TRM_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"

static int test_passed_, test_failed_;

#define CHECK(cond, ...) do {                                              \
        if (cond) test_passed_++;                                          \
        else {                                                             \
            test_failed_++;                                                \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);           \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
        }                                                                  \
    } while (0)

// |a - b| <= tol, with the values in the message.
#define CHECK_NEAR(a, b, tol, what) do {                                   \
        double a_ = (a), b_ = (b), t_ = (tol);                             \
        CHECK(fabs(a_ - b_) <= t_, "%s: %.10g vs %.10g (tol %.3g)",        \
              (what), a_, b_, t_);                                         \
    } while (0)

// Whole-file helpers for tests that write and corrupt files (they die() on I/O errors).
static inline void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) die("cannot write %s", path);
}

static inline uint8_t *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot read %s", path);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = xmalloc(*n);
    if (*n && fread(p, 1, *n, f) != *n) die("short read %s", path);
    fclose(f);
    return p;
}

static inline int test_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, test_passed_, test_failed_);
    return test_failed_ ? 1 : 0;
}

#endif
