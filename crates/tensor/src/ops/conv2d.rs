//! 2-D convolution (cross-correlation, as in every deep learning framework):
//!
//! ```text
//! y[n, co, oy, ox] = b[co] + sum over ci, ky, kx of w[co, ci, ky, kx] * x[n, ci, oy*s + ky - p, ox*s + kx - p]
//! ```
//!
//! with zero padding `p` and stride `s` (positions outside the image read zero).
//!
//! Backward: `y` is linear in `x` and in `w`, and each product `w * x` in the sum sends the
//! gradient arriving at its `y` to each factor, multiplied by the other factor:
//! - `dx[n, ci, iy, ix] = sum of dy[n, co, oy, ox] * w[co, ci, ky, kx]` over every (co, oy, ox,
//!   ky, kx) that read `x[n, ci, iy, ix]`. For stride 1 this is itself a convolution of `dy` with
//!   the flipped, channel-swapped kernel (see `kernels::conv_direct`).
//! - `dw[co, ci, ky, kx] = sum over n, oy, ox of dy[n, co, oy, ox] * x[n, ci, oy*s + ky - p, ...]`.
//! - `db[co] = sum over n, oy, ox of dy[n, co, oy, ox]`.
//!
//! Stride-1 convolutions with `p < k` run on the SIMD kernels (see [`winograd_tiling`]):
//! - 3x3 padding-1 ones with at least `WINOGRAD_MIN_CHANNELS` input channels (all of VGG16's but
//!   the first) and enough tiles in the batch on the Winograd kernel: F(4x4, 3x3) up to 256 x 256
//!   channels, F(2x2, 3x3) beyond (or when F(4x4) would have too few tiles);
//! - those with fewer input channels (the first layer's forward) as one matrix product over
//!   unrolled patches (`kernels::im2col`);
//! - the others on the direct kernel.
//!
//! Anything else runs on the reference kernels (correct, slow).

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use crate::kernels::conv_direct::{self, PackedFilters};
use crate::kernels::im2col;
use crate::kernels::reference::{self, ConvShape};
use crate::kernels::winograd::{self, Tiling, WinogradFilters};
use crate::tensor::Tensor;

/// Stride and zero padding of a convolution (the kernel size comes from the weights).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    pub stride: usize,
    pub padding: usize,
}

impl ConvGeometry {
    /// Stride 1, padding 1: the "same" 3x3 convolution of VGG.
    pub const SAME_3X3: ConvGeometry = ConvGeometry {
        stride: 1,
        padding: 1,
    };
}

/// A convolution layer's frozen weights, packed for the fast kernels. Each packing is made once,
/// the first time a kernel needs it (inference never needs the input-gradient ones, and which
/// forward kernel runs depends on the image size), and reused from then on.
#[derive(Debug)]
pub struct PackedConv {
    /// `[cout, cin, k, k]`.
    pub weight: Tensor,
    /// `[cout]`.
    pub bias: Tensor,
    pub geometry: ConvGeometry,
    forward: OnceLock<PackedFilters>,
    winograd_forward: [OnceLock<WinogradFilters>; 2],
    input_gradient: OnceLock<PackedFilters>,
    winograd_input_gradient: [OnceLock<WinogradFilters>; 2],
}

/// Fewest input channels for which the Winograd kernel beats the direct one (below, the
/// transforms cost more than the multiplications they save).
pub const WINOGRAD_MIN_CHANNELS: usize = 16;
/// Fewest Winograd tiles in the batch for which the Winograd kernel beats the direct one (a
/// task takes a block of TILE = 24 tiles (48 with AVX-512); below, the block is largely padding;
/// measured with `cargo bench -p tensor`). The choice depends on the batch size too, so one
/// image may round differently alone and in a batch (within the kernels' tolerance).
pub const WINOGRAD_MIN_TILES: usize = 16;
/// Largest `cin x cout` that uses F(4x4, 3x3). Its transformed filters are 4x the weights
/// (36 values per 9), and with 512 channels they no longer fit any cache (each block of tiles
/// streams them): measured, F(2x2, 3x3) (16 values per 9) is as fast there, faster on small
/// images, and keeps `viz gradcam`'s memory within budget.
pub const F4X4_MAX_CHANNEL_PAIRS: usize = 256 * 256;

