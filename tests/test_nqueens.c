// test_nqueens.c: the N-Queens generator, judge, symmetries, splits and the text dataset I/O.
#include "tasks/nqueens.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint8_t SOL[NQ_SOLUTIONS][NQ_CELLS];

static int find_solution(const uint8_t *b) {
    for (int s = 0; s < NQ_SOLUTIONS; s++)
        if (memcmp(SOL[s], b, NQ_CELLS) == 0) return s;
    return -1;
}

static int col_in_row(const uint8_t *b, int r) {
    for (int c = 0; c < NQ_N; c++)
        if (b[r * NQ_N + c] == NQ_QUEEN) return c;
    return -1;
}

static void test_enumerate(void) {
    CHECK(nq_enumerate_solutions(SOL, NQ_SOLUTIONS) == 92, "92 solutions");
    int valid = 0, distinct = 1, orbits = 0, size4 = 0;
    uint64_t canon[NQ_SOLUTIONS];
    for (int s = 0; s < NQ_SOLUTIONS; s++) {
        valid += nq_valid(SOL[s]);
        canon[s] = nq_canonical(SOL[s]);
        for (int t = 0; t < s; t++) distinct &= memcmp(SOL[s], SOL[t], NQ_CELLS) != 0;
    }
    for (int s = 0; s < NQ_SOLUTIONS; s++) {
        int first = 1, members = 0;
        for (int t = 0; t < NQ_SOLUTIONS; t++) {
            members += canon[t] == canon[s];
            if (t < s && canon[t] == canon[s]) first = 0;
        }
        orbits += first;
        size4 += first && members == 4;
    }
    CHECK(valid == 92, "all enumerated solutions valid (%d)", valid);
    CHECK(distinct, "enumerated solutions distinct");
    CHECK(orbits == 12 && size4 == 1, "12 D4 orbits, one of size 4 (%d, %d)", orbits, size4);
}

// Exact DFS prior P(s) = prod_r 1/v_r(s), v_r = columns of row r that extend s's first r
// queens to some solution (spec 8.1).
static double dfs_prior(int s) {
    double p = 1.0;
    for (int r = 0; r < NQ_N; r++) {
        unsigned viable = 0;
        for (int t = 0; t < NQ_SOLUTIONS; t++) {
            int same = 1;
            for (int q = 0; q < r; q++) same &= col_in_row(SOL[t], q) == col_in_row(SOL[s], q);
            if (same) viable |= 1u << col_in_row(SOL[t], r);
        }
        p /= __builtin_popcount(viable);
    }
    return p;
}

static void test_random_solutions(void) {
    Rng r;
    rng_seed(&r, 7);
    int valid = 0;
    for (int i = 0; i < 1000; i++) {
        uint8_t b[NQ_CELLS];
        nq_random_solution(&r, b);
        valid += nq_valid(b) && find_solution(b) >= 0;
    }
    CHECK(valid == 1000, "random solutions valid (%d / 1000)", valid);

    double prior[NQ_SOLUTIONS], sum = 0, pmax = 0, pmin = 1;
    int smax = 0;
    for (int s = 0; s < NQ_SOLUTIONS; s++) {
        prior[s] = dfs_prior(s);
        sum += prior[s];
        if (prior[s] > pmax) pmax = prior[s], smax = s;
        pmin = MIN(pmin, prior[s]);
    }
    CHECK_NEAR(sum, 1.0, 1e-12, "DFS prior sums to 1");
    CHECK_NEAR(pmax, 1.0 / 24, 1e-12, "max DFS prior 1/24");
    CHECK_NEAR(pmin, 1.0 / 480, 1e-12, "min DFS prior 1/480");

    // The sampler follows that prior: expected 1000 hits of the likeliest board, sd ~31.
    const int draws = 24000;
    int hits = 0;
    double chi2 = 0;
    int count[NQ_SOLUTIONS] = {0};
    for (int i = 0; i < draws; i++) {
        uint8_t b[NQ_CELLS];
        nq_random_solution(&r, b);
        count[find_solution(b)]++;
    }
    hits = count[smax];
    for (int s = 0; s < NQ_SOLUTIONS; s++) {
        double e = prior[s] * draws;
        chi2 += (count[s] - e) * (count[s] - e) / e;
    }
    CHECK(abs(hits - 1000) < 160, "likeliest solution drawn %d times (expected ~1000)", hits);
    // 91 degrees of freedom: mean 91, sd 13.5; 160 is > 5 sd. A uniform sampler gives ~10^4.
    CHECK(chi2 < 160, "DFS sampler matches the exact prior (chi2 %.1f, 91 dof)", chi2);
}

