//! # Feature visualization, lucid's way
//!
//! Which picture makes filter `k` of a layer fire most? The book's answer (in `viz`'s
//! `ascent.rs`) climbs the gradient directly in pixel space; its pictures are noisy, because
//! nothing stops the optimiser from using patterns no natural image has. Lucid (Olah et al.,
//! "Feature Visualization", Distill 2017) adds three priors, each a few lines here and each
//! differentiable, so the whole chain is one tape and one backward pass:
//!
//! ```text
//! spectrum --(scale by 1/f, inverse FFT, /4)--> picture        param.rs
//!          --(decorrelated colour -> RGB, sigmoid)--> rgb      color.rs
//!          --(pad, jitter, scale, rotate, jitter)--> rgb'      transforms.rs
//!          --(preprocessing: caffe or torch)--> model input    color.rs
//!          --(VGG16 up to the layer)--> activations
//!          --(mean of filter k, before its ReLU)--> objective  objective.rs
//! ```
//!
//! One step: record that chain on a fresh tape, call `backward` on the objective (negated: we
//! climb), and hand d objective / d spectrum to Adam (`adam.rs`). Backward visits the chain
//! from the bottom up: the filter's mean hands `1 / positions` to every position of the
//! channel; VGG16 carries it back to its input (`tensor::ops::frozen_conv`, `max_pool`,
//! `relu`); the preprocessing's 3 x 3 channel mix and bias pass it to RGB (times the mix's
//! transpose); the transforms undo themselves (a crop's gradient is padded back, a warp's is
//! scattered to the pixels it read, a pad's is cropped); the sigmoid multiplies by
//! `y (1 - y)`; the colour matrix's transpose returns it to the decorrelated space; the
//! inverse FFT's transpose turns it into a gradient per frequency, and the `1/f` scaling
//! multiplies it once more, so the low frequencies, which shape the picture, get the largest
//! steps.
//!
//! Pictures of several filters are optimised together, one per image of a batch: their
//! objectives are summed and one backward gives each picture its own gradient.

pub mod adam;
pub mod color;
pub mod dream;
pub mod objective;
pub mod param;
pub mod quality;
pub mod transforms;

use tensor::{Graph, Rng, Tensor};
use vgg16::{Error, Preprocessing, Vgg16};

pub use objective::{Objective, Target};
pub use param::Parameterisation;
pub use transforms::Transform;
pub use vgg16::Result;

/// One run of the lucid recipe.
#[derive(Clone, Debug)]
pub struct Config {
    pub target: Target,
    /// Picture side in pixels.
    pub size: usize,
    pub steps: usize,
    /// Adam's learning rate (lucid: 0.05).
    pub lr: f32,
    pub param: Parameterisation,
    /// Optimise in decorrelated colour (lucid: yes).
    pub decorrelate: bool,
    pub transforms: Vec<Transform>,
    pub preprocessing: Preprocessing,
    /// Seeds the starting parameters and the transforms' draws.
    pub seed: u64,
}

impl Config {
    /// Lucid's defaults: Fourier parameterisation (decay 1), decorrelated colour, the standard
    /// transforms, Adam with lr 0.05, 512 steps, 128 px, channel objective before the ReLU.
    pub fn lucid(layer: usize, filters: Vec<usize>, preprocessing: Preprocessing) -> Config {
        Config {
            target: Target {
                objective: Objective::Channel,
                layer,
                targets: filters,
                before_relu: true,
                diversity: 0.0,
            },
            size: 128,
            steps: 512,
            lr: 0.05,
            param: Parameterisation::Fourier { decay: 1.0 },
            decorrelate: true,
            transforms: transforms::standard(),
            preprocessing,
            seed: 0,
        }
    }
}

/// The result: `rgb` `[B, 3, S, S]` in [0, 1] (the pictures without transforms) and each
/// picture's objective at every step (`[B][steps]`).
pub struct Rendered {
    pub rgb: Tensor,
    pub objectives: Vec<Vec<f32>>,
}

