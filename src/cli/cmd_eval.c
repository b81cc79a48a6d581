// trm eval and trace: run a trained model on a data set.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eval/arc_eval.h"
#include "io/safetensors.h"

// ARC: every test-split row, then the official vote (eval/arc_eval.h).
static int eval_arc(LoadedModel *lm, const InferOptions *io, const char *model, const char *data, const char *split,
                    int num_aug,
                    bool table, const char *save, const char *submission, const char *outputs) {
    char err[ERR_LEN];
    ArcEvalData d;
    if (arc_eval_data_load(&d, data, split, err)) return fail("%s", err);
    EvalResult r;
    ArcScore s;
    ArcOutputs out = {0};
    cJSON *sub = NULL;
    int rc = 0;
    if (arc_evaluate(&lm->m, &d, io, num_aug, &r, &s, submission ? &sub : NULL, outputs ? &out : NULL, err)) {
        arc_eval_data_free(&d);
        return fail("%s: %s", model, err);
    }
    cJSON_AddNumberToObject(r.extra, "num_aug", num_aug);
    cJSON *j = eval_result_json(&r);
    cJSON_AddStringToObject(j, "model", model);
    cJSON_AddStringToObject(j, "data", data);
    char *text = cJSON_Print(j);
    if (table) {
        char copies[64];
        if (num_aug < 0) snprintf(copies, sizeof copies, "every copy");
        else snprintf(copies, sizeof copies, "the original and up to %d copies", num_aug);
        printf("%s on %s: %lld rows, %s of each of %d test tasks\n", model, data, (long long)r.n, copies, s.tasks);
        printf("official (mean per task):");
        for (int i = 0; i < s.num_ks; i++) printf("  pass@%d %.4f", s.ks[i], s.pass[i]);
        printf("\nKaggle (mean over %d test outputs): pass@2 %.4f   tasks solved %d of %d\n\n", s.pairs, s.kaggle,
               s.tasks_solved, s.tasks);
        eval_print_table(stdout, &r, "task");
    } else {
        printf("%s\n", text);
    }
    if (save && write_file_atomic(save, text, strlen(text), err)) rc = fail("%s", err);
    if (!rc && sub) {
        char *st = cJSON_PrintUnformatted(sub);
        if (write_file_atomic(submission, st, strlen(st), err)) rc = fail("%s", err);
        free(st);
    }
    if (!rc && outputs && arc_outputs_save(&out, d.meta.seq_len, outputs, err)) rc = fail("%s", err);
    free(text);
    cJSON_Delete(j);
    cJSON_Delete(sub);
    arc_outputs_free(&out);
    arc_score_free(&s);
    eval_result_free(&r);
    arc_eval_data_free(&d);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *feed = NULL, *save = NULL, *submission = NULL, *outputs = NULL;
    const char *split = "test";
    bool table = false;
    int threads = 0, num_aug = -1;
    const char *precision = "fp32";
    InferOptions io = { .batch = 256, .guidance = 1.0 };
    ArgSpec spec[] = {
        INFER_OPTIONS(model, io, threads, precision),
        { "data", ARG_STR, &data, "text data file (\"<input> <label>\" per line), or an ARC data directory", 0, 0 },
        { "table", ARG_FLAG, &table, "a table for people instead of JSON", 0, 0 },
        { "save", ARG_STR, &save, "also write the JSON object to this file", 0, 0 },
        { "num-aug", ARG_INT, &num_aug, "arc: vote over the original and the first K copies per task (-1: all)", -1, 1e9 },
        { "split", ARG_STR, &split, "arc: test | valid (the held-out demonstrations of trm data arc --valid-demos)", 0, 0 },
        { "submission", ARG_STR, &submission, "arc: write a Kaggle submission.json here", 0, 0 },
        { "save-outputs", ARG_STR, &outputs, "arc: inputs, puzzle_identifiers, preds, q_halt_logits (.npy) into DIR", 0, 0 },
    };
    int rc = parse_or_help(argc, argv, "usage: trm eval --model M --data FILE|DIR [options]", spec, sizeof spec / sizeof *spec);
    if (rc) return rc;
    if (!data) return fail("--data FILE is required");
    if (save && check_out_path(save)) return 1;
    if (submission && check_out_path(submission)) return 1;
    if (outputs && make_out_dir(outputs)) return 1;      // before minutes of evaluation, not after
    LoadedModel lm;
    Dataset ds;
    if ((rc = infer_setup(&lm, &io, model, feed, threads, precision, NULL, &ds))) return rc;
    if (!strcmp(lm.task->name, "arc")) {
        rc = strcmp(split, "test") && strcmp(split, "valid") ? fail("--split: '%s' (expected test or valid)", split)
             : eval_arc(&lm, &io, model, data, split, num_aug, table, save, submission, outputs);
        unload_model(&lm);
        return rc;
    }
    if (submission || outputs) {
        unload_model(&lm);
        return fail("--submission and --save-outputs are for ARC models (%s is a %s model)", model, lm.task->name);
    }
    char err[ERR_LEN];
    if (dataset_load(lm.task, data, &ds, err)) {
        unload_model(&lm);
        return fail("%s", err);
    }
    EvalResult r;
    evaluate(&lm.m, lm.task, &ds, &io, &r, NULL, NULL);
    cJSON *j = eval_result_json(&r);
    cJSON_AddStringToObject(j, "model", model);
    cJSON_AddStringToObject(j, "data", data);
    cJSON_AddNumberToObject(j, "guidance", io.guidance);
    cJSON_AddStringToObject(j, "feed", feed_name(io.feed));
    char *s = cJSON_Print(j);
    if (table) {
        printf("%s on %s (task %s, feed %s, guidance %g)\n", model, data, lm.task->name, feed_name(io.feed), io.guidance);
        eval_print_table(stdout, &r, lm.task->group_name);
    } else {
        printf("%s\n", s);
    }
    if (save && write_file_atomic(save, s, strlen(s), err)) rc = fail("%s", err);
    free(s);
    cJSON_Delete(j);
    eval_result_free(&r);
    dataset_free(&ds);
    unload_model(&lm);
    return rc;
}

