// chart.c: SVG line charts for the HTML report. The layout is fixed arithmetic (no text
// measurement: tick labels and legend entries are short), so the same data always gives
// the same bytes.
#include "chart.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MARGIN_LEFT 58       // px for the y tick labels and the y axis label
#define MARGIN_RIGHT 14
#define MARGIN_TOP 28        // the title
#define MARGIN_BOTTOM 42     // x tick labels and the x axis label
#define LEGEND_W 112         // px right of the plot when there is more than one series
#define LEGEND_ROW 14
#define FONT 11
#define MAX_TICKS 12

void html_text(FILE *f, const char *s) {
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '&') fputs("&amp;", f);
        else if (ch == '<') fputs("&lt;", f);
        else if (ch == '>') fputs("&gt;", f);
        else if (ch == '"') fputs("&quot;", f);
        else if (ch < 0x20 || ch == 0x7F) fputc('?', f);
        else fputc(ch, f);
    }
}

// ---------------------------------------------------------------- colours

void chart_step_colour(int i, int n, char out[8]) {
    // viridis without its pale yellow end, which vanishes on white
    static const uint8_t RAMP[][3] = {
        {0xa0, 0xda, 0x39}, {0x4a, 0xc1, 0x6d}, {0x1f, 0xa1, 0x87}, {0x27, 0x7f, 0x8e},
        {0x36, 0x5c, 0x8d}, {0x46, 0x32, 0x7e}, {0x44, 0x01, 0x54},
    };
    const int K = sizeof RAMP / sizeof *RAMP;
    double t = n > 1 ? (double)i / (n - 1) : 1.0, pos = t * (K - 1);
    int k = MIN((int)pos, K - 2);
    double u = pos - k;
    int rgb[3];
    for (int c = 0; c < 3; c++) rgb[c] = (int)lround(RAMP[k][c] + u * (RAMP[k + 1][c] - RAMP[k][c]));
    snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

// ---------------------------------------------------------------- ranges and ticks

// 1, 2 or 5 times a power of ten, the first at least `raw`.
static double nice_step(double raw) {
    double p = pow(10, floor(log10(raw))), m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

// Linear ticks: multiples of a nice step (at least min_step) inside [lo, hi]; returns how many.
static int linear_ticks(double lo, double hi, double min_step, double *t, double *step) {
    *step = fmax(nice_step((hi - lo) / 5), min_step);
    int n = 0;
    for (double v = ceil(lo / *step - 1e-9) * *step; v <= hi + 1e-9 * *step && n < MAX_TICKS; v += *step)
        t[n++] = fabs(v) < 1e-12 * *step ? 0 : v;
    return n;
}

// Log ticks (in log10 units): every decade, or 1, 2, 5 per decade over a short range.
static int log_ticks(double lo, double hi, double *t) {
    static const double SUB[3] = {1, 2, 5};
    int n = 0, per = hi - lo < 1.5 ? 3 : 1;
    for (double d = floor(lo); d <= ceil(hi) && n < MAX_TICKS; d++)
        for (int k = 0; k < per && n < MAX_TICKS; k++) {
            double v = d + log10(SUB[k]);
            if (v >= lo - 1e-9 && v <= hi + 1e-9) t[n++] = v;
        }
    return n;
}

// A tick's text: decimals enough for its step (log ticks: for the value itself, unless
// they fell back to a linear step).
static void tick_label(char *out, size_t cap, double v, double step, bool log) {
    if (log) v = pow(10, v), step = step == 1 ? v : step;
    double a = fabs(v);
    if (v == 0) snprintf(out, cap, "0");
    else if (a >= 1e5 || a < 1e-3) snprintf(out, cap, "%.0e", v);
    else snprintf(out, cap, "%.*f", MAX(0, (int)-floor(log10(step) + 1e-9)), v);
}

typedef struct {
    double x0, x1, y0, y1;   // data range (y in log10 units for log charts)
    int px0, px1, py0, py1;  // plot area in px (py0 top)
} Frame;

static double value_y(const Chart *c, double y) { return c->log_y ? (y > 0 ? log10(y) : NAN) : y; }

static bool finite_range(const Chart *c, const ChartSeries *s, int n, Frame *fr) {
    fr->x0 = fr->y0 = INFINITY;
    fr->x1 = fr->y1 = -INFINITY;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < s[k].n; i++) {
            double y = value_y(c, s[k].y[i]);
            if (!isfinite(y) || !isfinite(s[k].x[i])) continue;
            fr->x0 = fmin(fr->x0, s[k].x[i]), fr->x1 = fmax(fr->x1, s[k].x[i]);
            fr->y0 = fmin(fr->y0, y), fr->y1 = fmax(fr->y1, y);
        }
    if (!isfinite(fr->x0)) return false;
    if (c->y_zero && !c->log_y) fr->y0 = fmin(fr->y0, 0);
    if (fr->x1 == fr->x0) fr->x0 -= 1, fr->x1 += 1;
    if (fr->y1 == fr->y0) {
        double d = c->log_y ? 0.5 : fmax(fabs(fr->y0) * 0.1, 0.5);
        fr->y0 = c->y_zero && !c->log_y && fr->y0 == 0 ? 0 : fr->y0 - d;
        fr->y1 += d;
    }
    if (!c->log_y) {     // widen y to round values, so the top and bottom lines carry labels
        double step = nice_step((fr->y1 - fr->y0) / 5);
        fr->y0 = floor(fr->y0 / step + 1e-9) * step;
        fr->y1 = ceil(fr->y1 / step - 1e-9) * step;
    }
    return true;
}

static double px_x(const Frame *fr, double x) { return fr->px0 + (x - fr->x0) / (fr->x1 - fr->x0) * (fr->px1 - fr->px0); }
static double px_y(const Frame *fr, double y) { return fr->py1 - (y - fr->y0) / (fr->y1 - fr->y0) * (fr->py1 - fr->py0); }

// ---------------------------------------------------------------- drawing

// Y ticks, in the chart's units. A log range inside one decade may hold no 1, 2 or 5:
// then round values of a linear scale over it, placed on the log axis.
static int y_ticks(const Chart *c, const Frame *fr, double *t, double *step) {
    if (!c->log_y) return linear_ticks(fr->y0, fr->y1, 0, t, step);
    *step = 1;
    int n = log_ticks(fr->y0, fr->y1, t);
    if (n >= 2) return n;
    n = linear_ticks(pow(10, fr->y0), pow(10, fr->y1), 0, t, step);
    for (int i = 0; i < n; i++) t[i] = t[i] > 0 ? log10(t[i]) : fr->y0;
    return n;
}

static void draw_axes(FILE *f, const Chart *c, const Frame *fr) {
    double t[MAX_TICKS], step;
    char label[32];
    int n = y_ticks(c, fr, t, &step);
    for (int i = 0; i < n; i++) {
        double y = px_y(fr, t[i]);
        tick_label(label, sizeof label, t[i], step, c->log_y);
        fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>", fr->px0, fr->px1, y, y);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", fr->px0 - 4, y + FONT / 3.0, label);
    }
    n = linear_ticks(fr->x0, fr->x1, c->x_counts ? 1 : 0, t, &step);
    for (int i = 0; i < n; i++) {
        double x = px_x(fr, t[i]);
        tick_label(label, sizeof label, t[i], step, false);
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>", x, x, fr->py0, fr->py1);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x, fr->py1 + FONT + 3, label);
    }
    fprintf(f, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", fr->px0, fr->py0,
            fr->px1 - fr->px0, fr->py1 - fr->py0);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (fr->px0 + fr->px1) / 2, fr->py1 + 2 * FONT + 10);
    html_text(f, c->x_label);
    fprintf(f, "</text>\n<text transform=\"translate(12 %d) rotate(-90)\" text-anchor=\"middle\">", (fr->py0 + fr->py1) / 2);
    html_text(f, c->y_label);
    fputs(c->log_y ? " (log)</text>\n" : "</text>\n", f);
}

