// test_sudoku.c: the Sudoku task: text format, validity on hand-made right and wrong
// answers, the official shuffles (numpy's draws, validity kept, invertible), the
// solver's order, the CSV reader's refusals and the builder's splits.
#include "tasks/sudoku.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char PUZZLE[] = "39.21.5...78.3...6621.8.......5.8.94.5.....2..3.6.1....431627...1685...9.8..941..";
static const char SOLUTION[] = "394216578578439216621785943162578394857943621439621857943162785216857439785394162";

static void tokens(const char *s, uint8_t *t) {
    char err[ERR_LEN];
    if (TASK_SUDOKU.parse(s, strlen(s), t, err)) die("tokens: %s", err);
}

static void expect_parse_error(const char *s, const char *what) {
    uint8_t t[SUDOKU_CELLS];
    char err[ERR_LEN] = "";
    int rc = TASK_SUDOKU.parse(s, strlen(s), t, err);
    CHECK(rc < 0 && strstr(err, what), "parse '%.20s...': rc %d, message '%s' lacks '%s'", s, rc, err, what);
}

static void test_format(void) {
    uint8_t p[SUDOKU_CELLS], z[SUDOKU_CELLS], s[SUDOKU_CELLS];
    tokens(PUZZLE, p);
    CHECK(p[0] == 4 && p[1] == 10 && p[2] == SUDOKU_BLANK, "tokens: digit d is d + 1, blank 1 (%d %d %d)", p[0], p[1], p[2]);
    char zeros[SUDOKU_CELLS + 1];
    for (int i = 0; i <= SUDOKU_CELLS; i++) zeros[i] = PUZZLE[i] == '.' ? '0' : PUZZLE[i];
    tokens(zeros, z);
    CHECK(!memcmp(p, z, SUDOKU_CELLS), "'0' is a blank as '.'");
    char text[SUDOKU_CELLS + 1];
    TASK_SUDOKU.format(p, text);
    CHECK(!strcmp(text, PUZZLE), "format(parse(x)) = x: %s", text);
    tokens(SOLUTION, s);
    int digits = 0;
    for (int i = 0; i < SUDOKU_CELLS; i++) digits += s[i] >= 2 && s[i] <= 10;
    CHECK(digits == 81 && sudoku_givens(s) == 81 && sudoku_givens(p) == 37, "givens %d, %d", sudoku_givens(s), sudoku_givens(p));
    CHECK(TASK_SUDOKU.group(p) == 37, "group = given digits");
    s[5] = SUDOKU_PAD;
    TASK_SUDOKU.format(s, text);
    CHECK(text[5] == '?', "PAD prints as '?'");
    char short_[SUDOKU_CELLS];
    memcpy(short_, PUZZLE, 80);
    short_[80] = 0;
    expect_parse_error(short_, "expected 81 characters, got 80");
    char bad[SUDOKU_CELLS + 1];
    memcpy(bad, PUZZLE, sizeof bad);
    bad[4] = 'x';
    expect_parse_error(bad, "illegal character 'x' at column 5");
    bad[4] = '\t';
    expect_parse_error(bad, "illegal byte 0x09 at column 5");
    memcpy(bad, PUZZLE, sizeof bad);
    bad[2] = '3';                                  // row 1 already holds a 3
    expect_parse_error(bad, "row 1 holds 3 twice");
    memcpy(bad, PUZZLE, sizeof bad);
    bad[9] = '9';                                  // box 1 already holds a 9 (row 1)
    expect_parse_error(bad, "box 1 holds 9 twice");
}

