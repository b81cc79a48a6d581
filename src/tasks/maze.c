// maze.c: the maze tasks (tokens, text format, validity by BFS), the generator, the
// sapientinc CSV and the builder.
#include "maze.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mt19937.h"
#include "nqueens.h"      // nq_dihedral: the 8 symmetries of an n x n grid, numpy's numbering
#include "puzzle_io.h"
#include "strmap.h"

#define MAZE_CELLS (MAZE_MAX * MAZE_MAX)

static const char CHARSET[] = "# SGo";   // token t is CHARSET[t - 1]

// ---------------------------------------------------------------- paths

// Breadth-first distances from cell `from` over the cells `pass` accepts.
typedef bool (*Passable)(uint8_t token);
static bool not_wall(uint8_t t) { return t != MAZE_WALL; }

static void bfs(const uint8_t *g, int n, int from, Passable pass, int *dist) {
    int queue[MAZE_CELLS], head = 0, tail = 0;
    for (int i = 0; i < n * n; i++) dist[i] = -1;
    dist[from] = 0;
    queue[tail++] = from;
    while (head < tail) {
        int c = queue[head++], r = c / n, k = c % n;
        int next[4] = { r > 0 ? c - n : -1, k > 0 ? c - 1 : -1, r < n - 1 ? c + n : -1, k < n - 1 ? c + 1 : -1 };
        for (int d = 0; d < 4; d++)
            if (next[d] >= 0 && dist[next[d]] < 0 && pass(g[next[d]])) {
                dist[next[d]] = dist[c] + 1;
                queue[tail++] = next[d];
            }
    }
}

static int find_token(const uint8_t *g, int n, uint8_t t) {
    for (int i = 0; i < n * n; i++)
        if (g[i] == t) return i;
    return -1;
}

int maze_shortest(const uint8_t *grid, int n, int *dist) {
    int own[MAZE_CELLS], *d = dist ? dist : own;
    int s = find_token(grid, n, MAZE_START), g = find_token(grid, n, MAZE_GOAL);
    if (s < 0 || g < 0) {
        for (int i = 0; i < n * n; i++) d[i] = -1;
        return -1;
    }
    bfs(grid, n, s, not_wall, d);
    return d[g];
}

// Walks back from G, always to a neighbour one step nearer S (the first in the order
// up, left, down, right), marking the cells between.
int maze_solve(const uint8_t *input, int n, uint8_t *answer) {
    int dist[MAZE_CELLS];
    memcpy(answer, input, (size_t)n * n);
    int len = maze_shortest(input, n, dist);
    if (len < 0) return -1;
    for (int c = find_token(input, n, MAZE_GOAL); dist[c] > 1;) {
        int r = c / n, k = c % n;
        int next[4] = { r > 0 ? c - n : -1, k > 0 ? c - 1 : -1, r < n - 1 ? c + n : -1, k < n - 1 ? c + 1 : -1 };
        for (int d = 0; d < 4; d++)
            if (next[d] >= 0 && dist[next[d]] == dist[c] - 1) {
                c = next[d];
                break;
            }
        answer[c] = MAZE_PATH;
    }
    return 0;
}

static bool on_path(uint8_t t) { return t == MAZE_PATH || t == MAZE_GOAL; }

static char show(uint8_t t) { return t >= 1 && t <= 5 ? CHARSET[t - 1] : '?'; }

// What the answer keeps of the input: walls, S and G in place, open cells open or on the path.
static int changed_cell(const uint8_t *input, const uint8_t *answer, int n, char *err) {
    for (int i = 0; i < n * n; i++) {
        uint8_t a = input[i] == MAZE_PATH ? MAZE_OPEN : input[i], b = answer[i];
        bool ok = a == MAZE_OPEN ? b == MAZE_OPEN || b == MAZE_PATH : b == a;
        if (!ok)
            return err_set(err, "the cell at row %d, column %d changed from '%c' to '%c'", i / n + 1, i % n + 1,
                           show(input[i]), show(b));
    }
    return 0;
}

int maze_explain(const uint8_t *input, const uint8_t *answer, int n, char *err) {
    if (changed_cell(input, answer, n, err)) return -1;
    int len = maze_shortest(input, n, NULL);
    if (len < 0) return err_set(err, "no path leads from S to G");
    int marked = 0, dist[MAZE_CELLS];
    for (int i = 0; i < n * n; i++) marked += answer[i] == MAZE_PATH;
    if (marked != len - 1)
        return err_set(err, "%d cells marked 'o'; the shortest path (%d steps) has %d between S and G", marked, len,
                       len - 1);
    // d - 1 marked cells that join S to G form a path of at most d steps, so exactly d.
    bfs(answer, n, find_token(answer, n, MAZE_START), on_path, dist);
    if (dist[find_token(answer, n, MAZE_GOAL)] < 0) return err_set(err, "the 'o' cells do not join S to G");
    return 0;
}

