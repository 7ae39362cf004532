//! Parameterisations: what the optimiser actually changes. The picture is a function of the
//! parameters, recorded on the tape, so the gradient reaches the parameters through it.
//!
//! - `Pixel`: one parameter per pixel and colour (lucid's `pixel_image`, start
//!   `N(0, 0.01)`). Every pixel moves on its own, and the gradient of a deep layer is mostly
//!   high frequency, so the picture fills with fine noise that the network likes but people do
//!   not recognise.
//! - `Fourier`: the parameters are the picture's spectrum (lucid's `fft_image`). The picture is
//!   its inverse real FFT, each frequency `f` scaled by `1 / max(f, 1 / size)^decay` first, and
//!   divided by 4. A gradient step of the same size on every coefficient then changes the low
//!   frequencies far more than the high ones: the optimiser sees a "whitened" picture and
//!   climbs towards shapes instead of noise (Olah et al., Distill 2017, "Preconditioning").
//!
//! Backward through `Fourier`: `image = irfft2(spectrum * scale) / 4`; each step is linear, so
//! `d spectrum = scale * irfft2^T(d image) / 4` (the inverse DFT's backward is its transpose,
//! see `tensor::ops::inverse_dft`).

use std::sync::Arc;

use tensor::ops::inverse_dft::DftTables;
use tensor::{Graph, Rng, Tensor, Var};

/// The standard deviation of the starting parameters (lucid's `sd`).
pub const START_STD: f32 = 0.01;

/// Lucid's "magic" divisor of the Fourier picture (it keeps the sigmoid from saturating).
const FOURIER_DIVISOR: f32 = 4.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Parameterisation {
    Pixel,
    /// `decay`: the power of the frequency in the scaling (lucid's `decay_power`, 1).
    Fourier {
        decay: f32,
    },
}

/// A batch of pictures as parameters: `values` is what the optimiser changes.
pub struct ImageParam {
    pub kind: Parameterisation,
    pub batch: usize,
    pub size: usize,
    /// `[B, 3, S, S]` for pixels, `[B, 3, S, S/2+1, 2]` (real, imaginary) for Fourier.
    pub values: Tensor,
    /// Fourier only: the frequency scaling, the same shape as `values`, and the DFT tables.
    scale: Option<Tensor>,
    tables: Option<Arc<DftTables>>,
}

/// `numpy.fft.fftfreq(n)[k]`: frequency of coefficient `k` in cycles per pixel, negative for
/// the upper half (they stand for `k - n`).
fn fft_frequency(k: usize, n: usize) -> f64 {
    let signed = if k < n.div_ceil(2) {
        k as f64
    } else {
        k as f64 - n as f64
    };
    signed / n as f64
}

/// `1 / max(|f|, 1/size)^decay` for every stored coefficient of an `S x S` half spectrum.
fn frequency_scale(size: usize, decay: f32) -> Vec<f32> {
    let wf = size / 2 + 1;
    let mut scale = Vec::with_capacity(size * wf);
    for ky in 0..size {
        for kx in 0..wf {
            let (fy, fx) = (fft_frequency(ky, size), kx as f64 / size as f64);
            let f = (fy * fy + fx * fx).sqrt().max(1.0 / size as f64);
            scale.push((1.0 / f.powf(decay as f64)) as f32);
        }
    }
    scale
}

impl ImageParam {
    /// Starting parameters `N(0, START_STD)` from `seed`.
    pub fn new(kind: Parameterisation, batch: usize, size: usize, seed: u64) -> ImageParam {
        let mut rng = Rng::new(seed);
        let shape: Vec<usize> = match kind {
            Parameterisation::Pixel => vec![batch, 3, size, size],
            Parameterisation::Fourier { .. } => vec![batch, 3, size, size / 2 + 1, 2],
        };
        let n = shape.iter().product();
        let values = Tensor::new(&shape, (0..n).map(|_| START_STD * rng.normal()).collect());
        let (scale, tables) = match kind {
            Parameterisation::Pixel => (None, None),
            Parameterisation::Fourier { decay } => {
                // The same scale for real and imaginary parts, every image and channel.
                let per_plane = frequency_scale(size, decay);
                let full: Vec<f32> = (0..batch * 3)
                    .flat_map(|_| per_plane.iter().flat_map(|&s| [s, s]))
                    .collect();
                (
                    Some(Tensor::new(&shape, full)),
                    Some(Arc::new(DftTables::new(size, size))),
                )
            }
        };
        ImageParam {
            kind,
            batch,
            size,
            values,
            scale,
            tables,
        }
    }

    /// Records the picture (decorrelated colour space, before the sigmoid) `[B, 3, S, S]` from
    /// the parameters `p` (a leaf holding `values`).
    pub fn record(&self, g: &mut Graph, p: Var) -> Var {
        match (&self.scale, &self.tables) {
            (Some(scale), Some(tables)) => {
                let scale = g.constant(scale.clone());
                let scaled = g.mul(p, scale);
                let image = g.inverse_real_dft2(scaled, tables);
                g.scale(image, 1.0 / FOURIER_DIVISOR)
            }
            _ => p,
        }
    }
}
