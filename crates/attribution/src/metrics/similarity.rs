//! How alike two maps are, the two measures of Adebayo et al.'s sanity checks:
//!
//! - **Spearman rank correlation**: the Pearson correlation of the values' ranks (ties get
//!   the average of their ranks, as `scipy.stats.spearmanr`): 1 when both maps order the pixels
//!   the same way, whatever the scale. A constant map has no order; we return 0 for it (scipy:
//!   NaN), since it shares no ranking with anything.
//! - **SSIM** (Wang et al. 2004), as scikit-image's `structural_similarity` with its defaults
//!   and `data_range = 1` (maps normalised to [0, 1]): over every 7 x 7 window, luminance,
//!   contrast and structure compared through local means, variances (sample, N - 1) and
//!   covariance, `((2 mx my + C1)(2 sxy + C2)) / ((mx^2 + my^2 + C1)(sx^2 + sy^2 + C2))`,
//!   `C1 = (0.01)^2`, `C2 = (0.03)^2`, averaged over the windows that fit inside the image.

/// Ranks 1..=n with ties averaged.
pub fn ranks(values: &[f32]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let average = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = average;
        }
        i = j + 1;
    }
    ranks
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 || sbb == 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

/// Spearman's rank correlation of two maps of the same size.
pub fn spearman(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    pearson(&ranks(a), &ranks(b)) as f32
}

/// Mean SSIM of two `h x w` maps with values in [0, 1] (scikit-image's defaults).
pub fn ssim(a: &[f32], b: &[f32], h: usize, w: usize) -> f32 {
    const WIN: usize = 7;
    assert_eq!(a.len(), h * w);
    assert_eq!(b.len(), h * w);
    if h < WIN || w < WIN {
        return f32::NAN;
    }
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    let np = (WIN * WIN) as f64;
    let cov_norm = np / (np - 1.0);
    let mut total = 0.0;
    let mut windows = 0usize;
    for y in 0..=h - WIN {
        for x in 0..=w - WIN {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for dy in 0..WIN {
                for dx in 0..WIN {
                    let p = (y + dy) * w + x + dx;
                    let (u, v) = (a[p] as f64, b[p] as f64);
                    sa += u;
                    sb += v;
                    saa += u * u;
                    sbb += v * v;
                    sab += u * v;
                }
            }
            let (ma, mb) = (sa / np, sb / np);
            let va = cov_norm * (saa / np - ma * ma);
            let vb = cov_norm * (sbb / np - mb * mb);
            let vab = cov_norm * (sab / np - ma * mb);
            total += ((2.0 * ma * mb + c1) * (2.0 * vab + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            windows += 1;
        }
    }
    (total / windows as f64) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn spearman_is_about_order_only() {
        let a = [0.1, 0.5, 0.2, 0.9, 0.3];
        let monotone: Vec<f32> = a.iter().map(|v| v * v * 10.0 + 1.0).collect();
        let reversed: Vec<f32> = a.iter().map(|v| -v).collect();
        assert!((spearman(&a, &monotone) - 1.0).abs() < 1e-6);
        assert!((spearman(&a, &reversed) + 1.0).abs() < 1e-6);
        assert_eq!(spearman(&a, &[2.0; 5]), 0.0);
    }

    #[test]
    fn ssim_of_a_map_with_itself_is_one() {
        let (h, w) = (9, 10);
        let a: Vec<f32> = (0..h * w).map(|p| ((p * 37) % 11) as f32 / 10.0).collect();
        assert!((ssim(&a, &a, h, w) - 1.0).abs() < 1e-6);
        let flipped: Vec<f32> = a.iter().map(|v| 1.0 - v).collect();
        assert!(ssim(&a, &flipped, h, w) < 0.0);
    }
}
