//! Colour: from the optimiser's picture to RGB in [0, 1], and from RGB to the model's input,
//! all on the tape.
//!
//! Decorrelation. Neighbouring ImageNet pixels' R, G and B are strongly correlated; lucid
//! optimises in a space where they are not: the picture's three channels are multiplied by the
//! square root of the colour correlation matrix (from ImageNet's statistics, normalised by its
//! largest column norm) to give RGB. A step in the decorrelated space then moves colours the
//! way natural images vary, instead of pushing R, G and B apart into saturated noise.
//! Backward: a fixed 3 x 3 channel mix, so `dx = M^T dy` (see `tensor::ops::channel_mix`).
//!
//! Then a sigmoid maps any value to (0, 1), a valid colour, with `dx = y (1 - y) dy`.
//!
//! Model input. The model wants its own preprocessing (caffe: BGR in 0..255 minus the ImageNet
//! mean; torch: RGB in [0, 1], standardised). Both are affine per channel, so: a channel mix
//! (reorder and scale) and a bias, recorded after the random transforms, exactly as an image
//! file would be preprocessed.

use tensor::{Graph, Tensor, Var};
use vgg16::Preprocessing;

/// Lucid's `color_correlation_svd_sqrt`: rows are R, G, B.
pub const COLOR_CORRELATION_SQRT: [[f32; 3]; 3] =
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]];

/// [`COLOR_CORRELATION_SQRT`] divided by its largest column norm (lucid's
/// `color_correlation_normalized`).
pub fn decorrelation_matrix() -> Tensor {
    let m = COLOR_CORRELATION_SQRT;
    let largest = (0..3)
        .map(|col| {
            (0..3)
                .map(|row| m[row][col] * m[row][col])
                .sum::<f32>()
                .sqrt()
        })
        .fold(0.0, f32::max);
    Tensor::new(&[3, 3], m.iter().flatten().map(|v| v / largest).collect())
}

/// Decorrelated picture `[B, 3, S, S]` -> RGB in (0, 1): `sigmoid(M x)`.
pub fn to_rgb(g: &mut Graph, x: Var, decorrelate: bool) -> Var {
    let mixed = if decorrelate {
        g.channel_mix(x, &decorrelation_matrix())
    } else {
        x
    };
    g.sigmoid(mixed)
}

/// RGB in [0, 1] -> the model's input: `input[c] = a_c * 255 * rgb[source(c)] + b_c`, where
/// `encode(c, v) = a_c v + b_c` is the preprocessing of pixel value `v` in 0..255.
pub fn to_model_input(g: &mut Graph, rgb: Var, prep: Preprocessing) -> Var {
    let source = prep.rgb_index_of_channel();
    let mut matrix = vec![0.0; 9];
    let mut shift = vec![0.0; 3];
    for c in 0..3 {
        let offset = prep.encode(c, 0.0);
        matrix[c * 3 + source[c]] = 255.0 * (prep.encode(c, 1.0) - offset);
        shift[c] = offset;
    }
    let mixed = g.channel_mix(rgb, &Tensor::new(&[3, 3], matrix));
    let b = g.constant(Tensor::new(&[3], shift));
    g.bias_add(mixed, b)
}
