// train.c: the DIS and TRM training loops, their optimizer step, progress, metrics,
// evaluation and checkpoints.
#include "train.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "nn/ops.h"
#include "nn/loss.h"
#include "version.h"

void train_defaults(TrainOptions *o, Method method) {
    memset(o, 0, sizeof *o);
    o->method = method;
    o->batch = 128;
    o->opt = (OptConfig){ OPT_ADAMW, 1e-3, 0.1, 0.9, 0.95, 1e-8 };
    o->puzzle_lr = 1e-2;
    o->puzzle_wd = 0.1;
    o->warmup = 100;
    o->min_ratio = 1.0;
    o->targets = TARGETS_LINEAR;
    o->feed = FEED_INPUT;
    o->explore = 0.1;
    o->log_every = 20;
    o->seed = 0;
}

void trainer_init(Trainer *t, Model *m, const Task *task, const Dataset *train, const TrainOptions *o) {
    memset(t, 0, sizeof *t);
    t->m = m;
    t->task = task;
    t->train = train;
    t->o = *o;
    int B = o->batch, L = m->cfg.seq_len, V = m->cfg.vocab;
    size_t nd = m->table.n_dense;
    model_plan(m, B, true);
    m->frozen = o->freeze_net;
    t->adam_m = xcalloc(nd, sizeof(real));
    t->adam_v = xcalloc(nd, sizeof(real));
    if (o->ema > 0) {
        t->ema = xmalloc(nd * sizeof(real));
        memcpy(t->ema, m->params, nd * sizeof(real));
    }
    rng_seed(&t->rng, o->seed);
    int G = (int)train->num_groups;
    t->perm = xmalloc(sizeof(int) * (size_t)MAX(G, 1));
    for (int i = 0; i < G; i++) t->perm[i] = i;
    rng_shuffle_int(&t->rng, t->perm, G);
    for (int64_t q = 0; q < train->num_puzzles; q++)
        t->queue_cap = MAX(t->queue_cap, train->puzzle_index[q + 1] - train->puzzle_index[q]);
    t->queue = xcalloc((size_t)MAX(t->queue_cap, 1), sizeof(int32_t));
    t->carry = carry_new(m, B);
    size_t BL = (size_t)B * L;
    t->input = xcalloc(BL, sizeof(int32_t));
    t->label = xcalloc(BL, sizeof(int32_t));
    t->tokens = xcalloc(BL, sizeof(int32_t));
    t->target = xcalloc(BL, sizeof(int32_t));
    t->pred = xcalloc(BL, sizeof(int32_t));
    t->ids = xcalloc(B, sizeof(int32_t));
    t->paths = xcalloc(B, sizeof(TargetPath));
    for (int b = 0; b < B; b++) {
        t->paths[b].rank = xcalloc(L, sizeof(int));
        t->paths[b].u = xcalloc(L, sizeof(float));
        t->paths[b].tok = xcalloc(L, sizeof(int));
    }
    t->dlogits = xcalloc(BL * V, sizeof(real));
    t->dq = xcalloc(2 * (size_t)B, sizeof(real));
    t->correct = xcalloc(B, 1);
    t->row_steps = xcalloc(B, sizeof(int));
    t->min_halt = xcalloc(B, sizeof(int));
    t->halted = xmalloc(B);
    memset(t->halted, 1, B);           // every row takes an example at the first step
    t->step_loss = xcalloc(m->cfg.N_sup, sizeof(double));
    t->step_count = xcalloc(m->cfg.N_sup, sizeof(long));
    t->best_metric = -1;
    if (o->keep_best) t->best = xmalloc(sizeof(real) * m->table.n_total);
    if (o->answer == ANSWER_CLOSEST && task->completions) {
        t->answers = xmalloc((size_t)task->max_completions * L);
        t->logp = xmalloc(sizeof(double) * L * V);
    }
}

void trainer_free(Trainer *t) {
    t->m->frozen = false;
    for (int b = 0; b < t->o.batch; b++) {
        free(t->paths[b].rank); free(t->paths[b].u); free(t->paths[b].tok);
    }
    free(t->paths);
    free(t->adam_m); free(t->adam_v); free(t->ema); free(t->perm); free(t->queue);
    free(t->input); free(t->label); free(t->tokens); free(t->target); free(t->pred); free(t->ids);
    free(t->dlogits); free(t->dq); free(t->correct); free(t->row_steps); free(t->min_halt); free(t->halted);
    free(t->answers); free(t->logp); free(t->best); free(t->step_loss); free(t->step_count);
    carry_free(&t->carry);
    memset(t, 0, sizeof *t);
}

// ---------------------------------------------------------------------------------------
// Data, as the official sampler (puzzle_dataset.py): a fresh permutation of the groups
// per epoch; from each group one puzzle (an augmented copy) at random, then its examples
// in random order. Label 0 (PAD) becomes "no target". Groups and puzzles of one member
// draw nothing, so text data sets (one example per group) see a plain permutation.

static void next_puzzle(Trainer *t) {
    const Dataset *d = t->train;
    if (t->cursor == d->num_groups) {
        t->cursor = 0;
        t->epoch++;
        rng_shuffle_int(&t->rng, t->perm, (int)d->num_groups);
    }
    int g = t->perm[t->cursor++];
    int32_t p0 = d->group_index[g], np = d->group_index[g + 1] - p0;
    int32_t p = np > 1 ? p0 + (int32_t)rng_below(&t->rng, (uint32_t)np) : p0;
    int32_t e0 = d->puzzle_index[p];
    t->queue_len = d->puzzle_index[p + 1] - e0;
    t->queue_pos = 0;
    for (int i = 0; i < t->queue_len; i++) t->queue[i] = e0 + i;
    rng_shuffle_int(&t->rng, t->queue, t->queue_len);
}

int64_t trainer_next_row(Trainer *t) {
    while (t->queue_pos == t->queue_len) next_puzzle(t);   // a puzzle may have no examples
    return t->queue[t->queue_pos++];
}

