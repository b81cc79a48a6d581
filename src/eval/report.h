// report.h: trm report, one self-contained HTML page about a training run. From the run's
// metrics.jsonl: the training loss per supervision step, accuracy and advantage margin per
// step at each evaluation, the learning rate and throughput (SVG charts, eval/chart.h), and
// every evaluation in a table. From its model and data, when both are at hand: a few test
// puzzles drawn as the answer changes from one supervision step to the next. The page
// fetches nothing (inline SVG and CSS, one small inline script) and is written atomically.
#ifndef TRM_REPORT_H
#define TRM_REPORT_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "eval/eval.h"
#include "nn/model.h"
#include "tasks/task.h"

// The records of metrics.jsonl by type, in file order (--resume appends to one file, so
// a run record may appear more than once; the first describes the run).
typedef struct {
    cJSON *all;                  // owns every record
    const cJSON *run;            // the first "run" record, or NULL
    const cJSON **train, **eval; // "train" and "eval" records
    int num_train, num_eval;
    const cJSON *diverged;       // the last "diverged" record, or NULL
} RunMetrics;

// Reads and checks metrics.jsonl: every line one JSON object with a string "type"; train
// and eval records with a numeric "step", their known fields numbers where present, eval
// records with a "split" and a "per_step" array of objects. Records of other types are
// kept and ignored. A file without train or eval records is an error too (nothing to
// draw). Errors name the file and the line.
int run_metrics_load(RunMetrics *rm, const char *path, char *err);
void run_metrics_free(RunMetrics *rm);

// A few puzzles of a test set and the model's answer after every supervision step.
typedef struct {
    const Task *task;
    int n, steps, seq_len;
    uint8_t *inputs, *labels;    // [n, seq_len]
    int32_t *preds;              // [steps, n, seq_len]
    int64_t *rows;               // [n] the rows of the data set they are
    char **names;                // [n] the puzzle's name (ARC: identifiers), or NULL entries
} ReportBoards;

// Runs the model through evaluate() (the one inference path: io as for trm eval) on up to
// k puzzles of ds: the first example of each of the first k groups, so that ARC shows k
// different tasks, each in its original orientation. names[0..num_names): the model's
// puzzle names by puzzle id (NULL: none).
void report_boards_trace(ReportBoards *b, Model *m, const Task *task, const Dataset *ds, const InferOptions *io,
                         int k, char *const *names, int64_t num_names);
void report_boards_free(ReportBoards *b);
// The boards as HTML: per puzzle a row of input, each step's answer and the label, as
// <svg class="board"> elements (ARC: one picture in the ARC colours, tasks/arc_render.h).
void report_boards_html(FILE *f, const ReportBoards *b);
// Can this task's boards be drawn? (ARC, or a square grid with a text format.)
bool report_boards_drawable(const Task *task, int seq_len);

typedef struct {
    const char *run_dir;
    const RunMetrics *metrics;
    const ReportBoards *boards;  // NULL: boards_missing says why
    const char *boards_missing;
} ReportInput;

// The page, to path through a temporary file (nothing half-written is ever left there).
int report_write(const char *path, const ReportInput *in, char *err);

#endif
