#include "config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cfg_swiglu_inter(int expansion, int width) {
    double r = nearbyint(expansion * width * 2.0 / 3.0);   // round half-to-even
    return (int)((r + 255) / 256) * 256;
}

int cfg_preset(TRMConfig *c, const char *preset, const char *method, int vocab, int seq_len,
               int num_puzzle_ids, char *err) {
    memset(c, 0, sizeof *c);
    if (!strcmp(preset, "compact"))      { c->hidden = 256; c->layers = 1; }
    else if (!strcmp(preset, "medium"))  { c->hidden = 512; c->layers = 2; }
    else return err_set(err, "unknown preset '%s' (expected compact or medium)", preset);
    c->heads = 8;
    c->expansion = 4;
    c->vocab = vocab;
    c->seq_len = seq_len;
    c->puzzle_len = 16;
    c->num_puzzle_ids = num_puzzle_ids;
    c->rope = true;
    c->rope_theta = 10000.0;
    c->loss = LOSS_STABLEMAX;
    if (!strcmp(method, "dis")) {
        c->T = 1; c->n = 2; c->N_sup = 6; c->time_embed = true; c->halt = false;
    } else if (!strcmp(method, "trm")) {
        c->T = 3; c->n = 6; c->N_sup = 16; c->time_embed = false; c->halt = true;
    } else {
        return err_set(err, "unknown method '%s' (expected dis or trm)", method);
    }
    return cfg_validate(c, err);
}

// Bounds keep every derived size (parameters, activations) far from overflow and
// turn absurd values from a file or the command line into a clear message.
int cfg_validate(const TRMConfig *c, char *err) {
#define RANGE(field, lo, hi) \
    if (c->field < (lo) || c->field > (hi)) \
        return err_set(err, "config: " #field " = %d is out of range [%d, %d]", (int)c->field, (lo), (hi))
    RANGE(vocab, 2, 65536);
    RANGE(seq_len, 1, 65536);
    RANGE(hidden, 2, 8192);
    RANGE(heads, 1, 256);
    RANGE(layers, 1, TRM_MAX_LAYERS);
    RANGE(expansion, 1, 16);
    RANGE(puzzle_len, 0, 1024);
    RANGE(num_puzzle_ids, 1, 100000000);
    RANGE(T, 1, 64);
    RANGE(n, 1, 64);
    RANGE(N_sup, 1, 1024);
#undef RANGE
    if (c->hidden % c->heads)
        return err_set(err, "config: hidden %d is not a multiple of heads %d", c->hidden, c->heads);
    if (c->rope && !c->mlp_t && cfg_head_dim(c) % 2)
        return err_set(err, "config: RoPE needs an even head dimension (hidden/heads = %d)", cfg_head_dim(c));
    if (!(c->rope_theta > 0) && c->rope)
        return err_set(err, "config: rope_theta must be positive");
    if (!isfinite(c->rope_theta))   // JSON has no infinity: a model file could not record it
        return err_set(err, "config: rope_theta = %g is not a finite number", c->rope_theta);
    if (c->loss != LOSS_STABLEMAX && c->loss != LOSS_SOFTMAX)
        return err_set(err, "config: unknown loss");
    return 0;
}

char *cfg_to_json(const TRMConfig *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "vocab", c->vocab);
    cJSON_AddNumberToObject(o, "seq_len", c->seq_len);
    cJSON_AddNumberToObject(o, "hidden", c->hidden);
    cJSON_AddNumberToObject(o, "heads", c->heads);
    cJSON_AddNumberToObject(o, "layers", c->layers);
    cJSON_AddNumberToObject(o, "expansion", c->expansion);
    cJSON_AddNumberToObject(o, "puzzle_len", c->puzzle_len);
    cJSON_AddNumberToObject(o, "num_puzzle_ids", c->num_puzzle_ids);
    cJSON_AddBoolToObject(o, "mlp_t", c->mlp_t);
    cJSON_AddStringToObject(o, "pos", c->rope ? "rope" : "none");
    // The fewest digits that read back exactly: cJSON prints 15 when they come within an
    // epsilon, which can change the last bit (a model file must give back its config).
    char theta[32];
    for (int p = 15; p <= 17; p++) {
        snprintf(theta, sizeof theta, "%.*g", p, c->rope_theta);
        if (strtod(theta, NULL) == c->rope_theta) break;
    }
    if (isfinite(c->rope_theta)) cJSON_AddRawToObject(o, "rope_theta", theta);
    else cJSON_AddNullToObject(o, "rope_theta");
    cJSON_AddNumberToObject(o, "T", c->T);
    cJSON_AddNumberToObject(o, "n", c->n);
    cJSON_AddNumberToObject(o, "N_sup", c->N_sup);
    cJSON_AddBoolToObject(o, "time_embed", c->time_embed);
    cJSON_AddBoolToObject(o, "halt", c->halt);
    cJSON_AddStringToObject(o, "loss", c->loss == LOSS_SOFTMAX ? "softmax" : "stablemax");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static int get_int(const cJSON *o, const char *key, int *out, bool required, char *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return required ? err_set(err, "config: missing field '%s'", key) : 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 2e9)
        return err_set(err, "config: field '%s' must be an integer", key);
    *out = (int)v->valuedouble;
    return 0;
}

