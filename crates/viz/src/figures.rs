//! One library entry point per figure: the `viz` commands and the demo both call these, then
//! decide themselves where the pictures go and what to print.
//!
//! - [`filters`]: filter visualization by gradient ascent, one picture or a grid;
//! - [`activations`]: every channel of a layer for an image, as a grid;
//! - [`gradcam`]: a Grad-CAM overlay and heatmap.

use std::time::Instant;

use image::RgbImage;
use tensor::{Graph, Tensor};
use vgg16::{Span, Vgg16};

use crate::ascent::{self, Ascent, AscentConfig, Variant};
use crate::error::{invalid, Result};
use crate::gradcam::{self as cam, GradCam, Score};
use crate::render;

/// Where the ascent starts.
pub enum Start {
    /// The book's grey start image, uniform in [128, 148), from this seed.
    Seed(u64),
    /// The caller's images, `[B, 3, S, S]` in the model's input space (one per filter);
    /// `origin` names them in messages (a file name).
    Images { images: Tensor, origin: String },
}

/// A filter-visualization request. `None` fields take the recipe's defaults: 150 px for one
/// filter and 64 px for a grid, and the variant's steps and step size.
pub struct FilterRequest {
    pub layer: usize,
    pub filters: Vec<usize>,
    pub size: Option<usize>,
    pub steps: Option<usize>,
    pub step_size: Option<f32>,
    pub variant: Variant,
    pub start: Start,
    /// Restart filters that are dead on the start image (see `ascent::revive_dead`).
    pub revive: bool,
}

/// A filter-visualization figure and what its run recorded.
pub struct FilterFigure {
    /// One picture for one filter, else a grid (8 per row, reading order, 5 px margins).
    pub picture: RgbImage,
    /// Each filter's rendered picture.
    pub tiles: Vec<RgbImage>,
    pub ascent: Ascent,
    pub config: AscentConfig,
    /// The seed of the start image (`None` when the caller gave the images).
    pub seed: Option<u64>,
    /// Filters whose loss stayed 0 (flat grey pictures).
    pub dead: Vec<usize>,
    /// Filters restarted by `revive`.
    pub revived: Vec<usize>,
    pub ascent_ms: f64,
}

/// The smallest rendered picture a crop may leave, in pixels.
pub const MIN_RENDERED: usize = 8;

/// Runs the ascent of `request` and renders it; `on_step(step)` after every step.
pub fn filters(
    model: &Vgg16,
    request: FilterRequest,
    on_step: impl FnMut(usize),
) -> Result<FilterFigure> {
    let single = request.filters.len() == 1;
    let variant = request.variant;
    let step_size = request
        .step_size
        .unwrap_or(variant.default_step_size(model.preprocessing));
    if !step_size.is_finite() || step_size <= 0.0 || step_size > 1e6 {
        return invalid!("--step must be a positive number (got {step_size})");
    }
    let (start, size, seed) = match request.start {
        Start::Images { images, origin } => match *images.shape() {
            [b, 3, s, s2] if b == request.filters.len() && s == s2 => {
                if let Some(size) = request.size.filter(|&size| size != s) {
                    return invalid!("--size {size} does not match the --init images ({s} px)");
                }
                (images, s, None)
            }
            ref other => {
                return invalid!(
                    "{origin}: 'image' has shape {other:?}, expected [{}, 3, S, S] (one start image per filter)",
                    request.filters.len()
                )
            }
        },
        Start::Seed(seed) => {
            let size = request.size.unwrap_or(if single { 150 } else { 64 });
            let start = ascent::random_start(request.filters.len(), size, seed);
            (start, size, Some(seed))
        }
    };
    let crop = variant.render_crop();
    if crop > 0 && size < 2 * crop + MIN_RENDERED {
        return invalid!(
            "--size {size}: the keras2020 recipe crops {crop} px from each side when rendering, \
             which would leave {} px; use --size {} or more",
            size.saturating_sub(2 * crop),
            2 * crop + MIN_RENDERED
        );
    }
    let config = AscentConfig {
        layer: request.layer,
        filters: request.filters,
        size,
        steps: request.steps.unwrap_or(variant.default_steps()),
        step_size,
        variant,
    };
    ascent::validate(model, &config)?;
    let (start, revived) = if request.revive {
        ascent::revive_dead(model, &config, start, seed.unwrap_or(0))?
    } else {
        (start, Vec::new())
    };
    let started = Instant::now();
    let result = ascent::run(model, &config, start, on_step)?;
    let ascent_ms = started.elapsed().as_secs_f64() * 1e3;

    let per_image = 3 * size * size;
    let crop = variant.render_crop();
    let tiles: Vec<_> = result
        .images
        .data()
        .chunks(per_image)
        .map(|image| {
            render::deprocess_with(
                image,
                size,
                model.preprocessing,
                crop,
                variant.render_contrast(),
            )
        })
        .collect();
    let picture = if single {
        tiles[0].clone()
    } else {
        render::grid(&tiles, 8, 5)
    };
    let dead = config
        .filters
        .iter()
        .zip(&result.losses)
        .filter(|(_, l)| l.iter().all(|&v| v == 0.0))
        .map(|(&f, _)| f)
        .collect();
    Ok(FilterFigure {
        picture,
        tiles,
        ascent: result,
        config,
        seed,
        dead,
        revived,
        ascent_ms,
    })
}

