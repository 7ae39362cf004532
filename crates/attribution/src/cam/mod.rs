//! Class activation maps: a map over the target layer's `h x w` positions saying where the
//! evidence for a class lies, as a combination of the layer's channels `A_k`.
//!
//! Every method here follows the same three steps:
//! 1. [`crate::capture`]: `A` (after the layer's ReLU) and `G = d score / d A`;
//! 2. per-channel contributions `[N, K, h, w]`: `w_k A_k` for the methods with channel weights
//!    ([`channel_weights`], [`perturbation`]), or a position-wise product (HiResCAM, LayerCAM,
//!    ...);
//! 3. reduce over channels, by the sum (or, for Eigen-CAM and `eigen_smooth`, the projection on
//!    the first principal component, [`eigen`]), then `ReLU`: the `map` `[N, h, w]`.
//!
//! What a person sees is [`postprocess::scale_cam`] of the map: min-max normalised, resized to
//! the input, normalised again (pytorch-grad-cam's `scale_cam_image`).

pub mod channel_weights;
pub mod eigen;
pub mod perturbation;
pub mod postprocess;

use tensor::Tensor;
use vgg16::{Error, Result, Vgg16};

use crate::capture::{capture_with, Capture};
use crate::resize::flip_horizontal;
use crate::target::{score_values, Score};

/// The CAM methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CamMethod {
    GradCam,
    HiResCam,
    GradCamElementwise,
    GradCamPlusPlus,
    XGradCam,
    LayerCam,
    EigenCam,
    EigenGradCam,
    ScoreCam,
    AblationCam,
}

impl CamMethod {
    /// Whether the method uses `G` (Eigen-CAM, Score-CAM and Ablation-CAM do not).
    pub fn needs_gradients(self) -> bool {
        use CamMethod::*;
        !matches!(self, EigenCam | ScoreCam | AblationCam)
    }

    /// Whether the method weighs whole channels (and so has `weights` `[N, K]`).
    pub fn has_channel_weights(self) -> bool {
        use CamMethod::*;
        matches!(
            self,
            GradCam | GradCamPlusPlus | XGradCam | ScoreCam | AblationCam
        )
    }
}

/// pytorch-grad-cam's two smoothings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Smooth {
    #[default]
    None,
    /// `aug_smooth`: the map of the image flipped or not, times 0.9, 1 and 1.1 (six runs), each
    /// normalised at the input size and unflipped, averaged. All six explain the original
    /// image's class (pytorch-grad-cam without targets takes each run's own top class).
    Aug,
    /// `eigen_smooth`: reduce the contributions by their first principal component instead of
    /// their sum.
    Eigen,
}

/// How to run a CAM method.
#[derive(Clone, Copy, Debug)]
pub struct CamOptions {
    /// The target layer's index in the model.
    pub layer: usize,
    pub score: Score,
    pub smooth: Smooth,
    /// Variants per forward for Score-CAM and Ablation-CAM.
    pub batch: usize,
    /// Score-CAM only: score only this many channels (those of highest variance).
    pub max_channels: Option<usize>,
}

/// What a CAM method computes.
pub struct CamAttribution {
    pub classes: Vec<usize>,
    /// `[N, classes]`.
    pub logits: Tensor,
    /// `[N, classes]`.
    pub probabilities: Tensor,
    /// `A` and `G` at the target layer, `[N, K, h, w]`.
    pub activations: Tensor,
    pub gradients: Tensor,
    /// Channel weights `[N, K]`, for the methods that have them (not with `Smooth::Aug`).
    pub weights: Option<Tensor>,
    /// The map after the final ReLU, before any normalisation: `[N, h, w]`. With
    /// `Smooth::Aug`, the average of the six normalised maps at the input size, `[N, H, W]`.
    pub map: Tensor,
    /// What pytorch-grad-cam returns: `[N, H, W]`, each image's values in [0, 1].
    pub scaled: Tensor,
}

