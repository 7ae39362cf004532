//! The demo: the notebook's figures (Deep Learning with Python, 1st edition, section 5.4) into
//! a folder, with an `index.html`. Every figure comes from the same library function the
//! matching `viz` command calls (see [`crate::figures`]).

mod page;
mod recipes;

use std::path::Path;
use std::time::Instant;

use image::RgbImage;
use vgg16::preprocess::{self, Resize};
use vgg16::Vgg16;

use crate::ascent::Variant;
use crate::error::Result;
use crate::figures::{self, FilterRequest, Start};
use crate::gradcam::Score;
use crate::locate;
use crate::output::check_output;
use crate::render;
use crate::samples;
pub use page::{Figure, Section};

/// What the demo wrote.
pub struct DemoReport {
    pub figures: Vec<Figure>,
    /// Why something was skipped (empty when nothing was).
    pub note: String,
}

/// Pixels per point of the deletion/insertion curves under the method comparison (8 rows of a
/// 224 px image: 29 points per curve, about a minute for the twenty methods).
const DEMO_EVALUATE_STEP: usize = 8 * 224;

/// The layers of the activation figures.
const ACTIVATION_LAYERS: [&str; 5] = [
    "block1_conv1",
    "block2_conv1",
    "block3_conv1",
    "block4_conv1",
    "block5_conv1",
];

