//! Deep dream (Deep Learning with Python, 8.2): make a photo excite chosen layers more, at
//! several scales, so their patterns grow into it.
//!
//! The loss is the book's: for each chosen layer, its coefficient times the sum of the squares
//! of its activations (after the ReLU, two pixels of border left out) divided by the number of
//! values. Gradient ascent on the picture itself (RGB in [0, 1], the model's preprocessing
//! recorded on the tape), with the gradient divided by its mean absolute value so the step
//! does not depend on the layers' scale.
//!
//! Octaves: the photo is first shrunk `octave_scale^(octaves - 1)` times, dreamt on, enlarged
//! by `octave_scale`, dreamt on again, and so on up to the original size. Patterns started
//! small grow large. Enlarging blurs the photo, so after each octave the detail it lost is put
//! back: `original - enlarge(shrink(original))` at that size.
//!
//! Backward: `loss = sum(coeff * mask * a^2)` gives `da = 2 coeff mask a` at each layer, which
//! flows down through the network (adding up where layers are stacked) to the picture; with
//! `transforms` (lucid's jitter, scale, rotation; optional), through them too.

use tensor::ops::warp::WarpMap;
use tensor::{Graph, Rng, Tensor, Var};
use vgg16::{Error, Preprocessing, Span, Vgg16};

use crate::transforms::{self, Transform};
use crate::{color, Result};

/// Pixels left out at each border of a layer's output in the loss (the book's 2).
const BORDER: usize = 2;

#[derive(Clone, Debug)]
pub struct DreamConfig {
    /// (layer index, coefficient).
    pub layers: Vec<(usize, f32)>,
    pub octaves: usize,
    pub octave_scale: f64,
    /// Ascent steps per octave (the book's 20).
    pub steps: usize,
    /// Step in RGB units of [0, 1] (the book's 0.01 for inputs in [-1, 1] is 0.005).
    pub step: f32,
    /// Stop an octave early once the loss passes this (the book's `max_loss`).
    pub max_loss: Option<f32>,
    /// Random transforms each step (none by default; lucid's standard ones as an option).
    pub transforms: Vec<Transform>,
    pub preprocessing: Preprocessing,
    pub seed: u64,
}

impl DreamConfig {
    /// The book's settings: 3 octaves of scale 1.4, 20 steps of 0.005 each.
    pub fn book(layers: Vec<(usize, f32)>, preprocessing: Preprocessing) -> DreamConfig {
        DreamConfig {
            layers,
            octaves: 3,
            octave_scale: 1.4,
            steps: 20,
            step: 0.005,
            max_loss: None,
            transforms: Vec::new(),
            preprocessing,
            seed: 0,
        }
    }
}

/// The dreamt photo `[1, 3, H, W]` (RGB, clamped to [0, 1]) and the loss at every step.
pub struct Dreamt {
    pub rgb: Tensor,
    pub losses: Vec<f32>,
    /// The size of every octave, smallest first.
    pub sizes: Vec<(usize, usize)>,
}

/// The octaves' sizes, smallest first, ending with `(h, w)`.
pub fn octave_sizes(h: usize, w: usize, octaves: usize, scale: f64) -> Vec<(usize, usize)> {
    (0..octaves)
        .rev()
        .map(|i| {
            let f = scale.powi(i as i32);
            (
                ((h as f64 / f).round() as usize).max(1),
                ((w as f64 / f).round() as usize).max(1),
            )
        })
        .collect()
}

/// Bilinear resize of `[N, C, H, W]` to `h x w` (corners on corners), without a tape.
fn resize(x: &Tensor, h: usize, w: usize) -> Tensor {
    let [_, _, xh, xw] = x.dims4();
    if (xh, xw) == (h, w) {
        return x.clone();
    }
    tensor::ops::warp::forward(x, &WarpMap::resize_align_corners(xh, xw, h, w))
}

pub fn validate(model: &Vgg16, config: &DreamConfig, h: usize, w: usize) -> Result<()> {
    let invalid = |m: String| Err(Error::Invalid(m));
    if config.layers.is_empty() {
        return invalid("--layers: at least one layer".into());
    }
    if !(1..=10).contains(&config.octaves) {
        return invalid(format!("--octaves must be 1 to 10, got {}", config.octaves));
    }
    if !(config.octave_scale.is_finite() && config.octave_scale > 1.0 && config.octave_scale <= 4.0)
    {
        return invalid(format!(
            "--octave-scale must be in (1, 4], got {}",
            config.octave_scale
        ));
    }
    if !(config.step.is_finite() && config.step > 0.0) {
        return invalid(format!(
            "--step must be a positive number, got {}",
            config.step
        ));
    }
    let (sh, sw) = octave_sizes(h, w, config.octaves, config.octave_scale)[0];
    let seen = transforms::smallest_output(&config.transforms, sh.min(sw));
    for &(layer, coeff) in &config.layers {
        let l = &model.layers()[layer];
        if !l.module.is_spatial() {
            return invalid(format!(
                "deep dream needs convolution or pool layers, not '{}'",
                l.name
            ));
        }
        if !coeff.is_finite() {
            return invalid(format!("the coefficient of '{}' must be a number", l.name));
        }
        let shape = model.output_shape(layer, seen, seen)?;
        if shape[1] <= 2 * BORDER || shape[2] <= 2 * BORDER {
            return invalid(format!(
                "the smallest octave ({sh}x{sw} px) leaves '{}' at {}x{}, nothing after its {BORDER}-pixel border; use fewer --octaves or a larger image",
                l.name, shape[1], shape[2]
            ));
        }
    }
    Ok(())
}

