"""The fixed choices of the attribution fixtures (see tools/make_attribution_fixtures.py)."""

import json

import numpy as np
import torch

CONVS = ["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "block3_conv1",
         "block3_conv2", "block3_conv3", "block4_conv1", "block4_conv2", "block4_conv3",
         "block5_conv1", "block5_conv2", "block5_conv3"]
POOL_AFTER = {"block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"}
SIZE = 64
N_CLASSES = 10
MARGIN = 1e-5           # relative to the rms of the tensor in question
NT_SAMPLES = 3
NOISE_LEVEL = 0.15
IG_STEPS_BLACK = 7
BLACK_BGR = np.array([-103.939, -116.779, -123.68], dtype=np.float32)
OCC_WINDOW, OCC_STRIDE = (3, 12, 12), (3, 8, 8)
HEAD_JSON = json.dumps([{"name": "flatten", "type": "flatten", "order": "chw"},
                        {"name": "head", "type": "dense", "activation": "linear"}])
SEEDS = {"tiny": 1000, "real": 2000}   # head seed search starts here; noise seed = start + 777
F64 = torch.float64


def noise_seed(name):
    return SEEDS[name] + 777
