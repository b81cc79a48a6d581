// arc_render.c: ARC panels as terminal text (ANSI 24-bit colour or digits) and as SVG.
// Both are built in memory first: text so that each line can lose its trailing blanks,
// SVG so that the file is written in one atomic step.
#include "arc_render.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

const uint8_t ARC_RGB[10][3] = {
    {0x00, 0x00, 0x00},   // 0 black      #000000
    {0x00, 0x74, 0xD9},   // 1 blue       #0074D9
    {0xFF, 0x41, 0x36},   // 2 red        #FF4136
    {0x2E, 0xCC, 0x40},   // 3 green      #2ECC40
    {0xFF, 0xDC, 0x00},   // 4 yellow     #FFDC00
    {0xAA, 0xAA, 0xAA},   // 5 grey       #AAAAAA
    {0xF0, 0x12, 0xBE},   // 6 magenta    #F012BE
    {0xFF, 0x85, 0x1B},   // 7 orange     #FF851B
    {0x7F, 0xDB, 0xFF},   // 8 light blue #7FDBFF
    {0x87, 0x0C, 0x25},   // 9 maroon     #870C25
};

#define GAP 3                      // blank columns between panels
#define NONE_TEXT "(none)"
#define EMPTY_TEXT "(empty)"

// ---------------------------------------------------------------- a growable string

typedef struct {
    char *s;
    size_t len, cap;
} Buf;

static void buf_reserve(Buf *b, size_t more) {
    if (b->len + more + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1) cap *= 2;
    b->s = xrealloc(b->s, cap);
    b->cap = cap;
}

