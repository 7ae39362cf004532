//! [`Op`]: how each value on the tape was computed (the operation and the nodes it read), so
//! that backward knows which derivative to apply.

use std::sync::Arc;

use crate::graph::Var;
use crate::ops::conv2d::ConvGeometry;
use crate::ops::frozen_conv::PackedConv;
use crate::ops::relu::ReluRule;
use crate::tensor::Tensor;

/// How a node was computed: the operation and the nodes it read.
#[derive(Clone, Debug)]
pub enum Op {
    /// A value given from outside: an input or a weight.
    Leaf,
    /// 2-D cross-correlation, optionally with a per-output-channel bias.
    Conv2d {
        x: Var,
        w: Var,
        b: Option<Var>,
        geometry: ConvGeometry,
    },
    /// A frozen convolution layer (weights held fixed and packed once), with an optional fused
    /// ReLU and optionally only channel `channels[i]` for image `i`: an optimisation of
    /// `select(relu(conv2d))`, see `ops::frozen_conv`.
    FrozenConv2d {
        x: Var,
        layer: Arc<PackedConv>,
        relu: Option<ReluRule>,
        channels: Option<Arc<Vec<usize>>>,
    },
    /// `x[n, c, h, w] + b[c]`.
    BiasAdd { x: Var, b: Var },
    /// `max(x, 0)`, going backward by `rule`.
    Relu { x: Var, rule: ReluRule },
    /// `1 / (1 + exp(-x))`.
    Sigmoid { x: Var },
    /// `x[n, c, ...] * scale[c] + shift[c]` (inference batch normalisation).
    Affine { x: Var, scale: Var, shift: Var },
    /// 2x2 max-pool with stride 2. `argmax[i]` is the flat index in `x` of output `i`'s maximum.
    MaxPool2x2 {
        x: Var,
        argmax: Arc<crate::buffer::Indices>,
    },
    /// `x @ w^T + b` with `x` `[N, in]`, `w` `[out, in]`, `b` `[out]`.
    Dense { x: Var, w: Var, b: Option<Var> },
    /// Same values, new shape (flatten is a reshape).
    Reshape { x: Var },
    /// `[N, C, H, W]` -> `[N, H, W, C]`.
    ChannelsLast { x: Var },
    /// Take index `index` along axis `axis`, removing that axis (e.g. one channel of a batch).
    Select { x: Var, axis: usize, index: usize },
    /// Sum of all elements (a scalar).
    Sum { x: Var },
    /// Mean of all elements (a scalar).
    Mean { x: Var },
    /// Sum over one axis, removing it.
    SumAxis { x: Var, axis: usize },
    /// Mean over one axis, removing it.
    MeanAxis { x: Var, axis: usize },
    /// Maximum over one axis, removing it; `argmax` holds the position of each maximum.
    MaxAxis {
        x: Var,
        axis: usize,
        argmax: Arc<Vec<u32>>,
    },
    /// Elementwise `a + b` (same shapes).
    Add { a: Var, b: Var },
    /// Elementwise `a * b` (same shapes).
    Mul { a: Var, b: Var },
    /// Elementwise `a / b` (same shapes).
    Div { a: Var, b: Var },
    /// `factor * x`.
    Scale { x: Var, factor: f32 },
    /// `x * x`.
    Square { x: Var },
    /// `sqrt(x)`.
    Sqrt { x: Var },
    /// Softmax over the last axis.
    Softmax { x: Var },
    /// Log-softmax over the last axis.
    LogSoftmax { x: Var },
    /// `[N, C, H, W]` with a border of `pad` pixels of `value` on every side.
    Pad2d { x: Var, pad: usize, value: f32 },
    /// The window at (`top`, `left`) of every plane (its size is the output's).
    Crop2d { x: Var, top: usize, left: usize },
    /// Bilinear resampling at affinely mapped positions, zero outside (zoom, rotation, shift).
    Warp {
        x: Var,
        map: crate::ops::warp::WarpMap,
    },
    /// `y[n, c, ...] = sum_d matrix[c, d] x[n, d, ...]` with a fixed matrix.
    ChannelMix { x: Var, matrix: Tensor },
    /// The inverse real 2-D Fourier transform (orthonormal) of a half spectrum
    /// `[N, C, H, W/2+1, 2]`.
    InverseRealDft2 {
        x: Var,
        tables: Arc<crate::ops::inverse_dft::DftTables>,
    },
}

impl Op {
    /// The nodes the op reads, in order.
    pub fn inputs(&self) -> Vec<Var> {
        match self {
            Op::Leaf => vec![],
            Op::Conv2d { x, w, b, .. } => [Some(*x), Some(*w), *b].into_iter().flatten().collect(),
            Op::Dense { x, w, b } => [Some(*x), Some(*w), *b].into_iter().flatten().collect(),
            Op::BiasAdd { x, b } => vec![*x, *b],
            Op::Affine { x, scale, shift } => vec![*x, *scale, *shift],
            Op::Add { a, b } | Op::Mul { a, b } | Op::Div { a, b } => vec![*a, *b],
            Op::FrozenConv2d { x, .. }
            | Op::Relu { x, .. }
            | Op::Sigmoid { x }
            | Op::MaxPool2x2 { x, .. }
            | Op::Reshape { x }
            | Op::ChannelsLast { x }
            | Op::Select { x, .. }
            | Op::Sum { x }
            | Op::Mean { x }
            | Op::SumAxis { x, .. }
            | Op::MeanAxis { x, .. }
            | Op::MaxAxis { x, .. }
            | Op::Scale { x, .. }
            | Op::Square { x }
            | Op::Sqrt { x }
            | Op::Softmax { x }
            | Op::LogSoftmax { x }
            | Op::Pad2d { x, .. }
            | Op::Crop2d { x, .. }
            | Op::Warp { x, .. }
            | Op::ChannelMix { x, .. }
            | Op::InverseRealDft2 { x, .. } => vec![*x],
        }
    }

    /// A short name of the op (for traces and error messages).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Leaf => "leaf",
            Op::Conv2d { .. } => "conv2d",
            Op::FrozenConv2d { .. } => "frozen_conv2d",
            Op::BiasAdd { .. } => "bias_add",
            Op::Relu { .. } => "relu",
            Op::Sigmoid { .. } => "sigmoid",
            Op::Affine { .. } => "affine",
            Op::MaxPool2x2 { .. } => "max_pool2x2",
            Op::Dense { .. } => "dense",
            Op::Reshape { .. } => "reshape",
            Op::ChannelsLast { .. } => "channels_last",
            Op::Select { .. } => "select",
            Op::Sum { .. } => "sum",
            Op::Mean { .. } => "mean",
            Op::SumAxis { .. } => "sum_axis",
            Op::MeanAxis { .. } => "mean_axis",
            Op::MaxAxis { .. } => "max_axis",
            Op::Add { .. } => "add",
            Op::Mul { .. } => "mul",
            Op::Div { .. } => "div",
            Op::Scale { .. } => "scale",
            Op::Square { .. } => "square",
            Op::Sqrt { .. } => "sqrt",
            Op::Softmax { .. } => "softmax",
            Op::LogSoftmax { .. } => "log_softmax",
            Op::Pad2d { .. } => "pad2d",
            Op::Crop2d { .. } => "crop2d",
            Op::Warp { .. } => "warp",
            Op::ChannelMix { .. } => "channel_mix",
            Op::InverseRealDft2 { .. } => "inverse_real_dft2",
        }
    }
}
