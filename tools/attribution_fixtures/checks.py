"""Independent hand computations that the asserts compare the library results against."""

import cv2
import numpy as np

from .settings import SIZE


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
