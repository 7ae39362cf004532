//! Output paths: refused before any work starts when they cannot be written (or would
//! overwrite an input). Files themselves are always written atomically (`tensor::io`).

use std::path::Path;

use crate::error::{invalid, Result};

/// Refuses an output path that is an input, or whose folder does not exist or is not writable.
pub fn check_output(out: &Path, inputs: &[&Path]) -> Result<()> {
    for input in inputs {
        if same_file(out, input) {
            return invalid!(
                "output {} is also an input: choose another output path",
                out.display()
            );
        }
    }
    if out.is_dir() {
        return invalid!("output {} is a directory: give a file name", out.display());
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return invalid!(
            "output folder {} does not exist: create it first",
            parent.display()
        );
    }
    match std::fs::metadata(parent) {
        Ok(meta) if meta.permissions().readonly() => {
            invalid!("output folder {} is not writable", parent.display())
        }
        Ok(_) => Ok(()),
        Err(e) => invalid!("output folder {}: {e}", parent.display()),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// The file name of `path` without its extension ("image" when there is none; the sample's
/// name for `sample:NAME`), for default output names.
pub fn stem(path: &Path) -> String {
    if let Some(name) = path
        .to_str()
        .and_then(|s| s.strip_prefix(crate::samples::PREFIX))
    {
        return name.to_string();
    }
    path.file_stem()
        .map_or("image".into(), |s| s.to_string_lossy().into_owned())
}

/// The file name of `path` alone.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}
