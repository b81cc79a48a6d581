// trm: train, evaluate, inspect and run Tiny Recursive Models (TRM) and Deep Improvement
// Supervision (DIS) on puzzle tasks. One binary, one command per job.
#include <cblas.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "io/checkpoint.h"
#include "nn/ops.h"
#include "version.h"

static const struct { const char *name; int (*run)(int, char **); const char *help; } COMMANDS[] = {
    { "data",  cmd_data,  "generate a data set (nqueens), as text files" },
    { "train", cmd_train, "train a model with DIS or TRM (halting)" },
    { "eval",  cmd_eval,  "evaluate a model: exact, valid, per group, per step (JSON)" },
    { "solve", cmd_solve, "complete puzzles read from stdin, one per line" },
    { "trace", cmd_trace, "per-step logits, predictions and improvement diagnostics" },
    { "info",  cmd_info,  "configuration and parameter count of a preset or a model" },
    { "bench", cmd_bench, "time training and inference steps" },
    { "convert", cmd_convert, "a PyTorch checkpoint (torch.save + all_config.yaml) as a model file" },
    { "report", cmd_report, "an HTML page of a training run: curves, evaluations, puzzles step by step" },
};
#define NUM_COMMANDS (int)(sizeof COMMANDS / sizeof *COMMANDS)

int fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    error_vprint(fmt, ap);
    va_end(ap);
    return 1;
}

int parse_or_help(int argc, char **argv, const char *usage, const ArgSpec *spec, int n) {
    if (args_wants_help(argc, argv)) {
        args_help(stdout, usage, spec, n);
        return 2;
    }
    char err[ERR_LEN];
    if (args_parse(argc, argv, spec, n, err)) return fail("%s", err);
    return 0;
}

int make_out_dir(const char *dir) {
    // Parents first, as mkdir -p: "--out runs/dis" works in a fresh checkout.
    char *parent = xstrdup(dir), *slash = strrchr(parent, '/');
    while (slash && slash > parent && slash[-1] == '/') slash--;
    if (slash && slash > parent) {
        *slash = 0;
        struct stat ps;
        if (stat(parent, &ps) && make_out_dir(parent)) {
            free(parent);
            return 1;
        }
    }
    free(parent);
    if (!mkdir(dir, 0755)) return 0;
    int e = errno;
    struct stat sb;
    if (e == EEXIST && !stat(dir, &sb) && S_ISDIR(sb.st_mode)) return 0;
    return fail("%s: cannot create directory: %s", dir, e == EEXIST ? "a file of that name is in the way" : strerror(e));
}

int check_out_path(const char *path) {
    struct stat sb;
    if (!stat(path, &sb) && S_ISDIR(sb.st_mode)) return fail("%s: cannot write: a directory is in the way", path);
    char *copy = xstrdup(path);
    int rc = access(dirname(copy), W_OK) ? fail("%s: cannot write: %s", path, strerror(errno)) : 0;
    free(copy);
    return rc;
}

int set_mixer(TRMConfig *c, const char *mixer) {
    if (!strcmp(mixer, "mlp")) c->mlp_t = true;
    else if (!strcmp(mixer, "attention")) c->mlp_t = false;
    else return fail("--mixer: '%s' (expected attention or mlp)", mixer);
    return 0;
}

int set_precision(const char *precision) {
    MatmulPrecision p;
    if (!strcmp(precision, "fp32")) p = MATMUL_FP32;
    else if (!strcmp(precision, "bf16")) p = MATMUL_BF16;
    else if (!strcmp(precision, "auto")) p = matmul_bf16_supported() ? MATMUL_BF16 : MATMUL_FP32;
    else return fail("--precision: '%s' (expected fp32, bf16 or auto)", precision);
    char err[ERR_LEN];
    if (set_matmul_precision(p, err)) return fail("--precision %s: %s", precision, err);
    return 0;
}

void set_threads(int threads) {
    if (threads <= 0) threads = omp_get_num_procs();
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
}

bool task_fits(const Task *t, const TRMConfig *c) {
    return t->vocab == c->vocab && (t->seq_len ? t->seq_len == c->seq_len : true);
}

// The rule: a task fixes its vocabulary, and most their length: N-Queens (vocab 3, 64
// cells), Sudoku (11, 81), Maze (6, 900, the official 30 x 30). ARC (vocab 12) takes any
// G x G canvas with G <= 30 (900 for every official build, smaller for --max-grid ones).
// Smaller mazes are not guessed (give --task maze-N to convert). The config's data path is
// not consulted: it names a folder on the training machine, and the shape is unambiguous.
const Task *task_infer(const TRMConfig *c) {
    static const char *names[] = { "nqueens", "sudoku", "maze", "arc" };
    int g = 1;
    while (g * g < c->seq_len) g++;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const Task *t = task_find(names[i]);   // NULL for a task this build does not have
        if (t && task_fits(t, c) && (t->seq_len || (g * g == c->seq_len && g <= 30))) return t;
    }
    return NULL;
}

