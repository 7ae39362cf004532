//! Crate: `tensor` (registered in crates/tensor/Cargo.toml).
//!
//! Criterion benches of the kernels at VGG16's layer shapes: convolution forward and input
//! gradient at 224 px (classification, Grad-CAM) and 150 px (filter visualization), as the engine
//! runs them (`ops::conv2d`: Winograd for all but the first layer, whose forward is an im2col
//! matrix product), and the
//! batch-1 dense layers. Throughput is reported in the FLOP of a direct convolution (2 per
//! multiply-add), so criterion's "elem/s" reads as effective FLOP/s (Winograd does 2.25x fewer
//! multiplications, so its effective rate can pass the FMA peak). After the criterion runs, a
//! table gives GFLOP/s and the fraction of this machine's FMA peak (measured here, on all threads
//! rayon uses) for the direct kernel and for the engine's choice.
//!
//! `cargo bench -p tensor --bench conv` (add `-- forward` etc. to filter).

use std::time::{Duration, Instant};

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use tensor::kernels::conv_direct::{self, PackedFilters};
use tensor::kernels::gemv;
use tensor::kernels::simd::{Vf, LANES};
use tensor::Rng;
use tensor::{ConvGeometry, PackedConv, Tensor};

/// (layer names, cin, cout) of the distinct conv shapes, and the spatial size divisor (1 = input size).
const CONVS: [(&str, usize, usize, usize); 9] = [
    ("block1_conv1", 3, 64, 1),
    ("block1_conv2", 64, 64, 1),
    ("block2_conv1", 64, 128, 2),
    ("block2_conv2", 128, 128, 2),
    ("block3_conv1", 128, 256, 4),
    ("block3_conv2/3", 256, 256, 4),
    ("block4_conv1", 256, 512, 8),
    ("block4_conv2/3", 512, 512, 8),
    ("block5_conv1/2/3", 512, 512, 16),
];

struct Case {
    name: String,
    input: Tensor,
    grad: Tensor,
    layer: std::sync::Arc<PackedConv>,
    forward: PackedFilters,
    backward: PackedFilters,
    hw: usize,
    flop: f64,
}

fn cases() -> Vec<Case> {
    let mut rng = Rng::new(0);
    let mut out = Vec::new();
    for size in [224, 150] {
        for (name, cin, cout, div) in CONVS {
            let hw = size / div;
            let w = rng.tensor(&[cout, cin, 3, 3], -0.1, 0.1);
            out.push(Case {
                name: format!("{name} {hw}x{hw} ({cin}->{cout})"),
                input: rng.tensor(&[1, cin, hw, hw], -1.0, 1.0),
                grad: rng.tensor(&[1, cout, hw, hw], -1.0, 1.0),
                layer: PackedConv::new(w.clone(), Tensor::zeros(&[cout]), ConvGeometry::SAME_3X3),
                forward: PackedFilters::for_forward(w.data(), cout, cin, 3),
                backward: PackedFilters::for_input_gradient(w.data(), cout, cin, 3),
                hw,
                flop: 2.0 * (cin * cout * 9 * hw * hw) as f64,
            });
        }
    }
    out
}

