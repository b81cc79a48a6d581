// sudoku.c: the Sudoku task (tokens, text format, validity), the official shuffles, the
// constraint-propagation order of the solver targets and the builder.
#include "sudoku.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "puzzle_io.h"

// ---------------------------------------------------------------- boards

static int box_of(int i) { return (i / 27) * 3 + (i % 9) / 3; }
static bool is_digit_token(int t) { return t >= 2 && t <= 10; }

// The first rule a board breaks, as a message (err may be NULL): a cell without a digit
// (when the board must be complete), or a digit twice in a row, column or box.
static int board_conflict(const uint8_t *b, bool complete, char *err) {
    static const char *const UNIT[3] = { "row", "column", "box" };
    unsigned seen[3][9] = { { 0 } };
    for (int i = 0; i < SUDOKU_CELLS; i++) {
        int t = b[i];
        if (t == SUDOKU_BLANK && !complete) continue;
        if (!is_digit_token(t)) return err_set(err, "row %d, column %d holds no digit", i / 9 + 1, i % 9 + 1);
        int u[3] = { i / 9, i % 9, box_of(i) };
        unsigned bit = 1u << (t - 1);
        for (int k = 0; k < 3; k++) {
            if (seen[k][u[k]] & bit) return err_set(err, "%s %d holds %d twice", UNIT[k], u[k] + 1, t - 1);
            seen[k][u[k]] |= bit;
        }
    }
    return 0;
}

bool sudoku_valid(const uint8_t *board) { return board_conflict(board, true, NULL) == 0; }

static int changed_given(const uint8_t *input, const uint8_t *answer, char *err) {
    for (int i = 0; i < SUDOKU_CELLS; i++)
        if (input[i] != SUDOKU_BLANK && answer[i] != input[i])
            return err_set(err, "the given %d at row %d, column %d is not kept", input[i] - 1, i / 9 + 1, i % 9 + 1);
    return 0;
}

bool sudoku_consistent(const uint8_t *input, const uint8_t *answer) { return changed_given(input, answer, NULL) == 0; }

int sudoku_givens(const uint8_t *input) {
    int n = 0;
    for (int i = 0; i < SUDOKU_CELLS; i++) n += is_digit_token(input[i]);
    return n;
}

// ---------------------------------------------------------------- the Task entry

// 81 characters: '.' or '0' blank, '1'-'9' digits; a board that already breaks a rule is
// no puzzle.
static int sd_parse(const char *text, size_t len, uint8_t *tokens, char *err) {
    if (len != SUDOKU_CELLS) return err_set(err, "expected %d characters, got %zu", SUDOKU_CELLS, len);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '.' || ch == '0') tokens[i] = SUDOKU_BLANK;
        else if (ch >= '1' && ch <= '9') tokens[i] = (uint8_t)(ch - '0' + 1);
        else if (ch >= 0x20 && ch < 0x7f)
            return err_set(err, "illegal character '%c' at column %zu (expected 1-9, '.' or '0')", ch, i + 1);
        else
            return err_set(err, "illegal byte 0x%02x at column %zu", ch, i + 1);
    }
    return board_conflict(tokens, false, err);
}

// PAD and tokens outside the vocabulary (a bad prediction) print as '?', which parse refuses.
static void sd_format(const uint8_t *tokens, char *out) {
    for (int i = 0; i < SUDOKU_CELLS; i++)
        out[i] = tokens[i] == SUDOKU_BLANK ? '.' : is_digit_token(tokens[i]) ? (char)('0' + tokens[i] - 1) : '?';
    out[SUDOKU_CELLS] = '\0';
}

static bool sd_check(const uint8_t *input, const uint8_t *answer) {
    return sudoku_valid(answer) && sudoku_consistent(input, answer);
}

static int sd_group(const uint8_t *input) { return sudoku_givens(input); }

// The board with thin lines between cells and heavy ones between boxes (solve on a terminal).
static void sd_draw(FILE *f, const uint8_t *tokens) {
    char text[SUDOKU_CELLS + 1];
    sd_format(tokens, text);
    for (int r = 0; r < 9; r++) {
        if (r && r % 3 == 0) fputs("------+-------+------\n", f);
        for (int c = 0; c < 9; c++)
            fprintf(f, "%s%c%s", c && c % 3 == 0 ? "| " : "", text[r * 9 + c], c < 8 ? " " : "\n");
    }
}

