//! The evaluation metrics against independent references (tests/fixtures/evaluation_real.safetensors,
//! made by tools/make_evaluation_fixture.py): deletion and insertion curves computed in
//! PyTorch (float64) by the contract of `attribution::metrics::deletion`, on the real conv
//! weights with the seeded head of the attribution fixtures; pytorch-grad-cam's ROAD imputer;
//! scipy's Spearman correlation, scikit-image's SSIM and numpy's percentile.

mod common;

use attribution::metrics::deletion::{blurred, deletion_insertion};
use attribution::metrics::imputer::impute;
use attribution::metrics::road::percentile;
use attribution::metrics::similarity::{spearman, ssim};
use common::{assert_abs, load, model_with_head, repo};
use tensor::Tensor;

fn fixture() -> vgg16::weights::WeightFile {
    load(&repo().join("tests/fixtures/evaluation_real.safetensors"))
}

#[test]
fn deletion_and_insertion_match_the_pytorch_reference() {
    let f = fixture();
    let t = &f.tensors;
    let model = model_with_head(
        "weights/vgg16_notop.safetensors",
        &t["head.weight"],
        &t["head.bias"],
        &f.metadata["head"],
    );
    let image = &t["input"];
    // The one image twice, once per saliency map.
    let input = Tensor::new(&[2, 3, 64, 64], [image.data(), image.data()].concat());
    let class = t["class"].data()[0] as usize;
    assert_abs("blurred", &blurred(image), &t["blurred"], 1e-4);
    for batch in [7, 64] {
        let curves =
            deletion_insertion(&model, &input, &t["saliency"], &[class, class], 64, batch).unwrap();
        assert_abs("deletion", &curves.deletion, &t["deletion"], 1e-4);
        assert_abs("insertion", &curves.insertion, &t["insertion"], 1e-4);
        let aucs = |v: &[f32]| Tensor::new(&[2], v.to_vec());
        assert_abs(
            "deletion AUC",
            &aucs(&curves.deletion_auc),
            &t["deletion_auc"],
            1e-4,
        );
        assert_abs(
            "insertion AUC",
            &aucs(&curves.insertion_auc),
            &t["insertion_auc"],
            1e-4,
        );
    }
}

#[test]
fn the_imputer_matches_pytorch_grad_cam() {
    let t = fixture().tensors;
    let mut image = t["imputer.image"].clone();
    let removed: Vec<bool> = t["imputer.removed"]
        .data()
        .iter()
        .map(|&v| v > 0.5)
        .collect();
    impute(image.data_mut(), 12, 14, &removed, 0.0, 0);
    assert_abs("imputed", &image, &t["imputer.filled"], 1e-4);
}

#[test]
fn similarity_and_percentile_match_scipy_scikit_image_numpy() {
    let t = fixture().tensors;
    let (a, b) = (t["similarity.a"].data(), t["similarity.b"].data());
    let rho = spearman(a, b);
    assert!(
        (rho - t["similarity.spearman"].data()[0]).abs() < 1e-5,
        "spearman {rho}"
    );
    let s = ssim(a, b, 20, 23);
    assert!(
        (s - t["similarity.ssim"].data()[0]).abs() < 1e-5,
        "ssim {s}"
    );
    let values = t["percentile.values"].data();
    for (i, &want) in t["percentile.results"].data().iter().enumerate() {
        let got = percentile(values, 10.0 * (i + 1) as f64);
        assert!(
            (got - want).abs() < 1e-6,
            "percentile {}: {got} vs {want}",
            10 * (i + 1)
        );
    }
}
