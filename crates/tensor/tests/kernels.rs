//! Fast kernels against the reference kernels, on shapes chosen to hit every SIMD tail, and
//! results independent of the number of threads.

use tensor::kernels::conv_direct::{self, PackedFilters};
use tensor::kernels::gemv;
use tensor::kernels::im2col;
use tensor::kernels::reference::{self, ConvShape};
use tensor::kernels::winograd::{self, Tiling, WinogradFilters};
use tensor::ops;
use tensor::Rng;
use tensor::{ConvGeometry, Tensor};

fn close(name: &str, fast: &[f32], slow: &[f32], tol: f32) {
    assert_eq!(fast.len(), slow.len(), "{name}: lengths");
    let scale = slow.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    for (i, (a, b)) in fast.iter().zip(slow).enumerate() {
        assert!(
            (a - b).abs() <= tol * scale,
            "{name}: element {i}: fast {a} vs reference {b}"
        );
    }
}

fn conv_case(n: usize, cin: usize, cout: usize, h: usize, w: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    let k = 3;
    let s = ConvShape {
        n,
        cin,
        h,
        w,
        cout,
        k,
        stride: 1,
        pad: 1,
    };
    let x = rng.tensor(&[n, cin, h, w], -1.0, 1.0);
    let wt = rng.tensor(&[cout, cin, k, k], -1.0, 1.0);
    let b = rng.tensor(&[cout], -1.0, 1.0);
    let dy = rng.tensor(&[n, cout, h, w], -1.0, 1.0);
    let name = format!("n{n} cin{cin} cout{cout} {h}x{w}");

    let packed = PackedFilters::for_forward(wt.data(), cout, cin, k);
    let fast = conv_direct::conv2d(x.data(), n, h, w, &packed, Some(b.data()), 1, false);
    let slow = reference::conv2d_forward(s, x.data(), wt.data(), Some(b.data()));
    close(&format!("forward {name}"), &fast, &slow, 1e-5);

    let fast = im2col::conv2d(x.data(), n, h, w, &packed, Some(b.data()), 1, false);
    close(&format!("im2col forward {name}"), &fast, &slow, 1e-5);

    let relu = conv_direct::conv2d(x.data(), n, h, w, &packed, Some(b.data()), 1, true);
    let fast = im2col::conv2d(x.data(), n, h, w, &packed, Some(b.data()), 1, true);
    let slow_relu: Vec<f32> = slow.iter().map(|v| v.max(0.0)).collect();
    close(
        &format!("im2col forward+relu {name}"),
        &fast,
        &slow_relu,
        1e-5,
    );
    close(&format!("forward+relu {name}"), &relu, &slow_relu, 1e-5);

    let flipped = PackedFilters::for_input_gradient(wt.data(), cout, cin, k);
    let fast = conv_direct::conv2d_input_gradient(dy.data(), n, h, w, &flipped, 1);
    let slow = reference::conv2d_backward_data(s, dy.data(), wt.data());
    close(&format!("input gradient {name}"), &fast, &slow, 1e-5);

    for tiling in [Tiling::F2x2, Tiling::F4x4] {
        let wino = WinogradFilters::for_forward(wt.data(), cout, cin, tiling);
        let fast = winograd::conv3x3(x.data(), n, h, w, &wino, Some(b.data()), true);
        close(
            &format!("winograd {tiling:?} forward+relu {name}"),
            &fast,
            &slow_relu,
            1e-5,
        );
        let wino = WinogradFilters::for_input_gradient(wt.data(), cout, cin, tiling);
        let fast = winograd::conv3x3(dy.data(), n, h, w, &wino, None, false);
        close(
            &format!("winograd {tiling:?} input gradient {name}"),
            &fast,
            &reference::conv2d_backward_data(s, dy.data(), wt.data()),
            1e-5,
        );
    }

    let fast = conv_direct::conv2d_weight_gradient(x.data(), dy.data(), n, cin, h, w, cout, k, 1);
    let slow = reference::conv2d_backward_weight(s, x.data(), dy.data());
    close(&format!("weight gradient {name}"), &fast, &slow, 1e-5);
}

#[test]
fn conv_widths_hit_every_tail() {
    for (i, w) in [1, 5, 9, 13, 14, 15, 18, 37].into_iter().enumerate() {
        conv_case(1, 3, 16, 3 + i, w, i as u64);
    }
}

