#!/bin/sh
# test_arc_cli.sh: the ARC pipeline end to end. `trm data arc` against the official builder
# (array by array on ../shared/data/reference/arc1-aug0, sha256 of two augmented builds in
# tests/fixtures/arc_official_builds.sha256), per-task folders, --max-grid, bad input; the
# dataset directory's refusals at `trm train` and `trm eval`; a tiny ARC run (train, eval,
# submission, saved outputs). Without ../shared/data the parts that need it are skipped
# (one "SKIP: arc_cli ..." line each); everything else runs on small hand-made tasks.
# Run from the project root with TRM=path/to/trm (default build/trm).
TRM=${TRM:-build/trm}
case $TRM in /*) ;; *) TRM=$(pwd)/$TRM ;; esac
ROOT=$(pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/trm_arc_cli.XXXXXX") || { echo "arc_cli: 0 passed, 1 failed"; exit 1; }
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
# Busy-waiting OpenMP threads crawl on a shared machine; results do not depend on this.
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export OMP_WAIT_POLICY
LC_ALL=C
export LC_ALL
THREADS="--threads 1"
pass=0
fail=0

. "$(dirname "$0")/harness.sh"
differ() { [ -s "$1" ] && [ -s "$2" ] && ! cmp -s "$1" "$2"; }   # both there, not the same

HAVE_PY=0
command -v python3 > /dev/null 2>&1 && python3 -c 'import json' 2> /dev/null && HAVE_PY=1
# json_check FILE PYTHON-EXPRESSION-ON-d [ARGS]: true when the expression holds
json_check() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$@" 2> /dev/null
}

# The shape in a .npy header ("35892, 900" or "8640,"), the token bytes after the
# 128-byte header as decimal numbers, and the number of strings in a list of names.
shape_of() { head -c 128 "$1" | tr -d '\n' | sed -n "s/.*'shape': (\([^)]*\)).*/\1/p"; }
bytes_of() { tail -c +129 "$1" | od -An -v -tu1 | tr -s ' \n' '  ' | sed 's/^ *//; s/ *$//'; }
names_in() { echo $(( $(tr -cd '"' < "$1" | wc -c) / 2 )); }
# no_files DIR: nothing (no array, no temp file, no metadata) was written under DIR
no_files() { [ -z "$(find "$1" -type f 2> /dev/null)" ]; }
SPLIT_FILES="all__inputs.npy all__labels.npy all__puzzle_identifiers.npy all__puzzle_indices.npy all__group_indices.npy dataset.json"
ALL_FILES="identifiers.json test_puzzles.json"
for s in train test; do for f in $SPLIT_FILES; do ALL_FILES="$ALL_FILES $s/$f"; done; done
same_build() {   # same_build DIR1 DIR2: every file of the layout byte-identical
    for f in $ALL_FILES; do cmp -s "$1/$f" "$2/$f" || { echo "$f differs" >&2; return 1; }; done
}

# check_split DESC DIR SPLIT ROWS PUZZLES GROUPS IDS SEQ_LEN: arrays and dataset.json agree
check_split() {
    d=$2/$3
    check "$1: $3/all__inputs.npy shape ($(shape_of "$d/all__inputs.npy"))" [ "$(shape_of "$d/all__inputs.npy")" = "$4, $8" ]
    check "$1: $3/all__inputs.npy size" [ "$(wc -c < "$d/all__inputs.npy")" -eq $((128 + $4 * $8)) ]
    check "$1: $3/all__labels.npy shape ($(shape_of "$d/all__labels.npy"))" [ "$(shape_of "$d/all__labels.npy")" = "$4, $8" ]
    check "$1: $3/all__puzzle_identifiers.npy shape" [ "$(shape_of "$d/all__puzzle_identifiers.npy")" = "$5," ]
    check "$1: $3/all__puzzle_indices.npy shape" [ "$(shape_of "$d/all__puzzle_indices.npy")" = "$(($5 + 1))," ]
    check "$1: $3/all__group_indices.npy shape" [ "$(shape_of "$d/all__group_indices.npy")" = "$(($6 + 1))," ]
    check "$1: $3/dataset.json: $(head -c 300 "$d/dataset.json")" grep -q \
        "\"vocab_size\": 12, \"seq_len\": $8, \"num_puzzle_identifiers\": $7, \"total_groups\": $6, .*\"total_puzzles\": $5, \"sets\": \[\"all\"\]}\$" \
        "$d/dataset.json"
}

