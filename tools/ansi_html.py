#!/usr/bin/env python3
"""ansi_html.py: terminal text with ANSI colours (as `tmux capture-pane -e -p` writes it)
as an HTML page that looks like the terminal: monospace, dark background, SGR colours
honoured (16, 256 and 24-bit; bold, dim, italic, underline, reverse).

    tools/ansi_html.py --cols 80 < pane.ans > page.html     # prints "WIDTH HEIGHT" on stderr

Every line is a row of fixed height and every run of one style an inline block of that
height, so coloured cells on consecutive lines touch as they do in a terminal. The
page's size in CSS pixels (for chromium --window-size) goes to stderr, or to --size FILE.
Standard library only.
"""
import argparse
import html
import math
import re
import sys
import unicodedata

FONT_PX = 16
LINE_PX = 20          # 2 columns x 0.602 em ~ 19.3 px: a two-column cell is about square
ADVANCE = 0.60205     # DejaVu Sans Mono's advance width (1233 / 2048 em)
PAD_PX = 12
FG, BG = "#d0d0d0", "#1e1e1e"

# xterm's 16 colours, then the 6 x 6 x 6 cube and the grey ramp of the 256-colour palette.
BASE16 = ["#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
          "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff"]


def xterm256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        level = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (level[n // 36], level[n // 6 % 6], level[n % 6])
    g = 8 + 10 * (n - 232)
    return "#%02x%02x%02x" % (g, g, g)


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = self.bg = None
        self.bold = self.dim = self.italic = self.underline = self.reverse = False

    def key(self):
        return (self.fg, self.bg, self.bold, self.dim, self.italic, self.underline, self.reverse)

    def css(self):
        fg, bg = self.fg or FG, self.bg or BG
        if self.reverse:
            fg, bg = bg, fg
        out = []
        if fg != FG:
            out.append("color:" + fg)
        if bg != BG:
            out.append("background:" + bg)
        if self.bold:
            out.append("font-weight:bold")
        if self.dim:
            out.append("opacity:0.6")
        if self.italic:
            out.append("font-style:italic")
        if self.underline:
            out.append("text-decoration:underline")
        return ";".join(out)


def extended_colour(args):
    """The colour of `5;n` or `2;r;g;b` (what follows 38 or 48) and how many items it took."""
    if len(args) >= 2 and args[0] == 5:
        return xterm256(args[1] % 256), 2
    if len(args) >= 4 and args[0] == 2:
        return "#%02x%02x%02x" % tuple(min(v, 255) for v in args[1:4]), 4
    return None, len(args)


def sgr_params(text):
    """SGR parameters as groups: '38;2;1;2;3' -> [[38, 2, 1, 2, 3]], and the colon form
    '38:2::1:2:3' (ITU T.416, with its colour-space id) likewise; plain ones one each."""
    groups = []
    items = text.split(";") if text else ["0"]
    i = 0
    while i < len(items):
        item = items[i]
        if ":" in item:
            sub = item.split(":")
            nums = [int(v) if v else 0 for v in sub]
            if len(nums) == 6 and nums[1] == 2:   # 38:2:<space>:r:g:b
                nums = nums[:2] + nums[3:]
            groups.append(nums)
            i += 1
            continue
        n = int(item) if item else 0
        if n in (38, 48, 58):
            kind = int(items[i + 1]) if i + 1 < len(items) and items[i + 1] else 0
            take = 3 if kind == 5 else 5 if kind == 2 else 2
            groups.append([int(v) if v else 0 for v in items[i:i + take]])
            i += take
        else:
            groups.append([n])
            i += 1
    return groups


def apply_sgr(style, text):
    for g in sgr_params(text):
        n = g[0]
        if n == 0:
            style.reset()
        elif n == 1:
            style.bold = True
        elif n == 2:
            style.dim = True
        elif n == 3:
            style.italic = True
        elif n == 4:
            style.underline = True
        elif n == 7:
            style.reverse = True
        elif n == 22:
            style.bold = style.dim = False
        elif n == 23:
            style.italic = False
        elif n == 24:
            style.underline = False
        elif n == 27:
            style.reverse = False
        elif 30 <= n <= 37:
            style.fg = BASE16[n - 30]
        elif 90 <= n <= 97:
            style.fg = BASE16[n - 90 + 8]
        elif n == 39:
            style.fg = None
        elif 40 <= n <= 47:
            style.bg = BASE16[n - 40]
        elif 100 <= n <= 107:
            style.bg = BASE16[n - 100 + 8]
        elif n == 49:
            style.bg = None
        elif n in (38, 48):
            colour, _ = extended_colour(g[1:])
            if colour:
                if n == 38:
                    style.fg = colour
                else:
                    style.bg = colour


# CSI sequences (SGR ends in 'm'; the others are dropped), OSC strings, charset picks.
ESCAPE = re.compile(r"\x1b\[([0-9;:?<=>]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b.")


def parse(text):
    """Lines of runs [(style key, css, text)], styles carried across lines as a terminal does."""
    style, lines, runs = Style(), [], []
    pos = 0
    def add(s):
        for k, part in enumerate(s.split("\n")):
            if k:
                lines.append(runs[:])
                runs.clear()
            part = part.replace("\r", "").replace("\t", "        ")
            if not part:
                continue
            if runs and runs[-1][0] == style.key():
                runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2] + part)
            else:
                runs.append((style.key(), style.css(), part))
    for m in ESCAPE.finditer(text):
        add(text[pos:m.start()])
        if m.group(2) == "m":
            apply_sgr(style, m.group(1))
        pos = m.end()
    add(text[pos:])
    if runs:
        lines.append(runs[:])
    while lines and all(not t.strip() and not css for _, css, t in lines[-1]):
        lines.pop()   # the blank screen below the output
    return lines


