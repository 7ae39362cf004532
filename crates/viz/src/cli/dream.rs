//! `viz dream`: deep dream (Deep Learning with Python, 8.2) on a photo, see
//! `featureviz::dream`.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;
use tensor::Tensor;

use super::args::{Context, JsonArg, WeightsArg};
use super::progress;
use crate::error::{invalid, Result};
use crate::locate::load_model;
use crate::output::{check_output, stem};
use crate::render;

#[derive(Args, Debug)]
pub struct DreamArgs {
    /// The photo (PNG or JPEG), or sample:chelsea, sample:coffee, sample:rocket.
    pub image: PathBuf,
    /// Layers whose activations to amplify, each with an optional coefficient:
    /// block4_conv1,block5_conv1=1.5 (default coefficient 1).
    #[arg(long, default_value = "block4_conv1,block5_conv1")]
    pub layers: String,
    #[command(flatten)]
    pub weights: WeightsArg,
    /// The longer side of the dreamt photo (it is resized to it, keeping its aspect ratio,
    /// with Pillow's bicubic filter); 0 keeps the photo's own size.
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u32).range(0..=4096))]
    pub size: u32,
    /// Scales, each `--octave-scale` times larger than the one before.
    #[arg(long, default_value_t = 3)]
    pub octaves: usize,
    #[arg(long, default_value_t = 1.4)]
    pub octave_scale: f64,
    /// Gradient-ascent steps per octave.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100000))]
    pub steps: u32,
    /// Step in RGB units of [0, 1] (the book's 0.01 for inputs in [-1, 1]).
    #[arg(long, default_value_t = 0.005)]
    pub step: f32,
    /// Stop an octave once the loss passes this (the book's max_loss).
    #[arg(long)]
    pub max_loss: Option<f32>,
    /// Lucid's random transforms (pad, jitter, scale, rotate) at every step.
    #[arg(long)]
    pub transforms: bool,
    /// Seed of the transforms' draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output PNG.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Save `rgb` [1, 3, H, W] in [0, 1] and the `losses` as safetensors.
    #[arg(long)]
    pub dump: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonArg,
}

/// `name[=coefficient],...` -> (layer index, coefficient).
fn parse_layers(model: &vgg16::Vgg16, text: &str) -> Result<Vec<(usize, f32)>> {
    text.split(',')
        .map(|item| {
            let (name, coeff) = match item.split_once('=') {
                Some((n, c)) => match c.trim().parse::<f32>() {
                    Ok(v) if v.is_finite() => (n.trim(), v),
                    _ => return invalid!("--layers: '{c}' is not a coefficient (in '{item}')"),
                },
                None => (item.trim(), 1.0),
            };
            Ok((model.layer_index(name)?, coeff))
        })
        .collect()
}

pub fn run(a: DreamArgs, ctx: Context) -> Result<()> {
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}_dream.png", stem(&a.image))));
    check_output(&out, &[&a.image])?;
    if let Some(d) = &a.dump {
        check_output(d, &[&a.image])?;
    }
    let model = load_model(&a.weights, false)?;
    let layers = parse_layers(&model, &a.layers)?;
    let mut photo = crate::samples::load_image(&a.image)?;
    let (w, h) = photo.dimensions();
    if a.size > 0 && w.max(h) != a.size {
        let f = a.size as f64 / w.max(h) as f64;
        let (nw, nh) = (
            ((w as f64 * f).round() as u32).max(1),
            ((h as f64 * f).round() as u32).max(1),
        );
        photo = vgg16::preprocess::resize(&photo, nw, nh, vgg16::Resize::Bicubic);
    }
    let rgb = crate::lucid::rgb_of(std::slice::from_ref(&photo));
    let mut config = featureviz::dream::DreamConfig::book(layers, model.preprocessing);
    config.octaves = a.octaves;
    config.octave_scale = a.octave_scale;
    config.steps = a.steps as usize;
    config.step = a.step;
    config.max_loss = a.max_loss;
    config.seed = a.seed;
    if a.transforms {
        config.transforms = featureviz::transforms::standard();
    }
    let [_, _, ph, pw] = rgb.dims4();
    featureviz::dream::validate(&model, &config, ph, pw)?;
    let total = (config.octaves * config.steps) as u64;
    let bar = progress::bar(total, ctx.quiet, "dream");
    let started = std::time::Instant::now();
    let steps = config.steps;
    let dreamt = featureviz::dream::dream(&model, &rgb, &config, |octave, step| {
        bar.set_position((octave * steps + step) as u64)
    })?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    bar.finish_and_clear();
    let picture = crate::lucid::tiles_of(&dreamt.rgb).remove(0);
    render::save_png(&out, &picture)?;
    if let Some(d) = &a.dump {
        let losses = Tensor::new(&[dreamt.losses.len()], dreamt.losses.clone());
        render::save_tensors(d, vec![("rgb", dreamt.rgb.clone()), ("losses", losses)])?;
    }
    if a.json.json {
        println!(
            "{}",
            json!({
                "layers": a.layers, "size": [pw, ph], "octaves": dreamt.sizes,
                "steps_per_octave": steps, "step": a.step, "transforms": a.transforms,
                "first_loss": dreamt.losses.first(), "last_loss": dreamt.losses.last(),
                "out": out.display().to_string(),
                "dump": a.dump.as_ref().map(|p| p.display().to_string()),
                "dream_ms": ms, "preprocessing": model.preprocessing.name(),
            })
        );
    } else if !ctx.quiet {
        eprintln!(
            "wrote {} ({pw}x{ph}, {} octaves, {:.1} s)",
            out.display(),
            config.octaves,
            ms / 1e3
        );
    }
    Ok(())
}
