//! Resampling a map `[h, w]` to `[H, W]`, the three ways the reference libraries do it. They
//! differ only in where output pixel `x` samples the source:
//!
//! - **align corners** (PyTorch `UpsamplingBilinear2d`, Score-CAM's masks): the corner pixels
//!   of both grids coincide, `src = x * (w - 1) / (W - 1)`;
//! - **half-pixel centres** (OpenCV `cv2.resize` INTER_LINEAR, pytorch-grad-cam's
//!   `scale_cam_image`): pixel centres line up, `src = (x + 0.5) * w / W - 0.5`, clamped to the
//!   first and last pixel;
//! - **nearest** (PyTorch `interpolate(mode="nearest")`, captum's guided Grad-CAM):
//!   `src = floor(x * w / W)`.
//!
//! Bilinear sampling is separable: interpolate along x with weights `1 - f, f` between the
//! two neighbouring columns, then along y the same way.

/// One axis of bilinear sampling: for each output index, the two source indices and the weight
/// of the second.
pub type Taps = Vec<(usize, usize, f32)>;

/// The taps of an axis resampled from `src` to `dst` values.
pub fn taps(src: usize, dst: usize, align_corners: bool) -> Taps {
    (0..dst)
        .map(|x| {
            let pos = if align_corners {
                if dst > 1 {
                    x as f64 * (src - 1) as f64 / (dst - 1) as f64
                } else {
                    0.0
                }
            } else {
                ((x as f64 + 0.5) * src as f64 / dst as f64 - 0.5).max(0.0)
            };
            let i0 = (pos.floor() as usize).min(src - 1);
            let i1 = (i0 + 1).min(src - 1);
            let f = if i1 == i0 {
                0.0
            } else {
                (pos - i0 as f64) as f32
            };
            (i0, i1, f)
        })
        .collect()
}

fn bilinear(map: &[f32], h: usize, w: usize, out_h: usize, out_w: usize, align: bool) -> Vec<f32> {
    assert_eq!(map.len(), h * w);
    let mut out = vec![0.0; out_h * out_w];
    bilinear_with(
        map,
        w,
        &taps(h, out_h, align),
        &taps(w, out_w, align),
        &mut out,
    );
    out
}

/// Bilinear resampling of `map` (rows of `w` values) into `out` with precomputed taps along
/// y and x (for many maps of the same size: no allocation).
pub fn bilinear_with(map: &[f32], w: usize, ty: &Taps, tx: &Taps, out: &mut [f32]) {
    for (row, &(y0, y1, fy)) in out.chunks_mut(tx.len()).zip(ty) {
        for (o, &(x0, x1, fx)) in row.iter_mut().zip(tx) {
            let top = map[y0 * w + x0] * (1.0 - fx) + map[y0 * w + x1] * fx;
            let bottom = map[y1 * w + x0] * (1.0 - fx) + map[y1 * w + x1] * fx;
            *o = top * (1.0 - fy) + bottom * fy;
        }
    }
}

/// Bilinear with the corners aligned (PyTorch `align_corners=True`).
pub fn bilinear_align_corners(
    map: &[f32],
    h: usize,
    w: usize,
    out_h: usize,
    out_w: usize,
) -> Vec<f32> {
    bilinear(map, h, w, out_h, out_w, true)
}

/// Bilinear with half-pixel centres, as OpenCV's `cv2.resize(..., INTER_LINEAR)`.
pub fn bilinear_half_pixel(
    map: &[f32],
    h: usize,
    w: usize,
    out_h: usize,
    out_w: usize,
) -> Vec<f32> {
    bilinear(map, h, w, out_h, out_w, false)
}

/// Nearest neighbour, as PyTorch `interpolate(mode="nearest")`.
pub fn nearest(map: &[f32], h: usize, w: usize, out_h: usize, out_w: usize) -> Vec<f32> {
    assert_eq!(map.len(), h * w);
    let index = |x: usize, src: usize, dst: usize| ((x * src) / dst).min(src - 1);
    let mut out = Vec::with_capacity(out_h * out_w);
    for y in 0..out_h {
        let sy = index(y, h, out_h);
        for x in 0..out_w {
            out.push(map[sy * w + index(x, w, out_w)]);
        }
    }
    out
}

/// Mirrors every row of `[.., h, w]` planes in place (a horizontal flip).
pub fn flip_horizontal(data: &mut [f32], w: usize) {
    for row in data.chunks_mut(w) {
        row.reverse();
    }
}
