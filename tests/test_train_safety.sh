#!/bin/sh
# test_train_safety.sh: trm train when things go wrong: a NaN gradient stops the run
# (naming the step and the tensor, nothing saved) or, with --skip-nonfinite, is skipped
# and counted; SIGTERM saves model and state at a step boundary and exits 143, and
# --resume continues; a second run in the same folder is refused (OUT/.lock).
# TRM_TEST_POISON_STEP=K is a test hook of trm train: one NaN gradient at step K.
TRM=${TRM:-build/trm}
case $TRM in /*) ;; *) TRM=$(pwd)/$TRM ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/trm_safety.XXXXXX") || { echo "train_safety: 0 passed, 1 failed"; exit 1; }
BG=
trap '[ -n "$BG" ] && kill "$BG" 2> /dev/null; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export OMP_WAIT_POLICY
THREADS="--threads 2"
pass=0
fail=0
. "$(dirname "$0")/harness.sh"

"$TRM" data nqueens --split paper --seed 1 --out "$T/D" > /dev/null 2>&1
S=$T/S
mkdir "$S"
head -n 64 "$T/D/train.txt" > "$S/train.txt"
head -n 8 "$T/D/test.txt" > "$S/test.txt"
run() { "$TRM" train --task nqueens --data "$S" --method dis --preset compact --batch 8 --quiet $THREADS "$@"; }

# ------------------------------------------------------------------ divergence guard
# A NaN gradient at step 3 (the first DIS batch): the run stops before applying it and
# writes no checkpoint; the first dense tensor is embed_tokens.embedding_weight.
R=$T/nan
TRM_TEST_POISON_STEP=3 expect_fail "train: a NaN gradient" \
    "step 3|non-finite gradient in 'embed_tokens.embedding_weight'|--skip-nonfinite" run --steps 12 --out "$R"
check "train: a NaN gradient: no model written" [ ! -e "$R/model.safetensors" ]
check "train: a NaN gradient: no state written" [ ! -e "$R/state.safetensors" ]
check "train: a NaN gradient: a diverged record" grep -q '"type":"diverged","step":2,' "$R/metrics.jsonl"

# With an earlier checkpoint (step 6) the divergence at step 9 leaves it as it was.
R=$T/keep
run --steps 6 --out "$R" > /dev/null 2>&1
cp "$R/model.safetensors" "$T/model6"
TRM_TEST_POISON_STEP=9 expect_fail "train --resume: a NaN gradient" "step 9|non-finite gradient" \
    run --steps 12 --out "$R" --resume
check "train --resume: a NaN gradient: the last good model kept" cmp -s "$R/model.safetensors" "$T/model6"

# --skip-nonfinite 1: the bad step is not applied, the run goes on, and the count is in
# the train records and on stderr.
R=$T/skip
TRM_TEST_POISON_STEP=3 run --steps 12 --log-every 1 --skip-nonfinite 1 --out "$R" > /dev/null 2> "$T/err"
check "train --skip-nonfinite 1: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "train --skip-nonfinite 1: stderr ($(head -c 300 "$T/err"))" \
    has "$T/err" "train: step 3: non-finite gradient in 'embed_tokens.embedding_weight'; step skipped (1 of --skip-nonfinite 1)"
check "train --skip-nonfinite 1: counted in metrics.jsonl" grep -q '"skipped_nonfinite":1[,}]' "$R/metrics.jsonl"
last=$(sed -n 's/^{"type":"train","step":\([0-9]*\),.*/\1/p' "$R/metrics.jsonl" | tail -n 1)
check "train --skip-nonfinite 1: trained on to step ${last:-none}" [ "${last:-0}" -ge 12 ]
check "train --skip-nonfinite 1: model written" [ -s "$R/model.safetensors" ]
check "train: no NaN, nothing skipped" grep -q '"skipped_nonfinite":0[,}]' "$T/keep/metrics.jsonl"

# ------------------------------------------------------------------ SIGTERM and the lock
R=$T/sig
# trm itself in the background (not the shell function), so that kill reaches it.
"$TRM" train --task nqueens --data "$S" --method dis --preset compact --batch 8 --quiet $THREADS \
    --steps 1000000 --log-every 1 --out "$R" > /dev/null 2> "$T/sigerr" &
BG=$!
i=0   # the handler is in place once train_run wrote its first record
while [ $i -lt 600 ] && ! grep -q '"type":"train"' "$R/metrics.jsonl" 2> /dev/null; do sleep 0.1; i=$((i + 1)); done
check "train in the background: started" grep -q '"type":"train"' "$R/metrics.jsonl"
expect_fail "train: a second run in the same folder" "$R|another trm train|.lock" run --steps 6 --out "$R"
kill -TERM "$BG"
wait "$BG"
rc=$?
BG=
check "train SIGTERM: exit status $rc, expected 143 ($(head -c 300 "$T/sigerr"))" [ "$rc" -eq 143 ]
step=$(sed -n 's/^train: stopped by SIGTERM at step \([0-9]*\): .*state.safetensors saved; --resume continues$/\1/p' "$T/sigerr")
check "train SIGTERM: message ($(head -c 300 "$T/sigerr"))" [ -n "$step" ]
check "train SIGTERM: at a DIS batch boundary (step $step)" [ "$((${step:-1} % 6))" -eq 0 ]
check "train SIGTERM: state written" [ -s "$R/state.safetensors" ]
check "train SIGTERM: model written" [ -s "$R/model.safetensors" ]
run --steps $((${step:-0} + 6)) --log-every 1 --out "$R" --resume > /dev/null 2> "$T/err"
check "train SIGTERM then --resume: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "train SIGTERM then --resume: continued to step $((${step:-0} + 6))" \
    grep -q "\"type\":\"train\",\"step\":$((${step:-0} + 6))," "$R/metrics.jsonl"
# The lock file stays behind; without a process holding it, it does not block.
check "train: the lock file left behind" [ -e "$R/.lock" ]
run --steps $((${step:-0} + 12)) --out "$R" --resume > /dev/null 2> "$T/err"
check "train: a stale lock file does not block ($(head -c 300 "$T/err"))" [ $? -eq 0 ]

echo "train_safety: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
