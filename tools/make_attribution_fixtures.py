#!/usr/bin/env python3
"""Makes the attribution reference fixtures: what pytorch-grad-cam 1.5.7 (every CAM method) and
captum 0.9 (image attributions) return on two small VGG16 classifiers, so that the Rust
implementations can be checked against the libraries themselves without needing Python.

    python3 tools/make_attribution_fixtures.py     # needs torch, numpy, opencv, grad-cam 1.5.7,
                                                   # captum 0.9; a few minutes (real model, float64)

Files (tests/fixtures/README.md lists every tensor with its shape):

  tests/fixtures/attribution_tiny.safetensors   prefix `tiny.`, 2 images
  tests/fixtures/attribution_real.safetensors   prefix `real.`, 1 image; needs
                                                weights/vgg16_notop.safetensors (tools/fetch-weights).
                                                If that file is missing only the tiny file is written.

Code: this file (paths, metadata, writing) and the package tools/attribution_fixtures/: settings.py
(the fixed choices), models.py (model, inputs, noise), margins.py (margins, image / head search),
checks.py (hand computations), cam_refs.py (pytorch-grad-cam + SVD sign patch), captum_refs.py
(captum + fixed-noise patch), build.py (one model's fixture and the float32 comparison).

The models. VGG16 body: 13 conv3x3 pad 1, each followed by an nn.ReLU module (not inplace, so that
captum's GuidedBackprop / Deconvolution hooks see it), max_pool2d(2, 2) after block1_conv2,
block2_conv2, block3_conv3, block4_conv3 and block5_conv3; input 64x64, so block3_conv3 is 16x16
and block5_conv3 4x4. Head: flatten in (C, H, W) order, then ONE dense layer `head`
(y = x @ W.T + b, W [10, C*2*2]); its output, the 10 logits, is the model output.
  * tiny: conv weights of tests/fixtures/tiny_vgg16.safetensors (widths 4, 8, 8, 16, 16; its fc
    layers are ignored), head [10, 64].
  * real: conv weights of weights/vgg16_notop.safetensors (ImageNet), head [10, 2048].
  Head: numpy default_rng(seed) normal values scaled by 4 / rms(pool5 features @ W.T) so the
  logits are O(1..10), bias uniform in [-0.5, 0.5); rounded to float32 and stored.

Inputs (caffe space, ~ +-100): image 0 is `fixed_input()` of tools/make_real_fixture.py at 64x64;
image 1 (tiny only) is `other_input()` of attribution_fixtures/models.py. `M.class` = argmax of
each image's logits; every target is that logit (pytorch-grad-cam ClassifierOutputTarget(c),
captum target=c); the score of a batch is sum_n logit[n, class_n].

Precision: everything stored is float32; the references are computed in float64 (a `.double()`
model) from the float64 copies of the stored float32 values (input, head, noise, conv weights), and
cast to float32 at the end. The libraries themselves cast a few intermediate values to float32
(get_2d_projection returns float32, Score-CAM's scores go through torch.Tensor (float32),
Ablation-CAM's scores through np.float32, scale_cam_image resizes in float32, occlusion divides in
float32); those are stored as the libraries return them.

Conventions fixed by this script (the libraries leave them open):
  * SVD sign (EigenCAM, EigenGradCAM, eigen_smooth): pytorch_grad_cam's get_2d_projection leaves
    the sign of the first right singular vector to LAPACK. It is replaced, everywhere it is
    imported, by a copy with ONE change: after the SVD, if VT[0].sum() < 0, -VT[0] is used. Then
    the projection (centred matrix @ VT[0]) correlates positively with the row sums of the centred
    matrix (their dot product is sigma_1^2 * VT[0].sum()).
  * SmoothGrad noise: captum draws it with torch.normal; here it is drawn once with numpy
    (default_rng(seed) standard normal times 0.15 * (max - min) of that image), rounded to float32,
    stored in `M.noise` [N*3, 3, 64, 64] (row n*3 + s = sample s of image n, captum's
    repeat_interleave order), and NoiseTunnel._add_noise_to_input is patched to return
    input.repeat_interleave(k, dim=0) + noise. nt_samples=3 in a single partition.
  * IG with a black baseline: baselines = per-channel constants (B, G, R) = (-103.939, -116.779,
    -123.68) (rounded to float32), i.e. a black image in caffe space; n_steps=7, Gauss-Legendre.
  * Occlusion: sliding_window_shapes (3, 12, 12), strides (3, 8, 8), baseline 0: 8 x 8 window
    positions at 0, 8, ..., 56 (captum: ceil((64 - 12) / 8) + 1), the last ones cropped to
    56..63; each pixel gets the mean, over the windows covering it, of logit(x) - logit(occluded).

Robustness: so that a float32 implementation takes the same ReLU and max-pool decisions as the
float64 reference, the script measures, for every input at which a gradient is taken, the smallest
|ReLU input| / rms(that ReLU input tensor, per image) and, over 2x2 pool windows whose maximum is
positive, the smallest (largest - second largest) / rms(pool input). Windows whose two largest
values are EXACTLY equal in float64 (a receptive field of exact zeros: both values are the same
bias / constant) are counted apart; float32 reproduces them and the gradient goes to the first
maximum. Image 0 is fixed (its margins, and the real model's, are below MARGIN and are only
reported). For image 1 (tiny) the formula variant is searched so that its margins are >= MARGIN
and PyTorch float32, forming the derived inputs (aug_smooth flips/scalings, SmoothGrad samples, IG
path points) in float32 as the libraries do, takes exactly the float64 decisions on all of them;
then the head seed is searched for distinct top-1 classes of the two tiny images, a class logit
>= 1 (Ablation-CAM divides by it) and a top-1 gap >= 0.1. Finally the same library calls are run
on a float32 copy of each model and max |float32 - reference| / max |reference| is printed per
tensor (and kept in the metadata): what a float32 implementation can expect.

Sanity checks (asserts) recompute by hand: layer gradients, every CAM map from the layer-5
tensors (incl. the sign-fixed projection via an eigendecomposition), scale_cam_image + cv2.resize
(and a plain-numpy bilinear half-pixel resize), Score-CAM and Ablation-CAM weights (a subset of
channels for the real model), saliency, input x gradient, IG (Gauss-Legendre), SmoothGrad /
SmoothGrad^2 / VarGrad, guided Grad-CAM = guided backprop * nearest-upsampled Grad-CAM map, and
a few occlusion pixels.
"""

