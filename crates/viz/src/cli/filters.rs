//! `viz filters`: filter visualization by gradient ascent in input space.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::json;
use tensor::Tensor;

use super::args::{Context, JsonArg, WeightsArg};
use super::progress;
use crate::ascent::Variant;
use crate::error::{invalid, Result};
use crate::figures::{self, FilterRequest, Start};
use crate::locate::load_model;
use crate::output::check_output;
use crate::render;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum VariantChoice {
    /// Deep Learning with Python, 1st edition (RMS-normalised gradient, step 1, 40 steps).
    FirstEdition,
    /// keras.io 2020 (L2-normalised gradient, step 10, 30 steps, 2 px loss border, 25 px crop).
    Keras2020,
}

#[derive(Args, Debug)]
pub struct FiltersArgs {
    /// Layer name, e.g. block3_conv1 (see `viz summary`).
    #[arg(long)]
    pub layer: String,
    #[command(flatten)]
    pub weights: WeightsArg,
    /// One filter (without --filter or --filters: filter 0, and a note on stderr says so).
    #[arg(long, conflicts_with = "filters")]
    pub filter: Option<usize>,
    /// A half-open range A..B of filters, optimised together as a batch and drawn as a grid.
    #[arg(long)]
    pub filters: Option<String>,
    /// Image side (default: 150 for one filter, 64 for a grid).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=2048))]
    pub size: Option<u32>,
    /// Gradient-ascent steps (default: 40 for first-edition, 30 for keras2020).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100000))]
    pub steps: Option<u32>,
    /// Step size (default: 1 for first-edition; for keras2020, keras.io's 10 for inputs in
    /// [-1, 1] scaled to the model's input units: 1275 for caffe, about 22 for torch).
    #[arg(long)]
    pub step: Option<f32>,
    /// Which published recipe: first-edition (the book, default) or keras2020.
    #[arg(long, value_enum, default_value_t = VariantChoice::FirstEdition)]
    pub variant: VariantChoice,
    /// Seed of the random start image (default: from the clock; printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Restart filters that do not fire on the book's grey start image (they would stay flat
    /// grey) from a wider random start, uniform in [0, 255); the others are unchanged.
    #[arg(long)]
    pub revive: bool,
    /// Start images: safetensors with tensor `image` [B, 3, S, S] in the model's input space.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Output PNG.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Save the final images (before deprocessing) and the losses as safetensors.
    #[arg(long)]
    pub dump: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonArg,
    #[command(flatten)]
    pub trace: super::trace::TraceArg,
}

/// `A..B` (half-open) -> [A, B).
pub fn parse_range(text: &str) -> Result<Vec<usize>> {
    let Some((a, b)) = text.split_once("..") else {
        return invalid!("--filters expects a range A..B (half-open, e.g. 0..64), got '{text}'");
    };
    let index = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| crate::Error::Invalid(format!("--filters: '{s}' is not a filter index")))
    };
    let (a, b) = (index(a)?, index(b)?);
    if b <= a {
        return invalid!("--filters {text} is empty (A..B includes A and excludes B)");
    }
    if b - a > 4096 {
        return invalid!("--filters {text}: at most 4096 filters at a time");
    }
    Ok((a..b).collect())
}

/// The start: `--init`'s images, else the book's grey image from `--seed` (or the clock).
fn start(a: &FiltersArgs) -> Result<Start> {
    if let Some(path) = &a.init {
        let file = tensor::io::load(path)?;
        let Some(images) = file.tensors.get("image") else {
            return invalid!(
                "{}: no tensor named 'image' (expected [B, 3, S, S])",
                path.display()
            );
        };
        return Ok(Start::Images {
            images: images.clone(),
            origin: path.display().to_string(),
        });
    }
    let seed = a.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    Ok(Start::Seed(seed))
}

pub fn run(a: FiltersArgs, ctx: Context) -> Result<()> {
    a.trace.start()?;
    let model = load_model(a.weights.weights.as_deref(), false)?;
    let filters = match (a.filter, &a.filters) {
        (Some(f), _) => vec![f],
        (None, Some(range)) => parse_range(range)?,
        (None, None) => {
            crate::notes::later(format!(
                "note: no --filter or --filters given: drawing filter 0 of {} (--filters 0..64 draws a grid)",
                a.layer
            ));
            vec![0]
        }
    };
    let layer = model.layer_index(&a.layer)?;
    let out = a.out.clone().unwrap_or_else(|| match filters[..] {
        [one] => PathBuf::from(format!("{}_filter{one}.png", a.layer)),
        _ => PathBuf::from(format!(
            "{}_filters_{}-{}.png",
            a.layer,
            filters[0],
            filters[filters.len() - 1] + 1
        )),
    });
    let inputs: Vec<&std::path::Path> = a.init.iter().map(PathBuf::as_path).collect();
    check_output(&out, &inputs)?;
    if let Some(d) = &a.dump {
        check_output(d, &inputs)?;
    }
    let variant = match a.variant {
        VariantChoice::FirstEdition => Variant::FirstEdition,
        VariantChoice::Keras2020 => Variant::Keras2020,
    };
    let steps = a.steps.map_or(variant.default_steps(), |s| s as usize);
    let count = filters.len();
    let request = FilterRequest {
        layer,
        filters,
        size: a.size.map(|s| s as usize),
        steps: Some(steps),
        step_size: a.step,
        variant,
        start: start(&a)?,
        revive: a.revive,
    };
    let bar = progress::bar(steps as u64, ctx.quiet, &format!("{} x{count}", a.layer));
    let figure = figures::filters(&model, request, |s| bar.set_position(s as u64))?;
    bar.finish_and_clear();
    if !figure.revived.is_empty() && !ctx.quiet && !a.json.json {
        eprintln!(
            "revived filter(s) {:?}: dead on the grey start image, restarted from uniform [0, 255)",
            figure.revived
        );
    }
    render::save_png(&out, &figure.picture)?;
    if let Some(d) = &a.dump {
        let losses = figure.ascent.losses.iter().flatten().copied().collect();
        let losses = Tensor::new(&[count, steps], losses);
        render::save_tensors(
            d,
            vec![("images", figure.ascent.images.clone()), ("losses", losses)],
        )?;
    }
    if !figure.dead.is_empty() {
        eprintln!(
            "warning: filter(s) {:?} never fired (loss stayed 0, so the gradient was 0 and the picture is flat grey); \
             try --revive, another --seed, or --init",
            figure.dead
        );
    }
    let c = &figure.config;
    if a.json.json {
        let final_losses: Vec<f32> = figure
            .ascent
            .losses
            .iter()
            .map(|l| l.last().copied().unwrap_or(0.0))
            .collect();
        println!(
            "{}",
            json!({
                "layer": a.layer, "filters": c.filters, "size": c.size, "steps": c.steps, "step": c.step_size,
                "seed": figure.seed, "final_losses": final_losses, "dead_filters": figure.dead,
                "revived_filters": figure.revived,
                "out": out.display().to_string(),
                "dump": a.dump.as_ref().map(|p| p.display().to_string()),
                "ascent_ms": figure.ascent_ms,
            })
        );
    } else if !ctx.quiet {
        eprintln!(
            "wrote {} ({} filter(s) of {}, {steps} steps, {:.1} s)",
            out.display(),
            count,
            a.layer,
            figure.ascent_ms / 1e3
        );
    }
    a.trace.finish()?;
    Ok(())
}
