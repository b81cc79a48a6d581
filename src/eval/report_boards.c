// report_boards.c: a few test puzzles of trm report, traced through evaluate() and drawn
// step by step. Text tasks (N-Queens, Sudoku, mazes) are drawn cell by cell from their
// text format (task->format: one character per cell of a square grid), so a new task of
// that kind is drawn without code here; ARC grids are cropped from the canvas and drawn
// by tasks/arc_render.c in the ARC colours.
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/chart.h"
#include "tasks/arc_grid.h"
#include "tasks/arc_render.h"

#define BOARD_PX 150         // a text board's side, about (cells are whole px, 5 to 18)

// ---------------------------------------------------------------- tracing

void report_boards_trace(ReportBoards *b, Model *m, const Task *task, const Dataset *ds, const InferOptions *io,
                         int k, char *const *names, int64_t num_names) {
    int L = ds->seq_len, S = io->steps;
    int n = (int)MIN((int64_t)k, ds->num_groups);
    Dataset sub = dataset_alloc(n, L);
    memset(b, 0, sizeof *b);
    b->task = task;
    b->n = n;
    b->steps = S;
    b->seq_len = L;
    b->rows = xcalloc(MAX(n, 1), sizeof(int64_t));
    b->names = xcalloc(MAX(n, 1), sizeof(char *));
    for (int i = 0; i < n; i++) {
        int64_t row = ds->puzzle_index[ds->group_index[i]];
        b->rows[i] = row;
        memcpy(sub.inputs + (size_t)i * L, ds->inputs + (size_t)row * L, L);
        memcpy(sub.labels + (size_t)i * L, ds->labels + (size_t)row * L, L);
        int32_t id = ds->puzzle_ids ? ds->puzzle_ids[row] : 0;
        sub.puzzle_ids[i] = id;
        if (names && id > 0 && id < num_names && names[id]) b->names[i] = xstrdup(names[id]);
    }
    dataset_index_trivial(&sub);
    b->inputs = sub.inputs, b->labels = sub.labels;     // kept: the boards' puzzles
    b->preds = xmalloc(sizeof(int32_t) * MAX((size_t)S * n * L, 1));
    TraceOut tr = { .preds = b->preds };
    EvalResult r;
    if (n) {
        evaluate(m, task, &sub, io, &r, NULL, &tr);
        eval_result_free(&r);
    }
    sub.inputs = sub.labels = NULL;
    dataset_free(&sub);
}

void report_boards_free(ReportBoards *b) {
    for (int i = 0; b->names && i < b->n; i++) free(b->names[i]);
    free(b->names);
    free(b->inputs);
    free(b->labels);
    free(b->preds);
    free(b->rows);
    memset(b, 0, sizeof *b);
}

// ---------------------------------------------------------------- scoring a board

static bool is_arc(const Task *t) { return !strcmp(t->name, "arc"); }

static int grid_side(int L) {
    int g = (int)lround(sqrt(L));
    return g * g == L ? g : 0;
}

bool report_boards_drawable(const Task *task, int seq_len) {
    return grid_side(seq_len) && (is_arc(task) || task->format);
}

typedef struct {
    bool valid, exact;
    int changed;        // cells that differ from the previous step's answer (step 1: the input)
} Score;

static Score score(const ReportBoards *b, int i, const uint8_t *ans, const uint8_t *prev) {
    const uint8_t *in = b->inputs + (size_t)i * b->seq_len, *lab = b->labels + (size_t)i * b->seq_len;
    Score s = { .exact = true };
    bool known = false;
    for (int c = 0; c < b->seq_len; c++) {
        known |= lab[c] != 0;
        s.exact &= lab[c] == 0 || ans[c] == lab[c];
        s.changed += ans[c] != prev[c];
    }
    s.exact &= known;
    s.valid = b->task->check ? b->task->check(in, ans) : s.exact;   // as evaluate() scores it
    return s;
}

// The answer of step s (1-based) of puzzle i as tokens.
static void answer(const ReportBoards *b, int i, int s, uint8_t *out) {
    const int32_t *p = b->preds + ((size_t)(s - 1) * b->n + i) * b->seq_len;
    for (int c = 0; c < b->seq_len; c++) out[c] = (uint8_t)p[c];
}

// ---------------------------------------------------------------- text boards

typedef struct { const char *fill, *glyph; } CellLook;

// What a character of a text format looks like. The characters are the tasks' own
// (N-Queens '.' 'Q'; Sudoku '.' '1'-'9'; maze '#' ' ' 'S' 'G' 'o'; '?' for a token the
// format cannot show): one table for all of them, since no two tasks disagree. An empty
// square is white, or on a chess board (N-Queens) light or dark by its colour.
typedef enum { SQUARE_PLAIN, SQUARE_LIGHT, SQUARE_DARK } Square;

