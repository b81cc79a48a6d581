// test_targets: the DIS target paths (released linear schedule, the paper's corruption
// kernels) and the choice of answer for multi-solution puzzles (--answer closest).
#include <stdlib.h>
#include <string.h>

#include "nn/loss.h"
#include "tasks/maze.h"
#include "tasks/nqueens.h"
#include "tasks/sudoku.h"
#include "test.h"
#include "train/targets.h"

enum { L = 40, V = 5, N = 6 };

static int hamming(const int32_t *a, const int32_t *b) {
    int d = 0;
    for (int i = 0; i < L; i++) d += a[i] != b[i];
    return d;
}

// A random example: 30 cells with a target, 17 of which differ from the input; the rest ignored.
static void example(Rng *r, int32_t *input, int32_t *label) {
    for (int i = 0; i < L; i++) {
        input[i] = 1 + (int)rng_below(r, V - 1);
        label[i] = i < 30 ? (i < 17 ? 1 + (input[i] % (V - 1)) : input[i]) : IGNORE_LABEL;
    }
}

static void test_linear(void) {
    Rng r;
    rng_seed(&r, 7);
    int32_t input[L], label[L], frame[L], prev[L];
    TargetPath p = { malloc(sizeof(int) * L), malloc(sizeof(float) * L), malloc(sizeof(int) * L), 0 };
    for (int trial = 0; trial < 20; trial++) {
        example(&r, input, label);
        target_path_draw(&p, &r, input, label, L, V);
        CHECK(p.n_diff == 17, "|D| = %d, expected 17", p.n_diff);
        memcpy(prev, input, sizeof input);
        for (int i = 30; i < L; i++) prev[i] = IGNORE_LABEL;
        for (int t = 1; t <= N; t++) {
            target_frame(frame, TARGETS_LINEAR, &p, input, label, L, t, N);
            int revealed = 0, ignored_kept = 1, from_prev = 1, sourced = 1;
            for (int i = 0; i < L; i++) {
                revealed += i < 17 && frame[i] == label[i];
                ignored_kept &= i < 30 || frame[i] == IGNORE_LABEL;
                // each frame keeps what the previous one revealed: strictly closer to y*
                from_prev &= prev[i] != label[i] || frame[i] == label[i];
                sourced &= i >= 30 || frame[i] == input[i] || frame[i] == label[i];
            }
            CHECK(revealed == t * 17 / N, "frame %d reveals %d cells, expected floor(t|D|/N) = %d", t, revealed, t * 17 / N);
            CHECK(ignored_kept && from_prev && sourced, "frame %d: ignored cells or earlier reveals lost, or a token from nowhere", t);
            if (t > 1 && t * 17 / N > (t - 1) * 17 / N)
                CHECK(hamming(frame, label) < hamming(prev, label), "frame %d not closer to the answer", t);
            memcpy(prev, frame, sizeof frame);
        }
        CHECK(hamming(frame, label) == 0, "frame N is the label");
        target_frame(frame, TARGETS_ANSWER, &p, input, label, L, 1, N);
        CHECK(hamming(frame, label) == 0, "answer targets: every frame is the label");
    }
    free(p.rank); free(p.u); free(p.tok);
}

// Corruption kernels: at step t a cell is corrupted with probability 1 - t/N; measured over
// many draws, within 5 standard deviations of the binomial.
static void test_corruption(void) {
    Rng r;
    rng_seed(&r, 11);
    int32_t input[L], label[L], frame[L];
    TargetPath p = { malloc(sizeof(int) * L), malloc(sizeof(float) * L), malloc(sizeof(int) * L), 0 };
    for (int kind = TARGETS_MASK; kind <= TARGETS_REPLACE; kind++)
        for (int t = 1; t <= N; t++) {
            long changed = 0, cells = 0, bad = 0;
            for (int trial = 0; trial < 400; trial++) {
                example(&r, input, label);
                target_path_draw(&p, &r, input, label, L, V);
                target_frame(frame, (TargetKind)kind, &p, input, label, L, t, N);
                for (int i = 0; i < 30; i++) {
                    cells++;
                    if (frame[i] == label[i]) continue;
                    if (kind == TARGETS_MASK) { changed += frame[i] == 0; bad += frame[i] != 0; }
                    else { changed++; bad += frame[i] < 1 || frame[i] >= V; }
                }
            }
            double rate = 1.0 - (double)t / N, sd = sqrt(rate * (1 - rate) / cells);
            // replacement may draw the label's own token (1 in V-1): that cell looks unchanged
            double expect = kind == TARGETS_MASK ? rate : rate * (V - 2.0) / (V - 1.0);
            CHECK(fabs((double)changed / cells - expect) <= 5 * sd + 1e-12, "%s t=%d: corrupted %.4f, expected %.4f",
                  target_kind_name((TargetKind)kind), t, (double)changed / cells, expect);
            CHECK(bad == 0, "%s t=%d: %ld corrupted cells with an impossible token", target_kind_name((TargetKind)kind), t, bad);
        }
    free(p.rank); free(p.u); free(p.tok);
}

