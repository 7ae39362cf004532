//! Seeded pseudo-random numbers: the book's random start images, random model weights for
//! benchmarks, and test data all come from here, so a seed gives the same numbers on every
//! machine.

use crate::tensor::Tensor;

/// A small, fast, seeded pseudo-random generator (SplitMix64), so nothing needs a dependency
/// and a seed gives the same numbers everywhere.
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

    /// Standard normal (mean 0, variance 1), by the Box-Muller transform of two uniforms.
    pub fn normal(&mut self) -> f32 {
        // u1 in (0, 1] so that ln(u1) is finite.
        let u1 = ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        let u2 = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
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
