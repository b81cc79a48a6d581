// test_torch_ckpt.c: PyTorch checkpoints read in C (io/torch_ckpt.h, io/torch_config.h).
//
// (a) The fixtures of tests/reference/torch_ckpt.py (torch.save of modules with the official
//     names, all_config.yaml beside them) load and give PyTorch's logits and Q values: F32
//     with BF16 H_init/L_init and the compiled-model prefix, an all-BF16 copy, an unprefixed
//     file with a strided view and two views of one storage, and a DIS MLP-mixer model.
// (b) Archives and pickles built here: strided and offset views read right.
// (c) A catalogue of malformed archives made from the good one (truncations, a foreign
//     opcode, a foreign global, wrong storage sizes, a compressed entry, CRC, missing
//     parts, a config that does not fit): each fails with one line naming the file.
// (d) The YAML subset and the config mapping (HRM, learned positions, the ARC seq_len rule).
//
// Tolerance: the reference runs in float64 on the stored values; here the forward runs in
// fp32, 2 supervision steps of T*(n+1) = 6 applications (a few hundred roundings of ~6e-8
// each, as in test_reference.c), so logits land near 1e-6 of their largest magnitude;
// 1e-5 relative leaves a 10x margin and is far below any formula difference.
#define _GNU_SOURCE   // mkdtemp, memmem
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "io/torch_ckpt.h"
#include "io/torch_config.h"
#include "test.h"

#define FIX "tests/fixtures/"
static const double TOL = 1e-5;
static char dir[64];
static double worst_abs[3], worst_rel[3];   // f32, bf16, mlp: reported at the end

