//! `viz filters`: filter visualization by gradient ascent in input space.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::json;
use tensor::Tensor;

use super::args::{Context, JsonArg, WeightsArg};
use super::progress;
use crate::ascent::Variant;
use crate::error::{invalid, Result};
use crate::figures::{self, FilterRequest, Start};
use crate::locate::load_model;
use crate::output::check_output;
use crate::render;

/// Which published recipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RecipeChoice {
    /// Deep Learning with Python, 1st edition (RMS-normalised gradient, step 1, 40 steps).
    #[value(alias = "first-edition")]
    Book,
    /// keras.io 2020 (L2-normalised gradient, step 10 for inputs in [-1, 1], 30 steps, 2 px
    /// loss border, 25 px crop).
    Keras2020,
    /// Lucid (Olah et al. 2017): Fourier parameterisation, decorrelated colour, random pad /
    /// jitter / scale / rotate every step, Adam; 512 steps at 128 px.
    Lucid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ParamChoice {
    /// The picture's spectrum, scaled by 1 / frequency (lucid's default).
    Fft,
    /// One parameter per pixel and colour.
    Pixel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ObjectiveChoice {
    /// Mean of the filter's output (before its ReLU).
    Channel,
    /// The filter at the centre position only.
    Neuron,
    /// A class logit through the classifier (--filter/--filters then name classes; needs
    /// the full weights).
    Class,
}

#[derive(Args, Debug)]
pub struct FiltersArgs {
    /// Layer name, e.g. block3_conv1 (see `viz summary`); not needed with --objective class.
    #[arg(long)]
    pub layer: Option<String>,
    #[command(flatten)]
    pub weights: WeightsArg,
    /// One filter (without --filter or --filters: filter 0, and a note on stderr says so).
    #[arg(long, conflicts_with = "filters")]
    pub filter: Option<usize>,
    /// A half-open range A..B of filters, optimised together as a batch and drawn as a grid.
    #[arg(long)]
    pub filters: Option<String>,
    /// Image side (default: 150 for one filter and 64 for a grid; 128 for lucid).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=2048))]
    pub size: Option<u32>,
    /// Optimisation steps (default: 40 for book, 30 for keras2020, 512 for lucid).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100000))]
    pub steps: Option<u32>,
    /// Which published recipe: book (DLwP 1st edition, default), keras2020 or lucid.
    #[arg(long, alias = "variant", value_enum, default_value_t = RecipeChoice::Book)]
    pub recipe: RecipeChoice,
    /// book/keras2020: step size (default: 1 for book; for keras2020, keras.io's 10 for inputs
    /// in [-1, 1] scaled to the model's input units: 1275 for caffe, about 22 for torch).
    #[arg(long)]
    pub step: Option<f32>,
    /// Seed of the start (and of lucid's random transforms) (default: from the clock; printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// book/keras2020: restart filters that do not fire on the grey start image (they would
    /// stay flat grey) from a wider random start, uniform in [0, 255).
    #[arg(long)]
    pub revive: bool,
    /// book/keras2020: start images, safetensors with tensor `image` [B, 3, S, S] in the
    /// model's input space.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// lucid: Adam's learning rate (default 0.05).
    #[arg(long)]
    pub lr: Option<f32>,
    /// lucid: what the optimiser changes.
    #[arg(long, value_enum, default_value_t = ParamChoice::Fft)]
    pub param: ParamChoice,
    /// lucid: power of the frequency in the Fourier scaling 1 / f^decay (default 1).
    #[arg(long)]
    pub decay: Option<f32>,
    /// lucid: what each picture maximises.
    #[arg(long, value_enum, default_value_t = ObjectiveChoice::Channel)]
    pub objective: ObjectiveChoice,
    /// lucid: optimise RGB directly instead of decorrelated colour (to see what it does).
    #[arg(long)]
    pub no_decorrelate: bool,
    /// lucid: no random transforms (to see what they do).
    #[arg(long)]
    pub no_transforms: bool,
    /// lucid: pictures per filter (one row each), made different by --diversity.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub copies: u32,
    /// lucid: weight of the diversity term that pushes a filter's pictures apart (lucid's
    /// examples use 100; needs --copies 2 or more).
    #[arg(long, default_value_t = 0.0)]
    pub diversity: f32,
    /// Output PNG.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Save the rendered pictures `rgb` [B, 3, S, S] in [0, 1], and the run's record: book and
    /// keras2020 the final `images` (model input space) and `losses` [B, steps]; lucid the
    /// `objectives` [B, steps].
    #[arg(long)]
    pub dump: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonArg,
    #[command(flatten)]
    pub trace: super::trace::TraceArg,
}

/// `A..B` (half-open) -> [A, B).
pub fn parse_range(text: &str) -> Result<Vec<usize>> {
    let Some((a, b)) = text.split_once("..") else {
        return invalid!("--filters expects a range A..B (half-open, e.g. 0..64), got '{text}'");
    };
    let index = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| crate::Error::Invalid(format!("--filters: '{s}' is not a filter index")))
    };
    let (a, b) = (index(a)?, index(b)?);
    if b <= a {
        return invalid!("--filters {text} is empty (A..B includes A and excludes B)");
    }
    if b - a > 4096 {
        return invalid!("--filters {text}: at most 4096 filters at a time");
    }
    Ok((a..b).collect())
}