# build DESC EXPECT OUT G args...: trm data arc ... --out OUT --quiet must succeed, print
# "OUT: <EXPECT>, N.N s" (EXPECT: "4 tasks (2 test, 0 skipped by --max-grid 30, 0 with
# fewer than 2 copies), 24 train rows in ...identifiers") and write arrays of those counts.
build() {
    bd=$1 expect=$2 out=$3 g=$4; shift 4
    "$TRM" data arc "$@" --out "$out" --quiet > "$T/build.out" 2> "$T/build.err"
    rc=$?
    check "$bd: exit status $rc ($(head -c 300 "$T/build.err"))" [ "$rc" -eq 0 ]
    [ "$rc" -eq 0 ] || return 1
    check "$bd: --quiet printed to stderr: $(head -c 200 "$T/build.err")" [ ! -s "$T/build.err" ]
    # (a validation split comes only with --valid-demos: no rows, where the line counts them)
    line=$(sed 's/ puzzles, 0 validation rows, / puzzles, /' "$T/build.out")
    secs=$(printf '%s' "$line" | sed -n 's/.* identifiers, \([0-9]*\.[0-9] s\)$/\1/p')
    check "$bd: $(lines "$T/build.out") lines on stdout" [ "$(lines "$T/build.out")" -eq 1 ]
    check "$bd: summary '$(cat "$T/build.out")', expected '$out: $expect, N.N s'" [ "$line" = "$out: $expect, $secs" ]
    # tasks test skipped short train-rows train-puzzles test-rows test-puzzles identifiers
    set -- $(printf '%s' "$line" | sed -n 's/^.*: \([0-9]*\) tasks (\([0-9]*\) test, \([0-9]*\) skipped by --max-grid [0-9]*, \([0-9]*\) with fewer than [0-9]* copies), \([0-9]*\) train rows in \([0-9]*\) puzzles, \([0-9]*\) test rows in \([0-9]*\) puzzles, \([0-9]*\) identifiers, [0-9.]* s$/\1 \2 \3 \4 \5 \6 \7 \8 \9/p')
    check "$bd: summary line parses: $line" [ $# -eq 9 ]
    [ $# -eq 9 ] || return 1
    check_split "$bd" "$out" train "$5" "$6" "$1" "$9" $((g * g))
    check_split "$bd" "$out" test "$7" "$8" "$2" "$9" $((g * g))
    check "$bd: identifiers.json has $(names_in "$out/identifiers.json") names, expected $9" \
        [ "$(names_in "$out/identifiers.json")" -eq "$9" ]
    check "$bd: identifiers.json starts with <blank>" grep -q '^\["<blank>", ' "$out/identifiers.json"
    check "$bd: files besides the layout: $(find "$out" -type f | sed "s|^$out/||" | sort | tr '\n' ' ')" \
        [ "$(find "$out" -type f | wc -l)" -eq 14 ]
}

SHARED=$ROOT/../shared/data
HAVE_KAGGLE=0; [ -d "$SHARED/arc-kaggle" ] && HAVE_KAGGLE=1
HAVE_REF=0; [ -d "$SHARED/reference/arc1-aug0" ] && HAVE_REF=1
HAVE_TASKS=0; [ -d "$SHARED/arc1/training" ] && [ -d "$SHARED/arc1/evaluation" ] && [ -d "$SHARED/conceptarc" ] && HAVE_TASKS=1
KAGGLE=$SHARED/arc-kaggle/arc-agi
REF=$SHARED/reference/arc1-aug0

# --------------------------------------------------------------------------- hand-made tasks
# ddd4 has a 3x3 grid.
H=$T/hand
mkdir -p "$H/training" "$H/evaluation"
printf '%s\n' '{"train": [{"input": [[1, 2], [3, 4]], "output": [[4, 3], [2, 1]]}], "test": [{"input": [[5]], "output": [[6]]}]}' > "$H/training/aaa1.json"
printf '%s\n' '{"train": [{"input": [[1, 0]], "output": [[0, 1]]}, {"input": [[2]], "output": [[2, 2]]}], "test": [{"input": [[3, 0]], "output": [[0, 3]]}]}' > "$H/training/bbb2.json"
printf '%s\n' '{"train": [{"input": [[7, 8], [9, 0]], "output": [[0, 9], [8, 7]]}, {"input": [[1]], "output": [[1]]}], "test": [{"input": [[2, 3]], "output": [[3, 2]]}, {"input": [[4], [5]], "output": [[5], [4]]}]}' > "$H/evaluation/ccc3.json"
printf '%s\n' '{"train": [{"input": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "output": [[9]]}], "test": [{"input": [[6]], "output": [[6, 6]]}]}' > "$H/evaluation/ddd4.json"
# The same tasks as Kaggle combined files (solutions apart).
HK=$T/hk
mkdir "$HK"
printf '%s\n' '{"aaa1": {"train": [{"input": [[1, 2], [3, 4]], "output": [[4, 3], [2, 1]]}], "test": [{"input": [[5]]}]},
 "bbb2": {"train": [{"input": [[1, 0]], "output": [[0, 1]]}, {"input": [[2]], "output": [[2, 2]]}], "test": [{"input": [[3, 0]]}]}}' \
    > "$HK/h_training_challenges.json"
printf '%s\n' '{"aaa1": [[[6]]], "bbb2": [[[0, 3]]]}' > "$HK/h_training_solutions.json"
printf '%s\n' '{"ccc3": {"train": [{"input": [[7, 8], [9, 0]], "output": [[0, 9], [8, 7]]}, {"input": [[1]], "output": [[1]]}], "test": [{"input": [[2, 3]]}, {"input": [[4], [5]]}]},
 "ddd4": {"train": [{"input": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "output": [[9]]}], "test": [{"input": [[6]]}]}}' \
    > "$HK/h_evaluation_challenges.json"
printf '%s\n' '{"ccc3": [[[3, 2]], [[5], [4]]], "ddd4": [[[6, 6]]]}' > "$HK/h_evaluation_solutions.json"
HS="--subsets training,evaluation"

build "tasks, no augmentation" \
    "4 tasks (2 test, 0 skipped by --max-grid 30, 0 with fewer than 0 copies), 8 train rows in 4 puzzles, 3 test rows in 2 puzzles, 5 identifiers" \
    "$T/h0" 30 --tasks "$H" $HS --num-aug 0
check "tasks: identifiers in processing order" grep -q -E '^\["<blank>", "(aaa1|bbb2)", "(aaa1|bbb2)", "(ccc3|ddd4)", "(ccc3|ddd4)"\]$' "$T/h0/identifiers.json"
check "tasks: test_puzzles.json holds the test tasks, with the raw tasks" \
    grep -q -F '"ccc3": {"train": [{"input": [[7, 8], [9, 0]], "output": [[0, 9], [8, 7]]}, {"input": [[1]], "output": [[1]]}], "test": [{"input": [[2, 3]], "output": [[3, 2]]}, {"input": [[4], [5]], "output": [[5], [4]]}]}' "$T/h0/test_puzzles.json"
check "tasks: test_puzzles.json lists only the test subset" [ "$(grep -c -e aaa1 -e bbb2 "$T/h0/test_puzzles.json")" -eq 0 ]

D=$T/D   # the data of the tiny run below: 2 copies, a 4 x 4 canvas
build "tasks --num-aug 2 --max-grid 4" \
    "4 tasks (2 test, 0 skipped by --max-grid 4, 0 with fewer than 2 copies), 24 train rows in 12 puzzles, 9 test rows in 6 puzzles, 13 identifiers" \
    "$D" 4 --tasks "$H" $HS --num-aug 2 --max-grid 4
