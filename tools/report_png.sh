#!/bin/sh
# The README's picture of trm report (docs/img/report.png): a short real run (DIS-compact on
# N-Queens with the recipe of make run, generated data, one thread), its report, and a
# screenshot of the page by headless chromium (Debian's package).
#   tools/report_png.sh [MINUTES] [OUT.png]      (defaults: 2, docs/img/report.png)
#   TRM=path/to/trm, WIDTH and HEIGHT (the browser window, default 1280 x 2200)
set -eu
MINUTES=${1:-2}
OUT=${2:-docs/img/report.png}
TRM=${TRM:-build/trm}
WIDTH=${WIDTH:-1280}
HEIGHT=${HEIGHT:-2200}
case $TRM in /*) ;; *) TRM=$(pwd)/$TRM ;; esac
case $OUT in /*) ;; *) OUT=$(pwd)/$OUT ;; esac
command -v chromium > /dev/null 2>&1 || { echo "report_png: needs chromium (apt-get install chromium)" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/trm_report_png.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"     # the page names its run folder: a short relative one reads better
OMP_WAIT_POLICY=passive "$TRM" train --task nqueens --method dis --preset compact --mixer mlp --answer closest \
    --batch 32 --lr 2e-3 --min-ratio 0.05 --beta2 0.99 --precision auto --threads 1 --minutes "$MINUTES" \
    --eval-every 100 --log-every 10 --quiet --out runs/nqueens-dis > /dev/null
"$TRM" report runs/nqueens-dis --out report.html --threads 1 > /dev/null
HOME=$W timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$W/profile" --hide-scrollbars --window-size="$WIDTH,$HEIGHT" --screenshot="$W/shot.png" \
    "file://$W/report.html" > /dev/null 2>&1
mv "$W/shot.png" "$OUT"
echo "$OUT"
