#!/usr/bin/python3
"""A compact PyTorch TRM/DIS step, to time against `trm bench` on the same shapes.

Written independently of the C code and of tests/reference: the DIS recipe of the papers in
fp32 on the CPU. The network f is post-norm blocks (weightless RMSNorm, non-causal attention
with RoPE, SwiGLU of width ceil(round(4*d*2/3)/256)*256; with --mixer mlp, TRM's mlp_t: a
SwiGLU over the token axis instead of attention, normed over that axis); the input is
x = sqrt(d) * (concat(16-slot puzzle prefix, token embedding) + step embedding). One
supervision step runs T=1 cycle of n=2 latent updates z = f(z, y + x) and one answer update
y = f(y, z), then the lm head and the stablemax cross-entropy (in float64, as the official
code), backward and one AdamW step; the carry leaves each step detached. A training batch is
6 supervision steps. Inference runs the same 6 steps under torch.inference_mode().
With --precision bf16 the forward runs under torch.autocast("cpu", dtype=torch.bfloat16)
(PyTorch's mixed precision: matmuls in bf16 through oneDNN, weights and optimizer in fp32, as
`trm --precision bf16` keeps them); the backward runs outside autocast, as PyTorch advises.

Run with Debian's /usr/bin/python3 (torch 1.13). BLAS: the environment must choose the
OpenBLAS kernels before torch loads it, so this script sets OPENBLAS_CORETYPE=SkylakeX when the
CPU has avx512f (unless the variable is already set or --coretype says otherwise).

  /usr/bin/python3 bench/torch_step.py --preset compact --batch 128 --seq-len 64 --vocab 3 --json
"""
import argparse
import contextlib
import json
import math
import os
import resource
import statistics
import sys
import time

PRESETS = {"compact": (256, 1), "medium": (512, 2)}   # hidden, layers
HEADS, PREFIX, N_SUP, N_LATENT = 8, 16, 6, 2


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", choices=PRESETS, default="compact")
    p.add_argument("--mixer", choices=("attention", "mlp"), default="attention")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--vocab", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="0: all cores")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--infer-batch", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--coretype", default="auto",
                   help="OPENBLAS_CORETYPE to set before loading torch (auto: SkylakeX on avx512f, "
                        "else leave the environment alone; none: leave it alone)")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="bf16: forward under torch.autocast(cpu, bfloat16)")
    p.add_argument("--json", action="store_true")
    return p.parse_args()


def has_avx512f():
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx512f" in line for line in f)
    except OSError:
        return False


def choose_coretype(arg):
    if arg == "none":
        return
    if arg != "auto":
        os.environ["OPENBLAS_CORETYPE"] = arg
    elif has_avx512f():
        os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"


ARGS = parse_args()
# torch's own default can be 1 thread here; 0 means every core we may run on, as `trm bench`.
ARGS.threads = ARGS.threads or len(os.sched_getaffinity(0))
choose_coretype(ARGS.coretype)     # before `import torch` loads OpenBLAS
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)

import torch                      # noqa: E402
import torch.nn as nn             # noqa: E402
import torch.nn.functional as F   # noqa: E402


def rms_norm(h):
    return h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-5)


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat([-b, a], dim=-1)


def attend(q, k, v):
    if hasattr(F, "scaled_dot_product_attention"):     # torch >= 2.0
        return F.scaled_dot_product_attention(q, k, v)
    scores = (q @ k.transpose(-1, -2)) * (q.shape[-1] ** -0.5)
    return torch.softmax(scores, dim=-1) @ v


def swiglu_width(width):
    return math.ceil(round(4 * width * 2 / 3) / 256) * 256


