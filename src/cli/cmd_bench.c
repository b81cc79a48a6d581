// trm bench: time training steps and inference of a preset on random data of a given
// shape, and put the achieved FLOP rate next to what this machine's sgemm can do.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "nn/ops.h"
#include "rng.h"
#include "train/train.h"

typedef struct {
    const char *preset, *method, *mixer, *precision;
    int batch, seq_len, vocab, threads, repeats, warmup, infer_batch;
    int T, n;                 // recursion overrides (0: the method's), e.g. TRM's ARC runs: n 4
    uint64_t seed;
    bool json;
} BenchOptions;

// Seconds of each timed repeat and their median.
typedef struct {
    double *s;
    int n;
    double median;
} Timing;

typedef struct {
    double model_shape, square, peak;   // GFLOP/s
} GemmPeak;

// ---------------------------------------------------------------------------------------
// A synthetic task: any shape, nothing is ever valid. Speed does not depend on the data,
// so random tokens stand in for a real data set and the same code times every shape.

static bool bench_check(const uint8_t *input, const uint8_t *answer) {
    (void)input; (void)answer;
    return false;
}

static int bench_group(const uint8_t *input) { (void)input; return 0; }

static Task bench_task = { .name = "bench", .check = bench_check, .group = bench_group, .num_groups = 1 };

// Inputs and labels uniform in [1, vocab): no PAD, so every cell carries a loss.
static Dataset random_dataset(int n, int L, int vocab, Rng *r) {
    Dataset ds = dataset_alloc(n, L);
    for (size_t i = 0; i < (size_t)n * L; i++) {
        ds.inputs[i] = (uint8_t)(1 + rng_below(r, (uint32_t)vocab - 1));
        ds.labels[i] = (uint8_t)(1 + rng_below(r, (uint32_t)vocab - 1));
    }
    return ds;
}

// ---------------------------------------------------------------------------------------
// FLOPs, counted analytically from the config (matrix products and attention only; norms,
// SwiGLU, RoPE, softmax, the loss and the optimizer are elementwise and left out).
//
// One application of f on B puzzles of Lt = L + prefix tokens, N = B*Lt rows:
//   forward  = per layer 2*N*(params of the block matmuls) + attention 4*B*H*Lt^2*hd
//              (attention block: qkv 3d*d + o d*d + SwiGLU gate_up 2*I*d + down I*d;
//               QK^T and PV are 2*B*H*Lt^2*hd each; the MLP-mixer variant has instead
//               token-mixing matmuls of 3*It*Lt params applied to B*d rows)
//   backward = 2 x forward (one product for the input gradient, one for the weights).
// The lm_head adds 2*N*d*V forward (it runs on every position, prefix included).
// A supervision step runs T*(n+1) applications, the last cycle's n+1 with gradient:
//   train = T*(n+1)*f_fwd + 2*(n+1)*f_fwd + 3*head,   inference = T*(n+1)*f_fwd + head.

static double flops_call(const TRMConfig *c, int B) {
    double d = c->hidden, Lt = cfg_ltot(c), N = (double)B * Lt, inter = cfg_inter(c);
    double per_layer = 2 * N * 3 * inter * d;                      // SwiGLU: gate_up + down
    if (c->mlp_t) per_layer += 2 * (double)B * d * 3 * cfg_inter_t(c) * Lt;
    else per_layer += 2 * N * 4 * d * d + 4.0 * B * c->heads * Lt * Lt * cfg_head_dim(c);
    return c->layers * per_layer;
}

static double flops_head(const TRMConfig *c, int B) {
    return 2.0 * B * cfg_ltot(c) * c->hidden * c->vocab;
}

static double flops_train_step(const TRMConfig *c, int B) {
    double calls = (double)c->T * (c->n + 1), grad_calls = c->n + 1;
    return (calls + 2 * grad_calls) * flops_call(c, B) + 3 * flops_head(c, B);
}

static double flops_infer_step(const TRMConfig *c, int B) {
    return (double)c->T * (c->n + 1) * flops_call(c, B) + flops_head(c, B);
}