int maze_path_order(const uint8_t *input, const uint8_t *answer, int n, int *order) {
    int dist[MAZE_CELLS], first[MAZE_CELLS + 1] = { 0 }, k = 0;
    bfs(answer, n, MAX(find_token(answer, n, MAZE_START), 0), on_path, dist);
    // A counting sort of the changed cells by their distance from S along the path.
    for (int i = 0; i < n * n; i++)
        if (answer[i] != input[i] && dist[i] >= 0 && dist[i] < n * n) first[dist[i] + 1]++;
    for (int d = 0; d < n * n; d++) first[d + 1] += first[d];
    for (int i = 0; i < n * n; i++)
        if (answer[i] != input[i] && dist[i] >= 0 && dist[i] < n * n) order[first[dist[i]]++] = i, k++;
    for (int i = 0; i < n * n; i++)    // changed cells off the path (a bad label) come last
        if (answer[i] != input[i] && dist[i] < 0) order[k++] = i;
    return k;
}

// ---------------------------------------------------------------- text

static int parse_grid(const char *text, size_t len, int n, bool label_chars, uint8_t *tokens, char *err) {
    if (len != (size_t)n * n) {
        int side = (int)lround(sqrt((double)len));
        if ((size_t)side * side == len && side >= MAZE_MIN && side <= MAZE_MAX)
            return err_set(err, "a %d x %d maze (%zu characters: task %s); expected %d x %d", side, side, len, maze_task(side)->name, n, n);
        return err_set(err, "expected %d characters (a %d x %d maze), got %zu", n * n, n, n, len);
    }
    int starts = 0, goals = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        const char *p = ch == '.' ? CHARSET + 1 : ch ? strchr(CHARSET, ch) : NULL;
        if (!p || (*p == 'o' && !label_chars)) {
            if (ch >= 0x20 && ch < 0x7f)
                return err_set(err, "illegal character '%c' at column %zu (expected one of '%s'%s)", ch, i + 1,
                               label_chars ? "# SGo" : "# SG", label_chars ? " or '.'" : "");
            return err_set(err, "illegal byte 0x%02x at column %zu", ch, i + 1);
        }
        tokens[i] = (uint8_t)(p - CHARSET + 1);
        starts += *p == 'S', goals += *p == 'G';
    }
    if (starts == 0) return err_set(err, "no start 'S'");
    if (starts > 1) return err_set(err, "%d starts 'S' (expected one)", starts);
    if (goals == 0) return err_set(err, "no goal 'G'");
    if (goals > 1) return err_set(err, "%d goals 'G' (expected one)", goals);
    return 0;
}

static void format_grid(const uint8_t *tokens, int n, char open, char *out) {
    for (int i = 0; i < n * n; i++) out[i] = tokens[i] == MAZE_OPEN ? open : show(tokens[i]);
    out[n * n] = '\0';
}

static void draw_grid(FILE *f, const uint8_t *tokens, int n) {
    char text[MAZE_CELLS + 1];
    format_grid(tokens, n, ' ', text);
    for (int r = 0; r < n; r++) fprintf(f, "%.*s\n", n, text + r * n);
}

// ---------------------------------------------------------------- the tasks, one per size

// The task hooks carry no grid size, so each size gets its own small functions.
#define MAZE_SIZES X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17) \
    X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29) X(30)

static const Task *maze_sized(int seq_len);

#define X(N)                                                                                              \
    static int parse_##N(const char *t, size_t len, uint8_t *tok, char *err) {                          \
        return parse_grid(t, len, N, true, tok, err);                                                    \
    }                                                                                                    \
    static void format_##N(const uint8_t *tok, char *out) { format_grid(tok, N, '.', out); }            \
    static bool check_##N(const uint8_t *in, const uint8_t *ans) { return maze_explain(in, ans, N, NULL) == 0; } \
    static int group_##N(const uint8_t *in) { return MAX(maze_shortest(in, N, NULL), 0) / 10; }         \
    static void draw_##N(FILE *f, const uint8_t *tok) { draw_grid(f, tok, N); }                         \
    static int order_##N(const uint8_t *in, const uint8_t *lab, int *order) { return maze_path_order(in, lab, N, order); }
MAZE_SIZES
#undef X

