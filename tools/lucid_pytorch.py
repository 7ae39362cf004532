#!/usr/bin/env python3
"""The lucid recipe in PyTorch: the reference for `viz filters --recipe lucid` (timing and fixtures).

    python3 tools/lucid_pytorch.py --layer block4_conv1 --filters 0..8 --size 128 --steps 256 \
        [--threads 2] [--seed 0] [--dump rgb.safetensors]
    python3 tools/lucid_pytorch.py --fixture crates/featureviz/tests/fixtures/lucid_chain.safetensors

Straightforward PyTorch, written from lucent's `param/spatial.py`, `param/color.py`,
`transform.py` and `objectives.py` (lucent itself no longer installs against current PyTorch):
Fourier parameterisation (irfftn, norm="ortho", scale 1/max(f, 1/size)^decay, /4), decorrelated
colour + sigmoid, pad 12 (0.5) / jitter 8 / scale 0.90..1.10 / rotate -10..10 / jitter 4, caffe
preprocessing, the channel's mean before its ReLU, Adam lr 0.05. The transforms follow the
definitions in crates/featureviz/src/transforms.rs (jitter = random crop; scale = bilinear with
corners on corners; rotation = bilinear about the centre, zero outside), so a run differs from
ours only by the random draws.

--fixture writes a small deterministic case for crates/featureviz/tests/reference.rs: a spectrum,
fixed transform draws, and what the chain (picture, RGB, transforms, model input) and its
gradient for a fixed random weighting give, plus one Adam step.
"""
import argparse, json, math, os, sys, time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
CAFFE_MEAN_BGR = [103.939, 116.779, 123.68]
COLOR_SQRT = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=np.float32)


def conv_names():
    names, b, c = [], 1, 1
    for v in CFG:
        if v == "M":
            b, c = b + 1, 1
        else:
            names.append(f"block{b}_conv{c}")
            c += 1
    return names


def features_to(layer, weights):
    """VGG16's layers up to `layer` (a conv), without that conv's ReLU."""
    from safetensors.numpy import load_file
    w = load_file(weights)
    mods, cin, names = [], 3, iter(conv_names())
    for v in CFG:
        if v == "M":
            mods.append(torch.nn.MaxPool2d(2, 2))
            continue
        name = next(names)
        conv = torch.nn.Conv2d(cin, v, 3, padding=1)
        conv.weight.data = torch.from_numpy(w[f"{name}.weight"].copy())
        conv.bias.data = torch.from_numpy(w[f"{name}.bias"].copy())
        mods.append(conv)
        if name == layer:
            break
        mods.append(torch.nn.ReLU(inplace=True))
        cin = v
    model = torch.nn.Sequential(*mods).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def fft_freqs(size):
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[: size // 2 + 1]
    return np.sqrt(fx * fx + fy * fy)


def picture(spectrum, size, decay=1.0):
    scale = 1.0 / np.maximum(fft_freqs(size), 1.0 / size) ** decay
    scale = torch.tensor(scale, dtype=spectrum.dtype)[None, None, ..., None]
    image = torch.fft.irfftn(torch.view_as_complex(scale * spectrum), s=(size, size), norm="ortho")
    return image / 4.0


def to_rgb(image):
    m = COLOR_SQRT / np.max(np.linalg.norm(COLOR_SQRT, axis=0))
    m = torch.tensor(m, dtype=image.dtype)
    return torch.sigmoid(torch.einsum("cd,ndhw->nchw", m, image))


def crop(x, top, left, shrink):
    h, w = x.shape[2:]
    return x[:, :, top:top + h - shrink, left:left + w - shrink]


def scaled_size(size, factor):
    return max(1, math.ceil(size * factor - 1e-9))


def scale(x, factor):
    h, w = x.shape[2:]
    return F.interpolate(x, size=(scaled_size(h, factor), scaled_size(w, factor)), mode="bilinear",
                         align_corners=True)


def rotate(x, degrees):
    """Output pixel p reads R(-angle)(p - c) + c (see tensor::ops::warp::WarpMap::rotate)."""
    h, w = x.shape[2:]
    s, c = math.sin(math.radians(degrees)), math.cos(math.radians(degrees))
    cu, cv = (h - 1) / 2, (w - 1) / 2
    i, j = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64),
                          indexing="ij")
    u = cu + c * (i - cu) + s * (j - cv)
    v = cv - s * (i - cu) + c * (j - cv)
    # grid_sample with align_corners=True: -1 and 1 are the centres of the corner pixels.
    grid = torch.stack([2 * v / (w - 1) - 1, 2 * u / (h - 1) - 1], dim=-1)[None].to(x.dtype)
    return F.grid_sample(x, grid.expand(x.shape[0], -1, -1, -1), mode="bilinear", padding_mode="zeros",
                         align_corners=True)


