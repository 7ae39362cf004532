//! Where the time of a forward pass goes: each layer of VGG16 (random weights, one 224 px
//! image, no tape) timed on its own, averaged over 5 runs after a warm-up.
//!
//! `cargo run --release -p viz --example layer_times`

use std::time::Instant;

use tensor::Graph;
use vgg16::{Span, Vgg16};

fn main() {
    let model = Vgg16::random_standard(0, true);
    let input = viz::workloads::input_224();
    let layers = model.layers().len();
    let runs = 5;
    let mut ms = vec![0.0f64; layers];
    for run in 0..=runs {
        let mut g = Graph::no_grad();
        let mut h = g.constant(input.clone());
        for (i, total) in ms.iter_mut().enumerate() {
            let started = Instant::now();
            h = model
                .forward(&mut g, h, Span::new(i, i))
                .expect("a VGG16 layer");
            if run > 0 {
                *total += started.elapsed().as_secs_f64() * 1e3 / runs as f64;
            }
        }
    }
    for (layer, t) in model.layers().iter().zip(&ms) {
        println!("{:<14} {t:7.2} ms", layer.name);
    }
    println!("{:<14} {:7.2} ms", "total", ms.iter().sum::<f64>());
}
