// test_arc_render.c: ARC panels as text (exact output without colour, the 24-bit escapes
// with it, wrapping, padding, missing and empty grids), the terminal checks on a real
// pseudo-terminal, and the SVG (well-formed, one <rect> per cell, inside its canvas,
// nothing left behind when it cannot be written).
#define _GNU_SOURCE   // posix_openpt, ptsname: a pseudo-terminal for the terminal checks
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tasks/arc_render.h"
#include "test.h"

static ArcGrid grid_of(int h, int w, const int *cells) {
    ArcGrid g;
    memset(&g, 0, sizeof g);
    g.h = h;
    g.w = w;
    for (int i = 0; i < h * w; i++) g.c[i] = (uint8_t)cells[i];
    return g;
}

static const int G23[6] = {1, 2, 3, 4, 5, 6};   // [[1,2,3],[4,5,6]]

// What arc_render_text writes, as a string (free it).
static char *render(const ArcPanel *p, int n, int width, bool colour) {
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f) die("open_memstream");
    arc_render_text(f, p, n, width, colour);
    fclose(f);
    return s;
}

static void check_text(const ArcPanel *p, int n, int width, bool colour, const char *want, const char *what) {
    char *got = render(p, n, width, colour);
    CHECK(strcmp(got, want) == 0, "%s:\n--- got\n%s--- want\n%s---", what, got, want);
    free(got);
}

static void test_plain(void) {
    ArcGrid g = grid_of(2, 3, G23);
    ArcPanel p[2] = {{"in", &g}, {"attempt 1 ok", NULL}};
    check_text(p, 2, 80, false,
               "in       attempt 1 ok\n"
               "1 2 3    (none)\n"
               "4 5 6\n",
               "a 2x3 grid beside a missing attempt");
    check_text(p, 0, 80, false, "", "no panels, no output");
}

// A short panel is padded with blanks so that the next one keeps its column.
static void test_heights(void) {
    ArcGrid one = grid_of(1, 1, (int[]){5}), g = grid_of(2, 3, G23);
    ArcPanel p[2] = {{"x", &one}, {"y", &g}};
    check_text(p, 2, 80, false,
               "x    y\n"
               "5    1 2 3\n"
               "     4 5 6\n",
               "a 1x1 panel beside a 2x3 one");
}

// An empty crop, a NULL title and a UTF-8 title counted in columns, not bytes.
static void test_empty_and_titles(void) {
    ArcGrid empty = grid_of(0, 0, NULL), zero = grid_of(1, 1, (int[]){0});
    ArcPanel p[3] = {{"a \u2713", &zero}, {NULL, &zero}, {"e", &empty}};
    check_text(p, 3, 80, false,
               "a \u2713        e\n"
               "0     0    (empty)\n",
               "a UTF-8 title, a NULL title and an empty grid");
}

static void test_wrap(void) {
    ArcGrid g = grid_of(2, 3, G23);
    ArcPanel p[3] = {{"a", &g}, {"b", &g}, {"c", &g}};
    const char *two_then_one =
        "a        b\n"
        "1 2 3    1 2 3\n"
        "4 5 6    4 5 6\n"
        "\n"
        "c\n"
        "1 2 3\n"
        "4 5 6\n";
    check_text(p, 3, 15, false, two_then_one, "width 15 holds exactly two 6-column panels");
    check_text(p, 3, 14, false,
               "a\n1 2 3\n4 5 6\n\nb\n1 2 3\n4 5 6\n\nc\n1 2 3\n4 5 6\n",
               "width 14 holds one panel per band");
    check_text(p, 3, 1, false,
               "a\n1 2 3\n4 5 6\n\nb\n1 2 3\n4 5 6\n\nc\n1 2 3\n4 5 6\n",
               "a panel wider than the terminal still gets a band");
    check_text(p, 3, 24, false,
               "a        b        c\n"
               "1 2 3    1 2 3    1 2 3\n"
               "4 5 6    4 5 6    4 5 6\n",
               "width 24 holds all three");
}

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *q = strstr(s, needle); q; q = strstr(q + 1, needle)) n++;
    return n;
}

// The text with its escape sequences (ESC [ ... letter) taken out.
static char *strip_escapes(const char *s) {
    char *out = xmalloc(strlen(s) + 1), *o = out;
    while (*s) {
        if (*s != '\x1b') {
            *o++ = *s++;
            continue;
        }
        for (s++; *s && !(*s >= '@' && *s <= '~' && *s != '['); s++) {}
        if (*s) s++;
    }
    *o = 0;
    return out;
}

