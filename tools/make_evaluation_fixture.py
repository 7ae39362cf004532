#!/usr/bin/env python3
"""Makes tests/fixtures/evaluation_real.safetensors: reference values for the evaluation metrics
of crates/attribution/src/metrics (deletion / insertion, ROAD's imputer and percentile, the
Spearman / SSIM similarity of the sanity checks), so that the Rust code can be checked without
Python.

    python3 tools/make_evaluation_fixture.py    # needs torch, numpy, opencv, scipy, scikit-image,
                                                # grad-cam 1.5.7, weights/vgg16_notop.safetensors
                                                # and tests/fixtures/attribution_real.safetensors

1. Deletion / insertion (the contract, implemented here twice: torch-vectorised and a plain
   numpy / per-pixel way, asserted equal). Model: the real VGG16 conv weights and the seeded
   10-class dense head of attribution_real.safetensors (`real.head.*`), its input image 0
   (`real.input`) and class (`real.class`, the argmax of the logits), in float64. Two saliency
   maps [2, 64, 64], both fed with the same image: (a) `real.cam.gradcam.map` (4x4) resized with
   cv2.resize INTER_LINEAR on float32 (half-pixel centres, clamped), (b) a smooth field quantised
   to 8 levels k/7 (about 500 exact ties per level, to exercise the stable sort).
   Ranking: np.argsort(-s, kind='stable') of the stored float32 map (equal values keep row-major
   order). Step 64 pixels: 4096 / 64 + 1 = 65 points, point i changes the first min(64 i, 4096)
   ranked pixels. Deletion sets them to 0 in all 3 channels of the preprocessed input;
   insertion starts from the input blurred per channel (11 x 11 Gaussian, sigma 5, 1-D weights
   exp(-d^2 / (2 sigma^2)) normalised to sum 1, separable, zero padding) and puts them back.
   Score: softmax probability of the class. AUC: trapezoid over x_i = i / 64 in [0, 1].
2. pytorch_grad_cam.metrics.road.NoisyLinearImputer (1.5.7) with noise=0 on a 3x12x14 image;
   the library's mask is 1 where KEPT, the stored `imputer.removed` is 1 where removed.
3. scipy.stats.spearmanr and skimage.metrics.structural_similarity (defaults, data_range=1) of
   two 20x23 maps in [0, 1] (float64 copies of the stored float32 values).
4. np.percentile(values, [10, 20, ..., 90]) of 37 float32 values (with ties).

The script also runs the deletion / insertion curves on a PyTorch float32 copy of the model and
keeps max |float32 - reference| in the metadata (about 1e-6). tests/fixtures/README.md lists every
tensor. Two runs give bit-identical tensors.
"""

import json
import os
import sys

import cv2
import numpy as np
import scipy
import scipy.stats
import skimage
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_write import write_safetensors  # noqa: E402
from make_real_fixture import load_weights  # noqa: E402
from attribution_fixtures.checks import bilinear_half_pixel, close  # noqa: E402
from attribution_fixtures.models import VGG  # noqa: E402
from attribution_fixtures.settings import CONVS, HEAD_JSON, POOL_AFTER, SIZE  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS = os.path.join(ROOT, "weights", "vgg16_notop.safetensors")
ATTR = os.path.join(ROOT, "tests", "fixtures", "attribution_real.safetensors")
OUT = os.path.join(ROOT, "tests", "fixtures", "evaluation_real.safetensors")

