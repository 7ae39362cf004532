#!/usr/bin/env python3
"""The PyTorch side of the speed comparison (tools/bench-vs-pytorch runs both sides).

    python3 tools/bench_pytorch.py [--threads 2] [--runs 5] [--grid] [--only KEY[,KEY...]]

Model: VGG16 built from torch.nn (no torchvision): 13 convs 3x3 pad 1 + ReLU, 5 max-pools, fc
25088-4096-4096-1000 (no dropout: inference), float32, batch 1, random weights from a fixed seed
(kaiming-normal convs, normal(0, 0.01) linears, zero biases, like torchvision's init, so activations
keep a sane scale and never become denormal). Every parameter has requires_grad=False, so no
weight gradient is ever computed.

Workloads (each timed as the median of --runs runs after one warm-up run):
  forward_224_ms                  the whole network on 1x3x224x224, under torch.no_grad()
  gradcam_224_ms                  Grad-CAM: forward to block5_conv3 (after its ReLU) without a graph;
                                  that activation becomes a leaf with requires_grad; the rest of the
                                  forward; top-1 class; torch.autograd.grad(logit, activation) (so
                                  the backward stops at block5_conv3); alpha = mean over (i, j);
                                  cam = relu(sum_k alpha_k A_k) / max
  ascent_150_block3_conv1_40_ms   filter visualisation, 1st-edition settings: filter 0 of
                                  block3_conv1, input 1x3x150x150 = rand * 20 + 128, 40 steps of
                                  g = d mean(act[filter]) / d input; g /= sqrt(mean(g^2)) + 1e-5;
                                  input += g; only the conv stack up to block3_conv1 is run
  scorecam_224_block3_conv3_ms    (--scorecam only) pytorch-grad-cam's ScoreCAM (PyPI grad-cam) at the
                                  ReLU after block3_conv3 for the top-1 class: 256 masked inputs,
                                  forwarded in its default batches of 16. One timed run after a
                                  warm-up forward (a run takes about a minute).
  method_<name>_ms                (--methods LIST|all only) the reference library's version of each
                                  `viz attribute` method with its defaults, one run each after the
                                  warm-up forward, top-1 class: pytorch-grad-cam (PyPI grad-cam) for
                                  the CAM methods at the ReLU after block5_conv3 (its ScoreCAM
                                  batches 16, its AblationCAM 32); captum for the input-space
                                  methods: Saliency(abs=False), InputXGradient, IntegratedGradients
                                  (50 Gauss-Legendre steps, internal_batch_size 16), NoiseTunnel over
                                  Saliency (25 samples, stdev 0.15 x the input range, batches of
                                  16), GuidedBackprop, Deconvolution, GuidedGradCam, Occlusion
                                  (32 px window, stride 16, 16 per eval). These need trainable
                                  parameters (pytorch-grad-cam backpropagates through the model) and
                                  non-inplace ReLUs (captum's hooks), so they run on a copy of the
                                  model with both.
  grid_64_ms (--grid only)        the notebook's grid figure: for block1_conv1, block2_conv1,
                                  block3_conv1 and block4_conv1, filters 0..63 one at a time, 40
                                  ascent steps each at 64x64 (~90 s or more per run). Timed as the
                                  median of --grid-runs runs (default 1) after a short warm-up (one
                                  filter per layer, 2 steps) instead of a full warm-up run.

Prints one JSON object on stdout: {"threads", "torch_version", "runs", and the *_ms keys}.
Progress goes to stderr.
"""

import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
SEED = 0

# Index just past each conv's ReLU in `features` (torchvision numbering: conv 0, relu 1, ...).
LAYER_END = {}
_i, _b, _c = 0, 1, 1
for _v in CFG:
    if _v == "M":
        _i, _b, _c = _i + 1, _b + 1, 1
    else:
        LAYER_END[f"block{_b}_conv{_c}"] = _i + 2
        _i, _c = _i + 2, _c + 1

KEYS = ["forward_224_ms", "gradcam_224_ms", "ascent_150_block3_conv1_40_ms", "scorecam_224_block3_conv3_ms",
        "lucid_128_block4_conv1_8x32_ms", "grid_64_ms"]
GRID_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1"]


