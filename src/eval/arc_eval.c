// arc_eval.c: inference over an ARC test split, then the official vote.
#include "arc_eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/arc.h"

int arc_eval_data_load(ArcEvalData *d, const char *dir, const char *split, char *err) {
    memset(d, 0, sizeof *d);
    int rc = dataset_dir_load(dir, split, &d->rows, &d->meta, err);
    if (!rc) {
        int G = (int)lround(sqrt((double)d->meta.seq_len));
        d->G = G;
        if (G * G != d->meta.seq_len || G > ARC_MAX || d->meta.vocab_size != ARC_VOCAB)
            rc = err_set(err, "%s/%s/dataset.json: seq_len %d, vocab_size %d is not an ARC canvas (G x G, G <= 30, "
                         "vocabulary 12)", dir, split, d->meta.seq_len, d->meta.vocab_size);
    }
    if (!rc) rc = identifiers_load(dir, &d->names, &d->num_names, err);
    if (!rc && d->num_names != d->meta.num_puzzle_identifiers)
        rc = err_set(err, "%s/identifiers.json: %lld names, dataset.json has num_puzzle_identifiers %lld", dir,
                     (long long)d->num_names, (long long)d->meta.num_puzzle_identifiers);
    if (!rc) {
        char name[64];
        snprintf(name, sizeof name, "%s_puzzles.json", split);
        char *p = path_join(dir, name);
        rc = arc_testset_load(&d->puzzles, p, err);
        free(p);
    }
    if (rc) arc_eval_data_free(d);
    return rc;
}

void arc_eval_data_free(ArcEvalData *d) {
    dataset_free(&d->rows);
    identifiers_free(d->names, d->num_names);
    arc_testset_free(&d->puzzles);
    memset(d, 0, sizeof *d);
}

// The rows of the original and the first num_aug copies of each group (the builder
// writes a task's original first, then its copies), copied into a data set of their own.
static Dataset select_copies(const Dataset *t, int num_aug) {
    int64_t n = 0;
    for (int64_t g = 0; g < t->num_groups; g++) {
        int32_t p0 = t->group_index[g], p1 = MIN(t->group_index[g + 1], p0 + num_aug + 1);
        n += t->puzzle_index[p1] - t->puzzle_index[p0];
    }
    Dataset s = dataset_alloc(n, t->seq_len);
    size_t L = (size_t)t->seq_len, at = 0;
    for (int64_t g = 0; g < t->num_groups; g++) {
        int32_t p0 = t->group_index[g], p1 = MIN(t->group_index[g + 1], p0 + num_aug + 1);
        for (int32_t e = t->puzzle_index[p0]; e < t->puzzle_index[p1]; e++, at++) {
            memcpy(s.inputs + at * L, t->inputs + (size_t)e * L, L);
            memcpy(s.labels + at * L, t->labels + (size_t)e * L, L);
            s.puzzle_ids[at] = t->puzzle_ids[e];
        }
    }
    return s;
}