def columns(s):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
               for ch in s)


def visible_columns(runs):
    """Columns up to the last character that shows: a blank of the default style at the
    end of a line does not (capture-pane -N keeps them, so that coloured blanks stay)."""
    runs = list(runs)
    while runs and not runs[-1][1] and not runs[-1][2].strip():
        runs.pop()
    if runs and not runs[-1][1]:
        runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2].rstrip())
    return columns("".join(r[2] for r in runs))


def page(lines):
    rows = []
    for runs in lines:
        spans = "".join('<span style="%s">%s</span>' % (css, html.escape(t)) if css else
                        "<span>%s</span>" % html.escape(t) for _, css, t in runs)
        rows.append('<div class="l">%s</div>' % spans)
    return """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>terminal</title><style>
html, body { margin: 0; background: %(bg)s; }
body { padding: %(pad)dpx; }
.l { font: %(font)dpx/%(line)dpx 'DejaVu Sans Mono', monospace; color: %(fg)s; white-space: pre; height: %(line)dpx; }
.l span { display: inline-block; height: %(line)dpx; vertical-align: top; }
</style></head><body>
%(rows)s
</body></html>
""" % {"bg": BG, "fg": FG, "pad": PAD_PX, "font": FONT_PX, "line": LINE_PX, "rows": "\n".join(rows)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cols", type=int, default=0, help="terminal width in columns (default: the longest line)")
    ap.add_argument("--fit", action="store_true", help="as wide as the longest line, not --cols")
    ap.add_argument("--size", help="write 'WIDTH HEIGHT' (CSS px) to this file instead of stderr")
    ap.add_argument("input", nargs="?", help="ANSI text (default: stdin)")
    a = ap.parse_args()
    text = open(a.input, encoding="utf-8", errors="replace").read() if a.input else \
        sys.stdin.buffer.read().decode("utf-8", errors="replace")
    lines = parse(text)
    widest = max([visible_columns(runs) for runs in lines] or [1])
    cols = widest if a.fit or not a.cols else max(a.cols, widest)
    sys.stdout.write(page(lines))
    w = math.ceil(cols * FONT_PX * ADVANCE) + 2 * PAD_PX
    h = max(len(lines), 1) * LINE_PX + 2 * PAD_PX
    size = "%d %d\n" % (w, h)
    if a.size:
        open(a.size, "w").write(size)
    else:
        sys.stderr.write(size)


if __name__ == "__main__":
    main()