check "tasks --num-aug 2: augmented names" [ "$(grep -o '|||t[0-7]|||0[1-9]\{9\}"' "$D/identifiers.json" | wc -l)" -eq 8 ]
build "kaggle files of the same tasks" \
    "4 tasks (2 test, 0 skipped by --max-grid 4, 0 with fewer than 2 copies), 24 train rows in 12 puzzles, 9 test rows in 6 puzzles, 13 identifiers" \
    "$T/hk4" 4 --kaggle "$HK/h" $HS --num-aug 2 --max-grid 4
check "kaggle files and task folders of the same tasks give the same build" same_build "$D" "$T/hk4"
"$TRM" data arc --tasks "$H" $HS --num-aug 2 --max-grid 4 --out "$T/D-again" --quiet > /dev/null 2>&1
check "tasks: the same command twice gives the same files" same_build "$D" "$T/D-again"
"$TRM" data arc --tasks "$H" $HS --num-aug 2 --max-grid 4 --seed 43 --out "$T/D-43" --quiet > /dev/null 2>&1
check "tasks: --seed 43 gives other train inputs" differ "$D/train/all__inputs.npy" "$T/D-43/train/all__inputs.npy"
check "tasks: --seed 43 gives other identifiers" differ "$D/identifiers.json" "$T/D-43/identifiers.json"
# Metadata in task files ("name", as in 11 ARC-AGI-1 files) is skipped: the same build, with
# the key kept in test_puzzles.json (the evaluator reads only "test").
HN=$T/hand-named
cp -R "$H" "$HN"
sed 's/]}$/], "name": "aaa1"}/' "$H/training/aaa1.json" > "$HN/training/aaa1.json"
sed 's/]}$/], "name": "ccc3"}/' "$H/evaluation/ccc3.json" > "$HN/evaluation/ccc3.json"
check "tasks: the named copies carry their name" [ "$(cat "$HN"/*/*.json | grep -c '"name": "[ac]\{3\}[13]"}$')" -eq 2 ]
"$TRM" data arc --tasks "$HN" $HS --num-aug 2 --max-grid 4 --out "$T/D-named" --quiet > /dev/null 2> "$T/err"
check "tasks: a \"name\" key: exit status ($(head -c 300 "$T/err"))" [ -s "$T/D-named/test_puzzles.json" ]
for f in $ALL_FILES; do
    [ "$f" = test_puzzles.json ] && continue
    check "tasks: a \"name\" key changed $f" cmp -s "$D/$f" "$T/D-named/$f"
done
check "tasks: a \"name\" key: test_puzzles.json keeps it" grep -q -F '[[5], [4]]}], "name": "ccc3"}' "$T/D-named/test_puzzles.json"

build "tasks --max-grid 2" \
    "3 tasks (1 test, 1 skipped by --max-grid 2, 0 with fewer than 0 copies), 7 train rows in 3 puzzles, 2 test rows in 1 puzzles, 4 identifiers" \
    "$T/g2" 2 --tasks "$H" $HS --num-aug 0 --max-grid 2
check "--max-grid 2: the 3x3 task is gone" [ "$(grep -c ddd4 "$T/g2/identifiers.json" "$T/g2/test_puzzles.json" | grep -c ':0$')" -eq 2 ]
check "--max-grid 2: seq_len 4" has "$T/g2/test/dataset.json" '"seq_len": 4,'
# The test split is never translated: [[2,3]] is 4 5 / EOS EOS, [[4],[5]] is 6 EOS / 7 EOS.
check "--max-grid 2: test inputs encoded as the official builder ($(bytes_of "$T/g2/test/all__inputs.npy"))" \
    [ "$(bytes_of "$T/g2/test/all__inputs.npy")" = "4 5 1 1 6 1 7 1" ]
check "--max-grid 2: test labels encoded as the official builder ($(bytes_of "$T/g2/test/all__labels.npy"))" \
    [ "$(bytes_of "$T/g2/test/all__labels.npy")" = "5 4 1 1 7 1 6 1" ]
check "--max-grid 2: test puzzle_indices" [ "$(bytes_of "$T/g2/test/all__puzzle_indices.npy")" = "0 0 0 0 2 0 0 0" ]
build "tasks: --out creates missing parents" \
    "4 tasks (2 test, 0 skipped by --max-grid 30, 0 with fewer than 0 copies), 8 train rows in 4 puzzles, 3 test rows in 2 puzzles, 5 identifiers" \
    "$T/nest/ed/h0" 30 --tasks "$H" $HS --num-aug 0
check "tasks: a build into a missing parent is the same" same_build "$T/h0" "$T/nest/ed/h0"

# --------------------------------------------------------------------------- the official builder
if [ $HAVE_KAGGLE -eq 1 ] && [ $HAVE_REF -eq 1 ]; then
    build "kaggle arc1, no augmentation" \
        "960 tasks (400 test, 0 skipped by --max-grid 30, 0 with fewer than 0 copies), 3988 train rows in 960 puzzles, 419 test rows in 400 puzzles, 961 identifiers" \
        "$T/a0" 30 --kaggle "$KAGGLE" --subsets training,evaluation,concept --test-set evaluation --num-aug 0
    for f in $ALL_FILES; do
        check "arc1-aug0: $f differs from the official builder's" cmp -s "$T/a0/$f" "$REF/$f"
    done
else
    echo "SKIP: arc_cli builder against reference/arc1-aug0 (../shared/data not found)"
fi

SUMS=$ROOT/tests/fixtures/arc_official_builds.sha256
if [ $HAVE_KAGGLE -eq 1 ] && command -v sha256sum > /dev/null 2>&1; then
    check "fixture: 28 sums in $SUMS" [ "$(grep -c -E '^[0-9a-f]{64}  arc[12]-aug(8|50)/' "$SUMS")" -eq 28 ]
    build "kaggle arc1, --num-aug 8" \
        "960 tasks (400 test, 0 skipped by --max-grid 30, 0 with fewer than 8 copies), 35892 train rows in 8640 puzzles, 3771 test rows in 3600 puzzles, 8641 identifiers" \
        "$T/arc1-aug8" 30 --kaggle "$KAGGLE" --num-aug 8
    build "kaggle arc2, --num-aug 50" \
        "1280 tasks (120 test, 0 skipped by --max-grid 30, 4 with fewer than 50 copies), 283725 train rows in 65175 puzzles, 8772 test rows in 6120 puzzles, 65176 identifiers" \
        "$T/arc2-aug50" 30 --kaggle "$KAGGLE" --subsets training2,evaluation2,concept --test-set evaluation2 --num-aug 50
    grep -E '^[0-9a-f]{64}  ' "$SUMS" > "$T/sums"
    while read -r sum path; do
        got=$(sha256sum "$T/$path" 2> /dev/null | cut -d' ' -f1)
        check "$path: sha256 $got, the official builder's $sum" [ "$got" = "$sum" ]
    done < "$T/sums"
    rm -rf "$T/arc2-aug50"     # half a gigabyte
    "$TRM" data arc --kaggle "$KAGGLE" --num-aug 8 --out "$T/arc1-aug8-again" --quiet > /dev/null 2>&1
    check "kaggle arc1-aug8: the same command twice gives the same files" same_build "$T/arc1-aug8" "$T/arc1-aug8-again"
    rm -rf "$T/arc1-aug8-again"
    "$TRM" data arc --kaggle "$KAGGLE" --num-aug 8 --seed 43 --out "$T/arc1-aug8-43" --quiet > /dev/null 2>&1
    check "kaggle arc1-aug8: --seed 43 gives other train inputs" \
        differ "$T/arc1-aug8/train/all__inputs.npy" "$T/arc1-aug8-43/train/all__inputs.npy"
    check "kaggle arc1-aug8: --seed 43 still writes every file" [ -s "$T/arc1-aug8-43/test_puzzles.json" ]
    rm -rf "$T/arc1-aug8" "$T/arc1-aug8-43"
elif [ $HAVE_KAGGLE -eq 1 ]; then
    echo "SKIP: arc_cli sha256 of the official builds (no sha256sum)"
else
    echo "SKIP: arc_cli builder against the official sha256 sums (../shared/data not found)"
fi

# --------------------------------------------------------------------------- per-task folders
if [ $HAVE_TASKS -eq 1 ]; then
    A=$SHARED/arc1
    F=$T/few
    mkdir -p "$F/training" "$F/evaluation"
    cp "$A/training/007bbfb7.json" "$A/training/00d62c1b.json" "$A/training/9edfc990.json" "$F/training/"
    cp "$A/evaluation/00576224.json" "$A/evaluation/05a7bcf2.json" "$F/evaluation/"
    # 6 + 6 + 4 pairs of training tasks, 2 + 3 train pairs and 1 + 1 test pairs of evaluation
    # tasks; 9edfc990 and 05a7bcf2 carry a "name"; 00d62c1b is 20x20, 05a7bcf2 30x30.
    build "arc1 task files" \
        "5 tasks (2 test, 0 skipped by --max-grid 30, 0 with fewer than 0 copies), 21 train rows in 5 puzzles, 2 test rows in 2 puzzles, 6 identifiers" \
        "$T/few0" 30 --tasks "$F" $HS --num-aug 0
    build "arc1 task files, --num-aug 3" \
        "5 tasks (2 test, 0 skipped by --max-grid 30, 0 with fewer than 3 copies), 84 train rows in 20 puzzles, 8 test rows in 8 puzzles, 21 identifiers" \
        "$T/few3" 30 --tasks "$F" $HS --num-aug 3
    build "arc1 task files, --max-grid 16" \
        "3 tasks (1 test, 2 skipped by --max-grid 16, 0 with fewer than 0 copies), 12 train rows in 3 puzzles, 1 test rows in 1 puzzles, 4 identifiers" \
        "$T/few16" 16 --tasks "$F" $HS --num-aug 0 --max-grid 16
    # All of ARC-AGI-1 and ConceptARC as task folders: the task files store most tasks
    # {"train", "test"} where the Kaggle files store {"test", "train"}, so the train split
    # differs, but the test split is the official one.
    W=$T/whole
    mkdir "$W"
    ln -s "$A/training" "$W/training"
    ln -s "$A/evaluation" "$W/evaluation"
    ln -s "$SHARED/conceptarc" "$W/concept"
    build "arc1 + ConceptARC task folders" \
        "960 tasks (400 test, 0 skipped by --max-grid 30, 0 with fewer than 0 copies), 3988 train rows in 960 puzzles, 419 test rows in 400 puzzles, 961 identifiers" \
        "$T/whole0" 30 --tasks "$W" --num-aug 0
    if [ $HAVE_REF -eq 1 ]; then
        for f in $SPLIT_FILES; do
            check "task folders: test/$f differs from the official builder's" cmp -s "$T/whole0/test/$f" "$REF/test/$f"
        done
        check "task folders: train/dataset.json differs from the official builder's" \
            cmp -s "$T/whole0/train/dataset.json" "$REF/train/dataset.json"
    fi
    rm -rf "$T/whole0"
else
    echo "SKIP: arc_cli per-task folders of ARC-AGI-1 (../shared/data not found)"
fi

# --------------------------------------------------------------------------- bad input
B=$T/bad
mkdir "$B"
K=$B/k
mkdir "$K"
nb=0
# bad_build DESC 'KW|...' args...: refused, and nothing written under the fresh --out
bad_build() {
    bb=$1 bkw=$2; shift 2
    nb=$((nb + 1))
    expect_fail "data arc: $bb" "$bkw" "$TRM" data arc "$@" --out "$B/o$nb" --quiet
    check "data arc: $bb: left files under --out: $(find "$B/o$nb" -type f 2> /dev/null | tr '\n' ' ')" no_files "$B/o$nb"
}
KS="--subsets training --test-set training"
good_task='{"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[3]], "output": [[4]]}]}'
printf '[%s]\n' "$good_task" > "$K/list_training_challenges.json"
bad_build "challenges not an object" "$K/list_training_challenges.json|not a JSON object" --kaggle "$K/list" $KS
printf '{"t1": %s, "t2": ' "$good_task" > "$K/trunc_training_challenges.json"
bad_build "challenges not valid JSON" "$K/trunc_training_challenges.json|not valid JSON" --kaggle "$K/trunc" $KS
printf '{"t1": %s, "t2": [1]}\n' "$good_task" > "$K/task_training_challenges.json"
bad_build "a task not an object" "$K/task_training_challenges.json|task t2|not an object" --kaggle "$K/task" $KS
printf '{"t1": %s, "t3": {"train": [{"input": [[1]], "output": [[2]]}]}}\n' "$good_task" > "$K/notest_training_challenges.json"
bad_build "a task without test" "$K/notest_training_challenges.json|task t3|\"test\"" --kaggle "$K/notest" $KS
printf '{"t4": {"test": [{"input": [[1]], "output": [[2]]}]}}\n' > "$K/notrain_training_challenges.json"
bad_build "a task without train" "$K/notrain_training_challenges.json|task t4|\"train\"" --kaggle "$K/notrain" $KS
printf '{"t5": {"train": [], "test": [{"input": [[1]], "output": [[2]]}]}}\n' > "$K/empty_training_challenges.json"
bad_build "a test task without train pairs" "$K/empty_training_challenges.json|task t5|no examples" --kaggle "$K/empty" $KS
printf '{"t6": {"train": [{"input": [[1, 2], [3]], "output": [[2]]}], "test": [{"input": [[1]], "output": [[2]]}]}}\n' > "$K/ragged_training_challenges.json"
bad_build "a non-rectangular grid" "$K/ragged_training_challenges.json|task t6|train 0 input|row 1 has 1 cells" --kaggle "$K/ragged" $KS
printf '{"t1": %s, "t7": {"train": [{"input": [[1]], "output": [[0, 10]]}], "test": [{"input": [[1]], "output": [[2]]}]}}\n' "$good_task" > "$K/c10_training_challenges.json"
bad_build "colour 10" "$K/c10_training_challenges.json|task t7|train 0 output|colour 10" --kaggle "$K/c10" $KS
printf '{"t8": {"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[-1]], "output": [[2]]}]}}\n' > "$K/cm1_training_challenges.json"
bad_build "colour -1" "$K/cm1_training_challenges.json|task t8|test 0 input|colour -1" --kaggle "$K/cm1" $KS
rows31=$(printf '[1], %.0s' $(seq 30))
printf '{"t9": {"train": [{"input": [[1]], "output": [[2]]}, {"input": [%s[1]], "output": [[2]]}], "test": [{"input": [[1]], "output": [[2]]}]}}\n' "$rows31" > "$K/tall_training_challenges.json"
bad_build "a grid of 31 rows" "$K/tall_training_challenges.json|task t9|train 1 input|31 rows" --kaggle "$K/tall" $KS
printf '{"t1": {"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[3]]}]}, "t2": {"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[3]]}]}}\n' > "$K/sol_training_challenges.json"
cp "$K/sol_training_challenges.json" "$K/more_training_challenges.json"
printf '{"t1": [[[4]]]}\n' > "$K/sol_training_solutions.json"
bad_build "solutions without a task" "$K/sol_training_solutions.json|task t2|no solutions" --kaggle "$K/sol" $KS
printf '{"t1": [[[4]]], "t2": [[[4]], [[5]]]}\n' > "$K/more_training_solutions.json"
bad_build "more solutions than test inputs" "$K/more_training_solutions.json|task t2|2 solutions for 1 test inputs" --kaggle "$K/more" $KS
printf '{"t1": {"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[3]], "output": [[4]]}], "name": "t1"}}\n' > "$K/name_training_challenges.json"
bad_build "an unknown key in a Kaggle file" "$K/name_training_challenges.json|task t1|\"name\"" --kaggle "$K/name" $KS
bad_build "--test-set not in --subsets" "--test-set evaluation|--subsets training" --kaggle "$HK/h" --subsets training --test-set evaluation
bad_build "both --kaggle and --tasks" "--kaggle|--tasks" --kaggle "$HK/h" --tasks "$H" $HS
bad_build "neither --kaggle nor --tasks" "--kaggle|--tasks" $HS
bad_build "a nonexistent prefix" "$B/nothere_training_challenges.json|cannot open" --kaggle "$B/nothere" $HS
bad_build "a nonexistent subset" "$HK/h_concept_challenges.json|cannot open" --kaggle "$HK/h"
bad_build "--max-grid 0" "--max-grid|0" --tasks "$H" $HS --max-grid 0
bad_build "--max-grid 31" "--max-grid|31" --tasks "$H" $HS --max-grid 31
bad_build "--num-aug -1" "--num-aug|-1" --tasks "$H" $HS --num-aug -1
bad_build "no task fits --max-grid 1" "--max-grid 1" --tasks "$H" $HS --max-grid 1
# per-task folders
TD=$B/td
mkdir -p "$TD/training" "$TD/evaluation"
cp "$H/training/aaa1.json" "$TD/training/"
cp "$H/evaluation/ccc3.json" "$TD/evaluation/"
bad_build "task folders: no concept folder (default subsets)" "$TD/concept|no task files" --tasks "$TD"
printf '[1, 2]\n' > "$TD/training/zz1.json"
bad_build "task folders: a task file not an object" "$TD/training/zz1.json|task zz1|not an object" --tasks "$TD" $HS
printf '{"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[1, 1], [2]], "output": [[2]]}]}\n' > "$TD/training/zz1.json"
bad_build "task folders: a non-rectangular grid" "$TD/training/zz1.json|task zz1|test 0 input|row 1" --tasks "$TD" $HS
printf '{"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[1]]}]}\n' > "$TD/training/zz1.json"
bad_build "task folders: a test input without output" "$TD/training/zz1.json|task zz1|test 0|no output" --tasks "$TD" $HS
printf '{"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[1]], "output": [[2]]}]' > "$TD/training/zz1.json"
bad_build "task folders: a truncated file" "$TD/training/zz1.json|not valid JSON" --tasks "$TD" $HS
rm "$TD/training/zz1.json"
bad_build "task folders: a missing folder" "$B/none/training|no task files" --tasks "$B/none" $HS
: > "$B/afile"
expect_fail "data arc: --out is a file" "$B/afile" "$TRM" data arc --tasks "$H" $HS --out "$B/afile" --quiet
expect_fail "data arc: no --out" "--out" "$TRM" data arc --tasks "$H" $HS --quiet

# --------------------------------------------------------------------------- a tiny ARC run
R=$T/run
"$TRM" train --task arc --data "$D" --method dis --preset compact --batch 4 --steps 6 --warmup 1 --eval-num-aug 1 \
    $THREADS --out "$R" --quiet > "$T/train.json" 2> "$T/err"
check "train arc dis: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "train arc dis: --quiet printed to stderr: $(head -c 200 "$T/err")" [ ! -s "$T/err" ]
for f in model.safetensors state.safetensors metrics.jsonl; do
    check "train arc dis: $f written" [ -s "$R/$f" ]
done
check "train arc dis: metrics train line" grep -q '"type":"train","step":6,' "$R/metrics.jsonl"
eval_line() { grep '"type":"eval"' "$1" | grep -q -F "$2"; }   # eval_line METRICS STRING
check "train arc dis: metrics eval line with ARC/pass@2" eval_line "$R/metrics.jsonl" '"ARC/pass@2":'
check "train arc dis: final evaluation printed" has "$T/train.json" '"kaggle_pass@2":'
check "train arc dis: 18 calls per puzzle" grep -q -E '"network_calls_per_puzzle":[[:space:]]*18,' "$T/train.json"
if [ $HAVE_PY -eq 1 ]; then
    grep '"type":"eval"' "$R/metrics.jsonl" | tail -n 1 > "$T/eval_record.json"
    # --eval-num-aug 1: the original and one copy of 2 test tasks of 1 and 2 test inputs
    check "train arc dis: the eval record: $(head -c 300 "$T/eval_record.json")" json_check "$T/eval_record.json" \
        'd["puzzles"] == 6 and d["tasks"] == 2 and d["test_pairs"] == 3 and d["eval_num_aug"] == 1 and 0 <= d["ARC/pass@1"] <= d["ARC/pass@2"] <= 1 and 0 <= d["kaggle_pass@2"] <= 1'
fi

M=$R/model.safetensors
"$TRM" eval --model "$M" --data "$D" --num-aug 1 --submission "$T/sub.json" --save-outputs "$T/outs" $THREADS \
    > "$T/eval.json" 2> "$T/err"
check "eval arc: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
for k in '"ARC/pass@1":' '"ARC/pass@2":' '"kaggle_pass@2":' '"tasks":' '"num_aug":'; do
    check "eval arc: key $k" has "$T/eval.json" "$k"
done
check "eval arc: submission written" [ -s "$T/sub.json" ]
check "eval arc: submission attempts" grep -q '"attempt_1":\[.*"attempt_2":\[' "$T/sub.json"
check "eval arc: temp files left: $(find "$T" -name '*.tmp*')" [ -z "$(find "$T" -name '*.tmp*')" ]
if [ $HAVE_PY -eq 1 ]; then
    check "eval arc: JSON contents" json_check "$T/eval.json" \
        'd["puzzles"] == 6 and d["tasks"] == 2 and d["test_pairs"] == 3 and d["num_aug"] == 1 and d["network_calls_per_puzzle"] == 18 and len(d["per_step"]) == 6 and 0 <= d["ARC/pass@1"] <= d["ARC/pass@2"] <= 1 and 0 <= d["kaggle_pass@2"] <= 1 and d["data"] == sys.argv[3]' "$D"
    check "eval arc: the submission lists every test task of test_puzzles.json, in order, every test input, both attempts" \
        python3 -c 'import json, sys
sub = json.load(open(sys.argv[1])); tp = json.load(open(sys.argv[2]))
grid = lambda g: isinstance(g, list) and len(g) <= 30 and all(isinstance(r, list) and len(r) == len(g[0]) and 0 < len(r) <= 30 and all(type(c) is int and 0 <= c <= 9 for c in r) for r in g)
ok = list(sub) == list(tp) and sorted(tp) == ["ccc3", "ddd4"]
for k in tp:
    ok = ok and isinstance(sub[k], list) and len(sub[k]) == len(tp[k]["test"])
    ok = ok and all(sorted(a) == ["attempt_1", "attempt_2"] and grid(a["attempt_1"]) and grid(a["attempt_2"]) for a in sub[k])
sys.exit(0 if ok else 1)' "$T/sub.json" "$D/test_puzzles.json"
fi
printf '\223NUMPY' > "$T/magic"
for f in inputs preds puzzle_identifiers q_halt_logits; do
    check "eval --save-outputs: $f.npy starts as .npy" cmp -s -n 6 "$T/magic" "$T/outs/$f.npy"
done
check "eval --save-outputs: inputs shape" [ "$(shape_of "$T/outs/inputs.npy")" = "6, 16" ]
check "eval --save-outputs: preds shape" [ "$(shape_of "$T/outs/preds.npy")" = "6, 16" ]
check "eval --save-outputs: puzzle_identifiers shape" [ "$(shape_of "$T/outs/puzzle_identifiers.npy")" = "6," ]
check "eval --save-outputs: q_halt_logits float32" grep -q -a -F "'descr': '<f4', 'fortran_order': False, 'shape': (6,)" "$T/outs/q_halt_logits.npy"
check "eval --save-outputs: preds are tokens" [ "$(bytes_of "$T/outs/preds.npy" | tr ' ' '\n' | awk '$1 > 11' | wc -l)" -eq 0 ]
check "eval --save-outputs: files: $(ls "$T/outs" | tr '\n' ' ')" [ "$(ls "$T/outs" | wc -l)" -eq 4 ]

# Every copy (the default, or K past the copies there are): the rows of the test split.
"$TRM" eval --model "$M" --data "$D" --save-outputs "$T/outs-all" $THREADS > "$T/eval-all.json" 2> "$T/err"
check "eval arc, every copy: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
"$TRM" eval --model "$M" --data "$T/D-named" $THREADS > "$T/eval-named.json" 2> "$T/err"
check "eval arc on test_puzzles.json with a \"name\": exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "eval arc on test_puzzles.json with a \"name\": the same scores" \
    [ "$(grep -v -E '"(seconds|puzzles_per_s|data)":' "$T/eval-all.json")" = "$(grep -v -E '"(seconds|puzzles_per_s|data)":' "$T/eval-named.json")" ]
check "eval arc, every copy: inputs.npy is test/all__inputs.npy" cmp -s "$T/outs-all/inputs.npy" "$D/test/all__inputs.npy"
check "eval arc, every copy: 9 rows" grep -q -E '"puzzles":[[:space:]]*9,' "$T/eval-all.json"
"$TRM" eval --model "$M" --data "$D" --num-aug 100 $THREADS > "$T/eval-100.json" 2> "$T/err"
check "eval arc --num-aug 100: 9 rows ($(head -c 300 "$T/err"))" grep -q -E '"puzzles":[[:space:]]*9,' "$T/eval-100.json"
"$TRM" eval --model "$M" --data "$D" --num-aug 0 $THREADS > "$T/eval-0.json" 2> "$T/err"
check "eval arc --num-aug 0: 3 rows ($(head -c 300 "$T/err"))" grep -q -E '"puzzles":[[:space:]]*3,' "$T/eval-0.json"
"$TRM" eval --model "$M" --data "$D" --num-aug 1 --table $THREADS > "$T/table.txt" 2> "$T/err"
check "eval arc --table: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "eval arc --table: the official score line" grep -q '^official (mean per task):  pass@1 [0-9.]*  pass@2 ' "$T/table.txt"
check "eval arc --table: the Kaggle line" grep -q '^Kaggle (mean over 3 test outputs): pass@2 ' "$T/table.txt"

R2=$T/run-trm
"$TRM" train --task arc --data "$D" --method trm --preset compact --batch 4 --steps 4 --warmup 1 --eval-num-aug 1 \
    $THREADS --out "$R2" --quiet > "$T/train-trm.json" 2> "$T/err"
check "train arc trm: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "train arc trm: model written" [ -s "$R2/model.safetensors" ]
check "train arc trm: metrics train line" grep -q '"type":"train","step":4,' "$R2/metrics.jsonl"
check "train arc trm: metrics eval line" eval_line "$R2/metrics.jsonl" '"ARC/pass@2":'
check "train arc trm: 3 x 5 x 16 = 240 calls per puzzle (n 4 on ARC)" \
    grep -q -E '"network_calls_per_puzzle":[[:space:]]*240,' "$T/train-trm.json"

# A model of one build on another: other puzzle identifiers, another canvas.
"$TRM" data arc --tasks "$H" $HS --num-aug 1 --max-grid 4 --out "$T/D1" --quiet > /dev/null 2>&1
check "build --num-aug 1 for the mismatch" [ -s "$T/D1/test_puzzles.json" ]
expect_fail "eval arc: a model of a build with other puzzle identifiers" "$M|puzzle|13|9" \
    "$TRM" eval --model "$M" --data "$T/D1" $THREADS
expect_fail "eval arc: a model of another canvas" "$M|seq_len 16|seq_len 4" \
    "$TRM" eval --model "$M" --data "$T/g2" $THREADS
expect_fail "eval arc: --submission to a missing directory, before evaluating" "$B/nodir/sub.json" \
    "$TRM" eval --model "$M" --data "$D" --submission "$B/nodir/sub.json" $THREADS
check "eval arc: a failed evaluation wrote a submission" [ ! -e "$B/nodir" ]

# --------------------------------------------------------------------------- trm solve --task arc
S=$T/solve
mkdir "$S"
no_escape() { ! grep -q "$(printf '\033')" "$1"; }
NO_COLOR=1 "$TRM" solve --task arc --model "$M" "$H/evaluation/ccc3.json" --num-aug 1 $THREADS > "$S/seen.txt" 2> "$T/err"
check "solve seen: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "solve seen: the model's rows of ccc3: $(head -n 1 "$S/seen.txt")" \
    grep -q "^task ccc3: seen in training, 2 of the model's copies, pass@2 [0-9.]*" "$S/seen.txt"
check "solve seen: both test inputs drawn" [ "$(grep -c 'test [12] input' "$S/seen.txt")" -eq 2 ]
check "solve seen: attempts and solution titled" grep -q 'attempt 1 \(ok\|x\) .*attempt 2 \(ok\|x\) .*solution' "$S/seen.txt"
check "solve seen: the score line" grep -q '^1 task: pass@2 [0-9.]* (official: mean per task), Kaggle [0-9.]* (mean over 2 test outputs), [01] solved$' "$S/seen.txt"
check "solve seen: NO_COLOR: no escape sequences" no_escape "$S/seen.txt"
"$TRM" solve --task arc --model "$M" "$H/evaluation/ccc3.json" --num-aug 1 $THREADS > "$S/pipe.txt" 2> /dev/null
check "solve seen: not a terminal: no escape sequences" no_escape "$S/pipe.txt"
if command -v script > /dev/null 2>&1; then
    script -qec "\"$TRM\" solve --task arc --model \"$M\" \"$H/evaluation/ccc3.json\" --num-aug 0 $THREADS" /dev/null \
        > "$S/tty.txt" 2> /dev/null < /dev/null
    check "solve seen: a terminal gets the ARC colours (24-bit)" grep -q "$(printf '\033')\[48;2;" "$S/tty.txt"
else
    echo "SKIP: arc_cli solve in a terminal (no 'script' command)" >&2
fi

printf '%s\n' '{"train": [{"input": [[1, 2]], "output": [[2, 1]]}, {"input": [[3, 4]], "output": [[4, 3]]}], "test": [{"input": [[5, 6]], "output": [[6, 5]]}]}' > "$S/eee5.json"
NO_COLOR=1 "$TRM" solve --task arc --model "$M" "$S/eee5.json" --num-aug 2 --adapt 4 --out "$S/sub1.json" \
    --svg "$S/eee5.svg" $THREADS > "$S/unseen.txt" 2> "$T/err"
check "solve unseen: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "solve unseen: fresh rows adapted: $(head -n 1 "$S/unseen.txt")" \
    grep -q '^task eee5: 3 copies, adapted 6 steps in [0-9.]* s, pass@2 ' "$S/unseen.txt"
check "solve unseen: --out wrote a submission" [ -s "$S/sub1.json" ]
check "solve unseen: --svg wrote a picture with the cells as rects" [ "$(grep -o '<rect' "$S/eee5.svg" | wc -l)" -ge 8 ]
check "solve unseen: the SVG is one document" [ "$(grep -c '</svg>' "$S/eee5.svg")" -eq 1 ]
"$TRM" solve --task arc --model "$M" "$S/eee5.json" --num-aug 2 --adapt 4 --out "$S/sub2.json" $THREADS > /dev/null 2>&1
check "solve unseen: the same seed gives the same submission" cmp -s "$S/sub1.json" "$S/sub2.json"
NO_COLOR=1 "$TRM" solve --task arc --model "$M" "$S/eee5.json" --num-aug 0 --adapt 0 $THREADS > "$S/plain.txt" 2> "$T/err"
check "solve unseen --adapt 0 --num-aug 0: the plain task ($(head -n 1 "$S/plain.txt"))" \
    grep -q '^task eee5: 1 copies, not adapted' "$S/plain.txt"
NO_COLOR=1 "$TRM" solve --task arc --model "$M" "$S/eee5.json" --num-aug 1 --adapt 2 --adapt-net $THREADS > "$S/net.txt" 2> "$T/err"
check "solve unseen --adapt-net: exit status ($(head -c 300 "$T/err"))" grep -q '^task eee5: 2 copies, adapted' "$S/net.txt"
if [ $HAVE_PY -eq 1 ]; then
    check "solve unseen: the submission: $(head -c 200 "$S/sub1.json")" json_check "$S/sub1.json" \
        'list(d) == ["eee5"] and len(d["eee5"]) == 1 and set(d["eee5"][0]) == {"attempt_1", "attempt_2"}'
fi

NO_COLOR=1 "$TRM" solve --task arc --model "$M" "$HK/h_evaluation_challenges.json" --all \
    --solutions "$HK/h_evaluation_solutions.json" --num-aug 1 --out "$S/sub-all.json" $THREADS > "$S/all.txt" 2> "$T/err"
check "solve --all: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "solve --all: both tasks, seen" [ "$(grep -c '^task \(ccc3\|ddd4\): seen in training' "$S/all.txt")" -eq 2 ]
check "solve --all: scored over 3 test outputs" grep -q '^2 tasks: pass@2 .* (mean over 3 test outputs)' "$S/all.txt"
if [ $HAVE_PY -eq 1 ]; then
    check "solve --all: the submission lists both tasks in file order" json_check "$S/sub-all.json" \
        'list(d) == ["ccc3", "ddd4"] and len(d["ccc3"]) == 2 and len(d["ddd4"]) == 1'
fi
NO_COLOR=1 "$TRM" solve --task arc --model "$M" "$HK/h_evaluation_challenges.json" --id ddd4 --num-aug 0 $THREADS > "$S/id.txt" 2> "$T/err"
check "solve --id: one task ($(head -c 200 "$T/err"))" [ "$(grep -c '^task ' "$S/id.txt")" -eq 1 ]
check "solve --id: that task" grep -q '^task ddd4: ' "$S/id.txt"

printf '%s\n' '{"train": [{"input": [[1, 2, 3, 4, 5]], "output": [[1]]}], "test": [{"input": [[1]]}]}' > "$S/wide.json"
printf '%s\n' '{"train": [{"input": [[1, 12]], "output": [[1]]}], "test": [{"input": [[1]]}]}' > "$S/colour.json"
printf '%s\n' '{"puzzles": [1, 2, 3]}' > "$S/other.json"
printf '%s' '{"train": [{"input": [[1' > "$S/cut.json"
expect_fail "solve: not ARC JSON" "$S/other.json|not an ARC task file" "$TRM" solve --model "$M" "$S/other.json"
expect_fail "solve: truncated JSON" "$S/cut.json|not valid JSON" "$TRM" solve --model "$M" "$S/cut.json"
expect_fail "solve: a colour outside 0-9" "$S/colour.json|train 0 input|12" "$TRM" solve --model "$M" "$S/colour.json"
expect_fail "solve: a grid larger than the model's canvas" "$S/wide.json|wide|does not fit the model's 4 x 4 canvas" \
    "$TRM" solve --model "$M" "$S/wide.json" $THREADS
expect_fail "solve: --solutions without a solution for a test input" "no solutions for task ccc3" \
    "$TRM" solve --model "$M" "$HK/h_evaluation_challenges.json" --all --solutions "$HK/h_training_solutions.json"
expect_fail "solve: a challenges file without --all" "$HK/h_evaluation_challenges.json|2 tasks|--all" \
    "$TRM" solve --model "$M" "$HK/h_evaluation_challenges.json"
expect_fail "solve: --id of no task" "no task zzz9" "$TRM" solve --model "$M" "$HK/h_evaluation_challenges.json" --id zzz9
expect_fail "solve: no task file" "task file" "$TRM" solve --task arc --model "$M"
expect_fail "solve: two task files" "unexpected argument" "$TRM" solve --model "$M" "$S/eee5.json" "$S/eee5.json"
expect_fail "solve: a missing task file" "$S/nope.json" "$TRM" solve --model "$M" "$S/nope.json"
expect_fail "solve: --task nqueens with an ARC model" "--task nqueens|arc model" "$TRM" solve --task nqueens --model "$M" "$S/eee5.json"
expect_fail "solve: --out into a missing directory, before solving" "$S/nodir/sub.json" \
    "$TRM" solve --model "$M" "$S/eee5.json" --out "$S/nodir/sub.json"
cat "$HK/h_evaluation_challenges.json" | sed 's/"ddd4": {"train": \[{"input": \[\[1, 2, 3\], \[4, 5, 6\], \[7, 8, 9\]\]/"ddd4": {"train": [{"input": [[1, 2, 3, 4, 5], [4, 5, 6, 7, 8]]/' > "$S/late.json"
NO_COLOR=1 "$TRM" solve --model "$M" "$S/late.json" --all --num-aug 0 --out "$S/late-sub.json" $THREADS > "$S/late.txt" 2> "$T/err"
check "solve --all: a task larger than the canvas is skipped ($(head -c 200 "$T/err"))" \
    grep -q "^solve: 1 of the 2 tasks do not fit the model's 4 x 4 canvas: skipped, not scored" "$T/err"
check "solve --all: the other task solved" grep -q '^task ccc3: ' "$S/late.txt"
check "solve --all: the skipped task not drawn" [ "$(grep -c '^task ddd4' "$S/late.txt")" -eq 0 ]
if [ $HAVE_PY -eq 1 ]; then
    check "solve --all: the submission still lists the skipped task, with [[0]]" json_check "$S/late-sub.json" \
        'list(d) == ["ccc3", "ddd4"] and d["ddd4"] == [{"attempt_1": [[0]], "attempt_2": [[0]]}]'
fi
expect_fail "solve --id: a task larger than the canvas" "ddd4|does not fit the model's 4 x 4 canvas" \
    "$TRM" solve --model "$M" "$S/late.json" --id ddd4 --out "$S/late-id.json" $THREADS
check "solve --id: a refused task wrote no submission" [ ! -e "$S/late-id.json" ]

# --------------------------------------------------------------------------- dataset directory refusals
C=$B/corrupt
mkdir "$C"
# corrupt NAME SPLIT: a fresh copy of $D in $C/NAME-SPLIT, echoed
corrupt() { rm -rf "$C/$1-$2"; cp -R "$D" "$C/$1-$2"; echo "$C/$1-$2"; }
poke() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2> /dev/null; }   # poke FILE OFFSET BYTES
for s in train test; do
    X=$(corrupt trunc $s); head -c 140 "$D/$s/all__inputs.npy" > "$X/$s/all__inputs.npy"
    X=$(corrupt magic $s); poke "$X/$s/all__inputs.npy" 0 'X'
    X=$(corrupt token $s); poke "$X/$s/all__labels.npy" 133 '\014'
    X=$(corrupt order $s); poke "$X/$s/all__puzzle_indices.npy" 132 '\144\000\000\000'
    X=$(corrupt ident $s); poke "$X/$s/all__puzzle_identifiers.npy" 128 '\015\000\000\000'
    X=$(corrupt vocab11 $s); sed 's/"vocab_size": 12/"vocab_size": 11/' "$D/$s/dataset.json" > "$X/$s/dataset.json"
    X=$(corrupt vocab13 $s); sed 's/"vocab_size": 12/"vocab_size": 13/' "$D/$s/dataset.json" > "$X/$s/dataset.json"
    X=$(corrupt seqlen $s); sed 's/"seq_len": 16, //' "$D/$s/dataset.json" > "$X/$s/dataset.json"
    X=$(corrupt sets $s); sed 's/"sets": \["all"\]/"sets": ["all", "all1"]/' "$D/$s/dataset.json" > "$X/$s/dataset.json"
    X=$(corrupt groups $s); sed 's/"total_groups": [0-9]*/"total_groups": 7/' "$D/$s/dataset.json" > "$X/$s/dataset.json"
    X=$(corrupt gone $s); rm "$X/$s/all__group_indices.npy"
