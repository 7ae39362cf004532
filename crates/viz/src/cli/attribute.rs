//! `viz attribute`: any attribution method (CAM or input space) for a class over an image.

use std::path::PathBuf;

use attribution::Method;
use clap::Args;
use serde_json::json;

use super::args::{ClassArg, Context, JsonArg, MethodArgs, ResizeArg, WeightsArg};
use super::report;
use crate::error::Result;
use crate::explain::attribution_figure;
use crate::locate::load_model;
use crate::output::{check_output, stem};
use crate::render;

#[derive(Args, Debug)]
pub struct AttributeArgs {
    /// The image (PNG or JPEG), or sample:chelsea, sample:coffee, sample:rocket. Several images
    /// run as one batch, one picture each in --out-dir.
    #[arg(required = true, num_args = 1..)]
    pub images: Vec<PathBuf>,
    /// With several images: the folder of the pictures (`<image name>_<method>.png`; default:
    /// the current folder).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// The method: gradcam, hirescam, gradcam-elementwise, gradcam++, xgradcam, layercam,
    /// eigencam, eigengradcam, scorecam, ablationcam, saliency, input-x-gradient,
    /// integrated-gradients, smoothgrad, smoothgrad-sq, vargrad, guided-backprop, deconvnet,
    /// guided-gradcam, occlusion.
    #[arg(long)]
    pub method: String,
    #[command(flatten)]
    pub weights: WeightsArg,
    #[command(flatten)]
    pub class: ClassArg,
    #[command(flatten)]
    pub options: MethodArgs,
    #[command(flatten)]
    pub resize: ResizeArg,
    /// Output picture: the overlay (CAM methods) or the saliency picture (input-space methods)
    /// (default: the image name + "_" + method + ".png").
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also save the map alone: the heat map (CAM) or the signed red/blue map (input space).
    #[arg(long)]
    pub heatmap: Option<PathBuf>,
    /// Save map, weights, logits (and for CAM: scaled, activations, gradients) as safetensors.
    #[arg(long)]
    pub dump: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonArg,
    #[command(flatten)]
    pub trace: super::trace::TraceArg,
}

pub fn run(a: AttributeArgs, _: Context) -> Result<()> {
    a.trace.start()?;
    let method = Method::parse(&a.method)?;
    if a.images.len() > 1 {
        run_many(&a, method)?;
        a.trace.finish()?;
        return Ok(());
    }
    let image = a.images[0].clone();
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "{}_{}.png",
            stem(&image),
            method.name().replace('+', "p")
        ))
    });
    for p in [Some(&out), a.heatmap.as_ref(), a.dump.as_ref()]
        .into_iter()
        .flatten()
    {
        check_output(p, &[&image])?;
    }
    let model = load_model(&a.weights, true)?;
    let opts = a.options.options(&model)?;
    let class = a.class.resolve(&model)?;
    let (original, input) = crate::samples::load_for(&model, &image, a.resize.mode())?;
    let figure = attribution_figure(&model, &original, &input, method, class, &opts)?;
    let result = &figure.result;
    render::save_png(&out, &figure.picture)?;
    if let Some(p) = &a.heatmap {
        render::save_png(p, &figure.alone)?;
    }
    if let Some(p) = &a.dump {
        render::save_tensors(p, dump_tensors(result, &input))?;
    }
    let class = result.classes[0];
    let label = model.class_label(class);
    let preds = report::top_k(&model, &result.logits, &result.probabilities, 3);
    if figure.all_zero {
        eprintln!(
            "warning: the {} map is all zero: no positive evidence for class {class} ({label}) at {}; the overlay shows no heat",
            method.name(),
            a.options.layer
        );
    }
    if a.json.json {
        println!(
            "{}",
            json!({
                "method": method.name(),
                "class": class,
                "label": label,
                "layer": (method.is_cam() || method == Method::Gradient(attribution::GradientMethod::GuidedGradCam)).then_some(&a.options.layer),
                "score": match opts.score { attribution::Score::Logit => "logit", attribution::Score::Probability => "probability" },
                "all_zero": figure.all_zero,
                "map_shape": result.map.shape(),
                "predictions": report::predictions_json(&preds),
                "out": out.display().to_string(),
                "heatmap": a.heatmap.as_ref().map(|p| p.display().to_string()),
                "dump": a.dump.as_ref().map(|p| p.display().to_string()),
                "ms": figure.ms,
                "preprocessing": model.preprocessing.name(),
            })
        );
    } else {
        report::print_predictions(&preds, false);
        println!(
            "{} of class {class} ({label}) in {:.0} ms ({} preprocessing) -> {}",
            method.name(),
            figure.ms,
            model.preprocessing.name(),
            out.display()
        );
    }
    a.trace.finish()?;
    Ok(())
}

/// Several images: one batch through the method, one picture each.
fn run_many(a: &AttributeArgs, method: Method) -> Result<()> {
    super::many::no_single_outputs(a.images.len(), a.out.as_ref(), a.heatmap.as_ref())?;
    let dir = a.out_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let outs = super::many::outputs(&a.images, &dir, &method.name().replace('+', "p"))?;
    if let Some(p) = &a.dump {
        check_output(
            p,
            &a.images.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        )?;
    }
    let model = load_model(&a.weights, true)?;
    let opts = a.options.options(&model)?;
    let class = a.class.resolve(&model)?;
    let (originals, input) = super::many::load_batch(&model, &a.images, a.resize.mode())?;
    let classes = class.map(|c| vec![c; a.images.len()]);
    let result = attribution::attribute(&model, &input, method, classes.as_deref(), &opts)?;
    let mut rows = Vec::new();
    for (i, ((original, out), image)) in originals.iter().zip(&outs).zip(&a.images).enumerate() {
        let (picture, _, all_zero) = crate::explain::draw(&result, i, original);
        render::save_png(out, &picture)?;
        let c = result.classes[i];
        rows.push(json!({
            "image": image.display().to_string(),
            "class": c,
            "label": model.class_label(c),
            "all_zero": all_zero,
            "out": out.display().to_string(),
        }));
    }
    if let Some(p) = &a.dump {
        render::save_tensors(p, dump_tensors(&result, &input))?;
    }
    if a.json.json {
        println!(
            "{}",
            json!({
                "method": method.name(),
                "images": rows,
                "preprocessing": model.preprocessing.name(),
                "dump": a.dump.as_ref().map(|p| p.display().to_string()),
            })
        );
    } else {
        for r in &rows {
            println!(
                "{}: {} of class {} ({}) -> {}",
                r["image"].as_str().unwrap_or(""),
                method.name(),
                r["class"],
                r["label"].as_str().unwrap_or(""),
                r["out"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

/// What `--dump` holds: `map`, `logits`, the model `input`, and where the method has them
/// `weights`, `scaled`, `activations`, `gradients` (all with the batch axis).
fn dump_tensors(
    result: &attribution::Attribution,
    input: &tensor::Tensor,
) -> Vec<(&'static str, tensor::Tensor)> {
    let mut tensors = vec![
        ("map", result.map.clone()),
        ("logits", result.logits.clone()),
        ("input", input.clone()),
    ];
    for (name, t) in [
        ("weights", &result.weights),
        ("scaled", &result.scaled),
        ("activations", &result.activations),
        ("gradients", &result.gradients),
    ] {
        if let Some(t) = t {
            tensors.push((name, t.clone()));
        }
    }
    tensors
}
