//! ReLU: `y = max(x, 0)`.
//!
//! Backward: dy/dx is 1 where x > 0 and 0 elsewhere (at exactly 0 we take 0, as PyTorch does).
//! Since y > 0 exactly where x > 0, the output alone decides: `dx = dy * [y > 0]`.

use rayon::prelude::*;

use crate::tensor::Tensor;

const CHUNK: usize = 1 << 16;

pub fn forward(x: &Tensor) -> Tensor {
    let mut out = vec![0.0; x.len()];
    out.par_chunks_mut(CHUNK)
        .zip(x.data().par_chunks(CHUNK))
        .for_each(|(o, i)| {
            for (o, &v) in o.iter_mut().zip(i) {
                *o = v.max(0.0);
            }
        });
    Tensor::new(x.shape(), out)
}

pub fn backward(y: &Tensor, dy: &Tensor) -> Tensor {
    let mut dx = vec![0.0; y.len()];
    dx.par_chunks_mut(CHUNK)
        .zip(y.data().par_chunks(CHUNK).zip(dy.data().par_chunks(CHUNK)))
        .for_each(|(dx, (y, dy))| {
            for ((dx, &y), &dy) in dx.iter_mut().zip(y).zip(dy) {
                *dx = if y > 0.0 { dy } else { 0.0 };
            }
        });
    Tensor::new(y.shape(), dx)
}
