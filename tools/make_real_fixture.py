#!/usr/bin/env python3
"""Makes tests/fixtures/real_vgg16_block5.safetensors: what PyTorch computes with the REAL conv
weights (weights/vgg16_notop.safetensors, made by tools/fetch-weights) for a fixed input.

The Rust test `real_weights` (crates/vgg16/tests/real_weights.rs) loads the same weights file,
feeds the same input, and compares. The input is a deterministic formula (no randomness, no image
file): a 64x64 picture of smooth colour waves in caffe space (BGR, mean subtracted).

Stored (float32): `input` [1,3,64,64], `block1_conv1` [1,64,64,64] channels 0..4 only
([1,4,64,64]), `block5_conv3` [1,512,4,4] (after ReLU), `block5_pool` [1,512,2,2].

Regenerate: python3 tools/make_real_fixture.py   (needs torch and numpy, and the weights file)
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_write import write_safetensors, read_safetensors_header  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS = os.path.join(ROOT, "weights", "vgg16_notop.safetensors")
OUT = os.path.join(ROOT, "tests", "fixtures", "real_vgg16_block5.safetensors")
CONVS = ["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "block3_conv1",
         "block3_conv2", "block3_conv3", "block4_conv1", "block4_conv2", "block4_conv3",
         "block5_conv1", "block5_conv2", "block5_conv3"]
POOL_AFTER = {"block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"}


def load_weights(path):
    header = read_safetensors_header(path)
    raw = open(path, "rb").read()
    data_start = 8 + int.from_bytes(raw[:8], "little")
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[data_start + a:data_start + b], dtype="<f4").reshape(info["shape"])
    return out


def fixed_input(size=64):
    """The formula the Rust test repeats: channel c, row y, column x (caffe space)."""
    y, x = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    chans = []
    for c in range(3):
        v = 60.0 * np.sin(0.21 * x * (c + 1) + 0.13 * y) + 40.0 * np.cos(0.17 * y * (3 - c) - 0.05 * x)
        chans.append(v)
    return np.stack(chans)[None].astype(np.float32)


def main():
    w = load_weights(WEIGHTS)
    x = torch.from_numpy(fixed_input()).double()
    outs = {"input": x.float().numpy()}
    h = x
    for name in CONVS:
        h = F.relu(F.conv2d(h, torch.from_numpy(w[name + ".weight"].copy()).double(),
                            torch.from_numpy(w[name + ".bias"].copy()).double(), padding=1))
        if name == "block1_conv1":
            outs["block1_conv1"] = h[:, :4].float().numpy()
        if name == "block5_conv3":
            outs["block5_conv3"] = h.float().numpy()
        if name in POOL_AFTER:
            h = F.max_pool2d(h, 2, 2)
    outs["block5_pool"] = h.float().numpy()
    tensors = [(k, "F32", list(v.shape), np.ascontiguousarray(v, dtype="<f4").tobytes()) for k, v in sorted(outs.items())]
    write_safetensors(OUT, tensors, {"source": "tools/make_real_fixture.py", "torch": torch.__version__})
    print("wrote", OUT, {k: v.shape for k, v in outs.items()})


if __name__ == "__main__":
    main()
