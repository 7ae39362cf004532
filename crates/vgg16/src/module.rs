//! The building blocks of a network: each [`Module`] knows how to record itself on a tape, what
//! shape it makes of its input, and how many parameters it has.
//!
//! The VGG16 body is 13 [`Module::Conv`] and 5 [`Module::MaxPool2x2`]; a head (the ImageNet
//! classifier, or a fine-tuned model's own) is any sequence of the others (see [`crate::head`]).

use std::sync::Arc;

use tensor::{Graph, PackedConv, ReluRule, Tensor, Var};

use crate::error::{Error, Result};

/// What follows a dense layer (Keras's `activation=` argument), or stands alone as a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Linear,
    Relu,
    Softmax,
    Sigmoid,
}

impl Activation {
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Softmax => "softmax",
            Activation::Sigmoid => "sigmoid",
        }
    }

    pub fn from_name(name: &str) -> Option<Activation> {
        [
            Activation::Linear,
            Activation::Relu,
            Activation::Softmax,
            Activation::Sigmoid,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }

    /// Records the activation on `y`; ReLUs go backward by `relu`.
    pub fn record(self, g: &mut Graph, y: Var, relu: ReluRule) -> Var {
        match self {
            Activation::Linear => y,
            Activation::Relu => g.relu_with(y, relu),
            Activation::Softmax => g.softmax(y),
            Activation::Sigmoid => g.sigmoid(y),
        }
    }
}

/// The order in which a flatten reads a `[C, H, W]` feature map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlattenOrder {
    /// Channels first (PyTorch, and this engine's layout): index `c * H * W + h * W + w`.
    Chw,
    /// Channels last (Keras, TensorFlow): index `(h * W + w) * C + c`.
    Hwc,
}

/// One layer of a network.
#[derive(Clone, Debug)]
pub enum Module {
    /// A frozen 3x3 convolution (stride 1, padding 1), then ReLU.
    Conv(Arc<PackedConv>),
    /// 2x2 max-pool, stride 2.
    MaxPool2x2,
    /// `[N, C, H, W]` -> `[N, C*H*W]`, in the given order.
    Flatten(FlattenOrder),
    /// `[N, C, H, W]` -> `[N, C]`: the mean of each channel.
    GlobalAveragePool,
    /// `[N, C, H, W]` -> `[N, C]`: the maximum of each channel.
    GlobalMaxPool,
    /// `x @ weight^T + bias` (`weight` `[out, in]`), then the activation.
    Dense {
        weight: Tensor,
        bias: Tensor,
        activation: Activation,
    },
    /// `x * scale[c] + shift[c]`: an inference batch normalisation, folded.
    Affine { scale: Tensor, shift: Tensor },
    /// An activation on its own.
    Activation(Activation),
    /// Identity at inference.
    Dropout,
}

impl Module {
    /// Records the module on `g` from `x`; every ReLU goes backward by `relu` (the standard
    /// rule, or guided backprop's / deconvnet's).
    pub fn record(&self, g: &mut Graph, x: Var, relu: ReluRule) -> Var {
        match self {
            Module::Conv(layer) => g.frozen_conv2d(x, layer, Some(relu)),
            Module::MaxPool2x2 => g.max_pool2x2(x),
            Module::Flatten(FlattenOrder::Chw) => g.flatten(x),
            Module::Flatten(FlattenOrder::Hwc) => {
                let last = g.channels_last(x);
                g.flatten(last)
            }
            Module::GlobalAveragePool | Module::GlobalMaxPool => {
                let [n, c, h, w] = g.value(x).dims4();
                let planes = g.reshape(x, &[n, c, h * w]);
                if matches!(self, Module::GlobalAveragePool) {
                    g.mean_axis(planes, 2)
                } else {
                    g.max_axis(planes, 2)
                }
            }
            Module::Dense {
                weight,
                bias,
                activation,
            } => {
                let w = g.constant(weight.clone());
                let b = g.constant(bias.clone());
                let y = g.dense(x, w, Some(b));
                activation.record(g, y, relu)
            }
            Module::Affine { scale, shift } => {
                let s = g.constant(scale.clone());
                let t = g.constant(shift.clone());
                g.affine(x, s, t)
            }
            Module::Activation(a) => a.record(g, x, relu),
            Module::Dropout => x,
        }
    }

