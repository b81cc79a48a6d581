// arc.c: the official ARC data builder (dataset/build_arc_dataset.py), bit for bit.
//
// The order of random draws is the contract (arc-pipeline.md section 2):
//   seed(S); for each subset: shuffle its tasks; for each task in that order: up to
//   5 x num_aug trials of (randint(0, 8), permutation(9)) until num_aug new copies;
//   then, writing the train split and then the test split, for each puzzle:
//   randint(0, examples) picks the example left in place, and (train split only) each
//   other example draws its row offset, then its column offset.
// Augmented grids are not stored: a copy is its (transform, colour map), applied again
// while writing, so a 4-million-row build streams to disk in constant memory.
#include "arc.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc_grid.h"
#include "io/dataset_dir.h"
#include "io/npy.h"
#include "mt19937.h"
#include "sha256.h"
#include "strmap.h"

// ARC has one answer per test input: an answer is correct when it equals the label,
// which the evaluator checks (check = NULL); the text format is unused (JSON instead).
const Task TASK_ARC = {
    .name = "arc", .seq_len = 0, .vocab = ARC_VOCAB, .group_name = "task",
};

void arc_build_defaults(ArcBuildOptions *o) {
    *o = (ArcBuildOptions){
        .subsets = "training,evaluation,concept", .test_set = "evaluation", .num_aug = 1000,
        .seed = 42, .max_grid = ARC_MAX,
    };
}

#define RETRIES_FACTOR 5     // ARCAugmentRetriesFactor

typedef ArcPair Pair;

// One task as the builder sees it: its pairs by destination split, in the key order of
// its JSON object, and the copies kept (copy 0 is the original).
typedef struct {
    char *id;
    const cJSON *raw;            // the task with its solutions merged (test_puzzles.json)
    Pair *ex[3];                 // [0]: train split, [1]: test split, [2]: validation (--valid-demos)
    int nex[3];
    bool test;
    int ncopies;
    uint8_t (*copy)[11];         // dihedral id, then the colour map
} Source;

typedef struct {
    Source *src;
    int n, cap;
    cJSON **roots;               // parsed files, freed at the end
    int nroots;
} Sources;

// ---------------------------------------------------------------- reading

static int read_json(const char *path, cJSON **out, char *err) {
    *out = read_json_file(path, err);
    return *out ? 0 : -1;
}

static void keep_root(Sources *s, cJSON *root) {
    s->roots = xrealloc(s->roots, sizeof(cJSON *) * (size_t)(s->nroots + 1));
    s->roots[s->nroots++] = root;
}

// The pairs of one example list ("train" or "test") into dst.
static int read_pairs(const cJSON *list, const char *what, Pair **dst, int *n, const char *path,
                      const char *id, char *err) {
    char sub[ERR_LEN];
    if (arc_pairs_from_json(list, what, false, dst, n, sub)) return err_set(err, "%s: task %s: %s", path, id, sub);
    return 0;
}

static bool fits(const Source *t, int G) {
    for (int d = 0; d < 3; d++)
        for (int i = 0; i < t->nex[d]; i++) {
            const Pair *p = &t->ex[d][i];
            if (p->in.h > G || p->in.w > G || p->out.h > G || p->out.w > G) return false;
        }
    return true;
}

static void source_free(Source *t) {
    free(t->id);
    for (int d = 0; d < 3; d++) free(t->ex[d]);
    free(t->copy);
}

// Every number below x is finite. One too large for a double (1e999) reads as infinity,
// which test_puzzles.json could only hold as Python's non-JSON "Infinity".
static bool all_finite(const cJSON *x) {
    if (cJSON_IsNumber(x)) return isfinite(x->valuedouble);
    for (const cJSON *c = x->child; c; c = c->next)
        if (!all_finite(c)) return false;
    return true;
}

