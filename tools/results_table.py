#!/usr/bin/env python3
"""Summarise an N-Queens reproduction directory (tools/reproduce_nqueens.sh) as markdown.

usage: tools/results_table.py OUT
Reads OUT/<method>/metrics.jsonl and OUT/<method>/eval-<split>.json; standard library only.
"""
import json
import os
import sys


def main():
    out = sys.argv[1]
    print("| method | test split | exact | valid | token acc. | calls/puzzle | train min | optimizer steps |"
          " puzzles seen | examples/s | per k: exact/valid |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for method in ("dis", "trm"):
        run = os.path.join(out, method)
        with open(os.path.join(run, "metrics.jsonl")) as f:
            metrics = [json.loads(line) for line in f if line.strip()]
        last = [m for m in metrics if m["type"] == "train"][-1]
        rate = last["examples"] / max(last["elapsed_s"], 1e-9)
        for split in ("paper", "dedup"):
            path = os.path.join(run, f"eval-{split}.json")
            if not os.path.exists(path):
                continue
            e = json.load(open(path))
            per_k = " ".join(f"{g['group']}:{g['exact']:.2f}/{g['valid']:.2f}" for g in e["per_group"])
            print(f"| {method} | {split} | {e['exact']:.3f} | {e['valid']:.3f} | {e['token_accuracy']:.3f} |"
                  f" {e['network_calls_per_puzzle']} | {last['elapsed_s'] / 60:.0f} | {last['step']} |"
                  f" {last['examples']} | {rate:.1f} | {per_k} |")


if __name__ == "__main__":
    main()