class VGG16(nn.Module):
    def __init__(self):
        super().__init__()
        layers, cin = [], 3
        for v in CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, 1000))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def gradcam(model, x):
    """Grad-CAM on block5_conv3 for the top-1 class; returns the normalised [14, 14] map."""
    end = LAYER_END["block5_conv3"]
    with torch.no_grad():
        a = model.features[:end](x)
    a.requires_grad_(True)
    logits = model.classifier(torch.flatten(model.features[end:](a), 1))
    c = int(logits[0].argmax())
    (g,) = torch.autograd.grad(logits[0, c], a)
    with torch.no_grad():
        alpha = g.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((alpha * a).sum(dim=1))[0]
        m = cam.max()
        return cam / m if m > 0 else torch.zeros_like(cam)


def scorecam(model, x):
    """pytorch-grad-cam's ScoreCAM at block3_conv3 (its ReLU) for the top-1 class."""
    from pytorch_grad_cam import ScoreCAM  # PyPI grad-cam; only needed for this workload

    with ScoreCAM(model=model, target_layers=[model.features[LAYER_END["block3_conv3"] - 1]]) as cam:
        return cam(input_tensor=x, targets=None)


CAM_CLASSES = {
    "gradcam": "GradCAM", "hirescam": "HiResCAM", "gradcam-elementwise": "GradCAMElementWise",
    "gradcam++": "GradCAMPlusPlus", "xgradcam": "XGradCAM", "layercam": "LayerCAM",
    "eigencam": "EigenCAM", "eigengradcam": "EigenGradCAM", "scorecam": "ScoreCAM",
    "ablationcam": "AblationCAM",
}
INPUT_METHODS = ["saliency", "input-x-gradient", "integrated-gradients", "smoothgrad",
                 "smoothgrad-sq", "vargrad", "guided-backprop", "deconvnet", "guided-gradcam",
                 "occlusion"]


def attribution_model(model):
    """A copy of `model` with trainable parameters and non-inplace ReLUs."""
    import copy
    m = copy.deepcopy(model)
    m.requires_grad_(True)
    for mod in m.modules():
        if isinstance(mod, nn.ReLU):
            mod.inplace = False
    return m.eval()


def reference_method(model, x, name):
    """Runs the reference library's `name` once on x for the top-1 class."""
    layer = model.features[LAYER_END["block5_conv3"] - 1]
    if name in CAM_CLASSES:
        import pytorch_grad_cam
        cls = getattr(pytorch_grad_cam, CAM_CLASSES[name])
        with cls(model=model, target_layers=[layer]) as cam:
            return cam(input_tensor=x, targets=None)
    import captum.attr as ca
    with torch.no_grad():
        target = int(model(x)[0].argmax())
    xi = x.clone().requires_grad_(True)
    if name == "saliency":
        return ca.Saliency(model).attribute(xi, target=target, abs=False)
    if name == "input-x-gradient":
        return ca.InputXGradient(model).attribute(xi, target=target)
    if name == "integrated-gradients":
        return ca.IntegratedGradients(model).attribute(xi, target=target, n_steps=50,
                                                       internal_batch_size=16)
    if name in ("smoothgrad", "smoothgrad-sq", "vargrad"):
        nt_type = {"smoothgrad": "smoothgrad", "smoothgrad-sq": "smoothgrad_sq", "vargrad": "vargrad"}[name]
        stdev = float(0.15 * (x.max() - x.min()))
        return ca.NoiseTunnel(ca.Saliency(model)).attribute(
            xi, target=target, nt_type=nt_type, nt_samples=25, nt_samples_batch_size=16,
            stdevs=stdev, abs=False)
    if name == "guided-backprop":
        return ca.GuidedBackprop(model).attribute(xi, target=target)
    if name == "deconvnet":
        return ca.Deconvolution(model).attribute(xi, target=target)
    if name == "guided-gradcam":
        return ca.GuidedGradCam(model, layer).attribute(xi, target=target)
    if name == "occlusion":
        return ca.Occlusion(model).attribute(xi, target=target, sliding_window_shapes=(3, 32, 32),
                                             strides=(3, 16, 16), baselines=0,
                                             perturbations_per_eval=16)
    raise SystemExit(f"bench_pytorch: unknown method {name}")


def ascent(stack, filt, size, steps, gen):
    """1st-edition gradient ascent on one filter of the last layer of `stack`."""
    img = torch.rand(1, 3, size, size, generator=gen) * 20 + 128
    for _ in range(steps):
        img.requires_grad_(True)
        act = stack(img)
        loss = act[0, filt].mean()
        (g,) = torch.autograd.grad(loss, img)
        with torch.no_grad():
            g = g / (g.pow(2).mean().sqrt() + 1e-5)
            img = img.detach() + g
    return img