def caffe(rgb):
    bgr = rgb.flip(1) * 255.0
    return bgr - torch.tensor(CAFFE_MEAN_BGR, dtype=rgb.dtype)[None, :, None, None]


def draw(rng, size):
    """Lucid's standard transforms, drawn: returns the list applied by `transform`."""
    d1 = min(8, size + 24 - 1)
    t1, l1 = rng.integers(0, d1 + 1, 2)
    factor = 1 + (rng.integers(0, 11) - 5) / 50
    angle = float(rng.choice(list(range(-10, 11)) + [0] * 5))
    t2, l2 = rng.integers(0, 5, 2)
    return [("pad", 12), ("crop", int(t1), int(l1), d1), ("scale", factor), ("rotate", angle),
            ("crop", int(t2), int(l2), 4)]


def transform(x, drawn):
    for t in drawn:
        if t[0] == "pad":
            x = F.pad(x, [t[1]] * 4, value=0.5)
        elif t[0] == "crop":
            x = crop(x, t[1], t[2], t[3])
        elif t[0] == "scale":
            x = scale(x, t[1])
        else:
            x = rotate(x, t[1])
    return x


def optimise(model, filters, size, steps, lr, seed):
    """The recipe: returns the pictures (RGB in [0, 1], [B, 3, size, size])."""
    gen = torch.Generator().manual_seed(seed)
    spectrum = (torch.randn(len(filters), 3, size, size // 2 + 1, 2, generator=gen) * 0.01).requires_grad_(True)
    opt = torch.optim.Adam([spectrum], lr=lr)
    rng = np.random.default_rng(seed)
    idx = torch.arange(len(filters))
    for _ in range(steps):
        opt.zero_grad()
        rgb = to_rgb(picture(spectrum, size))
        act = model(caffe(transform(rgb, draw(rng, size))))
        loss = -act[idx, filters].mean(dim=(1, 2)).sum()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return to_rgb(picture(spectrum, size))


def run(args):
    torch.set_num_threads(args.threads)
    a, b = map(int, args.filters.split(".."))
    filters = list(range(a, b))
    model = features_to(args.layer, args.weights)
    started = time.perf_counter()
    rgb = optimise(model, filters, args.size, args.steps, args.lr, args.seed)
    ms = (time.perf_counter() - started) * 1e3
    if args.dump:
        from safetensors.numpy import save_file
        save_file({"rgb": np.ascontiguousarray(rgb.numpy(), dtype=np.float32)}, args.dump)
    print(json.dumps({"layer": args.layer, "filters": filters, "size": args.size, "steps": args.steps,
                      "threads": args.threads, "ms": ms, "ms_per_step": ms / args.steps}))


def fixture(path):
    """A small case in float64: spectrum [2, 3, 20, 11, 2], fixed draws, a random weighting."""
    from safetensors.numpy import save_file
    torch.manual_seed(5)
    size = 20
    spectrum = (torch.randn(2, 3, size, size // 2 + 1, 2, dtype=torch.float64) * 0.3).requires_grad_(True)
    drawn = [("pad", 4), ("crop", 1, 3, 3), ("scale", 1.1), ("rotate", 7.0), ("crop", 2, 0, 2)]
    image = picture(spectrum, size)
    rgb = to_rgb(image)
    seen = transform(rgb, drawn)
    model_input = caffe(seen)
    weighting = torch.rand(model_input.shape, dtype=torch.float64) * 2 - 1
    (model_input * weighting).sum().backward()
    grad = spectrum.grad.clone()
    stepped = spectrum.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([stepped], lr=0.05)
    stepped.grad = -grad  # climbing: Adam gets the negated gradient
    opt.step()
    out = {"spectrum": spectrum.detach(), "picture": image.detach(), "rgb": rgb.detach(),
           "model_input": model_input.detach(), "weighting": weighting, "grad": grad,
           "after_adam": stepped.detach()}
    # C order explicitly: einsum and flip return strided views, which astype would keep.
    save_file({k: np.ascontiguousarray(v.numpy(), dtype=np.float32) for k, v in out.items()}, path)
    print(f"wrote {path}: " + ", ".join(f"{k} {list(v.shape)}" for k, v in out.items()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layer", default="block4_conv1")
    ap.add_argument("--filters", default="0..8")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--weights", default=os.path.join(ROOT, "weights", "vgg16_notop.safetensors"))
    ap.add_argument("--dump")
    ap.add_argument("--fixture")
    args = ap.parse_args()
    if args.fixture:
        fixture(args.fixture)
    else:
        run(args)


if __name__ == "__main__":
    sys.exit(main())
