#include "checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

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

static const StTensor *find_tensor(const SafeTensors *st, const char *name) {
    for (int i = 0; i < st->n; i++)
        if (!strcmp(strip_prefix(st->tensors[i].name), name)) return &st->tensors[i];
    return NULL;
}

static int check_shape(const StTensor *t, const ParamSpec *s, const char *path, char *err) {
    bool ok = t->ndim == s->ndim;
    for (int k = 0; ok && k < s->ndim; k++) ok = t->shape[k] == s->shape[k];
    if (ok) return 0;
    char got[128] = "", want[64] = "";
    for (int k = 0; k < t->ndim; k++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", k ? ", " : "", (long long)t->shape[k]);
    for (int k = 0; k < s->ndim; k++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", k ? ", " : "", (long long)s->shape[k]);
    return err_set(err, "%s: tensor '%s' has shape [%s], the config needs [%s]", path, s->name, got, want);
}

static bool known_tensor(const Model *m, const char *name) {
    // Non-persistent buffers of the PyTorch model may appear in exported state dicts.
    if (!strcmp(name, "puzzle_emb.local_weights") || !strcmp(name, "puzzle_emb.local_ids")) return true;
    return param_find(&m->table, name) != NULL;
}

// Tensor names come from the file and may hold any byte; a message stays one line.
static int one_line(char *err) {
    for (char *p = err; p && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    return -1;
}

int checkpoint_load(Model *m, const char *path, char **train_state, char *err) {
    SafeTensors st;
    char sub[ERR_LEN];
    memset(m, 0, sizeof *m);   // on failure *m stays zeroed: nothing to free
    if (train_state) *train_state = NULL;
    if (st_load(&st, path, err)) return -1;
    TRMConfig cfg;
    const char *cfg_json = st_meta(&st, "config");
    int rc = 0;
    if (!cfg_json)
        rc = err_set(err, "%s: no \"config\" in the safetensors metadata (not a trm model file?)", path);
    else if (cfg_from_json(&cfg, cfg_json, sub))
        rc = err_set(err, "%s: metadata %s", path, sub);
    if (rc) { st_free(&st); return -1; }
    model_create(m, &cfg, 0);
    for (int i = 0; i < st.n && !rc; i++)
        if (!known_tensor(m, strip_prefix(st.tensors[i].name)))
            rc = err_set(err, "%s: unexpected tensor '%s' for this config", path, st.tensors[i].name);
    for (int i = 0; i < m->table.count && !rc; i++) {
        const ParamSpec *s = &m->table.spec[i];
        const StTensor *t = find_tensor(&st, s->name);
        if (!t) rc = err_set(err, "%s: missing tensor '%s'", path, s->name);
        else if (t->dtype != ST_F32 && t->dtype != ST_BF16 && t->dtype != ST_F64)
            rc = err_set(err, "%s: tensor '%s' has dtype %s (expected F32, BF16 or F64)", path, s->name,
                         st_dtype_name(t->dtype));
        else if (!check_shape(t, s, path, err))
            rc = st_to_real(t, m->params + s->offset, (int64_t)s->numel, err);
        else rc = -1;
    }
    if (!rc && train_state) {
        const char *ts = st_meta(&st, "train_state");
        *train_state = ts ? xstrdup(ts) : NULL;
    }
    st_free(&st);
    if (rc) {
        model_free(m);
        return one_line(err);
    }
    return 0;
}