// The completions of N-Queens inputs: the 92 solutions for the empty board, 736 = 92 x 8
// (input, completion) pairs over the 64 one-queen boards, the solution itself when all 8
// are given, none when two given queens attack each other.
static void test_completions(void) {
    static uint8_t out[NQ_SOLUTIONS][NQ_CELLS], sol[NQ_SOLUTIONS][NQ_CELLS];
    const Task *t = &TASK_NQUEENS;
    uint8_t input[NQ_CELLS];
    memset(input, NQ_EMPTY, sizeof input);
    CHECK(t->completions && t->max_completions == NQ_SOLUTIONS, "N-Queens lists its answers");
    CHECK(t->completions(input, out[0], NQ_SOLUTIONS) == 92, "empty board: 92 completions");
    int pairs = 0, all_ok = 1;
    for (int cell = 0; cell < NQ_CELLS; cell++) {
        memset(input, NQ_EMPTY, sizeof input);
        input[cell] = NQ_QUEEN;
        int n = t->completions(input, out[0], NQ_SOLUTIONS);
        pairs += n;
        for (int k = 0; k < n; k++) all_ok &= t->check(input, out[k]);
    }
    CHECK(pairs == 92 * 8, "one-queen boards: %d (input, completion) pairs, expected 736", pairs);
    CHECK(all_ok, "every completion is valid and keeps the given queen");
    nq_enumerate_solutions(sol, NQ_SOLUTIONS);
    CHECK(t->completions(sol[17], out[0], NQ_SOLUTIONS) == 1 && !memcmp(out[0], sol[17], NQ_CELLS),
          "a full solution completes to itself");
    CHECK(t->completions(sol[17], NULL, 0) == 1, "max 0 counts without writing");
    memset(input, NQ_EMPTY, sizeof input);
    input[0] = input[9] = NQ_QUEEN;      // same diagonal
    CHECK(t->completions(input, out[0], NQ_SOLUTIONS) == 0, "attacking givens: no completion");
}

// answer_closest picks the candidate the logits favour, under either normaliser, and the
// first of equals.
static void test_answer_closest(void) {
    static uint8_t sol[NQ_SOLUTIONS][NQ_CELLS];
    nq_enumerate_solutions(sol, NQ_SOLUTIONS);
    real logits[NQ_CELLS * 3];
    double logp[NQ_CELLS * 3];
    Rng r;
    rng_seed(&r, 3);
    for (int trial = 0; trial < 20; trial++) {
        int want = (int)rng_below(&r, NQ_SOLUTIONS);
        // noise, then a margin toward the wanted board that outweighs it
        for (int i = 0; i < NQ_CELLS * 3; i++) logits[i] = (real)(rng_uniform(&r) - 0.5);
        for (int i = 0; i < NQ_CELLS; i++) logits[i * 3 + sol[want][i]] += 2;
        for (int kind = LOSS_STABLEMAX; kind <= LOSS_SOFTMAX; kind++) {
            int got = answer_closest((LossKind)kind, logits, sol[0], NQ_SOLUTIONS, NQ_CELLS, 3, logp);
            CHECK(got == want, "loss %d: chose solution %d, the logits favour %d", kind, got, want);
        }
    }
    for (int i = 0; i < NQ_CELLS * 3; i++) logits[i] = 0;
    CHECK(answer_closest(LOSS_SOFTMAX, logits, sol[0], NQ_SOLUTIONS, NQ_CELLS, 3, logp) == 0, "ties: the first");
}

