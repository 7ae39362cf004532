//! # viz: what does a convnet see?
//!
//! The techniques of Deep Learning with Python (1st edition, section 5.4) on VGG16, computed
//! with this project's own tensor engine. How an image flows:
//!
//! ```text
//! file --vgg16::preprocess--> [1, 3, H, W] --Vgg16::forward (records on a tensor::Graph)-->
//!   scores / activations --Graph::backward--> gradients --gradcam / ascent--> maps, images
//!   --render--> PNG
//! ```
//!
//! The algorithms, one page each:
//! - [`ascent`]: filter visualization by gradient ascent in input space;
//! - [`gradcam`]: Grad-CAM class activation maps;
//! - [`render`]: deprocessing, grids, colour maps and overlays, PNG files.
//!
//! Around them:
//! - [`figures`]: one entry point per figure (filters, activations, Grad-CAM), shared by the
//!   commands and the demo;
//! - [`demo`]: the notebook's figures and their `index.html`;
//! - [`workloads`]: what `viz bench` and the criterion benches time;
//! - [`locate`]: finding the weights; [`output`]: checking output paths; [`samples`]: the
//!   photos built into the binary (`sample:NAME`);
//! - [`cli`]: the `viz` command line, one file per command;
//! - [`error`]: the one error type, [`Error`].

pub mod ascent;
pub mod cli;
pub mod demo;
pub mod error;
pub mod explain;
pub mod figures;
pub mod font;
pub use attribution::gradcam;
pub mod locate;
pub mod lucid;
pub mod notes;
pub mod output;
pub mod plot;
pub mod render;
pub mod samples;
pub mod workloads;

pub use error::{Error, Result};
