#!/usr/bin/env python3
"""Official-format PyTorch checkpoints of two small models, and the logits PyTorch gives on them.

Each model is an nn.Module tree with the official names (embed_tokens.embedding_weight,
L_level.layers.0.self_attn.qkv_proj.weight, ...; parameters as nn.Parameter, puzzle_emb.weights,
H_init and L_init as persistent buffers, a non-persistent RoPE buffer that must not be saved),
saved as pretrain.py does: torch.save(module.state_dict(), path), with the all_config.yaml that
yaml.dump(PretrainConfig.model_dump()) writes beside it. The network itself is
tests/reference/trm_reference.py's (float64), run on exactly the values stored in each file.

    torch_att/   TRM (ACTV1): attention + RoPE; seq_len comes from puzzles/train/dataset.json (the
                 data folder; not named data/, which .gitignore keeps out)
      step_f32     official layout: _orig_mod.model.inner. prefix, F32, H_init/L_init in BF16
      step_bf16    every tensor BF16, model.inner. prefix
      plain.pt     no prefix, F32; one weight stored transposed (a strided view), H_init and
                   L_init two views of one storage (offsets)
    torch_mlp/   DIS (ACTV5): MLP mixer, no positions, step embedding; seq_len from the weights
      step_f32     _orig_mod.model.inner. prefix
    */expected.safetensors   per variant and step: the tokens fed, logits [B, L, V] and q [B, 2]

Usage:  /usr/bin/python3 tests/reference/torch_ckpt.py --out tests/fixtures
"""
import argparse
import collections
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "..", "tools")]
import trm_reference as ref  # noqa: E402
from to_torch import yaml_lines  # noqa: E402  (the emitter of tools/to_torch.py)

MODELS = {
    "torch_att": dict(arch="TinyRecursiveReasoningModel_ACTV1", data="puzzles", ids=[1, 2],
                      cfg=dict(vocab=3, seq_len=64, hidden=16, heads=2, layers=1, expansion=4, puzzle_len=4,
                               num_puzzle_ids=3, mlp_t=False, pos="rope", rope_theta=10000.0, T=2, n=2, N_sup=2,
                               time_embed=False, loss="stablemax", batch=2, q_loss=True)),
    "torch_mlp": dict(arch="TinyRecursiveReasoningModel_ACTV5", data="data/absent", ids=[1, 0],
                      cfg=dict(vocab=4, seq_len=5, hidden=8, heads=2, layers=1, expansion=4, puzzle_len=2,
                               num_puzzle_ids=2, mlp_t=True, pos="none", rope_theta=10000.0, T=1, n=2, N_sup=3,
                               time_embed=True, loss="softmax", batch=2, q_loss=False)),
}
BUFFERS = ("puzzle_emb.weights", "H_init", "L_init")


class Node(torch.nn.Module):
    """A bare module: children and tensors are attached by name."""


def child(m, name):
    if name not in m._modules:
        m.add_module(name, Node())
    return m._modules[name]


def build_module(W, prefix, strided=(), shared_init=False):
    """The module tree of the official names under `prefix` (e.g. "_orig_mod.model.inner")."""
    outer = Node()
    root = outer
    for p in prefix.split(".") if prefix else []:
        root = child(root, p)
    for name, t in W.items():
        *path, leaf = name.split(".")
        m = root
        for p in path:
            m = child(m, p)
        if name in strided:   # stored column-major: a view with strides (1, rows)
            t = t.t().contiguous().t()
        if name in ("H_init", "L_init") and shared_init:
            continue
        if name in BUFFERS:
            m.register_buffer(leaf, t.clone())
        else:
            m.register_parameter(leaf, torch.nn.Parameter(t.clone()))
    if shared_init:   # one storage, two views at offsets 0 and d
        both = torch.cat([W["H_init"], W["L_init"]])
        d = W["H_init"].numel()
        root.register_buffer("H_init", both[:d])
        root.register_buffer("L_init", both[d:])
    # as RotaryEmbedding's cos/sin caches: non-persistent, so not in the state_dict
    child(root, "rotary_emb").register_buffer("cos_cached", torch.zeros(3), persistent=False)
    return outer


def official_init(W):
    """H_init / L_init are bf16 buffers in the official model (forward_dtype bfloat16)."""
    W = dict(W)
    W["H_init"] = W["H_init"].bfloat16()
    W["L_init"] = W["L_init"].bfloat16()
    return W


def expected(cfg, W, tokens, puzzle_ids, feed_pred):
    """Logits and q of N_sup steps from the reset carry, on the stored values in float64."""
    P = {k: v.to(torch.float64) for k, v in W.items()}
    rope = ref.rope_tables(cfg) if cfg["pos"] == "rope" else None
    B, Lt, d = cfg["batch"], ref.ltot(cfg), cfg["hidden"]
    ids = torch.tensor(puzzle_ids, dtype=torch.int32)
    y = P["H_init"].expand(B, Lt, d).clone()
    z = P["L_init"].expand(B, Lt, d).clone()
    out, fed = {}, tokens
    with torch.no_grad():
        for s in range(1, cfg["N_sup"] + 1):
            batch = dict(tokens=fed, t=torch.tensor([s], dtype=torch.int32), labels=None)
            r = ref.supervision_step(P, cfg, batch, ref.local_weights_for(P, cfg, ids), y, z, rope, cfg["T"] - 1)
            out[f"step{s}.tokens"] = fed.clone()
            out[f"step{s}.logits"] = r["logits"]
            out[f"step{s}.q"] = r["q"]
            y, z = r["y"], r["z"]
            if feed_pred:   # DIS (ACTV5) feeds the previous step's prediction back
                fed = r["logits"].argmax(-1).to(torch.int32)
    return out, ids