static void test_make_input(void) {
    Rng r;
    rng_seed(&r, 3);
    int ok = 1, row_hits[NQ_N] = {0};
    for (int i = 0; i < 900; i++) {
        uint8_t sol[NQ_CELLS], in[NQ_CELLS];
        nq_random_solution(&r, sol);
        int k = i % 9;
        nq_make_input(&r, sol, k, in);
        ok &= nq_count_queens(in) == k && nq_consistent(in, sol);
        for (int c = 0; c < NQ_CELLS; c++) ok &= in[c] == NQ_EMPTY || in[c] == NQ_QUEEN;
        if (k == 1)
            for (int c = 0; c < NQ_CELLS; c++) row_hits[c / NQ_N] += in[c] == NQ_QUEEN;
    }
    CHECK(ok, "nq_make_input keeps exactly k of the solution's queens");
    int spread = 1;
    for (int q = 0; q < NQ_N; q++) spread &= row_hits[q] > 0;
    CHECK(spread, "k=1 draws reach every row");
}

static void test_check(void) {
    const Task *t = task_find("nqueens");
    CHECK(t && t->seq_len == 64 && t->vocab == 3 && t->num_groups == 9, "task entry");
    CHECK(task_find("nope") == NULL && task_find(NULL) == NULL, "unknown task is NULL");
    if (!t) return;

    // Input: one queen of SOL[0]; another solution with the same queen is also correct.
    uint8_t in[NQ_CELLS], b[NQ_CELLS];
    memset(in, NQ_EMPTY, NQ_CELLS);
    int c0 = col_in_row(SOL[0], 0), other = -1, clash = -1;
    in[c0] = NQ_QUEEN;
    for (int s = 1; s < NQ_SOLUTIONS; s++) {
        if (col_in_row(SOL[s], 0) == c0 && other < 0) other = s;
        if (col_in_row(SOL[s], 0) != c0 && clash < 0) clash = s;
    }
    CHECK(other > 0 && t->check(in, SOL[other]), "accepts a valid completion other than the label");
    CHECK(t->check(in, SOL[0]), "accepts the label");
    CHECK(clash > 0 && !t->check(in, SOL[clash]), "rejects a board that drops a given queen");
    CHECK(t->group(in) == 1, "group = given queens");

    uint8_t empty[NQ_CELLS];
    memset(empty, NQ_EMPTY, NQ_CELLS);
    memcpy(b, SOL[0], NQ_CELLS);
    b[c0] = NQ_EMPTY;
    CHECK(!t->check(empty, b), "rejects 7 queens");
    int c1 = col_in_row(SOL[0], 1);
    memcpy(b, SOL[0], NQ_CELLS);
    b[NQ_N + c1] = NQ_EMPTY;
    b[(c0 + 4) % NQ_N] = NQ_QUEEN;   // row 0 gets a second queen, row 1 none
    CHECK(!t->check(empty, b), "rejects two queens in a row");
    memset(b, NQ_EMPTY, NQ_CELLS);
    for (int r = 0; r < NQ_N; r++) b[r * NQ_N + r] = NQ_QUEEN;   // rows, columns fine
    CHECK(!t->check(empty, b), "rejects a diagonal attack");
    for (int r = 0; r < NQ_N; r++) b[r * NQ_N + r] = NQ_EMPTY;
    for (int r = 0; r < NQ_N; r++) b[r * NQ_N + (NQ_N - 1 - r)] = NQ_QUEEN;
    CHECK(!t->check(empty, b), "rejects an anti-diagonal attack");
    memcpy(b, SOL[0], NQ_CELLS);
    b[c0 == 0 ? 1 : 0] = NQ_PAD;
    CHECK(!t->check(empty, b), "rejects an answer containing PAD");
    CHECK(t->check(empty, SOL[5]), "empty input: any solution");
}

