//! Softmax and log-softmax over the last axis.
//!
//! Softmax: `p_i = exp(x_i - m) / sum_j exp(x_j - m)` with `m = max_j x_j` (subtracting the
//! maximum changes nothing mathematically and keeps `exp` from overflowing).
//! Backward: dp_i/dx_j = p_i (delta_ij - p_j), so
//! `dx_j = sum_i dy_i p_i (delta_ij - p_j) = p_j (dy_j - sum_i dy_i p_i)`.
//!
//! Log-softmax: `l_i = x_i - m - log(sum_j exp(x_j - m))`.
//! Backward: dl_i/dx_j = delta_ij - p_j, so `dx_j = dy_j - p_j sum_i dy_i`, with `p = exp(l)`.

use crate::tensor::Tensor;

fn rows(x: &Tensor) -> usize {
    *x.shape().last().expect("softmax of a scalar")
}

pub fn softmax_forward(x: &Tensor) -> Tensor {
    let mut y = x.data().to_vec();
    for row in y.chunks_mut(rows(x).max(1)) {
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut total = 0.0f64;
        for v in row.iter_mut() {
            *v = (*v - m).exp();
            total += *v as f64;
        }
        for v in row.iter_mut() {
            *v = (*v as f64 / total) as f32;
        }
    }
    Tensor::new(x.shape(), y)
}

pub fn softmax_backward(p: &Tensor, dy: &Tensor) -> Tensor {
    let n = rows(p).max(1);
    let mut dx = vec![0.0; p.len()];
    for ((dx, p), dy) in dx
        .chunks_mut(n)
        .zip(p.data().chunks(n))
        .zip(dy.data().chunks(n))
    {
        let dot: f64 = p.iter().zip(dy).map(|(&p, &g)| p as f64 * g as f64).sum();
        for ((dx, &p), &g) in dx.iter_mut().zip(p).zip(dy) {
            *dx = (p as f64 * (g as f64 - dot)) as f32;
        }
    }
    Tensor::new(p.shape(), dx)
}

pub fn log_softmax_forward(x: &Tensor) -> Tensor {
    let mut y = x.data().to_vec();
    for row in y.chunks_mut(rows(x).max(1)) {
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let total: f64 = row.iter().map(|&v| ((v - m) as f64).exp()).sum();
        let log_total = total.ln() as f32;
        for v in row.iter_mut() {
            *v = *v - m - log_total;
        }
    }
    Tensor::new(x.shape(), y)
}

pub fn log_softmax_backward(l: &Tensor, dy: &Tensor) -> Tensor {
    let n = rows(l).max(1);
    let mut dx = vec![0.0; l.len()];
    for ((dx, l), dy) in dx
        .chunks_mut(n)
        .zip(l.data().chunks(n))
        .zip(dy.data().chunks(n))
    {
        let total: f64 = dy.iter().map(|&g| g as f64).sum();
        for ((dx, &l), &g) in dx.iter_mut().zip(l).zip(dy) {
            *dx = (g as f64 - (l as f64).exp() * total) as f32;
        }
    }
    Tensor::new(l.shape(), dx)
}
