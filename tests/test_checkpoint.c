// test_checkpoint.c: model files (round trips, EMA override, official names and dtypes,
// a catalogue of corrupt files that must each fail cleanly) and trainer state files (an
// interrupted and resumed run must match the uninterrupted one bit for bit).
#define _POSIX_C_SOURCE 200809L   // mkdtemp
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "tasks/nqueens.h"
#include "train/train.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void in_dir(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/%s", dir, name);
}

static bool all_zero(const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return false;
    return true;
}

// The small configs of these tests: attention (with the step embedding) and MLP-mixer.
static TRMConfig small_cfg(bool mlp_t) {
    TRMConfig c = {
        .vocab = 3, .seq_len = 64, .hidden = 32, .heads = 4, .layers = 2, .expansion = 4,
        .puzzle_len = 16, .num_puzzle_ids = 5, .mlp_t = mlp_t, .rope = !mlp_t, .rope_theta = 10000.0,
        .T = 1, .n = 2, .N_sup = 6, .time_embed = true, .halt = false, .loss = LOSS_STABLEMAX,
    };
    char err[ERR_LEN] = "";
    if (cfg_validate(&c, err)) die("small_cfg: %s", err);
    return c;
}

// A model with every tensor random, the puzzle table included (it starts at zero).
static void make_model(Model *m, bool mlp_t, uint64_t seed) {
    TRMConfig c = small_cfg(mlp_t);
    model_create(m, &c, seed);
    Rng r;
    rng_seed(&r, seed + 100);
    const ParamSpec *p = param_find(&m->table, "puzzle_emb.weights");
    for (size_t i = 0; p && i < p->numel; i++) m->params[p->offset + i] = (real)rng_normal(&r);
}

static bool same_config(const Model *a, const Model *b) {
    char *x = cfg_to_json(&a->cfg), *y = cfg_to_json(&b->cfg);
    bool same = !strcmp(x, y);
    free(x);
    free(y);
    return same;
}

// ---------------------------------------------------------------------------------------
// Round trips

static void test_round_trip(bool mlp_t) {
    const char *what = mlp_t ? "mlp_t" : "attention";
    char path[256], err[ERR_LEN] = "";
    in_dir(path, sizeof path, "rt.safetensors");
    Model a, b;
    make_model(&a, mlp_t, 11);
    const char *ts = "{\"task\":\"nqueens\",\"step\":3}";
    CHECK(checkpoint_save(&a, NULL, ts, path, err) == 0, "%s: save: %s", what, err);
    char *ts_back = NULL;
    CHECK(checkpoint_load(&b, path, &ts_back, err) == 0, "%s: load: %s", what, err);
    CHECK(same_config(&a, &b), "%s: config differs after the round trip", what);
    CHECK(a.table.count == b.table.count && a.table.n_total == b.table.n_total &&
          a.table.n_dense == b.table.n_dense, "%s: parameter table differs", what);
    CHECK(b.params && memcmp(a.params, b.params, a.table.n_total * sizeof(real)) == 0,
          "%s: parameters differ after the round trip", what);
    CHECK(ts_back && !strcmp(ts_back, ts), "%s: train_state '%s'", what, ts_back ? ts_back : "(null)");
    free(ts_back);
    // Without a train_state argument, and loading the same file twice.
    Model c;
    CHECK(checkpoint_load(&c, path, NULL, err) == 0, "%s: second load: %s", what, err);
    CHECK(memcmp(c.params, b.params, b.table.n_total * sizeof(real)) == 0, "%s: second load differs", what);
    model_free(&c);

    // EMA: the dense override is written in place of the dense prefix, the rest (puzzle
    // table, H_init, L_init) stays the model's own.
    size_t nd = a.table.n_dense;
    real *ema = xmalloc(nd * sizeof(real));
    for (size_t i = 0; i < nd; i++) ema[i] = a.params[i] * (real)0.5 + (real)0.25;
    CHECK(checkpoint_save(&a, ema, NULL, path, err) == 0, "%s: save with EMA: %s", what, err);
    Model e;
    ts_back = (char *)"sentinel";
    CHECK(checkpoint_load(&e, path, &ts_back, err) == 0, "%s: load EMA file: %s", what, err);
    CHECK(memcmp(e.params, ema, nd * sizeof(real)) == 0, "%s: EMA values not written", what);
    CHECK(memcmp(e.params + nd, a.params + nd, (a.table.n_total - nd) * sizeof(real)) == 0,
          "%s: non-dense tensors changed by the EMA override", what);
    CHECK(ts_back && !strcmp(ts_back, "{}"), "%s: default train_state '%s'", what, ts_back ? ts_back : "(null)");
    free(ts_back);
    model_free(&e);
    free(ema);
    model_free(&a);
    model_free(&b);
}

