// trm train: train a model with DIS or TRM on a task's data set.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "tasks/nqueens.h"
#include "eval/arc_eval.h"
#include "io/checkpoint.h"
#include "train/train.h"

static int load_split(const Task *t, const char *dir, const char *name, Dataset *ds, char *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return dataset_load(t, path, ds, err);
}

// The defaults that differ by task (one row each; maze-N takes the maze row). N-Queens
// keeps the recipe of docs/results.md; ARC, Sudoku and Maze start from the official runs
// (trm-reference.md 10): AdamATan2, lr 1e-4, warm-up 2000, batch 768, EMA 0.999; ARC
// with puzzle lr 1e-2, weight decay 0.1 and TRM n = 4; Sudoku with weight decay 1.0 (on
// the puzzle row too), puzzle lr 1e-4 and the MLP mixer (mlp_t, the 87.4% model), n = 6;
// Maze the same with attention and n = 4.
typedef struct {
    const char *task, *opt, *mixer;
    double lr, wd, puzzle_lr, puzzle_wd, ema;
    long warmup;
    int batch, trm_n;
} TaskDefaults;

static const TaskDefaults TASK_DEFAULTS[] = {
    //  task       opt           mixer        lr    wd   puzzle lr, wd  EMA    warm-up batch  n
    { "nqueens", "adamw",      "attention", 1e-3, 0.1, 1e-2, 0.1, 0,     100,  128, 0 },
    { "arc",     "adam-atan2", "attention", 1e-4, 0.1, 1e-2, 0.1, 0.999, 2000, 768, 4 },
    { "sudoku",  "adam-atan2", "mlp",       1e-4, 1.0, 1e-4, 1.0, 0.999, 2000, 768, 6 },
    { "maze",    "adam-atan2", "attention", 1e-4, 1.0, 1e-4, 1.0, 0.999, 2000, 768, 4 },
};

static TaskDefaults task_defaults(const Task *t) {
    for (size_t i = 0; i < sizeof TASK_DEFAULTS / sizeof *TASK_DEFAULTS; i++) {
        size_t k = strlen(TASK_DEFAULTS[i].task);
        if (!strncmp(t->name, TASK_DEFAULTS[i].task, k) && (!t->name[k] || t->name[k] == '-')) return TASK_DEFAULTS[i];
    }
    return TASK_DEFAULTS[0];
}

// The official dataset directory: DIR/train (and DIR/test, or for ARC the evaluator's
// test split, identifiers and test_puzzles.json).
static int load_official(const Task **taskp, const char *dir, Dataset *train, Dataset *test, ArcEvalData *arc,
                         ArcEvalData *arc_valid, DatasetMeta *meta, char *err) {
    if (dataset_dir_load(dir, "train", train, meta, err)) return -1;
    // A family of grid sizes (maze) trains the member that fits the data (maze-12).
    if ((*taskp)->sized && (*taskp)->seq_len != meta->seq_len && (*taskp)->sized(meta->seq_len))
        *taskp = (*taskp)->sized(meta->seq_len);
    const Task *task = *taskp;
    char *where = path_join(dir, "train/dataset.json");
    int rc = 0;
    if (meta->vocab_size != task->vocab)
        rc = err_set(err, "%s: vocab_size %d, task %s has %d (a data set of another task?)", where, meta->vocab_size,
                     task->name, task->vocab);
    else if (task->seq_len && meta->seq_len != task->seq_len)
        rc = err_set(err, "%s: seq_len %d, task %s has %d", where, meta->seq_len, task->name, task->seq_len);
    free(where);
    if (!rc && !strcmp(task->name, "arc")) {
        rc = arc_eval_data_load(arc, dir, "test", err);
        if (!rc && dataset_dir_exists(dir, "valid")) rc = arc_eval_data_load(arc_valid, dir, "valid", err);
    }
    else if (!rc && dataset_dir_exists(dir, "test")) {
        DatasetMeta tm;
        rc = dataset_dir_load(dir, "test", test, &tm, err);
    }
    if (!rc && arc->rows.n && arc->meta.seq_len != meta->seq_len)
        rc = err_set(err, "%s: the train and test splits differ in seq_len (%d, %d)", dir, meta->seq_len, arc->meta.seq_len);
    // The model's puzzle table comes from the train split; the evaluation needs the test split's size.
    if (!rc && arc->rows.n && arc->meta.num_puzzle_identifiers != meta->num_puzzle_identifiers)
        rc = err_set(err, "%s/train/dataset.json: num_puzzle_identifiers %lld, %s/test/dataset.json has %lld", dir,
                     (long long)meta->num_puzzle_identifiers, dir, (long long)arc->meta.num_puzzle_identifiers);
    return rc;
}

