//! `viz activations`: every channel of a layer's output for an image.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde_json::json;

use super::args::{Context, JsonArg, ResizeArg, WeightsArg};
use crate::error::Result;
use crate::figures;
use crate::locate::load_model;
use crate::output::{check_output, stem};
use crate::render;

#[derive(Args, Debug)]
pub struct ActivationsArgs {
    /// The image (PNG or JPEG; any size, grey/RGBA/16-bit/CMYK converted), or sample:chelsea,
    /// sample:coffee, sample:rocket (photos built into viz).
    pub image: PathBuf,
    /// Layer name, e.g. block3_conv1 (see `viz summary`).
    #[arg(long)]
    pub layer: String,
    #[command(flatten)]
    pub weights: WeightsArg,
    #[command(flatten)]
    pub resize: ResizeArg,
    /// Input side in pixels (the image is resized to it).
    #[arg(long, default_value_t = 224, value_parser = clap::value_parser!(u32).range(1..=2048))]
    pub size: u32,
    /// Output PNG.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Save the run's raw tensors as safetensors (for numpy).
    #[arg(long)]
    pub dump: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonArg,
}

pub fn run(a: ActivationsArgs, _: Context) -> Result<()> {
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!("{}_{}_activations.png", stem(&a.image), a.layer))
    });
    check_output(&out, &[&a.image])?;
    if let Some(d) = &a.dump {
        check_output(d, &[&a.image])?;
    }
    let model = load_model(&a.weights, false)?;
    let layer = model.layer_index(&a.layer)?;
    figures::check_activation_layer(&model, layer)?;
    let size = a.size as usize;
    let shape = model.output_shape(layer, size, size)?;
    let (_, input) =
        crate::samples::load_input(&a.image, a.size, a.resize.mode(), model.preprocessing)?;
    let started = Instant::now();
    let (picture, activations) = figures::activations(&model, &input, layer)?;
    let elapsed = started.elapsed().as_secs_f64() * 1e3;
    if let Some(d) = &a.dump {
        render::save_tensors(
            d,
            vec![("activations", activations), ("input", input.clone())],
        )?;
    }
    render::save_png(&out, &picture)?;
    if a.json.json {
        println!(
            "{}",
            json!({
                "layer": a.layer,
                "channels": shape[0],
                "out": out.display().to_string(),
                "dump": a.dump.map(|d| d.display().to_string()),
                "activations_ms": elapsed,
                "preprocessing": model.preprocessing.name(),
            })
        );
    }
    Ok(())
}
