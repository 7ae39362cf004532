//! The tape: a [`Graph`] records every operation as it runs; [`Graph::backward`] (in
//! `backward.rs`) walks the record in reverse to compute gradients.
//!
//! Each recorded value is a [`Node`]: the value itself, the [`Op`] that produced it (which names
//! the input nodes), and whether any gradient must flow through it. Nodes only ever refer to
//! earlier nodes, so the order in which they were recorded is already a topological order, and
//! backward is one loop from the last node to the first with one `match` on the op.
//!
//! Every recording method below does the same three things: compute the forward *now* (by
//! calling the op's `forward` in `ops/`), then `record` the value with the op and its inputs.

use std::sync::Arc;

use crate::op::Op;
use crate::ops;
use crate::ops::conv2d::ConvGeometry;
use crate::ops::frozen_conv::PackedConv;
use crate::ops::relu::ReluRule;
use crate::tensor::Tensor;
use crate::trace;

/// A handle to a value recorded on a [`Graph`]. Cheap to copy; only meaningful for its graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Var(pub(crate) usize);

impl Var {
    /// Position of the node on the tape (0 = first recorded).
    pub fn index(self) -> usize {
        self.0
    }
}

/// One recorded value.
#[derive(Clone, Debug)]
pub struct Node {
    pub value: Tensor,
    pub op: Op,
    /// True when some leaf that asked for gradients flows into this value.
    pub needs_grad: bool,
}

/// The tape. Record values with its methods, then call [`Graph::backward`].
pub struct Graph {
    pub(crate) nodes: Vec<Node>,
    no_grad: bool,
    /// What `--trace` shows, when tracing is on (see [`crate::trace`]).
    pub(crate) recorder: Option<std::sync::Mutex<trace::Recorder>>,
}

impl Default for Graph {
    fn default() -> Graph {
        Graph {
            nodes: Vec::new(),
            no_grad: false,
            recorder: trace::enabled().then(|| std::sync::Mutex::new(trace::Recorder::new())),
        }
    }
}

impl Drop for Graph {
    /// A traced graph leaves its trace behind as the last one (see [`crate::trace::last`]).
    fn drop(&mut self) {
        if let Some(r) = self.recorder.take() {
            if let Ok(r) = r.into_inner() {
                trace::keep(r.trace);
            }
        }
    }
}

impl Graph {
    /// An empty tape that records for backward.
    pub fn new() -> Graph {
        Graph::default()
    }

    /// An empty tape for inference: values are computed, nothing needs a gradient, and ops keep no
    /// extra state for backward.
    pub fn no_grad() -> Graph {
        let mut g = Graph::default();
        g.no_grad = true;
        g
    }

    /// Names the nodes recorded from position `start` on (those not named yet) after the model
    /// layer that recorded them, for traces. Does nothing when tracing is off.
    pub fn name_from(&mut self, start: usize, name: &str) {
        if let Some(r) = &self.recorder {
            if let Ok(mut r) = r.lock() {
                r.name_from(start, name);
            }
        }
    }

    /// False for a [`Graph::no_grad`] tape.
    pub fn is_recording(&self) -> bool {
        !self.no_grad
    }

    /// Number of recorded nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The value of a recorded node.
    pub fn value(&self, v: Var) -> &Tensor {
        &self.nodes[v.0].value
    }

    /// Frees the value of a node that is no longer needed (inference only: in a graph that
    /// records for backward the value may be needed later, so this does nothing there).
    pub fn release(&mut self, v: Var) {
        if self.no_grad {
            self.nodes[v.0].value = Tensor::zeros(&[0]);
        }
    }

    /// A leaf whose gradient we want (an input image, or weights being trained / checked).
    pub fn input(&mut self, value: Tensor) -> Var {
        let needs_grad = !self.no_grad;
        self.push(value, Op::Leaf, needs_grad)
    }

