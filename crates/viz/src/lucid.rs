//! The lucid recipe as a figure (the `featureviz` crate does the work), and the quality
//! numbers of any recipe's pictures (see `featureviz::quality`).

use std::time::Instant;

use image::RgbImage;
use serde_json::{json, Value};
use tensor::Tensor;
use vgg16::Vgg16;

use crate::error::Result;
use crate::render;

/// A lucid run and its rendering.
pub struct LucidFigure {
    /// One picture for one target, else a grid (5 px margins).
    pub picture: RgbImage,
    pub rendered: featureviz::Rendered,
    pub ms: f64,
}

pub fn render_lucid(
    model: &Vgg16,
    config: &featureviz::Config,
    per_row: usize,
    on_step: impl FnMut(usize),
) -> Result<LucidFigure> {
    let started = Instant::now();
    let rendered = featureviz::render(model, config, on_step)?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let tiles = tiles_of(&rendered.rgb);
    let picture = if tiles.len() == 1 {
        tiles[0].clone()
    } else {
        render::grid(&tiles, per_row, 5)
    };
    Ok(LucidFigure {
        picture,
        rendered,
        ms,
    })
}

/// RGB pictures `[B, 3, S, S]` in [0, 1] as 8-bit images (rounded).
pub fn tiles_of(rgb: &Tensor) -> Vec<RgbImage> {
    let [b, _, h, w] = rgb.dims4();
    (0..b)
        .map(|i| {
            let plane = |c: usize, y: u32, x: u32| {
                rgb.data()[((i * 3 + c) * h + y as usize) * w + x as usize]
            };
            RgbImage::from_fn(w as u32, h as u32, |x, y| {
                image::Rgb(
                    [0, 1, 2].map(|c| (plane(c, y, x).clamp(0.0, 1.0) * 255.0).round() as u8),
                )
            })
        })
        .collect()
}

/// 8-bit images (all the same size) as RGB `[B, 3, H, W]` in [0, 1]: each one the model input
/// it would be with the `scale` preprocessing (RGB / 255).
pub fn rgb_of(tiles: &[RgbImage]) -> Tensor {
    let (w, h) = tiles[0].dimensions();
    let data: Vec<f32> = tiles
        .iter()
        .flat_map(|t| vgg16::preprocess::to_input(t, vgg16::Preprocessing::Scale).into_vec())
        .collect();
    Tensor::new(&[tiles.len(), 3, h as usize, w as usize], data)
}

/// The quality numbers of pictures `rgb` of `filters` of `layer` (selectivity only for two or
/// more channel pictures), as JSON.
pub fn quality(
    model: &Vgg16,
    layer: Option<usize>,
    filters: &[usize],
    rgb: &Tensor,
) -> Result<Value> {
    let selectivity = match layer {
        Some(layer) if filters.len() > 1 => Some(featureviz::quality::selectivity(
            model,
            layer,
            filters,
            rgb,
            model.preprocessing,
        )?),
        _ => None,
    };
    Ok(json!({
        "selectivity": selectivity,
        "high_frequency_share": featureviz::quality::high_frequency_share(rgb),
        "colourfulness": featureviz::quality::colourfulness(rgb),
    }))
}
