#!/bin/sh
# Reproduce the N-Queens experiment of the DIS paper: DIS-compact against TRM-compact, the
# same wall-clock budget for both, scored on the paper split and on the deduplicated split.
#
#   tools/reproduce_nqueens.sh [MINUTES] [OUT]      (defaults: 60, runs/nqueens)
#
# Both splits share one training set (the dedup split only rejects test puzzles whose
# input is a symmetry of a training input), so each method trains once and is evaluated
# on both test sets. The two methods train side by side, one thread each: the same budget
# on the same hardware. OUT/<method>/ holds model.safetensors and metrics.jsonl,
# OUT/<method>/eval-<split>.{json,txt} the evaluations, OUT/summary.md the table of
# docs/results.md. The hyper-parameters are those of docs/results.md; the seeds are fixed.
# Both use the MLP mixer (TRM's mlp_t; attention learned 10x slower here) and aim at the
# correct answer they find most likely (--answer closest; see docs/results.md).
set -eu
MINUTES=${1:-60}
OUT=${2:-runs/nqueens}
TRM=${TRM:-build/trm}
mkdir -p "$OUT"

COMMON="--preset compact --mixer mlp --answer closest --batch 32 --lr 1e-3 --beta2 0.99 --warmup 100 --ema 0.999
        --threads 1 --seed 0 --quiet"
for split in paper dedup; do
    "$TRM" data nqueens --split "$split" --seed 42 --out "$OUT/data-$split"
done
cmp -s "$OUT/data-paper/train.txt" "$OUT/data-dedup/train.txt" || { echo "training sets differ" >&2; exit 1; }

"$TRM" train --task nqueens --data "$OUT/data-paper" $COMMON --method dis --feed input --eval-every 1200 \
    --minutes "$MINUTES" --out "$OUT/dis" > /dev/null &
"$TRM" train --task nqueens --data "$OUT/data-paper" $COMMON --method trm --eval-every 500 \
    --minutes "$MINUTES" --out "$OUT/trm" > /dev/null &
wait

for method in dis trm; do
    for split in paper dedup; do
        "$TRM" eval --model "$OUT/$method/model.safetensors" --data "$OUT/data-$split/test.txt" \
            --table --save "$OUT/$method/eval-$split.json" > "$OUT/$method/eval-$split.txt"
    done
done
python3 tools/results_table.py "$OUT" > "$OUT/summary.md"
cat "$OUT/summary.md"
