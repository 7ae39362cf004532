//! Select: take index `k` along one axis and drop that axis, e.g. channel `k` of `[N, C, H, W]`
//! gives `[N, H, W]`, or class `c` of logits `[N, 1000]` gives `[N]`.
//!
//! Backward: `y` is a copy of a slice of `x`, so `dx` is `dy` placed back into that slice and zero
//! everywhere else.

use crate::buffer;
use crate::tensor::Tensor;

/// (outer, axis length, inner) sizes: x viewed as `[outer, len, inner]`.
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    assert!(
        axis < shape.len(),
        "axis {axis} of a {}-D tensor",
        shape.len()
    );
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

fn without_axis(shape: &[usize], axis: usize) -> Vec<usize> {
    let mut s = shape.to_vec();
    s.remove(axis);
    s
}

pub fn forward(x: &Tensor, axis: usize, index: usize) -> Tensor {
    let (outer, len, inner) = split(x.shape(), axis);
    assert!(
        index < len,
        "index {index} out of range for axis of length {len}"
    );
    let mut y = buffer::take(outer * inner);
    for o in 0..outer {
        let start = (o * len + index) * inner;
        y.extend_from_slice(&x.data()[start..start + inner]);
    }
    Tensor::new(&without_axis(x.shape(), axis), y)
}

pub fn backward(x_shape: &[usize], axis: usize, index: usize, dy: &Tensor) -> Tensor {
    let (outer, len, inner) = split(x_shape, axis);
    let mut dx = buffer::zeroed(outer * len * inner);
    for o in 0..outer {
        let start = (o * len + index) * inner;
        dx[start..start + inner].copy_from_slice(&dy.data()[o * inner..(o + 1) * inner]);
    }
    Tensor::new(x_shape, dx)
}
