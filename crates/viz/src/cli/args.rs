//! Arguments shared by several commands, declared once and flattened into each command.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use vgg16::Resize;

/// `--weights FILE`, and what overrides the file's own metadata.
#[derive(Args, Debug, Clone)]
pub struct WeightsArg {
    /// Weights file: the project's safetensors, a Keras .h5 or .keras model, or an ONNX model
    /// (read directly, format detected) (default: weights/vgg16.safetensors, or
    /// weights/vgg16_notop.safetensors where the classifier is not needed).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// How images become model inputs, instead of what the weights file says: caffe (BGR minus
    /// the ImageNet mean), torch (RGB / 255 standardised), scale (RGB / 255) or none (RGB).
    #[arg(long, value_parser = ["caffe", "torch", "scale", "none"])]
    pub preprocessing: Option<String>,
    /// Class names: a Keras `class_indices` JSON ({"name": index, ...}) or one name per line.
    #[arg(long)]
    pub labels: Option<PathBuf>,
}

/// `--json`.
#[derive(Args, Debug, Clone, Copy)]
pub struct JsonArg {
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `--resize nearest|bilinear`.
#[derive(Args, Debug, Clone, Copy)]
pub struct ResizeArg {
    /// Resampling to the input size, exactly as Pillow: nearest (Keras's default), bilinear or
    /// bicubic (antialiased).
    #[arg(long, value_enum, default_value_t = ResizeChoice::Nearest)]
    pub resize: ResizeChoice,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ResizeChoice {
    Nearest,
    Bilinear,
    Bicubic,
}

impl ResizeArg {
    pub fn mode(self) -> Resize {
        match self.resize {
            ResizeChoice::Nearest => Resize::Nearest,
            ResizeChoice::Bilinear => Resize::Bilinear,
            ResizeChoice::Bicubic => Resize::Bicubic,
        }
    }
}

/// What every command may need from the global options.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// `--quiet`: no progress bars.
    pub quiet: bool,
}

/// `--score logit|probability`: what to explain.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ScoreChoice {
    Logit,
    Probability,
}

/// `--class INDEX|LABEL`.
#[derive(Args, Debug, Clone)]
pub struct ClassArg {
    /// Target class, as an index or a label such as tabby or African_elephant (default: the
    /// top-1 prediction).
    #[arg(long)]
    pub class: Option<String>,
}

impl ClassArg {
    /// The class index for `model`: an index below its number of classes, or one of its labels
    /// (case and `_`/space insensitive; the error suggests the closest).
    pub fn resolve(&self, model: &vgg16::Vgg16) -> crate::Result<Option<usize>> {
        let Some(text) = &self.class else {
            return Ok(None);
        };
        let classes = model.num_classes();
        if let Ok(index) = text.trim().parse::<usize>() {
            if index >= classes {
                return crate::error::invalid!(
                    "--class {index} is outside 0..{} (this model has {classes} classes)",
                    classes - 1
                );
            }
            return Ok(Some(index));
        }
        let norm = |s: &str| s.trim().to_lowercase().replace([' ', '-'], "_");
        let wanted = norm(text);
        let labels: Vec<String> = (0..classes).map(|c| model.class_label(c)).collect();
        let matches: Vec<usize> = (0..classes)
            .filter(|&c| norm(&labels[c]) == wanted)
            .collect();
        match matches.as_slice() {
            [c] => return Ok(Some(*c)),
            [] => {}
            several => {
                let list: Vec<String> = several.iter().map(|c| c.to_string()).collect();
                return crate::error::invalid!(
                    "--class '{text}' is ambiguous: classes {} share that label; give the index",
                    list.join(" and ")
                );
            }
        }
        let closest = labels
            .iter()
            .min_by_key(|l| vgg16::names::edit_distance(&wanted, &norm(l)))
            .cloned()
            .unwrap_or_default();
        crate::error::invalid!(
            "--class '{text}' is neither a class index nor a label of this model (did you mean '{closest}'?)"
        )
    }
}

/// The options of the attribution methods (`attribute`, `compare`), declared once.
#[derive(Args, Debug, Clone)]
pub struct MethodArgs {
    /// Target layer of the CAM methods and guided Grad-CAM (see `viz summary`).
    #[arg(long, default_value = "block5_conv3")]
    pub layer: String,
    /// What to explain: the class's logit or its probability.
    #[arg(long, value_enum, default_value_t = ScoreChoice::Logit)]
    pub score: ScoreChoice,
    /// CAM methods: pytorch-grad-cam's aug_smooth (flips x 0.9/1/1.1) or eigen_smooth.
    #[arg(long, value_enum)]
    pub smooth: Option<SmoothChoice>,
    /// Inputs per forward/backward pass for the many-pass methods (memory grows with it: about
    /// 250 MB per input for a backward at 224 px; larger batches are not faster).
    #[arg(long, default_value_t = 4)]
    pub batch: usize,
    /// Score-CAM: score only the N channels of highest variance (Faster-Score-CAM).
    #[arg(long, value_name = "N")]
    pub max_channels: Option<usize>,
    /// Integrated gradients: Gauss-Legendre steps.
    #[arg(long, default_value_t = 50)]
    pub steps: usize,
    /// Integrated gradients: the baseline image.
    #[arg(long, value_enum, default_value_t = BaselineChoice::Zero)]
    pub baseline: BaselineChoice,
    /// SmoothGrad, SmoothGrad-squared, VarGrad: noisy copies per image.
    #[arg(long, default_value_t = 25)]
    pub samples: usize,
    /// SmoothGrad family: noise standard deviation as a fraction of the input's value range.
    #[arg(long, default_value_t = 0.15)]
    pub noise: f32,
    /// SmoothGrad family: the noise's seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Occlusion: the square window's side, in input pixels.
    #[arg(long, default_value_t = 32)]
    pub window: usize,
    /// Occlusion: pixels between window positions.
    #[arg(long, default_value_t = 16)]
    pub stride: usize,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SmoothChoice {
    Aug,
    Eigen,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum BaselineChoice {
    Zero,
    Black,
    Blur,
}

impl MethodArgs {
    /// The library's options for `model`.
    pub fn options(&self, model: &vgg16::Vgg16) -> crate::Result<attribution::Options> {
        let layer = model.layer_index(&self.layer)?;
        let mut o = attribution::Options::new(layer);
        o.score = match self.score {
            ScoreChoice::Logit => attribution::Score::Logit,
            ScoreChoice::Probability => attribution::Score::Probability,
        };
        o.smooth = match self.smooth {
            None => attribution::Smooth::None,
            Some(SmoothChoice::Aug) => attribution::Smooth::Aug,
            Some(SmoothChoice::Eigen) => attribution::Smooth::Eigen,
        };
        o.batch = self.batch;
        o.max_channels = self.max_channels;
        o.steps = self.steps;
        o.baseline = match self.baseline {
            BaselineChoice::Zero => attribution::Baseline::Zero,
            BaselineChoice::Black => attribution::Baseline::Black,
            BaselineChoice::Blur => attribution::Baseline::Blur,
        };
        o.samples = self.samples;
        o.noise = self.noise;
        o.seed = self.seed;
        o.window = self.window;
        o.stride = self.stride;
        Ok(o)
    }
}
