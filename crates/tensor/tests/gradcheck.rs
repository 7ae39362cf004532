//! Every op's backward against central finite differences.
//!
//! Each check builds `loss = sum(op(inputs) * r)` with a fixed random `r`, so that every output
//! element gets a different weight (a plain sum would hide mistakes that permute gradients).

use tensor::testing::gradient_check;
use tensor::Rng;
use tensor::{ConvGeometry, Graph, Tensor, Var};

const EPS: f32 = 1e-2;
const TOL: f32 = 2e-3;

/// `sum(y * r)` for a fixed random `r` of y's shape.
fn weighted_sum(g: &mut Graph, y: Var, seed: u64) -> Var {
    let r = Rng::new(seed).tensor(g.value(y).shape(), -1.0, 1.0);
    let r = g.constant(r);
    let p = g.mul(y, r);
    g.sum(p)
}

fn check(name: &str, inputs: &[Tensor], build: impl Fn(&mut Graph, &[Var]) -> Var) {
    let err = gradient_check(inputs, build, EPS, 200);
    assert!(err < TOL, "{name}: gradient error {err}");
}

/// Values in ±[0.1, 1): away from ReLU's kink at 0 by more than EPS.
fn away_from_zero(rng: &mut Rng, shape: &[usize]) -> Tensor {
    let magnitudes = rng.tensor(shape, 0.1, 1.0);
    let signed = magnitudes
        .data()
        .iter()
        .enumerate()
        .map(|(i, &v)| if i % 3 == 0 { -v } else { v });
    Tensor::new(shape, signed.collect())
}

#[test]
fn conv2d_3x3_same_all_inputs() {
    let mut rng = Rng::new(1);
    let x = rng.tensor(&[2, 3, 6, 5], -1.0, 1.0);
    let w = rng.tensor(&[4, 3, 3, 3], -0.5, 0.5);
    let b = rng.tensor(&[4], -0.5, 0.5);
    check("conv2d", &[x, w, b], |g, v| {
        let y = g.conv2d(v[0], v[1], Some(v[2]), ConvGeometry::SAME_3X3);
        weighted_sum(g, y, 7)
    });
}

#[test]
fn conv2d_other_geometries() {
    let mut rng = Rng::new(2);
    for (k, stride, padding) in [(1, 1, 0), (3, 2, 1), (5, 1, 2), (2, 1, 0), (3, 1, 0)] {
        let x = rng.tensor(&[1, 2, 7, 6], -1.0, 1.0);
        let w = rng.tensor(&[3, 2, k, k], -0.5, 0.5);
        let geo = ConvGeometry { stride, padding };
        check(
            &format!("conv2d k{k} s{stride} p{padding}"),
            &[x, w],
            |g, v| {
                let y = g.conv2d(v[0], v[1], None, geo);
                weighted_sum(g, y, 8)
            },
        );
    }
}

#[test]
fn bias_add() {
    let mut rng = Rng::new(3);
    let x = rng.tensor(&[2, 3, 4, 2], -1.0, 1.0);
    let b = rng.tensor(&[3], -1.0, 1.0);
    check("bias_add", &[x, b], |g, v| {
        let y = g.bias_add(v[0], v[1]);
        weighted_sum(g, y, 9)
    });
}

#[test]
fn relu() {
    let x = away_from_zero(&mut Rng::new(4), &[2, 3, 4, 4]);
    check("relu", &[x], |g, v| {
        let y = g.relu(v[0]);
        weighted_sum(g, y, 10)
    });
}

#[test]
fn max_pool() {
    // Distinct values far apart, so a nudge of EPS never changes which one is the maximum.
    let n = 2 * 3 * 5 * 6;
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(5);
    for i in (1..n).rev() {
        order.swap(i, rng.next_u64() as usize % (i + 1));
    }
    let x = Tensor::new(
        &[2, 3, 5, 6],
        order.iter().map(|&k| k as f32 * 0.1).collect(),
    );
    check("max_pool", &[x], |g, v| {
        let y = g.max_pool2x2(v[0]);
        weighted_sum(g, y, 11)
    });
}

#[test]
fn max_pool_ties_go_to_the_first_maximum() {
    let mut g = Graph::new();
    let x = g.input(Tensor::new(&[1, 1, 2, 2], vec![1.0, 1.0, 1.0, 1.0]));
    let y = g.max_pool2x2(x);
    let s = g.sum(y);
    let grads = g.backward(s);
    assert_eq!(grads.wrt(x).data(), &[1.0, 0.0, 0.0, 0.0]);
}