static void test_colour(void) {
    ArcGrid g = grid_of(1, 3, (int[]){1, 1, 2});
    ArcPanel p[1] = {{"t", &g}};
    // A run of one colour takes one escape; the line ends with a reset.
    check_text(p, 1, 80, true, "t\n\x1b[48;2;0;116;217m    \x1b[48;2;255;65;54m  \x1b[0m\n", "blue, blue, red");

    const int all[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    const char *codes[10] = {"0;0;0", "0;116;217", "255;65;54", "46;204;64", "255;220;0", "170;170;170",
                             "240;18;190", "255;133;27", "127;219;255", "135;12;37"};
    ArcGrid ten = grid_of(1, 10, all), two = grid_of(2, 3, G23);
    ArcPanel q[2] = {{"ten", &ten}, {"two", &two}};
    char *s = render(q, 2, 80, true);
    for (int c = 0; c < 10; c++) {
        char want[32];
        snprintf(want, sizeof want, "\x1b[48;2;%sm", codes[c]);
        CHECK(strstr(s, want) != NULL, "colour %d as \\e[48;2;%sm", c, codes[c]);
    }
    // Without the escapes, the cells are blanks: 10 cells, the gap, 3 cells, and the
    // second row of the short panel after 20 blank columns plus the gap.
    char *plain = strip_escapes(s), want[256];
    snprintf(want, sizeof want, "ten%20stwo\n%29s\n%29s\n", "", "", "");
    CHECK(strcmp(plain, want) == 0, "colour text without its escapes:\n%s", plain);
    free(plain);
    CHECK(count(s, "\x1b[0m") == 3, "one reset per panel row: %d", count(s, "\x1b[0m"));
    snprintf(want, sizeof want, "\n%23s\x1b[48;2;", "");
    CHECK(strstr(s, want) != NULL, "the short panel's missing row is 20 + 3 uncoloured blanks");
    // Every line with an escape ends with the reset.
    int lines = 0, reset_ends = 0;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        lines++;
        size_t n = strlen(line);
        if (strchr(line, '\x1b')) reset_ends += n >= 4 && strcmp(line + n - 4, "\x1b[0m") == 0;
    }
    CHECK(lines == 3 && reset_ends == 2, "3 lines, both coloured ones end with a reset: %d, %d", lines, reset_ends);
    free(s);
}

// ---------------------------------------------------------------- the terminal

static void test_marks_and_locale(void) {
    CHECK(strcmp(arc_render_mark(true, true), "\u2713") == 0, "unicode right mark");
    CHECK(strcmp(arc_render_mark(false, true), "\u2717") == 0, "unicode wrong mark");
    CHECK(strcmp(arc_render_mark(true, false), "ok") == 0, "ascii right mark");
    CHECK(strcmp(arc_render_mark(false, false), "x") == 0, "ascii wrong mark");
    setenv("LC_ALL", "", 1);
    setenv("LC_CTYPE", "C.UTF-8", 1);
    setenv("LANG", "C", 1);
    CHECK(arc_render_unicode(), "LC_CTYPE C.UTF-8 (LC_ALL empty) is unicode");
    setenv("LC_ALL", "POSIX", 1);
    CHECK(!arc_render_unicode(), "LC_ALL POSIX wins over LC_CTYPE");
    unsetenv("LC_ALL");
    unsetenv("LC_CTYPE");
    setenv("LANG", "en_US.utf8", 1);
    CHECK(arc_render_unicode(), "LANG en_US.utf8 is unicode");
    unsetenv("LANG");
    CHECK(!arc_render_unicode(), "no locale: not unicode");
}

// A pseudo-terminal 123 columns wide, for the checks that need a real terminal.
static FILE *open_pty(int *master) {
    *master = posix_openpt(O_RDWR | O_NOCTTY);
    if (*master < 0 || grantpt(*master) || unlockpt(*master)) return NULL;
    const char *name = ptsname(*master);
    int fd = name ? open(name, O_RDWR | O_NOCTTY) : -1;
    if (fd < 0) return NULL;
    struct winsize ws = {.ws_row = 40, .ws_col = 123};
    ioctl(fd, TIOCSWINSZ, &ws);
    return fdopen(fd, "w");
}