static char *in_dir(const char *name) {
    static char buf[4][256];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

// ---------------------------------------------------------------------------------------
// (a) logits against PyTorch

static double compare(const char *what, const real *ours, const StTensor *ref, double *abs_out) {
    char err[ERR_LEN];
    real *r = xmalloc(sizeof(real) * (size_t)MAX(ref->numel, 1));
    CHECK(st_to_real(ref, r, ref->numel, err) == 0, "%s", err);
    double maxdiff = 0, maxref = 0;
    for (int64_t i = 0; i < ref->numel; i++) {
        double d = fabs((double)ours[i] - r[i]);
        if (!(d <= maxdiff)) maxdiff = d;   // NaN propagates
        maxref = fmax(maxref, fabs((double)r[i]));
    }
    free(r);
    double rel = maxdiff / (maxref > 0 ? maxref : 1);
    CHECK(rel <= TOL, "%s: max rel err %.3g > %.3g (max diff %.3g)", what, rel, TOL, maxdiff);
    *abs_out = fmax(*abs_out, maxdiff);
    return rel;
}

static void check_logits(const char *model, const char *expected, const char *tag, int slot) {
    char err[ERR_LEN] = "", name[128];
    Model m;
    SafeTensors st;
    char *ts = NULL;
    if (checkpoint_load(&m, model, &ts, err)) {
        CHECK(0, "load %s: %s", model, err);
        return;
    }
    if (st_load(&st, expected, err)) {
        CHECK(0, "%s", err);
        model_free(&m);
        free(ts);
        return;
    }
    const TRMConfig *c = &m.cfg;
    int B = 2, L = c->seq_len;
    int32_t ids[2], *tokens = xmalloc(sizeof(int32_t) * (size_t)B * L);
    CHECK(st_to_i32(st_find(&st, "puzzle_ids"), ids, B, err) == 0, "%s", err);
    model_plan(&m, B, false);
    Carry carry = carry_new(&m, B);
    carry_reset(&m, &carry, NULL);
    for (int s = 1; s <= c->N_sup; s++) {
        snprintf(name, sizeof name, "%s.step%d.tokens", tag, s);
        const StTensor *tok = st_find(&st, name);
        CHECK(tok && st_to_i32(tok, tokens, (int64_t)B * L, err) == 0, "%s: %s", name, err);
        model_forward(&m, &carry, tokens, ids, s, false);
        double a = 0;
        snprintf(name, sizeof name, "%s.step%d.logits", tag, s);
        const StTensor *lg = st_find(&st, name);
        CHECK(lg != NULL, "%s missing", name);
        if (lg) worst_rel[slot] = fmax(worst_rel[slot], compare(model, m.logits, lg, &a));
        snprintf(name, sizeof name, "%s.step%d.q", tag, s);
        const StTensor *q = st_find(&st, name);
        if (q) compare(name, m.q, q, &a);
        worst_abs[slot] = fmax(worst_abs[slot], a);
    }
    CHECK(ts && strstr(ts, "\"source\":\"torch\""), "%s: train_state %s", model, ts ? ts : "(null)");
    carry_free(&carry);
    free(tokens);
    free(ts);
    st_free(&st);
    model_free(&m);
}

static void test_fixtures(void) {
    check_logits(FIX "torch_att/step_f32", FIX "torch_att/expected.safetensors", "f32", 0);
    check_logits(FIX "torch_att/plain.pt", FIX "torch_att/expected.safetensors", "f32", 0);
    check_logits(FIX "torch_att/step_bf16", FIX "torch_att/expected.safetensors", "bf16", 1);
    check_logits(FIX "torch_mlp/step_f32", FIX "torch_mlp/expected.safetensors", "f32", 2);

    // The strided and shared-storage file holds the same numbers as the official layout.
    Model a, b;
    char err[ERR_LEN] = "", *ts = NULL;
    CHECK(checkpoint_load(&a, FIX "torch_att/step_f32", &ts, err) == 0, "%s", err);
    CHECK(checkpoint_load(&b, FIX "torch_att/plain.pt", NULL, err) == 0, "%s", err);
    CHECK(a.params && b.params && a.table.n_total == b.table.n_total &&
          !memcmp(a.params, b.params, a.table.n_total * sizeof(real)), "plain.pt differs from step_f32");
    CHECK(ts && strstr(ts, "\"method\":\"trm\"") && strstr(ts, "\"feed\":\"input\"") &&
          strstr(ts, "\"identifiers\":[\"<blank>\",\"puzzle1\",\"puzzle2\"]"), "att train_state: %s", ts);
    CHECK(a.cfg.seq_len == 64 && a.cfg.vocab == 3 && a.cfg.puzzle_len == 4 && a.cfg.num_puzzle_ids == 3 &&
          a.cfg.rope && !a.cfg.mlp_t && a.cfg.T == 2 && a.cfg.n == 2 && a.cfg.N_sup == 2 && a.cfg.halt &&
          !a.cfg.time_embed, "att config mapped wrong");
    free(ts);
    model_free(&a);
    model_free(&b);
    CHECK(checkpoint_load(&a, FIX "torch_mlp/step_f32", &ts, err) == 0, "%s", err);
    CHECK(ts && strstr(ts, "\"method\":\"dis\"") && strstr(ts, "\"feed\":\"pred\"") && !strstr(ts, "identifiers"),
          "mlp train_state: %s", ts);
    CHECK(a.cfg.seq_len == 5 && a.cfg.mlp_t && !a.cfg.rope && a.cfg.time_embed && !a.cfg.halt &&
          a.cfg.loss == LOSS_SOFTMAX && a.cfg.N_sup == 3, "mlp config mapped wrong (seq_len %d)", a.cfg.seq_len);
    free(ts);
    model_free(&a);
}

// ---------------------------------------------------------------------------------------
// A zip writer (STORED entries, sizes in the local headers) and a pickle writer

typedef struct {
    uint8_t *p;
    size_t n, cap;
} Buf;

static void put(Buf *b, const void *x, size_t k) {
    if (!k) return;
    if (b->n + k > b->cap) {
        b->cap = 2 * (b->n + k) + 64;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, x, k);
    b->n += k;
}
static void put16(Buf *b, unsigned v) { uint8_t x[2] = { v & 255, v >> 8 & 255 }; put(b, x, 2); }
static void put32(Buf *b, uint32_t v) { put16(b, v & 0xFFFF); put16(b, v >> 16); }
static void puts_(Buf *b, const char *s) { put(b, s, strlen(s)); }

typedef struct {
    const char *name;
    const uint8_t *data;
    size_t size;
    unsigned method;   // written into the headers; the bytes stay as they are
} Ent;

static Buf zip_build(const Ent *e, int n) {
    Buf z = { 0 }, cd = { 0 };
    for (int i = 0; i < n; i++) {
        uint32_t off = (uint32_t)z.n, crc = zip_crc32(e[i].data, e[i].size);
        put32(&z, 0x04034b50); put16(&z, 20); put16(&z, 0); put16(&z, e[i].method); put32(&z, 0);
        put32(&z, crc); put32(&z, (uint32_t)e[i].size); put32(&z, (uint32_t)e[i].size);
        put16(&z, (unsigned)strlen(e[i].name)); put16(&z, 0); puts_(&z, e[i].name);
        put(&z, e[i].data, e[i].size);
        put32(&cd, 0x02014b50); put16(&cd, 20); put16(&cd, 20); put16(&cd, 0); put16(&cd, e[i].method);
        put32(&cd, 0); put32(&cd, crc); put32(&cd, (uint32_t)e[i].size); put32(&cd, (uint32_t)e[i].size);
        put16(&cd, (unsigned)strlen(e[i].name)); put16(&cd, 0); put16(&cd, 0); put16(&cd, 0); put16(&cd, 0);
        put32(&cd, 0); put32(&cd, off); puts_(&cd, e[i].name);
    }
    uint32_t cd_off = (uint32_t)z.n;
    put(&z, cd.p, cd.n);
    put32(&z, 0x06054b50); put16(&z, 0); put16(&z, 0); put16(&z, n); put16(&z, n);
    put32(&z, (uint32_t)cd.n); put32(&z, cd_off); put16(&z, 0);
    free(cd.p);
    return z;
}

// Pickle pieces (protocol 2, as torch.save writes them).
static void p_str(Buf *b, const char *s) { put(b, "X", 1); put32(b, (uint32_t)strlen(s)); puts_(b, s); }
static void p_int(Buf *b, int v) { uint8_t x[2] = { 'K', (uint8_t)v }; put(b, x, 2); }
static void p_global(Buf *b, const char *m, const char *n) { put(b, "c", 1); puts_(b, m); put(b, "\n", 1); puts_(b, n); put(b, "\n", 1); }
static void p_odict(Buf *b) { p_global(b, "collections", "OrderedDict"); put(b, ")R", 2); }

// {name: _rebuild_tensor_v2(storage '0' of `numel` floats, offset, size, stride)} for 2-d views;
// long_memo: the OrderedDict global kept with LONG_BINPUT and fetched with LONG_BINGET (as
// torch writes state_dicts of more than ~40 tensors).
static Buf pickle_one(const char *name, int numel, int offset, int r, int c, int sr, int sc, bool long_memo) {
    Buf b = { 0 };
    put(&b, "\x80\x02", 2);
    p_global(&b, "collections", "OrderedDict");
    if (long_memo) put(&b, "r\x64\0\0\0", 5);
    put(&b, ")R", 2);
    put(&b, "(", 1);
    p_str(&b, name);
    p_global(&b, "torch._utils", "_rebuild_tensor_v2");
    put(&b, "((", 2);
    p_str(&b, "storage"); p_global(&b, "torch", "FloatStorage"); p_str(&b, "0"); p_str(&b, "cpu"); p_int(&b, numel);
    put(&b, "tQ", 2);
    p_int(&b, offset);
    p_int(&b, r); p_int(&b, c); put(&b, "\x86", 1);
    p_int(&b, sr); p_int(&b, sc); put(&b, "\x86", 1);
    put(&b, "\x89", 1);
    if (long_memo) put(&b, "j\x64\0\0\0)R", 7);
    else p_odict(&b);
    put(&b, "tR", 2);
    put(&b, "u.", 2);
    return b;
}

static Buf archive(const Buf *pkl, const float *data, size_t n) {
    Ent e[2] = { { "a/data.pkl", pkl->p, pkl->n, 0 }, { "a/data/0", (const uint8_t *)data, n * sizeof(float), 0 } };
    return zip_build(e, 2);
}

// ---------------------------------------------------------------------------------------
// (b) views

static void test_views(void) {
    const float s[6] = { 0, 1, 2, 3, 4, 5 };
    struct { int offset, r, c, sr, sc; float want[4]; bool long_memo; } cases[] = {
        { 0, 2, 2, 2, 1, { 0, 1, 2, 3 }, false },   // contiguous
        { 2, 2, 2, 2, 1, { 2, 3, 4, 5 }, false },   // at an offset
        { 0, 2, 2, 1, 2, { 0, 2, 1, 3 }, false },   // transposed
        { 1, 2, 2, 1, 3, { 1, 4, 2, 5 }, false },   // transposed at an offset
        { 0, 2, 2, 2, 1, { 0, 1, 2, 3 }, true },    // LONG_BINPUT / LONG_BINGET
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Buf p = pickle_one("w", 6, cases[i].offset, cases[i].r, cases[i].c, cases[i].sr, cases[i].sc, cases[i].long_memo);
        Buf z = archive(&p, s, 6);
        write_bytes(in_dir("view.pt"), z.p, z.n);
        TorchCkpt tc;
        char err[ERR_LEN] = "";
        int rc = torch_load(&tc, in_dir("view.pt"), err);
        CHECK(rc == 0 && tc.n == 1 && tc.tensors[0].dtype == ST_F32 && tc.tensors[0].ndim == 2 &&
              !strcmp(tc.tensors[0].name, "w"), "view %zu: %s", i, err);
        if (!rc && tc.n == 1) {
            float got[4];
            CHECK(st_to_real(&tc.tensors[0], got, 4, err) == 0, "%s", err);
            CHECK(!memcmp(got, cases[i].want, sizeof got), "view %zu: %g %g %g %g", i, got[0], got[1], got[2], got[3]);
        }
        torch_free(&tc);
        free(p.p);
        free(z.p);
    }
}

// ---------------------------------------------------------------------------------------
// (c) malformed archives

static int n_entries;
static ZipEntry *entries;
static uint8_t *good;
static size_t good_n;

// Loads path (all_config.yaml beside it) and expects one clean error naming it and kw.
static void expect_fail(const char *what, const char *path, const char *kw) {
    Model m;
    char err[ERR_LEN] = "", *ts = (char *)1;
    int rc = checkpoint_load(&m, path, &ts, err);
    CHECK(rc == -1, "%s: loaded", what);
    CHECK(strstr(err, path) == err, "%s: message does not start with the path: %s", what, err);
    CHECK(strstr(err, kw) != NULL, "%s: message lacks '%s': %s", what, kw, err);
    CHECK(!strchr(err, '\n'), "%s: message of more than one line", what);
    CHECK(m.params == NULL && ts == NULL, "%s: output left behind", what);
    if (!rc) model_free(&m);
}

static void write_and_expect(const char *what, const Buf *z, const char *kw) {
    char *path = in_dir("bad.pt");
    write_bytes(path, z->p, z->n);
    expect_fail(what, path, kw);
}

// The good archive with entry `name` replaced (data NULL: removed) or given a method.
static Buf rebuilt(const char *name, const uint8_t *data, size_t size, unsigned method, bool drop) {
    Ent *e = xcalloc((size_t)n_entries, sizeof *e);
    int k = 0;
    for (int i = 0; i < n_entries; i++) {
        bool hit = !strcmp(entries[i].name, name);
        if (hit && drop) continue;
        e[k++] = (Ent){ entries[i].name, hit && data ? data : entries[i].data, hit && data ? size : entries[i].size,
                        hit ? method : 0 };
    }
    Buf z = zip_build(e, k);
    free(e);
    return z;
}

static const ZipEntry *entry(const char *name) {
    for (int i = 0; i < n_entries; i++)
        if (!strcmp(entries[i].name, name)) return &entries[i];
    die("no entry %s in the fixture", name);
}

// data.pkl with the first occurrence of `from` replaced by `to`.
static Buf pkl_replace(const char *from, const char *to) {
    const ZipEntry *p = entry("step_f32/data.pkl");
    const uint8_t *hit = memmem(p->data, p->size, from, strlen(from));
    if (!hit) die("'%s' not in data.pkl", from);
    Buf b = { 0 };
    put(&b, p->data, (size_t)(hit - p->data));
    puts_(&b, to);
    put(&b, hit + strlen(from), p->size - (size_t)(hit - p->data) - strlen(from));
    return b;
}

static void bad_pickle(const char *what, const char *from, const char *to, const char *kw) {
    Buf p = pkl_replace(from, to);
    Buf z = rebuilt("step_f32/data.pkl", p.p, p.n, 0, false);
    write_and_expect(what, &z, kw);
    free(p.p);
    free(z.p);
}

static void test_malformed(void) {
    good = read_bytes(FIX "torch_att/step_f32", &good_n);
    char msg[ERR_LEN] = "";
    CHECK(zip_entries(good, good_n, &entries, &n_entries, msg) == 0, "fixture: %s", msg);
    // beside every bad archive: the fixture's config, with seq_len given (no data folder here)
    size_t yn;
    uint8_t *yaml = read_bytes(FIX "torch_att/all_config.yaml", &yn);
    Buf y = { 0 };
    put(&y, yaml, yn);
    puts_(&y, "seq_len: 64\n");
    write_bytes(in_dir("all_config.yaml"), y.p, y.n);
    free(y.p);
    free(yaml);
    Buf same = rebuilt("", NULL, 0, 0, false);   // the writer itself reproduces a loadable file
    write_bytes(in_dir("same.pt"), same.p, same.n);
    Model m;
    CHECK(checkpoint_load(&m, in_dir("same.pt"), NULL, msg) == 0, "rebuilt archive: %s", msg);
    model_free(&m);

    // truncated at several points
    size_t cuts[] = { 0, 3, 4, 30, 100, good_n / 2, good_n - 23, good_n - 1 };
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        char what[64];
        snprintf(what, sizeof what, "truncated at %zu", cuts[i]);
        Buf z = { 0 };
        put(&z, good, cuts[i]);
        write_and_expect(what, &z, cuts[i] < 4 ? "" : "zip");
        free(z.p);
    }
    Buf z = { 0 };
    put(&z, same.p, same.n / 2);   // the half of a file ending in its central directory:
    put(&z, same.p + same.n - 22, 22);   // the end record points outside
    write_and_expect("truncated before its central directory", &z, "central directory");
    free(z.p);

    z = (Buf){ 0 };
    put(&z, same.p, same.n);
    memset(z.p + z.n - 6, 0xFF, 4);   // the end record's directory offset: "see the ZIP64 record"
    write_and_expect("a ZIP64 archive", &z, "ZIP64");
    free(z.p);

    // the pickle
    bad_pickle("a foreign opcode", "\x80\x02", "\x80\x02\x95", "opcode 0x95");
    bad_pickle("protocol 4", "\x80\x02", "\x80\x04", "protocol 4");
    bad_pickle("a foreign global", "collections\nOrderedDict\n", "os\nsystem\n", "global 'os.system' is not allowed");
    bad_pickle("builtins.eval", "torch._utils\n_rebuild_tensor_v2\n", "builtins\neval\n", "'builtins.eval'");
    bad_pickle("an integer storage", "torch\nFloatStorage\n", "torch\nLongStorage\n", "torch.LongStorage");
    bad_pickle("a persistent id of another kind", "storage", "module_", "persistent id");
    {
        const ZipEntry *p = entry("step_f32/data.pkl");
        Buf cut = rebuilt("step_f32/data.pkl", p->data, p->size / 2, 0, false);
        write_and_expect("a pickle cut in half", &cut, "data.pkl");
        free(cut.p);
    }
    // the storages
    const ZipEntry *s0 = entry("step_f32/data/0");
    Buf w = rebuilt("step_f32/data/0", s0->data, s0->size - 4, 0, false);
    write_and_expect("a storage 4 bytes short", &w, "storage '0' holds");
    free(w.p);
    uint8_t *longer = xcalloc(s0->size + 4, 1);
    memcpy(longer, s0->data, s0->size);
    w = rebuilt("step_f32/data/0", longer, s0->size + 4, 0, false);
    write_and_expect("a storage 4 bytes long", &w, "storage '0' holds");
    free(w.p);
    free(longer);
    w = rebuilt("step_f32/data/1", NULL, 0, 0, true);
    write_and_expect("a storage missing", &w, "has no entry");
    free(w.p);
    w = rebuilt("step_f32/data/0", NULL, 0, 8, false);
    write_and_expect("a compressed entry", &w, "compressed");
    free(w.p);
    w = rebuilt("step_f32/data.pkl", NULL, 0, 0, true);
    write_and_expect("no data.pkl", &w, "data.pkl");
    free(w.p);
    {
        Ent e[64];
        int k = 0;
        for (int i = 0; i < n_entries && k < 63; i++) e[k++] = (Ent){ entries[i].name, entries[i].data, entries[i].size, 0 };
        e[k++] = (Ent){ "step_f32/byteorder", (const uint8_t *)"big", 3, 0 };
        w = zip_build(e, k);
        write_and_expect("big-endian", &w, "big-endian");
        free(w.p);
        e[k - 1].data = (const uint8_t *)"little";
        e[k - 1].size = 6;
        w = zip_build(e, k);
        write_bytes(in_dir("little.pt"), w.p, w.n);
        CHECK(checkpoint_load(&m, in_dir("little.pt"), NULL, msg) == 0, "byteorder little: %s", msg);
        model_free(&m);
        free(w.p);
    }
    // a flipped byte in a storage
    Buf f = { 0 };
    put(&f, same.p, same.n);
    ZipEntry *re;
    int rn;
    CHECK(zip_entries(same.p, same.n, &re, &rn, msg) == 0, "%s", msg);
    for (int i = 0; i < rn; i++)
        if (!strcmp(re[i].name, "step_f32/data/0")) f.p[re[i].data - same.p + 5] ^= 0x40;
    zip_entries_free(re, rn);
    write_and_expect("a flipped byte", &f, "CRC-32");
    free(f.p);

    // a pickle whose view reads past its storage, and other hand-made ones
    const float s[4] = { 0 };
    struct { Buf p; const char *kw; } hand[] = {
        { pickle_one("embed_tokens.embedding_weight", 4, 2, 2, 2, 2, 1, false), "reads past its storage" },
        { pickle_one("embed_tokens.embedding_weight", 4, 0, 2, 2, 200, 1, false), "reads past its storage" },
        { pickle_one("embed_tokens.embedding_weight", 5, 0, 2, 2, 2, 1, false), "storage '0' holds" },
    };
    for (size_t i = 0; i < sizeof hand / sizeof *hand; i++) {
        Buf a = archive(&hand[i].p, s, 4);
        write_and_expect(hand[i].kw, &a, hand[i].kw);
        free(a.p);
        free(hand[i].p.p);
    }
#define RAW(lit, kw) { "\x80\x02" lit, sizeof "\x80\x02" lit - 1, kw }
    struct { const char *p; size_t n; const char *kw; } raw[] = {
        RAW("h\x05", "memo index 5 is not set"),
        RAW("r\xff\xff\xff\x7f", "PUT on an empty stack"),
        RAW("Nq\xff", "memo index 255 out of range"),
        RAW("t", "MARK missing"),
        RAW("R", "underflow"),
        RAW("(N.", "stack"),
        RAW("N.", "not a state_dict"),
        RAW("}NNs.", "key 0 is a None"),
        RAW("}X\x01\x00\x00\x00kNs.", "'k' is a None, not a tensor"),
        RAW("N)R.", "REDUCE"),
        RAW("X\xff\xff\xff\xff", "truncated"),
        RAW("\x8a\x09" "123456789", "LONG1 of 9 bytes"),
        RAW("ctorch\nFloatStorage", "GLOBAL truncated"),
        RAW("X\x02\x00\x00\x00" "a\x00", "NUL"),
    };
    for (size_t i = 0; i < sizeof raw / sizeof *raw; i++) {
        Buf p = { 0 };
        put(&p, raw[i].p, raw[i].n);
        Buf a = archive(&p, s, 4);
        write_and_expect(raw[i].kw, &a, raw[i].kw);
        free(a.p);
        free(p.p);
    }

    // the config beside it does not fit the tensors
    size_t cn;
    uint8_t *c = read_bytes(in_dir("all_config.yaml"), &cn);
    char *bad_cfg = xmalloc(cn + 1);
    memcpy(bad_cfg, c, cn);
    bad_cfg[cn] = 0;
    memcpy(strstr(bad_cfg, "hidden_size: 16"), "hidden_size: 32", 15);   // and the puzzle rows with it
    memcpy(strstr(bad_cfg, "puzzle_emb_ndim: 16"), "puzzle_emb_ndim: 32", 19);
    write_bytes(in_dir("all_config.yaml"), bad_cfg, cn);
    expect_fail("shapes that do not fit the config", in_dir("same.pt"), "], the config needs [");
    expect_fail("shapes that do not fit the config", in_dir("same.pt"), "32] (config: ");
    write_bytes(in_dir("all_config.yaml"), c, cn);
    free(bad_cfg);
    free(c);
    unlink(in_dir("all_config.yaml"));
    expect_fail("no all_config.yaml beside it", in_dir("same.pt"), "all_config.yaml is missing");
    char err[ERR_LEN] = "";
    // --config from elsewhere: its data folder is found relative to it
    CHECK(checkpoint_load_config(&m, in_dir("same.pt"), FIX "torch_att/all_config.yaml", NULL, err) == 0,
          "a config given: %s", err);
    model_free(&m);
    CHECK(checkpoint_load_config(&m, FIX "torch_att/step_f32", FIX "torch_mlp/all_config.yaml", NULL, err) == -1 &&
          strstr(err, FIX "torch_att/step_f32: " FIX "torch_mlp/all_config.yaml: cannot tell seq_len") == err,
          "another model's config: %s", err);
    const uint8_t legacy[16] = { 0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19 };
    write_bytes(in_dir("legacy.pt"), legacy, sizeof legacy);
    expect_fail("the legacy format", in_dir("legacy.pt"), "legacy");
    free(same.p);
}