#[test]
fn dense_batch_1_and_batch_3() {
    let mut rng = Rng::new(6);
    for rows in [1, 3] {
        let x = rng.tensor(&[rows, 37], -1.0, 1.0);
        let w = rng.tensor(&[5, 37], -0.5, 0.5);
        let b = rng.tensor(&[5], -0.5, 0.5);
        check("dense", &[x, w, b], |g, v| {
            let y = g.dense(v[0], v[1], Some(v[2]));
            weighted_sum(g, y, 12)
        });
    }
}

#[test]
fn flatten_reshape_select() {
    let mut rng = Rng::new(7);
    let x = rng.tensor(&[2, 3, 2, 2], -1.0, 1.0);
    check("flatten", std::slice::from_ref(&x), |g, v| {
        let y = g.flatten(v[0]);
        weighted_sum(g, y, 13)
    });
    for axis in 0..4 {
        check("select", std::slice::from_ref(&x), |g, v| {
            let y = g.select(v[0], axis, 1);
            weighted_sum(g, y, 14)
        });
    }
}

#[test]
fn sums_and_means() {
    let mut rng = Rng::new(8);
    let x = rng.tensor(&[2, 3, 4], -1.0, 1.0);
    check("sum", std::slice::from_ref(&x), |g, v| {
        let y = g.scale(v[0], 1.5);
        g.sum(y)
    });
    check("mean", std::slice::from_ref(&x), |g, v| {
        let y = g.square(v[0]);
        g.mean(y)
    });
    for axis in 0..3 {
        check("sum_axis", std::slice::from_ref(&x), |g, v| {
            let y = g.sum_axis(v[0], axis);
            weighted_sum(g, y, 15)
        });
        check("mean_axis", std::slice::from_ref(&x), |g, v| {
            let y = g.mean_axis(v[0], axis);
            weighted_sum(g, y, 16)
        });
    }
}

#[test]
fn elementwise() {
    let mut rng = Rng::new(9);
    let a = rng.tensor(&[3, 5], -1.0, 1.0);
    let b = rng.tensor(&[3, 5], -1.0, 1.0);
    let positive = rng.tensor(&[3, 5], 0.5, 2.0);
    check("add", &[a.clone(), b.clone()], |g, v| {
        let y = g.add(v[0], v[1]);
        weighted_sum(g, y, 17)
    });
    check("mul", &[a.clone(), b.clone()], |g, v| {
        let y = g.mul(v[0], v[1]);
        weighted_sum(g, y, 18)
    });
    check("scale", std::slice::from_ref(&a), |g, v| {
        let y = g.scale(v[0], -2.5);
        weighted_sum(g, y, 19)
    });
    check("square", std::slice::from_ref(&a), |g, v| {
        let y = g.square(v[0]);
        weighted_sum(g, y, 20)
    });
    check("sqrt", std::slice::from_ref(&positive), |g, v| {
        let y = g.sqrt(v[0]);
        weighted_sum(g, y, 21)
    });
    check("div", &[a.clone(), positive], |g, v| {
        let y = g.div(v[0], v[1]);
        weighted_sum(g, y, 23)
    });
    // A value used twice: its gradients must add up.
    check("reuse", &[a], |g, v| {
        let y = g.mul(v[0], v[0]);
        let z = g.add(y, v[0]);
        weighted_sum(g, z, 22)
    });
}

#[test]
fn softmax_and_log_softmax() {
    let mut rng = Rng::new(10);
    let x = rng.tensor(&[2, 7], -3.0, 3.0);
    check("softmax", std::slice::from_ref(&x), |g, v| {
        let y = g.softmax(v[0]);
        weighted_sum(g, y, 23)
    });
    check("log_softmax", &[x], |g, v| {
        let y = g.log_softmax(v[0]);
        weighted_sum(g, y, 24)
    });
}

#[test]
fn constants_get_no_gradient() {
    let mut g = Graph::new();
    let x = g.input(Tensor::new(&[1, 1, 3, 3], vec![1.0; 9]));
    let w = g.constant(Tensor::new(&[1, 1, 3, 3], vec![0.5; 9]));
    let y = g.conv2d(x, w, None, ConvGeometry::SAME_3X3);
    let s = g.sum(y);
    let grads = g.backward(s);
    assert!(grads.get(w).is_none());
    assert!(grads.get(x).is_some());
}

