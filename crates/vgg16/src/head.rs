//! Heads described as data: what comes after the VGG16 body.
//!
//! A [`Head`] is a list of named layers ([`HeadLayer`]); the weights come from the weights file
//! by name: `NAME.weight` `[out, in]` and `NAME.bias` `[out]` for a dense layer, `NAME.scale`
//! and `NAME.shift` `[C]` for a folded batch normalisation. The ImageNet classifier
//! ([`Head::imagenet`]) is one head among others: flatten, fc1 + ReLU, fc2 + ReLU, predictions
//! (logits). A weights file names its head in the metadata key `head`, as JSON:
//!
//! ```json
//! [{"name": "flatten", "type": "flatten", "order": "hwc"},
//!  {"name": "dense", "type": "dense", "activation": "relu"},
//!  {"name": "bn", "type": "batchnorm"}, {"name": "out", "type": "dense", "activation": "sigmoid"}]
//! ```
//!
//! Types: `flatten` (`order` `chw` or `hwc`), `global_average_pool`, `global_max_pool`,
//! `dense` (`activation` `linear`, `relu`, `softmax` or `sigmoid`), `batchnorm`, `activation`
//! (`activation`), `dropout`. Without that key, a file holding `fc1.weight` has the ImageNet
//! classifier and any other file has no head (conv-only).

use std::collections::HashMap;

use serde_json::{json, Value};
use tensor::Tensor;

use crate::module::{Activation, FlattenOrder, Layer, Module};
use crate::names::DENSE_NAMES;

/// One layer of a head, without its weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadLayer {
    Flatten(FlattenOrder),
    GlobalAveragePool,
    GlobalMaxPool,
    Dense(Activation),
    BatchNorm,
    Activation(Activation),
    Dropout,
}

/// A head: named layers in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub layers: Vec<(String, HeadLayer)>,
}

impl Head {
    /// VGG16's ImageNet classifier: flatten (C, H, W order, as the converted weights expect),
    /// fc1 + ReLU, fc2 + ReLU, predictions (logits; softmax is applied by the caller).
    pub fn imagenet() -> Head {
        let mut layers = vec![("flatten".to_string(), HeadLayer::Flatten(FlattenOrder::Chw))];
        for (i, name) in DENSE_NAMES.iter().enumerate() {
            let activation = if i < 2 {
                Activation::Relu
            } else {
                Activation::Linear
            };
            layers.push((name.to_string(), HeadLayer::Dense(activation)));
        }
        Head { layers }
    }

    /// The head as the JSON of the `head` metadata key.
    pub fn to_json(&self) -> String {
        let layers: Vec<Value> = self
            .layers
            .iter()
            .map(|(name, layer)| {
                let mut v = match layer {
                    HeadLayer::Flatten(order) => json!({"type": "flatten", "order": match order {
                        FlattenOrder::Chw => "chw",
                        FlattenOrder::Hwc => "hwc",
                    }}),
                    HeadLayer::GlobalAveragePool => json!({"type": "global_average_pool"}),
                    HeadLayer::GlobalMaxPool => json!({"type": "global_max_pool"}),
                    HeadLayer::Dense(a) => json!({"type": "dense", "activation": a.name()}),
                    HeadLayer::BatchNorm => json!({"type": "batchnorm"}),
                    HeadLayer::Activation(a) => {
                        json!({"type": "activation", "activation": a.name()})
                    }
                    HeadLayer::Dropout => json!({"type": "dropout"}),
                };
                v["name"] = json!(name);
                v
            })
            .collect();
        Value::Array(layers).to_string()
    }

