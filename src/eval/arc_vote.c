// arc_vote.c: the official ARC evaluator (see arc_vote.h). Votes are kept per
// (task, de-augmented input hash) in insertion order, which is all the ranking needs:
// counts, sums of sigmoid(q) and first-seen order. No output depends on hash-table
// layout: tables are only looked up, never iterated.
#include "eval/arc_vote.h"
#include "strmap.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


// ---------------------------------------------------------------------------------
// The voter

typedef struct {
    int pred;        // index into the predicted grids
    double q;        // sigmoid(q_halt)
} Vote;

typedef struct {
    Vote *v;
    int n, cap;
} VoteList;

// A predicted grid, its h * w cells at `off` in the cell arena (most predictions are
// small; a full ArcGrid each would be ~0.9 KB times hundreds of thousands).
typedef struct {
    size_t off;
    uint8_t h, w;
} PredGrid;

struct ArcVoter {
    StrMap keys;         // "<task>\n<input hash>" -> index into lists
    VoteList *lists;
    int num_lists, cap_lists;
    StrMap preds;        // pred hash -> index into grids
    PredGrid *grids;
    int num_grids, cap_grids;
    uint8_t *cells;
    size_t num_cells, cap_cells;
};

ArcVoter *arc_voter_new(void) { return xcalloc(1, sizeof(ArcVoter)); }

void arc_voter_free(ArcVoter *v) {
    if (!v) return;
    strmap_free(&v->keys);
    strmap_free(&v->preds);
    for (int i = 0; i < v->num_lists; i++) free(v->lists[i].v);
    free(v->lists);
    free(v->grids);
    free(v->cells);
    free(v);
}

static int intern_pred(ArcVoter *v, const ArcGrid *g, const char *hash) {
    int id = (int)strmap_intern(&v->preds, hash, v->num_grids);
    if (id < v->num_grids) return id;
    if (v->num_grids == v->cap_grids) {
        v->cap_grids = v->cap_grids ? 2 * v->cap_grids : 1024;
        v->grids = xrealloc(v->grids, (size_t)v->cap_grids * sizeof(PredGrid));
    }
    size_t n = (size_t)g->h * g->w;
    while (v->num_cells + n > v->cap_cells) {
        v->cap_cells = v->cap_cells ? 2 * v->cap_cells : 65536;
        v->cells = xrealloc(v->cells, v->cap_cells);
    }
    if (n) memcpy(v->cells + v->num_cells, g->c, n);     // an empty crop: cells may still be NULL
    v->grids[v->num_grids++] = (PredGrid){v->num_cells, (uint8_t)g->h, (uint8_t)g->w};
    v->num_cells += n;
    return id;
}

static VoteList *intern_list(ArcVoter *v, const char *key) {
    int id = (int)strmap_intern(&v->keys, key, v->num_lists);
    if (id == v->num_lists) {
        if (v->num_lists == v->cap_lists) {
            v->cap_lists = v->cap_lists ? 2 * v->cap_lists : 256;
            v->lists = xrealloc(v->lists, (size_t)v->cap_lists * sizeof(VoteList));
        }
        v->lists[v->num_lists++] = (VoteList){NULL, 0, 0};
    }
    return &v->lists[id];
}

static void list_push(VoteList *l, int pred, double q) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->v = xrealloc(l->v, (size_t)l->cap * sizeof(Vote));
    }
    l->v[l->n++] = (Vote){pred, q};
}

// "<task>\n<hash>": the hash is the fixed-length tail, so any task id gives a unique key.
static char *vote_key(const char *task, const char *input_hash) {
    size_t n = strlen(task);
    char *key = xmalloc(n + 66);
    memcpy(key, task, n);
    key[n] = '\n';
    memcpy(key + n + 1, input_hash, 65);
    return key;
}

int arc_voter_add(ArcVoter *v, const char *name, const uint8_t *input, const uint8_t *pred, int G,
                  double q_halt, char *err) {
    if (G < 1 || G > ARC_MAX) return err_set(err, "canvas of %d x %d (expected 1..%d)", G, G, ARC_MAX);
    size_t cap = strlen(name) + 1;
    char *task = xmalloc(cap);
    int k;
    uint8_t map[10];
    if (arc_name_parse(name, task, cap, &k, map)) {
        free(task);
        return err_set(err, "malformed puzzle name '%s'", name);
    }
    ArcGrid in, out;
    char in_hash[65], out_hash[65];
    arc_crop(input, G, &in);
    arc_unaugment(&in, k, map);
    arc_grid_hash(&in, in_hash);
    arc_crop(pred, G, &out);
    arc_unaugment(&out, k, map);
    for (int i = 0; i < out.h * out.w; i++) {
        if (out.c[i] > 9) {
            free(task);
            return err_set(err, "puzzle %s: prediction has colour %d (expected 0-9)", name, out.c[i]);
        }
    }
    arc_grid_hash(&out, out_hash);
    char *key = vote_key(task, in_hash);
    int id = intern_pred(v, &out, out_hash);
    list_push(intern_list(v, key), id, 1.0 / (1.0 + exp(-q_halt)));
    free(key);
    free(task);
    return 0;
}

