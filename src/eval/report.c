// report.c: the HTML page of trm report: metrics.jsonl read and checked, the charts, the
// table of evaluations and the page around them. The boards are in report_boards.c.
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/chart.h"

#define MAX_STEP_LINES 8     // supervision steps drawn per chart (TRM has 16: every other one)

// ---------------------------------------------------------------- metrics.jsonl

// The fields of train and eval records that must be numbers when present (null allowed
// where a value can be missing: a step without samples).
static const char *const TRAIN_NUMBERS[] = { "step", "examples", "loss", "last_step_loss", "accuracy", "exact", "lr",
                                             "examples_per_s", "elapsed_s", NULL };
static const char *const EVAL_NUMBERS[] = { "step", "examples", "puzzles", "exact", "valid", "token_accuracy",
                                            "elapsed_s", NULL };
static const char *const STEP_NUMBERS[] = { "step", "exact", "valid", "token_accuracy", "changed_cells",
                                            "advantage_margin", NULL };

static int check_numbers(const cJSON *o, const char *const *names, const char *where, char *err) {
    for (int i = 0; names[i]; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, names[i]);
        if (x && !cJSON_IsNumber(x) && !cJSON_IsNull(x)) return err_set(err, "%s: \"%s\" is not a number", where, names[i]);
    }
    return 0;
}

static int check_train(const cJSON *o, const char *where, char *err) {
    if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "step")))
        return err_set(err, "%s: a train record without a numeric \"step\"", where);
    if (check_numbers(o, TRAIN_NUMBERS, where, err)) return -1;
    const cJSON *sl = cJSON_GetObjectItemCaseSensitive(o, "step_loss"), *x;
    if (sl && !cJSON_IsArray(sl)) return err_set(err, "%s: \"step_loss\" is not an array", where);
    cJSON_ArrayForEach(x, sl) if (!cJSON_IsNumber(x) && !cJSON_IsNull(x))
        return err_set(err, "%s: \"step_loss\" holds something other than numbers", where);
    return 0;
}

static int check_eval(const cJSON *o, const char *where, char *err) {
    if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "step")))
        return err_set(err, "%s: an eval record without a numeric \"step\"", where);
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "split")))
        return err_set(err, "%s: an eval record without a \"split\"", where);
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(o, "per_step"), *x;
    if (!cJSON_IsArray(ps) || !cJSON_GetArraySize(ps))
        return err_set(err, "%s: an eval record without a \"per_step\" array", where);
    cJSON_ArrayForEach(x, ps) {
        if (!cJSON_IsObject(x)) return err_set(err, "%s: \"per_step\" holds something other than objects", where);
        if (check_numbers(x, STEP_NUMBERS, where, err)) return -1;
    }
    return check_numbers(o, EVAL_NUMBERS, where, err);
}

// One line: parsed, checked, and filed under its type.
static int add_record(RunMetrics *rm, const char *line, const char *where, char *err) {
    cJSON *o = cJSON_Parse(line);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return err_set(err, "%s: not a JSON object", where);
    }
    cJSON_AddItemToArray(rm->all, o);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    if (!cJSON_IsString(type)) return err_set(err, "%s: a record without a \"type\"", where);
    const char *t = type->valuestring;
    if (!strcmp(t, "train")) {
        if (check_train(o, where, err)) return -1;
        rm->train[rm->num_train++] = o;
    } else if (!strcmp(t, "eval")) {
        if (check_eval(o, where, err)) return -1;
        rm->eval[rm->num_eval++] = o;
    } else if (!strcmp(t, "run") && !rm->run) {
        rm->run = o;
    } else if (!strcmp(t, "diverged")) {
        rm->diverged = o;
    }
    return 0;
}

int run_metrics_load(RunMetrics *rm, const char *path, char *err) {
    memset(rm, 0, sizeof *rm);
    size_t size;
    char *text = read_file(path, &size, err);
    if (!text) return -1;
    if (strlen(text) != size) {
        free(text);
        return err_set(err, "%s: a NUL byte in the file (not a metrics.jsonl)", path);
    }
    size_t lines = 1;
    for (char *p = text; *p; p++) lines += *p == '\n';
    rm->all = cJSON_CreateArray();
    rm->train = xcalloc(lines, sizeof *rm->train);
    rm->eval = xcalloc(lines, sizeof *rm->eval);
    int rc = 0;
    long lineno = 0;
    for (char *line = text, *next; line && *line && !rc; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        lineno++;
        char where[4200];
        snprintf(where, sizeof where, "%s:%ld", path, lineno);
        if (line[strspn(line, " \t\r")]) rc = add_record(rm, line, where, err);
    }
    free(text);
    if (!rc && !rm->num_train && !rm->num_eval) rc = err_set(err, "%s: no train or eval records", path);
    if (rc) run_metrics_free(rm);
    return rc;
}