// The evaluation of an ARC run: the vote over the original and the first K copies, on
// the test split or the validation split (held-out demonstrations).
typedef struct { const ArcEvalData *test, *valid; int num_aug; } ArcEvalCtx;

// DIR/identifiers.json as one compact JSON array for the model files; it must name every
// puzzle-embedding row. 0, or 1 after fail().
static int identifiers_json(const char *dir, int64_t num_ids, char **out) {
    char err[ERR_LEN], **names;
    int64_t n;
    *out = NULL;
    if (identifiers_load(dir, &names, &n, err)) return fail("%s", err);
    int rc = 0;
    if (n != num_ids) {
        rc = fail("%s/identifiers.json: %lld names for %lld puzzle identifiers", dir, (long long)n, (long long)num_ids);
    } else {
        cJSON *a = cJSON_CreateArray();
        for (int64_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(names[i]));
        *out = cJSON_PrintUnformatted(a);
        cJSON_Delete(a);
    }
    identifiers_free(names, n);
    return rc;
}

// Where the data came from, for the run record (trm report finds the test puzzles there):
// the --data folder as given, or the generator's split and seed (data null).
static char *run_info_json(const char *data, const char *split, uint64_t data_seed) {
    cJSON *o = cJSON_CreateObject();
    if (data) {
        cJSON_AddStringToObject(o, "data", data);
    } else {
        cJSON_AddNullToObject(o, "data");
        cJSON_AddStringToObject(o, "split", split);
        cJSON_AddNumberToObject(o, "data_seed", (double)data_seed);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static int arc_eval_hook(void *ctx, Model *m, const InferOptions *io, bool test_split, EvalResult *r, char *err) {
    const ArcEvalCtx *a = ctx;
    ArcScore s;
    if (arc_evaluate(m, test_split ? a->test : a->valid, io, a->num_aug, r, &s, NULL, NULL, err)) return -1;
    cJSON_AddNumberToObject(r->extra, "eval_num_aug", a->num_aug);
    arc_score_free(&s);
    return 0;
}

// --resume --keep best: the best weights so far come back from model_best.safetensors.
static int load_best(Trainer *t, const char *out, char *err) {
    char *path = path_join(out, "model_best.safetensors");
    Model b;
    int rc = checkpoint_load(&b, path, NULL, err);
    if (!rc && b.table.n_total != t->m->table.n_total)
        rc = err_set(err, "%s: %zu values, this run's model has %zu", path, b.table.n_total, t->m->table.n_total);
    if (!rc) memcpy(t->best, b.params, sizeof(real) * b.table.n_total);
    if (b.params) model_free(&b);
    free(path);
    return rc;
}

// One run per folder: an exclusive flock(2) on OUT/.lock, held until the process exits
// (the kernel drops it even after kill -9, so a stale file left behind is harmless).
// Returns the descriptor, or -1 after fail().
static int lock_out_dir(const char *out) {
    char *path = path_join(out, ".lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) fail("%s: cannot open: %s", path, strerror(errno));
    else if (flock(fd, LOCK_EX | LOCK_NB)) {
        if (errno == EWOULDBLOCK) fail("%s: another trm train is running in this folder (%s is locked)", out, path);
        else fail("%s: cannot lock: %s", path, strerror(errno));
        close(fd);
        fd = -1;
    } else if (ftruncate(fd, 0) == 0) {
        dprintf(fd, "%ld\n", (long)getpid());   // who holds it, for people; the lock is the flock
    }
    free(path);
    return fd;
}

// A run killed mid-write leaves its temp file (NAME.tmp.PID, st_writer_save and
// write_file_atomic). Under the lock no other run writes here, so every one is stale.
static void remove_stale_temps(const char *out) {
    static const char *const names[] = { "model.safetensors", "model_best.safetensors", "state.safetensors",
                                         "metrics.jsonl" };
    DIR *d = opendir(out);
    struct dirent *e;
    while (d && (e = readdir(d)))
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
            size_t k = strlen(names[i]);
            if (strncmp(e->d_name, names[i], k) || strncmp(e->d_name + k, ".tmp.", 5)) continue;
            char *path = path_join(out, e->d_name);
            unlink(path);
            free(path);
        }
    if (d) closedir(d);
}

// SIGINT / SIGTERM: train_run saves at the next step boundary. The default action comes
// back, so a second signal ends the process at once.
static void on_stop_signal(int sig) {
    train_stop_signal = sig;
    signal(sig, SIG_DFL);
}

static void catch_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cmd_train(int argc, char **argv) {
    const char *task_name = "nqueens", *data = NULL, *method = "dis", *preset = "compact", *out = NULL;
    const char *opt = NULL, *targets = "linear", *feed = "input", *split = "paper", *loss = "stablemax";
    const char *mixer = NULL, *answer = "stored", *precision = "fp32", *until = NULL, *keep = "last";
    uint64_t seed = 0, data_seed = 42;
    long patience = 0;
    int batch = 0, threads = 0, N_sup = 0, T = 0, n = 0, eval_num_aug = -1;
    long steps = 0, eval_every = 0, warmup = -1, log_every = 20, direct_steps = 0, skip_nonfinite = 0;
    double minutes = 0, epochs = 0, lr = 0, wd = -1, beta2 = 0.95, puzzle_lr = -1, puzzle_wd = -1, ema = -1;
    double min_ratio = 1.0, explore = 0.1;
    bool resume = false, step_weights = false, quiet = false;
    ArgSpec spec[] = {
        { "task", ARG_STR, &task_name, "task: nqueens | arc | sudoku | maze (maze-N: N x N mazes; maze picks N from --data)", 0, 0 },
        { "data", ARG_STR, &data, "data directory: train.txt and test.txt, or the official layout (trm data; "
                                  "required for arc; nqueens default: generate)", 0, 0 },
        { "split", ARG_STR, &split, "when generating: paper | dedup", 0, 0 },
        { "data-seed", ARG_U64, &data_seed, "when generating: the generator's seed", 0, 0 },
        { "method", ARG_STR, &method, "dis | trm", 0, 0 },
        { "preset", ARG_STR, &preset, "compact (d 256, 1 layer) | medium (d 512, 2 layers)", 0, 0 },
        { "mixer", ARG_STR, &mixer, "token mixing: attention | mlp (MLP over the sequence, TRM's mlp_t; default: sudoku mlp, else attention)", 0, 0 },
        { "N-sup", ARG_INT, &N_sup, "supervision steps (default: 6 for dis, 16 for trm)", 0, 1024 },
        { "T", ARG_INT, &T, "cycles per step (default: 1 for dis, 3 for trm)", 0, 64 },
        { "n", ARG_INT, &n, "latent updates per cycle (default: 2 for dis; 6 for trm, 4 on arc and maze)", 0, 64 },
        { "out", ARG_STR, &out, "run directory: model.safetensors, state.safetensors, metrics.jsonl", 0, 0 },
        { "batch", ARG_INT, &batch, "examples per batch (default: nqueens 128, arc, sudoku, maze 768)", 1, 65536 },
        { "steps", ARG_LONG, &steps, "stop after this many optimizer steps (0: no limit)", 0, 1e12 },
        { "epochs", ARG_DOUBLE, &epochs, "stop after this many passes over the training rows", 0, 1e9 },
        { "minutes", ARG_DOUBLE, &minutes, "stop after this much training time", 0, 1e7 },
        { "opt", ARG_STR, &opt, "adamw | adam-atan2 (default: nqueens adamw, else adam-atan2)", 0, 0 },
        { "lr", ARG_DOUBLE, &lr, "learning rate after warm-up (default: nqueens 1e-3, else 1e-4)", 0, 10 },
        { "wd", ARG_DOUBLE, &wd, "decoupled weight decay (default: sudoku, maze 1.0, else 0.1)", 0, 100 },
        { "beta2", ARG_DOUBLE, &beta2, "second-moment decay (beta1 is 0.9)", 0, 1 },
        { "warmup", ARG_LONG, &warmup, "linear warm-up steps (default: nqueens 100, else 2000)", 0, 1e12 },
        { "min-ratio", ARG_DOUBLE, &min_ratio, "cosine decay to lr*min-ratio over the run (--steps, --epochs or "
                                               "--minutes; 1: constant)", 0, 1 },
        { "puzzle-lr", ARG_DOUBLE, &puzzle_lr, "sign-SGD learning rate of the puzzle embedding, same warm-up (default: sudoku, maze 1e-4, else 1e-2)", 0, 10 },
        { "puzzle-wd", ARG_DOUBLE, &puzzle_wd, "decoupled weight decay of the puzzle embedding rows (default: sudoku, maze 1.0, else 0.1)", 0, 100 },
        { "ema", ARG_DOUBLE, &ema, "EMA rate of the weights (0: off; default: nqueens 0, else 0.999 as official)", 0, 1 },
        { "loss", ARG_STR, &loss, "stablemax (official) | softmax cross-entropy", 0, 0 },
        { "targets", ARG_STR, &targets, "DIS targets: linear | mask | replace | answer (control) | solver (sudoku, maze: the cells in a solver's order)", 0, 0 },
        { "feed", ARG_STR, &feed, "DIS tokens at steps t > 1: input | pred", 0, 0 },
        { "answer", ARG_STR, &answer, "target answer: stored | closest (the correct answer the model finds most likely)", 0, 0 },
        { "step-weights", ARG_FLAG, &step_weights, "DIS: linearly increasing step weights", 0, 0 },
        { "direct-steps", ARG_LONG, &direct_steps, "DIS: first train step 1 alone toward the answer, this many steps", 0, 1e12 },
        { "explore", ARG_DOUBLE, &explore, "TRM: halting exploration probability", 0, 1 },
        { "eval-every", ARG_LONG, &eval_every, "optimizer steps between evaluations and checkpoints", 0, 1e12 },
        { "until", ARG_STR, &until, "stop once the validation metric reaches a value: valid=0.95, exact=0.7 "
                                    "(arc: pass@2=0.3)", 0, 0 },
        { "patience", ARG_LONG, &patience, "stop after this many evaluations without a better validation metric", 0, 1e12 },
        { "keep", ARG_STR, &keep, "last | best: also keep model_best.safetensors (best on validation) and "
                                  "evaluate it on the test set", 0, 0 },
        { "eval-num-aug", ARG_INT, &eval_num_aug, "arc: vote over the original and this many copies per task (-1: all)", -1, 1e9 },
        { "log-every", ARG_LONG, &log_every, "optimizer steps between metric lines", 1, 1e12 },
        { "seed", ARG_U64, &seed, "seed of the initialisation and data order", 0, 0 },
        { "precision", ARG_STR, &precision, PRECISION_HELP, 0, 0 },
        { "threads", ARG_INT, &threads, "threads (0: all cores)", 0, 1024 },
        { "resume", ARG_FLAG, &resume, "continue from OUT/state.safetensors", 0, 0 },
        { "quiet", ARG_FLAG, &quiet, "no progress line", 0, 0 },
        { "skip-nonfinite", ARG_LONG, &skip_nonfinite, "skip up to this many optimizer steps with a NaN or inf loss "
                                                       "or gradient (default 0: the first stops the run)", 0, 1e12 },
    };
    int rc = parse_or_help(argc, argv, "usage: trm train --task nqueens|arc|sudoku|maze [--data DIR] --method dis|trm --preset compact --out DIR [options]",
                           spec, sizeof spec / sizeof *spec);
    if (rc) return rc;
    char err[ERR_LEN];
    const Task *task = task_find(task_name);
    if (!task) return fail("unknown task '%s'", task_name);
    if (!out) return fail("--out DIR is required");
    TaskDefaults td = task_defaults(task);
    if (!opt) opt = td.opt;
    if (lr <= 0) lr = td.lr;
    if (ema < 0) ema = td.ema;
    if (warmup < 0) warmup = td.warmup;
    if (!batch) batch = td.batch;
    if (wd < 0) wd = td.wd;
    if (puzzle_lr < 0) puzzle_lr = td.puzzle_lr;
    if (puzzle_wd < 0) puzzle_wd = td.puzzle_wd;
    if (!mixer) mixer = td.mixer;
    if (!n && !strcmp(method, "trm")) n = td.trm_n;
    TrainOptions o;
    train_defaults(&o, !strcmp(method, "trm") ? METHOD_TRM : METHOD_DIS);
    if (strcmp(method, "dis") && strcmp(method, "trm")) return fail("--method: '%s' (expected dis or trm)", method);
    if (!strcmp(opt, "adamw")) o.opt.kind = OPT_ADAMW;
    else if (!strcmp(opt, "adam-atan2")) o.opt.kind = OPT_ADAM_ATAN2;
    else return fail("--opt: '%s' (expected adamw or adam-atan2)", opt);
    if (target_kind_parse(targets, &o.targets)) return fail("--targets: '%s' (expected linear, mask, replace, answer or solver)", targets);
    if (o.targets == TARGETS_SOLVER && !task->solver_order)
        return fail("--targets solver: task %s has no solver (sudoku and maze have)", task->name);
    if (feed_parse(feed, &o.feed)) return fail("--feed: '%s' (expected input or pred)", feed);
    if (!strcmp(answer, "closest")) o.answer = ANSWER_CLOSEST;
    else if (strcmp(answer, "stored")) return fail("--answer: '%s' (expected stored or closest)", answer);
    if (o.answer == ANSWER_CLOSEST && !task->completions)
        return fail("--answer closest: task %s does not list its correct answers", task->name);
    if (set_precision(precision)) return 1;
    if (!steps && epochs <= 0 && minutes <= 0) return fail("give a budget: --steps, --epochs or --minutes");
    o.batch = batch; o.max_steps = steps; o.epochs = epochs; o.minutes = minutes;
    o.opt.lr = lr; o.opt.wd = wd; o.opt.beta2 = beta2; o.warmup = warmup; o.min_ratio = min_ratio;
    o.schedule_steps = steps; o.puzzle_lr = puzzle_lr; o.puzzle_wd = puzzle_wd; o.ema = ema; o.step_weights = step_weights; o.direct_steps = direct_steps;
    o.explore = explore; o.eval_every = eval_every; o.log_every = log_every; o.seed = seed;
    o.out_dir = out; o.quiet = quiet; o.skip_nonfinite = skip_nonfinite;
    // Test hook (tests/test_train_safety.sh): a NaN gradient at this optimizer step.
    const char *poison = getenv("TRM_TEST_POISON_STEP");
    if (poison) o.poison_step = atol(poison);
    o.metric = task->check ? "valid" : !strcmp(task->name, "arc") ? "pass@2" : "exact";
    o.patience = patience;
    if (strcmp(keep, "last") && strcmp(keep, "best")) return fail("--keep: '%s' (expected last or best)", keep);
    o.keep_best = !strcmp(keep, "best");
    if (until) {   // METRIC=VALUE
        static char name[32];
        const char *eq = strchr(until, '=');
        char *end = NULL;
        double v = eq ? strtod(eq + 1, &end) : 0;
        size_t len = eq ? (size_t)(eq - until) : 0;
        if (!eq || len == 0 || len >= sizeof name || end == eq + 1 || *end || v <= 0 || v > 1)
            return fail("--until: '%s' (expected METRIC=VALUE with VALUE in (0, 1], e.g. valid=0.95)", until);
        memcpy(name, until, len);
        name[len] = 0;
        bool known = !strcmp(name, "valid") || !strcmp(name, "exact") || !strcmp(name, "token_accuracy") ||
                     !strncmp(name, "pass@", 5);
        if (!known) return fail("--until: unknown metric '%s' (valid, exact, token_accuracy, pass@2)", name);
        o.metric = name;
        o.until = v;
    }
    set_threads(threads);

    Dataset train = {0}, test = {0}, valid = {0};
    DatasetMeta meta = { .seq_len = task->seq_len, .num_puzzle_identifiers = 1 };
    ArcEvalData arc = {0}, arc_valid = {0};
    if (data && dataset_dir_exists(data, "train")) {
        if (load_official(&task, data, &train, &test, &arc, &arc_valid, &meta, err)) rc = fail("%s", err);
        DatasetMeta vm;
        if (!rc && !arc.rows.n && dataset_dir_exists(data, "valid") && dataset_dir_load(data, "valid", &valid, &vm, err))
            rc = fail("%s", err);
    } else if (!task->seq_len) {
        rc = fail("task %s needs --data DIR in the official layout (trm data %s ... --out DIR)", task->name, task->name);
    } else if (data) {
        char vpath[4096];
        snprintf(vpath, sizeof vpath, "%s/valid.txt", data);
        if (load_split(task, data, "train.txt", &train, err) || load_split(task, data, "test.txt", &test, err) ||
            (!access(vpath, F_OK) && load_split(task, data, "valid.txt", &valid, err)))
            rc = fail("%s", err);
    } else if (!strcmp(task->name, "nqueens")) {
        if (nq_build(split, data_seed, true, &train, &test, err) || nq_build_valid(data_seed, &train, &test, &valid, err))
            rc = fail("%s", err);
    } else {
        rc = fail("task %s needs --data DIR", task->name);
    }
    char *ids_json = NULL;
    if (!rc && data && !strcmp(task->name, "arc")) rc = identifiers_json(data, meta.num_puzzle_identifiers, &ids_json);
    o.identifiers_json = ids_json;
    char *run_info = run_info_json(data, split, data_seed);
    o.run_info_json = run_info;
    ArcEvalCtx arc_ctx = { &arc, &arc_valid, eval_num_aug };
    if (arc_valid.rows.n) valid = arc_valid.rows;     // borrowed: freed with arc_valid
    if (arc.rows.n) {
        o.eval_fn = arc_eval_hook;
        o.eval_ctx = &arc_ctx;
    }
    TRMConfig c;
    if (!rc && cfg_preset(&c, preset, method, task->vocab, meta.seq_len, (int)meta.num_puzzle_identifiers, err))
        rc = fail("%s", err);
    if (!rc) {
        if (N_sup) c.N_sup = N_sup;
        if (T) c.T = T;
        if (n) c.n = n;
        rc = set_mixer(&c, mixer);
        if (!strcmp(loss, "softmax")) c.loss = LOSS_SOFTMAX;
        else if (!rc && strcmp(loss, "stablemax")) rc = fail("--loss: '%s' (expected stablemax or softmax)", loss);
        if (!rc && cfg_validate(&c, err)) rc = fail("%s", err);
    }
    char state[4096];
    snprintf(state, sizeof state, "%s/state.safetensors", out);
    if (!rc && resume && access(state, F_OK)) rc = fail("%s: cannot open: %s", state, strerror(errno));
    if (!rc && (o.until > 0 || o.patience > 0 || o.keep_best) && !valid.n)
        rc = fail("--until, --patience and --keep best select on a validation split, and %s has none (trm data "
                  "writes one)", data ? data : "the data");
    if (!rc) rc = make_out_dir(out);
    int lock = rc ? -1 : lock_out_dir(out);
    if (lock < 0) rc = 1;
    else remove_stale_temps(out);
    if (rc) {
        free(ids_json);
        free(run_info);
        dataset_free(&train);
        dataset_free(&test);
        if (!arc_valid.rows.n) dataset_free(&valid);
        arc_eval_data_free(&arc);
        arc_eval_data_free(&arc_valid);
        return rc;
    }
    Model m;
    model_create(&m, &c, seed);
    Trainer t;
    trainer_init(&t, &m, task, &train, &o);
    if (resume && trainer_load_state(&t, state, err)) rc = fail("%s", err);
    if (!rc && resume && t.best && t.best_step > 0 && load_best(&t, out, err)) rc = fail("%s", err);
    if (!rc) {
        if (!quiet)
            fprintf(stderr, "train: %s-%s on %s, %zu parameters, %lld training rows in %lld groups, %lld test, "
                    "%d puzzle ids, batch %d, %ld calls/puzzle\n", method, preset, task->name, m.table.n_dense,
                    (long long)train.n, (long long)train.num_groups, (long long)(test.n + arc.rows.n),
                    c.num_puzzle_ids, batch, cfg_calls_per_puzzle(&c));
        EvalResult r;
        catch_stop_signals();
        int tr = train_run(&t, &valid, &test, &r, err);
        if (tr == TRAIN_INTERRUPTED) {
            int sig = train_stop_signal;
            fprintf(stderr, "train: stopped by %s at step %ld: %s/model.safetensors and state.safetensors saved; "
                    "--resume continues\n", sig == SIGINT ? "SIGINT" : "SIGTERM", t.step, out);
            rc = 128 + sig;    // the shell's status for a death by that signal, but after a clean save
        } else if (tr) rc = fail("%s", err);
        else if (r.n) {
            cJSON *j = eval_result_json(&r);
            char *s = cJSON_Print(j);
            printf("%s\n", s);
            free(s);
            cJSON_Delete(j);
        }
        eval_result_free(&r);
    }
    trainer_free(&t);
    model_free(&m);
    close(lock);
    free(ids_json);
    free(run_info);
    dataset_free(&train);
    dataset_free(&test);
    if (!arc_valid.rows.n) dataset_free(&valid);
    arc_eval_data_free(&arc);
    arc_eval_data_free(&arc_valid);
    return rc;
}