done
check "corrupt: the truncated copy kept its header" [ "$(wc -c < "$C/trunc-train/train/all__inputs.npy")" -eq 140 ]
check "corrupt: the patched token" [ "$(bytes_of "$C/token-test/test/all__labels.npy" | cut -d' ' -f6)" = 12 ]
check "corrupt: the patched identifier" [ "$(bytes_of "$C/ident-train/train/all__puzzle_identifiers.npy" | cut -d' ' -f1)" = 13 ]
# refuse SPLIT CASE 'KW|...' ('@' stands for the file's split directory): train refuses a
# defect of the train split (and leaves no run directory), eval one of the test split.
refuse() {
    s=$1 c=$2 X=$C/$2-$1
    kws=$(printf '%s' "$3" | sed "s|@|$X/$s|g")
    if [ "$s" = train ]; then
        expect_fail "train: $c in $s" "$kws" "$TRM" train --task arc --data "$X" --steps 1 --batch 4 \
            --out "$X.run" --quiet $THREADS
        check "train: $c in $s left a run directory" [ ! -e "$X.run" ]
    else
        expect_fail "eval: $c in $s" "$kws" "$TRM" eval --model "$M" --data "$X" $THREADS
    fi
}
for s in train test; do
    refuse $s trunc "@/all__inputs.npy|140 bytes"
    refuse $s magic "@/all__inputs.npy|magic"
    refuse $s token "@/all__labels.npy|token 12|row 0, position 5|vocab_size 12"
    refuse $s order "@/all__puzzle_indices.npy|offset 2|below the one before it (100)"
    refuse $s ident "@/all__puzzle_identifiers.npy|identifier 13|num_puzzle_identifiers"
    refuse $s vocab11 "@/all__inputs.npy|token 11|vocab_size 11"
    refuse $s seqlen "@/dataset.json|\"seq_len\""
    refuse $s sets "@/dataset.json|\"sets\""
    refuse $s groups "@/dataset.json|total_groups 7|@/all__group_indices.npy"
    refuse $s gone "@/all__group_indices.npy|cannot open"
