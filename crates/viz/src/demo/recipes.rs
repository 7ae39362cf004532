//! The demo's recipe comparison: for filters 0..8 of each block's first convolution, the
//! book's gradient ascent and lucid's recipe, one row each (and keras.io's 2020 variant for
//! block4_conv1). At 96 px, so the five figures take about two and a half minutes on two
//! cores (a step through block5_conv1 is a full VGG16 forward and backward for 8 pictures).

use std::path::Path;
use std::time::Instant;

use image::RgbImage;
use vgg16::Vgg16;

use super::page::{Figure, Section};
use crate::ascent::Variant;
use crate::error::Result;
use crate::explain::labelled_grid;
use crate::figures::{self, FilterRequest, Start};
use crate::render;

/// The layers compared (one figure each).
pub const LAYERS: [&str; 5] = [
    "block1_conv1",
    "block2_conv1",
    "block3_conv1",
    "block4_conv1",
    "block5_conv1",
];

/// Picture side for all recipes (keras2020 then crops 25 px from each side).
const SIZE: usize = 96;

/// The layer that also gets keras.io's 2020 recipe.
const KERAS2020_LAYER: &str = "block4_conv1";

/// Lucid's steps for the demo's ascent `steps` (40 -> 64: an eighth of lucid's 512, enough
/// for the pictures to settle at 96 px).
pub fn lucid_steps(steps: usize) -> usize {
    (steps * 8).div_ceil(5)
}

/// Writes `recipes_LAYER.png` for every layer of [`LAYERS`] into `dir`.
pub fn figures(
    dir: &Path,
    model: &Vgg16,
    steps: usize,
    command: &dyn Fn(String) -> String,
    on_step: &mut dyn FnMut(&str, usize, usize),
) -> Result<Vec<Figure>> {
    let lucid = lucid_steps(steps);
    let keras = (steps * 3).div_ceil(4);
    let mut out = Vec::new();
    for layer in LAYERS {
        let started = Instant::now();
        let index = model.layer_index(layer)?;
        // Up to 8 filters (a test model may have fewer).
        let channels = model.output_shape(index, SIZE, SIZE)?[0];
        let filters: Vec<usize> = (0..8.min(channels)).collect();
        let mut rows: Vec<(RgbImage, Vec<String>)> = Vec::new();
        let mut recipes = vec![(Variant::FirstEdition, "book", steps)];
        if layer == KERAS2020_LAYER {
            recipes.push((Variant::Keras2020, "keras2020", keras));
        }
        for (variant, name, n) in recipes {
            let request = FilterRequest {
                layer: index,
                filters: filters.clone(),
                size: Some(SIZE),
                steps: Some(n),
                step_size: None,
                variant,
                start: Start::Seed(0),
                revive: false,
            };
            let figure = figures::filters(model, request, |s| on_step(layer, s, n))?;
            rows.extend(
                figure
                    .tiles
                    .into_iter()
                    .zip(&filters)
                    .map(|(t, f)| (t, vec![format!("{name} {f}")])),
            );
        }
        let mut config = featureviz::Config::lucid(index, filters.clone(), model.preprocessing);
        config.size = SIZE;
        config.steps = lucid;
        let figure = crate::lucid::render_lucid(model, &config, 8, |s| on_step(layer, s, lucid))?;
        rows.extend(
            crate::lucid::tiles_of(&figure.rendered.rgb)
                .into_iter()
                .zip(&filters)
                .map(|(t, f)| (t, vec![format!("lucid {f}")])),
        );
        let file = format!("recipes_{layer}.png");
        render::save_png(&dir.join(&file), &labelled_grid(&rows, 8, 96))?;
        out.push(Figure {
            section: Section::Filters,
            file,
            caption: format!(
                "Filters 0-{} of {layer} at {SIZE} px from the same seed: the book's ascent ({steps} steps){}, and lucid (Fourier parameterisation, decorrelated colour, random transforms, Adam; {lucid} steps). Same filters, same network: lucid's pictures show the shapes and colours instead of high-frequency noise.",
                filters.len() - 1,
                if layer == KERAS2020_LAYER {
                    format!(", keras.io 2020 ({keras} steps, its 25 px crop)")
                } else {
                    String::new()
                }
            ),
            command: command(format!(
                "filters --recipe lucid --layer {layer} --filters 0..{} --size {SIZE} --steps {lucid} --seed 0",
                filters.len()
            )),
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    Ok(out)
}