// "maze" (30 x 30) also stands for the family: its `sized` finds the member for a data
// set; an explicit maze-N is held to its size.
#define MAZE_ENTRY(NAME, N, SIZED_FN)                                                                     \
    { .name = NAME, .seq_len = N * N, .vocab = MAZE_VOCAB, .parse = parse_##N, .format = format_##N,      \
      .check = check_##N, .group = group_##N, .num_groups = N * N / 10 + 1,                               \
      .group_name = "path length / 10", .draw = draw_##N, .sized = SIZED_FN, .solver_order = order_##N }

const Task TASK_MAZE = MAZE_ENTRY("maze", 30, maze_sized);

#define X(N) [N] = MAZE_ENTRY("maze-" #N, N, NULL),
static const Task SIZED[MAZE_MAX + 1] = { MAZE_SIZES };
#undef X

const Task *maze_task(int n) {
    if (n == 30) return &TASK_MAZE;
    return n >= MAZE_MIN && n <= MAZE_MAX ? &SIZED[n] : NULL;
}

static const Task *maze_sized(int seq_len) {
    int n = (int)lround(sqrt((double)MAX(seq_len, 0)));
    return n * n == seq_len ? maze_task(n) : NULL;
}

const Task *maze_task_named(const char *name) {
    for (int n = MAZE_MIN; n <= MAZE_MAX; n++)
        if (!strcmp(name, SIZED[n].name)) return maze_task(n);
    return NULL;
}

// ---------------------------------------------------------------- the generator

int maze_max_path(int n) {
    int m = (n + 1) / 2;        // rooms per side
    return 2 * m * m;           // a simple path alternates rooms and the walls between them
}

// A spanning tree of the rooms (cells (oy + 2i, ox + 2j)) by a randomised depth-first
// search, the opened wall between two rooms on each tree edge; then each remaining wall
// between two rooms opened with probability MAZE_LOOPS.
static void carve(Rng *r, int n, uint8_t *g) {
    int oy = n % 2 ? 0 : (int)rng_below(r, 2), ox = n % 2 ? 0 : (int)rng_below(r, 2);
    int my = (n - oy + 1) / 2, mx = (n - ox + 1) / 2;
    int stack[MAZE_CELLS], top = 0;
    bool seen[MAZE_CELLS] = { false };
    memset(g, MAZE_WALL, (size_t)n * n);
    int first = (int)rng_below(r, (uint32_t)(my * mx));
    stack[top++] = first;
    seen[first] = true;
    g[(oy + 2 * (first / mx)) * n + ox + 2 * (first % mx)] = MAZE_OPEN;
    static const int DY[4] = { -1, 0, 1, 0 }, DX[4] = { 0, -1, 0, 1 };
    while (top) {
        int room = stack[top - 1], ry = room / mx, rx = room % mx, next[4], k = 0;
        for (int d = 0; d < 4; d++) {
            int y = ry + DY[d], x = rx + DX[d];
            if (y >= 0 && y < my && x >= 0 && x < mx && !seen[y * mx + x]) next[k++] = d;
        }
        if (!k) {
            top--;
            continue;
        }
        int d = next[rng_below(r, (uint32_t)k)], y = ry + DY[d], x = rx + DX[d];
        seen[y * mx + x] = true;
        stack[top++] = y * mx + x;
        g[(oy + 2 * ry + DY[d]) * n + ox + 2 * rx + DX[d]] = MAZE_OPEN;
        g[(oy + 2 * y) * n + ox + 2 * x] = MAZE_OPEN;
    }
    for (int y = 0; y < my; y++)        // loops: walls between two rooms, right and below
        for (int x = 0; x < mx; x++) {
            int c = (oy + 2 * y) * n + ox + 2 * x;
            if (x + 1 < mx && g[c + 1] == MAZE_WALL && rng_uniform(r) < MAZE_LOOPS) g[c + 1] = MAZE_OPEN;
            if (y + 1 < my && g[c + n] == MAZE_WALL && rng_uniform(r) < MAZE_LOOPS) g[c + n] = MAZE_OPEN;
        }
}

// S on a random open cell, G on a random cell farther than min_path steps from it
// (four tries of S per maze); the longest distance seen goes to *longest.
static bool place_ends(Rng *r, uint8_t *g, int n, int min_path, int *longest) {
    int open[MAZE_CELLS], far[MAZE_CELLS], dist[MAZE_CELLS], k = 0;
    for (int i = 0; i < n * n; i++)
        if (g[i] == MAZE_OPEN) open[k++] = i;
    for (int tries = 0; tries < 4 && k >= 2; tries++) {
        int s = open[rng_below(r, (uint32_t)k)], nf = 0;
        bfs(g, n, s, not_wall, dist);
        for (int i = 0; i < n * n; i++) {
            if (dist[i] > min_path) far[nf++] = i;
            *longest = MAX(*longest, dist[i]);
        }
        if (nf) {
            g[s] = MAZE_START;
            g[far[rng_below(r, (uint32_t)nf)]] = MAZE_GOAL;
            return true;
        }
    }
    return false;
}

int maze_generate(Rng *r, int n, int min_path, uint8_t *input, uint8_t *label, char *err) {
    if (n < MAZE_MIN || n > MAZE_MAX) return err_set(err, "--size %d: expected %d-%d", n, MAZE_MIN, MAZE_MAX);
    if (min_path < 0 || min_path >= maze_max_path(n))
        return err_set(err, "--min-path %d: the shortest paths of a %d x %d maze of this generator are at most %d "
                       "steps (expected 0-%d)", min_path, n, n, maze_max_path(n), maze_max_path(n) - 1);
    int longest = 0;
    for (int a = 0; a < MAZE_ATTEMPTS; a++) {
        carve(r, n, input);
        if (place_ends(r, input, n, min_path, &longest)) {
            maze_solve(input, n, label);
            return 0;
        }
    }
    return err_set(err, "--min-path %d: no %d x %d maze with a longer shortest path in %d attempts (the longest "
                   "seen: %d steps)", min_path, n, n, MAZE_ATTEMPTS, longest);
}

// ---------------------------------------------------------------- the splits

// A maze's key: its text under the symmetry that gives the least string, the same for
// all 8 views, so no maze of one split is a rotation or reflection of another's.
static void canonical(const uint8_t *g, int n, char *key) {
    uint8_t t[MAZE_CELLS];
    char text[MAZE_CELLS + 1];
    for (int id = 0; id < 8; id++) {
        nq_dihedral(g, n, id, t);
        format_grid(t, n, '.', text);
        if (id == 0 || strcmp(text, key) < 0) memcpy(key, text, (size_t)n * n + 1);
    }
}

// count generated mazes into rows [0, count) of ds, none already in seen.
static int generate_split(const MazeBuildOptions *o, uint64_t seed, long count, StrMap *seen, Dataset *ds,
                          char *err) {
    int n = o->size, L = n * n;
    Rng r;
    rng_seed(&r, seed);
    *ds = dataset_alloc(count, L);
    char key[MAZE_CELLS + 1];
    for (long i = 0, dups = 0; i < count;) {
        uint8_t *in = ds->inputs + (size_t)i * L, *lab = ds->labels + (size_t)i * L;
        if (maze_generate(&r, n, o->min_path, in, lab, err)) return -1;
        canonical(in, n, key);
        size_t before = seen->n;
        strmap_intern(seen, key, (int64_t)before);
        if (seen->n > before) {
            i++;
            dups = 0;
        } else if (++dups == MAZE_ATTEMPTS) {
            return err_set(err, "--size %d --min-path %d: %d mazes in a row were already drawn (%zu distinct so "
                           "far): ask for fewer", n, o->min_path, MAZE_ATTEMPTS, seen->n);
        }
    }
    return 0;
}

// ---------------------------------------------------------------- the CSV

typedef struct {
    uint8_t *in, *lab;
    int64_t n, cap;
    int side;                    // from the first maze, as the official builder
} Rows;

static void rows_free(Rows *r) { free(r->in), free(r->lab), *r = (Rows){0}; }

static int take_row(void *ctx, const CsvRow *row, char *err) {
    Rows *r = ctx;
    char sub[ERR_LEN];
    if (!r->side) {
        int side = (int)lround(sqrt((double)row->qlen));
        if ((size_t)side * side != row->qlen)
            return err_set(err, "the question has %zu characters: not a square maze", row->qlen);
        if (side < MAZE_MIN || side > MAZE_MAX)
            return err_set(err, "a %d x %d maze (expected %d-%d on a side)", side, side, MAZE_MIN, MAZE_MAX);
        r->side = side;
    }
    int n = r->side, L = n * n;
    if (row->qlen != (size_t)L)
        return err_set(err, "the question has %zu characters, the file's first maze %d (%d x %d)", row->qlen, L, n, n);
    if (row->alen != (size_t)L)
        return err_set(err, "the answer has %zu characters, the question %d", row->alen, L);
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 1024;
        r->in = xrealloc(r->in, (size_t)r->cap * L);
        r->lab = xrealloc(r->lab, (size_t)r->cap * L);
    }
    uint8_t *q = r->in + r->n * L, *a = r->lab + r->n * L;
    if (parse_grid(row->question, row->qlen, n, false, q, sub)) return err_set(err, "question: %s", sub);
    if (parse_grid(row->answer, row->alen, n, true, a, sub)) return err_set(err, "answer: %s", sub);
    if (maze_explain(q, a, n, sub)) return err_set(err, "the answer is not a shortest path: %s", sub);
    r->n++;
    return 0;
}

