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
/// the gradient. Sums in f64. Returns the maps `[N, h, w]` and which were all zero.
pub fn cam_from(activations: &Tensor, gradients: &Tensor) -> (Tensor, Vec<bool>) {
    let [n, k, h, w] = activations.dims4();
    let plane = h * w;
    let (a, d) = (activations.data(), gradients.data());
    let mut cams = vec![0.0f32; n * plane];
    let mut all_zero = vec![false; n];
    for img in 0..n {
        let mut cam = vec![0.0f64; plane];
        for ch in 0..k {
            let base = (img * k + ch) * plane;
            let alpha: f64 =
                d[base..base + plane].iter().map(|&v| v as f64).sum::<f64>() / plane as f64;
            for (c, &v) in cam.iter_mut().zip(&a[base..base + plane]) {
                *c += alpha * v as f64;
            }
        }
        let max = cam.iter().copied().fold(0.0f64, f64::max);
        if max > 0.0 && max.is_finite() {
            for (out, &c) in cams[img * plane..(img + 1) * plane].iter_mut().zip(&cam) {
                *out = (c.max(0.0) / max) as f32;
            }
        } else {
            all_zero[img] = true;
        }
    }
    (Tensor::new(&[n, h, w], cams), all_zero)
}
