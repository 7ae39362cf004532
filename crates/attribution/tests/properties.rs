//! Properties every implementation must have, whatever the reference libraries do: the
//! completeness of integrated gradients, results that do not depend on `--batch`, the
//! Faster-Score-CAM restriction, SmoothGrad without noise, and the eigen projection on a
//! tensor whose principal component is known.

use attribution::cam::{cam, eigen::first_component, CamMethod, CamOptions, Smooth};
use attribution::gradient::{attribute, Baseline, GradientMethod, GradientOptions};
use attribution::target::score_values;
use attribution::Score;
use tensor::{Rng, Tensor};
use vgg16::Vgg16;

/// A thin random VGG16 with a small classifier (224 px input).
fn model() -> Vgg16 {
    Vgg16::random(
        7,
        &[4, 4, 6, 6, 8, 8, 8, 8, 8, 8, 8, 8, 8],
        Some((16, 16, 12)),
    )
}

fn input(n: usize) -> Tensor {
    Rng::new(3).tensor(&[n, 3, 224, 224], -100.0, 120.0)
}

fn options(m: &Vgg16) -> GradientOptions {
    GradientOptions {
        score: Score::Logit,
        batch: 4,
        steps: 64,
        baseline: Baseline::Zero,
        samples: 3,
        noise: 0.1,
        seed: 5,
        window: 48,
        stride: 40,
        layer: m.layer_index("block5_conv3").unwrap(),
    }
}

fn max_rel_diff(a: &Tensor, b: &Tensor) -> f32 {
    let scale = b
        .data()
        .iter()
        .fold(0.0f32, |m, v| m.max(v.abs()))
        .max(1e-30);
    a.max_abs_diff(b) / scale
}

/// `sum(IG) - (score(x) - score(baseline))`, relative to the score difference.
fn completeness_gap(m: &Vgg16, x: &Tensor, baseline: Baseline, steps: usize) -> f64 {
    let opts = GradientOptions {
        baseline,
        steps,
        ..options(m)
    };
    let r = attribute(m, x, GradientMethod::IntegratedGradients, Some(&[3]), &opts).unwrap();
    let b = attribution::gradient::integrated::baseline(m, x, baseline);
    let score = |t: &Tensor| score_values(m, &m.logits(t).unwrap(), &[3], Score::Logit)[0] as f64;
    let want = score(x) - score(&b);
    let got: f64 = r.map.data().iter().map(|&v| v as f64).sum();
    (got - want).abs() / want.abs()
}

#[test]
fn integrated_gradients_are_complete() {
    // sum of the attributions = score(x) - score(baseline), in the limit of many steps. The
    // gradient of a ReLU network jumps wherever the path crosses a unit's boundary, so the
    // quadrature converges slowly and not monotonically (for this random network, from the
    // blurred image, 64 steps are 6 % off); from zero, 64 steps come within 2 %. Exactness of
    // the quadrature itself is checked against captum in references.rs.
    let gap = completeness_gap(&model(), &input(1), Baseline::Zero, 64);
    assert!(gap < 0.02, "zero baseline, 64 steps: {gap}");
}

#[test]
fn many_pass_methods_do_not_depend_on_the_batch() {
    let m = model();
    let x = input(2);
    let classes = [1, 4];
    for method in [
        GradientMethod::IntegratedGradients,
        GradientMethod::SmoothGrad,
        GradientMethod::Occlusion,
    ] {
        let run = |batch| {
            let opts = GradientOptions {
                batch,
                steps: 5,
                ..options(&m)
            };
            attribute(&m, &x, method, Some(&classes), &opts)
                .unwrap()
                .map
        };
        let (one, many) = (run(1), run(7));
        assert!(max_rel_diff(&one, &many) < 1e-5, "{method:?}");
    }
    let layer = m.layer_index("block4_conv3").unwrap();
    for method in [CamMethod::ScoreCam, CamMethod::AblationCam] {
        let run = |batch| {
            let opts = CamOptions {
                layer,
                score: Score::Logit,
                smooth: Smooth::None,
                batch,
                max_channels: None,
            };
            cam(&m, &x, method, Some(&classes), &opts).unwrap()
        };
        let (one, many) = (run(1), run(5));
        assert!(
            max_rel_diff(
                one.weights.as_ref().unwrap(),
                many.weights.as_ref().unwrap()
            ) < 1e-5,
            "{method:?}"
        );
        assert!(max_rel_diff(&one.map, &many.map) < 1e-5, "{method:?}");
    }
}