/// Dreams on `rgb` `[1, 3, H, W]` in [0, 1]; `on_step(octave, step)` after every step.
pub fn dream(
    model: &Vgg16,
    rgb: &Tensor,
    config: &DreamConfig,
    mut on_step: impl FnMut(usize, usize),
) -> Result<Dreamt> {
    let [n, c, h, w] = rgb.dims4();
    if n != 1 || c != 3 {
        return Err(Error::Invalid(format!(
            "deep dream takes one RGB image, got {:?}",
            rgb.shape()
        )));
    }
    validate(model, config, h, w)?;
    let sizes = octave_sizes(h, w, config.octaves, config.octave_scale);
    let mut rng = Rng::new(config.seed);
    let mut losses = Vec::new();
    let (sh, sw) = sizes[0];
    let mut shrunk_original = resize(rgb, sh, sw);
    let mut img = shrunk_original.clone();
    for (octave, &(oh, ow)) in sizes.iter().enumerate() {
        img = resize(&img, oh, ow);
        for step in 0..config.steps {
            let (loss, grad) = loss_and_gradient(model, &img, config, &mut rng)?;
            losses.push(loss);
            if config.max_loss.is_some_and(|m| loss > m) {
                break;
            }
            let mean_abs =
                grad.data().iter().map(|v| v.abs() as f64).sum::<f64>() / grad.len() as f64;
            let factor = config.step / (mean_abs as f32).max(1e-7);
            for (p, g) in img.data_mut().iter_mut().zip(grad.data()) {
                *p += factor * g;
            }
            on_step(octave, step + 1);
        }
        // Put back the detail that shrinking and enlarging the original lost at this size.
        let enlarged = resize(&shrunk_original, oh, ow);
        let same_size = resize(rgb, oh, ow);
        for ((p, a), b) in img
            .data_mut()
            .iter_mut()
            .zip(same_size.data())
            .zip(enlarged.data())
        {
            *p += a - b;
        }
        shrunk_original = same_size;
    }
    Ok(Dreamt {
        rgb: img.map(|v| v.clamp(0.0, 1.0)),
        losses,
        sizes,
    })
}

/// The book's loss on `img` and its gradient with respect to `img`.
fn loss_and_gradient(
    model: &Vgg16,
    img: &Tensor,
    config: &DreamConfig,
    rng: &mut Rng,
) -> Result<(f32, Tensor)> {
    let mut g = Graph::new();
    let x = g.input(img.clone());
    let [_, _, h, _] = img.dims4();
    let drawn = transforms::draw(&config.transforms, h, rng);
    let seen = transforms::apply(&mut g, x, &drawn);
    let input = color::to_model_input(&mut g, seen, config.preprocessing);
    let deepest = config.layers.iter().map(|&(l, _)| l).max().unwrap_or(0);
    let outputs = model.forward_all(&mut g, input, Span::to(deepest))?;
    let mut total: Option<Var> = None;
    for &(layer, coeff) in &config.layers {
        let act = outputs[layer];
        let shape = g.value(act).shape().to_vec();
        let mask = border_mask(&shape, coeff / shape.iter().product::<usize>() as f32);
        let squared = g.square(act);
        let m = g.constant(mask);
        let weighted = g.mul(squared, m);
        let term = g.sum(weighted);
        total = Some(match total {
            Some(t) => g.add(t, term),
            None => term,
        });
    }
    let total = total.expect("validated: at least one layer");
    let loss = g.value(total).item();
    if !loss.is_finite() {
        return Err(Error::Invalid(
            "the loss became NaN or infinite; try a smaller --step".into(),
        ));
    }
    let grad = g.backward(total).wrt(x).clone();
    Ok((loss, grad))
}

/// `value` inside a `BORDER`-pixel border of every plane of `shape` `[N, C, H, W]`, 0 on it.
fn border_mask(shape: &[usize], value: f32) -> Tensor {
    let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3]);
    let mut mask = vec![0.0; planes * h * w];
    for p in 0..planes {
        for i in BORDER..h - BORDER {
            for j in BORDER..w - BORDER {
                mask[(p * h + i) * w + j] = value;
            }
        }
    }
    Tensor::new(shape, mask)
}