static CellLook look(char ch, Square sq) {
    static const char *const EMPTY[3] = { "#ffffff", "#f0d9b5", "#b58863" };
    static char digit[10][2];
    const char *empty = EMPTY[sq];
    if (ch >= '0' && ch <= '9') {
        digit[ch - '0'][0] = ch;
        return (CellLook){ empty, digit[ch - '0'] };
    }
    switch (ch) {
    case '#': return (CellLook){ "#3b3b3b", NULL };
    case 'S': return (CellLook){ "#2ecc40", "S" };
    case 'G': return (CellLook){ "#ff4136", "G" };
    case 'o': return (CellLook){ "#ffdc00", NULL };
    case 'Q': return (CellLook){ empty, "\u265B" };
    case '?': return (CellLook){ "#f7c6c2", NULL };
    default:  return (CellLook){ empty, NULL };
    }
}

// Task styles the text format does not carry: N-Queens on a chess board, Sudoku with
// heavy lines around its 3 x 3 boxes.
static bool chess(const Task *t) { return !strcmp(t->name, "nqueens"); }
static int box_side(const Task *t) { return !strcmp(t->name, "sudoku") ? 3 : 0; }

static Square square(const Task *t, int c, int g) {
    return !chess(t) ? SQUARE_PLAIN : (c / g + c % g) % 2 ? SQUARE_DARK : SQUARE_LIGHT;
}

// The cells of one fill colour as one path of squares (a 30 x 30 maze is 900 cells: one
// <rect> each would make a page of mazes megabytes long).
static void fill_path(FILE *f, const Task *t, const char *text, const char *fill, int g, int px) {
    fprintf(f, "<path fill=\"%s\" d=\"", fill);
    for (int c = 0; c < t->seq_len; c++)
        if (!strcmp(look(text[c], square(t, c, g)).fill, fill))
            fprintf(f, "M%d %dh%dv%dh-%dz", c % g * px, c / g * px, px, px, px);
    fputs("\"/>\n", f);
}

static void fills(FILE *f, const Task *t, const char *text, int g, int px) {
    const char *seen[16];
    int n = 0;
    for (int c = 0; c < t->seq_len; c++) {
        const char *fill = look(text[c], square(t, c, g)).fill;
        bool known = false;
        for (int i = 0; i < n && !known; i++) known = !strcmp(seen[i], fill);
        if (!known && n < 16) seen[n++] = fill;
    }
    for (int i = 0; i < n; i++) fill_path(f, t, text, seen[i], g, px);
}

// One board. Given cells (as in the input) are drawn black, the model's own in blue;
// with `label`, a cell that differs from it gets a red frame.
static void text_board(FILE *f, const Task *t, const uint8_t *tok, const uint8_t *input, const uint8_t *label) {
    int L = t->seq_len, g = grid_side(L), px = MAX(5, MIN(18, BOARD_PX / g)), W = g * px;
    char *text = xmalloc(L + 1), *given = xmalloc(L + 1), *want = label ? xmalloc(L + 1) : NULL;
    t->format(tok, text);
    t->format(input, given);
    if (label) t->format(label, want);
    fprintf(f, "<svg class=\"board\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-size=\"%.0f\" "
               "text-anchor=\"middle\">\n", W, W, W, W, px * 0.8);
    fills(f, t, text, g, px);
    for (int c = 0; c < L && px >= 8; c++) {
        const char *glyph = look(text[c], SQUARE_PLAIN).glyph;
        bool is_given = given[c] == text[c] && given[c] != '.' && given[c] != ' ';
        if (glyph) fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">%s</text>\n", c % g * px + px / 2.0,
                           c / g * px + px * 0.8, is_given ? "#000000" : "#1f5fbf", glyph);
    }
    if (want) {
        fputs("<path fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\" d=\"", f);
        for (int c = 0; c < L; c++)
            if (label[c] && want[c] != text[c]) fprintf(f, "M%.1f %.1fh%dv%dh-%dz", c % g * px + 0.75, c / g * px + 0.75,
                                                        px - 1, px - 1, px - 1);
        fputs("\"/>\n", f);
    }
    if (!chess(t) && px >= 8) {     // thin lines between the cells of plain boards
        fputs("<path stroke=\"#cfcfcf\" stroke-width=\"0.6\" d=\"", f);
        for (int i = 1; i < g; i++) fprintf(f, "M%d 0V%dM0 %dH%d", i * px, W, i * px, W);
        fputs("\"/>\n", f);
    }
    int box = box_side(t);
    for (int i = 0; box && i <= g; i += box)
        fprintf(f, "<path d=\"M%d 0V%dM0 %dH%d\" stroke=\"#222\" stroke-width=\"2\"/>\n", i * px, W, i * px, W);
    if (!chess(t) && !box)
        fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>\n", W, W);
    fputs("</svg>\n", f);
    free(text);
    free(given);
    free(want);
}

