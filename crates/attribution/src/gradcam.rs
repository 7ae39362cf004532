//! Grad-CAM (Selvaraju et al. 2017): where in the image does the evidence for a class lie?
//!
//! 1. Forward the image to the target layer (block5_conv3 by default) and backward from the
//!    class score to it ([`crate::capture`]): activations `A` `[N, K, h, w]` and gradients
//!    `G = dy_c / dA`.
//! 2. `alpha_k = mean over (i, j) of G_k(i, j)`: how much channel k matters, per image.
//! 3. `cam = ReLU(sum_k alpha_k A_k)`, divided by its maximum. A map whose maximum is not
//!    positive (no evidence anywhere) is all zero and reported as such, never NaN.
//!
//! Images in a batch do not interact, so one backward of the sum of the images' scores gives
//! each image its own gradient; alphas are computed per image, never averaged over the batch.
//! The other CAM methods ([`crate::cam`]) change step 2 or 3; this module is the one `viz
//! gradcam` and the demo use.

use tensor::Tensor;
use vgg16::{Result, Vgg16};

use crate::cam::channel_weights::{gradcam_weights, sum_channels, weighted};
use crate::capture::capture;
pub use crate::target::Score;

/// Everything a Grad-CAM run computes.
pub struct GradCam {
    /// Target class of each image.
    pub classes: Vec<usize>,
    /// `[N, classes]`.
    pub logits: Tensor,
    /// `[N, classes]`.
    pub probabilities: Tensor,
    /// The target layer's output `[N, K, h, w]`.
    pub activations: Tensor,
    /// d score / d activations, `[N, K, h, w]`.
    pub gradients: Tensor,
    /// The normalised maps `[N, h, w]`, values in [0, 1].
    pub cams: Tensor,
    /// Per image: true when the map was all zero (no positive evidence).
    pub all_zero: Vec<bool>,
}

/// Runs Grad-CAM for a preprocessed batch `input` `[N, 3, H, W]` at layer `layer` (a
/// convolution or pool before the classifier). `classes`: one per image, or `None` for each
/// image's top-1 prediction.
pub fn grad_cam(
    model: &Vgg16,
    input: &Tensor,
    layer: usize,
    classes: Option<&[usize]>,
    score: Score,
) -> Result<GradCam> {
    let c = capture(model, input, layer, classes, score)?;
    let (cams, all_zero) = cam_from(&c.activations, &c.gradients);
    Ok(GradCam {
        classes: c.classes,
        logits: c.logits,
        probabilities: c.probabilities,
        activations: c.activations,
        gradients: c.gradients,
        cams,
        all_zero,
    })
}

/// `cam[n] = ReLU(sum_k alpha[n, k] A[n, k]) / max`, with `alpha[n, k]` the spatial mean of
/// the gradient (the same steps as `cam::cam` with `CamMethod::GradCam`, then divided by the
/// maximum). Returns the maps `[N, h, w]` and which were all zero.
pub fn cam_from(activations: &Tensor, gradients: &Tensor) -> (Tensor, Vec<bool>) {
    let weights = gradcam_weights(gradients);
    let maps = sum_channels(&weighted(activations, &weights));
    let plane = maps.shape()[1] * maps.shape()[2];
    let mut out = Vec::with_capacity(maps.len());
    let mut all_zero = Vec::new();
    for m in maps.data().chunks(plane) {
        let (normalised, zero) = normalised_by_max(m);
        out.extend(normalised);
        all_zero.push(zero);
    }
    (Tensor::new(maps.shape(), out), all_zero)
}

/// `ReLU(m) / max(m)`, and whether the map was all zero (no positive value, or not finite: then
/// the result is all zero, never NaN).
pub fn normalised_by_max(map: &[f32]) -> (Vec<f32>, bool) {
    let max = map.iter().copied().fold(0.0f32, f32::max);
    if max > 0.0 && max.is_finite() {
        (map.iter().map(|&v| v.max(0.0) / max).collect(), false)
    } else {
        (vec![0.0; map.len()], true)
    }
}
