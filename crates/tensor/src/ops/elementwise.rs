//! Elementwise ops on tensors of the same shape.
//!
//! - add: `y = a + b`; dy/da = dy/db = 1, so `da = db = dy` (done in `Graph::backward`).
//! - mul: `y = a * b`; dy/da = b and dy/db = a, so `da = dy * b`, `db = dy * a`.
//! - scale: `y = s * x`; `dx = s * dy` (done in `Graph::backward`).
//! - square: `y = x^2`; dy/dx = 2x, so `dx = 2 x dy`.
//! - sqrt: `y = sqrt(x)`; dy/dx = 1 / (2 sqrt(x)) = 1 / (2y), so `dx = dy / (2y)` (infinite at 0,
//!   as in every framework).

use crate::tensor::Tensor;

fn same_shape(a: &Tensor, b: &Tensor) {
    assert_eq!(a.shape(), b.shape(), "elementwise op on different shapes");
}

fn zip_map(a: &Tensor, b: &Tensor, f: impl Fn(f32, f32) -> f32) -> Tensor {
    same_shape(a, b);
    Tensor::new(
        a.shape(),
        a.data()
            .iter()
            .zip(b.data())
            .map(|(&x, &y)| f(x, y))
            .collect(),
    )
}

pub fn add_forward(a: &Tensor, b: &Tensor) -> Tensor {
    zip_map(a, b, |x, y| x + y)
}

pub fn mul_forward(a: &Tensor, b: &Tensor) -> Tensor {
    zip_map(a, b, |x, y| x * y)
}

pub fn mul_backward(a: &Tensor, b: &Tensor, dy: &Tensor) -> (Tensor, Tensor) {
    (zip_map(dy, b, |g, b| g * b), zip_map(dy, a, |g, a| g * a))
}

pub fn square_backward(x: &Tensor, dy: &Tensor) -> Tensor {
    zip_map(dy, x, |g, x| 2.0 * x * g)
}

pub fn sqrt_backward(y: &Tensor, dy: &Tensor) -> Tensor {
    zip_map(dy, y, |g, y| g / (2.0 * y))
}
