// torch_config.h: the architecture of an official TRM checkpoint, from the Hydra
// all_config.yaml that pretrain.py writes beside it and from the tensor shapes.
//
// all_config.yaml is yaml.dump(PretrainConfig.model_dump()): block mappings, keys sorted,
// sequences as "- item" lines. The reader here takes that subset of YAML (nested block
// mappings and sequences, plain and quoted scalars, "[]", comments) and flattens it to
// dotted keys ("arch.hidden_size", "arch.loss.loss_type", "data_paths.0").
//
// The mapping, field by field (official name -> TRMConfig):
//   arch.name              recursive_reasoning.trm@...: TRM (ACTV1) or DIS (ACTV5, the
//                          released DIS class: predictions fed back, feed "pred"); HRM
//                          and the other ablation classes are refused by name
//   arch.hidden_size       hidden          arch.num_heads      heads
//   arch.L_layers          layers          (H_layers is ignored by TRM, as officially)
//   arch.H_cycles          T               arch.L_cycles       n
//   arch.halt_max_steps    N_sup           arch.expansion      expansion (an integer)
//   arch.mlp_t             mlp_t           arch.rope_theta     rope_theta (10000)
//   arch.pos_encodings     rope -> rope; none -> no position signal; learned: refused
//   arch.puzzle_emb_ndim   must be hidden_size (one prefix row) or 0 (no puzzle table)
//   arch.puzzle_emb_len    puzzle_len (0: ceil(ndim / hidden), as officially)
//   arch.loss.loss_type    stablemax_cross_entropy | softmax_cross_entropy -> loss
//   arch.forward_dtype     bfloat16 | float32 | float16: accepted, computed in fp32 (or bf16
//                          products with --precision bf16)
//   arch.rms_norm_eps      must be 1e-5 when present
// The data-dependent sizes are not in the file (pretrain.py takes them from the data):
//   vocab            rows of embed_tokens.embedding_weight
//   num_puzzle_ids   rows of puzzle_emb.weights (1 without a puzzle table)
//   time_embed       timestep_embed.embedding_weight present (DIS); halting otherwise
//   seq_len          the first that applies: (1) mlp_t.gate_up_proj.weight's columns minus
//                    puzzle_len; (2) a top-level seq_len key (tools/to_torch.py writes it);
//                    (3) <data_paths.0>/train/dataset.json, relative to the yaml's folder,
//                    then to the current directory (where pretrain.py ran); (4) the official
//                    data set of that vocabulary: 12 ARC (900, the 30 x 30 canvas of every
//                    build), 11 Sudoku-Extreme (81), 6 Maze-Hard (900). Otherwise an error.
#ifndef TRM_TORCH_CONFIG_H
#define TRM_TORCH_CONFIG_H

#include "nn/config.h"
#include "safetensors.h"

#define TORCH_CONFIG_NAME "all_config.yaml"   // beside every official checkpoint

// Fills *c (cfg_validate'd) from the yaml at path and the tensors (names without the
// wrapper prefixes). train_state receives a malloc'd JSON object naming the source, the
// method and the feed ({"source":"torch","arch":...,"method":"trm","feed":"input"}), plus
// "identifiers" when the data folder's identifiers.json was found and fits the table.
// On failure -1 and one line naming path (or the tensor) in err.
int torch_config_load(const char *path, const StTensor *t, int n, TRMConfig *c, char **train_state, char *err);

// The flattened YAML, for tests.
typedef struct {
    char *key, *value;
    int line;
} YamlItem;
typedef struct {
    YamlItem *item;
    int n;
} Yaml;
int yaml_parse(Yaml *y, const char *text, const char *path, char *err);   // path: for messages
const char *yaml_get(const Yaml *y, const char *key);                   // NULL if absent
void yaml_free(Yaml *y);

#endif
