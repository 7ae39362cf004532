#!/usr/bin/env python3
"""Extracts the raw tensors of a Keras VGG16 weights file (.h5) into a safetensors file.

    python3 tools/keras_h5_to_safetensors.py vgg16_weights_tf_dim_ordering_tf_kernels.h5 OUT.safetensors

Input: the official Keras ImageNet VGG16 weights (with or without top), HDF5 layout:
  - root attribute `layer_names`: the model's layers, in order;
  - one group per layer, whose attribute `weight_names` lists its datasets in order
    (kernel, then bias); layers without weights (input, pools, flatten) list none.
  (A whole-model save keeps the same layout under a `model_weights` group; that works too.)

Output: one tensor per weight, named `<layer>.kernel` and `<layer>.bias`, EXACTLY in the Keras
layout, with metadata {"layout": "keras"}:
  - conv kernels  [3, 3, Cin, Cout]  (HWIO)
  - dense kernels [in, out]
  - biases        [out]
All transposes (HWIO -> OIHW, [in, out] -> [out, in]) and the fc1 row permutation (Keras flattens
block5_pool as H, W, C; the project as C, H, W) are done on the Rust side: `viz convert keras`.

Needs h5py and numpy (`pip install h5py`). The output is written to a temporary file and renamed.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_write import write_safetensors  # noqa: E402

PROG = "keras_h5_to_safetensors"


def fail(msg):
    print(f"{PROG}: {msg}", file=sys.stderr)
    sys.exit(1)


def as_str(x):
    """h5py returns string attributes as bytes or str depending on how they were written."""
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def keras_tensors(h5):
    """Yields (name, numpy array) for every weight in the file, in layer order."""
    import numpy as np

    root = h5
    if "layer_names" not in root.attrs and "model_weights" in root:
        root = root["model_weights"]  # a whole-model save (model.save) instead of save_weights
    if "layer_names" not in root.attrs:
        fail("no `layer_names` attribute at the root: not a Keras weights file")

    for layer in (as_str(n) for n in root.attrs["layer_names"]):
        if layer not in root:
            fail(f"layer {layer!r} is listed in layer_names but has no group")
        group = root[layer]
        weight_names = [as_str(n) for n in group.attrs.get("weight_names", [])]
        if not weight_names:
            continue  # input, pooling and flatten layers have no weights
        if len(weight_names) != 2:
            fail(f"layer {layer!r} has {len(weight_names)} weights {weight_names}, expected kernel and bias")
        kernel = np.asarray(group[weight_names[0]])
        bias = np.asarray(group[weight_names[1]])
        if kernel.ndim not in (2, 4) or bias.ndim != 1 or kernel.shape[-1] != bias.shape[0]:
            fail(
                f"layer {layer!r}: unexpected shapes kernel {kernel.shape} ({weight_names[0]}), "
                f"bias {bias.shape} ({weight_names[1]})"
            )
        yield f"{layer}.kernel", kernel
        yield f"{layer}.bias", bias


def main():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Write the raw tensors of a Keras VGG16 .h5 to safetensors (Keras layout; "
        "`viz convert keras` does the rest).",
    )
    parser.add_argument("input", help="Keras weights file, e.g. vgg16_weights_tf_dim_ordering_tf_kernels.h5")
    parser.add_argument("output", help="safetensors file to write")
    args = parser.parse_args()

    try:
        import h5py
        import numpy as np
    except ImportError as e:
        fail(f"{e.name or 'h5py'} is required: pip install h5py")

    try:
        h5 = h5py.File(args.input, "r")
    except OSError as e:
        fail(f"cannot open {args.input} as HDF5: {e}")

    with h5:
        tensors = []
        params = 0
        for name, array in keras_tensors(h5):
            if array.dtype.kind != "f":
                fail(f"{name} has dtype {array.dtype}, expected floats")
            array = np.ascontiguousarray(array, dtype="<f4")
            tensors.append((name, "F32", list(array.shape), array))
            params += array.size

    if not tensors:
        fail(f"{args.input} holds no weights")
    try:
        write_safetensors(args.output, tensors, {"layout": "keras"})
    except OSError as e:
        fail(f"cannot write {args.output}: {e}")
    layers = len(tensors) // 2
    print(f"{PROG}: wrote {args.output}: {layers} layers, {params:,} parameters", file=sys.stderr)


if __name__ == "__main__":
    main()