// Passes over the groups so far, with the fraction of the current one.
static double epochs_done(const Trainer *t) {
    return t->epoch + (double)t->cursor / (double)MAX(t->train->num_groups, 1);
}

static void load_row(Trainer *t, int b, int64_t idx) {
    int L = t->m->cfg.seq_len;
    const uint8_t *in = t->train->inputs + (size_t)idx * L, *lab = t->train->labels + (size_t)idx * L;
    for (int i = 0; i < L; i++) {
        t->input[b * L + i] = in[i];
        t->label[b * L + i] = lab[i] ? lab[i] : IGNORE_LABEL;
    }
    t->ids[b] = t->train->puzzle_ids ? t->train->puzzle_ids[idx] : 0;
    t->examples++;
}

// --answer closest: replace each row's label by the correct answer with the highest
// log-likelihood under the current logits (the "one of many" objective: the loss of the
// nearest solution). Rows with a single answer keep their label.
static void choose_answers(Trainer *t, const real *logits) {
    if (!t->answers) return;
    const TRMConfig *c = &t->m->cfg;
    int L = c->seq_len, V = c->vocab, max = t->task->max_completions;
    uint8_t *input = xmalloc(L);
    for (int b = 0; b < t->o.batch; b++) {
        for (int i = 0; i < L; i++) input[i] = (uint8_t)t->input[b * L + i];
        int n = MIN(t->task->completions(input, t->answers, max), max);
        if (n < 2) continue;
        int k = answer_closest(c->loss, logits + (size_t)b * L * V, t->answers, n, L, V, t->logp);
        for (int i = 0; i < L; i++) {
            uint8_t y = t->answers[(size_t)k * L + i];
            t->label[b * L + i] = y ? y : IGNORE_LABEL;
        }
    }
    free(input);
}

// ---------------------------------------------------------------------------------------
// One optimizer step: AdamATan2/AdamW on the dense parameters, sign-SGD on the puzzle
// rows of the batch, EMA. The step counter is incremented before use, as the official loop.

// The length of the cosine schedule (it only matters when min_ratio < 1): --steps when
// given; else the optimizer steps --epochs takes (the official total_steps, groups x mean
// examples per puzzle / batch per epoch, times N_sup optimizer steps per DIS batch); else,
// with only --minutes, the steps the run reaches at its rate so far, so the decay follows
// the clock. (Without this, progress divided by max(1, 0 - warmup) made the cosine
// alternate between two rates on successive steps.)
static long schedule_total(const Trainer *t) {
    const TrainOptions *o = &t->o;
    if (o->schedule_steps > 0) return o->schedule_steps;
    const Dataset *d = t->train;
    double per_step = (double)o->batch / (o->method == METHOD_DIS ? t->m->cfg.N_sup : 1);
    if (o->epochs > 0 && d->num_puzzles > 0)
        return (long)ceil(o->epochs * d->num_groups * ((double)d->n / d->num_puzzles) / per_step);
    if (o->minutes > 0 && t->elapsed > 0) return (long)(t->step * (o->minutes * 60 / t->elapsed));
    return t->step;
}

double trainer_lr(const Trainer *t, double base) {
    return lr_at(t->step, base, t->o.warmup, schedule_total(t), t->o.min_ratio);
}

// ---------------------------------------------------------------------------------------
// Divergence guard: one pass over the gradients per optimizer step (x * 0 is 0 for a
// finite x and NaN otherwise, so one branch-free sum says whether a tensor is finite),
// cheap next to the forward and backward passes.

volatile sig_atomic_t train_stop_signal;

static bool all_finite(const real *x, size_t n) {
    double z = 0;
    for (size_t i = 0; i < n; i++) z += (double)x[i] * 0.0;
    return z == 0;
}

// The name of the first tensor whose gradient holds a NaN or inf, or NULL.
static const char *nonfinite_grad(const Trainer *t) {
    const Model *m = t->m;
    const ParamTable *pt = &m->table;
    for (int i = 0; i < pt->count; i++) {
        const ParamSpec *p = &pt->spec[i];
        if (p->kind == PARAM_DENSE && !all_finite(m->grads + p->offset, p->numel)) return p->name;
        if (p->kind == PARAM_PUZZLE && m->p.puzzle &&
            !all_finite(m->puzzle_grad, (size_t)t->carry.B * m->cfg.hidden)) return p->name;
    }
    return NULL;
}

// Before optimizer step t->step + 1: true to apply it. A non-finite loss or gradient is
// skipped while --skip-nonfinite allows, else it stops the run (t->diverged); either
// way the bad update never reaches the weights.
static bool guard_step(Trainer *t, double loss) {
    if (t->o.poison_step && !t->poisoned && t->step + 1 == t->o.poison_step) {
        t->m->grads[0] = NAN;
        t->poisoned = true;
    }
    char what[160];
    const char *name = isfinite(loss) ? nonfinite_grad(t) : NULL;
    if (isfinite(loss) && !name) return true;
    if (name) snprintf(what, sizeof what, "non-finite gradient in '%s'", name);
    else snprintf(what, sizeof what, "non-finite loss (%g)", loss);
    if (t->skipped_nonfinite < t->o.skip_nonfinite) {
        t->skipped_nonfinite++;
        fprintf(stderr, "train: step %ld: %s; step skipped (%ld of --skip-nonfinite %ld)\n", t->step + 1, what,
                t->skipped_nonfinite, t->o.skip_nonfinite);
        return false;
    }
    err_set(t->diverged, "step %ld: %s; stopped before applying it, the last checkpoint kept (%ld step%s skipped; "
            "--skip-nonfinite N skips such steps)", t->step + 1, what, t->skipped_nonfinite,
            t->skipped_nonfinite == 1 ? "" : "s");
    return false;
}

