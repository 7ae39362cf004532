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
//! - `diversity` (lucid's, optional, for several pictures of one filter): minus the
//!   similarity of the pictures' styles. Each picture's style is the Gram matrix of the layer's
//!   activations after the ReLU, `G = F F^T` over positions (`F` is channels x positions), and
//!   two pictures' similarity is the cosine `<G_i, G_j> / (|G_i| |G_j|)`; the term subtracts
//!   `weight / copies` times the sum of the similarities between the pictures of the same
//!   target, so climbing it pushes them apart. Its backward runs through `dense` (`F F^T`,
//!   whose gradient reaches `F` twice: once as each factor), `square`, `sum`, `sqrt` and `div`.
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
    /// The weight of the diversity term (0: none).
    pub diversity: f32,
}

/// Records the model from `input` (`[B, 3, H, W]`, preprocessed) and returns (total objective
/// as a scalar, the per-picture values `[B, ...]` whose weighted sums are the objectives).
pub fn record(
    g: &mut Graph,
    model: &Vgg16,
    input: Var,
    target: &Target,
) -> Result<(Var, Vec<f32>)> {
    let diverse = target.diversity != 0.0 && target.objective != Objective::Class;
    let (values, weights, after_relu) = match target.objective {
        Objective::Channel | Objective::Neuron if diverse => {
            // The whole layer: the Gram matrices need every channel.
            let pre = model.forward_before_relu(g, input, target.layer)?;
            let post = g.relu(pre);
            let values = if target.before_relu { pre } else { post };
            let [b, c, h, w] = g.value(values).dims4();
            let mut weights = vec![0.0; b * c * h * w];
            for (img, &f) in target.targets.iter().enumerate() {
                let at = (img * c + f) * h * w;
                fill_plane(&mut weights[at..at + h * w], target.objective, h, w);
            }
            (values, Tensor::new(&[b, c, h, w], weights), Some(post))
        }
        Objective::Channel | Objective::Neuron => {
            let relu = (!target.before_relu).then_some(tensor::ReluRule::Standard);
            let act = model.forward_channels_with(g, input, target.layer, &target.targets, relu)?;
            let [b, _, h, w] = g.value(act).dims4();
            let mut weights = vec![0.0; b * h * w];
            for plane in weights.chunks_mut(h * w) {
                fill_plane(plane, target.objective, h, w);
            }
            (act, Tensor::new(&[b, 1, h, w], weights), None)
        }
        Objective::Class => {
            let logits = model.forward_logits(g, input, 0)?;
            let [b, classes] = g.value(logits).dims2();
            let mut weights = vec![0.0; b * classes];
            for (img, &class) in target.targets.iter().enumerate() {
                weights[img * classes + class] = 1.0;
            }
            (logits, Tensor::new(&[b, classes], weights), None)
        }
    };
    let per_picture = per_picture(g.value(values), &weights);
    let w = g.constant(weights);
    let weighted = g.mul(values, w);
    let mut total = g.sum(weighted);
    if let Some(post) = after_relu {
        if let Some(similarity) = style_similarity(g, post, &target.targets) {
            let penalty = g.scale(similarity, -target.diversity);
            total = g.add(total, penalty);
        }
    }
    Ok((total, per_picture))
}

/// The channel objective's weights on one plane (`1 / positions` everywhere), or the
/// neuron's (1 at the centre).
fn fill_plane(plane: &mut [f32], objective: Objective, h: usize, w: usize) {
    if objective == Objective::Neuron {
        plane[(h / 2) * w + w / 2] = 1.0;
    } else {
        plane.fill(1.0 / (h * w) as f32);
    }
}

/// `sum over pairs i != j with the same target of cos(G_i, G_j) / copies`, where `G_i` is
/// picture i's Gram matrix of `post` `[B, C, H, W]` and `copies` the number of pictures of
/// that target (lucid divides by the batch). A scalar on the tape; `None` when no two
/// pictures share a target.
fn style_similarity(g: &mut Graph, post: Var, targets: &[usize]) -> Option<Var> {
    let [b, c, h, w] = g.value(post).dims4();
    let shared = |i: usize| targets.iter().filter(|&&t| t == targets[i]).count();
    let mut grams: Vec<Option<(Var, Var)>> = vec![None; b];
    for (i, slot) in grams.iter_mut().enumerate() {
        if shared(i) > 1 {
            let one = g.select(post, 0, i);
            let f = g.reshape(one, &[c, h * w]);
            let gram = g.dense(f, f, None);
            let squared = g.square(gram);
            let energy = g.sum(squared);
            *slot = Some((gram, g.sqrt(energy)));
        }
    }
    let mut total: Option<Var> = None;
    for i in 0..b {
        for j in 0..b {
            let (Some((gi, ni)), Some((gj, nj))) = (grams[i], grams[j]) else {
                continue;
            };
            if i == j || targets[i] != targets[j] {
                continue;
            }
            let product = g.mul(gi, gj);
            let dot = g.sum(product);
            let norms = g.mul(ni, nj);
            let cosine = g.div(dot, norms);
            let term = g.scale(cosine, 1.0 / shared(i) as f32);
            total = Some(match total {
                Some(t) => g.add(t, term),
                None => term,
            });
        }
    }
    total
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
