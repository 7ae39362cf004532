//! A Keras model (architecture as JSON, weights by layer) into VGG16 + head, whatever file it
//! came from (`keras_h5` reads the legacy `.h5` layouts and the `.keras` archive into
//! [`KerasModel`]).
//!
//! The architecture is Keras's `model_config` / `config.json`: a Sequential or Functional
//! model whose layers may themselves be models (the usual fine-tuning recipe nests a `vgg16`
//! base). It is walked depth first into one chain of layers; the 13 `Conv2D` and 5
//! `MaxPooling2D` must come first, in VGG16's order, then the head: `Flatten` (Keras flattens
//! channels last: H, W, C order), `GlobalAveragePooling2D`, `GlobalMaxPooling2D`, `Dense`
//! (activation linear, relu, softmax or sigmoid), `BatchNormalization` (folded into a scale and
//! a shift: `scale = gamma / sqrt(var + eps)`, `shift = beta - mean * scale`), `Dropout`,
//! `Activation`. Kernels are turned into the project's layout: conv HWIO -> OIHW, dense
//! `[in, out]` -> `[out, in]`.
//!
//! A weights-only file (`save_weights`, like the official ImageNet files) has no architecture:
//! its layers must then carry VGG16's own names (`block1_conv1` ... and optionally `fc1`, `fc2`,
//! `predictions`), and the ImageNet head is stored in the project's canonical form (fc1's rows
//! permuted from H, W, C to C, H, W).

use std::collections::HashMap;

use serde_json::Value;
use tensor::Tensor;
use vgg16::names::{BODY_NAMES, CONV_NAMES, DENSE_NAMES};
use vgg16::{Activation, FlattenOrder, Head, HeadLayer};

use crate::keras::{conv_kernel, dense_kernel};
use crate::ModelParts;

/// What a Keras file holds: the architecture (when saved with the model) and every layer's
/// weights in Keras's order (kernel, bias; gamma, beta, moving mean, moving variance), keyed by
/// the layer's name path (`["vgg16", "block1_conv1"]` for a layer of a nested model,
/// `["dense"]` for a top-level one).
pub struct KerasModel {
    pub config: Option<Value>,
    pub weights: HashMap<Vec<String>, Vec<Tensor>>,
}

/// One layer of the chain, with the path its weights are stored under.
struct Spec {
    class: String,
    config: Value,
    path: Vec<String>,
}

/// Depth-first: the layers of `model` (a Sequential or Functional config), nested models
/// expanded; `InputLayer`s give the input size.
fn walk(
    model: &Value,
    prefix: &[String],
    out: &mut Vec<Spec>,
    size: &mut Option<usize>,
) -> Result<(), String> {
    let layers = model
        .pointer("/config/layers")
        .and_then(Value::as_array)
        .ok_or("the model config has no layer list")?;
    for layer in layers {
        let class = layer["class_name"].as_str().unwrap_or("").to_string();
        let config = &layer["config"];
        let name = config["name"]
            .as_str()
            .or(layer["name"].as_str())
            .unwrap_or("")
            .to_string();
        match class.as_str() {
            "Sequential" | "Functional" | "Model" => {
                let mut p = prefix.to_vec();
                p.push(name);
                walk(layer, &p, out, size)?;
            }
            "InputLayer" => {
                let shape = config
                    .get("batch_shape")
                    .or(config.get("batch_input_shape"));
                if let Some([_, h, w, _]) = shape.and_then(Value::as_array).map(Vec::as_slice) {
                    if let (Some(h), Some(w)) = (h.as_u64(), w.as_u64()) {
                        if h == w && size.is_none() {
                            *size = Some(h as usize);
                        }
                    }
                }
            }
            _ => {
                let mut path = prefix.to_vec();
                path.push(name);
                out.push(Spec {
                    class,
                    config: config.clone(),
                    path,
                });
            }
        }
    }
    Ok(())
}

fn activation(config: &Value) -> Result<Activation, String> {
    let name = config["activation"].as_str().unwrap_or("linear");
    Activation::from_name(name).ok_or_else(|| {
        format!("activation '{name}' is not supported (linear, relu, softmax, sigmoid)")
    })
}