static void test_validity(void) {
    uint8_t p[SUDOKU_CELLS], s[SUDOKU_CELLS], w[SUDOKU_CELLS];
    tokens(PUZZLE, p);
    tokens(SOLUTION, s);
    CHECK(TASK_SUDOKU.check(p, s), "the solution is correct");
    CHECK(!TASK_SUDOKU.check(p, p), "the puzzle itself (blanks) is not");
    memcpy(w, s, sizeof w);
    uint8_t x = w[3];
    w[3] = w[4], w[4] = x;                         // rows stay 1-9, columns and givens break
    CHECK(!sudoku_valid(w) && !TASK_SUDOKU.check(p, w), "two cells swapped");
    for (int i = 0; i < SUDOKU_CELLS; i++) w[i] = s[i] == 2 ? 3 : s[i] == 3 ? 2 : s[i];   // digits 1 <-> 2
    CHECK(sudoku_valid(w) && !sudoku_consistent(p, w) && !TASK_SUDOKU.check(p, w),
          "a valid board that changes a given is wrong");
    memcpy(w, s, sizeof w);
    w[2] = SUDOKU_BLANK;
    CHECK(!TASK_SUDOKU.check(p, w), "a blank left");
    w[2] = SUDOKU_PAD;
    CHECK(!TASK_SUDOKU.check(p, w), "a PAD token");
    w[2] = 11;
    CHECK(!TASK_SUDOKU.check(p, w), "a token outside the vocabulary");
}

// numpy 1.24: np.random.seed(S), then the builder's draws (tests the order and rand()).
static void test_numpy_draws(void) {
    static const struct { uint32_t seed; uint8_t digit[9]; bool t; uint8_t row[9], col[9]; } WANT[2] = {
        { 0, { 8, 3, 2, 5, 9, 7, 4, 1, 6 }, false, { 7, 6, 8, 4, 5, 3, 0, 1, 2 }, { 1, 0, 2, 3, 5, 4, 6, 8, 7 } },
        { 42, { 8, 2, 6, 1, 9, 3, 5, 4, 7 }, true, { 5, 4, 3, 0, 1, 2, 8, 7, 6 }, { 0, 2, 1, 7, 8, 6, 3, 5, 4 } },
    };
    for (int k = 0; k < 2; k++) {
        Mt19937 r;
        mt_seed(&r, WANT[k].seed);
        SudokuShuffle s;
        sudoku_shuffle_draw(&r, &s);
        CHECK(s.digit[0] == 0 && !memcmp(s.digit + 1, WANT[k].digit, 9), "seed %u: digit map", WANT[k].seed);
        CHECK(s.transpose == WANT[k].t, "seed %u: transpose", WANT[k].seed);
        CHECK(!memcmp(s.row, WANT[k].row, 9) && !memcmp(s.col, WANT[k].col, 9), "seed %u: row and column order",
              WANT[k].seed);
    }
    Mt19937 r;       // the second shuffle of seed 0: the stream goes on where the first left it
    mt_seed(&r, 0);
    SudokuShuffle s;
    sudoku_shuffle_draw(&r, &s);
    sudoku_shuffle_draw(&r, &s);
    static const uint8_t D1[9] = { 3, 7, 8, 6, 1, 4, 5, 2, 9 }, R1[9] = { 5, 4, 3, 6, 8, 7, 0, 1, 2 };
    CHECK(!memcmp(s.digit + 1, D1, 9) && s.transpose && !memcmp(s.row, R1, 9), "seed 0: second shuffle");
}

