// task.c: the task registry and the text dataset files shared by every task.
#include "task.h"
#include "arc.h"
#include "maze.h"
#include "nqueens.h"
#include "sudoku.h"
#include "io/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// New tasks add their entry here (and declare it in their own header).
static const Task *const TASKS[] = {
    &TASK_NQUEENS,
    &TASK_ARC,
    &TASK_SUDOKU,
    &TASK_MAZE,
};

const Task *task_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof TASKS / sizeof TASKS[0]; i++)
        if (strcmp(TASKS[i]->name, name) == 0) return TASKS[i];
    return maze_task_named(name);     // "maze-12": mazes of another size
}

Dataset dataset_alloc(int64_t n, int seq_len) {
    if (n < 0 || seq_len <= 0) die("dataset_alloc: bad shape %lld x %d", (long long)n, seq_len);
    Dataset ds = {.n = n, .seq_len = seq_len};
    ds.inputs = xcalloc((size_t)n * (size_t)seq_len, 1);
    ds.labels = xcalloc((size_t)n * (size_t)seq_len, 1);
    ds.puzzle_ids = xcalloc((size_t)MAX(n, 1), sizeof *ds.puzzle_ids);
    dataset_index_trivial(&ds);
    return ds;
}

void dataset_index_trivial(Dataset *ds) {
    if (ds->n > INT32_MAX) die("dataset_index_trivial: %lld examples", (long long)ds->n);
    free(ds->puzzle_index);
    free(ds->group_index);
    free(ds->identifiers);
    size_t n = (size_t)ds->n;
    ds->num_puzzles = ds->num_groups = ds->n;
    ds->puzzle_index = xmalloc(sizeof(int32_t) * (n + 1));
    ds->group_index = xmalloc(sizeof(int32_t) * (n + 1));
    ds->identifiers = xcalloc(n + 1, sizeof(int32_t));
    for (size_t i = 0; i <= n; i++) ds->puzzle_index[i] = ds->group_index[i] = (int32_t)i;
    if (ds->puzzle_ids)
        for (size_t i = 0; i < n; i++) ds->identifiers[i] = ds->puzzle_ids[i];
}

void dataset_truncate(Dataset *ds, int64_t n) {
    if (n < 0 || n > ds->n || ds->num_puzzles != ds->n || ds->num_groups != ds->n)
        die("dataset_truncate: %lld of %lld examples, or a data set with puzzle structure", (long long)n,
            (long long)ds->n);
    ds->n = n;
    dataset_index_trivial(ds);
}

void dataset_free(Dataset *ds) {
    if (!ds) return;
    bool mapped = false;
    for (int i = 0; i < 4; i++)
        if (ds->maps[i]) {
            npy_unmap(ds->maps[i]);
            free(ds->maps[i]);
            mapped = true;
        }
    if (!mapped) {
        free(ds->inputs);
        free(ds->labels);
    }
    free(ds->puzzle_ids);
    free(ds->puzzle_index);
    free(ds->group_index);
    free(ds->identifiers);
    *ds = (Dataset){0};
}

// ---------------------------------------------------------------- loading

// Rows are appended to a growing Dataset; n counts the rows in use, cap the room.
static void grow_to(Dataset *ds, int64_t *cap, int64_t need) {
    if (need <= *cap) return;
    int64_t c = *cap ? *cap : 256;
    while (c < need) c = c > (1 << 29) ? need : 2 * c;
    size_t bytes = (size_t)c * (size_t)ds->seq_len;
    ds->inputs = xrealloc(ds->inputs, bytes);
    ds->labels = xrealloc(ds->labels, bytes);
    *cap = c;
}

// "<input> <label>" or "<input>" (label then all PAD = unknown). The message says which
// half is wrong; the caller adds the file and line.
static int parse_line(const Task *t, const char *line, size_t len, uint8_t *in, uint8_t *lab,
                      char *err) {
    char sub[ERR_LEN];
    const char *sp = memchr(line, ' ', len);
    size_t ilen = sp ? (size_t)(sp - line) : len;
    if (t->parse(line, ilen, in, sub) < 0) return err_set(err, "input: %s", sub);
    if (!sp) {
        memset(lab, 0, (size_t)t->seq_len);
        return 0;
    }
    if (t->parse(sp + 1, len - ilen - 1, lab, sub) < 0) return err_set(err, "label: %s", sub);
    return 0;
}

