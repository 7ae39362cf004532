//! The one piece of linear algebra the eigen methods need: the top eigenvector of a small
//! symmetric positive semi-definite matrix (a Gram matrix, at most 512 x 512).
//!
//! [`top_eigenvector`] uses power iteration, `v <- A v / |A v|`, which converges like
//! `(lambda_2 / lambda_1)^k`: fast when the first principal component dominates, as it does
//! for activations. When it has not converged after [`POWER_STEPS`] steps (two nearly equal top
//! eigenvalues) it falls back to [`symmetric_eigen`], Jacobi's method (Numerical Recipes 11.1):
//! slow next to LAPACK (O(n^3) per sweep) but short, exact to f64 rounding and independent of
//! thread count.
//!
//! Each rotation `A <- P^T A P` in the (p, q) plane is chosen to zero `A[p][q]`:
//! `theta = (A_qq - A_pp) / (2 A_pq)`, `t = sgn(theta) / (|theta| + sqrt(theta^2 + 1))`,
//! `c = 1 / sqrt(t^2 + 1)`, `s = t c`. Sweeping over all pairs until the off-diagonal part is
//! negligible leaves the eigenvalues on the diagonal; the product of the rotations holds the
//! eigenvectors as columns.

/// Power iteration steps before falling back to the full decomposition.
pub const POWER_STEPS: usize = 2000;

/// The unit eigenvector of the largest eigenvalue of the symmetric positive semi-definite
/// `n x n` matrix `a` (row-major); its sign is the one power iteration reaches from a positive
/// start (callers fix the sign they need).
pub fn top_eigenvector(a: &[f64], n: usize) -> Vec<f64> {
    let normalise = |v: &mut [f64]| {
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        norm
    };
    // Start from the diagonal (every component positive), which no eigenvector of interest is
    // orthogonal to in practice.
    let mut v: Vec<f64> = (0..n).map(|i| a[i * n + i].abs().sqrt() + 1e-6).collect();
    normalise(&mut v);
    let mut next = vec![0.0; n];
    for _ in 0..POWER_STEPS {
        for (i, out) in next.iter_mut().enumerate() {
            *out = a[i * n..(i + 1) * n]
                .iter()
                .zip(&v)
                .map(|(x, y)| x * y)
                .sum();
        }
        if normalise(&mut next) == 0.0 {
            return v; // the zero matrix: any vector will do
        }
        let change: f64 = next.iter().zip(&v).map(|(x, y)| (x - y) * (x - y)).sum();
        std::mem::swap(&mut v, &mut next);
        if change < 1e-26 {
            return v;
        }
    }
    let (values, vectors) = symmetric_eigen(a.to_vec(), n);
    let best = (0..n).fold(0, |b, j| if values[j] > values[b] { j } else { b });
    (0..n).map(|i| vectors[i * n + best]).collect()
}

/// Eigenvalues and eigenvectors of the symmetric `n x n` matrix `a` (row-major): returns
/// `(values, vectors)` with eigenvector `j` in column `j` of `vectors` (row-major `n x n`).
pub fn symmetric_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(a.len(), n * n);
    let mut v = vec![0.0f64; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let total: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..64 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum();
        if off <= total * 1e-30 || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // Columns p and q: A <- A P.
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                // Rows p and q: A <- P^T A.
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                // The eigenvectors: V <- V P.
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let values = (0..n).map(|i| a[i * n + i]).collect();
    (values, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_iteration_finds_the_top_eigenvector() {
        // A = Q diag(9, 3, 1) Q^T for a rotation Q: the top eigenvector is Q's first column.
        let (c, s) = (0.6f64, 0.8f64);
        let q = [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]];
        let d = [9.0, 3.0, 1.0];
        let mut a = vec![0.0; 9];
        for i in 0..3 {
            for j in 0..3 {
                a[i * 3 + j] = (0..3).map(|k| q[i][k] * d[k] * q[j][k]).sum();
            }
        }
        let v = top_eigenvector(&a, 3);
        let dot: f64 = (0..3).map(|i| v[i] * q[i][0]).sum();
        assert!((dot.abs() - 1.0).abs() < 1e-12, "{v:?}");
        // Equal top eigenvalues: the fallback still returns a unit eigenvector of 5.
        let b = [5.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 1.0];
        let v = top_eigenvector(&b, 3);
        assert!(v[2].abs() < 1e-12 && ((v[0] * v[0] + v[1] * v[1]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn eigenpairs_satisfy_the_definition() {
        let n = 6;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let x = ((i * 7 + j * 3) % 11) as f64 - 5.0 + if i == j { 3.0 } else { 0.0 };
                a[i * n + j] = x;
                a[j * n + i] = x;
            }
        }
        let (values, vectors) = symmetric_eigen(a.clone(), n);
        for j in 0..n {
            for i in 0..n {
                let av: f64 = (0..n).map(|k| a[i * n + k] * vectors[k * n + j]).sum();
                assert!((av - values[j] * vectors[i * n + j]).abs() < 1e-10);
            }
            let norm: f64 = (0..n).map(|k| vectors[k * n + j].powi(2)).sum();
            assert!((norm - 1.0).abs() < 1e-12);
        }
    }
}
