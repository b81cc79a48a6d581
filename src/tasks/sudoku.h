// sudoku.h: Sudoku-Extreme as the official TRM builder makes it (trm-reference.md 7.3;
// dataset/build_sudoku_dataset.py). Tokens: 0 PAD (never in a Sudoku row), 1 blank,
// digit d -> d + 1 (2..10); vocabulary 11, 81 cells row-major; one shared puzzle
// embedding. An answer is correct when every row, column and 3 x 3 box holds 1-9 once
// and every given digit is kept.
//
// The builder reads the sapientinc CSV (source,question,answer,rating; 81 characters,
// '.' blank), optionally keeps a random subsample of the training rows, and adds
// num_aug shuffles of each training board (digit permutation, transpose, band and stack
// order, rows within bands, columns within stacks) as copies in the board's group.
// With the same CSV files, --subsample, --min-difficulty and --num-aug, and numpy seeded
// with --seed before the official builder runs (it never seeds: its builds differ every
// run), the arrays hold the same values: the random draws replay numpy's legacy stream
// (core/mt19937.h) in the builder's order. The official inputs and labels are uint8
// without augmentation and int64 with it (a numpy promotion); ours are always uint8.
#ifndef TRM_SUDOKU_H
#define TRM_SUDOKU_H

#include "mt19937.h"
#include "task.h"

#define SUDOKU_CELLS 81
#define SUDOKU_VOCAB 11
enum { SUDOKU_PAD = 0, SUDOKU_BLANK = 1 };   // digit d is token d + 1

extern const Task TASK_SUDOKU;    // "sudoku"

// One shuffle of the official builder: new cell (i, j) takes the old cell
// (row[i], col[j]) of the board, transposed first when `transpose`; digit d becomes
// digit[d] (digit[0] = 0: blanks stay blank).
typedef struct {
    uint8_t digit[10];
    bool transpose;
    uint8_t row[9], col[9];
} SudokuShuffle;

// Draws one shuffle in the builder's order: permutation of 1..9, rand() < 0.5, the
// band permutation and one per band, the stack permutation and one per stack.
void sudoku_shuffle_draw(Mt19937 *r, SudokuShuffle *s);
// On tokens (81 each; out must not alias in); invert undoes apply.
void sudoku_shuffle_apply(const SudokuShuffle *s, const uint8_t *in, uint8_t *out);
void sudoku_shuffle_invert(const SudokuShuffle *s, const uint8_t *in, uint8_t *out);

bool sudoku_valid(const uint8_t *board);                            // complete and legal
bool sudoku_consistent(const uint8_t *input, const uint8_t *answer); // givens kept
int  sudoku_givens(const uint8_t *input);

// The cells of a board in the order a constraint-propagation solver fixes them, given
// its solution: naked singles, then hidden singles, and when neither applies the open
// cell with the fewest candidates takes the solution's digit. order[k] = the k-th blank
// cell; returns how many (the blanks of input).
int sudoku_solver_order(const uint8_t *input, const uint8_t *solution, int *order);

typedef struct {
    const char *csv;          // training rows
    const char *test_csv;     // test rows (optional)
    long subsample;           // keep this many training rows at random (0: all)
    long min_difficulty;      // keep rows with rating >= this (-1: all), both files
    long test_count;          // the first this many test rows (0: all)
    long valid_count;         // the next this many test rows form DIR/valid (ours)
    int num_aug;              // shuffled copies per training board
    uint32_t seed;            // numpy seed
} SudokuBuildOptions;

// Reads and checks every input file, then builds the splits (train, and test and
// valid when asked; the others are left empty). Nothing is written.
int sudoku_build(const SudokuBuildOptions *o, Dataset *train, Dataset *test, Dataset *valid, char *err);

#endif