    /// Records the module without its activation (a dense layer's `x @ w^T + b`; a standalone
    /// activation passes `x` through): the class scores before softmax or sigmoid, when this
    /// is a network's last layer.
    pub fn record_without_activation(&self, g: &mut Graph, x: Var, relu: ReluRule) -> Var {
        match self {
            Module::Dense { weight, bias, .. } => {
                let w = g.constant(weight.clone());
                let b = g.constant(bias.clone());
                g.dense(x, w, Some(b))
            }
            Module::Activation(_) => x,
            other => other.record(g, x, relu),
        }
    }

    /// The activation the module ends with (`Linear` for layers without one).
    pub fn activation(&self) -> Activation {
        match self {
            Module::Dense { activation, .. } | Module::Activation(activation) => *activation,
            Module::Conv(_) => Activation::Relu,
            _ => Activation::Linear,
        }
    }

    /// The shape of one image's output (`[C, H, W]` or `[F]`) for one image's input, or why
    /// the input does not fit. `name` is the layer's, for messages.
    pub fn output_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>> {
        let spatial = || match *input {
            [c, h, w] => Ok((c, h, w)),
            _ => Err(Error::Invalid(format!(
                "layer '{name}' needs a [C, H, W] feature map, got {input:?}"
            ))),
        };
        let features = || match *input {
            [f] => Ok(f),
            _ => Err(Error::Invalid(format!(
                "layer '{name}' needs a flat feature vector, got {input:?} (add a flatten or \
                 global pooling layer before it)"
            ))),
        };
        Ok(match self {
            Module::Conv(layer) => {
                let (c, h, w) = spatial()?;
                let cin = layer.weight.shape()[1];
                if c != cin {
                    return Err(Error::Invalid(format!(
                        "layer '{name}' takes {cin} channels, its input has {c}"
                    )));
                }
                vec![layer.channels(), h, w]
            }
            Module::MaxPool2x2 => {
                let (c, h, w) = spatial()?;
                if h < 2 || w < 2 {
                    return Err(Error::Invalid(format!(
                        "input too small for layer '{name}': {h}x{w} cannot be pooled 2x2 before it \
                         (each pool halves the size; use a larger --size)"
                    )));
                }
                vec![c, h / 2, w / 2]
            }
            Module::Flatten(_) => {
                let (c, h, w) = spatial()?;
                vec![c * h * w]
            }
            Module::GlobalAveragePool | Module::GlobalMaxPool => vec![spatial()?.0],
            Module::Dense { weight, .. } => {
                let [out, inp] = weight.dims2();
                let f = features()?;
                if f != inp {
                    return Err(Error::Invalid(format!(
                        "layer '{name}' takes {inp} features, its input has {f}"
                    )));
                }
                vec![out]
            }
            Module::Affine { scale, .. } => {
                let c = *input.first().unwrap_or(&0);
                if scale.len() != c {
                    return Err(Error::Invalid(format!(
                        "layer '{name}' normalises {} features, its input has {c}",
                        scale.len()
                    )));
                }
                input.to_vec()
            }
            Module::Activation(_) | Module::Dropout => input.to_vec(),
        })
    }

    /// Number of parameters.
    pub fn params(&self) -> usize {
        match self {
            Module::Conv(layer) => layer.weight.len() + layer.bias.len(),
            Module::Dense { weight, bias, .. } => weight.len() + bias.len(),
            // Keras counts a BatchNormalization layer's gamma, beta and its two moving
            // statistics (stored here folded into scale and shift): 4 per channel.
            Module::Affine { scale, .. } => 4 * scale.len(),
            _ => 0,
        }
    }

    /// The parameters Keras lists as non-trainable: a batch normalisation's moving mean and
    /// variance (2 per channel).
    pub fn non_trainable_params(&self) -> usize {
        match self {
            Module::Affine { scale, .. } => 2 * scale.len(),
            _ => 0,
        }
    }

    /// The Keras class name of the layer (for the summary).
    pub fn keras_type(&self) -> &'static str {
        match self {
            Module::Conv(_) => "Conv2D",
            Module::MaxPool2x2 => "MaxPooling2D",
            Module::Flatten(_) => "Flatten",
            Module::GlobalAveragePool => "GlobalAveragePooling2D",
            Module::GlobalMaxPool => "GlobalMaxPooling2D",
            Module::Dense { .. } => "Dense",
            Module::Affine { .. } => "BatchNormalization",
            Module::Activation(_) => "Activation",
            Module::Dropout => "Dropout",
        }
    }

    /// True for the layers whose output is a feature map that can be visualised or explained
    /// (convolutions and pools).
    pub fn is_spatial(&self) -> bool {
        matches!(self, Module::Conv(_) | Module::MaxPool2x2)
    }
}

/// A named layer.
#[derive(Clone, Debug)]
pub struct Layer {
    pub name: String,
    pub module: Module,
}
