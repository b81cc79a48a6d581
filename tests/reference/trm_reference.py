#!/usr/bin/env python3
"""Independent float64 PyTorch reference of a Tiny Recursive Model (TRM), used to test the C code.

Written from /work/shared/spec/trm-reference.md (sections 1-5) and dis-reference.md (section 4.2,
time embedding); no code is taken from the official repositories. Everything is computed in float64
(the official code runs in bf16). Weights are drawn in float32 and stored as F32, then widened to
float64 for computing, so the C side loads exactly the numbers used here.

For each configuration the script runs N_sup = 2 supervision steps, the second one starting from the
first one's detached carry (one row reset), and writes a safetensors fixture with the weights, the
inputs, and per step the logits, Q values, losses, new carry and the gradient of every trained tensor.
Before writing, autograd gradients are checked against central finite differences.

Usage:  /usr/bin/python3 tests/reference/trm_reference.py --out tests/fixtures
"""
import argparse
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

IGNORE = -100   # label value excluded from the loss

CONFIGS = {
    "tiny_att": dict(vocab=5, seq_len=6, hidden=16, heads=2, layers=2, expansion=4, puzzle_len=4,
                     num_puzzle_ids=3, mlp_t=False, pos="rope", rope_theta=10000.0, T=2, n=2, N_sup=2,
                     time_embed=True, loss="stablemax", batch=3, q_loss=True),
    "tiny_mlp": dict(vocab=4, seq_len=5, hidden=8, heads=2, layers=1, expansion=4, puzzle_len=2,
                     num_puzzle_ids=2, mlp_t=True, pos="none", rope_theta=10000.0, T=1, n=3, N_sup=2,
                     time_embed=False, loss="softmax", batch=2, q_loss=False),
}
PUZZLE_IDS = {"tiny_att": [1, 2, 1], "tiny_mlp": [1, 0]}   # tiny_att repeats an id on purpose
RESET_ROW = 1                                               # the row restarted at step 2


def ltot(cfg):
    return cfg["seq_len"] + cfg["puzzle_len"]


def swiglu_inter(expansion, width):
    """SwiGLU width: ceil(round(expansion * width * 2/3) / 256) * 256 (Python round)."""
    return math.ceil(round(expansion * width * 2 / 3) / 256) * 256


# ----------------------------------------------------------------------------------------------
# Initialisation (float32, JAX-style truncated normal as in spec section 2)
# ----------------------------------------------------------------------------------------------

def trunc_normal(shape, std, gen):
    """Normal truncated at +-2 sigma', rescaled so that its std equals `std`; returned as float32."""
    a, b = math.erf(-2 / math.sqrt(2)), math.erf(2 / math.sqrt(2))
    z = (b - a) / 2
    phi2 = math.exp(-2) / math.sqrt(2 * math.pi)
    comp_std = std / math.sqrt(1 - 4 * phi2 / z)
    u = a + (b - a) * torch.rand(shape, generator=gen, dtype=torch.float64)
    x = math.sqrt(2) * torch.erfinv(u) * comp_std
    return x.clamp(-2 * comp_std, 2 * comp_std).to(torch.float32)


def init_weights(cfg, gen):
    """All tensors of the model under their official names (float32, insertion order = file order)."""
    d, L, V = cfg["hidden"], ltot(cfg), cfg["vocab"]
    inter, inter_t = swiglu_inter(cfg["expansion"], d), swiglu_inter(cfg["expansion"], L)
    W = {}
    W["embed_tokens.embedding_weight"] = trunc_normal([V, d], 1 / math.sqrt(d), gen)
    if cfg["time_embed"]:   # rows 0..N_sup+1; DIS uses t = 1..N_sup
        W["timestep_embed.embedding_weight"] = trunc_normal([cfg["N_sup"] + 2, d], 1 / math.sqrt(d), gen)
    if cfg["puzzle_len"] > 0:   # officially zero-initialised; non-zero here so its gradient matters
        W["puzzle_emb.weights"] = trunc_normal([cfg["num_puzzle_ids"], d], 0.5, gen)
    W["H_init"] = trunc_normal([d], 1.0, gen)
    W["L_init"] = trunc_normal([d], 1.0, gen)
    for i in range(cfg["layers"]):
        p = f"L_level.layers.{i}."
        if cfg["mlp_t"]:
            W[p + "mlp_t.gate_up_proj.weight"] = trunc_normal([2 * inter_t, L], 1 / math.sqrt(L), gen)
            W[p + "mlp_t.down_proj.weight"] = trunc_normal([L, inter_t], 1 / math.sqrt(inter_t), gen)
        else:
            W[p + "self_attn.qkv_proj.weight"] = trunc_normal([3 * d, d], 1 / math.sqrt(d), gen)
            W[p + "self_attn.o_proj.weight"] = trunc_normal([d, d], 1 / math.sqrt(d), gen)
        W[p + "mlp.gate_up_proj.weight"] = trunc_normal([2 * inter, d], 1 / math.sqrt(d), gen)
        W[p + "mlp.down_proj.weight"] = trunc_normal([d, inter], 1 / math.sqrt(inter), gen)
    W["lm_head.weight"] = trunc_normal([V, d], 1 / math.sqrt(d), gen)
    # officially weight 0 and bias -5; non-zero here so that the Q path is exercised
    W["q_head.weight"] = trunc_normal([2, d], 0.1, gen)
    W["q_head.bias"] = torch.tensor([-0.3, 0.2], dtype=torch.float32)
    return W


