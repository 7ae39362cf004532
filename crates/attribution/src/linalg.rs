//! The one piece of linear algebra the eigen methods need: eigenvectors of a small symmetric
//! matrix, by Jacobi's method (Numerical Recipes 11.1). Slow next to LAPACK (O(n^3) per sweep),
//! but short, exact to f64 rounding and independent of thread count; the matrices here are at
//! most 512 x 512.
//!
//! Each rotation `A <- P^T A P` in the (p, q) plane is chosen to zero `A[p][q]`:
//! `theta = (A_qq - A_pp) / (2 A_pq)`, `t = sgn(theta) / (|theta| + sqrt(theta^2 + 1))`,
//! `c = 1 / sqrt(t^2 + 1)`, `s = t c`. Sweeping over all pairs until the off-diagonal part is
//! negligible leaves the eigenvalues on the diagonal; the product of the rotations holds the
//! eigenvectors as columns.

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
