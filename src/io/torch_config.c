#include "torch_config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset_dir.h"

// ===================================================================== YAML subset

typedef struct {
    int indent, next;       // next: the index of this node's next sequence element
    bool element;           // a sequence element ("- ")
    char name[64];
} Frame;

#define MAX_DEPTH 32

static void add_item(Yaml *y, char *key, char *value, int line) {
    y->item = xrealloc(y->item, sizeof *y->item * (size_t)(y->n + 1));
    y->item[y->n++] = (YamlItem){ key, value, line };
}

// A scalar without its quotes ('it''s', "a\"b"); plain scalars as they are.
static char *unquote(const char *s) {
    size_t n = strlen(s);
    char *out = xmalloc(n + 1), *o = out;
    if (n >= 2 && s[0] == '\'' && s[n - 1] == '\'') {
        for (size_t i = 1; i + 1 < n; i++) {
            *o++ = s[i];
            if (s[i] == '\'' && s[i + 1] == '\'') i++;
        }
    } else if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        for (size_t i = 1; i + 1 < n; i++) {
            char ch = s[i];
            if (ch == '\\' && i + 2 < n) ch = s[++i] == 'n' ? '\n' : s[i] == 't' ? '\t' : s[i];
            *o++ = ch;
        }
    } else {
        memcpy(out, s, n);
        o = out + n;
    }
    *o = 0;
    return out;
}

// Cuts a comment (" #" outside quotes) and trailing blanks.
static void strip_comment(char *s) {
    char q = 0;
    for (char *p = s; *p; p++) {
        if (q) { if (*p == q) q = 0; }
        else if (*p == '\'' || *p == '"') q = *p;
        else if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) { *p = 0; break; }
    }
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = 0;
}

// The ':' that ends a plain or quoted key (followed by a blank or the end of the line).
static char *key_colon(char *s) {
    char q = (*s == '\'' || *s == '"') ? *s : 0;
    for (char *p = s + (q ? 1 : 0); *p; p++) {
        if (q) { if (*p == q) q = 0; continue; }
        if (*p == ':' && (p[1] == 0 || p[1] == ' ')) return p;
    }
    return NULL;
}

static char *frame_path(const Frame *f, int depth, const char *last) {
    size_t cap = 16 + strlen(last);
    for (int i = 0; i < depth; i++) cap += strlen(f[i].name) + 1;
    char *s = xmalloc(cap);
    s[0] = 0;
    for (int i = 0; i < depth; i++) strcat(strcat(s, f[i].name), ".");
    strcat(s, last);
    if (!*last && *s) s[strlen(s) - 1] = 0;   // a scalar element: the path ends at its index
    return s;
}

// One line (comment already cut). Frames hold the open mappings and sequence elements.
static int parse_line(Yaml *y, char *s, int line, Frame *f, int *depth, int *root_next, int *last_indent,
                      const char *path, char *err) {
    int indent = 0;
    while (s[indent] == ' ') indent++;
    if (s[indent] == '\t') return err_set(err, "%s:%d: tab in indentation", path, line);
    char *c = s + indent;
    bool element = false;
    while (c[0] == '-' && (c[1] == ' ' || c[1] == 0)) {   // "- ": a sequence element
        while (*depth && (f[*depth - 1].indent > indent || (f[*depth - 1].indent == indent && f[*depth - 1].element)))
            (*depth)--;
        if (*depth == MAX_DEPTH) return err_set(err, "%s:%d: nested too deeply", path, line);
        int *next = *depth ? &f[*depth - 1].next : root_next;
        Frame e = { .indent = indent, .element = true };
        snprintf(e.name, sizeof e.name, "%d", (*next)++);
        f[(*depth)++] = e;
        c += c[1] ? 2 : 1;
        indent = (int)(c - s);
        while (*c == ' ') c++, indent++;
        element = true;
    }
    if (!*c) return 0;
    char *colon = key_colon(c);
    if (!colon) {
        if (element) {   // "- value"
            add_item(y, frame_path(f, *depth, ""), unquote(c), line);
            *last_indent = indent;
            return 0;
        }
        if (y->n && indent > *last_indent) {   // a folded plain scalar continues
            YamlItem *it = &y->item[y->n - 1];
            it->value = xrealloc(it->value, strlen(it->value) + strlen(c) + 2);
            strcat(strcat(it->value, " "), c);
            return 0;
        }
        return err_set(err, "%s:%d: not a 'key: value' line", path, line);
    }
    *colon = 0;
    char *value = colon + 1;
    while (*value == ' ') value++;
    while (*depth && f[*depth - 1].indent >= indent) (*depth)--;   // not this line's element: it is left of the key
    char *key = unquote(c);
    if (!*value) {   // a nested mapping or sequence follows
        if (*depth == MAX_DEPTH || strlen(key) >= sizeof f->name) {
            free(key);
            return err_set(err, "%s:%d: key too long or nested too deeply", path, line);
        }
        Frame k = { .indent = indent };
        snprintf(k.name, sizeof k.name, "%s", key);
        f[(*depth)++] = k;
        free(key);
        return 0;
    }
    char *full = frame_path(f, *depth, key);
    free(key);
    for (int i = 0; i < y->n; i++)
        if (!strcmp(y->item[i].key, full)) {
            int first = y->item[i].line;
            free(full);
            return err_set(err, "%s:%d: duplicate key (first on line %d)", path, line, first);
        }
    add_item(y, full, unquote(value), line);
    *last_indent = indent;
    return 0;
}

