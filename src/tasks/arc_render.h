// arc_render.h: ARC grids people can look at. Panels (a caption and a grid) side by side
// in a terminal, in the ten colours of the official ARC testing interface as ANSI 24-bit
// backgrounds (two characters per cell) or as plain digits, and the same picture as SVG.
// trm solve prints, for each test input, input | attempt 1 | attempt 2 | solution.
#ifndef TRM_ARC_RENDER_H
#define TRM_ARC_RENDER_H

#include <stdio.h>

#include "common.h"
#include "tasks/arc_grid.h"

// The palette of fchollet/ARC-AGI apps/css/common.css (also arcprize.org's tasks):
// 0 black, 1 blue, 2 red, 3 green, 4 yellow, 5 grey, 6 magenta, 7 orange, 8 light blue,
// 9 maroon. ARC_RGB[c] = {r, g, b}.
extern const uint8_t ARC_RGB[10][3];

// A caption over a grid. g NULL: no grid (an attempt that was not made), drawn as
// "(none)"; a grid of h = 0 or w = 0 (an empty crop) is drawn as "(empty)".
// Titles are UTF-8; their width is counted in code points (one column each).
typedef struct {
    const char *title;
    const ArcGrid *g;
} ArcPanel;

// True when f is a terminal, NO_COLOR is unset or empty (no-color.org) and TERM is not
// "dumb".
bool arc_render_colour(FILE *f);
// True when the locale (LC_ALL, else LC_CTYPE, else LANG) names UTF-8: the terminal can
// show marks such as U+2713.
bool arc_render_unicode(void);
// Terminal width in columns: COLUMNS if set to a number in 1..10000, else the size of the
// terminal f (ioctl TIOCGWINSZ), else 80.
int arc_render_width(FILE *f);
// A mark for an attempt's title ("attempt 1 ✓"): U+2713 / U+2717 when unicode, else the
// ASCII "ok" / "x" for terminals and files that are not UTF-8.
const char *arc_render_mark(bool right, bool unicode);

// Draws n panels side by side, titles above, 2 columns per cell, 3 blank columns between
// panels; panels that do not fit in width columns wrap onto the next band (a band always
// holds at least one panel, however wide), bands separated by a blank line. Shorter
// panels are padded with blanks. colour: cells are two spaces on an ANSI 24-bit
// background, each line ending with a reset; otherwise each cell is its digit and a space.
// Lines carry no trailing blanks.
void arc_render_text(FILE *f, const ArcPanel *p, int n, int width, bool colour);

// An SVG document at path: a title line at the top, then rows x cols panels (p[r * cols
// + c]; e.g. one row per test input), each a caption over its cells as <rect>s in the
// palette with thin grid lines. The first <rect> is the background, then one per cell.
// Written atomically: on failure (-1, err names the path) no file is left behind.
int arc_render_svg(const char *path, const char *title, const ArcPanel *p, int rows, int cols, char *err);
// The same picture as one <svg> element without the XML declaration, for inlining in an
// HTML page (trm report); the caller frees it.
char *arc_render_svg_element(const char *title, const ArcPanel *p, int rows, int cols);

#endif
