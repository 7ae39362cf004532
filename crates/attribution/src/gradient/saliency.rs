//! One backward to the input: the gradient `d score / d x` (saliency), gradient x input, and
//! the two modified backwards, guided backpropagation and deconvnet. They differ only in the
//! rule by which ReLUs pass gradients back (`tensor::ReluRule`, chosen when the forward is
//! recorded): the derivative; only where the input was positive *and* the incoming gradient
//! is positive (guided); only where the incoming gradient is positive (deconvnet).
//!
//! Guided Grad-CAM (Selvaraju et al. 2017) multiplies guided backpropagation, sharp but not
//! class-specific, by the Grad-CAM map, coarse but class-specific: `GB * up(ReLU(sum_k
//! mean(G_k) A_k))`, the map not normalised and upsampled by nearest neighbour (captum's
//! defaults).

use tensor::{ReluRule, Tensor};
use vgg16::Result;

use super::GradientOptions;
use crate::batched::{gradients_of_rows, Rows};
use crate::cam::channel_weights::{gradcam_weights, sum_channels, weighted};
use crate::capture::capture;
use crate::resize::nearest;

/// One backward per batch of images, with ReLUs going backward by `relu`: each batch's forward
/// gives its logits, from which the classes are taken (`classes`, or each image's top-1), then
/// the score is recorded on the same tape and differentiated. Returns the logits `[N,
/// classes]`, the classes and `d score / d input`: no forward beyond the one the gradient needs.
pub fn gradients_and_logits(
    model: &vgg16::Vgg16,
    input: &Tensor,
    classes: Option<&[usize]>,
    batch: usize,
    relu: ReluRule,
    score: crate::target::Score,
) -> Result<(Tensor, Vec<usize>, Tensor)> {
    let [n, c, h, w] = input.dims4();
    let len = c * h * w;
    let (mut logits, mut chosen, mut grads) = (
        Vec::new(),
        Vec::with_capacity(n),
        Vec::with_capacity(n * len),
    );
    let mut num_classes = 0;
    for start in (0..n).step_by(batch.max(1)) {
        let end = (start + batch.max(1)).min(n);
        let mut g = tensor::Graph::new();
        let x = g.input(Tensor::new(
            &[end - start, c, h, w],
            input.data()[start * len..end * len].to_vec(),
        ));
        g.name_from(0, "input");
        let l = model.forward_logits_with(&mut g, x, 0, relu)?;
        let values = g.value(l).clone();
        num_classes = values.dims2()[1];
        let these =
            crate::target::resolve_classes(&values, classes.map(|c| &c[start..end.min(c.len())]))?;
        let total = crate::target::record_score(&mut g, model, l, &these, score);
        grads.extend_from_slice(g.backward(total).wrt(x).data());
        logits.extend_from_slice(values.data());
        chosen.extend(these);
    }
    Ok((
        Tensor::new(&[n, num_classes], logits),
        chosen,
        Tensor::new(input.shape(), grads),
    ))
}

/// `d score / d input` for every image, with ReLUs going backward by `relu`.
pub fn gradients(
    model: &vgg16::Vgg16,
    input: &Tensor,
    classes: &[usize],
    opts: &GradientOptions,
    relu: ReluRule,
) -> Result<Tensor> {
    let [_, c, h, w] = input.dims4();
    let len = c * h * w;
    let class_of_row = |r: usize| classes[r];
    let rows = Rows {
        count: classes.len(),
        shape: &[c, h, w],
        batch: opts.batch,
        class_of_row: &class_of_row,
    };
    let make_row =
        |r: usize, row: &mut [f32]| row.copy_from_slice(&input.data()[r * len..(r + 1) * len]);
    let mut out = vec![0.0f32; input.len()];
    gradients_of_rows(model, &rows, &make_row, relu, opts.score, &mut |r, g| {
        out[r * len..(r + 1) * len].copy_from_slice(g)
    })?;
    Ok(Tensor::new(input.shape(), out))
}

/// Guided backpropagation times the unnormalised Grad-CAM map at `opts.layer`, upsampled by
/// nearest neighbour.
pub fn guided_gradcam(
    model: &vgg16::Vgg16,
    input: &Tensor,
    classes: &[usize],
    opts: &GradientOptions,
) -> Result<Tensor> {
    let cam = capture(model, input, opts.layer, Some(classes), opts.score)?;
    let map = sum_channels(&weighted(
        &cam.activations,
        &gradcam_weights(&cam.gradients),
    ));
    let [_, _, h, w] = cam.activations.dims4();
    let [_, c, big_h, big_w] = input.dims4();
    let mut guided = gradients(model, input, classes, opts, ReluRule::Guided)?;
    for (image, m) in guided
        .data_mut()
        .chunks_mut(c * big_h * big_w)
        .zip(map.data().chunks(h * w))
    {
        let relu: Vec<f32> = m.iter().map(|v| v.max(0.0)).collect();
        let up = nearest(&relu, h, w, big_h, big_w);
        for channel in image.chunks_mut(big_h * big_w) {
            channel.iter_mut().zip(&up).for_each(|(g, &u)| *g *= u);
        }
    }
    Ok(guided)
}
