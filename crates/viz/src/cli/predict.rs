//! `viz predict`: the top-K classes of an image.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde_json::json;

use super::args::{Context, JsonArg, ResizeArg, WeightsArg};
use super::report;
use crate::error::Result;
use crate::locate::load_model;

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// The image (PNG or JPEG; any size, grey/RGBA/16-bit/CMYK converted), or sample:chelsea,
    /// sample:coffee, sample:rocket (photos built into viz).
    pub image: PathBuf,
    #[command(flatten)]
    pub weights: WeightsArg,
    /// How many classes to show.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub top: u16,
    #[command(flatten)]
    pub resize: ResizeArg,
    #[command(flatten)]
    pub json: JsonArg,
    #[command(flatten)]
    pub trace: super::trace::TraceArg,
}

pub fn run(args: PredictArgs, _: Context) -> Result<()> {
    args.trace.start()?;
    let model = load_model(&args.weights, true)?;
    let (_, input) = crate::samples::load_for(&model, &args.image, args.resize.mode())?;
    let started = Instant::now();
    let logits = model.logits(&input)?;
    let probs = model.probabilities(&logits);
    let top = (args.top as usize).min(model.num_classes());
    let preds = report::top_k(&model, &logits, &probs, top);
    if args.json.json {
        let forward_ms = started.elapsed().as_secs_f64() * 1e3;
        let image = args.image.display().to_string();
        let list = report::predictions_json(&preds);
        println!(
            "{}",
            json!({
                "predictions": list,
                "image": image,
                "forward_ms": forward_ms,
                "preprocessing": model.preprocessing.name(),
            })
        );
    } else {
        report::print_predictions(&preds, true);
        println!("(preprocessing: {})", model.preprocessing.name());
    }
    args.trace.finish()?;
    Ok(())
}