// Point i of a series, or the mean of bucket i of k points each when it is long.
static bool point(const Chart *c, const ChartSeries *s, int i, int k, double *x, double *y) {
    double sx = 0, sy = 0;
    int m = 0;
    for (int j = i * k; j < MIN((i + 1) * k, s->n); j++) {
        double v = value_y(c, s->y[j]);
        if (!isfinite(v) || !isfinite(s->x[j])) continue;
        sx += s->x[j], sy += v, m++;
    }
    if (!m) return false;
    *x = sx / m, *y = sy / m;
    return true;
}

static void draw_series(FILE *f, const Chart *c, const Frame *fr, const ChartSeries *s) {
    int k = (s->n + CHART_MAX_POINTS - 1) / CHART_MAX_POINTS, m = (s->n + k - 1) / k;
    bool open = false, markers = m <= 60;
    for (int i = 0; i < m; i++) {     // one polyline per run of points without a gap
        double x, y;
        if (!point(c, s, i, k, &x, &y)) {
            if (open) fputs("\"/>\n", f);
            open = false;
            continue;
        }
        if (!open) fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\"%s points=\"", s->colour,
                           s->dashed ? " stroke-dasharray=\"5 3\"" : "");
        fprintf(f, "%s%.1f,%.1f", open ? " " : "", px_x(fr, x), px_y(fr, y));
        open = true;
    }
    if (open) fputs("\"/>\n", f);
    for (int i = 0; markers && i < m; i++) {
        double x, y;
        if (!point(c, s, i, k, &x, &y)) continue;
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"><title>", px_x(fr, x), px_y(fr, y), s->colour);
        html_text(f, s->name);
        fprintf(f, ": %g at %g</title></circle>\n", c->log_y ? pow(10, y) : y, x);
    }
}

