//! `viz demo`: the notebook's figures into a folder, with an index.html.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::args::{Context, WeightsArg};
use super::progress;
use crate::demo;
use crate::error::Result;
use crate::locate::load_model;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder for the figures and index.html (created if missing).
    #[arg(long, default_value = "demo")]
    pub out: PathBuf,
    #[command(flatten)]
    pub weights: WeightsArg,
    /// Image for the activation and Grad-CAM figures, a file or sample:NAME (default:
    /// sample:chelsea, the cat, and then Grad-CAM of every sample photo).
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Ascent steps for the grids (the book: 40).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub steps: u32,
}

pub fn run(a: DemoArgs, ctx: Context) -> Result<()> {
    let started = Instant::now();
    let model = load_model(&a.weights, false)?;
    let steps = a.steps as usize;
    let bar = progress::bar(steps as u64, ctx.quiet, "demo");
    let mut on_step = |figure: &str, step: usize, _: usize| {
        bar.set_message(figure.to_string());
        bar.set_position(step as u64);
    };
    let weights = a.weights.weights.as_deref();
    let report = demo::run(
        &a.out,
        &model,
        weights,
        a.image.as_deref(),
        steps,
        &mut on_step,
    )?;
    bar.finish_and_clear();
    if !report.note.is_empty() {
        eprintln!("note: {}", report.note);
    }
    if !ctx.quiet {
        eprintln!(
            "wrote {} figures and index.html to {} in {:.0} s",
            report.figures.len(),
            a.out.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