/// The start: `--init`'s images, else the book's grey image from `--seed` (or the clock).
fn start(a: &FiltersArgs) -> Result<Start> {
    if let Some(path) = &a.init {
        let file = tensor::io::load(path)?;
        let Some(images) = file.tensors.get("image") else {
            return invalid!(
                "{}: no tensor named 'image' (expected [B, 3, S, S])",
                path.display()
            );
        };
        return Ok(Start::Images {
            images: images.clone(),
            origin: path.display().to_string(),
        });
    }
    Ok(Start::Seed(seed_of(a)))
}

pub fn run(a: FiltersArgs, ctx: Context) -> Result<()> {
    a.trace.start()?;
    check_recipe_options(&a)?;
    let class_objective = a.recipe == RecipeChoice::Lucid && a.objective == ObjectiveChoice::Class;
    let model = load_model(&a.weights, class_objective)?;
    let what = if class_objective { "class" } else { "filter" };
    let filters = match (a.filter, &a.filters) {
        (Some(f), _) => vec![f],
        (None, Some(range)) => parse_range(range)?,
        (None, None) => {
            crate::notes::later(format!(
                "note: no --filter or --filters given: drawing {what} 0 (--filters 0..64 draws a grid)"
            ));
            vec![0]
        }
    };
    let layer = match (&a.layer, class_objective) {
        (Some(name), false) => Some(model.layer_index(name)?),
        (None, false) => {
            return invalid!("--layer is needed (e.g. --layer block4_conv1; see `viz summary`)")
        }
        (_, true) => None,
    };
    let stem = a.layer.clone().unwrap_or_else(|| "class".into());
    let out = a.out.clone().unwrap_or_else(|| match filters[..] {
        [one] => PathBuf::from(format!("{stem}_{what}{one}.png")),
        _ => PathBuf::from(format!(
            "{stem}_{what}s_{}-{}.png",
            filters[0],
            filters[filters.len() - 1] + 1
        )),
    });
    let inputs: Vec<&std::path::Path> = a.init.iter().map(PathBuf::as_path).collect();
    check_output(&out, &inputs)?;
    if let Some(d) = &a.dump {
        check_output(d, &inputs)?;
    }
    let run = match a.recipe {
        RecipeChoice::Lucid => run_lucid(&a, &ctx, &model, layer, filters)?,
        _ => run_book(&a, &ctx, &model, layer.unwrap_or(0), filters)?,
    };
    render::save_png(&out, &run.picture)?;
    if let Some(d) = &a.dump {
        let mut tensors = vec![("rgb", run.rgb.clone())];
        tensors.extend(run.dump);
        render::save_tensors(d, tensors)?;
    }
    if a.json.json {
        let mut report = json!({
            "recipe": format!("{:?}", a.recipe).to_lowercase(),
            "layer": a.layer, "filters": run.filters, "size": run.size, "steps": run.steps,
            "seed": run.seed,
            "out": out.display().to_string(),
            "dump": a.dump.as_ref().map(|p| p.display().to_string()),
            "ascent_ms": run.ms,
            "quality": crate::lucid::quality(&model, layer.filter(|_| !class_objective), &run.filters, &run.rgb)?,
        });
        if let (Some(map), serde_json::Value::Object(extra)) = (report.as_object_mut(), run.json) {
            map.extend(extra);
        }
        println!("{report}");
    } else if !ctx.quiet {
        eprintln!(
            "wrote {} ({} {what}(s){}, {} recipe, {} steps, {:.1} s)",
            out.display(),
            run.filters.len(),
            a.layer
                .as_ref()
                .map_or(String::new(), |l| format!(" of {l}")),
            format!("{:?}", a.recipe).to_lowercase(),
            run.steps,
            run.ms / 1e3
        );
    }
    a.trace.finish()?;
    Ok(())
}

