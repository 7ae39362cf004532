//! Elementwise ops on tensors of the same shape.
//!
//! - add: `y = a + b`; dy/da = dy/db = 1, so `da = db = dy`.
//! - mul: `y = a * b`; dy/da = b and dy/db = a, so `da = dy * b`, `db = dy * a`.
//! - div: `y = a / b`; dy/da = 1 / b and dy/db = -a / b^2 = -y / b, so `da = dy / b`,
//!   `db = -dy * y / b`.
//! - scale: `y = s * x`; `dx = s * dy`.
//! - square: `y = x^2`; dy/dx = 2x, so `dx = 2 x dy`.
//! - sqrt: `y = sqrt(x)`; dy/dx = 1 / (2 sqrt(x)) = 1 / (2y), so `dx = dy / (2y)` (infinite at 0,
//!   as in every framework).
//! - sigmoid: `y = 1 / (1 + e^-x)`; dy/dx = e^-x / (1 + e^-x)^2 = y (1 - y), so
//!   `dx = dy * y * (1 - y)` (from the output alone).

use crate::buffer;
use crate::tensor::Tensor;

fn same_shape(a: &Tensor, b: &Tensor) {
    assert_eq!(a.shape(), b.shape(), "elementwise op on different shapes");
}

fn zip_map(a: &Tensor, b: &Tensor, f: impl Fn(f32, f32) -> f32) -> Tensor {
    same_shape(a, b);
    let mut out = buffer::take(a.len());
    out.extend(a.data().iter().zip(b.data()).map(|(&x, &y)| f(x, y)));
    Tensor::new(a.shape(), out)
}

pub fn add_forward(a: &Tensor, b: &Tensor) -> Tensor {
    zip_map(a, b, |x, y| x + y)
}

/// `(da, db)`: both are `dy`.
pub fn add_backward(dy: &Tensor) -> (Tensor, Tensor) {
    (dy.clone(), dy.clone())
}

pub fn mul_forward(a: &Tensor, b: &Tensor) -> Tensor {
    zip_map(a, b, |x, y| x * y)
}

pub fn div_forward(a: &Tensor, b: &Tensor) -> Tensor {
    zip_map(a, b, |x, y| x / y)
}

/// `(da, db)` of `y = a / b`, from `b` and the output `y`.
pub fn div_backward(b: &Tensor, y: &Tensor, dy: &Tensor) -> (Tensor, Tensor) {
    let da = zip_map(dy, b, |g, b| g / b);
    let ratio = zip_map(y, b, |y, b| y / b);
    (da, zip_map(dy, &ratio, |g, r| -g * r))
}

pub fn mul_backward(a: &Tensor, b: &Tensor, dy: &Tensor) -> (Tensor, Tensor) {
    (zip_map(dy, b, |g, b| g * b), zip_map(dy, a, |g, a| g * a))
}

pub fn scale_forward(x: &Tensor, factor: f32) -> Tensor {
    x.map(|v| v * factor)
}

pub fn scale_backward(dy: &Tensor, factor: f32) -> Tensor {
    dy.map(|g| g * factor)
}

pub fn square_forward(x: &Tensor) -> Tensor {
    x.map(|v| v * v)
}

pub fn square_backward(x: &Tensor, dy: &Tensor) -> Tensor {
    zip_map(dy, x, |g, x| 2.0 * x * g)
}

pub fn sqrt_forward(x: &Tensor) -> Tensor {
    x.map(f32::sqrt)
}

pub fn sqrt_backward(y: &Tensor, dy: &Tensor) -> Tensor {
    zip_map(dy, y, |g, y| g / (2.0 * y))
}

pub fn sigmoid_forward(x: &Tensor) -> Tensor {
    x.map(|v| 1.0 / (1.0 + (-v).exp()))
}

pub fn sigmoid_backward(y: &Tensor, dy: &Tensor) -> Tensor {
    zip_map(dy, y, |g, y| g * y * (1.0 - y))
}
