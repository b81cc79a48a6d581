// config.h: the shape of a TRM/DIS model and of its recursion, in the papers' names.
#ifndef TRM_CONFIG_H
#define TRM_CONFIG_H

#include "common.h"

typedef enum { LOSS_STABLEMAX = 0, LOSS_SOFTMAX = 1 } LossKind;

typedef struct {
    // the network f
    int vocab;            // V: token vocabulary (PAD = 0)
    int seq_len;          // L: tokens per puzzle, without the puzzle prefix
    int hidden;           // d
    int heads;            // attention heads; head_dim = d / heads
    int layers;           // post-norm blocks in the one shared network
    int expansion;        // SwiGLU expansion (4)
    int puzzle_len;       // prefix positions (16 in the official code; 0 = no prefix)
    int num_puzzle_ids;   // rows of the puzzle-embedding table
    bool mlp_t;           // MLP-mixer variant: token-mixing SwiGLU instead of attention
    bool rope;            // rotary position encoding (false = no position signal)
    double rope_theta;
    // the recursion
    int T;                // cycles per supervision step (T-1 without gradient)
    int n;                // latent updates z <- f(z, y + x) per cycle
    int N_sup;            // supervision steps
    bool time_embed;      // learned embedding of the step index t added to x (DIS)
    bool halt;            // TRM: Q head trained with BCE and used for halting
    LossKind loss;
} TRMConfig;

#define TRM_MAX_LAYERS 16

static inline int cfg_ltot(const TRMConfig *c) { return c->seq_len + c->puzzle_len; }
static inline int cfg_head_dim(const TRMConfig *c) { return c->hidden / c->heads; }
// SwiGLU width: ceil(round(expansion * width * 2/3) / 256) * 256, as the official code
// (Python round is half-to-even; an exact .5 cannot occur since 2*e*w/3 has denominator 3).
int cfg_swiglu_inter(int expansion, int width);
static inline int cfg_inter(const TRMConfig *c) { return cfg_swiglu_inter(c->expansion, c->hidden); }
static inline int cfg_inter_t(const TRMConfig *c) { return cfg_swiglu_inter(c->expansion, cfg_ltot(c)); }
// Network applications per puzzle at inference: N_sup * T * (n + 1).
static inline long cfg_calls_per_puzzle(const TRMConfig *c) { return (long)c->N_sup * c->T * (c->n + 1); }

// Presets: "compact" (d 256, 1 layer, 8 heads) and "medium" (d 512, 2 layers, 8 heads).
// The method sets the recursion: "dis" (T 1, n 2, N_sup 6, step embedding, no halting)
// or "trm" (T 3, n 6, N_sup 16, halting).
int cfg_preset(TRMConfig *c, const char *preset, const char *method, int vocab, int seq_len,
               int num_puzzle_ids, char *err);
int cfg_validate(const TRMConfig *c, char *err);
// JSON (a compact object, the checkpoint's "config" metadata).
char *cfg_to_json(const TRMConfig *c);                       // caller frees
int cfg_from_json(TRMConfig *c, const char *json, char *err);

#endif