static void optimizer_step(Trainer *t) {
    Model *m = t->m;
    const TrainOptions *o = &t->o;
    t->step++;
    double lr = trainer_lr(t, o->opt.lr);
    if (!o->freeze_net) opt_step(&o->opt, m->params, m->grads, t->adam_m, t->adam_v, m->table.n_dense, lr, t->step);
    if (m->p.puzzle) {
        double plr = trainer_lr(t, o->puzzle_lr);
        sign_sgd_rows(m->p.puzzle, m->cfg.num_puzzle_ids, m->cfg.hidden, t->ids, m->puzzle_grad,
                      t->carry.B, plr, o->puzzle_wd);
    }
    if (t->ema) ema_update(t->ema, m->params, m->table.n_dense, o->ema);
}

static void record(Trainer *t, double loss, const LmLossStats *final, int B) {
    t->acc.loss += loss;
    t->acc.n++;
    if (final) {
        t->acc.acc += final->acc_sum / B;
        t->acc.exact += (double)final->rows_correct / B;
    }
}

// DIS: one batch, N_sup supervision steps, each its own optimizer step.
static void dis_batch(Trainer *t) {
    Model *m = t->m;
    const TRMConfig *c = &m->cfg;
    int B = t->o.batch, L = c->seq_len, V = c->vocab, N = c->N_sup;
    for (int b = 0; b < B; b++) load_row(t, b, trainer_next_row(t));
    t->queue_pos = t->queue_len;     // as the official batches: a puzzle cut by the batch end ends there
    carry_reset(m, &t->carry, NULL);
    memcpy(t->tokens, t->input, sizeof(int32_t) * B * L);
    // Direct warm-up: a puzzle costs one supervision step instead of N, and learning here
    // tracks the number of puzzles seen (docs/results.md), so the first steps train step 1
    // alone toward the answer. (In our runs the DIS schedule that follows erased what step 1
    // had learned: its frame-1 target asks for the input again.)
    bool direct = t->step < t->o.direct_steps;
    if (direct) N = 1;
    for (int s = 1; s <= N; s++) {
        model_zero_grad(m);
        model_forward(m, &t->carry, t->tokens, t->ids, s, true);
        if (s == 1) {   // the answer, then the path toward it, are fixed at the first step
            choose_answers(t, m->logits);
            for (int b = 0; b < B; b++)
                if (t->o.targets == TARGETS_SOLVER)
                    target_path_solver(&t->paths[b], t->task, t->input + b * L, t->label + b * L, L);
                else
                    target_path_draw(&t->paths[b], &t->rng, t->input + b * L, t->label + b * L, L, V);
        }
        for (int b = 0; b < B; b++)
            target_frame(t->target + b * L, direct ? TARGETS_ANSWER : t->o.targets, &t->paths[b],
                         t->input + b * L, t->label + b * L, L, s, N);
        double w = t->o.step_weights ? 2.0 * s / (N + 1) : 1.0;
        LmLossStats ls = lm_loss(c->loss, m->logits, t->target, B, L, V, w / B, t->dlogits, NULL);
        model_backward(m, t->dlogits, NULL);
        if (!guard_step(t, ls.loss)) break;    // the carry may be poisoned: drop the rest of the batch
        optimizer_step(t);
        t->step_loss[s - 1] += ls.loss / B;
        t->step_count[s - 1]++;
        argmax_rows(t->pred, m->logits, B * L, V);
        if (t->o.feed == FEED_PRED) memcpy(t->tokens, t->pred, sizeof(int32_t) * B * L);
        if (s == N) {
            LmLossStats fin = lm_loss(c->loss, m->logits, t->label, B, L, V, 0, NULL, NULL);
            record(t, ls.loss / B, &fin, B);
            t->acc.last_step_loss += ls.loss / B;
            t->acc.n_final++;
        } else {
            record(t, ls.loss / B, NULL, B);
        }
    }
}

// TRM: one optimizer step of the streaming carry with Q-head halting.
static void trm_step(Trainer *t) {
    Model *m = t->m;
    const TRMConfig *c = &m->cfg;
    int B = t->o.batch, L = c->seq_len, V = c->vocab, N = c->N_sup;
    for (int b = 0; b < B; b++)
        if (t->halted[b]) {
            load_row(t, b, trainer_next_row(t));
            t->row_steps[b] = 0;
        }
    carry_reset(m, &t->carry, t->halted);
    model_zero_grad(m);
    model_forward(m, &t->carry, t->input, t->ids, 1, true);
    choose_answers(t, m->logits);
    LmLossStats ls = lm_loss(c->loss, m->logits, t->label, B, L, V, 1.0 / B, t->dlogits, t->correct);
    double q = bce_logits(m->q, 2, t->correct, B, 0.5 / B, t->dq);
    for (int b = 0; b < B; b++) t->dq[b * 2 + 1] = 0;      // no continue loss in TRM
    model_backward(m, t->dlogits, t->dq);
    if (!guard_step(t, ls.loss + 0.5 * q)) {   // the carry may be poisoned: every row starts afresh
        memset(t->halted, 1, B);
        return;
    }
    optimizer_step(t);
    // Rows sit at different supervision steps: each row's loss goes to its own step.
    for (int b = 0; b < B; b++) {
        size_t off = (size_t)b * L;
        t->step_loss[t->row_steps[b]] += lm_loss(c->loss, m->logits + off * V, t->label + off, 1, L, V, 0, NULL, NULL).loss;
        t->step_count[t->row_steps[b]]++;
    }
    // Halting: at N_sup steps, or when q_halt > 0; with probability `explore` a row must
    // first reach a random floor in [2, N_sup].
    int done = 0;
    double exact = 0;
    for (int b = 0; b < B; b++) {
        t->row_steps[b]++;
        bool halt = t->row_steps[b] >= N || m->q[b * 2] > 0;
        int floor_steps = rng_uniform(&t->rng) < t->o.explore ? 2 + (int)rng_below(&t->rng, N - 1) : 0;
        if (N > 1) halt = halt && t->row_steps[b] >= floor_steps;
        t->halted[b] = halt;
        if (halt) {
            done++;
            exact += t->correct[b];
        }
    }
    t->acc.loss += (ls.loss + 0.5 * q) / B;
    t->acc.n++;
    t->acc.n_final++;
    t->acc.last_step_loss += ls.loss / B;
    t->acc.acc += ls.acc_sum / B;
    t->acc.exact += done ? exact / done : 0;
}

