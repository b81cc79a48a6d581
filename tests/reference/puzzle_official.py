#!/usr/bin/env python3
"""Runs the official TRM Sudoku or Maze builder (dataset/build_sudoku_dataset.py or
build_maze_dataset.py of SamsungSAILMontreal/TinyRecursiveModels, read from a git
mirror or a file) on local CSV files, with numpy seeded first, so that `trm data sudoku`
and `trm data maze --csv` can be compared with it array by array.

The builders download train.csv and test.csv with huggingface_hub and parse options with
argdantic; both are replaced by stand-ins here (hf_hub_download returns SRC/<name>.csv),
and tqdm by the identity. The builders never seed numpy; --seed does it before they run.

usage: puzzle_official.py sudoku|maze SRC_DIR OUT_DIR [--seed S] [--num-aug N]
           [--subsample N] [--aug] [--u8] [--builder FILE | --mirror GIT_DIR]

--u8 rewrites inputs and labels as uint8 after the build: with --num-aug the Sudoku
builder's arrays are int64 (its digit map is an int64 array), ours are uint8; the values
are what the comparison is about.
"""
import argparse
import os
import subprocess
import sys
import types

try:
    import numpy as np
except ImportError:   # an interpreter with pydantic but without numpy: Debian's python3-numpy
    sys.path.append("/usr/lib/python3/dist-packages")
    import numpy as np

MIRROR = "/work/.mirror/SamsungSAILMontreal+TinyRecursiveModels/repo"


def builder_source(kind, args):
    name = f"dataset/build_{kind}_dataset.py"
    if args.builder:
        return open(args.builder).read(), os.path.dirname(os.path.abspath(args.builder))
    src = subprocess.run(["git", "--git-dir", args.mirror, "show", f"HEAD:{name}"], check=True,
                         capture_output=True, text=True).stdout
    common = subprocess.run(["git", "--git-dir", args.mirror, "show", "HEAD:dataset/common.py"], check=True,
                            capture_output=True, text=True).stdout
    return src, common


def stub_modules(src_dir, common_src):
    hub = types.ModuleType("huggingface_hub")
    hub.hf_hub_download = lambda repo, filename, repo_type=None: os.path.join(src_dir, filename)
    tq = types.ModuleType("tqdm")
    tq.tqdm = lambda x, *a, **k: x
    ad = types.ModuleType("argdantic")

    class ArgParser:
        def command(self, *a, **k):
            return lambda f: f

        def __call__(self):
            pass
    ad.ArgParser = ArgParser
    common = types.ModuleType("common")
    exec(compile(common_src, "dataset/common.py", "exec"), common.__dict__)
    sys.modules.update({"huggingface_hub": hub, "tqdm": tq, "argdantic": ad, "common": common})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["sudoku", "maze"])
    p.add_argument("src")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-aug", type=int, default=0)
    p.add_argument("--subsample", type=int, default=None)
    p.add_argument("--aug", action="store_true")
    p.add_argument("--u8", action="store_true")
    p.add_argument("--builder")
    p.add_argument("--mirror", default=MIRROR)
    args = p.parse_args()
    src, common = builder_source(args.kind, args)
    if args.builder:
        common = open(os.path.join(common, "common.py")).read()
    stub_modules(args.src, common)
    mod = types.ModuleType("builder")
    exec(compile(src, f"build_{args.kind}_dataset.py", "exec"), mod.__dict__)
    cfg = dict(output_dir=args.out, subsample_size=args.subsample)
    if args.kind == "sudoku":
        cfg["num_aug"] = args.num_aug
    else:
        cfg["aug"] = args.aug
    config = mod.DataProcessConfig(**cfg)
    np.random.seed(args.seed)
    mod.convert_subset("train", config)
    mod.convert_subset("test", config)
    for split in ("train", "test"):
        for name in ("inputs", "labels"):
            path = os.path.join(args.out, split, f"all__{name}.npy")
            a = np.load(path)
            if args.u8 and a.dtype != np.uint8:
                assert a.min() >= 0 and a.max() < 256
                np.save(path, a.astype(np.uint8))


if __name__ == "__main__":
    main()
