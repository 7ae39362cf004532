#!/usr/bin/env python3
"""JPEG residual: the pure-Rust decoders against libjpeg-turbo (Pillow), and what it does to Grad-CAM.

    python3 tools/jpeg_residual.py [--weights W.safetensors] [JPEG ...]

Builds tools/jpeg_residual (a small separate cargo project), decodes each photo with zune-jpeg
(what viz uses, through `image`) and jpeg-decoder, and compares with Pillow's decoding
(libjpeg-turbo, islow IDCT, fancy upsampling): largest difference in levels, share of values
that differ. With --weights (a model with a classifier), also runs `viz gradcam` on the JPEG and
on the PNG Pillow decoded, and prints the largest change of the Grad-CAM map relative to its
maximum. Default photos: scikit-image's JPEG samples. Needs numpy, Pillow, safetensors.
"""
import argparse, glob, json, os, subprocess, sys, tempfile
import numpy as np
from PIL import Image, features

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("photos", nargs="*")
    ap.add_argument("--weights")
    args = ap.parse_args()
    photos = args.photos
    if not photos:
        import skimage
        photos = sorted(glob.glob(os.path.join(os.path.dirname(skimage.__file__), "data", "*.jpg")))
    project = os.path.join(ROOT, "tools", "jpeg_residual")
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=project, check=True)
    decoder = os.path.join(project, "target", "release", "jpeg_residual")
    viz = os.path.join(ROOT, "target", "release", "viz")
    print(f"Pillow {Image.__version__}, libjpeg-turbo {features.version_feature('libjpeg_turbo')}")
    tmp = tempfile.mkdtemp()
    for photo in photos:
        out = subprocess.run([decoder, photo, f"{tmp}/d"], capture_output=True, text=True, check=True)
        w, h = map(int, out.stdout.split())
        im = Image.open(photo)
        sampling = [layer[1:3] for layer in getattr(im, "layer", [])]
        reference = np.asarray(im.convert("RGB")).astype(int)
        line = f"{os.path.basename(photo)} {w}x{h} sampling {sampling}"
        for name in ["image", "jpegdec"]:
            ours = np.fromfile(f"{tmp}/d.{name}.rgb", dtype=np.uint8).astype(int).reshape(h, w, 3)
            diff = np.abs(ours - reference)
            line += f" | {name}: max {diff.max()}, {100 * (diff > 0).mean():.1f}% differ, mean {diff.mean():.3f}"
        if args.weights:
            from safetensors.numpy import load_file
            png = f"{tmp}/pillow.png"
            im.convert("RGB").save(png)
            cams = []
            for source in [photo, png]:
                subprocess.run([viz, "gradcam", source, "--weights", args.weights, "--dump", f"{tmp}/cam.safetensors",
                                "--out", f"{tmp}/cam.png", "--quiet"], check=True, capture_output=True)
                cams.append(load_file(f"{tmp}/cam.safetensors")["cam"])
            line += f" | Grad-CAM max change {np.abs(cams[0] - cams[1]).max() / max(cams[1].max(), 1e-12):.4f}"
        print(line)


if __name__ == "__main__":
    sys.exit(main())