void trainer_advance(Trainer *t) {
    if (t->o.method == METHOD_DIS) dis_batch(t);
    else trm_step(t);
}

// ---------------------------------------------------------------------------------------
// State files: everything needed to continue bit for bit.

static const char *method_name(Method m) { return m == METHOD_DIS ? "dis" : "trm"; }
static const char *answer_name(AnswerKind a) { return a == ANSWER_CLOSEST ? "closest" : "stored"; }

int trainer_save_state(const Trainer *t, const char *path, char *err) {
    const Model *m = t->m;
    StWriter *w = st_writer_new();
    int64_t n_all = (int64_t)m->table.n_total, n_dense = (int64_t)m->table.n_dense;
    int64_t n_perm = MAX(t->train->num_groups, 1), n_queue = MAX(t->queue_cap, 1), B = t->o.batch;
    int64_t carry_n = B * cfg_ltot(&m->cfg) * m->cfg.hidden, BL = B * m->cfg.seq_len;
    char meta[1024];
    snprintf(meta, sizeof meta,
             "{\"method\":\"%s\",\"answer\":\"%s\",\"batch\":%d,\"n_train\":%lld,\"n_groups\":%lld,"
             "\"step\":%ld,\"examples\":%ld,\"epoch\":%ld,\"cursor\":%ld,\"queue_len\":%d,\"queue_pos\":%d,"
             "\"elapsed\":%.17g,\"best_metric\":%.17g,\"best_step\":%ld,\"evals_since_best\":%ld,"
             "\"skipped_nonfinite\":%ld,\"rng\":[\"%016" PRIx64 "\",\"%016" PRIx64
             "\",\"%016" PRIx64 "\",\"%016" PRIx64 "\"]}",
             method_name(t->o.method), answer_name(t->o.answer), t->o.batch,
             (long long)t->train->n, (long long)t->train->num_groups, t->step, t->examples,
             t->epoch, t->cursor, t->queue_len, t->queue_pos, t->elapsed, t->best_metric, t->best_step,
             t->evals_since_best, t->skipped_nonfinite, t->rng.s[0], t->rng.s[1], t->rng.s[2], t->rng.s[3]);
    st_writer_meta(w, "train_state", meta);
    st_writer_add_real(w, "params", 1, &n_all, m->params);
    st_writer_add_real(w, "adam.m", 1, &n_dense, t->adam_m);
    st_writer_add_real(w, "adam.v", 1, &n_dense, t->adam_v);
    if (t->ema) st_writer_add_real(w, "ema", 1, &n_dense, t->ema);
    st_writer_add(w, "perm", ST_I32, 1, &n_perm, t->perm);
    st_writer_add(w, "queue", ST_I32, 1, &n_queue, t->queue);
    if (t->o.method == METHOD_TRM) {     // the streaming carry survives optimizer steps
        st_writer_add_real(w, "carry.y", 1, &carry_n, t->carry.y);
        st_writer_add_real(w, "carry.z", 1, &carry_n, t->carry.z);
        st_writer_add(w, "rows.input", ST_I32, 1, &BL, t->input);
        st_writer_add(w, "rows.label", ST_I32, 1, &BL, t->label);
        st_writer_add(w, "rows.ids", ST_I32, 1, &B, t->ids);
        st_writer_add(w, "rows.steps", ST_I32, 1, &B, t->row_steps);
        st_writer_add(w, "rows.halted", ST_U8, 1, &B, t->halted);
    }
    int rc = st_writer_save(w, path, err);
    st_writer_free(w);
    return rc;
}

static int load_real(const SafeTensors *st, const char *name, real *dst, int64_t n, char *err) {
    const StTensor *x = st_find(st, name);
    if (!x) return err_set(err, "%s: missing tensor '%s'", st->path, name);
    return st_to_real(x, dst, n, err);
}

static int load_i32(const SafeTensors *st, const char *name, int32_t *dst, int64_t n, char *err) {
    const StTensor *x = st_find(st, name);
    if (!x) return err_set(err, "%s: missing tensor '%s'", st->path, name);
    return st_to_i32(x, dst, n, err);
}

