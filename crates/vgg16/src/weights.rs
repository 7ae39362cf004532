//! Reading and writing weights in the project's safetensors format (SPEC section 4).
//!
//! The file is memory-mapped. `f32` tensors whose data is 4-byte aligned are used in place,
//! without a copy (the 411 MB of fc1 are read straight from the page cache); `f16`/`bf16` tensors
//! are converted to `f32` on load. Every tensor is checked for NaN and infinity.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use memmap2::Mmap;
use rayon::prelude::*;
use std::io::Write;

use safetensors::tensor::{Dtype, SafeTensors};
use tensor::Tensor;

use crate::error::{Error, Result};
use crate::files::write_atomically_with;
use crate::layers::{CONV_NAMES, DENSE_NAMES, TORCHVISION_CONV_INDEX, TORCHVISION_DENSE_INDEX};

/// The tensors and metadata of a weights file, with torchvision names already mapped to ours.
pub struct WeightFile {
    pub tensors: HashMap<String, Tensor>,
    pub metadata: HashMap<String, String>,
    /// True when the file used torchvision's names (`features.N.weight`, ...).
    pub torchvision_names: bool,
}

/// A region of a memory-mapped file viewed as `f32` values.
struct MappedF32 {
    map: Arc<Mmap>,
    start: usize,
    len: usize,
}

impl AsRef<[f32]> for MappedF32 {
    fn as_ref(&self) -> &[f32] {
        // SAFETY: `start` is 4-byte aligned (checked in `mapped_f32`), the region lies inside
        // the map (safetensors validated the offsets), and the map lives as long as `self`.
        unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().add(self.start) as *const f32, self.len)
        }
    }
}

/// Our name for a torchvision tensor name, if it is one of VGG16's.
fn from_torchvision(name: &str) -> Option<String> {
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

/// Explains a safetensors parse error in words.
fn explain(e: safetensors::SafeTensorError) -> String {
    use safetensors::SafeTensorError as E;
    match e {
        E::HeaderTooSmall => {
            "file too small to be safetensors (needs at least an 8-byte header length)".into()
        }
        E::HeaderTooLarge => {
            "header length is absurdly large: not a safetensors file, or corrupt".into()
        }
        E::InvalidHeaderLength => {
            "header length runs past the end of the file: truncated or not safetensors".into()
        }
        E::InvalidHeader(_) | E::InvalidHeaderDeserialization(_) => {
            "header is not valid safetensors JSON".into()
        }
        E::MetadataIncompleteBuffer => {
            "file is shorter than its header says: truncated download?".into()
        }
        other => format!("not a valid safetensors file ({other:?})"),
    }
}

impl WeightFile {
    /// Maps and validates a safetensors file (structure, dtypes, finite values).
    pub fn load(path: &Path) -> Result<WeightFile> {
        let shown = path.display();
        let file = File::open(path).map_err(|source| {
            let hint = if source.kind() == std::io::ErrorKind::NotFound {
                " (run tools/fetch-weights, or pass --weights FILE)"
            } else {
                ""
            };
            Error::weights(&shown, format!("cannot open weights file: {source}{hint}"))
        })?;
        // SAFETY: the map is read-only; like every program that maps files, we assume nobody
        // truncates the file while it is mapped.
        let map = Arc::new(
            unsafe { Mmap::map(&file) }
                .map_err(|e| Error::weights(&shown, format!("cannot map: {e}")))?,
        );
        let st = SafeTensors::deserialize(&map).map_err(|e| Error::weights(&shown, explain(e)))?;
        let (_, header) =
            SafeTensors::read_metadata(&map).map_err(|e| Error::weights(&shown, explain(e)))?;
        let metadata = header.metadata().clone().unwrap_or_default();

        let mut tensors = HashMap::new();
        let mut torchvision_names = false;
        for (name, view) in st.iter() {
            let ours = if let Some(mapped) = from_torchvision(name) {
                torchvision_names = true;
                mapped
            } else {
                name.to_string()
            };
            let shape = view.shape().to_vec();
            let data = view.data();
            let count: usize = shape.iter().product();
            let tensor = match view.dtype() {
                Dtype::F32 => {
                    let start = data.as_ptr() as usize - map.as_ptr() as usize;
                    if start.is_multiple_of(4) && cfg!(target_endian = "little") {
                        Tensor::from_shared(
                            &shape,
                            Arc::new(MappedF32 {
                                map: map.clone(),
                                start,
                                len: count,
                            }),
                        )
                    } else {
                        let v = data
                            .chunks_exact(4)
                            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                            .collect();
                        Tensor::new(&shape, v)
                    }
                }
                Dtype::F16 => Tensor::new(
                    &shape,
                    data.chunks_exact(2)
                        .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                        .collect(),
                ),
                Dtype::BF16 => Tensor::new(
                    &shape,
                    data.chunks_exact(2)
                        .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                        .collect(),
                ),
                other => {
                    return Err(Error::weights(
                        &shown,
                        format!("tensor '{name}' has dtype {other:?}; expected F32, F16 or BF16"),
                    ))
                }
            };
            if let Some(bad) = tensor.data().par_iter().position_first(|v| !v.is_finite()) {
                return Err(Error::weights(
                    &shown,
                    format!(
                        "tensor '{name}' holds {} at index {bad}: the file is corrupt",
                        tensor.data()[bad]
                    ),
                ));
            }
            tensors.insert(ours, tensor);
        }
        Ok(WeightFile {
            tensors,
            metadata,
            torchvision_names,
        })
    }
}

/// Writes f32 tensors and metadata as safetensors, atomically (temporary file, then rename).
///
/// The header is written here rather than by the `safetensors` crate so that the bytes are
/// deterministic (tensors and metadata keys sorted by name), which lets `tools/fetch-weights`
/// verify the converted file by checksum.
pub fn save(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: &HashMap<String, String>,
) -> Result<()> {
    let mut sorted: Vec<&(String, Tensor)> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        let meta: serde_json::Map<String, serde_json::Value> = metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect();
        header.insert("__metadata__".into(), meta.into());
    }
    let mut offset = 0usize;
    for (name, t) in &sorted {
        let end = offset + t.len() * 4;
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": t.shape(), "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    // serde_json's map keeps keys sorted, so the text is deterministic.
    let mut text = serde_json::to_string(&header).expect("JSON of strings and numbers");
    while !text.len().is_multiple_of(8) {
        text.push(' ');
    }
    write_atomically_with(path, |f| {
        let mut out = std::io::BufWriter::new(f);
        out.write_all(&(text.len() as u64).to_le_bytes())?;
        out.write_all(text.as_bytes())?;
        for (_, t) in &sorted {
            for v in t.data() {
                out.write_all(&v.to_le_bytes())?;
            }
        }
        out.flush()
    })
}