// ---------------------------------------------------------------------------------
// Ranking

typedef struct {
    int pred, count, first;   // first: position in first-seen order
    double sum, mean;
} Candidate;

// Descending by (count, mean); equal pairs keep first-seen order, as Python's stable
// sorted(..., reverse=True) does.
static int cmp_candidate(const void *pa, const void *pb) {
    const Candidate *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    if (a->mean > b->mean) return -1;
    if (a->mean < b->mean) return 1;
    return (a->first > b->first) - (a->first < b->first);
}

// The ranked candidates of one vote list into cand (capacity l->n); slot is a scratch
// array over all predicted grids, -1 everywhere on entry and on return.
static int rank_candidates(const VoteList *l, int *slot, Candidate *cand) {
    int n = 0;
    for (int i = 0; i < l->n; i++) {
        int p = l->v[i].pred;
        if (slot[p] < 0) {
            slot[p] = n;
            cand[n] = (Candidate){p, 0, n, 0.0, 0.0};
            n++;
        }
        cand[slot[p]].count++;
        cand[slot[p]].sum += l->v[i].q;
    }
    for (int i = 0; i < n; i++) {
        cand[i].mean = cand[i].sum / cand[i].count;
        slot[cand[i].pred] = -1;
    }
    qsort(cand, (size_t)n, sizeof *cand, cmp_candidate);
    return n;
}

static void pred_grid(const ArcVoter *v, int id, ArcGrid *g) {
    const PredGrid *p = &v->grids[id];
    g->h = p->h;
    g->w = p->w;
    if (p->h > 0 && p->w > 0) memcpy(g->c, v->cells + p->off, (size_t)p->h * p->w);   // cells is NULL when all are empty
}

static cJSON *attempts_json(const ArcVoter *v, const Candidate *cand, int n) {
    cJSON *o = cJSON_CreateObject();
    for (int a = 0; a < 2; a++) {
        ArcGrid g = {.h = 1, .w = 1, .c = {0}};   // [[0]] when nothing was predicted
        if (n > 0) pred_grid(v, cand[a < n ? a : 0].pred, &g);
        cJSON_AddItemToObject(o, a == 0 ? "attempt_1" : "attempt_2", arc_grid_to_json(&g));
    }
    return o;
}

// Where the label's grid ranks among the candidates; -1 when absent or unknown.
static int label_rank(const ArcVoter *v, const ArcGrid *label, const Candidate *cand, int n) {
    if (label->h == 0) return -1;
    char hash[65];
    arc_grid_hash(label, hash);
    int id = (int)strmap_get(&v->preds, hash);
    for (int i = 0; id >= 0 && i < n; i++)
        if (cand[i].pred == id) return i;
    return -1;
}

void arc_voter_score(const ArcVoter *v, const ArcTestSet *s, ArcScore *out, cJSON **submission) {
    static const int ks[] = {1, 2, 5, 10, 100, 1000};
    memset(out, 0, sizeof *out);
    out->num_ks = (int)(sizeof ks / sizeof *ks);
    memcpy(out->ks, ks, sizeof ks);
    out->tasks = s->n;
    out->task_pass2 = xcalloc((size_t)MAX(s->n, 1), 1);
    int max_votes = 1;
    for (int i = 0; i < v->num_lists; i++) max_votes = MAX(max_votes, v->lists[i].n);
    Candidate *cand = xmalloc((size_t)max_votes * sizeof *cand);
    int *slot = xmalloc((size_t)MAX(v->num_grids, 1) * sizeof(int));
    for (int i = 0; i < v->num_grids; i++) slot[i] = -1;
    if (submission) *submission = cJSON_CreateObject();
    int kaggle_hits = 0;

    for (int t = 0; t < s->n; t++) {
        const ArcTestTask *task = &s->task[t];
        int hits[ARC_MAX_KS] = {0}, pass2 = 0;
        cJSON *list = submission ? cJSON_CreateArray() : NULL;
        for (int p = 0; p < task->num_tests; p++) {
            char hash[65];
            arc_grid_hash(&task->input[p], hash);
            char *key = vote_key(task->id, hash);
            int id = (int)strmap_get(&v->keys, key);
            free(key);
            int n = id < 0 ? 0 : rank_candidates(&v->lists[id], slot, cand);
            if (n == 0) out->pairs_without_prediction++;
            int rank = label_rank(v, &task->output[p], cand, n);
            for (int k = 0; k < out->num_ks; k++) hits[k] += rank >= 0 && rank < ks[k];
            pass2 += rank >= 0 && rank < 2;
            if (list) cJSON_AddItemToArray(list, attempts_json(v, cand, n));
        }
        for (int k = 0; k < out->num_ks; k++) out->pass[k] += (double)hits[k] / task->num_tests;
        kaggle_hits += pass2;
        out->pairs += task->num_tests;
        out->task_pass2[t] = pass2 == task->num_tests;
        out->tasks_solved += out->task_pass2[t];
        if (list) cJSON_AddItemToObject(*submission, task->id, list);
    }
    for (int k = 0; k < out->num_ks && s->n > 0; k++) out->pass[k] /= s->n;
    out->kaggle = out->pairs ? (double)kaggle_hits / out->pairs : 0.0;
    free(cand);
    free(slot);
}

