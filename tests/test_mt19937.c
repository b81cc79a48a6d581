// test_mt19937.c: the numpy legacy stream port against published MT19937 outputs and
// against tests/fixtures/numpy_stream.txt, written by numpy itself
// (tests/reference/numpy_stream.py documents the format).
#include <stdlib.h>
#include <string.h>

#include "mt19937.h"
#include "test.h"

#define FIXTURE "tests/fixtures/numpy_stream.txt"

// Values that do not depend on the fixture, so an emptied fixture still fails something.
static void test_known_values(void) {
    Mt19937 r;
    // init_genrand(5489), the reference code's default seed (also C++'s std::mt19937).
    mt_seed(&r, 5489);
    const uint32_t first[5] = {3499211612u, 581869302u, 3890346734u, 3586334585u, 545404204u};
    for (int i = 0; i < 5; i++) {
        uint32_t v = mt_next32(&r);
        CHECK(v == first[i], "seed 5489 output %d: %u, want %u", i, v, first[i]);
    }
    // C++11 requires the 10000th output of the default-seeded mt19937 to be 4123659995:
    // this crosses 16 regenerations of the state.
    mt_seed(&r, 5489);
    uint32_t v = 0;
    for (int i = 0; i < 10000; i++) v = mt_next32(&r);
    CHECK(v == 4123659995u, "seed 5489 output 10000: %u, want 4123659995", v);
    // np.random.seed(42); np.random.randint(0, 2**32, dtype=np.uint32) -> 1608637542, ...
    mt_seed(&r, 42);
    CHECK(mt_next32(&r) == 1608637542u && mt_next32(&r) == 3421126067u, "seed 42 first outputs");
    // np.random.seed(42); np.random.randint(0, 2**40) -> 441507790259: a 64-bit draw,
    // high word first.
    mt_seed(&r, 42);
    int64_t w = mt_randint(&r, 0, (int64_t)1 << 40);
    CHECK(w == 441507790259LL, "seed 42 randint(0, 2^40): %lld, want 441507790259", (long long)w);
}

// Calls that must not draw: interval(0), randint(lo, lo + 1), shuffles of 0 or 1 element.
static void test_no_draws(void) {
    Mt19937 r, ref;
    mt_seed(&r, 7);
    mt_seed(&ref, 7);
    int one = 5;
    CHECK(mt_interval(&r, 0) == 0, "interval(0)");
    CHECK(mt_randint(&r, -3, -2) == -3, "randint(-3, -2)");
    mt_shuffle(&r, &one, 1, sizeof one);
    mt_shuffle(&r, NULL, 0, sizeof one);
    mt_permutation(&r, &one, 1);
    CHECK(one == 0, "permutation(1)");
    CHECK(mt_next32(&r) == mt_next32(&ref), "no-draw calls consumed the stream");
}

// Shuffling wide elements moves whole elements exactly as an index shuffle does.
static void test_shuffle_wide(void) {
    typedef struct { int id; char pad[9]; } Item;
    enum { N = 50 };
    Item items[N];
    int idx[N];
    for (int i = 0; i < N; i++) {
        items[i].id = i;
        memset(items[i].pad, 'a' + i % 26, sizeof items[i].pad);
        idx[i] = i;
    }
    Mt19937 a, b;
    mt_seed(&a, 99);
    mt_seed(&b, 99);
    mt_shuffle(&a, items, N, sizeof items[0]);
    mt_shuffle(&b, idx, N, sizeof idx[0]);
    int ok = 1;
    for (int i = 0; i < N; i++)
        ok &= items[i].id == idx[i] && items[i].pad[8] == 'a' + idx[i] % 26;
    CHECK(ok, "shuffle of %zu-byte elements differs from the index shuffle", sizeof items[0]);
}

