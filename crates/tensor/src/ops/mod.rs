//! The operations. Each file holds one op's forward and backward side by side, with the
//! derivation of the backward in a comment. `Graph` (in `graph.rs`) calls the forward when the op
//! is recorded and the backward when `Graph::backward` reaches it.
//!
//! Notation in the comments: `y` is the op's output, `dy` = d loss / d y (the gradient arriving
//! from later ops), and each backward returns `dx` = d loss / d x = sum over y of dy * dy/dx.

pub mod affine;
pub mod bias_add;
pub mod channel_mix;
pub mod conv2d;
pub mod dense;
pub mod elementwise;
pub mod frozen_conv;
pub mod inverse_dft;
pub mod max_pool;
pub mod pad_crop;
pub mod permute;
pub mod reduce;
pub mod relu;
pub mod select;
pub mod softmax;
pub mod warp;
