#include "checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safetensors.h"
#include "torch_ckpt.h"
#include "torch_config.h"

#define FORMAT_NAME "trm"
#define FORMAT_VERSION "1"

int checkpoint_save(const Model *m, const real *dense, const char *train_state_json,
                    const char *path, char *err) {
    StWriter *w = st_writer_new();
    char *cfg = cfg_to_json(&m->cfg);
    st_writer_meta(w, "format", FORMAT_NAME);
    st_writer_meta(w, "version", FORMAT_VERSION);
    st_writer_meta(w, "config", cfg);
    st_writer_meta(w, "train_state", train_state_json ? train_state_json : "{}");
    for (int i = 0; i < m->table.count; i++) {
        const ParamSpec *s = &m->table.spec[i];
        const real *src = dense && s->kind == PARAM_DENSE ? dense + s->offset : m->params + s->offset;
        st_writer_add_real(w, s->name, s->ndim, s->shape, src);
    }
    int rc = st_writer_save(w, path, err);
    st_writer_free(w);
    free(cfg);
    return rc;
}

// Official state_dict keys carry the wrapper modules' prefixes.
static const char *strip_prefix(const char *name) {
    static const char *prefixes[] = { "_orig_mod.model.inner.", "model.inner." };
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        size_t n = strlen(prefixes[i]);
        if (!strncmp(name, prefixes[i], n)) return name + n;
    }
    return name;
}

static const StTensor *find_tensor(const StTensor *t, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(strip_prefix(t[i].name), name)) return &t[i];
    return NULL;
}

