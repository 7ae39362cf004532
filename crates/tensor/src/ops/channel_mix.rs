//! Channel mix: every pixel's channel vector multiplied by a fixed matrix,
//! `y[n, c, p] = sum_d m[c, d] x[n, d, p]` (`m` is `[C_out, C_in]`). Feature visualization
//! uses it to turn decorrelated colour channels into RGB, and to reorder and scale RGB into a
//! model's input (caffe's BGR x 255).
//!
//! Backward: `y[c]` depends on `x[d]` with weight `m[c, d]`, so `dx[d] = sum_c m[c, d] dy[c]`,
//! the same mix with the transposed matrix.

use crate::buffer;
use crate::tensor::Tensor;

/// `y[n, c, p] = sum_d m[c, d] x[n, d, p]` for `x` `[N, C_in, ...]` and `m` given row by row,
/// `rows` = C_out rows of C_in values.
fn mix(x: &[f32], n: usize, c_in: usize, positions: usize, m: &[f32], rows: usize) -> Vec<f32> {
    let mut y = buffer::zeroed(n * rows * positions);
    for img in 0..n {
        for c in 0..rows {
            let out = &mut y[(img * rows + c) * positions..(img * rows + c + 1) * positions];
            for d in 0..c_in {
                let weight = m[c * c_in + d];
                let input = &x[(img * c_in + d) * positions..(img * c_in + d + 1) * positions];
                for (o, &v) in out.iter_mut().zip(input) {
                    *o += weight * v;
                }
            }
        }
    }
    y
}

/// `x` `[N, C_in, ...]`, `matrix` `[C_out, C_in]` -> `[N, C_out, ...]`.
pub fn forward(x: &Tensor, matrix: &Tensor) -> Tensor {
    let [rows, cols] = matrix.dims2();
    assert_eq!(
        x.shape()[1],
        cols,
        "channel mix of {:?} by a {rows}x{cols} matrix",
        x.shape()
    );
    let n = x.shape()[0];
    let positions = x.shape()[2..].iter().product();
    let mut shape = x.shape().to_vec();
    shape[1] = rows;
    Tensor::new(
        &shape,
        mix(x.data(), n, cols, positions, matrix.data(), rows),
    )
}

/// d loss / d x of [`forward`]: `dy` mixed by the transposed matrix.
pub fn backward(x_shape: &[usize], matrix: &Tensor, dy: &Tensor) -> Tensor {
    let [rows, cols] = matrix.dims2();
    let mut transposed = vec![0.0; rows * cols];
    for c in 0..rows {
        for d in 0..cols {
            transposed[d * rows + c] = matrix.data()[c * cols + d];
        }
    }
    let positions = x_shape[2..].iter().product();
    Tensor::new(
        x_shape,
        mix(dy.data(), x_shape[0], rows, positions, &transposed, cols),
    )
}
