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
image 1 (tiny only) is `other_input()` below. `M.class` = argmax of each image's logits; every
target is that logit (pytorch-grad-cam ClassifierOutputTarget(c), captum target=c); the score of a
batch is sum_n logit[n, class_n].

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

import json
import os
import sys
import types
import warnings
from collections import OrderedDict

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import captum
import pytorch_grad_cam
import pytorch_grad_cam.base_cam
import pytorch_grad_cam.utils.svd_on_activations as svd_mod
from captum.attr import (Deconvolution, GuidedBackprop, GuidedGradCam, InputXGradient,
                         IntegratedGradients, NoiseTunnel, Occlusion, Saliency)
from pytorch_grad_cam import (AblationCAM, EigenCAM, EigenGradCAM, GradCAM, GradCAMElementWise,
                              GradCAMPlusPlus, HiResCAM, LayerCAM, ScoreCAM, XGradCAM)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_write import write_safetensors  # noqa: E402
from make_real_fixture import fixed_input, load_weights  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_WEIGHTS = os.path.join(ROOT, "tests", "fixtures", "tiny_vgg16.safetensors")
REAL_WEIGHTS = os.path.join(ROOT, "weights", "vgg16_notop.safetensors")
OUT_TINY = os.path.join(ROOT, "tests", "fixtures", "attribution_tiny.safetensors")
OUT_REAL = os.path.join(ROOT, "tests", "fixtures", "attribution_real.safetensors")

CONVS = ["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "block3_conv1",
         "block3_conv2", "block3_conv3", "block4_conv1", "block4_conv2", "block4_conv3",
         "block5_conv1", "block5_conv2", "block5_conv3"]
POOL_AFTER = {"block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"}
SIZE = 64
N_CLASSES = 10
MARGIN = 1e-5           # relative to the rms of the tensor in question
NT_SAMPLES = 3
NOISE_LEVEL = 0.15
IG_STEPS_BLACK = 7
BLACK_BGR = np.array([-103.939, -116.779, -123.68], dtype=np.float32)
OCC_WINDOW, OCC_STRIDE = (3, 12, 12), (3, 8, 8)
HEAD_JSON = json.dumps([{"name": "flatten", "type": "flatten", "order": "chw"},
                        {"name": "head", "type": "dense", "activation": "linear"}])
SEEDS = {"tiny": 1000, "real": 2000}   # head seed search starts here; noise seed = start + 777
F64 = torch.float64


# ------------------------------------------------------------------------------------------------
# Model and inputs


class VGG(nn.Module):
    def __init__(self, convs, head_w, head_b):
        super().__init__()
        layers = OrderedDict()
        for name in CONVS:
            w, b = convs[name + ".weight"], convs[name + ".bias"]
            conv = nn.Conv2d(w.shape[1], w.shape[0], 3, padding=1)
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(np.array(w, dtype=np.float32)))
                conv.bias.copy_(torch.from_numpy(np.array(b, dtype=np.float32)))
            layers[name] = conv
            layers[name + "_relu"] = nn.ReLU()
            if name in POOL_AFTER:
                layers[name.split("_")[0] + "_pool"] = nn.MaxPool2d(2, 2)
        self.features = nn.Sequential(layers)
        self.head = nn.Linear(head_w.shape[1], head_w.shape[0])
        with torch.no_grad():
            self.head.weight.copy_(torch.from_numpy(head_w))
            self.head.bias.copy_(torch.from_numpy(head_b))

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))

    def relu_after(self, conv_name):
        return getattr(self.features, conv_name + "_relu")


def other_input(variant, size=SIZE):
    """Image 1 of the tiny model: other frequencies and phases, same amplitude as fixed_input."""
    y, x = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    ph = 0.7 + 0.37 * variant
    chans = []
    for c in range(3):
        v = (55.0 * np.sin(0.11 * x * (c + 2) - 0.19 * y + ph + 0.9 * c)
             + 45.0 * np.cos(0.23 * y * (c + 1) + 0.07 * x - 1.3 * c))
        chans.append(v)
    return np.stack(chans)[None].astype(np.float32)


def up(a):
    """float64 torch copy of float32 numpy data."""
    assert a.dtype == np.float32
    return torch.from_numpy(np.ascontiguousarray(a)).to(F64)


def features_of(model, x):
    with torch.no_grad():
        return torch.flatten(model.features(x), 1)