static size_t strip_eol(char *line, size_t len) {
    if (len && line[len - 1] == '\n') len--;
    if (len && line[len - 1] == '\r') len--;   // CRLF files
    return len;
}

// Reads every line of f into ds. Empty lines are allowed only at the end of the file (a
// trailing blank line is a common editor artefact; one in the middle more likely means a
// truncated or concatenated file).
static int read_lines(const Task *t, FILE *f, const char *path, Dataset *ds, char *err) {
    char *line = NULL, sub[ERR_LEN];
    size_t size = 0;
    ssize_t got;
    long lineno = 0, first_blank = 0;
    int64_t cap = 0;
    int rc = 0;
    while (rc == 0 && (got = getline(&line, &size, f)) >= 0) {
        size_t len = strip_eol(line, (size_t)got);
        lineno++;
        if (len == 0) {
            if (!first_blank) first_blank = lineno;
            continue;
        }
        if (first_blank) rc = err_set(err, "%s:%ld: empty line", path, first_blank);
        else if (ds->n == 0x7fffffff) rc = err_set(err, "%s:%ld: too many examples", path, lineno);
        if (rc) break;
        grow_to(ds, &cap, ds->n + 1);
        size_t off = (size_t)ds->n * (size_t)ds->seq_len;
        if (parse_line(t, line, len, ds->inputs + off, ds->labels + off, sub) < 0)
            rc = err_set(err, "%s:%ld: %s", path, lineno, sub);
        else ds->n++;
    }
    if (rc == 0 && ferror(f)) rc = err_set(err, "%s: read failed: %s", path, strerror(errno));
    free(line);
    return rc;
}

int dataset_load(const Task *task, const char *path, Dataset *ds, char *err) {
    *ds = (Dataset){.seq_len = task->seq_len};
    FILE *f = fopen(path, "r");
    if (!f) {
        *ds = (Dataset){0};
        return err_set(err, "%s: cannot open: %s", path, strerror(errno));
    }
    int rc = read_lines(task, f, path, ds, err);
    fclose(f);
    if (rc == 0 && ds->n == 0) rc = err_set(err, "%s: no examples", path);
    if (rc < 0) {
        dataset_free(ds);
        return -1;
    }
    ds->puzzle_ids = xcalloc((size_t)ds->n, sizeof *ds->puzzle_ids);
    dataset_index_trivial(ds);
    return 0;
}

// ---------------------------------------------------------------- saving

static bool all_pad(const uint8_t *tokens, int n) {
    for (int i = 0; i < n; i++)
        if (tokens[i]) return false;
    return true;
}

// Writes the rows; a label of all PAD (unknown) is left out, so load reads it back as such.
static void write_rows(const Task *t, FILE *f, const Dataset *ds) {
    int L = ds->seq_len;
    char *buf = xmalloc((size_t)L + 1);
    for (int64_t i = 0; i < ds->n; i++) {
        const uint8_t *lab = ds->labels + (size_t)i * L;
        t->format(ds->inputs + (size_t)i * L, buf);
        fputs(buf, f);
        if (!all_pad(lab, L)) {
            t->format(lab, buf);
            fputc(' ', f);
            fputs(buf, f);
        }
        fputc('\n', f);
    }
    free(buf);
}

// Written to a temporary file beside path and renamed over it, so a crash or a full disk
// never leaves a half-written dataset at path.
int dataset_save(const Task *task, const char *path, const Dataset *ds, char *err) {
    if (ds->seq_len != task->seq_len)
        return err_set(err, "%s: dataset has %d tokens per example, task %s has %d", path,
                       ds->seq_len, task->name, task->seq_len);
    size_t tlen = strlen(path) + 32;
    char *tmp = xmalloc(tlen);
    snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        err_set(err, "%s: cannot create %s: %s", path, tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    write_rows(task, f, ds);
    int bad = ferror(f);
    int saved_errno = errno;
    if (fclose(f) != 0 && !bad) bad = 1, saved_errno = errno;
    if (!bad && rename(tmp, path) != 0) bad = 1, saved_errno = errno;
    if (bad) {
        remove(tmp);
        err_set(err, "%s: cannot write: %s", path, strerror(saved_errno));
    }
    free(tmp);
    return bad ? -1 : 0;
}
