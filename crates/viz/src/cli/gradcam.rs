//! `viz gradcam`: the Grad-CAM heatmap of a class over an image.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::args::{ClassArg, Context, JsonArg, ResizeArg, ScoreChoice, WeightsArg};
use super::report;
use crate::error::Result;
use crate::figures;
use crate::gradcam::Score;
use crate::locate::load_model;
use crate::output::{check_output, stem};
use crate::render;

#[derive(Args, Debug)]
pub struct GradcamArgs {
    /// The image (PNG or JPEG; any size, grey/RGBA/16-bit/CMYK converted), or sample:chelsea,
    /// sample:coffee, sample:rocket (photos built into viz). Several images run as one batch,
    /// one overlay each in --out-dir.
    #[arg(required = true, num_args = 1..)]
    pub images: Vec<PathBuf>,
    /// With several images: the folder of the overlays (`<image name>_cam.png`; default: the
    /// current folder).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    #[command(flatten)]
    pub weights: WeightsArg,
    #[command(flatten)]
    pub class: ClassArg,
    /// Layer name, e.g. block3_conv1 (see `viz summary`).
    #[arg(long, default_value = "block5_conv3")]
    pub layer: String,
    /// What to differentiate: the class's logit (the Grad-CAM paper) or its softmax probability (the book).
    #[arg(long, value_enum, default_value_t = ScoreChoice::Logit)]
    pub score: ScoreChoice,
    #[command(flatten)]
    pub resize: ResizeArg,
    /// Overlay output (default: the image name + "_cam.png", in the current folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also save the coloured heatmap alone.
    #[arg(long)]
    pub heatmap: Option<PathBuf>,
    /// Save cam, activations and gradients as safetensors.
    #[arg(long)]
    pub dump: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonArg,
    #[command(flatten)]
    pub trace: super::trace::TraceArg,
}

pub fn run(a: GradcamArgs, _: Context) -> Result<()> {
    a.trace.start()?;
    if a.images.len() > 1 {
        run_many(&a)?;
        a.trace.finish()?;
        return Ok(());
    }
    let image = a.images[0].clone();
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}_cam.png", stem(&image))));
    for p in [Some(&out), a.heatmap.as_ref(), a.dump.as_ref()]
        .into_iter()
        .flatten()
    {
        check_output(p, &[&image])?;
    }
    let score = match a.score {
        ScoreChoice::Logit => Score::Logit,
        ScoreChoice::Probability => Score::Probability,
    };
    let model = load_model(&a.weights, true)?;
    let layer = model.layer_index(&a.layer)?;
    let (original, input) = crate::samples::load_for(&model, &image, a.resize.mode())?;
    let class = a.class.resolve(&model)?;
    let figure = figures::gradcam(&model, &original, &input, layer, class, score)?;
    let result = &figure.cam;
    render::save_png(&out, &figure.overlay)?;
    if let Some(p) = &a.heatmap {
        render::save_png(p, &figure.heatmap)?;
    }
    if let Some(p) = &a.dump {
        let [_, _, h, w] = result.activations.dims4();
        render::save_tensors(
            p,
            vec![
                ("cam", result.cams.reshape(&[h, w])),
                ("activations", result.activations.clone()),
                ("gradients", result.gradients.clone()),
                ("input", input.clone()),
            ],
        )?;
    }
    let class = result.classes[0];
    let preds = report::top_k(&model, &result.logits, &result.probabilities, 3);
    if result.all_zero[0] {
        eprintln!(
            "warning: the Grad-CAM map is all zero: no positive evidence for class {class} ({}) at {}; the overlay shows no heat",
            model.class_label(class),
            a.layer
        );
    }
    if a.json.json {
        let list = report::predictions_json(&preds);
        let (score_name, score_value) = match score {
            Score::Logit => ("logit", result.logits.data()[class]),
            Score::Probability => ("probability", result.probabilities.data()[class]),
        };
        println!(
            "{}",
            json!({
                "class": class,
                "label": model.class_label(class),
                "score": score_name,
                "score_value": score_value,
                "layer": a.layer,
                "all_zero": result.all_zero[0],
                "predictions": list,
                "out": out.display().to_string(),
                "heatmap": a.heatmap.as_ref().map(|p| p.display().to_string()),
                "dump": a.dump.as_ref().map(|p| p.display().to_string()),
                "gradcam_ms": figure.gradcam_ms,
                "preprocessing": model.preprocessing.name(),
            })
        );
    } else {
        report::print_predictions(&preds, false);
        println!(
            "Grad-CAM of class {class} ({}) at {} ({} preprocessing) -> {}",
            model.class_label(class),
            a.layer,
            model.preprocessing.name(),
            out.display()
        );
    }
    a.trace.finish()?;
    Ok(())
}

/// Several images: one batch through Grad-CAM, one overlay each.
fn run_many(a: &GradcamArgs) -> Result<()> {
    super::many::no_single_outputs(a.images.len(), a.out.as_ref(), a.heatmap.as_ref())?;
    let dir = a.out_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let outs = super::many::outputs(&a.images, &dir, "cam")?;
    if let Some(p) = &a.dump {
        check_output(
            p,
            &a.images.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        )?;
    }
    let score = match a.score {
        ScoreChoice::Logit => Score::Logit,
        ScoreChoice::Probability => Score::Probability,
    };
    let model = load_model(&a.weights, true)?;
    let layer = model.layer_index(&a.layer)?;
    let class = a.class.resolve(&model)?;
    let (originals, input) = super::many::load_batch(&model, &a.images, a.resize.mode())?;
    let classes = class.map(|c| vec![c; a.images.len()]);
    let result = crate::gradcam::grad_cam(&model, &input, layer, classes.as_deref(), score)?;
    let [_, _, h, w] = result.activations.dims4();
    for (i, (original, out)) in originals.iter().zip(&outs).enumerate() {
        let (overlay, _) = render::overlay(
            original,
            &result.cams.data()[i * h * w..(i + 1) * h * w],
            h,
            w,
        );
        render::save_png(out, &overlay)?;
    }
    if let Some(p) = &a.dump {
        render::save_tensors(
            p,
            vec![
                ("cam", result.cams.clone()),
                ("activations", result.activations.clone()),
                ("gradients", result.gradients.clone()),
                ("input", input.clone()),
            ],
        )?;
    }
    let rows: Vec<serde_json::Value> = a
        .images
        .iter()
        .zip(&outs)
        .enumerate()
        .map(|(i, (image, out))| {
            let c = result.classes[i];
            json!({
                "image": image.display().to_string(),
                "class": c,
                "label": model.class_label(c),
                "all_zero": result.all_zero[i],
                "out": out.display().to_string(),
            })
        })
        .collect();
    if a.json.json {
        println!(
            "{}",
            json!({
                "images": rows,
                "layer": a.layer,
                "preprocessing": model.preprocessing.name(),
                "dump": a.dump.as_ref().map(|p| p.display().to_string()),
            })
        );
    } else {
        for r in &rows {
            println!(
                "{}: Grad-CAM of class {} ({}) -> {}",
                r["image"].as_str().unwrap_or(""),
                r["class"],
                r["label"].as_str().unwrap_or(""),
                r["out"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}
