"""The float64 VGG16 classifier of the attribution fixtures, its inputs (image 1, SmoothGrad
noise, black baseline, every derived input at which a gradient is taken) and plain gradient /
logit helpers."""

from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn

from .settings import (BLACK_BGR, CONVS, F64, IG_STEPS_BLACK, N_CLASSES, NOISE_LEVEL, NT_SAMPLES,
                       POOL_AFTER, SIZE)


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


def model_convs(model):
    out = {}
    for name in CONVS:
        conv = getattr(model.features, name)
        out[name + ".weight"], out[name + ".bias"] = conv.weight, conv.bias
    return out


def float32_model(model):
    return VGG({k: v.detach().float().numpy() for k, v in model_convs(model).items()},
               model.head.weight.detach().float().numpy(),
               model.head.bias.detach().float().numpy()).float().eval()


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
