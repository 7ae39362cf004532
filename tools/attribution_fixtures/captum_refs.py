"""captum references: the fixed-noise patch of NoiseTunnel, every image attribution (saliency,
input x gradient, IG with zero and black baselines, guided backprop, deconvnet, guided Grad-CAM,
occlusion, SmoothGrad / SmoothGrad^2 / VarGrad) and its hand checks."""

from collections import OrderedDict

import numpy as np
import torch

from captum.attr import (Deconvolution, GuidedBackprop, GuidedGradCam, InputXGradient,
                         IntegratedGradients, NoiseTunnel, Occlusion, Saliency)

from .checks import close
from .models import black_baseline, input_grad, logit_of, make_noise, up
from .settings import IG_STEPS_BLACK, NT_SAMPLES, OCC_STRIDE, OCC_WINDOW, SIZE

NOISE = {}  # "noise": the float64 SmoothGrad noise that add_fixed_noise adds


def add_fixed_noise(input, stdev, nt_samples_partition):
    noise = NOISE["noise"]
    assert nt_samples_partition == NT_SAMPLES
    assert noise.shape == (input.shape[0] * nt_samples_partition,) + tuple(input.shape[1:])
    return input.repeat_interleave(nt_samples_partition, dim=0) + noise.to(input.dtype)


def patch_captum():
    """SmoothGrad noise: NoiseTunnel adds NOISE["noise"] instead of drawing with torch.normal."""
    NoiseTunnel._add_noise_to_input = staticmethod(add_fixed_noise)


def attributions(model, x, tgt, black):
    """captum's attributions of `model` at x for the targets tgt (black: the black baseline, same
    dtype as x): method -> [N, 3, 64, 64] tensor. SmoothGrad uses NOISE["noise"]."""
    L5 = model.relu_after("block5_conv3")
    D = OrderedDict()
    D["saliency"] = Saliency(model).attribute(x, target=tgt, abs=False)
    D["input-x-gradient"] = InputXGradient(model).attribute(x, target=tgt)
    D["integrated-gradients"] = IntegratedGradients(model).attribute(x, target=tgt)
    D["integrated-gradients-black"] = IntegratedGradients(model).attribute(
        x, baselines=black, target=tgt, n_steps=IG_STEPS_BLACK)
    D["guided-backprop"] = GuidedBackprop(model).attribute(x, target=tgt)
    D["deconvnet"] = Deconvolution(model).attribute(x, target=tgt)
    D["guided-gradcam"] = GuidedGradCam(model, L5).attribute(x, target=tgt)
    D["occlusion"] = Occlusion(model).attribute(x, target=tgt, sliding_window_shapes=OCC_WINDOW,
                                                strides=OCC_STRIDE, baselines=0)
    for m, nt in (("smoothgrad", "smoothgrad"), ("smoothgrad-sq", "smoothgrad_sq"),
                  ("vargrad", "vargrad")):
        D[m] = NoiseTunnel(Saliency(model)).attribute(x, nt_type=nt, nt_samples=NT_SAMPLES,
                                                      stdevs=1.0, target=tgt, abs=False)
    return D


def captum_references(model, x, x32, classes, seed, gx, gradcam_map, logits, T):
    """captum on the float64 model, with the SmoothGrad noise drawn from `seed`; stores T["noise"]
    and T["grad.<method>"], checked by hand (gx: d score / d input, gradcam_map: the block5
    GradCAM map). Returns (black baseline, noise32)."""
    n = x.shape[0]
    tgt = [int(c) for c in classes]
    black = up(black_baseline(n))
    noise32 = make_noise(x32, seed)
    NOISE["noise"] = up(noise32)
    T["noise"] = noise32
    D = attributions(model, x, tgt, black)
    for m, v in D.items():
        assert v.shape == (n, 3, SIZE, SIZE), (m, v.shape)
        T["grad." + m] = v.detach().numpy()
    check_attributions(model, x, classes, gx, gradcam_map, logits, black, noise32, T)
    return black, noise32


def check_attributions(model, x, classes, gx, gradcam_map, logits, black, noise32, T):
    """Hand checks of the stored attributions."""
    n = x.shape[0]
    top = logits[np.arange(n), classes].numpy()
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
    gcam = np.repeat(np.repeat(gradcam_map, 16, 1), 16, 2)[:, None]
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