// Solver targets on one example of L cells: frame t reveals the first floor(t|D|/N)
// cells of the task's order, keeps earlier reveals, is strictly closer to the answer
// whenever it reveals more, and frame N is the answer. Returns the frames [N + 1][L]
// (frame 0: the input) for task-specific checks.
static int32_t *solver_frames(const Task *task, const uint8_t *in8, const uint8_t *lab8, int Lx, int *order) {
    int32_t *input = calloc((size_t)Lx, sizeof(int32_t)), *label = calloc((size_t)Lx, sizeof(int32_t));
    int32_t *frames = malloc(sizeof(int32_t) * Lx * (N + 1));
    for (int i = 0; i < Lx; i++) input[i] = in8[i], label[i] = lab8[i];
    TargetPath p = { malloc(sizeof(int) * Lx), malloc(sizeof(float) * Lx), malloc(sizeof(int) * Lx), 0 };
    target_path_solver(&p, task, input, label, Lx);
    int k = task->solver_order(in8, lab8, order), nd = 0, ranked = 1, kept = 1, closer = 1;
    for (int i = 0; i < Lx; i++) nd += in8[i] != lab8[i];
    for (int j = 0; j < k; j++) ranked &= p.rank[order[j]] == j;
    CHECK(p.n_diff == nd && k == nd && ranked, "%s: |D| %d, the solver lists %d, ranks follow its order: %d", task->name,
          p.n_diff, k, ranked);
    memcpy(frames, input, sizeof(int32_t) * Lx);
    for (int t = 1; t <= N; t++) {
        int32_t *f = frames + t * Lx, *prev = f - Lx;
        target_frame(f, TARGETS_SOLVER, &p, input, label, Lx, t, N);
        int revealed = 0, prefix = 1, dprev = 0, dnow = 0;
        for (int i = 0; i < Lx; i++) {
            revealed += f[i] != input[i];
            kept &= prev[i] == input[i] || f[i] == prev[i];
            dprev += prev[i] != label[i], dnow += f[i] != label[i];
        }
        for (int j = 0; j < k; j++) prefix &= (j < t * nd / N) == (f[order[j]] == label[order[j]]);
        CHECK(revealed == t * nd / N && prefix, "%s frame %d: %d cells revealed (expected %d), the solver's first: %d",
              task->name, t, revealed, t * nd / N, prefix);
        if (t * nd / N > (t - 1) * nd / N) closer &= dnow < dprev;
    }
    CHECK(kept && closer, "%s: frames keep earlier reveals (%d) and get strictly closer (%d)", task->name, kept, closer);
    CHECK(!memcmp(frames + N * Lx, label, sizeof(int32_t) * Lx), "%s: frame N is the answer", task->name);
    free(p.rank); free(p.u); free(p.tok); free(input); free(label);
    return frames;
}

// Sudoku: the solver's first wave is every naked single of the puzzle (a blank that only
// one digit fits), so the order starts with them and frame 1 reveals them first.
static void test_solver_sudoku(void) {
    static const char *P = "39.21.5...78.3...6621.8.......5.8.94.5.....2..3.6.1....431627...1685...9.8..941..";
    static const char *S = "394216578578439216621785943162578394857943621439621857943162785216857439785394162";
    uint8_t in[81], lab[81];
    char err[ERR_LEN];
    if (TASK_SUDOKU.parse(P, 81, in, err) || TASK_SUDOKU.parse(S, 81, lab, err)) die("%s", err);
    int order[81], naked = 0, first = 1;
    bool single[81];
    for (int i = 0; i < 81; i++) {
        unsigned used = 0;           // the digit tokens cell i sees in its row, column and box
        for (int j = 0; j < 81; j++)
            if (in[j] != SUDOKU_BLANK && (j / 9 == i / 9 || j % 9 == i % 9 || (j / 27 == i / 27 && j % 9 / 3 == i % 9 / 3)))
                used |= 1u << in[j];
        single[i] = in[i] == SUDOKU_BLANK && __builtin_popcount(~used & 0x7fcu) == 1;
        naked += single[i];
    }
    int32_t *f = solver_frames(&TASK_SUDOKU, in, lab, 81, order);
    for (int j = 0; j < naked; j++) first &= single[order[j]];
    CHECK(naked > 0 && first, "sudoku: the order starts with the puzzle's %d naked singles (%d)", naked, first);
    free(f);
    CHECK(TASK_NQUEENS.solver_order == NULL, "N-Queens has no solver order");
}

// Maze: each frame's path cells are the ones nearest S: the revealed path grows from S.
static void test_solver_maze(void) {
    Rng r;
    rng_seed(&r, 8);
    uint8_t in[144], lab[144];
    char err[ERR_LEN];
    if (maze_generate(&r, 12, 30, in, lab, err)) die("%s", err);
    const Task *t = maze_task(12);
    int order[144], dist[144];
    int32_t *f = solver_frames(t, in, lab, 144, order);
    maze_shortest(in, 12, dist);
    int grows = 1;
    for (int s = 1; s <= N; s++) {
        int far = -1, near = 1 << 30;    // the farthest revealed and the nearest hidden path cell
        for (int i = 0; i < 144; i++)
            if (lab[i] == MAZE_PATH) {
                if (f[s * 144 + i] == MAZE_PATH) far = MAX(far, dist[i]);
                else near = MIN(near, dist[i]);
            }
        grows &= far < near;
    }
    CHECK(grows, "maze frames reveal the path from S outward");
    free(f);
}

int main(void) {
    test_linear();
    test_solver_sudoku();
    test_solver_maze();
    test_corruption();
    test_completions();
    test_answer_closest();
    return test_summary("targets");
}
