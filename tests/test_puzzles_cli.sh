#!/bin/sh
# test_puzzles_cli.sh: Sudoku and Maze end to end. `trm data sudoku` and `trm data maze
# --csv` against the official builders (sha256 of their output on the hand-made CSV files
# tests/fixtures/sudoku_small and maze_small: tests/fixtures/puzzle_official_builds.sha256),
# the maze generator and its CSV round trip, bad input (one error line naming the file and
# line, a non-zero exit, nothing written), and a tiny train / eval / solve on each task
# (the maze one at 8 x 8: task maze-8). With ../shared/data, a Sudoku-Extreme build too.
# Run from the project root with TRM=path/to/trm (default build/trm).
TRM=${TRM:-build/trm}
case $TRM in /*) ;; *) TRM=$(pwd)/$TRM ;; esac
ROOT=$(pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/trm_puzzles_cli.XXXXXX") || { echo "puzzles_cli: 0 passed, 1 failed"; exit 1; }
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
F=$ROOT/tests/fixtures
SD=$F/sudoku_small
MZ=$F/maze_small
shape_of() { head -c 128 "$1" | tr -d '\n' | sed -n "s/.*'shape': (\([^)]*\)).*/\1/p"; }
differ() { ! cmp -s "$1" "$2"; }

# ------------------------------------------------------------ the official builders' output
build() {   # build NAME ARGS...: trm data ARGS --out $T/NAME
    name=$1; shift
    "$TRM" data "$@" --out "$T/$name" > "$T/out" 2> "$T/err"
    check "data $name: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
}
build sudoku-aug0 sudoku --csv "$SD/train.csv" --test-csv "$SD/test.csv"
build sudoku-sub12-aug4 sudoku --csv "$SD/train.csv" --test-csv "$SD/test.csv" --subsample 12 --num-aug 4 --seed 7
build maze maze --csv "$MZ/train.csv" --test-csv "$MZ/test.csv"
build maze-sub8-aug maze --csv "$MZ/train.csv" --test-csv "$MZ/test.csv" --subsample 8 --aug --seed 3
if command -v sha256sum > /dev/null 2>&1; then
    grep -v '^#' "$F/puzzle_official_builds.sha256" | while read -r sum path; do
        got=$(sha256sum "$T/$path" 2> /dev/null | cut -d' ' -f1)
        [ "$got" = "$sum" ] || echo "FAIL: $path: sha256 $got, the official builder's $sum" >&2
        [ "$got" = "$sum" ] || echo x
    done > "$T/mismatch"
    check "every file as the official builders' ($(lines "$T/mismatch") differ)" [ ! -s "$T/mismatch" ]
    check "the fixture lists 4 builds x 13 files" [ "$(grep -c -v '^#' "$F/puzzle_official_builds.sha256")" -eq 52 ]
else
    echo "SKIP: puzzles_cli sha256 of the official builds (no sha256sum)"
fi
check "sudoku: 20 x 5 rows" [ "$(shape_of "$T/sudoku-sub12-aug4/train/all__inputs.npy")" = "60, 81" ]
check "maze --aug: 8 views of 8 mazes" [ "$(shape_of "$T/maze-sub8-aug/train/all__inputs.npy")" = "64, 100" ]
build sudoku-again sudoku --csv "$SD/train.csv" --test-csv "$SD/test.csv" --subsample 12 --num-aug 4 --seed 7
check "sudoku: the same seed, the same arrays" cmp -s "$T/sudoku-again/train/all__inputs.npy" "$T/sudoku-sub12-aug4/train/all__inputs.npy"
build sudoku-seed8 sudoku --csv "$SD/train.csv" --subsample 12 --num-aug 4 --seed 8
check "sudoku: another seed, other arrays" differ "$T/sudoku-seed8/train/all__inputs.npy" "$T/sudoku-sub12-aug4/train/all__inputs.npy"
check "sudoku: no --test-csv, no test split" [ ! -e "$T/sudoku-seed8/test" ]