static void test_shuffles(void) {
    uint8_t p[SUDOKU_CELLS], s[SUDOKU_CELLS], ap[SUDOKU_CELLS], as[SUDOKU_CELLS], bp[SUDOKU_CELLS], bs[SUDOKU_CELLS];
    tokens(PUZZLE, p);
    tokens(SOLUTION, s);
    Mt19937 r;
    mt_seed(&r, 5);
    int ok = 0, inverted = 0, moved = 0, transposed = 0;
    for (int k = 0; k < 300; k++) {
        SudokuShuffle sh;
        sudoku_shuffle_draw(&r, &sh);
        transposed += sh.transpose;
        sudoku_shuffle_apply(&sh, p, ap);
        sudoku_shuffle_apply(&sh, s, as);
        ok += TASK_SUDOKU.check(ap, as) && sudoku_givens(ap) == sudoku_givens(p);
        moved += memcmp(ap, p, SUDOKU_CELLS) != 0;
        sudoku_shuffle_invert(&sh, ap, bp);
        sudoku_shuffle_invert(&sh, as, bs);
        inverted += !memcmp(bp, p, SUDOKU_CELLS) && !memcmp(bs, s, SUDOKU_CELLS);
    }
    CHECK(ok == 300, "a shuffled solution solves the shuffled puzzle (%d / 300)", ok);
    CHECK(inverted == 300, "invert undoes apply (%d / 300)", inverted);
    CHECK(moved == 300 && transposed > 100 && transposed < 200, "shuffles move the board (%d), transpose half the "
          "time (%d / 300)", moved, transposed);
}

// Fills the blanks in the solver's order; every blank exactly once.
static void test_solver_order(void) {
    uint8_t p[SUDOKU_CELLS], s[SUDOKU_CELLS], easy[SUDOKU_CELLS];
    tokens(PUZZLE, p);
    tokens(SOLUTION, s);
    int order[SUDOKU_CELLS], seen[SUDOKU_CELLS] = { 0 };
    int k = TASK_SUDOKU.solver_order(p, s, order), once = 1;
    for (int i = 0; i < k; i++) seen[order[i]]++;
    for (int i = 0; i < SUDOKU_CELLS; i++) once &= seen[i] == (p[i] == SUDOKU_BLANK);
    CHECK(k == 44 && once, "the order lists each of the 44 blanks once (%d)", k);
    // Five blanks of a solved board: each is a naked single, all fixed in one wave, in cell order.
    memcpy(easy, s, sizeof easy);
    static const int HOLES[5] = { 70, 3, 44, 12, 80 };
    for (int i = 0; i < 5; i++) easy[HOLES[i]] = SUDOKU_BLANK;
    k = sudoku_solver_order(easy, s, order);
    CHECK(k == 5 && order[0] == 3 && order[1] == 12 && order[2] == 44 && order[3] == 70 && order[4] == 80,
          "singles in one wave, in cell order (%d: %d %d %d %d %d)", k, order[0], order[1], order[2], order[3], order[4]);
    // A naked single comes before cells that need it: blank a whole row but one cell of
    // a solved board and one cell elsewhere; the row's cells are hidden/naked singles.
    memcpy(easy, s, sizeof easy);
    for (int c = 0; c < 9; c++) easy[c] = SUDOKU_BLANK;
    k = sudoku_solver_order(easy, s, order);
    CHECK(k == 9, "a blank row: 9 cells (%d)", k);
}

// ---------------------------------------------------------------- CSV files

static char DIR_[64];

static const char *write_csv(const char *name, const char *text) {
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", DIR_, name);
    write_bytes(path, text, strlen(text));
    return path;
}

static void expect_build_error(const char *name, const char *text, const char *what) {
    const char *path = write_csv(name, text);
    SudokuBuildOptions o = { .csv = path, .min_difficulty = -1 };
    Dataset a, b, c;
    char err[ERR_LEN] = "", want[256];
    int rc = sudoku_build(&o, &a, &b, &c, err);
    snprintf(want, sizeof want, "%s%s", path, what);
    CHECK(rc < 0 && strstr(err, want), "%s: rc %d, message '%s' lacks '%s'", name, rc, err, want);
    CHECK(a.n == 0 && b.n == 0 && c.n == 0, "%s: no rows kept after an error", name);
}

static void csv_line(char *out, size_t cap, const char *q, const char *a, const char *rating) {
    snprintf(out, cap, "source,question,answer,rating\nx,%s,%s,%s\n", q, a, rating);
}

