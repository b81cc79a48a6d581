// trm solve: a trained model on puzzles given by the user. N-Queens (and every task with
// a text format): boards on stdin, answers on stdout. ARC: a task file (or a Kaggle
// challenges file), each test input predicted over augmented copies and voted on, the
// attempts drawn as grids (eval/arc_solve.h, tasks/arc_render.h).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "eval/arc_solve.h"
#include "tasks/arc_render.h"

#define SOLVE_USAGE "usage: trm solve --model M < puzzles.txt > answers.txt   (N-Queens, Sudoku, maze: one per line)\n" \
                    "       trm solve --task arc --model M TASK.json | CHALLENGES.json --all|--id TASK [options]"

// Read puzzles from stdin, one per line; nothing is printed unless every line parses.
static int read_puzzles(const Task *task, Dataset *ds) {
    char err[ERR_LEN], *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int n = 0, alloc = 0, rc = 0;
    uint8_t *inputs = NULL;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (n == alloc) {
            alloc = alloc ? 2 * alloc : 64;
            inputs = xrealloc(inputs, (size_t)alloc * task->seq_len);
        }
        if (task->parse(line, (size_t)len, inputs + (size_t)n * task->seq_len, err)) {
            rc = fail("stdin:%d: %s", n + 1, err);
            break;
        }
        n++;
    }
    free(line);
    if (!rc && n == 0) rc = fail("stdin: no puzzles");
    if (rc) {
        free(inputs);
        return rc;
    }
    *ds = dataset_alloc(n, task->seq_len);
    memcpy(ds->inputs, inputs, (size_t)n * task->seq_len);
    free(inputs);
    return 0;
}

// Text puzzles: every line of stdin, answers in the same order on stdout.
static int solve_lines(LoadedModel *lm, const InferOptions *io) {
    Dataset ds;
    int rc = read_puzzles(lm->task, &ds);
    if (rc) return rc;
    int L = lm->task->seq_len;
    int32_t *pred = xmalloc(sizeof(int32_t) * (size_t)ds.n * L);
    EvalResult r;
    evaluate(&lm->m, lm->task, &ds, io, &r, pred, NULL);
    uint8_t *answer = xmalloc(L);
    char *text = xmalloc(L + 1);
    bool draw = lm->task->draw && isatty(fileno(stdout));   // a grid on a terminal, one line for programs
    for (int i = 0; i < ds.n; i++) {
        for (int k = 0; k < L; k++) answer[k] = (uint8_t)pred[(size_t)i * L + k];
        if (draw) {
            printf("%s", i ? "\n" : "");
            lm->task->draw(stdout, answer);
            continue;
        }
        lm->task->format(answer, text);
        printf("%s\n", text);
    }
    fprintf(stderr, "solve: %lld puzzles, %.0f valid (%.1f%%)\n", (long long)ds.n, r.step[r.steps - 1].valid,
            100.0 * r.step[r.steps - 1].valid / ds.n);
    free(answer); free(text); free(pred);
    eval_result_free(&r);
    dataset_free(&ds);
    return 0;
}

// ---------------------------------------------------------------- ARC

typedef struct {
    const char *file, *solutions, *id, *out, *svg;
    bool all;
    ArcSolveOptions o;
} ArcSolveArgs;

// What one solved task prints: a header line, then per test input the input, both
// attempts (marked right or wrong when the solution is known) and the solution.
static void print_task(const ArcTask *t, const ArcSolved *s, bool scored, int width, bool colour) {
    bool unicode = arc_render_unicode();
    printf("task %s: ", t->id);
    if (s->seen) printf("seen in training, %d of the model's copies", s->copies);
    else if (s->adapt_steps) printf("%d copies, adapted %ld steps in %.1f s", s->copies, s->adapt_steps, s->adapt_seconds);
    else printf("%d copies, not adapted", s->copies);
    if (scored) printf(", pass@2 %.3f%s", s->score.pass[1], s->score.tasks_solved ? " (solved)" : "");
    printf(", %.1f s\n", s->seconds);
    for (int e = 0; e < t->num_tests; e++) {
        char title[3][48];
        snprintf(title[0], sizeof title[0], "test %d input", e + 1);
        for (int a = 0; a < 2; a++) {
            bool known = t->test[e].out.h > 0, right = known && arc_grid_equal(&s->attempt[e][a], &t->test[e].out);
            snprintf(title[1 + a], sizeof title[1 + a], "attempt %d%s%s", a + 1, known ? " " : "",
                     known ? arc_render_mark(right, unicode) : "");
        }
        ArcPanel p[4] = { { title[0], &t->test[e].in }, { title[1], &s->attempt[e][0] },
                          { title[2], &s->attempt[e][1] }, { "solution", &t->test[e].out } };
        arc_render_text(stdout, p, t->test[e].out.h ? 4 : 3, width, colour);
        printf("\n");
    }
    fflush(stdout);
}