// ---------------------------------------------------------------------------------------
// Timing

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(const double *v, int n) {
    double *s = xmalloc(sizeof(double) * n);
    memcpy(s, v, sizeof(double) * n);
    qsort(s, n, sizeof(double), cmp_double);
    double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

static double min_of(const Timing *t) {
    double m = t->s[0];
    for (int i = 1; i < t->n; i++) m = MIN(m, t->s[i]);
    return m;
}

static double max_of(const Timing *t) {
    double m = t->s[0];
    for (int i = 1; i < t->n; i++) m = MAX(m, t->s[i]);
    return m;
}

static Timing timing_new(int n) { return (Timing){ xcalloc(n, sizeof(double)), n, 0 }; }

// One DIS batch (N_sup optimizer steps) or one TRM optimizer step per repeat.
static Timing time_training(const TRMConfig *c, Method method, const BenchOptions *b, Rng *r) {
    Dataset train = random_dataset(b->batch, b->seq_len, b->vocab, r);
    Model m;
    model_create(&m, c, b->seed);
    TrainOptions o;
    train_defaults(&o, method);
    o.batch = b->batch;
    o.seed = b->seed;
    o.quiet = true;
    Trainer t;
    trainer_init(&t, &m, &bench_task, &train, &o);
    for (int i = 0; i < b->warmup; i++) trainer_advance(&t);
    Timing tm = timing_new(b->repeats);
    for (int i = 0; i < b->repeats; i++) {
        double t0 = now_seconds();
        trainer_advance(&t);
        tm.s[i] = now_seconds() - t0;
    }
    tm.median = median_of(tm.s, tm.n);
    trainer_free(&t);
    model_free(&m);
    dataset_free(&train);
    return tm;
}

// evaluate() over infer_batch puzzles (one batch) for all N_sup steps, decoding included.
// A model of its own, planned without gradient buffers, as `trm eval` runs.
static Timing time_inference(const TRMConfig *c, const BenchOptions *b, Rng *r) {
    Dataset test = random_dataset(b->infer_batch, b->seq_len, b->vocab, r);
    Model m;
    model_create(&m, c, b->seed);
    model_plan(&m, b->infer_batch, false);
    InferOptions io;
    infer_defaults(&io, c);
    io.batch = b->infer_batch;
    Timing tm = timing_new(b->repeats);
    for (int i = -b->warmup; i < b->repeats; i++) {
        EvalResult res;
        double t0 = now_seconds();
        evaluate(&m, &bench_task, &test, &io, &res, NULL, NULL);
        if (i >= 0) tm.s[i] = now_seconds() - t0;
        eval_result_free(&res);
    }
    tm.median = median_of(tm.s, tm.n);
    model_free(&m);
    dataset_free(&test);
    return tm;
}

// Best of `reps` calls C[M,N] = A[M,K] B[K,N] (after one untimed call) of sgemm, or of
// the bf16 kernel, in GFLOP/s.
static double gemm_gflops(bool bf16, int M, int N, int K, int reps) {
    float *A = xmalloc(sizeof(float) * M * K), *B = xmalloc(sizeof(float) * K * N);
    float *C = xmalloc(sizeof(float) * M * N);
    // Small values of both signs: no overflow and no denormals to slow anything down.
    for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)((int)(i % 13) - 6) * 0.01f;
    for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)((int)(i % 7) - 3) * 0.01f;
    double best = 1e30;
    for (int i = -1; i < reps; i++) {
        double t0 = now_seconds();
        if (bf16) gemm_bf16(false, false, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
        else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
        double dt = now_seconds() - t0;
        if (i >= 0 && dt < best) best = dt;
    }
    free(A); free(B); free(C);
    return 2.0 * M * N * K / best / 1e9;
}

