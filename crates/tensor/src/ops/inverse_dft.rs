//! The inverse real 2-D Fourier transform (`numpy.fft.irfft2` / `torch.fft.irfftn` with
//! `norm="ortho"`): an image from its half spectrum. Feature visualization optimises the
//! spectrum instead of the pixels (see the `featureviz` crate for why).
//!
//! Input `[N, C, H, Wf, 2]`: for each plane the coefficients `X[ky, kx]` (real, imaginary) of
//! the frequencies `ky` in `0..H` and `kx` in `0..Wf` with `Wf = W / 2 + 1`; the other half of
//! the spectrum is the mirror image (a real image's spectrum is Hermitian) and is not stored.
//! Output `[N, C, H, W]`:
//!
//! ```text
//! y[r, s] = 1/sqrt(H W) sum_ky sum_kx c_kx Re(X[ky, kx] e^{2 pi i (ky r / H + kx s / W)})
//!         = 1/sqrt(H W) sum_ky sum_kx c_kx (Xr cos(a + b) - Xi sin(a + b)),
//!   a = 2 pi ky r / H,  b = 2 pi kx s / W,
//! ```
//!
//! where `c_kx = 2` counts each stored column once for itself and once for its mirror, except
//! `kx = 0` and, for even `W`, `kx = W / 2`, which are their own mirrors (`c = 1`; as in
//! pocketfft, their imaginary parts still act through the sum over `ky`).
//!
//! Fast path: the sum separates. First along the columns, with `Cw[kx, s] = c_kx cos(b) /
//! sqrt(HW)` and `Sw[kx, s] = c_kx sin(b) / sqrt(HW)`:
//! `Ar = Xr Cw - Xi Sw`, `Ai = Xr Sw + Xi Cw` (the complex product `X e^{ib}`), then along the
//! rows with `Ch[r, ky] = cos(a)`, `Sh[r, ky] = sin(a)`: `y = Ch Ar - Sh Ai` (the real part of
//! `e^{ia} (Ar + i Ai)`). Six small matrix products per plane instead of a four-fold loop, on
//! tables computed once per size. Measured in the lucid recipe (8 pictures x 3 channels of
//! 128 px): 5.4 ms forward and about as much backward, some 3 % of a 340 ms step, so an FFT
//! crate would buy little here.
//!
//! Backward: the map is linear, so the gradient is its transpose applied to `dy`, in reverse
//! order: `dAr = Ch^T dy`, `dAi = -Sh^T dy`, then `dXr = dAr Cw^T + dAi Sw^T`,
//! `dXi = -dAr Sw^T + dAi Cw^T`.

use std::f64::consts::PI;

use rayon::prelude::*;

use crate::buffer;
use crate::kernels::gemm::{gemm, MatRef};
use crate::tensor::Tensor;

/// The cosine and sine tables of one `H x W` transform (the sines also negated, so every
/// product below is a plain `c = a b + beta c`).
#[derive(Clone, Debug)]
pub struct DftTables {
    pub h: usize,
    pub w: usize,
    /// `W / 2 + 1`.
    pub wf: usize,
    cos_w: Vec<f32>,
    sin_w: Vec<f32>,
    neg_sin_w: Vec<f32>,
    cos_h: Vec<f32>,
    neg_sin_h: Vec<f32>,
}

/// `cos` and `sin` of `2 pi k n / len`, with `k n` reduced modulo `len` first (exact angles).
fn turn(k: usize, n: usize, len: usize) -> (f64, f64) {
    let angle = 2.0 * PI * ((k * n) % len) as f64 / len as f64;
    (angle.cos(), angle.sin())
}

/// `c_kx`: 1 for the columns that are their own mirror image, 2 for the others.
fn multiplicity(kx: usize, w: usize) -> f64 {
    if kx == 0 || (w.is_multiple_of(2) && kx == w / 2) {
        1.0
    } else {
        2.0
    }
}

impl DftTables {
    pub fn new(h: usize, w: usize) -> DftTables {
        let wf = w / 2 + 1;
        let norm = 1.0 / ((h * w) as f64).sqrt();
        let (mut cos_w, mut sin_w) = (vec![0.0; wf * w], vec![0.0; wf * w]);
        for kx in 0..wf {
            for s in 0..w {
                let (c, sn) = turn(kx, s, w);
                let m = multiplicity(kx, w) * norm;
                cos_w[kx * w + s] = (m * c) as f32;
                sin_w[kx * w + s] = (m * sn) as f32;
            }
        }
        let (mut cos_h, mut sin_h) = (vec![0.0; h * h], vec![0.0; h * h]);
        for r in 0..h {
            for ky in 0..h {
                let (c, sn) = turn(ky, r, h);
                cos_h[r * h + ky] = c as f32;
                sin_h[r * h + ky] = sn as f32;
            }
        }
        let negated = |v: &[f32]| v.iter().map(|x| -x).collect::<Vec<f32>>();
        DftTables {
            h,
            w,
            wf,
            neg_sin_w: negated(&sin_w),
            neg_sin_h: negated(&sin_h),
            cos_w,
            sin_w,
            cos_h,
        }
    }
}

/// The real (`part` 0) or imaginary (`part` 1) parts of an interleaved `[H, Wf, 2]` plane as
/// an `H x Wf` matrix: stride 2 along a row.
fn part_of(plane: &[f32], wf: usize, part: usize) -> MatRef<'_> {
    MatRef {
        data: plane,
        offset: part,
        row_stride: 2 * wf,
        col_stride: 2,
    }
}

