"""One model's fixture: the model and inputs (margins.choose), the pytorch-grad-cam and captum
references, the margin report and the float32 comparison; returns the tensors to store."""

from collections import OrderedDict

import numpy as np
import torch

from .cam_refs import SVD_LOG, cam_references, float32_cams
from .captum_refs import attributions, captum_references
from .margins import choose, report_margins
from .models import float32_model, layer_tensors, up
from .settings import F64, noise_seed


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
    T["input"] = x32
    T["head.weight"], T["head.bias"] = hw, hb
    T["logits"] = logits.numpy()
    T["class"] = classes.astype(np.float64)
    T["layer5.activations"], T["layer5.gradients"] = a5.numpy(), g5.numpy()
    T["layer3.activations"] = a3.numpy()
    A = a5.numpy()
    for i in range(n):
        assert A[i].min() == 0.0, "AblationLayer would not ablate with 0"
    print(f"  classes {classes.tolist()}, logits of class {logits[np.arange(n), classes].numpy()}")

    # pytorch-grad-cam ------------------------------------------------------------------------
    maps = cam_references(model, x, classes, logits, a5, g5, a3, T)

    # captum ------------------------------------------------------------------------------------
    black, noise32 = captum_references(model, x, x32, classes, noise_seed(name), gx,
                                       maps["gradcam"][1], logits, T)

    # margins of the derived inputs (information) ----------------------------------------------
    report_margins(model, x, x32, noise32, ms0, info)
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
    R = OrderedDict()
    R["layer5.gradients"] = layer_tensors(m32, x32, classes, "block5_conv3")[1]
    for m, v in attributions(m32, x32, tgt, black.float()).items():
        R["grad." + m] = v
    R.update(float32_cams(m32, x32, classes))
    errs = {}
    for k, v in R.items():
        v = v.detach().double().numpy() if isinstance(v, torch.Tensor) else np.float64(v)
        ref = np.float64(T[k])
        errs[k] = float(np.abs(v - ref).max() / max(np.abs(ref).max(), 1e-300))
    worst = sorted(errs.items(), key=lambda kv: -kv[1])
    print("  PyTorch float32 vs these references, max |diff| / max |ref|:")
    print("    " + ", ".join(f"{k} {e:.1e}" for k, e in worst))
    return ", ".join(f"{k} {e:.1e}" for k, e in worst)