done
refuse train vocab13 "@/dataset.json|vocab_size 13|arc has 12"
refuse test vocab13 "@/dataset.json|vocab_size 13|ARC"
X=$(corrupt noids train); rm "$X/identifiers.json"
refuse train noids "$X/identifiers.json|cannot open"
X=$(corrupt noids test); rm "$X/identifiers.json"
refuse test noids "$X/identifiers.json|cannot open"
X=$(corrupt names train); printf '["<blank>", "aaa1"]' > "$X/identifiers.json"
refuse train names "$X/identifiers.json|2 names|13"
X=$(corrupt nopuz train); rm "$X/test_puzzles.json"
refuse train nopuz "$X/test_puzzles.json|cannot open"
X=$(corrupt nopuz test); rm "$X/test_puzzles.json"
refuse test nopuz "$X/test_puzzles.json|cannot open"
# The two splits of different builds: refused before training, not at the first evaluation.
X=$(corrupt mixed train); rm -rf "$X/test"; cp -R "$T/D1/test" "$X/test"; cp "$T/D1/identifiers.json" "$X/"
refuse train mixed "$X/train/dataset.json|num_puzzle_identifiers 13|$X/test/dataset.json|9"
X=$(corrupt canvas train); rm -rf "$X/test"; cp -R "$T/g2/test" "$X/test"; cp "$T/g2/identifiers.json" "$X/"
refuse train canvas "$X:|seq_len (16, 4)"
expect_fail "train: --task nqueens on ARC data" "$D/train/dataset.json|vocab_size 12|nqueens" \
    "$TRM" train --task nqueens --data "$D" --steps 1 --out "$B/run-nq" --quiet $THREADS
check "train: --task nqueens on ARC data left a run directory" [ ! -e "$B/run-nq" ]
expect_fail "train: --task arc without --data" "arc|--data" "$TRM" train --task arc --steps 1 --out "$B/run-arc" --quiet
expect_fail "train: --task arc on a directory without the layout" "arc|--data" \
    "$TRM" train --task arc --data "$H" --steps 1 --out "$B/run-arc" --quiet
check "train: --task arc without data left a run directory" [ ! -e "$B/run-arc" ]
expect_fail "eval arc: data without the layout" "$H/test/dataset.json|cannot open" "$TRM" eval --model "$M" --data "$H"

echo "arc_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
