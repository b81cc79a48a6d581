// nqueens.c: the N-Queens generator (a C port of the released build_nqueens_dataset.py
// logic, on this project's RNG), the validity judge, the text format and the splits.
#include "nqueens.h"

#include <stdlib.h>
#include <string.h>

const int DIHEDRAL_INVERSE[8] = {0, 3, 2, 1, 4, 5, 6, 7};

// ---------------------------------------------------------------- attacks and DFS

// Occupied columns, diagonals (r + c) and anti-diagonals (r - c + 7) of a partial board,
// one bit each: the DFS and the validity check share them.
typedef struct { unsigned cols, diag, anti; } Lines;

static bool lines_free(const Lines *l, int r, int c) {
    return !(l->cols >> c & 1u) && !(l->diag >> (r + c) & 1u) &&
           !(l->anti >> (r - c + NQ_N - 1) & 1u);
}

static Lines lines_add(Lines l, int r, int c) {
    l.cols |= 1u << c;
    l.diag |= 1u << (r + c);
    l.anti |= 1u << (r - c + NQ_N - 1);
    return l;
}

static void board_from_cols(const int col_of[NQ_N], uint8_t board[NQ_CELLS]) {
    memset(board, NQ_EMPTY, NQ_CELLS);
    for (int r = 0; r < NQ_N; r++) board[r * NQ_N + col_of[r]] = NQ_QUEEN;
}

// The permutation is drawn on entering the row, before any column is tried, so a row
// that turns out to be a dead end still consumes its draw (as the Python generator).
static bool dfs_random(Rng *r, int row, Lines l, int col_of[NQ_N]) {
    if (row == NQ_N) return true;
    int order[NQ_N];
    for (int i = 0; i < NQ_N; i++) order[i] = i;
    rng_shuffle_int(r, order, NQ_N);
    for (int i = 0; i < NQ_N; i++) {
        int c = order[i];
        if (!lines_free(&l, row, c)) continue;
        col_of[row] = c;
        if (dfs_random(r, row + 1, lines_add(l, row, c), col_of)) return true;
    }
    return false;
}

void nq_random_solution(Rng *r, uint8_t board[NQ_CELLS]) {
    int col_of[NQ_N];
    if (!dfs_random(r, 0, (Lines){0, 0, 0}, col_of)) die("nq_random_solution: no solution");
    board_from_cols(col_of, board);
}

static void dfs_all(int row, Lines l, int col_of[NQ_N], uint8_t (*out)[NQ_CELLS], int max,
                    int *count) {
    if (row == NQ_N) {
        if (*count < max) board_from_cols(col_of, out[*count]);
        (*count)++;
        return;
    }
    for (int c = 0; c < NQ_N; c++) {
        if (!lines_free(&l, row, c)) continue;
        col_of[row] = c;
        dfs_all(row + 1, lines_add(l, row, c), col_of, out, max, count);
    }
}

int nq_enumerate_solutions(uint8_t (*out)[NQ_CELLS], int max) {
    int col_of[NQ_N], count = 0;
    dfs_all(0, (Lines){0, 0, 0}, col_of, out, max, &count);
    return count;
}

void nq_make_input(Rng *r, const uint8_t solution[NQ_CELLS], int k, uint8_t input[NQ_CELLS]) {
    // Queens in row-major order, then a uniform k-subset of them (rng.choice(8, k,
    // replace=False) in the released code; the subset law is the same).
    int where[NQ_CELLS], q = 0;
    for (int i = 0; i < NQ_CELLS; i++)
        if (solution[i] == NQ_QUEEN) where[q++] = i;
    rng_shuffle_int(r, where, q);
    memset(input, NQ_EMPTY, NQ_CELLS);
    for (int i = 0; i < MIN(MAX(k, 0), q); i++) input[where[i]] = NQ_QUEEN;
}

// ---------------------------------------------------------------- symmetries

// Where out[i][j] comes from in `in`, for each of numpy's transforms.
static void dihedral_source(int n, int id, int i, int j, int *si, int *sj) {
    int m = n - 1;
    switch (id) {
    case 0: *si = i;     *sj = j;     break;
    case 1: *si = j;     *sj = m - i; break;   // rot90 k=1
    case 2: *si = m - i; *sj = m - j; break;   // rot180
    case 3: *si = m - j; *sj = i;     break;   // rot90 k=3
    case 4: *si = i;     *sj = m - j; break;   // fliplr
    case 5: *si = m - i; *sj = j;     break;   // flipud
    case 6: *si = j;     *sj = i;     break;   // transpose
    case 7: *si = m - j; *sj = m - i; break;   // fliplr(rot90): the anti-transpose
    default: die("nq_dihedral: bad transform id %d", id);
    }
}

void nq_dihedral(const uint8_t *in, int n, int id, uint8_t *out) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int si, sj;
            dihedral_source(n, id, i, j, &si, &sj);
            out[i * n + j] = in[si * n + sj];
        }
}

