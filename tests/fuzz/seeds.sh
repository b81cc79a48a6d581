#!/bin/sh
# seeds.sh [TRM]: regenerates the seed corpora of the fuzz targets, tests/fuzz/corpus/<target>/,
# small valid files (a few KB at most) from tests/fixtures, the trm binary (default
# build/trm) and python3's standard library, which writes the binary files trm writes no
# tiny one of (safetensors, model files, torch.save zips). Run from the repository root;
# the corpora are committed, so this is needed only when a format changes.
set -eu
TRM=${1:-build/trm}
C=tests/fuzz/corpus
T=$(mktemp -d "${TMPDIR:-/tmp}/trm_seeds.XXXXXX")
trap 'rm -rf "$T"' EXIT
SEP='
--8<--
'
rm -rf "$C"
for t in safetensors npy dataset_dir arc_task arc_kaggle sudoku_csv maze_csv boards torch_ckpt torch_config \
         config_json checkpoint; do mkdir -p "$C/$t"; done
# pack OUT FILE...: the files joined at FUZZ_SEP lines (a missing one as an empty part)
pack() {
    out=$1; shift
    first=1
    for f in "$@"; do
        [ $first -eq 1 ] || printf '%s' "$SEP"
        first=0
        [ -f "$f" ] && cat "$f"
    done > "$out"
}

# ---- text: CSV files, boards, ARC JSON, yaml, config JSON
cp tests/fixtures/sudoku_small/test.csv "$C/sudoku_csv/test.csv"
cp tests/fixtures/maze_small/test.csv "$C/maze_csv/test.csv"
head -n 3 tests/fixtures/maze_small/train.csv > "$C/maze_csv/two.csv"
# quoted fields, CRLF line ends, a trailing blank line: as Python's csv module writes and reads
{ printf 'source,question,answer,rating\r\n'
  sed -n '2,3p' tests/fixtures/sudoku_small/train.csv | awk -F, '{ printf "\"%s\",\"%s\",%s,%s\r\n", $1, $2, $3, $4 }'
  printf '\r\n'; } > "$C/sudoku_csv/quoted.csv"
head -n 3 tests/fixtures/sudoku_small/train.csv > "$C/sudoku_csv/two.csv"

"$TRM" data nqueens --split paper --seed 1 --out "$T/nq" > /dev/null
head -n 4 "$T/nq/train.txt" > "$C/boards/nqueens.txt"
head -n 2 "$T/nq/test.txt" | cut -d' ' -f1 > "$C/boards/nqueens_inputs.txt"
sed -n '2,3p' tests/fixtures/sudoku_small/test.csv | cut -d, -f2,3 | tr , ' ' > "$C/boards/sudoku.txt"
sed -n '2,3p' tests/fixtures/maze_small/test.csv | cut -d, -f2,3 | tr ' ,' '. ' > "$C/boards/maze.txt"

mkdir -p "$T/tasks/training"
printf '%s' '{"train": [{"input": [[1, 0], [0, 2]], "output": [[2, 0], [0, 1]]}, {"input": [[3]], "output": [[3, 3]]}], "test": [{"input": [[0, 4], [4, 0]], "output": [[4, 0], [0, 4]]}]}' \
    > "$T/tasks/training/a1b2c3d4.json"
printf '%s' '{"name": "meta", "train": [{"input": [[5, 6, 7]], "output": [[7], [6], [5]]}, {"input": [[9, 9]], "output": [[9], [9]]}], "test": [{"input": [[1, 2]]}]}' \
    > "$C/arc_task/task_no_output.json"
printf '%s' '{"train": [{"input": [[5, 6, 7]], "output": [[7], [6], [5]]}, {"input": [[9, 9]], "output": [[9], [9]]}], "test": [{"input": [[1, 2]], "output": [[2], [1]]}]}' \
    > "$T/tasks/training/e5f6a7b8.json"
cp "$T/tasks/training/a1b2c3d4.json" "$C/arc_task/task.json"
"$TRM" data arc --tasks "$T/tasks" --subsets training --test-set training --num-aug 1 --max-grid 4 \
    --valid-demos --out "$T/arc" > /dev/null 2>&1
cp "$T/arc/test_puzzles.json" "$C/arc_task/test_puzzles.json"
printf '{"a1b2c3d4": %s, "0f0f0f0f": {"train": [{"input": [[8]], "output": [[1]]}], "test": [{"input": [[8, 8]]}]}}' \
    "$(cat "$T/tasks/training/a1b2c3d4.json")" > "$T/challenges.json"
printf '%s' '{"a1b2c3d4": [[[4, 0], [0, 4]]], "0f0f0f0f": [[[1, 1]]]}' > "$T/solutions.json"
cp "$T/challenges.json" "$C/arc_task/challenges.json"
pack "$C/arc_kaggle/with_solutions" "$T/challenges.json" "$T/solutions.json"
cp "$T/challenges.json" "$C/arc_kaggle/hidden_test_set"

