//! The number-crunching loops behind the ops, in two versions:
//!
//! - [`reference`](mod@reference): plain loops that follow the mathematical definition, accumulate in f64, and
//!   are slow. They are the test oracle.
//! - fast versions: [`conv_direct`] (SIMD direct convolution written with `wide`), [`im2col`]
//!   (the first layer, with 3 input channels, as one matrix product over unrolled patches), [`winograd`]
//!   (Winograd F(4x4, 3x3) and F(2x2, 3x3) on the same register tile, for most VGG16 layers), [`gemm`]
//!   (matrix products through `matrixmultiply`, split over threads with rayon), [`gemv`] (a SIMD
//!   matrix-vector product for batch-1 dense layers, which are memory-bound).
//!
//! Every fast kernel partitions its work over *outputs*: each output value is computed by one
//! thread, always in the same order, so results do not depend on the number of threads.

pub mod conv_direct;
pub mod gemm;
pub mod gemv;
pub mod im2col;
pub mod reference;
pub mod simd;
pub mod winograd;