/// Runs `method` on the preprocessed batch `input` `[N, 3, H, W]`; `classes` one per image or
/// `None` for each image's top-1.
pub fn cam(
    model: &Vgg16,
    input: &Tensor,
    method: CamMethod,
    classes: Option<&[usize]>,
    opts: &CamOptions,
) -> Result<CamAttribution> {
    if opts.batch == 0 {
        return Err(Error::Invalid("--batch must be at least 1".into()));
    }
    if opts.max_channels == Some(0) {
        return Err(Error::Invalid("--max-channels must be at least 1".into()));
    }
    let captured = capture_with(
        model,
        input,
        opts.layer,
        classes,
        opts.score,
        method.needs_gradients(),
    )?;
    if !(captured.activations.all_finite() && captured.gradients.all_finite()) {
        return Err(Error::Invalid(format!(
            "the activations or gradients at the target layer are not finite (NaN or infinity); \
             the input has values of magnitude up to {}",
            input.data().iter().fold(0.0f32, |m, v| m.max(v.abs()))
        )));
    }
    if opts.smooth == Smooth::Aug {
        return augmentation_smoothing(model, input, method, captured, opts);
    }
    let (weights, contributions) = contributions(model, input, method, &captured, opts)?;
    let eigen = matches!(method, CamMethod::EigenCam | CamMethod::EigenGradCam)
        || opts.smooth == Smooth::Eigen;
    let reduced = if eigen {
        eigen::first_component(&contributions)
    } else {
        channel_weights::sum_channels(&contributions)
    };
    let map = reduced.map(|v| v.max(0.0));
    let [_, _, big_h, big_w] = input.dims4();
    let scaled = postprocess::scale_cam(&map, big_h, big_w);
    Ok(CamAttribution {
        classes: captured.classes,
        logits: captured.logits,
        probabilities: captured.probabilities,
        activations: captured.activations,
        gradients: captured.gradients,
        weights,
        map,
        scaled,
    })
}

/// Step 2: the channel weights (if any) and the contributions `[N, K, h, w]`.
fn contributions(
    model: &Vgg16,
    input: &Tensor,
    method: CamMethod,
    c: &Capture,
    opts: &CamOptions,
) -> Result<(Option<Tensor>, Tensor)> {
    use CamMethod::*;
    let (a, g) = (&c.activations, &c.gradients);
    let weights = match method {
        GradCam => channel_weights::gradcam_weights(g),
        GradCamPlusPlus => channel_weights::gradcam_plus_plus_weights(a, g),
        XGradCam => channel_weights::xgradcam_weights(a, g),
        ScoreCam => perturbation::score_cam_weights(
            model,
            input,
            a,
            &c.classes,
            opts.score,
            opts.batch,
            opts.max_channels,
        )?,
        AblationCam => {
            let base = score_values(model, &c.logits, &c.classes, opts.score);
            perturbation::ablation_weights(
                model, opts.layer, a, &base, &c.classes, opts.score, opts.batch,
            )?
        }
        HiResCam | EigenGradCam => {
            return Ok((None, channel_weights::elementwise(a, g, |a, g| g * a)))
        }
        GradCamElementwise => {
            return Ok((
                None,
                channel_weights::elementwise(a, g, |a, g| (g * a).max(0.0)),
            ))
        }
        LayerCam => {
            return Ok((
                None,
                channel_weights::elementwise(a, g, |a, g| g.max(0.0) * a),
            ))
        }
        EigenCam => return Ok((None, a.clone())),
    };
    let contributions = channel_weights::weighted(a, &weights);
    Ok((Some(weights), contributions))
}

/// pytorch-grad-cam's `aug_smooth`: six runs (no flip / horizontal flip, times 0.9, 1, 1.1 of
/// the preprocessed input), each map normalised at the input size ([`postprocess::scale_cam`])
/// and flipped back, then averaged. The classes are those of the original image for all six.
fn augmentation_smoothing(
    model: &Vgg16,
    input: &Tensor,
    method: CamMethod,
    captured: Capture,
    opts: &CamOptions,
) -> Result<CamAttribution> {
    let [n, _, big_h, big_w] = input.dims4();
    let plain = CamOptions {
        smooth: Smooth::None,
        ..*opts
    };
    let mut sum = vec![0.0f32; n * big_h * big_w];
    let mut runs = 0;
    for flip in [false, true] {
        for factor in [0.9f32, 1.0, 1.1] {
            let mut x = input.map(|v| v * factor);
            if flip {
                flip_horizontal(x.data_mut(), big_w);
            }
            let mut scaled = cam(model, &x, method, Some(&captured.classes), &plain)?.scaled;
            if flip {
                flip_horizontal(scaled.data_mut(), big_w);
            }
            sum.iter_mut()
                .zip(scaled.data())
                .for_each(|(s, &v)| *s += v);
            runs += 1;
        }
    }
    let map = Tensor::new(
        &[n, big_h, big_w],
        sum.into_iter().map(|s| s / runs as f32).collect(),
    );
    Ok(CamAttribution {
        classes: captured.classes,
        logits: captured.logits,
        probabilities: captured.probabilities,
        activations: captured.activations,
        gradients: captured.gradients,
        weights: None,
        scaled: map.clone(),
        map,
    })
}
