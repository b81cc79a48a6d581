// puzzle_io.h: what the Sudoku and Maze builders share: the sapientinc CSV files the
// official builders read (dataset/build_sudoku_dataset.py, build_maze_dataset.py), and
// the dataset directory they write, with one shared puzzle embedding (trm-reference.md
// 7.1, 7.3, 7.4).
#ifndef TRM_PUZZLE_IO_H
#define TRM_PUZZLE_IO_H

#include <stdio.h>

#include "mt19937.h"
#include "task.h"

// The header every sapientinc CSV starts with, exactly.
#define PUZZLE_CSV_HEADER "source,question,answer,rating"

// One data row: the four fields (NUL-terminated, quotes removed) and the file's line.
typedef struct {
    const char *source, *question, *answer, *rating;
    size_t qlen, alen;
    long line;
} CsvRow;

// Called once per row; on a bad row it fills err with what is wrong (without file or
// line: the reader adds "FILE:LINE: ") and returns -1, which stops the reading.
typedef int (*CsvRowFn)(void *ctx, const CsvRow *row, char *err);

// Reads path: the header line, then rows of four comma-separated fields (a field may be
// quoted as Python's csv module writes it; CRLF line ends are fine). Empty lines are
// allowed only at the end. A file without rows is an error.
int puzzle_csv_read(const char *path, CsvRowFn fn, void *ctx, char *err);

// Writes rows as Python's csv.writer does for these fields (none needs quoting: a field
// with a comma, quote or line end is refused). q and a are n rows of `len` characters.
int puzzle_csv_write(const char *path, const char *source_prefix, const char *q, const char *a, int64_t n,
                     size_t len, const int *rating, char *err);

// The official builders' --subsample: np.random.choice(n, k, replace=False), which in
// numpy's legacy stream is the first k of a permutation of n, in that order. NULL (no
// draw) when k <= 0 or k >= n: every row is kept.
int64_t *puzzle_subsample(Mt19937 *r, int64_t n, long k);

// Group the n one-example puzzles of ds into runs of `copies` (an original and its
// augmented copies), as the official builders' group_indices.
void dataset_group_copies(Dataset *ds, int copies);

// Writes DIR/<names[k]>/ for each split and DIR/identifiers.json (["<blank>"]): every
// puzzle has the blank identifier 0, and dataset.json holds the values the official
// builders write (their total_puzzles is the group count, mean_puzzle_examples 1).
// Nothing is written unless DIR can be created.
int puzzle_dir_save(const char *dir, const char *const *names, const Dataset *const *splits, int nsplits,
                    int vocab, char *err);

#endif
