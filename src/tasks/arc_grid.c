// arc_grid.c: ARC grids as the official builder and evaluator see them (see arc_grid.h).
#include "arc_grid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

const int ARC_DIHEDRAL_INVERSE[8] = {0, 3, 2, 1, 4, 5, 6, 7};

// ---------------------------------------------------------------------------------
// JSON

// One cell: an integer 0..9. A float such as 2.0 is accepted as numpy's astype would.
static int cell_from_json(const cJSON *x, int r, int c, uint8_t *out, char *err) {
    if (!cJSON_IsNumber(x)) return err_set(err, "cell at row %d column %d is not a number", r, c);
    double v = x->valuedouble;
    if (!(v >= 0 && v <= 9) || v != (double)(int)v)
        return err_set(err, "colour %g at row %d column %d (expected 0-9)", v, r, c);
    *out = (uint8_t)v;
    return 0;
}

int arc_grid_from_json(const cJSON *j, ArcGrid *g, char *err) {
    if (!cJSON_IsArray(j)) return err_set(err, "not a list of rows");
    int h = cJSON_GetArraySize(j);
    if (h == 0) return err_set(err, "empty grid (no rows)");
    if (h > ARC_MAX) return err_set(err, "grid of %d rows (at most %d)", h, ARC_MAX);
    int r = 0, w = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, j) {
        if (!cJSON_IsArray(row)) return err_set(err, "row %d is not a list", r);
        int n = cJSON_GetArraySize(row);
        if (r == 0) {
            if (n == 0) return err_set(err, "empty grid (row 0 has no cells)");
            if (n > ARC_MAX) return err_set(err, "grid of %d columns (at most %d)", n, ARC_MAX);
            w = n;
        } else if (n != w) {
            return err_set(err, "row %d has %d cells, row 0 has %d", r, n, w);
        }
        int c = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, row) {
            if (cell_from_json(x, r, c, &g->c[r * w + c], err)) return -1;
            c++;
        }
        r++;
    }
    g->h = h;
    g->w = w;
    return 0;
}

int arc_pairs_from_json(const cJSON *list, const char *what, bool optional_output, ArcPair **pairs, int *n,
                        char *err) {
    if (!cJSON_IsArray(list)) return err_set(err, "\"%s\" is not a list", what);
    int k = cJSON_GetArraySize(list), i = 0;
    *pairs = xrealloc(*pairs, sizeof(ArcPair) * (size_t)(*n + k + 1));
    char sub[ERR_LEN];
    for (const cJSON *e = list->child; e; e = e->next, i++) {
        ArcPair *p = &(*pairs)[*n + i];
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(e, "input");
        const cJSON *out = cJSON_GetObjectItemCaseSensitive(e, "output");
        p->out.h = p->out.w = 0;
        if (!cJSON_IsObject(e)) return err_set(err, "%s %d is not an object", what, i);
        if (!in) return err_set(err, "%s %d has no input", what, i);
        if (!out && !optional_output) return err_set(err, "%s %d has no output (and no solution)", what, i);
        if (arc_grid_from_json(in, &p->in, sub)) return err_set(err, "%s %d input: %s", what, i, sub);
        if (out && arc_grid_from_json(out, &p->out, sub)) return err_set(err, "%s %d output: %s", what, i, sub);
    }
    *n += k;
    return 0;
}

void arc_augment(const ArcGrid *in, int k, const uint8_t map[10], ArcGrid *out) {
    ArcGrid m = *in;
    arc_map_colours(&m, map);
    arc_dihedral(&m, k, out);
}

cJSON *arc_grid_to_json(const ArcGrid *g) {
    cJSON *rows = cJSON_CreateArray();
    for (int r = 0; r < g->h; r++) {
        cJSON *row = cJSON_CreateArray();
        for (int c = 0; c < g->w; c++) cJSON_AddItemToArray(row, cJSON_CreateNumber(g->c[r * g->w + c]));
        cJSON_AddItemToArray(rows, row);
    }
    return rows;
}

bool arc_grid_equal(const ArcGrid *a, const ArcGrid *b) {
    return a->h == b->h && a->w == b->w && memcmp(a->c, b->c, (size_t)a->h * a->w) == 0;
}

