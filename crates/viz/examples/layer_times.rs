use std::time::Instant;
use tensor::Graph;
use vgg16::{Span, Vgg16};
fn main() {
    let model = Vgg16::random_standard(0, true);
    let input = viz::workloads::input_224();
    let n = model.layers().len();
    let mut totals = vec![0.0f64; n];
    for rep in 0..6 {
        let mut g = Graph::no_grad();
        let mut h = g.constant(input.clone());
        for i in 0..n {
            let t = Instant::now();
            h = model.forward(&mut g, h, Span::new(i, i)).unwrap();
            if rep > 0 {
                totals[i] += t.elapsed().as_secs_f64() * 1e3 / 5.0;
            }
        }
    }
    for (i, l) in model.layers().iter().enumerate() {
        println!("{:<14} {:7.2} ms", l.name, totals[i]);
    }
    println!("total {:.1}", totals.iter().sum::<f64>());
}
