//! Sums and means, over the whole tensor or over one axis, and the maximum over one axis.
//!
//! Backward: each input contributes to its sum with coefficient 1, so every input receives the
//! sum's gradient unchanged (`dx[i] = dy`), "broadcast" back over what was summed. A mean is a
//! sum times `1/count`, so its inputs receive `dy / count`. A maximum equals one of its inputs,
//! so that input alone receives `dy` (the first one when several tie, as in max-pool).
//!
//! Sums accumulate in f64 so that large reductions (a 150x150 activation map) stay exact to f32.

use crate::tensor::Tensor;

pub fn sum_forward(x: &Tensor) -> Tensor {
    Tensor::scalar(x.data().iter().map(|&v| v as f64).sum::<f64>() as f32)
}

pub fn sum_backward(x_shape: &[usize], dy: &Tensor) -> Tensor {
    Tensor::full(x_shape, dy.item())
}

pub fn mean_forward(x: &Tensor) -> Tensor {
    let n = x.len().max(1) as f64;
    Tensor::scalar((x.data().iter().map(|&v| v as f64).sum::<f64>() / n) as f32)
}

pub fn mean_backward(x_shape: &[usize], dy: &Tensor) -> Tensor {
    let n = x_shape.iter().product::<usize>().max(1) as f32;
    Tensor::full(x_shape, dy.item() / n)
}

/// x viewed as `[outer, len, inner]` around `axis`.
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    assert!(
        axis < shape.len(),
        "axis {axis} of a {}-D tensor",
        shape.len()
    );
    (
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    )
}

pub fn sum_axis_forward(x: &Tensor, axis: usize) -> Tensor {
    let (outer, len, inner) = split(x.shape(), axis);
    let mut y = vec![0.0f64; outer * inner];
    let xd = x.data();
    for o in 0..outer {
        for k in 0..len {
            let row = &xd[(o * len + k) * inner..][..inner];
            for (acc, &v) in y[o * inner..][..inner].iter_mut().zip(row) {
                *acc += v as f64;
            }
        }
    }
    let mut shape = x.shape().to_vec();
    shape.remove(axis);
    Tensor::new(&shape, y.into_iter().map(|v| v as f32).collect())
}

pub fn sum_axis_backward(x_shape: &[usize], axis: usize, dy: &Tensor) -> Tensor {
    let (outer, len, inner) = split(x_shape, axis);
    let mut dx = Vec::with_capacity(outer * len * inner);
    for o in 0..outer {
        for _ in 0..len {
            dx.extend_from_slice(&dy.data()[o * inner..(o + 1) * inner]);
        }
    }
    Tensor::new(x_shape, dx)
}

pub fn mean_axis_forward(x: &Tensor, axis: usize) -> Tensor {
    let len = x.shape()[axis].max(1) as f32;
    sum_axis_forward(x, axis).map(|v| v / len)
}

pub fn mean_axis_backward(x_shape: &[usize], axis: usize, dy: &Tensor) -> Tensor {
    let len = x_shape[axis].max(1) as f32;
    sum_axis_backward(x_shape, axis, dy).map(|v| v / len)
}

/// The maximum over one axis (removing it), and for each output the position along the axis
/// that held it.
pub fn max_axis_forward(x: &Tensor, axis: usize) -> (Tensor, Vec<u32>) {
    let (outer, len, inner) = split(x.shape(), axis);
    assert!(len > 0, "maximum over an empty axis");
    let xd = x.data();
    let mut y = Vec::with_capacity(outer * inner);
    let mut argmax = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| xd[(o * len + k) * inner + i];
            let best = (1..len).fold(0, |best, k| if at(k) > at(best) { k } else { best });
            y.push(at(best));
            argmax.push(best as u32);
        }
    }
    let mut shape = x.shape().to_vec();
    shape.remove(axis);
    (Tensor::new(&shape, y), argmax)
}

pub fn max_axis_backward(x_shape: &[usize], axis: usize, argmax: &[u32], dy: &Tensor) -> Tensor {
    let (outer, len, inner) = split(x_shape, axis);
    let mut dx = crate::buffer::zeroed(outer * len * inner);
    for o in 0..outer {
        for i in 0..inner {
            let k = argmax[o * inner + i] as usize;
            dx[(o * len + k) * inner + i] = dy.data()[o * inner + i];
        }
    }
    Tensor::new(x_shape, dx)
}