def all_config(cfg, arch, data):
    """PretrainConfig.model_dump() of a run of this model (what pretrain.py dumps)."""
    a = dict(name=f"recursive_reasoning.trm@{arch}",
             loss=dict(name="losses@ACTLossHead", loss_type=f"{cfg['loss']}_cross_entropy"),
             halt_exploration_prob=0.1, halt_max_steps=cfg["N_sup"], H_cycles=cfg["T"], L_cycles=cfg["n"],
             H_layers=0, L_layers=cfg["layers"], hidden_size=cfg["hidden"], num_heads=cfg["heads"],
             expansion=cfg["expansion"], puzzle_emb_ndim=cfg["hidden"], pos_encodings=cfg["pos"],
             forward_dtype="bfloat16", mlp_t=cfg["mlp_t"], puzzle_emb_len=cfg["puzzle_len"], no_ACT_continue=True)
    return dict(arch=a, data_paths=[data], data_paths_test=[], evaluators=[dict(name="arc@ARC")],
                global_batch_size=768, epochs=100000, lr=0.0001, lr_min_ratio=1.0, lr_warmup_steps=2000,
                weight_decay=0.1, beta1=0.9, beta2=0.95, puzzle_emb_lr=0.01, puzzle_emb_weight_decay=0.1,
                project_name="Fixture", run_name="tiny", load_checkpoint=None,
                checkpoint_path="checkpoints/Fixture/tiny", seed=0, checkpoint_every_eval=True,
                eval_interval=10000, min_eval_interval=0, eval_save_outputs=[], ema=False, ema_rate=0.999,
                freeze_weights=False)


def write_config(path, conf):
    text = "\n".join(yaml_lines(conf)) + "\n"
    try:   # when PyYAML is there, the text must be what yaml.dump writes
        import yaml
        assert yaml.safe_load(text) == conf, "yaml_text does not read back"
        assert yaml.dump(conf) == text, "yaml_text differs from yaml.dump:\n" + yaml.dump(conf)
    except ImportError:
        pass
    with open(path, "w") as f:
        f.write(text)


def build(name, spec, out_dir, seed):
    cfg = spec["cfg"]
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    W = official_init(ref.init_weights(cfg, gen))
    W16 = {k: v.bfloat16() for k, v in W.items()}
    tokens = torch.randint(0, cfg["vocab"], (cfg["batch"], cfg["seq_len"]), generator=gen, dtype=torch.int32)
    dis = spec["arch"].endswith("ACTV5")

    variants = [("step_f32", W, "_orig_mod.model.inner", {})]
    if name == "torch_att":
        variants += [("step_bf16", W16, "model.inner", {}),
                     ("plain.pt", W, "", dict(strided=("L_level.layers.0.self_attn.qkv_proj.weight",),
                                              shared_init=True))]
    files = {}
    for fname, weights, prefix, kw in variants:
        sd = build_module(weights, prefix, **kw).state_dict()
        assert isinstance(sd, collections.OrderedDict) and not any("cos_cached" in k for k in sd)
        torch.save(sd, os.path.join(d, fname))
        back = torch.load(os.path.join(d, fname))
        assert all(torch.equal(back[k], sd[k]) for k in sd)
    for tag, weights in (("f32", W), ("bf16", W16)) if name == "torch_att" else (("f32", W),):
        out, ids = expected(cfg, weights, tokens, spec["ids"], dis)
        files.update({f"{tag}.{k}": v for k, v in out.items()})
    files["puzzle_ids"] = ids
    ref.write_safetensors(os.path.join(d, "expected.safetensors"), files,
                          {"config": json.dumps(cfg, separators=(",", ":"))})

    write_config(os.path.join(d, "all_config.yaml"), all_config(cfg, spec["arch"], spec["data"]))
    if spec["data"] == "puzzles":   # the data folder pretrain.py read: seq_len, and the puzzle names
        os.makedirs(os.path.join(d, "puzzles", "train"), exist_ok=True)
        meta = dict(pad_id=0, ignore_label_id=0, blank_identifier_id=0, vocab_size=cfg["vocab"],
                    seq_len=cfg["seq_len"], num_puzzle_identifiers=cfg["num_puzzle_ids"], total_groups=1,
                    mean_puzzle_examples=1.0, total_puzzles=1, sets=["all"])
        with open(os.path.join(d, "puzzles", "train", "dataset.json"), "w") as f:
            json.dump(meta, f)
        with open(os.path.join(d, "puzzles", "identifiers.json"), "w") as f:
            json.dump(["<blank>"] + [f"puzzle{i}" for i in range(1, cfg["num_puzzle_ids"])], f)
    sizes = ", ".join(f"{f} {os.path.getsize(os.path.join(d, f))}" for f in sorted(os.listdir(d))
                      if os.path.isfile(os.path.join(d, f)))
    print(f"{name}: {sizes} bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/fixtures", help="output folder")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for i, (name, spec) in enumerate(MODELS.items()):
        build(name, spec, args.out, seed=4321 + i)


if __name__ == "__main__":
    main()
