//! ROAD, "RemOve And Debias" (Rong et al. 2022), as pytorch-grad-cam's `ROADMostRelevantFirst`
//! and `ROADLeastRelevantFirst` averaged over percentiles 10, 20, ..., 90:
//!
//! - for percentile `p`, the threshold `t` is the `p`-th percentile of the map in [0, 1]
//!   (numpy's linear interpolation); **most relevant first** removes the pixels with map value
//!   `>= t` (the top `100 - p` %), **least relevant first** those with `1 - map >= t'` (`t'` the
//!   same percentile of `1 - map`);
//! - removed pixels are filled in by [`super::imputer`] (noise 0.01, seeded), so the holes carry
//!   no edges;
//! - the result is the change of the class probability, `after - before`, averaged over the
//!   percentiles. A good map makes most-relevant-first fall a lot and least-relevant-first
//!   little; `combined = (lerf - morf) / 2` is larger for better maps.

use tensor::Tensor;
use vgg16::{Result, Vgg16};

use super::imputer::impute;
use crate::batched::{scores_of_rows, Rows};
use crate::target::{score_values, Score};

/// The percentiles of pytorch-grad-cam's averages.
pub const PERCENTILES: [f64; 9] = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0];

/// ROAD's numbers for one image.
#[derive(Clone, Debug)]
pub struct Road {
    /// Probability change per percentile, removing the most relevant pixels.
    pub most_relevant_first: Vec<f32>,
    /// Removing the least relevant pixels.
    pub least_relevant_first: Vec<f32>,
    pub morf_mean: f32,
    pub lerf_mean: f32,
    /// `(lerf_mean - morf_mean) / 2`.
    pub combined: f32,
}

/// numpy's `percentile` (linear interpolation between the sorted values).
pub fn percentile(values: &[f32], p: f64) -> f32 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let pos = p / 100.0 * (sorted.len() - 1) as f64;
    let (lo, frac) = (pos.floor() as usize, pos - pos.floor());
    let hi = (lo + 1).min(sorted.len() - 1);
    (sorted[lo] as f64 + frac * (sorted[hi] as f64 - sorted[lo] as f64)) as f32
}

/// ROAD for every image of `input` `[N, 3, H, W]`, `map01` `[N, H, W]` in [0, 1].
pub fn road(
    model: &Vgg16,
    input: &Tensor,
    map01: &Tensor,
    classes: &[usize],
    batch: usize,
    seed: u64,
) -> Result<Vec<Road>> {
    let [n, c, h, w] = input.dims4();
    let plane = h * w;
    let before = score_values(model, &model.logits(input)?, classes, Score::Probability);
    let per_image = 2 * PERCENTILES.len();
    // Row r: image r / per_image; the first 9 rows remove the most relevant pixels.
    let make_row = |r: usize, row: &mut [f32]| {
        let (img, k) = (r / per_image, r % per_image);
        let (least_first, p) = (k >= PERCENTILES.len(), PERCENTILES[k % PERCENTILES.len()]);
        let map = &map01.data()[img * plane..(img + 1) * plane];
        let ranked: Vec<f32> = if least_first {
            map.iter().map(|v| 1.0 - v).collect()
        } else {
            map.to_vec()
        };
        let threshold = percentile(&ranked, p);
        let removed: Vec<bool> = ranked.iter().map(|&v| v >= threshold).collect();
        row.copy_from_slice(&input.data()[img * c * plane..(img + 1) * c * plane]);
        impute(row, h, w, &removed, 0.01, seed ^ r as u64);
    };
    let class_of_row = |r: usize| classes[r / per_image];
    let rows = Rows {
        count: n * per_image,
        shape: &[c, h, w],
        batch,
        class_of_row: &class_of_row,
    };
    let after = scores_of_rows(model, 0, &rows, &make_row, Score::Probability)?;
    Ok(after
        .chunks(per_image)
        .zip(&before)
        .map(|(scores, &b)| {
            let change: Vec<f32> = scores.iter().map(|&s| s - b).collect();
            let (morf, lerf) = change.split_at(PERCENTILES.len());
            let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
            let (morf_mean, lerf_mean) = (mean(morf), mean(lerf));
            Road {
                most_relevant_first: morf.to_vec(),
                least_relevant_first: lerf.to_vec(),
                morf_mean,
                lerf_mean,
                combined: (lerf_mean - morf_mean) / 2.0,
            }
        })
        .collect())
}
