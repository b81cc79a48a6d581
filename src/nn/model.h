// model.h: the TRM network f, its parameters (one table), and the recursion of one
// supervision step, forward and backward.
//
//   x = sqrt(d) * (concat(puzzle prefix, E_tok[tokens]) + E_time[t])
//   one cycle:  z <- f(z, y + x)  n times,  then  y <- f(y, z)
//   one supervision step: T-1 cycles without gradient, one with; logits = head(y);
//   the carry (y, z) leaves the step detached.
#ifndef TRM_MODEL_H
#define TRM_MODEL_H

#include "common.h"
#include "config.h"

// Every tensor of the model is one row of the parameter table. Dense tensors come first
// and form the prefix of the parameter buffer that the optimizer, the gradients and the
// EMA cover; the puzzle table (sign-SGD on the rows of a batch) and the fixed initial
// states follow. Names are the official PyTorch state_dict names.
typedef enum { PARAM_DENSE, PARAM_PUZZLE, PARAM_FIXED } ParamKind;

typedef struct {
    char name[80];
    int ndim;
    int64_t shape[2];
    size_t offset, numel;     // in floats, into the parameter buffer
    ParamKind kind;
    double init_std;          // truncated normal; 0 = the constant init_value
    double init_value;
} ParamSpec;

#define TRM_MAX_PARAMS (8 + 6 * TRM_MAX_LAYERS)

typedef struct {
    ParamSpec spec[TRM_MAX_PARAMS];
    int count;
    size_t n_dense;           // floats of the dense prefix = the parameter count PyTorch reports
    size_t n_total;
} ParamTable;

void param_table_build(ParamTable *t, const TRMConfig *c);
const ParamSpec *param_find(const ParamTable *t, const char *name);

typedef struct {
    real *qkv, *o;            // self_attn.qkv_proj [3d, d] (rows Q|K|V), o_proj [d, d]
    real *mix_gu, *mix_down;  // mlp_t (token mixing): gate_up [2*It, Lt], down [Lt, It]
    real *gu, *down;          // mlp: gate_up [2*I, d] (rows gate|up), down [d, I]
} LayerParams;

typedef struct {
    real *embed;              // embed_tokens.embedding_weight [V, d]
    real *time;               // timestep_embed.embedding_weight [N_sup + 2, d], or NULL
    LayerParams layer[TRM_MAX_LAYERS];
    real *lm_head;            // [V, d]
    real *q_w, *q_b;          // q_head [2, d], [2]: q_halt, q_continue
    real *puzzle;             // puzzle_emb.weights [num_ids, d], or NULL
    real *H_init, *L_init;    // [d]: the fixed initial y and z
} Params;

// Activations of one block of one network application, kept for the backward pass.
typedef struct {
    real *qkv;                // [N, 3d] after RoPE
    real *lse;                // [B*H*Lt] attention log-sum-exp
    real *att;                // [N, d] attention output before o_proj
    real *mix_gu;             // [B*d, 2*It] token-mixing pre-activation (mlp_t)
    real *h1, *rstd1;         // after the first norm
    real *gu;                 // [N, 2*I] SwiGLU pre-activation
    real *h2, *rstd2;         // block output
} BlockActs;

typedef struct {
    real *x0;                 // [N, d] h + inj: the input of the first block
    BlockActs block[TRM_MAX_LAYERS];
} CallActs;

typedef struct {
    int B;
    real *y, *z;              // [B, Lt, d]
} Carry;

typedef struct {
    TRMConfig cfg;
    ParamTable table;
    real *params;             // table.n_total floats
    real *grads;              // table.n_dense floats
    Params p, g;              // pointers into params and grads (g: dense tensors only)
    // planned for batch B (model_plan)
    int B;
    bool planned_grad;
    bool frozen;              // only the puzzle rows learn (test-time adaptation): no weight gradients
    real *puzzle_grad;        // [B, d]: gradient of each row's puzzle vector (sign-SGD input)
    real *x, *yx;             // [N, d] input embedding; y + x
    CallActs *calls;          // the n + 1 applications of the cycle with gradient
    int num_calls;
    real *logits_all;         // [N, V]
    real *logits;             // [B, L, V]
    real *q;                  // [B, 2]
    real *rope_cos, *rope_sin;
    real *scratch[10];        // work buffers, see model.c
    Carry infer;              // evaluate()'s carry, kept between calls (model_infer_carry)
    int infer_cap;
    // remembered from the last forward with grad, for the backward
    int cur_B, cur_t;
    int32_t *cur_tokens, *cur_ids;
} Model;

// Allocate and initialise (official init: truncated normal std 1/sqrt(fan_in), q_head
// weight 0 and bias -5, puzzle table 0, H_init/L_init std 1 rounded to bf16).
void model_create(Model *m, const TRMConfig *c, uint64_t seed);
void model_free(Model *m);
// Plan activation memory for batch size B; grad = keep what the backward pass needs.
void model_plan(Model *m, int B, bool grad);
size_t model_activation_bytes(const Model *m);

Carry carry_new(const Model *m, int B);
// The model's own inference carry for up to B rows, allocated on first use and kept: a
// fresh 2 x B x Lt x d carry per evaluation paid its page faults every time (3% of
// inference at batch 256 on this VM). Freed by model_free.
Carry *model_infer_carry(Model *m, int B);
void  carry_free(Carry *c);
// Rows whose reset flag is set (all rows if reset is NULL) restart from H_init / L_init.
void  carry_reset(const Model *m, Carry *c, const uint8_t *reset);

// One supervision step on c->B rows: tokens [B, L] in [0, V), puzzle_ids [B] (NULL = 0),
// step index t for the time embedding. Writes m->logits, m->q and the new carry.
void model_forward(Model *m, Carry *c, const int32_t *tokens, const int32_t *puzzle_ids,
                   int t, bool grad);
// After model_forward(grad = true): back-propagate dlogits [B, L, V] and dq [B, 2] (NULL
// when the Q head carries no loss) through the last cycle; accumulates into m->grads and
// writes m->puzzle_grad.
void model_backward(Model *m, const real *dlogits, const real *dq);
// The heads alone on an answer state y [B, Lt, d]: m->logits and m->q (used for the
// reference policy of the initial state in per-step diagnostics).
void model_heads(Model *m, const real *y, int B);
void model_zero_grad(Model *m);

#endif
