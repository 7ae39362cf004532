//! Named tensors on disk: reading and writing safetensors files, and writing any file safely.
//!
//! - [`load`] memory-maps a file. `f32` tensors whose data is 4-byte aligned are used in place,
//!   without a copy (the 411 MB of VGG16's fc1 are read straight from the page cache);
//!   `f16`/`bf16` tensors are converted to `f32`. Every tensor is checked for NaN and infinity.
//! - [`save`] writes `f32` tensors with deterministic bytes (names and metadata keys sorted), so
//!   a converted file can be verified by checksum.
//! - [`write_atomically`]: everything is written to a temporary file beside the target and
//!   renamed into place, so a failure (or Ctrl-C) never leaves a partial file or damages an
//!   existing one.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use rayon::prelude::*;
use safetensors::tensor::{Dtype, SafeTensors};

use crate::tensor::Tensor;

/// What went wrong with a file, in one line: `"{path}: {message}"`.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FileError {
    pub path: String,
    pub message: String,
    /// The I/O error underneath, when there is one.
    #[source]
    pub io: Option<std::io::Error>,
}

impl FileError {
    pub fn new(path: impl std::fmt::Display, message: impl Into<String>) -> FileError {
        FileError {
            path: path.to_string(),
            message: message.into(),
            io: None,
        }
    }
}

/// The tensors and the string metadata of a safetensors file, by name.
#[derive(Default)]
pub struct NamedTensors {
    pub tensors: HashMap<String, Tensor>,
    pub metadata: HashMap<String, String>,
}

/// A region of a memory-mapped file viewed as `f32` values.
struct MappedF32 {
    map: Arc<Mmap>,
    start: usize,
    len: usize,
}

impl AsRef<[f32]> for MappedF32 {
    fn as_ref(&self) -> &[f32] {
        // SAFETY: `start` is 4-byte aligned (checked in `load`), the region lies inside the map
        // (safetensors validated the offsets), and the map lives as long as `self`.
        unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().add(self.start) as *const f32, self.len)
        }
    }
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

/// Maps and validates a safetensors file (structure, dtypes, finite values).
pub fn load(path: &Path) -> Result<NamedTensors, FileError> {
    let shown = path.display();
    let file = File::open(path).map_err(|source| {
        let message = format!("cannot open: {source}");
        FileError {
            io: Some(source),
            ..FileError::new(&shown, message)
        }
    })?;
    // SAFETY: the map is read-only; like every program that maps files, we assume nobody
    // truncates the file while it is mapped.
    let map = Arc::new(
        unsafe { Mmap::map(&file) }
            .map_err(|e| FileError::new(&shown, format!("cannot map: {e}")))?,
    );
    let st = SafeTensors::deserialize(&map).map_err(|e| FileError::new(&shown, explain(e)))?;
    let (_, header) =
        SafeTensors::read_metadata(&map).map_err(|e| FileError::new(&shown, explain(e)))?;
    let metadata = header.metadata().clone().unwrap_or_default();

    let mut tensors = HashMap::new();
    for (name, view) in st.iter() {
        let shape = view.shape().to_vec();
        let data = view.data();
        let count: usize = shape.iter().product();
        let tensor = match view.dtype() {
            Dtype::F32 => {
                let start = data.as_ptr() as usize - map.as_ptr() as usize;
                if start.is_multiple_of(4) && cfg!(target_endian = "little") {
                    let region = MappedF32 {
                        map: map.clone(),
                        start,
                        len: count,
                    };
                    Tensor::from_shared(&shape, Arc::new(region))
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
                return Err(FileError::new(
                    &shown,
                    format!("tensor '{name}' has dtype {other:?}; expected F32, F16 or BF16"),
                ))
            }
        };
        if let Some(bad) = tensor.data().par_iter().position_first(|v| !v.is_finite()) {
            return Err(FileError::new(
                &shown,
                format!(
                    "tensor '{name}' holds {} at index {bad}: the file is corrupt",
                    tensor.data()[bad]
                ),
            ));
        }
        tensors.insert(name.to_string(), tensor);
    }
    Ok(NamedTensors { tensors, metadata })
}

/// Writes f32 tensors and metadata as safetensors, atomically (temporary file, then rename).
///
/// The header is written here rather than by the `safetensors` crate so that the bytes are
/// deterministic (tensors and metadata keys sorted by name).
pub fn save(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: &HashMap<String, String>,
) -> Result<(), FileError> {
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

/// The temporary name used while `path` is being written.
pub fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Writes `bytes` to `path` atomically (temporary file, flush, rename).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_atomically_with(path, |file| file.write_all(bytes))
}

/// Creates a temporary file beside `path`, lets `fill` write it, syncs it and renames it to
/// `path`. On any error the temporary file is removed and `path` is left as it was.
pub fn write_atomically_with(
    path: &Path,
    fill: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> Result<(), FileError> {
    let tmp = temporary_path(path);
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        fill(&mut file)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(FileError {
            message: e.to_string(),
            io: Some(e),
            ..FileError::new(path.display(), "")
        });
    }
    Ok(())
}