STEP = 64
PIXELS = SIZE * SIZE
POINTS = -(-PIXELS // STEP) + 1          # 65
BLUR_RADIUS, BLUR_SIGMA = 5, 5.0
LEVELS = 8
PERCENTILES = [10, 20, 30, 40, 50, 60, 70, 80, 90]
F64 = torch.float64


# ---------------------------------------------------------------------------------- saliency
def saliency_maps(cam4):
    """(a) the Grad-CAM map resized as cv2 does, (b) a smooth field quantised to 8 levels."""
    a = cv2.resize(np.float32(cam4), (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
    close(a, bilinear_half_pixel(np.float64(np.float32(cam4)), SIZE), 1e-6, "cv2 resize")
    y, x = np.meshgrid(np.arange(SIZE), np.arange(SIZE), indexing="ij")
    f = 0.5 + 0.3 * np.sin(0.15 * x + 0.1 * y + 0.4) + 0.2 * np.cos(0.21 * y - 0.08 * x)
    q = np.clip(np.floor(f * LEVELS), 0, LEVELS - 1)
    b = np.float32(q / (LEVELS - 1))
    counts = np.bincount(q.astype(int).ravel(), minlength=LEVELS)
    assert (counts > STEP).all(), counts   # every level spans several steps
    return np.stack([a, b]).astype(np.float32), counts


# ------------------------------------------------------------- deletion / insertion, way 1
def gauss_kernel():
    d = np.arange(-BLUR_RADIUS, BLUR_RADIUS + 1, dtype=np.float64)
    k = np.exp(-d ** 2 / (2 * BLUR_SIGMA ** 2))
    return k / k.sum()


def blur_torch(x):
    """Per-channel separable blur, zero padding: along rows (x), then along columns (y)."""
    k = torch.from_numpy(gauss_kernel()).to(x.dtype)
    c = x.shape[1]
    h = F.conv2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), padding=(0, BLUR_RADIUS), groups=c)
    return F.conv2d(h, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), padding=(BLUR_RADIUS, 0), groups=c)


def probs_of(model, xs, cls, batch=65):
    out = []
    with torch.no_grad():
        for s in range(0, xs.shape[0], batch):
            out.append(torch.softmax(model(xs[s:s + batch]), 1)[:, cls])
    return torch.cat(out).numpy()


def curves_torch(model, x, blurred, sal, cls):
    """x, blurred [1,3,64,64] float64; sal [M,64,64] float32 -> deletion, insertion [M, 65]."""
    dels, inss = [], []
    for s in sal:
        order = np.argsort(-s.ravel(), kind="stable")
        rank = np.empty(PIXELS, dtype=np.int64)
        rank[order] = np.arange(PIXELS)
        changed = np.minimum(np.arange(POINTS) * STEP, PIXELS)
        m = torch.from_numpy(rank[None, :] < changed[:, None]).view(POINTS, 1, SIZE, SIZE)
        dels.append(probs_of(model, torch.where(m, x.new_zeros(()), x), cls))
        inss.append(probs_of(model, torch.where(m, x, blurred), cls))
    return np.array(dels), np.array(inss)


# ------------------------------------------------------------- deletion / insertion, way 2
def forward_plain(convs, hw, hb, xs):
    """The model written out from the weights (not the VGG class); logits [n, 10] numpy."""
    h = torch.from_numpy(xs)
    with torch.no_grad():
        for name in CONVS:
            w = torch.from_numpy(np.float64(convs[name + ".weight"]))
            b = torch.from_numpy(np.float64(convs[name + ".bias"]))
            h = torch.clamp(F.conv2d(h, w, b, padding=1), min=0)
            if name in POOL_AFTER:
                h = F.max_pool2d(h, 2, 2)
    feat = h.reshape(h.shape[0], -1).numpy()
    return feat @ np.float64(hw).T + np.float64(hb)