/// The weights of `path`, exactly `count` of them (or `alternatives`).
fn take<'a>(
    weights: &'a HashMap<Vec<String>, Vec<Tensor>>,
    path: &[String],
    counts: &[usize],
) -> Result<&'a [Tensor], String> {
    let w = weights.get(path).map(Vec::as_slice).unwrap_or(&[]);
    if !counts.contains(&w.len()) {
        return Err(format!(
            "layer '{}' has {} weight tensors in the file, expected {}",
            path.join("/"),
            w.len(),
            counts
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    Ok(w)
}

/// VGG16 and its head from a model with an architecture.
pub fn assemble(model: &KerasModel) -> Result<ModelParts, String> {
    let Some(config) = &model.config else {
        return assemble_weights_only(model);
    };
    let mut specs = Vec::new();
    let mut input_size = None;
    walk(config, &[], &mut specs, &mut input_size)?;
    let mut specs = specs.into_iter();
    let mut tensors = Vec::new();
    for name in BODY_NAMES {
        let spec = specs
            .next()
            .ok_or(format!("the model ends before VGG16's {name}"))?;
        let at = |m: String| format!("layer '{}' ({}): {m}", spec.path.join("/"), spec.class);
        if CONV_NAMES.contains(&name) {
            let c = &spec.config;
            let ok = spec.class == "Conv2D"
                && c["kernel_size"] == serde_json::json!([3, 3])
                && c["padding"] == "same"
                && c["strides"]
                    .as_array()
                    .is_none_or(|s| s.iter().all(|v| v == 1))
                && c["activation"] == "relu"
                && c["data_format"]
                    .as_str()
                    .is_none_or(|f| f == "channels_last");
            if !ok {
                return Err(at(format!(
                    "expected VGG16's {name}: a 3x3 'same' Conv2D with relu"
                )));
            }
            let w = take(&model.weights, &spec.path, &[2]).map_err(&at)?;
            let kernel = conv_kernel(&w[0]).map_err(&at)?;
            tensors.push((format!("{name}.weight"), kernel));
            tensors.push((format!("{name}.bias"), w[1].reshape(&[w[1].len()])));
        } else if spec.class != "MaxPooling2D" {
            return Err(at(format!("expected VGG16's {name}: a MaxPooling2D")));
        }
    }
    let mut head = Vec::new();
    let mut flat = false;
    for spec in specs {
        let at = |m: String| format!("layer '{}' ({}): {m}", spec.path.join("/"), spec.class);
        let name = spec
            .path
            .last()
            .cloned()
            .unwrap_or_default()
            .replace('.', "_");
        let c = &spec.config;
        match spec.class.as_str() {
            "Flatten" => {
                flat = true;
                head.push((name, HeadLayer::Flatten(FlattenOrder::Hwc)));
            }
            "GlobalAveragePooling2D" | "GlobalMaxPooling2D" => {
                if c["keepdims"] == true {
                    return Err(at("keepdims=True is not supported".into()));
                }
                flat = true;
                head.push((
                    name,
                    if spec.class == "GlobalAveragePooling2D" {
                        HeadLayer::GlobalAveragePool
                    } else {
                        HeadLayer::GlobalMaxPool
                    },
                ));
            }
            "Dense" => {
                if !flat {
                    return Err(at("a Dense layer before any Flatten or global pooling".into()));
                }
                let use_bias = c["use_bias"] != false;
                let w = take(&model.weights, &spec.path, if use_bias { &[2] } else { &[1] }).map_err(&at)?;
                let kernel = dense_kernel(&w[0], None).map_err(&at)?;
                let out = kernel.shape()[0];
                let bias = match use_bias {
                    true if w[1].len() == out => w[1].reshape(&[out]),
                    true => return Err(at(format!("a bias of {} values for {out} units", w[1].len()))),
                    false => Tensor::zeros(&[out]),
                };
                tensors.push((format!("{name}.weight"), kernel));
                tensors.push((format!("{name}.bias"), bias));
                head.push((name, HeadLayer::Dense(activation(c).map_err(&at)?)));
            }
            "BatchNormalization" => {
                let (center, scale) = (c["center"] != false, c["scale"] != false);
                let n = 2 + center as usize + scale as usize;
                let w = take(&model.weights, &spec.path, &[n]).map_err(&at)?;
                let eps = c["epsilon"].as_f64().unwrap_or(1e-3) as f32;
                let mut it = w.iter();
                let gamma = if scale { it.next().map(|t| t.data().to_vec()) } else { None };
                let beta = if center { it.next().map(|t| t.data().to_vec()) } else { None };
                let (mean, var) = (it.next().expect("counted"), it.next().expect("counted"));
                let k = mean.len();
                if var.len() != k || gamma.as_ref().is_some_and(|g| g.len() != k) || beta.as_ref().is_some_and(|b| b.len() != k) {
                    return Err(at("gamma, beta, mean and variance differ in length".into()));
                }
                let s: Vec<f32> = (0..k).map(|i| gamma.as_ref().map_or(1.0, |g| g[i]) / (var.data()[i] + eps).sqrt()).collect();
                let t: Vec<f32> = (0..k).map(|i| beta.as_ref().map_or(0.0, |b| b[i]) - mean.data()[i] * s[i]).collect();
                tensors.push((format!("{name}.scale"), Tensor::new(&[k], s)));
                tensors.push((format!("{name}.shift"), Tensor::new(&[k], t)));
                head.push((name, HeadLayer::BatchNorm));
            }
            "Dropout" => head.push((name, HeadLayer::Dropout)),
            "Activation" => head.push((name, HeadLayer::Activation(activation(c).map_err(&at)?))),
            "Conv2D" | "MaxPooling2D" => return Err(at("more convolutions or pools than VGG16's 13 and 5".into())),
            other => return Err(at(format!("layer type '{other}' is not supported in a head (Flatten, GlobalAveragePooling2D, GlobalMaxPooling2D, Dense, BatchNormalization, Dropout, Activation)"))),
        }
    }
    Ok(ModelParts {
        tensors,
        head: (!head.is_empty()).then_some(Head { layers: head }),
        input_size,
    })
}

/// A weights-only file: VGG16's own layer names; fc1/fc2/predictions become the canonical
/// ImageNet head.
fn assemble_weights_only(model: &KerasModel) -> Result<ModelParts, String> {
    let mut tensors = Vec::new();
    let mut channels = 0;
    for name in CONV_NAMES {
        let path = vec![name.to_string()];
        if !model.weights.contains_key(&path) {
            return Err(format!(
                "no layer '{name}' with weights, and no model_config describing the architecture: a weights-only file must use VGG16's layer names"
            ));
        }
        let w = take(&model.weights, &path, &[2])?;
        let kernel = conv_kernel(&w[0]).map_err(|e| format!("layer '{name}': {e}"))?;
        channels = kernel.shape()[0];
        tensors.push((format!("{name}.weight"), kernel));
        tensors.push((format!("{name}.bias"), w[1].reshape(&[w[1].len()])));
    }
    let present: Vec<&str> = DENSE_NAMES
        .iter()
        .copied()
        .filter(|n| model.weights.contains_key(&vec![n.to_string()]))
        .collect();
    if !present.is_empty() {
        if present.len() != 3 {
            return Err(format!(
                "a weights-only file with {} of VGG16's fc1, fc2, predictions: all three or none",
                present.len()
            ));
        }
        for (i, name) in DENSE_NAMES.iter().enumerate() {
            let w = take(&model.weights, &[name.to_string()], &[2])?;
            let kernel = dense_kernel(&w[0], (i == 0).then_some(channels))
                .map_err(|e| format!("layer '{name}': {e}"))?;
            let out = kernel.shape()[0];
            if w[1].len() != out {
                return Err(format!(
                    "layer '{name}': a bias of {} values for {out} units",
                    w[1].len()
                ));
            }
            tensors.push((format!("{name}.weight"), kernel));
            tensors.push((format!("{name}.bias"), w[1].reshape(&[out])));
        }
    }
    Ok(ModelParts {
        tensors,
        head: None,
        input_size: None,
    })
}