uint64_t nq_mask(const uint8_t b[NQ_CELLS]) {
    uint64_t m = 0;
    for (int i = 0; i < NQ_CELLS; i++)
        if (b[i] == NQ_QUEEN) m |= 1ull << i;
    return m;
}

uint64_t nq_canonical(const uint8_t b[NQ_CELLS]) {
    uint64_t best = UINT64_MAX;
    for (int id = 0; id < 8; id++) {
        uint8_t t[NQ_CELLS];
        nq_dihedral(b, NQ_N, id, t);
        uint64_t m = nq_mask(t);
        if (m < best) best = m;
    }
    return best;
}

// ---------------------------------------------------------------- judging

int nq_count_queens(const uint8_t b[NQ_CELLS]) {
    int q = 0;
    for (int i = 0; i < NQ_CELLS; i++) q += b[i] == NQ_QUEEN;
    return q;
}

bool nq_valid(const uint8_t b[NQ_CELLS]) {
    Lines l = {0, 0, 0};
    unsigned rows = 0;
    for (int i = 0; i < NQ_CELLS; i++) {
        if (b[i] == NQ_EMPTY) continue;
        if (b[i] != NQ_QUEEN) return false;    // PAD or out-of-vocabulary token
        int r = i / NQ_N, c = i % NQ_N;
        if ((rows >> r & 1u) || !lines_free(&l, r, c)) return false;
        rows |= 1u << r;
        l = lines_add(l, r, c);
    }
    return rows == (1u << NQ_N) - 1;           // 8 queens, one in every row
}

bool nq_consistent(const uint8_t input[NQ_CELLS], const uint8_t answer[NQ_CELLS]) {
    for (int i = 0; i < NQ_CELLS; i++)
        if (input[i] == NQ_QUEEN && answer[i] != NQ_QUEEN) return false;
    return true;
}

// ---------------------------------------------------------------- the Task entry

static int nq_parse(const char *text, size_t len, uint8_t *tokens, char *err) {
    if (len != NQ_CELLS) return err_set(err, "expected %d characters, got %zu", NQ_CELLS, len);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '.') tokens[i] = NQ_EMPTY;
        else if (ch == 'Q') tokens[i] = NQ_QUEEN;
        else if (ch >= 0x20 && ch < 0x7f)
            return err_set(err, "illegal character '%c' at column %zu", ch, i + 1);
        else   // control or non-ASCII bytes would garble the message: show them as hex
            return err_set(err, "illegal byte 0x%02x at column %zu", ch, i + 1);
    }
    int q = nq_count_queens(tokens);
    if (q > NQ_N) return err_set(err, "%d queens (at most %d)", q, NQ_N);
    return 0;
}

// PAD (and anything outside the vocabulary, e.g. a bad prediction) prints as '?', which
// parse rejects: such a board is not a puzzle.
static void nq_format(const uint8_t *tokens, char *out) {
    for (int i = 0; i < NQ_CELLS; i++)
        out[i] = tokens[i] == NQ_EMPTY ? '.' : tokens[i] == NQ_QUEEN ? 'Q' : '?';
    out[NQ_CELLS] = '\0';
}

static bool nq_check(const uint8_t *input, const uint8_t *answer) {
    return nq_valid(answer) && nq_consistent(input, answer);
}

static int nq_group(const uint8_t *input) { return MIN(nq_count_queens(input), NQ_N); }

// The solutions that keep every given queen of `input`. The 92 solutions are built once
// (the first call comes from the single-threaded trainer set-up or training loop).
static int nq_completions(const uint8_t *input, uint8_t *out, int max) {
    static uint8_t all[NQ_SOLUTIONS][NQ_CELLS];
    static int n_all;
    if (!n_all) n_all = nq_enumerate_solutions(all, NQ_SOLUTIONS);
    int count = 0;
    for (int s = 0; s < n_all; s++) {
        if (!nq_consistent(input, all[s])) continue;
        if (count < max) memcpy(out + (size_t)count * NQ_CELLS, all[s], NQ_CELLS);
        count++;
    }
    return count;
}

const Task TASK_NQUEENS = {
    .name = "nqueens", .seq_len = NQ_CELLS, .vocab = 3,
    .parse = nq_parse, .format = nq_format, .check = nq_check, .group = nq_group,
    .num_groups = NQ_N + 1,
    .group_name = "given queens",
    .completions = nq_completions, .max_completions = NQ_SOLUTIONS,
};

// ---------------------------------------------------------------- splits

// One puzzle in the released RNG order: solution, then k ~ U{0..7}, then the subset.
static void draw_puzzle(Rng *r, uint8_t input[NQ_CELLS], uint8_t label[NQ_CELLS]) {
    nq_random_solution(r, label);
    int k = (int)rng_below(r, NQ_N);
    nq_make_input(r, label, k, input);
}

