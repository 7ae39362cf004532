//! Crate: `viz` (registered in crates/viz/Cargo.toml).
//!
//! Criterion benches of the workloads `viz bench` and `tools/bench-vs-pytorch` time (same
//! settings, random weights), plus one ascent step of the grid figure per layer:
//!
//! - `forward_224`: the whole network on 1x3x224x224, no tape;
//! - `gradcam_224`: Grad-CAM at block5_conv3, logit of the top class;
//! - `ascent_150_block3_conv1_40`: filter 0 of block3_conv1, 150 px, 40 first-edition steps;
//! - `grid_step_64/<layer>`: one ascent step of 64 filters at once on 64 px images, for each of
//!   the grid figure's layers (the figure is 40 such steps per layer);
//! - `attribution_224/<method>`: attribution methods at 224 px, top class: Grad-CAM++ (one
//!   backward from block5_conv3), integrated gradients with 8 steps (8 full backwards, batched),
//!   Score-CAM at block5_conv3 limited to its 32 most varying channels (32 masked forwards),
//!   Ablation-CAM at block5_conv3 (512 forwards of block5_pool and the three dense layers),
//!   occlusion with a 56 px window and stride (16 forwards). `viz bench --scorecam`
//!   times the full Score-CAM at block3_conv3 (256 forwards, about 20 s).
//!
//! `cargo bench -p viz --bench workloads` (add a name to filter, e.g. `-- gradcam`).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use vgg16::Vgg16;
use viz::ascent;
use viz::gradcam::{self, Score};
use viz::workloads;

fn workloads(c: &mut Criterion) {
    let model = Vgg16::random_standard(0, true);
    let input = workloads::input_224();

    let mut group = c.benchmark_group("workloads");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("forward_224", |b| {
        b.iter(|| workloads::forward(&model, &input).expect("forward"))
    });
    let block5_conv3 = model.layer_index("block5_conv3").expect("a VGG16 layer");
    group.bench_function("gradcam_224", |b| {
        b.iter(|| gradcam::grad_cam(&model, &input, block5_conv3, None, Score::Logit).expect("cam"))
    });
    let config = workloads::ascent_config(&model).expect("a VGG16 layer");
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("ascent_150_block3_conv1_40", |b| {
        b.iter(|| {
            ascent::run(&model, &config, ascent::random_start(1, 150, 0), |_| {}).expect("ascent")
        })
    });
    // Two steps of the lucid recipe (8 pictures, 128 px, block4_conv1): the Fourier picture,
    // colour, transforms, forward and backward through the model, Adam.
    let mut lucid = workloads::lucid_config(&model).expect("a VGG16 layer");
    lucid.steps = 2;
    group.bench_function("lucid_128_block4_conv1_8x2", |b| {
        b.iter(|| featureviz::render(&model, &lucid, |_| {}).expect("lucid"))
    });
    group.finish();

    let mut group = c.benchmark_group("grid_step_64");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    for name in workloads::GRID_LAYERS {
        let config = workloads::grid_config(&model, name, 1).expect("a VGG16 layer");
        let start = ascent::random_start(64, 64, 0);
        group.bench_function(name, |b| {
            b.iter(|| ascent::run(&model, &config, start.clone(), |_| {}).expect("ascent step"))
        });
    }
    group.finish();
}

fn attribution_methods(c: &mut Criterion) {
    use attribution::{Method, Options, METHODS};
    let model = Vgg16::random_standard(0, true);
    let input = workloads::input_224();
    let mut opts = Options::new(model.layer_index("block5_conv3").expect("a VGG16 layer"));
    opts.steps = 8;
    opts.max_channels = Some(32);
    opts.window = 56;
    opts.stride = 56;
    let mut group = c.benchmark_group("attribution_224");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(10));
    for name in [
        "gradcam++",
        "integrated-gradients",
        "scorecam",
        "ablationcam",
        "occlusion",
    ] {
        let method = Method::parse(name).expect("a method");
        assert!(METHODS.iter().any(|&(_, m)| m == method));
        group.bench_function(name, |b| {
            b.iter(|| {
                attribution::attribute(&model, &input, method, None, &opts).expect("attribution")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, workloads, attribution_methods);
criterion_main!(benches);
