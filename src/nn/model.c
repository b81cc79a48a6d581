// model.c: parameter table, initialisation, memory plan, and the forward and backward
// passes of one supervision step. The one shared network f serves both the latent
// update z <- f(z, y + x) and the answer update y <- f(y, z).
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "rng.h"

#define RMS_EPS 1e-5

// ---------------------------------------------------------------------------------------
// The parameter table

static void add_param(ParamTable *t, ParamKind kind, double std, double value, int64_t rows,
                      int64_t cols, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

#include <stdarg.h>
static void add_param(ParamTable *t, ParamKind kind, double std, double value, int64_t rows,
                      int64_t cols, const char *fmt, ...) {
    if (t->count == TRM_MAX_PARAMS) die("parameter table full");
    ParamSpec *s = &t->spec[t->count++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->name, sizeof s->name, fmt, ap);
    va_end(ap);
    s->ndim = cols ? 2 : 1;
    s->shape[0] = rows;
    s->shape[1] = cols;
    s->numel = (size_t)rows * (size_t)(cols ? cols : 1);
    s->offset = t->n_total;
    s->kind = kind;
    s->init_std = std;
    s->init_value = value;
    t->n_total += s->numel;
    if (kind == PARAM_DENSE) t->n_dense = t->n_total;
}

void param_table_build(ParamTable *t, const TRMConfig *c) {
    memset(t, 0, sizeof *t);
    int d = c->hidden, I = cfg_inter(c), Lt = cfg_ltot(c), It = cfg_inter_t(c);
    double sd = 1.0 / sqrt(d);
    // Dense tensors first: they must form one prefix (see ParamKind).
    add_param(t, PARAM_DENSE, sd, 0, c->vocab, d, "embed_tokens.embedding_weight");
    if (c->time_embed)
        add_param(t, PARAM_DENSE, sd, 0, c->N_sup + 2, d, "timestep_embed.embedding_weight");
    for (int l = 0; l < c->layers; l++) {
        if (c->mlp_t) {
            add_param(t, PARAM_DENSE, 1.0 / sqrt(Lt), 0, 2 * It, Lt, "L_level.layers.%d.mlp_t.gate_up_proj.weight", l);
            add_param(t, PARAM_DENSE, 1.0 / sqrt(It), 0, Lt, It, "L_level.layers.%d.mlp_t.down_proj.weight", l);
        } else {
            add_param(t, PARAM_DENSE, sd, 0, 3 * d, d, "L_level.layers.%d.self_attn.qkv_proj.weight", l);
            add_param(t, PARAM_DENSE, sd, 0, d, d, "L_level.layers.%d.self_attn.o_proj.weight", l);
        }
        add_param(t, PARAM_DENSE, sd, 0, 2 * I, d, "L_level.layers.%d.mlp.gate_up_proj.weight", l);
        add_param(t, PARAM_DENSE, 1.0 / sqrt(I), 0, d, I, "L_level.layers.%d.mlp.down_proj.weight", l);
    }
    add_param(t, PARAM_DENSE, sd, 0, c->vocab, d, "lm_head.weight");
    add_param(t, PARAM_DENSE, 0, 0, 2, d, "q_head.weight");     // zero: halting starts "off"
    add_param(t, PARAM_DENSE, 0, -5, 2, 0, "q_head.bias");      // sigmoid(-5) = 0.0067
    if (c->puzzle_len > 0)
        add_param(t, PARAM_PUZZLE, 0, 0, c->num_puzzle_ids, d, "puzzle_emb.weights");
    add_param(t, PARAM_FIXED, 1.0, 0, d, 0, "H_init");
    add_param(t, PARAM_FIXED, 1.0, 0, d, 0, "L_init");
}

const ParamSpec *param_find(const ParamTable *t, const char *name) {
    for (int i = 0; i < t->count; i++)
        if (!strcmp(t->spec[i].name, name)) return &t->spec[i];
    return NULL;
}

// Point the Params fields at a buffer laid out by the table; tensors at or past `limit`
// floats (outside a dense-only buffer) stay NULL.
static void params_point(Params *p, const ParamTable *t, real *base, size_t limit) {
    memset(p, 0, sizeof *p);
    for (int i = 0; i < t->count; i++) {
        const ParamSpec *s = &t->spec[i];
        if (s->offset + s->numel > limit) continue;
        real *ptr = base + s->offset;
        int l = -1;
        char field[64] = "";
        if (sscanf(s->name, "L_level.layers.%d.%63s", &l, field) == 2) {
            LayerParams *lp = &p->layer[l];
            if (!strcmp(field, "self_attn.qkv_proj.weight")) lp->qkv = ptr;
            else if (!strcmp(field, "self_attn.o_proj.weight")) lp->o = ptr;
            else if (!strcmp(field, "mlp_t.gate_up_proj.weight")) lp->mix_gu = ptr;
            else if (!strcmp(field, "mlp_t.down_proj.weight")) lp->mix_down = ptr;
            else if (!strcmp(field, "mlp.gate_up_proj.weight")) lp->gu = ptr;
            else if (!strcmp(field, "mlp.down_proj.weight")) lp->down = ptr;
        }
        else if (!strcmp(s->name, "embed_tokens.embedding_weight")) p->embed = ptr;
        else if (!strcmp(s->name, "timestep_embed.embedding_weight")) p->time = ptr;
        else if (!strcmp(s->name, "lm_head.weight")) p->lm_head = ptr;
        else if (!strcmp(s->name, "q_head.weight")) p->q_w = ptr;
        else if (!strcmp(s->name, "q_head.bias")) p->q_b = ptr;
        else if (!strcmp(s->name, "puzzle_emb.weights")) p->puzzle = ptr;
        else if (!strcmp(s->name, "H_init")) p->H_init = ptr;
        else if (!strcmp(s->name, "L_init")) p->L_init = ptr;
    }
}

// Round to the nearest bfloat16 (ties to even): the official H_init/L_init are bf16
// buffers, so ours hold bf16-representable values and convert exactly both ways.
static float round_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u = (u + 0x7fff + ((u >> 16) & 1)) & 0xffff0000u;
    memcpy(&f, &u, 4);
    return f;
}