int yaml_parse(Yaml *y, const char *text, const char *path, char *err) {
    memset(y, 0, sizeof *y);
    Frame f[MAX_DEPTH];
    int depth = 0, root_next = 0, last_indent = 0, line = 0, rc = 0;
    const char *p = text;
    while (*p && !rc) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char *s = xmalloc(n + 1);
        memcpy(s, p, n);
        s[n] = 0;
        line++;
        p += n + (nl ? 1 : 0);
        strip_comment(s);
        bool marker = !strcmp(s, "---") || !strcmp(s, "...");
        if (*s && !marker) rc = parse_line(y, s, line, f, &depth, &root_next, &last_indent, path, err);
        free(s);
    }
    if (rc) yaml_free(y);
    return rc;
}

const char *yaml_get(const Yaml *y, const char *key) {
    for (int i = 0; i < y->n; i++)
        if (!strcmp(y->item[i].key, key)) {
            const char *v = y->item[i].value;
            return !strcmp(v, "null") || !strcmp(v, "~") ? NULL : v;
        }
    return NULL;
}

void yaml_free(Yaml *y) {
    for (int i = 0; i < y->n; i++) {
        free(y->item[i].key);
        free(y->item[i].value);
    }
    free(y->item);
    memset(y, 0, sizeof *y);
}

// ===================================================================== typed fields

typedef struct {
    const Yaml *y;
    const char *path;
    char *err;
} Src;

static int get_num(const Src *s, const char *key, double *out, bool required) {
    const char *v = yaml_get(s->y, key);
    if (!v) return required ? err_set(s->err, "%s: no %s", s->path, key) : 0;
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !isfinite(x)) return err_set(s->err, "%s: %s = '%s' is not a number", s->path, key, v);
    *out = x;
    return 0;
}

static int get_int(const Src *s, const char *key, int *out, bool required) {
    double x = *out;
    if (get_num(s, key, &x, required)) return -1;
    if (x != floor(x) || fabs(x) > 1e9) return err_set(s->err, "%s: %s = %g is not an integer", s->path, key, x);
    *out = (int)x;
    return 0;
}

static int get_bool(const Src *s, const char *key, bool *out) {
    const char *v = yaml_get(s->y, key);
    if (!v) return 0;
    static const char *yes[] = { "true", "True", "TRUE", "yes", "on" }, *no[] = { "false", "False", "FALSE", "no", "off" };
    for (int i = 0; i < 5; i++) {
        if (!strcmp(v, yes[i])) { *out = true; return 0; }
        if (!strcmp(v, no[i])) { *out = false; return 0; }
    }
    return err_set(s->err, "%s: %s = '%s' is not true or false", s->path, key, v);
}

// ===================================================================== the mapping

static const StTensor *tensor(const StTensor *t, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].name, name)) return &t[i];
    return NULL;
}

// arch.name -> method; *dis: the released DIS class (feeds predictions back).
static int arch_kind(const Src *s, const StTensor *t, int n, bool *dis) {
    const char *name = yaml_get(s->y, "arch.name");
    for (int i = 0; i < n; i++)
        if (!strncmp(t[i].name, "H_level.", 8))
            return err_set(s->err, "%s: tensor '%s' is HRM's second network; TRM runs one shared network "
                           "(L_level), so an HRM checkpoint has no TRM equivalent", s->path, t[i].name);
    if (!name) {   // a hand-written config: the step embedding tells DIS from TRM
        *dis = tensor(t, n, "timestep_embed.embedding_weight") != NULL;
        return 0;
    }
    const char *cls = strchr(name, '@');
    bool trm = cls && !strncmp(name, "recursive_reasoning.trm@", 24);
    if (trm && !strcmp(cls + 1, "TinyRecursiveReasoningModel_ACTV1")) *dis = false;
    else if (trm && !strcmp(cls + 1, "TinyRecursiveReasoningModel_ACTV5")) *dis = true;
    else if (cls && !strncmp(name, "recursive_reasoning.hrm@", 24))
        return err_set(s->err, "%s: arch.name '%s' is HRM (two networks, H_level and L_level); TRM runs one shared "
                       "network, so it cannot be mapped", s->path, name);
    else
        return err_set(s->err, "%s: arch.name '%s' is not supported (recursive_reasoning.trm@"
                       "TinyRecursiveReasoningModel_ACTV1, or _ACTV5 for DIS)", s->path, name);
    return 0;
}

