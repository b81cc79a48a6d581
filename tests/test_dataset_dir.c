// test_dataset_dir.c: the official TRM dataset directory: a round trip with real puzzle
// structure, dataset.json and identifiers.json byte for byte as Python's json.dump
// writes them, the reference ARC build when present, every refusal of the loader, and
// the trivial indexing of text data sets.
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/dataset_dir.h"
#include "io/npy.h"
#include "tasks/task.h"
#include "test.h"

#define REF_DIR "../shared/data/reference/arc1-aug0"

static char tmpdir[128];

// A path under tmpdir (a few live at once).
static const char *tpath(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *tpath(const char *fmt, ...) {
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8], rel[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    snprintf(p, 512, "%s/%s", tmpdir, rel);
    return p;
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static bool file_equals(const char *path, const char *want) {
    size_t n;
    uint8_t *p = read_bytes(path, &n);
    bool eq = n == strlen(want) && memcmp(p, want, n) == 0;
    if (!eq) fprintf(stderr, "  %s holds '%.*s'\n  expected   '%s'\n", path, (int)n, (const char *)p, want);
    free(p);
    return eq;
}

static bool files_equal(const char *a, const char *b) {
    size_t na, nb;
    uint8_t *pa = read_bytes(a, &na), *pb = read_bytes(b, &nb);
    bool eq = na == nb && memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return eq;
}

static bool is_zero(const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return false;
    return true;
}

// ---------------------------------------------------------------- the hand-built data set

// 7 examples of 5 tokens (vocab 6) in 5 puzzles: 2, 0, 3, 1 and 1 examples; 2 groups of 2
// and 3 puzzles; identifiers 1..4 of num_puzzle_identifiers 5 (one used twice).
enum { N = 7, L = 5, P = 5, G = 2, VOCAB = 6, NUM_IDS = 5 };
static const int32_t PIDX[P + 1] = { 0, 2, 2, 5, 6, 7 };
static const int32_t GIDX[G + 1] = { 0, 2, 5 };
static const int32_t IDS[P] = { 3, 1, 4, 2, 4 };
static const int32_t PER_EXAMPLE[N] = { 3, 3, 4, 4, 4, 2, 4 };

static uint8_t tok_in(int i, int j) { return (uint8_t)((i * 3 + j) % VOCAB); }
static uint8_t tok_lab(int i, int j) { return (uint8_t)((i + 2 * j + 1) % VOCAB); }

static Dataset make_ds(void) {
    Dataset ds = dataset_alloc(N, L);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < L; j++) {
            ds.inputs[i * L + j] = tok_in(i, j);
            ds.labels[i * L + j] = tok_lab(i, j);
        }
    free(ds.puzzle_index);
    free(ds.group_index);
    free(ds.identifiers);
    ds.num_puzzles = P;
    ds.num_groups = G;
    ds.puzzle_index = xmalloc(sizeof PIDX);
    ds.group_index = xmalloc(sizeof GIDX);
    ds.identifiers = xmalloc(sizeof IDS);
    memcpy(ds.puzzle_index, PIDX, sizeof PIDX);
    memcpy(ds.group_index, GIDX, sizeof GIDX);
    memcpy(ds.identifiers, IDS, sizeof IDS);
    memcpy(ds.puzzle_ids, PER_EXAMPLE, sizeof PER_EXAMPLE);
    return ds;
}

static const char GOOD_JSON[] =
    "{\"pad_id\": 0, \"ignore_label_id\": 0, \"blank_identifier_id\": 0, \"vocab_size\": 6, "
    "\"seq_len\": 5, \"num_puzzle_identifiers\": 5, \"total_groups\": 2, \"mean_puzzle_examples\": 1.4, "
    "\"total_puzzles\": 5, \"sets\": [\"all\"]}";

static void test_round_trip(void) {
    Dataset ds = make_ds();
    DatasetMeta m = dataset_meta_of(&ds, VOCAB, NUM_IDS);
    CHECK(m.total_groups == G && m.total_puzzles == P, "meta_of: groups %lld puzzles %lld",
          (long long)m.total_groups, (long long)m.total_puzzles);
    CHECK(m.mean_puzzle_examples == 7.0 / 5.0, "meta_of: mean %.17g", m.mean_puzzle_examples);
    CHECK(m.vocab_size == VOCAB && m.seq_len == L && m.num_puzzle_identifiers == NUM_IDS,
          "meta_of: vocab %d seq_len %d ids %lld", m.vocab_size, m.seq_len, (long long)m.num_puzzle_identifiers);
    CHECK(m.pad_id == 0 && m.ignore_label_id == 0 && m.blank_identifier_id == 0, "meta_of: pad/ignore/blank");

    char err[ERR_LEN] = "";
    const char *dir = tpath("rt");
    CHECK(!dataset_dir_exists(dir, "train"), "exists before saving");
    int rc = dataset_dir_save(dir, "train", &ds, &m, err);
    CHECK(rc == 0, "save: %s", err);
    CHECK(dataset_dir_exists(dir, "train"), "exists after saving");
    CHECK(!dataset_dir_exists(dir, "test"), "test split exists without being saved");
    CHECK(file_equals(tpath("rt/train/dataset.json"), GOOD_JSON), "dataset.json bytes");

    // The arrays: numpy's 128-byte preamble, then the data as given.
    struct { const char *name; const void *data; size_t bytes; } arr[5] = {
        { "all__inputs.npy", ds.inputs, N * L }, { "all__labels.npy", ds.labels, N * L },
        { "all__puzzle_identifiers.npy", IDS, sizeof IDS }, { "all__puzzle_indices.npy", PIDX, sizeof PIDX },
        { "all__group_indices.npy", GIDX, sizeof GIDX },
    };
    for (int i = 0; i < 5; i++) {
        size_t n;
        uint8_t *b = read_bytes(tpath("rt/train/%s", arr[i].name), &n);
        CHECK(n == 128 + arr[i].bytes && memcmp(b, "\x93NUMPY\x01\x00", 8) == 0 &&
              memcmp(b + 128, arr[i].data, arr[i].bytes) == 0, "%s: %zu bytes or data differ", arr[i].name, n);
        free(b);
    }
    size_t hn;
    uint8_t *h = read_bytes(tpath("rt/train/all__puzzle_indices.npy"), &hn);
    const char want_dict[] = "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }";
    CHECK(hn > 128 && memcmp(h + 10, want_dict, sizeof want_dict - 1) == 0 && h[127] == '\n',
          "puzzle_indices header is not numpy's");
    free(h);

    Dataset got;
    memset(&got, 0x5a, sizeof got);
    DatasetMeta gm;
    memset(&gm, 0x5a, sizeof gm);
    rc = dataset_dir_load(dir, "train", &got, &gm, err);
    CHECK(rc == 0, "load: %s", err);
    if (rc == 0) {
        CHECK(got.n == N && got.seq_len == L, "shape %lld x %d", (long long)got.n, got.seq_len);
        CHECK(got.num_puzzles == P && got.num_groups == G, "puzzles %lld groups %lld",
              (long long)got.num_puzzles, (long long)got.num_groups);
        CHECK(memcmp(got.inputs, ds.inputs, N * L) == 0, "inputs differ");
        CHECK(memcmp(got.labels, ds.labels, N * L) == 0, "labels differ");
        CHECK(memcmp(got.puzzle_index, PIDX, sizeof PIDX) == 0, "puzzle_index differs");
        CHECK(memcmp(got.group_index, GIDX, sizeof GIDX) == 0, "group_index differs");
        CHECK(memcmp(got.identifiers, IDS, sizeof IDS) == 0, "identifiers differ");
        for (int i = 0; i < N; i++)
            CHECK(got.puzzle_ids[i] == PER_EXAMPLE[i], "puzzle_ids[%d] = %d, expected %d", i,
                  got.puzzle_ids[i], PER_EXAMPLE[i]);
        CHECK(got.inputs[2 * L + 3] == tok_in(2, 3) && got.labels[6 * L + 4] == tok_lab(6, 4), "spot tokens");
        CHECK(got.maps[0] != NULL && got.maps[1] != NULL, "token arrays are not mapped");
        CHECK(gm.pad_id == 0 && gm.ignore_label_id == 0 && gm.blank_identifier_id == 0, "meta pad/ignore/blank");
        CHECK(gm.vocab_size == VOCAB && gm.seq_len == L && gm.num_puzzle_identifiers == NUM_IDS,
              "meta vocab %d seq_len %d ids %lld", gm.vocab_size, gm.seq_len, (long long)gm.num_puzzle_identifiers);
        CHECK(gm.total_groups == G && gm.total_puzzles == P && gm.mean_puzzle_examples == 1.4,
              "meta groups %lld puzzles %lld mean %.17g", (long long)gm.total_groups,
              (long long)gm.total_puzzles, gm.mean_puzzle_examples);
        // The loaded set is counted the same way, and saves to the same bytes.
        DatasetMeta m2 = dataset_meta_of(&got, VOCAB, NUM_IDS);
        CHECK(memcmp(&m2, &m, sizeof m) == 0, "meta_of(loaded) differs from meta_of(original)");
        rc = dataset_dir_save(dir, "test", &got, &m2, err);
        CHECK(rc == 0, "re-save: %s", err);
        for (int i = 0; i < 5; i++)
            CHECK(files_equal(tpath("rt/train/%s", arr[i].name), tpath("rt/test/%s", arr[i].name)),
                  "re-saved %s differs", arr[i].name);
        CHECK(files_equal(tpath("rt/train/dataset.json"), tpath("rt/test/dataset.json")), "re-saved dataset.json");
    }
    dataset_free(&got);
    CHECK(is_zero(&got, sizeof got), "dataset_free leaves the mapped set nonzero");
    dataset_free(&got);   // twice is harmless

    // Saving refuses a directory that cannot be created.
    rc = dataset_dir_save(tpath("no/such/parent"), "train", &ds, &m, err);
    CHECK(rc == -1 && strstr(err, "no/such/parent") && strstr(err, "cannot create"), "save into a missing parent: '%s'", err);

    // A trivial (text-like) data set round-trips too: one example per puzzle and group.
    Dataset t = dataset_alloc(3, 2);
    for (int i = 0; i < 6; i++) t.inputs[i] = (uint8_t)(i + 1), t.labels[i] = (uint8_t)(6 - i);
    DatasetMeta tm = dataset_meta_of(&t, 8, 1);
    CHECK(tm.mean_puzzle_examples == 1.0 && tm.total_puzzles == 3 && tm.total_groups == 3, "trivial meta");
    rc = dataset_dir_save(tpath("triv"), "train", &t, &tm, err);
    CHECK(rc == 0, "save trivial: %s", err);
    CHECK(file_equals(tpath("triv/train/dataset.json"),
                      "{\"pad_id\": 0, \"ignore_label_id\": 0, \"blank_identifier_id\": 0, \"vocab_size\": 8, "
                      "\"seq_len\": 2, \"num_puzzle_identifiers\": 1, \"total_groups\": 3, "
                      "\"mean_puzzle_examples\": 1.0, \"total_puzzles\": 3, \"sets\": [\"all\"]}"),
          "trivial dataset.json");
    Dataset tg;
    DatasetMeta tgm;
    rc = dataset_dir_load(tpath("triv"), "train", &tg, &tgm, err);
    CHECK(rc == 0, "load trivial: %s", err);
    if (rc == 0) {
        CHECK(tg.n == 3 && tg.num_puzzles == 3 && tg.num_groups == 3, "trivial counts");
        CHECK(memcmp(tg.inputs, t.inputs, 6) == 0 && memcmp(tg.labels, t.labels, 6) == 0, "trivial tokens");
        bool ok = true;
        for (int i = 0; i <= 3; i++) ok &= tg.puzzle_index[i] == i && tg.group_index[i] == i;
        for (int i = 0; i < 3; i++) ok &= tg.identifiers[i] == 0 && tg.puzzle_ids[i] == 0;
        CHECK(ok, "trivial index arrays");
    }
    dataset_free(&tg);
    dataset_free(&t);
    dataset_free(&ds);
}

// ---------------------------------------------------------------- dataset.json format

static void test_meta_format(void) {
    static const char REF_JSON[] =
        "{\"pad_id\": 0, \"ignore_label_id\": 0, \"blank_identifier_id\": 0, \"vocab_size\": 12, "
        "\"seq_len\": 900, \"num_puzzle_identifiers\": 961, \"total_groups\": 960, "
        "\"mean_puzzle_examples\": 4.154166666666667, \"total_puzzles\": 960, \"sets\": [\"all\"]}";
    DatasetMeta m = { .vocab_size = 12, .seq_len = 900, .num_puzzle_identifiers = 961, .total_groups = 960,
                      .mean_puzzle_examples = 3988.0 / 960.0, .total_puzzles = 960 };
    char err[ERR_LEN] = "";
    const char *p = tpath("ref_meta.json");
    int rc = dataset_meta_write(p, &m, err);
    CHECK(rc == 0, "meta_write: %s", err);
    CHECK(file_equals(p, REF_JSON), "reference dataset.json bytes");
    const char *ref = REF_DIR "/train/dataset.json";
    if (exists(ref)) {
        CHECK(files_equal(p, ref), "our dataset.json differs from %s", ref);
        CHECK(file_equals(ref, REF_JSON), "the hard-coded reference differs from %s", ref);
    } else {
        printf("SKIP: dataset_dir byte comparison with the reference dataset.json (%s not found)\n", ref);
    }
    // Non-zero pad/blank ids and a mean with an exponent, read back by the loader's parser.
    DatasetMeta m2 = { .pad_id = 3, .blank_identifier_id = 2, .vocab_size = 256, .seq_len = 81,
                       .num_puzzle_identifiers = 7, .total_groups = 0, .mean_puzzle_examples = 1e-05,
                       .total_puzzles = 12 };
    rc = dataset_meta_write(p, &m2, err);
    CHECK(rc == 0 && file_equals(p, "{\"pad_id\": 3, \"ignore_label_id\": 0, \"blank_identifier_id\": 2, "
                                    "\"vocab_size\": 256, \"seq_len\": 81, \"num_puzzle_identifiers\": 7, "
                                    "\"total_groups\": 0, \"mean_puzzle_examples\": 1e-05, \"total_puzzles\": 12, "
                                    "\"sets\": [\"all\"]}"),
          "second dataset.json: %s", err);
}

// ---------------------------------------------------------------- the reference ARC build

static void check_reference_split(const char *split, int64_t rows, int64_t puzzles, int64_t groups,
                                  int32_t first_id, int32_t last_id, long long sum_in, long long sum_lab,
                                  long long sum_pid) {
    Dataset ds;
    DatasetMeta m;
    char err[ERR_LEN] = "";
    int rc = dataset_dir_load(REF_DIR, split, &ds, &m, err);
    CHECK(rc == 0, "load reference %s: %s", split, err);
    if (rc) return;
    CHECK(ds.n == rows && ds.seq_len == 900, "%s: %lld x %d", split, (long long)ds.n, ds.seq_len);
    CHECK(ds.num_puzzles == puzzles && ds.num_groups == groups, "%s: puzzles %lld groups %lld", split,
          (long long)ds.num_puzzles, (long long)ds.num_groups);
    CHECK(m.num_puzzle_identifiers == 961 && m.vocab_size == 12 && m.total_puzzles == puzzles &&
          m.total_groups == groups, "%s: meta ids %lld vocab %d", split, (long long)m.num_puzzle_identifiers,
          m.vocab_size);
    CHECK(m.mean_puzzle_examples == (double)rows / (double)puzzles, "%s: mean %.17g", split, m.mean_puzzle_examples);
    CHECK(ds.puzzle_index[0] == 0 && ds.puzzle_index[puzzles] == rows && ds.group_index[groups] == puzzles,
          "%s: CSR ends", split);
    CHECK(ds.identifiers[0] == first_id && ds.identifiers[puzzles - 1] == last_id, "%s: identifiers %d..%d",
          split, ds.identifiers[0], ds.identifiers[puzzles - 1]);
    long long si = 0, sl = 0, sp = 0;
    for (int64_t i = 0; i < rows * 900; i++) si += ds.inputs[i], sl += ds.labels[i];
    for (int64_t i = 0; i < rows; i++) sp += ds.puzzle_ids[i];
    CHECK(si == sum_in && sl == sum_lab, "%s: token sums %lld %lld", split, si, sl);
    CHECK(sp == sum_pid, "%s: expanded puzzle_ids sum %lld, expected %lld", split, sp, sum_pid);
    // Counting and writing the metadata again gives the builder's file.
    DatasetMeta again = dataset_meta_of(&ds, 12, 961);
    char *ref = path_join(REF_DIR, split), *refj = path_join(ref, "dataset.json");
    const char *ours = tpath("ref_%s_dataset.json", split);
    rc = dataset_meta_write(ours, &again, err);
    CHECK(rc == 0 && files_equal(ours, refj), "%s: dataset.json from dataset_meta_of differs from %s", split, refj);
    if (!strcmp(split, "train")) {   // and saving the arrays reproduces numpy's files
        rc = dataset_dir_save(tpath("ref_copy"), split, &ds, &again, err);
        CHECK(rc == 0, "save copy: %s", err);
        static const char *const names[5] = { "all__inputs.npy", "all__labels.npy", "all__puzzle_identifiers.npy",
                                              "all__puzzle_indices.npy", "all__group_indices.npy" };
        for (int i = 0; i < 5; i++) {
            char *r = path_join(ref, names[i]);
            CHECK(files_equal(tpath("ref_copy/train/%s", names[i]), r), "re-saved %s differs from numpy's", r);
            free(r);
        }
    }
    free(refj);
    free(ref);
    dataset_free(&ds);
}

static void test_reference(void) {
    if (!exists(REF_DIR "/train/dataset.json") || !exists(REF_DIR "/test/dataset.json")) {
        printf("SKIP: dataset_dir loading the reference ARC build (%s not found)\n", REF_DIR);
        return;
    }
    CHECK(dataset_dir_exists(REF_DIR, "train") && dataset_dir_exists(REF_DIR, "test"), "reference exists");
    check_reference_split("train", 3988, 960, 960, 1, 960, 2430976, 2019839, 1962639);
    check_reference_split("test", 419, 400, 400, 401, 800, 430746, 399077, 252064);

    char **names;
    int64_t n;
    char err[ERR_LEN] = "";
    int rc = identifiers_load(REF_DIR, &names, &n, err);
    CHECK(rc == 0 && n == 961, "reference identifiers: %lld, %s", (long long)n, err);
    if (rc == 0) {
        CHECK(!strcmp(names[0], "<blank>") && !strcmp(names[1], "8be77c9e") && !strcmp(names[2], "b548a754"),
              "reference names '%s' '%s' '%s'", names[0], names[1], names[2]);
        const char *d = tpath("ref_ids");
        mkdir(d, 0755);
        rc = identifiers_save(d, names, n, err);
        CHECK(rc == 0 && files_equal(tpath("ref_ids/identifiers.json"), REF_DIR "/identifiers.json"),
              "re-saved identifiers.json differs from the reference: %s", err);
        identifiers_free(names, n);
    }
}

// ---------------------------------------------------------------- Python formatting

static void test_py_float_repr(void) {
    // Expected strings: python3 -c "print(repr(x))" (Python 3.11) for each value, written
    // here as hex floats so the C value is exactly Python's.
    static const struct { double x; const char *repr; } T[] = {
        { 0x1.0000000000000p+0, "1.0" },
        { 0x1.999999999999ap-4, "0.1" },
        { 0x1.09ddddddddddep+2, "4.154166666666667" },
        { 0x1.4f8b588e368f1p-17, "1e-05" },
        { 0x1.a36e2eb1c432dp-14, "0.0001" },
        { 0x1.c12218377de66p+46, "123456789012345.6" },
        { 0x1.1c37937e08000p+53, "1e+16" },
        { 0x1.0f0cf064dd592p+73, "1e+22" },
        { 0x1.421f5f40d8376p-23, "1.5e-07" },
        { 0x1.4000000000000p+1, "2.5" },
        { 0x1.5555555555555p-2, "0.3333333333333333" },
        { 0x1.5555555555555p-1, "0.6666666666666666" },
        { 0x1.c6bf526340000p+49, "1000000000000000.0" },
        { 0x1.1c37937e07fffp+53, "9999999999999998.0" },
        { 0x0.0000000000001p-1022, "5e-324" },
        { 0x1.fffffffffffffp+1023, "1.7976931348623157e+308" },
        { -0x0.0p+0, "-0.0" },
        { 0x1.1cffc066a037ap+0, "1.1132774591971768" },
        { 0x1.9000000000000p+6, "100.0" },
        { 0x1.0c28f5c28f5c3p+0, "1.0475" },
        { 0x0.0p+0, "0.0" },
        { -0x1.8000000000000p+0, "-1.5" },
        { 0x1.56a95319d63e1p+63, "1.2345678901234567e+19" },
        { 0x1.3333333333333p-2, "0.3" },
        { 0x1.a36371ea531a9p-14, "9.999000000000001e-05" },
        { 0x1.0000000000000p-1022, "2.2250738585072014e-308" },
        { 0x1.249ad2594c37dp+332, "1e+100" },
        { 0x1.edd2f1a9fbe77p+6, "123.456" },
        { 0x1.0000000000000p-1, "0.5" },
        { 0x1.ad7f29abcaf48p-24, "1e-07" },
        { 0x1.3000000000000p+3, "9.5" },
        { 0x1.8ffffffffffffp+6, "99.99999999999999" },
        { 0x1.52d02c7e14af6p+76, "1e+23" },
        { 0x1.c7e83209e90b2p+72, "8.41e+21" },
        { 0x1.a36e2eb1c432dp-15, "5e-05" },
        { 0x1.3a92a30553261p-13, "0.00015" },
        { 0x1.8000000000001p+1, "3.0000000000000004" },
        { -0x1.12e0be826d695p-32, "-2.5e-10" },
        { 0x1.2d68700000000p+20, "1234567.0" },
        { 0x1.1666666666666p+2, "4.35" },
        { 0x1.2492492492492p-3, "0.14285714285714285" },
        { 0x1.0000000000000p+53, "9007199254740992.0" },
        { 0x0.0000000000003p-1022, "1.5e-323" },
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        char out[64];
        memset(out, 'x', sizeof out);
        py_float_repr(T[i].x, out, sizeof out);
        CHECK(!strcmp(out, T[i].repr), "py_float_repr(%a) = '%s', Python says '%s'", T[i].x, out, T[i].repr);
    }
    // json.dump's spellings of the non-finite values.
    char out[64];
    py_float_repr(NAN, out, sizeof out);
    CHECK(!strcmp(out, "NaN"), "NaN: '%s'", out);
    py_float_repr(INFINITY, out, sizeof out);
    CHECK(!strcmp(out, "Infinity"), "inf: '%s'", out);
    py_float_repr(-INFINITY, out, sizeof out);
    CHECK(!strcmp(out, "-Infinity"), "-inf: '%s'", out);
}

static void test_identifiers(void) {
    char err[ERR_LEN] = "";
    const char *d = tpath("ids");
    mkdir(d, 0755);
    char *names[3] = { "<blank>", "a", "b|||t1|||0123456789" };
    int rc = identifiers_save(d, names, 3, err);
    CHECK(rc == 0, "identifiers_save: %s", err);
    CHECK(file_equals(tpath("ids/identifiers.json"), "[\"<blank>\", \"a\", \"b|||t1|||0123456789\"]"),
          "identifiers.json bytes");
    char **got;
    int64_t n;
    rc = identifiers_load(d, &got, &n, err);
    CHECK(rc == 0 && n == 3, "identifiers_load: %lld, %s", (long long)n, err);
    if (rc == 0 && n == 3)
        for (int i = 0; i < 3; i++) CHECK(!strcmp(got[i], names[i]), "name %d: '%s'", i, got[i]);
    if (rc == 0) identifiers_free(got, n);

    // Escaping: python3 -c 'import json; print(json.dumps([...]))' for a quote and a
    // backslash, every short escape, control characters, DEL, a Latin-1 letter and an
    // emoji (outside the BMP: a surrogate pair).
    char *odd[4] = { "q\"uo\\te", "tab\there\nnl\r\b\f\x01\x7f", "caf\xc3\xa9", "\xf0\x9f\x98\x80" };
    rc = identifiers_save(d, odd, 4, err);
    CHECK(rc == 0, "identifiers_save odd: %s", err);
    CHECK(file_equals(tpath("ids/identifiers.json"),
                      "[\"q\\\"uo\\\\te\", \"tab\\there\\nnl\\r\\b\\f\\u0001\\u007f\", \"caf\\u00e9\", "
                      "\"\\ud83d\\ude00\"]"),
          "escaped identifiers.json bytes");
    rc = identifiers_load(d, &got, &n, err);
    CHECK(rc == 0 && n == 4, "identifiers_load odd: %lld, %s", (long long)n, err);
    if (rc == 0 && n == 4)
        for (int i = 0; i < 4; i++) CHECK(!strcmp(got[i], odd[i]), "odd name %d does not round-trip: '%s'", i, got[i]);
    if (rc == 0) identifiers_free(got, n);

    // Refusals: missing file, not JSON, not a list, a non-string entry; *names stays NULL.
    struct { const char *text; const char *word; } bad[] = {
        { NULL, "cannot open" }, { "[\"<blank>\", ", "JSON" }, { "{\"a\": 1}", "list" },
        { "[\"<blank>\", 7]", "entry 1" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *bd = tpath("ids_bad%zu", i);
        mkdir(bd, 0755);
        const char *f = tpath("ids_bad%zu/identifiers.json", i);
        if (bad[i].text) write_bytes(f, bad[i].text, strlen(bad[i].text));
        got = (char **)1;
        n = 99;
        err[0] = 0;
        rc = identifiers_load(bd, &got, &n, err);
        CHECK(rc == -1 && got == NULL && n == 0, "identifiers bad %zu: rc %d", i, rc);
        CHECK(strstr(err, f) && strstr(err, bad[i].word), "identifiers bad %zu: '%s' lacks '%s'", i, err, bad[i].word);
    }
}

// ---------------------------------------------------------------- refusals

// A fresh copy of the good data set in tmpdir/NAME/train.
static const char *fresh(const char *name) {
    static char dir[8][256];
    static int k;
    char *d = dir[k++ % 8];
    snprintf(d, 256, "%s/%s", tmpdir, name);
    Dataset ds = make_ds();
    DatasetMeta m = dataset_meta_of(&ds, VOCAB, NUM_IDS);
    char err[ERR_LEN];
    if (dataset_dir_save(d, "train", &ds, &m, err)) die("fresh: %s", err);
    dataset_free(&ds);
    return d;
}

static const char *in_split(const char *dir, const char *file) {
    static char buf[8][320];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 320, "%s/train/%s", dir, file);
    return p;
}

// dataset_dir_load must refuse: -1, one line naming FILE (under DIR/train) with every
// word given, and *ds left zeroed.
static void expect_fail(const char *what, const char *dir, const char *file, const char *w1, const char *w2) {
    Dataset ds;
    memset(&ds, 0x5a, sizeof ds);
    DatasetMeta m;
    char err[ERR_LEN] = "";
    int rc = dataset_dir_load(dir, "train", &ds, &m, err);
    const char *path = in_split(dir, file);
    CHECK(rc == -1, "%s: load returned %d", what, rc);
    CHECK(strstr(err, path) != NULL, "%s: error does not name %s: '%s'", what, path, err);
    CHECK(strstr(err, w1) != NULL, "%s: error lacks '%s': '%s'", what, w1, err);
    if (w2) CHECK(strstr(err, w2) != NULL, "%s: error lacks '%s': '%s'", what, w2, err);
    CHECK(strchr(err, '\n') == NULL, "%s: error is not one line", what);
    CHECK(is_zero(&ds, sizeof ds), "%s: *ds is not zeroed after a failed load", what);
    dataset_free(&ds);
}

static void put_json(const char *dir, const char *text) {
    write_bytes(in_split(dir, "dataset.json"), text, strlen(text));
}

static void put_i32(const char *dir, const char *file, const int32_t *v, int64_t n) {
    char err[ERR_LEN];
    if (npy_write(in_split(dir, file), NPY_I32, 1, &n, v, err)) die("%s", err);
}

static void put_u8(const char *dir, const char *file, const uint8_t *v, int64_t rows, int64_t cols) {
    char err[ERR_LEN];
    int64_t shape[2] = { rows, cols };
    if (npy_write(in_split(dir, file), NPY_U8, 2, shape, v, err)) die("%s", err);
}

// GOOD_JSON with the first occurrence of `from` replaced by `to`.
static void put_json_edit(const char *dir, const char *from, const char *to) {
    const char *at = strstr(GOOD_JSON, from);
    if (!at) die("put_json_edit: '%s' not in GOOD_JSON", from);
    char buf[1024];
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - GOOD_JSON), GOOD_JSON, to, at + strlen(from));
    put_json(dir, buf);
}

