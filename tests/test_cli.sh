#!/bin/sh
# test_cli.sh: the trm binary end to end (info, data, train, eval, solve, trace, resume)
# and its behaviour on bad input: every failure must exit non-zero without crashing,
# print one "trm: error: ..." line that names the file (and line) at fault, and leave no
# partial output behind. Run from the project root with TRM=path/to/trm (default build/trm).
TRM=${TRM:-build/trm}
case $TRM in /*) ;; *) TRM=$(pwd)/$TRM ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/trm_cli.XXXXXX") || { echo "cli: 0 passed, 1 failed"; exit 1; }
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
# Busy-waiting OpenMP threads crawl on a shared machine; results do not depend on this.
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export OMP_WAIT_POLICY
THREADS="--threads 2"
pass=0
fail=0

. "$(dirname "$0")/harness.sh"
differ() { ! cmp -s "$1" "$2"; }

# --------------------------------------------------------------------------- info
for spec in "medium trm 6829058" "compact dis 860674" "medium dis 6833154" "compact trm 858626"; do
    set -- $spec
    "$TRM" info --preset "$1" --method "$2" --vocab 12 --seq-len 900 > "$T/info" 2> "$T/err"
    check "info $1 $2: exit status" [ $? -eq 0 ]
    check "info $1 $2: parameters $(grep parameters "$T/info")" grep -q "^parameters:   $3 " "$T/info"
done

# --------------------------------------------------------------------------- data
D=$T/D
"$TRM" data nqueens --split paper --seed 1 --out "$D" > "$T/out" 2> "$T/err"
check "data paper: exit status ($(cat "$T/err"))" [ $? -eq 0 ]
check "data paper: train.txt has $(lines "$D/train.txt") lines" [ "$(lines "$D/train.txt")" -eq 7200 ]
check "data paper: test.txt has $(lines "$D/test.txt") lines" [ "$(lines "$D/test.txt")" -eq 200 ]
check "data paper: valid.txt has $(lines "$D/valid.txt") lines" [ "$(lines "$D/valid.txt")" -eq 200 ]
check "data paper: no temp files left" [ "$(ls "$D" | wc -l)" -eq 3 ]
check "data paper: line format" grep -q -E '^[.Q]{64} [.Q]{64}$' "$D/test.txt"
check "data paper: a malformed line" [ "$(grep -c -v -E '^[.Q]{64} [.Q]{64}$' "$D/train.txt")" -eq 0 ]
"$TRM" data nqueens --split paper --seed 1 --out "$T/D2" > /dev/null 2>&1
check "data: the same seed gives the same files" cmp -s "$D/train.txt" "$T/D2/train.txt"
"$TRM" data nqueens --split dedup --seed 1 --out "$T/DD" > /dev/null 2> "$T/err"
check "data dedup: exit status ($(cat "$T/err"))" [ $? -eq 0 ]
check "data dedup: train.txt lines" [ "$(lines "$T/DD/train.txt")" -eq 7200 ]
check "data dedup: test.txt lines" [ "$(lines "$T/DD/test.txt")" -eq 200 ]
check "data dedup: train as in paper" cmp -s "$D/train.txt" "$T/DD/train.txt"
"$TRM" data nqueens --split paper --seed 1 --no-augment --out "$T/DN" > /dev/null 2>&1
check "data --no-augment: 800 rows" [ "$(lines "$T/DN/train.txt")" -eq 800 ]
"$TRM" data nqueens --split paper --seed 1 --no-augment --out "$T/nest/ed/out" > /dev/null 2> "$T/err"
check "data: --out creates missing parents ($(cat "$T/err"))" [ -f "$T/nest/ed/out/test.txt" ]
expect_fail "data: unknown split" "bogus|split" "$TRM" data nqueens --split bogus --seed 1 --out "$T/X"
check "data: unknown split left a directory" [ ! -e "$T/X" ]
expect_fail "data: unknown data set" "tetris" "$TRM" data tetris --out "$T/X"
check "data: unknown data set left a directory" [ ! -e "$T/X" ]
expect_fail "data: no --out" "--out" "$TRM" data nqueens --split paper
: > "$T/afile"
expect_fail "data: --out is a file" "$T/afile|directory" "$TRM" data nqueens --out "$T/afile"

# A small data directory keeps training and evaluation fast.
S=$T/S
mkdir "$S"
head -n 64 "$D/train.txt" > "$S/train.txt"
head -n 8 "$D/test.txt" > "$S/test.txt"
cut -d' ' -f1 "$S/test.txt" | head -n 3 > "$T/boards.txt"

# --------------------------------------------------------------------------- train, eval, solve, trace
R=$T/R
"$TRM" train --task nqueens --data "$S" --method dis --preset compact --steps 6 --batch 8 --out "$R" \
    --quiet $THREADS > "$T/train.json" 2> "$T/err"
check "train dis: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
for f in model.safetensors state.safetensors metrics.jsonl; do
    check "train dis: $f written" [ -s "$R/$f" ]
done
check "train dis: files in the run directory: $(ls "$R" | tr '\n' ' ')" [ "$(ls "$R" | wc -l)" -eq 3 ]
check "train dis: --quiet printed to stderr: $(head -c 200 "$T/err")" [ ! -s "$T/err" ]
check "train dis: metrics train line" grep -q '"type":"train","step":6,' "$R/metrics.jsonl"
check "train dis: metrics eval line" grep -q '"type":"eval"' "$R/metrics.jsonl"
check "train dis: final evaluation printed" has "$T/train.json" '"network_calls_per_puzzle"'

HAVE_PY=0
command -v python3 > /dev/null 2>&1 && python3 -c 'import json, struct' 2> /dev/null && HAVE_PY=1
# json_check FILE PYTHON-EXPRESSION-ON-d: true when the expression holds
json_check() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" 2> /dev/null
}

"$TRM" eval --model "$R/model.safetensors" --data "$S/test.txt" $THREADS > "$T/eval.json" 2> "$T/err"
check "eval: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
for k in exact valid per_step per_group network_calls_per_puzzle; do
    check "eval: key $k" has "$T/eval.json" "\"$k\":"
done
check "eval: 18 network calls per puzzle for dis" grep -q -E '"network_calls_per_puzzle":[[:space:]]*18,' "$T/eval.json"
if [ $HAVE_PY -eq 1 ]; then
    check "eval: JSON contents" json_check "$T/eval.json" \
        'd["puzzles"] == 8 and len(d["per_step"]) == 6 and 0 <= d["exact"] <= 1 and 0 <= d["valid"] <= 1 and sum(g["puzzles"] for g in d["per_group"]) == 8 and d["network_calls_per_puzzle"] == 18'
fi

"$TRM" eval --model "$R/model.safetensors" --data "$S/test.txt" $THREADS --table --save "$T/saved.json" \
    > "$T/table.txt" 2> "$T/err"
check "eval --table --save: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "eval --table: per-step table" grep -q -E '^step +exact +valid' "$T/table.txt"
check "eval --save: the same JSON as stdout" has "$T/saved.json" '"network_calls_per_puzzle":'
check "eval --save: no temp file left" [ "$(ls "$T" | grep -c 'saved.json.tmp')" -eq 0 ]

"$TRM" solve --model "$R/model.safetensors" $THREADS < "$T/boards.txt" > "$T/solved.txt" 2> "$T/err"
check "solve: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "solve: $(lines "$T/solved.txt") lines for 3 boards" [ "$(lines "$T/solved.txt")" -eq 3 ]
check "solve: a line is not a 64-cell board" [ "$(grep -c -E '^[.Q?]{64}$' "$T/solved.txt")" -eq 3 ]
check "solve: summary on stderr" has "$T/err" "solve: 3 puzzles"
printf '%s\r\n' "$(head -n 1 "$T/boards.txt")" > "$T/crlf.txt"
"$TRM" solve --model "$R/model.safetensors" $THREADS < "$T/crlf.txt" > "$T/out" 2> /dev/null
check "solve: CRLF line: exit status" [ $? -eq 0 ]
check "solve: CRLF line: one answer" [ "$(lines "$T/out")" -eq 1 ]

"$TRM" trace --model "$R/model.safetensors" --data "$S/test.txt" --out "$T/T.safetensors" --limit 5 $THREADS \
    > "$T/trace.txt" 2> "$T/err"
check "trace: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "trace: file written" [ -s "$T/T.safetensors" ]
check "trace: per-step table printed" grep -q -E '^ *step +exact' "$T/trace.txt"
check "trace: 6 step rows" [ "$(awk '/^ *step +exact/ { s = 1; next } s && $1 ~ /^[0-9]+$/ { n++ } END { print n + 0 }' "$T/trace.txt")" -eq 6 ]
if [ $HAVE_PY -eq 1 ]; then
    check "trace: tensor shapes" python3 -c 'import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
ok = h["logits"]["shape"] == [6, 5, 64, 3] and h["preds"]["shape"] == [6, 5, 64] and h["inputs"]["shape"] == [5, 64]
sys.exit(0 if ok else 1)' "$T/T.safetensors"
fi

# Resume: 6 more optimizer steps (one DIS batch) from the saved state.
cp "$R/model.safetensors" "$T/model6.safetensors"
cp "$R/state.safetensors" "$T/state6.safetensors"
"$TRM" train --task nqueens --data "$S" --method dis --preset compact --steps 12 --batch 8 --out "$R" \
    --quiet $THREADS --resume > /dev/null 2> "$T/err"
check "train --resume: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "train --resume: continued to step 12" grep -q '"type":"train","step":12,' "$R/metrics.jsonl"
check "train --resume: did not restart at step 6" [ "$(grep -c '"type":"train","step":6,' "$R/metrics.jsonl")" -eq 1 ]
check "train --resume: model updated" differ "$R/model.safetensors" "$T/model6.safetensors"
check "train --resume: state updated" differ "$R/state.safetensors" "$T/state6.safetensors"
cp "$R/model.safetensors" "$T/model12.safetensors"
cp "$R/state.safetensors" "$T/state12.safetensors"
expect_fail "train --resume with another batch" "$R/state.safetensors|batch" \
    "$TRM" train --data "$S" --method dis --preset compact --steps 18 --batch 4 --out "$R" --quiet $THREADS --resume
expect_fail "train --resume with another method" "$R/state.safetensors|dis" \
    "$TRM" train --data "$S" --method trm --preset compact --steps 18 --batch 8 --out "$R" --quiet $THREADS --resume
expect_fail "train --resume with another --answer" "$R/state.safetensors|--answer stored|closest" \
    "$TRM" train --data "$S" --method dis --preset compact --steps 18 --batch 8 --answer closest --out "$R" --quiet $THREADS --resume
check "train: failed resumes changed the model" cmp -s "$R/model.safetensors" "$T/model12.safetensors"
check "train: failed resumes changed the state" cmp -s "$R/state.safetensors" "$T/state12.safetensors"
expect_fail "train --resume without a state" "$T/R0/state.safetensors|cannot open" \
    "$TRM" train --data "$S" --steps 6 --batch 8 --out "$T/R0" --quiet $THREADS --resume
check "train --resume without a state created the run directory" [ ! -e "$T/R0" ]

R2=$T/R2
"$TRM" train --task nqueens --data "$S" --method trm --preset compact --steps 2 --N-sup 2 --batch 8 --out "$R2" \
    --quiet $THREADS > /dev/null 2> "$T/err"
check "train trm: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "train trm: model written" [ -s "$R2/model.safetensors" ]
check "train trm: state written" [ -s "$R2/state.safetensors" ]
check "train trm: metrics" grep -q '"type":"train","step":2,' "$R2/metrics.jsonl"
"$TRM" eval --model "$R2/model.safetensors" --data "$S/test.txt" $THREADS > "$T/eval2.json" 2> "$T/err"
check "eval trm: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "eval trm: 2 x 3 x 7 = 42 calls per puzzle" grep -q -E '"network_calls_per_puzzle":[[:space:]]*42,' "$T/eval2.json"
"$TRM" info --model "$R2/model.safetensors" > "$T/info" 2> "$T/err"
check "info --model: exit status ($(head -c 300 "$T/err"))" [ -s "$T/info" ]
check "info --model: recursion" grep -q "T 3, n 6, N_sup 2 -> 42 network calls" "$T/info"

# The MLP mixer (TRM's mlp_t) and the closest-answer objective, trained and read back.
R3=$T/run-mlp
"$TRM" train --task nqueens --data "$S" --method dis --mixer mlp --answer closest --steps 6 --batch 8 --out "$R3" \
    --quiet $THREADS > /dev/null 2> "$T/err"
check "train --mixer mlp --answer closest: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
"$TRM" info --model "$R3/model.safetensors" > "$T/info" 2> "$T/err"
check "info --model: MLP mixer read back ($(head -c 300 "$T/info"))" grep -q "MLP-mixer" "$T/info"
"$TRM" eval --model "$R3/model.safetensors" --data "$S/test.txt" $THREADS > "$T/eval3.json" 2> "$T/err"
check "eval of an MLP-mixer model ($(head -c 300 "$T/err"))" grep -q '"network_calls_per_puzzle":[[:space:]]*18,' "$T/eval3.json"

# bf16 matrix products (--precision bf16) where the CPU has AVX512-BF16; refused elsewhere.
R4=$T/run-bf16
if grep -q avx512_bf16 /proc/cpuinfo; then
    "$TRM" train --task nqueens --data "$S" --method dis --precision bf16 --steps 6 --batch 8 --out "$R4" \
        --quiet $THREADS > /dev/null 2> "$T/err"
    check "train --precision bf16: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
    check "train --precision bf16: recorded in the model" grep -F -q -a 'precision\":\"bf16' "$R4/model.safetensors"
    "$TRM" eval --model "$R4/model.safetensors" --data "$S/test.txt" --precision bf16 $THREADS > "$T/eval4.json" 2> "$T/err"
    check "eval --precision bf16 ($(head -c 300 "$T/err"))" grep -q '"network_calls_per_puzzle":[[:space:]]*18,' "$T/eval4.json"
    "$TRM" bench --batch 2 --seq-len 8 --infer-batch 2 --repeats 1 --warmup 0 --precision bf16 --json $THREADS \
        > "$T/bench.json" 2> "$T/err"
    check "bench --precision bf16 --json ($(head -c 300 "$T/err"))" grep -q '"bf16_gemm_peak_gflops_per_s"' "$T/bench.json"
    check "bench --json: the precision" grep -q '"precision":[[:space:]]*"bf16"' "$T/bench.json"
else
    expect_fail "train --precision bf16 without AVX512-BF16" "--precision|AVX512-BF16" \
        "$TRM" train --data "$S" --precision bf16 --steps 1 --out "$R4"
fi
check "train fp32: precision recorded" grep -F -q -a 'precision\":\"fp32' "$R3/model.safetensors"
"$TRM" bench --batch 2 --seq-len 8 --infer-batch 2 --repeats 1 --warmup 0 --json $THREADS > "$T/bench.json" 2> "$T/err"
check "bench --json: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
for key in train_example_steps_per_s infer_puzzles_per_s model_gflops_per_s sgemm_peak_gflops_per_s \
           peak_fraction peak_rss_mb; do
    check "bench --json: $key" grep -q "\"$key\":[[:space:]]*[0-9]" "$T/bench.json"
done

# --------------------------------------------------------------------------- bad model files
M=$R/model.safetensors
B=$T/bad
mkdir "$B"
head -c 1000 "$M" > "$B/trunc.safetensors"
head -c $(( $(wc -c < "$M") - 1 )) "$M" > "$B/short.safetensors"
expect_fail "eval: truncated model" "$B/trunc.safetensors|header length" \
    "$TRM" eval --model "$B/trunc.safetensors" --data "$S/test.txt" $THREADS
expect_fail "eval: model missing its last byte" "$B/short.safetensors|past the data section" \
    "$TRM" eval --model "$B/short.safetensors" --data "$S/test.txt" $THREADS
IN=$T/boards.txt
expect_fail "solve: truncated model" "$B/trunc.safetensors" "$TRM" solve --model "$B/trunc.safetensors" $THREADS
expect_fail "eval: not safetensors" "$S/test.txt|header length" "$TRM" eval --model "$S/test.txt" --data "$S/test.txt"
IN=$T/boards.txt
expect_fail "solve: not safetensors" "$S/train.txt" "$TRM" solve --model "$S/train.txt"
expect_fail "eval: missing model" "$B/none.safetensors|cannot open" \
    "$TRM" eval --model "$B/none.safetensors" --data "$S/test.txt"
IN=$T/boards.txt
expect_fail "solve: missing model" "$B/none.safetensors|cannot open" "$TRM" solve --model "$B/none.safetensors"
expect_fail "eval: model is a directory" "$R|not a regular file" "$TRM" eval --model "$R" --data "$S/test.txt"
: > "$B/empty.safetensors"
expect_fail "eval: empty model file" "$B/empty.safetensors|empty" \
    "$TRM" eval --model "$B/empty.safetensors" --data "$S/test.txt"
expect_fail "eval: a state file as the model" "$R/state.safetensors|config" \
    "$TRM" eval --model "$R/state.safetensors" --data "$S/test.txt"
expect_fail "info: truncated model" "$B/trunc.safetensors" "$TRM" info --model "$B/trunc.safetensors"
expect_fail "eval: no --model" "--model" "$TRM" eval --data "$S/test.txt"

# A model for another task: rewrite the metadata of a good file.
if [ $HAVE_PY -eq 1 ]; then
    rewrite() {   # rewrite SRC DST task|seq_len
        python3 -c 'import json, struct, sys
src, dst, what = sys.argv[1:4]
b = open(src, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
meta = h["__metadata__"]
if what == "task":
    ts = json.loads(meta["train_state"]); ts["task"] = "nosuchtask"; meta["train_state"] = json.dumps(ts)
else:
    cfg = json.loads(meta["config"]); cfg["seq_len"] = 81; meta["config"] = json.dumps(cfg)
hs = json.dumps(h).encode()
hs += b" " * (-len(hs) % 8)
open(dst, "wb").write(struct.pack("<Q", len(hs)) + hs + b[8 + n:])' "$@"
    }
    rewrite "$M" "$B/task.safetensors" task
    rewrite "$M" "$B/seq.safetensors" seq_len
    expect_fail "eval: model of an unknown task" "$B/task.safetensors|task" \
        "$TRM" eval --model "$B/task.safetensors" --data "$S/test.txt"
    IN=$T/boards.txt
    expect_fail "solve: model of an unknown task" "$B/task.safetensors|task" "$TRM" solve --model "$B/task.safetensors"
    expect_fail "eval: model of another shape" "$B/seq.safetensors|seq_len 81|nqueens" \
        "$TRM" eval --model "$B/seq.safetensors" --data "$S/test.txt"
fi

# --------------------------------------------------------------------------- bad data files
good=$(head -n 1 "$S/test.txt")
board=${good%% *}
nine=QQQQQQQQQ$(printf '%s' "$board" | cut -c10-64 | tr Q .)
printf '%s\n%s\n%s\n' "$good" "$good" "${board}. ${board}" > "$B/len.txt"
printf '%s\n%s\n' "$good" "x${good#?}" > "$B/char.txt"
printf '%s\n%s\n%s\n%s\n' "$good" "$good" "$good" "$nine" > "$B/nine.txt"
printf '%s\n%s\n' "$good" "$board ${board}Q" > "$B/label.txt"
printf '%s\n\n%s\n' "$good" "$good" > "$B/blank.txt"
: > "$B/empty.txt"
expect_fail "eval: line of the wrong length" "$B/len.txt:3|65" "$TRM" eval --model "$M" --data "$B/len.txt"
expect_fail "eval: illegal character" "$B/char.txt:2|illegal character 'x'" "$TRM" eval --model "$M" --data "$B/char.txt"
expect_fail "eval: 9 queens" "$B/nine.txt:4|9 queens" "$TRM" eval --model "$M" --data "$B/nine.txt"
expect_fail "eval: malformed label" "$B/label.txt:2|label" "$TRM" eval --model "$M" --data "$B/label.txt"
expect_fail "eval: blank line inside" "$B/blank.txt:2|empty line" "$TRM" eval --model "$M" --data "$B/blank.txt"
expect_fail "eval: empty data file" "$B/empty.txt|no examples" "$TRM" eval --model "$M" --data "$B/empty.txt"
expect_fail "eval: missing data file" "$B/none.txt|cannot open" "$TRM" eval --model "$M" --data "$B/none.txt"
expect_fail "trace: malformed data" "$B/nine.txt:4" "$TRM" trace --model "$M" --data "$B/nine.txt" --out "$B/t.safetensors"
check "trace: malformed data left an output file" [ ! -e "$B/t.safetensors" ]
mkdir "$B/data"
cp "$B/char.txt" "$B/data/train.txt"
cp "$S/test.txt" "$B/data/test.txt"
expect_fail "train: malformed train.txt" "$B/data/train.txt:2" \
    "$TRM" train --data "$B/data" --steps 6 --batch 8 --out "$B/run" --quiet $THREADS
check "train: malformed data left a run directory" [ ! -e "$B/run" ]
expect_fail "train: missing data directory" "$B/nodata/train.txt|cannot open" \
    "$TRM" train --data "$B/nodata" --steps 6 --batch 8 --out "$B/run" --quiet
check "train: missing data left a run directory" [ ! -e "$B/run" ]
expect_fail "train: --out is a file" "$T/afile|directory" \
    "$TRM" train --data "$S" --steps 6 --batch 8 --out "$T/afile" --quiet $THREADS

# --------------------------------------------------------------------------- bad stdin for solve
: > "$B/none.in"
IN=$B/none.in
expect_fail "solve: empty stdin" "stdin|no puzzles" "$TRM" solve --model "$M"
printf '%s\n%s\n%s\n' "$board" "$board" "${board%?}" > "$B/bad.in"
IN=$B/bad.in
expect_fail "solve: malformed line 3" "stdin:3|63" "$TRM" solve --model "$M"
printf '%s\n%s\n' "$board" "$nine" > "$B/nine.in"
IN=$B/nine.in
expect_fail "solve: 9 queens" "stdin:2|9 queens" "$TRM" solve --model "$M"
printf '%s\n%s\n' "$board" "$(printf '%s' "$board" | tr . '\001')" > "$B/ctl.in"
IN=$B/ctl.in
expect_fail "solve: control byte" "stdin:2|0x01" "$TRM" solve --model "$M"

# --------------------------------------------------------------------------- bad arguments
LOOSE=1
expect_fail "unknown command" "frobnicate" "$TRM" frobnicate
expect_fail "unknown option" "--bogus" "$TRM" eval --model "$M" --data "$S/test.txt" --bogus 1
expect_fail "non-numeric --batch" "--batch|abc" "$TRM" eval --model "$M" --data "$S/test.txt" --batch abc
expect_fail "--batch 0" "--batch|range" "$TRM" eval --model "$M" --data "$S/test.txt" --batch 0
expect_fail "train --batch 0" "--batch|range" "$TRM" train --data "$S" --steps 1 --batch 0 --out "$B/run"
expect_fail "train --batch 12x" "--batch|12x" "$TRM" train --data "$S" --steps 1 --batch 12x --out "$B/run"
expect_fail "train --steps -1" "--steps" "$TRM" train --data "$S" --steps -1 --out "$B/run"
expect_fail "train: no budget" "--steps" "$TRM" train --data "$S" --out "$B/run"
expect_fail "train: unknown method" "--method|xyz" "$TRM" train --data "$S" --method xyz --steps 1 --out "$B/run"
expect_fail "train: unknown preset" "preset|huge" "$TRM" train --data "$S" --preset huge --steps 1 --out "$B/run"
expect_fail "train: unknown mixer" "--mixer|conv" "$TRM" train --data "$S" --mixer conv --steps 1 --out "$B/run"
expect_fail "train: unknown answer" "--answer|best" "$TRM" train --data "$S" --answer best --steps 1 --out "$B/run"
expect_fail "train: unknown precision" "--precision|fp8" "$TRM" train --data "$S" --precision fp8 --steps 1 --out "$B/run"
expect_fail "eval: unknown precision" "--precision|fp16" "$TRM" eval --model "$M" --data "$S/test.txt" --precision fp16
expect_fail "bench: unknown precision" "--precision|tf32" "$TRM" bench --precision tf32
expect_fail "train: unknown task" "tetris" "$TRM" train --task tetris --steps 1 --out "$B/run"
check "train: argument errors left a run directory" [ ! -e "$B/run" ]
expect_fail "option without a value" "--model" "$TRM" eval --data "$S/test.txt" --model
expect_fail "positional argument" "stray" "$TRM" eval --model "$M" stray
expect_fail "info without a model or task" "--model" "$TRM" info
"$TRM" eval --help > "$T/out" 2>&1
check "eval --help: exit status 0" [ $? -eq 0 ]
check "eval --help: lists --model" has "$T/out" "--model"

# --------------------------------------------------------------------------- unwritable outputs
expect_fail "trace to a missing directory" "$B/nodir/T.safetensors" \
    "$TRM" trace --model "$M" --data "$S/test.txt" --out "$B/nodir/T.safetensors" --limit 2 $THREADS
check "trace to a missing directory created it" [ ! -e "$B/nodir" ]
# checked before the data are read and the evaluation runs (which can take minutes)
expect_fail "trace to a missing directory, before reading the data" "$B/nodir/T.safetensors" \
    "$TRM" trace --model "$M" --data "$B/nine.txt" --out "$B/nodir/T.safetensors" $THREADS
expect_fail "eval --save to a missing directory, before reading the data" "$B/nodir/e.json" \
    "$TRM" eval --model "$M" --data "$B/nine.txt" --save "$B/nodir/e.json" $THREADS
expect_fail "trace under a file" "$T/afile/T.safetensors" \
    "$TRM" trace --model "$M" --data "$S/test.txt" --out "$T/afile/T.safetensors" --limit 2 $THREADS
mkdir "$B/ro"
mkdir "$B/ro/T.safetensors"   # the target is a directory: the rename must fail
expect_fail "trace over a directory" "$B/ro/T.safetensors" \
    "$TRM" trace --model "$M" --data "$S/test.txt" --out "$B/ro/T.safetensors" --limit 2 $THREADS
check "trace over a directory left files: $(ls "$B/ro" | tr '\n' ' ')" [ "$(ls "$B/ro")" = "T.safetensors" ]
check "trace over a directory replaced it" [ -d "$B/ro/T.safetensors" ]

# --------------------------------------------------------------------------- validation, selection, version
V=$T/V
mkdir "$V"
cp "$S/train.txt" "$S/test.txt" "$V/"
head -n 6 "$D/valid.txt" > "$V/valid.txt"
RV=$T/RV
# token accuracy is above 0.5 from the start (most cells are empty): --until must stop at
# the first evaluation, long before the 600-step budget.
"$TRM" train --task nqueens --data "$V" --method dis --preset compact --steps 600 --batch 8 --eval-every 6 \
    --until token_accuracy=0.5 --keep best --out "$RV" --quiet $THREADS > "$T/sel.json" 2> "$T/err"
check "until: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "until: stopped at the first evaluation" grep -q '"type":"train","step":6,' "$RV/metrics.jsonl"
check "until: no step past the first evaluation" [ "$(grep -c '"type":"train"' "$RV/metrics.jsonl")" -eq 1 ]
check "until: model_best written" [ -s "$RV/model_best.safetensors" ]
check "until: evaluations during training on the validation split only" \
    [ "$(grep '"type":"eval"' "$RV/metrics.jsonl" | grep -vc '"split":"valid"')" -eq 1 ]
check "until: one test evaluation, the last record" sh -c "tail -n 1 '$RV/metrics.jsonl' | grep -q '\"split\":\"test\"'"
check "until: the test puzzles are the test split (8)" sh -c "tail -n 1 '$RV/metrics.jsonl' | grep -q '\"puzzles\":8,'"
check "until: the run record names the commit" sh -c "head -n 1 '$RV/metrics.jsonl' | grep -q '\"type\":\"run\".*\"commit\"'"
check "until: the model file names the version" grep -a -q '\\"version\\":\\"' "$RV/model.safetensors"
if [ $HAVE_PY -eq 1 ]; then
    check "until: the report says why it stopped and what was tested" json_check "$T/sel.json" \
        'd["stopped_by"] == "until" and d["selected_on"] == "validation" and d["checkpoint_step"] == 6 and d["puzzles"] == 8'
fi
# --keep best with a run that goes on: the tested checkpoint is the best on validation
"$TRM" train --task nqueens --data "$V" --method dis --preset compact --steps 18 --batch 8 --eval-every 6 \
    --keep best --out "$T/RB" --quiet $THREADS > "$T/best.json" 2> "$T/err"
check "keep best: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
if [ $HAVE_PY -eq 1 ]; then
    python3 -c 'import json, sys
evals = [json.loads(l) for l in open(sys.argv[1]) if "\"type\":\"eval\"" in l]
valid = [e for e in evals if e["split"] == "valid"]
best = max(valid, key=lambda e: (e["valid"], -e["step"]))   # ties keep the earlier step
d = json.load(open(sys.argv[2]))
ok = d["best_validation_step"] == best["step"] and abs(d["best_validation_metric"] - best["valid"]) < 1e-12
ok = ok and d["checkpoint_step"] in (best["step"], 18) and [e["split"] for e in evals].count("test") == 1
sys.exit(0 if ok else 1)' "$T/RB/metrics.jsonl" "$T/best.json" 2> "$T/err"
    check "keep best: the best validation step is the one tested ($(head -c 200 "$T/err"))" [ $? -eq 0 ]
fi
expect_fail "keep best without a validation split" "validation" \
    "$TRM" train --task nqueens --data "$S" --steps 6 --batch 8 --keep best --out "$T/RX" $THREADS
check "keep best without validation: no run directory" [ ! -e "$T/RX" ]
expect_fail "until: no value" "--until" "$TRM" train --task nqueens --data "$V" --steps 6 --until valid --out "$T/RX" $THREADS
expect_fail "until: out of range" "--until" "$TRM" train --task nqueens --data "$V" --steps 6 --until valid=2 --out "$T/RX" $THREADS
expect_fail "until: unknown metric" "speed" "$TRM" train --task nqueens --data "$V" --steps 6 --until speed=0.5 --out "$T/RX" $THREADS
expect_fail "keep: unknown value" "--keep" "$TRM" train --task nqueens --data "$V" --steps 6 --keep first --out "$T/RX" $THREADS
"$TRM" --version > "$T/ver" 2>&1
check "--version: exit status" [ $? -eq 0 ]
check "--version: version and commit" grep -q '^trm [0-9][0-9.]* (commit ' "$T/ver"
# A binary built for instructions the CPU lacks refuses to start (cpu_check.c); the test
# pretends the CPU lacks one the build uses (every x86-64 build of ours has at least the
# baseline, so use whichever of avx512f / avx2 the build demands).
isa=$(grep -o 'march=[a-z0-9-]*' "$T/ver" | head -n 1)
if grep -q -m 1 'avx512f' /proc/cpuinfo && [ "$isa" = "march=native" ]; then lack=avx512f; else lack=avx2; fi
if [ "$isa" = "march=native" ] || [ "$isa" = "march=x86-64-v3" ] || [ "$isa" = "march=x86-64-v4" ]; then
    TRM_TEST_CPU_LACKS=$lack expect_fail "cpu check: built for $lack" "built|$lack|lacks|run make" "$TRM" --version
else
    echo "SKIP: cpu check test (build without -march: $isa)"
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