static void test_dihedral(void) {
    // numpy results on [[0,1,2],[3,4,5],[6,7,8]] for TRM's ids 0..7.
    static const uint8_t want[8][9] = {
        {0, 1, 2, 3, 4, 5, 6, 7, 8}, {2, 5, 8, 1, 4, 7, 0, 3, 6},
        {8, 7, 6, 5, 4, 3, 2, 1, 0}, {6, 3, 0, 7, 4, 1, 8, 5, 2},
        {2, 1, 0, 5, 4, 3, 8, 7, 6}, {6, 7, 8, 3, 4, 5, 0, 1, 2},
        {0, 3, 6, 1, 4, 7, 2, 5, 8}, {8, 5, 2, 7, 4, 1, 6, 3, 0},
    };
    const uint8_t g[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    for (int id = 0; id < 8; id++) {
        uint8_t o[9];
        nq_dihedral(g, 3, id, o);
        CHECK(memcmp(o, want[id], 9) == 0, "dihedral id %d matches numpy", id);
    }
    uint8_t o[9];
    nq_dihedral(g, 3, 1, o);
    int rot_ok = 1;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) rot_ok &= o[i * 3 + j] == g[j * 3 + (2 - i)];
    CHECK(rot_ok, "rot90 k=1: out[i][j] = in[j][n-1-i]");

    Rng r;
    rng_seed(&r, 11);
    for (int n = 1; n <= 8; n++) {
        uint8_t a[64], x[64], y[64];
        for (int i = 0; i < n * n; i++) a[i] = (uint8_t)rng_below(&r, 256);
        int ok = 1;
        for (int id = 0; id < 8; id++) {
            nq_dihedral(a, n, id, x);
            nq_dihedral(x, n, DIHEDRAL_INVERSE[id], y);
            ok &= memcmp(a, y, (size_t)n * n) == 0;
        }
        CHECK(ok, "id then DIHEDRAL_INVERSE[id] is the identity (n=%d)", n);
    }
    int maps = 1;
    for (int s = 0; s < NQ_SOLUTIONS; s++)
        for (int id = 0; id < 8; id++) {
            uint8_t x[NQ_CELLS];
            nq_dihedral(SOL[s], NQ_N, id, x);
            maps &= nq_valid(x) && nq_canonical(x) == nq_canonical(SOL[s]);
        }
    CHECK(maps, "symmetries map solutions to solutions of the same orbit");
}

static void test_parse_format(void) {
    const Task *t = &TASK_NQUEENS;
    char text[NQ_CELLS + 1], err[ERR_LEN];
    uint8_t b[NQ_CELLS];
    t->format(SOL[3], text);
    CHECK(strlen(text) == 64 && t->parse(text, 64, b, err) == 0 && memcmp(b, SOL[3], 64) == 0,
          "format/parse round trip");
    err[0] = 0;
    CHECK(t->parse(text, 63, b, err) < 0 && strstr(err, "expected 64 characters, got 63"),
          "short board: %s", err);
    text[11] = 'x';
    CHECK(t->parse(text, 64, b, err) < 0 && strstr(err, "illegal character 'x' at column 12"),
          "illegal char: %s", err);
    text[11] = '\t';
    CHECK(t->parse(text, 64, b, err) < 0 && strstr(err, "column 12"), "control byte: %s", err);
    t->format(SOL[3], text);
    for (int i = 0; i < 64 && nq_count_queens(b) < 9; i++)
        if (text[i] == '.') text[i] = 'Q', b[i] = NQ_QUEEN;
    CHECK(t->parse(text, 64, b, err) < 0 && strstr(err, "9 queens (at most 8)"), "9 queens: %s", err);
    memset(b, NQ_PAD, NQ_CELLS);
    t->format(b, text);
    CHECK(text[0] == '?' && text[64] == 0, "PAD formats as '?'");
}

static int row_k(const Dataset *d, int i) { return nq_count_queens(d->inputs + (size_t)i * 64); }

static void check_split(const Dataset *tr, const Dataset *te, const char *what) {
    CHECK(tr->n == 7200 && te->n == 200 && tr->seq_len == 64 && te->seq_len == 64,
          "%s sizes %lld / %lld", what, (long long)tr->n, (long long)te->n);
    int ok = 1, views = 1;
    const Dataset *ds[2] = {tr, te};
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < ds[d]->n; i++) {
            const uint8_t *in = ds[d]->inputs + (size_t)i * 64, *lab = ds[d]->labels + (size_t)i * 64;
            int k = row_k(ds[d], i);
            ok &= k >= 0 && k <= 7 && nq_valid(lab) && nq_consistent(in, lab);
            ok &= ds[d]->puzzle_ids[i] == 0;
        }
    for (int p = 0; p < 800; p++) {   // view 0 and view 1 (identity) are the same board
        const uint8_t *v0 = tr->inputs + (size_t)p * 9 * 64;
        uint8_t x[64];
        views &= memcmp(v0, v0 + 64, 64) == 0;
        nq_dihedral(v0, 8, 1, x);   // view 2 = rot90 of the original
        views &= memcmp(x, v0 + 2 * 64, 64) == 0;
    }
    CHECK(ok, "%s: k in 0..7, labels valid and consistent, puzzle ids 0", what);
    CHECK(views, "%s: 9 views per training puzzle in released order", what);
}

