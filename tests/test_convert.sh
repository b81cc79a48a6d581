#!/bin/sh
# test_convert.sh: PyTorch checkpoints from the command line: `trm convert`, `--model CKPT`
# in eval, solve and info (the task inferred from the shape), tools/to_torch.py and back,
# and bad inputs: each one "trm: error:" line naming the file, a non-zero exit, no output
# file left behind. The checkpoints are the fixtures of tests/reference/torch_ckpt.py.
# Run from the project root with TRM=path/to/trm (default build/trm).
TRM=${TRM:-build/trm}
case $TRM in /*) ;; *) TRM=$(pwd)/$TRM ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/trm_convert.XXXXXX") || { echo "convert: 0 passed, 1 failed"; exit 1; }
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export OMP_WAIT_POLICY
pass=0
fail=0
. "$(dirname "$0")/harness.sh"
F=tests/fixtures/torch_att
CK=$F/step_f32
# eval JSON without what differs between runs and files
eval_core() { grep -v -E '"(seconds|puzzles_per_s|model)"' "$1"; }

# --------------------------------------------------------------------------- convert
"$TRM" convert "$CK" --out "$T/a.safetensors" > "$T/out" 2> "$T/err"
check "convert: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "convert: file written" [ -s "$T/a.safetensors" ]
check "convert: task inferred ($(cat "$T/out"))" has "$T/out" "task nqueens"
check "convert: train_state names the task" grep -a -q 'task\\":\\"nqueens' "$T/a.safetensors"
check "convert: puzzle names kept" grep -a -q 'puzzle2' "$T/a.safetensors"
check "convert: no temp file left" [ "$(ls "$T" | grep -c tmp)" -eq 0 ]
"$TRM" info --model "$CK" > "$T/info1" 2> "$T/err"
check "info --model CKPT: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "info --model CKPT: shape" has "$T/info1" "L 64 + prefix 4"
"$TRM" info --model "$T/a.safetensors" > "$T/info2" 2> /dev/null
check "info: the converted model has the same config" \
    [ "$(grep '^config:' "$T/info1")" = "$(grep '^config:' "$T/info2")" ]

# --------------------------------------------------------------------------- run it
"$TRM" data nqueens --split paper --seed 1 --no-augment --out "$T/D" > /dev/null 2>&1
head -n 16 "$T/D/test.txt" > "$T/s.txt"
"$TRM" eval --model "$CK" --data "$T/s.txt" --threads 1 > "$T/e1.json" 2> "$T/err"
check "eval --model CKPT: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "eval --model CKPT: 12 calls per puzzle" grep -q '"network_calls_per_puzzle":[[:space:]]*12,' "$T/e1.json"
"$TRM" eval --model "$T/a.safetensors" --data "$T/s.txt" --threads 1 > "$T/e2.json" 2> /dev/null
eval_core "$T/e1.json" > "$T/c1"
eval_core "$T/e2.json" > "$T/c2"
check "eval: the checkpoint and its conversion agree" cmp -s "$T/c1" "$T/c2"
"$TRM" eval --model "$F/step_bf16" --data "$T/s.txt" --threads 1 > "$T/e3.json" 2> "$T/err"
check "eval --model BF16 CKPT ($(head -c 300 "$T/err"))" [ -s "$T/e3.json" ]
cut -c 1-64 "$T/s.txt" > "$T/boards.txt"
"$TRM" solve --model "$CK" --threads 1 < "$T/boards.txt" > "$T/solved.txt" 2> "$T/err"
check "solve --model CKPT ($(head -c 300 "$T/err"))" [ "$(lines "$T/solved.txt")" -eq 16 ]

# an explicit --config: the checkpoint alone in a folder
mkdir "$T/alone"
cp "$CK" "$T/alone/step_9"
expect_fail "eval: a checkpoint without its all_config.yaml" "$T/alone/step_9|all_config.yaml is missing|--config" \
    "$TRM" eval --model "$T/alone/step_9" --data "$T/s.txt"
"$TRM" convert "$T/alone/step_9" --config "$F/all_config.yaml" --out "$T/alone.safetensors" > /dev/null 2> "$T/err"
check "convert --config ($(head -c 300 "$T/err"))" [ -s "$T/alone.safetensors" ]

# the DIS MLP-mixer fixture fits no task: convert asks for one
expect_fail "convert: no task fits" "torch_mlp/step_f32|no task fits|--task" \
    "$TRM" convert tests/fixtures/torch_mlp/step_f32 --out "$T/m.safetensors"
check "convert: nothing written when no task fits" [ ! -e "$T/m.safetensors" ]
expect_fail "convert: a task that does not fit" "torch_mlp/step_f32|does not fit task arc" \
    "$TRM" convert tests/fixtures/torch_mlp/step_f32 --task arc --out "$T/m.safetensors"
expect_fail "convert: unknown task" "--task|nosuchtask" "$TRM" convert "$CK" --task nosuchtask --out "$T/m.safetensors"

# --------------------------------------------------------------------------- bad input
expect_fail "convert: no --out" "--out" "$TRM" convert "$CK"
expect_fail "convert: no checkpoint" "no checkpoint" "$TRM" convert --out "$T/m.safetensors"
expect_fail "convert: missing file" "$T/nope" "$TRM" convert "$T/nope" --out "$T/m.safetensors"
expect_fail "convert: --config with a safetensors file" "$T/a.safetensors|torch checkpoints only" \
    "$TRM" convert "$T/a.safetensors" --config "$F/all_config.yaml" --out "$T/m.safetensors"
mkdir "$T/bad"
cp "$F/all_config.yaml" "$T/bad/"
cp -r "$F/puzzles" "$T/bad/"
head -c 20000 "$CK" > "$T/bad/trunc"
cp "$T/a.safetensors" "$T/keep.safetensors"
expect_fail "convert: a truncated checkpoint" "$T/bad/trunc|zip" \
    "$TRM" convert "$T/bad/trunc" --out "$T/a.safetensors"
check "convert: a failure leaves the old output as it was" cmp -s "$T/a.safetensors" "$T/keep.safetensors"
expect_fail "eval: a truncated checkpoint" "$T/bad/trunc" "$TRM" eval --model "$T/bad/trunc" --data "$T/s.txt"
expect_fail "info: a truncated checkpoint" "$T/bad/trunc" "$TRM" info --model "$T/bad/trunc"
head -c 8 "$CK" > "$T/bad/tiny"
expect_fail "eval: an 8-byte checkpoint" "$T/bad/tiny" "$TRM" eval --model "$T/bad/tiny" --data "$T/s.txt"

# configs that do not fit or are not supported
bad_config() {   # bad_config DESCRIPTION 'KWS' SED-EXPRESSION
    mkdir -p "$T/cfg"
    cp "$CK" "$T/cfg/ck"
    cp -r "$F/puzzles" "$T/cfg/"
    sed "$3" "$F/all_config.yaml" > "$T/cfg/all_config.yaml"
    expect_fail "$1" "$T/cfg/ck|$2" "$TRM" convert "$T/cfg/ck" --out "$T/cfg/out.safetensors"
    check "$1: nothing written" [ ! -e "$T/cfg/out.safetensors" ]
}
bad_config "shapes that do not fit the config" "the config needs [|(config: $T/cfg/all_config.yaml)" \
    's/hidden_size: 16/hidden_size: 32/; s/puzzle_emb_ndim: 16/puzzle_emb_ndim: 32/'
bad_config "L_layers that do not fit" "missing tensor 'L_level.layers.1." 's/L_layers: 1/L_layers: 2/'
bad_config "learned positions" "pos_encodings 'learned'|rope and none" 's/pos_encodings: rope/pos_encodings: learned/'
bad_config "an HRM config" "is HRM" 's/recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1/recursive_reasoning.hrm@HierarchicalReasoningModel_ACTV1/'
bad_config "a yaml with a tab" "all_config.yaml:3: tab" '3s/^  /\t/'
bad_config "a missing field" "no arch.num_heads" '/num_heads/d'
mkdir -p "$T/cfg/data2/train"
printf '{"seq_len": 64, "vocab_size": 12}' > "$T/cfg/data2/train/dataset.json"
sed 's/^- puzzles$/- data2/' "$F/all_config.yaml" > "$T/cfg/all_config.yaml"
expect_fail "a data folder of another vocabulary" "$T/cfg/ck|dataset.json: vocab_size 12" \
    "$TRM" convert "$T/cfg/ck" --out "$T/cfg/out.safetensors"

# archives rebuilt with Python's zipfile (no torch needed): a compressed entry, a foreign global
if command -v python3 > /dev/null 2>&1 && python3 -c 'import zipfile, zlib' 2> /dev/null; then
    rebuild() {   # rebuild SRC DST compressed|global
        python3 -c 'import sys, zipfile
src, dst, what = sys.argv[1:]
zin = zipfile.ZipFile(src)
with zipfile.ZipFile(dst, "w") as zout:
    for info in zin.infolist():
        data = zin.read(info.filename)
        method = zipfile.ZIP_STORED
        if what == "compressed" and info.filename.endswith("/data/0"):
            method = zipfile.ZIP_DEFLATED
        if what == "global" and info.filename.endswith("data.pkl"):
            data = data.replace(b"collections\nOrderedDict\n", b"os\nsystem\n", 1)
        zout.writestr(info.filename, data, compress_type=method)' "$@"
    }
    rebuild "$CK" "$T/bad/compressed" compressed
    expect_fail "eval: a compressed entry" "$T/bad/compressed|compressed|STORED" \
        "$TRM" eval --model "$T/bad/compressed" --data "$T/s.txt"
    rebuild "$CK" "$T/bad/global" global
    expect_fail "eval: a foreign pickle global" "$T/bad/global|global 'os.system' is not allowed" \
        "$TRM" eval --model "$T/bad/global" --data "$T/s.txt"
    expect_fail "convert: a foreign pickle global" "$T/bad/global|os.system" \
        "$TRM" convert "$T/bad/global" --out "$T/bad/out.safetensors"
    check "convert: nothing written for a foreign global" [ ! -e "$T/bad/out.safetensors" ]
else
    echo "SKIP: convert rebuilt archives (no python3)"
fi

# --------------------------------------------------------------------------- tools/to_torch.py
if /usr/bin/python3 -c 'import torch' 2> /dev/null; then
    /usr/bin/python3 tools/to_torch.py "$T/a.safetensors" --out "$T/tt" > /dev/null 2> "$T/err"
    check "to_torch: exit status ($(head -c 300 "$T/err"))" test -s "$T/tt/step_0" -a -s "$T/tt/all_config.yaml"
    check "to_torch: the official names and prefix, the fixture's values" /usr/bin/python3 -c 'import sys, torch
a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2])
ok = sorted(a) == sorted(b) and all(torch.equal(a[k], b[k]) and a[k].dtype == b[k].dtype for k in a)
sys.exit(0 if ok else 1)' "$T/tt/step_0" "$CK"
    "$TRM" convert "$T/tt/step_0" --out "$T/b.safetensors" > /dev/null 2> "$T/err"
    check "to_torch, then convert ($(head -c 300 "$T/err"))" [ -s "$T/b.safetensors" ]
    "$TRM" eval --model "$T/b.safetensors" --data "$T/s.txt" --threads 1 > "$T/e4.json" 2> /dev/null
    eval_core "$T/e4.json" > "$T/c4"
    check "to_torch and back: the same results" cmp -s "$T/c1" "$T/c4"
else
    echo "SKIP: convert tools/to_torch.py (no torch for /usr/bin/python3)"
fi

echo "convert: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
