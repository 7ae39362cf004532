//! `viz compare`: every attribution method on one image, side by side, with its time.

use std::path::PathBuf;

use attribution::{Method, METHODS};
use clap::Args;
use serde_json::json;

use super::args::{ClassArg, Context, JsonArg, MethodArgs, ResizeArg, WeightsArg};
use super::progress::bar;
use crate::error::Result;
use crate::explain::compare_figure;
use crate::locate::load_model;
use crate::output::{check_output, stem};
use crate::render;

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The image (PNG or JPEG), or sample:chelsea, sample:coffee, sample:rocket.
    pub image: PathBuf,
    /// Comma-separated methods to show (default: all twenty; see `viz attribute --help`).
    #[arg(long, value_delimiter = ',')]
    pub methods: Vec<String>,
    #[command(flatten)]
    pub weights: WeightsArg,
    #[command(flatten)]
    pub class: ClassArg,
    #[command(flatten)]
    pub options: MethodArgs,
    #[command(flatten)]
    pub resize: ResizeArg,
    /// Also evaluate every map: deletion and insertion AUC with this many pixels per point
    /// (see `viz evaluate`; 224 is its default, larger is faster).
    #[arg(long, value_name = "STEP")]
    pub evaluate: Option<usize>,
    /// The figure (default: the image name + "_compare.png").
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonArg,
}

pub fn run(a: CompareArgs, ctx: Context) -> Result<()> {
    let methods: Vec<Method> = if a.methods.is_empty() {
        METHODS.iter().map(|&(_, m)| m).collect()
    } else {
        a.methods
            .iter()
            .map(|m| Method::parse(m))
            .collect::<vgg16::Result<_>>()?
    };
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}_compare.png", stem(&a.image))));
    check_output(&out, &[&a.image])?;
    if a.evaluate == Some(0) {
        return crate::error::invalid!("--evaluate needs a step of at least 1 pixel");
    }
    let model = load_model(&a.weights, true)?;
    let opts = a.options.options(&model)?;
    let class = a.class.resolve(&model)?;
    let (original, input) = crate::samples::load_for(&model, &a.image, a.resize.mode())?;
    let progress = bar(methods.len() as u64, ctx.quiet, "methods");
    let (figure, runs, chosen) = compare_figure(
        &model,
        &original,
        &input,
        &methods,
        class,
        &opts,
        a.evaluate,
        &mut |name| {
            progress.set_message(format!("{name} done"));
            progress.inc(1);
        },
    )?;
    progress.finish_and_clear();
    render::save_png(&out, &figure)?;
    let rows: Vec<serde_json::Value> = runs
        .iter()
        .map(|r| {
            json!({
                "method": r.method.name(),
                "ms": r.ms,
                "all_zero": r.all_zero,
                "map_shape": r.map_shape,
                "deletion_auc": r.aucs.map(|a| a.0),
                "insertion_auc": r.aucs.map(|a| a.1),
            })
        })
        .collect();

    let class = chosen.unwrap_or(0);
    let label = model.class_label(class);
    if a.json.json {
        println!(
            "{}",
            json!({
                "class": class,
                "label": label,
                "layer": a.options.layer,
                "methods": rows,
                "out": out.display().to_string(),
            })
        );
    } else {
        for r in &rows {
            println!(
                "{:<22} {:>9.0} ms",
                r["method"].as_str().unwrap_or(""),
                r["ms"].as_f64().unwrap_or(0.0)
            );
        }
        println!(
            "{} methods on class {class} ({label}) -> {}",
            rows.len(),
            out.display()
        );
    }
    Ok(())
}