class Block(nn.Module):
    def __init__(self, d, inter, mixer, Lt):
        super().__init__()
        self.mlp_t = mixer == "mlp"
        if self.mlp_t:
            self.mix_gate_up = nn.Linear(Lt, 2 * swiglu_width(Lt), bias=False)
            self.mix_down = nn.Linear(swiglu_width(Lt), Lt, bias=False)
        else:
            self.qkv = nn.Linear(d, 3 * d, bias=False)
            self.o = nn.Linear(d, d, bias=False)
        self.gate_up = nn.Linear(d, 2 * inter, bias=False)
        self.down = nn.Linear(inter, d, bias=False)

    def forward(self, h, cos, sin):
        if self.mlp_t:
            t = h.transpose(1, 2)                  # [B, d, Lt]: mix along the tokens
            gate, up = self.mix_gate_up(t).chunk(2, dim=-1)
            h = rms_norm(t + self.mix_down(F.silu(gate) * up)).transpose(1, 2)
            gate, up = self.gate_up(h).chunk(2, dim=-1)
            return rms_norm(h + self.down(F.silu(gate) * up))
        B, L, d = h.shape
        q, k, v = (t.view(B, L, HEADS, d // HEADS).transpose(1, 2) for t in self.qkv(h).split(d, -1))
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        att = attend(q, k, v).transpose(1, 2).reshape(B, L, d)
        h = rms_norm(h + self.o(att))
        gate, up = self.gate_up(h).chunk(2, dim=-1)
        return rms_norm(h + self.down(F.silu(gate) * up))


class TRM(nn.Module):
    def __init__(self, vocab, seq_len, d, layers, mixer):
        super().__init__()
        inter = swiglu_width(d)
        self.d, self.Lt = d, seq_len + PREFIX
        self.embed = nn.Embedding(vocab, d)
        self.step_embed = nn.Embedding(N_SUP + 2, d)
        self.puzzle = nn.Parameter(torch.zeros(1, d))   # one shared puzzle vector (slot 0)
        self.blocks = nn.ModuleList(Block(d, inter, mixer, self.Lt) for _ in range(layers))
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.q_head = nn.Linear(d, 2)
        self.register_buffer("y0", torch.randn(d))
        self.register_buffer("z0", torch.randn(d))
        hd = d // HEADS
        inv = 10000.0 ** (-torch.arange(0, hd, 2, dtype=torch.float32) / hd)
        ang = torch.outer(torch.arange(self.Lt, dtype=torch.float32), inv)
        ang = torch.cat([ang, ang], dim=-1)
        self.register_buffer("cos", ang.cos())
        self.register_buffer("sin", ang.sin())

    def f(self, h, inj):
        h = h + inj
        for b in self.blocks:
            h = b(h, self.cos, self.sin)
        return h

    def carry(self, B):
        return self.y0.expand(B, self.Lt, self.d), self.z0.expand(B, self.Lt, self.d)

    def step(self, tokens, y, z, t):
        B = tokens.shape[0]
        prefix = torch.cat([self.puzzle.expand(B, 1, self.d), torch.zeros(B, PREFIX - 1, self.d)], dim=1)
        x = torch.cat([prefix, self.embed(tokens)], dim=1) + self.step_embed.weight[t]
        x = x * math.sqrt(self.d)
        for _ in range(N_LATENT):
            z = self.f(z, y + x)
        y = self.f(y, z)
        return y, z, self.lm_head(y[:, PREFIX:]), self.q_head(y[:, 0])


def stablemax_ce(logits, labels):
    x = logits.double()
    s = torch.where(x >= 0, x + 1, 1 / (1 - x.clamp(max=0)))
    logp = torch.log(s / s.sum(-1, keepdim=True))
    return -logp.gather(-1, labels[..., None]).mean()


def autocast():
    if ARGS.precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def train_batch(model, opt, tokens, labels):
    y, z = model.carry(tokens.shape[0])
    for t in range(1, N_SUP + 1):
        opt.zero_grad(set_to_none=True)
        with autocast():
            y, z, logits, _ = model.step(tokens, y, z, t)
        stablemax_ce(logits, labels).backward()
        opt.step()
        y, z = y.detach(), z.detach()


def infer_batch(model, tokens):
    with torch.inference_mode(), autocast():
        y, z = model.carry(tokens.shape[0])
        for t in range(1, N_SUP + 1):
            y, z, logits, _ = model.step(tokens, y, z, t)
            logits.argmax(-1)


def timed(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def openblas_core():
    try:
        import ctypes
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "unknown"


def main():
    a = ARGS
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    d, layers = PRESETS[a.preset]
    model = TRM(a.vocab, a.seq_len, d, layers, a.mixer)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    rand = lambda n: torch.randint(1, a.vocab, (n, a.seq_len))   # noqa: E731
    tokens, labels, test = rand(a.batch), rand(a.batch), rand(a.infer_batch)
    train_s = timed(lambda: train_batch(model, opt, tokens, labels), a.warmup, a.repeats)
    infer_s = timed(lambda: infer_batch(model, test), a.warmup, a.repeats)
    tm, im = statistics.median(train_s), statistics.median(infer_s)
    r = {
        "impl": "pytorch", "torch": torch.__version__, "preset": a.preset, "mixer": a.mixer, "precision": a.precision, "method": "dis",
        "batch": a.batch, "seq_len": a.seq_len, "puzzle_len": PREFIX, "vocab": a.vocab,
        "infer_batch": a.infer_batch, "hidden": d, "layers": layers, "N_sup": N_SUP,
        "params": sum(p.numel() for p in model.parameters()),
        "threads": torch.get_num_threads(), "openblas_core": openblas_core(),
        "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE", ""),
        "warmup": a.warmup, "repeats": a.repeats,
        "train_median_s": tm, "train_times_s": train_s, "train_example_steps_per_s": a.batch * N_SUP / tm,
        "infer_median_s": im, "infer_times_s": infer_s, "infer_puzzles_per_s": a.infer_batch / im,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if a.json:
        print(json.dumps(r, indent=1))
    else:
        print(f"torch {r['torch']}, {a.preset}, batch {a.batch}, L {a.seq_len} + {PREFIX}, vocab {a.vocab}, "
              f"{r['threads']} threads, OpenBLAS {r['openblas_core']}")
        print(f"train:     median {tm:.3f} s per batch of {N_SUP} steps, {r['train_example_steps_per_s']:.1f} example-steps/s")
        print(f"inference: median {im:.3f} s per {a.infer_batch} puzzles, {r['infer_puzzles_per_s']:.1f} puzzles/s")
        print(f"peak RSS {r['peak_rss_mb']:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