const Task TASK_SUDOKU = {
    .name = "sudoku", .seq_len = SUDOKU_CELLS, .vocab = SUDOKU_VOCAB,
    .parse = sd_parse, .format = sd_format, .check = sd_check, .group = sd_group,
    .num_groups = SUDOKU_CELLS + 1, .group_name = "given digits",
    .draw = sd_draw,
    .solver_order = sudoku_solver_order,
};

// ---------------------------------------------------------------- the official shuffles

// numpy's random_sample: 53 random bits from two 32-bit draws.
static double mt_double(Mt19937 *r) {
    uint32_t a = mt_next32(r) >> 5, b = mt_next32(r) >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
}

// The band (or stack) order, then the rows (columns) within each band, in draw order.
static void draw_lines(Mt19937 *r, uint8_t line[9]) {
    int outer[3], inner[3];
    mt_permutation(r, outer, 3);
    for (int k = 0; k < 3; k++) {
        mt_permutation(r, inner, 3);
        for (int j = 0; j < 3; j++) line[3 * k + j] = (uint8_t)(3 * outer[k] + inner[j]);
    }
}

void sudoku_shuffle_draw(Mt19937 *r, SudokuShuffle *s) {
    int p[9];
    for (int i = 0; i < 9; i++) p[i] = i + 1;
    mt_shuffle(r, p, 9, sizeof *p);            // np.random.permutation(np.arange(1, 10))
    s->digit[0] = 0;
    for (int i = 0; i < 9; i++) s->digit[i + 1] = (uint8_t)p[i];
    s->transpose = mt_double(r) < 0.5;
    draw_lines(r, s->row);
    draw_lines(r, s->col);
}

// The old cell that new cell (i, j) comes from.
static int source_cell(const SudokuShuffle *s, int i, int j) {
    int r = s->row[i], c = s->col[j];
    return s->transpose ? c * 9 + r : r * 9 + c;
}

void sudoku_shuffle_apply(const SudokuShuffle *s, const uint8_t *in, uint8_t *out) {
    for (int i = 0; i < 9; i++)
        for (int j = 0; j < 9; j++) {
            uint8_t t = in[source_cell(s, i, j)];
            out[i * 9 + j] = is_digit_token(t) ? (uint8_t)(s->digit[t - 1] + 1) : t;
        }
}

void sudoku_shuffle_invert(const SudokuShuffle *s, const uint8_t *in, uint8_t *out) {
    uint8_t inv[10];
    for (int d = 0; d < 10; d++) inv[s->digit[d]] = (uint8_t)d;
    for (int i = 0; i < 9; i++)
        for (int j = 0; j < 9; j++) {
            uint8_t t = in[i * 9 + j];
            out[source_cell(s, i, j)] = is_digit_token(t) ? (uint8_t)(inv[t - 1] + 1) : t;
        }
}

// ---------------------------------------------------------------- the solver's order

// Candidate digits of each cell (bit d for digit d), from the digits in its units.
static void candidates(const uint8_t *b, unsigned *cand) {
    unsigned used[3][9] = { { 0 } };
    for (int i = 0; i < SUDOKU_CELLS; i++)
        if (is_digit_token(b[i])) {
            unsigned bit = 1u << (b[i] - 1);
            used[0][i / 9] |= bit, used[1][i % 9] |= bit, used[2][box_of(i)] |= bit;
        }
    for (int i = 0; i < SUDOKU_CELLS; i++)
        cand[i] = is_digit_token(b[i]) ? 0 : 0x3feu & ~(used[0][i / 9] | used[1][i % 9] | used[2][box_of(i)]);
}