static int read_csv(const char *path, int side, Rows *r, char *err) {
    *r = (Rows){ .side = side };
    if (puzzle_csv_read(path, take_row, r, err) == 0) return 0;
    rows_free(r);
    return -1;
}

static Dataset rows_dataset(const Rows *r, const int64_t *pick, int64_t n) {
    int L = r->side * r->side;
    Dataset ds = dataset_alloc(n, L);
    for (int64_t i = 0; i < n; i++) {
        memcpy(ds.inputs + i * L, r->in + (pick ? pick[i] : i) * L, (size_t)L);
        memcpy(ds.labels + i * L, r->lab + (pick ? pick[i] : i) * L, (size_t)L);
    }
    return ds;
}

int maze_csv_save(const char *path, const Dataset *ds, int n, char *err) {
    int L = n * n;
    char *q = xmalloc((size_t)ds->num_groups * L + 1), *a = xmalloc((size_t)ds->num_groups * L + 1);
    int *rating = xmalloc(sizeof(int) * (size_t)MAX(ds->num_groups, 1));
    for (int64_t g = 0; g < ds->num_groups; g++) {
        int64_t e = ds->puzzle_index[ds->group_index[g]];
        format_grid(ds->inputs + e * L, n, ' ', q + g * L);     // each ends in a NUL the next overwrites
        format_grid(ds->labels + e * L, n, ' ', a + g * L);
        rating[g] = maze_shortest(ds->inputs + e * L, n, NULL);
    }
    int rc = puzzle_csv_write(path, "trm-maze-", q, a, ds->num_groups, (size_t)L, rating, err);
    free(q), free(a), free(rating);
    return rc;
}

