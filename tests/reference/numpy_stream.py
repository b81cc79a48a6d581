#!/usr/bin/env python3
"""Test vectors for src/core/mt19937.c, taken from numpy's legacy global stream (np.random.seed).

The official ARC builder draws shuffles, augmentations and translations from np.random after
np.random.seed(42); tests/test_mt19937.c replays every line of the fixture written here with the
C port and must get the same numbers.

Fixture format (line-oriented, '#' starts a comment line):
    seed S                      np.random.seed(S): every later op continues this stream
    raw : v1 .. vk              k raw 32-bit outputs (genrand_int32)
    randint LO HI : v1 .. vk    k scalar calls np.random.randint(LO, HI) (int64 dtype)
    shuffle N : v1 .. vN        np.random.shuffle of 0..N-1 (a list or an ndarray), the result
    permutation N : v1 .. vN    np.random.permutation(N)
Single cases start with their own `seed` line; the mixed-stream cases are one `seed` line
followed by many ops, so they also check how many draws each op consumes.

Raw outputs: randint(0, 2**32, dtype=np.uint32) has rng = 0xffffffff, which numpy's
random_bounded_uint32_fill serves with plain next_uint32 (no mask, no rejection); the script
asserts that this equals the bit generator's random_raw(), which for MT19937 is next32 itself.
randint bounds wider than 2^32 make numpy draw 64-bit values, (next32 << 32 | next32) with the
high word drawn first; those cases pin that order down.

Usage:  /usr/bin/python3 tests/reference/numpy_stream.py --out tests/fixtures/numpy_stream.txt
"""
import argparse

import numpy as np

SEEDS = [42, 0, 12345, 4294967295]
SHUFFLE_N = [1, 2, 9, 400, 1000]
RANDINT_K = [1, 2, 3, 8, 9, 17, 30, 31]
# Bounds away from the small ones the builder uses: negative lo, rng = 2^32 - 1 (plain next32),
# rng = 2^32 and beyond (64-bit draws, two next32 each), the widest int64 range but one.
RANDINT_WIDE = [(-5, 5), (0, 2**32), (0, 2**32 + 1), (0, 2**40), (2**40, 2**41 + 3),
                (-2**62, 2**62), (0, 2**63 - 1)]


def fmt(op, args, values):
    head = " ".join([op] + [str(a) for a in args])
    return head + " : " + " ".join(str(int(v)) for v in values)


def seed(lines, s):
    """Seed the global stream and record it, so the C side reseeds at the same point."""
    np.random.seed(s)
    lines.append("seed %d" % s)


def raw(n):
    vals = np.random.randint(0, 2**32, size=n, dtype=np.uint32)
    return [int(v) for v in vals]


def randint(lo, hi, times):
    return [np.random.randint(lo, hi) for _ in range(times)]


def shuffle(n, as_array):
    # numpy takes two code paths (typed buffer for 1-D arrays, item swaps for lists); both draw
    # j = random_interval(i) for i = n-1..1, and the fixture covers both.
    x = np.arange(n) if as_array else list(range(n))
    np.random.shuffle(x)
    return [int(v) for v in x]


def mixed(s, calls):
    """A long stream interleaving ops in a fixed pattern, as a builder would."""
    lines = []
    seed(lines, s)
    pattern = ["randint", "permutation", "randint", "shuffle", "randint", "randint", "raw"]
    shuffle_n = [2, 9, 3, 30, 1, 17, 5, 400, 8, 0]
    for i in range(calls):
        op = pattern[i % len(pattern)]
        if op == "randint":
            k = RANDINT_K[(i * 5) % len(RANDINT_K)]
            lines.append(fmt("randint", [0, k], randint(0, k, 1)))
        elif op == "permutation":
            lines.append(fmt("permutation", [9], np.random.permutation(9)))
        elif op == "shuffle":
            n = shuffle_n[(i // len(pattern)) % len(shuffle_n)]
            lines.append(fmt("shuffle", [n], shuffle(n, as_array=(i // 7) % 2 == 1)))
        else:
            lines.append(fmt("raw", [], raw(1 + i % 3)))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    for s in SEEDS:   # randint(uint32) really is the raw stream (see the docstring)
        rs = np.random.RandomState(s)
        a = rs.randint(0, 2**32, size=50, dtype=np.uint32)
        b = np.random.RandomState(s)._bit_generator.random_raw(50)
        assert [int(v) for v in a] == [int(v) for v in b], "uint32 randint is not the raw stream"

    lines = ["# numpy %s legacy np.random stream; written by tests/reference/numpy_stream.py"
             % np.__version__]
    for s in SEEDS:
        seed(lines, s)
        lines.append(fmt("raw", [], raw(20)))
        for n in SHUFFLE_N:
            for as_array in (False, True):
                seed(lines, s)
                lines.append(fmt("shuffle", [n], shuffle(n, as_array)))
        for k in RANDINT_K:
            seed(lines, s)
            lines.append(fmt("randint", [0, k], randint(0, k, 12)))
        seed(lines, s)
        for _ in range(4):
            lines.append(fmt("permutation", [9], np.random.permutation(9)))
        for lo, hi in RANDINT_WIDE:
            seed(lines, s)
            lines.append(fmt("randint", [lo, hi], randint(lo, hi, 8)))
    # randint(0, 1) draws nothing: the raw line after it must be the seed's first outputs.
    seed(lines, 42)
    lines.append(fmt("randint", [0, 1], randint(0, 1, 3)))
    lines.append(fmt("raw", [], raw(3)))
    lines += mixed(42, 2000)
    lines += mixed(7, 300)

    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    ops = sum(1 for line in lines if ":" in line)
    print("numpy_stream: wrote %d ops to %s (numpy %s)" % (ops, args.out, np.__version__))


if __name__ == "__main__":
    main()
