//! # attribution: where is the evidence for a class?
//!
//! Twenty ways of asking which parts of an image make VGG16 say "cat", each a short module
//! on top of the tensor engine's forward and backward passes, numerically equal to the
//! libraries people use (pytorch-grad-cam 1.5.7 and captum 0.9; `tools/make_attribution_fixtures.py`
//! makes the references the tests compare with).
//!
//! Two families:
//!
//! - **Class activation maps** ([`cam`]): a coarse map at a convolution layer's resolution
//!   (14 x 14 at block5_conv3), a weighted sum of the layer's channels. Start with
//!   [`gradcam`] (one forward, one backward from the layer on, see [`capture`]); the others
//!   change how channels are weighed: by the gradient's shape (Grad-CAM++, XGrad-CAM,
//!   HiResCAM, LayerCAM), by principal components (Eigen-CAM), or by running the network on
//!   perturbed inputs (Score-CAM, Ablation-CAM).
//! - **Input-space attributions** ([`gradient`]): one signed value per input value
//!   `[N, 3, H, W]`: the gradient itself and its refinements (integrated gradients,
//!   SmoothGrad, guided backpropagation, ...), and occlusion.
//!
//! Everything explains one class per image ([`target`]): its logit by default. Methods that
//! need many passes run them in batches built on the fly ([`batched`]), so memory is bounded
//! by the batch. [`attribute`] runs any method by its [`Method`] (see [`METHODS`] for the
//! names).
//!
//! ## Where we differ from the references, on purpose
//!
//! - Eigen-CAM's sign: the references leave it to LAPACK; we pick the one that correlates
//!   positively with the total activation ([`cam::eigen`]).
//! - `aug_smooth` explains the original image's class in all six runs (pytorch-grad-cam, given
//!   no targets, takes each augmented image's own top class).
//! - Ablation-CAM always zeroes the channel (pytorch-grad-cam uses `min - 1e7` for a layer with
//!   no zero anywhere, which a ReLU or pool output of VGG16 never is).
//! - Occlusion: a pixel no window covers (stride larger than the window) gets 0, not 0/0.
//! - SmoothGrad's noise is a fraction of each image's value range (captum: an absolute
//!   deviation), drawn from our seeded generator.
//! - Faster-Score-CAM (`max_channels`) is not in pytorch-grad-cam.
//! - NaN activations or gradients are not replaced by 0 before the eigen projection, as
//!   pytorch-grad-cam does; they are reported as an error instead.

/// The textbook chapter `docs/gradients-end-to-end.md`: one Grad-CAM backward and one ascent
/// step, node by node (its code blocks run as tests).
#[doc = include_str!("../../../docs/gradients-end-to-end.md")]
pub mod chapter {}

pub mod batched;
pub mod cam;
pub mod capture;
pub mod gradcam;
pub mod gradient;
pub mod linalg;
pub mod method;
pub mod metrics;
pub mod resize;
pub mod target;

pub use cam::{CamMethod, CamOptions, Smooth};
pub use gradient::{Baseline, GradientMethod, GradientOptions};
pub use method::{Method, METHODS};
pub use target::Score;

use tensor::Tensor;
use vgg16::{Error, Result, Vgg16};

/// Every option of every method (each method reads the ones it needs).
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// CAM methods and guided Grad-CAM: the target layer's index.
    pub layer: usize,
    pub score: Score,
    /// CAM methods only.
    pub smooth: Smooth,
    /// Rows per pass for the many-pass methods.
    pub batch: usize,
    /// Score-CAM: only the channels of highest variance.
    pub max_channels: Option<usize>,
    /// Integrated gradients.
    pub steps: usize,
    pub baseline: Baseline,
    /// SmoothGrad family.
    pub samples: usize,
    pub noise: f32,
    pub seed: u64,
    /// Occlusion.
    pub window: usize,
    pub stride: usize,
}

/// Upper bounds that keep a run finite: beyond them a request is a typo, not an experiment.
pub const MAX_STEPS: usize = 10_000;
pub const MAX_SAMPLES: usize = 10_000;

