// arc_solve.c: ARC task files -> copies -> (adaptation) -> the official vote.
#include "arc_solve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/arc_eval.h"
#include "mt19937.h"
#include "sha256.h"
#include "tasks/arc.h"
#include "train/train.h"

// ---------------------------------------------------------------- task files

static int task_from_json(const cJSON *j, const char *id, const char *path, ArcTask *t, char *err) {
    memset(t, 0, sizeof *t);
    t->id = xstrdup(id);
    if (!cJSON_IsObject(j)) return err_set(err, "%s: task %s is not an object", path, id);
    const char *dup = arc_json_duplicate_key(j);
    if (dup) return err_set(err, "%s: task %s: key \"%s\" appears twice", path, id, dup);
    const cJSON *train = cJSON_GetObjectItemCaseSensitive(j, "train");
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(j, "test");
    char sub[ERR_LEN];
    if (!train || !test) return err_set(err, "%s: task %s has no \"%s\" list", path, id, train ? "test" : "train");
    if (arc_pairs_from_json(train, "train", false, &t->demo, &t->num_demos, sub) ||
        arc_pairs_from_json(test, "test", true, &t->test, &t->num_tests, sub))
        return err_set(err, "%s: task %s: %s", path, id, sub);
    if (!t->num_demos || !t->num_tests)
        return err_set(err, "%s: task %s has no %s pairs", path, id, t->num_demos ? "test" : "train");
    return 0;
}

// The file name without directories and without ".json": the id of a single task file.
static char *task_id_of(const char *path) {
    const char *b = strrchr(path, '/');
    char *id = xstrdup(b ? b + 1 : path);
    size_t n = strlen(id);
    if (n > 5 && !strcmp(id + n - 5, ".json")) id[n - 5] = 0;
    return id;
}

// Kaggle solutions: {"<id>": [grid per test input]} fill the tasks' test outputs.
static int merge_solutions(ArcTask *tasks, int n, const char *path, bool need, char *err) {
    cJSON *s = read_json_file(path, err);
    if (!s) return -1;
    int rc = cJSON_IsObject(s) ? 0 : err_set(err, "%s: not a Kaggle solutions file ({\"<task>\": [grid, ...]})", path);
    const char *dup = rc ? NULL : arc_json_duplicate_key(s);
    if (dup) rc = err_set(err, "%s: task %s: listed twice", path, dup);
    char sub[ERR_LEN];
    for (int i = 0; i < n && !rc; i++) {
        ArcTask *t = &tasks[i];
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(s, t->id);
        if (!g) {
            if (need) rc = err_set(err, "%s: no solutions for task %s", path, t->id);
            continue;
        }
        if (!cJSON_IsArray(g) || cJSON_GetArraySize(g) != t->num_tests) {
            rc = err_set(err, "%s: task %s: expected a list of %d solution grids", path, t->id, t->num_tests);
            break;
        }
        int k = 0;
        for (const cJSON *x = g->child; x && !rc; x = x->next, k++)
            if (arc_grid_from_json(x, &t->test[k].out, sub)) rc = err_set(err, "%s: task %s: solution %d: %s", path, t->id, k, sub);
    }
    cJSON_Delete(s);
    return rc;
}

