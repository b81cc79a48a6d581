#!/bin/sh
# test_kill9.sh: trm train killed with SIGKILL at random moments, some in the middle of a
# checkpoint write, and --resume'd each time until it finishes. After every kill each
# checkpoint file on disk loads whole; at the end model.safetensors and model_best are
# bit for bit those of an uninterrupted run with the same seed, and so is metrics.jsonl
# but for its timings and one "run" record per start. DIS (with EMA and --keep best) and
# a small TRM (whose carry and halting state cross the kills).
# TRM_TEST_WRITE_PAUSE_MS=N, a test hook of the safetensors writer, holds every file
# halfway for N ms, so that a kill can land mid-write. KILL9_SEED=S replays the delays.
TRM=${TRM:-build/trm}
case $TRM in /*) ;; *) TRM=$(pwd)/$TRM ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/trm_kill9.XXXXXX") || { echo "kill9: 0 passed, 1 failed"; exit 1; }
BG=
trap '[ -n "$BG" ] && kill -KILL "$BG" 2> /dev/null; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export OMP_WAIT_POLICY
pass=0
fail=0
. "$(dirname "$0")/harness.sh"
SEED=${KILL9_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
echo "kill9: KILL9_SEED=$SEED"
draws=0
# rnd MS LO HI: a delay in seconds, a random fraction in [LO, HI] of MS milliseconds (the
# uninterrupted run's time, so that the kills spread over a run on a slow or busy machine too)
rnd() {
    draws=$((draws + 1))
    awk -v s="$SEED" -v i="$draws" -v ms="$1" -v lo="$2" -v hi="$3" \
        'BEGIN { srand(s * 1000 + i); printf "%.2f", ms / 1000 * (lo + rand() * (hi - lo)) }'
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

"$TRM" data nqueens --split paper --seed 1 --out "$T/D" > /dev/null 2>&1
S=$T/S
mkdir "$S"
head -n 64 "$T/D/train.txt" > "$S/train.txt"
head -n 8 "$T/D/test.txt" > "$S/test.txt"
head -n 8 "$T/D/valid.txt" > "$S/valid.txt"
DIS="--method dis --steps 60 --eval-every 6 --ema 0.99 --keep best"
TRMM="--method trm --N-sup 4 --T 2 --n 2 --steps 24 --eval-every 4"
train() { "$TRM" train --task nqueens --data "$S" --preset compact --batch 8 --seed 3 --log-every 4 --quiet --threads 1 "$@"; }
# metrics.jsonl without the run records and the timings, which differ from run to run
series() { grep -v '"type":"run"' "$1" | sed -E 's/"(elapsed_s|examples_per_s|seconds|puzzles_per_s)":[-+0-9.eE]+,?//g'; }
untimed() { grep -v -E '"(seconds|puzzles_per_s)":' "$1"; }
has_temp() { for f in "$1"/*.tmp.${2:-*}; do [ -e "$f" ] && return 0; done; return 1; }   # has_temp R [PID]

# The uninterrupted runs, timed.
t0=$(now_ms)
train $DIS --out "$T/ref-dis" > "$T/ref-dis.out" 2> "$T/err"
MS_DIS=$(($(now_ms) - t0))
check "kill9: uninterrupted dis run ($(head -c 300 "$T/err"))" [ -s "$T/ref-dis/model_best.safetensors" ]
t0=$(now_ms)
train $TRMM --out "$T/ref-trm" > "$T/ref-trm.out" 2> "$T/err"
MS_TRM=$(($(now_ms) - t0))
check "kill9: uninterrupted trm run ($(head -c 300 "$T/err"))" [ -s "$T/ref-trm/model.safetensors" ]

# Every checkpoint file in R loads whole: model files as models; the state file holds no
# model config, so trm info refuses it only after parsing and checking all of it.
check_files() {   # check_files R WHAT
    for f in model model_best; do
        [ -e "$1/$f.safetensors" ] || continue
        "$TRM" info --model "$1/$f.safetensors" > /dev/null 2> "$T/info"
        check "$2: $f.safetensors loads ($(head -c 200 "$T/info"))" [ $? -eq 0 ]
    done
    if [ -e "$1/state.safetensors" ]; then
        "$TRM" info --model "$1/state.safetensors" > /dev/null 2> "$T/info"
        check "$2: state.safetensors loads ($(head -c 200 "$T/info"))" has "$T/info" 'no "config" in the safetensors metadata'
    fi
    if [ -s "$1/metrics.jsonl" ]; then
        check "$2: metrics.jsonl ends with a whole line" [ "$(tail -c 1 "$1/metrics.jsonl" | od -An -c | tr -d ' ')" = '\n' ]
    fi
}

kills=0
midwrite=0
half=0
# chain NAME MS 'MODE...' ARGS...: starts the run (--resume once a state exists) and kills
# it with SIGKILL, once per MODE, until it finishes: random, after a random delay; write,
# once the run has saved a new state, after a random delay, at the next file it writes.
chain() {
    name=$1 ms=$2 modes=$3
    shift 3
    R=$T/$name
    starts=0 total=0
    while :; do
        resume=
        [ -e "$R/state.safetensors" ] && resume=--resume
        [ -z "$resume" ] && starts=0   # a fresh start: metrics.jsonl starts afresh too
        state0=$(stat -c %i "$R/state.safetensors" 2> /dev/null)
        mode=${modes%% *}
        modes=${modes#"$mode"}
        modes=${modes# }
        if [ "$mode" = write ]; then export TRM_TEST_WRITE_PAUSE_MS=200; else unset TRM_TEST_WRITE_PAUSE_MS; fi
        starts=$((starts + 1)) total=$((total + 1))
        # train()'s command, but trm itself in the background, so that the kill reaches it
        "$TRM" train --task nqueens --data "$S" --preset compact --batch 8 --seed 3 --log-every 4 --quiet \
            --threads 1 "$@" --out "$R" $resume > "$T/out" 2> "$T/err" &
        BG=$!
        if [ -n "$mode" ]; then
            i=0   # write: progress first (a new state file), so that the run gets on
            while [ "$mode" = write ] && [ $i -lt $((ms / 20)) ] && kill -0 "$BG" 2> /dev/null &&
                [ "$(stat -c %i "$R/state.safetensors" 2> /dev/null)" = "$state0" ]; do
                sleep 0.02
                i=$((i + 1))
            done
            if [ "$mode" = write ]; then sleep "$(rnd "$ms" 0 0.15)"; else sleep "$(rnd "$ms" 0.1 0.4)"; fi
            i=0
            while [ "$mode" = write ] && [ $i -lt $((ms / 20)) ] && ! has_temp "$R" "$BG" && kill -0 "$BG" 2> /dev/null; do
                sleep 0.02
                i=$((i + 1))
            done
            kill -KILL "$BG" 2> /dev/null
        fi
        wait "$BG" 2> /dev/null   # (no "Killed" from the shell)
        rc=$?
        pid=$BG BG=
        unset TRM_TEST_WRITE_PAUSE_MS
        [ "$rc" -ne 137 ] && break   # it finished (or failed) before the kill
        kills=$((kills + 1))
        what="kill9: $name, kill $kills ($mode)"
        if has_temp "$R" "$pid"; then   # caught mid-write (or between the fsync and the rename)
            midwrite=$((midwrite + 1))
            for f in "$R"/*.tmp."$pid"; do "$TRM" info --model "$f" > /dev/null 2>&1 || half=$((half + 1)); done
        fi
        check_files "$R" "$what"
    done
    echo "kill9: $name: $total starts, the last $starts from steps $(sed -n 's/^{"type":"run",.*"step":\([0-9]*\),.*/\1/p' "$R/metrics.jsonl" | paste -sd ' ' -)"
    check "kill9: $name: finished after $total starts, exit status $rc ($(head -c 300 "$T/err"))" [ "$rc" -eq 0 ]
    check "kill9: $name: no temp file left" sh -c "! ls '$R' | grep -q '\.tmp\.'"
    check "kill9: $name: one run record per start ($starts starts; at steps $(sed -n 's/^{"type":"run",.*"step":\([0-9]*\),.*/\1/p' "$R/metrics.jsonl" | paste -sd ' ' -))" \
        [ "$(grep -c '"type":"run"' "$R/metrics.jsonl")" -eq "$starts" ]
}