// ---------------------------------------------------------------------------------------
// Writing model files by hand: official names, other dtypes, and deliberate faults.

typedef struct {
    const char *prefix;      // put before every tensor name
    StDtype dtype;           // of every tensor: F32, BF16 or F64
    const char *skip;        // leave this tensor out
    const char *extra;       // add a tensor of this name
    const char *config;      // replaces the config metadata; "" leaves it out
    const char *reshape;     // write this tensor with one more row
    const char *as_i32;      // write this tensor as I32
} WriteOpts;

static uint16_t to_bf16(float f) {   // truncation: exact when read back as f32 >> 16
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)(u >> 16);
}

static float from_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void write_model(const char *path, const Model *m, const WriteOpts *o) {
    StWriter *w = st_writer_new();
    char *cfg = cfg_to_json(&m->cfg);
    st_writer_meta(w, "format", "trm");
    if (!o->config) st_writer_meta(w, "config", cfg);
    else if (*o->config) st_writer_meta(w, "config", o->config);
    st_writer_meta(w, "train_state", "{\"task\":\"nqueens\"}");
    void *bufs[TRM_MAX_PARAMS + 1];
    int nbufs = 0;
    for (int i = 0; i < m->table.count; i++) {
        const ParamSpec *s = &m->table.spec[i];
        if (o->skip && !strcmp(s->name, o->skip)) continue;
        char name[160];
        snprintf(name, sizeof name, "%s%s", o->prefix ? o->prefix : "", s->name);
        int64_t shape[2] = { s->shape[0], s->shape[1] };
        size_t n = s->numel;
        bool grow = o->reshape && !strcmp(s->name, o->reshape);
        if (grow) {
            shape[0]++;
            n = (size_t)shape[0] * (size_t)(s->ndim == 2 ? shape[1] : 1);
        }
        const real *src = m->params + s->offset;
        StDtype dt = o->as_i32 && !strcmp(s->name, o->as_i32) ? ST_I32 : o->dtype;
        void *buf = xcalloc(n, st_dtype_size(dt));
        for (size_t k = 0; k < n; k++) {
            float v = k < s->numel ? (float)src[k] : 1.0f;
            if (dt == ST_F32) ((float *)buf)[k] = v;
            else if (dt == ST_F64) ((double *)buf)[k] = v;
            else if (dt == ST_BF16) ((uint16_t *)buf)[k] = to_bf16(v);
            else ((int32_t *)buf)[k] = (int32_t)k;
        }
        bufs[nbufs++] = buf;
        st_writer_add(w, name, dt, s->ndim, shape, buf);
    }
    static const float extra[4] = { 1, 2, 3, 4 };
    int64_t four = 4;
    if (o->extra) st_writer_add(w, o->extra, ST_F32, 1, &four, extra);
    char err[ERR_LEN] = "";
    if (st_writer_save(w, path, err)) die("write_model: %s", err);
    st_writer_free(w);
    for (int i = 0; i < nbufs; i++) free(bufs[i]);
    free(cfg);
}

