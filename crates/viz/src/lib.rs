//! # viz: what does a convnet see?
//!
//! The techniques of Deep Learning with Python (1st edition, section 5.4) on VGG16, computed
//! with this project's own tensor engine:
//! - [`ascent`]: filter visualization by gradient ascent in input space;
//! - [`gradcam`]: Grad-CAM class activation maps;
//! - [`render`]: deprocessing, grids, colour maps and overlays;
//! - [`commands`]: the `viz` command line (summary, predict, gradcam, filters, activations,
//!   demo, bench, convert).

pub mod allocator;
pub mod ascent;
pub mod bench;
pub mod commands;
pub mod gradcam;
pub mod render;