static void test_terminal(void) {
    char *s = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&s, &len);
    unsetenv("COLUMNS");
    unsetenv("NO_COLOR");
    setenv("TERM", "xterm-256color", 1);
    CHECK(!arc_render_colour(mem), "a memory stream is not a terminal");
    CHECK(arc_render_width(mem) == 80, "not a terminal, no COLUMNS: 80");
    setenv("COLUMNS", "57", 1);
    CHECK(arc_render_width(mem) == 57, "COLUMNS 57");
    setenv("COLUMNS", "57x", 1);
    CHECK(arc_render_width(mem) == 80, "COLUMNS 57x is ignored");
    setenv("COLUMNS", "0", 1);
    CHECK(arc_render_width(mem) == 80, "COLUMNS 0 is ignored");
    fclose(mem);
    free(s);

    int master;
    FILE *tty = open_pty(&master);
    if (!tty) {
        printf("SKIP: arc_render terminal checks (no pseudo-terminal)\n");
        return;
    }
    unsetenv("COLUMNS");
    CHECK(arc_render_width(tty) == 123, "the pty's size: %d", arc_render_width(tty));
    setenv("COLUMNS", "-5", 1);
    CHECK(arc_render_width(tty) == 123, "COLUMNS -5 falls back on the pty's size");
    setenv("COLUMNS", "61", 1);
    CHECK(arc_render_width(tty) == 61, "COLUMNS wins over the terminal");
    CHECK(arc_render_colour(tty), "a terminal with TERM xterm-256color has colour");
    setenv("NO_COLOR", "", 1);
    CHECK(arc_render_colour(tty), "an empty NO_COLOR does not count");
    setenv("NO_COLOR", "1", 1);
    CHECK(!arc_render_colour(tty), "NO_COLOR=1 turns colour off");
    unsetenv("NO_COLOR");
    setenv("TERM", "dumb", 1);
    CHECK(!arc_render_colour(tty), "TERM dumb has no colour");
    unsetenv("COLUMNS");
    fclose(tty);
    close(master);
}

// ---------------------------------------------------------------- SVG

// A tiny XML check: tags nest and close, attribute values are quoted, '&' starts one of
// the five entities, no raw '<' in text, one root. Counts the start tags named `name`.
static bool well_formed(const char *s, const char *name, int *named) {
    char stack[32][16];
    int depth = 0, roots = 0;
    *named = 0;
    if (strncmp(s, "<?xml ", 6) != 0) return false;
    s = strstr(s, "?>");
    if (!s) return false;
    s += 2;
    while (*s) {
        if (*s == '&') {
            const char *ents[5] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
            bool ok = false;
            for (int i = 0; i < 5; i++) ok = ok || strncmp(s, ents[i], strlen(ents[i])) == 0;
            if (!ok) return false;
        }
        if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t') return false;
        if (*s != '<') {
            s++;
            continue;
        }
        bool closing = s[1] == '/';
        const char *t = s + 1 + closing, *e = t;
        while (*e && *e != ' ' && *e != '>' && *e != '/') e++;
        size_t n = (size_t)(e - t);
        if (n == 0 || n >= 16) return false;
        bool quoted = false;   // '>' inside a quoted value does not end the tag
        for (; *e && (quoted || *e != '>'); e++) {
            if (*e == '"') quoted = !quoted;
            if (*e == '<' && !quoted) return false;
        }
        if (!*e) return false;
        bool empty = e[-1] == '/';
        if (closing) {
            if (depth == 0 || strlen(stack[depth - 1]) != n || strncmp(stack[depth - 1], t, n)) return false;
            depth--;
        } else {
            if (depth == 0) roots++;
            if (strlen(name) == n && strncmp(t, name, n) == 0) (*named)++;
            if (!empty) {
                if (depth == 32) return false;
                memcpy(stack[depth], t, n);
                stack[depth++][n] = 0;
            }
        }
        s = e + 1;
    }
    return depth == 0 && roots == 1;
}

static int attr(const char *tag, const char *name) {
    char key[32];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *q = strstr(tag, key);
    return q ? atoi(q + strlen(key)) : -1;
}

// Every cell lies inside the canvas the <svg> element declares.
static bool rects_inside(const char *s) {
    const char *root = strstr(s, "<svg ");
    int W = attr(root, "width"), H = attr(root, "height");
    if (W <= 0 || H <= 0) return false;
    for (const char *r = strstr(s, "<rect "); r; r = strstr(r + 1, "<rect ")) {
        int x = attr(r, "x"), y = attr(r, "y"), w = attr(r, "width"), h = attr(r, "height");
        if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > W || y + h > H) return false;
    }
    return true;
}

