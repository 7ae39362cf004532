//! # tensor: a minimal CPU tensor engine with reverse-mode autodiff
//!
//! (The walkthrough of a backward pass is written in the section "How a backward pass works"
//! below.)

pub mod graph;
pub mod kernels;
pub mod ops;
pub mod tensor;
pub mod testing;

pub use graph::{Gradients, Graph, Node, Op, Var};
pub use ops::conv2d::{ConvGeometry, PackedConv};
pub use tensor::Tensor;