    /// A leaf that is held fixed: no gradient is computed for it or through it.
    pub fn constant(&mut self, value: Tensor) -> Var {
        self.push(value, Op::Leaf, false)
    }

    fn push(&mut self, value: Tensor, op: Op, needs_grad: bool) -> Var {
        self.push_traced(value, op, needs_grad, None)
    }

    /// `push`, telling the trace the op that computed the value when `op` had to be recorded
    /// as a leaf (no gradient through it).
    fn push_traced(
        &mut self,
        value: Tensor,
        op: Op,
        needs_grad: bool,
        computed_by: Option<&Op>,
    ) -> Var {
        if let Some(r) = &self.recorder {
            if let Ok(mut r) = r.lock() {
                let by = computed_by.unwrap_or(&op);
                r.push(&value, by.name(), by.inputs().iter().map(|v| v.0).collect());
            }
        }
        self.nodes.push(Node {
            value,
            op,
            needs_grad,
        });
        Var(self.nodes.len() - 1)
    }

    /// Records the result of an op whose inputs are `parents`.
    fn record(&mut self, value: Tensor, op: Op, parents: &[Var]) -> Var {
        let needs_grad = !self.no_grad && parents.iter().any(|p| self.nodes[p.0].needs_grad);
        if needs_grad {
            self.push(value, op, needs_grad)
        } else {
            self.push_traced(value, Op::Leaf, false, Some(&op))
        }
    }

    pub(crate) fn needs_grad(&self, v: Var) -> bool {
        self.nodes[v.0].needs_grad
    }

    // ----- the ops: each computes its forward now and records how to go backward later -----

    /// 2-D convolution (cross-correlation) of `x` `[N, Cin, H, W]` with `w` `[Cout, Cin, K, K]`,
    /// plus `b` `[Cout]` when given.
    pub fn conv2d(&mut self, x: Var, w: Var, b: Option<Var>, geometry: ConvGeometry) -> Var {
        let bias = b.map(|b| self.value(b));
        let y = ops::conv2d::forward(self.value(x), self.value(w), bias, geometry);
        let mut parents = vec![x, w];
        parents.extend(b);
        self.record(y, Op::Conv2d { x, w, b, geometry }, &parents)
    }

    /// A frozen convolution layer (the model's): weights held fixed and packed once, gradients
    /// only through it to `x`; then ReLU (going backward by `relu`'s rule) when `relu` is given.
    /// The same as `conv2d` with constant weights, then `relu_with`, only faster (see
    /// `ops::frozen_conv`).
    pub fn frozen_conv2d(
        &mut self,
        x: Var,
        layer: &Arc<PackedConv>,
        relu: Option<ReluRule>,
    ) -> Var {
        let y = ops::frozen_conv::forward(self.value(x), layer, relu, None);
        let op = Op::FrozenConv2d {
            x,
            layer: layer.clone(),
            relu,
            channels: None,
        };
        self.record(y, op, &[x])
    }

    /// [`Graph::frozen_conv2d`] computing only channel `channels[i]` for image `i`: output
    /// `[N, 1, H, W]`, as if the full output were followed by selecting those channels.
    pub fn frozen_conv2d_channels(
        &mut self,
        x: Var,
        layer: &Arc<PackedConv>,
        channels: &[usize],
        relu: Option<ReluRule>,
    ) -> Var {
        let y = ops::frozen_conv::forward(self.value(x), layer, relu, Some(channels));
        let op = Op::FrozenConv2d {
            x,
            layer: layer.clone(),
            relu,
            channels: Some(Arc::new(channels.to_vec())),
        };
        self.record(y, op, &[x])
    }

    /// `x[n, c, h, w] + b[c]`.
    pub fn bias_add(&mut self, x: Var, b: Var) -> Var {
        let y = ops::bias_add::forward(self.value(x), self.value(b));
        self.record(y, Op::BiasAdd { x, b }, &[x, b])
    }