def curves_plain(convs, hw, hb, x, sal, cls):
    """Python's stable sorted(), a direct 2-D 11x11 blur, per-pixel image building, log-sum-exp."""
    k = gauss_kernel()
    k2 = np.outer(k, k)
    pad = np.zeros((3, SIZE + 2 * BLUR_RADIUS, SIZE + 2 * BLUR_RADIUS))
    pad[:, BLUR_RADIUS:-BLUR_RADIUS, BLUR_RADIUS:-BLUR_RADIUS] = x[0]
    blurred = np.zeros((3, SIZE, SIZE))
    for dy in range(2 * BLUR_RADIUS + 1):
        for dx in range(2 * BLUR_RADIUS + 1):
            blurred += k2[dy, dx] * pad[:, dy:dy + SIZE, dx:dx + SIZE]
    res = []
    for s in sal:
        flat = [float(v) for v in s.ravel()]
        order = sorted(range(PIXELS), key=lambda p: -flat[p])    # stable: ties row-major
        imgs = []
        for inserting in (False, True):
            for i in range(POINTS):
                img = (blurred if inserting else x[0]).copy()
                for p in order[:min(i * STEP, PIXELS)]:
                    yy, xx = divmod(p, SIZE)
                    img[:, yy, xx] = x[0, :, yy, xx] if inserting else 0.0
                imgs.append(img)
        logits = np.concatenate([forward_plain(convs, hw, hb, np.array(imgs[j:j + 65]))
                                 for j in range(0, len(imgs), 65)])
        m = logits.max(1, keepdims=True)
        logp = logits - m - np.log(np.exp(logits - m).sum(1, keepdims=True))
        res.append(np.exp(logp[:, cls]).reshape(2, POINTS))
    res = np.array(res)
    return res[:, 0], res[:, 1], blurred


def auc_plain(c):
    return sum((c[i] + c[i + 1]) / 2 / (POINTS - 1) for i in range(POINTS - 1))


# ---------------------------------------------------------------------------------- imputer
def imputer_case():
    from pytorch_grad_cam.metrics.road import NoisyLinearImputer
    h, w = 12, 14
    y, x = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    img = np.stack([np.sin(0.5 * x + 0.3 * y) + 0.1 * x,
                    np.cos(0.4 * y - 0.2 * x) + (x >= 7) * 0.8,        # a vertical edge
                    0.05 * (x - 6) * (y - 5) + ((x + y) % 3 == 0) * 0.3])
    img = np.float32(img)
    rem = np.zeros((h, w), dtype=bool)
    rem[0:4, 9:14] = True            # blob in the top-right corner (two borders)
    rem[6:10, 3:7] = True            # interior blob, crossing nothing
    rem[7, 7] = True                 # ... with a one-pixel tongue across the edge at x = 7
    for yy, xx in ((2, 2), (11, 0), (5, 13), (11, 8), (9, 11), (0, 5)):
        rem[yy, xx] = True           # isolated pixels: interior, corner, borders
    kept = torch.from_numpy(np.float32(~rem))                   # the library: 1 = kept
    filled = NoisyLinearImputer(noise=0.0)(torch.from_numpy(img.copy()), kept).numpy()
    # independent: the dense system (sum of in-image weights) x_i - sum_removed w x_j = rhs
    wts = {(dy, dx): (1 / 6 if dy == 0 or dx == 0 else 1 / 12)
           for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)}
    idx = {p: i for i, p in enumerate(zip(*np.nonzero(rem)))}
    A = np.zeros((len(idx), len(idx)))
    rhs = np.zeros((len(idx), 3))
    for (yy, xx), i in idx.items():
        for (dy, dx), wt in wts.items():
            ny, nx = yy + dy, xx + dx
            if 0 <= ny < h and 0 <= nx < w:
                A[i, i] += wt
                if rem[ny, nx]:
                    A[i, idx[(ny, nx)]] -= wt
                else:
                    rhs[i] += wt * np.float64(img[:, ny, nx])
    sol = np.linalg.solve(A, rhs)
    ref = np.float64(img)
    for (yy, xx), i in idx.items():
        ref[:, yy, xx] = sol[i]
    assert (filled[:, ~rem] == img[:, ~rem]).all()
    close(filled, ref, 1e-6, "imputer vs dense solve")
    return img, np.float32(rem), np.float32(filled)


# ------------------------------------------------------------------------------- similarity
def ranks(v):
    order = np.argsort(v, kind="stable")
    r = np.empty(len(v))
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return r


def ssim_plain(a, b):
    vals = []
    n = 49.0
    for y in range(a.shape[0] - 6):
        for x in range(a.shape[1] - 6):
            u, v = a[y:y + 7, x:x + 7], b[y:y + 7, x:x + 7]
            mu, mv = u.mean(), v.mean()
            vu = ((u - mu) ** 2).sum() / (n - 1)
            vv = ((v - mv) ** 2).sum() / (n - 1)
            cuv = ((u - mu) * (v - mv)).sum() / (n - 1)
            c1, c2 = 0.01 ** 2, 0.03 ** 2
            vals.append((2 * mu * mv + c1) * (2 * cuv + c2)
                        / ((mu ** 2 + mv ** 2 + c1) * (vu + vv + c2)))
    return np.mean(vals)