// The peak is the better of two shapes: the model's largest kind of product (the QKV
// projection of the whole training batch) and a large square one.
static GemmPeak measure_peak(bool bf16, const TRMConfig *c, int batch) {
    GemmPeak p;
    p.model_shape = gemm_gflops(bf16, batch * cfg_ltot(c), 3 * c->hidden, c->hidden, 5);
    p.square = gemm_gflops(bf16, 2048, 2048, 2048, 5);
    p.peak = MAX(p.model_shape, p.square);
    return p;
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;      // Linux reports kilobytes
}

// ---------------------------------------------------------------------------------------
// Report

typedef struct {
    TRMConfig cfg;
    size_t params;
    int steps_per_unit;                 // supervision steps (optimizer steps) per timed unit
    Timing train, infer;
    double train_rate, infer_rate, train_gflops, infer_gflops, rss_mb;
    GemmPeak sgemm, bf16;              // bf16: measured when the products run in bf16
} BenchResult;

static cJSON *timing_json(const Timing *t) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < t->n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(t->s[i]));
    return a;
}

// What was run: the shape, the network, the machine's BLAS.
static void add_setup_json(cJSON *o, const BenchOptions *b, const BenchResult *r) {
    const TRMConfig *c = &r->cfg;
    cJSON_AddStringToObject(o, "impl", "trm-c");
    cJSON_AddStringToObject(o, "preset", b->preset);
    cJSON_AddStringToObject(o, "method", b->method);
    cJSON_AddStringToObject(o, "mixer", b->mixer);
    cJSON_AddStringToObject(o, "precision", b->precision);
    cJSON_AddNumberToObject(o, "batch", b->batch);
    cJSON_AddNumberToObject(o, "seq_len", b->seq_len);
    cJSON_AddNumberToObject(o, "puzzle_len", c->puzzle_len);
    cJSON_AddNumberToObject(o, "vocab", b->vocab);
    cJSON_AddNumberToObject(o, "infer_batch", b->infer_batch);
    cJSON_AddNumberToObject(o, "hidden", c->hidden);
    cJSON_AddNumberToObject(o, "layers", c->layers);
    cJSON_AddNumberToObject(o, "N_sup", c->N_sup);
    cJSON_AddNumberToObject(o, "T", c->T);
    cJSON_AddNumberToObject(o, "n", c->n);
    cJSON_AddNumberToObject(o, "params", (double)r->params);
    cJSON_AddNumberToObject(o, "threads", openblas_get_num_threads());
    cJSON_AddStringToObject(o, "openblas_core", openblas_get_corename());
    cJSON_AddStringToObject(o, "openblas_config", openblas_get_config());
    cJSON_AddNumberToObject(o, "warmup", b->warmup);
    cJSON_AddNumberToObject(o, "repeats", b->repeats);
}

static void print_json(const BenchOptions *b, const BenchResult *r) {
    cJSON *o = cJSON_CreateObject();
    add_setup_json(o, b, r);
    cJSON_AddNumberToObject(o, "train_steps_per_repeat", r->steps_per_unit);
    cJSON_AddNumberToObject(o, "train_median_s", r->train.median);
    cJSON_AddItemToObject(o, "train_times_s", timing_json(&r->train));
    cJSON_AddNumberToObject(o, "train_example_steps_per_s", r->train_rate);
    cJSON_AddNumberToObject(o, "infer_median_s", r->infer.median);
    cJSON_AddItemToObject(o, "infer_times_s", timing_json(&r->infer));
    cJSON_AddNumberToObject(o, "infer_puzzles_per_s", r->infer_rate);
    cJSON_AddNumberToObject(o, "train_gflop_per_step", flops_train_step(&r->cfg, b->batch) / 1e9);
    cJSON_AddNumberToObject(o, "model_gflops_per_s", r->train_gflops);
    cJSON_AddNumberToObject(o, "infer_gflops_per_s", r->infer_gflops);
    cJSON_AddNumberToObject(o, "sgemm_model_shape_gflops_per_s", r->sgemm.model_shape);
    cJSON_AddNumberToObject(o, "sgemm_2048_gflops_per_s", r->sgemm.square);
    cJSON_AddNumberToObject(o, "sgemm_peak_gflops_per_s", r->sgemm.peak);
    cJSON_AddNumberToObject(o, "peak_fraction", r->train_gflops / r->sgemm.peak);
    cJSON_AddNumberToObject(o, "infer_peak_fraction", r->infer_gflops / r->sgemm.peak);
    if (r->bf16.peak > 0) {   // the ceiling of the products actually used
        cJSON_AddNumberToObject(o, "bf16_gemm_model_shape_gflops_per_s", r->bf16.model_shape);
        cJSON_AddNumberToObject(o, "bf16_gemm_2048_gflops_per_s", r->bf16.square);
        cJSON_AddNumberToObject(o, "bf16_gemm_peak_gflops_per_s", r->bf16.peak);
        cJSON_AddNumberToObject(o, "bf16_peak_fraction", r->train_gflops / r->bf16.peak);
        cJSON_AddNumberToObject(o, "infer_bf16_peak_fraction", r->infer_gflops / r->bf16.peak);
    }
    cJSON_AddNumberToObject(o, "peak_rss_mb", r->rss_mb);
    char *s = cJSON_Print(o);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(o);
}

