//! Every method against the reference libraries: pytorch-grad-cam 1.5.7 for the CAM family,
//! captum 0.9 for the input-space methods, on the same weights and inputs
//! (tests/fixtures/attribution_{tiny,real}.safetensors, made by
//! tools/make_attribution_fixtures.py in float64; see tests/fixtures/README.md).
//!
//! Two models, both a VGG16 body with a flatten + dense head of 10 classes on 64 x 64 inputs:
//! the thin random `tiny` body (two images), and the real ImageNet conv weights
//! (weights/vgg16_notop.safetensors, fetched by tools/fetch-weights; the test fails rather
//! than skips without them) with a seeded head (one image).
//!
//! Tolerances: maps and weights within 1e-3 of the reference's largest magnitude; the
//! normalised pictures (`final`, values in [0, 1]) within 1e-3.

mod common;

use std::collections::HashMap;

use common::{assert_abs, assert_rel, load, model_with_head, repo};

use attribution::cam::{cam, CamMethod, CamOptions, Smooth};
use attribution::gradient::noise::{noise_tunnel, Tunnel};
use attribution::gradient::{attribute, Baseline, GradientMethod, GradientOptions};
use attribution::Score;
use tensor::Tensor;
use vgg16::Vgg16;

struct Case {
    model: Vgg16,
    fx: HashMap<String, Tensor>,
    prefix: &'static str,
}

impl Case {
    /// The fixture file `attribution_{prefix}.safetensors` and its model: the conv weights of
    /// `body` with the fixture's head.
    fn new(prefix: &'static str, body: &str) -> Case {
        let fixture =
            load(&repo().join(format!("tests/fixtures/attribution_{prefix}.safetensors")));
        let t = &fixture.tensors;
        let model = model_with_head(
            body,
            &t[&format!("{prefix}.head.weight")],
            &t[&format!("{prefix}.head.bias")],
            &fixture.metadata["head"],
        );
        assert_eq!(model.input_size(), 64);
        Case {
            model,
            fx: fixture.tensors,
            prefix,
        }
    }

    fn get(&self, name: &str) -> &Tensor {
        let key = format!("{}.{name}", self.prefix);
        self.fx
            .get(&key)
            .unwrap_or_else(|| panic!("fixture has no {key}"))
    }

    fn input(&self) -> &Tensor {
        self.get("input")
    }

    fn classes(&self) -> Vec<usize> {
        self.get("class")
            .data()
            .iter()
            .map(|&c| c as usize)
            .collect()
    }

    fn layer(&self, name: &str) -> usize {
        self.model.layer_index(name).unwrap()
    }
}

const CAM_METHODS: [(&str, CamMethod); 10] = [
    ("gradcam", CamMethod::GradCam),
    ("hirescam", CamMethod::HiResCam),
    ("gradcam-elementwise", CamMethod::GradCamElementwise),
    ("gradcam++", CamMethod::GradCamPlusPlus),
    ("xgradcam", CamMethod::XGradCam),
    ("layercam", CamMethod::LayerCam),
    ("eigencam", CamMethod::EigenCam),
    ("eigengradcam", CamMethod::EigenGradCam),
    ("scorecam", CamMethod::ScoreCam),
    ("ablationcam", CamMethod::AblationCam),
];

fn cam_options(layer: usize, smooth: Smooth) -> CamOptions {
    CamOptions {
        layer,
        score: Score::Logit,
        smooth,
        batch: 3, // not a divisor of the channel counts: the last batch is partial
        max_channels: None,
    }
}

fn check_cams(case: &Case) {
    let classes = case.classes();
    let layer = case.layer("block5_conv3");
    for (name, method) in CAM_METHODS {
        let r = cam(
            &case.model,
            case.input(),
            method,
            Some(&classes),
            &cam_options(layer, Smooth::None),
        )
        .unwrap();
        let what = format!("{}: {name}", case.prefix);
        if name == "gradcam" {
            assert_rel(
                &format!("{what} activations"),
                &r.activations,
                case.get("layer5.activations"),
                1e-4,
            );
            assert_rel(
                &format!("{what} gradients"),
                &r.gradients,
                case.get("layer5.gradients"),
                1e-4,
            );
        }
        assert_rel(
            &format!("{what} map"),
            &r.map,
            case.get(&format!("cam.{name}.map")),
            1e-3,
        );
        assert_abs(
            &format!("{what} final"),
            &r.scaled,
            case.get(&format!("cam.{name}.final")),
            1e-3,
        );
        match (
            &r.weights,
            case.fx.get(&format!("{}.cam.{name}.weights", case.prefix)),
        ) {
            (Some(got), Some(want)) => assert_rel(&format!("{what} weights"), got, want, 1e-3),
            (None, None) => {}
            (got, want) => panic!(
                "{what}: weights {} here, {} in the reference",
                got.is_some(),
                want.is_some()
            ),
        }
    }
}