static int parse_state_json(Trainer *t, const char *path, const char *json, char *err) {
    cJSON *o = cJSON_Parse(json ? json : "");
    int rc = 0;
    const cJSON *method = cJSON_GetObjectItem(o, "method"), *batch = cJSON_GetObjectItem(o, "batch");
    const cJSON *ntrain = cJSON_GetObjectItem(o, "n_train"), *rng = cJSON_GetObjectItem(o, "rng");
    const cJSON *answer = cJSON_GetObjectItem(o, "answer");   // absent in states of older builds
    const char *want = method_name(t->o.method);
    bool complete = cJSON_IsArray(rng) && cJSON_GetArraySize(rng) == 4;
    for (int i = 0; complete && i < 4; i++) complete = cJSON_IsString(cJSON_GetArrayItem(rng, i));
    static const char *const counters[] = { "step", "examples", "epoch", "cursor", "elapsed", "n_groups",
                                            "queue_len", "queue_pos" };
    for (int i = 0; complete && i < 8; i++) complete = cJSON_IsNumber(cJSON_GetObjectItem(o, counters[i]));
    if (!cJSON_IsObject(o) || !cJSON_IsString(method) || !cJSON_IsNumber(batch) || !cJSON_IsNumber(ntrain) ||
        !complete)
        rc = err_set(err, "%s: train_state metadata is missing or malformed (or written by an older build)", path);
    else if (strcmp(method->valuestring, want))
        rc = err_set(err, "%s: state of a %s run, this run is %s", path, method->valuestring, want);
    else if (cJSON_IsString(answer) && strcmp(answer->valuestring, answer_name(t->o.answer)))
        rc = err_set(err, "%s: state written with --answer %s, this run has %s", path, answer->valuestring,
                     answer_name(t->o.answer));
    else if (batch->valueint != t->o.batch)
        rc = err_set(err, "%s: state written with --batch %d, this run has %d", path, batch->valueint, t->o.batch);
    else if (ntrain->valuedouble != (double)t->train->n)
        rc = err_set(err, "%s: state written for %.0f training rows, the data has %lld", path, ntrain->valuedouble,
                     (long long)t->train->n);
    else if (cJSON_GetObjectItem(o, "n_groups")->valuedouble != (double)t->train->num_groups)
        rc = err_set(err, "%s: state written for %.0f groups, the data has %lld", path,
                     cJSON_GetObjectItem(o, "n_groups")->valuedouble, (long long)t->train->num_groups);
    if (!rc) {
        t->step = (long)cJSON_GetObjectItem(o, "step")->valuedouble;
        t->examples = (long)cJSON_GetObjectItem(o, "examples")->valuedouble;
        t->epoch = (long)cJSON_GetObjectItem(o, "epoch")->valuedouble;
        t->cursor = (long)cJSON_GetObjectItem(o, "cursor")->valuedouble;
        t->elapsed = cJSON_GetObjectItem(o, "elapsed")->valuedouble;
        t->queue_len = cJSON_GetObjectItem(o, "queue_len")->valueint;
        t->queue_pos = cJSON_GetObjectItem(o, "queue_pos")->valueint;
        const cJSON *bm = cJSON_GetObjectItem(o, "best_metric"), *bs = cJSON_GetObjectItem(o, "best_step");
        if (cJSON_IsNumber(bm) && cJSON_IsNumber(bs)) t->best_metric = bm->valuedouble, t->best_step = (long)bs->valuedouble;
        // --patience and --skip-nonfinite count on across a resume (absent in older states)
        const cJSON *since = cJSON_GetObjectItem(o, "evals_since_best"), *skipped = cJSON_GetObjectItem(o, "skipped_nonfinite");
        if (cJSON_IsNumber(since)) t->evals_since_best = (long)since->valuedouble;
        if (cJSON_IsNumber(skipped)) t->skipped_nonfinite = (long)skipped->valuedouble;
        if (t->cursor < 0 || t->cursor > t->train->num_groups || t->queue_len < 0 || t->queue_len > t->queue_cap ||
            t->queue_pos < 0 || t->queue_pos > t->queue_len)
            rc = err_set(err, "%s: train_state counters are outside the data", path);
        for (int i = 0; i < 4; i++)
            t->rng.s[i] = strtoull(cJSON_GetArrayItem(rng, i)->valuestring, NULL, 16);
    }
    cJSON_Delete(o);
    return rc;
}

int trainer_load_state(Trainer *t, const char *path, char *err) {
    SafeTensors st;
    if (st_load(&st, path, err)) return -1;
    Model *m = t->m;
    int64_t B = t->o.batch, carry_n = B * cfg_ltot(&m->cfg) * m->cfg.hidden, BL = B * m->cfg.seq_len;
    int rc = parse_state_json(t, path, st_meta(&st, "train_state"), err);
    if (!rc) rc = load_real(&st, "params", m->params, (int64_t)m->table.n_total, err);
    if (!rc) rc = load_real(&st, "adam.m", t->adam_m, (int64_t)m->table.n_dense, err);
    if (!rc) rc = load_real(&st, "adam.v", t->adam_v, (int64_t)m->table.n_dense, err);
    if (!rc && t->ema) rc = load_real(&st, "ema", t->ema, (int64_t)m->table.n_dense, err);
    if (!rc) rc = load_i32(&st, "perm", t->perm, MAX(t->train->num_groups, 1), err);
    if (!rc) rc = load_i32(&st, "queue", t->queue, MAX(t->queue_cap, 1), err);
    if (!rc && t->o.method == METHOD_TRM) {
        int32_t *halted = xmalloc(sizeof(int32_t) * B);
        rc = load_real(&st, "carry.y", t->carry.y, carry_n, err);
        if (!rc) rc = load_real(&st, "carry.z", t->carry.z, carry_n, err);
        if (!rc) rc = load_i32(&st, "rows.input", t->input, BL, err);
        if (!rc) rc = load_i32(&st, "rows.label", t->label, BL, err);
        if (!rc) rc = load_i32(&st, "rows.ids", t->ids, B, err);
        if (!rc) rc = load_i32(&st, "rows.steps", t->row_steps, B, err);
        if (!rc) rc = load_i32(&st, "rows.halted", halted, B, err);
        for (int b = 0; !rc && b < B; b++) t->halted[b] = halted[b] != 0;
        free(halted);
    }
    for (int64_t i = 0; !rc && i < t->train->num_groups; i++)
        if (t->perm[i] < 0 || t->perm[i] >= t->train->num_groups)
            rc = err_set(err, "%s: tensor 'perm' holds a group outside the data", path);
    for (int i = 0; !rc && i < t->queue_len; i++)
        if (t->queue[i] < 0 || t->queue[i] >= t->train->n)
            rc = err_set(err, "%s: tensor 'queue' holds an example outside the data", path);
    if (!rc && t->o.method == METHOD_TRM) {   // the next step embeds these rows as they are
        for (int64_t i = 0; !rc && i < BL; i++)
            if (t->input[i] < 0 || t->input[i] >= m->cfg.vocab)
                rc = err_set(err, "%s: tensor 'rows.input' holds token %d outside the vocabulary", path, t->input[i]);
        for (int64_t b = 0; !rc && b < B; b++)
            if (t->ids[b] < 0 || t->ids[b] >= m->cfg.num_puzzle_ids)
                rc = err_set(err, "%s: tensor 'rows.ids' holds puzzle id %d outside the table", path, t->ids[b]);
    }
    st_free(&st);
    return rc;
}