fn conv_benches(c: &mut Criterion) {
    for (kind, is_forward) in [("forward", true), ("input_gradient", false)] {
        let mut group = c.benchmark_group(format!("conv3x3_{kind}"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(2));
        for case in cases() {
            group.throughput(Throughput::Elements(case.flop as u64));
            group.bench_function(BenchmarkId::from_parameter(&case.name), |b| {
                b.iter(|| run_engine(&case, is_forward));
            });
        }
        group.finish();
    }
}

/// The direct kernel alone.
fn run_direct(case: &Case, forward: bool) -> Vec<f32> {
    if forward {
        conv_direct::conv2d(
            case.input.data(),
            1,
            case.hw,
            case.hw,
            &case.forward,
            None,
            1,
            false,
        )
    } else {
        conv_direct::conv2d_input_gradient(case.grad.data(), 1, case.hw, case.hw, &case.backward, 1)
    }
}

/// What the engine runs for this layer (Winograd where it pays).
fn run_engine(case: &Case, forward: bool) -> Tensor {
    let l = &case.layer;
    if forward {
        tensor::ops::frozen_conv::forward(&case.input, l, None, None)
    } else {
        tensor::ops::frozen_conv::input_gradient(&case.input, &case.grad, l, None)
    }
}

fn dense_benches(c: &mut Criterion) {
    let mut rng = Rng::new(1);
    let mut group = c.benchmark_group("dense_batch1");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for (name, inp, out) in [
        ("fc1", 25088, 4096),
        ("fc2", 4096, 4096),
        ("predictions", 4096, 1000),
    ] {
        let w = rng.tensor(&[out, inp], -0.01, 0.01);
        let x = rng.tensor(&[inp], -1.0, 1.0);
        let dy = rng.tensor(&[out], -1.0, 1.0);
        group.throughput(Throughput::Bytes((inp * out * 4) as u64));
        let mut y = vec![0.0; out];
        group.bench_function(BenchmarkId::new("forward", name), |b| {
            b.iter(|| gemv::matvec(w.data(), x.data(), None, &mut y))
        });
        let mut dx = vec![0.0; inp];
        group.bench_function(BenchmarkId::new("input_gradient", name), |b| {
            b.iter(|| gemv::matvec_transposed(w.data(), dy.data(), &mut dx))
        });
    }
    group.finish();
}

/// FMA peak of this machine on rayon's threads, in GFLOP/s, with the kernels' own SIMD type: the
/// best of 5 runs (on a shared machine a single run can be slowed down by a neighbour).
fn fma_peak() -> f64 {
    (0..5).map(|_| fma_peak_once()).fold(0.0, f64::max)
}

fn fma_peak_once() -> f64 {
    use rayon::prelude::*;
    let threads = rayon::current_num_threads();
    let iters = 50_000_000u64;
    let t = Instant::now();
    let total: f32 = (0..threads)
        .into_par_iter()
        .map(|_| {
            let mut acc = [Vf::splat(0.0); 12];
            let (a, b) = (Vf::splat(1.000_001), Vf::splat(0.999_999));
            for _ in 0..iters / 12 {
                for v in acc.iter_mut() {
                    *v = v.mul_add(a, b);
                }
            }
            acc.iter().map(|v| v.reduce_add()).sum::<f32>()
        })
        .sum();
    std::hint::black_box(total);
    threads as f64 * iters as f64 * 2.0 * LANES as f64 / t.elapsed().as_secs_f64() / 1e9
}

fn summary() {
    let peak = fma_peak();
    println!(
        "\nFMA peak on {} threads: {peak:.0} GFLOP/s (FMA loop, {LANES} lanes)",
        rayon::current_num_threads()
    );
    println!(
        "GFLOP/s counted as a direct convolution's FLOP; 'engine' = what ops::conv2d runs: \
         im2col for block1_conv1's forward, Winograd for the others"
    );
    println!(
        "{:<38} {:>10} {:>7} {:>10} {:>7} {:>10} {:>7} {:>10} {:>7}",
        "conv layer",
        "direct fwd",
        "% peak",
        "direct dx",
        "% peak",
        "engine fwd",
        "% peak",
        "engine dx",
        "% peak"
    );
    let best = |f: &dyn Fn()| {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min)
    };
    for case in cases() {
        let rates = [
            best(&|| drop(std::hint::black_box(run_direct(&case, true)))),
            best(&|| drop(std::hint::black_box(run_direct(&case, false)))),
            best(&|| drop(std::hint::black_box(run_engine(&case, true)))),
            best(&|| drop(std::hint::black_box(run_engine(&case, false)))),
        ]
        .map(|t| case.flop / t / 1e9);
        print!("{:<38}", case.name);
        for r in rates {
            print!(" {r:>10.1} {:>6.0}%", 100.0 * r / peak);
        }
        println!();
    }
}

criterion_group!(benches, conv_benches, dense_benches);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