fn check_smoothing(case: &Case) {
    let classes = case.classes();
    let layer = case.layer("block5_conv3");
    let eigen = cam(
        &case.model,
        case.input(),
        CamMethod::GradCam,
        Some(&classes),
        &cam_options(layer, Smooth::Eigen),
    )
    .unwrap();
    assert_rel(
        "eigen_smooth map",
        &eigen.map,
        case.get("cam.gradcam.eigen_map"),
        1e-3,
    );
    assert_abs(
        "eigen_smooth final",
        &eigen.scaled,
        case.get("cam.gradcam.eigen_final"),
        1e-3,
    );
    let aug = cam(
        &case.model,
        case.input(),
        CamMethod::GradCam,
        Some(&classes),
        &cam_options(layer, Smooth::Aug),
    )
    .unwrap();
    assert_abs(
        "aug_smooth",
        &aug.scaled,
        case.get("cam.gradcam.aug_final"),
        1e-3,
    );
}

fn check_scorecam_block3(case: &Case) {
    let classes = case.classes();
    let layer = case.layer("block3_conv3");
    let r = cam(
        &case.model,
        case.input(),
        CamMethod::ScoreCam,
        Some(&classes),
        &cam_options(layer, Smooth::None),
    )
    .unwrap();
    assert_rel(
        "block3 activations",
        &r.activations,
        case.get("layer3.activations"),
        1e-4,
    );
    assert_rel(
        "block3 scorecam weights",
        r.weights.as_ref().unwrap(),
        case.get("cam3.scorecam.weights"),
        1e-3,
    );
    assert_rel(
        "block3 scorecam map",
        &r.map,
        case.get("cam3.scorecam.map"),
        1e-3,
    );
    assert_abs(
        "block3 scorecam final",
        &r.scaled,
        case.get("cam3.scorecam.final"),
        1e-3,
    );
}

fn gradient_options(case: &Case) -> GradientOptions {
    GradientOptions {
        score: Score::Logit,
        batch: 3,
        steps: 50,
        baseline: Baseline::Zero,
        samples: 3,
        noise: 0.15,
        seed: 0,
        window: 12,
        stride: 8,
        layer: case.layer("block5_conv3"),
    }
}

fn check_gradients(case: &Case) {
    let classes = case.classes();
    let opts = gradient_options(case);
    let cases: [(&str, GradientMethod, GradientOptions); 8] = [
        ("saliency", GradientMethod::Saliency, opts),
        ("input-x-gradient", GradientMethod::InputXGradient, opts),
        (
            "integrated-gradients",
            GradientMethod::IntegratedGradients,
            opts,
        ),
        (
            "integrated-gradients-black",
            GradientMethod::IntegratedGradients,
            GradientOptions {
                steps: 7,
                baseline: Baseline::Black,
                ..opts
            },
        ),
        ("guided-backprop", GradientMethod::GuidedBackprop, opts),
        ("deconvnet", GradientMethod::Deconvnet, opts),
        ("guided-gradcam", GradientMethod::GuidedGradCam, opts),
        ("occlusion", GradientMethod::Occlusion, opts),
    ];
    for (name, method, o) in cases {
        let r = attribute(&case.model, case.input(), method, Some(&classes), &o).unwrap();
        assert_rel(
            &format!("{}: {name}", case.prefix),
            &r.map,
            case.get(&format!("grad.{name}")),
            1e-3,
        );
        assert_rel(
            &format!("{}: logits", case.prefix),
            &r.logits,
            case.get("logits"),
            1e-4,
        );
    }
}

fn check_noise_tunnel(case: &Case) {
    let classes = case.classes();
    let opts = gradient_options(case);
    let noise = case.get("noise").clone();
    let row_len = noise.len() / noise.shape()[0];
    let given = |r: usize, row: &mut [f32]| {
        row.copy_from_slice(&noise.data()[r * row_len..(r + 1) * row_len])
    };
    for (name, kind) in [
        ("smoothgrad", Tunnel::SmoothGrad),
        ("smoothgrad-sq", Tunnel::SmoothGradSq),
        ("vargrad", Tunnel::VarGrad),
    ] {
        let got = noise_tunnel(&case.model, case.input(), &classes, kind, &opts, &given).unwrap();
        assert_rel(
            &format!("{}: {name}", case.prefix),
            &got,
            case.get(&format!("grad.{name}")),
            1e-3,
        );
    }
}

#[test]
fn tiny_cam_methods_match_pytorch_grad_cam() {
    check_cams(&Case::new("tiny", "tests/fixtures/tiny_vgg16.safetensors"));
}

#[test]
fn tiny_smoothing_matches_pytorch_grad_cam() {
    check_smoothing(&Case::new("tiny", "tests/fixtures/tiny_vgg16.safetensors"));
}

#[test]
fn tiny_scorecam_at_block3_matches_pytorch_grad_cam() {
    check_scorecam_block3(&Case::new("tiny", "tests/fixtures/tiny_vgg16.safetensors"));
}

#[test]
fn tiny_input_space_methods_match_captum() {
    let case = Case::new("tiny", "tests/fixtures/tiny_vgg16.safetensors");
    check_gradients(&case);
    check_noise_tunnel(&case);
}

#[test]
fn real_weights_cam_methods_match_pytorch_grad_cam() {
    let case = Case::new("real", "weights/vgg16_notop.safetensors");
    check_cams(&case);
    check_smoothing(&case);
    check_scorecam_block3(&case);
}

#[test]
fn real_weights_input_space_methods_match_captum() {
    let case = Case::new("real", "weights/vgg16_notop.safetensors");
    check_gradients(&case);
    check_noise_tunnel(&case);
}