import os
import sys
import warnings

import cv2
import numpy as np
import torch

import captum

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_write import write_safetensors  # noqa: E402
from make_real_fixture import fixed_input, load_weights  # noqa: E402
from attribution_fixtures.build import make  # noqa: E402
from attribution_fixtures.cam_refs import patch_grad_cam  # noqa: E402
from attribution_fixtures.captum_refs import patch_captum  # noqa: E402
from attribution_fixtures.models import other_input  # noqa: E402
from attribution_fixtures.settings import HEAD_JSON, SIZE  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_WEIGHTS = os.path.join(ROOT, "tests", "fixtures", "tiny_vgg16.safetensors")
REAL_WEIGHTS = os.path.join(ROOT, "weights", "vgg16_notop.safetensors")
OUT_TINY = os.path.join(ROOT, "tests", "fixtures", "attribution_tiny.safetensors")
OUT_REAL = os.path.join(ROOT, "tests", "fixtures", "attribution_real.safetensors")


def save(path, tensors, metadata):
    items = []
    for name in sorted(tensors):
        a = tensors[name]
        assert a.dtype == np.float32 and a.flags["C_CONTIGUOUS"], name
        items.append((name, "F32", list(a.shape), a.astype("<f4").tobytes()))
    write_safetensors(path, items, metadata)
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path) / 1e6:.2f} MB)")
    for name in sorted(tensors):
        a = tensors[name]
        print(f"  {name:40s} {str(list(a.shape)):18s} max|.| {np.abs(a).max():.4g}")


def main():
    warnings.filterwarnings("ignore", category=UserWarning, module="captum")
    torch.manual_seed(0)
    patch_grad_cam()
    patch_captum()
    try:
        from importlib.metadata import version
        gc_version = version("grad-cam")
    except Exception:
        gc_version = "?"
    meta = {"source": "tools/make_attribution_fixtures.py", "torch": torch.__version__,
            "captum": captum.__version__, "grad-cam": gc_version, "numpy": np.__version__,
            "opencv": cv2.__version__, "head": HEAD_JSON}

    tiny_convs = load_weights(TINY_WEIGHTS)
    x0 = fixed_input(SIZE)
    tensors, info = make("tiny", tiny_convs, lambda v: np.concatenate([x0, other_input(v)]), 2)
    save(OUT_TINY, tensors, {**meta, **info})

    if not os.path.exists(REAL_WEIGHTS):
        print(f"{os.path.relpath(REAL_WEIGHTS, ROOT)} is missing (run tools/fetch-weights): "
              f"{os.path.relpath(OUT_REAL, ROOT)} NOT written")
        return
    real_convs = load_weights(REAL_WEIGHTS)
    tensors, info = make("real", real_convs, lambda v: x0, 1)
    save(OUT_REAL, tensors, {**meta, **info})


if __name__ == "__main__":
    main()
