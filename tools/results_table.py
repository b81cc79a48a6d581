#!/usr/bin/env python3
"""Summarise an N-Queens reproduction directory (tools/reproduce_nqueens.sh) as markdown.

usage: tools/results_table.py OUT
Reads OUT/<split>-<method>/{metrics.jsonl,eval.json}; standard library only.
"""
import json
import os
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def first_reach(evals, key, level):
    for e in evals:
        if e.get(key, 0) >= level:
            return e["elapsed_s"] / 60
    return None


def main():
    out = sys.argv[1]
    rows = []
    for split in ("paper", "dedup"):
        for method in ("dis", "trm"):
            run = os.path.join(out, f"{split}-{method}")
            if not os.path.exists(os.path.join(run, "eval.json")):
                continue
            final = json.load(open(os.path.join(run, "eval.json")))
            metrics = load(os.path.join(run, "metrics.jsonl"))
            train = [m for m in metrics if m["type"] == "train"]
            evals = [m for m in metrics if m["type"] == "eval"]
            last = train[-1]
            rate = last["examples"] / max(last["elapsed_s"], 1e-9)
            t69 = first_reach(evals, "exact", 0.69)
            t95 = first_reach(evals, "valid", 0.95)
            per_k = " ".join(f"{g['group']}:{g['exact']:.2f}/{g['valid']:.2f}" for g in final["per_group"])
            rows.append((split, method, final["exact"], final["valid"], final["network_calls_per_puzzle"],
                         last["elapsed_s"] / 60, last["step"], rate,
                         "-" if t69 is None else f"{t69:.0f}", "-" if t95 is None else f"{t95:.0f}", per_k))
    print("| split | method | exact | valid | calls/puzzle | train min | optimizer steps | examples/s |"
          " min to exact 0.69 | min to valid 0.95 | per k (exact/valid) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:.3f} | {r[3]:.3f} | {r[4]} | {r[5]:.0f} | {r[6]} | {r[7]:.1f} |"
              f" {r[8]} | {r[9]} | {r[10]} |")


if __name__ == "__main__":
    main()