static void test_official_names(void) {
    char path[256], err[ERR_LEN] = "";
    in_dir(path, sizeof path, "official.safetensors");
    Model a, b;
    make_model(&a, false, 21);
    // BF16 under the torch.compile prefix; the non-persistent buffer an exported state
    // dict may carry is accepted and ignored.
    write_model(path, &a, &(WriteOpts){ .prefix = "_orig_mod.model.inner.", .dtype = ST_BF16,
                                        .extra = "_orig_mod.model.inner.puzzle_emb.local_weights" });
    CHECK(checkpoint_load(&b, path, NULL, err) == 0, "BF16 official names: %s", err);
    if (b.params) {
        CHECK(same_config(&a, &b), "BF16: config differs");
        bool exact = true;
        for (size_t i = 0; i < a.table.n_total && exact; i++)
            exact = b.params[i] == from_bf16(to_bf16((float)a.params[i]));
        CHECK(exact, "BF16 values not converted exactly");
        // and they really are BF16: some value lost its low bits
        CHECK(memcmp(a.params, b.params, a.table.n_total * sizeof(real)) != 0, "BF16 file equals the F32 values?");
        model_free(&b);
    }
    // F64 under the plain wrapper prefix: exact.
    write_model(path, &a, &(WriteOpts){ .prefix = "model.inner.", .dtype = ST_F64 });
    CHECK(checkpoint_load(&b, path, NULL, err) == 0, "F64 model.inner. names: %s", err);
    if (b.params) {
        CHECK(memcmp(a.params, b.params, a.table.n_total * sizeof(real)) == 0, "F64 values differ");
        model_free(&b);
    }
    model_free(&a);
}

// ---------------------------------------------------------------------------------------
// Corrupt model files

// checkpoint_load must fail with one line that starts with the path and holds kw1..kw3,
// and leave *m zeroed (nothing allocated, model_free harmless).
static void expect_load_fail(const char *what, const char *path, const char *kw1, const char *kw2,
                             const char *kw3) {
    Model m;
    memset(&m, 0xa5, sizeof m);
    char err[ERR_LEN] = "";
    char *ts = (char *)"sentinel";
    int rc = checkpoint_load(&m, path, &ts, err);
    size_t pl = strlen(path);
    CHECK(rc == -1, "%s: checkpoint_load succeeded", what);
    if (rc == 0) {
        model_free(&m);
        free(ts);
        return;
    }
    if (getenv("CKPT_SHOW")) printf("%-28s %s\n", what, err);
    CHECK(!strncmp(err, path, pl) && !strncmp(err + pl, ": ", 2), "%s: message does not start with the path: %s", what, err);
    CHECK(!strchr(err, '\n'), "%s: message has a newline: %s", what, err);
    CHECK(strlen(err) > pl + 10, "%s: message too short: %s", what, err);
    CHECK(!kw1 || strstr(err, kw1), "%s: message lacks '%s': %s", what, kw1, err);
    CHECK(!kw2 || strstr(err, kw2), "%s: message lacks '%s': %s", what, kw2, err);
    CHECK(!kw3 || strstr(err, kw3), "%s: message lacks '%s': %s", what, kw3, err);
    CHECK(ts == NULL, "%s: train_state not reset on failure", what);
    CHECK(all_zero(&m, sizeof m), "%s: failed load left a half-built model", what);
    model_free(&m);
}

// Rewrites the JSON header of the model file src into dst (the data section unchanged)
// after edit() changed it.
static void rewrite_header(const char *src, const char *dst, void (*edit)(cJSON *root)) {
    size_t n;
    uint8_t *p = read_bytes(src, &n);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | p[i];
    char *json = xmalloc(hlen + 1);
    memcpy(json, p + 8, hlen);
    json[hlen] = 0;
    cJSON *root = cJSON_Parse(json);
    if (!root) die("rewrite_header: cannot parse %s", src);
    edit(root);
    char *out = cJSON_PrintUnformatted(root);
    size_t olen = strlen(out), dlen = n - 8 - hlen;
    uint8_t *q = xmalloc(8 + olen + dlen);
    for (int i = 0; i < 8; i++) q[i] = (uint8_t)((uint64_t)olen >> (8 * i));
    memcpy(q + 8, out, olen);
    memcpy(q + 8 + olen, p + 8 + hlen, dlen);
    write_bytes(dst, q, 8 + olen + dlen);
    free(q);
    free(out);
    cJSON_Delete(root);
    free(json);
    free(p);
}

static void set_string(cJSON *obj, const char *key, const char *value) {
    cJSON_ReplaceItemInObjectCaseSensitive(obj, key, cJSON_CreateString(value));
}

static void edit_newline_name(cJSON *root) {
    cJSON *e = cJSON_DetachItemFromObjectCaseSensitive(root, "lm_head.weight");
    cJSON_AddItemToObject(root, "lm_head\nweight", e);
}

static void edit_dtype_f99(cJSON *root) {
    set_string(cJSON_GetObjectItem(root, "lm_head.weight"), "dtype", "F99");
}