static bool same_bytes(const Dataset *a, const Dataset *b) {
    return a->n == b->n && memcmp(a->inputs, b->inputs, (size_t)a->n * 64) == 0 &&
           memcmp(a->labels, b->labels, (size_t)a->n * 64) == 0;
}

// How many test inputs equal some training input under some symmetry (brute force).
static int leaked(const Dataset *tr, const Dataset *te) {
    int seen = 0;
    for (int i = 0; i < te->n; i++) {
        int hit = 0;
        for (int id = 0; id < 8 && !hit; id++) {
            uint8_t x[64];
            nq_dihedral(te->inputs + (size_t)i * 64, 8, id, x);
            for (int j = 0; j < tr->n && !hit; j++) hit = memcmp(x, tr->inputs + (size_t)j * 64, 64) == 0;
        }
        seen += hit;
    }
    return seen;
}

static void print_hist(const char *what, const Dataset *te) {
    int h[9] = {0};
    for (int i = 0; i < te->n; i++) h[row_k(te, i)]++;
    printf("# %s test k histogram (k=0..7):", what);
    for (int k = 0; k < 8; k++) printf(" %d", h[k]);
    printf("\n");
}

static void test_splits(void) {
    char err[ERR_LEN];
    Dataset tr, te, tr2, te2;
    CHECK(nq_build("paper", 0, true, &tr, &te, err) == 0, "paper split: %s", err);
    check_split(&tr, &te, "paper");
    CHECK(nq_build("paper", 0, true, &tr2, &te2, err) == 0 && same_bytes(&tr, &tr2) &&
          same_bytes(&te, &te2), "same seed, same bytes");
    dataset_free(&tr2), dataset_free(&te2);
    CHECK(nq_build("paper", 1, true, &tr2, &te2, err) == 0 && !same_bytes(&tr, &tr2) &&
          !same_bytes(&te, &te2), "different seed, different bytes");
    dataset_free(&tr2), dataset_free(&te2);
    CHECK(nq_build("paper", 0, false, &tr2, &te2, err) == 0 && tr2.n == 800 && same_bytes(&te, &te2),
          "no augmentation: 800 rows, same test");
    int leak = leaked(&tr, &te);
    print_hist("paper seed 0", &te);
    printf("# paper seed 0: %d / 200 test inputs seen in training under D4\n", leak);
    dataset_free(&tr2), dataset_free(&te2);
    dataset_free(&tr), dataset_free(&te);

    CHECK(nq_build("dedup", 0, true, &tr, &te, err) == 0, "dedup split: %s", err);
    check_split(&tr, &te, "dedup");
    CHECK(leaked(&tr, &te) == 0, "dedup: no test input equals a training input under D4");
    print_hist("dedup seed 0", &te);
    CHECK(nq_build("paper", 0, true, &tr2, &te2, err) == 0 && same_bytes(&tr, &tr2),
          "dedup training set = paper training set");
    dataset_free(&tr2), dataset_free(&te2);
    dataset_free(&tr), dataset_free(&te);

    err[0] = 0;
    CHECK(nq_build("random", 0, true, &tr, &te, err) < 0 && strstr(err, "random") &&
          tr.n == 0 && te.n == 0, "unknown split: %s", err);
}