static int map_arch(const Src *s, TRMConfig *c, bool *dis) {
    int rc = 0, ndim = 0, plen = 16;   // the defaults of the official config class
    double theta = 10000.0, eps = 1e-5;
    rc |= get_int(s, "arch.hidden_size", &c->hidden, true);
    rc |= rc ? 0 : get_int(s, "arch.num_heads", &c->heads, true);
    rc |= rc ? 0 : get_int(s, "arch.L_layers", &c->layers, true);
    rc |= rc ? 0 : get_int(s, "arch.H_cycles", &c->T, true);
    rc |= rc ? 0 : get_int(s, "arch.L_cycles", &c->n, true);
    rc |= rc ? 0 : get_int(s, "arch.halt_max_steps", &c->N_sup, true);
    rc |= rc ? 0 : get_int(s, "arch.expansion", &c->expansion, true);
    rc |= rc ? 0 : get_int(s, "arch.puzzle_emb_ndim", &ndim, false);
    rc |= rc ? 0 : get_int(s, "arch.puzzle_emb_len", &plen, false);
    rc |= rc ? 0 : get_bool(s, "arch.mlp_t", &c->mlp_t);
    rc |= rc ? 0 : get_num(s, "arch.rope_theta", &theta, false);
    rc |= rc ? 0 : get_num(s, "arch.rms_norm_eps", &eps, false);
    if (rc) return -1;
    if (ndim != 0 && ndim != c->hidden)
        return err_set(s->err, "%s: arch.puzzle_emb_ndim %d: only 0 or hidden_size (%d) is supported", s->path, ndim,
                       c->hidden);
    if (plen < 0) return err_set(s->err, "%s: arch.puzzle_emb_len %d is negative", s->path, plen);
    c->puzzle_len = ndim == 0 ? 0 : plen ? plen : 1;   // ceil(ndim / hidden) = 1
    if (fabs(eps - 1e-5) > 1e-12) return err_set(s->err, "%s: arch.rms_norm_eps %g: only 1e-5 is supported", s->path, eps);
    c->rope_theta = theta;
    const char *pos = yaml_get(s->y, "arch.pos_encodings"), *loss = yaml_get(s->y, "arch.loss.loss_type");
    const char *dtype = yaml_get(s->y, "arch.forward_dtype");
    if (!pos || (strcmp(pos, "rope") && strcmp(pos, "none")))
        return err_set(s->err, "%s: arch.pos_encodings '%s': only rope and none are supported", s->path, pos ? pos : "");
    c->rope = !strcmp(pos, "rope");
    if (!loss || !strcmp(loss, "stablemax_cross_entropy")) c->loss = LOSS_STABLEMAX;
    else if (!strcmp(loss, "softmax_cross_entropy")) c->loss = LOSS_SOFTMAX;
    else return err_set(s->err, "%s: arch.loss.loss_type '%s' is not supported", s->path, loss);
    if (dtype && strcmp(dtype, "bfloat16") && strcmp(dtype, "float32") && strcmp(dtype, "float16"))
        return err_set(s->err, "%s: arch.forward_dtype '%s' is not supported", s->path, dtype);
    c->time_embed = *dis;
    c->halt = !*dis;
    return 0;
}

// <data_paths.0>/<name> relative to the yaml's folder, then to the current directory;
// NULL when neither exists.
static char *data_file(const Src *s, const char *name) {
    const char *d = yaml_get(s->y, "data_paths.0");
    if (!d) return NULL;
    char *dir = xstrdup(s->path), *slash = strrchr(dir, '/');
    if (slash) slash[1] = 0;
    else dir[0] = 0;
    char *cand[2];
    size_t cap = strlen(dir) + strlen(d) + strlen(name) + 4;
    cand[0] = xmalloc(cap);
    cand[1] = xmalloc(cap);
    snprintf(cand[0], cap, "%s%s/%s", d[0] == '/' ? "" : dir, d, name);
    snprintf(cand[1], cap, "%s/%s", d, name);
    free(dir);
    char *found = NULL;
    for (int i = 0; i < 2; i++)
        if (!found && !access(cand[i], R_OK)) found = cand[i];
        else free(cand[i]);
    return found;
}

