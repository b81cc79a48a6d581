# harness.sh: the checks shared by the shell tests (sourced; they set T, the temp dir,
# and pass=0 fail=0 first). Every failure prints one "FAIL: ..." line; a test file ends
# with "NAME: N passed, N failed", which tests/run.sh adds up.
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() {   # check DESCRIPTION test-args...
    desc=$1; shift
    if "$@"; then ok; else bad "$desc"; fi
}
has() { grep -F -q -- "$2" "$1"; }   # has FILE STRING
lines() { wc -l < "$1" | tr -d ' '; }

# expect_fail DESCRIPTION 'KW1|KW2|...' command args...
# stdin comes from $IN (default /dev/null); with LOOSE=1 stderr may carry more lines
# after the error (usage text).
IN=/dev/null
LOOSE=0
expect_fail() {
    desc=$1 kws=$2; shift 2
    "$@" < "$IN" > "$T/out" 2> "$T/err"
    rc=$?
    IN=/dev/null
    loose=$LOOSE
    LOOSE=0
    if [ "$rc" -eq 0 ]; then bad "$desc: exit status 0"; return; fi
    if [ "$rc" -ge 128 ]; then bad "$desc: crashed (exit status $rc)"; cat "$T/err" >&2; return; fi
    ok
    n=$(grep -c '^trm: error: ' "$T/err")
    if [ "$n" -eq 1 ]; then ok; else bad "$desc: $n 'trm: error:' lines, expected 1: $(head -c 300 "$T/err")"; fi
    if head -n 1 "$T/err" | grep -q '^trm: error: '; then ok; else bad "$desc: first line of stderr: $(head -n 1 "$T/err")"; fi
    if [ "$loose" -eq 1 ] || [ "$(lines "$T/err")" -eq 1 ]; then ok
    else bad "$desc: stderr has $(lines "$T/err") lines: $(head -c 300 "$T/err")"; fi
    if [ ! -s "$T/out" ]; then ok; else bad "$desc: wrote to stdout: $(head -c 200 "$T/out")"; fi
    old_ifs=$IFS
    IFS='|'
    set -f
    for kw in $kws; do
        if grep -F -q -- "$kw" "$T/err"; then ok; else bad "$desc: message lacks '$kw': $(head -n 1 "$T/err")"; fi
    done
    set +f
    IFS=$old_ifs
}
