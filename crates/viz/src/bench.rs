//! `viz bench`: medians of several timed runs after a warm-up, for the workloads that
//! `tools/bench-vs-pytorch` compares with PyTorch. Random weights unless `--weights` is given.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use indicatif::ProgressBar;
use serde_json::json;
use tensor::Graph;
use vgg16::Vgg16;

use crate::ascent::{self, AscentConfig, Variant};
use crate::gradcam::{self, Score};

fn median_ms(runs: usize, bar: &ProgressBar, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?; // warm-up
    bar.inc(1);
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        bar.inc(1);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// The input of the forward and Grad-CAM workloads (random, in the caffe-preprocessed range).
pub fn input_224() -> tensor::Tensor {
    tensor::testing::Rng::new(1).tensor(&[1, 3, 224, 224], -120.0, 130.0)
}

/// The ascent workload: filter 0 of block3_conv1, 150 px, 40 first-edition steps (start:
/// `ascent::random_start(1, 150, 0)`).
pub fn ascent_config(model: &Vgg16) -> vgg16::Result<AscentConfig> {
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
pub fn grid_config(model: &Vgg16, layer: &str, steps: usize) -> vgg16::Result<AscentConfig> {
    Ok(AscentConfig {
        layer: model.layer_index(layer)?,
        filters: (0..64).collect(),
        size: 64,
        steps,
        step_size: 1.0,
        variant: Variant::FirstEdition,
    })
}

pub fn run(weights: Option<&Path>, runs: usize, grid: bool, json: bool, quiet: bool) -> Result<()> {
    let model = match weights {
        Some(p) => crate::commands::load_model(Some(p), true)?,
        None => Vgg16::random_standard(0, true),
    };
    let input = input_224();
    let last = model.layers().len() - 1;
    let ascent_runs = runs.min(3);
    let total = 2 * (runs as u64 + 1) + ascent_runs as u64 + 1 + if grid { 4 } else { 0 };
    let bar = crate::commands::progress(total, quiet, "bench");
    let say = |what: &str| bar.set_message(what.to_string());

    say("forward 224");
    let forward = median_ms(runs, &bar, || {
        let mut g = Graph::no_grad();
        let x = g.constant(input.clone());
        model.forward_to(&mut g, x, last)?;
        Ok(())
    })?;

    say("Grad-CAM 224");
    let layer = model.layer_index("block5_conv3")?;
    let gradcam = median_ms(runs, &bar, || {
        gradcam::grad_cam(&model, &input, layer, None, Score::Logit)?;
        Ok(())
    })?;

    say("ascent block3_conv1 150 px x 40 steps");
    let config = ascent_config(&model)?;
    let ascent = median_ms(ascent_runs, &bar, || {
        ascent::run(&model, &config, ascent::random_start(1, 150, 0), |_| {})?;
        Ok(())
    })?;

    let grid_ms = if grid {
        say("grid: 4 layers x 64 filters x 40 steps at 64 px");
        let t = Instant::now();
        for name in GRID_LAYERS {
            let config = grid_config(&model, name, 40)?;
            ascent::run(&model, &config, ascent::random_start(64, 64, 0), |_| {})?;
            bar.inc(1);
        }
        Some(t.elapsed().as_secs_f64() * 1e3)
    } else {
        None
    };

    bar.finish_and_clear();
    let threads = rayon::current_num_threads();
    if json {
        let mut v = json!({
            "forward_224_ms": forward,
            "gradcam_224_ms": gradcam,
            "ascent_150_block3_conv1_40_ms": ascent,
            "threads": threads,
            "weights": model.source,
        });
        if let Some(g) = grid_ms {
            v["grid_64_ms"] = json!(g);
        }
        println!("{v}");
    } else {
        println!("threads: {threads}; weights: {}", model.source);
        println!("forward 224x224:                      {forward:9.1} ms (median of {runs})");
        println!("Grad-CAM 224x224:                     {gradcam:9.1} ms (median of {runs})");
        println!("ascent block3_conv1 150 px, 40 steps: {ascent:9.1} ms (median of {ascent_runs})");
        if let Some(g) = grid_ms {
            println!("grid figure (4 x 64 filters, 64 px):  {g:9.1} ms (one run)");
        }
    }
    Ok(())
}