// One task object: its "train" and "test" lists in key order, sent to their splits. Other
// keys are refused in Kaggle files (the official builder fails on them) and skipped in
// per-task files (metadata: 11 ARC-AGI-1 task files carry a "name").
static int add_task(Sources *s, const cJSON *task, const char *id, bool test, bool valid_demos, bool per_task,
                    int G, int *skipped, const char *path, char *err) {
    if (!cJSON_IsObject(task)) return err_set(err, "%s: task %s is not an object", path, id);
    const char *dup = arc_json_duplicate_key(task);   // two "test" lists: which one is meant?
    if (dup) return err_set(err, "%s: task %s: key \"%s\" appears twice", path, id, dup);
    Source t = { .id = xstrdup(id), .raw = task, .test = test };
    int rc = 0;
    bool seen[2] = { false, false };
    for (const cJSON *k = task->child; k && !rc; k = k->next) {
        int kind = !strcmp(k->string, "train") ? 0 : !strcmp(k->string, "test") ? 1 : -1;
        if (kind < 0) {
            if (!per_task)
                rc = err_set(err, "%s: task %s: unexpected key \"%s\" (expected train and test)", path, id, k->string);
        } else {
            int d = test ? kind : 0;      // only the test subset's test pairs go to the test split
            seen[kind] = true;
            rc = read_pairs(k, k->string, &t.ex[d], &t.nex[d], path, id, err);
        }
    }
    if (!rc && !all_finite(task)) rc = err_set(err, "%s: task %s: a number too large for a double", path, id);
    if (!rc && (!seen[0] || !seen[1])) rc = err_set(err, "%s: task %s has no \"%s\" list", path, id, seen[0] ? "test" : "train");
    if (!rc && (t.nex[0] == 0 || (test && t.nex[1] == 0)))
        rc = err_set(err, "%s: task %s has no examples for the %s split", path, id, t.nex[0] ? "test" : "train");
    if (!rc && test && valid_demos && t.nex[0] >= 2) {   // the last demonstration is held out
        t.ex[2] = xmalloc(sizeof(Pair));
        t.ex[2][0] = t.ex[0][--t.nex[0]];
        t.nex[2] = 1;
    }
    if (rc || !fits(&t, G)) {
        if (!rc) ++*skipped;
        source_free(&t);
        return rc;
    }
    if (s->n == s->cap) s->src = xrealloc(s->src, sizeof(Source) * (size_t)(s->cap = s->cap ? 2 * s->cap : 256));
    s->src[s->n++] = t;
    return 0;
}

// Kaggle files: solutions (when the file exists) become each test pair's "output", in
// place if present, else appended as the official code's assignment does.
static int merge_solutions(cJSON *ch, const char *sol_path, const char *ch_path, char *err) {
    if (access(sol_path, F_OK)) {       // the hidden test set: a dummy [[0]] per test input
        for (cJSON *t = ch->child; t; t = t->next) {
            cJSON *test = cJSON_GetObjectItemCaseSensitive(t, "test");
            for (cJSON *e = cJSON_IsArray(test) ? test->child : NULL; e; e = e->next)
                if (cJSON_IsObject(e) && !cJSON_GetObjectItemCaseSensitive(e, "output"))
                    cJSON_AddItemToObject(e, "output", cJSON_Parse("[[0]]"));
        }
        return 0;
    }
    cJSON *sol;
    if (read_json(sol_path, &sol, err)) return -1;
    int rc = cJSON_IsObject(sol) ? 0 : err_set(err, "%s: not a JSON object of task ids", sol_path);
    const char *dup = rc ? NULL : arc_json_duplicate_key(sol);
    if (dup) rc = err_set(err, "%s: task %s: listed twice", sol_path, dup);
    for (cJSON *t = ch->child; t && !rc; t = t->next) {
        cJSON *grids = cJSON_GetObjectItemCaseSensitive(sol, t->string);
        cJSON *test = cJSON_GetObjectItemCaseSensitive(t, "test");
        int i = 0;
        if (!cJSON_IsArray(grids)) rc = err_set(err, "%s: task %s has no solutions", sol_path, t->string);
        else if (!cJSON_IsArray(test)) rc = err_set(err, "%s: task %s: \"test\" is not a list", ch_path, t->string);
        else if (cJSON_GetArraySize(grids) > cJSON_GetArraySize(test))
            rc = err_set(err, "%s: task %s has %d solutions for %d test inputs", sol_path, t->string,
                         cJSON_GetArraySize(grids), cJSON_GetArraySize(test));
        for (cJSON *g = rc ? NULL : grids->child; g && !rc; g = g->next, i++) {
            cJSON *e = cJSON_GetArrayItem(test, i);
            if (!cJSON_IsObject(e)) rc = err_set(err, "%s: task %s: test %d is not an object", ch_path, t->string, i);
            else if (cJSON_GetObjectItemCaseSensitive(e, "output"))
                cJSON_ReplaceItemInObjectCaseSensitive(e, "output", cJSON_Duplicate(g, true));
            else cJSON_AddItemToObject(e, "output", cJSON_Duplicate(g, true));
        }
    }
    cJSON_Delete(sol);
    return rc;
}

