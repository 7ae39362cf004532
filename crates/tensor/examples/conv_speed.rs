//! Quick timing of the direct and Winograd convolutions at a few VGG16 shapes (the criterion benches in
//! benches/ are the real measurement; this is for a fast look while developing).
use std::time::Instant;
use tensor::kernels::conv_direct::{self, PackedFilters};
use tensor::testing::Rng;

fn main() {
    let mut rng = Rng::new(0);
    for (c_in, c_out, hw) in [
        (64, 64, 224),
        (128, 128, 112),
        (256, 256, 56),
        (512, 512, 28),
        (512, 512, 14),
    ] {
        let x = rng.tensor(&[1, c_in, hw, hw], -1.0, 1.0);
        let w = rng.tensor(&[c_out, c_in, 3, 3], -1.0, 1.0);
        let p = PackedFilters::for_forward(w.data(), c_out, c_in, 3);
        let flop = 2.0 * (c_in * c_out * 9 * hw * hw) as f64;
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            std::hint::black_box(conv_direct::conv2d(x.data(), 1, hw, hw, &p, None, 1, false));
            best = best.min(t.elapsed().as_secs_f64());
        }
        let wf = tensor::kernels::winograd::WinogradFilters::for_forward(w.data(), c_out, c_in);
        let mut wbest = f64::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            std::hint::black_box(tensor::kernels::winograd::conv3x3(
                x.data(),
                1,
                hw,
                hw,
                &wf,
                None,
                false,
            ));
            wbest = wbest.min(t.elapsed().as_secs_f64());
        }
        let a = conv_direct::conv2d(x.data(), 1, hw, hw, &p, None, 1, false);
        let b = tensor::kernels::winograd::conv3x3(x.data(), 1, hw, hw, &wf, None, false);
        let diff = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        println!(
            "{c_in}->{c_out} {hw}x{hw}: direct {:.2} ms ({:.1} GFLOP/s), winograd {:.2} ms ({:.1} effective), max diff {diff:.2e}",
            best * 1e3,
            flop / best / 1e9,
            wbest * 1e3,
            flop / wbest / 1e9
        );
    }
}