"$TRM" info --preset compact --method dis --vocab 3 --seq-len 64 | sed -n 's/^config: *//p' > "$C/config_json/compact_dis.json"
"$TRM" info --preset medium --method trm --mixer mlp --vocab 11 --seq-len 81 | sed -n 's/^config: *//p' \
    > "$C/config_json/medium_trm_mlp.json"
printf '%s' '{"vocab": 3, "seq_len": 4, "hidden": 16, "layers": 1}' > "$C/config_json/required_only.json"
printf '%s' '{"vocab":12,"seq_len":900,"hidden":16,"heads":2,"layers":2,"expansion":2,"puzzle_len":4,"num_puzzle_ids":5,"pos":"none","rope_theta":1e4,"T":2,"n":3,"N_sup":4,"q_loss":true,"time_embed":false,"loss":"softmax"}' \
    > "$C/config_json/torch_names.json"

# torch_config: the fixtures' yaml files with their data folder and their checkpoints'
# tensor shapes (only those the mapping reads).
printf 'embed_tokens.embedding_weight 3 16\npuzzle_emb.weights 3 16\nlm_head.weight 3 16\n' > "$T/att.tensors"
pack "$C/torch_config/att" tests/fixtures/torch_att/all_config.yaml tests/fixtures/torch_att/puzzles/train/dataset.json \
    tests/fixtures/torch_att/puzzles/identifiers.json "$T/att.tensors"
printf 'embed_tokens.embedding_weight 11 16\ntimestep_embed.embedding_weight 4 16\nL_level.layers.0.mlp_t.gate_up_proj.weight 512 85\n' \
    > "$T/mlp.tensors"
pack "$C/torch_config/mlp" tests/fixtures/torch_mlp/all_config.yaml "$T/none" "$T/none" "$T/mlp.tensors"
cp tests/fixtures/torch_att/all_config.yaml "$C/torch_config/yaml_only"

# ---- binary: npy arrays and dataset folders from tiny trm builds
head -n 3 tests/fixtures/sudoku_small/train.csv > "$T/sd.csv"
"$TRM" data sudoku --csv "$T/sd.csv" --out "$T/sd" > /dev/null
"$TRM" data maze --size 5 --min-path 3 --count 2 --test-count 1 --out "$T/mz" > /dev/null
for d in sd mz arc; do
    D=$T/$d/train
    pack "$C/dataset_dir/$d" "$D/dataset.json" "$D/all__inputs.npy" "$D/all__labels.npy" "$D/all__puzzle_identifiers.npy" \
        "$D/all__puzzle_indices.npy" "$D/all__group_indices.npy" "$T/$d/identifiers.json"
done
cp "$T/sd/train/all__inputs.npy" "$C/npy/u1_2d.npy"
cp "$T/arc/train/all__puzzle_indices.npy" "$C/npy/i4_1d.npy"
cp "$T/mz/test/all__group_indices.npy" "$C/npy/i4_short.npy"

python3 - "$C" <<'EOF'
import json, struct, sys, zipfile
C = sys.argv[1]

def npy(path, descr, shape, data, fortran=False):
    shp = "(%s)" % "".join("%d," % s for s in shape) if len(shape) == 1 else "(%s)" % ", ".join(map(str, shape))
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shp)
    h += " " * (63 - (10 + len(h)) % 64) + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + data)

npy(C + "/npy/f4_2d.npy", "<f4", (2, 3), struct.pack("<6f", 0, 1, -2, 0.5, 3e38, 1e-40))
npy(C + "/npy/u1_lt.npy", "<u1", (4,), bytes([0, 1, 2, 255]))
npy(C + "/npy/empty.npy", "|u1", (0, 900), b"")

