// checkpoint.h: models in safetensors with the official PyTorch tensor names.
//
// A model file holds every tensor of the parameter table as F32 under its official name
// (embed_tokens.embedding_weight, L_level.layers.0.self_attn.qkv_proj.weight, ...) and a
// __metadata__ entry: {"format": "trm", "version": "1", "config": <config JSON>,
// "train_state": <JSON>}. Reading accepts F32, BF16 and F64 tensors and the key prefixes
// of official checkpoints (_orig_mod.model.inner., model.inner.), so weights move to and
// from PyTorch by a format conversion alone.
//
// Reading also takes the files PyTorch itself writes: a torch.save state_dict (a zip
// archive, io/torch_ckpt.h) with its architecture from the Hydra all_config.yaml beside
// it (io/torch_config.h). Names are the same: TRM kept HRM's, so an HRM checkpoint's
// embed_tokens, lm_head, q_head, puzzle_emb, H_init, L_init and L_level.* match ours, and
// its H_level.* (a second network, which TRM does not have) is refused by name.
#ifndef TRM_CHECKPOINT_H
#define TRM_CHECKPOINT_H

#include "nn/model.h"

// Save m's parameters; if dense is not NULL it replaces the dense prefix (the EMA weights).
int checkpoint_save(const Model *m, const real *dense, const char *train_state_json,
                    const char *path, char *err);
// Create *m from a model file (config from the metadata) and fill every tensor.
// train_state (optional) receives a malloc'd copy of the train_state JSON or NULL.
// On failure: -1, *m zeroed (nothing allocated), one line naming path in err.
// A torch checkpoint gets a train_state of its own (torch_config_load): no task there.
int checkpoint_load(Model *m, const char *path, char **train_state, char *err);
// The same with the all_config.yaml of a torch checkpoint given (NULL: the one in the
// checkpoint's folder); a config given with a safetensors file is an error.
int checkpoint_load_config(Model *m, const char *path, const char *config, char **train_state, char *err);

#endif
