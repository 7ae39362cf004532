//! Several images in one run (`viz gradcam a.png b.png ...`, `viz attribute ...`): they are
//! batched through the network, one output per image goes into `--out-dir` as
//! `<image name>_<suffix>.png`, and `--dump` maps keep their leading batch axis.

use std::path::{Path, PathBuf};

use image::RgbImage;
use tensor::Tensor;
use vgg16::{Resize, Vgg16};

use crate::error::{invalid, Result};
use crate::output::{check_output, stem};

/// The output file of each image: `dir/<stem>_<suffix>.png` (`dir` is created if missing); two
/// images with the same name are refused (their outputs would overwrite each other).
pub fn outputs(images: &[PathBuf], dir: &Path, suffix: &str) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return invalid!("cannot create --out-dir {}: {e}", dir.display());
        }
    }
    let mut outs: Vec<PathBuf> = Vec::with_capacity(images.len());
    for image in images {
        let out = dir.join(format!("{}_{suffix}.png", stem(image)));
        if outs.contains(&out) {
            return invalid!(
                "two images would both write {}: rename one, or run them separately",
                out.display()
            );
        }
        check_output(
            &out,
            &images.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        )?;
        outs.push(out);
    }
    Ok(outs)
}

/// Refuses the single-file options with several images.
pub fn no_single_outputs(
    count: usize,
    out: Option<&PathBuf>,
    heatmap: Option<&PathBuf>,
) -> Result<()> {
    if out.is_some() || heatmap.is_some() {
        return invalid!(
            "--out and --heatmap name one file, and {count} images were given: use --out-dir DIR \
             (default: the current folder) for one output per image"
        );
    }
    Ok(())
}

/// Every image loaded at the model's input size: the pictures, and the inputs stacked into
/// one batch `[N, 3, H, W]`.
pub fn load_batch(
    model: &Vgg16,
    images: &[PathBuf],
    mode: Resize,
) -> Result<(Vec<RgbImage>, Tensor)> {
    let mut originals = Vec::with_capacity(images.len());
    let mut data = Vec::new();
    let mut shape = vec![images.len()];
    for image in images {
        let (original, input) = crate::samples::load_for(model, image, mode)?;
        if shape.len() == 1 {
            shape.extend_from_slice(&input.shape()[1..]);
        }
        data.extend_from_slice(input.data());
        originals.push(original);
    }
    Ok((originals, Tensor::new(&shape, data)))
}
