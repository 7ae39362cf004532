//! Pad and crop: the two ends of the same slice. Feature visualization pads its image (with a
//! constant grey) before it jitters it, and jitters by cropping a random window.
//!
//! Pad: `y[n, c, i + p, j + p] = x[n, c, i, j]`, and `value` in the border. The border does not
//! depend on `x`, so backward keeps the inner window of `dy`: `dx = crop(dy)`.
//!
//! Crop: `y[n, c, i, j] = x[n, c, i + top, j + left]` for a `h x w` window. Every `y` is one `x`,
//! so backward puts `dy` back into the window and zero elsewhere: `dx = pad(dy)` with zeros.

use crate::buffer;
use crate::tensor::Tensor;

/// Copies the `h x w` window at (`top`, `left`) of each `[H, W]` plane of `x` into a plane of
/// `y` of size `[H2, W2]` at (`y_top`, `y_left`): the one loop both ops and both directions use.
#[allow(clippy::too_many_arguments)]
fn copy_windows(
    x: &[f32],
    (xh, xw): (usize, usize),
    (top, left): (usize, usize),
    y: &mut [f32],
    (yh, yw): (usize, usize),
    (y_top, y_left): (usize, usize),
    (h, w): (usize, usize),
) {
    let planes = x.len() / (xh * xw).max(1);
    for p in 0..planes {
        for i in 0..h {
            let from = p * xh * xw + (top + i) * xw + left;
            let to = p * yh * yw + (y_top + i) * yw + y_left;
            y[to..to + w].copy_from_slice(&x[from..from + w]);
        }
    }
}

/// `[N, C, H, W]` -> `[N, C, H + 2 pad, W + 2 pad]`, the border filled with `value`.
pub fn pad_forward(x: &Tensor, pad: usize, value: f32) -> Tensor {
    let [n, c, h, w] = x.dims4();
    let (ph, pw) = (h + 2 * pad, w + 2 * pad);
    let mut y = buffer::filled(n * c * ph * pw, value);
    copy_windows(
        x.data(),
        (h, w),
        (0, 0),
        &mut y,
        (ph, pw),
        (pad, pad),
        (h, w),
    );
    Tensor::new(&[n, c, ph, pw], y)
}

/// d loss / d x of [`pad_forward`]: the inner window of `dy`.
pub fn pad_backward(x_shape: &[usize], pad: usize, dy: &Tensor) -> Tensor {
    crop_forward(dy, pad, pad, x_shape[2], x_shape[3])
}

/// The `h x w` window at (`top`, `left`) of every plane of `x` `[N, C, H, W]`.
pub fn crop_forward(x: &Tensor, top: usize, left: usize, h: usize, w: usize) -> Tensor {
    let [n, c, xh, xw] = x.dims4();
    assert!(
        top + h <= xh && left + w <= xw,
        "crop {h}x{w} at ({top}, {left}) of a {xh}x{xw} image"
    );
    let mut y = buffer::zeroed(n * c * h * w);
    copy_windows(
        x.data(),
        (xh, xw),
        (top, left),
        &mut y,
        (h, w),
        (0, 0),
        (h, w),
    );
    Tensor::new(&[n, c, h, w], y)
}

/// d loss / d x of [`crop_forward`]: `dy` in the window, zero elsewhere.
pub fn crop_backward(x_shape: &[usize], top: usize, left: usize, dy: &Tensor) -> Tensor {
    let [_, _, h, w] = dy.dims4();
    let (xh, xw) = (x_shape[2], x_shape[3]);
    let mut dx = buffer::zeroed(x_shape.iter().product());
    copy_windows(
        dy.data(),
        (h, w),
        (0, 0),
        &mut dx,
        (xh, xw),
        (top, left),
        (h, w),
    );
    Tensor::new(x_shape, dx)
}
