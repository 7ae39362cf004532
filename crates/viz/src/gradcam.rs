//! Grad-CAM (Selvaraju et al. 2017): where in the image does the evidence for a class lie?
//!
//! 1. Forward the image to the target layer (block5_conv3 by default): activations `A`,
//!    `[N, K, h, w]`, after the layer's ReLU.
//! 2. Continue to the class scores and take the score `y_c` of class `c` for each image: the
//!    logit by default (the paper's choice), or the softmax probability (the book's).
//! 3. Backward from the score to `A` only: `dy_c / dA`. The tape for this backward starts at
//!    the target layer, so nothing before it is differentiated, and the weights are constants.
//! 4. `alpha_k = mean over (i, j) of dy_c / dA_k(i, j)`: how much channel k matters, per image.
//! 5. `cam = ReLU(sum_k alpha_k A_k)`, divided by its maximum. A map whose maximum is not
//!    positive (no evidence anywhere) is all zero and reported as such, never NaN.
//!
//! Images in a batch do not interact, so one backward of the sum of the images' scores gives
//! each image its own gradient; alphas are computed per image, never averaged over the batch.

use tensor::{Graph, Tensor};
use vgg16::{Span, Vgg16, BODY_LEN};

use crate::error::{invalid, Result};

/// Which number to differentiate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Score {
    /// The pre-softmax score (the paper, keras.io): the default.
    Logit,
    /// The softmax probability (Deep Learning with Python, 1st edition).
    Probability,
}

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

/// Runs Grad-CAM for a preprocessed batch `input` `[N, 3, 224, 224]` at layer `layer` (a
/// convolution or pool before the classifier). `classes`: one per image, or `None` for each
/// image's top-1 prediction.
pub fn grad_cam(
    model: &Vgg16,
    input: &Tensor,
    layer: usize,
    classes: Option<&[usize]>,
    score: Score,
) -> Result<GradCam> {
    if !model.has_classifier() {
        return invalid!(
            "Grad-CAM needs the classifier (fc1, fc2, predictions), and these weights are conv-only; \
             get weights/vgg16.safetensors (see weights/README.md) or pass --weights FILE"
        );
    }
    if layer >= BODY_LEN || !model.layers()[layer].module.is_spatial() {
        return invalid!(
            "Grad-CAM needs a convolution or pool layer, not '{}'",
            model.layers()[layer].name
        );
    }
    let n = input.shape()[0];

    // 1. Up to the target layer: no gradient needed, so no tape.
    let mut front = Graph::no_grad();
    let x = front.constant(input.clone());
    let a = model.forward(&mut front, x, Span::to(layer))?;
    let activations = front.value(a).clone();
    drop(front);

    // 2. From the target layer to the scores, on a tape whose only input is A.
    let mut g = Graph::new();
    let a = g.input(activations.clone());
    let logits_var = model.forward_logits(&mut g, a, layer + 1)?;
    let logits = g.value(logits_var).clone();
    let probabilities = model.probabilities(&logits);
    let num_classes = logits.shape()[1];

    let classes: Vec<usize> = match classes {
        Some(c) => {
            if c.len() != n {
                return invalid!("{} classes given for {n} images", c.len());
            }
            if let Some(&bad) = c.iter().find(|&&c| c >= num_classes) {
                return invalid!("class {bad} is outside 0..{}", num_classes - 1);
            }
            c.to_vec()
        }
        None => (0..n)
            .map(|i| {
                let row = &logits.data()[i * num_classes..(i + 1) * num_classes];
                (0..num_classes).fold(0, |best, j| if row[j] > row[best] { j } else { best })
            })
            .collect(),
    };

    // The score: sum over images of score[n, class_n], picked with a one-hot mask.
    let mut mask = vec![0.0; n * num_classes];
    for (i, &c) in classes.iter().enumerate() {
        mask[i * num_classes + c] = 1.0;
    }
    let mask = g.constant(Tensor::new(&[n, num_classes], mask));
    let scores = match score {
        Score::Logit => logits_var,
        Score::Probability => match model.output_activation() {
            vgg16::Activation::Sigmoid => g.sigmoid(logits_var),
            _ => g.softmax(logits_var),
        },
    };
    let picked = g.mul(scores, mask);
    let total = g.sum(picked);

    // 3. Backward to A.
    let grads = g.backward(total);
    let gradients = grads.wrt(a).clone();

    // 4-5. Channel weights and the map, per image.
    let (cams, all_zero) = cam_from(&activations, &gradients);
    Ok(GradCam {
        classes,
        logits,
        probabilities,
        activations,
        gradients,
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
