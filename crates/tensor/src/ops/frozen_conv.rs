//! A frozen convolution layer, and the op that runs it: conv2d + ReLU + "keep only some
//! channels", fused into one op for speed.
//!
//! Mathematically this op is nothing new. With `W`, `b` held fixed it computes
//!
//! ```text
//! y = select_channels( relu( conv2d(x, W) + b ) )
//! ```
//!
//! where the ReLU is optional (and its backward rule chosen: see [`super::relu`]) and
//! `select_channels` (optional) keeps channel `channels[i]` of image `i` only, giving
//! `[N, 1, H, W]`. Its backward is the chain rule through those three steps, in reverse:
//! `dy` is placed back into the selected channel (zero elsewhere), masked by the ReLU's rule,
//! and sent through the convolution's input gradient. No gradient is computed for `W` or `b`.
//!
//! Why a separate op, then? Three optimisations that the plain composition cannot make:
//! - the weights are **packed once** for the fast kernels ([`PackedConv`] keeps every packing
//!   it made), instead of on every call;
//! - the **ReLU is fused** into the kernel's store (one pass over memory instead of two, one
//!   value on the tape instead of two);
//! - with `channels`, only the selected output channel of each image is **computed at all**,
//!   forward and backward: filter visualization reads one channel of its target layer, so the
//!   other channels would be a whole layer of wasted work.
//!
//! The tests check this op against the plain composition (`conv2d`, `relu`, `select`) on the
//! same inputs, forward and backward (`crates/tensor/tests/gradcheck.rs`).

use std::sync::Arc;

use super::conv2d::{self, conv_shape, uses_fast_path, ConvGeometry, FilterCache};
use super::relu::{self, ReluRule};
use crate::kernels::conv_direct::{self, PackedFilters};
use crate::tensor::Tensor;

/// A convolution layer's frozen weights, with the fast kernels' packings of them (each made
/// the first time it is needed, then kept).
#[derive(Debug)]
pub struct PackedConv {
    /// `[cout, cin, k, k]`.
    pub weight: Tensor,
    /// `[cout]`.
    pub bias: Tensor,
    pub geometry: ConvGeometry,
    cache: FilterCache,
}

impl PackedConv {
    pub fn new(weight: Tensor, bias: Tensor, geometry: ConvGeometry) -> Arc<PackedConv> {
        let [cout, _, kh, kw] = weight.dims4();
        assert_eq!(kh, kw, "square kernels only");
        assert_eq!(bias.shape(), &[cout], "bias shape");
        Arc::new(PackedConv {
            weight,
            bias,
            geometry,
            cache: FilterCache::default(),
        })
    }

    /// Output channels.
    pub fn channels(&self) -> usize {
        self.weight.shape()[0]
    }
}

/// `select_channels(relu(conv2d(x, W) + b))`, each step only when asked for.
pub fn forward(
    x: &Tensor,
    layer: &PackedConv,
    relu: Option<ReluRule>,
    channels: Option<&[usize]>,
) -> Tensor {
    match channels {
        None => conv2d::convolve(
            x,
            &layer.weight,
            Some(&layer.bias),
            layer.geometry,
            Some(&layer.cache),
            relu.is_some(),
        ),
        Some(channels) => forward_selected(x, layer, channels, relu.is_some()),
    }
}

/// d loss / d x, from the op's output `y` and `dy` = d loss / d y.
pub fn backward(
    x: &Tensor,
    y: &Tensor,
    dy: &Tensor,
    layer: &PackedConv,
    relu: Option<ReluRule>,
    channels: Option<&[usize]>,
) -> Tensor {
    // Backward through the ReLU first (it was applied last).
    match relu {
        Some(rule) => input_gradient(x, &relu::backward(y, dy, rule), layer, channels),
        None => input_gradient(x, dy, layer, channels),
    }
}

/// d loss / d x through the convolution (and channel selection) alone, from `dy` = d loss / d
/// (the convolution's output).
pub fn input_gradient(
    x: &Tensor,
    dy: &Tensor,
    layer: &PackedConv,
    channels: Option<&[usize]>,
) -> Tensor {
    match channels {
        None => {
            let grads = conv2d::convolve_backward(
                x,
                &layer.weight,
                dy,
                layer.geometry,
                Some(&layer.cache),
                [true, false, false],
            );
            grads.dx.expect("asked for dx")
        }
        Some(channels) => backward_selected(x, layer, channels, dy),
    }
}

/// One output channel per image: image `i` of `x` (`[N, Cin, H, W]`) is convolved with filter
/// `channels[i]` of `layer` only, giving `[N, 1, H', W']` (then ReLU when `relu`).
fn forward_selected(x: &Tensor, layer: &PackedConv, channels: &[usize], relu: bool) -> Tensor {
    let s = conv_shape(x, &layer.weight, layer.geometry);
    assert_eq!(channels.len(), s.n, "one channel per image");
    assert!(
        uses_fast_path(s.k, layer.geometry),
        "selected-channel convolution needs stride 1"
    );
    let (ho, wo) = (s.ho(), s.wo());
    let per_filter = s.cin * s.k * s.k;
    let image_len = s.cin * s.h * s.w;
    let mut out = Vec::with_capacity(s.n * ho * wo);
    for (i, &c) in channels.iter().enumerate() {
        assert!(c < s.cout, "channel {c} of {}", s.cout);
        let filter = PackedFilters::for_forward(
            &layer.weight.data()[c * per_filter..(c + 1) * per_filter],
            1,
            s.cin,
            s.k,
        );
        let bias = [layer.bias.data()[c]];
        let xi = &x.data()[i * image_len..(i + 1) * image_len];
        out.extend(conv_direct::conv2d(
            xi,
            1,
            s.h,
            s.w,
            &filter,
            Some(&bias),
            s.pad,
            relu,
        ));
    }
    Tensor::new(&[s.n, 1, ho, wo], out)
}

/// Backward of [`forward_selected`] with respect to `x` (after the ReLU's backward): image `i`'s
/// gradient flows back through filter `channels[i]` alone.
fn backward_selected(x: &Tensor, layer: &PackedConv, channels: &[usize], dy: &Tensor) -> Tensor {
    let s = conv_shape(x, &layer.weight, layer.geometry);
    let (ho, wo) = (s.ho(), s.wo());
    let per_filter = s.cin * s.k * s.k;
    let mut dx = crate::buffer::take(x.len());
    for (i, &c) in channels.iter().enumerate() {
        let flipped = PackedFilters::for_input_gradient(
            &layer.weight.data()[c * per_filter..(c + 1) * per_filter],
            1,
            s.cin,
            s.k,
        );
        let dyi = &dy.data()[i * ho * wo..(i + 1) * ho * wo];
        dx.extend(conv_direct::conv2d_input_gradient(
            dyi, 1, ho, wo, &flipped, s.pad,
        ));
    }
    Tensor::new(x.shape(), dx)
}