void model_create(Model *m, const TRMConfig *c, uint64_t seed) {
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    param_table_build(&m->table, c);
    m->params = xcalloc(m->table.n_total, sizeof(real));
    m->grads = xcalloc(m->table.n_dense, sizeof(real));
    params_point(&m->p, &m->table, m->params, m->table.n_total);
    params_point(&m->g, &m->table, m->grads, m->table.n_dense);
    Rng rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < m->table.count; i++) {
        const ParamSpec *s = &m->table.spec[i];
        real *w = m->params + s->offset;
        bool bf16 = s->kind == PARAM_FIXED;
        for (size_t j = 0; j < s->numel; j++) {
            double v = s->init_std > 0 ? rng_trunc_normal(&rng, s->init_std) : s->init_value;
            w[j] = bf16 ? round_bf16((float)v) : (real)v;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Memory plan

// Work buffers: S_T1/S_T2 are transposes inside a block; S_GY/S_GZ carry dL/dy and dL/dz
// between applications in model_backward, so they must not be touched inside a block.
enum { S_TMP, S_ACT, S_DACT, S_DWIDE, S_DA, S_DB, S_T1, S_T2, S_GY, S_GZ, S_COUNT };

static real *alloc_real(size_t n) { return xcalloc_huge(n, sizeof(real)); }

static void free_plan(Model *m) {
    for (int k = 0; k < m->num_calls; k++) {
        free(m->calls[k].x0);
        for (int l = 0; l < m->cfg.layers; l++) {
            BlockActs *a = &m->calls[k].block[l];
            free(a->qkv); free(a->lse); free(a->att); free(a->mix_gu);
            free(a->h1); free(a->rstd1); free(a->gu); free(a->h2); free(a->rstd2);
        }
    }
    free(m->calls);
    m->calls = NULL;
    m->num_calls = 0;
    free(m->puzzle_grad); free(m->x); free(m->yx); free(m->logits_all); free(m->logits);
    free(m->q); free(m->rope_cos); free(m->rope_sin); free(m->cur_tokens); free(m->cur_ids);
    for (int i = 0; i < S_COUNT; i++) free(m->scratch[i]);
    m->puzzle_grad = m->x = m->yx = m->logits_all = m->logits = m->q = NULL;
    m->rope_cos = m->rope_sin = NULL;
    m->cur_tokens = m->cur_ids = NULL;
    memset(m->scratch, 0, sizeof m->scratch);
    m->B = 0;
}

void model_plan(Model *m, int B, bool grad) {
    if (m->B == B && m->planned_grad == grad) return;
    free_plan(m);
    const TRMConfig *c = &m->cfg;
    int d = c->hidden, Lt = cfg_ltot(c), I = cfg_inter(c), It = cfg_inter_t(c), H = c->heads;
    size_t N = (size_t)B * Lt, Nd = N * d;
    m->B = B;
    m->planned_grad = grad;
    // Without gradient one application's buffers serve every call in turn.
    m->num_calls = grad ? c->n + 1 : 1;
    m->calls = xcalloc(m->num_calls, sizeof(CallActs));
    for (int k = 0; k < m->num_calls; k++) {
        m->calls[k].x0 = alloc_real(Nd);
        for (int l = 0; l < c->layers; l++) {
            BlockActs *a = &m->calls[k].block[l];
            if (c->mlp_t) {
                a->mix_gu = alloc_real((size_t)B * d * 2 * It);
                a->rstd1 = alloc_real((size_t)B * d);
            } else {
                a->qkv = alloc_real(3 * Nd);
                a->lse = alloc_real((size_t)B * H * Lt);
                a->att = alloc_real(Nd);
                a->rstd1 = alloc_real(N);
            }
            a->h1 = alloc_real(Nd);
            a->gu = alloc_real(N * 2 * I);
            a->h2 = alloc_real(Nd);
            a->rstd2 = alloc_real(N);
        }
    }
    size_t wide_act = MAX(N * I, (size_t)B * d * It);
    size_t wide_grad = MAX(MAX(N * 2 * I, (size_t)B * d * 2 * It), 3 * Nd);
    m->scratch[S_TMP] = alloc_real(Nd);
    m->scratch[S_ACT] = alloc_real(wide_act);
    m->scratch[S_T1] = alloc_real(Nd);
    m->scratch[S_T2] = alloc_real(Nd);
    if (grad) {
        m->scratch[S_DACT] = alloc_real(wide_act);
        m->scratch[S_DWIDE] = alloc_real(wide_grad);
        m->scratch[S_DA] = alloc_real(Nd);
        m->scratch[S_DB] = alloc_real(Nd);
        m->scratch[S_GY] = alloc_real(Nd);
        m->scratch[S_GZ] = alloc_real(Nd);
        m->puzzle_grad = alloc_real((size_t)B * d);
    }
    m->x = alloc_real(Nd);
    m->yx = alloc_real(Nd);
    m->logits_all = alloc_real(N * c->vocab);
    m->logits = alloc_real((size_t)B * c->seq_len * c->vocab);
    m->q = alloc_real((size_t)B * 2);
    m->cur_tokens = xcalloc((size_t)B * c->seq_len, sizeof(int32_t));
    m->cur_ids = xcalloc(B, sizeof(int32_t));
    if (c->rope && !c->mlp_t) {
        int hd = cfg_head_dim(c);
        m->rope_cos = alloc_real((size_t)Lt * hd);
        m->rope_sin = alloc_real((size_t)Lt * hd);
        rope_tables(m->rope_cos, m->rope_sin, Lt, hd, c->rope_theta);
    }
}

size_t model_activation_bytes(const Model *m) {
    const TRMConfig *c = &m->cfg;
    int d = c->hidden, Lt = cfg_ltot(c), I = cfg_inter(c), It = cfg_inter_t(c);
    size_t N = (size_t)m->B * Lt, Nd = N * d, B = m->B, per_block;
    if (c->mlp_t) per_block = B * d * 2 * It + B * d;
    else per_block = 3 * Nd + B * c->heads * Lt + Nd + N;
    per_block += 2 * Nd + N * 2 * I + N;
    size_t total = m->num_calls * (Nd + c->layers * per_block);
    total += 4 * Nd + MAX(N * I, B * d * It) + N * c->vocab + B * c->seq_len * c->vocab;
    if (m->planned_grad)
        total += MAX(N * I, B * d * It) + MAX(MAX(N * 2 * I, B * d * 2 * It), 3 * Nd) + 4 * Nd + B * d;
    return total * sizeof(real);
}

void model_free(Model *m) {
    free_plan(m);
    carry_free(&m->infer);
    free(m->params);
    free(m->grads);
    memset(m, 0, sizeof *m);
}

void model_zero_grad(Model *m) {
    memset(m->grads, 0, m->table.n_dense * sizeof(real));
    if (m->puzzle_grad) memset(m->puzzle_grad, 0, (size_t)m->B * m->cfg.hidden * sizeof(real));
}

// ---------------------------------------------------------------------------------------
// Carry

Carry carry_new(const Model *m, int B) {
    size_t n = (size_t)B * cfg_ltot(&m->cfg) * m->cfg.hidden;
    Carry c = { B, alloc_real(n), alloc_real(n) };
    carry_reset(m, &c, NULL);
    return c;
}

Carry *model_infer_carry(Model *m, int B) {
    if (m->infer_cap < B) {
        carry_free(&m->infer);
        m->infer = carry_new(m, B);
        m->infer_cap = B;
    }
    m->infer.B = B;
    return &m->infer;
}

void carry_free(Carry *c) {
    free(c->y);
    free(c->z);
    c->y = c->z = NULL;
}

void carry_reset(const Model *m, Carry *c, const uint8_t *reset) {
    int d = m->cfg.hidden, Lt = cfg_ltot(&m->cfg);
    for (int b = 0; b < c->B; b++) {
        if (reset && !reset[b]) continue;
        for (int p = 0; p < Lt; p++) {
            size_t off = ((size_t)b * Lt + p) * d;
            memcpy(c->y + off, m->p.H_init, d * sizeof(real));
            memcpy(c->z + off, m->p.L_init, d * sizeof(real));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Forward

// act = swiglu(x W^T) through gu = x W^T, which the backward needs. Without gradient and
// with bf16 products the two are one pass and gu never reaches memory (at batch 256 each
// SwiGLU pass moved ~200 MB: 6% of inference, 15% with the MLP mixer).
static void gate_up(real *act, real *gu, const real *x, const real *W, int N, int in, int Wd, bool grad) {
    if (!grad && linear_swiglu_bf16(act, x, W, N, in, Wd)) return;
    linear_forward(gu, x, W, N, in, 2 * Wd);
    swiglu_forward(act, gu, N, Wd);
}

// Post-norm block: h1 = rms(in + mix(in)), h2 = rms(h1 + mlp(h1)); each residual sum is
// formed inside the norm.
static void block_forward(Model *m, BlockActs *a, const LayerParams *w, const real *in, int B, bool grad) {
    const TRMConfig *c = &m->cfg;
    int d = c->hidden, Lt = cfg_ltot(c), I = cfg_inter(c), It = cfg_inter_t(c), H = c->heads;
    int N = B * Lt;
    real *tmp = m->scratch[S_TMP], *act = m->scratch[S_ACT];
    if (c->mlp_t) {
        // Token mixing works on [B, d, Lt]: each channel's sequence is one row, and the
        // norm after it runs over the token axis (the tensor is still transposed).
        real *xt = m->scratch[S_T1], *h1t = m->scratch[S_T2];
        transpose_batched(xt, in, B, Lt, d);
        gate_up(act, a->mix_gu, xt, w->mix_gu, B * d, Lt, It, grad);
        linear_forward(tmp, act, w->mix_down, B * d, It, Lt);
        rmsnorm_forward(h1t, a->rstd1, tmp, xt, B * d, Lt, RMS_EPS);
        transpose_batched(a->h1, h1t, B, d, Lt);
    } else {
        int hd = cfg_head_dim(c);
        linear_forward(a->qkv, in, w->qkv, N, d, 3 * d);
        if (c->rope) rope_forward(a->qkv, m->rope_cos, m->rope_sin, B, Lt, H, hd);
        attention_forward(a->att, a->lse, a->qkv, B, Lt, H, hd);
        linear_forward(tmp, a->att, w->o, N, d, d);
        rmsnorm_forward(a->h1, a->rstd1, tmp, in, N, d, RMS_EPS);
    }
    gate_up(act, a->gu, a->h1, w->gu, N, d, I, grad);
    linear_forward(tmp, act, w->down, N, I, d);
    rmsnorm_forward(a->h2, a->rstd2, tmp, a->h1, N, d, RMS_EPS);
}

// One application of f: h <- h + inj, then the blocks. Returns the output (inside `a`).
static const real *net_forward(Model *m, CallActs *a, const real *h, const real *inj, int B, bool grad) {
    size_t Nd = (size_t)B * cfg_ltot(&m->cfg) * m->cfg.hidden;
    vec_add(a->x0, h, inj, Nd);
    const real *in = a->x0;
    for (int l = 0; l < m->cfg.layers; l++) {
        block_forward(m, &a->block[l], &m->p.layer[l], in, B, grad);
        in = a->block[l].h2;
    }
    return in;
}

static void check_tokens(const Model *m, const int32_t *tokens, const int32_t *ids, int B, int t) {
    const TRMConfig *c = &m->cfg;
    for (size_t i = 0; i < (size_t)B * c->seq_len; i++)
        if (tokens[i] < 0 || tokens[i] >= c->vocab)
            die("token %d at position %zu is outside the vocabulary [0, %d)", tokens[i], i, c->vocab);
    for (int b = 0; ids && b < B; b++)
        if (ids[b] < 0 || ids[b] >= c->num_puzzle_ids)
            die("puzzle id %d is outside [0, %d)", ids[b], c->num_puzzle_ids);
    if (c->time_embed && (t < 0 || t > c->N_sup + 1))
        die("step index t = %d is outside [0, %d]", t, c->N_sup + 1);
}

// x = sqrt(d) * (concat(prefix, E_tok[tokens]) + E_time[t]); only prefix slot 0 holds the
// puzzle vector, the other prefix slots are zero (before the time embedding).
static void embed_forward(Model *m, const int32_t *tokens, const int32_t *ids, int t, int B) {
    const TRMConfig *c = &m->cfg;
    int d = c->hidden, P = c->puzzle_len, Lt = cfg_ltot(c);
    real scale = (real)sqrt((double)d);
    const real *time = c->time_embed ? m->p.time + (size_t)t * d : NULL;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < B * Lt; r++) {
        int b = r / Lt, p = r % Lt;
        real *x = m->x + (size_t)r * d;
        const real *src = NULL;
        if (p >= P) src = m->p.embed + (size_t)tokens[b * c->seq_len + p - P] * d;
        else if (p == 0) src = m->p.puzzle + (size_t)(ids ? ids[b] : 0) * d;
        for (int j = 0; j < d; j++) x[j] = scale * ((src ? src[j] : 0) + (time ? time[j] : 0));
    }
}

void model_heads(Model *m, const real *y, int B) {
    const TRMConfig *c = &m->cfg;
    int d = c->hidden, V = c->vocab, Lt = cfg_ltot(c), L = c->seq_len, P = c->puzzle_len;
    linear_forward(m->logits_all, y, m->p.lm_head, B * Lt, d, V);
    for (int b = 0; b < B; b++) {
        memcpy(m->logits + (size_t)b * L * V, m->logits_all + ((size_t)b * Lt + P) * V,
               (size_t)L * V * sizeof(real));
        const real *y0 = y + (size_t)b * Lt * d;    // the halting head reads position 0
        for (int k = 0; k < 2; k++) {
            double s = m->p.q_b[k];
            for (int j = 0; j < d; j++) s += (double)m->p.q_w[k * d + j] * y0[j];
            m->q[b * 2 + k] = (real)s;
        }
    }
}

void model_forward(Model *m, Carry *carry, const int32_t *tokens, const int32_t *ids, int t,
                   bool grad) {
    const TRMConfig *c = &m->cfg;
    int B = carry->B;
    if (B > m->B || (grad && !m->planned_grad)) model_plan(m, MAX(B, m->B), grad || m->planned_grad);
    check_tokens(m, tokens, ids, B, t);
    size_t Nd = (size_t)B * cfg_ltot(c) * c->hidden;
    real *y = carry->y, *z = carry->z, *yx = m->yx;
    embed_forward(m, tokens, ids, t, B);

    // T-1 cycles without gradient: one application's buffers serve every call.
    for (int cycle = 0; cycle < c->T - 1; cycle++) {
        vec_add(yx, y, m->x, Nd);
        for (int i = 0; i < c->n; i++) memcpy(z, net_forward(m, &m->calls[0], z, yx, B, false), Nd * sizeof(real));
        memcpy(y, net_forward(m, &m->calls[0], y, z, B, false), Nd * sizeof(real));
    }
    // The cycle with gradient keeps every application's activations when grad is set.
    vec_add(yx, y, m->x, Nd);
    const real *zk = z;
    for (int i = 0; i < c->n; i++) zk = net_forward(m, &m->calls[grad ? i : 0], zk, yx, B, grad);
    memcpy(z, zk, Nd * sizeof(real));          // the carry leaves detached
    const real *y_new = net_forward(m, &m->calls[grad ? c->n : 0], y, z, B, grad);
    memcpy(y, y_new, Nd * sizeof(real));
    model_heads(m, y, B);
    if (grad) {
        m->cur_B = B;
        m->cur_t = t;
        memcpy(m->cur_tokens, tokens, (size_t)B * c->seq_len * sizeof(int32_t));
        for (int b = 0; b < B; b++) m->cur_ids[b] = ids ? ids[b] : 0;
    }
}

// ---------------------------------------------------------------------------------------
// Backward

// Given dh2 = dL/d(block output), write d_in = dL/d(block input); weight gradients +=.
// The weight gradient of a product, or NULL (skipped) when the network is frozen.
#define DW(g) (m->frozen ? NULL : (g))

static void block_backward(Model *m, const BlockActs *a, const LayerParams *w, LayerParams *g,
                           const real *in, const real *dh2, real *d_in, int B) {
    const TRMConfig *c = &m->cfg;
    int d = c->hidden, Lt = cfg_ltot(c), I = cfg_inter(c), It = cfg_inter_t(c), H = c->heads;
    int N = B * Lt;
    size_t Nd = (size_t)N * d;
    real *dr = m->scratch[S_TMP], *act = m->scratch[S_ACT], *dact = m->scratch[S_DACT];
    real *dwide = m->scratch[S_DWIDE], *dh1 = d_in;   // d_in doubles as dh1 until the end
    // second sub-block: h2 = rms(h1 + mlp(h1))
    rmsnorm_backward(dr, dh2, a->h2, a->rstd2, N, d);
    swiglu_forward(act, a->gu, N, I);                 // recomputed rather than stored
    linear_backward(dact, DW(g->down), dr, act, w->down, N, I, d, false);
    swiglu_backward(dwide, dact, a->gu, N, I);
    linear_backward(dh1, DW(g->gu), dwide, a->h1, w->gu, N, d, 2 * I, false);
    vec_acc(dh1, dr, Nd);
    // first sub-block: h1 = rms(in + F(in))
    if (c->mlp_t) {
        real *t1 = m->scratch[S_T1], *t2 = m->scratch[S_T2], *drt = m->scratch[S_DA];
        transpose_batched(t1, dh1, B, Lt, d);         // dh1 as [B, d, Lt]
        transpose_batched(t2, a->h1, B, Lt, d);       // h1 as [B, d, Lt]
        rmsnorm_backward(drt, t1, t2, a->rstd1, B * d, Lt);
        transpose_batched(t1, in, B, Lt, d);          // xt
        swiglu_forward(act, a->mix_gu, B * d, It);
        linear_backward(dact, DW(g->mix_down), drt, act, w->mix_down, B * d, It, Lt, false);
        swiglu_backward(dwide, dact, a->mix_gu, B * d, It);
        linear_backward(t2, DW(g->mix_gu), dwide, t1, w->mix_gu, B * d, Lt, 2 * It, false);
        vec_acc(t2, drt, Nd);
        transpose_batched(d_in, t2, B, d, Lt);
    } else {
        int hd = cfg_head_dim(c);
        real *datt = m->scratch[S_DA];
        rmsnorm_backward(dr, dh1, a->h1, a->rstd1, N, d);
        linear_backward(datt, DW(g->o), dr, a->att, w->o, N, d, d, false);
        attention_backward(dwide, datt, a->qkv, a->att, a->lse, B, Lt, H, hd);
        if (c->rope) rope_backward(dwide, m->rope_cos, m->rope_sin, B, Lt, H, hd);
        linear_backward(d_in, DW(g->qkv), dwide, in, w->qkv, N, d, 3 * d, false);
        vec_acc(d_in, dr, Nd);
    }
}

// Back through one application of f: from dout = dL/d(output) to dx0 = dL/d(h + inj),
// which is the gradient of both h and inj.
static void net_backward(Model *m, const CallActs *a, const real *dout, real *dx0, int B) {
    const TRMConfig *c = &m->cfg;
    size_t Nd = (size_t)B * cfg_ltot(c) * c->hidden;
    real *dcur = m->scratch[S_DB];
    memcpy(dcur, dout, Nd * sizeof(real));
    for (int l = c->layers - 1; l >= 0; l--) {
        const real *in = l ? a->block[l - 1].h2 : a->x0;
        block_backward(m, &a->block[l], &m->p.layer[l], &m->g.layer[l], in, dcur, dx0, B);
        if (l) memcpy(dcur, dx0, Nd * sizeof(real));
    }
}

static void heads_backward(Model *m, const real *y, const real *dlogits, const real *dq,
                           real *dy, int B) {
    const TRMConfig *c = &m->cfg;
    int d = c->hidden, V = c->vocab, Lt = cfg_ltot(c), L = c->seq_len, P = c->puzzle_len;
    real *dall = m->logits_all;    // reuse: the forward logits are no longer needed
    for (int b = 0; b < B; b++) {
        memset(dall + (size_t)b * Lt * V, 0, (size_t)P * V * sizeof(real));
        memcpy(dall + ((size_t)b * Lt + P) * V, dlogits + (size_t)b * L * V, (size_t)L * V * sizeof(real));
    }
    linear_backward(dy, DW(m->g.lm_head), dall, y, m->p.lm_head, B * Lt, d, V, false);
    if (!dq) return;
    for (int b = 0; b < B; b++) {
        const real *y0 = y + (size_t)b * Lt * d;
        real *dy0 = dy + (size_t)b * Lt * d;
        for (int k = 0; k < 2; k++) {
            real g = dq[b * 2 + k];
            m->g.q_b[k] += g;
            for (int j = 0; j < d; j++) {
                m->g.q_w[k * d + j] += g * y0[j];
                dy0[j] += g * m->p.q_w[k * d + j];
            }
        }
    }
}

// dx flows into the token table, the time table and each row's puzzle vector. Rows are
// visited in order, so repeated tokens accumulate in a fixed order (reproducible).
static void embed_backward(Model *m, const real *dx, int B) {
    const TRMConfig *c = &m->cfg;
    int d = c->hidden, P = c->puzzle_len, Lt = cfg_ltot(c);
    real scale = (real)sqrt((double)d);
    for (int b = 0; b < B; b++)
        for (int p = 0; p < Lt; p++) {
            const real *g = dx + ((size_t)b * Lt + p) * d;
            real *dst = NULL;
            if (p >= P) dst = m->g.embed + (size_t)m->cur_tokens[b * c->seq_len + p - P] * d;
            else if (p == 0) dst = m->puzzle_grad + (size_t)b * d;
            if (dst) for (int j = 0; j < d; j++) dst[j] += scale * g[j];
            if (c->time_embed) {
                real *dt = m->g.time + (size_t)m->cur_t * d;
                for (int j = 0; j < d; j++) dt[j] += scale * g[j];
            }
        }
}

void model_backward(Model *m, const real *dlogits, const real *dq) {
    const TRMConfig *c = &m->cfg;
    if (!m->planned_grad) die("model_backward without a forward pass with gradient");
    int B = m->cur_B, n = c->n;
    size_t Nd = (size_t)B * cfg_ltot(c) * c->hidden;
    // Buffers: the backward reuses the forward's no-longer-needed y + x and embedding.
    real *dy = m->scratch[S_GY], *dz = m->scratch[S_GZ], *dx = m->yx, *d0 = m->x;
    const real *y = m->calls[n].block[c->layers - 1].h2;
    heads_backward(m, y, dlogits, dq, dy, B);
    // y_new = f(y + z_n): the gradient of the sum reaches z_n (y is the detached carry).
    net_backward(m, &m->calls[n], dy, dz, B);
    memset(dx, 0, Nd * sizeof(real));
    // z_{i+1} = f(z_i + (y + x)): each application sends its input gradient to z_i and to x.
    for (int i = n - 1; i >= 0; i--) {
        net_backward(m, &m->calls[i], dz, d0, B);
        vec_acc(dx, d0, Nd);
        memcpy(dz, d0, Nd * sizeof(real));
    }
    embed_backward(m, dx, B);
}
