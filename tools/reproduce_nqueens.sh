#!/bin/sh
# Reproduce the N-Queens experiment of the DIS paper: DIS-compact against TRM-compact on
# the paper split and the deduplicated split, the same wall-clock budget for every run.
#
#   tools/reproduce_nqueens.sh [MINUTES] [OUT]      (defaults: 60, runs/nqueens)
#
# The four runs (2 splits x 2 methods) train side by side, one thread each, so they get
# the same budget on the same hardware. Each run writes OUT/<split>-<method>/
# {model.safetensors, metrics.jsonl, eval.json, eval.txt}; OUT/summary.md is the table of
# docs/results.md. The hyper-parameters are those of docs/results.md; the seeds are fixed.
set -eu
MINUTES=${1:-60}
OUT=${2:-runs/nqueens}
TRM=${TRM:-build/trm}
mkdir -p "$OUT"

COMMON="--preset compact --batch 32 --lr 1e-3 --beta2 0.99 --warmup 100 --threads 1 --seed 0 --quiet"
DIS_ARGS="--method dis --feed input --eval-every 1200"
TRM_ARGS="--method trm"

for split in paper dedup; do
    "$TRM" data nqueens --split "$split" --seed 42 --out "$OUT/data-$split"
done
for split in paper dedup; do
    for method in dis trm; do
        args=$DIS_ARGS; [ "$method" = trm ] && args=$TRM_ARGS
        # shellcheck disable=SC2086
        "$TRM" train --task nqueens --data "$OUT/data-$split" $COMMON $args --minutes "$MINUTES" \
            --out "$OUT/$split-$method" > "$OUT/$split-$method.eval.json" &
    done
done
wait
for split in paper dedup; do
    for method in dis trm; do
        mv "$OUT/$split-$method.eval.json" "$OUT/$split-$method/eval.json"
        "$TRM" eval --model "$OUT/$split-$method/model.safetensors" --data "$OUT/data-$split/test.txt" \
            --threads 2 --table > "$OUT/$split-$method/eval.txt"
    done
done
python3 tools/results_table.py "$OUT" > "$OUT/summary.md"
cat "$OUT/summary.md"