static int get_bool(const cJSON *o, const char *key, bool *out, char *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return 0;
    if (!cJSON_IsBool(v)) return err_set(err, "config: field '%s' must be true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

int cfg_from_json(TRMConfig *c, const char *json, char *err) {
    memset(c, 0, sizeof *c);
    cJSON *o = cJSON_ParseWithOpts(json, NULL, true);   // nothing may follow the object
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return err_set(err, "config: not a JSON object");
    }
    int rc = 0;
    c->expansion = 4; c->heads = 8; c->T = 1; c->n = 2; c->N_sup = 1;
    c->rope = true; c->rope_theta = 10000.0;
    rc |= get_int(o, "vocab", &c->vocab, true, err);
    rc |= rc ? 0 : get_int(o, "seq_len", &c->seq_len, true, err);
    rc |= rc ? 0 : get_int(o, "hidden", &c->hidden, true, err);
    rc |= rc ? 0 : get_int(o, "heads", &c->heads, false, err);
    rc |= rc ? 0 : get_int(o, "layers", &c->layers, true, err);
    rc |= rc ? 0 : get_int(o, "expansion", &c->expansion, false, err);
    rc |= rc ? 0 : get_int(o, "puzzle_len", &c->puzzle_len, false, err);
    rc |= rc ? 0 : get_int(o, "num_puzzle_ids", &c->num_puzzle_ids, false, err);
    rc |= rc ? 0 : get_int(o, "T", &c->T, false, err);
    rc |= rc ? 0 : get_int(o, "n", &c->n, false, err);
    rc |= rc ? 0 : get_int(o, "N_sup", &c->N_sup, false, err);
    rc |= rc ? 0 : get_bool(o, "mlp_t", &c->mlp_t, err);
    rc |= rc ? 0 : get_bool(o, "time_embed", &c->time_embed, err);
    // "q_loss" is the PyTorch reference script's name for the same switch.
    rc |= rc ? 0 : get_bool(o, "q_loss", &c->halt, err);
    rc |= rc ? 0 : get_bool(o, "halt", &c->halt, err);
    if (!rc) {
        const cJSON *pos = cJSON_GetObjectItemCaseSensitive(o, "pos");
        const cJSON *theta = cJSON_GetObjectItemCaseSensitive(o, "rope_theta");
        const cJSON *loss = cJSON_GetObjectItemCaseSensitive(o, "loss");
        if (pos && !(cJSON_IsString(pos) && (!strcmp(pos->valuestring, "rope") || !strcmp(pos->valuestring, "none"))))
            rc = err_set(err, "config: field 'pos' must be \"rope\" or \"none\"");
        else if (pos) c->rope = !strcmp(pos->valuestring, "rope");
        if (!rc && theta) {
            if (!cJSON_IsNumber(theta)) rc = err_set(err, "config: field 'rope_theta' must be a number");
            else c->rope_theta = theta->valuedouble;
        }
        if (!rc && loss) {
            if (cJSON_IsString(loss) && !strcmp(loss->valuestring, "stablemax")) c->loss = LOSS_STABLEMAX;
            else if (cJSON_IsString(loss) && !strcmp(loss->valuestring, "softmax")) c->loss = LOSS_SOFTMAX;
            else rc = err_set(err, "config: field 'loss' must be \"stablemax\" or \"softmax\"");
        }
    }
    if (!rc && c->num_puzzle_ids == 0) c->num_puzzle_ids = 1;
    cJSON_Delete(o);
    return rc ? -1 : cfg_validate(c, err);
}