static void buf_put(Buf *b, const char *s, size_t n) {
    buf_reserve(b, n);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void buf_puts(Buf *b, const char *s) { buf_put(b, s, strlen(s)); }

static void buf_spaces(Buf *b, int n) {
    for (int i = 0; i < n; i++) buf_put(b, " ", 1);
}

__attribute__((format(printf, 2, 3))) static void buf_printf(Buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

// ---------------------------------------------------------------- the environment

bool arc_render_colour(FILE *f) {
    const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
    if (no && *no) return false;
    if (term && strcmp(term, "dumb") == 0) return false;
    return isatty(fileno(f));
}

bool arc_render_unicode(void) {
    // The first of these that is set and non-empty decides, as setlocale would.
    const char *names[3] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(names[i]);
        if (!v || !*v) continue;
        return strstr(v, "UTF-8") || strstr(v, "utf-8") || strstr(v, "UTF8") || strstr(v, "utf8");
    }
    return false;
}

int arc_render_width(FILE *f) {
    const char *cols = getenv("COLUMNS");
    if (cols && *cols) {
        char *end;
        long v = strtol(cols, &end, 10);
        if (*end == 0 && v >= 1 && v <= 10000) return (int)v;
    }
    struct winsize ws;
    if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 80;
}

const char *arc_render_mark(bool right, bool unicode) {
    if (unicode) return right ? "\u2713" : "\u2717";
    return right ? "ok" : "x";
}

// ---------------------------------------------------------------- terminal text

// Columns a UTF-8 string takes: one per code point (continuation bytes 10xxxxxx add
// nothing). East Asian wide characters would take two; titles do not use them.
static int text_width(const char *s) {
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static bool has_cells(const ArcGrid *g) { return g && g->h > 0 && g->w > 0; }

// The text drawn in place of the cells of a panel without any, or NULL.
static const char *placeholder(const ArcPanel *p) {
    if (!p->g) return NONE_TEXT;
    return has_cells(p->g) ? NULL : EMPTY_TEXT;
}

static int panel_width(const ArcPanel *p) {
    int w = has_cells(p->g) ? 2 * p->g->w : (int)strlen(placeholder(p));
    return MAX(w, text_width(p->title ? p->title : ""));
}

// Lines of a panel below its title.
static int panel_height(const ArcPanel *p) { return has_cells(p->g) ? p->g->h : 1; }

// Row r of a grid: two columns per cell.
static void put_cells(Buf *b, const ArcGrid *g, int r, bool colour) {
    int last = -1;   // colour of the previous cell: a run of one colour needs one escape
    for (int c = 0; c < g->w; c++) {
        int v = g->c[r * g->w + c] % 10;
        if (!colour) {
            buf_printf(b, "%d ", v);
            continue;
        }
        if (v != last) buf_printf(b, "\x1b[48;2;%d;%d;%dm", ARC_RGB[v][0], ARC_RGB[v][1], ARC_RGB[v][2]);
        buf_puts(b, "  ");
        last = v;
    }
    if (colour) buf_puts(b, "\x1b[0m");   // the gap and the next line stay uncoloured
}

// Line `line` of panel p (-1: the title), padded to its width.
static void put_panel_line(Buf *b, const ArcPanel *p, int line, bool colour) {
    int w = panel_width(p), used = 0;
    if (line < 0) {
        const char *t = p->title ? p->title : "";
        buf_puts(b, t);
        used = text_width(t);
    } else if (line < panel_height(p)) {
        const char *ph = placeholder(p);
        if (ph) buf_puts(b, ph);
        else put_cells(b, p->g, line, colour);
        used = ph ? (int)strlen(ph) : 2 * p->g->w;
    }
    buf_spaces(b, w - used);
}

// Trailing blanks off, a newline on, out it goes; the buffer is emptied for the next line.
static void flush_line(FILE *f, Buf *b) {
    while (b->len > 0 && b->s[b->len - 1] == ' ') b->len--;
    buf_put(b, "\n", 1);
    fwrite(b->s, 1, b->len, f);
    b->len = 0;
}

// Panels [lo, hi) as one band: the title line, then as many lines as the tallest panel.
static void put_band(FILE *f, Buf *b, const ArcPanel *p, int lo, int hi, bool colour) {
    int h = 0;
    for (int i = lo; i < hi; i++) h = MAX(h, panel_height(&p[i]));
    for (int line = -1; line < h; line++) {
        for (int i = lo; i < hi; i++) {
            if (i > lo) buf_spaces(b, GAP);
            put_panel_line(b, &p[i], line, colour);
        }
        flush_line(f, b);
    }
}

void arc_render_text(FILE *f, const ArcPanel *p, int n, int width, bool colour) {
    Buf b = {0};
    for (int lo = 0; lo < n;) {
        // Greedy: as many panels as fit in width, and at least one.
        int hi = lo + 1, used = panel_width(&p[lo]);
        while (hi < n && used + GAP + panel_width(&p[hi]) <= width) used += GAP + panel_width(&p[hi++]);
        if (lo > 0) fputc('\n', f);
        put_band(f, &b, p, lo, hi, colour);
        lo = hi;
    }
    free(b.s);
}

// ---------------------------------------------------------------- SVG

#define SVG_CELL 16          // px per cell
#define SVG_PAD 16           // px around the picture and between panels
#define SVG_FONT 13          // caption font size; monospace advance is ~0.6 em
#define SVG_TITLE_FONT 16
#define SVG_CAPTION 22       // px from the top of a panel to its first cell
#define SVG_BG "#1e1e1e"
#define SVG_FG "#dddddd"
#define SVG_LINE "#555555"   // the grid lines of the ARC testing interface

// Text as XML character data: markup escaped, control bytes (not allowed in XML 1.0)
// as '?', so that any title keeps the document well-formed.
static void svg_text(Buf *b, const char *s) {
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '&') buf_puts(b, "&amp;");
        else if (ch == '<') buf_puts(b, "&lt;");
        else if (ch == '>') buf_puts(b, "&gt;");
        else if (ch < 0x20 || ch == 0x7F) buf_puts(b, "?");
        else buf_put(b, (const char *)&ch, 1);
    }
}

static int svg_text_px(const char *s, int font) { return (text_width(s ? s : "") * font * 6 + 9) / 10; }

static int svg_panel_w(const ArcPanel *p) {
    int cells = has_cells(p->g) ? p->g->w * SVG_CELL : svg_text_px(placeholder(p), SVG_FONT);
    return MAX(cells, svg_text_px(p->title, SVG_FONT));
}

