#!/bin/sh
# test_report_browser.sh: the page of trm report in a real browser (headless chromium,
# Debian's package). The page's inline script counts the charts and boards that were laid
# out with a size and writes that on <body>; the DOM the browser dumps must show all of
# them drawn, and its console must stay silent (an uncaught error is logged there; a
# copy of the page with an error planted in it checks that the test would see one).
# Without chromium: "SKIP: report browser test (no chromium)", and the test passes.
TRM=${TRM:-build/trm}
case $TRM in /*) ;; *) TRM=$(pwd)/$TRM ;; esac
CHROMIUM=${CHROMIUM:-chromium}
if ! command -v "$CHROMIUM" > /dev/null 2>&1; then
    echo "SKIP: report browser test (no chromium)"
    echo "report_browser: 0 passed, 0 failed"
    exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/trm_report_browser.XXXXXX") || { echo "report_browser: 0 passed, 1 failed"; exit 1; }
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export OMP_WAIT_POLICY
pass=0
fail=0

. "$(dirname "$0")/harness.sh"

# The browser keeps its profile, caches and crash reports in the temp dir, not in ~.
browse() {   # browse PAGE OUT ERR MODE-FLAGS...
    page=$1 out=$2 err=$3
    shift 3
    HOME=$T timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
        --user-data-dir="$T/profile" --enable-logging=stderr --v=0 "$@" "file://$page" > "$out" 2> "$err"
}

# A tiny run, as in test_report.sh: 64 training puzzles, two evaluations on 8.
"$TRM" data nqueens --split paper --seed 1 --out "$T/D" > /dev/null 2>&1
mkdir "$T/S"
head -n 64 "$T/D/train.txt" > "$T/S/train.txt"
head -n 8 "$T/D/test.txt" > "$T/S/test.txt"
head -n 8 "$T/D/valid.txt" > "$T/S/valid.txt"
"$TRM" train --task nqueens --data "$T/S" --method dis --preset compact --steps 12 --batch 8 --eval-every 6 \
    --out "$T/R" --quiet --threads 1 > /dev/null 2> "$T/err"
check "train: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
H=$T/report.html
"$TRM" report "$T/R" --out "$H" --threads 1 > /dev/null 2> "$T/err"
check "report: exit status ($(head -c 300 "$T/err"))" [ $? -eq 0 ]
charts=$(grep -o '<svg class="chart"' "$H" | wc -l | tr -d ' ')
boards=$(grep -o '<svg class="board"' "$H" | wc -l | tr -d ' ')

browse "$H" "$T/dom.html" "$T/dom.err" --dump-dom
check "browser: exit status ($(grep -v -i -E 'dbus|bus\.cc' "$T/dom.err" | head -c 300))" [ $? -eq 0 ]
check "browser: the page's script ran" grep -q 'data-charts-drawn=' "$T/dom.html"
check "browser: all $charts charts laid out ($(grep -o 'data-charts-drawn="[^"]*"' "$T/dom.html"))" \
    grep -q "data-charts-drawn=\"$charts/$charts\"" "$T/dom.html"
check "browser: all $boards boards laid out ($(grep -o 'data-boards-drawn="[^"]*"' "$T/dom.html"))" \
    grep -q "data-boards-drawn=\"$boards/$boards\"" "$T/dom.html"
check "browser: charts and boards there at all ($charts, $boards)" [ "$charts" -ge 10 -a "$boards" -ge 8 ]
check "browser: nothing on the console: $(grep CONSOLE "$T/dom.err" | head -c 300)" [ "$(grep -c CONSOLE "$T/dom.err")" -eq 0 ]
check "browser: no failed loads: $(grep -i 'net::ERR' "$T/dom.err" | head -c 300)" [ "$(grep -c -i 'net::ERR' "$T/dom.err")" -eq 0 ]

# The control: the same page with an error planted in it must show on the console.
sed 's|</body>|<script>planted_error();</script></body>|' "$H" > "$T/planted.html"
browse "$T/planted.html" "$T/planted.dom" "$T/planted.err" --dump-dom
check "browser control: a planted script error reaches the console" grep -q 'CONSOLE.*planted_error' "$T/planted.err"

browse "$H" "$T/shot.out" "$T/shot.err" --window-size=1280,1600 --hide-scrollbars --screenshot="$T/shot.png"
check "screenshot: written" [ -s "$T/shot.png" ]
check "screenshot: a PNG" [ "$(head -c 8 "$T/shot.png" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ]
# A blank 1280 x 1600 page compresses to a few kB; drawn charts and boards do not.
size=$(wc -c < "$T/shot.png" | tr -d ' ')
check "screenshot: something drawn ($size bytes)" [ "$size" -gt 50000 ]

echo "report_browser: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
