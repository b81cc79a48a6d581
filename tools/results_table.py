#!/usr/bin/env python3
"""Summarise an N-Queens reproduction directory (tools/reproduce_nqueens.sh) as markdown.

usage: tools/results_table.py OUT
Reads OUT/<method>/metrics.jsonl and OUT/<method>/eval-<split>.json; standard library only.
Prints the final table (both test splits, per k) and the evaluations made during training
(paper test split), with the first one that reaches the issue's target.
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
    curve(out)


def curve(out, target_exact=0.69, target_valid=0.95):
    print("\nEvaluations during training (paper test split, the weights that would be saved):\n")
    print("| method | step | minutes | exact | valid |")
    print("|---|---|---|---|---|")
    first = {}
    for method in ("dis", "trm"):
        with open(os.path.join(out, method, "metrics.jsonl")) as f:
            evals = [m for m in (json.loads(line) for line in f if line.strip()) if m["type"] == "eval"]
        for e in evals:
            print(f"| {method} | {e['step']} | {e['elapsed_s'] / 60:.1f} | {e['exact']:.3f} | {e['valid']:.3f} |")
            if method not in first and e["exact"] >= target_exact and e["valid"] >= target_valid:
                first[method] = e
    for method in ("dis", "trm"):
        e = first.get(method)
        print(f"\n{method}: " + (f"exact >= {target_exact} and valid >= {target_valid} first at step {e['step']}, "
                                 f"{e['elapsed_s'] / 60:.1f} minutes" if e else
                                 f"did not reach exact >= {target_exact} and valid >= {target_valid}"))


if __name__ == "__main__":
    main()
