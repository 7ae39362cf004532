//! Average drop and increase in confidence (Chattopadhay et al. 2018, Grad-CAM++): show the
//! model only what the map highlights, the preprocessed input multiplied pixel by pixel by the
//! map in [0, 1], and compare the class probability `O` with the original's `Y`:
//!
//! - drop: `max(0, Y - O) / Y` (in %, lower is better: the highlighted part carries the
//!   evidence);
//! - increase: whether `O > Y` (the highlighted part alone is more convincing).
//!
//! As pytorch-grad-cam's `DropInConfidence` / `IncreaseInConfidence`, with the map a CAM
//! method's scaled map or an input-space method's saliency divided by its maximum.

use tensor::Tensor;
use vgg16::Result;

use crate::target::{score_values, Score};

/// Per image: `(drop in %, increased)`.
pub fn confidence_change(
    model: &vgg16::Vgg16,
    input: &Tensor,
    map01: &Tensor,
    classes: &[usize],
) -> Result<Vec<(f32, bool)>> {
    let [_, c, h, w] = input.dims4();
    let plane = h * w;
    let mut masked = input.clone();
    for (img, m) in masked
        .data_mut()
        .chunks_mut(c * plane)
        .zip(map01.data().chunks(plane))
    {
        for channel in img.chunks_mut(plane) {
            channel.iter_mut().zip(m).for_each(|(x, &m)| *x *= m);
        }
    }
    let before = score_values(model, &model.logits(input)?, classes, Score::Probability);
    let after = score_values(model, &model.logits(&masked)?, classes, Score::Probability);
    Ok(before
        .iter()
        .zip(&after)
        .map(|(&y, &o)| (100.0 * (y - o).max(0.0) / y, o > y))
        .collect())
}
