// test_arc_vote.c: the ARC evaluator on hand-made test sets whose scores are worked
// out by hand: votes, ties broken by mean sigmoid(q) and then by first-seen order,
// pass@K, official (per task) vs Kaggle (per pair) means, missing predictions, the
// submission JSON, and test_puzzles.json loading (the reference file and broken ones).
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/arc_vote.h"
#include "test.h"

enum { G = ARC_MAX };

static const uint8_t MAPS[3][10] = {
    {0, 3, 9, 1, 7, 2, 8, 6, 4, 5},
    {0, 9, 8, 7, 6, 5, 4, 3, 2, 1},
    {0, 2, 1, 4, 3, 6, 5, 8, 7, 9},
};

static ArcGrid grid(const char *json) {
    char err[ERR_LEN];
    ArcGrid g;
    cJSON *j = cJSON_Parse(json);
    if (arc_grid_from_json(j, &g, err)) die("bad test grid %s: %s", json, err);
    cJSON_Delete(j);
    return g;
}

// One prediction as the model would make it: on the augmented copy (colours mapped,
// then transform k) of the task's input, answering the augmented pred. map < 0: the
// original task under its plain name.
typedef struct {
    const char *task;
    int k, map;
    const char *input, *pred;
    double q;     // the halting logit
} Vote;

