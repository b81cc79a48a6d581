// nqueens.h: the 8-Queens completion task of the DIS paper (dis-reference.md sections 6, 8, 9).
// A puzzle is a board with k of a solution's 8 queens given; the answer is any valid
// 8-Queens board that keeps them. Tokens: 0 PAD, 1 empty, 2 queen; row-major, 64 cells.
#ifndef TRM_NQUEENS_H
#define TRM_NQUEENS_H

#include "common.h"
#include "rng.h"
#include "task.h"

#define NQ_N          8
#define NQ_CELLS      64
#define NQ_SOLUTIONS  92     // solutions of 8-Queens; they form 12 orbits under D4
#define NQ_TRAIN      800    // puzzles per split, as the released generator
#define NQ_TEST       200
#define NQ_VALID      200    // validation puzzles (ours; the released generator has none)
#define NQ_VIEWS      9      // training views per puzzle when augmenting (original + 8 dihedral)

enum { NQ_PAD = 0, NQ_EMPTY = 1, NQ_QUEEN = 2 };

extern const Task TASK_NQUEENS;   // registered in task.c as "nqueens"

// Randomised DFS as the released generator: row by row, columns tried in a fresh
// uniformly random order at every visited row, the first complete board is kept. The
// resulting distribution over the 92 solutions is not uniform (spec 8.1).
void nq_random_solution(Rng *r, uint8_t board[NQ_CELLS]);
// Keep k (0..8) of the solution's queens, chosen uniformly without replacement.
void nq_make_input(Rng *r, const uint8_t solution[NQ_CELLS], int k, uint8_t input[NQ_CELLS]);

// The 8 symmetries of an n x n grid, numbered as TRM's dihedral_transform (numpy):
// 0 identity, 1 rot90 (k=1, counter-clockwise), 2 rot180, 3 rot270, 4 fliplr, 5 flipud,
// 6 transpose, 7 fliplr(rot90). `out` must not alias `in`.
void nq_dihedral(const uint8_t *in, int n, int id, uint8_t *out);
extern const int DIHEDRAL_INVERSE[8];   // {0,3,2,1,4,5,6,7}

bool nq_valid(const uint8_t b[NQ_CELLS]);   // 8 non-attacking queens, no PAD
bool nq_consistent(const uint8_t input[NQ_CELLS], const uint8_t answer[NQ_CELLS]); // givens kept
int  nq_count_queens(const uint8_t b[NQ_CELLS]);
// The queens of a board as a bit mask (bit r*8+c), and its canonical form: the least
// mask over the 8 symmetries, equal for two boards iff one is a transform of the other.
uint64_t nq_mask(const uint8_t b[NQ_CELLS]);
uint64_t nq_canonical(const uint8_t b[NQ_CELLS]);

// All solutions in lexicographic order (rows top-down, columns ascending); writes at
// most max of them and returns how many exist (92).
int nq_enumerate_solutions(uint8_t (*out)[NQ_CELLS], int max);

// Build a split. "paper": 800 train / 200 test puzzles, k ~ U{0..7}, train seeded with
// seed and test with seed + 1000 (as 42 / 1042 in the released code), no disjointness.
// "dedup": same, but a test puzzle is kept only if no symmetry of its input equals a
// training input (spec 9). augment: 9 training views per puzzle (7,200 rows).
int nq_build(const char *split, uint64_t seed, bool augment, Dataset *train, Dataset *test,
             char *err);
// NQ_VALID validation puzzles (seeded seed + 2000) whose inputs equal no training or test
// input, nor each other, under any of the 8 symmetries: model selection and early
// stopping look at these, never at the test set.
int nq_build_valid(uint64_t seed, const Dataset *train, const Dataset *test, Dataset *valid, char *err);

#endif