// The validation split: 200 puzzles, none a symmetry of a training or test input (for
// both splits, where "paper" lets test and train overlap), nor of another validation
// input; reproducible; every label a valid completion. Checked by brute force over the
// 8 transforms, independently of the canonical keys the builder uses.
static void test_valid_split(void) {
    char err[ERR_LEN];
    const char *splits[2] = { "paper", "dedup" };
    for (int k = 0; k < 2; k++) {
        Dataset tr, te, va, va2;
        CHECK(nq_build(splits[k], 0, true, &tr, &te, err) == 0, "%s: %s", splits[k], err);
        CHECK(nq_build_valid(0, &tr, &te, &va, err) == 0 && va.n == NQ_VALID, "%s: valid split: %s", splits[k], err);
        CHECK(leaked(&tr, &va) == 0, "%s: a validation input is a symmetry of a training input", splits[k]);
        CHECK(leaked(&te, &va) == 0, "%s: a validation input is a symmetry of a test input", splits[k]);
        int dup = 0;
        for (int i = 0; i < va.n; i++)
            for (int id = 0; id < 8; id++) {
                uint8_t x[64];
                nq_dihedral(va.inputs + (size_t)i * 64, 8, id, x);
                for (int j = i + 1; j < va.n; j++) dup += memcmp(x, va.inputs + (size_t)j * 64, 64) == 0;
            }
        CHECK(dup == 0, "%s: %d pairs of validation inputs are symmetries of each other", splits[k], dup);
        int ok = 0;
        for (int i = 0; i < va.n; i++) ok += TASK_NQUEENS.check(va.inputs + i * 64, va.labels + i * 64);
        CHECK(ok == va.n, "%s: %d of %lld validation labels solve their puzzle", splits[k], ok, (long long)va.n);
        CHECK(nq_build_valid(0, &tr, &te, &va2, err) == 0 && same_bytes(&va, &va2), "%s: same seed, same split", splits[k]);
        dataset_free(&tr), dataset_free(&te), dataset_free(&va), dataset_free(&va2);
    }
}

// ---------------------------------------------------------------- dataset files

static char TMPDIR[64];

static const char *tmp_path(const char *name) {
    static char buf[8][128];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 128, "%s/%s", TMPDIR, name);
    return p;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) die("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void test_round_trip(void) {
    const Task *t = &TASK_NQUEENS;
    char err[ERR_LEN];
    Dataset tr, te, back;
    nq_build("paper", 5, false, &tr, &te, err);
    const char *p = tmp_path("test.txt");
    CHECK(dataset_save(t, p, &te, err) == 0, "save: %s", err);
    CHECK(dataset_load(t, p, &back, err) == 0 && same_bytes(&te, &back) && back.seq_len == 64,
          "save/load round trip: %s", err);
    dataset_free(&back);
    // Inputs only (unknown labels) round-trip as label-less lines.
    memset(te.labels, 0, (size_t)te.n * 64);
    CHECK(dataset_save(t, p, &te, err) == 0 && dataset_load(t, p, &back, err) == 0 &&
          same_bytes(&te, &back), "label-less round trip: %s", err);
    dataset_free(&back);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    CHECK(access(tmp, F_OK) != 0, "no temporary file left");
    err[0] = 0;
    const char *bad = tmp_path("no/such/dir.txt");
    CHECK(dataset_save(t, bad, &te, err) < 0 && strstr(err, bad) && access(bad, F_OK) != 0,
          "save into a missing folder fails cleanly: %s", err);
    dataset_free(&tr), dataset_free(&te);
}

static void test_load_forms(void) {
    const Task *t = &TASK_NQUEENS;
    char err[ERR_LEN], a[65], b[65], text[512];
    Dataset d;
    t->format(SOL[0], a);
    t->format(SOL[1], b);
    // CRLF, a label-less line, no final newline.
    snprintf(text, sizeof text, "%s %s\r\n%s\r\n%s %s", a, a, b, b, b);
    write_file(tmp_path("crlf.txt"), text);
    CHECK(dataset_load(t, tmp_path("crlf.txt"), &d, err) == 0 && d.n == 3 &&
          memcmp(d.labels, SOL[0], 64) == 0 && d.labels[64] == 0 && d.labels[64 + 63] == 0 &&
          memcmp(d.inputs + 128, SOL[1], 64) == 0, "CRLF / no final newline / no label: %s", err);
    dataset_free(&d);
    snprintf(text, sizeof text, "%s %s\n\n\r\n", a, a);
    write_file(tmp_path("trail.txt"), text);
    CHECK(dataset_load(t, tmp_path("trail.txt"), &d, err) == 0 && d.n == 1,
          "trailing empty lines skipped: %s", err);
    dataset_free(&d);
    snprintf(text, sizeof text, "%s %s\n\n%s %s\n", a, a, a, a);
    write_file(tmp_path("mid.txt"), text);
    CHECK(dataset_load(t, tmp_path("mid.txt"), &d, err) < 0 && strstr(err, "mid.txt:2: empty line") &&
          d.n == 0 && d.inputs == NULL, "empty line in the middle: %s", err);
}

