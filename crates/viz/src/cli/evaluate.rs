//! `viz evaluate`: can a method's map be trusted? Deletion and insertion curves with their
//! areas, ROAD, and the average drop / increase in confidence (see
//! `attribution::metrics`).

use std::path::PathBuf;

use attribution::metrics::{confidence, deletion, normalised, pixel_saliency, road};
use attribution::Method;
use clap::Args;
use serde_json::json;

use super::args::{ClassArg, Context, JsonArg, MethodArgs, ResizeArg, WeightsArg};
use crate::error::{invalid, Result};
use crate::locate::load_model;
use crate::output::{check_output, stem};
use crate::plot::{line_plot, Series};
use crate::render;

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// The image (PNG or JPEG), or sample:chelsea, sample:coffee, sample:rocket.
    pub image: PathBuf,
    /// The method to evaluate (see `viz attribute --help`).
    #[arg(long, default_value = "gradcam")]
    pub method: String,
    #[command(flatten)]
    pub weights: WeightsArg,
    #[command(flatten)]
    pub class: ClassArg,
    #[command(flatten)]
    pub options: MethodArgs,
    #[command(flatten)]
    pub resize: ResizeArg,
    /// Pixels deleted or inserted per point of the curves (224: 225 points at 224 x 224).
    #[arg(long, default_value_t = 224)]
    pub step: usize,
    /// The curves as an SVG plot (default: the image name + "_" + method + "_curves.svg").
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Save saliency [N, H, W], deletion and insertion [N, points] as safetensors.
    #[arg(long)]
    pub dump: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonArg,
}

pub fn run(a: EvaluateArgs, _: Context) -> Result<()> {
    let method = Method::parse(&a.method)?;
    if a.step == 0 {
        return invalid!("--step must be at least 1 pixel");
    }
    let plot = a.plot.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "{}_{}_curves.svg",
            stem(&a.image),
            method.name().replace('+', "p")
        ))
    });
    for p in [Some(&plot), a.dump.as_ref()].into_iter().flatten() {
        check_output(p, &[&a.image])?;
    }
    let model = load_model(&a.weights, true)?;
    let opts = a.options.options(&model)?;
    let class = a.class.resolve(&model)?;
    let (_, input) = crate::samples::load_for(&model, &a.image, a.resize.mode())?;
    let [_, _, h, w] = input.dims4();

    let classes = class.map(|c| vec![c]);
    let result = attribution::attribute(&model, &input, method, classes.as_deref(), &opts)?;
    let classes = result.classes.clone();
    let saliency = pixel_saliency(&result, h, w);
    let curves =
        deletion::deletion_insertion(&model, &input, &saliency, &classes, a.step, opts.batch)?;
    // The map in [0, 1] for ROAD and the confidence change: a CAM method's picture as
    // pytorch-grad-cam returns it, an input-space method's saliency over its maximum.
    let map01 = match &result.scaled {
        Some(scaled) => scaled.clone(),
        None => normalised(&saliency),
    };
    let roads = road::road(&model, &input, &map01, &classes, opts.batch, opts.seed)?;
    let confidence = confidence::confidence_change(&model, &input, &map01, &classes)?;

    let class = classes[0];
    let label = model.class_label(class);
    let count = curves.deletion.shape()[1];
    let svg = line_plot(
        &format!("{} for {label} ({class})", method.name()),
        "fraction of pixels deleted / inserted",
        "class probability",
        &[
            Series {
                values: &curves.deletion.data()[..count],
                colour: "#d62728",
                label: format!("deletion, AUC {:.3}", curves.deletion_auc[0]),
            },
            Series {
                values: &curves.insertion.data()[..count],
                colour: "#1f77b4",
                label: format!("insertion, AUC {:.3}", curves.insertion_auc[0]),
            },
        ],
        curves
            .deletion
            .data()
            .iter()
            .chain(curves.insertion.data())
            .fold(0.0f32, |m, &v| m.max(v))
            .max(1e-3),
    );
    tensor::io::write_atomically(&plot, svg.as_bytes())?;
    if let Some(p) = &a.dump {
        render::save_tensors(
            p,
            vec![
                ("saliency", saliency.clone()),
                ("deletion", curves.deletion.clone()),
                ("insertion", curves.insertion.clone()),
            ],
        )?;
    }
    let r = &roads[0];
    if a.json.json {
        println!(
            "{}",
            json!({
                "method": method.name(),
                "class": class,
                "label": label,
                "step": a.step,
                "points": count,
                "deletion_auc": curves.deletion_auc,
                "insertion_auc": curves.insertion_auc,
                "road": roads.iter().map(|r| json!({
                    "percentiles": road::PERCENTILES,
                    "most_relevant_first": r.most_relevant_first,
                    "least_relevant_first": r.least_relevant_first,
                    "morf_mean": r.morf_mean,
                    "lerf_mean": r.lerf_mean,
                    "combined": r.combined,
                })).collect::<Vec<_>>(),
                "average_drop_percent": confidence.iter().map(|c| c.0).collect::<Vec<_>>(),
                "increase_in_confidence": confidence.iter().map(|c| c.1).collect::<Vec<_>>(),
                "plot": plot.display().to_string(),
                "dump": a.dump.as_ref().map(|p| p.display().to_string()),
            })
        );
    } else {
        println!("{} for class {class} ({label}):", method.name());
        println!(
            "  deletion AUC   {:.4}   (lower is better)",
            curves.deletion_auc[0]
        );
        println!(
            "  insertion AUC  {:.4}   (higher is better)",
            curves.insertion_auc[0]
        );
        println!(
            "  ROAD           most relevant first {:+.4}, least relevant first {:+.4}, combined {:+.4} (higher is better)",
            r.morf_mean, r.lerf_mean, r.combined
        );
        println!(
            "  confidence     drop {:.2} % (lower is better), increased: {}",
            confidence[0].0,
            if confidence[0].1 { "yes" } else { "no" }
        );
        println!("curves -> {}", plot.display());
    }
    Ok(())
}
