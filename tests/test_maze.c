// test_maze.c: the maze tasks: text format and sizes, validity on hand-made right and
// wrong answers (several shortest paths all count), the generator (path lengths,
// solvability, impossible requests), the dihedral views, the solver's path order, the
// CSV reader's refusals and the builder.
#include "tasks/maze.h"
#include "tasks/nqueens.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// Two shortest paths of 8 steps around a block of walls.
static const char MAZE[]   = "S.....###..###..###.....G";
static const char RIGHT1[] = "Soooo.###o.###o.###o....G";
static const char RIGHT2[] = "S....o###.o###.o###.ooooG";

static const Task *T5;

static void grid(const char *s, uint8_t *t) {
    char err[ERR_LEN];
    if (T5->parse(s, strlen(s), t, err)) die("grid '%s': %s", s, err);
}

static void expect_parse_error(const Task *t, const char *s, const char *what) {
    uint8_t tok[MAZE_MAX * MAZE_MAX];
    char err[ERR_LEN] = "";
    int rc = t->parse(s, strlen(s), tok, err);
    CHECK(rc < 0 && strstr(err, what), "parse '%s': rc %d, message '%s' lacks '%s'", s, rc, err, what);
}

static void test_tasks(void) {
    CHECK(task_find("maze") == &TASK_MAZE && TASK_MAZE.seq_len == 900 && TASK_MAZE.vocab == 6, "maze: 30 x 30, vocab 6");
    T5 = task_find("maze-5");
    CHECK(T5 && T5->seq_len == 25 && !strcmp(T5->name, "maze-5"), "maze-5: 25 tokens");
    CHECK(task_find("maze-30") == &TASK_MAZE && maze_task(30) == &TASK_MAZE, "maze-30 is maze");
    CHECK(!task_find("maze-3") && !task_find("maze-31") && !task_find("maze-05") && !task_find("maze-"),
          "sizes outside 4-30 and odd spellings are unknown");
    CHECK(TASK_MAZE.sized(144) == task_find("maze-12") && !TASK_MAZE.sized(145) && TASK_MAZE.sized(900) == &TASK_MAZE,
          "maze stands for the family: sized(seq_len) finds the member");
    CHECK(!T5->sized, "an explicit maze-N is held to its size");
}

static void test_format(void) {
    uint8_t a[25], b[25];
    grid(MAZE, a);
    grid("S     ###  ###  ###     G", b);
    CHECK(!memcmp(a, b, 25), "open is ' ' or '.'");
    CHECK(a[0] == MAZE_START && a[1] == MAZE_OPEN && a[6] == MAZE_WALL && a[24] == MAZE_GOAL, "tokens # SGo -> 1..5");
    char text[26];
    T5->format(a, text);
    CHECK(!strcmp(text, MAZE), "format writes '.' for open: %s", text);
    grid(RIGHT1, b);
    CHECK(b[1] == MAZE_PATH, "'o' is token 5");
    b[3] = MAZE_PAD;
    T5->format(b, text);
    CHECK(text[3] == '?', "PAD prints as '?'");
    expect_parse_error(T5, "......###..###..###.....G", "no start 'S'");
    expect_parse_error(T5, "S...S.###..###..###.....G", "2 starts 'S'");
    expect_parse_error(T5, "S.....###..###..###......", "no goal 'G'");
    expect_parse_error(T5, "SG....###..###..###.....G", "2 goals 'G'");
    expect_parse_error(T5, "S.....###..###..###....G", "expected 25 characters (a 5 x 5 maze), got 24");
    expect_parse_error(T5, "S..#.##..##....G", "a 4 x 4 maze (16 characters: task maze-4)");
    expect_parse_error(T5, "S..x..###..###..###.....G", "illegal character 'x' at column 4");
}

