//! Occlusion (Zeiler & Fergus 2014): hide a square window of the image (set it to the
//! baseline 0 in the model's input space, the mean colour for caffe preprocessing), and
//! credit the score's drop to every pixel of the window. A pixel covered by several windows
//! gets the average drop of those windows. As captum's `Occlusion` with window (3, s, s):
//! windows start every `stride` pixels, `ceil((H - window) / stride) + 1` per axis, the last
//! one cut at the border; all colour channels are hidden together and credited the same.

use tensor::Tensor;
use vgg16::{Error, Result, Vgg16};

use super::GradientOptions;
use crate::batched::{scores_of_rows, Rows};

/// Window start positions along an axis of length `len`.
pub fn window_starts(len: usize, window: usize, stride: usize) -> Vec<usize> {
    let shifts = (len - window).div_ceil(stride) + 1;
    (0..shifts).map(|i| i * stride).collect()
}

/// The occlusion map of every image; `base_scores` are the unoccluded scores.
pub fn occlusion(
    model: &Vgg16,
    input: &Tensor,
    classes: &[usize],
    base_scores: &[f32],
    opts: &GradientOptions,
) -> Result<Tensor> {
    let [n, c, h, w] = input.dims4();
    let (window, stride) = (opts.window, opts.stride);
    if window == 0 || stride == 0 {
        return Err(Error::Invalid(
            "--window and --stride must be at least 1".into(),
        ));
    }
    if window > h || window > w {
        return Err(Error::Invalid(format!(
            "--window {window} is larger than the {h} x {w} input"
        )));
    }
    let (ys, xs) = (
        window_starts(h, window, stride),
        window_starts(w, window, stride),
    );
    let per_image = ys.len() * xs.len();
    let len = c * h * w;
    let window_of = |r: usize| {
        let k = r % per_image;
        (ys[k / xs.len()], xs[k % xs.len()])
    };
    let make_row = |r: usize, row: &mut [f32]| {
        let img = r / per_image;
        row.copy_from_slice(&input.data()[img * len..(img + 1) * len]);
        let (y0, x0) = window_of(r);
        for plane in row.chunks_mut(h * w) {
            for y in y0..(y0 + window).min(h) {
                plane[y * w + x0..y * w + (x0 + window).min(w)].fill(0.0);
            }
        }
    };
    let class_of_row = |r: usize| classes[r / per_image];
    let rows = Rows {
        count: n * per_image,
        shape: &[c, h, w],
        batch: opts.batch,
        class_of_row: &class_of_row,
    };
    let scores = scores_of_rows(model, 0, &rows, &make_row, opts.score)?;

    let mut total = vec![0.0f64; n * h * w];
    let mut count = vec![0u32; h * w];
    for (r, &s) in scores.iter().enumerate() {
        let img = r / per_image;
        let (y0, x0) = window_of(r);
        let drop = (base_scores[img] - s) as f64;
        for y in y0..(y0 + window).min(h) {
            for x in x0..(x0 + window).min(w) {
                total[img * h * w + y * w + x] += drop;
                if img == 0 {
                    count[y * w + x] += 1;
                }
            }
        }
    }
    let mut map = Vec::with_capacity(n * len);
    for img in 0..n {
        let plane: Vec<f32> = (0..h * w)
            .map(|p| match count[p] {
                0 => 0.0,
                k => (total[img * h * w + p] / k as f64) as f32,
            })
            .collect();
        for _ in 0..c {
            map.extend_from_slice(&plane);
        }
    }
    Ok(Tensor::new(input.shape(), map))
}