static int cmp_key(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

const char *arc_json_duplicate_key(const cJSON *obj) {
    int n = cJSON_GetArraySize(obj), i = 0;
    if (n < 2) return NULL;
    const char **keys = xmalloc(sizeof *keys * (size_t)n), *dup = NULL;
    for (const cJSON *c = obj->child; c; c = c->next) keys[i++] = c->string ? c->string : "";
    qsort(keys, (size_t)n, sizeof *keys, cmp_key);
    for (i = 1; i < n && !dup; i++)
        if (!strcmp(keys[i - 1], keys[i])) dup = keys[i];
    free(keys);
    return dup;
}

// ---------------------------------------------------------------------------------
// Symmetries

// Output cell (i, j) of transform k reads input cell off + i * di + j * dj of the h x w
// input. From numpy: rot90(k=1) gives out[i][j] = in[j][w-1-i]; the rest compose.
static void dihedral_strides(int k, int h, int w, int *off, int *di, int *dj) {
    int last_row = (h - 1) * w, last = last_row + w - 1;
    switch (k) {
    case 1: *off = w - 1;    *di = -1; *dj = w;  break;   // rot90, counter-clockwise
    case 2: *off = last;     *di = -w; *dj = -1; break;   // rot180
    case 3: *off = last_row; *di = 1;  *dj = -w; break;   // rot270
    case 4: *off = w - 1;    *di = w;  *dj = -1; break;   // fliplr
    case 5: *off = last_row; *di = -w; *dj = 1;  break;   // flipud
    case 6: *off = 0;        *di = 1;  *dj = w;  break;   // transpose
    case 7: *off = last;     *di = -1; *dj = -w; break;   // anti-transpose
    default: *off = 0;       *di = w;  *dj = 1;  break;   // 0 and unknown ids: identity
    }
}

void arc_dihedral(const ArcGrid *in, int k, ArcGrid *out) {
    bool swap = k == 1 || k == 3 || k == 6 || k == 7;
    out->h = swap ? in->w : in->h;
    out->w = swap ? in->h : in->w;
    int off, di, dj;
    dihedral_strides(k, in->h, in->w, &off, &di, &dj);
    uint8_t *o = out->c;
    for (int i = 0; i < out->h; i++)
        for (int j = 0; j < out->w; j++) *o++ = in->c[off + i * di + j * dj];
}

void arc_map_colours(ArcGrid *g, const uint8_t map[10]) {
    for (int i = 0; i < g->h * g->w; i++) g->c[i] = map[g->c[i]];
}

void arc_grid_hash(const ArcGrid *g, char hex[65]) {
    uint8_t buf[2 + ARC_MAX * ARC_MAX], digest[32];
    size_t n = (size_t)g->h * g->w;
    buf[0] = (uint8_t)g->h;
    buf[1] = (uint8_t)g->w;
    memcpy(buf + 2, g->c, n);
    sha256(buf, 2 + n, digest);
    sha256_hex(digest, hex);
}

// ---------------------------------------------------------------------------------
// Token canvas

void arc_encode(const ArcGrid *g, int G, int r0, int c0, uint8_t *seq) {
    memset(seq, ARC_PAD, (size_t)G * G);
    for (int r = 0; r < g->h; r++)
        for (int c = 0; c < g->w; c++) seq[(r0 + r) * G + c0 + c] = (uint8_t)(g->c[r * g->w + c] + 2);
    if (r0 + g->h < G)
        for (int c = 0; c < g->w; c++) seq[(r0 + g->h) * G + c0 + c] = ARC_EOS;
    if (c0 + g->w < G)
        for (int r = 0; r < g->h; r++) seq[(r0 + r) * G + c0 + g->w] = ARC_EOS;
}

static inline bool is_colour_token(uint8_t x) { return x >= 2 && x <= 11; }

void arc_crop(const uint8_t *seq, int G, ArcGrid *out) {
    if (G > ARC_MAX) die("arc_crop: canvas of %d (at most %d)", G, ARC_MAX);
    // The official _crop: the width can only shrink row by row, and a later, narrower
    // but taller rectangle wins only with a strictly larger area.
    int num_c = G, best_area = 0, best_r = 0, best_c = 0;
    for (int r = 1; r <= G; r++) {
        for (int c = 1; c <= num_c; c++) {
            if (!is_colour_token(seq[(r - 1) * G + c - 1])) {
                num_c = c - 1;
                break;
            }
        }
        if (r * num_c > best_area) {
            best_area = r * num_c;
            best_r = r;
            best_c = num_c;
        }
    }
    out->h = best_r;
    out->w = best_c;
    for (int r = 0; r < best_r; r++)
        for (int c = 0; c < best_c; c++) out->c[r * best_c + c] = (uint8_t)(seq[r * G + c] - 2);
}

// ---------------------------------------------------------------------------------
// Augmentation names

#define ARC_SEP "|||"

int arc_name_parse(const char *name, char *task, size_t cap, int *k, uint8_t map[10]) {
    const char *sep = strstr(name, ARC_SEP);
    size_t len = sep ? (size_t)(sep - name) : strlen(name);
    if (len + 1 > cap) return -1;
    if (!sep) {
        memcpy(task, name, len + 1);
        *k = 0;
        for (int i = 0; i < 10; i++) map[i] = (uint8_t)i;
        return 0;
    }
    // Exactly "t<digit>|||<10 digits>" after the task: anything else is not a name the
    // builder writes, and guessing would vote predictions into the wrong task.
    const char *p = sep + 3;
    if (len == 0 || p[0] != 't' || p[1] < '0' || p[1] > '7' || strncmp(p + 2, ARC_SEP, 3) != 0) return -1;
    const char *d = p + 5;
    if (strlen(d) != 10) return -1;
    bool seen[10] = {false};
    for (int i = 0; i < 10; i++) {
        if (d[i] < '0' || d[i] > '9' || seen[d[i] - '0']) return -1;
        seen[d[i] - '0'] = true;
        map[i] = (uint8_t)(d[i] - '0');
    }
    memcpy(task, name, len);
    task[len] = '\0';
    *k = p[1] - '0';
    return 0;
}

void arc_name_format(char *out, size_t cap, const char *task, int k, const uint8_t map[10]) {
    char digits[11];
    for (int i = 0; i < 10; i++) digits[i] = (char)('0' + map[i]);
    digits[10] = '\0';
    snprintf(out, cap, "%s" ARC_SEP "t%d" ARC_SEP "%s", task, k, digits);
}

void arc_unaugment(ArcGrid *g, int k, const uint8_t map[10]) {
    ArcGrid t;
    arc_dihedral(g, (k >= 0 && k < 8) ? ARC_DIHEDRAL_INVERSE[k] : 0, &t);
    // inv_perm = argsort(map): colour map[i] goes back to i.
    uint8_t inv[10] = {0};
    for (int i = 0; i < 10; i++) inv[map[i]] = (uint8_t)i;
    arc_map_colours(&t, inv);
    *g = t;
}