#[test]
fn conv_channel_counts() {
    for (i, (cin, cout)) in [(3, 16), (16, 17), (17, 3), (64, 64), (3, 1), (1, 5)]
        .into_iter()
        .enumerate()
    {
        conv_case(1, cin, cout, 7, 9, 100 + i as u64);
    }
}

#[test]
fn conv_batches() {
    conv_case(3, 5, 9, 6, 11, 200);
}

#[test]
fn conv_other_kernel_sizes_through_the_op() {
    // The op dispatches k=1 and k=5 stride 1 to the fast kernels (im2col for these 4 input
    // channels) and stride 2 to the reference. Sizes: ordinary; one column (rows of the output
    // shorter than the padding); more positions than one im2col task, with a task starting at the
    // last column.
    let mut rng = Rng::new(300);
    for (h, w) in [(9, 10), (3, 1), (60, 7)] {
        for (k, stride, padding) in [(1, 1, 0), (5, 1, 2), (5, 1, 0), (3, 2, 1)] {
            if h + 2 * padding < k || w + 2 * padding < k {
                continue;
            }
            let name = format!("{h}x{w} k{k} s{stride} p{padding}");
            let x = rng.tensor(&[2, 4, h, w], -1.0, 1.0);
            let wt = rng.tensor(&[6, 4, k, k], -1.0, 1.0);
            let geo = ConvGeometry { stride, padding };
            let s = ConvShape {
                n: 2,
                cin: 4,
                h,
                w,
                cout: 6,
                k,
                stride,
                pad: padding,
            };
            let y = ops::conv2d::forward(&x, &wt, None, geo);
            close(
                &format!("op forward {name}"),
                y.data(),
                &reference::conv2d_forward(s, x.data(), wt.data(), None),
                1e-5,
            );
            let dy = rng.tensor(y.shape(), -1.0, 1.0);
            let g = ops::conv2d::backward(&x, &wt, &dy, geo, [true, true, true]);
            close(
                &format!("op dx {name}"),
                g.dx.unwrap().data(),
                &reference::conv2d_backward_data(s, dy.data(), wt.data()),
                1e-5,
            );
            close(
                &format!("op dw {name}"),
                g.dw.unwrap().data(),
                &reference::conv2d_backward_weight(s, x.data(), dy.data()),
                1e-5,
            );
        }
    }
}

#[test]
fn dense_kernels_against_reference() {
    let mut rng = Rng::new(400);
    for (rows, inp, out) in [
        (1, 1, 1),
        (1, 37, 5),
        (1, 1000, 33),
        (4, 37, 5),
        (3, 130, 70),
    ] {
        let x = rng.tensor(&[rows, inp], -1.0, 1.0);
        let w = rng.tensor(&[out, inp], -1.0, 1.0);
        let b = rng.tensor(&[out], -1.0, 1.0);
        let dy = rng.tensor(&[rows, out], -1.0, 1.0);
        let y = ops::dense::forward(&x, &w, Some(&b));
        close(
            "dense forward",
            y.data(),
            &reference::dense_forward(rows, inp, out, x.data(), w.data(), Some(b.data())),
            1e-5,
        );
        let g = ops::dense::backward(&x, &w, &dy, [true, true]);
        close(
            "dense dx",
            g.dx.unwrap().data(),
            &reference::dense_backward_data(rows, inp, out, dy.data(), w.data()),
            1e-5,
        );
        close(
            "dense dw",
            g.dw.unwrap().data(),
            &reference::dense_backward_weight(rows, inp, out, x.data(), dy.data()),
            1e-5,
        );
    }
    let a = rng.tensor(&[77], -1.0, 1.0);
    let b = rng.tensor(&[77], -1.0, 1.0);
    let exact: f64 = a
        .data()
        .iter()
        .zip(b.data())
        .map(|(x, y)| *x as f64 * *y as f64)
        .sum();
    assert!((gemv::dot(a.data(), b.data()) as f64 - exact).abs() < 1e-5);
}