static void edit_offsets_past_end(cJSON *root) {
    cJSON *e = cJSON_GetObjectItem(root, "q_head.bias");
    int end[2] = { 100000000, 100000008 };
    cJSON_ReplaceItemInObjectCaseSensitive(e, "data_offsets", cJSON_CreateIntArray(end, 2));
}

static void edit_offsets_span(cJSON *root) {   // within the file, but the wrong size
    cJSON *e = cJSON_GetObjectItem(root, "q_head.bias");
    int span[2] = { 0, 4 };
    cJSON_ReplaceItemInObjectCaseSensitive(e, "data_offsets", cJSON_CreateIntArray(span, 2));
}

static void edit_config_not_json(cJSON *root) {
    set_string(cJSON_GetObjectItem(root, "__metadata__"), "config", "{\"vocab\": 3,");
}

static void edit_metadata_number(cJSON *root) {
    cJSON *meta = cJSON_GetObjectItem(root, "__metadata__");
    cJSON_ReplaceItemInObjectCaseSensitive(meta, "config", cJSON_CreateNumber(5));
}

static void test_corrupt_files(void) {
    char good[256], bad[256];
    in_dir(good, sizeof good, "good.safetensors");
    in_dir(bad, sizeof bad, "bad.safetensors");
    Model m;
    make_model(&m, false, 31);
    char err[ERR_LEN] = "";
    if (checkpoint_save(&m, NULL, "{}", good, err)) die("%s", err);
    size_t n;
    uint8_t *p = read_bytes(good, &n);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | p[i];

    // Truncated at several points: inside the length field, inside the header, at the end
    // of the header, inside the data.
    struct { size_t cut; const char *kw; } cuts[] = {
        { 0, "empty" }, { 5, "shorter than" }, { 8, "larger than the file" }, { 40, "larger than the file" },
        { 8 + hlen - 1, "larger than the file" }, { 8 + hlen, "past the data section" },
        { 8 + hlen + 1000, "past the data section" }, { n - 1, "past the data section" },
    };
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        char what[64];
        snprintf(what, sizeof what, "truncated at %zu of %zu", cuts[i].cut, n);
        write_bytes(bad, p, cuts[i].cut);
        expect_load_fail(what, bad, cuts[i].kw, NULL, NULL);
    }
    // Absurd header length: 8 bytes of 0xff.
    uint8_t *q = xmalloc(n);
    memcpy(q, p, n);
    memset(q, 0xff, 8);
    write_bytes(bad, q, n);
    expect_load_fail("header length 2^64-1", bad, "header length", "absurd", NULL);
    // A header length larger than the file (but not absurd).
    uint64_t big = n + 1000;
    for (int i = 0; i < 8; i++) q[i] = (uint8_t)(big >> (8 * i));
    write_bytes(bad, q, n);
    expect_load_fail("header length > file", bad, "header length", "larger than the file", NULL);
    // Bad JSON: a brace replaced.
    memcpy(q, p, n);
    q[8] = '[';
    write_bytes(bad, q, n);
    expect_load_fail("bad JSON", bad, "JSON", NULL, NULL);
    free(q);
    free(p);
    // A file that is not safetensors at all, a directory, a missing file.
    const char *text = "input,label\n........Q.......,........\n";
    write_bytes(bad, text, strlen(text));
    expect_load_fail("text file", bad, "header length", NULL, NULL);
    expect_load_fail("directory", dir, "not a regular file", NULL, NULL);
    char missing[256];
    in_dir(missing, sizeof missing, "no-such-model.safetensors");
    expect_load_fail("missing file", missing, "cannot open", NULL, NULL);

    // A tensor name with a newline: the message must stay one line.
    rewrite_header(good, bad, edit_newline_name);
    expect_load_fail("newline in a tensor name", bad, "unexpected tensor", "lm_head", NULL);
    rewrite_header(good, bad, edit_dtype_f99);
    expect_load_fail("dtype F99", bad, "lm_head.weight", "unknown dtype", "F99");
    rewrite_header(good, bad, edit_offsets_past_end);
    expect_load_fail("data_offsets past the end", bad, "q_head.bias", "data_offsets", "past the data section");
    rewrite_header(good, bad, edit_offsets_span);
    expect_load_fail("data_offsets wrong span", bad, "q_head.bias", "data_offsets", NULL);
    rewrite_header(good, bad, edit_config_not_json);
    expect_load_fail("config not JSON", bad, "config", "JSON", NULL);
    rewrite_header(good, bad, edit_metadata_number);
    expect_load_fail("metadata value a number", bad, "__metadata__", "config", NULL);

    // Shape: lm_head.weight [4, 32] where the config says [3, 32]; the message has both.
    write_model(bad, &m, &(WriteOpts){ .dtype = ST_F32, .reshape = "lm_head.weight" });
    expect_load_fail("wrong shape", bad, "lm_head.weight", "[4, 32]", "[3, 32]");
    write_model(bad, &m, &(WriteOpts){ .dtype = ST_F32, .reshape = "q_head.bias" });
    expect_load_fail("wrong 1-d shape", bad, "q_head.bias", "[3]", "[2]");
    // Missing tensor, extra tensor.
    write_model(bad, &m, &(WriteOpts){ .dtype = ST_F32, .skip = "L_level.layers.1.mlp.down_proj.weight" });
    expect_load_fail("missing tensor", bad, "missing tensor", "L_level.layers.1.mlp.down_proj.weight", NULL);
    write_model(bad, &m, &(WriteOpts){ .dtype = ST_F32, .skip = "H_init" });
    expect_load_fail("missing H_init", bad, "missing tensor", "H_init", NULL);
    write_model(bad, &m, &(WriteOpts){ .dtype = ST_F32, .extra = "L_level.layers.7.mlp.down_proj.weight" });
    expect_load_fail("extra tensor", bad, "unexpected tensor", "L_level.layers.7.mlp.down_proj.weight", NULL);
    // I32 for a weight.
    write_model(bad, &m, &(WriteOpts){ .dtype = ST_F32, .as_i32 = "embed_tokens.embedding_weight" });
    expect_load_fail("I32 weight", bad, "embed_tokens.embedding_weight", "I32", NULL);
    // Config metadata: missing, or with absurd values.
    write_model(bad, &m, &(WriteOpts){ .dtype = ST_F32, .config = "" });
    expect_load_fail("no config", bad, "config", "metadata", NULL);
    struct { const char *from, *to, *kw1, *kw2; } cfgs[] = {
        { "\"hidden\":32", "\"hidden\":0", "hidden", "out of range" },
        { "\"vocab\":3", "\"vocab\":1000000000", "vocab", "out of range" },
        { "\"heads\":4", "\"heads\":5", "not a multiple of heads", NULL },
        { "\"layers\":2", "\"layers\":-1", "layers", "out of range" },
        { "\"layers\":2", "\"layers\":1e300", "layers", "integer" },
        { "\"hidden\":32", "\"hidden\":\"32\"", "hidden", "integer" },
        { "\"vocab\":3,", "", "missing field", "vocab" },
        { "\"loss\":\"stablemax\"", "\"loss\":\"hinge\"", "loss", NULL },
    };
    char *cfg = cfg_to_json(&m.cfg);
    for (size_t i = 0; i < sizeof cfgs / sizeof *cfgs; i++) {
        char *at = strstr(cfg, cfgs[i].from), edited[1024];
        if (!at) die("config JSON lacks %s: %s", cfgs[i].from, cfg);
        snprintf(edited, sizeof edited, "%.*s%s%s", (int)(at - cfg), cfg, cfgs[i].to, at + strlen(cfgs[i].from));
        write_model(bad, &m, &(WriteOpts){ .dtype = ST_F32, .config = edited });
        char what[64];
        snprintf(what, sizeof what, "config %s", cfgs[i].to[0] ? cfgs[i].to : "without vocab");
        expect_load_fail(what, bad, "config", cfgs[i].kw1, cfgs[i].kw2);
    }
    write_model(bad, &m, &(WriteOpts){ .dtype = ST_F32, .config = "[1, 2]" });
    expect_load_fail("config an array", bad, "config", "JSON object", NULL);
    // A config that is valid but not the one of the tensors: every shape is checked.
    char *at = strstr(cfg, "\"hidden\":32"), edited[1024];
    snprintf(edited, sizeof edited, "%.*s\"hidden\":64%s", (int)(at - cfg), cfg, at + strlen("\"hidden\":32"));
    write_model(bad, &m, &(WriteOpts){ .dtype = ST_F32, .config = edited });
    expect_load_fail("config of another model", bad, "shape", "64", NULL);
    free(cfg);
    model_free(&m);
}

