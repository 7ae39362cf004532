//! [`Vgg16`]: a network of named layers, the VGG16 body (13 convolutions with ReLU, 5 max-pools)
//! followed by an optional head described as data (see [`crate::head`]), with the conventions
//! its weights expect.
//!
//! This file builds the network (from a weights file, or seeded random weights) and saves it;
//! `forward.rs` runs it, `summary.rs` describes it.

use std::collections::HashMap;
use std::path::Path;

use tensor::{ConvGeometry, PackedConv, Rng, Tensor};

use crate::error::{Error, Result};
use crate::head::Head;
use crate::module::{Activation, Layer, Module};
use crate::names::{self, BODY_NAMES, CONV_NAMES, VGG16_WIDTHS};
use crate::preprocess::Preprocessing;
use crate::weights::WeightFile;

/// VGG16 with its weights: the body's 18 layers, then the head's (if any).
pub struct Vgg16 {
    pub(crate) layers: Vec<Layer>,
    /// How images must be prepared for these weights.
    pub preprocessing: Preprocessing,
    /// True when the file did not say (no `preprocessing` metadata) and it was guessed from the
    /// tensor names: torch for torchvision's names, caffe otherwise.
    pub preprocessing_guessed: bool,
    /// Where the weights came from (the file's `source` metadata, or a description).
    pub source: String,
    /// The input side the model was trained on (metadata `input_size`), when the file says.
    pub trained_size: Option<usize>,
    /// Class names (metadata `labels`, a JSON list), when the file has them.
    pub labels: Option<Vec<String>>,
}

/// Number of layers of the body (the head starts at this index).
pub const BODY_LEN: usize = BODY_NAMES.len();

impl Vgg16 {
    /// Loads and validates a weights file (SPEC section 4, or torchvision names).
    pub fn load(path: &Path) -> Result<Vgg16> {
        let file = WeightFile::load(path)?;
        Vgg16::from_weights(file, &path.display().to_string())
    }

    /// Builds the model from loaded tensors, checking every name and shape. `origin` names the
    /// file in error messages. Channel widths come from the weights.
    pub fn from_weights(file: WeightFile, origin: &str) -> Result<Vgg16> {
        let WeightFile {
            mut tensors,
            metadata,
            torchvision_names,
        } = file;
        let err = |m: String| Error::weights(origin, m);
        let head = Head::of_file(&metadata, &tensors).map_err(err)?;
        let mut take = |name: &str, expected: &[Option<usize>]| -> Result<Tensor> {
            let want = || {
                let dims: Vec<String> = expected
                    .iter()
                    .map(|d| d.map_or("_".into(), |d| d.to_string()))
                    .collect();
                format!("[{}]", dims.join(", "))
            };
            let t = tensors.remove(name).ok_or_else(|| {
                err(format!(
                    "missing tensor '{name}' (expected shape {})",
                    want()
                ))
            })?;
            let ok = t.shape().len() == expected.len()
                && t.shape()
                    .iter()
                    .zip(expected)
                    .all(|(&got, want)| want.is_none_or(|w| w == got))
                && t.shape().iter().all(|&d| d > 0);
            if !ok {
                return Err(err(format!(
                    "tensor '{name}' has shape {:?}, expected {}",
                    t.shape(),
                    want()
                )));
            }
            Ok(t)
        };

        let mut layers = Vec::new();
        let mut channels = 3;
        for name in BODY_NAMES {
            let module = if CONV_NAMES.contains(&name) {
                let w = take(
                    &format!("{name}.weight"),
                    &[None, Some(channels), Some(3), Some(3)],
                )?;
                channels = w.shape()[0];
                let b = take(&format!("{name}.bias"), &[Some(channels)])?;
                Module::Conv(PackedConv::new(w, b, ConvGeometry::SAME_3X3))
            } else {
                Module::MaxPool2x2
            };
            layers.push(Layer {
                name: name.to_string(),
                module,
            });
        }
        if let Some(head) = &head {
            layers.extend(head.build(&mut take)?);
        }

        let default_prep = if torchvision_names { "torch" } else { "caffe" };
        let prep = metadata
            .get("preprocessing")
            .map(String::as_str)
            .unwrap_or(default_prep);
        let preprocessing = Preprocessing::from_name(prep).ok_or_else(|| {
            err(format!(
                "metadata preprocessing = '{prep}'; expected one of {}",
                Preprocessing::NAMES.join(", ")
            ))
        })?;
        let trained_size = match metadata.get("input_size") {
            None => None,
            Some(v) => match v.parse::<usize>() {
                Ok(s) if (32..=4096).contains(&s) => Some(s),
                _ => {
                    return Err(err(format!(
                        "metadata input_size = '{v}'; expected a side in pixels, 32 to 4096"
                    )))
                }
            },
        };
        let labels =
            match metadata.get("labels") {
                None => None,
                Some(v) => Some(serde_json::from_str::<Vec<String>>(v).map_err(|e| {
                    err(format!("metadata labels is not a JSON list of names: {e}"))
                })?),
            };
        let source = metadata
            .get("source")
            .cloned()
            .unwrap_or_else(|| origin.to_string());
        let model = Vgg16 {
            layers,
            preprocessing,
            preprocessing_guessed: !metadata.contains_key("preprocessing"),
            source,
            trained_size,
            labels,
        };
        model.check_head().map_err(|e| err(e.to_string()))?;
        if let Some(labels) = &model.labels {
            if labels.len() != model.num_classes() {
                return Err(err(format!(
                    "metadata labels has {} names for {} classes",
                    labels.len(),
                    model.num_classes()
                )));
            }
        }
        Ok(model)
    }