// One fixture line "op args : values" replayed on r; returns 1 if all values match, else
// 0 with the first mismatch described in msg.
static int replay(Mt19937 *r, const char *op, const long long *args, int nargs,
                  const long long *want, int n, char *msg, size_t msg_len) {
    long long *got = xcalloc((size_t)(n > 0 ? n : 1), sizeof *got);
    int known = 1;
    if (!strcmp(op, "raw") && nargs == 0) {
        for (int i = 0; i < n; i++) got[i] = mt_next32(r);
    } else if (!strcmp(op, "randint") && nargs == 2) {
        for (int i = 0; i < n; i++) got[i] = mt_randint(r, args[0], args[1]);
    } else if ((!strcmp(op, "shuffle") || !strcmp(op, "permutation")) && nargs == 1 &&
               args[0] == n) {
        // numpy's shuffle of 0..n-1 and permutation(n) draw the same numbers.
        int *p = xcalloc((size_t)(n > 0 ? n : 1), sizeof *p);
        mt_permutation(r, p, n);
        for (int i = 0; i < n; i++) got[i] = p[i];
        free(p);
    } else {
        known = 0;
    }
    int ok = known;
    if (!known) snprintf(msg, msg_len, "unknown op '%s' with %d args, %d values", op, nargs, n);
    for (int i = 0; known && i < n; i++) {
        if (got[i] != want[i]) {
            snprintf(msg, msg_len, "value %d: %lld, numpy %lld", i, got[i], want[i]);
            ok = 0;
            break;
        }
    }
    free(got);
    return ok;
}

static void test_fixture(void) {
    FILE *f = fopen(FIXTURE, "r");
    CHECK(f != NULL, "cannot open %s (tests run from the repository root)", FIXTURE);
    if (!f) return;
    Mt19937 r;
    int seeded = 0, ops = 0, values = 0, seeds = 0, wide = 0, lineno = 0;
    int kinds[4] = {0};   // raw, randint, shuffle, permutation
    char *line = NULL;
    size_t cap = 0;
    long long *want = NULL;
    int want_cap = 0;
    while (getline(&line, &cap, f) != -1) {
        lineno++;
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        if (*s == '#' || *s == '\n' || *s == '\0') continue;
        if (!strncmp(s, "seed ", 5)) {
            char *end;
            unsigned long long sd = strtoull(s + 5, &end, 10);
            CHECK(end != s + 5 && sd <= 0xffffffffULL, "line %d: bad seed", lineno);
            mt_seed(&r, (uint32_t)sd);
            seeded = 1;
            seeds++;
            continue;
        }
        char *colon = strchr(s, ':');
        if (!colon || !seeded) {
            CHECK(0, "line %d: not 'op args : values' after a seed line", lineno);
            continue;
        }
        *colon = '\0';
        // Head: op name, then up to 2 integer arguments.
        char op[32] = "";
        long long args[3];
        int nargs = 0, used = 0;
        sscanf(s, "%31s%n", op, &used);
        for (char *p = s + used, *end;; p = end) {
            long long a = strtoll(p, &end, 10);
            if (end == p || nargs == 3) break;
            args[nargs++] = a;
        }
        // Values.
        int n = 0;
        for (char *p = colon + 1, *end;; p = end) {
            long long v = strtoll(p, &end, 10);
            if (end == p) break;
            if (n == want_cap) {
                want_cap = want_cap ? 2 * want_cap : 256;
                want = xrealloc(want, (size_t)want_cap * sizeof *want);
            }
            want[n++] = v;
        }
        char msg[160] = "";
        int ok = replay(&r, op, args, nargs, want, n, msg, sizeof msg);
        CHECK(ok, "%s line %d (%s): %s", FIXTURE, lineno, op, msg);
        ops++;
        values += n;
        if (!strcmp(op, "raw")) kinds[0]++;
        if (!strcmp(op, "randint")) kinds[1]++;
        if (!strcmp(op, "shuffle")) kinds[2]++;
        if (!strcmp(op, "permutation")) kinds[3]++;
        if (!strcmp(op, "randint") && nargs == 2 &&
            (uint64_t)args[1] - (uint64_t)args[0] - 1 > 0xffffffffULL)
            wide++;
    }
    free(line);
    free(want);
    fclose(f);
    // The committed fixture has 2422 ops; a truncated one must not pass quietly.
    CHECK(ops >= 2400 && values >= 20000 && seeds >= 100,
          "fixture too small: %d ops, %d values, %d seeds", ops, values, seeds);
    CHECK(kinds[0] > 0 && kinds[1] > 0 && kinds[2] > 0 && kinds[3] > 0 && wide >= 8,
          "fixture lacks an op kind (raw %d, randint %d, shuffle %d, permutation %d, wide %d)",
          kinds[0], kinds[1], kinds[2], kinds[3], wide);
}

int main(void) {
    test_known_values();
    test_no_draws();
    test_shuffle_wide();
    test_fixture();
    return test_summary("mt19937");
}
