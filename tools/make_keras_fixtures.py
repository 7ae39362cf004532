#!/usr/bin/env python3
"""Keras fixtures for crates/convert/tests/keras.rs (needs keras 3, torch, h5py, numpy).

    KERAS_BACKEND=torch python3 tools/make_keras_fixtures.py

Thin VGG16-shaped models (the real layer names, 4..8 channels, random weights) saved the ways
Keras saves, each with Keras's own `predict` on a formula picture (RGB / 255, the test repeats
the formula) in tests/fixtures/keras/outputs.json:

- official.h5: `save_weights` in the legacy HDF5 layout of the official
  vgg16_weights_tf_dim_ordering_tf_kernels.h5 (root `layer_names`, per-layer `weight_names`),
  with the ImageNet head's layer names (flatten, fc1, fc2, predictions) at 64 px;
- nested_bn_sigmoid.h5: `model.save("x.h5")` (legacy whole model: `model_config` + `model_weights`)
  of a Sequential holding the VGG16 base as a nested model, then Flatten, Dense relu,
  BatchNormalization, Dropout, Dense 1 sigmoid, at 96 px;
- gap_softmax.keras: Keras 3's `.keras` archive of a functional model with the base nested,
  GlobalAveragePooling2D, Dense 3 softmax, at 80 px.
"""
import json, os
os.environ.setdefault("KERAS_BACKEND", "torch")
import numpy as np
import keras
from keras import layers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "keras")
WIDTHS = [4, 4, 6, 6, 8, 8, 8, 8, 8, 8, 8, 8, 8]
BLOCKS = [2, 2, 3, 3, 3]


def picture(size, k=0):
    """The same formula as tools/make_onnx_fixtures.py: RGB uint8 [size, size, 3]."""
    y, x = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    chans = [(x * (3 + c + k) + y * (5 - c) * (k + 1) + 40 * c) % 256 for c in range(3)]
    return np.stack(chans, axis=-1).astype(np.uint8)


def base(size, name="vgg16"):
    inp = keras.Input((size, size, 3), name="input_1")
    x, i = inp, 0
    for b, convs in enumerate(BLOCKS, start=1):
        for c in range(1, convs + 1):
            x = layers.Conv2D(WIDTHS[i], 3, padding="same", activation="relu", name=f"block{b}_conv{c}")(x)
            i += 1
        x = layers.MaxPooling2D(2, 2, name=f"block{b}_pool")(x)
    return inp, x, keras.Model(inp, x, name=name)


def randomise(model, seed):
    rng = np.random.default_rng(seed)
    for w in model.weights:
        shape = tuple(w.shape)
        if "moving_variance" in w.path:
            w.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        elif "gamma" in w.path:
            w.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        else:
            fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 4
            w.assign((rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype("float32"))


def run(model, size):
    x = picture(size)[None].astype("float32") / 255.0
    return model.predict(x, verbose=0)[0].tolist()


def main():
    os.makedirs(OUT, exist_ok=True)
    outputs = {}

    # 1. The official layout: VGG16 with the ImageNet head's layer names.
    inp, x, _ = base(64)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(10, activation="relu", name="fc1")(x)
    x = layers.Dense(10, activation="relu", name="fc2")(x)
    x = layers.Dense(5, activation="softmax", name="predictions")(x)
    m = keras.Model(inp, x, name="vgg16")
    randomise(m, 1)
    from keras.src.legacy.saving import legacy_h5_format
    import h5py
    with h5py.File(os.path.join(OUT, "official.h5"), "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, m)
    outputs["official.h5"] = {"size": 64, "output": run(m, 64)}

    # 2. A legacy whole-model .h5 with the base nested, BatchNorm and one sigmoid unit.
    _, _, vgg = base(96)
    m = keras.Sequential([keras.Input((96, 96, 3)), vgg, layers.Flatten(name="flatten"),
                          layers.Dense(12, activation="relu", name="dense"),
                          layers.BatchNormalization(name="batch_normalization", epsilon=1e-3),
                          layers.Dropout(0.5, name="dropout"),
                          layers.Dense(1, activation="sigmoid", name="dense_1")], name="sequential")
    randomise(m, 2)
    m.save(os.path.join(OUT, "nested_bn_sigmoid.h5"))
    outputs["nested_bn_sigmoid.h5"] = {"size": 96, "output": run(m, 96)}

    # 3. A Keras 3 .keras archive: functional, base nested, global average pooling, softmax.
    _, _, vgg = base(80)
    inp = keras.Input((80, 80, 3), name="image")
    y = vgg(inp)
    y = layers.GlobalAveragePooling2D(name="gap")(y)
    y = layers.Dense(3, activation="softmax", name="classes")(y)
    m = keras.Model(inp, y, name="gap_model")
    randomise(m, 3)
    m.save(os.path.join(OUT, "gap_softmax.keras"))
    outputs["gap_softmax.keras"] = {"size": 80, "output": run(m, 80)}

    with open(os.path.join(OUT, "outputs.json"), "w") as f:
        json.dump(outputs, f, indent=1)
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
