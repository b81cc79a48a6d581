// test_targets: the DIS target paths (released linear schedule, the paper's corruption
// kernels) and the choice of answer for multi-solution puzzles (--answer closest).
#include <stdlib.h>
#include <string.h>

#include "nn/loss.h"
#include "tasks/nqueens.h"
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

int main(void) {
    test_linear();
    test_corruption();
    test_completions();
    test_answer_closest();
    return test_summary("targets");
}
