//! Objectives: the number each picture's optimisation climbs.
//!
//! - `Channel`: the mean over positions of filter `k`'s output. For the lucid recipe it is
//!   taken before the layer's ReLU (as lucent does on torchvision models): after the ReLU a
//!   filter that is negative everywhere on the starting picture has gradient zero and never
//!   moves ("dead starts"); before it, the gradient always says which way is up.
//! - `Neuron`: the same filter at the centre position only: one unit's receptive field.
//! - `Class`: a class's logit (before softmax), through the classifier: what the network
//!   thinks a class looks like.
//!
//! Every objective is a weighted sum of one tensor, `sum(values * weights)`, with a constant
//! weight tensor that picks what each picture is scored on (the mean is weight `1 / positions`
//! everywhere; the centre neuron is weight 1 at one place). Its backward is just `weights`
//! placed in the gradient, and one backward of the sum over the batch gives each picture the
//! gradient of its own objective (pictures never interact).

use tensor::{Graph, Tensor, Var};
use vgg16::Vgg16;

use crate::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    Channel,
    Neuron,
    Class,
}

impl Objective {
    pub fn name(self) -> &'static str {
        match self {
            Objective::Channel => "channel",
            Objective::Neuron => "neuron",
            Objective::Class => "class",
        }
    }
}

/// What to score: the objective, the layer (ignored for `Class`) and one target per picture
/// (a filter, or a class).
#[derive(Clone, Debug)]
pub struct Target {
    pub objective: Objective,
    pub layer: usize,
    pub targets: Vec<usize>,
    /// Channel and neuron: take the layer's output before its ReLU.
    pub before_relu: bool,
}

/// Records the model from `input` (`[B, 3, H, W]`, preprocessed) and returns (total objective
/// as a scalar, the per-picture values `[B, ...]` whose weighted sums are the objectives).
pub fn record(
    g: &mut Graph,
    model: &Vgg16,
    input: Var,
    target: &Target,
) -> Result<(Var, Vec<f32>)> {
    let (values, weights) = match target.objective {
        Objective::Channel | Objective::Neuron => {
            let relu = (!target.before_relu).then_some(tensor::ReluRule::Standard);
            let act = model.forward_channels_with(g, input, target.layer, &target.targets, relu)?;
            let [b, _, h, w] = g.value(act).dims4();
            let mut weights = vec![0.0; b * h * w];
            for img in 0..b {
                let plane = &mut weights[img * h * w..(img + 1) * h * w];
                if target.objective == Objective::Channel {
                    plane.fill(1.0 / (h * w) as f32);
                } else {
                    plane[(h / 2) * w + w / 2] = 1.0;
                }
            }
            (act, Tensor::new(&[b, 1, h, w], weights))
        }
        Objective::Class => {
            let logits = model.forward_logits(g, input, 0)?;
            let [b, classes] = g.value(logits).dims2();
            let mut weights = vec![0.0; b * classes];
            for (img, &class) in target.targets.iter().enumerate() {
                weights[img * classes + class] = 1.0;
            }
            (logits, Tensor::new(&[b, classes], weights))
        }
    };
    let per_picture = per_picture(g.value(values), &weights);
    let w = g.constant(weights);
    let weighted = g.mul(values, w);
    Ok((g.sum(weighted), per_picture))
}

/// Each picture's objective: the weighted sum over its slice.
fn per_picture(values: &Tensor, weights: &Tensor) -> Vec<f32> {
    let b = values.shape()[0];
    let per = values.len() / b.max(1);
    values
        .data()
        .chunks(per.max(1))
        .zip(weights.data().chunks(per.max(1)))
        .take(b)
        .map(|(v, w)| v.iter().zip(w).map(|(a, b)| (a * b) as f64).sum::<f64>() as f32)
        .collect()
}