static char *tmp_dir(void) {
    char *d = xstrdup("/tmp/trm_render_XXXXXX");
    if (!mkdtemp(d)) die("mkdtemp");
    return d;
}

static int dir_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

static void test_svg(void) {
    char *dir = tmp_dir(), *path = path_join(dir, "grids.svg"), err[ERR_LEN];
    ArcGrid g = grid_of(2, 3, G23), one = grid_of(1, 1, (int[]){9}), empty = grid_of(0, 0, NULL);
    ArcPanel p[6] = {{"test 1 input", &g}, {"attempt 1 \u2713", NULL}, {"a <b> & \"c\"\x01", &one},
                     {"test 2 input", &one}, {"attempt 1 x", &empty}, {NULL, &g}};
    CHECK(arc_render_svg(path, "task <00d62c1b> & co", p, 2, 3, err) == 0, "svg: %s", err);
    size_t n;
    char *s = (char *)read_bytes(path, &n);
    s = xrealloc(s, n + 1);
    s[n] = 0;
    int rects = 0, texts = 0;
    CHECK(well_formed(s, "rect", &rects), "the SVG is well-formed XML");
    well_formed(s, "text", &texts);
    CHECK(rects == 1 + 6 + 1 + 1 + 6, "background + one <rect> per cell: %d", rects);
    CHECK(texts == 1 + 6 + 2, "title, 6 captions, (none) and (empty): %d <text>", texts);
    CHECK(strstr(s, "<svg xmlns=\"http://www.w3.org/2000/svg\"") != NULL, "the SVG namespace");
    CHECK(strstr(s, "task &lt;00d62c1b&gt; &amp; co") != NULL, "the title, escaped");
    CHECK(strstr(s, "a &lt;b&gt; &amp; \"c\"?") != NULL, "a caption escaped, its control byte a '?'");
    CHECK(strstr(s, "attempt 1 \u2713") != NULL, "UTF-8 kept as it is");
    CHECK(strstr(s, ">(none)<") && strstr(s, ">(empty)<"), "the missing and the empty grid are captioned");
    CHECK(count(s, "fill=\"#0074D9\"") == 2 && count(s, "fill=\"#870C25\"") == 2, "blue and maroon cells");
    CHECK(count(s, "fill=\"#FF4136\"") == 2 && count(s, "fill=\"#AAAAAA\"") == 2, "red and grey cells");
    CHECK(rects_inside(s), "every rect inside the canvas");
    CHECK(dir_entries(dir) == 1, "only the SVG in its directory");
    free(s);
    remove(path);

    // Nothing to draw is still a document.
    CHECK(arc_render_svg(path, "nothing", NULL, 0, 4, err) == 0, "an empty picture: %s", err);
    s = (char *)read_bytes(path, &n);
    s = xrealloc(s, n + 1);
    s[n] = 0;
    CHECK(well_formed(s, "rect", &rects) && rects == 1, "an empty picture is the background only: %d", rects);
    free(s);
    remove(path);

    // A path that cannot be created, and one that is a directory: an error naming it
    // and no file, temporary or final, left behind.
    const char *bad = "/nonexistent-trm-dir/out.svg";
    err[0] = 0;
    CHECK(arc_render_svg(bad, "t", p, 1, 3, err) == -1, "an unwritable path fails");
    CHECK(strstr(err, bad) != NULL, "the error names the path: %s", err);
    CHECK(access(bad, F_OK) != 0, "no file at the unwritable path");
    char *sub = path_join(dir, "sub");
    mkdir(sub, 0755);
    err[0] = 0;
    CHECK(arc_render_svg(sub, "t", p, 1, 3, err) == -1, "a directory as the path fails");
    CHECK(strstr(err, sub) != NULL, "the error names the directory: %s", err);
    CHECK(dir_entries(dir) == 1 && dir_entries(sub) == 0, "no temporary file left beside it");
    rmdir(sub);
    rmdir(dir);
    free(sub);
    free(path);
    free(dir);
}

int main(void) {
    test_plain();
    test_heights();
    test_empty_and_titles();
    test_wrap();
    test_colour();
    test_marks_and_locale();
    test_terminal();
    test_svg();
    return test_summary("arc_render");
}
