//! The tape: a [`Graph`] records every operation as it runs, and [`Graph::backward`] walks the
//! record in reverse to compute gradients.
//!
//! Each recorded value is a [`Node`]: the value itself, the [`Op`] that produced it (which names
//! the input nodes), and whether any gradient must flow through it. Nodes only ever refer to
//! earlier nodes, so the order in which they were recorded is already a topological order, and
//! backward is one loop from the last node to the first with one `match` on the op.

use std::sync::Arc;

use crate::ops;
use crate::ops::conv2d::{ConvGeometry, PackedConv};
use crate::tensor::Tensor;

/// A handle to a value recorded on a [`Graph`]. Cheap to copy; only meaningful for its graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Var(pub(crate) usize);

impl Var {
    /// Position of the node on the tape (0 = first recorded).
    pub fn index(self) -> usize {
        self.0
    }
}

/// How a node was computed: the operation and the nodes it read.
#[derive(Clone, Debug)]
pub enum Op {
    /// A value given from outside: an input or a weight.
    Leaf,
    /// 2-D cross-correlation, optionally with a per-output-channel bias. `packed` holds weights
    /// already rearranged for the fast kernel (packed once at model load).
    Conv2d {
        x: Var,
        w: Var,
        b: Option<Var>,
        geometry: ConvGeometry,
        packed: Option<Arc<PackedConv>>,
        /// ReLU fused in: the output is `max(conv, 0)`.
        relu: bool,
    },
    /// Frozen, packed convolution (+ ReLU when `relu`) computing one output channel per image:
    /// `channels[i]` for image `i`. Output `[N, 1, H, W]`.
    Conv2dSelected {
        x: Var,
        layer: Arc<PackedConv>,
        channels: Arc<Vec<usize>>,
        relu: bool,
    },
    /// `x[n, c, h, w] + b[c]`.
    BiasAdd { x: Var, b: Var },
    /// `max(x, 0)`.
    Relu { x: Var },
    /// 2x2 max-pool with stride 2. `argmax[i]` is the flat index in `x` of output `i`'s maximum.
    MaxPool2x2 { x: Var, argmax: Arc<Vec<u32>> },
    /// `x @ w^T + b` with `x` `[N, in]`, `w` `[out, in]`, `b` `[out]`.
    Dense { x: Var, w: Var, b: Option<Var> },
    /// Same values, new shape (flatten is a reshape).
    Reshape { x: Var },
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
    /// Elementwise `a + b` (same shapes).
    Add { a: Var, b: Var },
    /// Elementwise `a * b` (same shapes).
    Mul { a: Var, b: Var },
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
#[derive(Default)]
pub struct Graph {
    nodes: Vec<Node>,
    no_grad: bool,
}

/// Gradients of one scalar with respect to every node that needed one.
pub struct Gradients {
    grads: Vec<Option<Tensor>>,
}

impl Gradients {
    /// d loss / d `v`, or `None` when no gradient flows to `v` (it is a constant, or the loss
    /// does not depend on it).
    pub fn get(&self, v: Var) -> Option<&Tensor> {
        self.grads.get(v.0).and_then(|g| g.as_ref())
    }

