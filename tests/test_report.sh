#!/bin/sh
# test_report.sh: trm report end to end. A tiny N-Queens run (a few optimizer steps on 64
# puzzles), then the page: self-contained (nothing fetched: no http(s) src or href, no
# <script src>, no stylesheet link), the charts and the boards there, the table of every
# evaluation; the boards' reasons when the model or the data is missing; and bad input:
# one "trm: error:" line naming the file, a non-zero exit, no output left behind.
TRM=${TRM:-build/trm}
case $TRM in /*) ;; *) TRM=$(pwd)/$TRM ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/trm_report.XXXXXX") || { echo "report: 0 passed, 1 failed"; exit 1; }
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export OMP_WAIT_POLICY
pass=0
fail=0

. "$(dirname "$0")/harness.sh"
count() { grep -o -F -- "$2" "$1" | wc -l | tr -d ' '; }   # count FILE STRING: occurrences

# --------------------------------------------------------------------------- a tiny run
"$TRM" data nqueens --split paper --seed 1 --out "$T/D" > /dev/null 2>&1
S=$T/S
mkdir "$S"
head -n 64 "$T/D/train.txt" > "$S/train.txt"
head -n 8 "$T/D/test.txt" > "$S/test.txt"
head -n 8 "$T/D/valid.txt" > "$S/valid.txt"
R=$T/R
"$TRM" train --task nqueens --data "$S" --method dis --preset compact --steps 18 --batch 8 --eval-every 6 \
    --out "$R" --quiet --threads 1 > /dev/null 2> "$T/err"
check "train: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "train: the run record names the data" grep -q "\"type\":\"run\".*\"data\":\"$S\"" "$R/metrics.jsonl"
check "train: train records carry the loss of each of the 6 steps" \
    grep -q '"step_loss":\[[0-9.e-]*,[0-9.e-]*,[0-9.e-]*,[0-9.e-]*,[0-9.e-]*,[0-9.e-]*\]' "$R/metrics.jsonl"
evals=$(grep -c '"type":"eval"' "$R/metrics.jsonl")

# --------------------------------------------------------------------------- the page
H=$T/pg/report.html
mkdir "$T/pg"
"$TRM" report "$R" --out "$H" --threads 1 > "$T/stdout" 2> "$T/err"
check "report: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
check "report: stderr is empty: $(head -c 300 "$T/err")" [ ! -s "$T/err" ]
check "report: stdout names the file" [ "$(cat "$T/stdout")" = "$H" ]
check "report: only the page in its folder: $(ls "$T/pg" | tr '\n' ' ')" [ "$(ls "$T/pg")" = "report.html" ]
check "report: an HTML document" grep -q '^<!DOCTYPE html>' "$H"
check "report: ends the document" grep -q '^</html>$' "$H"
check "report: no http(s) src or href" [ "$(grep -c -i -E "(src|href)[[:space:]]*=[[:space:]]*[\"']?(https?:)?//" "$H")" -eq 0 ]
check "report: no external script" [ "$(grep -c -i '<script[^>]*src' "$H")" -eq 0 ]
check "report: no stylesheet link, import or url()" [ "$(grep -c -i -E '<link|@import|url\(' "$H")" -eq 0 ]
check "report: no <img> or <iframe>" [ "$(grep -c -i -E '<img|<iframe|<object|<embed' "$H")" -eq 0 ]
# 4 training charts, 5 per-step evaluation charts and the last evaluation by step
check "report: 10 charts ($(count "$H" '<svg class="chart"'))" [ "$(count "$H" '<svg class="chart"')" -eq 10 ]
for title in "training loss per supervision step" "learning rate" "throughput" "token accuracy per supervision step" \
             "exact per supervision step" "valid per supervision step" "advantage margin per supervision step" \
             "changed cells per supervision step" "by supervision step"; do
    check "report: a chart '$title'" has "$H" "aria-label=\"$title"
done
check "report: the loss chart has a line per step (6) and the mean" has "$H" '<svg class="chart" data-series="7"'
check "report: charts draw lines" [ "$(count "$H" '<polyline')" -ge 20 ]
check "report: no 'no data' chart" [ "$(count "$H" '>no data<')" -eq 0 ]
check "report: a table row per evaluation ($evals)" \
    [ "$(grep -c -E '^<tr><td>[0-9]+</td><td>(valid|test)</td>' "$H")" -eq "$evals" ]
check "report: the final test evaluation's notes" has "$H" 'why: <b>the last checkpoint'
# 3 puzzles x (input, 6 steps, label)
check "report: 24 boards ($(count "$H" '<svg class="board"'))" [ "$(count "$H" '<svg class="board"')" -eq 24 ]
check "report: 3 puzzles" [ "$(count "$H" '<div class="puzzle">')" -eq 3 ]
q=$(head -n 1 "$S/test.txt" | cut -d' ' -f1 | tr -cd 'Q' | wc -c | tr -d ' ')
check "report: the first test puzzle ($q given queens)" has "$H" "test row 0, given queens $q:"
check "report: queens drawn" has "$H" "$(printf '\342\231\233')"
check "report: a self-check script" has "$H" "data-charts-drawn"

"$TRM" report "$R" --threads 1 --puzzles 1 > /dev/null 2> "$T/err"
check "report: default --out RUN_DIR/report.html ($(head -c 200 "$T/err"))" [ -s "$R/report.html" ]
check "report --puzzles 1: 8 boards" [ "$(count "$R/report.html" '<svg class="board"')" -eq 8 ]
check "report: no temp file left in the run folder" [ "$(ls "$R" | grep -c tmp)" -eq 0 ]

# --------------------------------------------------------------------------- boards missing, curves kept
"$TRM" report "$R" --out "$T/nomodel.html" --model "$T/none.safetensors" > /dev/null 2> "$T/err"
check "no model: exit status 0" [ $? -eq 0 ]
check "no model: the page says why" has "$T/nomodel.html" "No boards: $T/none.safetensors: cannot open"
check "no model: stderr says why" has "$T/err" "$T/none.safetensors"
check "no model: the charts are there" [ "$(count "$T/nomodel.html" '<svg class="chart"')" -eq 10 ]
check "no model: no boards" [ "$(count "$T/nomodel.html" '<svg class="board"')" -eq 0 ]
mv "$S" "$T/S.moved"
"$TRM" report "$R" --out "$T/nodata.html" > /dev/null 2> "$T/err"
check "no data: exit status 0" [ $? -eq 0 ]
check "no data: the page names the data and asks for --data" has "$T/nodata.html" "give --data"
check "no data: the page names the missing folder" has "$T/nodata.html" "$S"
"$TRM" report "$R" --out "$T/data.html" --data "$T/S.moved/test.txt" --puzzles 2 > /dev/null 2> "$T/err"
check "--data FILE: boards ($(head -c 200 "$T/err"))" [ "$(count "$T/data.html" '<svg class="board"')" -eq 16 ]
"$TRM" report "$R" --out "$T/data2.html" --data "$T/S.moved" --puzzles 2 > /dev/null 2>&1
check "--data DIR: boards" [ "$(count "$T/data2.html" '<svg class="board"')" -eq 16 ]
mv "$T/S.moved" "$S"

# A run on generated data (trm train without --data: the run record says "data":null and
# the generator's split and seed): the report makes the same test split again. The run
# above trained on seed 1's puzzles; its record, rewritten so, must give seed 1's test set
# (a real generated run would evaluate 400 puzzles: seconds this test need not spend).
G=$T/G
mkdir "$G"
cp "$R/model.safetensors" "$G/"
sed 's|"data":"[^"]*"|"data":null,"split":"paper","data_seed":1|' "$R/metrics.jsonl" > "$G/metrics.jsonl"
"$TRM" report "$G" --out "$T/gen.html" --puzzles 3 > /dev/null 2> "$T/err"
for i in 0 1 2; do
    q=$(sed -n "$((i + 1))p" "$T/D/test.txt" | cut -d' ' -f1 | tr -cd 'Q' | wc -c | tr -d ' ')
    check "generated: test puzzle $i of seed 1 ($q given queens; $(head -c 200 "$T/err"))" \
        has "$T/gen.html" "test row $i, given queens $q:"
done
check "generated: the page says so" has "$T/gen.html" "generated (split paper, seed 1)"

# A run from before step_loss (train records without it) still draws its loss.
O=$T/old
mkdir "$O"
sed 's/,"step_loss":\[[^]]*\]//' "$R/metrics.jsonl" > "$O/metrics.jsonl"
"$TRM" report "$O" --out "$T/old.html" > /dev/null 2>&1
check "old records: exit status" [ $? -eq 0 ]
check "old records: the loss chart has mean and last step" has "$T/old.html" 'last step</text>'
check "old records: a note on the missing per-step loss" has "$T/old.html" 'no per-step loss'

# --------------------------------------------------------------------------- bad input
B=$T/bad
mkdir "$B"
echo old > "$T/keep.html"
bad_metrics() {   # bad_metrics DESCRIPTION KEYWORDS: metrics.jsonl is on stdin
    cat > "$B/metrics.jsonl"
    expect_fail "$1" "$2" "$TRM" report "$B" --out "$T/keep.html"
    check "$1: the old page is untouched" [ "$(cat "$T/keep.html")" = old ]
    check "$1: no temp file left: $(ls "$T" | grep tmp)" [ "$(ls "$T" | grep -c tmp)" -eq 0 ]
}
expect_fail "no RUN_DIR" "RUN_DIR" "$TRM" report
expect_fail "RUN_DIR missing" "$T/nothere|directory" "$TRM" report "$T/nothere"
expect_fail "RUN_DIR is a file" "$T/keep.html|directory" "$TRM" report "$T/keep.html"
expect_fail "no metrics.jsonl" "$T/bad/metrics.jsonl|cannot open" "$TRM" report "$B" --out "$T/keep.html"
check "no metrics.jsonl: the old page is untouched" [ "$(cat "$T/keep.html")" = old ]
: | bad_metrics "empty metrics.jsonl" "$B/metrics.jsonl|no train or eval records"
head -n 3 "$R/metrics.jsonl" | head -c -40 | bad_metrics "a truncated line" "$B/metrics.jsonl:3:|not a JSON object"
{ head -n 2 "$R/metrics.jsonl"; echo '{"step":3}'; } | bad_metrics "a record without a type" "$B/metrics.jsonl:3:|type"
{ head -n 1 "$R/metrics.jsonl"; echo '{"type":"train","step":6,"loss":"low"}'; } |
    bad_metrics "a loss that is not a number" "$B/metrics.jsonl:2:|loss|not a number"
{ head -n 1 "$R/metrics.jsonl"; echo '{"type":"train","loss":1}'; } | bad_metrics "a train record without a step" "$B/metrics.jsonl:2:|step"
{ head -n 1 "$R/metrics.jsonl"; echo '{"type":"eval","split":"valid","step":6,"exact":0.5}'; } |
    bad_metrics "an eval record without per_step" "$B/metrics.jsonl:2:|per_step"
{ head -n 1 "$R/metrics.jsonl"; echo '{"type":"eval","split":"valid","step":6,"per_step":[{"exact":"x"}]}'; } |
    bad_metrics "a per-step value that is not a number" "$B/metrics.jsonl:2:|exact"
{ head -n 1 "$R/metrics.jsonl"; echo '{"type":"train","step":6,"step_loss":[1,"x"]}'; } |
    bad_metrics "a step_loss that is not numbers" "$B/metrics.jsonl:2:|step_loss"
printf 'not json\n' | bad_metrics "not JSON at all" "$B/metrics.jsonl:1:"
printf '[1,2]\n' | bad_metrics "an array, not an object" "$B/metrics.jsonl:1:|object"
printf '{"type":"run","task":"nqueens"}\n' | bad_metrics "a run record alone" "no train or eval records"
mkdir "$B/metrics.jsonl.d" && rm "$B/metrics.jsonl" && mv "$B/metrics.jsonl.d" "$B/metrics.jsonl"
expect_fail "metrics.jsonl is a directory" "$B/metrics.jsonl" "$TRM" report "$B" --out "$T/keep.html"
expect_fail "--out in a missing folder" "$T/no/such/r.html" "$TRM" report "$R" --out "$T/no/such/r.html"
expect_fail "--out is a directory" "$T/pg|directory" "$TRM" report "$R" --out "$T/pg"
expect_fail "unknown option" "--bogus" "$TRM" report "$R" --bogus 1
expect_fail "--puzzles out of range" "--puzzles" "$TRM" report "$R" --puzzles -1
expect_fail "--precision unknown" "--precision" "$TRM" report "$R" --precision fp8
expect_fail "--feed unknown" "--feed" "$TRM" report "$R" --feed both

echo "report: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
