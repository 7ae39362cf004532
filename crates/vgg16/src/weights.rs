//! Weights files in the project's format (SPEC section 4): safetensors read by `tensor::io`
//! (memory-mapped, f16/bf16 converted, every value checked), with VGG16's tensor names.
//!
//! torchvision names (`features.0.weight`, `classifier.6.bias`, ...) are accepted too: they are
//! mapped to ours here, and [`WeightFile::torchvision_names`] says that they were (a model
//! built from such a file preprocesses like torchvision unless its metadata says otherwise).

use std::collections::HashMap;
use std::path::Path;

use tensor::io::{self, FileError};
use tensor::Tensor;

use crate::error::{Error, Result};
use crate::names::{CONV_NAMES, DENSE_NAMES, TORCHVISION_CONV_INDEX, TORCHVISION_DENSE_INDEX};

/// The tensors and metadata of a weights file, with torchvision names already mapped to ours.
pub struct WeightFile {
    pub tensors: HashMap<String, Tensor>,
    pub metadata: HashMap<String, String>,
    /// True when the file used torchvision's names (`features.N.weight`, ...).
    pub torchvision_names: bool,
}

/// Our name for a torchvision tensor name, if it is one of VGG16's.
pub fn from_torchvision(name: &str) -> Option<String> {
    let (prefix, rest) = name.split_once('.')?;
    let (index, kind) = rest.split_once('.')?;
    let index: usize = index.parse().ok()?;
    let layer = match prefix {
        "features" => CONV_NAMES[TORCHVISION_CONV_INDEX.iter().position(|&i| i == index)?],
        "classifier" => DENSE_NAMES[TORCHVISION_DENSE_INDEX.iter().position(|&i| i == index)?],
        _ => return None,
    };
    matches!(kind, "weight" | "bias").then(|| format!("{layer}.{kind}"))
}

/// A file error as a weights error, with a hint when the file is missing.
pub(crate) fn weights_error(e: FileError) -> Error {
    let message = match &e.io {
        // `io::load` keeps the I/O error only for a file it could not open.
        Some(io) => {
            let hint = if io.kind() == std::io::ErrorKind::NotFound {
                " (run tools/fetch-weights, or pass --weights FILE)"
            } else {
                ""
            };
            format!("cannot open weights file: {io}{hint}")
        }
        None => e.message,
    };
    Error::weights(e.path, message)
}

impl WeightFile {
    /// Maps and validates a safetensors file (structure, dtypes, finite values), and maps
    /// torchvision names to ours.
    pub fn load(path: &Path) -> Result<WeightFile> {
        let file = io::load(path).map_err(weights_error)?;
        let mut tensors = HashMap::with_capacity(file.tensors.len());
        let mut torchvision_names = false;
        for (name, tensor) in file.tensors {
            let ours = match from_torchvision(&name) {
                Some(mapped) => {
                    torchvision_names = true;
                    mapped
                }
                None => name,
            };
            tensors.insert(ours, tensor);
        }
        Ok(WeightFile {
            tensors,
            metadata: file.metadata,
            torchvision_names,
        })
    }
}
