//! Turning tensors into pictures: the book's deprocessing, grids, colour maps, the Grad-CAM
//! overlay, and PNG files written atomically.

use std::path::Path;

use image::{ImageEncoder, RgbImage};
use tensor::Tensor;
use vgg16::Preprocessing;

use crate::error::Result;

/// SPEC 1.1 "deprocess": `x -= mean(x); x /= (std(x) + 1e-5); x *= 0.1; x += 0.5; clip to
/// [0, 1]; x *= 255; to u8` (mean and std over the whole image, all channels; the u8 conversion
/// truncates, like numpy's `astype('uint8')`). Input `[3, S, S]` in model channel order; output
/// in true RGB (caffe weights see B, G, R: the channels are put back in R, G, B order).
pub fn deprocess(image: &[f32], size: usize, prep: Preprocessing, crop: usize) -> RgbImage {
    deprocess_with(image, size, prep, crop, 0.1)
}

/// [`deprocess`] with another contrast than the book's 0.1 (keras.io's recipe uses 0.15).
pub fn deprocess_with(
    image: &[f32],
    size: usize,
    prep: Preprocessing,
    crop: usize,
    contrast: f64,
) -> RgbImage {
    let n = image.len() as f64;
    let mean = image.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = image
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    let std = var.sqrt();
    let plane = size * size;
    let order = prep.rgb_index_of_channel();
    let side = size - 2 * crop;
    RgbImage::from_fn(side as u32, side as u32, |x, y| {
        let mut px = [0u8; 3];
        for (c, &rgb) in order.iter().enumerate() {
            let v = image[c * plane + (y as usize + crop) * size + x as usize + crop] as f64;
            let v = ((v - mean) / (std + 1e-5) * contrast + 0.5).clamp(0.0, 1.0) * 255.0;
            px[rgb] = v as u8;
        }
        image::Rgb(px)
    })
}

/// Lays `tiles` (all the same size) out `per_row` to a row, in reading order, separated by
/// `margin` black pixels.
pub fn grid(tiles: &[RgbImage], per_row: usize, margin: u32) -> RgbImage {
    let (tw, th) = tiles.first().map_or((1, 1), |t| t.dimensions());
    let cols = per_row.min(tiles.len()).max(1) as u32;
    let rows = tiles.len().div_ceil(per_row.max(1)).max(1) as u32;
    let mut out = RgbImage::new(
        cols * tw + (cols - 1) * margin,
        rows * th + (rows - 1) * margin,
    );
    for (i, tile) in tiles.iter().enumerate() {
        let (r, c) = ((i / per_row) as u32, (i % per_row) as u32);
        image::imageops::replace(
            &mut out,
            tile,
            (c * (tw + margin)) as i64,
            (r * (th + margin)) as i64,
        );
    }
    out
}

/// Nearest-neighbour resize of a tile (PIL NEAREST rule).
pub fn resize_nearest(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    vgg16::preprocess::resize(img, w, h, vgg16::Resize::Nearest)
}

/// The JET colour map (blue -> cyan -> yellow -> red) of a value in [0, 1], as in OpenCV's
/// `COLORMAP_JET` and matplotlib's `jet`.
pub fn jet(v: f32) -> [u8; 3] {
    let v = v.clamp(0.0, 1.0);
    let channel =
        |centre: f32| ((1.5 - (4.0 * v - centre).abs()).clamp(0.0, 1.0) * 255.0).round() as u8;
    [channel(3.0), channel(2.0), channel(1.0)]
}

/// matplotlib's viridis colour map of a value in [0, 1] (piecewise linear through 9 of its
/// points; close enough to tell channels apart).
pub fn viridis(v: f32) -> [u8; 3] {
    const STOPS: [[f32; 3]; 9] = [
        [68.0, 1.0, 84.0],
        [71.0, 44.0, 122.0],
        [59.0, 81.0, 139.0],
        [44.0, 113.0, 142.0],
        [33.0, 144.0, 141.0],
        [39.0, 173.0, 129.0],
        [92.0, 200.0, 99.0],
        [170.0, 220.0, 50.0],
        [253.0, 231.0, 37.0],
    ];
    let t = v.clamp(0.0, 1.0) * 8.0;
    let i = (t.floor() as usize).min(7);
    let f = t - i as f32;
    let mut out = [0u8; 3];
    for c in 0..3 {
        out[c] = (STOPS[i][c] * (1.0 - f) + STOPS[i + 1][c] * f).round() as u8;
    }
    out
}

/// Bilinear upsampling of a `[h, w]` map to `width x height` (pixel centres aligned, edges
/// clamped: OpenCV's `resize` with `INTER_LINEAR`, used by the book).
pub fn upsample_bilinear(map: &[f32], h: usize, w: usize, width: u32, height: u32) -> Vec<f32> {
    attribution::resize::bilinear_half_pixel(map, h, w, height as usize, width as usize)
}

/// The book's overlay: the map resized to the image, `u8(255 * cam)` through JET, then
/// `0.4 * heat + image`, saturated at 255. Returns (overlay, heat map alone).
pub fn overlay(original: &RgbImage, cam: &[f32], h: usize, w: usize) -> (RgbImage, RgbImage) {
    let (width, height) = original.dimensions();
    let big = upsample_bilinear(cam, h, w, width, height);
    let heat = RgbImage::from_fn(width, height, |x, y| {
        let v = (255.0 * big[(y * width + x) as usize]).clamp(0.0, 255.0) as u8;
        image::Rgb(jet(v as f32 / 255.0))
    });
    let blended = RgbImage::from_fn(width, height, |x, y| {
        let (p, q) = (original.get_pixel(x, y), heat.get_pixel(x, y));
        image::Rgb(std::array::from_fn(|c| {
            (0.4 * q[c] as f32 + p[c] as f32).min(255.0) as u8
        }))
    });
    (blended, heat)
}

/// SPEC 1.3: one channel of an activation as a tile: `x -= mean; x /= std; x *= 64; x += 128`,
/// clipped to 0..255, shown with viridis. A constant channel (std 0) is drawn flat at 128.
pub fn activation_tile(channel: &[f32], h: usize, w: usize) -> RgbImage {
    let n = channel.len() as f64;
    let mean = channel.iter().map(|&v| v as f64).sum::<f64>() / n;
    let std = (channel
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let v = channel[y as usize * w + x as usize] as f64;
        let v = if std > 0.0 {
            ((v - mean) / std * 64.0 + 128.0).clamp(0.0, 255.0)
        } else {
            128.0
        };
        image::Rgb(viridis((v as u8) as f32 / 255.0))
    })
}

/// Encodes PNG and writes it atomically (temporary file, then rename).
pub fn save_png(path: &Path, img: &RgbImage) -> Result<()> {
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| {
            tensor::io::FileError::new(path.display(), format!("cannot encode PNG: {e}"))
        })?;
    Ok(tensor::io::write_atomically(path, &bytes)?)
}

/// Writes named tensors as safetensors (for `--dump`).
pub fn save_tensors(path: &Path, tensors: Vec<(&str, Tensor)>) -> Result<()> {
    let named: Vec<(String, Tensor)> = tensors
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect();
    Ok(tensor::io::save(path, &named, &Default::default())?)
}