# safetensors: the header JSON padded to 8 bytes, then the data section.
def safetensors(path, tensors, meta=None):
    h, data = {}, b""
    if meta is not None: h["__metadata__"] = meta
    for name, dtype, shape, raw in tensors:
        h[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    j = json.dumps(h, separators=(",", ":")).encode()
    j += b" " * (-len(j) % 8)
    open(path, "wb").write(struct.pack("<Q", len(j)) + j + data)

S = C + "/safetensors/"
safetensors(S + "f32_i64.safetensors", [("w", "F32", [2, 3], struct.pack("<6f", *range(6))),
                                        ("step", "I64", [2], struct.pack("<2q", 7, -1))], {"format": "trm"})
safetensors(S + "every_dtype.safetensors", [
    ("bf16", "BF16", [4], struct.pack("<4H", 0x3f80, 0xbf80, 0x7f80, 0x7fc0)),
    ("f16", "F16", [2, 2], struct.pack("<4H", 0x3c00, 0x0001, 0x7c00, 0xfc00)),
    ("f64", "F64", [], struct.pack("<d", 2.5)), ("u8", "U8", [3], b"\x00\x7f\xff"),
    ("bool", "BOOL", [2], b"\x00\x01"), ("i32", "I32", [1, 1], struct.pack("<i", -5)),
    ("empty", "F32", [0, 5], b"")])
safetensors(S + "metadata_only.safetensors", [], {"a": "b", "config": "{}"})

# A model file for the smallest config (vocab 3, 2 tokens, d 4, one attention layer or a
# mixer), its tensors as checkpoint_save writes them (F32) or as BF16.
def model(path, mlp_t, dtype):
    V, L, d, P, I = 3, 2, 4, 0, 256          # SwiGLU width rounds up to 256
    Lt, It = L + P, 256
    cfg = {"vocab": V, "seq_len": L, "hidden": d, "heads": 2, "layers": 1, "expansion": 1, "puzzle_len": P,
           "num_puzzle_ids": 1, "mlp_t": mlp_t, "pos": "rope", "rope_theta": 10000, "T": 1, "n": 2, "N_sup": 2,
           "time_embed": True, "halt": False, "loss": "stablemax"}
    shapes = [("embed_tokens.embedding_weight", [V, d]), ("timestep_embed.embedding_weight", [4, d])]
    if mlp_t:
        shapes += [("L_level.layers.0.mlp_t.gate_up_proj.weight", [2 * It, Lt]),
                   ("L_level.layers.0.mlp_t.down_proj.weight", [Lt, It])]
    else:
        shapes += [("L_level.layers.0.self_attn.qkv_proj.weight", [3 * d, d]),
                   ("L_level.layers.0.self_attn.o_proj.weight", [d, d])]
    shapes += [("L_level.layers.0.mlp.gate_up_proj.weight", [2 * I, d]), ("L_level.layers.0.mlp.down_proj.weight", [d, I]),
               ("lm_head.weight", [V, d]), ("q_head.weight", [2, d]), ("q_head.bias", [2]),
               ("H_init", [d]), ("L_init", [d])]
    size = {"F32": 4, "BF16": 2}[dtype]
    ts = []
    for name, shape in shapes:
        n = 1
        for s in shape: n *= s
        ts.append((name, dtype, shape, bytes(n * size)))
    safetensors(path, ts, {"format": "trm", "version": "1", "config": json.dumps(cfg, separators=(",", ":")),
                           "train_state": '{"task":"nqueens"}'})

model(C + "/checkpoint/attention_bf16.safetensors", False, "BF16")
model(C + "/checkpoint/mlp_t_bf16.safetensors", True, "BF16")

# torch.save zips: a pickle as PyTorch writes one (protocol 2, memoised, OrderedDict
# hooks) over STORED entries; storage 0 is shared by a contiguous view and a strided one.
def bu(s): return b"X" + struct.pack("<I", len(s)) + s.encode()
def pickle(tensors):
    p = [b"\x80\x02", b"ccollections\nOrderedDict\nq\x00)Rq\x01("]
    memo = 2
    for name, storage, offset, size, stride in tensors:
        key, stype, numel = storage
        p.append(bu(name) + b"ctorch._utils\n_rebuild_tensor_v2\n((" + bu("storage") + b"ctorch\n" + stype.encode() +
                 b"\n" + bu(key) + bu("cpu") + b"K" + bytes([numel]) + b"tQK" + bytes([offset]))
        p.append(b"(" + b"".join(b"K" + bytes([s]) for s in size) + b"t(" + b"".join(b"K" + bytes([s]) for s in stride) +
                 b"t\x89h\x00)RtR")
        p.append(b"r" + struct.pack("<I", memo))   # LONG_BINPUT
        memo += 1
    p.append(b"u.")
    return b"".join(p)

def torch_zip(path, root, tensors, storages, byteorder=True):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(root + "/data.pkl", pickle(tensors))
        if byteorder: z.writestr(root + "/byteorder", "little")
        for key, raw in storages: z.writestr(root + "/data/" + key, raw)
        z.writestr(root + "/version", "3\n")

f = struct.pack("<6f", *range(6))
torch_zip(C + "/torch_ckpt/float_views.pt", "archive",
          [("w", ("0", "FloatStorage", 6), 0, [2, 3], [3, 1]), ("wT", ("0", "FloatStorage", 6), 0, [3, 2], [1, 3]),
           ("b", ("1", "FloatStorage", 2), 1, [1], [1])], [("0", f), ("1", f[:8])])
torch_zip(C + "/torch_ckpt/bf16_half_double.pt", "model",
          [("bf", ("0", "BFloat16Storage", 4), 0, [4], [1]), ("h", ("1", "HalfStorage", 2), 0, [2, 1], [1, 1]),
           ("d", ("2", "DoubleStorage", 1), 0, [], [])],
          [("0", bytes(8)), ("1", bytes(4)), ("2", bytes(8))], byteorder=False)
EOF
"$TRM" info --model "$C/checkpoint/attention_bf16.safetensors" > /dev/null
"$TRM" info --model "$C/checkpoint/mlp_t_bf16.safetensors" > /dev/null
du -sh "$C"/* | sed 's|^|seeds: |'