NOT_TRAINED = ("puzzle_emb.weights", "H_init", "L_init")   # buffers (the puzzle table is trained via local_weights)


# ----------------------------------------------------------------------------------------------
# The network f (spec sections 1.3 - 1.6); P maps official names to float64 tensors
# ----------------------------------------------------------------------------------------------

def rms_norm(h):
    """Weightless RMSNorm over the last dimension, eps 1e-5."""
    return h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-5)


def rope_tables(cfg):
    """cos/sin [Ltot, head_dim] for half-split RoPE over positions 0..Ltot-1 (prefix included)."""
    hd = cfg["hidden"] // cfg["heads"]
    inv_freq = cfg["rope_theta"] ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    freqs = torch.outer(torch.arange(ltot(cfg), dtype=torch.float64), inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def swiglu(h, gate_up_w, down_w):
    gate, up = F.linear(h, gate_up_w).chunk(2, dim=-1)   # first half of the rows = gate
    return F.linear(F.silu(gate) * up, down_w)


def attention(h, P, prefix, cfg, rope):
    """Non-causal multi-head attention, no mask, fused QKV (rows Q | K | V), scale 1/sqrt(head_dim)."""
    B, L, d = h.shape
    H, hd = cfg["heads"], d // cfg["heads"]
    qkv = F.linear(h, P[prefix + "qkv_proj.weight"])               # [B, L, 3d]
    q, k, v = (t.view(B, L, H, hd).transpose(1, 2) for t in qkv.split(d, dim=-1))   # [B, H, L, hd]
    if rope is not None:
        cos, sin = rope
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)              # [B, H, L, L]
    out = torch.softmax(scores, dim=-1) @ v                          # [B, H, L, hd]
    out = out.transpose(1, 2).reshape(B, L, d)                       # heads concatenated in order
    return F.linear(out, P[prefix + "o_proj.weight"])


def block(h, P, i, cfg, rope):
    """One post-norm block: token mixing (attention or mlp_t), then the channel SwiGLU."""
    p = f"L_level.layers.{i}."
    if cfg["mlp_t"]:
        ht = h.transpose(1, 2)                                       # [B, d, Ltot]
        ht = rms_norm(ht + swiglu(ht, P[p + "mlp_t.gate_up_proj.weight"], P[p + "mlp_t.down_proj.weight"]))
        h = ht.transpose(1, 2)                                       # the norm above ran over tokens
    else:
        h = rms_norm(h + attention(h, P, p + "self_attn.", cfg, rope))
    return rms_norm(h + swiglu(h, P[p + "mlp.gate_up_proj.weight"], P[p + "mlp.down_proj.weight"]))


def f(h, inj, P, cfg, rope):
    """The one shared network: f(h, inj) = blocks(h + inj)."""
    h = h + inj
    for i in range(cfg["layers"]):
        h = block(h, P, i, cfg, rope)
    return h


def latent_recursion(x, y, z, P, cfg, rope):
    """One cycle: n times z = f(z, y + x), then y = f(y, z)."""
    for _ in range(cfg["n"]):
        z = f(z, y + x, P, cfg, rope)
    y = f(y, z, P, cfg, rope)
    return y, z


# ----------------------------------------------------------------------------------------------
# Input embedding, loss, one supervision step
# ----------------------------------------------------------------------------------------------

