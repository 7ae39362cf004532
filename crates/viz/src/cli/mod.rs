//! The `viz` command line: one file per command (its arguments and its `run`), the arguments
//! several commands share declared once in [`args`] and flattened into each.
//!
//! To add a command: a file here with `XArgs` (clap `Args`) and `run(XArgs, Context)`, a
//! variant in [`Command`], and a line in [`run`]. The work itself belongs in the library
//! (`crate::figures` and the algorithm modules), so the demo and the tests can call it too.

pub mod activations;
pub mod args;
pub mod attribute;
pub mod bench;
pub mod compare;
pub mod convert;
pub mod demo;
pub mod dream;
pub mod evaluate;
pub mod filters;
pub mod gradcam;
pub mod many;
pub mod predict;
pub mod progress;
pub mod report;
pub mod sanity;
pub mod summary;
pub mod trace;

use clap::{Parser, Subcommand};

use crate::error::{invalid, Result};
use args::Context;

#[derive(Parser, Debug)]
#[command(
    name = "viz",
    version,
    about = "What does a convnet see? Filter visualization, Grad-CAM and activations on VGG16"
)]
pub struct Cli {
    /// No progress bars.
    #[arg(long, global = true)]
    pub quiet: bool,
    /// Worker threads (default: all cores).
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the model's layers, output shapes and parameter counts (like Keras's model.summary()).
    Summary(summary::SummaryArgs),
    /// Classify an image: the top-K ImageNet classes.
    Predict(predict::PredictArgs),
    /// Grad-CAM heatmap of a class over an image.
    Gradcam(gradcam::GradcamArgs),
    /// Any attribution method (20: the CAM family and input-space gradients) for a class.
    Attribute(attribute::AttributeArgs),
    /// Every attribution method on one image, side by side, with its time.
    Compare(compare::CompareArgs),
    /// Can a map be trusted? Deletion/insertion AUC, ROAD and confidence change for a method.
    Evaluate(evaluate::EvaluateArgs),
    /// Adebayo et al.'s sanity check: a method's map as the weights are randomised top-down.
    Sanity(sanity::SanityArgs),
    /// Visualize filters by gradient ascent in input space.
    Filters(filters::FiltersArgs),
    /// Deep dream: grow the patterns of chosen layers into a photo, over several scales.
    Dream(dream::DreamArgs),
    /// Draw every channel of a layer's output for an image.
    Activations(activations::ActivationsArgs),
    /// Reproduce the notebook's figures into a folder, with an index.html.
    Demo(demo::DemoArgs),
    /// Time the main workloads (medians after a warm-up). Random weights unless --weights.
    Bench(bench::BenchArgs),
    /// Convert weights into the project's format.
    Convert(convert::ConvertArgs),
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<()> {
    if let Some(t) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(t as usize)
            .build_global()
        {
            return invalid!("cannot start {t} threads: {e}");
        }
    }
    let ctx = Context { quiet: cli.quiet };
    match cli.command {
        Command::Summary(a) => summary::run(a, ctx),
        Command::Predict(a) => predict::run(a, ctx),
        Command::Gradcam(a) => gradcam::run(a, ctx),
        Command::Attribute(a) => attribute::run(a, ctx),
        Command::Compare(a) => compare::run(a, ctx),
        Command::Evaluate(a) => evaluate::run(a, ctx),
        Command::Sanity(a) => sanity::run(a, ctx),
        Command::Filters(a) => filters::run(a, ctx),
        Command::Dream(a) => dream::run(a, ctx),
        Command::Activations(a) => activations::run(a, ctx),
        Command::Demo(a) => demo::run(a, ctx),
        Command::Bench(a) => bench::run(a, ctx),
        Command::Convert(a) => convert::run(a, ctx),
    }
}