def grid(model, gen, filters=64, steps=40):
    for name in GRID_LAYERS:
        stack = model.features[:LAYER_END[name]]
        for f in range(filters):
            ascent(stack, f, 64, steps, gen)


def timed(label, fn, runs, warmup=True):
    if warmup:
        fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000.0)
    med = statistics.median(samples)
    print(f"  {label}: median {med:.1f} ms of {', '.join(f'{s:.1f}' for s in samples)}", file=sys.stderr)
    return med


def main():
    ap = argparse.ArgumentParser(description="PyTorch side of the VGG16 speed comparison")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per workload (default 5)")
    ap.add_argument("--grid", action="store_true", help="also time grid_64_ms (~90+ s per run)")
    ap.add_argument("--scorecam", action="store_true",
                    help="also time scorecam_224_block3_conv3_ms (needs pip install grad-cam; ~1 min)")
    ap.add_argument("--lucid", action="store_true",
                    help="also time lucid_128_block4_conv1_8x32_ms (tools/lucid_pytorch.py's recipe; ~30 s)")
    ap.add_argument("--methods", metavar="LIST",
                    help="also time these attribution methods (comma-separated, or 'all'; needs "
                         "pip install grad-cam captum)")
    ap.add_argument("--grid-runs", type=int, default=1, help="timed runs of the grid (default 1)")
    ap.add_argument("--only", metavar="KEY[,KEY...]",
                    help=f"run only these workloads (of {', '.join(KEYS)})")
    args = ap.parse_args()
    if args.threads < 1 or args.runs < 1 or args.grid_runs < 1:
        ap.error("--threads, --runs and --grid-runs must be at least 1")
    keys = [k for k in KEYS if (k != "grid_64_ms" or args.grid)
            and (k != "scorecam_224_block3_conv3_ms" or args.scorecam)
            and (k != "lucid_128_block4_conv1_8x32_ms" or args.lucid)]
    if args.only:
        keys = [k.strip() for k in args.only.split(",") if k.strip()]
        bad = [k for k in keys if k not in KEYS]
        if bad:
            ap.error(f"unknown workload {', '.join(bad)} (known: {', '.join(KEYS)})")

    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; building VGG16...",
          file=sys.stderr)
    model = VGG16().eval()
    model.requires_grad_(False)
    gen = torch.Generator().manual_seed(SEED + 1)
    x = torch.rand(1, 3, 224, 224, generator=gen) * 250 - 120  # caffe-preprocessed range

    result = {"threads": args.threads, "torch_version": torch.__version__, "runs": args.runs}
    for key in keys:
        if key == "forward_224_ms":
            def fn():
                with torch.no_grad():
                    return model(x)
            result[key] = timed(key, fn, args.runs)
        elif key == "gradcam_224_ms":
            result[key] = timed(key, lambda: gradcam(model, x), args.runs)
        elif key == "ascent_150_block3_conv1_40_ms":
            stack = model.features[:LAYER_END["block3_conv1"]]
            result[key] = timed(key, lambda: ascent(stack, 0, 150, 40, gen), args.runs)
        elif key == "scorecam_224_block3_conv3_ms":
            result[key] = timed(key, lambda: scorecam(model, x), 1, warmup=False)
        elif key == "lucid_128_block4_conv1_8x32_ms":
            # The same recipe as `viz bench --lucid`: up to block4_conv1 before its ReLU.
            import lucid_pytorch
            stack = model.features[:LAYER_END["block4_conv1"] - 1]
            lucid_pytorch.optimise(stack, list(range(8)), 128, 1, 0.05, 0)  # warm-up
            result[key] = timed(key, lambda: lucid_pytorch.optimise(stack, list(range(8)), 128, 32, 0.05, 0),
                                1, warmup=False)
        elif key == "grid_64_ms":
            grid(model, gen, filters=1, steps=2)  # short warm-up
            result[key] = timed(key, lambda: grid(model, gen), args.grid_runs, warmup=False)
            result["grid_runs"] = args.grid_runs
    if args.methods:
        names = list(CAM_CLASSES) + INPUT_METHODS if args.methods == "all" else \
            [m.strip() for m in args.methods.split(",") if m.strip()]
        amodel = attribution_model(model)
        reference_method(amodel, x, "gradcam")  # warm-up: first backward through the copy
        for name in names:
            result[f"method_{name}_ms"] = timed(f"method {name}", lambda: reference_method(amodel, x, name),
                                                1, warmup=False)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