def input_embedding(P, cfg, tokens, local_weights, t):
    """x [B, Ltot, d] = sqrt(d) * (concat(puzzle prefix, token embeddings) + E_time[t])."""
    B, d = tokens.shape[0], cfg["hidden"]
    x = P["embed_tokens.embedding_weight"][tokens.long()]           # [B, seq_len, d]
    if cfg["puzzle_len"] > 0:   # prefix slot 0 = the puzzle row, slots 1.. = 0
        rest = torch.zeros(B, cfg["puzzle_len"] - 1, d, dtype=x.dtype)
        x = torch.cat([local_weights[:, None, :], rest, x], dim=1)
    if cfg["time_embed"]:       # added to every position, prefix included
        x = x + P["timestep_embed.embedding_weight"][t.long()]   # [1, d]
    return x * math.sqrt(d)


def token_log_probs(cfg, logits):
    if cfg["loss"] == "softmax":
        return F.log_softmax(logits, dim=-1)
    # stablemax: s(x) = x + 1 (x >= 0), 1 / (1 - x + 1e-30) (x < 0); the clamp keeps the unused
    # branch finite so that its (zero) gradient cannot become 0 * inf
    s = torch.where(logits >= 0, logits + 1, 1 / (1 - logits.clamp(max=0) + 1e-30))
    return torch.log(s / s.sum(-1, keepdim=True))


def losses(cfg, logits, q, labels):
    """Returns (loss / batch, lm_loss sum, q_halt_loss sum, seq_correct)."""
    valid = labels != IGNORE
    logp = token_log_probs(cfg, logits)
    ce = -logp.gather(-1, labels.clamp(min=0).long()[..., None])[..., 0] * valid   # 0 where ignored
    n_valid = valid.sum(-1).clamp(min=1)
    lm_loss = (ce.sum(-1) / n_valid).sum()
    with torch.no_grad():   # a row with no valid label counts as correct (#correct == #valid == 0)
        seq_correct = ((logits.argmax(-1) == labels) & valid).sum(-1) == valid.sum(-1)
    if cfg["q_loss"]:
        q_halt_loss = F.binary_cross_entropy_with_logits(q[:, 0], seq_correct.double(), reduction="sum")
    else:
        q_halt_loss = torch.zeros((), dtype=torch.float64)   # reported as 0 and not in the loss
    loss = (lm_loss + 0.5 * q_halt_loss) / cfg["batch"]
    return loss, lm_loss, q_halt_loss, seq_correct


def supervision_step(P, cfg, batch, local_weights, y, z, rope, nograd_cycles):
    """x from the inputs, `nograd_cycles` cycles without gradient, one with gradient, heads, losses.

    (y, z) must already have the reset rows set to H_init / L_init. With nograd_cycles = T - 1 this is
    the TRM step; the finite-difference check calls it with 0 from the state after the no-grad cycles.
    """
    x = input_embedding(P, cfg, batch["tokens"], local_weights, batch["t"])
    with torch.no_grad():
        for _ in range(nograd_cycles):
            y, z = latent_recursion(x, y, z, P, cfg, rope)
    y_mid, z_mid = y, z
    y, z = latent_recursion(x, y, z, P, cfg, rope)
    logits = F.linear(y[:, cfg["puzzle_len"]:], P["lm_head.weight"])     # [B, seq_len, vocab]
    q = F.linear(y[:, 0], P["q_head.weight"], P["q_head.bias"])          # [B, 2]; q_halt = q[:, 0]
    out = dict(logits=logits, q=q, y=y.detach(), z=z.detach(), y_mid=y_mid, z_mid=z_mid)
    if batch.get("labels") is not None:
        out["loss"], out["lm_loss"], out["q_halt_loss"], out["seq_correct"] = losses(cfg, logits, q, batch["labels"])
    return out


def reset_carry(P, y, z, reset):
    """Rows with reset = 1 restart from H_init / L_init broadcast over all positions."""
    r = reset.bool()[:, None, None]
    return torch.where(r, P["H_init"].expand_as(y), y), torch.where(r, P["L_init"].expand_as(z), z)


def local_weights_for(P, cfg, puzzle_ids):
    """Per-batch copy of the puzzle rows that receives the gradient (the official sparse embedding)."""
    if cfg["puzzle_len"] == 0:
        return None
    return P["puzzle_emb.weights"][puzzle_ids.long()].detach().clone().requires_grad_(True)


# ----------------------------------------------------------------------------------------------
# Test inputs
# ----------------------------------------------------------------------------------------------