int cmd_trace(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *feed = NULL, *out = NULL;
    int threads = 0, limit = 0;
    const char *precision = "fp32";
    InferOptions io = { .batch = 256, .guidance = 1.0 };
    ArgSpec spec[] = {
        INFER_OPTIONS(model, io, threads, precision),
        { "data", ARG_STR, &data, "text data file", 0, 0 },
        { "out", ARG_STR, &out, "output .safetensors", 0, 0 },
        { "limit", ARG_INT, &limit, "trace only the first N puzzles (0: all)", 0, 1 << 30 },
    };
    int rc = parse_or_help(argc, argv, "usage: trm trace --model M --data FILE --out T.safetensors", spec,
                           sizeof spec / sizeof *spec);
    if (rc) return rc;
    if (!data || !out) return fail("--data FILE and --out FILE are required");
    if (check_out_path(out)) return 1;     // before minutes of evaluation, not after
    LoadedModel lm;
    Dataset ds;
    if ((rc = infer_setup(&lm, &io, model, feed, threads, precision, data, &ds))) return rc;
    char err[ERR_LEN];
    if (limit && limit < ds.n) ds.n = limit;
    int S = io.steps, L = lm.m.cfg.seq_len, V = lm.m.cfg.vocab;
    size_t cells = (size_t)S * ds.n * L;
    TraceOut tr = { .logits = xmalloc(sizeof(real) * cells * V), .preds = xmalloc(sizeof(int32_t) * cells) };
    EvalResult r;
    evaluate(&lm.m, lm.task, &ds, &io, &r, NULL, &tr);
    cJSON *j = eval_result_json(&r);
    char *summary = cJSON_PrintUnformatted(j);
    StWriter *w = st_writer_new();
    st_writer_meta(w, "summary", summary);
    int64_t shape_l[4] = { S, ds.n, L, V };
    st_writer_add_real(w, "logits", 4, shape_l, tr.logits);
    st_writer_add(w, "preds", ST_I32, 3, shape_l, tr.preds);
    int64_t shape_in[2] = { ds.n, L };
    st_writer_add(w, "inputs", ST_U8, 2, shape_in, ds.inputs);
    st_writer_add(w, "labels", ST_U8, 2, shape_in, ds.labels);
    rc = st_writer_save(w, out, err) ? fail("%s", err) : 0;
    if (!rc) eval_print_table(stdout, &r, lm.task->group_name);
    st_writer_free(w);
    free(summary);
    cJSON_Delete(j);
    free(tr.logits); free(tr.preds);
    eval_result_free(&r);
    dataset_free(&ds);
    unload_model(&lm);
    return rc;
}
