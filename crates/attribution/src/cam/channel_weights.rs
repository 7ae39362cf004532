//! The gradient-weighted CAM methods: each turns the activations `A` and gradients `G`
//! (`[N, K, h, w]`, see [`crate::capture`]) into per-channel contributions `[N, K, h, w]`
//! whose sum over channels is the map. Sums over the `h x w` positions are written `sum`.
//!
//! Channel weights (the contribution is `w_k A_k`):
//! - Grad-CAM: `w_k = mean(G_k)`: the average slope of the score along channel k.
//! - Grad-CAM++ (Chattopadhay et al. 2018, pytorch-grad-cam's closed form): the paper weighs
//!   each position's positive gradient by `alpha` chosen so that the weights explain the score
//!   `Y = exp(S)`; for that `Y`, every higher derivative of `Y` is `Y` times a power of `G`
//!   (`d^2 Y / dA^2 = Y G^2`, `d^3 Y / dA^3 = Y G^3`), the `Y`s cancel, and
//!   `alpha = G^2 / (2 G^2 + sum(A_k) G^3 + 1e-6)` (0 where `G = 0`),
//!   `w_k = sum(ReLU(G_k) alpha)`: positive slopes only, weighted so that small but spread
//!   evidence counts as much as one strong spot.
//! - XGrad-CAM (Fu et al. 2020): `w_k = sum(G_k A_k) / (sum(A_k) + 1e-7)`: the slope averaged
//!   with the activation as weight.
//!
//! Position-wise (no single weight per channel):
//! - HiResCAM (Draelos & Carin 2020): `G_k A_k`, the first-order Taylor term of each
//!   activation, so the map sums to the gradient-times-input of the layer.
//! - Grad-CAM element-wise: `ReLU(G_k A_k)`.
//! - LayerCAM (Jiang et al. 2021): `ReLU(G_k) A_k`.

use tensor::Tensor;

fn planes(t: &Tensor) -> (usize, usize, usize) {
    let [n, k, h, w] = t.dims4();
    (n, k, h * w)
}

/// Grad-CAM's weights `[N, K]`.
pub fn gradcam_weights(g: &Tensor) -> Tensor {
    let (n, k, plane) = planes(g);
    let w = g
        .data()
        .chunks(plane)
        .map(|gk| (gk.iter().map(|&v| v as f64).sum::<f64>() / plane as f64) as f32)
        .collect();
    Tensor::new(&[n, k], w)
}

/// Grad-CAM++'s weights `[N, K]`.
pub fn gradcam_plus_plus_weights(a: &Tensor, g: &Tensor) -> Tensor {
    let (n, k, plane) = planes(g);
    let w = a
        .data()
        .chunks(plane)
        .zip(g.data().chunks(plane))
        .map(|(ak, gk)| {
            let sum_a: f64 = ak.iter().map(|&v| v as f64).sum();
            gk.iter()
                .map(|&gv| {
                    let gv = gv as f64;
                    if gv == 0.0 {
                        return 0.0;
                    }
                    let g2 = gv * gv;
                    let alpha = g2 / (2.0 * g2 + sum_a * g2 * gv + 1e-6);
                    gv.max(0.0) * alpha
                })
                .sum::<f64>() as f32
        })
        .collect();
    Tensor::new(&[n, k], w)
}

/// XGrad-CAM's weights `[N, K]`.
pub fn xgradcam_weights(a: &Tensor, g: &Tensor) -> Tensor {
    let (n, k, plane) = planes(g);
    let w = a
        .data()
        .chunks(plane)
        .zip(g.data().chunks(plane))
        .map(|(ak, gk)| {
            let sum_a: f64 = ak.iter().map(|&v| v as f64).sum();
            let sum_ga: f64 = ak.iter().zip(gk).map(|(&a, &g)| a as f64 * g as f64).sum();
            (sum_ga / (sum_a + 1e-7)) as f32
        })
        .collect();
    Tensor::new(&[n, k], w)
}

/// `w[n, k] * A[n, k, :, :]`.
pub fn weighted(a: &Tensor, weights: &Tensor) -> Tensor {
    let (_, _, plane) = planes(a);
    let mut out = a.data().to_vec();
    for (ak, &w) in out.chunks_mut(plane).zip(weights.data()) {
        ak.iter_mut().for_each(|v| *v *= w);
    }
    Tensor::new(a.shape(), out)
}

/// `f(A, G)` position by position (HiResCAM, element-wise Grad-CAM, LayerCAM).
pub fn elementwise(a: &Tensor, g: &Tensor, f: impl Fn(f32, f32) -> f32) -> Tensor {
    let out = a
        .data()
        .iter()
        .zip(g.data())
        .map(|(&a, &g)| f(a, g))
        .collect();
    Tensor::new(a.shape(), out)
}

/// The sum over channels: `[N, K, h, w]` -> `[N, h, w]`, in f64.
pub fn sum_channels(t: &Tensor) -> Tensor {
    let [n, k, h, w] = t.dims4();
    let plane = h * w;
    let mut out = Vec::with_capacity(n * plane);
    for img in t.data().chunks(k * plane) {
        let mut acc = vec![0.0f64; plane];
        for ch in img.chunks(plane) {
            acc.iter_mut().zip(ch).for_each(|(s, &v)| *s += v as f64);
        }
        out.extend(acc.into_iter().map(|v| v as f32));
    }
    Tensor::new(&[n, h, w], out)
}