def make_labels(cfg, step, gen, logits):
    """Random labels with some IGNORE entries. tiny_att (q_loss) also gets rows that are exactly
    correct: at step 1 row 0 copies the argmax of the logits; at step 2 row 0 copies the argmax
    and row 2 is entirely IGNORE (counts as correct)."""
    B, S, V = logits.shape
    labels = torch.randint(0, V, (B, S), generator=gen, dtype=torch.int32)
    labels[:, 1] = IGNORE                         # one ignored position in every row
    labels[B - 1, S - 2] = IGNORE                 # and a second one in the last row
    if cfg["q_loss"]:
        labels[0] = logits[0].argmax(-1).to(torch.int32)
        labels[0, 1] = IGNORE
        if step == 2:
            labels[2] = IGNORE
    return labels


def decisive_margin(logits, labels, seq_correct):
    """Smallest logit gap that decides seq_correct (how robust the halt target is to rounding)."""
    margins = []
    for b in range(logits.shape[0]):
        valid = labels[b] != IGNORE
        if not valid.any():
            continue
        top2 = logits[b][valid].topk(2, dim=-1).values
        if seq_correct[b]:   # every valid token must stay the argmax
            margins.append((top2[:, 0] - top2[:, 1]).min().item())
        else:                # the most clearly wrong token decides
            lab = labels[b][valid].long()
            gap = logits[b][valid].max(-1).values - logits[b][valid].gather(-1, lab[:, None])[:, 0]
            margins.append(gap.max().item())
    return min(margins) if margins else float("inf")


# ----------------------------------------------------------------------------------------------
# Finite-difference check of the autograd gradients
# ----------------------------------------------------------------------------------------------

def finite_difference_check(P, cfg, batch, puzzle_ids, out, grads, rope, gen, eps=1e-6):
    """Central differences of the step loss on a few entries of several tensors. The no-grad cycles
    are outside the gradient by design, so the check restarts from their (fixed) result."""
    names = [n for n in grads if n.startswith("L_level.layers.0.")][:1]
    names += [f"L_level.layers.{cfg['layers'] - 1}.mlp.down_proj.weight", "embed_tokens.embedding_weight"]
    names += ["puzzle_emb.local_weights"] if cfg["puzzle_len"] > 0 else []
    names += ["timestep_embed.embedding_weight"] if cfg["time_embed"] else []
    names += ["q_head.weight"] if cfg["q_loss"] else []
    base_local = local_weights_for(P, cfg, puzzle_ids)

    def loss_at():
        with torch.no_grad():
            return supervision_step(P, cfg, batch, base_local, out["y_mid"], out["z_mid"], rope, 0)["loss"].item()

    worst = {}
    for name in names:
        tensor = base_local if name == "puzzle_emb.local_weights" else P[name]
        g = grads[name].flatten()
        idx = g.abs().topk(3).indices.tolist()                              # largest entries ...
        idx += torch.randint(0, g.numel(), (2,), generator=gen).tolist()    # ... and two random ones
        flat = tensor.data.view(-1)
        for j in idx:
            orig = flat[j].item()
            flat[j] = orig + eps
            lp = loss_at()
            flat[j] = orig - eps
            lm = loss_at()
            flat[j] = orig
            fd, ad = (lp - lm) / (2 * eps), g[j].item()
            rel = abs(fd - ad) / max(abs(fd), abs(ad), 1e-8)
            worst[name] = max(worst.get(name, 0.0), rel)
    return worst


# ----------------------------------------------------------------------------------------------
# safetensors writer (json + struct)
# ----------------------------------------------------------------------------------------------

DTYPES = {torch.float64: ("F64", "<f8"), torch.float32: ("F32", "<f4"), torch.int32: ("I32", "<i4")}


def write_safetensors(path, tensors, metadata):
    """8-byte LE header length, JSON header padded with spaces to a multiple of 8, then the data.
    8-byte tensors are laid out first so that every tensor is aligned to its element size."""
    order = sorted(tensors, key=lambda k: -tensors[k].element_size())   # stable: keeps insertion order
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name in order:
        t = tensors[name].detach().contiguous()
        tag, np_dtype = DTYPES[t.dtype]
        data = t.numpy().astype(np_dtype).tobytes()
        header[name] = {"dtype": tag, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(head)))
        fh.write(head)
        fh.writelines(chunks)


# ----------------------------------------------------------------------------------------------
# One fixture
# ----------------------------------------------------------------------------------------------

