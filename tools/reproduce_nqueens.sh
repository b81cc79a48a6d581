#!/bin/sh
# Reproduce the N-Queens experiment of the DIS paper: DIS-compact against TRM-compact on
# the paper split and the deduplicated split, the same wall-clock budget for both methods.
#
#   tools/reproduce_nqueens.sh [MINUTES] [OUT]      (defaults: 60, runs/nqueens)
#
# The two methods of a split train side by side, one thread each, so they get the same
# budget and the same hardware. Each run writes OUT/<split>-<method>/{model.safetensors,
# metrics.jsonl,eval.json,eval.txt}; OUT/summary.md gathers the table of docs/results.md.
# Hyper-parameters are those of docs/results.md; the seeds are fixed.
set -eu
MINUTES=${1:-60}
OUT=${2:-runs/nqueens}
TRM=${TRM:-build/trm}
EVAL_EVERY=${EVAL_EVERY:-600}
mkdir -p "$OUT"

DIS_ARGS="--method dis --preset compact --batch 32 --lr 3e-3 --warmup 100 --feed pred"
TRM_ARGS="--method trm --preset compact --batch 32 --lr 3e-3 --warmup 100"

for split in paper dedup; do
    "$TRM" data nqueens --split "$split" --seed 42 --out "$OUT/data-$split"
    for method in dis trm; do
        args=$DIS_ARGS; [ "$method" = trm ] && args=$TRM_ARGS
        "$TRM" train --task nqueens --data "$OUT/data-$split" $args --minutes "$MINUTES" \
            --eval-every "$EVAL_EVERY" --threads 1 --seed 0 --quiet --out "$OUT/$split-$method" \
            > "$OUT/$split-$method.final.json" &
    done
    wait
    for method in dis trm; do
        "$TRM" eval --model "$OUT/$split-$method/model.safetensors" --data "$OUT/data-$split/test.txt" \
            > "$OUT/$split-$method/eval.json"
        "$TRM" eval --model "$OUT/$split-$method/model.safetensors" --data "$OUT/data-$split/test.txt" \
            --table > "$OUT/$split-$method/eval.txt"
    done
done
python3 tools/results_table.py "$OUT" > "$OUT/summary.md" 2>/dev/null || true
echo "done: $OUT"