// Cells that are the only place for some digit in a row, column or box: hidden singles.
static int hidden_singles(const uint8_t *b, const unsigned *cand, bool *pick) {
    int n = 0;
    for (int kind = 0; kind < 3; kind++)
        for (int u = 0; u < 9; u++)
            for (int d = 1; d <= 9; d++) {
                int where = -1, count = 0;
                for (int i = 0; i < SUDOKU_CELLS; i++) {
                    int unit = kind == 0 ? i / 9 : kind == 1 ? i % 9 : box_of(i);
                    if (unit == u && !is_digit_token(b[i]) && (cand[i] >> d & 1u)) where = i, count++;
                }
                if (count == 1 && !pick[where]) pick[where] = true, n++;
            }
    return n;
}

// One wave of the solver: every naked single; else every hidden single; else the open
// cell with the fewest candidates (a guess, made right by the solution).
static int next_wave(const uint8_t *b, bool *pick) {
    unsigned cand[SUDOKU_CELLS];
    candidates(b, cand);
    memset(pick, 0, SUDOKU_CELLS * sizeof *pick);
    int n = 0, best = -1, best_count = 10;
    for (int i = 0; i < SUDOKU_CELLS; i++) {
        if (is_digit_token(b[i])) continue;
        int k = __builtin_popcount(cand[i]);
        if (k == 1) pick[i] = true, n++;
        if (k < best_count) best = i, best_count = k;
    }
    if (!n) n = hidden_singles(b, cand, pick);
    if (!n && best >= 0) pick[best] = true, n = 1;
    return n;
}

int sudoku_solver_order(const uint8_t *input, const uint8_t *solution, int *order) {
    uint8_t b[SUDOKU_CELLS];
    bool pick[SUDOKU_CELLS];
    memcpy(b, input, SUDOKU_CELLS);
    int n = 0;
    while (next_wave(b, pick))
        for (int i = 0; i < SUDOKU_CELLS; i++)
            if (pick[i]) {
                order[n++] = i;
                b[i] = is_digit_token(solution[i]) ? solution[i] : 2;   // a bad label cannot stall the loop
            }
    return n;
}

// ---------------------------------------------------------------- reading the CSV

typedef struct {
    uint8_t *in, *lab;
    int64_t n, cap;
    long min_difficulty;
} Rows;

static void rows_free(Rows *r) { free(r->in), free(r->lab), *r = (Rows){0}; }

static int parse_rating(const char *s, long *out, char *err) {
    char *end;
    errno = 0;
    *out = strtol(s, &end, 10);
    if (end == s || *end || errno) return err_set(err, "rating '%.40s' is not an integer", s);
    return 0;
}

// One CSV row: an 81-character question, its 81-digit answer, and the answer must solve it.
static int take_row(void *ctx, const CsvRow *row, char *err) {
    Rows *r = ctx;
    char sub[ERR_LEN];
    long rating = 0;
    if (r->min_difficulty >= 0 && parse_rating(row->rating, &rating, err)) return -1;
    if (r->min_difficulty >= 0 && rating < r->min_difficulty) return 0;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 1024;
        r->in = xrealloc(r->in, (size_t)r->cap * SUDOKU_CELLS);
        r->lab = xrealloc(r->lab, (size_t)r->cap * SUDOKU_CELLS);
    }
    uint8_t *q = r->in + r->n * SUDOKU_CELLS, *a = r->lab + r->n * SUDOKU_CELLS;
    if (row->qlen != SUDOKU_CELLS) return err_set(err, "question has %zu characters (expected 81)", row->qlen);
    if (row->alen != SUDOKU_CELLS) return err_set(err, "answer has %zu characters (expected 81)", row->alen);
    if (sd_parse(row->question, row->qlen, q, sub)) return err_set(err, "question: %s", sub);
    if (strchr(row->answer, '.') || strchr(row->answer, '0'))
        return err_set(err, "answer: a blank at column %zu (expected digits 1-9)", strcspn(row->answer, ".0") + 1);
    if (sd_parse(row->answer, row->alen, a, sub)) return err_set(err, "answer: %s", sub);
    if (changed_given(q, a, sub)) return err_set(err, "the answer does not solve the question: %s", sub);
    r->n++;
    return 0;
}

static int read_csv(const char *path, long min_difficulty, Rows *r, char *err) {
    *r = (Rows){ .min_difficulty = min_difficulty };
    if (puzzle_csv_read(path, take_row, r, err) == 0) return 0;
    rows_free(r);
    return -1;
}