// Appends a puzzle at row *row: once, or as 9 views (view 0 the original, views 1..8
// dihedral ids 0..7, so the identity appears twice, as in the released code).
static void put_views(Dataset *ds, int *row, const uint8_t *in, const uint8_t *lab, bool augment) {
    for (int v = 0; v < (augment ? NQ_VIEWS : 1); v++, (*row)++) {
        uint8_t *di = ds->inputs + (size_t)*row * NQ_CELLS, *dl = ds->labels + (size_t)*row * NQ_CELLS;
        nq_dihedral(in, NQ_N, v == 0 ? 0 : v - 1, di);
        nq_dihedral(lab, NQ_N, v == 0 ? 0 : v - 1, dl);
    }
}

static void build_train(uint64_t seed, bool augment, Dataset *train, uint64_t *keys) {
    Rng r;
    rng_seed(&r, seed);
    *train = dataset_alloc(NQ_TRAIN * (augment ? NQ_VIEWS : 1), NQ_CELLS);
    int row = 0;
    for (int p = 0; p < NQ_TRAIN; p++) {
        uint8_t in[NQ_CELLS], lab[NQ_CELLS];
        draw_puzzle(&r, in, lab);
        keys[p] = nq_canonical(in);   // every view of a puzzle has this same key
        put_views(train, &row, in, lab, augment);
    }
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

// Test puzzles from their own stream; with keys (sorted canonical training inputs) a
// draw whose input is a symmetry of a training input is rejected and redrawn.
static int build_test(uint64_t seed, const uint64_t *keys, Dataset *test, char *err) {
    Rng r;
    rng_seed(&r, seed + 1000);
    *test = dataset_alloc(NQ_TEST, NQ_CELLS);
    const long max_attempts = 1000L * NQ_TEST;
    int row = 0;
    for (long a = 0; a < max_attempts && row < NQ_TEST; a++) {
        uint8_t in[NQ_CELLS], lab[NQ_CELLS];
        draw_puzzle(&r, in, lab);
        uint64_t key = nq_canonical(in);
        if (keys && bsearch(&key, keys, NQ_TRAIN, sizeof *keys, cmp_u64)) continue;
        put_views(test, &row, in, lab, false);
    }
    if (row < NQ_TEST) {
        dataset_free(test);
        return err_set(err, "dedup split: only %d of %d test puzzles unseen in training after "
                       "%ld draws", row, NQ_TEST, max_attempts);
    }
    return 0;
}

int nq_build(const char *split, uint64_t seed, bool augment, Dataset *train, Dataset *test,
             char *err) {
    *train = (Dataset){0};
    *test = (Dataset){0};
    bool dedup = split && strcmp(split, "dedup") == 0;
    if (!dedup && !(split && strcmp(split, "paper") == 0))
        return err_set(err, "unknown N-Queens split '%s' (expected paper or dedup)",
                       split ? split : "(null)");
    uint64_t keys[NQ_TRAIN];
    build_train(seed, augment, train, keys);
    if (dedup) qsort(keys, NQ_TRAIN, sizeof *keys, cmp_u64);
    if (build_test(seed, dedup ? keys : NULL, test, err) < 0) {
        dataset_free(train);
        return -1;
    }
    return 0;
}

// Validation puzzles from a third stream (seed + 2000), each kept only if no symmetry of
// its input equals a training or test input (nor another validation input), so model
// selection never sees the test set.
int nq_build_valid(uint64_t seed, const Dataset *train, const Dataset *test, Dataset *valid, char *err) {
    size_t n = (size_t)(train->n + test->n);
    uint64_t *keys = xmalloc(sizeof(uint64_t) * (n + NQ_VALID));
    for (int64_t i = 0; i < train->n; i++) keys[i] = nq_canonical(train->inputs + i * NQ_CELLS);
    for (int64_t i = 0; i < test->n; i++) keys[train->n + i] = nq_canonical(test->inputs + i * NQ_CELLS);
    qsort(keys, n, sizeof *keys, cmp_u64);
    Rng r;
    rng_seed(&r, seed + 2000);
    *valid = dataset_alloc(NQ_VALID, NQ_CELLS);
    const long max_attempts = 1000L * NQ_VALID;
    int row = 0;
    uint64_t *mine = keys + n;
    for (long a = 0; a < max_attempts && row < NQ_VALID; a++) {
        uint8_t in[NQ_CELLS], lab[NQ_CELLS];
        draw_puzzle(&r, in, lab);
        uint64_t key = nq_canonical(in);
        bool dup = bsearch(&key, keys, n, sizeof *keys, cmp_u64) != NULL;
        for (int i = 0; i < row && !dup; i++) dup = mine[i] == key;
        if (dup) continue;
        mine[row] = key;
        put_views(valid, &row, in, lab, false);
    }
    free(keys);
    if (row < NQ_VALID) {
        dataset_free(valid);
        return err_set(err, "validation split: only %d of %d puzzles unseen in train and test after %ld draws", row,
                       NQ_VALID, max_attempts);
    }
    return 0;
}