void run_metrics_free(RunMetrics *rm) {
    cJSON_Delete(rm->all);
    free(rm->train);
    free(rm->eval);
    memset(rm, 0, sizeof *rm);
}

// ---------------------------------------------------------------- reading records

static double num(const cJSON *o, const char *key) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *key) {
    const cJSON *x = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

// Field `key` of element s of array `array` of a record, NaN where absent.
static double num_at(const cJSON *o, const char *array, int s, const char *key) {
    const cJSON *x = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, array), s);
    if (!key) return cJSON_IsNumber(x) ? x->valuedouble : NAN;
    return num(x, key);
}

// Supervision steps with a line of their own: all of them, or at most MAX_STEP_LINES
// spread evenly, the first and the last always among them.
static int step_lines(int steps, int *pick) {
    int n = MIN(steps, MAX_STEP_LINES);
    for (int i = 0; i < n; i++) pick[i] = n > 1 ? (int)lround((double)i * (steps - 1) / (n - 1)) : steps - 1;
    return n;
}

// The records' series for one chart: x = the optimizer step, one series per field, or
// one per picked supervision step of an array field. Owns its arrays and names.
typedef struct {
    ChartSeries s[MAX_STEP_LINES + 2];
    int n;
    double *mem[MAX_STEP_LINES + 2];
    char names[MAX_STEP_LINES + 2][32], colours[MAX_STEP_LINES + 2][8];
} Lines;

static double *new_series(Lines *l, const char *name, const char *colour, int n, bool dashed) {
    int k = l->n++;
    l->mem[k] = xcalloc((size_t)MAX(n, 1) * 2, sizeof(double));
    snprintf(l->names[k], sizeof l->names[k], "%s", name);
    snprintf(l->colours[k], sizeof l->colours[k], "%s", colour);
    l->s[k] = (ChartSeries){ l->names[k], l->mem[k], l->mem[k] + n, n, l->colours[k], dashed };
    return l->mem[k];
}

static void lines_free(Lines *l) {
    for (int k = 0; k < l->n; k++) free(l->mem[k]);
    l->n = 0;
}

// A top-level field of every record.
static void add_field(Lines *l, const cJSON **rec, int n, const char *key, const char *name, const char *colour,
                      bool dashed) {
    double *x = new_series(l, name, colour, n, dashed), *y = x + n;
    for (int i = 0; i < n; i++) x[i] = num(rec[i], "step"), y[i] = num(rec[i], key);
}

// One series per picked supervision step of an array field: train "step_loss" (key NULL)
// or eval "per_step" (key: which field).
static void add_steps(Lines *l, const cJSON **rec, int n, const char *array, const char *key, int steps) {
    int pick[MAX_STEP_LINES], m = step_lines(steps, pick);
    for (int j = 0; j < m; j++) {
        char name[32], colour[8];
        snprintf(name, sizeof name, "step %d", pick[j] + 1);
        chart_step_colour(j, m, colour);
        double *x = new_series(l, name, colour, n, false), *y = x + n;
        for (int i = 0; i < n; i++) x[i] = num(rec[i], "step"), y[i] = num_at(rec[i], array, pick[j], key);
    }
}

static void draw(FILE *f, Lines *l, const char *title, const char *x_label, const char *y_label, bool log_y, bool zero) {
    Chart c = { .title = title, .x_label = x_label, .y_label = y_label, .log_y = log_y, .y_zero = zero, .x_counts = true };
    chart_svg(f, &c, l->s, l->n);
    lines_free(l);
}

// ---------------------------------------------------------------- the sections

static int max_array(const cJSON **rec, int n, const char *array) {
    int m = 0;
    for (int i = 0; i < n; i++) m = MAX(m, cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rec[i], array)));
    return m;
}

