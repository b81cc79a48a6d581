// test_sampler.c: the training loop's bookkeeping: the official batch sampler (a
// permutation of the groups per epoch, one random puzzle of each group, its examples
// without replacement), the learning-rate schedule for every kind of budget, and model
// selection (best step, --until, --patience).
#include "nn/config.h"
#include "train/train.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

// 3 groups: group 0 = puzzles {0, 1} (examples 0-2 and 3-4), group 1 = puzzle {2}
// (examples 5-8), group 2 = puzzles {3, 4, 5} (examples 9, 10-11, 12).
static Dataset grouped(void) {
    static const int32_t pidx[] = { 0, 3, 5, 9, 10, 12, 13 }, gidx[] = { 0, 2, 3, 6 };
    Dataset d = dataset_alloc(13, 4);
    d.num_puzzles = 6;
    d.num_groups = 3;
    d.puzzle_index = xrealloc(d.puzzle_index, sizeof pidx);
    d.group_index = xrealloc(d.group_index, sizeof gidx);
    memcpy(d.puzzle_index, pidx, sizeof pidx);
    memcpy(d.group_index, gidx, sizeof gidx);
    for (int q = 0; q < 6; q++)
        for (int e = pidx[q]; e < pidx[q + 1]; e++) d.puzzle_ids[e] = q + 1;
    for (int64_t i = 0; i < 13 * 4; i++) d.inputs[i] = d.labels[i] = 1 + (uint8_t)(i % 2);
    return d;
}

static int puzzle_of(const Dataset *d, int64_t e) {
    int q = 0;
    while (d->puzzle_index[q + 1] <= e) q++;
    return q;
}

static int group_of(const Dataset *d, int q) {
    int g = 0;
    while (d->group_index[g + 1] <= q) g++;
    return g;
}

static void make_model(Model *m) {
    TRMConfig c;
    char err[ERR_LEN];
    if (cfg_preset(&c, "compact", "dis", 3, 4, 7, err)) die("%s", err);
    c.hidden = 16; c.heads = 2; c.N_sup = 2;
    model_create(m, &c, 1);
}

static void make(Model *m, Trainer *t, const Dataset *d, TrainOptions *o) {
    make_model(m);
    trainer_init(t, m, task_find("nqueens"), d, o);
}

static void test_groups(void) {
    Dataset d = grouped();
    TrainOptions o;
    train_defaults(&o, METHOD_DIS);
    o.batch = 2;
    o.seed = 5;
    Model m;
    Trainer t;
    make(&m, &t, &d, &o);
    int puzzle_seen[6] = {0}, epochs = 200;
    for (int ep = 0; ep < epochs; ep++) {
        // One epoch = 3 group visits; each yields one puzzle: all of its examples, each once.
        int groups_seen[3] = {0};
        for (int visit = 0; visit < 3; visit++) {
            int64_t e = trainer_next_row(&t);
            int q = puzzle_of(&d, e), n = d.puzzle_index[q + 1] - d.puzzle_index[q];
            bool seen[13] = {0};
            seen[e] = true;
            for (int k = 1; k < n; k++) {
                int64_t e2 = trainer_next_row(&t);
                CHECK(puzzle_of(&d, e2) == q && !seen[e2], "epoch %d: example %lld within puzzle %d", ep,
                      (long long)e2, q);
                seen[e2] = true;
            }
            CHECK(t.queue_pos == t.queue_len, "puzzle %d: more examples queued than it has", q);
            groups_seen[group_of(&d, q)]++;
            puzzle_seen[q]++;
        }
        CHECK(groups_seen[0] == 1 && groups_seen[1] == 1 && groups_seen[2] == 1 && t.epoch == ep,
              "epoch %d (trainer %ld): groups %d %d %d", ep, t.epoch, groups_seen[0], groups_seen[1], groups_seen[2]);
    }
    // The copy inside a group is uniform: 200 epochs, 1/2 and 1/3 (5 standard deviations).
    CHECK(puzzle_seen[2] == epochs, "group 1 has one puzzle: %d", puzzle_seen[2]);
    CHECK(abs(puzzle_seen[0] - 100) <= 36 && puzzle_seen[0] + puzzle_seen[1] == epochs, "group 0: %d / %d",
          puzzle_seen[0], puzzle_seen[1]);
    for (int q = 3; q < 6; q++) CHECK(abs(puzzle_seen[q] - 67) <= 34, "group 2 puzzle %d: %d of 200", q, puzzle_seen[q]);
    trainer_free(&t);
    model_free(&m);
    dataset_free(&d);
}

// After warm-up the cosine decays monotonically to lr * min_ratio for every budget; the
// old code, without --steps, alternated between two rates on successive steps.
static void test_schedule(void) {
    Dataset d = grouped();
    for (int kind = 0; kind < 3; kind++) {
        TrainOptions o;
        train_defaults(&o, METHOD_DIS);
        o.batch = 2;
        o.warmup = 3;
        o.min_ratio = 0.1;
        if (kind == 0) o.max_steps = o.schedule_steps = 40;
        if (kind == 1) o.epochs = 4;      // 4 x 3 groups x 13/6 examples / (2 / N_sup 2) = 26 steps
        if (kind == 2) o.minutes = 1;
        Model m;
        Trainer t;
        make(&m, &t, &d, &o);
        double prev = 1e9, first = 0, last = 0;
        int steps = kind == 1 ? 26 : 40;
        for (int s = 1; s <= steps; s++) {
            t.step = s;
            if (kind == 2) t.elapsed = 60.0 * s / steps;   // the clock runs with the steps
            double lr = trainer_lr(&t, 1.0);
            if (s <= o.warmup) {
                CHECK_NEAR(lr, (double)s / o.warmup, 1e-12, "warm-up");
                continue;
            }
            if (s == o.warmup + 1) first = lr;
            CHECK(lr <= prev + 1e-12, "kind %d: lr rose at step %d: %.6f after %.6f", kind, s, lr, prev);
            prev = last = lr;
        }
        CHECK(first > 0.9, "kind %d: decay starts near the base rate (%.4f)", kind, first);
        CHECK_NEAR(last, 0.1, 0.02, "the decay ends at min_ratio");
        trainer_free(&t);
        model_free(&m);
    }
    dataset_free(&d);
}

