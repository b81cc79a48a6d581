// cli.h: the commands of the trm binary and the helpers they share.
#ifndef TRM_CLI_H
#define TRM_CLI_H

#include "args.h"
#include "eval/eval.h"
#include "nn/model.h"
#include "tasks/task.h"

int cmd_info(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_solve(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_report(int argc, char **argv);

// Print "trm: error: <msg>" and return 1 (for `return fail(...)` in commands).
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// Parse options or print help; returns 0 to go on, 1 on error, 2 after --help.
int parse_or_help(int argc, char **argv, const char *usage, const ArgSpec *spec, int n);
// Create the output directory DIR and its parents (existing ones are fine); 0, or 1 after fail().
int make_out_dir(const char *dir);
// Fail early (0, or 1 after fail()) when an output file could not be written: its
// directory is missing or not writable, or a directory stands at the path.
int check_out_path(const char *path);
// --mixer attention|mlp on a config (mlp = TRM's mlp_t); 0, or 1 after fail().
int set_mixer(TRMConfig *c, const char *mixer);
// --precision fp32|bf16: the precision of the matrix products; 0, or 1 after fail()
// (a bad name, or bf16 on a CPU without AVX512-BF16).
int set_precision(const char *precision);
#define PRECISION_HELP "matrix products: fp32 | bf16 (operands rounded to bf16, fp32 sums; AVX512-BF16) | " \
                       "auto (bf16 where the CPU has AVX512-BF16, else fp32)"
// Use this many threads for OpenMP and BLAS (0 = the machine's cores).
void set_threads(int threads);

// A trained model with its task, the inference settings it was trained with and the
// names of its puzzle-embedding rows (train_state.identifiers; NULL in older files).
typedef struct {
    Model m;
    const Task *task;
    FeedKind feed;
    char **names;
    int64_t num_names;
} LoadedModel;
int load_model(LoadedModel *lm, const char *path, char *err);
// Does a model of this shape fit task t (its vocabulary, and its length when it fixes one)?
bool task_fits(const Task *t, const TRMConfig *c);
// The task a model of this shape belongs to when its file names none (a PyTorch
// checkpoint), or NULL; the rule is in trm.c.
const Task *task_infer(const TRMConfig *c);
void unload_model(LoadedModel *lm);

// The options of every command that runs a model (model, batch, guidance, feed, precision,
// threads), for an ArgSpec table; `feed` must be a const char * in scope.
#define INFER_OPTIONS(model, io, threads, precision)                                           \
    { "model", ARG_STR, &model, "model file (model.safetensors of a run, or a torch.save checkpoint)", 0, 0 }, \
    { "batch", ARG_INT, &io.batch, "puzzles per batch", 1, 65536 },                             \
    { "guidance", ARG_DOUBLE, &io.guidance, "w of paper Eq. 16 (1 = the plain model)", -100, 100 }, \
    { "feed", ARG_STR, &feed, "tokens at steps t > 1: input | pred (default: as trained)", 0, 0 }, \
    { "precision", ARG_STR, &precision, PRECISION_HELP, 0, 0 },                                 \
    { "threads", ARG_INT, &threads, "threads (0: all cores)", 0, 1024 }


// Their set-up: precision, threads, the model, its inference settings (io), and the text
// data file when one is given. 0, or 1 after fail() with nothing left allocated.
int infer_setup(LoadedModel *lm, InferOptions *io, const char *model, const char *feed, int threads,
                const char *precision, const char *data, Dataset *ds);

#endif