/// What either recipe hands back for the output.
struct RecipeRun {
    picture: image::RgbImage,
    /// The rendered pictures `[B, 3, S, S]` in [0, 1].
    rgb: Tensor,
    dump: Vec<(&'static str, Tensor)>,
    json: serde_json::Value,
    filters: Vec<usize>,
    size: usize,
    steps: usize,
    seed: Option<u64>,
    ms: f64,
}

/// Options of one recipe given to another are refused rather than silently ignored.
fn check_recipe_options(a: &FiltersArgs) -> Result<()> {
    let lucid = a.recipe == RecipeChoice::Lucid;
    let book_only = [
        ("--step", a.step.is_some()),
        ("--revive", a.revive),
        ("--init", a.init.is_some()),
    ];
    let lucid_only = [
        ("--lr", a.lr.is_some()),
        ("--param", a.param != ParamChoice::Fft),
        ("--decay", a.decay.is_some()),
        ("--objective", a.objective != ObjectiveChoice::Channel),
        ("--no-decorrelate", a.no_decorrelate),
        ("--no-transforms", a.no_transforms),
        ("--copies", a.copies != 1),
        ("--diversity", a.diversity != 0.0),
    ];
    let (others, which) = if lucid {
        (&book_only[..], "book and keras2020 recipes")
    } else {
        (&lucid_only[..], "lucid recipe")
    };
    if let Some((name, _)) = others.iter().find(|(_, given)| *given) {
        return invalid!("{name} belongs to the {which} (--recipe)");
    }
    Ok(())
}

fn run_lucid(
    a: &FiltersArgs,
    ctx: &Context,
    model: &vgg16::Vgg16,
    layer: Option<usize>,
    filters: Vec<usize>,
) -> Result<RecipeRun> {
    if !a.diversity.is_finite() || a.diversity < 0.0 {
        return invalid!("--diversity must be a number >= 0, got {}", a.diversity);
    }
    if a.diversity > 0.0 && a.copies < 2 {
        return invalid!(
            "--diversity pushes apart the pictures of one filter: add --copies 2 or more"
        );
    }
    let copies = a.copies as usize;
    let filters: Vec<usize> = filters
        .iter()
        .flat_map(|&f| std::iter::repeat_n(f, copies))
        .collect();
    let mut config =
        featureviz::Config::lucid(layer.unwrap_or(0), filters.clone(), model.preprocessing);
    config.target.diversity = a.diversity;
    if let Some(size) = a.size {
        config.size = size as usize;
    }
    if let Some(steps) = a.steps {
        config.steps = steps as usize;
    }
    config.lr = a.lr.unwrap_or(config.lr);
    match (a.param, a.decay) {
        (ParamChoice::Pixel, _) => config.param = featureviz::Parameterisation::Pixel,
        (ParamChoice::Fft, Some(decay)) => {
            config.param = featureviz::Parameterisation::Fourier { decay }
        }
        (ParamChoice::Fft, None) => {} // lucid's default: Fourier, decay 1
    }
    config.target.objective = match a.objective {
        ObjectiveChoice::Channel => featureviz::Objective::Channel,
        ObjectiveChoice::Neuron => featureviz::Objective::Neuron,
        ObjectiveChoice::Class => featureviz::Objective::Class,
    };
    config.decorrelate = !a.no_decorrelate;
    if a.no_transforms {
        config.transforms.clear();
    }
    let seed = seed_of(a);
    config.seed = seed;
    let bar = progress::bar(config.steps as u64, ctx.quiet, "lucid");
    let per_row = if copies > 1 { copies } else { 8 };
    let figure =
        crate::lucid::render_lucid(model, &config, per_row, |s| bar.set_position(s as u64))?;
    bar.finish_and_clear();
    let r = &figure.rendered;
    let objectives = Tensor::new(
        &[filters.len(), config.steps],
        r.objectives.iter().flatten().copied().collect(),
    );
    let finals: Vec<f32> = r
        .objectives
        .iter()
        .map(|o| o.last().copied().unwrap_or(0.0))
        .collect();
    Ok(RecipeRun {
        picture: figure.picture,
        rgb: r.rgb.clone(),
        dump: vec![("objectives", objectives)],
        json: json!({
            "lr": config.lr, "param": format!("{:?}", a.param).to_lowercase(), "decay": match config.param {
                featureviz::Parameterisation::Fourier { decay } => Some(decay),
                featureviz::Parameterisation::Pixel => None,
            },
            "objective": config.target.objective.name(), "decorrelate": config.decorrelate,
            "transforms": !config.transforms.is_empty(), "final_objectives": finals,
            "copies": copies, "diversity": a.diversity,
        }),
        filters,
        size: config.size,
        steps: config.steps,
        seed: Some(seed),
        ms: figure.ms,
    })
}

/// `--seed`, or one from the clock.
fn seed_of(a: &FiltersArgs) -> u64 {
    a.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    })
}