    /// d loss / d `v`; panics if `v` received no gradient.
    pub fn wrt(&self, v: Var) -> &Tensor {
        self.get(v)
            .unwrap_or_else(|| panic!("no gradient was computed for node {}", v.0))
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
        Graph {
            nodes: Vec::new(),
            no_grad: true,
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
        let op = if needs_grad { op } else { Op::Leaf };
        self.push(value, op, needs_grad)
    }

    fn needs_grad(&self, v: Var) -> bool {
        self.nodes[v.0].needs_grad
    }

    // ----- the ops: each computes its forward now and records how to go backward later -----

    /// 2-D convolution (cross-correlation) of `x` `[N, Cin, H, W]` with `w` `[Cout, Cin, K, K]`,
    /// plus `b` `[Cout]` when given.
    pub fn conv2d(&mut self, x: Var, w: Var, b: Option<Var>, geometry: ConvGeometry) -> Var {
        let bias = b.map(|b| self.value(b));
        let y = ops::conv2d::forward(self.value(x), self.value(w), bias, geometry, None, false);
        let mut parents = vec![x, w];
        parents.extend(b);
        self.record(
            y,
            Op::Conv2d {
                x,
                w,
                b,
                geometry,
                packed: None,
                relu: false,
            },
            &parents,
        )
    }

    /// Convolution with frozen, pre-packed weights (the model's layers): no gradient is
    /// computed for the weights, only through them to `x`.
    pub fn conv2d_packed(&mut self, x: Var, layer: &Arc<PackedConv>) -> Var {
        self.conv2d_packed_with(x, layer, false)
    }

    /// [`Graph::conv2d_packed`] followed by ReLU, fused into one op: one pass over memory
    /// instead of two, and one value on the tape instead of two. Backward first applies ReLU's
    /// backward (`dy * [y > 0]`), then the convolution's.
    pub fn conv2d_packed_relu(&mut self, x: Var, layer: &Arc<PackedConv>) -> Var {
        self.conv2d_packed_with(x, layer, true)
    }

    fn conv2d_packed_with(&mut self, x: Var, layer: &Arc<PackedConv>, relu: bool) -> Var {
        let y = ops::conv2d::forward(
            self.value(x),
            &layer.weight,
            Some(&layer.bias),
            layer.geometry,
            Some(layer),
            relu,
        );
        let w = self.constant(layer.weight.clone());
        let b = self.constant(layer.bias.clone());
        self.record(
            y,
            Op::Conv2d {
                x,
                w,
                b: Some(b),
                geometry: layer.geometry,
                packed: Some(layer.clone()),
                relu,
            },
            &[x],
        )
    }

    /// A frozen convolution (+ ReLU) that computes only channel `channels[i]` for image `i`:
    /// output `[N, 1, H, W]`. See `ops::conv2d::forward_selected`.
    pub fn conv2d_selected(
        &mut self,
        x: Var,
        layer: &Arc<PackedConv>,
        channels: &[usize],
        relu: bool,
    ) -> Var {
        let y = ops::conv2d::forward_selected(self.value(x), layer, channels, relu);
        self.record(
            y,
            Op::Conv2dSelected {
                x,
                layer: layer.clone(),
                channels: Arc::new(channels.to_vec()),
                relu,
            },
            &[x],
        )
    }

    /// `x[n, c, h, w] + b[c]`.
    pub fn bias_add(&mut self, x: Var, b: Var) -> Var {
        let y = ops::bias_add::forward(self.value(x), self.value(b));
        self.record(y, Op::BiasAdd { x, b }, &[x, b])
    }

    pub fn relu(&mut self, x: Var) -> Var {
        let y = ops::relu::forward(self.value(x));
        self.record(y, Op::Relu { x }, &[x])
    }

    pub fn max_pool2x2(&mut self, x: Var) -> Var {
        let (y, argmax) = ops::max_pool::forward(self.value(x));
        self.record(
            y,
            Op::MaxPool2x2 {
                x,
                argmax: Arc::new(argmax),
            },
            &[x],
        )
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

    pub fn add(&mut self, a: Var, b: Var) -> Var {
        let y = ops::elementwise::add_forward(self.value(a), self.value(b));
        self.record(y, Op::Add { a, b }, &[a, b])
    }

    pub fn mul(&mut self, a: Var, b: Var) -> Var {
        let y = ops::elementwise::mul_forward(self.value(a), self.value(b));
        self.record(y, Op::Mul { a, b }, &[a, b])
    }

    pub fn scale(&mut self, x: Var, factor: f32) -> Var {
        let y = self.value(x).map(|v| v * factor);
        self.record(y, Op::Scale { x, factor }, &[x])
    }

    pub fn square(&mut self, x: Var) -> Var {
        let y = self.value(x).map(|v| v * v);
        self.record(y, Op::Square { x }, &[x])
    }

    pub fn sqrt(&mut self, x: Var) -> Var {
        let y = self.value(x).map(f32::sqrt);
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

    // ----- backward -----

    /// Reverse mode: the gradient of the scalar `loss` with respect to every recorded node that
    /// needs one.
    ///
    /// The seed is d loss / d loss = 1. Then, from the last node to the first, each node that
    /// holds a gradient `dy` hands it to its inputs by the chain rule: input `x` receives
    /// `dy * d y / d x` (a vector-Jacobian product, computed by the op's `backward` without ever
    /// forming the Jacobian). An input used by several ops receives the sum of their shares.
    pub fn backward(&self, loss: Var) -> Gradients {
        let loss_value = self.value(loss);
        assert_eq!(
            loss_value.len(),
            1,
            "backward needs a scalar loss, got shape {:?}",
            loss_value.shape()
        );
        let mut grads: Vec<Option<Tensor>> = vec![None; self.nodes.len()];
        if !self.needs_grad(loss) {
            return Gradients { grads };
        }
        grads[loss.0] = Some(Tensor::full(loss_value.shape(), 1.0));

        for i in (0..=loss.0).rev() {
            let Some(dy) = grads[i].clone() else { continue };
            let node = &self.nodes[i];
            let y = &node.value;
            // `give(v, g)` adds `g` to the gradient of input `v`, if `v` wants one.
            let mut give = |v: Var, g: Tensor| {
                if self.nodes[v.0].needs_grad {
                    accumulate(&mut grads[v.0], g);
                }
            };
            let wants = |v: Var| self.nodes[v.0].needs_grad;
            match &node.op {
                Op::Leaf => {}
                Op::Conv2d {
                    x,
                    w,
                    b,
                    geometry,
                    packed,
                    relu,
                } => {
                    // A fused ReLU goes backward first: only positive outputs pass gradient.
                    let dy = if *relu {
                        ops::relu::backward(y, &dy)
                    } else {
                        dy
                    };
                    let want_b = b.is_some_and(wants);
                    let g = ops::conv2d::backward(
                        self.value(*x),
                        self.value(*w),
                        &dy,
                        *geometry,
                        packed.as_deref(),
                        [wants(*x), wants(*w), want_b],
                    );
                    if let Some(dx) = g.dx {
                        give(*x, dx);
                    }
                    if let Some(dw) = g.dw {
                        give(*w, dw);
                    }
                    if let (Some(b), Some(db)) = (b, g.db) {
                        give(*b, db);
                    }
                }
                Op::Conv2dSelected {
                    x,
                    layer,
                    channels,
                    relu,
                } => {
                    let dy = if *relu {
                        ops::relu::backward(y, &dy)
                    } else {
                        dy
                    };
                    give(
                        *x,
                        ops::conv2d::backward_selected(self.value(*x), layer, channels, &dy),
                    );
                }
                Op::BiasAdd { x, b } => {
                    let (dx, db) = ops::bias_add::backward(&dy);
                    give(*x, dx);
                    give(*b, db);
                }
                Op::Relu { x } => give(*x, ops::relu::backward(y, &dy)),
                Op::MaxPool2x2 { x, argmax } => give(
                    *x,
                    ops::max_pool::backward(self.value(*x).shape(), argmax, &dy),
                ),
                Op::Dense { x, w, b } => {
                    let g = ops::dense::backward(
                        self.value(*x),
                        self.value(*w),
                        &dy,
                        [wants(*x), wants(*w)],
                    );
                    if let Some(dx) = g.dx {
                        give(*x, dx);
                    }
                    if let Some(dw) = g.dw {
                        give(*w, dw);
                    }
                    if let Some(b) = b {
                        if wants(*b) {
                            give(*b, ops::dense::bias_backward(&dy));
                        }
                    }
                }
                Op::Reshape { x } => give(*x, dy.reshape(self.value(*x).shape())),
                Op::Select { x, axis, index } => give(
                    *x,
                    ops::select::backward(self.value(*x).shape(), *axis, *index, &dy),
                ),
                Op::Sum { x } => give(*x, ops::reduce::sum_backward(self.value(*x).shape(), &dy)),
                Op::Mean { x } => give(*x, ops::reduce::mean_backward(self.value(*x).shape(), &dy)),
                Op::SumAxis { x, axis } => give(
                    *x,
                    ops::reduce::sum_axis_backward(self.value(*x).shape(), *axis, &dy),
                ),
                Op::MeanAxis { x, axis } => give(
                    *x,
                    ops::reduce::mean_axis_backward(self.value(*x).shape(), *axis, &dy),
                ),
                Op::Add { a, b } => {
                    give(*a, dy.clone());
                    give(*b, dy);
                }
                Op::Mul { a, b } => {
                    let (da, db) =
                        ops::elementwise::mul_backward(self.value(*a), self.value(*b), &dy);
                    give(*a, da);
                    give(*b, db);
                }
                Op::Scale { x, factor } => give(*x, dy.map(|g| g * factor)),
                Op::Square { x } => {
                    give(*x, ops::elementwise::square_backward(self.value(*x), &dy))
                }
                Op::Sqrt { x } => give(*x, ops::elementwise::sqrt_backward(y, &dy)),
                Op::Softmax { x } => give(*x, ops::softmax::softmax_backward(y, &dy)),
                Op::LogSoftmax { x } => give(*x, ops::softmax::log_softmax_backward(y, &dy)),
            }
        }
        Gradients { grads }
    }
}

/// `slot += g`, where an empty slot counts as zero.
fn accumulate(slot: &mut Option<Tensor>, g: Tensor) {
    match slot {
        None => *slot = Some(g),
        Some(existing) => {
            let sum = existing.data_mut();
            for (s, v) in sum.iter_mut().zip(g.data()) {
                *s += v;
            }
        }
    }
}
