//! ReLU: `y = max(x, 0)`.
//!
//! Backward: dy/dx is 1 where x > 0 and 0 elsewhere (at exactly 0 we take 0, as PyTorch does).
//! Since y > 0 exactly where x > 0, the output alone decides: `dx = dy * [y > 0]`.

use rayon::prelude::*;

use crate::tensor::Tensor;

/// Elements per parallel piece (small ones cost more in scheduling than they gain).
const CHUNK: usize = 1 << 16;

pub fn forward(x: &Tensor) -> Tensor {
    let out: Vec<f32> = x
        .data()
        .par_iter()
        .with_min_len(CHUNK)
        .map(|&v| v.max(0.0))
        .collect();
    Tensor::new(x.shape(), out)
}

pub fn backward(y: &Tensor, dy: &Tensor) -> Tensor {
    let dx: Vec<f32> = y
        .data()
        .par_iter()
        .zip(dy.data())
        .with_min_len(CHUNK)
        .map(|(&y, &dy)| if y > 0.0 { dy } else { 0.0 })
        .collect();
    Tensor::new(y.shape(), dx)
}