static void add_vote(ArcVoter *v, const Vote *x) {
    static const uint8_t identity[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    const uint8_t *map = x->map < 0 ? identity : MAPS[x->map];
    int k = x->map < 0 ? 0 : x->k;
    ArcGrid in = grid(x->input), pred = grid(x->pred), a, b;
    arc_map_colours(&in, map);
    arc_dihedral(&in, k, &a);
    arc_map_colours(&pred, map);
    arc_dihedral(&pred, k, &b);
    uint8_t si[G * G], sp[G * G];
    arc_encode(&a, G, 0, 0, si);
    arc_encode(&b, G, 0, 0, sp);
    char name[128], err[ERR_LEN];
    if (x->map < 0) snprintf(name, sizeof name, "%s", x->task);
    else arc_name_format(name, sizeof name, x->task, k, map);
    CHECK(arc_voter_add(v, name, si, sp, G, x->q, err) == 0, "add %s: %s", name, err);
}

static ArcVoter *voter_of(const Vote *vs, int n) {
    ArcVoter *v = arc_voter_new();
    for (int i = 0; i < n; i++) add_vote(v, &vs[i]);
    return v;
}

static char tmp_path[64];

static int load_text(ArcTestSet *s, const char *json, char *err) {
    write_bytes(tmp_path, json, strlen(json));
    return arc_testset_load(s, tmp_path, err);
}

static void load_json(ArcTestSet *s, const char *json) {
    char err[ERR_LEN];
    if (load_text(s, json, err)) die("test set: %s", err);
}

// Scores votes against a one-task, one-pair test set; the submission as text.
static ArcScore score_of(const char *testset, const Vote *vs, int n, char **sub_text) {
    ArcTestSet s;
    load_json(&s, testset);
    ArcVoter *v = voter_of(vs, n);
    ArcScore sc;
    cJSON *sub = NULL;
    arc_voter_score(v, &s, &sc, &sub);
    if (sub_text) *sub_text = cJSON_PrintUnformatted(sub);
    cJSON_Delete(sub);
    arc_voter_free(v);
    arc_testset_free(&s);
    return sc;
}

// The one-pair task used by the ranking cases: a 2 x 3 input (so transposing
// transforms change its shape), the right answer R and wrong ones W and X.
#define IN "[[1,2,3],[4,5,6]]"
#define R "[[6,5,4],[3,2,1]]"
#define W "[[1]]"
#define X "[[2,2]]"
static const char *ONE = "{\"a\": {\"test\": [{\"input\": " IN ", \"output\": " R "}], \"train\": []}}";

static void test_majority(void) {
    // (a) 3 copies right with a low q, 2 wrong with a high q: votes count first.
    const Vote vs[] = {
        {"a", 1, 0, IN, R, -2}, {"a", 0, 1, IN, W, 5}, {"a", 3, 1, IN, R, -2},
        {"a", 6, 1, IN, W, 5},  {"a", 7, 2, IN, R, -2},
    };
    char *sub;
    ArcScore sc = score_of(ONE, vs, 5, &sub);
    CHECK(sc.num_ks == 6 && sc.ks[0] == 1 && sc.ks[1] == 2 && sc.ks[5] == 1000, "the Ks");
    CHECK(sc.pass[0] == 1 && sc.pass[5] == 1 && sc.kaggle == 1, "majority: pass@1 %g", sc.pass[0]);
    CHECK(sc.tasks == 1 && sc.pairs == 1 && sc.tasks_solved == 1 && sc.task_pass2[0] == 1, "majority counts");
    CHECK(strcmp(sub, "{\"a\":[{\"attempt_1\":" R ",\"attempt_2\":" W "}]}") == 0, "majority submission: %s", sub);
    free(sub);
    arc_score_free(&sc);
}

static void test_q_tiebreak(void) {
    // (b) 2 votes each; W first seen, but R has the higher mean sigmoid(q).
    const Vote vs[] = {{"a", 2, 0, IN, W, 0}, {"a", 4, 1, IN, W, 0}, {"a", 5, 2, IN, R, 1}, {"a", 1, 0, IN, R, 1}};
    ArcScore sc = score_of(ONE, vs, 4, NULL);
    CHECK(sc.pass[0] == 1, "equal votes, higher mean q wins: pass@1 %g", sc.pass[0]);
    arc_score_free(&sc);
    // The mean sigmoid, not the best vote: R's logits 4 and 0 (sigmoid 0.982, 0.5, mean
    // 0.741) rank below W's 2 and 2 (0.881).
    const Vote vm[] = {{"a", 0, 0, IN, W, 2}, {"a", 3, 1, IN, W, 2},
                       {"a", 7, 2, IN, R, 4}, {"a", 6, 1, IN, R, 0}};
    sc = score_of(ONE, vm, 4, NULL);
    CHECK(sc.pass[0] == 0 && sc.pass[1] == 1, "mean q: pass@1 %g pass@2 %g", sc.pass[0], sc.pass[1]);
    arc_score_free(&sc);
}

static void test_first_seen(void) {
    // (c) the same count and the same q: first seen ranks first.
    const Vote wr[] = {{"a", 1, 0, IN, W, 0.3}, {"a", 2, 1, IN, R, 0.3}};
    char *sub;
    ArcScore sc = score_of(ONE, wr, 2, &sub);
    CHECK(sc.pass[0] == 0 && sc.pass[1] == 1, "full tie, W first: pass@1 %g pass@2 %g", sc.pass[0], sc.pass[1]);
    CHECK(strcmp(sub, "{\"a\":[{\"attempt_1\":" W ",\"attempt_2\":" R "}]}") == 0, "tie submission: %s", sub);
    free(sub);
    arc_score_free(&sc);
    const Vote rw[] = {{"a", 2, 1, IN, R, 0.3}, {"a", 1, 0, IN, W, 0.3}};
    sc = score_of(ONE, rw, 2, NULL);
    CHECK(sc.pass[0] == 1, "full tie, R first: pass@1 %g", sc.pass[0]);
    arc_score_free(&sc);
}

static void test_pass_k(void) {
    // (d) W 3 votes, R 2, X 1: right at K = 2, not at K = 1.
    const Vote vs[] = {{"a", 0, 0, IN, W, 0}, {"a", 1, 0, IN, R, 0}, {"a", 2, 0, IN, W, 0},
                       {"a", 3, 0, IN, X, 0}, {"a", 4, 0, IN, R, 0}, {"a", 5, 0, IN, W, 0}};
    ArcScore sc = score_of(ONE, vs, 6, NULL);
    CHECK(sc.pass[0] == 0 && sc.pass[1] == 1 && sc.kaggle == 1 && sc.tasks_solved == 1,
          "pass@2 not pass@1: %g %g", sc.pass[0], sc.pass[1]);
    arc_score_free(&sc);
    // R third (W 3, X 2, R 1): only from K = 5.
    const Vote v3[] = {{"a", 0, 0, IN, W, 0}, {"a", 1, 0, IN, X, 0}, {"a", 2, 0, IN, W, 0},
                       {"a", 3, 0, IN, X, 0}, {"a", 4, 0, IN, R, 9}, {"a", 5, 0, IN, W, 0}};
    sc = score_of(ONE, v3, 6, NULL);
    CHECK(sc.pass[1] == 0 && sc.pass[2] == 1 && sc.pass[3] == 1 && sc.kaggle == 0 && sc.tasks_solved == 0,
          "pass@5 not pass@2: %g %g", sc.pass[1], sc.pass[2]);
    arc_score_free(&sc);
    // Votes for another task with the same input do not count for this one.
    const Vote other[] = {{"a", 0, 0, IN, W, 0}, {"b", 1, 0, IN, R, 0}, {"b", 2, 0, IN, R, 0}};
    sc = score_of(ONE, other, 3, NULL);
    CHECK(sc.pass[5] == 0, "another task's votes: pass@1000 %g", sc.pass[5]);
    arc_score_free(&sc);
}

// (e) Task x: 2 pairs, one right (score 0.5); task y: 1 pair, right (score 1).
// Official = (0.5 + 1) / 2 = 0.75; Kaggle = 2 right of 3 pairs = 0.6667.
static void test_means(void) {
    const char *ts =
        "{\"x\": {\"train\": [], \"test\": [{\"input\": [[1]], \"output\": [[2]]},"
        "                                 {\"input\": [[3]], \"output\": [[4]]}]},"
        " \"y\": {\"test\": [{\"input\": [[5]], \"output\": [[6,6]]}]}}";
    const Vote vs[] = {{"x", 1, 0, "[[1]]", "[[2]]", 0}, {"x", 2, 1, "[[3]]", "[[5]]", 0},
                       {"y", 6, 2, "[[5]]", "[[6,6]]", 0}};
    ArcScore sc = score_of(ts, vs, 3, NULL);
    CHECK_NEAR(sc.pass[0], 0.75, 1e-15, "official pass@1");
    CHECK_NEAR(sc.pass[1], 0.75, 1e-15, "official pass@2");
    CHECK_NEAR(sc.kaggle, 2.0 / 3.0, 1e-15, "kaggle");
    CHECK(sc.tasks == 2 && sc.pairs == 3 && sc.tasks_solved == 1, "counts %d %d %d", sc.tasks, sc.pairs,
          sc.tasks_solved);
    CHECK(sc.task_pass2[0] == 0 && sc.task_pass2[1] == 1, "task_pass2");
    CHECK(sc.pairs_without_prediction == 0, "all pairs predicted");
    arc_score_free(&sc);
}

// (f) A pair nobody predicted scores 0 and still gets its [[0]] attempts.
static void test_no_prediction(void) {
    const char *ts = "{\"z\": {\"test\": [{\"input\": [[1]], \"output\": [[2]]}, {\"input\": [[3]], \"output\": [[4]]}]}}";
    const Vote vs[] = {{"z", 5, 0, "[[1]]", "[[2]]", 0}};
    char *sub;
    ArcScore sc = score_of(ts, vs, 1, &sub);
    CHECK(sc.pairs_without_prediction == 1, "pairs without prediction: %d", sc.pairs_without_prediction);
    CHECK_NEAR(sc.pass[5], 0.5, 0, "half the task");
    CHECK(strcmp(sub, "{\"z\":[{\"attempt_1\":[[2]],\"attempt_2\":[[2]]},"
                      "{\"attempt_1\":[[0]],\"attempt_2\":[[0]]}]}") == 0, "submission: %s", sub);
    free(sub);
    arc_score_free(&sc);
    // No votes at all.
    sc = score_of(ts, NULL, 0, &sub);
    CHECK(sc.pass[5] == 0 && sc.kaggle == 0 && sc.pairs_without_prediction == 2, "no votes at all");
    free(sub);
    arc_score_free(&sc);
}

// (g) Tasks in file order (not sorted), one list entry per test input, attempts
// de-augmented: predictions made on t3 / t7 copies with colour maps come back in the
// original orientation and colours. The last pair of mm has no known output: a miss.
static void test_submission(void) {
    const char *ts =
        "{\"zz\": {\"test\": [{\"input\": [[1,2,3]], \"output\": [[1],[2],[3]]},"
        "                    {\"input\": [[4,5],[6,7]], \"output\": [[7,6],[5,4]]}], \"train\": []},"
        " \"aa\": {\"train\": [], \"test\": [{\"input\": [[9,8,7],[1,1,1]], \"output\": [[3,4]]}]},"
        " \"mm\": {\"test\": [{\"input\": [[2]], \"output\": [[2,0,2]]}, {\"input\": [[3]]}]}}";
    const Vote vs[] = {
        {"zz", 3, 0, "[[1,2,3]]", "[[1],[2],[3]]", 1},
        {"zz", 7, 1, "[[4,5],[6,7]]", "[[7,6],[5,4]]", 1},
        {"zz", 1, 2, "[[4,5],[6,7]]", "[[0,1,2],[3,4,5]]", 2},
        {"aa", 7, 1, "[[9,8,7],[1,1,1]]", "[[3,4],[5,6],[0,0]]", 0},
        {"aa", 3, 0, "[[9,8,7],[1,1,1]]", "[[3,4]]", -1},
        {"mm", 3, 2, "[[2]]", "[[2,0,2]]", 0},
        {"mm", 0, -1, "[[2]]", "[[2,0,2]]", 0},     // the original, pooled with the copy
        {"mm", 6, 1, "[[3]]", "[[3,3]]", 0},
    };
    char *sub;
    ArcScore sc = score_of(ts, vs, (int)(sizeof vs / sizeof *vs), &sub);
    const char *want =
        "{\"zz\":[{\"attempt_1\":[[1],[2],[3]],\"attempt_2\":[[1],[2],[3]]},"
        "{\"attempt_1\":[[0,1,2],[3,4,5]],\"attempt_2\":[[7,6],[5,4]]}],"
        "\"aa\":[{\"attempt_1\":[[3,4],[5,6],[0,0]],\"attempt_2\":[[3,4]]}],"
        "\"mm\":[{\"attempt_1\":[[2,0,2]],\"attempt_2\":[[2,0,2]]},{\"attempt_1\":[[3,3]],\"attempt_2\":[[3,3]]}]}";
    CHECK(strcmp(sub, want) == 0, "submission:\n  got  %s\n  want %s", sub, want);
    // zz: 1 + 0 at K = 1, 1 + 1 at K = 2; aa: 0 / 1; mm: 1 + 0 (the unknown output).
    CHECK_NEAR(sc.pass[0], (0.5 + 0 + 0.5) / 3, 1e-15, "official pass@1");
    CHECK_NEAR(sc.pass[1], (1 + 1 + 0.5) / 3, 1e-15, "official pass@2");
    CHECK_NEAR(sc.kaggle, 4.0 / 5.0, 1e-15, "kaggle");
    CHECK(sc.tasks_solved == 2 && sc.task_pass2[0] && sc.task_pass2[1] && !sc.task_pass2[2], "solved");
    arc_score_free(&sc);

    // The structure, read back through cJSON.
    cJSON *j = cJSON_Parse(sub);
    const char *order[3] = {"zz", "aa", "mm"};
    const int len[3] = {2, 1, 2};
    int t = 0;
    const cJSON *task;
    cJSON_ArrayForEach(task, j) {
        CHECK(t < 3 && strcmp(task->string, order[t]) == 0 && cJSON_GetArraySize(task) == len[t],
              "task %d of the submission", t);
        const cJSON *pair;
        cJSON_ArrayForEach(pair, task) {
            CHECK(cJSON_GetArraySize(pair) == 2 && strcmp(pair->child->string, "attempt_1") == 0 &&
                  strcmp(pair->child->next->string, "attempt_2") == 0, "attempt keys");
        }
        t++;
    }
    CHECK(t == 3, "3 tasks in the submission");
    cJSON_Delete(j);
    free(sub);
}

static void test_add_errors(void) {
    char err[ERR_LEN];
    uint8_t seq[G * G] = {2, 1};
    ArcVoter *v = arc_voter_new();
    CHECK(arc_voter_add(v, "abc|||t9|||0123456789", seq, seq, G, 0, err) == -1 && strstr(err, "abc|||t9"),
          "malformed name: %s", err);
    CHECK(arc_voter_add(v, "abc", seq, seq, 31, 0, err) == -1, "canvas too large");
    CHECK(arc_voter_add(v, "abc", seq, seq, G, 0, err) == 0, "a good row");
    arc_voter_free(v);
}

// (h) The reference test_puzzles.json; every test pair answered correctly on 8
// augmented copies (plus one wrong vote each) must score 1 everywhere.
static void test_reference_file(void) {
    const char *path = "../shared/data/reference/arc1-aug0/test_puzzles.json";
    if (access(path, R_OK) != 0) {
        printf("SKIP: arc_vote reference test set (%s not found)\n", path);
        return;
    }
    char err[ERR_LEN];
    ArcTestSet s;
    CHECK(arc_testset_load(&s, path, err) == 0, "load reference: %s", err);
    int pairs = 0;
    for (int i = 0; i < s.n; i++) pairs += s.task[i].num_tests;
    CHECK(s.n == 400 && pairs == 419, "reference: %d tasks, %d pairs", s.n, pairs);
    CHECK(strcmp(s.task[0].id, "bc4146bd") == 0 && strcmp(s.task[2].id, "8dae5dfc") == 0, "file order");

    ArcVoter *v = arc_voter_new();
    uint8_t si[G * G], sp[G * G];
    int add_errors = 0;
    for (int i = 0; i < s.n; i++) {
        for (int p = 0; p < s.task[i].num_tests; p++) {
            for (int k = 0; k < 8; k++) {
                const uint8_t *map = MAPS[k % 3];
                ArcGrid in = s.task[i].input[p], out = s.task[i].output[p], a, b;
                arc_map_colours(&in, map);
                arc_dihedral(&in, k, &a);
                arc_map_colours(&out, map);
                arc_dihedral(&out, k, &b);
                arc_encode(&a, G, 0, 0, si);
                arc_encode(&b, G, 0, 0, sp);
                char name[64];
                arc_name_format(name, sizeof name, s.task[i].id, k, map);
                add_errors += arc_voter_add(v, name, si, sp, G, -1.0, err) != 0;
            }
            arc_encode(&s.task[i].input[p], G, 0, 0, si);
            memset(sp, 5, sizeof sp);
            add_errors += arc_voter_add(v, s.task[i].id, si, sp, G, 10.0, err) != 0;
        }
    }
    CHECK(add_errors == 0, "%d rows refused", add_errors);
    ArcScore sc;
    cJSON *sub;
    arc_voter_score(v, &s, &sc, &sub);
    CHECK(sc.pass[0] == 1 && sc.kaggle == 1 && sc.tasks_solved == 400 && sc.pairs == 419, "reference score");
    CHECK(cJSON_GetArraySize(sub) == 400, "submission of the reference set");
    arc_score_free(&sc);
    cJSON_Delete(sub);
    arc_voter_free(v);
    arc_testset_free(&s);
}

static void test_bad_files(void) {
    struct { const char *json, *want; } bad[] = {
        {"{\"t1\": {\"test\": [{\"input\": [[1]], \"output\": [[1]]}]}", "not valid JSON"},
        {"[1, 2]", "not a JSON object"},
        {"{}", "no tasks"},
        {"{\"t1\": {\"test\": [{\"input\": [[1]]}]}} x", "data after the JSON value"},
        {"{\"ok\": {\"test\": [{\"input\": [[1]]}]}, \"t2\": 5}", "task t2: not an object"},
        {"{\"t3\": {\"train\": []}}", "task t3: no \"test\" list"},
        {"{\"t4\": {\"test\": []}}", "task t4: empty \"test\" list"},
        {"{\"t5\": {\"test\": [{\"input\": [[1]]}, {\"output\": [[1]]}]}}", "task t5: test 1: no \"input\""},
        {"{\"t6\": {\"test\": [{\"input\": [[1]]}, {\"input\": [[1]]}, {\"input\": [[1,2],[3]]}]}}",
         "task t6: test 2 input: row 1 has 1 cells, row 0 has 2"},
        {"{\"t7\": {\"test\": [{\"input\": [[1]], \"output\": [[10]]}]}}",
         "task t7: test 0 output: colour 10 at row 0 column 0 (expected 0-9)"},
        {"{\"t8\": {\"test\": [{\"input\": [[1]]}]}, \"t8\": {\"test\": [{\"input\": [[1]]}]}}", "task t8: listed twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[ERR_LEN] = "";
        ArcTestSet s;
        CHECK(load_text(&s, bad[i].json, err) == -1 && strstr(err, tmp_path) && strstr(err, bad[i].want),
              "bad file %zu: got '%s', want '%s'", i, err, bad[i].want);
        CHECK(s.n == 0 && s.task == NULL, "nothing left after a failed load");
    }
    char err[ERR_LEN];
    ArcTestSet s;
    CHECK(arc_testset_load(&s, "/nonexistent/test_puzzles.json", err) == -1 &&
          strstr(err, "/nonexistent/test_puzzles.json"), "missing file: %s", err);
    // An absent output is unknown (h = 0), not an error.
    CHECK(load_text(&s, "{\"t\": {\"test\": [{\"input\": [[1]]}]}}", err) == 0 && s.task[0].output[0].h == 0,
          "absent output");
    arc_testset_free(&s);
}

int main(void) {
    snprintf(tmp_path, sizeof tmp_path, "/tmp/test_arc_vote_%ld.json", (long)getpid());
    test_majority();
    test_q_tiebreak();
    test_first_seen();
    test_pass_k();
    test_means();
    test_no_prediction();
    test_submission();
    test_add_errors();
    test_bad_files();
    test_reference_file();
    remove(tmp_path);
    return test_summary("arc_vote");
}