SHARED=$ROOT/../shared/data/sudoku
if [ -f "$SHARED/train.csv" ] && [ -f "$SHARED/test_hard.csv" ]; then
    build extreme sudoku --csv "$SHARED/train.csv" --test-csv "$SHARED/test_hard.csv" --test-count 1000 \
        --valid-count 200 --num-aug 3 --seed 0
    check "Sudoku-Extreme 1k: 4,000 training rows" [ "$(shape_of "$T/extreme/train/all__inputs.npy")" = "4000, 81" ]
    check "Sudoku-Extreme: 1,000 test puzzles" [ "$(shape_of "$T/extreme/test/all__inputs.npy")" = "1000, 81" ]
    check "Sudoku-Extreme: 200 validation puzzles" [ "$(shape_of "$T/extreme/valid/all__inputs.npy")" = "200, 81" ]
else
    echo "SKIP: puzzles_cli a Sudoku-Extreme build (../shared/data/sudoku not found)"
fi

# ------------------------------------------------------------ the maze generator
G=$T/gen
"$TRM" data maze --size 8 --min-path 12 --count 40 --test-count 10 --valid-count 10 --seed 1 --csv-out --out "$G" \
    > "$T/out" 2> "$T/err"
check "maze generator: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "maze generator: names the task maze-8" has "$T/out" "task maze-8"
check "maze generator: train, test, valid" test -f "$G/train/dataset.json" -a -f "$G/test/dataset.json" -a -f "$G/valid/dataset.json"
check "maze generator: 64 tokens" grep -q '"seq_len": 64,' "$G/train/dataset.json"
check "maze generator: train.csv has 41 lines" [ "$(lines "$G/train.csv")" -eq 41 ]
check "maze generator: the CSV header" [ "$(head -n 1 "$G/train.csv" | tr -d '\r')" = "source,question,answer,rating" ]
check "maze generator: every path longer than 12" [ "$(tail -n +2 "$G/train.csv" | tr -d '\r' | awk -F, '$4 <= 12' | wc -l)" -eq 0 ]
"$TRM" data maze --csv "$G/train.csv" --test-csv "$G/test.csv" --out "$T/regen" > /dev/null 2> "$T/err"
check "maze CSV round trip: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
for f in train/all__inputs.npy train/all__labels.npy test/all__inputs.npy test/all__labels.npy; do
    check "maze CSV round trip: $f" cmp -s "$G/$f" "$T/regen/$f"
done
"$TRM" data maze --size 8 --min-path 12 --count 40 --test-count 10 --valid-count 10 --seed 1 --out "$T/gen2" > /dev/null 2>&1
check "maze generator: the same seed, the same mazes" cmp -s "$G/train/all__inputs.npy" "$T/gen2/train/all__inputs.npy"