def similarity_case():
    h, w = 20, 23
    y, x = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    a = np.exp(-((x - 8.0) ** 2 + (y - 7.0) ** 2) / 40.0) + 0.3 * np.sin(0.7 * x) * np.cos(0.5 * y)
    a = np.float32((a - a.min()) / (a.max() - a.min()))
    rng = np.random.default_rng(4242)
    b = np.exp(-((x - 11.0) ** 2 + (y - 9.0) ** 2) / 60.0) + 0.25 * rng.standard_normal((h, w))
    b = (b - b.min()) / (b.max() - b.min())
    b = np.float32(np.round(b * 9) / 9)                     # 10 levels: many ties
    a64, b64 = np.float64(a), np.float64(b)
    sp = scipy.stats.spearmanr(a64.ravel(), b64.ravel())
    sp = float(getattr(sp, "statistic", getattr(sp, "correlation", None)))
    ss = float(structural_similarity(a64, b64, data_range=1.0))
    ra, rb = ranks(a64.ravel()), ranks(b64.ravel())
    assert abs(np.corrcoef(ra, rb)[0, 1] - sp) < 1e-12
    assert abs(ssim_plain(a64, b64) - ss) < 1e-10, (ssim_plain(a64, b64), ss)
    ss32 = float(structural_similarity(a, b, data_range=1.0))   # skimage keeps float32 inputs f32
    return a, b, sp, ss, ss32, len(np.unique(b))


# ------------------------------------------------------------------------------- percentile
def percentile_case():
    rng = np.random.default_rng(37)
    v = np.float32(rng.uniform(0, 1, 37))
    v[[3, 11, 20]] = v[5]              # ties
    v[[30, 31]] = 0.25
    res = np.percentile(v, PERCENTILES)            # list q: interpolated in float64
    s = np.sort(np.float64(v))
    for p, r in zip(PERCENTILES, res):
        pos = p / 100 * 36
        lo = int(np.floor(pos))
        assert abs(s[lo] + (pos - lo) * (s[min(lo + 1, 36)] - s[lo]) - r) < 1e-15
    # what pytorch-grad-cam gets: a scalar percentile on a float32 map, interpolated in float32
    lib = np.array([np.percentile(v, p) for p in PERCENTILES])
    return v, np.float32(res), int((np.float32(res) != lib).sum()), lib.dtype