// ---------------------------------------------------------------------------------------
// The run


// One record a line, appended whole and fsynced. The first failure (a full disk) is kept
// in t->io_error and stops the run at the next step boundary.
static void append_jsonl(Trainer *t, cJSON *obj) {
    if (!t->o.out_dir || t->io_error[0]) return;
    char *path = path_join(t->o.out_dir, "metrics.jsonl"), *s = cJSON_PrintUnformatted(obj);
    char *line = xmalloc(strlen(s) + 2);
    size_t n = (size_t)sprintf(line, "%s\n", s);
    append_file(path, line, n, t->io_error);
    free(line);
    free(path);
    free(s);
}

// A fresh run starts a fresh metrics.jsonl. --resume cuts it back to the checkpoint it
// continues: records past its step (the stopped run went on after it), the final test at
// it (the resumed run tests again) and a torn last line go, so no step is reported twice
// and the file reads as if the run had never stopped (but for one "run" record a start).
static int start_metrics(const Trainer *t, char *err) {
    if (!t->o.out_dir) return 0;
    char *path = path_join(t->o.out_dir, "metrics.jsonl"), *text = NULL, *line, *end;
    size_t n = 0, kept = 0;
    if (t->step && access(path, F_OK) == 0 && !(text = read_file(path, &n, err))) {   // absent: nothing to keep
        free(path);
        return -1;
    }
    for (line = text; text && (end = memchr(line, '\n', n - (size_t)(line - text))); line = end + 1) {
        *end = 0;
        cJSON *r = cJSON_Parse(line);
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(r, "step");
        double at = cJSON_IsNumber(step) ? step->valuedouble : 0;
        bool keep = r && (at < t->step || (at == t->step && !cJSON_GetObjectItemCaseSensitive(r, "checkpoint")));
        cJSON_Delete(r);
        if (!keep) continue;
        memmove(text + kept, line, (size_t)(end - line));
        kept += (size_t)(end - line);
        text[kept++] = '\n';
    }
    int rc = text && kept == n ? 0 : write_file_atomic(path, text ? text : "", kept, err);
    free(text);
    free(path);
    return rc;
}

// The first record of every run: which code, build and machine produced it.
static void append_run_record(Trainer *t) {
    char *json = xmalloc(2048);
    snprintf(json, 2048, "{\"type\":\"run\",\"task\":\"%s\",\"method\":\"%s\",\"step\":%ld,%s,\"cpu\":\"%s\"}",
             t->task->name, method_name(t->o.method), t->step, trm_version_json(), cpu_description());
    cJSON *o = cJSON_Parse(json), *info = t->o.run_info_json ? cJSON_Parse(t->o.run_info_json) : NULL;
    while (o && info && info->child) {
        cJSON *x = info->child;
        cJSON_AddItemToObject(o, x->string, cJSON_DetachItemViaPointer(info, x));
    }
    if (o) append_jsonl(t, o);
    cJSON_Delete(o);
    cJSON_Delete(info);
    free(json);
}

static double progress_fraction(const Trainer *t, double seconds) {
    double f = 0;
    const TrainOptions *o = &t->o;
    if (o->max_steps) f = fmax(f, (double)t->step / o->max_steps);
    if (o->epochs > 0) f = fmax(f, epochs_done(t) / o->epochs);
    if (o->minutes > 0) f = fmax(f, seconds / (o->minutes * 60));
    return f;
}

static bool finished(const Trainer *t, double seconds) {
    const TrainOptions *o = &t->o;
    if (o->max_steps && t->step >= o->max_steps) return true;
    if (o->epochs > 0 && epochs_done(t) >= o->epochs) return true;
    if (o->minutes > 0 && seconds >= o->minutes * 60) return true;
    return !o->max_steps && o->epochs <= 0 && o->minutes <= 0;
}


// The weights evaluations and model files use: the EMA when it is on.
static const real *eval_weights(const Trainer *t) { return t->ema ? t->ema : t->m->params; }

// Evaluates with the first n values of the parameter buffer replaced by `weights` (the
// EMA's dense prefix, or a whole kept best), restoring the training weights afterwards.
static int evaluate_with(Trainer *t, const real *weights, size_t n, const Dataset *ds, bool test_split,
                         EvalResult *r, char *err) {
    InferOptions io;
    infer_defaults(&io, &t->m->cfg);
    io.feed = t->o.feed;
    io.batch = t->o.batch;   // the training plan serves: no second, larger plan with gradients
    real *backup = NULL;
    if (weights != t->m->params) {
        backup = xmalloc(n * sizeof(real));
        memcpy(backup, t->m->params, n * sizeof(real));
        memcpy(t->m->params, weights, n * sizeof(real));
    }
    int rc = 0;
    if (t->o.eval_fn) rc = t->o.eval_fn(t->o.eval_ctx, t->m, &io, test_split, r, err);
    else evaluate(t->m, t->task, ds, &io, r, NULL, NULL);
    if (backup) memcpy(t->m->params, backup, n * sizeof(real));
    free(backup);
    return rc;
}

static int evaluate_now(Trainer *t, const Dataset *ds, bool test_split, EvalResult *r, char *err) {
    return evaluate_with(t, eval_weights(t), t->m->table.n_dense, ds, test_split, r, err);
}