// The SVG picture: one row of panels per test input of every task.
typedef struct {
    ArcPanel *p;
    char (*title)[64];
    ArcGrid *grids;
    int rows;
} Picture;

static void picture_add(Picture *pic, const ArcTask *t, const ArcSolved *s) {
    for (int e = 0; e < t->num_tests; e++) {
        int r = pic->rows++;
        pic->p = xrealloc(pic->p, sizeof(ArcPanel) * 4 * (size_t)pic->rows);
        pic->title = xrealloc(pic->title, sizeof *pic->title * 4 * (size_t)pic->rows);
        pic->grids = xrealloc(pic->grids, sizeof(ArcGrid) * 4 * (size_t)pic->rows);
        const ArcGrid *g[4] = { &t->test[e].in, &s->attempt[e][0], &s->attempt[e][1], &t->test[e].out };
        for (int k = 0; k < 4; k++) {
            bool known = t->test[e].out.h > 0;
            if (k == 0) snprintf(pic->title[4 * r], 64, "%s test %d", t->id, e + 1);
            else if (k == 3) snprintf(pic->title[4 * r + 3], 64, "%s", known ? "solution" : "(no solution)");
            else snprintf(pic->title[4 * r + k], 64, "attempt %d%s%s", k, known ? " " : "",
                          known ? arc_render_mark(arc_grid_equal(g[k], g[3]), true) : "");
            pic->grids[4 * r + k] = *g[k];
        }
    }
    for (int i = 0; i < 4 * pic->rows; i++)      // the arrays moved: point again
        pic->p[i] = (ArcPanel){ pic->title[i], pic->grids[i].h ? &pic->grids[i] : NULL };
}

// A skipped task's submission entry: [[0]] for both attempts of every test input.
static cJSON *placeholder(const ArcTask *t) {
    cJSON *list = cJSON_CreateArray();
    ArcGrid zero = { .h = 1, .w = 1 };
    for (int e = 0; e < t->num_tests; e++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddItemToObject(x, "attempt_1", arc_grid_to_json(&zero));
        cJSON_AddItemToObject(x, "attempt_2", arc_grid_to_json(&zero));
        cJSON_AddItemToArray(list, x);
    }
    return list;
}

static int solve_arc(LoadedModel *lm, const ArcSolveArgs *a) {
    char err[ERR_LEN];
    ArcTask *tasks;
    int n;
    bool kaggle;
    if (arc_tasks_load(a->file, a->solutions, a->solutions != NULL, &tasks, &n, &kaggle, err)) return fail("%s", err);
    int first = 0, count = n, rc = 0;
    if (a->id) {
        for (first = 0; first < n && strcmp(tasks[first].id, a->id); first++) {}
        if (first == n) rc = fail("%s: no task %s", a->file, a->id);
        count = 1;
    } else if (kaggle && n > 1 && !a->all) {
        rc = fail("%s holds %d tasks: give --all, or --id TASK", a->file, n);
    }
    // Every task is checked before any is solved. A task larger than the canvas is an
    // error, except with --all: it is skipped (said on stderr, not scored) and gets the
    // placeholder attempts [[0]] in the submission, which must list every task.
    bool scored = true;
    int G = (int)lround(sqrt((double)lm->m.cfg.seq_len)), skipped = 0;
    bool *skip = xcalloc((size_t)n + 1, 1);
    for (int i = first; i < first + count && !rc; i++) {
        if (arc_task_fits(&tasks[i], G, err)) {
            if (!a->all) rc = fail("%s: %s", a->file, err);
            skip[i] = true;
            skipped++;
        } else {
            scored = scored && arc_task_has_solutions(&tasks[i]);
        }
    }
    if (!rc && skipped)
        fprintf(stderr, "solve: %d of the %d tasks do not fit the model's %d x %d canvas: skipped, not scored\n",
                skipped, count, G, G);
    int width = arc_render_width(stdout);
    bool colour = arc_render_colour(stdout);
    cJSON *sub = cJSON_CreateObject();
    Picture pic = {0};
    double pass2 = 0, kaggle_sum = 0;
    int solved = 0, pairs = 0;
    for (int i = first; i < first + count && !rc; i++) {
        ArcSolved s;
        if (skip[i]) {
            cJSON_AddItemToObject(sub, tasks[i].id, placeholder(&tasks[i]));
            continue;
        }
        if (arc_solve_task(&lm->m, lm->names, lm->num_names, &tasks[i], &a->o, &s, err)) {
            rc = fail("%s: %s", a->file, err);
            break;
        }
        print_task(&tasks[i], &s, scored, width, colour);
        pass2 += s.score.pass[1];
        kaggle_sum += s.score.kaggle * s.score.pairs;
        pairs += s.score.pairs;
        solved += s.score.tasks_solved;
        cJSON_AddItemToObject(sub, tasks[i].id, s.submission);
        s.submission = NULL;
        if (a->svg) picture_add(&pic, &tasks[i], &s);
        arc_solved_free(&s);
    }
    if (!rc && scored && count > skipped)
        printf("%d task%s: pass@2 %.4f (official: mean per task), Kaggle %.4f (mean over %d test outputs), %d solved\n",
               count - skipped, count - skipped == 1 ? "" : "s", pass2 / (count - skipped), kaggle_sum / MAX(pairs, 1), pairs, solved);
    if (!rc && a->out) {
        char *text = cJSON_PrintUnformatted(sub);
        if (write_file_atomic(a->out, text, strlen(text), err)) rc = fail("%s", err);
        free(text);
    }
    if (!rc && a->svg && arc_render_svg(a->svg, a->file, pic.p, pic.rows, 4, err)) rc = fail("%s", err);
    free(pic.p); free(pic.title); free(pic.grids);
    cJSON_Delete(sub);
    free(skip);
    arc_tasks_free(tasks, n);
    return rc;
}