    /// A VGG16 with seeded random weights (He-uniform init): for benchmarks and tests, so they
    /// need no download. `widths` are the 13 convolutions' output channels; `classifier` gives
    /// the ImageNet head's fc1/fc2 widths and the number of classes.
    pub fn random(
        seed: u64,
        widths: &[usize; 13],
        classifier: Option<(usize, usize, usize)>,
    ) -> Vgg16 {
        let mut rng = Rng::new(seed);
        let mut tensors = HashMap::new();
        let mut he = |name: String, shape: &[usize], fan_in: usize| {
            let a = (6.0 / fan_in as f32).sqrt();
            tensors.insert(format!("{name}.weight"), rng.tensor(shape, -a, a));
            tensors.insert(format!("{name}.bias"), Tensor::full(&shape[..1], 0.01));
        };
        let mut cin = 3;
        for (name, &cout) in CONV_NAMES.iter().zip(widths) {
            he(name.to_string(), &[cout, cin, 3, 3], cin * 9);
            cin = cout;
        }
        if let Some((f1, f2, classes)) = classifier {
            let mut fin = cin * 49;
            for (name, out) in names::DENSE_NAMES.iter().zip([f1, f2, classes]) {
                he(name.to_string(), &[out, fin], fin);
                fin = out;
            }
        }
        let file = WeightFile {
            tensors,
            metadata: HashMap::from([
                ("preprocessing".to_string(), "caffe".to_string()),
                (
                    "source".to_string(),
                    format!("random weights (seed {seed})"),
                ),
            ]),
            torchvision_names: false,
        };
        Vgg16::from_weights(file, "random weights").expect("random weights fit the model")
    }

    /// The standard VGG16 with random weights.
    pub fn random_standard(seed: u64, with_classifier: bool) -> Vgg16 {
        Vgg16::random(
            seed,
            &VGG16_WIDTHS,
            with_classifier.then_some((4096, 4096, 1000)),
        )
    }

    /// Every layer, body then head.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The head's layers (empty without a head).
    pub fn head(&self) -> &[Layer] {
        &self.layers[BODY_LEN..]
    }

    /// True when the model has a head (class scores).
    pub fn has_classifier(&self) -> bool {
        self.layers.len() > BODY_LEN
    }

    /// Number of classes: the width of the head's output (0 without a head).
    pub fn num_classes(&self) -> usize {
        if !self.has_classifier() {
            return 0;
        }
        if self.is_binary() {
            return 2;
        }
        let channels = self.layers.iter().rev().find_map(|l| match &l.module {
            Module::Dense { weight, .. } => Some(weight.shape()[0]),
            Module::Conv(c) => Some(c.channels()),
            _ => None,
        });
        channels.unwrap_or(0)
    }

