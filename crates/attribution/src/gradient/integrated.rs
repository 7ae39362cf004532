//! Integrated gradients (Sundararajan et al. 2017): the gradient is a poor local summary where
//! the score has flattened out as a function of the input (a class the network is already sure
//! of changes little when one pixel moves, though the pixel matters), so average it along the
//! straight path from a baseline `b`
//! (an input that means "nothing") to the image `x`, and multiply by the distance travelled:
//!
//! ```text
//! IG(x) = (x - b) * integral over a in [0, 1] of  d score / d x  at  b + a (x - b)
//! ```
//!
//! By the fundamental theorem of calculus along the path, the attributions sum to
//! `score(x) - score(b)` ("completeness"). The integral is approximated, as captum does by
//! default, with the Gauss-Legendre rule: `steps` nodes `a_i` and weights `w_i` on [0, 1],
//! exact for polynomials of degree up to `2 steps - 1`.

use tensor::{ReluRule, Tensor};
use vgg16::{Error, Result, Vgg16};

use super::{Baseline, GradientOptions};
use crate::batched::{gradients_of_rows, Rows};

/// Gauss-Legendre nodes and weights on [0, 1], nodes ascending (numpy's `leggauss` mapped by
/// `a = (1 + t) / 2`, `w = w_t / 2`, as captum does). Newton's method on the Legendre
/// polynomial `P_n`, from the classic initial guesses `cos(pi (i + 3/4) / (n + 1/2))`.
pub fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut nodes = Vec::with_capacity(n);
    let mut weights = Vec::with_capacity(n);
    for i in 0..n {
        let mut t = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut derivative = 0.0;
        for _ in 0..100 {
            // P_n(t) and P_{n-1}(t) by the three-term recurrence.
            let (mut p_prev, mut p) = (1.0, t);
            for k in 1..n {
                let next = ((2 * k + 1) as f64 * t * p - k as f64 * p_prev) / (k + 1) as f64;
                p_prev = p;
                p = next;
            }
            derivative = n as f64 * (t * p - p_prev) / (t * t - 1.0);
            let step = p / derivative;
            t -= step;
            if step.abs() < 1e-16 {
                break;
            }
        }
        nodes.push(0.5 * (1.0 + t));
        weights.push(1.0 / ((1.0 - t * t) * derivative * derivative));
    }
    nodes.reverse();
    weights.reverse();
    (nodes, weights)
}

/// The baseline for `input` `[N, 3, H, W]`.
pub fn baseline(model: &Vgg16, input: &Tensor, kind: Baseline) -> Tensor {
    let [_, c, h, w] = input.dims4();
    match kind {
        Baseline::Zero => Tensor::zeros(input.shape()),
        Baseline::Black => {
            let mut b = Tensor::zeros(input.shape());
            for (i, plane) in b.data_mut().chunks_mut(h * w).enumerate() {
                plane.fill(model.preprocessing.encode(i % c, 0.0));
            }
            b
        }
        Baseline::Blur => {
            let mut b = input.clone();
            for plane in b.data_mut().chunks_mut(h * w) {
                gaussian_blur(plane, h, w, 5, 5.0);
            }
            b
        }
    }
}

/// Blurs one `h x w` plane in place with a `(2 r + 1)` square Gaussian of deviation `sigma`,
/// normalised to sum 1, zero outside the image (rows, then columns).
pub fn gaussian_blur(plane: &mut [f32], h: usize, w: usize, r: usize, sigma: f64) {
    let kernel: Vec<f64> = (0..=2 * r)
        .map(|i| (-((i as f64 - r as f64).powi(2)) / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f64 = kernel.iter().sum();
    let kernel: Vec<f64> = kernel.iter().map(|k| k / total).collect();
    let pass =
        |src: &[f32], out: &mut [f32], len: usize, stride: usize, count: usize, step: usize| {
            for line in 0..count {
                for i in 0..len {
                    let mut acc = 0.0f64;
                    for (j, k) in kernel.iter().enumerate() {
                        let pos = i as isize + j as isize - r as isize;
                        if pos >= 0 && (pos as usize) < len {
                            acc += k * src[line * step + pos as usize * stride] as f64;
                        }
                    }
                    out[line * step + i * stride] = acc as f32;
                }
            }
        };
    let mut tmp = vec![0.0f32; h * w];
    pass(plane, &mut tmp, w, 1, h, w); // along rows
    pass(&tmp, plane, h, w, w, 1); // along columns
}

/// Integrated gradients of every image of `input` for its class.
pub fn integrated_gradients(
    model: &Vgg16,
    input: &Tensor,
    classes: &[usize],
    opts: &GradientOptions,
) -> Result<Tensor> {
    if opts.steps == 0 {
        return Err(Error::Invalid("--steps must be at least 1".into()));
    }
    let base = baseline(model, input, opts.baseline);
    let (alphas, weights) = gauss_legendre(opts.steps);
    let [n, c, h, w] = input.dims4();
    let len = c * h * w;
    // Row r is image r % N at node r / N.
    let make_row = |r: usize, row: &mut [f32]| {
        let (alpha, img) = (alphas[r / n] as f32, r % n);
        let x = &input.data()[img * len..(img + 1) * len];
        let b = &base.data()[img * len..(img + 1) * len];
        for ((o, &x), &b) in row.iter_mut().zip(x).zip(b) {
            *o = b + alpha * (x - b);
        }
    };
    let class_of_row = |r: usize| classes[r % n];
    let rows = Rows {
        count: n * opts.steps,
        shape: &[c, h, w],
        batch: opts.batch,
        class_of_row: &class_of_row,
    };
    let mut sum = vec![0.0f64; n * len];
    gradients_of_rows(
        model,
        &rows,
        &make_row,
        ReluRule::Standard,
        opts.score,
        &mut |r, g| {
            let (weight, img) = (weights[r / n], r % n);
            for (s, &g) in sum[img * len..(img + 1) * len].iter_mut().zip(g) {
                *s += weight * g as f64;
            }
        },
    )?;
    let map = sum
        .iter()
        .zip(input.data().iter().zip(base.data()))
        .map(|(&s, (&x, &b))| ((x - b) as f64 * s) as f32)
        .collect();
    Ok(Tensor::new(input.shape(), map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_legendre_integrates_polynomials_exactly() {
        for n in [1, 2, 5, 50] {
            let (a, w) = gauss_legendre(n);
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-13);
            assert!(a.windows(2).all(|p| p[0] < p[1]));
            // integral of x^k over [0, 1] = 1 / (k + 1), exact up to degree 2n - 1
            for k in 0..2 * n {
                let q: f64 = a.iter().zip(&w).map(|(x, w)| w * x.powi(k as i32)).sum();
                assert!((q - 1.0 / (k + 1) as f64).abs() < 1e-12, "n {n} k {k}");
            }
        }
        // numpy.polynomial.legendre.leggauss(3): nodes -sqrt(3/5), 0, sqrt(3/5); weights 5/9, 8/9, 5/9
        let (a, w) = gauss_legendre(3);
        assert!((a[0] - 0.5 * (1.0 - 0.6f64.sqrt())).abs() < 1e-15);
        assert!((w[1] - 4.0 / 9.0).abs() < 1e-15);
    }
}