# ------------------------------------------------------------ bad input
X=$T/X
csv() { printf 'source,question,answer,rating\n%s\n' "$1" > "$T/$2"; }
Q=$(sed -n 2p "$SD/train.csv" | cut -d, -f2)
A=$(sed -n 2p "$SD/train.csv" | cut -d, -f3)
printf 'source,puzzle,solution,rating\nx,%s,%s,1\n' "$Q" "$A" > "$T/header.csv"
expect_fail "sudoku: a wrong header" "$T/header.csv:1:|header" "$TRM" data sudoku --csv "$T/header.csv" --out "$X"
csv "x,$(printf '%s' "$Q" | cut -c 1-80),$A,1" short.csv
expect_fail "sudoku: an 80-character puzzle" "$T/short.csv:2:|80 characters" "$TRM" data sudoku --csv "$T/short.csv" --out "$X"
csv "x,a$(printf '%s' "$Q" | cut -c 2-),$A,1" letter.csv
expect_fail "sudoku: a letter in the question" "$T/letter.csv:2:|'a'" "$TRM" data sudoku --csv "$T/letter.csv" --out "$X"
csv "x,$Q,0$(printf '%s' "$A" | cut -c 2-),1" zero.csv
expect_fail "sudoku: a 0 in the answer" "$T/zero.csv:2:|answer" "$TRM" data sudoku --csv "$T/zero.csv" --out "$X"
csv "x,$Q,$(printf '%s' "$A" | tr 12 21),1" wrong.csv
expect_fail "sudoku: an answer that changes a given" "$T/wrong.csv:2:|does not solve" "$TRM" data sudoku --csv "$T/wrong.csv" --out "$X"
expect_fail "sudoku: a bad test file" "$T/short.csv:2:" "$TRM" data sudoku --csv "$SD/train.csv" --test-csv "$T/short.csv" --out "$X"
expect_fail "sudoku: too few test puzzles" "$SD/test.csv|too few" "$TRM" data sudoku --csv "$SD/train.csv" --test-csv "$SD/test.csv" --test-count 6 --valid-count 1 --out "$X"
expect_fail "sudoku: a missing file" "$T/none.csv|cannot open" "$TRM" data sudoku --csv "$T/none.csv" --out "$X"
expect_fail "sudoku: no --csv" "--csv" "$TRM" data sudoku --out "$X"
M5="S     ###  ###  ###     G"
P5="S....o###.o###.o###.ooooG"
csv "x,$(printf '%s' "$M5" | tr S ' '),$P5,1" nostart.csv
expect_fail "maze: no S" "$T/nostart.csv:2:|no start" "$TRM" data maze --csv "$T/nostart.csv" --out "$X"
csv "x,$(printf '%s' "$M5" | tr G ' '),$P5,1" nogoal.csv
expect_fail "maze: no G" "$T/nogoal.csv:2:|no goal" "$TRM" data maze --csv "$T/nogoal.csv" --out "$X"
csv "x,S   S ###  ###  ###     G,$P5,1" twostarts.csv
expect_fail "maze: two S" "$T/twostarts.csv:2:|2 starts" "$TRM" data maze --csv "$T/twostarts.csv" --out "$X"
csv "x,$M5 ,$P5 ,1" square.csv
expect_fail "maze: not square" "$T/square.csv:2:|not a square maze" "$TRM" data maze --csv "$T/square.csv" --out "$X"
csv "x,$M5,Soooo.###o.###o.###o...oG,1" notshortest.csv
expect_fail "maze: an answer that is not shortest" "$T/notshortest.csv:2:|not a shortest path" "$TRM" data maze --csv "$T/notshortest.csv" --out "$X"
expect_fail "maze: an impossible --min-path" "--min-path 900|at most 450" "$TRM" data maze --min-path 900 --out "$X"
expect_fail "maze: a --min-path never reached" "--min-path 7|1000 attempts" "$TRM" data maze --size 4 --min-path 7 --count 1 --test-count 0 --out "$X"
expect_fail "maze: --size with --csv" "--size|--csv" "$TRM" data maze --csv "$MZ/train.csv" --size 12 --out "$X"
LOOSE=1
expect_fail "maze: --size out of range" "--size" "$TRM" data maze --size 31 --out "$X"
check "bad input: nothing written" [ ! -e "$X" ]

# ------------------------------------------------------------ train, eval, solve
# Text files of the test puzzles: "<input> <label>" (open maze cells as '.').
tail -n +2 "$SD/test.csv" | tr -d '\r' | awk -F, '{ print $2 " " $3 }' > "$T/sudoku.txt"
tail -n +2 "$SD/test.csv" | tr -d '\r' | cut -d, -f2 | head -n 3 > "$T/sudoku_puzzles.txt"
R=$T/run-sudoku
"$TRM" train --task sudoku --data "$T/sudoku-sub12-aug4" --method dis --preset compact --steps 2 --batch 4 --warmup 0 \
    --targets solver --out "$R" --quiet $THREADS > "$T/out" 2> "$T/err"
