//! Per-feature affine map: `y[n, c, ...] = x[n, c, ...] * scale[c] + shift[c]`, for `x` of
//! shape `[N, C]` or `[N, C, H, W]`. This is an inference-time batch normalisation, folded:
//! `scale = gamma / sqrt(var + eps)`, `shift = beta - mean * scale`.
//!
//! Backward: dy/dx = `scale[c]`, so `dx = dy * scale[c]`. Each `scale[c]` multiplies every
//! `x[n, c, ...]`, so `dscale[c] = sum over n, ... of dy * x`; each `shift[c]` is added to every
//! `y[n, c, ...]`, so `dshift[c] = sum over n, ... of dy`.

use crate::buffer;
use crate::tensor::Tensor;

/// (channels, positions per channel) of `x`, checking the parameters' shapes.
fn dims(x: &Tensor, scale: &Tensor, shift: &Tensor) -> (usize, usize) {
    assert!(
        x.shape().len() >= 2,
        "affine needs [N, C, ...], got {:?}",
        x.shape()
    );
    let c = x.shape()[1];
    assert_eq!(scale.shape(), &[c], "scale shape for {c} features");
    assert_eq!(shift.shape(), &[c], "shift shape for {c} features");
    (c, x.shape()[2..].iter().product())
}

pub fn forward(x: &Tensor, scale: &Tensor, shift: &Tensor) -> Tensor {
    let (c, inner) = dims(x, scale, shift);
    let mut y = buffer::take(x.len());
    for (k, chunk) in x.data().chunks(inner.max(1)).enumerate() {
        let (a, b) = (scale.data()[k % c], shift.data()[k % c]);
        y.extend(chunk.iter().map(|&v| v * a + b));
    }
    Tensor::new(x.shape(), y)
}

/// `(dx, dscale, dshift)`.
pub fn backward(
    x: &Tensor,
    scale: &Tensor,
    shift: &Tensor,
    dy: &Tensor,
) -> (Tensor, Tensor, Tensor) {
    let (c, inner) = dims(x, scale, shift);
    let mut dx = buffer::take(x.len());
    let mut dscale = vec![0.0f64; c];
    let mut dshift = vec![0.0f64; c];
    let chunks = x
        .data()
        .chunks(inner.max(1))
        .zip(dy.data().chunks(inner.max(1)));
    for (k, (xs, gs)) in chunks.enumerate() {
        let a = scale.data()[k % c];
        dx.extend(gs.iter().map(|&g| g * a));
        dscale[k % c] += xs
            .iter()
            .zip(gs)
            .map(|(&x, &g)| x as f64 * g as f64)
            .sum::<f64>();
        dshift[k % c] += gs.iter().map(|&g| g as f64).sum::<f64>();
    }
    let to_f32 = |v: Vec<f64>| Tensor::new(&[c], v.into_iter().map(|v| v as f32).collect());
    (Tensor::new(x.shape(), dx), to_f32(dscale), to_f32(dshift))
}