fn run_book(
    a: &FiltersArgs,
    ctx: &Context,
    model: &vgg16::Vgg16,
    layer: usize,
    filters: Vec<usize>,
) -> Result<RecipeRun> {
    let variant = match a.recipe {
        RecipeChoice::Keras2020 => Variant::Keras2020,
        _ => Variant::FirstEdition,
    };
    let steps = a.steps.map_or(variant.default_steps(), |s| s as usize);
    let count = filters.len();
    let request = FilterRequest {
        layer,
        filters,
        size: a.size.map(|s| s as usize),
        steps: Some(steps),
        step_size: a.step,
        variant,
        start: start(a)?,
        revive: a.revive,
    };
    let layer_name = a.layer.as_deref().unwrap_or("");
    let bar = progress::bar(steps as u64, ctx.quiet, &format!("{layer_name} x{count}"));
    let figure = figures::filters(model, request, |s| bar.set_position(s as u64))?;
    bar.finish_and_clear();
    if !figure.revived.is_empty() && !ctx.quiet && !a.json.json {
        eprintln!(
            "revived filter(s) {:?}: dead on the grey start image, restarted from uniform [0, 255)",
            figure.revived
        );
    }
    if !figure.dead.is_empty() {
        crate::notes::later(format!(
            "warning: filter(s) {:?} never fired (loss stayed 0, so the gradient was 0 and the picture is flat grey); \
             try --revive, another --seed, --init, or --recipe lucid",
            figure.dead
        ));
    }
    let losses = Tensor::new(
        &[count, steps],
        figure.ascent.losses.iter().flatten().copied().collect(),
    );
    let finals: Vec<f32> = figure
        .ascent
        .losses
        .iter()
        .map(|l| l.last().copied().unwrap_or(0.0))
        .collect();
    let c = &figure.config;
    Ok(RecipeRun {
        rgb: crate::lucid::rgb_of(&figure.tiles),
        picture: figure.picture.clone(),
        dump: vec![("images", figure.ascent.images.clone()), ("losses", losses)],
        json: json!({
            "step": c.step_size, "final_losses": finals, "dead_filters": figure.dead,
            "revived_filters": figure.revived,
        }),
        filters: c.filters.clone(),
        size: c.size,
        steps,
        seed: figure.seed,
        ms: figure.ascent_ms,
    })
}