check "train sudoku --targets solver: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
"$TRM" info --model "$R/model.safetensors" > "$T/info" 2>&1
check "train sudoku: the MLP mixer by default" grep -q "MLP-mixer" "$T/info"
"$TRM" eval --model "$R/model.safetensors" --data "$T/sudoku.txt" $THREADS > "$T/eval.json" 2> "$T/err"
check "eval sudoku: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "eval sudoku: 6 puzzles" grep -q '"puzzles":[[:space:]]*6,' "$T/eval.json"
"$TRM" solve --task sudoku --model "$R/model.safetensors" $THREADS < "$T/sudoku_puzzles.txt" > "$T/solved" 2> "$T/err"
check "solve sudoku: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "solve sudoku: 3 boards of 81 cells" [ "$(grep -c -E '^[.1-9?]{81}$' "$T/solved")" -eq 3 ]
if command -v script > /dev/null 2>&1; then
    script -qec "\"$TRM\" solve --model \"$R/model.safetensors\" $THREADS < \"$T/sudoku_puzzles.txt\"" /dev/null \
        > "$T/tty" 2> /dev/null < /dev/null
    check "solve sudoku: a terminal gets 9 x 9 grids" [ "$(grep -c -- '------+-------+------' "$T/tty")" -eq 6 ]
else
    echo "SKIP: puzzles_cli solve in a terminal (no 'script' command)"
fi
printf '%s\n' "$(printf '%s' "$Q" | cut -c 1-80)" > "$T/bad_puzzle.txt"
IN=$T/bad_puzzle.txt
expect_fail "solve sudoku: an 80-character line" "stdin:1:|81 characters" \
    "$TRM" solve --model "$R/model.safetensors" $THREADS
expect_fail "solve: --task maze on a Sudoku model" "--task maze|sudoku model" \
    "$TRM" solve --task maze --model "$R/model.safetensors" $THREADS

tail -n +2 "$G/test.csv" | tr -d '\r' | awk -F, '{ q = $2; a = $3; gsub(/ /, ".", q); gsub(/ /, ".", a); print q " " a }' > "$T/maze.txt"
R=$T/run-maze
"$TRM" train --task maze --data "$G" --method dis --preset compact --steps 2 --batch 4 --warmup 0 \
    --targets solver --out "$R" --quiet $THREADS > "$T/out" 2> "$T/err"
check "train maze --targets solver on 8 x 8 data: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "train maze: the model is a maze-8 model" grep -q '"task":"maze-8"' "$R/metrics.jsonl"
expect_fail "train maze: 8 x 8 data for --task maze-12" "seq_len 64|maze-12" \
    "$TRM" train --task maze-12 --data "$G" --steps 1 --out "$T/run-x" $THREADS
expect_fail "train nqueens --targets solver" "--targets solver|nqueens" \
    "$TRM" train --task nqueens --targets solver --steps 1 --out "$T/run-x" $THREADS
"$TRM" eval --model "$R/model.safetensors" --data "$T/maze.txt" $THREADS > "$T/eval.json" 2> "$T/err"
check "eval maze-8: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "eval maze-8: 10 mazes" grep -q '"puzzles":[[:space:]]*10,' "$T/eval.json"
cut -d' ' -f1 "$T/maze.txt" | head -n 2 > "$T/mazes"
"$TRM" solve --task maze --model "$R/model.safetensors" $THREADS < "$T/mazes" > "$T/solved" 2> "$T/err"
check "solve --task maze on a maze-8 model: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "solve maze-8: 2 mazes of 64 cells" [ "$(grep -c -E '^[#.SGo?]{64}$' "$T/solved")" -eq 2 ]
head -n 1 "$T/mazes" | cut -c 1-63 > "$T/bad_maze.txt"
IN=$T/bad_maze.txt
expect_fail "solve maze-8: a 63-character line" "stdin:1:|64 characters" \
    "$TRM" solve --model "$R/model.safetensors" $THREADS

echo "puzzles_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