# finish NAME REF FILES...: the chain's files against the uninterrupted run's
finish() {
    name=$1 ref=$2
    shift 2
    for f in "$@"; do
        check "kill9: $name: $f bit for bit as uninterrupted" cmp "$T/$ref/$f" "$T/$name/$f"
    done
    series "$T/$ref/metrics.jsonl" > "$T/m.ref"
    series "$T/$name/metrics.jsonl" > "$T/m.got"
    check "kill9: $name: metrics.jsonl as uninterrupted (no record twice): $(diff "$T/m.ref" "$T/m.got" | head -c 300)" \
        cmp -s "$T/m.ref" "$T/m.got"
    untimed "$T/$ref.out" > "$T/o.ref"
    untimed "$T/out" > "$T/o.got"
    check "kill9: $name: final test result as uninterrupted" cmp -s "$T/o.ref" "$T/o.got"
}

chain dis-random "$MS_DIS" "random random random random random random" $DIS
finish dis-random ref-dis model.safetensors model_best.safetensors
mw0=$midwrite
chain dis-write "$MS_DIS" "write write write write write write" $DIS
finish dis-write ref-dis model.safetensors model_best.safetensors
check "kill9: dis-write: kills landed mid-write ($((midwrite - mw0)))" [ $((midwrite - mw0)) -gt 0 ]
chain trm "$MS_TRM" "random write random write" $TRMM
finish trm ref-trm model.safetensors

echo "kill9: $pass passed, $fail failed ($kills SIGKILLs survived, $midwrite of them mid-write, $half with the temp file half-written)"
[ "$fail" -eq 0 ]