// Random byte changes and cuts of data.pkl (the CRC made right, so the unpickler sees them):
// each load either works or fails with a message naming the file; never a crash (ASan).
static void test_fuzz(void) {
    const ZipEntry *p = entry("step_f32/data.pkl");
    uint8_t *pkl = xmalloc(p->size);
    uint64_t r = 12345;
    int failed = 0, loaded = 0;
    for (int it = 0; it < 600; it++) {
        memcpy(pkl, p->data, p->size);
        size_t n = p->size;
        if (it % 3 == 2) n = (size_t)(it * 7) % p->size;   // a cut
        else
            for (int k = 0; k <= it % 3; k++) {
                r = r * 6364136223846793005ull + 1442695040888963407ull;
                pkl[(r >> 33) % p->size] = (uint8_t)(r >> 17);
            }
        Buf z = rebuilt("step_f32/data.pkl", pkl, n, 0, false);
        char *path = in_dir("fuzz.pt"), err[ERR_LEN] = "";
        write_bytes(path, z.p, z.n);
        free(z.p);
        Model m;
        int rc = checkpoint_load(&m, path, NULL, err);
        if (rc == 0) { loaded++; model_free(&m); continue; }
        failed++;
        if (strstr(err, path) != err || strchr(err, '\n')) CHECK(0, "fuzz %d: %s", it, err);
    }
    CHECK(failed > 300, "fuzz: only %d of 600 changed pickles refused (%d loaded)", failed, loaded);
    free(pkl);
}