static int read_kaggle(Sources *s, const char *prefix, const char *subset, bool test, bool vd, int G,
                       int *skipped, char *err) {
    size_t n = strlen(prefix) + strlen(subset) + 32;
    char *ch_path = xmalloc(n), *sol_path = xmalloc(n);
    snprintf(ch_path, n, "%s_%s_challenges.json", prefix, subset);
    snprintf(sol_path, n, "%s_%s_solutions.json", prefix, subset);
    cJSON *ch = NULL;
    int rc = read_json(ch_path, &ch, err);
    if (!rc && !cJSON_IsObject(ch)) rc = err_set(err, "%s: not a JSON object of tasks", ch_path);
    const char *dup = rc ? NULL : arc_json_duplicate_key(ch);
    if (dup) rc = err_set(err, "%s: task %s: listed twice", ch_path, dup);
    if (!rc) rc = merge_solutions(ch, sol_path, ch_path, err);
    for (const cJSON *t = rc ? NULL : ch->child; t && !rc; t = t->next)
        rc = add_task(s, t, t->string, test, vd, false, G, skipped, ch_path, err);
    if (ch) keep_root(s, ch);
    free(ch_path);
    free(sol_path);
    return rc;
}

// Every *.json below dir (concept folders nest one level), sorted by path.
static void list_json(const char *dir, char ***paths, int *n) {
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char *p = path_join(dir, e->d_name);
        struct stat sb;
        size_t len = strlen(e->d_name);
        if (!stat(p, &sb) && S_ISDIR(sb.st_mode)) {
            list_json(p, paths, n);
            free(p);
        } else if (len > 5 && !strcmp(e->d_name + len - 5, ".json")) {
            *paths = xrealloc(*paths, sizeof(char *) * (size_t)(*n + 1));
            (*paths)[(*n)++] = p;
        } else {
            free(p);
        }
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int read_task_dir(Sources *s, const char *root, const char *subset, bool test, bool vd, int G,
                         int *skipped, char *err) {
    char *dir = path_join(root, subset), **paths = NULL;
    int n = 0, rc = 0;
    list_json(dir, &paths, &n);
    if (!n) rc = err_set(err, "%s: no task files (*.json) for subset %s", dir, subset);
    else qsort(paths, (size_t)n, sizeof *paths, cmp_str);     // (qsort of NULL is undefined)
    for (int i = 0; i < n; i++) {
        cJSON *t = NULL;
        if (!rc) rc = read_json(paths[i], &t, err);
        if (!rc) {
            char *base = strrchr(paths[i], '/') + 1, *id = xstrdup(base);
            id[strlen(id) - 5] = 0;
            keep_root(s, t);
            rc = add_task(s, t, id, test, vd, true, G, skipped, paths[i], err);
            free(id);
        }
        free(paths[i]);
    }
    free(paths);
    free(dir);
    return rc;
}

// ---------------------------------------------------------------- augmentation

// puzzle_hash: sha256 of the sorted "hash(input)|hash(output)" strings of every pair of
// both splits, joined by "|".
typedef struct { char s[130]; } PairHash;

static int cmp_pair_hash(const void *a, const void *b) { return strcmp(a, b); }

static void map_grid(const ArcGrid *g, const uint8_t *copy, ArcGrid *out) { arc_augment(g, copy[0], copy + 1, out); }

static void task_hash(const Source *t, const uint8_t *copy, PairHash *buf, uint8_t digest[32]) {
    int n = 0;
    for (int d = 0; d < 3; d++)      // every pair: a held-out demonstration changes no draw
        for (int i = 0; i < t->nex[d]; i++, n++) {
            ArcGrid a, b;
            map_grid(&t->ex[d][i].in, copy, &a);
            map_grid(&t->ex[d][i].out, copy, &b);
            arc_grid_hash(&a, buf[n].s);
            buf[n].s[64] = '|';
            arc_grid_hash(&b, buf[n].s + 65);
        }
    qsort(buf, (size_t)n, sizeof *buf, cmp_pair_hash);
    Sha256 h;
    sha256_init(&h);
    for (int i = 0; i < n; i++) {
        if (i) sha256_update(&h, "|", 1);
        sha256_update(&h, buf[i].s, 129);
    }
    sha256_final(&h, digest);
}

// The copies of one task: the original, then up to num_aug accepted draws.
static void augment(Source *t, Mt19937 *r, int num_aug, bool *short_of) {
    t->copy = xmalloc(sizeof *t->copy * (size_t)(num_aug + 1));
    memset(t->copy[0], 0, 11);
    for (int c = 0; c < 10; c++) t->copy[0][1 + c] = (uint8_t)c;
    t->ncopies = 1;
    *short_of = false;
    if (num_aug <= 0) return;
    PairHash *buf = xmalloc(sizeof(PairHash) * (size_t)(t->nex[0] + t->nex[1] + t->nex[2]));
    uint8_t (*seen)[32] = xmalloc(32 * (size_t)(num_aug + 1));
    task_hash(t, t->copy[0], buf, seen[0]);
    for (long trial = 0; trial < (long)RETRIES_FACTOR * num_aug; trial++) {
        uint8_t *copy = t->copy[t->ncopies];
        int perm[9];
        copy[0] = (uint8_t)mt_randint(r, 0, 8);
        for (int i = 0; i < 9; i++) perm[i] = i + 1;
        mt_shuffle(r, perm, 9, sizeof *perm);          // np.random.permutation(np.arange(1, 10))
        copy[1] = 0;
        for (int i = 0; i < 9; i++) copy[2 + i] = (uint8_t)perm[i];
        task_hash(t, copy, buf, seen[t->ncopies]);
        bool dup = false;
        for (int i = 0; i < t->ncopies && !dup; i++) dup = !memcmp(seen[i], seen[t->ncopies], 32);
        if (!dup) t->ncopies++;
        if (t->ncopies >= num_aug + 1) break;
    }
    *short_of = t->ncopies < num_aug + 1;
    free(buf);
    free(seen);
}

// ---------------------------------------------------------------- identifiers

// Names to identifiers (a name seen twice, e.g. a task id in two subsets, keeps its
// first identifier, as the official dict does).
typedef struct {
    char **names;                // [count]: identifier -> name
    int64_t count;
    StrMap ids;
} Names;

static int64_t names_add(Names *t, const char *s) {
    int64_t id = strmap_intern(&t->ids, s, t->count);
    if (id == t->count) {
        t->names = xrealloc(t->names, sizeof(char *) * (size_t)(t->count + 1));
        t->names[t->count++] = xstrdup(s);
    }
    return id;
}

static void copy_name(const Source *t, int c, char *out, size_t cap) {
    if (c == 0) snprintf(out, cap, "%s", t->id);
    else arc_name_format(out, cap, t->id, t->copy[c][0], t->copy[c] + 1);
}

// ---------------------------------------------------------------- writing

typedef struct {
    NpyStream in, lab;
    int32_t *pid, *pidx, *gidx;    // puzzle identifiers, puzzle and group offsets
    int64_t rows, puzzles, groups;
} SplitOut;

static const char *const SPLITS[3] = { "train", "test", "valid" };

// Is task t in split d? Every task trains; the test subset's tasks are tested; those
// with a held-out demonstration are validated.
static bool in_split(const Source *t, int d) { return d == 0 || (t->test && (d == 1 || t->nex[2] > 0)); }

static int64_t split_rows(const Sources *s, int d, int64_t *puzzles, int64_t *groups) {
    int64_t rows = 0;
    *puzzles = *groups = 0;
    for (int i = 0; i < s->n; i++) {
        const Source *t = &s->src[i];
        if (!in_split(t, d)) continue;
        rows += (int64_t)t->nex[d] * t->ncopies;
        *puzzles += t->ncopies;
        ++*groups;
    }
    return rows;
}

static char *split_file(const char *out, const char *split, const char *name) {
    char *dir = path_join(out, split), *p = path_join(dir, name);
    free(dir);
    return p;
}

static int write_split(const Sources *s, const ArcBuildOptions *o, int d, Mt19937 *r, Names *ids,
                       int64_t num_ids, char *err) {
    const char *split = SPLITS[d];
    int G = o->max_grid;
    int64_t P, Gr, N = split_rows(s, d, &P, &Gr), shape[2] = { N, (int64_t)G * G };
    SplitOut w = { .pid = xmalloc(sizeof(int32_t) * (size_t)(P + 1)),
                   .pidx = xmalloc(sizeof(int32_t) * (size_t)(P + 1)),
                   .gidx = xmalloc(sizeof(int32_t) * (size_t)(Gr + 1)) };
    char *pin = split_file(o->out, split, "all__inputs.npy"), *plab = split_file(o->out, split, "all__labels.npy");
    int rc = npy_stream_open(&w.in, pin, NPY_U8, 2, shape, err);
    if (!rc && (rc = npy_stream_open(&w.lab, plab, NPY_U8, 2, shape, err))) npy_stream_abort(&w.in);
    uint8_t *seq_in = xmalloc((size_t)G * G), *seq_out = xmalloc((size_t)G * G);
    w.pidx[0] = w.gidx[0] = 0;
    char name[256];
    for (int i = 0; i < s->n && !rc; i++) {
        const Source *t = &s->src[i];
        if (!in_split(t, d)) continue;
        for (int c = 0; c < t->ncopies && !rc; c++) {
            int no_aug = (int)mt_randint(r, 0, t->nex[d]);
            for (int e = 0; e < t->nex[d] && !rc; e++) {
                ArcGrid a, b;
                map_grid(&t->ex[d][e].in, t->copy[c], &a);
                map_grid(&t->ex[d][e].out, t->copy[c], &b);
                int r0 = 0, c0 = 0;
                if (d == 0 && e != no_aug) {       // translation: train split only
                    r0 = (int)mt_randint(r, 0, G - MAX(a.h, b.h) + 1);
                    c0 = (int)mt_randint(r, 0, G - MAX(a.w, b.w) + 1);
                }
                arc_encode(&a, G, r0, c0, seq_in);
                arc_encode(&b, G, r0, c0, seq_out);
                rc = npy_stream_write(&w.in, seq_in, (size_t)G * G, err);
                if (!rc) rc = npy_stream_write(&w.lab, seq_out, (size_t)G * G, err);
                w.rows++;
            }
            copy_name(t, c, name, sizeof name);
            w.pid[w.puzzles] = (int32_t)strmap_get(&ids->ids, name);
            w.pidx[++w.puzzles] = (int32_t)w.rows;
        }
        w.gidx[++w.groups] = (int32_t)w.puzzles;
        if (o->progress && isatty(2))
            fprintf(stderr, "\rdata arc: writing %s, %d/%d tasks", split, i + 1, s->n);
    }
    if (o->progress && isatty(2)) fprintf(stderr, "\n");
    if (!rc) rc = npy_stream_close(&w.in, err);
    else npy_stream_abort(&w.in);
    if (!rc) rc = npy_stream_close(&w.lab, err);
    else npy_stream_abort(&w.lab);
    int64_t np1 = P + 1, ng1 = Gr + 1;
    const char *names[3] = { "all__puzzle_identifiers.npy", "all__puzzle_indices.npy", "all__group_indices.npy" };
    const int32_t *data[3] = { w.pid, w.pidx, w.gidx };
    const int64_t *shapes[3] = { &P, &np1, &ng1 };
    for (int k = 0; k < 3 && !rc; k++) {
        char *p = split_file(o->out, split, names[k]);
        rc = npy_write(p, NPY_I32, 1, shapes[k], data[k], err);
        free(p);
    }
    if (!rc) {
        DatasetMeta m = { .vocab_size = ARC_VOCAB, .seq_len = G * G, .num_puzzle_identifiers = num_ids,
                          .total_groups = Gr, .total_puzzles = P,
                          .mean_puzzle_examples = P ? (double)N / (double)P : 0 };
        char *p = split_file(o->out, split, "dataset.json");
        rc = dataset_meta_write(p, &m, err);
        free(p);
    }
    free(pin); free(plab); free(seq_in); free(seq_out); free(w.pid); free(w.pidx); free(w.gidx);
    return rc;
}

// test_puzzles.json: the test tasks in processing order, as Python's json.dump writes
// the raw task objects (solutions merged).
static void py_json_dump(FILE *f, const cJSON *x) {
    if (cJSON_IsObject(x) || cJSON_IsArray(x)) {
        bool obj = cJSON_IsObject(x);
        fputc(obj ? '{' : '[', f);
        for (const cJSON *c = x->child; c; c = c->next) {
            if (c != x->child) fputs(", ", f);
            if (obj) {
                py_json_string(f, c->string);
                fputs(": ", f);
            }
            py_json_dump(f, c);
        }
        fputc(obj ? '}' : ']', f);
    } else if (cJSON_IsString(x)) {
        py_json_string(f, x->valuestring);
    } else if (cJSON_IsNumber(x)) {
        char buf[64];
        double v = x->valuedouble;
        if (v > -9e15 && v < 9e15 && v == (double)(long long)v) fprintf(f, "%lld", (long long)v);   // range first: the cast
        else py_float_repr(v, buf, sizeof buf), fputs(buf, f);
    } else {
        fputs(cJSON_IsTrue(x) ? "true" : cJSON_IsFalse(x) ? "false" : "null", f);
    }
}

static int save_py_json(const char *out, const char *name, const cJSON *root, char *err) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    py_json_dump(f, root);
    fclose(f);
    char *path = path_join(out, name);
    int rc = write_file_atomic(path, buf, len, err);
    free(path);
    free(buf);
    return rc;
}