/// A row-major matrix with `n` columns.
fn rows(m: &[f32], n: usize) -> MatRef<'_> {
    MatRef::row_major(m, n)
}

/// The transpose of a row-major matrix with `n` columns.
fn cols(m: &[f32], n: usize) -> MatRef<'_> {
    MatRef::transposed(m, n)
}

/// `c = a b + beta c` for an `m x k` times `k x n` product into a dense row-major `c`.
fn product(m: usize, k: usize, n: usize, a: MatRef, b: MatRef, beta: f32, c: &mut [f32]) {
    gemm(m, k, n, a, b, beta, c, 0, n, 1);
}

/// `[N, C, H, Wf, 2]` -> `[N, C, H, W]`.
pub fn forward(x: &Tensor, t: &DftTables) -> Tensor {
    let (h, w, wf) = (t.h, t.w, t.wf);
    let shape = x.shape();
    assert_eq!(
        &shape[2..],
        &[h, wf, 2],
        "inverse DFT of {shape:?} to {h}x{w}"
    );
    let planes = shape[0] * shape[1];
    let mut y = buffer::zeroed(planes * h * w);
    y.par_chunks_mut(h * w)
        .zip(x.data().par_chunks(h * wf * 2))
        .for_each(|(out, plane)| {
            let (xr, xi) = (part_of(plane, wf, 0), part_of(plane, wf, 1));
            let (mut ar, mut ai) = (vec![0.0; h * w], vec![0.0; h * w]);
            // Along the columns: (Ar + i Ai) = (Xr + i Xi)(Cw + i Sw).
            product(h, wf, w, xr, rows(&t.cos_w, w), 0.0, &mut ar);
            product(h, wf, w, xi, rows(&t.neg_sin_w, w), 1.0, &mut ar);
            product(h, wf, w, xr, rows(&t.sin_w, w), 0.0, &mut ai);
            product(h, wf, w, xi, rows(&t.cos_w, w), 1.0, &mut ai);
            // Along the rows, keeping the real part: y = Ch Ar - Sh Ai.
            product(h, h, w, rows(&t.cos_h, h), rows(&ar, w), 0.0, out);
            product(h, h, w, rows(&t.neg_sin_h, h), rows(&ai, w), 1.0, out);
        });
    Tensor::new(&[shape[0], shape[1], h, w], y)
}

/// d loss / d x of [`forward`]: the transposed map applied to `dy` `[N, C, H, W]`.
pub fn backward(x_shape: &[usize], t: &DftTables, dy: &Tensor) -> Tensor {
    let (h, w, wf) = (t.h, t.w, t.wf);
    let mut dx = buffer::zeroed(x_shape.iter().product());
    dx.par_chunks_mut(h * wf * 2)
        .zip(dy.data().par_chunks(h * w))
        .for_each(|(plane, dy)| {
            let (mut dar, mut dai) = (vec![0.0; h * w], vec![0.0; h * w]);
            // dAr = Ch^T dy, dAi = -Sh^T dy.
            product(h, h, w, cols(&t.cos_h, h), rows(dy, w), 0.0, &mut dar);
            product(h, h, w, cols(&t.neg_sin_h, h), rows(dy, w), 0.0, &mut dai);
            // dXr = dAr Cw^T + dAi Sw^T and dXi = -dAr Sw^T + dAi Cw^T, written straight into
            // the interleaved plane (`part` 0: real parts at even positions, 1: imaginary at odd).
            let (dar, dai) = (rows(&dar, w), rows(&dai, w));
            let mut into = |a: MatRef, table: &[f32], beta: f32, part: usize| {
                gemm(h, w, wf, a, cols(table, w), beta, plane, part, 2 * wf, 2);
            };
            into(dar, &t.cos_w, 0.0, 0);
            into(dai, &t.sin_w, 1.0, 0);
            into(dar, &t.neg_sin_w, 0.0, 1);
            into(dai, &t.cos_w, 1.0, 1);
        });
    Tensor::new(x_shape, dx)
}

/// The definition, term by term, in f64: the oracle for [`forward`] in tests.
pub fn reference(x: &Tensor, h: usize, w: usize) -> Tensor {
    let wf = w / 2 + 1;
    let planes = x.shape()[0] * x.shape()[1];
    let norm = 1.0 / ((h * w) as f64).sqrt();
    let mut y = vec![0.0f32; planes * h * w];
    for p in 0..planes {
        let spectrum = &x.data()[p * h * wf * 2..(p + 1) * h * wf * 2];
        for r in 0..h {
            for s in 0..w {
                let mut sum = 0.0f64;
                for ky in 0..h {
                    for kx in 0..wf {
                        let angle = 2.0
                            * PI
                            * (ky as f64 * r as f64 / h as f64 + kx as f64 * s as f64 / w as f64);
                        let (re, im) = (
                            spectrum[(ky * wf + kx) * 2] as f64,
                            spectrum[(ky * wf + kx) * 2 + 1] as f64,
                        );
                        sum += multiplicity(kx, w) * (re * angle.cos() - im * angle.sin());
                    }
                }
                y[(p * h + r) * w + s] = (norm * sum) as f32;
            }
        }
    }
    Tensor::new(&[x.shape()[0], x.shape()[1], h, w], y)
}