static void print_table(const BenchOptions *b, const BenchResult *r) {
    const TRMConfig *c = &r->cfg;
    const Timing *tr = &r->train, *in = &r->infer;
    printf("bench: %s-%s (%s, %s products), d %d, %d layer(s), %zu parameters; batch %d, L %d + %d, vocab %d\n",
           b->method, b->preset, b->mixer, b->precision, c->hidden, c->layers, r->params, b->batch, b->seq_len, c->puzzle_len, b->vocab);
    printf("       %d threads, OpenBLAS core %s; %d warm-up + %d timed repeats\n\n",
           openblas_get_num_threads(), openblas_get_corename(), b->warmup, b->repeats);
    printf("%-30s %9s %9s %9s %12s %9s %6s\n", "", "median s", "min s", "max s", "rate", "GFLOP/s", "peak");
    char label[64];
    snprintf(label, sizeof label, "train (%d optimizer steps)", r->steps_per_unit);
    printf("%-30s %9.3f %9.3f %9.3f %12.1f %9.1f %5.0f%%   example-steps/s\n", label, tr->median,
           min_of(tr), max_of(tr), r->train_rate, r->train_gflops, 100 * r->train_gflops / r->sgemm.peak);
    snprintf(label, sizeof label, "inference (%d puzzles)", b->infer_batch);
    printf("%-30s %9.3f %9.3f %9.3f %12.1f %9.1f %5.0f%%   puzzles/s\n", label, in->median, min_of(in),
           max_of(in), r->infer_rate, r->infer_gflops, 100 * r->infer_gflops / r->sgemm.peak);
    printf("\nsgemm peak %.1f GFLOP/s (best of %dx%dx%d: %.1f, 2048^3: %.1f); peak RSS %.1f MB\n",
           r->sgemm.peak, b->batch * cfg_ltot(c), 3 * c->hidden, c->hidden, r->sgemm.model_shape,
           r->sgemm.square, r->rss_mb);
    if (r->bf16.peak > 0)
        printf("bf16 GEMM peak %.1f GFLOP/s (%.1f, %.1f): training at %.0f%%, inference at %.0f%% of it\n",
               r->bf16.peak, r->bf16.model_shape, r->bf16.square, 100 * r->train_gflops / r->bf16.peak,
               100 * r->infer_gflops / r->bf16.peak);
}

// ---------------------------------------------------------------------------------------

