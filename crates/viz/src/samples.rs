//! The sample photos built into `viz` (see `crates/viz/samples/CREDITS.md` for their sources
//! and licences): wherever a command takes an image, `sample:NAME` names one of them, so the
//! examples work on a fresh clone from any folder.

use std::path::Path;

use image::RgbImage;
use tensor::Tensor;
use vgg16::preprocess::{self, Preprocessing, Resize};
use vgg16::Vgg16;

use crate::error::{invalid, Result};

/// One built-in photo.
pub struct Sample {
    /// What follows `sample:`.
    pub name: &'static str,
    /// What the photo shows.
    pub what: &'static str,
    /// Where it comes from and under which licence.
    pub credit: &'static str,
    pub bytes: &'static [u8],
}

/// How an image argument names a built-in photo.
pub const PREFIX: &str = "sample:";

/// The built-in photos.
pub const SAMPLES: [Sample; 3] = [
    Sample {
        name: "chelsea",
        what: "Chelsea the cat, a tabby",
        credit: "photograph by Stefan van der Walt, CC0 (from scikit-image)",
        bytes: include_bytes!("../samples/chelsea.png"),
    },
    Sample {
        name: "coffee",
        what: "a cup of espresso",
        credit: "photograph by Rachel Michetti, CC0 (from scikit-image)",
        bytes: include_bytes!("../samples/coffee.png"),
    },
    Sample {
        name: "rocket",
        what: "the launch of DSCOVR on a Falcon 9",
        credit: "SpaceX, public domain (from scikit-image)",
        bytes: include_bytes!("../samples/rocket.jpg"),
    },
];

/// The sample an image argument names (`sample:NAME`), `None` for a file path, or an error for
/// an unknown name.
pub fn named(arg: &Path) -> Result<Option<&'static Sample>> {
    let Some(name) = arg.to_str().and_then(|s| s.strip_prefix(PREFIX)) else {
        return Ok(None);
    };
    match SAMPLES.iter().find(|s| s.name == name) {
        Some(sample) => Ok(Some(sample)),
        None => {
            let names: Vec<String> = SAMPLES
                .iter()
                .map(|s| format!("{PREFIX}{}", s.name))
                .collect();
            invalid!(
                "no sample photo '{name}'; the samples are {}",
                names.join(", ")
            )
        }
    }
}

/// Decodes a built-in photo.
pub fn image(sample: &Sample) -> Result<RgbImage> {
    Ok(preprocess::decode_image(
        sample.bytes,
        &format!("{PREFIX}{}", sample.name),
    )?)
}

/// An image argument's picture: a built-in photo (`sample:NAME`) or a file.
pub fn load_image(arg: &Path) -> Result<RgbImage> {
    match named(arg)? {
        Some(sample) => image(sample),
        None => Ok(preprocess::load_image(arg)?),
    }
}

/// An image argument's picture and `model`'s input made from it, at the model's input size
/// (224 for the ImageNet classifier) and in its preprocessing.
pub fn load_for(model: &Vgg16, arg: &Path, mode: Resize) -> Result<(RgbImage, Tensor)> {
    load_input(arg, model.input_size() as u32, mode, model.preprocessing)
}

/// An image argument's picture and the model's input made from it at `size x size`.
pub fn load_input(
    arg: &Path,
    size: u32,
    mode: Resize,
    prep: Preprocessing,
) -> Result<(RgbImage, Tensor)> {
    let original = load_image(arg)?;
    let input = preprocess::prepare(&original, size, mode, prep);
    Ok((original, input))
}
