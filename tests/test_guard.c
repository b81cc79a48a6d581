// test_guard.c: the trainer's divergence guard and its stop on a signal. A NaN gradient
// (the poison_step hook) or a NaN loss (a poisoned weight) stops the run before the
// optimizer applies it, with a message naming the step and the tensor; skip_nonfinite
// skips such steps instead and counts them; train_stop_signal saves and returns
// TRAIN_INTERRUPTED at the next step boundary.
#include "tasks/nqueens.h"
#include "train/train.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static Dataset train_set, test_set;

typedef struct {
    TRMConfig c;
    TrainOptions o;
    Model m;
    Trainer t;
    real *saved;
} Run;

static void run_new(Run *r, Method method, long poison_step, long skip) {
    char err[ERR_LEN] = "";
    if (cfg_preset(&r->c, "compact", method == METHOD_DIS ? "dis" : "trm", 3, NQ_CELLS, 1, err)) die("%s", err);
    r->c.hidden = 32; r->c.heads = 4; r->c.layers = 1; r->c.N_sup = 3;
    if (method == METHOD_TRM) { r->c.T = 2; r->c.n = 2; }
    if (cfg_validate(&r->c, err)) die("%s", err);
    train_defaults(&r->o, method);
    r->o.batch = 8; r->o.warmup = 3; r->o.seed = 5; r->o.quiet = true;
    r->o.poison_step = poison_step;
    r->o.skip_nonfinite = skip;
    model_create(&r->m, &r->c, 7);
    trainer_init(&r->t, &r->m, task_find("nqueens"), &train_set, &r->o);
    r->saved = xmalloc(sizeof(real) * r->m.table.n_total);
}

static void run_save(Run *r) { memcpy(r->saved, r->m.params, sizeof(real) * r->m.table.n_total); }
static bool run_same(const Run *r) { return !memcmp(r->saved, r->m.params, sizeof(real) * r->m.table.n_total); }

static void run_free(Run *r) {
    trainer_free(&r->t);
    model_free(&r->m);
    free(r->saved);
}

// TRM (one optimizer step per advance): a NaN gradient at step 2 stops before step 2.
static void test_stop_trm(void) {
    Run r;
    run_new(&r, METHOD_TRM, 2, 0);
    trainer_advance(&r.t);
    CHECK(r.t.step == 1 && !r.t.diverged[0], "trm: step 1 (%ld) went wrong: %s", r.t.step, r.t.diverged);
    run_save(&r);
    trainer_advance(&r.t);
    CHECK(r.t.step == 1, "trm: the poisoned step was applied (step %ld)", r.t.step);
    CHECK(run_same(&r), "trm: the weights changed in the poisoned step");
    CHECK(strstr(r.t.diverged, "step 2: non-finite gradient in 'embed_tokens.embedding_weight'") != NULL,
          "trm: message '%s'", r.t.diverged);
    run_free(&r);
}

// DIS: the poison at step 1 (the first supervision step) leaves the initial weights.
static void test_stop_dis(void) {
    Run r;
    run_new(&r, METHOD_DIS, 1, 0);
    run_save(&r);
    trainer_advance(&r.t);
    CHECK(r.t.step == 0 && run_same(&r), "dis: step %ld applied after a NaN gradient", r.t.step);
    CHECK(strstr(r.t.diverged, "step 1: non-finite gradient in 'embed_tokens.embedding_weight'") != NULL,
          "dis: message '%s'", r.t.diverged);
    run_free(&r);
}

// A NaN weight makes the loss NaN: the message names the loss.
static void test_nan_loss(void) {
    Run r;
    run_new(&r, METHOD_TRM, 0, 0);
    const ParamSpec *p = param_find(&r.m.table, "lm_head.weight");
    CHECK(p != NULL, "no lm_head.weight in the table");
    if (!p) { run_free(&r); return; }
    for (size_t i = 0; i < p->numel; i++) r.m.params[p->offset + i] = NAN;
    trainer_advance(&r.t);
    CHECK(r.t.step == 0, "nan loss: the step was applied");
    CHECK(strstr(r.t.diverged, "step 1: non-finite loss") != NULL, "nan loss: message '%s'", r.t.diverged);
    run_free(&r);
}

// skip_nonfinite 1: the poisoned step is skipped and counted; the next one trains.
static void test_skip(void) {
    Run r;
    run_new(&r, METHOD_TRM, 2, 1);
    trainer_advance(&r.t);
    run_save(&r);
    trainer_advance(&r.t);
    CHECK(r.t.step == 1 && run_same(&r), "skip: the poisoned step was applied");
    CHECK(r.t.skipped_nonfinite == 1 && !r.t.diverged[0], "skip: %ld skipped, diverged '%s'",
          r.t.skipped_nonfinite, r.t.diverged);
    trainer_advance(&r.t);
    CHECK(r.t.step == 2 && !run_same(&r), "skip: no step after the skipped one (step %ld)", r.t.step);
    run_free(&r);
}

// train_run: the divergence as its error; a signal: model and state saved, and
// TRAIN_INTERRUPTED after one step.
static void test_run(const char *dir) {
    char err[ERR_LEN] = "";
    Run r;
    run_new(&r, METHOD_TRM, 1, 0);
    r.t.o.max_steps = 5;
    EvalResult final;
    int rc = train_run(&r.t, NULL, &test_set, &final, err);
    CHECK(rc == -1 && strstr(err, "step 1: non-finite gradient") && strstr(err, "--skip-nonfinite"),
          "train_run on a NaN: rc %d, '%s'", rc, err);
    if (!rc) eval_result_free(&final);
    run_free(&r);

    run_new(&r, METHOD_TRM, 0, 0);
    r.t.o.max_steps = 5;
    r.t.o.out_dir = dir;
    train_stop_signal = 15;
    rc = train_run(&r.t, NULL, &test_set, &final, err);
    train_stop_signal = 0;
    CHECK(rc == TRAIN_INTERRUPTED && r.t.step == 1, "signal: rc %d at step %ld (%s)", rc, r.t.step, err);
    char path[512];
    snprintf(path, sizeof path, "%s/state.safetensors", dir);
    CHECK(access(path, R_OK) == 0, "signal: no %s", path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(access(path, R_OK) == 0, "signal: no %s", path);
    if (rc == 0) eval_result_free(&final);
    run_free(&r);
}

int main(void) {
    char err[ERR_LEN], dir[] = "/tmp/trm_guard_XXXXXX";
    if (!mkdtemp(dir)) die("mkdtemp failed");
    if (nq_build("paper", 3, false, &train_set, &test_set, err)) die("%s", err);
    dataset_truncate(&train_set, 12);
    dataset_truncate(&test_set, 4);
    test_stop_trm();
    test_stop_dis();
    test_nan_loss();
    test_skip();
    test_run(dir);
    dataset_free(&train_set);
    dataset_free(&test_set);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary("guard");
}
