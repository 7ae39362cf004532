//! The workloads that `viz bench`, the criterion benches (`cargo bench -p viz`) and
//! `tools/bench-vs-pytorch` time, defined once: the forward pass and Grad-CAM at 224 px, the
//! 150 px ascent of the book's first figure, and the notebook's grid figure. Random weights
//! unless the caller loads others.

use std::time::Instant;

use tensor::{Rng, Tensor};
use vgg16::Vgg16;

use crate::ascent::{self, AscentConfig, Variant};
use crate::error::Result;
use crate::gradcam::{self, Score};

/// The input of the forward and Grad-CAM workloads (random, in the caffe-preprocessed range).
pub fn input_224() -> Tensor {
    Rng::new(1).tensor(&[1, 3, 224, 224], -120.0, 130.0)
}

/// The ascent workload: filter 0 of block3_conv1, 150 px, 40 first-edition steps (start:
/// `ascent::random_start(1, 150, 0)`).
pub fn ascent_config(model: &Vgg16) -> Result<AscentConfig> {
    Ok(AscentConfig {
        layer: model.layer_index("block3_conv1")?,
        filters: vec![0],
        size: 150,
        steps: 40,
        step_size: 1.0,
        variant: Variant::FirstEdition,
    })
}

/// The layers of the notebook's grid figure.
pub const GRID_LAYERS: [&str; 4] = [
    "block1_conv1",
    "block2_conv1",
    "block3_conv1",
    "block4_conv1",
];

/// One layer of the grid figure: filters 0..64 at once, 64 px, `steps` first-edition steps
/// (start: `ascent::random_start(64, 64, 0)`).
pub fn grid_config(model: &Vgg16, layer: &str, steps: usize) -> Result<AscentConfig> {
    Ok(AscentConfig {
        layer: model.layer_index(layer)?,
        filters: (0..64).collect(),
        size: 64,
        steps,
        step_size: 1.0,
        variant: Variant::FirstEdition,
    })
}

/// The Score-CAM workload: Score-CAM at block3_conv3 for the top-1 class (256 masked inputs,
/// in batches of 16 as pytorch-grad-cam does). Returns the map.
pub fn scorecam(model: &Vgg16, input: &Tensor) -> Result<Tensor> {
    let opts = attribution::CamOptions {
        layer: model.layer_index("block3_conv3")?,
        score: Score::Logit,
        smooth: attribution::Smooth::None,
        batch: 16,
        max_channels: None,
    };
    let r = attribution::cam::cam(model, input, attribution::CamMethod::ScoreCam, None, &opts)?;
    Ok(r.map)
}

/// Steps of the lucid workload.
pub const LUCID_STEPS: usize = 32;

/// The lucid workload: filters 0..8 of block4_conv1 at 128 px with lucid's defaults, seed 0
/// (`tools/bench_pytorch.py --lucid` runs the same recipe).
pub fn lucid_config(model: &Vgg16) -> Result<featureviz::Config> {
    let mut config = featureviz::Config::lucid(
        model.layer_index("block4_conv1")?,
        (0..8).collect(),
        model.preprocessing,
    );
    config.steps = LUCID_STEPS;
    Ok(config)
}

/// The forward workload: the whole model on `input`, no tape.
pub fn forward(model: &Vgg16, input: &Tensor) -> Result<Tensor> {
    Ok(model.logits(input)?)
}

/// Median wall-clock times in milliseconds (the grid: one run).
pub struct Timings {
    pub forward_ms: f64,
    pub gradcam_ms: f64,
    pub ascent_ms: f64,
    pub grid_ms: Option<f64>,
    /// Timed runs of the forward and Grad-CAM workloads, and of the ascent.
    pub runs: usize,
    pub ascent_runs: usize,
}

/// How many progress ticks [`measure`] reports.
pub fn ticks(runs: usize, grid: bool) -> u64 {
    2 * (runs as u64 + 1) + runs.min(3) as u64 + 1 + if grid { 4 } else { 0 }
}

fn median_ms(
    runs: usize,
    tick: &mut dyn FnMut(),
    mut f: impl FnMut() -> Result<()>,
) -> Result<f64> {
    f()?; // warm-up
    tick();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        tick();
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Times every workload on `model` (which needs the classifier): medians of `runs` timed
/// runs after a warm-up (at most 3 for the ascent), and the grid once when `grid`.
/// `on_progress(what, ticked)` is called as work starts (`ticked` false) and after each run.
pub fn measure(
    model: &Vgg16,
    runs: usize,
    grid: bool,
    on_progress: &mut dyn FnMut(&str, bool),
) -> Result<Timings> {
    let input = input_224();
    let ascent_runs = runs.min(3);
    on_progress("forward 224", false);
    let forward_ms = median_ms(runs, &mut || on_progress("", true), || {
        forward(model, &input).map(|_| ())
    })?;
    on_progress("Grad-CAM 224", false);
    let layer = model.layer_index("block5_conv3")?;
    let gradcam_ms = median_ms(runs, &mut || on_progress("", true), || {
        gradcam::grad_cam(model, &input, layer, None, Score::Logit)
            .map(|_| ())
            .map_err(Into::into)
    })?;
    on_progress("ascent block3_conv1 150 px x 40 steps", false);
    let config = ascent_config(model)?;
    let ascent_ms = median_ms(ascent_runs, &mut || on_progress("", true), || {
        ascent::run(model, &config, ascent::random_start(1, 150, 0), |_| {}).map(|_| ())
    })?;
    let grid_ms = if grid {
        on_progress("grid: 4 layers x 64 filters x 40 steps at 64 px", false);
        let t = Instant::now();
        for name in GRID_LAYERS {
            let config = grid_config(model, name, 40)?;
            ascent::run(model, &config, ascent::random_start(64, 64, 0), |_| {})?;
            on_progress("", true);
        }
        Some(t.elapsed().as_secs_f64() * 1e3)
    } else {
        None
    };
    Ok(Timings {
        forward_ms,
        gradcam_ms,
        ascent_ms,
        grid_ms,
        runs,
        ascent_runs,
    })
}
