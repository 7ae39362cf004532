//! Grad-CAM, gradient ascent and deprocessing against PyTorch, on the tiny VGG16 fixture
//! (tests/fixtures/README.md, made by tools/make_fixtures.py).

use std::collections::HashMap;
use std::path::PathBuf;

use tensor::testing::assert_close;
use tensor::Tensor;

use vgg16::{Preprocessing, Vgg16};
use viz::ascent::{self, AscentConfig, Variant};
use viz::gradcam::{grad_cam, Score};
use viz::render;

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures"))
}

fn model() -> Vgg16 {
    Vgg16::load(&fixtures().join("tiny_vgg16.safetensors")).unwrap()
}

fn expected() -> HashMap<String, Tensor> {
    tensor::io::load(&fixtures().join("tiny_vgg16_expected.safetensors"))
        .unwrap()
        .tensors
}

#[test]
fn gradcam_logit_and_probability() {
    let (m, e) = (model(), expected());
    let layer = m.layer_index("block5_conv3").unwrap();
    let r = grad_cam(&m, &e["gradcam.input"], layer, None, Score::Logit).unwrap();
    assert_eq!(r.classes, vec![e["gradcam.class"].data()[0] as usize]);
    assert_close("logits", &r.logits, &e["gradcam.logits"], 1e-4);
    assert_close(
        "probabilities",
        &r.probabilities,
        &e["gradcam.probabilities"],
        1e-4,
    );
    assert_close(
        "activations",
        &r.activations,
        &e["gradcam.activations"],
        1e-4,
    );
    assert_close("gradients", &r.gradients, &e["gradcam.gradients"], 1e-4);
    assert_close("cam", &r.cams.reshape(&[14, 14]), &e["gradcam.cam"], 1e-4);
    assert!(!r.all_zero[0]);

    let p = grad_cam(&m, &e["gradcam.input"], layer, None, Score::Probability).unwrap();
    assert_close(
        "prob gradients",
        &p.gradients,
        &e["gradcam.prob_gradients"],
        1e-4,
    );
    assert_close(
        "prob cam",
        &p.cams.reshape(&[14, 14]),
        &e["gradcam.prob_cam"],
        1e-4,
    );
}

#[test]
fn gradcam_other_layer_and_fixed_class() {
    let (m, e) = (model(), expected());
    let layer = m.layer_index("block4_conv3").unwrap();
    let class = e["gradcam_layer4.class"].data()[0] as usize;
    let r = grad_cam(&m, &e["gradcam.input"], layer, Some(&[class]), Score::Logit).unwrap();
    assert_close(
        "activations",
        &r.activations,
        &e["gradcam_layer4.activations"],
        1e-4,
    );
    assert_close(
        "gradients",
        &r.gradients,
        &e["gradcam_layer4.gradients"],
        1e-4,
    );
    assert_close(
        "cam",
        &r.cams.reshape(&[28, 28]),
        &e["gradcam_layer4.cam"],
        1e-4,
    );
}

#[test]
fn gradcam_batch_weights_each_image_by_its_own_gradients() {
    let (m, e) = (model(), expected());
    let layer = m.layer_index("block5_conv3").unwrap();
    let r = grad_cam(&m, &e["gradcam_batch.input"], layer, None, Score::Logit).unwrap();
    let want: Vec<usize> = e["gradcam_batch.class"]
        .data()
        .iter()
        .map(|&c| c as usize)
        .collect();
    assert_eq!(r.classes, want);
    assert_close(
        "gradients",
        &r.gradients,
        &e["gradcam_batch.gradients"],
        1e-4,
    );
    assert_close("cams", &r.cams, &e["gradcam_batch.cam"], 1e-4);
}

#[test]
fn gradcam_all_zero_map_is_reported_not_nan() {
    // All activations zero: the map has no positive value anywhere.
    let a = Tensor::zeros(&[1, 3, 2, 2]);
    let g = Tensor::full(&[1, 3, 2, 2], 1.0);
    let (cam, zero) = viz::gradcam::cam_from(&a, &g);
    assert!(zero[0]);
    assert!(cam.data().iter().all(|&v| v == 0.0));
}

#[test]
fn gradcam_refuses_conv_only_weights() {
    let m = Vgg16::random(1, &[2; 13], None);
    let err = grad_cam(
        &m,
        &Tensor::zeros(&[1, 3, 224, 224]),
        16,
        None,
        Score::Logit,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("classifier"), "{err}");
}

fn ascent_case(prefix: &str, variant: Variant, step_size: f32) {
    let (m, e) = (model(), expected());
    let filters: Vec<usize> = e[&format!("{prefix}.filters")]
        .data()
        .iter()
        .map(|&f| f as usize)
        .collect();
    let config = AscentConfig {
        layer: m.layer_index("block3_conv1").unwrap(),
        filters,
        size: 32,
        steps: 5,
        step_size,
        variant,
    };
    let r = ascent::run(&m, &config, e["ascent.init"].clone(), |_| {}).unwrap();
    let losses = Tensor::new(&[3, 5], r.losses.concat());
    assert_close(
        &format!("{prefix} losses"),
        &losses,
        &e[&format!("{prefix}.losses")],
        1e-4,
    );
    assert_close(
        &format!("{prefix} final"),
        &r.images,
        &e[&format!("{prefix}.final")],
        1e-4,
    );
}

#[test]
fn ascent_first_edition() {
    ascent_case("ascent", Variant::FirstEdition, 1.0);
}

#[test]
fn ascent_keras2020() {
    ascent_case("ascent_keras2020", Variant::Keras2020, 10.0);
}

#[test]
fn deprocess_matches_numpy() {
    let e = expected();
    // The fixture's image is in the model's channel order; compare channel by channel in the
    // same order (caffe preprocessing renders B, G, R as R, G, B: undo that here).
    let img = render::deprocess(e["deprocess.input"].data(), 32, Preprocessing::Torch, 0);
    let want = e["deprocess.output"].data();
    let mut worst = 0.0f32;
    for c in 0..3 {
        for (i, px) in img.pixels().enumerate() {
            worst = worst.max((px[c] as f32 - want[c * 1024 + i]).abs());
        }
    }
    assert!(worst <= 1.0, "deprocess differs by {worst}");
}

#[test]
fn jet_endpoints_and_grid_layout() {
    assert_eq!(render::jet(0.0), [0, 0, 128]);
    assert_eq!(render::jet(1.0), [128, 0, 0]);
    assert_eq!(render::jet(0.5), [128, 255, 128]);
    let tiles: Vec<_> = (0..64)
        .map(|i| image::RgbImage::from_pixel(64, 64, image::Rgb([i as u8, 0, 0])))
        .collect();
    let g = render::grid(&tiles, 8, 5);
    assert_eq!(g.dimensions(), (547, 547));
    // Reading order: filter 9 is row 1, column 1.
    assert_eq!(g.get_pixel(69 + 10, 69 + 10)[0], 9);
    assert_eq!(g.get_pixel(64, 10)[0], 0, "margins are black");
}
