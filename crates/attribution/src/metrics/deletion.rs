//! Deletion and insertion (Petsiuk et al. 2018, "RISE"), made exact:
//!
//! - pixels are ranked by the saliency map at the input resolution
//!   ([`super::pixel_saliency`]), most salient first, with a stable sort;
//! - `step` pixels change per point, so an `H x W` input gives `ceil(H W / step) + 1` points, the
//!   first with nothing changed;
//! - **deletion** sets the ranked pixels of the *preprocessed* input to 0 (the mean colour for
//!   caffe preprocessing), all channels together; **insertion** starts from the preprocessed
//!   input blurred per channel (11 x 11 Gaussian, sigma 5, normalised, zero padding) and puts the
//!   ranked pixels back;
//! - the score is the class's probability; the area under each curve is the trapezoid rule over
//!   x in [0, 1] (point `i` at `x = i / (points - 1)`).
//!
//! A map that finds the evidence makes the deletion curve fall fast (small area) and the
//! insertion curve rise fast (large area). The perturbed images of all curves are built one
//! batch at a time from their index ([`crate::batched`]), so memory is bounded by `batch`.
//! (Nothing of the unperturbed forward can be reused: changing pixels changes the first layer
//! already, and through its 3 x 3 windows everything after it. Ablation-CAM, which perturbs a
//! layer, does start from that layer.)

use tensor::Tensor;
use vgg16::{Error, Result, Vgg16};

use super::rank_of_pixels;
use crate::batched::{scores_of_rows, Rows};
use crate::gradient::integrated::gaussian_blur;
use crate::target::Score;

/// Both curves of every image.
pub struct Curves {
    /// `[N, points]`: the class probability after deleting `i * step` pixels.
    pub deletion: Tensor,
    /// `[N, points]`: after inserting `i * step` pixels into the blurred image.
    pub insertion: Tensor,
    pub deletion_auc: Vec<f32>,
    pub insertion_auc: Vec<f32>,
}

/// Number of points of a curve over `pixels` pixels changed `step` at a time.
pub fn points(pixels: usize, step: usize) -> usize {
    pixels.div_ceil(step) + 1
}

/// The area under `curve` by the trapezoid rule, its points evenly spread over [0, 1].
pub fn auc(curve: &[f32]) -> f32 {
    if curve.len() < 2 {
        return curve.first().copied().unwrap_or(0.0);
    }
    let dx = 1.0 / (curve.len() - 1) as f64;
    let area: f64 = curve
        .windows(2)
        .map(|p| (p[0] as f64 + p[1] as f64) / 2.0 * dx)
        .sum();
    area as f32
}

/// The preprocessed input blurred per channel: insertion's starting point.
pub fn blurred(input: &Tensor) -> Tensor {
    let [_, _, h, w] = input.dims4();
    let mut b = input.clone();
    for plane in b.data_mut().chunks_mut(h * w) {
        gaussian_blur(plane, h, w, 5, 5.0);
    }
    b
}

/// Deletion and insertion curves of `input` `[N, 3, H, W]` for `classes`, pixels ranked by
/// `saliency` `[N, H, W]`, scored by `model`'s class probability in batches of `batch`.
pub fn deletion_insertion(
    model: &Vgg16,
    input: &Tensor,
    saliency: &Tensor,
    classes: &[usize],
    step: usize,
    batch: usize,
) -> Result<Curves> {
    let n = input.shape()[0];
    if classes.len() != n {
        return Err(Error::Invalid(format!(
            "{} classes given for {n} images",
            classes.len()
        )));
    }
    curves_with(input, saliency, step, &mut |count, shape, make_row| {
        let rows_per_image = count / n;
        let class_of_row = |r: usize| classes[r / rows_per_image];
        let rows = Rows {
            count,
            shape,
            batch,
            class_of_row: &class_of_row,
        };
        scores_of_rows(model, 0, &rows, make_row, Score::Probability)
    })
}

/// The scores of `count` rows of `shape`, each built by `make_row(index, values)`.
pub type Scorer<'a> =
    dyn FnMut(usize, &[usize], &(dyn Fn(usize, &mut [f32]) + Sync)) -> Result<Vec<f32>> + 'a;

/// The curves with any scorer (the model, or a function computable by hand in the tests).
/// Rows are ordered image by image, each image's deletion points then its insertion points.
pub fn curves_with(
    input: &Tensor,
    saliency: &Tensor,
    step: usize,
    score: &mut Scorer,
) -> Result<Curves> {
    let [n, c, h, w] = input.dims4();
    if step == 0 {
        return Err(Error::Invalid("--step must be at least 1 pixel".into()));
    }
    if saliency.shape() != [n, h, w] {
        return Err(Error::Invalid(format!(
            "saliency {:?} does not fit the input {:?}",
            saliency.shape(),
            input.shape()
        )));
    }
    let plane = h * w;
    let count = points(plane, step);
    let ranks: Vec<Vec<usize>> = saliency.data().chunks(plane).map(rank_of_pixels).collect();
    let start = blurred(input);
    // Row r: image r / (2 count), deletion for the first `count` of its rows, then insertion.
    let make_row = |r: usize, row: &mut [f32]| {
        let (img, k) = (r / (2 * count), r % (2 * count));
        let (inserting, i) = (k >= count, k % count);
        let changed = (i * step).min(plane);
        let x = &input.data()[img * c * plane..(img + 1) * c * plane];
        let base = if inserting {
            &start.data()[img * c * plane..(img + 1) * c * plane]
        } else {
            x
        };
        row.copy_from_slice(base);
        for (p, &rank) in ranks[img].iter().enumerate() {
            if rank < changed {
                for ch in 0..c {
                    row[ch * plane + p] = if inserting { x[ch * plane + p] } else { 0.0 };
                }
            }
        }
    };
    let scores = score(n * 2 * count, &[c, h, w], &make_row)?;
    let mut deletion = Vec::with_capacity(n * count);
    let mut insertion = Vec::with_capacity(n * count);
    for img in scores.chunks(2 * count) {
        deletion.extend_from_slice(&img[..count]);
        insertion.extend_from_slice(&img[count..]);
    }
    let deletion_auc = deletion.chunks(count).map(auc).collect();
    let insertion_auc = insertion.chunks(count).map(auc).collect();
    Ok(Curves {
        deletion: Tensor::new(&[n, count], deletion),
        insertion: Tensor::new(&[n, count], insertion),
        deletion_auc,
        insertion_auc,
    })
}