static void test_refusals(void) {
    const char *d;
    char err[ERR_LEN];

    // Sanity: the fresh copy loads (so each refusal below is caused by its one defect).
    d = fresh("ok");
    Dataset ok;
    DatasetMeta om;
    CHECK(dataset_dir_load(d, "train", &ok, &om, err) == 0, "fresh copy does not load: %s", err);
    dataset_free(&ok);

    // dataset.json
    d = fresh("no_meta");
    unlink(in_split(d, "dataset.json"));
    CHECK(!dataset_dir_exists(d, "train"), "exists without dataset.json");
    expect_fail("missing dataset.json", d, "dataset.json", "cannot open", NULL);

    d = fresh("not_json");
    put_json(d, "{\"pad_id\": 0, \"vocab_size\": ");
    expect_fail("dataset.json not JSON", d, "dataset.json", "JSON", NULL);
    put_json(d, "[1, 2]");
    expect_fail("dataset.json a list", d, "dataset.json", "JSON object", NULL);

    d = fresh("no_field");
    put_json_edit(d, "\"seq_len\": 5, ", "");
    expect_fail("missing seq_len", d, "dataset.json", "seq_len", "missing");
    put_json_edit(d, "\"mean_puzzle_examples\": 1.4, ", "");
    expect_fail("missing mean", d, "dataset.json", "mean_puzzle_examples", "missing");
    put_json_edit(d, "\"vocab_size\": 6", "\"vocab_size\": 6.5");
    expect_fail("non-integer vocab", d, "dataset.json", "vocab_size", "not an integer");
    put_json_edit(d, "\"total_groups\": 2", "\"total_groups\": \"2\"");
    expect_fail("string total_groups", d, "dataset.json", "total_groups", "not an integer");

    d = fresh("ign_null");
    put_json_edit(d, "\"ignore_label_id\": 0", "\"ignore_label_id\": null");
    expect_fail("ignore_label_id null", d, "dataset.json", "ignore_label_id", "null");
    put_json_edit(d, "\"ignore_label_id\": 0", "\"ignore_label_id\": 1");
    expect_fail("ignore_label_id 1", d, "dataset.json", "ignore_label_id", "outside");

    d = fresh("sets");
    put_json_edit(d, "[\"all\"]", "[\"all\", \"all1\"]");
    expect_fail("two sets", d, "dataset.json", "sets", "not supported");
    put_json_edit(d, "[\"all\"]", "[\"train\"]");
    expect_fail("set not all", d, "dataset.json", "sets", NULL);

    d = fresh("vocab");
    put_json_edit(d, "\"vocab_size\": 6", "\"vocab_size\": 300");
    expect_fail("vocab 300", d, "dataset.json", "vocab_size", "outside");

    d = fresh("blank");
    put_json_edit(d, "\"blank_identifier_id\": 0", "\"blank_identifier_id\": 5");
    expect_fail("blank id = num ids", d, "dataset.json", "blank_identifier_id", "not below");

    d = fresh("groups");
    put_json_edit(d, "\"total_groups\": 2", "\"total_groups\": 3");
    expect_fail("total_groups 3", d, "dataset.json", "total_groups", "all__group_indices.npy has 2 groups");

    // The arrays: each missing file in turn.
    static const char *const files[5] = { "all__inputs.npy", "all__labels.npy", "all__puzzle_identifiers.npy",
                                          "all__puzzle_indices.npy", "all__group_indices.npy" };
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "missing%d", i);
        d = fresh(name);
        unlink(in_split(d, files[i]));
        expect_fail(files[i], d, files[i], "cannot open", NULL);
    }

    uint8_t tok[N * L + 8];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < L; j++) tok[i * L + j] = tok_in(i, j);

    d = fresh("seq_len");
    put_u8(d, "all__inputs.npy", tok, N, L - 1);
    expect_fail("inputs with 4 columns", d, "all__inputs.npy", "expected 5 columns", NULL);

    d = fresh("label_rows");
    put_u8(d, "all__labels.npy", tok, N - 1, L);
    expect_fail("labels with 6 rows", d, "all__labels.npy", "expected 7 rows", NULL);

    d = fresh("dtype");
    put_i32(d, "all__inputs.npy", PIDX, P + 1);
    expect_fail("inputs int32", d, "all__inputs.npy", "dtype", NULL);

    d = fresh("pidx_len");
    put_i32(d, "all__puzzle_indices.npy", PIDX, P);
    expect_fail("puzzle_indices of 5", d, "all__puzzle_indices.npy", "expected 6 elements", NULL);

    // CSR offsets, both levels.
    struct { const char *name, *file; int32_t v[6]; int64_t n; const char *w1, *w2; } csr[] = {
        { "pidx first 1", "all__puzzle_indices.npy", { 1, 2, 2, 5, 6, 7 }, 6, "first offset is 1", "expected 0" },
        { "pidx decreasing", "all__puzzle_indices.npy", { 0, 2, 1, 5, 6, 7 }, 6, "offset 2 (1) is below", NULL },
        { "pidx last 6", "all__puzzle_indices.npy", { 0, 2, 2, 5, 6, 6 }, 6, "last offset is 6", "expected 7" },
        { "pidx last 8", "all__puzzle_indices.npy", { 0, 2, 2, 5, 6, 8 }, 6, "last offset is 8", "expected 7" },
        { "gidx first 1", "all__group_indices.npy", { 1, 2, 5 }, 3, "first offset is 1", "expected 0" },
        { "gidx decreasing", "all__group_indices.npy", { 0, 3, 2 }, 3, "offset 2 (2) is below", NULL },
        { "gidx last 4", "all__group_indices.npy", { 0, 2, 4 }, 3, "last offset is 4", "expected 5" },
    };
    for (size_t i = 0; i < sizeof csr / sizeof csr[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "csr%zu", i);
        d = fresh(name);
        put_i32(d, csr[i].file, csr[i].v, csr[i].n);
        expect_fail(csr[i].name, d, csr[i].file, csr[i].w1, csr[i].w2);
    }
    d = fresh("gidx_empty");
    put_i32(d, "all__group_indices.npy", GIDX, 0);
    expect_fail("group_indices empty", d, "all__group_indices.npy", "no offsets", NULL);

    // Tokens at or above the vocabulary: the first offending row and position.
    d = fresh("tok_in");
    tok[3 * L + 2] = VOCAB;
    tok[5 * L + 0] = 255;
    put_u8(d, "all__inputs.npy", tok, N, L);
    expect_fail("input token 6", d, "all__inputs.npy", "token 6 at row 3, position 2", "vocab_size 6");
    uint8_t lab[N * L];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < L; j++) lab[i * L + j] = tok_lab(i, j);
    lab[6 * L + 4] = 200;
    d = fresh("tok_lab");
    put_u8(d, "all__labels.npy", lab, N, L);
    expect_fail("label token 200", d, "all__labels.npy", "token 200 at row 6, position 4", "vocab_size");

    // Puzzle identifiers outside [0, num_puzzle_identifiers).
    int32_t ids[P];
    memcpy(ids, IDS, sizeof ids);
    ids[2] = -1;
    d = fresh("id_neg");
    put_i32(d, "all__puzzle_identifiers.npy", ids, P);
    expect_fail("identifier -1", d, "all__puzzle_identifiers.npy", "puzzle 2 has identifier -1", "num_puzzle_identifiers");
    ids[2] = IDS[2];
    ids[4] = NUM_IDS;
    d = fresh("id_big");
    put_i32(d, "all__puzzle_identifiers.npy", ids, P);
    expect_fail("identifier 5", d, "all__puzzle_identifiers.npy", "puzzle 4 has identifier 5", "outside [0, 5)");
    // ...and the largest legal identifier (and 0, the blank) load.
    ids[4] = NUM_IDS - 1;
    ids[0] = 0;
    d = fresh("id_edge");
    put_i32(d, "all__puzzle_identifiers.npy", ids, P);
    Dataset e;
    int rc = dataset_dir_load(d, "train", &e, &om, err);
    CHECK(rc == 0, "identifiers 0 and 4 refused: %s", err);
    if (rc == 0) CHECK(e.puzzle_ids[0] == 0 && e.puzzle_ids[6] == 4, "edge puzzle_ids %d %d", e.puzzle_ids[0], e.puzzle_ids[6]);
    dataset_free(&e);
}

