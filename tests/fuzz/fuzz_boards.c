// fuzz_boards.c: the text data files (dataset_load, tasks/task.c: one "<input> <label>"
// line per example) with the board readers of N-Queens (tasks/nqueens.c), Sudoku and
// the maze size the first line has (sudoku.c, maze.c), then what training and trm eval
// do with each row (the check, the group, the order of --targets solver). What a reader
// accepts it must write back unchanged: format then parse gives the same tokens.
#include "fuzz.h"
#include "tasks/maze.h"
#include "tasks/task.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void round_trip(const Task *t, const uint8_t *tokens) {
    int L = t->seq_len;
    char *text = xmalloc((size_t)L + 1), err[ERR_LEN];
    uint8_t *again = xmalloc((size_t)L);
    t->format(tokens, text);
    if (t->parse(text, strlen(text), again, err) || memcmp(again, tokens, (size_t)L)) {
        fprintf(stderr, "fuzz: %s: a board read from the file does not read back as written: '%s'\n", t->name, text);
        abort();
    }
    free(text);
    free(again);
}

// As --targets solver asks (train/targets.c): the label with PAD cells as the input's.
static void solver_order(const Task *t, const uint8_t *in, const uint8_t *label) {
    int L = t->seq_len, *order = xmalloc(sizeof(int) * (size_t)L);
    uint8_t *lab = xmalloc((size_t)L);
    for (int i = 0; i < L; i++) lab[i] = label[i] ? label[i] : in[i];
    int k = t->solver_order(in, lab, order);
    for (int j = 0; j < k; j++)
        if (k > L || order[j] < 0 || order[j] >= L) {
            fprintf(stderr, "fuzz: %s: solver order of %d cells lists cell %d\n", t->name, k, order[j]);
            abort();
        }
    free(order);
    free(lab);
}

static bool all_pad(const uint8_t *p, int n) {
    for (int i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *path = fuzz_file("boards.txt", data, size), err[ERR_LEN];
    const uint8_t *nl = memchr(data, '\n', size), *sp = memchr(data, ' ', nl ? (size_t)(nl - data) : size);
    size_t first = sp ? (size_t)(sp - data) : nl ? (size_t)(nl - data) : size;
    int side = (int)lround(sqrt((double)first));
    const Task *maze = maze_task(side) ? maze_task(side) : maze_task(MAZE_MAX);
    const Task *tasks[3] = { task_find("nqueens"), task_find("sudoku"), maze };
    for (int k = 0; k < 3; k++) {
        const Task *t = tasks[k];
        Dataset ds;
        err[0] = 0;
        int rc = dataset_load(t, path, &ds, err);
        fuzz_result(rc, err, path);
        for (int64_t i = 0; !rc && i < ds.n; i++) {
            const uint8_t *in = ds.inputs + i * t->seq_len, *lab = ds.labels + i * t->seq_len;
            round_trip(t, in);
            if (!all_pad(lab, t->seq_len)) round_trip(t, lab);
            if (t->check) t->check(in, lab);       // as trm eval judges a row
            if (t->group) t->group(in);
            if (t->solver_order) solver_order(t, in, lab);
        }
        if (!rc) dataset_free(&ds);
    }
    free(path);
    return 0;
}
