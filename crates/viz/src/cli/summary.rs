//! `viz summary`: the model's layers, output shapes and parameter counts.

use clap::Args;

use super::args::{Context, WeightsArg};
use crate::error::Result;
use crate::locate::load_model;

#[derive(Args, Debug)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub weights: WeightsArg,
    /// Input side in pixels.
    #[arg(long, default_value_t = 224)]
    pub size: usize,
}

pub fn run(args: SummaryArgs, _: Context) -> Result<()> {
    let model = load_model(args.weights.weights.as_deref(), false)?;
    print!("{}", model.summary(args.size, args.size)?);
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
