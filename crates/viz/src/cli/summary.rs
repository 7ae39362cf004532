//! `viz summary`: the model's layers, output shapes and parameter counts.

use clap::Args;

use super::args::{Context, WeightsArg};
use crate::error::Result;
use crate::locate::load_model;

#[derive(Args, Debug)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub weights: WeightsArg,
    /// Input side in pixels (default: the model's, 224 unless the file says).
    #[arg(long)]
    pub size: Option<usize>,
}

pub fn run(args: SummaryArgs, _: Context) -> Result<()> {
    let model = load_model(&args.weights, false)?;
    let size = args.size.unwrap_or(model.input_size());
    print!("{}", model.summary(size, size)?);
    println!(
        "Preprocessing: {}{}",
        model.preprocessing.name(),
        if model.preprocessing_guessed {
            " (guessed from the tensor names; the file does not say)"
        } else {
            " (from the file)"
        }
    );
    Ok(())
}
