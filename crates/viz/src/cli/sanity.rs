//! `viz sanity`: Adebayo et al.'s cascading randomisation for one method (see
//! `attribution::metrics::sanity`): the map after re-drawing the weights from the top layer
//! down, compared with the original, as a table and a figure row.

use std::path::PathBuf;

use attribution::metrics::sanity::{
    cascading_randomization, criterion_stage, passes, CRITERION_LAYER, PASS_BELOW,
};
use attribution::Method;
use clap::Args;
use image::{Rgb, RgbImage};
use serde_json::json;

use super::args::{ClassArg, Context, JsonArg, MethodArgs, ResizeArg, WeightsArg};
use super::progress::bar;
use crate::error::Result;
use crate::explain::labelled_grid;
use crate::locate::load_model;
use crate::output::{check_output, stem};
use crate::render;

#[derive(Args, Debug)]
pub struct SanityArgs {
    /// The image (PNG or JPEG), or sample:chelsea, sample:coffee, sample:rocket.
    pub image: PathBuf,
    /// The method to check (see `viz attribute --help`).
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
    /// Seed of the re-drawn weights.
    #[arg(long = "randomization-seed", default_value_t = 0)]
    pub randomization_seed: u64,
    /// The figure: one saliency map per stage (default: the image name + "_" + method +
    /// "_sanity.png").
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonArg,
}

/// A saliency plane as a grey picture (normalised by its maximum).
fn grey(saliency: &tensor::Tensor) -> RgbImage {
    let (h, w) = (saliency.shape()[0], saliency.shape()[1]);
    let max = saliency.data().iter().copied().fold(0.0f32, f32::max);
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let v = saliency.data()[y as usize * w + x as usize];
        let g = if max > 0.0 {
            (255.0 * (v / max).clamp(0.0, 1.0)).round() as u8
        } else {
            0
        };
        Rgb([g, g, g])
    })
}

pub fn run(a: SanityArgs, ctx: Context) -> Result<()> {
    let method = Method::parse(&a.method)?;
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "{}_{}_sanity.png",
            stem(&a.image),
            method.name().replace('+', "p")
        ))
    });
    check_output(&out, &[&a.image])?;
    let model = load_model(&a.weights, true)?;
    let opts = a.options.options(&model)?;
    opts.validate()?;
    let class = a.class.resolve(&model)?;
    let (_, input) = crate::samples::load_for(&model, &a.image, a.resize.mode())?;
    let stages_count = model.weighted_layers_top_down().len() as u64 + 1;
    let progress = bar(stages_count, ctx.quiet, "sanity");
    let stages = cascading_randomization(
        &model,
        &input,
        method,
        class,
        &opts,
        a.randomization_seed,
        &mut |name| {
            progress.set_message(name.to_string());
            progress.inc(1);
        },
    )?;
    progress.finish_and_clear();
    let tiles: Vec<(RgbImage, Vec<String>)> = stages
        .iter()
        .map(|s| {
            let name = s
                .down_to
                .clone()
                .map_or("original".to_string(), |n| format!("to {n}"));
            (
                grey(&s.saliency),
                vec![name, format!("rho {:.2} ssim {:.2}", s.spearman, s.ssim)],
            )
        })
        .collect();
    render::save_png(&out, &labelled_grid(&tiles, 9, model.input_size() as u32))?;
    let pass = passes(&stages);
    if a.json.json {
        println!(
            "{}",
            json!({
                "method": method.name(),
                "stages": stages.iter().map(|s| json!({
                    "randomized_down_to": s.down_to,
                    "layers": s.layers,
                    "spearman": s.spearman,
                    "ssim": s.ssim,
                })).collect::<Vec<_>>(),
                "passes": pass,
                "criterion_layer": CRITERION_LAYER,
                "criterion_spearman": criterion_stage(&stages).map(|s| s.spearman),
                "pass_below": PASS_BELOW,
                "out": out.display().to_string(),
            })
        );
    } else {
        println!("{:<28} {:>9} {:>7}", "re-drawn down to", "Spearman", "SSIM");
        for s in &stages {
            let name = s.down_to.clone().unwrap_or_else(|| "(original)".into());
            println!("{name:<28} {:>9.3} {:>7.3}", s.spearman, s.ssim);
        }
        println!(
            "{}: {} (rank correlation {:.3} with the classifier and block5 re-drawn, down to \
             {CRITERION_LAYER}; passes below {PASS_BELOW}) -> {}",
            method.name(),
            if pass {
                "passes"
            } else {
                "FAILS: the map barely depends on the top layers' weights"
            },
            criterion_stage(&stages).map_or(f32::NAN, |s| s.spearman),
            out.display()
        );
    }
    Ok(())
}
