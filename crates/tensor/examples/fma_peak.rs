//! Measures this machine's single-core FMA peak with the same SIMD type the kernels use.
use std::time::Instant;
use wide::f32x8;

fn main() {
    let mut acc = [f32x8::splat(0.0); 12];
    let a = f32x8::splat(1.000_001);
    let b = f32x8::splat(0.999_999);
    let iters = 200_000_000u64;
    let t = Instant::now();
    for _ in 0..iters / 12 {
        for v in acc.iter_mut() {
            *v = v.mul_add(a, b);
        }
    }
    std::hint::black_box(&acc);
    let s = t.elapsed().as_secs_f64();
    let flops = iters as f64 * 16.0;
    println!("one core: {:.1} GFLOP/s (f32x8 FMA)", flops / s / 1e9);
}