    /// True when the head ends in one sigmoid unit: a binary classifier. Its one logit `z` is
    /// presented as two classes, class 1 with logit `z` and probability `sigmoid(z)`, class 0
    /// with logit `-z` and probability `sigmoid(-z) = 1 - sigmoid(z)` (see
    /// [`Vgg16::forward_logits`]).
    pub fn is_binary(&self) -> bool {
        matches!(
            self.layers.last().map(|l| &l.module),
            Some(Module::Dense { weight, activation: Activation::Sigmoid, .. }) if weight.shape()[0] == 1
        )
    }

    /// The name of class `c`: ImageNet's for a model with 1000 classes, else `class_<c>`.
    pub fn class_label(&self, c: usize) -> String {
        if let Some(name) = self.labels.as_ref().and_then(|l| l.get(c)) {
            name.clone()
        } else if self.num_classes() == 1000 {
            crate::labels::label(c)
        } else {
            format!("class_{c}")
        }
    }

    /// Position of a layer by name; the error lists valid names and the closest one.
    pub fn layer_index(&self, name: &str) -> Result<usize> {
        if let Some(i) = self.layers.iter().position(|l| l.name == name) {
            return Ok(i);
        }
        let imagenet_head = Head::imagenet();
        if !self.has_classifier() && imagenet_head.layers.iter().any(|(n, _)| n == name) {
            return Err(Error::Invalid(format!(
                "layer '{name}' is part of the classifier, and these weights have none (conv-only); \
                 use weights with the classifier (see weights/README.md)"
            )));
        }
        let available: Vec<&str> = self.layers.iter().map(|l| l.name.as_str()).collect();
        Err(Error::Invalid(names::unknown_layer(name, &available)))
    }

    /// Parameters of layer `index`.
    pub fn layer_params(&self, index: usize) -> usize {
        self.layers[index].module.params()
    }

    /// Total number of parameters.
    pub fn total_params(&self) -> usize {
        self.layers.iter().map(|l| l.module.params()).sum()
    }

    /// The weights as named tensors in the project's format (for saving).
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for l in &self.layers {
            let mut add =
                |kind: &str, t: &Tensor| out.push((format!("{}.{kind}", l.name), t.clone()));
            match &l.module {
                Module::Conv(c) => {
                    add("weight", &c.weight);
                    add("bias", &c.bias);
                }
                Module::Dense { weight, bias, .. } => {
                    add("weight", weight);
                    add("bias", bias);
                }
                Module::Affine { scale, shift } => {
                    add("scale", scale);
                    add("shift", shift);
                }
                _ => {}
            }
        }
        out
    }

    /// The metadata to save with the weights: preprocessing, source, and the head when it is
    /// not the ImageNet classifier (which a file's `fc1.weight` implies).
    pub fn metadata(&self) -> HashMap<String, String> {
        let mut meta = HashMap::new();
        meta.insert(
            "preprocessing".to_string(),
            self.preprocessing.name().to_string(),
        );
        meta.insert("source".to_string(), self.source.clone());
        if let Some(size) = self.trained_size {
            meta.insert("input_size".to_string(), size.to_string());
        }
        if let Some(labels) = &self.labels {
            meta.insert(
                "labels".to_string(),
                serde_json::to_string(labels).expect("strings serialise"),
            );
        }
        let head = Head::of_layers(self.head());
        if self.has_classifier() && head != Head::imagenet() {
            meta.insert("head".to_string(), head.to_json());
        }
        meta
    }

    /// The same model without its head (the 13 conv layers and 5 pools: Keras's
    /// `include_top=False`).
    pub fn without_head(mut self) -> Vgg16 {
        self.layers.truncate(BODY_LEN);
        self.labels = None;
        self.trained_size = None;
        self
    }

    /// Saves the weights in the project's format.
    pub fn save(&self, path: &Path) -> Result<()> {
        Ok(tensor::io::save(
            path,
            &self.named_tensors(),
            &self.metadata(),
        )?)
    }
}