# ------------------------------------------------------------------------------------- main
def main():
    attr = load_weights(ATTR)
    convs = load_weights(WEIGHTS)
    x32 = attr["real.input"].copy()
    hw, hb = attr["real.head.weight"].copy(), attr["real.head.bias"].copy()
    cls = int(attr["real.class"][0])
    model = VGG(convs, hw, hb).double().eval()
    x = torch.from_numpy(x32).to(F64)
    with torch.no_grad():
        logits = model(x)
    assert int(logits.argmax(1)) == cls
    close(logits.numpy(), attr["real.logits"], 1e-6, "logits vs attribution_real")
    sal, counts = saliency_maps(attr["real.cam.gradcam.map"][0])

    blurred = blur_torch(x)
    dele, ins = curves_torch(model, x, blurred, sal, cls)
    p0 = float(torch.softmax(logits, 1)[0, cls])
    d2, i2, blurred2 = curves_plain(convs, hw, hb, x32.astype(np.float64), sal, cls)
    close(blurred.numpy()[0], blurred2, 1e-12, "blur: separable vs 2-D")
    close(dele, d2, 1e-9, "deletion: torch vs plain")
    close(ins, i2, 1e-9, "insertion: torch vs plain")
    assert np.allclose(dele[:, 0], p0, rtol=1e-12) and np.allclose(ins[:, -1], p0, rtol=1e-12)
    dauc = np.trapezoid(dele, dx=1 / (POINTS - 1), axis=1)
    iauc = np.trapezoid(ins, dx=1 / (POINTS - 1), axis=1)
    for m in range(2):
        assert abs(auc_plain(d2[m]) - dauc[m]) < 1e-12 and abs(auc_plain(i2[m]) - iauc[m]) < 1e-12

    # what a float32 implementation can expect (PyTorch float32, blur and images in float32)
    m32 = VGG(convs, hw, hb).float().eval()
    x_32 = torch.from_numpy(x32)
    d32, i32 = curves_torch(m32, x_32, blur_torch(x_32), sal, cls)
    err32 = {"deletion": float(np.abs(d32 - dele).max()),
             "insertion": float(np.abs(i32 - ins).max()),
             "blurred": float(np.abs(blur_torch(x_32).numpy() - blurred.numpy()).max())}

    img, rem, filled = imputer_case()
    a, b, sp, ss, ss32, nlev = similarity_case()
    pv, pres, pdiff, pdtype = percentile_case()

    T = {"input": x32, "head.weight": hw, "head.bias": hb, "class": np.float32([cls]),
         "saliency": sal, "blurred": blurred.numpy(), "deletion": dele, "insertion": ins,
         "deletion_auc": dauc, "insertion_auc": iauc,
         "imputer.image": img, "imputer.removed": rem, "imputer.filled": filled,
         "similarity.a": a, "similarity.b": b, "similarity.spearman": np.array([sp]),
         "similarity.ssim": np.array([ss]), "percentile.values": pv, "percentile.results": pres}
    T = {k: np.ascontiguousarray(np.asarray(v, dtype=np.float64).astype(np.float32))
         for k, v in T.items()}
    for k, v in T.items():
        assert np.all(np.isfinite(v)), k
    from importlib.metadata import version
    params = {"step": STEP, "points": POINTS, "x": "i / 64", "blur": {"radius": BLUR_RADIUS,
              "sigma": BLUR_SIGMA, "padding": "zero", "order": "rows (x) then columns (y)"},
              "score": "softmax probability of class", "rank": "np.argsort(-s, kind='stable')",
              "deletion_value": 0.0, "input_use": "input [1,3,64,64] repeated for both maps",
              "saliency_b_levels": LEVELS, "imputer_noise": 0.0,
              "ssim": "skimage defaults (win 7, uniform, sample covariance), data_range 1, float64",
              "percentiles": PERCENTILES}
    meta = {"source": "tools/make_evaluation_fixture.py", "torch": torch.__version__,
            "numpy": np.__version__, "opencv": cv2.__version__, "scipy": scipy.__version__,
            "scikit-image": skimage.__version__, "grad-cam": version("grad-cam"),
            "head": HEAD_JSON, "params": json.dumps(params),
            "deletion_auc": json.dumps([float(v) for v in dauc]),
            "insertion_auc": json.dumps([float(v) for v in iauc]),
            "float32 pytorch max abs err": json.dumps(err32)}
    items = [(k, "F32", list(T[k].shape), T[k].astype("<f4").tobytes()) for k in sorted(T)]
    write_safetensors(OUT, items, meta)

    print(f"wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT)} bytes)")
    for k in sorted(T):
        print(f"  {k:22s} {str(list(T[k].shape)):16s} max|.| {np.abs(T[k]).max():.4g}")
    print(f"class {cls}, p(class) {p0:.6f}; tie map level counts {counts.tolist()}")
    print(f"deletion AUC {dauc.tolist()}, insertion AUC {iauc.tolist()}")
    print(f"PyTorch float32 max |diff|: {err32}")
    print(f"min |step| of deletion {np.abs(np.diff(dele, axis=1)).min():.3g}")
    print(f"spearman {sp:.8f}, ssim {ss:.8f} (float32 inputs to skimage: {ss32:.8f}), "
          f"b has {nlev} distinct values")
    print(f"percentile: scalar-q float32 calls ({pdtype}) differ from the stored "
          f"list-q results in {pdiff} of 9")


if __name__ == "__main__":
    main()