impl Options {
    /// Checks the options before any work is done; errors name the command-line option.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(m));
        if self.batch == 0 {
            return bad("--batch must be at least 1".into());
        }
        if self.max_channels == Some(0) {
            return bad("--max-channels must be at least 1".into());
        }
        if self.steps == 0 || self.steps > MAX_STEPS {
            return bad(format!(
                "--steps must be between 1 and {MAX_STEPS}, not {}",
                self.steps
            ));
        }
        if self.samples == 0 || self.samples > MAX_SAMPLES {
            return bad(format!(
                "--samples must be between 1 and {MAX_SAMPLES}, not {}",
                self.samples
            ));
        }
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return bad(format!(
                "--noise must be a fraction >= 0 of the input range, not {}",
                self.noise
            ));
        }
        if self.window == 0 || self.stride == 0 {
            return bad("--window and --stride must be at least 1".into());
        }
        Ok(())
    }

    /// The defaults of `viz attribute`, at layer `layer`.
    pub fn new(layer: usize) -> Options {
        Options {
            layer,
            score: Score::Logit,
            smooth: Smooth::None,
            batch: 4,
            max_channels: None,
            steps: 50,
            baseline: Baseline::Zero,
            samples: 25,
            noise: 0.15,
            seed: 0,
            window: 32,
            stride: 16,
        }
    }
}

/// What any method computes.
pub struct Attribution {
    pub method: Method,
    pub classes: Vec<usize>,
    /// `[N, classes]` of the input.
    pub logits: Tensor,
    pub probabilities: Tensor,
    /// CAM: `[N, h, w]` after the final ReLU, before normalisation; with `Smooth::Aug`, the
    /// average of six normalised maps at the input size, `[N, H, W]` (see
    /// [`cam::CamAttribution`]). Input space: `[N, 3, H, W]`, signed.
    pub map: Tensor,
    /// Channel weights `[N, K]`, where the method has them.
    pub weights: Option<Tensor>,
    /// CAM: the map as pytorch-grad-cam returns it, `[N, H, W]` in [0, 1].
    pub scaled: Option<Tensor>,
    /// CAM: the target layer's activations and gradients.
    pub activations: Option<Tensor>,
    pub gradients: Option<Tensor>,
}

/// Runs `method` on the preprocessed batch `input` `[N, 3, H, W]` for `classes` (one per
/// image, or `None` for each image's top-1 prediction).
pub fn attribute(
    model: &Vgg16,
    input: &Tensor,
    method: Method,
    classes: Option<&[usize]>,
    opts: &Options,
) -> Result<Attribution> {
    opts.validate()?;
    match method {
        Method::Cam(m) => {
            let c = cam::cam(
                model,
                input,
                m,
                classes,
                &CamOptions {
                    layer: opts.layer,
                    score: opts.score,
                    smooth: opts.smooth,
                    batch: opts.batch,
                    max_channels: opts.max_channels,
                },
            )?;
            Ok(Attribution {
                method,
                classes: c.classes,
                logits: c.logits,
                probabilities: c.probabilities,
                map: c.map,
                weights: c.weights,
                scaled: Some(c.scaled),
                activations: Some(c.activations),
                gradients: Some(c.gradients),
            })
        }
        Method::Gradient(m) => {
            if opts.smooth != Smooth::None {
                return Err(Error::Invalid(format!(
                    "--smooth applies to the CAM methods, not to '{}'",
                    method.name()
                )));
            }
            if m == GradientMethod::GuidedGradCam {
                capture::check_layer(model, opts.layer)?;
            }
            let g = gradient::attribute(
                model,
                input,
                m,
                classes,
                &GradientOptions {
                    score: opts.score,
                    batch: opts.batch,
                    steps: opts.steps,
                    baseline: opts.baseline,
                    samples: opts.samples,
                    noise: opts.noise,
                    seed: opts.seed,
                    window: opts.window,
                    stride: opts.stride,
                    layer: opts.layer,
                },
            )?;
            Ok(Attribution {
                method,
                classes: g.classes,
                logits: g.logits,
                probabilities: g.probabilities,
                map: g.map,
                weights: None,
                scaled: None,
                activations: None,
                gradients: None,
            })
        }
    }
}
