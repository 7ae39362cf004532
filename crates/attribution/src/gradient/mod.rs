//! Attributions in the model's input space: one value per input value, `[N, 3, H, W]`,
//! signed. They answer "which pixels (of which colour channel) move the class score?".
//!
//! - [`saliency`]: the gradient itself, `d score / d x` (Simonyan et al. 2014), and
//!   gradient x input (Shrikumar et al. 2016): both one backward;
//! - [`integrated`]: integrated gradients (Sundararajan et al. 2017), gradients averaged on the
//!   straight path from a baseline to the image;
//! - [`noise`]: SmoothGrad and its variants, gradients averaged over noisy copies;
//! - guided backpropagation and deconvnet ([`saliency`] with another ReLU rule, see
//!   `tensor::ops::relu`), and guided Grad-CAM (guided backprop times the Grad-CAM map);
//! - [`occlusion`]: no gradient at all, the score's drop when a window is hidden.
//!
//! The many-pass methods build their inputs one batch at a time ([`crate::batched`]).

pub mod integrated;
pub mod noise;
pub mod occlusion;
pub mod saliency;

use tensor::Tensor;
use vgg16::{Error, Result, Vgg16};

use crate::target::{resolve_classes, Score};

/// The input-space methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GradientMethod {
    Saliency,
    InputXGradient,
    IntegratedGradients,
    SmoothGrad,
    SmoothGradSq,
    VarGrad,
    GuidedBackprop,
    Deconvnet,
    GuidedGradCam,
    Occlusion,
}

/// The reference point of integrated gradients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Baseline {
    /// All zeros in the model's input space (captum's default; for caffe preprocessing the
    /// mean colour).
    #[default]
    Zero,
    /// A black image, preprocessed.
    Black,
    /// The image blurred with an 11 x 11 Gaussian (sigma 5, zero padding): no edges, same
    /// colours.
    Blur,
}

/// Options of the input-space methods (each uses the ones it needs).
#[derive(Clone, Copy, Debug)]
pub struct GradientOptions {
    pub score: Score,
    /// Rows per forward/backward pass.
    pub batch: usize,
    /// Integrated gradients: Gauss-Legendre nodes (captum: 50).
    pub steps: usize,
    pub baseline: Baseline,
    /// SmoothGrad: noisy copies per image.
    pub samples: usize,
    /// SmoothGrad: the noise's standard deviation as a fraction of each image's value range.
    pub noise: f32,
    pub seed: u64,
    /// Occlusion: square window side and stride, in pixels.
    pub window: usize,
    pub stride: usize,
    /// Guided Grad-CAM: the layer of the Grad-CAM factor.
    pub layer: usize,
}

/// What an input-space method computes.
pub struct GradientAttribution {
    pub classes: Vec<usize>,
    /// `[N, classes]` of the unchanged input.
    pub logits: Tensor,
    pub probabilities: Tensor,
    /// `[N, 3, H, W]`, signed.
    pub map: Tensor,
}

/// Runs `method` on the preprocessed batch `input` `[N, 3, H, W]`; `classes` one per image or
/// `None` for each image's top-1.
pub fn attribute(
    model: &Vgg16,
    input: &Tensor,
    method: GradientMethod,
    classes: Option<&[usize]>,
    opts: &GradientOptions,
) -> Result<GradientAttribution> {
    use GradientMethod::*;
    crate::capture::require_classifier(model)?;
    if opts.batch == 0 {
        return Err(Error::Invalid("--batch must be at least 1".into()));
    }
    if let Some(&n) = classes.map(|c| c.len()).as_ref() {
        if n != input.shape()[0] {
            return Err(Error::Invalid(format!(
                "{n} classes given for {} images",
                input.shape()[0]
            )));
        }
    }
    // The one-pass methods take their logits from the forward their backward needs.
    let one_pass = match method {
        Saliency | InputXGradient => Some(tensor::ReluRule::Standard),
        GuidedBackprop => Some(tensor::ReluRule::Guided),
        Deconvnet => Some(tensor::ReluRule::Deconvnet),
        _ => None,
    };
    if let Some(rule) = one_pass {
        let (logits, classes, mut map) =
            saliency::gradients_and_logits(model, input, classes, opts.batch, rule, opts.score)?;
        if method == InputXGradient {
            map.data_mut()
                .iter_mut()
                .zip(input.data())
                .for_each(|(g, &x)| *g *= x);
        }
        let probabilities = model.probabilities(&logits);
        return Ok(GradientAttribution {
            classes,
            logits,
            probabilities,
            map,
        });
    }
    let logits = model.logits(input)?;
    let probabilities = model.probabilities(&logits);
    let classes = resolve_classes(&logits, classes)?;
    let map = match method {
        Saliency | InputXGradient | GuidedBackprop | Deconvnet => {
            unreachable!("the one-pass methods returned above")
        }
        GuidedGradCam => saliency::guided_gradcam(model, input, &classes, opts)?,
        IntegratedGradients => integrated::integrated_gradients(model, input, &classes, opts)?,
        SmoothGrad | SmoothGradSq | VarGrad => {
            let kind = match method {
                SmoothGrad => noise::Tunnel::SmoothGrad,
                SmoothGradSq => noise::Tunnel::SmoothGradSq,
                _ => noise::Tunnel::VarGrad,
            };
            noise::smoothgrad(model, input, &classes, kind, opts)?
        }
        Occlusion => {
            let base = crate::target::score_values(model, &logits, &classes, opts.score);
            occlusion::occlusion(model, input, &classes, &base, opts)?
        }
    };
    Ok(GradientAttribution {
        classes,
        logits,
        probabilities,
        map,
    })
}
