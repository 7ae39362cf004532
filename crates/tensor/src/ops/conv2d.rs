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
//! Stride-1 convolutions with `p < k` run on the SIMD kernels (see `winograd_tiling`):
//! - 3x3 padding-1 ones with at least `WINOGRAD_MIN_CHANNELS` input channels (all of VGG16's but
//!   the first) and enough tiles in the batch on the Winograd kernel: F(4x4, 3x3) up to 256 x 256
//!   channels, F(2x2, 3x3) beyond (or when F(4x4) would have too few tiles);
//! - those with fewer input channels (the first layer's forward) as one matrix product over
//!   unrolled patches (`kernels::im2col`);
//! - the others on the direct kernel.
//!
//! Anything else runs on the reference kernels (correct, slow).

use std::borrow::Cow;
use std::sync::OnceLock;

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

/// The fast kernels' forms of one weight tensor, each made the first time a kernel needs it
/// and kept from then on (inference never needs the input-gradient ones, and which forward
/// kernel runs depends on the image size). A frozen layer holds one (see
/// [`super::frozen_conv::PackedConv`]); a convolution without one packs its weights per call.
#[derive(Debug, Default)]
pub struct FilterCache {
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

impl FilterCache {
    fn forward_filters(&self, w: &Tensor) -> &PackedFilters {
        self.forward.get_or_init(|| {
            let [cout, cin, k, _] = w.dims4();
            PackedFilters::for_forward(w.data(), cout, cin, k)
        })
    }

    fn winograd_forward_filters(&self, w: &Tensor, tiling: Tiling) -> &WinogradFilters {
        self.winograd_forward[tiling.index()].get_or_init(|| {
            let [cout, cin, _, _] = w.dims4();
            WinogradFilters::for_forward(w.data(), cout, cin, tiling)
        })
    }

    fn winograd_input_gradient_filters(&self, w: &Tensor, tiling: Tiling) -> &WinogradFilters {
        self.winograd_input_gradient[tiling.index()].get_or_init(|| {
            let [cout, cin, _, _] = w.dims4();
            WinogradFilters::for_input_gradient(w.data(), cout, cin, tiling)
        })
    }

    fn input_gradient_filters(&self, w: &Tensor) -> &PackedFilters {
        self.input_gradient.get_or_init(|| {
            let [cout, cin, k, _] = w.dims4();
            PackedFilters::for_input_gradient(w.data(), cout, cin, k)
        })
    }
}

pub(crate) fn uses_fast_path(k: usize, g: ConvGeometry) -> bool {
    g.stride == 1 && g.padding < k
}

pub(crate) fn conv_shape(x: &Tensor, w: &Tensor, g: ConvGeometry) -> ConvShape {
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

/// The op's forward: `y = conv(x, w) + b`.
pub fn forward(x: &Tensor, w: &Tensor, b: Option<&Tensor>, g: ConvGeometry) -> Tensor {
    convolve(x, w, b, g, None, false)
}

/// The op's backward: the gradients asked for by `want` = [dx, dw, db].
pub fn backward(
    x: &Tensor,
    w: &Tensor,
    dy: &Tensor,
    g: ConvGeometry,
    want: [bool; 3],
) -> ConvGrads {
    convolve_backward(x, w, dy, g, None, want)
}

/// The convolution on the kernel that suits its shape (see the module docs), followed by ReLU
/// when `relu` is set (fused into the kernel's store). `cache` keeps the packed weights of a
/// frozen layer between calls; without one they are packed for this call.
pub fn convolve(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    g: ConvGeometry,
    cache: Option<&FilterCache>,
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
        let filters =
            cached_or_packed(cache.map(|c| c.winograd_forward_filters(w, tiling)), || {
                WinogradFilters::for_forward(w.data(), s.cout, s.cin, tiling)
            });
        let y = winograd::conv3x3(x.data(), s.n, s.h, s.w, &filters, bias, relu);
        return Tensor::new(&out_shape, y);
    }
    let filters = cached_or_packed(cache.map(|c| c.forward_filters(w)), || {
        PackedFilters::for_forward(w.data(), s.cout, s.cin, s.k)
    });
    let y = if s.cin < WINOGRAD_MIN_CHANNELS {
        im2col::conv2d(x.data(), s.n, s.h, s.w, &filters, bias, s.pad, relu)
    } else {
        conv_direct::conv2d(x.data(), s.n, s.h, s.w, &filters, bias, s.pad, relu)
    };
    Tensor::new(&out_shape, y)
}

/// The gradients a convolution hands back (each only when asked for).
pub struct ConvGrads {
    pub dx: Option<Tensor>,
    pub dw: Option<Tensor>,
    pub db: Option<Tensor>,
}

/// The gradients of [`convolve`] (without its ReLU) asked for by `want` = [dx, dw, db].
pub fn convolve_backward(
    x: &Tensor,
    w: &Tensor,
    dy: &Tensor,
    g: ConvGeometry,
    cache: Option<&FilterCache>,
    want: [bool; 3],
) -> ConvGrads {
    let s = conv_shape(x, w, g);
    let fast = uses_fast_path(s.k, g);
    let dx = want[0].then(|| {
        // The input gradient is a convolution with `cout` input channels (see conv_direct).
        let data = if let Some(tiling) = winograd_tiling(s.cout, s.cin, s.k, g, [s.n, s.h, s.w]) {
            let flipped = cached_or_packed(
                cache.map(|c| c.winograd_input_gradient_filters(w, tiling)),
                || WinogradFilters::for_input_gradient(w.data(), s.cout, s.cin, tiling),
            );
            winograd::conv3x3(dy.data(), s.n, s.h, s.w, &flipped, None, false)
        } else if fast {
            let flipped = cached_or_packed(cache.map(|c| c.input_gradient_filters(w)), || {
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