/// Runs `f` on a rayon pool of `threads` threads.
fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let mut rng = Rng::new(500);
    // 20x21 with 16 channels each way: both directions take the Winograd kernel.
    let x = rng.tensor(&[2, 16, 20, 21], -1.0, 1.0);
    let w = rng.tensor(&[24, 16, 3, 3], -1.0, 1.0);
    let dy = rng.tensor(&[2, 24, 20, 21], -1.0, 1.0);
    let fc_w = rng.tensor(&[300, 500], -1.0, 1.0);
    let fc_x = rng.tensor(&[1, 500], -1.0, 1.0);
    let run = || {
        let geo = ConvGeometry::SAME_3X3;
        let y = ops::conv2d::forward(&x, &w, None, geo);
        let g = ops::conv2d::backward(&x, &w, &dy, geo, [true, true, true]);
        let f = ops::dense::forward(&fc_x, &fc_w, None);
        let fg = ops::dense::backward(&fc_x, &fc_w, &f, [true, true]);
        let mut all: Vec<Tensor> = vec![
            y,
            g.dx.unwrap(),
            g.dw.unwrap(),
            f,
            fg.dx.unwrap(),
            fg.dw.unwrap(),
        ];
        all.drain(..).map(|t| t.into_vec()).collect::<Vec<_>>()
    };
    let one = with_threads(1, run);
    let three = with_threads(3, run);
    assert!(one == three, "results differ between 1 and 3 threads");
}

#[test]
fn selected_channel_convolution_matches_the_full_one() {
    use tensor::{Graph, PackedConv, ReluRule};
    let mut rng = Rng::new(600);
    let x = rng.tensor(&[3, 5, 7, 9], -1.0, 1.0);
    let layer = PackedConv::new(
        rng.tensor(&[6, 5, 3, 3], -1.0, 1.0),
        rng.tensor(&[6], -0.5, 0.5),
        ConvGeometry::SAME_3X3,
    );
    let channels = [4, 0, 4];
    let dy = rng.tensor(&[3, 1, 7, 9], -1.0, 1.0);

    // Full convolution + ReLU, then keep channel channels[i] of image i, weighted by dy.
    let mut g = Graph::new();
    let xv = g.input(x.clone());
    let full = g.frozen_conv2d(xv, &layer, Some(ReluRule::Standard));
    let mut mask = vec![0.0; 3 * 6 * 63];
    for (i, &c) in channels.iter().enumerate() {
        mask[(i * 6 + c) * 63..(i * 6 + c + 1) * 63]
            .copy_from_slice(&dy.data()[i * 63..(i + 1) * 63]);
    }
    let m = g.constant(Tensor::new(&[3, 6, 7, 9], mask));
    let p = g.mul(full, m);
    let loss = g.sum(p);
    let want_dx = g.backward(loss).wrt(xv).clone();

    let mut g2 = Graph::new();
    let xv2 = g2.input(x);
    let sel = g2.frozen_conv2d_channels(xv2, &layer, &channels, Some(ReluRule::Standard));
    for (i, &c) in channels.iter().enumerate() {
        let got = &g2.value(sel).data()[i * 63..(i + 1) * 63];
        let want = &g.value(full).data()[(i * 6 + c) * 63..(i * 6 + c + 1) * 63];
        close("selected forward", got, want, 1e-6);
    }
    let d = g2.constant(dy);
    let p2 = g2.mul(sel, d);
    let loss2 = g2.sum(p2);
    close(
        "selected dx",
        g2.backward(loss2).wrt(xv2).data(),
        want_dx.data(),
        1e-5,
    );
}

#[test]
fn winograd_empty_batch() {
    let w = Rng::new(500).tensor(&[4, 16, 3, 3], -1.0, 1.0);
    for tiling in [Tiling::F2x2, Tiling::F4x4] {
        let filters = WinogradFilters::for_forward(w.data(), 4, 16, tiling);
        assert!(winograd::conv3x3(&[], 0, 5, 5, &filters, None, true).is_empty());
    }
}

#[test]
fn max_pool_values_alone_equal_the_forward_with_indices() {
    let mut rng = Rng::new(700);
    for [n, c, h, w] in [[2, 3, 7, 9], [1, 4, 8, 8], [1, 2, 1, 5], [3, 1, 6, 2]] {
        let mut x = rng.tensor(&[n, c, h, w], -1.0, 1.0);
        x.data_mut()[3] = f32::NAN;
        x.data_mut()[5] = 2.0;
        let (with_indices, _) = ops::max_pool::forward(&x);
        let alone = ops::max_pool::forward_values(&x);
        assert_eq!(alone.shape(), with_indices.shape());
        for (a, b) in alone.data().iter().zip(with_indices.data()) {
            assert!(a == b || (a.is_nan() && b.is_nan()), "{a} vs {b}");
        }
    }
}