    /// `max(x, 0)`, with the standard backward (its derivative).
    pub fn relu(&mut self, x: Var) -> Var {
        self.relu_with(x, ReluRule::Standard)
    }

    /// `max(x, 0)`, going backward by `rule` (guided backprop and deconvnet change it).
    pub fn relu_with(&mut self, x: Var, rule: ReluRule) -> Var {
        let y = ops::relu::forward(self.value(x));
        self.record(y, Op::Relu { x, rule }, &[x])
    }

    /// `1 / (1 + exp(-x))`.
    pub fn sigmoid(&mut self, x: Var) -> Var {
        let y = ops::elementwise::sigmoid_forward(self.value(x));
        self.record(y, Op::Sigmoid { x }, &[x])
    }

    /// `x[n, c, ...] * scale[c] + shift[c]` (an inference batch normalisation).
    pub fn affine(&mut self, x: Var, scale: Var, shift: Var) -> Var {
        let y = ops::affine::forward(self.value(x), self.value(scale), self.value(shift));
        self.record(y, Op::Affine { x, scale, shift }, &[x, scale, shift])
    }

    pub fn max_pool2x2(&mut self, x: Var) -> Var {
        if !self.is_recording() || !self.needs_grad(x) {
            // Nothing will go backward through it: the values alone (recorded as a leaf).
            let y = ops::max_pool::forward_values(self.value(x));
            let argmax = Arc::new(crate::buffer::Indices::default());
            return self.record(y, Op::MaxPool2x2 { x, argmax }, &[x]);
        }
        let (y, argmax) = ops::max_pool::forward(self.value(x));
        let argmax = Arc::new(argmax);
        self.record(y, Op::MaxPool2x2 { x, argmax }, &[x])
    }

    /// Dense (fully connected) layer: `x @ w^T + b`.
    pub fn dense(&mut self, x: Var, w: Var, b: Option<Var>) -> Var {
        let y = ops::dense::forward(self.value(x), self.value(w), b.map(|b| self.value(b)));
        let mut parents = vec![x, w];
        parents.extend(b);
        self.record(y, Op::Dense { x, w, b }, &parents)
    }

    pub fn reshape(&mut self, x: Var, shape: &[usize]) -> Var {
        let y = self.value(x).reshape(shape);
        self.record(y, Op::Reshape { x }, &[x])
    }

    /// `[N, ...] -> [N, product of the rest]`.
    pub fn flatten(&mut self, x: Var) -> Var {
        let shape = self.value(x).shape();
        let n = shape[0];
        let rest = shape[1..].iter().product();
        self.reshape(x, &[n, rest])
    }

    /// `[N, C, H, W]` -> `[N, H, W, C]` (for Keras's channels-last flatten).
    pub fn channels_last(&mut self, x: Var) -> Var {
        let y = ops::permute::channels_last_forward(self.value(x));
        self.record(y, Op::ChannelsLast { x }, &[x])
    }

    pub fn select(&mut self, x: Var, axis: usize, index: usize) -> Var {
        let y = ops::select::forward(self.value(x), axis, index);
        self.record(y, Op::Select { x, axis, index }, &[x])
    }

    pub fn sum(&mut self, x: Var) -> Var {
        let y = ops::reduce::sum_forward(self.value(x));
        self.record(y, Op::Sum { x }, &[x])
    }

    pub fn mean(&mut self, x: Var) -> Var {
        let y = ops::reduce::mean_forward(self.value(x));
        self.record(y, Op::Mean { x }, &[x])
    }

    pub fn sum_axis(&mut self, x: Var, axis: usize) -> Var {
        let y = ops::reduce::sum_axis_forward(self.value(x), axis);
        self.record(y, Op::SumAxis { x, axis }, &[x])
    }

    pub fn mean_axis(&mut self, x: Var, axis: usize) -> Var {
        let y = ops::reduce::mean_axis_forward(self.value(x), axis);
        self.record(y, Op::MeanAxis { x, axis }, &[x])
    }