static void figure(FILE *f, const Task *t, const uint8_t *tok, const uint8_t *input, const uint8_t *label,
                   const char *caption, const Score *s) {
    fputs("<figure>", f);
    text_board(f, t, tok, input, label);
    fputs("<figcaption>", f);
    html_text(f, caption);
    if (s) fprintf(f, " <span class=\"%s\">%s</span> &Delta;%d", s->valid ? "ok" : "no", s->valid ? "\u2713" : "\u2717",
                   s->changed);
    fputs("</figcaption></figure>\n", f);
}

// Input, each step (cells off the label framed in red unless the answer is valid: a
// valid answer need not be the stored one), label.
static void text_puzzle(FILE *f, const ReportBoards *b, int i) {
    size_t L = b->seq_len;
    const uint8_t *in = b->inputs + i * L, *lab = b->labels + i * L;
    uint8_t *ans = xmalloc(L), *prev = xmalloc(L);
    memcpy(prev, in, L);
    fputs("<div class=\"boards\">\n", f);
    figure(f, b->task, in, in, NULL, "input", NULL);
    for (int s = 1; s <= b->steps; s++) {
        answer(b, i, s, ans);
        Score sc = score(b, i, ans, prev);
        char cap[32];
        snprintf(cap, sizeof cap, "step %d", s);
        figure(f, b->task, ans, in, sc.valid ? NULL : lab, cap, &sc);
        memcpy(prev, ans, L);
    }
    figure(f, b->task, lab, in, NULL, "label", NULL);
    fputs("</div>\n", f);
    free(ans);
    free(prev);
}

// ---------------------------------------------------------------- ARC

// One picture (tasks/arc_render.h) under the task's name: the input grid, each step's
// cropped answer, the label.
static void arc_puzzle(FILE *f, const ReportBoards *b, int i, const char *title) {
    size_t L = b->seq_len;
    int G = grid_side(b->seq_len), P = b->steps + 2;
    ArcGrid *g = xmalloc(sizeof(ArcGrid) * P);
    ArcPanel *p = xmalloc(sizeof(ArcPanel) * P);
    char (*cap)[32] = xmalloc(sizeof *cap * P);
    uint8_t *ans = xmalloc(L), *prev = xmalloc(L);
    memcpy(prev, b->inputs + i * L, L);
    arc_crop(b->inputs + i * L, G, &g[0]);
    p[0] = (ArcPanel){ "input", &g[0] };
    for (int s = 1; s <= b->steps; s++) {
        answer(b, i, s, ans);
        Score sc = score(b, i, ans, prev);
        arc_crop(ans, G, &g[s]);
        snprintf(cap[s], sizeof cap[s], "step %d %s", s, arc_render_mark(sc.exact, true));
        p[s] = (ArcPanel){ cap[s], &g[s] };
        memcpy(prev, ans, L);
    }
    arc_crop(b->labels + i * L, G, &g[P - 1]);
    p[P - 1] = (ArcPanel){ "label", &g[P - 1] };
    char *svg = arc_render_svg_element(title, p, 1, P);
    fprintf(f, "<div class=\"arc\">\n%s</div>\n", svg);
    free(svg);
    free(g); free(p); free(cap); free(ans); free(prev);
}

// ---------------------------------------------------------------- the section

static void puzzle_title(char *out, size_t cap, const ReportBoards *b, int i, const Score *fin) {
    const uint8_t *in = b->inputs + (size_t)i * b->seq_len;
    int len = snprintf(out, cap, "test row %lld", (long long)b->rows[i]);
    if (b->names[i]) len += snprintf(out + len, cap - len, " (%s)", b->names[i]);
    if (b->task->group && len < (int)cap)
        len += snprintf(out + len, cap - len, ", %s %d", b->task->group_name, b->task->group(in));
    if (len < (int)cap)
        snprintf(out + len, cap - len, ": final answer %s%s", b->task->check ? (fin->valid ? "valid" : "not valid") : "",
                 b->task->check ? (fin->exact ? ", the stored one" : "") : (fin->exact ? "exact" : "not exact"));
}

void report_boards_html(FILE *f, const ReportBoards *b) {
    size_t L = b->seq_len;
    uint8_t *last = xmalloc(L);
    fprintf(f, "<p class=\"meta\">%d test puzzle%s through all %d supervision steps (trm eval's inference). "
               "&Delta;: cells changed by the step; %s</p>\n", b->n, b->n == 1 ? "" : "s", b->steps,
            is_arc(b->task) ? "&check;: the step's answer is the stored output."
                            : "blue: the model's cells, black: given; pink: a token the task's text cannot show "
                              "(PAD); red frame: differs from the label (drawn only when the answer is not valid).");
    for (int i = 0; i < b->n; i++) {
        answer(b, i, b->steps, last);
        Score fin = score(b, i, last, last);
        char title[256];
        puzzle_title(title, sizeof title, b, i, &fin);
        fputs("<div class=\"puzzle\">\n<h3>", f);
        html_text(f, title);
        fputs("</h3>\n", f);
        if (is_arc(b->task)) arc_puzzle(f, b, i, b->names[i]);
        else text_puzzle(f, b, i);
        fputs("</div>\n", f);
    }
    free(last);
}
