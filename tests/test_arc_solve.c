// test_arc_solve.c: ARC task files (single tasks, Kaggle challenges with solutions, and
// the bad files each refused with the file and the task named), the copies of a seen and
// an unseen task, test-time adaptation (the model passed in is never changed; frozen
// adaptation changes only the fresh rows; adapting the network learns a task the blank
// rows cannot), and determinism for a given seed.
#define _POSIX_C_SOURCE 200809L   // mkdtemp
#include "eval/arc_solve.h"
#include "tasks/arc.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static const char *put(const char *name, const char *text) {
    static char path[8][128];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 128, "%s/%s", dir, name);
    write_bytes(p, text, strlen(text));
    return p;
}

static void test_files(void) {
    char err[ERR_LEN];
    ArcTask *t;
    int n;
    bool kaggle;
    const char *one = put("abc123.json", "{\"train\": [{\"input\": [[1, 2]], \"output\": [[2, 1]]}], "
                                         "\"test\": [{\"input\": [[3, 4]]}], \"name\": \"ignored\"}");
    CHECK(arc_tasks_load(one, NULL, false, &t, &n, &kaggle, err) == 0, "single task: %s", err);
    CHECK(n == 1 && !kaggle && !strcmp(t[0].id, "abc123"), "single task: id from the file name");
    CHECK(t[0].num_demos == 1 && t[0].num_tests == 1 && t[0].test[0].out.h == 0, "single task: no solution known");
    CHECK(t[0].demo[0].out.w == 2 && t[0].demo[0].out.c[0] == 2, "single task: the demonstration's output");
    CHECK(!arc_task_has_solutions(&t[0]), "single task: nothing to score");
    arc_tasks_free(t, n);
    CHECK(arc_tasks_load(one, NULL, true, &t, &n, &kaggle, err) != 0 && strstr(err, "abc123") &&
          strstr(err, "no solution"), "scoring without a solution is refused: %s", err);

    const char *ch = put("c.json", "{\"t1\": {\"train\": [{\"input\": [[1]], \"output\": [[2]]}], \"test\": [{\"input\": [[3]]}]},"
                                   " \"t2\": {\"train\": [{\"input\": [[1]], \"output\": [[2]]}], \"test\": [{\"input\": [[4]]}, {\"input\": [[5]]}]}}");
    const char *sol = put("s.json", "{\"t1\": [[[4]]], \"t2\": [[[5]], [[6, 6]]]}");
    CHECK(arc_tasks_load(ch, sol, true, &t, &n, &kaggle, err) == 0, "kaggle: %s", err);
    CHECK(n == 2 && kaggle && !strcmp(t[1].id, "t2") && t[1].num_tests == 2, "kaggle: two tasks in file order");
    CHECK(t[1].test[1].out.w == 2 && t[1].test[1].out.c[1] == 6 && arc_task_has_solutions(&t[1]), "kaggle: solutions merged");
    arc_tasks_free(t, n);

    struct { const char *name, *text, *solutions, *want; } bad[] = {
        { "notjson.json", "{\"train\": [", NULL, "not valid JSON" },
        { "list.json", "[1, 2]", NULL, "not an ARC task file" },
        { "empty.json", "{}", NULL, "not an ARC task file" },
        { "big.json", "{\"train\": [{\"input\": [[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]], \"output\": [[1]]}], "
                      "\"test\": [{\"input\": [[1]]}]}", NULL, "31 columns" },
        { "colour.json", "{\"train\": [{\"input\": [[10]], \"output\": [[1]]}], \"test\": [{\"input\": [[1]]}]}", NULL, "train 0 input" },
        { "nodemo.json", "{\"train\": [{\"input\": [[1]]}], \"test\": [{\"input\": [[1]]}]}", NULL, "no output" },
        { "notest.json", "{\"train\": [{\"input\": [[1]], \"output\": [[1]]}]}", NULL, "no \"test\"" },
        { "ragged.json", "{\"train\": [{\"input\": [[1], [1, 2]], \"output\": [[1]]}], \"test\": [{\"input\": [[1]]}]}", NULL, "row 1" },
        { "k1.json", "{\"t1\": {\"train\": [{\"input\": [[1]], \"output\": [[2]]}], \"test\": [{\"input\": [[3]]}]}}",
          "{\"t1\": [[[1]], [[2]]]}", "list of 1 solution" },
        { "k2.json", "{\"t1\": {\"train\": [{\"input\": [[1]], \"output\": [[2]]}], \"test\": [{\"input\": [[3]]}]}}",
          "{\"t9\": [[[1]]]}", "no solutions for task t1" },
        { "k3.json", "{\"t1\": 5}", NULL, "not an ARC task file" },
        { "k4.json", "{\"t1\": {\"train\": 5, \"test\": []}}", NULL, "task t1: \"train\" is not a list" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *p = put(bad[i].name, bad[i].text);
        const char *s = bad[i].solutions ? put("bad_sol.json", bad[i].solutions) : NULL;
        err[0] = 0;
        int rc = arc_tasks_load(p, s, s != NULL, &t, &n, &kaggle, err);
        CHECK(rc != 0 && t == NULL && strstr(err, bad[i].want) && (strstr(err, p) || (s && strstr(err, s))),
              "%s: refused naming the file and '%s': %s", bad[i].name, bad[i].want, err);
    }
}

// A tiny ARC model on a 3 x 3 canvas with `rows` puzzle-embedding rows.
static void tiny(Model *m, int rows) {
    TRMConfig c;
    char err[ERR_LEN];
    if (cfg_preset(&c, "compact", "dis", ARC_VOCAB, 9, rows, err)) die("%s", err);
    c.hidden = 32; c.heads = 2; c.N_sup = 2; c.puzzle_len = 2;
    model_create(m, &c, 7);
}

// "Swap the two cells": demonstrations and one test input with its solution.
static ArcTask swap_task(void) {
    ArcTask t = { .id = "swap", .num_demos = 3, .num_tests = 1 };
    static ArcPair demo[3], test[1];
    const uint8_t d[4][2] = { { 1, 2 }, { 3, 5 }, { 4, 6 }, { 7, 8 } };
    for (int i = 0; i < 4; i++) {
        ArcPair *p = i < 3 ? &demo[i] : &test[0];
        p->in = (ArcGrid){ .h = 1, .w = 2, .c = { d[i][0], d[i][1] } };
        p->out = (ArcGrid){ .h = 1, .w = 2, .c = { d[i][1], d[i][0] } };
    }
    t.demo = demo;
    t.test = test;
    return t;
}

static bool same_params(const Model *a, const Model *b, size_t n) {
    return !memcmp(a->params, b->params, sizeof(real) * n);
}

static void test_solve(void) {
    char err[ERR_LEN];
    Model m, before;
    tiny(&m, 4);
    tiny(&before, 4);
    ArcTask t = swap_task();
    ArcSolveOptions o;
    arc_solve_defaults(&o);
    infer_defaults(&o.io, &m.cfg);
    o.num_aug = 3;
    o.adapt_steps = 0;
    ArcSolved s;
    // Unseen, not adapted: the original and 3 copies, fresh rows.
    CHECK(arc_solve_task(&m, NULL, 0, &t, &o, &s, err) == 0, "unseen: %s", err);
    CHECK(!s.seen && s.copies == 4 && s.adapt_steps == 0, "unseen: 4 copies (%d), no adaptation", s.copies);
    CHECK(s.score.tasks == 1 && s.score.pairs == 1, "unseen: scored as one task with one test pair");
    CHECK(s.score.tasks_solved == 0, "unseen: the random network does not solve the swap untrained");
    CHECK(cJSON_GetArraySize(s.submission) == 1, "unseen: one submission entry per test input");
    arc_solved_free(&s);

    // Frozen adaptation: the model given is unchanged; the same seed gives the same answer.
    o.adapt_steps = 12;
    ArcSolved a1, a2;
    CHECK(arc_solve_task(&m, NULL, 0, &t, &o, &a1, err) == 0, "adapt: %s", err);
    CHECK(a1.adapt_steps == 12, "adapt: 12 steps (DIS: whole batches of N_sup 2), ran %ld", a1.adapt_steps);
    CHECK(same_params(&m, &before, m.table.n_total), "adapt: the model passed in is not changed");
    CHECK(arc_solve_task(&m, NULL, 0, &t, &o, &a2, err) == 0, "adapt again: %s", err);
    CHECK(!memcmp(a1.attempt, a2.attempt, sizeof(ArcGrid) * 2), "adapt: deterministic for a given seed");
    arc_solved_free(&a1);
    arc_solved_free(&a2);

    // Adapting the network too learns the swap from three demonstrations; the blank
    // rows of the random network do not solve it.
    o.adapt_net = true;
    o.adapt_net_lr = 3e-3;
    o.adapt_steps = 200;
    o.adapt_batch = 8;
    CHECK(arc_solve_task(&m, NULL, 0, &t, &o, &a1, err) == 0, "adapt-net: %s", err);
    CHECK(a1.score.tasks_solved == 1, "adapt-net: the swap task solved after 200 steps (pass@2 %.2f)", a1.score.pass[1]);
    CHECK(same_params(&m, &before, m.table.n_total), "adapt-net: trains a copy, not the model passed in");
    arc_solved_free(&a1);

    // Seen: a model whose identifiers name the task uses its rows (the original first).
    char *names[4] = { "<blank>", "swap|||t1|||0123456789", "other", "swap" };
    o.adapt_net = false;
    o.adapt_steps = 4;
    CHECK(arc_solve_task(&m, names, 4, &t, &o, &s, err) == 0, "seen: %s", err);
    CHECK(s.seen && s.copies == 2 && s.adapt_steps == 0, "seen: the model's 2 copies, no adaptation (%d)", s.copies);
    arc_solved_free(&s);
    o.adapt_always = true;
    CHECK(arc_solve_task(&m, names, 4, &t, &o, &s, err) == 0 && !s.seen && s.copies == 4 && s.adapt_steps > 0,
          "--adapt-always: fresh rows for a seen task");
    arc_solved_free(&s);

    // A grid larger than the canvas is refused with the task named.
    ArcTask big = swap_task();
    ArcPair p = big.demo[0];
    p.in.h = 4;
    big.demo = &p;
    big.num_demos = 1;
    CHECK(arc_solve_task(&m, NULL, 0, &big, &o, &s, err) != 0 && strstr(err, "swap") && strstr(err, "3 x 3 canvas"),
          "too large: %s", err);
    model_free(&m);
    model_free(&before);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/trm_arc_solve.XXXXXX");
    if (!mkdtemp(dir)) die("mkdtemp");
    test_files();
    test_solve();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {}
    return test_summary("arc_solve");
}