static void training_charts(FILE *f, const RunMetrics *rm) {
    const cJSON **t = rm->train;
    int n = rm->num_train, steps = max_array(t, n, "step_loss");
    Lines l = {0};
    fputs("<h2>Training</h2>\n<div class=\"charts\">\n", f);
    if (steps) add_steps(&l, t, n, "step_loss", NULL, steps);
    add_field(&l, t, n, "loss", steps ? "mean" : "loss", "#888888", true);
    if (!steps) add_field(&l, t, n, "last_step_loss", "last step", "#440154", false);
    draw(f, &l, "training loss per supervision step", "optimizer step", "loss", true, false);
    add_field(&l, t, n, "accuracy", "token accuracy", "#277f8e", false);
    add_field(&l, t, n, "exact", "exact", "#440154", false);
    draw(f, &l, "training accuracy at the last step", "optimizer step", "fraction", false, true);
    add_field(&l, t, n, "lr", "learning rate", "#365c8d", false);
    draw(f, &l, "learning rate", "optimizer step", "lr", false, true);
    add_field(&l, t, n, "examples_per_s", "examples/s", "#1fa187", false);
    draw(f, &l, "throughput", "optimizer step", "examples per second", false, true);
    fputs("</div>\n", f);
    if (!steps)
        fputs("<p class=\"note\">This run's train records have no per-step loss (\"step_loss\", written by newer "
              "versions of trm train): the loss chart shows the mean and the last step.</p>\n", f);
}

// The split drawn over time: the one with the most evaluations (the in-run selection
// split; the final test evaluation is one point), validation on a tie.
static const char *chart_split(const RunMetrics *rm) {
    const char *best = NULL;
    int best_n = 0;
    for (int i = 0; i < rm->num_eval; i++) {
        const char *s = str(rm->eval[i], "split");
        int c = 0;
        for (int j = 0; j < rm->num_eval; j++) c += !strcmp(str(rm->eval[j], "split"), s);
        if (c > best_n || (c == best_n && !strcmp(s, "valid"))) best = s, best_n = c;
    }
    return best;
}

// The last evaluation, as a function of the supervision step: what each step adds.
static void profile_chart(FILE *f, const cJSON *e) {
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(e, "per_step");
    int n = cJSON_GetArraySize(ps);
    static const char *const KEYS[3] = { "token_accuracy", "exact", "valid" }, *const COL[3] = { "#277f8e", "#440154", "#a0da39" };
    Lines l = {0};
    for (int k = 0; k < 3; k++) {
        double *x = new_series(&l, KEYS[k], COL[k], n, k == 2), *y = x + n;
        for (int s = 0; s < n; s++) x[s] = s + 1, y[s] = num_at(e, "per_step", s, KEYS[k]);
    }
    char title[96];
    snprintf(title, sizeof title, "by supervision step, %s at step %.0f", str(e, "split"), num(e, "step"));
    draw(f, &l, title, "supervision step", "fraction", false, true);
}

static void eval_charts(FILE *f, const RunMetrics *rm) {
    if (!rm->num_eval) {
        fputs("<h2>Evaluation</h2>\n<p class=\"note\">No evaluations in metrics.jsonl.</p>\n", f);
        return;
    }
    const char *split = chart_split(rm);
    const cJSON **e = xcalloc(rm->num_eval, sizeof *e);
    int n = 0;
    for (int i = 0; i < rm->num_eval; i++)
        if (!strcmp(str(rm->eval[i], "split"), split)) e[n++] = rm->eval[i];
    int steps = max_array(e, n, "per_step");
    fprintf(f, "<h2>Evaluation per supervision step (%d evaluation%s on ", n, n == 1 ? "" : "s");
    html_text(f, split);
    fputs(")</h2>\n<div class=\"charts\">\n", f);
    static const struct { const char *key, *title, *y; bool zero; } CH[] = {
        { "token_accuracy", "token accuracy per supervision step", "token accuracy", true },
        { "exact", "exact per supervision step", "exact", true },
        { "valid", "valid per supervision step", "valid", true },
        { "advantage_margin", "advantage margin per supervision step (Eq. 18)", "margin (nats)", false },
        { "changed_cells", "changed cells per supervision step", "fraction of cells", true },
    };
    Lines l = {0};
    for (size_t c = 0; c < sizeof CH / sizeof *CH; c++) {
        add_steps(&l, e, n, "per_step", CH[c].key, steps);
        draw(f, &l, CH[c].title, "optimizer step", CH[c].y, false, CH[c].zero);
    }
    profile_chart(f, rm->eval[rm->num_eval - 1]);
    fputs("</div>\n", f);
    free(e);
}

