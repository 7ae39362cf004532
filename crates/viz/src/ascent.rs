//! Filter visualization by gradient ascent: which input makes filter k of a layer fire most?
//!
//! Start from a grey image with a little noise, and repeat:
//! 1. forward to the layer; `loss_b` = mean over positions of channel `k_b` of its output
//!    (after its ReLU);
//! 2. backward: `g = d loss_b / d image_b` (the weights are constants, so only the image gets a
//!    gradient);
//! 3. normalise `g` so the step size does not depend on how strong the filter is, and take a
//!    step uphill: `image_b += step * g`.
//!
//! Several filters are optimised at once, one image per filter in a batch: images in a batch
//! never interact, so one backward of `sum_b loss_b` gives each image its own gradient, and the
//! convolutions get enough work to fill the SIMD lanes even at 64 x 64 pixels.
//!
//! Two settings (SPEC 1.1): the book's first edition (the default) and the keras.io 2020 variant.

use tensor::{Graph, Rng, Tensor};
use vgg16::Vgg16;

use crate::error::{invalid, Result};

/// Which published recipe to follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Deep Learning with Python, 1st edition: `g / (sqrt(mean(g^2)) + 1e-5)`, step 1, 40 steps,
    /// loss over the whole map.
    FirstEdition,
    /// keras.io (2020): `g / ||g||`, step 10 for inputs in [-1, 1] (so in the model's input
    /// units, see [`Variant::default_step_size`]), 30 steps, loss without a 2-pixel border,
    /// rendered with contrast 0.15 and a 25-pixel centre crop.
    Keras2020,
}

impl Variant {
    pub fn default_steps(self) -> usize {
        match self {
            Variant::FirstEdition => 40,
            Variant::Keras2020 => 30,
        }
    }
    /// The step: 1 for the first edition (in the model's input units, as the book's caffe
    /// input); for keras2020, keras.io's 10 for inputs in [-1, 1], i.e. 10 / 2 of the input
    /// range, scaled to the model's input range for pixels 0..255 (mean over the channels):
    /// 1275 for caffe (range 255), about 22 for torch (range 1 / std, about 4.4).
    pub fn default_step_size(self, prep: vgg16::Preprocessing) -> f32 {
        match self {
            Variant::FirstEdition => 1.0,
            Variant::Keras2020 => {
                let range: f32 = (0..3)
                    .map(|c| prep.encode(c, 255.0) - prep.encode(c, 0.0))
                    .sum::<f32>()
                    / 3.0;
                10.0 * range / 2.0
            }
        }
    }

    /// The deprocessing contrast: the book's 0.1, keras.io's 0.15.
    pub fn render_contrast(self) -> f64 {
        match self {
            Variant::FirstEdition => 0.1,
            Variant::Keras2020 => 0.15,
        }
    }
    /// Pixels excluded at each border of the layer's output when computing the loss.
    pub fn loss_border(self) -> usize {
        match self {
            Variant::FirstEdition => 0,
            Variant::Keras2020 => 2,
        }
    }
    /// Pixels cropped at each side of the rendered picture.
    pub fn render_crop(self) -> usize {
        match self {
            Variant::FirstEdition => 0,
            Variant::Keras2020 => 25,
        }
    }
}

/// A gradient-ascent run.
pub struct AscentConfig {
    /// Layer index in the model.
    pub layer: usize,
    /// One filter (output channel) per image.
    pub filters: Vec<usize>,
    /// Image side in pixels.
    pub size: usize,
    pub steps: usize,
    pub step_size: f32,
    pub variant: Variant,
}

/// The result: final images (model input space, `[B, 3, S, S]`) and each image's loss at the
/// start of every step (`[B][steps]`).
pub struct Ascent {
    pub images: Tensor,
    pub losses: Vec<Vec<f32>>,
}

/// The book's start image: uniform random in [128, 148) for every pixel and channel.
pub fn random_start(batch: usize, size: usize, seed: u64) -> Tensor {
    Rng::new(seed).tensor(&[batch, 3, size, size], 128.0, 148.0)
}

/// Checks a configuration against the model; returns the layer's channel count.
pub fn validate(model: &Vgg16, config: &AscentConfig) -> Result<usize> {
    let layer = &model.layers()[config.layer];
    if !layer.module.is_spatial() {
        return invalid!(
            "filter visualization needs a convolution or pool layer, not '{}'",
            layer.name
        );
    }
    let shape = model.output_shape(config.layer, config.size, config.size)?;
    let (channels, h, w) = (shape[0], shape[1], shape[2]);
    if let Some(&bad) = config.filters.iter().find(|&&f| f >= channels) {
        return invalid!(
            "filter {bad} does not exist: layer '{}' has filters 0..{}",
            layer.name,
            channels - 1
        );
    }
    let border = config.variant.loss_border();
    if h <= 2 * border || w <= 2 * border {
        return invalid!(
            "input too small: layer '{}' is {h}x{w} at --size {}, nothing is left after the {border}-pixel border",
            layer.name, config.size
        );
    }
    Ok(channels)
}

