//! 2x2 max-pool with stride 2 over `[N, C, H, W]` (output `[N, C, H/2, W/2]`, odd edges dropped,
//! as PyTorch and Keras do with "valid" pooling).
//!
//! Backward: the output is one of the four inputs of its window, so its gradient goes to that
//! input alone: `dx[argmax] += dy`, zero elsewhere. When several inputs tie for the maximum the
//! first one in row-major order wins (PyTorch's rule), which the forward records in `argmax`.

use rayon::prelude::*;

use crate::buffer;
use crate::tensor::Tensor;

/// Returns the pooled tensor and, for each output, the flat index of its maximum in `x`.
pub fn forward(x: &Tensor) -> (Tensor, buffer::Indices) {
    let [n, c, h, w] = x.dims4();
    let (ho, wo) = (h / 2, w / 2);
    assert!(
        x.len() < u32::MAX as usize,
        "tensor too large for max-pool indices"
    );
    let mut out = buffer::zeroed(n * c * ho * wo);
    let mut argmax = buffer::Indices::zeroed(out.len());
    let xd = x.data();
    let plane_out = (ho * wo).max(1);
    out.par_chunks_mut(plane_out)
        .zip(argmax.par_chunks_mut(plane_out))
        .enumerate()
        .for_each(|(plane, (out, arg))| {
            if ho * wo == 0 {
                return;
            }
            let base = plane * h * w;
            for oy in 0..ho {
                for ox in 0..wo {
                    let mut best = base + (2 * oy) * w + 2 * ox;
                    for (dy, dx) in [(0, 1), (1, 0), (1, 1)] {
                        let i = base + (2 * oy + dy) * w + 2 * ox + dx;
                        // `>` keeps the first maximum; a NaN is propagated like PyTorch does.
                        if xd[i] > xd[best] || xd[i].is_nan() && !xd[best].is_nan() {
                            best = i;
                        }
                    }
                    out[oy * wo + ox] = xd[best];
                    arg[oy * wo + ox] = best as u32;
                }
            }
        });
    (Tensor::new(&[n, c, ho, wo], out), argmax)
}

/// The forward's values alone, for inference (no tape, so no `argmax` to keep): the same
/// numbers as [`forward`], in a loop the compiler can vectorise.
pub fn forward_values(x: &Tensor) -> Tensor {
    let [n, c, h, w] = x.dims4();
    let (ho, wo) = (h / 2, w / 2);
    let mut out = buffer::zeroed(n * c * ho * wo);
    if ho * wo > 0 {
        let xd = x.data();
        out.par_chunks_mut(ho * wo)
            .enumerate()
            .for_each(|(plane, out)| {
                let input = &xd[plane * h * w..][..h * w];
                for (oy, row) in out.chunks_exact_mut(wo).enumerate() {
                    let top = &input[2 * oy * w..][..2 * wo];
                    let bottom = &input[(2 * oy + 1) * w..][..2 * wo];
                    let pairs = top.chunks_exact(2).zip(bottom.chunks_exact(2));
                    for (o, (t, b)) in row.iter_mut().zip(pairs) {
                        *o = max_propagating_nan(
                            max_propagating_nan(t[0], t[1]),
                            max_propagating_nan(b[0], b[1]),
                        );
                    }
                }
            });
    }
    Tensor::new(&[n, c, ho, wo], out)
}

/// The larger of `a` and `b`, NaN when either is NaN (as the forward with indices does).
#[inline(always)]
fn max_propagating_nan(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.max(b)
    }
}

pub fn backward(x_shape: &[usize], argmax: &[u32], dy: &Tensor) -> Tensor {
    let mut dx = buffer::zeroed(x_shape.iter().product());
    let [h, w] = [x_shape[2], x_shape[3]];
    let (plane_in, plane_out) = (h * w, (h / 2) * (w / 2));
    if plane_in == 0 || plane_out == 0 {
        return Tensor::new(x_shape, dx);
    }
    // Each output's maximum lies in the same (image, channel) plane, so planes are independent.
    dx.par_chunks_mut(plane_in)
        .zip(
            argmax
                .par_chunks(plane_out)
                .zip(dy.data().par_chunks(plane_out)),
        )
        .enumerate()
        .for_each(|(plane, (dx, (arg, dy)))| {
            let base = plane * plane_in;
            for (&i, &g) in arg.iter().zip(dy) {
                dx[i as usize - base] += g;
            }
        });
    Tensor::new(x_shape, dx)
}
