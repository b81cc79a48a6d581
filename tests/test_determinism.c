// test_determinism.c: a seed and a thread count fix a training run bit for bit. Runs the
// DIS and the TRM trainer twice each on a tiny model and N-Queens data and compares every
// loss and every parameter exactly; a different seed must give a different run.
#define _POSIX_C_SOURCE 200809L   // setenv
#include "tasks/nqueens.h"
#include "nn/ops.h"
#include "train/train.h"
#include "test.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH 16
#define UNITS_DIS 2    // x N_sup 3 = 6 optimizer steps
#define UNITS_TRM 6    // 6 optimizer steps

static Dataset train_set, test_set;

typedef struct {
    double loss[UNITS_TRM], last[UNITS_TRM], acc[UNITS_TRM];
    real *params, *adam_m, *ema;
    size_t n_total, n_dense;
    int32_t *preds;           // evaluation of the trained model on a few test puzzles
    double eval_valid, eval_margin;
} Run;

static void run_free(Run *r) {
    free(r->params);
    free(r->adam_m);
    free(r->ema);
    free(r->preds);
    memset(r, 0, sizeof *r);
}

static void set_threads(int n) {
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

static Run train(Method method, uint64_t seed, int threads) {
    set_threads(threads);
    char err[ERR_LEN] = "";
    TRMConfig c;
    if (cfg_preset(&c, "compact", method == METHOD_DIS ? "dis" : "trm", 3, NQ_CELLS, 1, err)) die("%s", err);
    c.hidden = 32;
    c.heads = 4;
    c.layers = 1;
    if (method == METHOD_DIS) c.N_sup = 3;
    else { c.T = 2; c.n = 2; c.N_sup = 4; }
    if (cfg_validate(&c, err)) die("%s", err);
    TrainOptions o;
    train_defaults(&o, method);
    o.batch = BATCH;
    o.warmup = 2;
    o.seed = seed;
    o.ema = 0.9;
    o.quiet = true;
    if (method == METHOD_DIS) o.targets = TARGETS_REPLACE;   // random replacement tokens
    else o.explore = 0.5;

    Model m;
    model_create(&m, &c, seed);
    Trainer t;
    trainer_init(&t, &m, task_find("nqueens"), &train_set, &o);
    Run r = {0};
    int units = method == METHOD_DIS ? UNITS_DIS : UNITS_TRM;
    for (int u = 0; u < units; u++) {
        memset(&t.acc, 0, sizeof t.acc);
        trainer_advance(&t);
        r.loss[u] = t.acc.loss;
        r.last[u] = t.acc.last_step_loss;
        r.acc[u] = t.acc.acc;
    }
    CHECK(t.step == 6, "%s: %ld optimizer steps, expected 6", method == METHOD_DIS ? "dis" : "trm", t.step);
    r.n_total = m.table.n_total;
    r.n_dense = m.table.n_dense;
    r.params = xmalloc(r.n_total * sizeof(real));
    memcpy(r.params, m.params, r.n_total * sizeof(real));
    r.adam_m = xmalloc(r.n_dense * sizeof(real));
    memcpy(r.adam_m, t.adam_m, r.n_dense * sizeof(real));
    r.ema = xmalloc(r.n_dense * sizeof(real));
    memcpy(r.ema, t.ema, r.n_dense * sizeof(real));

    // Inference on the trained model is deterministic too.
    Dataset few = test_set;
    few.n = 24;
    InferOptions io;
    infer_defaults(&io, &c);
    io.batch = 16;   // two batches, the second partial
    r.preds = xmalloc(sizeof(int32_t) * few.n * NQ_CELLS);
    EvalResult e;
    evaluate(&m, task_find("nqueens"), &few, &io, &e, r.preds, NULL);
    r.eval_valid = e.step[e.steps - 1].token_correct;
    r.eval_margin = e.step[e.steps - 1].margin_sum;
    eval_result_free(&e);
    trainer_free(&t);
    model_free(&m);
    return r;
}

static bool same_run(const Run *a, const Run *b) {
    return !memcmp(a->loss, b->loss, sizeof a->loss) && !memcmp(a->last, b->last, sizeof a->last) &&
           !memcmp(a->acc, b->acc, sizeof a->acc) && a->n_total == b->n_total &&
           !memcmp(a->params, b->params, a->n_total * sizeof(real)) &&
           !memcmp(a->adam_m, b->adam_m, a->n_dense * sizeof(real)) &&
           !memcmp(a->ema, b->ema, a->n_dense * sizeof(real)) &&
           !memcmp(a->preds, b->preds, sizeof(int32_t) * 24 * NQ_CELLS) &&
           !memcmp(&a->eval_valid, &b->eval_valid, sizeof(double)) &&
           !memcmp(&a->eval_margin, &b->eval_margin, sizeof(double));
}

// The first element where two runs' parameters differ, for the failure message.
static long first_diff(const Run *a, const Run *b) {
    for (size_t i = 0; i < a->n_total && i < b->n_total; i++)
        if (memcmp(&a->params[i], &b->params[i], sizeof(real))) return (long)i;
    return -1;
}

static void test_method(Method method) {
    const char *name = method == METHOD_DIS ? "dis" : "trm";
    int units = method == METHOD_DIS ? UNITS_DIS : UNITS_TRM;
    Run a = train(method, 1, 2), b = train(method, 1, 2);
    CHECK(same_run(&a, &b), "%s: two runs with seed 1 and 2 threads differ (first parameter %ld; loss %.17g vs %.17g)",
          name, first_diff(&a, &b), a.loss[units - 1], b.loss[units - 1]);
    bool finite = true;
    for (int u = 0; u < units; u++) finite = finite && isfinite(a.loss[u]) && a.loss[u] > 0;
    CHECK(finite, "%s: losses not finite and positive", name);

    Run c = train(method, 2, 2);
    CHECK(memcmp(a.params, c.params, a.n_total * sizeof(real)) != 0, "%s: seed 2 gives the parameters of seed 1", name);
    CHECK(memcmp(a.loss, c.loss, sizeof a.loss) != 0, "%s: seed 2 gives the losses of seed 1", name);

    Run d = train(method, 1, 1), e = train(method, 1, 1);
    CHECK(same_run(&d, &e), "%s: two runs with seed 1 and 1 thread differ (first parameter %ld)", name, first_diff(&d, &e));
    // Not required (BLAS may split sums differently), only reported.
    if (getenv("DET_SHOW"))
        printf("%s: 1 thread and 2 threads %s\n", name, same_run(&a, &d) ? "agree bit for bit" : "differ");
    run_free(&a); run_free(&b); run_free(&c); run_free(&d); run_free(&e);
}

// bf16 products: the same bits run to run, and (every tile of the bf16 kernel has one
// thread and a fixed k order; the other ops are per-row) for 1 and 2 threads as well. The
// first-step loss stays within 2% of fp32's (operands rounded to 8 bits, relative error
// 2^-9 each, on a 32-wide model whose loss starts near log 3).
static void test_bf16(void) {
    char err[ERR_LEN] = "";
    if (set_matmul_precision(MATMUL_BF16, err)) {
        printf("SKIP: determinism of bf16 runs (no AVX512-BF16: %s)\n", err);
        return;
    }
    Run a = train(METHOD_DIS, 1, 2), b = train(METHOD_DIS, 1, 2), d = train(METHOD_DIS, 1, 1);
    set_matmul_precision(MATMUL_FP32, err);
    Run f = train(METHOD_DIS, 1, 2);
    CHECK(same_run(&a, &b), "bf16: two runs with seed 1 and 2 threads differ (first parameter %ld)", first_diff(&a, &b));
    CHECK(same_run(&a, &d), "bf16: 1 and 2 threads differ (first parameter %ld)", first_diff(&a, &d));
    CHECK(memcmp(a.params, f.params, a.n_total * sizeof(real)) != 0, "bf16 run equals the fp32 run");
    CHECK(fabs(a.loss[0] - f.loss[0]) <= 0.02 * f.loss[0], "bf16 first loss %.6g vs fp32 %.6g", a.loss[0], f.loss[0]);
    run_free(&a); run_free(&b); run_free(&d); run_free(&f);
}

int main(int argc, char **argv) {
    (void)argc;
    // Busy-waiting OpenMP threads crawl on a shared, oversubscribed machine; the wait
    // policy is read when libgomp loads, so set it and start again (results do not
    // depend on it, only the speed).
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execv("/proc/self/exe", argv);
    }
    char err[ERR_LEN];
    if (nq_build("paper", 1, false, &train_set, &test_set, err)) die("%s", err);
    test_method(METHOD_DIS);
    test_method(METHOD_TRM);
    test_bf16();
    dataset_free(&train_set);
    dataset_free(&test_set);
    return test_summary("determinism");
}