int arc_tasks_load(const char *path, const char *solutions, bool need_solutions, ArcTask **tasks, int *n,
                   bool *kaggle, char *err) {
    *tasks = NULL;
    *n = 0;
    cJSON *j = read_json_file(path, err);
    if (!j) return -1;
    int rc = 0;
    const cJSON *train = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "train") : NULL;
    *kaggle = !cJSON_IsArray(train);
    bool tasks_only = cJSON_GetArraySize(j) > 0;     // a challenges file maps ids to task objects
    for (const cJSON *x = cJSON_IsObject(j) ? j->child : NULL; x; x = x->next) tasks_only = tasks_only && cJSON_IsObject(x);
    if (!cJSON_IsObject(j) || (*kaggle && !tasks_only))
        rc = err_set(err, "%s: not an ARC task file ({\"train\": [...], \"test\": [...]}) or a Kaggle challenges "
                     "file ({\"<task>\": task, ...})", path);
    const char *dup = !rc && *kaggle ? arc_json_duplicate_key(j) : NULL;
    if (dup) rc = err_set(err, "%s: task %s: listed twice", path, dup);
    int count = rc ? 0 : *kaggle ? cJSON_GetArraySize(j) : 1;
    ArcTask *t = xcalloc((size_t)MAX(count, 1), sizeof *t);
    if (!rc && !*kaggle) {
        char *id = task_id_of(path);
        rc = task_from_json(j, id, path, &t[0], err);
        free(id);
    }
    int i = 0;
    for (const cJSON *x = *kaggle && !rc ? j->child : NULL; x && !rc; x = x->next, i++)
        rc = task_from_json(x, x->string, path, &t[i], err);
    cJSON_Delete(j);
    if (!rc && solutions) rc = merge_solutions(t, count, solutions, need_solutions, err);
    for (int k = 0; k < count && !rc && need_solutions; k++)
        if (!arc_task_has_solutions(&t[k]))
            rc = err_set(err, "%s: task %s: a test input has no solution to score against (give --solutions FILE)",
                         path, t[k].id);
    if (rc) {
        arc_tasks_free(t, count);
        return -1;
    }
    *tasks = t;
    *n = count;
    return 0;
}

void arc_tasks_free(ArcTask *tasks, int n) {
    for (int i = 0; tasks && i < n; i++) {
        free(tasks[i].id);
        free(tasks[i].demo);
        free(tasks[i].test);
    }
    free(tasks);
}

bool arc_task_has_solutions(const ArcTask *t) {
    for (int i = 0; i < t->num_tests; i++)
        if (!t->test[i].out.h) return false;
    return true;
}

// ---------------------------------------------------------------- copies

void arc_solve_defaults(ArcSolveOptions *o) {
    *o = (ArcSolveOptions){ .io = { .batch = 256, .guidance = 1.0 }, .num_aug = 8, .seed = 0, .adapt_steps = 96,
                            .adapt_lr = 1e-2, .adapt_net_lr = 1e-4, .adapt_batch = 32 };
}

// One copy of the task: the augmentation and the puzzle-embedding row it is predicted with.
typedef struct {
    int k;
    uint8_t map[10];
    int32_t row;
} Copy;

// The model's rows of this task: the original (named by the task id) first, then its
// augmented copies in identifier order, at most max of them.
static int seen_copies(char *const *names, int64_t num_names, const char *id, Copy *c, int max) {
    int n = 0;
    char task[256];
    for (int pass = 0; pass < 2; pass++)
        for (int64_t i = 1; i < num_names && n < max; i++) {
            Copy x = { .row = (int32_t)i };
            if (arc_name_parse(names[i], task, sizeof task, &x.k, x.map) || strcmp(task, id)) continue;
            if ((pass == 0) == (strstr(names[i], "|||") == NULL)) c[n++] = x;
        }
    return n;
}

static void task_digest(const ArcTask *t, const Copy *c, uint8_t digest[32]) {
    Sha256 h;
    sha256_init(&h);
    char hex[65];
    for (int i = 0; i < t->num_demos + t->num_tests; i++) {
        const ArcPair *p = i < t->num_demos ? &t->demo[i] : &t->test[i - t->num_demos];
        ArcGrid a;
        arc_augment(&p->in, c->k, c->map, &a);
        arc_grid_hash(&a, hex);
        sha256_update(&h, hex, 64);
        if (i < t->num_demos) {
            arc_augment(&p->out, c->k, c->map, &a);
            arc_grid_hash(&a, hex);
            sha256_update(&h, hex, 64);
        }
    }
    sha256_final(&h, digest);
}

