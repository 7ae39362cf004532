//! Channels last: `[N, C, H, W]` -> `[N, H, W, C]`, `y[n, i, j, c] = x[n, c, i, j]`.
//!
//! Keras and TensorFlow keep images channels-last, so their `Flatten` reads a feature map in
//! (H, W, C) order; a classifier trained there expects its inputs in that order. This op, then
//! a reshape, gives that flatten on this engine's `[N, C, H, W]` tensors.
//!
//! Backward: `y` is `x` with its values moved, so `dx` is `dy` moved back:
//! `dx[n, c, i, j] = dy[n, i, j, c]`.

use crate::buffer;
use crate::tensor::Tensor;

pub fn channels_last_forward(x: &Tensor) -> Tensor {
    let [n, c, h, w] = x.dims4();
    let xd = x.data();
    let mut y = buffer::take(x.len());
    for img in 0..n {
        for pos in 0..h * w {
            y.extend((0..c).map(|ch| xd[(img * c + ch) * h * w + pos]));
        }
    }
    Tensor::new(&[n, h, w, c], y)
}

/// `dx` (`[N, C, H, W]`) from `dy` (`[N, H, W, C]`).
pub fn channels_last_backward(dy: &Tensor) -> Tensor {
    let [n, h, w, c] = dy.dims4();
    let gd = dy.data();
    let mut dx = buffer::take(dy.len());
    for img in 0..n {
        for ch in 0..c {
            dx.extend((0..h * w).map(|pos| gd[(img * h * w + pos) * c + ch]));
        }
    }
    Tensor::new(&[n, c, h, w], dx)
}
