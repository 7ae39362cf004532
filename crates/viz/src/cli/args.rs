//! Arguments shared by several commands, declared once and flattened into each command.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use vgg16::Resize;

/// `--weights FILE`.
#[derive(Args, Debug, Clone)]
pub struct WeightsArg {
    /// Weights file (default: weights/vgg16.safetensors, or weights/vgg16_notop.safetensors where the classifier is not needed).
    #[arg(long)]
    pub weights: Option<PathBuf>,
}

/// `--json`.
#[derive(Args, Debug, Clone, Copy)]
pub struct JsonArg {
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `--resize nearest|bilinear`.
#[derive(Args, Debug, Clone, Copy)]
pub struct ResizeArg {
    /// Resampling to the input size: nearest (Keras's default) or bilinear (PIL's, antialiased).
    #[arg(long, value_enum, default_value_t = ResizeChoice::Nearest)]
    pub resize: ResizeChoice,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ResizeChoice {
    Nearest,
    Bilinear,
}

impl ResizeArg {
    pub fn mode(self) -> Resize {
        match self.resize {
            ResizeChoice::Nearest => Resize::Nearest,
            ResizeChoice::Bilinear => Resize::Bilinear,
        }
    }
}

/// What every command may need from the global options.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// `--quiet`: no progress bars.
    pub quiet: bool,
}