// ---------------------------------------------------------------------------------------
// (d) YAML and the mapping

static void test_yaml(void) {
    const char *text =
        "# a comment\n"
        "arch:\n"
        "  hidden_size: 512   # trailing comment\n"
        "  loss:\n"
        "    loss_type: 'stable # not a comment'\n"
        "    name: \"a\\\"b\"\n"
        "  mlp_t: false\n"
        "data_paths:\n"
        "- data/arc\n"
        "- other\n"
        "empty: []\n"
        "evaluators:\n"
        "- name: arc@ARC\n"
        "  extra: 1\n"
        "- name: two\n"
        "nested:\n"
        "  - x\n"
        "long: one two\n"
        "  three\n"
        "nothing: null\n";
    Yaml y;
    char err[ERR_LEN] = "";
    CHECK(yaml_parse(&y, text, "t.yaml", err) == 0, "%s", err);
    struct { const char *k, *v; } want[] = {
        { "arch.hidden_size", "512" }, { "arch.loss.loss_type", "stable # not a comment" },
        { "arch.loss.name", "a\"b" }, { "arch.mlp_t", "false" }, { "data_paths.0", "data/arc" },
        { "data_paths.1", "other" }, { "empty", "[]" }, { "evaluators.0.name", "arc@ARC" },
        { "evaluators.0.extra", "1" }, { "evaluators.1.name", "two" }, { "nested.0", "x" },
        { "long", "one two three" },
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const char *v = yaml_get(&y, want[i].k);
        CHECK(v && !strcmp(v, want[i].v), "yaml %s = '%s' (want '%s')", want[i].k, v ? v : "(none)", want[i].v);
    }
    CHECK(!yaml_get(&y, "nothing") && !yaml_get(&y, "arch"), "null and mappings are not values");
    yaml_free(&y);
    const char *bad[][2] = {
        { "a:\n\tb: 1\n", "t.yaml:2: tab" },
        { "a: 1\na: 2\n", "t.yaml:2: duplicate key (first on line 1)" },
        { "just words\n", "t.yaml:1: not a 'key: value' line" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(yaml_parse(&y, bad[i][0], "t.yaml", err) == -1 && strstr(err, bad[i][1]), "bad yaml %zu: %s", i, err);
        yaml_free(&y);
    }
}

// torch_config_load on a config written here and tensors given by name and shape only.
static int map(const char *arch_extra, const char *top, StTensor *t, int n, TRMConfig *c, char *err) {
    char *path = in_dir("map.yaml"), *ts = NULL;
    FILE *f = fopen(path, "w");
    fprintf(f, "arch:\n  H_cycles: 3\n  L_cycles: 4\n  L_layers: 2\n  expansion: 4\n  halt_max_steps: 16\n"
               "  hidden_size: 16\n  num_heads: 2\n  puzzle_emb_len: 16\n  puzzle_emb_ndim: 16\n%s"
               "data_paths:\n- nowhere\n%s", arch_extra, top);
    fclose(f);
    int rc = torch_config_load(path, t, n, c, &ts, err);
    free(ts);
    return rc;
}

static void test_mapping(void) {
    StTensor t[3] = {
        { .name = "embed_tokens.embedding_weight", .ndim = 2, .shape = { 12, 16 } },
        { .name = "puzzle_emb.weights", .ndim = 2, .shape = { 77, 16 } },
        { .name = "H_level.layers.0.mlp.down_proj.weight", .ndim = 2, .shape = { 16, 256 } },
    };
    TRMConfig c;
    char err[ERR_LEN] = "";
    const char *trm = "  name: recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1\n  pos_encodings: rope\n";
    CHECK(map(trm, "", t, 2, &c, err) == 0 && c.seq_len == 900 && c.vocab == 12 && c.num_puzzle_ids == 77 &&
          c.T == 3 && c.n == 4 && c.N_sup == 16 && c.layers == 2 && c.puzzle_len == 16 && c.halt,
          "ARC rule: seq_len %d: %s", c.seq_len, err);
    CHECK(map(trm, "seq_len: 100\n", t, 2, &c, err) == 0 && c.seq_len == 100, "seq_len key: %s", err);
    t[0].shape[0] = 11;
    CHECK(map(trm, "", t, 2, &c, err) == 0 && c.seq_len == 81, "Sudoku rule: seq_len %d: %s", c.seq_len, err);
    t[0].shape[0] = 13;
    CHECK(map(trm, "", t, 2, &c, err) == -1 && strstr(err, "cannot tell seq_len"), "no seq_len: %s", err);
    t[0].shape[0] = 12;
    struct { const char *arch, *kw; int n; } bad[] = {
        { "  name: recursive_reasoning.hrm@HierarchicalReasoningModel_ACTV1\n  pos_encodings: rope\n", "is HRM", 2 },
        { trm, "is HRM's second network", 3 },
        { "  name: recursive_reasoning.trm_singlez@X\n  pos_encodings: rope\n", "is not supported", 2 },
        { "  name: recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1\n  pos_encodings: learned\n",
          "only rope and none", 2 },
        { "  pos_encodings: rope\n  rms_norm_eps: 1e-6\n", "rms_norm_eps", 2 },
        { "  pos_encodings: rope\n  forward_dtype: int8\n", "forward_dtype", 2 },
        { "  pos_encodings: rope\n  loss:\n    loss_type: mse\n", "loss_type 'mse'", 2 },
        { "  pos_encodings: rope\n  mlp_t: maybe\n", "not true or false", 2 },
        { "  pos_encodings: rope\n  num_heads: 3\n", "duplicate key", 2 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(map(bad[i].arch, "", t, bad[i].n, &c, err) == -1 && strstr(err, bad[i].kw) &&
              strstr(err, "map.yaml"), "mapping %zu: %s", i, err);
    CHECK(map(trm, "", t, 1, &c, err) == 0 && c.num_puzzle_ids == 1, "no puzzle table: %s", err);
}

int main(int argc, char **argv) {
    (void)argc;
    if (!getenv("OMP_WAIT_POLICY")) {   // speed only, as test_checkpoint.c
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execv("/proc/self/exe", argv);
    }
    snprintf(dir, sizeof dir, "/tmp/trm_torch_XXXXXX");
    if (!mkdtemp(dir)) die("mkdtemp failed");
    test_fixtures();
    test_views();
    test_malformed();
    test_fuzz();
    zip_entries_free(entries, n_entries);
    free(good);
    test_yaml();
    test_mapping();
    printf("torch_ckpt: logits vs PyTorch (float64): max abs diff f32 %.2e, bf16 %.2e, DIS mlp %.2e; "
           "max rel %.2e, %.2e, %.2e (tol %.0e)\n", worst_abs[0], worst_abs[1], worst_abs[2], worst_rel[0],
           worst_rel[1], worst_rel[2], TOL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary("torch_ckpt");
}
