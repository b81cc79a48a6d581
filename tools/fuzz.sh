#!/bin/sh
# fuzz.sh SECONDS TARGET...: make fuzz. Builds the fuzz targets (tests/fuzz/fuzz_T.c)
# with clang, libFuzzer, ASan and UBSan in build-fuzz/, runs each for SECONDS on a fresh
# copy of its seed corpus (tests/fuzz/corpus/T) plus its regression inputs
# (tests/fuzz/regress/T), and prints one table: executions, coverage, corpus, result.
# Fails on any crash, leak, hang (-timeout) or memory blow-up (-rss_limit_mb); the input
# that did it is kept as build-fuzz/run/T/<crash|leak|timeout|oom>-<sha1>, and
#     build-fuzz/fuzz/fuzz_T build-fuzz/run/T/crash-...
# replays it. clang and libFuzzer are installed when missing (as root, the way
# tools/deps.sh installs the build's packages); only when that is impossible does it
# print "SKIP: fuzz (...)" and succeed.
set -u
SECONDS_EACH=$1
shift
B=${FUZZ_BUILD:-build-fuzz}
FUZZ_PKGS="clang libclang-rt-dev libomp-dev"   # libFuzzer is in libclang-rt-dev

# Can clang link a libFuzzer target with the sanitizers (and OpenMP, as the library)?
can_fuzz() {
    t=$(mktemp -d "${TMPDIR:-/tmp}/trm_fuzzcc.XXXXXX") || return 1
    printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; return (int)n * 0; }\n' > "$t/t.c"
    clang -fopenmp -fsanitize=fuzzer,address,undefined "$t/t.c" -o "$t/t" > "$t/log" 2>&1
    rc=$?
    why=$(head -n 1 "$t/log")
    rm -rf "$t"
    return $rc
}

if ! command -v clang > /dev/null 2>&1 || ! can_fuzz; then
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null 2>&1; then
        echo "fuzz: installing $FUZZ_PKGS" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 && apt-get install -y -qq $FUZZ_PKGS >&2
    fi
    if ! command -v clang > /dev/null 2>&1; then
        echo "SKIP: fuzz (no clang; install it with: sudo apt-get install $FUZZ_PKGS)"
        exit 0
    fi
    if ! can_fuzz; then
        echo "SKIP: fuzz (clang cannot link -fsanitize=fuzzer: ${why:-?}; install: sudo apt-get install $FUZZ_PKGS)"
        exit 0
    fi
fi

# The library and every target, instrumented for coverage, with ASan and UBSan.
OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
BINS=""
mkdir -p "$B"
for t in "$@"; do BINS="$BINS $B/fuzz/fuzz_$t"; done
make --no-print-directory -j2 BUILD="$B" CC=clang OPT="$OPT" LDFLAGS="-fopenmp -fsanitize=address,undefined" \
    $BINS > "$B/build.log" 2>&1 || { tail -n 30 "$B/build.log"; echo "fuzz: the build failed (all of it in $B/build.log)"; exit 1; }

# Leaks count (detect_leaks), an allocation the limit refuses is a failure rather than a
# NULL, and one OpenMP thread: libFuzzer runs one input at a time.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export OMP_NUM_THREADS=1
# The targets' scratch files (on tmpfs when there is one), removed at the end even when a
# target crashed and could not remove its own.
TRM_FUZZ_TMP=$(mktemp -d /dev/shm/trm-fuzz.XXXXXX 2> /dev/null || mktemp -d "${TMPDIR:-/tmp}/trm-fuzz.XXXXXX")
export TRM_FUZZ_TMP
pid=
trap 'rm -rf "$TRM_FUZZ_TMP"' EXIT
trap '[ -n "$pid" ] && kill "$pid" 2> /dev/null; exit 130' INT TERM
status=0
table=""
for t in "$@"; do
    R=$B/run/$t
    rm -rf "$R"
    mkdir -p "$R/corpus"
    cp tests/fuzz/corpus/"$t"/* "$R/corpus/" 2> /dev/null
    extra=""
    [ -d "tests/fuzz/regress/$t" ] && extra="tests/fuzz/regress/$t"
    echo "fuzz: $t for $SECONDS_EACH s" >&2
    "$B/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$R/" "$R/corpus" $extra > "$R/log" 2>&1 &
    pid=$!
    wait $pid
    rc=$?
    rm -f /dev/shm/__KMP_REGISTERED_LIB_"$pid"_*   # what clang's OpenMP leaves after a crash
    # libFuzzer's progress lines: "#1234 NEW cov: 567 ft: 890 corp: 12/3456b ... exec/s: 78 ..."
    last=$(grep -E '^#[0-9]+' "$R/log" | tail -n 1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$R/log")
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$R/log")
    cov=$(printf '%s' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(printf '%s' "$last" | sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p')
    art=$(ls "$R" | grep -E '^(crash|leak|timeout|oom)-' | head -n 1)
    if [ "$rc" -eq 0 ] && [ -z "$art" ]; then result=ok
    else
        result="FAIL ${art:-exit $rc}"
        status=1
        grep -E -m 3 'ERROR|SUMMARY|runtime error|fuzz: ' "$R/log" | sed "s|^|fuzz: $t: |" >&2
    fi
    table="$table$(printf '%-15s %10s %8s %6s %6s %6s  %s' "$t" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" \
                   "${corp:-?}" "$result")
"
done
printf '%-15s %10s %8s %6s %6s %6s  %s\n' target runs exec/s cov ft corpus result
printf '%s' "$table"
echo "fuzz: ${SECONDS_EACH} s per target; logs and new inputs in $B/run/<target>/"
exit $status
