//! The two CAM methods that need no gradient: they weigh each channel by what the network does
//! when the image (Score-CAM) or the layer (Ablation-CAM) is changed, one forward per channel.
//! Both run their forwards in batches through [`crate::batched`], building each variant from
//! its index, so memory is bounded by `--batch`.
//!
//! **Score-CAM** (Wang et al. 2020): channel k's activation map, upsampled bilinearly to the
//! input size (corners aligned, as PyTorch's `UpsamplingBilinear2d`) and min-max normalised
//! (`(u - min) / (max - min + 1e-8)`), is used as a mask on the *preprocessed* input; the
//! masked image's class score is the channel's evidence. `w = softmax over channels of the
//! scores`. Faster-Score-CAM (`max_channels`) scores only the channels whose activation maps
//! vary most; the others weigh 0 (Faster-Score-CAM, Wang et al. 2020's follow-up; not in
//! pytorch-grad-cam).
//!
//! **Ablation-CAM** (Desai & Ramaswamy 2020): set channel k of `A` to 0 (`A >= 0` after the
//! ReLU, so 0 is "absent") and run the network from the next layer on. A channel matters as
//! much as the score falls without it: `w_k = (s - s_k) / s`. Dividing by `s` is the paper's
//! (and pytorch-grad-cam's) normalisation; it assumes a positive score, so for a class the
//! model gives a negative logit the map shows the opposite, and near 0 it is unstable.

use tensor::Tensor;
use vgg16::{Result, Vgg16};

use crate::batched::{scores_of_rows, Rows};
use crate::resize::{bilinear_with, taps};
use crate::target::Score;

/// Score-CAM's weights `[N, K]` for the preprocessed `input` `[N, 3, H, W]` and the target
/// layer's activations `a` `[N, K, h, w]`.
pub fn score_cam_weights(
    model: &Vgg16,
    input: &Tensor,
    a: &Tensor,
    classes: &[usize],
    score: Score,
    batch: usize,
    max_channels: Option<usize>,
) -> Result<Tensor> {
    let [n, k, h, w] = a.dims4();
    let [_, c, big_h, big_w] = input.dims4();
    let plane = h * w;
    // The channels to score, per image: all, or the `max_channels` of highest variance.
    let chosen: Vec<Vec<usize>> = a
        .data()
        .chunks(k * plane)
        .map(|img| match max_channels {
            Some(m) if m < k => highest_variance(img, k, plane, m),
            _ => (0..k).collect(),
        })
        .collect();
    let pairs: Vec<(usize, usize)> = chosen
        .iter()
        .enumerate()
        .flat_map(|(img, chs)| chs.iter().map(move |&ch| (img, ch)))
        .collect();

    let (ty, tx) = (taps(h, big_h, true), taps(w, big_w, true));
    let big = big_h * big_w;
    let make_row = |r: usize, row: &mut [f32]| {
        let (img, ch) = pairs[r];
        let base = (img * k + ch) * plane;
        // The mask, built in the row's first channel, then normalised.
        let (mask, rest) = row.split_at_mut(big);
        bilinear_with(&a.data()[base..base + plane], w, &ty, &tx, mask);
        let (lo, hi) = mask
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        mask.iter_mut()
            .for_each(|v| *v = (*v - lo) / (hi - lo + 1e-8));
        // The masked image: the other channels first, the mask's own channel last.
        let image = &input.data()[img * c * big..(img + 1) * c * big];
        for (out, x) in rest.chunks_mut(big).zip(image[big..].chunks(big)) {
            for ((o, &x), &m) in out.iter_mut().zip(x).zip(mask.iter()) {
                *o = x * m;
            }
        }
        mask.iter_mut()
            .zip(&image[..big])
            .for_each(|(m, &x)| *m *= x);
    };
    let class_of_row = |r: usize| classes[pairs[r].0];
    let rows = Rows {
        count: pairs.len(),
        shape: &[c, big_h, big_w],
        batch,
        class_of_row: &class_of_row,
    };
    let scores = scores_of_rows(model, 0, &rows, &make_row, score)?;

    // Softmax over each image's scored channels; unscored channels weigh 0.
    let mut weights = vec![0.0f32; n * k];
    let mut r = 0;
    for (img, chs) in chosen.iter().enumerate() {
        let s = &scores[r..r + chs.len()];
        let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let exp: Vec<f64> = s.iter().map(|&v| (v as f64 - max).exp()).collect();
        let total: f64 = exp.iter().sum();
        for (&ch, e) in chs.iter().zip(exp) {
            weights[img * k + ch] = (e / total) as f32;
        }
        r += chs.len();
    }
    Ok(Tensor::new(&[n, k], weights))
}

/// The `m` channels of `img` (`[K, plane]`) whose values vary most (population variance),
/// in channel order; ties go to the lower index.
fn highest_variance(img: &[f32], k: usize, plane: usize, m: usize) -> Vec<usize> {
    let variance: Vec<f64> = img
        .chunks(plane)
        .map(|ch| {
            let mean = ch.iter().map(|&v| v as f64).sum::<f64>() / plane as f64;
            ch.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / plane as f64
        })
        .collect();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&x, &y| variance[y].total_cmp(&variance[x]).then(x.cmp(&y)));
    let mut top = order[..m].to_vec();
    top.sort_unstable();
    top
}

/// Ablation-CAM's weights `[N, K]`: `a` `[N, K, h, w]` is the output of layer `layer`,
/// `base_scores` each image's score without ablation.
pub fn ablation_weights(
    model: &Vgg16,
    layer: usize,
    a: &Tensor,
    base_scores: &[f32],
    classes: &[usize],
    score: Score,
    batch: usize,
) -> Result<Tensor> {
    let [n, k, h, w] = a.dims4();
    let plane = h * w;
    let make_row = |r: usize, row: &mut [f32]| {
        let (img, ch) = (r / k, r % k);
        row.copy_from_slice(&a.data()[img * k * plane..(img + 1) * k * plane]);
        row[ch * plane..(ch + 1) * plane].fill(0.0);
    };
    let class_of_row = |r: usize| classes[r / k];
    // A row is a layer's activations, far smaller than an image, and every pass streams the
    // head's weights (fc1: 400 MB) once: 8 times as many rows per pass as for images.
    let rows = Rows {
        count: n * k,
        shape: &[k, h, w],
        batch: batch * 8,
        class_of_row: &class_of_row,
    };
    let scores = scores_of_rows(model, layer + 1, &rows, &make_row, score)?;
    let weights = scores
        .iter()
        .enumerate()
        .map(|(r, &s)| {
            let s0 = base_scores[r / k];
            (s0 - s) / s0
        })
        .collect();
    Ok(Tensor::new(&[n, k], weights))
}