def build_fixture(name, cfg, out_dir, seed):
    gen = torch.Generator().manual_seed(seed)
    W = init_weights(cfg, gen)
    P = {k: v.to(torch.float64).requires_grad_(k not in NOT_TRAINED) for k, v in W.items()}
    trained = [k for k in P if k not in NOT_TRAINED]
    rope = rope_tables(cfg) if cfg["pos"] == "rope" else None
    B, S, Lt, d = cfg["batch"], cfg["seq_len"], ltot(cfg), cfg["hidden"]

    files = dict(W)
    puzzle_ids = torch.tensor(PUZZLE_IDS[name], dtype=torch.int32)
    files["inputs.puzzle_ids"] = puzzle_ids
    y = torch.zeros(B, Lt, d, dtype=torch.float64)   # never read: every row is reset at step 1
    z = torch.zeros(B, Lt, d, dtype=torch.float64)
    fd_report, summary = {}, []
    for step in (1, 2):
        reset = torch.ones(B, dtype=torch.int32)
        if step == 2:
            reset.zero_()
            reset[RESET_ROW] = 1
        batch = dict(tokens=torch.randint(0, cfg["vocab"], (B, S), generator=gen, dtype=torch.int32),
                     t=torch.tensor([step], dtype=torch.int32), labels=None)
        with torch.no_grad():   # the carry after the reset is fixed data for this step
            y, z = reset_carry(P, y, z, reset)

        # the logits do not depend on the labels: look at them first to build "correct" rows
        with torch.no_grad():
            preview = supervision_step(P, cfg, batch, local_weights_for(P, cfg, puzzle_ids), y, z, rope,
                                       cfg["T"] - 1)
        batch["labels"] = make_labels(cfg, step, gen, preview["logits"])

        for p in P.values():
            p.grad = None
        local = local_weights_for(P, cfg, puzzle_ids)
        out = supervision_step(P, cfg, batch, local, y, z, rope, cfg["T"] - 1)
        out["loss"].backward()
        # zeros where the loss does not reach a tensor (q_head when q_loss is off)
        grads = {k: P[k].grad if P[k].grad is not None else torch.zeros_like(P[k]) for k in trained}
        if local is not None:
            grads["puzzle_emb.local_weights"] = local.grad
        fd = finite_difference_check(P, cfg, batch, puzzle_ids, out, grads, rope, gen)
        fd_report.update({f"step{step} {k}": v for k, v in fd.items()})

        s = f"step{step}."
        files[s + "tokens"] = batch["tokens"]
        files[s + "labels"] = batch["labels"]
        files[s + "t"] = batch["t"]
        files[s + "reset"] = reset
        files[s + "logits"] = out["logits"].detach()
        files[s + "q"] = out["q"].detach()
        for key in ("loss", "lm_loss", "q_halt_loss"):
            files[s + key] = out[key].detach().reshape(1)
        files[s + "y"], files[s + "z"] = out["y"], out["z"]
        for k, g in grads.items():
            files[s + "grad." + k] = g.detach().clone()
        summary.append(f"step{step} loss {out['loss'].item():.6f} lm {out['lm_loss'].item():.6f} "
                       f"q_halt {out['q_halt_loss'].item():.6f} correct {out['seq_correct'].int().tolist()} "
                       f"margin {decisive_margin(out['logits'].detach(), batch['labels'], out['seq_correct']):.3g}")
        y, z = out["y"], out["z"]   # detached carry into the next step

    path = os.path.join(out_dir, name + ".safetensors")
    write_safetensors(path, files, {"config": json.dumps(cfg, separators=(",", ":"))})
    for k, v in fd_report.items():
        print(f"  finite differences {name} {k}: max rel err {v:.2e}")
    worst = max(fd_report.values())
    print(f"{name}: {path} {os.path.getsize(path)} bytes, {len(files)} tensors, "
          f"inter {swiglu_inter(cfg['expansion'], d)}"
          + (f", inter_t {swiglu_inter(cfg['expansion'], Lt)}" if cfg["mlp_t"] else "")
          + f"; {'; '.join(summary)}; FD max rel err {worst:.2e}")
    if worst > 1e-5:
        raise SystemExit(f"{name}: finite-difference check failed ({worst:.2e})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/fixtures", help="output folder")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)                  # identical reductions on every run
    torch.use_deterministic_algorithms(True)
    for i, (name, cfg) in enumerate(CONFIGS.items()):
        build_fixture(name, cfg, args.out, seed=1234 + i)


if __name__ == "__main__":
    main()
