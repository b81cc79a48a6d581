// dataset_dir.c: the official TRM dataset directory, mapped and validated.
#include "io/dataset_dir.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const ARRAYS[5] = {
    "all__inputs.npy", "all__labels.npy", "all__puzzle_identifiers.npy",
    "all__puzzle_indices.npy", "all__group_indices.npy",
};

static char *split_path(const char *dir, const char *split, const char *name) {
    size_t n = strlen(dir) + strlen(split) + strlen(name) + 3;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s/%s", dir, split, name);
    return p;
}

bool dataset_dir_exists(const char *dir, const char *split) {
    char *p = split_path(dir, split, "dataset.json");
    bool ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}

// ---------------------------------------------------------------- dataset.json

static int get_int64(const cJSON *o, const char *key, int64_t lo, int64_t hi, int64_t *out,
                     const char *path, char *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return err_set(err, "%s: \"%s\" is missing or not an integer", path, key);
    if (v->valuedouble < (double)lo || v->valuedouble > (double)hi)
        return err_set(err, "%s: \"%s\" is %.0f, outside [%lld, %lld]", path, key, v->valuedouble,
                       (long long)lo, (long long)hi);
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int get_int(const cJSON *o, const char *key, int lo, int hi, int *out, const char *path, char *err) {
    int64_t v = 0;
    if (get_int64(o, key, lo, hi, &v, path, err)) return -1;
    *out = (int)v;
    return 0;
}

static int parse_meta(const char *path, const char *text, DatasetMeta *m, char *err) {
    cJSON *o = cJSON_ParseWithOpts(text, NULL, true);   // nothing may follow the object (json.load)
    int rc = 0;
    if (!cJSON_IsObject(o)) rc = err_set(err, "%s: not a JSON object", path);
    const cJSON *ign = cJSON_GetObjectItemCaseSensitive(o, "ignore_label_id");
    if (!rc && cJSON_IsNull(ign))
        rc = err_set(err, "%s: ignore_label_id null (every label trained) is not supported", path);
    if (!rc) rc = get_int(o, "pad_id", 0, 255, &m->pad_id, path, err);
    if (!rc) rc = get_int(o, "ignore_label_id", 0, 0, &m->ignore_label_id, path, err);
    if (!rc) rc = get_int(o, "blank_identifier_id", 0, INT32_MAX, &m->blank_identifier_id, path, err);
    if (!rc) rc = get_int(o, "vocab_size", 2, 256, &m->vocab_size, path, err);
    if (!rc) rc = get_int(o, "seq_len", 1, 1 << 20, &m->seq_len, path, err);
    if (!rc) rc = get_int64(o, "num_puzzle_identifiers", 1, INT32_MAX, &m->num_puzzle_identifiers, path, err);
    if (!rc) rc = get_int64(o, "total_groups", 0, INT32_MAX, &m->total_groups, path, err);
    if (!rc) rc = get_int64(o, "total_puzzles", 0, INT32_MAX, &m->total_puzzles, path, err);
    const cJSON *mean = cJSON_GetObjectItemCaseSensitive(o, "mean_puzzle_examples");
    if (!rc && !cJSON_IsNumber(mean)) rc = err_set(err, "%s: \"mean_puzzle_examples\" is missing", path);
    if (!rc) m->mean_puzzle_examples = mean->valuedouble;
    const cJSON *sets = cJSON_GetObjectItemCaseSensitive(o, "sets");
    if (!rc && !(cJSON_IsArray(sets) && cJSON_GetArraySize(sets) == 1 &&
                 cJSON_IsString(sets->child) && !strcmp(sets->child->valuestring, "all")))
        rc = err_set(err, "%s: \"sets\" must be [\"all\"] (merged data sets are not supported)", path);
    if (!rc && m->blank_identifier_id >= m->num_puzzle_identifiers)
        rc = err_set(err, "%s: blank_identifier_id %d is not below num_puzzle_identifiers %lld", path,
                     m->blank_identifier_id, (long long)m->num_puzzle_identifiers);
    cJSON_Delete(o);
    return rc;
}

void py_float_repr(double x, char *out, size_t cap) {
    if (!isfinite(x)) {
        snprintf(out, cap, "%s", isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
        return;
    }
    int p = 1;
    char buf[64];
    for (; p < 17; p++) {     // the fewest significant digits that read back exactly
        snprintf(buf, sizeof buf, "%.*e", p - 1, x);
        if (strtod(buf, NULL) == x) break;
    }
    snprintf(buf, sizeof buf, "%.*e", p - 1, x);
    int e = atoi(strchr(buf, 'e') + 1);
    if (e >= -4 && e < 16) {  // repr writes positional notation in this range
        snprintf(out, cap, "%.*f", MAX(p - 1 - e, 0), x);
        if (!strchr(out, '.')) strncat(out, ".0", cap - strlen(out) - 1);
    } else {
        snprintf(out, cap, "%s", buf);
    }
}

// The code point of the well-formed UTF-8 sequence at p (no overlong forms, surrogates
// or values past U+10FFFF) and its length; 0 when p does not start one.
static int utf8_decode(const unsigned char *p, uint32_t *cp) {
    int len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;
    if (!len || p[0] > 0xf4) return 0;
    uint32_t c = p[0] & (0x7f >> len);
    for (int i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;   // also stops at the NUL
        c = c << 6 | (p[i] & 0x3f);
    }
    static const uint32_t lo[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (c < lo[len] || c > 0x10ffff || (c >= 0xd800 && c < 0xe000)) return 0;
    *cp = c;
    return len;
}

void py_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        uint32_t c;
        int len;
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\r') fputs("\\r", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p == '\b') fputs("\\b", f);
        else if (*p == '\f') fputs("\\f", f);
        else if (*p >= 0x80 && (len = utf8_decode(p, &c)) > 0) {   // code points, as Python
            if (c >= 0x10000)                                      // UTF-16 surrogate pair
                fprintf(f, "\\u%04x\\u%04x", 0xd800 + ((c - 0x10000) >> 10), 0xdc00 + ((c - 0x10000) & 0x3ff));
            else
                fprintf(f, "\\u%04x", c);
            p += len - 1;
        }
        else if (*p < 0x20 || *p >= 0x7f) fprintf(f, "\\u%04x", *p);   // control, DEL, a stray byte
        else fputc(*p, f);
    }
    fputc('"', f);
}

int dataset_meta_write(const char *path, const DatasetMeta *m, char *err) {
    char mean[64], buf[1024];
    py_float_repr(m->mean_puzzle_examples, mean, sizeof mean);
    int n = snprintf(buf, sizeof buf,
                     "{\"pad_id\": %d, \"ignore_label_id\": %d, \"blank_identifier_id\": %d, "
                     "\"vocab_size\": %d, \"seq_len\": %d, \"num_puzzle_identifiers\": %lld, "
                     "\"total_groups\": %lld, \"mean_puzzle_examples\": %s, \"total_puzzles\": %lld, "
                     "\"sets\": [\"all\"]}",
                     m->pad_id, m->ignore_label_id, m->blank_identifier_id, m->vocab_size, m->seq_len,
                     (long long)m->num_puzzle_identifiers, (long long)m->total_groups, mean,
                     (long long)m->total_puzzles);
    return write_file_atomic(path, buf, (size_t)n, err);
}

DatasetMeta dataset_meta_of(const Dataset *ds, int vocab, int64_t num_puzzle_identifiers) {
    return (DatasetMeta){
        .vocab_size = vocab, .seq_len = ds->seq_len, .num_puzzle_identifiers = num_puzzle_identifiers,
        .total_groups = ds->num_groups, .total_puzzles = ds->num_puzzles,
        .mean_puzzle_examples = ds->num_puzzles ? (double)ds->n / (double)ds->num_puzzles : 0,
    };
}

// ---------------------------------------------------------------- loading

// offsets[0..count] must start at 0, never decrease and end at `end`.
static int check_csr(const int32_t *off, int64_t count, int64_t end, const char *path, char *err) {
    if (off[0] != 0) return err_set(err, "%s: the first offset is %d, expected 0", path, off[0]);
    for (int64_t i = 0; i < count; i++)
        if (off[i + 1] < off[i])
            return err_set(err, "%s: offset %lld (%d) is below the one before it (%d)", path,
                           (long long)(i + 1), off[i + 1], off[i]);
    if (off[count] != end)
        return err_set(err, "%s: the last offset is %d, expected %lld", path, off[count], (long long)end);
    return 0;
}

// The largest token of a mapped array, scanned in parallel (gigabytes for a full ARC build).
static int max_token(const uint8_t *p, size_t n) {
    int mx = 0;
    #pragma omp parallel for reduction(max : mx) schedule(static)
    for (size_t i = 0; i < n; i++) mx = p[i] > mx ? p[i] : mx;
    return mx;
}

static int check_tokens(const NpyArray *a, int vocab, const char *path, char *err) {
    int mx = max_token(a->data, (size_t)a->numel);
    if (mx < vocab) return 0;
    const uint8_t *p = a->data;
    size_t i = 0;
    while (p[i] < vocab) i++;
    int64_t L = a->shape[1];
    return err_set(err, "%s: token %d at row %lld, position %lld is not below vocab_size %d", path, p[i],
                   (long long)(i / L), (long long)(i % L), vocab);
}

static int32_t *copy_i32(const NpyArray *a) {
    int32_t *p = xmalloc(sizeof(int32_t) * (size_t)MAX(a->numel, 1));
    memcpy(p, a->data, sizeof(int32_t) * (size_t)a->numel);
    return p;
}

static int load_arrays(const char *dir, const char *split, const DatasetMeta *m, NpyArray a[5],
                       char *err) {
    int64_t L = m->seq_len;
    int64_t shapes[5][2] = { { -1, L }, { -1, L }, { -1 }, { -1 }, { -1 } };
    NpyDtype types[5] = { NPY_U8, NPY_U8, NPY_I32, NPY_I32, NPY_I32 };
    int rc = 0;
    for (int i = 0; i < 5 && !rc; i++) {
        char *p = split_path(dir, split, ARRAYS[i]);
        if (i == 1) shapes[1][0] = a[0].shape[0];        // as many labels as inputs
        if (i == 3) shapes[3][0] = a[2].shape[0] + 1;    // one offset per puzzle, plus the end
        rc = npy_map(&a[i], p, types[i], i < 2 ? 2 : 1, shapes[i], err);
        if (!rc && i == 4 && a[4].shape[0] < 1) rc = err_set(err, "%s: no offsets", p);
        if (!rc && i == 0 && a[0].shape[0] > INT32_MAX)
            rc = err_set(err, "%s: %lld examples (int32 offsets allow 2^31 - 1)", p, (long long)a[0].shape[0]);
        free(p);
    }
    return rc;
}

static int validate(const char *dir, const char *split, const DatasetMeta *m, NpyArray a[5], char *err) {
    char *p[5];
    for (int i = 0; i < 5; i++) p[i] = split_path(dir, split, ARRAYS[i]);
    int64_t N = a[0].shape[0], P = a[2].shape[0], G = a[4].shape[0] - 1;
    int rc = check_tokens(&a[0], m->vocab_size, p[0], err);
    if (!rc) rc = check_tokens(&a[1], m->vocab_size, p[1], err);
    if (!rc) rc = check_csr(a[3].data, P, N, p[3], err);
    if (!rc) rc = check_csr(a[4].data, G, P, p[4], err);
    const int32_t *ids = a[2].data;
    for (int64_t i = 0; !rc && i < P; i++)
        if (ids[i] < 0 || ids[i] >= m->num_puzzle_identifiers)
            rc = err_set(err, "%s: puzzle %lld has identifier %d, outside [0, %lld) (num_puzzle_identifiers)",
                         p[2], (long long)i, ids[i], (long long)m->num_puzzle_identifiers);
    if (!rc && G != m->total_groups) {
        char *mp = split_path(dir, split, "dataset.json");
        rc = err_set(err, "%s: total_groups %lld, but %s has %lld groups", mp, (long long)m->total_groups,
                     p[4], (long long)G);
        free(mp);
    }
    for (int i = 0; i < 5; i++) free(p[i]);
    return rc;
}

int dataset_dir_load(const char *dir, const char *split, Dataset *ds, DatasetMeta *meta, char *err) {
    *ds = (Dataset){0};
    char *mpath = split_path(dir, split, "dataset.json");
    char *text = read_file(mpath, NULL, err);
    int rc = text ? parse_meta(mpath, text, meta, err) : -1;
    free(text);
    free(mpath);
    if (rc) return -1;
    NpyArray a[5] = {{0}};
    rc = load_arrays(dir, split, meta, a, err);
    if (!rc) rc = validate(dir, split, meta, a, err);
    if (!rc) {
        ds->n = a[0].shape[0];
        ds->seq_len = meta->seq_len;
        ds->inputs = (uint8_t *)a[0].data;
        ds->labels = (uint8_t *)a[1].data;
        ds->num_puzzles = a[2].shape[0];
        ds->num_groups = a[4].shape[0] - 1;
        ds->identifiers = copy_i32(&a[2]);
        ds->puzzle_index = copy_i32(&a[3]);
        ds->group_index = copy_i32(&a[4]);
        ds->puzzle_ids = xmalloc(sizeof(int32_t) * (size_t)MAX(ds->n, 1));
        for (int64_t q = 0; q < ds->num_puzzles; q++)
            for (int32_t e = ds->puzzle_index[q]; e < ds->puzzle_index[q + 1]; e++)
                ds->puzzle_ids[e] = ds->identifiers[q];
        for (int i = 0; i < 2; i++) {   // the token arrays stay mapped; the dataset owns them
            ds->maps[i] = xmalloc(sizeof(NpyArray));
            memcpy(ds->maps[i], &a[i], sizeof(NpyArray));
        }
        for (int i = 2; i < 5; i++) npy_unmap(&a[i]);
    } else {
        for (int i = 0; i < 5; i++) npy_unmap(&a[i]);
    }
    return rc;
}

// ---------------------------------------------------------------- saving

static int make_dir(const char *path, char *err) {
    if (!mkdir(path, 0755) || errno == EEXIST) return 0;
    return err_set(err, "%s: cannot create directory: %s", path, strerror(errno));
}

int dataset_dir_save(const char *dir, const char *split, const Dataset *ds, const DatasetMeta *meta,
                     char *err) {
    char *sub = path_join(dir, split);
    int rc = make_dir(dir, err);
    if (!rc) rc = make_dir(sub, err);
    free(sub);
    int64_t shape_tok[2] = { ds->n, ds->seq_len }, np = ds->num_puzzles, np1 = np + 1, ng1 = ds->num_groups + 1;
    const void *data[5] = { ds->inputs, ds->labels, ds->identifiers, ds->puzzle_index, ds->group_index };
    const int64_t *shapes[5] = { shape_tok, shape_tok, &np, &np1, &ng1 };
    for (int i = 0; i < 5 && !rc; i++) {
        char *p = split_path(dir, split, ARRAYS[i]);
        rc = npy_write(p, i < 2 ? NPY_U8 : NPY_I32, i < 2 ? 2 : 1, shapes[i], data[i], err);
        free(p);
    }
    if (!rc) {
        char *p = split_path(dir, split, "dataset.json");
        rc = dataset_meta_write(p, meta, err);
        free(p);
    }
    return rc;
}

// ---------------------------------------------------------------- identifiers.json

int identifiers_load(const char *dir, char ***names, int64_t *n, char *err) {
    *names = NULL;
    *n = 0;
    char *path = path_join(dir, "identifiers.json");
    cJSON *o = read_json_file(path, err);
    int rc = 0;
    if (!o) rc = -1;
    else if (!cJSON_IsArray(o)) rc = err_set(err, "%s: not a JSON list of names", path);
    if (!rc) {
        int64_t count = cJSON_GetArraySize(o), i = 0;
        char **v = xcalloc((size_t)MAX(count, 1), sizeof(char *));
        for (const cJSON *x = o->child; x && !rc; x = x->next, i++) {
            if (!cJSON_IsString(x)) rc = err_set(err, "%s: entry %lld is not a string", path, (long long)i);
            else v[i] = xstrdup(x->valuestring);
        }
        if (rc) identifiers_free(v, count);
        else *names = v, *n = count;
    }
    cJSON_Delete(o);
    free(path);
    return rc;
}

int identifiers_save(const char *dir, char *const *names, int64_t n, char *err) {
    char *path = path_join(dir, "identifiers.json");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fputc('[', f);
    for (int64_t i = 0; i < n; i++) {
        if (i) fputs(", ", f);
        py_json_string(f, names[i]);
    }
    fputc(']', f);
    fclose(f);
    int rc = write_file_atomic(path, buf, len, err);
    free(buf);
    free(path);
    return rc;
}

void identifiers_free(char **names, int64_t n) {
    if (!names) return;
    for (int64_t i = 0; i < n; i++) free(names[i]);
    free(names);
}