#[test]
fn gradient_of_an_intermediate_value() {
    // d sum(relu(a)^2) / d relu(a) = 2 relu(a): the tape keeps gradients of intermediates.
    let mut g = Graph::new();
    let a = g.input(Tensor::new(&[4], vec![-1.0, 2.0, 3.0, -4.0]));
    let r = g.relu(a);
    let s = g.square(r);
    let loss = g.sum(s);
    let grads = g.backward(loss);
    assert_eq!(grads.wrt(r).data(), &[0.0, 4.0, 6.0, 0.0]);
    assert_eq!(grads.wrt(a).data(), &[0.0, 4.0, 6.0, 0.0]);
}

#[test]
fn no_grad_mode_records_no_backward() {
    let mut g = Graph::no_grad();
    let x = g.input(Tensor::new(&[2], vec![1.0, 2.0]));
    let y = g.square(x);
    let s = g.sum(y);
    assert_eq!(g.value(s).item(), 5.0);
    assert!(g.nodes().iter().all(|n| !n.needs_grad));
    assert!(g.backward(s).get(x).is_none());
}

/// On inputs too big to nudge one element at a time, check one random direction: the change of
/// the loss along `v` must match the dot product of the gradient with `v`,
/// `(f(x + eps v) - f(x - eps v)) / 2 eps = <df/dx, v>`.
/// (This test caught nothing wrong, but it did show why `eps` must be small: see below.)
#[test]
fn directional_derivative_through_a_vgg_like_stack() {
    let mut rng = Rng::new(42);
    let x = rng.tensor(&[2, 3, 16, 16], -1.0, 1.0);
    let w1 = rng.tensor(&[8, 3, 3, 3], -0.4, 0.4);
    let w2 = rng.tensor(&[8, 8, 3, 3], -0.2, 0.2);
    let w3 = rng.tensor(&[16, 8, 3, 3], -0.2, 0.2);
    let wd = rng.tensor(&[10, 16 * 4 * 4], -0.1, 0.1);
    let b1 = rng.tensor(&[8], 0.0, 0.1);
    let build = |g: &mut Graph, x: Var| {
        let same = ConvGeometry::SAME_3X3;
        let (w1, w2, w3, wd, b1) = (
            g.constant(w1.clone()),
            g.constant(w2.clone()),
            g.constant(w3.clone()),
            g.constant(wd.clone()),
            g.constant(b1.clone()),
        );
        let h = g.conv2d(x, w1, Some(b1), same);
        let h = g.relu(h);
        let h = g.conv2d(h, w2, None, same);
        let h = g.relu(h);
        let h = g.max_pool2x2(h);
        let h = g.conv2d(h, w3, None, same);
        let h = g.relu(h);
        let h = g.max_pool2x2(h);
        let h = g.flatten(h);
        let logits = g.dense(h, wd, None);
        weighted_sum(g, logits, 77)
    };
    let mut g = Graph::new();
    let xv = g.input(x.clone());
    let loss = build(&mut g, xv);
    let grad = g.backward(loss).wrt(xv).clone();

    let v = rng.tensor(x.shape(), -1.0, 1.0);
    let eval = |t: &Tensor| {
        let mut g = Graph::no_grad();
        let xv = g.constant(t.clone());
        let l = build(&mut g, xv);
        g.value(l).item() as f64
    };
    // Small enough that almost no max-pool window or ReLU changes its decision between the two
    // evaluations (a larger step crosses those kinks and the difference quotient is meaningless),
    // large enough that f32 rounding of the loss stays below the tolerance.
    let eps = 1e-4f32;
    let shifted = |sign: f32| {
        Tensor::new(
            x.shape(),
            x.data()
                .iter()
                .zip(v.data())
                .map(|(a, b)| a + sign * eps * b)
                .collect(),
        )
    };
    let numeric = (eval(&shifted(1.0)) - eval(&shifted(-1.0))) / (2.0 * eps as f64);
    let analytic: f64 = grad
        .data()
        .iter()
        .zip(v.data())
        .map(|(a, b)| *a as f64 * *b as f64)
        .sum();
    assert!(
        (numeric - analytic).abs() <= 2e-2 * analytic.abs().max(1e-2),
        "directional derivative: numeric {numeric} vs analytic {analytic}"
    );
}