static uint32_t fnv1a(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

// Fresh copies for an unseen task: the original, then draws of (dihedral, permutation of
// colours 1-9) as the builder makes them, each kept when the augmented task is new.
static int fresh_copies(const ArcTask *t, int num_aug, Mt19937 *r, Copy *c) {
    uint8_t (*seen)[32] = xmalloc(32 * (size_t)(num_aug + 1));
    c[0] = (Copy){ .k = 0, .row = 1 };
    for (int i = 0; i < 10; i++) c[0].map[i] = (uint8_t)i;
    task_digest(t, &c[0], seen[0]);
    int n = 1;
    for (long trial = 0; trial < 5L * num_aug && n < num_aug + 1; trial++) {
        Copy x = { .k = (int)mt_randint(r, 0, 8), .row = n + 1 };
        int perm[9];
        for (int i = 0; i < 9; i++) perm[i] = i + 1;
        mt_shuffle(r, perm, 9, sizeof *perm);
        x.map[0] = 0;
        for (int i = 0; i < 9; i++) x.map[1 + i] = (uint8_t)perm[i];
        task_digest(t, &x, seen[n]);
        bool dup = false;
        for (int i = 0; i < n && !dup; i++) dup = !memcmp(seen[i], seen[n], 32);
        if (!dup) c[n++] = x;
    }
    free(seen);
    return n;
}

// ---------------------------------------------------------------- adaptation

// A model with src's network and `rows` fresh (zero) puzzle-embedding rows.
static void model_with_rows(Model *dst, const Model *src, int rows) {
    TRMConfig c = src->cfg;
    c.num_puzzle_ids = rows;
    model_create(dst, &c, 0);
    for (int i = 0; i < dst->table.count; i++) {
        const ParamSpec *s = &dst->table.spec[i];
        const ParamSpec *from = param_find(&src->table, s->name);
        if (s->kind == PARAM_PUZZLE) memset(dst->params + s->offset, 0, sizeof(real) * s->numel);
        else memcpy(dst->params + s->offset, src->params + from->offset, sizeof(real) * s->numel);
    }
}

// The demonstrations of every copy, one puzzle (and one group: the sampler then visits
// every copy each epoch) per copy; grids translated at random on the canvas except one
// per copy, as the builder does for training rows.
static Dataset demo_rows(const ArcTask *t, const Copy *c, int ncopies, int G, Mt19937 *r) {
    int D = t->num_demos;
    size_t L = (size_t)G * G;
    Dataset ds = dataset_alloc((int64_t)ncopies * D, (int)L);
    for (int k = 0; k < ncopies; k++) {
        int keep = (int)mt_randint(r, 0, D);
        for (int e = 0; e < D; e++) {
            size_t i = (size_t)k * D + e;
            ArcGrid a, b;
            arc_augment(&t->demo[e].in, c[k].k, c[k].map, &a);
            arc_augment(&t->demo[e].out, c[k].k, c[k].map, &b);
            int r0 = 0, c0 = 0;
            if (e != keep) {
                r0 = (int)mt_randint(r, 0, G - MAX(a.h, b.h) + 1);
                c0 = (int)mt_randint(r, 0, G - MAX(a.w, b.w) + 1);
            }
            arc_encode(&a, G, r0, c0, ds.inputs + i * L);
            arc_encode(&b, G, r0, c0, ds.labels + i * L);
            ds.puzzle_ids[i] = c[k].row;
        }
    }
    ds.num_puzzles = ds.num_groups = ncopies;
    for (int k = 0; k <= ncopies; k++) {
        ds.puzzle_index[k] = k * D;
        ds.group_index[k] = k;
        if (k < ncopies) ds.identifiers[k] = c[k].row;
    }
    return ds;
}

// Train the rows (and with adapt_net the network) on the demonstrations. DIS runs N_sup
// optimizer steps per batch, so the count is rounded up to whole batches.
static long adapt(Model *m, const ArcTask *t, const Copy *c, int ncopies, int G, const ArcSolveOptions *o,
                  Mt19937 *r) {
    Dataset ds = demo_rows(t, c, ncopies, G, r);
    TrainOptions to;
    train_defaults(&to, m->cfg.halt ? METHOD_TRM : METHOD_DIS);
    to.batch = o->adapt_batch;
    to.opt.lr = o->adapt_net_lr;
    to.freeze_net = !o->adapt_net;
    to.puzzle_lr = o->adapt_lr;
    to.warmup = 0;
    to.targets = TARGETS_MASK;                          // the ARC recipe's DIS targets
    to.seed = mt_next32(r);
    to.quiet = true;
    to.log_every = 1L << 40;
    Trainer tr;
    trainer_init(&tr, m, &TASK_ARC, &ds, &to);
    while (tr.step < o->adapt_steps) trainer_advance(&tr);
    long steps = tr.step;
    trainer_free(&tr);
    dataset_free(&ds);
    return steps;
}

// ---------------------------------------------------------------- prediction

// The test inputs of every copy (at the canvas origin, as the builder's test rows), the
// names of the rows, and the task with its solutions: what arc_evaluate votes over.
static void test_rows(const ArcTask *t, const Copy *c, int ncopies, int G, ArcEvalData *d) {
    size_t L = (size_t)G * G;
    d->rows = dataset_alloc((int64_t)ncopies * t->num_tests, (int)L);
    for (int k = 0; k < ncopies; k++)
        for (int e = 0; e < t->num_tests; e++) {
            size_t i = (size_t)k * t->num_tests + e;
            ArcGrid a;
            arc_augment(&t->test[e].in, c[k].k, c[k].map, &a);
            arc_encode(&a, G, 0, 0, d->rows.inputs + i * L);
            if (t->test[e].out.h) {
                arc_augment(&t->test[e].out, c[k].k, c[k].map, &a);
                arc_encode(&a, G, 0, 0, d->rows.labels + i * L);
            }
            d->rows.puzzle_ids[i] = c[k].row;
        }
    d->G = G;
    d->meta = (DatasetMeta){ .vocab_size = ARC_VOCAB, .seq_len = (int)L, .blank_identifier_id = 0 };
    ArcTestTask *p = xcalloc(1, sizeof *p);
    p->id = xstrdup(t->id);
    p->num_tests = t->num_tests;
    p->input = xmalloc(sizeof(ArcGrid) * (size_t)t->num_tests);
    p->output = xmalloc(sizeof(ArcGrid) * (size_t)t->num_tests);
    for (int e = 0; e < t->num_tests; e++) {
        p->input[e] = t->test[e].in;
        p->output[e] = t->test[e].out;
    }
    d->puzzles = (ArcTestSet){ .task = p, .n = 1 };
}

// Names of fresh rows: "<blank>", the task id, then "<task>|||t<k>|||<map>" per copy.
static char **fresh_names(const ArcTask *t, const Copy *c, int ncopies) {
    char **names = xcalloc((size_t)ncopies + 1, sizeof(char *));
    char buf[512];
    names[0] = xstrdup("<blank>");
    for (int k = 0; k < ncopies; k++) {
        if (k == 0) snprintf(buf, sizeof buf, "%s", t->id);
        else arc_name_format(buf, sizeof buf, t->id, c[k].k, c[k].map);
        names[k + 1] = xstrdup(buf);
    }
    return names;
}

// The attempts back from the submission entry. A prediction that crops to nothing (no
// colour at the canvas origin) is an empty grid there, h = w = 0.
static int read_attempts(const cJSON *entry, const ArcTask *t, ArcSolved *out, char *err) {
    out->attempt = xcalloc((size_t)t->num_tests, sizeof *out->attempt);
    const cJSON *x = entry ? entry->child : NULL;
    char sub[ERR_LEN];
    for (int e = 0; e < t->num_tests; e++, x = x ? x->next : NULL) {
        const char *key[2] = { "attempt_1", "attempt_2" };
        for (int a = 0; a < 2; a++) {
            const cJSON *g = x ? cJSON_GetObjectItemCaseSensitive(x, key[a]) : NULL;
            bool empty = cJSON_IsArray(g) && (!g->child || (cJSON_IsArray(g->child) && !g->child->child));
            if (!empty && (!g || arc_grid_from_json(g, &out->attempt[e][a], sub)))
                return err_set(err, "task %s: the vote gave no attempt %d for test input %d", t->id, a + 1, e);
        }
    }
    return 0;
}

int arc_task_fits(const ArcTask *t, int G, char *err) {
    for (int i = 0; i < t->num_demos + t->num_tests; i++) {
        const ArcPair *p = i < t->num_demos ? &t->demo[i] : &t->test[i - t->num_demos];
        if (MAX(MAX(p->in.h, p->in.w), MAX(p->out.h, p->out.w)) > G)
            return err_set(err, "task %s: a %s grid of %d x %d does not fit the model's %d x %d canvas", t->id,
                           i < t->num_demos ? "train" : "test", MAX(p->in.h, p->out.h), MAX(p->in.w, p->out.w), G, G);
    }
    return 0;
}

int arc_solve_task(Model *m, char *const *names, int64_t num_names, const ArcTask *t, const ArcSolveOptions *o,
                   ArcSolved *out, char *err) {
    memset(out, 0, sizeof *out);
    double t0 = now_seconds();
    int G = (int)lround(sqrt((double)m->cfg.seq_len));
    if (G * G != m->cfg.seq_len || m->cfg.vocab != ARC_VOCAB)
        return err_set(err, "the model (seq_len %d, vocab %d) is not an ARC model", m->cfg.seq_len, m->cfg.vocab);
    if (arc_task_fits(t, G, err)) return -1;
    Copy *c = xmalloc(sizeof(Copy) * (size_t)(o->num_aug + 1));
    int ncopies = names ? seen_copies(names, num_names, t->id, c, o->num_aug + 1) : 0;
    out->seen = ncopies > 0 && !o->adapt_always;
    Mt19937 r;
    mt_seed(&r, o->seed ^ fnv1a(t->id));
    Model am = {0};
    Model *use = m;
    char **own_names = NULL;
    if (!out->seen || o->adapt_always) {
        ncopies = fresh_copies(t, o->num_aug, &r, c);
        own_names = fresh_names(t, c, ncopies);
        model_with_rows(&am, m, ncopies + 1);
        use = &am;
        if (o->adapt_steps > 0 && (am.p.puzzle || o->adapt_net)) {
            double a0 = now_seconds();
            out->adapt_steps = adapt(&am, t, c, ncopies, G, o, &r);
            out->adapt_seconds = now_seconds() - a0;
        }
    }
    out->copies = ncopies;
    ArcEvalData d = {0};
    test_rows(t, c, ncopies, G, &d);
    d.names = own_names ? own_names : (char **)names;
    d.num_names = own_names ? ncopies + 1 : num_names;
    d.meta.num_puzzle_identifiers = use->cfg.num_puzzle_ids;
    EvalResult res;
    cJSON *sub = NULL;
    int rc = arc_evaluate(use, &d, &o->io, -1, &res, &out->score, &sub, NULL, err);
    if (!rc) {
        out->submission = cJSON_DetachItemFromObjectCaseSensitive(sub, t->id);
        rc = read_attempts(out->submission, t, out, err);
        eval_result_free(&res);
    }
    cJSON_Delete(sub);
    dataset_free(&d.rows);
    arc_testset_free(&d.puzzles);
    if (own_names) identifiers_free(own_names, ncopies + 1);
    if (use == &am) model_free(&am);
    free(c);
    out->seconds = now_seconds() - t0;
    if (rc) arc_solved_free(out);
    return rc;
}

void arc_solved_free(ArcSolved *s) {
    arc_score_free(&s->score);
    free(s->attempt);
    cJSON_Delete(s->submission);
    memset(s, 0, sizeof *s);
}