// ---------------------------------------------------------------------------------------
// Trainer state: interrupt and resume

static Dataset train_set;

static void trainer_cfg(TRMConfig *c, Method method) {
    char err[ERR_LEN] = "";
    if (cfg_preset(c, "compact", method == METHOD_DIS ? "dis" : "trm", 3, NQ_CELLS, 1, err)) die("%s", err);
    c->hidden = 32;
    c->heads = 4;
    c->layers = 1;
    if (method == METHOD_DIS) c->N_sup = 3;
    else { c->T = 2; c->n = 2; c->N_sup = 3; }
    if (cfg_validate(c, err)) die("%s", err);
}

static void trainer_opts(TrainOptions *o, Method method, int batch) {
    train_defaults(o, method);
    o->batch = batch;
    o->warmup = 3;
    o->seed = 5;
    o->quiet = true;
    if (method == METHOD_DIS) {
        o->ema = 0.9;
        o->targets = TARGETS_MASK;   // draws per-cell random numbers from the trainer's RNG
    } else {
        o->explore = 0.5;            // draws halting floors from the trainer's RNG
    }
}

// Runs `units` units, writing each one's mean loss into losses[].
static void advance(Trainer *t, int units, double *losses) {
    for (int u = 0; u < units; u++) {
        memset(&t->acc, 0, sizeof t->acc);
        trainer_advance(t);
        losses[u] = t->acc.loss;
    }
}

