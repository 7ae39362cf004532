//! Matrix-vector products for batch-1 dense layers.
//!
//! With one input row, a dense layer reads each weight exactly once and does one multiply-add
//! with it: the time is the time to stream the weights from memory (fc1 alone is 411 MB). So the
//! kernels here read the `[out, in]` weight rows in order, in long contiguous SIMD runs, split
//! over threads by rows of output.

use rayon::prelude::*;

use super::simd::{load_slice, Vf, LANES};

/// Rows of output per parallel task (fixed, so results do not depend on the thread count).
const ROWS_PER_TASK: usize = 16;
/// Columns of the input gradient per parallel task.
const COLS_PER_TASK: usize = 1024;

/// `dot(a, b)` with four independent SIMD accumulators (to hide FMA latency), then the tail.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let n = a.len();
    let mut acc = [Vf::splat(0.0); 4];
    let mut i = 0;
    while i + 4 * LANES <= n {
        for (k, acc) in acc.iter_mut().enumerate() {
            let j = i + k * LANES;
            *acc = load_slice(a, j).mul_add(load_slice(b, j), *acc);
        }
        i += 4 * LANES;
    }
    while i + LANES <= n {
        acc[0] = load_slice(a, i).mul_add(load_slice(b, i), acc[0]);
        i += LANES;
    }
    let mut total = ((acc[0] + acc[1]) + (acc[2] + acc[3])).reduce_add();
    for j in i..n {
        total += a[j] * b[j];
    }
    total
}

/// `y[r] = dot(w[r, :], x) (+ bias[r])` for `w` of shape `[rows, x.len()]`.
pub fn matvec(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let cols = x.len();
    assert_eq!(w.len(), y.len() * cols);
    y.par_chunks_mut(ROWS_PER_TASK)
        .enumerate()
        .for_each(|(task, out)| {
            for (k, o) in out.iter_mut().enumerate() {
                let r = task * ROWS_PER_TASK + k;
                *o = dot(&w[r * cols..(r + 1) * cols], x) + bias.map_or(0.0, |b| b[r]);
            }
        });
}

/// `x_grad[c] = sum_r dy[r] * w[r, c]` (the product with the transposed matrix), split over
/// column ranges so each thread owns its outputs.
pub fn matvec_transposed(w: &[f32], dy: &[f32], x_grad: &mut [f32]) {
    let cols = x_grad.len();
    assert_eq!(w.len(), dy.len() * cols);
    x_grad
        .par_chunks_mut(COLS_PER_TASK)
        .enumerate()
        .for_each(|(task, out)| {
            let c0 = task * COLS_PER_TASK;
            out.fill(0.0);
            let width = out.len();
            for (r, &g) in dy.iter().enumerate() {
                if g == 0.0 {
                    continue;
                }
                let row = &w[r * cols + c0..r * cols + c0 + width];
                let gv = Vf::splat(g);
                let mut i = 0;
                while i + LANES <= width {
                    let acc = load_slice(out, i);
                    let v = gv.mul_add(load_slice(row, i), acc);
                    out[i..i + LANES].copy_from_slice(v.as_array());
                    i += LANES;
                }
                for j in i..width {
                    out[j] += g * row[j];
                }
            }
        });
}
