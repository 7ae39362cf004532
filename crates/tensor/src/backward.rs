//! Reverse mode: [`Graph::backward`] walks the tape from the loss to the first node, and one
//! `match` on each node's [`Op`] hands its gradient to the op's inputs by calling that op's
//! `backward` in `ops/`.

use crate::graph::{Graph, Var};
use crate::op::Op;
use crate::ops;
use crate::tensor::Tensor;

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
        let mut grads: Vec<Option<Tensor>> = vec![None; self.len()];
        if !self.needs_grad(loss) {
            return Gradients { grads };
        }
        grads[loss.0] = Some(Tensor::full(loss_value.shape(), 1.0));

        let mut recorder = self.recorder.as_ref().and_then(|r| r.lock().ok());
        for i in (0..=loss.0).rev() {
            let Some(dy) = grads[i].take() else { continue };
            let started = recorder.is_some().then(std::time::Instant::now);
            let node = &self.nodes[i];
            let y = &node.value;
            // `give(v, g)` adds `g` to the gradient of input `v`, if `v` wants one.
            let mut give = |v: Var, g: Tensor| {
                if self.needs_grad(v) {
                    accumulate(&mut grads[v.0], g);
                }
            };
            let wants = |v: Var| self.needs_grad(v);
            let x_of = |v: &Var| self.value(*v);
            match &node.op {
                Op::Leaf => {}
                Op::Conv2d { x, w, b, geometry } => {
                    let want_b = b.is_some_and(wants);
                    let g = ops::conv2d::backward(
                        x_of(x),
                        x_of(w),
                        &dy,
                        *geometry,
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
                Op::FrozenConv2d {
                    x,
                    layer,
                    relu,
                    channels,
                } => {
                    let dx = ops::frozen_conv::backward(
                        x_of(x),
                        y,
                        &dy,
                        layer,
                        *relu,
                        channels.as_deref().map(Vec::as_slice),
                    );
                    give(*x, dx);
                }
                Op::BiasAdd { x, b } => {
                    let (dx, db) = ops::bias_add::backward(&dy);
                    give(*x, dx);
                    give(*b, db);
                }
                Op::Relu { x, rule } => give(*x, ops::relu::backward(y, &dy, *rule)),
                Op::Sigmoid { x } => give(*x, ops::elementwise::sigmoid_backward(y, &dy)),
                Op::Affine { x, scale, shift } => {
                    let (dx, dscale, dshift) =
                        ops::affine::backward(x_of(x), x_of(scale), x_of(shift), &dy);
                    give(*x, dx);
                    give(*scale, dscale);
                    give(*shift, dshift);
                }
                Op::MaxPool2x2 { x, argmax } => {
                    give(*x, ops::max_pool::backward(x_of(x).shape(), argmax, &dy))
                }
                Op::Dense { x, w, b } => {
                    let g = ops::dense::backward(x_of(x), x_of(w), &dy, [wants(*x), wants(*w)]);
                    if let Some(dx) = g.dx {
                        give(*x, dx);
                    }
                    if let Some(dw) = g.dw {
                        give(*w, dw);
                    }
                    if let Some(b) = b.filter(|b| wants(*b)) {
                        give(b, ops::dense::bias_backward(&dy));
                    }
                }
                Op::Reshape { x } => give(*x, dy.reshape(x_of(x).shape())),
                Op::ChannelsLast { x } => give(*x, ops::permute::channels_last_backward(&dy)),
                Op::Select { x, axis, index } => give(
                    *x,
                    ops::select::backward(x_of(x).shape(), *axis, *index, &dy),
                ),
                Op::Sum { x } => give(*x, ops::reduce::sum_backward(x_of(x).shape(), &dy)),
                Op::Mean { x } => give(*x, ops::reduce::mean_backward(x_of(x).shape(), &dy)),
                Op::SumAxis { x, axis } => give(
                    *x,
                    ops::reduce::sum_axis_backward(x_of(x).shape(), *axis, &dy),
                ),
                Op::MeanAxis { x, axis } => give(
                    *x,
                    ops::reduce::mean_axis_backward(x_of(x).shape(), *axis, &dy),
                ),
                Op::MaxAxis { x, axis, argmax } => give(
                    *x,
                    ops::reduce::max_axis_backward(x_of(x).shape(), *axis, argmax, &dy),
                ),
                Op::Add { a, b } => {
                    let (da, db) = ops::elementwise::add_backward(&dy);
                    give(*a, da);
                    give(*b, db);
                }
                Op::Mul { a, b } => {
                    let (da, db) = ops::elementwise::mul_backward(x_of(a), x_of(b), &dy);
                    give(*a, da);
                    give(*b, db);
                }
                Op::Div { a, b } => {
                    let (da, db) = ops::elementwise::div_backward(x_of(b), y, &dy);
                    give(*a, da);
                    give(*b, db);
                }
                Op::Scale { x, factor } => give(*x, ops::elementwise::scale_backward(&dy, *factor)),
                Op::Square { x } => give(*x, ops::elementwise::square_backward(x_of(x), &dy)),
                Op::Sqrt { x } => give(*x, ops::elementwise::sqrt_backward(y, &dy)),
                Op::Softmax { x } => give(*x, ops::softmax::softmax_backward(y, &dy)),
                Op::LogSoftmax { x } => give(*x, ops::softmax::log_softmax_backward(y, &dy)),
                Op::Pad2d { x, pad, .. } => {
                    give(*x, ops::pad_crop::pad_backward(x_of(x).shape(), *pad, &dy))
                }
                Op::Crop2d { x, top, left } => give(
                    *x,
                    ops::pad_crop::crop_backward(x_of(x).shape(), *top, *left, &dy),
                ),
                Op::Warp { x, map } => give(*x, ops::warp::backward(x_of(x).shape(), map, &dy)),
                Op::ChannelMix { x, matrix } => {
                    give(*x, ops::channel_mix::backward(x_of(x).shape(), matrix, &dy))
                }
                Op::InverseRealDft2 { x, tables } => {
                    give(*x, ops::inverse_dft::backward(x_of(x).shape(), tables, &dy))
                }
            }
            if let (Some(r), Some(started)) = (recorder.as_mut(), started) {
                let node = &mut r.trace.nodes[i];
                node.backward_ms = Some(started.elapsed().as_secs_f64() * 1e3);
                node.grad_norm = Some(crate::trace::norm(&dy));
            }
            // Keep the node's own gradient: callers read intermediate gradients (Grad-CAM reads
            // d score / d activations).
            grads[i] = Some(dy);
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