static bool same_bits(const void *a, const void *b, size_t n) {
    return (!a && !b) || (a && b && memcmp(a, b, n) == 0);
}

static void test_resume(Method method) {
    const char *what = method == METHOD_DIS ? "dis" : "trm";
    char state[256], err[ERR_LEN] = "";
    in_dir(state, sizeof state, "state.safetensors");
    const Task *task = task_find("nqueens");
    TRMConfig c;
    trainer_cfg(&c, method);
    TrainOptions o;
    trainer_opts(&o, method, 8);

    // The uninterrupted run: 2 units, save, 2 more.
    Model ma;
    model_create(&ma, &c, 7);
    Trainer a;
    trainer_init(&a, &ma, task, &train_set, &o);
    double la[4], lb[2];
    advance(&a, 2, la);
    a.evals_since_best = 2;    // the --patience and --skip-nonfinite counts go on, too
    a.skipped_nonfinite = 1;
    CHECK(trainer_save_state(&a, state, err) == 0, "%s: save state: %s", what, err);
    real *saved = xmalloc(ma.table.n_total * sizeof(real));
    memcpy(saved, ma.params, ma.table.n_total * sizeof(real));
    advance(&a, 2, la + 2);

    // The resumed run: a differently initialised model, the state loaded, 2 units.
    Model mb;
    model_create(&mb, &c, 99);
    Trainer b;
    trainer_init(&b, &mb, task, &train_set, &o);
    CHECK(trainer_load_state(&b, state, err) == 0, "%s: load state: %s", what, err);
    CHECK(memcmp(mb.params, saved, mb.table.n_total * sizeof(real)) == 0, "%s: loaded params differ", what);
    CHECK(b.evals_since_best == 2 && b.skipped_nonfinite == 1, "%s: counts %ld %ld after loading, expected 2 1", what,
          b.evals_since_best, b.skipped_nonfinite);
    advance(&b, 2, lb);

    size_t nd = ma.table.n_dense;
    CHECK(memcmp(ma.params, saved, ma.table.n_total * sizeof(real)) != 0, "%s: training changed nothing", what);
    CHECK(memcmp(ma.params, mb.params, ma.table.n_total * sizeof(real)) == 0,
          "%s: resumed parameters differ from the uninterrupted run", what);
    CHECK(memcmp(&la[2], lb, sizeof lb) == 0, "%s: resumed losses %.9g %.9g vs %.9g %.9g", what,
          lb[0], lb[1], la[2], la[3]);
    CHECK(memcmp(a.adam_m, b.adam_m, nd * sizeof(real)) == 0 && memcmp(a.adam_v, b.adam_v, nd * sizeof(real)) == 0,
          "%s: optimizer state differs", what);
    CHECK(same_bits(a.ema, b.ema, nd * sizeof(real)), "%s: EMA differs", what);
    CHECK(method != METHOD_DIS || a.ema, "dis: the test should cover the EMA");
    CHECK(a.step == b.step && a.examples == b.examples && a.epoch == b.epoch && a.cursor == b.cursor,
          "%s: counters differ: step %ld/%ld examples %ld/%ld epoch %ld/%ld cursor %ld/%ld", what, a.step,
          b.step, a.examples, b.examples, a.epoch, b.epoch, a.cursor, b.cursor);
    CHECK(a.epoch >= 1, "%s: the run should wrap an epoch (epoch %ld)", what, a.epoch);
    CHECK(!memcmp(&a.rng, &b.rng, sizeof a.rng), "%s: RNG state differs", what);
    CHECK(!memcmp(a.perm, b.perm, sizeof(int) * train_set.n), "%s: permutation differs", what);
    if (method == METHOD_TRM) {
        size_t cn = (size_t)8 * cfg_ltot(&c) * c.hidden;
        CHECK(!memcmp(a.carry.y, b.carry.y, cn * sizeof(real)) && !memcmp(a.carry.z, b.carry.z, cn * sizeof(real)),
              "trm: carry differs");
        CHECK(!memcmp(a.halted, b.halted, 8) && !memcmp(a.row_steps, b.row_steps, 8 * sizeof(int)),
              "trm: halting state differs");
    }

    // Mismatched runs are refused with a message naming the difference.
    TrainOptions o4;
    trainer_opts(&o4, method, 4);
    Model mc;
    model_create(&mc, &c, 7);
    Trainer t4;
    trainer_init(&t4, &mc, task, &train_set, &o4);
    err[0] = 0;
    CHECK(trainer_load_state(&t4, state, err) == -1, "%s: state of batch 8 loaded with batch 4", what);
    CHECK(strstr(err, state) && strstr(err, "batch") && strstr(err, "8") && strstr(err, "4"),
          "%s: batch message: %s", what, err);
    trainer_free(&t4);
    model_free(&mc);

    TrainOptions ox;
    trainer_opts(&ox, method == METHOD_DIS ? METHOD_TRM : METHOD_DIS, 8);
    model_create(&mc, &c, 7);
    trainer_init(&t4, &mc, task, &train_set, &ox);
    err[0] = 0;
    CHECK(trainer_load_state(&t4, state, err) == -1, "%s: state loaded by the other method", what);
    CHECK(strstr(err, state) && strstr(err, what), "%s: method message: %s", what, err);
    trainer_free(&t4);
    model_free(&mc);

    Dataset fewer = dataset_alloc(train_set.n - 1, train_set.seq_len);
    memcpy(fewer.inputs, train_set.inputs, (size_t)fewer.n * fewer.seq_len);
    memcpy(fewer.labels, train_set.labels, (size_t)fewer.n * fewer.seq_len);
    model_create(&mc, &c, 7);
    trainer_init(&t4, &mc, task, &fewer, &o);
    err[0] = 0;
    CHECK(trainer_load_state(&t4, state, err) == -1, "%s: state loaded with other data", what);
    CHECK(strstr(err, state) && strstr(err, "training rows"), "%s: data message: %s", what, err);
    trainer_free(&t4);
    model_free(&mc);
    dataset_free(&fewer);

    free(saved);
    trainer_free(&a);
    trainer_free(&b);
    model_free(&ma);
    model_free(&mb);
}