static int write_test_puzzles(const Sources *s, const char *out, char *err) {
    cJSON *root = cJSON_CreateObject();    // references: the tasks stay where they were read
    for (int i = 0; i < s->n; i++)
        if (s->src[i].test) cJSON_AddItemToObject(root, s->src[i].id, cJSON_CreateObjectReference(s->src[i].raw->child));
    int rc = save_py_json(out, "test_puzzles.json", root, err);
    cJSON_Delete(root);
    return rc;
}

// valid_puzzles.json: for --valid-demos, test_puzzles.json's counterpart for the
// validation split: each validated task with its held-out demonstration as "test".
static int write_valid_puzzles(const Sources *s, const char *out, char *err) {
    cJSON *root = cJSON_CreateObject();
    for (int i = 0; i < s->n; i++) {
        const Source *t = &s->src[i];
        if (!in_split(t, 2)) continue;
        cJSON *task = cJSON_CreateObject(), *test = cJSON_AddArrayToObject(task, "test");
        for (int e = 0; e < t->nex[2]; e++) {
            cJSON *pair = cJSON_CreateObject();
            cJSON_AddItemToObject(pair, "input", arc_grid_to_json(&t->ex[2][e].in));
            cJSON_AddItemToObject(pair, "output", arc_grid_to_json(&t->ex[2][e].out));
            cJSON_AddItemToArray(test, pair);
        }
        cJSON_AddItemToObject(root, t->id, task);
    }
    int rc = save_py_json(out, "valid_puzzles.json", root, err);
    cJSON_Delete(root);
    return rc;
}