/// Every channel of layer `layer`'s output for `input` (`[1, 3, H, W]`, preprocessed), as a grid
/// (16 per row, 2 px margins; tiles at least 32 px). Returns the picture and the activations.
pub fn activations(model: &Vgg16, input: &Tensor, layer: usize) -> Result<(RgbImage, Tensor)> {
    check_activation_layer(model, layer)?;
    let mut g = Graph::no_grad();
    let x = g.constant(input.clone());
    let a = model.forward(&mut g, x, Span::to(layer))?;
    let act = g.value(a).clone();
    let [_, c, h, w] = act.dims4();
    let scale = (32 / h.max(1)).max(1) as u32;
    let tiles: Vec<_> = (0..c)
        .map(|k| {
            let t = render::activation_tile(&act.data()[k * h * w..(k + 1) * h * w], h, w);
            render::resize_nearest(&t, w as u32 * scale, h as u32 * scale)
        })
        .collect();
    Ok((render::grid(&tiles, 16, 2), act))
}

/// Activations are drawn for convolution and pool layers only.
pub fn check_activation_layer(model: &Vgg16, layer: usize) -> Result<()> {
    let layer = &model.layers()[layer];
    if !layer.module.is_spatial() {
        return invalid!(
            "activations are drawn for convolution and pool layers, not '{}'",
            layer.name
        );
    }
    Ok(())
}

/// A Grad-CAM figure: the run, the overlay on `original` and the heatmap alone.
pub struct GradcamFigure {
    pub cam: GradCam,
    pub overlay: RgbImage,
    pub heatmap: RgbImage,
    pub gradcam_ms: f64,
}

/// Grad-CAM of `input` (the model's input made from `original`) at `layer`, for `class` (or
/// the top class), drawn over `original`.
pub fn gradcam(
    model: &Vgg16,
    original: &RgbImage,
    input: &Tensor,
    layer: usize,
    class: Option<usize>,
    score: Score,
) -> Result<GradcamFigure> {
    let started = Instant::now();
    let classes = class.map(|c| vec![c]);
    let cam = cam::grad_cam(model, input, layer, classes.as_deref(), score)?;
    let gradcam_ms = started.elapsed().as_secs_f64() * 1e3;
    let [_, _, h, w] = cam.activations.dims4();
    let (overlay, heatmap) = render::overlay(original, cam.cams.data(), h, w);
    Ok(GradcamFigure {
        cam,
        overlay,
        heatmap,
        gradcam_ms,
    })
}
