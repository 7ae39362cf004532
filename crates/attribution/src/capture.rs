//! The two tensors every CAM method starts from: a layer's activations `A` and the gradient
//! `G = d score / d A` of the target class's score.
//!
//! 1. Forward the image to the target layer without a tape (nothing before it is
//!    differentiated): `A`, `[N, K, h, w]`, after the layer's ReLU.
//! 2. On a fresh tape whose only input is `A`, run the rest of the network to the logits and
//!    record the score (sum over images of each one's class score, see [`crate::target`]).
//! 3. Backward to `A`: `G`. The weights are constants, so nothing else is differentiated.

use tensor::{Graph, Tensor};
use vgg16::{Error, Result, Span, Vgg16, BODY_LEN};

use crate::target::{record_score, resolve_classes, Score};

/// What a forward and backward at a layer give.
pub struct Capture {
    /// Target class of each image.
    pub classes: Vec<usize>,
    /// `[N, classes]`.
    pub logits: Tensor,
    /// `[N, classes]`.
    pub probabilities: Tensor,
    /// The layer's output `A`, `[N, K, h, w]`.
    pub activations: Tensor,
    /// `G = d score / d A`, `[N, K, h, w]`.
    pub gradients: Tensor,
}

/// Checks that `model` has a head with class scores.
pub fn require_classifier(model: &Vgg16) -> Result<()> {
    if !model.has_classifier() {
        return Err(Error::Invalid(
            "explaining a class needs the classifier (fc1, fc2, predictions), and these weights are \
             conv-only; get weights/vgg16.safetensors (see weights/README.md) or pass --weights FILE"
                .into(),
        ));
    }
    Ok(())
}

/// Checks that `model` can explain classes at `layer`: it has a classifier, and the layer is
/// a convolution or pool of the body.
pub fn check_layer(model: &Vgg16, layer: usize) -> Result<()> {
    require_classifier(model)?;
    if layer >= model.layers().len() {
        return Err(Error::Invalid(format!(
            "layer index {layer} is past the model's last layer"
        )));
    }
    if layer >= BODY_LEN || !model.layers()[layer].module.is_spatial() {
        return Err(Error::Invalid(format!(
            "a class activation map needs a convolution or pool layer (one with a spatial map), not '{}'",
            model.layers()[layer].name
        )));
    }
    Ok(())
}

/// Runs steps 1-3 for a preprocessed batch `input` `[N, 3, H, W]` at layer `layer`. `classes`:
/// one per image, or `None` for each image's top-1 prediction.
pub fn capture(
    model: &Vgg16,
    input: &Tensor,
    layer: usize,
    classes: Option<&[usize]>,
    score: Score,
) -> Result<Capture> {
    capture_with(model, input, layer, classes, score, true)
}

/// [`capture`], skipping the backward (step 3) when `with_gradients` is false: the methods
/// that need no gradient (Eigen-CAM, Score-CAM, Ablation-CAM) then get zeros as `gradients`.
pub fn capture_with(
    model: &Vgg16,
    input: &Tensor,
    layer: usize,
    classes: Option<&[usize]>,
    score: Score,
    with_gradients: bool,
) -> Result<Capture> {
    check_layer(model, layer)?;

    // 1. Up to the target layer: no gradient needed, so no tape.
    let mut front = Graph::no_grad();
    let x = front.constant(input.clone());
    let a = model.forward(&mut front, x, Span::to(layer))?;
    let activations = front.value(a).clone();
    drop(front);

    // 2. From the target layer to the scores, on a tape whose only input is A (no tape at all
    // when no gradient is wanted).
    let mut g = if with_gradients {
        Graph::new()
    } else {
        Graph::no_grad()
    };
    let a = g.input(activations.clone());
    g.name_from(0, &model.layers()[layer].name);
    let logits_var = model.forward_logits(&mut g, a, layer + 1)?;
    let logits = g.value(logits_var).clone();
    let probabilities = model.probabilities(&logits);
    let classes = resolve_classes(&logits, classes)?;
    if !with_gradients {
        return Ok(Capture {
            classes,
            logits,
            probabilities,
            gradients: Tensor::zeros(activations.shape()),
            activations,
        });
    }
    let total = record_score(&mut g, model, logits_var, &classes, score);

    // 3. Backward to A.
    let grads = g.backward(total);
    let gradients = grads.wrt(a).clone();
    Ok(Capture {
        classes,
        logits,
        probabilities,
        activations,
        gradients,
    })
}
