//! ReLU: `y = max(x, 0)`, with a choice of backward rule made when the op is recorded.
//!
//! **Standard** (the true derivative): dy/dx is 1 where x > 0 and 0 elsewhere (at exactly 0 we
//! take 0, as PyTorch does). Since y > 0 exactly where x > 0, the output alone decides:
//! `dx = dy * [y > 0]`.
//!
//! Two attribution methods replace this rule on purpose (they are not gradients any more, and
//! say so in their names):
//! - **Guided** backpropagation (Springenberg et al. 2015) also drops negative incoming
//!   gradients: `dx = dy * [y > 0] * [dy > 0]`.
//! - **Deconvnet** (Zeiler & Fergus 2014) ignores the forward mask and passes only positive
//!   incoming gradients: `dx = max(dy, 0)`.
//!
//! Choosing the rule when the graph is recorded (`Graph::relu_with`, or the model's forward
//! options) means guided backprop needs no hooks: the tape simply holds a different backward.

use rayon::prelude::*;

use crate::buffer;
use crate::tensor::Tensor;

/// Elements per parallel piece (small ones cost more in scheduling than they gain).
const CHUNK: usize = 1 << 16;

/// How a ReLU sends gradients backward.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReluRule {
    /// The derivative: `dx = dy * [y > 0]`.
    #[default]
    Standard,
    /// Guided backpropagation: `dx = dy * [y > 0] * [dy > 0]`.
    Guided,
    /// Deconvnet: `dx = max(dy, 0)`.
    Deconvnet,
}

pub fn forward(x: &Tensor) -> Tensor {
    let mut out = buffer::take(x.len());
    out.par_extend(x.data().par_iter().with_min_len(CHUNK).map(|&v| v.max(0.0)));
    Tensor::new(x.shape(), out)
}

/// `dx` from the output `y` and the incoming gradient `dy`, by `rule`.
pub fn backward(y: &Tensor, dy: &Tensor, rule: ReluRule) -> Tensor {
    let pairs = y.data().par_iter().zip(dy.data()).with_min_len(CHUNK);
    let mut dx = buffer::take(y.len());
    match rule {
        ReluRule::Standard => dx.par_extend(pairs.map(|(&y, &dy)| if y > 0.0 { dy } else { 0.0 })),
        ReluRule::Guided => {
            dx.par_extend(pairs.map(|(&y, &dy)| if y > 0.0 && dy > 0.0 { dy } else { 0.0 }))
        }
        ReluRule::Deconvnet => dx.par_extend(pairs.map(|(_, &dy)| dy.max(0.0))),
    }
    Tensor::new(y.shape(), dx)
}