// The selection metric of an evaluation: valid or exact (fractions of puzzles), or an
// ARC score ("pass@2": ARC/pass@2 of the vote).
static double metric_of(const EvalResult *r, const char *name) {
    const StepStats *last = &r->step[r->steps - 1];
    if (!strcmp(name, "valid")) return last->valid / (double)MAX(1, r->n);
    if (!strcmp(name, "exact")) return last->exact / (double)MAX(1, r->n);
    if (!strcmp(name, "token_accuracy")) return last->token_valid > 0 ? last->token_correct / last->token_valid : 0;
    char key[64];
    snprintf(key, sizeof key, "ARC/%s", name);
    const cJSON *x = r->extra ? cJSON_GetObjectItemCaseSensitive(r->extra, key) : NULL;
    return cJSON_IsNumber(x) ? x->valuedouble : 0;
}

// The train_state of model files: no wall-clock time (metrics.jsonl has it), so that runs
// with the same seed and steps write the same file bit for bit, --resume or not.
static char *model_state_json(const Trainer *t, const char *which) {
    const char *ids = t->o.identifiers_json;
    size_t cap = 1024 + (ids ? strlen(ids) : 0);
    char *ts = xmalloc(cap);
    snprintf(ts, cap,
             "{\"task\":\"%s\",\"method\":\"%s\",\"feed\":\"%s\",\"step\":%ld,\"examples\":%ld,"
             "\"ema\":%s,\"precision\":\"%s\",\"checkpoint\":\"%s\",%s%s%s}",
             t->task->name, method_name(t->o.method), feed_name(t->o.feed), t->step,
             t->examples, t->ema ? "true" : "false", matmul_precision_name(matmul_precision()), which,
             trm_version_json(), ids ? ",\"identifiers\":" : "", ids ? ids : "");
    return ts;
}

static int checkpoint(Trainer *t, char *err) {
    if (!t->o.out_dir) return 0;
    if (t->io_error[0]) return err_set(err, "%s", t->io_error);
    char *model = path_join(t->o.out_dir, "model.safetensors");
    char *state = path_join(t->o.out_dir, "state.safetensors");
    char *ts = model_state_json(t, "last");
    int rc = checkpoint_save(t->m, t->ema, ts, model, err);
    if (!rc) rc = trainer_save_state(t, state, err);
    free(model);
    free(state);
    free(ts);
    return rc;
}

// After each evaluation on the selection split: keep the best weights, count the
// evaluations without improvement, and say whether the run should stop.
bool selection_update(double *best, long *best_step, long *since_best, double metric, long step) {
    if (metric > *best) {
        *best = metric;
        *best_step = step;
        *since_best = 0;
        return true;
    }
    ++*since_best;
    return false;
}

const char *selection_stop(double metric, long since_best, double until, long patience) {
    if (until > 0 && metric >= until) return "until";
    if (patience > 0 && since_best >= patience) return "patience";
    return NULL;
}

static int select_step(Trainer *t, const EvalResult *r, bool *stop, char *err) {
    const TrainOptions *o = &t->o;
    double v = metric_of(r, o->metric);
    if (selection_update(&t->best_metric, &t->best_step, &t->evals_since_best, v, t->step)) {
        if (t->best) {
            memcpy(t->best, t->m->params, sizeof(real) * t->m->table.n_total);
            memcpy(t->best, eval_weights(t), sizeof(real) * t->m->table.n_dense);
            if (o->out_dir) {
                char *path = path_join(o->out_dir, "model_best.safetensors"), *ts = model_state_json(t, "best");
                int rc = checkpoint_save(t->m, t->ema, ts, path, err);
                free(path);
                free(ts);
                if (rc) return -1;
            }
        }
    }
    t->stop_reason = selection_stop(v, t->evals_since_best, o->until, o->patience);
    *stop = t->stop_reason != NULL;
    return 0;
}

static void log_train(Trainer *t, double rate, bool tty, double seconds) {
    TrainStats *a = &t->acc;
    if (!a->n || !a->n_final) return;
    double n_final = a->n_final;
    double frac = progress_fraction(t, seconds);
    double eta = frac > 0 ? seconds * (1 - frac) / frac : 0;
    if (!t->o.quiet)
        fprintf(stderr, "%sstep %6ld | %7.1f ex/s | loss %.4f | last-step loss %.4f | acc %.3f | exact %.3f | ETA %4.0fs%s",
                tty ? "\r" : "", t->step, rate, a->loss / a->n, a->last_step_loss / n_final, a->acc / n_final,
                a->exact / n_final, eta, tty ? "  " : "\n");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "train");
    cJSON_AddNumberToObject(o, "step", t->step);
    cJSON_AddNumberToObject(o, "examples", t->examples);
    cJSON_AddNumberToObject(o, "loss", a->loss / a->n);
    cJSON_AddNumberToObject(o, "last_step_loss", a->last_step_loss / n_final);
    cJSON *sl = cJSON_AddArrayToObject(o, "step_loss");    // null: no step s since the last line
    for (int s = 0; s < t->m->cfg.N_sup; s++)
        cJSON_AddItemToArray(sl, t->step_count[s] ? cJSON_CreateNumber(t->step_loss[s] / t->step_count[s]) : cJSON_CreateNull());
    cJSON_AddNumberToObject(o, "accuracy", a->acc / n_final);
    cJSON_AddNumberToObject(o, "exact", a->exact / n_final);
    cJSON_AddNumberToObject(o, "lr", trainer_lr(t, t->o.opt.lr));
    cJSON_AddNumberToObject(o, "examples_per_s", rate);
    cJSON_AddNumberToObject(o, "elapsed_s", t->elapsed);
    cJSON_AddNumberToObject(o, "skipped_nonfinite", t->skipped_nonfinite);
    append_jsonl(t, o);
    cJSON_Delete(o);
    memset(a, 0, sizeof *a);
    memset(t->step_loss, 0, sizeof(double) * t->m->cfg.N_sup);
    memset(t->step_count, 0, sizeof(long) * t->m->cfg.N_sup);
}