    /// Reads the JSON of the `head` metadata key.
    pub fn from_json(text: &str) -> Result<Head, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("metadata 'head' is not JSON: {e}"))?;
        let items = value
            .as_array()
            .ok_or("metadata 'head' must be a JSON array of layers")?;
        let mut layers = Vec::new();
        for item in items {
            let field = |key: &str| item.get(key).and_then(Value::as_str);
            let name = field("name").ok_or("every head layer needs a \"name\"")?;
            let activation = || {
                let a = field("activation").unwrap_or("linear");
                Activation::from_name(a)
                    .ok_or(format!("head layer '{name}': unknown activation '{a}'"))
            };
            let layer = match field("type").unwrap_or("") {
                "flatten" => HeadLayer::Flatten(match field("order").unwrap_or("chw") {
                    "chw" => FlattenOrder::Chw,
                    "hwc" => FlattenOrder::Hwc,
                    other => return Err(format!("head layer '{name}': flatten order '{other}' (expected chw or hwc)")),
                }),
                "global_average_pool" => HeadLayer::GlobalAveragePool,
                "global_max_pool" => HeadLayer::GlobalMaxPool,
                "dense" => HeadLayer::Dense(activation()?),
                "batchnorm" => HeadLayer::BatchNorm,
                "activation" => HeadLayer::Activation(activation()?),
                "dropout" => HeadLayer::Dropout,
                other => {
                    return Err(format!(
                        "head layer '{name}' has type '{other}'; supported: flatten, \
                         global_average_pool, global_max_pool, dense, batchnorm, activation, dropout"
                    ))
                }
            };
            if layers.iter().any(|(n, _)| n == name) || crate::names::BODY_NAMES.contains(&name) {
                return Err(format!(
                    "head layer name '{name}' is used twice (the body's layers and the head's \
                     must all have different names)"
                ));
            }
            layers.push((name.to_string(), layer));
        }
        Ok(Head { layers })
    }

    /// The head's layers with their weights, taken out of `tensors` by name. `take(name,
    /// expected dims)` checks each tensor (None in `expected` = any size).
    pub fn build(
        &self,
        mut take: impl FnMut(&str, &[Option<usize>]) -> crate::Result<Tensor>,
    ) -> crate::Result<Vec<Layer>> {
        let mut out = Vec::with_capacity(self.layers.len());
        for (name, layer) in &self.layers {
            let module = match *layer {
                HeadLayer::Flatten(order) => Module::Flatten(order),
                HeadLayer::GlobalAveragePool => Module::GlobalAveragePool,
                HeadLayer::GlobalMaxPool => Module::GlobalMaxPool,
                HeadLayer::Dense(activation) => {
                    let weight = take(&format!("{name}.weight"), &[None, None])?;
                    let units = weight.shape()[0];
                    let bias = take(&format!("{name}.bias"), &[Some(units)])?;
                    Module::Dense {
                        weight,
                        bias,
                        activation,
                    }
                }
                HeadLayer::BatchNorm => {
                    let scale = take(&format!("{name}.scale"), &[None])?;
                    let shift = take(&format!("{name}.shift"), &[Some(scale.len())])?;
                    Module::Affine { scale, shift }
                }
                HeadLayer::Activation(a) => Module::Activation(a),
                HeadLayer::Dropout => Module::Dropout,
            };
            out.push(Layer {
                name: name.clone(),
                module,
            });
        }
        Ok(out)
    }

    /// The head description of built layers (the inverse of [`Head::build`]).
    pub fn of_layers(layers: &[Layer]) -> Head {
        let layers = layers
            .iter()
            .filter_map(|l| {
                let spec = match &l.module {
                    Module::Flatten(order) => HeadLayer::Flatten(*order),
                    Module::GlobalAveragePool => HeadLayer::GlobalAveragePool,
                    Module::GlobalMaxPool => HeadLayer::GlobalMaxPool,
                    Module::Dense { activation, .. } => HeadLayer::Dense(*activation),
                    Module::Affine { .. } => HeadLayer::BatchNorm,
                    Module::Activation(a) => HeadLayer::Activation(*a),
                    Module::Dropout => HeadLayer::Dropout,
                    Module::Conv(_) | Module::MaxPool2x2 => return None,
                };
                Some((l.name.clone(), spec))
            })
            .collect();
        Head { layers }
    }

    /// The head a weights file holds: its `head` metadata, else the ImageNet classifier when
    /// the file has one of its tensors, else none.
    pub fn of_file(
        metadata: &HashMap<String, String>,
        tensors: &HashMap<String, Tensor>,
    ) -> Result<Option<Head>, String> {
        if let Some(text) = metadata.get("head") {
            return Head::from_json(text).map(Some);
        }
        let has_classifier = DENSE_NAMES.iter().any(|n| {
            tensors.contains_key(&format!("{n}.weight"))
                || tensors.contains_key(&format!("{n}.bias"))
        });
        Ok(has_classifier.then(Head::imagenet))
    }
}