static void cell_number(FILE *f, double v) {
    if (!isfinite(v)) fputs("<td></td>", f);
    else if (v == floor(v) && fabs(v) < 1e15) fprintf(f, "<td>%.0f</td>", v);
    else if (fabs(v) < 1) fprintf(f, "<td>%.4f</td>", v);
    else fprintf(f, "<td>%.4g</td>", v);
}

// The text fields of an evaluation (which checkpoint, why), as one line under its row.
static void notes_row(FILE *f, const cJSON *e, int span) {
    const cJSON *x;
    bool any = false;
    cJSON_ArrayForEach(x, e) {
        if (!cJSON_IsString(x) || !strcmp(x->string, "type") || !strcmp(x->string, "split")) continue;
        if (!any) fprintf(f, "<tr class=\"notes\"><td colspan=\"%d\">", span);
        any = true;
        fputs("<span>", f);
        html_text(f, x->string);
        fputs(": <b>", f);
        html_text(f, x->valuestring);
        fputs("</b></span> ", f);
    }
    if (any) fputs("</td></tr>\n", f);
}

// Every evaluation: the numbers at the top level of the records (the union of their
// fields, in order of first appearance), and their text fields in a line below.
static void eval_table(FILE *f, const RunMetrics *rm) {
    if (!rm->num_eval) return;
    const char **cols = NULL;
    int nc = 0;
    for (int i = 0; i < rm->num_eval; i++) {
        const cJSON *x;
        cJSON_ArrayForEach(x, rm->eval[i]) {
            if (!cJSON_IsNumber(x) || !strcmp(x->string, "step")) continue;
            bool seen = false;
            for (int c = 0; c < nc && !seen; c++) seen = !strcmp(cols[c], x->string);
            if (seen) continue;
            cols = xrealloc(cols, sizeof *cols * (nc + 1));
            cols[nc++] = x->string;
        }
    }
    fputs("<h2>Every evaluation</h2>\n<div class=\"wide\"><table id=\"evals\">\n<tr><th>step</th><th>split</th>", f);
    for (int c = 0; c < nc; c++) {
        fputs("<th>", f);
        html_text(f, cols[c]);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
    for (int i = 0; i < rm->num_eval; i++) {
        const cJSON *e = rm->eval[i];
        fprintf(f, "<tr><td>%.0f</td><td>", num(e, "step"));
        html_text(f, str(e, "split"));
        fputs("</td>", f);
        for (int c = 0; c < nc; c++) cell_number(f, num(e, cols[c]));
        fputs("</tr>\n", f);
        notes_row(f, e, nc + 2);
    }
    fputs("</table></div>\n", f);
    free(cols);
}

// ---------------------------------------------------------------- the page

static const char CSS[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;background:#fff;"
    "max-width:1800px}\n"
    "h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}\n"
    ".meta{color:#555;font-size:13px;margin:2px 0}.note{color:#8a4b00;font-size:13px}\n"
    ".charts{display:flex;flex-wrap:wrap;gap:12px}\n"
    "svg.chart{background:#fafafa;border:1px solid #e4e4e4;font-family:inherit}\n"
    "svg.chart .grid{stroke:#e2e2e2;stroke-width:1}svg.chart .frame{fill:none;stroke:#999}\n"
    "svg.chart text{fill:#333}svg.chart .title{font-weight:600;font-size:12px}\n"
    ".wide{overflow-x:auto}table{border-collapse:collapse;font-size:12px}\n"
    "th,td{border:1px solid #ddd;padding:3px 6px;text-align:right;white-space:nowrap}th{background:#f2f2f2}\n"
    "tr.notes td{text-align:left;white-space:normal;color:#555;border-top:none}tr.notes span{margin-right:10px}\n"
    ".puzzle{margin:10px 0 18px}.puzzle h3{font-size:14px;margin:0 0 6px;font-weight:600}\n"
    ".boards{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start}\n"
    "figure{margin:0;text-align:center;font-size:11px}figcaption{margin-top:2px;color:#444}\n"
    ".ok{color:#1a7f37}.no{color:#b42318}.arc{overflow-x:auto}\n";

// Run by the browser after layout: how many charts and boards have a size, on <body>
// (tests/test_report_browser.sh reads it from the DOM a headless browser dumps).
static const char SELF_CHECK[] =
    "<script>\n(function () {\n"
    "  var sized = function (list) { var k = 0; list.forEach(function (e) {\n"
    "    var r = e.getBoundingClientRect(); if (r.width > 0 && r.height > 0) k++; }); return k; };\n"
    "  var charts = document.querySelectorAll('svg.chart'), boards = document.querySelectorAll('svg.board, .arc svg');\n"
    "  document.body.setAttribute('data-charts-drawn', sized(charts) + '/' + charts.length);\n"
    "  document.body.setAttribute('data-boards-drawn', sized(boards) + '/' + boards.length);\n"
    "})();\n</script>\n";

static void meta_line(FILE *f, const char *label, const char *value) {
    if (!value) return;
    fputs("<span>", f);
    html_text(f, label);
    fputs(" <b>", f);
    html_text(f, value);
    fputs("</b></span> &middot; ", f);
}

static void header(FILE *f, const ReportInput *in) {
    const RunMetrics *rm = in->metrics;
    const cJSON *run = rm->run, *last = rm->num_train ? rm->train[rm->num_train - 1] : rm->eval[rm->num_eval - 1];
    fputs("<h1>trm report: ", f);
    html_text(f, in->run_dir);
    fputs("</h1>\n<p class=\"meta\">", f);
    meta_line(f, "task", str(run, "task"));
    meta_line(f, "method", str(run, "method"));
    const cJSON *data = run ? cJSON_GetObjectItemCaseSensitive(run, "data") : NULL;
    char gen[128];
    snprintf(gen, sizeof gen, "generated (split %s, seed %.0f)", str(run, "split") ? str(run, "split") : "?",
             num(run, "data_seed"));
    meta_line(f, "data", cJSON_IsString(data) ? data->valuestring : cJSON_IsNull(data) ? gen : NULL);
    char steps[96];
    snprintf(steps, sizeof steps, "%.0f (%.0f s of training)", num(last, "step"), num(last, "elapsed_s"));
    meta_line(f, "last step", steps);
    fprintf(f, "<span>%d train and %d eval records</span></p>\n<p class=\"meta\">", rm->num_train, rm->num_eval);
    meta_line(f, "trm", str(run, "version"));
    meta_line(f, "commit", str(run, "commit"));
    meta_line(f, "build", str(run, "build"));
    meta_line(f, "cpu", str(run, "cpu"));
    fputs("</p>\n", f);
    if (!run) fputs("<p class=\"note\">metrics.jsonl has no run record (task, method, version).</p>\n", f);
    if (rm->diverged) {
        fputs("<p class=\"note\">The run diverged: ", f);
        html_text(f, str(rm->diverged, "message"));
        fputs("</p>\n", f);
    }
}

static void boards_section(FILE *f, const ReportInput *in) {
    fputs("<h2>Test puzzles, step by step</h2>\n", f);
    if (in->boards && in->boards->n) {
        report_boards_html(f, in->boards);
        return;
    }
    fputs("<p class=\"note\" id=\"no-boards\">No boards: ", f);
    html_text(f, in->boards_missing ? in->boards_missing : "no puzzles");
    fputs("</p>\n", f);
}

static void page(FILE *f, const ReportInput *in) {
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>trm report: ", f);
    html_text(f, in->run_dir);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", CSS);
    header(f, in);
    if (in->metrics->num_train) training_charts(f, in->metrics);
    eval_charts(f, in->metrics);
    boards_section(f, in);
    eval_table(f, in->metrics);
    fprintf(f, "%s</body>\n</html>\n", SELF_CHECK);
}

int report_write(const char *path, const ReportInput *in, char *err) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return err_set(err, "%s: cannot build the page: %s", path, strerror(errno));
    page(f, in);
    if (fclose(f)) {
        free(buf);
        return err_set(err, "%s: cannot build the page: %s", path, strerror(errno));
    }
    int rc = write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
}