// ---------------------------------------------------------------- the build

// OUT (and its missing parents, as mkdir -p and the other commands' --out), OUT/train, OUT/test.
static int make_dirs(const char *out, bool valid, char *err) {
    char *parent = xstrdup(out);
    for (char *q = parent + 1; *q; q++) {
        if (*q != '/' || q[-1] == '/') continue;
        *q = 0;
        int bad = mkdir(parent, 0755) && errno != EEXIST;
        if (bad) err_set(err, "%s: cannot create directory: %s", parent, strerror(errno));
        *q = '/';
        if (bad) {
            free(parent);
            return -1;
        }
    }
    free(parent);
    if (mkdir(out, 0755) && errno != EEXIST) return err_set(err, "%s: cannot create directory: %s", out, strerror(errno));
    for (int i = 0; i < (valid ? 3 : 2); i++) {
        char *p = path_join(out, SPLITS[i]);
        int bad = mkdir(p, 0755) && errno != EEXIST;
        if (bad) err_set(err, "%s: cannot create directory: %s", p, strerror(errno));
        free(p);
        if (bad) return -1;
    }
    return 0;
}

static int read_subsets(Sources *s, const ArcBuildOptions *o, Mt19937 *r, ArcBuildStats *st, char *err) {
    char *list = xstrdup(o->subsets), *save = NULL;
    int rc = 0;
    bool found_test = false;
    for (char *sub = strtok_r(list, ",", &save); sub && !rc; sub = strtok_r(NULL, ",", &save)) {
        int first = s->n;
        bool test = !strcmp(sub, o->test_set);
        found_test |= test;
        rc = o->kaggle ? read_kaggle(s, o->kaggle, sub, test, o->valid_demos, o->max_grid, &st->skipped_tasks, err)
                       : read_task_dir(s, o->tasks, sub, test, o->valid_demos, o->max_grid, &st->skipped_tasks, err);
        if (rc) break;
        // (A subset whose tasks were all skipped draws nothing, and s->src may still be NULL.)
        if (s->n > first) mt_shuffle(r, s->src + first, (size_t)(s->n - first), sizeof(Source));
        for (int i = first; i < s->n; i++) {
            bool short_of;
            augment(&s->src[i], r, o->num_aug, &short_of);
            st->short_tasks += short_of;
            if (o->progress && (isatty(2) || i + 1 == s->n))
                fprintf(stderr, "%sdata arc: %s, augmented %d/%d tasks%s", isatty(2) ? "\r" : "", sub,
                        i - first + 1, s->n - first, isatty(2) && i + 1 < s->n ? "" : "\n");
        }
    }
    if (!rc && !found_test) rc = err_set(err, "--test-set %s is not one of --subsets %s", o->test_set, o->subsets);
    free(list);
    return rc;
}

