//! # tensor: a minimal CPU tensor engine with reverse-mode autodiff
//!
//! This crate is small on purpose, so that it can be read from top to bottom. It has:
//!
//! - [`Tensor`]: an `f32` array with a shape, row-major, cheap to clone;
//! - [`Graph`]: a *tape* that records every operation as it runs, and computes gradients by
//!   walking the record backwards ([`Graph::backward`]);
//! - [`ops`]: the operations, each with its forward and its backward side by side;
//! - [`kernels`]: the loops that do the arithmetic: plain reference versions (the test oracles)
//!   and fast ones (SIMD direct convolution, GEMM, GEMV);
//! - [`buffer`]: the pool that lets repeated runs (ascent steps, batches) reuse their memory;
//! - [`io`]: named tensors in safetensors files, and files written atomically;
//! - [`rng`]: seeded random numbers (start images, random weights, test data).
//!
//! ## How a backward pass works
//!
//! Take `loss = mean(relu(conv(x, w)))` and suppose we want `d loss / d x` (this is exactly what
//! filter visualization needs: how to change the image to raise a filter's mean activation).
//!
//! **1. Recording.** Each call on the graph computes its result *now* and appends a node to the
//! tape: the value, the [`Op`] that made it (naming its input nodes), and a flag saying whether
//! any gradient must flow through it. Leaves come from [`Graph::input`] (we want their gradient)
//! or [`Graph::constant`] (held fixed: frozen weights). A node needs a gradient when one of its
//! inputs does, so with a constant `w` the tape will never compute `d loss / d w`.
//!
//! ```text
//!   node 0  x        Leaf                     needs grad
//!   node 1  w        Leaf                     constant
//!   node 2  c        Conv2d { x: 0, w: 1 }    needs grad (because of x)
//!   node 3  r        Relu { x: 2 }            needs grad
//!   node 4  loss     Mean { x: 3 }            needs grad
//! ```
//!
//! **2. Seeding.** Backward starts at the loss with `d loss / d loss = 1`.
//!
//! **3. The reverse walk.** Nodes only refer to earlier nodes, so the tape is already in
//! topological order; walking it from the end visits every node after all the nodes that use it.
//! At each node holding a gradient `dy` (d loss / d this node), one `match` on the op calls that
//! op's backward, which turns `dy` into gradients for the op's inputs (the chain rule, as a
//! vector-Jacobian product; the Jacobian itself is never built):
//!
//! - node 4, `Mean` over `n` values: each input gets `dy / n`;
//! - node 3, `Relu`: `dx = dy` where the output is positive, `0` elsewhere;
//! - node 2, `Conv2d`: `dx` is the convolution of `dy` with the flipped, channel-swapped kernel;
//!   `dw` is skipped because node 1 is a constant.
//!
//! An input used by several ops receives the *sum* of their contributions (the multivariable
//! chain rule), which is why gradients are accumulated, not assigned.
//!
//! **4. Reading.** [`Graph::backward`] returns [`Gradients`], from which the gradient of any node
//! that needed one can be read: the input, a weight that was an `input`, or an intermediate
//! activation (Grad-CAM reads `d score / d block5_conv3` this way).
//!
//! Here is that example, run:
//!
//! ```
//! use tensor::{ConvGeometry, Graph, Tensor};
//!
//! let mut g = Graph::new();
//! // One 1-channel 3x3 image, and a 3x3 kernel that sums the 3x3 neighbourhood.
//! let x = g.input(Tensor::new(&[1, 1, 3, 3], vec![1.0, -2.0, 3.0, -4.0, 5.0, -6.0, 7.0, -8.0, 9.0]));
//! let w = g.constant(Tensor::full(&[1, 1, 3, 3], 1.0));
//! let c = g.conv2d(x, w, None, ConvGeometry::SAME_3X3);
//! let r = g.relu(c);
//! let loss = g.mean(r);
//!
//! let grads = g.backward(loss);
//! // The weights were constant: no gradient was computed for them.
//! assert!(grads.get(w).is_none());
//! // The centre pixel feeds all 9 outputs, each with weight 1; each output passes 1/9 of the
//! // gradient if its ReLU is open. Outputs: the 3x3 sums around each pixel (zero padded).
//! let conv = g.value(c).data().to_vec();
//! let open = conv.iter().filter(|&&v| v > 0.0).count() as f32;
//! assert_eq!(grads.wrt(x).data()[4], open / 9.0);
//! // The intermediate value's gradient is there too: d loss / d relu output = 1/9 everywhere.
//! assert!(grads.wrt(r).data().iter().all(|&v| (v - 1.0 / 9.0).abs() < 1e-7));
//! ```
//!
//! ## Where to read next
//!
//! - [`graph`]: the tape and the recording methods; [`op`]: what a node records;
//!   [`backward`]: the reverse walk and its one `match`;
//! - [`ops::conv2d`], [`ops::max_pool`], [`ops::softmax`], ...: one op per file, forward and
//!   backward with the derivation; [`ops::frozen_conv`]: the model's convolution layers, an
//!   optimisation of conv + ReLU + select that the tests check against that composition;
//! - [`ops::relu`]: the standard, guided and deconvnet backward rules;
//! - [`kernels::reference`]: the definitions as plain loops;
//! - [`kernels::conv_direct`]: the fast convolution's register tile, and why the input gradient
//!   is the same kernel;
//! - [`kernels::winograd`]: the same convolution with 4x (F(4x4, 3x3)) or 2.25x (F(2x2, 3x3))
//!   fewer multiplications, what most VGG16 layers run;
//! - [`kernels::im2col`]: the first layer (3 input channels) as one matrix product.

pub mod backward;
pub mod buffer;
pub mod graph;
pub mod io;
pub mod kernels;
pub mod op;
pub mod ops;
pub mod rng;
pub mod tensor;
pub mod testing;
pub mod trace;

pub use backward::Gradients;
pub use graph::{Graph, Node, Var};
pub use op::Op;
pub use ops::conv2d::ConvGeometry;
pub use ops::frozen_conv::PackedConv;
pub use ops::relu::ReluRule;
pub use rng::Rng;
pub use tensor::Tensor;