// note: where the config came from, for torch checkpoints (" (config: dir/all_config.yaml)").
static int check_shape(const StTensor *t, const ParamSpec *s, const char *path, const char *note, char *err) {
    bool ok = t->ndim == s->ndim;
    for (int k = 0; ok && k < s->ndim; k++) ok = t->shape[k] == s->shape[k];
    if (ok) return 0;
    char got[128] = "", want[64] = "";
    for (int k = 0; k < t->ndim; k++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", k ? ", " : "", (long long)t->shape[k]);
    for (int k = 0; k < s->ndim; k++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", k ? ", " : "", (long long)s->shape[k]);
    return err_set(err, "%s: tensor '%s' has shape [%s], the config needs [%s]%s", path, s->name, got, want, note);
}

static bool known_tensor(const ParamTable *tab, const char *name) {
    // Non-persistent buffers of the PyTorch model may appear in exported state dicts.
    if (!strcmp(name, "puzzle_emb.local_weights") || !strcmp(name, "puzzle_emb.local_ids")) return true;
    return param_find(tab, name) != NULL;
}

// Tensor names come from the file and may hold any byte; a message stays one line.
static int one_line(char *err) {
    for (char *p = err; p && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    return -1;
}

// Every tensor of the table is in t[0..n) with its shape and a float dtype, and nothing
// else is. Checked before the model is allocated: the config comes from the same file
// and may ask for any size (a 100-million-row puzzle table) that no tensor backs.
static int check_tensors(const ParamTable *tab, const StTensor *t, int n, const char *path, const char *note,
                         char *err) {
    for (int i = 0; i < n; i++)
        if (!known_tensor(tab, strip_prefix(t[i].name)))
            return err_set(err, "%s: unexpected tensor '%s' for this config%s", path, t[i].name, note);
    for (int i = 0; i < tab->count; i++) {
        const ParamSpec *s = &tab->spec[i];
        const StTensor *x = find_tensor(t, n, s->name);
        if (!x) return err_set(err, "%s: missing tensor '%s'%s", path, s->name, note);
        if (x->dtype != ST_F32 && x->dtype != ST_BF16 && x->dtype != ST_F16 && x->dtype != ST_F64)
            return err_set(err, "%s: tensor '%s' has dtype %s (expected F32, BF16, F16 or F64)", path, s->name,
                           st_dtype_name(x->dtype));
        if (check_shape(x, s, path, note, err)) return -1;
    }
    return 0;
}

// Creates *m for cfg and fills every tensor of its table from t[0..n), whatever the file
// format; 0, or -1 with *m zeroed and one line in err.
static int fill_model(Model *m, const TRMConfig *cfg, const StTensor *t, int n, const char *path,
                      const char *note, char *err) {
    ParamTable *tab = xmalloc(sizeof *tab);
    param_table_build(tab, cfg);
    int rc = check_tensors(tab, t, n, path, note, err);
    free(tab);
    if (rc) return one_line(err);
    model_create(m, cfg, 0);
    for (int i = 0; i < m->table.count && !rc; i++) {
        const ParamSpec *s = &m->table.spec[i];
        rc = st_to_real(find_tensor(t, n, s->name), m->params + s->offset, (int64_t)s->numel, err);
    }
    if (rc) {
        model_free(m);
        memset(m, 0, sizeof *m);
        return one_line(err);
    }
    return 0;
}

static int load_safetensors(Model *m, const char *path, char **train_state, char *err) {
    SafeTensors st;
    char sub[ERR_LEN];
    if (st_load(&st, path, err)) return -1;
    TRMConfig cfg;
    const char *cfg_json = st_meta(&st, "config");
    int rc = 0;
    if (!cfg_json)
        rc = err_set(err, "%s: no \"config\" in the safetensors metadata (not a trm model file?)", path);
    else if (cfg_from_json(&cfg, cfg_json, sub))
        rc = err_set(err, "%s: metadata %s", path, sub);
    if (!rc) rc = fill_model(m, &cfg, st.tensors, st.n, path, "", err);
    if (!rc && train_state) {
        const char *ts = st_meta(&st, "train_state");
        *train_state = ts ? xstrdup(ts) : NULL;
    }
    st_free(&st);
    return rc;
}

// config: the all_config.yaml to use, or NULL for the one beside the checkpoint.
static int load_torch(Model *m, const char *path, const char *config, char **train_state, char *err) {
    TorchCkpt tc;
    if (torch_load(&tc, path, err)) return -1;
    for (int i = 0; i < tc.n; i++) {   // the wrapper prefixes go: names are the table's
        char *name = tc.tensors[i].name;
        const char *bare = strip_prefix(name);
        memmove(name, bare, strlen(bare) + 1);
    }
    char *yaml = NULL, *ts = NULL, note[ERR_LEN];
    TRMConfig cfg;
    int rc = 0;
    if (!config) {
        char *dir = xstrdup(path), *slash = strrchr(dir, '/');
        if (slash) *slash = 0;
        config = yaml = path_join(slash ? dir : ".", TORCH_CONFIG_NAME);
        free(dir);
        if (access(config, R_OK))
            rc = err_set(err, "%s: %s is missing: a torch checkpoint needs its architecture (trm convert "
                         "--config FILE reads one from elsewhere)", path, config);
    }
    if (!rc && torch_config_load(config, tc.tensors, tc.n, &cfg, &ts, note))   // note names the yaml
        rc = err_set(err, "%s: %s", path, note);
    snprintf(note, sizeof note, " (config: %s)", config);
    if (!rc) rc = fill_model(m, &cfg, tc.tensors, tc.n, path, note, err);
    if (!rc && train_state) *train_state = ts;
    else free(ts);
    free(yaml);
    torch_free(&tc);
    return rc;
}

int checkpoint_load_config(Model *m, const char *path, const char *config, char **train_state, char *err) {
    memset(m, 0, sizeof *m);   // on failure *m stays zeroed: nothing to free
    if (train_state) *train_state = NULL;
    if (torch_is_zip(path)) return load_torch(m, path, config, train_state, err);
    if (config) return err_set(err, "%s: a config file applies to torch checkpoints only", path);
    if (torch_is_legacy(path))
        return err_set(err, "%s: a torch.save file in the legacy format (before PyTorch 1.6): re-save it with "
                       "torch.save(..., _use_new_zipfile_serialization=True)", path);
    return load_safetensors(m, path, train_state, err);
}

int checkpoint_load(Model *m, const char *path, char **train_state, char *err) {
    return checkpoint_load_config(m, path, NULL, train_state, err);
}