// ---------------------------------------------------------------- the builder

// Each training maze as the official aug=True: the 8 dihedral views (ids 0..7) as the
// puzzles of its group.
static void augment(Dataset *ds, int n) {
    int L = n * n;
    Dataset out = dataset_alloc(ds->n * 8, L);
    for (int64_t i = 0; i < ds->n; i++)
        for (int id = 0; id < 8; id++) {
            nq_dihedral(ds->inputs + i * L, n, id, out.inputs + (i * 8 + id) * L);
            nq_dihedral(ds->labels + i * L, n, id, out.labels + (i * 8 + id) * L);
        }
    dataset_group_copies(&out, 8);
    dataset_free(ds);
    *ds = out;
}

static int build_from_csv(const MazeBuildOptions *o, Dataset *train, Dataset *test, int *size, char *err) {
    Rows r, t = {0};
    if (read_csv(o->csv, 0, &r, err)) return -1;
    if (o->test_csv && read_csv(o->test_csv, r.side, &t, err)) {
        rows_free(&r);
        return -1;
    }
    Mt19937 mt;
    mt_seed(&mt, (uint32_t)o->seed);
    int64_t *pick = puzzle_subsample(&mt, r.n, o->subsample);
    *train = rows_dataset(&r, pick, pick ? o->subsample : r.n);
    if (o->test_csv) *test = rows_dataset(&t, NULL, t.n);
    *size = r.side;
    free(pick);
    rows_free(&r);
    rows_free(&t);
    return 0;
}

// Train, test and valid from their own streams (seed, seed + 1000, seed + 2000, as the
// N-Queens splits), no maze a symmetry of one drawn before.
static int build_generated(const MazeBuildOptions *o, Dataset *train, Dataset *test, Dataset *valid, char *err) {
    StrMap seen = {0};
    int rc = generate_split(o, o->seed, o->count, &seen, train, err);
    if (!rc) rc = generate_split(o, o->seed + 1000, o->test_count, &seen, test, err);
    if (!rc) rc = generate_split(o, o->seed + 2000, o->valid_count, &seen, valid, err);
    strmap_free(&seen);
    return rc;
}

int maze_build(const MazeBuildOptions *o, Dataset *train, Dataset *test, Dataset *valid, int *size, char *err) {
    *train = *test = *valid = (Dataset){0};
    *size = o->size;
    int rc = o->csv ? build_from_csv(o, train, test, size, err) : build_generated(o, train, test, valid, err);
    if (!rc && o->aug) augment(train, *size);
    if (rc) {
        dataset_free(train);
        dataset_free(test);
        dataset_free(valid);
    }
    return rc;
}
