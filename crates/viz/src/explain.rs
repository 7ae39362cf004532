//! Pictures of attributions (the `attribute` and `compare` commands, and the demo).
//!
//! - CAM methods: the map (divided by its maximum, as `viz gradcam`) through JET, over the
//!   photo (the book's overlay, [`render::overlay`]).
//! - Input-space methods: the usual saliency picture, `|map|` maximised over the colour
//!   channels, clipped at its 99th percentile and scaled to [0, 1], white on black; and a
//!   signed picture, the map summed over channels and divided by the 99th percentile of its
//!   absolute value: red where the pixel raises the class score, blue where it lowers it.

use std::time::Instant;

use attribution::{Attribution, Method, Options};
use image::{Rgb, RgbImage};
use tensor::Tensor;
use vgg16::Vgg16;

use crate::error::Result;
use crate::{font, render};

/// An attribution of one image, drawn.
pub struct AttributionFigure {
    pub result: Attribution,
    /// The overlay (CAM) or the saliency picture (input space).
    pub picture: RgbImage,
    /// The heat map alone (CAM) or the signed picture (input space).
    pub alone: RgbImage,
    /// True when a CAM map has no positive value.
    pub all_zero: bool,
    pub ms: f64,
}

/// Runs `method` on `input` (made from `original`) for `class` (or the top class) and draws it.
pub fn attribution_figure(
    model: &Vgg16,
    original: &RgbImage,
    input: &Tensor,
    method: Method,
    class: Option<usize>,
    opts: &Options,
) -> Result<AttributionFigure> {
    let started = Instant::now();
    let classes = class.map(|c| vec![c]);
    let result = attribution::attribute(model, input, method, classes.as_deref(), opts)?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let (picture, alone, all_zero) = draw(&result, 0, original);
    Ok(AttributionFigure {
        result,
        picture,
        alone,
        all_zero,
        ms,
    })
}

/// The pictures of image `i` of `result` (made from `original`): the overlay and the heat map
/// alone for a CAM method, the saliency and signed pictures for an input-space method; and
/// whether a CAM map was all zero.
pub fn draw(result: &Attribution, i: usize, original: &RgbImage) -> (RgbImage, RgbImage, bool) {
    if result.method.is_cam() {
        let (h, w) = (result.map.shape()[1], result.map.shape()[2]);
        let (normalised, all_zero) =
            attribution::gradcam::normalised_by_max(&result.map.data()[i * h * w..(i + 1) * h * w]);
        let (overlay, heat) = render::overlay(original, &normalised, h, w);
        (overlay, heat, all_zero)
    } else {
        let image = image_of(&result.map, i);
        (saliency_picture(&image), signed_picture(&image), false)
    }
}

/// Image `i` of `[N, C, H, W]`, as `[C, H, W]`.
fn image_of(map: &Tensor, i: usize) -> Tensor {
    let [_, c, h, w] = map.dims4();
    let len = c * h * w;
    Tensor::new(&[c, h, w], map.data()[i * len..(i + 1) * len].to_vec())
}

/// The `q`-quantile (0..1) of `values` (nearest rank on the sorted values).
fn quantile(values: &[f32], q: f32) -> f32 {
    let mut sorted: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return 0.0;
    }
    sorted.sort_by(f32::total_cmp);
    sorted[((sorted.len() - 1) as f32 * q).round() as usize]
}

/// `|map|` maximised over channels, clipped at the 99th percentile: white = most salient.
pub fn saliency_picture(map: &Tensor) -> RgbImage {
    let (c, h, w) = (map.shape()[0], map.shape()[1], map.shape()[2]);
    let plane = h * w;
    let values: Vec<f32> = (0..plane)
        .map(|p| {
            (0..c)
                .map(|k| map.data()[k * plane + p].abs())
                .fold(0.0, f32::max)
        })
        .collect();
    let top = quantile(&values, 0.99);
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let v = values[y as usize * w + x as usize];
        let g = if top > 0.0 { (v / top).min(1.0) } else { 0.0 };
        let g = (g * 255.0).round() as u8;
        Rgb([g, g, g])
    })
}