static void test_selection(void) {
    // metrics of successive evaluations (steps 10, 20, ...): best 0.6 at step 30, ties keep it
    const double m[] = { 0.2, 0.5, 0.6, 0.6, 0.4, 0.55, 0.59, 0.3 };
    double best = -1;
    long best_step = 0, since = 0;
    const bool better[] = { true, true, true, false, false, false, false, false };
    for (int i = 0; i < 8; i++) {
        CHECK(selection_update(&best, &best_step, &since, m[i], 10L * (i + 1)) == better[i], "evaluation %d", i);
        CHECK(since == (i < 3 ? 0 : i - 2), "evaluation %d: %ld since the best", i, since);
    }
    CHECK(best == 0.6 && best_step == 30, "best %.2f at step %ld", best, best_step);
    CHECK(selection_stop(0.59, 4, 0.6, 0) == NULL, "below the threshold, no patience: go on");
    const char *r = selection_stop(0.6, 0, 0.6, 0);
    CHECK(r && !strcmp(r, "until"), "at the threshold: stop (until)");
    r = selection_stop(0.3, 5, 0.9, 5);
    CHECK(r && !strcmp(r, "patience"), "5 evaluations without improvement, patience 5: stop");
    CHECK(selection_stop(0.3, 4, 0.9, 5) == NULL, "4 of 5: go on");
    CHECK(selection_stop(1.0, 100, 0, 0) == NULL, "neither set: never stop");
}

// --freeze_net (test-time adaptation): the network stays bit for bit, the puzzle rows
// learn, and along the same batches they learn exactly what they learn when the network
// trains too, for the first step (skipping weight gradients must not change dx).
static void test_frozen(void) {
    Dataset d = grouped();
    TrainOptions o;
    train_defaults(&o, METHOD_DIS);
    o.batch = 4;
    o.seed = 3;
    o.warmup = 0;
    Model a, b;
    Trainer ta, tb;
    make(&a, &ta, &d, &o);
    o.freeze_net = true;
    make(&b, &tb, &d, &o);
    size_t nd = b.table.n_dense, nt = b.table.n_total;
    real *dense0 = xmalloc(sizeof(real) * nd), *rows0 = xmalloc(sizeof(real) * (nt - nd));
    memcpy(dense0, b.params, sizeof(real) * nd);
    memcpy(rows0, b.params + nd, sizeof(real) * (nt - nd));
    CHECK(b.frozen && !a.frozen, "freeze_net marks the model frozen");
    trainer_advance(&ta);   // DIS: N_sup = 2 optimizer steps
    trainer_advance(&tb);
    CHECK(!memcmp(dense0, b.params, sizeof(real) * nd), "frozen: the network is unchanged");
    CHECK(memcmp(rows0, b.params + nd, sizeof(real) * (nt - nd)) != 0, "frozen: the puzzle rows learn");
    CHECK(ta.step == 2 && tb.step == 2, "two optimizer steps each");
    trainer_free(&tb);
    CHECK(!b.frozen, "trainer_free unfreezes the model");
    trainer_free(&ta);
    // One forward and backward from the same weights: the puzzle gradient is the same
    // bits with and without the weight gradients, which stay zero when frozen.
    Model c, f;
    make_model(&c);
    make_model(&f);
    f.frozen = true;
    int B = 2, L = c.cfg.seq_len, V = c.cfg.vocab;
    int32_t tokens[8] = { 1, 2, 1, 1, 2, 2, 1, 2 }, ids[2] = { 1, 3 };
    real *dlogits = xmalloc(sizeof(real) * (size_t)B * L * V);
    for (int i = 0; i < B * L * V; i++) dlogits[i] = (real)(0.01 * ((i * 7) % 11) - 0.05);
    Model *ms[2] = { &c, &f };
    for (int k = 0; k < 2; k++) {
        model_plan(ms[k], B, true);
        Carry cy = carry_new(ms[k], B);
        carry_reset(ms[k], &cy, NULL);
        model_zero_grad(ms[k]);
        model_forward(ms[k], &cy, tokens, ids, 1, true);
        model_backward(ms[k], dlogits, NULL);
        carry_free(&cy);
    }
    CHECK(!memcmp(c.puzzle_grad, f.puzzle_grad, sizeof(real) * (size_t)B * c.cfg.hidden),
          "frozen: the same puzzle gradient bits");
    const ParamSpec *qkv = param_find(&f.table, "L_level.layers.0.self_attn.qkv_proj.weight");
    double gsum = 0;
    for (size_t i = 0; qkv && i < qkv->numel; i++) gsum += fabs(f.grads[qkv->offset + i]);
    CHECK(qkv && gsum == 0, "frozen: no weight gradient computed (qkv: %g)", gsum);
    free(dlogits);
    model_free(&c);
    model_free(&f);
    model_free(&a);
    model_free(&b);
    free(dense0);
    free(rows0);
    dataset_free(&d);
}

int main(void) {
    test_frozen();
    test_groups();
    test_schedule();
    test_selection();
    return test_summary("sampler");
}