/// Which Winograd tiling, if any, runs a convolution with `cin` input and `cout` output
/// channels, kernel `k` and geometry `g`, on `n` images of `h x w`.
fn winograd_tiling(
    cin: usize,
    cout: usize,
    k: usize,
    g: ConvGeometry,
    [n, h, w]: [usize; 3],
) -> Option<Tiling> {
    if k != 3 || g.stride != 1 || g.padding != 1 || cin < WINOGRAD_MIN_CHANNELS {
        return None;
    }
    let tiles = |t: Tiling| n * h.div_ceil(t.out()) * w.div_ceil(t.out());
    [Tiling::F4x4, Tiling::F2x2].into_iter().find(|&t| {
        tiles(t) >= WINOGRAD_MIN_TILES
            && (t == Tiling::F2x2 || cin * cout <= F4X4_MAX_CHANNEL_PAIRS)
    })
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
            forward: OnceLock::new(),
            winograd_forward: Default::default(),
            input_gradient: OnceLock::new(),
            winograd_input_gradient: Default::default(),
        })
    }

    fn forward_filters(&self) -> &PackedFilters {
        self.forward.get_or_init(|| {
            let [cout, cin, k, _] = self.weight.dims4();
            PackedFilters::for_forward(self.weight.data(), cout, cin, k)
        })
    }

    fn winograd_forward_filters(&self, tiling: Tiling) -> &WinogradFilters {
        self.winograd_forward[tiling.index()].get_or_init(|| {
            let [cout, cin, _, _] = self.weight.dims4();
            WinogradFilters::for_forward(self.weight.data(), cout, cin, tiling)
        })
    }

    fn winograd_input_gradient_filters(&self, tiling: Tiling) -> &WinogradFilters {
        self.winograd_input_gradient[tiling.index()].get_or_init(|| {
            let [cout, cin, _, _] = self.weight.dims4();
            WinogradFilters::for_input_gradient(self.weight.data(), cout, cin, tiling)
        })
    }

    fn input_gradient_filters(&self) -> &PackedFilters {
        self.input_gradient.get_or_init(|| {
            let [cout, cin, k, _] = self.weight.dims4();
            PackedFilters::for_input_gradient(self.weight.data(), cout, cin, k)
        })
    }
}

fn uses_fast_path(k: usize, g: ConvGeometry) -> bool {
    g.stride == 1 && g.padding < k
}

fn conv_shape(x: &Tensor, w: &Tensor, g: ConvGeometry) -> ConvShape {
    let [n, cin, h, wd] = x.dims4();
    let [cout, wcin, k, k2] = w.dims4();
    assert_eq!(cin, wcin, "input has {cin} channels, weights expect {wcin}");
    assert_eq!(k, k2, "square kernels only");
    assert!(g.stride >= 1, "stride must be at least 1");
    assert!(
        h + 2 * g.padding >= k && wd + 2 * g.padding >= k,
        "input {h}x{wd} (padding {}) is smaller than the {k}x{k} kernel",
        g.padding
    );
    ConvShape {
        n,
        cin,
        h,
        w: wd,
        cout,
        k,
        stride: g.stride,
        pad: g.padding,
    }
}

/// The layer's packed filters when there is a layer (packed once, kept), else packed now for
/// this call only.
fn cached_or_packed<'a, F: Clone>(cached: Option<&'a F>, pack: impl FnOnce() -> F) -> Cow<'a, F> {
    cached.map_or_else(|| Cow::Owned(pack()), Cow::Borrowed)
}

