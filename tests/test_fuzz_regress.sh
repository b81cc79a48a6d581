#!/bin/sh
# test_fuzz_regress.sh: every input that once crashed a fuzz target (tests/fuzz/regress/
# <target>/) replayed through the same target in this build (tests/fuzz/replay.c): each
# must now be refused with a one-line message naming the file, except those named
# accepted-*, valid files whose reading went wrong (the target's own checks, such as a
# config that must read back as written, judge them); nothing may crash (make test SAN=1
# replays them under ASan and UBSan, leaks included). The seed corpora are replayed too.
TRM=${TRM:-build/trm}
BIN=$(dirname "$TRM")/tests/fuzz
cd "$(dirname "$0")/.." || exit 1
pass=0
fail=0
. tests/harness.sh

# replay TARGET [--refused] FILE...: adds the replay's counts; a crash fails every file.
replay() {
    t=$1; shift
    out=$("$BIN/fuzz_$t" "$@" 2>&1)
    rc=$?
    line=$(printf '%s\n' "$out" | tail -n 1)
    p=$(printf '%s' "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(printf '%s' "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    printf '%s\n' "$out" | grep -E '^FAIL|^fuzz: |ERROR|runtime error' | head -n 5 | sed "s|^|FAIL: fuzz_$t: |" >&2
    if [ -z "$p" ] || [ "$rc" -ge 128 ]; then
        bad "fuzz_$t crashed (exit $rc) replaying $*"
        return
    fi
    pass=$((pass + p))
    fail=$((fail + f))
}

for src in tests/fuzz/fuzz_*.c; do
    t=${src#tests/fuzz/fuzz_}
    t=${t%.c}
    if [ ! -x "$BIN/fuzz_$t" ]; then bad "$BIN/fuzz_$t is not built"; continue; fi
    set -- $(ls tests/fuzz/regress/"$t"/* 2> /dev/null | grep -v '/accepted-')
    [ $# -gt 0 ] && replay "$t" --refused "$@"
    set -- tests/fuzz/regress/"$t"/accepted-*
    [ -e "$1" ] && replay "$t" "$@"
    set -- tests/fuzz/corpus/"$t"/*
    if [ -e "$1" ]; then replay "$t" "$@"; else bad "no seed corpus tests/fuzz/corpus/$t"; fi
done
echo "fuzz_regress: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