/// The map summed over channels, red positive, blue negative, white zero.
pub fn signed_picture(map: &Tensor) -> RgbImage {
    let (c, h, w) = (map.shape()[0], map.shape()[1], map.shape()[2]);
    let plane = h * w;
    let values: Vec<f32> = (0..plane)
        .map(|p| (0..c).map(|k| map.data()[k * plane + p]).sum())
        .collect();
    let abs: Vec<f32> = values.iter().map(|v| v.abs()).collect();
    let top = quantile(&abs, 0.99);
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let v = values[y as usize * w + x as usize];
        let t = if top > 0.0 {
            (v / top).clamp(-1.0, 1.0)
        } else {
            0.0
        };
        let fade = (255.0 * (1.0 - t.abs())).round() as u8;
        if t >= 0.0 {
            Rgb([255, fade, fade])
        } else {
            Rgb([fade, fade, 255])
        }
    })
}

/// One labelled tile per figure, `per_row` to a row: each picture resized to `side x side`,
/// its label lines below it.
pub fn labelled_grid(tiles: &[(RgbImage, Vec<String>)], per_row: usize, side: u32) -> RgbImage {
    let scale = 2;
    let lines = tiles.iter().map(|(_, l)| l.len()).max().unwrap_or(0) as u32;
    let label_h = lines * 9 * scale + 6;
    let labelled: Vec<RgbImage> = tiles
        .iter()
        .map(|(picture, label)| {
            let mut tile = RgbImage::from_pixel(side, side + label_h, Rgb([255, 255, 255]));
            let resized = render::resize_nearest(picture, side, side);
            image::imageops::replace(&mut tile, &resized, 0, 0);
            for (i, line) in label.iter().enumerate() {
                // Lines too wide for the tile at twice the font size are drawn at its size.
                let s = if font::text_width(line, scale) > side {
                    1
                } else {
                    scale
                };
                let x = side.saturating_sub(font::text_width(line, s)) / 2;
                let y = side + 4 + i as u32 * 9 * scale + (scale - s) * 4;
                font::draw_text(&mut tile, x, y, line, s, [0, 0, 0]);
            }
            tile
        })
        .collect();
    render::grid(&labelled, per_row, 4)
}

/// One method's run in a comparison.
pub struct MethodRun {
    pub method: Method,
    pub ms: f64,
    pub all_zero: bool,
    pub map_shape: Vec<usize>,
    /// Deletion and insertion AUC, when the comparison evaluates the maps.
    pub aucs: Option<(f32, f32)>,
}

/// Every method of `methods` on one image, side by side: the photo, then one tile per method
/// (6 per row, each at the model's input size) labelled with its name and time, and with
/// `evaluate_step` its deletion and insertion AUC (`attribution::metrics::deletion`, that many
/// pixels per point). All explain the same class: `class`, or the first run's top-1.
/// `on_method(name)` is called after each.
#[allow(clippy::too_many_arguments)]
pub fn compare_figure(
    model: &Vgg16,
    original: &RgbImage,
    input: &Tensor,
    methods: &[Method],
    class: Option<usize>,
    opts: &Options,
    evaluate_step: Option<usize>,
    on_method: &mut dyn FnMut(&str),
) -> Result<(RgbImage, Vec<MethodRun>, Option<usize>)> {
    let side = model.input_size() as u32;
    let mut tiles = vec![(original.clone(), vec!["input".to_string()])];
    let mut runs = Vec::new();
    let mut chosen = class;
    opts.validate()?;
    for &method in methods {
        // Smoothing is for the CAM methods; the input-space ones run without it.
        let opts = if method.is_cam() {
            *opts
        } else {
            Options {
                smooth: attribution::Smooth::None,
                ..*opts
            }
        };
        let figure = attribution_figure(model, original, input, method, chosen, &opts)?;
        chosen = Some(figure.result.classes[0]);
        let mut label = vec![method.name().to_string(), format!("{:.0} ms", figure.ms)];
        let aucs = match evaluate_step {
            Some(step) => {
                let [_, _, h, w] = input.dims4();
                let saliency = attribution::metrics::pixel_saliency(&figure.result, h, w);
                let curves = attribution::metrics::deletion::deletion_insertion(
                    model,
                    input,
                    &saliency,
                    &figure.result.classes,
                    step,
                    opts.batch,
                )?;
                let aucs = (curves.deletion_auc[0], curves.insertion_auc[0]);
                label.push(format!("del {:.3} ins {:.3}", aucs.0, aucs.1));
                Some(aucs)
            }
            None => None,
        };
        tiles.push((figure.picture, label));
        runs.push(MethodRun {
            method,
            ms: figure.ms,
            all_zero: figure.all_zero,
            map_shape: figure.result.map.shape().to_vec(),
            aucs,
        });
        on_method(method.name());
    }
    Ok((labelled_grid(&tiles, 6, side), runs, chosen))
}
