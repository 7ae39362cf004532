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
    /// The image (PNG or JPEG), or sample:chelsea, sample:coffee, sample:rocket.
    pub image: PathBuf,
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
    if let Some(p) = a.trace.trace.as_ref().filter(|p| p.as_os_str() != "-") {
        crate::output::check_output(p, &[])?;
    }
    a.trace.start();
    let method = Method::parse(&a.method)?;
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "{}_{}.png",
            stem(&a.image),
            method.name().replace('+', "p")
        ))
    });
    for p in [Some(&out), a.heatmap.as_ref(), a.dump.as_ref()]
        .into_iter()
        .flatten()
    {
        check_output(p, &[&a.image])?;
    }
    let model = load_model(a.weights.weights.as_deref(), true)?;
    let opts = a.options.options(&model)?;
    let class = a.class.resolve(&model)?;
    let (original, input) = crate::samples::load_for(&model, &a.image, a.resize.mode())?;
    let figure = attribution_figure(&model, &original, &input, method, class, &opts)?;
    let result = &figure.result;
    render::save_png(&out, &figure.picture)?;
    if let Some(p) = &a.heatmap {
        render::save_png(p, &figure.alone)?;
    }
    if let Some(p) = &a.dump {
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
        render::save_tensors(p, tensors)?;
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