int cmd_solve(int argc, char **argv) {
    const char *model = NULL, *feed = NULL, *precision = "fp32", *task = NULL;
    int threads = 0, adapt = -1;
    uint64_t seed = 0;
    ArcSolveArgs a = {0};
    arc_solve_defaults(&a.o);
    InferOptions io = a.o.io;
    ArgSpec spec[] = {
        INFER_OPTIONS(model, io, threads, precision),
        { "", ARG_STR, &a.file, "", 0, 0 },
        { "task", ARG_STR, &task, "the model's task (arc: read TASK.json)", 0, 0 },
        { "all", ARG_FLAG, &a.all, "arc: every task of a Kaggle challenges file", 0, 0 },
        { "id", ARG_STR, &a.id, "arc: only this task of a challenges file", 0, 0 },
        { "solutions", ARG_STR, &a.solutions, "arc: Kaggle solutions file: score the attempts", 0, 0 },
        { "num-aug", ARG_INT, &a.o.num_aug, "arc: augmented copies voted besides the original (0: the plain task)", 0, 1000 },
        { "adapt", ARG_INT, &adapt, "arc: test-time adaptation steps for a task the model has not seen "
                                    "(default 48; 0: none)", 0, 1000000 },
        { "adapt-net", ARG_FLAG, &a.o.adapt_net, "arc: adapt a copy of the network too", 0, 0 },
        { "adapt-always", ARG_FLAG, &a.o.adapt_always, "arc: adapt fresh rows even for a task seen in training", 0, 0 },
        { "adapt-lr", ARG_DOUBLE, &a.o.adapt_lr, "arc: sign-SGD rate of the adapted rows", 0, 10 },
        { "adapt-net-lr", ARG_DOUBLE, &a.o.adapt_net_lr, "arc: AdamW rate of the network with --adapt-net", 0, 10 },
        { "adapt-batch", ARG_INT, &a.o.adapt_batch, "arc: demonstrations per adaptation batch", 1, 65536 },
        { "seed", ARG_U64, &seed, "arc: seed of the copies and the adaptation", 0, 4294967295.0 },
        { "out", ARG_STR, &a.out, "arc: write the attempts as a Kaggle submission.json", 0, 0 },
        { "svg", ARG_STR, &a.svg, "arc: draw inputs, attempts and solutions into an SVG file", 0, 0 },
    };
    int rc = parse_or_help(argc, argv, SOLVE_USAGE, spec, sizeof spec / sizeof *spec);
    if (rc) return rc;
    a.o.adapt_steps = adapt >= 0 ? adapt : 48;
    a.o.seed = (uint32_t)seed;
    if (task && !task_find(task)) return fail("--task: unknown task '%s' (nqueens, arc, sudoku, maze, maze-N)", task);
    if ((a.out && check_out_path(a.out)) || (a.svg && check_out_path(a.svg))) return 1;
    LoadedModel lm;
    if ((rc = infer_setup(&lm, &io, model, feed, threads, precision, NULL, NULL))) return rc;
    bool arc = !strcmp(lm.task->name, "arc");
    const Task *want = task ? task_find(task) : NULL;     // --task maze fits a maze of any size
    if (want && want != lm.task && !(want->sized && want->sized(lm.task->seq_len) == lm.task)) rc = fail("--task %s: %s is a %s model", task, model, lm.task->name);
    else if (arc && !a.file) rc = fail("an ARC model solves a task file: trm solve --task arc --model M TASK.json");
    else if (!arc && (a.file || a.out || a.svg || a.solutions || a.all || a.id))
        rc = fail("a task file, --out, --svg, --solutions, --all and --id are for ARC models (%s is a %s model)", model,
                  lm.task->name);
    else if (arc) {
        a.o.io = io;
        rc = solve_arc(&lm, &a);
    } else {
        rc = solve_lines(&lm, &io);
    }
    unload_model(&lm);
    return rc;
}