static void test_load_errors(void) {
    const Task *t = &TASK_NQUEENS;
    char err[ERR_LEN], a[65], want[256];
    Dataset d;
    t->format(SOL[0], a);
    char *text = xmalloc(3 * 130 + 1);   // three lines of 64 + 1 + 64 + 1
    snprintf(text, 2 * 130 + 1, "%s %s\n%s %s\n", a, a, a, a);
    char *third = text + 2 * 130;
    snprintf(third, 130 + 1, "%s %s\n", a, a);
    third[65 + 2] = 'x';   // the label's third character
    const char *p = tmp_path("bad.txt");
    write_file(p, text);
    snprintf(want, sizeof want, "%s:3: label: illegal character 'x' at column 3", p);
    CHECK(dataset_load(t, p, &d, err) < 0 && strcmp(err, want) == 0, "bad label: %s", err);
    third[65 + 2] = '.';
    third[10] = 'Q';   // 9 queens in the input
    write_file(p, text);
    CHECK(dataset_load(t, p, &d, err) < 0 && strstr(err, "bad.txt:3: input: 9 queens"), "%s", err);
    free(text);

    // A very long line is read whole and reported with its length.
    size_t big = 200000;
    char *lng = xmalloc(big + 2);
    memset(lng, '.', big);
    lng[big] = '\n', lng[big + 1] = 0;
    write_file(tmp_path("long.txt"), lng);
    CHECK(dataset_load(t, tmp_path("long.txt"), &d, err) < 0 &&
          strstr(err, "long.txt:1: input: expected 64 characters, got 200000"), "long line: %s", err);
    free(lng);

    write_file(tmp_path("empty.txt"), "");
    snprintf(want, sizeof want, "%s: no examples", tmp_path("empty.txt"));
    CHECK(dataset_load(t, tmp_path("empty.txt"), &d, err) < 0 && strcmp(err, want) == 0,
          "empty file: %s", err);
    write_file(tmp_path("blank.txt"), "\n\n");
    CHECK(dataset_load(t, tmp_path("blank.txt"), &d, err) < 0 && strstr(err, "no examples"),
          "blank file: %s", err);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", tmp_path("missing.txt"));
    CHECK(dataset_load(t, tmp_path("missing.txt"), &d, err) < 0 && strcmp(err, want) == 0,
          "missing file: %s", err);
}

static void test_dataset_io(void) {
    snprintf(TMPDIR, sizeof TMPDIR, "/tmp/trm_nqueens_XXXXXX");
    if (!mkdtemp(TMPDIR)) die("mkdtemp failed");
    test_round_trip();
    test_load_forms();
    test_load_errors();
    const char *names[] = {"test.txt", "crlf.txt", "trail.txt", "mid.txt", "bad.txt",
                           "long.txt", "empty.txt", "blank.txt"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) remove(tmp_path(names[i]));
    CHECK(rmdir(TMPDIR) == 0, "temporary folder left clean");
}

// The community files (all 92 solutions, split 1 / 1 / 91), when the shared data exists.
static void test_shared_data(void) {
    const char *dir = "../shared/data/nqueens";
    char path[256], err[ERR_LEN];
    snprintf(path, sizeof path, "%s/8_queens_test.txt", dir);
    if (access(path, R_OK) != 0) {
        printf("SKIP: nqueens community-file checks (%s not found)\n", path);
        return;
    }
    Dataset d;
    CHECK(dataset_load(&TASK_NQUEENS, path, &d, err) == 0, "load %s: %s", path, err);
    int valid = 0, found = 0;
    for (int i = 0; i < d.n; i++) {
        valid += nq_valid(d.inputs + (size_t)i * 64);
        found += find_solution(d.inputs + (size_t)i * 64) >= 0;
    }
    CHECK(d.n == 91 && valid == d.n && found == d.n, "community test file: %lld boards, %d valid",
          (long long)d.n, valid);
    dataset_free(&d);
    snprintf(path, sizeof path, "%s/8_queens_train.txt", dir);
    if (dataset_load(&TASK_NQUEENS, path, &d, err) == 0) {
        CHECK(d.n == 1 && nq_valid(d.inputs), "community train file: one valid board");
        dataset_free(&d);
    }
}

int main(void) {
    test_enumerate();
    test_random_solutions();
    test_make_input();
    test_check();
    test_dihedral();
    test_parse_format();
    test_splits();
    test_valid_split();
    test_dataset_io();
    test_shared_data();
    return test_summary("nqueens");
}