static int svg_panel_h(const ArcPanel *p) {
    return SVG_CAPTION + (has_cells(p->g) ? p->g->h * SVG_CELL : SVG_FONT + 4);
}

static void svg_caption(Buf *b, int x, int y, const char *s) {
    buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"%d\">", x, y, SVG_FONT);
    svg_text(b, s);
    buf_puts(b, "</text>\n");
}

static void svg_panel(Buf *b, const ArcPanel *p, int x, int y) {
    svg_caption(b, x, y + SVG_FONT, p->title ? p->title : "");
    const char *ph = placeholder(p);
    if (ph) {
        svg_caption(b, x, y + SVG_CAPTION + SVG_FONT, ph);
        return;
    }
    const ArcGrid *g = p->g;
    buf_printf(b, "<g stroke=\"%s\" stroke-width=\"1\">\n", SVG_LINE);
    for (int r = 0; r < g->h; r++)
        for (int c = 0; c < g->w; c++) {
            const uint8_t *rgb = ARC_RGB[g->c[r * g->w + c] % 10];
            buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#%02X%02X%02X\"/>\n",
                       x + c * SVG_CELL, y + SVG_CAPTION + r * SVG_CELL, SVG_CELL, SVG_CELL, rgb[0], rgb[1], rgb[2]);
        }
    buf_puts(b, "</g>\n");
}

// Column widths (the widest panel of each column) and row heights (the tallest of each
// row) make the panels line up as a table.
static void svg_layout(const ArcPanel *p, int rows, int cols, int *colw, int *rowh) {
    for (int c = 0; c < cols; c++) colw[c] = 0;
    for (int r = 0; r < rows; r++) {
        rowh[r] = 0;
        for (int c = 0; c < cols; c++) {
            colw[c] = MAX(colw[c], svg_panel_w(&p[r * cols + c]));
            rowh[r] = MAX(rowh[r], svg_panel_h(&p[r * cols + c]));
        }
    }
}

static void svg_build(Buf *b, const char *title, const ArcPanel *p, int rows, int cols) {
    int *colw = xcalloc((size_t)MAX(cols, 1), sizeof(int)), *rowh = xcalloc((size_t)MAX(rows, 1), sizeof(int));
    svg_layout(p, rows, cols, colw, rowh);
    int top = SVG_PAD + SVG_TITLE_FONT + SVG_PAD, W = SVG_PAD, H = top;
    for (int c = 0; c < cols; c++) W += colw[c] + SVG_PAD;
    for (int r = 0; r < rows; r++) H += rowh[r] + SVG_PAD;
    W = MAX(W, 2 * SVG_PAD + svg_text_px(title, SVG_TITLE_FONT));
    buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                  "font-family=\"monospace\" fill=\"%s\">\n", W, H, W, H, SVG_FG);
    buf_printf(b, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", W, H, SVG_BG);
    buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"%d\" font-weight=\"bold\">", SVG_PAD, SVG_PAD + SVG_TITLE_FONT,
               SVG_TITLE_FONT);
    svg_text(b, title ? title : "");
    buf_puts(b, "</text>\n");
    for (int r = 0, y = top; r < rows; y += rowh[r++] + SVG_PAD)
        for (int c = 0, x = SVG_PAD; c < cols; x += colw[c++] + SVG_PAD) svg_panel(b, &p[r * cols + c], x, y);
    buf_puts(b, "</svg>\n");
    free(colw);
    free(rowh);
}

char *arc_render_svg_element(const char *title, const ArcPanel *p, int rows, int cols) {
    Buf b = {0};
    svg_build(&b, title, p, MAX(rows, 0), MAX(cols, 0));
    return b.s;
}

int arc_render_svg(const char *path, const char *title, const ArcPanel *p, int rows, int cols, char *err) {
    if (rows < 0 || cols < 0) return err_set(err, "%s: %d x %d panels", path, rows, cols);
    Buf b = {0};
    buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    svg_build(&b, title, p, rows, cols);
    int rc = write_file_atomic(path, b.s, b.len, err);
    free(b.s);
    return rc;
}