static void test_validity(void) {
    uint8_t in[25], ans[25];
    grid(MAZE, in);
    CHECK(maze_shortest(in, 5, NULL) == 8, "shortest path: 8 steps");
    grid(RIGHT1, ans);
    CHECK(T5->check(in, ans), "one shortest path");
    grid(RIGHT2, ans);
    CHECK(T5->check(in, ans), "the other shortest path");
    CHECK(maze_solve(in, 5, ans) == 0 && T5->check(in, ans), "maze_solve marks a shortest path");
    static const struct { const char *answer, *why; } WRONG[] = {
        { "Sooo..###o.###o.###o....G", "6 cells marked" },         // a gap
        { "Sooo.o###.o###.o###.o...G", "do not join S to G" },      // 7 cells, not a path
        { "S.....###..###..###.....G", "0 cells marked" },          // the input itself
        { "Soooo.o##o.###o.###o....G", "changed from '#' to 'o'" },
        { ".oooo.###o.###o.###o....G", "changed from 'S' to ' '" },
        { "Soooo.###o.###o.###o...oG", "8 cells marked" },          // one cell too many
    };
    for (size_t k = 0; k < sizeof WRONG / sizeof *WRONG; k++) {
        char err[ERR_LEN] = "";
        uint8_t w[25];
        // parse refuses a moved S only as a second S; build such answers by hand
        for (int i = 0; i < 25; i++) {
            const char *p = strchr("# SGo", WRONG[k].answer[i] == '.' ? ' ' : WRONG[k].answer[i]);
            w[i] = (uint8_t)(p - "# SGo" + 1);
        }
        CHECK(!T5->check(in, w) && maze_explain(in, w, 5, err) < 0 && strstr(err, WRONG[k].why),
              "wrong answer %zu (%s): '%s'", k, WRONG[k].why, err);
    }
    // An open square: shortest 8 steps; a longer path of open cells is not a solution.
    uint8_t sq[25], snake[25];
    for (int i = 0; i < 25; i++) sq[i] = MAZE_OPEN;
    sq[0] = MAZE_START, sq[24] = MAZE_GOAL;
    memcpy(snake, sq, 25);
    for (int i = 1; i < 24; i++) snake[i] = (i / 5) % 2 == 0 || (i % 5 == 4 && i / 5 == 1) || (i % 5 == 0 && i / 5 == 3) ? MAZE_PATH : MAZE_OPEN;
    CHECK(!T5->check(sq, snake), "a longer path is not a shortest one");
    uint8_t direct[25];
    CHECK(maze_solve(sq, 5, direct) == 0 && T5->check(sq, direct), "a shortest path through an open square");
}

static int count(const uint8_t *g, int n, uint8_t t) {
    int k = 0;
    for (int i = 0; i < n * n; i++) k += g[i] == t;
    return k;
}

static void test_generator(void) {
    static const int CASES[3][2] = { { 8, 10 }, { 12, 30 }, { 30, 110 } };
    for (int c = 0; c < 3; c++) {
        int n = CASES[c][0], min = CASES[c][1], good = 0, longer = 0, clean = 0, solved = 0;
        const Task *t = maze_task(n);
        Rng r;
        rng_seed(&r, 3 + (uint64_t)c);
        for (int k = 0; k < 20; k++) {
            uint8_t in[900], lab[900], again[900];
            char err[ERR_LEN];
            if (maze_generate(&r, n, min, in, lab, err)) {
                CHECK(0, "generate %d x %d, min %d: %s", n, n, min, err);
                break;
            }
            good += count(in, n, MAZE_START) == 1 && count(in, n, MAZE_GOAL) == 1;
            longer += maze_shortest(in, n, NULL) > min;
            clean += count(in, n, MAZE_PATH) == 0 && count(lab, n, MAZE_PATH) == maze_shortest(in, n, NULL) - 1;
            solved += t->check(in, lab) && maze_solve(in, n, again) == 0 && !memcmp(again, lab, (size_t)n * n);
        }
        CHECK(good == 20 && longer == 20 && clean == 20 && solved == 20,
              "%d x %d, min-path %d: one S and G %d, longer %d, path marked %d, solved %d (of 20)", n, n, min, good,
              longer, clean, solved);
    }
    Rng a, b;
    rng_seed(&a, 9), rng_seed(&b, 9);
    uint8_t x[900], y[900], lx[900], ly[900];
    char err[ERR_LEN] = "";
    maze_generate(&a, 30, 110, x, lx, err);
    maze_generate(&b, 30, 110, y, ly, err);
    CHECK(!memcmp(x, y, 900), "the same seed, the same maze");
    CHECK(maze_max_path(30) == 450 && maze_generate(&a, 30, 450, x, lx, err) < 0 && strstr(err, "at most 450 steps"),
          "an impossible --min-path: '%s'", err);
    CHECK(maze_generate(&a, 4, 7, x, lx, err) < 0 && strstr(err, "in 1000 attempts (the longest seen: 6 steps)"),
          "a --min-path never reached: '%s'", err);
    CHECK(maze_generate(&a, 31, 7, x, lx, err) < 0 && strstr(err, "--size 31"), "a bad size: '%s'", err);
}

