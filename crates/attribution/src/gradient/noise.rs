//! SmoothGrad (Smilkov et al. 2017): a gradient map is noisy because the score's gradient
//! jumps from pixel to pixel; averaging the gradients of `S` copies of the image with Gaussian
//! noise added (`x + e_s`, `e_s ~ N(0, sigma^2)`) keeps what is stable. With `g_s` the
//! gradient at copy `s`, per input value (captum's `NoiseTunnel` types):
//!
//! - `smoothgrad`:    `mean_s g_s`
//! - `smoothgrad-sq`: `mean_s g_s^2`
//! - `vargrad`:       `mean_s g_s^2 - (mean_s g_s)^2` (the variance of the gradients)
//!
//! `sigma` is a fraction (`--noise`, the paper's 10-20 %) of each image's value range, and the
//! noise of copy `s` of image `n` comes from a generator seeded by `seed` and its row
//! `n S + s` alone, so a run is reproducible and does not depend on `--batch`.

use tensor::{ReluRule, Rng, Tensor};
use vgg16::{Error, Result, Vgg16};

use super::GradientOptions;
use crate::batched::{gradients_of_rows, Rows};

/// Which statistic of the noisy gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tunnel {
    SmoothGrad,
    SmoothGradSq,
    VarGrad,
}

/// SmoothGrad (or a variant) with seeded Gaussian noise.
pub fn smoothgrad(
    model: &Vgg16,
    input: &Tensor,
    classes: &[usize],
    kind: Tunnel,
    opts: &GradientOptions,
) -> Result<Tensor> {
    if opts.samples == 0 {
        return Err(Error::Invalid("--samples must be at least 1".into()));
    }
    if !(opts.noise.is_finite() && opts.noise >= 0.0) {
        return Err(Error::Invalid(format!(
            "--noise must be a fraction >= 0 of the input range, not {}",
            opts.noise
        )));
    }
    let [_, c, h, w] = input.dims4();
    let len = c * h * w;
    let sigmas: Vec<f32> = input
        .data()
        .chunks(len)
        .map(|x| {
            let (lo, hi) = x
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                });
            opts.noise * (hi - lo)
        })
        .collect();
    let (seed, samples) = (opts.seed, opts.samples);
    let add_noise = |r: usize, row: &mut [f32]| {
        let mut rng = Rng::new(seed ^ (r as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
        let sigma = sigmas[r / samples];
        row.iter_mut().for_each(|v| *v = sigma * rng.normal());
    };
    noise_tunnel(model, input, classes, kind, opts, &add_noise)
}

/// The noise tunnel with given noise: `noise(r, row)` writes the noise of row `r` (copy
/// `r % S` of image `r / S`, captum's order) into `row`.
pub fn noise_tunnel(
    model: &Vgg16,
    input: &Tensor,
    classes: &[usize],
    kind: Tunnel,
    opts: &GradientOptions,
    noise: &(dyn Fn(usize, &mut [f32]) + Sync),
) -> Result<Tensor> {
    let [n, c, h, w] = input.dims4();
    let (len, samples) = (c * h * w, opts.samples);
    let make_row = |r: usize, row: &mut [f32]| {
        noise(r, row);
        let x = &input.data()[(r / samples) * len..(r / samples + 1) * len];
        row.iter_mut().zip(x).for_each(|(v, &x)| *v += x);
    };
    let class_of_row = |r: usize| classes[r / samples];
    let rows = Rows {
        count: n * samples,
        shape: &[c, h, w],
        batch: opts.batch,
        class_of_row: &class_of_row,
    };
    let mut sum = vec![0.0f64; n * len];
    let mut sum_sq = vec![0.0f64; n * len];
    gradients_of_rows(
        model,
        &rows,
        &make_row,
        ReluRule::Standard,
        opts.score,
        &mut |r, g| {
            let img = r / samples;
            let range = img * len..(img + 1) * len;
            for ((s, q), &g) in sum[range.clone()].iter_mut().zip(&mut sum_sq[range]).zip(g) {
                *s += g as f64;
                *q += g as f64 * g as f64;
            }
        },
    )?;
    let s = samples as f64;
    let map = sum
        .iter()
        .zip(&sum_sq)
        .map(|(&sum, &sq)| {
            let (mean, mean_sq) = (sum / s, sq / s);
            (match kind {
                Tunnel::SmoothGrad => mean,
                Tunnel::SmoothGradSq => mean_sq,
                Tunnel::VarGrad => mean_sq - mean * mean,
            }) as f32
        })
        .collect();
    Ok(Tensor::new(&[n, c, h, w], map))
}
