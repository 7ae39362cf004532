#!/usr/bin/env python3
"""Converts torchvision's VGG16 weights (.pth) to a safetensors file the project can load.

    python3 tools/torchvision_to_safetensors.py vgg16-397923af.pth weights/vgg16.safetensors

torchvision's VGG16 (`vgg16-397923af.pth`, from torchvision.models.vgg16(weights="IMAGENET1K_V1"))
is a different model from the Keras one: trained in PyTorch, on RGB input with "torch"
preprocessing (x / 255, then mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225]).

The tensors are written with their torchvision names, as they are:
  features.{0,2,5,7,10,12,14,17,19,21,24,26,28}.weight/.bias   the 13 convs, [Cout, Cin, 3, 3]
  classifier.{0,3,6}.weight/.bias                                fc1, fc2, predictions, [out, in]
with metadata {"preprocessing": "torch", "source": "torchvision vgg16"}. torchvision already
flattens in (C, H, W) order, so no permutation is needed.

Needs torch (`pip install torch`). The output is written to a temporary file and renamed.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_write import write_safetensors  # noqa: E402

PROG = "torchvision_to_safetensors"
CONV_INDICES = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
FC_INDICES = [0, 3, 6]
EXPECTED = [f"features.{i}.{p}" for i in CONV_INDICES for p in ("weight", "bias")] + [
    f"classifier.{i}.{p}" for i in FC_INDICES for p in ("weight", "bias")
]


def fail(msg):
    print(f"{PROG}: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser(
        prog=PROG, description="Convert torchvision's vgg16 state_dict (.pth) to safetensors."
    )
    parser.add_argument("input", help="torchvision weights, e.g. vgg16-397923af.pth")
    parser.add_argument("output", help="safetensors file to write, e.g. weights/vgg16.safetensors")
    args = parser.parse_args()

    try:
        import torch
    except ImportError:
        fail("torch is required: pip install torch")
    except OSError as e:  # installed, but its native libraries do not load
        fail(f"torch is installed but does not load ({e}); reinstall it: pip install --force-reinstall torch")

    try:
        try:
            state = torch.load(args.input, map_location="cpu", weights_only=True)
        except TypeError:  # torch < 1.13 has no weights_only
            state = torch.load(args.input, map_location="cpu")
    except Exception as e:  # torch raises many kinds of errors for a bad file
        fail(f"cannot load {args.input} with torch.load: {e}")

    # Accept a plain state_dict, a {"state_dict": ...} checkpoint, or a whole nn.Module.
    if hasattr(state, "state_dict"):
        state = state.state_dict()
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        fail(f"{args.input} does not hold a state_dict (got {type(state).__name__})")
    # Weights saved from nn.DataParallel carry a "module." prefix.
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}

    missing = [k for k in EXPECTED if k not in state]
    if missing:
        fail(f"{args.input} is not a torchvision vgg16 state_dict: missing {', '.join(missing[:4])}"
             + (" ..." if len(missing) > 4 else ""))
    extra = [k for k in state if k not in EXPECTED]
    if extra:
        print(f"{PROG}: note: ignoring {len(extra)} extra entries ({', '.join(extra[:4])})", file=sys.stderr)

    dtypes = {torch.float32: ("F32", "<f4"), torch.float16: ("F16", "<f2")}
    tensors = []
    params = 0
    for name in EXPECTED:
        t = state[name].detach().cpu().contiguous()
        if t.dtype == torch.bfloat16:
            # numpy has no bfloat16: write its raw 16-bit patterns.
            data = t.view(torch.int16).numpy().astype("<i2")
            dtype = "BF16"
        elif t.dtype in dtypes:
            dtype, np_dtype = dtypes[t.dtype]
            data = t.numpy().astype(np_dtype, copy=False)
        else:
            fail(f"{name} has dtype {t.dtype}, expected a float type")
        tensors.append((name, dtype, list(t.shape), data))
        params += t.numel()

    try:
        write_safetensors(args.output, tensors, {"preprocessing": "torch", "source": "torchvision vgg16"})
    except OSError as e:
        fail(f"cannot write {args.output}: {e}")
    print(f"{PROG}: wrote {args.output}: {len(tensors)} tensors, {params:,} parameters", file=sys.stderr)


if __name__ == "__main__":
    main()
