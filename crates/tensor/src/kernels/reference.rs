//! Reference kernels: the definitions, written as plainly as possible, accumulating in f64.
//! They are slow and single-threaded on purpose: the tests compare every fast kernel with them.

/// Shape of a convolution: input `[n, cin, h, w]`, weights `[cout, cin, k, k]`, output
/// `[n, cout, ho, wo]` with `ho = (h + 2 pad - k) / stride + 1` (same for `wo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    pub n: usize,
    pub cin: usize,
    pub h: usize,
    pub w: usize,
    pub cout: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

impl ConvShape {
    pub fn ho(&self) -> usize {
        (self.h + 2 * self.pad - self.k) / self.stride + 1
    }
    pub fn wo(&self) -> usize {
        (self.w + 2 * self.pad - self.k) / self.stride + 1
    }

    /// For output row `oy` and kernel row `ky`, the input row it reads, if inside the image.
    fn in_row(&self, oy: usize, ky: usize) -> Option<usize> {
        (oy * self.stride + ky)
            .checked_sub(self.pad)
            .filter(|&y| y < self.h)
    }
    fn in_col(&self, ox: usize, kx: usize) -> Option<usize> {
        (ox * self.stride + kx)
            .checked_sub(self.pad)
            .filter(|&x| x < self.w)
    }
}

/// `y[n, co, oy, ox] = b[co] + sum_{ci, ky, kx} w[co, ci, ky, kx] * x[n, ci, oy*s + ky - p, ox*s + kx - p]`
/// (cross-correlation; positions outside the image read zero).
pub fn conv2d_forward(s: ConvShape, x: &[f32], w: &[f32], b: Option<&[f32]>) -> Vec<f32> {
    let (ho, wo, k) = (s.ho(), s.wo(), s.k);
    let mut y = vec![0.0; s.n * s.cout * ho * wo];
    for n in 0..s.n {
        for co in 0..s.cout {
            for oy in 0..ho {
                for ox in 0..wo {
                    let mut acc = b.map_or(0.0, |b| b[co] as f64);
                    for ci in 0..s.cin {
                        for ky in 0..k {
                            for kx in 0..k {
                                if let (Some(iy), Some(ix)) = (s.in_row(oy, ky), s.in_col(ox, kx)) {
                                    let xv = x[((n * s.cin + ci) * s.h + iy) * s.w + ix];
                                    let wv = w[((co * s.cin + ci) * k + ky) * k + kx];
                                    acc += xv as f64 * wv as f64;
                                }
                            }
                        }
                    }
                    y[((n * s.cout + co) * ho + oy) * wo + ox] = acc as f32;
                }
            }
        }
    }
    y
}

/// Gradient of the convolution with respect to its input: every product
/// `w[co, ci, ky, kx] * x[n, ci, iy, ix]` in the forward sends `dy * w` back to that `x`.
pub fn conv2d_backward_data(s: ConvShape, dy: &[f32], w: &[f32]) -> Vec<f32> {
    let (ho, wo, k) = (s.ho(), s.wo(), s.k);
    let mut dx = vec![0.0f64; s.n * s.cin * s.h * s.w];
    for n in 0..s.n {
        for co in 0..s.cout {
            for oy in 0..ho {
                for ox in 0..wo {
                    let g = dy[((n * s.cout + co) * ho + oy) * wo + ox] as f64;
                    for ci in 0..s.cin {
                        for ky in 0..k {
                            for kx in 0..k {
                                if let (Some(iy), Some(ix)) = (s.in_row(oy, ky), s.in_col(ox, kx)) {
                                    let wv = w[((co * s.cin + ci) * k + ky) * k + kx] as f64;
                                    dx[((n * s.cin + ci) * s.h + iy) * s.w + ix] += g * wv;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    dx.into_iter().map(|v| v as f32).collect()
}

/// Gradient with respect to the weights: `dw[co, ci, ky, kx] = sum over n, oy, ox of
/// dy[n, co, oy, ox] * x[n, ci, iy, ix]` (the input that weight multiplied).
pub fn conv2d_backward_weight(s: ConvShape, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let (ho, wo, k) = (s.ho(), s.wo(), s.k);
    let mut dw = vec![0.0f64; s.cout * s.cin * k * k];
    for n in 0..s.n {
        for co in 0..s.cout {
            for oy in 0..ho {
                for ox in 0..wo {
                    let g = dy[((n * s.cout + co) * ho + oy) * wo + ox] as f64;
                    for ci in 0..s.cin {
                        for ky in 0..k {
                            for kx in 0..k {
                                if let (Some(iy), Some(ix)) = (s.in_row(oy, ky), s.in_col(ox, kx)) {
                                    let xv = x[((n * s.cin + ci) * s.h + iy) * s.w + ix] as f64;
                                    dw[((co * s.cin + ci) * k + ky) * k + kx] += g * xv;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    dw.into_iter().map(|v| v as f32).collect()
}

/// Gradient with respect to the bias: `db[co] = sum over n, oy, ox of dy[n, co, oy, ox]`.
pub fn conv2d_backward_bias(n: usize, cout: usize, dy: &[f32]) -> Vec<f32> {
    let plane = dy.len() / (n * cout).max(1);
    let mut db = vec![0.0f64; cout];
    for (i, chunk) in dy.chunks(plane.max(1)).enumerate() {
        db[i % cout] += chunk.iter().map(|&v| v as f64).sum::<f64>();
    }
    db.into_iter().map(|v| v as f32).collect()
}

/// Dense layer: `y[r, o] = b[o] + sum_i x[r, i] * w[o, i]` for `x` `[rows, inp]`, `w` `[out, inp]`.
pub fn dense_forward(
    rows: usize,
    inp: usize,
    out: usize,
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
) -> Vec<f32> {
    let mut y = vec![0.0; rows * out];
    for r in 0..rows {
        for o in 0..out {
            let mut acc = b.map_or(0.0, |b| b[o] as f64);
            for i in 0..inp {
                acc += x[r * inp + i] as f64 * w[o * inp + i] as f64;
            }
            y[r * out + o] = acc as f32;
        }
    }
    y
}

/// `dx[r, i] = sum_o dy[r, o] * w[o, i]`.
pub fn dense_backward_data(rows: usize, inp: usize, out: usize, dy: &[f32], w: &[f32]) -> Vec<f32> {
    let mut dx = vec![0.0; rows * inp];
    for r in 0..rows {
        for i in 0..inp {
            let mut acc = 0.0f64;
            for o in 0..out {
                acc += dy[r * out + o] as f64 * w[o * inp + i] as f64;
            }
            dx[r * inp + i] = acc as f32;
        }
    }
    dx
}

/// `dw[o, i] = sum_r dy[r, o] * x[r, i]`.
pub fn dense_backward_weight(
    rows: usize,
    inp: usize,
    out: usize,
    x: &[f32],
    dy: &[f32],
) -> Vec<f32> {
    let mut dw = vec![0.0; out * inp];
    for o in 0..out {
        for i in 0..inp {
            let mut acc = 0.0f64;
            for r in 0..rows {
                acc += dy[r * out + o] as f64 * x[r * inp + i] as f64;
            }
            dw[o * inp + i] = acc as f32;
        }
    }
    dw
}
