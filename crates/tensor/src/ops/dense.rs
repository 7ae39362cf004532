//! Dense (fully connected) layer: `y[r, o] = b[o] + sum_i x[r, i] * w[o, i]`, i.e.
//! `y = x @ w^T + b` with `x` `[rows, in]`, `w` `[out, in]` (PyTorch's layout) and `b` `[out]`.
//!
//! Backward (each `y[r, o]` is a sum of products `x[r, i] * w[o, i]`):
//! - `dx[r, i] = sum_o dy[r, o] * w[o, i]`, i.e. `dx = dy @ w`;
//! - `dw[o, i] = sum_r dy[r, o] * x[r, i]`, i.e. `dw = dy^T @ x`;
//! - `db[o] = sum_r dy[r, o]`.
//!
//! With one row (batch 1) the products are matrix-vector products, which are limited by memory
//! bandwidth, and use the SIMD kernels in `kernels::gemv`; larger batches use GEMM.

use crate::kernels::gemm::{gemm, MatRef};
use crate::kernels::gemv;
use crate::tensor::Tensor;

fn dims(x: &Tensor, w: &Tensor) -> (usize, usize, usize) {
    let [rows, inp] = x.dims2();
    let [out, w_in] = w.dims2();
    assert_eq!(
        inp, w_in,
        "dense: input has {inp} features, weights expect {w_in}"
    );
    (rows, inp, out)
}

pub fn forward(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Tensor {
    let (rows, inp, out) = dims(x, w);
    let bias = b.map(|b| b.data());
    let mut y = vec![0.0; rows * out];
    if rows == 1 {
        gemv::matvec(w.data(), x.data(), bias, &mut y);
    } else {
        if let Some(b) = bias {
            for row in y.chunks_mut(out) {
                row.copy_from_slice(b);
            }
        }
        let a = MatRef::row_major(x.data(), inp);
        let wt = MatRef::transposed(w.data(), inp);
        gemm(rows, inp, out, a, wt, 1.0, &mut y, 0, out, 1);
    }
    Tensor::new(&[rows, out], y)
}

/// Gradients for x and w (`want` = [dx, dw]).
pub struct DenseGrads {
    pub dx: Option<Tensor>,
    pub dw: Option<Tensor>,
}

pub fn backward(x: &Tensor, w: &Tensor, dy: &Tensor, want: [bool; 2]) -> DenseGrads {
    let (rows, inp, out) = dims(x, w);
    let dx = want[0].then(|| {
        let mut dx = vec![0.0; rows * inp];
        if rows == 1 {
            gemv::matvec_transposed(w.data(), dy.data(), &mut dx);
        } else {
            let a = MatRef::row_major(dy.data(), out);
            let b = MatRef::row_major(w.data(), inp);
            gemm(rows, out, inp, a, b, 0.0, &mut dx, 0, inp, 1);
        }
        Tensor::new(x.shape(), dx)
    });
    let dw = want[1].then(|| {
        let mut dw = vec![0.0; out * inp];
        let a = MatRef::transposed(dy.data(), out);
        let b = MatRef::row_major(x.data(), inp);
        gemm(out, rows, inp, a, b, 0.0, &mut dw, 0, inp, 1);
        Tensor::new(w.shape(), dw)
    });
    DenseGrads { dx, dw }
}

pub fn bias_backward(dy: &Tensor) -> Tensor {
    let [rows, out] = dy.dims2();
    let mut db = vec![0.0f64; out];
    for r in 0..rows {
        for (acc, &g) in db.iter_mut().zip(&dy.data()[r * out..(r + 1) * out]) {
            *acc += g as f64;
        }
    }
    Tensor::new(&[out], db.into_iter().map(|v| v as f32).collect())
}