static void draw_legend(FILE *f, const ChartSeries *s, int n, int x, int y) {
    for (int k = 0; k < n; k++, y += LEGEND_ROW) {
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"%s/>", x, x + 16,
                y - 4, y - 4, s[k].colour, s[k].dashed ? " stroke-dasharray=\"5 3\"" : "");
        fprintf(f, "<text x=\"%d\" y=\"%d\">", x + 21, y);
        html_text(f, s[k].name);
        fputs("</text>\n", f);
    }
}

void chart_svg(FILE *f, const Chart *c, const ChartSeries *s, int n) {
    int W = c->width ? c->width : 520, H = c->height ? c->height : 260, legend = n > 1 ? LEGEND_W : 0;
    Frame fr = { .px0 = MARGIN_LEFT, .px1 = W - MARGIN_RIGHT - legend, .py0 = MARGIN_TOP, .py1 = H - MARGIN_BOTTOM };
    bool any = finite_range(c, s, n, &fr);
    fprintf(f, "<svg class=\"chart\" data-series=\"%d\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-size=\"%d\" role=\"img\" aria-label=\"", n, W, H, W, H, FONT);
    html_text(f, c->title);
    fprintf(f, "\">\n<text class=\"title\" x=\"%d\" y=\"16\">", MARGIN_LEFT);
    html_text(f, c->title);
    fputs("</text>\n", f);
    if (!any) {
        fprintf(f, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>", fr.px0, fr.py0,
                fr.px1 - fr.px0, fr.py1 - fr.py0);
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">no data</text>\n</svg>\n", (fr.px0 + fr.px1) / 2,
                (fr.py0 + fr.py1) / 2);
        return;
    }
    draw_axes(f, c, &fr);
    for (int k = 0; k < n; k++) draw_series(f, c, &fr, &s[k]);
    if (legend) draw_legend(f, s, n, fr.px1 + 10, fr.py0 + 8);
    fputs("</svg>\n", f);
}