def make_head(feat, seed):
    """feat: [N, F] float64 pool5 features. Returns float32 W [10, F], b [10]."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((N_CLASSES, feat.shape[1]))
    b = rng.uniform(-0.5, 0.5, N_CLASSES)
    raw = feat.numpy() @ w.T
    scale = 4.0 / np.sqrt(np.mean(raw ** 2))
    return (w * scale).astype(np.float32), b.astype(np.float32)


# ------------------------------------------------------------------------------------------------
# Margins: how far the float64 reference is from a different ReLU / max-pool decision


def margins(model, x, chunk=16):
    """Per input row: ((worst relu margin, where), (worst pool margin, where), exact ties).

    Pool windows whose two largest values are EXACTLY equal in float64 are counted in `exact
    ties` and left out of the pool margin: they come from identical computations (a window whose
    receptive field holds only exact zeros, so both values are the conv bias or the same constant),
    which a float32 implementation reproduces exactly, and the gradient then goes to the first
    maximum in row-major window order, as in PyTorch."""
    out = []
    for s in range(0, x.shape[0], chunk):
        h = x[s:s + chunk]
        n = h.shape[0]
        worst_r = [(np.inf, "")] * n
        worst_p = [(np.inf, "")] * n
        ties = [0] * n
        with torch.no_grad():
            for name, mod in model.features.named_children():
                if isinstance(mod, nn.ReLU):
                    flat = h.reshape(n, -1)
                    rms = flat.pow(2).mean(1).sqrt()
                    m = (flat.abs().min(1).values / rms).numpy()
                    worst_r = [min(wr, (float(mi), name)) for wr, mi in zip(worst_r, m)]
                elif isinstance(mod, nn.MaxPool2d):
                    nb, c, hh, ww = h.shape
                    rms = h.reshape(n, -1).pow(2).mean(1).sqrt()
                    win = h[:, :, :hh // 2 * 2, :ww // 2 * 2].reshape(nb, c, hh // 2, 2, ww // 2, 2)
                    win = win.permute(0, 1, 2, 4, 3, 5).reshape(nb, -1, 4)
                    top2 = win.topk(2, dim=-1).values
                    gap = top2[..., 0] - top2[..., 1]
                    positive = top2[..., 0] > 0
                    exact = positive & (gap == 0)
                    ties = [t + int(e) for t, e in zip(ties, exact.sum(1))]
                    gap = torch.where(positive & ~exact, gap, torch.full_like(gap, np.inf))
                    m = (gap.min(1).values / rms).numpy()
                    worst_p = [min(wp, (float(mi), name)) for wp, mi in zip(worst_p, m)]
                h = mod(h)
        out.extend(zip(worst_r, worst_p, ties))
    return out


def decisions(model, x, chunk=16):
    """ReLU signs and max-pool argmaxes of every layer, as a list of bool/int tensors."""
    res = []
    for s in range(0, x.shape[0], chunk):
        h = x[s:s + chunk]
        out = []
        with torch.no_grad():
            for mod in model.features.children():
                if isinstance(mod, nn.ReLU):
                    out.append(h > 0)
                elif isinstance(mod, nn.MaxPool2d):
                    out.append(F.max_pool2d(h, 2, 2, return_indices=True)[1])
                h = mod(h)
        res.append(out)
    return res


def float32_model(model):
    return VGG({k: v.detach().float().numpy() for k, v in model_convs(model).items()},
               model.head.weight.detach().float().numpy(),
               model.head.bias.detach().float().numpy()).float().eval()


def float32_disagreements(model, x64, x32):
    """Per row: how many ReLU / max-pool decisions PyTorch's float32 forward on x32 (the input as
    a float32 run forms it) takes differently from the float64 forward on x64."""
    d64 = decisions(model, x64)
    d32 = decisions(float32_model(model), x32)
    out = []
    for c64, c32 in zip(d64, d32):
        cnt = None
        for a, b in zip(c64, c32):
            k = (a != b).reshape(a.shape[0], -1).sum(1)
            cnt = k if cnt is None else cnt + k
        out.extend(int(v) for v in cnt)
    return out


def make_noise(x32, seed):
    """[N*3, 3, 64, 64] float32; row n*3 + s = sample s of image n; stdev 0.15 (max - min)."""
    n = x32.shape[0]
    z = np.random.default_rng(seed).standard_normal((n, NT_SAMPLES, 3, SIZE, SIZE))
    xd = x32.reshape(n, -1).astype(np.float64)
    stdev = NOISE_LEVEL * (xd.max(1) - xd.min(1))
    return (z * stdev[:, None, None, None, None]).reshape(n * NT_SAMPLES, 3, SIZE, SIZE).astype(
        np.float32)


def black_baseline(n):
    return np.broadcast_to(BLACK_BGR[None, :, None, None], (n, 3, SIZE, SIZE)).copy()


def derived_inputs(x32, noise32):
    """Every other input at which a gradient is taken, formed the way the libraries form it, in
    float64 (the reference) and in float32 (what a float32 run sees), with each row's image:
    name -> (rows64, rows32, image index per row)."""
    n = x32.shape[0]
    res = {}
    for dt in (F64, torch.float32):
        x = torch.from_numpy(x32).to(dt)
        noise = torch.from_numpy(noise32).to(dt)
        black = torch.from_numpy(black_baseline(n)).to(dt)
        rows = {}
        augs = []
        for flip in (False, True):          # ttach: hflip, then multiply
            for f in (0.9, 1.0, 1.1):
                xa = x.flip(3) if flip else x
                augs.append(xa * f if f != 1.0 else xa)
        rows["aug_smooth inputs"] = (torch.cat(augs), np.tile(np.arange(n), 6))
        rows["smoothgrad samples"] = (x.repeat_interleave(NT_SAMPLES, 0) + noise,
                                      np.repeat(np.arange(n), NT_SAMPLES))
        nodes, _ = np.polynomial.legendre.leggauss(50)
        rows["IG path (zero, 50)"] = (torch.cat([0 + al * (x - 0) for al in 0.5 * (1 + nodes)]),
                                      np.tile(np.arange(n), 50))
        nodes, _ = np.polynomial.legendre.leggauss(IG_STEPS_BLACK)
        rows["IG path (black, 7)"] = (
            torch.cat([black + al * (x - black) for al in 0.5 * (1 + nodes)]),
            np.tile(np.arange(n), IG_STEPS_BLACK))
        for k, (v, idx) in rows.items():
            res.setdefault(k, []).append((v, idx))
    return {k: (v[0][0], v[1][0], v[0][1]) for k, v in res.items()}


def model_convs(model):
    out = {}
    for name in CONVS:
        conv = getattr(model.features, name)
        out[name + ".weight"], out[name + ".bias"] = conv.weight, conv.bias
    return out


def worst_of(ms):
    r = min(m[0] for m in ms)
    p = min(m[1] for m in ms)
    return r, p


# ------------------------------------------------------------------------------------------------
# Library patches


def get_2d_projection_signed(activation_batch):
    """pytorch_grad_cam.utils.svd_on_activations.get_2d_projection (1.5.7) with ONE change:
    the sign of VT[0] is fixed so that VT[0].sum() >= 0."""
    activation_batch = activation_batch.copy()
    activation_batch[np.isnan(activation_batch)] = 0
    projections = []
    for activations in activation_batch:
        reshaped_activations = (activations).reshape(
            activations.shape[0], -1).transpose()
        reshaped_activations = reshaped_activations - \
            reshaped_activations.mean(axis=0)
        U, S, VT = np.linalg.svd(reshaped_activations, full_matrices=True)
        v = VT[0, :]
        if v.sum() < 0:  # the one change
            v = -v
        SVD_LOG.append((float(S[1] / S[0]) if len(S) > 1 and S[0] > 0 else 0.0,
                        float(abs(v.sum()) / (np.abs(v).sum() + 1e-300))))
        projection = reshaped_activations @ v
        projection = projection.reshape(activations.shape[1:])
        projections.append(projection)
    return np.float32(projections)


SVD_LOG = []  # (sigma2 / sigma1, |sum v| / sum |v|) of every projection, for the summary


def patch_libraries():
    # get_2d_projection, everywhere it was imported
    orig = svd_mod.get_2d_projection
    import importlib
    for mod in ["base_cam", "eigen_cam", "eigen_grad_cam", "hirescam", "layer_cam",
                "grad_cam_elementwise", "ablation_layer", "fullgrad_cam", "utils",
                "utils.svd_on_activations"]:
        importlib.import_module("pytorch_grad_cam." + mod)
    n = 0
    for name, mod in list(sys.modules.items()):
        if name.startswith("pytorch_grad_cam") and getattr(mod, "get_2d_projection", None) is orig:
            mod.get_2d_projection = get_2d_projection_signed
            n += 1
    assert n >= 9, n
    # quiet progress bars
    quiet = types.SimpleNamespace(tqdm=lambda it, **kw: it)
    pytorch_grad_cam.score_cam.tqdm = quiet
    pytorch_grad_cam.ablation_cam.tqdm = quiet
    # record the first argument of scale_cam_image (the map after np.maximum, before scaling)
    orig_scale = pytorch_grad_cam.base_cam.scale_cam_image

    def scale_recording(cam, target_size=None):
        if SCALE_LOG.get("first") is None:
            SCALE_LOG["first"] = np.array(cam, copy=True)
        return orig_scale(cam, target_size)
    pytorch_grad_cam.base_cam.scale_cam_image = scale_recording
    # fixed SmoothGrad noise
    NoiseTunnel._add_noise_to_input = staticmethod(add_fixed_noise)


SCALE_LOG = {}
NOISE = {}


def add_fixed_noise(input, stdev, nt_samples_partition):
    noise = NOISE["noise"]
    assert nt_samples_partition == NT_SAMPLES
    assert noise.shape == (input.shape[0] * nt_samples_partition,) + tuple(input.shape[1:])
    return input.repeat_interleave(nt_samples_partition, dim=0) + noise.to(input.dtype)


def run_cam(cls, model, layer, x, classes, record_weights=False, **kw):
    SCALE_LOG.clear()
    rec = {}
    cam = cls(model=model, target_layers=[layer])
    if record_weights:
        orig = cam.get_cam_weights

        def wrapped(*a, **k):
            w = orig(*a, **k)
            rec.setdefault("weights", np.array(w, copy=True))
            return w
        cam.get_cam_weights = wrapped
    try:
        final = cam(input_tensor=x, targets=[ClassifierOutputTarget(int(c)) for c in classes], **kw)
    finally:
        cam.activations_and_grads.release()
    return final, SCALE_LOG.get("first"), rec.get("weights")


# ------------------------------------------------------------------------------------------------
# Hand computations for the asserts


def close(a, b, rtol, what, atol_frac=0.0):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    scale = max(np.abs(b).max(), 1e-300)
    err = np.abs(a - b).max()
    assert err <= rtol * scale + atol_frac, f"{what}: max err {err:.3g} vs scale {scale:.3g}"


def minmax(img):
    img = img - np.min(img)
    return img / (1e-7 + np.max(img))


def bilinear_half_pixel(img, out):
    """cv2.resize INTER_LINEAR (upscaling): src = (dst + 0.5) * in / out - 0.5, clamped."""
    def axis(n_in):
        c = np.clip((np.arange(out) + 0.5) * n_in / out - 0.5, 0, n_in - 1)
        i0 = np.floor(c).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, c - i0
    y0, y1, wy = axis(img.shape[0])
    x0, x1, wx = axis(img.shape[1])
    top = img[y0][:, x0] * (1 - wx) + img[y0][:, x1] * wx
    bot = img[y1][:, x0] * (1 - wx) + img[y1][:, x1] * wx
    return top * (1 - wy)[:, None] + bot * wy[:, None]


def final_from_map(m):
    """What BaseCAM does to a map [N,h,w] for one target layer."""
    out = []
    for img in m:
        a = cv2.resize(np.float32(minmax(img)), (SIZE, SIZE))
        b = bilinear_half_pixel(minmax(np.float64(img)), SIZE)
        close(a, b, 1e-5, "cv2.resize == numpy bilinear half-pixel")
        out.append(minmax(a))
    return np.float32(out)


def signed_projection(a):
    """Independent check of the sign rule: top eigenvector of Xc^T Xc, v.sum() > 0."""
    res = []
    for act in a:
        xm = act.reshape(act.shape[0], -1).T
        xc = xm - xm.mean(0)
        _, vecs = np.linalg.eigh(xc.T @ xc)
        v = vecs[:, -1]
        if v.sum() < 0:
            v = -v
        res.append((xc @ v).reshape(act.shape[1:]))
    return np.array(res)


def layer_tensors(model, x, classes, conv_name):
    """Activations after the ReLU of conv_name and d score / d activations (float64)."""
    store = {}
    layer = model.relu_after(conv_name)

    def hook(mod, inp, out):
        out.retain_grad()
        store["a"] = out
    h = layer.register_forward_hook(hook)
    xx = x.clone().requires_grad_(True)
    logits = model(xx)
    h.remove()
    score = logits[torch.arange(x.shape[0]), torch.as_tensor(classes)].sum()
    model.zero_grad()
    score.backward()
    return store["a"].detach(), store["a"].grad.detach(), xx.grad.detach(), logits.detach()


def input_grad(model, x, classes):
    xx = x.clone().requires_grad_(True)
    logits = model(xx)
    score = logits[torch.arange(x.shape[0]), torch.as_tensor(classes)].sum()
    (g,) = torch.autograd.grad(score, xx)
    return g


def logit_of(model, x, classes, batch=32):
    out = []
    with torch.no_grad():
        for s in range(0, x.shape[0], batch):
            out.append(model(x[s:s + batch]))
    out = torch.cat(out)
    return out[torch.arange(x.shape[0]), torch.as_tensor(classes)]


# ------------------------------------------------------------------------------------------------
# Per model


def noise_seed(name):
    return SEEDS[name] + 777


def choose(name, convs, images_fn, n_images):
    """Searches the image-1 variant (tiny) and the head seed; returns model, x32, head, classes."""
    variants = range(200) if n_images > 1 else [None]
    for variant in variants:
        x32 = images_fn(variant)
        x = up(x32)
        body = VGG(convs, np.zeros((N_CLASSES, convs["block5_conv3.weight"].shape[0] * 4), np.float32),
                   np.zeros(N_CLASSES, np.float32)).double().eval()
        ms = margins(body, x)
        r, p = worst_of(ms)
        print(f"  {name} variant {variant}: worst relu margin {r[0]:.3g} ({r[1]}), "
              f"pool margin {p[0]:.3g} ({p[1]}), exact ties {[m[2] for m in ms]}")
        if ms[0][0][0] < MARGIN or ms[0][1][0] < MARGIN:
            print(f"  WARNING: image 0 (fixed formula) is within {MARGIN:g} x rms of a decision")
        if min([m[0][0] for m in ms[1:]] + [m[1][0] for m in ms[1:]], default=np.inf) < MARGIN:
            continue  # image 1 too close to a decision (image 0 is fixed)
        if n_images > 1:
            # image 1's derived inputs: PyTorch float32 must take the same decisions
            bad = 0
            for k, (r64, r32, idx) in derived_inputs(x32, make_noise(x32, noise_seed(name))).items():
                d = np.array(float32_disagreements(body, r64, r32))
                bad += int(d[idx >= 1].sum())
            print(f"    image-1 derived inputs: {bad} float32 decisions differ")
            if bad:
                continue
        feat = features_of(body, x)
        for seed in range(SEEDS[name], SEEDS[name] + 200):
            hw, hb = make_head(feat, seed)
            logits = feat.numpy() @ np.float64(hw).T + np.float64(hb)
            classes = logits.argmax(1)
            srt = np.sort(logits, 1)
            gap = (srt[:, -1] - srt[:, -2]).min()
            top = logits[np.arange(len(classes)), classes]
            if len(set(classes.tolist())) != len(classes) or gap < 0.1 or top.min() < 1.0:
                continue
            model = VGG(convs, hw, hb).double().eval()
            return model, x32, hw, hb, classes, variant, seed, ms
    raise RuntimeError("no acceptable image variant / head seed")


def make(name, convs, images_fn, n_images):
    print(f"== {name}")
    model, x32, hw, hb, classes, variant, seed, ms0 = choose(name, convs, images_fn, n_images)
    for p in model.parameters():
        assert p.dtype == F64
    x = up(x32)
    n = x.shape[0]
    P = name + "."
    T = OrderedDict()
    info = {"head_seed": str(seed), "image1_variant": str(variant)}

    # forward, classes, layer tensors --------------------------------------------------------
    a5, g5, gx, logits = layer_tensors(model, x, classes, "block5_conv3")
    a3, _, _, _ = layer_tensors(model, x, classes, "block3_conv3")
    assert (logits.argmax(1).numpy() == classes).all()
    K = a5.shape[1]
    T["input"] = x32
    T["head.weight"], T["head.bias"] = hw, hb
    T["logits"] = logits.numpy()
    T["class"] = classes.astype(np.float64)
    T["layer5.activations"], T["layer5.gradients"] = a5.numpy(), g5.numpy()
    T["layer3.activations"] = a3.numpy()
    A, G = a5.numpy(), g5.numpy()
    for i in range(n):
        assert A[i].min() == 0.0, "AblationLayer would not ablate with 0"
    print(f"  classes {classes.tolist()}, logits of class {logits[np.arange(n), classes].numpy()}")

    # pytorch-grad-cam ------------------------------------------------------------------------
    L5 = model.relu_after("block5_conv3")
    L3 = model.relu_after("block3_conv3")
    cams = [("gradcam", GradCAM, True), ("hirescam", HiResCAM, False),
            ("gradcam-elementwise", GradCAMElementWise, False),
            ("gradcam++", GradCAMPlusPlus, True), ("xgradcam", XGradCAM, True),
            ("layercam", LayerCAM, False), ("eigencam", EigenCAM, False),
            ("eigengradcam", EigenGradCAM, False), ("scorecam", ScoreCAM, True),
            ("ablationcam", AblationCAM, True)]
    maps = {}
    for m, cls, has_w in cams:
        final, mp, w = run_cam(cls, model, L5, x, classes, record_weights=has_w)
        assert mp is not None and mp.shape == (n, 4, 4), (m, None if mp is None else mp.shape)
        assert final.shape == (n, SIZE, SIZE)
        T[f"cam.{m}.final"], T[f"cam.{m}.map"] = final, mp
        if has_w:
            assert w.shape == (n, K), (m, w.shape)
            T[f"cam.{m}.weights"] = w
        maps[m] = (final, mp, w)
        close(final, final_from_map(mp), 1e-6, f"{m} final from map")
    # hand checks of the maps
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    gw = G.mean((2, 3))
    close(maps["gradcam"][2], gw, 1e-12, "gradcam weights")
    close(maps["gradcam"][1], relu((gw[:, :, None, None] * A).sum(1)), 1e-12, "gradcam map")
    close(maps["hirescam"][1], relu((G * A).sum(1)), 1e-12, "hirescam map")
    close(maps["gradcam-elementwise"][1], relu(relu(G * A).sum(1)), 1e-12, "elementwise map")
    close(maps["layercam"][1], relu((relu(G) * A).sum(1)), 1e-12, "layercam map")
    sa = A.sum((2, 3))[:, :, None, None]
    aij = np.where(G != 0, G ** 2 / (2 * G ** 2 + sa * G ** 3 + 1e-6), 0)
    wpp = (relu(G) * aij).sum((2, 3))
    close(maps["gradcam++"][2], wpp, 1e-12, "gradcam++ weights")
    close(maps["gradcam++"][1], relu((wpp[:, :, None, None] * A).sum(1)), 1e-12, "gradcam++ map")
    wx = (G * A / (sa + 1e-7)).sum((2, 3))
    close(maps["xgradcam"][2], wx, 1e-12, "xgradcam weights")
    close(maps["xgradcam"][1], relu((wx[:, :, None, None] * A).sum(1)), 1e-12, "xgradcam map")
    close(maps["eigencam"][1], relu(signed_projection(A)), 1e-5, "eigencam map (sign rule)")
    close(maps["eigengradcam"][1], relu(signed_projection(G * A)), 1e-5, "eigengradcam map")
    # Score-CAM and Ablation-CAM weights by hand (all channels for tiny, 8 for real)
    chans = list(range(K)) if K <= 32 else [0, 1, 2, 3, K // 2, K // 3, K - 2, K - 1]
    up_act = F.interpolate(a5, size=(SIZE, SIZE), mode="bilinear", align_corners=True)
    lo = up_act.amin((2, 3), keepdim=True)
    hi = up_act.amax((2, 3), keepdim=True)
    norm = (up_act - lo) / (hi - lo + 1e-8)
    scores = np.zeros((n, K))
    for i in range(n):
        masked = (x[i][None] * norm[i][chans][:, None])
        scores[i, chans] = logit_of(model, masked, [classes[i]] * len(chans)).numpy()
    if len(chans) == K:
        sw = np.exp(scores - scores.max(1, keepdims=True))
        sw /= sw.sum(1, keepdims=True)
        close(maps["scorecam"][2], sw, 1e-5, "scorecam weights")
        close(maps["scorecam"][1], relu((sw[:, :, None, None] * A).sum(1)), 1e-5, "scorecam map")
    else:  # softmax ratios of the checked channels
        lw = np.log(maps["scorecam"][2][:, chans])
        close(lw - lw[:, :1], scores[:, chans] - scores[:, chans[:1]], 1e-5, "scorecam weights",
              atol_frac=1e-4)
    top = logits[np.arange(n), classes].numpy()
    abl = np.zeros((n, len(chans)))
    tail = list(model.features.named_children())
    idx5 = [k for k, _ in tail].index("block5_conv3_relu")
    for i in range(n):
        for j, c in enumerate(chans):
            a = a5[i:i + 1].clone()
            a[:, c] = 0
            h = a
            for _, mod in tail[idx5 + 1:]:
                h = mod(h)
            abl[i, j] = model.head(torch.flatten(h, 1))[0, classes[i]].item()
    close(maps["ablationcam"][2][:, chans], (top[:, None] - abl) / top[:, None], 1e-4,
          "ablationcam weights", atol_frac=1e-6)
    w_abl = maps["ablationcam"][2]
    close(maps["ablationcam"][1], relu((np.float64(w_abl)[:, :, None, None] * A).sum(1)), 1e-6,
          "ablationcam map")

    # GradCAM aug_smooth / eigen_smooth
    final, _, _ = run_cam(GradCAM, model, L5, x, classes, aug_smooth=True)
    T["cam.gradcam.aug_final"] = final
    final, mp, _ = run_cam(GradCAM, model, L5, x, classes, eigen_smooth=True)
    T["cam.gradcam.eigen_final"], T["cam.gradcam.eigen_map"] = final, mp
    close(mp, relu(signed_projection(gw[:, :, None, None] * A)), 1e-5, "gradcam eigen_smooth map")
    close(final, final_from_map(mp), 1e-6, "gradcam eigen final")
    # hand check of aug_smooth: 6 transforms (flip x {0.9, 1, 1.1}), each normalised, de-flipped
    aug = []
    for flip in (False, True):
        for f in (0.9, 1.0, 1.1):
            xa = torch.flip(x, dims=[3]) if flip else x
            xa = xa * f if f != 1.0 else xa
            aa, ga, _, _ = layer_tensors(model, xa, classes, "block5_conv3")
            aa, ga = aa.numpy(), ga.numpy()
            mpa = relu((ga.mean((2, 3))[:, :, None, None] * aa).sum(1))
            fa = final_from_map(mpa)
            aug.append(fa[:, :, ::-1] if flip else fa)
    close(T["cam.gradcam.aug_final"], np.mean(np.float32(aug), 0), 1e-6, "aug_smooth")

    # Score-CAM at block3_conv3
    final, mp, w = run_cam(ScoreCAM, model, L3, x, classes, record_weights=True)
    T["cam3.scorecam.final"], T["cam3.scorecam.map"], T["cam3.scorecam.weights"] = final, mp, w
    assert mp.shape == (n, 16, 16) and w.shape == (n, a3.shape[1])
    close(mp, relu((np.float64(w)[:, :, None, None] * a3.numpy()).sum(1)), 1e-6, "cam3 map")
    close(final, final_from_map(mp), 1e-6, "cam3 final")

    # captum ------------------------------------------------------------------------------------
    tgt = [int(c) for c in classes]
    D = OrderedDict()
    D["saliency"] = Saliency(model).attribute(x, target=tgt, abs=False)
    D["input-x-gradient"] = InputXGradient(model).attribute(x, target=tgt)
    D["integrated-gradients"] = IntegratedGradients(model).attribute(x, target=tgt)
    black = up(black_baseline(n))
    D["integrated-gradients-black"] = IntegratedGradients(model).attribute(
        x, baselines=black, target=tgt, n_steps=IG_STEPS_BLACK)
    D["guided-backprop"] = GuidedBackprop(model).attribute(x, target=tgt)
    D["deconvnet"] = Deconvolution(model).attribute(x, target=tgt)
    D["guided-gradcam"] = GuidedGradCam(model, L5).attribute(x, target=tgt)
    D["occlusion"] = Occlusion(model).attribute(x, target=tgt, sliding_window_shapes=OCC_WINDOW,
                                                strides=OCC_STRIDE, baselines=0)
    noise32 = make_noise(x32, noise_seed(name))
    NOISE["noise"] = up(noise32)
    T["noise"] = noise32
    for m, nt in (("smoothgrad", "smoothgrad"), ("smoothgrad-sq", "smoothgrad_sq"),
                  ("vargrad", "vargrad")):
        D[m] = NoiseTunnel(Saliency(model)).attribute(x, nt_type=nt, nt_samples=NT_SAMPLES,
                                                      stdevs=1.0, target=tgt, abs=False)
    for m, v in D.items():
        assert v.shape == (n, 3, SIZE, SIZE), (m, v.shape)
        T["grad." + m] = v.detach().numpy()
    # hand checks
    gxn = gx.numpy()
    close(T["grad.saliency"], gxn, 1e-12, "saliency")
    close(T["grad.input-x-gradient"], x.numpy() * gxn, 1e-12, "input x gradient")
    for m, base, steps in (("integrated-gradients", torch.zeros_like(x), 50),
                           ("integrated-gradients-black", black, IG_STEPS_BLACK)):
        nodes, wts = np.polynomial.legendre.leggauss(steps)
        acc = torch.zeros_like(x)
        # captum rounds the Gauss-Legendre weights (not the nodes) to float32
        for al, wt in zip(0.5 * (1 + nodes), np.float32(0.5 * wts).astype(np.float64)):
            acc += wt * input_grad(model, base + al * (x - base), classes)
        close(T["grad." + m], ((x - base) * acc).numpy(), 1e-8, m)
    xn = x.repeat_interleave(NT_SAMPLES, 0) + up(noise32)  # exact in float64
    gn = input_grad(model, xn, np.repeat(classes, NT_SAMPLES)).numpy().reshape(
        n, NT_SAMPLES, 3, SIZE, SIZE)
    close(T["grad.smoothgrad"], gn.mean(1), 1e-12, "smoothgrad")
    close(T["grad.smoothgrad-sq"], (gn ** 2).mean(1), 1e-12, "smoothgrad-sq")
    close(T["grad.vargrad"], (gn ** 2).mean(1) - gn.mean(1) ** 2, 1e-10, "vargrad")
    gcam = np.repeat(np.repeat(maps["gradcam"][1], 16, 1), 16, 2)[:, None]
    close(T["grad.guided-gradcam"], T["grad.guided-backprop"] * gcam, 1e-10, "guided gradcam")
    for (wy, wxx) in ((0, 0), (3, 5), (7, 7)):
        xo = x.clone()
        xo[:, :, wy * 8:wy * 8 + 12, wxx * 8:wxx * 8 + 12] = 0
        d = (top - logit_of(model, xo, classes).numpy())
        # pixel covered by exactly one window: the corner of window (0,0); (7,7) last cropped
        if (wy, wxx) == (0, 0):
            close(T["grad.occlusion"][:, :, 0, 0], np.repeat(d[:, None], 3, 1), 1e-5,
                  "occlusion corner")
        if (wy, wxx) == (7, 7):
            close(T["grad.occlusion"][:, :, 63, 63], np.repeat(d[:, None], 3, 1), 1e-5,
                  "occlusion far corner")

    # margins of the derived inputs (information) ----------------------------------------------
    print("  margins (min |relu input| / rms, min pool top-2 gap / rms) and decisions that "
          "PyTorch float32 takes differently, per image:")
    rows = {"stored images": (x, x.float(), np.arange(n))}
    rows.update(derived_inputs(x32, noise32))
    for k, (r64, r32, idx) in rows.items():
        v = ms0 if k == "stored images" else margins(model, r64)
        d = np.array(float32_disagreements(model, r64, r32))
        per = []
        for i in range(n):
            sel = [m for m, j in zip(v, idx) if j == i]
            r, p = worst_of(sel)
            nbad = sum(1 for m in sel if m[0][0] < MARGIN or m[1][0] < MARGIN)
            per.append(f"image {i}: relu {r[0]:.3g} ({r[1]}), pool {p[0]:.3g} ({p[1]}), "
                       f"{nbad}/{len(sel)} rows below {MARGIN:g}, {sum(m[2] for m in sel)} exact "
                       f"ties, float32 differs in {int(d[idx == i].sum())} decisions")
        print(f"    {k}:")
        for line in per:
            print("      " + line)
        info["margins " + k] = "; ".join(per)
    srt = np.sort(logits.numpy(), 1)
    print(f"  top-1 gap {(srt[:, -1] - srt[:, -2]).min():.3g}; "
          f"SVD sigma2/sigma1 max {max(s[0] for s in SVD_LOG):.3g}, "
          f"|sum v|/sum|v| min {min(s[1] for s in SVD_LOG):.3g}")
    SVD_LOG.clear()
    info["float32 pytorch max rel err"] = float32_check(model, x, classes, T, black)
    SVD_LOG.clear()

    out = OrderedDict()
    for k, v in T.items():
        a = np.asarray(v, dtype=np.float64)
        assert np.all(np.isfinite(a)), k
        out[P + k] = np.ascontiguousarray(a.astype(np.float32))
    return out, info


def float32_check(model, x, classes, T, black):
    """The same libraries on a float32 copy of the model: max |float32 - reference| / max |ref|
    per tensor (what a float32 implementation can expect; printed and kept in the metadata)."""
    m32 = float32_model(model)
    x32 = x.float()
    tgt = [int(c) for c in classes]
    R = {"layer5.gradients": layer_tensors(m32, x32, classes, "block5_conv3")[1]}
    R["grad.saliency"] = Saliency(m32).attribute(x32, target=tgt, abs=False)
    R["grad.input-x-gradient"] = InputXGradient(m32).attribute(x32, target=tgt)
    R["grad.integrated-gradients"] = IntegratedGradients(m32).attribute(x32, target=tgt)
    R["grad.integrated-gradients-black"] = IntegratedGradients(m32).attribute(
        x32, baselines=black.float(), target=tgt, n_steps=IG_STEPS_BLACK)
    R["grad.guided-backprop"] = GuidedBackprop(m32).attribute(x32, target=tgt)
    R["grad.deconvnet"] = Deconvolution(m32).attribute(x32, target=tgt)
    L5 = m32.relu_after("block5_conv3")
    R["grad.guided-gradcam"] = GuidedGradCam(m32, L5).attribute(x32, target=tgt)
    R["grad.occlusion"] = Occlusion(m32).attribute(x32, target=tgt, sliding_window_shapes=OCC_WINDOW,
                                                   strides=OCC_STRIDE, baselines=0)
    for m, nt in (("smoothgrad", "smoothgrad"), ("smoothgrad-sq", "smoothgrad_sq"),
                  ("vargrad", "vargrad")):
        R["grad." + m] = NoiseTunnel(Saliency(m32)).attribute(
            x32, nt_type=nt, nt_samples=NT_SAMPLES, stdevs=1.0, target=tgt, abs=False)
    for m, cls in (("gradcam", GradCAM), ("hirescam", HiResCAM),
                   ("gradcam-elementwise", GradCAMElementWise), ("gradcam++", GradCAMPlusPlus),
                   ("xgradcam", XGradCAM), ("layercam", LayerCAM), ("eigencam", EigenCAM),
                   ("eigengradcam", EigenGradCAM), ("scorecam", ScoreCAM),
                   ("ablationcam", AblationCAM)):
        final, mp, _ = run_cam(cls, m32, L5, x32, classes)
        R[f"cam.{m}.map"], R[f"cam.{m}.final"] = mp, final
    R["cam3.scorecam.final"] = run_cam(ScoreCAM, m32, m32.relu_after("block3_conv3"), x32,
                                       classes)[0]
    errs = {}
    for k, v in R.items():
        v = v.detach().double().numpy() if isinstance(v, torch.Tensor) else np.float64(v)
        ref = np.float64(T[k])
        errs[k] = float(np.abs(v - ref).max() / max(np.abs(ref).max(), 1e-300))
    worst = sorted(errs.items(), key=lambda kv: -kv[1])
    print("  PyTorch float32 vs these references, max |diff| / max |ref|:")
    print("    " + ", ".join(f"{k} {e:.1e}" for k, e in worst))
    return ", ".join(f"{k} {e:.1e}" for k, e in worst)


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
    patch_libraries()
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