/// Checks a configuration against the model before any work.
pub fn validate(model: &Vgg16, config: &Config) -> Result<()> {
    let invalid = |m: String| Err(Error::Invalid(m));
    let t = &config.target;
    if t.targets.is_empty() {
        return invalid("nothing to visualise: no filter or class given".into());
    }
    if config.size < 2 {
        return invalid(format!("--size {} is too small", config.size));
    }
    if !(config.lr.is_finite() && config.lr > 0.0) {
        return invalid(format!("--lr must be a positive number, got {}", config.lr));
    }
    if let Parameterisation::Fourier { decay } = config.param {
        if !(decay.is_finite() && (0.0..=4.0).contains(&decay)) {
            return invalid(format!("--decay must be in [0, 4], got {decay}"));
        }
    }
    let seen = transforms::smallest_output(&config.transforms, config.size);
    match t.objective {
        Objective::Class => {
            if !model.has_classifier() {
                return invalid(
                    "the class objective needs a model with its classifier (the notop weights have none)"
                        .into(),
                );
            }
            if let Some(&bad) = t.targets.iter().find(|&&c| c >= model.num_classes()) {
                return invalid(format!(
                    "class {bad} does not exist: the model has classes 0..{}",
                    model.num_classes() - 1
                ));
            }
        }
        Objective::Channel | Objective::Neuron => {
            let layer = &model.layers()[t.layer];
            if !layer.module.is_spatial() {
                return invalid(format!(
                    "feature visualization needs a convolution or pool layer, not '{}'",
                    layer.name
                ));
            }
            let shape = model.output_shape(t.layer, seen, seen)?;
            if let Some(&bad) = t.targets.iter().find(|&&f| f >= shape[0]) {
                return invalid(format!(
                    "filter {bad} does not exist: layer '{}' has filters 0..{}",
                    layer.name,
                    shape[0] - 1
                ));
            }
        }
    }
    Ok(())
}

/// Runs the recipe; `on_step(step)` after every step (for progress bars).
pub fn render(model: &Vgg16, config: &Config, mut on_step: impl FnMut(usize)) -> Result<Rendered> {
    validate(model, config)?;
    let batch = config.target.targets.len();
    let mut param = param::ImageParam::new(config.param, batch, config.size, config.seed);
    let mut adam = adam::Adam::new(config.lr, param.values.len());
    // The transforms draw from their own stream, so changing them never changes the start.
    let mut rng = Rng::new(config.seed ^ 0x7a11_5f0e_d5ee_d000);
    let mut objectives = vec![Vec::with_capacity(config.steps); batch];
    for step in 0..config.steps {
        let mut g = Graph::new();
        let p = g.input(param.values.clone());
        let picture = param.record(&mut g, p);
        let rgb = color::to_rgb(&mut g, picture, config.decorrelate);
        let drawn = transforms::draw(&config.transforms, config.size, &mut rng);
        let mut seen = transforms::apply(&mut g, rgb, &drawn);
        if config.target.objective == Objective::Class {
            // The classifier's flatten fixes the input size: bring the transformed picture to
            // it (corners on corners, like the scale transform).
            let [_, _, h, w] = g.value(seen).dims4();
            let side = model.input_size();
            if (h, w) != (side, side) {
                let map = tensor::ops::warp::WarpMap::resize_align_corners(h, w, side, side);
                seen = g.warp(seen, map);
            }
        }
        let input = color::to_model_input(&mut g, seen, config.preprocessing);
        let (total, per_picture) = objective::record(&mut g, model, input, &config.target)?;
        for (record, value) in objectives.iter_mut().zip(per_picture) {
            record.push(value);
        }
        if !g.value(total).all_finite() {
            return Err(Error::Invalid(format!(
                "the objective became NaN or infinite at step {} of {}; try a smaller --lr",
                step + 1,
                config.steps
            )));
        }
        // Climb: Adam descends, so it gets the gradient of the negated objective.
        let grad = g.backward(total).wrt(p).map(|v| -v);
        drop(g);
        adam.step(&mut param.values, &grad);
        on_step(step + 1);
    }
    Ok(Rendered {
        rgb: pictures(&param, config.decorrelate),
        objectives,
    })
}

/// The pictures of `param` in RGB [0, 1], without transforms.
pub fn pictures(param: &param::ImageParam, decorrelate: bool) -> Tensor {
    let mut g = Graph::no_grad();
    let p = g.constant(param.values.clone());
    let picture = param.record(&mut g, p);
    let rgb = color::to_rgb(&mut g, picture, decorrelate);
    g.value(rgb).clone()
}