static void test_csv_errors(void) {
    char text[1024], q[SUDOKU_CELLS + 2], a[SUDOKU_CELLS + 2];
    expect_build_error("header.csv", "source,puzzle,solution,rating\n", ":1: header 'source,puzzle,solution,rating'");
    expect_build_error("empty.csv", "", ": empty file");
    expect_build_error("none.csv", "source,question,answer,rating\n", ": no puzzles");
    memcpy(q, PUZZLE, 80);
    q[80] = 0;
    csv_line(text, sizeof text, q, SOLUTION, "3");
    expect_build_error("short.csv", text, ":2: question has 80 characters (expected 81)");
    csv_line(text, sizeof text, PUZZLE, SOLUTION + 1, "3");
    expect_build_error("short_answer.csv", text, ":2: answer has 80 characters");
    memcpy(q, PUZZLE, sizeof PUZZLE);
    q[4] = 'a';
    csv_line(text, sizeof text, q, SOLUTION, "3");
    expect_build_error("letter.csv", text, ":2: question: illegal character 'a' at column 5");
    memcpy(a, SOLUTION, sizeof SOLUTION);
    a[6] = '0';
    csv_line(text, sizeof text, PUZZLE, a, "3");
    expect_build_error("zero.csv", text, ":2: answer: a blank at column 7");
    memcpy(a, SOLUTION, sizeof SOLUTION);
    a[0] = '5';
    csv_line(text, sizeof text, PUZZLE, a, "3");
    expect_build_error("twice.csv", text, ":2: answer: row 1 holds 5 twice");
    for (int i = 0; i < SUDOKU_CELLS; i++) a[i] = SOLUTION[i] == '1' ? '2' : SOLUTION[i] == '2' ? '1' : SOLUTION[i];
    csv_line(text, sizeof text, PUZZLE, a, "3");
    expect_build_error("wrong.csv", text, ":2: the answer does not solve the question: the given 2 at row 1, column 4");
    snprintf(text, sizeof text, "source,question,answer,rating\nx,%s,%s\n", PUZZLE, SOLUTION);
    expect_build_error("fields.csv", text, ":2: 3 fields");
    snprintf(text, sizeof text, "source,question,answer,rating\nx,%s,%s,1\n\ny,%s,%s,2\n", PUZZLE, SOLUTION, PUZZLE,
             SOLUTION);
    expect_build_error("blank.csv", text, ":3: empty line");
    snprintf(text, sizeof text, "source,question,answer,rating\n\"x\"y,%s,%s,1\n", PUZZLE, SOLUTION);
    expect_build_error("quote.csv", text, ":2: field 1: text after the closing quote");
    // min-difficulty needs an integer rating
    csv_line(text, sizeof text, PUZZLE, SOLUTION, "hard");
    const char *path = write_csv("rating.csv", text);
    SudokuBuildOptions o = { .csv = path, .min_difficulty = 2 };
    Dataset d[3];
    char err[ERR_LEN] = "";
    CHECK(sudoku_build(&o, &d[0], &d[1], &d[2], err) < 0 && strstr(err, ":2: rating 'hard' is not an integer"),
          "rating: '%s'", err);
}

// Five puzzles (shuffles of one), quoted and CRLF as Python's csv module may write them.
static const char *five_puzzles(const char *name) {
    uint8_t p[SUDOKU_CELLS], s[SUDOKU_CELLS], ap[SUDOKU_CELLS], as[SUDOKU_CELLS];
    tokens(PUZZLE, p);
    tokens(SOLUTION, s);
    static char text[4096];
    int len = snprintf(text, sizeof text, "source,question,answer,rating\r\n");
    Mt19937 r;
    mt_seed(&r, 11);
    for (int k = 0; k < 5; k++) {
        SudokuShuffle sh;
        sudoku_shuffle_draw(&r, &sh);
        sudoku_shuffle_apply(&sh, p, ap);
        sudoku_shuffle_apply(&sh, s, as);
        char tq[SUDOKU_CELLS + 1], ta[SUDOKU_CELLS + 1];
        TASK_SUDOKU.format(ap, tq);
        TASK_SUDOKU.format(as, ta);
        len += snprintf(text + len, sizeof text - (size_t)len, "\"p,%d\",%s,%s,%d\r\n", k, tq, ta, 10 * k);
    }
    return write_csv(name, text);
}