#[test]
fn faster_score_cam_scores_the_most_varying_channels() {
    let m = model();
    let x = input(2);
    let layer = m.layer_index("block5_conv3").unwrap();
    let run = |max_channels| {
        let opts = CamOptions {
            layer,
            score: Score::Logit,
            smooth: Smooth::None,
            batch: 16,
            max_channels,
        };
        cam(&m, &x, CamMethod::ScoreCam, None, &opts).unwrap()
    };
    let all = run(None);
    assert_eq!(
        all.weights.as_ref().unwrap().data(),
        run(Some(8)).weights.unwrap().data(),
        "all 8 channels"
    );
    let few = run(Some(3));
    let [_, k, h, w] = few.activations.dims4();
    for (img, weights) in few.weights.as_ref().unwrap().data().chunks(k).enumerate() {
        let nonzero: Vec<usize> = (0..k).filter(|&c| weights[c] != 0.0).collect();
        assert_eq!(nonzero.len(), 3);
        assert!((weights.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // The chosen channels vary at least as much as any other.
        let variance = |c: usize| {
            let plane = &few.activations.data()[(img * k + c) * h * w..(img * k + c + 1) * h * w];
            let mean = plane.iter().sum::<f32>() / plane.len() as f32;
            plane.iter().map(|v| (v - mean).powi(2)).sum::<f32>()
        };
        let lowest_chosen = nonzero
            .iter()
            .map(|&c| variance(c))
            .fold(f32::INFINITY, f32::min);
        assert!((0..k)
            .filter(|c| !nonzero.contains(c))
            .all(|c| variance(c) <= lowest_chosen));
    }
}

#[test]
fn smoothgrad_without_noise_is_the_gradient() {
    let m = model();
    let x = input(1);
    let opts = GradientOptions {
        noise: 0.0,
        ..options(&m)
    };
    let saliency = attribute(&m, &x, GradientMethod::Saliency, None, &opts)
        .unwrap()
        .map;
    let smooth = attribute(&m, &x, GradientMethod::SmoothGrad, None, &opts)
        .unwrap()
        .map;
    assert!(max_rel_diff(&smooth, &saliency) < 1e-6);
    let var = attribute(&m, &x, GradientMethod::VarGrad, None, &opts)
        .unwrap()
        .map;
    let scale = saliency.data().iter().fold(0.0f32, |a, v| a.max(v * v));
    assert!(var.data().iter().all(|v| v.abs() <= 1e-5 * scale));
}

#[test]
fn eigen_projection_of_a_rank_one_tensor() {
    // A[k][p] = a_k b_p + c_k: the centred matrix is b' a^T (b' = b - mean b), whose first
    // right singular vector is a / |a|; a > 0 sums to a positive number, so the map is
    // |a| b' with no sign flip, and -|a| b' would come out for the negated a.
    let (k, h, w) = (5, 3, 4);
    let a: Vec<f32> = (0..k).map(|i| 0.5 + i as f32).collect();
    let b: Vec<f32> = (0..h * w).map(|p| ((p * 7) % 5) as f32 - 1.3).collect();
    let norm_a = a.iter().map(|v| v * v).sum::<f32>().sqrt();
    let mean_b = b.iter().sum::<f32>() / b.len() as f32;
    for sign in [1.0f32, -1.0] {
        let mut t = Vec::with_capacity(k * h * w);
        for (i, &ai) in a.iter().enumerate() {
            t.extend(b.iter().map(|&bp| sign * ai * bp + i as f32 * 10.0));
        }
        let p = first_component(&Tensor::new(&[1, k, h, w], t));
        for (got, &bp) in p.data().iter().zip(&b) {
            let want = sign * norm_a * (bp - mean_b);
            assert!((got - want).abs() < 1e-4, "{got} vs {want}");
        }
    }
}