// ---------------------------------------------------------------- trivial indexing

static void test_trivial_index(void) {
    Dataset ds = dataset_alloc(4, 3);
    CHECK(ds.n == 4 && ds.seq_len == 3 && ds.num_puzzles == 4 && ds.num_groups == 4, "alloc counts");
    CHECK(is_zero(ds.inputs, 12) && is_zero(ds.labels, 12) && is_zero(ds.puzzle_ids, 16), "alloc not zeroed");
    CHECK(is_zero(ds.maps, sizeof ds.maps), "alloc maps");
    bool ok = true;
    for (int i = 0; i <= 4; i++) ok &= ds.puzzle_index[i] == i && ds.group_index[i] == i;
    for (int i = 0; i < 4; i++) ok &= ds.identifiers[i] == 0;
    CHECK(ok, "alloc index arrays are not 0..n");

    for (int i = 0; i < 4; i++) ds.puzzle_ids[i] = 7 + i;
    for (int i = 0; i < 12; i++) ds.inputs[i] = (uint8_t)i, ds.labels[i] = (uint8_t)(20 + i);
    dataset_index_trivial(&ds);
    ok = ds.num_puzzles == 4 && ds.num_groups == 4;
    for (int i = 0; i <= 4; i++) ok &= ds.puzzle_index[i] == i && ds.group_index[i] == i;
    for (int i = 0; i < 4; i++) ok &= ds.identifiers[i] == 7 + i;
    CHECK(ok, "index_trivial: identifiers %d %d %d %d", ds.identifiers[0], ds.identifiers[1], ds.identifiers[2],
          ds.identifiers[3]);
    DatasetMeta m = dataset_meta_of(&ds, 32, 11);
    CHECK(m.total_groups == 4 && m.total_puzzles == 4 && m.mean_puzzle_examples == 1.0, "trivial meta_of");

    dataset_truncate(&ds, 2);
    CHECK(ds.n == 2 && ds.num_puzzles == 2 && ds.num_groups == 2, "truncate counts %lld %lld %lld",
          (long long)ds.n, (long long)ds.num_puzzles, (long long)ds.num_groups);
    CHECK(ds.puzzle_index[0] == 0 && ds.puzzle_index[1] == 1 && ds.puzzle_index[2] == 2 && ds.group_index[2] == 2,
          "truncate offsets");
    CHECK(ds.identifiers[0] == 7 && ds.identifiers[1] == 8, "truncate identifiers %d %d", ds.identifiers[0],
          ds.identifiers[1]);
    CHECK(ds.inputs[5] == 5 && ds.labels[5] == 25, "truncate keeps the first rows' tokens");
    m = dataset_meta_of(&ds, 32, 11);
    CHECK(m.total_puzzles == 2 && m.total_groups == 2, "meta_of after truncate");

    // A truncated set saves as a 2-example directory.
    char err[ERR_LEN];
    int rc = dataset_dir_save(tpath("trunc"), "train", &ds, &m, err);
    Dataset got;
    DatasetMeta gm;
    if (!rc) rc = dataset_dir_load(tpath("trunc"), "train", &got, &gm, err);
    CHECK(rc == 0, "truncated save/load: %s", err);
    if (rc == 0) {
        CHECK(got.n == 2 && got.num_puzzles == 2 && got.identifiers[1] == 8 && got.puzzle_ids[1] == 8 &&
              got.puzzle_index[2] == 2 && memcmp(got.inputs, ds.inputs, 6) == 0, "truncated round trip");
        dataset_free(&got);
    }

    dataset_truncate(&ds, 0);
    CHECK(ds.n == 0 && ds.num_puzzles == 0 && ds.num_groups == 0 && ds.puzzle_index[0] == 0 &&
          ds.group_index[0] == 0, "truncate to 0");
    m = dataset_meta_of(&ds, 32, 11);
    CHECK(m.mean_puzzle_examples == 0.0 && m.total_puzzles == 0, "meta_of of an empty set");
    dataset_free(&ds);
    CHECK(is_zero(&ds, sizeof ds), "dataset_free zeroes");

    Dataset z = dataset_alloc(0, 5);
    CHECK(z.n == 0 && z.seq_len == 5 && z.num_puzzles == 0 && z.puzzle_index[0] == 0 && z.group_index[0] == 0,
          "alloc of 0 examples");
    dataset_free(&z);
}

static void rm_rf(const char *dir) {
    // Only what this test made, under its own mkdtemp directory.
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (strncmp(dir, "/tmp/trm_dsdir_", 15) == 0 && system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/trm_dsdir_XXXXXX");
    if (!mkdtemp(tmpdir)) die("mkdtemp failed");
    test_round_trip();
    test_meta_format();
    test_reference();
    test_py_float_repr();
    test_identifiers();
    test_refusals();
    test_trivial_index();
    rm_rf(tmpdir);
    return test_summary("test_dataset_dir");
}
