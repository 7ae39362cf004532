//! Helpers for tests: finite-difference gradient checks and a tolerance assertion. (Seeded
//! random numbers are in [`crate::rng`], which production code uses too.)

use crate::graph::{Graph, Var};
use crate::tensor::Tensor;

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