// ---------------------------------------------------------------- the builder

// rows [first, first + n) of r, one example per puzzle and group.
static Dataset rows_dataset(const Rows *r, int64_t first, int64_t n) {
    Dataset ds = dataset_alloc(n, SUDOKU_CELLS);
    memcpy(ds.inputs, r->in + first * SUDOKU_CELLS, (size_t)n * SUDOKU_CELLS);
    memcpy(ds.labels, r->lab + first * SUDOKU_CELLS, (size_t)n * SUDOKU_CELLS);
    return ds;
}

// The training split: the subsample, then per board the original and num_aug shuffles.
static Dataset build_train(const Rows *r, const SudokuBuildOptions *o, Mt19937 *mt) {
    int64_t n = r->n, *pick = puzzle_subsample(mt, n, o->subsample);
    if (pick) n = o->subsample;
    int copies = 1 + o->num_aug;
    Dataset ds = dataset_alloc(n * copies, SUDOKU_CELLS);
    for (int64_t k = 0; k < n; k++) {
        int64_t src = pick ? pick[k] : k;
        const uint8_t *q = r->in + src * SUDOKU_CELLS, *a = r->lab + src * SUDOKU_CELLS;
        for (int c = 0; c < copies; c++) {
            uint8_t *di = ds.inputs + (k * copies + c) * SUDOKU_CELLS, *dl = ds.labels + (k * copies + c) * SUDOKU_CELLS;
            if (c == 0) {
                memcpy(di, q, SUDOKU_CELLS);
                memcpy(dl, a, SUDOKU_CELLS);
                continue;
            }
            SudokuShuffle s;
            sudoku_shuffle_draw(mt, &s);
            sudoku_shuffle_apply(&s, q, di);
            sudoku_shuffle_apply(&s, a, dl);
        }
    }
    free(pick);
    dataset_group_copies(&ds, copies);
    return ds;
}

// DIR/valid: the first valid_count test rows; DIR/test: the next test_count (0: the rest).
static int build_test(const SudokuBuildOptions *o, Dataset *test, Dataset *valid, char *err) {
    Rows r;
    if (read_csv(o->test_csv, o->min_difficulty, &r, err)) return -1;
    int64_t rest = r.n - o->valid_count;
    int rc = 0;
    if (rest < (o->test_count ? o->test_count : 1))
        rc = err_set(err, "%s: %lld puzzles%s: too few for --valid-count %ld and --test-count %ld", o->test_csv,
                     (long long)r.n, o->min_difficulty >= 0 ? " at --min-difficulty" : "", o->valid_count,
                     o->test_count ? o->test_count : 1);
    if (!rc) {
        *valid = rows_dataset(&r, 0, o->valid_count);
        *test = rows_dataset(&r, o->valid_count, o->test_count ? o->test_count : rest);
    }
    rows_free(&r);
    return rc;
}

int sudoku_build(const SudokuBuildOptions *o, Dataset *train, Dataset *test, Dataset *valid, char *err) {
    *train = *test = *valid = (Dataset){0};
    if (o->num_aug < 0) return err_set(err, "--num-aug %d: expected 0 or more", o->num_aug);
    if (!o->test_csv && (o->test_count || o->valid_count))
        return err_set(err, "--test-count and --valid-count take rows of --test-csv FILE");
    Rows r;
    if (read_csv(o->csv, o->min_difficulty, &r, err)) return -1;
    int rc = 0;
    int64_t kept = o->subsample > 0 && o->subsample < r.n ? o->subsample : r.n;
    if (kept > INT32_MAX / (1 + (int64_t)o->num_aug))
        rc = err_set(err, "%s: %lld puzzles x %d copies do not fit int32 offsets", o->csv, (long long)kept,
                     1 + o->num_aug);
    if (!rc && o->test_csv) rc = build_test(o, test, valid, err);
    if (!rc) {
        Mt19937 mt;
        mt_seed(&mt, o->seed);
        *train = build_train(&r, o, &mt);
    }
    rows_free(&r);
    return rc;
}
