// trm report: one self-contained HTML page about a training run (eval/report.h): the
// curves and evaluations of RUN_DIR/metrics.jsonl, and a few test puzzles traced step by
// step through RUN_DIR/model.safetensors. Without a model or data the page still has the
// curves and says why the boards are missing; a bad metrics.jsonl is an error.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "eval/report.h"
#include "io/dataset_dir.h"
#include "tasks/nqueens.h"

#define REPORT_USAGE "usage: trm report RUN_DIR [--out report.html] [options]\n" \
                     "  (the model: RUN_DIR/model.safetensors unless --model; the data: as the run recorded it unless --data)"

static bool is_dir(const char *path) {
    struct stat sb;
    return !stat(path, &sb) && S_ISDIR(sb.st_mode);
}

// The test split of a data source: a text file, a folder with test.txt, or the official
// layout (DIR/test); for a run that generated its N-Queens data (the run record's data is
// null), the same generator again.
static int load_test(const Task *task, const char *data, const cJSON *run, Dataset *ds, char *err) {
    const cJSON *rd = run ? cJSON_GetObjectItemCaseSensitive(run, "data") : NULL;
    if (!data && cJSON_IsString(rd)) data = rd->valuestring;
    if (!data && cJSON_IsNull(rd) && !strcmp(task->name, "nqueens")) {
        const cJSON *split = cJSON_GetObjectItemCaseSensitive(run, "split"), *seed = cJSON_GetObjectItemCaseSensitive(run, "data_seed");
        if (!cJSON_IsString(split) || !cJSON_IsNumber(seed))
            return err_set(err, "the run record names no generator split and seed; give --data");
        Dataset train;
        int rc = nq_build(split->valuestring, (uint64_t)seed->valuedouble, true, &train, ds, err);
        if (!rc) dataset_free(&train);
        return rc;
    }
    if (!data) return err_set(err, "metrics.jsonl does not say where the data is (a run of an older trm); give --data");
    if (is_dir(data) && dataset_dir_exists(data, "test")) {
        DatasetMeta meta;
        return dataset_dir_load(data, "test", ds, &meta, err);
    }
    if (!is_dir(data)) return dataset_load(task, data, ds, err);
    char *path = path_join(data, "test.txt");
    int rc = dataset_load(task, path, ds, err);
    free(path);
    return rc;
}

// The boards: 0, or -1 with why in `why` (the page says it; the command still succeeds).
static int trace_boards(ReportBoards *b, const char *model, const char *data, const cJSON *run, InferOptions *io,
                        const char *feed, int k, char *why) {
    LoadedModel lm;
    Dataset ds;
    if (load_model(&lm, model, why)) return -1;
    double w = io->guidance;
    int batch = io->batch;
    infer_defaults(io, &lm.m.cfg);
    io->guidance = w;
    io->batch = batch;
    io->feed = lm.feed;
    if (feed) feed_parse(feed, &io->feed);     // checked by cmd_report
    int rc = 0;
    if (!report_boards_drawable(lm.task, lm.m.cfg.seq_len)) {
        rc = err_set(why, "task %s has no drawing of its boards", lm.task->name);
    } else if (load_test(lm.task, data, run, &ds, why)) {
        size_t n = strlen(why);
        if (!data) snprintf(why + n, ERR_LEN - n, " (the data of the run record in metrics.jsonl; give --data)");
        rc = -1;
    } else {
        if (ds.seq_len != lm.m.cfg.seq_len)
            rc = err_set(why, "the test data has %d tokens per puzzle, the model %s takes %d", ds.seq_len, model,
                         lm.m.cfg.seq_len);
        else report_boards_trace(b, &lm.m, lm.task, &ds, io, k, lm.names, lm.num_names);
        dataset_free(&ds);
    }
    unload_model(&lm);
    return rc;
}

int cmd_report(int argc, char **argv) {
    const char *run_dir = NULL, *out = NULL, *model = NULL, *data = NULL, *feed = NULL, *precision = "fp32";
    int threads = 0, puzzles = 3;
    InferOptions io = { .batch = 256, .guidance = 1.0 };
    ArgSpec spec[] = {
        { "", ARG_STR, &run_dir, "the run folder of trm train --out (metrics.jsonl, model.safetensors)", 0, 0 },
        { "out", ARG_STR, &out, "the HTML file (default: RUN_DIR/report.html)", 0, 0 },
        INFER_OPTIONS(model, io, threads, precision),
        { "data", ARG_STR, &data, "test puzzles: a text file, a folder with test.txt or the official layout "
                                  "(default: the run's data, as metrics.jsonl says)", 0, 0 },
        { "puzzles", ARG_INT, &puzzles, "test puzzles drawn step by step (0: none)", 0, 100 },
    };
    int rc = parse_or_help(argc, argv, REPORT_USAGE, spec, sizeof spec / sizeof *spec);
    if (rc) return rc;
    if (!run_dir) return fail("RUN_DIR is required (trm report RUN_DIR [--out report.html])");
    if (!is_dir(run_dir)) return fail("%s: not a run folder (not a directory)", run_dir);
    FeedKind fk;
    if (feed && feed_parse(feed, &fk)) return fail("--feed: '%s' (expected input or pred)", feed);
    char *metrics_path = path_join(run_dir, "metrics.jsonl"), *model_path = model ? NULL : path_join(run_dir, "model.safetensors");
    char *out_path = out ? NULL : path_join(run_dir, "report.html");
    if (!model) model = model_path;
    if (!out) out = out_path;
    char err[ERR_LEN], why[ERR_LEN] = "";
    RunMetrics rm;
    if (check_out_path(out) || set_precision(precision)) rc = 1;
    else if (run_metrics_load(&rm, metrics_path, err)) rc = fail("%s", err);
    if (!rc) {
        set_threads(threads);
        ReportBoards b = {0};
        bool have = puzzles > 0 && !trace_boards(&b, model, data, rm.run, &io, feed, puzzles, why);
        if (!puzzles) snprintf(why, sizeof why, "--puzzles 0");
        ReportInput in = { run_dir, &rm, have ? &b : NULL, why };
        if (report_write(out, &in, err)) rc = fail("%s", err);
        else if (!have) fprintf(stderr, "report: no boards: %s\n", why);
        if (!rc) printf("%s\n", out);
        report_boards_free(&b);
        run_metrics_free(&rm);
    }
    free(metrics_path);
    free(model_path);
    free(out_path);
    return rc;
}
