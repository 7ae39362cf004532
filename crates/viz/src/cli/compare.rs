//! `viz compare`: every attribution method on one image, side by side, with its time.

use std::path::PathBuf;

use attribution::{Method, METHODS};
use clap::Args;
use serde_json::json;

use super::args::{ClassArg, Context, JsonArg, MethodArgs, ResizeArg, WeightsArg};
use super::progress::bar;
use crate::error::Result;
use crate::explain::{attribution_figure, labelled_grid};
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
    let model = load_model(a.weights.weights.as_deref(), true)?;
    let opts = a.options.options(&model)?;
    let class = a.class.resolve(&model)?;
    let (original, input) = crate::samples::load_for(&model, &a.image, a.resize.mode())?;
    let side = model.input_size() as u32;

    let progress = bar(methods.len() as u64, ctx.quiet, "methods");
    let mut tiles = vec![(original.clone(), vec!["input".to_string(), String::new()])];
    let mut rows = Vec::new();
    let mut chosen = class;
    for &method in &methods {
        progress.set_message(method.name());
        let figure = attribution_figure(&model, &original, &input, method, chosen, &opts)?;
        // Every method explains the same class: the first run's (the top-1 unless --class).
        chosen = Some(figure.result.classes[0]);
        tiles.push((
            figure.picture.clone(),
            vec![method.name().to_string(), format!("{:.0} ms", figure.ms)],
        ));
        rows.push(json!({
            "method": method.name(),
            "ms": figure.ms,
            "all_zero": figure.all_zero,
            "map_shape": figure.result.map.shape(),
        }));
        progress.inc(1);
    }
    progress.finish_and_clear();
    render::save_png(&out, &labelled_grid(&tiles, 6, side))?;

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
