//! Is a feature visualization any good? Three numbers a reader can check on any picture.
//!
//! - Selectivity: does the picture excite *its* filter rather than filters in general? For
//!   pictures of filters `f_0 .. f_n` of one layer, the picture of `f_i` gives each filter a
//!   mean activation (after its ReLU, on the picture as it is, without transforms); the
//!   selectivity of picture `i` is its own filter's divided by the median of the others'.
//! - High-frequency share: the fraction of the picture's spectral power (each channel minus its
//!   mean) at radial frequencies above half the Nyquist frequency (0.25 cycles per pixel).
//!   Noise scores high; shapes score low.
//! - Colourfulness (Hasler & Suesstrunk, 2003): with `rg = R - G` and `yb = (R + G) / 2 - B` on
//!   0..255, `sqrt(var rg + var yb) + 0.3 sqrt(mean rg^2 + mean yb^2)`. Grey scores 0.

use tensor::{Graph, Tensor};
use vgg16::{Preprocessing, Span, Vgg16};

use crate::{color, Result};

/// Per picture: its own filter's mean activation over the median of the other filters'.
/// `rgb` `[B, 3, S, S]` in [0, 1] holds the picture of `filters[i]` at index `i`.
pub fn selectivity(
    model: &Vgg16,
    layer: usize,
    filters: &[usize],
    rgb: &Tensor,
    prep: Preprocessing,
) -> Result<Vec<f32>> {
    let mut g = Graph::no_grad();
    let x = g.constant(rgb.clone());
    let input = color::to_model_input(&mut g, x, prep);
    let act = model.forward(&mut g, input, Span::to(layer))?;
    let [b, c, h, w] = g.value(act).dims4();
    let data = g.value(act).data();
    let mean = |img: usize, f: usize| -> f64 {
        let plane = &data[(img * c + f) * h * w..(img * c + f + 1) * h * w];
        plane.iter().map(|&v| v as f64).sum::<f64>() / (h * w) as f64
    };
    Ok((0..b)
        .map(|i| {
            let own = mean(i, filters[i]);
            let mut others: Vec<f64> = (0..b)
                .filter(|&j| j != i)
                .map(|j| mean(i, filters[j]))
                .collect();
            others.sort_by(f64::total_cmp);
            let median = match others.len() {
                0 => return 1.0,
                n if n % 2 == 1 => others[n / 2],
                n => (others[n / 2 - 1] + others[n / 2]) / 2.0,
            };
            (own / median) as f32
        })
        .collect())
}

/// The discrete Fourier power `|F[ky, kx]|^2` of one `S x S` plane (after removing its mean),
/// by two passes of a direct DFT (in f64; `S^3` work, fine for pictures).
fn power_spectrum(plane: &[f32], s: usize) -> Vec<f64> {
    let mean = plane.iter().map(|&v| v as f64).sum::<f64>() / (s * s) as f64;
    let (cos, sin): (Vec<f64>, Vec<f64>) = (0..s * s)
        .map(|i| {
            let angle = 2.0 * std::f64::consts::PI * ((i / s * (i % s)) % s) as f64 / s as f64;
            (angle.cos(), angle.sin())
        })
        .unzip();
    // Rows: R[y, kx] = sum_x p[y, x] e^{-i 2 pi kx x / s}.
    let (mut rr, mut ri) = (vec![0.0; s * s], vec![0.0; s * s]);
    for y in 0..s {
        for kx in 0..s {
            let (mut a, mut b) = (0.0, 0.0);
            for x in 0..s {
                let v = plane[y * s + x] as f64 - mean;
                a += v * cos[kx * s + x];
                b -= v * sin[kx * s + x];
            }
            rr[y * s + kx] = a;
            ri[y * s + kx] = b;
        }
    }
    // Columns: F[ky, kx] = sum_y R[y, kx] e^{-i 2 pi ky y / s}.
    let mut power = vec![0.0; s * s];
    for ky in 0..s {
        for kx in 0..s {
            let (mut a, mut b) = (0.0, 0.0);
            for y in 0..s {
                let (c, sn) = (cos[ky * s + y], -sin[ky * s + y]);
                a += rr[y * s + kx] * c - ri[y * s + kx] * sn;
                b += rr[y * s + kx] * sn + ri[y * s + kx] * c;
            }
            power[ky * s + kx] = a * a + b * b;
        }
    }
    power
}

/// Per picture of `rgb` `[B, 3, S, S]`: the share of spectral power above 0.25 cycles/pixel.
pub fn high_frequency_share(rgb: &Tensor) -> Vec<f32> {
    let [b, c, h, w] = rgb.dims4();
    assert_eq!(h, w, "square pictures");
    let freq = |k: usize| {
        let signed = if k < h.div_ceil(2) {
            k as f64
        } else {
            k as f64 - h as f64
        };
        signed / h as f64
    };
    (0..b)
        .map(|img| {
            let (mut high, mut total) = (0.0, 0.0);
            for ch in 0..c {
                let plane = &rgb.data()[(img * c + ch) * h * w..(img * c + ch + 1) * h * w];
                let power = power_spectrum(plane, h);
                for ky in 0..h {
                    for kx in 0..w {
                        let r = (freq(ky).powi(2) + freq(kx).powi(2)).sqrt();
                        total += power[ky * w + kx];
                        if r > 0.25 {
                            high += power[ky * w + kx];
                        }
                    }
                }
            }
            if total > 0.0 {
                (high / total) as f32
            } else {
                0.0
            }
        })
        .collect()
}

/// Per picture of `rgb` `[B, 3, S, S]` in [0, 1]: Hasler and Suesstrunk's colourfulness on
/// 0..255.
pub fn colourfulness(rgb: &Tensor) -> Vec<f32> {
    let [b, c, h, w] = rgb.dims4();
    assert_eq!(c, 3, "RGB pictures");
    let n = h * w;
    (0..b)
        .map(|img| {
            let channel = |k: usize| &rgb.data()[(img * 3 + k) * n..(img * 3 + k + 1) * n];
            let (r, g, bl) = (channel(0), channel(1), channel(2));
            let (mut rg, mut yb) = (Vec::with_capacity(n), Vec::with_capacity(n));
            for i in 0..n {
                let (r, g, bl) = (
                    r[i] as f64 * 255.0,
                    g[i] as f64 * 255.0,
                    bl[i] as f64 * 255.0,
                );
                rg.push(r - g);
                yb.push((r + g) / 2.0 - bl);
            }
            let stats = |v: &[f64]| {
                let mean = v.iter().sum::<f64>() / n as f64;
                let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
                (mean, var)
            };
            let ((mrg, vrg), (myb, vyb)) = (stats(&rg), stats(&yb));
            ((vrg + vyb).sqrt() + 0.3 * (mrg * mrg + myb * myb).sqrt()) as f32
        })
        .collect()
}