#[test]
fn sigmoid_affine_channels_last_max_axis() {
    let mut rng = Rng::new(30);
    let x = rng.tensor(&[2, 3, 4, 5], -3.0, 3.0);
    check("sigmoid", std::slice::from_ref(&x), |g, v| {
        let y = g.sigmoid(v[0]);
        weighted_sum(g, y, 31)
    });
    let scale = rng.tensor(&[3], -2.0, 2.0);
    let shift = rng.tensor(&[3], -1.0, 1.0);
    check(
        "affine 4-D",
        &[x.clone(), scale.clone(), shift.clone()],
        |g, v| {
            let y = g.affine(v[0], v[1], v[2]);
            weighted_sum(g, y, 32)
        },
    );
    let rows = rng.tensor(&[4, 3], -1.0, 1.0);
    check("affine 2-D", &[rows, scale, shift], |g, v| {
        let y = g.affine(v[0], v[1], v[2]);
        weighted_sum(g, y, 33)
    });
    check("channels_last", std::slice::from_ref(&x), |g, v| {
        let y = g.channels_last(v[0]);
        weighted_sum(g, y, 34)
    });
    // Distinct values, so every maximum is at least EPS away from a tie.
    let distinct: Vec<f32> = (0..120).map(|i| ((i * 37) % 120) as f32 * 0.05).collect();
    let distinct = Tensor::new(&[2, 3, 20], distinct);
    for axis in 0..3 {
        check("max_axis", std::slice::from_ref(&distinct), |g, v| {
            let y = g.max_axis(v[0], axis);
            weighted_sum(g, y, 35)
        });
    }
}

#[test]
fn channels_last_moves_values_as_keras_flattens() {
    // x[0, c, i, j] = 100c + 10i + j; channels-last position (i, j, c) must hold it.
    let x: Vec<f32> = (0..2)
        .flat_map(|c| (0..2).flat_map(move |i| (0..3).map(move |j| (100 * c + 10 * i + j) as f32)))
        .collect();
    let y = tensor::ops::permute::channels_last_forward(&Tensor::new(&[1, 2, 2, 3], x));
    assert_eq!(y.shape(), &[1, 2, 3, 2]);
    assert_eq!(&y.data()[..6], &[0.0, 100.0, 1.0, 101.0, 2.0, 102.0]);
}

/// `sum(relu(x) * r)` backward through a ReLU with `rule`.
fn relu_gradient(x: &Tensor, r: &Tensor, rule: tensor::ReluRule) -> Vec<f32> {
    let mut g = Graph::new();
    let xv = g.input(x.clone());
    let y = g.relu_with(xv, rule);
    let rv = g.constant(r.clone());
    let p = g.mul(y, rv);
    let loss = g.sum(p);
    g.backward(loss).wrt(xv).data().to_vec()
}

#[test]
fn relu_backward_rules() {
    use tensor::ReluRule;
    let x = Tensor::new(&[4], vec![-1.0, 2.0, 3.0, -4.0]);
    let r = Tensor::new(&[4], vec![5.0, -6.0, 7.0, 8.0]);
    // Standard: the derivative, dy where x > 0 (gradient-checked in `relu` above too).
    assert_eq!(
        relu_gradient(&x, &r, ReluRule::Standard),
        [0.0, -6.0, 7.0, 0.0]
    );
    // Guided: also drops negative incoming gradients.
    assert_eq!(
        relu_gradient(&x, &r, ReluRule::Guided),
        [0.0, 0.0, 7.0, 0.0]
    );
    // Deconvnet: ignores the forward mask, keeps positive incoming gradients.
    assert_eq!(
        relu_gradient(&x, &r, ReluRule::Deconvnet),
        [5.0, 0.0, 7.0, 8.0]
    );
    let err = gradient_check(
        &[x],
        |g, v| {
            let y = g.relu_with(v[0], ReluRule::Standard);
            weighted_sum(g, y, 36)
        },
        EPS,
        10,
    );
    assert!(err < TOL, "standard rule is the gradient: {err}");
}