int arc_build(const ArcBuildOptions *o, ArcBuildStats *st, char *err) {
    memset(st, 0, sizeof *st);
    if (o->max_grid < 1 || o->max_grid > ARC_MAX) return err_set(err, "--max-grid %d: expected 1-30", o->max_grid);
    if (o->num_aug < 0) return err_set(err, "--num-aug %d: expected 0 or more", o->num_aug);
    if (!o->kaggle == !o->tasks) return err_set(err, "give exactly one of --kaggle PREFIX or --tasks DIR");
    Mt19937 r;
    mt_seed(&r, o->seed);
    Sources s = {0};
    Names ids = {0};
    int rc = read_subsets(&s, o, &r, st, err);
    if (!rc && !s.n) rc = err_set(err, "no task fits --max-grid %d", o->max_grid);
    if (!rc) rc = make_dirs(o->out, o->valid_demos, err);
    names_add(&ids, "<blank>");
    char name[256];
    for (int d = 0; d < 2 && !rc; d++)         // identifiers in train-split, then test-split order
        for (int i = 0; i < s.n; i++)
            for (int c = 0; c < s.src[i].ncopies && (d == 0 || s.src[i].test); c++) {
                copy_name(&s.src[i], c, name, sizeof name);
                names_add(&ids, name);
            }
    if (!rc && ids.count > INT32_MAX) rc = err_set(err, "%lld puzzle identifiers do not fit int32", (long long)ids.count);
    for (int d = 0; d < (o->valid_demos ? 3 : 2) && !rc; d++) rc = write_split(&s, o, d, &r, &ids, ids.count, err);
    if (!rc) rc = identifiers_save(o->out, ids.names, ids.count, err);
    if (!rc) rc = write_test_puzzles(&s, o->out, err);
    if (!rc && o->valid_demos) rc = write_valid_puzzles(&s, o->out, err);
    if (!rc) {
        int64_t g;
        st->train_rows = split_rows(&s, 0, &st->train_puzzles, &g);
        st->test_rows = split_rows(&s, 1, &st->test_puzzles, &g);
        if (o->valid_demos) st->valid_rows = split_rows(&s, 2, &st->valid_puzzles, &g);
        st->identifiers = ids.count;
        st->tasks = s.n;
        for (int i = 0; i < s.n; i++) st->test_tasks += s.src[i].test;
    }
    for (int i = 0; i < s.n; i++) source_free(&s.src[i]);
    for (int i = 0; i < s.nroots; i++) cJSON_Delete(s.roots[i]);
    for (int64_t i = 0; i < ids.count; i++) free(ids.names[i]);
    strmap_free(&ids.ids);
    free(ids.names); free(s.src); free(s.roots);
    return rc;
}
