#!/bin/sh
# test_full_disk.sh: trm train with its run folder on a small tmpfs that fills up (a real
# ENOSPC). The write that fails is named in a one-line error with "No space left on
# device", the exit status is non-zero, the previous checkpoint stays whole and loads, no
# temp file is left, and a copy of the folder on a roomy disk resumes to the very model of
# an uninterrupted run. Four places: the model file, the state file, metrics.jsonl cut
# back by --resume, and an append to metrics.jsonl.
# The tmpfs lives in a private mount namespace (unshare -m as root, unshare -rm for other
# users), so it goes with the test; where no tmpfs can be mounted the test says SKIP.
if [ -z "$TRM_FULL_DISK_NS" ] && command -v unshare > /dev/null 2>&1; then
    for u in "unshare -m" "unshare -rm"; do
        if $u true 2> /dev/null; then exec env TRM_FULL_DISK_NS=1 $u sh "$0" "$@"; fi
    done
fi
TRM=${TRM:-build/trm}
case $TRM in /*) ;; *) TRM=$(pwd)/$TRM ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/trm_full.XXXXXX") || { echo "full_disk: 0 passed, 1 failed"; exit 1; }
MOUNTS=
trap 'for m in $MOUNTS; do umount "$m"; done; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export OMP_WAIT_POLICY
pass=0
fail=0
. "$(dirname "$0")/harness.sh"

mkdir "$T/probe"
if ! mount -t tmpfs -o size=64k tmpfs "$T/probe" 2> "$T/err"; then
    echo "SKIP: full disk (cannot mount a tmpfs here: $(head -c 200 "$T/err"))"
    echo "full_disk: 0 passed, 0 failed"
    exit 0
fi
umount "$T/probe"

"$TRM" data nqueens --split paper --seed 1 --out "$T/D" > /dev/null 2>&1
S=$T/S
mkdir "$S"
head -n 64 "$T/D/train.txt" > "$S/train.txt"
head -n 8 "$T/D/test.txt" > "$S/test.txt"
head -n 8 "$T/D/valid.txt" > "$S/valid.txt"
train() { "$TRM" train --task nqueens --data "$S" --method dis --preset compact --batch 8 --seed 3 --log-every 4 \
    --eval-every 6 --quiet --threads 1 "$@"; }
series() { grep -v '"type":"run"' "$1" | sed -E 's/"(elapsed_s|examples_per_s|seconds|puzzles_per_s)":[-+0-9.eE]+,?//g'; }
loads() { "$TRM" info --model "$1" > /dev/null 2>&1; }
state_loads() { "$TRM" info --model "$1" 2>&1 | grep -q 'no "config" in the safetensors metadata'; }
no_temp() { ! ls -A "$1" | grep -q '\.tmp\.'; }

# Uninterrupted runs on the roomy disk: to step 6 (the first checkpoint) and to step 18.
train --steps 6 --out "$T/ref6" > /dev/null 2> "$T/err"
check "full disk: the 6-step run ($(head -c 300 "$T/err"))" [ -s "$T/ref6/state.safetensors" ]
train --steps 18 --out "$T/ref18" > /dev/null 2> "$T/err"
check "full disk: the 18-step run ($(head -c 300 "$T/err"))" [ -s "$T/ref18/model.safetensors" ]
pages() { echo $((($(wc -c < "$1") + 4095) / 4096)); }
M=$(pages "$T/ref6/model.safetensors")
ST=$(pages "$T/ref6/state.safetensors")

fs() {   # fs NAME PAGES: a tmpfs of that many 4 KiB pages at $T/NAME
    mkdir "$T/$1"
    mount -t tmpfs -o size=$(($2 * 4))k tmpfs "$T/$1" && MOUNTS="$T/$1 $MOUNTS"
}

# 1. Room for one checkpoint and the metrics: the second model file does not fit.
fs a $((M + ST + 64))
R=$T/a/run
expect_fail "full disk: the model file" "$R/model.safetensors|No space left on device" train --steps 18 --out "$R"
check "full disk: the model file: the checkpoint of step 6 kept" cmp -s "$R/model.safetensors" "$T/ref6/model.safetensors"
check "full disk: the model file: the state loads" state_loads "$R/state.safetensors"
check "full disk: the model file: no temp file left" no_temp "$R"
cp -r "$R" "$T/a-moved"
train --steps 18 --out "$T/a-moved" --resume > /dev/null 2> "$T/err"
check "full disk: moved to a roomy disk, --resume ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "full disk: --resume: the model of the uninterrupted run" cmp -s "$T/a-moved/model.safetensors" "$T/ref18/model.safetensors"
series "$T/ref18/metrics.jsonl" > "$T/m.ref"
series "$T/a-moved/metrics.jsonl" > "$T/m.got"
check "full disk: --resume: metrics.jsonl as uninterrupted" cmp -s "$T/m.ref" "$T/m.got"

# 2. Room for two model files and one state: the second state file does not fit; the new
# model (step 12) and the old state (step 6) both load, and --resume would replay from 6.
fs b $((2 * M + ST + 64))
R=$T/b/run
expect_fail "full disk: the state file" "$R/state.safetensors|No space left on device" train --steps 18 --out "$R"
check "full disk: the state file: the model loads" loads "$R/model.safetensors"
check "full disk: the state file: the state of step 6 loads" state_loads "$R/state.safetensors"
check "full disk: the state file: no temp file left" no_temp "$R"

# 3. A full disk under a stopped run: --resume must cut metrics.jsonl back (the final test
# record of step 6 goes) and cannot; nothing changes.
fs c $((M + ST + 64))
R=$T/c/run
cp -r "$T/ref6" "$R"
dd if=/dev/zero of="$T/c/fill" bs=4k 2> /dev/null
cp "$R/metrics.jsonl" "$T/c-metrics"
expect_fail "full disk: --resume" "$R/metrics.jsonl|cannot write|No space left on device" train --steps 18 --out "$R" --resume
check "full disk: --resume: model kept" cmp -s "$R/model.safetensors" "$T/ref6/model.safetensors"
check "full disk: --resume: state kept" cmp -s "$R/state.safetensors" "$T/ref6/state.safetensors"
check "full disk: --resume: metrics.jsonl kept" cmp -s "$R/metrics.jsonl" "$T/c-metrics"
check "full disk: --resume: no temp file left" no_temp "$R"

# 4. A fresh run on a full disk: its first metrics.jsonl record cannot be appended; it
# stops before writing any checkpoint.
fs d 64
R=$T/d/run
mkdir "$R"
dd if=/dev/zero of="$T/d/fill" bs=4k 2> /dev/null
expect_fail "full disk: metrics.jsonl" "$R/metrics.jsonl|cannot append|No space left on device" train --steps 18 --out "$R"
check "full disk: metrics.jsonl: no model written" [ ! -e "$R/model.safetensors" ]
check "full disk: metrics.jsonl: no temp file left" no_temp "$R"
check "full disk: metrics.jsonl: no half record" [ ! -s "$R/metrics.jsonl" ]

echo "full_disk: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