/// Runs the ascent from `start` (`[B, 3, S, S]`, one image per filter). `on_step(step)` is called
/// after every step (for progress bars).
pub fn run(
    model: &Vgg16,
    config: &AscentConfig,
    start: Tensor,
    mut on_step: impl FnMut(usize),
) -> Result<Ascent> {
    validate(model, config)?;
    let b = config.filters.len();
    if start.shape() != [b, 3, config.size, config.size] {
        return invalid!(
            "start images have shape {:?}, expected [{b}, 3, {s}, {s}]",
            start.shape(),
            s = config.size
        );
    }
    let shape = model.output_shape(config.layer, config.size, config.size)?;
    let (h, w) = (shape[1], shape[2]);

    let mask = loss_mask(b, h, w, config.variant.loss_border());

    let mut images = start;
    let mut losses = vec![Vec::with_capacity(config.steps); b];
    let per_image = 3 * config.size * config.size;
    for step in 0..config.steps {
        let mut g = Graph::new();
        let x = g.input(images.clone());
        g.name_from(0, "image");
        let act = model.forward_channels(&mut g, x, config.layer, &config.filters)?;
        let loss_start = g.len();
        let m = g.constant(mask.clone());
        let weighted = g.mul(act, m);
        let total = g.sum(weighted);
        g.name_from(loss_start, "loss");

        // Each image's own loss, for the record.
        for (record, loss) in losses.iter_mut().zip(per_image_sums(g.value(weighted))) {
            record.push(loss);
        }

        if !g.value(total).all_finite() {
            return invalid!(
                "the loss became NaN or infinite at step {} of {}; the images overflowed (check --init, or use a smaller --step)",
                step + 1,
                config.steps
            );
        }
        let grad = g.backward(total).wrt(x).clone();
        // The tape still shares `images`' buffer: drop it so the update below writes in place
        // instead of copying the batch.
        drop(g);
        if !grad.all_finite() {
            return invalid!(
                "the gradient became NaN or infinite at step {} of {}; try a smaller --step",
                step + 1,
                config.steps
            );
        }
        let gd = grad.data();
        let img_data = images.data_mut();
        for img in 0..b {
            let gi = &gd[img * per_image..(img + 1) * per_image];
            let sum_sq: f64 = gi.iter().map(|&v| v as f64 * v as f64).sum();
            let scale = match config.variant {
                Variant::FirstEdition => 1.0 / ((sum_sq / per_image as f64).sqrt() + 1e-5),
                Variant::Keras2020 => 1.0 / sum_sq.max(1e-12).sqrt(),
            } as f32;
            let step = config.step_size * scale;
            for (p, &gv) in img_data[img * per_image..(img + 1) * per_image]
                .iter_mut()
                .zip(gi)
            {
                *p += step * gv;
            }
        }
        on_step(step + 1);
    }
    Ok(Ascent { images, losses })
}

/// Restarts the images whose filter does not fire at all on their start image (loss exactly 0,
/// so the gradient is 0 and the ascent would leave a flat grey picture: the most reported
/// pitfall of this technique). Each such image is redrawn from a wider start, uniform in
/// [0, 255) instead of [128, 148), up to 4 times with different seeds. Returns the new start
/// images and the filters that were revived (those still dead after 4 tries are left as they
/// were, and reported by the caller as dead).
pub fn revive_dead(
    model: &Vgg16,
    config: &AscentConfig,
    mut start: Tensor,
    seed: u64,
) -> Result<(Tensor, Vec<usize>)> {
    validate(model, config)?;
    let per_image = 3 * config.size * config.size;
    let mut revived = Vec::new();
    for attempt in 0..=4u64 {
        let losses = start_losses(model, config, &start)?;
        let dead: Vec<usize> = (0..config.filters.len())
            .filter(|&i| losses[i] == 0.0)
            .collect();
        if attempt > 0 {
            // Images that came alive on the previous try.
            revived.retain(|&i| !dead.contains(&i));
        }
        if dead.is_empty() || attempt == 4 {
            break;
        }
        let mut rng = Rng::new(seed ^ (0x5eed_0000 + attempt));
        let data = start.data_mut();
        for &i in &dead {
            for v in &mut data[i * per_image..(i + 1) * per_image] {
                *v = 255.0 * rng.uniform();
            }
            if !revived.contains(&i) {
                revived.push(i);
            }
        }
    }
    revived.sort_unstable();
    Ok((
        start,
        revived.into_iter().map(|i| config.filters[i]).collect(),
    ))
}

/// Each image's loss (as in [`run`]) on `images`, without a tape.
fn start_losses(model: &Vgg16, config: &AscentConfig, images: &Tensor) -> Result<Vec<f32>> {
    let mut g = Graph::no_grad();
    let x = g.constant(images.clone());
    let act = model.forward_channels(&mut g, x, config.layer, &config.filters)?;
    let [b, _, h, w] = g.value(act).dims4();
    let mask = loss_mask(b, h, w, config.variant.loss_border());
    let weighted = tensor::ops::elementwise::mul_forward(g.value(act), &mask);
    Ok(per_image_sums(&weighted))
}

/// The loss as a weighted sum. The model computes only channel k_b of the layer for image b,
/// so the activations are `[B, 1, h, w]`; mask[b, 0, i, j] = 1 / (number of positions) inside
/// the border and 0 elsewhere, so `sum(A * mask)` over one image is that image's mean.
fn loss_mask(b: usize, h: usize, w: usize, border: usize) -> Tensor {
    let inner = (h - 2 * border) * (w - 2 * border);
    let mut mask = vec![0.0; b * h * w];
    for img in 0..b {
        for i in border..h - border {
            for j in border..w - border {
                mask[(img * h + i) * w + j] = 1.0 / inner as f32;
            }
        }
    }
    Tensor::new(&[b, 1, h, w], mask)
}

/// Sum of each image of a `[B, ...]` tensor (in f64).
fn per_image_sums(t: &Tensor) -> Vec<f32> {
    let b = t.shape()[0];
    let per = t.len() / b.max(1);
    t.data()
        .chunks(per.max(1))
        .take(b)
        .map(|c| c.iter().map(|&v| v as f64).sum::<f64>() as f32)
        .collect()
}