static void log_eval(Trainer *t, const EvalResult *r, const char *split) {
    cJSON *o = eval_result_json(r);
    cJSON_AddStringToObject(o, "type", "eval");
    cJSON_AddStringToObject(o, "split", split);
    cJSON_AddNumberToObject(o, "step", t->step);
    cJSON_AddNumberToObject(o, "examples", t->examples);
    cJSON_AddNumberToObject(o, "elapsed_s", t->elapsed);
    append_jsonl(t, o);
    cJSON_Delete(o);
    if (!t->o.quiet)
        fprintf(stderr, "\neval (%s) at step %ld: exact %.3f, valid %.3f (%lld puzzles)%s\n", split, t->step,
                r->step[r->steps - 1].exact / MAX(1, r->n), r->step[r->steps - 1].valid / MAX(1, r->n), (long long)r->n,
                r->extra ? "" : "");
}

// The selected checkpoint on the test set, with a record of which one it is and why.
static int final_test(Trainer *t, const Dataset *test, bool selected_on_valid, EvalResult *final, char *err) {
    bool best = t->best && t->best_step > 0 && t->best_step != t->step;
    int rc = best ? evaluate_with(t, t->best, t->m->table.n_total, test, true, final, err)
                  : evaluate_now(t, test, true, final, err);
    if (rc) return -1;
    if (!final->extra) final->extra = cJSON_CreateObject();
    cJSON *e = final->extra;
    cJSON_AddStringToObject(e, "checkpoint", best ? "best" : "last");
    cJSON_AddNumberToObject(e, "checkpoint_step", best ? t->best_step : t->step);
    cJSON_AddStringToObject(e, "selected_on", selected_on_valid ? "validation" : "none (no validation split)");
    cJSON_AddStringToObject(e, "selection_metric", t->o.metric);
    if (t->best_metric >= 0) {
        cJSON_AddNumberToObject(e, "best_validation_metric", t->best_metric);
        cJSON_AddNumberToObject(e, "best_validation_step", t->best_step);
    }
    cJSON_AddStringToObject(e, "stopped_by", t->stop_reason ? t->stop_reason : "budget");
    char why[256];
    if (best) snprintf(why, sizeof why, "--keep best: step %ld had the best validation %s (%.4f)", t->best_step,
                       t->o.metric, t->best_metric);
    else if (t->best) snprintf(why, sizeof why, "--keep best: the last step is the best on validation");
    else snprintf(why, sizeof why, "the last checkpoint (no --keep best)");
    cJSON_AddStringToObject(e, "why", why);
    return 0;
}

// A diverged run: a record in metrics.jsonl, and nothing saved, so that the checkpoint
// on disk stays the last good one.
static int diverged(Trainer *t, char *err) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "diverged");
    cJSON_AddNumberToObject(o, "step", t->step);
    cJSON_AddNumberToObject(o, "skipped_nonfinite", t->skipped_nonfinite);
    cJSON_AddStringToObject(o, "message", t->diverged);
    append_jsonl(t, o);
    cJSON_Delete(o);
    return err_set(err, "%s", t->diverged);
}

// SIGINT / SIGTERM: the statistics so far, then model and state at this step boundary,
// from which --resume continues bit for bit.
static int interrupted(Trainer *t, double rate, bool tty, double seconds, char *err) {
    log_train(t, rate, tty, seconds);
    if (tty && !t->o.quiet) fputc('\n', stderr);
    return checkpoint(t, err) ? -1 : TRAIN_INTERRUPTED;
}

int train_run(Trainer *t, const Dataset *valid, const Dataset *test, EvalResult *final, char *err) {
    bool tty = isatty(2), has_valid = valid && valid->n;
    const Dataset *sel = has_valid ? valid : test;
    const char *sel_name = has_valid ? "valid" : "test";
    double start = now_seconds(), base = t->elapsed, last_log = start;
    long examples0 = t->examples, last_eval = t->step;
    memset(final, 0, sizeof *final);
    if (start_metrics(t, err)) return -1;
    append_run_record(t);
    bool stop = false;
    while (!stop && !finished(t, now_seconds() - start)) {
        long before = t->step;
        trainer_advance(t);
        double now = now_seconds();
        t->elapsed = base + (now - start);
        if (t->diverged[0]) return diverged(t, err);
        if (train_stop_signal) return interrupted(t, (t->examples - examples0) / fmax(now - start, 1e-9), tty, now - start, err);
        double rate = (t->examples - examples0) / fmax(now - start, 1e-9);
        // Lines and evaluations fall where the step crosses a multiple of their interval,
        // so that a resumed run keeps the schedule of the run it continues.
        if (t->step / t->o.log_every > before / t->o.log_every || (tty && now - last_log > 1.0)) {
            log_train(t, rate, tty, now - start);
            last_log = now;
        }
        if (t->io_error[0]) return err_set(err, "%s", t->io_error);
        if (t->o.eval_every && t->step / t->o.eval_every > before / t->o.eval_every && !finished(t, now - start)) {
            log_train(t, rate, tty, now - start);   // the checkpoint ends a line: a resume starts the next
            EvalResult r;
            if (evaluate_now(t, sel, !has_valid, &r, err)) return -1;
            log_eval(t, &r, sel_name);
            int rc = select_step(t, &r, &stop, err);
            eval_result_free(&r);
            if (rc || checkpoint(t, err)) return -1;
            last_eval = t->step;
            start += now_seconds() - now;    // evaluations do not count against --minutes
        }
    }
    log_train(t, (t->examples - examples0) / fmax(now_seconds() - start, 1e-9), tty, now_seconds() - start);
    if (has_valid && last_eval != t->step) {    // the last weights are a candidate too
        EvalResult r;
        if (evaluate_now(t, valid, false, &r, err)) return -1;
        log_eval(t, &r, "valid");
        int rc = select_step(t, &r, &stop, err);
        eval_result_free(&r);
        if (rc) return -1;
    }
    if (t->o.eval_fn || (test && test->n)) {
        if (final_test(t, test, has_valid, final, err)) return -1;
        log_eval(t, final, "test");
    }
    return checkpoint(t, err);
}
