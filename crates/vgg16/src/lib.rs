//! # vgg16: VGG16 on the `tensor` engine
//!
//! - [`Vgg16`] ([`model`]): a network of named layers, the VGG16 body (13 convolutions with
//!   ReLU, 5 max-pools; channel widths read from the weights) followed by an optional head
//!   described as data ([`head`]: the ImageNet classifier, or a fine-tuned model's own).
//! - [`module`]: the layers a network is made of, each recording itself on a `tensor::Graph`.
//! - [`forward`]: one [`Vgg16::forward`] between any two layers ([`Span`]), so the same code
//!   gives inference and gradients; [`Vgg16::forward_channels`] for filter visualization.
//! - [`summary`]: Keras's `model.summary()`.
//! - [`weights`]: the project's safetensors format (torchvision names accepted).
//! - [`preprocess`]: decoding images, resizing (nearest or bilinear), "caffe" and "torch"
//!   preprocessing.
//! - [`labels`]: the ImageNet classes and top-k predictions.
//! - [`names`]: the layer names, and "did you mean" for mistyped ones.
//!
//! Converting other formats (ONNX, Keras, torchvision) is the `convert` crate's job.

pub mod error;
pub mod forward;
pub mod head;
pub mod labels;
pub mod model;
pub mod module;
pub mod names;
pub mod preprocess;
pub mod randomize;
pub mod resample;
pub mod summary;
pub mod weights;

pub use error::{Error, Result};
pub use forward::Span;
pub use head::{Head, HeadLayer};
pub use model::{Vgg16, BODY_LEN};
pub use module::{Activation, FlattenOrder, Layer, Module};
pub use preprocess::{Preprocessing, Resize};