    /// The maximum over one axis, removing it.
    pub fn max_axis(&mut self, x: Var, axis: usize) -> Var {
        let (y, argmax) = ops::reduce::max_axis_forward(self.value(x), axis);
        let argmax = Arc::new(argmax);
        self.record(y, Op::MaxAxis { x, axis, argmax }, &[x])
    }

    pub fn add(&mut self, a: Var, b: Var) -> Var {
        let y = ops::elementwise::add_forward(self.value(a), self.value(b));
        self.record(y, Op::Add { a, b }, &[a, b])
    }

    pub fn mul(&mut self, a: Var, b: Var) -> Var {
        let y = ops::elementwise::mul_forward(self.value(a), self.value(b));
        self.record(y, Op::Mul { a, b }, &[a, b])
    }

    pub fn div(&mut self, a: Var, b: Var) -> Var {
        let y = ops::elementwise::div_forward(self.value(a), self.value(b));
        self.record(y, Op::Div { a, b }, &[a, b])
    }

    pub fn scale(&mut self, x: Var, factor: f32) -> Var {
        let y = ops::elementwise::scale_forward(self.value(x), factor);
        self.record(y, Op::Scale { x, factor }, &[x])
    }

    pub fn square(&mut self, x: Var) -> Var {
        let y = ops::elementwise::square_forward(self.value(x));
        self.record(y, Op::Square { x }, &[x])
    }

    pub fn sqrt(&mut self, x: Var) -> Var {
        let y = ops::elementwise::sqrt_forward(self.value(x));
        self.record(y, Op::Sqrt { x }, &[x])
    }

    pub fn softmax(&mut self, x: Var) -> Var {
        let y = ops::softmax::softmax_forward(self.value(x));
        self.record(y, Op::Softmax { x }, &[x])
    }

    pub fn log_softmax(&mut self, x: Var) -> Var {
        let y = ops::softmax::log_softmax_forward(self.value(x));
        self.record(y, Op::LogSoftmax { x }, &[x])
    }

    // ----- image ops for feature visualization -----

    /// A border of `pad` pixels of `value` around every `[H, W]` plane.
    pub fn pad2d(&mut self, x: Var, pad: usize, value: f32) -> Var {
        let y = ops::pad_crop::pad_forward(self.value(x), pad, value);
        self.record(y, Op::Pad2d { x, pad, value }, &[x])
    }

    /// The `h x w` window at (`top`, `left`) of every plane.
    pub fn crop2d(&mut self, x: Var, top: usize, left: usize, h: usize, w: usize) -> Var {
        let y = ops::pad_crop::crop_forward(self.value(x), top, left, h, w);
        self.record(y, Op::Crop2d { x, top, left }, &[x])
    }

    /// Every plane resampled bilinearly where `map` says (zero outside).
    pub fn warp(&mut self, x: Var, map: ops::warp::WarpMap) -> Var {
        let y = ops::warp::forward(self.value(x), &map);
        self.record(y, Op::Warp { x, map }, &[x])
    }

    /// `y[n, c, ...] = sum_d matrix[c, d] x[n, d, ...]`; `matrix` is `[C_out, C_in]`, fixed.
    pub fn channel_mix(&mut self, x: Var, matrix: &Tensor) -> Var {
        let y = ops::channel_mix::forward(self.value(x), matrix);
        let matrix = matrix.clone();
        self.record(y, Op::ChannelMix { x, matrix }, &[x])
    }

    /// The orthonormal inverse real 2-D Fourier transform of half spectra `[N, C, H, W/2+1, 2]`
    /// to images `[N, C, H, W]` (`tables` fixes H and W).
    pub fn inverse_real_dft2(&mut self, x: Var, tables: &Arc<ops::inverse_dft::DftTables>) -> Var {
        let y = ops::inverse_dft::forward(self.value(x), tables);
        let tables = tables.clone();
        self.record(y, Op::InverseRealDft2 { x, tables }, &[x])
    }
}
