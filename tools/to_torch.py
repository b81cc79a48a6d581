#!/usr/bin/env python3
"""A trm model file as an official TRM checkpoint: the reverse of `trm convert`.

Reads MODEL.safetensors with struct and json (the format: an 8-byte little-endian header length,
a JSON header, the data), and writes OUT/NAME with torch.save(state_dict) under the official
names and the `_orig_mod.model.inner.` prefix of a compiled model, exactly as pretrain.py saves
its checkpoints (H_init / L_init as bfloat16 buffers when that loses nothing, as officially;
everything else float32), plus OUT/all_config.yaml in the layout of pretrain.py's
yaml.dump(PretrainConfig.model_dump()). The data-dependent sizes that pretrain.py would take
from the data folder are written as top-level keys (seq_len, vocab_size,
num_puzzle_identifiers), which `trm` reads and pretrain.py ignores.

Usage:  python3 tools/to_torch.py runs/dis/model.safetensors --out ckpt [--name step_0] [--prefix P]
"""
import argparse
import collections
import json
import os
import struct
import sys

DTYPES = {"F32": "float32", "BF16": "bfloat16", "F16": "float16", "F64": "float64"}


def read_safetensors(path):
    """(tensors in file order, metadata) of a safetensors file; tensors as torch tensors."""
    import torch
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = collections.OrderedDict()
    for name, h in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        if h["dtype"] not in DTYPES:
            sys.exit(f"{path}: tensor {name} has dtype {h['dtype']} (expected F32, BF16, F16 or F64)")
        a, b = h["data_offsets"]
        t = torch.frombuffer(bytearray(data[a:b]), dtype=getattr(torch, DTYPES[h["dtype"]]))
        out[name] = t.reshape(h["shape"]).clone()
    return out, meta


def yaml_scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(v)


def yaml_lines(obj, indent=0):
    """yaml.dump's block style for the plain types of a config: sorted keys, '- ' items."""
    pad = " " * indent
    for k in sorted(obj):
        v = obj[k]
        if isinstance(v, dict):
            yield f"{pad}{k}:"
            yield from yaml_lines(v, indent + 2)
        elif isinstance(v, list) and v:
            yield f"{pad}{k}:"
            for x in v:
                if isinstance(x, dict):
                    sub = list(yaml_lines(x, indent + 2))
                    yield pad + "- " + sub[0].lstrip()
                    yield from sub[1:]
                else:
                    yield f"{pad}- {yaml_scalar(x)}"
        else:
            yield f"{pad}{k}: {'[]' if isinstance(v, list) else yaml_scalar(v)}"


def all_config(cfg, state):
    """The all_config.yaml of this model (trm's config JSON in the official names)."""
    dis = cfg.get("time_embed", False)
    if dis and state.get("feed", "pred") != "pred":
        print("to_torch: warning: a DIS model trained with --feed input; the official DIS class (ACTV5) "
              "feeds predictions back", file=sys.stderr)
    arch = dict(
        name="recursive_reasoning.trm@TinyRecursiveReasoningModel_" + ("ACTV5" if dis else "ACTV1"),
        loss=dict(name="losses@ACTLossHeadV4" if dis else "losses@ACTLossHead",
                  loss_type=cfg.get("loss", "stablemax") + "_cross_entropy"),
        H_cycles=cfg["T"], L_cycles=cfg["n"], H_layers=0, L_layers=cfg["layers"],
        hidden_size=cfg["hidden"], num_heads=cfg["heads"], expansion=cfg["expansion"],
        puzzle_emb_ndim=cfg["hidden"] if cfg["puzzle_len"] > 0 else 0, puzzle_emb_len=cfg["puzzle_len"],
        pos_encodings=cfg.get("pos", "rope"), rope_theta=float(cfg.get("rope_theta", 10000.0)),
        mlp_t=cfg.get("mlp_t", False), halt_max_steps=cfg["N_sup"], halt_exploration_prob=0.1,
        forward_dtype="bfloat16", no_ACT_continue=True)
    return dict(arch=arch, data_paths=[], data_paths_test=[], evaluators=[],
                seq_len=cfg["seq_len"], vocab_size=cfg["vocab"], num_puzzle_identifiers=cfg["num_puzzle_ids"],
                run_name=f"converted from trm ({state.get('task', 'unknown task')})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="a trm model file (safetensors)")
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument("--name", default="step_0", help="checkpoint file name (pretrain.py: step_<N>)")
    ap.add_argument("--prefix", default="_orig_mod.model.inner.", help="key prefix ('' for none)")
    args = ap.parse_args()
    import torch
    tensors, meta = read_safetensors(args.model)
    if "config" not in meta:
        sys.exit(f"{args.model}: no config in the metadata (not a trm model file)")
    cfg, state = json.loads(meta["config"]), json.loads(meta.get("train_state", "{}"))
    sd = collections.OrderedDict()
    for name, t in tensors.items():
        t = t.float()
        if name in ("H_init", "L_init") and torch.equal(t.bfloat16().float(), t):
            t = t.bfloat16()   # bf16 buffers in the official model
        sd[args.prefix + name] = t
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, args.name)
    torch.save(sd, path + ".tmp")
    os.replace(path + ".tmp", path)
    with open(os.path.join(args.out, "all_config.yaml"), "w") as f:
        f.write("\n".join(yaml_lines(all_config(cfg, state))) + "\n")
    print(f"{path}: {len(sd)} tensors; {os.path.join(args.out, 'all_config.yaml')}")


if __name__ == "__main__":
    main()
