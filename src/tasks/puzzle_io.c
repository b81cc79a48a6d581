// puzzle_io.c: the sapientinc CSV files and the one-embedding dataset directory.
#include "puzzle_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/dataset_dir.h"

// ---------------------------------------------------------------- reading

// Splits a line into at most 4 fields in place. A quoted field ends at its closing
// quote ("" inside is one quote), as Python's csv module reads it.
static int split_fields(char *p, char **field, size_t *len, char *err) {
    int n = 0;
    for (;;) {
        if (n == 4) return err_set(err, "more than 4 fields (expected %s)", PUZZLE_CSV_HEADER);
        char *start = p, *w = p;
        if (*p == '"') {
            for (p++;; p++) {
                if (!*p) return err_set(err, "field %d: the quote is not closed", n + 1);
                if (*p == '"' && p[1] != '"') break;
                if (*p == '"') p++;
                *w++ = *p;
            }
            p++;
            if (*p && *p != ',') return err_set(err, "field %d: text after the closing quote", n + 1);
        } else {
            while (*p && *p != ',') *w++ = *p++;
        }
        bool more = *p == ',';
        *w = 0;
        field[n] = start;
        len[n++] = (size_t)(w - start);
        if (!more) break;
        p++;
    }
    if (n < 4) return err_set(err, "%d field%s (expected %s)", n, n == 1 ? "" : "s", PUZZLE_CSV_HEADER);
    return 0;
}

static size_t strip_eol(char *line, size_t len) {
    if (len && line[len - 1] == '\n') line[--len] = 0;
    if (len && line[len - 1] == '\r') line[--len] = 0;
    return len;
}

static int read_rows(FILE *f, const char *path, CsvRowFn fn, void *ctx, char *err) {
    char *line = NULL, sub[ERR_LEN];
    size_t cap = 0;
    ssize_t got;
    long lineno = 0, first_blank = 0, rows = 0;
    int rc = 0;
    while (!rc && (got = getline(&line, &cap, f)) >= 0) {
        size_t len = strip_eol(line, (size_t)got);
        lineno++;
        if (lineno == 1) {
            if (strcmp(line, PUZZLE_CSV_HEADER))
                rc = err_set(err, "%s:1: header '%.60s' (expected %s)", path, line, PUZZLE_CSV_HEADER);
            continue;
        }
        if (len == 0) {
            if (!first_blank) first_blank = lineno;
            continue;
        }
        if (first_blank) {
            rc = err_set(err, "%s:%ld: empty line", path, first_blank);
            break;
        }
        char *fl[4];
        size_t fn_len[4];
        CsvRow row = { .line = lineno };
        if (split_fields(line, fl, fn_len, sub) == 0) {
            row.source = fl[0], row.question = fl[1], row.answer = fl[2], row.rating = fl[3];
            row.qlen = fn_len[1], row.alen = fn_len[2];
            if (fn(ctx, &row, sub) == 0) {
                rows++;
                continue;
            }
        }
        rc = err_set(err, "%s:%ld: %s", path, lineno, sub);
    }
    if (!rc && ferror(f)) rc = err_set(err, "%s: read failed: %s", path, strerror(errno));
    if (!rc && lineno == 0) rc = err_set(err, "%s: empty file (expected the header %s)", path, PUZZLE_CSV_HEADER);
    else if (!rc && rows == 0) rc = err_set(err, "%s: no puzzles after the header", path);
    free(line);
    return rc;
}

int puzzle_csv_read(const char *path, CsvRowFn fn, void *ctx, char *err) {
    FILE *f = fopen(path, "r");
    if (!f) return err_set(err, "%s: cannot open: %s", path, strerror(errno));
    int rc = read_rows(f, path, fn, ctx, err);
    fclose(f);
    return rc;
}

// ---------------------------------------------------------------- writing

int puzzle_csv_write(const char *path, const char *source_prefix, const char *q, const char *a, int64_t n,
                     size_t len, const int *rating, char *err) {
    for (int64_t i = 0; i < n; i++)
        if (strcspn(q + i * len, ",\"\r\n") < len || strcspn(a + i * len, ",\"\r\n") < len)
            return err_set(err, "%s: row %lld has a character that needs CSV quoting", path, (long long)i + 1);
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    fprintf(f, "%s\r\n", PUZZLE_CSV_HEADER);   // csv.writer's default line end
    for (int64_t i = 0; i < n; i++)
        fprintf(f, "%s%lld,%.*s,%.*s,%d\r\n", source_prefix, (long long)i, (int)len, q + i * len, (int)len,
                a + i * len, rating ? rating[i] : 0);
    fclose(f);
    int rc = write_file_atomic(path, buf, size, err);
    free(buf);
    return rc;
}

// ---------------------------------------------------------------- the directory

int64_t *puzzle_subsample(Mt19937 *r, int64_t n, long k) {
    if (k <= 0 || k >= n) return NULL;
    if (n > INT32_MAX) die("puzzle_subsample: %lld rows", (long long)n);
    int *perm = xmalloc(sizeof(int) * (size_t)n);
    mt_permutation(r, perm, (int)n);
    int64_t *pick = xmalloc(sizeof(int64_t) * (size_t)k);
    for (long i = 0; i < k; i++) pick[i] = perm[i];
    free(perm);
    return pick;
}

void dataset_group_copies(Dataset *ds, int copies) {
    if (copies < 1 || ds->n % copies || ds->num_puzzles != ds->n)
        die("dataset_group_copies: %lld examples in groups of %d", (long long)ds->n, copies);
    ds->num_groups = ds->n / copies;
    for (int64_t g = 0; g <= ds->num_groups; g++) ds->group_index[g] = (int32_t)(g * copies);
}

int puzzle_dir_save(const char *dir, const char *const *names, const Dataset *const *splits, int nsplits,
                    int vocab, char *err) {
    int rc = 0;
    for (int k = 0; k < nsplits && !rc; k++) {
        DatasetMeta m = dataset_meta_of(splits[k], vocab, 1);
        m.total_puzzles = m.total_groups;       // as the official Sudoku and Maze builders
        m.mean_puzzle_examples = 1;
        rc = dataset_dir_save(dir, names[k], splits[k], &m, err);
    }
    char *blank[1] = { "<blank>" };
    if (!rc) rc = identifiers_save(dir, blank, 1, err);
    return rc;
}
