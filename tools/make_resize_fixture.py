#!/usr/bin/env python3
"""Makes tests/fixtures/pil_resize.json: what Pillow's Image.resize gives for NEAREST, BILINEAR
and BICUBIC on 8-bit RGB images of awkward sizes (1 px, primes, 1024 x 660, upscaling), so the
Rust test (crates/vgg16/tests/resample.rs) can check `vgg16::resample` bit for bit without
Python.

The source image is a formula both sides compute: value(x, y, c) =
(7x + 13y + 101c + 9((x y) mod 17) + ((x xor y) and 31)) mod 256. Each case stores the output's
FNV-1a 64-bit hash over its bytes (row-major RGB) and its first 48 bytes (to show where a
mismatch starts).

Regenerate: python3 tools/make_resize_fixture.py   (needs Pillow)
"""
import json
import os

import PIL
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "pil_resize.json")
CASES = [((1, 1), (224, 224)), ((7, 13), (224, 224)), ((1024, 660), (224, 224)),
         ((640, 480), (224, 224)), ((225, 223), (224, 224)), ((2, 300), (224, 224)),
         ((97, 89), (31, 29)), ((3, 5), (17, 11)), ((300, 200), (240, 240)), ((13, 7), (5, 3)),
         ((200, 300), (240, 240)), ((50, 40), (60, 30)), ((10, 500), (400, 30))]
MODES = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


def source(w, h):
    data = bytearray()
    for y in range(h):
        for x in range(w):
            for c in range(3):
                data.append((7 * x + 13 * y + 101 * c + 9 * ((x * y) % 17) + ((x ^ y) & 31)) % 256)
    return Image.frombytes("RGB", (w, h), bytes(data))


def fnv1a(data):
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def main():
    cases = []
    for (sw, sh), (dw, dh) in CASES:
        img = source(sw, sh)
        for name, mode in MODES.items():
            out = img.resize((dw, dh), mode).tobytes()
            cases.append({"src": [sw, sh], "dst": [dw, dh], "mode": name, "fnv1a64": fnv1a(out),
                          "first": list(out[:48])})
    with open(OUT, "w") as f:
        json.dump({"pillow": PIL.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print("wrote", OUT, len(cases), "cases, Pillow", PIL.__version__)


if __name__ == "__main__":
    main()
