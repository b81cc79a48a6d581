// checkpoint.h: models in safetensors with the official PyTorch tensor names.
//
// A model file holds every tensor of the parameter table as F32 under its official name
// (embed_tokens.embedding_weight, L_level.layers.0.self_attn.qkv_proj.weight, ...) and a
// __metadata__ entry: {"format": "trm", "version": "1", "config": <config JSON>,
// "train_state": <JSON>}. Reading accepts F32, BF16 and F64 tensors and the key prefixes
// of official checkpoints (_orig_mod.model.inner., model.inner.), so weights move to and
// from PyTorch by a format conversion alone.
#ifndef TRM_CHECKPOINT_H
#define TRM_CHECKPOINT_H

#include "nn/model.h"

// Save m's parameters; if dense is not NULL it replaces the dense prefix (the EMA weights).
int checkpoint_save(const Model *m, const real *dense, const char *train_state_json,
                    const char *path, char *err);
// Create *m from a model file (config from the metadata) and fill every tensor.
// train_state (optional) receives a malloc'd copy of the train_state JSON or NULL.
// On failure: -1, *m zeroed (nothing allocated), one line naming path in err.
int checkpoint_load(Model *m, const char *path, char **train_state, char *err);

#endif