int load_model(LoadedModel *lm, const char *path, char *err) {
    char *ts = NULL;
    memset(lm, 0, sizeof *lm);
    if (checkpoint_load(&lm->m, path, &ts, err)) return -1;
    cJSON *o = cJSON_Parse(ts ? ts : "{}");
    free(ts);
    const cJSON *task = cJSON_GetObjectItem(o, "task"), *feed = cJSON_GetObjectItem(o, "feed");
    // A file that names no task (a PyTorch checkpoint) gets the one its shape fits.
    lm->task = cJSON_IsString(task) ? task_find(task->valuestring) : task ? NULL : task_infer(&lm->m.cfg);
    lm->feed = FEED_INPUT;
    if (cJSON_IsString(feed)) feed_parse(feed->valuestring, &lm->feed);
    int rc = 0;
    const cJSON *ids = cJSON_GetObjectItem(o, "identifiers");
    if (cJSON_IsArray(ids)) {
        int64_t n = cJSON_GetArraySize(ids), i = 0;
        if (n != lm->m.cfg.num_puzzle_ids)
            rc = err_set(err, "%s: train_state.identifiers has %lld names for %d puzzle-embedding rows", path,
                         (long long)n, lm->m.cfg.num_puzzle_ids);
        lm->names = xcalloc((size_t)MAX(n, 1), sizeof(char *));
        lm->num_names = n;
        for (const cJSON *x = ids->child; x && !rc; x = x->next, i++)
            if (!cJSON_IsString(x)) rc = err_set(err, "%s: train_state.identifiers[%lld] is not a string", path, (long long)i);
            else lm->names[i] = xstrdup(x->valuestring);
    }
    if (!rc && !lm->task)
        rc = err_set(err, "%s: the model does not name a known task (train_state.task), nor does its shape "
                     "(seq_len %d, vocab %d) fit one", path, lm->m.cfg.seq_len, lm->m.cfg.vocab);
    else if (!rc && !task_fits(lm->task, &lm->m.cfg))
        rc = err_set(err, "%s: model shape (seq_len %d, vocab %d) does not fit task %s", path,
                     lm->m.cfg.seq_len, lm->m.cfg.vocab, lm->task->name);
    cJSON_Delete(o);
    if (rc) unload_model(lm);
    return rc;
}

void unload_model(LoadedModel *lm) {
    for (int64_t i = 0; i < lm->num_names; i++) free(lm->names[i]);
    free(lm->names);
    model_free(&lm->m);
    memset(lm, 0, sizeof *lm);
}

int infer_setup(LoadedModel *lm, InferOptions *io, const char *model, const char *feed, int threads,
                const char *precision, const char *data, Dataset *ds) {
    char err[ERR_LEN];
    if (!model) return fail("--model FILE is required");
    if (set_precision(precision)) return 1;
    set_threads(threads);
    double w = io->guidance;
    int batch = io->batch;
    if (load_model(lm, model, err)) return fail("%s", err);
    infer_defaults(io, &lm->m.cfg);
    io->guidance = w;
    io->batch = batch;
    io->feed = lm->feed;
    int rc = 0;
    if (feed && feed_parse(feed, &io->feed)) rc = fail("--feed: '%s' (expected input or pred)", feed);
    else if (data && dataset_load(lm->task, data, ds, err)) rc = fail("%s", err);
    if (rc) unload_model(lm);
    return rc;
}

// OpenBLAS 0.3.21 runs this AVX-512 CPU with its Haswell (AVX2) kernels, about 2x below
// its SkylakeX ones (and the machines here even export OPENBLAS_CORETYPE=Haswell). The
// core type is read when the library loads, so the only way to choose it from inside is
// to set it and re-execute ourselves, once. TRM_BLAS_CORETYPE=<name> overrides the choice.
static void choose_blas_kernels(char **argv) {
    if (getenv("TRM_NO_REEXEC")) return;
    const char *want = getenv("TRM_BLAS_CORETYPE"), *have = getenv("OPENBLAS_CORETYPE");
    if (!want) {
        __builtin_cpu_init();
        bool older = !have || !strcasecmp(have, "Haswell") || !strcasecmp(have, "Zen") ||
                     !strcasecmp(have, "SandyBridge");
        if (!__builtin_cpu_supports("avx512f") || !older) return;
        want = "SkylakeX";
    }
    if (have && !strcasecmp(have, want)) return;
    setenv("OPENBLAS_CORETYPE", want, 1);
    setenv("TRM_NO_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);     // on failure, carry on with the kernels we have
}

static void usage(FILE *f) {
    fprintf(f, "usage: trm <command> [options]   (trm <command> --help for its options; trm --version)\n\ncommands:\n");
    for (int i = 0; i < NUM_COMMANDS; i++) fprintf(f, "  %-7s %s\n", COMMANDS[i].name, COMMANDS[i].help);
}

int main(int argc, char **argv) {
    choose_blas_kernels(argv);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("trm %s (commit %s; built with %s)\n%s\n", TRM_VERSION, trm_commit(), trm_build_flags(),
               cpu_description());
        return 0;
    }
    for (int i = 0; i < NUM_COMMANDS; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) {
            int rc = COMMANDS[i].run(argc - 2, argv + 2);
            return rc == 2 ? 0 : rc;
        }
    fprintf(stderr, "trm: error: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 1;
}
