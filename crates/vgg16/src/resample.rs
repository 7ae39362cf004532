//! Pillow's `Image.resize`, bit for bit, on 8-bit RGB: what Keras's `load_img` (NEAREST by
//! default), torchvision and PIL users feed their models. Checked against Pillow on awkward
//! sizes (`tests/fixtures/pil_resize.json`, `tools/make_resize_fixture.py`).
//!
//! **Nearest** (Pillow's `ImagingScaleAffine`): output pixel `x` takes source pixel
//! `floor(s_x)`, where `s_x` starts at `scale / 2` and grows by `scale = src / dst` per pixel,
//! *accumulated* in f64 (`s += scale`), not computed as `(x + 1/2) scale`: where the exact
//! position is a whole number, the accumulated sum can land just below it and pick the previous
//! pixel, and Pillow does exactly that.
//!
//! **Bilinear and bicubic** (Pillow's `ImagingResample`): separable, horizontal pass then
//! vertical, except that when the width grows and the height shrinks Pillow runs the vertical
//! pass first (found by comparing both orders with Pillow 13 on every shape class; the
//! fixture holds such cases). Output `x` is centred at `c = (x + 1/2) scale` in source coordinates; when
//! shrinking, the filter is widened by the scale (`support = s * max(scale, 1)`: antialiasing).
//! Source pixels `xmin..xmax` with `xmin = int(c - support + 1/2)`, `xmax = int(c + support +
//! 1/2)` (clamped to the image) get weights `filter((i - c + 1/2) / max(scale, 1))`, normalised
//! to sum 1, then turned into fixed point with 22 fractional bits (rounded half away from zero).
//! Each pass sums `pixel * weight` in integers starting from `2^21` (rounding) and clips
//! `sum >> 22` to 0..255: the intermediate image is 8-bit, as Pillow's is.
//! Filters: bilinear `1 - |x|` (support 1); bicubic with `a = -0.5` (support 2):
//! `((a + 2)|x| - (a + 3))x^2 + 1` below 1, `(((|x| - 5)|x| + 8)|x| - 4) a` below 2.

use image::RgbImage;

const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Nearest neighbour as Pillow.
pub fn nearest(img: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (sw, sh) = img.dimensions();
    let positions = |src: u32, dst: u32| -> Vec<u32> {
        let scale = src as f64 / dst as f64;
        let mut s = scale * 0.5;
        (0..dst)
            .map(|_| {
                let i = (s as i64).clamp(0, src as i64 - 1) as u32;
                s += scale;
                i
            })
            .collect()
    };
    let (xs, ys) = (positions(sw, width), positions(sh, height));
    RgbImage::from_fn(width, height, |x, y| {
        *img.get_pixel(xs[x as usize], ys[y as usize])
    })
}

/// The two interpolating filters (and their supports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    Bilinear,
    Bicubic,
}

impl Filter {
    fn support(self) -> f64 {
        match self {
            Filter::Bilinear => 1.0,
            Filter::Bicubic => 2.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Filter::Bilinear => (1.0 - x).max(0.0),
            Filter::Bicubic => {
                const A: f64 = -0.5;
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
        }
    }
}

/// For each output index: the first source index and the fixed-point weights.
fn coefficients(src: u32, dst: u32, filter: Filter) -> Vec<(usize, Vec<i32>)> {
    let scale = src as f64 / dst as f64;
    let filter_scale = scale.max(1.0);
    let support = filter.support() * filter_scale;
    (0..dst)
        .map(|x| {
            let centre = (x as f64 + 0.5) * scale;
            let xmin = ((centre - support + 0.5) as i64).max(0) as usize;
            let xmax = ((centre + support + 0.5) as i64).min(src as i64) as usize;
            let weights: Vec<f64> = (xmin..xmax)
                .map(|i| filter.weight((i as f64 - centre + 0.5) / filter_scale))
                .collect();
            let total: f64 = weights.iter().sum();
            let fixed = weights
                .iter()
                .map(|&w| {
                    let w = if total != 0.0 { w / total } else { w };
                    let scaled = w * (1u32 << PRECISION_BITS) as f64;
                    if scaled < 0.0 {
                        (scaled - 0.5) as i32
                    } else {
                        (scaled + 0.5) as i32
                    }
                })
                .collect();
            (xmin, fixed)
        })
        .collect()
}

fn clip8(sum: i64) -> u8 {
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}

/// One pass along x (`along_x`) or y of an `w x h` RGB image into `len` output pixels.
fn pass(src: &[u8], w: usize, h: usize, len: u32, along_x: bool, filter: Filter) -> Vec<u8> {
    let round = 1i64 << (PRECISION_BITS - 1);
    if along_x {
        let cx = coefficients(w as u32, len, filter);
        let mut out = vec![0u8; h * len as usize * 3];
        for y in 0..h {
            let row = &src[y * w * 3..(y + 1) * w * 3];
            for (x, (xmin, k)) in cx.iter().enumerate() {
                for c in 0..3 {
                    let mut sum = round;
                    for (i, &wt) in k.iter().enumerate() {
                        sum += row[(xmin + i) * 3 + c] as i64 * wt as i64;
                    }
                    out[(y * len as usize + x) * 3 + c] = clip8(sum);
                }
            }
        }
        out
    } else {
        let cy = coefficients(h as u32, len, filter);
        let stride = w * 3;
        let mut out = vec![0u8; len as usize * stride];
        for (y, (ymin, k)) in cy.iter().enumerate() {
            for x in 0..stride {
                let mut sum = round;
                for (i, &wt) in k.iter().enumerate() {
                    sum += src[(ymin + i) * stride + x] as i64 * wt as i64;
                }
                out[y * stride + x] = clip8(sum);
            }
        }
        out
    }
}

/// Bilinear or bicubic as Pillow: two passes (see the module docs for their order), 8-bit in
/// between; a pass whose size does not change is skipped.
pub fn resample(img: &RgbImage, width: u32, height: u32, filter: Filter) -> RgbImage {
    let (sw, sh) = img.dimensions();
    let (sw_, sh_) = (sw as usize, sh as usize);
    let mut data = img.as_raw().to_vec();
    let vertical_first = width > sw && height < sh;
    if vertical_first {
        data = pass(&data, sw_, sh_, height, false, filter);
        data = pass(&data, sw_, height as usize, width, true, filter);
    } else {
        if width != sw {
            data = pass(&data, sw_, sh_, width, true, filter);
        }
        if height != sh {
            data = pass(&data, width as usize, sh_, height, false, filter);
        }
    }
    RgbImage::from_raw(width, height, data).expect("sizes match")
}
