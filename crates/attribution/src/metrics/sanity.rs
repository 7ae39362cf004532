//! Adebayo et al. (2018), "Sanity Checks for Saliency Maps": the cascading model randomisation
//! test. Re-draw the weights of the top layer (the class scores), then of the top two, and so
//! on down to the first convolution, and compute the method's map after each step
//! (`Vgg16::with_random_layers`). An explanation of the model must change as the model is
//! destroyed; one that stays the same shows something else (edges of the image, say).
//!
//! Every stage explains the class the original model predicted, and compares its pixel
//! saliency ([`super::pixel_saliency`]) with the original's: the Spearman rank correlation, and
//! the SSIM of both normalised to [0, 1] ([`super::similarity`]).
//!
//! The verdict (our reading of the paper's criterion, which is visual): a method **passes**
//! when, once the classifier and the last convolution block are re-drawn (the layers that
//! hold what the network knows about classes; down to [`CRITERION_LAYER`]), its map's rank
//! correlation with the original has fallen below [`PASS_BELOW`]. With every layer re-drawn
//! all maps change, so that stage says nothing; the paper's point is that some maps (guided
//! backpropagation's, for instance) barely change while the top layers are destroyed.

use tensor::Tensor;
use vgg16::{Result, Vgg16};

use super::similarity::{spearman, ssim};
use super::{normalised, pixel_saliency};
use crate::{attribute, Method, Options};

/// The rank correlation under which a map counts as changed.
pub const PASS_BELOW: f32 = 0.5;

/// The stage of the verdict: everything above the fourth block re-drawn.
pub const CRITERION_LAYER: &str = "block5_conv1";

/// One stage of the cascade.
pub struct Stage {
    /// The lowest layer re-drawn so far (`None` for the original model).
    pub down_to: Option<String>,
    /// How many layers are re-drawn.
    pub layers: usize,
    /// The pixel saliency of the first image `[H, W]`.
    pub saliency: Tensor,
    pub spearman: f32,
    pub ssim: f32,
}

/// The cascade for the first image of `input` `[1, 3, H, W]`; `on_stage(name)` is called before
/// each stage. The randomised layers are seeded by `seed`.
pub fn cascading_randomization(
    model: &Vgg16,
    input: &Tensor,
    method: Method,
    class: Option<usize>,
    opts: &Options,
    seed: u64,
    on_stage: &mut dyn FnMut(&str),
) -> Result<Vec<Stage>> {
    let [_, _, h, w] = input.dims4();
    let image = Tensor::new(&[1, 3, h, w], input.data()[..3 * h * w].to_vec());
    let layers = model.weighted_layers_top_down();
    let mut stages = Vec::with_capacity(layers.len() + 1);
    on_stage("original");
    let classes = class.map(|c| vec![c]);
    let original = attribute(model, &image, method, classes.as_deref(), opts)?;
    let class = original.classes[0];
    let reference = pixel_saliency(&original, h, w);
    let reference01 = normalised(&reference);
    let mut stage = |down_to: Option<String>, count: usize, saliency: Tensor| {
        let s01 = normalised(&saliency);
        stages.push(Stage {
            down_to,
            layers: count,
            spearman: spearman(reference.data(), saliency.data()),
            ssim: ssim(reference01.data(), s01.data(), h, w),
            saliency: saliency.reshape(&[h, w]),
        });
    };
    stage(None, 0, reference.clone());
    for count in 1..=layers.len() {
        let name = model.layers()[layers[count - 1]].name.clone();
        on_stage(&name);
        let randomized = model.with_random_layers(&layers[..count], seed);
        let a = attribute(&randomized, &image, method, Some(&[class]), opts)?;
        stage(Some(name), count, pixel_saliency(&a, h, w));
    }
    Ok(stages)
}

/// The stage the verdict reads ([`CRITERION_LAYER`]).
pub fn criterion_stage(stages: &[Stage]) -> Option<&Stage> {
    stages
        .iter()
        .find(|s| s.down_to.as_deref() == Some(CRITERION_LAYER))
}

/// Whether the method passes: at the criterion stage, the rank correlation with the original
/// is below [`PASS_BELOW`].
pub fn passes(stages: &[Stage]) -> bool {
    criterion_stage(stages).is_some_and(|s| s.spearman.abs() < PASS_BELOW)
}