static void test_dihedral(void) {
    Rng r;
    rng_seed(&r, 21);
    const Task *t = maze_task(12);
    int valid = 0, back = 0, distinct = 0;
    for (int k = 0; k < 10; k++) {
        uint8_t in[144], lab[144], ti[8][144], tl[144], u[144];
        char err[ERR_LEN];
        if (maze_generate(&r, 12, 20, in, lab, err)) die("%s", err);
        for (int id = 0; id < 8; id++) {
            nq_dihedral(in, 12, id, ti[id]);
            nq_dihedral(lab, 12, id, tl);
            valid += t->check(ti[id], tl);
            nq_dihedral(ti[id], 12, DIHEDRAL_INVERSE[id], u);
            back += !memcmp(u, in, 144);
            int same = 0;
            for (int j = 0; j < id; j++) same |= !memcmp(ti[j], ti[id], 144);
            distinct += !same;
        }
    }
    CHECK(valid == 80 && back == 80, "each of the 8 views keeps the answer correct (%d / 80) and inverts (%d / 80)",
          valid, back);
    CHECK(distinct == 80, "the 8 views of a random maze differ (%d / 80)", distinct);
}

static bool adjacent(int a, int b, int n) { return (abs(a - b) == n) || (abs(a - b) == 1 && a / n == b / n); }

static void test_path_order(void) {
    Rng r;
    rng_seed(&r, 4);
    uint8_t in[900], lab[900];
    char err[ERR_LEN];
    if (maze_generate(&r, 30, 110, in, lab, err)) die("%s", err);
    int order[900], k = TASK_MAZE.solver_order(in, lab, order), chain = 1;
    int s = 0, g = 0;
    for (int i = 0; i < 900; i++) {
        if (in[i] == MAZE_START) s = i;
        if (in[i] == MAZE_GOAL) g = i;
    }
    for (int i = 1; i < k; i++) chain &= adjacent(order[i - 1], order[i], 30);
    CHECK(k == count(lab, 30, MAZE_PATH), "every path cell once (%d)", k);
    CHECK(chain && adjacent(s, order[0], 30) && adjacent(order[k - 1], g, 30), "the order walks from S to G");
}

// ---------------------------------------------------------------- CSV files and the builder

static char DIR_[64];

static const char *write_csv(const char *name, const char *text) {
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", DIR_, name);
    write_bytes(path, text, strlen(text));
    return path;
}

static void expect_csv_error(const char *name, const char *rows, const char *what) {
    char text[2048];
    snprintf(text, sizeof text, "source,question,answer,rating\n%s", rows);
    const char *path = write_csv(name, text);
    MazeBuildOptions o = { .csv = path };
    Dataset a, b, c;
    int n;
    char err[ERR_LEN] = "", want[256];
    snprintf(want, sizeof want, "%s%s", path, what);
    CHECK(maze_build(&o, &a, &b, &c, &n, err) < 0 && strstr(err, want), "%s: '%s' lacks '%s'", name, err, want);
    CHECK(a.n == 0 && b.n == 0, "%s: nothing kept", name);
}

