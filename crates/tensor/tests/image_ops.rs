//! The image ops feature visualization is built from (pad, crop, warp, channel mix, inverse
//! real DFT): forward against their definitions, backward against finite differences.

use std::sync::Arc;

use tensor::ops::inverse_dft::{self, DftTables};
use tensor::ops::warp::WarpMap;
use tensor::testing::{assert_close, gradient_check};
use tensor::{Graph, Rng, Tensor, Var};

/// `sum(y * r)` for a fixed random `r` of y's shape (each output its own weight).
fn weighted_sum(g: &mut Graph, y: Var, seed: u64) -> Var {
    let r = Rng::new(seed).tensor(g.value(y).shape(), -1.0, 1.0);
    let r = g.constant(r);
    let p = g.mul(y, r);
    g.sum(p)
}

fn check(name: &str, input: Tensor, build: impl Fn(&mut Graph, Var) -> Var) {
    // Every op here is linear in its input, so central differences are exact up to rounding.
    let err = gradient_check(
        &[input],
        |g, v| {
            let y = build(g, v[0]);
            weighted_sum(g, y, 11)
        },
        1e-2,
        400,
    );
    assert!(err < 1e-3, "{name}: gradient error {err}");
}

fn run(x: &Tensor, build: impl Fn(&mut Graph, Var) -> Var) -> Tensor {
    let mut g = Graph::no_grad();
    let v = g.constant(x.clone());
    let y = build(&mut g, v);
    g.value(y).clone()
}

#[test]
fn pad_then_crop_is_the_identity_and_the_border_is_the_value() {
    let x = Rng::new(1).tensor(&[2, 3, 4, 5], -1.0, 1.0);
    let padded = run(&x, |g, v| g.pad2d(v, 2, 0.5));
    assert_eq!(padded.shape(), &[2, 3, 8, 9]);
    assert_eq!(padded.data()[0], 0.5);
    assert_eq!(padded.data()[2 * 9 + 2], x.data()[0]);
    let back = run(&padded, |g, v| g.crop2d(v, 2, 2, 4, 5));
    assert_eq!(back.data(), x.data());
    check("pad2d", x.clone(), |g, v| g.pad2d(v, 3, 0.5));
    check("crop2d", x, |g, v| g.crop2d(v, 1, 2, 2, 3));
}

#[test]
fn warp_identity_rotation_and_resize() {
    let x = Rng::new(2).tensor(&[1, 2, 5, 5], -1.0, 1.0);
    // No rotation reads every pixel at its own place.
    let same = run(&x, |g, v| g.warp(v, WarpMap::rotate(5, 5, 0.0)));
    assert_close("rotate 0", &same, &x, 1e-6);
    // A quarter turn counter-clockwise: the right column, read downwards, becomes the top row
    // read left to right (the top-right corner moves to the top left).
    let turned = run(&x, |g, v| g.warp(v, WarpMap::rotate(5, 5, 90.0)));
    for c in 0..2 {
        for j in 0..5 {
            let top = turned.data()[c * 25 + j];
            let right = x.data()[c * 25 + j * 5 + 4];
            assert!((top - right).abs() < 1e-5, "channel {c} column {j}");
        }
    }
    // Resizing with corners on corners: 5 -> 9 puts every input pixel on an even output pixel
    // and the mean of two neighbours between them.
    let big = run(&x, |g, v| {
        g.warp(v, WarpMap::resize_align_corners(5, 5, 9, 9))
    });
    assert_eq!(big.shape(), &[1, 2, 9, 9]);
    assert!((big.data()[2 * 9 + 4] - x.data()[5 + 2]).abs() < 1e-6);
    let between = (x.data()[0] + x.data()[1]) / 2.0;
    assert!((big.data()[1] - between).abs() < 1e-6);

    check("warp rotate 7", x.clone(), |g, v| {
        g.warp(v, WarpMap::rotate(5, 5, 7.0))
    });
    check("warp rotate -10", x.clone(), |g, v| {
        g.warp(v, WarpMap::rotate(5, 5, -10.0))
    });
    check("warp grow", x.clone(), |g, v| {
        g.warp(v, WarpMap::resize_align_corners(5, 5, 6, 7))
    });
    check("warp shrink", x, |g, v| {
        g.warp(v, WarpMap::resize_align_corners(5, 5, 4, 3))
    });
}

#[test]
fn channel_mix_matches_its_definition() {
    let x = Rng::new(3).tensor(&[2, 3, 2, 3], -1.0, 1.0);
    let m = Tensor::new(&[2, 3], vec![1.0, 2.0, 3.0, -1.0, 0.5, 0.0]);
    let y = run(&x, |g, v| g.channel_mix(v, &m));
    assert_eq!(y.shape(), &[2, 2, 2, 3]);
    for n in 0..2 {
        for c in 0..2 {
            for p in 0..6 {
                let want: f32 = (0..3)
                    .map(|d| m.data()[c * 3 + d] * x.data()[(n * 3 + d) * 6 + p])
                    .sum();
                assert!((y.data()[(n * 2 + c) * 6 + p] - want).abs() < 1e-6);
            }
        }
    }
    check("channel_mix", x, |g, v| g.channel_mix(v, &m));
}

#[test]
fn inverse_dft_equals_the_definition_at_even_odd_and_oblong_sizes() {
    for (h, w) in [(1, 1), (4, 4), (5, 7), (8, 6), (6, 9), (16, 16), (3, 12)] {
        let x = Rng::new(4).tensor(&[2, 3, h, w / 2 + 1, 2], -1.0, 1.0);
        let tables = Arc::new(DftTables::new(h, w));
        let fast = run(&x, |g, v| g.inverse_real_dft2(v, &tables));
        let slow = inverse_dft::reference(&x, h, w);
        assert_close(&format!("inverse dft {h}x{w}"), &fast, &slow, 1e-5);
        check(&format!("inverse dft {h}x{w}"), x, |g, v| {
            g.inverse_real_dft2(v, &tables)
        });
    }
}

#[test]
fn inverse_dft_of_one_frequency_is_a_cosine_wave() {
    // X[0, 1] = 1: y[r, s] = 2 cos(2 pi s / W) / sqrt(H W), the same on every row.
    let (h, w) = (4, 8);
    let mut x = Tensor::zeros(&[1, 1, h, w / 2 + 1, 2]);
    x.data_mut()[2] = 1.0;
    let y = run(&x, |g, v| {
        g.inverse_real_dft2(v, &Arc::new(DftTables::new(h, w)))
    });
    for r in 0..h {
        for s in 0..w {
            let want = 2.0 * (2.0 * std::f64::consts::PI * s as f64 / w as f64).cos()
                / ((h * w) as f64).sqrt();
            assert!((y.data()[r * w + s] as f64 - want).abs() < 1e-6);
        }
    }
}