int arc_evaluate(Model *m, const ArcEvalData *d, const InferOptions *io, int num_aug, EvalResult *r,
                 ArcScore *score, cJSON **submission, ArcOutputs *out, char *err) {
    memset(score, 0, sizeof *score);
    if (m->cfg.seq_len != d->meta.seq_len || m->cfg.vocab != d->meta.vocab_size)
        return err_set(err, "the model (seq_len %d, vocab %d) does not fit the data (seq_len %d, vocab %d)",
                       m->cfg.seq_len, m->cfg.vocab, d->meta.seq_len, d->meta.vocab_size);
    if (m->cfg.num_puzzle_ids != d->meta.num_puzzle_identifiers)
        return err_set(err, "the model's puzzle table has %d rows, the data has %lld puzzle identifiers (a model "
                       "trained on another build)", m->cfg.num_puzzle_ids, (long long)d->meta.num_puzzle_identifiers);
    Dataset sub = {0};
    const Dataset *ds = &d->rows;
    if (num_aug >= 0) {
        sub = select_copies(&d->rows, num_aug);
        ds = &sub;
    }
    size_t L = (size_t)ds->seq_len, n = (size_t)ds->n;
    int32_t *pred = xmalloc(sizeof(int32_t) * MAX(n * L, 1));
    real *q = xmalloc(sizeof(real) * MAX(n, 1));
    TraceOut tr = { .q_halt = q };
    evaluate(m, &TASK_ARC, ds, io, r, pred, &tr);
    ArcVoter *v = arc_voter_new();
    uint8_t *canvas = xmalloc(L);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        int32_t id = ds->puzzle_ids[i];
        if (id == d->meta.blank_identifier_id) continue;      // padding rows, as the official evaluator
        for (size_t k = 0; k < L; k++) canvas[k] = (uint8_t)pred[i * L + k];
        rc = arc_voter_add(v, d->names[id], ds->inputs + i * L, canvas, d->G, q[i], err);
    }
    if (!rc) {
        arc_voter_score(v, &d->puzzles, score, submission);
        r->extra = cJSON_CreateObject();
        arc_score_to_json(score, r->extra);
    }
    if (!rc && out) {
        *out = (ArcOutputs){ .n = (int64_t)n, .inputs = xmalloc(MAX(n * L, 1)), .preds = xmalloc(MAX(n * L, 1)),
                             .puzzle_ids = xmalloc(sizeof(int32_t) * MAX(n, 1)),
                             .q_halt = xmalloc(sizeof(float) * MAX(n, 1)) };
        memcpy(out->inputs, ds->inputs, n * L);
        memcpy(out->puzzle_ids, ds->puzzle_ids, sizeof(int32_t) * n);
        for (size_t i = 0; i < n * L; i++) out->preds[i] = (uint8_t)pred[i];
        for (size_t i = 0; i < n; i++) out->q_halt[i] = (float)q[i];
    }
    if (rc) eval_result_free(r);
    arc_voter_free(v);
    free(canvas);
    free(pred);
    free(q);
    dataset_free(&sub);
    return rc;
}

void arc_outputs_free(ArcOutputs *o) {
    free(o->inputs); free(o->preds); free(o->puzzle_ids); free(o->q_halt);
    memset(o, 0, sizeof *o);
}

int arc_outputs_save(const ArcOutputs *o, int seq_len, const char *dir, char *err) {
    int64_t tok[2] = { o->n, seq_len }, n = o->n;
    const char *names[4] = { "inputs.npy", "puzzle_identifiers.npy", "preds.npy", "q_halt_logits.npy" };
    const void *data[4] = { o->inputs, o->puzzle_ids, o->preds, o->q_halt };
    NpyDtype types[4] = { NPY_U8, NPY_I32, NPY_U8, NPY_F32 };
    int rc = 0;
    for (int i = 0; i < 4 && !rc; i++) {
        char *p = path_join(dir, names[i]);
        rc = npy_write(p, types[i], types[i] == NPY_U8 ? 2 : 1, types[i] == NPY_U8 ? tok : &n, data[i], err);
        free(p);
    }
    return rc;
}

void arc_score_to_json(const ArcScore *s, cJSON *obj) {
    char key[32];
    for (int i = 0; i < s->num_ks; i++) {
        snprintf(key, sizeof key, "ARC/pass@%d", s->ks[i]);
        cJSON_AddNumberToObject(obj, key, s->pass[i]);
    }
    cJSON_AddNumberToObject(obj, "kaggle_pass@2", s->kaggle);
    cJSON_AddNumberToObject(obj, "tasks", s->tasks);
    cJSON_AddNumberToObject(obj, "test_pairs", s->pairs);
    cJSON_AddNumberToObject(obj, "tasks_solved", s->tasks_solved);
    cJSON_AddNumberToObject(obj, "pairs_without_prediction", s->pairs_without_prediction);
}
