"""How far the float64 reference is from a different ReLU / max-pool decision, whether PyTorch
float32 takes the same decisions, and the search (tiny image-1 variant, head seed) that uses
them."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .models import VGG, derived_inputs, features_of, float32_model, make_head, make_noise, up
from .settings import MARGIN, N_CLASSES, SEEDS, noise_seed


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


def worst_of(ms):
    r = min(m[0] for m in ms)
    p = min(m[1] for m in ms)
    return r, p


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


def report_margins(model, x, x32, noise32, ms0, info):
    """Prints, and keeps in `info`, per image: the margins of the stored images (ms0, from choose)
    and of every derived input, and how many decisions PyTorch float32 takes differently."""
    n = x.shape[0]
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