static void test_build(void) {
    const char *train = five_puzzles("train.csv");
    char test_path[128];
    snprintf(test_path, sizeof test_path, "%s", five_puzzles("test.csv"));
    SudokuBuildOptions o = { .csv = train, .test_csv = test_path, .subsample = 3, .min_difficulty = -1, .num_aug = 3,
                             .test_count = 2, .valid_count = 1, .seed = 1 };
    Dataset tr, te, va, tr2, te2, va2;
    char err[ERR_LEN] = "";
    CHECK(sudoku_build(&o, &tr, &te, &va, err) == 0, "build: %s", err);
    CHECK(tr.n == 12 && tr.num_groups == 3 && tr.num_puzzles == 12, "3 puzzles x 4 copies (%lld rows, %lld groups)",
          (long long)tr.n, (long long)tr.num_groups);
    CHECK(tr.group_index[1] == 4 && tr.group_index[3] == 12 && tr.puzzle_index[5] == 5, "group and puzzle offsets");
    int valid = 0, ids = 0;
    for (int64_t i = 0; i < tr.n; i++) {
        valid += TASK_SUDOKU.check(tr.inputs + i * 81, tr.labels + i * 81);
        ids += tr.identifiers[i] == 0;
    }
    CHECK(valid == 12 && ids == 12, "every copy valid (%d), every identifier blank (%d)", valid, ids);
    CHECK(va.n == 1 && te.n == 2, "valid = the first test-CSV row, test the next 2 (%lld, %lld)", (long long)va.n,
          (long long)te.n);
    CHECK(sudoku_build(&o, &tr2, &te2, &va2, err) == 0 && !memcmp(tr.inputs, tr2.inputs, 12 * 81) &&
              !memcmp(tr.labels, tr2.labels, 12 * 81), "the same seed, the same build");
    dataset_free(&tr2), dataset_free(&te2), dataset_free(&va2);
    o.seed = 2;
    CHECK(sudoku_build(&o, &tr2, &te2, &va2, err) == 0 && memcmp(tr.inputs, tr2.inputs, 12 * 81),
          "another seed, another build");
    dataset_free(&tr2), dataset_free(&te2), dataset_free(&va2);
    o.min_difficulty = 25;    // ratings 0, 10, 20, 30, 40: two kept, so no subsample draw of 3
    CHECK(sudoku_build(&o, &tr2, &te2, &va2, err) < 0 && strstr(err, "too few"), "min-difficulty on test: %s", err);
    o.test_count = 1;
    CHECK(sudoku_build(&o, &tr2, &te2, &va2, err) == 0 && tr2.n == 8 && te2.n == 1 && va2.n == 1,
          "min-difficulty keeps 2 of 5 rows (%lld rows): %s", (long long)tr2.n, err);
    dataset_free(&tr2), dataset_free(&te2), dataset_free(&va2);
    dataset_free(&tr), dataset_free(&te), dataset_free(&va);
    SudokuBuildOptions bad = { .csv = train, .min_difficulty = -1, .valid_count = 1 };
    CHECK(sudoku_build(&bad, &tr, &te, &va, err) < 0 && strstr(err, "--test-csv"), "--valid-count without --test-csv");
}

int main(void) {
    snprintf(DIR_, sizeof DIR_, "/tmp/trm_sudoku.XXXXXX");
    if (!mkdtemp(DIR_)) die("mkdtemp");
    test_format();
    test_validity();
    test_numpy_draws();
    test_shuffles();
    test_solver_order();
    test_csv_errors();
    test_build();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", DIR_);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", DIR_);
    return test_summary("sudoku");
}
