//! Warp: resample every image plane at positions given by an affine map, with bilinear
//! interpolation and zero outside the image. Feature visualization's random scaling and
//! rotation are warps (so is any zoom, shift or shear).
//!
//! Forward. Output pixel (i, j) reads the input at the real position
//! `(u, v) = (a[0] i + a[1] j + a[2], a[3] i + a[4] j + a[5])` (row, column; pixel centres at
//! whole numbers). With `u0 = floor(u)`, `fu = u - u0` (the same for `v`), bilinear
//! interpolation is a weighted sum of the four neighbours:
//!
//! ```text
//! y[i, j] = (1-fu)(1-fv) x[u0, v0] + (1-fu) fv x[u0, v0+1] + fu (1-fv) x[u0+1, v0] + fu fv x[u0+1, v0+1]
//! ```
//!
//! where a neighbour outside the image counts as 0 (PyTorch's `grid_sample` with
//! `padding_mode="zeros"`).
//!
//! Backward. `y` is linear in `x`: each output pixel adds `weight * x[neighbour]` for four
//! neighbours, so d y[i, j] / d x[neighbour] = weight, and `dx[neighbour]` collects
//! `weight * dy[i, j]` from every output pixel that read it (the same four weights, scattered
//! instead of gathered). The positions do not depend on `x`, so nothing else flows.

use rayon::prelude::*;

use crate::buffer;
use crate::tensor::Tensor;

/// Where output pixel (i, j) reads the input, and the output's size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WarpMap {
    /// `(u, v) = (a[0] i + a[1] j + a[2], a[3] i + a[4] j + a[5])`: input row and column.
    pub a: [f64; 6],
    pub out_h: usize,
    pub out_w: usize,
}

impl WarpMap {
    /// Resizing an `h x w` plane to `out_h x out_w`, corners on corners (PyTorch's
    /// `interpolate(..., mode="bilinear", align_corners=True)`).
    pub fn resize_align_corners(h: usize, w: usize, out_h: usize, out_w: usize) -> WarpMap {
        let ratio = |from: usize, to: usize| {
            if to > 1 {
                (from as f64 - 1.0) / (to as f64 - 1.0)
            } else {
                0.0
            }
        };
        WarpMap {
            a: [ratio(h, out_h), 0.0, 0.0, 0.0, ratio(w, out_w), 0.0],
            out_h,
            out_w,
        }
    }

    /// Rotating an `h x w` plane by `degrees` (counter-clockwise as displayed) about its
    /// centre, keeping its size: output pixel p reads the input at `R(-angle) (p - c) + c`.
    pub fn rotate(h: usize, w: usize, degrees: f64) -> WarpMap {
        let (s, c) = degrees.to_radians().sin_cos();
        let (cu, cv) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
        // Rows grow downwards. Turning the picture counter-clockwise brings its right edge to
        // the top, so the output's top row must read the input's right column:
        // u = cu + c (i - cu) + s (j - cv);  v = cv - s (i - cu) + c (j - cv)
        // (at 90 degrees, output (cu - r, cv) reads input (cu, cv + r)).
        WarpMap {
            a: [c, s, cu - c * cu - s * cv, -s, c, cv + s * cu - c * cv],
            out_h: h,
            out_w: w,
        }
    }

    /// The input position output pixel (i, j) reads.
    pub fn source(&self, i: usize, j: usize) -> (f64, f64) {
        let (i, j) = (i as f64, j as f64);
        let a = &self.a;
        (a[0] * i + a[1] * j + a[2], a[3] * i + a[4] * j + a[5])
    }
}

/// The four neighbours (flat index in an `h x w` plane, weight) that output pixel (i, j) reads;
/// neighbours outside the plane are left out (they count as zero).
fn taps(map: &WarpMap, h: usize, w: usize, i: usize, j: usize) -> [(usize, f32); 4] {
    let (u, v) = map.source(i, j);
    let (u0, v0) = (u.floor(), v.floor());
    let (fu, fv) = ((u - u0) as f32, (v - v0) as f32);
    let mut out = [(0, 0.0); 4];
    for (k, (du, dv, weight)) in [
        (0, 0, (1.0 - fu) * (1.0 - fv)),
        (0, 1, (1.0 - fu) * fv),
        (1, 0, fu * (1.0 - fv)),
        (1, 1, fu * fv),
    ]
    .into_iter()
    .enumerate()
    {
        let (r, c) = (u0 as i64 + du, v0 as i64 + dv);
        if r >= 0 && c >= 0 && (r as usize) < h && (c as usize) < w && weight != 0.0 {
            out[k] = (r as usize * w + c as usize, weight);
        }
    }
    out
}

/// Every output pixel's four taps, in reading order: the same for every plane, so computed
/// once per call instead of once per plane.
fn tap_table(map: &WarpMap, h: usize, w: usize) -> Vec<[(usize, f32); 4]> {
    (0..map.out_h * map.out_w)
        .map(|p| taps(map, h, w, p / map.out_w, p % map.out_w))
        .collect()
}

/// `x` `[N, C, H, W]` -> `[N, C, out_h, out_w]`.
pub fn forward(x: &Tensor, map: &WarpMap) -> Tensor {
    let [n, c, h, w] = x.dims4();
    let (oh, ow) = (map.out_h, map.out_w);
    let table = tap_table(map, h, w);
    let mut y = buffer::zeroed(n * c * oh * ow);
    y.par_chunks_mut((oh * ow).max(1))
        .zip(x.data().par_chunks((h * w).max(1)))
        .for_each(|(plane_y, plane_x)| {
            for (out, taps) in plane_y.iter_mut().zip(&table) {
                *out = taps.iter().map(|&(at, weight)| weight * plane_x[at]).sum();
            }
        });
    Tensor::new(&[n, c, oh, ow], y)
}

/// d loss / d x of [`forward`]: each `dy[i, j]` scattered to the neighbours it was read from.
pub fn backward(x_shape: &[usize], map: &WarpMap, dy: &Tensor) -> Tensor {
    let (h, w) = (x_shape[2], x_shape[3]);
    let (oh, ow) = (map.out_h, map.out_w);
    let table = tap_table(map, h, w);
    let mut dx = buffer::zeroed(x_shape.iter().product());
    // One plane per task: the scatter within a plane runs in a fixed order, so the result does
    // not depend on the number of threads.
    dx.par_chunks_mut((h * w).max(1))
        .zip(dy.data().par_chunks((oh * ow).max(1)))
        .for_each(|(plane_dx, plane_dy)| {
            for (&g, taps) in plane_dy.iter().zip(&table) {
                for &(at, weight) in taps {
                    plane_dx[at] += weight * g;
                }
            }
        });
    Tensor::new(x_shape, dx)
}