// seq_len and, from the data folder, identifiers (see the header for the order).
static int resolve_seq_len(const Src *s, const StTensor *t, int n, TRMConfig *c) {
    const StTensor *mix = tensor(t, n, "L_level.layers.0.mlp_t.gate_up_proj.weight");
    if (c->mlp_t && mix && mix->ndim == 2) {
        c->seq_len = (int)MIN(mix->shape[1] - c->puzzle_len, 1 << 30);
        return 0;
    }
    if (yaml_get(s->y, "seq_len")) return get_int(s, "seq_len", &c->seq_len, true);
    char *meta = data_file(s, "train/dataset.json");
    if (meta) {
        char sub[ERR_LEN];
        size_t len;
        char *text = read_file(meta, &len, sub);
        cJSON *o = text ? cJSON_ParseWithOpts(text, NULL, true) : NULL;
        const cJSON *sl = cJSON_GetObjectItemCaseSensitive(o, "seq_len"), *v = cJSON_GetObjectItemCaseSensitive(o, "vocab_size");
        int rc = 0;
        if (!cJSON_IsNumber(sl) || !cJSON_IsNumber(v)) rc = err_set(s->err, "%s: no seq_len and vocab_size", meta);
        else if (v->valueint != c->vocab)
            rc = err_set(s->err, "%s: vocab_size %d, but embed_tokens.embedding_weight has %d rows", meta, v->valueint,
                         c->vocab);
        else c->seq_len = sl->valueint;
        cJSON_Delete(o);
        free(text);
        free(meta);
        return rc;
    }
    // The official data sets, told apart by their vocabularies: ARC (every build on the
    // 30 x 30 canvas), Sudoku-Extreme (9 x 9), Maze-Hard (30 x 30).
    static const int official[][2] = { { 12, 900 }, { 11, 81 }, { 6, 900 } };
    for (int i = 0; i < 3; i++)
        if (c->vocab == official[i][0]) {
            c->seq_len = official[i][1];
            return 0;
        }
    return err_set(s->err, "%s: cannot tell seq_len (no mlp_t weights, no seq_len key, no <data_paths.0>/train/"
                   "dataset.json found): add 'seq_len: N' to the file", s->path);
}

// identifiers.json of the data folder, when it names every row of the puzzle table.
static void add_identifiers(const Src *s, const TRMConfig *c, cJSON *ts) {
    char *file = data_file(s, "identifiers.json"), sub[ERR_LEN], **names = NULL;
    int64_t n = 0;
    if (!file) return;
    char *dir = xstrdup(file);
    dir[strlen(dir) - strlen("/identifiers.json")] = 0;
    if (!identifiers_load(dir, &names, &n, sub) && n == c->num_puzzle_ids) {
        cJSON *a = cJSON_AddArrayToObject(ts, "identifiers");
        for (int64_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(names[i]));
    }
    if (names) identifiers_free(names, n);
    free(dir);
    free(file);
}

int torch_config_load(const char *path, const StTensor *t, int n, TRMConfig *c, char **train_state, char *err) {
    memset(c, 0, sizeof *c);
    *train_state = NULL;
    size_t len;
    char *text = read_file(path, &len, err), sub[ERR_LEN];
    if (!text) return -1;
    Yaml y;
    int rc = yaml_parse(&y, text, path, err);
    free(text);
    if (rc) return -1;
    Src s = { &y, path, err };
    bool dis = false;
    const StTensor *emb = tensor(t, n, "embed_tokens.embedding_weight"), *pz = tensor(t, n, "puzzle_emb.weights");
    rc = arch_kind(&s, t, n, &dis);
    if (!rc) rc = map_arch(&s, c, &dis);
    if (!rc && !emb) rc = err_set(err, "%s: the checkpoint has no embed_tokens.embedding_weight", path);
    if (!rc) {
        c->vocab = emb->ndim == 2 ? (int)MIN(emb->shape[0], 1 << 30) : 0;
        c->num_puzzle_ids = pz && pz->ndim == 2 ? (int)MIN(pz->shape[0], 1 << 30) : 1;
        rc = resolve_seq_len(&s, t, n, c);
    }
    if (!rc && cfg_validate(c, sub)) rc = err_set(err, "%s: %s", path, sub);
    if (!rc) {
        cJSON *o = cJSON_CreateObject();
        const char *arch = yaml_get(&y, "arch.name");
        cJSON_AddStringToObject(o, "source", "torch");
        cJSON_AddStringToObject(o, "config_file", path);
        if (arch) cJSON_AddStringToObject(o, "arch", arch);
        cJSON_AddStringToObject(o, "method", dis ? "dis" : "trm");
        cJSON_AddStringToObject(o, "feed", dis ? "pred" : "input");
        add_identifiers(&s, c, o);
        *train_state = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
    }
    yaml_free(&y);
    return rc;
}
