#!/bin/sh
# The adaptation experiment of docs/results.md: a model trained without the ARC-AGI-1
# evaluation tasks solves the first N of them that fit its canvas, three ways: the fresh
# rows untrained, adapted with the network frozen, adapted with a copy of the network.
#   [MODES="none adapt adapt-net"] tools/arc_unseen.sh MODEL G N OUTDIR [extra trm solve options]
# Writes OUTDIR/<mode>.txt and .json (submissions) and prints a table. MODES picks the ways
# (two runs with different MODES and OUTDIRs can share the machine's cores).
set -eu
TRM=${TRM:-build/trm}
MODEL=$1 G=$2 N=$3 OUT=$4
shift 4
KAGGLE=${KAGGLE:-../shared/data/arc-kaggle/arc-agi}
mkdir -p "$OUT"
# The first N evaluation tasks (file order) whose every grid fits G x G, with solutions.
/usr/bin/python3 - "$KAGGLE" "$G" "$N" "$OUT" <<'PY'
import json, sys
prefix, G, N, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ch = json.load(open(prefix + "_evaluation_challenges.json"))
so = json.load(open(prefix + "_evaluation_solutions.json"))
def fits(g): return len(g) <= G and len(g[0]) <= G
keep = [k for k, t in ch.items()
        if all(fits(p["input"]) and fits(p["output"]) for p in t["train"])
        and all(fits(p["input"]) for p in t["test"]) and all(fits(s) for s in so[k])][:N]
json.dump({k: ch[k] for k in keep}, open(out + "/challenges.json", "w"))
json.dump({k: so[k] for k in keep}, open(out + "/solutions.json", "w"))
print(f"{len(keep)} evaluation tasks fit {G} x {G}", file=sys.stderr)
PY
MODES=${MODES:-none adapt adapt-net}
for mode in $MODES; do
    case $mode in none) opt="--adapt 0" ;; adapt) opt="" ;; adapt-net) opt="--adapt-net" ;; esac
    NO_COLOR=1 "$TRM" solve --task arc --model "$MODEL" "$OUT/challenges.json" --all --solutions "$OUT/solutions.json" \
        --out "$OUT/$mode.json" $opt "$@" > "$OUT/$mode.txt"
done
# Below pass@2, how close the first attempts come: the share with the solution's shape, and
# the cells right among those (a partial-credit view; ARC itself scores exact grids only).
closeness() {
    /usr/bin/python3 - "$OUT/$1.json" "$OUT/solutions.json" <<'PY'
import json, sys
sub, sol = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
n = shape = cells = right = 0
for k, grids in sol.items():
    for i, g in enumerate(grids):
        a = sub[k][i]["attempt_1"]
        n += 1
        if len(a) == len(g) and len(a[0]) == len(g[0]):
            shape += 1
            cells += len(g) * len(g[0])
            right += sum(x == y for ra, rg in zip(a, g) for x, y in zip(ra, rg))
print(f"{shape / n:.3f} | {right / cells if cells else 0:.3f}")
PY
}
printf '| mode | tasks | pass@2 (official) | Kaggle pass@2 | solved | attempt 1: shape right | its cells right | median s/task |\n|---|---|---|---|---|---|---|---|\n'
for mode in $MODES; do
    line=$(grep '^[0-9]* tasks*: pass@2' "$OUT/$mode.txt")
    med=$(sed -n 's/^task .*, \([0-9.]*\) s$/\1/p' "$OUT/$mode.txt" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    close=$(closeness "$mode")
    echo "$line" | sed -n "s/^\([0-9]*\) tasks*: pass@2 \([0-9.]*\) .*Kaggle \([0-9.]*\) .*, \([0-9]*\) solved$/| $mode | \1 | \2 | \3 | \4 | $close | $med |/p"
done