void arc_score_free(ArcScore *s) {
    free(s->task_pass2);
    s->task_pass2 = NULL;
}

// ---------------------------------------------------------------------------------
// test_puzzles.json

// One test pair; the output is optional (a hidden test set has none).
static int load_pair(const cJSON *pair, int i, ArcGrid *in, ArcGrid *out, char *err) {
    char msg[ERR_LEN];
    if (!cJSON_IsObject(pair)) return err_set(err, "test %d: not an object", i);
    const cJSON *jin = cJSON_GetObjectItemCaseSensitive(pair, "input");
    const cJSON *jout = cJSON_GetObjectItemCaseSensitive(pair, "output");
    if (!jin) return err_set(err, "test %d: no \"input\"", i);
    if (arc_grid_from_json(jin, in, msg)) return err_set(err, "test %d input: %s", i, msg);
    out->h = out->w = 0;
    if (jout && !cJSON_IsNull(jout) && arc_grid_from_json(jout, out, msg))
        return err_set(err, "test %d output: %s", i, msg);
    return 0;
}

// One task's test pairs into t; messages without path and task.
static int load_task(const cJSON *jt, ArcTestTask *t, char *err) {
    if (!cJSON_IsObject(jt)) return err_set(err, "not an object");
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(jt, "test");
    if (!cJSON_IsArray(test)) return err_set(err, "no \"test\" list");
    t->num_tests = cJSON_GetArraySize(test);
    if (t->num_tests == 0) return err_set(err, "empty \"test\" list");
    t->input = xcalloc((size_t)t->num_tests, sizeof(ArcGrid));
    t->output = xcalloc((size_t)t->num_tests, sizeof(ArcGrid));
    int i = 0;
    const cJSON *pair;
    cJSON_ArrayForEach(pair, test) {
        if (load_pair(pair, i, &t->input[i], &t->output[i], err)) return -1;
        i++;
    }
    return 0;
}

static int cmp_id(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// A duplicated task id would list the task twice in a submission (json.load keeps one).
static const char *duplicate_id(const ArcTestSet *s) {
    const char **ids = xmalloc((size_t)s->n * sizeof *ids);
    for (int i = 0; i < s->n; i++) ids[i] = s->task[i].id;
    qsort(ids, (size_t)s->n, sizeof *ids, cmp_id);
    const char *dup = NULL;
    for (int i = 1; i < s->n && !dup; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0) dup = ids[i];
    free(ids);
    return dup;
}

static int load_tasks(ArcTestSet *s, const cJSON *root, const char *path, char *err) {
    if (!cJSON_IsObject(root)) return err_set(err, "%s: not a JSON object of tasks", path);
    s->n = cJSON_GetArraySize(root);
    if (s->n == 0) return err_set(err, "%s: no tasks", path);
    s->task = xcalloc((size_t)s->n, sizeof(ArcTestTask));
    int i = 0;
    const cJSON *jt;
    cJSON_ArrayForEach(jt, root) {
        char msg[ERR_LEN];
        s->task[i].id = xstrdup(jt->string);
        if (load_task(jt, &s->task[i], msg)) return err_set(err, "%s: task %s: %s", path, jt->string, msg);
        i++;
    }
    const char *dup = duplicate_id(s);
    if (dup) return err_set(err, "%s: task %s: listed twice", path, dup);
    return 0;
}

int arc_testset_load(ArcTestSet *s, const char *path, char *err) {
    memset(s, 0, sizeof *s);
    size_t n;
    char *text = read_file(path, &n, err);
    if (!text) return -1;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, n, &end, false);
    size_t at = end ? (size_t)(end - text) : 0;
    while (root && at < n && memchr(" \t\r\n", text[at], 4)) at++;   // json.load allows trailing space only
    int rc;
    if (!root) rc = err_set(err, "%s: not valid JSON (at byte %zu)", path, at);
    else if (at < n) rc = err_set(err, "%s: data after the JSON value (at byte %zu)", path, at);
    else rc = load_tasks(s, root, path, err);
    cJSON_Delete(root);
    free(text);
    if (rc) arc_testset_free(s);
    return rc;
}

void arc_testset_free(ArcTestSet *s) {
    for (int i = 0; i < s->n; i++) {
        free(s->task[i].id);
        free(s->task[i].input);
        free(s->task[i].output);
    }
    free(s->task);
    memset(s, 0, sizeof *s);
}