/// Writes every figure into `dir` (created if missing). `image` is the photo for the
/// activation and Grad-CAM figures (an image argument: a file or `sample:NAME`; the cat of the
/// built-in samples when `None`, and then Grad-CAM of every sample); `steps` the ascent steps.
/// `on_step(figure, step, steps)` reports the ascents' progress.
///
/// Each figure's caption comes with the `viz` command that makes the same picture on its own
/// (with `--weights` when `weights` was given) and the time the figure took.
pub fn run(
    dir: &Path,
    model: &Vgg16,
    weights: Option<&Path>,
    image: Option<&Path>,
    steps: usize,
    on_step: &mut dyn FnMut(&str, usize, usize),
) -> Result<DemoReport> {
    let command = |args: String| match weights {
        Some(w) => format!("viz {args} --weights {}", w.display()),
        None => format!("viz {args}"),
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        crate::error::Error::Invalid(format!("cannot create {}: {e}", dir.display()))
    })?;
    if let Some(p) = image {
        check_output(&dir.join("input.png"), &[p])?;
    }
    // The image first: a bad --image is reported before minutes of ascent, not after.
    let cat = &samples::SAMPLES[0];
    let image_arg = image.map_or_else(
        || format!("{}{}", samples::PREFIX, cat.name),
        |p| p.display().to_string(),
    );
    let (original, image_name) = match image {
        Some(p) => match samples::named(p)? {
            Some(sample) => (samples::image(sample)?, describe(sample)),
            None => (samples::load_image(p)?, p.display().to_string()),
        },
        None => (samples::image(cat)?, describe(cat)),
    };
    let mut figures = Vec::new();

    // The book's settings for every ascent figure; only the filters, size and file differ.
    let mut ascent_figure = |layer: &str, filters: Vec<usize>, size: usize, file: String| {
        let request = FilterRequest {
            layer: model.layer_index(layer)?,
            filters,
            size: Some(size),
            steps: Some(steps),
            step_size: None,
            variant: Variant::FirstEdition,
            start: Start::Seed(0),
            revive: false,
        };
        let figure = figures::filters(model, request, |s| on_step(layer, s, steps))?;
        render::save_png(&dir.join(&file), &figure.picture)?;
        Ok::<_, crate::error::Error>(file)
    };

    // 1. One filter at 150 px.
    let started = Instant::now();
    let file = ascent_figure(
        "block3_conv1",
        vec![0],
        150,
        "block3_conv1_filter0.png".into(),
    )?;
    figures.push(Figure {
            section: Section::Filters,
        file,
        caption: format!("Filter 0 of block3_conv1, 150 px, {steps} steps of gradient ascent (the book: a polka-dot pattern)."),
        command: command(format!("filters --layer block3_conv1 --filter 0 --steps {steps} --seed 0")),
        seconds: started.elapsed().as_secs_f64(),
    });

    // 2. The four grids.
    for layer in crate::workloads::GRID_LAYERS {
        let started = Instant::now();
        let channels = model.output_shape(model.layer_index(layer)?, 64, 64)?[0];
        let file = ascent_figure(
            layer,
            (0..64.min(channels)).collect(),
            64,
            format!("{layer}_grid.png"),
        )?;
        figures.push(Figure {
            section: Section::Filters,
            file,
            caption: format!("The first 64 filters of {layer}, 64 px each, {steps} steps, 8 per row in reading order (filter 8*row + column)."),
            command: command(format!(
                "filters --layer {layer} --filters 0..{} --steps {steps} --seed 0",
                64.min(channels)
            )),
            seconds: started.elapsed().as_secs_f64(),
        });
    }

    // 2b. Three recipes side by side.
    figures.extend(recipes::figures(dir, model, steps, &command, on_step)?);

    // 3. Activations of the image.
    let started = Instant::now();
    let input = to_model_input(&original, model);
    render::save_png(&dir.join("input.png"), &original)?;
    figures.push(Figure {
        section: Section::Activations,
        file: "input.png".into(),
        caption: format!("The input image: {image_name}."),
        command: String::new(),
        seconds: started.elapsed().as_secs_f64(),
    });
    for layer in ACTIVATION_LAYERS {
        let started = Instant::now();
        let (picture, _) = figures::activations(model, &input, model.layer_index(layer)?)?;
        let file = format!("activations_{layer}.png");
        render::save_png(&dir.join(&file), &picture)?;
        figures.push(Figure {
            section: Section::Activations,
            file,
            caption: format!("Every channel of {layer} for the input image (16 per row; normalised per channel)."),
            command: command(format!("activations {image_arg} --layer {layer}")),
            seconds: started.elapsed().as_secs_f64(),
        });
    }

    // 4. Grad-CAM, when the classifier is available.
    let loaded;
    let full = if model.has_classifier() {
        Some(model)
    } else {
        loaded = locate::load_model_from(None, true).ok();
        loaded.as_ref()
    };
    let note = match full {
        Some(full) => {
            let layer = full.layer_index("block5_conv3")?;
            // The command: with this demo's --weights when they have the classifier, else with
            // the default full weights the demo found.
            let gradcam_command = |arg: &str| {
                if model.has_classifier() {
                    command(format!("gradcam {arg}"))
                } else {
                    format!("viz gradcam {arg}")
                }
            };
            let mut gradcam_figure = |original: &RgbImage, file: String, what: &str, arg: &str| {
                let started = Instant::now();
                let input = to_model_input(original, full);
                let figure = figures::gradcam(full, original, &input, layer, None, Score::Logit)?;
                render::save_png(&dir.join(&file), &figure.overlay)?;
                let heatmap = file.replace(".png", "_heatmap.png");
                render::save_png(&dir.join(heatmap), &figure.heatmap)?;
                let c = figure.cam.classes[0];
                figures.push(Figure {
            section: Section::Heatmaps,
                    file,
                    caption: format!(
                        "Grad-CAM of the top class of {what}, {} ({c}), at block5_conv3.",
                        full.class_label(c)
                    ),
                    command: gradcam_command(arg),
                    seconds: started.elapsed().as_secs_f64(),
                });
                Ok::<_, crate::error::Error>(())
            };
            gradcam_figure(&original, "gradcam.png".into(), "the input image", &image_arg)?;

            if image.is_none() {
                for sample in &samples::SAMPLES[1..] {
                    let file = format!("gradcam_{}.png", sample.name);
                    let arg = format!("{}{}", samples::PREFIX, sample.name);
                    gradcam_figure(&samples::image(sample)?, file, &describe(sample), &arg)?;
                }
            }

            // Every attribution method on the input image, side by side.
            let started = Instant::now();
            let input = to_model_input(&original, full);
            let methods: Vec<_> = attribution::METHODS.iter().map(|&(_, m)| m).collect();
            let (picture, runs, class) = crate::explain::compare_figure(
                full,
                &original,
                &input,
                &methods,
                None,
                &attribution::Options::new(layer),
                Some(DEMO_EVALUATE_STEP),
                &mut |name| on_step(name, 0, 1),
            )?;
            render::save_png(&dir.join("compare.png"), &picture)?;
            let c = class.unwrap_or(0);
            let slowest = runs
                .iter()
                .max_by(|a, b| a.ms.total_cmp(&b.ms))
                .map(|r| format!("{} ({:.1} s)", r.method.name(), r.ms / 1e3))
                .unwrap_or_default();
            figures.push(Figure {
            section: Section::Methods,
                file: "compare.png".into(),
                caption: format!(
                    "The {} attribution methods of pytorch-grad-cam and captum on the input image, \
                     all explaining {} ({c}), each with its time (slowest: {slowest}) and its \
                     deletion and insertion AUC ({DEMO_EVALUATE_STEP} pixels per point; deletion: \
                     lower is better, insertion: higher is better). CAM methods at block5_conv3 \
                     over the photo; input-space methods as |map|, max over colour channels, \
                     clipped at the 99th percentile.",
                    runs.len(),
                    full.class_label(c)
                ),
                command: if model.has_classifier() {
                    command(format!("compare {image_arg} --evaluate {DEMO_EVALUATE_STEP}"))
                } else {
                    format!("viz compare {image_arg} --evaluate {DEMO_EVALUATE_STEP}")
                },
                seconds: started.elapsed().as_secs_f64(),
            });
            String::new()
        }
        None => "Grad-CAM needs the full weights with the classifier (weights/vgg16.safetensors), which are not here: \
                 see weights/README.md for how to get them."
            .to_string(),
    };
    // 5. Inside the tape: gradient norms layer by layer, for Grad-CAM and one ascent step.
    if let Some(full) = full {
        let started = Instant::now();
        let input = to_model_input(&original, full);
        let layer = full.layer_index("block5_conv3")?;
        let trace = traced(|| {
            crate::gradcam::grad_cam(full, &input, layer, None, Score::Logit)
                .map(|_| ())
                .map_err(Into::into)
        })?;
        write_gradient_chart(
            dir,
            "tape_gradcam.svg",
            "Grad-CAM: d logit / d (layer output), the input image",
            &trace,
        )?;
        figures.push(Figure {
            section: Section::Tape,
            file: "tape_gradcam.svg".into(),
            caption: "The Grad-CAM backward: the norm of the gradient of the class logit with respect to each layer's output, from the logit down to block5_conv3 (the tape starts there: nothing below is differentiated).".into(),
            command: if model.has_classifier() {
                command(format!("gradcam {image_arg} --trace -"))
            } else {
                format!("viz gradcam {image_arg} --trace -")
            },
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let started = Instant::now();
    let request = FilterRequest {
        layer: model.layer_index("block3_conv1")?,
        filters: vec![0],
        size: Some(150),
        steps: Some(1),
        step_size: None,
        variant: Variant::FirstEdition,
        start: Start::Seed(0),
        revive: false,
    };
    let trace = traced(|| figures::filters(model, request, |_| {}).map(|_| ()))?;
    write_gradient_chart(
        dir,
        "tape_ascent.svg",
        "One ascent step: d loss / d (layer output), filter 0 of block3_conv1",
        &trace,
    )?;
    figures.push(Figure {
        section: Section::Tape,
        file: "tape_ascent.svg".into(),
        caption: "One step of filter visualization: the norm of the gradient of the filter's mean activation with respect to each layer's output, from block3_conv1 down to the image.".into(),
        command: command("filters --layer block3_conv1 --filter 0 --steps 1 --seed 0 --trace -".into()),
        seconds: started.elapsed().as_secs_f64(),
    });

    page::write_index(dir, &figures, &note, &model.source)?;
    Ok(DemoReport { figures, note })
}

/// Runs `work` with tracing on and returns the trace of the last graph it recorded.
fn traced(work: impl FnOnce() -> Result<()>) -> Result<tensor::trace::Trace> {
    tensor::trace::enable(true);
    let result = work();
    tensor::trace::enable(false);
    result?;
    tensor::trace::last().ok_or_else(|| crate::error::Error::Invalid("no graph was traced".into()))
}

/// The gradient norm where the backward leaves each named layer (its last node with a
/// gradient), from the output down, as an SVG bar chart in `dir/file`.
fn write_gradient_chart(
    dir: &Path,
    file: &str,
    title: &str,
    trace: &tensor::trace::Trace,
) -> Result<()> {
    let mut items: Vec<(String, f64)> = Vec::new();
    for node in &trace.nodes {
        let (Some(name), Some(g)) = (&node.name, node.grad_norm) else {
            continue;
        };
        if matches!(&**name, "score" | "loss") {
            continue;
        }
        match items.last_mut() {
            Some((last, value)) if last.as_str() == &**name => *value = g,
            _ => items.push((name.to_string(), g)),
        }
    }
    items.reverse();
    let svg = crate::plot::log_bar_chart(title, "L2 norm of the gradient (log scale)", &items);
    Ok(tensor::io::write_atomically(
        &dir.join(file),
        svg.as_bytes(),
    )?)
}

/// "Chelsea the cat, a tabby (sample:chelsea; photograph by ..., CC0 ...)".
fn describe(sample: &samples::Sample) -> String {
    format!(
        "{} ({}{}; {})",
        sample.what,
        samples::PREFIX,
        sample.name,
        sample.credit
    )
}

/// The model's input for a photo: resized to the model's input size (224 x 224 for the ImageNet
/// classifier) with nearest, as Keras's `load_img`.
fn to_model_input(original: &RgbImage, model: &Vgg16) -> tensor::Tensor {
    preprocess::prepare(
        original,
        model.input_size() as u32,
        Resize::Nearest,
        model.preprocessing,
    )
}