/// The convolution, followed by ReLU when `relu` is set (fused into the kernel's store).
pub fn forward(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    g: ConvGeometry,
    packed: Option<&PackedConv>,
    relu: bool,
) -> Tensor {
    let s = conv_shape(x, w, g);
    let out_shape = [s.n, s.cout, s.ho(), s.wo()];
    let bias = b.map(|b| b.data());
    if !uses_fast_path(s.k, g) {
        let mut y = reference::conv2d_forward(s, x.data(), w.data(), bias);
        if relu {
            y.iter_mut().for_each(|v| *v = v.max(0.0));
        }
        return Tensor::new(&out_shape, y);
    }
    if let Some(tiling) = winograd_tiling(s.cin, s.cout, s.k, g, [s.n, s.h, s.w]) {
        let filters = cached_or_packed(packed.map(|p| p.winograd_forward_filters(tiling)), || {
            WinogradFilters::for_forward(w.data(), s.cout, s.cin, tiling)
        });
        let y = winograd::conv3x3(x.data(), s.n, s.h, s.w, &filters, bias, relu);
        return Tensor::new(&out_shape, y);
    }
    let filters = cached_or_packed(packed.map(|p| p.forward_filters()), || {
        PackedFilters::for_forward(w.data(), s.cout, s.cin, s.k)
    });
    let y = if s.cin < WINOGRAD_MIN_CHANNELS {
        im2col::conv2d(x.data(), s.n, s.h, s.w, &filters, bias, s.pad, relu)
    } else {
        conv_direct::conv2d(x.data(), s.n, s.h, s.w, &filters, bias, s.pad, relu)
    };
    Tensor::new(&out_shape, y)
}

/// One output channel per image: image `i` of `x` (`[N, Cin, H, W]`) is convolved with filter
/// `channels[i]` of `layer` only, giving `[N, 1, H', W']` (then ReLU when `relu`).
///
/// Filter visualization needs exactly this at its target layer: the loss of image `i` reads only
/// channel `channels[i]`, so computing the other channels (forward) and sending zero gradients
/// through them (backward) would be wasted work, a whole layer's worth.
pub fn forward_selected(x: &Tensor, layer: &PackedConv, channels: &[usize], relu: bool) -> Tensor {
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

/// Backward of [`forward_selected`] with respect to `x` (the weights are frozen): image `i`'s
/// gradient flows back through filter `channels[i]` alone.
pub fn backward_selected(
    x: &Tensor,
    layer: &PackedConv,
    channels: &[usize],
    dy: &Tensor,
) -> Tensor {
    let s = conv_shape(x, &layer.weight, layer.geometry);
    let (ho, wo) = (s.ho(), s.wo());
    let per_filter = s.cin * s.k * s.k;
    let mut dx = Vec::with_capacity(x.len());
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

/// The gradients a convolution hands back (each only when asked for).
pub struct ConvGrads {
    pub dx: Option<Tensor>,
    pub dw: Option<Tensor>,
    pub db: Option<Tensor>,
}

/// `want` = [dx, dw, db].
pub fn backward(
    x: &Tensor,
    w: &Tensor,
    dy: &Tensor,
    g: ConvGeometry,
    packed: Option<&PackedConv>,
    want: [bool; 3],
) -> ConvGrads {
    let s = conv_shape(x, w, g);
    let fast = uses_fast_path(s.k, g);
    let dx = want[0].then(|| {
        // The input gradient is a convolution with `cout` input channels (see conv_direct).
        let data = if let Some(tiling) = winograd_tiling(s.cout, s.cin, s.k, g, [s.n, s.h, s.w]) {
            let flipped = cached_or_packed(
                packed.map(|p| p.winograd_input_gradient_filters(tiling)),
                || WinogradFilters::for_input_gradient(w.data(), s.cout, s.cin, tiling),
            );
            winograd::conv3x3(dy.data(), s.n, s.h, s.w, &flipped, None, false)
        } else if fast {
            let flipped = cached_or_packed(packed.map(|p| p.input_gradient_filters()), || {
                PackedFilters::for_input_gradient(w.data(), s.cout, s.cin, s.k)
            });
            conv_direct::conv2d_input_gradient(dy.data(), s.n, s.ho(), s.wo(), &flipped, s.pad)
        } else {
            reference::conv2d_backward_data(s, dy.data(), w.data())
        };
        Tensor::new(x.shape(), data)
    });
    let dw = want[1].then(|| {
        let data = if fast {
            conv_direct::conv2d_weight_gradient(
                x.data(),
                dy.data(),
                s.n,
                s.cin,
                s.h,
                s.w,
                s.cout,
                s.k,
                s.pad,
            )
        } else {
            reference::conv2d_backward_weight(s, x.data(), dy.data())
        };
        Tensor::new(w.shape(), data)
    });
    let db = want[2].then(|| {
        Tensor::new(
            &[s.cout],
            reference::conv2d_backward_bias(s.n, s.cout, dy.data()),
        )
    });
    ConvGrads { dx, dw, db }
}
