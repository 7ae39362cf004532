//! Projection on the first principal component (Eigen-CAM, Muhammad & Yeasin 2020; also
//! pytorch-grad-cam's `eigen_smooth`).
//!
//! For one image, write the tensor `[K, h, w]` as a matrix `M` with one row per position and one
//! column per channel (`P = h w` rows), and subtract each column's mean. The first right
//! singular vector `v` of `M` is the direction in channel space along which the positions vary
//! most; the map is each position's coordinate along it, `p = M v`, reshaped to `[h, w]`.
//!
//! `v` is the top eigenvector of `M^T M` (`K x K`); when there are fewer positions than
//! channels it is cheaper to take the top eigenvector `u` of `M M^T` (`P x P`) and
//! `v = M^T u / |M^T u|`. Either way [`crate::linalg::top_eigenvector`] does the work.
//!
//! **The sign.** A singular vector is only defined up to sign, and pytorch-grad-cam leaves it
//! to LAPACK, so its map can come out inverted. We fix it: `v` is chosen so that its
//! components sum to a positive number. Equivalently (`M v = s u`, `M 1 = row sums`,
//! `<M v, M 1> = s^2 <v, 1>`), the map correlates positively with each position's total of the
//! centred matrix: for Eigen-CAM, the map is hot where the activations are high overall; for
//! Eigen-Grad-CAM (`M` = `G * A`), where the HiResCAM map is high.

use tensor::Tensor;

use crate::linalg::top_eigenvector;

/// The first-component projection of each image of `t` `[N, K, h, w]`: `[N, h, w]`.
pub fn first_component(t: &Tensor) -> Tensor {
    let [n, k, h, w] = t.dims4();
    let positions = h * w;
    let mut out = Vec::with_capacity(n * positions);
    for img in t.data().chunks(k * positions) {
        // M[p][c] = t[c][p] - mean over p of t[c][.]
        let mut m = vec![0.0f64; positions * k];
        for c in 0..k {
            let plane = &img[c * positions..(c + 1) * positions];
            let mean = plane.iter().map(|&x| x as f64).sum::<f64>() / positions as f64;
            for (p, &x) in plane.iter().enumerate() {
                m[p * k + c] = x as f64 - mean;
            }
        }
        let v = if positions < k {
            let u = top_eigenvector(&gram_rows(&m, positions, k), positions);
            let mut v: Vec<f64> = (0..k)
                .map(|c| (0..positions).map(|p| m[p * k + c] * u[p]).sum())
                .collect();
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 0.0 {
                v.iter_mut().for_each(|x| *x /= norm);
            }
            v
        } else {
            top_eigenvector(&gram_columns(&m, k), k)
        };
        let sign = if v.iter().sum::<f64>() < 0.0 {
            -1.0
        } else {
            1.0
        };
        for p in 0..positions {
            let row = &m[p * k..(p + 1) * k];
            let dot: f64 = row.iter().zip(&v).map(|(a, b)| a * b).sum();
            out.push((sign * dot) as f32);
        }
    }
    Tensor::new(&[n, h, w], out)
}

/// `M M^T` (`rows x rows`).
fn gram_rows(m: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut g = vec![0.0; rows * rows];
    for i in 0..rows {
        for j in 0..=i {
            let d: f64 = (0..cols).map(|c| m[i * cols + c] * m[j * cols + c]).sum();
            g[i * rows + j] = d;
            g[j * rows + i] = d;
        }
    }
    g
}

/// `M^T M` (`cols x cols`).
fn gram_columns(m: &[f64], cols: usize) -> Vec<f64> {
    let mut g = vec![0.0; cols * cols];
    for row in m.chunks(cols) {
        for i in 0..cols {
            let ri = row[i];
            if ri == 0.0 {
                continue;
            }
            for j in 0..=i {
                g[i * cols + j] += ri * row[j];
            }
        }
    }
    for i in 0..cols {
        for j in 0..i {
            g[j * cols + i] = g[i * cols + j];
        }
    }
    g
}
