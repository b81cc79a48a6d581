#!/bin/sh
# make run: the main job, meant to convince a newcomer within 10 minutes on any machine of
# this fleet (2 cores, AVX2 or AVX-512): N-Queens data with a validation split, DIS-compact
# trained until 95% of the validation puzzles are solved validly (or the budget ends), the
# best checkpoint on validation scored once on the 200 test puzzles.
#
#   tools/run_main.sh [MINUTES] [OUT]        (defaults: 8, runs)
#
# The recipe (docs/results.md, "make run"): the N-Queens recipe of the 60-minute study
# (MLP mixer, --answer closest, AdamW, beta2 0.99, batch 32) with lr 2e-3 decaying along a
# cosine over the budget to 5%, both cores, bf16 products where the CPU has AVX512-BF16,
# and an evaluation on the validation split every EVAL steps that stops the run at
# valid >= 0.95.
set -eu
MINUTES=${1:-8}
OUT=${2:-runs}
TRM=${TRM:-build/trm}
EVAL=${EVAL:-300}
start=$(date +%s)
mkdir -p "$OUT/dis-compact-quick"
"$TRM" data nqueens --split paper --seed 42 --out "$OUT/nqueens-paper"
"$TRM" train --task nqueens --data "$OUT/nqueens-paper" --method dis --preset compact --mixer mlp \
    --answer closest --batch 32 --lr ${LR:-2e-3} --min-ratio ${MIN_RATIO:-0.05} --beta2 0.99 --precision auto --threads 0 \
    --minutes "$MINUTES" --eval-every "$EVAL" --until valid=0.95 --keep best \
    --out "$OUT/dis-compact-quick" --quiet > "$OUT/dis-compact-quick/final.json"
model=$OUT/dis-compact-quick/model_best.safetensors
"$TRM" eval --model "$model" --data "$OUT/nqueens-paper/test.txt" --table --precision auto
end=$(date +%s)

# Where this run stands: the time, the machine, and the README's figure for comparison.
python3 - "$OUT/dis-compact-quick" "$((end - start))" "$("$TRM" --version | tail -n 1)" <<'PY' || true
import json, sys
run, seconds, cpu = sys.argv[1], int(sys.argv[2]), sys.argv[3]
d = json.load(open(run + "/final.json"))
evals = [json.loads(l) for l in open(run + "/metrics.jsonl") if '"split":"valid"' in l]
print(f"\nmake run: {seconds // 60} min {seconds % 60:02d} s on {cpu}")
print(f"  test: valid {d['valid']:.3f}, exact {d['exact']:.3f} on {d['puzzles']} puzzles, "
      f"checkpoint of step {d['checkpoint_step']} ({d['why']}); stopped by {d['stopped_by']}")
if evals:
    e = evals[-1]
    print(f"  validation: {len(evals)} evaluations, the last at step {e['step']}: valid {e['valid']:.3f}")
print("  README (AMD EPYC, AVX-512 with BF16, 2 cores): 7 min 31 s, stopped at validation 0.950 (step 2400),"
      " test valid 0.980, exact 0.670; the 60-minute study: valid 0.990 (docs/results.md)")
PY
