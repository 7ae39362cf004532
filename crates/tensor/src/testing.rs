//! Helpers for tests and benches: seeded random tensors and finite-difference gradient checks.

use crate::graph::{Graph, Var};
use crate::tensor::Tensor;

/// A small, fast, seeded pseudo-random generator (SplitMix64), so tests need no dependency and
/// give the same numbers everywhere.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// A tensor of values uniform in [lo, hi).
    pub fn tensor(&mut self, shape: &[usize], lo: f32, hi: f32) -> Tensor {
        let n = shape.iter().product();
        Tensor::new(
            shape,
            (0..n).map(|_| lo + (hi - lo) * self.uniform()).collect(),
        )
    }
}

/// Checks the gradient the tape computes for `inputs` against central finite differences.
///
/// `build` records a computation from the input vars and returns a scalar. For each input and a
/// few positions of it (all of them when `max_positions` allows), we nudge the value by `±eps`,
/// recompute the scalar in f64-friendly fashion, and compare `(f(x+eps) - f(x-eps)) / 2eps` with
/// the tape's gradient. Returns the largest error relative to `max(1, |gradient|)`.
pub fn gradient_check(
    inputs: &[Tensor],
    build: impl Fn(&mut Graph, &[Var]) -> Var,
    eps: f32,
    max_positions: usize,
) -> f32 {
    let eval = |values: &[Tensor]| -> f64 {
        let mut g = Graph::no_grad();
        let vars: Vec<Var> = values.iter().map(|t| g.constant(t.clone())).collect();
        let out = build(&mut g, &vars);
        g.value(out).item() as f64
    };
    let mut g = Graph::new();
    let vars: Vec<Var> = inputs.iter().map(|t| g.input(t.clone())).collect();
    let out = build(&mut g, &vars);
    let grads = g.backward(out);
    let mut worst = 0.0f32;
    for (k, input) in inputs.iter().enumerate() {
        let analytic = grads
            .get(vars[k])
            .cloned()
            .unwrap_or_else(|| Tensor::zeros(input.shape()));
        let n = input.len();
        let step = (n / max_positions.max(1)).max(1);
        for i in (0..n).step_by(step) {
            let mut plus = inputs.to_vec();
            plus[k].data_mut()[i] += eps;
            let mut minus = inputs.to_vec();
            minus[k].data_mut()[i] -= eps;
            let numeric = ((eval(&plus) - eval(&minus)) / (2.0 * eps as f64)) as f32;
            let a = analytic.data()[i];
            let err = (numeric - a).abs() / a.abs().max(1.0);
            worst = worst.max(err);
        }
    }
    worst
}

/// Asserts that two tensors have the same shape and agree to `tol` relative to the larger of 1
/// and the largest magnitude in `want`: `|got - want| <= tol * max(1, max |want|)`.
pub fn assert_close(what: &str, got: &Tensor, want: &Tensor, tol: f32) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let scale = want.data().iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let err = got.max_abs_diff(want);
    assert!(
        err <= tol * scale,
        "{what}: max difference {err} (scale {scale})"
    );
}
