#!/bin/sh
# Runs every test binary given on the command line, adds up their "N passed, N failed"
# lines, and fails if any binary failed or crashed. A test that cannot run a part here
# (no AVX512-BF16, no ../shared/data, no torch, ...) prints "SKIP: <what> (<why>)" on
# stdout or stderr; those are counted and listed in the summary, so nothing is silent.
passed=0; failed=0; status=0; skipped=0; skips=""
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E 'FAIL|error|^SKIP: ' | head -20
    s=$(printf '%s\n' "$out" | sed -n 's/^SKIP: //p' | sed 's/ (\(.*\))$/: \1/')
    if [ -n "$s" ]; then
        skipped=$((skipped + $(printf '%s\n' "$s" | wc -l)))
        skips="$skips${skips:+; }$(printf '%s\n' "$s" | paste -sd ';' - | sed 's/;/; /g')"
    fi
    line=$(printf '%s\n' "$out" | tail -n 1)
    echo "$line"
    p=$(printf '%s' "$line" | sed -n 's/.* \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1/p')
    f=$(printf '%s' "$line" | sed -n 's/.* \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\2/p')
    if [ -z "$p" ]; then
        echo "$t: crashed or printed no summary (exit $rc)"; failed=$((failed + 1)); status=1; continue
    fi
    passed=$((passed + p)); failed=$((failed + f))
    [ "$rc" -ne 0 ] && status=1
done
echo "tests: $passed passed, $failed failed, $skipped skipped${skips:+ ($skips)}"
exit $status