static void test_csv_errors(void) {
    expect_csv_error("sq.csv", "a,S     ###  ###  ###    G,Soooo.###o.###o.###o...G,1\n", ":2: the question has 24 characters: not a square maze");
    expect_csv_error("noS.csv", "a,      ###  ###  ###     G,S....o###.o###.o###.ooooG,1\n", ":2: question: no start 'S'");
    expect_csv_error("twoS.csv", "a,S   S ###  ###  ###     G,S....o###.o###.o###.ooooG,1\n", ":2: question: 2 starts 'S'");
    expect_csv_error("noG.csv", "a,S     ###  ###  ###      ,S....o###.o###.o###.ooooG,1\n", ":2: question: no goal 'G'");
    expect_csv_error("path.csv", "a,So    ###  ###  ###     G,S....o###.o###.o###.ooooG,1\n", ":2: question: illegal character 'o'");
    expect_csv_error("long.csv", "a,S     ###  ###  ###     G,Sooooo###oo###oo###oooooG,1\n", ":2: the answer is not a shortest path: 14 cells");
    expect_csv_error("size.csv", "a,S     ###  ###  ###     G,Soooo.###o.###o.###o....G,1\nb,S..G,S..G,1\n",
                     ":3: the question has 4 characters, the file's first maze 25 (5 x 5)");
    expect_csv_error("tiny.csv", "a,S..G.....,S..G.....,1\n", ":2: a 3 x 3 maze (expected 4-30 on a side)");
    expect_csv_error("header.csv", "", ": no puzzles");
    const char *path = write_csv("hdr.csv", "source,q,a,rating\n");
    MazeBuildOptions o = { .csv = path };
    Dataset a, b, c;
    int n;
    char err[ERR_LEN] = "";
    CHECK(maze_build(&o, &a, &b, &c, &n, err) < 0 && strstr(err, ":1: header 'source,q,a,rating'"), "header: '%s'", err);
}

// Generated splits: counts, no maze a symmetry of another, the CSV round trip, --aug.
static void test_build(void) {
    MazeBuildOptions o = { .size = 6, .min_path = 6, .count = 30, .test_count = 10, .valid_count = 5, .seed = 1 };
    Dataset tr, te, va;
    int n = 0;
    char err[ERR_LEN] = "";
    CHECK(maze_build(&o, &tr, &te, &va, &n, err) == 0 && n == 6, "build: %s", err);
    CHECK(tr.n == 30 && te.n == 10 && va.n == 5, "30 / 10 / 5 mazes (%lld %lld %lld)", (long long)tr.n,
          (long long)te.n, (long long)va.n);
    const Dataset *all[3] = { &tr, &te, &va };
    int dup = 0, valid = 0;
    for (int s = 0; s < 3; s++)
        for (int64_t i = 0; i < all[s]->n; i++) {
            const uint8_t *x = all[s]->inputs + i * 36;
            valid += maze_task(6)->check(x, all[s]->labels + i * 36);
            for (int s2 = 0; s2 <= s; s2++)
                for (int64_t j = 0; j < (s2 == s ? i : all[s2]->n); j++)
                    for (int id = 0; id < 8; id++) {
                        uint8_t t[36];
                        nq_dihedral(all[s2]->inputs + j * 36, 6, id, t);
                        dup += !memcmp(t, x, 36);
                    }
        }
    CHECK(valid == 45 && dup == 0, "every label correct (%d / 45), no maze a view of another (%d)", valid, dup);
    char path[128];
    snprintf(path, sizeof path, "%s/train.csv", DIR_);
    CHECK(maze_csv_save(path, &tr, 6, err) == 0, "csv save: %s", err);
    MazeBuildOptions c = { .csv = path, .aug = true };
    Dataset r, rt, rv;
    CHECK(maze_build(&c, &r, &rt, &rv, &n, err) == 0 && n == 6, "csv read: %s", err);
    CHECK(r.n == 240 && r.num_groups == 30 && r.group_index[1] == 8 && rt.n == 0, "--aug: 8 views per maze (%lld rows)",
          (long long)r.n);
    int same = 1;
    for (int64_t i = 0; i < 30; i++)
        same &= !memcmp(r.inputs + i * 8 * 36, tr.inputs + i * 36, 36) && !memcmp(r.labels + i * 8 * 36, tr.labels + i * 36, 36);
    CHECK(same, "the CSV round trip keeps every maze and label (view 0 is the identity)");
    dataset_free(&r), dataset_free(&rt), dataset_free(&rv);
    dataset_free(&tr), dataset_free(&te), dataset_free(&va);
    MazeBuildOptions many = { .size = 4, .min_path = 3, .count = 500, .seed = 1 };
    CHECK(maze_build(&many, &tr, &te, &va, &n, err) < 0 && strstr(err, "already drawn"), "more mazes than exist: '%s'", err);
}

int main(void) {
    snprintf(DIR_, sizeof DIR_, "/tmp/trm_maze.XXXXXX");
    if (!mkdtemp(DIR_)) die("mkdtemp");
    test_tasks();
    test_format();
    test_validity();
    test_generator();
    test_dihedral();
    test_path_order();
    test_csv_errors();
    test_build();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", DIR_);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", DIR_);
    return test_summary("maze");
}
