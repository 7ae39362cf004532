//! ROAD's noisy linear imputation (Rong et al. 2022, as pytorch-grad-cam's
//! `NoisyLinearImputer`): a removed pixel takes the weighted average of its 8 neighbours,
//! `1/6` for the 4 sharing an edge and `1/12` for the 4 diagonal ones (normalised by the
//! weights of the neighbours inside the image), where neighbours that were removed too are
//! unknowns themselves. That is one linear equation per removed pixel,
//!
//! ```text
//! (sum of w over neighbours in the image) x_i - sum over removed neighbours j of w x_j
//!     = sum over kept neighbours j of w v_j
//! ```
//!
//! a symmetric, diagonally dominant system (a discrete Laplace equation with the kept pixels
//! as boundary values), solved per channel by conjugate gradients with a Jacobi
//! preconditioner. Then Gaussian noise of deviation `noise` is added (seeded). Unlike setting
//! pixels to a constant, the filled-in region has no edges for the model to react to.

use tensor::Rng;

const NEIGHBOURS: [((isize, isize), f64); 8] = [
    ((1, 1), 1.0 / 12.0),
    ((0, 1), 1.0 / 6.0),
    ((-1, 1), 1.0 / 12.0),
    ((1, -1), 1.0 / 12.0),
    ((0, -1), 1.0 / 6.0),
    ((-1, -1), 1.0 / 12.0),
    ((1, 0), 1.0 / 6.0),
    ((-1, 0), 1.0 / 6.0),
];

/// Fills the pixels of `image` (`[C, h, w]`, in place) where `removed` is true.
pub fn impute(image: &mut [f32], h: usize, w: usize, removed: &[bool], noise: f32, seed: u64) {
    let plane = h * w;
    let unknowns: Vec<usize> = (0..plane).filter(|&p| removed[p]).collect();
    if unknowns.is_empty() {
        return;
    }
    let mut index_of = vec![usize::MAX; plane];
    for (i, &p) in unknowns.iter().enumerate() {
        index_of[p] = i;
    }
    // The system, row by row: diagonal, and (column, weight) of the removed neighbours.
    let mut diagonal = vec![0.0f64; unknowns.len()];
    let mut links: Vec<Vec<(usize, f64)>> = vec![Vec::new(); unknowns.len()];
    let mut kept: Vec<Vec<(usize, f64)>> = vec![Vec::new(); unknowns.len()];
    for (i, &p) in unknowns.iter().enumerate() {
        let (y, x) = ((p / w) as isize, (p % w) as isize);
        for ((dy, dx), weight) in NEIGHBOURS {
            let (ny, nx) = (y + dy, x + dx);
            if ny < 0 || nx < 0 || ny >= h as isize || nx >= w as isize {
                continue;
            }
            let q = ny as usize * w + nx as usize;
            diagonal[i] += weight;
            if removed[q] {
                links[i].push((index_of[q], weight));
            } else {
                kept[i].push((q, weight));
            }
        }
    }
    let mut rng = Rng::new(seed);
    for channel in image.chunks_mut(plane) {
        let rhs: Vec<f64> = kept
            .iter()
            .map(|k| k.iter().map(|&(q, wt)| wt * channel[q] as f64).sum())
            .collect();
        let solution = conjugate_gradient(&diagonal, &links, &rhs);
        for (i, &p) in unknowns.iter().enumerate() {
            channel[p] = solution[i] as f32 + noise * rng.normal();
        }
    }
}

/// Solves `(D - L) x = b` (`D` diagonal, `L` the links) by preconditioned conjugate gradients.
fn conjugate_gradient(diagonal: &[f64], links: &[Vec<(usize, f64)>], b: &[f64]) -> Vec<f64> {
    let n = b.len();
    let apply = |x: &[f64], out: &mut [f64]| {
        for i in 0..n {
            out[i] = diagonal[i] * x[i] - links[i].iter().map(|&(j, w)| w * x[j]).sum::<f64>();
        }
    };
    let mut x = vec![0.0; n];
    let mut r = b.to_vec();
    let mut z: Vec<f64> = r.iter().zip(diagonal).map(|(r, d)| r / d).collect();
    let mut p = z.clone();
    let mut ap = vec![0.0; n];
    let mut rz: f64 = r.iter().zip(&z).map(|(a, b)| a * b).sum();
    let norm_b = b.iter().map(|v| v * v).sum::<f64>().sqrt();
    for _ in 0..10 * n.max(100) {
        let norm_r = r.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm_r <= 1e-10 * norm_b.max(1e-30) {
            break;
        }
        apply(&p, &mut ap);
        let pap: f64 = p.iter().zip(&ap).map(|(a, b)| a * b).sum();
        if pap <= 0.0 {
            break; // a part with no kept neighbour at all: nothing more to learn there
        }
        let alpha = rz / pap;
        for i in 0..n {
            x[i] += alpha * p[i];
            r[i] -= alpha * ap[i];
            z[i] = r[i] / diagonal[i];
        }
        let rz_next: f64 = r.iter().zip(&z).map(|(a, b)| a * b).sum();
        let beta = rz_next / rz;
        rz = rz_next;
        for i in 0..n {
            p[i] = z[i] + beta * p[i];
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linear_ramp_is_filled_exactly() {
        // The weighted neighbour average reproduces a linear function, so holes in a ramp are
        // filled with the ramp.
        let (h, w) = (9, 11);
        let ramp: Vec<f32> = (0..h * w)
            .map(|p| (p / w) as f32 * 2.0 + (p % w) as f32 * 3.0)
            .collect();
        let mut image = ramp.clone();
        let removed: Vec<bool> = (0..h * w)
            .map(|p| {
                let (y, x) = (p / w, p % w);
                (3..6).contains(&y) && (2..9).contains(&x) || (y == 1 && x == 1)
            })
            .collect();
        for p in 0..h * w {
            if removed[p] {
                image[p] = -1000.0;
            }
        }
        impute(&mut image, h, w, &removed, 0.0, 0);
        for p in 0..h * w {
            assert!(
                (image[p] - ramp[p]).abs() < 1e-4,
                "pixel {p}: {} vs {}",
                image[p],
                ramp[p]
            );
        }
    }
}
