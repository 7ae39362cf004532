"""pytorch-grad-cam references: the SVD sign patch of get_2d_projection, run_cam (which also
records the map before scaling and the channel weights), and every CAM method at block5_conv3
(plus aug_smooth / eigen_smooth and Score-CAM at block3_conv3) with its hand checks."""

import importlib
import sys
import types
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

import pytorch_grad_cam
import pytorch_grad_cam.base_cam
import pytorch_grad_cam.utils.svd_on_activations as svd_mod
from pytorch_grad_cam import (AblationCAM, EigenCAM, EigenGradCAM, GradCAM, GradCAMElementWise,
                              GradCAMPlusPlus, HiResCAM, LayerCAM, ScoreCAM, XGradCAM)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from .checks import close, final_from_map, signed_projection
from .models import layer_tensors, logit_of
from .settings import SIZE

# (name, class, whether its channel weights are stored), in the order they are run
CAMS = [("gradcam", GradCAM, True), ("hirescam", HiResCAM, False),
        ("gradcam-elementwise", GradCAMElementWise, False),
        ("gradcam++", GradCAMPlusPlus, True), ("xgradcam", XGradCAM, True),
        ("layercam", LayerCAM, False), ("eigencam", EigenCAM, False),
        ("eigengradcam", EigenGradCAM, False), ("scorecam", ScoreCAM, True),
        ("ablationcam", AblationCAM, True)]


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


def patch_grad_cam():
    """Installs the sign-fixed get_2d_projection, quiets the progress bars and records the map
    that scale_cam_image receives (SCALE_LOG["first"], read by run_cam)."""
    # get_2d_projection, everywhere it was imported
    orig = svd_mod.get_2d_projection
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


SCALE_LOG = {}


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


def relu(v):
    return np.maximum(v, 0)


def cam_references(model, x, classes, logits, a5, g5, a3, T):
    """pytorch-grad-cam on the float64 model: every method of CAMS at block5_conv3, GradCAM with
    aug_smooth / eigen_smooth, Score-CAM at block3_conv3, each checked by hand; stored in T as
    `cam.<method>.*` and `cam3.scorecam.*`. Returns the block5 results, method -> (final, map,
    weights)."""
    maps = layer5_cams(model, x, classes, a5, T)
    check_layer5_maps(model, x, classes, logits, a5, g5, maps)
    smoothed_gradcam(model, x, classes, a5, g5, T)
    layer3_scorecam(model, x, classes, a3, T)
    return maps


def layer5_cams(model, x, classes, a5, T):
    """Every method of CAMS at block5_conv3: final, map and (where it has them) weights."""
    n, K = x.shape[0], a5.shape[1]
    L5 = model.relu_after("block5_conv3")
    maps = {}
    for m, cls, has_w in CAMS:
        final, mp, w = run_cam(cls, model, L5, x, classes, record_weights=has_w)
        assert mp is not None and mp.shape == (n, 4, 4), (m, None if mp is None else mp.shape)
        assert final.shape == (n, SIZE, SIZE)
        T[f"cam.{m}.final"], T[f"cam.{m}.map"] = final, mp
        if has_w:
            assert w.shape == (n, K), (m, w.shape)
            T[f"cam.{m}.weights"] = w
        maps[m] = (final, mp, w)
        close(final, final_from_map(mp), 1e-6, f"{m} final from map")
    return maps


def check_layer5_maps(model, x, classes, logits, a5, g5, maps):
    """Hand checks: every block5 map (and the stored weights) recomputed from the layer-5
    tensors."""
    n, K = x.shape[0], a5.shape[1]
    A, G = a5.numpy(), g5.numpy()
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


def smoothed_gradcam(model, x, classes, a5, g5, T):
    """GradCAM with aug_smooth and with eigen_smooth, checked by hand."""
    A, G = a5.numpy(), g5.numpy()
    gw = G.mean((2, 3))
    L5 = model.relu_after("block5_conv3")
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


def layer3_scorecam(model, x, classes, a3, T):
    """Score-CAM at block3_conv3 (a 16x16 map)."""
    n = x.shape[0]
    L3 = model.relu_after("block3_conv3")
    final, mp, w = run_cam(ScoreCAM, model, L3, x, classes, record_weights=True)
    T["cam3.scorecam.final"], T["cam3.scorecam.map"], T["cam3.scorecam.weights"] = final, mp, w
    assert mp.shape == (n, 16, 16) and w.shape == (n, a3.shape[1])
    close(mp, relu((np.float64(w)[:, :, None, None] * a3.numpy()).sum(1)), 1e-6, "cam3 map")
    close(final, final_from_map(mp), 1e-6, "cam3 final")


def float32_cams(m32, x32, classes):
    """The same CAM calls on the float32 copy of the model (for the float32 comparison)."""
    R = OrderedDict()
    L5 = m32.relu_after("block5_conv3")
    for m, cls, _ in CAMS:
        final, mp, _ = run_cam(cls, m32, L5, x32, classes)
        R[f"cam.{m}.map"], R[f"cam.{m}.final"] = mp, final
    R["cam3.scorecam.final"] = run_cam(ScoreCAM, m32, m32.relu_after("block3_conv3"), x32,
                                       classes)[0]
    return R