// A state whose JSON lacks fields, or whose tensors hold impossible values, is refused
// with a message (never a crash or an out-of-bounds read later in training).
static void drop_step(cJSON *root) {
    cJSON *meta = cJSON_GetObjectItem(root, "__metadata__");
    set_string(meta, "train_state", "{\"method\":\"trm\",\"batch\":8,\"n_train\":12,\"rng\":[\"1\",\"2\",\"3\",\"4\"]}");
}

static void rng_numbers(cJSON *root) {
    cJSON *meta = cJSON_GetObjectItem(root, "__metadata__");
    cJSON *ts = cJSON_Parse(cJSON_GetObjectItem(meta, "train_state")->valuestring);
    int r[4] = { 1, 2, 3, 4 };
    cJSON_ReplaceItemInObjectCaseSensitive(ts, "rng", cJSON_CreateIntArray(r, 4));
    char *s = cJSON_PrintUnformatted(ts);
    set_string(meta, "train_state", s);
    free(s);
    cJSON_Delete(ts);
}

static void test_bad_state(void) {
    char state[256], bad[256], err[ERR_LEN] = "";
    in_dir(state, sizeof state, "state2.safetensors");
    in_dir(bad, sizeof bad, "badstate.safetensors");
    const Task *task = task_find("nqueens");
    TRMConfig c;
    trainer_cfg(&c, METHOD_TRM);
    TrainOptions o;
    trainer_opts(&o, METHOD_TRM, 8);
    Model m, m2;
    model_create(&m, &c, 7);
    model_create(&m2, &c, 7);
    Trainer t, t2;
    trainer_init(&t, &m, task, &train_set, &o);
    trainer_init(&t2, &m2, task, &train_set, &o);
    double loss[1];
    advance(&t, 1, loss);
    if (trainer_save_state(&t, state, err)) die("%s", err);

    rewrite_header(state, bad, drop_step);
    err[0] = 0;
    CHECK(trainer_load_state(&t2, bad, err) == -1, "state without 'step' loaded");
    CHECK(strstr(err, bad) && strstr(err, "train_state"), "missing step message: %s", err);
    rewrite_header(state, bad, rng_numbers);
    err[0] = 0;
    CHECK(trainer_load_state(&t2, bad, err) == -1, "state with numeric rng loaded");
    CHECK(strstr(err, bad) && strstr(err, "train_state"), "numeric rng message: %s", err);

    // Tokens outside the vocabulary and puzzle ids outside the table.
    int32_t keep = t.input[5];
    t.input[5] = 77;
    if (trainer_save_state(&t, bad, err)) die("%s", err);
    t.input[5] = keep;
    err[0] = 0;
    CHECK(trainer_load_state(&t2, bad, err) == -1, "state with token 77 loaded");
    CHECK(strstr(err, bad) && strstr(err, "rows.input"), "token message: %s", err);
    keep = t.ids[2];
    t.ids[2] = 1000;
    if (trainer_save_state(&t, bad, err)) die("%s", err);
    t.ids[2] = keep;
    err[0] = 0;
    CHECK(trainer_load_state(&t2, bad, err) == -1, "state with puzzle id 1000 loaded");
    CHECK(strstr(err, bad) && strstr(err, "rows.ids"), "puzzle id message: %s", err);

    // A truncated state and a model file given as a state.
    size_t n;
    uint8_t *p = read_bytes(state, &n);
    write_bytes(bad, p, n / 2);
    free(p);
    err[0] = 0;
    CHECK(trainer_load_state(&t2, bad, err) == -1, "truncated state loaded");
    CHECK(strstr(err, bad) && strstr(err, "past the data section"), "truncated state message: %s", err);
    if (checkpoint_save(&m, NULL, "{}", bad, err)) die("%s", err);
    err[0] = 0;
    CHECK(trainer_load_state(&t2, bad, err) == -1, "model file loaded as a state");
    CHECK(strstr(err, bad) && strstr(err, "train_state"), "model-as-state message: %s", err);

    // After all the refusals the good state still loads.
    CHECK(trainer_load_state(&t2, state, err) == 0, "good state after bad ones: %s", err);
    trainer_free(&t);
    trainer_free(&t2);
    model_free(&m);
    model_free(&m2);
}

int main(int argc, char **argv) {
    (void)argc;
    // Busy-waiting OpenMP threads crawl on a shared, oversubscribed machine; the wait
    // policy is read when libgomp loads, so set it and start again (speed only).
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execv("/proc/self/exe", argv);
    }
    snprintf(dir, sizeof dir, "/tmp/trm_ckpt_XXXXXX");
    if (!mkdtemp(dir)) die("mkdtemp failed");
    test_round_trip(false);
    test_round_trip(true);
    test_official_names();
    test_corrupt_files();

    Dataset test_set;
    char err[ERR_LEN];
    if (nq_build("paper", 3, false, &train_set, &test_set, err)) die("%s", err);
    dataset_truncate(&train_set, 12);   // small, so 4 units wrap an epoch
    test_resume(METHOD_DIS);
    test_resume(METHOD_TRM);
    test_bad_state();
    dataset_free(&train_set);
    dataset_free(&test_set);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary("checkpoint");
}
