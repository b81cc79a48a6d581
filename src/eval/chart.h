// chart.h: line charts as inline SVG elements for the HTML report (trm report): a frame,
// round tick values, one polyline per series and a legend. Nothing is fetched or run: the
// text uses the page's font, and each point carries a <title> that browsers show on hover.
#ifndef TRM_CHART_H
#define TRM_CHART_H

#include <stdio.h>

#include "common.h"

typedef struct {
    const char *name;        // legend entry
    const double *x, *y;     // n points, x increasing; a NaN y is a gap in the line
    int n;
    const char *colour;      // any CSS colour
    bool dashed;
} ChartSeries;

typedef struct {
    const char *title, *x_label, *y_label;
    bool log_y;              // logarithmic y (losses); values <= 0 are left out
    bool y_zero;             // the y range starts at 0 (fractions, rates)
    bool x_counts;           // x values are whole numbers (steps): ticks at whole numbers only
    int width, height;       // px of the plot area's box, legend included (0: 520 x 260)
} Chart;

// The longest polyline drawn: a longer series is drawn as the means of consecutive runs
// of points (a long run's noisy loss becomes a readable trend; the file stays small).
#define CHART_MAX_POINTS 600

// Writes one <svg class="chart"> element. Series without a finite point are left out;
// with none at all, the frame says "no data".
void chart_svg(FILE *f, const Chart *c, const ChartSeries *s, int n);

// The colour of supervision step i of n (0-based) on a sequential ramp, early steps light
// and late ones dark, as "#rrggbb" in out[8].
void chart_step_colour(int i, int n, char out[8]);

// Text as XML/HTML character data (& < > " escaped, control bytes as '?').
void html_text(FILE *f, const char *s);

#endif