// Training, then inference, then the sgemm probe: the probe's matrices come last so that
// the peak RSS reported is the model's own.
static void run_bench(const BenchOptions *b, Method method, const TRMConfig *c, BenchResult *r) {
    Rng rng;
    rng_seed(&rng, b->seed);
    Model probe;                       // for the parameter count only
    model_create(&probe, c, b->seed);
    r->params = probe.table.n_dense;
    model_free(&probe);
    r->cfg = *c;
    r->steps_per_unit = method == METHOD_DIS ? c->N_sup : 1;
    r->train = time_training(c, method, b, &rng);
    r->infer = time_inference(c, b, &rng);
    r->rss_mb = peak_rss_mb();
    r->sgemm = measure_peak(false, c, b->batch);
    r->bf16 = matmul_precision() == MATMUL_BF16 ? measure_peak(true, c, b->batch) : (GemmPeak){ 0 };
    r->train_rate = (double)b->batch * r->steps_per_unit / r->train.median;
    r->infer_rate = b->infer_batch / r->infer.median;
    r->train_gflops = r->steps_per_unit * flops_train_step(c, b->batch) / r->train.median / 1e9;
    r->infer_gflops = c->N_sup * flops_infer_step(c, b->infer_batch) / r->infer.median / 1e9;
}

int cmd_bench(int argc, char **argv) {
    BenchOptions b = { .preset = "compact", .method = "dis", .mixer = "attention", .precision = "fp32", .batch = 128, .seq_len = 64, .vocab = 3,
                       .threads = 0, .repeats = 3, .warmup = 1, .infer_batch = 256, .seed = 0 };
    ArgSpec spec[] = {
        { "preset", ARG_STR, &b.preset, "compact (d 256, 1 layer) | medium (d 512, 2 layers)", 0, 0 },
        { "method", ARG_STR, &b.method, "dis (a repeat = one batch of N_sup optimizer steps) | trm (one step)", 0, 0 },
        { "mixer", ARG_STR, &b.mixer, "token mixing: attention | mlp (TRM's mlp_t)", 0, 0 },
        { "T", ARG_INT, &b.T, "cycles per step (default: the method's)", 0, 64 },
        { "n", ARG_INT, &b.n, "latent updates per cycle (default: the method's; official TRM ARC runs: 4)", 0, 64 },
        { "batch", ARG_INT, &b.batch, "training examples per batch", 1, 65536 },
        { "seq-len", ARG_INT, &b.seq_len, "tokens per puzzle, without the 16-token prefix (N-Queens 64, Sudoku 81, ARC 900)", 1, 65536 },
        { "vocab", ARG_INT, &b.vocab, "vocabulary size, PAD included (N-Queens 3, Sudoku 11, ARC 12)", 2, 256 },
        { "precision", ARG_STR, &b.precision, PRECISION_HELP, 0, 0 },
        { "threads", ARG_INT, &b.threads, "threads (0: all cores)", 0, 1024 },
        { "repeats", ARG_INT, &b.repeats, "timed repeats of training and of inference (medians reported)", 1, 1000 },
        { "warmup", ARG_INT, &b.warmup, "untimed repeats before them", 0, 1000 },
        { "infer-batch", ARG_INT, &b.infer_batch, "puzzles per inference repeat (one batch)", 1, 65536 },
        { "seed", ARG_U64, &b.seed, "seed of the weights and the random data", 0, 0 },
        { "json", ARG_FLAG, &b.json, "print one JSON object instead of the table", 0, 0 },
    };
    int rc = parse_or_help(argc, argv, "usage: trm bench [--preset compact|medium] [--method dis|trm] [--batch B --seq-len L --vocab V] [options]",
                           spec, sizeof spec / sizeof *spec);
    if (rc) return rc;
    if (strcmp(b.method, "dis") && strcmp(b.method, "trm")) return fail("--method: '%s' (expected dis or trm)", b.method);
    char err[ERR_LEN];
    TRMConfig c;
    if (cfg_preset(&c, b.preset, b.method, b.vocab, b.seq_len, 1, err)) return fail("%s", err);
    if (b.T) c.T = b.T;
    if (b.n) c.n = b.n;
    if (set_mixer(&c, b.mixer) || set_precision(b.precision)) return 1;
    bench_task.seq_len = b.seq_len;
    bench_task.vocab = b.vocab;
    set_threads(b.threads);
    BenchResult r;
    run_bench(&b, !strcmp(b.method, "trm") ? METHOD_TRM : METHOD_DIS, &c, &r);
    if (b.json) print_json(&b, &r);
    else print_table(&b, &r);
    free(r.train.s);
    free(r.infer.s);
    return 0;
}
