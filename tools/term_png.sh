#!/bin/sh
# A PNG of a real terminal: runs a command inside a detached tmux of the given size,
# captures the pane with its colours (tmux capture-pane -e), turns the ANSI text into an
# HTML page (tools/ansi_html.py: monospace, dark background, 24-bit colours) and
# screenshots that with headless chromium. For the README's picture of `trm solve`.
#   tools/term_png.sh [-c COLS] [-r ROWS] [-s SCALE] [-t SECONDS] [-f] [-p] [-k] -o OUT.png -- COMMAND [ARGS...]
#     -c COLS     terminal width (default 100): what the command sees through the tty
#     -r ROWS     terminal height (default 50); longer output is kept from tmux's history
#     -s SCALE    device pixels per CSS pixel (default 2: sharp on high-density screens)
#     -t SECONDS  how long to wait for the command (default 120); then the pane as it is
#     -f          crop the picture to the longest line instead of the terminal width
#     -p          show the command on a first line, after "$ ", as a shell would
#     -k          keep the work directory (pane.ans, page.html) and print where it is
# Installs tmux and chromium with apt-get when missing (as root; otherwise it says how).
# NO_COLOR, COLUMNS and LINES are unset for the command: it sees a colour terminal.
# A command that exits non-zero is reported on stderr; the picture is still made.
set -eu

COLS=100 ROWS=50 SCALE=2 WAIT=120 FIT="" PROMPT=0 KEEP=0 OUT=""
usage() { sed -n '6,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts c:r:s:t:o:fpkh opt; do
    case $opt in
        c) COLS=$OPTARG ;; r) ROWS=$OPTARG ;; s) SCALE=$OPTARG ;; t) WAIT=$OPTARG ;;
        o) OUT=$OPTARG ;; f) FIT=--fit ;; p) PROMPT=1 ;; k) KEEP=1 ;; *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ -n "$OUT" ] && [ $# -gt 0 ] || usage
case $COLS$ROWS in *[!0-9]*) echo "term_png: -c and -r take numbers" >&2; exit 2 ;; esac

# ---- dependencies: Debian's tmux and chromium, python3 for the HTML
need=""
command -v tmux >/dev/null 2>&1 || need="$need tmux"
command -v chromium >/dev/null 2>&1 || need="$need chromium"
if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "term_png: installing$need" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >&2
    else
        echo "term_png: missing:$need; install with: sudo apt-get install$need" >&2
        exit 1
    fi
fi
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
HERE=$(cd "$(dirname "$0")" && pwd)
case $OUT in /*) ;; *) OUT=$(pwd)/$OUT ;; esac

# ---- the command in its own tmux server (-L: a private socket, -f: no user config)
WORK=$(mktemp -d /tmp/term_png.XXXXXX)
SOCK=term_png_$$
cleanup() {
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    if [ "$KEEP" = 1 ]; then echo "term_png: work directory $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cat > "$WORK/tmux.conf" <<EOF
set -g history-limit 20000
set -g status off
set -g default-terminal tmux-256color
EOF
infocmp tmux-256color >/dev/null 2>&1 || echo "set -g default-terminal screen-256color" >> "$WORK/tmux.conf"
# The runner: shows the command if asked, runs it, records its status, tells the
# waiting script it is done, then idles so that the pane stays to be captured.
cat > "$WORK/run.sh" <<'EOF'
unset NO_COLOR COLUMNS LINES
cd "$1"; prompt=$2; work=$3; shift 3
[ "$prompt" = 1 ] && printf '$ %s\n' "$*"
"$@"
echo $? > "$work/rc"
tmux wait-for -S term_png_done
exec sleep 100000
EOF
tmux -u -L "$SOCK" -f "$WORK/tmux.conf" new-session -d -s png -x "$COLS" -y "$ROWS" \
    sh "$WORK/run.sh" "$(pwd)" "$PROMPT" "$WORK" "$@"
# wait-for remembers a signal sent before anyone waits, so the order does not matter.
if ! timeout "$WAIT" tmux -L "$SOCK" wait-for term_png_done; then
    echo "term_png: the command still runs after ${WAIT} s; capturing the pane as it is" >&2
fi
# -N keeps the blanks at the end of each line: without it a coloured cell (two spaces on
# a background) that ends a line would be dropped.
tmux -L "$SOCK" capture-pane -p -e -N -S - -E - -t png > "$WORK/pane.ans"
[ -f "$WORK/rc" ] && [ "$(cat "$WORK/rc")" != 0 ] && echo "term_png: the command exited with $(cat "$WORK/rc")" >&2

# ---- ANSI -> HTML -> PNG
"$PY" "$HERE/ansi_html.py" --cols "$COLS" $FIT --size "$WORK/size" "$WORK/pane.ans" > "$WORK/page.html"
read -r W H < "$WORK/size"
rm -f "$OUT"
if ! chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$WORK/chrome" \
        --force-device-scale-factor="$SCALE" --window-size="$W,$H" --screenshot="$OUT" \
        "file://$WORK/page.html" > "$WORK/chromium.log" 2>&1 || [ ! -s "$OUT" ]; then
    cat "$WORK/chromium.log" >&2
    echo "term_png: chromium made no screenshot" >&2
    exit 1
fi
echo "term_png: $OUT ($COLS columns, ${W}x${H} CSS px at scale $SCALE)" >&2