#[test]
fn frozen_conv_equals_conv_then_relu() {
    use tensor::{PackedConv, ReluRule};
    let mut rng = Rng::new(40);
    let x = rng.tensor(&[2, 16, 9, 11], -1.0, 1.0);
    let w = rng.tensor(&[8, 16, 3, 3], -0.3, 0.3);
    let b = rng.tensor(&[8], -0.5, 0.5);
    let layer = PackedConv::new(w.clone(), b.clone(), ConvGeometry::SAME_3X3);
    for rule in [None, Some(ReluRule::Standard), Some(ReluRule::Guided)] {
        // The plain composition: conv2d with constant weights, then relu_with.
        let mut g = Graph::new();
        let xv = g.input(x.clone());
        let (wv, bv) = (g.constant(w.clone()), g.constant(b.clone()));
        let c = g.conv2d(xv, wv, Some(bv), ConvGeometry::SAME_3X3);
        let y = match rule {
            Some(rule) => g.relu_with(c, rule),
            None => c,
        };
        let loss = weighted_sum(&mut g, y, 41);
        let want_y = g.value(y).clone();
        let want_dx = g.backward(loss).wrt(xv).clone();
        // The fused op.
        let mut f = Graph::new();
        let xf = f.input(x.clone());
        let yf = f.frozen_conv2d(xf, &layer, rule);
        let loss = weighted_sum(&mut f, yf, 41);
        tensor::testing::assert_close("frozen forward", f.value(yf), &want_y, 1e-5);
        tensor::testing::assert_close("frozen dx", f.backward(loss).wrt(xf), &want_dx, 1e-5);
    }
}

/// Guided backpropagation and deconvnet are not gradients, but each is one where its rule
/// changes nothing: with only positive gradients arriving at the ReLUs (positive weights
/// after them), guided backprop is the true gradient of conv -> ReLU -> conv -> ReLU, checked
/// by finite differences; and deconvnet, which ignores the forward mask, is the true
/// gradient of the same network with its ReLUs removed.
#[test]
fn guided_and_deconvnet_rules_against_finite_differences() {
    use tensor::ReluRule;
    let mut rng = Rng::new(77);
    let x = rng.tensor(&[1, 2, 6, 5], -1.0, 1.0);
    let w1 = rng.tensor(&[3, 2, 3, 3], -0.5, 0.5);
    let w2 = rng.tensor(&[2, 3, 3, 3], 0.05, 0.5); // positive: gradients into ReLU 1 are >= 0
    let r = rng.tensor(&[1, 2, 6, 5], 0.1, 1.0); // positive: gradients into ReLU 2 are > 0
    let net = |g: &mut Graph, x: Var, relu: Option<ReluRule>| {
        let (w1, w2, r) = (
            g.constant(w1.clone()),
            g.constant(w2.clone()),
            g.constant(r.clone()),
        );
        let mut h = g.conv2d(x, w1, None, ConvGeometry::SAME_3X3);
        if let Some(rule) = relu {
            h = g.relu_with(h, rule);
        }
        let mut y = g.conv2d(h, w2, None, ConvGeometry::SAME_3X3);
        if let Some(rule) = relu {
            y = g.relu_with(y, rule);
        }
        let p = g.mul(y, r);
        g.sum(p)
    };
    let err = gradient_check(
        std::slice::from_ref(&x),
        |g, v| net(g, v[0], Some(ReluRule::Guided)),
        EPS,
        30,
    );
    assert!(
        err < TOL,
        "guided = gradient when incoming gradients are positive: {err}"
    );

    // Deconvnet's backward of the ReLU network against finite differences of the network
    // without ReLUs.
    let mut g = Graph::new();
    let xv = g.input(x.clone());
    let loss = net(&mut g, xv, Some(ReluRule::Deconvnet));
    let deconv = g.backward(loss).wrt(xv).clone();
    let linear = |t: &Tensor| {
        let mut g = Graph::no_grad();
        let xv = g.constant(t.clone());
        let l = net(&mut g, xv, None);
        g.value(l).item() as f64
    };
    for i in (0..x.len()).step_by(7) {
        let (mut plus, mut minus) = (x.clone(), x.clone());
        plus.data_mut()[i] += EPS;
        minus.data_mut()[i] -= EPS;
        let numeric = (linear(&plus) - linear(&minus)) / (2.0 * EPS as f64);
        let got = deconv.data()[i] as f64;
        assert!(
            (got - numeric).abs() <= TOL as f64 * numeric.abs().max(1.0),
            "deconvnet at {i}: {got} vs {numeric}"
        );
    }
}
