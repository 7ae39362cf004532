//! Shared helpers of the attribution tests: fixture files, models built from a body's conv
//! weights and a fixture's head, and comparisons.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tensor::Tensor;
use vgg16::weights::WeightFile;
use vgg16::Vgg16;

pub fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

pub fn load(path: &Path) -> WeightFile {
    WeightFile::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The conv weights of `body` (a file under the repository; the test fails, rather than
/// skips, when it is missing) with the head `head.weight` / `head.bias` described by the
/// JSON `head` (a fixture's metadata).
pub fn model_with_head(body: &str, weight: &Tensor, bias: &Tensor, head: &str) -> Vgg16 {
    let body_path = repo().join(body);
    assert!(
        body_path.is_file(),
        "{} is missing: run tools/fetch-weights first",
        body_path.display()
    );
    let mut tensors: HashMap<String, Tensor> = load(&body_path)
        .tensors
        .into_iter()
        .filter(|(name, _)| name.starts_with("block"))
        .collect();
    tensors.insert("head.weight".into(), weight.clone());
    tensors.insert("head.bias".into(), bias.clone());
    let metadata = HashMap::from([
        ("head".to_string(), head.to_string()),
        ("preprocessing".to_string(), "caffe".to_string()),
    ]);
    let file = WeightFile {
        tensors,
        metadata,
        torchvision_names: false,
    };
    Vgg16::from_weights(file, body).unwrap()
}

/// `max |got - want| <= tol * max |want|`.
pub fn assert_rel(what: &str, got: &Tensor, want: &Tensor, tol: f32) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let scale = want.data().iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let err = got.max_abs_diff(want);
    eprintln!("{what}: {:.2e} of {scale:.3e}", err / scale);
    assert!(
        err <= tol * scale.max(f32::MIN_POSITIVE),
        "{what}: max difference {err}, {:.2e} of the reference's scale {scale}",
        err / scale
    );
}

/// `max |got - want| <= tol`.
pub fn assert_abs(what: &str, got: &Tensor, want: &Tensor, tol: f32) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let err = got.max_abs_diff(want);
    eprintln!("{what}: {err:.2e} (absolute)");
    assert!(err <= tol, "{what}: max difference {err}");
}
